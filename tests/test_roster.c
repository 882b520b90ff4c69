/* Which stages the online workers serve, from their status messages. */
#include <string.h>

#include "check.h"
#include "roster.h"

static struct status_info status(const char *client, const char *role, bool online, uint32_t stages)
{
    struct status_info s = {.online = online, .has_stages = true, .stages = stages};
    strcpy(s.client, client);
    strcpy(s.role, role);
    strcpy(s.session, "ab");
    return s;
}

int main(void)
{
    struct roster *r = roster_new();
    CHECK(r != NULL);
    struct status_info s = status("w-1", "worker", true, 1u << 3);
    CHECK(roster_update(r, &s));
    CHECK_EQ_INT(roster_serving(r, 3), 1);
    CHECK_EQ_INT(roster_serving(r, 2), 0);
    s = status("cam-01", "edge", true, 0);
    CHECK(!roster_update(r, &s)); /* edges are not workers */
    CHECK_EQ_INT(roster_online(r), 1);
    s = status("w-2", "worker", true, (1u << 3) | (1u << 2));
    CHECK(roster_update(r, &s));
    CHECK_EQ_INT(roster_serving(r, 3), 2);
    s = status("w-1", "worker", true, 0); /* left its share group */
    CHECK(!roster_update(r, &s));         /* stage 3 is still served by w-2 */
    CHECK_EQ_INT(roster_serving(r, 3), 1);
    s = status("w-2", "worker", false, 0); /* its last will */
    CHECK(roster_update(r, &s));
    CHECK_EQ_INT(roster_serving(r, 3), 0);
    CHECK_EQ_INT(roster_online(r), 1);
    roster_clear(r);
    CHECK_EQ_INT(roster_online(r), 0);
    roster_free(r);
    roster_free(NULL);
    return check_exit();
}

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

/* A repeated status (an AMQP worker's) counts for three of its periods after the last one. */
static void check_repeated(void)
{
    struct roster *r = roster_new();
    struct status_info s = status("w-a", "worker", true, 1u << 3);
    s.every_ms = 1000;
    int64_t t = 5000000;
    CHECK(roster_update(r, &s, t));
    CHECK_EQ_INT(roster_serving(r, 3, t + 2999999), 1);
    CHECK(!roster_update(r, &s, t + 2500000)); /* repeated in time: counts 3 s from now */
    CHECK_EQ_INT(roster_serving(r, 3, t + 5499999), 1);
    CHECK_EQ_INT(roster_serving(r, 3, t + 5500000), 0);
    CHECK_EQ_INT(roster_online(r, t + 5500000), 0);
    /* A retained status beside it never expires. */
    struct status_info kept = status("w-m", "worker", true, 1u << 2);
    CHECK(roster_update(r, &kept, t));
    CHECK(roster_update(r, &s, t)); /* w-a back: stage 3 served again */
    CHECK_EQ_INT(roster_online(r, t + 100000000), 1);
    CHECK_EQ_INT(roster_serving(r, 2, t + 100000000), 1);
    /* Its clean stop is an offline status. */
    CHECK(roster_update(r, &s, t + 100000000)); /* expired meanwhile, so news again */
    CHECK_EQ_INT(roster_serving(r, 3, t + 100000000), 1);
    s.online = false;
    CHECK(roster_update(r, &s, t + 100000001));
    CHECK_EQ_INT(roster_serving(r, 3, t + 100000001), 0);
    roster_free(r);
}

/* Saturated: every worker serving the stage says so; one with room is enough to lower. */
static void check_saturated(void)
{
    struct roster *r = roster_new();
    struct status_info a = status("w-a", "worker", true, (1u << 3) | (1u << 4));
    struct status_info b = status("w-b", "worker", true, 1u << 3);
    CHECK(!roster_saturated(r, 3, 0)); /* nobody serves: not saturated (no worker online) */
    a.has_load = true;
    a.capacity_cpu_s = 1;
    a.used_cpu_s = 0.95;
    a.saturated = true;
    roster_update(r, &a, 0);
    roster_update(r, &b, 0); /* states no load: not saturated */
    CHECK(!roster_saturated(r, 3, 0));
    CHECK(roster_saturated(r, 4, 0));
    CHECK(!roster_saturated(r, 5, 0));
    b.has_load = true;
    b.saturated = true;
    roster_update(r, &b, 0);
    CHECK(roster_saturated(r, 3, 0));
    b.saturated = false; /* w-b has room again */
    roster_update(r, &b, 0);
    CHECK(!roster_saturated(r, 3, 0));
    a.online = false;
    roster_update(r, &a, 0);
    CHECK(!roster_saturated(r, 4, 0));
    roster_free(r);
}

/* Batches of stage k as big as the least of what its workers take; none with an older worker. */
static void check_batch(void)
{
    struct roster *r = roster_new();
    struct status_info a = status("w-a", "worker", true, (1u << 3) | (1u << 4));
    struct status_info b = status("w-b", "worker", true, 1u << 3);
    CHECK_EQ_INT(roster_batch(r, 3, 0), 0); /* nobody serves */
    a.batch = 64;
    roster_update(r, &a, 0);
    CHECK_EQ_INT(roster_batch(r, 3, 0), 64);
    roster_update(r, &b, 0); /* states no batch: single frames for stage 3 */
    CHECK_EQ_INT(roster_batch(r, 3, 0), 0);
    CHECK_EQ_INT(roster_batch(r, 4, 0), 64); /* w-b does not serve 4 */
    b.batch = 16;
    roster_update(r, &b, 0);
    CHECK_EQ_INT(roster_batch(r, 3, 0), 16);
    b.online = false;
    roster_update(r, &b, 0);
    CHECK_EQ_INT(roster_batch(r, 3, 0), 64);
    CHECK_EQ_INT(roster_batch(r, 5, 0), 0);
    roster_free(r);
}

int main(void)
{
    check_batch();
    check_saturated();
    struct roster *r = roster_new();
    CHECK(r != NULL);
    struct status_info s = status("w-1", "worker", true, 1u << 3);
    CHECK(roster_update(r, &s, 0));
    CHECK_EQ_INT(roster_serving(r, 3, 0), 1);
    CHECK_EQ_INT(roster_serving(r, 2, 0), 0);
    s = status("cam-01", "edge", true, 0);
    CHECK(!roster_update(r, &s, 0)); /* edges are not workers */
    CHECK_EQ_INT(roster_online(r, 0), 1);
    s = status("w-2", "worker", true, (1u << 3) | (1u << 2));
    CHECK(roster_update(r, &s, 0));
    CHECK_EQ_INT(roster_serving(r, 3, 0), 2);
    s = status("w-1", "worker", true, 0); /* left its share group */
    CHECK(!roster_update(r, &s, 0));      /* stage 3 is still served by w-2 */
    CHECK_EQ_INT(roster_serving(r, 3, 0), 1);
    s = status("w-2", "worker", false, 0); /* its last will */
    CHECK(roster_update(r, &s, 0));
    CHECK_EQ_INT(roster_serving(r, 3, 0), 0);
    CHECK_EQ_INT(roster_online(r, 0), 1);
    roster_clear(r);
    CHECK_EQ_INT(roster_online(r, 0), 0);
    roster_free(r);
    roster_free(NULL);
    check_repeated();
    return check_exit();
}

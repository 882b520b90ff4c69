/* The plan a device follows: fresh while received again within its ttl, dropped when cleared,
 * stale, from another device, or when its planner goes offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "follow.h"

#define S 1000000

static char *plan_text(const char *device, unsigned split, int64_t issued_us)
{
    struct plan p = {.split = split, .issued_us = issued_us, .ttl_ms = 2000};
    strcpy(p.device, device);
    strcpy(p.reason, "goal met, least cloud CPU");
    strcpy(p.planner, "pa");
    return plan_dump(&p);
}

int main(void)
{
    struct follow *f = follow_new();
    struct plan got;
    int64_t wall = 1795000000000000;
    CHECK(!follow_get(f, 0, wall, &got));
    char *p = plan_text("cam-01", 3, wall);
    char *other = plan_text("cam-02", 1, wall);
    CHECK(follow_message(f, "cam-01", (const uint8_t *)p, strlen(p), 10 * S));
    CHECK(follow_get(f, 10 * S, wall, &got) && got.split == 3);
    CHECK(follow_get(f, 12 * S, wall + 2 * S, &got));
    CHECK(!follow_get(f, 12 * S + 1, wall + 2 * S, &got)); /* not received again in time */
    CHECK(follow_message(f, "cam-01", (const uint8_t *)p, strlen(p), 13 * S));
    CHECK(!follow_get(f, 13 * S, wall + 5 * S, &got)); /* issued too long ago */
    CHECK(follow_get(f, 13 * S, wall + 3 * S, &got));  /* within ttl plus the clock skew */
    CHECK(!follow_message(f, "cam-01", (const uint8_t *)other, strlen(other), 13 * S));
    CHECK(!follow_message(f, "cam-01", (const uint8_t *)"{}", 2, 13 * S));
    CHECK(follow_get(f, 13 * S, wall, &got) && got.split == 3); /* kept */
    follow_gone(f, "pb");
    CHECK(follow_get(f, 13 * S, wall, &got));
    follow_gone(f, "pa");
    CHECK(!follow_get(f, 13 * S, wall, &got));
    CHECK(follow_message(f, "cam-01", (const uint8_t *)p, strlen(p), 14 * S));
    CHECK(follow_message(f, "cam-01", (const uint8_t *)"", 0, 14 * S)); /* cleared */
    CHECK(!follow_get(f, 14 * S, wall, &got));
    follow_free(f);
    follow_free(NULL);

    /* waiting for a first plan: only while a planner is online, at most max windows */
    char who[32] = "";
    f = follow_new();
    CHECK(!follow_wait_first(f, 2, who, sizeof who)); /* no planner */
    follow_planner(f, "pa", true);
    follow_planner(f, "pb", true);
    follow_planner(f, "pa", false);
    CHECK(follow_wait_first(f, 2, who, sizeof who) && strcmp(who, "pb") == 0);
    follow_planner(f, "pb", false);
    CHECK(!follow_wait_first(f, 2, who, sizeof who)); /* gone */
    follow_planner(f, "pb", true);
    CHECK(follow_wait_first(f, 2, NULL, 0));
    CHECK(!follow_wait_first(f, 2, who, sizeof who)); /* two windows waited */
    follow_free(f);
    f = follow_new();
    follow_planner(f, "pa", true);
    CHECK(follow_message(f, "cam-01", (const uint8_t *)p, strlen(p), 0));
    CHECK(!follow_wait_first(f, 2, who, sizeof who)); /* a plan came */
    follow_free(f);
    /* more planners than it remembers: the ones it kept count, and when all go, none is left */
    f = follow_new();
    for (int i = 0; i < FOLLOW_PLANNERS + 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        follow_planner(f, id, true);
    }
    for (int i = FOLLOW_PLANNERS + 1; i >= 1; i--) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        follow_planner(f, id, false);
    }
    CHECK(follow_wait_first(f, 2, who, sizeof who) && strcmp(who, "p0") == 0);
    follow_planner(f, "p0", false);
    CHECK(!follow_wait_first(f, 2, who, sizeof who));
    follow_free(f);
    free(p);
    free(other);
    return check_exit();
}

/* Integration: two edge agents started with one device id. The broker lets only one client hold
 * an id; the agent that was taken over stops with exit code 1 and one line naming the id,
 * instead of taking the id back (which would kick the other off, and so on). The other one
 * loses nothing. */
#include <stdio.h>
#include <string.h>

#include "faults.h"

/* Whether every seq 0..frames-1 has a result captured within [from_us, to_us] (wall). */
static bool covered(struct collector *c, int frames, int64_t from_us, int64_t to_us)
{
    json_t *got = collector_results(c, "clash");
    unsigned char seen[1000] = {0};
    size_t i;
    json_t *r;
    json_array_foreach(got, i, r)
    {
        json_int_t seq = json_integer_value(json_object_get(r, "seq"));
        json_int_t at = json_integer_value(json_object_get(r, "captured_us"));
        if (seq >= 0 && seq < frames && at >= from_us && at <= to_us)
            seen[seq] = 1;
    }
    json_decref(got);
    int missing = 0;
    for (int s = 0; s < frames; s++)
        missing += !seen[s];
    if (missing)
        fprintf(stderr, "%d frames of the surviving agent were not delivered\n", missing);
    return missing == 0;
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "clash") != ES_OK)
        return 1;
    pid_t w = harness_worker(&b, "w-clash", "1");
    struct collector *c = collector_start(&b, "observer-clash");
    CHECK(w > 0 && c != NULL);
    if (w > 0 && c) {
        struct scenario first = {.name = "first", .id = "clash", .b = &b, .c = c, .frames = 600};
        struct scenario second = first;
        second.name = "second";
        int64_t t1 = clock_wall_us();
        CHECK(scenario_edge(&first, NULL) > 0);
        scenario_at(&first, 2);
        int64_t t2 = clock_wall_us();
        CHECK(scenario_edge(&second, NULL) > 0);
        int rc1 = harness_wait(first.edge, 60000), rc2 = harness_wait(second.edge, 60000);
        int64_t end = clock_wall_us();
        printf("first agent exited %d, second %d\n", rc1, rc2);
        CHECK((rc1 == 1 && rc2 == 0) || (rc1 == 0 && rc2 == 1));
        struct scenario *gone = rc1 == 1 ? &first : &second;
        struct scenario *kept = rc1 == 1 ? &second : &first;
        CHECK(harness_wait_for_text(gone->log, "device id clash is in use by another agent", 100));
        CHECK_EQ_INT(harness_count_lines(gone->log, "EDGE-ID-TAKEN", NULL), 1);
        CHECK_EQ_INT(harness_summary(kept->log, "lost"), 0);
        CHECK_EQ_INT(harness_summary(kept->log, "frames"), kept->frames);
        clock_sleep_us(1000000);
        CHECK(covered(c, kept->frames, kept == &first ? t1 : t2, end));
        if (check_failed) {
            harness_dump(first.log);
            harness_dump(second.log);
        }
    }
    collector_free(c);
    if (w > 0)
        CHECK_EQ_INT(harness_stop(w, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

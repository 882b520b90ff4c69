/* Integration: broker outages lose no frame. The edge keeps capturing, runs every stage itself
 * while the broker is away, buffers the results and publishes them in order once it is back.
 * The observer has a persistent session on a broker with persistence on, so it misses nothing
 * it should have seen.
 *   - broker killed, restarted after 3 s;
 *   - broker down for 10 s;
 *   - with --spool: the agent killed while disconnected, restarted later, publishes what it had
 *     spooled. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "faults.h"

static void outage(struct broker *b, struct collector *c, const char *name, double down_s)
{
    struct scenario s = {.name = name, .b = b, .c = c, .frames = (int)(100 * (down_s + 5))};
    CHECK(scenario_edge(&s, NULL) > 0);
    scenario_at(&s, 2.5);
    broker_kill(b);
    scenario_at(&s, 2.5 + down_s);
    CHECK_EQ_INT(broker_restart(b), ES_OK);
    /* the longest gap: the outage, the edge's next reconnect attempt (back-off <= 1 s) and the
     * observer's own reconnect (its persistent session keeps Paho's client, which notices a
     * new connection up to 1 s late) */
    scenario_check(&s, down_s + 3);
    CHECK(harness_summary(s.log, "fallback") >= (long long)(100 * down_s * 0.8));
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".msg") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Checks the first run's frames that the observer got: seqs 0..max without a hole, at least
 * `spooled` of them computed on the device, and max near what the run captured. */
static void check_first_run(struct collector *c, int64_t second_run_us, size_t spooled)
{
    json_t *got = collector_results(c, "spool");
    unsigned char seen[2000] = {0};
    json_int_t max = -1;
    size_t fallback = 0, i;
    json_t *r;
    json_array_foreach(got, i, r)
    {
        json_int_t seq = json_integer_value(json_object_get(r, "seq"));
        if (json_integer_value(json_object_get(r, "captured_us")) >= second_run_us || seq < 0 ||
            seq >= 2000)
            continue;
        fallback += !seen[seq] && json_is_true(json_object_get(r, "fallback"));
        seen[seq] = 1;
        max = seq > max ? seq : max;
    }
    json_int_t holes = 0;
    for (json_int_t s = 0; s <= max; s++)
        holes += !seen[s];
    printf("spool: first run delivered seqs 0..%lld with %lld missing; %zu ran on the device, "
           "%zu were spooled when it was killed\n",
           (long long)max, (long long)holes, fallback, spooled);
    CHECK_EQ_INT(holes, 0);
    CHECK(max >= 300); /* about 4 s at 100 frames/s */
    CHECK(fallback >= spooled);
    json_decref(got);
}

static void spool_survives_restart(struct broker *b, struct collector *c)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/spool", b->dir);
    const char *extra[] = {"--spool", dir, NULL};
    struct scenario s = {.name = "spool", .b = b, .c = c, .frames = 1000};
    CHECK(scenario_edge(&s, extra) > 0);
    scenario_at(&s, 2);
    broker_kill(b);
    scenario_at(&s, 4);
    kill(s.edge, SIGKILL); /* while disconnected, its results only in the spool */
    harness_wait(s.edge, 5000);
    size_t spooled = count_entries(dir);
    CHECK(spooled >= 150);
    CHECK_EQ_INT(broker_restart(b), ES_OK);
    size_t before = collector_count(c, "spool");
    int64_t second = clock_wall_us();
    struct scenario again = {.name = "spool", .b = b, .c = c, .frames = 50};
    CHECK(scenario_edge(&again, extra) > 0);
    CHECK_EQ_INT(harness_wait(again.edge, 60000), 0);
    CHECK_EQ_INT(harness_summary(again.log, "lost"), 0);
    CHECK(harness_wait_for_text(again.log, "EDGE-SPOOL-RECOVERED", 100));
    CHECK_EQ_INT(count_entries(dir), 0);
    /* the broker queued them for the observer, which may still be reconnecting */
    CHECK(collector_wait(c, "spool", before + spooled + (size_t)again.frames, 20000));
    check_first_run(c, second, spooled);
}

int main(void)
{
    struct broker b;
    if (broker_start_persistent(&b, "broker-faults") != ES_OK)
        return 1;
    pid_t w = harness_worker(&b, "w-broker-faults", "1");
    struct collector *c = collector_start_persistent(&b, "observer-broker-faults");
    CHECK(w > 0 && c != NULL);
    if (w > 0 && c) {
        outage(&b, c, "broker-3s", 3);
        outage(&b, c, "broker-10s", 10);
        spool_survives_restart(&b, c);
    }
    collector_free(c);
    if (w > 0)
        CHECK_EQ_INT(harness_stop(w, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

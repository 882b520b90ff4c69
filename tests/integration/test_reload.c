/* Integration: running as a service. An edge agent in automatic mode reads its options from a
 * --config file; after the file changes, SIGHUP makes it take the new goal, and the stats it
 * publishes show it. A worker reads the file again on SIGHUP too (its log level). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

/* The "goal" of the last stats message of device, or -1. */
static double last_goal(struct collector *c, const char *device)
{
    json_t *all = collector_results(c, device);
    size_t n = json_array_size(all);
    double g = n ? json_number_value(json_object_get(json_array_get(all, n - 1), "goal")) : -1;
    json_decref(all);
    return g;
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "reload") != ES_OK) {
        CHECK(false);
        return check_exit();
    }
    char conf[400], wconf[400], log[400], wlog[400], text[400];
    snprintf(conf, sizeof conf, "%s/edge.conf", b.dir);
    snprintf(wconf, sizeof wconf, "%s/worker.conf", b.dir);
    snprintf(log, sizeof log, "%s/edge.log", b.dir);
    snprintf(wlog, sizeof wlog, "%s/worker.log", b.dir);
    snprintf(text, sizeof text,
             "# automatic mode from the file\nsplit = 3\ngoal = 10\nhost = 127.0.0.1\nport = %d\n"
             "device-id = svc-01\nrate = 30\nwindow = 0.5\nquiet\n",
             b.port);
    CHECK(harness_write_file(conf, text));
    snprintf(text, sizeof text, "host = 127.0.0.1\nport = %d\nthreads = 1\n", b.port);
    CHECK(harness_write_file(wconf, text));
    const char *wargv[] = {"cloud-worker", "--config", wconf, "--worker-id", "w-svc", NULL};
    pid_t w = harness_spawn(wargv, NULL, wlog);
    CHECK(harness_wait_for_text(wlog, "WORKER-READY", 10000));
    struct collector *stats = collector_start_on(&b, "stats-svc", "pipeline/stats/svc-01");
    CHECK(stats != NULL);
    const char *argv[] = {"edge-agent", "--config", conf, "--frames", "300", NULL};
    pid_t e = harness_spawn(argv, NULL, log);
    CHECK(collector_wait(stats, "svc-01", 2, 10000));
    CHECK(last_goal(stats, "svc-01") == 10);

    /* The file changes; SIGHUP: the new goal from the next window on. */
    snprintf(text, sizeof text,
             "split = 3\ngoal = 25\nhost = 127.0.0.1\nport = %d\ndevice-id = svc-01\nrate = "
             "30\nwindow = 0.5\nquiet\nlog-level = debug\n",
             b.port);
    CHECK(harness_write_file(conf, text));
    kill(e, SIGHUP);
    CHECK(harness_wait_for_text(log, "EDGE-RELOAD goal 10 -> 25 fps", 5000));
    size_t seen = collector_count(stats, "svc-01");
    CHECK(collector_wait(stats, "svc-01", seen + 2, 10000));
    CHECK(last_goal(stats, "svc-01") == 25);
    printf("reload: goal 10 -> 25 fps after SIGHUP, in the stats %.0f\n",
           last_goal(stats, "svc-01"));

    /* An invalid file now: the running configuration stays, with one warning. */
    CHECK(harness_write_file(conf, "goal = fast\n"));
    kill(e, SIGHUP);
    CHECK(harness_wait_for_text(log, "configuration not reloaded", 5000));
    CHECK_EQ_INT(harness_wait(e, 60000), 0);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);

    CHECK(harness_write_file(wconf, "threads = 1\nlog-level = debug\n"));
    kill(w, SIGHUP);
    CHECK(harness_wait_for_text(wlog, "WORKER-RELOAD configuration read again", 5000));
    CHECK_EQ_INT(harness_stop(w, 10000), 0);
    collector_free(stats);
    if (check_failed) {
        harness_dump(log);
        harness_dump(wlog);
    }
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

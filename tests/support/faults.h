/* Shared by the fault tests: one edge agent at split 3 on the synthetic camera at 100 frames/s
 * against a real broker, watched by an independent subscriber, and the checks every fault
 * scenario ends with: every captured frame delivered at least once (a worker's result or one
 * computed on the device), lost=0 in the agent's summary, and a bound on the longest time
 * without results. Header-only so the checks count in the including test (check.h). */
#ifndef ES_FAULTS_H
#define ES_FAULTS_H

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

struct scenario {
    const char *name; /* names the log file, and the device unless id is set */
    const char *id;   /* the device id, when it differs from name */
    struct broker *b;
    struct collector *c;
    char device[32];
    int frames;
    char log[400];
    pid_t edge;
    int64_t start_us;
};

/* Starts the edge: split 3, --rate 100, `frames` frames, device id (or name), stderr in
 * edge-<name>.log; extra options (NULL-terminated, may be NULL) are appended. */
static inline pid_t scenario_edge(struct scenario *s, const char *const *extra)
{
    char port[16], frames[16];
    snprintf(port, sizeof port, "%d", s->b->port);
    snprintf(frames, sizeof frames, "%d", s->frames);
    snprintf(s->device, sizeof s->device, "%s", s->id ? s->id : s->name);
    snprintf(s->log, sizeof s->log, "%s/edge-%s.log", s->b->dir, s->name);
    const char *argv[32] = {"edge-agent", "3",           "--host", "127.0.0.1", "--port",
                            port,         "--frames",    frames,   "--rate",    "100",
                            "--quiet",    "--device-id", s->device};
    int n = 13;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->start_us = clock_mono_us();
    s->edge = harness_spawn(argv, NULL, s->log);
    return s->edge;
}

/* Sleeps until `seconds` after the edge started. */
static inline void scenario_at(const struct scenario *s, double seconds)
{
    clock_sleep_us(s->start_us + (int64_t)(seconds * 1e6) - clock_mono_us());
}

/* Waits for the edge and checks the outcome. Prints the figures the scenario measured. */
static inline void scenario_check(struct scenario *s, double max_gap_s)
{
    CHECK_EQ_INT(harness_wait(s->edge, 120000), 0);
    s->edge = 0;
    CHECK(collector_wait(s->c, s->device, (size_t)s->frames, 15000));
    json_t *got = collector_results(s->c, s->device);
    size_t dups = 0, fallback = 0;
    CHECK(results_at_least_once(got, s->frames, &dups, &fallback));
    double gap = collector_max_gap(s->c, s->device);
    CHECK_EQ_INT(harness_summary(s->log, "frames"), s->frames);
    CHECK_EQ_INT(harness_summary(s->log, "lost"), 0);
    CHECK(gap <= max_gap_s);
    printf("%s: %d frames, %zu results seen (%zu duplicates), %zu ran on the device "
           "(summary: results=%lld fallback=%lld retried=%lld duplicates=%lld), longest gap "
           "%.3f s (bound %.1f s)\n",
           s->name, s->frames, json_array_size(got), dups, fallback,
           harness_summary(s->log, "results"), harness_summary(s->log, "fallback"),
           harness_summary(s->log, "retried"), harness_summary(s->log, "duplicates"), gap,
           max_gap_s);
    json_decref(got);
    if (check_failed)
        harness_dump(s->log);
}

#endif

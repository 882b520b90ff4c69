/* Integration: automatic mode against a real broker and worker. A device emulated 20 times
 * slower misses the goal at split 6, offloads until the goal is met and settles within two
 * windows; when the slowdown ends (on a schedule, or suspended by SIGUSR1) it takes its stages
 * back. The edge runs on one thread (--threads 1), where offloading is what meets a goal; the
 * policy's model of a pipelined edge is covered by test_sched. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

/* The goal: halfway between what splits 6 and 1 achieve at --slowdown 20 on this machine,
 * measured first (here near 15 and 25 fps), so the test holds on slower and faster machines. */
static double goal;
static char goal_arg[32];

/* Edge fps of a manual run at split at --slowdown 20, from its EDGE-SUMMARY line; 0 if none. */
static double measure(const struct broker *b, const char *split)
{
    char port[16], device[32], err[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(device, sizeof device, "measure-%s", split);
    snprintf(err, sizeof err, "%s/%s.log", b->dir, device);
    const char *argv[] = {"edge-agent", split,       "--slowdown", "20",  "--host",  "127.0.0.1",
                          "--port",     port,        "--frames",   "120", "--quiet", "--device-id",
                          device,       "--threads", "1",          NULL};
    pid_t pid = harness_spawn(argv, NULL, err);
    CHECK_EQ_INT(harness_wait(pid, 60000), 0);
    FILE *f = fopen(err, "r");
    char line[512];
    double fps = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "EDGE-SUMMARY");
        at = at ? strstr(at, " edge_fps=") : NULL;
        if (at)
            fps = strtod(at + strlen(" edge_fps="), NULL);
    }
    if (f)
        fclose(f);
    return fps;
}

/* The best of three measurements: the slowdown multiplies every stall of a shared machine by
 * 20, which only ever makes a run slower (single runs of split 1 measured 19 to 28 fps here). */
static double best_of_three(const struct broker *b, const char *split)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double x = measure(b, split);
        best = x > best ? x : best;
    }
    return best;
}

/* Starts `edge-agent 6 <goal>` with 1-s windows; stderr goes to <broker dir>/<device>.log. */
static pid_t spawn_agent(const struct broker *b, const char *device, const char *slowdown,
                         const char *frames, const char *rate)
{
    char port[16];
    snprintf(port, sizeof port, "%d", b->port);
    const char *argv[] = {"edge-agent", "6",        goal_arg,    "--slowdown",  slowdown,
                          "--window",   "1",        "--host",    "127.0.0.1",   "--port",
                          port,         "--frames", frames,      "--device-id", device,
                          "--rate",     rate,       "--threads", "1",           NULL};
    char err[400];
    snprintf(err, sizeof err, "%s/%s.log", b->dir, device);
    return harness_spawn(argv, NULL, err);
}

static void run_agent(const struct broker *b, const char *device, const char *slowdown,
                      const char *frames, const char *rate)
{
    pid_t pid = spawn_agent(b, device, slowdown, frames, rate);
    CHECK(pid > 0);
    CHECK_EQ_INT(harness_wait(pid, 120000), 0);
}

/* Prints the stats windows of a device, for the log of a failed run. */
static void dump(json_t *stats)
{
    size_t i;
    json_t *w;
    json_array_foreach(stats, i, w)
    {
        char *text = json_dumps(w, JSON_COMPACT);
        fprintf(stderr, "  %s\n", text);
        free(text);
    }
}

/* The lowest split among the stats windows. */
static json_int_t lowest_split(json_t *stats)
{
    json_int_t lowest = 6;
    size_t i;
    json_t *w;
    json_array_foreach(stats, i, w)
    {
        json_int_t k = json_integer_value(json_object_get(w, "split"));
        lowest = k < lowest ? k : lowest;
    }
    return lowest;
}

/* A run that was slow, then fast: the split went down, and was back at 6 in the last full
 * window (the very last one is cut short by the end of the frames). */
static void check_down_then_up(json_t *stats)
{
    size_t n = json_array_size(stats);
    CHECK(lowest_split(stats) < 6);
    CHECK(n >= 2 &&
          json_integer_value(json_object_get(json_array_get(stats, n - 2), "split")) == 6);
    if (check_failed)
        dump(stats);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), n > 0; sorts v. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "auto") != ES_OK)
        return 1;
    pid_t worker = harness_worker(&b, "w-auto", "2");
    struct collector *c = collector_start_on(&b, "collector-auto", "pipeline/stats/#");
    CHECK(worker > 0 && c);
    double fps6 = worker > 0 && c ? best_of_three(&b, "6") : 0;
    double fps1 = worker > 0 && c ? best_of_three(&b, "1") : 0;
    fprintf(stderr, "test_auto: --slowdown 20: split 6 %.1f fps, split 1 %.1f fps\n", fps6, fps1);
    /* the premise: only offloading can meet a goal between the two, with room on both sides */
    CHECK(fps6 > 0 && fps1 > 1.2 * fps6);
    goal = (fps6 + fps1) / 2;
    snprintf(goal_arg, sizeof goal_arg, "%.1f", goal);
    goal = strtod(goal_arg, NULL);
    char fast_rate[32]; /* a pace every split meets once the slowdown is gone */
    snprintf(fast_rate, sizeof fast_rate, "%.0f", goal < 20 ? 40 : 2 * goal);
    if (worker > 0 && c && !check_failed) {
        /* Slow all along: split 6 cannot reach the goal, offloading can. */
        run_agent(&b, "slow", "20", "200", "1000");
        json_t *stats = collector_results(c, "slow");
        size_t n = json_array_size(stats);
        CHECK(n >= 4);
        json_t *first = json_array_get(stats, 0), *last = json_array_get(stats, n - 2);
        CHECK_EQ_INT(json_integer_value(json_object_get(first, "split")), 6);
        CHECK(json_real_value(json_object_get(first, "fps")) < goal);
        CHECK(json_integer_value(json_object_get(last, "split")) < 6);
        CHECK(json_number_value(json_object_get(last, "goal")) == goal);
        CHECK(json_is_string(json_object_get(last, "reason")));
        /* Settled within two windows: from the third window on (the last one, cut short by the
         * end of the frames, aside) the split no longer moves, and those windows meet the goal
         * taken together (single 1-s windows scatter by +-20% on a shared machine). */
        double fps[64];
        size_t m = 0;
        bool unreachable = false;
        for (size_t i = 2; i + 1 < n && m < 64; i++) {
            json_t *w = json_array_get(stats, i);
            CHECK_EQ_INT(json_integer_value(json_object_get(w, "split")),
                         json_integer_value(json_object_get(last, "split")));
            fps[m++] = json_number_value(json_object_get(w, "fps"));
            unreachable |= json_is_true(json_object_get(w, "goal_unreachable"));
        }
        double settled = m > 0 ? median(fps, m) : 0;
        /* Either the goal is met, or, on a machine too slow or too busy for any split to reach
         * it (a sanitized build, a loaded CI runner), the agent says so, runs at the fastest
         * split (1 for the ball tracker) and indeed stays below the goal there. */
        CHECK(settled >= goal || (unreachable && settled < goal &&
                                  json_integer_value(json_object_get(last, "split")) == 1));
        if (check_failed)
            dump(stats);
        json_decref(stats);

        /* Slow for the first 4 s, then full speed: the split moves down, then back up. */
        run_agent(&b, "recovers", "20:0-4", "360", fast_rate);
        stats = collector_results(c, "recovers");
        check_down_then_up(stats);
        json_decref(stats);

        /* Slow until SIGUSR1 suspends the slowdown once the split has moved down. */
        pid_t pid = spawn_agent(&b, "signalled", "20", "400", fast_rate);
        CHECK(pid > 0);
        bool moved = false;
        for (int t = 0; pid > 0 && t < 600 && !moved; t++) {
            stats = collector_results(c, "signalled");
            moved = lowest_split(stats) < 6;
            json_decref(stats);
            if (!moved)
                clock_sleep_us(50000);
        }
        CHECK(moved);
        if (pid > 0) {
            kill(pid, SIGUSR1);
            CHECK_EQ_INT(harness_wait(pid, 120000), 0);
        }
        stats = collector_results(c, "signalled");
        check_down_then_up(stats);
        json_decref(stats);
        char log[400];
        snprintf(log, sizeof log, "%s/signalled.log", b.dir);
        CHECK(harness_wait_for_text(log, "emulated slowdown suspended (SIGUSR1)", 1000));
    }
    collector_free(c);
    if (worker > 0)
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

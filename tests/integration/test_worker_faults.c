/* Integration: worker faults lose no frame and stall the results for no longer than it takes to
 * notice the fault and send the frame again (real mosquitto, real workers, real edge agent).
 *   - kill -9 one of two workers mid-stream;
 *   - the only worker killed, and a new one started 2 s later;
 *   - one of two workers stopped (SIGSTOP) for 3 s, then resumed;
 *   - no worker at all: every frame runs on the device, at device-only speed. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "faults.h"

#define FRAMES 800

static void kill_one_of_two(struct broker *b, struct collector *c)
{
    pid_t w1 = harness_worker(b, "w-kill-1", "1");
    pid_t w2 = harness_worker(b, "w-kill-2", "1");
    struct scenario s = {.name = "kill-one-of-two", .b = b, .c = c, .frames = FRAMES};
    CHECK(w1 > 0 && w2 > 0 && scenario_edge(&s, NULL) > 0);
    scenario_at(&s, 3);
    kill(w1, SIGKILL);
    harness_wait(w1, 5000);
    /* its frames in flight get no answer: noticed at their deadline, sent again */
    scenario_check(&s, 1.5);
    CHECK_EQ_INT(harness_stop(w2, 10000), 0);
}

static void only_worker_restarted(struct broker *b, struct collector *c)
{
    pid_t w = harness_worker(b, "w-only", "1");
    struct scenario s = {.name = "only-worker-restarted", .b = b, .c = c, .frames = FRAMES};
    CHECK(w > 0 && scenario_edge(&s, NULL) > 0);
    scenario_at(&s, 3);
    kill(w, SIGKILL);
    harness_wait(w, 5000);
    scenario_at(&s, 5);
    w = harness_worker(b, "w-only", "1");
    CHECK(w > 0);
    /* the broker publishes the dead worker's will: the edge runs frames itself at once */
    scenario_check(&s, 1.0);
    CHECK(harness_summary(s.log, "fallback") > 0 && harness_summary(s.log, "results") > 0);
    CHECK_EQ_INT(harness_stop(w, 10000), 0);
}

static void worker_stopped(struct broker *b, struct collector *c)
{
    pid_t w1 = harness_worker(b, "w-stop-1", "1");
    pid_t w2 = harness_worker(b, "w-stop-2", "1");
    struct scenario s = {.name = "worker-stopped-3s", .b = b, .c = c, .frames = FRAMES};
    CHECK(w1 > 0 && w2 > 0 && scenario_edge(&s, NULL) > 0);
    scenario_at(&s, 2.5);
    kill(w1, SIGSTOP);
    scenario_at(&s, 5.5);
    kill(w1, SIGCONT);
    scenario_check(&s, 1.5);
    CHECK(harness_summary(s.log, "retried") > 0);
    CHECK_EQ_INT(harness_stop(w1, 10000), 0);
    CHECK_EQ_INT(harness_stop(w2, 10000), 0);
}

/* Frames per second of an edge run without --rate: its summary's edge_fps, measured from the
 * first frame to the last, so that connecting (and asking for workers when none is known) does
 * not count. */
static double run_fps(struct broker *b, const char *name, const char *split, int frames)
{
    char port[16], n[16], log[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(n, sizeof n, "%d", frames);
    snprintf(log, sizeof log, "%s/%s.log", b->dir, name);
    const char *argv[] = {"edge-agent", split, "--host",  "127.0.0.1",   "--port", port,
                          "--frames",   n,     "--quiet", "--device-id", name,     NULL};
    const char *local[] = {"edge-agent", "--frames", n, "--quiet", NULL};
    CHECK_EQ_INT(harness_wait(harness_spawn(split ? argv : local, NULL, log), 120000), 0);
    if (split)
        CHECK_EQ_INT(harness_summary(log, "fallback"), frames);
    return (double)harness_summary(log, "edge_fps");
}

static void no_worker(struct broker *b, struct collector *c)
{
    struct scenario s = {.name = "no-worker", .b = b, .c = c, .frames = 300};
    CHECK(scenario_edge(&s, NULL) > 0);
    scenario_check(&s, 0.5);
    CHECK_EQ_INT(harness_summary(s.log, "fallback"), 300);
    /* as fast as the device goes: not held back by result deadlines */
    double local = run_fps(b, "device-only", NULL, 300);
    double none = run_fps(b, "no-worker-fast", "3", 300);
    printf("no worker: %.0f frames/s, device-only %.0f frames/s\n", none, local);
    CHECK(none >= 0.5 * local);
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "worker-faults") != ES_OK)
        return 1;
    struct collector *c = collector_start(&b, "observer-worker-faults");
    CHECK(c != NULL);
    if (c) {
        no_worker(&b, c);
        kill_one_of_two(&b, c);
        only_worker_restarted(&b, c);
        worker_stopped(&b, c);
    }
    collector_free(c);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

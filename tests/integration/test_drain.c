/* Integration: stopping a worker while frames stream in loses none of them. Two workers share
 * the stage topics; one gets SIGTERM in the middle of the run. It has to leave the share group
 * before it stops taking messages and finish what the broker already gave it; the other worker
 * takes the rest. Every frame's result arrives, exactly once, and the edge counts no loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define FRAMES 600

int main(void)
{
    struct broker b;
    if (broker_start(&b, "drain") != ES_OK)
        return 1;
    pid_t w1 = harness_worker(&b, "w-drain-1", "1");
    pid_t w2 = harness_worker(&b, "w-drain-2", "1");
    struct collector *c = collector_start(&b, "collector-drain");
    CHECK(w1 > 0 && w2 > 0 && c);
    if (w1 > 0 && w2 > 0 && c) {
        char port[16], frames[16], log[400];
        snprintf(port, sizeof port, "%d", b.port);
        snprintf(frames, sizeof frames, "%d", FRAMES);
        snprintf(log, sizeof log, "%s/edge.log", b.dir);
        /* split 1: every frame is a 421 KB picture, so each worker has a backlog in flight. One
         * edge thread: a pipelined edge outruns one worker thread under the sanitizers, and
         * frames past their deadline would be published again (duplicates are allowed in
         * general, but this test counts a drain's results exactly). */
        const char *argv[] = {"edge-agent",  "1",        "--host",  "127.0.0.1",        "--port",
                              port,          "--frames", frames,    "--rate",           "1000",
                              "--device-id", "drain",    "--quiet", "--result-timeout", "5",
                              "--threads",   "1",        NULL};
        pid_t edge = harness_spawn(argv, NULL, log);
        CHECK(edge > 0);
        CHECK(collector_wait(c, "drain", FRAMES / 4, 30000));
        CHECK_EQ_INT(harness_stop(w1, 10000), 0);
        w1 = 0;
        CHECK_EQ_INT(harness_wait(edge, 120000), 0);
        CHECK(collector_wait(c, "drain", FRAMES, 10000));

        /* Every frame's result arrives. The edge may still publish a frame again: its deadline
         * is a multiple of the measured round trip, and the other worker taking over the backlog
         * can outlast it on a loaded machine. Such a frame is answered twice (the copy may
         * come after the edge has ended, so the edge's own duplicate count can be short). The
         * drain itself adds no result: no more frames are answered twice than the edge published
         * again or ran itself. */
        json_t *got = collector_results(c, "drain");
        size_t dups = 0, fallback = 0;
        CHECK(results_at_least_once(got, FRAMES, &dups, &fallback));
        bool by1 = false;
        for (size_t i = 0; i < json_array_size(got); i++) {
            const char *w = json_string_value(json_object_get(json_array_get(got, i), "worker"));
            by1 = by1 || (w && strcmp(w, "w-drain-1") == 0);
        }
        CHECK(by1); /* the stopped worker did take part */
        json_decref(got);
        long long again = harness_summary(log, "retried") + harness_summary(log, "fallback");
        CHECK((long long)dups <= again);
        CHECK_EQ_INT(harness_summary(log, "lost"), 0);
        if (dups)
            fprintf(stderr,
                    "test_drain: %zu frames answered twice, the edge published %lld again\n", dups,
                    harness_summary(log, "retried"));
    }
    collector_free(c);
    if (w1 > 0)
        CHECK_EQ_INT(harness_stop(w1, 10000), 0);
    if (w2 > 0)
        CHECK_EQ_INT(harness_stop(w2, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

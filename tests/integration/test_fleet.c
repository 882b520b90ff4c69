/* Integration: 20 edge agents and 2 workers against one broker; every device gets all its
 * results, and none twice except a frame its edge published again after a deadline (a loaded
 * machine can make a round trip outlast it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define DEVICES 20
#define FRAMES 40

int main(void)
{
    struct broker b;
    if (broker_start(&b, "fleet") != ES_OK)
        return 1;
    pid_t w1 = harness_worker(&b, "w-fleet-1", "1");
    pid_t w2 = harness_worker(&b, "w-fleet-2", "1");
    struct collector *c = collector_start(&b, "collector-fleet");
    CHECK(w1 > 0 && w2 > 0 && c);
    char port[16], frames[16];
    snprintf(port, sizeof port, "%d", b.port);
    snprintf(frames, sizeof frames, "%d", FRAMES);
    pid_t edges[DEVICES];
    char ids[DEVICES][32], splits[DEVICES][8], sources[DEVICES][32], logs[DEVICES][400];
    for (int i = 0; i < DEVICES && c; i++) {
        snprintf(ids[i], sizeof ids[i], "cam-%02d", i);
        snprintf(splits[i], sizeof splits[i], "%d", 3 + i % 4); /* splits 3..6 */
        snprintf(sources[i], sizeof sources[i], "synthetic:%d", i + 1);
        snprintf(logs[i], sizeof logs[i], "%s/edge-%s.log", b.dir, ids[i]);
        const char *argv[] = {"edge-agent",  splits[i], "--host",   "127.0.0.1",
                              "--port",      port,      "--frames", frames,
                              "--device-id", ids[i],    "--source", sources[i],
                              "--quiet",     "--rate",  "30",       NULL};
        edges[i] = harness_spawn(argv, NULL, logs[i]);
    }
    for (int i = 0; i < DEVICES && c; i++)
        CHECK_EQ_INT(harness_wait(edges[i], 120000), 0);
    bool by1 = false, by2 = false;
    for (int i = 0; i < DEVICES && c; i++) {
        CHECK(collector_wait(c, ids[i], FRAMES, 10000));
        json_t *got = collector_results(c, ids[i]);
        size_t dups = 0, fallback = 0;
        CHECK(results_at_least_once(got, FRAMES, &dups, &fallback));
        CHECK((long long)dups <=
              harness_summary(logs[i], "retried") + harness_summary(logs[i], "fallback"));
        CHECK_EQ_INT(harness_summary(logs[i], "lost"), 0);
        for (size_t k = 0; k < json_array_size(got); k++) {
            const char *w = json_string_value(json_object_get(json_array_get(got, k), "worker"));
            by1 |= w && strcmp(w, "w-fleet-1") == 0;
            by2 |= w && strcmp(w, "w-fleet-2") == 0;
        }
        json_decref(got);
    }
    /* both workers took part: the shared subscription spreads the load */
    CHECK(!c || (by1 && by2));
    collector_free(c);
    if (w1 > 0)
        CHECK_EQ_INT(harness_stop(w1, 10000), 0);
    if (w2 > 0)
        CHECK_EQ_INT(harness_stop(w2, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

/* Integration: 20 edge agents and 2 workers against one broker; every device gets all its
 * results, exactly once each. */
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
    char ids[DEVICES][32], splits[DEVICES][8], sources[DEVICES][32];
    for (int i = 0; i < DEVICES && c; i++) {
        snprintf(ids[i], sizeof ids[i], "cam-%02d", i);
        snprintf(splits[i], sizeof splits[i], "%d", 3 + i % 4); /* splits 3..6 */
        snprintf(sources[i], sizeof sources[i], "synthetic:%d", i + 1);
        const char *argv[] = {"edge-agent",  splits[i], "--host",   "127.0.0.1",
                              "--port",      port,      "--frames", frames,
                              "--device-id", ids[i],    "--source", sources[i],
                              "--quiet",     "--rate",  "30",       NULL};
        edges[i] = harness_spawn(argv, NULL, NULL);
    }
    for (int i = 0; i < DEVICES && c; i++)
        CHECK_EQ_INT(harness_wait(edges[i], 120000), 0);
    bool by1 = false, by2 = false;
    for (int i = 0; i < DEVICES && c; i++) {
        CHECK(collector_wait(c, ids[i], FRAMES, 10000));
        json_t *got = collector_results(c, ids[i]);
        bool one, two;
        CHECK_EQ_INT(json_array_size(got), FRAMES);
        CHECK(results_once(got, FRAMES, "w-fleet-1", &one));
        results_once(got, FRAMES, "w-fleet-2", &two);
        by1 |= one;
        by2 |= two;
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

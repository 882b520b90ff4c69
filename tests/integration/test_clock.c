/* Integration: the device's wall clock is stepped while it runs, as NTP does after boot. The
 * edge runs split 3 at 100 frames/s under libfaketime (the wall clock only; the monotonic one is
 * left alone, as a real step leaves it), which steps it by -1 h after 3 s and by +1 h (back)
 * after 6 s. Deadlines, windows and back-off use the monotonic clock, so nothing stalls or is
 * lost: every frame is answered by the worker, none runs on the device after a deadline, and
 * the stats' latencies stay between 0 and 1 s. captured_us is wall time: the results show the
 * step. Without libfaketime installed, or in a sanitizer build, the test reports itself
 * skipped (exit 77). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define FRAMES 1000
#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
    /* AddressSanitizer's runtime must come first in a program's libraries, so a preloaded
     * libfaketime stops the sanitized edge-agent at its start. */
    printf("skipped: the programs are built with AddressSanitizer, which libfaketime's "
           "LD_PRELOAD cannot go with\n");
    return 77;
#endif
    if (access(FAKETIME_LIB, R_OK) != 0) {
        printf("skipped: no %s (Debian's libfaketime)\n", FAKETIME_LIB);
        return 77;
    }
    struct broker b;
    if (broker_start(&b, "clock") != ES_OK)
        return 1;
    pid_t worker = harness_worker(&b, "w-clock", "1");
    struct collector *c = collector_start(&b, "collector-clock");
    struct collector *stats = collector_start_on(&b, "collector-clock-stats", "pipeline/stats/+");
    CHECK(worker > 0 && c && stats);
    char ts[400], log[400], port[16], frames[16];
    snprintf(ts, sizeof ts, "%s/faketime", b.dir);
    snprintf(log, sizeof log, "%s/edge.log", b.dir);
    snprintf(port, sizeof port, "%d", b.port);
    snprintf(frames, sizeof frames, "%d", FRAMES);
    CHECK(harness_write_file(ts, "+0\n"));
    setenv("LD_PRELOAD", FAKETIME_LIB, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", ts, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    const char *argv[] = {"edge-agent",  "3",       "--source", "synthetic:2", "--rate", "100",
                          "--frames",    frames,    "--host",   "127.0.0.1",   "--port", port,
                          "--device-id", "stepped", "--quiet",  NULL};
    pid_t edge = harness_spawn(argv, NULL, log);
    unsetenv("LD_PRELOAD");
    sleep(3);
    CHECK(harness_write_file(ts, "-3600\n"));
    sleep(3);
    CHECK(harness_write_file(ts, "+0\n"));
    CHECK_EQ_INT(harness_wait(edge, 120000), 0);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK_EQ_INT(harness_summary(log, "results"), FRAMES);
    CHECK_EQ_INT(harness_summary(log, "fallback"), 0);
    CHECK(c && collector_wait(c, "stepped", FRAMES, 20000));
    json_t *got = c ? collector_results(c, "stepped") : json_array();
    bool by_worker = false;
    CHECK(results_once(got, FRAMES, "w-clock", &by_worker) && by_worker);
    /* the step shows in captured_us: some frames were captured an hour "earlier" */
    size_t stepped = 0, i;
    json_t *r;
    json_int_t first = json_integer_value(json_object_get(json_array_get(got, 0), "captured_us"));
    json_array_foreach(got, i, r)
    {
        json_int_t t = json_integer_value(json_object_get(r, "captured_us"));
        stepped += t < first - 1800ll * 1000000;
    }
    printf("%zu of %d frames captured during the -1 h step\n", stepped, FRAMES);
    CHECK(stepped > 100 && stepped < FRAMES);
    json_decref(got);
    json_t *windows = stats ? collector_results(stats, "stepped") : json_array();
    CHECK(json_array_size(windows) >= 2);
    json_array_foreach(windows, i, r)
    {
        json_t *lat = json_object_get(r, "latency_ms");
        double p50 = json_number_value(json_object_get(lat, "p50"));
        double p99 = json_number_value(json_object_get(lat, "p99"));
        printf("window %zu: latency p50 %.1f ms, p99 %.1f ms\n", i, p50, p99);
        CHECK(p50 >= 0 && p99 >= p50 && p99 < 1000);
    }
    json_decref(windows);
    collector_free(stats);
    collector_free(c);
    if (worker > 0)
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

/* Integration: a link that fails without a word. A fault proxy (support/fault_proxy.c) sits
 * between one side and the broker and, on its schedule, stops forwarding in both directions
 * without closing anything (no RST, no FIN), then heals.
 * - The edge's link: the edge runs split 3 at 100 frames/s through the proxy while the worker
 *   talks to the broker directly. The edge gives the connection up within 3 s of the last
 *   message it heard (MQTT-SILENT), runs frames here meanwhile instead of waiting out their
 *   deadlines, reconnects after the heal and forwards what it buffered: every frame ends as
 *   exactly one accepted result, none is lost, and the copies an observer sees twice are
 *   frames that also ran here.
 * - The worker's link: a worker behind the proxy with --keepalive 2 notices within 2 x 2 s
 *   (MQTT-LOST) and reconnects; the edge, on the broker directly, loses no frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define FRAMES 1200

/* Starts the proxy in front of the broker with a blackhole AT:FOR; returns its pid and port. */
static pid_t start_proxy(const struct broker *b, const char *name, const char *hole, int *port)
{
    char to[16], pf[400], log[400];
    snprintf(to, sizeof to, "%d", b->port);
    snprintf(pf, sizeof pf, "%s/%s.port", b->dir, name);
    snprintf(log, sizeof log, "%s/%s.log", b->dir, name);
    const char *argv[] = {"es-faultproxy", "--to", to,  "--port-file", pf,
                          "--blackhole",   hole,   NULL};
    pid_t pid = harness_spawn(argv, NULL, log);
    *port = 0;
    if (pid > 0 && harness_wait_for_text(pf, "\n", 10000)) {
        FILE *f = fopen(pf, "r");
        if (f && fscanf(f, "%d", port) != 1)
            *port = 0;
        if (f)
            fclose(f);
    }
    CHECK(pid > 0 && *port > 0);
    return pid;
}

/* The seconds in "nothing from it for X s" of the edge's MQTT-SILENT line, or -1. */
static double silent_after(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    double s = -1;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "MQTT-SILENT");
        p = p ? strstr(p, "nothing from it for ") : NULL;
        if (p && sscanf(p, "nothing from it for %lf s", &s) == 1)
            break;
    }
    if (f)
        fclose(f);
    return s;
}

/* Runs the edge for FRAMES frames at 100/s, split 3, against port; returns its exit code. */
static int run_edge(const char *device, int port, const char *log)
{
    char p[16], frames[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(frames, sizeof frames, "%d", FRAMES);
    const char *argv[] = {"edge-agent",  "3",    "--source", "synthetic:5", "--rate", "100",
                          "--frames",    frames, "--host",   "127.0.0.1",   "--port", p,
                          "--device-id", device, "--quiet",  NULL};
    return harness_wait(harness_spawn(argv, NULL, log), 180000);
}

/* Every frame ended as one accepted result on the edge, and the observer got each seq. */
static void check_accounts(struct collector *c, const char *device, const char *log,
                           bool expect_fallback)
{
    long long results = harness_summary(log, "results"),
              fallback = harness_summary(log, "fallback");
    long long retried = harness_summary(log, "retried"), skipped = harness_summary(log, "skipped");
    printf("%s: results %lld, fallback %lld, retried %lld, duplicates %lld, skipped %lld\n", device,
           results, fallback, retried, harness_summary(log, "duplicates"), skipped);
    CHECK_EQ_INT(harness_summary(log, "frames"), FRAMES);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK_EQ_INT(results + fallback, FRAMES);
    CHECK(!expect_fallback || fallback > 0);
    CHECK(collector_wait(c, device, FRAMES, 30000));
    json_t *got = collector_results(c, device);
    size_t dups = 0, fb = 0;
    CHECK(results_at_least_once(got, FRAMES, &dups, &fb));
    printf("%s: the observer got %zu results, %zu of them copies, %zu frames that ran here\n",
           device, json_array_size(got), dups, fb);
    /* A copy is a frame that went into the dead link and also ran here (or was published
     * again); nothing else is answered twice. */
    CHECK(dups <= (size_t)(fallback + retried));
    json_decref(got);
}

static void edge_link(const struct broker *b, struct collector *c)
{
    int port;
    pid_t proxy = start_proxy(b, "proxy-edge", "3:6", &port);
    char log[400], plog[400];
    snprintf(log, sizeof log, "%s/edge-part.log", b->dir);
    snprintf(plog, sizeof plog, "%s/proxy-edge.log", b->dir);
    CHECK_EQ_INT(run_edge("edge-part", port, log), 0);
    CHECK(harness_count_lines(plog, "blackhole", NULL) == 1);
    CHECK(harness_count_lines(plog, "healed", NULL) == 1);
    double after = silent_after(log);
    printf("the edge gave the silent link up %.1f s after the last message it heard\n", after);
    CHECK(after > 0 && after <= 3.0);
    CHECK(harness_count_lines(log, "EDGE-ONLINE", NULL) >= 1);
    /* Skipped camera frames: only while the window of frames in flight was full, before the
     * link was given up (3 s at 100 frames/s at most). */
    CHECK(harness_summary(log, "skipped") <= 300);
    check_accounts(c, "edge-part", log, true);
    CHECK_EQ_INT(harness_stop(proxy, 5000), 0);
}

static void worker_link(const struct broker *b, struct collector *c)
{
    int port;
    pid_t proxy = start_proxy(b, "proxy-worker", "2:6", &port);
    char p[16], wlog[400], log[400];
    snprintf(p, sizeof p, "%d", port);
    snprintf(wlog, sizeof wlog, "%s/worker-part.log", b->dir);
    snprintf(log, sizeof log, "%s/edge-direct.log", b->dir);
    const char *wargv[] = {
        "cloud-worker", "--host",    "127.0.0.1", "--port",      p,   "--worker-id",
        "w-part",       "--threads", "1",         "--keepalive", "2", NULL};
    pid_t worker = harness_spawn(wargv, NULL, wlog);
    CHECK(harness_wait_for_text(wlog, "WORKER-READY", 10000));
    CHECK_EQ_INT(run_edge("edge-direct", b->port, log), 0);
    CHECK(harness_count_lines(wlog, "MQTT-LOST", NULL) >= 1);
    CHECK(harness_count_lines(wlog, "MQTT-RECONNECT", NULL) >= 1);
    check_accounts(c, "edge-direct", log, false);
    CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    CHECK_EQ_INT(harness_stop(proxy, 5000), 0);
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "partition") != ES_OK)
        return 1;
    struct collector *c = collector_start(&b, "collector-part");
    CHECK(c != NULL);
    pid_t worker = harness_worker(&b, "w-direct", "1");
    CHECK(worker > 0);
    if (c && worker > 0)
        edge_link(&b, c);
    if (worker > 0)
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    if (c)
        worker_link(&b, c);
    collector_free(c);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

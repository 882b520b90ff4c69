/* Integration: a real 3-node RabbitMQ cluster on loopback (scripts/cluster.sh), workers over
 * AMQP (--amqp, quorum queues) and edges over MQTT 3.1.1 on its MQTT plugin.
 *   - split equivalence: at every split, results through the cluster equal device-only;
 *   - fair dispatch: a worker 1000 times slower beside a fast one gets far fewer frames;
 *   - a worker killed (-9) mid-stream while an edge at split 3 (1500 frames, 100 fps) and one at
 *     split 1 run: the frames it held go to the other worker (redelivered), every frame gets a
 *     worker result, none ran on the device, lost=0;
 *   - the node an edge and a worker are connected to killed mid-stream: the edge goes on with
 *     another node of its --host list, the worker with the next URL of its --amqp list; every
 *     frame is delivered (by a worker or run on the device), lost=0. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

#define NODES 3

struct cluster {
    char dir[256];
    int mqtt_port[NODES];
    char amqp[NODES][128];
    struct broker node[NODES]; /* for the collector: 127.0.0.1 and the node's MQTT port */
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* scripts/cluster.sh up DIR 3, and its two lines MQTT=... and AMQP=... */
static bool cluster_up(struct cluster *c)
{
    memset(c, 0, sizeof *c);
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/es-cluster-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir))
        return false;
    int64_t t0 = clock_mono_us();
    if (sh("%s/scripts/cluster.sh up %s/rmq %d >%s/up.out 2>%s/up.err", ES_SOURCE_DIR, c->dir,
           NODES, c->dir, c->dir) != 0) {
        char path[300];
        snprintf(path, sizeof path, "%s/up.err", c->dir);
        harness_dump(path);
        return false;
    }
    printf("cluster of %d nodes up in %.1f s\n", NODES, (double)(clock_mono_us() - t0) / 1e6);
    char path[300], line[2048];
    snprintf(path, sizeof path, "%s/up.out", c->dir);
    FILE *f = fopen(path, "r");
    int nm = 0, na = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "MQTT=", 5) == 0) {
            for (char *tok = strtok(line + 5, ","); tok && nm < NODES; tok = strtok(NULL, ","))
                c->mqtt_port[nm++] = atoi(strrchr(tok, ':') + 1);
        } else if (strncmp(line, "AMQP=", 5) == 0) {
            for (char *tok = strtok(line + 5, ","); tok && na < NODES; tok = strtok(NULL, ","))
                snprintf(c->amqp[na++], sizeof c->amqp[0], "%s", tok);
        }
    }
    if (f)
        fclose(f);
    for (int i = 0; i < NODES; i++) {
        c->node[i].port = c->mqtt_port[i];
        snprintf(c->node[i].dir, sizeof c->node[i].dir, "%s", c->dir);
    }
    return nm == NODES && na == NODES;
}

static void cluster_kill(struct cluster *c, int i)
{
    CHECK_EQ_INT(
        sh("%s/scripts/cluster.sh kill %s/rmq %d >/dev/null", ES_SOURCE_DIR, c->dir, i + 1), 0);
}

static void cluster_down(struct cluster *c)
{
    sh("%s/scripts/cluster.sh down %s/rmq >/dev/null 2>&1", ES_SOURCE_DIR, c->dir);
}

/* The nodes' URLs (AMQP) or host:port pairs (MQTT), starting with node first. */
static void node_list(const struct cluster *c, int first, bool amqp, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int j = 0; j < NODES && used < n; j++) {
        int i = (first + j) % NODES;
        if (amqp)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", j ? "," : "", c->amqp[i]);
        else
            used += (size_t)snprintf(buf + used, n - used, "%s127.0.0.1:%d", j ? "," : "",
                                     c->mqtt_port[i]);
    }
}

/* A worker over AMQP, first on node `first`; extra is NULL or "--slowdown" and a factor. */
static pid_t worker(const struct cluster *c, const char *id, int first, const char *slowdown)
{
    char urls[600], log[400];
    node_list(c, first, true, urls, sizeof urls);
    snprintf(log, sizeof log, "%s/%s.log", c->dir, id);
    const char *argv[] = {"cloud-worker",
                          "--amqp",
                          urls,
                          "--worker-id",
                          id,
                          "--threads",
                          "1",
                          "--stats-every",
                          "1",
                          "--slowdown",
                          slowdown ? slowdown : "1",
                          NULL};
    pid_t pid = harness_spawn(argv, NULL, log);
    if (pid > 0 && !harness_wait_for_text(log, "WORKER-READY", 15000)) {
        harness_dump(log);
        harness_stop(pid, 2000);
        return -1;
    }
    return pid;
}

static pid_t edge(const struct cluster *c, const char *device, const char *split, int first,
                  const char *frames, const char *rate, const char *log)
{
    char hosts[256];
    node_list(c, first, false, hosts, sizeof hosts);
    /* QoS 0 subscriptions: RabbitMQ 3.10 keeps a QoS 1 subscription's queue on the node the
     * client first used, and refuses the client elsewhere while that node is down. */
    const char *argv[] = {"edge-agent", split,         "--host", hosts,     "--frames",
                          frames,       "--device-id", device,   "--quiet", "--mqtt-version",
                          "3",          "--sub-qos",   "0",      "--rate",  rate,
                          NULL};
    if (!rate)
        argv[13] = NULL; /* as fast as it goes */
    return harness_spawn(argv, NULL, log);
}

/* The last value of "NAME N" in a worker's log (its final stats line), or -1. */
static long long worker_stat(const struct cluster *c, const char *id, const char *name)
{
    char path[400], line[1024];
    snprintf(path, sizeof path, "%s/%s.log", c->dir, id);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t len = strlen(name);
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "WORKER-STATS");
        for (p = p ? strstr(p, name) : NULL; p; p = strstr(p + 1, name))
            if (p[len] == ' ')
                v = atoll(p + len + 1);
    }
    if (f)
        fclose(f);
    return v;
}

static size_t count_by(json_t *results, const char *worker)
{
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        const char *w = json_string_value(json_object_get(r, "worker"));
        n += w && strcmp(w, worker) == 0;
    }
    return n;
}

/* Every split through the cluster equals device-only, field by field. */
static void split_equivalence(struct cluster *c, struct collector *col)
{
    const int n = 20;
    char out[400], line[4096];
    snprintf(out, sizeof out, "%s/local.jsonl", c->dir);
    const char *argv[] = {"edge-agent", "--frames", "20", "--quiet", "--device-id", "local", NULL};
    CHECK_EQ_INT(harness_wait(harness_spawn(argv, out, NULL), 60000), 0);
    json_t *ref = json_array();
    FILE *f = fopen(out, "r");
    while (f && fgets(line, sizeof line, f))
        json_array_append_new(ref, json_loads(line, 0, NULL));
    if (f)
        fclose(f);
    CHECK_EQ_INT(json_array_size(ref), n);
    for (unsigned k = 1; k <= 6; k++) {
        char split[8], device[32], log[400];
        snprintf(split, sizeof split, "%u", k);
        snprintf(device, sizeof device, "eq-k%u", k);
        snprintf(log, sizeof log, "%s/%s.log", c->dir, device);
        CHECK_EQ_INT(harness_wait(edge(c, device, split, (int)k % NODES, "20", NULL, log), 60000),
                     0);
        CHECK(collector_wait(col, device, (size_t)n, 10000));
        json_t *got = collector_results(col, device);
        size_t dups = 0, fallback = 0;
        CHECK(results_at_least_once(got, n, &dups, &fallback));
        CHECK_EQ_INT(fallback, 0); /* every frame went through a worker */
        size_t i;
        json_t *r;
        int before = check_failed;
        json_array_foreach(got, i, r)
        {
            json_int_t seq = json_integer_value(json_object_get(r, "seq"));
            json_t *a = results_strip_placement(json_array_get(ref, (size_t)seq)),
                   *b = results_strip_placement(r);
            CHECK(json_equal(a, b));
            json_decref(a);
            json_decref(b);
        }
        if (check_failed != before)
            harness_dump(log);
        json_decref(got);
    }
    json_decref(ref);
    printf("split equivalence: splits 1-6 through the cluster equal device-only\n");
}

/* A worker 1000 times slower beside a fast one: the broker hands it only what it acknowledges.
 * Stages 3-6 take 0.05-0.2 ms here (more under the sanitizers), so it needs 50-200 ms a frame
 * and can take at most 30-120 of the 600 frames in six seconds; blind round robin would give it
 * 300. What it took is what it processed, counted once it has stopped (it finishes the frames it
 * holds), since its last results may come after the edge has moved on. */
static void fair_dispatch(struct cluster *c, struct collector *col)
{
    pid_t fast = worker(c, "w-fast", 0, NULL), slow = worker(c, "w-slow", 1, "1000");
    CHECK(fast > 0 && slow > 0);
    char log[400];
    snprintf(log, sizeof log, "%s/fair.log", c->dir);
    pid_t e = edge(c, "fair", "3", 2, "600", "100", log);
    CHECK_EQ_INT(harness_wait(e, 60000), 0);
    CHECK(collector_wait(col, "fair", 600, 10000));
    CHECK_EQ_INT(harness_stop(slow, 20000), 0);
    json_t *got = collector_results(col, "fair");
    size_t nf = count_by(got, "w-fast");
    long long ns = worker_stat(c, "w-slow", "processed");
    printf("fair dispatch: fast worker %zu results, 1000x slower worker processed %lld (ratio "
           "%.1f)\n",
           nf, ns, ns > 0 ? (double)nf / (double)ns : 0.0);
    CHECK(ns > 0 && nf >= 2 * (size_t)ns);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    json_decref(got);
    CHECK_EQ_INT(harness_stop(fast, 10000), 0);
}

/* Two workers on different nodes; one killed with -9 mid-stream. */
static void worker_killed(struct cluster *c, struct collector *col)
{
    pid_t w1 = worker(c, "w-1", 0, NULL), w2 = worker(c, "w-2", 1, NULL);
    CHECK(w1 > 0 && w2 > 0);
    char log3[400], log1[400];
    snprintf(log3, sizeof log3, "%s/kw-3.log", c->dir);
    snprintf(log1, sizeof log1, "%s/kw-1.log", c->dir);
    pid_t e3 = edge(c, "kw-3", "3", 2, "1500", "100", log3);
    pid_t e1 = edge(c, "kw-1", "1", 2, "100", "10", log1);
    CHECK(collector_wait(col, "kw-3", 300, 20000)); /* mid-stream */
    /* Stopped for 100 ms first, so that it surely holds frames it has not acknowledged when it
     * dies (well inside the edges' shortest deadline, 250 ms). */
    kill(w1, SIGSTOP);
    clock_sleep_us(100000);
    kill(w1, SIGKILL);
    harness_wait(w1, 5000);
    int64_t killed = clock_mono_us();
    CHECK_EQ_INT(harness_wait(e3, 60000), 0);
    CHECK_EQ_INT(harness_wait(e1, 60000), 0);
    CHECK(collector_wait(col, "kw-3", 1500, 10000));
    CHECK(collector_wait(col, "kw-1", 100, 10000));
    CHECK_EQ_INT(harness_stop(w2, 10000), 0);
    const char *devices[] = {"kw-3", "kw-1"};
    const char *logs[] = {log3, log1};
    const int frames[] = {1500, 100};
    for (int i = 0; i < 2; i++) {
        json_t *got = collector_results(col, devices[i]);
        size_t dups = 0, fallback = 0;
        CHECK(results_at_least_once(got, frames[i], &dups, &fallback));
        CHECK_EQ_INT(fallback, 0); /* redelivered to the other worker, not run on the device */
        CHECK_EQ_INT(harness_summary(logs[i], "lost"), 0);
        printf("worker killed: %s %d frames, lost %lld, fallback %zu, duplicates %zu (edge "
               "counted %lld), longest gap %.2f s\n",
               devices[i], frames[i], harness_summary(logs[i], "lost"), fallback, dups,
               harness_summary(logs[i], "duplicates"), collector_max_gap(col, devices[i]));
        if (check_failed)
            harness_dump(logs[i]);
        json_decref(got);
    }
    long long redelivered = worker_stat(c, "w-2", "redelivered");
    printf("worker killed: the survivor got %lld redelivered frames; %.1f s from the kill to the "
           "end\n",
           redelivered, (double)(clock_mono_us() - killed) / 1e6);
    CHECK(redelivered > 0);
}

/* The node an edge and a worker are connected to is killed. */
static void node_killed(struct cluster *c, struct collector *col)
{
    /* w-n3 and the edge are on node 3 first: both must move on. */
    pid_t w1 = worker(c, "w-n1", 0, NULL), w3 = worker(c, "w-n3", 2, NULL);
    CHECK(w1 > 0 && w3 > 0);
    char log[400], wlog[400];
    snprintf(log, sizeof log, "%s/nk.log", c->dir);
    snprintf(wlog, sizeof wlog, "%s/w-n3.log", c->dir);
    pid_t e = edge(c, "nk", "3", 2, "1500", "100", log);
    CHECK(collector_wait(col, "nk", 300, 20000));
    cluster_kill(c, 2);
    CHECK_EQ_INT(harness_wait(e, 90000), 0);
    CHECK(collector_wait(col, "nk", 1500, 20000));
    json_t *got = collector_results(col, "nk");
    size_t dups = 0, fallback = 0;
    CHECK(results_at_least_once(got, 1500, &dups, &fallback));
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK(harness_wait_for_text(log, "MQTT-RECONNECT", 100));
    printf("node killed: 1500 frames, lost %lld, ran on the device %zu, duplicates %zu, longest "
           "gap %.2f s\n",
           harness_summary(log, "lost"), fallback, dups, collector_max_gap(col, "nk"));
    if (check_failed)
        harness_dump(log);
    json_decref(got);
    CHECK(harness_wait_for_text(wlog, "AMQP-RECONNECT", 10000)); /* on the next URL */
    CHECK_EQ_INT(harness_stop(w1, 10000), 0);
    CHECK_EQ_INT(harness_stop(w3, 10000), 0);
    if (check_failed)
        harness_dump(wlog);
}

int main(void)
{
    struct cluster c;
    if (!cluster_up(&c)) {
        fprintf(stderr, "cannot start the cluster\n");
        cluster_down(&c);
        return 1;
    }
    struct collector *col = collector_start(&c.node[0], "observer");
    CHECK(col != NULL);
    if (col) {
        pid_t a = worker(&c, "w-eq-a", 0, NULL), b = worker(&c, "w-eq-b", 1, NULL);
        CHECK(a > 0 && b > 0);
        split_equivalence(&c, col);
        CHECK_EQ_INT(harness_stop(a, 10000), 0);
        CHECK_EQ_INT(harness_stop(b, 10000), 0);
        fair_dispatch(&c, col);
        worker_killed(&c, col);
        node_killed(&c, col);
        collector_free(col);
    }
    cluster_down(&c);
    if (check_failed == 0)
        sh("rm -rf %s", c.dir);
    else
        fprintf(stderr, "logs kept in %s\n", c.dir);
    return check_exit();
}

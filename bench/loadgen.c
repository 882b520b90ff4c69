/* es-loadgen: a cheap load generator that plays a fleet of edge devices from one process, so
 * that a benchmark measures the broker and the workers rather than the devices.
 *
 * It runs the ball application's stages 0..K-1 on a few frames of the synthetic source once,
 * then, for D seconds, publishes for each simulated device sim-0001, sim-0002... R frames per
 * second on pipeline/stage/K/<device>: one of those frame states, re-encoded with the device's
 * id, the frame's seq (0, 1, ... per device) and the wall time of this publish as captured_us.
 * Publishes are spread evenly over each 1/R-second tick, device after device (to within 2 ms),
 * never in a burst. By default every device has its own MQTT connection (client id = device id),
 * as a real fleet has; --connections C shares C connections among the devices instead, which
 * costs the generator much less CPU (Paho polls every socket of the process on each wake-up:
 * at 200 devices x 10 frames/s one connection per device took ~50% of a core here, 8 connections
 * ~28%). With a broker list, connection i tries broker i mod n first. One more connection
 * subscribes to pipeline/results/+ and records, per device and seq, whether a result came back
 * and its latency (arrival wall time - captured_us).
 *
 * Output, one line on stdout: devices rate sent results lost dup p50_ms p99_ms results_per_s,
 * then extras: pub_fail (publishes the library refused; counted in lost), foreign (results not
 * for a frame of this run), late_max_ms (how far the generator fell behind its schedule),
 * gen_cpu_pct (this process, % of one core while publishing), payload_bytes, and pub_start_us,
 * pub_end_us (wall clock, for sampling the broker over the same window). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "registry.h"
#include "broker_list.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "mqtt_pub.h"
#include "result.h"
#include "source.h"
#include "topic.h"
#include "transport.h"
#include "wire.h"
#include "wire_batch.h"

#define MAX_DEVICES 4000       /* a socket each: the open-file limit is raised at start */
#define FD_MARGIN 64           /* open files besides the devices' sockets */
#define MAX_FRAMES 10000000ull /* devices x frames per device, 16 bytes of bookkeeping each */
#define BASE_FRAMES 4          /* distinct frame states the devices cycle through */
#define CONNECT_THREADS 8      /* connections opened (and closed) in parallel */
#define ID_PREFIX "sim-"
#define EARLY_US 2000 /* a frame due this soon goes now: one wake-up sends a few frames */

struct options {
    struct transport_opts broker; /* host list, port, version, TLS, credentials */
    long devices;
    double rate;
    double seconds;
    long split;
    double drain;
    long connections; /* 0: one per device */
    long qos;         /* of the frames published */
    long sub_qos;     /* of the results subscription; -1: as qos */
    long batch;       /* frames per message (a frame batch when > 1) */
    bool paho;        /* own connections through Paho, not the epoll publisher */
};

/* One MQTT connection, serving one device or, with --connections, several. */
struct conn {
    char id[TOPIC_ID_MAX + 1]; /* client id: the device's id, or loadgen-<pid>-<n> when shared */
    char *hosts;               /* the broker list, starting at this connection's broker */
    struct transport *tp;      /* Paho's connection, or NULL with the epoll publisher */
    size_t raw;                /* the connection's index in the epoll publisher */
};

struct device {
    char id[TOPIC_ID_MAX + 1];
    char topic[TOPIC_MAX];
    struct conn *conn;
};

/* What became of frame seq of one device. */
struct slot {
    int64_t captured_us; /* 0: not published */
    int32_t latency_us;  /* -1: no result yet */
};

struct loadgen {
    struct options o;
    const struct app *app;
    struct state base[BASE_FRAMES];
    struct device *dev;
    struct conn *conns;
    long nconns;
    struct mqtt_pub *raw; /* the devices' own connections, unless Paho serves them */
    uint64_t frames;      /* per device */
    struct slot *slots;
    struct transport *sub;
    char sub_id[TOPIC_ID_MAX + 1]; /* the subscriber's client id */
    pthread_mutex_t lock;          /* guards slots and the counters below */
    uint64_t sent, results, dup, foreign, pub_fail;
    int64_t first_pub_mono, last_result_mono;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* The help text on stdout (--help), or the reason and a one-line synopsis on stderr. */
static int usage(const char *why)
{
    if (why) {
        fprintf(stderr,
                "es-loadgen: %s\nusage: es-loadgen [--devices N] [--rate R] [--seconds D] "
                "[--split K] [--drain S] [--connections C] [--paho] [--host H:P[,...]] "
                "[--mqtt-version 3|5] (--help lists all)\n",
                why);
        return 2;
    }
    printf("usage: es-loadgen [OPTIONS]\n"
           "Simulates N edge devices publishing split-K ball frames and measures the results.\n"
           "  --devices N       simulated devices sim-0001.. (default 10, at most %d)\n"
           "  --rate R          frames per second per device (default 10)\n"
           "  --seconds D       publishing time (default 10)\n"
           "  --split K         stages 0..K-1 ran on the device (default 3)\n"
           "  --drain S         wait up to S seconds after the last publish (default 3)\n"
           "  --connections C   MQTT connections the devices share, device i on connection\n"
           "                    i mod C through Paho (default 0: one per device, client\n"
           "                    id = device id, served by one epoll loop; MQTT 3.1.1, no TLS)\n"
           "  --paho            one Paho connection per device instead of the epoll loop\n"
           "                    (costs far more CPU; for comparison, or with TLS)\n"
           "  --qos 0|1         QoS of the frames (default 1)\n"
           "  --sub-qos 0|1     QoS of the results subscription (default: as --qos)\n"
           "  --batch B         B frames of a device per message, a frame batch (default 1);\n"
           "                    each device then publishes R / B messages per second\n"
           "  --help            this text\n"
           "broker options:\n" CLI_BROKER_HELP,
           MAX_DEVICES);
    return 0;
}

enum {
    OPT_DEVICES = 1,
    OPT_RATE,
    OPT_SECONDS,
    OPT_SPLIT,
    OPT_DRAIN,
    OPT_CONNECTIONS,
    OPT_QOS,
    OPT_SUB_QOS,
    OPT_PAHO,
    OPT_BATCH,
    OPT_HELP
};

/* One option of the generator's own; ES_EINVAL with why set for a bad value. */
static enum es_err own_option(struct options *o, int opt, const char *arg, char *why, size_t n)
{
    enum es_err err = ES_EINVAL;
    switch (opt) {
    case OPT_DEVICES:
        if ((err = cli_parse_long(arg, 1, MAX_DEVICES, &o->devices)) != ES_OK)
            snprintf(why, n, "--devices must be 1..%d, got '%s'", MAX_DEVICES, arg);
        break;
    case OPT_RATE:
        if ((err = cli_parse_double(arg, 0.1, 1000, &o->rate)) != ES_OK)
            snprintf(why, n, "--rate must be 0.1..1000 frames/s, got '%s'", arg);
        break;
    case OPT_SECONDS:
        if ((err = cli_parse_double(arg, 0.1, 86400, &o->seconds)) != ES_OK)
            snprintf(why, n, "--seconds must be 0.1..86400, got '%s'", arg);
        break;
    case OPT_SPLIT:
        if ((err = cli_parse_long(arg, 1, STATE_MAX_STAGES - 1, &o->split)) != ES_OK)
            snprintf(why, n, "--split must be 1..%d, got '%s'", STATE_MAX_STAGES - 1, arg);
        break;
    case OPT_DRAIN:
        if ((err = cli_parse_double(arg, 0, 3600, &o->drain)) != ES_OK)
            snprintf(why, n, "--drain must be 0..3600 seconds, got '%s'", arg);
        break;
    case OPT_CONNECTIONS:
        if ((err = cli_parse_long(arg, 0, MAX_DEVICES, &o->connections)) != ES_OK)
            snprintf(why, n, "--connections must be 0..%d, got '%s'", MAX_DEVICES, arg);
        break;
    case OPT_QOS:
        if ((err = cli_parse_long(arg, 0, 1, &o->qos)) != ES_OK)
            snprintf(why, n, "--qos must be 0 or 1, got '%s'", arg);
        break;
    case OPT_SUB_QOS:
        if ((err = cli_parse_long(arg, 0, 1, &o->sub_qos)) != ES_OK)
            snprintf(why, n, "--sub-qos must be 0 or 1, got '%s'", arg);
        break;
    case OPT_BATCH:
        if ((err = cli_parse_long(arg, 1, WIRE_BATCH_MAX_FRAMES, &o->batch)) != ES_OK)
            snprintf(why, n, "--batch must be 1..%d, got '%s'", WIRE_BATCH_MAX_FRAMES, arg);
        break;
    case OPT_PAHO:
        o->paho = true;
        err = ES_OK;
        break;
    }
    return err;
}

/* True when the devices' own connections go through the epoll publisher. */
static bool use_raw(const struct options *o)
{
    return !o->paho && (!o->connections || o->connections >= o->devices);
}

/* The options the epoll publisher cannot honour; true with why set when one is given. */
static bool check_raw_options(const struct options *o, char *why, size_t n)
{
    const struct transport_opts *b = &o->broker;
    const char *opt = b->tls                 ? "--tls"
                      : b->cafile            ? "--cafile"
                      : b->certfile          ? "--cert"
                      : b->keyfile           ? "--key"
                      : b->tls_no_verify     ? "--insecure"
                      : b->tls_no_hostname   ? "--tls-no-hostname"
                      : b->password_file     ? "--password-file"
                      : b->mqtt_version == 5 ? "--mqtt-version 5"
                                             : NULL;
    if (!use_raw(o) || !opt)
        return false;
    snprintf(why, n,
             "%s needs Paho, but the devices' own connections are plain TCP from one epoll loop: "
             "add --connections C (C shared connections) or --paho (one Paho connection each)",
             opt);
    return true;
}

/* Parses the command line into o. Returns 0, or the exit status (2 for a bad command line, 0
 * after --help) when the program should stop. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"devices", required_argument, NULL, OPT_DEVICES},
        {"rate", required_argument, NULL, OPT_RATE},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"drain", required_argument, NULL, OPT_DRAIN},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"qos", required_argument, NULL, OPT_QOS},
        {"sub-qos", required_argument, NULL, OPT_SUB_QOS},
        {"paho", no_argument, NULL, OPT_PAHO},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"help", no_argument, NULL, OPT_HELP},
        CLI_BROKER_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.devices = 10,
                          .rate = 10,
                          .seconds = 10,
                          .split = 3,
                          .drain = 3,
                          .qos = 1,
                          .sub_qos = -1,
                          .batch = 1};
    char why[200] = "";
    if (cli_broker_defaults(&o->broker, why, sizeof why) != ES_OK)
        return usage(why);
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        enum es_err err = ES_EINVAL;
        if (opt == OPT_HELP) {
            usage(NULL);
            return -1;
        } else if (opt == '?') {
            return usage("bad option (see the line above)");
        } else if (opt >= CLI_HOST) {
            err = cli_broker_option(&o->broker, opt, optarg, why, sizeof why);
        } else {
            err = own_option(o, opt, optarg, why, sizeof why);
        }
        if (err != ES_OK)
            return usage(why[0] ? why : NULL);
    }
    if (optind < argc) {
        snprintf(why, sizeof why, "unexpected argument '%s'", argv[optind]);
        return usage(why);
    }
    const struct app *ball = app_find("ball");
    if (ball && o->split >= (long)ball->nstages) {
        snprintf(why, sizeof why, "--split must be 1..%u for the ball application, got %ld",
                 ball->nstages - 1, o->split);
        return usage(why);
    }
    return check_raw_options(o, why, sizeof why) ? usage(why) : 0;
}

/* Runs stages 0..K-1 over BASE_FRAMES frames of the synthetic source into g->base. */
static enum es_err make_base_states(struct loadgen *g)
{
    g->app = app_find("ball");
    if (!g->app)
        return ES_EAPP;
    struct source *src = NULL;
    enum es_err err = source_open(g->app->source_default, &src);
    for (unsigned i = 0; err == ES_OK && i < BASE_FRAMES; i++) {
        state_init(&g->base[i], g->app);
        struct stage_io io = {.st = &g->base[i], .source = src};
        err = app_run(&io, 0, (unsigned)g->o.split, NULL, NULL);
        json_decref(io.result);
        free(io.jpeg);
    }
    source_free(src);
    if (err != ES_OK)
        log_msg(LOG_ERROR, "LOADGEN-STAGES", "cannot run stages 0..%ld of ball: %s", g->o.split - 1,
                es_strerror(err));
    return err;
}

/* The broker list of opts, starting at entry first, as "H:P,H2:P2,...". NULL on failure. */
static char *rotated_hosts(const struct transport_opts *b, int first)
{
    struct broker_addr addr[BROKER_LIST_MAX];
    int n = 0;
    int port = b->port ? b->port : (b->tls ? 8883 : 1883);
    if (broker_list_parse(b->host, port, addr, BROKER_LIST_MAX, &n) != ES_OK || n < 1)
        return NULL;
    size_t cap = (size_t)n * (BROKER_HOST_MAX + 10) + 1, len = 0;
    char *s = malloc(cap);
    for (int i = 0; s && i < n; i++) {
        const struct broker_addr *a = &addr[(first + i) % n];
        const char *fmt = strchr(a->host, ':') ? "%s[%s]:%d" : "%s%s:%d";
        len += (size_t)snprintf(s + len, cap - len, fmt, i ? "," : "", a->host, a->port);
    }
    return s;
}

static int broker_count(const struct transport_opts *b)
{
    struct broker_addr addr[BROKER_LIST_MAX];
    int n = 0;
    return broker_list_parse(b->host, 1883, addr, BROKER_LIST_MAX, &n) == ES_OK ? n : 0;
}

struct connector {
    struct loadgen *g;
    unsigned first;
    enum es_err err;
};

/* Connects devices first, first + CONNECT_THREADS, ... */
static void *connect_some(void *arg)
{
    struct connector *c = arg;
    struct loadgen *g = c->g;
    for (long i = c->first; i < g->nconns && c->err == ES_OK && !stopping; i += CONNECT_THREADS) {
        struct conn *cn = &g->conns[i];
        struct transport_opts to = g->o.broker;
        to.host = cn->hosts;
        to.client_id = cn->id;
        to.role = "loadgen";
        c->err = transport_connect(&to, &cn->tp);
    }
    return NULL;
}

static void *close_some(void *arg)
{
    struct connector *c = arg;
    for (long i = c->first; i < c->g->nconns; i += CONNECT_THREADS) {
        transport_close(c->g->conns[i].tp);
        c->g->conns[i].tp = NULL;
    }
    return NULL;
}

/* Runs fn over the connections in CONNECT_THREADS threads; the first error of any. */
static enum es_err for_conns(struct loadgen *g, void *(*fn)(void *))
{
    struct connector c[CONNECT_THREADS];
    pthread_t th[CONNECT_THREADS];
    enum es_err err = ES_OK;
    unsigned started = 0;
    for (unsigned i = 0; i < CONNECT_THREADS; i++) {
        c[i] = (struct connector){g, i, ES_OK};
        if (pthread_create(&th[i], NULL, fn, &c[i]) != 0) {
            fn(&c[i]); /* no thread: do this share here */
            continue;
        }
        started |= 1u << i;
    }
    for (unsigned i = 0; i < CONNECT_THREADS; i++) {
        if (started & (1u << i))
            pthread_join(th[i], NULL);
        if (err == ES_OK)
            err = c[i].err;
    }
    return err;
}

/* The devices' own connections through the epoll publisher: connection i tries broker i mod n
 * of the list first, as with Paho. */
static enum es_err connect_raw(struct loadgen *g)
{
    const struct transport_opts *b = &g->o.broker;
    struct mqtt_pub_opts po = {.hosts = b->host,
                               .port = b->port,
                               .qos = (int)g->o.qos,
                               .keepalive_s = 60,
                               .username = b->username,
                               .password = b->password,
                               .stop = &stopping};
    enum es_err err = mqtt_pub_new(&po, &g->raw);
    for (long i = 0; err == ES_OK && i < g->nconns; i++)
        err = mqtt_pub_add(g->raw, g->conns[i].id, &g->conns[i].raw);
    return err == ES_OK ? mqtt_pub_connect(g->raw) : err;
}

/* One line of the epoll publisher's counts, after the drain. */
static void log_raw_stats(const struct loadgen *g)
{
    struct mqtt_pub_stats s;
    mqtt_pub_stats(g->raw, &s);
    log_msg(s.refused || s.lost || s.unacked ? LOG_WARN : LOG_INFO, "LOADGEN-PUB",
            "epoll publisher: %" PRIu64 " published, %" PRIu64 " refused, %" PRIu64
            " PUBACKs, %" PRIu64 " without PUBACK; %zu of %zu connections up, %zu lost",
            s.published, s.refused, s.acked, s.unacked, s.up, s.conns, s.lost);
}

/* The device index of id "sim-NNNN", or -1. */
static long device_index(const struct loadgen *g, const char *id)
{
    size_t plen = strlen(ID_PREFIX);
    long n = 0;
    if (strncmp(id, ID_PREFIX, plen) != 0 || cli_parse_long(id + plen, 1, g->o.devices, &n))
        return -1;
    return n - 1;
}

/* A result arrived (Paho's thread): records its frame's latency, a duplicate, or a stranger. */
static bool on_result(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct loadgen *g = arg;
    struct result_info r;
    (void)topic;
    int64_t now = clock_wall_us();
    bool ours = result_parse((const char *)payload, len, &r) == ES_OK;
    long d = ours ? device_index(g, r.device) : -1;
    pthread_mutex_lock(&g->lock);
    struct slot *s = d >= 0 && r.seq < g->frames ? &g->slots[(uint64_t)d * g->frames + r.seq] : 0;
    if (!s || s->captured_us == 0 || s->captured_us != r.captured_us) {
        g->foreign++;
    } else if (s->latency_us >= 0) {
        g->dup++;
    } else {
        int64_t lat = now - r.captured_us;
        s->latency_us = lat < 0 ? 0 : lat > INT32_MAX ? INT32_MAX : (int32_t)lat;
        g->results++;
        g->last_result_mono = clock_mono_us();
    }
    pthread_mutex_unlock(&g->lock);
    return true;
}

/* Encodes frame seq of device d from one of the base states into *buf, noting its capture time
 * before it is published (its result may beat the publish's return). */
static enum es_err encode_one(struct loadgen *g, long d, uint64_t seq, uint8_t **buf, size_t *cap,
                              size_t *len)
{
    struct state *st = &g->base[seq % BASE_FRAMES];
    snprintf(st->device, sizeof st->device, "%s", g->dev[d].id);
    st->seq = seq;
    st->captured_us = clock_wall_us();
    struct slot *s = &g->slots[(uint64_t)d * g->frames + seq];
    pthread_mutex_lock(&g->lock);
    s->captured_us = st->captured_us;
    g->sent++;
    pthread_mutex_unlock(&g->lock);
    return wire_encode(st, (unsigned)g->o.split, buf, cap, len);
}

/* Publishes frames seq0..seq0+n-1 of device d: alone (n 1), or as one frame batch into bt.
 * Returns the bytes published. */
static size_t publish_frames(struct loadgen *g, long d, uint64_t seq0, uint64_t n, uint8_t **buf,
                             size_t *cap, struct wire_batcher *bt)
{
    struct device *dv = &g->dev[d];
    size_t len = 0;
    enum es_err err = ES_OK;
    wire_batcher_clear(bt);
    for (uint64_t i = 0; i < n && err == ES_OK; i++) {
        err = encode_one(g, d, seq0 + i, buf, cap, &len);
        if (err == ES_OK && n > 1)
            err = wire_batcher_add(bt, *buf, len);
    }
    const uint8_t *msg = n > 1 ? bt->buf : *buf;
    len = n > 1 ? bt->len : len;
    if (err == ES_OK && g->raw)
        err = mqtt_pub_publish(g->raw, dv->conn->raw, dv->topic, msg, len);
    else if (err == ES_OK)
        err = transport_publish(dv->conn->tp, dv->topic, msg, len, (int)g->o.qos, false);
    if (err != ES_OK) {
        pthread_mutex_lock(&g->lock);
        g->pub_fail += n;
        pthread_mutex_unlock(&g->lock);
    }
    return len;
}

/* Sleeps until the monotonic time due (µs), then lets the epoll publisher handle what came
 * meanwhile (PUBACKs, writable sockets) in one go: cheaper than waking up for every ack. */
static void wait_until(struct loadgen *g, int64_t due)
{
    clock_sleep_us(due - clock_mono_us());
    if (g->raw)
        mqtt_pub_poll(g->raw, 0);
}

struct run_times {
    int64_t start_wall, end_wall, late_max_us, cpu_us;
    size_t payload;
};

/* The paced loop: message i of the whole run (device i mod N, its frames from B (i / N) on, B
 * of them, fewer in its last) goes out at start + i B / (N R) seconds, so each device publishes
 * every B/R s and the devices take turns evenly within the tick (to EARLY_US: waking up for
 * every message would cost the generator more than the broker). A generator behind its
 * schedule publishes at once and notes how late. */
static enum es_err publish_all(struct loadgen *g, struct run_times *rt)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    struct wire_batcher bt = {0};
    uint64_t b = (uint64_t)g->o.batch, per_device = (g->frames + b - 1) / b;
    uint64_t total = per_device * (uint64_t)g->o.devices;
    double step_us = 1e6 * (double)b / (g->o.rate * (double)g->o.devices);
    int64_t cpu0 = clock_process_cpu_us();
    int64_t t0 = clock_mono_us();
    rt->start_wall = clock_wall_us();
    pthread_mutex_lock(&g->lock);
    g->first_pub_mono = t0;
    pthread_mutex_unlock(&g->lock);
    for (uint64_t i = 0; i < total && !stopping; i++) {
        int64_t due = t0 + (int64_t)((double)i * step_us);
        int64_t now = clock_mono_us();
        if (due > now + EARLY_US) {
            wait_until(g, due);
        } else {
            if (now - due > rt->late_max_us)
                rt->late_max_us = now - due;
            if (g->raw && i % 64 == 0)
                mqtt_pub_poll(g->raw, 0); /* no sleep for a while: read the acks anyway */
        }
        uint64_t seq0 = i / (uint64_t)g->o.devices * b;
        uint64_t n = g->frames - seq0 < b ? g->frames - seq0 : b;
        len = publish_frames(g, (long)(i % (uint64_t)g->o.devices), seq0, n, &buf, &cap, &bt);
    }
    rt->end_wall = clock_wall_us();
    rt->cpu_us = clock_process_cpu_us() - cpu0;
    rt->payload = len;
    free(buf);
    wire_batcher_free(&bt);
    return ES_OK;
}

/* Waits up to the drain time for the results still missing. */
static void drain(struct loadgen *g)
{
    int64_t until = clock_mono_us() + (int64_t)(g->o.drain * 1e6);
    while (!stopping && clock_mono_us() < until) {
        pthread_mutex_lock(&g->lock);
        bool all = g->results + g->pub_fail >= g->sent;
        pthread_mutex_unlock(&g->lock);
        if (all)
            break;
        wait_until(g, clock_mono_us() + 10000);
    }
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Prints the summary line (called with the results subscription closed). */
static void report(struct loadgen *g, const struct run_times *rt)
{
    uint64_t total = g->frames * (uint64_t)g->o.devices, n = 0;
    int32_t *lat = malloc((g->results ? g->results : 1) * sizeof *lat);
    for (uint64_t i = 0; lat && i < total; i++)
        if (g->slots[i].latency_us >= 0)
            lat[n++] = g->slots[i].latency_us;
    double p50 = NAN, p99 = NAN;
    if (n) {
        qsort(lat, n, sizeof *lat, cmp_i32);
        p50 = lat[(n - 1) / 2] / 1e3;
        p99 = lat[(uint64_t)ceil(0.99 * (double)n) - 1] / 1e3;
    }
    free(lat);
    double span = (double)(g->last_result_mono - g->first_pub_mono) / 1e6;
    double pub_s = (double)(rt->end_wall - rt->start_wall) / 1e6;
    printf("devices=%ld rate=%g sent=%" PRIu64 " results=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64
           " p50_ms=%.1f p99_ms=%.1f results_per_s=%.1f pub_fail=%" PRIu64 " foreign=%" PRIu64
           " late_max_ms=%.1f gen_cpu_pct=%.1f payload_bytes=%zu"
           " pub_start_us=%" PRId64 " pub_end_us=%" PRId64 "\n",
           g->o.devices, g->o.rate, g->sent, g->results, g->sent - g->results, g->dup, p50, p99,
           g->results && span > 0 ? (double)g->results / span : 0.0, g->pub_fail, g->foreign,
           (double)rt->late_max_us / 1e3, pub_s > 0 ? (double)rt->cpu_us / 1e4 / pub_s : 0.0,
           rt->payload, rt->start_wall, rt->end_wall);
    fflush(stdout);
}

/* The devices' names, topics and broker lists, and the frame bookkeeping. */
static enum es_err plan(struct loadgen *g)
{
    g->frames = (uint64_t)llround(g->o.rate * g->o.seconds);
    if (g->frames < 1)
        g->frames = 1;
    if (g->frames * (uint64_t)g->o.devices > MAX_FRAMES) {
        fprintf(stderr, "es-loadgen: devices x rate x seconds exceeds %llu frames\n",
                (unsigned long long)MAX_FRAMES);
        return ES_ELIMIT;
    }
    int nb = broker_count(&g->o.broker);
    g->nconns =
        g->o.connections && g->o.connections < g->o.devices ? g->o.connections : g->o.devices;
    g->dev = calloc((size_t)g->o.devices, sizeof *g->dev);
    g->conns = calloc((size_t)g->nconns, sizeof *g->conns);
    g->slots = malloc(g->frames * (uint64_t)g->o.devices * sizeof *g->slots);
    if (!g->dev || !g->conns || !g->slots || nb < 1)
        return nb < 1 ? ES_EINVAL : ES_ENOMEM;
    for (uint64_t i = 0; i < g->frames * (uint64_t)g->o.devices; i++)
        g->slots[i] = (struct slot){0, -1};
    for (long i = 0; i < g->o.devices; i++) {
        struct device *d = &g->dev[i];
        snprintf(d->id, sizeof d->id, ID_PREFIX "%04ld", i + 1);
        d->conn = &g->conns[i % g->nconns];
        if (topic_stage(d->topic, sizeof d->topic, (unsigned)g->o.split, d->id) != ES_OK)
            return ES_EINVAL;
    }
    for (long i = 0; i < g->nconns; i++) {
        struct conn *c = &g->conns[i];
        if (g->nconns == g->o.devices)
            snprintf(c->id, sizeof c->id, "%s", g->dev[i].id);
        else
            snprintf(c->id, sizeof c->id, "loadgen-%ld-%ld", (long)getpid(), i + 1);
        if (!(c->hosts = rotated_hosts(&g->o.broker, (int)(i % nb))))
            return ES_ENOMEM;
    }
    return ES_OK;
}

/* The results subscriber: pipeline/results/+ on the first broker of the list. */
static enum es_err subscribe_results(struct loadgen *g)
{
    char filter[TOPIC_MAX];
    snprintf(g->sub_id, sizeof g->sub_id, "loadgen-%ld", (long)getpid());
    struct transport_opts to = g->o.broker;
    to.client_id = g->sub_id;
    to.role = "loadgen";
    to.on_msg = on_result;
    to.arg = g;
    enum es_err err = transport_connect(&to, &g->sub);
    /* topic.c spells the topics: pipeline/results/<id> with its id replaced by '+' */
    if (err == ES_OK)
        err = topic_results(filter, sizeof filter, "x");
    if (err == ES_OK) {
        filter[strlen(filter) - 1] = '+';
        err =
            transport_subscribe(g->sub, filter, (int)(g->o.sub_qos < 0 ? g->o.qos : g->o.sub_qos));
    }
    return err;
}

static void teardown(struct loadgen *g)
{
    if (g->raw) {
        mqtt_pub_close(g->raw, 2000000);
        mqtt_pub_free(g->raw);
        g->raw = NULL;
    }
    if (g->conns) {
        if (!use_raw(&g->o))
            for_conns(g, close_some);
        for (long i = 0; i < g->nconns; i++)
            free(g->conns[i].hosts);
    }
    free(g->conns);
    free(g->dev);
    free(g->slots);
    for (unsigned i = 0; i < BASE_FRAMES; i++)
        state_release(&g->base[i]);
    pthread_mutex_destroy(&g->lock);
}

static enum es_err run(struct loadgen *g)
{
    struct run_times rt = {0};
    enum es_err err = plan(g);
    if (err == ES_OK)
        err = make_base_states(g);
    if (err == ES_OK)
        err = subscribe_results(g);
    int64_t t0 = clock_mono_us();
    if (err == ES_OK)
        err = use_raw(&g->o) ? connect_raw(g) : for_conns(g, connect_some);
    if (err != ES_OK)
        return err;
    log_msg(LOG_INFO, "LOADGEN-READY",
            "%ld devices on %ld connections (%s), connected in %.1f s; publishing for %g s",
            g->o.devices, g->nconns, g->raw ? "one epoll loop, MQTT 3.1.1" : "Paho",
            (double)(clock_mono_us() - t0) / 1e6, g->o.seconds);
    publish_all(g, &rt);
    drain(g);
    if (g->raw) {
        /* a result can come back before its frame's PUBACK is read: read what is still due */
        mqtt_pub_flush(g->raw, 2000000);
        log_raw_stats(g);
    }
    transport_close(g->sub); /* no result callback runs after this */
    g->sub = NULL;
    report(g, &rt);
    return ES_OK;
}

/* Raises the soft limit of open files to the hard limit. ES_ELIMIT (said why) when it still
 * leaves no socket for every connection. */
static enum es_err raise_file_limit(const struct options *o)
{
    long conns = o->connections && o->connections < o->devices ? o->connections : o->devices;
    rlim_t need = (rlim_t)conns + FD_MARGIN;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return ES_OK; /* nothing known: the connects will say it */
    struct rlimit want = {rl.rlim_max, rl.rlim_max};
    if (rl.rlim_cur < rl.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0)
        rl.rlim_cur = rl.rlim_max;
    want.rlim_cur = need; /* a hard limit of "unlimited" may refuse a soft one as high */
    if (rl.rlim_cur < need && rl.rlim_max >= need && setrlimit(RLIMIT_NOFILE, &want) == 0)
        rl.rlim_cur = need;
    if (rl.rlim_cur >= need)
        return ES_OK;
    fprintf(stderr,
            "es-loadgen: %ld connections need about %llu open files, but the limit is %llu "
            "(ulimit -Hn): raise the hard limit, or share connections with --connections C\n",
            conns, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
    return ES_ELIMIT;
}

int main(int argc, char **argv)
{
    struct loadgen g = {0};
    int rc = parse_options(argc, argv, &g.o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (raise_file_limit(&g.o) != ES_OK)
        return 1;
    pthread_mutex_init(&g.lock, NULL);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    enum es_err err = run(&g);
    transport_close(g.sub);
    teardown(&g);
    if (err != ES_OK) {
        fprintf(stderr, "es-loadgen: %s\n", es_strerror(err));
        return 1;
    }
    return 0;
}

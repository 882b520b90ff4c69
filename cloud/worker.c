#include "worker.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "registry.h"
#include "clock.h"
#include "log.h"
#include "fairq.h"
#include "json_frame.h"
#include "meter.h"
#include "result.h"
#include "topic.h"
#include "wire.h"
#include "wire_batch.h"

#define QUEUE_MSGS 4096
#define QUEUE_BYTES (512u * 1024u * 1024u)
/* The window of the per-device processing-time budget. */
#define CPU_WINDOW_US 1000000
#define ALL_STAGES 0xfffeu
/* Frame states a thread keeps, one per known application (app_all order). */
#define MAX_APPS APP_MAX
/* On stop: how long nothing may arrive before the queue is closed, and the longest wait. */
#define DRAIN_QUIET_US 200000
#define DRAIN_MAX_US 5000000
/* Behind: the oldest queued frame has waited this long, or the worker did not run for this long
 * (an edge's shortest deadline is 250 ms). It then leaves the share group until its queue is
 * empty and it kept up for REJOIN_US. */
#define BEHIND_US 200000
#define REJOIN_US 1000000
#define SERVE_TICK_US 10000
/* How often the worker publishes its load (pipeline/stats/<worker-id>) for dashboards and the
 * fleet planner; its status tells the load again when it moved by LOAD_RESTATE of the capacity
 * or the worker became saturated or stopped being so. */
#define LOAD_PERIOD_US 2000000
#define LOAD_RESTATE 0.1
/* The running mean of a thread's cost of encoding and publishing a result: weight of a new one. */
#define TAIL_WEIGHT 0.2
/* The MQTT keepalive unless --keepalive says otherwise: a worker whose link goes silent notices
 * within twice this, then reconnects (the frames sent into the dead link are the edges' to send
 * again). */
#define WORKER_KEEPALIVE_S 5

struct worker {
    const struct worker_opts *o;
    struct bus *bus;
    struct fairq *q;
    atomic_ullong received;  /* messages taken into the queue */
    atomic_ullong frames_in; /* frames in them (a batch holds several) */
    atomic_ullong processed; /* results published */
    atomic_ullong malformed;
    atomic_ullong forged; /* payload of another device than the topic's */
    struct log_limit malformed_log, forged_log, budget_log;
    atomic_ullong failed;       /* a stage failed */
    atomic_ullong unpublished;  /* the result could not be published (not connected) */
    atomic_ullong stage_cpu_us; /* CPU time the threads spent in the stages */
    struct meter *meter;        /* the frames' cloud CPU and the worker's load */
    struct meter_load load;     /* the last period's (main thread only) */
    bool load_stated;           /* the status carries stated (main thread only) */
    struct meter_load stated;
    bool serving; /* subscribed to the stage topics (main thread only) */
    int64_t behind_since_us;
    int64_t rejoin_us;    /* not before: behind again resets it */
    int64_t last_tick_us; /* the serving loop's last turn */
    unsigned long long behind_processed;
};

/* What one processing thread keeps between messages: a frame state per application. */
struct thread_ctx {
    struct worker *w;
    struct state states[MAX_APPS];
    char text[RESULT_MAX_BYTES + 1]; /* the result being published */
    int64_t cpu0_us;                 /* the thread's CPU time when the message was taken */
    int64_t stage_cpu_us;            /* of the message, in the stages */
    bool frame;                      /* the message gave a result */
    double tail_us;                  /* running mean: encoding and publishing a result */
};

/* Queues a frame in its device's queue (the device in its topic); a frame over its device's
 * budget is dropped and counted. */
static bool on_stage_msg(void *arg, const char *topic, const uint8_t *payload, size_t len,
                         uint64_t tag)
{
    struct worker *w = arg;
    unsigned k;
    char device[TOPIC_ID_MAX + 1] = "";
    topic_parse_stage(topic, &k, device); /* a bad topic: no device, rejected when processed */
    enum fairq_push_result res = fairq_push(w->q, device, topic, payload, len, tag);
    if (res == FAIRQ_FULL)
        return false; /* the bus delivers it again later */
    atomic_fetch_add(&w->received, 1);
    /* for the meter's share of the receiving per frame; a batch that lies about its count is
     * dropped when it is read */
    atomic_fetch_add(&w->frames_in, wire_batch_frames(payload, len));
    if (res == FAIRQ_OVER_BUDGET) {
        bus_drop(w->bus, tag);
        log_limited(&w->budget_log, LOG_WARN, "WORKER-OVER-BUDGET",
                    "device %s is over its budget (%zu frames queued or %.0f%% of the worker's "
                    "time): frame on %s dropped",
                    device[0] ? device : "(none)", w->o->device_frames, w->o->device_share * 100,
                    topic);
    }
    return true;
}

/* Counts and drops a message; the log lines are rate limited, since a peer chooses how many
 * such messages it sends. */
static void reject(struct worker *w, const struct msg *m, uint64_t tag, bool forged,
                   const char *why)
{
    bus_drop(w->bus, tag);
    if (forged) {
        atomic_fetch_add(&w->forged, 1);
        log_limited(&w->forged_log, LOG_WARN, "WORKER-FORGED", "dropped message on %s: %s",
                    m->topic, why);
        return;
    }
    atomic_fetch_add(&w->malformed, 1);
    log_limited(&w->malformed_log, LOG_WARN, "WORKER-MALFORMED",
                "dropped malformed message on %s (%zu bytes): %s", m->topic, m->len, why);
}

static struct state *state_for(struct thread_ctx *c, const struct app *app)
{
    const struct app *const *all = app_all();
    for (unsigned i = 0; all[i] && i < MAX_APPS; i++) {
        if (all[i] != app)
            continue;
        if (!c->states[i].app)
            state_init(&c->states[i], app);
        return &c->states[i];
    }
    return NULL;
}

static enum es_err publish_result(struct thread_ctx *c, struct state *st, struct stage_io *io,
                                  unsigned k, uint64_t tag)
{
    struct worker *w = c->w;
    char topic[TOPIC_MAX];
    int64_t cpu = clock_thread_cpu_us();
    struct result_meta m = {
        .device = st->device,
        .seq = st->seq,
        .split = k,
        .captured_us = st->captured_us,
        .completed_us = clock_wall_us(),
        .worker = w->o->worker_id,
        .stage_us = st->stage_us,
        .nstages = st->app->nstages,
        .cloud_cpu_us = meter_frame_cost(w->meter, cpu - c->cpu0_us, c->stage_cpu_us, c->tail_us),
    };
    size_t len = 0;
    enum es_err err = result_format(io->result, &m, c->text, sizeof c->text, &len);
    if (err == ES_OK)
        err = topic_results(topic, sizeof topic, st->device);
    if (err == ES_OK)
        err = bus_reply(w->bus, tag, topic, c->text, len);
    /* The picture is best effort (QoS 0); the result is what the edge waits for. */
    if (err == ES_OK && io->jpeg && topic_frames(topic, sizeof topic, st->device) == ES_OK)
        bus_publish(w->bus, topic, io->jpeg, io->jpeg_len);
    double tail = (double)(clock_thread_cpu_us() - cpu);
    c->tail_us = c->tail_us > 0 ? (1 - TAIL_WEIGHT) * c->tail_us + TAIL_WEIGHT * tail : tail;
    return err;
}

/* Checks and decodes one frame (a message, or a frame of a batch: p[0..len-1]) into a
 * thread's state. Returns NULL on success, else why the frame is dropped (pointing into why or a
 * constant); *forged is set when the payload speaks for another device than the one whose topic
 * it came on. */
static const char *decode(struct thread_ctx *c, const struct msg *m, const uint8_t *p, size_t len,
                          unsigned *k, struct state **out, bool *forged, char *why, size_t whylen)
{
    struct wire_header hdr;
    char device[TOPIC_ID_MAX + 1];
    if (topic_parse_stage(m->topic, k, device) != ES_OK)
        return "not a stage topic";
    enum es_err err = wire_peek(p, len, &hdr);
    if (err != ES_OK)
        return es_strerror(err);
    if (strcmp(hdr.device, device) != 0) {
        *forged = true;
        snprintf(why, whylen, "frame of device '%s' on the topic of device '%s'", hdr.device,
                 device);
        return why;
    }
    const struct app *app = app_find(hdr.app);
    struct state *st = app ? state_for(c, app) : NULL;
    if (!st) {
        snprintf(why, whylen, "unknown application '%s'", hdr.app);
        return why;
    }
    if (hdr.split != *k) {
        snprintf(why, whylen, "frame for split %u on the topic of split %u", hdr.split, *k);
        return why;
    }
    err = wire_decode_ex(p, len, st, why, whylen);
    if (err != ES_OK)
        return why[0] ? why : es_strerror(err);
    *out = st;
    return NULL;
}

/* Runs one frame and publishes its result; tag settles the message it came in (0: a frame of a
 * batch but its last, which settles nothing). */
static void process(struct thread_ctx *c, const struct msg *m, const uint8_t *p, size_t len,
                    uint64_t tag)
{
    struct worker *w = c->w;
    unsigned k = 0;
    struct state *st = NULL;
    bool forged = false;
    char why[200] = "";
    const char *bad = decode(c, m, p, len, &k, &st, &forged, why, sizeof why);
    if (bad) {
        reject(w, m, tag, forged, bad);
        return;
    }
    struct stage_io io = {.st = st};
    int64_t cpu0 = clock_thread_cpu_us();
    enum es_err err = app_run(&io, k, st->app->nstages, NULL, NULL);
    int64_t cpu = clock_thread_cpu_us() - cpu0;
    fairq_charge(w->q, m->device, cpu, clock_mono_us());
    atomic_fetch_add(&w->stage_cpu_us, (unsigned long long)(cpu > 0 ? cpu : 0));
    c->stage_cpu_us = cpu > 0 ? cpu : 0;
    /* An emulated slower machine: its stages need slowdown times the CPU (waits for a core on a
     * shared machine are not stretched). */
    if (w->o->slowdown > 1)
        clock_sleep_us((int64_t)((w->o->slowdown - 1) * (double)c->stage_cpu_us));
    if (err == ES_OK) {
        /* Not published (the broker is away): the edge runs the frame itself after its
         * deadline (or, over AMQP, the broker hands it to a worker again), so the frame is
         * counted, not retried here. */
        c->frame = publish_result(c, st, &io, k, tag) == ES_OK;
        if (c->frame)
            atomic_fetch_add(&w->processed, 1);
        else
            atomic_fetch_add(&w->unpublished, 1);
    } else {
        bus_drop(w->bus, tag);
        atomic_fetch_add(&w->failed, 1);
        log_msg(LOG_ERROR, "WORKER-STAGE", "frame %s/%llu failed at split %u: %s", st->device,
                (unsigned long long)st->seq, k, es_strerror(err));
    }
    json_decref(io.result);
    free(io.jpeg);
}

/* One frame, with its CPU and time accounted as the frame's. */
static void run_frame(struct thread_ctx *c, const struct msg *m, const uint8_t *p, size_t len,
                      uint64_t tag)
{
    int64_t t0 = clock_mono_us();
    c->cpu0_us = clock_thread_cpu_us();
    c->stage_cpu_us = 0;
    c->frame = false;
    json_frame_begin(); /* the frame's JSON values live until its end */
    process(c, m, p, len, tag);
    json_frame_end();
    meter_frame_done(c->w->meter, clock_thread_cpu_us() - c->cpu0_us, c->stage_cpu_us,
                     clock_mono_us() - t0, c->frame);
}

/* The frames of a batch, each as if it had come alone, straight from the message's bytes; the
 * last one settles the message. A batch whose container is malformed is dropped whole. */
static void run_batch(struct thread_ctx *c, const struct msg *m)
{
    struct wire_batch b;
    char why[160] = "";
    if (wire_batch_open(m->payload, m->len, &b, why, sizeof why) != ES_OK) {
        reject(c->w, m, m->tag, false, why);
        return;
    }
    const uint8_t *p;
    size_t len;
    while (wire_batch_next(&b, &p, &len))
        run_frame(c, m, p, len, b.taken == b.count ? m->tag : 0);
}

static void *thread_main(void *arg)
{
    struct thread_ctx *c = arg;
    struct msg *m;
    while ((m = fairq_pop(c->w->q)) != NULL) {
        if (wire_is_batch(m->payload, m->len))
            run_batch(c, m);
        else
            run_frame(c, m, m->payload, m->len, m->tag);
        fairq_release(c->w->q, m);
    }
    for (unsigned i = 0; i < MAX_APPS; i++)
        state_release(&c->states[i]);
    return NULL;
}

/* Takes the frames of the stages served, and tells the edges. */
static enum es_err join(struct worker *w)
{
    enum es_err err = bus_serve(w->bus, w->o->stages & ALL_STAGES);
    w->serving = err == ES_OK;
    return err;
}

/* Tells the edges it serves nothing and stops taking frames; frames already handed over still
 * arrive and are processed. */
static void leave(struct worker *w)
{
    bus_unserve(w->bus);
    w->serving = false;
}

static void log_stats(struct worker *w)
{
    log_msg(LOG_INFO, "WORKER-STATS",
            "processed %llu, malformed %llu, forged %llu, over_budget %llu, failed %llu, "
            "unpublished %llu, queued %zu, redelivered %llu, stage_cpu_us %llu",
            (unsigned long long)atomic_load(&w->processed),
            (unsigned long long)atomic_load(&w->malformed),
            (unsigned long long)atomic_load(&w->forged), (unsigned long long)fairq_dropped(w->q),
            (unsigned long long)atomic_load(&w->failed),
            (unsigned long long)atomic_load(&w->unpublished), fairq_depth(w->q),
            (unsigned long long)bus_redelivered(w->bus),
            (unsigned long long)atomic_load(&w->stage_cpu_us));
}

/* States the load in the worker's status when it moved enough since it was last stated. A
 * worker that left its share group because it fell behind is saturated too. */
static void state_load(struct worker *w)
{
    const struct meter_load *l = &w->load, *was = &w->stated;
    bool saturated = l->saturated || (!w->serving && w->behind_since_us > 0);
    double step = LOAD_RESTATE * l->capacity_cpu_s;
    if (w->load_stated && saturated == was->saturated &&
        fabs(l->capacity_cpu_s - was->capacity_cpu_s) < step &&
        fabs(l->used_cpu_s - was->used_cpu_s) < step)
        return;
    bus_set_load(w->bus, l->capacity_cpu_s, l->used_cpu_s, saturated);
    w->stated = *l;
    w->stated.saturated = saturated;
    w->load_stated = true;
}

static double rounded(double v, double scale)
{
    return round(v * scale) / scale;
}

/* Ends a load period, states the load in the status when it moved, and publishes the load report
 * (best effort, QoS 0) on pipeline/stats/<worker-id>: {"role":"worker", ...}. */
static void publish_load(struct worker *w, unsigned long long *processed_before)
{
    meter_period(w->meter, clock_mono_us(), clock_process_cpu_us(), clock_thread_cpu_us(),
                 atomic_load(&w->frames_in), &w->load);
    const struct meter_load *l = &w->load;
    char topic[TOPIC_MAX];
    if (l->window_s <= 0 || topic_stats(topic, sizeof topic, w->o->worker_id) != ES_OK)
        return;
    state_load(w);
    unsigned long long processed = atomic_load(&w->processed);
    json_frame_begin(); /* like a frame's: no allocation once warm */
    json_t *stages = json_array();
    for (unsigned k = 1; k < STATE_MAX_STAGES && stages; k++)
        if (w->serving && (w->o->stages & (1u << k)))
            json_array_append_new(stages, json_integer(k));
    json_t *obj =
        json_pack("{s:s,s:s,s:f,s:I,s:f,s:I,s:i,s:f,s:I,s:o?,s:f,s:f,s:f,s:I,s:b}", "role",
                  "worker", "worker", w->o->worker_id, "window_s", rounded(l->window_s, 1000),
                  "processed", (json_int_t)processed, "results_per_s",
                  rounded((double)(processed - *processed_before) / l->window_s, 10), "queued",
                  (json_int_t)fairq_depth(w->q), "threads", (int)w->o->threads, "busy",
                  rounded(l->busy, 1000), "redelivered", (json_int_t)bus_redelivered(w->bus),
                  "stages", stages, "capacity_cpu_s", rounded(l->capacity_cpu_s, 1000),
                  "used_cpu_s", rounded(l->used_cpu_s, 1000), "cpu_s_per_s",
                  rounded(l->cpu_s_per_s, 1000), "cpu_us_per_frame",
                  (json_int_t)round(l->cpu_us_per_frame), "saturated", (int)w->stated.saturated);
    char text[1024];
    size_t len = 0;
    if (obj && result_dump_into(obj, text, sizeof text, &len) == ES_OK)
        bus_publish(w->bus, topic, text, len);
    json_decref(obj);
    json_frame_end();
    *processed_before = processed;
}

/* Why the worker is behind now, or NULL: a frame waited too long in its queue, or the worker
 * itself did not run for a while (starved of CPU, or stopped), so the frames the broker sent
 * it meanwhile waited in its socket. */
static const char *behind(struct worker *w, int64_t now, char *why, size_t n)
{
    int64_t waited = fairq_oldest_wait_us(w->q, now), late = now - w->last_tick_us;
    w->last_tick_us = now;
    if (waited > BEHIND_US)
        snprintf(why, n, "oldest of %zu queued frames waited %.0f ms", fairq_depth(w->q),
                 (double)waited / 1e3);
    else if (late > BEHIND_US)
        snprintf(why, n, "the worker did not run for %.0f ms", (double)late / 1e3);
    else
        return NULL;
    return why;
}

/* Leaves the share group while the worker is behind, so the broker hands frames to the other
 * workers (or the edges run them), and joins again once its queue is empty and it kept up for
 * REJOIN_US. One line when it falls behind and one when it caught up. */
static void keep_up(struct worker *w)
{
    int64_t now = clock_mono_us();
    char why[128];
    const char *reason = behind(w, now, why, sizeof why);
    if (reason && w->serving) {
        log_msg(LOG_WARN, "WORKER-BEHIND", "%s: leaving the share group until it caught up",
                reason);
        w->behind_since_us = now;
        w->behind_processed = atomic_load(&w->processed);
        leave(w);
    }
    if (reason)
        w->rejoin_us = now + REJOIN_US;
    if (!w->serving && now >= w->rejoin_us && fairq_depth(w->q) == 0 && bus_connected(w->bus) &&
        join(w) == ES_OK)
        log_msg(LOG_INFO, "WORKER-CAUGHT-UP",
                "kept up for %.1f s after %.1f s behind (%llu frames processed meanwhile): serving "
                "again",
                (double)REJOIN_US / 1e6, (double)(now - w->behind_since_us) / 1e6,
                atomic_load(&w->processed) - w->behind_processed);
}

/* Waits for a stop signal, keeping up with the queue and logging stats now and then. Returns
 * ES_ESTOPPED when another client took the worker id over. */
static enum es_err serve(struct worker *w, const volatile sig_atomic_t *stop)
{
    int64_t next = clock_mono_us() + (int64_t)(w->o->stats_s * 1e6);
    unsigned long long last = 0;
    unsigned long long load_processed = atomic_load(&w->processed);
    int64_t load_at = clock_mono_us();
    publish_load(w, &load_processed); /* starts the first period */
    sig_atomic_t reload_seen = w->o->reload ? *w->o->reload : 0;
    w->last_tick_us = clock_mono_us();
    while (!*stop) {
        if (bus_taken_over(w->bus))
            return ES_ESTOPPED;
        clock_sleep_us(SERVE_TICK_US);
        if (w->o->reload && *w->o->reload != reload_seen && w->o->reread) {
            reload_seen = *w->o->reload;
            bool ok = w->o->reread(w->o->reread_arg);
            log_msg(ok ? LOG_INFO : LOG_WARN, "WORKER-RELOAD", "%s",
                    ok ? "configuration read again (log level)"
                       : "configuration not reloaded: it is invalid now (see above)");
        }
        if (!bus_paced(w->bus))
            keep_up(w); /* over AMQP the broker paces each worker by its acknowledgements */
        if (clock_mono_us() - load_at >= LOAD_PERIOD_US) {
            load_at = clock_mono_us();
            publish_load(w, &load_processed);
        }
        if (w->o->stats_s <= 0 || clock_mono_us() < next)
            continue;
        next += (int64_t)(w->o->stats_s * 1e6);
        unsigned long long now = atomic_load(&w->processed) + atomic_load(&w->malformed);
        if (now != last)
            log_stats(w);
        last = now;
    }
    return ES_OK;
}

/* Stops taking work without dropping any: leaves the share group, so the broker hands later
 * frames to the other workers, then waits until what it had already sent is queued (nothing new
 * for DRAIN_QUIET_US and the queue empty, or DRAIN_MAX_US in all). */
static void drain(struct worker *w)
{
    if (w->serving)
        leave(w);
    int64_t start = clock_mono_us(), quiet_since = start;
    unsigned long long seen = atomic_load(&w->received);
    while (clock_mono_us() - start < DRAIN_MAX_US) {
        clock_sleep_us(20000);
        unsigned long long now = atomic_load(&w->received);
        if (now != seen) {
            seen = now;
            quiet_since = clock_mono_us();
        } else if (fairq_depth(w->q) == 0 && clock_mono_us() - quiet_since >= DRAIN_QUIET_US) {
            break;
        }
    }
    log_msg(LOG_INFO, "WORKER-DRAINED", "no longer subscribed; %zu frames still queued",
            fairq_depth(w->q));
}

enum es_err worker_run(const struct worker_opts *opts, const volatile sig_atomic_t *stop)
{
    struct worker w = {.o = opts,
                       .malformed_log = {.period_us = 10000000, .burst = 5},
                       .forged_log = {.period_us = 10000000, .burst = 5},
                       .budget_log = {.period_us = 10000000, .burst = 5}};
    struct thread_ctx *ctx = calloc(opts->threads, sizeof *ctx);
    pthread_t *tids = calloc(opts->threads, sizeof *tids);
    unsigned started = 0;
    enum es_err err = ES_ENOMEM;
    struct fairq_config qc = {
        .max_msgs = QUEUE_MSGS,
        .max_bytes = QUEUE_BYTES,
        .device_max = opts->device_frames,
        .cpu_budget_us = (int64_t)(opts->device_share * opts->threads * CPU_WINDOW_US),
        .cpu_window_us = CPU_WINDOW_US,
    };
    w.q = fairq_new(&qc);
    w.meter =
        meter_new(&(struct meter_config){.threads = opts->threads, .slowdown = opts->slowdown});
    if (!ctx || !tids || !w.q || !w.meter)
        goto cleanup;
    for (; started < opts->threads; started++) {
        ctx[started].w = &w;
        if (pthread_create(&tids[started], NULL, thread_main, &ctx[started]) != 0)
            goto cleanup;
    }
    struct bus_opts bo = {.mqtt = opts->broker,
                          .amqp = opts->amqp,
                          .client_id = opts->worker_id,
                          .group = opts->group,
                          .qos = opts->qos,
                          .prefetch = opts->prefetch,
                          .on_frame = on_stage_msg,
                          .arg = &w};
    if (bo.mqtt.keepalive_s <= 0)
        bo.mqtt.keepalive_s = WORKER_KEEPALIVE_S;
    err = bus_connect(&bo, &w.bus);
    if (err == ES_OK)
        err = join(&w);
    if (err != ES_OK)
        goto cleanup;
    log_msg(LOG_INFO, "WORKER-READY", "worker %s serving on %s with %u threads", opts->worker_id,
            bus_uri(w.bus), opts->threads);
    err = serve(&w, stop);
    if (err == ES_OK)
        drain(&w);
cleanup:
    if (w.q)
        fairq_close(w.q);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    if (err == ES_OK)
        log_stats(&w);
    bus_close(w.bus);
    fairq_free(w.q);
    meter_free(w.meter);
    free(ctx);
    free(tids);
    return err;
}

#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_impl.h"
#include "clock.h"
#include "json_frame.h"
#include "log.h"
#include "registry.h"
#include "result.h"

/* The store-and-forward buffer's byte bound in memory (its entry bound is --buffer). */
#define SPOOL_MAX_BYTES (64u * 1024u * 1024u)
/* The MQTT keepalive unless --keepalive says otherwise: Paho pings the broker after this long
 * without hearing from it and gives the connection up when the ping is not answered within as
 * long again, so a link that goes silent is noticed within 2 x 2 s. */
#define EDGE_KEEPALIVE_S 2
/* How long a starting edge waits for workers to answer its hello (ask_workers). */
#define HELLO_WAIT_US 300000

/* Device-only: the result goes to stdout as one JSON line. */
static enum es_err emit_local(struct agent *a, struct stage_io *io)
{
    struct result_meta m = {
        .device = a->o->device_id,
        .seq = a->st->seq,
        .split = 0,
        .captured_us = a->st->captured_us,
        .completed_us = clock_wall_us(),
        .worker = NULL,
        .stage_us = a->st->stage_us,
        .nstages = a->app->nstages,
    };
    size_t len = 0;
    enum es_err err = result_format(io->result, &m, a->result_text, sizeof a->result_text, &len);
    if (err != ES_OK)
        return err;
    a->result_text[len] = '\n';
    fwrite(a->result_text, 1, len + 1, stdout);
    accounts_add_output(a->acc, clock_mono_us());
    return ES_OK;
}

static void update_slowdown(struct agent *a)
{
    bool off = a->sig->slowdown_off != 0;
    if (off != a->slowdown_off) {
        a->slowdown_off = off;
        log_msg(LOG_INFO, "EDGE-SLOWDOWN", "emulated slowdown %s (SIGUSR1)",
                off ? "suspended" : "resumed");
    }
    a->slow.factor = stage_slowdown_now(&a->o->slowdown, &a->sig->slowdown_off, a->t0_us);
    a->slow.sleep = a->o->slowdown.sleep;
}

/* After SIGHUP: reads the configuration again and applies what can change while running, the
 * goal (automatic mode) and the log level. */
static void maybe_reload(struct agent *a)
{
    sig_atomic_t r = a->sig->reload;
    if (r == a->reload_seen || !a->sig->reread)
        return;
    a->reload_seen = r;
    struct edge_opts fresh;
    if (!a->sig->reread(a->sig->reread_arg, &fresh)) {
        log_msg(LOG_WARN, "EDGE-RELOAD",
                "configuration not reloaded: it is invalid now (see "
                "above); keeping the running one");
        return;
    }
    if (a->sched && fresh.mode == EDGE_AUTO && fresh.goal_fps != a->goal_fps &&
        sched_set_goal(a->sched, fresh.goal_fps)) {
        log_msg(LOG_INFO, "EDGE-RELOAD", "goal %g -> %g fps", a->goal_fps, fresh.goal_fps);
        a->goal_fps = fresh.goal_fps;
    } else {
        log_msg(LOG_INFO, "EDGE-RELOAD", "configuration read again%s",
                a->sched ? "" : " (no goal to change: not in automatic mode)");
    }
}

/* Runs the local stages after the first of a->st (taken from the capture stage with its first
 * stage's error ferr) and sends it on. A failure of one frame is counted and logged, and the run
 * goes on. */
static void frame_step(struct agent *a, enum es_err ferr)
{
    maybe_reload(a);
    update_slowdown(a);
    struct state *st = a->st;
    st->split = a->tp ? (uint8_t)a->split : 0;
    json_frame_begin(); /* the frame's JSON values live until its end */
    struct stage_io io = {.st = st};
    a->slow.st = st;
    enum es_err err = ferr;
    if (err == ES_OK) {
        stage_slowdown_start(&a->slow);
        err = app_run(&io, 1, a->split, stage_slowdown_hook, &a->slow);
    }
    if (err == ES_OK) {
        accounts_add_captured(a->acc, st->stage_us, a->split);
        err = a->tp ? agent__offload(a) : emit_local(a, &io);
    }
    json_decref(io.result);
    free(io.jpeg);
    json_frame_end();
    if (err != ES_OK) {
        log_msg(LOG_ERROR, "EDGE-FRAME-LOST", "frame %llu lost: %s", (unsigned long long)st->seq,
                es_strerror(err));
        accounts_add_error(a->acc);
    }
}

static enum es_err open_spool(struct agent *a)
{
    struct spool_config sc = {
        .max_entries = a->o->buffer_entries,
        .max_bytes = a->o->buffer_bytes ? a->o->buffer_bytes : SPOOL_MAX_BYTES,
        .dir = a->o->spool_dir,
        .sync = a->o->spool_sync,
    };
    enum es_err err = spool_open(&sc, &a->spool);
    if (err != ES_OK)
        return err;
    struct spool_stats ss;
    spool_get_stats(a->spool, &ss);
    if (ss.recovered)
        log_msg(LOG_INFO, "EDGE-SPOOL-RECOVERED",
                "%llu results of an earlier run found in %s; forwarding them",
                (unsigned long long)ss.recovered, a->o->spool_dir);
    return ES_OK;
}

/* Workers on a RabbitMQ cluster keep no retained status: when no worker is known once the
 * statuses were subscribed, ask them to announce themselves (pipeline/hello/<device>) and give
 * them HELLO_WAIT_US to answer before the first frame. */
static void ask_workers(struct agent *a)
{
    char topic[TOPIC_MAX];
    if (roster_online(a->roster, clock_mono_us()) > 0 ||
        topic_hello(topic, sizeof topic, a->o->device_id) != ES_OK ||
        transport_publish(a->tp, topic, "{}", 2, 0, false) != ES_OK)
        return;
    int64_t end = clock_mono_us() + HELLO_WAIT_US;
    while (roster_online(a->roster, clock_mono_us()) == 0 && clock_mono_us() < end)
        clock_sleep_us(5000);
}

/* Connects, learns which workers are online (the retained statuses arrive before the answer to
 * the next subscription), then subscribes to this device's results. */
static enum es_err connect_broker(struct agent *a)
{
    const struct edge_opts *o = a->o;
    struct delivery_config dc = {.window = o->inflight,
                                 .timeout_us = (int64_t)(o->result_timeout_s * 1e6)};
    a->dl = delivery_new(&dc);
    a->roster = roster_new();
    if (o->mode == EDGE_AUTO)
        a->follow = follow_new();
    if (!a->dl || !a->roster || (o->mode == EDGE_AUTO && !a->follow))
        return ES_ENOMEM;
    enum es_err err = topic_results(a->results_topic, sizeof a->results_topic, o->device_id);
    if (err == ES_OK)
        err = topic_stats(a->stats_topic, sizeof a->stats_topic, o->device_id);
    if (err == ES_OK)
        err = topic_frames(a->frames_topic, sizeof a->frames_topic, o->device_id);
    if (err == ES_OK)
        err = topic_plan(a->plan_topic, sizeof a->plan_topic, o->device_id);
    if (err == ES_OK)
        err = topic_probe(a->probe_topic, sizeof a->probe_topic, o->device_id);
    atomic_store(&a->heard_us, clock_mono_us());
    if (err == ES_OK)
        err = open_spool(a);
    struct transport_opts bo = o->broker;
    bo.client_id = o->device_id;
    bo.role = "edge";
    if (bo.keepalive_s <= 0)
        bo.keepalive_s = EDGE_KEEPALIVE_S;
    bo.on_msg = agent__on_message;
    bo.on_event = agent__on_event;
    bo.arg = a;
    if (err == ES_OK)
        err = transport_connect(&bo, &a->tp);
    if (err == ES_OK)
        err = transport_subscribe(a->tp, topic_status_all(), o->sub_qos);
    if (err == ES_OK)
        err = transport_subscribe(a->tp, a->results_topic, o->sub_qos);
    /* Without its plan (a broker whose rules predate planners) the device keeps its own policy. */
    if (err == ES_OK && a->follow && transport_subscribe(a->tp, a->plan_topic, o->sub_qos) != ES_OK)
        log_msg(LOG_WARN, "EDGE-NO-PLAN",
                "cannot subscribe to %s: the split stays the device's "
                "own choice",
                a->plan_topic);
    if (err == ES_OK)
        ask_workers(a);
    if (err == ES_OK)
        err = forwarder_start(a->spool, a->tp, &a->fw);
    return err;
}

static enum es_err start_policy(struct agent *a)
{
    struct sched_config sc = {.nstages = a->app->nstages,
                              .goal_fps = a->goal_fps,
                              .start_split = a->o->split,
                              .uplink_bytes_per_s = a->uplink.bytes_per_s,
                              .pool = a->pool,
                              .cores = a->cores};
    a->sched = sched_new(&sc);
    return a->sched ? ES_OK : ES_ENOMEM;
}

/* Sets the split and the stage topic. */
static enum es_err set_split(struct agent *a, unsigned split)
{
    if (a->tp && split != a->split)
        agent__flush(a); /* a batch holds frames of one split */
    a->split = split;
    if (!a->tp)
        return ES_OK;
    return topic_stage(a->stage_topic, sizeof a->stage_topic, split, a->o->device_id);
}

/* Ends the window at now and moves to the split the policy chose for the next one. */
static void end_window(struct agent *a, int64_t now)
{
    unsigned next = agent__end_window(a, now, false);
    if (next != a->split && set_split(a, next) != ES_OK)
        log_msg(LOG_ERROR, "EDGE-SPLIT", "cannot move to split %u", next);
}

/* Starts the capture stage, which opens the source (on its own thread unless --threads 1)
 * while the agent connects to the broker. */
static enum es_err agent_setup(struct agent *a)
{
    a->app = a->o->application ? a->o->application : app_find(a->o->app);
    if (!a->app) {
        log_msg(LOG_ERROR, "EDGE-APP", "unknown application %s", a->o->app);
        return ES_EAPP;
    }
    state_init(&a->fb, a->app);
    const char *spec = a->o->source ? a->o->source : a->app->source_default;
    struct capture_config cc = {
        .app = a->app,
        .source = spec,
        .device = a->o->device_id,
        .frames = a->o->frames,
        .rate = a->o->rate,
        .annotate_every = a->o->annotate_every,
        .slowdown = &a->o->slowdown,
        .slowdown_off = &a->sig->slowdown_off,
        .stop = &a->sig->stop,
        .start_us = a->t0_us,
        .pool = a->pool,
    };
    enum es_err err = capture_start(&cc, &a->capture);
    if (err == ES_OK && a->o->mode != EDGE_DEVICE_ONLY)
        err = connect_broker(a);
    enum es_err serr = a->capture ? capture_opened(a->capture) : ES_OK;
    if (serr != ES_OK) {
        log_msg(LOG_ERROR, "EDGE-SOURCE", "cannot open source %s: %s", spec, es_strerror(serr));
        return serr;
    }
    if (err == ES_OK && a->o->mode == EDGE_AUTO)
        err = start_policy(a);
    if (err != ES_OK)
        return err;
    return set_split(a, a->o->mode == EDGE_DEVICE_ONLY ? a->app->nstages : a->o->split);
}

static void agent_teardown(struct agent *a)
{
    capture_free(a->capture);
    forwarder_stop(a->fw, a->spool, 0);
    transport_close(a->tp);
    spool_free(a->spool);
    roster_free(a->roster);
    follow_free(a->follow);
    sched_free(a->sched);
    delivery_free(a->dl);
    state_release(&a->fb);
    free(a->buf);
    wire_batcher_free(&a->batch);
    accounts_free(a->acc);
    episodes_free(a->episodes);
}

/* Keeps the running mean of the time between two frames from capture (agent__batch_wait). */
static void note_gap(struct agent *a, int64_t now)
{
    if (a->last_frame_us) {
        int64_t gap = now - a->last_frame_us;
        a->frame_gap_us = a->frame_gap_us ? (7 * a->frame_gap_us + gap) / 8 : gap;
    }
    a->last_frame_us = now;
}

/* The agent's loop: takes each captured frame, keeps the in-flight window bounded, and ends
 * windows. Returns ES_ESTOPPED when the client id was taken over. */
static enum es_err capture_loop(struct agent *a)
{
    const struct edge_opts *o = a->o;
    while (!a->sig->stop) {
        if (a->tp && agent__make_room(a) != ES_OK)
            break;
        if (a->tp)
            agent__batch_wait(a);
        enum es_err ferr;
        a->st = capture_next(a->capture, &ferr);
        note_gap(a, clock_mono_us());
        if (!a->st) {
            if (ferr != ES_OK)
                log_msg(LOG_ERROR, "EDGE-SOURCE", "the source failed: %s", es_strerror(ferr));
            break;
        }
        frame_step(a, ferr);
        capture_release(a->capture, a->st);
        a->st = NULL;
        if (a->tp)
            agent__service(a);
        int64_t now = clock_mono_us();
        if (accounts_window_due(a->acc, now, (int64_t)(o->window_s * 1e6)))
            end_window(a, now);
    }
    if (a->tp && transport_taken_over(a->tp)) {
        log_msg(LOG_ERROR, "EDGE-ID-TAKEN",
                "device id %s is in use by another agent on %s; stopping this one", o->device_id,
                transport_uri(a->tp));
        return ES_ESTOPPED;
    }
    return ES_OK;
}

enum es_err agent_run(const struct edge_opts *opts, const struct agent_signals *sig)
{
    struct agent a = {
        .o = opts, .sig = sig, .goal_fps = opts->goal_fps, .reload_seen = sig->reload};
    a.uplink.bytes_per_s = opts->uplink_kbps * 1000.0 / 8.0;
    a.t0_us = clock_mono_us();
    a.pool = opts->threads > 1 ? opts->threads : 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    a.cores = ncpu > 1 ? (unsigned)ncpu : 1;
    a.acc = accounts_new();
    a.episodes = episodes_new();
    enum es_err err = a.acc && a.episodes ? agent_setup(&a) : ES_ENOMEM;
    if (err != ES_OK)
        goto cleanup;
    a.prev_split = a.split;
    int64_t start_us = clock_mono_us();
    accounts_start(a.acc, start_us);
    accounts_set_device_cpu(a.acc, agent__device_cpu_us(&a));
    err = capture_loop(&a);
    int64_t sent_us = clock_mono_us();
    size_t unsent = 0;
    if (a.tp && err == ES_OK) {
        agent__drain(&a);
        unsent = forwarder_stop(a.fw, a.spool, (int64_t)(opts->result_timeout_s * 1e6));
        a.fw = NULL;
        agent__note_link(&a, transport_connected(a.tp));
        if (unsent)
            log_msg(LOG_WARN, "EDGE-UNSENT", "%zu results not published at exit: %s", unsent,
                    opts->spool_dir ? "kept in the spool directory for the next run"
                                    : "lost (use --spool DIR to keep them)");
    }
    int64_t done_us = clock_mono_us();
    agent__end_window(&a, done_us, true); /* the last: no split follows it */
    agent__log_summary(&a, (double)(sent_us - start_us) / 1e6, (double)(done_us - start_us) / 1e6,
                       unsent);
cleanup:
    agent_teardown(&a);
    return err;
}

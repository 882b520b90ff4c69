#include "agent.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "clock.h"
#include "emulate.h"
#include "inflight.h"
#include "log.h"
#include "result.h"
#include "sched.h"
#include "source.h"
#include "topic.h"
#include "wire.h"

struct agent {
    const struct edge_opts *o;
    const struct app *app;
    const struct agent_signals *sig;
    struct source *src;
    struct transport *tp;
    struct inflight *fl;
    struct sched *sched;
    struct state st;
    uint8_t *buf;
    size_t cap;
    unsigned split; /* stages 0..split-1 run here; nstages in device-only mode */
    char stage_topic[TOPIC_MAX];
    char results_topic[TOPIC_MAX];
    char stats_topic[TOPIC_MAX];
    uint64_t frames; /* frames finished */
    uint64_t lost;   /* frames lost: stage errors, publish failures, missing results */
    uint64_t delivered;
    char reason[128]; /* why the split last changed */
    unsigned prev_split;
    /* the current measurement window */
    int64_t win_start_us;
    uint64_t win_frames;
    uint64_t win_bytes;
    double win_stage_sum[STATE_MAX_STAGES];
    uint64_t win_stage_n[STATE_MAX_STAGES];
    double factor;     /* slowdown in force for the current frame */
    bool slowdown_off; /* the last state of sig->slowdown_off seen */
    struct uplink uplink;
    struct uplink pacer; /* --rate: one capture slot per frame, booked like a link carrying
                          * one unit per frame (late frames start at once, no catch-up burst) */
    double win_publish_us;
    /* stage times the cloud reported in this window's results (transport thread writes) */
    pthread_mutex_t cloud_lock;
    double cloud_sum[STATE_MAX_STAGES];
    uint64_t cloud_n[STATE_MAX_STAGES];
    /* the whole run, for the closing summary */
    int64_t run_start_us;
    uint64_t run_bytes;
    double run_stage_sum[STATE_MAX_STAGES];
};

static bool on_result(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct agent *a = arg;
    struct result_info info;
    (void)topic;
    if (result_parse((const char *)payload, len, &info) != ES_OK) {
        log_msg(LOG_WARN, "EDGE-BAD-RESULT", "malformed result on %s dropped", topic);
        return true;
    }
    if (strcmp(info.device, a->o->device_id) != 0)
        return true;
    if (!inflight_complete(a->fl, info.seq, clock_wall_us()))
        return true;
    pthread_mutex_lock(&a->cloud_lock);
    for (unsigned i = info.split; i < info.nstages && i < STATE_MAX_STAGES; i++) {
        a->cloud_sum[i] += info.stage_us[i];
        a->cloud_n[i]++;
    }
    pthread_mutex_unlock(&a->cloud_lock);
    return true;
}

/* Emulates a slower device: after each local stage, spin for (F-1) times what it took. */
static void slow_hook(void *arg, unsigned stage, int64_t took_us)
{
    struct agent *a = arg;
    if (a->factor <= 1)
        return;
    int64_t extra = (int64_t)((a->factor - 1) * (double)took_us);
    clock_spin_us(extra);
    if (stage < STATE_MAX_STAGES)
        a->st.stage_us[stage] = (uint32_t)(took_us + extra);
}

static enum es_err set_split(struct agent *a, unsigned split)
{
    a->split = split;
    if (!a->tp)
        return ES_OK;
    return topic_stage(a->stage_topic, sizeof a->stage_topic, split);
}

/* Device-only: the result goes to stdout as one JSON line. */
static enum es_err emit_local(struct agent *a, struct stage_io *io)
{
    struct result_meta m = {
        .device = a->o->device_id,
        .seq = a->st.seq,
        .split = 0,
        .captured_us = a->st.captured_us,
        .completed_us = clock_wall_us(),
        .worker = NULL,
        .stage_us = a->st.stage_us,
        .nstages = a->app->nstages,
    };
    json_t *obj = result_build(io->result, &m);
    char *line = obj ? result_dump(obj) : NULL;
    json_decref(obj);
    if (!line)
        return ES_ENOMEM;
    fputs(line, stdout);
    fputc('\n', stdout);
    free(line);
    return ES_OK;
}

static enum es_err publish_state(struct agent *a)
{
    size_t len = 0;
    int64_t t0 = clock_mono_us();
    enum es_err err = wire_encode(&a->st, a->split, &a->buf, &a->cap, &len);
    if (err != ES_OK) {
        log_msg(LOG_ERROR, "EDGE-ENCODE", "cannot encode frame %llu: %s",
                (unsigned long long)a->st.seq, es_strerror(err));
        return err;
    }
    clock_sleep_us(uplink_book(&a->uplink, clock_mono_us(), len));
    /* In flight before it is sent: its result may come back before transport_publish returns. */
    inflight_add(a->fl, a->st.seq, a->st.captured_us);
    err = transport_publish(a->tp, a->stage_topic, a->buf, len, a->o->qos, false);
    a->win_publish_us += (double)(clock_mono_us() - t0);
    if (err != ES_OK) {
        inflight_cancel(a->fl, a->st.seq);
        return err;
    }
    a->win_bytes += len;
    return ES_OK;
}

static void account_stages(struct agent *a, unsigned end)
{
    for (unsigned i = 0; i < end && i < STATE_MAX_STAGES; i++) {
        a->win_stage_sum[i] += a->st.stage_us[i];
        a->win_stage_n[i]++;
    }
}

/* Captures and processes one frame. ES_EEOF at the end of the source, ES_ESTOPPED on a signal;
 * a failure of one frame is counted and logged, and the run goes on. */
static enum es_err frame_step(struct agent *a, uint64_t seq)
{
    if (a->tp && inflight_wait_slot(a->fl, seq, &a->sig->stop) != ES_OK)
        return ES_ESTOPPED;
    bool off = a->sig->slowdown_off != 0;
    if (off != a->slowdown_off) {
        a->slowdown_off = off;
        log_msg(LOG_INFO, "EDGE-SLOWDOWN", "emulated slowdown %s (SIGUSR1)",
                off ? "suspended" : "resumed");
    }
    a->factor =
        off ? 1 : slowdown_at(&a->o->slowdown, (double)(clock_mono_us() - a->run_start_us) / 1e6);
    state_reset(&a->st);
    snprintf(a->st.device, sizeof a->st.device, "%s", a->o->device_id);
    a->st.seq = seq;
    a->st.captured_us = clock_wall_us();
    a->st.split = a->tp ? (uint8_t)a->split : 0;
    if (a->o->annotate_every && seq % a->o->annotate_every == 0)
        a->st.flags |= STATE_WANT_FRAME;
    struct stage_io io = {.st = &a->st, .source = a->src};
    enum es_err err = app_run(&io, 0, a->split, slow_hook, a);
    if (err == ES_OK)
        err = a->tp ? publish_state(a) : emit_local(a, &io);
    json_decref(io.result);
    free(io.jpeg);
    if (err == ES_EEOF)
        return err;
    if (err != ES_OK) {
        log_msg(LOG_ERROR, "EDGE-FRAME-LOST", "frame %llu lost: %s", (unsigned long long)seq,
                es_strerror(err));
        a->lost++;
        return ES_OK;
    }
    account_stages(a, a->split);
    a->frames++;
    a->win_frames++;
    return ES_OK;
}

static void publish_stats(struct agent *a, const struct stats *s)
{
    json_t *obj = stats_build(s);
    char *text = obj ? result_dump(obj) : NULL;
    json_decref(obj);
    if (text)
        transport_publish(a->tp, a->stats_topic, text, strlen(text), 0, false);
    free(text);
}

/* Mean device time of each local stage, and of the cloud's stages from this window's results. */
static void window_stage_means(struct agent *a, double *local, double *cloud)
{
    pthread_mutex_lock(&a->cloud_lock);
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++) {
        local[i] = a->win_stage_n[i] ? a->win_stage_sum[i] / (double)a->win_stage_n[i] : 0;
        cloud[i] = a->cloud_n[i] ? a->cloud_sum[i] / (double)a->cloud_n[i] : 0;
    }
    memset(a->cloud_sum, 0, sizeof a->cloud_sum);
    memset(a->cloud_n, 0, sizeof a->cloud_n);
    pthread_mutex_unlock(&a->cloud_lock);
}

/* The one human line per window: "fps 17.8/17 split 4 (was 6: goal missed 12.1<17) ...". */
static void print_window(const struct agent *a, const struct stats *s)
{
    if (a->o->quiet)
        return;
    if (!a->tp) {
        fprintf(stderr, "fps %.1f device-only\n", s->fps);
        return;
    }
    char goal[32] = "", was[160] = "";
    if (a->o->mode == EDGE_AUTO)
        snprintf(goal, sizeof goal, "/%g", a->o->goal_fps);
    if (a->prev_split != a->split && a->reason[0])
        snprintf(was, sizeof was, " (was %u: %s)", a->prev_split, a->reason);
    fprintf(stderr, "fps %.1f%s split %u%s delivered %.1f/s p50 %.1f ms bytes/frame %.0f%s\n",
            s->fps, goal, a->split, was, s->delivered_fps, s->latency_p50_ms, s->bytes_per_frame,
            s->goal_unreachable ? " goal unreachable" : "");
}

/* Automatic mode: hands the window to the policy and applies its answer. */
static void decide(struct agent *a, const struct stats *s, int64_t now, const double *cloud_us,
                   double publish_us)
{
    struct sched_window w = {
        .now_us = now,
        .window_s = s->window_s,
        .split = a->split,
        .full = s->window_s >= 0.9 * a->o->window_s,
        .fps = s->fps,
        .delivered_fps = s->delivered_fps,
        .nstage_us = a->app->nstages,
        .bytes_per_frame = s->bytes_per_frame,
        .publish_us = publish_us,
    };
    double busy = publish_us;
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++) {
        w.stage_us[i] = i < a->split ? s->stage_us[i] : 0;
        w.cloud_stage_us[i] = cloud_us[i];
        busy += w.stage_us[i];
    }
    double per_frame = s->fps > 0 ? 1e6 / s->fps : 0;
    w.other_us = per_frame > busy ? per_frame - busy : 0;
    char reason[128] = "";
    unsigned next = sched_update(a->sched, &w, reason, sizeof reason);
    if (next != a->split)
        set_split(a, next);
    if (reason[0])
        snprintf(a->reason, sizeof a->reason, "%s", reason);
}

/* Ends a measurement window: prints one line, publishes stats, lets automatic mode move
 * (except after the last window, which no frame follows), adds the window to the run's totals. */
static void end_window(struct agent *a, int64_t now, bool last)
{
    double elapsed = (double)(now - a->win_start_us) / 1e6;
    struct inflight_window w = {0};
    if (a->fl)
        inflight_take_window(a->fl, &w);
    a->lost += w.lost;
    a->delivered += w.delivered;
    double stage_us[STATE_MAX_STAGES] = {0}, cloud_us[STATE_MAX_STAGES] = {0};
    double predicted[STATE_MAX_STAGES] = {0};
    window_stage_means(a, stage_us, cloud_us);
    if (a->sched)
        sched_predictions(a->sched, predicted, a->app->nstages);
    double fps = elapsed > 0 ? (double)a->win_frames / elapsed : 0;
    double frames = a->win_frames ? (double)a->win_frames : 1;
    struct stats s = {
        .device = a->o->device_id,
        .auto_mode = a->o->mode == EDGE_AUTO,
        .goal = a->o->goal_fps,
        .split = a->split,
        .fps = fps,
        .delivered_fps = elapsed > 0 ? (double)w.delivered / elapsed : 0,
        .window_s = elapsed,
        .latency_p50_ms = w.latency_p50_ms,
        .latency_p99_ms = w.latency_p99_ms,
        .bytes_per_frame = (double)a->win_bytes / frames,
        .stage_us = stage_us,
        .nstages = a->app->nstages,
        .lost = a->lost,
        .goal_unreachable = a->sched && sched_goal_unreachable(a->sched),
        .reason = a->reason[0] ? a->reason : NULL,
        .predicted_fps = a->sched ? predicted : NULL,
    };
    print_window(a, &s);
    a->prev_split = a->split;
    if (a->tp)
        publish_stats(a, &s);
    if (a->sched && a->win_frames && !last)
        decide(a, &s, now, cloud_us, a->win_publish_us / frames);
    a->run_bytes += a->win_bytes;
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        a->run_stage_sum[i] += a->win_stage_sum[i];
    a->win_start_us = now;
    a->win_frames = 0;
    a->win_bytes = 0;
    a->win_publish_us = 0;
    memset(a->win_stage_sum, 0, sizeof a->win_stage_sum);
    memset(a->win_stage_n, 0, sizeof a->win_stage_n);
}

static enum es_err connect_broker(struct agent *a)
{
    const struct edge_opts *o = a->o;
    struct transport_opts bo = o->broker;
    bo.client_id = o->device_id;
    bo.role = "edge";
    a->fl = inflight_new(o->inflight, (int64_t)(o->result_timeout_s * 1e6));
    if (!a->fl)
        return ES_ENOMEM;
    enum es_err err = topic_results(a->results_topic, sizeof a->results_topic, o->device_id);
    if (err == ES_OK)
        err = topic_stats(a->stats_topic, sizeof a->stats_topic, o->device_id);
    if (err == ES_OK)
        err = transport_connect(&bo, on_result, a, &a->tp);
    if (err == ES_OK)
        err = transport_subscribe(a->tp, a->results_topic, 1);
    if (err == ES_OK && o->mode == EDGE_AUTO) {
        struct sched_config sc = {.nstages = a->app->nstages,
                                  .goal_fps = o->goal_fps,
                                  .start_split = o->split,
                                  .uplink_bytes_per_s = a->uplink.bytes_per_s};
        a->sched = sched_new(&sc);
        if (!a->sched)
            err = ES_ENOMEM;
    }
    return err;
}

static enum es_err agent_setup(struct agent *a)
{
    a->app = app_find(a->o->app);
    if (!a->app) {
        log_msg(LOG_ERROR, "EDGE-APP", "unknown application %s", a->o->app);
        return ES_EAPP;
    }
    state_init(&a->st, a->app);
    const char *spec = a->o->source ? a->o->source : a->app->source_default;
    if (spec) {
        enum es_err err = source_open(spec, &a->src);
        if (err != ES_OK) {
            log_msg(LOG_ERROR, "EDGE-SOURCE", "cannot open source %s: %s", spec, es_strerror(err));
            return err;
        }
    }
    if (a->o->mode != EDGE_DEVICE_ONLY) {
        enum es_err err = connect_broker(a);
        if (err != ES_OK)
            return err;
    }
    return set_split(a, a->o->mode == EDGE_DEVICE_ONLY ? a->app->nstages : a->o->split);
}

static void agent_teardown(struct agent *a)
{
    transport_close(a->tp);
    sched_free(a->sched);
    inflight_free(a->fl);
    source_free(a->src);
    state_release(&a->st);
    free(a->buf);
}

/* One closing line for scripts and benchmarks: whole-run throughput, bytes and stage times.
 * edge_s is capture to last frame sent; e2e_s is capture to last result (or the drain end). */
static void log_summary(struct agent *a, double edge_s, double e2e_s)
{
    char stages[STATE_MAX_STAGES * 12] = "";
    size_t used = 0;
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++) {
        double mean = a->frames ? a->run_stage_sum[i] / (double)a->frames : 0;
        used += (size_t)snprintf(stages + used, sizeof stages - used, "%s%.0f", i ? "," : "",
                                 i < a->split ? mean : 0);
    }
    uint64_t results = a->tp ? a->delivered : a->frames;
    log_msg(LOG_INFO, "EDGE-SUMMARY",
            "split=%u frames=%llu results=%llu lost=%llu edge_fps=%.1f results_per_s=%.1f "
            "bytes_per_frame=%.0f stage_us=%s",
            a->tp ? a->split : 0, (unsigned long long)a->frames, (unsigned long long)results,
            (unsigned long long)a->lost, edge_s > 0 ? (double)a->frames / edge_s : 0,
            e2e_s > 0 ? (double)results / e2e_s : 0,
            a->frames ? (double)a->run_bytes / (double)a->frames : 0, stages);
}

enum es_err agent_run(const struct edge_opts *opts, const struct agent_signals *sig)
{
    struct agent a = {.o = opts, .sig = sig};
    pthread_mutex_init(&a.cloud_lock, NULL);
    a.uplink.bytes_per_s = opts->uplink_kbps * 1000.0 / 8.0;
    a.pacer.bytes_per_s = opts->rate;
    enum es_err err = agent_setup(&a);
    if (err != ES_OK)
        goto cleanup;
    a.prev_split = a.split;
    a.win_start_us = clock_mono_us();
    a.run_start_us = a.win_start_us;
    for (uint64_t seq = 0; !sig->stop && (!opts->frames || seq < opts->frames); seq++) {
        clock_sleep_us(uplink_book(&a.pacer, clock_mono_us(), 1));
        err = frame_step(&a, seq);
        if (err == ES_EEOF || err == ES_ESTOPPED)
            break;
        int64_t now = clock_mono_us();
        if (now - a.win_start_us >= (int64_t)(opts->window_s * 1e6))
            end_window(&a, now, false);
    }
    err = ES_OK;
    int64_t sent_us = clock_mono_us();
    if (a.fl)
        inflight_drain(a.fl, (int64_t)(opts->result_timeout_s * 1e6));
    int64_t done_us = clock_mono_us();
    end_window(&a, done_us, true);
    log_summary(&a, (double)(sent_us - a.run_start_us) / 1e6,
                (double)(done_us - a.run_start_us) / 1e6);
cleanup:
    agent_teardown(&a);
    pthread_mutex_destroy(&a.cloud_lock);
    return err;
}

/* The edge's accounts: one line and one stats message per measurement window, the split policy's
 * decision, the fault episodes' closing lines and the closing summary. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_impl.h"
#include "clock.h"
#include "json_frame.h"
#include "log.h"
#include "result.h"

void agent__episode_start(struct episode *e, const char *id, const char *fmt, ...)
{
    if (e->active)
        return;
    *e = (struct episode){true, clock_mono_us(), 0};
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_msg(LOG_WARN, id, "%s", line);
}

static void publish_stats(struct agent *a, const struct stats *s)
{
    json_frame_begin();
    json_t *obj = stats_build(s);
    size_t len = 0;
    enum es_err err =
        obj ? result_dump_into(obj, a->result_text, sizeof a->result_text, &len) : ES_ENOMEM;
    json_decref(obj);
    json_frame_end();
    if (err == ES_OK &&
        transport_publish(a->tp, a->stats_topic, a->result_text, len, 0, false) != ES_OK)
        log_msg(LOG_DEBUG, "EDGE-STATS", "window stats not published: not connected");
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
    const struct stats_counts *c = s->counts;
    char goal[32] = "", was[160] = "";
    if (a->o->mode == EDGE_AUTO)
        snprintf(goal, sizeof goal, "/%g", a->goal_fps);
    if (a->prev_split != a->split && a->reason[0])
        snprintf(was, sizeof was, " (was %u: %s)", a->prev_split, a->reason);
    fprintf(stderr,
            "fps %.1f%s split %u%s delivered %.1f/s p50 %.1f ms bytes/frame %.0f | captured %llu "
            "results %llu fallback %llu retried %llu duplicates %llu buffered %llu dropped %llu "
            "skipped %llu%s\n",
            s->fps, goal, a->split, was, s->delivered_fps, s->latency_p50_ms, s->bytes_per_frame,
            (unsigned long long)c->captured, (unsigned long long)c->results,
            (unsigned long long)c->fallback, (unsigned long long)c->retried,
            (unsigned long long)c->duplicates, (unsigned long long)c->buffered,
            (unsigned long long)(c->dropped_full + c->dropped_io + c->dropped_error),
            (unsigned long long)c->skipped, s->goal_unreachable ? " goal unreachable" : "");
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
    double rest = publish_us; /* the local stages after the first, and the publish */
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++) {
        w.stage_us[i] = i < a->split ? s->stage_us[i] : 0;
        w.cloud_stage_us[i] = cloud_us[i];
        rest += i ? w.stage_us[i] : 0;
    }
    double busy = sched_frame_us(a->pool, a->cores, w.stage_us[0], rest);
    double per_frame = s->fps > 0 ? 1e6 / s->fps : 0;
    w.other_us = per_frame > busy ? per_frame - busy : 0;
    char reason[128] = "";
    unsigned next = sched_update(a->sched, &w, reason, sizeof reason);
    if (next != a->split && agent__set_split(a, next) != ES_OK)
        log_msg(LOG_ERROR, "EDGE-SPLIT", "cannot move to split %u", next);
    if (reason[0])
        snprintf(a->reason, sizeof a->reason, "%s", reason);
}

/* The window's counts, from the agent thread's tally, the delivery window and the spool. */
static void window_counts(struct agent *a, const struct delivery_window *dw, struct stats_counts *c)
{
    struct spool_stats ss = {0};
    if (a->spool)
        spool_get_stats(a->spool, &ss);
    *c = (struct stats_counts){
        .captured = a->win.captured,
        .results = dw->results,
        .fallback = dw->fallback,
        .retried = dw->retried,
        .duplicates = dw->duplicates,
        .buffered = ss.entries,
        .dropped_full = ss.dropped_full - a->seen_full,
        .dropped_io = ss.dropped_io - a->seen_io,
        .dropped_error = a->win.errors,
        .skipped = a->win.skipped,
    };
    a->seen_full = ss.dropped_full;
    a->seen_io = ss.dropped_io;
    a->run_results += dw->results;
    a->run_fallback += c->fallback;
    a->run_retried += dw->retried;
    a->run_duplicates += dw->duplicates;
}

/* Frames from deadlines this window: the late-results episode ends in a window without any. */
static void close_late_episode(struct agent *a, const struct delivery_window *dw)
{
    if (!a->late.active || dw->retried || dw->fallback)
        return;
    log_msg(LOG_INFO, "EDGE-LATE-END",
            "results on time again after %.1f s: %llu frames were published again or ran here",
            (double)(clock_mono_us() - a->late.since_us) / 1e6, (unsigned long long)a->late.frames);
    a->late.active = false;
}

static void add_to_run(struct agent *a)
{
    a->run.captured += a->win.captured;
    a->run.offloaded += a->win.offloaded;
    a->run.here += a->win.here;
    a->run.errors += a->win.errors;
    a->run.skipped += a->win.skipped;
    a->run_bytes += a->win_bytes;
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        a->run_stage_sum[i] += a->win_stage_sum[i];
    memset(&a->win, 0, sizeof a->win);
    a->win_bytes = 0;
    a->win_publish_us = 0;
    memset(a->win_stage_sum, 0, sizeof a->win_stage_sum);
    memset(a->win_stage_n, 0, sizeof a->win_stage_n);
}

void agent__end_window(struct agent *a, int64_t now, bool last)
{
    double elapsed = (double)(now - a->win_start_us) / 1e6;
    struct delivery_window dw = {0};
    if (a->dl)
        delivery_take_window(a->dl, &dw);
    if (a->capture)
        a->win.skipped += capture_take_skipped(a->capture);
    struct stats_counts c;
    window_counts(a, &dw, &c);
    double stage_us[STATE_MAX_STAGES] = {0}, cloud_us[STATE_MAX_STAGES] = {0};
    double predicted[STATE_MAX_STAGES] = {0};
    window_stage_means(a, stage_us, cloud_us);
    if (a->sched)
        sched_predictions(a->sched, predicted, a->app->nstages);
    uint64_t sent = a->win.offloaded ? a->win.offloaded : 1;
    uint64_t lost = a->seen_full + a->seen_io + a->run.errors + a->win.errors;
    struct stats s = {
        .device = a->o->device_id,
        .auto_mode = a->o->mode == EDGE_AUTO,
        .goal = a->goal_fps,
        .split = a->split,
        .fps = elapsed > 0 ? (double)a->win.captured / elapsed : 0,
        .delivered_fps = elapsed > 0 ? (double)(c.results + c.fallback) / elapsed : 0,
        .window_s = elapsed,
        .latency_p50_ms = dw.latency_p50_ms,
        .latency_p99_ms = dw.latency_p99_ms,
        .bytes_per_frame = (double)a->win_bytes / (double)sent,
        .stage_us = stage_us,
        .nstages = a->app->nstages,
        .lost = lost,
        .goal_unreachable = a->sched && sched_goal_unreachable(a->sched),
        .reason = a->reason[0] ? a->reason : NULL,
        .predicted_fps = a->sched ? predicted : NULL,
        .counts = a->tp ? &c : NULL,
    };
    print_window(a, &s);
    a->prev_split = a->split;
    if (a->tp)
        publish_stats(a, &s);
    /* The policy holds while frames run here: their rate says nothing about the split. */
    if (a->sched && a->win.captured && !last && c.fallback == 0)
        decide(a, &s, now, cloud_us, a->win_publish_us / (double)sent);
    close_late_episode(a, &dw);
    add_to_run(a);
    a->win_start_us = now;
}

void agent__log_summary(struct agent *a, double edge_s, double e2e_s, size_t unsent)
{
    char stages[STATE_MAX_STAGES * 12] = "";
    size_t used = 0;
    uint64_t frames = a->run.captured;
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++) {
        double mean = frames ? a->run_stage_sum[i] / (double)frames : 0;
        used += (size_t)snprintf(stages + used, sizeof stages - used, "%s%.0f", i ? "," : "",
                                 i < a->split ? mean : 0);
    }
    struct spool_stats ss = {0};
    if (a->spool)
        spool_get_stats(a->spool, &ss);
    bool keeps = a->o->spool_dir != NULL; /* a spool directory keeps what was not sent */
    uint64_t lost = ss.dropped_full + ss.dropped_io + a->run.errors + (keeps ? 0 : unsent) +
                    forwarder_refused(a->fw);
    uint64_t results = a->tp ? a->run_results : frames;
    log_msg(LOG_INFO, "EDGE-SUMMARY",
            "split=%u frames=%llu results=%llu fallback=%llu lost=%llu retried=%llu "
            "duplicates=%llu skipped=%llu spooled=%zu edge_fps=%.1f results_per_s=%.1f "
            "bytes_per_frame=%.0f startup_ms=%.1f stage_us=%s",
            a->tp ? a->split : 0, (unsigned long long)frames, (unsigned long long)results,
            (unsigned long long)a->run_fallback, (unsigned long long)lost,
            (unsigned long long)a->run_retried, (unsigned long long)a->run_duplicates,
            (unsigned long long)a->run.skipped, keeps ? unsent : (size_t)0,
            edge_s > 0 ? (double)frames / edge_s : 0,
            e2e_s > 0 ? (double)(results + a->run_fallback) / e2e_s : 0,
            a->run.offloaded ? (double)a->run_bytes / (double)a->run.offloaded : 0,
            a->first_out_us ? (double)(a->first_out_us - a->t0_us) / 1e3 : 0, stages);
}

/* The edge's reports: one line and one stats message per measurement window (from the accounts
 * the window closes with), the split policy's decision, the end of the late-results episode and
 * the closing summary. */
#include <stdatomic.h>
#include <stdio.h>

#include "agent_impl.h"
#include "clock.h"
#include "json_frame.h"
#include "log.h"
#include "result.h"

/* Windows a device in automatic mode waits for its first plan, when a planner is online, before
 * its own policy may lower its split. */
#define FIRST_PLAN_WINDOWS 2

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
    char goal[32] = "", was[300] = "";
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

int64_t agent__device_cpu_us(struct agent *a)
{
    int64_t slept = atomic_load(&a->slow.slept_us);
    if (a->capture)
        slept += capture_slept_us(a->capture);
    return clock_process_cpu_us() + slept;
}

/* Whether the cloud ran late for this device in the window: at least LATE_FRAMES frames, and
 * LATE_SHARE of those captured, ran here after all while a worker served the split (so not for
 * want of one). The device's own evidence of a saturated cloud, beside the workers' statuses. */
#define LATE_FRAMES 2
#define LATE_SHARE 0.1
static bool late_window(const struct accounts_window *w, unsigned serving)
{
    return serving > 0 && w->counts.fallback >= LATE_FRAMES &&
           (double)w->counts.fallback >= LATE_SHARE * (double)w->counts.captured;
}

/* What the window cost the device and the cloud. */
static struct stats_costs costs_of(struct agent *a, const struct accounts_window *w, int64_t now)
{
    double per_s = w->window_s > 0 ? 1 / w->window_s : 0;
    return (struct stats_costs){
        .app = a->app->name,
        .rate = a->o->rate,
        .device_cpu_ms_per_s = (double)w->device_cpu_us / 1e3 * per_s,
        .cloud_cpu_ms_per_s = (double)w->cloud_cpu_us / 1e3 * per_s,
        .cloud_cpu_us_per_result = w->results ? (double)w->cloud_cpu_us / (double)w->results : 0,
        .bytes_sent = w->bytes_sent,
        .cloud_saturated = a->roster && (roster_saturated(a->roster, a->split, now) ||
                                         late_window(w, roster_serving(a->roster, a->split, now))),
    };
}

/* Automatic mode: hands the window to the policy and returns its answer, the next split. */
static unsigned decide(struct agent *a, const struct stats *s, int64_t now, const double *cloud_us,
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
        .cloud_saturated = a->o->saturation_rule && s->costs && s->costs->cloud_saturated,
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
    if (reason[0])
        snprintf(a->reason, sizeof a->reason, "%s", reason);
    return next;
}

/* Automatic mode with a fresh plan from the fleet planner: its split, but never against the
 * device's own guarantees. When the device misses its goal and its own policy moves it up (less
 * cloud work, which needs nobody's leave), or no worker serves the plan's split, own wins. */
static unsigned follow_plan(struct agent *a, const struct stats *s, unsigned own, int64_t now)
{
    struct plan p;
    if (!a->follow)
        return own;
    bool fresh = follow_get(a->follow, now, clock_wall_us(), &p) && p.split < a->app->nstages;
    /* the policy's reason says why it moved up; a split nobody serves is not taken */
    bool follow = fresh && !(own > p.split && s->fps < a->goal_fps) &&
                  roster_serving(a->roster, p.split, now) > 0;
    if (follow_note(a->follow, follow ? &p : NULL)) {
        if (follow)
            log_msg(LOG_INFO, "EDGE-PLAN", "following the plan of %s: split %u (%s)", p.planner,
                    p.split, p.reason);
        else
            log_msg(LOG_INFO, "EDGE-PLAN-OWN", "%s: the split is the device's own choice",
                    fresh ? "the plan would give up a local guarantee" : "no fresh plan");
    }
    if (!follow)
        return own;
    snprintf(a->reason, sizeof a->reason, "plan %u of %s: %s", p.split, p.planner, p.reason);
    return p.split;
}

/* Closes the window's accounts at now, with what the delivery window, the spool and the
 * capture stage counted in it. */
static void close_accounts(struct agent *a, int64_t now, struct accounts_window *w)
{
    struct delivery_window dw = {0};
    if (a->dl)
        delivery_take_window(a->dl, &dw);
    struct spool_stats ss = {0};
    if (a->spool)
        spool_get_stats(a->spool, &ss);
    uint64_t skipped = a->capture ? capture_take_skipped(a->capture) : 0;
    accounts_set_device_cpu(a->acc, agent__device_cpu_us(a));
    accounts_close_window(a->acc, now, &dw, &ss, skipped, w);
}

unsigned agent__end_window(struct agent *a, int64_t now, bool last)
{
    struct accounts_window w;
    close_accounts(a, now, &w);
    double predicted[STATE_MAX_STAGES] = {0};
    if (a->sched)
        sched_predictions(a->sched, predicted, a->app->nstages);
    struct stats_costs costs = costs_of(a, &w, now);
    struct stats s = {
        .device = a->o->device_id,
        .auto_mode = a->o->mode == EDGE_AUTO,
        .goal = a->goal_fps,
        .split = a->split,
        .fps = w.fps,
        .delivered_fps = w.delivered_fps,
        .window_s = w.window_s,
        .latency_p50_ms = w.latency_p50_ms,
        .latency_p99_ms = w.latency_p99_ms,
        .bytes_per_frame = w.bytes_per_frame,
        .stage_us = w.stage_us,
        .nstages = a->app->nstages,
        .lost = w.lost,
        .goal_unreachable = sched_goal_unreachable_at(a->sched, w.fps),
        .reason = a->reason[0] ? a->reason : NULL,
        .predicted_fps = a->sched ? predicted : NULL,
        .counts = a->tp ? &w.counts : NULL,
        .costs = a->tp ? &costs : NULL,
    };
    print_window(a, &s);
    a->prev_split = a->split;
    if (a->tp)
        publish_stats(a, &s);
    unsigned next = a->split;
    /* The policy holds while frames run here: their rate says nothing about the split; but when
     * the cloud is saturated (the saturation rule) it may move up, to less cloud work. */
    if (a->sched && w.counts.captured && !last && w.counts.fallback == 0) {
        next = decide(a, &s, now, w.cloud_stage_us, w.publish_us);
    } else if (a->sched && w.counts.captured && !last && a->o->saturation_rule &&
               costs.cloud_saturated) {
        /* with the cloud saturated the policy only holds or moves up (sched.h) */
        unsigned up = decide(a, &s, now, w.cloud_stage_us, w.publish_us);
        next = up > a->split ? up : a->split;
    }
    if (a->sched && !last)
        next = follow_plan(a, &s, next, now);
    /* Joining a planned fleet: no more cloud work before the planner has counted the device in
     * (it plans it from its first window's stats, with a prediction for every split). */
    char planner[STATE_DEVICE_MAX + 1];
    if (a->sched && a->follow && !last && next < a->split &&
        follow_wait_first(a->follow, FIRST_PLAN_WINDOWS, planner, sizeof planner)) {
        next = a->split;
        snprintf(a->reason, sizeof a->reason, "waiting for a plan of %s, holding %u", planner,
                 next);
    }
    /* Frames from deadlines this window: the late-results episode ends in a window without any. */
    if (!w.counts.retried && !w.counts.fallback)
        episodes_late_end(a->episodes, clock_mono_us());
    return next;
}

void agent__log_summary(struct agent *a, double edge_s, double e2e_s, size_t unsent)
{
    struct accounts_run r;
    accounts_get_run(a->acc, &r);
    char stages[STATE_MAX_STAGES * 12] = "";
    size_t used = 0;
    for (unsigned i = 0; i < a->app->nstages && i < STATE_MAX_STAGES; i++)
        used += (size_t)snprintf(stages + used, sizeof stages - used, "%s%.0f", i ? "," : "",
                                 i < a->split ? r.stage_us[i] : 0);
    struct spool_stats ss = {0};
    if (a->spool)
        spool_get_stats(a->spool, &ss);
    bool keeps = a->o->spool_dir != NULL; /* a spool directory keeps what was not sent */
    uint64_t lost = ss.dropped_full + ss.dropped_io + r.errors + (keeps ? 0 : unsent) +
                    forwarder_refused(a->fw);
    uint64_t results = a->tp ? r.results : r.captured;
    log_msg(LOG_INFO, "EDGE-SUMMARY",
            "split=%u frames=%llu results=%llu fallback=%llu lost=%llu retried=%llu "
            "duplicates=%llu skipped=%llu spooled=%zu edge_fps=%.1f results_per_s=%.1f "
            "bytes_per_frame=%.0f startup_ms=%.1f stage_us=%s device_cpu_ms_per_s=%.1f "
            "cloud_cpu_us=%llu cloud_cpu_us_per_result=%.0f messages=%llu",
            a->tp ? a->split : 0, (unsigned long long)r.captured, (unsigned long long)results,
            (unsigned long long)r.fallback, (unsigned long long)lost, (unsigned long long)r.retried,
            (unsigned long long)r.duplicates, (unsigned long long)r.skipped,
            keeps ? unsent : (size_t)0, edge_s > 0 ? (double)r.captured / edge_s : 0,
            e2e_s > 0 ? (double)(results + r.fallback) / e2e_s : 0, r.bytes_per_frame,
            r.first_out_us ? (double)(r.first_out_us - a->t0_us) / 1e3 : 0, stages,
            edge_s > 0 ? (double)r.device_cpu_us / 1e3 / edge_s : 0,
            (unsigned long long)r.cloud_cpu_us,
            r.cloud_results ? (double)r.cloud_cpu_us / (double)r.cloud_results : 0,
            (unsigned long long)r.messages);
}

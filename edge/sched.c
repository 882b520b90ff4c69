/* The split policy of automatic mode: a model of the per-frame cost at every split, fed by the
 * measurement windows, and a policy that jumps to the best split and confirms by measurement.
 * See sched.h for the contract. */
#include "sched.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define EWMA_ALPHA 0.3          /* weight of a new window in the smoothed values */
#define SPEED_STEP 1.4          /* a speed change beyond this factor is taken at once */
#define SMALL_PAYLOAD 16384.0   /* bytes; publish time of smaller payloads is mostly fixed */
#define LARGE_PRIOR 1e6         /* bytes assumed for an unseen split below every seen one */
#define PRIOR_US_PER_BYTE 0.002 /* 500 MB/s, until a large payload has been measured */
#define MISS_TOLERANCE 0.05     /* a miss smaller than this needs a second window to count */
#define FASTER_BY 1.05          /* when unreachable, move only to a split this much faster */
#define BOTTLENECK_RATIO 0.75   /* delivered below this share of fps: the cloud is the limit */
#define FRESH_WINDOWS 3         /* a miss this soon after moving to a split is its failure */
#define MAX_BACKOFF_SHIFT 4     /* back-off windows: 2, 4, 8, 16, 32 */
#define RESET_WINDOWS 20        /* windows meeting the goal that clear a split's failures */

struct sched {
    struct sched_config cfg;
    unsigned split;
    bool unreachable;
    bool short_of_goal; /* the last full window's fps was below the goal by more than the tolerance
                         */
    bool bottleneck;
    unsigned nwin;       /* windows seen */
    unsigned since_move; /* full windows evaluated at the current split */
    unsigned good_run;   /* consecutive full windows meeting the goal */
    bool prev_below;     /* the previous full window at this split was below the goal */
    double noise;        /* smoothed relative error of the fps prediction at the current split */
    double speed;        /* device slowness relative to the first window */
    double norm_us[SCHED_MAX_STAGES]; /* device time of each stage at speed 1 */
    bool norm_seen[SCHED_MAX_STAGES];
    double cloud_us[SCHED_MAX_STAGES];
    bool cloud_seen[SCHED_MAX_STAGES];
    double bytes[SCHED_MAX_STAGES]; /* payload per frame at each split */
    bool bytes_seen[SCHED_MAX_STAGES];
    double pub_us[SCHED_MAX_STAGES]; /* publish time per frame at each split */
    bool pub_seen[SCHED_MAX_STAGES];
    double fixed_us; /* publish time of a small payload */
    bool fixed_seen;
    double us_per_byte; /* publish time per byte of large payloads */
    bool rate_seen;
    double other_us;
    bool other_seen;
    unsigned fails[SCHED_MAX_STAGES];
    unsigned retry_at[SCHED_MAX_STAGES]; /* window count from which a split may be tried */
    double pred[SCHED_MAX_STAGES];       /* conservative fps prediction per split */
    double pred_opt[SCHED_MAX_STAGES];   /* same, with unseen payloads assumed not to grow */
};

struct sched *sched_new(const struct sched_config *cfg)
{
    if (!cfg || cfg->nstages < 2 || cfg->nstages > SCHED_MAX_STAGES || !(cfg->goal_fps > 0) ||
        !isfinite(cfg->goal_fps) || cfg->start_split < 1 || cfg->start_split >= cfg->nstages ||
        !(cfg->margin >= 0 && cfg->margin < 1) ||
        !(cfg->uplink_bytes_per_s >= 0 && isfinite(cfg->uplink_bytes_per_s)))
        return NULL;
    struct sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    if (s->cfg.margin == 0)
        s->cfg.margin = 0.15;
    s->split = cfg->start_split;
    s->speed = 1;
    return s;
}

bool sched_set_goal(struct sched *s, double goal_fps)
{
    if (!s || !(goal_fps > 0) || !isfinite(goal_fps))
        return false;
    s->cfg.goal_fps = goal_fps;
    return true;
}

void sched_free(struct sched *s)
{
    free(s);
}

static double ewma(double old, double x, bool seen)
{
    return seen ? old + EWMA_ALPHA * (x - old) : x;
}

static bool usable(double x)
{
    return x > 0 && isfinite(x);
}

/* The local stages update the speed factor first (a large change at once, a small one
 * smoothed), then each stage's cost at speed 1. */
static void learn_device(struct sched *s, const struct sched_window *w)
{
    unsigned n = w->nstage_us < s->cfg.nstages - 1 ? w->nstage_us : s->cfg.nstages - 1;
    double sum_m = 0, sum_c = 0;
    for (unsigned i = 0; i < n; i++) {
        if (usable(w->stage_us[i]) && s->norm_seen[i]) {
            sum_m += w->stage_us[i];
            sum_c += s->norm_us[i];
        }
    }
    if (sum_c > 0) {
        double raw = sum_m / sum_c, r = raw / s->speed;
        s->speed = (r > SPEED_STEP || r < 1 / SPEED_STEP) ? raw : ewma(s->speed, raw, true);
    }
    for (unsigned i = 0; i < n; i++) {
        if (usable(w->stage_us[i])) {
            s->norm_us[i] = ewma(s->norm_us[i], w->stage_us[i] / s->speed, s->norm_seen[i]);
            s->norm_seen[i] = true;
        }
    }
    for (unsigned i = 1; i < s->cfg.nstages; i++) {
        if (usable(w->cloud_stage_us[i])) {
            s->cloud_us[i] = ewma(s->cloud_us[i], w->cloud_stage_us[i], s->cloud_seen[i]);
            s->cloud_seen[i] = true;
        }
    }
}

static double cap_us_per_byte(const struct sched *s)
{
    return s->cfg.uplink_bytes_per_s > 0 ? 1e6 / s->cfg.uplink_bytes_per_s : 0;
}

/* Payload size and publish cost at the split in force; skipped when the cloud holds the edge
 * back, since waiting then inflates the publish time. */
static void learn_link(struct sched *s, const struct sched_window *w)
{
    unsigned k = w->split;
    double b = w->bytes_per_frame;
    if (usable(b)) {
        s->bytes[k] = ewma(s->bytes[k], b, s->bytes_seen[k]);
        s->bytes_seen[k] = true;
    }
    if (s->bottleneck)
        return;
    if (w->other_us >= 0 && isfinite(w->other_us)) {
        s->other_us = ewma(s->other_us, w->other_us, s->other_seen);
        s->other_seen = true;
    }
    if (!usable(w->publish_us) || !usable(b))
        return;
    s->pub_us[k] = ewma(s->pub_us[k], w->publish_us, s->pub_seen[k]);
    s->pub_seen[k] = true;
    if (b < SMALL_PAYLOAD) {
        double fixed = fmax(0, w->publish_us - b * cap_us_per_byte(s));
        s->fixed_us = ewma(s->fixed_us, fixed, s->fixed_seen);
        s->fixed_seen = true;
    } else {
        double rate = fmax(0, (w->publish_us - s->fixed_us) / b);
        s->us_per_byte = ewma(s->us_per_byte, rate, s->rate_seen);
        s->rate_seen = true;
    }
}

/* Device/cloud time ratio over the stages seen in both places; 1 when there are none. */
static double device_cloud_ratio(const struct sched *s)
{
    double dev = 0, cloud = 0;
    for (unsigned i = 0; i < s->cfg.nstages; i++) {
        if (s->norm_seen[i] && s->cloud_seen[i]) {
            dev += s->norm_us[i] * s->speed;
            cloud += s->cloud_us[i];
        }
    }
    return dev > 0 && cloud > 0 ? dev / cloud : 1;
}

static double device_us(const struct sched *s, unsigned i, double ratio)
{
    if (s->norm_seen[i])
        return s->norm_us[i] * s->speed;
    if (s->cloud_seen[i])
        return s->cloud_us[i] * ratio;
    return 0;
}

/* Payload at split k. Unseen: the conservative guess is the payload of the nearest seen
 * smaller split (payloads usually shrink as stages run), else the largest seen but at least
 * LARGE_PRIOR (about a raw VGA frame); the optimistic guess is that of the nearest seen larger
 * split, else nothing. */
static double payload(const struct sched *s, unsigned k, bool optimistic)
{
    if (s->bytes_seen[k])
        return s->bytes[k];
    unsigned n = s->cfg.nstages;
    if (optimistic) {
        for (unsigned j = k + 1; j < n; j++)
            if (s->bytes_seen[j])
                return s->bytes[j];
        return 0;
    }
    for (unsigned j = k - 1; j >= 1; j--)
        if (s->bytes_seen[j])
            return s->bytes[j];
    double most = 0;
    for (unsigned j = 1; j < n; j++)
        if (s->bytes_seen[j] && s->bytes[j] > most)
            most = s->bytes[j];
    return fmax(most, LARGE_PRIOR);
}

static double publish_us(const struct sched *s, unsigned k, double bytes)
{
    double cap = cap_us_per_byte(s);
    if (s->pub_seen[k])
        return fmax(s->pub_us[k], bytes * cap);
    double rate = s->rate_seen ? s->us_per_byte : cap > 0 ? cap : PRIOR_US_PER_BYTE;
    return (s->fixed_seen ? s->fixed_us : 0) + bytes * fmax(rate, cap);
}

double sched_frame_us(unsigned pool, unsigned cores, double first_us, double rest_us)
{
    if (pool == 0)
        return first_us + rest_us;
    double n = cores > 1 ? (double)cores : 1;
    return fmax(fmax(first_us / (double)pool, rest_us), (first_us + rest_us) / n);
}

static void predict(struct sched *s)
{
    double ratio = device_cloud_ratio(s), dev = 0;
    double other = s->other_seen ? s->other_us : 0;
    double first = device_us(s, 0, ratio);
    unsigned pool = s->cfg.pool, cores = s->cfg.cores;
    for (unsigned k = 1; k < s->cfg.nstages; k++) {
        dev += device_us(s, k - 1, ratio);
        double rest = dev - first;
        double cost =
            sched_frame_us(pool, cores, first, rest + publish_us(s, k, payload(s, k, false))) +
            other;
        double cost_opt =
            sched_frame_us(pool, cores, first, rest + publish_us(s, k, payload(s, k, true))) +
            other;
        s->pred[k] = 1e6 / fmax(cost, 1);
        s->pred_opt[k] = 1e6 / fmax(cost_opt, 1);
    }
}

static bool backing_off(const struct sched *s, unsigned k)
{
    return s->nwin < s->retry_at[k];
}

/* Largest split other than the current one, not backing off, predicted at or above the goal
 * times (1 + margin) when above the current split and (1 + cushion) below it; 0 if none. */
static unsigned pick(const struct sched *s, double cushion)
{
    double goal = s->cfg.goal_fps;
    for (unsigned k = s->cfg.nstages - 1; k >= 1; k--) {
        double need = goal * (1 + (k > s->split ? s->cfg.margin : cushion));
        if (k != s->split && !backing_off(s, k) && s->pred[k] >= need)
            return k;
    }
    return 0;
}

/* A split above the current one whose payload was never seen, not backing off: the largest
 * one that would meet the goal with margin if its payload were no larger than the next seen
 * one, else the one with the best such prediction; 0 if none. */
static unsigned pick_unexplored(const struct sched *s)
{
    double need = s->cfg.goal_fps * (1 + s->cfg.margin);
    unsigned best = 0;
    for (unsigned k = s->cfg.nstages - 1; k > s->split; k--) {
        if (s->bytes_seen[k] || backing_off(s, k))
            continue;
        if (s->pred_opt[k] >= need)
            return k;
        if (!best || s->pred_opt[k] > s->pred_opt[best])
            best = k;
    }
    return best;
}

/* The fastest predicted split, or the current one unless that is FASTER_BY faster. */
static unsigned fastest(const struct sched *s)
{
    unsigned best = 1;
    for (unsigned k = 2; k < s->cfg.nstages; k++)
        if (s->pred[k] > s->pred[best])
            best = k;
    return s->pred[best] >= s->pred[s->split] * FASTER_BY ? best : s->split;
}

static void say(char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *reason, size_t len, const char *fmt, ...)
{
    if (!reason || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, len, fmt, ap);
    va_end(ap);
}

/* Extra room over the goal when moving down: a third of the margin, or twice the noise seen
 * in the measurements if that is more, but never more than the margin. */
static double cushion(const struct sched *s)
{
    return fmin(s->cfg.margin, fmax(s->cfg.margin / 3, 2 * s->noise));
}

static void record_failure(struct sched *s, unsigned k)
{
    if (s->fails[k] <= MAX_BACKOFF_SHIFT)
        s->fails[k]++;
    s->retry_at[k] = s->nwin + (2u << (s->fails[k] - 1));
}

/* The cloud is saturated: no lower split. The largest split above that meets the goal with
 * margin, else the fastest one at or above the current (the current unless FASTER_BY faster).
 * The current split counts at the rate measured there when that is below its prediction: in a
 * saturated cloud the frames the device runs itself after all are its real rate, and a higher
 * split that does better without the cloud is better for the device and the cloud. */
static unsigned on_saturated(struct sched *s, const struct sched_window *w, char *reason,
                             size_t len)
{
    double need = s->cfg.goal_fps * (1 + s->cfg.margin);
    double here = w->fps > 0 && w->fps < s->pred[s->split] ? w->fps : s->pred[s->split];
    unsigned best = s->split;
    double best_f = here;
    for (unsigned k = s->cfg.nstages - 1; k > s->split; k--) {
        if (backing_off(s, k))
            continue;
        if (s->pred[k] >= need) {
            say(reason, len, "cloud saturated: goal missed %.1f<%g, predicted %.1f at %u", w->fps,
                s->cfg.goal_fps, s->pred[k], k);
            return k;
        }
        if (s->pred[k] > best_f) {
            best = k;
            best_f = s->pred[k];
        }
    }
    if (best != s->split && best_f < here * FASTER_BY)
        best = s->split;
    if (best == s->split)
        say(reason, len, "cloud saturated: goal missed %.1f<%g, holding %u", w->fps,
            s->cfg.goal_fps, best);
    else
        say(reason, len, "cloud saturated: goal missed %.1f<%g, best %.1f at %u", w->fps,
            s->cfg.goal_fps, s->pred[best], best);
    return best;
}

/* The goal was missed for real at the current split: move down (or up past a payload that
 * costs too much), explore an unseen split above, or fall back to the fastest split. */
static unsigned on_miss(struct sched *s, const struct sched_window *w, char *reason, size_t len)
{
    double goal = s->cfg.goal_fps;
    if (s->since_move < FRESH_WINDOWS)
        record_failure(s, s->split);
    /* a saturated cloud may send the device up (less cloud work) even while results lag */
    if (w->cloud_saturated)
        return on_saturated(s, w, reason, len);
    if (s->bottleneck) {
        say(reason, len, "cloud bottleneck: delivered %.1f<<%.1f, holding %u", w->delivered_fps,
            w->fps, s->split);
        return s->split;
    }
    unsigned k = pick(s, cushion(s));
    if (k) {
        s->unreachable = false;
        say(reason, len, "goal missed %.1f<%g, predicted %.1f at %u", w->fps, goal, s->pred[k], k);
        return k;
    }
    /* An unseen split above may carry a smaller payload than the conservative guess: try it
     * when that would meet the goal, or beat every known option by the margin. */
    k = pick_unexplored(s);
    unsigned f = fastest(s);
    double gain = 1 + s->cfg.margin;
    if (k && (s->pred_opt[k] >= goal * gain || s->pred_opt[k] >= s->pred[f] * gain)) {
        say(reason, len, "goal missed %.1f<%g, trying %u: predicted %.1f if its payload is small",
            w->fps, goal, k, s->pred_opt[k]);
        return k;
    }
    s->unreachable = true;
    say(reason, len, "goal unreachable: best %.1f at %u", s->pred[f], f);
    return f;
}

/* The goal was met: reclaim stages when a larger split is predicted to meet it with margin. */
static unsigned on_met(struct sched *s, const struct sched_window *w, char *reason, size_t len)
{
    s->unreachable = false;
    if (++s->good_run >= RESET_WINDOWS)
        s->fails[s->split] = 0;
    double need = s->cfg.goal_fps * (1 + s->cfg.margin);
    for (unsigned k = s->cfg.nstages - 1; k > s->split; k--) {
        if (!backing_off(s, k) && s->pred[k] >= need) {
            say(reason, len, "reclaim: predicted %.1f>=%.1f at %u", s->pred[k], need, k);
            return k;
        }
    }
    if (s->bottleneck)
        say(reason, len, "cloud bottleneck: delivered %.1f<<%.1f", w->delivered_fps, w->fps);
    return s->split;
}

static unsigned decide(struct sched *s, const struct sched_window *w, char *reason, size_t len)
{
    double goal = s->cfg.goal_fps;
    bool below = w->fps < goal;
    bool miss =
        below && (s->since_move == 0 || s->prev_below || w->fps < goal * (1 - MISS_TOLERANCE));
    s->prev_below = below;
    if (!below)
        return on_met(s, w, reason, len);
    s->good_run = 0;
    if (miss)
        return on_miss(s, w, reason, len);
    say(reason, len, "below goal %.1f<%g, confirming", w->fps, goal);
    return s->split;
}

unsigned sched_update(struct sched *s, const struct sched_window *w, char *reason, size_t len)
{
    say(reason, len, "%s", "");
    if (!s || !w)
        return s ? s->split : 1;
    if (w->split >= 1 && w->split < s->cfg.nstages && w->split != s->split) {
        s->split = w->split;
        s->since_move = 0;
        s->prev_below = false;
    }
    s->nwin++;
    learn_device(s, w);
    if (!w->full || !usable(w->fps)) {
        predict(s);
        return s->split;
    }
    if (s->since_move > 0 && s->pred[s->split] > 0) {
        double err = fabs(w->fps / s->pred[s->split] - 1);
        s->noise = ewma(s->noise, fmin(err, 0.5), true);
    }
    s->bottleneck = !(w->delivered_fps >= w->fps * BOTTLENECK_RATIO);
    s->short_of_goal = w->fps < s->cfg.goal_fps * (1 - MISS_TOLERANCE);
    learn_link(s, w);
    predict(s);
    unsigned next = decide(s, w, reason, len);
    if (next != s->split) {
        s->split = next;
        s->since_move = 0;
        s->prev_below = false;
        s->good_run = 0;
    } else {
        s->since_move++;
    }
    return next;
}

bool sched_goal_unreachable(const struct sched *s)
{
    return s && s->unreachable && s->short_of_goal;
}

bool sched_goal_unreachable_at(const struct sched *s, double fps)
{
    return s && s->unreachable && fps < s->cfg.goal_fps * (1 - MISS_TOLERANCE);
}

bool sched_cloud_bottleneck(const struct sched *s)
{
    return s && s->bottleneck;
}

void sched_predictions(const struct sched *s, double *out, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        out[k] = (s && k >= 1 && k < s->cfg.nstages) ? s->pred[k] : 0;
}

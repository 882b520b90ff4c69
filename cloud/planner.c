#include "planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

#define DEFAULT_UTILIZATION 0.85
#define DEFAULT_MARGIN 0.10
#define DEFAULT_STALE_US 10000000
/* The per-frame cloud CPU (us) of one message, assumed for an application nobody measured. */
#define PRIOR_US_PER_MESSAGE 2000.0
/* The measured cost c_a(k) is an exponentially weighted average over the windows of a's devices
 * at split k (whatever their mode): each new window weighs this much. */
#define COST_ALPHA 0.3
/* The split in force is kept while it costs at most this share over the cheapest meeting one. */
#define KEEP_SLACK 0.25
/* A kept plan's cloud CPU may be this much over a new plan's. */
#define PLAN_SLACK 0.10
/* Plan inertia: the last plan stands while it fits within this much more of the capacity than a
 * new plan may use, and counts a goal met at this share of the margin. */
#define KEEP_UTILIZATION 0.10
#define KEEP_MARGIN 0.5
/* ... and a new plan must raise the lowest fps/goal by this share to replace it. */
#define KEEP_RATIO 0.25
/* A goal the last plan funded is funded again before others up to this much cheaper, so a
 * replanning (a device joined, a worker left) moves few of the devices it does not need to. */
#define KEEP_FUND 0.25
/* How long an fps measured at a split stands for that split. */
#define MEASURED_KEEP_US 30000000
/* Congestion: when more than LATE_SHARE of the frames captured in the reports of a window (and
 * at least LATE_MIN_FRAMES) were run on the device after all, the cloud did not serve them in
 * time, whatever its stated capacity: the share of the capacity plans may use drops by
 * BACKOFF (not below FLOOR of the configured one), and not again for HOLD decisions, so the last
 * cut can take effect. After CLEAN_WINDOWS decisions without, it rises by STEP a decision, up to
 * the level that was late last (which itself rises by STEP every PROBE_WINDOWS clean decisions).
 * For SETTLE_WINDOWS decisions after the capacity moved by more than CAPACITY_EVENT (a worker lost
 * or back), or JOIN_EVENT of the devices are new (their own policies move them in their first
 * window), late frames are the event's, not the level's, and are not counted. */
#define LATE_SHARE 0.01
#define LATE_MIN_FRAMES 3
#define BACKOFF 0.85
#define FLOOR 0.5
#define HOLD 2
#define CLEAN_WINDOWS 5
#define STEP 0.01
#define PROBE_WINDOWS 30
#define SETTLE_WINDOWS 5
#define CAPACITY_EVENT 0.2
#define JOIN_EVENT 0.05
/* Rounding allowance when a step is compared with the capacity left (CPU-seconds per second). */
#define FIT_EPS 1e-9

/* What the planner knows of one application's per-frame cloud CPU. */
struct app_cost {
    char name[PLANNER_APP_MAX + 1];
    bool measured[PLANNER_MAX_STAGES];
    double avg_us[PLANNER_MAX_STAGES];     /* the average at split k, where measured */
    double model_us[PLANNER_MAX_STAGES];   /* c_a(k) as the current decision uses it */
    double fastest_us[PLANNER_MAX_STAGES]; /* the fastest device time of each stage, for it */
    unsigned nstages;                      /* as its devices last reported */
};

/* One device's last window: its report, whose device and app pointers are not kept. */
struct dev {
    char id[STATE_DEVICE_MAX + 1];
    size_t app; /* index into planner.app */
    struct planner_device_report r;
    int64_t seen_us;
    unsigned planned; /* the split of the last plan made for it; 0: none */
    bool fresh;       /* a report came since the last decision */
    /* The fps it measured at each split over a whole window (a running mean), and when: a
     * recent measurement wins over the device's model of that split. */
    double measured_fps[PLANNER_MAX_STAGES];
    int64_t measured_us[PLANNER_MAX_STAGES];
    bool measured[PLANNER_MAX_STAGES];
};

struct worker {
    char id[STATE_DEVICE_MAX + 1];
    double capacity_cpu_s;
    int64_t seen_us;
};

/* A planned device's curve and where the plan puts it (scratch of planner_decide). */
struct slot {
    struct dev *d;
    double f[PLANNER_MAX_STAGES];    /* f_d(k), frames per second */
    double load[PLANNER_MAX_STAGES]; /* f_d(k) * c_a(k), CPU-seconds per second */
    unsigned base;                   /* the cheapest usable split (f > 0); 0: none is usable */
    unsigned meet;                   /* the cheapest split meeting the goal; 0: none meets it */
    unsigned fastest;                /* the usable split of highest f */
    unsigned cur;                    /* the plan's split */
    bool met, kept;
};

/* A key and a slot index: the funding order and the water-filling heap. */
struct item {
    double key;
    size_t i;
};

struct planner {
    double utilization, margin, smoothing;
    int64_t device_stale_us, worker_stale_us;
    struct dev **dev; /* sorted by id */
    size_t ndev, devcap;
    struct slot *slot;   /* devcap entries */
    struct item *items;  /* devcap entries */
    unsigned *was, *now; /* devcap entries each: plan_inertia's two assignments */
    struct worker *wrk;  /* sorted by id */
    size_t nwrk, wrkcap;
    struct app_cost *app;
    size_t napp, appcap;
    /* congestion control (see LATE_SHARE): the share in force, the level last found late */
    double share, late_level, last_capacity;
    unsigned hold, clean, settle;
    size_t joined; /* devices new since the last decision */
};

static bool num_ok(double x)
{
    return isfinite(x) && x >= 0;
}

struct planner *planner_new(const struct planner_config *cfg)
{
    struct planner_config c = {0};
    if (cfg)
        c = *cfg;
    if (!(c.utilization >= 0 && c.utilization <= 1) || !num_ok(c.margin) ||
        !(c.smoothing >= 0 && c.smoothing <= 1) || c.device_stale_us < 0 || c.worker_stale_us < 0)
        return NULL;
    struct planner *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->utilization = c.utilization > 0 ? c.utilization : DEFAULT_UTILIZATION;
    p->margin = c.margin > 0 ? c.margin : DEFAULT_MARGIN;
    p->smoothing = c.smoothing > 0 ? c.smoothing : 1;
    p->device_stale_us = c.device_stale_us > 0 ? c.device_stale_us : DEFAULT_STALE_US;
    p->worker_stale_us = c.worker_stale_us > 0 ? c.worker_stale_us : DEFAULT_STALE_US;
    p->share = p->late_level = p->utilization;
    return p;
}

void planner_free(struct planner *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ndev; i++)
        free(p->dev[i]);
    free(p->dev);
    free(p->slot);
    free(p->items);
    free(p->was);
    free(p->now);
    free(p->wrk);
    free(p->app);
    free(p);
}

static bool report_ok(const struct planner_device_report *r)
{
    if (!r || !topic_valid_id(r->device) || !r->app)
        return false;
    size_t len = strlen(r->app);
    if (len == 0 || len > PLANNER_APP_MAX)
        return false;
    if (r->nstages < 2 || r->nstages > PLANNER_MAX_STAGES || r->split < 1 || r->split >= r->nstages)
        return false;
    double v[] = {r->goal,          r->fps,
                  r->rate,          r->bytes_per_frame,
                  r->results_per_s, r->cloud_us_per_result,
                  r->fallback,      r->captured};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!num_ok(v[i]))
            return false;
    for (unsigned k = 0; k < r->nstages; k++)
        if (!num_ok(r->predicted_fps[k]) || !num_ok(r->stage_us[k]))
            return false;
    return true;
}

/* Where id is (found) or would go in the sorted device list, or the worker list. */
static size_t find_id(const struct planner *p, bool worker, const char *id, bool *found)
{
    size_t lo = 0, hi = worker ? p->nwrk : p->ndev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(worker ? p->wrk[mid].id : p->dev[mid]->id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Room for one more device in the list and in decide's scratch. */
static bool dev_reserve(struct planner *p)
{
    if (p->ndev < p->devcap)
        return true;
    size_t cap = p->devcap ? 2 * p->devcap : 16;
    struct dev **dev = realloc(p->dev, cap * sizeof *dev);
    if (!dev)
        return false;
    p->dev = dev;
    struct slot *slot = realloc(p->slot, cap * sizeof *slot);
    if (!slot)
        return false;
    p->slot = slot;
    struct item *items = realloc(p->items, cap * sizeof *items);
    if (!items)
        return false;
    p->items = items;
    unsigned *was = realloc(p->was, cap * sizeof *was);
    if (!was)
        return false;
    p->was = was;
    unsigned *now = realloc(p->now, cap * sizeof *now);
    if (!now)
        return false;
    p->now = now;
    p->devcap = cap;
    return true;
}

/* The index of application name, added when new; false when memory runs out. */
static bool app_index(struct planner *p, const char *name, size_t *a)
{
    for (size_t i = 0; i < p->napp; i++) {
        if (strcmp(p->app[i].name, name) == 0) {
            *a = i;
            return true;
        }
    }
    if (p->napp == p->appcap) {
        size_t cap = p->appcap ? 2 * p->appcap : 4;
        struct app_cost *app = realloc(p->app, cap * sizeof *app);
        if (!app)
            return false;
        p->app = app;
        p->appcap = cap;
    }
    struct app_cost *ac = &p->app[p->napp];
    memset(ac, 0, sizeof *ac);
    strcpy(ac->name, name);
    *a = p->napp++;
    return true;
}

/* Takes a device's report. With smoothing below 1, the predicted fps at each split is a running
 * mean over its windows (a split's first or lost prediction is taken as it comes), so that one
 * noisy window on a loaded device does not move the plan; the fps measured at the split in force
 * is kept (the same running mean) for slot_fill. */
static void dev_copy(struct dev *d, bool found, const struct planner_device_report *r, size_t app,
                     int64_t now_us, double weight)
{
    double was[PLANNER_MAX_STAGES];
    bool same = found && d->app == app && d->r.nstages == r->nstages; /* its history applies */
    bool mean = same && weight < 1;
    if (!same) {
        memset(d->measured, 0, sizeof d->measured);
        d->planned = 0;
    }
    /* a device changes its split only at the end of a window, so the window's fps is the
     * split's; a window with frames run on the device after all says little about the split */
    unsigned at = r->split;
    if (r->auto_mode && at < PLANNER_MAX_STAGES && r->fps > 0 && r->fallback == 0) {
        bool had = d->measured[at] && now_us - d->measured_us[at] <= MEASURED_KEEP_US;
        d->measured_fps[at] = had ? (1 - weight) * d->measured_fps[at] + weight * r->fps : r->fps;
        d->measured_us[at] = now_us;
        d->measured[at] = true;
    }
    if (mean)
        memcpy(was, d->r.predicted_fps, sizeof was);
    strcpy(d->id, r->device);
    d->app = app;
    d->r = *r;
    d->r.device = NULL;
    d->r.app = NULL;
    for (unsigned k = r->nstages; k < PLANNER_MAX_STAGES; k++)
        d->r.predicted_fps[k] = d->r.stage_us[k] = 0;
    for (unsigned k = 0; mean && k < r->nstages; k++)
        if (was[k] > 0 && d->r.predicted_fps[k] > 0)
            d->r.predicted_fps[k] = (1 - weight) * was[k] + weight * d->r.predicted_fps[k];
    d->seen_us = now_us;
    d->fresh = true;
}

bool planner_device(struct planner *p, const struct planner_device_report *r, int64_t now_us)
{
    if (!p || !report_ok(r))
        return false;
    bool found;
    size_t i = find_id(p, false, r->device, &found);
    struct dev *d = found ? p->dev[i] : NULL;
    if (!found && (!dev_reserve(p) || !(d = malloc(sizeof *d))))
        return false;
    size_t a;
    if (!app_index(p, r->app, &a)) {
        if (!found)
            free(d);
        return false;
    }
    if (!found) {
        memmove(&p->dev[i + 1], &p->dev[i], (p->ndev - i) * sizeof p->dev[0]);
        p->dev[i] = d;
        p->ndev++;
        p->joined++;
    }
    dev_copy(d, found, r, a, now_us, p->smoothing);
    struct app_cost *ac = &p->app[a];
    ac->nstages = r->nstages;
    double x = r->cloud_us_per_result;
    if (x > 0) {
        unsigned k = r->split;
        ac->avg_us[k] = ac->measured[k] ? (1 - COST_ALPHA) * ac->avg_us[k] + COST_ALPHA * x : x;
        ac->measured[k] = true;
    }
    return true;
}

bool planner_worker(struct planner *p, const struct planner_worker_report *r, int64_t now_us)
{
    if (!p || !r || !topic_valid_id(r->worker) || !num_ok(r->capacity_cpu_s) ||
        !num_ok(r->used_cpu_s))
        return false;
    bool found;
    size_t i = find_id(p, true, r->worker, &found);
    if (!r->online) {
        if (found) {
            memmove(&p->wrk[i], &p->wrk[i + 1], (p->nwrk - i - 1) * sizeof p->wrk[0]);
            p->nwrk--;
        }
        return true;
    }
    if (!found) {
        if (p->nwrk == p->wrkcap) {
            size_t cap = p->wrkcap ? 2 * p->wrkcap : 8;
            struct worker *w = realloc(p->wrk, cap * sizeof *w);
            if (!w)
                return false;
            p->wrk = w;
            p->wrkcap = cap;
        }
        memmove(&p->wrk[i + 1], &p->wrk[i], (p->nwrk - i) * sizeof p->wrk[0]);
        p->nwrk++;
        strcpy(p->wrk[i].id, r->worker);
    }
    /* the same running mean as a device's fps: a worker's stated capacity moves with the share
     * of a core it got, period by period */
    struct worker *w = &p->wrk[i];
    w->capacity_cpu_s =
        found ? (1 - p->smoothing) * w->capacity_cpu_s + p->smoothing * r->capacity_cpu_s
              : r->capacity_cpu_s;
    w->seen_us = now_us;
    return true;
}

/* Forgets the devices and workers whose last report is older than their limit. */
static void forget_stale(struct planner *p, int64_t now_us)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ndev; i++) {
        if (now_us - p->dev[i]->seen_us > p->device_stale_us)
            free(p->dev[i]);
        else
            p->dev[n++] = p->dev[i];
    }
    p->ndev = n;
    n = 0;
    for (size_t i = 0; i < p->nwrk; i++)
        if (now_us - p->wrk[i].seen_us <= p->worker_stale_us)
            p->wrk[n++] = p->wrk[i];
    p->nwrk = n;
}

/* Folds d's stage times into st, the fastest device time of each stage (0: nobody ran it). */
static void stage_fold(double st[PLANNER_MAX_STAGES], const struct dev *d)
{
    for (unsigned s = 0; s < d->r.split; s++)
        if (d->r.stage_us[s] > 0 && (st[s] == 0 || d->r.stage_us[s] < st[s]))
            st[s] = d->r.stage_us[s];
}

/* c_a(k): measured, else the nearest measured lower split, else the nearest measured higher
 * split plus the stages in between, else the prior plus the stages from k on. */
static double cost_at(const struct app_cost *ac, const double st[PLANNER_MAX_STAGES], unsigned k)
{
    for (unsigned j = k; j >= 1; j--)
        if (ac->measured[j])
            return ac->avg_us[j];
    double between = 0;
    for (unsigned j = k; j < PLANNER_MAX_STAGES; j++) {
        if (ac->measured[j])
            return ac->avg_us[j] + between;
        between += st[j];
    }
    return PRIOR_US_PER_MESSAGE + between;
}

double planner_cost_us(const struct planner *p, const char *app, unsigned k, bool *measured)
{
    if (measured)
        *measured = false;
    if (!p || !app)
        return 0;
    for (size_t a = 0; a < p->napp; a++) {
        const struct app_cost *ac = &p->app[a];
        if (strcmp(ac->name, app) != 0)
            continue;
        if (k < 1 || k >= ac->nstages)
            return 0;
        double st[PLANNER_MAX_STAGES] = {0};
        for (size_t i = 0; i < p->ndev; i++)
            if (p->dev[i]->app == a)
                stage_fold(st, p->dev[i]);
        if (measured)
            *measured = ac->measured[k];
        return cost_at(ac, st, k);
    }
    return 0;
}

/* Every application's c_a(k) for this decision, from the devices left. */
static void app_models(struct planner *p)
{
    for (size_t a = 0; a < p->napp; a++)
        memset(p->app[a].fastest_us, 0, sizeof p->app[a].fastest_us);
    for (size_t i = 0; i < p->ndev; i++)
        stage_fold(p->app[p->dev[i]->app].fastest_us, p->dev[i]);
    for (size_t a = 0; a < p->napp; a++)
        for (unsigned k = 1; k < PLANNER_MAX_STAGES; k++)
            p->app[a].model_us[k] = cost_at(&p->app[a], p->app[a].fastest_us, k);
}

/* Whether the planner knows the device at a split other than its own: its policy's prediction,
 * or an fps it measured there. A device's first window has neither; its own policy then moves it
 * (it is not planned until the next window, instead of being held at its first split). */
static bool knows_other_splits(const struct dev *d, int64_t now_us)
{
    for (unsigned k = 1; k < d->r.nstages; k++)
        if (k != d->r.split && (d->r.predicted_fps[k] > 0 ||
                                (d->measured[k] && now_us - d->measured_us[k] <= MEASURED_KEEP_US)))
            return true;
    return false;
}

static bool meets(const struct planner *p, const struct dev *d, double f)
{
    return f > 0 && f >= d->r.goal * (1 + p->margin);
}

/* f_d(k) for every split, its cloud load, and the device's notable splits. */
static void slot_fill(const struct planner *p, struct slot *s, struct dev *d, int64_t now_us)
{
    const double *c = p->app[d->app].model_us;
    memset(s, 0, sizeof *s);
    s->d = d;
    for (unsigned k = 1; k < d->r.nstages; k++) {
        double f = d->r.predicted_fps[k];
        if (d->measured[k] && now_us - d->measured_us[k] <= MEASURED_KEEP_US)
            f = d->measured_fps[k];
        else if (f <= 0 && k == d->r.split)
            f = d->r.fps;
        if (d->r.rate > 0 && f > d->r.rate)
            f = d->r.rate;
        s->f[k] = f;
        s->load[k] = f * c[k] / 1e6;
        if (f <= 0)
            continue;
        /* "<=" so that ties go to the higher split (less cloud work) */
        if (!s->base || s->load[k] <= s->load[s->base])
            s->base = k;
        if (meets(p, d, f) && (!s->meet || s->load[k] <= s->load[s->meet]))
            s->meet = k;
        if (!s->fastest || f >= s->f[s->fastest])
            s->fastest = k;
    }
    s->cur = s->base ? s->base : d->r.split;
    s->met = s->meet && s->meet == s->base;
}

static bool item_less(struct item a, struct item b)
{
    return a.key < b.key || (a.key == b.key && a.i < b.i);
}

static void heap_push(struct item *h, size_t *n, struct item it)
{
    size_t c = (*n)++;
    while (c > 0 && item_less(it, h[(c - 1) / 2])) {
        h[c] = h[(c - 1) / 2];
        c = (c - 1) / 2;
    }
    h[c] = it;
}

static struct item heap_pop(struct item *h, size_t *n)
{
    struct item top = h[0], last = h[--*n];
    size_t c = 0;
    for (;;) {
        size_t l = 2 * c + 1;
        if (l >= *n)
            break;
        if (l + 1 < *n && item_less(h[l + 1], h[l]))
            l++;
        if (!item_less(h[l], last))
            break;
        h[c] = h[l];
        c = l;
    }
    if (*n > 0)
        h[c] = last;
    return top;
}

/* Every device at its cheapest split, then the goals funded cheapest first while they fit. */
static void plan_fund(struct planner *p, size_t n, double *avail)
{
    struct item *h = p->items;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &p->slot[i];
        *avail -= s->load[s->cur];
        if (!s->meet || s->met)
            continue;
        unsigned was = s->d->planned;
        bool funded = was && was < s->d->r.nstages && was != s->base && meets(p, s->d, s->f[was]);
        double key = s->load[s->meet] - s->load[s->base];
        heap_push(h, &m, (struct item){funded ? key * (1 - KEEP_FUND) : key, i});
    }
    while (m > 0) {
        struct item top = heap_pop(h, &m);
        struct slot *s = &p->slot[top.i];
        double cost = s->load[s->meet] - s->load[s->base];
        if (cost > *avail + FIT_EPS)
            continue; /* a cheaper one further down may still fit */
        *avail -= cost;
        s->cur = s->meet;
        s->met = true;
    }
}

/* The cheapest split faster than the plan's (ties: the faster, then the higher); 0: none. */
static unsigned next_step(const struct slot *s)
{
    unsigned best = 0;
    for (unsigned k = 1; k < s->d->r.nstages; k++) {
        if (s->f[k] <= s->f[s->cur])
            continue;
        if (!best || s->load[k] < s->load[best] ||
            (s->load[k] == s->load[best] && s->f[k] >= s->f[best]))
            best = k;
    }
    return best;
}

/* Water-filling: the unmet device of lowest f/goal takes its cheapest faster step while that
 * fits. When it has none, or it does not fit, the minimum cannot rise any more, and the filling
 * stops there: every unmet device then takes its cheapest split whose f/goal is at least that
 * minimum (rule 3 after rule 2: the capacity the minimum cannot use is not spent). */
static void plan_fill(struct planner *p, size_t n, double *avail)
{
    struct item *h = p->items;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &p->slot[i];
        if (!s->met && s->base && s->d->r.goal > 0)
            heap_push(h, &m, (struct item){s->f[s->cur] / s->d->r.goal, i});
    }
    double floor = 1;
    while (m > 0) {
        struct item top = heap_pop(h, &m);
        struct slot *s = &p->slot[top.i];
        unsigned k = next_step(s);
        if (!k || s->load[k] - s->load[s->cur] > *avail + FIT_EPS) {
            floor = top.key;
            break;
        }
        *avail -= s->load[k] - s->load[s->cur];
        s->cur = k;
        if (meets(p, s->d, s->f[k]))
            s->met = true;
        else
            heap_push(h, &m, (struct item){s->f[k] / s->d->r.goal, top.i});
    }
    for (size_t i = 0; i < n && floor < 1; i++) {
        struct slot *s = &p->slot[i];
        if (s->met || !s->base || s->d->r.goal <= 0)
            continue;
        for (unsigned k = 1; k < s->d->r.nstages; k++) {
            if (s->f[k] > 0 && s->f[k] / s->d->r.goal >= floor && s->load[k] < s->load[s->cur]) {
                *avail += s->load[s->cur] - s->load[k];
                s->cur = k;
            }
        }
    }
}

/* Hysteresis: a met device keeps the split in force when that meets its goal at no more than
 * KEEP_SLACK over the cheapest meeting split, and the difference fits. */
static void plan_keep(struct planner *p, size_t n, double *avail)
{
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &p->slot[i];
        unsigned k = s->d->r.split;
        if (!s->met || s->cur == k || !meets(p, s->d, s->f[k]))
            continue;
        double extra = s->load[k] - s->load[s->cur];
        if (s->load[k] <= s->load[s->meet] * (1 + KEEP_SLACK) && extra <= *avail + FIT_EPS) {
            *avail -= extra;
            s->cur = k;
            s->kept = true;
        }
    }
}

/* The rule's figures of an assignment: goals met (at margin share m of the margin), cloud load,
 * and the lowest f/goal of the devices whose goal it does not meet (1 if none). */
struct tally {
    size_t met;
    double load, min_ratio;
};

static struct tally tally_of(const struct planner *p, size_t n, const unsigned *k, double m)
{
    struct tally t = {0, 0, 1};
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &p->slot[i];
        double f = s->f[k[i]], goal = s->d->r.goal;
        t.load += s->load[k[i]];
        if (f > 0 && f >= goal * (1 + m * p->margin))
            t.met++;
        else if (goal > 0 && f / goal < t.min_ratio)
            t.min_ratio = f / goal;
    }
    return t;
}

/* Plan inertia: the last plan (each device's last planned split; a new device's from the new
 * plan) stands when it still fits, within KEEP_UTILIZATION more of the capacity, and is not worse
 * by the rule: as many goals met (counting a goal met at KEEP_MARGIN of the margin), and when it
 * meets no more, a minimum fps/goal within KEEP_RATIO and a cloud CPU within PLAN_SLACK of the
 * new plan's. So measurement
 * noise does not move a fleet, while an event (a worker lost or back, devices joining, a goal
 * missed at the planned split) does. Returns whether it stood (the slots then hold it). */
static bool plan_inertia(struct planner *p, size_t n, double avail_keep)
{
    unsigned *was = p->was, *now = p->now;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &p->slot[i];
        unsigned k = s->d->planned;
        now[i] = s->cur;
        was[i] = k && k < s->d->r.nstages && s->f[k] > 0 ? k : s->cur;
        any = any || was[i] != s->cur;
    }
    if (!any)
        return false;
    struct tally fresh = tally_of(p, n, now, 1), old = tally_of(p, n, was, KEEP_MARGIN);
    bool tie = old.met == fresh.met; /* then the lower priorities of the rule decide */
    if (old.load > avail_keep + FIT_EPS || old.met < fresh.met ||
        (tie && old.min_ratio < fresh.min_ratio * (1 - KEEP_RATIO)) ||
        (tie && old.load > fresh.load * (1 + PLAN_SLACK) + FIT_EPS))
        return false;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &p->slot[i];
        double f = s->f[was[i]];
        if (s->cur != was[i])
            s->kept = true;
        s->cur = was[i];
        s->met = f > 0 && f >= s->d->r.goal * (1 + KEEP_MARGIN * p->margin);
    }
    return true;
}

/* Without a worker report the cloud cannot be planned: the least cloud work that meets the
 * goal (the highest such split), else the fastest split. */
static void plan_blind(struct planner *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &p->slot[i];
        if (!s->base)
            continue;
        s->cur = s->fastest;
        s->met = false;
        for (unsigned k = s->d->r.nstages - 1; k >= 1; k--) {
            if (meets(p, s->d, s->f[k])) {
                s->cur = k;
                s->met = true;
                break;
            }
        }
    }
}

static double slot_ratio(const struct slot *s)
{
    return s->d->r.goal > 0 ? s->f[s->cur] / s->d->r.goal : 0;
}

static void choice_fill(const struct slot *s, bool blind, struct planner_choice *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->device, s->d->id);
    c->split = s->cur;
    c->predicted_fps = s->f[s->cur];
    c->cloud_cpu_s = s->load[s->cur];
    c->goal_met = s->met;
    c->meetable = s->meet != 0 || s->met; /* a kept plan's goal counts at a smaller margin */
    const char *why = NULL;
    if (!s->base)
        why = "no prediction: kept split";
    else if (blind)
        why = s->met ? "no worker report: goal met, least cloud work"
                     : "no worker report: fastest split";
    else if (s->met)
        why = s->kept ? "goal met, kept split" : "goal met, least cloud CPU";
    else if (!s->meet && s->cur == s->fastest)
        why = "goal unreachable: fastest split";
    if (why)
        snprintf(c->reason, sizeof c->reason, "%s", why);
    else
        snprintf(c->reason, sizeof c->reason, "%s: %.2f of goal",
                 s->meet ? "cloud full" : "goal unreachable", slot_ratio(s));
}

static void summarize(const struct planner *p, size_t n, double capacity, double fixed,
                      struct planner_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    sum->devices = p->ndev;
    sum->planned = n;
    sum->workers = p->nwrk;
    sum->capacity_cpu_s = capacity;
    sum->fixed_cpu_s = fixed;
    sum->min_ratio = 1;
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &p->slot[i];
        sum->goals_met += s->met;
        sum->goals_meetable += s->meet != 0 || s->met;
        sum->planned_cpu_s += s->load[s->cur];
        if (!s->met && slot_ratio(s) < sum->min_ratio)
            sum->min_ratio = slot_ratio(s);
    }
}

/* The share of the frames of the reports since the last decision that ran on the device after
 * all; 0 with fewer than LATE_MIN_FRAMES such frames, and -1 when no report came. */
static double late_share(struct planner *p)
{
    double late = 0, captured = 0;
    bool any = false;
    for (size_t i = 0; i < p->ndev; i++) {
        struct dev *d = p->dev[i];
        if (!d->fresh)
            continue;
        any = true;
        d->fresh = false;
        late += d->r.fallback;
        captured += d->r.captured > 0 ? d->r.captured : d->r.fallback;
    }
    if (!any)
        return -1;
    return late >= LATE_MIN_FRAMES && captured > 0 ? late / captured : 0;
}

/* Congestion control of the share of the capacity the plan may use (see LATE_SHARE). Returns
 * whether it cut the share now. */
static bool congestion(struct planner *p, double capacity, double late)
{
    bool event =
        fabs(capacity - p->last_capacity) > CAPACITY_EVENT * fmax(p->last_capacity, 1e-9) ||
        (p->joined > 0 && (double)p->joined >= JOIN_EVENT * (double)p->ndev);
    p->last_capacity = capacity;
    p->joined = 0;
    if (event)
        p->settle = SETTLE_WINDOWS;
    if (p->hold > 0)
        p->hold--;
    if (p->settle > 0) {
        p->settle--;
        return false;
    }
    if (late < 0)
        return false;
    if (late > LATE_SHARE) {
        p->clean = 0;
        if (p->hold > 0)
            return false;
        p->late_level = p->share;
        p->share = fmax(FLOOR * p->utilization, p->share * BACKOFF);
        p->hold = HOLD;
        return true;
    }
    p->clean++;
    if (p->clean % PROBE_WINDOWS == 0)
        p->late_level = fmin(p->utilization, p->late_level + STEP);
    if (p->clean >= CLEAN_WINDOWS && p->share < p->late_level)
        p->share = fmin(p->late_level, p->share + STEP);
    return false;
}

size_t planner_decide(struct planner *p, int64_t now_us, struct planner_choice *out, size_t max,
                      struct planner_summary *sum)
{
    if (!p)
        return 0;
    forget_stale(p, now_us);
    app_models(p);
    double capacity = 0, fixed = 0;
    for (size_t i = 0; i < p->nwrk; i++)
        capacity += p->wrk[i].capacity_cpu_s;
    double late = late_share(p);
    bool cut = p->nwrk > 0 && congestion(p, capacity, late);
    size_t n = 0;
    for (size_t i = 0; i < p->ndev; i++) {
        struct dev *d = p->dev[i];
        if (d->r.auto_mode && knows_other_splits(d, now_us)) {
            slot_fill(p, &p->slot[n++], d, now_us);
        } else {
            fixed += d->r.results_per_s * d->r.cloud_us_per_result / 1e6;
            d->planned = 0;
        }
    }
    bool blind = p->nwrk == 0;
    if (blind) {
        plan_blind(p, n);
    } else {
        double avail = p->share * capacity - fixed;
        plan_fund(p, n, &avail);
        plan_fill(p, n, &avail);
        plan_keep(p, n, &avail);
        /* the plan of a decision that cut the share for lateness gets no allowance over it */
        double keep = cut ? p->share : p->share + KEEP_UTILIZATION;
        plan_inertia(p, n, keep * capacity - fixed);
    }
    for (size_t i = 0; i < n; i++)
        p->slot[i].d->planned = p->slot[i].cur;
    for (size_t i = 0; out && i < n && i < max; i++)
        choice_fill(&p->slot[i], blind, &out[i]);
    if (sum) {
        summarize(p, n, capacity, fixed, sum);
        sum->utilization = p->share;
        sum->late_share = late > 0 ? late : 0;
    }
    return n;
}

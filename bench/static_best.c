#include "static_best.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* One usable split of one device, as the passes see it. */
struct choice {
    unsigned k;
    unsigned w;   /* load in steps, rounded up; only splits with w <= the table's top are kept */
    bool met;     /* f >= goal * (1 + margin) */
    double ratio; /* f / goal, at most 1 */
    double load;  /* f * c / 1e6, exact */
};

/* The best (most goals met, then least exact load) of the devices so far at one total weight;
 * met < 0: no assignment has that weight. */
struct cell {
    int met;
    double load;
};

struct solver {
    size_t n;
    unsigned top;            /* the capacity in steps */
    struct choice *ch;       /* n * STATIC_MAX_SPLITS; device i's at i * STATIC_MAX_SPLITS */
    unsigned *nch;           /* choices that fit, per device */
    unsigned char *pick;     /* n * (top + 1): 1 + the choice that reached w, 0: none */
    struct cell *row, *next; /* top + 1 each */
};

static bool cell_better(struct cell a, struct cell b)
{
    return a.met > b.met || (a.met == b.met && a.load < b.load);
}

static bool dev_valid(const struct static_dev *d, unsigned nsplits)
{
    if (!(d->goal > 0) || !isfinite(d->goal))
        return false;
    bool usable = false;
    for (unsigned k = 1; k <= nsplits; k++) {
        if (!(d->fps[k] >= 0) || !isfinite(d->fps[k]) || !(d->cpu_us[k] >= 0) ||
            !isfinite(d->cpu_us[k]))
            return false;
        usable |= d->fps[k] > 0;
    }
    return usable;
}

static bool args_valid(const struct static_dev *devs, size_t n, unsigned nsplits, double capacity,
                       double margin, const unsigned *out_split, const struct static_result *res)
{
    if ((n && (!devs || !out_split)) || !res || nsplits < 1 || nsplits > STATIC_MAX_SPLITS)
        return false;
    if (!(capacity >= 0) || !isfinite(capacity) || !(margin >= 0) || !isfinite(margin))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!dev_valid(&devs[i], nsplits))
            return false;
    }
    return true;
}

static double load_of(const struct static_dev *d, unsigned k)
{
    return d->fps[k] * d->cpu_us[k] / 1e6;
}

/* Device i's usable splits that fit the capacity on their own, with their weights. */
static void choices_fill(struct solver *s, const struct static_dev *d, size_t i, unsigned nsplits,
                         double step, double margin)
{
    struct choice *c = &s->ch[i * STATIC_MAX_SPLITS];
    unsigned m = 0;
    for (unsigned k = 1; k <= nsplits; k++) {
        double f = d->fps[k], load = load_of(d, k);
        double q = ceil(load / step);
        if (f <= 0 || q > (double)s->top)
            continue;
        c[m++] = (struct choice){.k = k,
                                 .w = (unsigned)q,
                                 .met = f >= d->goal * (1 + margin),
                                 .ratio = fmin(f / d->goal, 1),
                                 .load = load};
    }
    s->nch[i] = m;
}

/* One device's step of a pass: s->next from s->row through device i's choices allowed at t. */
static unsigned pass_device(struct solver *s, size_t i, unsigned hi, double t)
{
    const struct choice *c = &s->ch[i * STATIC_MAX_SPLITS];
    unsigned char *pick = &s->pick[i * (s->top + 1)];
    unsigned new_hi = 0;
    for (unsigned w = 0; w <= s->top; w++) {
        s->next[w] = (struct cell){.met = -1};
        pick[w] = 0;
    }
    for (unsigned w = 0; w <= hi; w++) {
        if (s->row[w].met < 0)
            continue;
        for (unsigned j = 0; j < s->nch[i]; j++) {
            unsigned to = w + c[j].w;
            if ((!c[j].met && c[j].ratio < t) || to > s->top)
                continue;
            struct cell x = {s->row[w].met + c[j].met, s->row[w].load + c[j].load};
            if (cell_better(x, s->next[to])) {
                s->next[to] = x;
                pick[to] = (unsigned char)(j + 1);
                new_hi = to > new_hi ? to : new_hi;
            }
        }
    }
    return new_hi;
}

/* A pass over every device with the choices that meet their goal or have ratio >= t. Returns
 * the best cell over every total weight and sets *at to its weight (met < 0: nothing fits). */
static struct cell pass(struct solver *s, double t, unsigned *at)
{
    for (unsigned w = 0; w <= s->top; w++)
        s->row[w] = (struct cell){.met = -1};
    s->row[0] = (struct cell){0, 0};
    unsigned hi = 0;
    for (size_t i = 0; i < s->n; i++) {
        hi = pass_device(s, i, hi, t);
        struct cell *tmp = s->row;
        s->row = s->next;
        s->next = tmp;
    }
    struct cell best = {.met = -1};
    *at = 0;
    for (unsigned w = 0; w <= hi; w++) {
        if (s->row[w].met >= 0 && cell_better(s->row[w], best)) {
            best = s->row[w];
            *at = w;
        }
    }
    return best;
}

/* The splits of the last pass's assignment of total weight w. */
static void trace(const struct solver *s, unsigned w, unsigned *out)
{
    for (size_t i = s->n; i-- > 0;) {
        const struct choice *c = &s->ch[i * STATIC_MAX_SPLITS + s->pick[i * (s->top + 1) + w] - 1];
        out[i] = c->k;
        w -= c->w;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The distinct ratios of the choices that miss their goal, in descending order, into cand
 * (room for n * STATIC_MAX_SPLITS); returns how many. */
static size_t candidates(const struct solver *s, double *cand)
{
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        for (unsigned j = 0; j < s->nch[i]; j++) {
            const struct choice *c = &s->ch[i * STATIC_MAX_SPLITS + j];
            if (!c->met)
                cand[m++] = c->ratio;
        }
    }
    qsort(cand, m, sizeof *cand, cmp_desc);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u == 0 || cand[i] != cand[u - 1])
            cand[u++] = cand[i];
    }
    return u;
}

/* Rule 2 and 3 once rule 1 gave met goals: the first candidate ratio, in descending order, at
 * which met goals can still be met (a binary search: feasibility only grows as t falls), and
 * that pass's least-load assignment into out. */
static enum es_err best_ratio(struct solver *s, int met, unsigned *out)
{
    double *cand = malloc(s->n * STATIC_MAX_SPLITS * sizeof *cand);
    if (!cand)
        return ES_ENOMEM;
    size_t m = candidates(s, cand); /* >= 1: the first pass's assignment misses a goal */
    size_t lo = 0, hi = m - 1, last = m;
    unsigned at = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        last = mid;
        if (pass(s, cand[mid], &at).met == met)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (last != lo)
        pass(s, cand[lo], &at);
    trace(s, at, out);
    free(cand);
    return ES_OK;
}

/* When nothing fits: every device's least-load usable split (ties to the higher split). */
static void cheapest(const struct static_dev *devs, size_t n, unsigned nsplits, unsigned *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned best = 0;
        for (unsigned k = 1; k <= nsplits; k++) {
            if (devs[i].fps[k] > 0 && (!best || load_of(&devs[i], k) <= load_of(&devs[i], best)))
                best = k;
        }
        out[i] = best;
    }
}

static void summarize(const struct static_dev *devs, size_t n, unsigned nsplits, double margin,
                      const unsigned *split, struct static_result *res)
{
    res->goals_met = res->goals_meetable = 0;
    res->min_ratio = 1;
    res->cloud_cpu_s = 0;
    for (size_t i = 0; i < n; i++) {
        const struct static_dev *d = &devs[i];
        double f = d->fps[split[i]], need = d->goal * (1 + margin);
        res->cloud_cpu_s += load_of(d, split[i]);
        if (f >= need)
            res->goals_met++;
        else
            res->min_ratio = fmin(res->min_ratio, f / d->goal);
        for (unsigned k = 1; k <= nsplits; k++) {
            if (d->fps[k] > 0 && d->fps[k] >= need) {
                res->goals_meetable++;
                break;
            }
        }
    }
}

static enum es_err solve(struct solver *s, const struct static_dev *devs, unsigned nsplits,
                         unsigned *split, bool *fits)
{
    unsigned at;
    struct cell best = pass(s, 0, &at);
    *fits = best.met >= 0;
    if (!*fits) {
        cheapest(devs, s->n, nsplits, split);
        return ES_OK;
    }
    if ((size_t)best.met == s->n) {
        trace(s, at, split);
        return ES_OK;
    }
    return best_ratio(s, best.met, split);
}

enum es_err static_best(const struct static_dev *devs, size_t n, unsigned nsplits, double capacity,
                        double margin, unsigned *out_split, struct static_result *res)
{
    if (!args_valid(devs, n, nsplits, capacity, margin, out_split, res))
        return ES_EINVAL;
    struct solver s = {.n = n, .top = capacity > 0 ? STATIC_STEPS : 0};
    size_t cells = (size_t)s.top + 1;
    if (n > SIZE_MAX / cells / STATIC_MAX_SPLITS / sizeof(double))
        return ES_ENOMEM;
    enum es_err err = ES_ENOMEM;
    unsigned *split = malloc((n ? n : 1) * sizeof *split);
    s.ch = malloc((n ? n : 1) * STATIC_MAX_SPLITS * sizeof *s.ch);
    s.nch = malloc((n ? n : 1) * sizeof *s.nch);
    s.pick = malloc((n ? n : 1) * cells);
    s.row = malloc(cells * sizeof *s.row);
    s.next = malloc(cells * sizeof *s.next);
    if (!split || !s.ch || !s.nch || !s.pick || !s.row || !s.next)
        goto cleanup;
    double step = capacity > 0 ? capacity / STATIC_STEPS : 1;
    for (size_t i = 0; i < n; i++)
        choices_fill(&s, &devs[i], i, nsplits, step, margin);
    bool fits;
    err = solve(&s, devs, nsplits, split, &fits);
    if (err != ES_OK)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        out_split[i] = split[i];
    summarize(devs, n, nsplits, margin, split, res);
    res->fits = fits;
cleanup:
    free(s.next);
    free(s.row);
    free(s.pick);
    free(s.nch);
    free(s.ch);
    free(split);
    return err;
}

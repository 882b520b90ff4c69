/* The best static split assignment (bench/static_best.h) against an exhaustive search over every
 * assignment of random small fleets (1..6 devices of 6 splits, a fixed seed), with ample and
 * scarce capacity; plus its argument checks and a fleet small enough to work out by hand. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "static_best.h"

#define NSPLITS 6
#define MAX_DEVS 6
#define FLEETS 400
#define MARGIN 0.10

/* A plan as the rule ranks it. */
struct plan {
    bool found;
    size_t met;
    double ratio, cpu;
};

static double rnd(uint64_t *s, double lo, double hi)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

static double load(const struct static_dev *d, unsigned k)
{
    return d->fps[k] * d->cpu_us[k] / 1e6;
}

/* The plan of one assignment (every split usable). */
static struct plan plan_of(const struct static_dev *d, size_t n, const unsigned *k)
{
    struct plan x = {.found = true, .ratio = 1};
    for (size_t i = 0; i < n; i++) {
        double f = d[i].fps[k[i]];
        x.cpu += load(&d[i], k[i]);
        if (f >= d[i].goal * (1 + MARGIN))
            x.met++;
        else
            x.ratio = fmin(x.ratio, f / d[i].goal);
    }
    return x;
}

/* Rules 1 and 2 only: <0, 0 or >0 as a ranks below, with or above b. */
static int plan_cmp(const struct plan *a, const struct plan *b)
{
    if (a->found != b->found)
        return a->found ? 1 : -1;
    if (a->met != b->met)
        return a->met > b->met ? 1 : -1;
    if (fabs(a->ratio - b->ratio) > 1e-9)
        return a->ratio > b->ratio ? 1 : -1;
    return 0;
}

static bool usable(const struct static_dev *d, size_t n, const unsigned *k)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i].fps[k[i]] <= 0)
            return false;
    }
    return true;
}

/* The best plan among every assignment whose load is at most cap. */
static struct plan exhaustive(const struct static_dev *d, size_t n, double cap)
{
    struct plan best = {0};
    unsigned k[MAX_DEVS];
    for (size_t i = 0; i < n; i++)
        k[i] = 1;
    for (;;) {
        if (usable(d, n, k)) {
            struct plan x = plan_of(d, n, k);
            int c = plan_cmp(&x, &best);
            if (x.cpu <= cap && (c > 0 || (c == 0 && x.cpu < best.cpu)))
                best = x;
        }
        size_t i = 0;
        while (i < n && ++k[i] > NSPLITS)
            k[i++] = 1;
        if (i == n)
            return best;
    }
}

/* A random device: a goal of 5..25 fps, fps falling roughly with the split (now and then a
 * split that gives nothing), cloud CPU falling with the split. */
static void random_dev(uint64_t *s, struct static_dev *d)
{
    memset(d, 0, sizeof *d);
    d->goal = rnd(s, 5, 25);
    double f = rnd(s, 10, 45), c = rnd(s, 1000, 4000);
    for (unsigned k = 1; k <= NSPLITS; k++) {
        d->fps[k] = rnd(s, 0, 1) < 0.1 && k > 1 ? 0 : f;
        d->cpu_us[k] = c;
        f *= rnd(s, 0.6, 1.05);
        c *= rnd(s, 0.3, 1.0);
    }
}

/* The least and the most cloud load of the fleet, and the least with every meetable goal met. */
static void fleet_loads(const struct static_dev *d, size_t n, double *lo, double *hi, double *meet)
{
    *lo = *hi = *meet = 0;
    for (size_t i = 0; i < n; i++) {
        double l = INFINITY, h = 0, m = INFINITY;
        for (unsigned k = 1; k <= NSPLITS; k++) {
            if (d[i].fps[k] <= 0)
                continue;
            l = fmin(l, load(&d[i], k));
            h = fmax(h, load(&d[i], k));
            if (d[i].fps[k] >= d[i].goal * (1 + MARGIN))
                m = fmin(m, load(&d[i], k));
        }
        *lo += l;
        *hi += h;
        *meet += isfinite(m) ? m : l;
    }
}

/* How an answer compares with the exhaustive search's. */
enum outcome {
    SAME,  /* the same goals met and min ratio, cloud CPU within 0.1% */
    SHORT, /* worse, where the rounding allows it: the best plan lies within the last steps */
};

/* One fleet at capacity cap. The answer must be no better than the best plan within cap and no
 * worse than the best within cap less the rounding's worst case (a step per device), and equal
 * to the first when the two agree. */
static enum outcome check_fleet(const struct static_dev *d, size_t n, double cap)
{
    unsigned split[MAX_DEVS];
    struct static_result res;
    CHECK_EQ_INT(static_best(d, n, NSPLITS, cap, MARGIN, split, &res), ES_OK);
    struct plan got = plan_of(d, n, split);
    got.found = res.fits;
    CHECK(usable(d, n, split));
    CHECK_EQ_INT(res.goals_met, got.met);
    CHECK(fabs(res.min_ratio - got.ratio) <= 1e-12);
    CHECK(fabs(res.cloud_cpu_s - got.cpu) <= 1e-12);
    struct plan hi = exhaustive(d, n, cap);
    struct plan lo = exhaustive(d, n, cap - (double)(n + 1) * cap / STATIC_STEPS);
    if (res.fits)
        CHECK(got.cpu <= cap * (1 + 1e-12));
    if (!hi.found) {
        CHECK(!res.fits);
        return SAME;
    }
    bool same = got.found && plan_cmp(&got, &hi) == 0 && fabs(got.cpu - hi.cpu) <= 1e-3 * hi.cpu;
    if (same)
        return SAME;
    CHECK(plan_cmp(&got, &hi) <= 0);
    CHECK(plan_cmp(&got, &lo) >= 0);
    if (lo.found && plan_cmp(&got, &lo) == 0)
        CHECK(got.cpu <= lo.cpu * (1 + 1e-3));
    if (!lo.found)
        CHECK(!got.found);
    return SHORT;
}

static void test_exhaustive(void)
{
    uint64_t seed = 20240611;
    size_t short_of = 0, scarce = 0, infeasible = 0;
    for (int f = 0; f < FLEETS; f++) {
        size_t n = 1 + (size_t)f % MAX_DEVS;
        struct static_dev d[MAX_DEVS];
        for (size_t i = 0; i < n; i++)
            random_dev(&seed, &d[i]);
        double lo, hi, meet;
        fleet_loads(d, n, &lo, &hi, &meet);
        double cap;
        switch (f / MAX_DEVS % 4) {
        case 0: /* ample: every assignment fits */
            cap = 1.5 * hi;
            break;
        case 1: /* scarce: between the cheapest plan and every goal met (or 20% over it) */
        case 2:
            cap = lo + rnd(&seed, 0.001, 1) * fmax(meet - lo, 0.2 * lo);
            scarce++;
            break;
        default: /* anywhere, now and then below the cheapest plan */
            cap = rnd(&seed, 0.9 * lo, hi);
            infeasible += cap < lo;
            break;
        }
        short_of += check_fleet(d, n, cap) == SHORT;
    }
    printf("%d fleets (%zu scarce, %zu below the cheapest plan): %zu short of the exhaustive "
           "search by the rounding, the rest the same\n",
           FLEETS, scarce, infeasible, short_of);
    CHECK(short_of <= FLEETS / 50);
}

/* Two devices, 0.009 CPU-s/s: meeting both goals costs 0.0096, so one is met. Either way the
 * other runs 8 fps (0.8 of its goal); meeting d0 costs the least in all. */
static void test_by_hand(void)
{
    struct static_dev d[2] = {
        {.goal = 10, .fps = {0, 20, 12, 8}, .cpu_us = {0, 400, 300, 100}},
        {.goal = 10, .fps = {0, 20, 12, 8}, .cpu_us = {0, 600, 500, 200}},
    };
    unsigned split[2];
    struct static_result res;
    CHECK_EQ_INT(static_best(d, 2, 3, 0.009, MARGIN, split, &res), ES_OK);
    /* d0 met at 12 fps (0.0036) and d1 at 8 fps (0.0016), against d1 met (0.006) and d0 at 8
     * fps (0.0008) */
    CHECK(res.fits);
    CHECK_EQ_INT(res.goals_met, 1);
    CHECK_EQ_INT(split[0], 2);
    CHECK_EQ_INT(split[1], 3);
    CHECK(fabs(res.cloud_cpu_s - 0.0052) < 1e-12);
    CHECK(fabs(res.min_ratio - 0.8) < 1e-12);
    CHECK_EQ_INT(res.goals_meetable, 2);
    /* with ample capacity both are met at their cheapest meeting split */
    CHECK_EQ_INT(static_best(d, 2, 3, 1, MARGIN, split, &res), ES_OK);
    CHECK_EQ_INT(res.goals_met, 2);
    CHECK(fabs(res.cloud_cpu_s - 0.0096) < 1e-12);
    /* below the cheapest plan (0.0024) nothing fits: the least-load splits are reported */
    CHECK_EQ_INT(static_best(d, 2, 3, 0.002, MARGIN, split, &res), ES_OK);
    CHECK(!res.fits);
    CHECK_EQ_INT(split[0], 3);
    CHECK_EQ_INT(split[1], 3);
}

static void test_args(void)
{
    struct static_dev d = {.goal = 10, .fps = {0, 20}, .cpu_us = {0, 100}};
    unsigned split = 99;
    struct static_result res;
    CHECK_EQ_INT(static_best(&d, 1, 1, 1, MARGIN, &split, &res), ES_OK);
    CHECK_EQ_INT(split, 1);
    CHECK_EQ_INT(static_best(&d, 1, 0, 1, MARGIN, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, STATIC_MAX_SPLITS + 1, 1, MARGIN, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, 1, -1, MARGIN, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, 1, NAN, MARGIN, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, 1, 1, -0.1, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(NULL, 1, 1, 1, MARGIN, &split, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, 1, 1, MARGIN, NULL, &res), ES_EINVAL);
    CHECK_EQ_INT(static_best(&d, 1, 1, 1, MARGIN, &split, NULL), ES_EINVAL);
    struct static_dev bad = d;
    bad.goal = 0;
    CHECK_EQ_INT(static_best(&bad, 1, 1, 1, MARGIN, &split, &res), ES_EINVAL);
    bad = d;
    bad.fps[1] = 0;
    CHECK_EQ_INT(static_best(&bad, 1, 1, 1, MARGIN, &split, &res), ES_EINVAL);
    bad = d;
    bad.cpu_us[1] = INFINITY;
    CHECK_EQ_INT(static_best(&bad, 1, 1, 1, MARGIN, &split, &res), ES_EINVAL);
    /* no devices: nothing to meet, nothing used */
    CHECK_EQ_INT(static_best(NULL, 0, 1, 1, MARGIN, NULL, &res), ES_OK);
    CHECK(res.fits);
    CHECK_EQ_INT(res.goals_met, 0);
    CHECK_EQ_DBL(res.min_ratio, 1);
    /* no capacity: only a split of no cloud load fits */
    d.cpu_us[1] = 0;
    CHECK_EQ_INT(static_best(&d, 1, 1, 0, MARGIN, &split, &res), ES_OK);
    CHECK(res.fits);
}

int main(void)
{
    test_args();
    test_by_hand();
    test_exhaustive();
    return check_exit();
}

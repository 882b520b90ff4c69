/* sim-fleet: the fleet planner (cloud/planner.h) on simulated fleets: how long a decision takes,
 * and how good it is.
 *
 * A fleet has N devices of two applications of 7 stages: "ball" (the ball tracker's stage times
 * and payloads, tests/support/sim_device.c) and "sensor" (a lighter one). Each device has a
 * slowdown drawn from 1x..20x, an uplink of 10..100 MB/s, a 30 fps camera and a goal drawn
 * from 5..25 fps; its predicted fps at split k is 1e6 / (slowdown * the stage times before k + k's
 * payload over its uplink + 150 us). The cloud spends, per frame at split k, the stages from k on
 * (at 1x) plus 300 us for the message. Every device reports one window at a random split (its cloud
 * CPU with 5% noise), and W = max(1, N / 50) workers of WORKER_CPU_S CPU-seconds per second report;
 * then planner_decide is timed (the median of 15 runs).
 *
 * It prints one line per N: devices, workers, the median decide time, goals met of those some
 * split meets, and the plan's cloud CPU against what the plan may use. Then, for N = 8, the
 * plan against the best one an exhaustive search over every split assignment finds, once with
 * ample capacity and once with scarce.
 *
 * Usage: sim-fleet [N...]   (default: 10 100 1000 5000) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "planner.h"
#include "sim_device.h"

#define NST SIM_NSTAGES
#define RUNS 15
#define RATE 30.0
#define WORKER_CPU_S 0.5
#define UTILIZATION 0.85
#define SMALL_N 8
#define MAX_N 1000000L

struct profile {
    const char *app;
    const double *stage_us; /* device time of each stage at 1x */
    const double *payload;  /* bytes published at each split */
};

static const double sensor_stage_us[NST] = {400, 1200, 3000, 600, 200, 50, 10};
static const double sensor_payload[NST] = {0, 64000, 16000, 4000, 500, 200, 100};
static const struct profile profiles[2] = {{"ball", sim_base_us, sim_payload_at},
                                           {"sensor", sensor_stage_us, sensor_payload}};

struct sim_dev {
    const struct profile *pr;
    double slowdown, link, goal;
    unsigned split;
};

static double rnd(uint64_t *s, double lo, double hi)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

static double dev_fps(const struct sim_dev *d, unsigned k)
{
    double t = 150 + d->pr->payload[k] / d->link * 1e6;
    for (unsigned i = 0; i < k; i++)
        t += d->slowdown * d->pr->stage_us[i];
    return 1e6 / t;
}

static double cloud_us(const struct profile *pr, unsigned k)
{
    double c = 300;
    for (unsigned i = k; i < NST; i++)
        c += pr->stage_us[i];
    return c;
}

static void dev_report(const struct sim_dev *d, const char *id, uint64_t *s,
                       struct planner_device_report *r)
{
    memset(r, 0, sizeof *r);
    r->device = id;
    r->app = d->pr->app;
    r->auto_mode = true;
    r->goal = d->goal;
    r->split = d->split;
    r->nstages = NST;
    r->rate = RATE;
    for (unsigned k = 1; k < NST; k++)
        r->predicted_fps[k] = dev_fps(d, k);
    for (unsigned i = 0; i < d->split; i++)
        r->stage_us[i] = d->slowdown * d->pr->stage_us[i];
    r->fps = fmin(RATE, dev_fps(d, d->split));
    r->bytes_per_frame = d->pr->payload[d->split];
    r->results_per_s = r->fps;
    r->cloud_us_per_result = cloud_us(d->pr, d->split) * rnd(s, 0.95, 1.05);
}

/* A fleet of n devices fed to a new planner; the devices are kept in devs (n entries). */
static struct planner *fleet_make(size_t n, uint64_t seed, struct sim_dev *devs)
{
    struct planner_config cfg = {.utilization = UTILIZATION};
    struct planner *p = planner_new(&cfg);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct sim_dev *d = &devs[i];
        d->pr = &profiles[i % 2];
        d->slowdown = rnd(&seed, 1, 20);
        d->link = rnd(&seed, 1e7, 1e8);
        d->goal = rnd(&seed, 5, 25);
        d->split = 1 + (unsigned)rnd(&seed, 0, NST - 1);
        char id[32];
        snprintf(id, sizeof id, "cam-%06u", (unsigned)i);
        struct planner_device_report r;
        dev_report(d, id, &seed, &r);
        if (!planner_device(p, &r, 0)) {
            planner_free(p);
            return NULL;
        }
    }
    return p;
}

static bool workers(struct planner *p, size_t w, double cpu_s)
{
    for (size_t i = 0; i < w; i++) {
        char id[32];
        snprintf(id, sizeof id, "worker-%04u", (unsigned)i);
        struct planner_worker_report r = {.worker = id, .online = true, .capacity_cpu_s = cpu_s};
        if (!planner_worker(p, &r, 0))
            return false;
    }
    return true;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run_fleet(size_t n)
{
    size_t w = n / 50 > 1 ? n / 50 : 1;
    struct sim_dev *devs = calloc(n, sizeof *devs);
    struct planner_choice *out = calloc(n, sizeof *out);
    struct planner *p = devs && out ? fleet_make(n, 1000 + n, devs) : NULL;
    int rc = 1;
    if (!p || !workers(p, w, WORKER_CPU_S)) {
        fprintf(stderr, "sim-fleet: cannot set up a fleet of %zu devices\n", n);
        goto cleanup;
    }
    double ms[RUNS];
    struct planner_summary sum;
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        planner_decide(p, 0, out, n, &sum);
        ms[i] = now_ms() - t0;
    }
    qsort(ms, RUNS, sizeof ms[0], cmp_double);
    printf("devices %5zu  workers %3zu  decide %8.3f ms (median of %d)  goals met %5zu / %5zu"
           "  cloud CPU %7.3f of %7.3f s/s\n",
           n, w, ms[RUNS / 2], RUNS, sum.goals_met, sum.goals_meetable, sum.planned_cpu_s,
           UTILIZATION * sum.capacity_cpu_s - sum.fixed_cpu_s);
    rc = 0;
cleanup:
    planner_free(p);
    free(out);
    free(devs);
    return rc;
}

/* One small-fleet device as the exhaustive search sees it: f and cloud load per split. */
struct bf_dev {
    double f[NST], load[NST], goal;
};

struct bf_plan {
    size_t met;
    double min_ratio, cpu;
    bool found;
};

static bool bf_better(const struct bf_plan *x, const struct bf_plan *best)
{
    if (!best->found || x->met != best->met)
        return !best->found || x->met > best->met;
    if (fabs(x->min_ratio - best->min_ratio) > 1e-12)
        return x->min_ratio > best->min_ratio;
    return x->cpu < best->cpu;
}

/* The best plan by planner.h's rule among every assignment of splits that fits in cap. */
static struct bf_plan bf_search(const struct bf_dev *d, size_t n, double cap)
{
    struct bf_plan best = {0};
    unsigned k[SMALL_N];
    for (size_t i = 0; i < n; i++)
        k[i] = 1;
    for (;;) {
        struct bf_plan x = {.min_ratio = 1, .found = true};
        for (size_t i = 0; i < n; i++) {
            double f = d[i].f[k[i]];
            x.cpu += d[i].load[k[i]];
            if (f >= d[i].goal * 1.10)
                x.met++;
            else
                x.min_ratio = fmin(x.min_ratio, f / d[i].goal);
        }
        if (x.cpu <= cap + 1e-9 && bf_better(&x, &best))
            best = x;
        size_t i = 0;
        while (i < n && ++k[i] == NST)
            k[i++] = 1;
        if (i == n)
            return best;
    }
}

/* The small fleet's view for the search, and the cheapest plan's and all goals' cloud CPU. */
static void bf_view(const struct planner *p, const struct sim_dev *devs, struct bf_dev *bd,
                    double *lo_sum, double *meet_sum)
{
    *lo_sum = *meet_sum = 0;
    for (size_t i = 0; i < SMALL_N; i++) {
        double lo = INFINITY, meet = INFINITY;
        bd[i].goal = devs[i].goal;
        for (unsigned k = 1; k < NST; k++) {
            bd[i].f[k] = fmin(RATE, dev_fps(&devs[i], k));
            bd[i].load[k] = bd[i].f[k] * planner_cost_us(p, devs[i].pr->app, k, NULL) / 1e6;
            lo = fmin(lo, bd[i].load[k]);
            if (bd[i].f[k] >= bd[i].goal * 1.10)
                meet = fmin(meet, bd[i].load[k]);
        }
        *lo_sum += lo;
        *meet_sum += isfinite(meet) ? meet : lo;
    }
}

static int run_small(void)
{
    struct sim_dev devs[SMALL_N];
    struct planner *p = fleet_make(SMALL_N, 8, devs);
    if (!p)
        return 1;
    struct bf_dev bd[SMALL_N];
    double lo, meet;
    bf_view(p, devs, bd, &lo, &meet);
    const char *name[2] = {"ample", "scarce"};
    double cap[2] = {WORKER_CPU_S, (lo + 0.5 * (meet - lo)) / UTILIZATION};
    for (int i = 0; i < 2; i++) {
        if (!workers(p, 1, cap[i]))
            break;
        struct planner_summary sum;
        planner_decide(p, 0, NULL, 0, &sum);
        struct bf_plan best = bf_search(bd, SMALL_N, UTILIZATION * cap[i]);
        printf("devices %5d  %-6s exhaustive: goals met %zu, min f/goal %.3f, cloud CPU %.4f s/s"
               "  planner: goals met %zu, min f/goal %.3f, cloud CPU %.4f s/s (of %.4f)\n",
               SMALL_N, name[i], best.met, best.min_ratio, best.cpu, sum.goals_met, sum.min_ratio,
               sum.planned_cpu_s, UTILIZATION * cap[i]);
    }
    planner_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    static const size_t defaults[] = {10, 100, 1000, 5000};
    int rc = 0;
    if (argc < 2) {
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            rc |= run_fleet(defaults[i]);
    }
    for (int i = 1; i < argc; i++) {
        long n;
        if (cli_parse_long(argv[i], 1, MAX_N, &n) != ES_OK) {
            fprintf(stderr, "sim-fleet: invalid fleet size %s (1..%ld)\n", argv[i], MAX_N);
            return 2;
        }
        rc |= run_fleet((size_t)n);
    }
    return rc | run_small();
}

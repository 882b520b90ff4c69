/* The fleet planner: its inputs' checks, forgetting, the cost model, the rule against an
 * exhaustive search over every split assignment of small random fleets, hysteresis, and a
 * simulated fleet on a simulated clock whose workers leave and come back. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "planner.h"

#define NST 7
#define SEC 1000000LL
#define MAXD 6
#define EPS 1e-9

/* A seeded generator: a uniform number in [lo, hi). */
static double rnd(uint64_t *s, double lo, double hi)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

static struct planner *make(double utilization)
{
    struct planner_config cfg = {.utilization = utilization};
    return planner_new(&cfg);
}

/* An automatic-mode device of application app at split, with a prediction for every split. */
static struct planner_device_report report(const char *id, const char *app, double goal,
                                           unsigned split, const double f[NST])
{
    struct planner_device_report r = {
        .device = id, .app = app, .auto_mode = true, .goal = goal, .split = split, .nstages = NST};
    for (unsigned k = 1; k < NST; k++)
        r.predicted_fps[k] = f[k];
    r.fps = f[split];
    return r;
}

static void worker(struct planner *p, const char *id, double cap, int64_t now, bool online)
{
    struct planner_worker_report w = {.worker = id, .online = online, .capacity_cpu_s = cap};
    CHECK(planner_worker(p, &w, now));
}

/* Gives application app the measured per-frame cloud cost c[k] at every split, through a
 * manual-mode device that moves through them and returns no results (so no fixed load). */
static void prime_costs(struct planner *p, const char *app, const double c[NST], int64_t now)
{
    char id[40];
    snprintf(id, sizeof id, "prime-%s", app);
    for (unsigned k = 1; k < NST; k++) {
        struct planner_device_report r = {
            .device = id, .app = app, .split = k, .nstages = NST, .cloud_us_per_result = c[k]};
        CHECK(planner_device(p, &r, now));
    }
}

static void test_config_and_reports(void)
{
    struct planner_config bad[] = {
        {.utilization = 1.5}, {.utilization = -0.1},   {.utilization = NAN},   {.margin = -1},
        {.margin = INFINITY}, {.device_stale_us = -1}, {.worker_stale_us = -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(planner_new(&bad[i]) == NULL);
    planner_free(NULL);
    struct planner *p = planner_new(NULL);
    CHECK(p != NULL);
    double f[NST] = {0, 10, 10, 10, 10, 10, 10};
    struct planner_device_report ok = report("cam-01", "ball", 5, 3, f);
    CHECK(!planner_device(NULL, &ok, 0));
    CHECK(!planner_device(p, NULL, 0));
    struct planner_device_report r[16];
    size_t n = 0;
    for (size_t i = 0; i < 16; i++)
        r[i] = ok;
    r[n++].device = NULL;
    r[n++].device = "a/b";
    r[n++].device = "";
    r[n++].device = "0123456789012345678901234567890123456789012345678901234567890123456789";
    r[n++].app = NULL;
    r[n++].app = "";
    char long_app[PLANNER_APP_MAX + 2];
    memset(long_app, 'a', sizeof long_app - 1);
    long_app[sizeof long_app - 1] = '\0';
    r[n++].app = long_app;
    r[n++].nstages = 1;
    r[n++].nstages = PLANNER_MAX_STAGES + 1;
    r[n++].split = 0;
    r[n++].split = NST;
    r[n++].goal = NAN;
    r[n++].fps = -1;
    r[n++].predicted_fps[2] = INFINITY;
    r[n++].stage_us[1] = -1;
    r[n++].cloud_us_per_result = NAN;
    for (size_t i = 0; i < n; i++)
        CHECK(!planner_device(p, &r[i], 0));
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, 0, NULL, 0, &sum), 0);
    CHECK_EQ_INT(sum.devices, 0);
    /* entries past nstages are not read */
    ok.nstages = 4;
    ok.predicted_fps[5] = NAN;
    CHECK(planner_device(p, &ok, 0));
    struct planner_worker_report w[] = {
        {NULL, true, 1, 0}, {"w/1", true, 1, 0}, {"w1", true, NAN, 0}, {"w1", true, 1, -1}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        CHECK(!planner_worker(p, &w[i], 0));
    CHECK(!planner_worker(p, NULL, 0));
    CHECK_EQ_INT(planner_decide(p, 0, NULL, 0, &sum), 1);
    CHECK_EQ_INT(sum.devices, 1);
    CHECK_EQ_INT(sum.workers, 0);
    planner_free(p);
}

/* Output sorted by id, the count beyond max, and forgetting stale and offline reports. */
static void test_order_and_forgetting(void)
{
    struct planner_config cfg = {.worker_stale_us = 5 * SEC};
    struct planner *p = planner_new(&cfg);
    double f[NST] = {0, 10, 10, 10, 10, 10, 10};
    const char *ids[] = {"cam-c", "cam-a", "cam-b"};
    for (size_t i = 0; i < 3; i++) {
        struct planner_device_report r = report(ids[i], "ball", 5, 2, f);
        CHECK(planner_device(p, &r, i == 2 ? 4 * SEC : 0));
    }
    worker(p, "w1", 1, 0, true);
    worker(p, "w2", 1, 0, true);
    struct planner_choice out[3];
    memset(out, 0, sizeof out);
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, SEC, out, 2, &sum), 3);
    CHECK(strcmp(out[0].device, "cam-a") == 0 && strcmp(out[1].device, "cam-b") == 0);
    CHECK(out[2].device[0] == '\0');
    CHECK_EQ_INT(sum.workers, 2);
    worker(p, "w2", 1, SEC, false);
    worker(p, "w3", 1, SEC, false); /* offline, never seen: nothing to forget */
    CHECK_EQ_INT(planner_decide(p, SEC, NULL, 0, &sum), 3);
    CHECK_EQ_INT(sum.workers, 1);
    CHECK_EQ_DBL(sum.capacity_cpu_s, 1);
    /* 10 s is still fresh, past it a device is forgotten; the worker went at 5 s */
    CHECK_EQ_INT(planner_decide(p, 10 * SEC, out, 3, &sum), 3);
    CHECK_EQ_INT(sum.workers, 0);
    CHECK(strncmp(out[0].reason, "no worker report", 16) == 0);
    CHECK_EQ_INT(planner_decide(p, 10 * SEC + 1, out, 3, &sum), 1);
    CHECK(strcmp(out[0].device, "cam-b") == 0);
    CHECK_EQ_INT(sum.devices, 1);
    planner_free(p);
}

static void test_cost_model(void)
{
    struct planner *p = planner_new(NULL);
    bool measured = true;
    CHECK_EQ_DBL(planner_cost_us(p, "ball", 1, &measured), 0);
    CHECK(!measured);
    double f[NST] = {0, 10, 10, 10, 10, 10, 10};
    struct planner_device_report r = report("cam-01", "ball", 5, 3, f);
    r.stage_us[0] = 100;
    r.stage_us[1] = 50;
    r.stage_us[2] = 20;
    CHECK(planner_device(p, &r, 0));
    /* nothing measured: the prior plus the known stage times from k on */
    CHECK_EQ_DBL(planner_cost_us(p, "ball", 1, &measured), 2070);
    CHECK(!measured);
    CHECK_EQ_DBL(planner_cost_us(p, "ball", 3, NULL), 2000);
    CHECK_EQ_DBL(planner_cost_us(p, "ball", 0, NULL), 0);
    CHECK_EQ_DBL(planner_cost_us(p, "ball", NST, NULL), 0);
    r.cloud_us_per_result = 1000;
    CHECK(planner_device(p, &r, 0));
    CHECK_EQ_DBL(planner_cost_us(p, "ball", 3, &measured), 1000);
    CHECK(measured);
    r.cloud_us_per_result = 2000;
    CHECK(planner_device(p, &r, 0));
    CHECK(fabs(planner_cost_us(p, "ball", 3, NULL) - 1300) < EPS); /* 0.7 * 1000 + 0.3 * 2000 */
    /* above: the nearest measured lower split; below: plus the stages in between */
    CHECK(fabs(planner_cost_us(p, "ball", 5, &measured) - 1300) < EPS);
    CHECK(!measured);
    CHECK(fabs(planner_cost_us(p, "ball", 2, NULL) - 1320) < EPS);
    /* the fastest device's stage times */
    struct planner_device_report fast = report("cam-02", "ball", 5, 2, f);
    fast.stage_us[0] = 80;
    fast.stage_us[1] = 30;
    CHECK(planner_device(p, &fast, 0));
    CHECK(fabs(planner_cost_us(p, "ball", 1, NULL) - 1350) < EPS);
    CHECK_EQ_DBL(planner_cost_us(p, "sensor", 3, NULL), 0);
    planner_free(p);
}

/* f_d(k): the prediction capped by the rate, the measured fps where there is none at the split
 * in force, and a split without either is not chosen. A device known at its own split only (its
 * first window) is left to its own policy until it predicts another. */
static void test_frame_rate_model(void)
{
    struct planner *p = planner_new(NULL);
    double c[NST] = {0, 1000, 1000, 1000, 1000, 1000, 1000};
    prime_costs(p, "ball", c, 0);
    worker(p, "w1", 8, 0, true);
    double f[NST] = {0, 40, 40, 40, 40, 40, 40};
    struct planner_device_report capped = report("cam-a", "ball", 20, 6, f);
    capped.rate = 25;
    double g[NST] = {0};
    struct planner_device_report only = report("cam-b", "ball", 20, 2, g);
    only.fps = 12;
    struct planner_device_report none = report("cam-c", "ball", 20, 4, g);
    CHECK(planner_device(p, &capped, 0));
    CHECK(planner_device(p, &only, 0));
    CHECK(planner_device(p, &none, 0));
    struct planner_choice out[3];
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, 0, out, 3, &sum), 1);
    CHECK_EQ_INT(sum.devices, 4); /* and the one that primed the costs */
    CHECK_EQ_INT(sum.planned, 1);
    CHECK(strcmp(out[0].device, "cam-a") == 0);
    CHECK_EQ_DBL(out[0].predicted_fps, 25);
    CHECK(out[0].goal_met);
    CHECK(fabs(out[0].cloud_cpu_s - 0.025) < EPS);
    g[5] = 9; /* cam-b's policy now predicts split 5 too */
    only = report("cam-b", "ball", 20, 2, g);
    only.fps = 12;
    CHECK(planner_device(p, &only, 1000));
    CHECK_EQ_INT(planner_decide(p, 1000, out, 3, &sum), 2);
    CHECK(strcmp(out[1].device, "cam-b") == 0);
    CHECK_EQ_INT(out[1].split, 2);
    CHECK_EQ_DBL(out[1].predicted_fps, 12);
    CHECK(!out[1].meetable);
    CHECK(strcmp(out[1].reason, "goal unreachable: fastest split") == 0);
    CHECK_EQ_DBL(sum.min_ratio, 12.0 / 20);
    planner_free(p);
}

/* An exhaustive search's device: f and the cloud load at every split, from the planner's own
 * cost model. */
struct bf_dev {
    double f[NST], load[NST], goal;
};

struct bf_plan {
    size_t met;
    double min_ratio, cpu;
    bool found;
};

/* The best plan by the rule (most goals met, then the highest lowest f/goal among the unmet,
 * then the least cloud CPU) among all that fit in cap. */
static struct bf_plan bf_search(const struct bf_dev *d, size_t n, double cap, double margin)
{
    struct bf_plan best = {0};
    unsigned k[MAXD];
    for (size_t i = 0; i < n; i++)
        k[i] = 1;
    for (;;) {
        struct bf_plan x = {.min_ratio = 1, .found = true};
        for (size_t i = 0; i < n; i++) {
            double f = d[i].f[k[i]];
            x.cpu += d[i].load[k[i]];
            if (f >= d[i].goal * (1 + margin))
                x.met++;
            else if (f / d[i].goal < x.min_ratio)
                x.min_ratio = f / d[i].goal;
        }
        bool better = !best.found || x.met > best.met ||
                      (x.met == best.met &&
                       (x.min_ratio > best.min_ratio + EPS ||
                        (fabs(x.min_ratio - best.min_ratio) <= EPS && x.cpu < best.cpu)));
        if (x.cpu <= cap + EPS && better)
            best = x;
        size_t i = 0;
        while (i < n && ++k[i] == NST)
            k[i++] = 1;
        if (i == n)
            break;
    }
    return best;
}

struct fleet {
    size_t n;
    char id[MAXD][16];
    struct planner_device_report r[MAXD];
    struct bf_dev bd[MAXD];
    double base_cpu, meet_cpu, max_cpu; /* sums of the cheapest, cheapest meeting and dearest */
    bool kept_meets; /* some device's split in force meets its goal (hysteresis may apply) */
};

static void fleet_random(uint64_t *s, struct fleet *fl, size_t n)
{
    memset(fl, 0, sizeof *fl);
    fl->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(fl->id[i], sizeof fl->id[i], "d%u", (unsigned)i);
        double f[NST] = {0};
        unsigned split = 1; /* the slowest: the split in force seldom meets the goal */
        for (unsigned k = 1; k < NST; k++) {
            f[k] = rnd(s, 2, 40);
            if (f[k] < f[split])
                split = k;
        }
        bool ball = i % 2 == 0;
        double goal = i % 4 == 3 ? rnd(s, 40, 60) : rnd(s, 5, 25); /* some no split meets */
        struct planner_device_report *r = &fl->r[i];
        *r = report(fl->id[i], ball ? "ball" : "sensor", goal, split, f);
        for (unsigned j = 0; j < split; j++)
            r->stage_us[j] = rnd(s, 100, 2000) / (j + 1);
        r->cloud_us_per_result =
            (ball ? 4000 - 500 * split : 2500 - 300 * split) * rnd(s, 0.9, 1.1);
    }
}

/* Feeds the fleet, and sets up the exhaustive search's view of it with the planner's costs. */
static void fleet_feed(struct planner *p, struct fleet *fl, double margin)
{
    for (size_t i = 0; i < fl->n; i++)
        CHECK(planner_device(p, &fl->r[i], 0));
    for (size_t i = 0; i < fl->n; i++) {
        struct bf_dev *b = &fl->bd[i];
        const struct planner_device_report *r = &fl->r[i];
        b->goal = r->goal;
        double lo = INFINITY, lo_meet = INFINITY, hi = 0;
        for (unsigned k = 1; k < NST; k++) {
            b->f[k] = r->predicted_fps[k];
            b->load[k] = b->f[k] * planner_cost_us(p, r->app, k, NULL) / 1e6;
            lo = fmin(lo, b->load[k]);
            hi = fmax(hi, b->load[k]);
            if (b->f[k] >= b->goal * (1 + margin))
                lo_meet = fmin(lo_meet, b->load[k]);
        }
        fl->base_cpu += lo;
        fl->meet_cpu += isfinite(lo_meet) ? lo_meet : lo;
        fl->max_cpu += hi;
        fl->kept_meets |= b->f[r->split] >= b->goal * (1 + margin);
    }
}

/* Ample capacity: every meetable goal met with the least cloud CPU; scarce: as many goals met
 * as the best plan that fits, and the plan fits. */
static void test_against_search(void)
{
    uint64_t seed = 12345;
    for (int round = 0; round < 24; round++) {
        bool ample = round % 2 == 0;
        struct fleet fl;
        fleet_random(&seed, &fl, 4 + (round / 2) % 2);
        struct planner *p = make(1);
        fleet_feed(p, &fl, 0.10);
        double cap = ample ? fl.max_cpu + 1
                           : fl.base_cpu + rnd(&seed, 0.2, 0.8) * (fl.meet_cpu - fl.base_cpu);
        worker(p, "w1", cap, 0, true);
        struct planner_summary sum;
        struct planner_choice out[MAXD];
        CHECK_EQ_INT(planner_decide(p, 0, out, MAXD, &sum), fl.n);
        struct bf_plan best = bf_search(fl.bd, fl.n, cap, 0.10);
        CHECK(best.found);
        CHECK_EQ_INT(sum.goals_met, best.met);
        CHECK(sum.planned_cpu_s <= cap + EPS);
        for (size_t i = 0; i < fl.n; i++)
            CHECK(fabs(out[i].cloud_cpu_s - fl.bd[i].load[out[i].split]) < EPS);
        if (ample) {
            CHECK_EQ_INT(sum.goals_met, sum.goals_meetable);
            CHECK(fabs(sum.min_ratio - best.min_ratio) < EPS);
            CHECK(sum.planned_cpu_s >= best.cpu - EPS);
            CHECK(sum.planned_cpu_s <= best.cpu * 1.25 + EPS);
            if (!fl.kept_meets)
                CHECK(fabs(sum.planned_cpu_s - best.cpu) < EPS);
        }
        planner_free(p);
    }
}

/* Two identical devices that no split satisfies share the capacity equally. */
static void test_max_min(void)
{
    struct planner *p = make(1);
    double c[NST] = {0, 10000, 10000, 10000, 10000, 10000, 10000};
    prime_costs(p, "ball", c, 0);
    double f[NST] = {0, 10, 20, 30, 40, 50, 60}; /* loads 0.1 .. 0.6 */
    struct planner_device_report a = report("cam-a", "ball", 100, 1, f);
    struct planner_device_report b = report("cam-b", "ball", 100, 1, f);
    CHECK(planner_device(p, &a, 0));
    CHECK(planner_device(p, &b, 0));
    worker(p, "w1", 0.65, 0, true); /* both at 0.1, two steps of 0.1 each, and half a step */
    struct planner_choice out[2];
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, 0, out, 2, &sum), 2);
    CHECK_EQ_INT(out[0].split, 3);
    CHECK_EQ_INT(out[1].split, 3);
    CHECK(fabs(sum.min_ratio - 0.3) < EPS);
    CHECK(strcmp(out[0].reason, "goal unreachable: 0.30 of goal") == 0);
    worker(p, "w1", 10, 0, true);
    CHECK_EQ_INT(planner_decide(p, 0, out, 2, &sum), 2);
    CHECK_EQ_INT(out[0].split, 6);
    CHECK_EQ_INT(out[1].split, 6);
    CHECK(strcmp(out[1].reason, "goal unreachable: fastest split") == 0);
    planner_free(p);
}

/* Manual devices' measured load comes off the capacity. */
static void test_manual_load(void)
{
    struct planner *p = make(1);
    double c[NST] = {0, 10000, 10000, 10000, 10000, 10000, 10000};
    prime_costs(p, "ball", c, 0);
    double f[NST] = {0, 5, 5, 5, 5, 5, 20}; /* 0.05 at 1..5, 0.2 at 6 */
    struct planner_device_report a = report("cam-a", "ball", 10, 1, f);
    CHECK(planner_device(p, &a, 0));
    worker(p, "w1", 0.3, 0, true);
    struct planner_choice out[1];
    struct planner_summary sum;
    planner_decide(p, 0, out, 1, &sum);
    CHECK(out[0].goal_met);
    CHECK_EQ_INT(out[0].split, 6);
    struct planner_device_report m = {.device = "cam-m",
                                      .app = "sensor",
                                      .split = 2,
                                      .nstages = 4,
                                      .results_per_s = 10,
                                      .cloud_us_per_result = 15000};
    CHECK(planner_device(p, &m, 0));
    CHECK_EQ_INT(planner_decide(p, 0, out, 1, &sum), 1);
    CHECK(fabs(sum.fixed_cpu_s - 0.15) < EPS);
    CHECK_EQ_INT(sum.devices, 3);
    CHECK_EQ_INT(sum.planned, 1);
    CHECK(!out[0].goal_met && out[0].meetable);
    CHECK_EQ_INT(out[0].split, 5);
    CHECK(strcmp(out[0].reason, "cloud full: 0.50 of goal") == 0);
    CHECK(sum.planned_cpu_s + sum.fixed_cpu_s <= 0.3 + EPS);
    planner_free(p);
}

/* The split in force is kept under small cost noise, and left when it costs too much more or
 * the difference does not fit. */
static void test_hysteresis(void)
{
    struct planner *p = make(1);
    uint64_t seed = 7;
    double f[NST] = {0, 5, 8, 12, 30, 30, 30};
    struct planner_choice out[2];
    int kept = 0;
    for (int w = 0; w < 10; w++) {
        int64_t now = w * 3 * SEC;
        worker(p, "w1", 10, now, true);
        double c[NST] = {0, 3000, 2500, 2000, 1500, 1000, 980};
        c[5] *= rnd(&seed, 0.97, 1.03);
        c[6] *= rnd(&seed, 0.97, 1.03);
        prime_costs(p, "ball", c, now);
        struct planner_device_report r = report("cam-a", "ball", 20, 5, f);
        CHECK(planner_device(p, &r, now));
        planner_decide(p, now, out, 2, NULL);
        CHECK_EQ_INT(out[0].split, 5);
        CHECK(out[0].goal_met);
        kept += strcmp(out[0].reason, "goal met, kept split") == 0;
    }
    CHECK(kept > 0);
    planner_free(p);

    p = make(1);
    double c[NST] = {0, 3000, 2500, 2000, 1500, 1000, 980};
    prime_costs(p, "ball", c, 0);
    struct planner_device_report r = report("cam-a", "ball", 20, 4, f); /* 53% over split 6 */
    CHECK(planner_device(p, &r, 0));
    worker(p, "w1", 10, 0, true);
    planner_decide(p, 0, out, 2, NULL);
    CHECK_EQ_INT(out[0].split, 6);
    CHECK(strcmp(out[0].reason, "goal met, least cloud CPU") == 0);
    r.split = 5;
    CHECK(planner_device(p, &r, 0));
    worker(p, "w1", 0.0295, 0, true); /* split 6 (0.0294) fits, split 5 (0.03) does not */
    planner_decide(p, 0, out, 2, NULL);
    CHECK_EQ_INT(out[0].split, 6);
    planner_free(p);
}

/* The simulated fleet: the ball tracker's stage times (us at 1x) times each device's slowdown,
 * its payload per split on a 100 MB/s uplink, a 30 fps camera, and a cloud that spends the
 * stages from the split on at 1x plus 300 us per message. */
static const double sim_stage_us[NST] = {1740, 785, 134, 20, 7, 1, 4};
static const double sim_payload[NST] = {0, 421500, 421500, 300, 800, 60, 60};
#define SIM_N 12
#define SIM_RATE 30.0

static double sim_fps(double slowdown, unsigned k)
{
    double t = 100 + sim_payload[k] / 1e8 * 1e6 + 50;
    for (unsigned i = 0; i < k; i++)
        t += slowdown * sim_stage_us[i];
    return 1e6 / t;
}

static double sim_cost_us(unsigned k)
{
    double c = 300;
    for (unsigned i = k; i < NST; i++)
        c += sim_stage_us[i];
    return c;
}

/* One device's window at split k, as its agent would report it. */
static struct planner_device_report sim_report(const char *id, double slowdown, double goal,
                                               unsigned k)
{
    double f[NST] = {0};
    for (unsigned j = 1; j < NST; j++)
        f[j] = sim_fps(slowdown, j);
    struct planner_device_report r = report(id, "ball", goal, k, f);
    r.rate = SIM_RATE;
    r.fps = fmin(SIM_RATE, f[k]);
    for (unsigned j = 0; j < k; j++)
        r.stage_us[j] = slowdown * sim_stage_us[j];
    r.results_per_s = r.fps;
    r.cloud_us_per_result = sim_cost_us(k);
    return r;
}

/* The least cloud CPU that meets every meetable goal of the simulated fleet, by the true costs. */
static double sim_need(const double *slow, const double *goal)
{
    double need = 0;
    for (size_t i = 0; i < SIM_N; i++) {
        double lo = INFINITY, lo_meet = INFINITY;
        for (unsigned k = 1; k < NST; k++) {
            double f = fmin(SIM_RATE, sim_fps(slow[i], k));
            double load = f * sim_cost_us(k) / 1e6;
            lo = fmin(lo, load);
            if (f >= goal[i] * 1.1)
                lo_meet = fmin(lo_meet, load);
        }
        need += isfinite(lo_meet) ? lo_meet : lo;
    }
    return need;
}

/* 20 windows of 3 s; one of three workers goes offline in windows 8..13. */
static void test_simulated_fleet(void)
{
    static const double slow[SIM_N] = {20, 20, 15, 10, 20, 5, 20, 1, 20, 15, 2, 20};
    double goal[SIM_N];
    char id[SIM_N][16];
    unsigned split[SIM_N];
    uint64_t seed = 99;
    for (size_t i = 0; i < SIM_N; i++) {
        goal[i] = rnd(&seed, 5, 25);
        snprintf(id[i], sizeof id[i], "cam-%02u", (unsigned)i % 100);
        split[i] = 3;
    }
    double cap = 1.3 * sim_need(slow, goal) / (0.85 * 3);
    struct planner *p = planner_new(NULL);
    const char *wid[3] = {"w1", "w2", "w3"};
    for (int w = 0; w < 20; w++) {
        int64_t now = (int64_t)w * 3 * SEC;
        for (size_t i = 0; i < SIM_N; i++) {
            struct planner_device_report r = sim_report(id[i], slow[i], goal[i], split[i]);
            CHECK(planner_device(p, &r, now));
        }
        bool away = w >= 8 && w < 14;
        for (int j = 0; j < 3; j++)
            if (j != 2 || !away || w == 8)
                worker(p, wid[j], cap, now, j != 2 || !away);
        struct planner_choice out[SIM_N];
        struct planner_summary sum;
        CHECK_EQ_INT(planner_decide(p, now, out, SIM_N, &sum), SIM_N);
        for (size_t i = 0; i < SIM_N; i++)
            split[i] = out[i].split;
        CHECK(sum.planned_cpu_s <= 0.85 * sum.capacity_cpu_s - sum.fixed_cpu_s + EPS);
        CHECK_EQ_INT(sum.workers, away ? 2 : 3);
        if (w >= 2 && !away)
            CHECK_EQ_INT(sum.goals_met, sum.goals_meetable);
        if (away)
            CHECK(sum.goals_met < sum.goals_meetable);
    }
    planner_free(p);
}

/* With smoothing, a device's predicted fps is a running mean over its windows, so one noisy
 * window does not move its plan; without it, the last window alone decides. */
static void test_smoothing(void)
{
    CHECK(planner_new(&(struct planner_config){.smoothing = 1.5}) == NULL);
    for (int smooth = 0; smooth < 2; smooth++) {
        struct planner *p = planner_new(&(struct planner_config){.smoothing = smooth ? 0.4 : 0});
        double c[NST] = {0, 1000, 1000, 1000, 1000, 1000, 1000};
        prime_costs(p, "ball", c, 0);
        worker(p, "w1", 8, 0, true);
        double f[NST] = {0, 30, 30, 30, 30, 30, 20};
        struct planner_device_report r = report("cam-a", "ball", 14, 6, f);
        CHECK(planner_device(p, &r, 0));
        double g[NST] = {0, 30, 30, 30, 30, 30, 10}; /* one window on a busy device */
        r = report("cam-a", "ball", 14, 6, g);
        CHECK(planner_device(p, &r, 1000));
        struct planner_choice out[1];
        struct planner_summary sum;
        CHECK_EQ_INT(planner_decide(p, 1000, out, 1, &sum), 1);
        /* smoothed: 0.6 * 20 + 0.4 * 10 = 16 >= 14 * 1.1 at split 6; else 10 at 6, 30 at 5 */
        CHECK_EQ_INT(out[0].split, smooth ? 6 : 5);
        CHECK(fabs(out[0].predicted_fps - (smooth ? 16 : 30)) < EPS);
        worker(p, "w1", 4, 2000, true); /* a worker's capacity: the same running mean */
        planner_decide(p, 2000, out, 1, &sum);
        CHECK(fabs(sum.capacity_cpu_s - (smooth ? 6.4 : 4)) < EPS);
        planner_free(p);
    }
}

/* The fps a device measured at a split (over a window with no frame run on the device after
 * all) stands for that split for 30 s, over the device's own model of it. */
static void test_measured_wins(void)
{
    struct planner *p = planner_new(NULL);
    double c[NST] = {0, 1000, 1000, 1000, 1000, 1000, 1000};
    prime_costs(p, "ball", c, 0);
    double f[NST] = {0, 30, 30, 30, 30, 30, 6};
    struct planner_device_report r = report("cam-a", "ball", 14, 6, f);
    CHECK(planner_device(p, &r, 0));
    double g[NST] = {0, 30, 30, 30, 30, 30, 20}; /* its model now says 20 at split 6 */
    r = report("cam-a", "ball", 14, 1, g);
    r.fallback = 3; /* a window with frames run here: not a measurement of split 1 */
    r.fps = 2;
    CHECK(planner_device(p, &r, 2000000));
    worker(p, "w1", 8, 2000000, true);
    struct planner_choice out[1];
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, 2000000, out, 1, &sum), 1);
    CHECK_EQ_INT(out[0].split, 1); /* 6 gave 6 fps: not taken; 1 meets the goal and is kept */
    CHECK(out[0].goal_met);
    r = report("cam-a", "ball", 14, 5, g);
    CHECK(planner_device(p, &r, 40000000));
    worker(p, "w1", 8, 40000000, true);
    CHECK_EQ_INT(planner_decide(p, 40000000, out, 1, &sum), 1);
    CHECK_EQ_INT(out[0].split, 6); /* the measurement is 40 s old: the model again */
    planner_free(p);
}

/* Plan inertia: two devices of which the cloud can fund one. Noise that makes the other a little
 * cheaper to fund does not swap them (the funded one's goal counts 25% cheaper), a dip in the
 * stated capacity below what the plan needs does not either (the last plan stands while it fits
 * within 10% more); losing a worker moves both up, and its return funds one again. */
static void test_inertia(void)
{
    struct planner *p = make(0.85);
    double c[NST] = {0, 20000, 15000, 10000, 5000, 2000, 1000};
    prime_costs(p, "ball", c, 0);
    double fa[NST] = {0, 11.5, 11.5, 11.5, 6, 6, 6}, fb[NST] = {0, 12, 12, 12, 6, 6, 6};
    struct planner_choice out[2];
    struct planner_summary sum;
    int64_t now = 0;
    struct planner_device_report a = report("cam-a", "ball", 10, 6, fa);
    struct planner_device_report b = report("cam-b", "ball", 10, 6, fb);
    CHECK(planner_device(p, &a, now));
    CHECK(planner_device(p, &b, now));
    worker(p, "w1", 0.2, now, true); /* 0.17 for the plan: one device at split 3 (0.12) */
    CHECK_EQ_INT(planner_decide(p, now, out, 2, &sum), 2);
    CHECK_EQ_INT(sum.goals_met, 1);
    CHECK_EQ_INT(out[0].split, 3); /* cam-a: the cheaper goal to fund (11.5 fps against 12) */
    CHECK_EQ_INT(out[1].split, 6);
    for (int w = 1; w <= 6; w++) { /* cam-b is now the cheaper one, or the capacity dips */
        now = w * 2 * SEC;
        fa[3] = w % 2 ? 12.4 : 12.2; /* 0.118 or 0.116 to fund, cam-b 0.114 */
        a = report("cam-a", "ball", 10, 3, fa);
        b = report("cam-b", "ball", 10, 6, fb);
        CHECK(planner_device(p, &a, now));
        CHECK(planner_device(p, &b, now));
        worker(p, "w1", w % 2 ? 0.14 : 0.2, now, true); /* 0.107 for funding, 0.133 to keep */
        planner_decide(p, now, out, 2, &sum);
        CHECK_EQ_INT(out[0].split, 3);
        CHECK_EQ_INT(out[1].split, 6);
        CHECK(out[0].goal_met);
        CHECK(strcmp(out[0].reason, w % 2 ? "goal met, kept split" : "goal met, least cloud CPU") ==
              0);
    }
    now += 2 * SEC;
    worker(p, "w1", 0.1, now, true); /* a worker lost: neither goal can be funded */
    planner_decide(p, now, out, 2, &sum);
    CHECK_EQ_INT(out[0].split, 6);
    CHECK_EQ_INT(out[1].split, 6);
    CHECK_EQ_INT(sum.goals_met, 0);
    now += 2 * SEC;
    worker(p, "w1", 0.2, now, true); /* back: one is funded again */
    planner_decide(p, now, out, 2, &sum);
    CHECK_EQ_INT(sum.goals_met, 1);
    CHECK_EQ_INT(out[0].split + out[1].split, 9);
    now += 2 * SEC;
    double fast[NST] = {0, 12.4, 12.4, 12.4, 12, 12, 6}; /* cam-a now meets its goal at split 5 */
    a = report("cam-a", "ball", 10, out[0].split, fast);
    CHECK(planner_device(p, &a, now));
    planner_decide(p, now, out, 2, &sum);
    CHECK_EQ_INT(sum.goals_met, 2); /* a better plan is taken at once */
    CHECK_EQ_INT(out[0].split, 5);
    CHECK_EQ_INT(out[1].split, 3);
    planner_free(p);
}

/* Rule 3 after rule 2: once the lowest fps/goal cannot rise, the other unmet devices take their
 * cheapest split at or above it, not the capacity left. */
static void test_floor(void)
{
    struct planner *p = make(1);
    double c[NST] = {0, 10000, 10000, 10000, 10000, 10000, 10000};
    prime_costs(p, "ball", c, 0);
    double fa[NST] = {0, 15, 15, 15, 15, 15, 15}, fb[NST] = {0, 19, 15, 12, 8, 6, 4};
    struct planner_device_report a = report("cam-a", "ball", 20, 6, fa);
    struct planner_device_report b = report("cam-b", "ball", 20, 6, fb);
    CHECK(planner_device(p, &a, 0));
    CHECK(planner_device(p, &b, 0));
    worker(p, "w1", 10, 0, true); /* ample */
    struct planner_choice out[2];
    struct planner_summary sum;
    CHECK_EQ_INT(planner_decide(p, 0, out, 2, &sum), 2);
    CHECK_EQ_INT(out[0].split, 6); /* cam-a: 0.75 of its goal anywhere */
    CHECK_EQ_INT(out[1].split, 2); /* cam-b: 0.75 too, not 0.95 at split 1 */
    CHECK(fabs(sum.min_ratio - 0.75) < EPS);
    CHECK(fabs(sum.planned_cpu_s - 0.30) < EPS);
    fa[1] = fa[2] = fa[3] = fa[4] = fa[5] = fa[6] = 2; /* 0.1 of its goal: cam-b at its cheapest */
    a = report("cam-a", "ball", 20, 6, fa);
    CHECK(planner_device(p, &a, 0));
    planner_decide(p, 0, out, 2, &sum);
    CHECK_EQ_INT(out[1].split, 6);
    CHECK(fabs(sum.min_ratio - 0.1) < EPS);
    planner_free(p);
}

/* One window of a device at split with late frames of captured ones; then a decision. */
static unsigned late_window(struct planner *p, const double f[NST], unsigned split, double late,
                            int64_t now, struct planner_summary *sum)
{
    struct planner_device_report r = report("cam-a", "ball", 10, split, f);
    r.captured = 2 * f[split];
    r.fallback = late;
    CHECK(planner_device(p, &r, now));
    struct planner_choice out[1];
    CHECK(planner_decide(p, now, out, 1, sum) >= 1); /* cam-a is the first by id */
    return out[0].split;
}

/* Late frames cut the share of the capacity a plan may use; clean windows give it back, up to
 * the level that was late; late frames right after a worker is lost or back do not count. */
static void test_congestion(void)
{
    struct planner *p = make(0.85);
    double c[NST] = {0, 10000, 1000, 1000, 1000, 1000, 1000};
    prime_costs(p, "ball", c, 0);
    double f[NST] = {0, 12, 6, 6, 6, 6, 6}; /* split 1: 0.12 CPU-s/s, 0.114 more than split 6 */
    struct planner_summary sum;
    int64_t now = 0;
    unsigned k = 6;
    for (int w = 0; w < 5; w++) { /* the first five decisions settle (the capacity is new) */
        worker(p, "w1", 0.15, now, true);
        k = late_window(p, f, k, w == 0 ? 0 : 8, now, &sum);
        CHECK_EQ_INT(k, 1);
        CHECK(fabs(sum.utilization - 0.85) < EPS);
        now += 2 * SEC;
    }
    worker(p, "w1", 0.15, now, true);
    k = late_window(p, f, k, 8, now,
                    &sum); /* 8 of 24 late: cut to 0.7225, split 1 no longer fits */
    CHECK(fabs(sum.utilization - 0.85 * 0.85) < EPS);
    CHECK(fabs(sum.late_share - 8.0 / 24) < EPS);
    CHECK_EQ_INT(k, 6);
    now += 2 * SEC;
    k = late_window(p, f, k, 8, now, &sum); /* held: the cut is taking effect */
    CHECK(fabs(sum.utilization - 0.85 * 0.85) < EPS);
    int back = 0;
    for (int w = 0; w < 30; w++) {
        now += 2 * SEC;
        worker(p, "w1", 0.15, now, true);
        k = late_window(p, f, k, w == 0 ? 2 : 0, now, &sum); /* 2 late frames: below the floor */
        if (k == 1 && !back)
            back = w + 1;
    }
    CHECK_EQ_INT(back, 12); /* from the 5th clean window 0.01 a window: 0.8025 at the 12th */
    CHECK(fabs(sum.utilization - 0.85) < 1e-6); /* up to the level that was late, no further */
    CHECK_EQ_INT(k, 1);
    now += 2 * SEC;
    worker(p, "w1", 0.3, now, true); /* a second worker's worth: late frames of the event */
    k = late_window(p, f, k, 8, now, &sum);
    CHECK(fabs(sum.utilization - 0.85) < 1e-6);
    for (int w = 0; w < 5; w++) {
        now += 2 * SEC;
        worker(p, "w1", 0.3, now, true);
        k = late_window(p, f, k, 0, now, &sum);
    }
    /* a device joins (one of three): the late frames of the next windows are the join's */
    struct planner_device_report b = report("cam-b", "ball", 10, 6, f);
    int cut_at = 0;
    for (int w = 0; w < 8 && !cut_at; w++) {
        now += 2 * SEC;
        worker(p, "w1", 0.3, now, true);
        CHECK(planner_device(p, &b, now));
        late_window(p, f, k, 8, now, &sum);
        if (sum.utilization < 0.85 - 1e-6)
            cut_at = w + 1;
    }
    CHECK_EQ_INT(cut_at, 6);
    planner_free(p);
}

int main(void)
{
    test_config_and_reports();
    test_order_and_forgetting();
    test_cost_model();
    test_frame_rate_model();
    test_against_search();
    test_max_min();
    test_manual_load();
    test_hysteresis();
    test_simulated_fleet();
    test_smoothing();
    test_measured_wins();
    test_inertia();
    test_floor();
    test_congestion();
    return check_exit();
}

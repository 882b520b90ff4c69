/* The split policy against a deterministic simulated device: a simulated clock and the ball
 * tracker's per-stage costs scaled by a slowdown factor, a link of known speed, a cloud of
 * bounded capacity, and optional seeded noise on every measurement. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "sched.h"
#include "sim_device.h"

#define NSTAGES SIM_NSTAGES

/* The simulated device and its clock. */
struct sim {
    struct sim_device dev;
    int64_t now_us;
};

static struct sim sim_make(double slowdown, double link)
{
    struct sim m = {.dev = {.slowdown = slowdown, .link = link, .rng = 1}};
    return m;
}

static double true_fps(const struct sim *m, unsigned k)
{
    return sim_true_fps(&m->dev, k);
}

/* One 3-second window at split k, as the agent would measure it. */
static void sim_window(struct sim *m, unsigned k, struct sched_window *w)
{
    m->now_us += 3000000;
    sim_measure(&m->dev, k, m->now_us, 3, w);
}

static unsigned sim_step(struct sched *s, struct sim *m, unsigned k, char *why, size_t len)
{
    struct sched_window w;
    sim_window(m, k, &w);
    return sched_update(s, &w, why, len);
}

static struct sched *make(double goal, unsigned start, double cap)
{
    struct sched_config cfg = {
        .nstages = NSTAGES, .goal_fps = goal, .start_split = start, .uplink_bytes_per_s = cap};
    return sched_new(&cfg);
}

static void test_config(void)
{
    struct sched_config ok = {NSTAGES, 17, 6, 0, 0, 0, 0};
    struct sched *s = sched_new(&ok);
    CHECK(s != NULL);
    double pred[NSTAGES] = {1};
    sched_predictions(s, pred, NSTAGES);
    CHECK_EQ_DBL(pred[0] + pred[3] + pred[6], 0);
    CHECK(!sched_goal_unreachable(s));
    sched_free(s);
    sched_free(NULL);
    struct sched_config bad[] = {
        {1, 17, 1, 0, 0, 0, 0},        {17, 17, 1, 0, 0, 0, 0},
        {NSTAGES, 0, 3, 0, 0, 0, 0},   {NSTAGES, NAN, 3, 0, 0, 0, 0},
        {NSTAGES, 17, 0, 0, 0, 0, 0},  {NSTAGES, 17, 7, 0, 0, 0, 0},
        {NSTAGES, 17, 3, 1, 0, 0, 0},  {NSTAGES, 17, 3, -0.1, 0, 0, 0},
        {NSTAGES, 17, 3, 0, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sched_new(&bad[i]) == NULL);
    CHECK(sched_new(NULL) == NULL);
}

/* A window that is not full, or has no frames, never changes the split. */
static void test_needs_full_window(void)
{
    struct sched *s = make(22, 6, 0);
    struct sim m = sim_make(20, 1e8);
    struct sched_window w;
    sim_window(&m, 6, &w);
    w.full = false;
    char why[96] = "x";
    CHECK_EQ_INT(sched_update(s, &w, why, sizeof why), 6);
    CHECK_EQ_INT(why[0], 0);
    sim_window(&m, 6, &w);
    w.fps = 0;
    CHECK_EQ_INT(sched_update(s, &w, NULL, 0), 6);
    CHECK_EQ_INT(sim_step(s, &m, 6, why, sizeof why), 1);
    CHECK(strncmp(why, "goal missed 18.6<22, predicted", 30) == 0);
    sched_free(s);
    /* a miss under 5% at a split that was fine needs a second window */
    s = make(18.9, 6, 0);
    m = sim_make(19.5, 1e8);
    CHECK(true_fps(&m, 6) > 18.9);
    CHECK_EQ_INT(sim_step(s, &m, 6, why, sizeof why), 6);
    m.dev.slowdown = 20;
    CHECK_EQ_INT(sim_step(s, &m, 6, why, sizeof why), 6);
    CHECK(strcmp(why, "below goal 18.6<18.9, confirming") == 0);
    CHECK_EQ_INT(sim_step(s, &m, 6, why, sizeof why), 1);
    sched_free(s);
}

struct expect {
    double slowdown, link, cap, goal;
    unsigned best;
    bool unreachable;
};

/* From every start split the policy sits at the best split after at most 2 windows, stays there
 * for 20 more, and then predicts that split's fps within 2%. */
static void test_every_start(void)
{
    static const struct expect cases[] = {
        {20, 1e8, 0, 22, 1, false},   /* slow device: offload all but the first stage */
        {20, 1e8, 0, 15, 6, false},   /* slow device, modest goal: keep everything */
        {1, 1e8, 0, 17, 6, false},    /* fast device */
        {20, 1e8, 0, 30, 1, true},    /* nothing reaches 30: the fastest split */
        {20, 2e6, 2e6, 15, 6, false}, /* slow known uplink: the 400 KB splits are out */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct expect *e = &cases[c];
        for (unsigned start = 1; start < NSTAGES; start++) {
            struct sched *s = make(e->goal, start, e->cap);
            struct sim m = sim_make(e->slowdown, e->link);
            unsigned k = start, changes = 0;
            for (int i = 0; i < 2; i++)
                k = sim_step(s, &m, k, NULL, 0);
            CHECK_EQ_INT(k, e->best);
            for (int i = 0; i < 20; i++) {
                unsigned next = sim_step(s, &m, k, NULL, 0);
                changes += next != k;
                k = next;
            }
            CHECK_EQ_INT(changes, 0);
            CHECK(sched_goal_unreachable(s) == e->unreachable);
            /* a new window at the goal is not unreachable; one well short of it is, if no
             * split could meet the goal */
            CHECK(!sched_goal_unreachable_at(s, e->goal));
            CHECK(sched_goal_unreachable_at(s, e->goal * 0.9) == e->unreachable);
            double pred[NSTAGES];
            sched_predictions(s, pred, NSTAGES);
            CHECK(fabs(pred[k] / true_fps(&m, k) - 1) < 0.02);
            sched_free(s);
        }
    }
}

/* Runs n windows from split k; returns the split after them and counts changes. */
static unsigned run(struct sched *s, struct sim *m, unsigned k, int n, unsigned *changes)
{
    for (int i = 0; i < n; i++) {
        unsigned next = sim_step(s, m, k, NULL, 0);
        *changes += next != k;
        k = next;
    }
    return k;
}

/* A slowdown that starts and ends: offload within 2 windows, take the work back within 3. */
static void test_slowdown_ends(void)
{
    for (unsigned start = 1; start < NSTAGES; start += 5) {
        struct sched *s = make(22, start, 0);
        struct sim m = sim_make(20, 1e8);
        unsigned changes = 0, k = run(s, &m, start, 10, &changes);
        CHECK_EQ_INT(k, 1);
        m.dev.slowdown = 1;
        char why[96] = "";
        int back = 0;
        for (int i = 1; i <= 3 && k != 6; i++) {
            k = sim_step(s, &m, k, why, sizeof why);
            back = i;
        }
        CHECK_EQ_INT(k, 6);
        CHECK_EQ_INT(back, 1);
        CHECK(strncmp(why, "reclaim: predicted", 18) == 0);
        m.dev.slowdown = 20;
        k = run(s, &m, k, 2, &changes);
        CHECK_EQ_INT(k, 1);
        sched_free(s);
    }
}

/* +-10% noise on every measurement over 200 windows, with a slowdown from window 50 to 149:
 * the two needed changes and at most one change per 5 windows overall. */
static void test_noise(void)
{
    unsigned worst = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct sched *s = make(22, 6, 0);
        struct sim m = sim_make(1, 1e8);
        m.dev.noise = 0.10;
        m.dev.rng = seed;
        unsigned changes = 0, k = run(s, &m, 6, 50, &changes);
        CHECK_EQ_INT(k, 6);
        m.dev.slowdown = 20;
        k = run(s, &m, k, 100, &changes);
        CHECK_EQ_INT(k, 1);
        m.dev.slowdown = 1;
        k = run(s, &m, k, 50, &changes);
        CHECK_EQ_INT(k, 6);
        CHECK(changes <= 200 / 5);
        worst = changes > worst ? changes : worst;
        sched_free(s);
    }
    CHECK_EQ_INT(worst, 2);
    /* The goal 3% under the fps of the split in use: noise dips below it every few windows. */
    unsigned worst_marginal = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct sched *s = make(18, 6, 0);
        struct sim m = sim_make(20, 1e8);
        m.dev.noise = 0.10;
        m.dev.rng = seed;
        unsigned changes = 0;
        run(s, &m, 6, 200, &changes);
        CHECK(changes <= 200 / 5);
        worst_marginal = changes > worst_marginal ? changes : worst_marginal;
        sched_free(s);
    }
    CHECK(worst_marginal <= 4);
    printf("noise: worst %u changes in 200 windows (slowdown schedule), %u (marginal goal)\n",
           worst, worst_marginal);
}

/* No split reaches the goal: the fastest one, the flag, and a reason that says so. */
static void test_unreachable(void)
{
    struct sched *s = make(30, 6, 0);
    struct sim m = sim_make(20, 1e8);
    char why[96] = "";
    unsigned k = sim_step(s, &m, 6, why, sizeof why);
    CHECK_EQ_INT(k, 1);
    CHECK(sched_goal_unreachable(s));
    CHECK(strncmp(why, "goal unreachable: best", 22) == 0);
    k = sim_step(s, &m, k, why, sizeof why);
    CHECK_EQ_INT(k, 1);
    CHECK(strcmp(why, "goal unreachable: best 25.5 at 1") == 0);
    m.dev.slowdown = 1; /* the device recovers: the goal is met again and the flag clears */
    k = sim_step(s, &m, k, why, sizeof why);
    CHECK_EQ_INT(k, 6);
    CHECK(!sched_goal_unreachable(s));
    sched_free(s);
    /* a goal of 26: no split meets it, but 25.5 at split 1 is within the 5% a window may miss by,
     * so the device is not said to be unable to reach it */
    s = make(26, 6, 0);
    m = sim_make(20, 1e8);
    k = 6;
    for (int i = 0; i < 4; i++)
        k = sim_step(s, &m, k, why, sizeof why);
    CHECK_EQ_INT(k, 1);
    CHECK(!sched_goal_unreachable(s));
    sched_free(s);
}

/* With a fast link the slow device needs split 1 for a goal of 20; a 2 MB/s uplink makes the
 * 421 KB payloads of splits 1 and 2 cost 0.2 s per frame, so the choice moves to 3 or later. */
static void test_slow_uplink(void)
{
    struct sched *fast = make(20, 6, 0);
    struct sim mf = sim_make(20, 1e8);
    unsigned changes = 0;
    CHECK_EQ_INT(run(fast, &mf, 6, 3, &changes), 1);
    sched_free(fast);
    for (unsigned start = 1; start < NSTAGES; start++) {
        /* cap known: from split 3 on, splits 1-2 are never even tried */
        struct sched *s = make(20, start, 2e6);
        struct sim m = sim_make(20, 2e6);
        unsigned k = start, lowest = NSTAGES;
        for (int i = 0; i < 20; i++) {
            k = sim_step(s, &m, k, NULL, 0);
            lowest = k < lowest ? k : lowest;
            if (i == 1)
                CHECK(k >= 3);
        }
        CHECK(k >= 3);
        if (start >= 3)
            CHECK(lowest >= 3);
        CHECK(sched_goal_unreachable(s));
        sched_free(s);
    }
    /* cap unknown: one window at split 1 teaches the model the link's cost */
    struct sched *s = make(20, 6, 0);
    struct sim m = sim_make(20, 2e6);
    unsigned k = sim_step(s, &m, 6, NULL, 0);
    CHECK_EQ_INT(k, 1);
    k = sim_step(s, &m, k, NULL, 0);
    CHECK(k >= 3);
    unsigned lowest = k;
    for (int i = 0; i < 30; i++) {
        k = sim_step(s, &m, k, NULL, 0);
        lowest = k < lowest ? k : lowest;
    }
    CHECK(lowest >= 3);
    sched_free(s);
}

/* Results come back at 8/s while the edge sends 18.6/s: offloading more cannot help. */
static void test_cloud_bottleneck(void)
{
    struct sched *s = make(19, 6, 0);
    struct sim m = sim_make(20, 1e8);
    m.dev.cloud_cap = 8;
    char why[96] = "";
    unsigned changes = 0, k = 6;
    for (int i = 0; i < 10; i++) {
        unsigned next = sim_step(s, &m, k, why, sizeof why);
        changes += next != k;
        k = next;
    }
    CHECK_EQ_INT(k, 6);
    CHECK_EQ_INT(changes, 0);
    CHECK(sched_cloud_bottleneck(s));
    CHECK(strncmp(why, "cloud bottleneck: delivered 8.", 30) == 0);
    m.dev.cloud_cap = 0; /* the cloud catches up: the edge's own miss now moves the split */
    k = sim_step(s, &m, k, why, sizeof why);
    CHECK_EQ_INT(k, 1);
    CHECK(!sched_cloud_bottleneck(s));
    sched_free(s);
}

/* The workers say they are saturated: a device that misses its goal at 6 does not lower its
 * split (it would only queue frames in a full cloud); once they have room, it moves. */
static void test_cloud_saturated(void)
{
    struct sched *s = make(19, 6, 0);
    struct sim m = sim_make(20, 1e8);
    char why[96] = "";
    unsigned k = 6, changes = 0;
    for (int i = 0; i < 8; i++) {
        struct sched_window w;
        sim_window(&m, k, &w);
        w.cloud_saturated = true;
        unsigned next = sched_update(s, &w, why, sizeof why);
        changes += next != k;
        k = next;
    }
    CHECK_EQ_INT(k, 6);
    CHECK_EQ_INT(changes, 0);
    CHECK(strncmp(why, "cloud saturated: goal missed", 28) == 0);
    CHECK(strstr(why, "holding 6") != NULL);
    k = sim_step(s, &m, k, why, sizeof why); /* room again */
    CHECK(k < 6);
    CHECK(strncmp(why, "goal missed", 11) == 0);
    /* saturated again at the lower split: no further down, and back up when that is faster */
    unsigned low = k;
    for (int i = 0; i < 6; i++) {
        struct sched_window w;
        sim_window(&m, k, &w);
        w.cloud_saturated = true;
        k = sched_update(s, &w, why, sizeof why);
        CHECK(k >= low);
    }
    /* saturated, and the frames run here after all hold the rate at the low split below what
     * split 6 gives alone: up to 6 */
    k = low;
    struct sched_window w;
    sim_window(&m, k, &w);
    w.cloud_saturated = true;
    w.fps = 0.5 * true_fps(&m, 6);
    k = sched_update(s, &w, why, sizeof why);
    CHECK_EQ_INT(k, 6);
    CHECK(strstr(why, "best") != NULL);
    sched_free(s);
}

/* Split 6 has a cost no measurement shows, so the model keeps predicting it meets the goal:
 * every failed retry doubles the wait, 2, 4, 8, 16, 32 windows, then stays at 32. */
static void test_backoff(void)
{
    struct sched *s = make(100, 5, 0);
    struct sim m = sim_make(1, 1e8);
    m.dev.hidden_us = 10000;
    CHECK(true_fps(&m, 6) < 100 && true_fps(&m, 5) > 115);
    unsigned k = 5, waits[9] = {0}, nwait = 0, run_at_5 = 0;
    char why[96] = "";
    for (int i = 0; i < 150 && nwait < 9; i++) {
        unsigned next = sim_step(s, &m, k, why, sizeof why);
        if (k == 5 && next == 6) {
            CHECK(strncmp(why, "reclaim: predicted", 18) == 0);
            waits[nwait++] = run_at_5 + 1;
        }
        if (k == 6)
            CHECK_EQ_INT(next, 5);
        run_at_5 = k == 5 ? run_at_5 + 1 : 0;
        k = next;
    }
    static const unsigned want[8] = {1, 2, 4, 8, 16, 32, 32, 32};
    CHECK_EQ_INT(nwait, 8);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ_INT(waits[i], want[i]);
    sched_free(s);
}

/* A pipelined edge on 2 cores, a pool of 2 threads running stage 0 beside the rest: its frame
 * time is the longest of stage 0 over the pool, the rest with the publish, and all of it over
 * the cores. At 20x slower, split 6 reaches 37 fps there but 18.6 fps on one thread, where
 * split 1 (25.5) is the largest that meets 24. Told how the edge runs, the policy keeps every
 * stage; from every start it settles in 2 windows on the right split and predicts its rate
 * within 2%. */
static void test_pipelined(void)
{
    for (unsigned pool = 0; pool <= 2; pool += 2) {
        for (unsigned start = 1; start < NSTAGES; start++) {
            struct sched_config cfg = {.nstages = NSTAGES,
                                       .goal_fps = 24,
                                       .start_split = start,
                                       .pool = pool,
                                       .cores = pool ? 2 : 1};
            struct sched *s = sched_new(&cfg);
            struct sim m = sim_make(20, 1e8);
            m.dev.pool = pool;
            unsigned k = start, changes = 0;
            k = run(s, &m, k, 2, &changes);
            CHECK_EQ_INT(k, pool ? 6 : 1);
            changes = 0;
            k = run(s, &m, k, 20, &changes);
            CHECK_EQ_INT(changes, 0);
            CHECK(!sched_goal_unreachable(s));
            double pred[NSTAGES];
            sched_predictions(s, pred, NSTAGES);
            CHECK(fabs(pred[k] / true_fps(&m, k) - 1) < 0.02);
            sched_free(s);
        }
    }
    CHECK_EQ_DBL(sched_frame_us(0, 2, 3000, 1000), 4000);
    CHECK_EQ_DBL(sched_frame_us(2, 2, 3000, 1000), 2000); /* the cores bound it */
    CHECK_EQ_DBL(sched_frame_us(2, 4, 3000, 1000), 1500); /* the pool */
    CHECK_EQ_DBL(sched_frame_us(4, 8, 3000, 2000), 2000); /* the rest */
}

int main(void)
{
    test_config();
    test_needs_full_window();
    test_every_start();
    test_slowdown_ends();
    test_noise();
    test_unreachable();
    test_slow_uplink();
    test_cloud_bottleneck();
    test_cloud_saturated();
    test_backoff();
    test_pipelined();
    return check_exit();
}

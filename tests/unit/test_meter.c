/* The worker's CPU meter (cloud/meter.h), on a simulated clock: what a frame costs, the capacity a
 * worker states, and when it is saturated. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "meter.h"

#define S 1000000 /* one second in microseconds */

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static void check_config(void)
{
    CHECK(meter_new(NULL) == NULL);
    CHECK(meter_new(&(struct meter_config){.threads = 0}) == NULL);
    CHECK(meter_new(&(struct meter_config){.threads = 1, .slowdown = 0.5}) == NULL);
    CHECK(meter_new(&(struct meter_config){.threads = 1, .slowdown = INFINITY}) == NULL);
    meter_free(NULL);
}

/* One thread that got a whole core: 10 frames of 50 ms CPU each in one second. */
static void check_own_core(void)
{
    struct meter *m = meter_new(&(struct meter_config){.threads = 1});
    struct meter_load l;
    meter_period(m, 0, 0, 0, 0, &l);
    CHECK_EQ_DBL(l.capacity_cpu_s, 1); /* before any measure: the threads */
    CHECK_EQ_INT(meter_frame_cost(m, 400, 300, 50), 450);
    for (int i = 0; i < 10; i++)
        meter_frame_done(m, 50000, 40000, 50000, true);
    /* the process spent 520 ms: 500 in the thread, 10 in the caller, 10 in the bus threads */
    meter_period(m, S, 520000, 10000, 10, &l);
    CHECK(near(l.window_s, 1, 1e-9));
    CHECK(near(l.used_cpu_s, 0.5, 1e-9));
    CHECK(near(l.busy, 0.5, 1e-9));
    CHECK(near(l.capacity_cpu_s, 1, 1e-9));
    CHECK(near(l.cpu_s_per_s, 0.51, 1e-9));
    CHECK(near(l.overhead_us, 1000, 1e-6));
    CHECK(near(l.cpu_us_per_frame, 51000, 1e-6));
    CHECK_EQ_INT(l.frames, 10);
    CHECK(!l.saturated);
    /* the bus share now goes into each frame's cost */
    CHECK_EQ_INT(meter_frame_cost(m, 400, 300, 50), 1450);
    meter_free(m);
}

/* A machine shared with another process: busy all the time, but only half a core got. The
 * capacity stated is half the thread, and the worker is saturated. */
static void check_shared_machine(void)
{
    struct meter *m = meter_new(&(struct meter_config){.threads = 1});
    struct meter_load l;
    meter_period(m, 0, 0, 0, 0, &l);
    for (int i = 0; i < 20; i++)
        meter_frame_done(m, 25000, 25000, 50000, true);
    meter_period(m, S, 500000, 0, 20, &l);
    CHECK(near(l.busy, 1, 1e-9));
    CHECK(near(l.capacity_cpu_s, 0.5, 1e-9));
    CHECK(near(l.used_cpu_s, 0.5, 1e-9));
    CHECK(l.saturated);
    /* 80% busy: still saturated (hysteresis); 50%: no longer */
    for (int i = 0; i < 16; i++)
        meter_frame_done(m, 25000, 25000, 50000, true);
    meter_period(m, 2 * S, 900000, 0, 36, &l);
    CHECK(near(l.busy, 0.8, 1e-9));
    CHECK(l.saturated);
    for (int i = 0; i < 10; i++)
        meter_frame_done(m, 25000, 25000, 50000, true);
    meter_period(m, 3 * S, 1150000, 0, 46, &l);
    CHECK(!l.saturated);
    /* an idle period keeps the share it measured */
    meter_period(m, 4 * S, 1150000, 0, 46, &l);
    CHECK(near(l.capacity_cpu_s, 0.5, 1e-9));
    CHECK_EQ_DBL(l.cpu_us_per_frame, 0);
    meter_free(m);
}

/* An emulated slowdown of 4: the stages' CPU counts four times, as on a machine that slow, and
 * the sleep that emulates it counts as busy. */
static void check_slowdown(void)
{
    struct meter *m = meter_new(&(struct meter_config){.threads = 2, .slowdown = 4});
    struct meter_load l;
    meter_period(m, 0, 0, 0, 0, &l);
    CHECK_EQ_DBL(l.capacity_cpu_s, 2);
    CHECK_EQ_INT(meter_frame_cost(m, 1100, 1000, 100), 1100 + 3000 + 100);
    for (int i = 0; i < 100; i++) /* each: 1.1 ms CPU, 1 ms in the stages, 4.1 ms taken */
        meter_frame_done(m, 1100, 1000, 4100, true);
    meter_period(m, S, 110000, 0, 100, &l);
    CHECK(near(l.used_cpu_s, 0.41, 1e-9));
    CHECK(near(l.busy, 0.205, 1e-9));
    CHECK(near(l.capacity_cpu_s, 2, 1e-9));
    CHECK(near(l.cpu_us_per_frame, 4100, 1e-6));
    /* a dropped message costs CPU but is no frame */
    meter_frame_done(m, 200, 0, 200, false);
    meter_period(m, 2 * S, 110200, 0, 101, &l);
    CHECK_EQ_INT(l.frames, 0);
    CHECK(near(l.used_cpu_s, 0.0002, 1e-9));
    meter_free(m);
}

int main(void)
{
    check_config();
    check_own_core();
    check_shared_machine();
    check_slowdown();
    return check_exit();
}

/* A deterministic simulated edge device for exercising the split policy without a clock, a
 * broker or OpenCV: the ball tracker's per-stage costs times a slowdown factor, its payload
 * sizes per split, an uplink of given speed, a cloud of bounded capacity and optional seeded
 * noise on every measurement. Used by tests/unit/test_sched.c and bench/sim_sched.c. */
#ifndef ES_SIM_DEVICE_H
#define ES_SIM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "sched.h"

#define SIM_NSTAGES 7

/* Unslowed stage times (us) and payload bytes at each split (index 0 unused). */
extern const double sim_base_us[SIM_NSTAGES];
extern const double sim_payload_at[SIM_NSTAGES];

struct sim_device {
    double slowdown;  /* device stage time = slowdown * sim_base_us */
    double link;      /* bytes per second the uplink really carries */
    double cloud_cap; /* results per second the cloud can deliver; 0 = unlimited */
    double noise;     /* each measurement is scaled by 1 +- up to this */
    double hidden_us; /* per-frame cost at the last split that no measurement shows */
    uint64_t rng;     /* state of the noise generator; any seed */
    unsigned pool;    /* threads running stage 0 beside the rest, on 2 cores; 0: one thread */
};

/* A multiplier 1 +- noise from d's generator (exactly 1 without noise). */
double sim_jitter(struct sim_device *d);

/* Edge time (us) spent publishing one frame at split k. */
double sim_publish_cost(const struct sim_device *d, unsigned k);

/* The frame rate the simulated edge really reaches at split k. */
double sim_true_fps(const struct sim_device *d, unsigned k);

/* One full window of window_s seconds ending at now_us, at split k, as the agent measures it. */
void sim_measure(struct sim_device *d, unsigned k, int64_t now_us, double window_s,
                 struct sched_window *w);

#endif

/* The fleet planner's decision: a pure module (no MQTT, no clock reads, no globals; the same
 * inputs always give the same answers), like the edge's split policy (edge/sched.h).
 *
 * It is fed every device's stats window (planner_device) and every worker's capacity and load
 * (planner_worker), and once per window planner_decide picks a split for every device in
 * automatic mode.
 *
 * The model. A device d at split k runs at f_d(k) frames per second: its own policy's prediction
 * for k (the "predicted_fps" of its stats), capped by its camera rate when it has one, and at the
 * split in force the measured fps when it has no prediction there. Each of its frames costs the
 * cloud c_a(k) microseconds of CPU, where a is the device's application: the per-frame cloud CPU
 * that devices of a measured at split k (an average over their windows), or, for a split nobody
 * measured yet, an estimate: the cost of the nearest measured lower split (an upper bound, since
 * the cloud does more there), else the cost of the nearest measured higher split plus the stage
 * times in between (the fastest device's), plus a per-message prior when nothing was measured.
 * So the device loads the cloud with f_d(k) * c_a(k) CPU-microseconds per second. The cloud's
 * capacity C is the sum of the online workers' capacities (CPU-seconds per second; each a running
 * mean over its reports, with the devices' smoothing weight), times the utilization the plan may
 * use (0.85 by default). Devices in manual mode load the cloud with
 * what they measured (results per second times their per-result cloud CPU), and so does a device
 * in automatic mode known at its own split only (its first window: no prediction for another
 * split, none measured there), which is left to its own policy until it is.
 *
 * The rule, in order of priority:
 *  1. most goals met: a goal counts as met at k when f_d(k) >= goal * (1 + margin);
 *  2. then the highest minimum of f_d / goal over the devices whose goal is not met;
 *  3. then the least total cloud CPU.
 * Every device starts at its cheapest split (least f*c). Funding device d's goal costs the
 * difference between its cheapest split meeting the goal and its cheapest split; the goals are
 * funded cheapest first while the capacity lasts (which maximizes the number met; a goal the last
 * plan funded counts 25% cheaper, so that a replanning moves few devices it need not move). The
 * capacity left then goes, a step at a time, to the unmet device with the lowest f/goal, moving it
 * to its next faster split, until that device cannot step (no faster split, or the step does not
 * fit): the minimum cannot rise any more, and every unmet device takes its cheapest split whose
 * f/goal is at least that minimum (the capacity left is not spent). A device keeps the split in
 * force when that meets its goal at no more than 25% over the cheapest split that does, so that
 * measurement noise does not move it.
 *
 * Plan inertia: the last plan as a whole stands (each device's last planned split, a new device
 * at the new plan's) while it fits within utilization + 0.1 of the capacity and is not worse than
 * the new plan by the rule: as many goals met (a goal counting as met at half the margin), and
 * when it meets no more, a minimum f/goal at least 75% of the new plan's and a cloud CPU at most
 * 10% over it. So noise does
 * not move the fleet, and an event (a worker lost or back, devices joining or leaving, a goal
 * missed at the planned split) does.
 *
 * Congestion: the capacity the workers state is what they can compute, not what they can serve
 * within the devices' deadlines. When more than 1% of the frames of a window's reports ran on the
 * device after all (late, or no worker), the share of the capacity a plan may use is cut by 15%
 * (to half the configured utilization at the least; once per two decisions, so that a cut takes
 * effect before the next), and the last plan has no allowance over it; after 5 decisions without,
 * it rises by 0.01 a decision, up to the share that was late last (which rises by 0.01 every 30
 * such decisions). For 5 decisions after the capacity moved by more than 20% (a worker lost or
 * back), or after 5% of the devices or more joined (their own policies move them in their first
 * window), late frames are the event's and are not counted; and only the plan of a decision that
 * cut the share stands without the allowance. */
#ifndef ES_PLANNER_H
#define ES_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define PLANNER_MAX_STAGES STATE_MAX_STAGES
#define PLANNER_APP_MAX 31
#define PLANNER_REASON_MAX 96

struct planner_config {
    double utilization; /* share of the workers' capacity a plan may use, (0, 1]; 0 means 0.85 */
    double margin;      /* a goal is met at k when f(k) >= goal * (1 + margin); 0 means 0.10 */
    double smoothing;   /* weight of a window's predicted fps in a device's running mean, (0, 1];
                         * 0 means 1: the last window alone */
    int64_t device_stale_us; /* a device whose last stats are older is left out; 0 means 10 s */
    int64_t worker_stale_us; /* a worker whose last report is older is left out; 0 means 10 s */
};

/* One stats window of one device (the members of its pipeline/stats message). Values that are
 * 0 are unknown. */
struct planner_device_report {
    const char *device; /* a valid id; copied */
    const char *app;    /* application name (PLANNER_APP_MAX chars at most); copied */
    bool auto_mode;     /* automatic mode: the planner picks its split */
    double goal;        /* frames per second, auto mode */
    unsigned split;     /* in force at the end of the window, 1..nstages-1 */
    unsigned nstages;   /* 2..PLANNER_MAX_STAGES */
    double fps;         /* frames captured per second */
    double rate;        /* the camera's rate (the most fps it can give); 0: none */
    double predicted_fps[PLANNER_MAX_STAGES]; /* the device's own prediction per split */
    double stage_us[PLANNER_MAX_STAGES];      /* mean device time of each local stage */
    double bytes_per_frame;                   /* payload at split */
    double results_per_s;                     /* results from workers per second */
    double cloud_us_per_result;               /* measured cloud CPU of one of its results */
    double fallback; /* frames of the window run on the device after all (no worker, late) */
    double captured; /* frames of the window captured (0: unknown) */
};

/* One load report (or retained status) of one worker. */
struct planner_worker_report {
    const char *worker;    /* a valid id; copied */
    bool online;           /* false: its offline status; it is forgotten */
    double capacity_cpu_s; /* CPU-seconds per second it can serve now */
    double used_cpu_s;     /* CPU-seconds per second it used in its last period */
};

/* The planner's choice for one device in automatic mode. */
struct planner_choice {
    char device[STATE_DEVICE_MAX + 1];
    unsigned split;
    double predicted_fps;            /* f_d(split) */
    double cloud_cpu_s;              /* f_d(split) * c(split) / 1e6: CPU-seconds per second */
    bool goal_met;                   /* f_d(split) >= goal * (1 + margin) */
    bool meetable;                   /* some split meets the goal (whatever the capacity) */
    char reason[PLANNER_REASON_MAX]; /* e.g. "goal met, least cloud CPU", "cloud full: 0.82 of
                                      * goal", "goal unreachable: fastest split" */
};

/* The fleet as the last decision saw it. */
struct planner_summary {
    size_t devices;        /* devices with fresh stats */
    size_t planned;        /* of which in automatic mode (a choice each) */
    size_t goals_met;      /* planned devices whose goal the plan meets */
    size_t goals_meetable; /* planned devices whose goal some split meets */
    size_t workers;        /* workers with a fresh report */
    double capacity_cpu_s; /* sum of their capacities (before the utilization share) */
    double fixed_cpu_s;    /* what the manual devices use */
    double planned_cpu_s;  /* what the plan's devices will use, by the model */
    double min_ratio;   /* lowest f/goal among planned devices whose goal is not met; 1 if none */
    double utilization; /* the share of the capacity this plan used: the configured one, or less
                         * while the cloud was late (see planner_decide) */
    double late_share;  /* frames run on the device after all, of those captured, in the reports
                         * that came since the last decision */
};

struct planner;

/* A new planner, or NULL when cfg is out of range or memory runs out. cfg may be NULL for the
 * defaults. Free with planner_free (accepts NULL). */
struct planner *planner_new(const struct planner_config *cfg);
void planner_free(struct planner *p);

/* Takes one device's window at now_us (any monotonic clock; the same for every call). Returns
 * false, and changes nothing, for an invalid report (a NULL or invalid id, nstages or split out
 * of range, a negative or non-finite number). */
bool planner_device(struct planner *p, const struct planner_device_report *r, int64_t now_us);

/* Takes one worker's report at now_us. Same returns. */
bool planner_worker(struct planner *p, const struct planner_worker_report *r, int64_t now_us);

/* Decides for every device in automatic mode with fresh stats: writes up to max choices to out
 * (sorted by device id) and returns how many there are in all (which may exceed max). *sum (may
 * be NULL) receives the fleet's summary. */
size_t planner_decide(struct planner *p, int64_t now_us, struct planner_choice *out, size_t max,
                      struct planner_summary *sum);

/* The per-frame cloud CPU (microseconds) the model uses for application app at split k, and
 * whether it was measured (true) or estimated; 0 for an unknown application or k. */
double planner_cost_us(const struct planner *p, const char *app, unsigned k, bool *measured);

#endif

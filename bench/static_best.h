/* The best static split assignment for a fleet, found offline: a yardstick for the fleet planner
 * (cloud/planner.h), by the same rule. A pure module: no I/O, no clock reads, no globals.
 *
 * The problem. Device d at split k runs at f_d(k) frames per second and costs the cloud
 * c_d(k) microseconds of CPU per frame, so it loads the cloud with l_d(k) = f_d(k) * c_d(k) / 1e6
 * CPU-seconds per second. A split with f_d(k) = 0 gives nothing and is never chosen. One split
 * is chosen per device so that the total load fits the capacity C, by this rule, in order:
 *  1. most goals met: d's goal is met at k when f_d(k) >= goal_d * (1 + margin);
 *  2. then the highest minimum of f_d / goal_d over the devices whose goal is not met, each
 *     ratio counted at most 1 (as planner_summary's min_ratio), and 1 when every goal is met;
 *  3. then the least total cloud CPU.
 *
 * The method. This is an integer program (a multiple-choice knapsack), solved exactly by dynamic
 * programming over the capacity cut into STATIC_STEPS steps of C / STATIC_STEPS. A load's
 * weight is its number of steps rounded UP, so whatever the program finds fits C. The table
 * holds, for each total weight w, the best (goals met, then least exact load) over the devices
 * so far; goals and loads add up over devices, so keeping the best pair per w is exact.
 *  - A first pass over every usable split gives M, the most goals met.
 *  - Then, for the candidate minimum ratios t (the distinct ratios of the splits that miss their
 *    goal, in descending order), a pass restricted to the splits that meet the goal or have
 *    f / goal >= t tells whether M goals can still be met. The first t for which they can is the
 *    answer to rule 2 (the restriction only loosens as t falls, so a binary search over the
 *    sorted candidates finds that same first t in a few passes), and that pass's least-load
 *    assignment is the answer to rule 3.
 * The only approximation is the rounding of the weights, which errs on the safe side: an
 * assignment whose load is within n steps below C may be missed, one that does not fit is never
 * returned. 64 devices of 6 splits take some ten passes of 64 * 6 * STATIC_STEPS steps. */
#ifndef ES_STATIC_BEST_H
#define ES_STATIC_BEST_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

/* The most splits a device may have (splits 1..STATIC_MAX_SPLITS). */
#define STATIC_MAX_SPLITS 31
/* The steps the capacity is cut into. */
#define STATIC_STEPS 20000u

/* One device. fps and cpu_us are indexed by split k, 1..nsplits; entry 0 is not read. */
struct static_dev {
    double goal;                          /* frames per second, > 0 */
    double fps[STATIC_MAX_SPLITS + 1];    /* f(k) >= 0; 0: split k gives nothing */
    double cpu_us[STATIC_MAX_SPLITS + 1]; /* c(k) >= 0: cloud CPU per frame, microseconds */
};

/* The chosen assignment as a whole. */
struct static_result {
    bool fits;             /* some assignment fits the capacity (after the rounding) */
    size_t goals_met;      /* devices whose goal the assignment meets */
    size_t goals_meetable; /* devices whose goal some split meets, whatever the capacity */
    double min_ratio;      /* rule 2's minimum (at most 1; 1 when every goal is met) */
    double cloud_cpu_s;    /* total load, CPU-seconds per second (exact, not rounded) */
};

/* Chooses a split for each of the n devices of devs (every one with splits 1..nsplits) within
 * capacity CPU-seconds per second, by the rule above with the given margin (0.10 is the
 * planner's default), and writes device i's split to out_split[i] (n entries) and the totals to
 * *res. When no assignment fits, res->fits is false and out_split holds every device's
 * least-load split (res describes that assignment). Nothing is kept after the call.
 *
 * Returns:
 *  - ES_OK, with out_split and *res written;
 *  - ES_EINVAL when an argument is out of range (a NULL pointer, nsplits outside
 *    1..STATIC_MAX_SPLITS, a negative or non-finite capacity or margin, a goal <= 0, a negative
 *    or non-finite fps or cpu_us, a device with no split of fps > 0); nothing is written;
 *  - ES_ENOMEM when memory runs out; nothing is written. */
enum es_err static_best(const struct static_dev *devs, size_t n, unsigned nsplits, double capacity,
                        double margin, unsigned *out_split, struct static_result *res);

#endif

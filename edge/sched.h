/* The split policy of automatic mode: a pure module (no MQTT, no OpenCV, no clock reads, no
 * globals; the same inputs always give the same answers).
 *
 * Once per measurement window the agent hands the policy what it measured; the policy answers
 * with the split to use next. The first stage always stays on the device and the last in the
 * cloud, so splits stay within 1..nstages-1.
 *
 * The model: every stage has a device time, kept as a smoothed per-stage cost times one device
 * speed factor, so a device that slows down or recovers moves the estimate of every stage at
 * once, including the stages that currently run in the cloud. A stage that never ran on the
 * device is estimated from the time the cloud reports for it, scaled by the device/cloud ratio of
 * the stages seen in both places (1 when there are none). The payload size and publish time are
 * kept per split as measured; unseen splits get a conservative prior. The edge FPS predicted at
 * split K is 1e6 / (frame time + other time), where the frame time (sched_frame_us) is the
 * device time of stages 0..K-1 plus the publish cost of K's payload on a one-thread edge; on a
 * pipelined one, where a pool runs the first stage of several frames beside the rest, the
 * longest of: stage 0 over the pool, the rest with the publish, and all of it over the cores.
 *
 * The policy: on a missed goal (by more than 5%, or in two windows running, or in the first
 * window after a move), jump to the largest split predicted to meet it with a cushion (a third
 * of the margin, or twice the measured noise, at most the margin); when the goal is met,
 * reclaim stages by jumping to the largest split predicted to meet it with the full margin.
 * When no known split meets the goal, a split above whose payload was never seen is tried if it
 * could meet it; otherwise the fastest predicted split is used and sched_goal_unreachable() is
 * true. Changes need a full window. A split that misses the goal within 3 windows of the move
 * to it is not chosen again for 2, 4, 8, 16, then 32 windows. When results come back much
 * slower than frames leave, the cloud is the bottleneck: the split is not lowered. When every
 * worker serving the split says it is saturated (cloud_saturated), the split is not lowered
 * either (this comes before the bottleneck rule): on a missed goal the policy takes the largest
 * split at or above the current one that meets it, else the fastest of those, the current one
 * counting at the rate measured there when that is lower than predicted (the rate the device
 * reaches with the cloud's share it has), and the reason says "cloud saturated". */
#ifndef ES_SCHED_H
#define ES_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define SCHED_MAX_STAGES STATE_MAX_STAGES

struct sched_config {
    unsigned nstages;          /* stages of the application, 2..SCHED_MAX_STAGES */
    double goal_fps;           /* > 0 */
    unsigned start_split;      /* 1..nstages-1 */
    double margin;             /* reclaim a stage only if predicted fps >= goal*(1+margin);
                                * 0 means 0.15; must be < 1 */
    double uplink_bytes_per_s; /* known cap of the uplink, 0 = unknown */
    unsigned pool;             /* threads running the first stage beside the rest; 0: one
                                * thread runs everything */
    unsigned cores;            /* cores the device has (with pool > 0); 0 counts as 1 */
};

/* The device time of a frame whose first stage takes first_us and whose other local stages and
 * publish take rest_us: their sum when pool is 0, else max(first_us / pool, rest_us, (first_us +
 * rest_us) / cores). */
double sched_frame_us(unsigned pool, unsigned cores, double first_us, double rest_us);

/* One window's measurements. Stage and cloud times, bytes and publish time that are 0 are
 * treated as unknown; delivered_fps 0 means no result came back. */
struct sched_window {
    int64_t now_us;       /* end of the window, monotonic */
    double window_s;      /* length of the window */
    unsigned split;       /* split in force at the end of the window */
    bool full;            /* false if the split changed inside the window: only the stage times
                           * are used then, and no change is made */
    double fps;           /* frames the edge finished per second */
    double delivered_fps; /* results received back per second */
    unsigned nstage_us;   /* entries of stage_us that are valid (normally split) */
    double stage_us[SCHED_MAX_STAGES];       /* mean device time of each local stage 0..split-1,
                                              * including any emulated slowdown */
    double cloud_stage_us[SCHED_MAX_STAGES]; /* mean time the cloud took for the stages
                                              * split..nstages-1, from the results */
    double bytes_per_frame;                  /* payload bytes published per frame at this split */
    double publish_us;    /* mean edge time per frame to encode and publish, incl. uplink wait */
    double other_us;      /* mean edge time per frame beyond the frame time (sched_frame_us) */
    bool cloud_saturated; /* every worker serving the split states it is saturated, or the cloud
                           * ran late for the device */
};

struct sched;

/* A new policy starting at cfg->start_split. Returns NULL when cfg is out of range (see the
 * field comments) or memory runs out. The caller frees it with sched_free(). */
struct sched *sched_new(const struct sched_config *cfg);

/* Changes the goal from the next window on (a reloaded configuration); false, and no change,
 * for a goal that is not a positive finite number. */
bool sched_set_goal(struct sched *s, double goal_fps);

/* Frees s; NULL is accepted. */
void sched_free(struct sched *s);

/* Feeds one window and returns the split for the next one (1..nstages-1). The split in w is
 * taken as the one in force. reason (len bytes, may be NULL when len is 0) always receives a
 * short text: why the split changed ("goal missed 12.1<17, predicted 25.6 at 1", "reclaim:
 * predicted 21.0>=19.6 at 5", "goal missed 3.8<20, trying 3: predicted 18.7 if its payload is
 * small"), why it was held ("cloud bottleneck: delivered 8.0<<18.6, holding 6", "below goal
 * 16.8<17, confirming"), "cloud saturated: goal missed 12.1<17, holding 4" (or "... best 15.2
 * at 5"), "goal unreachable: best 9.8 at 1" (moved there or stayed), or "" when there is nothing
 * to say. */
unsigned sched_update(struct sched *s, const struct sched_window *w, char *reason, size_t len);

/* Whether the last full window found that no split meets the goal and fell short of it by more
 * than the 5% a single window may miss by (a device at its camera's rate, which is its goal too,
 * is not said to be unable to reach it). */
bool sched_goal_unreachable(const struct sched *s);

/* The same said of a window that has not been through sched_update yet (the stats of the window
 * just closed are published before the policy reads it): the last update found that no split
 * meets the goal, and fps, the new window's rate, falls short of it by more than 5%. A device
 * that reaches its goal in the new window is not said to be unable to. */
bool sched_goal_unreachable_at(const struct sched *s, double fps);

/* Whether the last full window saw results come back well below the edge's frame rate. */
bool sched_cloud_bottleneck(const struct sched *s);

/* Writes the predicted edge fps of splits 0..n-1 after the last update to out[0..n-1]: out[0]
 * and entries at or past nstages are 0; all are 0 before the first update. */
void sched_predictions(const struct sched *s, double *out, unsigned n);

#endif

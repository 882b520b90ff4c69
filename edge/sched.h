/* The split policy of automatic mode: a pure module (no MQTT, no OpenCV; time is passed in).
 *
 * Once per measurement window the agent hands the policy what it measured; the policy answers
 * with the split to use next and, when it changes, a one-line reason. The first stage always
 * stays on the device and the last in the cloud, so splits stay within 1..nstages-1. */
#ifndef ES_SCHED_H
#define ES_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One window's measurements at the split that was in force for the whole window. */
struct sched_window {
    int64_t now_us;       /* end of the window (monotonic) */
    double fps;           /* frames the edge finished per second */
    double delivered_fps; /* results received per second */
    unsigned split;       /* split in force during the window */
};

struct sched_config {
    unsigned nstages; /* stages of the application, >= 2 */
    double goal_fps;  /* > 0 */
    unsigned start_split;
};

struct sched;

/* A new policy; NULL on bad config or no memory. */
struct sched *sched_new(const struct sched_config *cfg);
void sched_free(struct sched *s);

/* Feeds one window and returns the split for the next one. When the split changes, reason gets a
 * short text such as "goal missed 12.1<17". */
unsigned sched_update(struct sched *s, const struct sched_window *w, char *reason, size_t len);

/* Whether the last update found that no split meets the goal. */
bool sched_goal_unreachable(const struct sched *s);

#endif

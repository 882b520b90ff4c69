/* The edge's fault episodes as the log sees them: a fault is one episode from its start to its
 * end, logged with one line when it starts (for the kinds that have one) and one line with its
 * duration and the frames it touched when it ends, however many frames it lasts.
 *
 * Kinds: the broker is unreachable (offline), no online worker serves the split (no worker),
 * and results miss their deadlines (late). The functions of each kind do nothing when the
 * episode is already in the state asked for, so callers may call them on every frame.
 *
 * Threads: one thread (the agent's) calls every function. Times are clock_mono_us() values
 * passed in; the module reads no clock. */
#ifndef ES_EPISODE_H
#define ES_EPISODE_H

#include <stdbool.h>
#include <stdint.h>

#include "spool.h"

enum episode_kind {
    EPISODE_OFFLINE,   /* the broker cannot be used (not connected, or the client id was taken
                        * over): frames run here and their results are buffered */
    EPISODE_NO_WORKER, /* connected, but nobody serves the split: frames run here */
    EPISODE_LATE,      /* results missed their deadlines: frames published again or run here */
    EPISODE_KINDS,
};

struct episodes;

/* No episode going on, or NULL on no memory. Free with episodes_free (accepts NULL). */
struct episodes *episodes_new(void);
void episodes_free(struct episodes *e);

/* Whether an episode of kind k is going on. */
bool episodes_active(const struct episodes *e, enum episode_kind k);

/* Counts one frame touched by the episode of kind k (it ran here, or was published again), if
 * that episode is going on; otherwise does nothing. */
void episodes_add_frame(struct episodes *e, enum episode_kind k);

/* The broker cannot be used: starts the offline episode (no line: the transport logs why). */
void episodes_offline_start(struct episodes *e, int64_t now_us);

/* The broker is back: ends the offline episode with the line EDGE-ONLINE, which reports the
 * buffer's state from ss (borrowed). */
void episodes_offline_end(struct episodes *e, int64_t now_us, const struct spool_stats *ss);

/* No worker serves stage k on the broker at uri (borrowed): starts the episode with the line
 * EDGE-NO-WORKER. */
void episodes_no_worker_start(struct episodes *e, int64_t now_us, unsigned k, const char *uri);

/* A worker serves stage k again: ends the episode with the line EDGE-WORKER-BACK. */
void episodes_no_worker_end(struct episodes *e, int64_t now_us, unsigned k);

/* Frame seq got no result within deadline_us: starts the late episode with the line EDGE-LATE. */
void episodes_late_start(struct episodes *e, int64_t now_us, uint64_t seq, int64_t deadline_us);

/* A window passed without a missed deadline: ends the late episode with the line
 * EDGE-LATE-END. */
void episodes_late_end(struct episodes *e, int64_t now_us);

#endif

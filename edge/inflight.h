/* Frames published by the edge and not yet answered by a result.
 *
 * The agent keeps at most `window` frames in flight: frame seq takes slot seq % window and
 * waits while that slot is busy, which bounds both the broker's queue and the memory a slow
 * cloud can make the device hold. Results complete slots (from the transport's thread); a frame
 * whose result does not come within the timeout is counted lost, so nothing disappears silently.
 * All functions are thread-safe. */
#ifndef ES_INFLIGHT_H
#define ES_INFLIGHT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "es_err.h"

struct inflight;

/* What happened since the previous inflight_take_window call. */
struct inflight_window {
    uint64_t delivered;    /* results received for frames in flight */
    uint64_t lost;         /* frames given up on (no result within the timeout) */
    uint64_t unexpected;   /* results for no frame in flight: duplicates or late arrivals */
    double latency_p50_ms; /* capture to result, over this window's results; 0 if none */
    double latency_p99_ms;
};

/* A tracker for window slots (1..4096) that gives up on a frame after timeout_us. NULL on no
 * memory or a bad window. Free with inflight_free. */
struct inflight *inflight_new(unsigned window, int64_t timeout_us);
void inflight_free(struct inflight *f);

/* Waits until the slot of seq is free (expiring frames older than the timeout), or until
 * *stop becomes nonzero (ES_ESTOPPED). now_us is read from clock_mono_us. */
enum es_err inflight_wait_slot(struct inflight *f, uint64_t seq, const volatile sig_atomic_t *stop);

/* Records frame seq as in flight, before it is published; captured_wall_us is its capture time
 * (clock_wall_us). The slot must be free (after inflight_wait_slot). */
void inflight_add(struct inflight *f, uint64_t seq, int64_t captured_wall_us);

/* Takes frame seq out of flight without counting it (its publish failed; the caller counts the
 * loss). */
void inflight_cancel(struct inflight *f, uint64_t seq);

/* A result for seq arrived at wall time now_wall_us. Returns true when it completed a frame in
 * flight, false for a duplicate or a result after the frame was counted lost. */
bool inflight_complete(struct inflight *f, uint64_t seq, int64_t now_wall_us);

/* Waits up to timeout_us for every frame in flight to complete, then counts the rest lost.
 * Returns the number counted lost here. */
uint64_t inflight_drain(struct inflight *f, int64_t timeout_us);

/* Number of frames in flight now. */
unsigned inflight_count(struct inflight *f);

/* Returns the counters accumulated since the last call and starts a new window. */
void inflight_take_window(struct inflight *f, struct inflight_window *out);

#endif

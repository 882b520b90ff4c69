/* Delivery of offloaded frames: the edge's side of at-least-once.
 *
 * A frame the edge publishes stays in flight until a result for it comes back. The window is
 * bounded in count (`window` frames) and in time: each publish of a frame gets a deadline from
 * the measured round trip (publish to result), clamp(p99_factor x p99, min_deadline_us,
 * timeout_us), or min(timeout_us, 1 s) until enough round trips were seen. A frame past its
 * deadline is published once more (up to `attempts` publishes in all); after the last one it
 * is handed back to the edge to run the remaining stages itself (fallback). A frame can also be
 * handed back at once (delivery_fail_all: the connection was lost, or no worker serves it).
 *
 * The edge accepts one result per frame: the first result for a frame in flight is accepted,
 * any later one, and any result for a frame that already fell back, is a duplicate. A result
 * whose capture time differs from the frame's is someone else's (another run, another agent
 * with the same id) and is counted as foreign.
 *
 * Threads: results arrive on the transport's thread (delivery_complete); the agent's thread does
 * everything else. Every function takes the module's lock. Times: `now_us` arguments are
 * clock_mono_us() values except where named wall. The module reads no clock itself, except
 * delivery_wait, which sleeps. */
#ifndef ES_DELIVERY_H
#define ES_DELIVERY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

struct delivery;

struct delivery_config {
    unsigned window;         /* frames in flight at most, 1..4096 */
    int64_t timeout_us;      /* longest deadline of one publish (--result-timeout), > 0 */
    int64_t min_deadline_us; /* shortest deadline; 0 means 250 ms */
    double p99_factor;       /* deadline = factor x p99 round trip; 0 means 5 */
    unsigned attempts;       /* publishes of a frame before it falls back; 0 means 2 */
};

/* A frame handed back to the agent's thread. payload points into the module and stays valid
 * until delivery_resent or delivery_finish for this seq. */
struct delivery_frame {
    uint64_t seq;
    int64_t captured_wall_us;
    unsigned split;
    unsigned attempts; /* publishes so far */
    const uint8_t *payload;
    size_t len;
};

enum delivery_action {
    DELIVERY_NONE,     /* nothing due */
    DELIVERY_RETRY,    /* publish out->payload again, then call delivery_resent */
    DELIVERY_FALLBACK, /* run the frame here, then call delivery_finish */
};

enum delivery_outcome {
    DELIVERY_ACCEPTED,  /* the frame's result: counted, the frame leaves flight */
    DELIVERY_DUPLICATE, /* a second result for a frame already answered or fallen back */
    DELIVERY_FOREIGN,   /* a result for no frame of this run */
};

/* What happened since the previous delivery_take_window call. */
struct delivery_window {
    uint64_t results;      /* results accepted from workers */
    uint64_t fallback;     /* frames that ran here: handed back, or never published */
    uint64_t retried;      /* publishes after a missed deadline */
    uint64_t duplicates;   /* results for frames already answered */
    uint64_t foreign;      /* results for no frame of this run */
    double latency_p50_ms; /* capture to result (worker or fallback); 0 if none */
    double latency_p99_ms;
    double deadline_ms; /* the deadline in force at the end of the window */
};

/* A new window, or NULL on a bad configuration or no memory. Free with delivery_free. */
struct delivery *delivery_new(const struct delivery_config *c);
void delivery_free(struct delivery *d); /* accepts NULL */

/* Frames in flight now (including those handed back and not finished). */
unsigned delivery_count(struct delivery *d);

/* True when a frame may be added. */
bool delivery_room(struct delivery *d);

/* Puts frame seq in flight, sent at now_us, with a copy of its wire payload (the copy buffer
 * is kept for the next frame, so a steady stream allocates nothing). Returns ES_EFULL without
 * room, ES_ENOMEM, or ES_OK. */
enum es_err delivery_add(struct delivery *d, uint64_t seq, int64_t captured_wall_us, unsigned split,
                         const uint8_t *payload, size_t len, int64_t now_us);

/* Takes frame seq out of flight without counting it (its publish failed; the caller runs it
 * here). */
void delivery_cancel(struct delivery *d, uint64_t seq);

/* The oldest frame that needs the agent's thread at now_us, copied into *out: RETRY when its
 * deadline passed, it has publishes left and can_send; FALLBACK when its deadline passed
 * otherwise, or it was handed back. A FALLBACK frame no longer accepts results. */
enum delivery_action delivery_next(struct delivery *d, int64_t now_us, bool can_send,
                                   struct delivery_frame *out);

/* Frame seq was published again at now_us: counts a retry and starts a new deadline. */
void delivery_resent(struct delivery *d, uint64_t seq, int64_t now_us);

/* Frame seq, handed back, ran here and its result was stored at now_wall_us: it leaves
 * flight, counted as fallback. */
void delivery_finish(struct delivery *d, uint64_t seq, int64_t now_wall_us);

/* Frame seq, captured at captured_wall_us, was never published: it ran here and its result was
 * stored at now_wall_us. Counted as fallback, with its latency, and remembered for dedupe. */
void delivery_ran_here(struct delivery *d, uint64_t seq, int64_t captured_wall_us,
                       int64_t now_wall_us);

/* Hands every frame in flight back at once (the connection was lost, or no worker serves
 * them). Wakes delivery_wait. */
void delivery_fail_all(struct delivery *d);

/* A result for seq, captured at captured_wall_us, arrived at now_us (mono) / now_wall_us. */
enum delivery_outcome delivery_complete(struct delivery *d, uint64_t seq, int64_t captured_wall_us,
                                        int64_t now_us, int64_t now_wall_us);

/* Sleeps until a result or a hand-back changes the window, the earliest deadline passes,
 * *stop becomes nonzero (checked every 50 ms) or max_us passes, whichever is first. */
void delivery_wait(struct delivery *d, const volatile sig_atomic_t *stop, int64_t max_us);

/* Wakes delivery_wait (another thread has news for the agent's thread). */
void delivery_wake(struct delivery *d);

/* The deadline a publish made now would get. */
int64_t delivery_deadline_us(struct delivery *d);

/* Returns the counters accumulated since the last call and starts a new window. */
void delivery_take_window(struct delivery *d, struct delivery_window *out);

#endif

/* The worker's queue of received frames, fair across devices.
 *
 * Each device (the id in the frame's topic) has its own FIFO; consumers take frames round robin
 * across the devices that have any, so a device that floods the worker delays itself, not the
 * others. Each device also has a budget: at most `device_max` frames queued, and at most
 * `cpu_budget_us` of processing time per `cpu_window_us`. A frame over its device's budget is
 * dropped at once and counted against that device; the whole queue also has a message and a byte
 * bound, past which pushes are refused (the caller asks the broker to deliver again later).
 *
 * Thread-safe: the transport's thread pushes, processing threads pop and charge. */
#ifndef ES_FAIRQ_H
#define ES_FAIRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct msg {
    struct msg *next;
    int64_t queued_us; /* clock_mono_us() when pushed */
    uint64_t tag;      /* the caller's, as given to fairq_push (the bus's delivery tag) */
    size_t len;
    size_t cap;                        /* payload bytes allocated (fairq's own) */
    char device[STATE_DEVICE_MAX + 1]; /* the queue it was in ("" for a topic without one) */
    char topic[96];
    uint8_t payload[]; /* len bytes */
};

struct fairq_config {
    size_t max_msgs;       /* whole queue */
    size_t max_bytes;      /* whole queue, payload bytes */
    size_t device_max;     /* frames queued per device */
    int64_t cpu_budget_us; /* processing time per device per window; 0: no CPU budget */
    int64_t cpu_window_us; /* the window, > 0 when cpu_budget_us > 0 */
};

enum fairq_push_result {
    FAIRQ_QUEUED,
    FAIRQ_FULL,        /* the whole queue is full or closed: not taken, deliver again later */
    FAIRQ_OVER_BUDGET, /* the device is over its budget: dropped (counted) */
};

struct fairq;

/* A queue with the bounds of c, or NULL on no memory or a bad configuration. */
struct fairq *fairq_new(const struct fairq_config *c);

/* Frees q and every message still in it. Accepts NULL. */
void fairq_free(struct fairq *q);

/* Copies the message (and tag) into device's FIFO (device NULL or not a valid id: one shared FIFO
 * for such messages), unless the queue is full or the device is over budget. A topic too long for
 * struct msg is truncated (the worker then rejects it as malformed). */
enum fairq_push_result fairq_push(struct fairq *q, const char *device, const char *topic,
                                  const uint8_t *payload, size_t len, uint64_t tag);

/* Waits for a message and returns the next one round robin across devices; the caller gives it
 * back with fairq_release. Returns NULL once the queue is closed and empty. */
struct msg *fairq_pop(struct fairq *q);

/* Gives a popped message back; the queue keeps up to 64 (and 8 MB) for the next pushes (a steady
 * stream then allocates nothing) and frees the rest. Accepts NULL. */
void fairq_release(struct fairq *q, struct msg *m);

/* Adds cpu_us of processing time to device's budget for the window at now_us. */
void fairq_charge(struct fairq *q, const char *device, int64_t cpu_us, int64_t now_us);

/* Refuses new messages and wakes every waiting consumer; queued messages are still popped. */
void fairq_close(struct fairq *q);

/* Messages queued now. */
size_t fairq_depth(struct fairq *q);

/* How long the oldest queued message has waited at now_us (clock_mono_us); 0 when empty. */
int64_t fairq_oldest_wait_us(struct fairq *q, int64_t now_us);

/* Frames dropped over budget so far, all devices. */
uint64_t fairq_dropped(struct fairq *q);

#endif

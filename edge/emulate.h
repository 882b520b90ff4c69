/* Device emulation for tests and demos: a slowdown that may change during a run, an uplink
 * with a capped rate, and a camera clock. Pure: time is passed in. */
#ifndef ES_EMULATE_H
#define ES_EMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

#define SLOWDOWN_MAX_PHASES 16

/* A slowdown factor over time: either one factor for the whole run, or phases "F:START-END"
 * (seconds since the start of the run, END exclusive); outside every phase the factor is 1. */
struct slowdown {
    unsigned nphases;
    struct {
        double factor;
        double start_s;
        double end_s;
    } phase[SLOWDOWN_MAX_PHASES];
    double constant; /* used when nphases == 0 */
    bool sleep;      /* emulate by sleeping instead of spinning (--slowdown-mode sleep): the
                      * device's CPU then counts the time slept, and many emulated devices
                      * share few cores */
};

/* Parses "F" (F >= 1) or "F:S-E[,F:S-E...]" (F >= 1, 0 <= S < E). ES_EINVAL otherwise. */
enum es_err slowdown_parse(const char *spec, struct slowdown *out);

/* The factor in force t_s seconds into the run. */
double slowdown_at(const struct slowdown *s, double t_s);

/* An uplink that carries bytes_per_s: each message occupies the link for len / rate seconds,
 * one after the other. rate 0 means unlimited. */
struct uplink {
    double bytes_per_s;
    int64_t free_at_us; /* when the link finishes the messages sent so far */
};

/* Books len bytes sent at now_us and returns how long the sender must wait before it may send
 * (0 when the link is idle or unlimited). */
int64_t uplink_book(struct uplink *u, int64_t now_us, size_t len);

/* A camera producing a frame every period_us whether or not the device takes it (--rate). */
struct camclock {
    double period_us; /* > 0 */
    double next_us;   /* when the next frame is produced; set on the first call */
    bool started;
};

/* Books the next frame at now_us: returns how long to wait before capturing it (0 when late).
 * Frames the camera produced while the device was busy, beyond the one it takes now, are added
 * to *skipped: a real camera would have overwritten them. */
int64_t camclock_next(struct camclock *c, int64_t now_us, uint64_t *skipped);

#endif

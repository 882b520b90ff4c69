/* Device emulation for tests and demos: a slowdown that may change during a run, and an uplink
 * with a capped rate. Pure: time is passed in. */
#ifndef ES_EMULATE_H
#define ES_EMULATE_H

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

#endif

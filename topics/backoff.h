/* The reconnect back-off of the MQTT transport and the worker's AMQP bus: the first retry within
 * BACKOFF_FIRST_US (at least half of it), then doubling up to BACKOFF_MAX_US, each delay drawn
 * uniformly from [d/2, d] so that clients cut off together do not come back together. */
#ifndef ES_BACKOFF_H
#define ES_BACKOFF_H

#include <stdint.h>

#define BACKOFF_FIRST_US 200000
#define BACKOFF_MAX_US 1000000

/* The delay before reconnect attempt `attempt` (0 for the first), in microseconds; *rng is the
 * caller's xorshift64 state (any nonzero seed). */
static inline int64_t backoff_us(uint64_t *rng, int attempt)
{
    int64_t d = BACKOFF_FIRST_US;
    for (int i = 0; i < attempt && d < BACKOFF_MAX_US; i++)
        d *= 2;
    if (d > BACKOFF_MAX_US)
        d = BACKOFF_MAX_US;
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return d / 2 + (int64_t)(*rng % (uint64_t)(d / 2 + 1));
}

#endif

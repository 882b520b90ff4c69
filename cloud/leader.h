/* Which of the fleet planners of one group leads: a retained lease, the last one seen wins.
 *
 * Every planner of a group watches the retained lease on pipeline/planner/<group>
 * (topics/plan.h). A planner claims it by publishing its own; the leader is whoever published
 * the last lease the broker handed out, and since the broker hands the messages of one topic to
 * every subscriber in one order, every planner agrees on it once the messages arrived, including
 * when two claim at once. Only the leader publishes plans; it renews the lease every window.
 * A standby claims when no lease came within a start-up grace, when the lease was given up
 * ("held":false), when it was not renewed for its ttl, or when its holder's status went offline
 * (its last will: the broker publishes it as soon as the holder's connection dies), and at once
 * when the lease is its own id's from an earlier run (another session).
 *
 * Pure (no clock reads, no MQTT): the caller passes the times in, so it is tested on a simulated
 * clock. Not thread-safe: one caller, or a lock around it. */
#ifndef ES_LEADER_H
#define ES_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"

struct leader {
    struct lease self;  /* what this planner publishes: planner id, session, ttl */
    int64_t ttl_us;     /* self's ttl */
    int64_t started_us; /* leader_init's now */
    int64_t claimed_us; /* last claim, or -1 */
    bool known;         /* a lease was seen */
    struct lease last;  /* the last lease seen */
    int64_t seen_us;    /* when last was renewed, on the caller's clock */
    bool holder_gone;   /* last's holder went offline since */
};

/* Starts as a standby. self_id must be a valid id, session 16 hex digits, ttl_ms in
 * 1..PLAN_TTL_MAX_MS; returns false (and changes nothing) otherwise. */
bool leader_init(struct leader *l, const char *self_id, const char *session, int ttl_ms,
                 int64_t now_us);

/* A lease message arrived (also our own, back from the broker). age_us is how old it already was
 * when it arrived (the wall clock now minus its renewed_us; 0 when that is negative). */
void leader_seen(struct leader *l, const struct lease *msg, int64_t age_us, int64_t now_us);

/* The status of client went offline (its session, when known; NULL matches any). */
void leader_gone(struct leader *l, const char *client, const char *session);

/* True when the last lease seen is this planner's own, held and not expired. */
bool leader_is_self(const struct leader *l, int64_t now_us);

/* True when this planner should publish its lease to claim the lead now (at most once per
 * LEADER_CLAIM_EVERY_US while its claim has not come back). */
bool leader_should_claim(const struct leader *l, int64_t now_us);

/* Records that the caller published a claim at now_us. */
void leader_claimed(struct leader *l, int64_t now_us);

/* How long a new planner waits for a retained lease before it claims. */
#define LEADER_GRACE_US 1000000
#define LEADER_CLAIM_EVERY_US 1000000

#endif

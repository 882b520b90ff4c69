/* The fleet planner's plan for this device (pipeline/plan/<device-id>, topics/plan.h), as the
 * agent follows it: a plan counts while it is fresh, that is received again within its ttl_ms
 * and no older than ttl_ms by its own clock (plus a skew allowance), and its planner is online.
 * A cleared plan (a zero-length message), the planner's offline status or a stale plan hand the
 * split back to the device's own policy.
 *
 * Thread-safe: plans and statuses arrive on the transport's thread, the agent asks at the end of
 * each window. Times are passed in. */
#ifndef ES_FOLLOW_H
#define ES_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* How far apart the planner's and the device's wall clocks may be. */
#define FOLLOW_SKEW_US 2000000

struct follow;

/* An empty follower, or NULL on no memory. Free with follow_free (accepts NULL). */
struct follow *follow_new(void);
void follow_free(struct follow *f);

/* A message on the plan topic at now_mono_us: a plan, or a zero-length one that clears it.
 * Returns false, keeping the plan it had, for a malformed message or another device's plan. */
bool follow_message(struct follow *f, const char *device, const uint8_t *payload, size_t len,
                    int64_t now_mono_us);

/* The client went offline: a plan of that planner is dropped. */
void follow_gone(struct follow *f, const char *client);

/* A planner's status (role "planner"): online or not. The follower remembers up to
 * FOLLOW_PLANNERS planners online. */
#define FOLLOW_PLANNERS 8
void follow_planner(struct follow *f, const char *client, bool online);

/* Whether the device should wait for its first plan at the end of a window instead of lowering
 * its split on its own: a planner is online, no plan came since the follower was made, and it
 * waited fewer than max windows so far (each true answer counts one). A device that joins a
 * planned fleet then does not load the cloud before the planner has counted it in. */
bool follow_wait_first(struct follow *f, unsigned max, char *planner, size_t len);

/* The fresh plan at now (monotonic and wall clock): copies it to *out and returns true, or
 * returns false when there is none. */
bool follow_get(struct follow *f, int64_t now_mono_us, int64_t now_wall_us, struct plan *out);

/* Records which plan the agent applies now (NULL: none, its own policy) and returns true when
 * that differs from the last one recorded (another planner or split, or a plan begins or ends),
 * for one log line per change. */
bool follow_note(struct follow *f, const struct plan *applied);

#endif

/* The fleet planner's messages (cloud/planner.h decides, cloud/fleet.c publishes them):
 *
 * The plan of one device, retained on pipeline/plan/<device-id>:
 *
 *   {"device":"cam-01","split":3,"predicted_fps":14.2,"cloud_cpu_s":0.021,"goal_met":true,
 *    "reason":"goal met, least cloud CPU","planner":"planner-a","issued_us":1795000000123456,
 *    "ttl_ms":6000}
 *
 * "split" is where the device should publish, "predicted_fps" the frame rate the planner
 * expects there, "cloud_cpu_s" the CPU-seconds per second the cloud will spend on the device,
 * "issued_us" when it was decided (wall clock) and "ttl_ms" how long it holds: the planner
 * publishes it again every window, and a device drops a plan it has not had again for ttl_ms
 * (the planner died, or the device lost it). A zero-length retained message clears it.
 *
 * The lease of the group's leading planner, retained on pipeline/planner/<group>:
 *
 *   {"planner":"planner-a","session":"5f0c2a9e81d4b7a3","held":true,
 *    "renewed_us":1795000000123456,"ttl_ms":6000}
 *
 * The leader renews it every window; "held":false gives it up (a planner that stops). */
#ifndef ES_PLAN_H
#define ES_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "state.h"

/* plan_parse and lease_parse reject longer messages with ES_ELIMIT. */
#define PLAN_MAX_BYTES 2048
#define PLAN_REASON_MAX 96
/* The longest ttl_ms a plan or lease may state: ten minutes. */
#define PLAN_TTL_MAX_MS 600000

struct plan {
    char device[STATE_DEVICE_MAX + 1]; /* a valid id */
    unsigned split;                    /* 1..STATE_MAX_STAGES-1 */
    double predicted_fps;              /* finite, >= 0 */
    double cloud_cpu_s;                /* finite, >= 0 */
    bool goal_met;
    char reason[PLAN_REASON_MAX];       /* printable, may be empty */
    char planner[STATE_DEVICE_MAX + 1]; /* a valid id */
    int64_t issued_us;                  /* >= 0 */
    int ttl_ms;                         /* 1..PLAN_TTL_MAX_MS */
};

/* Dumps p as one compact JSON object, members in the order above (fps to 0.01, CPU to 0.001).
 * Returns a malloc'd string the caller frees, or NULL when a member is invalid or memory runs
 * out. */
char *plan_dump(const struct plan *p);

/* Parses a plan. Strict: one object with every member above, valid as stated (a reason longer
 * than PLAN_REASON_MAX - 1 is refused); others are ignored. Returns ES_EINVAL for a NULL
 * argument, ES_ELIMIT above PLAN_MAX_BYTES, ES_EFORMAT for anything else malformed; *out is
 * written only on success. */
enum es_err plan_parse(const char *buf, size_t len, struct plan *out);

struct lease {
    char planner[STATE_DEVICE_MAX + 1]; /* a valid id */
    char session[17];                   /* 16 lowercase hex digits */
    bool held;                          /* false: given up */
    int64_t renewed_us;                 /* wall clock, >= 0 */
    int ttl_ms;                         /* 1..PLAN_TTL_MAX_MS */
};

/* As plan_dump, for a lease. */
char *lease_dump(const struct lease *l);

/* As plan_parse, for a lease. */
enum es_err lease_parse(const char *buf, size_t len, struct lease *out);

#endif

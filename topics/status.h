/* The retained status message every client keeps on pipeline/status/<client-id>:
 *
 *   {"state":"online","client":"w-1","role":"worker","session":"5f0c2a9e81d4b7a3",
 *    "since_us":1795000000123456,"stages":[1,2,3,4,5,6],
 *    "capacity_cpu_s":2.0,"used_cpu_s":0.412,"saturated":false}
 *
 * "session" is random per process and "since_us" is when that process started (wall clock):
 * two processes that claim one client id tell each other apart by them. "stages" is present
 * for workers only: the stages the worker is subscribed to right now (empty while it has left
 * its share group), so edge agents know whether anyone will take a frame. The last will of a
 * client is the same message with "state":"offline" and no "stages".
 *
 * Workers also state their load: "capacity_cpu_s", the CPU-seconds per second they can serve
 * (their processing threads, less what a shared machine does not give them), "used_cpu_s", what
 * they used over their last load period, and "saturated" (cloud/meter.h). A worker publishes
 * its status again when it becomes saturated or stops being so, and when its capacity or use
 * moved by a tenth of its capacity; its load report (pipeline/stats/<worker-id>) has the same
 * figures every period.
 *
 * A client that cannot keep a retained message and a last will (an AMQP worker on a RabbitMQ
 * cluster, whose MQTT plugin keeps retained messages per node) publishes its status unretained
 * and again every "every_ms" milliseconds instead: {"state":"online",...,"every_ms":1000}.
 * Such a status counts only until 3 periods passed without a new one.
 *
 * A worker that takes frame batches (topics/wire_batch.h) says how many frames one may hold:
 * "batch":64. Without the member (older workers) it takes single frames only. */
#ifndef ES_STATUS_H
#define ES_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "state.h"

#define STATUS_SESSION_MAX 32
#define STATUS_ROLE_MAX 15
/* status_parse rejects longer messages with ES_ELIMIT. */
#define STATUS_MAX_BYTES 4096
/* The longest period a repeated status may announce (one minute). */
#define STATUS_EVERY_MAX_MS 60000
/* The most frames per batch a status may announce. */
#define STATUS_BATCH_MAX 255

struct status_info {
    bool online;
    char client[STATE_DEVICE_MAX + 1];    /* a valid id (topic_valid_id) */
    char role[STATUS_ROLE_MAX + 1];       /* "edge", "worker", "test", ...: [a-z]{1,15} */
    char session[STATUS_SESSION_MAX + 1]; /* [0-9a-f]{1,32} */
    int64_t since_us;                     /* >= 0 */
    bool has_stages;                      /* "stages" present (workers) */
    uint32_t stages;                      /* bit K: stage K served, K in 1..STATE_MAX_STAGES-1 */
    int every_ms;  /* > 0: repeated that often (online only), valid for 3 periods; 0: retained */
    bool has_load; /* the three members below are present (workers, online only) */
    double capacity_cpu_s; /* finite, >= 0 */
    double used_cpu_s;     /* finite, >= 0 */
    bool saturated;
    unsigned batch; /* frames per batch the worker takes, 1..255 (online only); 0: absent */
};

/* Dumps s as one compact JSON object (members in the order shown above; "stages" only when
 * has_stages and online, "every_ms" only when > 0 and online, the load only when has_load and
 * online, its figures rounded to 0.001; "batch" only when > 0 and online). Returns a malloc'd
 * string the caller frees, or NULL when a member is invalid (see struct status_info) or memory runs
 * out. */
char *status_dump(const struct status_info *s);

/* Parses a status message. Strict: one JSON object with "state" ("online" or "offline"),
 * "client", "role", "session" and "since_us" valid as described above, and "stages", when
 * present, an array of distinct stage numbers in 1..STATE_MAX_STAGES-1, "every_ms", when present,
 * an integer in 1..STATUS_EVERY_MAX_MS, and the load, when "capacity_cpu_s" is present, all three
 * members: two numbers >= 0 and a boolean, "batch", when present, an integer in 1..255; other
 * members are ignored. Returns ES_EINVAL for NULL arguments, ES_ELIMIT above STATUS_MAX_BYTES,
 * ES_EFORMAT for anything else malformed; *out is written only on success. */
enum es_err status_parse(const char *buf, size_t len, struct status_info *out);

/* Fills buf (at least STATUS_SESSION_MAX / 2 + 1 bytes) with a fresh random session id of 16
 * hex digits, from /dev/urandom, or from the clock and process id when that cannot be read. */
void status_new_session(char *buf, size_t n);

#endif

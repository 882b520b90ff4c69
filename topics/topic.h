/* Topic names and id validation: the one place that spells the project's MQTT topics.
 *
 *   pipeline/stage/<K>/<device-id>  frame state after K stages ran on that device
 *   $share/<group>/pipeline/stage/<K>/+   every device's, as a shared subscription for workers
 *   pipeline/results/<device-id>    one JSON result per frame
 *   pipeline/stats/<device-id>      one JSON stats object per measurement window
 *   pipeline/status/<client-id>     retained online/offline status
 *   pipeline/frames/<device-id>     annotated JPEG, when a frame asked for one
 *   pipeline/hello/<device-id>      an edge asks the workers to repeat their status now
 *   pipeline/plan/<device-id>       retained: the fleet planner's split for that device
 *   pipeline/planner/<group>        retained: the lease of the group's leading planner
 *
 * Ids (device, client and group names) match [A-Za-z0-9_-]{1,64}, so no '+', '#' or '/' ever
 * reaches a topic. K is a stage index in 1..STATE_MAX_STAGES-1.
 *
 * On a RabbitMQ cluster the same topics are routing keys on the amq.topic exchange, with '/'
 * spelled '.' (its MQTT plugin maps them so): pipeline.stage.3.cam-01. An id has no '.', so
 * the mapping goes both ways. Workers there consume the durable quorum queue pipeline.stage.<K>,
 * bound with pipeline.stage.<K>.* (broker-config/rabbitmq/). */
#ifndef ES_TOPIC_H
#define ES_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "state.h"

/* A buffer of TOPIC_MAX bytes holds every topic the builders produce. */
#define TOPIC_MAX 192
/* Longest valid id, in bytes. */
#define TOPIC_ID_MAX STATE_DEVICE_MAX

/* True when id is 1 to TOPIC_ID_MAX characters, each a letter, digit, '_' or '-'.
 * NULL is not valid. */
bool topic_valid_id(const char *id);

/* Each builder writes a NUL-terminated topic into buf, which holds n bytes. It returns ES_EINVAL
 * for a NULL buf, an invalid id or k outside 1..STATE_MAX_STAGES-1, and ES_ELIMIT when the
 * topic does not fit in n bytes. On an error buf holds an empty string if n > 0. */

/* pipeline/stage/K/DEVICE: the device's identity is in the topic, where a broker's access rules
 * can bind it to the device's login. */
enum es_err topic_stage(char *buf, size_t n, unsigned k, const char *device);

/* $share/GROUP/pipeline/stage/K/+: the subscription a worker in GROUP uses for stage K. */
enum es_err topic_stage_shared(char *buf, size_t n, const char *group, unsigned k);

/* $share/GROUP/pipeline/stage/+/+: the subscription a worker in GROUP uses for every stage. */
enum es_err topic_stage_shared_all(char *buf, size_t n, const char *group);

/* pipeline/results/DEVICE */
enum es_err topic_results(char *buf, size_t n, const char *device);

/* pipeline/stats/DEVICE */
enum es_err topic_stats(char *buf, size_t n, const char *device);

/* pipeline/status/CLIENT_ID */
enum es_err topic_status(char *buf, size_t n, const char *client_id);

/* pipeline/plan/DEVICE */
enum es_err topic_plan(char *buf, size_t n, const char *device);

/* pipeline/planner/GROUP */
enum es_err topic_planner(char *buf, size_t n, const char *group);

/* The filter for every stats window, pipeline/stats/+ (a constant string). */
const char *topic_stats_all(void);

/* When topic is pipeline/KIND/ID with a valid ID (kind "stats", "status", "plan"...), copies
 * ID into id (TOPIC_ID_MAX + 1 bytes) and returns true; else false, id untouched. */
bool topic_parse_id(const char *topic, const char *kind, char *id);

/* The filter for every client's status, pipeline/status/+ (a constant string). */
const char *topic_status_all(void);

/* True when topic is pipeline/status/ID for a valid id. NULL is not. */
bool topic_is_status(const char *topic);

/* pipeline/frames/DEVICE */
enum es_err topic_frames(char *buf, size_t n, const char *device);

/* pipeline/hello/DEVICE: published by an edge that knows of no worker yet, so that workers
 * without a retained status (AMQP) announce themselves at once. */
enum es_err topic_hello(char *buf, size_t n, const char *device);

/* pipeline/probe/<device>: a QoS 1 message nobody subscribes to, whose acknowledgement tells an
 * edge that its link still carries traffic both ways (edge/offload.c). */
enum es_err topic_probe(char *buf, size_t n, const char *device);

/* The AMQP binding key for every edge's hello, pipeline.hello.* (a constant string). */
const char *topic_hello_binding(void);

/* The AMQP routing key of a topic ('/' becomes '.'), or the topic of a routing key ('.' becomes
 * '/') when to_topic. Refuses (ES_EINVAL) a NULL argument and a name that holds the other
 * separator, '+', '#' or a space; ES_ELIMIT when it does not fit in n bytes. */
enum es_err topic_routing_key(char *buf, size_t n, const char *name, bool to_topic);

/* pipeline.stage.K, the quorum queue of stage K's frames on a RabbitMQ cluster, and the binding
 * key that fills it, pipeline.stage.K.* (when binding is not NULL; n bytes each). */
enum es_err topic_stage_queue(char *queue, char *binding, size_t n, unsigned k);

/* Parses a topic of the form "pipeline/stage/K/DEVICE" into *k and device (which holds
 * TOPIC_ID_MAX + 1 bytes). Strict: K is decimal digits only, with no sign and no leading zero,
 * in 1..STATE_MAX_STAGES-1; DEVICE is a valid id with nothing after it. Returns ES_EINVAL for
 * anything else (a NULL argument included) and leaves *k and device unchanged. */
enum es_err topic_parse_stage(const char *topic, unsigned *k, char *device);

/* Parses a stage selection into a bit mask (bit K set = stage K selected). spec is "all" (every
 * stage 1..max-1) or a comma-separated list of stages "K" and inclusive ranges "A-B", e.g. "3",
 * "1,2,5", "2-4" or "1,3-5". Numbers follow topic_parse_stage's rules and must lie in 1..max-1;
 * no spaces, no empty items, no reversed ranges. max is the number of stages, 2 to
 * STATE_MAX_STAGES. Returns ES_EINVAL on any error and leaves *mask unchanged. */
enum es_err topic_parse_stage_list(const char *spec, unsigned max, uint32_t *mask);

#endif

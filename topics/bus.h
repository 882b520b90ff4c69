/* How a worker takes stage frames and gives back results: one interface, two transports.
 *
 * - MQTT (transport.h), on any broker: shared subscriptions $share/<group>/pipeline/stage/<K>/+.
 *   A frame counts as delivered once it reached the worker, so frames a dying worker held are
 *   gone; the edge runs them itself after their deadline. The status that tells the edges which
 *   stages the worker serves is retained, with a last will.
 * - AMQP (librabbitmq), on a RabbitMQ cluster: the durable quorum queue pipeline.stage.<K> of
 *   each stage served, bound to amq.topic with pipeline.stage.<K>.*. The broker hands the worker
 *   at most `prefetch` frames per stage that it has not acknowledged, and a frame is acknowledged
 *   only once the broker confirmed its result: the frames of a worker that dies go to another
 *   worker, and dispatch follows each worker's real speed. Results go to amq.topic with the
 *   routing key pipeline.results.<device>, which reaches the edges' MQTT subscriptions. The
 *   status is repeated every second (topics/status.h, "every_ms"), since there is no will. A
 *   lost connection is retried on the next URL of the list, with the back-off of transport.h.
 *
 * The stage frames arrive on a thread of the bus through on_frame; tag identifies the frame for
 * bus_reply or bus_drop (0 over MQTT, where there is nothing to settle). Every function may be
 * called from any thread; on_frame must not block or call back into the bus. */
#ifndef ES_BUS_H
#define ES_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "transport.h"

struct bus;

/* One stage frame: topic is pipeline/stage/<K>/<device> (over AMQP, the routing key turned back
 * into a topic, or the raw routing key when it is not one), payload valid during the call only.
 * Returns true when taken; false asks for it again later (a full queue). */
typedef bool (*bus_frame_fn)(void *arg, const char *topic, const uint8_t *payload, size_t len,
                             uint64_t tag);

struct bus_opts {
    /* MQTT, used when amqp is NULL: host, port, version, TLS and credentials of the broker.
     * client_id, role, on_msg, on_event and arg are set by the bus. */
    struct transport_opts mqtt;
    const char *amqp; /* AMQP: "amqp://user:pass@host:port/vhost[,amqp://...]", tried in turn */
    const char *client_id; /* [A-Za-z0-9_-]{1,64}: MQTT client id, status topic */
    const char *group;     /* MQTT: the share group */
    int qos;               /* MQTT: subscription and result QoS */
    unsigned prefetch;     /* AMQP: unacknowledged frames per stage queue, 1..65535 */
    bus_frame_fn on_frame;
    void *arg;
};

/* Connects (over AMQP: to the first URL that answers) and waits up to the connect timeout. On
 * failure logs one line naming what was tried and why, and returns ES_ECONNECT (ES_EINVAL for bad
 * options); *out is then NULL. */
enum es_err bus_connect(const struct bus_opts *o, struct bus **out);

/* Takes the frames of the stages in mask from now on (bit K: stage K, K in 1..15) and tells the
 * edges; waits for the broker's answers (up to 10 s). Over MQTT a failed subscription is logged
 * and returned (ES_EMQTT); over AMQP the bus keeps trying after a reconnect. */
enum es_err bus_serve(struct bus *b, uint32_t mask);

/* Stops taking new frames and tells the edges it serves nothing. Frames already handed over
 * still arrive and are settled as usual. */
void bus_unserve(struct bus *b);

/* States the worker's load in its status (topics/status.h): the CPU-seconds per second it can
 * serve and uses, and whether it is saturated. Over MQTT the retained status is published again
 * now; over AMQP it goes with the next repetition (within a second). Values that are negative or
 * not finite are ignored. */
void bus_set_load(struct bus *b, double capacity_cpu_s, double used_cpu_s, bool saturated);

/* True when the broker paces the frames to how fast the worker settles them (AMQP prefetch): a
 * worker that falls behind need not leave, the broker hands the rest to the others. */
bool bus_paced(const struct bus *b);

/* Publishes a frame's result on topic (pipeline/results/<device>) and settles the frame: over
 * AMQP it is acknowledged once the broker confirmed the result (and handed to another worker if
 * the broker refused it). Returns ES_OK when queued for sending, ES_ECONNECT while disconnected
 * (the frame then comes again, or the edge runs it), ES_ENOMEM. */
enum es_err bus_reply(struct bus *b, uint64_t tag, const char *topic, const void *payload,
                      size_t len);

/* Publishes a best-effort message (the annotated picture): QoS 0, nothing settled. */
void bus_publish(struct bus *b, const char *topic, const void *payload, size_t len);

/* Settles a frame that has no result (malformed, forged, over budget, failed): over AMQP it is
 * rejected without requeueing, so it is not handed out again. */
void bus_drop(struct bus *b, uint64_t tag);

/* Frames this worker got that the broker had handed out before (AMQP's redelivered flag: another
 * worker died or gave them back); 0 over MQTT. */
uint64_t bus_redelivered(struct bus *b);

/* True while connected. */
bool bus_connected(struct bus *b);

/* True once another client took the worker's MQTT client id over (never over AMQP). */
bool bus_taken_over(struct bus *b);

/* The broker in use, e.g. "tcp://localhost:1883" or "amqp://127.0.0.1:5672/". */
const char *bus_uri(struct bus *b);

/* Stops; over AMQP first waits (up to 2 s) for the confirms of results sent, so their frames are
 * acknowledged, and says offline. Frees b; accepts NULL. */
void bus_close(struct bus *b);

#endif

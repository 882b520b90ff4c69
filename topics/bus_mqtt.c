/* The worker's bus over MQTT: shared subscriptions to the stage topics through transport.h; the
 * broker holds no frame for the worker, so nothing is redelivered and there is nothing to drop. */
#include <stdlib.h>

#include "bus_impl.h"
#include "topic.h"
#include "wire_batch.h"

#define ALL_STAGES 0xfffeu

struct bus_mqtt {
    struct bus base;
    struct transport *tp;
    const char *group;
    int qos;
    bus_frame_fn on_frame;
    void *arg;
};

static bool mqtt_on_msg(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct bus_mqtt *m = arg;
    return m->on_frame(m->arg, topic, payload, len, 0);
}

static enum es_err mqtt_subscribe(struct bus_mqtt *m, uint32_t mask)
{
    char filter[TOPIC_MAX];
    if ((mask & ALL_STAGES) == ALL_STAGES) {
        enum es_err err = topic_stage_shared_all(filter, sizeof filter, m->group);
        return err == ES_OK ? transport_subscribe(m->tp, filter, m->qos) : err;
    }
    for (unsigned k = 1; k < STATE_MAX_STAGES; k++) {
        if (!(mask & (1u << k)))
            continue;
        enum es_err err = topic_stage_shared(filter, sizeof filter, m->group, k);
        if (err == ES_OK)
            err = transport_subscribe(m->tp, filter, m->qos);
        if (err != ES_OK)
            return err;
    }
    return ES_OK;
}

/* Joins the share group, then tells the edges (retained status) which stages it serves. */
static enum es_err mqtt_serve(struct bus *b, uint32_t mask)
{
    struct bus_mqtt *m = (struct bus_mqtt *)b;
    enum es_err err = mqtt_subscribe(m, mask);
    return err == ES_OK ? transport_set_stages(m->tp, mask & ALL_STAGES) : err;
}

/* Tells the edges it serves nothing, then leaves the share group: no edge counts on it while
 * the broker still sends it frames. */
static void mqtt_unserve(struct bus *b)
{
    struct bus_mqtt *m = (struct bus_mqtt *)b;
    transport_set_stages(m->tp, 0);
    if (transport_connected(m->tp))
        transport_unsubscribe_all(m->tp);
}

static void mqtt_set_load(struct bus *b, double capacity_cpu_s, double used_cpu_s, bool saturated)
{
    transport_set_load(((struct bus_mqtt *)b)->tp, capacity_cpu_s, used_cpu_s, saturated);
}

static enum es_err mqtt_reply(struct bus *b, uint64_t tag, const char *topic, const void *payload,
                              size_t len)
{
    (void)tag;
    struct bus_mqtt *m = (struct bus_mqtt *)b;
    return transport_publish(m->tp, topic, payload, len, m->qos, false);
}

static void mqtt_publish(struct bus *b, const char *topic, const void *payload, size_t len)
{
    transport_publish(((struct bus_mqtt *)b)->tp, topic, payload, len, 0, false);
}

static void mqtt_drop(struct bus *b, uint64_t tag)
{
    (void)b;
    (void)tag;
}

static uint64_t mqtt_redelivered(struct bus *b)
{
    (void)b;
    return 0;
}

static bool mqtt_connected(struct bus *b)
{
    return transport_connected(((struct bus_mqtt *)b)->tp);
}

static bool mqtt_taken_over(struct bus *b)
{
    return transport_taken_over(((struct bus_mqtt *)b)->tp);
}

static const char *mqtt_uri(struct bus *b)
{
    return transport_uri(((struct bus_mqtt *)b)->tp);
}

static void mqtt_close(struct bus *b)
{
    struct bus_mqtt *m = (struct bus_mqtt *)b;
    transport_close(m->tp);
    free(m);
}

static const struct bus_ops mqtt_ops = {
    .serve = mqtt_serve,
    .unserve = mqtt_unserve,
    .set_load = mqtt_set_load,
    .reply = mqtt_reply,
    .publish = mqtt_publish,
    .drop = mqtt_drop,
    .redelivered = mqtt_redelivered,
    .connected = mqtt_connected,
    .taken_over = mqtt_taken_over,
    .uri = mqtt_uri,
    .close = mqtt_close,
    .paced = false,
};

enum es_err bus_mqtt_connect(const struct bus_opts *o, struct bus **out)
{
    struct bus_mqtt *m = calloc(1, sizeof *m);
    if (!m)
        return ES_ENOMEM;
    *m = (struct bus_mqtt){.base = {&mqtt_ops},
                           .group = o->group,
                           .qos = o->qos,
                           .on_frame = o->on_frame,
                           .arg = o->arg};
    struct transport_opts to = o->mqtt;
    to.client_id = o->client_id;
    to.role = "worker";
    to.batch = WIRE_BATCH_MAX_FRAMES;
    to.on_msg = mqtt_on_msg;
    to.on_event = NULL;
    to.arg = m;
    enum es_err err = transport_connect(&to, &m->tp);
    if (err != ES_OK) {
        free(m);
        return err;
    }
    *out = &m->base;
    return ES_OK;
}

/* The worker's bus: the dispatch to an implementation (bus_mqtt.c, bus_amqp.c). */
#include "bus.h"

#include <math.h>

#include "bus_impl.h"
#include "topic.h"

enum es_err bus_connect(const struct bus_opts *o, struct bus **out)
{
    if (!out)
        return ES_EINVAL;
    *out = NULL;
    if (!o || !o->on_frame || !topic_valid_id(o->client_id) ||
        (!o->amqp && !topic_valid_id(o->group)))
        return ES_EINVAL;
    return o->amqp ? bus_amqp_connect(o, out) : bus_mqtt_connect(o, out);
}

enum es_err bus_serve(struct bus *b, uint32_t mask)
{
    return b->ops->serve(b, mask);
}

void bus_unserve(struct bus *b)
{
    b->ops->unserve(b);
}

void bus_set_load(struct bus *b, double capacity_cpu_s, double used_cpu_s, bool saturated)
{
    if (isfinite(capacity_cpu_s) && capacity_cpu_s >= 0 && isfinite(used_cpu_s) && used_cpu_s >= 0)
        b->ops->set_load(b, capacity_cpu_s, used_cpu_s, saturated);
}

bool bus_paced(const struct bus *b)
{
    return b->ops->paced;
}

enum es_err bus_reply(struct bus *b, uint64_t tag, const char *topic, const void *payload,
                      size_t len)
{
    return b->ops->reply(b, tag, topic, payload, len);
}

void bus_publish(struct bus *b, const char *topic, const void *payload, size_t len)
{
    b->ops->publish(b, topic, payload, len);
}

void bus_drop(struct bus *b, uint64_t tag)
{
    b->ops->drop(b, tag);
}

uint64_t bus_redelivered(struct bus *b)
{
    return b->ops->redelivered(b);
}

bool bus_connected(struct bus *b)
{
    return b->ops->connected(b);
}

bool bus_taken_over(struct bus *b)
{
    return b->ops->taken_over(b);
}

const char *bus_uri(struct bus *b)
{
    return b->ops->uri(b);
}

void bus_close(struct bus *b)
{
    if (b)
        b->ops->close(b);
}

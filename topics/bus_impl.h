/* What the two implementations of bus.h share: the table of operations. */
#ifndef ES_BUS_IMPL_H
#define ES_BUS_IMPL_H

#include "bus.h"

struct bus_ops {
    enum es_err (*serve)(struct bus *b, uint32_t mask);
    void (*unserve)(struct bus *b);
    void (*set_load)(struct bus *b, double capacity_cpu_s, double used_cpu_s, bool saturated);
    enum es_err (*reply)(struct bus *b, uint64_t tag, const char *topic, const void *payload,
                         size_t len);
    void (*publish)(struct bus *b, const char *topic, const void *payload, size_t len);
    void (*drop)(struct bus *b, uint64_t tag);
    uint64_t (*redelivered)(struct bus *b);
    bool (*connected)(struct bus *b);
    bool (*taken_over)(struct bus *b);
    const char *(*uri)(struct bus *b);
    void (*close)(struct bus *b);
    bool paced;
};

/* Each implementation's state starts with this. */
struct bus {
    const struct bus_ops *ops;
};

/* bus_connect over MQTT (bus_mqtt.c); o->amqp is NULL. */
enum es_err bus_mqtt_connect(const struct bus_opts *o, struct bus **out);

/* bus_connect over AMQP (bus_amqp.c); o->amqp is not NULL. */
enum es_err bus_amqp_connect(const struct bus_opts *o, struct bus **out);

#endif

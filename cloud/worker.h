/* The cloud worker: takes frame states of the stages it serves (MQTT shared subscriptions, or
 * AMQP quorum queues on a RabbitMQ cluster: topics/bus.h), runs the remaining stages on a pool
 * of threads and publishes the results. */
#ifndef ES_WORKER_H
#define ES_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "es_err.h"
#include "bus.h"

struct worker_opts {
    struct transport_opts broker; /* MQTT, when amqp is NULL */
    const char *amqp;             /* AMQP URLs "amqp://...[,amqp://...]", or NULL for MQTT */
    unsigned prefetch;            /* AMQP: unacknowledged frames per stage queue */
    double slowdown;              /* >= 1: stages take this many times as long (emulated) */
    const char *group;            /* shared-subscription group, default "workers" */
    const char *worker_id;        /* client id and "worker" in results */
    uint32_t stages;      /* bit k set: serve pipeline/stage/k; all bits 1..15: every stage */
    unsigned threads;     /* processing threads, >= 1 */
    int qos;              /* subscription and result QoS */
    double stats_s;       /* seconds between stats log lines; 0: none */
    size_t device_frames; /* frames queued per device at most (budget) */
    double device_share;  /* share of the worker's processing time one device may use */
    const volatile sig_atomic_t *reload; /* changes on SIGHUP; NULL: never */
    bool (*reread)(void *arg);           /* reads the configuration again (the log level) */
    void *reread_arg;
};

/* Serves until *stop becomes nonzero, then finishes the messages already queued. Returns
 * ES_OK after a clean stop, or an error after logging one line (broker failure). */
enum es_err worker_run(const struct worker_opts *opts, const volatile sig_atomic_t *stop);

#endif

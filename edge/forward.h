/* The forwarder: a thread that publishes what the store-and-forward spool holds, oldest first,
 * whenever the transport is connected, and removes each entry once the broker acknowledged it
 * (QoS 1) or took it (QoS 0). An entry sent on a connection that was lost before its
 * acknowledgement is sent again after the reconnect, so an entry may reach the broker twice,
 * never zero times. An entry the broker refuses is dropped and counted. */
#ifndef ES_FORWARD_H
#define ES_FORWARD_H

#include <stdint.h>

#include "es_err.h"
#include "spool.h"
#include "transport.h"

struct forwarder;

/* Starts the thread. s and t must outlive the forwarder. Returns ES_OK, ES_ENOMEM. */
enum es_err forwarder_start(struct spool *s, struct transport *t, struct forwarder **out);

/* Entries the broker acknowledged, and entries it refused, so far. Thread-safe. */
uint64_t forwarder_delivered(struct forwarder *f);
uint64_t forwarder_refused(struct forwarder *f);

/* Waits until the spool is empty, or no progress was made for idle_us (the broker is away),
 * then stops the thread and frees f. Returns the entries left in the spool. Accepts NULL. */
size_t forwarder_stop(struct forwarder *f, struct spool *s, int64_t idle_us);

#endif

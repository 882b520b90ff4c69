/* The MQTT transport: one small module over Paho's asynchronous client (MQTT v5).
 *
 * A transport is one connection to the broker with a last will: the retained message
 * {"state":"offline"} on pipeline/status/<client-id>, replaced by {"state":"online"} once
 * connected. It reconnects automatically and re-subscribes what was subscribed (the session is
 * clean). Messages arrive on Paho's thread through the callback given to transport_connect; the
 * callback must not block. */
#ifndef ES_TRANSPORT_H
#define ES_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

struct transport;

struct transport_opts {
    const char *host;      /* broker host name or address; required */
    int port;              /* broker port; 1883 (8883 with tls) when 0 */
    const char *client_id; /* [A-Za-z0-9_-]{1,64}; required */
    const char *role;      /* "edge" or "worker", reported in the status message */
    int keepalive_s;       /* 0 means 20 */
    int connect_timeout_s; /* 0 means 5 */
    bool tls;              /* connect with TLS (ssl://) */
    const char *cafile;    /* TLS: CA certificates (PEM) to trust; NULL for the system's */
    const char *certfile;  /* TLS: client certificate (PEM), optional */
    const char *keyfile;   /* TLS: client private key (PEM), optional */
    bool tls_insecure;     /* TLS: do not verify the server's host name */
    const char *username;  /* optional credentials */
    const char *password;
};

/* Called on Paho's thread for every message received. payload is valid only during the call.
 * Return true when the message was taken; false asks the library to deliver it again later
 * (use it when a bounded queue is full). */
typedef bool (*transport_msg_fn)(void *arg, const char *topic, const uint8_t *payload, size_t len);

/* Connects to the broker and waits until connected or the connect timeout passes. On failure
 * returns ES_ECONNECT (or ES_EINVAL for bad options) and logs one line naming the broker URI and
 * the reason ("cannot connect to broker tcp://localhost:1883: Connection refused"); *out is then
 * NULL. on_msg may be NULL for a publish-only client. The caller frees with transport_close. */
enum es_err transport_connect(const struct transport_opts *opts, transport_msg_fn on_msg, void *arg,
                              struct transport **out);

/* Subscribes to filter at qos and waits for the broker's answer (up to 10 s). The subscription
 * is remembered and renewed after an automatic reconnect. ES_EMQTT when refused. */
enum es_err transport_subscribe(struct transport *t, const char *filter, int qos);

/* Unsubscribes every filter subscribed so far, waiting for each answer (up to 10 s); they are
 * no longer renewed after a reconnect. Messages the broker sent before its answer may still
 * arrive. ES_EMQTT when one was refused or timed out (logged; the others are still tried). */
enum es_err transport_unsubscribe_all(struct transport *t);

/* Queues one message for publishing and returns without waiting; the library copies payload.
 * ES_EMQTT when the library refuses it (for example, too many messages buffered). */
enum es_err transport_publish(struct transport *t, const char *topic, const void *payload,
                              size_t len, int qos, bool retained);

/* Waits until every message published so far with QoS > 0 has been acknowledged by the broker,
 * or timeout_ms passes (ES_ETIMEDOUT). */
enum es_err transport_flush(struct transport *t, int timeout_ms);

/* True while connected. */
bool transport_connected(const struct transport *t);

/* The broker URI this transport uses, e.g. "tcp://localhost:1883". */
const char *transport_uri(const struct transport *t);

/* Publishes the retained offline status, disconnects (waiting up to 2 s for outgoing messages)
 * and frees t. Accepts NULL. */
void transport_close(struct transport *t);

#endif

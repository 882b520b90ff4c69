/* The MQTT transport: one small module over Paho's asynchronous client (MQTT v5).
 *
 * A transport is one connection to the broker with a last will: the retained status message
 * (topics/status.h) on pipeline/status/<client-id> says "offline" when the connection dies, and
 * "online" once connected. When the connection is lost it reconnects by itself, with an
 * exponential back-off and jitter (the first retry within 100-200 ms, then doubling up to 1 s),
 * and renews every subscription that succeeded (the session is clean). One line is logged when
 * the connection is lost and one when it is back, never one per attempt.
 *
 * Another process connecting with the same client id takes the session over. The transport
 * then stops for good instead of fighting for the id: on an MQTT v5 DISCONNECT with reason
 * 0x8E (session taken over), or, on brokers that only close the socket, when the status topic
 * of its own id shows another process that started later. It logs one line naming the id and
 * reports TRANSPORT_TAKEN_OVER.
 *
 * Threads: messages and events arrive on Paho's thread through the callbacks given in the
 * options; callbacks must not block and must not call transport_subscribe, transport_flush or
 * transport_close. Every other function may be called from any thread, concurrently. */
#ifndef ES_TRANSPORT_H
#define ES_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

struct transport;

/* Called on Paho's thread for every message received. payload is valid only during the call.
 * Return true when the message was taken; false asks the library to deliver it again later
 * (use it when a bounded queue is full). */
typedef bool (*transport_msg_fn)(void *arg, const char *topic, const uint8_t *payload, size_t len);

enum transport_event {
    TRANSPORT_UP,         /* connected again after a loss (not sent for the first connect) */
    TRANSPORT_DOWN,       /* the connection was lost; reconnecting */
    TRANSPORT_TAKEN_OVER, /* another client took the id over; the transport stays down */
};

/* Called on Paho's thread (or the reconnecting thread) when the connection changes state. */
typedef void (*transport_event_fn)(void *arg, enum transport_event ev);

struct transport_opts {
    const char *host; /* broker, or brokers tried in turn: "H[:P][,H2[:P2]...]"; required */
    int port;         /* port of a broker given without one; 1883 (8883 with tls) when 0 */
    int mqtt_version; /* 5, 3 (3.1.1), or 0: 5, falling back to 3.1.1 if the broker refuses 5 */
    const char *client_id; /* [A-Za-z0-9_-]{1,64}; required */
    const char *role;      /* "edge", "worker", "test"...: [a-z]{1,15}, in the status message */
    unsigned batch;        /* workers: frames per batch they take ("batch" in the status); 0: no
                            * batches */
    int keepalive_s;       /* 0 means 20 */
    int connect_timeout_s; /* 0 means 5 */
    bool tls;              /* connect with TLS (ssl://) */
    const char *cafile;    /* TLS: CA certificates (PEM) to trust; NULL for the system's */
    const char *certfile;  /* TLS: client certificate (PEM), optional */
    const char *keyfile;   /* TLS: client private key (PEM), optional */
    bool tls_no_hostname;  /* TLS: check the certificate chain but not the host name in it */
    bool tls_no_verify;    /* TLS: check nothing (warned: anyone on the path can listen in) */
    const char *username;  /* optional credentials (warned when they go out without TLS) */
    const char *password;
    const char *password_file;   /* the password is this file's first line (wins over password) */
    int session_expiry_s;        /* 0: a clean session (the default); > 0: the broker keeps this
                                  * client's subscriptions and queues its QoS 1 messages for that
                                  * long while it is away (a subscriber that must miss nothing) */
    transport_msg_fn on_msg;     /* may be NULL for a publish-only client */
    transport_event_fn on_event; /* may be NULL */
    void *arg;                   /* passed to on_msg and on_event */
};

/* Connects to the broker and waits until connected or the connect timeout passes. On failure
 * returns ES_ECONNECT (or ES_EINVAL for bad options or an unreadable password file) and logs one
 * line naming the broker URI and the cause: the broker's refusal in words ("refused by the
 * broker: Bad user name or password"), the TLS error, or the network's answer ("Connection
 * refused": nothing listens; "No route to host", "timed out": unreachable); *out is then NULL.
 * The strings in opts must stay valid until transport_close. The caller frees with
 * transport_close. TLS is 1.2 or later. */
enum es_err transport_connect(const struct transport_opts *opts, struct transport **out);

/* Subscribes to filter at qos and waits for the broker's answer (up to 10 s). Only once the
 * broker granted it is the subscription remembered and renewed after a reconnect.
 * Returns: ES_OK; ES_ECONNECT when not connected; ES_EMQTT when refused or timed out (logged);
 * ES_ELIMIT past 16 subscriptions; ES_ENOMEM. */
enum es_err transport_subscribe(struct transport *t, const char *filter, int qos);

/* Unsubscribes every filter subscribed so far, waiting for each answer (up to 10 s); they are
 * no longer renewed after a reconnect. Messages the broker sent before its answer may still
 * arrive. Returns ES_EMQTT when one was refused or timed out (logged; the others are still
 * tried). */
enum es_err transport_unsubscribe_all(struct transport *t);

/* Queues one message for publishing and returns without waiting; the library copies payload.
 * Returns: ES_OK; ES_ECONNECT while disconnected (not logged: callers count it); ES_ELIMIT for
 * a payload over 2 GiB; ES_EMQTT when the library refuses it (logged). */
enum es_err transport_publish(struct transport *t, const char *topic, const void *payload,
                              size_t len, int qos, bool retained);

/* A QoS 1 message whose delivery to the broker the caller wants to follow. */
struct transport_ticket {
    int token;      /* Paho's token (the MQTT packet id) */
    uint64_t epoch; /* the connection it was sent on (transport_epoch) */
};

enum transport_ticket_state {
    TRANSPORT_PENDING,   /* not acknowledged yet */
    TRANSPORT_DELIVERED, /* the broker acknowledged it (PUBACK) */
    TRANSPORT_FAILED,    /* the connection it was sent on was lost: send it again */
    TRANSPORT_REFUSED,   /* the broker refused it (reason code >= 0x80): sending again is futile */
};

/* transport_publish at QoS 1 that fills *ticket for transport_ticket_state. Same returns. */
enum es_err transport_publish_ticket(struct transport *t, const char *topic, const void *payload,
                                     size_t len, struct transport_ticket *ticket);

/* Where the message of ticket stands. A message counts as delivered only when its PUBACK came
 * on the connection it was sent on; after a reconnect it is FAILED even if the broker may have
 * had it (the caller sends it again: at least once). */
enum transport_ticket_state transport_ticket_state(struct transport *t,
                                                   const struct transport_ticket *ticket);

/* Waits until something happened since *seen (an acknowledgement, a refusal, a connection
 * change, transport_wake) or timeout_us passes, and updates *seen. Start with *seen = 0. */
void transport_wait(struct transport *t, uint64_t *seen, int64_t timeout_us);

/* Wakes every transport_wait. */
void transport_wake(struct transport *t);

/* Waits until every message published so far with QoS > 0 has been acknowledged by the broker,
 * or timeout_ms passes (ES_ETIMEDOUT), or the connection is down (ES_ECONNECT). */
enum es_err transport_flush(struct transport *t, int timeout_ms);

/* Replaces the "stages" member of this client's online status (workers) and publishes the
 * status again when connected. Returns ES_OK or ES_ENOMEM. */
enum es_err transport_set_stages(struct transport *t, uint32_t stages);

/* Sets the load members of this client's online status (workers: capacity and use in
 * CPU-seconds per second, finite and >= 0, and whether it is saturated) and publishes the status
 * again when connected. Returns ES_OK, ES_EINVAL for a value out of range, or ES_ENOMEM. */
enum es_err transport_set_load(struct transport *t, double capacity_cpu_s, double used_cpu_s,
                               bool saturated);

/* True while connected. */
bool transport_connected(const struct transport *t);

/* Gives the connection up now, as if it had been lost (TRANSPORT_DOWN, one line naming why),
 * and reconnects as after a loss: for a link that went silent, which TCP would notice only after
 * its retransmissions time out and MQTT's keepalive only after up to twice its interval. The
 * old connection gets a DISCONNECT without waiting for it to go out. Does nothing while not
 * connected. */
void transport_drop(struct transport *t, const char *why);

/* True once another client took this client id over (see above). */
bool transport_taken_over(const struct transport *t);

/* Number of successful connections so far (1 after transport_connect). */
uint64_t transport_epoch(const struct transport *t);

/* The broker URI this transport uses, e.g. "tcp://localhost:1883". */
const char *transport_uri(const struct transport *t);

/* Stops reconnecting, publishes the retained offline status (unless the id was taken over),
 * disconnects (waiting up to 2 s for outgoing messages) and frees t. Accepts NULL. */
void transport_close(struct transport *t);

#endif

/* mqtt_pub: a minimal MQTT 3.1.1 publisher for the load generator, serving many connections
 * (one per simulated device) from one thread at little CPU cost.
 *
 * Each connection is a non-blocking TCP socket with its own client id; one epoll instance
 * watches them all, and a socket is watched for writing only while it is connecting or its
 * output buffer holds bytes a write could not take. A connection does CONNECT (clean session,
 * keepalive, optional user name and password), waits for CONNACK, then carries PUBLISH at QoS
 * 0 or 1 (packet ids per connection, PUBACKs counted), PINGREQ when it has sent nothing for
 * three quarters of the keepalive, and DISCONNECT at the end. Incoming CONNACK, PUBACK and
 * PINGRESP are parsed; any other packet is skipped by its length. Plain TCP only: no TLS, no
 * MQTT 5, no subscriptions, no retained messages, no last will. A connection that is lost stays
 * down (no reconnect): its later publishes fail, and its QoS 1 messages still in flight count
 * as unacknowledged.
 *
 * With a broker list, connection i (in the order added) tries broker i mod n first, then the
 * other addresses of the list in turn, each within the connect timeout.
 *
 * Threads: none of its own. One thread calls every function of one struct mqtt_pub; the
 * functions that wait (mqtt_pub_connect, mqtt_pub_poll, mqtt_pub_flush, mqtt_pub_close) do the
 * I/O of every connection while they wait. */
#ifndef ES_MQTT_PUB_H
#define ES_MQTT_PUB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

#define MQTT_PUB_ID_MAX 64     /* bytes of a client id */
#define MQTT_PUB_CRED_MAX 256  /* bytes of a user name or a password */
#define MQTT_PUB_TOPIC_MAX 512 /* bytes of a topic */

struct mqtt_pub;

struct mqtt_pub_opts {
    const char *hosts;      /* "H[:P][,H2[:P2]...]" as broker_list_parse reads it; required */
    int port;               /* port of an entry given without one; 1883 when 0 */
    int qos;                /* 0 or 1, of every PUBLISH */
    int keepalive_s;        /* 1..65535; 0 means 60 */
    int connect_timeout_ms; /* per attempt (TCP connect to CONNACK); 0 means 5000 */
    int connect_window;     /* attempts in progress at once; 0 means 128 */
    const char *username;   /* optional */
    const char *password;   /* optional; MQTT 3.1.1 sends it only with a user name */
    const volatile sig_atomic_t *stop; /* when it becomes nonzero, waiting ends early; or NULL */
};

/* Counters, as a plain value (mqtt_pub_stats). */
struct mqtt_pub_stats {
    size_t conns;       /* connections added */
    size_t up;          /* connections up now */
    size_t failed;      /* connections that never got a successful CONNACK */
    size_t lost;        /* connections that went down after their CONNACK */
    int64_t connect_us; /* time mqtt_pub_connect took */
    uint64_t published; /* PUBLISH packets written or buffered for writing */
    uint64_t refused;   /* publishes refused: connection down or its output buffer full */
    uint64_t acked;     /* PUBACKs received */
    uint64_t unacked;   /* QoS 1 publishes without a PUBACK (yet, or lost with a connection) */
};

/* Checks opts, resolves every broker of the list once and creates an empty publisher into
 * *out. The strings of opts are copied. Returns: ES_OK; ES_EINVAL for a bad option (logged);
 * ES_ECONNECT when a broker's name does not resolve (logged, with the name); ES_EIO when epoll
 * cannot be created; ES_ENOMEM. On failure *out is NULL. Free with mqtt_pub_free. */
enum es_err mqtt_pub_new(const struct mqtt_pub_opts *opts, struct mqtt_pub **out);

/* Adds a connection with client_id (1..MQTT_PUB_ID_MAX bytes, copied), not yet connected; its
 * index (0, 1, ... in the order added) goes to *index. Only before mqtt_pub_connect. Returns
 * ES_OK, ES_EINVAL (bad id, or called after mqtt_pub_connect), or ES_ENOMEM. */
enum es_err mqtt_pub_add(struct mqtt_pub *p, const char *client_id, size_t *index);

/* Connects every connection added: at most connect_window attempts in progress at once, each
 * non-blocking. Returns when each one is up or has failed on every address, or when *stop is
 * set. Logs one line with how many came up and how long it took, and one line per distinct
 * cause of failure with its count, the address tried and a client id ("cannot connect to broker
 * tcp://127.0.0.1:1883: Connection refused"). Returns ES_OK when every connection is up,
 * ES_ECONNECT when one is not, ES_ESTOPPED when stopped, ES_EINVAL when called twice. */
enum es_err mqtt_pub_connect(struct mqtt_pub *p);

/* Publishes payload (len bytes) on topic (1..MQTT_PUB_TOPIC_MAX bytes) through connection conn,
 * at the publisher's QoS: written at once as far as the socket takes it, the rest copied into
 * the connection's output buffer. payload may be reused when it returns. Returns: ES_OK;
 * ES_ECONNECT when the connection is not up (counted as refused); ES_EFULL when its output
 * buffer already holds more than 1 MiB, or, at QoS 1, 65,535 messages are in flight (refused);
 * ES_EINVAL for a bad index, topic or a payload over the MQTT limit. */
enum es_err mqtt_pub_publish(struct mqtt_pub *p, size_t conn, const char *topic,
                             const void *payload, size_t len);

/* Waits for socket events up to timeout_us (rounded down to whole milliseconds; 0 or less: no
 * waiting) and handles them: buffered writes, CONNACK, PUBACK, PINGRESP, lost connections, and
 * keepalive pings when due. */
void mqtt_pub_poll(struct mqtt_pub *p, int64_t timeout_us);

/* Polls until no connection has bytes waiting to be written and, at QoS 1, every publish of a
 * connection still up has its PUBACK; or until timeout_us passes (ES_ETIMEDOUT) or *stop is
 * set (ES_ESTOPPED). Returns ES_OK when all is out. */
enum es_err mqtt_pub_flush(struct mqtt_pub *p, int64_t timeout_us);

/* Sends DISCONNECT on every connection up, waits up to timeout_us for the bytes to go out and
 * the broker to close, then closes every socket. p stays valid for mqtt_pub_stats. */
void mqtt_pub_close(struct mqtt_pub *p, int64_t timeout_us);

/* The counters so far into *s. */
void mqtt_pub_stats(const struct mqtt_pub *p, struct mqtt_pub_stats *s);

/* Closes every socket still open (without DISCONNECT) and frees p. Accepts NULL. */
void mqtt_pub_free(struct mqtt_pub *p);

#endif

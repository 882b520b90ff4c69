/* The worker's bus over AMQP 0-9-1 (librabbitmq), for a RabbitMQ cluster (see bus.h).
 *
 * librabbitmq's connections are not thread-safe, so one thread of the bus owns the connection:
 * it reads deliveries and confirms, and carries out what other threads queue (results to
 * publish, frames to drop, stages to serve). Channel 1 consumes the stage queues, publishes
 * the results in confirm mode and acknowledges the frames; channel 2 publishes the status and
 * the pictures, unconfirmed. A frame's tag holds the connection's number (epoch) above its
 * delivery tag: a result for a frame of a lost connection is still published, on channel 2, but
 * nothing is acknowledged, since the broker already handed that frame to another worker. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "bus_impl.h"
#include "clock.h"
#include "log.h"
#include "status.h"
#include "tcp_probe.h"
#include "topic.h"
#include "wire_batch.h"

#define CH_WORK 1
#define CH_MISC 2
#define FRAME_MAX 131072
#define HEARTBEAT_S 5
#define STATUS_EVERY_MS 1000
#define MAX_URLS 8
#define URL_MAX 512
#define TAG_BITS 48
#define TAG_MASK ((UINT64_C(1) << TAG_BITS) - 1)
#define ALL_STAGES 0xfffeu
#define SERVE_WAIT_US 10000000
#define CLOSE_WAIT_US 2000000
/* Frames read in one turn before the queued work is looked at again. */
#define READ_BURST 64

enum op_kind { OP_REPLY, OP_PUBLISH, OP_DROP };

struct op {
    struct op *next;
    enum op_kind kind;
    uint64_t tag;
    char key[TOPIC_MAX]; /* routing key */
    size_t len;
    uint8_t body[];
};

/* A result published on channel 1 whose confirm is awaited: then frame dtag is acknowledged. */
struct pending {
    uint64_t seq;
    uint64_t dtag;
};

struct url {
    struct amqp_connection_info info; /* points into text */
    char text[URL_MAX];
    char shown[URL_MAX]; /* amqp://host:port/vhost, without the credentials */
};

struct bus_amqp {
    struct bus base;
    const char *client_id;
    unsigned prefetch;
    int connect_timeout_s;
    bus_frame_fn on_frame;
    void *arg;
    struct url urls[MAX_URLS];
    unsigned nurls;
    atomic_uint cur; /* the URL in use */
    pthread_t thread;
    bool thread_started;
    int evfd; /* wakes the thread */

    pthread_mutex_t lock; /* guards what follows, up to the thread's own state */
    pthread_cond_t cond;
    struct op *head, **tail;
    uint32_t want;                 /* stages to serve */
    uint64_t want_gen, served_gen; /* bus_serve waits until served_gen reaches its want_gen */
    enum es_err serve_err;         /* the outcome for served_gen */
    bool stopping;
    bool has_load; /* the load stated in the status */
    double capacity_cpu_s, used_cpu_s;
    bool saturated;
    atomic_bool connected;
    atomic_ullong redelivered;

    /* The thread's own. */
    amqp_connection_state_t conn;
    uint64_t epoch;     /* connections so far */
    uint32_t have;      /* stages consumed on this connection */
    uint32_t announced; /* stages in the last status published */
    uint64_t next_seq;  /* publish sequence number on channel 1 */
    struct pending *pend;
    size_t npend, cappend;
    int64_t next_status_us;
    char session[STATUS_SESSION_MAX + 1];
    int64_t since_us;
    uint64_t rng;
};

static void wake(struct bus_amqp *a)
{
    uint64_t one = 1;
    ssize_t rc = write(a->evfd, &one, sizeof one);
    (void)rc; /* a full counter means it is awake already */
}

/* Why an RPC failed, in words. */
static const char *rpc_why(amqp_rpc_reply_t r, char *buf, size_t n)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return "no error";
    case AMQP_RESPONSE_NONE:
        return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const amqp_connection_close_t *m = r.reply.decoded;
            snprintf(buf, n, "closed by the broker: %u %.*s", m->reply_code, (int)m->reply_text.len,
                     (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const amqp_channel_close_t *m = r.reply.decoded;
            snprintf(buf, n, "refused by the broker: %u %.*s", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(buf, n, "broker error (method 0x%08x)", (unsigned)r.reply.id);
        }
        return buf;
    }
    return "unknown error";
}

/* Checks the last RPC on the connection; fills why on failure. */
static bool rpc_ok(struct bus_amqp *a, char *why, size_t n)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(a->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    const char *w = rpc_why(r, why, n);
    if (w != why)
        snprintf(why, n, "%s", w);
    return false;
}

static void drop_connection(struct bus_amqp *a)
{
    if (!a->conn)
        return;
    amqp_destroy_connection(a->conn); /* closes the socket without a handshake */
    a->conn = NULL;
    a->have = 0;
    a->npend = 0;
    atomic_store(&a->connected, false);
}

/* Consumes the edges' hellos (pipeline.hello.*) from a private queue on channel 2: each one
 * makes the worker repeat its status at once. */
static bool listen_hello(struct bus_amqp *a, char *why, size_t n)
{
    amqp_queue_declare_ok_t *q =
        amqp_queue_declare(a->conn, CH_MISC, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (!q || !rpc_ok(a, why, n))
        return false;
    amqp_bytes_t name = amqp_bytes_malloc_dup(q->queue);
    bool ok = name.bytes != NULL;
    ok = ok &&
         amqp_queue_bind(a->conn, CH_MISC, name, amqp_cstring_bytes("amq.topic"),
                         amqp_cstring_bytes(topic_hello_binding()), amqp_empty_table) &&
         rpc_ok(a, why, n);
    ok = ok &&
         amqp_basic_consume(a->conn, CH_MISC, name, amqp_cstring_bytes("hello"), 0, 1, 1,
                            amqp_empty_table) &&
         rpc_ok(a, why, n);
    amqp_bytes_free(name);
    return ok;
}

/* Opens a connection to url i with both channels; fills why on failure. */
static bool open_connection(struct bus_amqp *a, unsigned i, char *why, size_t n)
{
    const struct amqp_connection_info *u = &a->urls[i].info;
    a->conn = amqp_new_connection();
    amqp_socket_t *sock = a->conn ? amqp_tcp_socket_new(a->conn) : NULL;
    if (!sock) {
        snprintf(why, n, "out of memory");
        drop_connection(a);
        return false;
    }
    struct timeval tv = {.tv_sec = a->connect_timeout_s};
    int rc = amqp_socket_open_noblock(sock, u->host, u->port, &tv);
    if (rc != AMQP_STATUS_OK) {
        if (rc == AMQP_STATUS_SOCKET_ERROR || rc == AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED) {
            /* librabbitmq only says "a socket error occurred": a plain connect says why */
            tcp_probe_why(u->host, u->port, a->connect_timeout_s * 1000, why, n);
            if (!why[0])
                snprintf(why, n, "the connection failed");
        } else {
            snprintf(why, n, "%s", amqp_error_string2(rc));
        }
        drop_connection(a);
        return false;
    }
    amqp_set_handshake_timeout(a->conn, &tv);
    struct timeval rpc = {.tv_sec = SERVE_WAIT_US / 1000000};
    amqp_set_rpc_timeout(a->conn, &rpc);
    amqp_rpc_reply_t r = amqp_login(a->conn, u->vhost, 0, FRAME_MAX, HEARTBEAT_S,
                                    AMQP_SASL_METHOD_PLAIN, u->user, u->password);
    bool ok = r.reply_type == AMQP_RESPONSE_NORMAL;
    if (!ok) {
        const char *w = rpc_why(r, why, n);
        if (w != why)
            snprintf(why, n, "login as %s: %s", u->user, w);
    }
    ok = ok && amqp_channel_open(a->conn, CH_WORK) && rpc_ok(a, why, n);
    ok = ok && amqp_basic_qos(a->conn, CH_WORK, 0, (uint16_t)a->prefetch, 0) && rpc_ok(a, why, n);
    ok = ok && amqp_confirm_select(a->conn, CH_WORK) && rpc_ok(a, why, n);
    ok = ok && amqp_channel_open(a->conn, CH_MISC) && rpc_ok(a, why, n);
    ok = ok && listen_hello(a, why, n);
    if (!ok) {
        drop_connection(a);
        return false;
    }
    a->epoch++;
    a->next_seq = 1;
    a->have = 0;
    a->npend = 0;
    a->next_status_us = 0;
    atomic_store(&a->cur, i);
    atomic_store(&a->connected, true);
    return true;
}

static int publish(struct bus_amqp *a, amqp_channel_t ch, const char *key, const void *body,
                   size_t len, bool persistent)
{
    amqp_table_entry_t qos = {.key = amqp_cstring_bytes("x-mqtt-publish-qos"),
                              .value = {.kind = AMQP_FIELD_KIND_I8, .value.i8 = persistent}};
    amqp_basic_properties_t props = {
        ._flags =
            AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = persistent ? 2 : 1,
        .headers = {.num_entries = 1, .entries = &qos},
    };
    amqp_bytes_t b = {.len = len, .bytes = (void *)body};
    return amqp_basic_publish(a->conn, ch, amqp_cstring_bytes("amq.topic"), amqp_cstring_bytes(key),
                              0, 0, &props, b);
}

/* Publishes the worker's status: online with the stages consumed, or offline. */
static int publish_status(struct bus_amqp *a, bool online)
{
    struct status_info s = {.online = online,
                            .since_us = a->since_us,
                            .has_stages = true,
                            .stages = online ? a->have : 0,
                            .every_ms = STATUS_EVERY_MS,
                            .batch = WIRE_BATCH_MAX_FRAMES};
    pthread_mutex_lock(&a->lock);
    s.has_load = a->has_load;
    s.capacity_cpu_s = a->capacity_cpu_s;
    s.used_cpu_s = a->used_cpu_s;
    s.saturated = a->saturated;
    pthread_mutex_unlock(&a->lock);
    snprintf(s.client, sizeof s.client, "%s", a->client_id);
    strcpy(s.role, "worker");
    strcpy(s.session, a->session);
    char topic[TOPIC_MAX], key[TOPIC_MAX];
    char *text = status_dump(&s);
    int rc = AMQP_STATUS_NO_MEMORY;
    if (text && topic_status(topic, sizeof topic, a->client_id) == ES_OK &&
        topic_routing_key(key, sizeof key, topic, false) == ES_OK)
        rc = publish(a, CH_MISC, key, text, strlen(text), false);
    free(text);
    a->announced = s.stages;
    a->next_status_us = clock_mono_us() + STATUS_EVERY_MS * 1000;
    return rc;
}

static bool pend_push(struct bus_amqp *a, uint64_t seq, uint64_t dtag)
{
    if (a->npend == a->cappend) {
        size_t cap = a->cappend ? a->cappend * 2 : 64;
        struct pending *p = realloc(a->pend, cap * sizeof *p);
        if (!p)
            return false;
        a->pend = p;
        a->cappend = cap;
    }
    a->pend[a->npend++] = (struct pending){seq, dtag};
    return true;
}

/* The broker confirmed (ok) or refused results up to seq (multiple) or seq alone: acknowledge
 * their frames, or hand the frames back for another worker to try. */
static int settle_confirmed(struct bus_amqp *a, uint64_t seq, bool multiple, bool ok)
{
    size_t kept = 0;
    int rc = AMQP_STATUS_OK;
    for (size_t i = 0; i < a->npend; i++) {
        struct pending p = a->pend[i];
        if (multiple ? p.seq > seq : p.seq != seq) {
            a->pend[kept++] = p;
            continue;
        }
        int r = ok ? amqp_basic_ack(a->conn, CH_WORK, p.dtag, 0)
                   : amqp_basic_reject(a->conn, CH_WORK, p.dtag, 1);
        if (r != AMQP_STATUS_OK)
            rc = r;
    }
    a->npend = kept;
    return rc;
}

/* Carries out one queued operation; returns a library status. */
static int run_op(struct bus_amqp *a, const struct op *op)
{
    bool current = op->tag && (op->tag >> TAG_BITS) == (a->epoch & 0xffff);
    uint64_t dtag = op->tag & TAG_MASK;
    switch (op->kind) {
    case OP_DROP:
        return current ? amqp_basic_reject(a->conn, CH_WORK, dtag, 0) : AMQP_STATUS_OK;
    case OP_PUBLISH:
        return publish(a, CH_MISC, op->key, op->body, op->len, false);
    case OP_REPLY:
        if (!current) /* the frame went to another worker: the edge dedupes */
            return publish(a, CH_MISC, op->key, op->body, op->len, true);
        if (!pend_push(a, a->next_seq, dtag))
            return AMQP_STATUS_NO_MEMORY;
        a->next_seq++;
        return publish(a, CH_WORK, op->key, op->body, op->len, true);
    }
    return AMQP_STATUS_OK;
}

static int run_ops(struct bus_amqp *a)
{
    pthread_mutex_lock(&a->lock);
    struct op *op = a->head;
    a->head = NULL;
    a->tail = &a->head;
    pthread_mutex_unlock(&a->lock);
    int rc = AMQP_STATUS_OK;
    while (op) {
        struct op *next = op->next;
        if (rc == AMQP_STATUS_OK && a->conn)
            rc = run_op(a, op);
        free(op);
        op = next;
    }
    return rc;
}

/* Declares stage k's quorum queue, binds it and consumes it ("stage-K"). */
static bool consume_stage(struct bus_amqp *a, unsigned k, char *why, size_t n)
{
    char queue[TOPIC_MAX], binding[TOPIC_MAX], ctag[16];
    if (topic_stage_queue(queue, binding, sizeof queue, k) != ES_OK) {
        snprintf(why, n, "bad stage %u", k);
        return false;
    }
    snprintf(ctag, sizeof ctag, "stage-%u", k);
    amqp_table_entry_t type = {
        .key = amqp_cstring_bytes("x-queue-type"),
        .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("quorum")}};
    amqp_table_t args = {.num_entries = 1, .entries = &type};
    amqp_bytes_t q = amqp_cstring_bytes(queue);
    bool ok = amqp_queue_declare(a->conn, CH_WORK, q, 0, 1, 0, 0, args) && rpc_ok(a, why, n);
    ok = ok &&
         amqp_queue_bind(a->conn, CH_WORK, q, amqp_cstring_bytes("amq.topic"),
                         amqp_cstring_bytes(binding), amqp_empty_table) &&
         rpc_ok(a, why, n);
    ok = ok &&
         amqp_basic_consume(a->conn, CH_WORK, q, amqp_cstring_bytes(ctag), 0, 0, 0,
                            amqp_empty_table) &&
         rpc_ok(a, why, n);
    if (!ok) {
        char what[TOPIC_MAX + 32];
        snprintf(what, sizeof what, "queue %s: %s", queue, why);
        snprintf(why, n, "%s", what);
    }
    return ok;
}

static bool cancel_stage(struct bus_amqp *a, unsigned k, char *why, size_t n)
{
    char ctag[16];
    snprintf(ctag, sizeof ctag, "stage-%u", k);
    return amqp_basic_cancel(a->conn, CH_WORK, amqp_cstring_bytes(ctag)) && rpc_ok(a, why, n);
}

/* Consumes the stages wanted and no others; answers bus_serve. Returns false when the
 * connection must be dropped. */
static bool reconcile(struct bus_amqp *a)
{
    pthread_mutex_lock(&a->lock);
    uint32_t want = a->want;
    uint64_t gen = a->want_gen;
    pthread_mutex_unlock(&a->lock);
    char why[256] = "";
    bool ok = true;
    for (unsigned k = 1; ok && k < STATE_MAX_STAGES; k++) {
        uint32_t bit = 1u << k;
        if ((want & bit) && !(a->have & bit)) {
            ok = consume_stage(a, k, why, sizeof why);
            a->have |= ok ? bit : 0;
        } else if (!(want & bit) && (a->have & bit)) {
            ok = cancel_stage(a, k, why, sizeof why);
            a->have &= ok ? ~bit : ~0u;
        }
    }
    if (!ok)
        log_msg(LOG_ERROR, "AMQP-SERVE", "cannot serve the stages on %s: %s",
                a->urls[atomic_load(&a->cur)].shown, why);
    if (ok && a->have != a->announced && publish_status(a, true) != AMQP_STATUS_OK)
        ok = false;
    pthread_mutex_lock(&a->lock);
    if (a->served_gen < gen) {
        a->served_gen = gen;
        a->serve_err = ok ? ES_OK : ES_EMQTT;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

static void on_deliver(struct bus_amqp *a, const amqp_frame_t *f, bool *fail)
{
    const amqp_basic_deliver_t *d = f->payload.method.decoded;
    uint64_t dtag = d->delivery_tag;
    if (d->redelivered)
        atomic_fetch_add(&a->redelivered, 1);
    char key[TOPIC_MAX], topic[TOPIC_MAX];
    size_t klen = d->routing_key.len < sizeof key - 1 ? d->routing_key.len : sizeof key - 1;
    memcpy(key, d->routing_key.bytes, klen);
    key[klen] = '\0';
    amqp_message_t msg;
    amqp_rpc_reply_t r = amqp_read_message(a->conn, f->channel, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        *fail = true;
        return;
    }
    if (f->channel == CH_MISC) { /* an edge's hello: the status goes out on the next turn */
        a->next_status_us = 0;
        amqp_destroy_message(&msg);
        return;
    }
    if (topic_routing_key(topic, sizeof topic, key, true) != ES_OK)
        snprintf(topic, sizeof topic, "%s", key); /* the worker rejects it as no stage topic */
    uint64_t tag = ((a->epoch & 0xffff) << TAG_BITS) | (dtag & TAG_MASK);
    if (!a->on_frame(a->arg, topic, msg.body.bytes, msg.body.len, tag) &&
        amqp_basic_reject(a->conn, CH_WORK, dtag, 1) != AMQP_STATUS_OK)
        *fail = true;
    amqp_destroy_message(&msg);
}

/* Handles one frame; returns false when the connection must be dropped (why filled). */
static bool on_frame(struct bus_amqp *a, const amqp_frame_t *f, char *why, size_t n)
{
    if (f->frame_type != AMQP_FRAME_METHOD)
        return true;
    bool fail = false;
    switch (f->payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD:
        on_deliver(a, f, &fail);
        if (fail)
            snprintf(why, n, "cannot read a frame");
        return !fail;
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *m = f->payload.method.decoded;
        return settle_confirmed(a, m->delivery_tag, m->multiple, true) == AMQP_STATUS_OK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *m = f->payload.method.decoded;
        return settle_confirmed(a, m->delivery_tag, m->multiple, false) == AMQP_STATUS_OK;
    }
    case AMQP_BASIC_CANCEL_METHOD: { /* the queue went away: declared again on the next turn */
        const amqp_basic_cancel_t *m = f->payload.method.decoded;
        unsigned k = 0;
        if (sscanf((const char *)m->consumer_tag.bytes, "stage-%u", &k) == 1 && k < 32)
            a->have &= ~(1u << k);
        log_msg(LOG_WARN, "AMQP-CANCELLED", "the broker cancelled consumer %.*s",
                (int)m->consumer_tag.len, (const char *)m->consumer_tag.bytes);
        return true;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                              .reply = f->payload.method};
        const char *w = rpc_why(r, why, n);
        if (w != why)
            snprintf(why, n, "%s", w);
        return false;
    }
    default:
        return true;
    }
}

/* Reads what arrived, waiting up to timeout_ms for the socket or a wake-up. */
static bool read_frames(struct bus_amqp *a, int timeout_ms, char *why, size_t n)
{
    if (!amqp_frames_enqueued(a->conn) && !amqp_data_in_buffer(a->conn)) {
        struct pollfd p[2] = {{.fd = amqp_get_sockfd(a->conn), .events = POLLIN},
                              {.fd = a->evfd, .events = POLLIN}};
        if (poll(p, 2, timeout_ms) < 0 && errno != EINTR) {
            snprintf(why, n, "poll: %s", strerror(errno));
            return false;
        }
        if (p[1].revents & POLLIN) {
            uint64_t v;
            ssize_t rc = read(a->evfd, &v, sizeof v);
            (void)rc;
        }
    }
    for (int i = 0; i < READ_BURST; i++) {
        amqp_frame_t f;
        struct timeval now = {0, 0};
        int rc = amqp_simple_wait_frame_noblock(a->conn, &f, &now);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK) {
            snprintf(why, n, "%s", amqp_error_string2(rc));
            return false;
        }
        bool ok = on_frame(a, &f, why, n);
        amqp_maybe_release_buffers(a->conn);
        if (!ok)
            return false;
    }
    return true;
}

/* One turn on a live connection. */
static bool turn(struct bus_amqp *a, char *why, size_t n)
{
    int rc = run_ops(a);
    if (rc != AMQP_STATUS_OK) {
        snprintf(why, n, "%s", amqp_error_string2(rc));
        return false;
    }
    pthread_mutex_lock(&a->lock);
    bool pending_serve = a->served_gen < a->want_gen || a->want != a->have;
    pthread_mutex_unlock(&a->lock);
    if (pending_serve && !reconcile(a)) {
        snprintf(why, n, "the stage queues could not be consumed");
        return false;
    }
    int64_t now = clock_mono_us();
    if (now >= a->next_status_us && (rc = publish_status(a, true)) != AMQP_STATUS_OK) {
        snprintf(why, n, "%s", amqp_error_string2(rc));
        return false;
    }
    int wait_ms = (int)((a->next_status_us - now) / 1000);
    return read_frames(a, wait_ms < 0 ? 0 : wait_ms, why, n);
}

/* Waits until deadline or bus_close; false when closing. */
static bool sleep_until(struct bus_amqp *a, int64_t deadline)
{
    pthread_mutex_lock(&a->lock);
    while (!a->stopping && clock_mono_us() < deadline) {
        pthread_mutex_unlock(&a->lock);
        struct pollfd p = {.fd = a->evfd, .events = POLLIN};
        int ms = (int)((deadline - clock_mono_us()) / 1000) + 1;
        if (poll(&p, 1, ms) > 0) {
            uint64_t v;
            ssize_t rc = read(a->evfd, &v, sizeof v);
            (void)rc;
        }
        pthread_mutex_lock(&a->lock);
    }
    bool go = !a->stopping;
    pthread_mutex_unlock(&a->lock);
    return go;
}

/* Reconnects, trying the URLs in turn from the one after the lost one. */
static void reconnect(struct bus_amqp *a, const char *lost_why)
{
    unsigned lost = atomic_load(&a->cur);
    log_msg(LOG_WARN, "AMQP-LOST", "connection to %s lost: %s; reconnecting", a->urls[lost].shown,
            lost_why);
    int64_t since = clock_mono_us();
    for (int attempt = 0;; attempt++) {
        if (!sleep_until(a, clock_mono_us() + backoff_us(&a->rng, attempt)))
            return;
        unsigned i = (lost + 1 + (unsigned)attempt) % a->nurls;
        char why[256] = "";
        if (open_connection(a, i, why, sizeof why)) {
            log_msg(LOG_INFO, "AMQP-RECONNECT",
                    "connected to %s after %.1f s (%d attempts); frames held on the lost "
                    "connection went back to their queues",
                    a->urls[i].shown, (double)(clock_mono_us() - since) / 1e6, attempt + 1);
            return;
        }
        log_msg(LOG_DEBUG, "AMQP-RETRY", "cannot connect to %s: %s", a->urls[i].shown, why);
    }
}

/* After bus_close: publishes what is queued, waits for the confirms (so the frames are
 * acknowledged) and says offline. */
static void finish(struct bus_amqp *a)
{
    char why[256];
    int64_t end = clock_mono_us() + CLOSE_WAIT_US;
    while (a->conn && run_ops(a) == AMQP_STATUS_OK && a->npend > 0 && clock_mono_us() < end &&
           read_frames(a, 20, why, sizeof why))
        ;
    if (!a->conn)
        return;
    if (a->npend > 0)
        log_msg(LOG_WARN, "AMQP-UNCONFIRMED",
                "%zu results not confirmed at exit: their frames go to another worker", a->npend);
    publish_status(a, false);
    amqp_channel_close(a->conn, CH_MISC, AMQP_REPLY_SUCCESS);
    amqp_channel_close(a->conn, CH_WORK, AMQP_REPLY_SUCCESS);
    amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
    drop_connection(a);
}

static void *thread_main(void *arg)
{
    struct bus_amqp *a = arg;
    char why[256] = "";
    for (;;) {
        pthread_mutex_lock(&a->lock);
        bool stop = a->stopping;
        pthread_mutex_unlock(&a->lock);
        if (stop)
            break;
        if (!a->conn) {
            reconnect(a, why);
            continue;
        }
        why[0] = '\0';
        if (!turn(a, why, sizeof why)) {
            drop_connection(a);
            pthread_mutex_lock(&a->lock);
            pthread_cond_broadcast(&a->cond); /* bus_serve sees the connection gone */
            pthread_mutex_unlock(&a->lock);
        }
    }
    finish(a);
    return NULL;
}

static void amqp_free(struct bus_amqp *a)
{
    struct op *op = a->head;
    while (op) {
        struct op *next = op->next;
        free(op);
        op = next;
    }
    if (a->evfd >= 0)
        close(a->evfd);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a->pend);
    free(a);
}

static void b_close(struct bus *b)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    wake(a);
    if (a->thread_started)
        pthread_join(a->thread, NULL);
    else if (a->conn)
        drop_connection(a);
    amqp_free(a);
}

/* Sets the stages wanted and waits until the thread served them (or the wait ends). */
static enum es_err set_wanted(struct bus_amqp *a, uint32_t mask)
{
    pthread_mutex_lock(&a->lock);
    a->want = mask & ALL_STAGES;
    uint64_t gen = ++a->want_gen;
    wake(a);
    int64_t end = clock_mono_us() + SERVE_WAIT_US;
    enum es_err err = ES_ETIMEDOUT;
    while (!a->stopping && clock_mono_us() < end) {
        if (a->served_gen >= gen) {
            err = a->serve_err;
            break;
        }
        if (!atomic_load(&a->connected)) {
            err = ES_ECONNECT; /* served after the reconnect */
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&a->cond, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    return err;
}

static enum es_err b_serve(struct bus *b, uint32_t mask)
{
    return set_wanted((struct bus_amqp *)b, mask);
}

static void b_unserve(struct bus *b)
{
    set_wanted((struct bus_amqp *)b, 0);
}

static enum es_err queue_op(struct bus_amqp *a, enum op_kind kind, uint64_t tag, const char *topic,
                            const void *payload, size_t len)
{
    struct op *op = calloc(1, sizeof *op + len);
    if (!op)
        return ES_ENOMEM;
    op->kind = kind;
    op->tag = tag;
    op->len = len;
    if (len)
        memcpy(op->body, payload, len);
    if (topic && topic_routing_key(op->key, sizeof op->key, topic, false) != ES_OK) {
        free(op);
        return ES_EINVAL;
    }
    pthread_mutex_lock(&a->lock);
    *a->tail = op;
    a->tail = &op->next;
    pthread_mutex_unlock(&a->lock);
    wake(a);
    return ES_OK;
}

static enum es_err b_reply(struct bus *b, uint64_t tag, const char *topic, const void *payload,
                           size_t len)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    if (!atomic_load(&a->connected))
        return ES_ECONNECT;
    return queue_op(a, OP_REPLY, tag, topic, payload, len);
}

static void b_publish(struct bus *b, const char *topic, const void *payload, size_t len)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    if (atomic_load(&a->connected))
        queue_op(a, OP_PUBLISH, 0, topic, payload, len);
}

static void b_drop(struct bus *b, uint64_t tag)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    if (tag && atomic_load(&a->connected))
        queue_op(a, OP_DROP, tag, NULL, NULL, 0);
}

static uint64_t b_redelivered(struct bus *b)
{
    return atomic_load(&((struct bus_amqp *)b)->redelivered);
}

static bool b_connected(struct bus *b)
{
    return atomic_load(&((struct bus_amqp *)b)->connected);
}

static bool b_taken_over(struct bus *b)
{
    (void)b;
    return false;
}

static const char *b_uri(struct bus *b)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    return a->urls[atomic_load(&a->cur)].shown;
}

static void b_set_load(struct bus *b, double capacity_cpu_s, double used_cpu_s, bool saturated)
{
    struct bus_amqp *a = (struct bus_amqp *)b;
    pthread_mutex_lock(&a->lock);
    a->has_load = true;
    a->capacity_cpu_s = capacity_cpu_s;
    a->used_cpu_s = used_cpu_s;
    a->saturated = saturated;
    pthread_mutex_unlock(&a->lock);
}

static const struct bus_ops amqp_ops = {
    .serve = b_serve,
    .unserve = b_unserve,
    .set_load = b_set_load,
    .reply = b_reply,
    .publish = b_publish,
    .drop = b_drop,
    .redelivered = b_redelivered,
    .connected = b_connected,
    .taken_over = b_taken_over,
    .uri = b_uri,
    .close = b_close,
    .paced = true,
};

/* Splits the comma-separated list into parsed URLs; false (logged) on a bad one. */
static bool parse_urls(struct bus_amqp *a, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        struct url *u = &a->urls[a->nurls];
        if (a->nurls == MAX_URLS || len == 0 || len >= sizeof u->text) {
            log_msg(LOG_ERROR, "AMQP-OPTS", "--amqp takes 1 to %d URLs amqp://user:pass@host:port/",
                    MAX_URLS);
            return false;
        }
        memcpy(u->text, p, len);
        u->text[len] = '\0';
        amqp_default_connection_info(&u->info);
        char copy[URL_MAX];
        snprintf(copy, sizeof copy, "%s", u->text);
        if (amqp_parse_url(u->text, &u->info) != AMQP_STATUS_OK || u->info.ssl) {
            log_msg(LOG_ERROR, "AMQP-OPTS",
                    "bad AMQP URL '%s': expected amqp://user:pass@host:port/vhost", copy);
            return false;
        }
        if (!u->info.vhost[0]) /* "amqp://host:port/": RabbitMQ has no empty vhost */
            u->info.vhost = "/";
        bool v6 = strchr(u->info.host, ':') != NULL;
        snprintf(u->shown, sizeof u->shown, "amqp://%s%s%s:%d/%s", v6 ? "[" : "", u->info.host,
                 v6 ? "]" : "", u->info.port, strcmp(u->info.vhost, "/") == 0 ? "" : u->info.vhost);
        a->nurls++;
        p += len + (p[len] == ',');
    }
    if (a->nurls == 0)
        log_msg(LOG_ERROR, "AMQP-OPTS", "--amqp needs at least one URL");
    return a->nurls > 0;
}

enum es_err bus_amqp_connect(const struct bus_opts *o, struct bus **out)
{
    if (o->prefetch < 1 || o->prefetch > 65535)
        return ES_EINVAL;
    struct bus_amqp *a = calloc(1, sizeof *a);
    if (!a)
        return ES_ENOMEM;
    a->base.ops = &amqp_ops;
    a->client_id = o->client_id;
    a->prefetch = o->prefetch;
    a->connect_timeout_s = o->mqtt.connect_timeout_s > 0 ? o->mqtt.connect_timeout_s : 5;
    a->on_frame = o->on_frame;
    a->arg = o->arg;
    a->tail = &a->head;
    a->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    status_new_session(a->session, sizeof a->session);
    a->since_us = clock_wall_us();
    a->rng = (uint64_t)clock_mono_us() | 1;
    if (a->evfd < 0 || !parse_urls(a, o->amqp)) {
        enum es_err err = a->evfd < 0 ? ES_ENOMEM : ES_EINVAL;
        amqp_free(a);
        return err;
    }
    char tried[1024] = "", why[256];
    size_t used = 0;
    bool up = false;
    for (unsigned i = 0; i < a->nurls && !up; i++) {
        why[0] = '\0';
        up = open_connection(a, i, why, sizeof why);
        if (!up && used < sizeof tried)
            used += (size_t)snprintf(tried + used, sizeof tried - used, "%s%s (%s)", i ? ", " : "",
                                     a->urls[i].shown, why);
    }
    if (!up) {
        log_msg(LOG_ERROR, "AMQP-CONNECT", "cannot connect to the AMQP broker: %s", tried);
        amqp_free(a);
        return ES_ECONNECT;
    }
    if (pthread_create(&a->thread, NULL, thread_main, a) != 0) {
        drop_connection(a);
        amqp_free(a);
        return ES_ENOMEM;
    }
    a->thread_started = true;
    *out = &a->base;
    return ES_OK;
}

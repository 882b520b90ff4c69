#include "transport.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "result.h"
#include "topic.h"

#define MAX_SUBS 16
#define MAX_BUFFERED 100000

struct subscription {
    char *filter;
    int qos;
};

/* The outcome of one request (connect, subscribe, disconnect) that a caller waits for. */
struct pending {
    int state; /* 0 waiting, 1 succeeded, -1 failed */
    char why[160];
};

struct transport {
    MQTTAsync client;
    char uri[320];
    int port;
    char status_topic[TOPIC_MAX];
    char *online;
    char *offline;
    transport_msg_fn on_msg;
    void *arg;
    atomic_bool connected;
    pthread_mutex_t lock; /* guards req, subs */
    pthread_cond_t cond;
    struct pending req;
    struct subscription subs[MAX_SUBS];
    int nsubs;
};

static void finish(struct transport *t, int state, const char *why)
{
    pthread_mutex_lock(&t->lock);
    t->req.state = state;
    snprintf(t->req.why, sizeof t->req.why, "%s", why ? why : "");
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* Waits for the current request; returns its state (0 on timeout). */
static int wait_request(struct transport *t, int timeout_ms, char *why, size_t whylen)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    pthread_mutex_lock(&t->lock);
    while (t->req.state == 0) {
        int64_t left = deadline - clock_mono_us();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000000) * 1000;
        ts.tv_sec += left / 1000000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
    }
    int state = t->req.state;
    if (why)
        snprintf(why, whylen, "%s", t->req.why);
    pthread_mutex_unlock(&t->lock);
    return state;
}

static void start_request(struct transport *t)
{
    pthread_mutex_lock(&t->lock);
    t->req.state = 0;
    t->req.why[0] = '\0';
    pthread_mutex_unlock(&t->lock);
}

static void on_ok(void *ctx, MQTTAsync_successData5 *resp)
{
    struct transport *t = ctx;
    if (resp && resp->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR)
        finish(t, -1, MQTTReasonCode_toString(resp->reasonCode));
    else
        finish(t, 1, NULL);
}

static void on_fail(void *ctx, MQTTAsync_failureData5 *resp)
{
    struct transport *t = ctx;
    const char *why = "failed";
    if (resp && resp->message)
        why = resp->message;
    else if (resp && resp->reasonCode)
        why = MQTTReasonCode_toString(resp->reasonCode);
    else if (resp)
        why = MQTTAsync_strerror(resp->code);
    finish(t, -1, why);
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    struct transport *t = ctx;
    (void)topic_len;
    bool taken = true;
    if (t->on_msg)
        taken = t->on_msg(t->arg, topic, msg->payload, (size_t)msg->payloadlen);
    if (!taken)
        return 0; /* Paho keeps the message and delivers it again later */
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connection_lost(void *ctx, char *cause)
{
    struct transport *t = ctx;
    atomic_store(&t->connected, false);
    log_msg(LOG_WARN, "MQTT-LOST", "connection to broker %s lost: %s; reconnecting", t->uri,
            cause ? cause : "unknown cause");
}

static void publish_status(struct transport *t, bool online)
{
    const char *msg = online ? t->online : t->offline;
    transport_publish(t, t->status_topic, msg, strlen(msg), 1, true);
}

/* Paho leaves Nagle's algorithm on, which holds small QoS 1 publishes and acks back for tens of
 * milliseconds (paho.mqtt.c #530). Paho does not hand out its socket, so find the process's TCP
 * sockets connected to the broker's port and set TCP_NODELAY on them. Harmless if repeated. */
static void disable_nagle(int port)
{
    for (int fd = 0; fd < 1024; fd++) {
        int type = 0;
        socklen_t tlen = sizeof type;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
            getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
            continue;
        int peer_port = -1;
        if (peer.ss_family == AF_INET)
            peer_port = ntohs(((struct sockaddr_in *)&peer)->sin_port);
        else if (peer.ss_family == AF_INET6)
            peer_port = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
        int one = 1;
        if (peer_port == port)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* Runs on every successful connection, the first one and each automatic reconnect. */
static void on_connected(void *ctx, char *cause)
{
    struct transport *t = ctx;
    bool reconnect = atomic_exchange(&t->connected, true) == false && cause &&
                     strstr(cause, "reconnect") != NULL;
    disable_nagle(t->port);
    publish_status(t, true);
    if (!reconnect)
        return;
    log_msg(LOG_INFO, "MQTT-RECONNECT", "reconnected to broker %s", t->uri);
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < t->nsubs; i++) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int rc = MQTTAsync_subscribe(t->client, t->subs[i].filter, t->subs[i].qos, &ro);
        if (rc != MQTTASYNC_SUCCESS)
            log_msg(LOG_ERROR, "MQTT-RESUBSCRIBE", "cannot renew subscription %s: %s",
                    t->subs[i].filter, MQTTAsync_strerror(rc));
    }
    pthread_mutex_unlock(&t->lock);
}

/* Paho's failure text for a refused TCP connection is vague; a plain connect says why. */
static void probe_tcp(const char *host, int port, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "%s", gai_strerror(rc));
        return;
    }
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        close(fd);
        if (err == 0)
            break;
    }
    freeaddrinfo(res);
    if (err != 0)
        snprintf(why, whylen, "%s", strerror(err));
}

static enum es_err create_client(struct transport *t, const struct transport_opts *o)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.MQTTVersion = MQTTVERSION_5;
    co.maxBufferedMessages = MAX_BUFFERED; /* applies while connected too */
    int rc = MQTTAsync_createWithOptions(&t->client, t->uri, o->client_id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_ERROR, "MQTT-CREATE", "cannot create MQTT client for %s: %s", t->uri,
                MQTTAsync_strerror(rc));
        return ES_EMQTT;
    }
    MQTTAsync_setCallbacks(t->client, t, on_connection_lost, on_message, NULL);
    MQTTAsync_setConnected(t->client, t, on_connected);
    return ES_OK;
}

static enum es_err start_connect(struct transport *t, const struct transport_opts *o)
{
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    will.topicName = t->status_topic;
    will.message = t->offline;
    will.retained = 1;
    will.qos = 1;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    ssl.trustStore = o->cafile;
    ssl.keyStore = o->certfile;
    ssl.privateKey = o->keyfile;
    ssl.verify = o->tls_insecure ? 0 : 1;
    ssl.enableServerCertAuth = o->tls_insecure ? 0 : 1;
    MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer5;
    cn.keepAliveInterval = o->keepalive_s > 0 ? o->keepalive_s : 20;
    cn.cleanstart = 1;
    cn.will = &will;
    cn.username = o->username;
    cn.password = o->password;
    cn.connectTimeout = o->connect_timeout_s > 0 ? o->connect_timeout_s : 5;
    cn.ssl = o->tls ? &ssl : NULL;
    cn.automaticReconnect = 1;
    cn.minRetryInterval = 1;
    cn.maxRetryInterval = 8;
    cn.onSuccess5 = on_ok;
    cn.onFailure5 = on_fail;
    cn.context = t;
    start_request(t);
    int rc = MQTTAsync_connect(t->client, &cn);
    if (rc != MQTTASYNC_SUCCESS) {
        finish(t, -1, MQTTAsync_strerror(rc));
        return ES_ECONNECT;
    }
    return ES_OK;
}

static enum es_err init_names(struct transport *t, const struct transport_opts *o)
{
    if (!o->host || !o->host[0] || !o->client_id || o->port < 0 || o->port > 65535 ||
        topic_status(t->status_topic, sizeof t->status_topic, o->client_id) != ES_OK) {
        log_msg(LOG_ERROR, "MQTT-OPTS", "invalid broker options (host %s, port %d, client id %s)",
                o->host ? o->host : "(none)", o->port, o->client_id ? o->client_id : "(none)");
        return ES_EINVAL;
    }
    int port = o->port ? o->port : (o->tls ? 8883 : 1883);
    t->port = port;
    bool v6 = strchr(o->host, ':') != NULL;
    snprintf(t->uri, sizeof t->uri, "%s://%s%s%s:%d", o->tls ? "ssl" : "tcp", v6 ? "[" : "",
             o->host, v6 ? "]" : "", port);
    const char *role = o->role ? o->role : "client";
    t->online = status_dump(o->client_id, role, true);
    t->offline = status_dump(o->client_id, role, false);
    return t->online && t->offline ? ES_OK : ES_ENOMEM;
}

enum es_err transport_connect(const struct transport_opts *opts, transport_msg_fn on_msg, void *arg,
                              struct transport **out)
{
    *out = NULL;
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return ES_ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->on_msg = on_msg;
    t->arg = arg;
    enum es_err err = init_names(t, opts);
    if (err == ES_OK)
        err = create_client(t, opts);
    if (err == ES_OK)
        err = start_connect(t, opts);
    char why[160] = "";
    int timeout_ms = (opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 5) * 1000 + 2000;
    if (err == ES_OK && wait_request(t, timeout_ms, why, sizeof why) != 1) {
        if (!opts->tls)
            probe_tcp(opts->host, t->port, why, sizeof why);
        log_msg(LOG_ERROR, "MQTT-CONNECT", "cannot connect to broker %s: %s", t->uri,
                why[0] ? why : "timed out");
        err = ES_ECONNECT;
    }
    if (err != ES_OK) {
        if (t->client)
            MQTTAsync_destroy(&t->client);
        t->client = NULL;
        transport_close(t);
        return err;
    }
    *out = t;
    return ES_OK;
}

/* Starts a request the caller will wait for: its response options. For one filter, the
 * SUBACK or UNSUBACK code is resp->reasonCode, which on_ok checks. */
static MQTTAsync_responseOptions request_options(struct transport *t)
{
    start_request(t);
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess5 = on_ok;
    ro.onFailure5 = on_fail;
    ro.context = t;
    return ro;
}

/* Waits (up to 10 s) for the request whose Paho call returned rc. False with why set (the
 * library's refusal, the broker's reason, or "timed out") when it did not succeed. */
static bool await_request(struct transport *t, int rc, char *why, size_t whylen)
{
    why[0] = '\0';
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(why, whylen, "%s", MQTTAsync_strerror(rc));
        return false;
    }
    if (wait_request(t, 10000, why, whylen) == 1)
        return true;
    if (!why[0])
        snprintf(why, whylen, "timed out");
    return false;
}

enum es_err transport_subscribe(struct transport *t, const char *filter, int qos)
{
    pthread_mutex_lock(&t->lock);
    if (t->nsubs >= MAX_SUBS) {
        pthread_mutex_unlock(&t->lock);
        return ES_ELIMIT;
    }
    char *copy = strdup(filter);
    if (!copy) {
        pthread_mutex_unlock(&t->lock);
        return ES_ENOMEM;
    }
    t->subs[t->nsubs].filter = copy;
    t->subs[t->nsubs].qos = qos;
    t->nsubs++;
    pthread_mutex_unlock(&t->lock);

    MQTTAsync_responseOptions ro = request_options(t);
    char why[160];
    if (await_request(t, MQTTAsync_subscribe(t->client, filter, qos, &ro), why, sizeof why))
        return ES_OK;
    log_msg(LOG_ERROR, "MQTT-SUBSCRIBE", "cannot subscribe to %s on %s: %s", filter, t->uri, why);
    return ES_EMQTT;
}

enum es_err transport_unsubscribe_all(struct transport *t)
{
    char *filters[MAX_SUBS];
    pthread_mutex_lock(&t->lock);
    int n = t->nsubs;
    for (int i = 0; i < n; i++)
        filters[i] = t->subs[i].filter;
    t->nsubs = 0;
    pthread_mutex_unlock(&t->lock);
    enum es_err err = ES_OK;
    for (int i = 0; i < n; i++) {
        MQTTAsync_responseOptions ro = request_options(t);
        char why[160];
        if (!await_request(t, MQTTAsync_unsubscribe(t->client, filters[i], &ro), why, sizeof why)) {
            log_msg(LOG_ERROR, "MQTT-UNSUBSCRIBE", "cannot unsubscribe from %s on %s: %s",
                    filters[i], t->uri, why);
            err = ES_EMQTT;
        }
        free(filters[i]);
    }
    return err;
}

enum es_err transport_publish(struct transport *t, const char *topic, const void *payload,
                              size_t len, int qos, bool retained)
{
    if (len > INT32_MAX)
        return ES_ELIMIT;
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = qos;
    msg.retained = retained ? 1 : 0;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_sendMessage(t->client, topic, &msg, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_WARN, "MQTT-PUBLISH", "cannot publish to %s on %s: %s", topic, t->uri,
                MQTTAsync_strerror(rc));
        return ES_EMQTT;
    }
    return ES_OK;
}

enum es_err transport_flush(struct transport *t, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        MQTTAsync_token *tokens = NULL;
        int rc = MQTTAsync_getPendingTokens(t->client, &tokens);
        bool idle = rc == MQTTASYNC_SUCCESS && (!tokens || tokens[0] == -1);
        MQTTAsync_free(tokens);
        if (idle)
            return ES_OK;
        if (clock_mono_us() >= deadline)
            return ES_ETIMEDOUT;
        clock_sleep_us(2000);
    }
}

bool transport_connected(const struct transport *t)
{
    return atomic_load(&((struct transport *)t)->connected);
}

const char *transport_uri(const struct transport *t)
{
    return t->uri;
}

void transport_close(struct transport *t)
{
    if (!t)
        return;
    if (t->client) {
        if (transport_connected(t)) {
            publish_status(t, false);
            transport_flush(t, 2000);
            MQTTAsync_disconnectOptions dc = MQTTAsync_disconnectOptions_initializer5;
            dc.timeout = 2000;
            dc.onSuccess5 = on_ok;
            dc.onFailure5 = on_fail;
            dc.context = t;
            start_request(t);
            if (MQTTAsync_disconnect(t->client, &dc) == MQTTASYNC_SUCCESS)
                wait_request(t, 3000, NULL, 0);
        }
        MQTTAsync_destroy(&t->client);
    }
    for (int i = 0; i < t->nsubs; i++)
        free(t->subs[i].filter);
    free(t->online);
    free(t->offline);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

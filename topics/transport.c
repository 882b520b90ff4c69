#include "transport_impl.h"

#include <MQTTAsync.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "status.h"
#include "topic.h"

void transport__bump_locked(struct transport *t)
{
    t->events++;
    pthread_cond_broadcast(&t->cond);
}

void transport__finish(struct transport *t, struct pending *p, int state, const char *why)
{
    pthread_mutex_lock(&t->lock);
    p->state = state;
    snprintf(p->why, sizeof p->why, "%s", why ? why : "");
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
}

/* Waits (t->lock held) on the condition until deadline_us (clock_mono_us); false on timeout. */
bool transport__wait_until_locked(struct transport *t, int64_t deadline_us)
{
    int64_t left = deadline_us - clock_mono_us();
    if (left <= 0)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (left % 1000000) * 1000;
    ts.tv_sec += left / 1000000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_cond_timedwait(&t->cond, &t->lock, &ts);
    return true;
}

/* Waits for request p; returns its state (0 on timeout) and copies its reason into why. */
int transport__wait_request(struct transport *t, struct pending *p, int timeout_ms, char *why,
                            size_t whylen)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    pthread_mutex_lock(&t->lock);
    while (p->state == 0 && transport__wait_until_locked(t, deadline))
        ;
    int state = p->state;
    if (why)
        snprintf(why, whylen, "%s", p->why);
    pthread_mutex_unlock(&t->lock);
    return state;
}

const char *transport__failure_text(const MQTTAsync_failureData5 *resp)
{
    if (resp && resp->message)
        return resp->message;
    if (resp && resp->reasonCode)
        return MQTTReasonCode_toString(resp->reasonCode);
    return resp ? MQTTAsync_strerror(resp->code) : "failed";
}

void transport__req_ok(void *ctx, MQTTAsync_successData5 *resp)
{
    struct transport *t = ctx;
    if (resp && resp->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR)
        transport__finish(t, &t->req, -1, MQTTReasonCode_toString(resp->reasonCode));
    else
        transport__finish(t, &t->req, 1, NULL);
}

void transport__req_fail(void *ctx, MQTTAsync_failureData5 *resp)
{
    struct transport *t = ctx;
    transport__finish(t, &t->req, -1, transport__failure_text(resp));
}

/* Gives the client id up for good: another process holds it. */
static void take_over(struct transport *t, const char *how)
{
    pthread_mutex_lock(&t->lock);
    bool first = !t->taken_over;
    t->taken_over = true;
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
    if (!first)
        return;
    log_msg(LOG_ERROR, "MQTT-TAKEN-OVER",
            "client id %s is in use by another client on %s (%s); giving it up", t->o.client_id,
            t->uri, how);
    if (t->o.on_event)
        t->o.on_event(t->o.arg, TRANSPORT_TAKEN_OVER);
}

/* A message on this client's own status topic: a session other than ours that started later
 * (ties broken by the session text) means a newer process now owns the id. */
static void check_own_status(struct transport *t, const uint8_t *payload, size_t len)
{
    struct status_info other;
    if (status_parse((const char *)payload, len, &other) != ES_OK ||
        strcmp(other.session, t->self.session) == 0)
        return;
    bool newer = other.since_us > t->self.since_us ||
                 (other.since_us == t->self.since_us && strcmp(other.session, t->self.session) > 0);
    if (newer)
        take_over(t, "a process started later connected with it");
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    struct transport *t = ctx;
    (void)topic_len;
    bool taken = true;
    if (strcmp(topic, t->status_topic) == 0)
        check_own_status(t, msg->payload, (size_t)msg->payloadlen);
    else if (t->o.on_msg)
        taken = t->o.on_msg(t->o.arg, topic, msg->payload, (size_t)msg->payloadlen);
    if (!taken)
        return 0; /* Paho keeps the message and delivers it again later */
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_delivered(void *ctx, MQTTAsync_token token)
{
    struct transport *t = ctx;
    (void)token;
    pthread_mutex_lock(&t->lock);
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
}

void transport__record_refused(struct transport *t, int token)
{
    pthread_mutex_lock(&t->lock);
    t->failed[t->nfailed++ % FAILED_RING] = (struct transport_ticket){token, t->epoch};
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
}

static void on_connection_lost(void *ctx, char *cause)
{
    struct transport *t = ctx;
    pthread_mutex_lock(&t->lock);
    bool was = t->connected;
    t->connected = false;
    t->attempts = 0;
    t->down_since_us = clock_mono_us();
    bool quiet = t->taken_over || t->closing;
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
    if (!was || quiet)
        return;
    log_msg(LOG_WARN, "MQTT-LOST", "connection to broker %s lost: %s; reconnecting", t->uri,
            cause ? cause : "connection closed");
    if (t->o.on_event)
        t->o.on_event(t->o.arg, TRANSPORT_DOWN);
}

static void on_disconnected(void *ctx, MQTTProperties *props, enum MQTTReasonCodes rc)
{
    struct transport *t = ctx;
    (void)props;
    if (rc == MQTTREASONCODE_SESSION_TAKEN_OVER)
        take_over(t, "the broker said the session was taken over");
    else
        log_msg(LOG_WARN, "MQTT-DISCONNECTED", "broker %s disconnected this client: %s", t->uri,
                MQTTReasonCode_toString(rc));
}

/* Paho leaves Nagle's algorithm on, which holds small QoS 1 publishes and acks back for tens of
 * milliseconds (paho.mqtt.c #530), and it hands out no socket. Its socket is the process's TCP
 * socket connected to the broker's address and port: find it among /proc/self/fd and set
 * TCP_NODELAY. Another connection of this process to the same broker gets it too, harmlessly. */
static bool is_broker(const struct transport *t, const struct sockaddr_storage *a)
{
    for (int i = 0; i < t->npeers; i++) {
        const struct sockaddr_storage *p = &t->peers[i];
        if (p->ss_family != a->ss_family)
            continue;
        if (a->ss_family == AF_INET) {
            const struct sockaddr_in *x = (const void *)a, *y = (const void *)p;
            if (x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr)
                return true;
        } else if (a->ss_family == AF_INET6) {
            const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)p;
            if (x->sin6_port == y->sin6_port &&
                memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0)
                return true;
        }
    }
    return false;
}

static void disable_nagle(const struct transport *t)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        int type = 0, one = 1;
        socklen_t tlen = sizeof type;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (*end || end == e->d_name || fd == dirfd(dir) ||
            getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
            getpeername((int)fd, (struct sockaddr *)&peer, &plen) != 0 || !is_broker(t, &peer))
            continue;
        setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    closedir(dir);
}

/* The online status, dumped from t->self; the caller frees it. */
static char *online_status(struct transport *t)
{
    pthread_mutex_lock(&t->lock);
    struct status_info s = t->self;
    pthread_mutex_unlock(&t->lock);
    s.online = true;
    return status_dump(&s);
}

static void publish_online(struct transport *t)
{
    char *msg = online_status(t);
    if (msg)
        transport_publish(t, t->status_topic, msg, strlen(msg), 1, true);
    free(msg);
}

/* Renews the subscriptions, this client's own status topic first (so a status left by another
 * process with this id arrives before ours replaces it), then announces the client online. The
 * own status is watched at QoS 0: a retained message needs no acknowledgement, and RabbitMQ
 * 3.10 keeps a client's QoS 1 subscriptions in a queue on one node, which would stop the client
 * from connecting to another node while that one is down. */
static void renew(struct transport *t)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_subscribe(t->client, t->status_topic, 0, &ro);
    char *filters[MAX_SUBS];
    int qos[MAX_SUBS];
    pthread_mutex_lock(&t->lock);
    int n = t->nsubs;
    for (int i = 0; i < n; i++) {
        filters[i] = strdup(t->subs[i].filter);
        qos[i] = t->subs[i].qos;
    }
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < n && rc == MQTTASYNC_SUCCESS; i++) {
        MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
        if (filters[i])
            rc = MQTTAsync_subscribe(t->client, filters[i], qos[i], &r);
    }
    for (int i = 0; i < n; i++)
        free(filters[i]);
    if (rc != MQTTASYNC_SUCCESS)
        log_msg(LOG_ERROR, "MQTT-RESUBSCRIBE", "cannot renew subscriptions on %s: %s", t->uri,
                MQTTAsync_strerror(rc));
    publish_online(t);
}

/* Runs on every successful connection, the first one and each reconnect. */
static void on_connected(void *ctx, char *cause)
{
    struct transport *t = ctx;
    (void)cause;
    pthread_mutex_lock(&t->lock);
    t->connected = true;
    t->conn.state = 1;
    t->epoch++;
    bool again = t->epoch > 1;
    int attempts = t->attempts;
    double down_s = (double)(clock_mono_us() - t->down_since_us) / 1e6;
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
    disable_nagle(t);
    renew(t);
    if (!again)
        return;
    log_msg(LOG_INFO, "MQTT-RECONNECT", "reconnected to broker %s after %.1f s (%d attempts)",
            t->uri, down_s, attempts);
    if (t->o.on_event)
        t->o.on_event(t->o.arg, TRANSPORT_UP);
}

static enum es_err create_client(struct transport *t);

/* One reconnect attempt, t->lock held: waits out the back-off, then connects and waits for
 * the outcome. */
static void reconnect_once(struct transport *t)
{
    int64_t deadline = clock_mono_us() + backoff_us(&t->rng, t->attempts);
    while (!t->closing && !t->connected && transport__wait_until_locked(t, deadline))
        ;
    if (t->closing || t->connected || t->taken_over)
        return;
    t->attempts++;
    t->conn.state = 0;
    pthread_mutex_unlock(&t->lock);
    pthread_rwlock_wrlock(&t->client_lock);
    enum es_err err = ES_OK;
    /* A fresh client, except for a persistent session: Paho keeps that session's state with the
     * client it belongs to. */
    if (t->o.session_expiry_s <= 0) {
        MQTTAsync_destroy(&t->client);
        err = create_client(t);
    }
    int rc = err == ES_OK ? MQTTAsync_connect(t->client, &t->cn) : MQTTASYNC_FAILURE;
    pthread_rwlock_unlock(&t->client_lock);
    pthread_mutex_lock(&t->lock);
    if (rc != MQTTASYNC_SUCCESS)
        return;
    /* Paho answers every attempt (connectTimeout at most); the client may not be replaced
     * before it has. */
    while (t->conn.state == 0 && !t->closing)
        pthread_cond_wait(&t->cond, &t->lock);
    if (t->conn.state < 0)
        log_msg(LOG_DEBUG, "MQTT-RETRY", "reconnect attempt %d to %s failed: %s", t->attempts,
                t->uri, t->conn.why);
}

static void *reconnector_main(void *arg)
{
    struct transport *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->closing) {
        if (t->connected || t->taken_over)
            pthread_cond_wait(&t->cond, &t->lock);
        else
            reconnect_once(t);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void resolve_peers(struct transport *t)
{
    for (int i = 0; i < t->nservers; i++) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        char service[16];
        snprintf(service, sizeof service, "%d", t->servers[i].port);
        if (getaddrinfo(t->servers[i].host, service, &hints, &res) != 0)
            continue;
        for (struct addrinfo *ai = res; ai && t->npeers < MAX_PEERS; ai = ai->ai_next) {
            if (ai->ai_addrlen <= sizeof t->peers[0])
                memcpy(&t->peers[t->npeers++], ai->ai_addr, ai->ai_addrlen);
        }
        freeaddrinfo(res);
    }
}

static enum es_err init_names(struct transport *t, const struct transport_opts *o)
{
    t->o = *o;
    if (!o->role)
        t->o.role = "client";
    if (!o->host || !o->host[0] || !o->client_id || o->port < 0 || o->port > 65535 ||
        (o->mqtt_version != 0 && o->mqtt_version != 3 && o->mqtt_version != 5) ||
        topic_status(t->status_topic, sizeof t->status_topic, o->client_id) != ES_OK) {
        log_msg(LOG_ERROR, "MQTT-OPTS", "invalid broker options (host %s, port %d, client id %s)",
                o->host ? o->host : "(none)", o->port, o->client_id ? o->client_id : "(none)");
        return ES_EINVAL;
    }
    if (transport__servers(t) != ES_OK)
        return ES_EINVAL;
    t->v5 = o->mqtt_version != 3;
    resolve_peers(t);
    snprintf(t->self.client, sizeof t->self.client, "%s", o->client_id);
    snprintf(t->self.role, sizeof t->self.role, "%s", t->o.role);
    status_new_session(t->self.session, sizeof t->self.session);
    t->self.since_us = clock_wall_us();
    t->self.batch = o->batch;
    t->rng = strtoull(t->self.session, NULL, 16) | 1;
    t->offline = status_dump(&t->self);
    if (!t->offline) {
        log_msg(LOG_ERROR, "MQTT-OPTS", "invalid client role '%s'", t->o.role);
        return ES_EINVAL;
    }
    enum es_err err = o->password_file ? transport__read_password(t, o->password_file) : ES_OK;
    if (err == ES_OK)
        transport__warn_weak(t);
    return err;
}

static enum es_err create_client(struct transport *t)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
    co.MQTTVersion = t->v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    co.maxBufferedMessages = MAX_BUFFERED; /* applies while connected too */
    int rc = MQTTAsync_createWithOptions(&t->client, t->uris[0], t->o.client_id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_ERROR, "MQTT-CREATE", "cannot create MQTT client for %s: %s", t->uri,
                MQTTAsync_strerror(rc));
        t->client = NULL;
        return ES_EMQTT;
    }
    MQTTAsync_setCallbacks(t->client, t, on_connection_lost, on_message, on_delivered);
    MQTTAsync_setConnected(t->client, t, on_connected);
    MQTTAsync_setDisconnected(t->client, t, on_disconnected);
    return ES_OK;
}

/* The first connection: waits for it and explains a failure in one line. */
/* One connect attempt and its outcome; why gets the reason of a failure. */
static bool try_connect(struct transport *t, char *why, size_t n)
{
    t->conn.state = 0;
    why[0] = '\0';
    int rc = MQTTAsync_connect(t->client, &t->cn);
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(why, n, "%s", MQTTAsync_strerror(rc));
        return false;
    }
    return transport__wait_request(t, &t->conn, t->cn.connectTimeout * 1000 + 2000, why, n) == 1;
}

/* Whether a failed MQTT 5 connect may mean a broker that speaks only 3.1.1: it answered, but
 * not with a refusal of the client (credentials, rights), nor failed below MQTT. */
static bool maybe_older_broker(const char *why)
{
    if (strncmp(why, "refused by the broker", 21) == 0)
        return strstr(why, "rotocol") != NULL; /* Unsupported Protocol Version */
    return strncmp(why, "TLS:", 4) != 0 && strstr(why, "refused") == NULL &&
           strstr(why, "unreachable") == NULL && strstr(why, "No route") == NULL;
}

/* The first connection: waits for it and explains a failure in one line. Without a version
 * given, a broker that refuses MQTT 5 is tried again with 3.1.1. */
static enum es_err first_connect(struct transport *t)
{
    char why[160];
    if (try_connect(t, why, sizeof why))
        return ES_OK;
    transport__explain_failure(t, why, sizeof why);
    if (t->o.mqtt_version == 0 && t->v5 && maybe_older_broker(why)) {
        log_msg(LOG_INFO, "MQTT-VERSION", "broker %s refused MQTT 5 (%s): trying MQTT 3.1.1",
                t->uri, why[0] ? why : "timed out");
        MQTTAsync_destroy(&t->client);
        t->v5 = false;
        transport__connect_options(t);
        if (create_client(t) == ES_OK && try_connect(t, why, sizeof why))
            return ES_OK;
        transport__explain_failure(t, why, sizeof why);
    }
    log_msg(LOG_ERROR, "MQTT-CONNECT", "cannot connect to broker %s: %s", t->uri,
            why[0] ? why : "timed out");
    return ES_ECONNECT;
}

/* OpenSSL frees its state in an atexit handler by default, which can race with a Paho thread
 * still ending (freeing its own OpenSSL thread state): a double free at exit, seen about once
 * in a hundred refused TLS connections under load. The process's end frees everything anyway. */
static void init_openssl(void)
{
    OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
}

enum es_err transport_connect(const struct transport_opts *opts, struct transport **out)
{
    static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;
    pthread_once(&openssl_once, init_openssl);
    *out = NULL;
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return ES_ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->req_lock, NULL);
    pthread_rwlock_init(&t->client_lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    enum es_err err = init_names(t, opts);
    if (err == ES_OK)
        err = create_client(t);
    if (err == ES_OK) {
        transport__connect_options(t);
        err = first_connect(t);
    }
    if (err == ES_OK) {
        if (pthread_create(&t->reconnector, NULL, reconnector_main, t) == 0)
            t->reconnector_started = true;
        else
            err = ES_ENOMEM;
    }
    if (err != ES_OK) {
        transport_close(t);
        return err;
    }
    *out = t;
    return ES_OK;
}

void transport_drop(struct transport *t, const char *why)
{
    pthread_mutex_lock(&t->lock);
    bool was = t->connected && !t->closing && !t->taken_over;
    if (was) {
        t->connected = false;
        t->attempts = 0;
        t->down_since_us = clock_mono_us();
    }
    pthread_mutex_unlock(&t->lock);
    if (!was)
        return;
    /* Paho's session ends here, so that its client may be replaced by the reconnecting thread,
     * which the broadcast below wakes. */
    MQTTAsync_disconnectOptions dc = MQTTAsync_disconnectOptions_initializer;
    if (t->v5)
        dc = (MQTTAsync_disconnectOptions)MQTTAsync_disconnectOptions_initializer5;
    dc.timeout = 0;
    pthread_rwlock_rdlock(&t->client_lock);
    MQTTAsync_disconnect(t->client, &dc);
    pthread_rwlock_unlock(&t->client_lock);
    pthread_mutex_lock(&t->lock);
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
    log_msg(LOG_WARN, "MQTT-SILENT", "connection to broker %s given up: %s; reconnecting", t->uri,
            why);
    if (t->o.on_event)
        t->o.on_event(t->o.arg, TRANSPORT_DOWN);
}

/* A clean goodbye: the offline status (unless another process owns the id now, whose status
 * must stand) and a DISCONNECT, so the broker does not publish the will as well. */
static void disconnect(struct transport *t)
{
    if (!transport_taken_over(t)) {
        transport_publish(t, t->status_topic, t->offline, strlen(t->offline), 1, true);
        transport_flush(t, 2000);
    }
    MQTTAsync_disconnectOptions dc;
    transport__disconnect_options(t, &dc);
    pthread_mutex_lock(&t->req_lock);
    pthread_mutex_lock(&t->lock);
    t->req.state = 0;
    pthread_mutex_unlock(&t->lock);
    pthread_rwlock_rdlock(&t->client_lock);
    int rc = MQTTAsync_disconnect(t->client, &dc);
    pthread_rwlock_unlock(&t->client_lock);
    if (rc == MQTTASYNC_SUCCESS)
        transport__wait_request(t, &t->req, 3000, NULL, 0);
    pthread_mutex_unlock(&t->req_lock);
}

void transport_close(struct transport *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->closing = true;
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
    if (t->reconnector_started)
        pthread_join(t->reconnector, NULL);
    if (t->client) {
        if (transport_connected(t))
            disconnect(t);
        MQTTAsync_destroy(&t->client);
    }
    for (int i = 0; i < t->nsubs; i++)
        free(t->subs[i].filter);
    free(t->offline);
    if (t->password) {
        memset(t->password, 0, strlen(t->password));
        free(t->password);
    }
    MQTTProperties_free(&t->connect_props);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->req_lock);
    pthread_rwlock_destroy(&t->client_lock);
    free(t);
}

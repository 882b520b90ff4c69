/* The transport's traffic: subscriptions, publishing, acknowledgements and waiting for them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "transport_impl.h"

/* Starts a request on t->req (t->req_lock held): its response options. For one filter the
 * SUBACK or UNSUBACK code is resp->reasonCode, which transport__req_ok checks. */
static MQTTAsync_responseOptions request_options(struct transport *t)
{
    pthread_mutex_lock(&t->lock);
    t->req.state = 0;
    t->req.why[0] = '\0';
    pthread_mutex_unlock(&t->lock);
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    transport__request_callbacks(t, &ro);
    return ro;
}

/* Waits for the request whose Paho call returned rc. False with why set (the library's
 * refusal, the broker's reason, or "timed out") when it did not succeed. */
static bool await_request(struct transport *t, int rc, char *why, size_t whylen)
{
    why[0] = '\0';
    if (rc != MQTTASYNC_SUCCESS) {
        snprintf(why, whylen, "%s", MQTTAsync_strerror(rc));
        return false;
    }
    if (transport__wait_request(t, &t->req, REQUEST_TIMEOUT_MS, why, whylen) == 1)
        return true;
    if (!why[0])
        snprintf(why, whylen, "timed out");
    return false;
}

/* Remembers a granted subscription for renewal after a reconnect. */
static enum es_err remember(struct transport *t, const char *filter, int qos)
{
    char *copy = strdup(filter);
    if (!copy)
        return ES_ENOMEM;
    pthread_mutex_lock(&t->lock);
    bool room = t->nsubs < MAX_SUBS;
    if (room)
        t->subs[t->nsubs++] = (struct subscription){copy, qos};
    pthread_mutex_unlock(&t->lock);
    if (!room)
        free(copy);
    return room ? ES_OK : ES_ELIMIT;
}

enum es_err transport_subscribe(struct transport *t, const char *filter, int qos)
{
    if (!transport_connected(t))
        return ES_ECONNECT;
    pthread_mutex_lock(&t->lock);
    bool full = t->nsubs >= MAX_SUBS;
    pthread_mutex_unlock(&t->lock);
    if (full)
        return ES_ELIMIT;
    pthread_mutex_lock(&t->req_lock);
    MQTTAsync_responseOptions ro = request_options(t);
    char why[160];
    pthread_rwlock_rdlock(&t->client_lock);
    int rc = MQTTAsync_subscribe(t->client, filter, qos, &ro);
    pthread_rwlock_unlock(&t->client_lock);
    bool ok = await_request(t, rc, why, sizeof why);
    pthread_mutex_unlock(&t->req_lock);
    if (ok)
        return remember(t, filter, qos);
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
    pthread_mutex_lock(&t->req_lock);
    for (int i = 0; i < n; i++) {
        MQTTAsync_responseOptions ro = request_options(t);
        char why[160];
        pthread_rwlock_rdlock(&t->client_lock);
        int rc = MQTTAsync_unsubscribe(t->client, filters[i], &ro);
        pthread_rwlock_unlock(&t->client_lock);
        if (!await_request(t, rc, why, sizeof why)) {
            log_msg(LOG_ERROR, "MQTT-UNSUBSCRIBE", "cannot unsubscribe from %s on %s: %s",
                    filters[i], t->uri, why);
            err = ES_EMQTT;
        }
        free(filters[i]);
    }
    pthread_mutex_unlock(&t->req_lock);
    return err;
}

static enum es_err send_message(struct transport *t, const char *topic, const void *payload,
                                size_t len, int qos, bool retained, MQTTAsync_responseOptions *ro)
{
    if (len > INT32_MAX)
        return ES_ELIMIT;
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)payload;
    msg.payloadlen = (int)len;
    msg.qos = qos;
    msg.retained = retained ? 1 : 0;
    pthread_rwlock_rdlock(&t->client_lock);
    int rc = MQTTAsync_sendMessage(t->client, topic, &msg, ro);
    pthread_rwlock_unlock(&t->client_lock);
    if (rc == MQTTASYNC_DISCONNECTED)
        return ES_ECONNECT;
    if (rc != MQTTASYNC_SUCCESS) {
        log_msg(LOG_WARN, "MQTT-PUBLISH", "cannot publish to %s on %s: %s", topic, t->uri,
                MQTTAsync_strerror(rc));
        return ES_EMQTT;
    }
    return ES_OK;
}

enum es_err transport_publish(struct transport *t, const char *topic, const void *payload,
                              size_t len, int qos, bool retained)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    return send_message(t, topic, payload, len, qos, retained, &ro);
}

enum es_err transport_publish_ticket(struct transport *t, const char *topic, const void *payload,
                                     size_t len, struct transport_ticket *ticket)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    transport__publish_callbacks(t, &ro);
    uint64_t epoch = transport_epoch(t);
    enum es_err err = send_message(t, topic, payload, len, 1, false, &ro);
    *ticket = (struct transport_ticket){ro.token, epoch};
    return err;
}

enum transport_ticket_state transport_ticket_state(struct transport *t,
                                                   const struct transport_ticket *ticket)
{
    /* Completion first: a refusal is recorded before Paho forgets the message. */
    pthread_rwlock_rdlock(&t->client_lock);
    bool complete = MQTTAsync_isComplete(t->client, ticket->token) == MQTTASYNC_TRUE;
    pthread_rwlock_unlock(&t->client_lock);
    pthread_mutex_lock(&t->lock);
    bool lost = !t->connected || t->epoch != ticket->epoch, refused = false;
    unsigned n = t->nfailed < FAILED_RING ? t->nfailed : FAILED_RING;
    for (unsigned i = 0; i < n && !lost && !refused; i++)
        refused = t->failed[i].token == ticket->token && t->failed[i].epoch == ticket->epoch;
    pthread_mutex_unlock(&t->lock);
    if (lost)
        return TRANSPORT_FAILED;
    if (refused)
        return TRANSPORT_REFUSED;
    return complete ? TRANSPORT_DELIVERED : TRANSPORT_PENDING;
}

void transport_wait(struct transport *t, uint64_t *seen, int64_t timeout_us)
{
    int64_t deadline = clock_mono_us() + timeout_us;
    pthread_mutex_lock(&t->lock);
    while (t->events == *seen && transport__wait_until_locked(t, deadline))
        ;
    *seen = t->events;
    pthread_mutex_unlock(&t->lock);
}

void transport_wake(struct transport *t)
{
    pthread_mutex_lock(&t->lock);
    transport__bump_locked(t);
    pthread_mutex_unlock(&t->lock);
}

enum es_err transport_flush(struct transport *t, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    uint64_t seen = 0;
    for (;;) {
        MQTTAsync_token *tokens = NULL;
        pthread_rwlock_rdlock(&t->client_lock);
        int rc = MQTTAsync_getPendingTokens(t->client, &tokens);
        pthread_rwlock_unlock(&t->client_lock);
        bool idle = rc == MQTTASYNC_SUCCESS && (!tokens || tokens[0] == -1);
        MQTTAsync_free(tokens);
        if (idle)
            return ES_OK;
        if (!transport_connected(t))
            return ES_ECONNECT;
        int64_t left = deadline - clock_mono_us();
        if (left <= 0)
            return ES_ETIMEDOUT;
        transport_wait(t, &seen, left);
    }
}

/* Publishes the online status as t->self is now, when connected. */
static enum es_err republish(struct transport *t)
{
    pthread_mutex_lock(&t->lock);
    struct status_info s = t->self;
    bool connected = t->connected;
    pthread_mutex_unlock(&t->lock);
    s.online = true;
    char *msg = status_dump(&s);
    if (!msg)
        return ES_ENOMEM;
    if (connected)
        transport_publish(t, t->status_topic, msg, strlen(msg), 1, true);
    free(msg);
    return ES_OK;
}

enum es_err transport_set_stages(struct transport *t, uint32_t stages)
{
    pthread_mutex_lock(&t->lock);
    t->self.has_stages = true;
    t->self.stages = stages;
    pthread_mutex_unlock(&t->lock);
    return republish(t);
}

enum es_err transport_set_load(struct transport *t, double capacity_cpu_s, double used_cpu_s,
                               bool saturated)
{
    if (!(isfinite(capacity_cpu_s) && capacity_cpu_s >= 0 && isfinite(used_cpu_s) &&
          used_cpu_s >= 0))
        return ES_EINVAL;
    pthread_mutex_lock(&t->lock);
    t->self.has_load = true;
    t->self.capacity_cpu_s = capacity_cpu_s;
    t->self.used_cpu_s = used_cpu_s;
    t->self.saturated = saturated;
    pthread_mutex_unlock(&t->lock);
    return republish(t);
}

bool transport_connected(const struct transport *t)
{
    struct transport *m = (struct transport *)t; /* the lock is not part of the value */
    pthread_mutex_lock(&m->lock);
    bool c = m->connected;
    pthread_mutex_unlock(&m->lock);
    return c;
}

bool transport_taken_over(const struct transport *t)
{
    struct transport *m = (struct transport *)t;
    pthread_mutex_lock(&m->lock);
    bool v = m->taken_over;
    pthread_mutex_unlock(&m->lock);
    return v;
}

uint64_t transport_epoch(const struct transport *t)
{
    struct transport *m = (struct transport *)t;
    pthread_mutex_lock(&m->lock);
    uint64_t e = m->epoch;
    pthread_mutex_unlock(&m->lock);
    return e;
}

const char *transport_uri(const struct transport *t)
{
    return t->uri;
}

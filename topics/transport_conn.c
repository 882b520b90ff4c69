/* The transport's connection settings: the broker list, the connect options for MQTT 5 or 3.1.1,
 * and the Paho callbacks that differ between the two versions (Paho takes the "5" callbacks
 * only from an MQTT 5 client, the others only from an older one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "transport_impl.h"

enum es_err transport__servers(struct transport *t)
{
    const struct transport_opts *o = &t->o;
    int port = o->port ? o->port : (o->tls ? 8883 : 1883);
    if (broker_list_parse(o->host, port, t->servers, BROKER_LIST_MAX, &t->nservers) != ES_OK) {
        log_msg(LOG_ERROR, "MQTT-OPTS",
                "invalid broker list '%s': expected HOST[:PORT][,HOST[:PORT]...], at most %d",
                o->host, BROKER_LIST_MAX);
        return ES_EINVAL;
    }
    t->port = t->servers[0].port;
    size_t used = 0;
    for (int i = 0; i < t->nservers; i++) {
        broker_uri(&t->servers[i], o->tls, t->uris[i], sizeof t->uris[i]);
        t->uri_ptrs[i] = t->uris[i];
        used +=
            (size_t)snprintf(t->uri + used, sizeof t->uri - used, "%s%s", i ? "," : "", t->uris[i]);
        if (used >= sizeof t->uri)
            used = sizeof t->uri - 1;
    }
    return ES_OK;
}

/* The connect succeeded; on_connected, which Paho calls next, finishes t->conn once the
 * connection is usable. */
static void conn_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
    (void)ctx;
    (void)resp;
}

static void conn_ok3(void *ctx, MQTTAsync_successData *resp)
{
    (void)ctx;
    (void)resp;
}

/* A failed MQTT 5 connect: the broker's refusal in words when it answered, else Paho's text
 * (the first connect adds the TLS or network cause). */
static void conn_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
    struct transport *t = ctx;
    char why[160];
    /* Paho 1.3.12 hands a refusing CONNACK's reason code in code, not in reasonCode */
    int reason = resp ? (resp->reasonCode ? (int)resp->reasonCode : resp->code) : 0;
    if (reason >= MQTTREASONCODE_UNSPECIFIED_ERROR && reason <= 0xA2)
        snprintf(why, sizeof why, "refused by the broker: %s",
                 MQTTReasonCode_toString((enum MQTTReasonCodes)reason));
    else
        snprintf(why, sizeof why, "%s", transport__failure_text(resp));
    transport__finish(t, &t->conn, -1, why);
}

/* A failed MQTT 3.1.1 connect: CONNACK return codes 1 to 5 in words. */
static void conn_fail3(void *ctx, MQTTAsync_failureData *resp)
{
    static const char *const refusals[] = {
        NULL,
        "unacceptable protocol version",
        "client identifier rejected",
        "server unavailable",
        "bad user name or password",
        "not authorized",
    };
    struct transport *t = ctx;
    char why[160];
    if (resp && resp->code >= 1 && resp->code <= 5)
        snprintf(why, sizeof why, "refused by the broker: %s", refusals[resp->code]);
    else
        snprintf(why, sizeof why, "%s",
                 resp && resp->message ? resp->message
                                       : MQTTAsync_strerror(resp ? resp->code : -1));
    transport__finish(t, &t->conn, -1, why);
}

static void req_ok3(void *ctx, MQTTAsync_successData *resp)
{
    struct transport *t = ctx;
    if (resp && resp->alt.qos == 0x80) /* a subscription the broker refused */
        transport__finish(t, &t->req, -1, "refused by the broker");
    else
        transport__finish(t, &t->req, 1, NULL);
}

static void req_fail3(void *ctx, MQTTAsync_failureData *resp)
{
    struct transport *t = ctx;
    transport__finish(t, &t->req, -1,
                      resp && resp->message ? resp->message
                                            : MQTTAsync_strerror(resp ? resp->code : -1));
}

static void publish_fail3(void *ctx, MQTTAsync_failureData *resp)
{
    struct transport *t = ctx;
    transport__record_refused(t, resp ? resp->token : 0);
}

static void publish_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
    struct transport *t = ctx;
    transport__record_refused(t, resp ? resp->token : 0);
}

void transport__request_callbacks(struct transport *t, MQTTAsync_responseOptions *ro)
{
    if (t->v5) {
        ro->onSuccess5 = transport__req_ok;
        ro->onFailure5 = transport__req_fail;
    } else {
        ro->onSuccess = req_ok3;
        ro->onFailure = req_fail3;
    }
    ro->context = t;
}

void transport__publish_callbacks(struct transport *t, MQTTAsync_responseOptions *ro)
{
    if (t->v5)
        ro->onFailure5 = publish_fail5;
    else
        ro->onFailure = publish_fail3;
    ro->context = t;
}

void transport__disconnect_options(struct transport *t, MQTTAsync_disconnectOptions *dc)
{
    if (t->v5) {
        *dc = (MQTTAsync_disconnectOptions)MQTTAsync_disconnectOptions_initializer5;
        dc->onSuccess5 = transport__req_ok;
        dc->onFailure5 = transport__req_fail;
    } else {
        *dc = (MQTTAsync_disconnectOptions)MQTTAsync_disconnectOptions_initializer;
        dc->onSuccess = req_ok3;
        dc->onFailure = req_fail3;
    }
    dc->timeout = 2000;
    dc->context = t;
}

/* The will and the TLS settings, the same for both versions. */
static void will_and_tls(struct transport *t)
{
    const struct transport_opts *o = &t->o;
    t->will = (MQTTAsync_willOptions)MQTTAsync_willOptions_initializer;
    t->will.topicName = t->status_topic;
    t->will.message = t->offline;
    t->will.retained = 1;
    t->will.qos = 1;
    t->ssl = (MQTTAsync_SSLOptions)MQTTAsync_SSLOptions_initializer;
    t->ssl.trustStore = o->cafile;
    t->ssl.keyStore = o->certfile;
    t->ssl.privateKey = o->keyfile;
    t->ssl.verify = o->tls_no_hostname || o->tls_no_verify ? 0 : 1;
    t->ssl.enableServerCertAuth = o->tls_no_verify ? 0 : 1;
    t->ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    t->ssl.ssl_error_cb = transport__tls_error;
    t->ssl.ssl_error_context = t;
}

void transport__connect_options(struct transport *t)
{
    const struct transport_opts *o = &t->o;
    will_and_tls(t);
    MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer;
    if (t->v5) {
        cn = (MQTTAsync_connectOptions)MQTTAsync_connectOptions_initializer5;
        cn.cleanstart = o->session_expiry_s > 0 ? 0 : 1;
        if (o->session_expiry_s > 0 && t->connect_props.count == 0) {
            MQTTProperty expiry = {.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL};
            expiry.value.integer4 = (unsigned)o->session_expiry_s;
            MQTTProperties_add(&t->connect_props, &expiry);
        }
        cn.connectProperties = o->session_expiry_s > 0 ? &t->connect_props : NULL;
        cn.onSuccess5 = conn_ok5;
        cn.onFailure5 = conn_fail5;
    } else {
        cn.MQTTVersion = MQTTVERSION_3_1_1;
        cn.cleansession = o->session_expiry_s > 0 ? 0 : 1;
        cn.onSuccess = conn_ok3;
        cn.onFailure = conn_fail3;
    }
    cn.keepAliveInterval = o->keepalive_s > 0 ? o->keepalive_s : 20;
    cn.will = &t->will;
    cn.username = o->username;
    cn.password = t->password ? t->password : o->password;
    cn.connectTimeout = o->connect_timeout_s > 0 ? o->connect_timeout_s : 5;
    cn.ssl = o->tls ? &t->ssl : NULL;
    cn.automaticReconnect = 0; /* reconnector_main does it, with a faster first retry */
    cn.serverURIs = t->nservers > 1 ? t->uri_ptrs : NULL;
    cn.serverURIcount = t->nservers > 1 ? t->nservers : 0;
    cn.context = t;
    t->cn = cn;
}

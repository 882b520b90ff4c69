/* Internals of the MQTT transport shared by transport.c (the connection: connect, reconnect,
 * status, close) and transport_io.c (subscriptions, publishing, acknowledgements). Not for
 * other modules. */
#ifndef ES_TRANSPORT_IMPL_H
#define ES_TRANSPORT_IMPL_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <sys/socket.h>

#include "broker_list.h"
#include "status.h"
#include "topic.h"
#include "backoff.h"
#include "transport.h"

#define MAX_SUBS 16
#define MAX_BUFFERED 100000
#define MAX_PEERS 8
#define FAILED_RING 64
#define REQUEST_TIMEOUT_MS 10000

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
    /* Paho's client. The reconnecting thread replaces it before each reconnect attempt (a fresh
     * client gets Paho's threads going at once; an old one notices a new socket only after its
     * receive thread's one-second poll). Other threads call Paho under client_lock's read
     * side; Paho's own callbacks use the client directly: it is never replaced while connected
     * or while a connect attempt is still running. */
    MQTTAsync client;
    pthread_rwlock_t client_lock;
    struct transport_opts o;
    char uri[BROKER_LIST_MAX * 300]; /* the brokers' URIs, comma-separated, for messages */
    int port;                        /* the first broker's */
    struct broker_addr servers[BROKER_LIST_MAX];
    int nservers;
    char uris[BROKER_LIST_MAX][300];
    char *uri_ptrs[BROKER_LIST_MAX];          /* Paho's serverURIs */
    bool v5;                                  /* speaks MQTT 5 (else 3.1.1) */
    struct sockaddr_storage peers[MAX_PEERS]; /* the broker's addresses, to find Paho's socket */
    int npeers;
    char status_topic[TOPIC_MAX];
    char *offline; /* the last will */
    MQTTAsync_willOptions will;
    MQTTAsync_SSLOptions ssl;
    MQTTAsync_connectOptions cn;
    MQTTProperties connect_props;
    char *password;           /* read from o.password_file; wiped and freed at close */
    char tls_error[200];      /* the last TLS error OpenSSL reported (guarded by lock) */
    pthread_mutex_t req_lock; /* one caller at a time uses req */
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t cond;
    struct status_info self;
    uint64_t rng;
    bool connected, closing, taken_over;
    uint64_t epoch;  /* successful connections */
    uint64_t events; /* acknowledgements, refusals and connection changes */
    int attempts;    /* reconnect attempts since the connection was lost */
    int64_t down_since_us;
    struct pending conn; /* the connect in progress */
    struct pending req;  /* subscribe, unsubscribe, disconnect */
    struct subscription subs[MAX_SUBS];
    int nsubs;
    struct transport_ticket failed[FAILED_RING];
    unsigned nfailed;
    pthread_t reconnector;
    bool reconnector_started;
};

/* Counts an event and wakes every waiter; t->lock held. */
void transport__bump_locked(struct transport *t);

/* Waits (t->lock held) on t->cond until deadline_us (clock_mono_us); false once it passed. */
bool transport__wait_until_locked(struct transport *t, int64_t deadline_us);

/* Waits up to timeout_ms for request p; returns its state (0 on timeout) and copies its reason
 * into why (may be NULL). */
int transport__wait_request(struct transport *t, struct pending *p, int timeout_ms, char *why,
                            size_t whylen);

/* Paho callbacks that finish t->req. */
void transport__req_ok(void *ctx, MQTTAsync_successData5 *resp);
void transport__req_fail(void *ctx, MQTTAsync_failureData5 *resp);

/* Records the token of a ticketed publish the broker refused. */
void transport__record_refused(struct transport *t, int token);

/* Finishes request p with state (1 succeeded, -1 failed) and the reason why. */
void transport__finish(struct transport *t, struct pending *p, int state, const char *why);

/* Paho's text for a failure of an MQTT 5 request. */
const char *transport__failure_text(const MQTTAsync_failureData5 *resp);

/* transport_conn.c */

/* Parses t->o.host (a broker list) into t->servers, t->uris and t->uri. ES_EINVAL (logged). */
enum es_err transport__servers(struct transport *t);

/* Fills t->cn (and the will and TLS settings) for the version t->v5 says. */
void transport__connect_options(struct transport *t);

/* Sets the callbacks of a request on t->req (subscribe, unsubscribe) for t's version. */
void transport__request_callbacks(struct transport *t, MQTTAsync_responseOptions *ro);

/* Sets the refusal callback of a ticketed publish for t's version. */
void transport__publish_callbacks(struct transport *t, MQTTAsync_responseOptions *ro);

/* Disconnect options for t's version, finishing t->req. */
void transport__disconnect_options(struct transport *t, MQTTAsync_disconnectOptions *dc);

/* transport_auth.c */

/* OpenSSL's error callback (ERR_print_errors_cb): keeps the last error in t->tls_error. */
int transport__tls_error(const char *str, size_t len, void *u);

/* Reads the first line of path into t->password. ES_EINVAL (logged, naming the file) when it
 * cannot be read or is empty; ES_ENOMEM. */
enum es_err transport__read_password(struct transport *t, const char *path);

/* Logs one warning per weak setting: credentials without TLS, TLS without verification. */
void transport__warn_weak(const struct transport *t);

/* Replaces why (n bytes), Paho's text for a failed first connect, with the cause when it lies
 * below MQTT: nothing listening or the host unreachable (a plain TCP connect says which), or
 * the TLS error. A refusal by the broker is left as it is. */
void transport__explain_failure(struct transport *t, char *why, size_t n);

#endif

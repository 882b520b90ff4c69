/* The publisher of mqtt_pub.h: MQTT 3.1.1 packets (CONNECT, PUBLISH, PINGREQ, DISCONNECT out;
 * CONNACK, PUBACK, PINGRESP in), the states of a connection, and one epoll loop over all. */
#include "mqtt_pub.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "broker_list.h"
#include "clock.h"
#include "log.h"

#define EPS_PER_BROKER 4 /* addresses kept of each broker's name */
#define EPS_MAX (BROKER_LIST_MAX * EPS_PER_BROKER)
#define EVENTS_MAX 256
#define OUT_MAX (1u << 20)        /* buffered bytes past which a connection refuses publishes */
#define OUT_KEEP (64u << 10)      /* a drained output buffer larger than this is freed */
#define INFLIGHT_MAX 65535u       /* packet ids of one connection */
#define REMAINING_MAX 268435455u  /* the largest remaining length MQTT can encode */
#define BODY_KEEP 4               /* bytes kept of an incoming packet's body: all that is read */
#define SWEEP_CONNECTING_US 20000 /* connect deadlines are checked this often */
#define SWEEP_US 1000000          /* keepalives are checked this often */
#define FAIL_KINDS 8              /* distinct causes of failure reported */
#define WHY_CONNACK 100000        /* why: a CONNACK refusal, plus its return code */
#define WHY_CLOSED 200000         /* why: the broker closed the connection */
#define WHY_NO_PINGRESP 200001    /* why: no PINGRESP within the keepalive */

/* Control packet types, the high nibble of a packet's first byte. */
enum { PKT_CONNECT = 1, PKT_CONNACK, PKT_PUBLISH, PKT_PUBACK, PKT_PINGREQ = 12, PKT_PINGRESP };
enum { PKT_DISCONNECT = 14 };

enum conn_state {
    CS_NEW,     /* added, not started */
    CS_TCP,     /* non-blocking TCP connect in progress */
    CS_CONNACK, /* CONNECT sent, waiting for CONNACK */
    CS_UP,      /* CONNACK accepted: publishing */
    CS_CLOSING, /* DISCONNECT queued: waiting for the bytes to go and the broker to close */
    CS_FAILED,  /* never came up, on any address */
    CS_DOWN,    /* lost after coming up, or closed */
};

struct endpoint {
    struct sockaddr_storage addr;
    socklen_t len;
    char uri[BROKER_HOST_MAX + 20]; /* "tcp://127.0.0.1:1883", for messages */
};

/* Bytes a write could not take yet: data[off..len). */
struct outbuf {
    uint8_t *data;
    size_t off, len, cap;
};

/* The incoming packet being read: its fixed header, then its body (the first BODY_KEEP bytes
 * kept, the rest skipped). */
struct inpkt {
    uint8_t type;    /* the first byte */
    uint8_t hdr_len; /* bytes of the fixed header read (1 + length bytes) */
    bool hdr_done;   /* the remaining length is complete */
    uint32_t rem;    /* remaining length */
    uint32_t got;    /* bytes of the body read */
    uint32_t shift;  /* of the next length byte */
    uint8_t body[BODY_KEEP];
};

struct conn {
    char id[MQTT_PUB_ID_MAX + 1];
    int fd;       /* -1 when closed */
    uint32_t gen; /* bumped with every socket: marks an epoll event of an older one */
    enum conn_state st;
    unsigned first_ep, tries; /* first endpoint to try; attempts made */
    bool watch_out;           /* EPOLLOUT is in the epoll set */
    bool ping_out;            /* a PINGREQ awaits its PINGRESP */
    uint16_t next_id;
    uint32_t inflight; /* QoS 1 publishes without PUBACK */
    int64_t deadline_us, last_send_us, ping_us;
    int why; /* the last attempt's failure: an errno or a WHY_ code */
    struct outbuf out;
    struct inpkt in;
};

struct fail_kind {
    int why;
    unsigned ep;
    size_t count, example;
};

struct mqtt_pub {
    struct mqtt_pub_opts o; /* its strings are the copies below */
    char *hosts, *username, *password;
    struct endpoint ep[EPS_MAX];
    unsigned nep, nbrokers, broker_first[BROKER_LIST_MAX];
    int epfd;
    struct conn *c;
    size_t n, cap;
    bool started;
    size_t connecting;  /* connections in CS_TCP or CS_CONNACK */
    size_t closing;     /* connections in CS_CLOSING */
    size_t pending_out; /* connections with buffered bytes */
    uint64_t inflight;  /* QoS 1 publishes without PUBACK, on connections up */
    int64_t next_sweep_us;
    struct fail_kind fail[FAIL_KINDS];
    size_t fail_other;
    struct mqtt_pub_stats s;
    struct log_limit lost_log;
};

static bool stopped(const struct mqtt_pub *p)
{
    return p->o.stop && *p->o.stop;
}

static bool connecting(enum conn_state s)
{
    return s == CS_TCP || s == CS_CONNACK;
}

/* Moves c to st, keeping the counts of connections per state. */
static void set_state(struct mqtt_pub *p, struct conn *c, enum conn_state st)
{
    p->connecting -= connecting(c->st);
    p->s.up -= c->st == CS_UP;
    p->closing -= c->st == CS_CLOSING;
    c->st = st;
    p->connecting += connecting(st);
    p->s.up += st == CS_UP;
    p->closing += st == CS_CLOSING;
}

static const char *why_text(int why, char *buf, size_t n)
{
    static const char *const connack[] = {"",
                                          "unacceptable protocol version",
                                          "identifier rejected",
                                          "server unavailable",
                                          "bad user name or password",
                                          "not authorized"};
    if (why == WHY_CLOSED)
        return "closed by the broker";
    if (why == WHY_NO_PINGRESP)
        return "no PINGRESP within the keepalive";
    if (why > WHY_CONNACK && why < WHY_CLOSED) {
        int rc = why - WHY_CONNACK;
        snprintf(buf, n, "refused by the broker: %s (CONNACK code %d)",
                 rc < 6 ? connack[rc] : "unknown reason", rc);
        return buf;
    }
    return strerror(why);
}

/* Writes MQTT's variable-length encoding of v (at most REMAINING_MAX) into b; its length. */
static size_t put_varint(uint8_t *b, uint32_t v)
{
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 127);
        v >>= 7;
        if (v)
            b[n] |= 128;
        n++;
    } while (v);
    return n;
}

/* Writes a two-byte length and s (at most 65,535 bytes) into b; the bytes written. */
static size_t put_str(uint8_t *b, const char *s, size_t len)
{
    b[0] = (uint8_t)(len >> 8);
    b[1] = (uint8_t)len;
    memcpy(b + 2, s, len);
    return 2 + len;
}

/* Sets the epoll events of c: always EPOLLIN, EPOLLOUT when out. */
static void watch(struct mqtt_pub *p, struct conn *c, bool out)
{
    if (c->watch_out == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.u64 = ((uint64_t)c->gen << 32) | (uint64_t)(c - p->c)};
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->watch_out = out;
}

/* Closes c's socket and drops what it had buffered or half read. */
static void close_fd(struct mqtt_pub *p, struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->out.len > c->out.off)
        p->pending_out--;
    c->out.off = c->out.len = 0;
    c->watch_out = false;
    c->ping_out = false;
    c->in = (struct inpkt){0};
}

static void record_failure(struct mqtt_pub *p, struct conn *c)
{
    unsigned ep = (c->first_ep + c->tries - 1) % p->nep;
    for (unsigned i = 0; i < FAIL_KINDS; i++) {
        struct fail_kind *k = &p->fail[i];
        if (k->count && (k->why != c->why || k->ep != ep))
            continue;
        if (!k->count)
            *k = (struct fail_kind){c->why, ep, 0, (size_t)(c - p->c)};
        k->count++;
        return;
    }
    p->fail_other++;
}

static void start_attempt(struct mqtt_pub *p, struct conn *c);

/* The attempt in progress failed for why: the next address, or the connection fails. */
static void attempt_failed(struct mqtt_pub *p, struct conn *c, int why)
{
    c->why = why;
    close_fd(p, c);
    start_attempt(p, c);
}

/* c's socket failed or closed (why): an attempt failed, a connection was lost or closed. */
static void conn_lost(struct mqtt_pub *p, struct conn *c, int why)
{
    char buf[96];
    if (connecting(c->st)) {
        attempt_failed(p, c, why);
        return;
    }
    if (c->st == CS_UP) {
        p->s.lost++;
        log_limited(&p->lost_log, LOG_WARN, "MQTTPUB-LOST", "connection %s to %s lost: %s", c->id,
                    p->ep[(c->first_ep + c->tries - 1) % p->nep].uri,
                    why_text(why, buf, sizeof buf));
    }
    p->inflight -= c->inflight;
    c->inflight = 0;
    close_fd(p, c);
    set_state(p, c, CS_DOWN);
}

/* Appends n bytes to c's output buffer; false when out of memory. */
static bool out_append(struct outbuf *o, const void *data, size_t n)
{
    if (n == 0)
        return true;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d)
            return false;
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, data, n);
    o->len += n;
    return true;
}

/* Sends iov[0..n) on c: what the socket takes now, the rest into c's output buffer (behind
 * what is there already). ES_ECONNECT when the socket failed (c is then lost). */
static enum es_err conn_send(struct mqtt_pub *p, struct conn *c, struct iovec *iov, int n)
{
    bool was_empty = c->out.len == c->out.off;
    ssize_t w = 0;
    if (was_empty) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_lost(p, c, errno);
            return ES_ECONNECT;
        }
        w = w < 0 ? 0 : w;
    }
    for (int i = 0; i < n; i++) {
        size_t skip = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
        w -= (ssize_t)skip;
        if (!out_append(&c->out, (const uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip)) {
            conn_lost(p, c, ENOMEM);
            return ES_ECONNECT;
        }
    }
    if (was_empty && c->out.len > c->out.off) {
        p->pending_out++;
        watch(p, c, true);
    }
    c->last_send_us = clock_mono_us();
    return ES_OK;
}

/* Writes what c has buffered, as far as the socket takes it. */
static void flush_out(struct mqtt_pub *p, struct conn *c)
{
    struct outbuf *o = &c->out;
    if (o->len == o->off)
        return;
    ssize_t w = send(c->fd, o->data + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_lost(p, c, errno);
        return;
    }
    o->off += (size_t)w;
    if (o->off < o->len)
        return;
    o->off = o->len = 0;
    p->pending_out--;
    watch(p, c, false);
    if (o->cap > OUT_KEEP) {
        free(o->data);
        *o = (struct outbuf){0};
    }
    if (c->st == CS_CLOSING)
        shutdown(c->fd, SHUT_WR);
}

/* Sends CONNECT on c, whose TCP connection is up. */
static void send_connect(struct mqtt_pub *p, struct conn *c)
{
    uint8_t b[16 + 3 * (2 + MQTT_PUB_CRED_MAX)];
    size_t idlen = strlen(c->id), ulen = p->username ? strlen(p->username) : 0;
    size_t plen = p->username && p->password ? strlen(p->password) : 0;
    bool pass = p->username && p->password;
    uint32_t rem =
        (uint32_t)(10 + 2 + idlen + (p->username ? 2 + ulen : 0) + (pass ? 2 + plen : 0));
    size_t h = 0;
    b[h++] = PKT_CONNECT << 4;
    h += put_varint(b + h, rem);
    h += put_str(b + h, "MQTT", 4);
    b[h++] = 4; /* protocol level 3.1.1 */
    b[h++] = (uint8_t)(0x02 | (p->username ? 0x80 : 0) | (pass ? 0x40 : 0)); /* clean session */
    b[h++] = (uint8_t)(p->o.keepalive_s >> 8);
    b[h++] = (uint8_t)p->o.keepalive_s;
    h += put_str(b + h, c->id, idlen);
    if (p->username)
        h += put_str(b + h, p->username, ulen);
    if (pass)
        h += put_str(b + h, p->password, plen);
    struct iovec iov = {b, h};
    conn_send(p, c, &iov, 1);
}

/* c's non-blocking connect finished: CONNECT if it succeeded, else the next address. */
static void tcp_done(struct mqtt_pub *p, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        attempt_failed(p, c, err);
        return;
    }
    set_state(p, c, CS_CONNACK);
    watch(p, c, false);
    send_connect(p, c);
}

/* Starts c's next attempt: a non-blocking connect to its next address, or, after the last
 * address, marks c failed. */
static void start_attempt(struct mqtt_pub *p, struct conn *c)
{
    while (c->tries < p->nep) {
        const struct endpoint *e = &p->ep[(c->first_ep + c->tries++) % p->nep];
        int fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            c->why = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->gen++;
        struct epoll_event ev = {.events = EPOLLOUT,
                                 .data.u64 = ((uint64_t)c->gen << 32) | (uint64_t)(c - p->c)};
        int r = connect(fd, (const struct sockaddr *)&e->addr, e->len);
        if ((r == 0 || errno == EINPROGRESS) && epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
            c->watch_out = true;
            c->deadline_us = clock_mono_us() + (int64_t)p->o.connect_timeout_ms * 1000;
            set_state(p, c, CS_TCP);
            if (r == 0)
                tcp_done(p, c);
            return;
        }
        c->why = errno;
        close_fd(p, c);
    }
    set_state(p, c, CS_FAILED);
    p->s.failed++;
    record_failure(p, c);
}

/* One complete incoming packet of c. False when c was closed for it. */
static bool dispatch(struct mqtt_pub *p, struct conn *c)
{
    const struct inpkt *in = &c->in;
    switch (in->type >> 4) {
    case PKT_CONNACK:
        if (c->st != CS_CONNACK || in->rem != 2) {
            conn_lost(p, c, EPROTO);
            return false;
        }
        if (in->body[1] != 0) {
            attempt_failed(p, c, WHY_CONNACK + in->body[1]);
            return false;
        }
        set_state(p, c, CS_UP);
        return true;
    case PKT_PUBACK:
        if (in->rem < 2) {
            conn_lost(p, c, EPROTO);
            return false;
        }
        if (c->inflight) {
            c->inflight--;
            p->inflight--;
        }
        p->s.acked++;
        return true;
    case PKT_PINGRESP:
        c->ping_out = false;
        return true;
    default: /* nothing else is expected: skipped */
        return true;
    }
}

/* Feeds n bytes read from c to the packet reader. False when c was closed. */
static bool feed(struct mqtt_pub *p, struct conn *c, const uint8_t *b, size_t n)
{
    struct inpkt *in = &c->in;
    size_t i = 0;
    while (i < n) {
        if (in->hdr_len == 0) {
            in->type = b[i++];
            in->hdr_len = 1;
            continue;
        }
        if (!in->hdr_done) {
            uint8_t v = b[i++];
            in->rem |= (uint32_t)(v & 127) << in->shift;
            in->shift += 7;
            in->hdr_done = !(v & 128);
            if (!in->hdr_done && ++in->hdr_len == 5) {
                conn_lost(p, c, EPROTO); /* a fifth length byte: not MQTT */
                return false;
            }
        } else {
            size_t take = n - i < in->rem - in->got ? n - i : in->rem - in->got;
            for (size_t k = 0; k < take && in->got + k < BODY_KEEP; k++)
                in->body[in->got + k] = b[i + k];
            in->got += (uint32_t)take;
            i += take;
        }
        if (in->hdr_done && in->got == in->rem) {
            if (!dispatch(p, c))
                return false;
            c->in = (struct inpkt){0};
        }
    }
    return true;
}

/* Reads what c's socket has. False when c was closed. */
static bool conn_read(struct mqtt_pub *p, struct conn *c)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            conn_lost(p, c, r == 0 ? WHY_CLOSED : errno);
            return false;
        }
        if (!feed(p, c, buf, (size_t)r))
            return false;
        if ((size_t)r < sizeof buf)
            return true;
    }
}

static void on_event(struct mqtt_pub *p, const struct epoll_event *ev)
{
    size_t i = (uint32_t)ev->data.u64;
    if (i >= p->n)
        return;
    struct conn *c = &p->c[i];
    if (c->fd < 0 || c->gen != (uint32_t)(ev->data.u64 >> 32))
        return; /* an event of a socket closed in the meantime */
    if (c->st == CS_TCP) {
        tcp_done(p, c);
        return;
    }
    if ((ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_read(p, c))
        return;
    if (ev->events & EPOLLOUT)
        flush_out(p, c);
}

/* Connect deadlines and keepalives of every connection. */
static void sweep(struct mqtt_pub *p, int64_t now)
{
    int64_t ka = (int64_t)p->o.keepalive_s * 1000000;
    static const uint8_t pingreq[2] = {PKT_PINGREQ << 4, 0};
    for (size_t i = 0; i < p->n; i++) {
        struct conn *c = &p->c[i];
        if (connecting(c->st) && now >= c->deadline_us) {
            attempt_failed(p, c, ETIMEDOUT);
        } else if (c->st == CS_UP && c->ping_out && now - c->ping_us >= ka) {
            conn_lost(p, c, WHY_NO_PINGRESP);
        } else if (c->st == CS_UP && !c->ping_out && now - c->last_send_us >= ka / 4 * 3) {
            struct iovec iov = {(void *)pingreq, sizeof pingreq};
            if (conn_send(p, c, &iov, 1) == ES_OK) {
                c->ping_out = true;
                c->ping_us = now;
            }
        }
    }
    p->next_sweep_us = now + (p->connecting ? SWEEP_CONNECTING_US : SWEEP_US);
}

void mqtt_pub_poll(struct mqtt_pub *p, int64_t timeout_us)
{
    struct epoll_event ev[EVENTS_MAX];
    int64_t now = clock_mono_us();
    int64_t until_sweep = p->next_sweep_us - now;
    if (timeout_us > until_sweep)
        timeout_us = until_sweep < 0 ? 0 : until_sweep + 999;
    int ms = timeout_us <= 0 ? 0 : timeout_us / 1000 > INT_MAX ? INT_MAX : (int)(timeout_us / 1000);
    /* a full batch may leave more ready: take a few more without waiting */
    for (int round = 0, n = EVENTS_MAX; n == EVENTS_MAX && round < 16; round++, ms = 0) {
        n = epoll_wait(p->epfd, ev, EVENTS_MAX, ms);
        for (int i = 0; i < n; i++)
            on_event(p, &ev[i]);
    }
    now = clock_mono_us();
    if (now >= p->next_sweep_us)
        sweep(p, now);
}

/* Resolves broker b of the list into endpoints. */
static enum es_err resolve(struct mqtt_pub *p, const struct broker_addr *b)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", b->port);
    int rc = getaddrinfo(b->host, port, &hints, &res);
    if (rc != 0) {
        log_msg(LOG_ERROR, "MQTTPUB-RESOLVE", "cannot resolve broker %s: %s", b->host,
                gai_strerror(rc));
        return ES_ECONNECT;
    }
    p->broker_first[p->nbrokers++] = p->nep;
    unsigned kept = 0;
    for (struct addrinfo *a = res; a && kept < EPS_PER_BROKER; a = a->ai_next) {
        struct endpoint *e = &p->ep[p->nep];
        struct broker_addr num = {.port = b->port};
        if (a->ai_addrlen > sizeof e->addr ||
            getnameinfo(a->ai_addr, a->ai_addrlen, num.host, sizeof num.host, NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        memcpy(&e->addr, a->ai_addr, a->ai_addrlen);
        e->len = a->ai_addrlen;
        broker_uri(&num, false, e->uri, sizeof e->uri);
        p->nep++;
        kept++;
    }
    freeaddrinfo(res);
    if (kept == 0) {
        log_msg(LOG_ERROR, "MQTTPUB-RESOLVE", "broker %s has no usable address", b->host);
        return ES_ECONNECT;
    }
    return ES_OK;
}

/* Checks o; ES_EINVAL (logged) when a value is out of range. */
static enum es_err check_opts(const struct mqtt_pub_opts *o)
{
    const char *why = NULL;
    if (!o->hosts)
        why = "no broker given";
    else if (o->qos < 0 || o->qos > 1)
        why = "QoS must be 0 or 1";
    else if (o->keepalive_s < 0 || o->keepalive_s > 65535 || o->connect_timeout_ms < 0 ||
             o->connect_window < 0 || o->port < 0 || o->port > 65535)
        why = "keepalive, connect timeout, window or port out of range";
    else if ((o->username && strlen(o->username) > MQTT_PUB_CRED_MAX) ||
             (o->password && strlen(o->password) > MQTT_PUB_CRED_MAX))
        why = "user name or password longer than 256 bytes";
    else if (o->password && !o->username)
        why = "a password needs a user name in MQTT 3.1.1";
    if (why)
        log_msg(LOG_ERROR, "MQTTPUB-OPTS", "%s", why);
    return why ? ES_EINVAL : ES_OK;
}

enum es_err mqtt_pub_new(const struct mqtt_pub_opts *opts, struct mqtt_pub **out)
{
    struct broker_addr addr[BROKER_LIST_MAX];
    int nb = 0;
    *out = NULL;
    enum es_err err = check_opts(opts);
    if (err != ES_OK)
        return err;
    struct mqtt_pub *p = calloc(1, sizeof *p);
    if (!p)
        return ES_ENOMEM;
    p->epfd = -1;
    p->o = *opts;
    p->o.keepalive_s = opts->keepalive_s ? opts->keepalive_s : 60;
    p->o.connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
    p->o.connect_window = opts->connect_window ? opts->connect_window : 128;
    p->lost_log = (struct log_limit){.period_us = 1000000, .burst = 5};
    p->hosts = strdup(opts->hosts);
    p->username = opts->username ? strdup(opts->username) : NULL;
    p->password = opts->password ? strdup(opts->password) : NULL;
    err = ES_ENOMEM;
    if (!p->hosts || (opts->username && !p->username) || (opts->password && !p->password))
        goto cleanup;
    err = broker_list_parse(p->hosts, opts->port ? opts->port : 1883, addr, BROKER_LIST_MAX, &nb);
    if (err != ES_OK) {
        log_msg(LOG_ERROR, "MQTTPUB-OPTS", "bad broker list '%s': %s", p->hosts, es_strerror(err));
        goto cleanup;
    }
    for (int i = 0; i < nb && err == ES_OK; i++)
        err = resolve(p, &addr[i]);
    if (err != ES_OK)
        goto cleanup;
    err = ES_EIO;
    if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        log_msg(LOG_ERROR, "MQTTPUB-EPOLL", "cannot create an epoll instance: %s", strerror(errno));
        goto cleanup;
    }
    *out = p;
    return ES_OK;
cleanup:
    mqtt_pub_free(p);
    return err;
}

enum es_err mqtt_pub_add(struct mqtt_pub *p, const char *client_id, size_t *index)
{
    size_t len = client_id ? strlen(client_id) : 0;
    if (p->started || len < 1 || len > MQTT_PUB_ID_MAX || p->n >= UINT32_MAX)
        return ES_EINVAL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct conn *c = realloc(p->c, cap * sizeof *c);
        if (!c)
            return ES_ENOMEM;
        p->c = c;
        p->cap = cap;
    }
    struct conn *c = &p->c[p->n];
    *c = (struct conn){.fd = -1, .st = CS_NEW, .next_id = 1};
    memcpy(c->id, client_id, len + 1);
    c->first_ep = p->broker_first[p->n % p->nbrokers];
    *index = p->n++;
    return ES_OK;
}

/* The connect report: how many came up, and each cause of failure once. */
static void report_connect(const struct mqtt_pub *p)
{
    char buf[96];
    log_msg(p->s.up == p->n ? LOG_INFO : LOG_ERROR, "MQTTPUB-CONNECTED",
            "%zu of %zu connections up in %.2f s (%s%s)", p->s.up, p->n,
            (double)p->s.connect_us / 1e6, p->ep[0].uri,
            p->nbrokers > 1 ? " and the other brokers of the list" : "");
    for (unsigned i = 0; i < FAIL_KINDS && p->fail[i].count; i++) {
        const struct fail_kind *k = &p->fail[i];
        log_msg(LOG_ERROR, "MQTTPUB-CONNECT-FAIL",
                "%zu connection%s (client %s first): cannot connect to broker %s: %s%s", k->count,
                k->count == 1 ? "" : "s", p->c[k->example].id, p->ep[k->ep].uri,
                why_text(k->why, buf, sizeof buf),
                p->nep > 1 ? " (each tried every address of the list)" : "");
    }
    if (p->fail_other)
        log_msg(LOG_ERROR, "MQTTPUB-CONNECT-FAIL", "%zu more connections failed for other causes",
                p->fail_other);
}

enum es_err mqtt_pub_connect(struct mqtt_pub *p)
{
    if (p->started)
        return ES_EINVAL;
    p->started = true;
    int64_t t0 = clock_mono_us();
    size_t next = 0;
    while (!stopped(p)) {
        while (next < p->n && p->connecting < (size_t)p->o.connect_window)
            start_attempt(p, &p->c[next++]);
        if (next == p->n && p->connecting == 0)
            break;
        mqtt_pub_poll(p, 10000);
    }
    p->s.connect_us = clock_mono_us() - t0;
    if (stopped(p))
        return ES_ESTOPPED;
    report_connect(p);
    return p->s.up == p->n ? ES_OK : ES_ECONNECT;
}

enum es_err mqtt_pub_publish(struct mqtt_pub *p, size_t conn, const char *topic,
                             const void *payload, size_t len)
{
    size_t tlen = topic ? strlen(topic) : 0;
    if (conn >= p->n || tlen < 1 || tlen > MQTT_PUB_TOPIC_MAX ||
        len > REMAINING_MAX - 4 - MQTT_PUB_TOPIC_MAX)
        return ES_EINVAL;
    struct conn *c = &p->c[conn];
    if (c->st != CS_UP) {
        p->s.refused++;
        return ES_ECONNECT;
    }
    if (c->out.len - c->out.off > OUT_MAX || (p->o.qos && c->inflight >= INFLIGHT_MAX)) {
        p->s.refused++;
        return ES_EFULL;
    }
    uint8_t h[5 + 2 + MQTT_PUB_TOPIC_MAX + 2];
    size_t n = 0;
    h[n++] = (uint8_t)(PKT_PUBLISH << 4 | p->o.qos << 1);
    n += put_varint(h + n, (uint32_t)(2 + tlen + (p->o.qos ? 2 : 0) + len));
    n += put_str(h + n, topic, tlen);
    if (p->o.qos) {
        h[n++] = (uint8_t)(c->next_id >> 8);
        h[n++] = (uint8_t)c->next_id;
        c->next_id = c->next_id == 65535 ? 1 : c->next_id + 1;
    }
    struct iovec iov[2] = {{h, n}, {(void *)payload, len}};
    if (conn_send(p, c, iov, 2) != ES_OK) {
        p->s.refused++;
        return ES_ECONNECT;
    }
    p->s.published++;
    if (p->o.qos) {
        c->inflight++;
        p->inflight++;
    }
    return ES_OK;
}

enum es_err mqtt_pub_flush(struct mqtt_pub *p, int64_t timeout_us)
{
    int64_t deadline = clock_mono_us() + timeout_us;
    while (p->pending_out || (p->o.qos && p->inflight)) {
        int64_t left = deadline - clock_mono_us();
        if (stopped(p))
            return ES_ESTOPPED;
        if (left <= 0)
            return ES_ETIMEDOUT;
        mqtt_pub_poll(p, left < 10000 ? left : 10000);
    }
    return ES_OK;
}

void mqtt_pub_close(struct mqtt_pub *p, int64_t timeout_us)
{
    static const uint8_t disconnect[2] = {PKT_DISCONNECT << 4, 0};
    for (size_t i = 0; i < p->n; i++) {
        struct conn *c = &p->c[i];
        struct iovec iov = {(void *)disconnect, sizeof disconnect};
        if (c->st != CS_UP || conn_send(p, c, &iov, 1) != ES_OK)
            continue;
        set_state(p, c, CS_CLOSING);
        if (c->out.len == c->out.off)
            shutdown(c->fd, SHUT_WR);
    }
    int64_t deadline = clock_mono_us() + timeout_us;
    for (int64_t left = timeout_us; p->closing && left > 0; left = deadline - clock_mono_us())
        mqtt_pub_poll(p, left < 10000 ? left : 10000);
    for (size_t i = 0; i < p->n; i++) {
        struct conn *c = &p->c[i];
        p->inflight -= c->inflight;
        c->inflight = 0;
        close_fd(p, c);
        if (c->st != CS_FAILED && c->st != CS_NEW)
            set_state(p, c, CS_DOWN);
    }
}

void mqtt_pub_stats(const struct mqtt_pub *p, struct mqtt_pub_stats *s)
{
    *s = p->s;
    s->conns = p->n;
    s->unacked = p->o.qos ? s->published - s->acked : 0;
}

void mqtt_pub_free(struct mqtt_pub *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->c[i].fd >= 0)
            close(p->c[i].fd);
        free(p->c[i].out.data);
    }
    if (p->epfd >= 0)
        close(p->epfd);
    free(p->c);
    free(p->hosts);
    free(p->username);
    if (p->password)
        memset(p->password, 0, strlen(p->password));
    free(p->password);
    free(p);
}

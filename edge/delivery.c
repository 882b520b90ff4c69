#include "delivery.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define MAX_WINDOW 4096
/* Each slot's first buffer: room for a frame of the later splits (masks, contours and numbers
 * take 100-200 bytes), so that however many frames come to be in flight, none allocates. */
#define SLOT_START_BYTES 1024
#define MAX_SAMPLES 8192
/* Round trips kept for the deadline, how many are needed before it is trusted, and how often
 * its p99 is recomputed. */
#define RTT_RING 256
#define RTT_MIN 8
#define RTT_EVERY 16
#define FIRST_DEADLINE_US 1000000
/* Answered frames remembered, to tell a duplicate result from a foreign one. */
#define HISTORY 4096
/* delivery_wait looks at *stop at least this often. */
#define STOP_POLL_US 50000

enum slot_state { SLOT_FREE, SLOT_SENT, SLOT_BACK };

struct slot {
    enum slot_state state;
    bool urgent; /* handed back before its deadline */
    uint64_t seq;
    int64_t captured_wall_us;
    int64_t sent_us;
    int64_t deadline_us;
    unsigned split;
    unsigned attempts;
    uint8_t *buf;
    size_t cap;
    size_t len;
};

struct answered {
    uint64_t seq_plus_1; /* 0: empty */
    int64_t captured_wall_us;
};

struct delivery {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct delivery_config c;
    struct slot *slots;
    unsigned count;
    uint64_t changes;
    double rtt[RTT_RING];
    uint64_t nrtt;
    double p99_rtt_us;
    struct answered history[HISTORY];
    struct delivery_window acc;
    unsigned nsamples;
    double samples[MAX_SAMPLES];
};

struct delivery *delivery_new(const struct delivery_config *c)
{
    if (!c || c->window == 0 || c->window > MAX_WINDOW || c->timeout_us <= 0)
        return NULL;
    struct delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->slots = calloc(c->window, sizeof *d->slots);
    if (!d->slots) {
        free(d);
        return NULL;
    }
    d->c = *c;
    if (d->c.min_deadline_us <= 0)
        d->c.min_deadline_us = 250000;
    if (d->c.p99_factor <= 0)
        d->c.p99_factor = 5;
    if (d->c.attempts == 0)
        d->c.attempts = 2;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->changed, NULL);
    for (unsigned i = 0; i < c->window; i++) {
        if (!(d->slots[i].buf = malloc(SLOT_START_BYTES))) {
            delivery_free(d);
            return NULL;
        }
        d->slots[i].cap = SLOT_START_BYTES;
    }
    return d;
}

void delivery_free(struct delivery *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->c.window; i++)
        free(d->slots[i].buf);
    free(d->slots);
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values. */
static double percentile(const double *v, unsigned n, double p)
{
    if (n == 0)
        return 0;
    unsigned rank = (unsigned)(p / 100.0 * n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[(rank > n ? n : rank) - 1];
}

static int64_t deadline_locked(const struct delivery *d)
{
    if (d->nrtt < RTT_MIN)
        return d->c.timeout_us < FIRST_DEADLINE_US ? d->c.timeout_us : FIRST_DEADLINE_US;
    double v = d->c.p99_factor * d->p99_rtt_us;
    if (v < (double)d->c.min_deadline_us)
        v = (double)d->c.min_deadline_us;
    if (v > (double)d->c.timeout_us)
        v = (double)d->c.timeout_us;
    return (int64_t)v;
}

static void add_rtt_locked(struct delivery *d, double us)
{
    d->rtt[d->nrtt++ % RTT_RING] = us;
    if (d->nrtt >= RTT_MIN && (d->nrtt < RTT_MIN + RTT_EVERY || d->nrtt % RTT_EVERY == 0)) {
        unsigned n = d->nrtt < RTT_RING ? (unsigned)d->nrtt : RTT_RING;
        double sorted[RTT_RING];
        memcpy(sorted, d->rtt, n * sizeof sorted[0]);
        qsort(sorted, n, sizeof sorted[0], cmp_double);
        d->p99_rtt_us = percentile(sorted, n, 99);
    }
}

/* Latency and history of a frame answered (by a worker or here). */
static void remember_locked(struct delivery *d, uint64_t seq, int64_t captured_wall_us,
                            int64_t now_wall_us)
{
    if (d->nsamples < MAX_SAMPLES)
        d->samples[d->nsamples++] = (double)(now_wall_us - captured_wall_us) / 1000.0;
    d->history[seq % HISTORY] = (struct answered){seq + 1, captured_wall_us};
}

/* A frame leaves flight answered: remembered, its slot free. */
static void answered_locked(struct delivery *d, struct slot *s, int64_t now_wall_us)
{
    remember_locked(d, s->seq, s->captured_wall_us, now_wall_us);
    s->state = SLOT_FREE;
    d->count--;
    d->changes++;
    pthread_cond_broadcast(&d->changed);
}

static struct slot *find_locked(struct delivery *d, uint64_t seq)
{
    for (unsigned i = 0; i < d->c.window; i++)
        if (d->slots[i].state != SLOT_FREE && d->slots[i].seq == seq)
            return &d->slots[i];
    return NULL;
}

unsigned delivery_count(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    unsigned n = d->count;
    pthread_mutex_unlock(&d->lock);
    return n;
}

bool delivery_room(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    bool room = d->count < d->c.window;
    pthread_mutex_unlock(&d->lock);
    return room;
}

static enum es_err fill_slot(struct slot *s, const uint8_t *payload, size_t len)
{
    if (len > s->cap) {
        /* An eighth more, so that frames a little larger than this one fit too. */
        size_t cap = len + len / 8 >= len ? len + len / 8 : len;
        uint8_t *grown = realloc(s->buf, cap);
        if (!grown)
            return ES_ENOMEM;
        s->buf = grown;
        s->cap = cap;
    }
    if (len)
        memcpy(s->buf, payload, len);
    s->len = len;
    return ES_OK;
}

enum es_err delivery_add(struct delivery *d, uint64_t seq, int64_t captured_wall_us, unsigned split,
                         const uint8_t *payload, size_t len, int64_t now_us)
{
    pthread_mutex_lock(&d->lock);
    struct slot *s = NULL;
    for (unsigned i = 0; d->count < d->c.window && i < d->c.window && !s; i++)
        if (d->slots[i].state == SLOT_FREE)
            s = &d->slots[i];
    enum es_err err = s ? fill_slot(s, payload, len) : ES_EFULL;
    if (err == ES_OK) {
        s->state = SLOT_SENT;
        s->urgent = false;
        s->seq = seq;
        s->captured_wall_us = captured_wall_us;
        s->split = split;
        s->attempts = 1;
        s->sent_us = now_us;
        s->deadline_us = now_us + deadline_locked(d);
        d->count++;
    }
    pthread_mutex_unlock(&d->lock);
    return err;
}

void delivery_cancel(struct delivery *d, uint64_t seq)
{
    pthread_mutex_lock(&d->lock);
    struct slot *s = find_locked(d, seq);
    if (s) {
        s->state = SLOT_FREE;
        d->count--;
        d->changes++;
        pthread_cond_broadcast(&d->changed);
    }
    pthread_mutex_unlock(&d->lock);
}

enum delivery_action delivery_next(struct delivery *d, int64_t now_us, bool can_send,
                                   struct delivery_frame *out)
{
    pthread_mutex_lock(&d->lock);
    struct slot *due = NULL;
    for (unsigned i = 0; i < d->c.window; i++) {
        struct slot *s = &d->slots[i];
        bool is_due = s->state == SLOT_SENT && (s->urgent || now_us >= s->deadline_us);
        if (is_due && (!due || s->seq < due->seq))
            due = s;
    }
    enum delivery_action act = DELIVERY_NONE;
    if (due) {
        act = !due->urgent && can_send && due->attempts < d->c.attempts ? DELIVERY_RETRY
                                                                        : DELIVERY_FALLBACK;
        if (act == DELIVERY_FALLBACK)
            due->state = SLOT_BACK;
        *out = (struct delivery_frame){
            due->seq, due->captured_wall_us, due->split, due->attempts, due->buf, due->len};
    }
    pthread_mutex_unlock(&d->lock);
    return act;
}

void delivery_resent(struct delivery *d, uint64_t seq, int64_t now_us)
{
    pthread_mutex_lock(&d->lock);
    struct slot *s = find_locked(d, seq);
    if (s && s->state == SLOT_SENT) {
        s->attempts++;
        s->sent_us = now_us;
        s->deadline_us = now_us + deadline_locked(d);
        d->acc.retried++;
    }
    pthread_mutex_unlock(&d->lock);
}

void delivery_finish(struct delivery *d, uint64_t seq, int64_t now_wall_us)
{
    pthread_mutex_lock(&d->lock);
    struct slot *s = find_locked(d, seq);
    if (s && s->state == SLOT_BACK) {
        d->acc.fallback++;
        answered_locked(d, s, now_wall_us);
    }
    pthread_mutex_unlock(&d->lock);
}

void delivery_ran_here(struct delivery *d, uint64_t seq, int64_t captured_wall_us,
                       int64_t now_wall_us)
{
    pthread_mutex_lock(&d->lock);
    d->acc.fallback++;
    remember_locked(d, seq, captured_wall_us, now_wall_us);
    pthread_mutex_unlock(&d->lock);
}

void delivery_fail_all(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->c.window; i++)
        if (d->slots[i].state == SLOT_SENT)
            d->slots[i].urgent = true;
    d->changes++;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
}

enum delivery_outcome delivery_complete(struct delivery *d, uint64_t seq, int64_t captured_wall_us,
                                        int64_t now_us, int64_t now_wall_us)
{
    enum delivery_outcome out = DELIVERY_FOREIGN;
    pthread_mutex_lock(&d->lock);
    struct slot *s = find_locked(d, seq);
    const struct answered *h = &d->history[seq % HISTORY];
    if (s && s->captured_wall_us == captured_wall_us) {
        out = s->state == SLOT_SENT ? DELIVERY_ACCEPTED : DELIVERY_DUPLICATE;
    } else if (!s && h->seq_plus_1 == seq + 1 && h->captured_wall_us == captured_wall_us) {
        out = DELIVERY_DUPLICATE;
    }
    if (out == DELIVERY_ACCEPTED) {
        add_rtt_locked(d, (double)(now_us - s->sent_us));
        d->acc.results++;
        answered_locked(d, s, now_wall_us);
    } else if (out == DELIVERY_DUPLICATE) {
        d->acc.duplicates++;
    } else {
        d->acc.foreign++;
    }
    pthread_mutex_unlock(&d->lock);
    return out;
}

/* The earliest deadline of a frame still waiting; INT64_MAX when none, INT64_MIN when a frame
 * is already due. */
static int64_t earliest_locked(const struct delivery *d)
{
    int64_t t = INT64_MAX;
    for (unsigned i = 0; i < d->c.window; i++) {
        const struct slot *s = &d->slots[i];
        if (s->state != SLOT_SENT)
            continue;
        if (s->urgent)
            return INT64_MIN;
        if (s->deadline_us < t)
            t = s->deadline_us;
    }
    return t;
}

void delivery_wait(struct delivery *d, const volatile sig_atomic_t *stop, int64_t max_us)
{
    int64_t now = clock_mono_us();
    int64_t until = now + max_us;
    pthread_mutex_lock(&d->lock);
    uint64_t seen = d->changes;
    int64_t earliest = earliest_locked(d);
    if (earliest < until)
        until = earliest;
    while (d->changes == seen && !(stop && *stop) && (now = clock_mono_us()) < until) {
        int64_t step = until - now < STOP_POLL_US ? until - now : STOP_POLL_US;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + step * 1000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&d->changed, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
}

void delivery_wake(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    d->changes++;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
}

int64_t delivery_deadline_us(struct delivery *d)
{
    pthread_mutex_lock(&d->lock);
    int64_t v = deadline_locked(d);
    pthread_mutex_unlock(&d->lock);
    return v;
}

void delivery_take_window(struct delivery *d, struct delivery_window *out)
{
    pthread_mutex_lock(&d->lock);
    *out = d->acc;
    qsort(d->samples, d->nsamples, sizeof d->samples[0], cmp_double);
    out->latency_p50_ms = percentile(d->samples, d->nsamples, 50);
    out->latency_p99_ms = percentile(d->samples, d->nsamples, 99);
    out->deadline_ms = (double)deadline_locked(d) / 1000.0;
    memset(&d->acc, 0, sizeof d->acc);
    d->nsamples = 0;
    pthread_mutex_unlock(&d->lock);
}

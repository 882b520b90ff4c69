#include "fairq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "topic.h"

#define BUCKETS 1024
/* Devices with a queue of their own; frames of further devices share the last-resort queue. */
#define MAX_DEVICES 4096
/* Released messages kept for reuse, so that a steady stream of frames allocates nothing: as
 * many as a busy queue has in flight, within a byte budget (19 frames of a 421 KB picture). */
#define SPARE_MAX 64
#define SPARE_MAX_BYTES (8u << 20)

/* One device's FIFO and budget. Active devices (with frames) form a ring for round robin. */
struct dq {
    struct dq *next_in_bucket;
    struct dq *prev, *next; /* the active ring */
    bool active;
    char device[STATE_DEVICE_MAX + 1];
    struct msg *head, *tail;
    size_t count;
    int64_t window_start_us;
    int64_t cpu_us;
};

struct fairq {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct fairq_config c;
    struct dq *buckets[BUCKETS];
    struct dq shared; /* messages without a device, or past MAX_DEVICES */
    size_t ndevices;
    struct dq *ring; /* the next device to serve */
    size_t count, bytes;
    uint64_t dropped;
    bool closed;
    struct msg *spare; /* released messages, most recent first */
    size_t nspare, spare_bytes;
};

struct fairq *fairq_new(const struct fairq_config *c)
{
    if (!c || c->max_msgs == 0 || c->device_max == 0 ||
        (c->cpu_budget_us > 0 && c->cpu_window_us <= 0))
        return NULL;
    struct fairq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->c = *c;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    return q;
}

static void free_msgs(struct dq *d)
{
    for (struct msg *m = d->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
}

void fairq_free(struct fairq *q)
{
    if (!q)
        return;
    for (size_t b = 0; b < BUCKETS; b++) {
        for (struct dq *d = q->buckets[b], *next; d; d = next) {
            next = d->next_in_bucket;
            free_msgs(d);
            free(d);
        }
    }
    free_msgs(&q->shared);
    for (struct msg *m = q->spare, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static size_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % BUCKETS;
}

/* The device's queue, created on first sight; the shared one for a bad id or a full table. */
static struct dq *lookup_locked(struct fairq *q, const char *device)
{
    if (!device || !topic_valid_id(device))
        return &q->shared;
    size_t b = hash(device);
    for (struct dq *d = q->buckets[b]; d; d = d->next_in_bucket)
        if (strcmp(d->device, device) == 0)
            return d;
    struct dq *d = q->ndevices < MAX_DEVICES ? calloc(1, sizeof *d) : NULL;
    if (!d)
        return &q->shared;
    strcpy(d->device, device);
    d->next_in_bucket = q->buckets[b];
    q->buckets[b] = d;
    q->ndevices++;
    return d;
}

static void activate_locked(struct fairq *q, struct dq *d)
{
    if (d->active)
        return;
    d->active = true;
    if (!q->ring) {
        d->prev = d->next = d;
        q->ring = d;
        return;
    }
    d->next = q->ring; /* joins at the end: just before the next one served */
    d->prev = q->ring->prev;
    d->prev->next = d;
    q->ring->prev = d;
}

static void deactivate_locked(struct fairq *q, struct dq *d)
{
    d->active = false;
    if (d->next == d) {
        q->ring = NULL;
        return;
    }
    d->prev->next = d->next;
    d->next->prev = d->prev;
    if (q->ring == d)
        q->ring = d->next;
}

static bool over_budget_locked(struct fairq *q, struct dq *d, int64_t now)
{
    if (d->count >= q->c.device_max)
        return true;
    if (q->c.cpu_budget_us <= 0)
        return false;
    if (now - d->window_start_us >= q->c.cpu_window_us) {
        d->window_start_us = now;
        d->cpu_us = 0;
    }
    return d->cpu_us >= q->c.cpu_budget_us;
}

/* A released message with room for len bytes, or a new one. */
static struct msg *new_msg(struct fairq *q, const char *topic, const uint8_t *payload, size_t len)
{
    struct msg *m = NULL;
    pthread_mutex_lock(&q->lock);
    for (struct msg **p = &q->spare; *p; p = &(*p)->next) {
        if ((*p)->cap >= len) {
            m = *p;
            *p = m->next;
            q->nspare--;
            q->spare_bytes -= m->cap;
            break;
        }
    }
    pthread_mutex_unlock(&q->lock);
    if (!m) {
        /* Rounded up, so that frames of nearly the same size share their buffers. */
        size_t cap = len > 4096 ? (len + 4095) & ~(size_t)4095 : (len + 255) & ~(size_t)255;
        if (cap < len)
            return NULL;
        m = malloc(sizeof *m + cap);
        if (!m)
            return NULL;
        m->cap = cap;
    }
    m->next = NULL;
    m->queued_us = clock_mono_us();
    m->len = len;
    snprintf(m->topic, sizeof m->topic, "%s", topic);
    if (len)
        memcpy(m->payload, payload, len);
    return m;
}

enum fairq_push_result fairq_push(struct fairq *q, const char *device, const char *topic,
                                  const uint8_t *payload, size_t len, uint64_t tag)
{
    struct msg *m = new_msg(q, topic, payload, len);
    if (!m)
        return FAIRQ_FULL;
    m->tag = tag;
    pthread_mutex_lock(&q->lock);
    enum fairq_push_result res = FAIRQ_QUEUED;
    struct dq *d = lookup_locked(q, device);
    if (q->closed || q->count >= q->c.max_msgs || (q->count && q->bytes + len > q->c.max_bytes))
        res = FAIRQ_FULL;
    else if (over_budget_locked(q, d, m->queued_us))
        res = FAIRQ_OVER_BUDGET;
    if (res == FAIRQ_QUEUED) {
        snprintf(m->device, sizeof m->device, "%s", d->device);
        if (d->tail)
            d->tail->next = m;
        else
            d->head = m;
        d->tail = m;
        d->count++;
        q->count++;
        q->bytes += len;
        activate_locked(q, d);
        pthread_cond_signal(&q->ready);
    } else if (res == FAIRQ_OVER_BUDGET) {
        q->dropped++;
    }
    pthread_mutex_unlock(&q->lock);
    if (res != FAIRQ_QUEUED)
        fairq_release(q, m);
    return res;
}

void fairq_release(struct fairq *q, struct msg *m)
{
    if (!m)
        return;
    if (m->cap > SPARE_MAX_BYTES) {
        free(m);
        return;
    }
    struct msg *evicted = NULL;
    pthread_mutex_lock(&q->lock);
    m->next = q->spare;
    q->spare = m;
    q->nspare++;
    q->spare_bytes += m->cap;
    /* Over the bounds, the oldest go: the sizes in use now are the recent ones. */
    while (q->nspare > SPARE_MAX || q->spare_bytes > SPARE_MAX_BYTES) {
        struct msg **p = &q->spare;
        while ((*p)->next)
            p = &(*p)->next;
        struct msg *old = *p;
        *p = NULL;
        q->nspare--;
        q->spare_bytes -= old->cap;
        old->next = evicted;
        evicted = old;
    }
    pthread_mutex_unlock(&q->lock);
    while (evicted) {
        struct msg *next = evicted->next;
        free(evicted);
        evicted = next;
    }
}

struct msg *fairq_pop(struct fairq *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->ring && !q->closed)
        pthread_cond_wait(&q->ready, &q->lock);
    struct msg *m = NULL;
    struct dq *d = q->ring;
    if (d) {
        m = d->head;
        d->head = m->next;
        if (!d->head)
            d->tail = NULL;
        d->count--;
        q->count--;
        q->bytes -= m->len;
        q->ring = d->next; /* the next device goes next */
        if (!d->head)
            deactivate_locked(q, d);
    }
    pthread_mutex_unlock(&q->lock);
    return m;
}

void fairq_charge(struct fairq *q, const char *device, int64_t cpu_us, int64_t now_us)
{
    pthread_mutex_lock(&q->lock);
    struct dq *d = lookup_locked(q, device);
    if (now_us - d->window_start_us >= q->c.cpu_window_us) {
        d->window_start_us = now_us;
        d->cpu_us = 0;
    }
    d->cpu_us += cpu_us;
    pthread_mutex_unlock(&q->lock);
}

void fairq_close(struct fairq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

size_t fairq_depth(struct fairq *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

int64_t fairq_oldest_wait_us(struct fairq *q, int64_t now_us)
{
    pthread_mutex_lock(&q->lock);
    int64_t oldest = now_us;
    struct dq *d = q->ring;
    for (bool first = true; d && (first || d != q->ring); d = d->next, first = false)
        if (d->head->queued_us < oldest)
            oldest = d->head->queued_us;
    pthread_mutex_unlock(&q->lock);
    return now_us - oldest;
}

uint64_t fairq_dropped(struct fairq *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->dropped;
    pthread_mutex_unlock(&q->lock);
    return n;
}

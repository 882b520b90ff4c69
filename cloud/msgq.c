#include "msgq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct msgq {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct msg *head;
    struct msg *tail;
    size_t count;
    size_t bytes;
    size_t max_msgs;
    size_t max_bytes;
    bool closed;
};

struct msgq *msgq_new(size_t max_msgs, size_t max_bytes)
{
    struct msgq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    q->max_msgs = max_msgs;
    q->max_bytes = max_bytes;
    return q;
}

void msgq_free(struct msgq *q)
{
    if (!q)
        return;
    for (struct msg *m = q->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

bool msgq_push(struct msgq *q, const char *topic, const uint8_t *payload, size_t len)
{
    pthread_mutex_lock(&q->lock);
    bool room =
        !q->closed && q->count < q->max_msgs && (q->count == 0 || q->bytes + len <= q->max_bytes);
    pthread_mutex_unlock(&q->lock);
    if (!room)
        return false;
    struct msg *m = malloc(sizeof *m + len);
    if (!m)
        return false;
    m->next = NULL;
    m->queued_us = clock_mono_us();
    m->len = len;
    snprintf(m->topic, sizeof m->topic, "%s", topic);
    if (len)
        memcpy(m->payload, payload, len);
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        free(m);
        return false;
    }
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += len;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
    return true;
}

struct msg *msgq_pop(struct msgq *q)
{
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->ready, &q->lock);
    struct msg *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
        q->count--;
        q->bytes -= m->len;
    }
    pthread_mutex_unlock(&q->lock);
    return m;
}

void msgq_close(struct msgq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

size_t msgq_depth(struct msgq *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

int64_t msgq_oldest_wait_us(struct msgq *q, int64_t now_us)
{
    pthread_mutex_lock(&q->lock);
    int64_t w = q->head ? now_us - q->head->queued_us : 0;
    pthread_mutex_unlock(&q->lock);
    return w > 0 ? w : 0;
}

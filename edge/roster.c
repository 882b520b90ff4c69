#include "roster.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 1024

struct member {
    char client[STATE_DEVICE_MAX + 1];
    uint32_t stages;
    bool saturated;     /* its status says so */
    unsigned batch;     /* frames per batch it takes; 0: single frames only */
    int64_t expires_us; /* a repeated status: counts until then; 0: until offline */
};

struct roster {
    pthread_mutex_t lock;
    unsigned n;
    struct member m[MAX_WORKERS];
};

struct roster *roster_new(void)
{
    struct roster *r = calloc(1, sizeof *r);
    if (r)
        pthread_mutex_init(&r->lock, NULL);
    return r;
}

void roster_free(struct roster *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Forgets the workers whose repeated status was not repeated in time. */
static void expire_locked(struct roster *r, int64_t now_us)
{
    for (unsigned i = 0; i < r->n;) {
        if (r->m[i].expires_us && now_us >= r->m[i].expires_us)
            r->m[i] = r->m[--r->n];
        else
            i++;
    }
}

static uint32_t served_locked(const struct roster *r)
{
    uint32_t all = 0;
    for (unsigned i = 0; i < r->n; i++)
        all |= r->m[i].stages;
    return all;
}

bool roster_update(struct roster *r, const struct status_info *s, int64_t now_us)
{
    if (strcmp(s->role, "worker") != 0)
        return false;
    pthread_mutex_lock(&r->lock);
    expire_locked(r, now_us);
    uint32_t before = served_locked(r);
    unsigned i = 0;
    while (i < r->n && strcmp(r->m[i].client, s->client) != 0)
        i++;
    if (!s->online) {
        if (i < r->n)
            r->m[i] = r->m[--r->n];
    } else if (i < r->n || r->n < MAX_WORKERS) {
        if (i == r->n)
            strcpy(r->m[r->n++].client, s->client);
        r->m[i].stages = s->stages;
        r->m[i].saturated = s->has_load && s->saturated;
        r->m[i].batch = s->batch;
        r->m[i].expires_us = s->every_ms > 0 ? now_us + 3 * (int64_t)s->every_ms * 1000 : 0;
    }
    bool changed = served_locked(r) != before;
    pthread_mutex_unlock(&r->lock);
    return changed;
}

void roster_clear(struct roster *r)
{
    pthread_mutex_lock(&r->lock);
    r->n = 0;
    pthread_mutex_unlock(&r->lock);
}

unsigned roster_serving(struct roster *r, unsigned k, int64_t now_us)
{
    pthread_mutex_lock(&r->lock);
    expire_locked(r, now_us);
    unsigned n = 0;
    for (unsigned i = 0; i < r->n; i++)
        n += k < 32 && (r->m[i].stages & (1u << k)) != 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

unsigned roster_batch(struct roster *r, unsigned k, int64_t now_us)
{
    pthread_mutex_lock(&r->lock);
    expire_locked(r, now_us);
    unsigned least = 0;
    bool any = false;
    for (unsigned i = 0; i < r->n; i++) {
        if (k >= 32 || (r->m[i].stages & (1u << k)) == 0)
            continue;
        least = any && least < r->m[i].batch ? least : r->m[i].batch;
        any = true;
    }
    pthread_mutex_unlock(&r->lock);
    return least;
}

unsigned roster_online(struct roster *r, int64_t now_us)
{
    pthread_mutex_lock(&r->lock);
    expire_locked(r, now_us);
    unsigned n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool roster_saturated(struct roster *r, unsigned k, int64_t now_us)
{
    pthread_mutex_lock(&r->lock);
    expire_locked(r, now_us);
    unsigned serving = 0, saturated = 0;
    for (unsigned i = 0; i < r->n; i++) {
        bool serves = k < 32 && (r->m[i].stages & (1u << k)) != 0;
        serving += serves;
        saturated += serves && r->m[i].saturated;
    }
    pthread_mutex_unlock(&r->lock);
    return serving > 0 && saturated == serving;
}

#include "inflight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define MAX_WINDOW 4096
#define MAX_SAMPLES 8192

struct slot {
    bool busy;
    uint64_t seq;
    int64_t captured_wall_us;
    int64_t sent_mono_us;
};

struct inflight {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned window;
    unsigned count;
    int64_t timeout_us;
    struct slot *slots;
    struct inflight_window acc;
    unsigned nsamples;
    double samples[MAX_SAMPLES];
};

struct inflight *inflight_new(unsigned window, int64_t timeout_us)
{
    if (window == 0 || window > MAX_WINDOW || timeout_us <= 0)
        return NULL;
    struct inflight *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->slots = calloc(window, sizeof *f->slots);
    if (!f->slots) {
        free(f);
        return NULL;
    }
    f->window = window;
    f->timeout_us = timeout_us;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->freed, NULL);
    return f;
}

void inflight_free(struct inflight *f)
{
    if (!f)
        return;
    pthread_cond_destroy(&f->freed);
    pthread_mutex_destroy(&f->lock);
    free(f->slots);
    free(f);
}

/* Frees slots whose frame is older than the timeout. Called with the lock held. */
static void expire_locked(struct inflight *f, int64_t now, int64_t timeout_us, const char *why)
{
    for (unsigned i = 0; i < f->window; i++) {
        struct slot *s = &f->slots[i];
        if (s->busy && now - s->sent_mono_us >= timeout_us) {
            log_msg(LOG_WARN, "EDGE-LOST", "frame %llu lost: %s", (unsigned long long)s->seq, why);
            s->busy = false;
            f->count--;
            f->acc.lost++;
        }
    }
}

enum es_err inflight_wait_slot(struct inflight *f, uint64_t seq, const volatile sig_atomic_t *stop)
{
    struct slot *s = &f->slots[seq % f->window];
    pthread_mutex_lock(&f->lock);
    while (s->busy) {
        if (stop && *stop) {
            pthread_mutex_unlock(&f->lock);
            return ES_ESTOPPED;
        }
        expire_locked(f, clock_mono_us(), f->timeout_us, "no result within the result timeout");
        if (!s->busy)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000; /* wake up to check stop and timeouts */
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&f->freed, &f->lock, &ts);
    }
    pthread_mutex_unlock(&f->lock);
    return ES_OK;
}

void inflight_add(struct inflight *f, uint64_t seq, int64_t captured_wall_us)
{
    pthread_mutex_lock(&f->lock);
    struct slot *s = &f->slots[seq % f->window];
    if (!s->busy)
        f->count++;
    *s = (struct slot){true, seq, captured_wall_us, clock_mono_us()};
    pthread_mutex_unlock(&f->lock);
}

void inflight_cancel(struct inflight *f, uint64_t seq)
{
    pthread_mutex_lock(&f->lock);
    struct slot *s = &f->slots[seq % f->window];
    if (s->busy && s->seq == seq) {
        s->busy = false;
        f->count--;
        pthread_cond_broadcast(&f->freed);
    }
    pthread_mutex_unlock(&f->lock);
}

bool inflight_complete(struct inflight *f, uint64_t seq, int64_t now_wall_us)
{
    pthread_mutex_lock(&f->lock);
    struct slot *s = &f->slots[seq % f->window];
    bool hit = s->busy && s->seq == seq;
    if (hit) {
        s->busy = false;
        f->count--;
        f->acc.delivered++;
        if (f->nsamples < MAX_SAMPLES)
            f->samples[f->nsamples++] = (double)(now_wall_us - s->captured_wall_us) / 1000.0;
        pthread_cond_broadcast(&f->freed);
    } else {
        f->acc.unexpected++;
    }
    pthread_mutex_unlock(&f->lock);
    return hit;
}

uint64_t inflight_drain(struct inflight *f, int64_t timeout_us)
{
    int64_t deadline = clock_mono_us() + timeout_us;
    pthread_mutex_lock(&f->lock);
    while (f->count > 0 && clock_mono_us() < deadline) {
        pthread_mutex_unlock(&f->lock);
        clock_sleep_us(2000);
        pthread_mutex_lock(&f->lock);
    }
    uint64_t before = f->acc.lost;
    expire_locked(f, INT64_MAX, 0, "no result when the run ended");
    uint64_t lost = f->acc.lost - before;
    pthread_mutex_unlock(&f->lock);
    return lost;
}

unsigned inflight_count(struct inflight *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned n = f->count;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const double *v, unsigned n, double p)
{
    if (n == 0)
        return 0;
    unsigned rank = (unsigned)(p / 100.0 * n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[(rank > n ? n : rank) - 1];
}

void inflight_take_window(struct inflight *f, struct inflight_window *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->acc;
    qsort(f->samples, f->nsamples, sizeof f->samples[0], cmp_double);
    out->latency_p50_ms = percentile(f->samples, f->nsamples, 50);
    out->latency_p99_ms = percentile(f->samples, f->nsamples, 99);
    memset(&f->acc, 0, sizeof f->acc);
    f->nsamples = 0;
    pthread_mutex_unlock(&f->lock);
}

#include "capture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "source.h"

struct capture {
    struct capture_config cfg;
    struct source *src;
    struct state ring[CAPTURE_DEPTH];
    enum es_err ring_err[CAPTURE_DEPTH]; /* the first stage's error of each frame */
    struct camclock camera;
    _Atomic uint64_t skipped;
    uint64_t seq;               /* the next frame's number */
    struct stage_slowdown slow; /* of the frame being captured */
    /* threaded: everything below is under lock */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a frame is ready, a slot is free, the source opened, or quit */
    bool opened;
    enum es_err open_err;
    unsigned head;  /* the slot the next frame goes to */
    unsigned tail;  /* the slot the next capture_next takes */
    unsigned ready; /* frames captured and not taken */
    unsigned held;  /* frames taken and not released (0 or 1) */
    bool ended;     /* no frame will be added */
    enum es_err end_err;
    bool quit; /* capture_free: stop now */
};

void stage_slowdown_hook(void *arg, unsigned stage, int64_t took_us)
{
    struct stage_slowdown *s = arg;
    if (s->factor <= 1)
        return;
    int64_t extra = (int64_t)((s->factor - 1) * (double)took_us);
    clock_spin_us(extra);
    if (stage < STATE_MAX_STAGES && s->st)
        s->st->stage_us[stage] = (uint32_t)(took_us + extra);
}

/* Pacing (--rate), then the first stage of frame c->seq into st. ES_EEOF at the end. */
static enum es_err capture_one(struct capture *c, struct state *st)
{
    const struct capture_config *g = &c->cfg;
    if (g->rate > 0) {
        uint64_t skipped = 0;
        clock_sleep_us(camclock_next(&c->camera, clock_mono_us(), &skipped));
        atomic_fetch_add(&c->skipped, skipped);
    }
    c->slow.factor = g->slowdown && !*g->slowdown_off
                         ? slowdown_at(g->slowdown, (double)(clock_mono_us() - g->start_us) / 1e6)
                         : 1;
    state_reset(st);
    snprintf(st->device, sizeof st->device, "%s", g->device);
    st->seq = c->seq;
    st->captured_us = clock_wall_us();
    if (g->annotate_every && c->seq % g->annotate_every == 0)
        st->flags |= STATE_WANT_FRAME;
    struct stage_io io = {.st = st, .source = c->src};
    c->slow.st = st;
    enum es_err err = app_run(&io, 0, 1, stage_slowdown_hook, &c->slow);
    json_decref(io.result); /* the first stage is never the last one: both stay NULL */
    free(io.jpeg);
    c->seq++;
    return err;
}

static bool more(const struct capture *c)
{
    return !*c->cfg.stop && (!c->cfg.frames || c->seq < c->cfg.frames);
}

static enum es_err open_source(struct capture *c)
{
    return c->cfg.source ? source_open(c->cfg.source, &c->src) : ES_OK;
}

static void *capture_thread(void *arg)
{
    struct capture *c = arg;
    enum es_err err = open_source(c);
    pthread_mutex_lock(&c->lock);
    c->opened = true;
    c->open_err = err;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    while (err == ES_OK && more(c)) {
        pthread_mutex_lock(&c->lock);
        while (!c->quit && c->ready + c->held >= CAPTURE_DEPTH)
            pthread_cond_wait(&c->changed, &c->lock);
        bool quit = c->quit;
        unsigned slot = c->head;
        pthread_mutex_unlock(&c->lock);
        if (quit || !more(c))
            break;
        /* The slot is the producer's alone until it is counted ready. */
        enum es_err ferr = capture_one(c, &c->ring[slot]);
        if (ferr == ES_EEOF)
            break;
        pthread_mutex_lock(&c->lock);
        c->ring_err[slot] = ferr;
        c->head = (slot + 1) % CAPTURE_DEPTH;
        c->ready++;
        pthread_cond_broadcast(&c->changed);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&c->lock);
    c->ended = true;
    c->end_err = err;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

enum es_err capture_start(const struct capture_config *cfg, struct capture **out)
{
    *out = NULL;
    struct capture *c = calloc(1, sizeof *c);
    if (!c)
        return ES_ENOMEM;
    c->cfg = *cfg;
    c->camera.period_us = cfg->rate > 0 ? 1e6 / cfg->rate : 0;
    for (unsigned i = 0; i < CAPTURE_DEPTH; i++)
        state_init(&c->ring[i], cfg->app);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    enum es_err err = ES_OK;
    if (cfg->threaded) {
        if (pthread_create(&c->thread, NULL, capture_thread, c) != 0)
            err = ES_EIO;
        c->started = err == ES_OK;
    } else {
        c->open_err = open_source(c);
        c->opened = true;
    }
    if (err != ES_OK) {
        capture_free(c);
        return err;
    }
    *out = c;
    return ES_OK;
}

enum es_err capture_opened(struct capture *c)
{
    pthread_mutex_lock(&c->lock);
    while (!c->opened)
        pthread_cond_wait(&c->changed, &c->lock);
    enum es_err err = c->open_err;
    pthread_mutex_unlock(&c->lock);
    return err;
}

static struct state *next_inline(struct capture *c, enum es_err *err)
{
    if (c->open_err != ES_OK || !more(c))
        return NULL;
    enum es_err ferr = capture_one(c, &c->ring[0]);
    if (ferr == ES_EEOF)
        return NULL;
    *err = ferr;
    c->held = 1;
    return &c->ring[0];
}

struct state *capture_next(struct capture *c, enum es_err *err)
{
    *err = ES_OK;
    if (!c->cfg.threaded)
        return next_inline(c, err);
    struct state *st = NULL;
    pthread_mutex_lock(&c->lock);
    while (!c->ready && !c->ended)
        pthread_cond_wait(&c->changed, &c->lock);
    if (c->ready) {
        st = &c->ring[c->tail];
        *err = c->ring_err[c->tail];
        c->tail = (c->tail + 1) % CAPTURE_DEPTH;
        c->ready--;
        c->held++;
    } else {
        *err = c->end_err;
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}

void capture_release(struct capture *c, struct state *st)
{
    (void)st;
    pthread_mutex_lock(&c->lock);
    c->held--;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

uint64_t capture_take_skipped(struct capture *c)
{
    return atomic_exchange(&c->skipped, 0);
}

void capture_free(struct capture *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->quit = true;
        pthread_cond_broadcast(&c->changed);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
    for (unsigned i = 0; i < CAPTURE_DEPTH; i++)
        state_release(&c->ring[i]);
    source_free(c->src);
    free(c);
}

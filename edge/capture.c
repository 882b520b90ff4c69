#include "capture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "source.h"

/* A frame on its way through the ring: FREE -> READ (reader) -> RUNNING (a pool thread) -> DONE
 * -> HELD (the agent) -> FREE. */
enum slot_state { SLOT_FREE, SLOT_READ, SLOT_RUNNING, SLOT_DONE, SLOT_HELD };

struct slot {
    struct state st;
    struct image pic;    /* this frame's copy of the source's picture */
    struct source *view; /* a view of pic, the first stage's source */
    enum slot_state state;
    enum es_err err; /* the read's or the first stage's */
};

struct capture {
    struct capture_config cfg;
    struct source *src;
    struct camclock camera;
    _Atomic uint64_t skipped;
    uint64_t seq; /* the next frame's number */
    struct stage_slowdown inline_slow;
    struct stage_slowdown pool_slow[CAPTURE_POOL_MAX];
    unsigned nslots;
    struct slot *slots;
    /* threaded: everything below is under lock */
    pthread_t reader;
    pthread_t pool[CAPTURE_POOL_MAX];
    unsigned started;   /* pool threads started */
    unsigned next_pool; /* the pool_slow of the next pool thread to run */
    bool reader_started;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a slot changed state, the source opened, or quit */
    bool opened;
    enum es_err open_err;
    unsigned head; /* the slot the reader fills next */
    unsigned tail; /* the slot the agent takes next */
    bool ended;    /* the reader adds no more frames */
    enum es_err end_err;
    bool quit; /* capture_free, or a first stage reached the end: stop now */
};

void stage_slowdown_start(struct stage_slowdown *s)
{
    s->cpu_mark_us = s->factor > 1 ? clock_thread_cpu_us() : 0; /* no clock read unslowed */
}

void stage_slowdown_hook(void *arg, unsigned stage, int64_t took_us)
{
    struct stage_slowdown *s = arg;
    if (s->factor <= 1)
        return;
    int64_t cpu = clock_thread_cpu_us() - s->cpu_mark_us;
    int64_t extra = (int64_t)((s->factor - 1) * (double)(cpu > 0 ? cpu : 0));
    if (s->sleep) {
        clock_sleep_us(extra);
        atomic_fetch_add(&s->slept_us, extra);
    } else {
        clock_spin_us(extra);
    }
    s->cpu_mark_us = clock_thread_cpu_us(); /* the next stage starts now */
    if (stage < STATE_MAX_STAGES && s->st)
        s->st->stage_us[stage] = (uint32_t)(took_us + extra);
}

double stage_slowdown_now(const struct slowdown *s, const volatile sig_atomic_t *off,
                          int64_t start_us)
{
    return s && !*off ? slowdown_at(s, (double)(clock_mono_us() - start_us) / 1e6) : 1;
}

/* Pacing (--rate), then the frame's header: seq, device, capture time, annotation request. */
static void begin_frame(struct capture *c, struct state *st)
{
    const struct capture_config *g = &c->cfg;
    if (g->rate > 0) {
        uint64_t skipped = 0;
        clock_sleep_us(camclock_next(&c->camera, clock_mono_us(), &skipped));
        atomic_fetch_add(&c->skipped, skipped);
    }
    state_reset(st);
    snprintf(st->device, sizeof st->device, "%s", g->device);
    st->seq = c->seq++;
    st->captured_us = clock_wall_us();
    if (g->annotate_every && st->seq % g->annotate_every == 0)
        st->flags |= STATE_WANT_FRAME;
}

/* Runs the first stage of st over source src, timed and slowed by slow. */
static enum es_err first_stage(struct capture *c, struct state *st, struct source *src,
                               struct stage_slowdown *slow)
{
    slow->factor = stage_slowdown_now(c->cfg.slowdown, c->cfg.slowdown_off, c->cfg.start_us);
    slow->sleep = c->cfg.slowdown && c->cfg.slowdown->sleep;
    slow->st = st;
    struct stage_io io = {.st = st, .source = src};
    stage_slowdown_start(slow);
    enum es_err err = app_run(&io, 0, 1, stage_slowdown_hook, slow);
    json_decref(io.result); /* the first stage is never the last one: both stay NULL */
    free(io.jpeg);
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

/* Copies the source's next picture into the slot's own buffer. ES_EEOF at the end. */
static enum es_err read_picture(struct capture *c, struct slot *s)
{
    const struct image *frame;
    enum es_err err = source_read(c->src, &frame);
    if (err != ES_OK)
        return err;
    size_t n = (size_t)frame->width * (size_t)frame->height * (size_t)frame->channels;
    if (n > s->pic.cap) {
        uint8_t *p = realloc(s->pic.data, n);
        if (!p)
            return ES_ENOMEM;
        s->pic.data = p;
        s->pic.cap = n;
    }
    memcpy(s->pic.data, frame->data, n);
    s->pic.width = frame->width;
    s->pic.height = frame->height;
    s->pic.channels = frame->channels;
    source_view_set(s->view, &s->pic);
    return ES_OK;
}

/* The reader: opens the source, then fills free slots in ring order with pictures. */
static void *reader_thread(void *arg)
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
        while (!c->quit && c->slots[c->head].state != SLOT_FREE)
            pthread_cond_wait(&c->changed, &c->lock);
        bool quit = c->quit;
        struct slot *s = &c->slots[c->head];
        pthread_mutex_unlock(&c->lock);
        if (quit || !more(c))
            break;
        /* A free slot is the reader's alone until it is marked READ. */
        begin_frame(c, &s->st);
        enum es_err rerr = c->src ? read_picture(c, s) : ES_OK;
        if (rerr == ES_EEOF)
            break;
        pthread_mutex_lock(&c->lock);
        s->err = rerr;
        s->state = rerr == ES_OK ? SLOT_READ : SLOT_DONE; /* a failed read skips the stage */
        c->head = (c->head + 1) % c->nslots;
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

/* The oldest slot read and not yet taken by a pool thread, or NULL. */
static struct slot *oldest_read(struct capture *c)
{
    for (unsigned i = 0, j = c->tail; i < c->nslots; i++, j = (j + 1) % c->nslots)
        if (c->slots[j].state == SLOT_READ)
            return &c->slots[j];
    return NULL;
}

/* A pool thread: runs the first stage of read frames, oldest first. */
static void *pool_thread(void *arg)
{
    struct capture *c = arg;
    pthread_mutex_lock(&c->lock);
    struct stage_slowdown *slow = &c->pool_slow[c->next_pool++];
    for (;;) {
        struct slot *s = NULL;
        while (!c->quit && (s = oldest_read(c)) == NULL && !c->ended)
            pthread_cond_wait(&c->changed, &c->lock);
        if (c->quit || !s) /* quit, or the reader ended and nothing is left to run */
            break;
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&c->lock);
        enum es_err err = first_stage(c, &s->st, s->view, slow);
        pthread_mutex_lock(&c->lock);
        s->err = err;
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&c->changed);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static enum es_err start_threads(struct capture *c)
{
    if (pthread_create(&c->reader, NULL, reader_thread, c) != 0)
        return ES_EIO;
    c->reader_started = true;
    for (unsigned i = 0; i < c->cfg.pool; i++) {
        if (pthread_create(&c->pool[i], NULL, pool_thread, c) != 0)
            return ES_EIO;
        c->started++;
    }
    return ES_OK;
}

enum es_err capture_start(const struct capture_config *cfg, struct capture **out)
{
    *out = NULL;
    if (cfg->pool > CAPTURE_POOL_MAX)
        return ES_EINVAL;
    struct capture *c = calloc(1, sizeof *c);
    if (!c)
        return ES_ENOMEM;
    c->cfg = *cfg;
    c->camera.period_us = cfg->rate > 0 ? 1e6 / cfg->rate : 0;
    c->nslots = cfg->pool ? cfg->pool + 3 : 1;
    c->slots = calloc(c->nslots, sizeof *c->slots);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    enum es_err err = c->slots ? ES_OK : ES_ENOMEM;
    for (unsigned i = 0; err == ES_OK && i < c->nslots; i++) {
        state_init(&c->slots[i].st, cfg->app);
        err = source_view_new(&c->slots[i].view);
    }
    if (err == ES_OK && cfg->pool) {
        err = start_threads(c);
    } else if (err == ES_OK) {
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
    struct state *st = &c->slots[0].st;
    begin_frame(c, st);
    enum es_err ferr = first_stage(c, st, c->src, &c->inline_slow);
    if (ferr == ES_EEOF)
        return NULL;
    *err = ferr;
    return st;
}

struct state *capture_next(struct capture *c, enum es_err *err)
{
    *err = ES_OK;
    if (!c->cfg.pool)
        return next_inline(c, err);
    struct state *st = NULL;
    pthread_mutex_lock(&c->lock);
    struct slot *s = &c->slots[c->tail];
    while (s->state != SLOT_DONE && !(c->ended && s->state == SLOT_FREE))
        pthread_cond_wait(&c->changed, &c->lock);
    if (s->state == SLOT_DONE && s->err == ES_EEOF) {
        c->quit = true; /* a first stage said the stream ended: so it did, for every later frame */
        pthread_cond_broadcast(&c->changed);
    } else if (s->state == SLOT_DONE) {
        s->state = SLOT_HELD;
        st = &s->st;
        *err = s->err;
        c->tail = (c->tail + 1) % c->nslots;
    } else {
        *err = c->end_err;
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}

bool capture_wait(struct capture *c, int64_t wait_us)
{
    if (!c->cfg.pool)
        return c->cfg.rate <= 0; /* inline, capture_next does the work: ready unless paced */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* the clock of c->changed */
    int64_t ns = (int64_t)until.tv_nsec + (wait_us > 0 ? wait_us : 0) * 1000;
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&c->lock);
    bool ready;
    for (;;) {
        const struct slot *s = &c->slots[c->tail];
        ready = s->state == SLOT_DONE || (c->ended && s->state == SLOT_FREE);
        if (ready || pthread_cond_timedwait(&c->changed, &c->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    return ready;
}

void capture_release(struct capture *c, struct state *st)
{
    if (!c->cfg.pool)
        return;
    struct slot *s = (struct slot *)((char *)st - offsetof(struct slot, st));
    pthread_mutex_lock(&c->lock);
    s->state = SLOT_FREE;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

int64_t capture_slept_us(struct capture *c)
{
    int64_t sum = atomic_load(&c->inline_slow.slept_us);
    for (unsigned i = 0; i < CAPTURE_POOL_MAX; i++)
        sum += atomic_load(&c->pool_slow[i].slept_us);
    return sum;
}

uint64_t capture_take_skipped(struct capture *c)
{
    return atomic_exchange(&c->skipped, 0);
}

void capture_free(struct capture *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->quit = true;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    if (c->reader_started)
        pthread_join(c->reader, NULL);
    for (unsigned i = 0; i < c->started; i++)
        pthread_join(c->pool[i], NULL);
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
    for (unsigned i = 0; c->slots && i < c->nslots; i++) {
        state_release(&c->slots[i].st);
        free(c->slots[i].pic.data);
        source_free(c->slots[i].view);
    }
    free(c->slots);
    source_free(c->src);
    free(c);
}

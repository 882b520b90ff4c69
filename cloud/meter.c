/* The worker's CPU meter (see meter.h): atomic sums from the processing threads, turned into a
 * load once a period. */
#include "meter.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SATURATED_ON 0.90
#define SATURATED_OFF 0.75
/* The share of a core the busy threads got is measured only over a period in which they were
 * busy at least this share of the time; until then it is 1. */
#define SHARE_MIN_BUSY 0.05
/* The bus threads' share per frame received is kept in nanoseconds. */
#define NS_PER_US 1000

struct meter {
    unsigned threads;
    double slowdown;
    atomic_llong thread_cpu_us; /* processing threads, per frame, summed */
    atomic_llong stage_cpu_us;
    atomic_llong busy_us;
    atomic_ullong frames;
    atomic_llong overhead_ns; /* per frame, from the last period */
    /* the period (meter_period's thread only) */
    bool started, saturated;
    double share;
    int64_t at_us, process_cpu_us, caller_cpu_us;
    long long thread_cpu_mark, stage_cpu_mark, busy_mark;
    unsigned long long frames_mark;
    uint64_t received_mark;
};

struct meter *meter_new(const struct meter_config *cfg)
{
    if (!cfg || cfg->threads < 1 || !(cfg->slowdown == 0 || cfg->slowdown >= 1) ||
        !isfinite(cfg->slowdown))
        return NULL;
    struct meter *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->threads = cfg->threads;
    m->slowdown = cfg->slowdown >= 1 ? cfg->slowdown : 1;
    m->share = 1;
    return m;
}

void meter_free(struct meter *m)
{
    free(m);
}

/* The CPU an emulated slowdown adds to stage CPU: what a machine slowdown times slower spends
 * beyond this one. */
static double emulated(const struct meter *m, double stage_cpu_us)
{
    return (m->slowdown - 1) * stage_cpu_us;
}

int64_t meter_frame_cost(const struct meter *m, int64_t own_cpu_us, int64_t stage_cpu_us,
                         double tail_us)
{
    double share = (double)atomic_load(&((struct meter *)m)->overhead_ns) / NS_PER_US;
    double v = (double)own_cpu_us + emulated(m, (double)stage_cpu_us) + tail_us + share;
    return v > 0 ? (int64_t)(v + 0.5) : 0;
}

void meter_frame_done(struct meter *m, int64_t thread_cpu_us, int64_t stage_cpu_us, int64_t busy_us,
                      bool frame)
{
    atomic_fetch_add(&m->thread_cpu_us, thread_cpu_us > 0 ? thread_cpu_us : 0);
    atomic_fetch_add(&m->stage_cpu_us, stage_cpu_us > 0 ? stage_cpu_us : 0);
    atomic_fetch_add(&m->busy_us, busy_us > 0 ? busy_us : 0);
    if (frame)
        atomic_fetch_add(&m->frames, 1);
}

static void start(struct meter *m, int64_t now_us, int64_t process_cpu_us, int64_t caller_cpu_us,
                  uint64_t received)
{
    m->at_us = now_us;
    m->process_cpu_us = process_cpu_us;
    m->caller_cpu_us = caller_cpu_us;
    m->thread_cpu_mark = atomic_load(&m->thread_cpu_us);
    m->stage_cpu_mark = atomic_load(&m->stage_cpu_us);
    m->busy_mark = atomic_load(&m->busy_us);
    m->frames_mark = atomic_load(&m->frames);
    m->received_mark = received;
}

void meter_period(struct meter *m, int64_t now_us, int64_t process_cpu_us, int64_t caller_cpu_us,
                  uint64_t received, struct meter_load *out)
{
    *out = (struct meter_load){.capacity_cpu_s = m->threads * m->share};
    double dt = (double)(now_us - m->at_us) / 1e6;
    if (!m->started || dt <= 0) {
        m->started = true;
        start(m, now_us, process_cpu_us, caller_cpu_us, received);
        return;
    }
    double threads_cpu = (double)(atomic_load(&m->thread_cpu_us) - m->thread_cpu_mark);
    double stages = (double)(atomic_load(&m->stage_cpu_us) - m->stage_cpu_mark);
    double busy = (double)(atomic_load(&m->busy_us) - m->busy_mark);
    uint64_t frames = atomic_load(&m->frames) - m->frames_mark;
    uint64_t msgs = received - m->received_mark; /* frames */
    double others = (double)(process_cpu_us - m->process_cpu_us) -
                    (double)(caller_cpu_us - m->caller_cpu_us) - threads_cpu;
    double bus = others > 0 ? others : 0;
    if (msgs > 0)
        atomic_store(&m->overhead_ns, (long long)(bus / (double)msgs * NS_PER_US));
    double used = threads_cpu + emulated(m, stages);
    double busy_share = busy / (dt * 1e6 * m->threads);
    if (busy_share >= SHARE_MIN_BUSY)
        m->share = fmin(1, used / busy);
    m->saturated = busy_share >= SATURATED_ON || (m->saturated && busy_share >= SATURATED_OFF);
    *out = (struct meter_load){
        .window_s = dt,
        .capacity_cpu_s = m->threads * m->share,
        .used_cpu_s = used / dt / 1e6,
        .busy = fmin(1, busy_share),
        .cpu_s_per_s = (used + bus) / dt / 1e6,
        .overhead_us = msgs ? bus / (double)msgs : 0,
        .cpu_us_per_frame = frames ? (used + bus) / (double)frames : 0,
        .frames = frames,
        .saturated = m->saturated,
    };
    start(m, now_us, process_cpu_us, caller_cpu_us, received);
}

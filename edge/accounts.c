#include "accounts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Counters of the frames' outcomes, kept per window and for the run. */
struct tally {
    uint64_t captured;
    uint64_t offloaded;
    uint64_t messages; /* stage messages sent: a frame alone, or a batch of frames */
    uint64_t here;
    uint64_t errors;
    uint64_t skipped;
};

/* What this window's results said of the cloud (written on the transport's thread). */
struct cloud_sums {
    double stage_sum[STATE_MAX_STAGES];
    uint64_t stage_n[STATE_MAX_STAGES];
    uint64_t cpu_us;
    uint64_t cpu_results;
};

struct accounts {
    int64_t win_start_us;
    struct tally win, run;
    uint64_t win_bytes, run_bytes;
    double win_publish_us;
    double win_stage_sum[STATE_MAX_STAGES];
    uint64_t win_stage_n[STATE_MAX_STAGES];
    double run_stage_sum[STATE_MAX_STAGES];
    uint64_t run_results, run_fallback, run_retried, run_duplicates;
    uint64_t seen_full, seen_io; /* the spool's drop counters at the last window's end */
    int64_t first_out_us;
    int64_t cpu_mark, win_cpu_us, run_cpu_us; /* the device's CPU */
    bool cpu_marked;
    uint64_t run_cloud_cpu_us, run_cloud_results;
    pthread_mutex_t cloud_lock; /* guards cloud */
    struct cloud_sums cloud;
};

struct accounts *accounts_new(void)
{
    struct accounts *acc = calloc(1, sizeof *acc);
    if (acc && pthread_mutex_init(&acc->cloud_lock, NULL) != 0) {
        free(acc);
        return NULL;
    }
    return acc;
}

void accounts_free(struct accounts *acc)
{
    if (!acc)
        return;
    pthread_mutex_destroy(&acc->cloud_lock);
    free(acc);
}

void accounts_start(struct accounts *acc, int64_t now_us)
{
    acc->win_start_us = now_us;
}

bool accounts_window_due(const struct accounts *acc, int64_t now_us, int64_t window_us)
{
    return now_us - acc->win_start_us >= window_us;
}

void accounts_add_captured(struct accounts *acc, const uint32_t *stage_us, unsigned nlocal)
{
    for (unsigned i = 0; i < nlocal && i < STATE_MAX_STAGES; i++) {
        acc->win_stage_sum[i] += stage_us[i];
        acc->win_stage_n[i]++;
    }
    acc->win.captured++;
}

void accounts_add_error(struct accounts *acc)
{
    acc->win.errors++;
}

void accounts_add_here(struct accounts *acc)
{
    acc->win.here++;
}

void accounts_add_publish_time(struct accounts *acc, double us)
{
    acc->win_publish_us += us;
}

void accounts_add_offloaded(struct accounts *acc)
{
    acc->win.offloaded++;
}

void accounts_add_message(struct accounts *acc)
{
    acc->win.messages++;
}

void accounts_add_bytes_sent(struct accounts *acc, uint64_t n)
{
    acc->win_bytes += n;
}

void accounts_add_output(struct accounts *acc, int64_t now_us)
{
    if (!acc->first_out_us)
        acc->first_out_us = now_us;
}

void accounts_set_device_cpu(struct accounts *acc, int64_t total_us)
{
    if (acc->cpu_marked && total_us > acc->cpu_mark)
        acc->win_cpu_us += total_us - acc->cpu_mark;
    acc->cpu_mark = total_us;
    acc->cpu_marked = true;
}

void accounts_add_cloud_stages(struct accounts *acc, unsigned split, unsigned nstages,
                               const uint32_t *stage_us)
{
    pthread_mutex_lock(&acc->cloud_lock);
    for (unsigned i = split; i < nstages && i < STATE_MAX_STAGES; i++) {
        acc->cloud.stage_sum[i] += stage_us[i];
        acc->cloud.stage_n[i]++;
    }
    pthread_mutex_unlock(&acc->cloud_lock);
}

void accounts_add_cloud_cpu(struct accounts *acc, int64_t us)
{
    if (us < 0)
        return;
    pthread_mutex_lock(&acc->cloud_lock);
    acc->cloud.cpu_us += (uint64_t)us;
    acc->cloud.cpu_results++;
    pthread_mutex_unlock(&acc->cloud_lock);
}

/* The window's mean stage times, here and in the cloud, and the cloud's CPU; empties the
 * cloud's sums for the next window. */
static void take_stage_means(struct accounts *acc, struct accounts_window *out)
{
    pthread_mutex_lock(&acc->cloud_lock);
    struct cloud_sums c = acc->cloud;
    memset(&acc->cloud, 0, sizeof acc->cloud);
    pthread_mutex_unlock(&acc->cloud_lock);
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++) {
        out->stage_us[i] =
            acc->win_stage_n[i] ? acc->win_stage_sum[i] / (double)acc->win_stage_n[i] : 0;
        out->cloud_stage_us[i] = c.stage_n[i] ? c.stage_sum[i] / (double)c.stage_n[i] : 0;
    }
    out->cloud_cpu_us = c.cpu_us;
    out->results = c.cpu_results;
    acc->run_cloud_cpu_us += c.cpu_us;
    acc->run_cloud_results += c.cpu_results;
}

/* The window's counts, from its tally, the delivery window and the spool's counters. */
static void take_counts(struct accounts *acc, const struct delivery_window *dw,
                        const struct spool_stats *ss, struct stats_counts *c)
{
    *c = (struct stats_counts){
        .captured = acc->win.captured,
        .results = dw->results,
        .fallback = dw->fallback,
        .retried = dw->retried,
        .duplicates = dw->duplicates,
        .buffered = ss->entries,
        .dropped_full = ss->dropped_full - acc->seen_full,
        .dropped_io = ss->dropped_io - acc->seen_io,
        .dropped_error = acc->win.errors,
        .skipped = acc->win.skipped,
    };
    acc->seen_full = ss->dropped_full;
    acc->seen_io = ss->dropped_io;
    acc->run_results += dw->results;
    acc->run_fallback += dw->fallback;
    acc->run_retried += dw->retried;
    acc->run_duplicates += dw->duplicates;
}

/* Adds the window to the run and empties it. */
static void add_to_run(struct accounts *acc)
{
    acc->run.captured += acc->win.captured;
    acc->run.offloaded += acc->win.offloaded;
    acc->run.messages += acc->win.messages;
    acc->run.here += acc->win.here;
    acc->run.errors += acc->win.errors;
    acc->run.skipped += acc->win.skipped;
    acc->run_bytes += acc->win_bytes;
    acc->run_cpu_us += acc->win_cpu_us;
    acc->win_cpu_us = 0;
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        acc->run_stage_sum[i] += acc->win_stage_sum[i];
    memset(&acc->win, 0, sizeof acc->win);
    acc->win_bytes = 0;
    acc->win_publish_us = 0;
    memset(acc->win_stage_sum, 0, sizeof acc->win_stage_sum);
    memset(acc->win_stage_n, 0, sizeof acc->win_stage_n);
}

void accounts_close_window(struct accounts *acc, int64_t now_us, const struct delivery_window *dw,
                           const struct spool_stats *ss, uint64_t skipped,
                           struct accounts_window *out)
{
    double elapsed = (double)(now_us - acc->win_start_us) / 1e6;
    uint64_t sent = acc->win.offloaded ? acc->win.offloaded : 1;
    acc->win.skipped += skipped;
    *out = (struct accounts_window){
        .window_s = elapsed,
        .fps = elapsed > 0 ? (double)acc->win.captured / elapsed : 0,
        .latency_p50_ms = dw->latency_p50_ms,
        .latency_p99_ms = dw->latency_p99_ms,
        .bytes_per_frame = (double)acc->win_bytes / (double)sent,
        .publish_us = acc->win_publish_us / (double)sent,
        .offloaded = acc->win.offloaded,
        .messages = acc->win.messages,
        .bytes_sent = acc->win_bytes,
        .device_cpu_us = acc->win_cpu_us,
    };
    take_counts(acc, dw, ss, &out->counts);
    out->delivered_fps =
        elapsed > 0 ? (double)(out->counts.results + out->counts.fallback) / elapsed : 0;
    out->lost = acc->seen_full + acc->seen_io + acc->run.errors + acc->win.errors;
    take_stage_means(acc, out);
    add_to_run(acc);
    acc->win_start_us = now_us;
}

void accounts_get_run(const struct accounts *acc, struct accounts_run *out)
{
    const struct tally *r = &acc->run;
    *out = (struct accounts_run){
        .captured = r->captured,
        .offloaded = r->offloaded,
        .messages = r->messages,
        .here = r->here,
        .errors = r->errors,
        .skipped = r->skipped,
        .results = acc->run_results,
        .fallback = acc->run_fallback,
        .retried = acc->run_retried,
        .duplicates = acc->run_duplicates,
        .bytes_sent = acc->run_bytes,
        .cloud_cpu_us = acc->run_cloud_cpu_us,
        .cloud_results = acc->run_cloud_results,
        .device_cpu_us = acc->run_cpu_us,
        .bytes_per_frame = r->offloaded ? (double)acc->run_bytes / (double)r->offloaded : 0,
        .first_out_us = acc->first_out_us,
    };
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        out->stage_us[i] = r->captured ? acc->run_stage_sum[i] / (double)r->captured : 0;
}

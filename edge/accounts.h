/* The edge's accounts of what its frames did and cost: counted per measurement window, added to
 * the run's totals when the window closes. The agent adds to them as frames run and results come
 * back; closing a window hands back its accounts as plain values and starts the next one.
 *
 * Threads: accounts_add_cloud_stages and accounts_add_cloud_cpu may be called from any thread
 * (the transport's, as results arrive); they take the module's lock. Every other function is
 * called from one thread (the agent's). Times are clock_mono_us() values passed in; the module
 * reads no clock. */
#ifndef ES_ACCOUNTS_H
#define ES_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery.h"
#include "result.h"
#include "spool.h"
#include "state.h"

struct accounts;

/* One closed window, as plain values. Stage arrays have an entry for each stage; the stages
 * with no sample read 0. */
struct accounts_window {
    double window_s;            /* its length */
    struct stats_counts counts; /* as published in the stats */
    double fps;                 /* frames captured per second */
    double delivered_fps;       /* results and fallbacks per second */
    double latency_p50_ms, latency_p99_ms;
    double bytes_per_frame; /* bytes_sent over the frames published (at least 1) */
    double publish_us;      /* encode and publish time over the frames published (at least 1) */
    double stage_us[STATE_MAX_STAGES];       /* mean time of each stage run here */
    double cloud_stage_us[STATE_MAX_STAGES]; /* mean time of each stage the cloud ran */
    uint64_t lost;         /* frames lost in the run so far: spool drops and stage failures */
    uint64_t offloaded;    /* frames published to a stage topic */
    uint64_t messages;     /* stage messages they went in (a batch holds several) */
    uint64_t bytes_sent;   /* frame payload published (accounts_add_bytes_sent) */
    uint64_t cloud_cpu_us; /* the cloud's CPU for this window's results (accounts_add_cloud_cpu) */
    uint64_t results;      /* results that reported their cloud CPU: cloud_cpu_us's divisor */
    int64_t device_cpu_us; /* the device's CPU in the window (accounts_set_device_cpu) */
};

/* The run's totals over the closed windows, as plain values. */
struct accounts_run {
    uint64_t captured;  /* frames captured and run through the local stages */
    uint64_t offloaded; /* frames published to a stage topic */
    uint64_t messages;  /* stage messages they went in (a batch holds several) */
    uint64_t here;      /* frames that ran every stage here without being published */
    uint64_t errors;    /* frames a stage failed on */
    uint64_t skipped;   /* camera frames missed */
    uint64_t results, fallback, retried, duplicates; /* as struct stats_counts */
    uint64_t bytes_sent;
    uint64_t cloud_cpu_us;             /* the cloud's CPU for the run's results */
    uint64_t cloud_results;            /* results that reported it */
    int64_t device_cpu_us;             /* the device's CPU over the closed windows */
    double bytes_per_frame;            /* bytes_sent over offloaded; 0 when none was */
    double stage_us[STATE_MAX_STAGES]; /* time of each stage run here over every frame captured */
    int64_t first_out_us;              /* when the first frame left the device; 0: none did */
};

/* Empty accounts, or NULL on no memory. Free with accounts_free (accepts NULL). */
struct accounts *accounts_new(void);
void accounts_free(struct accounts *acc);

/* Starts the run's first window at now_us. */
void accounts_start(struct accounts *acc, int64_t now_us);

/* Whether the current window has lasted window_us at now_us. */
bool accounts_window_due(const struct accounts *acc, int64_t now_us, int64_t window_us);

/* A frame was captured and ran stages 0..nlocal-1 here, which took stage_us[0..nlocal-1]. */
void accounts_add_captured(struct accounts *acc, const uint32_t *stage_us, unsigned nlocal);

/* A stage failed on a frame (it is lost). */
void accounts_add_error(struct accounts *acc);

/* A frame ran every stage here without being published. */
void accounts_add_here(struct accounts *acc);

/* Encoding and publishing a frame took us, whether or not the publish succeeded. */
void accounts_add_publish_time(struct accounts *acc, double us);

/* A frame was published to a stage topic. */
void accounts_add_offloaded(struct accounts *acc);

/* A stage message was published: one frame, or a batch of frames. */
void accounts_add_message(struct accounts *acc);

/* n bytes of frame payload were published. */
void accounts_add_bytes_sent(struct accounts *acc, uint64_t n);

/* A frame left the device at now_us (published, or emitted in device-only mode); the first such
 * time is kept for the run. */
void accounts_add_output(struct accounts *acc, int64_t now_us);

/* A result accepted from the cloud, which ran stages split..nstages-1 in stage_us[]. */
void accounts_add_cloud_stages(struct accounts *acc, unsigned split, unsigned nstages,
                               const uint32_t *stage_us);

/* A result reported that the cloud spent us of CPU on its frame; us < 0 (not reported) is
 * ignored. */
void accounts_add_cloud_cpu(struct accounts *acc, int64_t us);

/* The device's CPU time so far, total_us (the process's, plus the time slept to emulate a
 * slowdown in sleep mode): the window's device CPU is what it grew by since the call before.
 * Call it at the start of the run and before each accounts_close_window. */
void accounts_set_device_cpu(struct accounts *acc, int64_t total_us);

/* Closes the current window at now_us: writes its accounts to *out, adds them to the run's and
 * starts the next window at now_us. The window's results, fallbacks, retries, duplicates and
 * latencies come from dw (the delivery window just taken), its buffer and drops from ss (the
 * spool's counters now: drops count since the last window) and skipped is the camera frames it
 * missed. dw and ss are borrowed; pass zeroed ones when there is no delivery or spool. */
void accounts_close_window(struct accounts *acc, int64_t now_us, const struct delivery_window *dw,
                           const struct spool_stats *ss, uint64_t skipped,
                           struct accounts_window *out);

/* Writes the run's totals over the closed windows to *out. */
void accounts_get_run(const struct accounts *acc, struct accounts_run *out);

#endif

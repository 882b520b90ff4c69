/* Internals of the edge agent shared by agent.c (set-up and the capture loop), offload.c (what
 * happens to a frame after the local stages: publish, retry, run here, buffer) and report.c
 * (windows, stats and the closing summary). Not for other modules. */
#ifndef ES_AGENT_IMPL_H
#define ES_AGENT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "agent.h"
#include "app.h"
#include "capture.h"
#include "delivery.h"
#include "emulate.h"
#include "result.h"
#include "forward.h"
#include "roster.h"
#include "sched.h"
#include "spool.h"
#include "state.h"
#include "topic.h"
#include "transport.h"

/* Counters of the frames' outcomes, kept per window and for the run (struct stats_counts
 * holds the same for a window; these are the agent thread's own). */
struct tally {
    uint64_t captured;
    uint64_t offloaded; /* frames published to a stage topic */
    uint64_t here;      /* frames that ran every stage here without being published */
    uint64_t errors;    /* frames a stage failed on */
    uint64_t skipped;
};

/* A fault as the log sees it: one line when it starts, one with counts when it ends. */
struct episode {
    bool active;
    int64_t since_us;
    uint64_t frames; /* frames it touched */
};

struct agent {
    const struct edge_opts *o;
    double goal_fps;          /* automatic mode: o->goal_fps, or as reloaded (SIGHUP) */
    sig_atomic_t reload_seen; /* sig->reload when the configuration was last read */
    const struct app *app;
    const struct agent_signals *sig;
    struct capture *capture; /* the source and the first stage */
    struct transport *tp;
    struct delivery *dl;
    struct roster *roster;
    struct spool *spool;
    struct forwarder *fw;
    struct sched *sched;
    struct state *st; /* the frame being processed, from capture_next */
    struct state fb;  /* a frame handed back, decoded to run its remaining stages here */
    uint8_t *buf;     /* wire encoding of st */
    size_t cap;
    char result_text[RESULT_MAX_BYTES + 1]; /* a result computed here, as JSON text */
    unsigned split; /* stages 0..split-1 run here; nstages in device-only mode */
    char stage_topic[TOPIC_MAX];
    char results_topic[TOPIC_MAX];
    char stats_topic[TOPIC_MAX];
    char frames_topic[TOPIC_MAX];
    atomic_bool link_lost; /* set on the transport's thread, taken by the agent's thread */
    struct episode offline, no_worker, late;
    /* the current window and the run */
    struct tally win, run;
    uint64_t run_results, run_fallback, run_retried, run_duplicates;
    uint64_t seen_full, seen_io; /* the spool's drop counters at the last window's end */
    int64_t win_start_us;
    uint64_t win_bytes;
    double win_publish_us;
    double win_stage_sum[STATE_MAX_STAGES];
    uint64_t win_stage_n[STATE_MAX_STAGES];
    struct stage_slowdown slow; /* --slowdown of the stages after the first, this thread's */
    bool slowdown_off;          /* the last state of sig->slowdown_off seen */
    struct uplink uplink;
    char reason[128]; /* why the split last changed */
    unsigned prev_split;
    /* stage times the cloud reported in this window's results (transport thread writes) */
    pthread_mutex_t cloud_lock;
    double cloud_sum[STATE_MAX_STAGES];
    uint64_t cloud_n[STATE_MAX_STAGES];
    int64_t run_start_us;
    unsigned pool;        /* threads running the first stage (capture.h); 0: one thread */
    unsigned cores;       /* online cores */
    int64_t t0_us;        /* monotonic, when agent_run started */
    int64_t first_out_us; /* monotonic, when the first frame was published or emitted; 0 */
    uint64_t run_bytes;
    double run_stage_sum[STATE_MAX_STAGES];
};

/* offload.c */

/* The transport's callbacks: results, worker status, connection changes. */
bool agent__on_message(void *arg, const char *topic, const uint8_t *payload, size_t len);
void agent__on_event(void *arg, enum transport_event ev);

/* After the local stages of a->st: publishes the frame, or, when no worker can take it
 * (offline, nobody serves the split), runs the remaining stages here and buffers the result.
 * Returns ES_OK or the error that lost the frame. */
enum es_err agent__offload(struct agent *a);

/* Handles every frame in flight that is due: publishes it again or runs it here. */
void agent__service(struct agent *a);

/* Waits until a frame may be added to the window, handling due frames meanwhile. ES_ESTOPPED
 * on a stop signal or when the client id was taken over. */
enum es_err agent__make_room(struct agent *a);

/* Waits until no frame is in flight (each ends answered or run here). */
void agent__drain(struct agent *a);

/* Keeps the broker-outage episode's accounts: starts it when !up, and when up again logs the
 * one line that ends it. */
void agent__note_link(struct agent *a, bool up);

/* Sets the split and the stage topic. */
enum es_err agent__set_split(struct agent *a, unsigned split);

/* report.c */

/* Ends a measurement window: one line, stats, a policy decision (unless last). */
void agent__end_window(struct agent *a, int64_t now, bool last);

/* The closing EDGE-SUMMARY line. edge_s: capture to last frame; e2e_s: to the last result. */
void agent__log_summary(struct agent *a, double edge_s, double e2e_s, size_t unsent);

/* Logs the start of an episode (one line) if it is not already going on. */
void agent__episode_start(struct episode *e, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/* Internals of the edge agent shared by agent.c (set-up, the capture loop and the split),
 * offload.c (what happens to a frame after the local stages: publish, retry, run here, buffer)
 * and report.c (windows, stats and the closing summary). Not for other modules. The window's
 * and the run's accounts live in accounts.h, the fault episodes in episode.h. */
#ifndef ES_AGENT_IMPL_H
#define ES_AGENT_IMPL_H

#include <stdatomic.h>

#include "accounts.h"
#include "agent.h"
#include "app.h"
#include "capture.h"
#include "delivery.h"
#include "emulate.h"
#include "episode.h"
#include "result.h"
#include "forward.h"
#include "follow.h"
#include "roster.h"
#include "sched.h"
#include "spool.h"
#include "state.h"
#include "topic.h"
#include "transport.h"
#include "wire_batch.h"

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
    struct follow *follow; /* the fleet planner's plan (automatic mode) */
    struct spool *spool;
    struct forwarder *fw;
    struct sched *sched;
    struct state *st; /* the frame being processed, from capture_next */
    struct state fb;  /* a frame handed back, decoded to run its remaining stages here */
    uint8_t *buf;     /* wire encoding of st */
    size_t cap;
    struct wire_batcher batch; /* frames published but not yet sent (offload.c) */
    int64_t batch_first_us;    /* when its first frame joined it (monotonic) */
    int64_t frame_gap_us;      /* running mean of the time between two frames from capture */
    int64_t last_frame_us;
    char result_text[RESULT_MAX_BYTES + 1]; /* a result computed here, as JSON text */
    unsigned split; /* stages 0..split-1 run here; nstages in device-only mode */
    char stage_topic[TOPIC_MAX];
    char results_topic[TOPIC_MAX];
    char plan_topic[TOPIC_MAX];
    char stats_topic[TOPIC_MAX];
    char frames_topic[TOPIC_MAX];
    atomic_bool link_lost;    /* set on the transport's thread, taken by the agent's thread */
    _Atomic int64_t heard_us; /* when the broker last sent anything (monotonic) */
    char probe_topic[TOPIC_MAX];
    bool probing; /* a probe of a quiet link awaits its acknowledgement (offload.c) */
    struct transport_ticket probe;
    int64_t probe_us;
    struct episodes *episodes;  /* the faults going on (agent's thread) */
    struct accounts *acc;       /* the window's and the run's accounts */
    struct stage_slowdown slow; /* --slowdown of the stages after the first, this thread's */
    bool slowdown_off;          /* the last state of sig->slowdown_off seen */
    struct uplink uplink;
    char reason[256]; /* why the split last changed */
    unsigned prev_split;
    unsigned pool;  /* threads running the first stage (capture.h); 0: one thread */
    unsigned cores; /* online cores */
    int64_t t0_us;  /* monotonic, when agent_run started */
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

/* Sends the frames waiting in the batch, if any; when that fails, every frame in flight runs
 * here (as when the link is lost). */
void agent__flush(struct agent *a);

/* Before the next frame is taken: keeps the batch open while the next frame is due within the
 * batch's hold time, and sends it otherwise. */
void agent__batch_wait(struct agent *a);

/* Waits until no frame is in flight (each ends answered or run here). */
void agent__drain(struct agent *a);

/* Keeps the broker-outage episode: starts it when !up, and ends it when up again. */
void agent__note_link(struct agent *a, bool up);

/* report.c */

/* The device's CPU time so far: the process's, plus the time slept to emulate a slowdown in
 * sleep mode (--slowdown-mode sleep). */
int64_t agent__device_cpu_us(struct agent *a);

/* Ends a measurement window: one line, stats, a policy decision (unless last). Returns the split
 * the next window should run at: the policy's answer, or the current split. It does not change
 * the split; the caller applies it. */
unsigned agent__end_window(struct agent *a, int64_t now, bool last);

/* The closing EDGE-SUMMARY line. edge_s: capture to last frame; e2e_s: to the last result. */
void agent__log_summary(struct agent *a, double edge_s, double e2e_s, size_t unsent);

#endif

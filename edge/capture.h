/* The edge's capture stage: opens the frame source, paces reads like a camera (--rate) and runs
 * the first stage of each frame (for the ball tracker: taking the picture and resizing it).
 *
 * Threaded (--threads N, N >= 2), a reader thread reads the source a few frames ahead of the
 * agent into a ring of frame slots (each keeps its own copy of the picture), and a pool of N
 * threads runs the first stage of several frames at once, each over a view of its own picture
 * (source_view_new). The agent takes the frames in capture order and runs the other local stages
 * and the publish meanwhile. Each stage's time in stage_us is still the time that stage took on
 * the thread that ran it. Inline (--threads 1), everything happens in capture_next on the
 * caller's thread.
 *
 * The agent takes a frame with capture_next, works on it and gives it back with capture_release
 * before it takes the next one. */
#ifndef ES_CAPTURE_H
#define ES_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "emulate.h"
#include "es_err.h"
#include "state.h"

/* Threads of the first-stage pool at most; a pool of N threads gets a ring of N + 3 frames. */
#define CAPTURE_POOL_MAX 16

struct capture_config {
    const struct app *app;
    const char *source;      /* source spec, NULL when the application needs none */
    const char *device;      /* written into every frame */
    uint64_t frames;         /* stop after this many frames; 0: until the source ends or stop */
    double rate;             /* pace like a camera at this fps; 0: as fast as possible */
    unsigned annotate_every; /* ask for an annotated frame every N frames; 0: never */
    const struct slowdown *slowdown; /* emulated slowdown, applied to the first stage too */
    const volatile sig_atomic_t *slowdown_off; /* nonzero: slowdown suspended (SIGUSR1) */
    const volatile sig_atomic_t *stop;         /* nonzero: stop capturing */
    int64_t start_us; /* monotonic start of the run (the slowdown schedule's zero) */
    unsigned pool;    /* threads running the first stage, 1..CAPTURE_POOL_MAX; 0: inline */
};

/* The emulated slowdown of the stages one thread runs (--slowdown), as an app_run stage hook:
 * after each stage it spins for (factor - 1) times what the stage took and records the total
 * in st->stage_us. Each thread that runs stages has its own. */
struct stage_slowdown {
    double factor;            /* in force for the current frame; <= 1: no slowdown */
    struct state *st;         /* the frame whose stages are timed */
    bool sleep;               /* sleep the extra time instead of spinning */
    _Atomic int64_t slept_us; /* the extra time slept so far (any thread may read it) */
    int64_t cpu_mark_us;      /* this thread's CPU time when the current stage started */
};

/* Call before app_run with stage_slowdown_hook, on the thread that runs the stages, once the
 * frame's factor is set. */
void stage_slowdown_start(struct stage_slowdown *s);

/* The hook (arg: a struct stage_slowdown): a CPU factor times slower would have needed factor
 * times the CPU time the stage took on this thread, so the hook adds (factor - 1) times that,
 * spinning (the device's CPU spends it) or sleeping (counted in slept_us). Waits for a core on a
 * shared machine are not stretched. The stage's time (st->stage_us) is its wall time plus the
 * extra. */
void stage_slowdown_hook(void *arg, unsigned stage, int64_t took_us);

/* The factor of slowdown s in force now for a run that started at start_us (monotonic): 1 when
 * s is NULL or off is nonzero (SIGUSR1 suspended it). */
double stage_slowdown_now(const struct slowdown *s, const volatile sig_atomic_t *off,
                          int64_t start_us);

struct capture;

/* Starts capturing. Threaded, the source is opened on the reader thread, so that the caller
 * can connect to the broker meanwhile; inline, it is opened here. Either way capture_opened()
 * reports how that went. Returns ES_ENOMEM or ES_EIO (no thread), else ES_OK. */
enum es_err capture_start(const struct capture_config *cfg, struct capture **out);

/* Waits until the source is open and returns ES_OK, or the error that kept it from opening
 * (ES_EINVAL, ES_ESOURCE). */
enum es_err capture_opened(struct capture *c);

/* The next frame, its first stage run, with *err set to ES_OK or that stage's error (the frame
 * is then to be counted as lost and released). NULL at the end: the source ended, --frames
 * were captured, or stop was set; *err is ES_OK then, or the source's error. */
struct state *capture_next(struct capture *c, enum es_err *err);

/* Gives back the frame capture_next returned. */
/* Waits up to wait_us (0: does not wait) until capture_next would return at once, and tells
 * whether it would. Inline, that is whenever capture is not paced (--rate). */
bool capture_wait(struct capture *c, int64_t wait_us);

void capture_release(struct capture *c, struct state *st);

/* The time the first stages slept so far to emulate a slowdown in sleep mode (struct
 * stage_slowdown), over every thread. */
int64_t capture_slept_us(struct capture *c);

/* Camera frames skipped since the last call (--rate: produced while the device was busy). */
uint64_t capture_take_skipped(struct capture *c);

/* Stops the thread and frees c with its states and source. Accepts NULL. */
void capture_free(struct capture *c);

#endif

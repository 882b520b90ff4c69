/* The task interface: an application is a table of stages run in order over one frame state.
 * This header, state.h and es_err.h are the public interface (installed as
 * <edgesplit/app.h>, <edgesplit/state.h>, <edgesplit/es_err.h>; link with libedgesplit,
 * `pkg-config --cflags --libs edgesplit`). They know nothing of MQTT or OpenCV.
 *
 * The contracts an application (built in, or a plugin: see the end of this file) must keep:
 *
 * Fields and masks. Each stage declares the fields it reads and writes as bit masks (bit i =
 * field i, FIELD_BIT). From those declarations the framework knows which fields a split K must
 * ship (app_live_fields): only the fields some stage at or after K still reads before rewriting
 * them. The declarations must be exact: a field read but not declared is missing on the worker
 * when the split falls before the stage; a field written but not declared is not shipped. A
 * stage that reads a field only when the frame asks for an annotated image declares it in
 * reads_annotated. A stage may read only fields an earlier stage writes (app_check).
 *
 * Stages are pure. A stage's output depends only on the fields it reads and the frame header
 * (device, seq, captured_us, flags): no globals, no state kept between calls, no clock or random
 * source other than the header (seed generators from seq). The same frame then gives the same
 * result at every split, on the device or on any worker. Workers run one stage function on many
 * threads at once, each on its own struct state: stages must be thread-safe.
 *
 * The first and the last stage. The first stage produces the frame (it owns the sensor) and always
 * runs on the device: it gets io->source when the application reads frames from a source
 * (source_default not NULL), else it makes the frame from the header (a sensor read). The last
 * stage turns the state into the application's result: it sets io->result to a new JSON object
 * (Jansson) with the application's own members, and always runs where the result is published.
 * The framework adds device, seq, split, captured_us, completed_us, worker, stage_us and fallback;
 * members of those names are dropped from io->result. When the frame has STATE_WANT_FRAME the last
 * stage may set io->jpeg (malloc'd) to an annotated picture. JSON values made while a frame runs
 * live only as long as the frame: the programs give Jansson per-frame memory, freed at once when
 * the frame ends (so a frame's result costs no malloc). Keep no JSON value across frames, and do
 * not free() text from json_dumps made during a frame: it is frame memory too (json_dumpb writes
 * into a buffer of your own).
 *
 * Ending early. A stage may end a frame early by setting STATE_ENDED in st->flags: the remaining
 * stages are skipped, except the last, so every frame still ends as exactly one result. The last
 * stage must then cope with the fields the skipped stages never wrote (state_numbers and the
 * others return NULL for an absent field).
 *
 * Memory. The state owns every field's buffer and keeps it between frames; a stage asks for room
 * with state_put_image / state_put_polylines / state_put_numbers and never frees a field. A
 * steady stream of same-sized frames then allocates nothing after the first one.
 *
 * Errors. A stage returns ES_OK, or an es_err naming the failure (ES_EINVAL for a missing or
 * malformed input field, ES_ENOMEM, ES_ECV for an image-processing failure). The frame is then
 * dropped, logged and counted where it ran; it is not retried. The first stage returns ES_EEOF
 * when its source has no more frames, which ends the run. A stage must not exit, abort, or block
 * on anything but its own computation and, for the first stage, its source.
 *
 * Limits. app_limits bounds what a received frame may hold; the wire decoder enforces it before it
 * allocates anything, so a peer cannot make a worker expand a small message into a huge one. */
#ifndef ES_APP_H
#define ES_APP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct source;

/* What a stage works on. The runner owns it; a stage reads and writes st and, for the last
 * stage, fills result and jpeg. */
struct stage_io {
    struct state *st;
    struct source *source; /* frame source, used by the first stage; NULL elsewhere */
    json_t *result;        /* last stage: a new JSON object with the application's result fields
                            * (detected, x, ...). The caller owns it and must json_decref it. */
    uint8_t *jpeg;         /* last stage: malloc'd annotated JPEG when STATE_WANT_FRAME was set,
                            * else NULL. The caller owns it and must free it. */
    size_t jpeg_len;
};

typedef enum es_err (*stage_fn)(struct stage_io *io);

struct stage_def {
    const char *name;
    stage_fn run;
    uint32_t reads;           /* fields always read */
    uint32_t reads_annotated; /* fields read only when STATE_WANT_FRAME is set */
    uint32_t writes;          /* fields written (present after the stage ran) */
};

struct field_def {
    const char *name;
    enum field_type type;
};

/* Bounds on what the application ever puts in a frame, which the wire decoder enforces before
 * it allocates anything: a peer cannot make a worker expand a small message into a picture
 * larger than the application makes (a 65-byte run-length mask can claim 8192 x 8192). A zero
 * member means the framework's own limit (STATE_MAX_DIM, STATE_MAX_POINTS). */
struct app_limits {
    uint32_t max_width;  /* images and masks */
    uint32_t max_height; /* images and masks */
    uint32_t max_points; /* points in all polylines of a field */
};

struct app {
    const char *name; /* on the wire; [a-z0-9_]{1,32} */
    const struct field_def *fields;
    unsigned nfields;
    const struct stage_def *stages;
    unsigned nstages;
    const char *source_default; /* source spec used when none is given, e.g. "synthetic" */
                                /* NULL: the first stage needs no frame source (sensor) */
    struct app_limits limits;   /* of received frames; zeros: the framework's */
};

#define FIELD_BIT(id) (1u << (id))

/* Fields that must travel with the frame for the stages k..nstages-1 to run, given whether the
 * frame wants an annotated image. k == 0 or k >= nstages gives 0. */
uint32_t app_live_fields(const struct app *app, unsigned k, bool annotate);

/* The double closest to the shortest decimal that reads back as v. A float such as 27.9f widens
 * to 27.899999618530273 and would print as 27.8999996185303; app_float(27.9f) prints as 27.9.
 * Stages use it for float32 values (e.g. from OpenCV) before json_real. */
double app_float(float v);

/* Checks that app is a table the framework can run: a name of [a-z0-9_]{1,32}; 1 to
 * STATE_MAX_FIELDS fields, each named [a-z0-9_]{1,32}, names distinct, of a known type; 2 to
 * STATE_MAX_STAGES stages, each named and with a function; masks naming declared fields only;
 * the first stage reading nothing; every stage reading only fields an earlier stage writes;
 * limits within the framework's. Returns true, or false with one line in why (n bytes). Plugin
 * authors can call it in their own tests. */
bool app_check(const struct app *app, char *why, size_t n);

/* Called by app_run after each stage with the time it took, so a program can emulate a slower
 * device or record timings. */
typedef void (*stage_hook_fn)(void *arg, unsigned stage, int64_t took_us);

/* Runs stages from..to-1 of io->st->app over io, timing each into io->st->stage_us. Skips the
 * stages before the last one once STATE_ENDED is set. Returns the first stage's error (the
 * remaining stages are not run) or ES_OK. */
enum es_err app_run(struct stage_io *io, unsigned from, unsigned to, stage_hook_fn hook,
                    void *hook_arg);

/* --- Plugins -----------------------------------------------------------------------------------
 * An application built as a shared library (`edge-agent --app ./libmine.so`, `cloud-worker --app
 * ./libmine.so`) exports exactly one symbol, ES_PLUGIN_SYMBOL, a struct es_plugin naming its
 * table. Write ES_PLUGIN(my_app); at file scope of one source file. The programs refuse a library
 * whose abi differs from theirs (rebuild it against the installed headers), whose symbol is
 * missing or whose table fails app_check, with one line and exit status 2. The name in the table
 * goes on the wire: the edge and the workers must load the same plugin. */
#define ES_PLUGIN_ABI 1u
#define ES_PLUGIN_SYMBOL "edgesplit_plugin"

struct es_plugin {
    uint32_t abi;      /* ES_PLUGIN_ABI of the headers it was built with */
    uint32_t app_size; /* sizeof(struct app) of those headers */
    const struct app *app;
};

#define ES_PLUGIN(app_)                                                                            \
    __attribute__((visibility("default"))) const struct es_plugin edgesplit_plugin = {             \
        ES_PLUGIN_ABI, (uint32_t)sizeof(struct app), &(app_)}

#endif

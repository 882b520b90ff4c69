/* The task interface: an application is a table of stages run in order over one frame state.
 *
 * Each stage declares the fields it reads and writes as bit masks (bit i = field i). From those
 * declarations the framework knows which fields a split K must ship (app_live_fields): only the
 * fields some stage at or after K still reads before rewriting them. A stage that reads a field
 * only when the frame asks for an annotated image declares it in reads_annotated.
 *
 * The first stage produces the frame (it owns the sensor) and always runs on the device; the last
 * stage turns the state into the application's result and always runs where the result is
 * published. A stage may end a frame early by setting STATE_ENDED in st->flags: the remaining
 * stages are skipped, except the last, so every frame still ends as exactly one result. */
#ifndef ES_APP_H
#define ES_APP_H

#include <jansson.h>
#include <stdbool.h>
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

/* Looks an application up by name among the built-in ones; NULL if none. */
const struct app *app_find(const char *name);

/* The built-in applications, NULL-terminated, for help texts and tests. */
const struct app *const *app_all(void);

/* Called by app_run after each stage with the time it took, so a program can emulate a slower
 * device or record timings. */
typedef void (*stage_hook_fn)(void *arg, unsigned stage, int64_t took_us);

/* Runs stages from..to-1 of io->st->app over io, timing each into io->st->stage_us. Skips the
 * stages before the last one once STATE_ENDED is set. Returns the first stage's error (the
 * remaining stages are not run) or ES_OK. */
enum es_err app_run(struct stage_io *io, unsigned from, unsigned to, stage_hook_fn hook,
                    void *hook_arg);

#endif

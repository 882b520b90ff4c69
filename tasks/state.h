/* Frame state: the typed fields that flow between the stages of one frame.
 *
 * An application declares its fields (struct field_def, see app.h); each field has one type.
 * The framework, not the application, serializes fields, so every type here has a wire encoding
 * (topics/wire.h). A state owns its buffers and keeps them between frames: state_reset() marks
 * every field absent but keeps the memory, so a steady stream of same-sized frames allocates
 * nothing after the first frame. */
#ifndef ES_STATE_H
#define ES_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

#define STATE_MAX_FIELDS 16
#define STATE_MAX_STAGES 16
#define STATE_MAX_NUMBERS 32
#define STATE_DEVICE_MAX 64

enum field_type {
    FIELD_IMAGE = 1,   /* 8-bit image, 1..4 interleaved channels, rows packed (stride = w*ch) */
    FIELD_MASK = 2,    /* 8-bit single-channel image whose every pixel is 0 or 255 */
    FIELD_POINTS = 3,  /* a list of polylines (e.g. contours) of int32 points */
    FIELD_NUMBERS = 4, /* up to STATE_MAX_NUMBERS doubles */
};

/* Frame flags carried on the wire. */
enum state_flag {
    STATE_WANT_FRAME = 1u << 0, /* publish an annotated JPEG of this frame */
    STATE_ENDED = 1u << 1,      /* a stage ended the frame early: only the last stage still runs */
};

struct image {
    int width;
    int height;
    int channels;
    uint8_t *data; /* width * height * channels bytes, owned by the state */
    size_t cap;    /* allocated bytes */
};

struct point {
    int32_t x;
    int32_t y;
};

/* count polylines; polyline i is pts[start[i] .. start[i+1]-1]; start has count + 1 entries. */
struct polylines {
    uint32_t count;
    uint32_t total; /* number of points, == start[count] */
    uint32_t *start;
    struct point *pts;
    uint32_t count_cap;
    uint32_t total_cap;
};

struct numbers {
    uint32_t count;
    double v[STATE_MAX_NUMBERS];
};

struct field {
    enum field_type type;
    bool present;
    struct image img; /* FIELD_IMAGE and FIELD_MASK */
    struct polylines pl;
    struct numbers num;
};

struct app;

struct state {
    const struct app *app;
    char device[STATE_DEVICE_MAX + 1];
    uint64_t seq;
    int64_t captured_us;                 /* wall clock at capture */
    uint32_t flags;                      /* enum state_flag */
    uint8_t split;                       /* the split K this frame travelled at (0: device-only) */
    uint32_t stage_us[STATE_MAX_STAGES]; /* time each stage took where it ran */
    struct field fields[STATE_MAX_FIELDS];
};

/* Prepares st for app: every field absent, no memory allocated yet. */
void state_init(struct state *st, const struct app *app);

/* Marks every field absent and clears the per-frame header, keeping buffers for reuse. */
void state_reset(struct state *st);

/* Frees every buffer. st may be reused after state_init(). Accepts a zeroed state. */
void state_release(struct state *st);

/* Makes field id a present image (or mask) of w x h x ch and returns it for writing; its pixels
 * are unspecified. Returns NULL if id is not an image/mask field, the size is out of range, or
 * memory runs out (the field is then absent). */
struct image *state_put_image(struct state *st, unsigned id, int w, int h, int ch);

/* Makes field id a present, empty polyline list with room for count lines and total points
 * (more can be added with polylines_add). Returns NULL on a wrong field type or no memory. */
struct polylines *state_put_polylines(struct state *st, unsigned id, uint32_t count,
                                      uint32_t total);

/* Appends one polyline of n points to pl, growing its buffers. ES_ENOMEM leaves pl unchanged. */
enum es_err polylines_add(struct polylines *pl, const struct point *pts, uint32_t n);

/* Makes field id present with count numbers, all zero. NULL on wrong type or count too big. */
struct numbers *state_put_numbers(struct state *st, unsigned id, uint32_t count);

/* Read access: NULL when the field is absent or of another type. */
const struct image *state_image(const struct state *st, unsigned id);
const struct polylines *state_polylines(const struct state *st, unsigned id);
const struct numbers *state_numbers(const struct state *st, unsigned id);

/* Marks field id absent (buffers kept). */
void state_drop(struct state *st, unsigned id);

/* Largest image dimension and channel count the state accepts (and the wire decoder). */
#define STATE_MAX_DIM 8192
#define STATE_MAX_CHANNELS 4
/* Limits on polylines, also enforced by the wire decoder. */
#define STATE_MAX_POLYLINES 65536u
#define STATE_MAX_POINTS (4u * 1024u * 1024u)

#endif

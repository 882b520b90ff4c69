#include "toy_app.h"

#include <math.h>
#include <string.h>

static enum es_err toy_noop(struct stage_io *io)
{
    (void)io;
    return ES_OK;
}

static const struct field_def toy_fields[TOY_NFIELDS] = {
    [TOY_FRAME] = {.name = "frame", .type = FIELD_IMAGE},
    [TOY_HSV] = {.name = "hsv", .type = FIELD_IMAGE},
    [TOY_MASK] = {.name = "mask", .type = FIELD_MASK},
    [TOY_CONTOURS] = {.name = "contours", .type = FIELD_POINTS},
    [TOY_CIRCLE] = {.name = "circle", .type = FIELD_NUMBERS},
};

/* The drawing stage and the result read the frame only when the frame asks for an annotated
 * image; drawing rewrites it. */
static const struct stage_def toy_stages[TOY_NSTAGES] = {
    {.name = "get_frame", .run = toy_noop, .writes = FIELD_BIT(TOY_FRAME)},
    {.name = "calculate_hsv",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_FRAME),
     .writes = FIELD_BIT(TOY_HSV)},
    {.name = "calculate_mask",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_HSV),
     .writes = FIELD_BIT(TOY_MASK)},
    {.name = "find_contours",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_MASK),
     .writes = FIELD_BIT(TOY_CONTOURS)},
    {.name = "calculate_circle",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_CONTOURS),
     .writes = FIELD_BIT(TOY_CIRCLE)},
    {.name = "draw_circle",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_CIRCLE),
     .reads_annotated = FIELD_BIT(TOY_FRAME),
     .writes = FIELD_BIT(TOY_FRAME)},
    {.name = "publish_result",
     .run = toy_noop,
     .reads = FIELD_BIT(TOY_CIRCLE),
     .reads_annotated = FIELD_BIT(TOY_FRAME)},
};

const struct app toy_app = {
    .name = "toy_ball",
    .fields = toy_fields,
    .nfields = TOY_NFIELDS,
    .stages = toy_stages,
    .nstages = TOY_NSTAGES,
    .source_default = "synthetic",
};

void toy_header(struct state *st)
{
    strcpy(st->device, "cam-01");
    st->seq = 1042;
    st->captured_us = 1795000000123456;
    st->flags = 0;
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        st->stage_us[i] = 100 * i + 7;
}

static bool fill_image(struct state *st, unsigned id, int w, int h, uint32_t seed)
{
    struct image *img = state_put_image(st, id, w, h, 3);
    if (!img)
        return false;
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        img->data[i] = (uint8_t)(seed >> 24);
    }
    return true;
}

static bool fill_mask(struct state *st, int w, int h, int cx, int cy, int r)
{
    struct image *m = state_put_image(st, TOY_MASK, w, h, 1);
    if (!m)
        return false;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            m->data[y * w + x] = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r ? 255 : 0;
    return true;
}

/* A square-ish contour around (cx, cy), an empty polyline and a two-point one. */
static bool fill_contours(struct state *st, int cx, int cy, int r)
{
    struct point ring[4 * 64];
    uint32_t n = 0;
    for (int d = -r; d < r; d++)
        ring[n++] = (struct point){cx + d, cy - r};
    for (int d = -r; d < r; d++)
        ring[n++] = (struct point){cx + r, cy + d};
    for (int d = r; d > -r; d--)
        ring[n++] = (struct point){cx + d, cy + r};
    for (int d = r; d > -r; d--)
        ring[n++] = (struct point){cx - r, cy + d};
    const struct point two[2] = {{-5, 3}, {INT32_MAX, INT32_MIN}};
    struct polylines *pl = state_put_polylines(st, TOY_CONTOURS, 3, n + 2);
    return pl && polylines_add(pl, ring, n) == ES_OK && polylines_add(pl, NULL, 0) == ES_OK &&
           polylines_add(pl, two, 2) == ES_OK;
}

static bool fill(struct state *st, int w, int h, int cx, int cy, int r, bool nan)
{
    toy_header(st);
    struct numbers *num = state_put_numbers(st, TOY_CIRCLE, 6);
    if (!num || !fill_image(st, TOY_FRAME, w, h, 1) || !fill_image(st, TOY_HSV, w, h, 2) ||
        !fill_mask(st, w, h, cx, cy, r) || !fill_contours(st, cx, cy, r))
        return false;
    const double v[6] = {1.0, cx + 0.5, cy + 0.25, r - 0.1, cx + 1, cy};
    memcpy(num->v, v, sizeof v);
    if (nan)
        num->v[3] = NAN;
    return true;
}

bool toy_fill_ball(struct state *st, bool nan)
{
    return fill(st, 500, 281, 231, 118, 28, nan);
}

bool toy_fill_small(struct state *st)
{
    return fill(st, 16, 9, 8, 4, 3, false);
}

static bool same_image(const struct image *a, const struct image *b)
{
    return a->width == b->width && a->height == b->height && a->channels == b->channels &&
           memcmp(a->data, b->data, (size_t)a->width * a->height * a->channels) == 0;
}

static bool same_polylines(const struct polylines *a, const struct polylines *b)
{
    if (a->count != b->count || a->total != b->total)
        return false;
    for (uint32_t i = 0; i < a->count; i++) {
        uint32_t n = a->start[i + 1] - a->start[i];
        if (b->start[i + 1] - b->start[i] != n ||
            (n && memcmp(a->pts + a->start[i], b->pts + b->start[i], n * sizeof *a->pts) != 0))
            return false;
    }
    return true;
}

bool toy_same_field(const struct state *a, const struct state *b, unsigned id)
{
    const struct field *fa = &a->fields[id], *fb = &b->fields[id];
    if (!fa->present || !fb->present || fa->type != fb->type)
        return false;
    switch (fa->type) {
    case FIELD_IMAGE:
    case FIELD_MASK:
        return same_image(&fa->img, &fb->img);
    case FIELD_POINTS:
        return same_polylines(&fa->pl, &fb->pl);
    case FIELD_NUMBERS:
        return fa->num.count == fb->num.count &&
               memcmp(fa->num.v, fb->num.v, fa->num.count * sizeof(double)) == 0;
    }
    return false;
}

bool toy_same_state(const struct state *a, const struct state *b)
{
    if (strcmp(a->device, b->device) != 0 || a->seq != b->seq || a->captured_us != b->captured_us ||
        a->flags != b->flags || a->split != b->split ||
        memcmp(a->stage_us, b->stage_us, sizeof a->stage_us) != 0)
        return false;
    for (unsigned id = 0; id < STATE_MAX_FIELDS; id++) {
        if (a->fields[id].present != b->fields[id].present)
            return false;
        if (a->fields[id].present && !toy_same_field(a, b, id))
            return false;
    }
    return true;
}

bool toy_any_present(const struct state *st)
{
    for (unsigned id = 0; id < STATE_MAX_FIELDS; id++)
        if (st->fields[id].present)
            return true;
    return false;
}

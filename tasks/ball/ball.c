#include "ball.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../log.h"
#include "../source.h"
#include "cv_adapter.h"

#define BLUR_KSIZE 11
#define MORPH_ITERATIONS 2
#define MIN_RADIUS 5.0
#define JPEG_QUALITY 80

static const double green_lo[3] = {29, 86, 6};
static const double green_hi[3] = {64, 255, 255};
static const double yellow[3] = {0, 255, 255};
static const double red[3] = {0, 0, 255};

static enum es_err missing(const char *stage, const char *field)
{
    log_msg(LOG_ERROR, "BALL-INPUT", "%s: field %s is absent", stage, field);
    return ES_EINVAL;
}

/* Runs an adapter call that writes field id; on failure the field is dropped, not left half
 * written. */
static enum es_err wrote(struct state *st, unsigned id, enum es_err err)
{
    if (err != ES_OK)
        state_drop(st, id);
    return err;
}

static enum es_err get_frame(struct stage_io *io)
{
    if (!io->source) {
        log_msg(LOG_ERROR, "BALL-INPUT", "get_frame: no frame source");
        return ES_EINVAL;
    }
    const struct image *src;
    enum es_err err = source_read(io->source, &src);
    if (err != ES_OK)
        return err;
    int h = src->width > 0 ? (int)((int64_t)src->height * BALL_WIDTH / src->width) : 0;
    if (src->channels != 3 || h < 1) {
        log_msg(LOG_ERROR, "BALL-FRAME", "get_frame: unusable %dx%dx%d frame", src->width,
                src->height, src->channels);
        return ES_ESOURCE;
    }
    struct image *dst = state_put_image(io->st, BALL_FRAME, BALL_WIDTH, h, 3);
    if (!dst)
        return h > STATE_MAX_DIM ? ES_ELIMIT : ES_ENOMEM;
    return wrote(io->st, BALL_FRAME, cvx_resize_area(src, dst));
}

static enum es_err calculate_hsv(struct stage_io *io)
{
    const struct image *frame = state_image(io->st, BALL_FRAME);
    if (!frame)
        return missing("calculate_hsv", "frame");
    struct image *hsv = state_put_image(io->st, BALL_HSV, frame->width, frame->height, 3);
    if (!hsv)
        return ES_ENOMEM;
    return wrote(io->st, BALL_HSV, cvx_blur_hsv(frame, BLUR_KSIZE, hsv));
}

static enum es_err calculate_mask(struct stage_io *io)
{
    const struct image *hsv = state_image(io->st, BALL_HSV);
    if (!hsv)
        return missing("calculate_mask", "hsv");
    struct image *mask = state_put_image(io->st, BALL_MASK, hsv->width, hsv->height, 1);
    if (!mask)
        return ES_ENOMEM;
    enum es_err err = cvx_range_mask(hsv, green_lo, green_hi, MORPH_ITERATIONS, mask);
    return wrote(io->st, BALL_MASK, err);
}

static enum es_err find_contours(struct stage_io *io)
{
    const struct image *mask = state_image(io->st, BALL_MASK);
    if (!mask)
        return missing("find_contours", "mask");
    struct polylines *pl = state_put_polylines(io->st, BALL_CONTOURS, 0, 0);
    if (!pl)
        return ES_ENOMEM;
    enum es_err err = cvx_external_contours(mask, pl);
    if (err != ES_OK)
        return wrote(io->st, BALL_CONTOURS, err);
    if (pl->count == 0)
        io->st->flags |= STATE_ENDED;
    return ES_OK;
}

static enum es_err calculate_circle(struct stage_io *io)
{
    const struct polylines *pl = state_polylines(io->st, BALL_CONTOURS);
    if (!pl)
        return missing("calculate_circle", "contours");
    struct cvx_circle c;
    enum es_err err = cvx_largest_circle(pl, &c);
    if (err != ES_OK)
        return err;
    struct numbers *num = state_put_numbers(io->st, BALL_CIRCLE, CIRCLE_NUMBERS);
    if (!num)
        return ES_ENOMEM;
    if (c.index < 0)
        return ES_OK; /* all zero: not detected */
    num->v[CIRCLE_X] = c.x;
    num->v[CIRCLE_Y] = c.y;
    num->v[CIRCLE_RADIUS] = c.radius;
    if (c.m00 == 0)
        return ES_OK;
    double cx = c.m10 / c.m00, cy = c.m01 / c.m00;
    if (!(fabs(cx) < STATE_MAX_DIM * 4.0 && fabs(cy) < STATE_MAX_DIM * 4.0))
        return ES_OK; /* a degenerate outline with its centroid far away */
    num->v[CIRCLE_CX] = (int)cx;
    num->v[CIRCLE_CY] = (int)cy;
    num->v[CIRCLE_DETECTED] = c.radius > MIN_RADIUS ? 1 : 0;
    return ES_OK;
}

/* True when the CIRCLE numbers are present and say a ball was found. */
/* Circle numbers that came over the network may be anything: a detection must have finite
 * coordinates and radius within a picture's reach before they are converted or drawn. */
static bool circle_sane(const double *v)
{
    const unsigned keys[] = {CIRCLE_X, CIRCLE_Y, CIRCLE_RADIUS, CIRCLE_CX, CIRCLE_CY};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!isfinite(v[keys[i]]) || fabs(v[keys[i]]) > 1e6)
            return false;
    return true;
}

static bool detected(const struct state *st)
{
    const struct numbers *num = state_numbers(st, BALL_CIRCLE);
    return num && num->count >= CIRCLE_NUMBERS && num->v[CIRCLE_DETECTED] != 0;
}

static enum es_err draw_circle(struct stage_io *io)
{
    if (!(io->st->flags & STATE_WANT_FRAME))
        return ES_OK;
    if (!state_numbers(io->st, BALL_CIRCLE))
        return missing("draw_circle", "circle");
    if (!state_image(io->st, BALL_FRAME))
        return missing("draw_circle", "frame");
    if (!detected(io->st))
        return ES_OK;
    const double *v = state_numbers(io->st, BALL_CIRCLE)->v;
    if (!circle_sane(v)) {
        log_msg(LOG_ERROR, "BALL-INPUT", "draw_circle: circle numbers out of range");
        return ES_EINVAL;
    }
    struct image *frame = &io->st->fields[BALL_FRAME].img;
    enum es_err err = cvx_draw_circle(frame, (int)v[CIRCLE_X], (int)v[CIRCLE_Y],
                                      (int)v[CIRCLE_RADIUS], yellow, 2);
    if (err == ES_OK)
        err = cvx_draw_circle(frame, (int)v[CIRCLE_CX], (int)v[CIRCLE_CY], 5, red, -1);
    return err;
}

/* A JSON real that prints as the shortest decimal reading back as the same float32, so a radius
 * of 27.9f dumps as 27.9 (with JSON_REAL_PRECISION(15) or more) rather than 27.899999618530273. */
static json_t *float_real(double v)
{
    return json_real(app_float((float)v));
}

/* Sets key on obj to value (consumed). Returns false when value is NULL or setting failed. */
static bool put(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0;
}

static enum es_err fill_result(const struct state *st, json_t *res)
{
    bool found = detected(st);
    if (!put(res, "detected", json_boolean(found)))
        return ES_EJSON;
    if (!found)
        return ES_OK;
    const double *v = state_numbers(st, BALL_CIRCLE)->v;
    if (!circle_sane(v)) {
        log_msg(LOG_ERROR, "BALL-INPUT", "publish_result: circle numbers out of range");
        return ES_EINVAL;
    }
    json_t *center = json_pack("[II]", (json_int_t)v[CIRCLE_CX], (json_int_t)v[CIRCLE_CY]);
    if (!put(res, "x", float_real(v[CIRCLE_X])) || !put(res, "y", float_real(v[CIRCLE_Y])) ||
        !put(res, "radius", float_real(v[CIRCLE_RADIUS])) || !put(res, "center", center))
        return ES_EJSON;
    return ES_OK;
}

static enum es_err publish_result(struct stage_io *io)
{
    io->result = NULL;
    io->jpeg = NULL;
    io->jpeg_len = 0;
    json_t *res = json_object();
    if (!res)
        return ES_ENOMEM;
    enum es_err err = fill_result(io->st, res);
    if (err != ES_OK)
        goto cleanup;
    if (io->st->flags & STATE_WANT_FRAME) {
        const struct image *frame = state_image(io->st, BALL_FRAME);
        err = frame ? cvx_encode_jpeg(frame, JPEG_QUALITY, &io->jpeg, &io->jpeg_len)
                    : missing("publish_result", "frame");
        if (err != ES_OK)
            goto cleanup;
    }
    io->result = res;
    return ES_OK;
cleanup:
    json_decref(res);
    return err;
}

static const struct field_def ball_fields[BALL_NFIELDS] = {
    [BALL_FRAME] = {"frame", FIELD_IMAGE},     [BALL_HSV] = {"hsv", FIELD_IMAGE},
    [BALL_MASK] = {"mask", FIELD_MASK},        [BALL_CONTOURS] = {"contours", FIELD_POINTS},
    [BALL_CIRCLE] = {"circle", FIELD_NUMBERS},
};

#define F(id) FIELD_BIT(id)

static const struct stage_def ball_stages[] = {
    {.name = "get_frame", .run = get_frame, .writes = F(BALL_FRAME)},
    {.name = "calculate_hsv", .run = calculate_hsv, .reads = F(BALL_FRAME), .writes = F(BALL_HSV)},
    {.name = "calculate_mask", .run = calculate_mask, .reads = F(BALL_HSV), .writes = F(BALL_MASK)},
    {.name = "find_contours",
     .run = find_contours,
     .reads = F(BALL_MASK),
     .writes = F(BALL_CONTOURS)},
    {.name = "calculate_circle",
     .run = calculate_circle,
     .reads = F(BALL_CONTOURS),
     .writes = F(BALL_CIRCLE)},
    {.name = "draw_circle",
     .run = draw_circle,
     .reads = F(BALL_CIRCLE),
     .reads_annotated = F(BALL_FRAME),
     .writes = F(BALL_FRAME)},
    {.name = "publish_result",
     .run = publish_result,
     .reads = F(BALL_CIRCLE),
     .reads_annotated = F(BALL_FRAME)},
};

const struct app ball_app = {
    .name = "ball",
    .fields = ball_fields,
    .nfields = BALL_NFIELDS,
    .stages = ball_stages,
    .nstages = sizeof ball_stages / sizeof ball_stages[0],
    .source_default = "synthetic",
    /* get_frame makes every picture 500 wide; 2000 high covers a 1:4 portrait source; a mask of
     * 500 x 2000 has fewer contour points than pixels */
    .limits = {.max_width = 500, .max_height = 2000, .max_points = 1000000},
};

/* thermal: an example edgesplit application built as a plugin (see README.md).
 *
 * A 32 x 24 thermal camera looks at a room; a warm spot drifts through it. Four stages:
 *
 *   0 read_frame    the sensor's frame: 8-bit temperatures, one per pixel      -> "raw" (image)
 *   1 smooth        3 x 3 box filter, which removes single-pixel noise         -> "smooth" (image)
 *   2 find_hotspot  pixels above HOT: how many, their centroid and the peak    -> "spot" (numbers)
 *   3 report        {"hot":true|false,"x":..,"y":..,"peak":..,"area":..}
 *
 * At split 1 the device ships the raw frame (768 bytes), at split 2 the smoothed one, at split 3
 * four numbers: the split policy picks from those costs and the stages' times.
 *
 * Everything a stage computes comes from the fields it declares and from the frame's seq (the
 * noise generator is seeded with it), so a frame gives the same result wherever it runs. */
#include <edgesplit/app.h>

#include <jansson.h>
#include <stdint.h>

#define W 32
#define H 24
#define AMBIENT 40 /* the room, in sensor units */
#define HOT 120    /* a pixel this warm or warmer belongs to the spot */

enum thermal_field { RAW, SMOOTH, SPOT, NFIELDS };
enum spot_number { SPOT_AREA, SPOT_X, SPOT_Y, SPOT_PEAK, SPOT_NUMBERS };

static const struct field_def fields[NFIELDS] = {
    [RAW] = {"raw", FIELD_IMAGE},
    [SMOOTH] = {"smooth", FIELD_IMAGE},
    [SPOT] = {"spot", FIELD_NUMBERS},
};

static uint32_t next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Stage 0: the spot follows a slow loop through the room; every 50th frame it is gone (nobody
 * there), so the last stage reports both outcomes. */
static enum es_err read_frame(struct stage_io *io)
{
    struct image *img = state_put_image(io->st, RAW, W, H, 1);
    if (!img)
        return ES_ENOMEM;
    uint64_t seq = io->st->seq;
    uint32_t rng = (uint32_t)(seq * 2654435761u) | 1u;
    int cx = (int)(seq % (2 * (W - 8))), cy = (int)(seq / 3 % (2 * (H - 8)));
    cx = 4 + (cx < W - 8 ? cx : 2 * (W - 8) - cx);
    cy = 4 + (cy < H - 8 ? cy : 2 * (H - 8) - cy);
    bool present = seq % 50 != 49;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            int v = AMBIENT + (int)(next_random(&rng) % 9) - 4;
            if (present && d2 <= 9)
                v += 150 - 10 * d2;
            img->data[y * W + x] = (uint8_t)(v > 255 ? 255 : v);
        }
    return ES_OK;
}

/* Stage 1: each pixel becomes the mean of its 3 x 3 neighbourhood (clamped at the borders). */
static enum es_err smooth(struct stage_io *io)
{
    const struct image *in = state_image(io->st, RAW);
    if (!in || in->channels != 1)
        return ES_EINVAL;
    struct image *out = state_put_image(io->st, SMOOTH, in->width, in->height, 1);
    if (!out)
        return ES_ENOMEM;
    for (int y = 0; y < in->height; y++)
        for (int x = 0; x < in->width; x++) {
            int sum = 0, n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < in->height && xx >= 0 && xx < in->width) {
                        sum += in->data[yy * in->width + xx];
                        n++;
                    }
                }
            out->data[y * in->width + x] = (uint8_t)((sum + n / 2) / n);
        }
    return ES_OK;
}

/* Stage 2: the spot's area, centroid and peak. With no hot pixel the frame ends here. */
static enum es_err find_hotspot(struct stage_io *io)
{
    const struct image *img = state_image(io->st, SMOOTH);
    if (!img || img->channels != 1)
        return ES_EINVAL;
    long area = 0, sx = 0, sy = 0;
    int peak = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            int v = img->data[y * img->width + x];
            peak = v > peak ? v : peak;
            if (v >= HOT) {
                area++;
                sx += x;
                sy += y;
            }
        }
    if (area == 0) {
        io->st->flags |= STATE_ENDED;
        return ES_OK;
    }
    struct numbers *spot = state_put_numbers(io->st, SPOT, SPOT_NUMBERS);
    if (!spot)
        return ES_EINVAL;
    spot->v[SPOT_AREA] = (double)area;
    spot->v[SPOT_X] = (double)sx / (double)area;
    spot->v[SPOT_Y] = (double)sy / (double)area;
    spot->v[SPOT_PEAK] = peak;
    return ES_OK;
}

/* Stage 3: the result. A frame that ended early has no SPOT field. */
static enum es_err report(struct stage_io *io)
{
    const struct numbers *spot = state_numbers(io->st, SPOT);
    if (!spot) {
        io->result = json_pack("{s:b}", "hot", 0);
    } else {
        if (spot->count != SPOT_NUMBERS)
            return ES_EINVAL;
        io->result =
            json_pack("{s:b,s:f,s:f,s:i,s:i}", "hot", 1, "x", spot->v[SPOT_X], "y", spot->v[SPOT_Y],
                      "peak", (int)spot->v[SPOT_PEAK], "area", (int)spot->v[SPOT_AREA]);
    }
    return io->result ? ES_OK : ES_ENOMEM;
}

static const struct stage_def stages[] = {
    {"read_frame", read_frame, 0, 0, FIELD_BIT(RAW)},
    {"smooth", smooth, FIELD_BIT(RAW), 0, FIELD_BIT(SMOOTH)},
    {"find_hotspot", find_hotspot, FIELD_BIT(SMOOTH), 0, FIELD_BIT(SPOT)},
    {"report", report, FIELD_BIT(SPOT), 0, 0},
};

static const struct app thermal_app = {
    .name = "thermal",
    .fields = fields,
    .nfields = NFIELDS,
    .stages = stages,
    .nstages = sizeof stages / sizeof stages[0],
    .source_default = NULL, /* the first stage reads the sensor itself */
    .limits = {.max_width = W, .max_height = H},
};

ES_PLUGIN(thermal_app);

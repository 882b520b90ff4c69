#include "synthetic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Noise is +-NOISE per channel. The background is stored NOISE below its true value and the
 * noise as 0..2*NOISE, so one unsigned add per byte never carries (all background values lie in
 * [NOISE, 255 - NOISE]) and eight bytes can be added at once in a uint64_t. */
#define NOISE 6
#define ROW_BYTES (SYNTHETIC_WIDTH * 3)
#define ROW_WORDS (ROW_BYTES / 8)
#define FRAME_WORDS (ROW_WORDS * SYNTHETIC_HEIGHT)
#define NOISE_SHIFTS 1024 /* distinct 8-byte-aligned start offsets of a row of noise */
#define NOISE_WORDS (ROW_WORDS + NOISE_SHIFTS)
#define TILE 32

/* The ball's colour (B, G, R): hue ~52 of 180, saturation ~204, well inside the tracked range. */
static const double ball_bgr[3] = {40, 200, 80};

struct synthetic {
    uint32_t seed;
    double radius;
    double start[2]; /* position along the unfolded bounce path at frame 0 */
    double vel[2];
    uint64_t *bg;    /* background minus NOISE */
    uint64_t *noise; /* bytes 0..2*NOISE */
    uint16_t shift[SYNTHETIC_HEIGHT];
    struct image frame;
};

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static const uint8_t palette[][3] = {
    {118, 118, 118}, {146, 146, 146}, {96, 98, 100},  /* greys */
    {55, 85, 140},   {70, 105, 160},  {50, 80, 125},  /* browns */
    {170, 110, 70},  {190, 140, 100}, {150, 100, 80}, /* blues */
};

/* One background pixel: tiles of a palette colour with a brightness ramp and grout lines. */
static void background_pixel(uint32_t seed, int x, int y, uint8_t out[3])
{
    int tx = x / TILE, ty = y / TILE, u = x % TILE, v = y % TILE;
    if (u < 2 || v < 2) {
        memset(out, 84, 3);
        return;
    }
    uint64_t h = mix64(((uint64_t)seed << 32) ^ ((uint64_t)ty << 16) ^ (uint64_t)tx);
    const uint8_t *c = palette[h % (sizeof palette / sizeof palette[0])];
    int ramp = (u + v) / 4 - 8;
    for (int k = 0; k < 3; k++)
        out[k] = (uint8_t)(c[k] + ramp);
}

static void build_tables(struct synthetic *syn)
{
    uint8_t *bg = (uint8_t *)syn->bg;
    for (int y = 0; y < SYNTHETIC_HEIGHT; y++)
        for (int x = 0; x < SYNTHETIC_WIDTH; x++) {
            uint8_t *p = bg + (size_t)y * ROW_BYTES + (size_t)x * 3;
            background_pixel(syn->seed, x, y, p);
            for (int k = 0; k < 3; k++)
                p[k] = (uint8_t)(p[k] - NOISE);
        }
    uint64_t s = mix64(syn->seed ^ 0x5eedull) | 1;
    uint8_t *nz = (uint8_t *)syn->noise;
    for (size_t i = 0; i < (size_t)NOISE_WORDS * 8; i++)
        nz[i] = (uint8_t)(xorshift(&s) % (2 * NOISE + 1));
}

static void choose_motion(struct synthetic *syn)
{
    uint64_t h = mix64(syn->seed);
    syn->radius = 22 + (double)(h % 17);
    h = mix64(h);
    syn->vel[0] = (6 + (double)(h % 3)) * ((h >> 8) & 1 ? 1 : -1);
    syn->vel[1] = (4 + (double)((h >> 16) % 3)) * ((h >> 24) & 1 ? 1 : -1);
    for (int k = 0; k < 2; k++) {
        h = mix64(h);
        syn->start[k] = (double)(h % 100000) / 100000.0; /* a fraction of the period */
    }
}

enum es_err synthetic_new(uint32_t seed, struct synthetic **out)
{
    *out = NULL;
    struct synthetic *syn = calloc(1, sizeof *syn);
    if (!syn)
        return ES_ENOMEM;
    syn->seed = seed;
    syn->bg = malloc((size_t)FRAME_WORDS * 8);
    syn->noise = malloc((size_t)NOISE_WORDS * 8);
    syn->frame.data = malloc((size_t)FRAME_WORDS * 8);
    if (!syn->bg || !syn->noise || !syn->frame.data) {
        synthetic_free(syn);
        return ES_ENOMEM;
    }
    syn->frame.width = SYNTHETIC_WIDTH;
    syn->frame.height = SYNTHETIC_HEIGHT;
    syn->frame.channels = 3;
    syn->frame.cap = (size_t)FRAME_WORDS * 8;
    build_tables(syn);
    choose_motion(syn);
    *out = syn;
    return ES_OK;
}

/* Position along one axis: the centre bounces within [-2.5 r, size + 2.5 r]. */
static double bounce(double start, double vel, uint64_t index, double size, double r)
{
    double len = size + 5 * r, period = 2 * len;
    double u = fmod(start * period + vel * (double)index, period);
    if (u < 0)
        u += period;
    if (u > len)
        u = period - u;
    return u - 2.5 * r;
}

void synthetic_truth(const struct synthetic *syn, uint64_t index, struct source_truth *out)
{
    out->x = bounce(syn->start[0], syn->vel[0], index, SYNTHETIC_WIDTH, syn->radius);
    out->y = bounce(syn->start[1], syn->vel[1], index, SYNTHETIC_HEIGHT, syn->radius);
    out->radius = syn->radius;
    out->visible =
        out->x >= 0 && out->x < SYNTHETIC_WIDTH && out->y >= 0 && out->y < SYNTHETIC_HEIGHT;
}

/* Background plus one row of noise per image row, each at a per-frame pseudo-random shift. */
static void render_background(struct synthetic *syn, uint64_t index)
{
    uint64_t s = mix64(mix64(syn->seed) ^ index) | 1;
    uint64_t *dst = (uint64_t *)syn->frame.data;
    for (int y = 0; y < SYNTHETIC_HEIGHT; y++) {
        syn->shift[y] = (uint16_t)(xorshift(&s) % NOISE_SHIFTS);
        const uint64_t *b = syn->bg + (size_t)y * ROW_WORDS, *n = syn->noise + syn->shift[y];
        uint64_t *d = dst + (size_t)y * ROW_WORDS;
        for (int i = 0; i < ROW_WORDS; i++)
            d[i] = b[i] + n[i];
    }
}

static void render_ball(struct synthetic *syn, const struct source_truth *t)
{
    double r = t->radius, r2 = r * r;
    int x0 = (int)floor(t->x - r), x1 = (int)ceil(t->x + r);
    int y0 = (int)floor(t->y - r), y1 = (int)ceil(t->y + r);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= SYNTHETIC_WIDTH ? SYNTHETIC_WIDTH - 1 : x1;
    y1 = y1 >= SYNTHETIC_HEIGHT ? SYNTHETIC_HEIGHT - 1 : y1;
    for (int y = y0; y <= y1; y++) {
        uint8_t *row = syn->frame.data + (size_t)y * ROW_BYTES;
        const uint8_t *nz = (const uint8_t *)(syn->noise + syn->shift[y]);
        double dy2 = (y - t->y) * (y - t->y);
        for (int x = x0; x <= x1; x++) {
            double d2 = (x - t->x) * (x - t->x) + dy2;
            if (d2 > r2)
                continue;
            double shade = 1.0 - 0.15 * d2 / r2; /* brighter towards the middle */
            for (int k = 0; k < 3; k++) {
                int i = x * 3 + k;
                row[i] = (uint8_t)(lround(ball_bgr[k] * shade) + nz[i] - NOISE);
            }
        }
    }
}

const struct image *synthetic_render(struct synthetic *syn, uint64_t index)
{
    struct source_truth t;
    synthetic_truth(syn, index, &t);
    render_background(syn, index);
    render_ball(syn, &t);
    return &syn->frame;
}

void synthetic_free(struct synthetic *syn)
{
    if (!syn)
        return;
    free(syn->bg);
    free(syn->noise);
    free(syn->frame.data);
    free(syn);
}

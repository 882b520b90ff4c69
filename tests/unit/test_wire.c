/* Wire format v1: round trips of every field type and split, and rejection of malformed input. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "toy_app.h"
#include "wire.h"

static uint8_t *g_buf;
static size_t g_cap, g_len;

static enum es_err encode(const struct state *st, unsigned k)
{
    return wire_encode(st, k, &g_buf, &g_cap, &g_len);
}

/* Encodes src at k, decodes into dst and checks the header came through. */
static enum es_err roundtrip(const struct state *src, unsigned k, struct state *dst)
{
    enum es_err err = encode(src, k);
    CHECK_EQ_INT(err, ES_OK);
    if (err != ES_OK)
        return err;
    char why[128];
    err = wire_decode_ex(g_buf, g_len, dst, why, sizeof why);
    CHECK_EQ_INT(err, ES_OK);
    if (err != ES_OK) {
        fprintf(stderr, "decode failed: %s\n", why);
        return err;
    }
    CHECK(strcmp(dst->device, src->device) == 0);
    CHECK_EQ_INT(dst->seq, src->seq);
    CHECK_EQ_INT(dst->captured_us, src->captured_us);
    CHECK_EQ_INT(dst->flags, src->flags);
    CHECK_EQ_INT(dst->split, k);
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        CHECK_EQ_INT(dst->stage_us[i], i < k ? src->stage_us[i] : 0);
    return ES_OK;
}

static void test_every_split(void)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    CHECK(toy_fill_ball(&src, 1));
    /* What the stages from k on read, as declared by the ball tracker (index k). */
    const uint32_t plain[TOY_NSTAGES] = {0,
                                         1u << TOY_FRAME,
                                         1u << TOY_HSV,
                                         1u << TOY_MASK,
                                         1u << TOY_CONTOURS,
                                         1u << TOY_CIRCLE,
                                         1u << TOY_CIRCLE};
    for (int annotate = 0; annotate <= 1; annotate++) {
        src.flags = annotate ? STATE_WANT_FRAME : 0;
        for (unsigned k = 1; k < TOY_NSTAGES; k++) {
            uint32_t want = plain[k] | (annotate ? 1u << TOY_FRAME : 0);
            if (roundtrip(&src, k, &dst) != ES_OK)
                continue;
            for (unsigned id = 0; id < TOY_NFIELDS; id++) {
                bool live = (want >> id) & 1;
                CHECK_EQ_INT(dst.fields[id].present, live);
                if (live)
                    CHECK(toy_same_field(&src, &dst, id));
            }
        }
    }
    /* A field the stages need but the state lacks is simply not shipped. */
    state_drop(&src, TOY_CIRCLE);
    src.flags = STATE_ENDED;
    if (roundtrip(&src, 5, &dst) == ES_OK)
        CHECK(!dst.fields[TOY_CIRCLE].present);
    state_release(&src);
    state_release(&dst);
}

static void test_ball_mask_size(void)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    CHECK(toy_fill_ball(&src, 0));
    CHECK_EQ_INT(encode(&src, 3), ES_OK);
    printf("ball mask 500x281 message: %zu bytes\n", g_len);
    CHECK(g_len < 600);
    CHECK_EQ_INT(wire_decode(g_buf, g_len, &dst), ES_OK);
    CHECK(toy_same_field(&src, &dst, TOY_MASK));
    const struct image *m = state_image(&dst, TOY_MASK);
    CHECK(m && m->data[118 * 500 + 231] == 255 && m->data[0] == 0);
    state_release(&src);
    state_release(&dst);
}

/* An application's limits hold before anything is allocated: the 500x281 mask (a few hundred
 * bytes on the wire) is refused for an application whose pictures are at most 400 wide, and the
 * contours for one allowing fewer points than they have. */
static void test_app_limits(void)
{
    struct app narrow = toy_app, few = toy_app;
    narrow.limits.max_width = 400;
    few.limits.max_points = 10;
    struct state src, dst, dst2;
    state_init(&src, &toy_app);
    state_init(&dst, &narrow);
    state_init(&dst2, &few);
    CHECK(toy_fill_ball(&src, 0));
    CHECK_EQ_INT(encode(&src, 3), ES_OK);
    char why[128] = "";
    CHECK_EQ_INT(wire_decode_ex(g_buf, g_len, &dst, why, sizeof why), ES_ELIMIT);
    CHECK(strstr(why, "500x281 exceeds 400x8192") != NULL);
    CHECK(dst.fields[TOY_MASK].img.cap == 0); /* nothing was allocated for it */
    CHECK_EQ_INT(encode(&src, 4), ES_OK);
    CHECK_EQ_INT(wire_decode_ex(g_buf, g_len, &dst2, why, sizeof why), ES_ELIMIT);
    CHECK(strstr(why, "more than 10 points") != NULL);
    CHECK_EQ_INT(wire_decode(g_buf, g_len, &dst), ES_OK); /* no point limit there */
    state_release(&src);
    state_release(&dst);
    state_release(&dst2);
}

/* Round-trips a mask of w x h whose pixel i is pix(i) at split 3. */
static void mask_case(int w, int h, uint8_t (*pix)(size_t, size_t))
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    toy_header(&src);
    struct image *m = state_put_image(&src, TOY_MASK, w, h, 1);
    CHECK(m != NULL);
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; m && i < n; i++)
        m->data[i] = pix(i, n);
    if (m && roundtrip(&src, 3, &dst) == ES_OK)
        CHECK(toy_same_field(&src, &dst, TOY_MASK));
    state_release(&src);
    state_release(&dst);
}

static uint8_t px_zero(size_t i, size_t n)
{
    (void)i, (void)n;
    return 0;
}

static uint8_t px_full(size_t i, size_t n)
{
    (void)i, (void)n;
    return 255;
}

static uint8_t px_checker(size_t i, size_t n)
{
    (void)n;
    return (i % 2) ? 0 : 255; /* starts with 255: the first run is empty */
}

static uint8_t px_last(size_t i, size_t n)
{
    return i + 1 == n ? 255 : 0;
}

static uint8_t px_stripes(size_t i, size_t n)
{
    (void)n;
    return (i / 1000) % 2 ? 255 : 0; /* runs of 1000 need two-byte varints */
}

static void test_mask_edges(void)
{
    mask_case(1, 1, px_zero);
    mask_case(1, 1, px_full);
    mask_case(37, 11, px_zero);
    mask_case(37, 11, px_full);
    mask_case(37, 11, px_checker);
    mask_case(37, 11, px_last);
    mask_case(640, 360, px_stripes);
    mask_case(STATE_MAX_DIM, 3, px_full);
}

static void image_case(int w, int h, int ch)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    toy_header(&src);
    struct image *img = state_put_image(&src, TOY_FRAME, w, h, ch);
    CHECK(img != NULL);
    size_t n = (size_t)w * (size_t)h * (size_t)ch;
    for (size_t i = 0; img && i < n; i++)
        img->data[i] = (uint8_t)(i * 131 + 7);
    if (img && roundtrip(&src, 1, &dst) == ES_OK)
        CHECK(toy_same_field(&src, &dst, TOY_FRAME));
    state_release(&src);
    state_release(&dst);
}

static void test_image_edges(void)
{
    image_case(1, 1, 1);
    image_case(1, 1, 4);
    image_case(500, 281, 3);
    image_case(STATE_MAX_DIM, 1, 2);
    image_case(1, STATE_MAX_DIM, 3);
}

static void points_case(const uint32_t *lens, unsigned nlines, const struct point *pts)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    toy_header(&src);
    struct polylines *pl = state_put_polylines(&src, TOY_CONTOURS, 0, 0);
    for (unsigned i = 0; pl && i < nlines; i++) {
        CHECK_EQ_INT(polylines_add(pl, pts, lens[i]), ES_OK);
        pts += lens[i];
    }
    if (roundtrip(&src, 4, &dst) == ES_OK) {
        CHECK(toy_same_field(&src, &dst, TOY_CONTOURS));
        CHECK_EQ_INT(dst.fields[TOY_CONTOURS].pl.count, nlines);
    }
    state_release(&src);
    state_release(&dst);
}

static void test_points_edges(void)
{
    const struct point pts[] = {
        {0, 0}, {INT32_MAX, INT32_MIN}, {INT32_MIN, INT32_MAX}, {-1, 1},       {5, 5}, {6, 5},
        {7, 4}, {INT32_MIN, INT32_MIN}, {INT32_MAX, INT32_MAX}, {-300, 123456}};
    points_case(NULL, 0, pts);
    const uint32_t empty[] = {0, 0, 0};
    points_case(empty, 3, pts);
    const uint32_t mixed[] = {4, 0, 3, 1, 0, 2};
    points_case(mixed, 6, pts);
}

static void test_numbers_edges(void)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    toy_header(&src);
    struct numbers *num = state_put_numbers(&src, TOY_CIRCLE, 0);
    CHECK(num != NULL);
    if (num && roundtrip(&src, 5, &dst) == ES_OK) {
        CHECK(toy_same_field(&src, &dst, TOY_CIRCLE));
        CHECK_EQ_INT(dst.fields[TOY_CIRCLE].num.count, 0);
    }
    num = state_put_numbers(&src, TOY_CIRCLE, STATE_MAX_NUMBERS);
    CHECK(num != NULL);
    const double special[] = {NAN, -NAN, INFINITY, -INFINITY, -0.0, DBL_MAX, DBL_MIN, 5e-324};
    for (unsigned i = 0; num && i < STATE_MAX_NUMBERS; i++)
        num->v[i] = i < 8 ? special[i] : i * 0.1;
    uint64_t payload_nan = 0x7FF8000000ABCDEFull; /* a NaN with a payload must keep its bits */
    if (num)
        memcpy(&num->v[9], &payload_nan, 8);
    if (num && roundtrip(&src, 6, &dst) == ES_OK) {
        CHECK(toy_same_field(&src, &dst, TOY_CIRCLE));
        CHECK(isnan(dst.fields[TOY_CIRCLE].num.v[0]));
        CHECK(memcmp(&dst.fields[TOY_CIRCLE].num.v[9], &payload_nan, 8) == 0);
    }
    state_release(&src);
    state_release(&dst);
}

static void test_encoder_rejects(void)
{
    struct state st;
    state_init(&st, &toy_app);
    CHECK(toy_fill_ball(&st, 0));
    CHECK_EQ_INT(encode(&st, 0), ES_EINVAL);
    CHECK_EQ_INT(encode(&st, TOY_NSTAGES), ES_EINVAL);
    struct image *m = &st.fields[TOY_MASK].img;
    m->data[1000] = 7;
    CHECK_EQ_INT(encode(&st, 3), ES_EINVAL);
    m->data[1000] = 0;
    CHECK_EQ_INT(encode(&st, 3), ES_OK);
    CHECK_EQ_INT(encode(&st, 1), ES_OK); /* the mask is not shipped at split 1 */
    strcpy(st.device, "cam/01");
    CHECK_EQ_INT(encode(&st, 3), ES_EINVAL);
    st.device[0] = '\0';
    CHECK_EQ_INT(encode(&st, 3), ES_EINVAL);
    strcpy(st.device, "cam-01");
    st.flags = 1u << 7;
    CHECK_EQ_INT(encode(&st, 3), ES_EINVAL);
    state_release(&st);
}

static void test_peek(void)
{
    struct state st;
    state_init(&st, &toy_app);
    CHECK(toy_fill_ball(&st, 0));
    st.flags = STATE_WANT_FRAME;
    CHECK_EQ_INT(encode(&st, 4), ES_OK);
    struct wire_header h;
    CHECK_EQ_INT(wire_peek(g_buf, g_len, &h), ES_OK);
    CHECK(strcmp(h.app, "toy_ball") == 0);
    CHECK(strcmp(h.device, "cam-01") == 0);
    CHECK_EQ_INT(h.split, 4);
    CHECK_EQ_INT(h.seq, st.seq);
    CHECK_EQ_INT(h.captured_us, st.captured_us);
    CHECK_EQ_INT(h.flags, STATE_WANT_FRAME);
    CHECK(memcmp(g_buf, WIRE_MAGIC, 3) == 0 && g_buf[3] == WIRE_VERSION);
    CHECK_EQ_INT(wire_peek(g_buf, 20, &h), ES_ETRUNC);
    state_release(&st);
}

/* Every prefix of a valid message fails cleanly, and the state stays usable. */
static void test_every_prefix(void)
{
    struct state src, dst;
    state_init(&src, &toy_app);
    state_init(&dst, &toy_app);
    CHECK(toy_fill_small(&src));
    src.flags = STATE_WANT_FRAME;
    for (unsigned k = 1; k < TOY_NSTAGES; k++) {
        CHECK_EQ_INT(encode(&src, k), ES_OK);
        int bad = 0;
        for (size_t n = 0; n < g_len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overread */
            memcpy(copy, g_buf, n);
            if (wire_decode(copy, n, &dst) == ES_OK || toy_any_present(&dst))
                bad++;
            free(copy);
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(wire_decode(g_buf, g_len, &dst), ES_OK);
    }
    state_release(&src);
    state_release(&dst);
}

int main(void)
{
    test_every_split();
    test_ball_mask_size();
    test_app_limits();
    test_mask_edges();
    test_image_edges();
    test_points_edges();
    test_numbers_edges();
    test_encoder_rejects();
    test_peek();
    test_every_prefix();
    free(g_buf);
    return check_exit();
}

/* Wire format v1: hand-built messages, valid and malformed, against the decoder. Also pins the
 * byte layout of WIRE.md: a hand-built message must equal the encoder's output byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "toy_app.h"
#include "wire.h"

/* A second application, to check that a message for one is refused by a state for another. */
static const struct field_def other_fields[] = {{.name = "n", .type = FIELD_NUMBERS}};
static const struct stage_def other_stages[] = {{.name = "a"}, {.name = "b"}};
static const struct app other_app = {
    .name = "other", .fields = other_fields, .nfields = 1, .stages = other_stages, .nstages = 2};

static uint8_t *g_buf;
static size_t g_cap, g_len;

struct msg {
    uint8_t b[1024];
    size_t n;
};

static void put(struct msg *m, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void putv(struct msg *m, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        m->b[m->n++] = (uint8_t)(v | 0x80);
    m->b[m->n++] = (uint8_t)v;
}

static void put_str(struct msg *m, const char *s)
{
    size_t n = strlen(s);
    put(m, n, 1);
    memcpy(m->b + m->n, s, n);
    m->n += n;
}

/* A v1 header as toy_header() fills it, then the field count. */
static struct msg header(const char *app, unsigned split, const char *dev, uint32_t flags,
                         unsigned nfields)
{
    struct msg m = {.n = 0};
    memcpy(m.b, "ESW\x01", 4);
    m.n = 4;
    put_str(&m, app);
    put(&m, split, 1);
    put_str(&m, dev);
    put(&m, 1042, 8);
    put(&m, 1795000000123456, 8);
    put(&m, flags, 4);
    for (unsigned i = 0; i < split && i < STATE_MAX_STAGES; i++)
        put(&m, 100 * i + 7, 4);
    put(&m, nfields, 1);
    return m;
}

static void field(struct msg *m, unsigned id, unsigned type, uint32_t len)
{
    put(m, id, 1);
    put(m, type, 1);
    put(m, len, 4);
}

/* The circle numbers {1.0, 2.5} at split 5: a valid message to mutate. */
static struct msg circle_msg(unsigned count, unsigned have)
{
    struct msg m = header("toy_ball", 5, "cam-01", 0, 1);
    field(&m, TOY_CIRCLE, FIELD_NUMBERS, 1 + 8 * have);
    put(&m, count, 1);
    const double v[2] = {1.0, 2.5};
    for (unsigned i = 0; i < have; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i % 2], 8);
        put(&m, bits, 8);
    }
    return m;
}

static int expect_line;

/* Decodes m into a toy state; checks the error, that no field is left and the reason text. */
static void expect_at(const struct msg *m, enum es_err want, const char *why_has)
{
    struct state st;
    state_init(&st, &toy_app);
    char why[160];
    enum es_err err = wire_decode_ex(m->b, m->n, &st, why, sizeof why);
    if (err != want)
        fprintf(stderr, "line %d: got %s (%s)\n", expect_line, es_errname(err), why);
    CHECK_EQ_INT(err, want);
    CHECK(err == ES_OK || !toy_any_present(&st));
    if (why_has && !strstr(why, why_has))
        fprintf(stderr, "line %d: reason \"%s\" lacks \"%s\"\n", expect_line, why, why_has);
    CHECK(!why_has || strstr(why, why_has));
    state_release(&st);
}

#define EXPECT(m, want, why_has) (expect_line = __LINE__, expect_at(&(m), (want), (why_has)))

static void test_layout_matches_encoder(void)
{
    struct state st;
    state_init(&st, &toy_app);
    toy_header(&st);
    struct numbers *num = state_put_numbers(&st, TOY_CIRCLE, 2);
    num->v[0] = 1.0;
    num->v[1] = 2.5;
    CHECK_EQ_INT(wire_encode(&st, 5, &g_buf, &g_cap, &g_len), ES_OK);
    struct msg m = circle_msg(2, 2);
    CHECK_EQ_INT(g_len, m.n);
    CHECK(g_len == m.n && memcmp(g_buf, m.b, m.n) == 0);
    EXPECT(m, ES_OK, NULL);
    state_release(&st);
}

static void test_header_rejects(void)
{
    struct msg m = circle_msg(2, 2);
    m.b[2] = 'X';
    EXPECT(m, ES_EMAGIC, "magic");
    m = circle_msg(2, 2);
    m.b[3] = 2;
    EXPECT(m, ES_EVERSION, "version 2");
    m = header("ball", 5, "cam-01", 0, 0);
    EXPECT(m, ES_EAPP, "application ball,");
    m = header("Toy", 5, "cam-01", 0, 0);
    EXPECT(m, ES_EFORMAT, "application");
    m = header("", 5, "cam-01", 0, 0);
    EXPECT(m, ES_EFORMAT, "application");
    m = header("toy_ball_toy_ball_toy_ball_toy_ba", 5, "cam-01", 0, 0);
    EXPECT(m, ES_EFORMAT, "application");
    const char *bad_dev[] = {
        "cam/01", "cam+", "#",
        "cam 1",  "",     "cam-0123456789012345678901234567890123456789012345678901234567890"};
    for (unsigned i = 0; i < sizeof bad_dev / sizeof *bad_dev; i++) {
        m = header("toy_ball", 5, bad_dev[i], 0, 0);
        EXPECT(m, ES_EFORMAT, "device");
    }
    m = header("toy_ball", 5, "Cam_01234567890123456789012345678901234567890123456789012345678-", 0,
               0);
    EXPECT(m, ES_OK, NULL);
    const unsigned bad_split[] = {0, TOY_NSTAGES, STATE_MAX_STAGES, 255};
    for (unsigned i = 0; i < 4; i++) {
        m = header("toy_ball", bad_split[i], "cam-01", 0, 0);
        EXPECT(m, ES_EFORMAT, "split");
    }
    m = header("toy_ball", TOY_NSTAGES - 1, "cam-01", STATE_ENDED, 0);
    EXPECT(m, ES_OK, NULL);
    m = header("toy_ball", 5, "cam-01", 1u << 2, 0);
    EXPECT(m, ES_EFORMAT, "flags");
    m = header("toy_ball", 5, "cam-01", 0, TOY_NFIELDS + 1);
    EXPECT(m, ES_EFORMAT, "fields");
    m = circle_msg(2, 2);
    m.b[m.n++] = 0;
    EXPECT(m, ES_EFORMAT, "trailing");

    struct state other;
    state_init(&other, &other_app);
    m = circle_msg(2, 2);
    CHECK_EQ_INT(wire_decode(m.b, m.n, &other), ES_EAPP);
    state_release(&other);
    uint8_t *huge = calloc(1, (size_t)WIRE_MAX_PAYLOAD + 1);
    memcpy(huge, m.b, m.n);
    struct state st;
    state_init(&st, &toy_app);
    CHECK_EQ_INT(wire_decode(huge, (size_t)WIRE_MAX_PAYLOAD + 1, &st), ES_ELIMIT);
    state_release(&st);
    free(huge);
}

static void test_field_rejects(void)
{
    struct msg m = circle_msg(2, 2);
    m.b[m.n - 23] = TOY_NFIELDS; /* the field id */
    EXPECT(m, ES_EFORMAT, "out of range");
    m = circle_msg(2, 2);
    m.b[m.n - 22] = FIELD_IMAGE; /* the field type */
    EXPECT(m, ES_EFORMAT, "type");
    m = header("toy_ball", 5, "cam-01", 0, 2);
    field(&m, TOY_CIRCLE, FIELD_NUMBERS, 1);
    put(&m, 0, 1);
    field(&m, TOY_CIRCLE, FIELD_NUMBERS, 1);
    put(&m, 0, 1);
    EXPECT(m, ES_EFORMAT, "twice");
    m = header("toy_ball", 5, "cam-01", 0, 1); /* the frame is only read when annotating */
    field(&m, TOY_FRAME, FIELD_IMAGE, 6);
    put(&m, 1, 2), put(&m, 1, 2), put(&m, 1, 1), put(&m, 9, 1);
    EXPECT(m, ES_EFORMAT, "not read");
    m.b[37] = STATE_WANT_FRAME; /* flags (offset 37 here): now it is read */
    EXPECT(m, ES_OK, NULL);
    m = circle_msg(2, 2);
    m.b[m.n - 21] = 200; /* field length past the buffer */
    EXPECT(m, ES_ETRUNC, "left");
    m = circle_msg(2, 2);
    m.b[m.n - 19] = 1; /* field length above 64 KiB */
    EXPECT(m, ES_ETRUNC, "left");
    m = circle_msg(STATE_MAX_NUMBERS + 1, 2);
    EXPECT(m, ES_ELIMIT, "numbers");
    m = circle_msg(3, 2);
    EXPECT(m, ES_EFORMAT, "numbers");
    m = circle_msg(1, 2);
    EXPECT(m, ES_EFORMAT, "numbers");
}

static struct msg image_msg(unsigned w, unsigned h, unsigned ch, uint32_t bytes)
{
    struct msg m = header("toy_ball", 1, "cam-01", 0, 1);
    field(&m, TOY_FRAME, FIELD_IMAGE, 5 + bytes);
    put(&m, w, 2), put(&m, h, 2), put(&m, ch, 1);
    memset(m.b + m.n, 0x5A, bytes);
    m.n += bytes;
    return m;
}

static struct msg mask_msg(unsigned w, unsigned h, const uint64_t *runs, unsigned n)
{
    struct msg m = header("toy_ball", 3, "cam-01", 0, 1);
    field(&m, TOY_MASK, FIELD_MASK, 0);
    size_t at = m.n;
    put(&m, w, 2), put(&m, h, 2);
    for (unsigned i = 0; i < n; i++)
        putv(&m, runs[i]);
    uint32_t len = (uint32_t)(m.n - at);
    memcpy(m.b + at - 4, &len, 4); /* the test machine is little-endian, as is the wire */
    return m;
}

static void test_image_rejects(void)
{
    struct msg m = image_msg(2, 3, 1, 6);
    EXPECT(m, ES_OK, NULL);
    m = image_msg(0, 10, 1, 0);
    EXPECT(m, ES_EFORMAT, "0x10");
    m = image_msg(9000, 10, 1, 0);
    EXPECT(m, ES_ELIMIT, "image 9000x10 exceeds 8192x8192");
    m = image_msg(10, 65535, 3, 30);
    EXPECT(m, ES_ELIMIT, "exceeds");
    m = image_msg(8192, 8192, 4, 16); /* huge but in range: refused before any allocation */
    EXPECT(m, ES_EFORMAT, "needs");
    m = image_msg(2, 2, 0, 0);
    EXPECT(m, ES_ELIMIT, "channels");
    m = image_msg(2, 2, 5, 20);
    EXPECT(m, ES_ELIMIT, "channels");
    m = image_msg(2, 3, 1, 5);
    EXPECT(m, ES_EFORMAT, "needs 6");
    m = image_msg(2, 3, 1, 7);
    EXPECT(m, ES_EFORMAT, "needs 6");

    const uint64_t ok[] = {0, 5, 3, 8}, full[] = {16}, ones[] = {0, 16};
    m = mask_msg(4, 4, ok, 4);
    EXPECT(m, ES_OK, NULL);
    m = mask_msg(4, 4, full, 1);
    EXPECT(m, ES_OK, NULL);
    m = mask_msg(4, 4, ones, 2);
    EXPECT(m, ES_OK, NULL);
    const uint64_t over[] = {10, 7}, short_[] = {10, 5}, zero[] = {5, 0, 11}, after[] = {16, 0},
                   giant[] = {1ull << 40};
    m = mask_msg(4, 4, over, 2);
    EXPECT(m, ES_EFORMAT, "exceed");
    m = mask_msg(4, 4, short_, 2);
    EXPECT(m, ES_ETRUNC, "mask run");
    m = mask_msg(4, 4, zero, 3);
    EXPECT(m, ES_EFORMAT, "empty");
    m = mask_msg(4, 4, after, 2);
    EXPECT(m, ES_EFORMAT, NULL);
    m = mask_msg(4, 4, giant, 1);
    EXPECT(m, ES_EFORMAT, "exceed");
    m = mask_msg(9000, 4, full, 1);
    EXPECT(m, ES_ELIMIT, "9000x4");
    m = mask_msg(0, 4, full, 1);
    EXPECT(m, ES_EFORMAT, NULL);
    m = mask_msg(4, 4, NULL, 0);
    size_t len_at = m.n - 8; /* the field length's low byte, before width and height */
    memcpy(m.b + m.n, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    m.n += 11;
    m.b[len_at] = 4 + 11;
    EXPECT(m, ES_EFORMAT, "varint");
}

static struct msg points_msg(const uint64_t *v, unsigned n)
{
    struct msg m = header("toy_ball", 4, "cam-01", 0, 1);
    field(&m, TOY_CONTOURS, FIELD_POINTS, 0);
    size_t at = m.n;
    for (unsigned i = 0; i < n; i++)
        putv(&m, v[i]);
    uint32_t len = (uint32_t)(m.n - at);
    memcpy(m.b + at - 4, &len, 4);
    return m;
}

static void test_points_rejects(void)
{
    /* two polylines: (1,-1) (2,-1) and none */
    const uint64_t ok[] = {2, 2, 2, 1, 2, 0, 0};
    struct msg m = points_msg(ok, 7);
    struct state st;
    state_init(&st, &toy_app);
    CHECK_EQ_INT(wire_decode(m.b, m.n, &st), ES_OK);
    const struct polylines *pl = state_polylines(&st, TOY_CONTOURS);
    CHECK(pl && pl->count == 2 && pl->total == 2 && pl->pts[1].x == 2 && pl->pts[1].y == -1);
    state_release(&st);
    const uint64_t lines[] = {STATE_MAX_POLYLINES + 1}, few[] = {3, 0, 0},
                   many[] = {1, STATE_MAX_POINTS + 1, 0, 0}, claim[] = {1, 100, 2, 2, 2, 2},
                   big[] = {1, 1, 1ull << 32, 0}, tail[] = {1, 0, 0};
    m = points_msg(lines, 1);
    EXPECT(m, ES_ELIMIT, "polylines");
    m = points_msg(few, 3);
    EXPECT(m, ES_ETRUNC, "polylines");
    m = points_msg(many, 4);
    EXPECT(m, ES_ELIMIT, "points");
    m = points_msg(claim, 6);
    EXPECT(m, ES_ETRUNC, "100 points");
    m = points_msg(big, 4);
    EXPECT(m, ES_EFORMAT, "int32");
    m = points_msg(tail, 3);
    EXPECT(m, ES_EFORMAT, "after");
}

int main(void)
{
    test_layout_matches_encoder();
    test_header_rejects();
    test_field_rejects();
    test_image_rejects();
    test_points_rejects();
    free(g_buf);
    return check_exit();
}

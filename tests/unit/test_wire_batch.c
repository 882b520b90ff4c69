/* Frame batches (topics/wire_batch.h): what the batcher builds is what the reader gives back,
 * frame for frame and byte for byte; the layout is WIRE.md's (a hand-built batch equals the
 * batcher's output); and every malformed container is refused with its reason. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "toy_app.h"
#include "wire.h"
#include "wire_batch.h"

/* Wire v1 messages of frames seq 0..n-1 of one device at split 5 (the circle numbers). */
struct frames {
    uint8_t *buf[WIRE_BATCH_MAX_FRAMES + 1];
    size_t len[WIRE_BATCH_MAX_FRAMES + 1];
};

static void make_frames(struct frames *f, unsigned n)
{
    struct state st;
    state_init(&st, &toy_app);
    toy_header(&st);
    struct numbers *num = state_put_numbers(&st, TOY_CIRCLE, 2);
    num->v[0] = 1.0;
    for (unsigned i = 0; i < n; i++) {
        size_t cap = 0;
        st.seq = i;
        num->v[1] = i;
        f->buf[i] = NULL;
        CHECK_EQ_INT(wire_encode(&st, 5, &f->buf[i], &cap, &f->len[i]), ES_OK);
    }
    state_release(&st);
}

static void free_frames(struct frames *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(f->buf[i]);
}

static void test_round_trip(void)
{
    struct frames f;
    make_frames(&f, 5);
    struct wire_batcher b = {0};
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ_INT(wire_batcher_add(&b, f.buf[i], f.len[i]), ES_OK);
    CHECK_EQ_INT(b.count, 5);
    struct wire_batch rd;
    char why[160];
    CHECK_EQ_INT(wire_batch_open(b.buf, b.len, &rd, why, sizeof why), ES_OK);
    CHECK(wire_is_batch(b.buf, b.len));
    CHECK(!wire_is_batch(f.buf[0], f.len[0])); /* a frame alone is not a batch */
    CHECK_EQ_INT(rd.count, 5);
    CHECK_EQ_INT(wire_batch_frames(b.buf, b.len), 5);
    CHECK_EQ_INT(wire_batch_frames(f.buf[0], f.len[0]), 1); /* a frame alone */
    const uint8_t *p;
    size_t len;
    unsigned i = 0;
    struct state st;
    state_init(&st, &toy_app);
    while (wire_batch_next(&rd, &p, &len)) {
        CHECK(i < 5 && len == f.len[i] && memcmp(p, f.buf[i], len) == 0);
        CHECK(p > b.buf && p < b.buf + b.len); /* read in place, not copied */
        CHECK_EQ_INT(wire_decode(p, len, &st), ES_OK);
        CHECK_EQ_INT(st.seq, i);
        i++;
    }
    CHECK_EQ_INT(i, 5);
    CHECK(!wire_batch_next(&rd, &p, &len));
    /* cleared, the batcher starts a new batch in the same buffer */
    wire_batcher_clear(&b);
    CHECK_EQ_INT(wire_batcher_add(&b, f.buf[4], f.len[4]), ES_OK);
    CHECK_EQ_INT(wire_batch_open(b.buf, b.len, &rd, why, sizeof why), ES_OK);
    CHECK_EQ_INT(rd.count, 1);
    CHECK(wire_batch_next(&rd, &p, &len) && len == f.len[4] && memcmp(p, f.buf[4], len) == 0);
    state_release(&st);
    wire_batcher_free(&b);
    free_frames(&f, 5);
}

/* The layout of WIRE.md: "ESB", version 1, count, then u32 length + frame for each. */
static void test_layout(void)
{
    const uint8_t a[] = {'E', 'S', 'W', 1, 9}, c[] = {7, 7, 7};
    struct wire_batcher b = {0};
    CHECK_EQ_INT(wire_batcher_add(&b, a, sizeof a), ES_OK);
    CHECK_EQ_INT(wire_batcher_add(&b, c, sizeof c), ES_OK);
    const uint8_t want[] = {'E', 'S', 'B', 1, 2, 5, 0, 0, 0, 'E', 'S',
                            'W', 1,   9,   3, 0, 0, 0, 7, 7, 7};
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK(b.len == sizeof want && memcmp(b.buf, want, sizeof want) == 0);
    wire_batcher_free(&b);
}

static void test_limits(void)
{
    struct frames f;
    make_frames(&f, WIRE_BATCH_MAX_FRAMES + 1);
    struct wire_batcher b = {0};
    CHECK(wire_batcher_fits(&b, 1u << 20, 2, 100)); /* an empty batch takes any frame */
    for (unsigned i = 0; i < WIRE_BATCH_MAX_FRAMES; i++) {
        CHECK(wire_batcher_fits(&b, f.len[i], WIRE_BATCH_MAX_FRAMES, 1u << 20));
        CHECK_EQ_INT(wire_batcher_add(&b, f.buf[i], f.len[i]), ES_OK);
    }
    CHECK(!wire_batcher_fits(&b, f.len[64], 255, 1u << 20));
    CHECK_EQ_INT(wire_batcher_add(&b, f.buf[64], f.len[64]), ES_ELIMIT);
    struct wire_batch rd;
    CHECK_EQ_INT(wire_batch_open(b.buf, b.len, &rd, NULL, 0), ES_OK);
    CHECK_EQ_INT(rd.count, WIRE_BATCH_MAX_FRAMES);
    wire_batcher_clear(&b);
    CHECK_EQ_INT(wire_batcher_add(&b, f.buf[0], f.len[0]), ES_OK);
    CHECK(!wire_batcher_fits(&b, f.len[1], 1, 1u << 20));             /* the frame count */
    CHECK(wire_batcher_fits(&b, f.len[1], 2, b.len + 4 + f.len[1]));  /* exactly the bytes */
    CHECK(!wire_batcher_fits(&b, f.len[1], 2, b.len + 3 + f.len[1])); /* one byte over */
    CHECK_EQ_INT(wire_batcher_add(&b, f.buf[0], 0), ES_EINVAL);
    wire_batcher_free(&b);
    free_frames(&f, WIRE_BATCH_MAX_FRAMES + 1);
}

static void expect(const uint8_t *p, size_t n, enum es_err want, const char *why_has, int line)
{
    struct wire_batch rd;
    char why[160] = "";
    enum es_err err = wire_batch_open(p, n, &rd, why, sizeof why);
    if (err != want || !strstr(why, why_has))
        fprintf(stderr, "line %d: got %s (%s)\n", line, es_errname(err), why);
    CHECK_EQ_INT(err, want);
    CHECK(strstr(why, why_has) != NULL);
    const uint8_t *f;
    size_t len;
    CHECK(!wire_batch_next(&rd, &f, &len)); /* nothing to read after a refusal */
}

#define EXPECT(bytes, want, why) expect((bytes), sizeof(bytes), (want), (why), __LINE__)

static void test_rejects(void)
{
    const uint8_t magic[] = {'E', 'S', 'W', 1, 1, 1, 0, 0, 0, 9};
    EXPECT(magic, ES_EMAGIC, "not a batch");
    const uint8_t head[] = {'E', 'S', 'B', 1};
    EXPECT(head, ES_ETRUNC, "head");
    const uint8_t version[] = {'E', 'S', 'B', 2, 1, 1, 0, 0, 0, 9};
    EXPECT(version, ES_EVERSION, "version 2");
    const uint8_t none[] = {'E', 'S', 'B', 1, 0};
    EXPECT(none, ES_EFORMAT, "no frames");
    const uint8_t many[] = {'E', 'S', 'B', 1, 65, 1, 0, 0, 0, 9};
    EXPECT(many, ES_ELIMIT, "65 frames");
    const uint8_t short_len[] = {'E', 'S', 'B', 1, 1, 1, 0, 0};
    EXPECT(short_len, ES_ETRUNC, "frame 1 of 1");
    const uint8_t past[] = {'E', 'S', 'B', 1, 2, 1, 0, 0, 0, 9, 5, 0, 0, 0, 1, 2};
    EXPECT(past, ES_ETRUNC, "frame 2 of the batch: 5 bytes, 2 left");
    const uint8_t empty[] = {'E', 'S', 'B', 1, 1, 0, 0, 0, 0};
    EXPECT(empty, ES_EFORMAT, "empty");
    const uint8_t missing[] = {'E', 'S', 'B', 1, 2, 1, 0, 0, 0, 9};
    EXPECT(missing, ES_ETRUNC, "frame 2 of 2");
    const uint8_t trailing[] = {'E', 'S', 'B', 1, 1, 1, 0, 0, 0, 9, 0};
    EXPECT(trailing, ES_EFORMAT, "1 bytes after");
    const uint8_t huge[] = {'E', 'S', 'B', 1, 1, 0xff, 0xff, 0xff, 0xff, 9};
    EXPECT(huge, ES_ETRUNC, "4294967295 bytes");
    /* every prefix of a valid batch is refused, none read past its end */
    struct frames f;
    make_frames(&f, 3);
    struct wire_batcher b = {0};
    for (unsigned i = 0; i < 3; i++)
        wire_batcher_add(&b, f.buf[i], f.len[i]);
    unsigned refused = 0;
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.buf, n);
        struct wire_batch rd;
        refused += wire_batch_open(copy, n, &rd, NULL, 0) != ES_OK;
        free(copy);
    }
    CHECK_EQ_INT(refused, b.len);
    wire_batcher_free(&b);
    free_frames(&f, 3);
}

int main(void)
{
    test_round_trip();
    test_layout();
    test_limits();
    test_rejects();
    return check_exit();
}

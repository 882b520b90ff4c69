/* The edge's capture stage (edge/capture.c) with the ball tracker on the synthetic camera, with
 * a reader thread and a pool of two first-stage threads, and inline: frames in order with their
 * first stage run, the same pictures either way, --frames, a stop, a source that cannot open,
 * annotation requests and skipped camera frames under --rate. */
#include <signal.h>
#include <string.h>

#include "capture.h"
#include "check.h"
#include "clock.h"
#include "registry.h"

#define POOL 2 /* threads running the first stage; the ring holds POOL + 3 frames */

static volatile sig_atomic_t g_stop, g_off;
static struct slowdown g_none = {.constant = 1};

static struct capture_config config(bool threaded, uint64_t frames)
{
    return (struct capture_config){
        .app = app_find("ball"),
        .source = "synthetic:3",
        .device = "cap-test",
        .frames = frames,
        .slowdown = &g_none,
        .slowdown_off = &g_off,
        .stop = &g_stop,
        .start_us = clock_mono_us(),
        .pool = threaded ? POOL : 0,
    };
}

/* The first field the first stage writes: the captured picture. */
static const struct image *picture(const struct state *st)
{
    uint32_t w = st->app->stages[0].writes;
    for (unsigned id = 0; id < STATE_MAX_FIELDS; id++)
        if (w & FIELD_BIT(id))
            return state_image(st, id);
    return NULL;
}

/* 30 frames threaded and inline: seq 0..29 in order, the first stage's time recorded, the same
 * picture byte for byte, and then the end. */
static void in_order_and_equal(void)
{
    struct capture *a = NULL, *b = NULL;
    struct capture_config ca = config(true, 30), cb = config(false, 30);
    CHECK_EQ_INT(capture_start(&ca, &a), ES_OK);
    CHECK_EQ_INT(capture_start(&cb, &b), ES_OK);
    CHECK_EQ_INT(capture_opened(a), ES_OK);
    CHECK_EQ_INT(capture_opened(b), ES_OK);
    unsigned n = 0, same = 0;
    for (;;) {
        enum es_err ea, eb;
        struct state *sa = capture_next(a, &ea), *sb = capture_next(b, &eb);
        CHECK((sa == NULL) == (sb == NULL));
        if (!sa || !sb)
            break;
        CHECK_EQ_INT(ea, ES_OK);
        CHECK_EQ_INT(eb, ES_OK);
        CHECK_EQ_INT(sa->seq, n);
        CHECK_EQ_INT(sb->seq, n);
        CHECK(strcmp(sa->device, "cap-test") == 0);
        CHECK(sa->stage_us[0] > 0);
        const struct image *pa = picture(sa), *pb = picture(sb);
        CHECK(pa && pb);
        if (pa && pb && pa->width == 500 && pa->width == pb->width && pa->height == pb->height &&
            pa->channels == pb->channels &&
            memcmp(pa->data, pb->data,
                   (size_t)pa->width * (size_t)pa->height * (size_t)pa->channels) == 0)
            same++;
        capture_release(a, sa);
        capture_release(b, sb);
        n++;
    }
    CHECK_EQ_INT(n, 30);
    CHECK_EQ_INT(same, 30);
    enum es_err err;
    CHECK(capture_next(a, &err) == NULL);
    CHECK_EQ_INT(err, ES_OK);
    capture_free(a);
    capture_free(b);
}

/* A stop ends a threaded capture within the frames already in the ring. */
static void stops(void)
{
    struct capture *c = NULL;
    struct capture_config cc = config(true, 0);
    CHECK_EQ_INT(capture_start(&cc, &c), ES_OK);
    unsigned n = 0;
    enum es_err err;
    struct state *st;
    while ((st = capture_next(c, &err)) != NULL) {
        capture_release(c, st);
        if (++n == 5)
            g_stop = 1;
        if (n > 5 + (POOL + 3))
            break;
    }
    CHECK(n >= 5 && n <= 5 + (POOL + 3));
    g_stop = 0;
    capture_free(c);
    /* freed while the thread waits for a free slot */
    CHECK_EQ_INT(capture_start(&cc, &c), ES_OK);
    st = capture_next(c, &err);
    CHECK(st != NULL);
    clock_sleep_us(50000);
    capture_free(c);
}

/* A file that is not there: ES_ESOURCE from capture_opened, both ways, and no frame. */
static void bad_source(void)
{
    for (int threaded = 0; threaded <= 1; threaded++) {
        struct capture *c = NULL;
        struct capture_config cc = config(threaded, 0);
        cc.source = "/nonexistent/video.avi";
        CHECK_EQ_INT(capture_start(&cc, &c), ES_OK);
        CHECK_EQ_INT(capture_opened(c), ES_ESOURCE);
        enum es_err err;
        CHECK(capture_next(c, &err) == NULL);
        capture_free(c);
    }
}

/* --annotate-every 3 marks frames 0, 3, 6, ...; at --rate 200 a consumer taking 20 ms a frame
 * makes the camera skip about three frames in four. */
static void annotate_and_skip(void)
{
    struct capture *c = NULL;
    struct capture_config cc = config(true, 12);
    cc.annotate_every = 3;
    cc.rate = 200;
    CHECK_EQ_INT(capture_start(&cc, &c), ES_OK);
    enum es_err err;
    struct state *st;
    uint64_t marked = 0;
    while ((st = capture_next(c, &err)) != NULL) {
        CHECK_EQ_INT((st->flags & STATE_WANT_FRAME) != 0, st->seq % 3 == 0);
        marked += (st->flags & STATE_WANT_FRAME) != 0;
        clock_sleep_us(20000);
        capture_release(c, st);
    }
    CHECK_EQ_INT(marked, 4);
    uint64_t skipped = capture_take_skipped(c);
    CHECK(skipped >= 12);
    CHECK_EQ_INT(capture_take_skipped(c), 0);
    capture_free(c);
}

int main(void)
{
    in_order_and_equal();
    stops();
    bad_source();
    annotate_and_skip();
    return check_exit();
}

/* Frame sources: the synthetic generator (determinism, ground truth, speed), spec parsing, and
 * video files written with the adapter's MJPG writer and read back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ball/cv_adapter.h"
#include "check.h"
#include "clock.h"
#include "source.h"

static struct source *open_ok(const char *spec)
{
    struct source *src = NULL;
    enum es_err err = source_open(spec, &src);
    CHECK_EQ_INT(err, ES_OK);
    CHECK(src != NULL);
    return src;
}

/* Reads n frames from two sources and reports whether all of them were byte-identical. */
static bool same_frames(struct source *a, struct source *b, int n)
{
    bool same = true;
    for (int i = 0; i < n; i++) {
        const struct image *fa, *fb;
        if (source_read(a, &fa) != ES_OK || source_read(b, &fb) != ES_OK)
            return false;
        size_t len = (size_t)fa->width * fa->height * fa->channels;
        same = same && fa->width == fb->width && fa->height == fb->height &&
               memcmp(fa->data, fb->data, len) == 0;
    }
    return same;
}

static void test_determinism(void)
{
    struct source *a = open_ok("synthetic:7"), *b = open_ok("synthetic:7");
    struct source *c = open_ok("synthetic:8");
    struct source *d = open_ok("synthetic"), *e = open_ok("synthetic:1");
    if (!a || !b || !c || !d || !e)
        goto cleanup;
    CHECK(same_frames(a, b, 40));
    CHECK(same_frames(d, e, 5));
    const struct image *fa, *fc;
    CHECK_EQ_INT(source_read(a, &fa), ES_OK);
    CHECK_EQ_INT(source_read(c, &fc), ES_OK);
    CHECK_EQ_INT(fa->width, 640);
    CHECK_EQ_INT(fa->height, 360);
    CHECK_EQ_INT(fa->channels, 3);
    CHECK(memcmp(fa->data, fc->data, (size_t)640 * 360 * 3) != 0);
    CHECK_EQ_INT(source_index(a), 40);
    CHECK_EQ_INT(source_index(c), 0);
    CHECK_EQ_DBL(source_fps(a), 0);
    /* Two consecutive frames differ (motion and noise). */
    uint8_t *copy = malloc((size_t)640 * 360 * 3);
    CHECK(copy != NULL);
    if (copy) {
        memcpy(copy, fa->data, (size_t)640 * 360 * 3);
        CHECK_EQ_INT(source_read(a, &fa), ES_OK);
        CHECK(memcmp(copy, fa->data, (size_t)640 * 360 * 3) != 0);
        free(copy);
    }
cleanup:
    source_free(a);
    source_free(b);
    source_free(c);
    source_free(d);
    source_free(e);
}

/* Over many frames the ball moves steadily, stays within a band around the frame, is drawn
 * where the truth says, and is sometimes in view and sometimes not. */
static void check_truth_run(struct source *src)
{
    struct source_truth t, prev = {0};
    int visible = 0, hidden = 0, bad_step = 0, bad_pixel = 0, bad_range = 0;
    CHECK(!source_truth(src, &t)); /* nothing read yet */
    for (int i = 0; i < 600; i++) {
        const struct image *f;
        if (source_read(src, &f) != ES_OK || !source_truth(src, &t))
            break;
        if (t.radius < 20 || t.radius > 40 || t.x < -2.5 * t.radius - 1e-9 ||
            t.x > 640 + 2.5 * t.radius + 1e-9 || t.y < -2.5 * t.radius - 1e-9 ||
            t.y > 360 + 2.5 * t.radius + 1e-9)
            bad_range++;
        if (i > 0 && (fabs(t.x - prev.x) > 8.0001 || fabs(t.y - prev.y) > 6.0001 ||
                      (t.x == prev.x && t.y == prev.y)))
            bad_step++;
        if (t.visible) {
            visible++;
            const uint8_t *p = f->data + ((size_t)lround(t.y) * 640 + (size_t)lround(t.x)) * 3;
            if (lround(t.y) < 360 && lround(t.x) < 640 && !(p[1] > p[0] + 100 && p[1] > p[2] + 60))
                bad_pixel++;
        } else {
            hidden++;
        }
        prev = t;
    }
    CHECK_EQ_INT(bad_range, 0);
    CHECK_EQ_INT(bad_step, 0);
    CHECK_EQ_INT(bad_pixel, 0);
    CHECK(visible > 100);
    CHECK(hidden > 10);
}

static void test_truth(void)
{
    const char *specs[] = {"synthetic:1", "synthetic:2", "synthetic:99", "synthetic:0"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct source *src = open_ok(specs[i]);
        if (src)
            check_truth_run(src);
        source_free(src);
    }
}

static void test_bad_specs(void)
{
    const char *bad[] = {"",
                         "synthetic:abc",
                         "synthetic:-1",
                         "synthetic:",
                         "synthetic:+5",
                         "synthetic: 5",
                         "synthetic:4294967296",
                         "synthetic:1x",
                         "camera:x",
                         "camera:-2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct source *src = (struct source *)&src;
        CHECK_EQ_INT(source_open(bad[i], &src), ES_EINVAL);
        CHECK(src == NULL);
    }
    struct source *src = NULL;
    CHECK_EQ_INT(source_open("synthetic:4294967295", &src), ES_OK);
    source_free(src);
    src = (struct source *)&src;
    CHECK_EQ_INT(source_open("/nonexistent/dir/missing-video.avi", &src), ES_ESOURCE);
    CHECK(src == NULL);
    source_free(NULL);
}

/* Writes n synthetic frames (resized by the writer's caller to w x h) to path. */
static bool write_video(const char *path, int w, int h, int n)
{
    struct source *syn = open_ok("synthetic:3");
    struct cvx_writer *wr = NULL;
    struct image scaled = {w, h, 3, malloc((size_t)w * h * 3), (size_t)w * h * 3};
    bool ok = syn && scaled.data && cvx_writer_open(path, w, h, 25, &wr) == ES_OK;
    for (int i = 0; ok && i < n; i++) {
        const struct image *f;
        ok = source_read(syn, &f) == ES_OK && cvx_resize_area(f, &scaled) == ES_OK &&
             cvx_writer_write(wr, &scaled) == ES_OK;
    }
    cvx_writer_free(wr);
    free(scaled.data);
    source_free(syn);
    return ok;
}

static void test_video_file(int w, int h)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/es_test_source_%ld_%dx%d.avi", (long)getpid(), w, h);
    CHECK(write_video(path, w, h, 12));
    struct source *src = open_ok(path);
    int frames = 0, bad_size = 0, bad_index = 0;
    enum es_err err = ES_OK;
    while (src) {
        const struct image *f;
        err = source_read(src, &f);
        if (err != ES_OK)
            break;
        if (f->width != w || f->height != h || f->channels != 3)
            bad_size++;
        if (source_index(src) != (uint64_t)frames)
            bad_index++;
        frames++;
    }
    CHECK_EQ_INT(err, ES_EEOF);
    CHECK_EQ_INT(frames, 12);
    CHECK_EQ_INT(bad_size, 0);
    CHECK_EQ_INT(bad_index, 0);
    if (src) {
        const struct image *f;
        struct source_truth t;
        CHECK_EQ_INT(source_read(src, &f), ES_EEOF);
        CHECK(fabs(source_fps(src) - 25) < 0.01);
        CHECK(!source_truth(src, &t));
    }
    source_free(src);
    unlink(path);
}

static void test_writer_args(void)
{
    struct cvx_writer *w = (struct cvx_writer *)&w;
    CHECK_EQ_INT(cvx_writer_open("/tmp/x.avi", 0, 10, 25, &w), ES_EINVAL);
    CHECK(w == NULL);
    CHECK_EQ_INT(cvx_writer_open("/nonexistent/dir/x.avi", 64, 48, 25, &w), ES_ESOURCE);
    CHECK(w == NULL);
}

/* Not a pass/fail check: prints the generator's cost per frame. */
static void report_speed(void)
{
    struct source *src = open_ok("synthetic:5");
    const struct image *f;
    int64_t t0 = clock_mono_us();
    for (int i = 0; src && i < 300; i++)
        CHECK_EQ_INT(source_read(src, &f), ES_OK);
    int64_t took = clock_mono_us() - t0;
    printf("synthetic source: %.1f us per frame (mean of 300)\n", (double)took / 300.0);
    source_free(src);
}

/* source_record writes the source's first n frames; a file source that ends early is fine. */
static void test_record(void)
{
    char path[128], copy[128];
    snprintf(path, sizeof path, "/tmp/es_test_record_%ld.avi", (long)getpid());
    snprintf(copy, sizeof copy, "/tmp/es_test_record_%ld_copy.avi", (long)getpid());
    CHECK_EQ_INT(source_record("synthetic:2", path, 7), ES_OK);
    CHECK_EQ_INT(source_record(path, copy, 100), ES_OK); /* only 7 to copy */
    struct source *src = open_ok(copy);
    int frames = 0;
    const struct image *f;
    while (src && source_read(src, &f) == ES_OK) {
        CHECK(f->width == 640 && f->height == 360);
        frames++;
    }
    CHECK_EQ_INT(frames, 7);
    source_free(src);
    CHECK_EQ_INT(source_record("synthetic:x", path, 1), ES_EINVAL);
    CHECK_EQ_INT(source_record("synthetic", "/nonexistent/dir/x.avi", 1), ES_ESOURCE);
    remove(path);
    remove(copy);
}

int main(void)
{
    test_determinism();
    test_truth();
    test_bad_specs();
    test_video_file(640, 360);
    test_video_file(334, 218);
    test_writer_args();
    test_record();
    report_speed();
    return check_exit();
}

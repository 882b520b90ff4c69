// The ball tracker against a reference that calls OpenCV directly: every stage's output must be
// bit-identical to the reference on the same synthetic frames, the detections must agree with the
// generator's ground truth, and the live-field masks must be what the stage table implies.
extern "C" {
#include "ball/ball.h"
#include "ball/cv_adapter.h"
#include "clock.h"
#include "registry.h"
#include "source.h"
}
#include "check.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

typedef std::vector<std::vector<cv::Point>> contour_set;

// What the reference computes for one frame.
struct reference {
    cv::Mat frame, hsv, mask, annotated;
    contour_set contours;
    bool has_circle = false;
    double num[CIRCLE_NUMBERS] = {0};
};

static void reference_circle(reference &r)
{
    r.has_circle = !r.contours.empty();
    if (!r.has_circle)
        return;
    size_t best = 0;
    for (size_t i = 1; i < r.contours.size(); i++)
        if (cv::contourArea(r.contours[i]) > cv::contourArea(r.contours[best]))
            best = i;
    cv::Point2f centre;
    float radius = 0;
    cv::minEnclosingCircle(r.contours[best], centre, radius);
    cv::Moments m = cv::moments(r.contours[best]);
    r.num[CIRCLE_X] = centre.x;
    r.num[CIRCLE_Y] = centre.y;
    r.num[CIRCLE_RADIUS] = radius;
    if (m.m00 != 0) {
        r.num[CIRCLE_CX] = (int)(m.m10 / m.m00);
        r.num[CIRCLE_CY] = (int)(m.m01 / m.m00);
        r.num[CIRCLE_DETECTED] = radius > 5 ? 1 : 0;
    }
}

static void reference_from_mask(reference &r, bool annotate)
{
    cv::findContours(r.mask.clone(), r.contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    reference_circle(r);
    r.annotated = r.frame.clone();
    if (annotate && r.num[CIRCLE_DETECTED] != 0) {
        cv::circle(r.annotated, cv::Point((int)r.num[CIRCLE_X], (int)r.num[CIRCLE_Y]),
                   (int)r.num[CIRCLE_RADIUS], cv::Scalar(0, 255, 255), 2);
        cv::circle(r.annotated, cv::Point((int)r.num[CIRCLE_CX], (int)r.num[CIRCLE_CY]), 5,
                   cv::Scalar(0, 0, 255), -1);
    }
}

static void reference_run(const cv::Mat &src, bool annotate, reference &r)
{
    cv::resize(src, r.frame, cv::Size(500, src.rows * 500 / src.cols), 0, 0, cv::INTER_AREA);
    cv::Mat blurred, raw, eroded;
    cv::GaussianBlur(r.frame, blurred, cv::Size(11, 11), 0);
    cv::cvtColor(blurred, r.hsv, cv::COLOR_BGR2HSV);
    cv::inRange(r.hsv, cv::Scalar(29, 86, 6), cv::Scalar(64, 255, 255), raw);
    cv::erode(raw, eroded, cv::Mat(), cv::Point(-1, -1), 2);
    cv::dilate(eroded, r.mask, cv::Mat(), cv::Point(-1, -1), 2);
    reference_from_mask(r, annotate);
}

static bool same_image(const struct image *img, const cv::Mat &m)
{
    return img && m.isContinuous() && img->width == m.cols && img->height == m.rows &&
           img->channels == m.channels() &&
           std::memcmp(img->data, m.data, m.total() * m.elemSize()) == 0;
}

static bool same_contours(const struct polylines *pl, const contour_set &c)
{
    if (!pl || pl->count != c.size())
        return false;
    for (uint32_t i = 0; i < pl->count; i++) {
        if (pl->start[i + 1] - pl->start[i] != c[i].size())
            return false;
        for (size_t j = 0; j < c[i].size(); j++) {
            const struct point &p = pl->pts[pl->start[i] + j];
            if (p.x != c[i][j].x || p.y != c[i][j].y)
                return false;
        }
    }
    return true;
}

static bool same_numbers(const struct numbers *n, const double *v)
{
    return n && n->count == CIRCLE_NUMBERS &&
           std::memcmp(n->v, v, CIRCLE_NUMBERS * sizeof(double)) == 0;
}

static std::string dump(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : nullptr;
    std::string out = s ? s : "(null)";
    std::free(s);
    return out;
}

static enum es_err run_stage(struct stage_io *io, unsigned i)
{
    return ball_app.stages[i].run(io);
}

// Tallies over a run, for the checks against ground truth.
struct tally {
    int frames = 0, detected = 0, missed = 0, off_truth = 0, false_hits = 0, hidden = 0;
    int visible_full = 0;
};

static void check_result(const struct stage_io &io, const reference &r, bool annotate)
{
    json_t *det = json_object_get(io.result, "detected");
    bool found = r.num[CIRCLE_DETECTED] != 0;
    CHECK(json_is_boolean(det) && json_boolean_value(det) == found);
    if (found) {
        CHECK_EQ_DBL((float)json_real_value(json_object_get(io.result, "x")), r.num[CIRCLE_X]);
        CHECK_EQ_DBL((float)json_real_value(json_object_get(io.result, "y")), r.num[CIRCLE_Y]);
        CHECK_EQ_DBL((float)json_real_value(json_object_get(io.result, "radius")),
                     r.num[CIRCLE_RADIUS]);
        json_t *c = json_object_get(io.result, "center");
        CHECK_EQ_INT(json_integer_value(json_array_get(c, 0)), r.num[CIRCLE_CX]);
        CHECK_EQ_INT(json_integer_value(json_array_get(c, 1)), r.num[CIRCLE_CY]);
    } else {
        CHECK_EQ_INT(json_object_size(io.result), 1);
    }
    if (!annotate) {
        CHECK(io.jpeg == nullptr);
        return;
    }
    std::vector<uchar> want;
    cv::imencode(".jpg", r.annotated, want, {cv::IMWRITE_JPEG_QUALITY, 80});
    CHECK(io.jpeg && io.jpeg_len == want.size() &&
          std::memcmp(io.jpeg, want.data(), want.size()) == 0);
    struct image dec;
    CHECK_EQ_INT(cvx_decode_image(io.jpeg, io.jpeg_len, &dec), ES_OK);
    CHECK(dec.width == r.frame.cols && dec.height == r.frame.rows && dec.channels == 3);
    std::free(dec.data);
}

static void check_truth(const struct source *src, const reference &r, tally &t)
{
    struct source_truth truth;
    if (!source_truth(src, &truth)) {
        CHECK(false);
        return;
    }
    const double s = 500.0 / 640.0, rad = truth.radius;
    bool full =
        truth.x - rad >= 0 && truth.x + rad <= 639 && truth.y - rad >= 0 && truth.y + rad <= 359;
    bool out = truth.x + rad < 0 || truth.x - rad > 639 || truth.y + rad < 0 || truth.y - rad > 359;
    bool found = r.num[CIRCLE_DETECTED] != 0;
    t.frames++;
    found ? t.detected++ : t.hidden++;
    if (full) {
        t.visible_full++;
        double ex = (truth.x + 0.5) * s - 0.5, ey = (truth.y + 0.5) * s - 0.5;
        if (!found)
            t.missed++;
        else if (std::fabs(r.num[CIRCLE_X] - ex) > 2 || std::fabs(r.num[CIRCLE_Y] - ey) > 2 ||
                 std::fabs(r.num[CIRCLE_CX] - ex) > 2 || std::fabs(r.num[CIRCLE_CY] - ey) > 2 ||
                 std::fabs(r.num[CIRCLE_RADIUS] - rad * s) > 3) {
            t.off_truth++;
            fprintf(stderr,
                    "frame %d: found (%g, %g) r %g centroid (%g, %g), truth (%g, %g) r %g\n",
                    t.frames - 1, r.num[CIRCLE_X], r.num[CIRCLE_Y], r.num[CIRCLE_RADIUS],
                    r.num[CIRCLE_CX], r.num[CIRCLE_CY], ex, ey, rad * s);
        }
    }
    if (out && found)
        t.false_hits++;
}

// Runs stages 3..6 of a frame whose mask is known, checking each against r.
static void check_tail(struct stage_io &io, const reference &r, bool annotate)
{
    CHECK_EQ_INT(run_stage(&io, 3), ES_OK);
    CHECK(same_contours(state_polylines(io.st, BALL_CONTOURS), r.contours));
    CHECK(same_image(state_image(io.st, BALL_MASK), r.mask)); // findContours left it alone
    CHECK_EQ_INT((io.st->flags & STATE_ENDED) != 0, !r.has_circle);
    if (r.has_circle) {
        CHECK_EQ_INT(run_stage(&io, 4), ES_OK);
        CHECK(same_numbers(state_numbers(io.st, BALL_CIRCLE), r.num));
        CHECK_EQ_INT(run_stage(&io, 5), ES_OK);
        CHECK(same_image(state_image(io.st, BALL_FRAME), r.annotated));
    } else {
        CHECK(state_numbers(io.st, BALL_CIRCLE) == nullptr);
    }
    CHECK_EQ_INT(run_stage(&io, 6), ES_OK);
    check_result(io, r, annotate);
}

// One frame through our stages, one by one, and through the reference; also through app_run.
static void check_frame(struct stage_io &io, struct source *ref_src, struct stage_io &whole,
                        tally &t)
{
    bool annotate = t.frames % 3 == 0;
    state_reset(io.st);
    state_reset(whole.st);
    io.st->flags = whole.st->flags = annotate ? STATE_WANT_FRAME : 0;
    const struct image *raw;
    CHECK_EQ_INT(source_read(ref_src, &raw), ES_OK);
    cv::Mat src(raw->height, raw->width, CV_8UC3, raw->data);
    reference r;
    reference_run(src, annotate, r);

    CHECK_EQ_INT(run_stage(&io, 0), ES_OK);
    CHECK(same_image(state_image(io.st, BALL_FRAME), r.frame));
    CHECK_EQ_INT(run_stage(&io, 1), ES_OK);
    CHECK(same_image(state_image(io.st, BALL_HSV), r.hsv));
    CHECK_EQ_INT(run_stage(&io, 2), ES_OK);
    CHECK(same_image(state_image(io.st, BALL_MASK), r.mask));
    check_tail(io, r, annotate);
    check_truth(io.source, r, t);

    CHECK_EQ_INT(app_run(&whole, 0, ball_app.nstages, nullptr, nullptr), ES_OK);
    CHECK(dump(whole.result) == dump(io.result));
    CHECK(whole.jpeg_len == io.jpeg_len &&
          (!io.jpeg || std::memcmp(whole.jpeg, io.jpeg, io.jpeg_len) == 0));
    json_decref(io.result);
    json_decref(whole.result);
    std::free(io.jpeg);
    std::free(whole.jpeg);
    io.result = whole.result = nullptr;
    io.jpeg = whole.jpeg = nullptr;
}

static void test_against_reference(void)
{
    const char *seeds[] = {"synthetic:1", "synthetic:2", "synthetic:3", "synthetic:42"};
    tally t;
    for (const char *spec : seeds) {
        struct source *src = nullptr, *ref_src = nullptr, *whole_src = nullptr;
        CHECK_EQ_INT(source_open(spec, &src), ES_OK);
        CHECK_EQ_INT(source_open(spec, &ref_src), ES_OK);
        CHECK_EQ_INT(source_open(spec, &whole_src), ES_OK);
        struct state st, whole_st;
        state_init(&st, &ball_app);
        state_init(&whole_st, &ball_app);
        struct stage_io io = {&st, src, nullptr, nullptr, 0};
        struct stage_io whole = {&whole_st, whole_src, nullptr, nullptr, 0};
        for (int i = 0; src && ref_src && whole_src && i < 90; i++)
            check_frame(io, ref_src, whole, t);
        state_release(&st);
        state_release(&whole_st);
        source_free(src);
        source_free(ref_src);
        source_free(whole_src);
    }
    printf("reference run: %d frames, %d detected, %d not, %d fully visible\n", t.frames,
           t.detected, t.hidden, t.visible_full);
    CHECK_EQ_INT(t.frames, 360);
    CHECK(t.detected > 50);
    CHECK(t.hidden > 10);
    CHECK(t.visible_full > 50);
    CHECK_EQ_INT(t.missed, 0);
    CHECK_EQ_INT(t.off_truth, 0);
    CHECK_EQ_INT(t.false_hits, 0);
}

// Stages 3..6 on a hand-made mask, against the reference.
static void check_mask_case(const std::vector<std::vector<cv::Point>> &shapes, bool want_found)
{
    struct state st;
    state_init(&st, &ball_app);
    reference r;
    r.frame = cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 90, 90));
    r.mask = cv::Mat::zeros(120, 160, CV_8UC1);
    for (const std::vector<cv::Point> &s : shapes)
        cv::fillConvexPoly(r.mask, s, cv::Scalar(255));
    reference_from_mask(r, true);
    struct image *f = state_put_image(&st, BALL_FRAME, 160, 120, 3);
    struct image *m = state_put_image(&st, BALL_MASK, 160, 120, 1);
    CHECK(f && m);
    if (f && m) {
        std::memcpy(f->data, r.frame.data, r.frame.total() * 3);
        std::memcpy(m->data, r.mask.data, r.mask.total());
        st.flags = STATE_WANT_FRAME;
        struct stage_io io = {&st, nullptr, nullptr, nullptr, 0};
        check_tail(io, r, true);
        CHECK_EQ_INT(r.num[CIRCLE_DETECTED] != 0, want_found);
        json_decref(io.result);
        std::free(io.jpeg);
    }
    state_release(&st);
}

static std::vector<cv::Point> diamond(int cx, int cy, int r)
{
    return {{cx, cy - r}, {cx + r, cy}, {cx, cy + r}, {cx - r, cy}};
}

static void test_small_and_tied_blobs(void)
{
    // Extreme points 10 px apart: OpenCV reports radius 5 + 1e-4, which counts as a detection.
    check_mask_case({diamond(50, 50, 5)}, true);
    check_mask_case({diamond(50, 50, 4)}, false);
    // Two blobs of equal area: the first contour OpenCV lists wins.
    check_mask_case({diamond(40, 40, 12), diamond(110, 70, 12)}, true);
    check_mask_case({{{10, 10}, {40, 10}, {40, 20}, {10, 20}}, diamond(110, 70, 12)}, true);
    check_mask_case({}, false);
}

// publish_result with chosen numbers, dumped as the runner dumps it.
static std::string publish(const double *v, bool present)
{
    struct state st;
    state_init(&st, &ball_app);
    if (present) {
        struct numbers *n = state_put_numbers(&st, BALL_CIRCLE, CIRCLE_NUMBERS);
        std::memcpy(n->v, v, CIRCLE_NUMBERS * sizeof(double));
    }
    struct stage_io io = {&st, nullptr, nullptr, nullptr, 0};
    CHECK_EQ_INT(run_stage(&io, 6), ES_OK);
    std::string s = dump(io.result);
    json_decref(io.result);
    state_release(&st);
    return s;
}

static void check_str(const std::string &got, const char *want)
{
    bool ok = got == want;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  got  %s\n  want %s\n", got.c_str(), want);
}

static void test_json_numbers(void)
{
    double a[CIRCLE_NUMBERS] = {1, 231.5f, 118.25f, 27.9f, 232, 118};
    check_str(publish(a, true),
              "{\"detected\":true,\"x\":231.5,\"y\":118.25,\"radius\":27.9,\"center\":[232,118]}");
    double b[CIRCLE_NUMBERS] = {1, 0.1f, 123456.789f, 5.0001f, -3, 0};
    check_str(publish(b, true), "{\"detected\":true,\"x\":0.1,\"y\":123456.79,\"radius\":5.0001,"
                                "\"center\":[-3,0]}");
    double c[CIRCLE_NUMBERS] = {0, 10, 10, 4.5f, 10, 10};
    check_str(publish(c, true), "{\"detected\":false}");
    check_str(publish(c, false), "{\"detected\":false}");
}

static void test_missing_inputs(void)
{
    struct state st;
    state_init(&st, &ball_app);
    struct stage_io io = {&st, nullptr, nullptr, nullptr, 0};
    CHECK_EQ_INT(run_stage(&io, 0), ES_EINVAL); // no source
    CHECK_EQ_INT(run_stage(&io, 1), ES_EINVAL); // no frame
    CHECK_EQ_INT(run_stage(&io, 2), ES_EINVAL);
    CHECK_EQ_INT(run_stage(&io, 3), ES_EINVAL);
    CHECK_EQ_INT(run_stage(&io, 4), ES_EINVAL);
    st.flags = STATE_WANT_FRAME;
    CHECK_EQ_INT(run_stage(&io, 6), ES_EINVAL); // wants a JPEG but has no frame
    CHECK(io.result == nullptr && io.jpeg == nullptr);
    state_release(&st);
}

// Failures inside OpenCV come back as ES_ECV; bad arguments as ES_EINVAL.
static void test_adapter_errors(void)
{
    cv::Mat m(20, 30, CV_8UC3, cv::Scalar(0, 0, 0));
    struct image img = {m.cols, m.rows, 3, m.data, m.total() * 3};
    const double red[3] = {0, 0, 255};
    CHECK_EQ_INT(cvx_draw_circle(&img, 10, 10, 5, red, 40000), ES_ECV); // thickness too large
    const uint8_t junk[] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct image dec;
    CHECK_EQ_INT(cvx_decode_image(junk, sizeof junk, &dec), ES_ECV);
    CHECK(dec.data == nullptr);
    cv::Mat g(20, 30, CV_8UC1);
    struct image gray = {g.cols, g.rows, 1, g.data, g.total()};
    CHECK_EQ_INT(cvx_resize_area(&img, &gray), ES_EINVAL);
    CHECK_EQ_INT(cvx_blur_hsv(&img, 4, &img), ES_EINVAL);
    struct image small = img;
    small.cap = 10;
    CHECK_EQ_INT(cvx_range_mask(&small, red, red, 2, &gray), ES_EINVAL);
}

static void test_live_fields(void)
{
    const uint32_t FRAME = FIELD_BIT(BALL_FRAME), HSV = FIELD_BIT(BALL_HSV),
                   MASK = FIELD_BIT(BALL_MASK), CONT = FIELD_BIT(BALL_CONTOURS),
                   CIRC = FIELD_BIT(BALL_CIRCLE);
    const uint32_t plain[] = {0, FRAME, HSV, MASK, CONT, CIRC, CIRC, 0};
    CHECK_EQ_INT(ball_app.nstages, 7);
    CHECK(std::strcmp(ball_app.name, "ball") == 0);
    CHECK(std::strcmp(ball_app.source_default, "synthetic") == 0);
    CHECK(app_find("ball") == &ball_app);
    for (unsigned k = 0; k <= ball_app.nstages; k++) {
        CHECK_EQ_INT(app_live_fields(&ball_app, k, false), plain[k]);
        uint32_t want = plain[k] | (k >= 2 && k < ball_app.nstages ? FRAME : 0);
        CHECK_EQ_INT(app_live_fields(&ball_app, k, true), want);
    }
}

// A video file of another size goes through get_frame with the same arithmetic.
static void test_other_size(void)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/es_test_ball_%ld.avi", (long)getpid());
    cv::Mat pic(217, 333, CV_8UC3, cv::Scalar(120, 110, 100));
    cv::circle(pic, cv::Point(150, 100), 30, cv::Scalar(40, 200, 80), -1);
    struct image img = {pic.cols, pic.rows, 3, pic.data, pic.total() * 3};
    struct cvx_writer *w = nullptr;
    CHECK_EQ_INT(cvx_writer_open(path, pic.cols, pic.rows, 10, &w), ES_OK);
    CHECK_EQ_INT(cvx_writer_write(w, &img), ES_OK);
    cvx_writer_free(w);
    struct source *src = nullptr, *ref_src = nullptr;
    CHECK_EQ_INT(source_open(path, &src), ES_OK);
    CHECK_EQ_INT(source_open(path, &ref_src), ES_OK);
    const struct image *raw = nullptr;
    if (src && ref_src && source_read(ref_src, &raw) == ES_OK) {
        struct state st;
        state_init(&st, &ball_app);
        struct stage_io io = {&st, src, nullptr, nullptr, 0};
        reference r;
        reference_run(cv::Mat(raw->height, raw->width, CV_8UC3, raw->data), false, r);
        CHECK_EQ_INT(run_stage(&io, 0), ES_OK);
        CHECK_EQ_INT(r.frame.rows, 217 * 500 / 333);
        CHECK(same_image(state_image(&st, BALL_FRAME), r.frame));
        CHECK_EQ_INT(r.num[CIRCLE_DETECTED], 1);
        state_release(&st);
    } else {
        CHECK(false);
    }
    source_free(src);
    source_free(ref_src);
    unlink(path);
}

// Not a pass/fail check: prints the mean time of each stage over 300 synthetic frames.
static void report_timings(void)
{
    struct source *src = nullptr;
    CHECK_EQ_INT(source_open("synthetic:5", &src), ES_OK);
    struct state st;
    state_init(&st, &ball_app);
    struct stage_io io = {&st, src, nullptr, nullptr, 0};
    double sum[8] = {0};
    int ran[8] = {0};
    for (int i = 0; src && i < 300; i++) {
        state_reset(&st);
        CHECK_EQ_INT(app_run(&io, 0, ball_app.nstages, nullptr, nullptr), ES_OK);
        bool ended = st.flags & STATE_ENDED;
        for (unsigned k = 0; k < ball_app.nstages; k++)
            if (!ended || k < 4 || k + 1 == ball_app.nstages) {
                sum[k] += st.stage_us[k];
                ran[k]++;
            }
        json_decref(io.result);
        io.result = nullptr;
    }
    printf("mean us per stage (300 frames, 500 px wide, no annotation):");
    for (unsigned k = 0; k < ball_app.nstages; k++)
        printf(" %s=%.1f", ball_app.stages[k].name, ran[k] ? sum[k] / ran[k] : 0.0);
    printf("\n");
    state_release(&st);
    source_free(src);
}

int main(void)
{
    CHECK_EQ_INT(cvx_init(), ES_OK);
    test_live_fields();
    test_json_numbers();
    test_missing_inputs();
    test_adapter_errors();
    test_small_and_tied_blobs();
    test_against_reference();
    test_other_size();
    report_timings();
    return check_exit();
}

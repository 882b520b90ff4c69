// The OpenCV adapter (see cv_adapter.h). Every exported function runs its body through guarded(),
// which turns any C++ exception into an error code and a log line.
#include "cv_adapter.h"

extern "C" {
#include "../log.h"
}

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

static_assert(sizeof(cv::Point) == sizeof(struct point), "cv::Point must match struct point");

struct cvx_capture {
    cv::VideoCapture vc;
    bool camera = false;
    cv::Mat raw;
    cv::Mat bgr;
    struct image view = {};
};

struct cvx_writer {
    cv::VideoWriter vw;
    int width = 0;
    int height = 0;
};

namespace
{

std::once_flag init_once;

// Runs body and maps every exception to an error: no exception leaves the adapter.
template <class Body> enum es_err guarded(const char *op, Body &&body)
{
    try {
        std::call_once(init_once, [] { cv::setNumThreads(1); });
        return body();
    } catch (const cv::Exception &e) {
        log_msg(LOG_ERROR, "CV-FAIL", "%s failed: %s", op, e.what());
    } catch (const std::bad_alloc &) {
        log_msg(LOG_ERROR, "CV-FAIL", "%s failed: out of memory", op);
        return ES_ENOMEM;
    } catch (const std::exception &e) {
        log_msg(LOG_ERROR, "CV-FAIL", "%s failed: %s", op, e.what());
    } catch (...) {
        log_msg(LOG_ERROR, "CV-FAIL", "%s failed: unknown exception", op);
    }
    return ES_ECV;
}

bool image_ok(const struct image *img)
{
    if (!img || !img->data || img->width <= 0 || img->height <= 0 || img->channels < 1 ||
        img->channels > 4)
        return false;
    size_t need = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
    return img->cap >= need;
}

// A Mat header over img's pixels: no copy, no ownership.
cv::Mat wrap(const struct image *img)
{
    return cv::Mat(img->height, img->width, CV_8UC(img->channels),
                   const_cast<uint8_t *>(img->data));
}

// OpenCV must have written into our buffer, not into one of its own.
enum es_err kept(const cv::Mat &m, const struct image *img, const char *op)
{
    if (m.data == img->data && m.rows == img->height && m.cols == img->width &&
        m.type() == CV_8UC(img->channels))
        return ES_OK;
    log_msg(LOG_ERROR, "CV-REALLOC", "%s reallocated its %dx%dx%d output", op, img->width,
            img->height, img->channels);
    return ES_ECV;
}

enum es_err bad_args(const char *op)
{
    log_msg(LOG_ERROR, "CV-ARGS", "%s: invalid image or argument", op);
    return ES_EINVAL;
}

} // namespace

extern "C" enum es_err cvx_init(void)
{
    return guarded("init", [] { return ES_OK; });
}

extern "C" enum es_err cvx_resize_area(const struct image *src, struct image *dst)
{
    if (!image_ok(src) || !image_ok(dst) || src->channels != dst->channels)
        return bad_args("resize");
    return guarded("resize", [&] {
        cv::Mat s = wrap(src), d = wrap(dst);
        cv::resize(s, d, d.size(), 0, 0, cv::INTER_AREA);
        return kept(d, dst, "resize");
    });
}

extern "C" enum es_err cvx_blur_hsv(const struct image *src, int ksize, struct image *dst)
{
    if (!image_ok(src) || !image_ok(dst) || src->channels != 3 || dst->channels != 3 ||
        src->width != dst->width || src->height != dst->height || src->data == dst->data ||
        ksize < 1 || ksize % 2 == 0)
        return bad_args("blur_hsv");
    return guarded("blur_hsv", [&] {
        cv::Mat s = wrap(src), d = wrap(dst);
        cv::GaussianBlur(s, d, cv::Size(ksize, ksize), 0);
        // Same Mat object on both sides: OpenCV copies the input first, so this is safe.
        cv::cvtColor(d, d, cv::COLOR_BGR2HSV);
        return kept(d, dst, "blur_hsv");
    });
}

extern "C" enum es_err cvx_range_mask(const struct image *src, const double lo[3],
                                      const double hi[3], int iterations, struct image *dst)
{
    if (!image_ok(src) || !image_ok(dst) || src->channels != 3 || dst->channels != 1 ||
        src->width != dst->width || src->height != dst->height || iterations < 0)
        return bad_args("range_mask");
    return guarded("range_mask", [&] {
        cv::Mat s = wrap(src), d = wrap(dst), eroded;
        cv::inRange(s, cv::Scalar(lo[0], lo[1], lo[2]), cv::Scalar(hi[0], hi[1], hi[2]), d);
        cv::erode(d, eroded, cv::Mat(), cv::Point(-1, -1), iterations);
        cv::dilate(eroded, d, cv::Mat(), cv::Point(-1, -1), iterations);
        return kept(d, dst, "range_mask");
    });
}

extern "C" enum es_err cvx_external_contours(const struct image *mask, struct polylines *out)
{
    if (!image_ok(mask) || mask->channels != 1 || !out)
        return bad_args("contours");
    return guarded("contours", [&] {
        std::vector<std::vector<cv::Point>> found;
        cv::findContours(wrap(mask), found, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
        for (const std::vector<cv::Point> &c : found) {
            const struct point *pts = reinterpret_cast<const struct point *>(c.data());
            enum es_err err = polylines_add(out, pts, (uint32_t)c.size());
            if (err != ES_OK)
                return err;
        }
        return ES_OK;
    });
}

// Polyline i of pl as an n x 1 CV_32SC2 Mat header.
static cv::Mat polyline_mat(const struct polylines *pl, uint32_t i)
{
    uint32_t n = pl->start[i + 1] - pl->start[i];
    return cv::Mat((int)n, 1, CV_32SC2, static_cast<void *>(pl->pts + pl->start[i]));
}

extern "C" enum es_err cvx_largest_circle(const struct polylines *pl, struct cvx_circle *out)
{
    if (!pl || !out || (pl->count && (!pl->start || !pl->pts)))
        return bad_args("largest_circle");
    *out = {};
    out->index = -1;
    return guarded("largest_circle", [&] {
        double best = 0;
        for (uint32_t i = 0; i < pl->count; i++) {
            double area =
                pl->start[i + 1] > pl->start[i] ? cv::contourArea(polyline_mat(pl, i)) : 0;
            if (out->index < 0 || area > best) {
                out->index = (int)i;
                best = area;
            }
        }
        if (out->index < 0 || pl->start[out->index + 1] == pl->start[out->index])
            return ES_OK;
        cv::Mat c = polyline_mat(pl, (uint32_t)out->index);
        cv::Point2f centre;
        float radius = 0;
        cv::minEnclosingCircle(c, centre, radius);
        cv::Moments m = cv::moments(c);
        out->x = centre.x;
        out->y = centre.y;
        out->radius = radius;
        out->m00 = m.m00;
        out->m10 = m.m10;
        out->m01 = m.m01;
        return ES_OK;
    });
}

extern "C" enum es_err cvx_draw_circle(struct image *img, int x, int y, int radius,
                                       const double bgr[3], int thickness)
{
    if (!image_ok(img) || radius < 0)
        return bad_args("draw_circle");
    return guarded("draw_circle", [&] {
        cv::Mat m = wrap(img);
        cv::circle(m, cv::Point(x, y), radius, cv::Scalar(bgr[0], bgr[1], bgr[2]), thickness);
        return kept(m, img, "draw_circle");
    });
}

// Encodes img with OpenCV's encoder for ext and params into a new malloc'd buffer.
static enum es_err encode_as(const char *op, const char *ext, const std::vector<int> &params,
                             const struct image *img, uint8_t **out, size_t *len)
{
    return guarded(op, [&] {
        std::vector<uchar> buf;
        if (!cv::imencode(ext, wrap(img), buf, params) || buf.empty())
            return ES_ECV;
        uint8_t *p = static_cast<uint8_t *>(std::malloc(buf.size()));
        if (!p)
            return ES_ENOMEM;
        std::memcpy(p, buf.data(), buf.size());
        *out = p;
        *len = buf.size();
        return ES_OK;
    });
}

extern "C" enum es_err cvx_encode_jpeg(const struct image *img, int quality, uint8_t **out,
                                       size_t *len)
{
    if (!out || !len)
        return bad_args("encode_jpeg");
    *out = nullptr;
    *len = 0;
    if (!image_ok(img) || (img->channels != 1 && img->channels != 3) || quality < 0 ||
        quality > 100)
        return bad_args("encode_jpeg");
    return encode_as("encode_jpeg", ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality}, img, out, len);
}

extern "C" enum es_err cvx_encode_png(const struct image *img, int level, uint8_t **out,
                                      size_t *len)
{
    if (!out || !len)
        return bad_args("encode_png");
    *out = nullptr;
    *len = 0;
    if (!image_ok(img) || img->channels == 2 || level < 0 || level > 9)
        return bad_args("encode_png");
    return encode_as("encode_png", ".png", {cv::IMWRITE_PNG_COMPRESSION, level}, img, out, len);
}

extern "C" enum es_err cvx_decode_exact(const uint8_t *buf, size_t len, struct image *dst)
{
    if (!buf || len == 0 || len > (size_t)INT32_MAX || !image_ok(dst))
        return bad_args("decode_exact");
    return guarded("decode_exact", [&] {
        cv::Mat in(1, (int)len, CV_8UC1, const_cast<uint8_t *>(buf));
        cv::Mat m = cv::imdecode(in, cv::IMREAD_UNCHANGED);
        if (m.empty() || !m.isContinuous() || m.depth() != CV_8U || m.cols != dst->width ||
            m.rows != dst->height || m.channels() != dst->channels)
            return ES_ECV;
        std::memcpy(dst->data, m.data, m.total() * m.elemSize());
        return ES_OK;
    });
}

extern "C" enum es_err cvx_decode_image(const uint8_t *buf, size_t len, struct image *out)
{
    if (!out)
        return bad_args("decode_image");
    *out = {};
    if (!buf || len == 0 || len > (size_t)INT32_MAX)
        return bad_args("decode_image");
    return guarded("decode_image", [&] {
        cv::Mat in(1, (int)len, CV_8UC1, const_cast<uint8_t *>(buf));
        cv::Mat m = cv::imdecode(in, cv::IMREAD_COLOR);
        if (m.empty() || !m.isContinuous())
            return ES_ECV;
        size_t n = m.total() * m.elemSize();
        uint8_t *p = static_cast<uint8_t *>(std::malloc(n));
        if (!p)
            return ES_ENOMEM;
        std::memcpy(p, m.data, n);
        *out = {m.cols, m.rows, m.channels(), p, n};
        return ES_OK;
    });
}

static enum es_err capture_open(const char *what, struct cvx_capture **out,
                                bool (*open)(cv::VideoCapture &, const void *), const void *arg)
{
    struct cvx_capture *cap = nullptr;
    enum es_err err = guarded("capture_open", [&] {
        cap = new cvx_capture();
        if (!open(cap->vc, arg) || !cap->vc.isOpened()) {
            log_msg(LOG_ERROR, "CV-OPEN", "cannot open %s", what);
            return ES_ESOURCE;
        }
        return ES_OK;
    });
    if (err != ES_OK) {
        cvx_capture_free(cap);
        cap = nullptr;
    }
    *out = cap;
    return err;
}

extern "C" enum es_err cvx_capture_open_file(const char *path, struct cvx_capture **out)
{
    if (!out)
        return bad_args("capture_open");
    *out = nullptr;
    if (!path || !*path)
        return bad_args("capture_open");
    // A plain path that cannot be read fails here with the system's reason; URLs and pipelines
    // go straight to OpenCV.
    if (!std::strstr(path, "://") && access(path, R_OK) != 0) {
        log_msg(LOG_ERROR, "CV-OPEN", "cannot open video file %s: %s", path, std::strerror(errno));
        return ES_ESOURCE;
    }
    char what[512];
    std::snprintf(what, sizeof what, "video file %s", path);
    return capture_open(
        what, out,
        [](cv::VideoCapture &vc, const void *arg) {
            return vc.open(static_cast<const char *>(arg), cv::CAP_ANY);
        },
        path);
}

extern "C" enum es_err cvx_capture_open_camera(int index, struct cvx_capture **out)
{
    if (!out)
        return bad_args("capture_open");
    *out = nullptr;
    if (index < 0)
        return bad_args("capture_open");
    char what[64];
    std::snprintf(what, sizeof what, "camera %d", index);
    enum es_err err = capture_open(
        what, out,
        [](cv::VideoCapture &vc, const void *arg) {
            return vc.open(*static_cast<const int *>(arg), cv::CAP_ANY);
        },
        &index);
    if (err == ES_OK)
        (*out)->camera = true;
    return err;
}

// Points cap->view at the last frame as packed 8-bit BGR, converting when needed.
static enum es_err capture_view(struct cvx_capture *cap)
{
    const cv::Mat &raw = cap->raw;
    if (raw.depth() != CV_8U) {
        log_msg(LOG_ERROR, "CV-FRAME", "unsupported frame depth %d", raw.depth());
        return ES_ESOURCE;
    }
    if (raw.channels() == 1)
        cv::cvtColor(raw, cap->bgr, cv::COLOR_GRAY2BGR);
    else if (raw.channels() == 4)
        cv::cvtColor(raw, cap->bgr, cv::COLOR_BGRA2BGR);
    else if (raw.channels() == 3 && !raw.isContinuous())
        cap->bgr = raw.clone();
    else if (raw.channels() == 3)
        cap->bgr = raw;
    else
        return ES_ESOURCE;
    cap->view = {cap->bgr.cols, cap->bgr.rows, 3, cap->bgr.data, cap->bgr.total() * 3};
    return ES_OK;
}

extern "C" enum es_err cvx_capture_read(struct cvx_capture *cap, const struct image **frame)
{
    if (!cap || !frame)
        return bad_args("capture_read");
    *frame = nullptr;
    return guarded("capture_read", [&] {
        if (!cap->vc.read(cap->raw) || cap->raw.empty()) {
            if (!cap->camera)
                return ES_EEOF;
            log_msg(LOG_ERROR, "CV-READ", "camera returned no frame");
            return ES_ESOURCE;
        }
        enum es_err err = capture_view(cap);
        if (err == ES_OK)
            *frame = &cap->view;
        return err;
    });
}

extern "C" double cvx_capture_fps(const struct cvx_capture *cap)
{
    double fps = 0;
    if (!cap)
        return 0;
    guarded("capture_fps", [&] {
        fps = cap->vc.get(cv::CAP_PROP_FPS);
        return ES_OK;
    });
    return fps > 0 && fps < 1e6 ? fps : 0;
}

extern "C" void cvx_capture_free(struct cvx_capture *cap)
{
    if (!cap)
        return;
    guarded("capture_free", [&] {
        cap->vc.release();
        return ES_OK;
    });
    delete cap;
}

extern "C" enum es_err cvx_writer_open(const char *path, int width, int height, double fps,
                                       struct cvx_writer **out)
{
    if (!out)
        return bad_args("writer_open");
    *out = nullptr;
    if (!path || !*path || width <= 0 || height <= 0 || width > STATE_MAX_DIM ||
        height > STATE_MAX_DIM || !(fps > 0))
        return bad_args("writer_open");
    struct cvx_writer *w = nullptr;
    enum es_err err = guarded("writer_open", [&] {
        w = new cvx_writer();
        w->width = width;
        w->height = height;
        int fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
        if (!w->vw.open(path, cv::CAP_ANY, fourcc, fps, cv::Size(width, height), true)) {
            log_msg(LOG_ERROR, "CV-OPEN", "cannot create video file %s", path);
            return ES_ESOURCE;
        }
        return ES_OK;
    });
    if (err != ES_OK) {
        cvx_writer_free(w);
        w = nullptr;
    }
    *out = w;
    return err;
}

extern "C" enum es_err cvx_writer_write(struct cvx_writer *w, const struct image *frame)
{
    if (!w || !image_ok(frame) || frame->channels != 3 || frame->width != w->width ||
        frame->height != w->height)
        return bad_args("writer_write");
    return guarded("writer_write", [&] {
        w->vw.write(wrap(frame));
        return ES_OK;
    });
}

extern "C" void cvx_writer_free(struct cvx_writer *w)
{
    if (!w)
        return;
    guarded("writer_free", [&] {
        w->vw.release();
        return ES_OK;
    });
    delete w;
}

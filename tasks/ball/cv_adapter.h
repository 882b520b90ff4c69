/* The OpenCV adapter: the only place that calls OpenCV. Every function takes plain C types,
 * returns an enum es_err, and never lets a C++ exception escape: OpenCV failures become ES_ECV
 * with a "CV-FAIL" log line naming the operation.
 *
 * Images are wrapped, not copied: an output image must already have its exact size and channel
 * count (allocate it with state_put_image first) and OpenCV writes straight into its buffer; an
 * operation that would reallocate it fails with ES_ECV instead.
 *
 * OpenCV runs single-threaded (cv::setNumThreads(1) on first use, or cvx_init()), so stage
 * timings measure one core and a worker's threads do not fight over a shared pool. */
#ifndef ES_CV_ADAPTER_H
#define ES_CV_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "../es_err.h"
#include "../state.h"

/* Configures OpenCV once (single-threaded). Safe to call from several threads; idempotent.
 * Every other function calls it, so calling it is optional. */
enum es_err cvx_init(void);

/* Resizes src (any size, 1..4 channels) into dst with area interpolation. dst must have the
 * same channel count; its width and height give the target size. */
enum es_err cvx_resize_area(const struct image *src, struct image *dst);

/* Gaussian blur (ksize x ksize, sigma derived from ksize) of the BGR image src, then BGR to
 * HSV, into dst (same size, 3 channels). dst must not alias src. */
enum es_err cvx_blur_hsv(const struct image *src, int ksize, struct image *dst);

/* Pixels of the 3-channel image src within [lo, hi] per channel become 255, others 0; then the
 * result is eroded and dilated iterations times each with the default 3x3 kernel, into dst
 * (same size, 1 channel). */
enum es_err cvx_range_mask(const struct image *src, const double lo[3], const double hi[3],
                           int iterations, struct image *dst);

/* Appends the external contours of the 1-channel mask (simple chain approximation) to out, in
 * OpenCV's order. The mask is not modified. On failure out may hold some of the contours. */
enum es_err cvx_external_contours(const struct image *mask, struct polylines *out);

/* The largest polyline of a set (by contour area, the first one on ties) and its geometry. */
struct cvx_circle {
    int index;            /* the chosen polyline, or -1 when the set is empty */
    double x, y, radius;  /* minimum enclosing circle (float results widened to double) */
    double m00, m10, m01; /* spatial moments of the polyline */
};

/* Fills out for the largest polyline of pl (index -1 and zeros when pl is empty). */
enum es_err cvx_largest_circle(const struct polylines *pl, struct cvx_circle *out);

/* Draws on the BGR image img a circle outline at (x, y) of the given radius and thickness
 * (thickness < 0 fills it). Colour is B, G, R. */
enum es_err cvx_draw_circle(struct image *img, int x, int y, int radius, const double bgr[3],
                            int thickness);

/* Encodes the BGR (or 1-channel) image img as JPEG of the given quality (0..100) into a new
 * malloc'd buffer *out of *len bytes; the caller frees it. On failure *out is NULL. */
enum es_err cvx_encode_jpeg(const struct image *img, int quality, uint8_t **out, size_t *len);

/* Encodes the image img (1, 3 or 4 channels) as PNG with zlib level 0..9 into a new malloc'd
 * buffer *out of *len bytes; the caller frees it. On failure *out is NULL. */
enum es_err cvx_encode_png(const struct image *img, int level, uint8_t **out, size_t *len);

/* Decodes a PNG or JPEG stream unchanged (no colour conversion) into dst, whose width, height
 * and channels say what it must hold: a stream that decodes to anything else is ES_ECV. */
enum es_err cvx_decode_exact(const uint8_t *buf, size_t len, struct image *dst);

/* Decodes a JPEG (or any format OpenCV reads) into a BGR image whose data is malloc'd; the
 * caller frees out->data. On failure out is zeroed. */
enum es_err cvx_decode_image(const uint8_t *buf, size_t len, struct image *out);

/* A video or camera reader (cv::VideoCapture). */
struct cvx_capture;

/* Opens a video file. ES_ESOURCE (with a "CV-OPEN" log line naming the path) when it cannot. */
enum es_err cvx_capture_open_file(const char *path, struct cvx_capture **out);

/* Opens camera number index. ES_ESOURCE when it cannot. */
enum es_err cvx_capture_open_camera(int index, struct cvx_capture **out);

/* Reads the next frame as a BGR image. *frame points into cap and stays valid until the next
 * read or cvx_capture_free. ES_EEOF when no frame is left, ES_ESOURCE on a failure. */
enum es_err cvx_capture_read(struct cvx_capture *cap, const struct image **frame);

/* The frame rate the stream reports (CAP_PROP_FPS), or 0 when unknown. */
double cvx_capture_fps(const struct cvx_capture *cap);

/* Releases the device or file and frees cap. Accepts NULL. */
void cvx_capture_free(struct cvx_capture *cap);

/* A video writer for Motion-JPEG .avi files (cv::VideoWriter, fourcc MJPG). */
struct cvx_writer;

/* Creates path for frames of width x height BGR at fps. ES_EINVAL on bad sizes, ES_ESOURCE when
 * the file cannot be created. */
enum es_err cvx_writer_open(const char *path, int width, int height, double fps,
                            struct cvx_writer **out);

/* Appends one BGR frame; its size must match the one given to cvx_writer_open. */
enum es_err cvx_writer_write(struct cvx_writer *w, const struct image *frame);

/* Finishes the file and frees w. Accepts NULL. */
void cvx_writer_free(struct cvx_writer *w);

#ifdef __cplusplus
}
#endif

#endif

/* Frame sources: where the first stage of an image application gets its frames.
 *
 *   synthetic[:SEED]  a deterministic bouncing green ball on a textured background, 640x360 BGR,
 *                     with known ground truth (source_truth); the default
 *   camera[:INDEX]    a camera through OpenCV's VideoCapture
 *   anything else     a video file path, read through OpenCV's VideoCapture
 *
 * A source is used by one thread at a time. */
#ifndef ES_SOURCE_H
#define ES_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "es_err.h"
#include "state.h"

struct source;

/* Ground truth of the synthetic source for the frame last read. */
struct source_truth {
    bool visible; /* the ball's centre is inside the frame */
    double x, y, radius;
};

/* Opens the source named by spec into *out. On failure *out is NULL and the error says why:
 * ES_EINVAL for a malformed spec, ES_ESOURCE when a file or camera cannot be opened. */
enum es_err source_open(const char *spec, struct source **out);

/* Reads the next frame. *frame points into the source and stays valid until the next read or
 * source_free. Returns ES_EEOF at the end of a file, ES_ESOURCE on a read failure. */
enum es_err source_read(struct source *src, const struct image **frame);

/* Index of the frame last read (0-based; for a file, its index in the file). */
uint64_t source_index(const struct source *src);

/* Ground truth for the frame last read; false when the source has none (files, cameras). */
bool source_truth(const struct source *src, struct source_truth *out);

/* Frames per second the source was recorded at, or 0 when unknown (synthetic, most cameras). */
double source_fps(const struct source *src);

/* A view: a source whose frames were read elsewhere (the edge's reader thread reads the real
 * source, and each frame's first stage runs on a pool over a view of its own picture). Every
 * source_read gives the frame last set with source_view_set (ES_ESOURCE before any); a view has no
 * truth and no fps. Free it with source_free. */
enum es_err source_view_new(struct source **out);

/* The frame the view's reads give from now on; NULL for none. It must stay valid meanwhile. */
void source_view_set(struct source *view, const struct image *frame);

/* Closes and frees src. Accepts NULL. */
void source_free(struct source *src);

/* Writes the first n frames of the source named by spec (fewer if it ends first) to an MJPG
 * video at path, at 30 frames per second: how tests and benchmarks make a video file to run on.
 * Errors as source_open and source_read, or ES_ESOURCE when path cannot be written. */
enum es_err source_record(const char *spec, const char *path, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif

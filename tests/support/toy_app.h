/* A toy application for the wire tests and fuzzer: the four field types and seven no-op stages
 * whose reads and writes mirror the ball tracker's (tasks/ball/ball.h), so app_live_fields gives
 * the same sets as for the real application without depending on OpenCV. */
#ifndef ES_TOY_APP_H
#define ES_TOY_APP_H

#include "app.h"

enum toy_field {
    TOY_FRAME = 0,    /* FIELD_IMAGE */
    TOY_HSV = 1,      /* FIELD_IMAGE */
    TOY_MASK = 2,     /* FIELD_MASK */
    TOY_CONTOURS = 3, /* FIELD_POINTS */
    TOY_CIRCLE = 4,   /* FIELD_NUMBERS */
    TOY_NFIELDS
};

#define TOY_NSTAGES 7

extern const struct app toy_app;

/* Test data for the toy application. */

/* Sets device "cam-01", a seq, a capture time and stage times; clears flags. */
void toy_header(struct state *st);

/* Fills every field like a ball tracker frame of 500x281: a noisy frame and HSV image, a mask with
 * one ball of radius 28 at (231,118), its contour plus an empty and a short polyline, and the
 * circle numbers (with a NaN when nan is set). Returns false if memory ran out. */
bool toy_fill_ball(struct state *st, bool nan);

/* As toy_fill_ball with a 16x9 frame, for tests that try every byte of a message. */
bool toy_fill_small(struct state *st);

/* True if field id is present in both states with identical contents (numbers compared by bits). */
bool toy_same_field(const struct state *a, const struct state *b, unsigned id);

/* True if the two states have equal headers (device, seq, captured_us, flags, split, stage_us)
 * and the same present fields with identical contents. */
bool toy_same_state(const struct state *a, const struct state *b);

/* True if any field of st is present. */
bool toy_any_present(const struct state *st);

#endif

/* The green-ball tracker: seven stages from camera frame to result.
 *
 *   0 get_frame         read a frame from the source, resize to width 500 (INTER_AREA)
 *   1 calculate_hsv     Gaussian blur 11x11, BGR to HSV
 *   2 calculate_mask    inRange (29,86,6)-(64,255,255), erode x2, dilate x2
 *   3 find_contours     external contours, simple chain approximation; none ends the frame
 *   4 calculate_circle  largest contour, min enclosing circle, centroid from moments
 *   5 draw_circle       annotate the frame (only when the frame asks for an annotated image)
 *   6 publish_result    result fields (detected, x, y, radius, center) and the optional JPEG
 *
 * The stages match calling OpenCV directly in this order, bit for bit. A frame without contours
 * ends after find_contours (STATE_ENDED) and its result is {"detected":false}.
 *
 * Result: {"detected":true,"x":..,"y":..,"radius":..,"center":[cx,cy]} or {"detected":false}.
 * x, y and radius are float32 values stored as the shortest decimal that reads back as the same
 * float, so dump the result with JSON_REAL_PRECISION(15) (or more) to print 27.9 rather than
 * 27.899999618530273. With STATE_WANT_FRAME, io->jpeg receives the annotated frame as a
 * quality-80 JPEG. */
#ifndef ES_BALL_H
#define ES_BALL_H

#ifdef __cplusplus
extern "C" {
#endif

#include "../app.h"

enum ball_field {
    BALL_FRAME = 0,    /* FIELD_IMAGE, BGR, 500 x floor(h*500/w) */
    BALL_HSV = 1,      /* FIELD_IMAGE, HSV */
    BALL_MASK = 2,     /* FIELD_MASK */
    BALL_CONTOURS = 3, /* FIELD_POINTS */
    BALL_CIRCLE = 4,   /* FIELD_NUMBERS: see enum ball_circle */
    BALL_NFIELDS
};

/* Indexes into the BALL_CIRCLE numbers. */
enum ball_circle {
    CIRCLE_DETECTED = 0, /* 1 or 0 */
    CIRCLE_X,            /* minEnclosingCircle centre and radius (float32 values) */
    CIRCLE_Y,
    CIRCLE_RADIUS,
    CIRCLE_CX, /* centroid from moments, truncated to int */
    CIRCLE_CY,
    CIRCLE_NUMBERS
};

#define BALL_WIDTH 500

extern const struct app ball_app;

#ifdef __cplusplus
}
#endif

#endif

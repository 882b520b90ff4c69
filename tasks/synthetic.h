/* The synthetic frame generator behind the "synthetic[:SEED]" source (private to tasks/).
 *
 * Frame i of seed s is a 640x360 BGR image: a fixed tiled background of greys, browns and blues
 * (none of them in the tracker's green HSV range), mild per-pixel noise, and a shaded green ball
 * of constant radius bouncing at constant velocity inside a region larger than the frame, so it
 * regularly leaves the picture for a while. Every frame is a pure function of (s, i). */
#ifndef ES_SYNTHETIC_H
#define ES_SYNTHETIC_H

#include <stdint.h>

#include "es_err.h"
#include "source.h"
#include "state.h"

#define SYNTHETIC_WIDTH 640
#define SYNTHETIC_HEIGHT 360

struct synthetic;

/* Creates a generator for seed (any value, 0 included) into *out; ES_ENOMEM leaves *out NULL. */
enum es_err synthetic_new(uint32_t seed, struct synthetic **out);

/* Renders frame index into the generator's own buffer and returns it; valid until the next
 * render or synthetic_free. */
const struct image *synthetic_render(struct synthetic *syn, uint64_t index);

/* Where the ball is in frame index (pixel centres at integer coordinates). */
void synthetic_truth(const struct synthetic *syn, uint64_t index, struct source_truth *out);

/* Frees syn. Accepts NULL. */
void synthetic_free(struct synthetic *syn);

#endif

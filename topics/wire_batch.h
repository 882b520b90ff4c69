/* Frame batches: several wire v1 messages of one device and one split in one MQTT message, so
 * that a device whose rate is high pays the broker's and the worker's per-message costs once for
 * several frames. The frames inside are byte for byte the messages the device would have sent
 * one by one; a worker decodes and answers each as if it had come alone (one result per frame).
 * The byte layout is in WIRE.md ("Frame batches").
 *
 * A batch goes only to workers that said they take batches (the "batch" member of their status,
 * topics/status.h); a frame published again after its deadline always goes alone. */
#ifndef ES_WIRE_BATCH_H
#define ES_WIRE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

#define WIRE_BATCH_MAGIC "ESB" /* 0x45 0x53 0x42 */
#define WIRE_BATCH_VERSION 1
#define WIRE_BATCH_HEAD_LEN 5    /* magic, version, frame count */
#define WIRE_BATCH_FRAME_HEAD 4  /* u32 length of each frame */
#define WIRE_BATCH_MAX_FRAMES 64 /* frames in one batch at most */

/* A batch being read: wire_batch_open checked its layout; wire_batch_next walks its frames. */
struct wire_batch {
    const uint8_t *p;
    size_t len;
    size_t pos;
    unsigned count; /* frames in the batch, 1..WIRE_BATCH_MAX_FRAMES */
    unsigned taken; /* frames wire_batch_next returned so far */
};

/* True when buf[0..len-1] starts with the batch magic (it may still be malformed). */
bool wire_is_batch(const uint8_t *buf, size_t len);

/* How many frames a message claims to hold: a batch's count (clamped to 1..WIRE_BATCH_MAX_FRAMES;
 * not validated, for accounting only: wire_batch_open checks it), else 1. */
unsigned wire_batch_frames(const uint8_t *buf, size_t len);

/* Checks the container of a batch: magic, version, a count of 1..WIRE_BATCH_MAX_FRAMES, and
 * frame lengths of at least 1 byte that end exactly at the end of the message. The frames
 * themselves are not looked at (each goes through wire_decode). Errors: ES_ETRUNC, ES_EMAGIC,
 * ES_EVERSION, ES_ELIMIT (count or len above the limits), ES_EFORMAT; why gets a one-line
 * reason (may be NULL when whylen is 0). */
enum es_err wire_batch_open(const uint8_t *buf, size_t len, struct wire_batch *b, char *why,
                            size_t whylen);

/* The next frame of an opened batch, pointing into its buffer (no copy); false after the last. */
bool wire_batch_next(struct wire_batch *b, const uint8_t **frame, size_t *len);

/* A batch being built in a buffer of its own, reused from batch to batch. */
struct wire_batcher {
    uint8_t *buf;
    size_t cap;
    size_t len;     /* bytes so far, the head included; 0: empty */
    unsigned count; /* frames so far */
};

/* Whether a frame of len bytes fits into b without passing max_frames frames or max_bytes bytes
 * in all (an empty batch takes any frame). */
bool wire_batcher_fits(const struct wire_batcher *b, size_t len, unsigned max_frames,
                       size_t max_bytes);

/* Appends frame[0..len-1] (a wire v1 message) to b, starting the batch when b is empty.
 * ES_ELIMIT at WIRE_BATCH_MAX_FRAMES frames or above WIRE_MAX_PAYLOAD bytes; ES_ENOMEM. */
enum es_err wire_batcher_add(struct wire_batcher *b, const uint8_t *frame, size_t len);

/* Empties b for the next batch (keeps its buffer). */
void wire_batcher_clear(struct wire_batcher *b);

/* Frees b's buffer. */
void wire_batcher_free(struct wire_batcher *b);

#endif

/* Wire format v1: the binary encoding of a frame state travelling from the device to a worker.
 *
 * A message carries a header (application, split K, device, sequence number, capture time, flags,
 * the times of stages 0..K-1) and only the fields the stages K.. still read. The byte layout is
 * documented in WIRE.md beside this file. The decoder is the one piece of the project that reads
 * bytes from the network: it checks every length against the buffer and against the limits in
 * state.h before it allocates or copies anything, and never reads past the buffer. */
#ifndef ES_WIRE_H
#define ES_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "state.h"

#define WIRE_MAGIC "ESW" /* the first three bytes of every message: 0x45 0x53 0x57 */
#define WIRE_MAGIC_LEN 3
#define WIRE_VERSION 1
#define WIRE_MAX_PAYLOAD (64u * 1024u * 1024u)
#define WIRE_APP_MAX 32

/* The header of a message, as wire_peek reports it. */
struct wire_header {
    char app[WIRE_APP_MAX + 1]; /* application name, [a-z0-9_]{1,32} */
    uint8_t split;              /* stage K the frame is addressed to: K.. run at the receiver */
    char device[STATE_DEVICE_MAX + 1]; /* validated [A-Za-z0-9_-]{1,64} */
    uint64_t seq;
    int64_t captured_us;
    uint32_t flags; /* enum state_flag */
};

/* How image fields (FIELD_IMAGE) travel; masks are run-length coded whatever the codec. */
enum wire_image_codec {
    WIRE_IMAGE_RAW = 0,  /* the pixels as they are */
    WIRE_IMAGE_PNG = 1,  /* lossless */
    WIRE_IMAGE_JPEG = 2, /* lossy, 1 or 3 channels */
};

/* Compression of image bodies is not this module's work (it is OpenCV's, in the programs): a
 * program that sends or accepts compressed images registers a coder once, before any encode or
 * decode runs. Without one, the encoder sends images raw and the decoder refuses compressed ones
 * (ES_EFORMAT). */
struct wire_image_coder {
    /* Compresses img into a new malloc'd *out of *len bytes (quality: JPEG 1..100). */
    enum es_err (*encode)(const struct image *img, enum wire_image_codec codec, int quality,
                          uint8_t **out, size_t *len);
    /* Decompresses p[0..n-1] into img, already sized (width, height, channels) as the message
     * declares and its stream header was checked to say: exactly that, or an error. */
    enum es_err (*decode)(const uint8_t *p, size_t n, enum wire_image_codec codec,
                          struct image *img);
};

/* Registers the coder (NULL: none). Not thread-safe: call it before threads start. */
void wire_set_image_coder(const struct wire_image_coder *coder);

/* Parses "raw", "png", "jpeg" or "jpeg:Q" (Q 1..100, default 90). ES_EINVAL otherwise. */
enum es_err wire_parse_image_codec(const char *spec, enum wire_image_codec *codec, int *quality);

/* Encoding choices beyond the state itself. */
struct wire_encode_opts {
    enum wire_image_codec image_codec; /* for FIELD_IMAGE; an image the codec cannot hold (JPEG
                                        * of 2 or 4 channels) or no coder: raw */
    int quality;                       /* JPEG quality 1..100 */
};

/* Encodes st for split k: the header (st->app->name, k, st->device, st->seq, st->captured_us,
 * st->flags, st->stage_us[0..k-1]) and those fields of app_live_fields(st->app, k,
 * st->flags & STATE_WANT_FRAME) that are present in st, in ascending field id.
 *
 * Writes into *buf, which is realloc'd when *cap is too small (*buf may be NULL with *cap 0); the
 * caller owns and frees *buf, also after a failure. Sets *len to the message length on success.
 * Errors: ES_EINVAL when k is not in 1..nstages-1, the app name or device id is malformed, flags
 * has unknown bits, a field is out of range for the wire (image dimensions, channels, a mask
 * channel count other than 1, a mask pixel other than 0 or 255); ES_ELIMIT when the message would
 * exceed WIRE_MAX_PAYLOAD or a point list exceeds the state limits; ES_ENOMEM. */
enum es_err wire_encode(const struct state *st, unsigned k, uint8_t **buf, size_t *cap,
                        size_t *len);

/* As wire_encode, with images compressed as opts says (NULL: raw). A coder failure is the
 * coder's error (ES_ECV, ES_ENOMEM). */
enum es_err wire_encode_ex(const struct state *st, unsigned k, const struct wire_encode_opts *opts,
                           uint8_t **buf, size_t *cap, size_t *len);

/* Parses and validates only the header of buf[0..len-1] into *hdr (application name, split 1..15,
 * device id, flags); does not look at the fields. Errors: ES_ETRUNC, ES_EMAGIC, ES_EVERSION,
 * ES_ELIMIT (len > WIRE_MAX_PAYLOAD), ES_EFORMAT. *hdr is unspecified after a failure. */
enum es_err wire_peek(const uint8_t *buf, size_t len, struct wire_header *hdr);

/* Decodes buf[0..len-1] into st, which must have been state_init'ed for the application named in
 * the message (compared by name; else ES_EAPP). Calls state_reset(st) first, then fills device,
 * seq, captured_us, flags, split, stage_us[0..K-1] and the shipped fields, reusing st's buffers.
 *
 * Rejects, without reading past buf or allocating from an unchecked size: truncation (ES_ETRUNC),
 * a wrong magic (ES_EMAGIC), another version (ES_EVERSION), another application (ES_EAPP), sizes
 * above the limits of state.h or WIRE_MAX_PAYLOAD (ES_ELIMIT), and anything else malformed
 * (ES_EFORMAT): split outside 1..nstages-1, unknown flags, a bad device id, a field id not below
 * nfields, a field type other than the declared one, a field the stages K.. do not read, a
 * duplicate field, inconsistent field lengths, trailing bytes. ES_ENOMEM if memory runs out.
 * On any error st is left reset (no field present) and valid for reuse or state_release. */
enum es_err wire_decode(const uint8_t *buf, size_t len, struct state *st);

/* As wire_decode, and on failure writes a one-line reason ("image 9000x10 exceeds 8192") into
 * why[0..whylen-1], NUL-terminated; on success why[0] is '\0'. why may be NULL if whylen is 0. */
enum es_err wire_decode_ex(const uint8_t *buf, size_t len, struct state *st, char *why,
                           size_t whylen);

#endif

/* Internal helpers shared by the wire encoder (wire.c) and decoder (wire_decode.c): little-endian
 * integers, zigzag, and the alphabets of names. Not part of the public API. */
#ifndef ES_WIRE_BYTES_H
#define ES_WIRE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "state.h"
#include "topic.h"
#include "wire.h"

#define WIRE_KNOWN_FLAGS ((uint32_t)(STATE_WANT_FRAME | STATE_ENDED))
#define WIRE_FIELD_HEAD_LEN 6 /* u8 id, u8 type, u32 body length */
#define WIRE_VARINT_MAX_LEN 10
/* An image's channel byte: channels in the low nibble, enum wire_image_codec in the high one. */
#define WIRE_CODEC_SHIFT 4

/* The registered image coder, or NULL (wire.c). */
const struct wire_image_coder *wire__image_coder(void);

/* ---- little-endian integers: memcpy to and from the host integer, swapped on big-endian ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WIRE_HOST_BIG_ENDIAN 1
#else
#define WIRE_HOST_BIG_ENDIAN 0
#endif

static inline uint64_t wire__swap_bytes(uint64_t v, unsigned n)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < n; i++, v >>= 8)
        r = (r << 8) | (v & 0xFF);
    return r;
}

static inline uint64_t wire__load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    if (n == 2) {
        uint16_t t;
        memcpy(&t, p, 2);
        v = t;
    } else if (n == 4) {
        uint32_t t;
        memcpy(&t, p, 4);
        v = t;
    } else {
        memcpy(&v, p, 8);
    }
    return WIRE_HOST_BIG_ENDIAN ? wire__swap_bytes(v, n) : v;
}

static inline void wire__store_le(uint8_t *p, uint64_t v, unsigned n)
{
    if (WIRE_HOST_BIG_ENDIAN)
        v = wire__swap_bytes(v, n);
    if (n == 2) {
        uint16_t t = (uint16_t)v;
        memcpy(p, &t, 2);
    } else if (n == 4) {
        uint32_t t = (uint32_t)v;
        memcpy(p, &t, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

static inline uint64_t wire__zigzag(int64_t v)
{
    return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static inline int64_t wire__unzigzag(uint64_t u)
{
    return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

static inline bool wire__valid_app_name(const char *s, size_t n)
{
    if (n < 1 || n > WIRE_APP_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* s[0..n) is a device id (topic_valid_id) with no NUL inside; s is NUL-terminated at or after
 * n. */
static inline bool wire__valid_device(const char *s, size_t n)
{
    return strnlen(s, n + 1) == n && topic_valid_id(s);
}

#endif

/* Frame batches (wire_batch.h): the container around several wire v1 messages. Like the frame
 * decoder, the reader checks every length against the bytes left before it uses it. */
#include "wire_batch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_bytes.h"

static enum es_err fail(char *why, size_t whylen, enum es_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum es_err fail(char *why, size_t whylen, enum es_err err, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return err;
}

bool wire_is_batch(const uint8_t *buf, size_t len)
{
    return buf && len >= 3 && memcmp(buf, WIRE_BATCH_MAGIC, 3) == 0;
}

unsigned wire_batch_frames(const uint8_t *buf, size_t len)
{
    if (!wire_is_batch(buf, len) || len < WIRE_BATCH_HEAD_LEN)
        return 1;
    unsigned n = buf[4];
    return n >= 1 && n <= WIRE_BATCH_MAX_FRAMES ? n : 1;
}

enum es_err wire_batch_open(const uint8_t *buf, size_t len, struct wire_batch *b, char *why,
                            size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!b || (!buf && len))
        return ES_EINVAL;
    *b = (struct wire_batch){0};
    if (len > WIRE_MAX_PAYLOAD)
        return fail(why, whylen, ES_ELIMIT, "batch of %zu bytes exceeds %u", len, WIRE_MAX_PAYLOAD);
    if (len < 3 || memcmp(buf, WIRE_BATCH_MAGIC, 3) != 0)
        return fail(why, whylen, len < 3 ? ES_ETRUNC : ES_EMAGIC, "not a batch");
    if (len < WIRE_BATCH_HEAD_LEN)
        return fail(why, whylen, ES_ETRUNC, "batch truncated in its head");
    if (buf[3] != WIRE_BATCH_VERSION)
        return fail(why, whylen, ES_EVERSION, "batch version %u, not %u", buf[3],
                    WIRE_BATCH_VERSION);
    unsigned count = buf[4];
    if (count == 0)
        return fail(why, whylen, ES_EFORMAT, "batch of no frames");
    if (count > WIRE_BATCH_MAX_FRAMES)
        return fail(why, whylen, ES_ELIMIT, "batch of %u frames exceeds %u", count,
                    WIRE_BATCH_MAX_FRAMES);
    size_t pos = WIRE_BATCH_HEAD_LEN;
    for (unsigned i = 0; i < count; i++) {
        if (len - pos < WIRE_BATCH_FRAME_HEAD)
            return fail(why, whylen, ES_ETRUNC, "batch truncated at frame %u of %u", i + 1, count);
        uint64_t n = wire__load_le(buf + pos, 4);
        pos += WIRE_BATCH_FRAME_HEAD;
        if (n == 0)
            return fail(why, whylen, ES_EFORMAT, "frame %u of the batch is empty", i + 1);
        if (n > len - pos)
            return fail(why, whylen, ES_ETRUNC, "frame %u of the batch: %llu bytes, %zu left",
                        i + 1, (unsigned long long)n, len - pos);
        pos += (size_t)n;
    }
    if (pos != len)
        return fail(why, whylen, ES_EFORMAT, "%zu bytes after the batch's last frame", len - pos);
    *b = (struct wire_batch){.p = buf, .len = len, .pos = WIRE_BATCH_HEAD_LEN, .count = count};
    return ES_OK;
}

bool wire_batch_next(struct wire_batch *b, const uint8_t **frame, size_t *len)
{
    if (!b || b->taken >= b->count)
        return false;
    size_t n = (size_t)wire__load_le(b->p + b->pos, 4); /* checked by wire_batch_open */
    *frame = b->p + b->pos + WIRE_BATCH_FRAME_HEAD;
    *len = n;
    b->pos += WIRE_BATCH_FRAME_HEAD + n;
    b->taken++;
    return true;
}

bool wire_batcher_fits(const struct wire_batcher *b, size_t len, unsigned max_frames,
                       size_t max_bytes)
{
    if (b->count == 0)
        return true;
    size_t total = b->len + WIRE_BATCH_FRAME_HEAD + len;
    return b->count < max_frames && b->count < WIRE_BATCH_MAX_FRAMES && total <= max_bytes &&
           total <= WIRE_MAX_PAYLOAD;
}

enum es_err wire_batcher_add(struct wire_batcher *b, const uint8_t *frame, size_t len)
{
    if (!b || !frame || len == 0 || len > UINT32_MAX)
        return ES_EINVAL;
    size_t head = b->count ? 0 : WIRE_BATCH_HEAD_LEN;
    if (b->count >= WIRE_BATCH_MAX_FRAMES ||
        len > WIRE_MAX_PAYLOAD - head - WIRE_BATCH_FRAME_HEAD - b->len)
        return ES_ELIMIT;
    size_t need = b->len + head + WIRE_BATCH_FRAME_HEAD + len;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc(b->buf, cap);
        if (!p)
            return ES_ENOMEM;
        b->buf = p;
        b->cap = cap;
    }
    if (!b->count) {
        memcpy(b->buf, WIRE_BATCH_MAGIC, 3);
        b->buf[3] = WIRE_BATCH_VERSION;
        b->len = WIRE_BATCH_HEAD_LEN;
    }
    wire__store_le(b->buf + b->len, len, 4);
    memcpy(b->buf + b->len + WIRE_BATCH_FRAME_HEAD, frame, len);
    b->len += WIRE_BATCH_FRAME_HEAD + len;
    b->buf[4] = (uint8_t)++b->count;
    return ES_OK;
}

void wire_batcher_clear(struct wire_batcher *b)
{
    b->len = 0;
    b->count = 0;
}

void wire_batcher_free(struct wire_batcher *b)
{
    free(b->buf);
    *b = (struct wire_batcher){0};
}

/* Wire format v1, the encoder; the byte layout is described in WIRE.md. */
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "wire_bytes.h"

/* An output buffer with a sticky error: after the first failure every put is a no-op. */
struct wbuf {
    uint8_t **buf;
    size_t *cap;
    size_t len;
    enum es_err err;
    const struct wire_encode_opts *opts; /* NULL: raw images */
};

static const struct wire_image_coder *g_coder; /* set once at start-up (wire_set_image_coder) */

void wire_set_image_coder(const struct wire_image_coder *coder)
{
    g_coder = coder;
}

const struct wire_image_coder *wire__image_coder(void)
{
    return g_coder;
}

enum es_err wire_parse_image_codec(const char *spec, enum wire_image_codec *codec, int *quality)
{
    *quality = 90;
    if (!spec)
        return ES_EINVAL;
    if (strcmp(spec, "raw") == 0) {
        *codec = WIRE_IMAGE_RAW;
        return ES_OK;
    }
    if (strcmp(spec, "png") == 0) {
        *codec = WIRE_IMAGE_PNG;
        return ES_OK;
    }
    if (strncmp(spec, "jpeg", 4) != 0 || (spec[4] != '\0' && spec[4] != ':'))
        return ES_EINVAL;
    *codec = WIRE_IMAGE_JPEG;
    if (spec[4] == '\0')
        return ES_OK;
    char *end;
    long q = strtol(spec + 5, &end, 10);
    if (end == spec + 5 || *end || q < 1 || q > 100)
        return ES_EINVAL;
    *quality = (int)q;
    return ES_OK;
}

/* Makes room for n more bytes, keeping the message within WIRE_MAX_PAYLOAD. */
static bool wb_room(struct wbuf *w, size_t n)
{
    if (w->err != ES_OK)
        return false;
    if (n > WIRE_MAX_PAYLOAD - w->len) {
        w->err = ES_ELIMIT;
        return false;
    }
    size_t need = w->len + n;
    if (need <= *w->cap)
        return true;
    size_t cap = *w->cap ? *w->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(*w->buf, cap);
    if (!p) {
        w->err = ES_ENOMEM;
        return false;
    }
    *w->buf = p;
    *w->cap = cap;
    return true;
}

static void wb_bytes(struct wbuf *w, const void *src, size_t n)
{
    if (n && wb_room(w, n)) {
        memcpy(*w->buf + w->len, src, n);
        w->len += n;
    }
}

static void wb_int(struct wbuf *w, uint64_t v, unsigned n)
{
    if (n == 1 && wb_room(w, 1)) {
        (*w->buf)[w->len++] = (uint8_t)v;
    } else if (n > 1 && wb_room(w, n)) {
        wire__store_le(*w->buf + w->len, v, n);
        w->len += n;
    }
}

static void wb_varint(struct wbuf *w, uint64_t v)
{
    if (!wb_room(w, WIRE_VARINT_MAX_LEN))
        return;
    uint8_t *p = *w->buf + w->len;
    size_t i = 0;
    while (v >= 0x80) {
        p[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[i++] = (uint8_t)v;
    w->len += i;
}

static bool image_dims_ok(const struct image *img)
{
    return img->width >= 1 && img->width <= STATE_MAX_DIM && img->height >= 1 &&
           img->height <= STATE_MAX_DIM && img->channels >= 1 &&
           img->channels <= STATE_MAX_CHANNELS;
}

/* The codec an image goes with: the one asked for when a coder is registered and the codec can
 * hold the image's channels, else raw. */
static enum wire_image_codec image_codec(const struct wbuf *w, const struct image *img)
{
    enum wire_image_codec c = w->opts ? w->opts->image_codec : WIRE_IMAGE_RAW;
    if (!g_coder || (c == WIRE_IMAGE_JPEG && img->channels != 1 && img->channels != 3))
        return WIRE_IMAGE_RAW;
    return c;
}

static enum es_err put_image(struct wbuf *w, const struct image *img)
{
    if (!image_dims_ok(img) || !img->data)
        return ES_EINVAL;
    enum wire_image_codec codec = image_codec(w, img);
    wb_int(w, (uint64_t)img->width, 2);
    wb_int(w, (uint64_t)img->height, 2);
    wb_int(w, (uint64_t)img->channels | (uint64_t)codec << WIRE_CODEC_SHIFT, 1);
    if (codec == WIRE_IMAGE_RAW) {
        wb_bytes(w, img->data, (size_t)img->width * (size_t)img->height * (size_t)img->channels);
        return w->err;
    }
    uint8_t *z = NULL;
    size_t zlen = 0;
    enum es_err err = g_coder->encode(img, codec, w->opts->quality, &z, &zlen);
    if (err == ES_OK)
        wb_bytes(w, z, zlen);
    free(z);
    return err != ES_OK ? err : w->err;
}

/* First index at or after i whose byte differs from val, comparing eight bytes at a time. */
static size_t run_end(const uint8_t *p, size_t i, size_t n, uint8_t val)
{
    const uint64_t pattern = val ? UINT64_MAX : 0;
    while (n - i >= 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v != pattern)
            break;
        i += 8;
    }
    while (i < n && p[i] == val)
        i++;
    return i;
}

static enum es_err put_mask(struct wbuf *w, const struct image *m)
{
    if (!image_dims_ok(m) || m->channels != 1 || !m->data)
        return ES_EINVAL;
    wb_int(w, (uint64_t)m->width, 2);
    wb_int(w, (uint64_t)m->height, 2);
    size_t n = (size_t)m->width * (size_t)m->height, i = 0;
    uint8_t val = 0;
    while (i < n && w->err == ES_OK) {
        size_t end = run_end(m->data, i, n, val);
        uint8_t other = val ? 0 : 255;
        if (end < n && m->data[end] != other)
            return ES_EINVAL;
        wb_varint(w, end - i);
        i = end;
        val = other;
    }
    return w->err;
}

static enum es_err put_points(struct wbuf *w, const struct polylines *pl)
{
    if (pl->count > STATE_MAX_POLYLINES || pl->total > STATE_MAX_POINTS)
        return ES_ELIMIT;
    if ((pl->count && !pl->start) || (pl->total && !pl->pts))
        return ES_EINVAL;
    wb_varint(w, pl->count);
    for (uint32_t i = 0; i < pl->count && w->err == ES_OK; i++) {
        uint32_t a = pl->start[i], b = pl->start[i + 1];
        if (b < a || b > pl->total)
            return ES_EINVAL;
        wb_varint(w, b - a);
        int64_t px = 0, py = 0;
        for (uint32_t j = a; j < b; j++) {
            wb_varint(w, wire__zigzag(pl->pts[j].x - px));
            wb_varint(w, wire__zigzag(pl->pts[j].y - py));
            px = pl->pts[j].x;
            py = pl->pts[j].y;
        }
    }
    return w->err;
}

static enum es_err put_numbers(struct wbuf *w, const struct numbers *num)
{
    if (num->count > STATE_MAX_NUMBERS)
        return ES_EINVAL;
    wb_int(w, num->count, 1);
    for (uint32_t i = 0; i < num->count; i++) {
        uint64_t bits;
        memcpy(&bits, &num->v[i], 8);
        wb_int(w, bits, 8);
    }
    return w->err;
}

static enum es_err put_header(struct wbuf *w, const struct state *st, unsigned k)
{
    size_t nlen = strlen(st->app->name);
    size_t dlen = strnlen(st->device, sizeof st->device);
    if (!wire__valid_app_name(st->app->name, nlen) || !wire__valid_device(st->device, dlen) ||
        (st->flags & ~WIRE_KNOWN_FLAGS))
        return ES_EINVAL;
    wb_bytes(w, WIRE_MAGIC, WIRE_MAGIC_LEN);
    wb_int(w, WIRE_VERSION, 1);
    wb_int(w, nlen, 1);
    wb_bytes(w, st->app->name, nlen);
    wb_int(w, k, 1);
    wb_int(w, dlen, 1);
    wb_bytes(w, st->device, dlen);
    wb_int(w, st->seq, 8);
    wb_int(w, (uint64_t)st->captured_us, 8);
    wb_int(w, st->flags, 4);
    for (unsigned i = 0; i < k; i++)
        wb_int(w, st->stage_us[i], 4);
    return w->err;
}

static enum es_err put_field(struct wbuf *w, const struct field *f, unsigned id)
{
    size_t at = w->len;
    wb_int(w, id, 1);
    wb_int(w, (uint64_t)f->type, 1);
    wb_int(w, 0, 4); /* body length, patched below */
    if (w->err != ES_OK)
        return w->err;
    enum es_err err = ES_EINVAL;
    switch (f->type) {
    case FIELD_IMAGE:
        err = put_image(w, &f->img);
        break;
    case FIELD_MASK:
        err = put_mask(w, &f->img);
        break;
    case FIELD_POINTS:
        err = put_points(w, &f->pl);
        break;
    case FIELD_NUMBERS:
        err = put_numbers(w, &f->num);
        break;
    }
    if (err == ES_OK)
        wire__store_le(*w->buf + at + 2, w->len - at - WIRE_FIELD_HEAD_LEN, 4);
    return err;
}

enum es_err wire_encode(const struct state *st, unsigned k, uint8_t **buf, size_t *cap, size_t *len)
{
    return wire_encode_ex(st, k, NULL, buf, cap, len);
}

enum es_err wire_encode_ex(const struct state *st, unsigned k, const struct wire_encode_opts *opts,
                           uint8_t **buf, size_t *cap, size_t *len)
{
    if (!st || !st->app || !buf || !cap || !len || k < 1 || k >= st->app->nstages ||
        k >= STATE_MAX_STAGES ||
        (opts && opts->image_codec != WIRE_IMAGE_RAW && (opts->quality < 1 || opts->quality > 100)))
        return ES_EINVAL;
    const struct app *app = st->app;
    struct wbuf w = {.buf = buf, .cap = cap, .len = 0, .err = ES_OK, .opts = opts};
    enum es_err err = put_header(&w, st, k);
    if (err != ES_OK)
        return err;
    uint32_t ship = app_live_fields(app, k, (st->flags & STATE_WANT_FRAME) != 0);
    unsigned nship = 0;
    for (unsigned id = 0; id < app->nfields && id < STATE_MAX_FIELDS; id++) {
        if (!(ship & FIELD_BIT(id)) || !st->fields[id].present)
            ship &= ~FIELD_BIT(id);
        else
            nship++;
    }
    wb_int(&w, nship, 1);
    for (unsigned id = 0; id < app->nfields && id < STATE_MAX_FIELDS && err == ES_OK; id++)
        if (ship & FIELD_BIT(id))
            err = put_field(&w, &st->fields[id], id);
    if (err == ES_OK)
        err = w.err;
    if (err == ES_OK)
        *len = w.len;
    return err;
}

/* Wire format v1, the decoder: the one piece of the project that reads bytes from the network.
 * Every length is checked against the bytes left and against the limits before anything is
 * allocated or copied. The byte layout is described in WIRE.md. */
#include "wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "wire_bytes.h"

/* A bounds-checked reader over buf[0..len-1]; the first failure writes the reason to why. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    char *why;
    size_t whylen;
    uint64_t max_width, max_height, max_points; /* the application's, or the framework's */
};

static enum es_err fail(struct rd *r, enum es_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum es_err fail(struct rd *r, enum es_err err, const char *fmt, ...)
{
    if (r->why && r->whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->whylen, fmt, ap);
        va_end(ap);
    }
    return err;
}

static size_t rd_left(const struct rd *r)
{
    return r->len - r->pos;
}

static enum es_err rd_int(struct rd *r, unsigned n, uint64_t *out, const char *what)
{
    *out = 0; /* defined even on failure */
    if (rd_left(r) < n)
        return fail(r, ES_ETRUNC, "truncated at offset %zu reading %s", r->pos, what);
    *out = n == 1 ? r->p[r->pos] : wire__load_le(r->p + r->pos, n);
    r->pos += n;
    return ES_OK;
}

static enum es_err rd_varint(struct rd *r, uint64_t *out, const char *what)
{
    *out = 0;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (rd_left(r) < 1)
            return fail(r, ES_ETRUNC, "truncated at offset %zu reading %s", r->pos, what);
        uint8_t b = r->p[r->pos++];
        if (shift == 63 && b > 1)
            return fail(r, ES_EFORMAT, "%s varint overflows 64 bits", what);
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return ES_OK;
        }
    }
    return fail(r, ES_EFORMAT, "%s varint is too long", what);
}

/* Reads a u8 length and that many bytes into out (NUL-terminated), checked by valid(). */
static enum es_err rd_name(struct rd *r, char *out, size_t max, bool (*valid)(const char *, size_t),
                           const char *what)
{
    uint64_t n;
    enum es_err err = rd_int(r, 1, &n, what);
    if (err != ES_OK)
        return err;
    if (n < 1 || n > max)
        return fail(r, ES_EFORMAT, "%s length %u not in 1..%zu", what, (unsigned)n, max);
    if (rd_left(r) < n)
        return fail(r, ES_ETRUNC, "truncated at offset %zu reading %s", r->pos, what);
    memcpy(out, r->p + r->pos, n);
    out[n] = '\0';
    r->pos += n;
    if (!valid(out, n))
        return fail(r, ES_EFORMAT, "%s has characters outside its alphabet", what);
    return ES_OK;
}

static enum es_err parse_header(struct rd *r, struct wire_header *h, uint32_t *stage_us)
{
    if (r->len > WIRE_MAX_PAYLOAD)
        return fail(r, ES_ELIMIT, "message of %zu bytes exceeds %u", r->len, WIRE_MAX_PAYLOAD);
    if (r->len < WIRE_MAGIC_LEN + 1)
        return fail(r, ES_ETRUNC, "message of %zu bytes has no room for magic and version", r->len);
    if (memcmp(r->p, WIRE_MAGIC, WIRE_MAGIC_LEN) != 0)
        return fail(r, ES_EMAGIC, "bad magic %02x %02x %02x", r->p[0], r->p[1], r->p[2]);
    if (r->p[WIRE_MAGIC_LEN] != WIRE_VERSION)
        return fail(r, ES_EVERSION, "wire version %u, expected %u", r->p[WIRE_MAGIC_LEN],
                    WIRE_VERSION);
    r->pos = WIRE_MAGIC_LEN + 1;
    uint64_t split = 0, seq = 0, cap = 0, flags = 0, t = 0;
    enum es_err err = rd_name(r, h->app, WIRE_APP_MAX, wire__valid_app_name, "application name");
    if (err == ES_OK)
        err = rd_int(r, 1, &split, "split");
    if (err == ES_OK && (split < 1 || split >= STATE_MAX_STAGES))
        err = fail(r, ES_EFORMAT, "split %u not in 1..%d", (unsigned)split, STATE_MAX_STAGES - 1);
    if (err == ES_OK)
        err = rd_name(r, h->device, STATE_DEVICE_MAX, wire__valid_device, "device id");
    if (err == ES_OK)
        err = rd_int(r, 8, &seq, "seq");
    if (err == ES_OK)
        err = rd_int(r, 8, &cap, "captured_us");
    if (err == ES_OK)
        err = rd_int(r, 4, &flags, "flags");
    if (err == ES_OK && (flags & ~(uint64_t)WIRE_KNOWN_FLAGS))
        err = fail(r, ES_EFORMAT, "unknown flags 0x%x", (unsigned)flags);
    for (unsigned i = 0; err == ES_OK && i < split; i++) {
        err = rd_int(r, 4, &t, "stage_us");
        stage_us[i] = (uint32_t)t;
    }
    if (err != ES_OK)
        return err;
    h->split = (uint8_t)split;
    h->seq = seq;
    h->captured_us = (int64_t)cap;
    h->flags = (uint32_t)flags;
    return ES_OK;
}

enum es_err wire_peek(const uint8_t *buf, size_t len, struct wire_header *hdr)
{
    if (!hdr || (!buf && len))
        return ES_EINVAL;
    struct rd r = {.p = buf, .len = len};
    uint32_t stage_us[STATE_MAX_STAGES];
    return parse_header(&r, hdr, stage_us);
}

/* Reads width and height (and channels when ch is not NULL), checked against the limits. */
static enum es_err rd_dims(struct rd *r, uint64_t *w, uint64_t *h, uint64_t *ch)
{
    enum es_err err = rd_int(r, 2, w, "width");
    if (err == ES_OK)
        err = rd_int(r, 2, h, "height");
    if (err == ES_OK && ch)
        err = rd_int(r, 1, ch, "channels");
    if (err != ES_OK)
        return err;
    if (*w == 0 || *h == 0)
        return fail(r, ES_EFORMAT, "image %ux%u is empty", (unsigned)*w, (unsigned)*h);
    if (*w > r->max_width || *h > r->max_height)
        return fail(r, ES_ELIMIT, "image %ux%u exceeds %ux%u", (unsigned)*w, (unsigned)*h,
                    (unsigned)r->max_width, (unsigned)r->max_height);
    if (ch && (*ch < 1 || *ch > STATE_MAX_CHANNELS))
        return fail(r, ES_ELIMIT, "image has %u channels, not 1..%d", (unsigned)*ch,
                    STATE_MAX_CHANNELS);
    return ES_OK;
}

/* The size a PNG stream's header declares: the signature, then the IHDR chunk (13 bytes: width,
 * height, bit depth, colour type, ...). Only 8-bit grey, grey+alpha, RGB and RGBA. */
static bool png_dims(const uint8_t *p, size_t n, uint64_t *w, uint64_t *h, uint64_t *ch)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 33 || memcmp(p, sig, 8) != 0 || memcmp(p + 8, "\0\0\0\x0dIHDR", 8) != 0)
        return false;
    *w = (uint64_t)p[16] << 24 | (uint64_t)p[17] << 16 | (uint64_t)p[18] << 8 | p[19];
    *h = (uint64_t)p[20] << 24 | (uint64_t)p[21] << 16 | (uint64_t)p[22] << 8 | p[23];
    static const uint8_t channels[7] = {1, 0, 3, 0, 2, 0, 4};      /* by colour type; 0: refused */
    if (p[24] != 8 || p[25] > 6 || !channels[p[25]] || p[28] != 0) /* depth, type, interlace */
        return false;
    *ch = channels[p[25]];
    return true;
}

/* The size a JPEG stream's frame header declares. Only baseline and extended sequential frames
 * (SOF0, SOF1) of 8-bit samples: a progressive stream can cost a decoder far more time than its
 * size suggests. */
static bool jpeg_dims(const uint8_t *p, size_t n, uint64_t *w, uint64_t *h, uint64_t *ch)
{
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
        return false;
    size_t i = 2;
    while (i + 4 <= n) {
        if (p[i] != 0xFF)
            return false;
        uint8_t m = p[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        size_t seg = (size_t)p[i + 2] << 8 | p[i + 3];
        if (seg < 2 || seg > n - i - 2)
            return false;
        if (m == 0xC0 || m == 0xC1) {
            if (seg < 8 || p[i + 4] != 8)
                return false;
            *h = (uint64_t)p[i + 5] << 8 | p[i + 6];
            *w = (uint64_t)p[i + 7] << 8 | p[i + 8];
            *ch = p[i + 9];
            return true;
        }
        if ((m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xDA ||
            m == 0xD9)
            return false; /* another frame type, or scan data before any frame header */
        i += 2 + seg;
    }
    return false;
}

/* A compressed image body: the stream's own header must declare the size the field declares
 * before anything is allocated or decoded. */
static enum es_err get_compressed(struct rd *r, struct state *st, unsigned id, uint64_t codec,
                                  uint64_t w, uint64_t h, uint64_t ch)
{
    const struct wire_image_coder *coder = wire__image_coder();
    const char *name = codec == WIRE_IMAGE_PNG ? "png" : "jpeg";
    if (codec != WIRE_IMAGE_PNG && codec != WIRE_IMAGE_JPEG)
        return fail(r, ES_EFORMAT, "image codec %u unknown", (unsigned)codec);
    if (!coder)
        return fail(r, ES_EFORMAT, "%s image, and no image decoder here", name);
    const uint8_t *p = r->p + r->pos;
    size_t n = rd_left(r);
    uint64_t sw = 0, sh = 0, sch = 0;
    bool ok =
        codec == WIRE_IMAGE_PNG ? png_dims(p, n, &sw, &sh, &sch) : jpeg_dims(p, n, &sw, &sh, &sch);
    if (!ok)
        return fail(r, ES_EFORMAT, "%s stream without a header this decoder accepts", name);
    if (sw != w || sh != h || sch != ch)
        return fail(r, ES_EFORMAT, "%s stream says %ux%ux%u, field says %ux%ux%u", name,
                    (unsigned)sw, (unsigned)sh, (unsigned)sch, (unsigned)w, (unsigned)h,
                    (unsigned)ch);
    struct image *img = state_put_image(st, id, (int)w, (int)h, (int)ch);
    if (!img)
        return fail(r, ES_ENOMEM, "no memory for image %ux%ux%u", (unsigned)w, (unsigned)h,
                    (unsigned)ch);
    enum es_err err = coder->decode(p, n, (enum wire_image_codec)codec, img);
    if (err != ES_OK)
        return fail(r, err == ES_ENOMEM ? ES_ENOMEM : ES_EFORMAT, "%s stream does not decode",
                    name);
    r->pos += n;
    return ES_OK;
}

static enum es_err get_image(struct rd *r, struct state *st, unsigned id)
{
    uint64_t w, h, chb;
    enum es_err err = rd_dims(r, &w, &h, NULL);
    if (err == ES_OK)
        err = rd_int(r, 1, &chb, "channels");
    if (err != ES_OK)
        return err;
    uint64_t ch = chb & ((1u << WIRE_CODEC_SHIFT) - 1), codec = chb >> WIRE_CODEC_SHIFT;
    if (ch < 1 || ch > STATE_MAX_CHANNELS)
        return fail(r, ES_ELIMIT, "image has %u channels, not 1..%d", (unsigned)ch,
                    STATE_MAX_CHANNELS);
    if (codec != WIRE_IMAGE_RAW)
        return get_compressed(r, st, id, codec, w, h, ch);
    uint64_t n = w * h * ch;
    if (rd_left(r) != n)
        return fail(r, ES_EFORMAT, "image %ux%ux%u needs %llu bytes, field has %zu", (unsigned)w,
                    (unsigned)h, (unsigned)ch, (unsigned long long)n, rd_left(r));
    struct image *img = state_put_image(st, id, (int)w, (int)h, (int)ch);
    if (!img)
        return fail(r, ES_ENOMEM, "no memory for image %ux%ux%u", (unsigned)w, (unsigned)h,
                    (unsigned)ch);
    memcpy(img->data, r->p + r->pos, (size_t)n);
    r->pos += (size_t)n;
    return ES_OK;
}

/* Walks the runs of a mask of n pixels; fills out (when not NULL) with one memset per run. */
static enum es_err walk_runs(struct rd *r, uint64_t n, uint8_t *out)
{
    uint64_t done = 0;
    uint8_t val = 0;
    for (bool first = true; done < n || first; first = false, val ^= 0xFF) {
        uint64_t run;
        enum es_err err = rd_varint(r, &run, "mask run");
        if (err != ES_OK)
            return err;
        if (run == 0 && !first)
            return fail(r, ES_EFORMAT, "empty mask run after the first");
        if (run > n - done)
            return fail(r, ES_EFORMAT, "mask runs exceed %llu pixels", (unsigned long long)n);
        if (out)
            memset(out + done, val, (size_t)run);
        done += run;
    }
    if (rd_left(r))
        return fail(r, ES_EFORMAT, "%zu bytes after the mask runs", rd_left(r));
    return ES_OK;
}

static enum es_err get_mask(struct rd *r, struct state *st, unsigned id)
{
    uint64_t w, h;
    enum es_err err = rd_dims(r, &w, &h, NULL);
    if (err != ES_OK)
        return err;
    size_t start = r->pos;
    err = walk_runs(r, w * h, NULL); /* validate everything before allocating */
    if (err != ES_OK)
        return err;
    struct image *img = state_put_image(st, id, (int)w, (int)h, 1);
    if (!img)
        return fail(r, ES_ENOMEM, "no memory for mask %ux%u", (unsigned)w, (unsigned)h);
    r->pos = start;
    return walk_runs(r, w * h, img->data);
}

/* Adds a zigzag delta to a coordinate; false if the result leaves the int32 range. */
static bool add_delta(int64_t *c, uint64_t zz)
{
    int64_t d = wire__unzigzag(zz);
    if (d < (int64_t)INT32_MIN - *c || d > (int64_t)INT32_MAX - *c)
        return false;
    *c += d;
    return true;
}

static enum es_err walk_line(struct rd *r, struct point *out, uint64_t n)
{
    int64_t x = 0, y = 0;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t zx, zy;
        enum es_err err = rd_varint(r, &zx, "point x");
        if (err == ES_OK)
            err = rd_varint(r, &zy, "point y");
        if (err != ES_OK)
            return err;
        if (!add_delta(&x, zx) || !add_delta(&y, zy))
            return fail(r, ES_EFORMAT, "point leaves the int32 range");
        if (out)
            out[j] = (struct point){.x = (int32_t)x, .y = (int32_t)y};
    }
    return ES_OK;
}

/* Walks a point list, counting polylines and points; fills out (when not NULL), which must have
 * room for the counts a previous walk returned. Limits are checked before the bytes left, and
 * both before a count is used. */
static enum es_err walk_points(struct rd *r, struct polylines *out, uint32_t *count,
                               uint32_t *total)
{
    uint64_t nl, tot = 0;
    enum es_err err = rd_varint(r, &nl, "polyline count");
    if (err != ES_OK)
        return err;
    if (nl > STATE_MAX_POLYLINES)
        return fail(r, ES_ELIMIT, "%llu polylines exceed %u", (unsigned long long)nl,
                    STATE_MAX_POLYLINES);
    if (nl > rd_left(r))
        return fail(r, ES_ETRUNC, "%llu polylines in %zu bytes", (unsigned long long)nl,
                    rd_left(r));
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t np;
        err = rd_varint(r, &np, "point count");
        if (err != ES_OK)
            return err;
        if (np > r->max_points - tot)
            return fail(r, ES_ELIMIT, "more than %u points", (unsigned)r->max_points);
        if (np > rd_left(r) / 2)
            return fail(r, ES_ETRUNC, "polyline of %llu points in %zu bytes",
                        (unsigned long long)np, rd_left(r));
        if (out)
            out->start[i] = (uint32_t)tot;
        err = walk_line(r, out ? out->pts + tot : NULL, np);
        if (err != ES_OK)
            return err;
        tot += np;
    }
    if (rd_left(r))
        return fail(r, ES_EFORMAT, "%zu bytes after the points", rd_left(r));
    *count = (uint32_t)nl;
    *total = (uint32_t)tot;
    return ES_OK;
}

static enum es_err get_points(struct rd *r, struct state *st, unsigned id)
{
    size_t start = r->pos;
    uint32_t count, total;
    enum es_err err = walk_points(r, NULL, &count, &total);
    if (err != ES_OK)
        return err;
    struct polylines *pl = state_put_polylines(st, id, count, total);
    if (!pl)
        return fail(r, ES_ENOMEM, "no memory for %u polylines of %u points", count, total);
    r->pos = start;
    err = walk_points(r, pl, &count, &total);
    pl->count = count;
    pl->total = total;
    pl->start[count] = total;
    return err;
}

static enum es_err get_numbers(struct rd *r, struct state *st, unsigned id)
{
    uint64_t n, bits;
    enum es_err err = rd_int(r, 1, &n, "number count");
    if (err != ES_OK)
        return err;
    if (n > STATE_MAX_NUMBERS)
        return fail(r, ES_ELIMIT, "%u numbers exceed %d", (unsigned)n, STATE_MAX_NUMBERS);
    if (rd_left(r) != n * 8)
        return fail(r, ES_EFORMAT, "%u numbers need %u bytes, field has %zu", (unsigned)n,
                    (unsigned)n * 8, rd_left(r));
    struct numbers *num = state_put_numbers(st, id, (uint32_t)n);
    if (!num)
        return fail(r, ES_ENOMEM, "cannot store %u numbers", (unsigned)n);
    for (unsigned i = 0; i < n && err == ES_OK; i++) {
        err = rd_int(r, 8, &bits, "number");
        memcpy(&num->v[i], &bits, 8);
    }
    return err;
}

/* Reads one field head and checks it against the application and the fields seen so far. */
static enum es_err get_field_head(struct rd *r, const struct app *app, uint32_t live, uint32_t seen,
                                  unsigned *id, uint32_t *blen)
{
    uint64_t i, type, n;
    *id = 0;
    *blen = 0;
    enum es_err err = rd_int(r, 1, &i, "field id");
    if (err == ES_OK)
        err = rd_int(r, 1, &type, "field type");
    if (err == ES_OK)
        err = rd_int(r, 4, &n, "field length");
    if (err != ES_OK)
        return err;
    if (i >= app->nfields || i >= STATE_MAX_FIELDS)
        return fail(r, ES_EFORMAT, "field id %u out of range, %s has %u fields", (unsigned)i,
                    app->name, app->nfields);
    if (type != (uint64_t)app->fields[i].type)
        return fail(r, ES_EFORMAT, "field %u (%s) has type %u, expected %u", (unsigned)i,
                    app->fields[i].name, (unsigned)type, (unsigned)app->fields[i].type);
    if (seen & FIELD_BIT(i))
        return fail(r, ES_EFORMAT, "field %u (%s) appears twice", (unsigned)i, app->fields[i].name);
    if (!(live & FIELD_BIT(i)))
        return fail(r, ES_EFORMAT, "field %u (%s) is not read at this split", (unsigned)i,
                    app->fields[i].name);
    if (n > rd_left(r))
        return fail(r, ES_ETRUNC, "field %u (%s) of %llu bytes, %zu left", (unsigned)i,
                    app->fields[i].name, (unsigned long long)n, rd_left(r));
    *id = (unsigned)i;
    *blen = (uint32_t)n;
    return ES_OK;
}

static enum es_err get_field_body(struct rd *b, struct state *st, unsigned id)
{
    switch (st->app->fields[id].type) {
    case FIELD_IMAGE:
        return get_image(b, st, id);
    case FIELD_MASK:
        return get_mask(b, st, id);
    case FIELD_POINTS:
        return get_points(b, st, id);
    case FIELD_NUMBERS:
        return get_numbers(b, st, id);
    }
    return fail(b, ES_EFORMAT, "field %u has no wire encoding", id);
}

static enum es_err get_fields(struct rd *r, struct state *st)
{
    const struct app *app = st->app;
    uint32_t live = app_live_fields(app, st->split, (st->flags & STATE_WANT_FRAME) != 0);
    uint32_t seen = 0;
    uint64_t n;
    enum es_err err = rd_int(r, 1, &n, "field count");
    if (err == ES_OK && n > app->nfields)
        err = fail(r, ES_EFORMAT, "%u fields, %s has %u", (unsigned)n, app->name, app->nfields);
    for (unsigned i = 0; err == ES_OK && i < n; i++) {
        unsigned id;
        uint32_t blen;
        err = get_field_head(r, app, live, seen, &id, &blen);
        if (err != ES_OK)
            break;
        seen |= FIELD_BIT(id);
        struct rd body = *r; /* the field's bytes only, with the same limits */
        body.p = r->p + r->pos;
        body.len = blen;
        body.pos = 0;
        err = get_field_body(&body, st, id);
        if (err == ES_OK && body.pos != body.len)
            err = fail(r, ES_EFORMAT, "field %u has %zu unused bytes", id, rd_left(&body));
        r->pos += blen;
    }
    if (err == ES_OK && rd_left(r))
        err = fail(r, ES_EFORMAT, "%zu trailing bytes after the fields", rd_left(r));
    return err;
}

static enum es_err decode(struct rd *r, struct state *st)
{
    struct wire_header h;
    uint32_t stage_us[STATE_MAX_STAGES] = {0};
    enum es_err err = parse_header(r, &h, stage_us);
    if (err != ES_OK)
        return err;
    if (strcmp(h.app, st->app->name) != 0)
        return fail(r, ES_EAPP, "message for application %s, state is for %s", h.app,
                    st->app->name);
    if (h.split >= st->app->nstages)
        return fail(r, ES_EFORMAT, "split %u not below the %u stages of %s", h.split,
                    st->app->nstages, st->app->name);
    const struct app_limits *lim = &st->app->limits;
    if (lim->max_width && lim->max_width < r->max_width)
        r->max_width = lim->max_width;
    if (lim->max_height && lim->max_height < r->max_height)
        r->max_height = lim->max_height;
    if (lim->max_points && lim->max_points < r->max_points)
        r->max_points = lim->max_points;
    memcpy(st->device, h.device, sizeof st->device);
    st->seq = h.seq;
    st->captured_us = h.captured_us;
    st->flags = h.flags;
    st->split = h.split;
    memcpy(st->stage_us, stage_us, sizeof st->stage_us);
    return get_fields(r, st);
}

enum es_err wire_decode_ex(const uint8_t *buf, size_t len, struct state *st, char *why,
                           size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    struct rd r = {.p = buf,
                   .len = len,
                   .why = why,
                   .whylen = why ? whylen : 0,
                   .max_width = STATE_MAX_DIM,
                   .max_height = STATE_MAX_DIM,
                   .max_points = STATE_MAX_POINTS};
    if (!st || !st->app || (!buf && len))
        return fail(&r, ES_EINVAL, "no state or no buffer");
    state_reset(st);
    enum es_err err = decode(&r, st);
    if (err != ES_OK)
        state_reset(st);
    return err;
}

enum es_err wire_decode(const uint8_t *buf, size_t len, struct state *st)
{
    return wire_decode_ex(buf, len, st, NULL, 0);
}

/* Compressed pictures on the wire (--image-codec) with the OpenCV coder, on real frames of the
 * ball tracker at splits 1 (the BGR picture) and 2 (its HSV version): PNG gives the pixels back
 * exactly, JPEG close to them, both smaller than raw. Without a coder the encoder sends raw and
 * the decoder refuses compressed bodies. Hostile bodies are refused before anything decodes: a
 * stream whose header disagrees with the field, a progressive JPEG, an unknown codec; a damaged
 * stream is refused, not half-decoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "check.h"
#include "image_coder.h"
#include "registry.h"
#include "source.h"
#include "wire.h"

/* The image field a message at split k carries (the first field the stages k.. read). */
static unsigned image_field(const struct app *app, unsigned k)
{
    uint32_t live = app_live_fields(app, k, false);
    for (unsigned id = 0; id < app->nfields; id++)
        if ((live & FIELD_BIT(id)) && app->fields[id].type == FIELD_IMAGE)
            return id;
    return 0;
}

static size_t encode(const struct state *st, unsigned k, enum wire_image_codec codec, uint8_t **buf,
                     size_t *cap)
{
    struct wire_encode_opts o = {.image_codec = codec, .quality = 90};
    size_t len = 0;
    CHECK_EQ_INT(wire_encode_ex(st, k, &o, buf, cap, &len), ES_OK);
    return len;
}

/* Offset of needle in buf, or 0. */
static size_t find(const uint8_t *buf, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0)
            return i;
    return 0;
}

static enum es_err decode(const uint8_t *buf, size_t len, struct state *out, char *why,
                          size_t whylen)
{
    return wire_decode_ex(buf, len, out, why, whylen);
}

static void at_split(struct state *st, struct state *out, unsigned k)
{
    unsigned id = image_field(st->app, k);
    const struct image *src = state_image(st, id);
    CHECK(src != NULL);
    if (!src)
        return;
    size_t raw_n = (size_t)src->width * (size_t)src->height * (size_t)src->channels;
    uint8_t *buf = NULL;
    size_t cap = 0, why_n = 160;
    char why[160];

    /* no coder: png asked, raw sent */
    wire_set_image_coder(NULL);
    size_t raw = encode(st, k, WIRE_IMAGE_RAW, &buf, &cap);
    CHECK_EQ_INT(encode(st, k, WIRE_IMAGE_PNG, &buf, &cap), raw);
    CHECK(raw > raw_n);

    wire_set_image_coder(image_coder_opencv());
    size_t png = encode(st, k, WIRE_IMAGE_PNG, &buf, &cap);
    CHECK(png < raw);
    CHECK_EQ_INT(decode(buf, png, out, why, why_n), ES_OK);
    const struct image *got = state_image(out, id);
    CHECK(got && got->width == src->width && got->height == src->height &&
          got->channels == src->channels && memcmp(got->data, src->data, raw_n) == 0);

    /* a receiver without a coder refuses it */
    wire_set_image_coder(NULL);
    CHECK_EQ_INT(decode(buf, png, out, why, why_n), ES_EFORMAT);
    CHECK(strstr(why, "no image decoder") != NULL);
    wire_set_image_coder(image_coder_opencv());

    /* the field says one pixel narrower than the stream */
    static const uint8_t png_sig[4] = {0x89, 'P', 'N', 'G'};
    size_t at = find(buf, png, png_sig, 4);
    CHECK(at > 5);
    buf[at - 5]--;
    CHECK_EQ_INT(decode(buf, png, out, why, why_n), ES_EFORMAT);
    CHECK(strstr(why, "png stream says") != NULL);
    buf[at - 5]++;
    /* an unknown codec in the channel byte */
    buf[at - 1] = (uint8_t)((buf[at - 1] & 0x0F) | 0x30);
    CHECK_EQ_INT(decode(buf, png, out, why, why_n), ES_EFORMAT);
    CHECK(strstr(why, "codec 3") != NULL);
    buf[at - 1] = (uint8_t)((buf[at - 1] & 0x0F) | 0x10);
    /* damaged compressed data (the lengths still agree) */
    memset(buf + at + 200, 0x5A, 400);
    CHECK(decode(buf, png, out, why, why_n) != ES_OK);

    size_t jpg = encode(st, k, WIRE_IMAGE_JPEG, &buf, &cap);
    CHECK(jpg < png);
    CHECK_EQ_INT(decode(buf, jpg, out, why, why_n), ES_OK);
    got = state_image(out, id);
    double diff = 0;
    if (got && got->width == src->width && got->height == src->height &&
        got->channels == src->channels)
        for (size_t i = 0; i < raw_n; i++)
            diff += abs((int)got->data[i] - (int)src->data[i]);
    else
        diff = 1e12;
    diff /= (double)raw_n;
    printf("split %u: raw %zu bytes, png %zu, jpeg:90 %zu (mean error %.2f)\n", k, raw, png, jpg,
           diff);
    CHECK(diff < 8); /* 3.4 on the BGR picture, 4.6 on its HSV version at quality 90 */
    /* a progressive frame header (SOF2) instead of a baseline one */
    static const uint8_t soi[3] = {0xFF, 0xD8, 0xFF}, sof0[2] = {0xFF, 0xC0};
    size_t start = find(buf, jpg, soi, 3);
    CHECK(start > 0);
    at = start + find(buf + start, jpg - start, sof0, 2);
    CHECK(at > start);
    buf[at + 1] = 0xC2;
    CHECK_EQ_INT(decode(buf, jpg, out, why, why_n), ES_EFORMAT);
    CHECK(strstr(why, "jpeg stream without a header") != NULL);
    free(buf);
}

int main(void)
{
    const struct app *app = app_find("ball");
    struct source *src = NULL;
    CHECK_EQ_INT(source_open("synthetic:5", &src), ES_OK);
    struct state st, out;
    state_init(&st, app);
    state_init(&out, app);
    for (int i = 0; i < 3; i++) { /* a frame with the ball in view */
        struct stage_io io = {.st = &st, .source = src};
        state_reset(&st);
        snprintf(st.device, sizeof st.device, "codec-test");
        CHECK_EQ_INT(app_run(&io, 0, 2, NULL, NULL), ES_OK);
    }
    at_split(&st, &out, 1);
    at_split(&st, &out, 2);
    /* bad codec names */
    enum wire_image_codec c;
    int q;
    CHECK_EQ_INT(wire_parse_image_codec("jpeg:75", &c, &q), ES_OK);
    CHECK(c == WIRE_IMAGE_JPEG && q == 75);
    CHECK_EQ_INT(wire_parse_image_codec("png", &c, &q), ES_OK);
    CHECK(c == WIRE_IMAGE_PNG);
    CHECK_EQ_INT(wire_parse_image_codec("jpeg:0", &c, &q), ES_EINVAL);
    CHECK_EQ_INT(wire_parse_image_codec("jpeg:", &c, &q), ES_EINVAL);
    CHECK_EQ_INT(wire_parse_image_codec("jpegx", &c, &q), ES_EINVAL);
    CHECK_EQ_INT(wire_parse_image_codec("gif", &c, &q), ES_EINVAL);
    state_release(&st);
    state_release(&out);
    source_free(src);
    return check_exit();
}

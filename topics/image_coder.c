#include "image_coder.h"

#include "ball/cv_adapter.h"

/* zlib level for PNG: 1 costs a few ms a frame and keeps most of the gain of higher levels on
 * camera pictures. */
#define PNG_LEVEL 1

static enum es_err encode(const struct image *img, enum wire_image_codec codec, int quality,
                          uint8_t **out, size_t *len)
{
    switch (codec) {
    case WIRE_IMAGE_PNG:
        return cvx_encode_png(img, PNG_LEVEL, out, len);
    case WIRE_IMAGE_JPEG:
        return cvx_encode_jpeg(img, quality, out, len);
    case WIRE_IMAGE_RAW:
        break;
    }
    return ES_EINVAL;
}

static enum es_err decode(const uint8_t *p, size_t n, enum wire_image_codec codec,
                          struct image *img)
{
    (void)codec; /* the stream says which; wire_decode checked that it matches */
    return cvx_decode_exact(p, n, img);
}

static const struct wire_image_coder coder = {.encode = encode, .decode = decode};

const struct wire_image_coder *image_coder_opencv(void)
{
    return &coder;
}

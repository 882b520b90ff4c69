/* The wire's image coder (wire.h: struct wire_image_coder) backed by OpenCV's PNG and JPEG codecs
 * through the adapter. Both programs register it at start-up; the wire module itself stays free
 * of OpenCV. */
#ifndef ES_IMAGE_CODER_H
#define ES_IMAGE_CODER_H

#include "wire.h"

/* The coder: PNG at zlib level 1 (fast; pixels are kept exactly), JPEG at the quality asked. */
const struct wire_image_coder *image_coder_opencv(void);

#endif

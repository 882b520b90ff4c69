/* Writes seed frames for fuzz_stages into a directory: real ball tracker frames from the
 * synthetic camera at splits 3 to 6 (the small ones: a mask, contours, numbers; splits 1 and 2
 * ship a 421 KB picture, too slow to fuzz), one at split 1 with its picture as a JPEG of
 * quality 20 (about 10 KB, for the image decoder), and the sensor application's frames at every
 * split.
 * Usage: stage_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "image_coder.h"
#include "registry.h"
#include "source.h"
#include "seeds.h"
#include "wire.h"

/* Runs app's stages 0..k-1 on a fresh frame and writes its wire encoding as DIR/NAME. */
static int seed(const char *dir, const char *app_name, unsigned k, bool annotate, bool jpeg)
{
    const struct app *app = app_find(app_name);
    struct state st;
    state_init(&st, app);
    struct source *src = NULL;
    if (app->source_default && source_open("synthetic:7", &src) != ES_OK)
        return 1;
    strcpy(st.device, "seed");
    st.seq = 5;
    if (annotate)
        st.flags |= STATE_WANT_FRAME;
    struct stage_io io = {.st = &st, .source = src};
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    struct wire_encode_opts wo = {.image_codec = jpeg ? WIRE_IMAGE_JPEG : WIRE_IMAGE_RAW,
                                  .quality = 20};
    int rc =
        app_run(&io, 0, k, NULL, NULL) != ES_OK || wire_encode_ex(&st, k, &wo, &buf, &cap, &len);
    char name[64];
    snprintf(name, sizeof name, "%s-split%u%s%s.bin", app_name, k, annotate ? "-frame" : "",
             jpeg ? "-jpeg" : "");
    if (rc == 0)
        rc = seed_write(dir, name, buf, len);
    free(buf);
    source_free(src);
    state_release(&st);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: stage_seeds DIR\n");
        return 2;
    }
    wire_set_image_coder(image_coder_opencv());
    int rc = seed(argv[1], "ball", 1, false, true);
    for (unsigned k = 3; k < app_find("ball")->nstages && rc == 0; k++)
        rc = seed(argv[1], "ball", k, false, false);
    const struct app *sensor = app_find("sensor");
    for (unsigned k = 1; sensor && k < sensor->nstages && rc == 0; k++)
        rc = seed(argv[1], "sensor", k, false, false);
    return rc;
}

/* make-video: writes N frames of a source (default the synthetic camera) to an MJPG video, so
 * benchmarks can run on a file like a recorded camera. usage: make-video OUT.avi [N [SOURCE]] */
#include <stdio.h>

#include "ball/cv_adapter.h"
#include "cli.h"
#include "source.h"

int main(int argc, char **argv)
{
    long n = 900;
    if (argc < 2 || argc > 4 || (argc > 2 && cli_parse_long(argv[2], 1, 1000000, &n) != ES_OK)) {
        fprintf(stderr, "usage: make-video OUT.avi [FRAMES [SOURCE]]\n");
        return 2;
    }
    struct source *src = NULL;
    struct cvx_writer *w = NULL;
    enum es_err err = source_open(argc > 3 ? argv[3] : "synthetic", &src);
    for (long i = 0; err == ES_OK && i < n; i++) {
        const struct image *frame;
        err = source_read(src, &frame);
        if (err == ES_OK && !w)
            err = cvx_writer_open(argv[1], frame->width, frame->height, 30, &w);
        if (err == ES_OK)
            err = cvx_writer_write(w, frame);
    }
    cvx_writer_free(w);
    source_free(src);
    if (err != ES_OK && err != ES_EEOF) {
        fprintf(stderr, "make-video: cannot write %s: %s\n", argv[1], es_strerror(err));
        return 1;
    }
    return 0;
}

/* make-video: writes N frames of a source (default the synthetic camera) to an MJPG video, so
 * benchmarks can run on a file like a recorded camera. usage: make-video OUT.avi [N [SOURCE]] */
#include <stdio.h>

#include "cli.h"
#include "source.h"

int main(int argc, char **argv)
{
    long n = 900;
    if (argc < 2 || argc > 4 || (argc > 2 && cli_parse_long(argv[2], 1, 1000000, &n) != ES_OK)) {
        fprintf(stderr, "usage: make-video OUT.avi [FRAMES [SOURCE]]\n");
        return 2;
    }
    enum es_err err = source_record(argc > 3 ? argv[3] : "synthetic", argv[1], (uint64_t)n);
    if (err != ES_OK) {
        fprintf(stderr, "make-video: cannot write %s: %s\n", argv[1], es_strerror(err));
        return 1;
    }
    return 0;
}

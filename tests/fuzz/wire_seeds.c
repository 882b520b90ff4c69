/* Writes seed messages for fuzz_wire into a directory: the small toy frame encoded at every split,
 * with and without an annotated image, and a frame batch of three frames at split 3. Usage:
 * wire_seeds DIR */
#include <stdio.h>
#include <stdlib.h>

#include "toy_app.h"
#include "seeds.h"
#include "wire.h"
#include "wire_batch.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: wire_seeds DIR\n");
        return 2;
    }
    struct state st;
    state_init(&st, &toy_app);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = toy_fill_small(&st) ? 0 : 1;
    for (int annotate = 0; annotate <= 1 && rc == 0; annotate++) {
        st.flags = annotate ? STATE_WANT_FRAME : 0;
        for (unsigned k = 1; k < TOY_NSTAGES && rc == 0; k++) {
            char name[32];
            snprintf(name, sizeof name, "split%u%s.bin", k, annotate ? "-frame" : "");
            rc = wire_encode(&st, k, &buf, &cap, &len) != ES_OK ||
                 seed_write(argv[1], name, buf, len);
        }
    }
    struct wire_batcher b = {0};
    st.flags = 0;
    for (uint64_t seq = 0; seq < 3 && rc == 0; seq++) {
        st.seq = seq;
        rc = wire_encode(&st, 3, &buf, &cap, &len) != ES_OK || wire_batcher_add(&b, buf, len);
    }
    if (rc == 0)
        rc = seed_write(argv[1], "batch-split3.bin", b.buf, b.len);
    wire_batcher_free(&b);
    free(buf);
    state_release(&st);
    return rc;
}

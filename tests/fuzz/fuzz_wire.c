/* libFuzzer target for the wire decoder: any input must be decoded or refused without a crash,
 * a refused input must leave no field present, and an accepted one must survive a re-encoding:
 * encode(decode(x)) decodes to the same state. An input that starts as a frame batch goes
 * through the batch reader first: an accepted batch's frames must lie inside the input, end to
 * end, and each is held to the same rules. Run with tests/fuzz/corpus/wire as the
 * seed corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toy_app.h"
#include "wire.h"
#include "wire_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Kept between inputs, as a worker keeps its states, so buffer reuse is exercised too. */
static struct state g_first, g_second;
static bool g_ready;
static uint8_t *g_buf;
static size_t g_cap;

static bool same_header(const struct wire_header *h, const struct state *st)
{
    return strcmp(h->app, toy_app.name) == 0 && h->split == st->split &&
           strcmp(h->device, st->device) == 0 && h->seq == st->seq &&
           h->captured_us == st->captured_us && h->flags == st->flags;
}

static void check_frame(const uint8_t *data, size_t size)
{
    struct wire_header h;
    enum es_err peeked = wire_peek(data, size, &h);
    char why[160];
    if (wire_decode_ex(data, size, &g_first, why, sizeof why) != ES_OK) {
        if (toy_any_present(&g_first) || why[0] == '\0')
            abort();
        return;
    }
    if (peeked != ES_OK || !same_header(&h, &g_first))
        abort();
    size_t len = 0;
    if (wire_encode(&g_first, g_first.split, &g_buf, &g_cap, &len) != ES_OK)
        abort();
    if (wire_decode(g_buf, len, &g_second) != ES_OK || !toy_same_state(&g_first, &g_second))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        state_init(&g_first, &toy_app);
        state_init(&g_second, &toy_app);
        g_ready = true;
    }
    if (!wire_is_batch(data, size)) {
        check_frame(data, size);
        return 0;
    }
    struct wire_batch b;
    char why[160];
    if (wire_batch_open(data, size, &b, why, sizeof why) != ES_OK) {
        if (why[0] == '\0')
            abort();
        return 0;
    }
    const uint8_t *frame, *end = data + WIRE_BATCH_HEAD_LEN;
    size_t len;
    while (wire_batch_next(&b, &frame, &len)) {
        if (frame != end + WIRE_BATCH_FRAME_HEAD || len == 0 || len > size)
            abort();
        end = frame + len;
        check_frame(frame, len);
    }
    if (end != data + size || b.taken != b.count)
        abort();
    return 0;
}

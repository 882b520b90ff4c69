/* libFuzzer target for what a worker does with a frame from the network: decode it for the
 * application it names (the ball tracker or the sensor application), with the worker's PNG/JPEG
 * image coder, then run the stages from its split to the end, as a worker would. Any input must be
 * refused by the decoder, or run without a crash; a frame the stages accept must give a result
 * object. Seeds: tests/fuzz/corpus/stages (written by stage_seeds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "image_coder.h"
#include "registry.h"
#include "log.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_APPS 8

/* One state per built-in application, kept between inputs as a worker keeps them. */
static struct state g_states[MAX_APPS];

static struct state *state_for(const char *name)
{
    const struct app *const *all = app_all();
    for (unsigned i = 0; all[i] && i < MAX_APPS; i++) {
        if (strcmp(all[i]->name, name) != 0)
            continue;
        if (!g_states[i].app)
            state_init(&g_states[i], all[i]);
        return &g_states[i];
    }
    return NULL;
}

static void quiet(void *arg, enum log_level level, const char *id, const char *line)
{
    (void)arg, (void)level, (void)id, (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_sink(quiet, NULL); /* the stages log their refusals; millions of lines slow it */
    wire_set_image_coder(image_coder_opencv());
    struct wire_header h;
    if (wire_peek(data, size, &h) != ES_OK)
        return 0;
    struct state *st = state_for(h.app);
    if (!st || wire_decode(data, size, st) != ES_OK)
        return 0;
    struct stage_io io = {.st = st};
    enum es_err err = app_run(&io, st->split, st->app->nstages, NULL, NULL);
    if (err == ES_OK && !json_is_object(io.result))
        abort();
    json_decref(io.result);
    free(io.jpeg);
    return 0;
}

/* The sensor application end to end: determinism, events on the spike frames only, early end on
 * flat frames, exact read/write declarations (a split that ships only the live fields computes
 * the same result) and per-stage timing. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "check.h"
#include "sensor/sensor.h"

#define FRAMES 200
#define SENTINEL UINT32_MAX

struct timing {
    unsigned calls;
    unsigned next_stage;
    bool in_order;
    int64_t took[STATE_MAX_STAGES];
};

static void on_stage(void *arg, unsigned stage, int64_t took_us)
{
    struct timing *t = arg;
    if (stage != t->next_stage)
        t->in_order = false;
    t->next_stage = stage + 1;
    if (stage < STATE_MAX_STAGES)
        t->took[stage] = took_us;
    t->calls++;
}

static char *dump(const json_t *r)
{
    return r ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
}

/* Runs every stage of frame seq in st and returns the result dumped (caller frees). Checks that
 * each stage ran once, in order, and wrote its time into stage_us. */
static char *run_frame(struct state *st, uint64_t seq)
{
    state_reset(st);
    st->seq = seq;
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        st->stage_us[i] = SENTINEL;
    struct timing t = {.in_order = true};
    struct stage_io io = {.st = st};
    enum es_err err = app_run(&io, 0, sensor_app.nstages, on_stage, &t);
    CHECK_EQ_INT(err, ES_OK);
    CHECK_EQ_INT(t.calls, sensor_app.nstages);
    CHECK(t.in_order);
    for (unsigned i = 0; i < sensor_app.nstages; i++) {
        CHECK(st->stage_us[i] != SENTINEL);
        CHECK_EQ_INT(st->stage_us[i], t.took[i]);
    }
    CHECK_EQ_INT(st->stage_us[sensor_app.nstages], SENTINEL); /* nothing past the last stage */
    CHECK(io.jpeg == NULL);
    char *s = dump(io.result);
    CHECK(s != NULL);
    json_decref(io.result);
    return s;
}

static void run_all(char **out)
{
    struct state st;
    state_init(&st, &sensor_app);
    for (uint64_t seq = 0; seq < FRAMES; seq++)
        out[seq] = run_frame(&st, seq);
    state_release(&st);
}

static void check_table(void)
{
    CHECK(strcmp(sensor_app.name, "sensor") == 0);
    CHECK(sensor_app.source_default == NULL);
    CHECK_EQ_INT(sensor_app.nstages, 5);
    CHECK_EQ_INT(sensor_app.nfields, SENSOR_NFIELDS);
    const char *names[] = {"read_sensor", "remove_offset", "compute_stats", "detect_event",
                           "publish_result"};
    for (unsigned i = 0; i < 5; i++)
        CHECK(strcmp(sensor_app.stages[i].name, names[i]) == 0);
}

static void check_live_fields(void)
{
    const uint32_t raw = FIELD_BIT(SENSOR_RAW), centered = FIELD_BIT(SENSOR_CENTERED);
    const uint32_t stats = FIELD_BIT(SENSOR_STATS), event = FIELD_BIT(SENSOR_EVENT);
    const uint32_t want[] = {0, raw, raw | centered, stats, stats | event, 0};
    for (unsigned k = 0; k < 6; k++) {
        CHECK_EQ_INT(app_live_fields(&sensor_app, k, false), want[k]);
        CHECK_EQ_INT(app_live_fields(&sensor_app, k, true), want[k]); /* nothing annotated */
    }
}

/* Simulates split k the way the wire does: stages 0..k-1 on one state, then only the live
 * fields (and the header) copied into a fresh state that runs stages k..n-1. */
static char *run_split(uint64_t seq, unsigned k)
{
    struct state dev, worker;
    state_init(&dev, &sensor_app);
    state_init(&worker, &sensor_app);
    dev.seq = seq;
    struct stage_io io = {.st = &dev};
    CHECK_EQ_INT(app_run(&io, 0, k, NULL, NULL), ES_OK);
    CHECK(io.result == NULL);

    worker.seq = dev.seq;
    worker.flags = dev.flags;
    worker.split = (uint8_t)k;
    uint32_t live = app_live_fields(&sensor_app, k, false);
    for (unsigned f = 0; f < SENSOR_NFIELDS; f++) {
        const struct numbers *n = state_numbers(&dev, f);
        if (!(live & FIELD_BIT(f)) || !n)
            continue;
        struct numbers *copy = state_put_numbers(&worker, f, n->count);
        CHECK(copy != NULL);
        if (copy)
            *copy = *n;
    }
    io = (struct stage_io){.st = &worker};
    CHECK_EQ_INT(app_run(&io, k, sensor_app.nstages, NULL, NULL), ES_OK);
    char *s = dump(io.result);
    json_decref(io.result);
    state_release(&dev);
    state_release(&worker);
    return s;
}

static void check_results(char **a)
{
    unsigned events = 0, flats = 0;
    for (uint64_t seq = 0; seq < FRAMES; seq++) {
        json_t *r = json_loads(a[seq], 0, NULL);
        CHECK(r != NULL);
        bool spike = seq % SENSOR_SPIKE_PERIOD == SENSOR_SPIKE_PHASE;
        bool flat = seq % SENSOR_FLAT_PERIOD == SENSOR_FLAT_PERIOD - 1;
        bool event = json_is_true(json_object_get(r, "event"));
        CHECK_EQ_INT(event, spike);
        events += event;
        if (flat) {
            flats++;
            CHECK(strcmp(a[seq], "{\"event\":false}") == 0);
        } else {
            double mean = json_real_value(json_object_get(r, "mean"));
            double rms = json_real_value(json_object_get(r, "rms"));
            double peak = json_real_value(json_object_get(r, "peak"));
            json_int_t crossings = json_integer_value(json_object_get(r, "crossings"));
            CHECK(mean > 0.9 && mean < 1.1);
            CHECK(rms > 0.0 && peak >= rms);
            CHECK(crossings > 0 && crossings < SENSOR_WINDOW);
            CHECK(spike ? peak > 1.0 : peak < 0.1);
        }
        json_decref(r);
    }
    CHECK_EQ_INT(events, 4); /* frames 25, 75, 125, 175 */
    CHECK_EQ_INT(flats, 5);  /* frames 39, 79, 119, 159, 199 */
}

static void check_splits(char **a)
{
    const uint64_t seqs[] = {0, 1, 25, 39, 75, 118, 199};
    for (unsigned i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        for (unsigned k = 1; k < sensor_app.nstages; k++) {
            char *s = run_split(seqs[i], k);
            CHECK(s && strcmp(s, a[seqs[i]]) == 0);
            free(s);
        }
    }
}

int main(void)
{
    check_table();
    check_live_fields();

    char *a[FRAMES], *b[FRAMES];
    run_all(a);
    run_all(b);
    for (unsigned i = 0; i < FRAMES; i++)
        CHECK(a[i] && b[i] && strcmp(a[i], b[i]) == 0);
    check_results(a);
    check_splits(a);

    /* Consecutive frames differ: the noise is seeded per frame. */
    CHECK(strcmp(a[0], a[1]) != 0);

    for (unsigned i = 0; i < FRAMES; i++) {
        free(a[i]);
        free(b[i]);
    }
    return check_exit();
}

/* The sensor application: the smallest complete example of the task interface.
 *
 * Writing an application takes three steps, and this file follows them in order.
 *
 * 1. Declare fields. A field is one typed value that travels between stages (see state.h). The
 *    ids live in sensor.h (enum sensor_field) and sensor_fields[] below gives each one a name
 *    and a type. Here every field is a short list of numbers.
 *
 * 2. Write stages. A stage is a function that reads fields from io->st and writes others. Stages
 *    must not keep state of their own between calls: the next stage may run on another machine,
 *    after the fields were serialized, so everything a later stage needs goes into a field.
 *    The runner fills the frame header (device, seq, capture time) before the first stage,
 *    which produces the frame; the last stage turns the fields into io->result. Any stage may
 *    end a frame early by setting STATE_ENDED; the last stage still runs and must cope with the
 *    fields the skipped stages never wrote.
 *
 * 3. Fill the table. sensor_stages[] lists the stages in order with the fields each one reads
 *    and writes (FIELD_BIT masks). The framework trusts these declarations to decide what a
 *    split must ship, so they must be exact: a read that is not declared is a field that will
 *    be missing on the worker. sensor_app ties fields and stages together under a name.
 *
 * The data: read_sensor synthesizes an accelerometer magnitude (about 1 g) from the frame's seq
 * alone, as a slow sine plus small noise from a xorshift generator seeded with seq, so any frame
 * can be reproduced anywhere. Some frames carry a single large spike (the "event" to detect)
 * and some read flat, like a stuck sensor; see sensor.h for which. */
#include "sensor.h"

#include <math.h>

#include "log.h"

#define SENSOR_PI 3.14159265358979323846
#define BASE_G 1.0          /* resting magnitude: gravity */
#define SINE_G 0.05         /* amplitude of the slow drift */
#define SINE_PERIOD 2048.0  /* samples per drift period */
#define NOISE_G 0.02        /* noise is uniform in [-NOISE_G, NOISE_G] */
#define SPIKE_G 1.5         /* height of a spike */
#define FLAT_RMS 1e-6       /* below this rms a window carries no signal */
#define CREST_THRESHOLD 4.0 /* a spike lifts peak/rms above 5; noise stays under 3 */

/* Step 1: the fields, indexed by enum sensor_field. */
static const struct field_def sensor_fields[SENSOR_NFIELDS] = {
    [SENSOR_RAW] = {"raw", FIELD_NUMBERS},
    [SENSOR_CENTERED] = {"centered", FIELD_NUMBERS},
    [SENSOR_STATS] = {"stats", FIELD_NUMBERS},
    [SENSOR_EVENT] = {"event", FIELD_NUMBERS},
};

/* A xorshift32 generator: tiny, fast and the same on every platform. */
static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Step 2: the stages. */

/* Stage 0: fills SENSOR_RAW with the window of frame io->st->seq. */
static enum es_err read_sensor(struct stage_io *io)
{
    struct state *st = io->st;
    struct numbers *raw = state_put_numbers(st, SENSOR_RAW, SENSOR_WINDOW);
    if (!raw)
        return ES_EINVAL;

    uint64_t seq = st->seq;
    bool flat = seq % SENSOR_FLAT_PERIOD == SENSOR_FLAT_PERIOD - 1;
    bool spike = seq % SENSOR_SPIKE_PERIOD == SENSOR_SPIKE_PHASE;
    /* Mix seq into a nonzero seed so neighbouring frames get unrelated noise. */
    uint32_t rng = (uint32_t)(seq * 2654435761u) ^ 0x9e3779b9u;
    if (rng == 0)
        rng = 1;

    for (unsigned i = 0; i < SENSOR_WINDOW; i++) {
        if (flat) {
            raw->v[i] = BASE_G;
            continue;
        }
        double t = (double)(seq * SENSOR_WINDOW + i);
        double unit = (double)(xorshift32(&rng) >> 8) / (double)(1u << 24); /* [0, 1) */
        raw->v[i] =
            BASE_G + SINE_G * sin(2.0 * SENSOR_PI * t / SINE_PERIOD) + NOISE_G * (2.0 * unit - 1.0);
    }
    if (spike)
        raw->v[7 + seq % 16] += SPIKE_G;
    return ES_OK;
}

static double mean_of(const struct numbers *n)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < n->count; i++)
        sum += n->v[i];
    return n->count ? sum / n->count : 0.0;
}

/* Stage 1: SENSOR_CENTERED = SENSOR_RAW minus its mean. */
static enum es_err remove_offset(struct stage_io *io)
{
    const struct numbers *raw = state_numbers(io->st, SENSOR_RAW);
    if (!raw)
        return ES_EINVAL;
    double mean = mean_of(raw);
    struct numbers *c = state_put_numbers(io->st, SENSOR_CENTERED, raw->count);
    if (!c)
        return ES_EINVAL;
    for (uint32_t i = 0; i < raw->count; i++)
        c->v[i] = raw->v[i] - mean;
    return ES_OK;
}

/* Stage 2: SENSOR_STATS from the raw window (mean) and the centered one (the rest). */
static enum es_err compute_stats(struct stage_io *io)
{
    const struct numbers *raw = state_numbers(io->st, SENSOR_RAW);
    const struct numbers *c = state_numbers(io->st, SENSOR_CENTERED);
    if (!raw || !c)
        return ES_EINVAL;
    double sq = 0.0, peak = 0.0;
    unsigned crossings = 0;
    for (uint32_t i = 0; i < c->count; i++) {
        sq += c->v[i] * c->v[i];
        if (fabs(c->v[i]) > peak)
            peak = fabs(c->v[i]);
        if (i > 0 && (c->v[i - 1] < 0.0) != (c->v[i] < 0.0))
            crossings++;
    }
    struct numbers *s = state_put_numbers(io->st, SENSOR_STATS, STAT_NUMBERS);
    if (!s)
        return ES_EINVAL;
    s->v[STAT_MEAN] = mean_of(raw);
    s->v[STAT_RMS] = c->count ? sqrt(sq / c->count) : 0.0;
    s->v[STAT_PEAK] = peak;
    s->v[STAT_CROSSINGS] = crossings;
    return ES_OK;
}

/* Stage 3: SENSOR_EVENT from the crest factor. A flat window has nothing to detect: the frame
 * ends here, and publish_result reports it without statistics. */
static enum es_err detect_event(struct stage_io *io)
{
    const struct numbers *s = state_numbers(io->st, SENSOR_STATS);
    if (!s)
        return ES_EINVAL;
    double rms = s->v[STAT_RMS];
    if (rms < FLAT_RMS) {
        io->st->flags |= STATE_ENDED;
        return ES_OK;
    }
    struct numbers *e = state_put_numbers(io->st, SENSOR_EVENT, EVENT_NUMBERS);
    if (!e)
        return ES_EINVAL;
    e->v[EVENT_CREST] = s->v[STAT_PEAK] / rms;
    e->v[EVENT_DETECTED] = e->v[EVENT_CREST] > CREST_THRESHOLD ? 1.0 : 0.0;
    return ES_OK;
}

/* Adds key = value to obj; false when memory runs out. */
static bool put(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value) == 0;
}

/* Finite statistics, with a crossing count a window could have. */
static bool stats_sane(const struct numbers *s)
{
    for (unsigned i = 0; i < s->count && i < STATE_MAX_NUMBERS; i++)
        if (!isfinite(s->v[i]))
            return false;
    return s->count > STAT_CROSSINGS && s->v[STAT_CROSSINGS] >= 0 && s->v[STAT_CROSSINGS] <= 1e9;
}

/* Stage 4: io->result. A frame that ended early has no SENSOR_EVENT: {"event":false}. */
static enum es_err publish_result(struct stage_io *io)
{
    const struct numbers *s = state_numbers(io->st, SENSOR_STATS);
    const struct numbers *e = state_numbers(io->st, SENSOR_EVENT);
    json_t *r = json_object();
    if (!r)
        return ES_ENOMEM;
    bool ok = put(r, "event", json_boolean(e && e->v[EVENT_DETECTED] != 0.0));
    if (s && e && !stats_sane(s)) { /* they may come from the network */
        json_decref(r);
        log_msg(LOG_ERROR, "SENSOR-INPUT", "publish_result: statistics out of range");
        return ES_EINVAL;
    }
    if (ok && s && e) {
        ok = put(r, "mean", json_real(s->v[STAT_MEAN])) &&
             put(r, "rms", json_real(s->v[STAT_RMS])) &&
             put(r, "peak", json_real(s->v[STAT_PEAK])) &&
             put(r, "crossings", json_integer((json_int_t)s->v[STAT_CROSSINGS]));
    }
    if (!ok) {
        json_decref(r);
        return ES_ENOMEM;
    }
    io->result = r;
    return ES_OK;
}

/* Step 3: the table. Each stage names exactly the fields it reads and writes. */
static const struct stage_def sensor_stages[] = {
    {.name = "read_sensor", .run = read_sensor, .writes = FIELD_BIT(SENSOR_RAW)},
    {.name = "remove_offset",
     .run = remove_offset,
     .reads = FIELD_BIT(SENSOR_RAW),
     .writes = FIELD_BIT(SENSOR_CENTERED)},
    {.name = "compute_stats",
     .run = compute_stats,
     .reads = FIELD_BIT(SENSOR_RAW) | FIELD_BIT(SENSOR_CENTERED),
     .writes = FIELD_BIT(SENSOR_STATS)},
    {.name = "detect_event",
     .run = detect_event,
     .reads = FIELD_BIT(SENSOR_STATS),
     .writes = FIELD_BIT(SENSOR_EVENT)},
    {.name = "publish_result",
     .run = publish_result,
     .reads = FIELD_BIT(SENSOR_STATS) | FIELD_BIT(SENSOR_EVENT)},
};

const struct app sensor_app = {
    .name = "sensor",
    .fields = sensor_fields,
    .nfields = SENSOR_NFIELDS,
    .stages = sensor_stages,
    .nstages = sizeof sensor_stages / sizeof sensor_stages[0],
    .source_default = NULL, /* the first stage synthesizes its samples: no frame source */
};

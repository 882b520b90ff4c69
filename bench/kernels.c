/* es-kernels: what the stages cost alone. Runs every stage of an application over every frame of
 * a source in one thread, in a tight loop, with no messaging, no queues and no other thread, and
 * measures each stage's thread CPU time (stage 0 includes reading and decoding the frame). PASSES
 * passes over the source; per stage it prints the median over the passes of the mean CPU per
 * frame, as "stage=I name=NAME cpu_us=MEAN", then "frames=N total_cpu_us=SUM" (SUM: the sum of
 * the stages' medians).
 * A file source runs to its end unless --frames says fewer; the synthetic camera runs 900 frames
 * unless told.
 * usage: es-kernels [--app NAME] [--source SPEC] [--frames N] [--passes P] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "clock.h"
#include "json_frame.h"
#include "registry.h"
#include "source.h"
#include "state.h"

#define MAX_PASSES 15

struct timing {
    int64_t last;                  /* thread CPU time when the previous stage ended */
    int64_t sum[STATE_MAX_STAGES]; /* this pass's CPU per stage */
    unsigned long n[STATE_MAX_STAGES];
};

static void after_stage(void *arg, unsigned stage, int64_t took_us)
{
    (void)took_us; /* wall time: counts waiting for a core too */
    struct timing *t = arg;
    int64_t now = clock_thread_cpu_us();
    if (stage < STATE_MAX_STAGES) {
        t->sum[stage] += now - t->last;
        t->n[stage]++;
    }
    t->last = now;
}

/* One pass over the source: the mean CPU per frame of each stage into mean. */
static enum es_err one_pass(const struct app *app, const char *spec, long frames, double *mean,
                            long *done)
{
    struct source *src = NULL;
    enum es_err err = source_open(spec, &src);
    if (err != ES_OK) {
        fprintf(stderr, "es-kernels: cannot open source '%s': %s\n", spec, es_strerror(err));
        return err;
    }
    struct state st;
    state_init(&st, app);
    struct timing t = {0};
    long n = 0;
    while (!frames || n < frames) {
        state_reset(&st);
        json_frame_begin();
        struct stage_io io = {.st = &st, .source = src};
        t.last = clock_thread_cpu_us();
        err = app_run(&io, 0, app->nstages, after_stage, &t);
        json_decref(io.result);
        free(io.jpeg);
        json_frame_end();
        if (err != ES_OK)
            break;
        n++;
    }
    state_release(&st);
    source_free(src);
    if (err == ES_EEOF || err == ES_OK)
        err = n ? ES_OK : ES_EEOF;
    if (err != ES_OK) {
        fprintf(stderr, "es-kernels: frame %ld: %s\n", n, es_strerror(err));
        return err;
    }
    for (unsigned i = 0; i < app->nstages; i++)
        mean[i] = t.n[i] ? (double)t.sum[i] / (double)n : 0;
    *done = n;
    return ES_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void)
{
    fprintf(stderr, "usage: es-kernels [--app NAME] [--source SPEC] [--frames N] [--passes P]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *name = "ball", *spec = NULL;
    long frames = 0, passes = 3;
    static const struct option longopts[] = {
        {"app", required_argument, NULL, 'a'},
        {"source", required_argument, NULL, 's'},
        {"frames", required_argument, NULL, 'f'},
        {"passes", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'a')
            name = optarg;
        else if (opt == 's')
            spec = optarg;
        else if (opt == 'f' && cli_parse_long(optarg, 1, 100000000, &frames) == ES_OK)
            continue;
        else if (opt == 'p' && cli_parse_long(optarg, 1, MAX_PASSES, &passes) == ES_OK)
            continue;
        else
            return usage();
    }
    if (optind != argc)
        return usage();
    const struct app *app = app_find(name);
    if (!app) {
        fprintf(stderr, "es-kernels: no application '%s'\n", name);
        return 2;
    }
    if (!spec)
        spec = app->source_default;
    if (!spec) {
        fprintf(stderr, "es-kernels: application '%s' has no default source: give --source\n",
                name);
        return 2;
    }
    if (!frames && strncmp(spec, "synthetic", 9) == 0)
        frames = 900; /* the synthetic camera does not end */
    double mean[MAX_PASSES][STATE_MAX_STAGES] = {{0}};
    long n = 0;
    for (long p = 0; p < passes; p++)
        if (one_pass(app, spec, frames, mean[p], &n) != ES_OK)
            return 1;
    double total = 0;
    for (unsigned i = 0; i < app->nstages; i++) {
        double v[MAX_PASSES];
        for (long p = 0; p < passes; p++)
            v[p] = mean[p][i];
        qsort(v, (size_t)passes, sizeof v[0], cmp_double);
        double med = passes % 2 ? v[passes / 2] : (v[passes / 2 - 1] + v[passes / 2]) / 2;
        total += med;
        printf("stage=%u name=%s cpu_us=%.1f\n", i, app->stages[i].name, med);
    }
    printf("frames=%ld total_cpu_us=%.1f\n", n, total);
    return 0;
}

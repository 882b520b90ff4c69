/* static-best: the best static split assignment for a fleet (static_best.h), from a text
 * description on standard input:
 *
 *   capacity 1.70        cloud CPU-seconds per second (required)
 *   margin 0.10          a goal is met at f >= goal * (1 + margin) (optional; default 0.10)
 *   device cam-01 goal 15 fps 30 28 20 18 17 17 cpu 1500 1200 900 400 200 150
 *
 * One device line per device: its goal (fps), then its frame rate at each split 1..n-1 (0: that
 * split gives nothing), then the cloud CPU per frame at each split (microseconds); every device
 * has the same number of splits. Words are separated by any white space; '#' starts a comment.
 *
 * It prints one line per device (its split, fps, cloud CPU-seconds per second and whether its
 * goal is met, or the share of it reached) and a summary line. Exit status: 0 on success, 1 when
 * no assignment fits the capacity or memory runs out, 2 on bad input (a one-line error naming
 * the line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "static_best.h"

#define DEFAULT_MARGIN 0.10
#define WHY_MAX 160

struct input {
    double capacity, margin;
    bool have_capacity, have_margin;
    unsigned nsplits; /* 0 until the first device line */
    size_t n, room;
    struct static_dev *devs;
    char **ids;
};

static void input_free(struct input *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->ids[i]);
    free(in->ids);
    free(in->devs);
}

static bool number(const char *word, const char *what, double *out, char *why)
{
    if (!word) {
        snprintf(why, WHY_MAX, "'%s' needs a number", what);
        return false;
    }
    if (cli_parse_double(word, 0, 1e12, out) != ES_OK) {
        snprintf(why, WHY_MAX, "'%s' value '%s' is not a number in 0..1e12", what, word);
        return false;
    }
    return true;
}

/* Reads the values after "fps" or "cpu" into v[1..], up to the word stop (NULL: end of line);
 * returns how many, or 0 after writing why. */
static unsigned values(char **save, const char *what, const char *stop, double *v, char *why)
{
    unsigned m = 0;
    for (char *w = strtok_r(NULL, " \t\r\n", save);; w = strtok_r(NULL, " \t\r\n", save)) {
        if (stop && !w) {
            snprintf(why, WHY_MAX, "'%s' expected after the '%s' values", stop, what);
            return 0;
        }
        if (!w || (stop && strcmp(w, stop) == 0))
            break;
        if (m == STATIC_MAX_SPLITS) {
            snprintf(why, WHY_MAX, "more than %d '%s' values", STATIC_MAX_SPLITS, what);
            return 0;
        }
        if (!number(w, what, &v[++m], why))
            return 0;
    }
    if (m == 0)
        snprintf(why, WHY_MAX, "no '%s' values", what);
    return m;
}

static bool device_room(struct input *in, char *why)
{
    if (in->n < in->room)
        return true;
    size_t room = in->room ? 2 * in->room : 64;
    struct static_dev *devs = realloc(in->devs, room * sizeof *devs);
    if (devs)
        in->devs = devs;
    char **ids = devs ? realloc(in->ids, room * sizeof *ids) : NULL;
    if (!ids) {
        snprintf(why, WHY_MAX, "out of memory");
        return false;
    }
    in->ids = ids;
    in->room = room;
    return true;
}

static bool device_id(const struct input *in, const char *id, char *why)
{
    if (!id) {
        snprintf(why, WHY_MAX, "'device' needs an id");
        return false;
    }
    for (size_t i = 0; i < in->n; i++) {
        if (strcmp(in->ids[i], id) == 0) {
            snprintf(why, WHY_MAX, "device '%s' appears twice", id);
            return false;
        }
    }
    return true;
}

static bool word_is(const char *w, const char *expect, char *why)
{
    if (w && strcmp(w, expect) == 0)
        return true;
    snprintf(why, WHY_MAX, "'%s' expected, not '%s'", expect, w ? w : "end of line");
    return false;
}

/* The rest of a device line, after the word "device". */
static bool device_line(struct input *in, char **save, char *why)
{
    char *id = strtok_r(NULL, " \t\r\n", save);
    if (!device_id(in, id, why) || !device_room(in, why))
        return false;
    struct static_dev d = {0};
    if (!word_is(strtok_r(NULL, " \t\r\n", save), "goal", why) ||
        !number(strtok_r(NULL, " \t\r\n", save), "goal", &d.goal, why) ||
        !word_is(strtok_r(NULL, " \t\r\n", save), "fps", why))
        return false;
    unsigned nf = values(save, "fps", "cpu", d.fps, why);
    unsigned nc = nf ? values(save, "cpu", NULL, d.cpu_us, why) : 0;
    if (!nc)
        return false;
    if (nf != nc || (in->nsplits && nf != in->nsplits)) {
        snprintf(why, WHY_MAX, "%u fps and %u cpu values where %u are expected", nf, nc,
                 in->nsplits ? in->nsplits : nf);
        return false;
    }
    bool usable = false;
    for (unsigned k = 1; k <= nf; k++)
        usable |= d.fps[k] > 0;
    if (!(d.goal > 0) || !usable) {
        snprintf(why, WHY_MAX, "device '%s' needs a goal > 0 and some fps > 0", id);
        return false;
    }
    if (!(in->ids[in->n] = strdup(id))) {
        snprintf(why, WHY_MAX, "out of memory");
        return false;
    }
    in->nsplits = nf;
    in->devs[in->n++] = d;
    return true;
}

/* A "capacity" or "margin" line, after its first word. */
static bool setting_line(const char *what, double *v, bool *have, char **save, char *why)
{
    if (*have) {
        snprintf(why, WHY_MAX, "a second '%s' line", what);
        return false;
    }
    if (!number(strtok_r(NULL, " \t\r\n", save), what, v, why))
        return false;
    char *extra = strtok_r(NULL, " \t\r\n", save);
    if (extra) {
        snprintf(why, WHY_MAX, "'%s' after the %s value", extra, what);
        return false;
    }
    *have = true;
    return true;
}

static bool parse_line(struct input *in, char *line, char *why)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save = NULL;
    char *w = strtok_r(line, " \t\r\n", &save);
    if (!w)
        return true;
    if (strcmp(w, "capacity") == 0)
        return setting_line(w, &in->capacity, &in->have_capacity, &save, why);
    if (strcmp(w, "margin") == 0)
        return setting_line(w, &in->margin, &in->have_margin, &save, why);
    if (strcmp(w, "device") == 0)
        return device_line(in, &save, why);
    snprintf(why, WHY_MAX, "unknown word '%s' (capacity, margin or device expected)", w);
    return false;
}

/* Reads the whole input; on failure prints the one-line error and returns false. */
static bool read_input(FILE *f, struct input *in)
{
    char *line = NULL, why[WHY_MAX] = "";
    size_t len = 0, lineno = 0;
    bool ok = true;
    while (ok && getline(&line, &len, f) >= 0) {
        lineno++;
        ok = parse_line(in, line, why);
    }
    free(line);
    if (ok && ferror(f)) {
        snprintf(why, WHY_MAX, "cannot read standard input");
        ok = false;
    } else if (ok && (!in->have_capacity || in->n == 0)) {
        snprintf(why, WHY_MAX, "end of input without %s",
                 in->have_capacity ? "a device line" : "a capacity line");
        ok = false;
    }
    if (!ok)
        fprintf(stderr, "static-best: line %zu: %s\n", lineno, why);
    return ok;
}

static void print_plan(const struct input *in, const unsigned *split,
                       const struct static_result *res)
{
    for (size_t i = 0; i < in->n; i++) {
        const struct static_dev *d = &in->devs[i];
        double f = d->fps[split[i]];
        printf("%s split %u fps %.2f cloud_cpu_s %.4f ", in->ids[i], split[i], f,
               f * d->cpu_us[split[i]] / 1e6);
        if (f >= d->goal * (1 + in->margin))
            printf("goal met\n");
        else
            printf("goal missed %.2f\n", f / d->goal);
    }
    printf("static-best: goals met %zu of %zu, min f/goal %.3f, cloud CPU %.3f of %.3f CPU-s/s, "
           "method dp\n",
           res->goals_met, in->n, res->min_ratio, res->cloud_cpu_s, in->capacity);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s < fleet.txt (see the head of bench/static_best_main.c)\n",
                argv[0]);
        return 2;
    }
    struct input in = {.margin = DEFAULT_MARGIN};
    unsigned *split = NULL;
    int rc = 2;
    if (!read_input(stdin, &in))
        goto cleanup;
    rc = 1;
    struct static_result res;
    split = malloc(in.n * sizeof *split);
    enum es_err err =
        split ? static_best(in.devs, in.n, in.nsplits, in.capacity, in.margin, split, &res)
              : ES_ENOMEM;
    if (err != ES_OK) {
        fprintf(stderr, "static-best: cannot plan %zu devices: %s\n", in.n, es_strerror(err));
        goto cleanup;
    }
    if (!res.fits) {
        fprintf(stderr,
                "static-best: no assignment fits: the cheapest needs %.3f of %.3f "
                "CPU-s/s\n",
                res.cloud_cpu_s, in.capacity);
        goto cleanup;
    }
    print_plan(&in, split, &res);
    rc = 0;
cleanup:
    free(split);
    input_free(&in);
    return rc;
}

#include "source.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ball/cv_adapter.h"
#include "log.h"
#include "synthetic.h"

struct source {
    struct synthetic *syn;   /* set for synthetic sources */
    struct cvx_capture *cap; /* set for files and cameras */
    uint64_t reads;          /* frames read so far */
    bool is_view;            /* a view: source_read gives view, read elsewhere */
    const struct image *view;
};

/* Parses a non-empty string of decimal digits (no sign, no spaces) no larger than max. */
static bool parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* If spec is name or name:ARG, sets *arg to ARG (NULL for plain name) and returns true. */
static bool spec_is(const char *spec, const char *name, const char **arg)
{
    size_t n = strlen(name);
    if (strncmp(spec, name, n) != 0 || (spec[n] != '\0' && spec[n] != ':'))
        return false;
    *arg = spec[n] == ':' ? spec + n + 1 : NULL;
    return true;
}

static enum es_err bad_spec(const char *spec, const char *why)
{
    log_msg(LOG_ERROR, "SOURCE-SPEC", "invalid source '%s': %s", spec, why);
    return ES_EINVAL;
}

enum es_err source_open(const char *spec, struct source **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return bad_spec("", "empty");
    struct source *src = calloc(1, sizeof *src);
    if (!src)
        return ES_ENOMEM;
    enum es_err err;
    const char *arg;
    unsigned long v = 1;
    if (spec_is(spec, "synthetic", &arg)) {
        if (arg && !parse_decimal(arg, UINT32_MAX, &v))
            err = bad_spec(spec, "seed must be a decimal number from 0 to 4294967295");
        else
            err = synthetic_new((uint32_t)v, &src->syn);
    } else if (spec_is(spec, "camera", &arg)) {
        v = 0;
        if (arg && !parse_decimal(arg, INT_MAX, &v))
            err = bad_spec(spec, "camera index must be a decimal number");
        else
            err = cvx_capture_open_camera((int)v, &src->cap);
    } else {
        err = cvx_capture_open_file(spec, &src->cap);
    }
    if (err != ES_OK) {
        source_free(src);
        return err;
    }
    *out = src;
    return ES_OK;
}

enum es_err source_view_new(struct source **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return ES_ENOMEM;
    (*out)->is_view = true;
    return ES_OK;
}

void source_view_set(struct source *view, const struct image *frame)
{
    view->view = frame;
}

enum es_err source_read(struct source *src, const struct image **frame)
{
    *frame = NULL;
    if (src->is_view) {
        *frame = src->view;
        src->reads++;
        return src->view ? ES_OK : ES_ESOURCE;
    }
    if (src->syn) {
        *frame = synthetic_render(src->syn, src->reads);
        src->reads++;
        return ES_OK;
    }
    enum es_err err = cvx_capture_read(src->cap, frame);
    if (err == ES_OK)
        src->reads++;
    return err;
}

uint64_t source_index(const struct source *src)
{
    return src->reads ? src->reads - 1 : 0;
}

bool source_truth(const struct source *src, struct source_truth *out)
{
    if (!src->syn || !src->reads)
        return false;
    synthetic_truth(src->syn, src->reads - 1, out);
    return true;
}

double source_fps(const struct source *src)
{
    return src->cap ? cvx_capture_fps(src->cap) : 0;
}

void source_free(struct source *src)
{
    if (!src)
        return;
    synthetic_free(src->syn);
    cvx_capture_free(src->cap);
    free(src);
}

enum es_err source_record(const char *spec, const char *path, uint64_t n)
{
    struct source *src = NULL;
    struct cvx_writer *w = NULL;
    enum es_err err = source_open(spec, &src);
    for (uint64_t i = 0; err == ES_OK && i < n; i++) {
        const struct image *frame;
        err = source_read(src, &frame);
        if (err == ES_OK && !w)
            err = cvx_writer_open(path, frame->width, frame->height, 30, &w);
        if (err == ES_OK)
            err = cvx_writer_write(w, frame);
    }
    cvx_writer_free(w);
    source_free(src);
    return err == ES_EEOF ? ES_OK : err;
}

#include "state.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"

void state_init(struct state *st, const struct app *app)
{
    memset(st, 0, sizeof *st);
    st->app = app;
    for (unsigned i = 0; i < app->nfields && i < STATE_MAX_FIELDS; i++)
        st->fields[i].type = app->fields[i].type;
}

void state_reset(struct state *st)
{
    st->device[0] = '\0';
    st->seq = 0;
    st->captured_us = 0;
    st->flags = 0;
    st->split = 0;
    memset(st->stage_us, 0, sizeof st->stage_us);
    for (unsigned i = 0; i < STATE_MAX_FIELDS; i++)
        st->fields[i].present = false;
}

void state_release(struct state *st)
{
    for (unsigned i = 0; i < STATE_MAX_FIELDS; i++) {
        struct field *f = &st->fields[i];
        free(f->img.data);
        free(f->pl.start);
        free(f->pl.pts);
        memset(f, 0, sizeof *f);
    }
}

static struct field *field_of(struct state *st, unsigned id, enum field_type a, enum field_type b)
{
    if (!st->app || id >= st->app->nfields || id >= STATE_MAX_FIELDS)
        return NULL;
    struct field *f = &st->fields[id];
    return (f->type == a || f->type == b) ? f : NULL;
}

struct image *state_put_image(struct state *st, unsigned id, int w, int h, int ch)
{
    struct field *f = field_of(st, id, FIELD_IMAGE, FIELD_MASK);
    if (!f || w <= 0 || h <= 0 || w > STATE_MAX_DIM || h > STATE_MAX_DIM || ch <= 0 ||
        ch > STATE_MAX_CHANNELS || (f->type == FIELD_MASK && ch != 1))
        return NULL;
    f->present = false;
    size_t need = (size_t)w * (size_t)h * (size_t)ch;
    if (need > f->img.cap) {
        uint8_t *p = realloc(f->img.data, need);
        if (!p)
            return NULL;
        f->img.data = p;
        f->img.cap = need;
    }
    f->img.width = w;
    f->img.height = h;
    f->img.channels = ch;
    f->present = true;
    return &f->img;
}

static enum es_err polylines_reserve(struct polylines *pl, uint32_t count, uint32_t total)
{
    if (count > STATE_MAX_POLYLINES || total > STATE_MAX_POINTS)
        return ES_ELIMIT;
    if (count + 1 > pl->count_cap || !pl->start) {
        uint32_t *p = realloc(pl->start, ((size_t)count + 1) * sizeof *p);
        if (!p)
            return ES_ENOMEM;
        pl->start = p;
        pl->count_cap = count + 1;
    }
    if (total > pl->total_cap) {
        struct point *p = realloc(pl->pts, (size_t)total * sizeof *p);
        if (!p)
            return ES_ENOMEM;
        pl->pts = p;
        pl->total_cap = total;
    }
    return ES_OK;
}

struct polylines *state_put_polylines(struct state *st, unsigned id, uint32_t count, uint32_t total)
{
    struct field *f = field_of(st, id, FIELD_POINTS, FIELD_POINTS);
    if (!f)
        return NULL;
    f->present = false;
    if (polylines_reserve(&f->pl, count, total) != ES_OK)
        return NULL;
    f->pl.count = 0;
    f->pl.total = 0;
    f->pl.start[0] = 0;
    f->present = true;
    return &f->pl;
}

/* A capacity of at least need, doubling from cap so appends stay amortized O(1). */
static uint32_t grown(uint32_t cap, uint32_t need, uint32_t limit)
{
    if (need <= cap)
        return cap;
    uint64_t c = cap ? cap : 16;
    while (c < need)
        c *= 2;
    return c > limit ? need : (uint32_t)c;
}

enum es_err polylines_add(struct polylines *pl, const struct point *pts, uint32_t n)
{
    if (n > STATE_MAX_POINTS - pl->total || pl->count >= STATE_MAX_POLYLINES)
        return ES_ELIMIT;
    uint32_t count = pl->count + 1, total = pl->total + n;
    uint32_t have_lines = pl->count_cap ? pl->count_cap - 1 : 0;
    enum es_err err = polylines_reserve(pl, grown(have_lines, count, STATE_MAX_POLYLINES),
                                        grown(pl->total_cap, total, STATE_MAX_POINTS));
    if (err != ES_OK)
        return err;
    if (n)
        memcpy(pl->pts + pl->total, pts, (size_t)n * sizeof *pts);
    pl->start[pl->count] = pl->total;
    pl->count = count;
    pl->total = total;
    pl->start[count] = total;
    return ES_OK;
}

struct numbers *state_put_numbers(struct state *st, unsigned id, uint32_t count)
{
    struct field *f = field_of(st, id, FIELD_NUMBERS, FIELD_NUMBERS);
    if (!f || count > STATE_MAX_NUMBERS)
        return NULL;
    memset(&f->num, 0, sizeof f->num);
    f->num.count = count;
    f->present = true;
    return &f->num;
}

static const struct field *present_field(const struct state *st, unsigned id)
{
    if (!st->app || id >= st->app->nfields || id >= STATE_MAX_FIELDS || !st->fields[id].present)
        return NULL;
    return &st->fields[id];
}

const struct image *state_image(const struct state *st, unsigned id)
{
    const struct field *f = present_field(st, id);
    return f && (f->type == FIELD_IMAGE || f->type == FIELD_MASK) ? &f->img : NULL;
}

const struct polylines *state_polylines(const struct state *st, unsigned id)
{
    const struct field *f = present_field(st, id);
    return f && f->type == FIELD_POINTS ? &f->pl : NULL;
}

const struct numbers *state_numbers(const struct state *st, unsigned id)
{
    const struct field *f = present_field(st, id);
    return f && f->type == FIELD_NUMBERS ? &f->num : NULL;
}

void state_drop(struct state *st, unsigned id)
{
    if (id < STATE_MAX_FIELDS)
        st->fields[id].present = false;
}

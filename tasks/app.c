#include "app.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

uint32_t app_live_fields(const struct app *app, unsigned k, bool annotate)
{
    if (k == 0 || k >= app->nstages)
        return 0;
    /* Walk backwards: a field is live before stage i if stage i reads it, or if it is live after
     * stage i and stage i does not overwrite it. */
    uint32_t live = 0;
    for (unsigned i = app->nstages; i-- > k;) {
        const struct stage_def *s = &app->stages[i];
        uint32_t reads = s->reads | (annotate ? s->reads_annotated : 0);
        live = (live & ~s->writes) | reads;
    }
    return live;
}

enum es_err app_run(struct stage_io *io, unsigned from, unsigned to, stage_hook_fn hook,
                    void *hook_arg)
{
    const struct app *app = io->st->app;
    if (to > app->nstages || from > to)
        return ES_EINVAL;
    for (unsigned i = from; i < to; i++) {
        bool last = i + 1 == app->nstages;
        if ((io->st->flags & STATE_ENDED) && !last)
            continue;
        int64_t t0 = clock_mono_us();
        enum es_err err = app->stages[i].run(io);
        int64_t took = clock_mono_us() - t0;
        if (i < STATE_MAX_STAGES)
            io->st->stage_us[i] = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
        if (err != ES_OK)
            return err;
        if (hook)
            hook(hook_arg, i, took);
    }
    return ES_OK;
}

double app_float(float v)
{
    if (!isfinite(v))
        return v;
    char buf[32];
    /* Nine significant digits always read back as the same float: stop at the first shorter
     * precision that does. */
    for (int prec = 1;; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (prec >= 9 || strtof(buf, NULL) == v)
            return strtod(buf, NULL);
    }
}

/* [a-z0-9_]{1,32} */
static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 32 ||
            !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return true;
}

static bool fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && n)
        vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return false;
}

static bool check_fields(const struct app *app, char *why, size_t n)
{
    if (app->nfields < 1 || app->nfields > STATE_MAX_FIELDS || !app->fields)
        return fail(why, n, "%u fields (1 to %u allowed)", app->nfields, STATE_MAX_FIELDS);
    for (unsigned i = 0; i < app->nfields; i++) {
        const struct field_def *f = &app->fields[i];
        if (!valid_name(f->name))
            return fail(why, n, "field %u has no valid name ([a-z0-9_]{1,32})", i);
        if (f->type < FIELD_IMAGE || f->type > FIELD_NUMBERS)
            return fail(why, n, "field '%s' has unknown type %d", f->name, (int)f->type);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(app->fields[j].name, f->name) == 0)
                return fail(why, n, "two fields are named '%s'", f->name);
    }
    return true;
}

static bool check_stages(const struct app *app, char *why, size_t n)
{
    if (app->nstages < 2 || app->nstages > STATE_MAX_STAGES || !app->stages)
        return fail(why, n, "%u stages (2 to %u allowed)", app->nstages, STATE_MAX_STAGES);
    uint32_t declared = app->nfields >= 32 ? UINT32_MAX : (1u << app->nfields) - 1;
    uint32_t written = 0;
    for (unsigned i = 0; i < app->nstages; i++) {
        const struct stage_def *s = &app->stages[i];
        if (!valid_name(s->name))
            return fail(why, n, "stage %u has no valid name ([a-z0-9_]{1,32})", i);
        if (!s->run)
            return fail(why, n, "stage '%s' has no function", s->name);
        uint32_t all = s->reads | s->reads_annotated | s->writes;
        if (all & ~declared)
            return fail(why, n, "stage '%s' names field bits 0x%x beyond its %u fields", s->name,
                        all & ~declared, app->nfields);
        uint32_t reads = s->reads | s->reads_annotated;
        if (i == 0 && reads)
            return fail(why, n, "the first stage '%s' reads fields (it must produce the frame)",
                        s->name);
        if (reads & ~written)
            return fail(why, n, "stage '%s' reads field bits 0x%x that no earlier stage writes",
                        s->name, reads & ~written);
        written |= s->writes;
    }
    return true;
}

bool app_check(const struct app *app, char *why, size_t n)
{
    if (!app)
        return fail(why, n, "no application table");
    if (!valid_name(app->name))
        return fail(why, n, "the application has no valid name ([a-z0-9_]{1,32})");
    if (!check_fields(app, why, n) || !check_stages(app, why, n))
        return false;
    const struct app_limits *l = &app->limits;
    if (l->max_width > STATE_MAX_DIM || l->max_height > STATE_MAX_DIM ||
        l->max_points > STATE_MAX_POINTS)
        return fail(why, n, "limits beyond the framework's (%u x %u pixels, %u points)",
                    STATE_MAX_DIM, STATE_MAX_DIM, STATE_MAX_POINTS);
    return true;
}

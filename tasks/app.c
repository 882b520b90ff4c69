#include "app.h"

#include <math.h>
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

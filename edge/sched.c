/* Automatic mode, first version: when a window misses the goal, offload one more stage (move
 * the split one stage earlier), never below split 1. */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>

struct sched {
    struct sched_config cfg;
    unsigned split;
    bool unreachable;
};

struct sched *sched_new(const struct sched_config *cfg)
{
    if (cfg->nstages < 2 || !(cfg->goal_fps > 0) || cfg->start_split < 1 ||
        cfg->start_split >= cfg->nstages)
        return NULL;
    struct sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->split = cfg->start_split;
    return s;
}

void sched_free(struct sched *s)
{
    free(s);
}

unsigned sched_update(struct sched *s, const struct sched_window *w, char *reason, size_t len)
{
    if (w->fps >= s->cfg.goal_fps) {
        s->unreachable = false;
        return s->split;
    }
    if (s->split > 1) {
        snprintf(reason, len, "goal missed %.1f<%g", w->fps, s->cfg.goal_fps);
        s->split--;
    } else {
        s->unreachable = true;
    }
    return s->split;
}

bool sched_goal_unreachable(const struct sched *s)
{
    return s->unreachable;
}

/* The plan this device follows (see follow.h). */
#include "follow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct follow {
    pthread_mutex_t lock;
    bool have;
    struct plan plan;
    int64_t received_us; /* monotonic */
    bool noted;          /* follow_note's last */
    unsigned noted_split;
    char noted_planner[STATE_DEVICE_MAX + 1];
    bool ever;        /* a plan came */
    unsigned waited;  /* windows follow_wait_first held */
    size_t nplanners; /* planners online */
    char planners[FOLLOW_PLANNERS][STATE_DEVICE_MAX + 1];
};

struct follow *follow_new(void)
{
    struct follow *f = calloc(1, sizeof *f);
    if (f && pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

void follow_free(struct follow *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f);
}

bool follow_message(struct follow *f, const char *device, const uint8_t *payload, size_t len,
                    int64_t now_mono_us)
{
    struct plan p;
    if (len == 0) {
        pthread_mutex_lock(&f->lock);
        f->have = false;
        pthread_mutex_unlock(&f->lock);
        return true;
    }
    if (plan_parse((const char *)payload, len, &p) != ES_OK || strcmp(p.device, device) != 0)
        return false;
    pthread_mutex_lock(&f->lock);
    f->plan = p;
    f->have = true;
    f->ever = true;
    f->received_us = now_mono_us;
    pthread_mutex_unlock(&f->lock);
    return true;
}

void follow_gone(struct follow *f, const char *client)
{
    pthread_mutex_lock(&f->lock);
    if (f->have && strcmp(f->plan.planner, client) == 0)
        f->have = false;
    pthread_mutex_unlock(&f->lock);
}

void follow_planner(struct follow *f, const char *client, bool online)
{
    pthread_mutex_lock(&f->lock);
    size_t i = 0;
    while (i < f->nplanners && strcmp(f->planners[i], client) != 0)
        i++;
    if (online && i == f->nplanners && f->nplanners < FOLLOW_PLANNERS &&
        strlen(client) < sizeof f->planners[0])
        strcpy(f->planners[f->nplanners++], client);
    else if (!online && i < f->nplanners)
        memmove(f->planners[i], f->planners[i + 1], (--f->nplanners - i) * sizeof f->planners[0]);
    pthread_mutex_unlock(&f->lock);
}

bool follow_wait_first(struct follow *f, unsigned max, char *planner, size_t len)
{
    pthread_mutex_lock(&f->lock);
    bool wait = !f->ever && f->nplanners > 0 && f->waited < max;
    if (wait) {
        f->waited++;
        if (planner && len)
            snprintf(planner, len, "%s", f->planners[0]);
    }
    pthread_mutex_unlock(&f->lock);
    return wait;
}

bool follow_get(struct follow *f, int64_t now_mono_us, int64_t now_wall_us, struct plan *out)
{
    pthread_mutex_lock(&f->lock);
    int64_t ttl = (int64_t)f->plan.ttl_ms * 1000;
    bool fresh = f->have && now_mono_us - f->received_us <= ttl &&
                 now_wall_us - f->plan.issued_us <= ttl + FOLLOW_SKEW_US;
    if (fresh)
        *out = f->plan;
    pthread_mutex_unlock(&f->lock);
    return fresh;
}

bool follow_note(struct follow *f, const struct plan *applied)
{
    pthread_mutex_lock(&f->lock);
    bool changed = applied ? !f->noted || f->noted_split != applied->split ||
                                 strcmp(f->noted_planner, applied->planner) != 0
                           : f->noted;
    f->noted = applied != NULL;
    if (applied) {
        f->noted_split = applied->split;
        strcpy(f->noted_planner, applied->planner);
    }
    pthread_mutex_unlock(&f->lock);
    return changed;
}

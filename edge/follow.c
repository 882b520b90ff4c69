/* The plan this device follows (see follow.h). */
#include "follow.h"

#include <pthread.h>
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

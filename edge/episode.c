#include "episode.h"

#include <stdlib.h>

#include "log.h"

struct episode {
    bool active;
    int64_t since_us;
    uint64_t frames; /* frames it touched */
};

struct episodes {
    struct episode e[EPISODE_KINDS];
};

struct episodes *episodes_new(void)
{
    return calloc(1, sizeof(struct episodes));
}

void episodes_free(struct episodes *e)
{
    free(e);
}

bool episodes_active(const struct episodes *e, enum episode_kind k)
{
    return e->e[k].active;
}

void episodes_add_frame(struct episodes *e, enum episode_kind k)
{
    e->e[k].frames += e->e[k].active;
}

/* Starts the episode of kind k; false when it was already going on. */
static bool start(struct episodes *e, enum episode_kind k, int64_t now_us)
{
    if (e->e[k].active)
        return false;
    e->e[k] = (struct episode){true, now_us, 0};
    return true;
}

/* Ends the episode of kind k and returns it as it was; NULL when none was going on. */
static const struct episode *end(struct episodes *e, enum episode_kind k)
{
    if (!e->e[k].active)
        return NULL;
    e->e[k].active = false;
    return &e->e[k];
}

static double seconds_since(const struct episode *ep, int64_t now_us)
{
    return (double)(now_us - ep->since_us) / 1e6;
}

void episodes_offline_start(struct episodes *e, int64_t now_us)
{
    start(e, EPISODE_OFFLINE, now_us);
}

void episodes_offline_end(struct episodes *e, int64_t now_us, const struct spool_stats *ss)
{
    const struct episode *ep = end(e, EPISODE_OFFLINE);
    if (!ep)
        return;
    log_msg(LOG_INFO, "EDGE-ONLINE",
            "broker back after %.1f s: %llu frames ran here; %zu results buffered, %llu dropped "
            "from a full buffer so far; forwarding them",
            seconds_since(ep, now_us), (unsigned long long)ep->frames, ss->entries,
            (unsigned long long)ss->dropped_full);
}

void episodes_no_worker_start(struct episodes *e, int64_t now_us, unsigned k, const char *uri)
{
    if (start(e, EPISODE_NO_WORKER, now_us))
        log_msg(LOG_WARN, "EDGE-NO-WORKER",
                "no worker serves stage %u on %s: running every stage here", k, uri);
}

void episodes_no_worker_end(struct episodes *e, int64_t now_us, unsigned k)
{
    const struct episode *ep = end(e, EPISODE_NO_WORKER);
    if (ep)
        log_msg(LOG_INFO, "EDGE-WORKER-BACK",
                "a worker serves stage %u again after %.1f s; %llu frames ran here meanwhile", k,
                seconds_since(ep, now_us), (unsigned long long)ep->frames);
}

void episodes_late_start(struct episodes *e, int64_t now_us, uint64_t seq, int64_t deadline_us)
{
    if (start(e, EPISODE_LATE, now_us))
        log_msg(LOG_WARN, "EDGE-LATE",
                "frame %llu got no result within %.0f ms: publishing it again, then running it "
                "here if it still gets none",
                (unsigned long long)seq, (double)deadline_us / 1e3);
}

void episodes_late_end(struct episodes *e, int64_t now_us)
{
    const struct episode *ep = end(e, EPISODE_LATE);
    if (ep)
        log_msg(LOG_INFO, "EDGE-LATE-END",
                "results on time again after %.1f s: %llu frames were published again or ran "
                "here",
                seconds_since(ep, now_us), (unsigned long long)ep->frames);
}

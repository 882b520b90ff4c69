/* The planners' leader lease (see leader.h). */
#include "leader.h"

#include <string.h>

#include "topic.h"

bool leader_init(struct leader *l, const char *self_id, const char *session, int ttl_ms,
                 int64_t now_us)
{
    if (!l || !topic_valid_id(self_id) || !session || strlen(session) != 16 || ttl_ms < 1 ||
        ttl_ms > PLAN_TTL_MAX_MS)
        return false;
    memset(l, 0, sizeof *l);
    strcpy(l->self.planner, self_id);
    strcpy(l->self.session, session);
    l->self.held = true;
    l->self.ttl_ms = ttl_ms;
    l->ttl_us = (int64_t)ttl_ms * 1000;
    l->started_us = now_us;
    l->claimed_us = -1;
    return true;
}

static bool is_self(const struct leader *l, const struct lease *m)
{
    return strcmp(m->planner, l->self.planner) == 0 && strcmp(m->session, l->self.session) == 0;
}

void leader_seen(struct leader *l, const struct lease *msg, int64_t age_us, int64_t now_us)
{
    l->known = true;
    l->last = *msg;
    l->seen_us = now_us - (age_us > 0 ? age_us : 0);
    /* This id with another session: an earlier run of this planner, gone since. */
    l->holder_gone = strcmp(msg->planner, l->self.planner) == 0 && !is_self(l, msg);
    if (is_self(l, msg))
        l->claimed_us = -1; /* the claim came back */
}

void leader_gone(struct leader *l, const char *client, const char *session)
{
    if (l->known && strcmp(client, l->last.planner) == 0 &&
        (!session || strcmp(session, l->last.session) == 0))
        l->holder_gone = true;
}

/* The last lease seen still binds: held, renewed within its ttl, its holder online. */
static bool lease_live(const struct leader *l, int64_t now_us)
{
    return l->known && l->last.held && !l->holder_gone &&
           now_us - l->seen_us <= (int64_t)l->last.ttl_ms * 1000;
}

bool leader_is_self(const struct leader *l, int64_t now_us)
{
    return lease_live(l, now_us) && is_self(l, &l->last);
}

bool leader_should_claim(const struct leader *l, int64_t now_us)
{
    if (l->claimed_us >= 0 && now_us - l->claimed_us < LEADER_CLAIM_EVERY_US)
        return false;
    if (!l->known)
        return now_us - l->started_us >= LEADER_GRACE_US;
    return !lease_live(l, now_us);
}

void leader_claimed(struct leader *l, int64_t now_us)
{
    l->claimed_us = now_us;
}

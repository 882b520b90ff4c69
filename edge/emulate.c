#include "emulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses "F:S-E" from [p, end) into phase i. */
static enum es_err parse_phase(const char *p, size_t n, struct slowdown *out, unsigned i)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return ES_EINVAL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *colon = strchr(buf, ':');
    char *dash = colon ? strchr(colon + 1, '-') : NULL;
    if (!colon || !dash)
        return ES_EINVAL;
    *colon = '\0';
    *dash = '\0';
    double f, s, e;
    if (cli_parse_double(buf, 1, 10000, &f) != ES_OK ||
        cli_parse_double(colon + 1, 0, 1e7, &s) != ES_OK ||
        cli_parse_double(dash + 1, 0, 1e7, &e) != ES_OK || e <= s)
        return ES_EINVAL;
    out->phase[i].factor = f;
    out->phase[i].start_s = s;
    out->phase[i].end_s = e;
    return ES_OK;
}

enum es_err slowdown_parse(const char *spec, struct slowdown *out)
{
    memset(out, 0, sizeof *out);
    out->constant = 1;
    if (!strchr(spec, ':'))
        return cli_parse_double(spec, 1, 10000, &out->constant);
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (out->nphases == SLOWDOWN_MAX_PHASES || parse_phase(p, n, out, out->nphases) != ES_OK)
            return ES_EINVAL;
        out->nphases++;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p)
            return ES_EINVAL; /* trailing comma */
    }
    return ES_OK;
}

double slowdown_at(const struct slowdown *s, double t_s)
{
    if (s->nphases == 0)
        return s->constant;
    for (unsigned i = 0; i < s->nphases; i++)
        if (t_s >= s->phase[i].start_s && t_s < s->phase[i].end_s)
            return s->phase[i].factor;
    return 1;
}

int64_t uplink_book(struct uplink *u, int64_t now_us, size_t len)
{
    if (u->bytes_per_s <= 0)
        return 0;
    int64_t start = u->free_at_us > now_us ? u->free_at_us : now_us;
    int64_t wait = start - now_us;
    u->free_at_us = start + (int64_t)((double)len * 1e6 / u->bytes_per_s);
    return wait;
}

int64_t camclock_next(struct camclock *c, int64_t now_us, uint64_t *skipped)
{
    double now = (double)now_us;
    if (!c->started) {
        c->started = true;
        c->next_us = now;
    }
    if (now >= c->next_us + c->period_us) {
        double missed = floor((now - c->next_us) / c->period_us);
        *skipped += (uint64_t)missed;
        c->next_us += missed * c->period_us;
    }
    double wait = c->next_us - now;
    c->next_us += c->period_us;
    return wait > 0 ? (int64_t)wait : 0;
}

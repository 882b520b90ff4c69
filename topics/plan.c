/* The plan and lease messages (see plan.h), with Jansson. */
#include "plan.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_frame.h"
#include "result.h"
#include "topic.h"

static bool valid_number(double v)
{
    return isfinite(v) && v >= 0;
}

static bool valid_ttl(json_int_t ttl)
{
    return ttl >= 1 && ttl <= PLAN_TTL_MAX_MS;
}

static bool valid_session(const char *s)
{
    if (strlen(s) != 16)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static bool valid_plan(const struct plan *p)
{
    return p && topic_valid_id(p->device) && p->split >= 1 && p->split < STATE_MAX_STAGES &&
           valid_number(p->predicted_fps) && valid_number(p->cloud_cpu_s) &&
           memchr(p->reason, '\0', sizeof p->reason) && printable(p->reason) &&
           topic_valid_id(p->planner) && p->issued_us >= 0 && valid_ttl(p->ttl_ms);
}

static char *dump(json_t *obj)
{
    char *text = obj ? result_dump(obj) : NULL;
    json_decref(obj);
    return text;
}

char *plan_dump(const struct plan *p)
{
    if (!valid_plan(p))
        return NULL;
    return dump(json_pack("{s:s,s:i,s:f,s:f,s:b,s:s,s:s,s:I,s:i}", "device", p->device, "split",
                          (int)p->split, "predicted_fps", round(p->predicted_fps * 100) / 100,
                          "cloud_cpu_s", round(p->cloud_cpu_s * 1000) / 1000, "goal_met",
                          (int)p->goal_met, "reason", p->reason, "planner", p->planner, "issued_us",
                          (json_int_t)p->issued_us, "ttl_ms", p->ttl_ms));
}

static bool get_number(const json_t *obj, const char *key, double *v)
{
    const json_t *j = json_object_get(obj, key);
    if (!json_is_number(j))
        return false;
    *v = json_number_value(j);
    return true;
}

static bool get_integer(const json_t *obj, const char *key, json_int_t *v)
{
    const json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j))
        return false;
    *v = json_integer_value(j);
    return true;
}

static bool get_bool(const json_t *obj, const char *key, bool *v)
{
    const json_t *j = json_object_get(obj, key);
    if (!json_is_boolean(j))
        return false;
    *v = json_is_true(j);
    return true;
}

static enum es_err plan_members(const json_t *obj, struct plan *p)
{
    json_int_t split, issued, ttl;
    if (!json_is_object(obj) || !result_get_string(obj, "device", p->device, sizeof p->device) ||
        !get_integer(obj, "split", &split) ||
        !get_number(obj, "predicted_fps", &p->predicted_fps) ||
        !get_number(obj, "cloud_cpu_s", &p->cloud_cpu_s) ||
        !get_bool(obj, "goal_met", &p->goal_met) ||
        !result_get_string(obj, "reason", p->reason, sizeof p->reason) ||
        !result_get_string(obj, "planner", p->planner, sizeof p->planner) ||
        !get_integer(obj, "issued_us", &issued) || !get_integer(obj, "ttl_ms", &ttl))
        return ES_EFORMAT;
    if (split < 1 || split >= STATE_MAX_STAGES || !valid_ttl(ttl))
        return ES_EFORMAT;
    p->split = (unsigned)split;
    p->issued_us = issued;
    p->ttl_ms = (int)ttl;
    return valid_plan(p) ? ES_OK : ES_EFORMAT;
}

static enum es_err lease_members(const json_t *obj, struct lease *l)
{
    json_int_t renewed, ttl;
    if (!json_is_object(obj) || !result_get_string(obj, "planner", l->planner, sizeof l->planner) ||
        !result_get_string(obj, "session", l->session, sizeof l->session) ||
        !get_bool(obj, "held", &l->held) || !get_integer(obj, "renewed_us", &renewed) ||
        !get_integer(obj, "ttl_ms", &ttl))
        return ES_EFORMAT;
    if (!topic_valid_id(l->planner) || !valid_session(l->session) || renewed < 0 || !valid_ttl(ttl))
        return ES_EFORMAT;
    l->renewed_us = renewed;
    l->ttl_ms = (int)ttl;
    return ES_OK;
}

/* Parses buf as one JSON object and hands it to members; *out is written only on success. */
static enum es_err parse(const char *buf, size_t len, void *out, size_t size,
                         enum es_err (*members)(const json_t *, void *))
{
    if (!buf || !out)
        return ES_EINVAL;
    if (len > PLAN_MAX_BYTES)
        return ES_ELIMIT;
    union {
        struct plan p;
        struct lease l;
    } tmp;
    memset(&tmp, 0, sizeof tmp);
    json_frame_begin(); /* the parsed tree is gone when this returns */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    enum es_err err = root ? members(root, &tmp) : ES_EFORMAT;
    json_decref(root);
    json_frame_end();
    if (err == ES_OK)
        memcpy(out, &tmp, size);
    return err;
}

static enum es_err plan_members_any(const json_t *obj, void *p)
{
    return plan_members(obj, p);
}

static enum es_err lease_members_any(const json_t *obj, void *l)
{
    return lease_members(obj, l);
}

enum es_err plan_parse(const char *buf, size_t len, struct plan *out)
{
    return parse(buf, len, out, sizeof *out, plan_members_any);
}

char *lease_dump(const struct lease *l)
{
    if (!l || !topic_valid_id(l->planner) || !memchr(l->session, '\0', sizeof l->session) ||
        !valid_session(l->session) || l->renewed_us < 0 || !valid_ttl(l->ttl_ms))
        return NULL;
    return dump(json_pack("{s:s,s:s,s:b,s:I,s:i}", "planner", l->planner, "session", l->session,
                          "held", (int)l->held, "renewed_us", (json_int_t)l->renewed_us, "ttl_ms",
                          l->ttl_ms));
}

enum es_err lease_parse(const char *buf, size_t len, struct lease *out)
{
    return parse(buf, len, out, sizeof *out, lease_members_any);
}

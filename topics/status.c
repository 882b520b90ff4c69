#include "status.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "json_frame.h"
#include "result.h"
#include "topic.h"

static bool valid_word(const char *s, size_t max, bool hex)
{
    size_t i = 0;
    for (; s && s[i]; i++) {
        char c = s[i];
        bool ok = hex ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) : (c >= 'a' && c <= 'z');
        if (!ok || i >= max)
            return false;
    }
    return i > 0;
}

static bool valid_info(const struct status_info *s)
{
    return s && topic_valid_id(s->client) && valid_word(s->role, STATUS_ROLE_MAX, false) &&
           valid_word(s->session, STATUS_SESSION_MAX, true) && s->since_us >= 0 &&
           (s->stages & 1u) == 0 && (s->stages >> STATE_MAX_STAGES) == 0 && s->every_ms >= 0 &&
           s->every_ms <= STATUS_EVERY_MAX_MS && s->batch <= STATUS_BATCH_MAX &&
           (!s->has_load || (isfinite(s->capacity_cpu_s) && s->capacity_cpu_s >= 0 &&
                             isfinite(s->used_cpu_s) && s->used_cpu_s >= 0));
}

static double milli(double v)
{
    return round(v * 1000) / 1000;
}

/* The load members of a worker's status. */
static bool put_load(json_t *obj, const struct status_info *s)
{
    return json_object_set_new(obj, "capacity_cpu_s", json_real(milli(s->capacity_cpu_s))) == 0 &&
           json_object_set_new(obj, "used_cpu_s", json_real(milli(s->used_cpu_s))) == 0 &&
           json_object_set_new(obj, "saturated", json_boolean(s->saturated)) == 0;
}

static json_t *stage_list(uint32_t stages)
{
    json_t *a = json_array();
    for (unsigned k = 1; a && k < STATE_MAX_STAGES; k++) {
        if ((stages & (1u << k)) && json_array_append_new(a, json_integer(k)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The status as a JSON object, or NULL when memory runs out. */
static json_t *status_object(const struct status_info *s)
{
    json_t *obj = json_pack("{s:s,s:s,s:s,s:s,s:I}", "state", s->online ? "online" : "offline",
                            "client", s->client, "role", s->role, "session", s->session, "since_us",
                            (json_int_t)s->since_us);
    bool ok = obj != NULL;
    if (ok && s->has_stages && s->online)
        ok = json_object_set_new(obj, "stages", stage_list(s->stages)) == 0;
    if (ok && s->every_ms > 0 && s->online)
        ok = json_object_set_new(obj, "every_ms", json_integer(s->every_ms)) == 0;
    if (ok && s->has_load && s->online)
        ok = put_load(obj, s);
    if (ok && s->batch > 0 && s->online)
        ok = json_object_set_new(obj, "batch", json_integer(s->batch)) == 0;
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *status_dump(const struct status_info *s)
{
    if (!valid_info(s))
        return NULL;
    json_frame_begin(); /* a worker restates its load now and then: only the text is malloc'd */
    json_t *obj = status_object(s);
    char *text = obj ? result_dump(obj) : NULL;
    json_decref(obj);
    json_frame_end();
    return text;
}

static enum es_err parse_stages(const json_t *a, uint32_t *out)
{
    if (!json_is_array(a) || json_array_size(a) >= STATE_MAX_STAGES)
        return ES_EFORMAT;
    uint32_t mask = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        json_int_t k = json_integer_value(e);
        if (!json_is_integer(e) || k < 1 || k >= STATE_MAX_STAGES || (mask & (1u << k)))
            return ES_EFORMAT;
        mask |= 1u << k;
    }
    *out = mask;
    return ES_OK;
}

/* The load members, all or none (none when "capacity_cpu_s" is absent). */
static enum es_err parse_load(const json_t *obj, struct status_info *s)
{
    const json_t *cap = json_object_get(obj, "capacity_cpu_s");
    if (!cap)
        return ES_OK;
    const json_t *used = json_object_get(obj, "used_cpu_s");
    const json_t *sat = json_object_get(obj, "saturated");
    if (!json_is_number(cap) || !json_is_number(used) || !json_is_boolean(sat))
        return ES_EFORMAT;
    s->has_load = true;
    s->capacity_cpu_s = json_number_value(cap);
    s->used_cpu_s = json_number_value(used);
    s->saturated = json_is_true(sat);
    return ES_OK;
}

static enum es_err parse_object(const json_t *obj, struct status_info *s)
{
    char state[16];
    if (!json_is_object(obj) || !result_get_string(obj, "state", state, sizeof state) ||
        !result_get_string(obj, "client", s->client, sizeof s->client) ||
        !result_get_string(obj, "role", s->role, sizeof s->role) ||
        !result_get_string(obj, "session", s->session, sizeof s->session))
        return ES_EFORMAT;
    if (strcmp(state, "online") != 0 && strcmp(state, "offline") != 0)
        return ES_EFORMAT;
    s->online = state[1] == 'n';
    const json_t *since = json_object_get(obj, "since_us");
    if (!json_is_integer(since))
        return ES_EFORMAT;
    s->since_us = json_integer_value(since);
    const json_t *stages = json_object_get(obj, "stages");
    s->has_stages = stages != NULL;
    if (stages && parse_stages(stages, &s->stages) != ES_OK)
        return ES_EFORMAT;
    const json_t *every = json_object_get(obj, "every_ms");
    if (every && (!json_is_integer(every) || json_integer_value(every) < 1 ||
                  json_integer_value(every) > STATUS_EVERY_MAX_MS))
        return ES_EFORMAT;
    s->every_ms = every ? (int)json_integer_value(every) : 0;
    if (parse_load(obj, s) != ES_OK)
        return ES_EFORMAT;
    const json_t *batch = json_object_get(obj, "batch");
    if (batch && (!json_is_integer(batch) || json_integer_value(batch) < 1 ||
                  json_integer_value(batch) > STATUS_BATCH_MAX))
        return ES_EFORMAT;
    s->batch = batch ? (unsigned)json_integer_value(batch) : 0;
    return valid_info(s) ? ES_OK : ES_EFORMAT;
}

enum es_err status_parse(const char *buf, size_t len, struct status_info *out)
{
    if (!buf || !out)
        return ES_EINVAL;
    if (len > STATUS_MAX_BYTES)
        return ES_ELIMIT;
    json_frame_begin(); /* the parsed tree is gone when this returns */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    struct status_info s;
    memset(&s, 0, sizeof s);
    enum es_err err = root ? parse_object(root, &s) : ES_EFORMAT;
    json_decref(root);
    json_frame_end();
    if (err == ES_OK)
        *out = s;
    return err;
}

void status_new_session(char *buf, size_t n)
{
    uint64_t r = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&r, sizeof r, 1, f) != 1)
        r = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)clock_mono_us();
    if (f)
        fclose(f);
    snprintf(buf, n, "%016llx", (unsigned long long)r);
}

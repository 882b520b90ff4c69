#include "result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_frame.h"
#include "topic.h"

/* Members result_build writes itself; an application field of the same name is left out. */
static const char *const framework_members[] = {
    "device", "seq",          "split",    "captured_us", "completed_us",
    "worker", "cloud_cpu_us", "stage_us", "fallback",
};

static bool is_framework_member(const char *key)
{
    for (size_t i = 0; i < sizeof framework_members / sizeof framework_members[0]; i++)
        if (strcmp(key, framework_members[i]) == 0)
            return true;
    return false;
}

/* Sets obj[key] = value, taking the reference; false if value is NULL or memory runs out. */
static bool put(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value) == 0;
}

static json_t *uint32_array(const uint32_t *v, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_integer(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Copies (by reference) the members of src into dst, in order, skipping framework members. */
static bool copy_members(json_t *dst, const json_t *src)
{
    /* Jansson's iterators take a non-const object; nothing is modified. */
    json_t *from = (json_t *)src;
    const char *key;
    json_t *value;
    json_object_foreach(from, key, value)
    {
        if (!is_framework_member(key) && json_object_set(dst, key, value) != 0)
            return false;
    }
    return true;
}

json_t *result_build(const json_t *app_fields, const struct result_meta *m)
{
    if (!m || !m->device || m->seq > INT64_MAX || m->nstages > STATE_MAX_STAGES ||
        (m->nstages && !m->stage_us))
        return NULL;
    if (app_fields && !json_is_object(app_fields))
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    bool ok = put(obj, "device", json_string(m->device)) &&
              put(obj, "seq", json_integer((json_int_t)m->seq)) &&
              put(obj, "split", json_integer(m->split)) &&
              (!app_fields || copy_members(obj, app_fields)) &&
              put(obj, "captured_us", json_integer(m->captured_us)) &&
              put(obj, "completed_us", json_integer(m->completed_us)) &&
              (!m->worker || (put(obj, "worker", json_string(m->worker)) &&
                              put(obj, "cloud_cpu_us",
                                  json_integer(m->cloud_cpu_us > 0 ? m->cloud_cpu_us : 0)))) &&
              put(obj, "stage_us", uint32_array(m->stage_us, m->nstages)) &&
              (!m->fallback || put(obj, "fallback", json_true()));
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *result_dump(const json_t *obj)
{
    /* Not json_dumps: its text comes from Jansson's allocator, which may be a frame arena. */
    size_t n = obj ? json_dumpb(obj, NULL, 0, RESULT_JSON_FLAGS) : 0;
    char *text = n ? malloc(n + 1) : NULL;
    if (!text)
        return NULL;
    if (json_dumpb(obj, text, n, RESULT_JSON_FLAGS) != n) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

enum es_err result_dump_into(const json_t *obj, char *buf, size_t cap, size_t *len)
{
    if (!obj || !buf || !cap || !len)
        return ES_EINVAL;
    size_t n = json_dumpb(obj, buf, cap - 1, RESULT_JSON_FLAGS);
    if (n == 0)
        return ES_ENOMEM;
    if (n > cap - 1 || n > RESULT_MAX_BYTES)
        return ES_ELIMIT;
    buf[n] = '\0';
    *len = n;
    return ES_OK;
}

enum es_err result_format(const json_t *app_fields, const struct result_meta *m, char *buf,
                          size_t cap, size_t *len)
{
    json_t *obj = result_build(app_fields, m);
    enum es_err err = obj ? result_dump_into(obj, buf, cap, len) : ES_ENOMEM;
    json_decref(obj);
    return err;
}

bool result_get_string(const json_t *obj, const char *key, char *dst, size_t n)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || strlen(v) >= n)
        return false;
    strcpy(dst, v);
    return true;
}

/* *v = obj[key] as an integer in lo..hi. */
static enum es_err get_int(const json_t *obj, const char *key, json_int_t lo, json_int_t hi,
                           json_int_t *v)
{
    const json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j))
        return ES_EFORMAT;
    json_int_t x = json_integer_value(j);
    if (x < lo || x > hi)
        return ES_EFORMAT;
    *v = x;
    return ES_OK;
}

static enum es_err parse_stage_us(const json_t *obj, struct result_info *r)
{
    const json_t *a = json_object_get(obj, "stage_us");
    if (!json_is_array(a))
        return ES_EFORMAT;
    size_t n = json_array_size(a);
    if (n > STATE_MAX_STAGES)
        return ES_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > UINT32_MAX)
            return ES_EFORMAT;
        r->stage_us[i] = (uint32_t)json_integer_value(e);
    }
    r->nstages = (unsigned)n;
    return ES_OK;
}

static enum es_err parse_members(const json_t *obj, struct result_info *r)
{
    if (!json_is_object(obj))
        return ES_EFORMAT;
    const char *device = json_string_value(json_object_get(obj, "device"));
    if (!device || !topic_valid_id(device))
        return ES_EFORMAT;
    strcpy(r->device, device); /* fits: a valid id has at most STATE_DEVICE_MAX chars */
    const json_t *worker = json_object_get(obj, "worker");
    if (worker && !json_is_string(worker))
        return ES_EFORMAT;
    const json_t *fallback = json_object_get(obj, "fallback");
    if (fallback && !json_is_boolean(fallback))
        return ES_EFORMAT;
    r->fallback = json_is_true(fallback);
    const json_t *cloud = json_object_get(obj, "cloud_cpu_us");
    if (cloud && (!json_is_integer(cloud) || json_integer_value(cloud) < 0))
        return ES_EFORMAT;
    r->cloud_cpu_us = cloud ? json_integer_value(cloud) : -1;

    json_int_t seq, split, captured, completed;
    enum es_err err;
    if ((err = get_int(obj, "seq", 0, INT64_MAX, &seq)) != ES_OK ||
        (err = get_int(obj, "split", 0, STATE_MAX_STAGES - 1, &split)) != ES_OK ||
        (err = get_int(obj, "captured_us", 0, INT64_MAX, &captured)) != ES_OK ||
        (err = get_int(obj, "completed_us", 0, INT64_MAX, &completed)) != ES_OK)
        return err;
    r->seq = (uint64_t)seq;
    r->split = (unsigned)split;
    r->captured_us = captured;
    r->completed_us = completed;
    return parse_stage_us(obj, r);
}

enum es_err result_parse(const char *buf, size_t len, struct result_info *out)
{
    if (!buf || !out)
        return ES_EINVAL;
    if (len > RESULT_MAX_BYTES)
        return ES_ELIMIT;
    json_frame_begin(); /* the parsed tree is gone when this returns */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    struct result_info r;
    memset(&r, 0, sizeof r);
    enum es_err err = root ? parse_members(root, &r) : ES_EFORMAT;
    json_decref(root);
    json_frame_end();
    if (err == ES_OK)
        *out = r;
    return err;
}

/* v rounded to a multiple of 1/scale, or null when v is not finite. Values too large to round
 * through an integer are kept as they are. */
static json_t *rounded(double v, double scale)
{
    if (!isfinite(v))
        return json_null();
    double x = v * scale;
    if (x > -1e15 && x < 1e15)
        v = (double)(long long)(x + (x < 0 ? -0.5 : 0.5)) / scale;
    return json_real(v);
}

/* v rounded to an integer, or null when v is not finite or out of range. */
static json_t *rounded_int(double v)
{
    if (!isfinite(v) || v <= -9e18 || v >= 9e18)
        return json_null();
    return json_integer((json_int_t)(v + (v < 0 ? -0.5 : 0.5)));
}

/* A JSON array of n values, each converted by rounded(v, scale) or, for scale 0, rounded_int. */
static json_t *rounded_array(const double *v, unsigned n, double scale)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++) {
        json_t *e = scale > 0 ? rounded(v[i], scale) : rounded_int(v[i]);
        if (json_array_append_new(a, e) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

#define FPS_SCALE 100.0   /* rates to 0.01 frames/s */
#define TIME_SCALE 1000.0 /* ms and s to three decimals */

static json_t *count(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static bool put_counts(json_t *obj, const struct stats_counts *c)
{
    json_t *dropped = json_object();
    bool ok = dropped && put(dropped, "buffer_full", count(c->dropped_full)) &&
              put(dropped, "io", count(c->dropped_io)) &&
              put(dropped, "error", count(c->dropped_error));
    ok = ok && put(obj, "captured", count(c->captured)) && put(obj, "results", count(c->results)) &&
         put(obj, "fallback", count(c->fallback)) && put(obj, "retried", count(c->retried)) &&
         put(obj, "duplicates", count(c->duplicates)) && put(obj, "buffered", count(c->buffered)) &&
         put(obj, "dropped", json_incref(dropped)) && put(obj, "skipped", count(c->skipped));
    json_decref(dropped);
    return ok;
}

static bool put_costs(json_t *obj, const struct stats_costs *c)
{
    return put(obj, "app", c->app ? json_string(c->app) : json_null()) &&
           put(obj, "rate", c->rate > 0 ? rounded(c->rate, FPS_SCALE) : json_null()) &&
           put(obj, "device_cpu_ms_per_s", rounded(c->device_cpu_ms_per_s, TIME_SCALE)) &&
           put(obj, "cloud_cpu_ms_per_s", rounded(c->cloud_cpu_ms_per_s, TIME_SCALE)) &&
           put(obj, "cloud_cpu_us_per_result", rounded_int(c->cloud_cpu_us_per_result)) &&
           put(obj, "bytes_sent", count(c->bytes_sent)) &&
           put(obj, "cloud_saturated", json_boolean(c->cloud_saturated));
}

json_t *stats_build(const struct stats *s)
{
    if (!s || !s->device || s->nstages > STATE_MAX_STAGES || (s->nstages && !s->stage_us))
        return NULL;
    json_t *obj = json_object();
    json_t *latency = json_object();
    bool ok = obj && latency && put(latency, "p50", rounded(s->latency_p50_ms, TIME_SCALE)) &&
              put(latency, "p99", rounded(s->latency_p99_ms, TIME_SCALE));
    ok = ok && put(obj, "device", json_string(s->device)) &&
         put(obj, "mode", json_string(s->auto_mode ? "auto" : "manual")) &&
         put(obj, "split", json_integer(s->split)) &&
         put(obj, "goal", s->auto_mode && isfinite(s->goal) ? json_real(s->goal) : json_null()) &&
         put(obj, "fps", rounded(s->fps, FPS_SCALE)) &&
         put(obj, "delivered_fps", rounded(s->delivered_fps, FPS_SCALE)) &&
         put(obj, "window_s", rounded(s->window_s, TIME_SCALE)) &&
         put(obj, "latency_ms", json_incref(latency)) &&
         put(obj, "bytes_per_frame", rounded_int(s->bytes_per_frame)) &&
         put(obj, "stage_us", rounded_array(s->stage_us, s->nstages, 0)) &&
         put(obj, "lost", json_integer((json_int_t)s->lost)) &&
         put(obj, "goal_unreachable", json_boolean(s->goal_unreachable)) &&
         put(obj, "reason", s->reason ? json_string(s->reason) : json_null()) &&
         (!s->predicted_fps ||
          put(obj, "predicted_fps", rounded_array(s->predicted_fps, s->nstages, FPS_SCALE))) &&
         (!s->counts || put_counts(obj, s->counts)) && (!s->costs || put_costs(obj, s->costs));
    json_decref(latency);
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

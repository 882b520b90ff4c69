/* Reading stats, load reports and statuses for the fleet planner (see fleet_msg.h). */
#include "fleet_msg.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_frame.h"
#include "result.h"
#include "status.h"

/* obj[key] as a finite number >= 0, or 0 when absent or null; false when it is something else. */
static bool number(const json_t *obj, const char *key, double *v)
{
    const json_t *j = json_object_get(obj, key);
    *v = 0;
    if (!j || json_is_null(j))
        return true;
    if (!json_is_number(j) || !isfinite(json_number_value(j)) || json_number_value(j) < 0)
        return false;
    *v = json_number_value(j);
    return true;
}

/* Fills v[0..n) from the array obj[key] (nulls read as 0); *n is its length. */
static bool numbers(const json_t *obj, const char *key, double *v, unsigned *n, bool required)
{
    const json_t *a = json_object_get(obj, key);
    if (!a)
        return !required;
    if (!json_is_array(a) || json_array_size(a) > PLANNER_MAX_STAGES)
        return false;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i);
        if (json_is_null(e))
            v[i] = 0;
        else if (json_is_number(e) && json_number_value(e) >= 0 && isfinite(json_number_value(e)))
            v[i] = json_number_value(e);
        else
            return false;
    }
    if (n)
        *n = (unsigned)json_array_size(a);
    return true;
}

static enum es_err read_worker(const json_t *obj, struct fleet_msg *out)
{
    struct planner_worker_report *w = &out->worker;
    out->kind = FLEET_WORKER;
    w->worker = out->id;
    w->online = true;
    return number(obj, "capacity_cpu_s", &w->capacity_cpu_s) &&
                   number(obj, "used_cpu_s", &w->used_cpu_s)
               ? ES_OK
               : ES_EFORMAT;
}

static enum es_err read_device(const json_t *obj, struct fleet_msg *out)
{
    struct planner_device_report *d = &out->device;
    const char *mode = json_string_value(json_object_get(obj, "mode"));
    const char *app = json_string_value(json_object_get(obj, "app"));
    const json_t *split = json_object_get(obj, "split");
    double results = 0, window = 0;
    out->kind = FLEET_DEVICE;
    if (!mode || (strcmp(mode, "auto") != 0 && strcmp(mode, "manual") != 0) ||
        !json_is_integer(split) || json_integer_value(split) < 0 ||
        json_integer_value(split) >= PLANNER_MAX_STAGES)
        return ES_EFORMAT;
    snprintf(out->app, sizeof out->app, "%s", app && app[0] ? app : "unknown");
    d->device = out->id;
    d->app = out->app;
    d->auto_mode = strcmp(mode, "auto") == 0;
    d->split = (unsigned)json_integer_value(split);
    bool ok = number(obj, "goal", &d->goal) && number(obj, "fps", &d->fps) &&
              number(obj, "rate", &d->rate) &&
              numbers(obj, "stage_us", d->stage_us, &d->nstages, true) &&
              numbers(obj, "predicted_fps", d->predicted_fps, NULL, false) &&
              number(obj, "bytes_per_frame", &d->bytes_per_frame) &&
              number(obj, "results", &results) && number(obj, "window_s", &window) &&
              number(obj, "cloud_cpu_us_per_result", &d->cloud_us_per_result) &&
              number(obj, "fallback", &d->fallback) && number(obj, "captured", &d->captured);
    d->results_per_s = window > 0 ? results / window : 0;
    return ok ? ES_OK : ES_EFORMAT;
}

enum es_err fleet_parse_stats(const char *topic, const char *buf, size_t len, struct fleet_msg *out)
{
    if (!topic || !buf || !out)
        return ES_EINVAL;
    if (len > RESULT_MAX_BYTES)
        return ES_ELIMIT;
    memset(out, 0, sizeof *out);
    out->online = true;
    if (!topic_parse_id(topic, "stats", out->id))
        return ES_EFORMAT;
    json_frame_begin(); /* the parsed tree is gone when this returns */
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    enum es_err err = ES_EFORMAT;
    const char *role = json_string_value(json_object_get(root, "role"));
    const char *id = json_string_value(json_object_get(root, role ? "worker" : "device"));
    if (!json_is_object(root))
        err = ES_EFORMAT;
    else if (role && strcmp(role, "worker") != 0) {
        out->kind = FLEET_OTHER; /* a planner's own report */
        err = ES_OK;
    } else if (id && strcmp(id, out->id) == 0)
        err = role ? read_worker(root, out) : read_device(root, out);
    json_decref(root);
    json_frame_end();
    return err;
}

enum es_err fleet_parse_status(const char *topic, const char *buf, size_t len,
                               struct fleet_msg *out)
{
    if (!topic || !buf || !out)
        return ES_EINVAL;
    struct status_info s;
    enum es_err err = status_parse(buf, len, &s);
    if (err != ES_OK)
        return err;
    memset(out, 0, sizeof *out);
    if (!topic_parse_id(topic, "status", out->id) || strcmp(out->id, s.client) != 0)
        return ES_EFORMAT;
    snprintf(out->session, sizeof out->session, "%s", s.session);
    out->online = s.online;
    out->kind = strcmp(s.role, "worker") == 0 ? FLEET_WORKER : FLEET_OTHER;
    out->worker = (struct planner_worker_report){
        .worker = out->id,
        .online = s.online,
        .capacity_cpu_s = s.has_load ? s.capacity_cpu_s : 0,
        .used_cpu_s = s.has_load ? s.used_cpu_s : 0,
    };
    return ES_OK;
}

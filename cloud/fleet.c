/* fleet-planner's run (see fleet.h): messages in on Paho's thread, under one lock; decisions
 * and plans out on the calling thread, once per window while it leads. */
#include "fleet.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fleet_msg.h"
#include "json_frame.h"
#include "leader.h"
#include "log.h"
#include "plan.h"
#include "result.h"
#include "status.h"
#include "topic.h"

#define TICK_US 100000

/* A device whose plan is published, to clear it once it is no longer planned. */
struct planned {
    char device[TOPIC_ID_MAX + 1];
};

struct fleet {
    const struct fleet_opts *o;
    struct transport *t;
    char lease_topic[TOPIC_MAX];
    char session[STATUS_SESSION_MAX + 1];
    int ttl_ms;
    pthread_mutex_t lock; /* guards p, lead and the counts */
    struct planner *p;
    struct leader lead;
    unsigned long long malformed, stats_seen;
    struct log_limit malformed_log;
    /* The calling thread's own. */
    bool leading;
    struct planner_choice *choices;
    size_t cap;
    struct planned *published, *next;
    size_t npublished;
    double decide_ms;
    struct planner_summary sum;
};

static void malformed(struct fleet *f, const char *topic, enum es_err err)
{
    f->malformed++;
    log_limited(&f->malformed_log, LOG_WARN, "PLANNER-MALFORMED", "dropped message on %s: %s",
                topic, es_strerror(err));
}

static void on_stats(struct fleet *f, const char *topic, const uint8_t *payload, size_t len,
                     int64_t now)
{
    struct fleet_msg m;
    enum es_err err = fleet_parse_stats(topic, (const char *)payload, len, &m);
    bool ok = err == ES_OK;
    if (ok && m.kind == FLEET_DEVICE)
        ok = planner_device(f->p, &m.device, now);
    else if (ok && m.kind == FLEET_WORKER)
        ok = planner_worker(f->p, &m.worker, now);
    if (!ok)
        malformed(f, topic, err == ES_OK ? ES_EFORMAT : err);
    else
        f->stats_seen++;
}

static void on_status(struct fleet *f, const char *topic, const uint8_t *payload, size_t len,
                      int64_t now)
{
    struct fleet_msg m;
    enum es_err err = fleet_parse_status(topic, (const char *)payload, len, &m);
    if (err != ES_OK) {
        malformed(f, topic, err);
        return;
    }
    if (!m.online)
        leader_gone(&f->lead, m.id, m.session);
    /* A worker's status is a load report when it states a load, and its going offline. */
    if (m.kind == FLEET_WORKER && (!m.online || m.worker.capacity_cpu_s > 0))
        planner_worker(f->p, &m.worker, now);
}

static void on_lease(struct fleet *f, const uint8_t *payload, size_t len, int64_t now)
{
    struct lease l;
    if (len == 0)
        return; /* cleared */
    enum es_err err = lease_parse((const char *)payload, len, &l);
    if (err != ES_OK) {
        malformed(f, f->lease_topic, err);
        return;
    }
    leader_seen(&f->lead, &l, clock_wall_us() - l.renewed_us, now);
}

static bool on_msg(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct fleet *f = arg;
    int64_t now = clock_mono_us();
    char id[TOPIC_ID_MAX + 1];
    pthread_mutex_lock(&f->lock);
    if (strcmp(topic, f->lease_topic) == 0)
        on_lease(f, payload, len, now);
    else if (topic_parse_id(topic, "status", id))
        on_status(f, topic, payload, len, now);
    else if (topic_parse_id(topic, "stats", id))
        on_stats(f, topic, payload, len, now);
    pthread_mutex_unlock(&f->lock);
    return true;
}

/* Publishes this planner's lease (held, or given up), retained. */
static void publish_lease(struct fleet *f, bool held)
{
    struct lease l = f->lead.self;
    l.held = held;
    l.renewed_us = clock_wall_us();
    char *text = lease_dump(&l);
    if (text)
        transport_publish(f->t, f->lease_topic, text, strlen(text), 1, true);
    free(text);
}

/* Room for n choices and as many planned devices; false when memory runs out. */
static bool grow(struct fleet *f, size_t n)
{
    size_t cap = n + n / 2 + 16;
    struct planner_choice *c = realloc(f->choices, cap * sizeof *c);
    if (!c)
        return false;
    f->choices = c;
    struct planned *a = realloc(f->published, cap * sizeof *a);
    if (!a)
        return false;
    f->published = a;
    struct planned *b = realloc(f->next, cap * sizeof *b);
    if (!b)
        return false;
    f->next = b;
    f->cap = cap;
    return true;
}

/* Decides under the lock into f->choices, growing it when the fleet grew. */
static size_t decide(struct fleet *f, int64_t now)
{
    for (;;) {
        int64_t t0 = clock_mono_us();
        pthread_mutex_lock(&f->lock);
        size_t n = planner_decide(f->p, now, f->choices, f->cap, &f->sum);
        pthread_mutex_unlock(&f->lock);
        f->decide_ms = (double)(clock_mono_us() - t0) / 1e3;
        if (n <= f->cap)
            return n;
        if (!grow(f, n)) {
            log_msg(LOG_ERROR, "PLANNER-NOMEM", "no memory to plan %zu devices", n);
            return 0;
        }
    }
}

static void publish_plan(struct fleet *f, const struct planner_choice *c)
{
    struct plan p = {.split = c->split,
                     .predicted_fps = c->predicted_fps,
                     .cloud_cpu_s = c->cloud_cpu_s,
                     .goal_met = c->goal_met,
                     .issued_us = clock_wall_us(),
                     .ttl_ms = f->ttl_ms};
    snprintf(p.device, sizeof p.device, "%s", c->device);
    snprintf(p.reason, sizeof p.reason, "%s", c->reason);
    snprintf(p.planner, sizeof p.planner, "%s", f->o->planner_id);
    char topic[TOPIC_MAX];
    char *text = plan_dump(&p);
    if (text && topic_plan(topic, sizeof topic, c->device) == ES_OK)
        transport_publish(f->t, topic, text, strlen(text), 1, true);
    free(text);
}

static void clear_plan(struct fleet *f, const char *device)
{
    char topic[TOPIC_MAX];
    if (topic_plan(topic, sizeof topic, device) == ES_OK)
        transport_publish(f->t, topic, "", 0, 1, true);
}

/* Publishes the plans of the n choices (sorted by device) and clears those of the devices
 * planned last window and not now. */
static void publish_plans(struct fleet *f, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        publish_plan(f, &f->choices[i]);
        for (; j < f->npublished && strcmp(f->published[j].device, f->choices[i].device) < 0; j++)
            clear_plan(f, f->published[j].device);
        if (j < f->npublished && strcmp(f->published[j].device, f->choices[i].device) == 0)
            j++;
        snprintf(f->next[i].device, sizeof f->next[i].device, "%s", f->choices[i].device);
    }
    for (; j < f->npublished; j++)
        clear_plan(f, f->published[j].device);
    struct planned *swap = f->published;
    f->published = f->next;
    f->next = swap;
    f->npublished = n;
}

static void clear_plans(struct fleet *f)
{
    for (size_t i = 0; i < f->npublished; i++)
        clear_plan(f, f->published[i].device);
    f->npublished = 0;
}

/* The planner's own report on pipeline/stats/<planner-id>, for the dashboard. */
static void publish_report(struct fleet *f, const char *leader_id)
{
    char topic[TOPIC_MAX], text[1024];
    size_t len = 0;
    const struct planner_summary *s = &f->sum;
    json_frame_begin();
    json_t *obj = json_pack(
        "{s:s,s:s,s:s,s:b,s:s?,s:f,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I}", "role",
        "planner", "planner", f->o->planner_id, "group", f->o->group, "leader", (int)f->leading,
        "leader_id", leader_id, "window_s", f->o->window_s, "devices", (json_int_t)s->devices,
        "planned", (json_int_t)s->planned, "goals_met", (json_int_t)s->goals_met, "goals_meetable",
        (json_int_t)s->goals_meetable, "workers", (json_int_t)s->workers, "capacity_cpu_s",
        round(s->capacity_cpu_s * 1000) / 1000, "fixed_cpu_s", round(s->fixed_cpu_s * 1000) / 1000,
        "planned_cpu_s", round(s->planned_cpu_s * 1000) / 1000, "min_ratio",
        round(s->min_ratio * 1000) / 1000, "utilization", round(s->utilization * 1000) / 1000,
        "late_share", round(s->late_share * 1000) / 1000, "decide_ms",
        round(f->decide_ms * 1000) / 1000, "malformed", (json_int_t)f->malformed);
    if (obj && topic_stats(topic, sizeof topic, f->o->planner_id) == ES_OK &&
        result_dump_into(obj, text, sizeof text, &len) == ES_OK)
        transport_publish(f->t, topic, text, len, 0, false);
    json_decref(obj);
    json_frame_end();
}

/* One window: renews the lease and plans when leading; reports either way. */
static void window(struct fleet *f, int64_t now)
{
    pthread_mutex_lock(&f->lock);
    bool leading = leader_is_self(&f->lead, now);
    char leader_id[TOPIC_ID_MAX + 1] = "";
    if (f->lead.known && f->lead.last.held)
        snprintf(leader_id, sizeof leader_id, "%s", f->lead.last.planner);
    pthread_mutex_unlock(&f->lock);
    if (leading != f->leading)
        log_msg(LOG_INFO, "PLANNER-LEAD", "%s group %s", leading ? "leading" : "standby in",
                f->o->group);
    f->leading = leading;
    if (leading) {
        publish_lease(f, true);
        size_t n = decide(f, now);
        publish_plans(f, n);
        log_msg(LOG_DEBUG, "PLANNER-DECIDED",
                "%zu devices planned, %zu of %zu meetable goals met, %.3f of %.3f CPU-s/s, "
                "decided in %.2f ms",
                f->sum.planned, f->sum.goals_met, f->sum.goals_meetable, f->sum.planned_cpu_s,
                f->sum.capacity_cpu_s, f->decide_ms);
    } else if (f->npublished) {
        f->npublished = 0; /* the new leader publishes them now */
    }
    publish_report(f, leader_id[0] ? leader_id : NULL);
}

/* Claims the lead when it should: between windows, so that a takeover is quick. */
static void maybe_claim(struct fleet *f, int64_t now)
{
    pthread_mutex_lock(&f->lock);
    bool claim = leader_should_claim(&f->lead, now);
    if (claim)
        leader_claimed(&f->lead, now);
    pthread_mutex_unlock(&f->lock);
    if (claim && transport_connected(f->t))
        publish_lease(f, true);
}

static enum es_err subscribe(struct fleet *f)
{
    enum es_err err = transport_subscribe(f->t, f->lease_topic, 1);
    if (err == ES_OK)
        err = transport_subscribe(f->t, topic_status_all(), 1);
    if (err == ES_OK)
        err = transport_subscribe(f->t, topic_stats_all(), 0);
    return err;
}

static enum es_err loop(struct fleet *f, const volatile sig_atomic_t *stop)
{
    int64_t period = (int64_t)(f->o->window_s * 1e6), next = clock_mono_us() + period;
    while (!*stop) {
        if (transport_taken_over(f->t))
            return ES_ESTOPPED;
        clock_sleep_us(TICK_US);
        int64_t now = clock_mono_us();
        maybe_claim(f, now);
        if (now >= next) {
            next += period;
            if (next < now)
                next = now + period;
            window(f, now);
        }
    }
    if (f->leading) {
        publish_lease(f, false);
        clear_plans(f);
        transport_flush(f->t, 2000);
    }
    return ES_OK;
}

enum es_err fleet_run(const struct fleet_opts *o, const volatile sig_atomic_t *stop)
{
    if (!o || !topic_valid_id(o->planner_id) || !topic_valid_id(o->group) || !(o->window_s > 0) ||
        !(o->ttl_windows >= 1))
        return ES_EINVAL;
    struct fleet f = {.o = o, .malformed_log = {.period_us = 10000000, .burst = 5}};
    f.ttl_ms = (int)fmin(PLAN_TTL_MAX_MS, ceil(o->window_s * o->ttl_windows * 1000));
    status_new_session(f.session, sizeof f.session);
    f.session[16] = '\0';
    enum es_err err = topic_planner(f.lease_topic, sizeof f.lease_topic, o->group);
    if (err != ES_OK)
        return err;
    pthread_mutex_init(&f.lock, NULL);
    f.p = planner_new(&o->planner);
    if (!f.p || !leader_init(&f.lead, o->planner_id, f.session, f.ttl_ms, clock_mono_us())) {
        err = f.p ? ES_EINVAL : ES_ENOMEM;
        goto cleanup;
    }
    struct transport_opts to = o->broker;
    to.client_id = o->planner_id;
    to.role = "planner";
    to.on_msg = on_msg;
    to.arg = &f;
    err = transport_connect(&to, &f.t);
    if (err == ES_OK)
        err = subscribe(&f);
    if (err != ES_OK)
        goto cleanup;
    log_msg(LOG_INFO, "PLANNER-READY", "planner %s of group %s deciding every %.1f s",
            o->planner_id, o->group, o->window_s);
    err = loop(&f, stop);
cleanup:
    transport_close(f.t);
    planner_free(f.p);
    pthread_mutex_destroy(&f.lock);
    free(f.choices);
    free(f.published);
    free(f.next);
    return err;
}

#include "topic.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STAGE_PREFIX "pipeline/stage/"
#define STATUS_PREFIX "pipeline/status/"

bool topic_valid_id(const char *id)
{
    if (!id)
        return false;
    size_t i = 0;
    for (; id[i]; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || i >= TOPIC_ID_MAX)
            return false;
    }
    return i > 0;
}

static bool valid_stage(unsigned k)
{
    return k >= 1 && k < STATE_MAX_STAGES;
}

/* snprintf into buf with the builders' error contract. */
static enum es_err format(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum es_err format(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) {
        if (n > 0)
            buf[0] = '\0';
        return len < 0 ? ES_EINVAL : ES_ELIMIT;
    }
    return ES_OK;
}

/* Rejects a NULL buffer and, when valid is false, empties buf. */
static enum es_err check_args(char *buf, size_t n, bool valid)
{
    if (!buf)
        return ES_EINVAL;
    if (!valid) {
        if (n > 0)
            buf[0] = '\0';
        return ES_EINVAL;
    }
    return ES_OK;
}

enum es_err topic_stage(char *buf, size_t n, unsigned k, const char *device)
{
    enum es_err err = check_args(buf, n, valid_stage(k) && topic_valid_id(device));
    return err ? err : format(buf, n, STAGE_PREFIX "%u/%s", k, device);
}

enum es_err topic_stage_shared(char *buf, size_t n, const char *group, unsigned k)
{
    enum es_err err = check_args(buf, n, valid_stage(k) && topic_valid_id(group));
    return err ? err : format(buf, n, "$share/%s/" STAGE_PREFIX "%u/+", group, k);
}

enum es_err topic_stage_shared_all(char *buf, size_t n, const char *group)
{
    enum es_err err = check_args(buf, n, topic_valid_id(group));
    return err ? err : format(buf, n, "$share/%s/" STAGE_PREFIX "+/+", group);
}

/* pipeline/KIND/ID for a valid id. */
static enum es_err per_id(char *buf, size_t n, const char *kind, const char *id)
{
    enum es_err err = check_args(buf, n, topic_valid_id(id));
    return err ? err : format(buf, n, "pipeline/%s/%s", kind, id);
}

enum es_err topic_results(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "results", device);
}

enum es_err topic_stats(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "stats", device);
}

enum es_err topic_status(char *buf, size_t n, const char *client_id)
{
    return per_id(buf, n, "status", client_id);
}

enum es_err topic_plan(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "plan", device);
}

enum es_err topic_planner(char *buf, size_t n, const char *group)
{
    return per_id(buf, n, "planner", group);
}

const char *topic_stats_all(void)
{
    return "pipeline/stats/+";
}

bool topic_parse_id(const char *topic, const char *kind, char *id)
{
    static const char root[] = "pipeline/";
    size_t rlen = sizeof root - 1, klen = kind ? strlen(kind) : 0;
    if (!topic || !klen || !id || strncmp(topic, root, rlen) != 0 ||
        strncmp(topic + rlen, kind, klen) != 0 || topic[rlen + klen] != '/')
        return false;
    const char *rest = topic + rlen + klen + 1;
    if (!topic_valid_id(rest))
        return false;
    strcpy(id, rest); /* fits: a valid id has at most TOPIC_ID_MAX chars */
    return true;
}

const char *topic_status_all(void)
{
    return STATUS_PREFIX "+";
}

bool topic_is_status(const char *topic)
{
    size_t plen = strlen(STATUS_PREFIX);
    return topic && strncmp(topic, STATUS_PREFIX, plen) == 0 && topic_valid_id(topic + plen);
}

enum es_err topic_frames(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "frames", device);
}

enum es_err topic_routing_key(char *buf, size_t n, const char *name, bool to_topic)
{
    char from = to_topic ? '.' : '/', to = to_topic ? '/' : '.';
    size_t len = name ? strlen(name) : 0;
    bool ok = len > 0 && strcspn(name, "+# ") == len && !strchr(name, to);
    enum es_err err = check_args(buf, n, ok);
    if (err != ES_OK)
        return err;
    if (len >= n) {
        if (n > 0)
            buf[0] = '\0';
        return ES_ELIMIT;
    }
    for (size_t i = 0; i <= len; i++)
        buf[i] = name[i] == from ? to : name[i];
    return ES_OK;
}

enum es_err topic_stage_queue(char *queue, char *binding, size_t n, unsigned k)
{
    enum es_err err = check_args(queue, n, valid_stage(k));
    if (err == ES_OK)
        err = format(queue, n, "pipeline.stage.%u", k);
    if (err == ES_OK && binding)
        err = format(binding, n, "pipeline.stage.%u.*", k);
    return err;
}

enum es_err topic_hello(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "hello", device);
}

enum es_err topic_probe(char *buf, size_t n, const char *device)
{
    return per_id(buf, n, "probe", device);
}

const char *topic_hello_binding(void)
{
    return "pipeline.hello.*";
}

/* Parses a stage number at s: digits only, no leading zero, in 1..limit-1. Sets *end to the
 * first character after the digits. The range is checked after every digit, so a huge number
 * is rejected before it can overflow. */
static bool parse_stage_number(const char *s, unsigned limit, unsigned *k, const char **end)
{
    if (*s < '1' || *s > '9')
        return false;
    unsigned v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v >= limit)
            return false;
    }
    *k = v;
    *end = p;
    return true;
}

enum es_err topic_parse_stage(const char *topic, unsigned *k, char *device)
{
    if (!topic || !k || !device)
        return ES_EINVAL;
    size_t plen = strlen(STAGE_PREFIX);
    if (strncmp(topic, STAGE_PREFIX, plen) != 0)
        return ES_EINVAL;
    unsigned v;
    const char *end;
    if (!parse_stage_number(topic + plen, STATE_MAX_STAGES, &v, &end) || *end != '/' ||
        !topic_valid_id(end + 1))
        return ES_EINVAL;
    *k = v;
    strcpy(device, end + 1); /* fits: a valid id has at most TOPIC_ID_MAX characters */
    return ES_OK;
}

/* Parses one list item "K" or "A-B" at s into the bits of *mask; *end is set after it. */
static bool parse_item(const char *s, unsigned max, uint32_t *mask, const char **end)
{
    unsigned a, b;
    if (!parse_stage_number(s, max, &a, &s))
        return false;
    b = a;
    if (*s == '-' && (!parse_stage_number(s + 1, max, &b, &s) || b < a))
        return false;
    for (unsigned i = a; i <= b; i++)
        *mask |= 1u << i;
    *end = s;
    return true;
}

enum es_err topic_parse_stage_list(const char *spec, unsigned max, uint32_t *mask)
{
    if (!spec || !mask || max < 2 || max > STATE_MAX_STAGES)
        return ES_EINVAL;
    uint32_t m = 0;
    if (strcmp(spec, "all") == 0) {
        for (unsigned i = 1; i < max; i++)
            m |= 1u << i;
        *mask = m;
        return ES_OK;
    }
    const char *p = spec;
    for (;;) {
        if (!parse_item(p, max, &m, &p))
            return ES_EINVAL;
        if (*p == '\0')
            break;
        if (*p != ',')
            return ES_EINVAL;
        p++;
    }
    *mask = m;
    return ES_OK;
}

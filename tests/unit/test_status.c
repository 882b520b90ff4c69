/* Status messages (dump, strict parse, session ids) and topic helpers for them. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "status.h"
#include "topic.h"

static struct status_info worker(void)
{
    struct status_info s = {.online = true, .since_us = 1795000000123456, .has_stages = true};
    strcpy(s.client, "w-1");
    strcpy(s.role, "worker");
    strcpy(s.session, "5f0c2a9e81d4b7a3");
    s.stages = (1u << 1) | (1u << 3) | (1u << 6);
    return s;
}

static void check_dump(void)
{
    struct status_info s = worker();
    char *text = status_dump(&s);
    CHECK(text && strcmp(text, "{\"state\":\"online\",\"client\":\"w-1\",\"role\":\"worker\","
                               "\"session\":\"5f0c2a9e81d4b7a3\",\"since_us\":1795000000123456,"
                               "\"stages\":[1,3,6]}") == 0);
    free(text);
    s.online = false; /* the will: no stages */
    text = status_dump(&s);
    CHECK(text && strstr(text, "\"state\":\"offline\"") && !strstr(text, "stages"));
    free(text);
    s = worker();
    s.stages = 0; /* left the share group: serves nothing */
    text = status_dump(&s);
    CHECK(text && strstr(text, "\"stages\":[]}"));
    free(text);
    struct status_info bad = worker();
    strcpy(bad.client, "a/b");
    CHECK(status_dump(&bad) == NULL);
    bad = worker();
    strcpy(bad.role, "Worker");
    CHECK(status_dump(&bad) == NULL);
    bad = worker();
    strcpy(bad.session, "xyz");
    CHECK(status_dump(&bad) == NULL);
    bad = worker();
    bad.stages |= 1u; /* stage 0 never leaves the device */
    CHECK(status_dump(&bad) == NULL);
    CHECK(status_dump(NULL) == NULL);
}

static void check_parse(void)
{
    struct status_info s = worker(), back;
    char *text = status_dump(&s);
    CHECK_EQ_INT(status_parse(text, strlen(text), &back), ES_OK);
    CHECK(back.online && back.has_stages && back.stages == s.stages);
    CHECK(strcmp(back.client, "w-1") == 0 && strcmp(back.session, s.session) == 0);
    CHECK_EQ_INT(back.since_us, s.since_us);
    free(text);
    const char *edge = "{\"state\":\"offline\",\"client\":\"cam-01\",\"role\":\"edge\","
                       "\"session\":\"ab\",\"since_us\":5,\"extra\":1}";
    CHECK_EQ_INT(status_parse(edge, strlen(edge), &back), ES_OK);
    CHECK(!back.online && !back.has_stages && back.stages == 0);
    const char *rejects[] = {
        "not json",
        "[]",
        "{\"state\":\"up\",\"client\":\"c\",\"role\":\"edge\",\"session\":\"a\",\"since_us\":1}",
        "{\"state\":\"online\",\"client\":\"c/"
        "d\",\"role\":\"edge\",\"session\":\"a\",\"since_us\":1}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"edge\",\"session\":\"a\"}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"edge\",\"session\":\"a\",\"since_us\":-"
        "1}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"edge\",\"session\":\"G\",\"since_us\":"
        "1}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\",\"since_us\":"
        "1,"
        "\"stages\":[0]}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\",\"since_us\":"
        "1,"
        "\"stages\":[2,2]}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\",\"since_us\":"
        "1,"
        "\"stages\":[16]}",
        "{\"state\":\"online\",\"state\":\"online\",\"client\":\"c\",\"role\":\"edge\","
        "\"session\":\"a\",\"since_us\":1}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\","
        "\"since_us\":1,\"every_ms\":0}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\","
        "\"since_us\":1,\"every_ms\":60001}",
        "{\"state\":\"online\",\"client\":\"c\",\"role\":\"worker\",\"session\":\"a\","
        "\"since_us\":1,\"every_ms\":\"1000\"}",
    };
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++)
        CHECK_EQ_INT(status_parse(rejects[i], strlen(rejects[i]), &back), ES_EFORMAT);
    char big[STATUS_MAX_BYTES + 2];
    memset(big, ' ', sizeof big);
    CHECK_EQ_INT(status_parse(big, sizeof big, &back), ES_ELIMIT);
    CHECK_EQ_INT(status_parse(NULL, 0, &back), ES_EINVAL);
}

/* A repeated status (AMQP workers) says how often it comes; a retained one says nothing. */
static void check_every(void)
{
    struct status_info s = {
        .online = true, .since_us = 7, .has_stages = true, .stages = 1u << 3, .every_ms = 1000};
    strcpy(s.client, "w-amqp");
    strcpy(s.role, "worker");
    strcpy(s.session, "0a");
    char *text = status_dump(&s);
    CHECK(text && strstr(text, ",\"every_ms\":1000}") != NULL);
    struct status_info back;
    CHECK_EQ_INT(status_parse(text, strlen(text), &back), ES_OK);
    CHECK_EQ_INT(back.every_ms, 1000);
    free(text);
    s.online = false; /* an offline status is final: no period */
    text = status_dump(&s);
    CHECK(text && strstr(text, "every_ms") == NULL);
    free(text);
    s.online = true;
    s.every_ms = STATUS_EVERY_MAX_MS + 1;
    CHECK(status_dump(&s) == NULL);
    s.every_ms = 0;
    text = status_dump(&s);
    CHECK(text && strstr(text, "every_ms") == NULL);
    CHECK_EQ_INT(status_parse(text, strlen(text), &back), ES_OK);
    CHECK_EQ_INT(back.every_ms, 0);
    free(text);
}

static void check_session(void)
{
    char a[STATUS_SESSION_MAX + 1], b[STATUS_SESSION_MAX + 1];
    status_new_session(a, sizeof a);
    status_new_session(b, sizeof b);
    CHECK_EQ_INT(strlen(a), 16);
    CHECK(strspn(a, "0123456789abcdef") == 16);
    CHECK(strcmp(a, b) != 0);
}

static void check_topics(void)
{
    CHECK(strcmp(topic_status_all(), "pipeline/status/+") == 0);
    CHECK(topic_is_status("pipeline/status/w-1"));
    CHECK(!topic_is_status("pipeline/status/"));
    CHECK(!topic_is_status("pipeline/status/a/b"));
    CHECK(!topic_is_status("pipeline/results/w-1"));
    CHECK(!topic_is_status(NULL));
}

/* A worker's load: dumped rounded, parsed back, all three members or none. */
static void check_load(void)
{
    struct status_info s = worker(), back;
    s.has_load = true;
    s.capacity_cpu_s = 1.87649;
    s.used_cpu_s = 0.4;
    s.saturated = true;
    char *text = status_dump(&s);
    CHECK(text && strstr(text, "\"stages\":[1,3,6],\"capacity_cpu_s\":1.876,\"used_cpu_s\":0.4,"
                               "\"saturated\":true}"));
    CHECK(text && status_parse(text, strlen(text), &back) == ES_OK);
    CHECK(back.has_load && back.saturated);
    CHECK_EQ_DBL(back.capacity_cpu_s, 1.876);
    CHECK_EQ_DBL(back.used_cpu_s, 0.4);
    free(text);
    s.online = false; /* the will states no load */
    text = status_dump(&s);
    CHECK(text && !strstr(text, "capacity_cpu_s"));
    free(text);
    s = worker();
    CHECK((text = status_dump(&s)) != NULL);
    CHECK(text && status_parse(text, strlen(text), &back) == ES_OK && !back.has_load);
    free(text);
    s.has_load = true;
    s.capacity_cpu_s = -1;
    CHECK(status_dump(&s) == NULL);
    const char *partial = "{\"state\":\"online\",\"client\":\"w-1\",\"role\":\"worker\","
                          "\"session\":\"5f0c2a9e81d4b7a3\",\"since_us\":1,\"capacity_cpu_s\":1}";
    CHECK_EQ_INT(status_parse(partial, strlen(partial), &back), ES_EFORMAT);
    const char *negative = "{\"state\":\"online\",\"client\":\"w-1\",\"role\":\"worker\","
                           "\"session\":\"5f0c2a9e81d4b7a3\",\"since_us\":1,\"capacity_cpu_s\":1,"
                           "\"used_cpu_s\":-0.5,\"saturated\":false}";
    CHECK_EQ_INT(status_parse(negative, strlen(negative), &back), ES_EFORMAT);
}

/* The frames per batch a worker takes: dumped while online, parsed back, absent means 0. */
static void check_batch(void)
{
    struct status_info s = worker(), back;
    s.batch = 64;
    char *text = status_dump(&s);
    CHECK(text && strstr(text, "\"batch\":64"));
    CHECK(text && status_parse(text, strlen(text), &back) == ES_OK && back.batch == 64);
    free(text);
    s.online = false; /* the will: no batches to anyone */
    text = status_dump(&s);
    CHECK(text && !strstr(text, "batch"));
    CHECK(text && status_parse(text, strlen(text), &back) == ES_OK && back.batch == 0);
    free(text);
    s = worker();
    s.batch = STATUS_BATCH_MAX + 1;
    CHECK(status_dump(&s) == NULL);
    const char *head = "{\"state\":\"online\",\"client\":\"w-1\",\"role\":\"worker\","
                       "\"session\":\"5f0c2a9e81d4b7a3\",\"since_us\":1,\"batch\":";
    const char *bad[] = {"0}", "256}", "\"8\"}", "2.5}", "-1}"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s%s", head, bad[i]);
        CHECK_EQ_INT(status_parse(msg, strlen(msg), &back), ES_EFORMAT);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "%s255}", head);
    CHECK(status_parse(msg, strlen(msg), &back) == ES_OK && back.batch == 255);
}

int main(void)
{
    check_batch();
    check_dump();
    check_parse();
    check_session();
    check_every();
    check_topics();
    check_load();
    return check_exit();
}

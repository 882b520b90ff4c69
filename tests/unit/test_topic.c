/* Topic names: id validation, the builders, strict stage parsing and stage lists. */
#include <string.h>

#include "check.h"
#include "topic.h"

/* Checks a builder's return code and the topic it wrote. */
static void expect(enum es_err err, const char *got, const char *want)
{
    CHECK_EQ_INT(err, ES_OK);
    CHECK(strcmp(got, want) == 0);
}

static void check_ids(void)
{
    char id64[65], id65[66];
    memset(id64, 'a', 64);
    id64[64] = '\0';
    memset(id65, 'b', 65);
    id65[65] = '\0';

    CHECK(topic_valid_id("cam-01"));
    CHECK(topic_valid_id("w_1"));
    CHECK(topic_valid_id("A"));
    CHECK(topic_valid_id("-"));
    CHECK(topic_valid_id("Az09_-"));
    CHECK(topic_valid_id(id64));

    CHECK(!topic_valid_id(NULL));
    CHECK(!topic_valid_id(""));
    CHECK(!topic_valid_id(id65));
    CHECK(!topic_valid_id("cam+1"));
    CHECK(!topic_valid_id("+"));
    CHECK(!topic_valid_id("#"));
    CHECK(!topic_valid_id("cam/01"));
    CHECK(!topic_valid_id("cam 01"));
    CHECK(!topic_valid_id("cam."));
    CHECK(!topic_valid_id("$SYS"));
    CHECK(!topic_valid_id("caf\xc3\xa9")); /* UTF-8 e-acute */
    CHECK(!topic_valid_id("\xe2\x80\x8b"
                          "a")); /* zero-width space */
    CHECK(!topic_valid_id("a\n"));
}

static void check_builders(void)
{
    char t[TOPIC_MAX];
    expect(topic_stage(t, sizeof t, 3, "cam-01"), t, "pipeline/stage/3/cam-01");
    expect(topic_stage(t, sizeof t, 1, "d"), t, "pipeline/stage/1/d");
    expect(topic_stage(t, sizeof t, STATE_MAX_STAGES - 1, "cam_2"), t, "pipeline/stage/15/cam_2");
    expect(topic_stage_shared(t, sizeof t, "workers", 4), t, "$share/workers/pipeline/stage/4/+");
    expect(topic_stage_shared_all(t, sizeof t, "workers"), t, "$share/workers/pipeline/stage/+/+");
    expect(topic_results(t, sizeof t, "cam-01"), t, "pipeline/results/cam-01");
    expect(topic_stats(t, sizeof t, "cam-01"), t, "pipeline/stats/cam-01");
    expect(topic_status(t, sizeof t, "w-1"), t, "pipeline/status/w-1");
    expect(topic_frames(t, sizeof t, "cam_2"), t, "pipeline/frames/cam_2");

    /* The longest topics fit in TOPIC_MAX. */
    char id64[65], want[TOPIC_MAX];
    memset(id64, 'z', 64);
    id64[64] = '\0';
    snprintf(want, sizeof want, "$share/%s/pipeline/stage/15/+", id64);
    expect(topic_stage_shared(t, sizeof t, id64, 15), t, want);
    snprintf(want, sizeof want, "pipeline/stage/15/%s", id64);
    expect(topic_stage(t, sizeof t, 15, id64), t, want);
    snprintf(want, sizeof want, "pipeline/results/%s", id64);
    expect(topic_results(t, sizeof t, id64), t, want);

    CHECK_EQ_INT(topic_stage(t, sizeof t, 0, "d"), ES_EINVAL);
    CHECK_EQ_INT(topic_stage(t, sizeof t, STATE_MAX_STAGES, "d"), ES_EINVAL);
    CHECK_EQ_INT(topic_stage(NULL, 10, 1, "d"), ES_EINVAL);
    CHECK_EQ_INT(topic_stage(t, sizeof t, 1, "+"), ES_EINVAL);
    CHECK_EQ_INT(topic_stage(t, sizeof t, 1, NULL), ES_EINVAL);
    CHECK_EQ_INT(topic_stage_shared_all(t, sizeof t, "#"), ES_EINVAL);
    CHECK_EQ_INT(topic_stage_shared(t, sizeof t, "a/b", 1), ES_EINVAL);
    CHECK_EQ_INT(topic_stage_shared(t, sizeof t, "g", 0), ES_EINVAL);
    CHECK_EQ_INT(topic_results(t, sizeof t, "cam#"), ES_EINVAL);
    CHECK_EQ_INT(topic_stats(t, sizeof t, ""), ES_EINVAL);
    strcpy(t, "junk");
    CHECK_EQ_INT(topic_status(t, sizeof t, NULL), ES_EINVAL);
    CHECK(t[0] == '\0'); /* an error leaves an empty string */
    CHECK_EQ_INT(topic_frames(t, sizeof t, "+"), ES_EINVAL);

    /* Too small: ES_ELIMIT and an empty string; exactly enough: fits. */
    const char *s3 = "pipeline/stage/3/d";
    strcpy(t, "junk");
    CHECK_EQ_INT(topic_stage(t, strlen(s3), 3, "d"), ES_ELIMIT);
    CHECK(t[0] == '\0');
    CHECK_EQ_INT(topic_stage(t, strlen(s3) + 1, 3, "d"), ES_OK);
    CHECK(strcmp(t, s3) == 0);
    CHECK_EQ_INT(topic_stage(t, 0, 3, "d"), ES_ELIMIT);
    CHECK_EQ_INT(topic_results(t, 20, "cam-01"), ES_ELIMIT);
}

static void check_parse_stage(void)
{
    /* Round trips for every valid K. */
    for (unsigned k = 1; k < STATE_MAX_STAGES; k++) {
        char buf[TOPIC_MAX], device[TOPIC_ID_MAX + 1] = "";
        unsigned got = 0;
        CHECK_EQ_INT(topic_stage(buf, sizeof buf, k, "cam-01"), ES_OK);
        CHECK_EQ_INT(topic_parse_stage(buf, &got, device), ES_OK);
        CHECK_EQ_INT(got, k);
        CHECK(strcmp(device, "cam-01") == 0);
    }
    const char *bad[] = {"pipeline/stage/",
                         "pipeline/stage/07/d",
                         "pipeline/stage/0/d",
                         "pipeline/stage/00/d",
                         "pipeline/stage/+1/d",
                         "pipeline/stage/-1/d",
                         "pipeline/stage/ 1/d",
                         "pipeline/stage/1 /d",
                         "pipeline/stage/3",
                         "pipeline/stage/3/",
                         "pipeline/stage/3/x/y",
                         "pipeline/stage/3/+",
                         "pipeline/stage/3/#",
                         "pipeline/stage/3/d ",
                         "pipeline/stage/3x/d",
                         "pipeline/stage/16/d",
                         "pipeline/stage/4294967297/d",
                         "pipeline/stage/99999999999999999999999999/d",
                         "pipeline/stage/0x3/d",
                         "pipeline/stage",
                         "pipeline/stages/3/d",
                         "Pipeline/stage/3/d",
                         "/pipeline/stage/3/d",
                         "$share/g/pipeline/stage/3/d",
                         "pipeline/results/3/d",
                         ""};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned k = 77;
        char device[TOPIC_ID_MAX + 1] = "keep";
        CHECK_EQ_INT(topic_parse_stage(bad[i], &k, device), ES_EINVAL);
        CHECK_EQ_INT(k, 77);
        CHECK(strcmp(device, "keep") == 0);
    }
    char long_id[TOPIC_MAX];
    memset(long_id, 0, sizeof long_id);
    strcpy(long_id, "pipeline/stage/3/");
    memset(long_id + strlen(long_id), 'a', TOPIC_ID_MAX + 1); /* 65 characters: too long */
    unsigned k;
    char device[TOPIC_ID_MAX + 1];
    CHECK_EQ_INT(topic_parse_stage(long_id, &k, device), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage(NULL, &k, device), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage("pipeline/stage/1/d", NULL, device), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage("pipeline/stage/1/d", &k, NULL), ES_EINVAL);
}

static void check_stage_lists(void)
{
    uint32_t m = 0;
    CHECK_EQ_INT(topic_parse_stage_list("all", 7, &m), ES_OK);
    CHECK_EQ_INT(m, 0x7e); /* 1..6 */
    CHECK_EQ_INT(topic_parse_stage_list("all", STATE_MAX_STAGES, &m), ES_OK);
    CHECK_EQ_INT(m, 0xfffe);
    CHECK_EQ_INT(topic_parse_stage_list("3", 7, &m), ES_OK);
    CHECK_EQ_INT(m, 1u << 3);
    CHECK_EQ_INT(topic_parse_stage_list("1,2,5", 7, &m), ES_OK);
    CHECK_EQ_INT(m, (1u << 1) | (1u << 2) | (1u << 5));
    CHECK_EQ_INT(topic_parse_stage_list("2-4", 7, &m), ES_OK);
    CHECK_EQ_INT(m, (1u << 2) | (1u << 3) | (1u << 4));
    CHECK_EQ_INT(topic_parse_stage_list("1,3-5,6", 7, &m), ES_OK);
    CHECK_EQ_INT(m, 0x7a);
    CHECK_EQ_INT(topic_parse_stage_list("4-4", 7, &m), ES_OK);
    CHECK_EQ_INT(m, 1u << 4);
    CHECK_EQ_INT(topic_parse_stage_list("2,2", 7, &m), ES_OK);
    CHECK_EQ_INT(m, 1u << 2);
    CHECK_EQ_INT(topic_parse_stage_list("15", STATE_MAX_STAGES, &m), ES_OK);
    CHECK_EQ_INT(m, 1u << 15);

    const char *bad[] = {
        "",   "0",  "7",    "1,", ",1",  "1,,2",  "4-2",   "2-", "-2",  "2-7",
        "02", "+1", "1 ,2", " 1", "ALL", "all,1", "1-2-3", "x",  "1;2", "99999999999999999999"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = 0x1234;
        CHECK_EQ_INT(topic_parse_stage_list(bad[i], 7, &m), ES_EINVAL);
        CHECK_EQ_INT(m, 0x1234);
    }
    CHECK_EQ_INT(topic_parse_stage_list("all", 1, &m), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage_list("all", STATE_MAX_STAGES + 1, &m), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage_list(NULL, 7, &m), ES_EINVAL);
    CHECK_EQ_INT(topic_parse_stage_list("1", 7, NULL), ES_EINVAL);
}

static void check_routing_keys(void)
{
    char b[TOPIC_MAX], q[TOPIC_MAX];
    CHECK_EQ_INT(topic_routing_key(b, sizeof b, "pipeline/stage/3/cam-01", false), ES_OK);
    CHECK(strcmp(b, "pipeline.stage.3.cam-01") == 0);
    CHECK_EQ_INT(topic_routing_key(b, sizeof b, "pipeline.results.cam_1", true), ES_OK);
    CHECK(strcmp(b, "pipeline/results/cam_1") == 0);
    /* The other separator, wildcards and spaces cannot be mapped back and forth. */
    const char *bad[] = {"pipeline/stage.3", "a+b", "a#", "a b", ""};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(b, "x");
        CHECK_EQ_INT(topic_routing_key(b, sizeof b, bad[i], false), ES_EINVAL);
        CHECK(strcmp(b, "") == 0);
    }
    CHECK_EQ_INT(topic_routing_key(b, sizeof b, "pipeline/stage/3", true), ES_EINVAL);
    CHECK_EQ_INT(topic_routing_key(b, sizeof b, NULL, true), ES_EINVAL);
    CHECK_EQ_INT(topic_routing_key(NULL, 8, "a", true), ES_EINVAL);
    CHECK_EQ_INT(topic_routing_key(b, 4, "abcd", true), ES_ELIMIT);
    CHECK_EQ_INT(topic_routing_key(b, 5, "a/cd", false), ES_OK);
    CHECK(strcmp(b, "a.cd") == 0);

    CHECK_EQ_INT(topic_stage_queue(q, b, sizeof q, 3), ES_OK);
    CHECK(strcmp(q, "pipeline.stage.3") == 0);
    CHECK(strcmp(b, "pipeline.stage.3.*") == 0);
    CHECK_EQ_INT(topic_stage_queue(q, NULL, sizeof q, STATE_MAX_STAGES - 1), ES_OK);
    CHECK_EQ_INT(topic_stage_queue(q, b, sizeof q, 0), ES_EINVAL);
    CHECK_EQ_INT(topic_stage_queue(q, b, sizeof q, STATE_MAX_STAGES), ES_EINVAL);
    CHECK_EQ_INT(topic_stage_queue(q, b, 10, 3), ES_ELIMIT);
    CHECK_EQ_INT(topic_hello(b, sizeof b, "cam-01"), ES_OK);
    CHECK(strcmp(b, "pipeline/hello/cam-01") == 0);
    CHECK_EQ_INT(topic_hello(b, sizeof b, "cam/01"), ES_EINVAL);
    CHECK_EQ_INT(topic_probe(b, sizeof b, "cam-01"), ES_OK);
    CHECK(strcmp(b, "pipeline/probe/cam-01") == 0);
    CHECK_EQ_INT(topic_probe(b, sizeof b, "cam+01"), ES_EINVAL);
    CHECK_EQ_INT(topic_routing_key(q, sizeof q, "pipeline/hello/cam-01", false), ES_OK);
    CHECK(strncmp(q, topic_hello_binding(), strlen(topic_hello_binding()) - 1) == 0);
    /* A stage frame's routing key maps back to a topic the worker parses. */
    unsigned k = 0;
    char device[TOPIC_ID_MAX + 1];
    CHECK_EQ_INT(topic_routing_key(b, sizeof b, "pipeline.stage.12.dev-9", true), ES_OK);
    CHECK_EQ_INT(topic_parse_stage(b, &k, device), ES_OK);
    CHECK_EQ_INT(k, 12);
    CHECK(strcmp(device, "dev-9") == 0);
}

/* The planner's topics, and reading the id back out of a per-id topic. */
static void check_plan_topics(void)
{
    char buf[TOPIC_MAX], id[TOPIC_ID_MAX + 1] = "kept";
    expect(topic_plan(buf, sizeof buf, "cam-01"), buf, "pipeline/plan/cam-01");
    expect(topic_planner(buf, sizeof buf, "fleet"), buf, "pipeline/planner/fleet");
    CHECK_EQ_INT(topic_plan(buf, sizeof buf, "a+b"), ES_EINVAL);
    CHECK_EQ_INT(topic_planner(buf, 8, "fleet"), ES_ELIMIT);
    CHECK(strcmp(topic_stats_all(), "pipeline/stats/+") == 0);
    CHECK(topic_parse_id("pipeline/stats/cam-01", "stats", id) && strcmp(id, "cam-01") == 0);
    CHECK(topic_parse_id("pipeline/plan/d_2", "plan", id) && strcmp(id, "d_2") == 0);
    strcpy(id, "kept");
    CHECK(!topic_parse_id("pipeline/stats/cam-01", "status", id));
    CHECK(!topic_parse_id("pipeline/statsx/cam-01", "stats", id));
    CHECK(!topic_parse_id("pipeline/stats/", "stats", id));
    CHECK(!topic_parse_id("pipeline/stats/a/b", "stats", id));
    CHECK(!topic_parse_id("other/stats/a", "stats", id));
    CHECK(!topic_parse_id(NULL, "stats", id));
    CHECK(!topic_parse_id("pipeline/stats/a", NULL, id));
    CHECK(strcmp(id, "kept") == 0);
}

int main(void)
{
    check_plan_topics();
    check_routing_keys();
    check_ids();
    check_builders();
    check_parse_stage();
    check_stage_lists();
    return check_exit();
}

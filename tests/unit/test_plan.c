/* The planner's messages: a plan and a lease dumped, parsed back, and refused when malformed. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plan.h"

static struct plan sample(void)
{
    struct plan p = {.split = 3,
                     .predicted_fps = 14.236,
                     .cloud_cpu_s = 0.02149,
                     .goal_met = true,
                     .issued_us = 1795000000123456,
                     .ttl_ms = 6000};
    strcpy(p.device, "cam-01");
    strcpy(p.reason, "goal met, least cloud CPU");
    strcpy(p.planner, "planner-a");
    return p;
}

static void check_plan(void)
{
    struct plan p = sample(), back;
    char *text = plan_dump(&p);
    CHECK(text && strcmp(text, "{\"device\":\"cam-01\",\"split\":3,\"predicted_fps\":14.24,"
                               "\"cloud_cpu_s\":0.021,\"goal_met\":true,\"reason\":\"goal met, "
                               "least cloud CPU\",\"planner\":\"planner-a\",\"issued_us\":"
                               "1795000000123456,\"ttl_ms\":6000}") == 0);
    CHECK(text && plan_parse(text, strlen(text), &back) == ES_OK);
    CHECK(strcmp(back.device, "cam-01") == 0 && back.split == 3 && back.goal_met);
    CHECK_EQ_DBL(back.predicted_fps, 14.24);
    CHECK(strcmp(back.planner, "planner-a") == 0 && back.ttl_ms == 6000);
    CHECK_EQ_INT(back.issued_us, 1795000000123456);
    free(text);
    struct plan bad = sample();
    bad.split = 0;
    CHECK(plan_dump(&bad) == NULL);
    bad = sample();
    bad.ttl_ms = 0;
    CHECK(plan_dump(&bad) == NULL);
    bad = sample();
    strcpy(bad.device, "a/b");
    CHECK(plan_dump(&bad) == NULL);
    bad = sample();
    bad.cloud_cpu_s = -1;
    CHECK(plan_dump(&bad) == NULL);
    CHECK(plan_dump(NULL) == NULL);

    static const char *const rejects[] = {
        "",
        "[]",
        "{\"device\":\"d\",\"split\":3}",
        "{\"device\":\"d\",\"split\":0,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"split\":16,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":600001}",
        "{\"device\":\"d+\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"split\":2,\"predicted_fps\":-1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":1,"
        "\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,\"goal_met\":true,"
        "\"reason\":\"a\\nb\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
        "{\"device\":\"d\",\"device\":\"e\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,"
        "\"goal_met\":true,\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,\"ttl_ms\":10}",
    };
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        memset(&back, 0x5a, sizeof back);
        CHECK_EQ_INT(plan_parse(rejects[i], strlen(rejects[i]), &back), ES_EFORMAT);
        CHECK(back.split == 0x5a5a5a5a); /* untouched */
    }
    const char *ok = "{\"device\":\"d\",\"split\":2,\"predicted_fps\":1,\"cloud_cpu_s\":0,"
                     "\"goal_met\":false,\"reason\":\"\",\"planner\":\"p\",\"issued_us\":1,"
                     "\"ttl_ms\":10,\"extra\":[1]}";
    CHECK_EQ_INT(plan_parse(ok, strlen(ok), &back), ES_OK);
    CHECK(!back.goal_met && back.split == 2);
    char big[PLAN_MAX_BYTES + 2];
    memset(big, ' ', sizeof big);
    CHECK_EQ_INT(plan_parse(big, sizeof big, &back), ES_ELIMIT);
    CHECK_EQ_INT(plan_parse(NULL, 0, &back), ES_EINVAL);
}

static void check_lease(void)
{
    struct lease l = {.held = true, .renewed_us = 42, .ttl_ms = 6000}, back;
    strcpy(l.planner, "planner-a");
    strcpy(l.session, "5f0c2a9e81d4b7a3");
    char *text = lease_dump(&l);
    CHECK(text && strcmp(text, "{\"planner\":\"planner-a\",\"session\":\"5f0c2a9e81d4b7a3\","
                               "\"held\":true,\"renewed_us\":42,\"ttl_ms\":6000}") == 0);
    CHECK(text && lease_parse(text, strlen(text), &back) == ES_OK);
    CHECK(back.held && back.renewed_us == 42 && strcmp(back.session, l.session) == 0);
    free(text);
    strcpy(l.session, "5F0C2A9E81D4B7A3");
    CHECK(lease_dump(&l) == NULL);
    const char *short_session = "{\"planner\":\"p\",\"session\":\"abc\",\"held\":true,"
                                "\"renewed_us\":1,\"ttl_ms\":10}";
    CHECK_EQ_INT(lease_parse(short_session, strlen(short_session), &back), ES_EFORMAT);
    const char *no_ttl = "{\"planner\":\"p\",\"session\":\"5f0c2a9e81d4b7a3\",\"held\":false,"
                         "\"renewed_us\":1}";
    CHECK_EQ_INT(lease_parse(no_ttl, strlen(no_ttl), &back), ES_EFORMAT);
}

int main(void)
{
    check_plan();
    check_lease();
    return check_exit();
}

/* Result and stats JSON: exact dumps, strict parsing and its rejections. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "check.h"
#include "result.h"

#define CAPTURED 1795000000123456LL
#define COMPLETED 1795000000129876LL

static const uint32_t stage_times[] = {310, 2010, 280, 0, 0, 0, 0};

/* Checks that obj dumps exactly as want, then releases obj. */
static void expect_dump(json_t *obj, const char *want)
{
    CHECK(obj != NULL);
    char *got = result_dump(obj);
    CHECK(got && strcmp(got, want) == 0);
    if (got && strcmp(got, want) != 0)
        fprintf(stderr, "  got:  %s\n  want: %s\n", got, want);
    free(got);
    json_decref(obj);
}

static const char *const detected_json =
    "{\"device\":\"cam-01\",\"seq\":1042,\"split\":3,\"detected\":true,\"x\":231.5,"
    "\"y\":118.25,\"radius\":27.9,\"center\":[232,118],\"captured_us\":1795000000123456,"
    "\"completed_us\":1795000000129876,\"worker\":\"w-1\",\"cloud_cpu_us\":2750,"
    "\"stage_us\":[310,2010,280,0,0,0,0]}";

static void check_build(void)
{
    /* The application's fields, with the radius as OpenCV's float32 would give it. */
    json_t *app = json_pack("{s:b,s:f,s:f,s:f,s:[i,i]}", "detected", 1, "x", 231.5, "y", 118.25,
                            "radius", app_float(27.9f), "center", 232, 118);
    struct result_meta m = {.device = "cam-01",
                            .seq = 1042,
                            .split = 3,
                            .captured_us = CAPTURED,
                            .completed_us = COMPLETED,
                            .worker = "w-1",
                            .stage_us = stage_times,
                            .nstages = 7,
                            .cloud_cpu_us = 2750};
    json_t *r = result_build(app, &m);
    /* The same text straight into a buffer; one too small, and a meta result_build refuses. */
    char text[512];
    size_t len = 0;
    CHECK_EQ_INT(result_format(app, &m, text, sizeof text, &len), ES_OK);
    CHECK(len == strlen(detected_json) && strcmp(text, detected_json) == 0);
    CHECK_EQ_INT(result_format(app, &m, text, 64, &len), ES_ELIMIT);
    struct result_meta nodev = m;
    nodev.device = NULL;
    CHECK_EQ_INT(result_format(app, &nodev, text, sizeof text, &len), ES_ENOMEM);
    json_decref(app); /* the result keeps its own references */
    expect_dump(r, detected_json);

    /* Not detected, device-only: no worker, no position fields. */
    app = json_pack("{s:b}", "detected", 0);
    m = (struct result_meta){.device = "cam-01",
                             .seq = 7,
                             .captured_us = CAPTURED,
                             .completed_us = CAPTURED + 900,
                             .stage_us = stage_times,
                             .nstages = 3};
    expect_dump(result_build(app, &m),
                "{\"device\":\"cam-01\",\"seq\":7,\"split\":0,\"detected\":false,"
                "\"captured_us\":1795000000123456,\"completed_us\":1795000000124356,"
                "\"stage_us\":[310,2010,280]}");

    /* Application members may not override the framework's. */
    json_decref(app);
    app = json_pack("{s:i,s:f,s:s,s:i}", "seq", 99, "v", 7.6, "worker", "evil", "cloud_cpu_us", 1);
    m = (struct result_meta){.device = "d", .seq = 1, .worker = "w"};
    expect_dump(result_build(app, &m), "{\"device\":\"d\",\"seq\":1,\"split\":0,\"v\":7.6,"
                                       "\"captured_us\":0,\"completed_us\":0,\"worker\":\"w\","
                                       "\"cloud_cpu_us\":0,\"stage_us\":[]}");
    json_decref(app);
    expect_dump(result_build(NULL, &m), "{\"device\":\"d\",\"seq\":1,\"split\":0,"
                                        "\"captured_us\":0,\"completed_us\":0,\"worker\":\"w\","
                                        "\"cloud_cpu_us\":0,\"stage_us\":[]}");

    /* Invalid arguments. */
    json_t *arr = json_array();
    CHECK(result_build(arr, &m) == NULL);
    json_decref(arr);
    CHECK(result_build(NULL, NULL) == NULL);
    m.nstages = STATE_MAX_STAGES + 1;
    m.stage_us = stage_times;
    CHECK(result_build(NULL, &m) == NULL);
    m.nstages = 2;
    m.stage_us = NULL;
    CHECK(result_build(NULL, &m) == NULL);
    m = (struct result_meta){.device = NULL};
    CHECK(result_build(NULL, &m) == NULL);
    m = (struct result_meta){.device = "d", .seq = (uint64_t)INT64_MAX + 1};
    CHECK(result_build(NULL, &m) == NULL);
}

static void check_numbers(void)
{
    /* Doubles print short, integers exactly; float32 values print short through app_float. */
    expect_dump(
        json_pack("[f,f,f,f,I]", 7.6, 0.1 + 0.2, 17.0, 1e-7, (json_int_t)1795000000123456LL),
        "[7.6,0.3,17.0,1e-7,1795000000123456]");
    expect_dump(json_pack("[f,f,f,f]", (double)27.9f, app_float(27.9f), app_float(0.1f),
                          app_float(118.25f)),
                "[27.8999996185303,27.9,0.1,118.25]");
    CHECK_EQ_DBL(app_float(5.0001f), 5.0001);
    CHECK((float)app_float(3.14159274f) == 3.14159274f);
    CHECK(result_dump(NULL) == NULL);
}

static void check_parse_ok(void)
{
    struct result_info r;
    CHECK_EQ_INT(result_parse(detected_json, strlen(detected_json), &r), ES_OK);
    CHECK(strcmp(r.device, "cam-01") == 0);
    CHECK_EQ_INT(r.seq, 1042);
    CHECK_EQ_INT(r.split, 3);
    CHECK_EQ_INT(r.captured_us, CAPTURED);
    CHECK_EQ_INT(r.completed_us, COMPLETED);
    CHECK_EQ_INT(r.nstages, 7);
    for (unsigned i = 0; i < 7; i++)
        CHECK_EQ_INT(r.stage_us[i], stage_times[i]);

    /* Round trip through result_build, with the largest values the parser takes. */
    uint32_t big[STATE_MAX_STAGES];
    for (unsigned i = 0; i < STATE_MAX_STAGES; i++)
        big[i] = UINT32_MAX - i;
    char dev[STATE_DEVICE_MAX + 1];
    memset(dev, 'q', STATE_DEVICE_MAX);
    dev[STATE_DEVICE_MAX] = '\0';
    struct result_meta m = {.device = dev,
                            .seq = INT64_MAX,
                            .split = STATE_MAX_STAGES - 1,
                            .captured_us = 1,
                            .completed_us = INT64_MAX,
                            .stage_us = big,
                            .nstages = STATE_MAX_STAGES};
    json_t *obj = result_build(NULL, &m);
    char *s = result_dump(obj);
    json_decref(obj);
    CHECK(s != NULL);
    CHECK_EQ_INT(s ? result_parse(s, strlen(s), &r) : ES_EINVAL, ES_OK);
    free(s);
    CHECK(strcmp(r.device, dev) == 0);
    CHECK(r.seq == (uint64_t)INT64_MAX);
    CHECK_EQ_INT(r.split, STATE_MAX_STAGES - 1);
    CHECK_EQ_INT(r.nstages, STATE_MAX_STAGES);
    CHECK_EQ_INT(r.stage_us[STATE_MAX_STAGES - 1], UINT32_MAX - (STATE_MAX_STAGES - 1));

    /* Only len bytes are read; whitespace and unknown members are fine. */
    const char *msg = " {\"seq\":0,\"device\":\"a\",\"split\":0,\"captured_us\":5,"
                      "\"completed_us\":6,\"stage_us\":[],\"extra\":{\"k\":[1]}} trailing";
    CHECK_EQ_INT(result_parse(msg, strlen(msg) - strlen(" trailing"), &r), ES_OK);
    CHECK_EQ_INT(r.nstages, 0);
    CHECK_EQ_INT(r.captured_us, 5);
    CHECK_EQ_INT(result_parse(msg, strlen(msg), &r), ES_EFORMAT);
}

#define HEAD "{\"device\":\"cam-01\",\"split\":1,\"captured_us\":1,\"completed_us\":2,"
#define GOOD_TAIL ",\"stage_us\":[1,2]}"

static void check_parse_rejects(void)
{
    struct {
        const char *msg;
        enum es_err want;
    } bad[] = {
        {"", ES_EFORMAT},
        {"not json", ES_EFORMAT},
        {"{\"device\":", ES_EFORMAT},
        {"[1,2]", ES_EFORMAT},
        {"42", ES_EFORMAT},
        {HEAD "\"seq\":-1" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":\"5\"" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":5.0" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":null" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":99999999999999999999999" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":1,\"seq\":2" GOOD_TAIL, ES_EFORMAT},
        {HEAD "\"seq\":1,\"stage_us\":\"x\"}", ES_EFORMAT},
        {HEAD "\"seq\":1,\"stage_us\":[1,-2]}", ES_EFORMAT},
        {HEAD "\"seq\":1,\"stage_us\":[1,4294967296]}", ES_EFORMAT},
        {HEAD "\"seq\":1,\"stage_us\":[1.5]}", ES_EFORMAT},
        {HEAD "\"seq\":1}", ES_EFORMAT},
        {HEAD "\"seq\":1,\"stage_us\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}", ES_ELIMIT},
        {HEAD "\"seq\":1,\"worker\":7" GOOD_TAIL, ES_EFORMAT},
        {"{\"seq\":1,\"split\":1,\"captured_us\":1,\"completed_us\":2" GOOD_TAIL, ES_EFORMAT},
        {"{\"device\":\"a/b\",\"seq\":1,\"split\":1,\"captured_us\":1,\"completed_us\":2" GOOD_TAIL,
         ES_EFORMAT},
        {"{\"device\":7,\"seq\":1,\"split\":1,\"captured_us\":1,\"completed_us\":2" GOOD_TAIL,
         ES_EFORMAT},
        {"{\"device\":\"d\",\"seq\":1,\"split\":16,\"captured_us\":1,\"completed_us\":2" GOOD_TAIL,
         ES_EFORMAT},
        {"{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":-1,\"completed_us\":2" GOOD_TAIL,
         ES_EFORMAT},
        {"{\"device\":\"d\",\"seq\":1,\"split\":1,\"completed_us\":2" GOOD_TAIL, ES_EFORMAT},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct result_info r = {.seq = 4242};
        enum es_err err = result_parse(bad[i].msg, strlen(bad[i].msg), &r);
        CHECK_EQ_INT(err, bad[i].want);
        if (err != bad[i].want)
            fprintf(stderr, "  message %u: %s\n", i, bad[i].msg);
        CHECK_EQ_INT(r.seq, 4242); /* untouched on failure */
    }
    /* The same head with a good seq parses, so the rejections above are about what changed. */
    const char *good = HEAD "\"seq\":1" GOOD_TAIL;
    struct result_info r;
    CHECK_EQ_INT(result_parse(good, strlen(good), &r), ES_OK);

    /* A 65-character device id. */
    char msg[256], dev[66];
    memset(dev, 'd', 65);
    dev[65] = '\0';
    snprintf(msg, sizeof msg,
             "{\"device\":\"%s\",\"seq\":1,\"split\":1,\"captured_us\":1,\"completed_us\":2"
             ",\"stage_us\":[]}",
             dev);
    CHECK_EQ_INT(result_parse(msg, strlen(msg), &r), ES_EFORMAT);

    char *huge = malloc(RESULT_MAX_BYTES + 1);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, ' ', RESULT_MAX_BYTES + 1);
        CHECK_EQ_INT(result_parse(huge, RESULT_MAX_BYTES + 1, &r), ES_ELIMIT);
        free(huge);
    }
    CHECK_EQ_INT(result_parse(NULL, 0, &r), ES_EINVAL);
    CHECK_EQ_INT(result_parse(good, strlen(good), NULL), ES_EINVAL);
}

static void check_stats(void)
{
    const double stage_us[] = {310, 2010, 280, 60, 30, 40, 0};
    struct stats s = {.device = "cam-01",
                      .auto_mode = false,
                      .goal = 17.0,
                      .split = 4,
                      .fps = 17.8,
                      .delivered_fps = 17.6,
                      .window_s = 3.0,
                      .latency_p50_ms = 21.0,
                      .latency_p99_ms = 48.5,
                      .bytes_per_frame = 1843,
                      .stage_us = stage_us,
                      .nstages = 7,
                      .lost = 0,
                      .goal_unreachable = false,
                      .reason = "goal missed 12.1<17"};
    expect_dump(stats_build(&s),
                "{\"device\":\"cam-01\",\"mode\":\"manual\",\"split\":4,\"goal\":null,"
                "\"fps\":17.8,\"delivered_fps\":17.6,\"window_s\":3.0,"
                "\"latency_ms\":{\"p50\":21.0,\"p99\":48.5},\"bytes_per_frame\":1843,"
                "\"stage_us\":[310,2010,280,60,30,40,0],\"lost\":0,\"goal_unreachable\":false,"
                "\"reason\":\"goal missed 12.1<17\"}");

    /* Auto mode: goal is a number; measured values are rounded; NaN becomes null. */
    const double measured[] = {310.4, 2009.6, 0.5};
    const double predicted[] = {9.123, 12.5, INFINITY};
    s = (struct stats){.device = "cam-01",
                       .auto_mode = true,
                       .goal = 17,
                       .split = 2,
                       .fps = 53.0 / 3.0,
                       .delivered_fps = 12.346,
                       .window_s = 3.0004,
                       .latency_p50_ms = 20.0004,
                       .latency_p99_ms = NAN,
                       .bytes_per_frame = 1842.5,
                       .stage_us = measured,
                       .nstages = 3,
                       .lost = 12345678901234ULL,
                       .goal_unreachable = true,
                       .predicted_fps = predicted};
    expect_dump(stats_build(&s),
                "{\"device\":\"cam-01\",\"mode\":\"auto\",\"split\":2,\"goal\":17.0,"
                "\"fps\":17.67,\"delivered_fps\":12.35,\"window_s\":3.0,"
                "\"latency_ms\":{\"p50\":20.0,\"p99\":null},\"bytes_per_frame\":1843,"
                "\"stage_us\":[310,2010,1],\"lost\":12345678901234,\"goal_unreachable\":true,"
                "\"reason\":null,\"predicted_fps\":[9.12,12.5,null]}");

    s.stage_us = NULL;
    CHECK(stats_build(&s) == NULL);
    s.stage_us = measured;
    s.device = NULL;
    CHECK(stats_build(&s) == NULL);
    CHECK(stats_build(NULL) == NULL);
}

/* A result computed by the edge itself says so, and the flag parses back. */
static void check_fallback(void)
{
    const uint32_t st[] = {1, 2, 3};
    struct result_meta m = {.device = "cam-01",
                            .seq = 7,
                            .split = 2,
                            .captured_us = 10,
                            .completed_us = 20,
                            .stage_us = st,
                            .nstages = 3,
                            .fallback = true};
    json_t *obj = result_build(NULL, &m);
    char *text = result_dump(obj);
    CHECK(text && strcmp(text, "{\"device\":\"cam-01\",\"seq\":7,\"split\":2,\"captured_us\":10,"
                               "\"completed_us\":20,\"stage_us\":[1,2,3],\"fallback\":true}") == 0);
    struct result_info info;
    CHECK_EQ_INT(result_parse(text, strlen(text), &info), ES_OK);
    CHECK(info.fallback);
    CHECK_EQ_INT(info.cloud_cpu_us, -1); /* the edge's own: no cloud CPU */
    free(text);
    json_decref(obj);
    const char *worker = "{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":1,"
                         "\"completed_us\":2,\"stage_us\":[],\"worker\":\"w\"}";
    CHECK_EQ_INT(result_parse(worker, strlen(worker), &info), ES_OK);
    CHECK(!info.fallback);
    const char *billed =
        "{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":1,"
        "\"completed_us\":2,\"stage_us\":[],\"worker\":\"w\",\"cloud_cpu_us\":812}";
    CHECK_EQ_INT(result_parse(billed, strlen(billed), &info), ES_OK);
    CHECK_EQ_INT(info.cloud_cpu_us, 812);
    const char *negative = "{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":1,"
                           "\"completed_us\":2,\"stage_us\":[],\"cloud_cpu_us\":-5}";
    CHECK_EQ_INT(result_parse(negative, strlen(negative), &info), ES_EFORMAT);
    const char *real = "{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":1,"
                       "\"completed_us\":2,\"stage_us\":[],\"cloud_cpu_us\":5.5}";
    CHECK_EQ_INT(result_parse(real, strlen(real), &info), ES_EFORMAT);
    const char *bad = "{\"device\":\"d\",\"seq\":1,\"split\":1,\"captured_us\":1,"
                      "\"completed_us\":2,\"stage_us\":[],\"fallback\":1}";
    CHECK_EQ_INT(result_parse(bad, strlen(bad), &info), ES_EFORMAT);
}

/* The outcome counts of a window, after the members that were always there. */
static void check_counts(void)
{
    const double stage_us[] = {1, 2};
    struct stats_counts c = {.captured = 300,
                             .results = 290,
                             .fallback = 10,
                             .retried = 4,
                             .duplicates = 2,
                             .buffered = 3,
                             .dropped_full = 1,
                             .dropped_io = 0,
                             .dropped_error = 0,
                             .skipped = 5};
    struct stats s = {.device = "d",
                      .split = 1,
                      .fps = 100,
                      .delivered_fps = 100,
                      .window_s = 3,
                      .stage_us = stage_us,
                      .nstages = 2,
                      .lost = 1,
                      .counts = &c};
    expect_dump(stats_build(&s),
                "{\"device\":\"d\",\"mode\":\"manual\",\"split\":1,\"goal\":null,\"fps\":100.0,"
                "\"delivered_fps\":100.0,\"window_s\":3.0,\"latency_ms\":{\"p50\":0.0,"
                "\"p99\":0.0},\"bytes_per_frame\":0,\"stage_us\":[1,2],\"lost\":1,"
                "\"goal_unreachable\":false,\"reason\":null,\"captured\":300,\"results\":290,"
                "\"fallback\":10,\"retried\":4,\"duplicates\":2,\"buffered\":3,\"dropped\":"
                "{\"buffer_full\":1,\"io\":0,\"error\":0},\"skipped\":5}");
}

/* What a window cost: the members after the counts. */
static void check_costs(void)
{
    const double stage_us[] = {1, 2};
    struct stats_costs c = {.app = "ball",
                            .rate = 15,
                            .device_cpu_ms_per_s = 412.3456,
                            .cloud_cpu_ms_per_s = 88.0004,
                            .cloud_cpu_us_per_result = 5866.6,
                            .bytes_sent = 1234567,
                            .cloud_saturated = true};
    struct stats s = {.device = "d", .split = 1, .stage_us = stage_us, .nstages = 2, .costs = &c};
    expect_dump(
        stats_build(&s),
        "{\"device\":\"d\",\"mode\":\"manual\",\"split\":1,\"goal\":null,\"fps\":0.0,"
        "\"delivered_fps\":0.0,\"window_s\":0.0,\"latency_ms\":{\"p50\":0.0,"
        "\"p99\":0.0},\"bytes_per_frame\":0,\"stage_us\":[1,2],\"lost\":0,"
        "\"goal_unreachable\":false,\"reason\":null,\"app\":\"ball\",\"rate\":15.0,"
        "\"device_cpu_ms_per_s\":412.346,\"cloud_cpu_ms_per_s\":88.0,"
        "\"cloud_cpu_us_per_result\":5867,\"bytes_sent\":1234567,\"cloud_saturated\":true}");
    c.rate = 0; /* no camera rate: null */
    json_t *obj = stats_build(&s);
    CHECK(obj && json_is_null(json_object_get(obj, "rate")));
    json_decref(obj);
}

int main(void)
{
    check_build();
    check_numbers();
    check_parse_ok();
    check_parse_rejects();
    check_stats();
    check_fallback();
    check_counts();
    check_costs();
    return check_exit();
}

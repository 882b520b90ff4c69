/* The fleet planner's reading of stats windows, load reports and statuses. */
#include <string.h>

#include "check.h"
#include "fleet_msg.h"

static enum es_err stats(const char *topic, const char *text, struct fleet_msg *m)
{
    return fleet_parse_stats(topic, text, strlen(text), m);
}

static void check_device(void)
{
    struct fleet_msg m;
    const char *w =
        "{\"device\":\"cam-1\",\"mode\":\"auto\",\"split\":3,\"goal\":15.0,\"fps\":14.2,"
        "\"delivered_fps\":14.0,\"window_s\":2.0,\"latency_ms\":{\"p50\":1,\"p99\":2},"
        "\"bytes_per_frame\":9000,\"stage_us\":[1000,2000,300,null,0,0,0],\"lost\":0,"
        "\"goal_unreachable\":false,\"reason\":null,\"predicted_fps\":[0,30,25,14,"
        "12,11,10],\"results\":28,\"app\":\"ball\",\"rate\":null,"
        "\"cloud_cpu_us_per_result\":812}";
    CHECK_EQ_INT(stats("pipeline/stats/cam-1", w, &m), ES_OK);
    CHECK(m.kind == FLEET_DEVICE && strcmp(m.device.device, "cam-1") == 0);
    CHECK(strcmp(m.device.app, "ball") == 0 && m.device.auto_mode);
    CHECK(m.device.split == 3 && m.device.nstages == 7);
    CHECK_EQ_DBL(m.device.goal, 15);
    CHECK_EQ_DBL(m.device.stage_us[1], 2000);
    CHECK_EQ_DBL(m.device.stage_us[3], 0);
    CHECK_EQ_DBL(m.device.predicted_fps[1], 30);
    CHECK_EQ_DBL(m.device.results_per_s, 14);
    CHECK_EQ_DBL(m.device.cloud_us_per_result, 812);
    CHECK_EQ_DBL(m.device.rate, 0);
    CHECK_EQ_DBL(m.device.bytes_per_frame, 9000);
    /* an older agent: no app, no costs */
    const char *old = "{\"device\":\"cam-1\",\"mode\":\"manual\",\"split\":2,\"goal\":null,"
                      "\"fps\":10,\"window_s\":3,\"stage_us\":[1,2,3]}";
    CHECK_EQ_INT(stats("pipeline/stats/cam-1", old, &m), ES_OK);
    CHECK(!m.device.auto_mode && strcmp(m.device.app, "unknown") == 0);
    CHECK_EQ_DBL(m.device.cloud_us_per_result, 0);
    /* refused: another device's window, no stage times, a negative fps, a bad mode */
    CHECK_EQ_INT(stats("pipeline/stats/cam-2", w, &m), ES_EFORMAT);
    CHECK_EQ_INT(stats("pipeline/stats/cam-1",
                       "{\"device\":\"cam-1\",\"mode\":\"auto\","
                       "\"split\":1}",
                       &m),
                 ES_EFORMAT);
    CHECK_EQ_INT(stats("pipeline/stats/cam-1",
                       "{\"device\":\"cam-1\",\"mode\":\"auto\","
                       "\"split\":1,\"fps\":-1,\"stage_us\":[1,2]}",
                       &m),
                 ES_EFORMAT);
    CHECK_EQ_INT(stats("pipeline/stats/cam-1",
                       "{\"device\":\"cam-1\",\"mode\":\"fast\","
                       "\"split\":1,\"stage_us\":[1,2]}",
                       &m),
                 ES_EFORMAT);
    CHECK_EQ_INT(stats("pipeline/results/cam-1", old, &m), ES_EFORMAT);
    CHECK_EQ_INT(stats("pipeline/stats/cam-1", "not json", &m), ES_EFORMAT);
    CHECK_EQ_INT(fleet_parse_stats(NULL, "", 0, &m), ES_EINVAL);
}

static void check_worker(void)
{
    struct fleet_msg m;
    const char *load = "{\"role\":\"worker\",\"worker\":\"w1\",\"window_s\":2.0,\"busy\":0.5,"
                       "\"capacity_cpu_s\":0.9,\"used_cpu_s\":0.45,\"saturated\":false}";
    CHECK_EQ_INT(stats("pipeline/stats/w1", load, &m), ES_OK);
    CHECK(m.kind == FLEET_WORKER && m.worker.online && strcmp(m.worker.worker, "w1") == 0);
    CHECK_EQ_DBL(m.worker.capacity_cpu_s, 0.9);
    CHECK_EQ_DBL(m.worker.used_cpu_s, 0.45);
    CHECK_EQ_INT(stats("pipeline/stats/w2", load, &m), ES_EFORMAT);
    const char *other = "{\"role\":\"planner\",\"planner\":\"p1\"}";
    CHECK_EQ_INT(stats("pipeline/stats/p1", other, &m), ES_OK);
    CHECK(m.kind == FLEET_OTHER);

    const char *online = "{\"state\":\"online\",\"client\":\"w1\",\"role\":\"worker\","
                         "\"session\":\"5f0c2a9e81d4b7a3\",\"since_us\":1,\"stages\":[1,2],"
                         "\"capacity_cpu_s\":2.0,\"used_cpu_s\":1.5,\"saturated\":false}";
    CHECK_EQ_INT(fleet_parse_status("pipeline/status/w1", online, strlen(online), &m), ES_OK);
    CHECK(m.kind == FLEET_WORKER && m.online && m.worker.online);
    CHECK_EQ_DBL(m.worker.capacity_cpu_s, 2);
    const char *gone = "{\"state\":\"offline\",\"client\":\"pa\",\"role\":\"planner\","
                       "\"session\":\"aaaaaaaaaaaaaaaa\",\"since_us\":1}";
    CHECK_EQ_INT(fleet_parse_status("pipeline/status/pa", gone, strlen(gone), &m), ES_OK);
    CHECK(m.kind == FLEET_OTHER && !m.online && strcmp(m.session, "aaaaaaaaaaaaaaaa") == 0);
    CHECK_EQ_INT(fleet_parse_status("pipeline/status/pb", gone, strlen(gone), &m), ES_EFORMAT);
}

int main(void)
{
    check_device();
    check_worker();
    return check_exit();
}

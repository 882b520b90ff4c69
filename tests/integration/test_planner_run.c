/* Integration: fleet-planner with real processes. Two planners of one group against one broker
 * and worker: exactly one leads; an agent in automatic mode follows the leader's plan; the
 * leader is killed (its will) and the standby takes over, and the agent follows the new
 * leader's plan; with no planner left the agent goes back to its own policy. No frame is lost. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

static pid_t spawn_planner(const struct broker *b, const char *id)
{
    char port[16], err[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(err, sizeof err, "%s/%s.log", b->dir, id);
    const char *argv[] = {
        "fleet-planner", "--host", "127.0.0.1", "--port", port,          "--planner-id", id,
        "--window",      "1",      "--group",   "test",   "--log-level", "debug",        NULL};
    return harness_spawn(argv, NULL, err);
}

/* The agent's stderr lines with "plan N of ID" since the start. */
static int plan_lines(const char *log, const char *planner)
{
    char needle[80];
    snprintf(needle, sizeof needle, "EDGE-PLAN following the plan of %s:", planner);
    int total = 0;
    return harness_count_lines(log, needle, &total);
}

static bool leads(const char *log)
{
    return harness_wait_for_text(log, "PLANNER-LEAD leading", 1);
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "planner_run") != ES_OK)
        return 1;
    char pa_log[400], pb_log[400], agent_log[400], port[16];
    snprintf(pa_log, sizeof pa_log, "%s/pa.log", b.dir);
    snprintf(pb_log, sizeof pb_log, "%s/pb.log", b.dir);
    snprintf(agent_log, sizeof agent_log, "%s/cam.log", b.dir);
    snprintf(port, sizeof port, "%d", b.port);
    pid_t worker = harness_worker(&b, "w-1", "1");
    pid_t pa = spawn_planner(&b, "pa");
    CHECK(harness_wait_for_text(pa_log, "PLANNER-LEAD leading", 10000));
    pid_t pb = spawn_planner(&b, "pb");
    CHECK(harness_wait_for_text(pb_log, "PLANNER-READY", 10000));
    const char *argv[] = {
        "edge-agent", "1",         "12",  "--slowdown",  "6",         "--slowdown-mode",
        "sleep",      "--window",  "1",   "--host",      "127.0.0.1", "--port",
        port,         "--frames",  "450", "--device-id", "cam",       "--rate",
        "15",         "--threads", "1",   NULL};
    pid_t agent = harness_spawn(argv, NULL, agent_log);
    CHECK(worker > 0 && pa > 0 && pb > 0 && agent > 0);
    /* the agent follows pa's plan; pb stays a standby */
    CHECK(harness_wait_for_text(agent_log, "EDGE-PLAN following the plan of pa:", 20000));
    CHECK(!leads(pb_log));
    /* pa dies without a word: its will tells pb, which leads and plans */
    kill(pa, SIGKILL);
    waitpid(pa, NULL, 0);
    CHECK(harness_wait_for_text(pb_log, "PLANNER-LEAD leading", 10000));
    int64_t t0 = clock_mono_us();
    bool followed = false;
    while (!followed && clock_mono_us() - t0 < 15000000) {
        clock_sleep_us(200000);
        followed = plan_lines(agent_log, "pb") > 0;
    }
    CHECK(followed);
    printf("takeover: pb led %.1f s after pa was killed\n", (double)(clock_mono_us() - t0) / 1e6);
    /* the last planner stops: it clears its plan, the agent is on its own again */
    CHECK_EQ_INT(harness_stop(pb, 10000), 0);
    CHECK(harness_wait_for_text(agent_log, "EDGE-PLAN-OWN no fresh plan", 10000));
    CHECK_EQ_INT(harness_wait(agent, 120000), 0);
    int total = 0;
    CHECK(harness_count_lines(agent_log, "lost=0", &total) == 1);
    CHECK(harness_wait_for_text(agent_log, "cloud_cpu_us=", 1));
    if (worker > 0)
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    if (check_failed) {
        harness_dump(pa_log);
        harness_dump(pb_log);
        harness_dump(agent_log);
    }
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

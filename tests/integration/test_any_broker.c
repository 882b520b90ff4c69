/* Integration: the programs on any MQTT broker.
 *   - MQTT 3.1.1 end to end (--mqtt-version 3 on the edge and the worker): every result comes
 *     back, and the retained status and last will work without MQTT 5;
 *   - a broker list: the edge skips a broker that does not answer, and when its broker dies it
 *     goes on with the next one in the list, losing nothing. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

static pid_t worker(const struct broker *b, const char *id, const char *version)
{
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(log, sizeof log, "%s/%s.log", b->dir, id);
    const char *argv[] = {"cloud-worker", "--host", "127.0.0.1", "--port", port,
                          "--worker-id",  id,       "--threads", "1",      "--mqtt-version",
                          version,        NULL};
    pid_t pid = harness_spawn(argv, NULL, log);
    if (pid > 0 && !harness_wait_for_text(log, "WORKER-READY", 10000)) {
        harness_stop(pid, 2000);
        return -1;
    }
    return pid;
}

static void mqtt311(void)
{
    struct broker b;
    if (broker_start(&b, "mqtt311") != ES_OK) {
        CHECK(false);
        return;
    }
    pid_t w = worker(&b, "w-311", "3");
    struct collector *c = collector_start(&b, "observer-311");
    struct collector *st = collector_start_on(&b, "status-311", "pipeline/status/cam-311");
    CHECK(w > 0 && c && st);
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", b.port);
    snprintf(log, sizeof log, "%s/edge.log", b.dir);
    const char *argv[] = {"edge-agent",  "3",       "--host",  "127.0.0.1", "--port",         port,
                          "--frames",    "2000",    "--rate",  "100",       "--mqtt-version", "3",
                          "--device-id", "cam-311", "--quiet", NULL};
    pid_t edge = harness_spawn(argv, NULL, log);
    CHECK(collector_wait(c, "cam-311", 100, 20000)); /* results over 3.1.1 */
    CHECK(collector_wait(st, "cam-311", 1, 5000));   /* its retained online status */
    kill(edge, SIGKILL);                             /* no goodbye: the broker sends the will */
    harness_wait(edge, 5000);
    CHECK(collector_wait(st, "cam-311", 2, 10000));
    json_t *got = collector_results(st, "cam-311");
    const char *last =
        json_string_value(json_object_get(json_array_get(got, json_array_size(got) - 1), "state"));
    CHECK(last && strcmp(last, "offline") == 0);
    json_decref(got);
    CHECK(harness_wait_for_text(b.log, "as cam-311 (p2", 100)); /* p2: MQTT 3.1.1 */
    collector_free(st);
    collector_free(c);
    CHECK_EQ_INT(harness_stop(w, 10000), 0);
    broker_stop(&b, check_failed > 0);
}

static void failover(void)
{
    struct broker a, b, dead;
    CHECK_EQ_INT(broker_start(&dead, "failover-dead"), ES_OK);
    int closed = dead.port;
    broker_stop(&dead, false); /* a port where nothing answers any more */
    if (broker_start(&a, "failover-a") != ES_OK || broker_start(&b, "failover-b") != ES_OK) {
        CHECK(false);
        return;
    }
    pid_t wa = worker(&a, "w-a", "5"), wb = worker(&b, "w-b", "5");
    CHECK(wa > 0 && wb > 0);
    char hosts[128], log[400];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", closed, a.port, b.port);
    snprintf(log, sizeof log, "%s/edge.log", a.dir);
    const char *argv[] = {"edge-agent", "3",   "--host",      hosts,      "--frames", "600",
                          "--rate",     "100", "--device-id", "cam-fail", "--quiet",  NULL};
    pid_t edge = harness_spawn(argv, NULL, log);
    clock_sleep_us(2500000);
    broker_kill(&a); /* the broker it is on: it goes on with b */
    CHECK_EQ_INT(harness_wait(edge, 60000), 0);
    long long frames = harness_summary(log, "frames"), results = harness_summary(log, "results");
    long long fallback = harness_summary(log, "fallback");
    printf("failover: %lld frames, %lld results from workers, %lld ran on the device\n", frames,
           results, fallback);
    CHECK_EQ_INT(frames, 600);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK_EQ_INT(results + fallback, 600);
    CHECK(harness_wait_for_text(b.log, "as cam-fail", 100)); /* it did reach b */
    CHECK(harness_count_lines(log, "MQTT-RECONNECT", NULL) == 1);
    CHECK_EQ_INT(harness_stop(wa, 10000), 0); /* its broker is gone: it stops all the same */
    CHECK_EQ_INT(harness_stop(wb, 10000), 0);
    broker_stop(&a, check_failed > 0);
    broker_stop(&b, check_failed > 0);
}

int main(void)
{
    mqtt311();
    failover();
    return check_exit();
}

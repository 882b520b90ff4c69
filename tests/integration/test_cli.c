/* The programs' command lines: bad input exits 2 with a one-line reason, --help exits 0, a
 * missing broker exits 1 with one line naming the address tried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static int run(const char *const argv[], const char *err_path)
{
    pid_t pid = harness_spawn(argv, NULL, err_path);
    return harness_wait(pid, 30000);
}

/* --config: the file's options, and the command line's over them. */
static void config_files(const char *err)
{
    char conf[] = "/tmp/es-conf-XXXXXX", out[64];
    int fd = mkstemp(conf);
    CHECK(fd >= 0);
    close(fd);
    snprintf(out, sizeof out, "%s.out", conf);
    CHECK(harness_write_file(conf, "# a device\n  device-id = cfg-cam  \nframes = 5\nquiet\n"
                                   "source = \"synthetic:7\"\n\n"));
    const char *from_file[] = {"edge-agent", "--config", conf, NULL};
    pid_t pid = harness_spawn(from_file, out, err);
    CHECK_EQ_INT(harness_wait(pid, 30000), 0);
    int total = 0;
    CHECK_EQ_INT(harness_count_lines(out, "\"device\":\"cfg-cam\"", &total), 5);
    CHECK_EQ_INT(total, 5);
    const char *overridden[] = {"edge-agent", "--frames", "2", "--config=", NULL};
    char eq[96];
    snprintf(eq, sizeof eq, "--config=%s", conf);
    overridden[3] = eq;
    pid = harness_spawn(overridden, out, err);
    CHECK_EQ_INT(harness_wait(pid, 30000), 0);
    CHECK_EQ_INT(harness_count_lines(out, "\"device\":\"cfg-cam\"", &total), 2); /* --frames 2 */
    CHECK_EQ_INT(total, 2);
    /* SPLIT in a file: a broker is needed, and none listens on port 1. */
    CHECK(harness_write_file(conf, "split = 3\nhost = 127.0.0.1\nport = 1\n"));
    const char *split[] = {"edge-agent", "--config", conf, NULL};
    CHECK_EQ_INT(run(split, err), 1);
    CHECK_EQ_INT(harness_count_lines(err, "tcp://127.0.0.1:1", NULL), 1);
    /* A bad line: one line naming the file and the line, exit 2; the worker reads them too. */
    CHECK(harness_write_file(conf, "frames = 5\n--frames = 3\n"));
    CHECK_EQ_INT(run(from_file, err), 2);
    char where[64];
    snprintf(where, sizeof where, "%s:2:", conf);
    CHECK_EQ_INT(harness_count_lines(err, where, &total), 1);
    CHECK_EQ_INT(total, 1);
    CHECK(harness_write_file(conf, "threads = zero\n"));
    const char *worker[] = {"cloud-worker", "--config", conf, NULL};
    CHECK_EQ_INT(run(worker, err), 2);
    CHECK_EQ_INT(harness_count_lines(err, "--threads must be", NULL), 1);
    CHECK(harness_write_file(conf, "goal = 10\n"));
    CHECK_EQ_INT(run(from_file, err), 2);
    CHECK_EQ_INT(harness_count_lines(err, "--goal needs a split", NULL), 1);
    const char *twice[] = {"edge-agent", "--config", conf, "--config", conf, NULL};
    CHECK_EQ_INT(run(twice, err), 2);
    const char *missing[] = {"edge-agent", "--config", "/nonexistent/edge.conf", NULL};
    CHECK_EQ_INT(run(missing, err), 2);
    CHECK_EQ_INT(harness_count_lines(err, "/nonexistent/edge.conf", NULL), 1);
    remove(conf);
    remove(out);
}

int main(void)
{
    char err[] = "/tmp/es-cli-XXXXXX";
    int fd = mkstemp(err);
    CHECK(fd >= 0);
    int total;
    static const char *const bad_edge[][6] = {
        {"edge-agent", "0", NULL},
        {"edge-agent", "7", NULL},
        {"edge-agent", "abc", NULL},
        {"edge-agent", "3", "-5", NULL},
        {"edge-agent", "1", "2", "3", NULL},
        {"edge-agent", "--frames", "x", NULL},
        {"edge-agent", "--nope", NULL},
        {"edge-agent", "--device-id", "a/b", NULL},
        {"edge-agent", "--slowdown", "0.5", NULL},
        {"edge-agent", "--port", "70000", NULL},
        {"edge-agent", "--buffer", "0", NULL},
        {"edge-agent", "--buffer-mb", "x", NULL},
        {"edge-agent", "--spool", "", NULL},
        {"edge-agent", "--inflight", "5000", NULL},
        {"edge-agent", "--sub-qos", "2", NULL},
        {"edge-agent", "--saturation-rule", "maybe", NULL},
        {"edge-agent", "--threads", "0", NULL},
    };
    for (size_t i = 0; i < sizeof bad_edge / sizeof bad_edge[0]; i++) {
        CHECK_EQ_INT(run(bad_edge[i], err), 2);
        CHECK_EQ_INT(harness_count_lines(err, "edge-agent:", &total), 1);
        CHECK_EQ_INT(total, 1);
    }
    static const char *const bad_worker[][4] = {{"cloud-worker", "--threads", "0", NULL},
                                                {"cloud-worker", "--stages", "9x", NULL},
                                                {"cloud-worker", "extra", NULL},
                                                {"cloud-worker", "--worker-id", "#", NULL},
                                                {"cloud-worker", "--amqp", "tcp://h:1", NULL},
                                                {"cloud-worker", "--amqp", "amqp://", NULL},
                                                {"cloud-worker", "--prefetch", "0", NULL},
                                                {"cloud-worker", "--slowdown", "0.5", NULL}};
    for (size_t i = 0; i < sizeof bad_worker / sizeof bad_worker[0]; i++) {
        CHECK_EQ_INT(run(bad_worker[i], err), 2);
        CHECK_EQ_INT(harness_count_lines(err, "cloud-worker:", &total), 1);
        CHECK_EQ_INT(total, 1);
    }
    static const char *const bad_planner[][4] = {{"fleet-planner", "--smoothing", "0", NULL},
                                                 {"fleet-planner", "--margin", "x", NULL},
                                                 {"fleet-planner", "--window", "0", NULL},
                                                 {"fleet-planner", "extra", NULL}};
    for (size_t i = 0; i < sizeof bad_planner / sizeof bad_planner[0]; i++) {
        CHECK_EQ_INT(run(bad_planner[i], err), 2);
        CHECK_EQ_INT(harness_count_lines(err, "fleet-planner:", &total), 1);
        CHECK_EQ_INT(total, 1);
    }
    /* A spool directory that cannot be used: one line naming it, exit 1. */
    const char *spool[] = {"edge-agent", "3", "--spool", "/dev/null/spool", NULL};
    CHECK_EQ_INT(run(spool, err), 1);
    CHECK_EQ_INT(harness_count_lines(err, "/dev/null/spool", &total), 1);
    CHECK_EQ_INT(total, 1);
    const char *help[] = {"edge-agent", "--help", NULL};
    CHECK_EQ_INT(run(help, NULL), 0);
    const char *whelp[] = {"cloud-worker", "--help", NULL};
    CHECK_EQ_INT(run(whelp, NULL), 0);

    /* Nothing listens on a port we just found free. */
    struct broker none;
    CHECK_EQ_INT(broker_start(&none, "cli"), ES_OK);
    char port[16];
    snprintf(port, sizeof port, "%d", none.port);
    broker_stop(&none, false);
    const char *edge[] = {"edge-agent", "3", "--host", "127.0.0.1", "--port", port, NULL};
    CHECK_EQ_INT(run(edge, err), 1);
    char needle[64];
    snprintf(needle, sizeof needle, "tcp://127.0.0.1:%s", port);
    CHECK_EQ_INT(harness_count_lines(err, needle, &total), 1);
    CHECK_EQ_INT(total, 1);
    if (total != 1)
        harness_dump(err);
    /* An unreadable password file: one line naming it, before any connection. */
    const char *nopass[] = {"edge-agent", "3",  "--host",          "127.0.0.1",
                            "--port",     port, "--password-file", "/nonexistent/pass",
                            NULL};
    CHECK_EQ_INT(run(nopass, err), 1);
    CHECK_EQ_INT(harness_count_lines(err, "/nonexistent/pass", &total), 1);
    CHECK_EQ_INT(total, 1);
    /* TLS to where nothing listens says so, not a vague TLS failure. */
    const char *tls[] = {"edge-agent", "3", "--host", "127.0.0.1", "--port", port, "--tls", NULL};
    CHECK_EQ_INT(run(tls, err), 1);
    CHECK_EQ_INT(harness_count_lines(err, "Connection refused", &total), 1);
    const char *worker[] = {"cloud-worker", "--host", "127.0.0.1", "--port", port, NULL};
    CHECK_EQ_INT(run(worker, err), 1);
    CHECK_EQ_INT(harness_count_lines(err, needle, &total), 1);
    CHECK_EQ_INT(total, 1);
    /* No AMQP node where the URLs point: one line naming each URL tried and why. */
    char urls[200];
    snprintf(urls, sizeof urls, "amqp://guest:guest@127.0.0.1:%s/,amqp://u:p@[::1]:%s/", port,
             port);
    const char *amqp[] = {"cloud-worker", "--amqp", urls, NULL};
    CHECK_EQ_INT(run(amqp, err), 1);
    snprintf(needle, sizeof needle, "amqp://127.0.0.1:%s/ (", port);
    CHECK_EQ_INT(harness_count_lines(err, needle, &total), 1);
    CHECK_EQ_INT(total, 1);
    CHECK_EQ_INT(harness_count_lines(err, "amqp://[::1]", NULL), 1);
    CHECK_EQ_INT(harness_count_lines(err, "Connection refused", NULL), 1);
    CHECK_EQ_INT(harness_count_lines(err, "guest", NULL), 0); /* no credentials in logs */
    config_files(err);
    remove(err);
    return check_exit();
}

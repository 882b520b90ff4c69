/* Integration-test harness: a real mosquitto on a free loopback port, the project's programs as
 * child processes, and a collector of results through the project's own transport. */
#ifndef ES_HARNESS_H
#define ES_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "es_err.h"

struct broker {
    pid_t pid;
    int port;
    bool persistent; /* keeps sessions and retained messages across a restart */
    char dir[256];   /* scratch directory for this test: config, logs, videos */
    char log[300];
    char conf[300];
};

/* Creates a scratch directory, writes broker-config/dev.conf with a free port on its listener
 * line, starts mosquitto and waits (deadline 10 s) until it accepts connections. */
enum es_err broker_start(struct broker *b, const char *test_name);

/* The same with persistence on (saved every second in the scratch directory), so that a
 * subscriber with a persistent session (collector_start_persistent) misses nothing across a
 * broker restart. */
enum es_err broker_start_persistent(struct broker *b, const char *test_name);

/* Kills the broker with SIGKILL (no goodbye to anyone) and reaps it. */
void broker_kill(struct broker *b);

/* Starts the broker again on the same port with the same configuration, waiting until it
 * accepts connections (deadline 10 s). The log is appended to. */
enum es_err broker_restart(struct broker *b);

/* Stops the broker; prints its log to stderr when failed is true. */
void broker_stop(struct broker *b, bool failed);

/* Whether a TCP listener accepts connections on 127.0.0.1:port. */
bool harness_port_open(int port);

/* Starts argv[0] from the build's bin directory with stdout/stderr redirected to files (NULL:
 * /dev/null). Returns the pid or -1. */
pid_t harness_spawn(const char *const argv[], const char *out_path, const char *err_path);

/* Waits up to timeout_ms for pid to exit; returns its exit code, or -1 (after SIGKILL) on timeout
 * or a signal death. */
int harness_wait(pid_t pid, int timeout_ms);

/* Sends SIGTERM and waits up to timeout_ms; returns as harness_wait. */
int harness_stop(pid_t pid, int timeout_ms);

/* Copies the file at path to stderr between two marker lines (for a failed test). */
void harness_dump(const char *path);

/* Counts the lines of file path that contain needle; *total (if not NULL) gets the number of
 * lines. A missing file has no lines. */
int harness_count_lines(const char *path, const char *needle, int *total);

/* The JSON objects of a file of JSON lines (a device-only run's stdout), in order; NULL when a
 * line is not JSON. A missing file gives an empty array. */
json_t *harness_read_jsonl(const char *path);

/* Writes text to the file at path (replacing it); false when it cannot. */
bool harness_write_file(const char *path, const char *text);

/* Waits until file path contains needle, or timeout_ms passes (false). */
bool harness_wait_for_text(const char *path, const char *needle, int timeout_ms);

/* Starts a cloud worker against b and waits until it reports ready. Returns pid or -1. */
pid_t harness_worker(const struct broker *b, const char *id, const char *threads);

/* Collects every JSON object published on a filter (pipeline/results/# for collector_start),
 * grouped by its "device" member (status messages: by "client"). */
struct collector;
struct collector *collector_start(const struct broker *b, const char *client_id);
struct collector *collector_start_on(const struct broker *b, const char *client_id,
                                     const char *filter);
/* collector_start with a persistent session (the broker queues results while it is away). */
struct collector *collector_start_persistent(const struct broker *b, const char *client_id);
/* Number of results received so far for device (all devices when NULL). */
size_t collector_count(struct collector *c, const char *device);
/* Waits until collector_count(c, device) >= n or timeout_ms passes. */
bool collector_wait(struct collector *c, const char *device, size_t n, int timeout_ms);
/* The results for device, as a JSON array in arrival order (new reference). */
json_t *collector_results(struct collector *c, const char *device);
/* The 99th percentile, in ms, of arrival time minus "captured_us" over device's results (the
 * test runs on the machine that captured them, so the clocks agree); 1e9 without results. */
double collector_latency_p99_ms(struct collector *c, const char *device);

/* The longest time in seconds between two consecutive results for device, as they arrived. */
double collector_max_gap(struct collector *c, const char *device);
void collector_free(struct collector *c);

/* Whether results (an array from collector_results) holds seq 0..frames-1, each exactly once;
 * the first missing, duplicate or out-of-range seq is printed. When worker is not NULL,
 * *by_worker tells whether any result names it as its worker. */
bool results_once(json_t *results, json_int_t frames, const char *worker, bool *by_worker);

/* At-least-once: whether results holds every seq 0..frames-1 at least once and nothing out
 * of range (the first missing or out-of-range seq is printed). *duplicates gets the number of
 * extra copies and *fallback the number of distinct frames answered with "fallback": true. */
bool results_at_least_once(json_t *results, json_int_t frames, size_t *duplicates,
                           size_t *fallback);

/* A copy of result without the fields that legitimately differ with where the work ran (device,
 * split, times, worker, per-stage times, and "fallback", which a frame the edge ran itself after
 * a missed deadline carries instead of a worker): what must equal the device-only result. */
json_t *results_strip_placement(json_t *result);

/* The value of KEY=N in the last EDGE-SUMMARY line of the log at path (key given as "lost"),
 * or -1 when there is none. */
long long harness_summary(const char *path, const char *key);

/* Publishes raw bytes on topic `count` times through one fresh connection, at QoS 1, and waits
 * until the broker has them all (for hostile-input tests). */
enum es_err harness_publish(const struct broker *b, const char *topic, const void *buf, size_t len,
                            int count);

#endif

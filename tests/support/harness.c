#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "result.h"
#include "transport.h"

/* Path of a program in the build's bin directory. */
static const char *harness_bin(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", ES_BIN_DIR, name);
    return buf;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

bool harness_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Copies dev.conf, replacing the port of its listener line (and, for a persistent broker, its
 * persistence line). */
static enum es_err write_config(const struct broker *b, const char *path)
{
    FILE *in = fopen(ES_BROKER_CONF, "r");
    FILE *out = fopen(path, "w");
    enum es_err err = in && out ? ES_OK : ES_EIO;
    char line[512];
    while (err == ES_OK && fgets(line, sizeof line, in)) {
        if (strncmp(line, "listener ", 9) == 0)
            fprintf(out, "listener %d 127.0.0.1\n", b->port);
        else if (b->persistent && strncmp(line, "persistence ", 12) == 0)
            fprintf(out, "persistence true\npersistence_location %s/db/\nautosave_interval 1\n",
                    b->dir);
        else
            fputs(line, out);
    }
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        err = ES_EIO;
    return err;
}

/* Runs mosquitto with b->conf, its log appended to b->log, and waits until it listens. */
static enum es_err spawn_broker(struct broker *b)
{
    pid_t pid = fork();
    if (pid == 0) {
        int err = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (err < 0)
            _exit(127);
        dup2(err, STDERR_FILENO);
        execlp("mosquitto", "mosquitto", "-c", b->conf, (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    int64_t deadline = clock_mono_us() + 10 * 1000000;
    while (pid > 0 && clock_mono_us() < deadline) {
        if (harness_port_open(b->port))
            return ES_OK;
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0; /* exited: most likely the port was taken meanwhile */
            return ES_EIO;
        }
        clock_sleep_us(10000);
    }
    harness_stop(b->pid, 1000);
    b->pid = 0;
    return ES_EIO;
}

static enum es_err start(struct broker *b, const char *test_name, bool persistent)
{
    memset(b, 0, sizeof *b);
    b->persistent = persistent;
    const char *tmp = getenv("TMPDIR");
    snprintf(b->dir, sizeof b->dir, "%s/es-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", test_name);
    if (!mkdtemp(b->dir))
        return ES_EIO;
    snprintf(b->conf, sizeof b->conf, "%s/mosquitto.conf", b->dir);
    snprintf(b->log, sizeof b->log, "%s/mosquitto.log", b->dir);
    if (persistent) {
        char db[300];
        snprintf(db, sizeof db, "%s/db", b->dir);
        /* mosquitto started as root drops to its own user, which must reach and write there */
        if (chmod(b->dir, 0755) != 0 || mkdir(db, 0777) != 0 || chmod(db, 0777) != 0)
            return ES_EIO;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        b->port = free_port();
        if (b->port < 0 || write_config(b, b->conf) != ES_OK)
            return ES_EIO;
        if (spawn_broker(b) == ES_OK)
            return ES_OK;
    }
    fprintf(stderr, "mosquitto did not start; its log:\n");
    broker_stop(b, true);
    return ES_EIO;
}

enum es_err broker_start(struct broker *b, const char *test_name)
{
    return start(b, test_name, false);
}

enum es_err broker_start_persistent(struct broker *b, const char *test_name)
{
    return start(b, test_name, true);
}

void broker_kill(struct broker *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
    }
    b->pid = 0;
}

enum es_err broker_restart(struct broker *b)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        if (spawn_broker(b) == ES_OK)
            return ES_OK;
        clock_sleep_us(100000); /* the port may linger a moment after the kill */
    }
    return ES_EIO;
}

void harness_dump(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    fprintf(stderr, "---- %s ----\n", path);
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
    fprintf(stderr, "---- end of %s ----\n", path);
}

void broker_stop(struct broker *b, bool failed)
{
    if (b->pid > 0)
        harness_stop(b->pid, 3000);
    b->pid = 0;
    if (!failed)
        return;
    harness_dump(b->log);
    /* and every program's log in the scratch directory (workers, edges, planners) */
    DIR *d = opendir(b->dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[600];
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0 &&
            strcmp(e->d_name, "mosquitto.log") != 0) {
            snprintf(path, sizeof path, "%s/%s", b->dir, e->d_name);
            harness_dump(path);
        }
    }
    if (d)
        closedir(d);
}

pid_t harness_spawn(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0)
        _exit(127);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    char path[512];
    if (strchr(argv[0], '/') || strcmp(argv[0], "mosquitto") == 0)
        snprintf(path, sizeof path, "%s", argv[0]);
    else
        harness_bin(argv[0], path, sizeof path);
    execvp(path, (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

int harness_wait(pid_t pid, int timeout_ms)
{
    if (pid <= 0) /* a failed spawn: never wait for or signal "any process" */
        return -1;
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 || clock_mono_us() >= deadline)
            break;
        clock_sleep_us(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int harness_stop(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    return harness_wait(pid, timeout_ms);
}

int harness_count_lines(const char *path, const char *needle, int *total)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0, all = 0;
    while (f && fgets(line, sizeof line, f)) {
        all++;
        n += strstr(line, needle) != NULL;
    }
    if (f)
        fclose(f);
    if (total)
        *total = all;
    return n;
}

bool harness_wait_for_text(const char *path, const char *needle, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    char buf[65536];
    while (clock_mono_us() < deadline) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        if (strstr(buf, needle))
            return true;
        clock_sleep_us(10000);
    }
    return false;
}

pid_t harness_worker(const struct broker *b, const char *id, const char *threads)
{
    char port[16], err_path[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(err_path, sizeof err_path, "%s/%s.log", b->dir, id);
    const char *argv[] = {"cloud-worker", "--host", "127.0.0.1", "--port", port,
                          "--worker-id",  id,       "--threads", threads,  NULL};
    pid_t pid = harness_spawn(argv, NULL, err_path);
    if (pid > 0 && !harness_wait_for_text(err_path, "WORKER-READY", 10000)) {
        harness_stop(pid, 2000);
        return -1;
    }
    return pid;
}

struct collector {
    struct transport *tp;
    pthread_mutex_t lock;
    json_t *by_device; /* device -> array of results */
    json_t *arrivals;  /* device -> array of arrival times (s, wall clock) */
    size_t total;
};

static bool collect(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct collector *c = arg;
    (void)topic;
    json_t *obj = json_loadb((const char *)payload, len, 0, NULL);
    const char *device = json_string_value(json_object_get(obj, "device"));
    if (!device) /* a status message: grouped by client */
        device = json_string_value(json_object_get(obj, "client"));
    if (!device) {
        fprintf(stderr, "collector: result without device: %.*s\n", (int)len, payload);
        json_decref(obj);
        return true;
    }
    pthread_mutex_lock(&c->lock);
    json_t *arr = json_object_get(c->by_device, device);
    if (!arr) {
        arr = json_array();
        json_object_set_new(c->by_device, device, arr);
        json_object_set_new(c->arrivals, device, json_array());
    }
    json_array_append_new(json_object_get(c->arrivals, device),
                          json_real((double)clock_wall_us() / 1e6));
    json_array_append_new(arr, obj);
    c->total++;
    pthread_mutex_unlock(&c->lock);
    return true;
}

static struct collector *start_collector(const struct broker *b, const char *client_id,
                                         const char *filter, int session_expiry_s)
{
    struct collector *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->by_device = json_object();
    c->arrivals = json_object();
    struct transport_opts o = {.host = "127.0.0.1",
                               .port = b->port,
                               .client_id = client_id,
                               .role = "test",
                               .session_expiry_s = session_expiry_s,
                               .on_msg = collect,
                               .arg = c};
    if (transport_connect(&o, &c->tp) != ES_OK || transport_subscribe(c->tp, filter, 1) != ES_OK) {
        collector_free(c);
        return NULL;
    }
    return c;
}

struct collector *collector_start(const struct broker *b, const char *client_id)
{
    return start_collector(b, client_id, "pipeline/results/#", 0);
}

struct collector *collector_start_on(const struct broker *b, const char *client_id,
                                     const char *filter)
{
    return start_collector(b, client_id, filter, 0);
}

struct collector *collector_start_persistent(const struct broker *b, const char *client_id)
{
    return start_collector(b, client_id, "pipeline/results/#", 3600);
}

size_t collector_count(struct collector *c, const char *device)
{
    pthread_mutex_lock(&c->lock);
    size_t n = device ? json_array_size(json_object_get(c->by_device, device)) : c->total;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool collector_wait(struct collector *c, const char *device, size_t n, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    while (collector_count(c, device) < n) {
        if (clock_mono_us() >= deadline)
            return false;
        clock_sleep_us(5000);
    }
    return true;
}

json_t *collector_results(struct collector *c, const char *device)
{
    pthread_mutex_lock(&c->lock);
    json_t *arr = json_object_get(c->by_device, device);
    json_t *copy = arr ? json_deep_copy(arr) : json_array();
    pthread_mutex_unlock(&c->lock);
    return copy;
}

bool results_once(json_t *results, json_int_t frames, const char *worker, bool *by_worker)
{
    unsigned char *seen = calloc(frames > 0 ? (size_t)frames : 1, 1);
    bool ok = seen != NULL;
    if (by_worker)
        *by_worker = false;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        json_int_t seq = json_integer_value(json_object_get(r, "seq"));
        if (ok && (seq < 0 || seq >= frames || seen[seq]++)) {
            const char *by = json_string_value(json_object_get(r, "worker"));
            fprintf(stderr, "results_once: seq %lld %s (this one from %s%s)\n", (long long)seq,
                    seq < 0 || seq >= frames ? "out of range" : "twice", by ? by : "?",
                    json_is_true(json_object_get(r, "fallback")) ? ", run on the device" : "");
            ok = false;
        }
        const char *w = json_string_value(json_object_get(r, "worker"));
        if (worker && by_worker && w && strcmp(w, worker) == 0)
            *by_worker = true;
    }
    for (json_int_t s = 0; ok && s < frames; s++) {
        if (!seen[s]) {
            fprintf(stderr, "results_once: seq %lld missing\n", (long long)s);
            ok = false;
        }
    }
    free(seen);
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double collector_latency_p99_ms(struct collector *c, const char *device)
{
    pthread_mutex_lock(&c->lock);
    json_t *got = json_object_get(c->by_device, device);
    json_t *times = json_object_get(c->arrivals, device);
    size_t n = json_array_size(got);
    double *lat = calloc(n ? n : 1, sizeof *lat);
    for (size_t i = 0; lat && i < n; i++) {
        json_int_t cap = json_integer_value(json_object_get(json_array_get(got, i), "captured_us"));
        lat[i] = (json_real_value(json_array_get(times, i)) - (double)cap / 1e6) * 1000;
    }
    pthread_mutex_unlock(&c->lock);
    if (lat)
        qsort(lat, n, sizeof *lat, cmp_double);
    double p99 = n && lat ? lat[(size_t)(0.99 * (double)(n - 1))] : 1e9;
    free(lat);
    return p99;
}

double collector_max_gap(struct collector *c, const char *device)
{
    pthread_mutex_lock(&c->lock);
    json_t *times = json_object_get(c->arrivals, device);
    double gap = 0;
    for (size_t i = 1; i < json_array_size(times); i++) {
        double d = json_real_value(json_array_get(times, i)) -
                   json_real_value(json_array_get(times, i - 1));
        if (d > gap)
            gap = d;
    }
    pthread_mutex_unlock(&c->lock);
    return gap;
}

void collector_free(struct collector *c)
{
    if (!c)
        return;
    transport_close(c->tp);
    json_decref(c->by_device);
    json_decref(c->arrivals);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool results_at_least_once(json_t *results, json_int_t frames, size_t *duplicates, size_t *fallback)
{
    unsigned char *seen = calloc(frames > 0 ? (size_t)frames : 1, 1);
    bool ok = seen != NULL;
    *duplicates = *fallback = 0;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        json_int_t seq = json_integer_value(json_object_get(r, "seq"));
        if (seq < 0 || seq >= frames) {
            fprintf(stderr, "results_at_least_once: seq %lld out of range\n", (long long)seq);
            ok = false;
            continue;
        }
        if (ok && seen[seq]++) {
            (*duplicates)++;
            continue;
        }
        *fallback += json_is_true(json_object_get(r, "fallback"));
    }
    for (json_int_t s = 0; ok && s < frames; s++) {
        if (!seen[s]) {
            fprintf(stderr, "results_at_least_once: seq %lld missing\n", (long long)s);
            ok = false;
        }
    }
    free(seen);
    return ok;
}

long long harness_summary(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[2048], want[64];
    long long v = -1;
    snprintf(want, sizeof want, " %s=", key);
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "EDGE-SUMMARY") ? strstr(line, want) : NULL;
        char *end;
        if (p) {
            long long x = strtoll(p + strlen(want), &end, 10);
            v = end != p + strlen(want) ? x : -1;
        }
    }
    if (f)
        fclose(f);
    return v;
}

enum es_err harness_publish(const struct broker *b, const char *topic, const void *buf, size_t len,
                            int count)
{
    struct transport_opts o = {
        .host = "127.0.0.1", .port = b->port, .client_id = "hostile", .role = "test"};
    struct transport *tp = NULL;
    enum es_err err = transport_connect(&o, &tp);
    for (int i = 0; err == ES_OK && i < count; i++)
        err = transport_publish(tp, topic, buf, len, 1, false);
    if (err == ES_OK)
        err = transport_flush(tp, 10000);
    transport_close(tp);
    return err;
}

json_t *results_strip_placement(json_t *result)
{
    static const char *const varying[] = {"device", "split",        "captured_us", "completed_us",
                                          "worker", "cloud_cpu_us", "stage_us",    "fallback"};
    json_t *copy = json_deep_copy(result);
    for (size_t i = 0; i < sizeof varying / sizeof varying[0]; i++)
        json_object_del(copy, varying[i]);
    return copy;
}

bool harness_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

json_t *harness_read_jsonl(const char *path)
{
    json_t *arr = json_array();
    FILE *f = fopen(path, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        json_t *obj = json_loads(line, 0, NULL);
        if (!obj) {
            fprintf(stderr, "%s: not a JSON line: %s", path, line);
            json_decref(arr);
            arr = NULL;
            break;
        }
        json_array_append_new(arr, obj);
    }
    if (f)
        fclose(f);
    return arr;
}

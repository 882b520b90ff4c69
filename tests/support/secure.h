/* Helpers for tests against the secure set-up: a set-up written by scripts/secure-setup.sh into
 * the test's scratch directory, its broker (TLS with passwords on one port, mutual TLS on the
 * next), the command-line options and transport options of a client for each kind of
 * credential, and a subscriber over TLS through the project's transport. Header-only (static
 * inline), like faults.h, so that the checks count in the including test. */
#ifndef ES_SECURE_H
#define ES_SECURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "harness.h"
#include "transport.h"

struct secure {
    char dir[256];   /* scratch directory (0755: the broker's user reads the set-up in it) */
    char setup[264]; /* what secure-setup.sh wrote: dir/setup */
    int port;        /* TLS with user name and password; port + 1: mutual TLS */
    struct broker b; /* the running broker (pid, dir, log, conf) for broker_stop */
};

/* How a client proves who it is. */
enum secure_cred {
    SECURE_NONE,     /* TLS on the password listener, no credentials (anonymous) */
    SECURE_PASSWORD, /* TLS, user name = id, password from setup/<id>.pass */
    SECURE_CERT,     /* mutual TLS on port + 1 with setup/<id>.crt and setup/<id>.key */
};

/* Whether nothing is bound to 127.0.0.1:port right now. */
static inline bool secure_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A port P with P, P + 1 and P + 2 free (the set-up's three listeners: passwords, certificates,
 * the dashboard's TLS websockets); -1 if none was found. P is below
 * the kernel's range of ephemeral ports, where an outgoing connection of another test could
 * take it between this check and the broker's bind. */
static inline int secure_free_pair(void)
{
    int low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f && fscanf(f, "%d", &low) != 1)
        low = 32768;
    if (f)
        fclose(f);
    /* Ports 20000..low-1; with an unusual range that starts lower, 61000..64999 (above the
     * usual range's end). */
    int base = low > 20100 ? 20000 : 61000, span = low > 20100 ? low - 20002 : 4000;
    for (int attempt = 0; attempt < 200; attempt++) {
        int p = base + (int)((uint64_t)clock_mono_us() * 7919u % (uint64_t)span);
        if (secure_port_free(p) && secure_port_free(p + 1) && secure_port_free(p + 2))
            return p;
        clock_sleep_us(1000);
    }
    return -1;
}

/* Runs a shell command (formatted like printf) with its output in dir/sh.log; returns its exit
 * code (-1 after 60 s). Paths in the commands come from mkdtemp and the build: no quoting. */
static inline int secure_sh(const struct secure *s, const char *fmt, ...)
{
    char cmd[4096], log[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(log, sizeof log, "%s/sh.log", s->dir);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = harness_wait(harness_spawn(argv, log, log), 60000);
    if (rc != 0) {
        fprintf(stderr, "exit %d: %s\n", rc, cmd);
        harness_dump(log);
    }
    return rc;
}

/* Waits up to timeout_ms for pid; returns its exit code, 128 + the signal that killed it, or -1
 * (after SIGKILL) on a timeout. Unlike harness_wait it tells a crash from a hang. */
static inline int secure_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    int status;
    while (pid > 0) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || clock_mono_us() >= deadline)
            break;
        clock_sleep_us(5000);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    return -1;
}

/* Writes setup/<name><ext> into buf. */
static inline const char *secure_file(const struct secure *s, const char *name, const char *ext,
                                      char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s%s", s->setup, name, ext);
    return buf;
}

/* Creates the scratch directory and runs scripts/secure-setup.sh in it for the given ids
 * (comma-separated lists) on a free pair of ports; extra (may be NULL) is more of its options,
 * such as "--viewers viewer --planners planner-1". */
static inline enum es_err secure_make(struct secure *s, const char *test_name, const char *devices,
                                      const char *workers, const char *extra)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/es-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", test_name);
    if (!mkdtemp(s->dir) || chmod(s->dir, 0755) != 0)
        return ES_EIO;
    snprintf(s->setup, sizeof s->setup, "%s/setup", s->dir);
    s->port = secure_free_pair();
    if (s->port < 0)
        return ES_EIO;
    int rc = secure_sh(s, "%s/scripts/secure-setup.sh %s --port %d --devices %s --workers %s %s",
                       ES_SOURCE_DIR, s->setup, s->port, devices, workers, extra ? extra : "");
    return rc == 0 ? ES_OK : ES_EIO;
}

/* Starts mosquitto with setup/mosquitto.conf (log in dir/mosquitto.log) and waits until both
 * listeners accept connections (deadline 10 s). */
static inline enum es_err secure_broker_start(struct secure *s)
{
    struct broker *b = &s->b;
    memset(b, 0, sizeof *b);
    b->port = s->port;
    snprintf(b->dir, sizeof b->dir, "%s", s->dir);
    snprintf(b->log, sizeof b->log, "%s/mosquitto.log", s->dir);
    snprintf(b->conf, sizeof b->conf, "%s/mosquitto.conf", s->setup);
    const char *argv[] = {"mosquitto", "-c", b->conf, NULL};
    b->pid = harness_spawn(argv, NULL, b->log);
    int64_t deadline = clock_mono_us() + 10 * 1000000;
    while (b->pid > 0 && clock_mono_us() < deadline) {
        if (harness_port_open(s->port) && harness_port_open(s->port + 1))
            return ES_OK;
        clock_sleep_us(10000);
    }
    broker_stop(b, true);
    return ES_EIO;
}

/* What a client presents to the broker. secure_client_init fills it for a kind of credential;
 * a test may then change any member (another CA, port or password file; NULL leaves an option
 * out) before building the options. */
struct secure_client {
    int port;
    const char *cafile, *username, *password_file, *certfile, *keyfile;
    char ca[320], cert[320], key[320], pass[320], port_text[16]; /* storage for the above */
};

static inline void secure_client_init(const struct secure *s, struct secure_client *c,
                                      const char *id, enum secure_cred cred)
{
    memset(c, 0, sizeof *c);
    c->port = cred == SECURE_CERT ? s->port + 1 : s->port;
    c->cafile = secure_file(s, "ca", ".crt", c->ca, sizeof c->ca);
    if (cred == SECURE_PASSWORD) {
        c->username = id;
        c->password_file = secure_file(s, id, ".pass", c->pass, sizeof c->pass);
    } else if (cred == SECURE_CERT) {
        c->certfile = secure_file(s, id, ".crt", c->cert, sizeof c->cert);
        c->keyfile = secure_file(s, id, ".key", c->key, sizeof c->key);
    }
}

/* Appends the programs' options for c to argv (from argv[n], at most max entries in all):
 * --tls --host 127.0.0.1 --port P, then --cafile, --username, --password-file, --cert, --key
 * for the members set. Returns the new count; argv[count] is NULL. */
static inline int secure_client_argv(struct secure_client *c, const char **argv, int n, int max)
{
    snprintf(c->port_text, sizeof c->port_text, "%d", c->port);
    const char *opts[] = {"--cafile", "--username", "--password-file", "--cert", "--key"};
    const char *vals[] = {c->cafile, c->username, c->password_file, c->certfile, c->keyfile};
    const char *base[] = {"--tls", "--host", "127.0.0.1", "--port", c->port_text};
    for (size_t i = 0; i < sizeof base / sizeof base[0] && n < max - 1; i++)
        argv[n++] = base[i];
    for (size_t i = 0; i < sizeof opts / sizeof opts[0] && n < max - 2; i++) {
        if (vals[i]) {
            argv[n++] = opts[i];
            argv[n++] = vals[i];
        }
    }
    argv[n] = NULL;
    return n;
}

/* Transport options for the same client (the strings live in c, which must outlive them). */
static inline struct transport_opts secure_opts(const struct secure_client *c, const char *id)
{
    struct transport_opts o = {.host = "127.0.0.1",
                               .port = c->port,
                               .client_id = id,
                               .role = "test",
                               .tls = true,
                               .cafile = c->cafile,
                               .certfile = c->certfile,
                               .keyfile = c->keyfile,
                               .username = c->username,
                               .password_file = c->password_file};
    return o;
}

/* Appends the NULL-terminated list more to argv (count n, capacity max); returns the count. */
static inline int secure_append(const char **argv, int n, int max, const char *const *more)
{
    for (int i = 0; more && more[i] && n < max - 1; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    return n;
}

/* Starts a cloud worker with a password over TLS, stats every second, stderr in dir/<id>.log,
 * and waits until it is ready. Returns its pid or -1. */
static inline pid_t secure_worker(const struct secure *s, const char *id)
{
    struct secure_client c;
    char log[320];
    const char *argv[40] = {"cloud-worker"};
    const char *more[] = {"--worker-id", id, "--threads", "2", "--stats-every", "1", NULL};
    secure_client_init(s, &c, id, SECURE_PASSWORD);
    secure_append(argv, secure_client_argv(&c, argv, 1, 40), 40, more);
    snprintf(log, sizeof log, "%s/%s.log", s->dir, id);
    pid_t pid = harness_spawn(argv, NULL, log);
    if (pid > 0 && !harness_wait_for_text(log, "WORKER-READY", 10000)) {
        harness_stop(pid, 2000);
        harness_dump(log);
        return -1;
    }
    return pid;
}

/* Starts `edge-agent 3 --device-id id --quiet` presenting c, with the extra options
 * (NULL-terminated, may be NULL) and stderr in log. Returns its pid. */
static inline pid_t secure_edge(struct secure_client *c, const char *id, const char *const *extra,
                                const char *log)
{
    const char *argv[48] = {"edge-agent", "3", "--device-id", id, "--quiet"};
    const char *const *none = NULL;
    int n = secure_client_argv(c, argv, 5, 48);
    secure_append(argv, n, 48, extra ? extra : none);
    return harness_spawn(argv, NULL, log);
}

/* A subscriber over TLS that keeps, per device, the JSON objects it received (with a "device"
 * member) and counts every message. */
struct secure_tap {
    struct transport *tp;
    struct secure_client c;
    char id[64];
    pthread_mutex_t lock;
    json_t *by_device;
    size_t messages;
};

static inline bool secure_tap_msg(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct secure_tap *t = arg;
    (void)topic;
    json_t *obj = json_loadb((const char *)payload, len, 0, NULL);
    const char *device = json_string_value(json_object_get(obj, "device"));
    pthread_mutex_lock(&t->lock);
    t->messages++;
    if (device) {
        json_t *arr = json_object_get(t->by_device, device);
        if (!arr) {
            arr = json_array();
            json_object_set_new(t->by_device, device, arr);
        }
        json_array_append(arr, obj);
    }
    pthread_mutex_unlock(&t->lock);
    json_decref(obj);
    return true;
}

/* Connects as id with cred; subscribes to filter unless it is NULL. NULL on failure. */
static inline struct secure_tap *secure_tap_start(const struct secure *s, const char *id,
                                                  enum secure_cred cred, const char *filter)
{
    struct secure_tap *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->by_device = json_object();
    snprintf(t->id, sizeof t->id, "%s", id);
    secure_client_init(s, &t->c, t->id, cred);
    struct transport_opts o = secure_opts(&t->c, t->id);
    o.on_msg = secure_tap_msg;
    o.arg = t;
    if (transport_connect(&o, &t->tp) != ES_OK ||
        (filter && transport_subscribe(t->tp, filter, 1) != ES_OK)) {
        transport_close(t->tp);
        json_decref(t->by_device);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    return t;
}

/* Messages received so far: for device (results with that "device"), or all when NULL. */
static inline size_t secure_tap_count(struct secure_tap *t, const char *device)
{
    pthread_mutex_lock(&t->lock);
    size_t n = device ? json_array_size(json_object_get(t->by_device, device)) : t->messages;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* Waits until secure_tap_count(t, device) >= n or timeout_ms passes. */
static inline bool secure_tap_wait(struct secure_tap *t, const char *device, size_t n,
                                   int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    while (secure_tap_count(t, device) < n) {
        if (clock_mono_us() >= deadline)
            return false;
        clock_sleep_us(5000);
    }
    return true;
}

/* The objects received for device, in arrival order (a new reference). */
static inline json_t *secure_tap_results(struct secure_tap *t, const char *device)
{
    pthread_mutex_lock(&t->lock);
    json_t *arr = json_object_get(t->by_device, device);
    json_t *copy = arr ? json_deep_copy(arr) : json_array();
    pthread_mutex_unlock(&t->lock);
    return copy;
}

static inline void secure_tap_free(struct secure_tap *t)
{
    if (!t)
        return;
    transport_close(t->tp);
    json_decref(t->by_device);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

#endif

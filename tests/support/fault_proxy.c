/* es-faultproxy: a TCP proxy on 127.0.0.1 for fault tests. It forwards every connection it
 * accepts to 127.0.0.1:TO, byte for byte, and on a schedule (seconds since it started) or on a
 * signal it
 * - blackholes the link: stops forwarding in both directions without closing anything, as a
 *   Wi-Fi or cellular link that goes silent does (no RST, no FIN). It keeps reading what each
 *   side writes (up to 16 MiB per direction, as the path's buffers would hold), and delivers it
 *   when the link heals; a side that closes meanwhile is closed on the other side only then;
 * - heals it;
 * - cuts it: resets every connection (RST), as a dying link or NAT box does;
 * - throttles it: at most BYTES per second in each direction of each connection.
 * Unlike a real partition, the proxy's own socket acknowledges what a side writes, so TCP
 * never times out either: the sender learns nothing, which is the case to test.
 *
 * Usage: es-faultproxy --to PORT [--listen PORT] [--port-file FILE] [--blackhole AT:FOR]...
 *                      [--cut AT]... [--throttle BYTES_PER_S]
 * SIGUSR1 toggles the blackhole, SIGUSR2 cuts, SIGTERM/SIGINT stop. Every event is one line on
 * stderr with its time. With --listen 0 (the default) it takes a free port and writes it to
 * --port-file (and stdout). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_EVENTS 32 /* scheduled faults */
#define HOLD_MAX (16u * 1024u * 1024u)
#define CHUNK 65536

/* One direction of a connection: bytes read from `from`, not yet written to `to`. */
struct pipe_dir {
    int from, to;
    uint8_t *buf;
    size_t len, cap;
    bool eof;      /* `from` closed: close `to` for writing once buf is written */
    double budget; /* throttle: bytes that may go now */
};

struct conn {
    bool used;
    struct pipe_dir d[2]; /* 0: client to server, 1: server to client */
};

struct fault {
    double at;
    int kind; /* 0 blackhole on, 1 heal, 2 cut */
    bool done;
};

static struct conn conns[MAX_CONNS];
static struct fault faults[MAX_EVENTS];
static int nfaults;
static volatile sig_atomic_t stop, toggle, cut_now;
static bool holed;
static double throttle; /* bytes per second per direction; 0: none */
static struct timespec t0;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void say(const char *what)
{
    fprintf(stderr, "FAULT %.3f s %s\n", now_s(), what);
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        toggle = 1;
    else if (sig == SIGUSR2)
        cut_now = 1;
    else
        stop = 1;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "es-faultproxy: %s\nusage: es-faultproxy --to PORT [--listen PORT] [--port-file FILE] "
            "[--blackhole AT:FOR]... [--cut AT]... [--throttle BYTES_PER_S]\n",
            why);
    return 2;
}

static bool parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

static bool add_fault(double at, int kind)
{
    if (nfaults >= MAX_EVENTS || !(at >= 0))
        return false;
    faults[nfaults++] = (struct fault){.at = at, .kind = kind};
    return true;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_conn(struct conn *c, bool reset)
{
    int fds[2] = {c->d[0].from, c->d[1].from};
    for (int i = 0; i < 2; i++) {
        if (reset) {
            struct linger l = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close(fds[i]);
        free(c->d[i].buf);
    }
    memset(c, 0, sizeof *c);
}

static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblock(fd);
    return fd;
}

/* Takes one waiting connection; false when none was waiting. */
static bool accept_one(int lfd, int to)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return false;
    int up = connect_upstream(to);
    struct conn *c = NULL;
    for (int i = 0; i < MAX_CONNS && !c; i++)
        if (!conns[i].used)
            c = &conns[i];
    if (up < 0 || !c) {
        close(fd);
        if (up >= 0)
            close(up);
        say(up < 0 ? "upstream refused a connection" : "too many connections");
        return true;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblock(fd);
    *c = (struct conn){.used = true};
    c->d[0] = (struct pipe_dir){.from = fd, .to = up, .budget = throttle};
    c->d[1] = (struct pipe_dir){.from = up, .to = fd, .budget = throttle};
    return true;
}

/* Reads what `from` has (up to HOLD_MAX held); returns false when the connection must go. */
static bool pull(struct pipe_dir *p)
{
    while (!p->eof && p->len < HOLD_MAX) {
        if (p->cap - p->len < CHUNK) {
            size_t cap = p->cap ? p->cap * 2 : 2 * CHUNK;
            uint8_t *b = realloc(p->buf, cap);
            if (!b)
                return false;
            p->buf = b;
            p->cap = cap;
        }
        ssize_t n = read(p->from, p->buf + p->len, CHUNK);
        if (n > 0) {
            p->len += (size_t)n;
        } else if (n == 0) {
            p->eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            return false; /* reset: pass it on */
        }
    }
    return true;
}

/* Writes what is held to `to`, within the throttle's budget. */
static bool push(struct pipe_dir *p)
{
    while (p->len > 0) {
        size_t n = p->len;
        if (throttle > 0) {
            if (p->budget < 1)
                return true;
            if ((double)n > p->budget)
                n = (size_t)p->budget;
        }
        ssize_t w = write(p->to, p->buf, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        memmove(p->buf, p->buf + w, p->len - (size_t)w);
        p->len -= (size_t)w;
        if (throttle > 0)
            p->budget -= (double)w;
    }
    if (p->eof)
        shutdown(p->to, SHUT_WR);
    return true;
}

static void pump(double dt)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        if (!c->used)
            continue;
        bool ok = true;
        for (int k = 0; k < 2 && ok; k++) {
            struct pipe_dir *p = &c->d[k];
            if (throttle > 0)
                p->budget =
                    p->budget + throttle * dt > throttle ? throttle : p->budget + throttle * dt;
            ok = pull(p) && (holed || push(p));
        }
        bool done = c->d[0].eof && c->d[1].eof && !c->d[0].len && !c->d[1].len;
        if (!ok || done)
            close_conn(c, !ok);
    }
}

static void apply(int kind)
{
    if (kind == 2) {
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i].used)
                close_conn(&conns[i], true);
        say("cut: every connection reset");
    } else {
        holed = kind == 0;
        say(holed ? "blackhole: nothing forwarded, nothing closed" : "healed: forwarding again");
    }
}

static int listen_on(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    set_nonblock(fd);
    *bound = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    int to = -1, listen_port = 0;
    const char *port_file = NULL;
    static const struct option longopts[] = {{"to", required_argument, NULL, 't'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"port-file", required_argument, NULL, 'p'},
                                             {"blackhole", required_argument, NULL, 'b'},
                                             {"cut", required_argument, NULL, 'c'},
                                             {"throttle", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        double at, len;
        char extra;
        switch (opt) {
        case 't':
            if (!parse_port(optarg, &to) || to == 0)
                return usage("--to must be a port 1..65535");
            break;
        case 'l':
            if (!parse_port(optarg, &listen_port))
                return usage("--listen must be a port 0..65535");
            break;
        case 'p':
            port_file = optarg;
            break;
        case 'b':
            if (sscanf(optarg, "%lf:%lf%c", &at, &len, &extra) != 2 || !(len > 0) ||
                !add_fault(at, 0) || !add_fault(at + len, 1))
                return usage("--blackhole must be AT:FOR in seconds, FOR > 0");
            break;
        case 'c':
            if (sscanf(optarg, "%lf%c", &at, &extra) != 1 || !add_fault(at, 2))
                return usage("--cut must be AT in seconds");
            break;
        case 'r':
            if (sscanf(optarg, "%lf%c", &throttle, &extra) != 1 || !(throttle >= 1))
                return usage("--throttle must be bytes per second >= 1");
            break;
        default:
            return usage("unknown option");
        }
    }
    if (to < 0 || optind != argc)
        return usage(to < 0 ? "--to is required" : "unexpected argument");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int bound = 0, lfd = listen_on(listen_port, &bound);
    if (lfd < 0) {
        fprintf(stderr, "es-faultproxy: cannot listen on 127.0.0.1:%d: %s\n", listen_port,
                strerror(errno));
        return 1;
    }
    printf("%d\n", bound);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0)
            return 1;
    }
    fprintf(stderr, "FAULT 0.000 s listening on 127.0.0.1:%d, forwarding to 127.0.0.1:%d\n", bound,
            to);
    double last = now_s();
    while (!stop) {
        /* A short poll keeps the schedule and the throttle to a few ms; the proxy only serves
         * a test's few connections. */
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
        double t = now_s();
        for (int i = 0; i < nfaults; i++)
            if (!faults[i].done && faults[i].at <= t) {
                faults[i].done = true;
                apply(faults[i].kind);
            }
        if (toggle) {
            toggle = 0;
            apply(holed ? 1 : 0);
        }
        if (cut_now) {
            cut_now = 0;
            apply(2);
        }
        for (int i = 0; i < 64 && accept_one(lfd, to); i++)
            ;
        pump(t - last);
        last = t;
    }
    say("stopped");
    return 0;
}

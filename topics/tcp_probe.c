#include "tcp_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One address: 0 and *fd connected (blocking again), or the errno of the failure. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *fd)
{
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0)
        return errno;
    int err = connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
        struct pollfd p = {.fd = s, .events = POLLOUT};
        socklen_t len = sizeof err;
        int rc;
        while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
            ;
        if (rc == 0)
            err = ETIMEDOUT;
        else if (rc < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    int flags = fcntl(s, F_GETFL);
    if (err == 0 && (flags < 0 || fcntl(s, F_SETFL, flags & ~O_NONBLOCK) != 0))
        err = errno;
    if (err != 0) {
        close(s);
        return err;
    }
    *fd = s;
    return 0;
}

int tcp_probe_connect(const char *host, int port, int timeout_ms, char *why, size_t n)
{
    if (n > 0)
        why[0] = '\0';
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        if (n > 0)
            snprintf(why, n, "%s", gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        err = connect_one(ai, timeout_ms > 0 ? timeout_ms : 1, &fd);
    freeaddrinfo(res);
    if (fd < 0 && n > 0)
        snprintf(why, n, "%s", strerror(err));
    return fd;
}

void tcp_probe_why(const char *host, int port, int timeout_ms, char *why, size_t n)
{
    int fd = tcp_probe_connect(host, port, timeout_ms, why, n);
    if (fd >= 0)
        close(fd);
}

/* The TCP probe on loopback: a listening port connects (in blocking mode), a closed one is
 * refused in words. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "tcp_probe.h"

/* A socket listening on 127.0.0.1 at a free port (*port), or -1. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int main(void)
{
    int port = 0, l = listener(&port);
    CHECK(l >= 0);
    char why[128] = "x";
    int fd = tcp_probe_connect("127.0.0.1", port, 1000, why, sizeof why);
    CHECK(fd >= 0);
    CHECK_EQ_INT(why[0], '\0');
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    if (fd >= 0)
        close(fd);
    tcp_probe_why("127.0.0.1", port, 1000, why, sizeof why);
    CHECK_EQ_INT(why[0], '\0');
    close(l); /* the port is closed now: nothing listens there */
    fd = tcp_probe_connect("127.0.0.1", port, 1000, why, sizeof why);
    CHECK_EQ_INT(fd, -1);
    CHECK(strcmp(why, "Connection refused") == 0);
    tcp_probe_why("127.0.0.1", port, 1000, why, sizeof why);
    CHECK(strcmp(why, "Connection refused") == 0);
    CHECK_EQ_INT(tcp_probe_connect("127.0.0.1", port, 1000, NULL, 0), -1);
    return check_exit();
}

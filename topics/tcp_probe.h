/* A plain TCP connection with a time limit, to say in the network's words why a library's own
 * connect failed ("Connection refused", "No route to host", a resolver error), or to run a
 * handshake of our own (the TLS probe). */
#ifndef ES_TCP_PROBE_H
#define ES_TCP_PROBE_H

#include <stddef.h>

/* Connects to host:port, trying each address the resolver gives, each within timeout_ms (> 0).
 * Returns the connected socket, in blocking mode, which the caller closes; or -1 with the reason
 * in why (n bytes; why may be NULL when n is 0): the resolver's text, or strerror of the last
 * address's failure ("Connection timed out" when the time ran out). */
int tcp_probe_connect(const char *host, int port, int timeout_ms, char *why, size_t n);

/* Why a TCP connection to host:port fails, into why; empty when it succeeds (the socket is
 * closed). */
void tcp_probe_why(const char *host, int port, int timeout_ms, char *why, size_t n);

#endif

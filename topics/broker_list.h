/* Broker addresses as users write them: "H[:P][,H2[:P2]...]", an IPv6 address in brackets when a
 * port follows ("[::1]:1883"), and the URIs Paho connects to ("tcp://H:P", "ssl://[::1]:P").
 * Pure: no I/O. */
#ifndef ES_BROKER_LIST_H
#define ES_BROKER_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"

#define BROKER_LIST_MAX 8
#define BROKER_HOST_MAX 255

struct broker_addr {
    char host[BROKER_HOST_MAX + 1]; /* without brackets */
    int port;                       /* 1..65535 */
};

/* Parses spec into out[0..*n-1] (at most max entries); an entry without a port gets
 * default_port. Returns ES_EINVAL for NULL arguments, an empty entry, a bad port or bracket, a
 * host longer than BROKER_HOST_MAX or with characters outside [A-Za-z0-9.:_-] (so nothing that
 * could change a URI), and ES_ELIMIT for more than max entries. *n is written only on success. */
enum es_err broker_list_parse(const char *spec, int default_port, struct broker_addr *out, int max,
                              int *n);

/* Writes "tcp://HOST:PORT" (ssl:// when tls), with brackets around an IPv6 host, into buf (n
 * bytes, truncated if needed). */
void broker_uri(const struct broker_addr *a, bool tls, char *buf, size_t n);

#endif

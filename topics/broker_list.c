#include "broker_list.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A name or IPv4 address ([A-Za-z0-9._-]), or an IPv6 address ([0-9A-Fa-f:.], colons). */
static bool host_chars_ok(const char *h)
{
    if (!*h)
        return false;
    if (strchr(h, ':'))
        return strspn(h, "0123456789abcdefABCDEF:.") == strlen(h);
    for (; *h; h++) {
        char c = *h;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Parses one entry, e (len bytes, not NUL-terminated). */
static enum es_err parse_entry(const char *e, size_t len, int default_port, struct broker_addr *a)
{
    char buf[BROKER_HOST_MAX + 16];
    if (len == 0 || len >= sizeof buf)
        return ES_EINVAL;
    memcpy(buf, e, len);
    buf[len] = '\0';
    char *host = buf, *port = NULL;
    if (buf[0] == '[') { /* [v6] or [v6]:port */
        char *close = strchr(buf, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return ES_EINVAL;
        *close = '\0';
        host = buf + 1;
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) { /* host:port */
        port = strchr(buf, ':');
        *port++ = '\0';
    } /* else a name, an IPv4 address or a bare IPv6 address: no port */
    long p = default_port;
    if ((port && cli_parse_long(port, 1, 65535, &p) != ES_OK) || strlen(host) > BROKER_HOST_MAX ||
        !host_chars_ok(host))
        return ES_EINVAL;
    memcpy(a->host, host, strlen(host) + 1); /* fits: checked above */
    a->port = (int)p;
    return ES_OK;
}

enum es_err broker_list_parse(const char *spec, int default_port, struct broker_addr *out, int max,
                              int *n)
{
    if (!spec || !out || !n || max <= 0)
        return ES_EINVAL;
    int count = 0;
    for (const char *p = spec;; count++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (count >= max)
            return ES_ELIMIT;
        enum es_err err = parse_entry(p, len, default_port, &out[count]);
        if (err != ES_OK)
            return err;
        if (!comma)
            break;
        p = comma + 1;
    }
    *n = count + 1;
    return ES_OK;
}

void broker_uri(const struct broker_addr *a, bool tls, char *buf, size_t n)
{
    bool v6 = strchr(a->host, ':') != NULL;
    snprintf(buf, n, "%s://%s%s%s:%d", tls ? "ssl" : "tcp", v6 ? "[" : "", a->host, v6 ? "]" : "",
             a->port);
}

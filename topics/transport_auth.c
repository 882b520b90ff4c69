/* The transport's security and diagnostics: the password file, warnings about weak settings,
 * OpenSSL's errors, and the cause of a failed connect in words. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "transport_impl.h"

/* OpenSSL's errors for the connection being set up: the last one names the cause. */
int transport__tls_error(const char *str, size_t len, void *u)
{
    struct transport *t = u;
    pthread_mutex_lock(&t->lock);
    snprintf(t->tls_error, sizeof t->tls_error, "%.*s", (int)len, str);
    size_t n = strlen(t->tls_error);
    while (n && (t->tls_error[n - 1] == '\n' || t->tls_error[n - 1] == '\r'))
        t->tls_error[--n] = '\0';
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Reads the first line of the password file into t->password. */
enum es_err transport__read_password(struct transport *t, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512] = "";
    bool ok = f && fgets(line, sizeof line, f) != NULL;
    int err = errno;
    if (f)
        fclose(f);
    if (!ok) {
        log_msg(LOG_ERROR, "MQTT-OPTS", "cannot read password file %s: %s", path,
                f ? "it is empty" : strerror(err));
        return ES_EINVAL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    t->password = strdup(line);
    memset(line, 0, sizeof line);
    return t->password ? ES_OK : ES_ENOMEM;
}

/* One line for each weak setting a user may not have meant. */
void transport__warn_weak(const struct transport *t)
{
    const struct transport_opts *o = &t->o;
    if (!o->tls && (o->username || o->password || t->password))
        log_msg(LOG_WARN, "MQTT-PLAINTEXT",
                "credentials for %s go to %s without TLS: anyone on the path can read them",
                o->username ? o->username : o->client_id, t->uri);
    if (o->tls && o->tls_no_verify)
        log_msg(LOG_WARN, "MQTT-NO-VERIFY",
                "the broker's certificate is not checked (--insecure): anyone on the path to %s "
                "can read and change the traffic",
                t->uri);
}

/* Paho's failure text for a refused TCP connection is vague; a plain connect says why. */
static void probe_tcp(const char *host, int port, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "%s", gai_strerror(rc));
        return;
    }
    int err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        close(fd);
        if (err == 0)
            break;
    }
    freeaddrinfo(res);
    if (err != 0)
        snprintf(why, whylen, "%s", strerror(err));
}

/* Replaces Paho's vague text for a failure below MQTT with its cause: nothing listening or the
 * host unreachable (a plain TCP connect says which), or the TLS error OpenSSL reported. */
void transport__explain_failure(struct transport *t, char *why, size_t n)
{
    if (strncmp(why, "refused by the broker", 21) == 0)
        return;
    char tcp[160] = "";
    probe_tcp(t->o.host, t->port, tcp, sizeof tcp);
    if (tcp[0]) {
        snprintf(why, n, "%s", tcp);
        return;
    }
    pthread_mutex_lock(&t->lock);
    if (t->tls_error[0])
        snprintf(why, n, "TLS: %s", t->tls_error);
    pthread_mutex_unlock(&t->lock);
}

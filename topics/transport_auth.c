/* The transport's security and diagnostics: the password file, warnings about weak settings,
 * OpenSSL's errors, and the cause of a failed connect in words. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "log.h"
#include "tcp_probe.h"
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

/* How long a probe's TCP connect may take: a broker that is there answers at once. */
#define PROBE_TIMEOUT_MS 2000

/* The reason a TLS handshake with the options of t fails, in words, into why (n bytes); empty
 * when it succeeds. Paho reports several failures (a certificate for another host, a client
 * certificate the broker refuses) only as "TCP/TLS connect failure": a handshake of our own
 * with the same settings says which. */
static void probe_tls(const struct transport *t, char *why, size_t n)
{
    const struct transport_opts *o = &t->o;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = -1;
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        goto cleanup;
    if ((o->cafile ? SSL_CTX_load_verify_locations(ctx, o->cafile, NULL)
                   : SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
        (o->certfile && SSL_CTX_use_certificate_chain_file(ctx, o->certfile) != 1) ||
        (o->keyfile && SSL_CTX_use_PrivateKey_file(ctx, o->keyfile, SSL_FILETYPE_PEM) != 1)) {
        snprintf(why, n, "cannot load the certificates or key: %s",
                 ERR_reason_error_string(ERR_peek_last_error()));
        goto cleanup;
    }
    SSL_CTX_set_verify(ctx, o->tls_no_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    fd = tcp_probe_connect(t->servers[0].host, t->port, PROBE_TIMEOUT_MS, NULL, 0);
    ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    const char *host = t->servers[0].host;
    if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, host) ||
        (!o->tls_no_verify && !o->tls_no_hostname && !SSL_set1_host(ssl, host)))
        goto cleanup;
    /* TLS 1.3 reports a refused client certificate after the handshake: wait briefly for the
     * broker's alert (an accepted client gets nothing: the broker waits for its CONNECT) */
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    if (SSL_connect(ssl) == 1 && (SSL_read(ssl, &byte, 1) > 0 || !ERR_peek_error()))
        goto cleanup;
    long verify = SSL_get_verify_result(ssl);
    unsigned long err = ERR_peek_last_error();
    if (verify != X509_V_OK)
        snprintf(why, n, "the broker's certificate: %s", X509_verify_cert_error_string(verify));
    else if (err)
        snprintf(why, n, "%s", ERR_reason_error_string(err));
cleanup:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
}

/* Replaces Paho's vague text for a failure below MQTT with its cause: nothing listening or the
 * host unreachable (a plain TCP connect says which), or the TLS error OpenSSL reported. */
void transport__explain_failure(struct transport *t, char *why, size_t n)
{
    if (strncmp(why, "refused by the broker", 21) == 0)
        return;
    char tcp[160] = "";
    /* Paho's text for a refused TCP connection is vague; a plain connect says why */
    tcp_probe_why(t->servers[0].host, t->port, PROBE_TIMEOUT_MS, tcp, sizeof tcp);
    if (tcp[0]) {
        snprintf(why, n, "%s", tcp);
        return;
    }
    char tls[200] = "";
    if (t->o.tls)
        probe_tls(t, tls, sizeof tls);
    pthread_mutex_lock(&t->lock);
    if (tls[0])
        snprintf(why, n, "TLS: %s", tls);
    else if (t->tls_error[0])
        snprintf(why, n, "TLS: %s", t->tls_error);
    pthread_mutex_unlock(&t->lock);
}

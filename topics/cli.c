#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker_list.h"
#include "log.h"

enum es_err cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return ES_EINVAL;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return ES_EINVAL;
    *out = v;
    return ES_OK;
}

enum es_err cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return ES_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return ES_EINVAL;
    *out = v;
    return ES_OK;
}

enum es_err cli_broker_defaults(struct transport_opts *o, char *why, size_t whylen)
{
    const char *host = getenv("HOST");
    const char *port = getenv("PORT");
    o->host = host && *host ? host : "localhost";
    o->port = 0;
    o->username = getenv("MQTT_USERNAME");
    o->password = getenv("MQTT_PASSWORD");
    if (port && *port) {
        long p;
        if (cli_parse_long(port, 1, 65535, &p) != ES_OK) {
            snprintf(why, whylen, "PORT must be a port number 1..65535, not '%s'", port);
            return ES_EINVAL;
        }
        o->port = (int)p;
    }
    return ES_OK;
}

enum es_err cli_broker_option(struct transport_opts *o, int opt, const char *arg, char *why,
                              size_t whylen)
{
    long p;
    switch (opt) {
    case CLI_HOST: {
        struct broker_addr list[BROKER_LIST_MAX];
        int n;
        if (broker_list_parse(arg, 1883, list, BROKER_LIST_MAX, &n) != ES_OK) {
            snprintf(why, whylen,
                     "--host must be HOST[:PORT][,HOST[:PORT]...] (at most %d), not '%s'",
                     BROKER_LIST_MAX, arg);
            return ES_EINVAL;
        }
        o->host = arg;
        return ES_OK;
    }
    case CLI_PORT:
        if (cli_parse_long(arg, 1, 65535, &p) != ES_OK) {
            snprintf(why, whylen, "--port must be a port number 1..65535, not '%s'", arg);
            return ES_EINVAL;
        }
        o->port = (int)p;
        return ES_OK;
    case CLI_TLS:
        o->tls = true;
        return ES_OK;
    case CLI_CAFILE:
        o->cafile = arg;
        return ES_OK;
    case CLI_CERT:
        o->certfile = arg;
        return ES_OK;
    case CLI_KEY:
        o->keyfile = arg;
        return ES_OK;
    case CLI_INSECURE:
        o->tls_no_verify = true;
        return ES_OK;
    case CLI_NO_HOSTNAME:
        o->tls_no_hostname = true;
        return ES_OK;
    case CLI_USERNAME:
        o->username = arg;
        return ES_OK;
    case CLI_PASSWORD:
        log_msg(LOG_WARN, "CLI-PASSWORD",
                "--password is visible to other users of this machine (ps): prefer "
                "--password-file or MQTT_PASSWORD");
        o->password = arg;
        return ES_OK;
    case CLI_PASSWORD_FILE:
        o->password_file = arg;
        return ES_OK;
    case CLI_MQTT_VERSION:
        if (cli_parse_long(arg, 3, 5, &p) != ES_OK || p == 4) {
            snprintf(why, whylen, "--mqtt-version must be 5 or 3 (3.1.1), not '%s'", arg);
            return ES_EINVAL;
        }
        o->mqtt_version = (int)p;
        return ES_OK;
    default:
        snprintf(why, whylen, "unknown broker option");
        return ES_EINVAL;
    }
}

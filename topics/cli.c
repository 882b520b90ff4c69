#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_list.h"
#include "log.h"
#include "topic.h"

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
    case CLI_KEEPALIVE:
        if (cli_parse_long(arg, 1, 3600, &p) != ES_OK) {
            snprintf(why, whylen, "--keepalive must be 1..3600 seconds, not '%s'", arg);
            return ES_EINVAL;
        }
        o->keepalive_s = (int)p;
        return ES_OK;
    default:
        snprintf(why, whylen, "unknown broker option");
        return ES_EINVAL;
    }
}

#define CONFIG_LINE_MAX 1024
#define CONFIG_OPTS_MAX 128

/* The file named by --config before any "--" in argv, or NULL. */
static const char *config_path(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

/* Appends a copy of s to v (room for it is there). */
static bool push(char **v, int *n, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        return false;
    memcpy(c, s, len);
    c[len] = '\0';
    v[(*n)++] = c;
    return true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* One line of the file into v: "--name" and, when given, the value. */
static enum es_err config_line(char *line, char **v, int *n, const char *path, int lineno,
                               char *why, size_t whylen)
{
    char *s = trim(line);
    if (!*s || *s == '#')
        return ES_OK;
    char *eq = strchr(s, '=');
    char *value = NULL;
    if (eq) {
        *eq = '\0';
        value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
    }
    char *name = trim(s);
    size_t nl = strlen(name);
    bool ok = nl > 0 && nl < 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == nl &&
              name[0] != '-' && strcmp(name, "config") != 0 && (!eq || *value);
    if (!ok) {
        snprintf(why, whylen,
                 "%s:%d: expected 'name = value' or 'name' with a long option's name (no "
                 "dashes, not config)",
                 path, lineno);
        return ES_EINVAL;
    }
    char opt[70];
    snprintf(opt, sizeof opt, "--%s", name);
    if (!push(v, n, opt, strlen(opt)) || (value && !push(v, n, value, strlen(value))))
        return ES_ENOMEM;
    return ES_OK;
}

static enum es_err read_config(const char *path, char **v, int *n, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read --config %s: %s", path, strerror(errno));
        return ES_EINVAL;
    }
    char line[CONFIG_LINE_MAX];
    enum es_err err = ES_OK;
    for (int lineno = 1; err == ES_OK && fgets(line, sizeof line, f); lineno++) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(why, whylen, "%s:%d: line longer than %d bytes", path, lineno,
                     CONFIG_LINE_MAX - 2);
            err = ES_EINVAL;
        } else if (*n + 2 > CONFIG_OPTS_MAX * 2) {
            snprintf(why, whylen, "%s: more than %d options", path, CONFIG_OPTS_MAX);
            err = ES_EINVAL;
        } else {
            err = config_line(line, v, n, path, lineno, why, whylen);
        }
    }
    fclose(f);
    return err;
}

enum es_err cli_config_expand(int argc, char **argv, int *out_argc, char ***out_argv, char *why,
                              size_t whylen)
{
    int given = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        bool split = strcmp(argv[i], "--config") == 0;
        if (split && i + 1 >= argc) {
            snprintf(why, whylen, "--config needs a file");
            return ES_EINVAL;
        }
        given += split || strncmp(argv[i], "--config=", 9) == 0;
        i += split;
    }
    if (given > 1) {
        snprintf(why, whylen, "--config given more than once");
        return ES_EINVAL;
    }
    char **v = calloc((size_t)argc + 2 * CONFIG_OPTS_MAX + 1, sizeof *v);
    int n = 0;
    if (!v || !push(v, &n, argv[0], strlen(argv[0]))) {
        cli_config_free(v);
        return ES_ENOMEM;
    }
    const char *path = config_path(argc, argv);
    enum es_err err = path ? read_config(path, v, &n, why, whylen) : ES_OK;
    bool options = true; /* before "--" */
    for (int i = 1; err == ES_OK && i < argc; i++) {
        options = options && strcmp(argv[i], "--") != 0;
        if (options && strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (options && strncmp(argv[i], "--config=", 9) == 0)
            continue;
        if (!push(v, &n, argv[i], strlen(argv[i])))
            err = ES_ENOMEM;
    }
    if (err != ES_OK) {
        cli_config_free(v);
        return err;
    }
    *out_argc = n;
    *out_argv = v;
    return ES_OK;
}

void cli_config_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

enum es_err cli_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return ES_EINVAL;
}

enum es_err cli_check_id(const char *option, const char *arg, char *why, size_t whylen)
{
    if (topic_valid_id(arg))
        return ES_OK;
    snprintf(why, whylen, "%s must match [A-Za-z0-9_-]{1,64}", option);
    return ES_EINVAL;
}

/* The shared options beside the broker's, with ids below CLI_PROGRAM_OPT. */
enum { CLI_LOG_LEVEL = 1900, CLI_HELP };

#define CLI_MAX_OPTIONS 96

static int bad(const struct cli_program *p, const char *why)
{
    fprintf(stderr, "%s: %s (try --help)\n", p->name, why);
    return 2;
}

/* The program's table after the shared options; false when it does not fit. */
static bool join_options(const struct cli_program *p, struct option *all)
{
    static const struct option shared[] = {
        CLI_BROKER_LONGOPTS,
        {"log-level", required_argument, NULL, CLI_LOG_LEVEL},
        {"help", no_argument, NULL, CLI_HELP},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        all[n++] = shared[i];
    for (const struct option *o = p->options; o && o->name; o++) {
        if (n + 1 >= CLI_MAX_OPTIONS)
            return false;
        all[n++] = *o;
    }
    all[n] = (struct option){NULL, 0, NULL, 0};
    return true;
}

/* Applies a shared option; ES_OK, ES_EINVAL with why, or ES_EEOF for --help. */
static enum es_err shared_option(const struct cli_program *p, void *opts, int opt, const char *arg,
                                 char *why, size_t whylen)
{
    if (opt == CLI_HELP)
        return ES_EEOF;
    if (opt == CLI_LOG_LEVEL) {
        enum log_level level;
        if (log_parse_level(arg, &level) != 0) {
            snprintf(why, whylen, "--log-level must be error, warn, info or debug");
            return ES_EINVAL;
        }
        log_set_level(level);
        return ES_OK;
    }
    if (opt >= CLI_PROGRAM_OPT)
        return p->apply(opts, opt, arg, why, whylen);
    return cli_broker_option((struct transport_opts *)((char *)opts + p->broker_offset), opt, arg,
                             why, whylen);
}

int cli_parse(const struct cli_program *p, int argc, char **argv, void *opts)
{
    struct option all[CLI_MAX_OPTIONS];
    char why[512] = "";
    if (!join_options(p, all))
        return bad(p, "too many options in the program's table");
    memset(opts, 0, p->opts_size);
    if (p->defaults)
        p->defaults(opts);
    if (cli_broker_defaults((struct transport_opts *)((char *)opts + p->broker_offset), why,
                            sizeof why) != ES_OK)
        return bad(p, why);
    opterr = 0;
    optind = 0; /* a full restart of getopt: the configuration may be read again (SIGHUP) */
    int opt;
    while ((opt = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        if (opt == '?') {
            snprintf(why, sizeof why, "unknown or incomplete option '%s'", argv[optind - 1]);
            return bad(p, why);
        }
        enum es_err err =
            opt == 'h' ? ES_EEOF : shared_option(p, opts, opt, optarg, why, sizeof why);
        if (err == ES_EEOF) {
            p->usage(stdout);
            return 1;
        }
        if (err != ES_OK)
            return bad(p, why[0] ? why : es_strerror(err));
    }
    if (p->finish && p->finish(opts, argc - optind, argv + optind, why, sizeof why) != ES_OK)
        return bad(p, why);
    if (!p->finish && optind < argc) {
        snprintf(why, sizeof why, "unexpected argument '%s'", argv[optind]);
        return bad(p, why);
    }
    return 0;
}

int cli_start(struct cli_cmdline *c, const struct cli_program *p, int argc, char **argv, void *opts)
{
    char why[512];
    int xargc;
    *c = (struct cli_cmdline){.program = p, .argc = argc, .argv = argv};
    if (cli_config_expand(argc, argv, &xargc, &c->xargv, why, sizeof why) != ES_OK)
        return bad(p, why);
    int rc = cli_parse(p, xargc, c->xargv, opts);
    if (rc != 0)
        cli_end(c);
    return rc;
}

bool cli_reread(const struct cli_cmdline *c, void *fresh)
{
    char why[512];
    int xargc;
    char **xargv = NULL;
    if (cli_config_expand(c->argc, c->argv, &xargc, &xargv, why, sizeof why) != ES_OK) {
        fprintf(stderr, "%s: %s\n", c->program->name, why);
        return false;
    }
    log_set_level(LOG_INFO); /* the default, unless the configuration says otherwise */
    int rc = cli_parse(c->program, xargc, xargv, fresh);
    cli_config_free(xargv);
    return rc == 0;
}

void cli_end(struct cli_cmdline *c)
{
    cli_config_free(c->xargv);
    c->xargv = NULL;
}

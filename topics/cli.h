/* The command-line front end shared by the programs: one parser (cli_parse) that reads a
 * --config file, the broker options (--host, --port, TLS and credentials), --log-level and --help
 * for every program and hands the rest to the program's own table; the same one-line errors and
 * exit statuses everywhere; strict number parsing and id checks; the re-reading on SIGHUP. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "es_err.h"
#include "transport.h"

/* Parses a whole decimal integer in [min, max]; ES_EINVAL otherwise (no sign tricks, no
 * trailing characters, no overflow). */
enum es_err cli_parse_long(const char *s, long min, long max, long *out);

/* Parses a whole finite number in [min, max]; ES_EINVAL otherwise. */
enum es_err cli_parse_double(const char *s, double min, double max, double *out);

/* Option ids of the broker options, above any single-character option. */
enum cli_broker_opt {
    CLI_HOST = 1000,
    CLI_PORT,
    CLI_TLS,
    CLI_CAFILE,
    CLI_CERT,
    CLI_KEY,
    CLI_INSECURE,
    CLI_NO_HOSTNAME,
    CLI_USERNAME,
    CLI_PASSWORD,
    CLI_PASSWORD_FILE,
    CLI_MQTT_VERSION,
    CLI_KEEPALIVE,
};

/* getopt_long entries for the broker options, to splice into a program's table. */
#define CLI_BROKER_LONGOPTS                                                                        \
    {"host", required_argument, NULL, CLI_HOST}, {"port", required_argument, NULL, CLI_PORT},      \
        {"tls", no_argument, NULL, CLI_TLS}, {"cafile", required_argument, NULL, CLI_CAFILE},      \
        {"cert", required_argument, NULL, CLI_CERT}, {"key", required_argument, NULL, CLI_KEY},    \
        {"insecure", no_argument, NULL, CLI_INSECURE},                                             \
        {"tls-no-hostname", no_argument, NULL, CLI_NO_HOSTNAME},                                   \
        {"username", required_argument, NULL, CLI_USERNAME},                                       \
        {"password", required_argument, NULL, CLI_PASSWORD},                                       \
        {"mqtt-version", required_argument, NULL, CLI_MQTT_VERSION},                               \
        {"keepalive", required_argument, NULL, CLI_KEEPALIVE},                                     \
    {                                                                                              \
        "password-file", required_argument, NULL, CLI_PASSWORD_FILE                                \
    }

/* The help text for the broker options, one option per line. */
#define CLI_BROKER_HELP                                                                            \
    "  --host H[,H2...]  broker host, or a list tried in turn: H[:P][,H2[:P2]...]\n"               \
    "                    (env HOST, default localhost)\n"                                          \
    "  --mqtt-version V  5, or 3 for 3.1.1 (default: 5, then 3.1.1 if the broker refuses 5)\n"     \
    "  --port P          broker port (env PORT, default 1883, 8883 with --tls)\n"                  \
    "  --tls             connect with TLS 1.2+; --cafile FILE, --cert FILE, --key FILE\n"          \
    "  --tls-no-hostname with --tls, check the certificate chain but not the host name\n"          \
    "  --insecure        with --tls, check no certificate at all (warned; for tests only)\n"       \
    "  --username U      credentials (env MQTT_USERNAME / MQTT_PASSWORD)\n"                        \
    "  --password-file F the password is F's first line\n"                                         \
    "  --password P      (visible to other users in ps: prefer the two above)\n"                   \
    "  --keepalive S     MQTT keepalive, seconds: a link that goes silent is noticed within\n"     \
    "                    twice that (default: edge-agent 2, cloud-worker 5, others 20)\n"

/* Fills o's broker fields from the environment (HOST, PORT, MQTT_USERNAME, MQTT_PASSWORD) and
 * defaults. Returns ES_EINVAL with a message in why when PORT is malformed. */
enum es_err cli_broker_defaults(struct transport_opts *o, char *why, size_t whylen);

/* Applies one broker option (opt from enum cli_broker_opt, arg its value). Returns ES_EINVAL
 * with a one-line reason in why for a bad value. o keeps pointers into arg. */
enum es_err cli_broker_option(struct transport_opts *o, int opt, const char *arg, char *why,
                              size_t whylen);

/* --config FILE, for both programs: options from a file, one per line, "name = value" or a bare
 * "name" for a flag, with the long option's name ("host = broker.local", "tls", "log-level =
 * debug"); blank lines and lines starting with '#' are skipped; a value may be in double quotes.
 * Returns in *out_argv a new argument vector: argv[0], then the file's options as "--name"
 * "value", then the rest of argv without the --config option, so that the command line, read
 * later, wins over the file. Without --config it is a copy of argv. The caller frees it with
 * cli_config_free. ES_EINVAL with a one-line reason in why ("FILE:LINE: ...") for an unreadable
 * file, a malformed line, --config given twice or without a value; ES_ENOMEM. */
enum es_err cli_config_expand(int argc, char **argv, int *out_argc, char ***out_argv, char *why,
                              size_t whylen);

/* Frees what cli_config_expand returned. Accepts NULL. */
void cli_config_free(char **argv);

/* Checks an id option's value (a device, worker or group id: [A-Za-z0-9_-]{1,64}, which topics
 * can carry). ES_EINVAL with "--OPTION must match ..." in why. */
enum es_err cli_check_id(const char *option, const char *arg, char *why, size_t whylen);

/* Writes a formatted one-line reason into why and returns ES_EINVAL, for apply and finish. */
enum es_err cli_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Option ids of a program's own options start here, above the shared ones. */
#define CLI_PROGRAM_OPT 2000

/* One program's command line. opts is the program's own options structure. */
struct cli_program {
    const char *name;             /* prefix of every error line: "edge-agent" */
    const struct option *options; /* the program's own long options, {NULL,...}-terminated,
                                   * with ids from CLI_PROGRAM_OPT */
    void (*usage)(FILE *out);     /* the --help text */
    size_t opts_size;             /* sizeof the options structure */
    size_t broker_offset;         /* offsetof the struct transport_opts inside opts */
    void (*defaults)(void *opts); /* sets every default (opts is zeroed before) */
    /* Applies one of the program's options: ES_OK, or ES_EINVAL with a one-line reason in why. */
    enum es_err (*apply)(void *opts, int opt, const char *arg, char *why, size_t whylen);
    /* After every option: takes the positional arguments (n of them) and checks the whole;
     * ES_OK, or ES_EINVAL with a one-line reason. */
    enum es_err (*finish)(void *opts, int n, char **args, char *why, size_t whylen);
};

/* Parses argv (already expanded by cli_config_expand) into opts: the shared options, then the
 * program's own. Returns 0 to run, 1 after printing --help on stdout, 2 after printing one line
 * "NAME: reason (try --help)" on stderr. opts keeps pointers into argv. Restarts getopt, so it may
 * be called again (SIGHUP). */
int cli_parse(const struct cli_program *p, int argc, char **argv, void *opts);

/* The command line of a running program, kept to read it (and its --config file) again. */
struct cli_cmdline {
    const struct cli_program *program;
    int argc;
    char **argv;  /* as given to main */
    char **xargv; /* expanded: what opts points into until cli_end */
};

/* The whole front end for main(): expands --config, then cli_parse. Returns as cli_parse: 0 to
 * run (call cli_end when done with opts), 1 after --help (exit 0), 2 after one error line. */
int cli_start(struct cli_cmdline *c, const struct cli_program *p, int argc, char **argv,
              void *opts);

/* Reads the command line and its --config file again into fresh (the log level back to its
 * default first, so a removed log-level line takes effect). fresh's pointers into the file's
 * text are not valid after the call: take only numbers and enums from it. Returns false after
 * printing why on stderr; the running settings then stay. */
bool cli_reread(const struct cli_cmdline *c, void *fresh);

/* Frees what cli_start kept. */
void cli_end(struct cli_cmdline *c);

#endif

/* Command-line pieces shared by the programs: strict number parsing and the broker options
 * (--host, --port, TLS and credentials) every program that talks to a broker accepts. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <getopt.h>
#include <stdbool.h>

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
    "  --password P      (visible to other users in ps: prefer the two above)\n"

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

#endif

/* Unit: the shared command-line front end (cli_parse) with a toy program: its own options, the
 * shared ones (broker, --log-level, --help), positionals through finish, the exit statuses, and
 * a parse run twice (as on SIGHUP). stderr lines are checked by test_cli on the real programs. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"

struct toy {
    struct transport_opts broker;
    long count;
    const char *id;
    int npos;
};

enum { TOY_COUNT = CLI_PROGRAM_OPT, TOY_ID };

static const struct option toy_options[] = {
    {"count", required_argument, NULL, TOY_COUNT},
    {"id", required_argument, NULL, TOY_ID},
    {NULL, 0, NULL, 0},
};

static void toy_usage(FILE *out)
{
    fputs("usage: toy\n", out);
}

static void toy_defaults(void *opts)
{
    ((struct toy *)opts)->count = 7;
}

static enum es_err toy_apply(void *opts, int opt, const char *arg, char *why, size_t n)
{
    struct toy *t = opts;
    if (opt == TOY_COUNT)
        return cli_parse_long(arg, 1, 100, &t->count) == ES_OK
                   ? ES_OK
                   : cli_fail(why, n, "--count must be 1..100");
    if (opt == TOY_ID) {
        t->id = arg;
        return cli_check_id("--id", arg, why, n);
    }
    return ES_EINVAL;
}

static enum es_err toy_finish(void *opts, int n, char **args, char *why, size_t whylen)
{
    (void)args;
    ((struct toy *)opts)->npos = n;
    return n <= 1 ? ES_OK : cli_fail(why, whylen, "at most one argument");
}

static const struct cli_program toy = {
    .name = "toy",
    .options = toy_options,
    .usage = toy_usage,
    .opts_size = sizeof(struct toy),
    .broker_offset = offsetof(struct toy, broker),
    .defaults = toy_defaults,
    .apply = toy_apply,
    .finish = toy_finish,
};

static int run(struct toy *t, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {"toy", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argc < 5 && argv[argc])
        argc++;
    return cli_parse(&toy, argc, argv, t);
}

int main(void)
{
    struct toy t;
    CHECK_EQ_INT(run(&t, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(t.count, 7); /* the default */
    CHECK_EQ_INT(run(&t, "--count", "12", "--port", "1999"), 0);
    CHECK_EQ_INT(t.count, 12);
    CHECK_EQ_INT(t.broker.port, 1999); /* a shared option, in the program's structure */
    CHECK_EQ_INT(run(&t, "--count", "1", "--count", "3"), 0);
    CHECK_EQ_INT(t.count, 3); /* the last one wins: the command line after a config file */
    CHECK_EQ_INT(run(&t, "--count", "0", NULL, NULL), 2);
    CHECK_EQ_INT(run(&t, "--id", "bad id", NULL, NULL), 2);
    CHECK_EQ_INT(run(&t, "--id", "cam-01", NULL, NULL), 0);
    CHECK(t.id && strcmp(t.id, "cam-01") == 0);
    CHECK_EQ_INT(run(&t, "--nope", NULL, NULL, NULL), 2);
    CHECK_EQ_INT(run(&t, "--count", NULL, NULL, NULL), 2); /* no value */
    CHECK_EQ_INT(run(&t, "--log-level", "loud", NULL, NULL), 2);
    CHECK_EQ_INT(run(&t, "--log-level", "warn", "pos", NULL), 0);
    CHECK_EQ_INT(t.npos, 1);
    CHECK_EQ_INT(run(&t, "a", "b", NULL, NULL), 2); /* finish refuses */
    CHECK_EQ_INT(run(&t, "--port", "0", NULL, NULL), 2);
    CHECK_EQ_INT(run(&t, "--help", NULL, NULL, NULL), 1);
    CHECK_EQ_INT(run(&t, "-h", NULL, NULL, NULL), 1);
    /* A second parse starts afresh: defaults again, getopt restarted. */
    CHECK_EQ_INT(run(&t, "--count", "50", NULL, NULL), 0);
    CHECK_EQ_INT(run(&t, NULL, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(t.count, 7);
    return check_exit();
}

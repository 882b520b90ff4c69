/* fleet-planner: picks every automatic device's split so that the fleet's goals are met with the
 * least cloud CPU, and shares the cloud by the README's rule when it cannot serve everyone. */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fleet.h"
#include "json_frame.h"
#include "topic.h"

enum {
    OPT_ID = CLI_PROGRAM_OPT,
    OPT_GROUP,
    OPT_WINDOW,
    OPT_TTL,
    OPT_UTILIZATION,
    OPT_MARGIN,
    OPT_SMOOTHING,
};

struct planner_cli {
    struct fleet_opts f;
    char id_buf[80];
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out)
{
    fputs("usage: fleet-planner [OPTIONS]\n"
          "Reads every device's stats (pipeline/stats/+) and every worker's load, and once per\n"
          "window publishes a split for every device in automatic mode, retained on\n"
          "pipeline/plan/<device>: each goal that can be met is met with the least cloud CPU;\n"
          "when the cloud cannot serve every goal, the most goals are met, then the lowest\n"
          "share of its goal a device gets is raised. Planners of one group elect one leader.\n"
          "options:\n"
          "  --config FILE     options from FILE, one 'name = value' (or 'name') per line with\n"
          "                    the long names below; the command line wins over the "
          "file\n" CLI_BROKER_HELP
          "  --planner-id ID   client id, [A-Za-z0-9_-]{1,64} (default planner-<host>-<pid>)\n"
          "  --group NAME      planners of one group share one leader (default fleet)\n"
          "  --window S        decide every S seconds (default 3)\n"
          "  --ttl-windows N   a plan holds N windows unless published again (default 2)\n"
          "  --utilization U   share of the workers' capacity a plan may use (default 0.85)\n"
          "  --margin M        a goal counts as met with this headroom (default 0.10)\n"
          "  --smoothing W     weight of a device's last window in its running mean of\n"
          "                    predicted fps (default 0.4; 1: the last window alone)\n"
          "  --log-level L     error, warn, info (default) or debug\n"
          "  --help            this text\n",
          out);
}

static enum es_err apply(void *opts, int opt, const char *arg, char *why, size_t whylen)
{
    struct fleet_opts *o = &((struct planner_cli *)opts)->f;
    switch (opt) {
    case OPT_ID:
        if (cli_check_id("--planner-id", arg, why, whylen) != ES_OK)
            return ES_EINVAL;
        o->planner_id = arg;
        return ES_OK;
    case OPT_GROUP:
        if (cli_check_id("--group", arg, why, whylen) != ES_OK)
            return ES_EINVAL;
        o->group = arg;
        return ES_OK;
    case OPT_WINDOW:
        if (cli_parse_double(arg, 0.1, 3600, &o->window_s) != ES_OK)
            return cli_fail(why, whylen, "--window must be a number of seconds in 0.1..3600");
        return ES_OK;
    case OPT_TTL:
        if (cli_parse_double(arg, 1, 100, &o->ttl_windows) != ES_OK)
            return cli_fail(why, whylen, "--ttl-windows must be a number in 1..100");
        return ES_OK;
    case OPT_UTILIZATION:
        if (cli_parse_double(arg, 0.05, 1, &o->planner.utilization) != ES_OK)
            return cli_fail(why, whylen, "--utilization must be a number in 0.05..1");
        return ES_OK;
    case OPT_MARGIN:
        if (cli_parse_double(arg, 0.001, 1, &o->planner.margin) != ES_OK)
            return cli_fail(why, whylen, "--margin must be a number in 0.001..1");
        return ES_OK;
    case OPT_SMOOTHING:
        if (cli_parse_double(arg, 0.01, 1, &o->planner.smoothing) != ES_OK)
            return cli_fail(why, whylen, "--smoothing must be a number in 0.01..1");
        return ES_OK;
    default:
        return cli_fail(why, whylen, "unknown option %d", opt);
    }
}

static void defaults(void *opts)
{
    struct planner_cli *c = opts;
    c->f.group = "fleet";
    c->f.window_s = 3;
    c->f.ttl_windows = 2;
    c->f.planner.smoothing = 0.4;
    char host[32] = "";
    gethostname(host, sizeof host - 1);
    snprintf(c->id_buf, sizeof c->id_buf, "planner-%s-%ld", host, (long)getpid());
    for (char *p = c->id_buf; *p; p++)
        if (!topic_valid_id((char[]){*p, '\0'}))
            *p = '_';
    c->f.planner_id = c->id_buf;
}

static enum es_err finish(void *opts, int n, char **args, char *why, size_t whylen)
{
    (void)opts;
    return n > 0 ? cli_fail(why, whylen, "unexpected argument '%s'", args[0]) : ES_OK;
}

static const struct option planner_options[] = {
    {"planner-id", required_argument, NULL, OPT_ID},
    {"group", required_argument, NULL, OPT_GROUP},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"ttl-windows", required_argument, NULL, OPT_TTL},
    {"utilization", required_argument, NULL, OPT_UTILIZATION},
    {"margin", required_argument, NULL, OPT_MARGIN},
    {"smoothing", required_argument, NULL, OPT_SMOOTHING},
    {NULL, 0, NULL, 0},
};

static const struct cli_program planner_cli = {
    .name = "fleet-planner",
    .options = planner_options,
    .usage = usage,
    .opts_size = sizeof(struct planner_cli),
    .broker_offset = offsetof(struct planner_cli, f.broker),
    .defaults = defaults,
    .apply = apply,
    .finish = finish,
};

int main(int argc, char **argv)
{
    struct planner_cli opts;
    struct cli_cmdline cmd;
    int rc = cli_start(&cmd, &planner_cli, argc, argv, &opts); /* opts points into cmd */
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    json_frame_init();
    rc = fleet_run(&opts.f, &g_stop) == ES_OK ? 0 : 1;
    cli_end(&cmd);
    return rc;
}

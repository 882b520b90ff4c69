/* edge-agent: runs the first stages of an application on the device and offloads the rest. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "log.h"
#include "options.h"

static struct agent_signals g_sig;

static void on_stop(int sig)
{
    (void)sig;
    g_sig.stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_sig.reload++;
}

/* The command line as given, to read it (and its --config file) again on SIGHUP. */
struct cmdline {
    int argc;
    char **argv;
};

static bool reread(void *arg, struct edge_opts *out)
{
    const struct cmdline *c = arg;
    int xargc;
    char **xargv = NULL, why[300];
    if (cli_config_expand(c->argc, c->argv, &xargc, &xargv, why, sizeof why) != ES_OK) {
        fprintf(stderr, "edge-agent: %s\n", why);
        return false;
    }
    log_set_level(LOG_INFO); /* the default, unless the configuration says otherwise */
    int rc = edge_parse_args(xargc, xargv, out);
    cli_config_free(xargv); /* only numbers are taken from *out */
    return rc == 0;
}

/* Suspends or resumes the emulated slowdown, for demos of a device that recovers. */
static void on_usr1(int sig)
{
    (void)sig;
    g_sig.slowdown_off = !g_sig.slowdown_off;
}

int main(int argc, char **argv)
{
    struct edge_opts opts;
    int xargc;
    char **xargv = NULL, why[300];
    if (cli_config_expand(argc, argv, &xargc, &xargv, why, sizeof why) != ES_OK) {
        fprintf(stderr, "edge-agent: %s (try --help)\n", why);
        return 2;
    }
    int rc = edge_parse_args(xargc, xargv, &opts); /* opts points into xargv until exit */
    if (rc != 0) {
        cli_config_free(xargv);
        return rc == 1 ? 0 : 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct cmdline cmd = {argc, argv};
    g_sig.reread = reread;
    g_sig.reread_arg = &cmd;
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = agent_run(&opts, &g_sig) == ES_OK ? 0 : 1;
    cli_config_free(xargv);
    return rc;
}

/* edge-agent: runs the first stages of an application on the device and offloads the rest. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "options.h"

static struct agent_signals g_sig;

static void on_stop(int sig)
{
    (void)sig;
    g_sig.stop = 1;
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
    int rc = edge_parse_args(argc, argv, &opts);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    return agent_run(&opts, &g_sig) == ES_OK ? 0 : 1;
}

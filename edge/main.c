/* edge-agent: runs the first stages of an application on the device and offloads the rest. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "options.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
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
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    return agent_run(&opts, &g_stop) == ES_OK ? 0 : 1;
}

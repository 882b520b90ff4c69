/* edge-agent: runs the first stages of an application on the device and offloads the rest. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "image_coder.h"
#include "json_frame.h"
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

/* Reads the command line and its --config file again (SIGHUP); only numbers are taken from
 * *out. */
static bool reread(void *arg, struct edge_opts *out)
{
    return cli_reread(arg, out);
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
    struct cli_cmdline cmd;
    int rc = cli_start(&cmd, &edge_cli, argc, argv, &opts); /* opts points into cmd until exit */
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    g_sig.reread = reread;
    g_sig.reread_arg = &cmd;
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    wire_set_image_coder(image_coder_opencv()); /* before any thread starts */
    json_frame_init();
    rc = agent_run(&opts, &g_sig) == ES_OK ? 0 : 1;
    cli_end(&cmd);
    return rc;
}

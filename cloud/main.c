/* cloud-worker: runs the stages an edge device offloaded and publishes the results. */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "image_coder.h"
#include "json_frame.h"
#include "registry.h"
#include "topic.h"
#include "worker.h"

enum {
    OPT_GROUP = CLI_PROGRAM_OPT,
    OPT_ID,
    OPT_STAGES,
    OPT_THREADS,
    OPT_QOS,
    OPT_STATS,
    OPT_DEVICE_FRAMES,
    OPT_DEVICE_SHARE,
    OPT_AMQP,
    OPT_PREFETCH,
    OPT_SLOWDOWN,
    OPT_APP,
};

/* The worker's options, and the buffer of its default id. */
struct worker_cli {
    struct worker_opts w;
    char id_buf[80];
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static volatile sig_atomic_t g_reload;

static void on_hup(int sig)
{
    (void)sig;
    g_reload++;
}

/* Reads the configuration again (SIGHUP); only the log level (set while parsing) changes at run
 * time. */
static bool reread(void *arg)
{
    struct worker_cli fresh;
    return cli_reread(arg, &fresh);
}

static void usage(FILE *out)
{
    fputs("usage: cloud-worker [OPTIONS]\n"
          "Serves pipeline/stage/K/<device> through the shared subscription $share/GROUP/...,\n"
          "or on a RabbitMQ cluster (--amqp) the quorum queue pipeline.stage.K, runs the\n"
          "remaining stages and publishes results on pipeline/results/<device>.\n"
          "options:\n"
          "  --config FILE     options from FILE, one 'name = value' (or 'name') per line with\n"
          "                    the long names below; the command line wins over the "
          "file\n" CLI_BROKER_HELP
          "  --amqp URL[,URL]  take frames over AMQP from these nodes, tried in turn\n"
          "                    (amqp://user:pass@host:port/vhost); the MQTT options are unused\n"
          "  --prefetch N      AMQP: frames per stage queue taken before acknowledging\n"
          "                    (default 2 per thread)\n"
          "  --group NAME      shared-subscription group (default workers)\n"
          "  --worker-id ID    client id, [A-Za-z0-9_-]{1,64} (default worker-<host>-<pid>)\n"
          "  --stages all|LIST splits to serve: all (default), K, or a list like 1,3-5\n"
          "  --threads N       processing threads (default: one per core)\n"
          "  --qos 0|1         QoS of subscriptions and results (default 1)\n"
          "  --stats-every S   log counters every S seconds (default 10, 0: never)\n"
          "  --device-frames N frames one device may have queued here (default 64); beyond,\n"
          "                    its frames are dropped (the device runs them itself)\n"
          "  --device-share F  share of the processing time one device may use per second\n"
          "                    (default 0.5; 1: no limit)\n"
          "  --slowdown F      emulate a machine F times slower (F >= 1, default 1)\n"
          "  --app FILE        also serve the application of this plugin (a .so exporting\n"
          "                    edgesplit_plugin); repeat for more. Built-in ones: ball, sensor\n"
          "  --log-level L     error, warn, info (default) or debug\n"
          "  --help            this text\n",
          out);
}

/* Applies one of the worker's own options (cli_program.apply). */
static enum es_err apply(void *opts, int opt, const char *arg, char *why, size_t whylen)
{
    struct worker_opts *o = &((struct worker_cli *)opts)->w;
    long l;
    switch (opt) {
    case OPT_GROUP:
        if (cli_check_id("--group", arg, why, whylen) != ES_OK)
            return ES_EINVAL;
        o->group = arg;
        return ES_OK;
    case OPT_ID:
        if (cli_check_id("--worker-id", arg, why, whylen) != ES_OK)
            return ES_EINVAL;
        o->worker_id = arg;
        return ES_OK;
    case OPT_STAGES:
        if (topic_parse_stage_list(arg, 16, &o->stages) != ES_OK || !o->stages)
            return cli_fail(why, whylen,
                            "--stages must be all, K or a list like 1,3-5 (K in 1..15)");
        return ES_OK;
    case OPT_THREADS:
        if (cli_parse_long(arg, 1, 256, &l) != ES_OK)
            return cli_fail(why, whylen, "--threads must be an integer 1..256");
        o->threads = (unsigned)l;
        return ES_OK;
    case OPT_QOS:
        if (cli_parse_long(arg, 0, 1, &l) != ES_OK)
            return cli_fail(why, whylen, "--qos must be 0 or 1");
        o->qos = (int)l;
        return ES_OK;
    case OPT_DEVICE_FRAMES:
        if (cli_parse_long(arg, 1, 100000, &l) != ES_OK)
            return cli_fail(why, whylen, "--device-frames must be an integer 1..100000");
        o->device_frames = (size_t)l;
        return ES_OK;
    case OPT_DEVICE_SHARE:
        if (cli_parse_double(arg, 0.01, 1, &o->device_share) != ES_OK)
            return cli_fail(why, whylen, "--device-share must be a number in 0.01..1");
        return ES_OK;
    case OPT_AMQP: {
        for (const char *p = arg; *p;) {
            size_t len = strcspn(p, ",");
            if (strncmp(p, "amqp://", 7) != 0 || len <= 7)
                return cli_fail(
                    why, whylen,
                    "--amqp takes URLs amqp://user:pass@host:port/vhost, comma-separated "
                    "(amqps is not supported)");
            p += len + (p[len] == ',');
        }
        o->amqp = arg;
        return ES_OK;
    }
    case OPT_PREFETCH:
        if (cli_parse_long(arg, 1, 65535, &l) != ES_OK)
            return cli_fail(why, whylen, "--prefetch must be an integer 1..65535");
        o->prefetch = (unsigned)l;
        return ES_OK;
    case OPT_APP: {
        const struct app *app;
        if (!app_spec_is_path(arg)) {
            if (app_find(arg))
                return ES_OK; /* built in: served anyway */
            return cli_fail(why, whylen,
                            "--app takes a plugin file (a path with a '/' or ending in .so)");
        }
        return app_open(arg, &app, why, whylen) == ES_OK ? ES_OK : ES_EINVAL;
    }
    case OPT_SLOWDOWN:
        if (cli_parse_double(arg, 1, 1000, &o->slowdown) != ES_OK)
            return cli_fail(why, whylen, "--slowdown must be a number in 1..1000");
        return ES_OK;
    case OPT_STATS:
        if (cli_parse_double(arg, 0, 86400, &o->stats_s) != ES_OK)
            return cli_fail(why, whylen, "--stats-every must be a number of seconds >= 0");
        return ES_OK;
    default:
        return cli_fail(why, whylen, "unknown option %d", opt);
    }
}

/* The defaults (cli_program.defaults; opts is zeroed). */
static void defaults(void *opts)
{
    struct worker_cli *c = opts;
    struct worker_opts *o = &c->w;
    o->group = "workers";
    o->stages = 0xfffeu;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = ncpu > 0 ? (unsigned)ncpu : 1;
    o->qos = 1;
    o->stats_s = 10;
    o->device_frames = 64;
    o->device_share = 0.5;
    o->slowdown = 1;
    char host[32] = "";
    gethostname(host, sizeof host - 1);
    snprintf(c->id_buf, sizeof c->id_buf, "worker-%s-%ld", host, (long)getpid());
    for (char *p = c->id_buf; *p; p++)
        if (!topic_valid_id((char[]){*p, '\0'}))
            *p = '_';
    o->worker_id = c->id_buf;
}

/* After every option: no positional arguments; the prefetch follows the threads. */
static enum es_err finish(void *opts, int n, char **args, char *why, size_t whylen)
{
    struct worker_opts *o = &((struct worker_cli *)opts)->w;
    if (n > 0)
        return cli_fail(why, whylen, "unexpected argument '%s'", args[0]);
    if (!o->prefetch)
        o->prefetch = 2 * o->threads;
    if (o->prefetch > 65535)
        o->prefetch = 65535;
    return ES_OK;
}

static const struct option worker_options[] = {
    {"group", required_argument, NULL, OPT_GROUP},
    {"worker-id", required_argument, NULL, OPT_ID},
    {"stages", required_argument, NULL, OPT_STAGES},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"qos", required_argument, NULL, OPT_QOS},
    {"stats-every", required_argument, NULL, OPT_STATS},
    {"device-frames", required_argument, NULL, OPT_DEVICE_FRAMES},
    {"device-share", required_argument, NULL, OPT_DEVICE_SHARE},
    {"amqp", required_argument, NULL, OPT_AMQP},
    {"prefetch", required_argument, NULL, OPT_PREFETCH},
    {"slowdown", required_argument, NULL, OPT_SLOWDOWN},
    {"app", required_argument, NULL, OPT_APP},
    {NULL, 0, NULL, 0},
};

static const struct cli_program worker_cli = {
    .name = "cloud-worker",
    .options = worker_options,
    .usage = usage,
    .opts_size = sizeof(struct worker_cli),
    .broker_offset = offsetof(struct worker_cli, w.broker),
    .defaults = defaults,
    .apply = apply,
    .finish = finish,
};

int main(int argc, char **argv)
{
    struct worker_cli opts;
    struct cli_cmdline cmd;
    int rc = cli_start(&cmd, &worker_cli, argc, argv, &opts); /* opts points into cmd */
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    opts.w.reload = &g_reload;
    opts.w.reread = reread;
    opts.w.reread_arg = &cmd;
    wire_set_image_coder(image_coder_opencv()); /* before any thread starts */
    json_frame_init();
    rc = worker_run(&opts.w, &g_stop) == ES_OK ? 0 : 1;
    cli_end(&cmd);
    return rc;
}

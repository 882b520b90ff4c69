/* cloud-worker: runs the stages an edge device offloaded and publishes the results. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "registry.h"
#include "topic.h"
#include "worker.h"

enum {
    OPT_GROUP = 2000,
    OPT_ID,
    OPT_STAGES,
    OPT_THREADS,
    OPT_QOS,
    OPT_STATS,
    OPT_LOG,
    OPT_DEVICE_FRAMES,
    OPT_DEVICE_SHARE,
    OPT_AMQP,
    OPT_PREFETCH,
    OPT_SLOWDOWN,
    OPT_APP,
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

/* The command line as given, to read it (and its --config file) again on SIGHUP. */
struct cmdline {
    int argc;
    char **argv;
};

static int parse_args(int argc, char **argv, struct worker_opts *o, char *idbuf, size_t idlen);

/* Reads the configuration again; only the log level (set while parsing) changes at run time. */
static bool reread(void *arg)
{
    const struct cmdline *c = arg;
    int xargc;
    char **xargv = NULL, why[300], idbuf[80];
    if (cli_config_expand(c->argc, c->argv, &xargc, &xargv, why, sizeof why) != ES_OK) {
        fprintf(stderr, "cloud-worker: %s\n", why);
        return false;
    }
    struct worker_opts fresh;
    memset(&fresh, 0, sizeof fresh);
    log_set_level(LOG_INFO); /* the default, unless the configuration says otherwise */
    int rc = parse_args(xargc, xargv, &fresh, idbuf, sizeof idbuf);
    cli_config_free(xargv);
    return rc == 0;
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

static int bad(const char *why)
{
    fprintf(stderr, "cloud-worker: %s (try --help)\n", why);
    return 2;
}

static int apply(struct worker_opts *o, int opt, const char *arg)
{
    char why[160];
    long l;
    switch (opt) {
    case OPT_GROUP:
        if (!topic_valid_id(arg))
            return bad("--group must match [A-Za-z0-9_-]{1,64}");
        o->group = arg;
        return 0;
    case OPT_ID:
        if (!topic_valid_id(arg))
            return bad("--worker-id must match [A-Za-z0-9_-]{1,64}");
        o->worker_id = arg;
        return 0;
    case OPT_STAGES:
        if (topic_parse_stage_list(arg, 16, &o->stages) != ES_OK || !o->stages)
            return bad("--stages must be all, K or a list like 1,3-5 (K in 1..15)");
        return 0;
    case OPT_THREADS:
        if (cli_parse_long(arg, 1, 256, &l) != ES_OK)
            return bad("--threads must be an integer 1..256");
        o->threads = (unsigned)l;
        return 0;
    case OPT_QOS:
        if (cli_parse_long(arg, 0, 1, &l) != ES_OK)
            return bad("--qos must be 0 or 1");
        o->qos = (int)l;
        return 0;
    case OPT_DEVICE_FRAMES:
        if (cli_parse_long(arg, 1, 100000, &l) != ES_OK)
            return bad("--device-frames must be an integer 1..100000");
        o->device_frames = (size_t)l;
        return 0;
    case OPT_DEVICE_SHARE:
        if (cli_parse_double(arg, 0.01, 1, &o->device_share) != ES_OK)
            return bad("--device-share must be a number in 0.01..1");
        return 0;
    case OPT_AMQP: {
        for (const char *p = arg; *p;) {
            size_t len = strcspn(p, ",");
            if (strncmp(p, "amqp://", 7) != 0 || len <= 7)
                return bad("--amqp takes URLs amqp://user:pass@host:port/vhost, comma-separated "
                           "(amqps is not supported)");
            p += len + (p[len] == ',');
        }
        o->amqp = arg;
        return 0;
    }
    case OPT_PREFETCH:
        if (cli_parse_long(arg, 1, 65535, &l) != ES_OK)
            return bad("--prefetch must be an integer 1..65535");
        o->prefetch = (unsigned)l;
        return 0;
    case OPT_APP: {
        const struct app *app;
        char msg[512];
        if (!app_spec_is_path(arg)) {
            if (app_find(arg))
                return 0; /* built in: served anyway */
            return bad("--app takes a plugin file (a path with a '/' or ending in .so)");
        }
        if (app_open(arg, &app, msg, sizeof msg) != ES_OK)
            return bad(msg);
        return 0;
    }
    case OPT_SLOWDOWN:
        if (cli_parse_double(arg, 1, 1000, &o->slowdown) != ES_OK)
            return bad("--slowdown must be a number in 1..1000");
        return 0;
    case OPT_STATS:
        if (cli_parse_double(arg, 0, 86400, &o->stats_s) != ES_OK)
            return bad("--stats-every must be a number of seconds >= 0");
        return 0;
    case OPT_LOG: {
        enum log_level level;
        if (log_parse_level(arg, &level) != 0)
            return bad("--log-level must be error, warn, info or debug");
        log_set_level(level);
        return 0;
    }
    default:
        if (cli_broker_option(&o->broker, opt, arg, why, sizeof why) != ES_OK)
            return bad(why);
        return 0;
    }
}

/* Returns 0 to run, 1 after --help, 2 on a bad command line. */
static int parse_args(int argc, char **argv, struct worker_opts *o, char *idbuf, size_t idlen)
{
    static const struct option longopts[] = {
        CLI_BROKER_LONGOPTS,
        {"group", required_argument, NULL, OPT_GROUP},
        {"worker-id", required_argument, NULL, OPT_ID},
        {"stages", required_argument, NULL, OPT_STAGES},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"qos", required_argument, NULL, OPT_QOS},
        {"stats-every", required_argument, NULL, OPT_STATS},
        {"device-frames", required_argument, NULL, OPT_DEVICE_FRAMES},
        {"device-share", required_argument, NULL, OPT_DEVICE_SHARE},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"amqp", required_argument, NULL, OPT_AMQP},
        {"prefetch", required_argument, NULL, OPT_PREFETCH},
        {"slowdown", required_argument, NULL, OPT_SLOWDOWN},
        {"app", required_argument, NULL, OPT_APP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char why[160];
    if (cli_broker_defaults(&o->broker, why, sizeof why) != ES_OK)
        return bad(why);
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
    snprintf(idbuf, idlen, "worker-%s-%ld", host, (long)getpid());
    for (char *p = idbuf; *p; p++)
        if (!topic_valid_id((char[]){*p, '\0'}))
            *p = '_';
    o->worker_id = idbuf;
    opterr = 0;
    optind = 0; /* a full restart of getopt: the configuration may be read again (SIGHUP) */
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 1;
        }
        if (opt == '?') {
            snprintf(why, sizeof why, "unknown or incomplete option '%s'", argv[optind - 1]);
            return bad(why);
        }
        int rc = apply(o, opt, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc) {
        snprintf(why, sizeof why, "unexpected argument '%s'", argv[optind]);
        return bad(why);
    }
    if (!o->prefetch)
        o->prefetch = 2 * o->threads;
    if (o->prefetch > 65535)
        o->prefetch = 65535;
    return 0;
}

int main(int argc, char **argv)
{
    struct worker_opts opts;
    memset(&opts, 0, sizeof opts);
    char idbuf[80], why[300];
    int xargc;
    char **xargv = NULL;
    if (cli_config_expand(argc, argv, &xargc, &xargv, why, sizeof why) != ES_OK)
        return bad(why);
    int rc = parse_args(xargc, xargv, &opts, idbuf, sizeof idbuf); /* opts points into xargv */
    if (rc != 0) {
        cli_config_free(xargv);
        return rc == 1 ? 0 : 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct cmdline cmd = {argc, argv};
    opts.reload = &g_reload;
    opts.reread = reread;
    opts.reread_arg = &cmd;
    rc = worker_run(&opts, &g_stop) == ES_OK ? 0 : 1;
    cli_config_free(xargv);
    return rc;
}

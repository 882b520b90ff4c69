#include "options.h"

#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "capture.h"
#include "registry.h"
#include "cli.h"
#include "wire.h"
#include "spool.h"
#include "wire_batch.h"

enum {
    OPT_DEVICE = CLI_PROGRAM_OPT,
    OPT_SOURCE,
    OPT_FRAMES,
    OPT_RATE,
    OPT_SLOWDOWN,
    OPT_SLOWDOWN_MODE,
    OPT_UPLINK,
    OPT_WINDOW,
    OPT_APP,
    OPT_QOS,
    OPT_SUB_QOS,
    OPT_SPLIT,
    OPT_GOAL,
    OPT_INFLIGHT,
    OPT_BATCH,
    OPT_BATCH_WAIT,
    OPT_TIMEOUT,
    OPT_SPOOL,
    OPT_SPOOL_SYNC,
    OPT_BUFFER,
    OPT_BUFFER_MB,
    OPT_ANNOTATE,
    OPT_QUIET,
    OPT_THREADS,
    OPT_IMAGE_CODEC,
    OPT_SATURATION,
};

void edge_usage(FILE *out)
{
    fputs("usage: edge-agent [OPTIONS] [SPLIT [FPS_GOAL]]\n"
          "  no SPLIT          device-only: every stage local, never connects, JSON lines on "
          "stdout\n"
          "  SPLIT             manual: stages 0..SPLIT-1 local, publish to\n"
          "                    pipeline/stage/SPLIT/<device-id>\n"
          "  SPLIT FPS_GOAL    automatic: start at SPLIT, move the split to meet FPS_GOAL\n"
          "options:\n"
          "  --config FILE     options from FILE, one 'name = value' (or 'name') per line with\n"
          "                    the long names below; the command line wins over the file\n"
          "  --split K, --goal FPS  SPLIT and FPS_GOAL as options (for a config "
          "file)\n" CLI_BROKER_HELP
          "  --device-id ID    device id, [A-Za-z0-9_-]{1,64} (default edge-<hostname>)\n"
          "  --app NAME|FILE   application: ball (default), sensor, or a plugin (a .so file\n"
          "                    exporting edgesplit_plugin; the workers must load it too)\n"
          "  --source SPEC     synthetic[:SEED] | PATH | camera[:INDEX] (default synthetic)\n"
          "  --frames N        stop after N frames\n"
          "  --rate FPS        pace capture like a camera running at FPS\n"
          "  --slowdown F      emulate a device F times slower (F >= 1); or a schedule\n"
          "                    F:START-END[,...] in seconds since start (1 outside), e.g.\n"
          "                    --slowdown 1:0-30,20:30-60; SIGUSR1 suspends or resumes it\n"
          "  --slowdown-mode M spin (default: the device's CPU does the extra work) or sleep\n"
          "                    (it waits instead, counted as device CPU: many emulated\n"
          "                    devices on few cores)\n"
          "  --uplink-kbps N   emulate an uplink of N kbit/s for stage payloads\n"
          "  --image-codec C   how pictures travel at splits 1 and 2: raw (default), png\n"
          "                    (lossless) or jpeg[:Q] (lossy, quality 1..100, default 90)\n"
          "  --window SECONDS  measurement window (default 3)\n"
          "  --saturation-rule on|off  automatic mode: when every worker serving the split\n"
          "                    says it is saturated, a missed goal does not lower the split\n"
          "                    (default on; off: the older policy, for comparisons)\n"
          "  --qos 0|1         QoS of stage payloads (default 0: the result deadline and the\n"
          "                    publish again cover a lost frame; 1 adds the broker's\n"
          "                    acknowledgement)\n"
          "  --sub-qos 0|1     QoS of the results and status subscriptions (default 1); 0 on\n"
          "                    a RabbitMQ 3.10 cluster, so the agent can move to another node\n"
          "                    when its node dies (missed results: the deadlines cover them)\n"
          "  --inflight N      frames in flight without a result at most (default 32)\n"
          "  --batch N         up to N frames in one message while frames come faster than\n"
          "                    they are sent (default 8; 1: never); only to workers that take\n"
          "                    batches, and never over 64 KiB\n"
          "  --batch-wait MS   hold a batch's first frame MS ms at most (default 5): longer\n"
          "                    gives fuller batches, a cheaper cloud and a later result\n"
          "  --result-timeout S  longest wait for a result after a publish (default 10); the\n"
          "                    wait is max(5 x p99 round trip, 0.25 s) up to S; a frame is\n"
          "                    published once more, then its remaining stages run here\n"
          "  --spool DIR       keep results computed here in DIR until the broker has them\n"
          "                    (survives a restart; default: in memory)\n"
          "  --spool-sync M    what a power loss may cost the spool: every (each result is\n"
          "                    on disk before it counts), batch (default: synced every 0.1 s,\n"
          "                    so the last 0.2 s or so) or none (the kernel's writeback)\n"
          "  --buffer N        store-and-forward buffer: N results at most (default 10000)\n"
          "  --buffer-mb M     and M MiB at most (default 64); the oldest are dropped first\n"
          "  --annotate-every N  ask for an annotated JPEG every N frames (default 0: never)\n"
          "  --threads N       threads running the first stage of several frames at once\n"
          "                    (default: one per core, at most 16), beside a reader thread and\n"
          "                    the agent's; 1: every local stage on one thread\n"
          "  --quiet           no throughput lines\n"
          "  --log-level L     error, warn, info (default) or debug\n"
          "  --help            this text\n",
          out);
}

/* The defaults (cli_program.defaults; opts is zeroed). */
static void defaults(void *opts)
{
    struct edge_opts *o = opts;
    o->app = "ball";
    o->slowdown.constant = 1;
    o->window_s = 3;
    o->qos = 0;
    o->sub_qos = 1;
    o->saturation_rule = true;
    o->inflight = 32;
    o->batch = 8;
    o->batch_wait_ms = 5;
    o->result_timeout_s = 10;
    o->buffer_entries = 10000;
    o->buffer_bytes = 64u * 1024u * 1024u;
    char host[48] = "";
    gethostname(host, sizeof host - 1);
    snprintf(o->device_buf, sizeof o->device_buf, "edge-%s", host);
    for (char *p = o->device_buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            *p = '_';
    o->device_id = o->device_buf;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = ncpu < 1 ? 1 : ncpu > CAPTURE_POOL_MAX ? CAPTURE_POOL_MAX : (unsigned)ncpu;
    o->image_quality = 90;
}

/* Applies one of the agent's own options (cli_program.apply). */
static enum es_err apply(void *opts, int opt, const char *arg, char *why, size_t whylen)
{
    struct edge_opts *o = opts;
    long l;
    double d;
    switch (opt) {
    case OPT_DEVICE:
        if (cli_check_id("--device-id", arg, why, whylen) != ES_OK)
            return ES_EINVAL;
        o->device_id = arg;
        return ES_OK;
    case OPT_APP:
        o->app = arg;
        return ES_OK;
    case OPT_SOURCE:
        o->source = arg;
        return ES_OK;
    case OPT_FRAMES:
        if (cli_parse_long(arg, 1, LONG_MAX, &l) != ES_OK)
            return cli_fail(why, whylen, "--frames must be a positive integer");
        o->frames = (uint64_t)l;
        return ES_OK;
    case OPT_RATE:
        if (cli_parse_double(arg, 0.01, 100000, &d) != ES_OK)
            return cli_fail(why, whylen, "--rate must be a number of frames per second > 0");
        o->rate = d;
        return ES_OK;
    case OPT_SLOWDOWN: {
        bool sleep = o->slowdown.sleep;
        if (slowdown_parse(arg, &o->slowdown) != ES_OK)
            return cli_fail(why, whylen,
                            "--slowdown must be a number >= 1 or a schedule like 1:0-30,20:30-60");
        o->slowdown.sleep = sleep;
        return ES_OK;
    }
    case OPT_SLOWDOWN_MODE:
        if (strcmp(arg, "spin") != 0 && strcmp(arg, "sleep") != 0)
            return cli_fail(why, whylen, "--slowdown-mode must be spin or sleep");
        o->slowdown.sleep = strcmp(arg, "sleep") == 0;
        return ES_OK;
    case OPT_UPLINK:
        if (cli_parse_double(arg, 1, 1e9, &d) != ES_OK)
            return cli_fail(why, whylen, "--uplink-kbps must be a number of kbit/s >= 1");
        o->uplink_kbps = d;
        return ES_OK;
    case OPT_WINDOW:
        if (cli_parse_double(arg, 0.1, 3600, &d) != ES_OK)
            return cli_fail(why, whylen, "--window must be a number of seconds >= 0.1");
        o->window_s = d;
        return ES_OK;
    case OPT_QOS:
        if (cli_parse_long(arg, 0, 1, &l) != ES_OK)
            return cli_fail(why, whylen, "--qos must be 0 or 1");
        o->qos = (int)l;
        return ES_OK;
    case OPT_SUB_QOS:
        if (cli_parse_long(arg, 0, 1, &l) != ES_OK)
            return cli_fail(why, whylen, "--sub-qos must be 0 or 1");
        o->sub_qos = (int)l;
        return ES_OK;
    case OPT_SATURATION:
        if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
            return cli_fail(why, whylen, "--saturation-rule must be on or off");
        o->saturation_rule = strcmp(arg, "on") == 0;
        return ES_OK;
    case OPT_SPLIT:
        o->split_arg = arg;
        return ES_OK;
    case OPT_GOAL:
        o->goal_arg = arg;
        return ES_OK;
    case OPT_INFLIGHT:
        if (cli_parse_long(arg, 1, 4096, &l) != ES_OK)
            return cli_fail(why, whylen, "--inflight must be an integer 1..4096");
        o->inflight = (unsigned)l;
        return ES_OK;
    case OPT_BATCH:
        if (cli_parse_long(arg, 1, WIRE_BATCH_MAX_FRAMES, &l) != ES_OK)
            return cli_fail(why, whylen, "--batch must be an integer 1..%d", WIRE_BATCH_MAX_FRAMES);
        o->batch = (unsigned)l;
        return ES_OK;
    case OPT_BATCH_WAIT:
        if (cli_parse_double(arg, 0, 1000, &d) != ES_OK)
            return cli_fail(why, whylen, "--batch-wait must be a number of ms 0..1000");
        o->batch_wait_ms = d;
        return ES_OK;
    case OPT_TIMEOUT:
        if (cli_parse_double(arg, 0.1, 3600, &d) != ES_OK)
            return cli_fail(why, whylen, "--result-timeout must be a number of seconds >= 0.1");
        o->result_timeout_s = d;
        return ES_OK;
    case OPT_SPOOL_SYNC:
        if (strcmp(arg, "batch") == 0)
            o->spool_sync = SPOOL_SYNC_BATCH;
        else if (strcmp(arg, "every") == 0)
            o->spool_sync = SPOOL_SYNC_EVERY;
        else if (strcmp(arg, "none") == 0)
            o->spool_sync = SPOOL_SYNC_NONE;
        else
            return cli_fail(why, whylen, "--spool-sync must be every, batch or none");
        return ES_OK;
    case OPT_SPOOL:
        if (!arg[0])
            return cli_fail(why, whylen, "--spool must name a directory");
        o->spool_dir = arg;
        return ES_OK;
    case OPT_BUFFER:
        if (cli_parse_long(arg, 1, 10000000, &l) != ES_OK)
            return cli_fail(why, whylen, "--buffer must be an integer 1..10000000");
        o->buffer_entries = (size_t)l;
        return ES_OK;
    case OPT_BUFFER_MB:
        if (cli_parse_long(arg, 1, 65536, &l) != ES_OK)
            return cli_fail(why, whylen, "--buffer-mb must be an integer 1..65536");
        o->buffer_bytes = (size_t)l * 1024u * 1024u;
        return ES_OK;
    case OPT_ANNOTATE:
        if (cli_parse_long(arg, 0, LONG_MAX, &l) != ES_OK)
            return cli_fail(why, whylen, "--annotate-every must be an integer >= 0");
        o->annotate_every = (unsigned)l;
        return ES_OK;
    case OPT_QUIET:
        o->quiet = true;
        return ES_OK;
    case OPT_IMAGE_CODEC:
        if (wire_parse_image_codec(arg, &o->image_codec, &o->image_quality) != ES_OK)
            return cli_fail(why, whylen, "--image-codec must be raw, png, jpeg or jpeg:Q (1..100)");
        return ES_OK;
    case OPT_THREADS:
        if (cli_parse_long(arg, 1, CAPTURE_POOL_MAX, &l) != ES_OK)
            return cli_fail(why, whylen, "--threads must be an integer 1..%d", CAPTURE_POOL_MAX);
        o->threads = (unsigned)l;
        return ES_OK;
    default:
        return cli_fail(why, whylen, "unknown option %d", opt);
    }
}

/* Reads SPLIT and FPS_GOAL once the application (and so its stage count) is known. */
static enum es_err positionals(struct edge_opts *o, int n, char **args, char *why, size_t whylen)
{
    const struct app *app;
    if (app_open(o->app, &app, why, whylen) != ES_OK)
        return ES_EINVAL;
    o->application = app;
    if (n > 2)
        return cli_fail(why, whylen, "too many arguments: expected [SPLIT [FPS_GOAL]]");
    if (n == 0) {
        o->mode = EDGE_DEVICE_ONLY;
        return ES_OK;
    }
    long k;
    if (cli_parse_long(args[0], 1, (long)app->nstages - 1, &k) != ES_OK)
        return cli_fail(why, whylen, "SPLIT must be an integer 1..%u for %s, not '%s'",
                        app->nstages - 1, app->name, args[0]);
    o->split = (unsigned)k;
    o->mode = EDGE_MANUAL;
    if (n == 2) {
        if (cli_parse_double(args[1], 0.01, 100000, &o->goal_fps) != ES_OK)
            return cli_fail(why, whylen, "FPS_GOAL must be a number of frames per second > 0");
        o->mode = EDGE_AUTO;
    }
    return ES_OK;
}

/* After every option: SPLIT and FPS_GOAL on the command line win over --split and --goal (a
 * config file). */
static enum es_err finish(void *opts, int n, char **args, char *why, size_t whylen)
{
    struct edge_opts *o = opts;
    char *named[2] = {(char *)o->split_arg, (char *)o->goal_arg};
    if (n > 0 || (!o->split_arg && !o->goal_arg))
        return positionals(o, n, args, why, whylen);
    if (!o->split_arg)
        return cli_fail(why, whylen, "--goal needs a split to start from (--split K, or SPLIT)");
    return positionals(o, o->goal_arg ? 2 : 1, named, why, whylen);
}

static const struct option edge_options[] = {
    {"device-id", required_argument, NULL, OPT_DEVICE},
    {"app", required_argument, NULL, OPT_APP},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"frames", required_argument, NULL, OPT_FRAMES},
    {"rate", required_argument, NULL, OPT_RATE},
    {"slowdown", required_argument, NULL, OPT_SLOWDOWN},
    {"slowdown-mode", required_argument, NULL, OPT_SLOWDOWN_MODE},
    {"uplink-kbps", required_argument, NULL, OPT_UPLINK},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"qos", required_argument, NULL, OPT_QOS},
    {"sub-qos", required_argument, NULL, OPT_SUB_QOS},
    {"saturation-rule", required_argument, NULL, OPT_SATURATION},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"goal", required_argument, NULL, OPT_GOAL},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"batch-wait", required_argument, NULL, OPT_BATCH_WAIT},
    {"result-timeout", required_argument, NULL, OPT_TIMEOUT},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"spool-sync", required_argument, NULL, OPT_SPOOL_SYNC},
    {"buffer", required_argument, NULL, OPT_BUFFER},
    {"buffer-mb", required_argument, NULL, OPT_BUFFER_MB},
    {"annotate-every", required_argument, NULL, OPT_ANNOTATE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"image-codec", required_argument, NULL, OPT_IMAGE_CODEC},
    {NULL, 0, NULL, 0},
};

const struct cli_program edge_cli = {
    .name = "edge-agent",
    .options = edge_options,
    .usage = edge_usage,
    .opts_size = sizeof(struct edge_opts),
    .broker_offset = offsetof(struct edge_opts, broker),
    .defaults = defaults,
    .apply = apply,
    .finish = finish,
};

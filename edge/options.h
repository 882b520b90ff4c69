/* The edge agent's command line (see edge_usage for the text). */
#ifndef ES_EDGE_OPTIONS_H
#define ES_EDGE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "emulate.h"
#include "transport.h"
#include "spool.h"
#include "wire.h"

struct app;

enum edge_mode { EDGE_DEVICE_ONLY, EDGE_MANUAL, EDGE_AUTO };

struct edge_opts {
    enum edge_mode mode;
    unsigned split;                   /* manual: the split; auto: the starting split */
    double goal_fps;                  /* auto only */
    const char *split_arg, *goal_arg; /* --split and --goal as given, until checked */
    struct transport_opts broker;
    const char *device_id;
    const char *app;                   /* application name or plugin file, default "ball" */
    const struct app *application;     /* what app names, set by edge_parse (registry.h) */
    const char *source;                /* NULL: the application's default */
    uint64_t frames;                   /* 0: until the source ends or a signal */
    double rate;                       /* 0: as fast as possible */
    struct slowdown slowdown;          /* emulated device slowness, possibly changing over time */
    double uplink_kbps;                /* emulated uplink cap in kbit/s; 0: none */
    double window_s;                   /* measurement window */
    int qos;                           /* for stage payloads */
    int sub_qos;                       /* for the results and status subscriptions */
    bool saturation_rule;              /* auto: saturated workers stop a lower split */
    unsigned inflight;                 /* frames in flight at most */
    unsigned batch;                    /* frames per stage message at most; 1: no batches */
    double batch_wait_ms;              /* longest hold of a batch's first frame */
    double result_timeout_s;           /* longest wait for a result after one publish of a frame */
    const char *spool_dir;             /* NULL: the store-and-forward buffer is in memory */
    enum spool_sync spool_sync;        /* --spool-sync, directory mode */
    size_t buffer_entries;             /* store-and-forward buffer bound, entries */
    size_t buffer_bytes;               /* and payload bytes */
    unsigned annotate_every;           /* 0: never ask for annotated frames */
    bool quiet;                        /* no throughput lines */
    unsigned threads;                  /* threads running the first stage; 1: all on one */
    enum wire_image_codec image_codec; /* how image fields travel */
    int image_quality;                 /* JPEG quality */
    char device_buf[65];
};

/* The agent's command line for the shared front end (cli.h: cli_start, cli_parse): its own
 * options into a struct edge_opts, then SPLIT [FPS_GOAL]. */
extern const struct cli_program edge_cli;

void edge_usage(FILE *out);

#endif

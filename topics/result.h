/* The JSON messages: per-frame results and per-window stats (shapes in
 * DESIGN.md). Everything is built with Jansson and dumped with RESULT_JSON_FLAGS, so a double
 * such as 7.6 prints as 7.6 rather than 7.6000000000000005 and integers print exactly.
 *
 * Ownership: a json_t returned here is a new reference the caller json_decrefs; a char *
 * returned here is malloc'd and the caller frees it. NULL means out of memory or an invalid
 * argument, as stated per function. */
#ifndef ES_RESULT_H
#define ES_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "state.h"

/* The one set of dump flags for every JSON message of the project. */
#define RESULT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* result_parse rejects longer messages with ES_ELIMIT. */
#define RESULT_MAX_BYTES 65536

/* Everything a result carries besides the application's own fields. */
struct result_meta {
    const char *device; /* required */
    uint64_t seq;       /* at most INT64_MAX */
    unsigned split;     /* 0 in device-only mode */
    int64_t captured_us;
    int64_t completed_us;
    const char *worker;       /* NULL in device-only mode and for fallback results: then
                               * "worker" is omitted */
    bool fallback;            /* the edge ran the cloud's stages itself: "fallback": true */
    const uint32_t *stage_us; /* nstages entries; may be NULL when nstages is 0 */
    unsigned nstages;         /* at most STATE_MAX_STAGES */
    int64_t cloud_cpu_us;     /* with worker: the CPU the worker spent on the frame, >= 0 */
};

/* Builds a new result object: "device", "seq", "split", then every member of app_fields in its
 * order, then "captured_us", "completed_us", "worker" and "cloud_cpu_us" (when m->worker is set),
 * "stage_us" and "fallback": true (only when m->fallback).
 * app_fields is borrowed and may be NULL; its values are shared with the new object (reference
 * counted, not deep-copied). A member of app_fields named like one of the framework's members
 * above is left out. Returns NULL when memory runs out, app_fields is not an object, m or
 * m->device is NULL, m->seq exceeds INT64_MAX, a string is not valid UTF-8 or nstages exceeds
 * STATE_MAX_STAGES. */
json_t *result_build(const json_t *app_fields, const struct result_meta *m);

/* Dumps obj (any JSON value) with RESULT_JSON_FLAGS. Returns a malloc'd NUL-terminated string
 * the caller frees with free() (also inside a json_frame scope), or NULL when obj is NULL or
 * memory runs out. */
char *result_dump(const json_t *obj);

/* Dumps obj with RESULT_JSON_FLAGS into buf[0..cap), NUL-terminated, without allocating; *len
 * is the text's length. Returns ES_EINVAL for a NULL argument, ES_ELIMIT when the text does not
 * fit in cap - 1 bytes or exceeds RESULT_MAX_BYTES (what result_parse accepts), ES_ENOMEM when
 * Jansson fails. */
enum es_err result_dump_into(const json_t *obj, char *buf, size_t cap, size_t *len);

/* result_build, then result_dump_into: a frame's result as text in buf. ES_ENOMEM when the
 * result cannot be built (see result_build), else as result_dump_into. */
enum es_err result_format(const json_t *app_fields, const struct result_meta *m, char *buf,
                          size_t cap, size_t *len);

/* Copies obj[key], a string, into dst (n bytes, NUL-terminated); false, dst untouched, when it
 * is missing, not a string or does not fit. For the strict parsers of the JSON messages. */
bool result_get_string(const json_t *obj, const char *key, char *dst, size_t n);

/* What the edge needs back from a result it receives. */
struct result_info {
    char device[STATE_DEVICE_MAX + 1];
    uint64_t seq;
    unsigned split;
    int64_t captured_us;
    int64_t completed_us;
    unsigned nstages;
    uint32_t stage_us[STATE_MAX_STAGES];
    bool fallback;        /* "fallback": true: computed by the edge itself */
    int64_t cloud_cpu_us; /* "cloud_cpu_us", the worker's CPU for the frame; -1 when absent */
};

/* Parses the result message buf[0..len) into *out. Strict: the message must be one JSON object
 * with "device" (a valid id, see topic_valid_id), "seq" (integer >= 0), "split" (integer,
 * 0..STATE_MAX_STAGES-1), "captured_us" and "completed_us" (integers >= 0), "stage_us" (array
 * of integers 0..UINT32_MAX) and, if present, "worker" (string), "cloud_cpu_us" (integer >= 0)
 * and "fallback" (boolean); other
 * members are ignored.
 * Returns ES_EINVAL for a NULL argument, ES_ELIMIT when len exceeds RESULT_MAX_BYTES or
 * stage_us has more than STATE_MAX_STAGES entries, ES_EFORMAT for anything else malformed
 * (not JSON, a duplicate key, a missing member, a wrong type or a value out of range). *out is
 * written only on success. */
enum es_err result_parse(const char *buf, size_t len, struct result_info *out);

/* What became of the frames of one window (counts, not rates). */
struct stats_counts {
    uint64_t captured;      /* frames captured and run through the local stages */
    uint64_t results;       /* results accepted from workers */
    uint64_t fallback;      /* frames whose remaining stages ran on the device */
    uint64_t retried;       /* frames published again after a missed deadline */
    uint64_t duplicates;    /* extra results for frames already answered */
    uint64_t buffered;      /* results waiting in the store-and-forward buffer now */
    uint64_t dropped_full;  /* buffered results dropped, oldest first, from a full buffer */
    uint64_t dropped_io;    /* buffered results lost to a spool directory error */
    uint64_t dropped_error; /* frames a stage failed on */
    uint64_t skipped;       /* camera frames missed: the device was too slow for --rate */
};

/* What one window of one device cost, and what it could do (for the fleet planner). */
struct stats_costs {
    const char *app;                /* the application's name */
    double rate;                    /* the camera's rate, frames per second; 0: none */
    double device_cpu_ms_per_s;     /* the agent's CPU (with an emulated slowdown's) */
    double cloud_cpu_ms_per_s;      /* the sum of its results' cloud_cpu_us, per second */
    double cloud_cpu_us_per_result; /* that sum over the results carrying it; 0: none */
    uint64_t bytes_sent;            /* frame payload published in the window */
    bool cloud_saturated; /* every worker serving its split says it is saturated, or the cloud ran
                           * late for the device (edge/report.c) */
};

/* One measurement window of one device, as published on pipeline/stats/<device>. */
struct stats {
    const char *device;
    bool auto_mode;
    double goal; /* frames per second; printed only in auto mode */
    unsigned split;
    double fps;           /* frames captured per second */
    double delivered_fps; /* results received per second */
    double window_s;
    double latency_p50_ms, latency_p99_ms;
    double bytes_per_frame;
    const double *stage_us; /* mean time per stage, nstages entries */
    unsigned nstages;
    uint64_t lost;
    bool goal_unreachable;
    const char *reason;                /* why the split moved or stayed; NULL prints null */
    const double *predicted_fps;       /* per split 0..nstages-1, may be NULL (then omitted) */
    const struct stats_counts *counts; /* may be NULL (then omitted) */
    const struct stats_costs *costs;   /* may be NULL (then omitted) */
};

/* Builds the stats object, members in this order: device, mode ("auto" or "manual"), split,
 * goal (null in manual mode), fps, delivered_fps, window_s, latency_ms {p50, p99},
 * bytes_per_frame, stage_us, lost, goal_unreachable, reason, predicted_fps, then with counts:
 * captured, results, fallback, retried, duplicates, buffered, dropped {buffer_full, io, error},
 * skipped, then with costs: app, rate (null when 0), device_cpu_ms_per_s, cloud_cpu_ms_per_s,
 * cloud_cpu_us_per_result, bytes_sent, cloud_saturated. Rates are rounded
 * to 0.01 frames/s, times in ms and s to 0.001, bytes_per_frame and stage_us to integers; a
 * value that is not finite prints as null. Returns NULL when memory runs out, s or s->device is
 * NULL, stage_us is NULL with nstages > 0, or nstages exceeds STATE_MAX_STAGES. */
json_t *stats_build(const struct stats *s);

#endif

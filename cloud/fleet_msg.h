/* What the fleet planner reads off the broker: a device's stats window, a worker's load report
 * (both on pipeline/stats/<id>), and a worker's status (pipeline/status/<id>), turned into the
 * planner's reports (planner.h). */
#ifndef ES_FLEET_MSG_H
#define ES_FLEET_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "es_err.h"
#include "planner.h"
#include "topic.h"

enum fleet_msg_kind {
    FLEET_DEVICE, /* a device's stats: device is filled */
    FLEET_WORKER, /* a worker's load or status: worker is filled */
    FLEET_OTHER,  /* a status of another client (an edge, a planner): nothing to plan with */
};

/* One message read. The reports point into the struct itself (id, app): use it where it is, do
 * not copy it. */
struct fleet_msg {
    enum fleet_msg_kind kind;
    char id[TOPIC_ID_MAX + 1];
    char app[PLANNER_APP_MAX + 1];
    char session[33]; /* statuses (STATUS_SESSION_MAX + 1) */
    bool online;      /* statuses; true for stats */
    struct planner_device_report device;
    struct planner_worker_report worker;
};

/* Reads a message on pipeline/stats/<id>. A worker's load report ("role":"worker") gives a
 * FLEET_WORKER with its capacity and use, another role's report (a planner's) FLEET_OTHER; a
 * device's window gives a FLEET_DEVICE: mode, goal, split, fps, the camera rate, stage_us (which
 * also gives the stage count), predicted_fps, bytes_per_frame, results (over window_s: results per
 * second) and cloud_cpu_us_per_result; an absent "app" reads as "unknown", an absent cost as 0
 * (unknown). The id in the message must be the topic's. Returns ES_EINVAL for NULL arguments,
 * ES_ELIMIT above RESULT_MAX_BYTES, ES_EFORMAT for a malformed message or topic (*out is then
 * unspecified). */
enum es_err fleet_parse_stats(const char *topic, const char *buf, size_t len,
                              struct fleet_msg *out);

/* Reads a status on pipeline/status/<id>: a worker's gives FLEET_WORKER (online with its stated
 * load, 0 when it states none; or offline), anyone else's FLEET_OTHER with its id, session and
 * state. Same returns as fleet_parse_stats (status_parse's checks). */
enum es_err fleet_parse_status(const char *topic, const char *buf, size_t len,
                               struct fleet_msg *out);

#endif

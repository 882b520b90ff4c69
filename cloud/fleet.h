/* fleet-planner's run: reads every device's stats and every worker's load off the broker, and
 * while it leads its group (leader.h) decides a split for every device in automatic mode once
 * per window (planner.h) and publishes it retained on pipeline/plan/<device> (plan.h). */
#ifndef ES_FLEET_H
#define ES_FLEET_H

#include <signal.h>

#include "es_err.h"
#include "planner.h"
#include "transport.h"

struct fleet_opts {
    struct transport_opts broker; /* client_id and role are set by fleet_run */
    const char *planner_id;       /* a valid id: the MQTT client id */
    const char *group;            /* planners of one group share one leader */
    double window_s;              /* how often it decides, > 0 */
    double ttl_windows;           /* a plan and the lease hold this many windows, >= 1 */
    struct planner_config planner;
};

/* Runs until *stop is set: returns ES_OK then (the leader gives its lease up and clears the
 * plans it published, so the devices go back to their own policy at once), ES_ECONNECT when the
 * broker cannot be reached at the start (logged, with the address), ES_ESTOPPED when another
 * client took the planner id over, ES_EINVAL for bad options, ES_ENOMEM. */
enum es_err fleet_run(const struct fleet_opts *o, const volatile sig_atomic_t *stop);

#endif

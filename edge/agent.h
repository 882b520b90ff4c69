/* The edge agent: captures frames, runs the local stages, publishes the frame state at the split
 * and tracks the results that come back. */
#ifndef ES_AGENT_H
#define ES_AGENT_H

#include <signal.h>
#include <stdbool.h>

#include "es_err.h"
#include "options.h"

/* What the signal handlers set while the agent runs; the agent only reads it. */
struct agent_signals {
    volatile sig_atomic_t stop;         /* nonzero: finish the run (SIGINT, SIGTERM) */
    volatile sig_atomic_t slowdown_off; /* nonzero: the emulated slowdown is suspended (SIGUSR1
                                         * toggles it) */
    volatile sig_atomic_t reload;       /* changes on SIGHUP: read the configuration again */
    /* Reads the configuration again (the --config file and the command line) into *out, setting
     * the log level as a side effect; false, with nothing changed, when it is now invalid. */
    bool (*reread)(void *arg, struct edge_opts *out);
    void *reread_arg;
};

/* Runs the agent until the frame limit, the end of the source, or sig->stop becomes nonzero.
 * Returns ES_OK after a clean run; another error after logging one line (source or broker
 * failure). */
enum es_err agent_run(const struct edge_opts *opts, const struct agent_signals *sig);

#endif

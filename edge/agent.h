/* The edge agent: captures frames, runs the local stages, publishes the frame state at the split
 * and tracks the results that come back. */
#ifndef ES_AGENT_H
#define ES_AGENT_H

#include <signal.h>

#include "es_err.h"
#include "options.h"

/* Runs the agent until the frame limit, the end of the source, or *stop becomes nonzero. Returns
 * ES_OK after a clean run; another error after logging one line (source or broker failure). */
enum es_err agent_run(const struct edge_opts *opts, const volatile sig_atomic_t *stop);

#endif

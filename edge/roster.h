/* The workers online, the stages each serves and whether it is saturated, from the status
 * messages on pipeline/status/+
 * (topics/status.h): retained ones count until the worker's offline status (or its will), and
 * repeated ones ("every_ms") until three periods pass without a new one. Times are
 * clock_mono_us(). The edge asks it whether anyone will take a frame of
 * stage K before publishing one, and runs the frame itself at once when nobody will.
 * Thread-safe: updates come on the transport's thread, questions from the agent's thread. */
#ifndef ES_ROSTER_H
#define ES_ROSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

struct roster;

/* An empty roster, or NULL on no memory. Free with roster_free (accepts NULL). */
struct roster *roster_new(void);
void roster_free(struct roster *r);

/* Applies one status message: a worker online with its stages, or offline; other roles are
 * ignored. Returns true when the message changed which stages are served. A roster holds at
 * most 1024 workers; further ones are ignored (returns false). */
bool roster_update(struct roster *r, const struct status_info *s, int64_t now_us);

/* Forgets every worker (the connection was lost: the retained messages come again after the
 * reconnect, and a restarted broker has none). */
void roster_clear(struct roster *r);

/* Online workers that serve stage k now. */
unsigned roster_serving(struct roster *r, unsigned k, int64_t now_us);

/* True when at least one online worker serves stage k and every one that does states that it is
 * saturated (its status' "saturated"; topics/status.h). */
bool roster_saturated(struct roster *r, unsigned k, int64_t now_us);

/* The most frames one batch of stage k may hold for every online worker that serves k (the
 * least of their statuses' "batch"): 0 when one of them takes single frames only, or nobody
 * serves k. */
unsigned roster_batch(struct roster *r, unsigned k, int64_t now_us);

/* Online workers now. */
unsigned roster_online(struct roster *r, int64_t now_us);

#endif

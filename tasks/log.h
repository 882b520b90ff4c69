/* A small logging module. Libraries call log_msg(); only programs choose the level and where
 * lines go (log_set_sink). Every line carries a stable id such as "WIRE-REJECT" so it can be
 * grepped. The default sink writes "LEVEL ID message" lines to stderr. Thread-safe: the sink is
 * called under a lock, one line at a time. */
#ifndef ES_LOG_H
#define ES_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Receives one formatted line (no trailing newline). */
typedef void (*log_sink_fn)(void *arg, enum log_level level, const char *id, const char *line);

/* Lines above level are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);

/* Replaces the sink; NULL restores the stderr sink. Call before starting threads. */
void log_set_sink(log_sink_fn fn, void *arg);

/* Formats and emits one line if level is enabled. id is a stable, uppercase tag. */
void log_msg(enum log_level level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A rate limit for one kind of line, for input a peer controls (malformed messages, frames
 * from an impersonator): at most `burst` lines per `period_us`. Lines over the limit are not
 * formatted, only counted, and the next line that passes ends with "(N more suppressed)". Zero
 * the other members; the logging lock guards them, so one limit may be shared by threads. */
struct log_limit {
    int64_t period_us;
    unsigned burst;
    int64_t window_start_us;
    unsigned in_window;
    unsigned long long suppressed;
};

/* log_msg under the limit l. */
void log_limited(struct log_limit *l, enum log_level level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses "error", "warn", "info" or "debug"; returns 0 on success, nonzero otherwise. */
int log_parse_level(const char *name, enum log_level *out);

#endif

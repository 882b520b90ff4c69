#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

static void stderr_sink(void *arg, enum log_level level, const char *id, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s %s %s\n", level_names[level], id, line);
}

/* Logging configuration is the one piece of process-wide state: programs set it once at start. */
static struct {
    pthread_mutex_t lock;
    enum log_level level;
    log_sink_fn sink;
    void *arg;
} g_log = {PTHREAD_MUTEX_INITIALIZER, LOG_INFO, stderr_sink, NULL};

void log_set_level(enum log_level level)
{
    g_log.level = level;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
    pthread_mutex_lock(&g_log.lock);
    g_log.sink = fn ? fn : stderr_sink;
    g_log.arg = fn ? arg : NULL;
    pthread_mutex_unlock(&g_log.lock);
}

void log_msg(enum log_level level, const char *id, const char *fmt, ...)
{
    if (level > g_log.level || level < LOG_ERROR)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_log.lock);
    g_log.sink(g_log.arg, level, id, line);
    pthread_mutex_unlock(&g_log.lock);
}

int log_parse_level(const char *name, enum log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return 1;
}

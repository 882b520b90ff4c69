#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

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

void log_limited(struct log_limit *l, enum log_level level, const char *id, const char *fmt, ...)
{
    if (level > g_log.level || level < LOG_ERROR)
        return;
    int64_t now = clock_mono_us();
    pthread_mutex_lock(&g_log.lock);
    if (now - l->window_start_us >= l->period_us) {
        l->window_start_us = now;
        l->in_window = 0;
    }
    bool pass = l->in_window < l->burst;
    unsigned long long suppressed = pass ? l->suppressed : 0;
    if (pass) {
        l->in_window++;
        l->suppressed = 0;
    } else {
        l->suppressed++;
    }
    pthread_mutex_unlock(&g_log.lock);
    if (!pass)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (suppressed && n >= 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " (%llu more suppressed)", suppressed);
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

/* The logging module's rate limit: a burst passes, the rest is counted and reported with the
 * next line that passes. */
#include <string.h>

#include "check.h"
#include "clock.h"
#include "log.h"

static int lines;
static char last[1024];

static void sink(void *arg, enum log_level level, const char *id, const char *line)
{
    (void)arg;
    (void)level;
    (void)id;
    lines++;
    strncpy(last, line, sizeof last - 1);
}

int main(void)
{
    log_set_sink(sink, NULL);
    struct log_limit l = {.period_us = 200000, .burst = 3};
    for (int i = 0; i < 100; i++)
        log_limited(&l, LOG_WARN, "TEST-LIMIT", "message %d", i);
    CHECK_EQ_INT(lines, 3);
    CHECK(strcmp(last, "message 2") == 0);
    clock_sleep_us(250000); /* a new period: the next line passes and says what was left out */
    log_limited(&l, LOG_WARN, "TEST-LIMIT", "message %d", 100);
    CHECK_EQ_INT(lines, 4);
    CHECK(strcmp(last, "message 100 (97 more suppressed)") == 0);
    log_limited(&l, LOG_WARN, "TEST-LIMIT", "message %d", 101);
    CHECK(strcmp(last, "message 101") == 0);
    log_set_level(LOG_ERROR); /* below the level: neither logged nor counted */
    log_limited(&l, LOG_WARN, "TEST-LIMIT", "hidden");
    CHECK_EQ_INT(lines, 5);
    log_set_sink(NULL, NULL);
    return check_exit();
}

/* Integration: a worker fed garbage on pipeline/stage/3/<device> counts and drops each message,
 * with a few log lines however many there are, stays up and keeps serving valid frames. A valid
 * frame of one device replayed on another device's topic is dropped too: no result anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

#include "app.h"
#include "registry.h"
#include "check.h"
#include "harness.h"
#include "source.h"
#include "wire.h"

#define FRAMES 50
#define FLOOD 300

/* A valid stage-3 payload of the ball tracker, to corrupt in various ways. */
static size_t valid_payload(uint8_t **buf)
{
    const struct app *app = app_find("ball");
    struct state st;
    state_init(&st, app);
    struct source *src = NULL;
    size_t cap = 0, len = 0;
    *buf = NULL;
    if (source_open("synthetic:1", &src) == ES_OK) {
        strcpy(st.device, "evil");
        struct stage_io io = {.st = &st, .source = src};
        if (app_run(&io, 0, 3, NULL, NULL) == ES_OK)
            wire_encode(&st, 3, buf, &cap, &len);
    }
    source_free(src);
    state_release(&st);
    return len;
}

static int publish_garbage(const struct broker *b)
{
    uint8_t *good = NULL;
    size_t len = valid_payload(&good);
    CHECK(len > 40);
    int sent = 0;
    uint8_t junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/evil", junk, sizeof junk, 1), ES_OK);
    sent++;
    CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/evil", "", 0, 1), ES_OK);
    sent++;
    for (size_t cut = 1; good && cut < len; cut += len / 7 + 1) { /* truncated frames */
        CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/evil", good, cut, 1), ES_OK);
        sent++;
    }
    if (good) {
        uint8_t *bad = malloc(len);
        memcpy(bad, good, len);
        bad[0] ^= 0xff; /* wrong magic */
        CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/evil", bad, len, 1), ES_OK);
        sent++;
        CHECK_EQ_INT(harness_publish(b, "pipeline/stage/4/evil", good, len, 1),
                     ES_OK); /* wrong split */
        sent++;
        free(bad);
    }
    /* a flood of garbage on one connection */
    CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/evil", junk, 64, FLOOD), ES_OK);
    sent += FLOOD;
    free(good);
    return sent;
}

/* A valid frame of device "evil" replayed on the stage topic of device "honest". */
static void publish_forged(const struct broker *b)
{
    uint8_t *good = NULL;
    size_t len = valid_payload(&good);
    CHECK_EQ_INT(harness_publish(b, "pipeline/stage/3/honest", good, len, 1), ES_OK);
    free(good);
}

/* The value after "name " in the worker's last WORKER-STATS line; -1 if none. */
static long long worker_stat(const char *log, const char *name)
{
    FILE *f = fopen(log, "r");
    char line[1024], want[64];
    long long v = -1;
    snprintf(want, sizeof want, "%s ", name);
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "WORKER-STATS") ? strstr(line, want) : NULL;
        if (p)
            v = strtoll(p + strlen(want), NULL, 10);
    }
    if (f)
        fclose(f);
    return v;
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "hostile") != ES_OK)
        return 1;
    pid_t worker = harness_worker(&b, "w-hostile", "2");
    struct collector *c = collector_start(&b, "collector-hostile");
    CHECK(worker > 0 && c);
    if (worker > 0 && c) {
        int sent = publish_garbage(&b);
        publish_forged(&b);
        char log[400];
        snprintf(log, sizeof log, "%s/w-hostile.log", b.dir);
        char port[16], frames[16];
        snprintf(port, sizeof port, "%d", b.port);
        snprintf(frames, sizeof frames, "%d", FRAMES);
        const char *argv[] = {"edge-agent", "3",    "--host",      "127.0.0.1", "--port",  port,
                              "--frames",   frames, "--device-id", "honest",    "--quiet", NULL};
        pid_t edge = harness_spawn(argv, NULL, NULL);
        CHECK_EQ_INT(harness_wait(edge, 60000), 0);
        CHECK(collector_wait(c, "honest", FRAMES, 10000));
        CHECK_EQ_INT(collector_count(c, "honest"), FRAMES);
        CHECK_EQ_INT(collector_count(c, "evil"), 0);
        CHECK_EQ_INT(collector_count(c, NULL), FRAMES); /* nothing for the forged frame */
        CHECK(waitpid(worker, NULL, WNOHANG) == 0); /* still running (a crash would be a zombie) */
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
        worker = 0;
        /* every message is counted: parsed and rejected, or dropped unparsed once "evil" had
         * more frames queued than a device may (its budget) */
        CHECK_EQ_INT(worker_stat(log, "malformed") + worker_stat(log, "over_budget"), sent);
        CHECK(worker_stat(log, "malformed") >= sent - FLOOD);
        CHECK_EQ_INT(worker_stat(log, "forged"), 1);
        int lines = harness_count_lines(log, "WORKER-MALFORMED", NULL);
        printf("%d malformed messages, %d log lines about them\n", sent, lines);
        /* rate limited (5 lines per 10 s): the flood of FLOOD messages gets a handful */
        CHECK(lines >= 1 && lines < sent / 10);
        CHECK(harness_count_lines(log, "(64 bytes)", NULL) <= 5);
        CHECK_EQ_INT(harness_count_lines(log, "WORKER-FORGED", NULL), 1);
    }
    collector_free(c);
    if (worker > 0)
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

/* The spool directory across crashes: 200 times, a child process pushes entries as fast as it
 * can and is killed with SIGKILL at a random moment (often in the middle of a write); the spool
 * opened again must hold every entry the child's spool_push had accepted, each complete and
 * intact, and nothing else. Every tenth time a power loss is played as well: one file is cut
 * short, as a write the disk never finished; that entry is dropped and counted (dropped_io),
 * never replayed, and every other one is still there. Both sync modes that write files in the
 * background (batch, none) and the one that syncs each entry (every) take turns. */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spool.h"

#define RUNS 200
#define MAX_INDEX 100000

/* The payload of entry n: its number, then bytes that depend on it, 16 to 3,015 bytes long. */
static size_t make_payload(uint32_t n, uint8_t *buf)
{
    size_t len = 16 + (n * 37u) % 3000;
    memcpy(buf, &n, 4);
    for (size_t i = 4; i < len; i++)
        buf[i] = (uint8_t)(n * 31u + i * 7u);
    return len;
}

static bool payload_ok(const uint8_t *p, size_t len, uint32_t *n)
{
    uint8_t want[3100];
    if (len < 4)
        return false;
    memcpy(n, p, 4);
    return *n < MAX_INDEX && make_payload(*n, want) == len && memcmp(want, p, len) == 0;
}

/* The child: pushes entries first, first + 1, ... and reports each accepted one on fd. */
static void child(const char *dir, enum spool_sync sync, uint32_t first, int fd)
{
    struct spool_config c = {
        .max_entries = MAX_INDEX, .max_bytes = 1u << 30, .dir = dir, .sync = sync};
    struct spool *s = NULL;
    if (spool_open(&c, &s) != ES_OK)
        _exit(3);
    uint8_t buf[3100];
    for (uint32_t n = first; n < MAX_INDEX; n++) {
        size_t len = make_payload(n, buf);
        if (spool_push(s, "pipeline/results/crash", 1, buf, len) != ES_OK)
            _exit(4);
        if (write(fd, &n, sizeof n) != sizeof n)
            _exit(5);
    }
    _exit(0);
}

/* Cuts one entry's file short, as a power loss may leave it; returns its entry number. */
static uint32_t tear_one(const char *dir, struct spool *s, size_t held)
{
    struct spool_entry e = {0};
    uint32_t n = 0;
    CHECK_EQ_INT(spool_peek(s, (size_t)rand() % held, &e), ES_OK);
    CHECK(payload_ok(e.payload, e.len, &n));
    char path[512];
    snprintf(path, sizeof path, "%s/%020llu.msg", dir, (unsigned long long)e.id);
    CHECK_EQ_INT(truncate(path, (off_t)(16 + (size_t)rand() % (e.len / 2 + 1))), 0);
    free(e.payload);
    return n;
}

/* Opens the spool again and checks it holds, each intact and in order, every entry first..last
 * but the torn one, maybe last + 1 (pushed when the kill came, before it was reported), and
 * nothing else; then empties it for the next run. */
static void check_recovered(const char *dir, uint32_t first, uint32_t last, bool torn_one,
                            uint32_t torn)
{
    struct spool_config c = {.max_entries = MAX_INDEX, .max_bytes = 1u << 30, .dir = dir};
    struct spool *s = NULL;
    CHECK_EQ_INT(spool_open(&c, &s), ES_OK);
    if (!s)
        return;
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.dropped_io, torn_one ? 1 : 0);
    struct spool_entry e = {0};
    uint32_t want = first;
    size_t bad = 0;
    for (size_t i = 0; spool_peek(s, i, &e) == ES_OK; i++) {
        uint32_t n = 0;
        if (torn_one && want == torn)
            want++; /* the torn one is gone, never replayed */
        if (!payload_ok(e.payload, e.len, &n) || n != want || n > last + 1) {
            if (bad++ == 0)
                fprintf(stderr, "entry %zu is %u, expected %u (accepted up to %u)\n", i, n, want,
                        last);
        }
        want = n + 1;
    }
    CHECK_EQ_INT(bad, 0);
    if (torn_one && want == torn)
        want++;
    if (want < last + 1)
        fprintf(stderr, "recovered up to %u, the child had %u accepted\n", want - 1, last);
    CHECK(want >= last + 1); /* every accepted entry is there */
    free(e.payload);
    spool_remove_through(s, UINT64_MAX);
    spool_free(s);
}

/* Whether dir holds a .tmp file: the kill came in the middle of a write. */
static bool has_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        found = n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0;
    }
    if (d)
        closedir(d);
    return found;
}

int main(void)
{
    char dir[] = "/tmp/es-spool-crash-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    srand((unsigned)time(NULL));
    const enum spool_sync modes[] = {SPOOL_SYNC_BATCH, SPOOL_SYNC_NONE, SPOOL_SYNC_EVERY};
    unsigned torn_runs = 0, mid_write = 0;
    for (int run = 0; run < RUNS && check_failed == 0; run++) {
        int fds[2];
        CHECK_EQ_INT(pipe(fds), 0);
        uint32_t first = 0;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child(dir, modes[run % 3], first, fds[1]);
        }
        close(fds[1]);
        /* The kill comes at a random moment once the child has accepted two entries (a slow,
         * loaded machine still gets as many runs with something to find). */
        uint32_t n, last = 0;
        size_t got = 0;
        while (got < 2 && read(fds[0], &n, sizeof n) == sizeof n) {
            last = n;
            got++;
        }
        struct timespec nap = {0, (long)(rand() % 10000) * 1000L};
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &n, sizeof n) == sizeof n) {
            last = n;
            got++;
        }
        close(fds[0]);
        if (got == 0) { /* killed before it reported an entry: only empty the directory */
            struct spool_config c = {.max_entries = MAX_INDEX, .max_bytes = 1u << 30, .dir = dir};
            struct spool *s = NULL;
            CHECK_EQ_INT(spool_open(&c, &s), ES_OK);
            if (s)
                spool_remove_through(s, UINT64_MAX);
            spool_free(s);
            continue;
        }
        mid_write += has_tmp(dir);
        bool tear = run % 10 == 9 && got > 1;
        uint32_t torn = 0;
        if (tear) {
            struct spool_config c = {.max_entries = MAX_INDEX, .max_bytes = 1u << 30, .dir = dir};
            struct spool *s = NULL;
            CHECK_EQ_INT(spool_open(&c, &s), ES_OK);
            if (s && spool_count(s) > 0) {
                torn = tear_one(dir, s, spool_count(s));
                torn_runs++;
            } else {
                tear = false;
            }
            spool_free(s);
        }
        check_recovered(dir, first, last, tear, torn);
    }
    printf("%d runs killed with SIGKILL (%u in the middle of a write), %u with a torn file\n", RUNS,
           mid_write, torn_runs);
    CHECK(torn_runs >= 10);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    return check_exit();
}

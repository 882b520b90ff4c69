/* The edge's store-and-forward spool, in memory and in a directory: no broker. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "log.h"
#include "spool.h"

/* Log lines seen, by id; the sink runs under the logger's lock. */
static const char *const log_ids[] = {
    "EDGE-SPOOL",        "EDGE-SPOOL-FULL",    "EDGE-SPOOL-FULL-END",    "EDGE-SPOOL-IO",
    "EDGE-SPOOL-IO-END", "EDGE-SPOOL-CORRUPT", "EDGE-SPOOL-CORRUPT-END",
};
#define NLOG_IDS (sizeof log_ids / sizeof log_ids[0])
static int log_counts[NLOG_IDS];
static int log_other;
static char log_last_spool[1024]; /* the last "EDGE-SPOOL" line */

static void count_sink(void *arg, enum log_level level, const char *id, const char *line)
{
    (void)arg;
    (void)level;
    if (strcmp(id, "EDGE-SPOOL") == 0)
        snprintf(log_last_spool, sizeof log_last_spool, "%s", line);
    for (size_t i = 0; i < NLOG_IDS; i++) {
        if (strcmp(id, log_ids[i]) == 0) {
            log_counts[i]++;
            return;
        }
    }
    log_other++;
}

static int logged(const char *id)
{
    for (size_t i = 0; i < NLOG_IDS; i++)
        if (strcmp(id, log_ids[i]) == 0)
            return log_counts[i];
    return -1;
}

static void log_reset(void)
{
    memset(log_counts, 0, sizeof log_counts);
    log_other = 0;
    log_last_spool[0] = '\0';
}

static char g_root[256]; /* the mkdtemp directory every directory test works under */

static void path_in(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s/%s", dir, name);
    CHECK(w > 0 && (size_t)w < n);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ_INT(fwrite(data, 1, len, f), len);
    CHECK_EQ_INT(fclose(f), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char sub[512];
            path_in(sub, sizeof sub, path, de->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static struct spool *open_spool(const char *dir, size_t max_entries, size_t max_bytes)
{
    struct spool_config c = {.max_entries = max_entries, .max_bytes = max_bytes, .dir = dir};
    struct spool *s = NULL;
    CHECK_EQ_INT(spool_open(&c, &s), ES_OK);
    CHECK(s != NULL);
    return s;
}

/* Checks that entry i of s has the given topic, qos and payload text; returns its id. */
static uint64_t expect_entry(struct spool *s, size_t i, const char *topic, int qos,
                             const char *text)
{
    struct spool_entry e = {0};
    CHECK_EQ_INT(spool_peek(s, i, &e), ES_OK);
    CHECK(strcmp(e.topic, topic) == 0);
    CHECK_EQ_INT(e.qos, qos);
    CHECK_EQ_INT(e.len, strlen(text));
    CHECK(e.len == 0 || (e.payload && memcmp(e.payload, text, e.len) == 0));
    CHECK(e.cap >= e.len);
    free(e.payload);
    return e.id;
}

/* FIFO order, contents, increasing ids and remove_through, in either mode. */
static void test_fifo(const char *dir)
{
    struct spool *s = open_spool(dir, 10, 1000);
    CHECK_EQ_INT(spool_push(s, "pipeline/results/a", 1, "one", 3), ES_OK);
    CHECK_EQ_INT(spool_push(s, "pipeline/frames/a", 0, "second", 6), ES_OK);
    CHECK_EQ_INT(spool_push(s, "pipeline/results/a", 1, NULL, 0), ES_OK);
    CHECK_EQ_INT(spool_push(s, "pipeline/results/b", 1, "four", 4), ES_OK);
    CHECK_EQ_INT(spool_count(s), 4);
    uint64_t id0 = expect_entry(s, 0, "pipeline/results/a", 1, "one");
    uint64_t id1 = expect_entry(s, 1, "pipeline/frames/a", 0, "second");
    uint64_t id2 = expect_entry(s, 2, "pipeline/results/a", 1, "");
    uint64_t id3 = expect_entry(s, 3, "pipeline/results/b", 1, "four");
    CHECK_EQ_INT(id0, 1);
    CHECK(id0 < id1 && id1 < id2 && id2 < id3);
    struct spool_entry e = {0};
    CHECK_EQ_INT(spool_peek(s, 4, &e), ES_EEOF);
    /* one buffer reused across peeks grows as needed and keeps the copy */
    CHECK_EQ_INT(spool_peek(s, 0, &e), ES_OK);
    CHECK_EQ_INT(spool_peek(s, 1, &e), ES_OK);
    CHECK(e.cap >= 6 && memcmp(e.payload, "second", 6) == 0);
    free(e.payload);
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.entries, 4);
    CHECK_EQ_INT(st.bytes, 13);
    CHECK_EQ_INT(st.pushed, 4);
    CHECK_EQ_INT(st.dropped_full + st.dropped_io + st.recovered, 0);
    spool_remove_through(s, 0); /* below every id: nothing */
    CHECK_EQ_INT(spool_count(s), 4);
    spool_remove_through(s, id1);
    CHECK_EQ_INT(spool_count(s), 2);
    CHECK_EQ_INT(expect_entry(s, 0, "pipeline/results/a", 1, ""), id2);
    spool_remove_through(s, id1); /* already gone: nothing */
    CHECK_EQ_INT(spool_count(s), 2);
    spool_remove_through(s, UINT64_MAX);
    CHECK_EQ_INT(spool_count(s), 0);
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.bytes, 0);
    CHECK_EQ_INT(spool_push(s, "t", 0, "x", 1), ES_OK);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "x"), id3 + 1);
    spool_free(s);
}

/* The entry limit and the byte limit drop the oldest, count them and log once per episode. */
static void test_limits(const char *dir)
{
    log_reset();
    struct spool *s = open_spool(dir, 3, 10);
    for (int i = 0; i < 5; i++) {
        char p[2] = {(char)('a' + i), 0};
        CHECK_EQ_INT(spool_push(s, "t", 0, p, 1), ES_OK);
    }
    CHECK_EQ_INT(spool_count(s), 3);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "c"), 3);
    CHECK_EQ_INT(expect_entry(s, 2, "t", 0, "e"), 5);
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.dropped_full, 2);
    CHECK_EQ_INT(st.pushed, 5);
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL"), 1);
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL-END"), 0);
    spool_remove_through(s, 5);
    CHECK_EQ_INT(spool_push(s, "t", 0, "0123", 4), ES_OK); /* room again: the episode ends */
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL-END"), 1);
    CHECK_EQ_INT(spool_push(s, "t", 0, "4567", 4), ES_OK);
    CHECK_EQ_INT(spool_push(s, "t", 0, "89ab", 4), ES_OK); /* 12 bytes > 10: drops "0123" */
    CHECK_EQ_INT(spool_count(s), 2);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "4567"), 7);
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.bytes, 8);
    CHECK_EQ_INT(st.dropped_full, 3);
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL"), 2);
    /* alone larger than max_bytes: refused, counted, nothing else dropped */
    CHECK_EQ_INT(spool_push(s, "t", 0, "0123456789X", 11), ES_ELIMIT);
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.dropped_full, 4);
    CHECK_EQ_INT(st.pushed, 8);
    CHECK_EQ_INT(spool_push(s, "t", 0, "0123456789", 10), ES_OK); /* exactly the limit */
    CHECK_EQ_INT(spool_count(s), 1);
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL"), 2); /* the same episode: no new line */
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL-END"), 1);
    spool_free(s);
}

static void test_invalid(void)
{
    struct spool *s = open_spool(NULL, 4, 100);
    char topic[SPOOL_TOPIC_MAX + 1];
    memset(topic, 'a', sizeof topic);
    topic[SPOOL_TOPIC_MAX] = '\0'; /* 192 bytes: one too many */
    CHECK_EQ_INT(spool_push(s, topic, 0, "x", 1), ES_EINVAL);
    topic[SPOOL_TOPIC_MAX - 1] = '\0'; /* 191 bytes */
    CHECK_EQ_INT(spool_push(s, topic, 0, "x", 1), ES_OK);
    CHECK_EQ_INT(expect_entry(s, 0, topic, 0, "x"), 1);
    CHECK_EQ_INT(spool_push(s, NULL, 0, "x", 1), ES_EINVAL);
    CHECK_EQ_INT(spool_push(s, "", 0, "x", 1), ES_EINVAL);
    CHECK_EQ_INT(spool_push(s, "t", 2, "x", 1), ES_EINVAL);
    CHECK_EQ_INT(spool_push(s, "t", -1, "x", 1), ES_EINVAL);
    CHECK_EQ_INT(spool_push(s, "t", 0, NULL, 1), ES_EINVAL);
    CHECK_EQ_INT(spool_push(NULL, "t", 0, "x", 1), ES_EINVAL);
    CHECK_EQ_INT(spool_peek(s, 0, NULL), ES_EINVAL);
    CHECK_EQ_INT(spool_count(s), 1);
    spool_free(s);
    spool_free(NULL);

    struct spool *out = (struct spool *)&out; /* must be reset to NULL */
    struct spool_config c = {.max_entries = 0, .max_bytes = 10};
    CHECK_EQ_INT(spool_open(&c, &out), ES_EINVAL);
    CHECK(out == NULL);
    c = (struct spool_config){.max_entries = 1, .max_bytes = 0};
    CHECK_EQ_INT(spool_open(&c, &out), ES_EINVAL);
    c = (struct spool_config){.max_entries = 1, .max_bytes = 1, .dir = ""};
    CHECK_EQ_INT(spool_open(&c, &out), ES_EINVAL);
    CHECK_EQ_INT(spool_open(NULL, &out), ES_EINVAL);
    c.dir = NULL;
    CHECK_EQ_INT(spool_open(&c, NULL), ES_EINVAL);
}

/* A peeked copy stays intact when a concurrent push drops its entry. */
static void test_copy_outlives_drop(const char *dir)
{
    struct spool *s = open_spool(dir, 1, 100);
    CHECK_EQ_INT(spool_push(s, "t", 1, "first", 5), ES_OK);
    struct spool_entry e = {0};
    CHECK_EQ_INT(spool_peek(s, 0, &e), ES_OK);
    CHECK_EQ_INT(spool_push(s, "u", 0, "second", 6), ES_OK); /* drops "first" */
    CHECK(e.len == 5 && memcmp(e.payload, "first", 5) == 0 && strcmp(e.topic, "t") == 0);
    spool_remove_through(s, e.id); /* the id was dropped meanwhile: the newer entry stays */
    CHECK_EQ_INT(spool_count(s), 1);
    CHECK_EQ_INT(expect_entry(s, 0, "u", 0, "second"), e.id + 1);
    free(e.payload);
    spool_free(s);
}

/* Entries, order and ids survive close and reopen; leftovers and corrupt files are handled. */
static void test_reopen(const char *dir)
{
    log_reset();
    struct spool *s = open_spool(dir, 10, 1000);
    CHECK_EQ_INT(spool_push(s, "a/1", 1, "alpha", 5), ES_OK);
    CHECK_EQ_INT(spool_push(s, "a/2", 0, "beta", 4), ES_OK);
    CHECK_EQ_INT(spool_push(s, "a/3", 1, "gamma", 5), ES_OK);
    spool_remove_through(s, 1);
    spool_free(s);
    char path[512];
    path_in(path, sizeof path, dir, "00000000000000000001.msg");
    CHECK(!exists(path)); /* removed entries lose their file */
    path_in(path, sizeof path, dir, "00000000000000000003.msg");
    CHECK(exists(path));
    path_in(path, sizeof path, dir, "00000000000000000004.tmp"); /* an interrupted write */
    write_file(path, "ESP1", 4);
    char other[512];
    path_in(other, sizeof other, dir, "notes.txt");
    write_file(other, "keep", 4);

    s = open_spool(dir, 10, 1000);
    CHECK(!exists(path));
    CHECK(exists(other));
    CHECK_EQ_INT(spool_count(s), 2);
    CHECK_EQ_INT(expect_entry(s, 0, "a/2", 0, "beta"), 2);
    CHECK_EQ_INT(expect_entry(s, 1, "a/3", 1, "gamma"), 3);
    CHECK_EQ_INT(spool_push(s, "a/4", 1, "delta", 5), ES_OK);
    CHECK_EQ_INT(expect_entry(s, 2, "a/4", 1, "delta"), 4);
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.recovered, 2);
    CHECK_EQ_INT(st.dropped_io, 0);
    CHECK_EQ_INT(st.bytes, 14);
    spool_free(s);
    CHECK_EQ_INT(logged("EDGE-SPOOL-CORRUPT"), 0);

    /* two corrupt files (bad magic, truncated payload): removed, counted, one summary line */
    path_in(path, sizeof path, dir, "00000000000000000009.msg");
    write_file(path, "garbage!garbage!garbage!", 24);
    char trunc[512];
    path_in(trunc, sizeof trunc, dir, "00000000000000000007.msg");
    const uint8_t hdr[] = {'E', 'S', 'P', '1', 1, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 't', 'x', 'y'};
    write_file(trunc, hdr, sizeof hdr);
    s = open_spool(dir, 10, 1000);
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.entries, 3);
    CHECK_EQ_INT(st.recovered, 3);
    CHECK_EQ_INT(st.dropped_io, 2);
    CHECK(!exists(path));
    CHECK(!exists(trunc));
    CHECK_EQ_INT(logged("EDGE-SPOOL-CORRUPT"), 1);
    CHECK_EQ_INT(spool_push(s, "a/5", 0, "e", 1), ES_OK);
    CHECK(expect_entry(s, 3, "a/5", 0, "e") > 9); /* after every id seen, corrupt ones too */
    spool_remove_through(s, UINT64_MAX);
    spool_free(s);
    unlink(other);
}

/* Recovered entries beyond smaller limits: the oldest go, and their files. */
static void test_reopen_smaller(const char *dir)
{
    struct spool *s = open_spool(dir, 10, 1000);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(spool_push(s, "t", 0, "abc", 3), ES_OK);
    uint64_t first = expect_entry(s, 0, "t", 0, "abc");
    spool_free(s);
    log_reset();
    s = open_spool(dir, 3, 7); /* 3 entries fit, 7 bytes: 2 */
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.recovered, 5);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.dropped_full, 3);
    CHECK_EQ_INT(logged("EDGE-SPOOL-FULL"), 1);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "abc"), first + 3);
    char name[64], path[512];
    snprintf(name, sizeof name, "%020llu.msg", (unsigned long long)first);
    path_in(path, sizeof path, dir, name);
    CHECK(!exists(path));
    spool_remove_through(s, UINT64_MAX);
    spool_free(s);
}

/* A file that breaks after open is dropped at peek; the next entry takes its place. */
static void test_corrupt_at_peek(const char *dir)
{
    log_reset();
    struct spool *s = open_spool(dir, 10, 1000);
    CHECK_EQ_INT(spool_push(s, "t", 0, "first", 5), ES_OK);
    CHECK_EQ_INT(spool_push(s, "t", 0, "second", 6), ES_OK);
    CHECK_EQ_INT(spool_push(s, "t", 0, "third", 5), ES_OK);
    uint64_t id = expect_entry(s, 0, "t", 0, "first");
    char name[64], path[512];
    snprintf(name, sizeof name, "%020llu.msg", (unsigned long long)id);
    path_in(path, sizeof path, dir, name);
    CHECK_EQ_INT(truncate(path, 10), 0);
    snprintf(name, sizeof name, "%020llu.msg", (unsigned long long)id + 1);
    path_in(path, sizeof path, dir, name);
    CHECK_EQ_INT(unlink(path), 0);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "third"), id + 2);
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.entries, 1);
    CHECK_EQ_INT(st.dropped_io, 2);
    CHECK_EQ_INT(logged("EDGE-SPOOL-CORRUPT"), 1);
    CHECK_EQ_INT(logged("EDGE-SPOOL-CORRUPT-END"), 1);
    spool_remove_through(s, UINT64_MAX);
    spool_free(s);
}

/* The directory cannot take files (it vanished, as a full or read-only disk refuses them): the
 * entries are kept in memory, in order with the ones on disk, logged once; when it can again, new
 * entries go to files, and forwarding a kept one deletes no file. */
static void test_write_failure(const char *dir)
{
    log_reset();
    struct spool *s = open_spool(dir, 10, 1000);
    CHECK_EQ_INT(spool_push(s, "t", 0, "kept", 4), ES_OK);
    spool_remove_through(s, UINT64_MAX);
    char lock[512];
    path_in(lock, sizeof lock, dir, "lock"); /* the spool keeps its lock through the open fd */
    CHECK_EQ_INT(unlink(lock), 0);
    CHECK_EQ_INT(rmdir(dir), 0);
    CHECK_EQ_INT(spool_push(s, "t", 0, "mem1", 4), ES_OK);
    CHECK_EQ_INT(spool_push(s, "t", 1, "mem2", 4), ES_OK);
    struct spool_stats st;
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.in_memory, 2);
    CHECK_EQ_INT(st.dropped_io, 0);
    CHECK_EQ_INT(st.entries, 2);
    CHECK_EQ_INT(st.pushed, 3);
    CHECK_EQ_INT(logged("EDGE-SPOOL-IO"), 1);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "mem1"), 2);
    CHECK_EQ_INT(expect_entry(s, 1, "t", 1, "mem2"), 3);
    CHECK_EQ_INT(mkdir(dir, 0700), 0);
    CHECK_EQ_INT(spool_push(s, "t", 0, "back", 4), ES_OK);
    CHECK_EQ_INT(logged("EDGE-SPOOL-IO-END"), 1);
    CHECK_EQ_INT(expect_entry(s, 2, "t", 0, "back"), 4);
    char file[512];
    path_in(file, sizeof file, dir, "00000000000000000004.msg");
    CHECK_EQ_INT(access(file, F_OK), 0); /* on disk again */
    spool_remove_through(s, 3);
    CHECK_EQ_INT(access(file, F_OK), 0); /* the kept ones went without touching it */
    CHECK_EQ_INT(expect_entry(s, 0, "t", 0, "back"), 4);
    spool_remove_through(s, UINT64_MAX);
    CHECK(access(file, F_OK) != 0);
    spool_free(s);
}

static void test_unusable_dir(void)
{
    log_reset();
    char file[512], below[512];
    path_in(file, sizeof file, g_root, "plain-file");
    write_file(file, "x", 1);
    path_in(below, sizeof below, file, "spool");
    struct spool_config c = {.max_entries = 4, .max_bytes = 100, .dir = file};
    struct spool *s = (struct spool *)&s;
    CHECK_EQ_INT(spool_open(&c, &s), ES_EIO);
    CHECK(s == NULL);
    CHECK_EQ_INT(logged("EDGE-SPOOL"), 1);
    c.dir = below;
    CHECK_EQ_INT(spool_open(&c, &s), ES_EIO);
    CHECK_EQ_INT(logged("EDGE-SPOOL"), 2);
    unlink(file);
}

/* A directory is one agent's: while a spool holds it, a second spool_open on it fails with ES_EIO
 * and touches nothing, from this process or another; after spool_free it opens again. */
static void test_dir_lock(const char *dir)
{
    log_reset();
    struct spool *s = open_spool(dir, 4, 100);
    CHECK_EQ_INT(spool_push(s, "t", 1, "held", 4), ES_OK);
    char lock[512], tmp[512], alias[512];
    path_in(lock, sizeof lock, dir, "lock");
    path_in(tmp, sizeof tmp, dir, "00000000000000000009.tmp"); /* a refused open must keep it */
    path_in(alias, sizeof alias, dir, ".");                    /* the same directory */
    CHECK(exists(lock));
    write_file(tmp, "ESP1", 4);

    struct spool_config c = {.max_entries = 4, .max_bytes = 100, .dir = dir};
    struct spool *again = (struct spool *)&again;
    CHECK_EQ_INT(spool_open(&c, &again), ES_EIO);
    CHECK(again == NULL);
    CHECK(exists(tmp));
    CHECK_EQ_INT(logged("EDGE-SPOOL"), 1);
    CHECK(strstr(log_last_spool, dir) && strstr(log_last_spool, "in use by another edge agent"));
    c.dir = alias;
    CHECK_EQ_INT(spool_open(&c, &again), ES_EIO);
    pid_t pid = fork(); /* another agent: a process of its own */
    if (pid == 0)
        _exit(spool_open(&c, &again) == ES_EIO ? 0 : 1);
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(expect_entry(s, 0, "t", 1, "held"), 1);
    spool_free(s);

    log_reset();
    s = open_spool(dir, 4, 100);
    CHECK(exists(lock));
    CHECK(!exists(tmp));
    struct spool_stats st = {0};
    spool_get_stats(s, &st);
    CHECK_EQ_INT(st.recovered, 1);
    CHECK_EQ_INT(st.dropped_io, 0); /* the lock file is no entry */
    CHECK_EQ_INT(logged("EDGE-SPOOL") + logged("EDGE-SPOOL-CORRUPT"), 0);
    spool_remove_through(s, UINT64_MAX);
    spool_free(s);
}

/* Returns the push's error through the thread's result: check.h's counters are not atomic. */
static void *push_later(void *arg)
{
    clock_sleep_us(50000);
    return (void *)(intptr_t)spool_push(arg, "t", 0, "x", 1);
}

static void *wake_later(void *arg)
{
    clock_sleep_us(50000);
    spool_wake(arg);
    return NULL;
}

static void test_wait(void)
{
    struct spool *s = open_spool(NULL, 4, 100);
    int64_t t0 = clock_mono_us();
    CHECK_EQ_INT(spool_wait(s, 100000), ES_ETIMEDOUT);
    int64_t waited = clock_mono_us() - t0;
    CHECK(waited >= 90000 && waited < 2000000);
    CHECK_EQ_INT(spool_wait(s, 0), ES_ETIMEDOUT);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, push_later, s), 0);
    t0 = clock_mono_us();
    CHECK_EQ_INT(spool_wait(s, 5000000), ES_OK);
    CHECK(clock_mono_us() - t0 < 2000000);
    void *pushed;
    pthread_join(t, &pushed);
    CHECK_EQ_INT((intptr_t)pushed, ES_OK);
    CHECK_EQ_INT(spool_count(s), 1);
    CHECK_EQ_INT(spool_wait(s, 0), ES_OK); /* an entry is held */
    spool_remove_through(s, UINT64_MAX);
    spool_wake(s); /* before the wait: not lost, consumed once */
    CHECK_EQ_INT(spool_wait(s, 0), ES_OK);
    CHECK_EQ_INT(spool_wait(s, 0), ES_ETIMEDOUT);
    CHECK_EQ_INT(pthread_create(&t, NULL, wake_later, s), 0);
    t0 = clock_mono_us();
    CHECK_EQ_INT(spool_wait(s, -1), ES_OK);
    CHECK(clock_mono_us() - t0 < 2000000);
    pthread_join(t, NULL);
    spool_free(s);
}

struct pusher {
    struct spool *s;
    int n;
    int failed;
};

static void *push_many(void *arg)
{
    struct pusher *p = arg;
    for (int i = 0; i < p->n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "payload %d", i);
        if (spool_push(p->s, "t", 1, buf, (size_t)len) != ES_OK)
            p->failed++;
    }
    return NULL;
}

/* A pusher and a forwarder at once: entries come out in order, each once, none lost silently. */
static void test_concurrent(const char *dir, int n)
{
    struct pusher p = {open_spool(dir, 16, 4096), n, 0};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, push_many, &p), 0);
    struct spool_entry e = {0};
    uint64_t last = 0, got = 0, disorder = 0, bad = 0;
    struct spool_stats st = {0};
    int64_t deadline = clock_mono_us() + 30000000;
    while (clock_mono_us() < deadline) {
        if (spool_wait(p.s, 10000) == ES_OK && spool_peek(p.s, 0, &e) == ES_OK) {
            char want[32];
            int len = snprintf(want, sizeof want, "payload %llu", (unsigned long long)e.id - 1);
            disorder += e.id <= last;
            bad += e.len != (size_t)len || memcmp(e.payload, want, e.len) != 0;
            last = e.id;
            got++;
            spool_remove_through(p.s, e.id);
            continue;
        }
        spool_get_stats(p.s, &st);
        if (st.pushed >= (uint64_t)n && st.entries == 0)
            break;
    }
    pthread_join(t, NULL);
    spool_get_stats(p.s, &st);
    CHECK_EQ_INT(p.failed, 0);
    CHECK_EQ_INT(disorder, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(st.pushed, n);
    /* an entry dropped after it was peeked counts on both sides */
    CHECK(got <= (uint64_t)n && got + st.dropped_full >= (uint64_t)n);
    CHECK_EQ_INT(last, n);
    free(e.payload);
    spool_free(p.s);
}

int main(void)
{
    log_set_sink(count_sink, NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/test_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        fprintf(stderr, "cannot create a directory from %s: %s\n", g_root, strerror(errno));
        return 1;
    }
    char dir[512];
#define FRESH(name) (path_in(dir, sizeof dir, g_root, name), dir) /* created by spool_open */

    test_fifo(NULL);
    test_limits(NULL);
    test_invalid();
    test_copy_outlives_drop(NULL);
    test_wait();
    test_concurrent(NULL, 20000);

    test_fifo(FRESH("fifo"));
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    test_limits(FRESH("limits"));
    test_copy_outlives_drop(FRESH("copy"));
    test_reopen(FRESH("reopen"));
    test_reopen_smaller(FRESH("smaller"));
    test_corrupt_at_peek(FRESH("peek"));
    test_write_failure(FRESH("vanish"));
    test_unusable_dir();
    test_dir_lock(FRESH("lock"));
    test_concurrent(FRESH("concurrent"), 2000);
    CHECK_EQ_INT(log_other, 0);

    log_set_sink(NULL, NULL);
    remove_tree(g_root);
    return check_exit();
}

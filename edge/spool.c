/* The edge's store-and-forward buffer: a ring of entries in memory, optionally backed by one file
 * per entry in a directory. See spool.h for the contract and the file format. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HDR_SIZE 16
#define NAME_DIGITS 20                /* "%020llu" */
#define PATH_BUF (SPOOL_DIR_MAX + 32) /* DIR/<20 digits>.msg */
#define TOPIC_LEN_MAX (SPOOL_TOPIC_MAX - 1)

/* One held entry. In directory mode payload is NULL and the bytes live in the entry's file. */
struct slot {
    uint64_t id;
    size_t len;
    int qos;
    char topic[SPOOL_TOPIC_MAX];
    uint8_t *payload;
};

/* A run of failures that is logged once when it starts and once when it ends. */
struct episode {
    bool on;
    uint64_t n;
};

struct spool {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an entry was pushed, or spool_wake was called */
    size_t max_entries;
    size_t max_bytes;
    char *dir;        /* NULL in memory mode */
    const char *name; /* dir, or "(memory)" for log lines */
    struct slot *ring;
    size_t cap, head, count, bytes;
    uint64_t next_id;
    bool woken;
    struct episode full, wfail, rfail;
    struct spool_stats st;
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static struct slot *slot_at(struct spool *s, size_t i)
{
    return &s->ring[(s->head + i) % s->cap];
}

static void entry_path(const struct spool *s, uint64_t id, const char *ext, char *buf)
{
    snprintf(buf, PATH_BUF, "%s/%0*llu.%s", s->dir, NAME_DIGITS, (unsigned long long)id, ext);
}

/* Makes room for one more slot, keeping the order (the ring is unrolled to start at 0). */
static enum es_err ring_reserve(struct spool *s)
{
    if (s->count < s->cap)
        return ES_OK;
    size_t ncap = s->cap ? s->cap * 2 : 16;
    struct slot *r = malloc(ncap * sizeof *r);
    if (!r)
        return ES_ENOMEM;
    for (size_t i = 0; i < s->count; i++)
        r[i] = *slot_at(s, i);
    free(s->ring);
    s->ring = r;
    s->cap = ncap;
    s->head = 0;
    return ES_OK;
}

/* A write-side failure (create, write, rename, unlink): logged when a run of them starts. */
static void write_fail_locked(struct spool *s, const char *what, const char *path, int err)
{
    if (!s->wfail.on)
        log_msg(LOG_WARN, "EDGE-SPOOL-IO", "cannot %s spool file %s: %s", what, path,
                strerror(err));
    s->wfail.on = true;
    s->wfail.n++;
}

static void write_ok_locked(struct spool *s)
{
    if (s->wfail.on)
        log_msg(LOG_INFO, "EDGE-SPOOL-IO-END", "spool %s writable again after %llu failures",
                s->name, (unsigned long long)s->wfail.n);
    s->wfail = (struct episode){0};
}

/* Frees the slot's memory or deletes its file. */
static void release_slot_locked(struct spool *s, struct slot *sl)
{
    free(sl->payload);
    sl->payload = NULL;
    if (!s->dir)
        return;
    char path[PATH_BUF];
    entry_path(s, sl->id, "msg", path);
    if (unlink(path) != 0 && errno != ENOENT)
        write_fail_locked(s, "remove", path, errno);
}

static void drop_head_locked(struct spool *s)
{
    struct slot *sl = slot_at(s, 0);
    release_slot_locked(s, sl);
    s->bytes -= sl->len;
    s->head = (s->head + 1) % s->cap;
    s->count--;
}

/* Counts n entries dropped for room; the first drop of an episode is logged. oversize is the
 * length of a refused entry, 0 when the oldest entries were dropped. */
static void full_drop_locked(struct spool *s, uint64_t n, size_t oversize)
{
    if (!s->full.on && oversize)
        log_msg(LOG_WARN, "EDGE-SPOOL-FULL",
                "spool %s refuses a %zu-byte entry: larger than its limit of %zu bytes", s->name,
                oversize, s->max_bytes);
    else if (!s->full.on)
        log_msg(LOG_WARN, "EDGE-SPOOL-FULL",
                "spool %s full (limits %zu entries, %zu bytes): dropping the oldest entries",
                s->name, s->max_entries, s->max_bytes);
    s->full.on = true;
    s->full.n += n;
    s->st.dropped_full += n;
}

/* Drops the oldest entries until extra_n more entries of extra_b bytes fit. Returns whether it
 * dropped any. */
static bool enforce_limits_locked(struct spool *s, size_t extra_n, size_t extra_b)
{
    uint64_t n = 0;
    while (s->count > 0 &&
           (s->count + extra_n > s->max_entries || s->bytes + extra_b > s->max_bytes)) {
        drop_head_locked(s);
        n++;
    }
    if (n)
        full_drop_locked(s, n, 0);
    return n > 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads exactly len bytes at offset off; -1 with errno set otherwise (EIO for a short file). */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        p += r;
        off += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Writes the slot's file: header, topic and payload to <id>.tmp, then renamed to <id>.msg. */
static enum es_err write_entry_locked(struct spool *s, const struct slot *sl, const void *payload)
{
    char tmp[PATH_BUF], msg[PATH_BUF];
    entry_path(s, sl->id, "tmp", tmp);
    entry_path(s, sl->id, "msg", msg);
    uint8_t h[HDR_SIZE + TOPIC_LEN_MAX];
    size_t tlen = strlen(sl->topic);
    memcpy(h, "ESP1", 4);
    h[4] = (uint8_t)sl->qos;
    h[5] = 0;
    put_le(h + 6, tlen, 2);
    put_le(h + 8, sl->len, 8);
    memcpy(h + HDR_SIZE, sl->topic, tlen);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        write_fail_locked(s, "create", tmp, errno);
        return ES_EIO;
    }
    int err = 0;
    if (write_full(fd, h, HDR_SIZE + tlen) != 0 || write_full(fd, payload, sl->len) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, msg) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        write_fail_locked(s, "write", tmp, err);
        return ES_EIO;
    }
    write_ok_locked(s);
    return ES_OK;
}

/* Reads and checks the header and topic of an open entry file into sl (id and payload are left
 * alone). Returns NULL when valid, else why it is not. */
static const char *read_header(int fd, struct slot *sl)
{
    uint8_t h[HDR_SIZE + TOPIC_LEN_MAX];
    struct stat st;
    if (fstat(fd, &st) != 0 || pread_full(fd, h, HDR_SIZE, 0) != 0)
        return strerror(errno);
    if (memcmp(h, "ESP1", 4) != 0)
        return "bad magic";
    size_t tlen = (size_t)get_le(h + 6, 2);
    uint64_t plen = get_le(h + 8, 8);
    if (h[4] > 1 || h[5] != 0 || tlen == 0 || tlen > TOPIC_LEN_MAX || (size_t)plen != plen)
        return "bad header";
    if ((uint64_t)st.st_size < HDR_SIZE + tlen || (uint64_t)st.st_size - HDR_SIZE - tlen != plen)
        return "file size does not match its header";
    if (pread_full(fd, h + HDR_SIZE, tlen, HDR_SIZE) != 0)
        return strerror(errno);
    if (memchr(h + HDR_SIZE, 0, tlen))
        return "NUL in topic";
    sl->qos = h[4];
    sl->len = (size_t)plen;
    memcpy(sl->topic, h + HDR_SIZE, tlen);
    sl->topic[tlen] = '\0';
    return NULL;
}

/* True when name is <NAME_DIGITS digits>.ext; the digits are stored in *id. */
static bool parse_name(const char *name, const char *ext, uint64_t *id)
{
    if (strlen(name) != NAME_DIGITS + 1 + strlen(ext) || name[NAME_DIGITS] != '.' ||
        strcmp(name + NAME_DIGITS + 1, ext) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0 || v == UINT64_MAX) /* ids start at 1; the largest would leave no next id */
        return false;
    *id = v;
    return true;
}

/* What spool_open's scan found wrong, for its one summary line. */
struct scan_bad {
    uint64_t n;
    char first[PATH_BUF];
    const char *why;
};

/* Loads <id>.msg into the index, or removes it when it is not valid. */
static enum es_err load_entry(struct spool *s, uint64_t id, struct scan_bad *bad)
{
    char path[PATH_BUF];
    entry_path(s, id, "msg", path);
    struct slot sl = {.id = id};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const char *why = fd < 0 ? strerror(errno) : read_header(fd, &sl);
    if (fd >= 0)
        close(fd);
    if (id >= s->next_id)
        s->next_id = id + 1;
    if (why) {
        if (bad->n++ == 0) {
            snprintf(bad->first, sizeof bad->first, "%s", path);
            bad->why = why;
        }
        s->st.dropped_io++;
        unlink(path);
        return ES_OK;
    }
    s->st.recovered++;
    if (sl.len > s->max_bytes) {
        full_drop_locked(s, 1, sl.len);
        unlink(path);
        return ES_OK;
    }
    if (ring_reserve(s) != ES_OK)
        return ES_ENOMEM;
    *slot_at(s, s->count++) = sl;
    s->bytes += sl.len;
    return ES_OK;
}

static int cmp_slot_id(const void *a, const void *b)
{
    uint64_t x = ((const struct slot *)a)->id, y = ((const struct slot *)b)->id;
    return (x > y) - (x < y);
}

/* Creates the directory if needed and checks it is a writable directory. */
static enum es_err check_dir(const char *dir)
{
    struct stat st;
    int err = 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        err = errno;
    else if (stat(dir, &st) != 0)
        err = errno;
    else if (!S_ISDIR(st.st_mode))
        err = ENOTDIR;
    else if (access(dir, W_OK | X_OK) != 0)
        err = errno;
    if (!err)
        return ES_OK;
    log_msg(LOG_ERROR, "EDGE-SPOOL", "cannot use spool directory %s: %s", dir, strerror(err));
    return ES_EIO;
}

/* Removes leftover .tmp files and loads the .msg files, oldest first. */
static enum es_err scan_dir(struct spool *s)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        log_msg(LOG_ERROR, "EDGE-SPOOL", "cannot use spool directory %s: %s", s->dir,
                strerror(errno));
        return ES_EIO;
    }
    struct scan_bad bad = {0};
    enum es_err err = ES_OK;
    struct dirent *de;
    while (err == ES_OK && (de = readdir(d)) != NULL) {
        uint64_t id;
        char path[PATH_BUF];
        if (parse_name(de->d_name, "tmp", &id)) {
            entry_path(s, id, "tmp", path);
            unlink(path);
        } else if (parse_name(de->d_name, "msg", &id)) {
            err = load_entry(s, id, &bad);
        }
    }
    closedir(d);
    if (bad.n)
        log_msg(LOG_WARN, "EDGE-SPOOL-CORRUPT",
                "spool %s: removed %llu corrupt or unreadable entries (first %s: %s)", s->dir,
                (unsigned long long)bad.n, bad.first, bad.why);
    if (err != ES_OK)
        return err;
    if (s->count > 1)
        qsort(s->ring, s->count, sizeof *s->ring, cmp_slot_id);
    enforce_limits_locked(s, 0, 0);
    return ES_OK;
}

enum es_err spool_open(const struct spool_config *c, struct spool **out)
{
    if (out)
        *out = NULL;
    if (!c || !out || c->max_entries == 0 || c->max_bytes == 0 ||
        (c->dir && (c->dir[0] == '\0' || strlen(c->dir) > SPOOL_DIR_MAX)))
        return ES_EINVAL;
    struct spool *s = calloc(1, sizeof *s);
    if (!s)
        return ES_ENOMEM;
    enum es_err err = ES_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    s->max_entries = c->max_entries;
    s->max_bytes = c->max_bytes;
    s->next_id = 1;
    s->name = "(memory)";
    if (c->dir) {
        s->dir = strdup(c->dir);
        if (!s->dir)
            goto cleanup;
        s->name = s->dir;
        err = check_dir(s->dir);
        if (err == ES_OK)
            err = scan_dir(s);
        if (err != ES_OK)
            goto cleanup;
    }
    *out = s;
    return ES_OK;
cleanup:
    spool_free(s);
    return err;
}

void spool_free(struct spool *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(slot_at(s, i)->payload);
    free(s->ring);
    free(s->dir);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Holds sl (its payload copy or its file already made) as the newest entry. */
static void append_locked(struct spool *s, const struct slot *sl)
{
    bool dropped = enforce_limits_locked(s, 1, sl->len);
    *slot_at(s, s->count++) = *sl;
    s->bytes += sl->len;
    s->next_id++;
    s->st.pushed++;
    if (!dropped && s->full.on) {
        log_msg(LOG_INFO, "EDGE-SPOOL-FULL-END", "spool %s has room again: %llu entries dropped",
                s->name, (unsigned long long)s->full.n);
        s->full = (struct episode){0};
    }
    pthread_cond_broadcast(&s->changed);
}

enum es_err spool_push(struct spool *s, const char *topic, int qos, const void *payload, size_t len)
{
    if (!s || !topic || topic[0] == '\0' || strnlen(topic, SPOOL_TOPIC_MAX) > TOPIC_LEN_MAX ||
        (qos != 0 && qos != 1) || (!payload && len > 0))
        return ES_EINVAL;
    struct slot sl = {.len = len, .qos = qos};
    strcpy(sl.topic, topic);
    if (!s->dir && len > 0 && len <= s->max_bytes) {
        sl.payload = malloc(len);
        if (!sl.payload)
            return ES_ENOMEM;
        memcpy(sl.payload, payload, len);
    }
    pthread_mutex_lock(&s->lock);
    enum es_err err = ES_ELIMIT;
    if (len > s->max_bytes) {
        full_drop_locked(s, 1, len);
        goto cleanup;
    }
    err = ring_reserve(s);
    if (err != ES_OK)
        goto cleanup;
    sl.id = s->next_id;
    if (s->dir) {
        err = write_entry_locked(s, &sl, payload);
        if (err != ES_OK) {
            s->st.dropped_io++;
            goto cleanup;
        }
    }
    append_locked(s, &sl);
    pthread_mutex_unlock(&s->lock);
    return ES_OK;
cleanup:
    pthread_mutex_unlock(&s->lock);
    free(sl.payload);
    return err;
}

/* Reads the payload of e (id, len set) from its open file into e->payload and closes fd.
 * Returns NULL on success, else why it failed. */
static const char *read_payload(int fd, struct spool_entry *e)
{
    struct slot sl;
    const char *why = read_header(fd, &sl);
    if (!why && (sl.len != e->len || sl.qos != e->qos || strcmp(sl.topic, e->topic) != 0))
        why = "file does not match the index";
    if (!why && pread_full(fd, e->payload, e->len, (off_t)(HDR_SIZE + strlen(sl.topic))) != 0)
        why = strerror(errno);
    close(fd);
    return why;
}

/* An entry whose file could not be read: dropped if still held, logged once per episode. */
static void drop_unreadable(struct spool *s, uint64_t id, const char *why)
{
    pthread_mutex_lock(&s->lock);
    char path[PATH_BUF];
    entry_path(s, id, "msg", path);
    if (!s->rfail.on)
        log_msg(LOG_WARN, "EDGE-SPOOL-CORRUPT", "spool entry %s dropped: %s", path, why);
    s->rfail.on = true;
    s->rfail.n++;
    for (size_t i = 0; i < s->count; i++) {
        struct slot *sl = slot_at(s, i);
        if (sl->id != id)
            continue;
        release_slot_locked(s, sl);
        s->bytes -= sl->len;
        for (size_t j = i + 1; j < s->count; j++)
            *slot_at(s, j - 1) = *slot_at(s, j);
        s->count--;
        s->st.dropped_io++;
        break;
    }
    pthread_mutex_unlock(&s->lock);
}

static void read_ok(struct spool *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->rfail.on)
        log_msg(LOG_INFO, "EDGE-SPOOL-CORRUPT-END", "spool %s readable again after %llu failures",
                s->name, (unsigned long long)s->rfail.n);
    s->rfail = (struct episode){0};
    pthread_mutex_unlock(&s->lock);
}

/* Copies slot i into e under the lock; in directory mode opens its file into *fd (-1 if it
 * cannot be opened, with *why set), so that the file can be read after the lock is released
 * even if the entry is removed meanwhile. */
static enum es_err peek_locked(struct spool *s, size_t i, struct spool_entry *e, int *fd,
                               const char **why)
{
    if (i >= s->count)
        return ES_EEOF;
    const struct slot *sl = slot_at(s, i);
    if (sl->len > e->cap) {
        uint8_t *p = realloc(e->payload, sl->len);
        if (!p)
            return ES_ENOMEM;
        e->payload = p;
        e->cap = sl->len;
    }
    e->id = sl->id;
    e->qos = sl->qos;
    e->len = sl->len;
    memcpy(e->topic, sl->topic, sizeof e->topic);
    if (!s->dir) {
        if (sl->len > 0)
            memcpy(e->payload, sl->payload, sl->len);
        return ES_OK;
    }
    char path[PATH_BUF];
    entry_path(s, sl->id, "msg", path);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        *why = strerror(errno);
    return ES_OK;
}

enum es_err spool_peek(struct spool *s, size_t i, struct spool_entry *e)
{
    if (!s || !e)
        return ES_EINVAL;
    for (;;) {
        int fd = -1;
        const char *why = NULL;
        pthread_mutex_lock(&s->lock);
        enum es_err err = peek_locked(s, i, e, &fd, &why);
        pthread_mutex_unlock(&s->lock);
        if (err != ES_OK || !s->dir)
            return err;
        if (fd >= 0)
            why = read_payload(fd, e);
        if (!why) {
            read_ok(s);
            return ES_OK;
        }
        drop_unreadable(s, e->id, why);
    }
}

void spool_remove_through(struct spool *s, uint64_t id)
{
    pthread_mutex_lock(&s->lock);
    while (s->count > 0 && slot_at(s, 0)->id <= id)
        drop_head_locked(s);
    pthread_mutex_unlock(&s->lock);
}

size_t spool_count(struct spool *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void spool_get_stats(struct spool *s, struct spool_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    out->entries = s->count;
    out->bytes = s->bytes;
    pthread_mutex_unlock(&s->lock);
}

enum es_err spool_wait(struct spool *s, int64_t timeout_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_us > 0) {
        int64_t ns = ts.tv_nsec + timeout_us % 1000000 * 1000;
        ts.tv_sec += (time_t)(timeout_us / 1000000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
    }
    enum es_err err = ES_OK;
    pthread_mutex_lock(&s->lock);
    while (s->count == 0 && !s->woken) {
        int rc = timeout_us < 0 ? pthread_cond_wait(&s->changed, &s->lock)
                                : pthread_cond_timedwait(&s->changed, &s->lock, &ts);
        if (rc == ETIMEDOUT) {
            if (s->count == 0 && !s->woken)
                err = ES_ETIMEDOUT;
            break;
        }
    }
    s->woken = false;
    pthread_mutex_unlock(&s->lock);
    return err;
}

void spool_wake(struct spool *s)
{
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

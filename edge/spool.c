/* The edge's store-and-forward buffer: a ring of entries in memory, optionally backed by one file
 * per entry in a directory (written and read by spool_file.c). See spool.h for the contract and
 * the file format. */
#include "spool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool_impl.h"

#define TOPIC_LEN_MAX (SPOOL_TOPIC_MAX - 1)
/* SPOOL_SYNC_BATCH syncs at the latest when this many files wait for it. */
#define SYNC_BATCH_MAX 64

/* One held entry. In directory mode payload is NULL and the bytes live in the entry's file,
 * except for an entry whose file could not be written, which is kept in memory. */
struct slot {
    struct spool__rec rec;
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
    int dir_lock;     /* holds the lock on DIR/lock in directory mode; -1 otherwise */
    struct slot *ring;
    size_t cap, head, count, bytes;
    uint64_t next_id;
    bool woken;
    struct episode full, wfail, rfail;
    struct spool_stats st;
    enum spool_sync sync;
    /* SPOOL_SYNC_BATCH: the files written since the last sync, and when the oldest was */
    uint64_t unsynced[SYNC_BATCH_MAX];
    size_t nunsynced;
    int64_t unsynced_since_us;
};

static void sync_now(struct spool *s, bool force);

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static struct slot *slot_at(struct spool *s, size_t i)
{
    return &s->ring[(s->head + i) % s->cap];
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
        log_msg(LOG_WARN, "EDGE-SPOOL-IO",
                "cannot %s spool file %s: %s; new entries are kept in memory until it can "
                "(they do not survive a restart)",
                what, path, strerror(err));
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
    bool had_file = s->dir && !sl->payload;
    free(sl->payload);
    sl->payload = NULL;
    if (!had_file)
        return;
    int err = spool__remove_entry(s->dir, sl->rec.id);
    if (err) {
        char path[SPOOL__PATH_BUF];
        spool__entry_path(s->dir, sl->rec.id, "msg", path);
        write_fail_locked(s, "remove", path, err);
    }
}

static void drop_head_locked(struct spool *s)
{
    struct slot *sl = slot_at(s, 0);
    release_slot_locked(s, sl);
    s->bytes -= sl->rec.len;
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

/* Writes the slot's file; a failure is logged once per episode. */
static enum es_err write_entry_locked(struct spool *s, const struct slot *sl, const void *payload)
{
    const char *what = NULL;
    int err = spool__write_entry(s->dir, &sl->rec, payload, s->sync == SPOOL_SYNC_EVERY, &what);
    if (err) {
        char tmp[SPOOL__PATH_BUF];
        spool__entry_path(s->dir, sl->rec.id, "tmp", tmp);
        write_fail_locked(s, what, tmp, err);
        return ES_EIO;
    }
    write_ok_locked(s);
    if (s->sync == SPOOL_SYNC_BATCH) {
        if (!s->nunsynced)
            s->unsynced_since_us = mono_us();
        s->unsynced[s->nunsynced++] = sl->rec.id;
    }
    return ES_OK;
}

/* spool__scan_dir's callback at open: holds a valid entry found in the directory, or drops it
 * when it alone exceeds max_bytes. */
static enum es_err recover_entry(void *arg, const struct spool__rec *r)
{
    struct spool *s = arg;
    s->st.recovered++;
    if (r->len > s->max_bytes) {
        full_drop_locked(s, 1, r->len);
        /* a file left behind is found, and dropped, again at the next open */
        (void)spool__remove_entry(s->dir, r->id);
        return ES_OK;
    }
    if (ring_reserve(s) != ES_OK)
        return ES_ENOMEM;
    *slot_at(s, s->count++) = (struct slot){.rec = *r};
    s->bytes += r->len;
    return ES_OK;
}

static int cmp_slot_id(const void *a, const void *b)
{
    uint64_t x = ((const struct slot *)a)->rec.id, y = ((const struct slot *)b)->rec.id;
    return (x > y) - (x < y);
}

/* Directory mode's part of spool_open: checks and locks the directory before anything in it is
 * touched, then loads its entries oldest first within the limits. */
static enum es_err open_dir(struct spool *s)
{
    enum es_err err = spool__check_dir(s->dir);
    if (err == ES_OK)
        err = spool__lock_dir(s->dir, &s->dir_lock);
    if (err != ES_OK)
        return err;
    struct spool__scan scan;
    err = spool__scan_dir(s->dir, recover_entry, s, &scan);
    if (scan.max_id >= s->next_id) /* after every id seen, corrupt ones too */
        s->next_id = scan.max_id + 1;
    s->st.dropped_io += scan.bad;
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
    s->dir_lock = -1;
    enum es_err err = ES_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    s->max_entries = c->max_entries;
    s->sync = c->sync;
    s->max_bytes = c->max_bytes;
    s->next_id = 1;
    s->name = "(memory)";
    if (c->dir) {
        s->dir = strdup(c->dir);
        if (!s->dir)
            goto cleanup;
        s->name = s->dir;
        err = open_dir(s);
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
    if (s->dir)
        sync_now(s, true);
    for (size_t i = 0; i < s->count; i++)
        free(slot_at(s, i)->payload);
    free(s->ring);
    free(s->dir);
    if (s->dir_lock >= 0)
        close(s->dir_lock); /* releases the directory for the next spool_open */
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* SPOOL_SYNC_BATCH: when a sync is due (or force), moves the ids of the files that wait for it
 * into ids and returns their number; the caller syncs them after unlocking. */
static size_t sync_due_locked(struct spool *s, bool force, uint64_t *ids)
{
    if (!s->nunsynced || (!force && s->nunsynced < SYNC_BATCH_MAX &&
                          mono_us() - s->unsynced_since_us < SPOOL_SYNC_BATCH_US))
        return 0;
    size_t n = s->nunsynced;
    memcpy(ids, s->unsynced, n * sizeof *ids);
    s->nunsynced = 0;
    return n;
}

static void sync_now(struct spool *s, bool force)
{
    uint64_t ids[SYNC_BATCH_MAX];
    pthread_mutex_lock(&s->lock);
    size_t n = sync_due_locked(s, force, ids);
    pthread_mutex_unlock(&s->lock);
    spool__sync_entries(s->dir, ids, n);
}

void spool_sync(struct spool *s)
{
    if (s && s->dir)
        sync_now(s, false);
}

/* Holds sl (its payload copy or its file already made) as the newest entry. */
static void append_locked(struct spool *s, const struct slot *sl)
{
    bool dropped = enforce_limits_locked(s, 1, sl->rec.len);
    *slot_at(s, s->count++) = *sl;
    s->bytes += sl->rec.len;
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
    struct slot sl = {.rec = {.len = len, .qos = qos}};
    strcpy(sl.rec.topic, topic);
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
    sl.rec.id = s->next_id;
    if (s->dir && write_entry_locked(s, &sl, payload) != ES_OK) {
        /* the directory cannot take it (a full disk): held in memory instead */
        sl.payload = malloc(len ? len : 1);
        if (!sl.payload) {
            err = ES_ENOMEM;
            goto cleanup;
        }
        memcpy(sl.payload, payload, len);
        s->st.in_memory++;
    }
    append_locked(s, &sl);
    pthread_mutex_unlock(&s->lock);
    if (s->dir)
        sync_now(s, false);
    return ES_OK;
cleanup:
    pthread_mutex_unlock(&s->lock);
    free(sl.payload);
    return err;
}

/* An entry whose file could not be read: dropped if still held, logged once per episode. */
static void drop_unreadable(struct spool *s, uint64_t id, const char *why)
{
    pthread_mutex_lock(&s->lock);
    char path[SPOOL__PATH_BUF];
    spool__entry_path(s->dir, id, "msg", path);
    if (!s->rfail.on)
        log_msg(LOG_WARN, "EDGE-SPOOL-CORRUPT", "spool entry %s dropped: %s", path, why);
    s->rfail.on = true;
    s->rfail.n++;
    for (size_t i = 0; i < s->count; i++) {
        struct slot *sl = slot_at(s, i);
        if (sl->rec.id != id)
            continue;
        release_slot_locked(s, sl);
        s->bytes -= sl->rec.len;
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
    if (sl->rec.len > e->cap) {
        uint8_t *p = realloc(e->payload, sl->rec.len);
        if (!p)
            return ES_ENOMEM;
        e->payload = p;
        e->cap = sl->rec.len;
    }
    e->id = sl->rec.id;
    e->qos = sl->rec.qos;
    e->len = sl->rec.len;
    memcpy(e->topic, sl->rec.topic, sizeof e->topic);
    if (!s->dir || sl->payload) { /* memory mode, or kept in memory */
        if (sl->rec.len > 0)
            memcpy(e->payload, sl->payload, sl->rec.len);
        return ES_OK;
    }
    *fd = spool__open_entry(s->dir, sl->rec.id, why);
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
            why = spool__read_payload(fd, e);
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
    while (s->count > 0 && slot_at(s, 0)->rec.id <= id)
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

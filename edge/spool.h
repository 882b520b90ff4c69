/* A bounded store-and-forward buffer for the messages the edge publishes itself (results it
 * computed locally, annotated frames), so that they survive a broker outage.
 *
 * A producer pushes entries; a forwarder peeks at them oldest first, publishes them and removes
 * them once the broker acknowledged them. The buffer holds at most max_entries entries and
 * max_bytes payload bytes; when a push would exceed either, the oldest entries are dropped to
 * make room (counted in dropped_full, logged once per overflow episode as "EDGE-SPOOL-FULL" and
 * "EDGE-SPOOL-FULL-END").
 *
 * Memory mode (dir NULL) keeps malloc'd copies. Directory mode keeps each entry in its own file
 * DIR/<id as 20 digits>.msg, written to <name>.tmp and renamed, and keeps only an index (id,
 * topic, qos, length) in memory; payloads are read back on spool_peek. An open spool holds an
 * exclusive lock on DIR/lock (a flock on a file kept in the directory) so that two agents cannot
 * share a directory and publish or delete each other's entries. A process crash (even kill -9)
 * loses nothing that spool_push accepted. What a power loss may cost depends on the sync mode
 * (struct spool_config): SPOOL_SYNC_EVERY syncs each entry's file and the directory before
 * spool_push returns (nothing accepted is lost); SPOOL_SYNC_BATCH, the default, fsyncs
 * the files written since the last sync, and the directory, once the oldest of them is
 * SPOOL_SYNC_BATCH_US old or 64 wait, on the next spool_push or spool_sync (the forwarder calls
 * it at least every 100 ms), so a power loss costs at most the entries accepted in the last
 * 0.2 s or so, 64 at most beyond that; SPOOL_SYNC_NONE leaves it to the kernel
 * (its dirty-page writeback, typically up to 30 s). A file a power loss left torn (empty, short,
 * or with a bad header) is dropped as corrupt at the next open, counted, never replayed.
 *
 * When the directory cannot take an entry (a full disk, a file system gone read-only), the
 * entry is kept in memory instead (counted in in_memory, logged once per episode as
 * "EDGE-SPOOL-IO", and "EDGE-SPOOL-IO-END" once a file can be written again): the limits still
 * apply, so the oldest entries go first when it is full; entries held in memory do not survive
 * a restart.
 * The file is a 16-byte header, then the topic, then the payload:
 *
 *   0  "ESP1"   4  qos (0 or 1)   5  0   6  topic length (LE 16)   8  payload length (LE 64)
 *
 * All functions are thread-safe: one lock guards the buffer, so a pusher and a forwarder may run
 * concurrently. In directory mode spool_push writes its file under that lock, so a concurrent
 * spool_peek waits for the write to finish; spool_peek reads the payload outside the lock. */
#ifndef ES_SPOOL_H
#define ES_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "es_err.h"

/* A topic buffer of SPOOL_TOPIC_MAX bytes holds every topic the spool accepts (at most
 * SPOOL_TOPIC_MAX - 1 bytes and a NUL); the same size as topics/topic.h's TOPIC_MAX. */
#define SPOOL_TOPIC_MAX 192
/* Longest accepted directory path, in bytes. */
#define SPOOL_DIR_MAX 4000

struct spool;

/* How directory mode guards against power loss (see above). */
enum spool_sync {
    SPOOL_SYNC_BATCH = 0, /* fsync what was written, every SPOOL_SYNC_BATCH_US at most */
    SPOOL_SYNC_EVERY,     /* fsync each file and the directory before spool_push returns */
    SPOOL_SYNC_NONE,      /* the kernel's writeback */
};
#define SPOOL_SYNC_BATCH_US 100000

struct spool_config {
    size_t max_entries;   /* >= 1 */
    size_t max_bytes;     /* payload bytes held at most, >= 1 */
    const char *dir;      /* NULL: memory only; else a directory (created if missing, mode 0700;
                           * its parent must exist). Copied by spool_open. */
    enum spool_sync sync; /* directory mode */
};

/* A copy of one held entry, handed to the caller by spool_peek. Zero it before the first
 * spool_peek; the caller owns payload and frees it with free() when done. */
struct spool_entry {
    uint64_t id;                 /* 1, 2, ... increasing; in directory mode they continue after
                                  * the largest id found at open */
    char topic[SPOOL_TOPIC_MAX]; /* NUL-terminated MQTT topic */
    int qos;                     /* 0 or 1 */
    uint8_t *payload;            /* caller-owned buffer, grown with realloc by spool_peek */
    size_t cap;                  /* its capacity */
    size_t len;                  /* payload length */
};

struct spool_stats {
    size_t entries, bytes; /* held now */
    uint64_t pushed;       /* accepted since open */
    uint64_t dropped_full; /* oldest entries dropped to make room, oversized pushes refused,
                            * recovered entries over the limits */
    uint64_t dropped_io;   /* entries lost to a directory read failure or a corrupt file */
    uint64_t in_memory;    /* directory mode: entries kept in memory since their file could not
                            * be written */
    uint64_t recovered;    /* valid entries found in the directory at open (before any of them
                            * was dropped to fit the limits) */
};

/* Opens a spool with the limits and mode of c and stores it in *out (NULL on failure). In
 * directory mode it creates the directory if missing, locks it (DIR/lock, created if missing;
 * the lock is held until spool_free, or until the process ends), removes leftover <20 digits>.tmp
 * files (interrupted writes), and loads every <20 digits>.msg file in id order (counted in
 * recovered); a corrupt or unreadable .msg file is removed and counted in dropped_io, all of them
 * logged as one "EDGE-SPOOL-CORRUPT" line. When the recovered entries exceed the limits the oldest
 * are dropped as on a push. Other files in the directory are left alone. Free with spool_free.
 * Returns:
 *   ES_OK      on success
 *   ES_EINVAL  c or out NULL, max_entries or max_bytes 0, dir empty or longer than SPOOL_DIR_MAX
 *   ES_ENOMEM  out of memory
 *   ES_EIO     the directory cannot be created or read, is not a directory or is not writable
 *              (logged as one "EDGE-SPOOL" line naming the path and the system's reason), or
 *              it is in use: another open spool, in this process or another, holds its lock
 *              (logged as one "EDGE-SPOOL" line "spool directory DIR is in use by another edge
 *              agent"), and then nothing in the directory was touched */
enum es_err spool_open(const struct spool_config *c, struct spool **out);

/* Frees s and the entries it holds in memory and releases the directory's lock; accepts NULL.
 * The directory and its files (the lock file too) are kept, for the next spool_open. No other
 * call on s may run concurrently or follow. */
void spool_free(struct spool *s);

/* Appends a copy of topic, qos and the len bytes at payload as the newest entry, with the next
 * id, and wakes a spool_wait. The caller keeps ownership of topic and payload. When the entry
 * would exceed max_entries or max_bytes, the oldest entries are dropped first (dropped_full).
 * In directory mode the entry's file is complete under its .msg name before this returns.
 * Returns:
 *   ES_OK      the entry is held
 *   ES_EINVAL  s or topic NULL, topic empty or longer than SPOOL_TOPIC_MAX - 1 bytes, qos not 0
 *              or 1, payload NULL with len > 0
 *   ES_ELIMIT  len alone exceeds max_bytes: refused, counted in dropped_full, nothing dropped
 *   ES_ENOMEM  out of memory: nothing held or dropped
 * In directory mode an entry whose file cannot be written is held in memory (see above). */
enum es_err spool_push(struct spool *s, const char *topic, int qos, const void *payload,
                       size_t len);

/* Copies the i-th oldest held entry (i = 0 is the oldest) into e, growing e->payload with
 * realloc when e->cap is too small; the entry stays held. e shares nothing with the spool, so a
 * concurrent push that drops the entry does not invalidate it. In directory mode an entry whose
 * file cannot be read or does not match the index is dropped (dropped_io, logged once per
 * episode as "EDGE-SPOOL-CORRUPT") and the next one takes its place at i.
 * Returns:
 *   ES_OK      e holds a copy of the entry
 *   ES_EINVAL  s or e NULL
 *   ES_EEOF    i >= the number of entries held
 *   ES_ENOMEM  e->payload could not be grown
 * On an error e->payload and e->cap still describe a valid caller-owned buffer; the other
 * fields are unspecified. */
enum es_err spool_peek(struct spool *s, size_t i, struct spool_entry *e);

/* Removes every held entry with an id <= id (in directory mode, deletes their files). Ids of
 * entries no longer held are ignored, so it is safe to call with the id of an entry that was
 * dropped meanwhile. */
void spool_remove_through(struct spool *s, uint64_t id);

/* Directory mode, SPOOL_SYNC_BATCH: syncs the directory's file system when the oldest entry
 * written since the last sync is SPOOL_SYNC_BATCH_US old. Does nothing otherwise. */
void spool_sync(struct spool *s);

/* Number of entries held now. */
size_t spool_count(struct spool *s);

/* Copies the counters into *out. */
void spool_get_stats(struct spool *s, struct spool_stats *out);

/* Waits until at least one entry is held (returns at once if one is), until spool_wake is called
 * or until timeout_us passed (a negative timeout waits without a limit). A spool_wake that came
 * before the wait is not lost: the next spool_wait consumes it and returns at once.
 * Returns:
 *   ES_OK        an entry is held, or spool_wake was called
 *   ES_ETIMEDOUT timeout_us passed with no entry held and no wake */
enum es_err spool_wait(struct spool *s, int64_t timeout_us);

/* Makes a current or the next spool_wait return ES_OK (for example to let the forwarder see a
 * stop flag). */
void spool_wake(struct spool *s);

#endif

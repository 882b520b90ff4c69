/* Internal to the spool, shared by spool.c (the FIFO, limits and locking) and spool_file.c (the
 * on-disk format and the directory I/O of directory mode); no other module includes it. The
 * public contract and the file format are in spool.h.
 *
 * The spool__ functions take no lock and know nothing of struct spool: spool.c calls them under
 * its mutex where spool.h says so. dir is always a path of at most SPOOL_DIR_MAX bytes. Functions
 * returning int return 0 or an errno value (as pthread functions do), so that the caller can name
 * the reason in its log line. */
#ifndef ES_SPOOL_IMPL_H
#define ES_SPOOL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "spool.h"

/* Size of a buffer that holds any path spool__entry_path writes (DIR/<20 digits>.msg). */
#define SPOOL__PATH_BUF (SPOOL_DIR_MAX + 32)

/* One entry as the index knows it: its id and what its file's header holds. */
struct spool__rec {
    uint64_t id;                 /* >= 1 */
    size_t len;                  /* payload length */
    int qos;                     /* 0 or 1 */
    char topic[SPOOL_TOPIC_MAX]; /* NUL-terminated, 1 to SPOOL_TOPIC_MAX - 1 bytes */
};

/* What spool__scan_dir found besides the valid entries. */
struct spool__scan {
    uint64_t max_id; /* largest id of every .msg file seen, valid or not; 0 if none */
    uint64_t bad;    /* corrupt or unreadable .msg files removed */
};

/* Writes the path of entry id's file, DIR/<id as 20 digits>.<ext>, into buf, which holds
 * SPOOL__PATH_BUF bytes; ext is "msg" or "tmp". */
void spool__entry_path(const char *dir, uint64_t id, const char *ext, char *buf);

/* Creates dir (mode 0700) if it is missing and checks that it is a directory this process may
 * write and search.
 * Returns:
 *   ES_OK   dir is usable
 *   ES_EIO  it is not: logged as one "EDGE-SPOOL" line naming dir and the system's reason */
enum es_err spool__check_dir(const char *dir);

/* Takes an exclusive lock on DIR/lock (created with mode 0600 if missing, never removed) without
 * waiting, and stores the descriptor that holds it in *fd (close-on-exec; -1 on failure). The
 * lock lasts until the caller closes *fd, or the process ends however it ends. Another open spool
 * on dir, in this process or another, holds the lock until it is freed.
 * Returns:
 *   ES_OK   the lock is held through *fd
 *   ES_EIO  logged as one "EDGE-SPOOL" line: "spool directory DIR is in use by another edge
 *           agent" when the lock is held elsewhere, else naming dir and the system's reason */
enum es_err spool__lock_dir(const char *dir, int *fd);

/* Removes the leftover DIR/<20 digits>.tmp files (interrupted writes) and reads the header of
 * every DIR/<20 digits>.msg file; other names (the lock file among them) are left alone. Each
 * valid entry is handed to found(arg, r), in directory order rather than id order; r is valid
 * only during the call. found returns ES_OK to go on, or an error that ends the scan. A corrupt
 * or unreadable .msg file is removed and counted in out->bad; all of them are logged at the end
 * as one "EDGE-SPOOL-CORRUPT" line. *out is filled in also when the scan ends early.
 * Returns:
 *   ES_OK   the whole directory was scanned
 *   ES_EIO  dir cannot be read: logged as one "EDGE-SPOOL" line, nothing found
 *   the first error found returned */
enum es_err spool__scan_dir(const char *dir,
                            enum es_err (*found)(void *arg, const struct spool__rec *r), void *arg,
                            struct spool__scan *out);

/* Writes entry r's file: the header, r->topic and the r->len bytes at payload go to
 * DIR/<id>.tmp, which is then renamed to DIR/<id>.msg; with sync, the file is fsync'd before
 * the rename and the directory after it (see spool.h). Returns 0, or
 * the errno of the first failure with *what naming the failed step ("create" or "write") for a
 * log line about DIR/<id>.tmp; that file is removed then. */
int spool__write_entry(const char *dir, const struct spool__rec *r, const void *payload, bool sync,
                       const char **what);

/* fsyncs DIR/<id>.msg for each of ids[0..n-1] that still exists, then the directory. */
void spool__sync_entries(const char *dir, const uint64_t *ids, size_t n);

/* Deletes DIR/<id>.msg. Returns 0 when it is gone (also when it was missing), else errno. */
int spool__remove_entry(const char *dir, uint64_t id);

/* Opens DIR/<id>.msg for reading (close-on-exec), so that it can be read after the index has
 * moved on. Returns the descriptor, or -1 with *why set to the system's reason. */
int spool__open_entry(const char *dir, uint64_t id, const char **why);

/* Checks that the entry file open at fd matches e's len, qos and topic, reads its payload into
 * e->payload (which holds at least e->len bytes) and closes fd, whatever happens. Returns NULL on
 * success, else why it failed, for a log line. */
const char *spool__read_payload(int fd, struct spool_entry *e);

#endif

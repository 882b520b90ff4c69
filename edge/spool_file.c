/* The spool's directory mode on disk: the entry file format (see spool.h), the directory's
 * checks, its lock file and its scan at open. Contracts in spool_impl.h. */

/* flock() is BSD, not POSIX: glibc declares it only with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE

#include "spool_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define HDR_SIZE 16
#define NAME_DIGITS 20 /* "%020llu" */
#define TOPIC_LEN_MAX (SPOOL_TOPIC_MAX - 1)
#define LOCK_NAME "lock" /* not a <20 digits>.msg or .tmp name: the scan leaves it alone */

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

void spool__entry_path(const char *dir, uint64_t id, const char *ext, char *buf)
{
    snprintf(buf, SPOOL__PATH_BUF, "%s/%0*llu.%s", dir, NAME_DIGITS, (unsigned long long)id, ext);
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

/* fsync of the directory itself, so that a rename in it survives a power loss. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return err;
}

int spool__write_entry(const char *dir, const struct spool__rec *r, const void *payload, bool sync,
                       const char **what)
{
    char tmp[SPOOL__PATH_BUF], msg[SPOOL__PATH_BUF];
    spool__entry_path(dir, r->id, "tmp", tmp);
    spool__entry_path(dir, r->id, "msg", msg);
    uint8_t h[HDR_SIZE + TOPIC_LEN_MAX];
    size_t tlen = strlen(r->topic);
    memcpy(h, "ESP1", 4);
    h[4] = (uint8_t)r->qos;
    h[5] = 0;
    put_le(h + 6, tlen, 2);
    put_le(h + 8, r->len, 8);
    memcpy(h + HDR_SIZE, r->topic, tlen);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        *what = "create";
        return errno;
    }
    int err = 0;
    if (write_full(fd, h, HDR_SIZE + tlen) != 0 || write_full(fd, payload, r->len) != 0)
        err = errno;
    if (!err && sync && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, msg) != 0)
        err = errno;
    if (!err && sync)
        sync_dir(dir); /* the entry is written either way; only its rename may not be durable */
    if (err) {
        unlink(tmp);
        *what = "write";
    }
    return err;
}

void spool__sync_entries(const char *dir, const uint64_t *ids, size_t n)
{
    char path[SPOOL__PATH_BUF];
    for (size_t i = 0; i < n; i++) {
        spool__entry_path(dir, ids[i], "msg", path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* forwarded and removed meanwhile */
        fsync(fd);
        close(fd);
    }
    if (n)
        sync_dir(dir);
}

int spool__remove_entry(const char *dir, uint64_t id)
{
    char path[SPOOL__PATH_BUF];
    spool__entry_path(dir, id, "msg", path);
    return unlink(path) != 0 && errno != ENOENT ? errno : 0;
}

int spool__open_entry(const char *dir, uint64_t id, const char **why)
{
    char path[SPOOL__PATH_BUF];
    spool__entry_path(dir, id, "msg", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        *why = strerror(errno);
    return fd;
}

/* Reads and checks the header and topic of an open entry file into r (id is left alone).
 * Returns NULL when valid, else why it is not. */
static const char *read_header(int fd, struct spool__rec *r)
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
    r->qos = h[4];
    r->len = (size_t)plen;
    memcpy(r->topic, h + HDR_SIZE, tlen);
    r->topic[tlen] = '\0';
    return NULL;
}

const char *spool__read_payload(int fd, struct spool_entry *e)
{
    struct spool__rec r;
    const char *why = read_header(fd, &r);
    if (!why && (r.len != e->len || r.qos != e->qos || strcmp(r.topic, e->topic) != 0))
        why = "file does not match the index";
    if (!why && pread_full(fd, e->payload, e->len, (off_t)(HDR_SIZE + strlen(r.topic))) != 0)
        why = strerror(errno);
    close(fd);
    return why;
}

enum es_err spool__check_dir(const char *dir)
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

/* flock rather than fcntl(F_SETLK): an fcntl lock belongs to the process, so a second open spool
 * on the directory in this process would be let in, and closing any descriptor of the lock file
 * would drop it; a flock lock belongs to this open file description, so it refuses a second
 * spool in this process too and lasts exactly as long as *fd. The kernel releases either when
 * the process dies, even by kill -9, so a crashed agent never leaves the directory locked. The
 * file stays: removing it on release would let a newcomer lock a fresh file while an older
 * holder still locks the removed one. (Over NFS, Linux emulates flock with fcntl locks, which
 * then belong to the process again; the spool is meant for local storage.) */
enum es_err spool__lock_dir(const char *dir, int *fd)
{
    char path[SPOOL__PATH_BUF];
    snprintf(path, sizeof path, "%s/%s", dir, LOCK_NAME);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        log_msg(LOG_ERROR, "EDGE-SPOOL", "cannot open spool lock file %s: %s", path,
                strerror(errno));
        return ES_EIO;
    }
    int rc;
    while ((rc = flock(*fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (rc == 0)
        return ES_OK;
    int err = errno;
    if (err == EWOULDBLOCK)
        log_msg(LOG_ERROR, "EDGE-SPOOL", "spool directory %s is in use by another edge agent", dir);
    else
        log_msg(LOG_ERROR, "EDGE-SPOOL", "cannot lock spool directory %s: %s", dir, strerror(err));
    close(*fd);
    *fd = -1;
    return ES_EIO;
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

/* The first corrupt file the scan found, for its one summary line. */
struct scan_bad {
    char first[SPOOL__PATH_BUF];
    const char *why;
};

/* Reads <id>.msg's header into *r; removes the file when it is not valid. Returns whether it
 * is. */
static bool load_entry(const char *dir, uint64_t id, struct spool__rec *r, struct spool__scan *out,
                       struct scan_bad *bad)
{
    char path[SPOOL__PATH_BUF];
    spool__entry_path(dir, id, "msg", path);
    *r = (struct spool__rec){.id = id};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const char *why = fd < 0 ? strerror(errno) : read_header(fd, r);
    if (fd >= 0)
        close(fd);
    if (id > out->max_id)
        out->max_id = id;
    if (!why)
        return true;
    if (out->bad++ == 0) {
        snprintf(bad->first, sizeof bad->first, "%s", path);
        bad->why = why;
    }
    unlink(path);
    return false;
}

enum es_err spool__scan_dir(const char *dir,
                            enum es_err (*found)(void *arg, const struct spool__rec *r), void *arg,
                            struct spool__scan *out)
{
    *out = (struct spool__scan){0};
    DIR *d = opendir(dir);
    if (!d) {
        log_msg(LOG_ERROR, "EDGE-SPOOL", "cannot use spool directory %s: %s", dir, strerror(errno));
        return ES_EIO;
    }
    struct scan_bad bad = {0};
    enum es_err err = ES_OK;
    struct dirent *de;
    while (err == ES_OK && (de = readdir(d)) != NULL) {
        uint64_t id;
        char path[SPOOL__PATH_BUF];
        struct spool__rec r;
        if (parse_name(de->d_name, "tmp", &id)) {
            spool__entry_path(dir, id, "tmp", path);
            unlink(path);
        } else if (parse_name(de->d_name, "msg", &id) && load_entry(dir, id, &r, out, &bad)) {
            err = found(arg, &r);
        }
    }
    closedir(d);
    if (out->bad)
        log_msg(LOG_WARN, "EDGE-SPOOL-CORRUPT",
                "spool %s: removed %llu corrupt or unreadable entries (first %s: %s)", dir,
                (unsigned long long)out->bad, bad.first, bad.why);
    return err;
}

/* A spool directory on a disk that fills up: a 256 KiB tmpfs mounted for the test. Every push
 * is still accepted; what the disk cannot take is kept in memory (in_memory), said in one line
 * (EDGE-SPOOL-IO) when it starts and one when files can be written again; every entry comes back
 * intact and in order, and once forwarding frees the disk, new entries are files again. Mounting
 * needs root (or a user namespace); without it the test reports itself skipped (exit 77), not
 * passed. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "spool.h"

#define ENTRY 4096
#define ENTRIES 200 /* 800 KiB: about three times the disk */

static int io_lines, io_end_lines;

static void sink(void *arg, enum log_level level, const char *id, const char *line)
{
    (void)arg;
    (void)level;
    (void)line;
    io_lines += strcmp(id, "EDGE-SPOOL-IO") == 0;
    io_end_lines += strcmp(id, "EDGE-SPOOL-IO-END") == 0;
}

static void fill(uint8_t *buf, unsigned n)
{
    for (size_t i = 0; i < ENTRY; i++)
        buf[i] = (uint8_t)(n + i * 13u);
}

static unsigned files_in(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '\\.msg$'", dir);
    FILE *p = popen(cmd, "r");
    unsigned n = 0;
    if (p && fscanf(p, "%u", &n) != 1)
        n = 0;
    if (p)
        pclose(p);
    return n;
}

int main(void)
{
    char root[] = "/tmp/es-spool-full-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    if (mount("tmpfs", root, "tmpfs", 0, "size=256k,mode=0700") != 0) {
        printf("skipped: cannot mount a tmpfs on %s: %s\n", root, strerror(errno));
        rmdir(root);
        return 77;
    }
    log_set_sink(sink, NULL);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/spool", root);
    struct spool_config c = {.max_entries = 10000, .max_bytes = 64u << 20, .dir = dir};
    struct spool *s = NULL;
    CHECK_EQ_INT(spool_open(&c, &s), ES_OK);
    uint8_t buf[ENTRY];
    for (unsigned n = 0; s && n < ENTRIES; n++) {
        fill(buf, n);
        CHECK_EQ_INT(spool_push(s, "pipeline/results/full", 1, buf, ENTRY), ES_OK);
    }
    struct spool_stats st = {0};
    if (s)
        spool_get_stats(s, &st);
    unsigned on_disk = files_in(dir);
    printf("%u entries: %u files on the 256 KiB disk, %llu kept in memory\n", ENTRIES, on_disk,
           (unsigned long long)st.in_memory);
    CHECK(on_disk > 0 && on_disk < ENTRIES);
    CHECK_EQ_INT(st.in_memory + on_disk, ENTRIES);
    CHECK_EQ_INT(st.entries, ENTRIES);
    CHECK_EQ_INT(st.dropped_io + st.dropped_full, 0);
    CHECK_EQ_INT(io_lines, 1);
    struct spool_entry e = {0};
    for (unsigned n = 0; s && n < ENTRIES; n++) {
        CHECK_EQ_INT(spool_peek(s, n, &e), ES_OK);
        fill(buf, n);
        CHECK(e.len == ENTRY && memcmp(e.payload, buf, ENTRY) == 0);
    }
    free(e.payload);
    /* forwarded: the files go, the disk has room, new entries are files again */
    if (s)
        spool_remove_through(s, UINT64_MAX);
    CHECK_EQ_INT(files_in(dir), 0);
    fill(buf, 7);
    CHECK(s && spool_push(s, "pipeline/results/full", 1, buf, ENTRY) == ES_OK);
    CHECK_EQ_INT(io_end_lines, 1);
    CHECK_EQ_INT(files_in(dir), 1);
    spool_free(s);
    CHECK_EQ_INT(umount(root), 0);
    CHECK_EQ_INT(rmdir(root), 0);
    return check_exit();
}

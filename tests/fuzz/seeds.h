/* Shared by the seed writers of the fuzzers (wire_seeds, stage_seeds). */
#ifndef ES_SEEDS_H
#define ES_SEEDS_H

#include <stdint.h>
#include <stdio.h>

/* Writes n bytes at p to DIR/NAME; 0 on success, else 1 after a line on stderr. */
static inline int seed_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

#endif

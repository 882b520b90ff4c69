/* A heap allocation counter for bench/alloc_bench.sh: preloaded (LD_PRELOAD) into a program, it
 * counts every malloc, calloc, realloc and aligned allocation, by the program and by every
 * library it uses (Paho, Jansson, OpenCV, libstdc++), and at exit appends the count as one line
 * to the file named by ES_MALLOC_COUNT. With ES_MALLOC_CALLERS naming a file, it also appends
 * one "count object" line per shared object that called the allocator (the direct caller: C++
 * allocations show as libstdc++'s operator new). glibc only (it forwards to __libc_malloc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

static atomic_ulong g_count;

/* Callers by return address, open addressing; a full table drops the rest (counted in g_count). */
#define CALLERS 8192
static _Atomic uintptr_t g_caller[CALLERS];
static atomic_ulong g_caller_n[CALLERS];

static void count_caller(uintptr_t ra)
{
    for (unsigned i = 0, h = (unsigned)(ra >> 4) % CALLERS; i < 64; i++, h = (h + 1) % CALLERS) {
        uintptr_t cur = atomic_load_explicit(&g_caller[h], memory_order_relaxed);
        if (cur == 0 && atomic_compare_exchange_strong(&g_caller[h], &cur, ra))
            cur = ra;
        if (cur == ra) {
            atomic_fetch_add_explicit(&g_caller_n[h], 1, memory_order_relaxed);
            return;
        }
    }
}

#define count() count_at((uintptr_t)__builtin_return_address(0))

static inline void count_at(uintptr_t ra)
{
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    count_caller(ra);
}

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count();
    void *p = __libc_memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

/* Sums the callers' counts per shared object into f. */
static void report_callers(FILE *f)
{
    static const char *name[CALLERS];
    static unsigned long total[CALLERS];
    unsigned n = 0;
    for (unsigned i = 0; i < CALLERS; i++) {
        uintptr_t ra = atomic_load(&g_caller[i]);
        Dl_info info;
        if (!ra || !dladdr((void *)ra, &info) || !info.dli_fname)
            continue;
        unsigned j = 0;
        while (j < n && strcmp(name[j], info.dli_fname) != 0)
            j++;
        if (j == n)
            name[n++] = info.dli_fname;
        total[j] += atomic_load(&g_caller_n[i]);
    }
    for (unsigned j = 0; j < n; j++)
        fprintf(f, "%lu %s\n", total[j], name[j]);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("ES_MALLOC_COUNT"), *callers = getenv("ES_MALLOC_CALLERS");
    unsigned long n = atomic_load(&g_count);
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%lu\n", n);
        fclose(f);
    }
    f = callers ? fopen(callers, "a") : NULL;
    if (f) {
        report_callers(f);
        fclose(f);
    }
}

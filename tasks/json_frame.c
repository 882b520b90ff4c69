/* Per-frame memory for Jansson: see json_frame.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include "json_frame.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ES_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ES_ASAN 1
#endif
#endif

#ifdef ES_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE 16 /* poisoned bytes after every block: an overrun is reported */
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define REDZONE 0
#endif

#define ALIGN 16
#define REGION_BYTES ((size_t)JSON_FRAME_SLABS * JSON_FRAME_SLAB_BYTES)

static _Atomic(unsigned char *) g_base; /* the slabs, one mapping; NULL before init */
static atomic_bool g_taken[JSON_FRAME_SLABS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key; /* a thread's slab index + 1, to give it back when it exits */
static int g_status = -1;

struct frame {
    unsigned char *slab; /* NULL: none, yet or at all */
    size_t used;
    unsigned depth;
    bool tried; /* looked for a free slab once */
};

static _Thread_local struct frame t_frame;

static bool in_slabs(const void *p)
{
    const unsigned char *base = atomic_load_explicit(&g_base, memory_order_acquire);
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return base && a >= b && a - b < REGION_BYTES;
}

static void *frame_malloc(size_t n)
{
    struct frame *f = &t_frame;
    if (f->depth && f->slab && n <= JSON_FRAME_SLAB_BYTES) {
        size_t need = n ? (n + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
        if (need + REDZONE <= JSON_FRAME_SLAB_BYTES - f->used) {
            void *p = f->slab + f->used;
            f->used += need + REDZONE;
            ASAN_UNPOISON_MEMORY_REGION(p, n);
            return p;
        }
    }
    return malloc(n);
}

static void frame_free(void *p)
{
    if (!in_slabs(p))
        free(p);
}

static void give_back(void *v)
{
    size_t i = (size_t)(uintptr_t)v - 1;
    if (i >= JSON_FRAME_SLABS)
        return;
    ASAN_POISON_MEMORY_REGION(atomic_load(&g_base) + i * JSON_FRAME_SLAB_BYTES,
                              JSON_FRAME_SLAB_BYTES);
    atomic_store(&g_taken[i], false);
}

static void setup(void)
{
    void *m = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return;
    if (pthread_key_create(&g_key, give_back) != 0) {
        munmap(m, REGION_BYTES);
        return;
    }
    ASAN_POISON_MEMORY_REGION(m, REGION_BYTES);
    atomic_store_explicit(&g_base, (unsigned char *)m, memory_order_release);
    json_set_alloc_funcs(frame_malloc, frame_free);
    g_status = 0;
}

int json_frame_init(void)
{
    pthread_once(&g_once, setup);
    return g_status;
}

static void take_slab(struct frame *f)
{
    f->tried = true;
    unsigned char *base = atomic_load_explicit(&g_base, memory_order_acquire);
    if (!base)
        return;
    for (size_t i = 0; i < JSON_FRAME_SLABS; i++) {
        if (atomic_exchange(&g_taken[i], true))
            continue;
        if (pthread_setspecific(g_key, (void *)(uintptr_t)(i + 1)) != 0) {
            atomic_store(&g_taken[i], false);
            return;
        }
        f->slab = base + i * JSON_FRAME_SLAB_BYTES;
        return;
    }
}

void json_frame_begin(void)
{
    struct frame *f = &t_frame;
    if (json_frame_init() == 0 && !f->slab && !f->tried)
        take_slab(f);
    f->depth++;
}

void json_frame_end(void)
{
    struct frame *f = &t_frame;
    if (f->depth == 0 || --f->depth > 0)
        return;
    if (f->slab) {
        ASAN_POISON_MEMORY_REGION(f->slab, f->used);
        f->used = 0;
    }
}

size_t json_frame_used(void)
{
    const struct frame *f = &t_frame;
    return f->depth ? f->used : 0;
}

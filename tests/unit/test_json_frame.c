/* Per-frame memory for Jansson: values made in a scope come from the thread's slab and go at its
 * end; values made outside use malloc and may be freed in a scope; scopes nest; a frame bigger
 * than a slab and threads beyond the slabs fall back to malloc; slabs come back when their thread
 * exits. Under AddressSanitizer, its leak check also shows the fallback memory is freed. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_frame.h"
#include "result.h"

/* An object with a few members, like a frame's result. */
static json_t *make(int i)
{
    return json_pack("{s:i,s:s,s:[i,i,i],s:f}", "seq", i, "device", "cam-1", "center", i, i + 1,
                     i + 2, "radius", 1.5 * i);
}

static void test_scope(void)
{
    CHECK_EQ_INT(json_frame_init(), 0);
    json_t *outside = make(1); /* malloc'd: outlives any scope */
    CHECK_EQ_INT(json_frame_used(), 0);

    json_frame_begin();
    json_t *in = make(2);
    size_t used = json_frame_used();
    CHECK(used > 0); /* from the slab */
    CHECK(in && json_integer_value(json_object_get(in, "seq")) == 2);
    json_decref(in);
    CHECK(json_frame_used() == used); /* a free in the slab gives nothing back before the end */

    json_frame_begin(); /* nested: its end frees nothing */
    json_t *inner = make(3);
    json_frame_end();
    CHECK(json_frame_used() > used);
    CHECK(json_integer_value(json_object_get(inner, "seq")) == 3); /* still the outer frame */
    json_decref(inner);
    json_frame_end();
    CHECK_EQ_INT(json_frame_used(), 0);
    json_frame_end(); /* unbalanced: ignored */

    /* The slab is used again from its start: the next frame costs no more than the first. */
    json_frame_begin();
    json_t *again = make(2);
    CHECK_EQ_INT(json_frame_used(), used);
    json_decref(again);
    json_frame_end();

    /* A value made outside a scope is still good after one, and freed in one it goes back to
     * malloc (the leak check of a sanitized build would see it otherwise). */
    CHECK(json_integer_value(json_object_get(outside, "seq")) == 1);
    json_frame_begin();
    json_decref(outside);
    json_frame_end();
}

/* More than a slab in one frame: the rest comes from malloc, and every value stays good. */
static void test_overflow(void)
{
    json_frame_begin();
    json_t *arr = json_array();
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 100; i++)
        json_array_append_new(arr, json_string(big)); /* 300 KB: several slabs' worth */
    json_t *huge = json_stringn(big, sizeof big - 1); /* fits or not: either way it works */
    CHECK_EQ_INT(json_array_size(arr), 100);
    CHECK(json_frame_used() <= JSON_FRAME_SLAB_BYTES);
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        total += strlen(json_string_value(json_array_get(arr, i)));
    CHECK_EQ_INT(total, 100 * (sizeof big - 1));
    CHECK_EQ_INT(json_string_length(huge), sizeof big - 1);
    json_decref(huge);
    json_decref(arr);
    json_frame_end();
}

/* Text dumped inside a frame: result_dump is malloc'd (free() is right), result_dump_into fills
 * the caller's buffer. */
static void test_dump(void)
{
    json_frame_begin();
    json_t *obj = make(7);
    char *text = result_dump(obj);
    char buf[256];
    size_t len = 0;
    CHECK_EQ_INT(result_dump_into(obj, buf, sizeof buf, &len), ES_OK);
    CHECK(text && strlen(text) == len && strcmp(text, buf) == 0);
    char small[8];
    CHECK_EQ_INT(result_dump_into(obj, small, sizeof small, &len), ES_ELIMIT);
    CHECK_EQ_INT(result_dump_into(NULL, buf, sizeof buf, &len), ES_EINVAL);
    json_decref(obj);
    json_frame_end();
    free(text);
}

#define THREADS (JSON_FRAME_SLABS + 4)

struct crowd {
    pthread_barrier_t in, out;
    int got_slab[THREADS];
    int ok[THREADS];
};

struct arg {
    struct crowd *c;
    int i;
};

/* Holds a frame open until every thread has one, so that all want a slab at once. */
static void *hold(void *p)
{
    struct arg *a = p;
    json_frame_begin();
    json_t *obj = make(a->i);
    a->c->got_slab[a->i] = json_frame_used() > 0;
    pthread_barrier_wait(&a->c->in);
    a->c->ok[a->i] = json_integer_value(json_object_get(obj, "seq")) == a->i;
    json_decref(obj);
    json_frame_end();
    pthread_barrier_wait(&a->c->out);
    return NULL;
}

/* THREADS threads at once: those beyond the free slabs fall back to malloc; once they have
 * exited, their slabs are free again for new threads. */
static void test_threads(void)
{
    struct crowd c;
    memset(&c, 0, sizeof c);
    struct arg args[THREADS];
    pthread_t t[THREADS];
    for (int round = 0; round < 2; round++) {
        pthread_barrier_init(&c.in, NULL, THREADS);
        pthread_barrier_init(&c.out, NULL, THREADS);
        for (int i = 0; i < THREADS; i++) {
            args[i] = (struct arg){&c, i};
            CHECK_EQ_INT(pthread_create(&t[i], NULL, hold, &args[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        int slabs = 0, ok = 0;
        for (int i = 0; i < THREADS; i++) {
            slabs += c.got_slab[i];
            ok += c.ok[i];
        }
        /* This (main) thread keeps the slab it took in test_scope. */
        CHECK_EQ_INT(slabs, JSON_FRAME_SLABS - 1);
        CHECK_EQ_INT(ok, THREADS);
        pthread_barrier_destroy(&c.in);
        pthread_barrier_destroy(&c.out);
    }
}

int main(void)
{
    test_scope();
    test_overflow();
    test_dump();
    test_threads();
    return check_exit();
}

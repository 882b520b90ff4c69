/* The edge's in-flight window and the cloud's message queue: pure logic, no broker. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "inflight.h"
#include "msgq.h"

static void test_window(void)
{
    struct inflight *f = inflight_new(4, 200000);
    CHECK(f != NULL);
    CHECK(inflight_new(0, 1) == NULL);
    int64_t t0 = clock_wall_us();
    for (uint64_t s = 0; s < 4; s++) {
        CHECK_EQ_INT(inflight_wait_slot(f, s, NULL), ES_OK);
        inflight_add(f, s, t0);
    }
    CHECK_EQ_INT(inflight_count(f), 4);
    inflight_cancel(f, 3);
    CHECK_EQ_INT(inflight_count(f), 3);
    inflight_add(f, 3, t0);
    CHECK(inflight_complete(f, 2, t0 + 5000));
    CHECK(!inflight_complete(f, 2, t0 + 6000)); /* duplicate */
    CHECK(!inflight_complete(f, 9, t0 + 6000)); /* never sent */
    CHECK(inflight_complete(f, 0, t0 + 1000));
    struct inflight_window w;
    inflight_take_window(f, &w);
    CHECK_EQ_INT(w.delivered, 2);
    CHECK_EQ_INT(w.unexpected, 2);
    CHECK_EQ_INT(w.lost, 0); /* a cancelled frame was never sent: not lost */
    CHECK_EQ_DBL(w.latency_p50_ms, 1.0);
    CHECK_EQ_DBL(w.latency_p99_ms, 5.0);
    inflight_take_window(f, &w);
    CHECK_EQ_INT(w.delivered, 0);
    /* slot of seq 5 is seq 1's, still busy: the wait expires it after the timeout */
    int64_t start = clock_mono_us();
    CHECK_EQ_INT(inflight_wait_slot(f, 5, NULL), ES_OK);
    CHECK(clock_mono_us() - start >= 150000);
    inflight_take_window(f, &w);
    CHECK_EQ_INT(w.lost, 2); /* seqs 1 and 3 timed out */
    inflight_add(f, 5, t0);
    CHECK_EQ_INT(inflight_drain(f, 1000), 1); /* seq 5 never answered */
    CHECK_EQ_INT(inflight_count(f), 0);
    volatile sig_atomic_t stop = 1;
    inflight_add(f, 8, t0);
    CHECK_EQ_INT(inflight_wait_slot(f, 12, &stop), ES_ESTOPPED);
    inflight_free(f);
}

static void *consume(void *arg)
{
    struct msgq *q = arg;
    size_t n = 0;
    struct msg *m;
    while ((m = msgq_pop(q)) != NULL) {
        n += m->len;
        free(m);
    }
    return (void *)n;
}

static void test_queue(void)
{
    struct msgq *q = msgq_new(3, 100);
    CHECK(msgq_push(q, "a", (const uint8_t *)"xyz", 3));
    CHECK(msgq_push(q, "b", (const uint8_t *)"", 0));
    CHECK(!msgq_push(q, "c", (const uint8_t *)"0123456789", 98)); /* byte limit */
    CHECK(msgq_push(q, "c", (const uint8_t *)"0123456789", 10));
    CHECK(!msgq_push(q, "d", (const uint8_t *)"x", 1)); /* message limit */
    CHECK_EQ_INT(msgq_depth(q), 3);
    struct msg *m = msgq_pop(q);
    CHECK(m && strcmp(m->topic, "a") == 0 && m->len == 3 && memcmp(m->payload, "xyz", 3) == 0);
    free(m);
    pthread_t t;
    pthread_create(&t, NULL, consume, q);
    msgq_close(q);
    CHECK(!msgq_push(q, "e", (const uint8_t *)"x", 1)); /* closed */
    void *n;
    pthread_join(t, &n);
    CHECK_EQ_INT((size_t)n, 10); /* the queued messages were still handed out */
    CHECK(msgq_pop(q) == NULL);
    msgq_free(q);
}

int main(void)
{
    test_window();
    test_queue();
    return check_exit();
}

/* The cloud worker's message queue: limits, closing, and how long the oldest has waited. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "msgq.h"

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

static void test_oldest(void)
{
    struct msgq *q = msgq_new(8, 1000);
    CHECK_EQ_INT(msgq_oldest_wait_us(q, clock_mono_us()), 0);
    CHECK(msgq_push(q, "a", (const uint8_t *)"x", 1));
    int64_t pushed = clock_mono_us();
    CHECK(msgq_push(q, "b", (const uint8_t *)"y", 1));
    CHECK(msgq_oldest_wait_us(q, pushed + 500000) >= 500000);
    CHECK(msgq_oldest_wait_us(q, pushed - 1000000) == 0); /* never negative */
    free(msgq_pop(q));
    free(msgq_pop(q));
    CHECK_EQ_INT(msgq_oldest_wait_us(q, pushed + 500000), 0);
    msgq_free(q);
}

int main(void)
{
    test_queue();
    test_oldest();
    return check_exit();
}

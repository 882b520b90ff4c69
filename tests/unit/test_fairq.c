/* The worker's fair queue: bounds, round robin across devices, per-device budgets (frames
 * queued and processing time), closing, and how long the oldest frame has waited. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "fairq.h"

static struct fairq *make(size_t max_msgs, size_t max_bytes, size_t device_max, int64_t cpu)
{
    struct fairq_config c = {.max_msgs = max_msgs,
                             .max_bytes = max_bytes,
                             .device_max = device_max,
                             .cpu_budget_us = cpu,
                             .cpu_window_us = 200000};
    return fairq_new(&c);
}

static enum fairq_push_result push(struct fairq *q, const char *device, const char *payload)
{
    return fairq_push(q, device, "t", (const uint8_t *)payload, strlen(payload), 0);
}

static void *consume(void *arg)
{
    struct fairq *q = arg;
    size_t n = 0;
    struct msg *m;
    while ((m = fairq_pop(q)) != NULL) {
        n += m->len;
        free(m);
    }
    return (void *)n;
}

static void test_bounds(void)
{
    struct fairq_config bad = {.max_msgs = 0, .device_max = 1};
    CHECK(fairq_new(&bad) == NULL);
    struct fairq *q = make(3, 100, 10, 0);
    CHECK_EQ_INT(push(q, "a", "xyz"), FAIRQ_QUEUED);
    CHECK_EQ_INT(fairq_push(q, "a", "t", (const uint8_t *)"", 0, 0), FAIRQ_QUEUED);
    uint8_t big[98] = {0};
    CHECK_EQ_INT(fairq_push(q, "b", "t", big, sizeof big, 0), FAIRQ_FULL); /* byte limit */
    CHECK_EQ_INT(push(q, "b", "0123456789"), FAIRQ_QUEUED);
    CHECK_EQ_INT(push(q, "c", "x"), FAIRQ_FULL); /* message limit */
    CHECK_EQ_INT(fairq_depth(q), 3);
    struct msg *m = fairq_pop(q);
    CHECK(m && strcmp(m->device, "a") == 0 && m->len == 3 && memcmp(m->payload, "xyz", 3) == 0);
    free(m);
    pthread_t t;
    pthread_create(&t, NULL, consume, q);
    fairq_close(q);
    CHECK_EQ_INT(push(q, "e", "x"), FAIRQ_FULL); /* closed */
    void *n;
    pthread_join(t, &n);
    CHECK_EQ_INT((size_t)n, 10); /* the queued messages were still handed out */
    CHECK(fairq_pop(q) == NULL);
    CHECK_EQ_INT(fairq_dropped(q), 0);
    fairq_free(q);
    fairq_free(NULL);
}

/* A device that floods waits its turn: the others are served in between. */
static void test_round_robin(void)
{
    struct fairq *q = make(1000, 100000, 1000, 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(push(q, "flood", "f"), FAIRQ_QUEUED);
    CHECK_EQ_INT(push(q, "quiet", "q1"), FAIRQ_QUEUED);
    CHECK_EQ_INT(push(q, "quiet", "q2"), FAIRQ_QUEUED);
    CHECK_EQ_INT(fairq_push(q, NULL, "junk", (const uint8_t *)"j", 1, 7), FAIRQ_QUEUED);
    const char *order[6];
    for (int i = 0; i < 6; i++) {
        struct msg *m = fairq_pop(q);
        order[i] = m ? (m->device[0] ? (m->device[0] == 'f' ? "f" : "q") : "-") : "?";
        if (m && !m->device[0])
            CHECK_EQ_INT(m->tag, 7); /* the bus's tag comes out with the message */
        free(m);
    }
    /* flood, quiet, (no device), flood, quiet, flood */
    CHECK(strcmp(order[0], "f") == 0 && strcmp(order[1], "q") == 0);
    CHECK(strcmp(order[2], "-") == 0 && strcmp(order[3], "f") == 0);
    CHECK(strcmp(order[4], "q") == 0 && strcmp(order[5], "f") == 0);
    fairq_close(q);
    fairq_free(q);
}

/* Over budget, a device's frames are dropped, not another device's. */
static void test_budgets(void)
{
    struct fairq *q = make(1000, 100000, 3, 50000);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(push(q, "greedy", "g"), FAIRQ_QUEUED);
    CHECK_EQ_INT(push(q, "greedy", "g"), FAIRQ_OVER_BUDGET); /* 3 frames queued at most */
    CHECK_EQ_INT(push(q, "other", "o"), FAIRQ_QUEUED);
    CHECK_EQ_INT(fairq_dropped(q), 1);
    for (int i = 0; i < 4; i++)
        free(fairq_pop(q));
    int64_t now = clock_mono_us();
    fairq_charge(q, "greedy", 60000, now); /* 60 ms of the 50 ms it may use per 200 ms */
    CHECK_EQ_INT(push(q, "greedy", "g"), FAIRQ_OVER_BUDGET);
    CHECK_EQ_INT(push(q, "other", "o"), FAIRQ_QUEUED);
    clock_sleep_us(250000); /* a window later: a fresh budget */
    CHECK_EQ_INT(push(q, "greedy", "g"), FAIRQ_QUEUED);
    CHECK_EQ_INT(fairq_dropped(q), 2);
    fairq_close(q);
    fairq_free(q);
}

static void test_oldest(void)
{
    struct fairq *q = make(8, 1000, 8, 0);
    CHECK_EQ_INT(fairq_oldest_wait_us(q, clock_mono_us()), 0);
    CHECK_EQ_INT(push(q, "a", "x"), FAIRQ_QUEUED);
    int64_t pushed = clock_mono_us();
    CHECK_EQ_INT(push(q, "b", "y"), FAIRQ_QUEUED);
    CHECK(fairq_oldest_wait_us(q, pushed + 500000) >= 500000);
    free(fairq_pop(q));
    free(fairq_pop(q));
    CHECK_EQ_INT(fairq_oldest_wait_us(q, pushed + 500000), 0);
    fairq_free(q);
}

/* Released messages are used again for pushes that fit, so a steady stream allocates nothing;
 * the queue keeps only a few (the sanitized build's leak check sees the rest freed). */
static void test_reuse(void)
{
    struct fairq *q = make(64, 1 << 20, 64, 0);
    CHECK_EQ_INT(push(q, "a", "abcdef"), FAIRQ_QUEUED);
    struct msg *m = fairq_pop(q);
    const void *first = m;
    fairq_release(q, m);
    CHECK_EQ_INT(push(q, "a", "xy"), FAIRQ_QUEUED); /* fits in the released one */
    m = fairq_pop(q);
    CHECK(m == first && m->len == 2 && memcmp(m->payload, "xy", 2) == 0);
    fairq_release(q, m);
    uint8_t big[5000];
    memset(big, 7, sizeof big);
    CHECK_EQ_INT(fairq_push(q, "a", "t", big, sizeof big, 0), FAIRQ_QUEUED); /* does not fit */
    m = fairq_pop(q);
    CHECK(m != first && m->len == sizeof big && m->cap >= sizeof big && m->payload[4999] == 7);
    fairq_release(q, m);
    /* 40 in flight at once, all given back: most are freed, a few kept. */
    struct msg *all[40];
    for (int i = 0; i < 40; i++)
        CHECK_EQ_INT(fairq_push(q, i % 2 ? "a" : "b", "t", big, sizeof big, 0), FAIRQ_QUEUED);
    for (int i = 0; i < 40; i++)
        all[i] = fairq_pop(q);
    for (int i = 0; i < 40; i++)
        fairq_release(q, all[i]);
    fairq_release(q, NULL);
    fairq_free(q);
}

int main(void)
{
    test_bounds();
    test_reuse();
    test_round_robin();
    test_budgets();
    test_oldest();
    return check_exit();
}

/* The edge's delivery window on a simulated clock: bounds, deadlines from measured round trips,
 * retry then fallback, hand-back, dedupe, and the window's counters. */
#include <string.h>

#include "check.h"
#include "clock.h"
#include "delivery.h"

#define MS 1000

static struct delivery *make(unsigned window, int64_t timeout_us)
{
    struct delivery_config c = {.window = window, .timeout_us = timeout_us};
    return delivery_new(&c);
}

static void test_bounds(void)
{
    struct delivery_config bad = {.window = 0, .timeout_us = 1};
    CHECK(delivery_new(&bad) == NULL);
    bad = (struct delivery_config){.window = 4097, .timeout_us = 1};
    CHECK(delivery_new(&bad) == NULL);
    bad = (struct delivery_config){.window = 4, .timeout_us = 0};
    CHECK(delivery_new(&bad) == NULL);
    struct delivery *d = make(2, 10000 * MS);
    const uint8_t p[] = {1, 2, 3};
    CHECK(delivery_room(d));
    CHECK_EQ_INT(delivery_add(d, 0, 100, 3, p, 3, 0), ES_OK);
    CHECK_EQ_INT(delivery_add(d, 1, 101, 3, p, 3, 0), ES_OK);
    CHECK(!delivery_room(d));
    CHECK_EQ_INT(delivery_add(d, 2, 102, 3, p, 3, 0), ES_EFULL);
    CHECK_EQ_INT(delivery_count(d), 2);
    delivery_cancel(d, 1); /* its publish failed: not counted anywhere */
    CHECK(delivery_room(d));
    struct delivery_window w;
    delivery_take_window(d, &w);
    CHECK_EQ_INT(w.results + w.fallback + w.retried + w.duplicates + w.foreign, 0);
    delivery_free(d);
    delivery_free(NULL);
}

/* The first deadline is 1 s (at most the timeout); once round trips are measured it is
 * max(5 x p99, 250 ms), at most the timeout. */
static void test_deadline(void)
{
    struct delivery *d = make(64, 10000 * MS);
    CHECK_EQ_INT(delivery_deadline_us(d), 1000 * MS);
    struct delivery *shorter = make(4, 400 * MS);
    CHECK_EQ_INT(delivery_deadline_us(shorter), 400 * MS);
    delivery_free(shorter);
    const uint8_t p[] = {0};
    int64_t t = 0;
    for (uint64_t s = 0; s < 40; s++) { /* round trips of 10 ms, one of 100 ms */
        CHECK_EQ_INT(delivery_add(d, s, 1000 + (int64_t)s, 2, p, 1, t), ES_OK);
        int64_t rtt = s == 39 ? 100 * MS : 10 * MS;
        CHECK_EQ_INT(delivery_complete(d, s, 1000 + (int64_t)s, t + rtt, 5000), DELIVERY_ACCEPTED);
        t += rtt;
    }
    CHECK_EQ_INT(delivery_deadline_us(d), 250 * MS); /* 5 x p99 = 50 ms < 250 ms */
    for (uint64_t s = 40; s < 200; s++) {            /* now every round trip is 200 ms */
        CHECK_EQ_INT(delivery_add(d, s, 1000 + (int64_t)s, 2, p, 1, t), ES_OK);
        CHECK_EQ_INT(delivery_complete(d, s, 1000 + (int64_t)s, t + 200 * MS, 5000),
                     DELIVERY_ACCEPTED);
    }
    CHECK_EQ_INT(delivery_deadline_us(d), 1000 * MS); /* 5 x 200 ms */
    for (uint64_t s = 200; s < 500; s++) {            /* 3 s round trips: capped at the timeout */
        CHECK_EQ_INT(delivery_add(d, s, 1000 + (int64_t)s, 2, p, 1, t), ES_OK);
        CHECK_EQ_INT(delivery_complete(d, s, 1000 + (int64_t)s, t + 3000 * MS, 5000),
                     DELIVERY_ACCEPTED);
    }
    CHECK_EQ_INT(delivery_deadline_us(d), 10000 * MS);
    delivery_free(d);
}

/* A frame without a result is published once more at its deadline, then handed back. */
static void test_retry_then_fallback(void)
{
    struct delivery *d = make(4, 10000 * MS);
    const uint8_t p[] = {7, 8, 9};
    struct delivery_frame f;
    CHECK_EQ_INT(delivery_add(d, 5, 555, 3, p, 3, 0), ES_OK);
    CHECK_EQ_INT(delivery_next(d, 999 * MS, true, &f), DELIVERY_NONE);
    CHECK_EQ_INT(delivery_next(d, 1000 * MS, true, &f), DELIVERY_RETRY);
    CHECK(f.seq == 5 && f.split == 3 && f.attempts == 1 && f.len == 3 &&
          memcmp(f.payload, p, 3) == 0 && f.captured_wall_us == 555);
    delivery_resent(d, 5, 1000 * MS);
    CHECK_EQ_INT(delivery_next(d, 1999 * MS, true, &f), DELIVERY_NONE);
    CHECK_EQ_INT(delivery_next(d, 2000 * MS, true, &f), DELIVERY_FALLBACK);
    CHECK_EQ_INT(f.attempts, 2);
    /* handed back: a late result is a duplicate, and the frame is not offered again */
    CHECK_EQ_INT(delivery_complete(d, 5, 555, 2001 * MS, 9000), DELIVERY_DUPLICATE);
    CHECK_EQ_INT(delivery_next(d, 3000 * MS, true, &f), DELIVERY_NONE);
    CHECK_EQ_INT(delivery_count(d), 1);
    delivery_finish(d, 5, 2555);
    CHECK_EQ_INT(delivery_count(d), 0);
    CHECK_EQ_INT(delivery_complete(d, 5, 555, 3000 * MS, 9000), DELIVERY_DUPLICATE);
    struct delivery_window w;
    delivery_take_window(d, &w);
    CHECK_EQ_INT(w.retried, 1);
    CHECK_EQ_INT(w.fallback, 1);
    CHECK_EQ_INT(w.results, 0);
    CHECK_EQ_INT(w.duplicates, 2);
    CHECK_EQ_DBL(w.latency_p50_ms, 2.0); /* capture 555 us to finish 2555 us */
    /* when nothing can be sent, a frame past its deadline falls back without a retry */
    CHECK_EQ_INT(delivery_add(d, 6, 600, 3, p, 3, 0), ES_OK);
    CHECK_EQ_INT(delivery_next(d, 1000 * MS, false, &f), DELIVERY_FALLBACK);
    delivery_finish(d, 6, 700);
    delivery_free(d);
}

/* Hand-back of everything at once (connection lost), oldest first; and dedupe by seq. */
static void test_fail_all_and_dedupe(void)
{
    struct delivery *d = make(8, 10000 * MS);
    const uint8_t p[] = {1};
    for (uint64_t s = 10; s < 14; s++)
        CHECK_EQ_INT(delivery_add(d, s, (int64_t)s * 100, 1, p, 1, 0), ES_OK);
    CHECK_EQ_INT(delivery_complete(d, 11, 1100, 5 * MS, 2000), DELIVERY_ACCEPTED);
    CHECK_EQ_INT(delivery_complete(d, 11, 1100, 6 * MS, 2000), DELIVERY_DUPLICATE);
    CHECK_EQ_INT(delivery_complete(d, 12, 9999, 6 * MS, 2000), DELIVERY_FOREIGN); /* other run */
    CHECK_EQ_INT(delivery_complete(d, 99, 9900, 6 * MS, 2000), DELIVERY_FOREIGN); /* never sent */
    delivery_fail_all(d);
    struct delivery_frame f;
    uint64_t order[3];
    int n = 0;
    while (delivery_next(d, 7 * MS, true, &f) == DELIVERY_FALLBACK && n < 3) {
        order[n++] = f.seq;
        delivery_finish(d, f.seq, 3000);
    }
    CHECK_EQ_INT(n, 3);
    CHECK(n == 3 && order[0] == 10 && order[1] == 12 && order[2] == 13);
    CHECK_EQ_INT(delivery_count(d), 0);
    struct delivery_window w;
    delivery_take_window(d, &w);
    CHECK_EQ_INT(w.results, 1);
    CHECK_EQ_INT(w.fallback, 3);
    CHECK_EQ_INT(w.duplicates, 1);
    CHECK_EQ_INT(w.foreign, 2);
    CHECK_EQ_INT(w.retried, 0);
    delivery_take_window(d, &w);
    CHECK_EQ_INT(w.results + w.fallback + w.duplicates + w.foreign, 0);
    delivery_free(d);
}

/* delivery_wait returns at the earliest deadline, on a change, or at once on a due frame. */
static void test_wait(void)
{
    struct delivery *d = make(2, 10000 * MS);
    const uint8_t p[] = {1};
    int64_t t0 = clock_mono_us();
    CHECK_EQ_INT(delivery_add(d, 0, 1, 1, p, 1, t0 - 900 * MS), ES_OK); /* due in ~100 ms */
    delivery_wait(d, NULL, 5000 * MS);
    int64_t waited = clock_mono_us() - t0;
    CHECK(waited >= 90 * MS && waited < 1000 * MS);
    t0 = clock_mono_us();
    delivery_wait(d, NULL, 5000 * MS); /* already due: at once */
    CHECK(clock_mono_us() - t0 < 50 * MS);
    volatile sig_atomic_t stop = 1;
    struct delivery_frame f;
    CHECK_EQ_INT(delivery_next(d, clock_mono_us(), false, &f), DELIVERY_FALLBACK);
    delivery_finish(d, 0, 2);
    t0 = clock_mono_us();
    delivery_wait(d, &stop, 5000 * MS);
    CHECK(clock_mono_us() - t0 < 100 * MS);
    delivery_free(d);
}

int main(void)
{
    test_bounds();
    test_deadline();
    test_retry_then_fallback();
    test_fail_all_and_dedupe();
    test_wait();
    return check_exit();
}

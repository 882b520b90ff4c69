/* Device emulation: slowdown schedules, the uplink cap and the camera clock. */
#include "check.h"
#include "emulate.h"

static void test_slowdown(void)
{
    struct slowdown s;
    CHECK_EQ_INT(slowdown_parse("20", &s), ES_OK);
    CHECK_EQ_DBL(slowdown_at(&s, 0), 20);
    CHECK_EQ_DBL(slowdown_at(&s, 1e6), 20);
    CHECK_EQ_INT(slowdown_parse("1:0-30,20:30-60", &s), ES_OK);
    CHECK_EQ_INT(s.nphases, 2);
    CHECK_EQ_DBL(slowdown_at(&s, 0), 1);
    CHECK_EQ_DBL(slowdown_at(&s, 29.999), 1);
    CHECK_EQ_DBL(slowdown_at(&s, 30), 20);
    CHECK_EQ_DBL(slowdown_at(&s, 59.9), 20);
    CHECK_EQ_DBL(slowdown_at(&s, 60), 1); /* after the schedule: full speed */
    CHECK_EQ_INT(slowdown_parse("4.5:10-20", &s), ES_OK);
    CHECK_EQ_DBL(slowdown_at(&s, 5), 1);
    CHECK_EQ_DBL(slowdown_at(&s, 15), 4.5);
    static const char *const bad[] = {"",         "0.5",     "x",        "20:30",
                                      "20:30-10", "20:-1-5", "0.5:0-10", "20:0-10,",
                                      ",20:0-10", "20:0-1x", "20:0-10,3"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(slowdown_parse(bad[i], &s), ES_EINVAL);
}

static void test_uplink(void)
{
    struct uplink u = {.bytes_per_s = 1000};
    CHECK_EQ_INT(uplink_book(&u, 0, 500), 0);           /* idle link: send now */
    CHECK_EQ_INT(uplink_book(&u, 100000, 500), 400000); /* busy until 0.5 s */
    CHECK_EQ_INT(uplink_book(&u, 2000000, 10), 0);      /* idle again */
    struct uplink none = {0};
    CHECK_EQ_INT(uplink_book(&none, 0, 1 << 20), 0);
    CHECK_EQ_INT(uplink_book(&none, 0, 1 << 20), 0);
}

/* A 100 frames/s camera: frames missed while the device was busy are counted, not hidden. */
static void test_camera(void)
{
    struct camclock c = {.period_us = 10000};
    uint64_t skipped = 0;
    CHECK_EQ_INT(camclock_next(&c, 0, &skipped), 0);       /* frame 0 now */
    CHECK_EQ_INT(camclock_next(&c, 3000, &skipped), 7000); /* frame 1 at 10 ms */
    CHECK_EQ_INT(camclock_next(&c, 25000, &skipped), 0);   /* frame 2 (20 ms) taken late */
    CHECK_EQ_INT(skipped, 0);
    CHECK_EQ_INT(camclock_next(&c, 65000, &skipped), 0);    /* busy: frames at 30, 40, 50 ms */
    CHECK_EQ_INT(skipped, 3);                               /* gone; takes the one at 60 ms */
    CHECK_EQ_INT(camclock_next(&c, 66000, &skipped), 4000); /* the next at 70 ms */
    CHECK_EQ_INT(skipped, 3);
}

int main(void)
{
    test_slowdown();
    test_uplink();
    test_camera();
    return check_exit();
}

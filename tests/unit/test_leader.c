/* The planners' leader lease on a simulated clock: two planners of one group, one broker order
 * of messages, and the ways a lead ends. */
#include <string.h>

#include "check.h"
#include "leader.h"

#define MS 1000

/* What the broker hands to every planner: the lease each one publishes, in one order. */
static void deliver(struct leader *const all[], int n, const struct lease *msg, int64_t now)
{
    for (int i = 0; i < n; i++)
        leader_seen(all[i], msg, 0, now);
}

/* One turn of planner l at now: claims when it should (the claim reaches every planner) or
 * renews when it leads. */
static void turn(struct leader *l, struct leader *const all[], int n, int64_t now)
{
    if (leader_is_self(l, now)) {
        struct lease renew = l->self;
        deliver(all, n, &renew, now);
    } else if (leader_should_claim(l, now)) {
        leader_claimed(l, now);
        struct lease claim = l->self;
        deliver(all, n, &claim, now);
    }
}

static void check_init(void)
{
    struct leader l;
    CHECK(!leader_init(&l, "a/b", "5f0c2a9e81d4b7a3", 6000, 0));
    CHECK(!leader_init(&l, "p1", "short", 6000, 0));
    CHECK(!leader_init(&l, "p1", "5f0c2a9e81d4b7a3", 0, 0));
    CHECK(leader_init(&l, "p1", "5f0c2a9e81d4b7a3", 6000, 0));
    CHECK(!leader_is_self(&l, 0));
    CHECK(!leader_should_claim(&l, LEADER_GRACE_US - 1)); /* a retained lease may still come */
    CHECK(leader_should_claim(&l, LEADER_GRACE_US));
}

/* Two start at once and both claim: the one whose claim the broker handed out last leads, and
 * both agree; the other does not claim again while the lease is renewed. */
static void check_simultaneous(void)
{
    struct leader a, b;
    leader_init(&a, "pa", "aaaaaaaaaaaaaaaa", 3000, 0);
    leader_init(&b, "pb", "bbbbbbbbbbbbbbbb", 3000, 0);
    struct leader *const all[] = {&a, &b};
    int64_t now = LEADER_GRACE_US;
    CHECK(leader_should_claim(&a, now) && leader_should_claim(&b, now));
    leader_claimed(&a, now);
    leader_claimed(&b, now);
    struct lease ca = a.self, cb = b.self;
    deliver(all, 2, &ca, now); /* a's claim reached the broker first */
    deliver(all, 2, &cb, now);
    CHECK(leader_is_self(&b, now) && !leader_is_self(&a, now));
    int leaders_seen = 0;
    for (int t = 1; t <= 60; t++) { /* a minute of one-second windows */
        now += 1000 * MS;
        turn(&a, all, 2, now);
        turn(&b, all, 2, now);
        leaders_seen += leader_is_self(&a, now) + leader_is_self(&b, now);
        CHECK(!leader_is_self(&a, now));
    }
    CHECK_EQ_INT(leaders_seen, 60); /* exactly one leader every window */
}

/* The leader dies: by its last will at once, or silently (a partition) after the ttl. */
static void check_takeover(void)
{
    struct leader a, b;
    leader_init(&a, "pa", "aaaaaaaaaaaaaaaa", 3000, 0);
    leader_init(&b, "pb", "bbbbbbbbbbbbbbbb", 3000, 500 * MS);
    struct leader *const all[] = {&a, &b};
    int64_t now = LEADER_GRACE_US;
    turn(&a, all, 2, now); /* a claims alone */
    CHECK(leader_is_self(&a, now));
    now += 1000 * MS;
    turn(&b, all, 2, now);
    CHECK(!leader_is_self(&b, now) && !leader_should_claim(&b, now));
    /* a's will */
    leader_gone(&b, "pa", "bbbbbbbbbbbbbbbb"); /* another session of pa: not the holder */
    CHECK(!leader_should_claim(&b, now));
    leader_gone(&b, "pa", "aaaaaaaaaaaaaaaa");
    CHECK(leader_should_claim(&b, now));
    turn(&b, all, 2, now);
    CHECK(leader_is_self(&b, now) && !leader_is_self(&a, now));
    /* b goes silent: a takes over once b's lease is older than its ttl */
    int64_t last = now;
    CHECK(!leader_should_claim(&a, last + 3000 * MS));
    CHECK(leader_should_claim(&a, last + 3001 * MS));
    CHECK(!leader_is_self(&b, last + 3001 * MS)); /* and b no longer thinks it leads */
}

/* A lease given up, and a retained lease that was already old when it came. */
static void check_release_and_age(void)
{
    struct leader a;
    leader_init(&a, "pa", "aaaaaaaaaaaaaaaa", 3000, 0);
    struct lease other = {.held = true, .renewed_us = 0, .ttl_ms = 3000};
    strcpy(other.planner, "pb");
    strcpy(other.session, "bbbbbbbbbbbbbbbb");
    leader_seen(&a, &other, 2500 * MS, 100 * MS); /* retained, 2.5 s old */
    CHECK(!leader_should_claim(&a, 500 * MS));
    CHECK(leader_should_claim(&a, 700 * MS)); /* 3.1 s old by now */
    leader_seen(&a, &other, 0, 800 * MS);
    CHECK(!leader_should_claim(&a, 800 * MS));
    other.held = false;
    leader_seen(&a, &other, 0, 900 * MS);
    CHECK(leader_should_claim(&a, 900 * MS));
    leader_claimed(&a, 900 * MS);
    CHECK(!leader_should_claim(&a, 1500 * MS)); /* the claim has not come back yet */
    CHECK(leader_should_claim(&a, 1900 * MS));
}

/* A restarted planner finds its own earlier run's lease: it need not wait for the ttl. */
static void check_restart(void)
{
    struct leader a;
    leader_init(&a, "pa", "aaaaaaaaaaaaaaaa", 3000, 0);
    struct lease before = {.held = true, .ttl_ms = 3000};
    strcpy(before.planner, "pa");
    strcpy(before.session, "cccccccccccccccc");
    leader_seen(&a, &before, 0, 10 * MS);
    CHECK(leader_should_claim(&a, 10 * MS));
    CHECK(!leader_is_self(&a, 10 * MS));
}

int main(void)
{
    check_restart();
    check_init();
    check_simultaneous();
    check_takeover();
    check_release_and_age();
    return check_exit();
}

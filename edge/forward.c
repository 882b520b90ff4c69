#include "forward.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

/* Entries published before waiting for their acknowledgements. */
#define BATCH 32
#define WAIT_US 100000
/* A batch whose acknowledgements do not come within this time is sent again. */
#define ACK_TIMEOUT_US 10000000

struct forwarder {
    struct spool *s;
    struct transport *t;
    pthread_t thread;
    atomic_bool stop;
    atomic_ullong delivered;
    atomic_ullong refused;
    struct spool_entry e[BATCH];
    struct transport_ticket tk[BATCH];
};

/* Publishes up to BATCH entries; returns how many were handed to the transport. */
static size_t send_batch(struct forwarder *f)
{
    size_t n = 0;
    for (; n < BATCH && spool_peek(f->s, n, &f->e[n]) == ES_OK; n++) {
        struct spool_entry *e = &f->e[n];
        enum es_err err =
            e->qos ? transport_publish_ticket(f->t, e->topic, e->payload, e->len, &f->tk[n])
                   : transport_publish(f->t, e->topic, e->payload, e->len, 0, false);
        if (err == ES_ECONNECT)
            break;
        if (err != ES_OK) { /* the library refuses it: it never will take it */
            log_msg(LOG_ERROR, "EDGE-FORWARD-REFUSED",
                    "buffered message on %s (%zu bytes) "
                    "dropped: %s",
                    e->topic, e->len, es_strerror(err));
            f->tk[n].token = -1;
        }
    }
    return n;
}

/* The state of entry i of the batch: qos 0 entries are done once handed over. */
static enum transport_ticket_state entry_state(struct forwarder *f, size_t i)
{
    if (f->tk[i].token == -1)
        return TRANSPORT_REFUSED;
    return f->e[i].qos ? transport_ticket_state(f->t, &f->tk[i]) : TRANSPORT_DELIVERED;
}

/* Waits for the batch's acknowledgements, then removes the acknowledged (or refused) prefix. */
static void settle_batch(struct forwarder *f, size_t n, uint64_t *seen)
{
    int64_t deadline = clock_mono_us() + ACK_TIMEOUT_US;
    size_t done = 0;
    while (!atomic_load(&f->stop) || transport_connected(f->t)) {
        while (done < n && entry_state(f, done) != TRANSPORT_PENDING &&
               entry_state(f, done) != TRANSPORT_FAILED)
            done++;
        bool pending = false;
        for (size_t i = done; i < n && !pending; i++)
            pending = entry_state(f, i) == TRANSPORT_PENDING;
        if (!pending || clock_mono_us() >= deadline)
            break;
        transport_wait(f->t, seen, WAIT_US);
    }
    for (size_t i = 0; i < done; i++) {
        if (entry_state(f, i) == TRANSPORT_REFUSED)
            atomic_fetch_add(&f->refused, 1);
        else
            atomic_fetch_add(&f->delivered, 1);
    }
    if (done)
        spool_remove_through(f->s, f->e[done - 1].id);
}

static void *forward_main(void *arg)
{
    struct forwarder *f = arg;
    uint64_t seen = 0;
    while (!atomic_load(&f->stop)) {
        spool_sync(f->s); /* --spool-sync batch: what was written a while ago goes to disk */
        if (spool_count(f->s) == 0) {
            spool_wait(f->s, WAIT_US);
            continue;
        }
        if (!transport_connected(f->t)) {
            transport_wait(f->t, &seen, WAIT_US);
            continue;
        }
        size_t n = send_batch(f);
        if (n)
            settle_batch(f, n, &seen);
        else
            transport_wait(f->t, &seen, WAIT_US);
    }
    return NULL;
}

enum es_err forwarder_start(struct spool *s, struct transport *t, struct forwarder **out)
{
    *out = NULL;
    struct forwarder *f = calloc(1, sizeof *f);
    if (!f)
        return ES_ENOMEM;
    f->s = s;
    f->t = t;
    if (pthread_create(&f->thread, NULL, forward_main, f) != 0) {
        free(f);
        return ES_ENOMEM;
    }
    *out = f;
    return ES_OK;
}

uint64_t forwarder_delivered(struct forwarder *f)
{
    return f ? atomic_load(&f->delivered) : 0;
}

uint64_t forwarder_refused(struct forwarder *f)
{
    return f ? atomic_load(&f->refused) : 0;
}

size_t forwarder_stop(struct forwarder *f, struct spool *s, int64_t idle_us)
{
    if (!f)
        return s ? spool_count(s) : 0;
    uint64_t seen = 0;
    size_t left = spool_count(s);
    int64_t quiet_since = clock_mono_us();
    while (left > 0 && clock_mono_us() - quiet_since < idle_us) {
        transport_wait(f->t, &seen, WAIT_US);
        size_t now = spool_count(s);
        if (now < left)
            quiet_since = clock_mono_us();
        left = now;
    }
    atomic_store(&f->stop, true);
    spool_wake(s);
    transport_wake(f->t);
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < BATCH; i++)
        free(f->e[i].payload);
    free(f);
    return spool_count(s);
}

/* What happens to a frame once its local stages ran: it is published at the split and followed
 * until its result comes back, published again when its deadline passes, or run here when no
 * worker can take it; a result computed here goes through the store-and-forward spool. */
#include <stdlib.h>
#include <string.h>

#include "agent_impl.h"
#include "clock.h"
#include "json_frame.h"
#include "log.h"
#include "result.h"
#include "status.h"
#include "wire.h"
#include "wire_batch.h"

/* A batch never passes this size. */
#define BATCH_MAX_BYTES (64u * 1024u)
/* A silent link: frames in flight and nothing heard from the broker for LINK_QUIET_US (or the
 * result deadline, when longer), then no acknowledgement of a probe within LINK_PROBE_US (or the
 * deadline). The connection is then given up at once. */
#define LINK_QUIET_US 500000
#define LINK_PROBE_US 1000000
/* The longest wait for a result before the frames in flight and the link are looked at again. */
#define SERVICE_WAIT_US 100000

/* Buffers the result of a frame that ran here (and its annotated picture, if any). */
static enum es_err emit_here(struct agent *a, const struct state *st, const struct stage_io *io)
{
    struct result_meta m = {
        .device = a->o->device_id,
        .seq = st->seq,
        .split = st->split,
        .captured_us = st->captured_us,
        .completed_us = clock_wall_us(),
        .stage_us = st->stage_us,
        .nstages = a->app->nstages,
        .fallback = true,
    };
    size_t len = 0;
    enum es_err err = result_format(io->result, &m, a->result_text, sizeof a->result_text, &len);
    if (err != ES_OK)
        return err;
    err = spool_push(a->spool, a->results_topic, 1, a->result_text, len);
    if (io->jpeg)
        spool_push(a->spool, a->frames_topic, 0, io->jpeg, io->jpeg_len);
    return err == ES_ELIMIT || err == ES_EIO ? ES_OK : err; /* counted by the spool */
}

/* Runs the stages from st->split on here and buffers the result. */
static enum es_err finish_here(struct agent *a, struct state *st)
{
    json_frame_begin(); /* the frame's JSON values live until its end */
    struct stage_io io = {.st = st};
    a->slow.st = st; /* the device runs these stages: as slow as the others */
    stage_slowdown_start(&a->slow);
    enum es_err err = app_run(&io, st->split, a->app->nstages, stage_slowdown_hook, &a->slow);
    if (err == ES_OK)
        err = emit_here(a, st, &io);
    json_decref(io.result);
    free(io.jpeg);
    json_frame_end();
    return err;
}

void agent__note_link(struct agent *a, bool up)
{
    if (!up) {
        episodes_offline_start(a->episodes, clock_mono_us());
        return;
    }
    if (!episodes_active(a->episodes, EPISODE_OFFLINE))
        return;
    struct spool_stats ss;
    spool_get_stats(a->spool, &ss);
    episodes_offline_end(a->episodes, clock_mono_us(), &ss);
}

/* Whether a frame of split k can go to a worker now; keeps the episodes. */
static bool can_offload(struct agent *a, unsigned k)
{
    bool up = transport_connected(a->tp) && !transport_taken_over(a->tp);
    bool served = up && roster_serving(a->roster, k, clock_mono_us()) > 0;
    agent__note_link(a, up);
    if (up && !served)
        episodes_no_worker_start(a->episodes, clock_mono_us(), k, transport_uri(a->tp));
    if (served)
        episodes_no_worker_end(a->episodes, clock_mono_us(), k);
    return served;
}

/* How many frames of split k one message may carry now: the agent's --batch, if every worker
 * serving k takes batches that big (1: one frame a message). */
static unsigned batch_limit(struct agent *a, unsigned k)
{
    if (a->o->batch <= 1)
        return 1;
    unsigned most = roster_batch(a->roster, k, clock_mono_us());
    return most < 2 ? 1 : most < a->o->batch ? most : a->o->batch;
}

/* Every frame in flight runs here (the link is gone); those still waiting in the batch too. */
static void fail_in_flight(struct agent *a)
{
    wire_batcher_clear(&a->batch);
    delivery_fail_all(a->dl);
}

/* Sends the batch (see agent__flush). It holds frames of the current split: set_split sends it
 * before the split changes. */
static void flush_batch(struct agent *a)
{
    if (!a->batch.count)
        return;
    if (transport_publish(a->tp, a->stage_topic, a->batch.buf, a->batch.len, a->o->qos, false) ==
        ES_OK) {
        accounts_add_message(a->acc);
        wire_batcher_clear(&a->batch);
    } else {
        fail_in_flight(a); /* their deadlines are not waited out: they run here */
    }
}

void agent__flush(struct agent *a)
{
    if (!a->batch.count)
        return;
    int64_t t0 = clock_mono_us();
    flush_batch(a);
    accounts_add_publish_time(a->acc, (double)(clock_mono_us() - t0));
}

void agent__batch_wait(struct agent *a)
{
    if (!a->batch.count)
        return;
    int64_t left = a->batch_first_us + (int64_t)(a->o->batch_wait_ms * 1000) - clock_mono_us();
    /* A frame that would come too late is not waited for (a camera's pace: every frame alone). */
    if (left > 0 && a->frame_gap_us < left && capture_wait(a->capture, left))
        return;
    agent__flush(a);
}

/* Sends the frame encoded in a->buf[0..len-1], alone or in the batch. */
static enum es_err send_frame(struct agent *a, size_t len)
{
    unsigned most = batch_limit(a, a->split);
    if (a->batch.count && !wire_batcher_fits(&a->batch, len, most, BATCH_MAX_BYTES))
        flush_batch(a);
    if (most <= 1 || len + WIRE_BATCH_HEAD_LEN + WIRE_BATCH_FRAME_HEAD > BATCH_MAX_BYTES) {
        flush_batch(a); /* frames leave in the order they were taken */
        enum es_err err = transport_publish(a->tp, a->stage_topic, a->buf, len, a->o->qos, false);
        if (err == ES_OK)
            accounts_add_message(a->acc);
        return err;
    }
    if (!a->batch.count)
        a->batch_first_us = clock_mono_us();
    enum es_err err = wire_batcher_add(&a->batch, a->buf, len);
    if (err == ES_OK && a->batch.count >= most)
        flush_batch(a);
    return err;
}

static enum es_err publish_state(struct agent *a)
{
    size_t len = 0;
    int64_t t0 = clock_mono_us();
    struct wire_encode_opts wo = {.image_codec = a->o->image_codec, .quality = a->o->image_quality};
    enum es_err err = wire_encode_ex(a->st, a->split, &wo, &a->buf, &a->cap, &len);
    if (err != ES_OK) {
        log_msg(LOG_ERROR, "EDGE-ENCODE", "cannot encode frame %llu: %s",
                (unsigned long long)a->st->seq, es_strerror(err));
        return err;
    }
    clock_sleep_us(uplink_book(&a->uplink, clock_mono_us(), len));
    /* In flight before it is sent: its result may come back before transport_publish returns. */
    err =
        delivery_add(a->dl, a->st->seq, a->st->captured_us, a->split, a->buf, len, clock_mono_us());
    if (err == ES_OK)
        err = send_frame(a, len);
    accounts_add_publish_time(a->acc, (double)(clock_mono_us() - t0));
    if (err != ES_OK) {
        delivery_cancel(a->dl, a->st->seq);
        return err;
    }
    accounts_add_bytes_sent(a->acc, len);
    accounts_add_offloaded(a->acc);
    accounts_add_output(a->acc, clock_mono_us());
    return ES_OK;
}

enum es_err agent__offload(struct agent *a)
{
    if (can_offload(a, a->split) && publish_state(a) == ES_OK)
        return ES_OK;
    /* Nobody can take it, or the publish failed: run the rest here. */
    accounts_add_here(a->acc);
    episodes_add_frame(a->episodes, EPISODE_OFFLINE);
    episodes_add_frame(a->episodes, EPISODE_NO_WORKER);
    enum es_err err = finish_here(a, a->st);
    if (err == ES_OK)
        delivery_ran_here(a->dl, a->st->seq, a->st->captured_us, clock_wall_us());
    return err;
}

/* A frame handed back: decode its wire payload and run its remaining stages here. */
static void run_handed_back(struct agent *a, const struct delivery_frame *f)
{
    char why[160] = "";
    enum es_err err = wire_decode_ex(f->payload, f->len, &a->fb, why, sizeof why);
    if (err == ES_OK)
        err = finish_here(a, &a->fb);
    if (err != ES_OK) {
        accounts_add_error(a->acc);
        log_msg(LOG_ERROR, "EDGE-FRAME-LOST", "frame %llu lost running it here: %s",
                (unsigned long long)f->seq, why[0] ? why : es_strerror(err));
    }
    episodes_add_frame(a->episodes, EPISODE_OFFLINE);
    episodes_add_frame(a->episodes, EPISODE_LATE);
    delivery_finish(a->dl, f->seq, clock_wall_us());
}

static void retry(struct agent *a, const struct delivery_frame *f)
{
    char topic[TOPIC_MAX];
    episodes_late_start(a->episodes, clock_mono_us(), f->seq, delivery_deadline_us(a->dl));
    episodes_add_frame(a->episodes, EPISODE_LATE);
    if (topic_stage(topic, sizeof topic, f->split, a->o->device_id) == ES_OK &&
        transport_publish(a->tp, topic, f->payload, f->len, a->o->qos, false) == ES_OK)
        delivery_resent(a->dl, f->seq, clock_mono_us());
    else
        fail_in_flight(a); /* not connected */
}

/* Watches a link that carries frames for silence (no RST, no FIN: a dead Wi-Fi or cellular
 * link, a half-open connection), which TCP notices only after minutes and the keepalive only
 * after up to twice its interval. While frames are in flight and nothing came from the broker
 * for a while, a QoS 1 probe asks it to answer; without an answer the connection is given up,
 * which the rest of the agent handles as a broker outage (frames run here, results buffered). */
static void watch_link(struct agent *a)
{
    int64_t now = clock_mono_us(), deadline = delivery_deadline_us(a->dl);
    if (!transport_connected(a->tp)) {
        a->probing = false;
        return;
    }
    int64_t quiet = now - atomic_load(&a->heard_us);
    if (a->probing) {
        enum transport_ticket_state s = transport_ticket_state(a->tp, &a->probe);
        int64_t wait = deadline > LINK_PROBE_US ? deadline : LINK_PROBE_US;
        if (s == TRANSPORT_PENDING && now - a->probe_us < wait)
            return;
        a->probing = false;
        if (s != TRANSPORT_PENDING) {
            atomic_store(&a->heard_us, now); /* answered, or refused: the link carries it */
            return;
        }
        char why[200];
        snprintf(why, sizeof why,
                 "nothing from it for %.1f s with %u frames in flight, and no answer to a probe "
                 "within %.1f s",
                 (double)quiet / 1e6, delivery_count(a->dl), (double)wait / 1e6);
        transport_drop(a->tp, why);
        return;
    }
    if (delivery_count(a->dl) == 0 && !a->batch.count)
        return;
    if (quiet < (deadline > LINK_QUIET_US ? deadline : LINK_QUIET_US))
        return;
    if (transport_publish_ticket(a->tp, a->probe_topic, "{}", 2, &a->probe) == ES_OK) {
        a->probing = true;
        a->probe_us = now;
    }
}

void agent__service(struct agent *a)
{
    watch_link(a);
    if (atomic_exchange(&a->link_lost, false))
        fail_in_flight(a);
    struct delivery_frame f;
    enum delivery_action act;
    bool can_send = can_offload(a, a->split);
    while ((act = delivery_next(a->dl, clock_mono_us(), can_send, &f)) != DELIVERY_NONE) {
        if (act == DELIVERY_RETRY)
            retry(a, &f);
        else
            run_handed_back(a, &f);
    }
}

enum es_err agent__make_room(struct agent *a)
{
    for (;;) {
        agent__service(a);
        if (a->sig->stop || transport_taken_over(a->tp))
            return ES_ESTOPPED;
        if (delivery_room(a->dl))
            return ES_OK;
        agent__flush(a); /* the window is full: the batch's results are what it waits for */
        delivery_wait(a->dl, &a->sig->stop, SERVICE_WAIT_US);
    }
}

void agent__drain(struct agent *a)
{
    agent__flush(a);
    while (delivery_count(a->dl) > 0 && !transport_taken_over(a->tp)) {
        agent__service(a);
        if (delivery_count(a->dl) > 0)
            delivery_wait(a->dl, NULL, SERVICE_WAIT_US);
    }
}

static void on_result(struct agent *a, const uint8_t *payload, size_t len)
{
    struct result_info info;
    if (result_parse((const char *)payload, len, &info) != ES_OK) {
        log_msg(LOG_WARN, "EDGE-BAD-RESULT", "malformed result on %s dropped", a->results_topic);
        return;
    }
    if (info.fallback || strcmp(info.device, a->o->device_id) != 0)
        return; /* our own, buffered and forwarded */
    if (delivery_complete(a->dl, info.seq, info.captured_us, clock_mono_us(), clock_wall_us()) !=
        DELIVERY_ACCEPTED)
        return;
    accounts_add_cloud_stages(a->acc, info.split, info.nstages, info.stage_us);
    accounts_add_cloud_cpu(a->acc, info.cloud_cpu_us);
}

static void on_status(struct agent *a, const uint8_t *payload, size_t len)
{
    struct status_info s;
    if (status_parse((const char *)payload, len, &s) != ES_OK)
        return;
    if (!s.online && a->follow)
        follow_gone(a->follow, s.client); /* the planner went away: back to the own policy */
    if (a->follow && strcmp(s.role, "planner") == 0)
        follow_planner(a->follow, s.client, s.online);
    if (roster_update(a->roster, &s, clock_mono_us()) &&
        roster_serving(a->roster, a->split, clock_mono_us()) == 0)
        delivery_fail_all(a->dl); /* nobody will answer the frames in flight */
}

bool agent__on_message(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
    struct agent *a = arg;
    atomic_store(&a->heard_us, clock_mono_us());
    if (strcmp(topic, a->results_topic) == 0)
        on_result(a, payload, len);
    else if (topic_is_status(topic))
        on_status(a, payload, len);
    else if (a->follow && strcmp(topic, a->plan_topic) == 0 &&
             !follow_message(a->follow, a->o->device_id, payload, len, clock_mono_us()))
        log_msg(LOG_WARN, "EDGE-BAD-PLAN", "malformed plan on %s ignored", topic);
    return true;
}

void agent__on_event(void *arg, enum transport_event ev)
{
    struct agent *a = arg;
    atomic_store(&a->heard_us, clock_mono_us());
    if (ev == TRANSPORT_DOWN) {
        roster_clear(a->roster); /* the statuses come again (or not) after the reconnect */
        atomic_store(&a->link_lost, true);
    }
    delivery_wake(a->dl);
}

/* Integration: the secure set-up. scripts/secure-setup.sh writes a CA, certificates, passwords,
 * mosquitto.conf and the dynamic-security plugin's rights into the scratch directory; a real
 * mosquitto runs it (TLS with passwords on one port, mutual TLS on the next) with a real worker
 * and real edge agents. Checked: a device gets all its results with a password and with its
 * certificate; anonymous clients, wrong passwords, a wrong CA, an expired certificate and a
 * server certificate for another name are refused with one line naming the broker; a device
 * cannot replay another device's frame (no result anywhere), join the workers' share group,
 * read another device's results or publish them; an impostor of a device id is refused while the
 * real device runs on; a device added to the running broker works at once, and after its
 * credentials are rotated its old password and certificate are refused and the new ones work.
 * Prints the one-line error of every refused client. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "app.h"
#include "plan.h"
#include "registry.h"
#include "secure.h"
#include "source.h"
#include "wire.h"

#define FRAMES 50

/* The last line of the log at path that contains needle, or "" (into buf). */
static const char *line_with(const char *path, const char *needle, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    buf[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, needle)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, n, "%s", line);
        }
    }
    if (f)
        fclose(f);
    return buf;
}

/* The results the viewer got for device from the index `from` on (a new reference). */
static json_t *results_since(struct secure_tap *viewer, const char *device, size_t from)
{
    json_t *all = secure_tap_results(viewer, device), *tail = json_array();
    for (size_t i = from; i < json_array_size(all); i++)
        json_array_append(tail, json_array_get(all, i));
    json_decref(all);
    return tail;
}

/* Runs `frames` frames of device id at split 3 presenting c (how names the run and its log), and
 * checks that every result came back from the worker, each once, and that nothing was lost. */
static void check_delivery(const struct secure *s, struct secure_tap *viewer, const char *id,
                           struct secure_client *c, int frames, const char *how)
{
    char log[400], n[16];
    snprintf(log, sizeof log, "%s/edge-%s-%s.log", s->dir, id, how);
    snprintf(n, sizeof n, "%d", frames);
    const char *extra[] = {"--frames", n, NULL};
    size_t before = secure_tap_count(viewer, id);
    CHECK_EQ_INT(harness_wait(secure_edge(c, id, extra, log), 60000), 0);
    CHECK(secure_tap_wait(viewer, id, before + (size_t)frames, 10000));
    json_t *got = results_since(viewer, id, before);
    bool by_worker = false;
    CHECK(results_once(got, frames, "w-1", &by_worker));
    CHECK(by_worker);
    CHECK_EQ_INT(harness_summary(log, "results"), frames);
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    printf("%s (%s): %zu results from the worker over TLS\n", id, how, json_array_size(got));
    json_decref(got);
    if (check_failed)
        harness_dump(log);
}

/* Waits for an edge agent expected to stop with exit code 1 after the error line it logged. (A
 * refused agent once aborted in exit() about once in a hundred runs under load: OpenSSL's exit
 * handler raced a Paho thread; the transport now turns that handler off.) */
static int refused_exit(pid_t pid, const char *log, const char *name)
{
    (void)log;
    (void)name;
    return secure_wait(pid, 30000);
}

/* Runs an edge agent for device id presenting c, expected to be refused: exit 1 and exactly one
 * "cannot connect" line, naming the broker's TLS URI and containing each of words (NULL-
 * terminated, may be NULL). Prints the line; returns the log's path in log. */
static void check_refused(const struct secure *s, const char *name, const char *id,
                          struct secure_client *c, const char *const *words, char *log, size_t n)
{
    char uri[64], line[1024];
    snprintf(log, n, "%s/refused-%s.log", s->dir, name);
    const char *extra[] = {"--frames", "3", NULL};
    CHECK_EQ_INT(refused_exit(secure_edge(c, id, extra, log), log, name), 1);
    CHECK_EQ_INT(harness_count_lines(log, "cannot connect to broker", NULL), 1);
    line_with(log, "cannot connect to broker", line, sizeof line);
    snprintf(uri, sizeof uri, "cannot connect to broker ssl://127.0.0.1:%d: ", c->port);
    CHECK(strstr(line, uri) != NULL);
    for (int i = 0; words && words[i]; i++)
        CHECK(strstr(line, words[i]) != NULL);
    printf("refused, %s: %s\n", name, line);
}

/* A refusal by the broker (a CONNACK reason code >= 0x80), which the transport writes as
 * "refused by the broker: <reason>", unlike a TLS or network failure. */
static void check_refused_by_broker(const struct secure *s, const char *name, const char *id,
                                    struct secure_client *c)
{
    char log[400], line[1024];
    check_refused(s, name, id, c, NULL, log, sizeof log);
    line_with(log, "cannot connect to broker", line, sizeof line);
    CHECK(strstr(line, "refused by the broker: Not authorized") != NULL);
}

/* Makes, in dir/extra, a second CA, a client certificate for cam-01 that expired yesterday, and
 * a server certificate for another host name, both signed by the set-up's CA. */
static bool make_bad_certificates(const struct secure *s)
{
    const char *ec = "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
    return secure_sh(s, "mkdir -p %s/extra && chmod 755 %s/extra", s->dir, s->dir) == 0 &&
           secure_sh(s,
                     "cd %s/extra && openssl req -x509 -new -newkey ec -pkeyopt "
                     "ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.crt "
                     "-days 30 -subj /CN=another-ca",
                     s->dir) == 0 &&
           secure_sh(s,
                     "cd %s/extra && openssl genpkey %s -out expired.key && openssl req -new -key "
                     "expired.key -subj /CN=cam-01 -out expired.csr && printf "
                     "'extendedKeyUsage=clientAuth\\n' >client.ext && openssl x509 -req -in "
                     "expired.csr -CA %s/ca.crt -CAkey %s/ca.key -CAserial serial -CAcreateserial "
                     "-days -1 -extfile client.ext -out expired.crt",
                     s->dir, ec, s->setup, s->setup) == 0 &&
           secure_sh(s,
                     "cd %s/extra && openssl genpkey %s -out other-host.key && chmod 644 "
                     "other-host.key && openssl req -new -key other-host.key -subj "
                     "/CN=elsewhere.invalid -out other-host.csr && printf "
                     "'subjectAltName=DNS:elsewhere.invalid\\nextendedKeyUsage=serverAuth\\n' "
                     ">server.ext && openssl x509 -req -in other-host.csr -CA %s/ca.crt -CAkey "
                     "%s/ca.key -CAserial serial -CAcreateserial -days 30 -extfile server.ext "
                     "-out other-host.crt",
                     s->dir, ec, s->setup, s->setup) == 0;
}

/* Anonymous, a wrong password, a wrong CA, an expired client certificate, no certificate. */
static void check_refusals(const struct secure *s)
{
    char wrong[400], other_ca[400], cert[400], key[400], log[400];
    struct secure_client c;
    snprintf(wrong, sizeof wrong, "%s/wrong.pass", s->dir);
    FILE *f = fopen(wrong, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not-the-password\n", f);
        fclose(f);
    }
    secure_client_init(s, &c, "cam-01", SECURE_NONE);
    check_refused_by_broker(s, "anonymous", "cam-01", &c);
    secure_client_init(s, &c, "cam-01", SECURE_PASSWORD);
    c.password_file = wrong;
    check_refused_by_broker(s, "wrong-password", "cam-01", &c);

    secure_client_init(s, &c, "cam-01", SECURE_PASSWORD);
    snprintf(other_ca, sizeof other_ca, "%s/extra/other-ca.crt", s->dir);
    c.cafile = other_ca;
    const char *verify[] = {"TLS: the broker's certificate", NULL};
    check_refused(s, "wrong-ca", "cam-01", &c, verify, log, sizeof log);

    /* The broker rejects a client certificate after the client's side of the TLS 1.3 handshake
     * has completed; the transport's own handshake gets the broker's alert and names it.
     * cam-02's valid certificate connects on the same port (check_delivery). */
    secure_client_init(s, &c, "cam-01", SECURE_CERT);
    snprintf(cert, sizeof cert, "%s/extra/expired.crt", s->dir);
    snprintf(key, sizeof key, "%s/extra/expired.key", s->dir);
    c.certfile = cert;
    c.keyfile = key;
    const char *expired[] = {"TLS:", "certificate expired", NULL};
    check_refused(s, "expired-certificate", "cam-01", &c, expired, log, sizeof log);
    c.certfile = c.keyfile = NULL;
    const char *required[] = {"TLS:", "certificate required", NULL};
    check_refused(s, "no-certificate", "cam-01", &c, required, log, sizeof log);
}

/* A broker whose certificate (signed by the set-up's CA) names only elsewhere.invalid: a client
 * asking for 127.0.0.1 is refused; the same client without the host-name check connects. */
static void check_host_name(const struct secure *s)
{
    struct secure other = *s;
    struct secure_client c;
    char log[400];
    snprintf(other.b.conf, sizeof other.b.conf, "%s/extra/other-host.conf", s->dir);
    snprintf(other.b.log, sizeof other.b.log, "%s/extra/other-host.log", s->dir);
    other.b.port = secure_free_pair();
    FILE *f = fopen(other.b.conf, "w");
    CHECK(f != NULL && other.b.port > 0);
    if (!f)
        return;
    fprintf(f,
            "listener %d 127.0.0.1\ncertfile %s/extra/other-host.crt\nkeyfile "
            "%s/extra/other-host.key\ntls_version tlsv1.2\nallow_anonymous true\n",
            other.b.port, s->dir, s->dir);
    fclose(f);
    const char *argv[] = {"mosquitto", "-c", other.b.conf, NULL};
    other.b.pid = harness_spawn(argv, NULL, other.b.log);
    for (int i = 0; i < 500 && !harness_port_open(other.b.port); i++)
        clock_sleep_us(10000);
    CHECK(harness_port_open(other.b.port));
    secure_client_init(s, &c, "cam-01", SECURE_NONE);
    c.port = other.b.port;
    /* the control below shows the name is what is refused */
    const char *mismatch[] = {"TLS: the broker's certificate: IP address mismatch", NULL};
    check_refused(s, "host-name", "cam-01", &c, mismatch, log, sizeof log);
    snprintf(log, sizeof log, "%s/host-name-unchecked.log", s->dir);
    const char *extra[] = {"--frames", "3", "--tls-no-hostname", NULL};
    CHECK_EQ_INT(harness_wait(secure_edge(&c, "cam-01", extra, log), 30000), 0);
    broker_stop(&other.b, check_failed > 0);
}

/* A stage-3 payload of the ball tracker as device would publish it, in *buf (freed by the
 * caller); returns its length, 0 on failure. */
static size_t stage3_payload(const char *device, uint8_t **buf)
{
    const struct app *app = app_find("ball");
    struct state st;
    struct source *src = NULL;
    size_t cap = 0, len = 0;
    *buf = NULL;
    state_init(&st, app);
    snprintf(st.device, sizeof st.device, "%s", device);
    if (source_open("synthetic:7", &src) == ES_OK) {
        struct stage_io io = {.st = &st, .source = src};
        if (app_run(&io, 0, 3, NULL, NULL) != ES_OK || wire_encode(&st, 3, buf, &cap, &len))
            len = 0;
    }
    source_free(src);
    state_release(&st);
    return len;
}

/* Publishes at QoS 1 and waits (5 s at most) for the broker's verdict. */
static enum transport_ticket_state publish_verdict(struct transport *tp, const char *topic,
                                                   const void *buf, size_t len)
{
    struct transport_ticket ticket;
    if (transport_publish_ticket(tp, topic, buf, len, &ticket) != ES_OK)
        return TRANSPORT_FAILED;
    uint64_t seen = 0;
    int64_t deadline = clock_mono_us() + 5000000;
    enum transport_ticket_state st;
    while ((st = transport_ticket_state(tp, &ticket)) == TRANSPORT_PENDING &&
           clock_mono_us() < deadline)
        transport_wait(tp, &seen, 100000);
    return st;
}

/* cam-01 replays a cam-02 frame on its own stage topic: the broker takes it (cam-01 may publish
 * there), the worker drops it as forged, and no result appears anywhere. On cam-02's topic the
 * broker refuses it. */
static void check_replay(const struct secure *s, struct secure_tap *viewer, const char *worker_log)
{
    uint8_t *frame = NULL;
    size_t len = stage3_payload("cam-02", &frame);
    struct secure_tap *cam01 = secure_tap_start(s, "cam-01", SECURE_PASSWORD, NULL);
    CHECK(len > 40 && cam01 != NULL);
    if (len > 40 && cam01) {
        size_t before = secure_tap_count(viewer, NULL);
        CHECK_EQ_INT(publish_verdict(cam01->tp, "pipeline/stage/3/cam-01", frame, len),
                     TRANSPORT_DELIVERED);
        CHECK(harness_wait_for_text(worker_log, "WORKER-FORGED", 10000));
        CHECK_EQ_INT(publish_verdict(cam01->tp, "pipeline/stage/3/cam-02", frame, len),
                     TRANSPORT_REFUSED);
        clock_sleep_us(1000000);
        CHECK_EQ_INT(secure_tap_count(viewer, NULL), before);
        printf("replay: a cam-02 frame published by cam-01 on its own topic was dropped as "
               "forged, refused on cam-02's; %zu results since\n",
               secure_tap_count(viewer, NULL) - before);
    }
    secure_tap_free(cam01);
    free(frame);
}

/* Only the planner's login may publish plans and leases, and a device reads its own plan only: a
 * plan forged by another device's login is refused and never reaches the device. */
static void check_plans(const struct secure *s)
{
    struct plan p = {.split = 4, .predicted_fps = 10, .issued_us = clock_wall_us(), .ttl_ms = 6000};
    strcpy(p.device, "cam-01");
    strcpy(p.reason, "goal met, least cloud CPU");
    strcpy(p.planner, "planner-1");
    char *good = plan_dump(&p);
    p.split = 1; /* what a forger wants: every frame raw to the cloud */
    strcpy(p.planner, "cam-02");
    char *forged = plan_dump(&p);
    const char *lease = "{\"planner\":\"cam-02\",\"session\":\"5f0c2a9e81d4b7a3\",\"held\":true,"
                        "\"renewed_us\":1,\"ttl_ms\":600000}";
    struct secure_tap *planner = secure_tap_start(s, "planner-1", SECURE_PASSWORD, NULL);
    struct secure_tap *cam01 = secure_tap_start(s, "cam-01", SECURE_PASSWORD, NULL);
    struct secure_tap *cam02 = secure_tap_start(s, "cam-02", SECURE_CERT, NULL);
    CHECK(good && forged && planner && cam01 && cam02);
    if (good && forged && planner && cam01 && cam02) {
        CHECK_EQ_INT(publish_verdict(cam02->tp, "pipeline/plan/cam-01", forged, strlen(forged)),
                     TRANSPORT_REFUSED);
        CHECK_EQ_INT(publish_verdict(cam02->tp, "pipeline/plan/cam-02", forged, strlen(forged)),
                     TRANSPORT_REFUSED);
        CHECK_EQ_INT(publish_verdict(cam02->tp, "pipeline/planner/fleet", lease, strlen(lease)),
                     TRANSPORT_REFUSED);
        CHECK_EQ_INT(transport_subscribe(cam01->tp, "pipeline/plan/cam-02", 1), ES_EMQTT);
        CHECK_EQ_INT(transport_subscribe(cam01->tp, "pipeline/plan/+", 1), ES_EMQTT);
        CHECK_EQ_INT(transport_subscribe(cam01->tp, "pipeline/planner/+", 1), ES_EMQTT);
        CHECK_EQ_INT(transport_subscribe(cam01->tp, "pipeline/plan/cam-01", 1), ES_OK);
        CHECK_EQ_INT(publish_verdict(cam02->tp, "pipeline/plan/cam-01", forged, strlen(forged)),
                     TRANSPORT_REFUSED);
        CHECK_EQ_INT(publish_verdict(planner->tp, "pipeline/plan/cam-01", good, strlen(good)),
                     TRANSPORT_DELIVERED);
        CHECK(secure_tap_wait(cam01, "cam-01", 1, 5000));
        clock_sleep_us(500000);
        pthread_mutex_lock(&cam01->lock);
        json_t *plans = json_object_get(cam01->by_device, "cam-01");
        CHECK_EQ_INT(json_array_size(plans), 1);
        const char *by = json_string_value(json_object_get(json_array_get(plans, 0), "planner"));
        CHECK(by && strcmp(by, "planner-1") == 0);
        json_int_t split = json_integer_value(json_object_get(json_array_get(plans, 0), "split"));
        pthread_mutex_unlock(&cam01->lock);
        CHECK_EQ_INT(split, 4);
        printf("plans: the planner's plan reached cam-01; cam-02's forged plan and lease were "
               "refused; cam-01 may not read other plans\n");
    }
    secure_tap_free(planner);
    secure_tap_free(cam01);
    secure_tap_free(cam02);
    free(good);
    free(forged);
}

/* Subscriptions a device must not get, and one it must (so the refusals are not a broken
 * connection). */
static void check_subscriptions(struct secure_tap *cam01)
{
    const char *refused[] = {"$share/workers/pipeline/stage/+/+",
                             "$share/workers/pipeline/stage/3/+",
                             "pipeline/stage/+/+",
                             "pipeline/stage/3/cam-02",
                             "pipeline/results/cam-02",
                             "pipeline/results/#",
                             "#"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        enum es_err err = transport_subscribe(cam01->tp, refused[i], 1);
        if (err != ES_EMQTT)
            fprintf(stderr, "cam-01 subscribing to %s: %s\n", refused[i], es_strerror(err));
        CHECK_EQ_INT(err, ES_EMQTT);
    }
    CHECK_EQ_INT(transport_subscribe(cam01->tp, "pipeline/results/cam-01", 1), ES_OK);
}

/* While cam-02 runs, cam-01 tries to join the workers' share group (which would take every
 * other cam-02 frame), to read cam-02's results and to publish a result for cam-02. All refused;
 * cam-02 loses nothing and cam-01 receives nothing. */
static void check_share_group(const struct secure *s, struct secure_tap *viewer)
{
    char log[400];
    struct secure_client c;
    snprintf(log, sizeof log, "%s/edge-cam-02-victim.log", s->dir);
    secure_client_init(s, &c, "cam-02", SECURE_PASSWORD);
    const char *extra[] = {"--frames", "200", "--rate", "100", NULL};
    size_t before = secure_tap_count(viewer, "cam-02");
    pid_t victim = secure_edge(&c, "cam-02", extra, log);
    CHECK(secure_tap_wait(viewer, "cam-02", before + 10, 20000)); /* cam-02 is running */
    struct secure_tap *cam01 = secure_tap_start(s, "cam-01", SECURE_PASSWORD, NULL);
    CHECK(cam01 != NULL);
    if (cam01) {
        check_subscriptions(cam01);
        const char *fake = "{\"device\":\"cam-02\",\"seq\":9999,\"detected\":false}";
        CHECK_EQ_INT(publish_verdict(cam01->tp, "pipeline/results/cam-02", fake, strlen(fake)),
                     TRANSPORT_REFUSED);
    }
    CHECK_EQ_INT(harness_wait(victim, 60000), 0);
    CHECK(secure_tap_wait(viewer, "cam-02", before + 200, 10000));
    json_t *got = results_since(viewer, "cam-02", before);
    size_t dups = 0, fallback = 0;
    CHECK(results_at_least_once(got, 200, &dups, &fallback)); /* no seq 9999 either */
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK_EQ_INT(harness_summary(log, "frames"), 200);
    CHECK_EQ_INT(harness_summary(log, "results"), 200); /* the worker got every frame of cam-02 */
    if (cam01)
        CHECK_EQ_INT(secure_tap_count(cam01, NULL), 0);
    printf("share group: cam-01's subscriptions and forged result refused; cam-02 got %zu results "
           "for 200 frames (results=%lld fallback=%lld retried=%lld lost=%lld), cam-01 received "
           "%zu messages\n",
           json_array_size(got), harness_summary(log, "results"), harness_summary(log, "fallback"),
           harness_summary(log, "retried"), harness_summary(log, "lost"),
           cam01 ? secure_tap_count(cam01, NULL) : 0);
    json_decref(got);
    secure_tap_free(cam01);
    if (check_failed)
        harness_dump(log);
}

/* An impostor with cam-01's id that gets past the login with cam-02's credentials: the broker
 * makes its client id cam-02 (use_username_as_clientid), so the real cam-01 keeps its session,
 * and refuses it cam-01's topics. It stops with exit 1 on the refused subscription. */
static void check_impostor(const struct secure *s, const char *name, struct secure_client *c)
{
    char log[400], line[1024];
    snprintf(log, sizeof log, "%s/impostor-%s.log", s->dir, name);
    const char *extra[] = {"--frames", "3", NULL};
    CHECK_EQ_INT(refused_exit(secure_edge(c, "cam-01", extra, log), log, name), 1);
    line_with(log, "ERROR", line, sizeof line);
    CHECK(strstr(line, "cannot subscribe to pipeline/results/cam-01") != NULL);
    CHECK(strstr(line, "Not authorized") != NULL);
    printf("impostor, %s: %s\n", name, line);
}

/* The real cam-01 runs (client certificate) while other clients try its id: with a wrong
 * password, anonymously, with cam-02's password and with cam-02's certificate. It runs on. */
static void check_impostors(const struct secure *s, struct secure_tap *viewer)
{
    char log[400], wrong[400];
    struct secure_client real, c;
    snprintf(log, sizeof log, "%s/edge-cam-01-real.log", s->dir);
    snprintf(wrong, sizeof wrong, "%s/wrong.pass", s->dir);
    secure_client_init(s, &real, "cam-01", SECURE_CERT);
    const char *extra[] = {"--frames", "300", "--rate", "100", NULL};
    size_t before = secure_tap_count(viewer, "cam-01");
    pid_t edge = secure_edge(&real, "cam-01", extra, log);
    CHECK(secure_tap_wait(viewer, "cam-01", before + 10, 20000));
    secure_client_init(s, &c, "cam-01", SECURE_PASSWORD);
    c.password_file = wrong;
    check_refused_by_broker(s, "impostor-wrong-password", "cam-01", &c);
    secure_client_init(s, &c, "cam-01", SECURE_NONE);
    check_refused_by_broker(s, "impostor-anonymous", "cam-01", &c);
    secure_client_init(s, &c, "cam-02", SECURE_PASSWORD);
    check_impostor(s, "cam-02-password", &c);
    secure_client_init(s, &c, "cam-02", SECURE_CERT);
    check_impostor(s, "cam-02-certificate", &c);

    CHECK_EQ_INT(harness_wait(edge, 60000), 0);
    CHECK(secure_tap_wait(viewer, "cam-01", before + 300, 10000));
    json_t *got = results_since(viewer, "cam-01", before);
    size_t dups = 0, fallback = 0;
    CHECK(results_at_least_once(got, 300, &dups, &fallback));
    CHECK_EQ_INT(harness_summary(log, "lost"), 0);
    CHECK_EQ_INT(harness_summary(log, "frames"), 300);
    CHECK_EQ_INT(harness_count_lines(log, "TAKEN", NULL), 0);
    printf("the real cam-01 ran on: exit 0, %zu results for 300 frames, lost=%lld\n",
           json_array_size(got), harness_summary(log, "lost"));
    json_decref(got);
    if (check_failed)
        harness_dump(log);
}

/* add-device on the running broker: cam-03 works at once, with its password and its
 * certificate. rotate-device: its old password is refused, the new one works, and its old
 * certificate is refused once the broker reloaded the revocation list (the script signals it). */
static void check_add_and_rotate(const struct secure *s, struct secure_tap *viewer)
{
    struct secure_client c;
    char old[400], log[400];
    CHECK_EQ_INT(
        secure_sh(s, "%s/scripts/secure-setup.sh %s add-device cam-03", ES_SOURCE_DIR, s->setup),
        0);
    secure_client_init(s, &c, "cam-03", SECURE_PASSWORD);
    check_delivery(s, viewer, "cam-03", &c, 20, "added-password");
    secure_client_init(s, &c, "cam-03", SECURE_CERT);
    check_delivery(s, viewer, "cam-03", &c, 20, "added-certificate");

    CHECK_EQ_INT(secure_sh(s,
                           "cd %s && cp cam-03.pass %s/old.pass && cp cam-03.crt %s/old.crt && "
                           "cp cam-03.key %s/old.key && %s/scripts/secure-setup.sh %s "
                           "rotate-device cam-03",
                           s->setup, s->dir, s->dir, s->dir, ES_SOURCE_DIR, s->setup),
                 0);
    secure_client_init(s, &c, "cam-03", SECURE_PASSWORD);
    snprintf(old, sizeof old, "%s/old.pass", s->dir);
    c.password_file = old;
    check_refused_by_broker(s, "old-password", "cam-03", &c);
    secure_client_init(s, &c, "cam-03", SECURE_CERT);
    snprintf(c.cert, sizeof c.cert, "%s/old.crt", s->dir);
    snprintf(c.key, sizeof c.key, "%s/old.key", s->dir);
    const char *revoked[] = {"TLS:", "certificate revoked", NULL};
    check_refused(s, "old-certificate", "cam-03", &c, revoked, log, sizeof log);
    secure_client_init(s, &c, "cam-03", SECURE_PASSWORD);
    check_delivery(s, viewer, "cam-03", &c, 20, "rotated-password");
    secure_client_init(s, &c, "cam-03", SECURE_CERT);
    check_delivery(s, viewer, "cam-03", &c, 20, "rotated-certificate");
}

/* The value after "name " in the worker's last WORKER-STATS line; -1 if none. */
static long long worker_stat(const char *log, const char *name)
{
    char line[1024], want[64];
    snprintf(want, sizeof want, " %s ", name);
    line_with(log, "WORKER-STATS", line, sizeof line);
    const char *p = strstr(line, want);
    return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

static void run(const struct secure *s, struct secure_tap *viewer, const char *worker_log)
{
    struct secure_client c;
    secure_client_init(s, &c, "cam-01", SECURE_PASSWORD);
    check_delivery(s, viewer, "cam-01", &c, FRAMES, "password");
    secure_client_init(s, &c, "cam-02", SECURE_CERT);
    check_delivery(s, viewer, "cam-02", &c, FRAMES, "certificate");
    CHECK(make_bad_certificates(s));
    check_refusals(s);
    check_host_name(s);
    check_replay(s, viewer, worker_log);
    check_plans(s);
    check_share_group(s, viewer);
    check_impostors(s, viewer);
    check_add_and_rotate(s, viewer);
}

int main(void)
{
    struct secure s;
    char worker_log[400];
    if (secure_make(&s, "secure", "cam-01,cam-02", "w-1",
                    "--viewers viewer --planners planner-1") != ES_OK) {
        fprintf(stderr, "scripts/secure-setup.sh failed\n");
        return 1;
    }
    if (secure_broker_start(&s) != ES_OK)
        return 1;
    snprintf(worker_log, sizeof worker_log, "%s/w-1.log", s.dir);
    pid_t worker = secure_worker(&s, "w-1");
    struct secure_tap *viewer =
        secure_tap_start(&s, "viewer", SECURE_PASSWORD, "pipeline/results/#");
    CHECK(worker > 0 && viewer != NULL);
    if (worker > 0 && viewer)
        run(&s, viewer, worker_log);
    secure_tap_free(viewer);
    if (worker > 0) {
        CHECK_EQ_INT(harness_stop(worker, 10000), 0);
        CHECK_EQ_INT(worker_stat(worker_log, "forged"), 1);
    }
    if (check_failed)
        harness_dump(worker_log);
    broker_stop(&s.b, check_failed > 0);
    if (!check_failed) /* the logs stay for a failed run; the test CA's keys go with a good one */
        secure_sh(&s, "rm -rf %s", s.dir);
    return check_exit();
}

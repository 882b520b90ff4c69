/* Integration: applications from plugins.
 * - Broken plugins (wrong ABI, no symbol, an undefined symbol, invalid tables, a name taken) are
 *   refused by both programs with one line and exit status 2.
 * - The example plugin, built out of tree with pkg-config against an installed tree
 *   (tests/integration/install_example.sh), run by the installed programs: device-only and at
 *   every split with a cloud-worker that loads it too, on a real broker, give equal results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define FRAMES 120
#define THERMAL_STAGES 4

struct broken {
    const char *kind;
    const char *says; /* part of the one line expected */
};

static const struct broken broken_plugins[] = {
    {"abi", "plugin ABI 2"},
    {"nosym", "exports no edgesplit_plugin symbol"},
    {"undef", "es_function_that_does_not_exist"},
    {"nostages", "invalid application table: 0 stages"},
    {"mask", "beyond its 1 fields"},
    {"name", "no valid name"},
    {"reads", "no earlier stage writes"},
    {"clash", "'ball' is already known"},
};

/* Runs argv (the program exits by itself) and checks exit status 2 and one stderr line holding
 * says. */
static void expect_refused(const char *const argv[], const char *says, const char *dir,
                           const char *tag)
{
    char err[600];
    snprintf(err, sizeof err, "%s/refused-%s.err", dir, tag);
    pid_t pid = harness_spawn(argv, NULL, err);
    int rc = harness_wait(pid, 20000);
    int lines = 0;
    int hits = harness_count_lines(err, says, &lines);
    if (rc != 2 || hits != 1 || lines != 1) {
        fprintf(stderr, "%s %s: exit %d, %d lines, expected one saying '%s'\n", argv[0], tag, rc,
                lines, says);
        harness_dump(err);
    }
    CHECK_EQ_INT(rc, 2);
    CHECK_EQ_INT(lines, 1);
    CHECK_EQ_INT(hits, 1);
}

static void check_broken(const char *dir)
{
    char path[600];
    for (size_t i = 0; i < sizeof broken_plugins / sizeof broken_plugins[0]; i++) {
        const struct broken *b = &broken_plugins[i];
        snprintf(path, sizeof path, "%s/broken_%s.so", ES_PLUGIN_DIR, b->kind);
        const char *edge[] = {"edge-agent", "--app", path, "--frames", "1", NULL};
        expect_refused(edge, b->says, dir, b->kind);
        const char *worker[] = {"cloud-worker", "--app", path, "--port", "1", NULL};
        expect_refused(worker, b->says, dir, b->kind);
    }
    const char *missing[] = {"edge-agent", "--app", "./no-such-plugin.so", NULL};
    expect_refused(missing, "no such file", dir, "missing");
    const char *not_a_file[] = {"cloud-worker", "--app", "thermal", NULL};
    expect_refused(not_a_file, "--app takes a plugin file", dir, "name");
}

/* Every seq once or more, equal to the device-only result; returns how many came from the
 * worker. */
static size_t compare(json_t *ref, json_t *got, unsigned k)
{
    size_t dups = 0, fallback = 0, by_worker = 0, i;
    json_t *r;
    CHECK(results_at_least_once(got, FRAMES, &dups, &fallback));
    json_array_foreach(got, i, r)
    {
        json_int_t seq = json_integer_value(json_object_get(r, "seq"));
        if (seq < 0 || seq >= FRAMES)
            continue;
        if (json_object_get(r, "worker"))
            by_worker++;
        json_t *a = results_strip_placement(json_array_get(ref, (size_t)seq));
        json_t *b = results_strip_placement(r);
        if (!json_equal(a, b)) {
            char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);
            fprintf(stderr, "split %u seq %lld differs:\n  local %s\n  split %s\n", k,
                    (long long)seq, sa, sb);
            free(sa);
            free(sb);
        }
        CHECK(json_equal(a, b));
        json_decref(a);
        json_decref(b);
    }
    printf("split %u: %zu results, %zu from the worker, %zu duplicates, %zu on the device\n", k,
           json_array_size(got), by_worker, dups, fallback);
    return by_worker;
}

static void check_example(const struct broker *b)
{
    char edge[600], worker[600], plugin[600], out[600], frames[16], port[16], wlog[600];
    snprintf(edge, sizeof edge, "%s/prefix/bin/edge-agent", ES_STAGE_DIR);
    snprintf(worker, sizeof worker, "%s/prefix/bin/cloud-worker", ES_STAGE_DIR);
    snprintf(plugin, sizeof plugin, "%s/example/libthermal.so", ES_STAGE_DIR);
    snprintf(out, sizeof out, "%s/thermal-local.jsonl", b->dir);
    snprintf(wlog, sizeof wlog, "%s/thermal-worker.log", b->dir);
    snprintf(frames, sizeof frames, "%d", FRAMES);
    snprintf(port, sizeof port, "%d", b->port);

    const char *local[] = {edge, "--app", plugin, "--frames", frames, "--quiet", NULL};
    CHECK_EQ_INT(harness_wait(harness_spawn(local, out, NULL), 60000), 0);
    json_t *ref = harness_read_jsonl(out);
    CHECK(ref != NULL);
    if (!ref)
        ref = json_array();
    CHECK_EQ_INT(json_array_size(ref), FRAMES);
    size_t hot = 0, i;
    json_t *r;
    json_array_foreach(ref, i, r) hot += json_is_true(json_object_get(r, "hot"));
    printf("device-only: %zu results, %zu hot\n", json_array_size(ref), hot);
    CHECK(hot > 0 && hot < FRAMES); /* both outcomes: the spot leaves the room every 50 frames */

    const char *wargv[] = {worker,        "--host", "127.0.0.1", "--port", port,
                           "--worker-id", "w-plug", "--app",     plugin,   NULL};
    pid_t w = harness_spawn(wargv, NULL, wlog);
    CHECK(harness_wait_for_text(wlog, "WORKER-READY", 10000));
    struct collector *c = collector_start(b, "collector-plugin");
    CHECK(c != NULL);
    /* The worker ran the plugin's stages at each split. A worker starved of CPU on a loaded
     * machine steps aside for a second (WORKER-BEHIND) and the edge runs every frame itself
     * meanwhile, so a split whose frames all ran on the device is tried again, twice at most. */
    for (unsigned k = 1; c && k < THERMAL_STAGES; k++) {
        size_t by_worker = 0;
        for (unsigned attempt = 0; attempt < 3 && by_worker == 0; attempt++) {
            char split[8], device[32];
            snprintf(split, sizeof split, "%u", k);
            snprintf(device, sizeof device, "therm-k%u-%u", k, attempt);
            const char *argv[] = {edge,          split,    "--app",     plugin,   "--frames",
                                  frames,        "--host", "127.0.0.1", "--port", port,
                                  "--device-id", device,   "--quiet",   NULL};
            CHECK_EQ_INT(harness_wait(harness_spawn(argv, NULL, NULL), 60000), 0);
            CHECK(collector_wait(c, device, FRAMES, 10000));
            json_t *got = collector_results(c, device);
            by_worker = compare(ref, got, k);
            json_decref(got);
        }
        CHECK(by_worker > 0);
    }
    collector_free(c);
    CHECK_EQ_INT(harness_stop(w, 10000), 0);
    CHECK_EQ_INT(harness_count_lines(wlog, "WORKER-MALFORMED", NULL), 0);
    json_decref(ref);
}

int main(void)
{
    struct broker b;
    if (broker_start(&b, "plugin") != ES_OK)
        return 1;
    check_broken(b.dir);
    check_example(&b);
    broker_stop(&b, check_failed > 0);
    return check_exit();
}

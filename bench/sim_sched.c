/* sim-sched: the split policy of automatic mode against the original tool's policy (offload one
 * stage per window while fps is below the goal, never move back), on the same simulated traces.
 *
 * The simulated device has the ball tracker's per-stage costs (us, unslowed) times a slowdown
 * factor that follows a schedule, the tracker's payload sizes per split, a link of a given
 * speed (publish cost = bytes / speed + 50 us) and optional seeded noise on every measurement.
 * Each window is 3 s. For every scenario and policy it prints: windows to reach the best split
 * after each change of conditions, changes per 100 windows, share of windows below the goal,
 * mean stages kept on the device and mean fps; and writes DIR/sim_sched_<scenario>.csv with
 * the columns time_s,policy,fps,goal,split.
 *
 * Usage: sim-sched [DIR]   (default: the current directory) */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "sim_device.h"

#define NSTAGES SIM_NSTAGES
#define WINDOW_S 3.0
#define MAX_PHASES 4
#define MAX_WINDOWS 400

struct phase {
    int first_window;
    double slowdown;
};

struct scenario {
    const char *name;
    double goal;
    double link;  /* bytes/s the uplink carries */
    double cap;   /* the cap the policy is told about; 0 = unknown */
    double noise; /* relative amplitude of the measurement noise */
    int nwindows;
    struct phase phases[MAX_PHASES];
    int nphases;
};

static const struct scenario scenarios[] = {
    {"slowdown", 22, 1e8, 0, 0, 100, {{0, 1}, {20, 20}, {70, 1}}, 3},
    {"uplink", 20, 2e6, 2e6, 0, 100, {{0, 1}, {20, 20}, {70, 1}}, 3},
    {"noise", 22, 1e8, 0, 0.10, 200, {{0, 1}, {40, 20}, {140, 1}}, 3},
    {"marginal", 18, 1e8, 0, 0.10, 200, {{0, 20}}, 1}, /* the goal 3% under split 6's fps */
};

struct result {
    int converge[MAX_PHASES]; /* windows to reach the best split; -1 = never */
    int changes;
    int below;
    double split_sum, fps_sum;
};

/* Whether split k is as good as it gets: the largest split meeting the goal, or when none
 * does, within 3% of the fastest. */
static bool is_best(const struct sim_device *d, double goal, unsigned k)
{
    unsigned best = 0, fastest = 1;
    for (unsigned j = 1; j < NSTAGES; j++) {
        if (sim_true_fps(d, j) >= goal)
            best = j;
        if (sim_true_fps(d, j) > sim_true_fps(d, fastest))
            fastest = j;
    }
    return best ? k == best : sim_true_fps(d, k) >= 0.97 * sim_true_fps(d, fastest);
}

static int phase_of(const struct scenario *sc, int win)
{
    int p = 0;
    while (p + 1 < sc->nphases && win >= sc->phases[p + 1].first_window)
        p++;
    return p;
}

/* The original tool's policy. */
static unsigned original_update(unsigned split, const struct sched_window *w, double goal)
{
    return w->fps < goal && split > 1 ? split - 1 : split;
}

/* Windows from the start of each phase until the split is the best one and stays so to the
 * end of the phase. */
static void convergence(const struct scenario *sc, const bool *best, struct result *r)
{
    for (int p = 0; p < sc->nphases; p++) {
        int from = sc->phases[p].first_window;
        int to = p + 1 < sc->nphases ? sc->phases[p + 1].first_window : sc->nwindows;
        int at = to;
        while (at > from && best[at - 1])
            at--;
        r->converge[p] = at == to ? -1 : at - from;
    }
}

static int run(const struct scenario *sc, bool ours, FILE *csv, struct result *r)
{
    struct sched_config cfg = {.nstages = NSTAGES,
                               .goal_fps = sc->goal,
                               .start_split = NSTAGES - 1,
                               .uplink_bytes_per_s = sc->cap};
    struct sched *s = ours ? sched_new(&cfg) : NULL;
    if (ours && !s)
        return -1;
    struct sim_device d = {.link = sc->link, .noise = sc->noise, .rng = 1};
    bool best[MAX_WINDOWS];
    unsigned k = cfg.start_split;
    memset(r, 0, sizeof *r);
    for (int win = 0; win < sc->nwindows; win++) {
        d.slowdown = sc->phases[phase_of(sc, win)].slowdown;
        struct sched_window w;
        sim_measure(&d, k, (int64_t)((win + 1) * WINDOW_S * 1e6), WINDOW_S, &w);
        best[win] = is_best(&d, sc->goal, k);
        fprintf(csv, "%.0f,%s,%.2f,%g,%u\n", (win + 1) * WINDOW_S, ours ? "ours" : "original",
                w.fps, sc->goal, k);
        r->below += w.fps < sc->goal;
        r->split_sum += k;
        r->fps_sum += w.fps;
        unsigned next = ours ? sched_update(s, &w, NULL, 0) : original_update(k, &w, sc->goal);
        r->changes += next != k;
        k = next;
    }
    sched_free(s);
    convergence(sc, best, r);
    return 0;
}

static void print_result(const struct scenario *sc, const char *policy, const struct result *r)
{
    char conv[64] = "", *p = conv;
    for (int i = 0; i < sc->nphases; i++) {
        size_t left = sizeof conv - (size_t)(p - conv);
        int n = r->converge[i] < 0 ? snprintf(p, left, "%s never", i ? "," : "")
                                   : snprintf(p, left, "%s %d", i ? "," : "", r->converge[i]);
        p += n > 0 && (size_t)n < left ? n : 0;
    }
    double n = sc->nwindows;
    printf("%-9s %-9s %-22s %12.1f %12.1f %12.2f %9.1f\n", sc->name, policy, conv,
           100.0 * r->changes / n, 100.0 * r->below / n, r->split_sum / n, r->fps_sum / n);
}

static int run_scenario(const struct scenario *sc, const char *dir)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/sim_sched_%s.csv", dir, sc->name);
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(stderr, "sim-sched: output directory name too long: %s\n", dir);
        return 1;
    }
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "sim-sched: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(csv, "time_s,policy,fps,goal,split\n");
    struct result ours, orig;
    int rc = run(sc, true, csv, &ours) || run(sc, false, csv, &orig);
    if (fclose(csv) != 0 || rc) {
        fprintf(stderr, "sim-sched: scenario %s failed (%s)\n", sc->name, path);
        return 1;
    }
    print_result(sc, "ours", &ours);
    print_result(sc, "original", &orig);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(argc > 2 ? stderr : stdout, "usage: sim-sched [DIR]\n");
        return argc > 2 ? 2 : 0;
    }
    const char *dir = argc == 2 ? argv[1] : ".";
    printf("%-9s %-9s %-22s %12s %12s %12s %9s\n", "scenario", "policy", "converge (win/phase)",
           "changes/100w", "below goal %", "mean split", "mean fps");
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (run_scenario(&scenarios[i], dir) != 0)
            return 1;
    return 0;
}

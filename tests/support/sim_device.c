#include "sim_device.h"

#include <math.h>
#include <string.h>

const double sim_base_us[SIM_NSTAGES] = {1740, 785, 134, 20, 7, 1, 4};
const double sim_payload_at[SIM_NSTAGES] = {0, 421500, 421500, 300, 800, 60, 60};

double sim_jitter(struct sim_device *d)
{
    if (d->noise == 0)
        return 1;
    d->rng = d->rng * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(d->rng >> 11) / 9007199254740992.0; /* [0, 1) */
    return 1 + d->noise * (2 * u - 1);
}

double sim_publish_cost(const struct sim_device *d, unsigned k)
{
    return sim_payload_at[k] / d->link * 1e6 + 50;
}

double sim_true_fps(const struct sim_device *d, unsigned k)
{
    double rest = sim_publish_cost(d, k);
    for (unsigned i = 1; i < k; i++)
        rest += d->slowdown * sim_base_us[i];
    if (k == SIM_NSTAGES - 1)
        rest += d->hidden_us;
    double first = d->slowdown * sim_base_us[0];
    return 1e6 / (sched_frame_us(d->pool, d->pool ? 2 : 1, first, rest) + 100);
}

void sim_measure(struct sim_device *d, unsigned k, int64_t now_us, double window_s,
                 struct sched_window *w)
{
    memset(w, 0, sizeof *w);
    w->now_us = now_us;
    w->window_s = window_s;
    w->split = k;
    w->full = true;
    double fps = sim_true_fps(d, k);
    w->fps = fps * sim_jitter(d);
    double delivered = d->cloud_cap > 0 && d->cloud_cap < fps ? d->cloud_cap : fps;
    w->delivered_fps = delivered * sim_jitter(d);
    w->nstage_us = k;
    for (unsigned i = 0; i < SIM_NSTAGES; i++) {
        if (i < k)
            w->stage_us[i] = d->slowdown * sim_base_us[i] * sim_jitter(d);
        else
            w->cloud_stage_us[i] = sim_base_us[i] * sim_jitter(d);
    }
    w->bytes_per_frame = sim_payload_at[k] * sim_jitter(d);
    w->publish_us = sim_publish_cost(d, k) * sim_jitter(d);
    w->other_us = 100 * sim_jitter(d);
}

/* The worker's CPU meter: what each frame costs the cloud, and how much the worker can serve.
 *
 * A frame's cloud CPU (the "cloud_cpu_us" of its result) is thread CPU time: what its processing
 * thread spent on it (checks, decode, the stages, and encoding and publishing its result, the
 * last two as that thread's running mean, since the result carries the figure), plus its share
 * of what the bus's threads spent receiving and sending (their CPU over the last period divided
 * by the frames received in it: a batch counts as its frames). Under an emulated slowdown F
 * (--slowdown) the stages' CPU counts F times, as on a machine F times slower; the worker sleeps
 * for the difference.
 *
 * Once a period the meter tells the worker's load: the CPU-seconds per second its processing
 * threads can serve (capacity_cpu_s: the threads, times the share of their busy time they really
 * got a core, so that a worker starved by other processes on a shared machine states less than
 * its threads), what they used, the share of the time they were busy, and whether the worker is
 * saturated (busy at least 90% of the time; it stays saturated until busy drops below 75%).
 *
 * Thread-safe: frames are metered on the processing threads, periods on one other thread. No
 * clock is read here: the caller passes every time in, so the module is tested without one. */
#ifndef ES_METER_H
#define ES_METER_H

#include <stdbool.h>
#include <stdint.h>

struct meter_config {
    unsigned threads; /* processing threads, >= 1 */
    double slowdown;  /* emulated slowdown factor, >= 1 (0 counts as 1) */
};

/* The load over one period. */
struct meter_load {
    double window_s;         /* length of the period */
    double capacity_cpu_s;   /* CPU-seconds per second the processing threads can serve */
    double used_cpu_s;       /* CPU-seconds per second they used (with the emulated) */
    double busy;             /* share of the period they were busy, 0..1 */
    double cpu_s_per_s;      /* the whole worker's CPU per second but the caller's: the bill */
    double overhead_us;      /* the bus threads' CPU per frame received */
    double cpu_us_per_frame; /* mean cloud CPU of a frame finished in the period; 0 if none */
    uint64_t frames;         /* frames finished in the period */
    bool saturated;
};

struct meter;

/* A new meter, or NULL when cfg is invalid or memory runs out. Free with meter_free (accepts
 * NULL). */
struct meter *meter_new(const struct meter_config *cfg);
void meter_free(struct meter *m);

/* The cloud CPU of a frame, in microseconds, for its result: own_cpu_us (what its processing
 * thread spent on it so far), of which stage_cpu_us in the stages, plus tail_us (the thread's
 * usual cost of encoding and publishing a result) and the bus threads' share per message. */
int64_t meter_frame_cost(const struct meter *m, int64_t own_cpu_us, int64_t stage_cpu_us,
                         double tail_us);

/* After a frame (a message, or one frame of a batch): its processing thread's CPU for all of it,
 * the stages' part of that, and the wall time the thread was taken by it (with an emulated
 * slowdown's sleep). A frame that was dropped counts too, with stage_cpu_us 0; frame tells
 * whether it gave a result. */
void meter_frame_done(struct meter *m, int64_t thread_cpu_us, int64_t stage_cpu_us, int64_t busy_us,
                      bool frame);

/* Ends a period at now_us (monotonic): process_cpu_us and caller_cpu_us are the process's and
 * the calling thread's CPU times now, received the number of frames the bus has taken so far.
 * Fills *out. The first call only starts the first period (*out is zeroed but for capacity,
 * which is then the threads). */
void meter_period(struct meter *m, int64_t now_us, int64_t process_cpu_us, int64_t caller_cpu_us,
                  uint64_t received, struct meter_load *out);

#endif

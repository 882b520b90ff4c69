/* Time in microseconds. clock_mono_us() is for measuring durations; clock_wall_us() is the
 * Unix-epoch time that goes into messages (captured_us, completed_us). */
#ifndef ES_CLOCK_H
#define ES_CLOCK_H

#include <stdint.h>

int64_t clock_mono_us(void);
int64_t clock_wall_us(void);

/* CPU time the calling thread has used, in microseconds. */
int64_t clock_thread_cpu_us(void);

/* CPU time the whole process (every thread) has used, in microseconds. */
int64_t clock_process_cpu_us(void);

/* Sleeps for us microseconds (returns early only if us <= 0). */
void clock_sleep_us(int64_t us);

/* Busy-waits for us microseconds: used to emulate a slower CPU, so it must burn CPU. */
void clock_spin_us(int64_t us);

#endif

/* A small application without OpenCV: statistics over a window of synthetic sensor samples.
 * It shows how to write an application: declare fields, write stages, fill the table.
 *
 *   0 read_sensor     synthesize SENSOR_WINDOW accelerometer magnitudes (in g) for frame seq
 *   1 remove_offset   subtract the window's mean
 *   2 compute_stats   mean, rms, peak and zero crossings of the window
 *   3 detect_event    flag a spike (peak/rms above a threshold); a flat window ends the frame
 *   4 publish_result  {"event":true|false,"mean":..,"rms":..,"peak":..,"crossings":..}
 *
 * The samples depend only on the frame's seq, so every run, and every split, computes the same
 * results. Frame seq carries a spike when seq % SENSOR_SPIKE_PERIOD == SENSOR_SPIKE_PHASE and
 * reads flat (a stuck sensor) when seq % SENSOR_FLAT_PERIOD == SENSOR_FLAT_PERIOD - 1. */
#ifndef ES_SENSOR_H
#define ES_SENSOR_H

#include "../app.h"

enum sensor_field {
    SENSOR_RAW = 0,      /* FIELD_NUMBERS: SENSOR_WINDOW samples as read */
    SENSOR_CENTERED = 1, /* FIELD_NUMBERS: the samples minus their mean */
    SENSOR_STATS = 2,    /* FIELD_NUMBERS: see enum sensor_stat */
    SENSOR_EVENT = 3,    /* FIELD_NUMBERS: see enum sensor_event */
    SENSOR_NFIELDS
};

/* Indexes into the SENSOR_STATS numbers. */
enum sensor_stat {
    STAT_MEAN = 0,  /* mean of the raw samples, g */
    STAT_RMS,       /* root mean square of the centered samples, g */
    STAT_PEAK,      /* largest absolute centered sample, g */
    STAT_CROSSINGS, /* sign changes between consecutive centered samples */
    STAT_NUMBERS
};

/* Indexes into the SENSOR_EVENT numbers. */
enum sensor_event {
    EVENT_DETECTED = 0, /* 1 or 0 */
    EVENT_CREST,        /* peak / rms */
    EVENT_NUMBERS
};

#define SENSOR_WINDOW 32
#define SENSOR_SPIKE_PERIOD 50
#define SENSOR_SPIKE_PHASE 25
#define SENSOR_FLAT_PERIOD 40

extern const struct app sensor_app;

#endif

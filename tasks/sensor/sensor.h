/* A small application without OpenCV: statistics over a window of synthetic sensor samples.
 * It shows how to write an application: declare fields, write stages, fill the table. */
#ifndef ES_SENSOR_H
#define ES_SENSOR_H

#include "../app.h"

extern const struct app sensor_app;

#endif

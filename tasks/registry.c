#include "app.h"

#include <string.h>

#include "ball/ball.h"
#include "sensor/sensor.h"

static const struct app *const builtin_apps[] = {&ball_app, &sensor_app, NULL};

const struct app *const *app_all(void)
{
    return builtin_apps;
}

const struct app *app_find(const char *name)
{
    for (const struct app *const *a = builtin_apps; *a; a++)
        if (strcmp((*a)->name, name) == 0)
            return *a;
    return NULL;
}

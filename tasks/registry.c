/* The table of applications: the built-in ones, then plugins loaded with app_open. */
#define _DEFAULT_SOURCE /* realpath */
#include "registry.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ball/ball.h"
#include "sensor/sensor.h"

#define BUILTIN_APPS 2

static const struct app *apps[APP_MAX + 1] = {&ball_app, &sensor_app};
static unsigned napps = BUILTIN_APPS;
/* The file each plugin came from (realpath), to load a file once. */
static char *plugin_paths[APP_MAX];

const struct app *const *app_all(void)
{
    return apps;
}

const struct app *app_find(const char *name)
{
    for (unsigned i = 0; i < napps; i++)
        if (strcmp(apps[i]->name, name) == 0)
            return apps[i];
    return NULL;
}

bool app_spec_is_path(const char *spec)
{
    size_t n = strlen(spec);
    return strchr(spec, '/') || (n > 3 && strcmp(spec + n - 3, ".so") == 0);
}

/* dlerror() without the trailing newline some loaders add; never NULL. */
static const char *dl_why(void)
{
    const char *e = dlerror();
    return e ? e : "unknown error";
}

/* Loads, checks and adds the plugin at path. */
static enum es_err load(const char *path, const struct app **out, char *why, size_t n)
{
    char *real = realpath(path, NULL);
    if (!real) {
        snprintf(why, n, "cannot load plugin %s: no such file", path);
        return ES_EAPP;
    }
    for (unsigned i = BUILTIN_APPS; i < napps; i++)
        if (strcmp(plugin_paths[i - BUILTIN_APPS], real) == 0) {
            free(real);
            *out = apps[i];
            return ES_OK;
        }
    if (napps >= APP_MAX) {
        free(real);
        snprintf(why, n, "cannot load plugin %s: at most %d applications", path, APP_MAX);
        return ES_EFULL;
    }
    /* RTLD_NOW: an undefined symbol is found now, not as a crash in the middle of a frame. */
    void *lib = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, n, "cannot load plugin %s: %s", path, dl_why());
        free(real);
        return ES_EAPP;
    }
    const struct es_plugin *p = dlsym(lib, ES_PLUGIN_SYMBOL);
    char bad[200] = "";
    if (!p)
        snprintf(why, n, "%s is not an edgesplit plugin: it exports no %s symbol", path,
                 ES_PLUGIN_SYMBOL);
    else if (p->abi != ES_PLUGIN_ABI || p->app_size != sizeof(struct app))
        snprintf(why, n,
                 "%s was built for plugin ABI %u (table of %u bytes); this program takes ABI %u "
                 "(%zu bytes): rebuild it against this version's headers",
                 path, p->abi, p->app_size, ES_PLUGIN_ABI, sizeof(struct app));
    else if (!app_check(p->app, bad, sizeof bad))
        snprintf(why, n, "%s has an invalid application table: %s", path, bad);
    else if (app_find(p->app->name))
        snprintf(why, n, "%s: an application named '%s' is already known", path, p->app->name);
    else {
        plugin_paths[napps - BUILTIN_APPS] = real;
        apps[napps++] = p->app;
        *out = p->app;
        return ES_OK; /* never unloaded: its stages run until the program ends */
    }
    dlclose(lib);
    free(real);
    return ES_EAPP;
}

enum es_err app_open(const char *spec, const struct app **out, char *why, size_t n)
{
    *out = NULL;
    if (app_spec_is_path(spec))
        return load(spec, out, why, n);
    if ((*out = app_find(spec)) != NULL)
        return ES_OK;
    snprintf(why, n,
             "unknown application '%s' (built in: ball, sensor; a plugin is a path to a .so)",
             spec);
    return ES_EAPP;
}

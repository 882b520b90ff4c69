/* The programs' table of applications: the built-in ones and those loaded from plugins. Not part
 * of the public task interface (app.h): a plugin never looks other applications up. */
#ifndef ES_REGISTRY_H
#define ES_REGISTRY_H

#include <stddef.h>

#include "app.h"

/* Applications known at once at most: the built-in ones and the plugins loaded. */
#define APP_MAX 8

/* Looks an application up by name among the built-in and loaded ones; NULL if none. */
const struct app *app_find(const char *name);

/* The known applications, NULL-terminated: the built-in ones first, then plugins in load order. */
const struct app *const *app_all(void);

/* True when spec names a plugin file rather than a built-in application: it contains a '/' or
 * ends in ".so". */
bool app_spec_is_path(const char *spec);

/* Resolves an --app argument: a built-in name, or a plugin file (app_spec_is_path), which is
 * loaded (dlopen), checked (its ABI, its symbol, its table: app_check) and added to the table
 * once; loading the same file again returns the same application. On failure returns ES_EAPP
 * (ES_EFULL: too many applications) and writes one line into why (n bytes) naming the file and
 * the fault; nothing is added then. Not thread-safe: call it while parsing options. */
enum es_err app_open(const char *spec, const struct app **out, char *why, size_t n);

#endif

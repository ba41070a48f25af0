/*
 * meta.h — host metadata recorded in a new run's RUN record.
 */
#ifndef WB_META_H
#define WB_META_H

#include <cjson/cJSON.h>

#include "wire.h"

/*
 * A new JSON object describing this process and host: hostname, pid, user,
 * cwd, executable, argv (from /proc/self/cmdline), os (uname), cpu
 * {model, count}, memory_total (bytes), compiler (of libwb), env (the
 * allow-listed environment), libwb version, start time (unix s). Anything unreadable is left out. The
 * caller owns the object. NULL only when out of memory.
 */
WB__HIDDEN cJSON *wb__meta_collect(double start_time);

/* Is the environment variable name[0..len) recorded? Only names on the
 * allow-list in meta.c, and never one containing KEY, TOKEN, SECRET,
 * PASSWORD, PASS, CREDENTIAL or AUTH (any case). */
WB__HIDDEN int wb__env_allowed(const char *name, size_t len);

/* A malloc'd copy of an environment value with URL credentials stripped, or NULL (ENOMEM). */
WB__HIDDEN char *wb__env_value_clean(const char *value);

/* Copy the value of the first "key : value" line of a /proc-style file
 * into out: 1, or 0 when the file or the key is missing. */
WB__HIDDEN int wb__proc_field(const char *path, const char *key, char *out, size_t cap);

/* The login user name (getpwuid, else $USER/$LOGNAME), or NULL. Static or
 * environment storage: do not free. */
WB__HIDDEN const char *wb__meta_user(void);

#endif /* WB_META_H */

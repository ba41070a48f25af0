/*
 * meta.h — host metadata recorded in a new run's RUN record.
 */
#ifndef WB_META_H
#define WB_META_H

#include <cjson/cJSON.h>

#include "wire.h"

/*
 * A new JSON object describing this process and host: hostname, pid, user,
 * cwd, executable, argv (from /proc/self/cmdline, through wb__arg_clean), os (uname), cpu
 * {model, count}, memory_total (bytes), compiler (of libwb), env (the
 * allow-listed environment), libwb version, start time (unix s). Anything unreadable is left out. The
 * caller owns the object. NULL only when out of memory.
 */
WB__HIDDEN cJSON *wb__meta_collect(double start_time);

/* Does name[0..len) look like the name of a secret: does it contain KEY,
 * TOKEN, SECRET, PASSWORD, PASS, CREDENTIAL or AUTH (any case)? */
WB__HIDDEN int wb__secret_name(const char *name, size_t len);

/* Is the environment variable name[0..len) recorded? Only names on the
 * allow-list in meta.c, and never one that wb__secret_name flags. */
WB__HIDDEN int wb__env_allowed(const char *name, size_t len);

/*
 * A malloc'd copy of s with its secrets replaced by "[redacted]": the
 * userinfo of every scheme://user:pw@host URL, and the value of every
 * name=value whose name wb__secret_name flags — the whole rest of s when
 * s is "[-+]*name=value" (a flag or an override), else up to the next
 * '&', '#', ';' or space (a query parameter). NULL only when out of memory.
 */
WB__HIDDEN char *wb__secret_clean(const char *s);

/* Argument i of argv as recorded: "[redacted]" when argv[i - 1] is a flag
 * without '=' whose name wb__secret_name flags ("--api-key VALUE") and
 * argv[i] is not a long option itself, else wb__secret_clean(argv[i]).
 * malloc'd; NULL only when out of memory. */
WB__HIDDEN char *wb__arg_clean(const char *const *argv, size_t i);

/* An environment value as recorded: wb__secret_clean(value). */
WB__HIDDEN char *wb__env_value_clean(const char *value);

/* Copy the value of the first "key : value" line of a /proc-style file
 * into out: 1, or 0 when the file or the key is missing. */
WB__HIDDEN int wb__proc_field(const char *path, const char *key, char *out, size_t cap);

/* The login user name (getpwuid, else $USER/$LOGNAME), or NULL. Static or
 * environment storage: do not free. */
WB__HIDDEN const char *wb__meta_user(void);

#endif /* WB_META_H */

/*
 * meta.h — host metadata recorded in a new run's RUN record.
 */
#ifndef WB_META_H
#define WB_META_H

#include <cjson/cJSON.h>

#include "wire.h"

/*
 * A new JSON object describing this process and host: hostname, pid, user,
 * cwd, executable, argv (from /proc/self/cmdline), os (uname), libwb
 * version, start time (unix s). Anything unreadable is left out. The
 * caller owns the object. NULL only when out of memory.
 */
WB__HIDDEN cJSON *wb__meta_collect(double start_time);

/* The login user name (getpwuid, else $USER/$LOGNAME), or NULL. Static or
 * environment storage: do not free. */
WB__HIDDEN const char *wb__meta_user(void);

#endif /* WB_META_H */

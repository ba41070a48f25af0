/*
 * error.h — error codes to text, and the per-thread detailed message.
 */
#ifndef WB_ERROR_H
#define WB_ERROR_H

#include "wire.h"

/* Longest detailed message kept (longer ones are cut). */
#define WB__ERRMSG_MAX 512

/*
 * Set the calling thread's detailed message (printf format, one lowercase
 * line, never an API key) and return code, so callers write
 * `return wb__error(WB_EINVAL, "...")`.
 */
WB__HIDDEN int wb__error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the calling thread's message verbatim (for messages carried across
 * threads) and return code. */
WB__HIDDEN int wb__error_set(int code, const char *msg);

/* Print one line "wb: <message>" to stderr. */
WB__HIDDEN void wb__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* WB_ERROR_H */

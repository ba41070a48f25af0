/*
 * util.h — thin system glue shared by the SDK's modules.
 *
 * Every module of libwb needs the same few things from POSIX: a monotonic
 * clock for deadlines, condition variables that wait on that clock (so a
 * wall-clock jump can neither shorten nor stretch a bounded wait), threads
 * that do not steal the trainer's signals, and small files written
 * atomically. Each is written once here, with its errors translated into
 * wb_error codes in this one place, so the modules above read as policy.
 *
 * Times are int64 milliseconds on CLOCK_MONOTONIC ("mono ms") unless the
 * name says wall.
 */
#ifndef WB_UTIL_H
#define WB_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wire.h"

/* Milliseconds on CLOCK_MONOTONIC. */
static inline int64_t wb__mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wall-clock unix seconds, with sub-second precision. */
static inline double wb__wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Initialise cv to wait on CLOCK_MONOTONIC. 0 or an errno value. */
WB__HIDDEN int wb__cond_init(pthread_cond_t *cv);

/* Wait on cv (mu held) until signalled or until the mono-ms deadline.
 * Returns 0 when woken (possibly spuriously), ETIMEDOUT when the deadline
 * passed. */
WB__HIDDEN int wb__cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

/* Start a thread with every signal blocked in it, so the trainer's signal
 * handlers keep running on the trainer's threads. WB_OK or WB_ENOMEM (with
 * errmsg naming what). */
WB__HIDDEN int wb__thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what);

/* malloc'd copy of s (NULL for NULL), or NULL on allocation failure:
 * callers must distinguish the two when s may be NULL. */
WB__HIDDEN char *wb__strdup(const char *s);

/* *out = malloc'd printf result. WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Grow *arrp (a T * variable) to hold n + more elements of size bytes, at
 * most max (wb__dynarr_reserve). WB_OK, or WB_ENOMEM with a message: "what:
 * more than max" or out of memory. */
WB__HIDDEN int wb__reserve(void *arrp, size_t *cap, size_t n, size_t more, size_t size, size_t max,
			   const char *what);

/* a + b into *out unless it overflows: 1 on overflow. */
static inline int wb__add_overflow(size_t a, size_t b, size_t *out) { return __builtin_add_overflow(a, b, out); }

/*
 * A malloc'd copy of url without credentials: the userinfo of a
 * scheme://user:secret@host/... URL is removed ("https://host/..."); any
 * other string (an scp-like "git@host:path", a path) is copied as is.
 * NULL only when out of memory.
 */
WB__HIDDEN char *wb__url_strip_credentials(const char *url);

/* mkdir -p with mode 0755 for new directories. WB_OK or WB_EIO. */
WB__HIDDEN int wb__mkdir_p(const char *path);

/*
 * Replace path with data atomically: write path.tmp-<pid>, optionally
 * fsync it, rename over path. A reader sees the old or the new content,
 * never a mix. WB_OK, WB_EIO or WB_ENOMEM.
 */
WB__HIDDEN int wb__file_write_atomic(const char *path, const void *data, size_t len, int sync);

/*
 * Read a whole small file (at most max bytes) into a malloc'd,
 * NUL-terminated buffer. WB_OK, WB_ENOTFOUND (no such file), WB_EIO
 * (unreadable or larger than max) or WB_ENOMEM.
 */
WB__HIDDEN int wb__file_read(const char *path, size_t max, char **out, size_t *len);

#endif /* WB_UTIL_H */

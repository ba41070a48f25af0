/*
 * log.h — one line per event on stderr, logfmt style:
 *
 *   2026-11-22T01:02:03.123Z level=info msg="server listening" url=http://127.0.0.1:8080
 *
 * Each line goes out in a single write(2), so lines from concurrent threads
 * never interleave. Values that come from users must go through
 * wbs__log_quote(); API keys and Authorization headers are never logged.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef WB_SERVER_LOG_H
#define WB_SERVER_LOG_H

#include <stddef.h>

enum wbs__log_level { WBS__LOG_DEBUG = 0, WBS__LOG_INFO = 1, WBS__LOG_WARN = 2, WBS__LOG_ERROR = 3 };

/* Lines below level are dropped (default WBS__LOG_INFO). Call before threads start. */
void wbs__log_set_level(int level);

/*
 * on: each line is one JSON object instead, {"ts":..,"level":..,"msg":..}
 * followed by the key=value pairs as members (numbers as numbers). Call
 * before threads start.
 */
void wbs__log_set_json(int on);

/*
 * Log msg (quoted by this function) at level, followed by " " and the
 * printf-formatted key=value pairs of fmt (NULL for none). Lines longer than
 * 4 KiB are cut.
 */
void wbs__log(int level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Quote s for a logfmt value into out[0..cap): "..." with \" \\ and control
 * bytes escaped, cut to fit. Returns out.
 */
const char *wbs__log_quote(char *out, size_t cap, const char *s);

#endif /* WB_SERVER_LOG_H */

/*
 * log.c — the server's event log (see log.h).
 *
 * Structured single lines rather than free text so that a grep or a log
 * shipper can pick out key=value pairs. The timestamp is UTC with
 * milliseconds. The whole line is formatted into a stack buffer and written
 * with one write(2): stderr is unbuffered and shared by every worker thread,
 * and one write of less than PIPE_BUF bytes is never interleaved with
 * another.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_level = WBS__LOG_INFO;

void wbs__log_set_level(int level) { log_level = level; }

static const char *level_name(int level)
{
	switch (level) {
	case WBS__LOG_DEBUG: return "debug";
	case WBS__LOG_INFO: return "info";
	case WBS__LOG_WARN: return "warn";
	default: return "error";
	}
}

const char *wbs__log_quote(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 3) {
		if (cap)
			out[0] = '\0';
		return out;
	}
	out[o++] = '"';
	for (; s && *s && o + 6 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

void wbs__log(int level, const char *msg, const char *fmt, ...)
{
	char line[LOG_LINE_MAX], qmsg[512];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	k = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
		     level_name(level), wbs__log_quote(qmsg, sizeof(qmsg), msg));
	n = k < 0 ? 0 : (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (fmt && *fmt && n < sizeof(line) - 2) {
		va_list ap;
		line[n++] = ' ';
		va_start(ap, fmt);
		k = vsnprintf(line + n, sizeof(line) - 1 - n, fmt, ap);
		va_end(ap);
		if (k > 0)
			n += (size_t)k;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	/* One write; a short write on stderr is not worth retrying. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_level = WBS__LOG_INFO;
static int log_json;

void wbs__log_set_level(int level) { log_level = level; }
void wbs__log_set_json(int on) { log_json = on; }

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

/* Append s[0..n) as a JSON string body (no quotes) to out at *o, within cap. */
static void json_esc(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*o += (size_t)snprintf(out + *o, cap - *o, "\\u%04x", c);
		} else {
			out[(*o)++] = (char)c;
		}
	}
}

/*
 * The logfmt pairs kv (key=value or key="quoted \" \\ \xNN") as JSON
 * members appended at *o: numbers stay numbers, everything else is a
 * string. Text that is not a pair is kept under "detail".
 */
static void kv_to_json(char *out, size_t cap, size_t *o, const char *kv)
{
	const char *p = kv;

	while (*p && *o + 16 < cap) {
		const char *k, *v;
		size_t kn;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		kn = (size_t)(p - k);
		out[(*o)++] = ',';
		out[(*o)++] = '"';
		if (*p != '=') {
			json_esc(out, cap, o, "detail", 6);
			out[(*o)++] = '"';
			out[(*o)++] = ':';
			out[(*o)++] = '"';
			json_esc(out, cap, o, k, kn);
			out[(*o)++] = '"';
			continue;
		}
		json_esc(out, cap, o, k, kn);
		out[(*o)++] = '"';
		out[(*o)++] = ':';
		v = ++p;
		if (*v == '"') {
			out[(*o)++] = '"';
			for (p = v + 1; *p && *p != '"' && *o + 8 < cap; p++) {
				if (*p == '\\' && p[1] == 'x' && p[2] && p[3]) {
					char hex[3] = {p[2], p[3], 0};
					*o += (size_t)snprintf(out + *o, cap - *o, "\\u00%s", hex);
					p += 3;
				} else if (*p == '\\' && p[1]) {
					p++;
					json_esc(out, cap, o, p, 1);
				} else {
					json_esc(out, cap, o, p, 1);
				}
			}
			if (*p == '"')
				p++;
			out[(*o)++] = '"';
		} else {
			char num[64], *end;
			size_t vn;
			while (*p && *p != ' ')
				p++;
			vn = (size_t)(p - v);
			snprintf(num, sizeof(num), "%.*s", (int)(vn < sizeof(num) ? vn : sizeof(num) - 1), v);
			/* Numbers as JSON numbers; long digit strings (ids) stay strings. */
			if (vn && vn <= 15 && !(num[0] == '0' && vn > 1 && num[1] != '.') && (strtod(num, &end), *end == '\0') && strspn(num, "0123456789.-+eE") == vn &&
			    (num[0] == '-' || (num[0] >= '0' && num[0] <= '9')) && num[vn - 1] >= '0' && num[vn - 1] <= '9') {
				memcpy(out + *o, v, vn);
				*o += vn;
			} else {
				out[(*o)++] = '"';
				json_esc(out, cap, o, v, vn);
				out[(*o)++] = '"';
			}
		}
	}
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
	if (log_json) {
		char kv[LOG_LINE_MAX];
		kv[0] = '\0';
		if (fmt && *fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(kv, sizeof(kv), fmt, ap);
			va_end(ap);
		}
		k = snprintf(line, sizeof(line), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":\"",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000L, level_name(level));
		n = k < 0 ? 0 : (size_t)k;
		json_esc(line, sizeof(line) - 4, &n, msg, strlen(msg));
		line[n++] = '"';
		kv_to_json(line, sizeof(line) - 4, &n, kv);
		line[n++] = '}';
		line[n++] = '\n';
		if (write(STDERR_FILENO, line, n) < 0)
			return;
		return;
	}
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

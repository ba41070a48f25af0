/*
 * error.c — wb_strerror, wb_errmsg and wb_version.
 *
 * Codes are the contract; messages are for people. A code maps to static
 * text; the detail of the last failure ("bad metric key at index 3") is
 * kept per thread, like errno, because a wb_run is shared between threads
 * and a per-handle message would be overwritten by a neighbour. The buffer
 * is a fixed _Thread_local array: setting an error never allocates, so an
 * out-of-memory error can still be described.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg[WB__ERRMSG_MAX];

const char *wb_strerror(int code)
{
	switch (code) {
	case WB_OK: return "ok";
	case WB_EINVAL: return "invalid argument";
	case WB_ENOMEM: return "out of memory";
	case WB_EIO: return "run log i/o error";
	case WB_ENET: return "network error";
	case WB_EAUTH: return "the server refused the api key";
	case WB_ESERVER: return "the server answered with an error";
	case WB_EFULL: return "buffer full: record dropped";
	case WB_ENOTFOUND: return "not found";
	case WB_ETYPE: return "value has another type";
	case WB_ESTATE: return "not valid in the run's state";
	case WB_ETIMEOUT: return "timed out";
	case WB_ECORRUPT: return "corrupt run log or message";
	case WB_ERANGE: return "buffer too small";
	default: return "unknown error";
	}
}

const char *wb_errmsg(void)
{
	return errmsg;
}

const char *wb_version(void)
{
	return WB_VERSION;
}

int wb__error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof errmsg, fmt, ap);
	va_end(ap);
	return code;
}

int wb__error_set(int code, const char *msg)
{
	snprintf(errmsg, sizeof errmsg, "%s", msg ? msg : "");
	return code;
}

void wb__warn(const char *fmt, ...)
{
	char line[WB__ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One fprintf call, so lines from several threads do not interleave. */
	fprintf(stderr, "wb: %s\n", line);
}

/*
 * request.c — what every handler uses to read a request and answer it:
 * JSON and error answers (each logged with the request id), query
 * parameters, and request bodies read within the server's limits (size,
 * inflation, the shared body budget, a minimum rate after a grace period).
 */
#include "http/server_int.h"

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "util/log.h"
#include "wire.h"

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- responses ---- */

/* 1 when the request declared a body that was not read to its end. */
int wbs__body_unread(const wbs__req *q)
{
	long long cl = q->ri->content_length;
	if (cl > 0)
		return q->body_got < cl;
	return cl < 0 && mg_get_header(q->conn, "Transfer-Encoding") != NULL;
}

/*
 * The socket of q's connection, or -1. civetweb 1.15 has no call that
 * gives it, so it is found by what civetweb does give: the client's
 * address and port and the server's port. Among the sockets open at this
 * moment only one has that address pair, and it stays ours (and open)
 * while this worker holds the connection, so a match cannot be another
 * connection's socket. Used only on the refusal path (wbs__body_drain):
 * one getsockname/getpeername per open descriptor.
 */
static int conn_socket(const wbs__req *q)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		struct sockaddr_storage peer, self;
		socklen_t plen = sizeof(peer), slen = sizeof(self);
		char host[NI_MAXHOST], port[NI_MAXSERV], want[16];
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd < 0 || fd == dirfd(d))
			continue;
		if (getpeername((int)fd, (struct sockaddr *)&peer, &plen) != 0 ||
		    (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) ||
		    getsockname((int)fd, (struct sockaddr *)&self, &slen) != 0 || self.ss_family != peer.ss_family)
			continue;
		if (ntohs(self.ss_family == AF_INET ? ((struct sockaddr_in *)&self)->sin_port
						    : ((struct sockaddr_in6 *)&self)->sin6_port) != q->ri->server_port)
			continue;
		/* the client's address as civetweb wrote it (getnameinfo, numeric) */
		if (getnameinfo((struct sockaddr *)&peer, plen, host, sizeof(host), port, sizeof(port),
				NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			continue;
		snprintf(want, sizeof(want), "%d", q->ri->remote_port);
		if (strcmp(port, want) == 0 && strcmp(host, q->ri->remote_addr) == 0)
			found = (int)fd;
	}
	closedir(d);
	return found;
}

/*
 * Before a connection whose body was not read to its end is closed: read
 * and drop what the client has sent of it, for at most DRAIN_S in all and
 * DRAIN_MAX bytes. Linux answers a close() with unread data by a reset,
 * and a client still sending then loses the answer it had already
 * received (curl reported "connection reset" instead of our 413).
 *
 * Every wait is a poll() of the socket for what is left of DRAIN_S, and
 * bytes are taken with a non-blocking recv() straight from the socket
 * (the connection is closed next, so civetweb's own accounting of the
 * body no longer matters): mg_read would wait up to HEADER_TIMEOUT_MS for
 * each read, holding the worker ~11 s for a client that stalls. When the
 * server read none of the body (refused on its Content-Length, or an
 * early 401 or 429), the first wait is only DRAIN_PEEK_MS: long enough
 * for a client that writes its body right after its headers (curl
 * without "Expect: 100-continue"), short enough that one which never
 * sends it (the load test's "1 GiB declared") or a flood of refused
 * requests does not hold workers. Without the socket (conn_socket)
 * nothing is drained.
 */
#define DRAIN_S 1.0
#define DRAIN_PEEK_MS 50
#define DRAIN_MAX ((size_t)16u << 20)

void wbs__body_drain(wbs__req *q)
{
	char buf[16384];
	double until = mono_now() + DRAIN_S;
	size_t total = 0;
	int fd = conn_socket(q);
	/* a client that has begun its body is waited for; one the server read
	 * nothing of gets DRAIN_PEEK_MS for its first bytes */
	int wait_ms = q->body_got > 0 ? (int)(DRAIN_S * 1000.0) : DRAIN_PEEK_MS;

	if (fd < 0)
		return;
	while (total < DRAIN_MAX) {
		struct pollfd p = {fd, POLLIN, 0};
		size_t want = DRAIN_MAX - total < sizeof(buf) ? DRAIN_MAX - total : sizeof(buf);
		ssize_t n;
		int r = poll(&p, 1, wait_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, buf, want, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			n = 0;
		else if (n <= 0)
			break; /* the client closed, or the connection failed */
		total += (size_t)n;
		{
			double left = until - mono_now();
			if (left <= 0)
				break;
			wait_ms = (int)(left * 1000.0) + 1;
		}
	}
}

static void send_body(wbs__req *q, int status, const char *type, const char *body, size_t len, const char *extra_name,
		      const char *extra_value)
{
	char clen[24];

	q->status = status;
	/* An answer before the body was read (an early 413, 401, 429...) ends
	 * the connection: see close_after_answer. */
	if (wbs__body_unread(q))
		q->close = 1;
	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(q->conn, status);
	mg_response_header_add(q->conn, "Content-Type", type, -1);
	mg_response_header_add(q->conn, "Content-Length", clen, -1);
	mg_response_header_add(q->conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	if (extra_name)
		mg_response_header_add(q->conn, extra_name, extra_value, -1);
	if (q->denied)
		mg_response_header_add(q->conn, "X-Wb-Denied", "1", -1);
	if (q->set_cookie[0])
		mg_response_header_add(q->conn, "Set-Cookie", q->set_cookie, -1);
	if (q->close)
		mg_response_header_add(q->conn, "Connection", "close", -1);
	if (q->cors_origin) {
		mg_response_header_add(q->conn, "Access-Control-Allow-Origin", q->cors_origin, -1);
		mg_response_header_add(q->conn, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After", -1);
		mg_response_header_add(q->conn, "Vary", "Origin", -1);
	}
	mg_response_header_send(q->conn);
	if (len && strcmp(q->ri->request_method, "HEAD") != 0)
		mg_write(q->conn, body, len);
}

void wbs__send_json(wbs__req *q, int status, const wbs__buf *b)
{
	if (b->err) {
		wbs__send_error(q, 500, "internal", "response is too large or out of memory");
		return;
	}
	send_body(q, status, "application/json", b->p ? b->p : "", b->len, NULL, NULL);
}

static void send_error_v(wbs__req *q, int status, const char *code, uint64_t expected, const char *fmt, va_list ap)
{
	char msg[512], qmsg[600], qpath[600];
	wbs__buf b;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"error\":{\"code\":");
	wbs__json_cstr(&b, code);
	wbs__buf_puts(&b, ",\"message\":");
	wbs__json_cstr(&b, msg);
	wbs__buf_puts(&b, ",\"request_id\":");
	wbs__json_cstr(&b, q->id);
	if (status == 429 || q->retry_after) {
		wbs__buf_puts(&b, ",\"retry_after\":");
		wbs__json_i64(&b, q->retry_after);
	}
	if (status == 409 && strcmp(code, "sequence_gap") == 0) {
		wbs__buf_puts(&b, ",\"expected\":");
		wbs__json_i64(&b, (int64_t)expected);
		wbs__buf_puts(&b, "},\"expected\":");
		wbs__json_i64(&b, (int64_t)expected);
		wbs__buf_putc(&b, '}');
	} else {
		wbs__buf_puts(&b, "}}");
	}
	wbs__log(status >= 500 ? WBS__LOG_ERROR : WBS__LOG_WARN, "request failed",
		"req=%s method=%s path=%s status=%d code=%s error=%s", q->id, q->ri->request_method,
		wbs__log_quote(qpath, sizeof(qpath), q->ri->request_uri ? q->ri->request_uri : ""), status, code,
		wbs__log_quote(qmsg, sizeof(qmsg), msg));
	{
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", q->retry_after);
		send_body(q, status, "application/json", b.p ? b.p : "{}", b.len,
			  status == 401 ? "WWW-Authenticate" : status == 429 || q->retry_after ? "Retry-After" : NULL,
			  status == 401 ? "Bearer" : ra);
	}
	wbs__buf_free(&b);
}

void wbs__send_error(wbs__req *q, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	send_error_v(q, status, code, 0, fmt, ap);
	va_end(ap);
}

static void send_error_expected(wbs__req *q, uint64_t expected, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_error_expected(wbs__req *q, uint64_t expected, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	send_error_v(q, 409, "sequence_gap", expected, fmt, ap);
	va_end(ap);
}

void wbs__send_store_error(wbs__req *q, const wbs__err *e)
{
	switch (e->st) {
	case WBS__ST_NOTFOUND: wbs__send_error(q, 404, "not_found", "%s", e->msg); break;
	case WBS__ST_BADARG: wbs__send_error(q, 400, "invalid_argument", "%s", e->msg); break;
	case WBS__ST_BADRECORD: wbs__send_error(q, 400, "invalid_record", "%s", e->msg); break;
	case WBS__ST_GAP: send_error_expected(q, e->expected, "%s", e->msg); break;
	case WBS__ST_FULL: wbs__send_error(q, 507, "insufficient_storage", "%s", e->msg); break;
	case WBS__ST_UNAVAILABLE: wbs__send_error(q, 503, "unavailable", "%s", e->msg); break;
	case WBS__ST_CONFLICT: wbs__send_error(q, 409, "conflict", "%s", e->msg); break;
	default: wbs__send_error(q, 500, "internal", "%s", e->msg[0] ? e->msg : "internal error"); break;
	}
}

/* ---- request input ---- */

int wbs__query_param(wbs__req *q, const char *name, int occurrence, char *buf, size_t cap)
{
	const char *qs = q->ri->query_string;
	int n;

	if (!qs)
		return 0;
	n = mg_get_var2(qs, strlen(qs), name, buf, cap, (size_t)occurrence);
	if (n == -1)
		return 0;
	if (n < 0) {
		wbs__send_error(q, 400, "invalid_argument", "query parameter %s is too long", name);
		return -1;
	}
	return 1;
}

/*
 * The body's pace rule. civetweb's mg_read gives up when no byte comes for
 * request_timeout_ms (HEADER_TIMEOUT_MS), but a client sending a byte now
 * and then would keep its worker for as long as it likes; so once
 * BODY_GRACE_S have passed since the request began, the body must have
 * come at BODY_MIN_RATE on average (Apache's mod_reqtimeout rule; a 4 MiB
 * batch on a 1 Mbit/s uplink is far above it).
 */
long wbs__body_read(wbs__req *q, void *buf, size_t cap)
{
	int n = mg_read(q->conn, buf, cap); /* returns by request_timeout_ms with what came */

	if (n <= 0)
		return 0;
	q->body_got += n;
	if (mono_now() - q->t0 > BODY_GRACE_S + (double)q->body_got / BODY_MIN_RATE) {
		q->body_slow = 1;
		return -1;
	}
	return n;
}

void wbs__send_body_slow(wbs__req *q)
{
	wbs__send_error(q, 408, "request_timeout",
		       "the body came too slowly (%lld bytes in %.0f s; at least %.0f bytes/s after %.0f s)",
		       q->body_got, mono_now() - q->t0, BODY_MIN_RATE, BODY_GRACE_S);
}

/* Take n bytes of the server's body budget for q: 0, or -1 with the 503 sent. */
static int body_take(wbs__req *q, size_t n)
{
	if (wbs__budget_take(&q->http->bodies, n) == 0) {
		q->body_held += n;
		return 0;
	}
	q->retry_after = 1;
	wbs__send_error(q, 503, "unavailable", "the server is busy reading other request bodies; retry after %u s",
		       q->retry_after);
	return -1;
}

/*
 * Bodies are read into memory (and inflated) whole; what all workers hold
 * at once is bounded by the server's budget (BODY_BUDGET), taken here and
 * given back when the request ends (on_api), so that a thousand workers
 * cannot each hold a route's maximum: past the budget a request is
 * answered 503 with Retry-After (the SDK waits and resends).
 */
int wbs__read_body(wbs__req *q, int required, size_t max_sent, size_t max_inflated, const char *bad_code,
		  uint8_t **body, size_t *len)
{
	const char *enc = mg_get_header(q->conn, "Content-Encoding");
	long long cl = q->ri->content_length;
	uint8_t *raw = NULL;
	size_t got = 0, held = 0;
	int gzip = 0, rc = -1;

	*body = NULL;
	*len = 0;
	if (enc && *enc && strcasecmp(enc, "identity") != 0) {
		if (strcasecmp(enc, "gzip") != 0) {
			wbs__send_error(q, 415, "unsupported_media_type", "content-encoding must be gzip or absent");
			return -1;
		}
		gzip = 1;
	}
	if (cl < 0) {
		if (required || mg_get_header(q->conn, "Transfer-Encoding")) {
			wbs__send_error(q, 411, "length_required", "content-length is required");
			return -1;
		}
		return 0;
	}
	if ((unsigned long long)cl > max_sent) {
		/* Answered before reading: the connection is closed after the
		 * answer (send_body), the body is never read. */
		wbs__send_error(q, 413, "too_large", "body is %lld bytes, over the limit of %zu", cl, max_sent);
		return -1;
	}
	if (cl == 0)
		return 0;
	if (body_take(q, (size_t)cl + 1))
		return -1;
	held = (size_t)cl + 1;
	raw = malloc((size_t)cl + 1);
	if (!raw) {
		wbs__send_error(q, 500, "internal", "out of memory");
		goto done;
	}
	while (got < (size_t)cl) {
		long n = wbs__body_read(q, raw + got, (size_t)cl - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (q->body_slow) {
		wbs__send_body_slow(q);
		goto done;
	}
	if (got != (size_t)cl) {
		wbs__send_error(q, 400, bad_code, "body ended after %zu of %lld bytes", got, cl);
		goto done;
	}
	if (gzip) {
		uint8_t *inflated = NULL;
		size_t ilen = 0, iheld = 0;
		int zr = wbs__inflate(raw, got, max_inflated, &q->http->bodies, &inflated, &ilen, &iheld);
		if (zr == WBS__INFLATE_TOOBIG) {
			wbs__send_error(q, 413, "too_large", "body inflates to more than %zu bytes", max_inflated);
			goto done;
		}
		if (zr == WBS__INFLATE_BUSY) {
			q->retry_after = 1;
			wbs__send_error(q, 503, "unavailable",
				       "the server is busy inflating other request bodies; retry after %u s",
				       q->retry_after);
			goto done;
		}
		if (zr == WBS__INFLATE_NOMEM) {
			wbs__send_error(q, 500, "internal", "out of memory");
			goto done;
		}
		if (zr != WBS__INFLATE_OK) {
			wbs__send_error(q, 400, bad_code, "body is not valid gzip");
			goto done;
		}
		/* The compressed copy goes back at once; the inflated one is held
		 * until the request ends. */
		free(raw);
		wbs__budget_give(&q->http->bodies, held);
		q->body_held -= held;
		held = 0;
		q->body_held += iheld;
		raw = inflated;
		got = ilen;
	} else if (got > max_inflated) {
		wbs__send_error(q, 413, "too_large", "body is over the limit of %zu bytes", max_inflated);
		goto done;
	}
	raw[got] = '\0';
	*body = raw;
	*len = got;
	raw = NULL;
	rc = 0;
done:
	free(raw);
	return rc;
}

int wbs__read_json(wbs__req *q, unsigned flags, size_t max_sent, size_t max_inflated, cJSON **out)
{
	const char *ct = mg_get_header(q->conn, "Content-Type");
	uint8_t *body = NULL;
	size_t len = 0;
	char why[256];
	int rc = -1;

	*out = NULL;
	if (ct && *ct && !wbs__media_type_is(ct, "application/json")) {
		wbs__send_error(q, 415, "unsupported_media_type", "content-type must be application/json");
		return -1;
	}
	if (wbs__read_body(q, (flags & WBS__BODY_REQUIRED) != 0, max_sent, max_inflated, "invalid_json", &body, &len))
		return -1;
	if (len == 0) {
		if (flags & WBS__BODY_REQUIRED) {
			wbs__send_error(q, 400, "invalid_json", "body is empty");
			goto done;
		}
		if ((flags & WBS__BODY_OBJECT) && !(*out = cJSON_CreateObject())) {
			wbs__send_error(q, 500, "internal", "out of memory");
			goto done;
		}
		rc = 0;
		goto done;
	}
	/* A JSON content type also keeps plain cross-site form posts out. */
	if ((flags & WBS__BODY_JSON_TYPE) && !(ct && *ct)) {
		wbs__send_error(q, 415, "unsupported_media_type", "content-type must be application/json");
		goto done;
	}
	if (!(*out = wbs__json_parse((const char *)body, len, "body", why, sizeof(why)))) {
		if (strcmp(why, "out of memory") == 0)
			wbs__send_error(q, 500, "internal", "out of memory");
		else
			wbs__send_error(q, 400, "invalid_json", "%s", why);
		goto done;
	}
	if ((flags & WBS__BODY_OBJECT) && !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		wbs__send_error(q, 400, "invalid_argument", "body must be a json object");
		goto done;
	}
	rc = 0;
done:
	free(body);
	return rc;
}

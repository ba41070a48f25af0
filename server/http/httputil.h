/*
 * httputil.h — the parts of request handling that do not need a live
 * connection: path splitting and percent-decoding, media types, gzip
 * inflation with a hard cap, the memory budget of request bodies, strict
 * integer parsing. Kept apart from civetweb so that unit tests can drive
 * them with hostile input directly.
 *
 * Threads: no shared state, except a wbs__budget, which any thread may
 * take from and give back to.
 */
#ifndef WB_SERVER_HTTPUTIL_H
#define WB_SERVER_HTTPUTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WBS__PATH_SEGS_MAX 8u
#define WBS__PATH_MAX 2048u

typedef struct wbs__path {
	char buf[WBS__PATH_MAX + 1];
	char *seg[WBS__PATH_SEGS_MAX];
	size_t nseg;
} wbs__path;

enum wbs__path_result {
	WBS__PATH_OK = 0,
	WBS__PATH_NOT_API = 1,  /* not under /api/v1 */
	WBS__PATH_BAD = 2       /* too long, too many segments, empty segment, bad %-escape, NUL */
};

/*
 * Split the raw (not yet decoded) path of a request under /api/v1 into
 * percent-decoded segments: "/api/v1/projects/a%2Fb" gives {"projects",
 * "a/b"}. A decoded segment may hold any byte but NUL; callers validate
 * names with wb__name_valid. The query string must already be cut off.
 * A trailing '/' is ignored.
 */
int wbs__path_split(const char *raw, wbs__path *out);

/* 1 if a Content-Type header value names type (case-insensitive, parameters after ';' ignored). */
int wbs__media_type_is(const char *header, const char *type);

/*
 * A budget of bytes shared by every request: the request bodies held in
 * memory at once (read, and inflated). Each worker bounds its own body by
 * the route's limit; this bounds their sum, which otherwise grows with the
 * number of workers (16 concurrent gzip bombs took 1.05 GiB).
 */
typedef struct wbs__budget {
	atomic_size_t used;
	size_t cap;
} wbs__budget;

/* Take n bytes: 0, or -1 (nothing taken) when used + n would pass cap. */
int wbs__budget_take(wbs__budget *b, size_t n);
/* Give back n bytes taken before. */
void wbs__budget_give(wbs__budget *b, size_t n);

enum wbs__inflate_result {
	WBS__INFLATE_OK = 0,
	WBS__INFLATE_TOOBIG = -1,
	WBS__INFLATE_BAD = -2,
	WBS__INFLATE_NOMEM = -3,
	WBS__INFLATE_BUSY = -4 /* the budget has no room for the output now */
};

/*
 * Inflate gzip or zlib data (auto-detected; concatenated gzip members are
 * accepted) into a malloc'd *out of *outlen bytes, never more than max:
 * more is WBS__INFLATE_TOOBIG (a decompression bomb stops at the cap). The
 * caller frees *out on WBS__INFLATE_OK.
 *
 * budget (NULL: none): the output buffer is taken from it as it grows, so
 * a bomb stops as soon as the bodies being inflated together reach the
 * budget (WBS__INFLATE_BUSY). On WBS__INFLATE_OK *held bytes (*outlen + 1,
 * the buffer's size) stay taken for the caller to give back when it frees
 * *out; on failure nothing stays taken.
 */
int wbs__inflate(const uint8_t *in, size_t len, size_t max, wbs__budget *budget, uint8_t **out, size_t *outlen,
		 size_t *held);

/* Parse all of s as a decimal int64 in [min, max]. 0, or -1. */
int wbs__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif /* WB_SERVER_HTTPUTIL_H */

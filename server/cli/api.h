/*
 * api.h — the CLI's HTTP client of a wb server's /api/v1 (api.c says why
 * it exists beside libwb's). Blocking, one request per call.
 *
 * Threads: a wbs__api may be shared by threads (it is only read); each
 * request has its own curl handle.
 */
#ifndef WB_SERVER_CLI_API_H
#define WB_SERVER_CLI_API_H

#include <stddef.h>

typedef struct wbs__api {
	char base[1024]; /* no trailing '/' */
	char key[256];
} wbs__api;

typedef struct wbs__api_resp {
	long status;
	char *body; /* NUL-terminated, malloc'd (NULL when a sink took a 2xx body) */
	size_t len;
} wbs__api_resp;

/* Takes n bytes of an answer's body; returns 0 to go on, -1 to stop the transfer (with its own message). */
typedef int (*wbs__api_sink)(const void *p, size_t n, void *arg);

/* One request. body/len/ctype: an optional body; header: one more header line ("Name: value") or NULL;
 * sink: when not NULL, the body of a 2xx answer goes there piece by piece (never whole in memory), any
 * other answer's body to out->body as usual. */
typedef struct wbs__api_req {
	const char *method, *path; /* path under base, starting with '/' */
	const void *body;
	size_t len;
	const char *ctype;
	const char *header;
	wbs__api_sink sink;
	void *sink_arg;
	long timeout_ms; /* the whole request at most this long; 0: the default (600 s, or while a sink's body moves) */
} wbs__api_req;

/* libcurl's process-wide set-up and tear-down: once per command, before
 * the first request and after the last (libcurl's rule: not thread-safe). */
void wbs__api_global_init(void);
void wbs__api_global_cleanup(void);

/* Fill a from --base-url/--api-key if given, else WB_BASE_URL/WB_API_KEY, else the settings file. 0 or -1. */
int wbs__api_init(wbs__api *a, const char *base, const char *key, char *err, size_t errlen);
/* Send rq: 0 (out->status is the HTTP status), or -1 on a transport error or a sink's stop (err). The
 * caller frees out->body. */
int wbs__api_request(const wbs__api *a, const wbs__api_req *rq, wbs__api_resp *out, char *err, size_t errlen);
/* The common case of wbs__api_request: no extra header, the answer in out->body. */
int wbs__api_do(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		const char *ctype, wbs__api_resp *out, char *err, size_t errlen);
/* wbs__api_do expecting the status want (any 2xx when 0): 0 with the answer in out (the caller frees
 * out->body), else -1 with "METHOD path: http N: answer" in err and nothing to free. */
int wbs__api_call(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		  const char *ctype, long want, wbs__api_resp *out, char *err, size_t errlen);
/* Split a reference "a/b[/c]" (ENTITY/PROJECT[/ID]) into its n parts, each a
 * valid name (at most 64 bytes). 0, or -1 when s is not n such names. */
int wbs__ref_split(const char *s, char parts[3][65], int n);
/* Percent-encode s for a query string into out (cap >= 3 * strlen(s) + 1, else -1). */
int wbs__qenc(char *out, size_t cap, const char *s);

#endif /* WB_SERVER_CLI_API_H */

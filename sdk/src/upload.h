/*
 * upload.h — talking to the server: the SDK's one HTTP client (a
 * wb__http and its requests, used by the run uploader, wb_sync, wb
 * restore and artifacts), and sending the run log to it in batches.
 *
 * Threads: a wb__http and a wb__upload belong to one thread at a time;
 * only wb__http_abort() may be called from another thread.
 */
#ifndef WB_UPLOAD_H
#define WB_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define WB__UPLOAD_BATCH (4u * 1024u * 1024u) /* uncompressed bytes per POST, unless one frame is larger */
#define WB__HTTP_TIMEOUT_MS 60000             /* any one request of a run, at most */
#define WB__HTTP_CONNECT_TIMEOUT_MS 10000

struct cJSON;
typedef struct wb__http wb__http;

/*
 * One request: method on the handle's URL + suffix. The Authorization
 * header and an empty Expect come from the handle; headers adds lines
 * such as the Content-Type. The answer is kept in memory (at most
 * resp_max bytes, 0: 1 MiB; more is WB_ENET "answer too large"), unless
 * sink is set: then the body of a 2xx answer is handed to sink as it
 * arrives, and never held whole (an error answer is still kept and
 * parsed). A non-zero return of sink (a WB_ code) stops the transfer and
 * is the request's result, with no message of its own: the caller says
 * what went wrong.
 */
typedef struct wb__http_req {
	const char *method;          /* "GET", "POST" or "PUT" */
	const char *suffix;          /* appended to the handle's URL; "" for the URL itself */
	const char *const *headers;  /* NULL-terminated header lines, or NULL */
	const void *body;            /* of a POST or PUT; NULL: empty */
	size_t len;
	size_t resp_max;             /* 0: 1 MiB */
	int (*sink)(void *arg, const void *data, size_t len); /* NULL: keep the answer */
	void *sink_arg;
} wb__http_req;

/* Where a run stands on the server. */
typedef struct wb__run_state {
	uint64_t last_seq;   /* 0: nothing applied yet */
	int64_t last_step;   /* -1: no metrics yet */
	char *name;          /* malloc'd, or NULL */
} wb__run_state;

/*
 * A connection for requests under url (copied), with api_key (may be
 * NULL) sent as a bearer token, and the PEM CA bundle of WB_CA_FILE if
 * set. label names the requests in error messages ("PUT run/records").
 * Any one request lasts at most timeout_ms. No I/O happens here. WB_OK,
 * WB_ENOMEM, or WB_ENET when libcurl cannot start. Free with
 * wb__http_free().
 */
WB__HIDDEN int wb__http_open(wb__http **out, const char *url, const char *label, const char *api_key,
			     int64_t timeout_ms);

/* wb__http_open for the run entity/project/run_id on base_url: requests
 * under <base_url>/api/v1/projects/<entity>/<project>/runs/<run_id>, each
 * at most WB__HTTP_TIMEOUT_MS. */
WB__HIDDEN int wb__http_new(wb__http **out, const char *base_url, const char *api_key, const char *entity,
			    const char *project, const char *run_id);
WB__HIDDEN void wb__http_free(wb__http *h);

/* Point h, from now on, at the run entity/project/run_id on base_url (as
 * wb__http_new would); the connection is kept. Only from the thread that
 * owns h. WB_OK or WB_ENOMEM (h unchanged). */
WB__HIDDEN int wb__http_run_url(wb__http *h, const char *base_url, const char *entity, const char *project,
				const char *run_id);

/* Verify an https server with the PEM CA bundle at path (copied; NULL or
 * "": the system's CA store, the default). WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__http_set_ca_file(wb__http *h, const char *path);

/* From any thread: make the request in flight, and every later one, fail
 * at once with WB_ETIMEOUT. */
WB__HIDDEN void wb__http_abort(wb__http *h);

/*
 * The requests. Each waits at most until deadline (mono ms) and at most
 * the handle's timeout. Results: WB_OK; WB_ENET (no connection, reset,
 * request timed out); WB_ETIMEOUT (deadline reached or aborted); WB_EAUTH
 * (401/403); WB_ENOTFOUND (404); WB_ESERVER (any other error status, the
 * server's message in errmsg; or a 2xx answer that is not the JSON asked
 * for). wb__http_retryable() says which are worth trying again.
 */

/* Any request (see wb__http_req). *out (may be NULL) receives the parsed
 * JSON answer, for error answers too when they parse (the caller frees
 * it); with out, a 2xx answer that does not parse is WB_ESERVER. */
WB__HIDDEN int wb__http_request(wb__http *h, const wb__http_req *r, int64_t deadline, struct cJSON **out);

/* PUT the run (body: JSON object of run fields). Fills *st (free its name
 * with wb__run_state_free). */
WB__HIDDEN int wb__http_put_run(wb__http *h, const char *json, size_t len, int64_t deadline, wb__run_state *st);

/* GET the run. WB_ENOTFOUND when the server does not have it. */
WB__HIDDEN int wb__http_get_run(wb__http *h, int64_t deadline, wb__run_state *st);

/* GET run_url + suffix (e.g. "/code/diff.patch") as raw bytes of at most
 * max: *body is malloc'd (NUL-terminated; the caller frees), *len its
 * length. WB_ENOTFOUND on 404. */
WB__HIDDEN int wb__http_get_raw(wb__http *h, const char *suffix, size_t max, int64_t deadline, char **body,
				size_t *len);
/*
 * Who owns the key: the default entity of a run whose entity was not given
 * is the key owner's own entity (their user name), as the server says at
 * GET <base_url>/api/v1/auth/session. wb__whoami_open makes a handle for
 * that URL; wb__http_whoami asks once and puts the name (checked to be a
 * valid entity name) in *entity (malloc'd; the caller frees): WB_EAUTH
 * when the server knows no user for the key (no key, a revoked one, or a
 * server without accounts), else the results above. wb__whoami does both,
 * retrying transient failures with the shared backoff until deadline when
 * retry is set (one try otherwise).
 */
#define WB__WHOAMI_PATH "/api/v1/auth/session"
WB__HIDDEN int wb__whoami_open(wb__http **out, const char *base_url, const char *api_key, const char *ca_file);
WB__HIDDEN int wb__http_whoami(wb__http *h, int64_t deadline, char **entity);
WB__HIDDEN int wb__whoami(const char *base_url, const char *api_key, const char *ca_file, int64_t deadline,
			  int retry, char **entity);

/* POST .../heartbeat. *should_stop becomes 1 when the answer's
 * "should_stop" is true (a sweep's controller stopped the run's trial);
 * it is never set back to 0. */
WB__HIDDEN int wb__http_heartbeat(wb__http *h, int64_t deadline, int *should_stop);

/* POST .../finish with a JSON body ({"exit_code":..} or {"crashed":true}). */
WB__HIDDEN int wb__http_finish(wb__http *h, const char *json, int64_t deadline);

/* The HTTP status of the last request that got an answer (0 if none). */
WB__HIDDEN long wb__http_status(const wb__http *h);

/* The "error.code" of the last answer when it was an error ("" if none):
 * it lives inside h until its next request. */
WB__HIDDEN const char *wb__http_error_code(const wb__http *h);

/* s percent-encoded for a query string, in *out (malloc'd; the caller
 * frees). WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__http_escape(wb__http *h, const char *s, char **out);

/* 1 if a request that failed with rc should be retried after a backoff:
 * network errors (not a server certificate that fails verification, or an
 * unreadable CA file: a configuration error), 408, 429 and 5xx. */
WB__HIDDEN int wb__http_retryable(const wb__http *h, int rc);

/*
 * The wait before retrying the last request of h, in ms: the next
 * backoff step, or the Retry-After of its answer (a 429 or 503; at most
 * an hour) if longer. The step *cur
 * starts at 0 and goes 100, 200, 400 ... 5000; the wait is jittered into
 * [cur/2, cur] so that runs do not retry in step after a server restart.
 * Shared by every caller that retries: runs, wb_sync and artifacts.
 */
WB__HIDDEN int64_t wb__http_backoff(const wb__http *h, int64_t *cur);

/* Sleep wb__http_backoff(h, cur) and return 1, when that ends before
 * deadline; else return 0 at once (not worth trying again). */
WB__HIDDEN int wb__http_retry_wait(const wb__http *h, int64_t *cur, int64_t deadline);

WB__HIDDEN void wb__run_state_free(wb__run_state *st);

/*
 * gzip (level 1) in[0..n) into out[0..cap): WB_OK and *outlen; WB_ERANGE
 * when it does not fit in cap (never with cap >= wb__gzip_bound(n)),
 * WB_ENOMEM, WB_EINVAL past 4 GiB. *state (NULL at first) keeps the
 * deflate state for the next call; wb__gzip_free releases it. Sets no
 * error message: the caller says what failed. wb__gzip_bound: room enough
 * for n bytes, or 0 past 4 GiB.
 */
WB__HIDDEN int wb__gzip(void **state, const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
WB__HIDDEN void wb__gzip_free(void **state);
WB__HIDDEN size_t wb__gzip_bound(size_t n);

/*
 * An upload cursor over one run log: the next frame to send and what the
 * server has acknowledged.
 */
typedef struct wb__upload {
	wb__http *http;
	int fd;             /* the run log, read with pread */
	uint64_t off;       /* offset of the next frame to send */
	uint64_t acked;     /* the server's last_seq */
	uint8_t *buf;       /* batch buffer */
	size_t cap;
	uint8_t *zbuf;      /* its gzip'ed form */
	size_t zcap;
	void *z;            /* deflate state, reused between batches */
	int should_stop;    /* 1 once a records answer said "should_stop": true */
} wb__upload;

/* Set up u to send the log on fd through h. No I/O. */
WB__HIDDEN void wb__upload_init(wb__upload *u, wb__http *h, int fd);
WB__HIDDEN void wb__upload_free(wb__upload *u);

/*
 * Position u after the server's last_seq: at the first frame with a seq
 * above it among the frames before end. WB_OK, WB_EIO, WB_ENOMEM,
 * WB_ECORRUPT, or WB_ESTATE when the server is missing frames the local
 * log no longer has (it starts after last_seq + 1).
 */
WB__HIDDEN int wb__upload_seek(wb__upload *u, uint64_t end, uint64_t last_seq);

/*
 * Send one batch: up to WB__UPLOAD_BATCH bytes of whole frames from u->off,
 * not past end, gzip'ed, to POST .../records; on success advance u->off and
 * u->acked by what the server says it has (repositioning if it asks for a
 * different seq with 409 sequence_gap). Retrying after a failure resends
 * the same frames; the server skips seqs it has, so nothing is applied
 * twice. An answer with "should_stop": true sets u->should_stop (for
 * good). Returns WB_OK (progress was made or the cursor moved) or an
 * error as for the requests above, or WB_ECORRUPT/WB_EIO/WB_ESTATE from
 * the log.
 */
WB__HIDDEN int wb__upload_send(wb__upload *u, uint64_t end, int64_t deadline);

#endif /* WB_UPLOAD_H */

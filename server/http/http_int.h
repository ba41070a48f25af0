/*
 * http_int.h — shared by the router (server.c) and the route handlers
 * (handlers.c). Not used outside server/http.
 */
#ifndef WB_SERVER_HTTP_INT_H
#define WB_SERVER_HTTP_INT_H

#include <civetweb.h>
#include <stdint.h>

#include "http/http.h"
#include "http/httputil.h"
#include "store/store.h"
#include "util/buf.h"
#include "wire.h"

#define WBS__JSON_BODY_MAX (1024u * 1024u)
#define WBS__RECORDS_BODY_MAX (32u * 1024u * 1024u)
#define WBS__RECORDS_INFLATED_MAX (64u * 1024u * 1024u)
#define WBS__RESPONSE_MAX (256u * 1024u * 1024u)

typedef struct wbs__req {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	wbs__store *store;
	char id[68];       /* request id: the client's X-Request-Id if valid, else generated; sent back */
	char route[96];    /* matched route pattern, for /metrics ("" until routed) */
	double t0;         /* monotonic seconds at the start */
	struct wbs__limiter *limiter; /* per-key rate limiter, or NULL */
	unsigned retry_after; /* seconds, sent as Retry-After with a 429 */
	wbs__path path;     /* decoded segments under /api/v1 */
	wbs__run_ref ref;   /* entity/project/run id of the route, when it has them */
	int64_t user_id;   /* authenticated user */
	int status;        /* status sent */
} wbs__req;

/* Send a JSON body (b->p[0..len)) with status. */
void wbs__send_json(wbs__req *q, int status, const wbs__buf *b);
/* Send the error body {"error":{"code","message"}} and log it. */
void wbs__send_error(wbs__req *q, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Send the error matching a store error. */
void wbs__send_store_error(wbs__req *q, const wbs__err *e);

/*
 * Read the request body. Enforces Content-Length (411 when required and
 * missing), the limit on the bytes sent (413) and, for gzip, the limit
 * after inflating (413); any other Content-Encoding is 415. On failure the
 * response has been sent and -1 is returned; otherwise *body (malloc'd,
 * NUL-terminated, caller frees; NULL when empty) and *len.
 */
int wbs__read_body(wbs__req *q, int required, size_t max_sent, size_t max_inflated, const char *bad_code,
		  uint8_t **body, size_t *len);

/* Query parameter name (occurrence-th, 0-based), decoded into buf. 1 found, 0 absent, -1 sent 400 (too long). */
int wbs__query_param(wbs__req *q, const char *name, int occurrence, char *buf, size_t cap);

/* Room for a metric key query parameter. */
#define WBS__KEY_PARAM_MAX (WB__KEY_MAX * 3u + 1u)

/* The key query parameter, validated like a metric key. 1 found, 0 absent
 * (and not required), -1 after sending the 400. */
int wbs__key_param(wbs__req *q, char *key, size_t cap, int required);
/* The start, end and buckets query parameters of a history route
 * (defaults: the whole series, 1000 buckets). 0, or -1 after sending the 400. */
int wbs__range_params(wbs__req *q, int64_t *start, int64_t *end, uint32_t *nbuckets);

/* Route handlers (handlers.c). Each sends exactly one response. */
void wbs__h_projects(wbs__req *q);
void wbs__h_runs_list(wbs__req *q);
void wbs__h_run_put(wbs__req *q);
void wbs__h_run_get(wbs__req *q);
void wbs__h_records(wbs__req *q);
void wbs__h_heartbeat(wbs__req *q);
void wbs__h_finish(wbs__req *q);
void wbs__h_metrics(wbs__req *q);
void wbs__h_history(wbs__req *q);
void wbs__h_export(wbs__req *q);
void wbs__h_code(wbs__req *q);       /* handlers_code.c */
void wbs__h_code_patch(wbs__req *q);
/* handlers_web.c: routes the web UI needs. */
void wbs__h_run_patch(wbs__req *q);
void wbs__h_project_history(wbs__req *q);

/* handlers_ops.c: retention. */
void wbs__h_run_delete(wbs__req *q);
void wbs__h_project_delete(wbs__req *q);

/* handlers_group.c: groups of runs (distributed jobs). */
void wbs__h_groups_list(wbs__req *q);
void wbs__h_group_get(wbs__req *q);
void wbs__h_group_history(wbs__req *q);

/* handlers_artifact.c: artifacts, blobs, lineage. */
void wbs__h_blob_check(wbs__req *q);
void wbs__h_blob_get(wbs__req *q);
void wbs__h_blob_put(wbs__req *q);
void wbs__h_artifacts_list(wbs__req *q);
void wbs__h_artifact_get(wbs__req *q);
void wbs__h_artifact_commit(wbs__req *q);
void wbs__h_artifact_version(wbs__req *q);
void wbs__h_artifact_version_delete(wbs__req *q);
void wbs__h_artifact_file(wbs__req *q);
void wbs__h_artifact_alias_put(wbs__req *q);
void wbs__h_artifact_alias_delete(wbs__req *q);
void wbs__h_run_artifacts(wbs__req *q);

/* JSON rendering (handlers.c), also used by tests. */
void wbs__render_run(wbs__buf *b, const wbs__run_row *r);

#endif /* WB_SERVER_HTTP_INT_H */

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

#define WBS__JSON_BODY_MAX (1024u * 1024u)
#define WBS__RECORDS_BODY_MAX (32u * 1024u * 1024u)
#define WBS__RECORDS_INFLATED_MAX (64u * 1024u * 1024u)
#define WBS__RESPONSE_MAX (256u * 1024u * 1024u)

typedef struct wbs__req {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	wbs__store *store;
	char id[20];       /* request id, also sent as X-Request-Id */
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

/* JSON rendering (handlers.c), also used by tests. */
void wbs__render_run(wbs__buf *b, const wbs__run_row *r);

#endif /* WB_SERVER_HTTP_INT_H */

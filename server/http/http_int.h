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
#include "store/store_acct.h"
#include "store/store_sweep.h"
#include "util/buf.h"
#include "wire.h"

#define WBS__JSON_BODY_MAX (1024u * 1024u)
#define WBS__RECORDS_BODY_MAX (32u * 1024u * 1024u)
#define WBS__RECORDS_INFLATED_MAX (64u * 1024u * 1024u)
#define WBS__RESPONSE_MAX (256u * 1024u * 1024u)

/* A server's sign-in state (handlers_acct.c): at most two password hashes
 * at a time, and the failed sign-ins by name and by client address. 0, or
 * -1 (out of memory); _free accepts NULL. */
typedef struct wbs__signin wbs__signin;
int wbs__signin_new(wbs__signin **out);
void wbs__signin_free(wbs__signin *g);

typedef struct wbs__req {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	wbs__store *store;
	char id[68];       /* request id: the client's X-Request-Id if valid, else generated; sent back */
	char route[96];    /* matched route pattern, for /metrics ("" until routed) */
	double t0;         /* monotonic seconds at the start */
	struct wbs__limiter *limiter; /* per-key rate limiter, or NULL */
	struct wbs__ops *ops;         /* the server's counters (ops.h) */
	struct wbs__signin *signin;   /* the server's password-hashing gate and sign-in failures */
	unsigned retry_after; /* seconds, sent as Retry-After with a 429 */
	wbs__path path;     /* decoded segments under /api/v1 */
	wbs__run_ref ref;   /* entity/project/run id of the route, when it has them */
	int64_t user_id;   /* authenticated user; 0: anonymous */
	wbs__principal who; /* who.user_id == user_id */
	int via_session;   /* authenticated by the session cookie (state changes need the CSRF header) */
	uint8_t cred_hash[32]; /* SHA-256 of the key or session token (logout) */
	wbs__access acc;   /* the caller's access to the route's entity/project (when it names them) */
	int secure_cookies; /* Secure on Set-Cookie even without TLS (wb server --secure-cookies) */
	int denied;        /* the answer is an access denial (X-Wb-Denied: 1) */
	char set_cookie[256]; /* a Set-Cookie header for the answer, or "" */
	int status;        /* status sent */
	struct wbs__http *http; /* the server: body budget, allowed origins */
	long long body_got; /* body bytes read so far (wbs__body_read) */
	size_t body_held;  /* bytes of the server's body budget this request holds (given back at its end) */
	int body_slow;     /* the body came too slowly (wbs__body_read returned -1) */
	int close;         /* close the connection after the answer: its body was not read to the end */
	const char *cors_origin; /* the request's Origin when the operator allowed it (cors-origins), else NULL */
} wbs__req;

/*
 * What a route needs, declared in its row of the route table (server.c)
 * and checked there, before the handler runs. Outsiders (no credentials)
 * get 401; a signed-in user who may not read the project gets 404 (its
 * existence is not revealed); one who may read but not do more gets 403.
 * The answer to a denial carries the header "X-Wb-Denied: 1".
 */
enum wbs__route_access {
	/* 0, what a row that says nothing gets: project write if the route
	 * names an entity and project (/projects/{e}/{p}/...), else server admin. */
	WBS__ACC_DEFAULT = 0,
	WBS__ACC_PUBLIC,       /* anyone, signed in or not */
	WBS__ACC_USER,         /* any signed-in user */
	WBS__ACC_READ,         /* read the project: a viewer, or anyone when it is public */
	WBS__ACC_WRITE,        /* editor of the project (or of its entity, for a project not yet created) */
	WBS__ACC_ADMIN,        /* admin of the project */
	WBS__ACC_ENTITY_READ,  /* any member of the user/team named by the route's first name */
	WBS__ACC_ENTITY_ADMIN, /* admin of that user/team (the user themself, a team admin) */
	WBS__ACC_SERVER_ADMIN  /* a server admin */
};

/* The route table, for tests that walk every route: count, and row i's
 * method, pattern (segments joined by "/", a "*" segment is a name) and access
 * (WBS__ACC_DEFAULT resolved to what it means for that route). */
size_t wbs__route_count(void);
void wbs__route_info(size_t i, const char **method, char *pattern, size_t cap, int *access);

/* Put a Set-Cookie for a new session (token) or, with token NULL, one that clears it, in q->set_cookie. */
void wbs__session_cookie(wbs__req *q, const char *token);

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

enum wbs__body_flag {
	WBS__BODY_REQUIRED = 1u << 0,  /* an empty body is a 400 */
	WBS__BODY_OBJECT = 1u << 1,    /* the body is a JSON object (an empty optional one: {}) */
	WBS__BODY_JSON_TYPE = 1u << 2  /* a body needs Content-Type: application/json (else absent will do) */
};

/*
 * Read the request's JSON body (wbs__read_body, max bytes sent and after
 * inflating) and parse it with wbs__json_parse: the one way a request's
 * JSON is read, so every route refuses alike (syntax, a NUL in a string,
 * invalid UTF-8, duplicate keys, numbers past a double: 400 invalid_json
 * with the field's path). A Content-Type other than application/json is a
 * 415. flags: wbs__body_flag. Returns 0 with *out (caller deletes; NULL for
 * an empty optional body without WBS__BODY_OBJECT), or -1 with the error sent.
 */
int wbs__read_json(wbs__req *q, unsigned flags, size_t max_sent, size_t max_inflated, cJSON **out);
/*
 * Read up to cap bytes of the request body (mg_read, under the body's pace
 * rule: see server.c). Returns the bytes read, 0 at the end of the body or
 * when the client stopped sending, -1 when it sends too slowly (then
 * q->body_slow is set and the caller answers 408 with
 * wbs__send_body_slow).
 */
long wbs__body_read(wbs__req *q, void *buf, size_t cap);
/* The 408 answer to a body that came too slowly. */
void wbs__send_body_slow(wbs__req *q);

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
/* Both of the above for a series route: a required key and its range. 0, or -1 after sending the 400. */
int wbs__series_params(wbs__req *q, char *key, size_t cap, int64_t *start, int64_t *end, uint32_t *nbuckets);

/* A column of a series answer: ,"name":[...] of len values of one type. */
enum { WBS__COL_I64, WBS__COL_NUM, WBS__COL_U32 };
typedef struct wbs__json_col {
	const char *name;
	int type;
	const void *v; /* int64_t, double or uint32_t [len] */
} wbs__json_col;
/* A row of a list answer as JSON (row points at one element of the rows). */
typedef void (*wbs__row_json_fn)(wbs__buf *b, const void *row);
/* [fn(row 0),fn(row 1),...] of n rows of size bytes each. */
void wbs__json_array(wbs__buf *b, const void *rows, size_t n, size_t size, wbs__row_json_fn fn);
/* Write the n columns (each len long) and close the answer's object. */
void wbs__json_cols_end(wbs__buf *b, const wbs__json_col *cols, size_t n, size_t len);

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
void wbs__h_media_keys(wbs__req *q); /* handlers_media.c */
void wbs__h_media_values(wbs__req *q);
void wbs__h_image(wbs__req *q);
/* handlers_web.c: routes the web UI needs. */
void wbs__h_run_patch(wbs__req *q);
void wbs__h_project_history(wbs__req *q);
/* GET .../runs with group_by or agg: parses those into rq (its filters and
 * paging already parsed) and answers the groups. 1 answered, 0 not grouped. */
int wbs__runs_grouped(wbs__req *q, wbs__runs_query *rq);

/* handlers_ops.c: retention. */
void wbs__h_run_delete(wbs__req *q);
void wbs__h_project_delete(wbs__req *q);

/* handlers_group.c: groups of runs (distributed jobs). */
void wbs__h_groups_list(wbs__req *q);
void wbs__h_group_get(wbs__req *q);
void wbs__h_group_history(wbs__req *q);

/* handlers_sweep.c: sweeps, and the agents that run their trials. */
void wbs__h_sweeps(wbs__req *q);
void wbs__h_sweep_get(wbs__req *q);
void wbs__h_sweep_patch(wbs__req *q);
void wbs__h_sweep_trials(wbs__req *q);
void wbs__h_sweep_next(wbs__req *q);
void wbs__h_trial_heartbeat(wbs__req *q);
/* The store's early-stopping judge (store_sweep.h's wbs__sweep_judge_fn; handlers_sweep.c). */
int wbs__sweep_judge(void *ctx, const char *spec, const wbs__stop_trial *t, size_t n, size_t which,
		     const int64_t *its, size_t nits, wbs__stop_decision *out, wbs__err *err);
void wbs__h_trial_finish(wbs__req *q);

/* handlers_notify.c: webhooks, rules, the delivery log. */
void wbs__h_webhooks(wbs__req *q);
void wbs__h_webhook_delete(wbs__req *q);
void wbs__h_rules(wbs__req *q);
void wbs__h_rule_delete(wbs__req *q);
void wbs__h_deliveries(wbs__req *q);
/*
 * Request helpers the account, report and settings handlers share
 * (handlers_acct.c). wbs__body_object: the body as a JSON object (optional:
 * an empty body is an empty object; a JSON content type required): 0, or -1
 * with the 4xx sent. wbs__str_member: the string member name of j: 1 found
 * and valid (UTF-8, at most max bytes, no control characters unless
 * multiline allows newlines and tabs), 0 absent and optional, -1 with the
 * 400 sent. wbs__send_ok: {"ok":true}. wbs__send_list: {"<member>":<rows>}
 * from a store list (each row an object keyed by column names, "is_*" and
 * "has_*" integers as booleans), or the store's error.
 */
int wbs__body_object(wbs__req *q, int optional, cJSON **out);
int wbs__str_member(wbs__req *q, const cJSON *j, const char *name, size_t max, int required, int multiline,
		    const char **out);
void wbs__send_ok(wbs__req *q, int status);
void wbs__send_list(wbs__req *q, const char *member, int st, const wbs__acct_rows *rows, const wbs__err *e);
/* The first row of t as a JSON object (null when there is none), "is_*"/"has_*" integers as booleans. */
void wbs__acct_object_json(wbs__buf *b, const wbs__acct_rows *t);

/* handlers_acct.c: sessions, users, keys, teams, project settings; handlers_report.c: reports. */
void wbs__h_login(wbs__req *q);
void wbs__h_logout(wbs__req *q);
void wbs__h_session(wbs__req *q);
void wbs__h_setup(wbs__req *q);
void wbs__h_users_list(wbs__req *q);
void wbs__h_user_create(wbs__req *q);
void wbs__h_user_patch(wbs__req *q);
void wbs__h_user_password(wbs__req *q);
void wbs__h_keys_list(wbs__req *q);
void wbs__h_key_create(wbs__req *q);
void wbs__h_key_revoke(wbs__req *q);
void wbs__h_teams_list(wbs__req *q);
void wbs__h_team_create(wbs__req *q);
void wbs__h_team_members(wbs__req *q);
void wbs__h_team_member_put(wbs__req *q);
void wbs__h_team_member_delete(wbs__req *q);
void wbs__h_project_get(wbs__req *q);
void wbs__h_project_put(wbs__req *q);
void wbs__h_project_members(wbs__req *q);
void wbs__h_project_member_put(wbs__req *q);
void wbs__h_project_member_delete(wbs__req *q);
void wbs__h_reports_list(wbs__req *q);
void wbs__h_report_create(wbs__req *q);
void wbs__h_report_get(wbs__req *q);
void wbs__h_report_put(wbs__req *q);
void wbs__h_report_delete(wbs__req *q);
void wbs__h_report_versions(wbs__req *q);
void wbs__h_report_version(wbs__req *q);
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

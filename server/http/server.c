/*
 * server.c — civetweb setup, routing and authentication (the response and
 * body helpers every handler uses: request.c).
 *
 * civetweb calls on_api() on one of its worker threads. The raw path
 * (request_uri, with decode_url=no so that civetweb leaves it encoded) is
 * split into percent-decoded segments, matched against the route table by
 * segment count and literal segments,
 * and the named segments (entity, project, run id) are validated with
 * wb__name_valid before any handler runs, so hostile names ("..",
 * "<script>", NUL, 65 bytes) are a 400 and never reach the store.
 *
 * Every /api/v1 request must carry "Authorization: Bearer <key>"; the key's
 * SHA-256 is looked up in the store (only hashes are stored). The key and
 * the header are never logged. Errors and 4xx answers are logged with the
 * request id that is also sent back in X-Request-Id.
 *
 * TLS: with a certificate and a key (wb server --tls-cert/--tls-key) the
 * one listening port speaks HTTPS only; plain HTTP to it fails the
 * handshake rather than being redirected, so a client set up with http://
 * fails at once instead of sending its key in clear before each redirect.
 * civetweb is compiled in against OpenSSL 3
 * (third_party/civetweb); on_init_ssl loads the certificate chain and the
 * key from their two files into civetweb's SSL_CTX, which keeps civetweb's
 * defaults otherwise (TLS 1.2 and newer, OpenSSL's default ciphers).
 *
 * Slow and many clients (docs/design.md, "HTTP front"). civetweb 1.15 gives
 * each connection a worker thread for as long as it is open, including
 * while it sends its headers, its body, or sits idle between keep-alive
 * requests, and creates all workers at start. So the pool is large by
 * default (WBS__HTTP_THREADS_DEFAULT: a thread costs ~20 KiB idle), every
 * phase of a connection has a deadline (headers: HEADER_TIMEOUT_MS in
 * all; a body: no byte for HEADER_TIMEOUT_MS, or slower than
 * BODY_MIN_RATE past BODY_GRACE_S; idle keep-alive: KEEPALIVE_MS), an
 * answer sent before the body was read closes the connection instead of
 * letting civetweb read and drop the rest, and the bodies held in memory
 * by all workers together share one budget (BODY_BUDGET; past it, 503
 * with Retry-After).
 *
 * CORS: the UI is same-origin, so by default nothing grants another
 * origin anything (civetweb's own "*" preflight answer is turned off).
 * Origins an operator lists (cors-origins) get their preflight answered
 * and Access-Control-Allow-Origin on the answers, echoing that origin.
 */
#include "http_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/crypto.h>

#include "auth/auth.h"
#include "http/ops.h"
#include "store/store_ops.h"
#include "http/static.h"
#include "model/fields.h"
#include "util/log.h"
#include "wire.h"

#include "http/server_int.h"

/* Count a request in; 0, or -1 if the server is draining (the caller answers 503). */
static int inflight_enter(wbs__http *h)
{
	int ok;
	pthread_mutex_lock(&h->mu);
	ok = !h->draining;
	if (ok)
		h->inflight++;
	pthread_mutex_unlock(&h->mu);
	return ok ? 0 : -1;
}

static void inflight_leave(wbs__http *h)
{
	pthread_mutex_lock(&h->mu);
	if (--h->inflight == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->mu);
}

/* ---- routing ---- */

typedef void (*handler_fn)(wbs__req *q);

/*
 * Segment patterns: "*" is a name (entity, project, run id in that order; a
 * fourth "*" is any segment, checked by the handler).
 *
 * access: what the caller needs (enum wbs__route_access in http_int.h),
 * checked by check_access() before the handler runs; the handler itself
 * does no permission check. A row that leaves it out gets
 * WBS__ACC_DEFAULT: write access to the project it names, or server admin
 * for a route outside /projects/{e}/{p}. tests/e2e/test_e2e_access.c
 * walks every row as an outsider, a non-member, a viewer, an editor and an
 * admin on a private and a public project.
 */
static const struct route {
	const char *method;
	size_t nseg;
	const char *seg[8];
	handler_fn fn;
	int access;
} routes[] = {
	{"GET", 1, {"projects"}, wbs__h_projects, WBS__ACC_PUBLIC}, /* lists what the caller may read */
	{"GET", 4, {"projects", "*", "*", "runs"}, wbs__h_runs_list, WBS__ACC_READ},
	{"GET", 4, {"projects", "*", "*", "groups"}, wbs__h_groups_list, WBS__ACC_READ},
	{"GET", 5, {"projects", "*", "*", "groups", "*"}, wbs__h_group_get, WBS__ACC_READ},
	{"GET", 6, {"projects", "*", "*", "groups", "*", "history"}, wbs__h_group_history, WBS__ACC_READ},
	{"PUT", 5, {"projects", "*", "*", "runs", "*"}, wbs__h_run_put, WBS__ACC_WRITE},
	{"GET", 5, {"projects", "*", "*", "runs", "*"}, wbs__h_run_get, WBS__ACC_READ},
	{"POST", 6, {"projects", "*", "*", "runs", "*", "records"}, wbs__h_records, WBS__ACC_WRITE},
	{"POST", 6, {"projects", "*", "*", "runs", "*", "heartbeat"}, wbs__h_heartbeat, WBS__ACC_WRITE},
	{"POST", 6, {"projects", "*", "*", "runs", "*", "finish"}, wbs__h_finish, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "metrics"}, wbs__h_metrics, WBS__ACC_READ},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "history"}, wbs__h_history, WBS__ACC_READ},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "export"}, wbs__h_export, WBS__ACC_READ},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "code"}, wbs__h_code, WBS__ACC_READ},
	{"GET", 7, {"projects", "*", "*", "runs", "*", "code", "*"}, wbs__h_code_patch, WBS__ACC_READ},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "media"}, wbs__h_media_keys, WBS__ACC_READ},
	{"GET", 7, {"projects", "*", "*", "runs", "*", "media", "*"}, wbs__h_media_values, WBS__ACC_READ},
	{"GET", 7, {"projects", "*", "*", "runs", "*", "images", "*"}, wbs__h_image, WBS__ACC_READ},
	{"PATCH", 5, {"projects", "*", "*", "runs", "*"}, wbs__h_run_patch, WBS__ACC_WRITE},
	{"GET", 4, {"projects", "*", "*", "history"}, wbs__h_project_history, WBS__ACC_READ},
	{"DELETE", 5, {"projects", "*", "*", "runs", "*"}, wbs__h_run_delete, WBS__ACC_WRITE},
	{"DELETE", 3, {"projects", "*", "*"}, wbs__h_project_delete, WBS__ACC_ADMIN},
	/* notifications (handlers_notify.c): a webhook's URL is a secret of the
	 * project's admins; rules are read like the runs they watch */
	{"GET", 4, {"projects", "*", "*", "webhooks"}, wbs__h_webhooks, WBS__ACC_ADMIN},
	{"POST", 4, {"projects", "*", "*", "webhooks"}, wbs__h_webhooks, WBS__ACC_ADMIN},
	{"DELETE", 5, {"projects", "*", "*", "webhooks", "*"}, wbs__h_webhook_delete, WBS__ACC_ADMIN},
	{"GET", 2, {"user", "webhooks"}, wbs__h_webhooks, WBS__ACC_USER},
	{"POST", 2, {"user", "webhooks"}, wbs__h_webhooks, WBS__ACC_USER},
	{"DELETE", 3, {"user", "webhooks", "*"}, wbs__h_webhook_delete, WBS__ACC_USER},
	{"GET", 4, {"projects", "*", "*", "rules"}, wbs__h_rules, WBS__ACC_READ},
	{"POST", 4, {"projects", "*", "*", "rules"}, wbs__h_rules, WBS__ACC_WRITE},
	{"DELETE", 5, {"projects", "*", "*", "rules", "*"}, wbs__h_rule_delete, WBS__ACC_WRITE},
	{"GET", 4, {"projects", "*", "*", "deliveries"}, wbs__h_deliveries, WBS__ACC_ADMIN},
	/* artifacts (handlers_artifact.c): the blob routes first, "blobs" is not an artifact name */
	{"POST", 6, {"projects", "*", "*", "artifacts", "blobs", "check"}, wbs__h_blob_check, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "artifacts", "blobs", "*"}, wbs__h_blob_get, WBS__ACC_READ},
	{"PUT", 6, {"projects", "*", "*", "artifacts", "blobs", "*"}, wbs__h_blob_put, WBS__ACC_WRITE},
	{"GET", 4, {"projects", "*", "*", "artifacts"}, wbs__h_artifacts_list, WBS__ACC_READ},
	{"GET", 5, {"projects", "*", "*", "artifacts", "*"}, wbs__h_artifact_get, WBS__ACC_READ},
	{"POST", 5, {"projects", "*", "*", "artifacts", "*"}, wbs__h_artifact_commit, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "artifacts", "*", "*"}, wbs__h_artifact_version, WBS__ACC_READ},
	{"DELETE", 6, {"projects", "*", "*", "artifacts", "*", "*"}, wbs__h_artifact_version_delete, WBS__ACC_WRITE},
	{"GET", 7, {"projects", "*", "*", "artifacts", "*", "*", "file"}, wbs__h_artifact_file, WBS__ACC_READ},
	{"PUT", 7, {"projects", "*", "*", "artifacts", "*", "aliases", "*"}, wbs__h_artifact_alias_put, WBS__ACC_WRITE},
	{"DELETE", 7, {"projects", "*", "*", "artifacts", "*", "aliases", "*"}, wbs__h_artifact_alias_delete, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "runs", "*", "artifacts"}, wbs__h_run_artifacts, WBS__ACC_READ},
	/* sweeps (handlers_sweep.c): viewers read them, editors create and run them */
	{"GET", 4, {"projects", "*", "*", "sweeps"}, wbs__h_sweeps, WBS__ACC_READ},
	{"POST", 4, {"projects", "*", "*", "sweeps"}, wbs__h_sweeps, WBS__ACC_WRITE},
	{"GET", 5, {"projects", "*", "*", "sweeps", "*"}, wbs__h_sweep_get, WBS__ACC_READ},
	{"PATCH", 5, {"projects", "*", "*", "sweeps", "*"}, wbs__h_sweep_patch, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "sweeps", "*", "trials"}, wbs__h_sweep_trials, WBS__ACC_READ},
	{"POST", 6, {"projects", "*", "*", "sweeps", "*", "next"}, wbs__h_sweep_next, WBS__ACC_WRITE},
	{"POST", 8, {"projects", "*", "*", "sweeps", "*", "trials", "*", "heartbeat"}, wbs__h_trial_heartbeat, WBS__ACC_WRITE},
	{"POST", 8, {"projects", "*", "*", "sweeps", "*", "trials", "*", "finish"}, wbs__h_trial_finish, WBS__ACC_WRITE},
	/* accounts (handlers_acct.c) */
	{"POST", 2, {"auth", "login"}, wbs__h_login, WBS__ACC_PUBLIC},
	{"POST", 2, {"auth", "logout"}, wbs__h_logout, WBS__ACC_PUBLIC},
	{"GET", 2, {"auth", "session"}, wbs__h_session, WBS__ACC_PUBLIC},
	{"POST", 2, {"auth", "setup"}, wbs__h_setup, WBS__ACC_PUBLIC},
	{"GET", 1, {"users"}, wbs__h_users_list, WBS__ACC_SERVER_ADMIN},
	{"POST", 1, {"users"}, wbs__h_user_create, WBS__ACC_SERVER_ADMIN},
	{"PATCH", 2, {"users", "*"}, wbs__h_user_patch, WBS__ACC_SERVER_ADMIN},
	{"PUT", 3, {"users", "*", "password"}, wbs__h_user_password, WBS__ACC_ENTITY_ADMIN},
	{"GET", 1, {"keys"}, wbs__h_keys_list, WBS__ACC_USER},
	{"POST", 1, {"keys"}, wbs__h_key_create, WBS__ACC_USER},
	{"DELETE", 2, {"keys", "*"}, wbs__h_key_revoke, WBS__ACC_USER},
	{"GET", 1, {"teams"}, wbs__h_teams_list, WBS__ACC_USER},
	{"POST", 1, {"teams"}, wbs__h_team_create, WBS__ACC_USER},
	{"GET", 3, {"teams", "*", "members"}, wbs__h_team_members, WBS__ACC_ENTITY_READ},
	{"PUT", 4, {"teams", "*", "members", "*"}, wbs__h_team_member_put, WBS__ACC_ENTITY_ADMIN},
	{"DELETE", 4, {"teams", "*", "members", "*"}, wbs__h_team_member_delete, WBS__ACC_ENTITY_ADMIN},
	{"GET", 3, {"projects", "*", "*"}, wbs__h_project_get, WBS__ACC_READ},
	{"PUT", 3, {"projects", "*", "*"}, wbs__h_project_put, WBS__ACC_ADMIN},
	{"GET", 4, {"projects", "*", "*", "members"}, wbs__h_project_members, WBS__ACC_ADMIN},
	{"PUT", 5, {"projects", "*", "*", "members", "*"}, wbs__h_project_member_put, WBS__ACC_ADMIN},
	{"DELETE", 5, {"projects", "*", "*", "members", "*"}, wbs__h_project_member_delete, WBS__ACC_ADMIN},
	/* reports (handlers_acct.c) */
	{"GET", 4, {"projects", "*", "*", "reports"}, wbs__h_reports_list, WBS__ACC_READ},
	{"POST", 4, {"projects", "*", "*", "reports"}, wbs__h_report_create, WBS__ACC_WRITE},
	{"GET", 5, {"projects", "*", "*", "reports", "*"}, wbs__h_report_get, WBS__ACC_READ},
	{"PUT", 5, {"projects", "*", "*", "reports", "*"}, wbs__h_report_put, WBS__ACC_WRITE},
	{"DELETE", 5, {"projects", "*", "*", "reports", "*"}, wbs__h_report_delete, WBS__ACC_WRITE},
	{"GET", 6, {"projects", "*", "*", "reports", "*", "versions"}, wbs__h_report_versions, WBS__ACC_READ},
	{"GET", 7, {"projects", "*", "*", "reports", "*", "versions", "*"}, wbs__h_report_version, WBS__ACC_READ},
};

/* A route names a project when it is /projects/{entity}/{project}[/...]. */
static int names_project(const struct route *r)
{
	return r->nseg >= 3 && strcmp(r->seg[0], "projects") == 0 && strcmp(r->seg[1], "*") == 0 &&
	       strcmp(r->seg[2], "*") == 0;
}

static int route_access(const struct route *r)
{
	if (r->access != WBS__ACC_DEFAULT)
		return r->access;
	return names_project(r) ? WBS__ACC_WRITE : WBS__ACC_SERVER_ADMIN;
}

size_t wbs__route_count(void)
{
	return sizeof(routes) / sizeof(routes[0]);
}

void wbs__route_info(size_t i, const char **method, char *pattern, size_t cap, int *access)
{
	size_t o = (size_t)snprintf(pattern, cap, "/api/v1");
	*method = routes[i].method;
	*access = route_access(&routes[i]);
	for (size_t k = 0; k < routes[i].nseg && o < cap; k++)
		o += (size_t)snprintf(pattern + o, cap - o, "/%s", routes[i].seg[k]);
}

static int route_matches(const struct route *r, const wbs__path *p)
{
	if (r->nseg != p->nseg)
		return 0;
	for (size_t i = 0; i < r->nseg; i++)
		if (strcmp(r->seg[i], "*") != 0 && strcmp(r->seg[i], p->seg[i]) != 0)
			return 0;
	return 1;
}

/* The value of cookie name in the Cookie header into out. 1 found, 0 not. */
static int cookie_value(wbs__req *q, const char *name, char *out, size_t cap)
{
	const char *c = mg_get_header(q->conn, "Cookie");
	return c && mg_get_cookie(c, name, out, cap) > 0;
}

/* Rate limit the caller (by credential hash, or by address when anonymous). 0, or -1 with the 429 sent. */
static int rate_limit(wbs__req *q, const uint8_t hash[32])
{
	if (wbs__limiter_take(q->limiter, hash, q->t0, &q->retry_after)) {
		wbs__ops_count_rate_limited(q->ops);
		wbs__send_error(q, 429, "rate_limited", "too many requests; retry after %u s", q->retry_after);
		return -1;
	}
	return 0;
}

/*
 * Who is calling: a Bearer API key (the SDK, scripts), else the session
 * cookie (the browser), else nobody. A Bearer key that is wrong is a 401
 * even on a public route (a client with a broken key should learn it); a
 * stale session cookie is ignored, so that an expired login still reads
 * public projects. 0, or -1 with the 401/429/5xx sent.
 */
static int authenticate(wbs__req *q)
{
	const char *h = mg_get_header(q->conn, "Authorization");
	char tok[128];
	size_t n;
	wbs__err e = {0};
	int st;

	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0) {
			wbs__send_error(q, 401, "unauthorized", "authorization must be a bearer api key");
			return -1;
		}
		h += 7;
		while (*h == ' ')
			h++;
		n = strlen(h);
		while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == 0 || n > 256) {
			wbs__send_error(q, 401, "unauthorized", "unknown or revoked api key");
			return -1;
		}
		wbs__key_hash(h, n, q->cred_hash);
		st = wbs__store_principal_key(q->store, q->cred_hash, &q->who, &e);
		if (st == WBS__ST_NOTFOUND) {
			wbs__send_error(q, 401, "unauthorized", "unknown or revoked api key");
			return -1;
		}
		if (st != WBS__ST_OK) {
			wbs__send_store_error(q, &e);
			return -1;
		}
	} else if (cookie_value(q, "wb_session", tok, sizeof(tok))) {
		wbs__key_hash(tok, strlen(tok), q->cred_hash);
		memset(tok, 0, sizeof(tok));
		st = wbs__store_principal_session(q->store, q->cred_hash, &q->who, &e);
		if (st == WBS__ST_OK) {
			q->via_session = 1;
		} else if (st != WBS__ST_NOTFOUND) {
			wbs__send_store_error(q, &e);
			return -1;
		}
	}
	q->user_id = q->who.user_id;
	if (!q->user_id) {
		/* Anonymous: limited per client address. */
		char addr[80];
		snprintf(addr, sizeof(addr), "anon:%s", q->ri->remote_addr);
		wbs__key_hash(addr, strlen(addr), q->cred_hash);
	}
	return rate_limit(q, q->cred_hash);
}

/* Send a denial: 401 to nobody, else status (403/404). */
static void deny(wbs__req *q, int status, const char *fmt, const char *what)
{
	q->denied = 1;
	if (!q->user_id)
		wbs__send_error(q, 401, "unauthorized", "sign in or send a bearer api key");
	else if (status == 404)
		wbs__send_error(q, 404, "not_found",
			       "no project %s (or it is not visible to you; new projects go under your user name or a team "
			       "you edit)",
			       what);
	else
		wbs__send_error(q, 403, "forbidden", fmt, what);
}

/*
 * The one permission check: the caller against the route's declared access
 * (see the route table). State-changing requests authenticated by the
 * session cookie must also echo the session's CSRF token in X-CSRF-Token
 * (a cross-site page can make the browser send the cookie but cannot read
 * the token). 0 to go on, or -1 with the answer sent.
 */
static int check_access(wbs__req *q, const struct route *r)
{
	int need = route_access(r);
	char what[160];
	wbs__err e = {0};

	if (q->via_session && strcmp(q->ri->request_method, "GET") != 0 && strcmp(q->ri->request_method, "HEAD") != 0) {
		const char *t = mg_get_header(q->conn, "X-CSRF-Token");
		if (!t || strlen(t) != strlen(q->who.csrf) || CRYPTO_memcmp(t, q->who.csrf, strlen(t)) != 0) {
			q->denied = 1;
			wbs__send_error(q, 403, "csrf", "missing or wrong X-CSRF-Token header");
			return -1;
		}
	}
	if (need == WBS__ACC_PUBLIC)
		return 0;
	if (need == WBS__ACC_USER) {
		if (q->user_id)
			return 0;
		deny(q, 403, "%s", "");
		return -1;
	}
	if (need == WBS__ACC_SERVER_ADMIN) {
		if (q->who.is_admin)
			return 0;
		deny(q, 403, "only a server admin may do this%s", "");
		return -1;
	}
	if (wbs__store_access(q->store, q->user_id, q->ref.entity, names_project(r) ? q->ref.project : NULL, &q->acc,
			      &e)) {
		wbs__send_store_error(q, &e);
		return -1;
	}
	if (need == WBS__ACC_ENTITY_READ || need == WBS__ACC_ENTITY_ADMIN) {
		int want = need == WBS__ACC_ENTITY_READ ? WBS__ROLE_VIEWER : WBS__ROLE_ADMIN;
		if (q->acc.entity_role >= want)
			return 0;
		deny(q, 403, "you are not %s of this user or team", want == WBS__ROLE_ADMIN ? "an admin" : "a member");
		return -1;
	}
	snprintf(what, sizeof(what), "%s/%s", q->ref.entity, q->ref.project);
	{
		int readable = q->acc.role >= WBS__ROLE_VIEWER || q->acc.is_public;
		int want = need == WBS__ACC_READ ? WBS__ROLE_VIEWER : need == WBS__ACC_WRITE ? WBS__ROLE_EDITOR : WBS__ROLE_ADMIN;
		if (need == WBS__ACC_READ && readable)
			return 0;
		if (q->acc.role >= want)
			return 0;
		if (!q->user_id || !readable) {
			deny(q, 404, "%s", what);
			return -1;
		}
		deny(q, 403, want == WBS__ROLE_ADMIN ? "you need the admin role on %s" : "you need the editor role on %s",
		     what);
		return -1;
	}
}

#define SESSION_TTL (14 * 24 * 3600)

void wbs__session_cookie(wbs__req *q, const char *token)
{
	/* HttpOnly: scripts never see it; SameSite=Strict: other sites' pages
	 * do not make the browser send it; Secure under TLS or when asked. */
	snprintf(q->set_cookie, sizeof(q->set_cookie), "wb_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
		 token ? token : "", token ? SESSION_TTL : 0,
		 q->secure_cookies || q->ri->is_ssl ? "; Secure" : "");
}

static void route(wbs__req *q)
{
	const char *names[3] = {"entity", "project", "run id"};
	const struct route *match = NULL;
	int path_known = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_matches(&routes[i], &q->path))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, q->ri->request_method) == 0 ||
		    (strcmp(routes[i].method, "GET") == 0 && strcmp(q->ri->request_method, "HEAD") == 0)) {
			match = &routes[i];
			break;
		}
	}
	if (!match) {
		if (path_known)
			wbs__send_error(q, 405, "method_not_allowed", "method %s is not allowed here",
				       q->ri->request_method);
		else
			wbs__send_error(q, 404, "not_found", "unknown route");
		return;
	}
	/* The pattern, for /metrics: /api/v1/projects/{entity}/{project}/runs/{run}/... */
	{
		static const char *const label[4] = {"{entity}", "{project}", "{run}", "{name}"};
		size_t o = (size_t)snprintf(q->route, sizeof(q->route), "/api/v1");
		int k = 0;
		for (size_t i = 0; i < match->nseg && o < sizeof(q->route); i++)
			o += (size_t)snprintf(q->route + o, sizeof(q->route) - o, "/%s",
					      strcmp(match->seg[i], "*") == 0 ? label[k < 3 ? k++ : 3] : match->seg[i]);
	}
	/* Named segments, in order: entity, project, run id. */
	{
		const char **dst[3] = {&q->ref.entity, &q->ref.project, &q->ref.run_id};
		int k = 0;
		for (size_t i = 0; i < match->nseg && k < 3; i++) {
			if (strcmp(match->seg[i], "*") != 0)
				continue;
			if (!wb__name_valid(q->path.seg[i])) {
				wbs__send_error(q, 400, "invalid_argument",
					       "%s must match [A-Za-z0-9_.-]{1,64} without a leading '.'", names[k]);
				return;
			}
			*dst[k++] = q->path.seg[i];
		}
	}
	if (check_access(q, match))
		return;
	match->fn(q);
}

static void req_init(wbs__req *q, struct mg_connection *conn, wbs__http *h)
{
	uint64_t n = atomic_fetch_add(&h->next_id, 1);

	const char *rid;
	struct timespec ts;

	memset(q, 0, sizeof(*q));
	q->conn = conn;
	q->ri = mg_get_request_info(conn);
	q->store = h->store;
	q->limiter = h->limiter;
	q->ops = h->ops;
	q->signin = h->signin;
	q->secure_cookies = h->secure_cookies;
	q->http = h;
	{
		const char *origin = mg_get_header(conn, "Origin");
		for (size_t i = 0; origin && i < h->ncors && !q->cors_origin; i++)
			if (strcmp(origin, h->cors[i]) == 0)
				q->cors_origin = h->cors[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	q->t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	/* A client's (or proxy's) id is kept when it is safe to echo and log. */
	rid = mg_get_header(conn, "X-Request-Id");
	if (rid && *rid && strlen(rid) < sizeof(q->id) && strspn(rid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
								  "0123456789._-") == strlen(rid))
		snprintf(q->id, sizeof(q->id), "%s", rid);
	else
		snprintf(q->id, sizeof(q->id), "%08x%08x", h->id_prefix, (unsigned)(n & 0xffffffffu));
}

/* Count q in /metrics (method names outside the known set are "OTHER"). */
static void count_request(const wbs__req *q, const char *route)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	const char *m = "OTHER";
	struct timespec ts;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(q->ri->request_method, known[i]) == 0)
			m = known[i];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	wbs__ops_count_request(q->ops, m, route, q->status, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - q->t0);
}

static void handle_api(wbs__req *q)
{
	int pr = wbs__path_split(q->ri->request_uri ? q->ri->request_uri : "", &q->path);

	if (pr == WBS__PATH_NOT_API) {
		wbs__send_error(q, 404, "not_found", "unknown route");
		return;
	}
	if (authenticate(q))
		return;
	if (pr != WBS__PATH_OK) {
		wbs__send_error(q, 400, "invalid_argument", "malformed path");
		return;
	}
	route(q);
}

/*
 * Close q's connection once the answer is out. civetweb 1.15 has no call
 * that only marks a server connection for closing; mg_send_http_error
 * does (must_close), and with status 204 after the answer was sent it
 * writes nothing (the headers are out, a 204 has no body). Without it
 * civetweb would read and drop the rest of the declared body, at the
 * client's pace, to keep the connection (a 2 GB body at 60 s a read).
 */
static void close_after_answer(struct mg_connection *conn)
{
	mg_send_http_error(conn, 204, "%s", "");
}

/* The end of a request: give back its body budget, and close the
 * connection when its body was not read to the end (every handler). */
static void req_end(wbs__http *h, wbs__req *q)
{
	if (q->body_held)
		wbs__budget_give(&h->bodies, q->body_held);
	q->body_held = 0;
	if (wbs__body_unread(q)) {
		wbs__body_drain(q);
		close_after_answer(q->conn);
	} else if (q->close) {
		close_after_answer(q->conn);
	}
}

/*
 * A CORS preflight from an origin the operator allowed: 204 with the
 * grants. Methods are the API's; headers those the SDK and the UI send.
 * Other preflights go on to routing and get no grant (405: the API has no
 * OPTIONS route), so a browser refuses the cross-origin call.
 */
static int cors_preflight(wbs__req *q)
{
	if (strcmp(q->ri->request_method, "OPTIONS") != 0 || !q->cors_origin ||
	    !mg_get_header(q->conn, "Access-Control-Request-Method"))
		return 0;
	q->status = 204;
	mg_response_header_start(q->conn, 204);
	mg_response_header_add(q->conn, "Access-Control-Allow-Origin", q->cors_origin, -1);
	mg_response_header_add(q->conn, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE", -1);
	mg_response_header_add(q->conn, "Access-Control-Allow-Headers",
			       "Authorization, Content-Type, Content-Encoding, X-Request-Id, X-CSRF-Token", -1);
	mg_response_header_add(q->conn, "Access-Control-Max-Age", "600", -1);
	mg_response_header_add(q->conn, "Vary", "Origin", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	mg_response_header_add(q->conn, "Content-Length", "0", -1);
	mg_response_header_send(q->conn);
	return 1;
}

static int on_api(struct mg_connection *conn, void *cbdata)
{
	wbs__http *h = cbdata;
	wbs__req q;

	req_init(&q, conn, h);
	if (cors_preflight(&q)) {
		req_end(h, &q);
		count_request(&q, "/api/v1/preflight");
		return q.status;
	}
	if (inflight_enter(h)) {
		wbs__send_error(&q, 503, "unavailable", "the server is shutting down");
		req_end(h, &q);
		return q.status;
	}
	handle_api(&q);
	req_end(h, &q);
	inflight_leave(h);
	count_request(&q, q.route[0] ? q.route : "/api/v1/unmatched");
	if (q.status >= 200 && q.status < 400)
		wbs__log(WBS__LOG_DEBUG, "request", "req=%s method=%s status=%d", q.id, q.ri->request_method, q.status);
	return q.status ? q.status : 500;
}

static int on_healthz(struct mg_connection *conn, void *cbdata)
{
	wbs__req q;
	wbs__buf b;

	req_init(&q, conn, cbdata);
	if (strcmp(q.ri->request_uri, "/healthz") != 0) {
		wbs__send_error(&q, 404, "not_found", "unknown route");
		req_end(cbdata, &q);
		return q.status;
	}
	wbs__buf_init(&b, 64);
	wbs__buf_puts(&b, "{\"ok\":true}");
	wbs__send_json(&q, 200, &b);
	wbs__buf_free(&b);
	req_end(cbdata, &q);
	return 200;
}

/* GET /readyz: 200 when the store takes writes (see wbs__store_ready), 503
 * while shutting down or when it cannot. No authentication. */
static int on_readyz(struct mg_connection *conn, void *cbdata)
{
	wbs__http *h = cbdata;
	wbs__req q;
	wbs__err e = {0};
	wbs__buf b;
	int draining;

	req_init(&q, conn, h);
	if (strcmp(q.ri->request_uri, "/readyz") != 0) {
		wbs__send_error(&q, 404, "not_found", "unknown route");
		req_end(h, &q);
		return q.status;
	}
	pthread_mutex_lock(&h->mu);
	draining = h->draining;
	pthread_mutex_unlock(&h->mu);
	if (draining) {
		wbs__send_error(&q, 503, "unavailable", "the server is shutting down");
	} else if (wbs__store_ready(h->store, &e) != WBS__ST_OK) {
		wbs__send_error(&q, 503, "unavailable", "not ready: %s", e.msg);
	} else {
		wbs__buf_init(&b, 64);
		wbs__buf_puts(&b, "{\"ready\":true}");
		wbs__send_json(&q, 200, &b);
		wbs__buf_free(&b);
	}
	req_end(h, &q);
	count_request(&q, "/readyz");
	return q.status;
}

/* GET /metrics: the Prometheus text format. No authentication: it holds
 * counters and route patterns, no names of users, projects or runs. */
static int on_metrics(struct mg_connection *conn, void *cbdata)
{
	wbs__http *h = cbdata;
	wbs__req q;
	wbs__buf b;
	char clen[24];

	req_init(&q, conn, h);
	if (strcmp(q.ri->request_uri, "/metrics") != 0) {
		wbs__send_error(&q, 404, "not_found", "unknown route");
		req_end(h, &q);
		return q.status;
	}
	q.status = 200;
	count_request(&q, "/metrics"); /* counted before rendering, as a 200 */
	wbs__buf_init(&b, 1u << 20);
	wbs__ops_render_metrics(&b, h->ops, h->store, atomic_load(&h->notifier));
	if (b.err) {
		wbs__send_error(&q, 500, "internal", "metrics are too large or out of memory");
	} else {
		q.status = 200;
		snprintf(clen, sizeof(clen), "%zu", b.len);
		mg_response_header_start(conn, 200);
		mg_response_header_add(conn, "Content-Type", "text/plain; version=0.0.4; charset=utf-8", -1);
		mg_response_header_add(conn, "Content-Length", clen, -1);
		mg_response_header_add(conn, "Cache-Control", "no-store", -1);
		mg_response_header_add(conn, "X-Request-Id", q.id, -1);
		mg_response_header_send(conn);
		if (strcmp(q.ri->request_method, "HEAD") != 0)
			mg_write(conn, b.p, b.len);
	}
	wbs__buf_free(&b);
	req_end(h, &q);
	return q.status;
}

static int on_other(struct mg_connection *conn, void *cbdata)
{
	wbs__http *h = cbdata;
	wbs__req q;

	req_init(&q, conn, h);
	wbs__static_serve(&q, h->web_dir);
	req_end(h, &q);
	return q.status ? q.status : 500;
}

static int on_log(const struct mg_connection *conn, const char *message)
{
	char qm[600];
	(void)conn;
	wbs__log(WBS__LOG_WARN, "civetweb", "detail=%s", wbs__log_quote(qm, sizeof(qm), message));
	return 1;
}

/*
 * civetweb's init_ssl callback, called inside mg_start() with its SSL_CTX:
 * load the certificate chain and the private key (two PEM files) and check
 * that they belong together. Returns 1 (done: civetweb loads nothing
 * itself) or -1 with the reason in h->tls_err, which fails mg_start().
 */
static int on_init_ssl(void *ssl_ctx, void *user_data)
{
	SSL_CTX *ctx = ssl_ctx;
	wbs__http *h = user_data;
	const char *what = NULL, *file = NULL;
	char reason[256] = "";

	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, h->tls_cert) != 1) {
		what = "cannot use the certificate";
		file = h->tls_cert;
	} else if (SSL_CTX_use_PrivateKey_file(ctx, h->tls_key, SSL_FILETYPE_PEM) != 1) {
		what = "cannot use the private key";
		file = h->tls_key;
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		what = "the private key does not match the certificate";
		file = h->tls_key;
	}
	if (!what)
		return 1;
	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	ERR_clear_error();
	snprintf(h->tls_err, sizeof(h->tls_err), "%s %.150s: %.200s", what, file, reason[0] ? reason : "unknown error");
	return -1;
}

int wbs__http_start(wbs__http **out, const wbs__http_opts *o, char *url, size_t cap, char *err, size_t errlen)
{
	struct mg_callbacks cb;
	struct mg_server_port ports[4];
	char listen[300], threads[16], header_ms[16], keepalive_ms[16];
	const char *options[32];
	wbs__http *h;
	int n, k = 0;
	int v6 = strchr(o->host, ':') != NULL, tls;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->store = o->store;
	wbs__store_set_sweep_judge(h->store, wbs__sweep_judge, NULL); /* early stopping, at ingest */
	h->secure_cookies = o->secure_cookies;
	if (o->web_dir && *o->web_dir && !(h->web_dir = strdup(o->web_dir))) {
		snprintf(err, errlen, "out of memory");
		free(h);
		return -1;
	}
	if (wbs__limiter_new(&h->limiter, o->rate_limit, o->rate_burst) || wbs__ops_new(&h->ops) ||
	    wbs__signin_new(&h->signin)) {
		snprintf(err, errlen, "out of memory");
		wbs__limiter_free(h->limiter);
		wbs__ops_free(h->ops);
		free(h->web_dir);
		free(h);
		return -1;
	}
	atomic_init(&h->notifier, NULL);
	if (getrandom(&h->id_prefix, sizeof(h->id_prefix), GRND_NONBLOCK) != sizeof(h->id_prefix))
		h->id_prefix = (uint32_t)getpid();
	atomic_init(&h->next_id, 1);
	atomic_init(&h->bodies.used, 0);
	h->bodies.cap = BODY_BUDGET;
	if (o->cors_origins && *o->cors_origins) {
		char *save = NULL;
		if (!(h->cors_buf = strdup(o->cors_origins))) {
			snprintf(err, errlen, "out of memory");
			wbs__limiter_free(h->limiter);
			wbs__ops_free(h->ops);
			wbs__signin_free(h->signin);
			free(h->web_dir);
			free(h);
			return -1;
		}
		for (char *t = strtok_r(h->cors_buf, ", \t", &save); t && h->ncors < CORS_ORIGINS_MAX;
		     t = strtok_r(NULL, ", \t", &save))
			h->cors[h->ncors++] = t;
	}
	pthread_mutex_init(&h->mu, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->idle, &ca);
		pthread_condattr_destroy(&ca);
	}
	/* A trailing 's' makes civetweb's port an HTTPS port. */
	tls = o->tls_cert && *o->tls_cert;
	snprintf(listen, sizeof(listen), v6 ? "[%s]:%d%s" : "%s:%d%s", o->host, o->port, tls ? "s" : "");
	snprintf(threads, sizeof(threads), "%d", o->threads > 0 ? o->threads : WBS__HTTP_THREADS_DEFAULT);
	snprintf(header_ms, sizeof(header_ms), "%d", HEADER_TIMEOUT_MS);
	snprintf(keepalive_ms, sizeof(keepalive_ms), "%d", KEEPALIVE_MS);
	options[k++] = "listening_ports";
	options[k++] = listen;
	options[k++] = "num_threads";
	options[k++] = threads;
	/* Accepted connections wait here while every worker is busy, and in
	 * the kernel's backlog before that: a 256-rank job connects at once. */
	options[k++] = "connection_queue";
	options[k++] = "1024";
	options[k++] = "listen_backlog";
	options[k++] = "1024";
	options[k++] = "request_timeout_ms";
	options[k++] = header_ms;
	options[k++] = "enable_keep_alive";
	options[k++] = "yes";
	options[k++] = "keep_alive_timeout_ms";
	options[k++] = keepalive_ms;
	options[k++] = "tcp_nodelay";
	options[k++] = "1";
	/* No CORS from civetweb (its defaults grant "*" to every preflight):
	 * cors_preflight and send_body grant only the configured origins. */
	options[k++] = "access_control_allow_origin";
	options[k++] = "";
	options[k++] = "access_control_allow_methods";
	options[k++] = "";
	options[k++] = "access_control_allow_headers";
	options[k++] = "";
	/* Keep request_uri raw: wbs__path_split decodes after splitting (see httputil.c). */
	options[k++] = "decode_url";
	options[k++] = "no";
	options[k++] = NULL;
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log;
	if (tls) {
		h->tls_cert = o->tls_cert;
		h->tls_key = o->tls_key;
		cb.init_ssl = on_init_ssl;
	}
	mg_init_library(tls ? MG_FEATURES_TLS : 0);
	h->ctx = mg_start(&cb, h, options);
	h->tls_cert = h->tls_key = NULL;
	if (!h->ctx) {
		if (h->tls_err[0])
			snprintf(err, errlen, "tls: %s", h->tls_err);
		else
			snprintf(err, errlen, "cannot listen on %s", listen);
		h->ctx = NULL;
		wbs__http_stop(h);
		return -1;
	}
	mg_set_request_handler(h->ctx, "/api/v1", on_api, h);
	mg_set_request_handler(h->ctx, "/healthz", on_healthz, h);
	mg_set_request_handler(h->ctx, "/readyz", on_readyz, h);
	mg_set_request_handler(h->ctx, "/metrics", on_metrics, h);
	mg_set_request_handler(h->ctx, "/", on_other, h);
	memset(ports, 0, sizeof(ports));
	n = mg_get_server_ports(h->ctx, 4, ports);
	if (n < 1 || ports[0].port <= 0) {
		snprintf(err, errlen, "cannot learn the listening port");
		wbs__http_stop(h);
		return -1;
	}
	{
		/* A wildcard address is reached through loopback. */
		const char *host = o->host;
		if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "") == 0)
			host = "127.0.0.1";
		else if (strcmp(host, "::") == 0)
			host = "::1";
		snprintf(url, cap, strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", tls ? "https" : "http", host,
			 ports[0].port);
	}
	*out = h;
	return 0;
}

void wbs__http_drain(wbs__http *h, double timeout)
{
	struct timespec until;

	if (!h)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)timeout;
	pthread_mutex_lock(&h->mu);
	h->draining = 1;
	while (h->inflight > 0)
		if (pthread_cond_timedwait(&h->idle, &h->mu, &until) == ETIMEDOUT)
			break;
	if (h->inflight > 0)
		wbs__log(WBS__LOG_WARN, "requests still running at shutdown", "count=%u", h->inflight);
	pthread_mutex_unlock(&h->mu);
}

void wbs__http_stop(wbs__http *h)
{
	if (!h)
		return;
	if (h->ctx)
		mg_stop(h->ctx);
	mg_exit_library();
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->idle);
	free(h->web_dir);
	free(h->cors_buf);
	wbs__limiter_free(h->limiter);
	wbs__ops_free(h->ops);
	wbs__signin_free(h->signin);
	free(h);
}

void wbs__http_set_notifier(wbs__http *h, wbs__notifier *n)
{
	if (h)
		atomic_store(&h->notifier, n);
}

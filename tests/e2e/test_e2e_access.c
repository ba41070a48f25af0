/*
 * End-to-end: accounts and permissions of a real `wb server`.
 *
 *  - walk: EVERY route of the server's route table (read from the table
 *    itself, wbs__route_info, so a route added later is walked too) as an
 *    outsider (no credentials), a signed-in non-member, a viewer, an
 *    editor, a project admin and the server admin, on a private and a
 *    public project. A denial must be exactly the answer the route's
 *    declared access gives for that caller (401 outsider, 404 private
 *    project not visible, 403 visible but not allowed) and be marked
 *    X-Wb-Denied; an allowed call must not be a denial nor a 5xx.
 *  - sessions: setup link → password → session cookie (HttpOnly,
 *    SameSite=Strict), CSRF required on state changes made with the
 *    cookie, login with a wrong password is 401, logout ends the session,
 *    the cookie is Secure with --secure-cookies 1; the password is stored
 *    as an scrypt hash, tokens only as hashes.
 *  - keys: created (shown once), listed by prefix only, revoked keys stop
 *    working at once; `wb login` checks a key and stores it for the SDK.
 *  - reports: versions, optimistic concurrency (409), per-version reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "http/http_int.h"
#include "wb.h"

/* ---- requests (harness.c's wbt_request) ---- */

typedef wbt_reply resp;

static void req(const wbt_server *s, const char *method, const char *path, const char *body, const char *auth,
		const char *csrf, resp *r)
{
	assert_int_equal(wbt_request(s, method, path, body, auth, csrf, r), 0);
}

static void resp_free(resp *r)
{
	wbt_reply_free(r);
}

static int denied(const resp *r)
{
	return strstr(r->headers, "X-Wb-Denied: 1") != NULL;
}

/* A string member of the JSON body (copied into out). */
static void member(const resp *r, const char *name, char *out, size_t cap)
{
	cJSON *j = cJSON_Parse(r->body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	assert_true(cJSON_IsString(v) || cJSON_IsNumber(v));
	if (cJSON_IsString(v))
		snprintf(out, cap, "%s", v->valuestring);
	else
		snprintf(out, cap, "%lld", (long long)v->valuedouble);
	cJSON_Delete(j);
}

/* The wb_session cookie of a Set-Cookie header, as "wb_session=VALUE". */
static void session_cookie(const resp *r, char *out, size_t cap)
{
	assert_int_equal(wbt_session_cookie(r->headers, out, cap), 0);
}

/* ---- fixture: users, a team, two projects ---- */

enum { R_ANON, R_NONMEMBER, R_VIEWER, R_EDITOR, R_ADMIN, R_ROOT, R__N };
static const char *const role_names[R__N] = {"outsider", "non-member", "viewer", "editor", "admin", "server admin"};
static const char *const user_names[R__N] = {NULL, "nm", "vw", "ed", "ad", "admin"};

typedef struct fx {
	wbt_server s;
	char auth[R__N][160]; /* "Bearer KEY" or "" */
	char report[2][16];   /* report id in lab/secret, lab/open */
} fx;

/* Create user name through the admin API, set a password through its setup link; its session cookie and csrf. */
static void make_user(fx *f, const char *name, const char *password, char *cookie, size_t ccap, char *csrf, size_t xcap)
{
	char body[512], path[256], token[128];
	resp r;

	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	req(&f->s, "POST", "/api/v1/users", body, f->auth[R_ROOT], NULL, &r);
	assert_int_equal(r.status, 201);
	member(&r, "setup_path", path, sizeof(path));
	resp_free(&r);
	assert_non_null(strstr(path, "/setup?token="));
	snprintf(token, sizeof(token), "%s", strstr(path, "token=") + 6);
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
	req(&f->s, "POST", "/api/v1/auth/setup", body, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	session_cookie(&r, cookie, ccap);
	member(&r, "csrf", csrf, xcap);
	resp_free(&r);
	/* A setup link works once. */
	req(&f->s, "POST", "/api/v1/auth/setup", body, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
}

static void ok(fx *f, int role, const char *method, const char *path, const char *body, long want)
{
	resp r;
	req(&f->s, method, path, body, f->auth[role], NULL, &r);
	if (r.status != want)
		fprintf(stderr, "%s %s as %s: %ld %s\n", method, path, role_names[role], r.status, r.body);
	assert_int_equal(r.status, want);
	resp_free(&r);
}

static char rundir_root[256];

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	if (wbt_runs_dir(rundir_root, sizeof(rundir_root), "runs") < 0)
		return -1;
	char cookie[128], csrf[96], body[256];
	resp r;

	if (!f || wbt_server_start(&f->s, NULL))
		return -1;
	snprintf(f->auth[R_ROOT], sizeof(f->auth[0]), "Bearer %s", f->s.key);
	for (int i = R_NONMEMBER; i <= R_ADMIN; i++) {
		char key[128];
		make_user(f, user_names[i], "correct horse battery", cookie, sizeof(cookie), csrf, sizeof(csrf));
		/* Each user's own API key, made with the session (and its CSRF token). */
		req(&f->s, "POST", "/api/v1/keys", "{\"name\":\"walk\"}", cookie, csrf, &r);
		assert_int_equal(r.status, 201);
		member(&r, "key", key, sizeof(key));
		resp_free(&r);
		snprintf(f->auth[i], sizeof(f->auth[0]), "Bearer %s", key);
	}
	make_user(f, "sp", "correct horse battery", cookie, sizeof(cookie), csrf, sizeof(csrf));
	ok(f, R_ADMIN, "POST", "/api/v1/teams", "{\"name\":\"lab\"}", 201);
	ok(f, R_ADMIN, "PUT", "/api/v1/teams/lab/members/sp", "{\"role\":\"viewer\"}", 200);
	ok(f, R_ADMIN, "PUT", "/api/v1/projects/lab/secret", "{\"visibility\":\"private\"}", 200);
	ok(f, R_ADMIN, "PUT", "/api/v1/projects/lab/open", "{\"visibility\":\"public\"}", 200);
	for (int p = 0; p < 2; p++) {
		const char *proj = p ? "open" : "secret";
		char path[256];
		static const char *const who[] = {"vw", "ed", "sp"};
		static const char *const role[] = {"viewer", "editor", "viewer"};
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "/api/v1/projects/lab/%s/members/%s", proj, who[k]);
			snprintf(body, sizeof(body), "{\"role\":\"%s\"}", role[k]);
			ok(f, R_ADMIN, "PUT", path, body, 200);
		}
		/* Run r1 of group g1 with a metric, through the SDK (the server admin's key from the settings file). */
		{
			wb_init_options o = WB_INIT_OPTIONS_INIT;
			wb_run *run = NULL;
			o.entity = "lab";
			o.project = proj;
			o.run_id = "r1";
			o.group = "g1";
			o.mode = WB_MODE_ONLINE;
			o.finish_timeout_ms = 60000;
			o.disable_git = 1;
			o.system_sample_ms = -1;
			if (wb_init(&run, &o) != WB_OK)
				return -1;
			WB_LOG(run, 0, {"loss", 1.0});
			WB_LOG(run, 1, {"loss", 0.5});
			if (wb_finish(run, 0) != WB_OK)
				return -1;
		}
		snprintf(path, sizeof(path), "/api/v1/projects/lab/%s/reports", proj);
		req(&f->s, "POST", path, "{\"title\":\"t\",\"body\":\"b\"}", f->auth[R_EDITOR], NULL, &r);
		assert_int_equal(r.status, 201);
		member(&r, "id", f->report[p], sizeof(f->report[p]));
		resp_free(&r);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	if (f) {
		wbt_server_cleanup(&f->s);
		free(f);
	}
	wbt_rm_rf(rundir_root);
	return 0;
}

/* ---- the walk ---- */

/* The status a denial must have, or 0 when role may call a route needing access (on a public project or not). */
static long expected(int access, int role, int is_public)
{
	int project_role = role == R_ROOT || role == R_ADMIN ? WBS__ROLE_ADMIN
			   : role == R_EDITOR			? WBS__ROLE_EDITOR
			   : role == R_VIEWER			? WBS__ROLE_VIEWER
								: WBS__ROLE_NONE;
	int readable = project_role >= WBS__ROLE_VIEWER || is_public;
	int want;

	switch (access) {
	case WBS__ACC_PUBLIC: return 0;
	case WBS__ACC_USER: return role == R_ANON ? 401 : 0;
	case WBS__ACC_SERVER_ADMIN: return role == R_ANON ? 401 : role == R_ROOT ? 0 : 403;
	case WBS__ACC_ENTITY_READ:
	case WBS__ACC_ENTITY_ADMIN:
		/* the entity walked is the team lab (ad is its admin; sp, not walked, its viewer) or the user ad */
		return role == R_ANON ? 401 : role == R_ADMIN || role == R_ROOT ? 0 : 403;
	case WBS__ACC_READ: want = WBS__ROLE_VIEWER; break;
	case WBS__ACC_WRITE: want = WBS__ROLE_EDITOR; break;
	case WBS__ACC_ADMIN: want = WBS__ROLE_ADMIN; break;
	default: fail_msg("route access %d has no expectation in this test", access); return -1;
	}
	if (want == WBS__ROLE_VIEWER && readable)
		return 0;
	if (project_role >= want)
		return 0;
	if (role == R_ANON)
		return 401;
	return readable ? 403 : 404;
}

/* Fill pattern's "*" segments for project p (0 secret, 1 open). Returns how many
 * segments had no fixture (filled with "x": a route added later). */
static int fill(const fx *f, const char *pattern, int p, char *out, size_t cap)
{
	int unknown = 0;
	char tmp[512], *save = NULL, *seg, prev[64] = "";
	size_t o = 0;
	int star = 0;

	snprintf(tmp, sizeof(tmp), "%s", pattern);
	out[0] = '\0';
	for (seg = strtok_r(tmp, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		const char *v = seg;
		if (strcmp(seg, "*") == 0) {
			star++;
			if (strcmp(prev, "projects") == 0)
				v = "lab";
			else if (star == 2 && strncmp(pattern, "/api/v1/projects/", 17) == 0)
				v = p ? "open" : "secret";
			else if (strcmp(prev, "runs") == 0)
				v = "r1";
			else if (strcmp(prev, "groups") == 0)
				v = "g1";
			else if (strcmp(prev, "reports") == 0)
				v = f->report[p];
			else if (strcmp(prev, "members") == 0)
				v = "sp";
			else if (strcmp(prev, "versions") == 0)
				v = "1";
			else if (strcmp(prev, "code") == 0)
				v = "diff.patch";
			else if (strcmp(prev, "keys") == 0)
				v = "999999";
			else if (strcmp(prev, "users") == 0)
				v = "ad";
			else if (strcmp(prev, "teams") == 0)
				v = "lab";
			else {
				v = "x";
				unknown++;
			}
		}
		o += (size_t)snprintf(out + o, cap - o, "/%s", v);
		snprintf(prev, sizeof(prev), "%s", seg);
	}
	return unknown;
}

struct walk_route {
	const char *method;
	char pattern[256];
	int access, nseg;
};

/* Walk order: reads and writes first, then deletes, the deepest first (the project itself last). */
static int walk_cmp(const void *a, const void *b)
{
	const struct walk_route *x = a, *y = b;
	int dx = strcmp(x->method, "DELETE") == 0, dy = strcmp(y->method, "DELETE") == 0;
	if (dx != dy)
		return dx - dy;
	if (dx && x->nseg != y->nseg)
		return y->nseg - x->nseg;
	return 0;
}

static void test_e2e_access__walk_every_route(void **state)
{
	fx *f = *state;
	size_t n = wbs__route_count(), checked = 0;
	struct walk_route *rs = calloc(n, sizeof(*rs));

	assert_non_null(rs);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		wbs__route_info(i, &rs[i].method, rs[i].pattern, sizeof(rs[i].pattern), &rs[i].access);
		for (const char *c = rs[i].pattern; *c; c++)
			rs[i].nseg += *c == '/';
	}
	qsort(rs, n, sizeof(*rs), walk_cmp);
	for (size_t i = 0; i < n; i++) {
		int in_project = strncmp(rs[i].pattern, "/api/v1/projects/*/*", 20) == 0;
		/* The declarations themselves: what a project's route may ask for at the least, and
		 * the only routes open to everyone. */
		if (in_project && strcmp(rs[i].method, "GET") != 0 && rs[i].access != WBS__ACC_WRITE &&
		    rs[i].access != WBS__ACC_ADMIN)
			fail_msg("%s %s changes a project but does not need write access", rs[i].method, rs[i].pattern);
		if (in_project && rs[i].access < WBS__ACC_READ)
			fail_msg("%s %s does not need read access to its project", rs[i].method, rs[i].pattern);
		if (rs[i].access == WBS__ACC_PUBLIC && strncmp(rs[i].pattern, "/api/v1/auth/", 13) != 0 &&
		    strcmp(rs[i].pattern, "/api/v1/projects") != 0)
			fail_msg("%s %s is open to everyone", rs[i].method, rs[i].pattern);
		for (int p = 0; p < (in_project ? 2 : 1); p++) {
			char path[600];
			int unknown = fill(f, rs[i].pattern, p, path, sizeof(path)), query = 0;
			if (strlen(rs[i].pattern) > 8 && strcmp(rs[i].pattern + strlen(rs[i].pattern) - 8, "/history") == 0)
			{
				strcat(path, "?key=loss&runs=r1"); /* what a history read needs */
				query = 1;
			}
			for (int role = 0; role < R__N; role++) {
				long want = expected(rs[i].access, role, in_project && p == 1);
				int is_get = strcmp(rs[i].method, "GET") == 0;
				resp r;
				/* Writes carry a harmless, invalid body: an allowed call answers 4xx from its
				 * handler, so the walk changes little. */
				req(&f->s, rs[i].method, path, is_get ? NULL : "{\"walk\":1}", role == R_ANON ? NULL : f->auth[role],
				    NULL, &r);
				if (want) {
					if (r.status != want || !denied(&r))
						fail_msg("%s %s as %s: want denial %ld, got %ld %s", rs[i].method, path,
							 role_names[role], want, r.status, r.body);
				} else if (r.status == 401 || r.status == 403 || r.status >= 500 || denied(&r) ||
					   (is_get && r.status != 200 && !unknown && !strstr(rs[i].pattern, "/code") &&
					    !(r.status == 400 && !query))) {
					/* An allowed read of the fixture answers 200 (it has no code capture: 404
					 * there; a route added later may need a query parameter this walk does not
					 * know, 400, or name things the fixture lacks, "x"). */
					fail_msg("%s %s as %s: want allowed, got %ld %s", rs[i].method, path, role_names[role],
						 r.status, r.body);
				}
				checked++;
				resp_free(&r);
			}
		}
	}
	fprintf(stderr, "walked %zu routes, %zu calls\n", n, checked);
	free(rs);
}

/*
 * The contract says what every route needs: schema/openapi.yaml has one
 * operation per route of the table, each with the route's x-wb-access, and
 * nothing under /api/v1 the server does not route.
 */
static void test_e2e_access__contract_declares_access(void **state)
{
	static const char *const names[] = {
	    [WBS__ACC_PUBLIC] = "public",	    [WBS__ACC_USER] = "user",
	    [WBS__ACC_READ] = "read",		    [WBS__ACC_WRITE] = "write",
	    [WBS__ACC_ADMIN] = "admin",		    [WBS__ACC_ENTITY_READ] = "entity_read",
	    [WBS__ACC_ENTITY_ADMIN] = "entity_admin", [WBS__ACC_SERVER_ADMIN] = "server_admin",
	};
	struct op {
		char method[8], pattern[300], access[64];
	} *ops = NULL;
	size_t nops = 0, cap = 0, n = wbs__route_count();
	char line[1024], path[300] = "";
	FILE *f = fopen(WBT_OPENAPI, "r");
	(void)state;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char m[16], v[64];
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == ' ' && line[1] == ' ' && line[2] == '/' && line[strlen(line) - 1] == ':') {
			/* a path line; each "{name}" segment becomes the table's "*" */
			size_t o = 0;
			for (const char *c = line + 2; *c && *c != ':' && o + 2 < sizeof(path); c++) {
				if (*c == '{') {
					path[o++] = '*';
					while (*c && *c != '}')
						c++;
				} else {
					path[o++] = *c;
				}
			}
			path[o] = '\0';
		} else if (sscanf(line, "    %15[a-z]%1[:]", m, v) == 2 && line[4] != ' ' &&
			   strncmp(path, "/api/v1/", 8) == 0 &&
			   (!strcmp(m, "get") || !strcmp(m, "post") || !strcmp(m, "put") || !strcmp(m, "patch") ||
			    !strcmp(m, "delete"))) {
			if (nops == cap) {
				ops = realloc(ops, (cap = cap ? 2 * cap : 64) * sizeof(*ops));
				assert_non_null(ops);
			}
			memset(&ops[nops], 0, sizeof(ops[nops]));
			for (size_t k = 0; m[k] && k < 7; k++)
				ops[nops].method[k] = (char)(m[k] - 'a' + 'A');
			snprintf(ops[nops].pattern, sizeof(ops[nops].pattern), "%s", path);
			nops++;
		} else if (sscanf(line, "      x-wb-access: %63s", v) == 1 && nops) {
			snprintf(ops[nops - 1].access, sizeof(ops[nops - 1].access), "%s", v);
		}
	}
	fclose(f);
	assert_int_equal(nops, n);
	for (size_t i = 0; i < n; i++) {
		const char *method;
		char pattern[300];
		int access, found = 0;
		wbs__route_info(i, &method, pattern, sizeof(pattern), &access);
		for (size_t k = 0; k < nops && !found; k++) {
			if (strcmp(ops[k].method, method) != 0 || strcmp(ops[k].pattern, pattern) != 0)
				continue;
			found = 1;
			if (strcmp(ops[k].access, names[access]) != 0)
				fail_msg("%s %s: openapi.yaml says x-wb-access '%s', the server checks '%s'", method, pattern,
					 ops[k].access, names[access]);
		}
		if (!found)
			fail_msg("%s %s is routed but not in openapi.yaml", method, pattern);
	}
	free(ops);
}

/* Public project readable without credentials; the private one is 401, and absent from the list. */
static void test_e2e_access__public_private(void **state)
{
	fx *f = *state;
	resp r;

	req(&f->s, "PUT", "/api/v1/projects/lab/pub2", "{\"visibility\":\"public\"}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	req(&f->s, "PUT", "/api/v1/projects/lab/priv2", NULL, f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"visibility\":\"private\""));
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"pub2\""));
	assert_null(strstr(r.body, "\"priv2\""));
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects", NULL, f->auth[R_NONMEMBER], NULL, &r);
	assert_null(strstr(r.body, "\"priv2\""));
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects/lab/priv2/runs", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects/lab/pub2/runs", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* Made private again: outsiders lose it at once. */
	req(&f->s, "PUT", "/api/v1/projects/lab/pub2", "{\"visibility\":\"private\"}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects/lab/pub2/runs", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* Bad visibility, bad role, unknown member. */
	req(&f->s, "PUT", "/api/v1/projects/lab/pub2", "{\"visibility\":\"world\"}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	req(&f->s, "PUT", "/api/v1/projects/lab/pub2/members/vw", "{\"role\":\"owner\"}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	req(&f->s, "PUT", "/api/v1/projects/lab/pub2/members/nobody", "{\"role\":\"viewer\"}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	/* A user's own entity: nm may create projects under nm, not under lab or another user. */
	req(&f->s, "PUT", "/api/v1/projects/nm/mine/runs/a", "{}", f->auth[R_NONMEMBER], NULL, &r);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	req(&f->s, "PUT", "/api/v1/projects/ed/theirs/runs/a", "{}", f->auth[R_NONMEMBER], NULL, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	/* Names are one namespace: no team named like a user. */
	req(&f->s, "POST", "/api/v1/teams", "{\"name\":\"ed\"}", f->auth[R_NONMEMBER], NULL, &r);
	assert_int_equal(r.status, 409);
	resp_free(&r);
}

static void test_e2e_access__sessions_csrf_keys(void **state)
{
	fx *f = *state;
	char cookie[128], csrf[96], key[128], bearer[160], id[16], path[64], db[400];
	resp r;

	/* Wrong password, unknown user: the same 401. */
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"vw\",\"password\":\"wrong password\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_null(strstr(r.headers, "Set-Cookie"));
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"ghost\",\"password\":\"wrong password\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* Login must be JSON (a cross-site form cannot post it). */
	{
		static const char form[] = "name=vw&password=correct+horse+battery";
		const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
		wbt_response fr;
		assert_int_equal(wbt_http(&f->s, "POST", "/api/v1/auth/login", form, sizeof(form) - 1, h, 0, &fr), 0);
		assert_int_equal(fr.status, 415);
		wbt_response_free(&fr);
	}
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"vw\",\"password\":\"correct horse battery\"}", NULL, NULL,
	    &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "HttpOnly"));
	assert_non_null(strstr(r.headers, "SameSite=Strict"));
	assert_null(strstr(r.headers, "Secure"));
	session_cookie(&r, cookie, sizeof(cookie));
	member(&r, "csrf", csrf, sizeof(csrf));
	resp_free(&r);
	/* Reads with the cookie alone; state changes need the CSRF header. */
	req(&f->s, "GET", "/api/v1/projects/lab/secret/runs", NULL, cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/keys", "{\"name\":\"k\"}", cookie, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "\"csrf\""));
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/keys", "{\"name\":\"k\"}", cookie, "wb_wrongwrongwrongwrongwrongwrongwrongwrong", &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/keys", "{\"name\":\"laptop\"}", cookie, csrf, &r);
	assert_int_equal(r.status, 201);
	member(&r, "key", key, sizeof(key));
	member(&r, "id", id, sizeof(id));
	resp_free(&r);
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	/* Listed by prefix: the key itself is never shown again. */
	req(&f->s, "GET", "/api/v1/keys", NULL, bearer, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, key));
	assert_non_null(strstr(r.body, "\"laptop\""));
	{
		char pre[16];
		snprintf(pre, sizeof(pre), "%.7s", key);
		assert_non_null(strstr(r.body, pre));
	}
	resp_free(&r);
	/* `wb login` checks the key and stores it. */
	{
		char cmd[2048], cfg[400], settings[4096] = "";
		FILE *fp;
		size_t n;
		snprintf(cfg, sizeof(cfg), "%s/login-config", f->s.root);
		snprintf(cmd, sizeof(cmd), "WB_CONFIG_DIR=%s %s login --host %s --key wb_notakeynotakeynotakeynotakeynotakey0000 >/dev/null 2>&1",
			 cfg, wbt_wb_bin(), f->s.url);
		assert_int_not_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "echo %s | WB_CONFIG_DIR=%s WB_API_KEY= %s login --host %s >/dev/null 2>&1", key,
			 cfg, wbt_wb_bin(), f->s.url);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/settings", cfg);
		assert_non_null(fp = fopen(cmd, "r"));
		n = fread(settings, 1, sizeof(settings) - 1, fp);
		settings[n] = '\0';
		fclose(fp);
		assert_non_null(strstr(settings, key));
		assert_non_null(strstr(settings, f->s.url));
	}
	/* Someone else cannot revoke it; its owner can, and it stops working at once. */
	snprintf(path, sizeof(path), "/api/v1/keys/%s", id);
	req(&f->s, "DELETE", path, NULL, f->auth[R_EDITOR], NULL, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	req(&f->s, "DELETE", path, NULL, cookie, csrf, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/keys", NULL, bearer, NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* Logout ends the session (it needs the CSRF token too). */
	req(&f->s, "POST", "/api/v1/auth/logout", NULL, cookie, NULL, &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/auth/logout", NULL, cookie, csrf, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Max-Age=0"));
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/auth/session", NULL, cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"user\":null}");
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects/lab/secret/runs", NULL, cookie, NULL, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* Changing one's password needs the current one. */
	req(&f->s, "PUT", "/api/v1/users/vw/password", "{\"password\":\"a new password\"}", f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	req(&f->s, "PUT", "/api/v1/users/vw/password",
	    "{\"password\":\"a new password\",\"current_password\":\"correct horse battery\"}", f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"vw\",\"password\":\"a new password\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* Guessing: after 10 failures a name is refused for a while, even with the right password. */
	for (int i = 0; i < 10; i++) {
		req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"sp\",\"password\":\"guess guess\"}", NULL, NULL, &r);
		assert_int_equal(r.status, 401);
		resp_free(&r);
	}
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"sp\",\"password\":\"correct horse battery\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(r.headers, "Retry-After: "));
	resp_free(&r);
	/* Other names are not affected. */
	req(&f->s, "POST", "/api/v1/auth/login", "{\"name\":\"ed\",\"password\":\"correct horse battery\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* What is stored: scrypt hashes, no token or key in the clear. */
	wbt_db_path(&f->s, db, sizeof(db));
	{
		sqlite3 *d = NULL;
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(d, "SELECT password_hash FROM users WHERE name = 'vw'", -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_true(strncmp((const char *)sqlite3_column_text(st, 0), "scrypt$32768$8$1$", 17) == 0);
		assert_null(strstr((const char *)sqlite3_column_text(st, 0), "password"));
		sqlite3_finalize(st);
		sqlite3_close(d);
	}
	{
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "grep -c '%s' %s %s-wal >/dev/null 2>&1", key + 3, db, db);
		assert_int_not_equal(system(cmd), 0);
	}
}

static void test_e2e_access__reports_history(void **state)
{
	fx *f = *state;
	char path[256], id[16];
	resp r;

	req(&f->s, "POST", "/api/v1/projects/lab/secret/reports",
	    "{\"title\":\"Sweep\",\"body\":\"# Results\\n<script>x</script>\"}", f->auth[R_EDITOR], NULL, &r);
	assert_int_equal(r.status, 201);
	member(&r, "id", id, sizeof(id));
	assert_non_null(strstr(r.body, "\"version\":1"));
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/lab/secret/reports/%s", id);
	req(&f->s, "PUT", path, "{\"title\":\"Sweep 2\",\"body\":\"v2\",\"base_version\":1}", f->auth[R_ADMIN], NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"version\":2"));
	assert_non_null(strstr(r.body, "\"author\":\"ad\""));
	resp_free(&r);
	/* A stale edit is refused, not lost silently. */
	req(&f->s, "PUT", path, "{\"title\":\"late\",\"body\":\"v2b\",\"base_version\":1}", f->auth[R_EDITOR], NULL, &r);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "\"conflict\""));
	resp_free(&r);
	req(&f->s, "PUT", path, "{\"title\":\"\",\"body\":\"x\"}", f->auth[R_EDITOR], NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	/* A viewer reads every version, cannot edit. */
	snprintf(path, sizeof(path), "/api/v1/projects/lab/secret/reports/%s/versions", id);
	req(&f->s, "GET", path, NULL, f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"version\":2"));
	assert_non_null(strstr(r.body, "\"version\":1"));
	assert_non_null(strstr(r.body, "\"author\":\"ed\""));
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/lab/secret/reports/%s/versions/1", id);
	req(&f->s, "GET", path, NULL, f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "<script>x</script>")); /* stored as written; the UI sanitises */
	assert_non_null(strstr(r.body, "\"latest_version\":2"));
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/lab/secret/reports/%s/versions/9", id);
	req(&f->s, "GET", path, NULL, f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/lab/secret/reports/%s", id);
	req(&f->s, "PUT", path, "{\"title\":\"v\",\"body\":\"v\"}", f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	req(&f->s, "GET", "/api/v1/projects/lab/secret/reports", NULL, f->auth[R_VIEWER], NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"Sweep 2\""));
	resp_free(&r);
}

/* The first start: admin key in the settings file, setup link in the log; --secure-cookies. */
static void test_e2e_access__first_start_secure(void **state)
{
	wbt_server s;
	char log[65536] = "", token[128], body[256];
	const char *p;
	FILE *fp;
	size_t n;
	resp r;

	(void)state;
	assert_int_equal(wbt_server_start(&s, "--secure-cookies 1"), 0);
	assert_true(strlen(s.key) > 10);
	assert_non_null(fp = fopen(s.log, "r"));
	n = fread(log, 1, sizeof(log) - 1, fp);
	log[n] = '\0';
	fclose(fp);
	assert_non_null(p = strstr(log, "/setup?token="));
	assert_null(strstr(log, s.key));
	p += strlen("/setup?token=");
	snprintf(token, sizeof(token), "%.*s", (int)strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"), p);
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"short\"}", token);
	req(&s, "POST", "/api/v1/auth/setup", body, NULL, NULL, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"the root passphrase\"}", token);
	req(&s, "POST", "/api/v1/auth/setup", body, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "; Secure"));
	assert_non_null(strstr(r.body, "\"is_admin\":true"));
	resp_free(&r);
	/* Once the password is set, a restart prints no new link. */
	assert_int_equal(wbt_server_stop(&s), 0);
	assert_int_equal(wbt_server_restart(&s), 0);
	req(&s, "POST", "/api/v1/auth/login", "{\"name\":\"admin\",\"password\":\"the root passphrase\"}", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_non_null(fp = fopen(s.log, "r"));
	n = fread(log, 1, sizeof(log) - 1, fp);
	log[n] = '\0';
	fclose(fp);
	assert_null(strstr(strstr(log, "/setup?token=") + 1, "/setup?token="));
	wbt_server_cleanup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_access__public_private),
		cmocka_unit_test(test_e2e_access__sessions_csrf_keys),
		cmocka_unit_test(test_e2e_access__reports_history),
		cmocka_unit_test(test_e2e_access__walk_every_route),
		cmocka_unit_test(test_e2e_access__contract_declares_access),
		cmocka_unit_test(test_e2e_access__first_start_secure),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}

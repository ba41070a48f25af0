/*
 * handlers_acct.c — the /api/v1 routes of accounts and project settings
 * (reports: handlers_report.c):
 *
 *   POST /auth/login, /auth/logout, /auth/setup; GET /auth/session
 *   GET|POST /users; PATCH /users/{name}; PUT /users/{name}/password
 *   GET|POST /keys; DELETE /keys/{id}
 *   GET|POST /teams; GET /teams/{team}/members; PUT|DELETE /teams/{team}/members/{user}
 *   GET|PUT /projects/{e}/{p}; GET /projects/{e}/{p}/members; PUT|DELETE .../members/{user}
 *
 * No handler here checks permissions: the route table declares what each
 * route needs and server.c checks it before the handler runs (the caller
 * is q->who, their access to the route's project q->acc).
 *
 * Secrets: a new API key and a setup link's token are returned once and
 * only their SHA-256 is stored; passwords are stored as scrypt hashes
 * (auth.c); nothing secret is logged.
 */
#include "http_int.h"

#include <math.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "util/log.h"
#include "wire.h"

/* Password hashing is CPU and memory heavy (scrypt, 32 MiB): at most this many
 * at a time, so a flood of logins cannot take every core from ingest. */
#define HASHING_MAX 2
/* Failed sign-ins per name, and per client address, before either is refused for a while. */
#define FAILS_MAX 10
#define ADDR_FAILS_MAX 30
#define FAILS_WINDOW 900.0
#define FAIL_SLOTS 1024u
#define KEY_NAME_MAX 128u
#define SESSION_TTL (14.0 * 24 * 3600)

/*
 * Failed sign-ins, counted by exact name and by client address in two
 * bounded tables (FAIL_SLOTS entries each). A key is compared whole, never
 * by a hash, so two names cannot share (and reset) each other's count: a
 * guesser who alternates a target with another name still meets the limit
 * after FAILS_MAX tries. A full table evicts its least recently failed
 * entry; flushing a target's entry that way takes FAIL_SLOTS failures,
 * which the per-address limit (ADDR_FAILS_MAX per window) stops from any
 * one address.
 *
 * The price: someone can lock a name out of password sign-in for
 * FAILS_WINDOW (API keys keep working), and a client address that fails
 * often is refused for every name, which can catch users behind one NAT.
 */
struct fail_slot {
	char key[80]; /* a user name, or "addr:" and the client address; "" free */
	unsigned count;
	double first, last;
};

/* One server's sign-in state: the hashing gate and the failure tables
 * (two servers in one process, as in the unit tests, keep their own). */
struct wbs__signin {
	pthread_mutex_t hash_mu;
	pthread_cond_t hash_cv;
	int hashing; /* password hashes running, at most HASHING_MAX */
	pthread_mutex_t fail_mu;
	struct fail_slot fail_names[FAIL_SLOTS], fail_addrs[FAIL_SLOTS];
};

int wbs__signin_new(wbs__signin **out)
{
	wbs__signin *g = calloc(1, sizeof(*g));

	*out = g;
	if (!g)
		return -1;
	pthread_mutex_init(&g->hash_mu, NULL);
	pthread_cond_init(&g->hash_cv, NULL);
	pthread_mutex_init(&g->fail_mu, NULL);
	return 0;
}

void wbs__signin_free(wbs__signin *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->hash_mu);
	pthread_cond_destroy(&g->hash_cv);
	pthread_mutex_destroy(&g->fail_mu);
	free(g);
}

static void hash_enter(wbs__signin *g)
{
	pthread_mutex_lock(&g->hash_mu);
	while (g->hashing >= HASHING_MAX)
		pthread_cond_wait(&g->hash_cv, &g->hash_mu);
	g->hashing++;
	pthread_mutex_unlock(&g->hash_mu);
}

static void hash_leave(wbs__signin *g)
{
	pthread_mutex_lock(&g->hash_mu);
	g->hashing--;
	pthread_cond_signal(&g->hash_cv);
	pthread_mutex_unlock(&g->hash_mu);
}

/* The slot of key in t, or NULL; with make, a fresh one (evicting the least recently failed). Under g->fail_mu. */
static struct fail_slot *fail_find(struct fail_slot *t, const char *key, int make)
{
	struct fail_slot *victim = &t[0];

	for (size_t i = 0; i < FAIL_SLOTS; i++) {
		if (t[i].key[0] && strcmp(t[i].key, key) == 0)
			return &t[i];
		if (!t[i].key[0] ? victim->key[0] != '\0' : victim->key[0] && t[i].last < victim->last)
			victim = &t[i];
	}
	if (!make)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	return victim;
}

/* Seconds until slot f may try again with max failures allowed (0: now). Under g->fail_mu. */
static unsigned slot_wait(const struct fail_slot *f, unsigned max, double now)
{
	if (f && f->count >= max && now - f->first < FAILS_WINDOW)
		return (unsigned)(FAILS_WINDOW - (now - f->first)) + 1;
	return 0;
}

/* Seconds until name may try again from addr (0: now); *by_addr tells which limit holds. */
static unsigned fail_wait(wbs__signin *g, const char *name, const char *addr, double now, int *by_addr)
{
	unsigned wn, wa;

	pthread_mutex_lock(&g->fail_mu);
	wn = slot_wait(fail_find(g->fail_names, name, 0), FAILS_MAX, now);
	wa = slot_wait(fail_find(g->fail_addrs, addr, 0), ADDR_FAILS_MAX, now);
	pthread_mutex_unlock(&g->fail_mu);
	*by_addr = wa > wn;
	return wa > wn ? wa : wn;
}

/* Count a failure in the slot of key (a window restarts once the last one is over). Under g->fail_mu. */
static void slot_fail(struct fail_slot *t, const char *key, double now)
{
	struct fail_slot *f = fail_find(t, key, 1);

	if (f->count == 0 || now - f->first >= FAILS_WINDOW) {
		f->count = 0;
		f->first = now;
	}
	f->count++;
	f->last = now;
}

/* Count a failure (ok = 0) of name from addr, or forget name's failures (ok = 1). */
static void fail_note(wbs__signin *g, const char *name, const char *addr, double now, int ok)
{
	pthread_mutex_lock(&g->fail_mu);
	if (ok) {
		struct fail_slot *f = fail_find(g->fail_names, name, 0);
		if (f)
			memset(f, 0, sizeof(*f));
	} else {
		slot_fail(g->fail_names, name, now);
		slot_fail(g->fail_addrs, addr, now);
	}
	pthread_mutex_unlock(&g->fail_mu);
}

static double now_unix(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Parse the JSON object body into *out. optional: an empty body gives an
 * empty object. A JSON content type is required: it also keeps plain
 * cross-site form posts out. 0, or -1 with the 4xx sent.
 */
int wbs__body_object(wbs__req *q, int optional, cJSON **out)
{
	return wbs__read_json(q, WBS__BODY_OBJECT | WBS__BODY_JSON_TYPE | (optional ? 0u : WBS__BODY_REQUIRED),
			      WBS__JSON_BODY_MAX, WBS__JSON_BODY_MAX, out);
}

/*
 * The string member name of j: 1 found and valid (UTF-8, at most max bytes,
 * no control characters unless multiline allows newlines and tabs), 0 absent
 * and optional, -1 with the 400 sent.
 */
int wbs__str_member(wbs__req *q, const cJSON *j, const char *name, size_t max, int required, int multiline,
		     const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);
	size_t n;

	*out = NULL;
	if (!it || cJSON_IsNull(it)) {
		if (!required)
			return 0;
		wbs__send_error(q, 400, "invalid_argument", "%s is required", name);
		return -1;
	}
	if (!cJSON_IsString(it)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must be a string", name);
		return -1;
	}
	n = strlen(it->valuestring);
	if (n > max || !wbs__utf8_valid(it->valuestring, n)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must be valid UTF-8 of at most %zu bytes", name, max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)it->valuestring[i];
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f) {
			wbs__send_error(q, 400, "invalid_argument", "%s must not contain control characters", name);
			return -1;
		}
	}
	*out = it->valuestring;
	return 1;
}

static int name_member(wbs__req *q, const cJSON *j, const char *member, const char **out)
{
	if (wbs__str_member(q, j, member, 64, 1, 0, out) < 0)
		return -1;
	if (!wb__name_valid(*out)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must match [A-Za-z0-9_.-]{1,64} without a leading '.'",
			       member);
		return -1;
	}
	return 0;
}

static int password_member(wbs__req *q, const cJSON *j, const char *member, const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, member);
	size_t n;

	if (!cJSON_IsString(it)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must be a string", member);
		return -1;
	}
	n = strlen(it->valuestring);
	if (n < WBS__PASSWORD_MIN || n > WBS__PASSWORD_MAX || !wbs__utf8_valid(it->valuestring, n)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must be %u to %u bytes of UTF-8", member,
			       WBS__PASSWORD_MIN, WBS__PASSWORD_MAX);
		return -1;
	}
	*out = it->valuestring;
	return 0;
}

/*
 * The password quality check (auth.c) of pw for user: 0 accepted, or -1
 * with the answer sent: 400 weak_password with libpwquality's reason, or
 * 500 when the checker itself cannot work (no dictionary installed).
 */
static int password_strong(wbs__req *q, const char *pw, const char *user)
{
	char why[256];
	int rc = wbs__password_check(pw, user, why, sizeof(why));

	if (rc == 0)
		return 0;
	if (rc < 0) {
		wbs__log(WBS__LOG_ERROR, "the password checker cannot work", "req=%s error=\"%s\"", q->id, why);
		wbs__send_error(q, 500, "internal", "the password checker cannot work (is cracklib-runtime installed?)");
		return -1;
	}
	wbs__log(WBS__LOG_INFO, "password refused", "req=%s user=%s", q->id, user);
	wbs__send_error(q, 400, "weak_password", "password refused: %s", why);
	return -1;
}

void wbs__send_ok(wbs__req *q, int status)
{
	wbs__buf b;
	wbs__buf_init(&b, 64);
	wbs__buf_puts(&b, "{\"ok\":true}");
	wbs__send_json(q, status, &b);
	wbs__buf_free(&b);
}

/* {"<member>":<store JSON>} from a list function, or the store error. */
/* Row r of t as a JSON object keyed by column names; "is_*"/"has_*" integers are booleans. */
static void acct_row_json(wbs__buf *b, const wbs__acct_rows *t, size_t r)
{
	const wbs__acct_cell *c = &t->cells[r * t->ncols];

	wbs__buf_putc(b, '{');
	for (size_t i = 0; i < t->ncols; i++) {
		const char *name = t->cols[i];
		if (i)
			wbs__buf_putc(b, ',');
		wbs__json_cstr(b, name);
		wbs__buf_putc(b, ':');
		switch (c[i].type) {
		case WBS__CELL_NULL: wbs__buf_puts(b, "null"); break;
		case WBS__CELL_INT:
			if (strncmp(name, "is_", 3) == 0 || strncmp(name, "has_", 4) == 0)
				wbs__buf_puts(b, c[i].i ? "true" : "false");
			else
				wbs__json_i64(b, c[i].i);
			break;
		case WBS__CELL_REAL: wbs__json_num(b, c[i].d); break;
		default: wbs__json_str(b, c[i].text, c[i].len); break;
		}
	}
	wbs__buf_putc(b, '}');
}

void wbs__acct_object_json(wbs__buf *b, const wbs__acct_rows *t)
{
	if (t->nrows)
		acct_row_json(b, t, 0);
	else
		wbs__buf_puts(b, "null");
}

void wbs__send_list(wbs__req *q, const char *member, int st, const wbs__acct_rows *rows, const wbs__err *e)
{
	wbs__buf b;

	if (st) {
		wbs__send_store_error(q, e);
		return;
	}
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	wbs__buf_printf(&b, "{\"%s\":[", member);
	for (size_t r = 0; r < rows->nrows; r++) {
		if (r)
			wbs__buf_putc(&b, ',');
		acct_row_json(&b, rows, r);
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

/* ---- sessions ---- */

/* {"user":{"name","is_admin"}|null,"csrf":...} */
static void render_session(wbs__buf *b, const wbs__principal *p, const char *csrf, const char *via)
{
	if (!p->user_id) {
		wbs__buf_puts(b, "{\"user\":null}");
		return;
	}
	wbs__buf_puts(b, "{\"user\":{\"name\":");
	wbs__json_cstr(b, p->name);
	wbs__buf_puts(b, p->is_admin ? ",\"is_admin\":true}" : ",\"is_admin\":false}");
	wbs__buf_puts(b, ",\"via\":");
	wbs__json_cstr(b, via);
	if (csrf) {
		wbs__buf_puts(b, ",\"csrf\":");
		wbs__json_cstr(b, csrf);
	}
	wbs__buf_putc(b, '}');
}

/* Start a session for user p (name and flags filled) and answer 200 with its cookie. */
static void start_session(wbs__req *q, wbs__principal *p)
{
	char tok[WBS__KEY_LEN + 1], csrf[WBS__KEY_LEN + 1];
	uint8_t hash[32];
	wbs__err e = {0};
	wbs__buf b;

	if (wbs__token_generate(tok) || wbs__token_generate(csrf)) {
		wbs__send_error(q, 500, "internal", "no randomness for a session");
		return;
	}
	wbs__key_hash(tok, WBS__KEY_LEN, hash);
	if (wbs__store_session_add(q->store, p->user_id, hash, csrf, now_unix() + SESSION_TTL, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__session_cookie(q, tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	wbs__buf_init(&b, 4096);
	render_session(&b, p, csrf, "session");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
	wbs__log(WBS__LOG_INFO, "signed in", "req=%s user=%s", q->id, p->name);
}

void wbs__h_login(wbs__req *q)
{
	cJSON *j = NULL;
	const char *name, *pw;
	char *hash = NULL;
	char addr[80];
	wbs__principal p;
	wbs__err e = {0};
	int st, ok, by_addr = 0;

	memset(&p, 0, sizeof(p));
	if (wbs__body_object(q, 0, &j) || name_member(q, j, "name", &name) || wbs__str_member(q, j, "password", WBS__PASSWORD_MAX, 1, 0, &pw) < 0)
		goto done;
	snprintf(addr, sizeof(addr), "addr:%s", q->ri->remote_addr);
	if ((q->retry_after = fail_wait(q->signin, name, addr, now_unix(), &by_addr)) > 0) {
		if (by_addr)
			wbs__send_error(q, 429, "rate_limited",
				       "too many failed sign-ins from your address; retry after %u s", q->retry_after);
		else
			wbs__send_error(q, 429, "rate_limited", "too many failed sign-ins for %s; retry after %u s",
				       name, q->retry_after);
		wbs__log(WBS__LOG_WARN, "sign-in refused", "req=%s user=%s by=%s", q->id, name,
			 by_addr ? "address" : "name");
		goto done;
	}
	st = wbs__store_user_get(q->store, name, &p.user_id, &p.is_admin, &hash, &e);
	if (st && st != WBS__ST_NOTFOUND) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	hash_enter(q->signin);
	if (st == WBS__ST_NOTFOUND || !hash) {
		/* Spend the same time as a wrong password, so that timing does not tell which names exist. */
		char dummy[WBS__PASSWORD_HASH_MAX];
		(void)wbs__password_hash(pw, dummy);
		ok = 0;
	} else {
		ok = wbs__password_verify(pw, hash);
	}
	hash_leave(q->signin);
	fail_note(q->signin, name, addr, now_unix(), ok);
	if (!ok) {
		wbs__send_error(q, 401, "unauthorized", "wrong name or password");
		goto done;
	}
	snprintf(p.name, sizeof(p.name), "%s", name);
	start_session(q, &p);
done:
	free(hash);
	cJSON_Delete(j);
}

void wbs__h_logout(wbs__req *q)
{
	wbs__err e = {0};

	if (q->via_session && wbs__store_session_delete(q->store, q->cred_hash, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__session_cookie(q, NULL);
	wbs__send_ok(q, 200);
}

void wbs__h_session(wbs__req *q)
{
	wbs__buf b;
	wbs__buf_init(&b, 4096);
	render_session(&b, &q->who, q->via_session ? q->who.csrf : NULL, q->via_session ? "session" : "key");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

void wbs__h_setup(wbs__req *q)
{
	cJSON *j = NULL;
	const char *tok, *pw;
	char enc[WBS__PASSWORD_HASH_MAX];
	uint8_t th[32];
	wbs__principal p;
	wbs__err e = {0};
	int st;

	memset(&p, 0, sizeof(p));
	if (wbs__body_object(q, 0, &j) || wbs__str_member(q, j, "token", 128, 1, 0, &tok) < 0 || password_member(q, j, "password", &pw))
		goto done;
	/* The token's user first: the password is judged against their name. */
	wbs__key_hash(tok, strlen(tok), th);
	if (wbs__store_setup_user(q->store, th, &p.user_id, &e) ||
	    wbs__store_user_name(q->store, p.user_id, p.name, sizeof(p.name), &p.is_admin, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (password_strong(q, pw, p.name))
		goto done;
	hash_enter(q->signin);
	st = wbs__password_hash(pw, enc);
	hash_leave(q->signin);
	if (st) {
		wbs__send_error(q, 500, "internal", "cannot hash the password");
		goto done;
	}
	if (wbs__store_setup_use(q->store, th, enc, &p.user_id, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (wbs__store_user_name(q->store, p.user_id, p.name, sizeof(p.name), &p.is_admin, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	start_session(q, &p);
done:
	cJSON_Delete(j);
}

/* ---- users ---- */

void wbs__h_users_list(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "users", wbs__store_users_list(q->store, &rows, &e), &rows, &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_user_create(wbs__req *q)
{
	cJSON *j = NULL;
	const char *name;
	const cJSON *adm;
	char link[300], err[300];
	int64_t id = 0;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, 4096);
	if (wbs__body_object(q, 0, &j) || name_member(q, j, "name", &name))
		goto done;
	adm = cJSON_GetObjectItemCaseSensitive(j, "is_admin");
	if (adm && !cJSON_IsBool(adm)) {
		wbs__send_error(q, 400, "invalid_argument", "is_admin must be true or false");
		goto done;
	}
	if (wbs__store_user_create(q->store, name, cJSON_IsTrue(adm), &id, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (wbs__setup_link(q->store, id, "", link, sizeof(link), err, sizeof(err))) {
		wbs__send_error(q, 500, "internal", "%s", err);
		goto done;
	}
	wbs__buf_puts(&b, "{\"name\":");
	wbs__json_cstr(&b, name);
	wbs__buf_puts(&b, cJSON_IsTrue(adm) ? ",\"is_admin\":true" : ",\"is_admin\":false");
	wbs__buf_puts(&b, ",\"setup_path\":");
	wbs__json_cstr(&b, link);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 201, &b);
	OPENSSL_cleanse(link, sizeof(link));
	wbs__log(WBS__LOG_INFO, "user created", "req=%s user=%s by=%s", q->id, name, q->who.name);
done:
	wbs__buf_free(&b);
	cJSON_Delete(j);
}

void wbs__h_user_password(wbs__req *q)
{
	cJSON *j = NULL;
	const char *pw, *cur = NULL;
	char enc[WBS__PASSWORD_HASH_MAX], *old = NULL;
	int64_t id = 0;
	int is_admin = 0, bad, hashed;
	wbs__err e = {0};

	if (wbs__body_object(q, 0, &j) || password_member(q, j, "password", &pw) ||
	    wbs__str_member(q, j, "current_password", WBS__PASSWORD_MAX, 0, 0, &cur) < 0)
		goto done;
	if (wbs__store_user_get(q->store, q->ref.entity, &id, &is_admin, &old, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (password_strong(q, pw, q->ref.entity))
		goto done;
	/* Changing one's own password takes the current one; a server admin resets others'. */
	hash_enter(q->signin);
	bad = id == q->user_id && old && !wbs__password_verify(cur ? cur : "", old);
	hashed = bad ? -1 : wbs__password_hash(pw, enc);
	hash_leave(q->signin);
	if (bad) {
		wbs__send_error(q, 403, "forbidden", "current_password is wrong");
		goto done;
	}
	if (hashed) {
		wbs__send_error(q, 500, "internal", "cannot hash the password");
		goto done;
	}
	if (wbs__store_user_set_password(q->store, id, enc, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__send_ok(q, 200);
done:
	free(old);
	cJSON_Delete(j);
}

/*
 * PATCH /users/{name} {"active": false|true}: a server admin deactivates a
 * user (offboarding) or reactivates them. Deactivation is at once and
 * everywhere: authentication resolves no key or session of a deactivated
 * user (store_acct.c), their sessions and setup links are deleted, their
 * webhooks stop; their runs, projects and name stay. An admin cannot
 * deactivate themself (the server could be left without an admin).
 */
void wbs__h_user_patch(wbs__req *q)
{
	cJSON *j = NULL;
	const cJSON *act;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, 256);
	if (wbs__body_object(q, 0, &j))
		goto done;
	act = cJSON_GetObjectItemCaseSensitive(j, "active");
	if (!cJSON_IsBool(act)) {
		wbs__send_error(q, 400, "invalid_argument", "active must be true or false");
		goto done;
	}
	if (!cJSON_IsTrue(act) && strcmp(q->ref.entity, q->who.name) == 0) {
		wbs__send_error(q, 400, "invalid_argument", "you cannot deactivate yourself");
		goto done;
	}
	if (wbs__store_user_set_active(q->store, q->ref.entity, cJSON_IsTrue(act), &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__log(WBS__LOG_INFO, cJSON_IsTrue(act) ? "user reactivated" : "user deactivated", "req=%s user=%s by=%s",
		 q->id, q->ref.entity, q->who.name);
	wbs__buf_puts(&b, "{\"name\":");
	wbs__json_cstr(&b, q->ref.entity);
	wbs__buf_puts(&b, cJSON_IsTrue(act) ? ",\"active\":true}" : ",\"active\":false}");
	wbs__send_json(q, 200, &b);
done:
	wbs__buf_free(&b);
	cJSON_Delete(j);
}

/* ---- keys ---- */

void wbs__h_keys_list(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "keys", wbs__store_user_keys(q->store, q->user_id, &rows, &e), &rows, &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_key_create(wbs__req *q)
{
	cJSON *j = NULL;
	const char *name = NULL;
	char key[WBS__KEY_LEN + 1], prefix[WBS__KEY_PREFIX_LEN + 1];
	uint8_t hash[32];
	int64_t id = 0;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, 4096);
	if (wbs__body_object(q, 1, &j) || wbs__str_member(q, j, "name", KEY_NAME_MAX, 0, 0, &name) < 0)
		goto done;
	if (wbs__key_generate(key)) {
		wbs__send_error(q, 500, "internal", "no randomness for a key");
		goto done;
	}
	wbs__key_hash(key, WBS__KEY_LEN, hash);
	memcpy(prefix, key, WBS__KEY_PREFIX_LEN);
	prefix[WBS__KEY_PREFIX_LEN] = '\0';
	if (wbs__store_user_key_add(q->store, q->user_id, hash, prefix, name, &id, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"id\":");
	wbs__json_i64(&b, id);
	wbs__buf_puts(&b, ",\"key\":");
	wbs__json_cstr(&b, key);
	wbs__buf_puts(&b, ",\"prefix\":");
	wbs__json_cstr(&b, prefix);
	wbs__buf_puts(&b, ",\"name\":");
	wbs__json_cstr(&b, name ? name : "");
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 201, &b);
done:
	OPENSSL_cleanse(key, sizeof(key));
	if (b.p)
		OPENSSL_cleanse(b.p, b.len);
	wbs__buf_free(&b);
	cJSON_Delete(j);
}

void wbs__h_key_revoke(wbs__req *q)
{
	int64_t id;
	wbs__err e = {0};

	if (wbs__parse_i64(q->path.seg[1], 1, INT64_MAX, &id)) {
		wbs__send_error(q, 400, "invalid_argument", "key id must be a positive integer");
		return;
	}
	if (wbs__store_user_key_revoke(q->store, q->user_id, id, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__send_ok(q, 200);
}

/* ---- teams ---- */

void wbs__h_teams_list(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "teams", wbs__store_teams_list(q->store, q->user_id, q->who.is_admin, &rows, &e), &rows, &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_team_create(wbs__req *q)
{
	cJSON *j = NULL;
	const char *name;
	wbs__err e = {0};

	if (wbs__body_object(q, 0, &j) || name_member(q, j, "name", &name))
		goto done;
	if (wbs__store_team_create(q->store, name, q->user_id, q->who.is_admin, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__send_ok(q, 201);
done:
	cJSON_Delete(j);
}

void wbs__h_team_members(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "members", wbs__store_team_members(q->store, q->ref.entity, &rows, &e), &rows, &e);
	wbs__acct_rows_free(&rows);
}

/* The role member of the body: 1..3, or -1 with the 400 sent. */
static int role_member(wbs__req *q, cJSON **j)
{
	const char *r;
	int role;
	if (wbs__body_object(q, 0, j) || wbs__str_member(q, *j, "role", 16, 1, 0, &r) < 0)
		return -1;
	if (!(role = wbs__role_parse(r))) {
		wbs__send_error(q, 400, "invalid_argument", "role must be viewer, editor or admin");
		return -1;
	}
	return role;
}

void wbs__h_team_member_put(wbs__req *q)
{
	cJSON *j = NULL;
	wbs__err e = {0};
	int role = role_member(q, &j);

	if (role > 0) {
		if (wbs__store_team_member_set(q->store, q->ref.entity, q->ref.project, role, &e))
			wbs__send_store_error(q, &e);
		else
			wbs__send_ok(q, 200);
	}
	cJSON_Delete(j);
}

void wbs__h_team_member_delete(wbs__req *q)
{
	wbs__err e = {0};
	if (wbs__store_team_member_set(q->store, q->ref.entity, q->ref.project, 0, &e))
		wbs__send_store_error(q, &e);
	else
		wbs__send_ok(q, 200);
}

/* ---- project settings ---- */

void wbs__h_project_get(wbs__req *q)
{
	wbs__buf b;

	if (!q->acc.project_exists) {
		wbs__send_error(q, 404, "not_found", "no project %s/%s", q->ref.entity, q->ref.project);
		return;
	}
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"entity\":");
	wbs__json_cstr(&b, q->ref.entity);
	wbs__buf_puts(&b, ",\"name\":");
	wbs__json_cstr(&b, q->ref.project);
	wbs__buf_puts(&b, q->acc.is_public ? ",\"visibility\":\"public\"" : ",\"visibility\":\"private\"");
	wbs__buf_puts(&b, ",\"role\":");
	wbs__json_cstr(&b, wbs__role_name(q->acc.role));
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

/*
 * The optional created_at and updated_at of a project PUT into *c and *u:
 * 1 both given (finite unix seconds, not negative, created_at <=
 * updated_at), 0 neither, -1 with the 400 sent. They come together so a
 * project never holds an updated_at before its created_at. They are what
 * `wb import` restores; a project admin (this route's access) may set
 * them, as a run's writer may set the run's created_at in its RUN record.
 */
static int times_members(wbs__req *q, const cJSON *j, double *c, double *u)
{
	const cJSON *cj = cJSON_GetObjectItemCaseSensitive(j, "created_at");
	const cJSON *uj = cJSON_GetObjectItemCaseSensitive(j, "updated_at");

	if (!cj && !uj)
		return 0;
	if (!cj || !uj) {
		wbs__send_error(q, 400, "invalid_argument", "created_at and updated_at are given together");
		return -1;
	}
	if (!cJSON_IsNumber(cj) || !isfinite(cj->valuedouble) || cj->valuedouble < 0 || !cJSON_IsNumber(uj) ||
	    !isfinite(uj->valuedouble) || uj->valuedouble < 0) {
		wbs__send_error(q, 400, "invalid_argument", "created_at and updated_at must be numbers of unix seconds");
		return -1;
	}
	if (cj->valuedouble > uj->valuedouble) {
		wbs__send_error(q, 400, "invalid_argument", "created_at must not be after updated_at");
		return -1;
	}
	*c = cj->valuedouble;
	*u = uj->valuedouble;
	return 1;
}

void wbs__h_project_put(wbs__req *q)
{
	cJSON *j = NULL;
	const char *vis = NULL;
	wbs__err e = {0};
	double created = 0, updated = 0;
	int times;

	if (wbs__body_object(q, 1, &j) || wbs__str_member(q, j, "visibility", 16, 0, 0, &vis) < 0 ||
	    (times = times_members(q, j, &created, &updated)) < 0)
		goto done;
	if (vis && strcmp(vis, "private") != 0 && strcmp(vis, "public") != 0) {
		wbs__send_error(q, 400, "invalid_argument", "visibility must be private or public");
		goto done;
	}
	if (wbs__store_project_upsert(q->store, q->ref.entity, q->ref.project, vis, &e) ||
	    (times && wbs__store_project_times(q->store, q->ref.entity, q->ref.project, created, updated, &e)) ||
	    wbs__store_access(q->store, q->user_id, q->ref.entity, q->ref.project, &q->acc, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (vis)
		wbs__log(WBS__LOG_INFO, "project visibility", "req=%s project=%s/%s visibility=%s by=%s", q->id,
			 q->ref.entity, q->ref.project, vis, q->who.name);
	if (times)
		wbs__log(WBS__LOG_INFO, "project times", "req=%s project=%s/%s created_at=%.17g updated_at=%.17g by=%s",
			 q->id, q->ref.entity, q->ref.project, created, updated, q->who.name);
	wbs__h_project_get(q);
done:
	cJSON_Delete(j);
}

void wbs__h_project_members(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "members", wbs__store_project_members(q->store, q->ref.entity, q->ref.project, &rows, &e), &rows,
		  &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_project_member_put(wbs__req *q)
{
	cJSON *j = NULL;
	wbs__err e = {0};
	int role = role_member(q, &j);

	if (role > 0) {
		if (!wb__name_valid(q->path.seg[4]))
			wbs__send_error(q, 400, "invalid_argument", "user must be a valid name");
		else if (wbs__store_project_member_set(q->store, q->ref.entity, q->ref.project, q->path.seg[4], role, &e))
			wbs__send_store_error(q, &e);
		else
			wbs__send_ok(q, 200);
	}
	cJSON_Delete(j);
}

void wbs__h_project_member_delete(wbs__req *q)
{
	wbs__err e = {0};
	if (!wb__name_valid(q->path.seg[4]))
		wbs__send_error(q, 400, "invalid_argument", "user must be a valid name");
	else if (wbs__store_project_member_set(q->store, q->ref.entity, q->ref.project, q->path.seg[4], 0, &e))
		wbs__send_store_error(q, &e);
	else
		wbs__send_ok(q, 200);
}

/*
 * store_acct.c — accounts, permissions and reports (see store_acct.h).
 *
 * These tables are small and their routes are not on the ingest path, so
 * statements are prepared per call through two helpers (wbs__sql_i64 for one value,
 * rows_read for lists: column names and typed cells, which the HTTP side
 * writes as JSON objects keyed by those names)
 * instead of the cached statement tables of store.c. Every write is a
 * JOB_FN on the writer connection, so a check and the write it guards
 * ("is the name free?", "is this the current version?") happen in one
 * transaction and cannot race another request.
 *
 * The permission question is one query (wbs__store_access): the user's
 * server-admin flag, whether the entity is the user's own name, the user's
 * role in the entity's team, and the project's visibility and the user's
 * project role, in a single row even when the project does not exist.
 */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_acct.h"

int wbs__role_parse(const char *s)
{
	if (!s)
		return WBS__ROLE_NONE;
	if (strcmp(s, "viewer") == 0)
		return WBS__ROLE_VIEWER;
	if (strcmp(s, "editor") == 0)
		return WBS__ROLE_EDITOR;
	if (strcmp(s, "admin") == 0)
		return WBS__ROLE_ADMIN;
	return WBS__ROLE_NONE;
}

const char *wbs__role_name(int role)
{
	static const char *const n[] = {NULL, "viewer", "editor", "admin"};
	return role > 0 && role <= WBS__ROLE_ADMIN ? n[role] : NULL;
}

void wbs__acct_rows_free(wbs__acct_rows *t)
{
	for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	for (size_t i = 0; t->cols && i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cells);
	free(t->cols);
	memset(t, 0, sizeof(*t));
}

/* One row: a cell per column (ctx: the column count), as SQLite typed it. */
static int cells_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__acct_cell *c = row;
	size_t n = *(const size_t *)ctx;

	for (size_t i = 0; i < n; i++) {
		switch (sqlite3_column_type(st, (int)i)) {
		case SQLITE_NULL: c[i].type = WBS__CELL_NULL; break;
		case SQLITE_INTEGER:
			c[i].type = WBS__CELL_INT;
			c[i].i = sqlite3_column_int64(st, (int)i);
			break;
		case SQLITE_FLOAT:
			c[i].type = WBS__CELL_REAL;
			c[i].d = sqlite3_column_double(st, (int)i);
			break;
		default: {
			const unsigned char *t = sqlite3_column_text(st, (int)i);
			size_t len = (size_t)sqlite3_column_bytes(st, (int)i);
			c[i].type = WBS__CELL_TEXT;
			if (!t || !(c[i].text = malloc(len + 1)))
				return wbs__sql_oom(err);
			memcpy(c[i].text, t, len);
			c[i].text[len] = '\0';
			c[i].len = len;
			break;
		}
		}
	}
	return 0;
}

/*
 * Read rows of sql on a reader connection into out (column names and
 * cells), or with notfound only the first row (NOTFOUND when there is
 * none). A status: the caller's message comes from rows_err.
 */
static int rows_read(wbs__store *s, wbs__acct_rows *out, const char *notfound, const char *sql, const char *fmt, ...)
{
	wbs__err e = {0};
	wbs__reader *r = wbs__reader_get(s, &e);
	sqlite3_stmt *st = NULL;
	void *cells = NULL;
	va_list ap;
	int rc, ret = WBS__ST_OK;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!r)
		return WBS__ST_UNAVAILABLE;
	rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = WBS__ST_INTERNAL;
		goto done;
	}
	va_start(ap, fmt);
	wbs__sql_bindv(st, fmt, ap);
	va_end(ap);
	n = (size_t)sqlite3_column_count(st);
	if (n == 0 || !(out->cols = calloc(n, sizeof(*out->cols)))) {
		ret = n ? WBS__ST_NOMEM : WBS__ST_INTERNAL;
		goto done;
	}
	out->ncols = n;
	for (size_t i = 0; i < n; i++)
		if (!(out->cols[i] = strdup(sqlite3_column_name(st, (int)i)))) {
			ret = WBS__ST_NOMEM;
			goto done;
		}
	ret = wbs__sql_rows_st(r->db, st, n * sizeof(wbs__acct_cell), notfound ? 1 : 0, &cells, &out->nrows,
			       cells_row, &n, "accounts", &e);
	out->cells = cells;
	if (ret == WBS__ST_OK && notfound && out->nrows == 0)
		ret = WBS__ST_NOTFOUND;
	else if (ret != WBS__ST_OK && ret != WBS__ST_NOMEM)
		ret = WBS__ST_INTERNAL;
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

/* rows_read's status turned into err. */
static int rows_err(wbs__err *err, const char *notfound, int st)
{
	if (st == WBS__ST_OK)
		return st;
	if (st == WBS__ST_NOTFOUND)
		return wbs__err_set(err, st, "%s", notfound ? notfound : "not found");
	return wbs__err_set(err, st, "cannot read accounts");
}

#define ROWS(err, notfound, ...) rows_err(err, notfound, rows_read(s, out, notfound, __VA_ARGS__))

/* ---- principals and access ---- */

static int principal(wbs__store *s, const char *sql, const uint8_t hash[32], wbs__principal *p, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int rc, ret;

	memset(p, 0, sizeof(*p));
	if (!r)
		return err->st;
	rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "principal");
		goto done;
	}
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, wbs__store_now(s));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		p->user_id = sqlite3_column_int64(st, 0);
		snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(st, 1));
		p->is_admin = sqlite3_column_int(st, 2) != 0;
		if (sqlite3_column_text(st, 3))
			snprintf(p->csrf, sizeof(p->csrf), "%s", (const char *)sqlite3_column_text(st, 3));
		ret = WBS__ST_OK;
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "unknown, expired or revoked credentials");
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "principal");
	}
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

int wbs__store_principal_key(wbs__store *s, const uint8_t hash[32], wbs__principal *p, wbs__err *err)
{
	return principal(s,
			 "SELECT u.id, u.name, u.is_admin, NULL FROM api_keys k JOIN users u ON u.id = k.user_id "
			 "WHERE k.hash = ?1 AND k.revoked_at IS NULL AND u.deactivated_at IS NULL AND ?2 = ?2",
			 hash, p, err);
}

int wbs__store_principal_session(wbs__store *s, const uint8_t hash[32], wbs__principal *p, wbs__err *err)
{
	return principal(s,
			 "SELECT u.id, u.name, u.is_admin, x.csrf FROM sessions x JOIN users u ON u.id = x.user_id "
			 "WHERE x.hash = ?1 AND x.expires_at > ?2 AND u.deactivated_at IS NULL",
			 hash, p, err);
}

int wbs__store_access(wbs__store *s, int64_t user_id, const char *entity, const char *project, wbs__access *a,
		      wbs__err *err)
{
	static const char sql[] =
		"SELECT (SELECT is_admin FROM users WHERE id = ?1), "
		"(SELECT name FROM users WHERE id = ?1) = ?2, "
		"(SELECT tm.role FROM team_members tm JOIN teams t ON t.id = tm.team_id "
		" WHERE t.name = ?2 AND tm.user_id = ?1), "
		"p.id, p.visibility, "
		"(SELECT pm.role FROM project_members pm WHERE pm.project_id = p.id AND pm.user_id = ?1) "
		"FROM (SELECT 1) LEFT JOIN projects p ON p.entity = ?2 AND p.name = ?3";
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int rc, ret = WBS__ST_OK;

	memset(a, 0, sizeof(*a));
	if (!r)
		return err->st;
	rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "access");
		goto done;
	}
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_text(st, 2, entity ? entity : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, project ? project : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "access");
		goto done;
	}
	if (user_id > 0) {
		if (sqlite3_column_int(st, 0) || sqlite3_column_int(st, 1))
			a->entity_role = WBS__ROLE_ADMIN;
		else
			a->entity_role = wbs__role_parse((const char *)sqlite3_column_text(st, 2));
	}
	a->project_exists = sqlite3_column_type(st, 3) != SQLITE_NULL;
	a->is_public = a->project_exists && strcmp((const char *)sqlite3_column_text(st, 4), "public") == 0;
	a->role = a->entity_role;
	if (user_id > 0) {
		int pr = wbs__role_parse((const char *)sqlite3_column_text(st, 5));
		if (pr > a->role)
			a->role = pr;
	}
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

/* ---- writes: each a JOB_FN with its arguments in struct w ---- */

struct w {
	const char *a, *b, *c, *d, *e;
	const uint8_t *hash;
	int64_t i, j, k;
	double t, t2;
	int64_t out;
};

static int submit(wbs__store *s, int (*fn)(wbs__store *, wbs__job *), struct w *w, wbs__err *err)
{
	return wbs__store_submit_fn(s, fn, w, err);
}

#define W(j) ((struct w *)(j)->arg)
#define DB (s->wdb)
#define Q(out, sql, ...)                                                                                               \
	do {                                                                                                           \
		if ((qr = wbs__sql_i64(DB, &j->err, out, "accounts", sql, __VA_ARGS__)) < 0)                           \
			return j->err.st;                                                                            \
	} while (0)

static int name_taken(wbs__store *s, wbs__job *j, const char *name)
{
	int qr;
	Q(NULL, "SELECT 1 FROM users WHERE name = ?1 UNION ALL SELECT 1 FROM teams WHERE name = ?1", "t", name);
	if (qr)
		return wbs__err_set(&j->err, WBS__ST_CONFLICT, "the name %s is taken by a user or a team", name);
	return WBS__ST_OK;
}

static int apply_user_create(wbs__store *s, wbs__job *j)
{
	int qr, st;
	if ((st = name_taken(s, j, W(j)->a)))
		return st;
	Q(NULL, "INSERT INTO users (name, created_at, is_admin) VALUES (?1, ?2, ?3)", "tdi", W(j)->a, wbs__store_now(s),
	  W(j)->i);
	W(j)->out = sqlite3_last_insert_rowid(DB);
	return WBS__ST_OK;
}

int wbs__store_user_create(wbs__store *s, const char *name, int is_admin, int64_t *id, wbs__err *err)
{
	struct w w = {.a = name, .i = is_admin};
	int st = submit(s, apply_user_create, &w, err);
	if (id)
		*id = w.out;
	return st;
}

static int apply_user_admin(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "UPDATE users SET is_admin = 1 WHERE name = ?1", "t", W(j)->a);
	return sqlite3_changes(DB) ? WBS__ST_OK : wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no such user");
}

int wbs__store_user_set_admin(wbs__store *s, const char *name, wbs__err *err)
{
	struct w w = {.a = name};
	return submit(s, apply_user_admin, &w, err);
}

int wbs__store_user_get(wbs__store *s, const char *name, int64_t *id, int *is_admin, char **pw_hash, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int rc, ret = WBS__ST_OK, oom = 0;

	*pw_hash = NULL;
	if (!r)
		return err->st;
	/* A deactivated user has no password to sign in with. */
	rc = sqlite3_prepare_v2(r->db,
				"SELECT id, is_admin, CASE WHEN deactivated_at IS NULL THEN password_hash END FROM users "
				"WHERE name = ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "user");
		goto done;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*is_admin = sqlite3_column_int(st, 1);
		*pw_hash = wbs__sql_col_dup(st, 2, &oom);
		if (oom)
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no user %s", name);
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "user");
	}
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

int wbs__store_user_name(wbs__store *s, int64_t id, char *name, size_t cap, int *is_admin, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int rc, ret = WBS__ST_OK;

	if (!r)
		return err->st;
	rc = sqlite3_prepare_v2(r->db, "SELECT name, is_admin FROM users WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		snprintf(name, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		*is_admin = sqlite3_column_int(st, 1);
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no such user");
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "user");
	}
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

static int apply_user_password(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "UPDATE users SET password_hash = ?2 WHERE id = ?1", "it", W(j)->i, W(j)->a);
	if (!sqlite3_changes(DB))
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no such user");
	/* A new password ends the user's other ways in that it replaces. */
	Q(NULL, "DELETE FROM sessions WHERE user_id = ?1", "i", W(j)->i);
	Q(NULL, "DELETE FROM setup_tokens WHERE user_id = ?1", "i", W(j)->i);
	return WBS__ST_OK;
}

int wbs__store_user_set_password(wbs__store *s, int64_t user_id, const char *pw_hash, wbs__err *err)
{
	struct w w = {.i = user_id, .a = pw_hash};
	return submit(s, apply_user_password, &w, err);
}

/*
 * Deactivating ends the user's sessions and setup links for good (a later
 * reactivation does not revive a cookie left in some browser); their API
 * keys stay, refused by principal() while deactivated_at is set, and work
 * again after a reactivation.
 */
static int apply_user_active(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL,
	  "UPDATE users SET deactivated_at = CASE WHEN ?2 THEN NULL ELSE coalesce(deactivated_at, ?3) END "
	  "WHERE name = ?1",
	  "tid", W(j)->a, W(j)->i, wbs__store_now(s));
	if (!sqlite3_changes(DB))
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no user %s", W(j)->a);
	if (!W(j)->i) {
		Q(NULL, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", "t", W(j)->a);
		Q(NULL, "DELETE FROM setup_tokens WHERE user_id = (SELECT id FROM users WHERE name = ?1)", "t", W(j)->a);
	}
	return WBS__ST_OK;
}

int wbs__store_user_set_active(wbs__store *s, const char *name, int active, wbs__err *err)
{
	struct w w = {.a = name, .i = active ? 1 : 0};
	return submit(s, apply_user_active, &w, err);
}

int wbs__store_users_list(wbs__store *s, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT name, is_admin, password_hash IS NOT NULL AS has_password, deactivated_at IS NULL AS is_active, "
		    "created_at, deactivated_at FROM users ORDER BY name",
		    "");
}

/* ---- setup tokens, sessions ---- */

static int apply_setup_add(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "DELETE FROM setup_tokens WHERE user_id = ?1", "i", W(j)->i);
	Q(NULL, "INSERT INTO setup_tokens (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)", "hidd",
	  W(j)->hash, W(j)->i, wbs__store_now(s), W(j)->t);
	return WBS__ST_OK;
}

int wbs__store_setup_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], double expires_at, wbs__err *err)
{
	struct w w = {.i = user_id, .hash = hash, .t = expires_at};
	return submit(s, apply_setup_add, &w, err);
}

static int apply_setup_use(wbs__store *s, wbs__job *j)
{
	int64_t uid = 0;
	int qr;
	Q(&uid,
	  "SELECT t.user_id FROM setup_tokens t JOIN users u ON u.id = t.user_id "
	  "WHERE t.hash = ?1 AND t.expires_at > ?2 AND u.deactivated_at IS NULL",
	  "hd", W(j)->hash, wbs__store_now(s));
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "unknown, used or expired setup link");
	W(j)->i = uid;
	W(j)->out = uid;
	return apply_user_password(s, j);
}

int wbs__store_setup_user(wbs__store *s, const uint8_t hash[32], int64_t *user_id, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	int qr;

	*user_id = 0;
	if (!r)
		return err->st;
	qr = wbs__sql_i64(r->db, err, user_id, "accounts",
		"SELECT t.user_id FROM setup_tokens t JOIN users u ON u.id = t.user_id "
		"WHERE t.hash = ?1 AND t.expires_at > ?2 AND u.deactivated_at IS NULL",
		"hd", hash, wbs__store_now(s));
	wbs__reader_put(s, r);
	if (qr < 0)
		return err->st;
	return qr ? WBS__ST_OK : wbs__err_set(err, WBS__ST_NOTFOUND, "unknown, used or expired setup link");
}

int wbs__store_setup_use(wbs__store *s, const uint8_t hash[32], const char *pw_hash, int64_t *user_id, wbs__err *err)
{
	struct w w = {.hash = hash, .a = pw_hash};
	int st = submit(s, apply_setup_use, &w, err);
	*user_id = w.out;
	return st;
}

static int apply_session_add(wbs__store *s, wbs__job *j)
{
	int qr;
	double now = wbs__store_now(s);
	Q(NULL, "DELETE FROM sessions WHERE expires_at <= ?1", "d", now);
	Q(NULL, "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)", "hitdd",
	  W(j)->hash, W(j)->i, W(j)->a, now, W(j)->t);
	return WBS__ST_OK;
}

int wbs__store_session_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], const char *csrf, double expires_at,
			   wbs__err *err)
{
	struct w w = {.i = user_id, .hash = hash, .a = csrf, .t = expires_at};
	return submit(s, apply_session_add, &w, err);
}

static int apply_session_delete(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "DELETE FROM sessions WHERE hash = ?1", "h", W(j)->hash);
	return WBS__ST_OK;
}

int wbs__store_session_delete(wbs__store *s, const uint8_t hash[32], wbs__err *err)
{
	struct w w = {.hash = hash};
	return submit(s, apply_session_delete, &w, err);
}

/* ---- keys ---- */

static int apply_key_add(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "INSERT INTO api_keys (user_id, hash, prefix, created_at, name) VALUES (?1, ?2, ?3, ?4, ?5)", "ihtdt",
	  W(j)->i, W(j)->hash, W(j)->a, wbs__store_now(s), W(j)->b);
	W(j)->out = sqlite3_last_insert_rowid(DB);
	return WBS__ST_OK;
}

int wbs__store_user_key_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], const char *prefix,
			    const char *name, int64_t *id, wbs__err *err)
{
	struct w w = {.i = user_id, .hash = hash, .a = prefix, .b = name ? name : ""};
	int st = submit(s, apply_key_add, &w, err);
	*id = w.out;
	return st;
}

int wbs__store_user_keys(wbs__store *s, int64_t user_id, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT id, prefix, name, created_at, revoked_at FROM api_keys WHERE user_id = ?1 ORDER BY id", "i",
		    user_id);
}

static int apply_key_revoke(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "UPDATE api_keys SET revoked_at = ?3 WHERE id = ?2 AND user_id = ?1 AND revoked_at IS NULL", "iid",
	  W(j)->i, W(j)->j, wbs__store_now(s));
	return sqlite3_changes(DB) ? WBS__ST_OK
				   : wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no such api key of yours (or it is revoked)");
}

int wbs__store_user_key_revoke(wbs__store *s, int64_t user_id, int64_t key_id, wbs__err *err)
{
	struct w w = {.i = user_id, .j = key_id};
	return submit(s, apply_key_revoke, &w, err);
}

/* ---- teams ---- */

/*
 * A team's name is an entity: its members get the team's role on every
 * project under that name. Projects can exist under a name that is no user
 * and no team (a server admin may create them anywhere), so a new team
 * would adopt them; only a server admin (j) may do that.
 */
static int apply_team_create(wbs__store *s, wbs__job *j)
{
	int qr, st;
	if ((st = name_taken(s, j, W(j)->a)))
		return st;
	if (!W(j)->j) {
		Q(NULL, "SELECT 1 FROM projects WHERE entity = ?1 LIMIT 1", "t", W(j)->a);
		if (qr)
			return wbs__err_set(&j->err, WBS__ST_CONFLICT,
					    "projects exist under the name %s; only a server admin may create a team of it",
					    W(j)->a);
	}
	Q(NULL, "INSERT INTO teams (name, created_at) VALUES (?1, ?2)", "td", W(j)->a, wbs__store_now(s));
	Q(NULL, "INSERT INTO team_members (team_id, user_id, role) VALUES (?1, ?2, 'admin')", "ii",
	  (int64_t)sqlite3_last_insert_rowid(DB), W(j)->i);
	return WBS__ST_OK;
}

int wbs__store_team_create(wbs__store *s, const char *name, int64_t owner, int owner_is_admin, wbs__err *err)
{
	struct w w = {.a = name, .i = owner, .j = owner_is_admin ? 1 : 0};
	return submit(s, apply_team_create, &w, err);
}

int wbs__store_teams_list(wbs__store *s, int64_t user_id, int all, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT t.name, tm.role, t.created_at FROM teams t "
		    "LEFT JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = ?1 "
		    "WHERE ?2 OR tm.role IS NOT NULL ORDER BY t.name",
		    "ii", user_id, (int64_t)all);
}

int wbs__store_team_members(wbs__store *s, const char *team, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT u.name AS user, tm.role FROM team_members tm JOIN teams t ON t.id = tm.team_id "
		    "JOIN users u ON u.id = tm.user_id WHERE t.name = ?1 ORDER BY u.name",
		    "t", team);
}

/* Set or remove (role NULL) user's row in a members table keyed by (col, user_id). */
static int member_set(wbs__store *s, wbs__job *j, const char *table, const char *col, int64_t owner_id,
		      const char *user, const char *role)
{
	int64_t uid = 0, admins = 0;
	char sql[256];
	int qr;

	Q(&uid, "SELECT id FROM users WHERE name = ?1", "t", user);
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no user %s", user);
	if (role) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO %s (%s, user_id, role) VALUES (?1, ?2, ?3) "
			 "ON CONFLICT DO UPDATE SET role = excluded.role",
			 table, col);
		Q(NULL, sql, "iit", owner_id, uid, role);
	} else {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?1 AND user_id = ?2", table, col);
		Q(NULL, sql, "ii", owner_id, uid);
		if (!sqlite3_changes(DB))
			return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "%s is not a member", user);
	}
	if (strcmp(table, "team_members") == 0) {
		Q(&admins, "SELECT count(*) FROM team_members WHERE team_id = ?1 AND role = 'admin'", "i", owner_id);
		if (admins == 0)
			return wbs__err_set(&j->err, WBS__ST_BADARG, "a team keeps at least one admin");
	}
	return WBS__ST_OK;
}

static int apply_team_member(wbs__store *s, wbs__job *j)
{
	int64_t tid = 0;
	int qr;
	Q(&tid, "SELECT id FROM teams WHERE name = ?1", "t", W(j)->a);
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no team %s", W(j)->a);
	return member_set(s, j, "team_members", "team_id", tid, W(j)->b, W(j)->c);
}

int wbs__store_team_member_set(wbs__store *s, const char *team, const char *user, int role, wbs__err *err)
{
	struct w w = {.a = team, .b = user, .c = wbs__role_name(role)};
	return submit(s, apply_team_member, &w, err);
}

/* ---- projects ---- */

static int apply_project_upsert(wbs__store *s, wbs__job *j)
{
	int qr;
	double now = wbs__store_now(s);
	Q(NULL,
	  "INSERT INTO projects (entity, name, visibility, created_at, updated_at) "
	  "VALUES (?1, ?2, coalesce(?3, 'private'), ?4, ?4) "
	  "ON CONFLICT (entity, name) DO UPDATE SET visibility = coalesce(?3, visibility)",
	  "tttd", W(j)->a, W(j)->b, W(j)->c, now);
	return WBS__ST_OK;
}

int wbs__store_project_upsert(wbs__store *s, const char *entity, const char *project, const char *visibility,
			      wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .c = visibility};
	return submit(s, apply_project_upsert, &w, err);
}

static int apply_project_times(wbs__store *s, wbs__job *j)
{
	int qr;
	Q(NULL, "UPDATE projects SET created_at = ?3, updated_at = ?4 WHERE entity = ?1 AND name = ?2", "ttdd",
	  W(j)->a, W(j)->b, W(j)->t, W(j)->t2);
	return WBS__ST_OK;
}

int wbs__store_project_times(wbs__store *s, const char *entity, const char *project, double created_at,
			     double updated_at, wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .t = created_at, .t2 = updated_at};
	return submit(s, apply_project_times, &w, err);
}

int wbs__store_project_members(wbs__store *s, const char *entity, const char *project, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT u.name AS user, pm.role FROM project_members pm JOIN projects p ON p.id = pm.project_id "
		    "JOIN users u ON u.id = pm.user_id WHERE p.entity = ?1 AND p.name = ?2 ORDER BY u.name",
		    "tt", entity, project);
}

static int project_id(wbs__store *s, wbs__job *j, int64_t *pid)
{
	int qr;
	Q(pid, "SELECT id FROM projects WHERE entity = ?1 AND name = ?2", "tt", W(j)->a, W(j)->b);
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no project %s/%s", W(j)->a, W(j)->b);
	return WBS__ST_OK;
}

static int apply_project_member(wbs__store *s, wbs__job *j)
{
	int64_t pid = 0;
	int st = project_id(s, j, &pid);
	return st ? st : member_set(s, j, "project_members", "project_id", pid, W(j)->c, W(j)->d);
}

int wbs__store_project_member_set(wbs__store *s, const char *entity, const char *project, const char *user, int role,
				  wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .c = user, .d = wbs__role_name(role)};
	return submit(s, apply_project_member, &w, err);
}

/* ---- reports ---- */

int wbs__store_reports_list(wbs__store *s, const char *entity, const char *project, wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT r.id, v.title, v.version, v.created_at AS updated_at, u.name AS author "
		    "FROM reports r JOIN projects p ON p.id = r.project_id "
		    "JOIN report_versions v ON v.report_id = r.id "
		    " AND v.version = (SELECT max(version) FROM report_versions WHERE report_id = r.id) "
		    "LEFT JOIN users u ON u.id = v.author_id "
		    "WHERE p.entity = ?1 AND p.name = ?2 ORDER BY v.created_at DESC, r.id DESC",
		    "tt", entity, project);
}

static int apply_report_create(wbs__store *s, wbs__job *j)
{
	int64_t pid = 0;
	int qr, st = project_id(s, j, &pid);
	double now = wbs__store_now(s);
	if (st)
		return st;
	Q(NULL, "INSERT INTO reports (project_id, created_by, created_at) VALUES (?1, ?2, ?3)", "iid", pid, W(j)->i, now);
	W(j)->out = sqlite3_last_insert_rowid(DB);
	Q(NULL,
	  "INSERT INTO report_versions (report_id, version, title, body, author_id, created_at) "
	  "VALUES (?1, 1, ?2, ?3, ?4, ?5)",
	  "ittid", W(j)->out, W(j)->c, W(j)->d, W(j)->i, now);
	return WBS__ST_OK;
}

int wbs__store_report_create(wbs__store *s, const char *entity, const char *project, int64_t author, const char *title,
			     const char *body, int64_t *id, wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .c = title, .d = body, .i = author};
	int st = submit(s, apply_report_create, &w, err);
	*id = w.out;
	return st;
}

static int apply_report_update(wbs__store *s, wbs__job *j)
{
	int64_t cur = 0;
	int qr;
	Q(&cur,
	  "SELECT (SELECT max(version) FROM report_versions WHERE report_id = r.id) FROM reports r "
	  "JOIN projects p ON p.id = r.project_id WHERE p.entity = ?1 AND p.name = ?2 AND r.id = ?3",
	  "tti", W(j)->a, W(j)->b, W(j)->j);
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no report %lld in %s/%s", (long long)W(j)->j, W(j)->a,
				    W(j)->b);
	if (W(j)->k >= 0 && W(j)->k != cur)
		return wbs__err_set(&j->err, WBS__ST_CONFLICT,
				    "the report changed since version %lld (now version %lld): reload and edit again",
				    (long long)W(j)->k, (long long)cur);
	Q(NULL,
	  "INSERT INTO report_versions (report_id, version, title, body, author_id, created_at) "
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	  "iittid", W(j)->j, cur + 1, W(j)->c, W(j)->d, W(j)->i, wbs__store_now(s));
	W(j)->out = cur + 1;
	return WBS__ST_OK;
}

int wbs__store_report_update(wbs__store *s, const char *entity, const char *project, int64_t id, int64_t author,
			     const char *title, const char *body, int64_t base_version, int64_t *version, wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .c = title, .d = body, .i = author, .j = id, .k = base_version};
	int st = submit(s, apply_report_update, &w, err);
	*version = w.out;
	return st;
}

int wbs__store_report_get(wbs__store *s, const char *entity, const char *project, int64_t id, int64_t version,
			  wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, "no such report or version",
		    "SELECT r.id, v.title, v.body, v.version, "
		    "(SELECT max(version) FROM report_versions WHERE report_id = r.id) AS latest_version, "
		    "ua.name AS author, v.created_at AS updated_at, r.created_at, uc.name AS created_by "
		    "FROM reports r JOIN projects p ON p.id = r.project_id JOIN report_versions v ON v.report_id = r.id "
		    "LEFT JOIN users ua ON ua.id = v.author_id LEFT JOIN users uc ON uc.id = r.created_by "
		    "WHERE p.entity = ?1 AND p.name = ?2 AND r.id = ?3 AND v.version = CASE WHEN ?4 > 0 THEN ?4 "
		    "ELSE (SELECT max(version) FROM report_versions WHERE report_id = r.id) END",
		    "ttii", entity, project, id, version);
}

int wbs__store_report_versions(wbs__store *s, const char *entity, const char *project, int64_t id,
			       wbs__acct_rows *out, wbs__err *err)
{
	return ROWS(err, NULL,
		    "SELECT v.version, v.title, u.name AS author, v.created_at FROM report_versions v "
		    "JOIN reports r ON r.id = v.report_id JOIN projects p ON p.id = r.project_id "
		    "LEFT JOIN users u ON u.id = v.author_id "
		    "WHERE p.entity = ?1 AND p.name = ?2 AND r.id = ?3 ORDER BY v.version DESC",
		    "tti", entity, project, id);
}

static int apply_report_delete(wbs__store *s, wbs__job *j)
{
	int64_t rid = 0;
	int qr;
	Q(&rid,
	  "SELECT r.id FROM reports r JOIN projects p ON p.id = r.project_id "
	  "WHERE p.entity = ?1 AND p.name = ?2 AND r.id = ?3",
	  "tti", W(j)->a, W(j)->b, W(j)->j);
	if (!qr)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no report %lld", (long long)W(j)->j);
	Q(NULL, "DELETE FROM report_versions WHERE report_id = ?1", "i", rid);
	Q(NULL, "DELETE FROM reports WHERE id = ?1", "i", rid);
	return WBS__ST_OK;
}

int wbs__store_report_delete(wbs__store *s, const char *entity, const char *project, int64_t id, wbs__err *err)
{
	struct w w = {.a = entity, .b = project, .j = id};
	return submit(s, apply_report_delete, &w, err);
}

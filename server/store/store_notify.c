/*
 * store_notify.c — notification tables (store_notify.h).
 *
 * Writes are JOB_FN jobs on the single writer (the one-writer rule holds
 * for the notifier too: recording a delivery attempt is a tiny job queued
 * like any other). Reads use the reader pool. Statements are prepared per
 * call: these routes and the notifier's once-a-quarter-second poll are far
 * from the ingest path, and keeping them out of the shared statement
 * tables keeps this feature in its own file.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_notify.h"

/* ---- helpers ---- */

static int project_id_w(wbs__store *s, const char *entity, const char *project, int create, int64_t *id,
			wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	double now = wbs__store_now(s);
	int rc, ret = WBS__ST_OK;

	rc = sqlite3_prepare_v2(s->wdb,
				create ? "INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) "
					 "ON CONFLICT (entity, name) DO UPDATE SET name = excluded.name RETURNING id"
				       : "SELECT id FROM projects WHERE entity = ?1 AND name = ?2",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "find project");
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	if (create)
		sqlite3_bind_double(st, 3, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "project %s/%s not found", entity, project);
	else
		ret = wbs__store_sqlerr(err, s->wdb, rc, "find project");
	sqlite3_finalize(st);
	return ret;
}

static int exec_bound(wbs__store *s, const char *sql, wbs__err *err, int64_t a, int64_t b, double c)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "notify");
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	sqlite3_bind_double(st, 3, c);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? WBS__ST_OK : wbs__store_sqlerr(err, s->wdb, rc, "notify");
}

/* Count of rows of a one-column count query with up to two int binds. */
static int count_w(wbs__store *s, const char *sql, int64_t a, int64_t b, int64_t *out, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "notify");
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? WBS__ST_OK : wbs__store_sqlerr(err, s->wdb, rc, "notify");
}

/* ---- webhooks ---- */

struct wh_arg {
	const char *entity, *project, *url, *hint;
	int64_t user_id, id;
	unsigned events;
	wbs__webhook_row *out;
};

static int apply_webhook_add(wbs__store *s, wbs__job *j)
{
	struct wh_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int64_t pid = 0, n = 0;
	double now = wbs__store_now(s);
	int rc, ret;

	if (a->project) {
		if ((ret = project_id_w(s, a->entity, a->project, 1, &pid, &j->err)) ||
		    (ret = count_w(s, "SELECT count(*) FROM notify_webhooks WHERE project_id = ?1 AND deleted_at IS NULL",
				   pid, 0, &n, &j->err)))
			return ret;
	} else if ((ret = count_w(s,
				  "SELECT count(*) FROM notify_webhooks WHERE project_id IS NULL AND user_id = ?1 "
				  "AND deleted_at IS NULL",
				  a->user_id, 0, &n, &j->err))) {
		return ret;
	}
	if (n >= (int64_t)WBS__WEBHOOKS_MAX)
		return wbs__err_set(&j->err, WBS__ST_BADARG, "at most %u webhooks per %s", WBS__WEBHOOKS_MAX,
				   a->project ? "project" : "user");
	rc = sqlite3_prepare_v2(s->wdb,
				"INSERT INTO notify_webhooks (project_id, user_id, url, hint, events, created_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "add webhook");
	if (a->project)
		sqlite3_bind_int64(st, 1, pid);
	if (a->user_id > 0)
		sqlite3_bind_int64(st, 2, a->user_id);
	sqlite3_bind_text(st, 3, a->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->hint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, a->events);
	sqlite3_bind_double(st, 6, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->out->id = sqlite3_column_int64(st, 0);
		a->out->created_at = now;
		ret = WBS__ST_OK;
	} else {
		ret = wbs__store_sqlerr(&j->err, s->wdb, rc, "add webhook");
	}
	sqlite3_finalize(st);
	return ret;
}

int wbs__store_webhook_add(wbs__store *s, const char *entity, const char *project, int64_t user_id, const char *url,
			   const char *hint, unsigned events, wbs__webhook_row *out, wbs__err *err)
{
	struct wh_arg a = {.entity = entity, .project = project, .url = url, .hint = hint, .user_id = user_id,
			   .events = events, .out = out};
	int st;

	memset(out, 0, sizeof(*out));
	st = wbs__store_submit_fn(s, apply_webhook_add, &a, err);
	if (st == WBS__ST_OK) {
		out->hint = strdup(hint);
		out->events = events;
		out->user_scope = project == NULL;
		if (!out->hint)
			return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	}
	return st;
}

static int apply_webhook_delete(wbs__store *s, wbs__job *j)
{
	struct wh_arg *a = j->arg;
	int64_t pid = 0, n = 0;
	double now = wbs__store_now(s);
	int ret;

	if (a->project) {
		if ((ret = project_id_w(s, a->entity, a->project, 0, &pid, &j->err)) ||
		    (ret = count_w(s,
				   "SELECT count(*) FROM notify_webhooks WHERE id = ?1 AND project_id = ?2 "
				   "AND deleted_at IS NULL",
				   a->id, pid, &n, &j->err)))
			return ret;
	} else if ((ret = count_w(s,
				  "SELECT count(*) FROM notify_webhooks WHERE id = ?1 AND project_id IS NULL "
				  "AND user_id = ?2 AND deleted_at IS NULL",
				  a->id, a->user_id, &n, &j->err))) {
		return ret;
	}
	if (n == 0)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "webhook %lld not found", (long long)a->id);
	if ((ret = exec_bound(s, "UPDATE notify_webhooks SET url = '', deleted_at = ?3 WHERE id = ?1 AND ?2 = ?2",
			      &j->err, a->id, 0, now)))
		return ret;
	return exec_bound(s,
			  "UPDATE notify_deliveries SET state = 'cancelled', done_at = ?3 "
			  "WHERE webhook_id = ?1 AND state = 'pending' AND ?2 = ?2",
			  &j->err, a->id, 0, now);
}

int wbs__store_webhook_delete(wbs__store *s, const char *entity, const char *project, int64_t user_id, int64_t id,
			      wbs__err *err)
{
	struct wh_arg a = {.entity = entity, .project = project, .user_id = user_id, .id = id};
	return wbs__store_submit_fn(s, apply_webhook_delete, &a, err);
}

/* Look up a project's id through a reader; NOTFOUND if absent. */
static int project_id_r(wbs__reader *r, const char *entity, const char *project, int64_t *id, wbs__err *err)
{
	sqlite3_stmt *st = wbs__reader_stmt(r, RS_PROJECT_ID, err);
	int rc;

	if (!st)
		return err->st;
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return WBS__ST_OK;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "project %s/%s not found", entity, project);
	return wbs__store_sqlerr(err, r->db, rc, "find project");
}

/* Grow *rows (of size sz) to hold one more; NULL when out of memory. */
static void *grow(void **rows, size_t *cap, size_t n, size_t sz)
{
	if (n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = realloc(*rows, nc * sz);
		if (!p)
			return NULL;
		*rows = p;
		*cap = nc;
	}
	memset((char *)*rows + n * sz, 0, sz);
	return (char *)*rows + n * sz;
}

int wbs__store_webhooks_list(wbs__store *s, const char *entity, const char *project, int64_t user_id,
			     wbs__webhook_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	wbs__webhook_row *out = NULL;
	size_t cap = 0, cnt = 0;
	int64_t pid = 0;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if (project && (ret = project_id_r(r, entity, project, &pid, err)))
		goto done;
	rc = sqlite3_prepare_v2(r->db,
				project ? "SELECT id, hint, events, created_at FROM notify_webhooks "
					  "WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id"
					: "SELECT id, hint, events, created_at FROM notify_webhooks "
					  "WHERE project_id IS NULL AND user_id = ?1 AND deleted_at IS NULL ORDER BY id",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "list webhooks");
		goto done;
	}
	sqlite3_bind_int64(st, 1, project ? pid : user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__webhook_row *w = grow((void **)&out, &cap, cnt, sizeof(*out));
		if (!w) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		cnt++;
		w->id = sqlite3_column_int64(st, 0);
		w->hint = wbs__col_dup(st, 1, &oom);
		w->events = (unsigned)sqlite3_column_int64(st, 2);
		w->created_at = sqlite3_column_double(st, 3);
		w->user_scope = project == NULL;
	}
	if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "list webhooks");
	else if (oom)
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__webhook_rows_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	return WBS__ST_OK;
}

void wbs__webhook_rows_free(wbs__webhook_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].hint);
	free(rows);
}

/* ---- rules ---- */

struct rule_arg {
	const char *entity, *project;
	const wbs__rule *rule;
	int64_t id;
	wbs__rule_row *out;
};

static int apply_rule_add(wbs__store *s, wbs__job *j)
{
	struct rule_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int64_t pid = 0, n = 0;
	double now = wbs__store_now(s);
	int rc, ret;

	if ((ret = project_id_w(s, a->entity, a->project, 1, &pid, &j->err)) ||
	    (ret = count_w(s, "SELECT count(*) FROM notify_rules WHERE project_id = ?1 AND deleted_at IS NULL", pid, 0,
			   &n, &j->err)))
		return ret;
	if (n >= (int64_t)WBS__RULES_MAX)
		return wbs__err_set(&j->err, WBS__ST_BADARG, "at most %u rules per project", WBS__RULES_MAX);
	rc = sqlite3_prepare_v2(s->wdb,
				"INSERT INTO notify_rules (project_id, text, kind, path, op, threshold, seconds, created_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "add rule");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, a->rule->text, -1, SQLITE_STATIC);
	if (a->rule->kind == WBS__RULE_SUMMARY) {
		sqlite3_bind_text(st, 3, "summary", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, a->rule->path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, a->rule->op, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 6, a->rule->threshold);
	} else {
		sqlite3_bind_text(st, 3, "stall", -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 7, a->rule->seconds);
	}
	sqlite3_bind_double(st, 8, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->out->id = sqlite3_column_int64(st, 0);
		a->out->created_at = now;
		ret = WBS__ST_OK;
	} else {
		ret = wbs__store_sqlerr(&j->err, s->wdb, rc, "add rule");
	}
	sqlite3_finalize(st);
	if (ret || a->rule->kind != WBS__RULE_SUMMARY)
		return ret;
	/* Runs whose summary already crosses the threshold fire now, not at their next update. */
	return exec_bound(s,
			  "UPDATE runs SET summary = summary "
			  "WHERE project_id = ?1 AND state = 'running' AND ?2 = ?2 AND ?3 = ?3",
			  &j->err, pid, 0, 0);
}

int wbs__store_rule_add(wbs__store *s, const char *entity, const char *project, const wbs__rule *r,
			wbs__rule_row *out, wbs__err *err)
{
	struct rule_arg a = {.entity = entity, .project = project, .rule = r, .out = out};
	int st;

	memset(out, 0, sizeof(*out));
	st = wbs__store_submit_fn(s, apply_rule_add, &a, err);
	if (st == WBS__ST_OK) {
		out->text = strdup(r->text);
		out->kind = strdup(r->kind == WBS__RULE_SUMMARY ? "summary" : "stall");
		if (!out->text || !out->kind)
			return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	}
	return st;
}

static int apply_rule_delete(wbs__store *s, wbs__job *j)
{
	struct rule_arg *a = j->arg;
	int64_t pid = 0, n = 0;
	int ret;

	if ((ret = project_id_w(s, a->entity, a->project, 0, &pid, &j->err)) ||
	    (ret = count_w(s, "SELECT count(*) FROM notify_rules WHERE id = ?1 AND project_id = ?2 AND deleted_at IS NULL",
			   a->id, pid, &n, &j->err)))
		return ret;
	if (n == 0)
		return wbs__err_set(&j->err, WBS__ST_NOTFOUND, "rule %lld not found", (long long)a->id);
	return exec_bound(s, "UPDATE notify_rules SET deleted_at = ?3 WHERE id = ?1 AND ?2 = ?2", &j->err, a->id, 0,
			  wbs__store_now(s));
}

int wbs__store_rule_delete(wbs__store *s, const char *entity, const char *project, int64_t id, wbs__err *err)
{
	struct rule_arg a = {.entity = entity, .project = project, .id = id};
	return wbs__store_submit_fn(s, apply_rule_delete, &a, err);
}

int wbs__store_rules_list(wbs__store *s, const char *entity, const char *project, wbs__rule_row **rows, size_t *n,
			  wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	wbs__rule_row *out = NULL;
	size_t cap = 0, cnt = 0;
	int64_t pid = 0;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if ((ret = project_id_r(r, entity, project, &pid, err)))
		goto done;
	rc = sqlite3_prepare_v2(r->db,
				"SELECT id, text, kind, created_at, "
				"(SELECT count(*) FROM notify_rule_fires f WHERE f.rule_id = r.id) "
				"FROM notify_rules r WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "list rules");
		goto done;
	}
	sqlite3_bind_int64(st, 1, pid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__rule_row *w = grow((void **)&out, &cap, cnt, sizeof(*out));
		if (!w) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		cnt++;
		w->id = sqlite3_column_int64(st, 0);
		w->text = wbs__col_dup(st, 1, &oom);
		w->kind = wbs__col_dup(st, 2, &oom);
		w->created_at = sqlite3_column_double(st, 3);
		w->fired = (uint64_t)sqlite3_column_int64(st, 4);
	}
	if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "list rules");
	else if (oom)
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__rule_rows_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	return WBS__ST_OK;
}

void wbs__rule_rows_free(wbs__rule_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].text);
		free(rows[i].kind);
	}
	free(rows);
}

/* ---- delivery log ---- */

int wbs__store_deliveries_list(wbs__store *s, const char *entity, const char *project, size_t limit,
			       wbs__delivery_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	wbs__delivery_row *out = NULL;
	size_t cap = 0, cnt = 0;
	int64_t pid = 0;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if ((ret = project_id_r(r, entity, project, &pid, err)))
		goto done;
	rc = sqlite3_prepare_v2(r->db,
				"SELECT d.id, d.webhook_id, x.run_id, d.event, d.state, d.error, d.attempts, d.http_status, "
				"d.created_at, d.next_at, d.last_at, d.done_at, x.name FROM notify_deliveries d "
				"JOIN runs x ON x.id = d.run_id WHERE x.project_id = ?1 ORDER BY d.id DESC LIMIT ?2",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "list deliveries");
		goto done;
	}
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__delivery_row *d = grow((void **)&out, &cap, cnt, sizeof(*out));
		if (!d) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		cnt++;
		d->id = sqlite3_column_int64(st, 0);
		d->webhook_id = sqlite3_column_int64(st, 1);
		d->run_id = wbs__col_dup(st, 2, &oom);
		d->event = wbs__col_dup(st, 3, &oom);
		d->state = wbs__col_dup(st, 4, &oom);
		d->error = wbs__col_dup(st, 5, &oom);
		d->attempts = sqlite3_column_int64(st, 6);
		d->http_status = sqlite3_column_int(st, 7);
		d->created_at = wbs__col_real(st, 8);
		d->next_at = wbs__col_real(st, 9);
		d->last_at = wbs__col_real(st, 10);
		d->done_at = wbs__col_real(st, 11);
		d->run_name = wbs__col_dup(st, 12, &oom);
	}
	if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "list deliveries");
	else if (oom)
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__delivery_rows_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	return WBS__ST_OK;
}

void wbs__delivery_rows_free(wbs__delivery_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].run_id);
		free(rows[i].run_name);
		free(rows[i].event);
		free(rows[i].state);
		free(rows[i].error);
	}
	free(rows);
}

/* ---- notifier ---- */

int wbs__store_notify_due(wbs__store *s, double now, size_t max, wbs__notify_due **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	wbs__notify_due *out = NULL;
	size_t cap = 0, cnt = 0;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	rc = sqlite3_prepare_v2(r->db,
				"SELECT d.id, d.webhook_id, d.attempts, w.id IS NULL OR w.deleted_at IS NOT NULL, w.url, "
				"d.event, p.entity, p.name, x.run_id, x.name, x.state, x.summary, x.exit_code, "
				"a.level, a.title, a.text, r.text, f.value, "
				"CASE WHEN w.project_id IS NULL THEN w.user_id END, u.deactivated_at IS NULL "
				"FROM notify_deliveries d JOIN runs x ON x.id = d.run_id "
				"JOIN projects p ON p.id = x.project_id "
				"LEFT JOIN notify_webhooks w ON w.id = d.webhook_id "
				"LEFT JOIN users u ON u.id = w.user_id "
				"LEFT JOIN notify_alerts a ON d.event = 'alert' AND a.id = d.ref_id "
				"LEFT JOIN notify_rule_fires f ON d.event = 'rule' AND f.id = d.ref_id "
				"LEFT JOIN notify_rules r ON r.id = f.rule_id "
				"WHERE d.state = 'pending' AND d.next_at <= ?1 ORDER BY d.next_at, d.id LIMIT ?2",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "due deliveries");
		goto done;
	}
	sqlite3_bind_double(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__notify_due *d = grow((void **)&out, &cap, cnt, sizeof(*out));
		if (!d) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		cnt++;
		d->id = sqlite3_column_int64(st, 0);
		d->webhook_id = sqlite3_column_int64(st, 1);
		d->attempts = sqlite3_column_int64(st, 2);
		d->cancelled = sqlite3_column_int(st, 3);
		d->url = wbs__col_dup(st, 4, &oom);
		d->event = wbs__col_dup(st, 5, &oom);
		d->entity = wbs__col_dup(st, 6, &oom);
		d->project = wbs__col_dup(st, 7, &oom);
		d->run_id = wbs__col_dup(st, 8, &oom);
		d->run_name = wbs__col_dup(st, 9, &oom);
		d->state = wbs__col_dup(st, 10, &oom);
		d->summary = wbs__col_dup(st, 11, &oom);
		d->has_exit_code = sqlite3_column_type(st, 12) != SQLITE_NULL;
		d->exit_code = sqlite3_column_int(st, 12);
		d->alert_level = wbs__col_dup(st, 13, &oom);
		d->alert_title = wbs__col_dup(st, 14, &oom);
		d->alert_text = wbs__col_dup(st, 15, &oom);
		d->rule_text = wbs__col_dup(st, 16, &oom);
		d->rule_value = wbs__col_real(st, 17);
		d->owner_id = sqlite3_column_int64(st, 18);
		d->owner_active = sqlite3_column_int(st, 19);
	}
	if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "due deliveries");
	else if (oom)
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__notify_due_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	return WBS__ST_OK;
}

void wbs__notify_due_free(wbs__notify_due *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		wbs__notify_due *d = &rows[i];
		char *f[] = {d->url, d->event, d->entity, d->project, d->run_id, d->run_name, d->state, d->summary,
			     d->alert_level, d->alert_title, d->alert_text, d->rule_text};
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			free(f[k]);
	}
	free(rows);
}

struct result_arg {
	int64_t id, attempts;
	const char *state, *error;
	int http_status;
	double next_at, last_at, done_at;
};

static void bind_real_or_null(sqlite3_stmt *st, int i, double d)
{
	if (isnan(d))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, d);
}

static int apply_result(wbs__store *s, wbs__job *j)
{
	struct result_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->wdb,
				    "UPDATE notify_deliveries SET state = ?2, attempts = ?3, http_status = ?4, error = ?5, "
				    "next_at = ?6, last_at = coalesce(?7, last_at), done_at = ?8 "
				    "WHERE id = ?1 AND state = 'pending'",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "record delivery");
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->attempts);
	if (a->http_status > 0)
		sqlite3_bind_int(st, 4, a->http_status);
	if (a->error)
		sqlite3_bind_text(st, 5, a->error, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 6, a->next_at);
	bind_real_or_null(st, 7, a->last_at);
	bind_real_or_null(st, 8, a->done_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? WBS__ST_OK : wbs__store_sqlerr(&j->err, s->wdb, rc, "record delivery");
}

int wbs__store_notify_result(wbs__store *s, int64_t id, const char *state, int64_t attempts, int http_status,
			     const char *error, double next_at, double last_at, double done_at, wbs__err *err)
{
	struct result_arg a = {id, attempts, state, error, http_status, next_at, last_at, done_at};
	return wbs__store_submit_fn(s, apply_result, &a, err);
}

struct stall_arg {
	double now;
	uint64_t n;
};

static int apply_stall(wbs__store *s, wbs__job *j)
{
	struct stall_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
		s->wdb,
		"INSERT OR IGNORE INTO notify_rule_fires (rule_id, run_id, value, fired_at) "
		"SELECT r.id, x.id, ?1 - coalesce(t.step_at, x.created_at), ?1 FROM notify_rules r "
		"JOIN runs x ON x.project_id = r.project_id LEFT JOIN notify_run_steps t ON t.run_id = x.id "
		"WHERE r.kind = 'stall' AND r.deleted_at IS NULL AND x.state = 'running' "
		"AND coalesce(t.step_at, x.created_at) < ?1 - r.seconds "
		"AND NOT EXISTS (SELECT 1 FROM notify_rule_fires f WHERE f.rule_id = r.id AND f.run_id = x.id)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "stall rules");
	sqlite3_bind_double(st, 1, a->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "stall rules");
	a->n = (uint64_t)sqlite3_changes(s->wdb);
	return WBS__ST_OK;
}

int wbs__store_notify_stall(wbs__store *s, double now, uint64_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	struct stall_arg a = {now, 0};
	int64_t have = 0;
	int rc, ret;

	/* Most servers have no stall rule: ask a reader first and leave the writer alone. */
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	rc = sqlite3_prepare_v2(r->db, "SELECT count(*) FROM notify_rules WHERE kind = 'stall' AND deleted_at IS NULL",
				-1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		have = sqlite3_column_int64(st, 0);
	ret = rc == SQLITE_ROW ? WBS__ST_OK : wbs__store_sqlerr(err, r->db, rc, "stall rules");
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (ret || !have) {
		if (n)
			*n = 0;
		return ret;
	}
	ret = wbs__store_submit_fn(s, apply_stall, &a, err);
	if (n)
		*n = a.n;
	return ret;
}

int wbs__store_notify_counts(wbs__store *s, uint64_t *pending, uint64_t *fires, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*pending = *fires = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	rc = sqlite3_prepare_v2(r->db,
				"SELECT (SELECT count(*) FROM notify_deliveries WHERE state = 'pending'),"
				" (SELECT count(*) FROM notify_rule_fires)",
				-1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*pending = (uint64_t)sqlite3_column_int64(st, 0);
		*fires = (uint64_t)sqlite3_column_int64(st, 1);
	}
	ret = rc == SQLITE_ROW ? WBS__ST_OK : wbs__store_sqlerr(err, r->db, rc, "notification counts");
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

int wbs__store_alert_apply(wbs__store *s, int64_t run_id, const struct cJSON *alert, double now, wbs__err *err)
{
	const cJSON *level = cJSON_GetObjectItemCaseSensitive(alert, "level");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(alert, "title");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(alert, "text");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(alert, "time");
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->wdb, "INSERT INTO notify_alerts (run_id, level, title, text, at) VALUES (?1, ?2, ?3, ?4, ?5)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "store alert");
	/* The batch decoder validated the record: level, title and text are strings. */
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, level->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, title->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cJSON_IsString(text) ? text->valuestring : "", -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, cJSON_IsNumber(t) ? t->valuedouble : now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? WBS__ST_OK : wbs__store_sqlerr(err, s->wdb, rc, "store alert");
}

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

/* The project's id on the writer; with create, the project is made when missing. */
static int project_id_w(wbs__store *s, const char *entity, const char *project, int create, int64_t *id,
			wbs__err *err)
{
	if (!create)
		return wbs__sql_project_id(s->wdb, NULL, entity, project, id, err);
	return wbs__sql_i64(s->wdb, err, id, "find project",
			    "INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) "
			    "ON CONFLICT (entity, name) DO UPDATE SET name = excluded.name RETURNING id",
			    "ttd", entity, project, wbs__store_now(s)) < 0
		       ? err->st
		       : WBS__ST_OK;
}

/* Count of rows of a one-column count query with up to two int binds. */
static int count_w(wbs__store *s, const char *sql, int64_t a, int64_t b, int64_t *out, wbs__err *err)
{
	*out = 0;
	return wbs__sql_i64(s->wdb, err, out, "notify", sql, "ii", a, b) < 0 ? err->st : WBS__ST_OK;
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
	if (!(st = wbs__sql_prepare(s->wdb,
				    "INSERT INTO notify_webhooks (project_id, user_id, url, hint, events, created_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
				    "add webhook", &j->err)))
		return j->err.st;
	if (a->project)
		sqlite3_bind_int64(st, 1, pid);
	if (a->user_id > 0)
		sqlite3_bind_int64(st, 2, a->user_id);
	sqlite3_bind_text(st, 3, a->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->hint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, a->events);
	sqlite3_bind_double(st, 6, now);
	if ((rc = wbs__sql_step(s->wdb, st, "add webhook", &j->err)) == 1) {
		a->out->id = sqlite3_column_int64(st, 0);
		a->out->created_at = now;
		ret = WBS__ST_OK;
	} else {
		ret = rc ? j->err.st : wbs__store_sqlerr(&j->err, s->wdb, SQLITE_DONE, "add webhook");
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
	if ((ret = wbs__sql_run(s->wdb, &j->err, "notify",
				"UPDATE notify_webhooks SET url = '', deleted_at = ?3 WHERE id = ?1 AND ?2 = ?2", "iid", a->id,
				(int64_t)0, now)))
		return ret;
	return wbs__sql_run(s->wdb, &j->err, "notify",
			    "UPDATE notify_deliveries SET state = 'cancelled', done_at = ?3 "
			    "WHERE webhook_id = ?1 AND state = 'pending' AND ?2 = ?2",
			    "iid", a->id, (int64_t)0, now);
}

int wbs__store_webhook_delete(wbs__store *s, const char *entity, const char *project, int64_t user_id, int64_t id,
			      wbs__err *err)
{
	struct wh_arg a = {.entity = entity, .project = project, .user_id = user_id, .id = id};
	return wbs__store_submit_fn(s, apply_webhook_delete, &a, err);
}

/*
 * The rows of sql about one project, on a reader: ?1 is the project's id
 * (NOTFOUND when entity/project does not exist), ?2 limit when limit >= 0.
 * The rows are wbs__sql_rows's: the caller frees them, also on failure.
 */
static int project_rows(wbs__store *s, const char *entity, const char *project, int64_t limit, size_t sz,
			wbs__sql_row_fn fn, const char *what, const char *sql, void **out, size_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	int64_t pid = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if (!r)
		return err->st;
	if (!(ret = wbs__reader_project_id(r, entity, project, &pid, err)))
		ret = wbs__sql_rows(r->db, sz, out, n, fn, NULL, what, err, sql, limit >= 0 ? "ii" : "i", pid, limit);
	wbs__reader_put(s, r);
	return ret;
}

static int webhook_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__webhook_row *w = row;
	int oom = 0;

	w->id = sqlite3_column_int64(st, 0);
	w->hint = wbs__sql_col_dup(st, 1, &oom);
	w->events = (unsigned)sqlite3_column_int64(st, 2);
	w->created_at = sqlite3_column_double(st, 3);
	w->user_scope = *(const int *)ctx;
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_webhooks_list(wbs__store *s, const char *entity, const char *project, int64_t user_id,
			     wbs__webhook_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	void *out = NULL;
	size_t cnt = 0;
	int64_t pid = 0;
	int user_scope = project == NULL, ret;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if (!project || !(ret = wbs__reader_project_id(r, entity, project, &pid, err)))
		ret = wbs__sql_rows(r->db, sizeof(wbs__webhook_row), &out, &cnt, webhook_row, &user_scope, "list webhooks",
				    err,
				    project ? "SELECT id, hint, events, created_at FROM notify_webhooks "
					      "WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id"
					    : "SELECT id, hint, events, created_at FROM notify_webhooks "
					      "WHERE project_id IS NULL AND user_id = ?1 AND deleted_at IS NULL ORDER BY id",
				    "i", project ? pid : user_id);
	wbs__reader_put(s, r);
	if (ret)
		wbs__webhook_rows_free(out, cnt);
	else
		*rows = out, *n = cnt;
	return ret;
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
	if (!(st = wbs__sql_prepare(s->wdb,
				    "INSERT INTO notify_rules (project_id, text, kind, path, op, threshold, seconds, created_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
				    "add rule", &j->err)))
		return j->err.st;
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
	if ((rc = wbs__sql_step(s->wdb, st, "add rule", &j->err)) == 1) {
		a->out->id = sqlite3_column_int64(st, 0);
		a->out->created_at = now;
		ret = WBS__ST_OK;
	} else {
		ret = rc ? j->err.st : wbs__store_sqlerr(&j->err, s->wdb, SQLITE_DONE, "add rule");
	}
	sqlite3_finalize(st);
	if (ret || a->rule->kind != WBS__RULE_SUMMARY)
		return ret;
	/* Runs whose summary already crosses the threshold fire now, not at their next update. */
	return wbs__sql_run(s->wdb, &j->err, "notify",
			    "UPDATE runs SET summary = summary "
			    "WHERE project_id = ?1 AND state = 'running' AND ?2 = ?2 AND ?3 = ?3",
			    "iid", pid, (int64_t)0, 0.0);
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
	return wbs__sql_run(s->wdb, &j->err, "notify", "UPDATE notify_rules SET deleted_at = ?3 WHERE id = ?1 AND ?2 = ?2",
			    "iid", a->id, (int64_t)0, wbs__store_now(s));
}

int wbs__store_rule_delete(wbs__store *s, const char *entity, const char *project, int64_t id, wbs__err *err)
{
	struct rule_arg a = {.entity = entity, .project = project, .id = id};
	return wbs__store_submit_fn(s, apply_rule_delete, &a, err);
}

static int rule_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__rule_row *w = row;
	int oom = 0;

	(void)ctx;
	w->id = sqlite3_column_int64(st, 0);
	w->text = wbs__sql_col_dup(st, 1, &oom);
	w->kind = wbs__sql_col_dup(st, 2, &oom);
	w->created_at = sqlite3_column_double(st, 3);
	w->fired = (uint64_t)sqlite3_column_int64(st, 4);
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_rules_list(wbs__store *s, const char *entity, const char *project, wbs__rule_row **rows, size_t *n,
			  wbs__err *err)
{
	void *out = NULL;
	size_t cnt = 0;
	int ret = project_rows(s, entity, project, -1, sizeof(wbs__rule_row), rule_row, "list rules",
			       "SELECT id, text, kind, created_at, "
			       "(SELECT count(*) FROM notify_rule_fires f WHERE f.rule_id = r.id) "
			       "FROM notify_rules r WHERE project_id = ?1 AND deleted_at IS NULL ORDER BY id",
			       &out, &cnt, err);

	if (ret) {
		wbs__rule_rows_free(out, cnt);
		out = NULL, cnt = 0;
	}
	*rows = out;
	*n = cnt;
	return ret;
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

static int delivery_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__delivery_row *d = row;
	int oom = 0;

	(void)ctx;
	d->id = sqlite3_column_int64(st, 0);
	d->webhook_id = sqlite3_column_int64(st, 1);
	d->run_id = wbs__sql_col_dup(st, 2, &oom);
	d->event = wbs__sql_col_dup(st, 3, &oom);
	d->state = wbs__sql_col_dup(st, 4, &oom);
	d->error = wbs__sql_col_dup(st, 5, &oom);
	d->attempts = sqlite3_column_int64(st, 6);
	d->http_status = sqlite3_column_int(st, 7);
	d->created_at = wbs__sql_col_real(st, 8);
	d->next_at = wbs__sql_col_real(st, 9);
	d->last_at = wbs__sql_col_real(st, 10);
	d->done_at = wbs__sql_col_real(st, 11);
	d->run_name = wbs__sql_col_dup(st, 12, &oom);
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_deliveries_list(wbs__store *s, const char *entity, const char *project, size_t limit,
			       wbs__delivery_row **rows, size_t *n, wbs__err *err)
{
	void *out = NULL;
	size_t cnt = 0;
	int ret = project_rows(s, entity, project, (int64_t)limit, sizeof(wbs__delivery_row), delivery_row,
			       "list deliveries",
			       "SELECT d.id, d.webhook_id, x.run_id, d.event, d.state, d.error, d.attempts, d.http_status, "
			       "d.created_at, d.next_at, d.last_at, d.done_at, x.name FROM notify_deliveries d "
			       "JOIN runs x ON x.id = d.run_id WHERE x.project_id = ?1 ORDER BY d.id DESC LIMIT ?2",
			       &out, &cnt, err);

	if (ret) {
		wbs__delivery_rows_free(out, cnt);
		out = NULL, cnt = 0;
	}
	*rows = out;
	*n = cnt;
	return ret;
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

static int due_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__notify_due *d = row;
	int oom = 0;

	(void)ctx;
	d->id = sqlite3_column_int64(st, 0);
	d->webhook_id = sqlite3_column_int64(st, 1);
	d->attempts = sqlite3_column_int64(st, 2);
	d->cancelled = sqlite3_column_int(st, 3);
	d->url = wbs__sql_col_dup(st, 4, &oom);
	d->event = wbs__sql_col_dup(st, 5, &oom);
	d->entity = wbs__sql_col_dup(st, 6, &oom);
	d->project = wbs__sql_col_dup(st, 7, &oom);
	d->run_id = wbs__sql_col_dup(st, 8, &oom);
	d->run_name = wbs__sql_col_dup(st, 9, &oom);
	d->state = wbs__sql_col_dup(st, 10, &oom);
	d->summary = wbs__sql_col_dup(st, 11, &oom);
	d->has_exit_code = sqlite3_column_type(st, 12) != SQLITE_NULL;
	d->exit_code = sqlite3_column_int(st, 12);
	d->alert_level = wbs__sql_col_dup(st, 13, &oom);
	d->alert_title = wbs__sql_col_dup(st, 14, &oom);
	d->alert_text = wbs__sql_col_dup(st, 15, &oom);
	d->rule_text = wbs__sql_col_dup(st, 16, &oom);
	d->rule_value = wbs__sql_col_real(st, 17);
	d->owner_id = sqlite3_column_int64(st, 18);
	d->owner_active = sqlite3_column_int(st, 19);
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_notify_due(wbs__store *s, double now, size_t max, wbs__notify_due **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = NULL;
	void *out = NULL;
	size_t cnt = 0;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	ret = wbs__sql_rows(r->db, sizeof(wbs__notify_due), &out, &cnt, due_row, NULL, "due deliveries", err,
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
			    "di", now, (int64_t)max);
	wbs__reader_put(s, r);
	if (ret)
		wbs__notify_due_free(out, cnt);
	else
		*rows = out, *n = cnt;
	return ret;
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

static int apply_result(wbs__store *s, wbs__job *j)
{
	struct result_arg *a = j->arg;
	sqlite3_stmt *st = wbs__sql_prepare(s->wdb,
					    "UPDATE notify_deliveries SET state = ?2, attempts = ?3, http_status = ?4, "
					    "error = ?5, next_at = ?6, last_at = coalesce(?7, last_at), done_at = ?8 "
					    "WHERE id = ?1 AND state = 'pending'",
					    "record delivery", &j->err);
	int ret;

	if (!st)
		return j->err.st;
	wbs__sql_bind(st, "iti-tdrr", a->id, a->state, a->attempts, a->error, a->next_at, a->last_at, a->done_at);
	if (a->http_status > 0)
		sqlite3_bind_int(st, 4, a->http_status);
	ret = wbs__sql_exec(s->wdb, st, "record delivery", &j->err);
	sqlite3_finalize(st);
	return ret;
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

	/* The batch decoder validated the record: level, title and text are strings. */
	return wbs__sql_run(s->wdb, err, "store alert",
			    "INSERT INTO notify_alerts (run_id, level, title, text, at) VALUES (?1, ?2, ?3, ?4, ?5)", "itttd",
			    run_id, level->valuestring, title->valuestring, cJSON_IsString(text) ? text->valuestring : "",
			    cJSON_IsNumber(t) ? t->valuedouble : now);
}

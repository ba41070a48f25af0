/*
 * store_read.c — queries, on pooled read-only connections.
 *
 * Every read that takes more than one statement runs inside BEGIN ...
 * COMMIT on its reader, so it sees one snapshot: the writer rewrites the
 * tail chunk of a series in place, and a history request must not read a
 * chunk's meta from before that rewrite and its blob from after.
 * Series and history reads live in store_series.c.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wire.h"

#define PROJECTS_MAX 100000u
#define METRICS_MAX 1000000u

int wbs__reader_begin(wbs__reader *r, wbs__err *err)
{
	int rc = sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
	return rc == SQLITE_OK ? WBS__ST_OK : wbs__store_sqlerr(err, r->db, rc, "begin read");
}

/* ---- auth ---- */

int wbs__store_key_user(wbs__store *s, const uint8_t hash[32], int64_t *user_id, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int rc, ret;

	if (!r)
		return err->st;
	if (!(st = wbs__reader_stmt(r, RS_KEY_USER, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*user_id = sqlite3_column_int64(st, 0);
		ret = WBS__ST_OK;
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "unknown or revoked api key");
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "key lookup");
	}
	sqlite3_reset(st);
done:
	wbs__reader_put(s, r);
	return ret;
}

int wbs__store_key_count(wbs__store *s, uint64_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int rc, ret;

	if (!r)
		return err->st;
	if (!(st = wbs__reader_stmt(r, RS_KEY_COUNT, err))) {
		ret = err->st;
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(st, 0);
		ret = WBS__ST_OK;
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "key count");
	}
	sqlite3_reset(st);
done:
	wbs__reader_put(s, r);
	return ret;
}

/* ---- runs ---- */

void wbs__run_row_free(wbs__run_row *r)
{
	if (!r)
		return;
	free(r->entity);
	free(r->project);
	free(r->run_id);
	free(r->name);
	free(r->group);
	free(r->job_type);
	free(r->notes);
	free(r->state);
	free(r->tags);
	free(r->config);
	free(r->summary);
	free(r->metadata);
	free(r->metric_defs);
	memset(r, 0, sizeof(*r));
}

void wbs__run_rows_free(wbs__run_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wbs__run_row_free(&rows[i]);
	free(rows);
}

/* Fill out from a row of the RS_RUN_GET column list (also used by the list query). */
static int run_row_read(sqlite3_stmt *st, wbs__run_row *out, wbs__err *err)
{
	int oom = 0;

	memset(out, 0, sizeof(*out));
	out->entity = wbs__sql_col_dup(st, 0, &oom);
	out->project = wbs__sql_col_dup(st, 1, &oom);
	out->run_id = wbs__sql_col_dup(st, 2, &oom);
	out->name = wbs__sql_col_dup(st, 3, &oom);
	out->group = wbs__sql_col_dup(st, 4, &oom);
	out->job_type = wbs__sql_col_dup(st, 5, &oom);
	out->notes = wbs__sql_col_dup(st, 6, &oom);
	out->state = wbs__sql_col_dup(st, 7, &oom);
	out->tags = wbs__sql_col_dup(st, 8, &oom);
	out->config = wbs__sql_col_dup(st, 9, &oom);
	out->summary = wbs__sql_col_dup(st, 10, &oom);
	out->metadata = wbs__sql_col_dup(st, 11, &oom);
	out->metric_defs = wbs__sql_col_dup(st, 12, &oom);
	out->has_exit_code = sqlite3_column_type(st, 13) != SQLITE_NULL;
	out->exit_code = sqlite3_column_int(st, 13);
	out->created_at = wbs__sql_col_real(st, 14);
	out->updated_at = wbs__sql_col_real(st, 15);
	out->heartbeat_at = wbs__sql_col_real(st, 16);
	out->finished_at = wbs__sql_col_real(st, 17);
	out->last_seq = (uint64_t)sqlite3_column_int64(st, 18);
	out->last_step = sqlite3_column_type(st, 19) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 19);
	if (oom) {
		wbs__run_row_free(out);
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	}
	return WBS__ST_OK;
}

int wbs__store_run_get(wbs__store *s, const wbs__run_ref *ref, wbs__run_row *out, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	if (!r)
		return err->st;
	if (!(st = wbs__reader_stmt(r, RS_RUN_GET, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_text(st, 1, ref->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = run_row_read(st, out, err);
	else if (rc == SQLITE_DONE)
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "run %s/%s/%s not found", ref->entity, ref->project,
				  ref->run_id);
	else
		ret = wbs__store_sqlerr(err, r->db, rc, "get run");
	sqlite3_reset(st);
done:
	wbs__reader_put(s, r);
	return ret;
}

/* The internal id of a run, within an open read. */
/* run_row_read as a wbs__sql_rows row decoder. */
static int run_row_fn(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	(void)ctx;
	return run_row_read(st, row, err);
}

static int run_id_get(wbs__reader *r, const wbs__run_ref *ref, int64_t *id, wbs__err *err)
{
	sqlite3_stmt *st = wbs__reader_stmt(r, RS_RUN_ID, err);
	int rc, ret;

	if (!st)
		return err->st;
	sqlite3_bind_text(st, 1, ref->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		ret = WBS__ST_OK;
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "run %s/%s/%s not found", ref->entity, ref->project,
				  ref->run_id);
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "find run");
	}
	sqlite3_reset(st);
	return ret;
}

/* The id of a run's metric key, within an open read. */
int wbs__reader_key_id(wbs__reader *r, int64_t run, const char *key, int64_t *id, wbs__err *err)
{
	sqlite3_stmt *st = wbs__reader_stmt(r, RS_KEY_ID, err);
	int rc, ret;

	if (!st)
		return err->st;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		ret = WBS__ST_OK;
	} else if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "metric not found");
	} else {
		ret = wbs__store_sqlerr(err, r->db, rc, "find metric");
	}
	sqlite3_reset(st);
	return ret;
}

/* ---- run list ---- */

static const char *filter_column(int field)
{
	switch (field) {
	case WBS__QF_STATE: return "r.state";
	case WBS__QF_NAME: return "r.name";
	case WBS__QF_GROUP: return "r.grp";
	case WBS__QF_JOB_TYPE: return "r.job_type";
	case WBS__QF_CREATED_AT: return "r.created_at";
	case WBS__QF_NOTES: return "r.notes";
	case WBS__QF_USER: return "json_extract(r.metadata, '$.user')";
	/* as a sort key or group: the tags' JSON text, runs without tags as NULL */
	case WBS__QF_TAGS: return "nullif(r.tags, '[]')";
	case WBS__QF_DURATION:
		return "(coalesce(r.finished_at, CASE WHEN r.state = 'running' THEN "
		       "(julianday('now') - 2440587.5) * 86400.0 END, r.heartbeat_at, r.updated_at) - r.created_at)";
	default: return NULL;
	}
}

/*
 * Append the SQL of one path into col, its parameter being ?param. A JSON
 * array of labels (query.h) walks the document key by key with json_each,
 * whose key column is the key decoded, so any key matches exactly; only
 * objects are walked into, as json_extract does.
 */
static void path_expr(wbs__buf *b, const char *col, const char *path, int param)
{
	size_t n = wbs__qpath_labels(path);

	if (n == 0) {
		wbs__buf_printf(b, "json_extract(%s, ?%d)", col, param);
		return;
	}
	for (size_t i = 0; i < n; i++)
		wbs__buf_printf(b, "(SELECT %s FROM json_each(", i ? "CASE WHEN j.type = 'object' THEN j.value END" : "j.value");
	wbs__buf_puts(b, col);
	for (size_t i = 0; i < n; i++)
		wbs__buf_printf(b, ") j WHERE j.key = json_extract(?%d, '$[%zu]'))", param, i);
}

/*
 * Append the SQL expression of a field to b, numbering path parameters
 * from *param. Only fixed text goes into the SQL; paths are parameters.
 */
static void field_expr(wbs__buf *b, int field, char *const *paths, size_t npaths, int *param)
{
	const char *col = filter_column(field);

	if (col) {
		wbs__buf_puts(b, col);
		return;
	}
	if (npaths > 1)
		wbs__buf_puts(b, "coalesce(");
	for (size_t i = 0; i < npaths; i++) {
		if (i)
			wbs__buf_puts(b, ", ");
		path_expr(b, field == WBS__QF_CONFIG ? "r.config" : "r.summary", paths[i], (*param)++);
	}
	if (npaths > 1)
		wbs__buf_putc(b, ')');
}

static const char *op_sql(int op)
{
	switch (op) {
	case WBS__OP_EQ: return " = ";
	case WBS__OP_NE: return " IS NOT ";
	case WBS__OP_LT: return " < ";
	case WBS__OP_LE: return " <= ";
	case WBS__OP_GT: return " > ";
	default: return " >= ";
	}
}

/* Append " AND <condition>" for each filter. */
static void where_sql(wbs__buf *b, const wbs__runs_query *q, int *param)
{
	for (size_t i = 0; i < q->nfilters; i++) {
		const wbs__filter *f = &q->filters[i];
		wbs__buf_puts(b, " AND ");
		if (f->field == WBS__QF_TAGS) {
			if (f->op == WBS__OP_NE)
				wbs__buf_puts(b, "NOT ");
			if (f->op == WBS__OP_SUB)
				wbs__buf_printf(b, "EXISTS (SELECT 1 FROM json_each(r.tags) t "
						  "WHERE instr(lower(t.value), lower(?%d)) > 0)",
					       (*param)++);
			else
				wbs__buf_printf(b, "EXISTS (SELECT 1 FROM json_each(r.tags) t WHERE t.value = ?%d)",
					       (*param)++);
			continue;
		}
		if (f->op == WBS__OP_SUB) {
			wbs__buf_puts(b, "instr(lower(CAST(");
			field_expr(b, f->field, f->paths, f->npaths, param);
			wbs__buf_printf(b, " AS TEXT)), lower(?%d)) > 0", (*param)++);
			continue;
		}
		field_expr(b, f->field, f->paths, f->npaths, param);
		wbs__buf_puts(b, op_sql(f->op));
		wbs__buf_printf(b, "?%d", (*param)++);
	}
}

/* Bind, in the order where_sql numbered them, the parameters of the filters. */
static void where_bind(sqlite3_stmt *st, const wbs__runs_query *q, int *param)
{
	for (size_t i = 0; i < q->nfilters; i++) {
		const wbs__filter *f = &q->filters[i];
		int numeric = f->is_num && (f->field == WBS__QF_CONFIG || f->field == WBS__QF_SUMMARY ||
					    f->field == WBS__QF_CREATED_AT || f->field == WBS__QF_DURATION);
		if (f->field != WBS__QF_TAGS && !filter_column(f->field))
			for (size_t p = 0; p < f->npaths; p++)
				sqlite3_bind_text(st, (*param)++, f->paths[p], -1, SQLITE_STATIC);
		if (numeric && f->op != WBS__OP_SUB && f->is_int)
			sqlite3_bind_int64(st, (*param)++, f->inum);
		else if (numeric && f->op != WBS__OP_SUB)
			sqlite3_bind_double(st, (*param)++, f->num);
		else
			sqlite3_bind_text(st, (*param)++, f->text, -1, SQLITE_STATIC);
	}
}

int wbs__reader_project_id(wbs__reader *r, const char *entity, const char *project, int64_t *id, wbs__err *err)
{
	sqlite3_stmt *st = wbs__reader_stmt(r, RS_PROJECT_ID, err);
	return st ? wbs__sql_project_id(r->db, st, entity, project, id, err) : err->st;
}

int wbs__store_runs_list(wbs__store *s, const char *entity, const char *project, const wbs__runs_query *q,
			wbs__run_row **rows, size_t *n, uint64_t *total, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *cnt = NULL, *sel = NULL;
	wbs__buf where, sql;
	wbs__run_row *out = NULL;
	void *rows_v = NULL;
	size_t nout = 0;
	int64_t pid = 0;
	int rc, ret, param, sort_param;

	*rows = NULL;
	*n = 0;
	*total = 0;
	wbs__buf_init(&where, 64 * 1024);
	wbs__buf_init(&sql, 64 * 1024);
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if ((ret = wbs__reader_begin(r, err)) || (ret = wbs__reader_project_id(r, entity, project, &pid, err)))
		goto done;

	param = 2;
	where_sql(&where, q, &param);
	sort_param = param;
	wbs__buf_puts(&sql, "SELECT count(*) FROM runs r WHERE r.project_id = ?1");
	wbs__buf_put(&sql, where.p ? where.p : "", where.len);
	if (where.err || sql.err) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	rc = sqlite3_prepare_v2(r->db, sql.p, (int)sql.len, &cnt, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "count runs");
		goto done;
	}
	sqlite3_bind_int64(cnt, 1, pid);
	param = 2;
	where_bind(cnt, q, &param);
	rc = sqlite3_step(cnt);
	if (rc != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "count runs");
		goto done;
	}
	*total = (uint64_t)sqlite3_column_int64(cnt, 0);

	wbs__buf_reset(&sql);
	wbs__buf_puts(&sql, "SELECT p.entity, p.name, r.run_id, r.name, r.grp, r.job_type, r.notes, r.state, r.tags, "
			   "r.config, r.summary, r.metadata, r.metric_defs, r.exit_code, r.created_at, r.updated_at, "
			   "r.heartbeat_at, r.finished_at, r.last_seq, r.last_step "
			   "FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.project_id = ?1");
	wbs__buf_put(&sql, where.p ? where.p : "", where.len);
	wbs__buf_puts(&sql, " ORDER BY ");
	param = sort_param;
	field_expr(&sql, q->sort.field, q->sort.paths, q->sort.npaths, &param);
	wbs__buf_puts(&sql, q->sort.desc ? " DESC, r.id DESC" : " ASC, r.id ASC");
	wbs__buf_printf(&sql, " LIMIT ?%d OFFSET ?%d", param, param + 1);
	if (sql.err) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	rc = sqlite3_prepare_v2(r->db, sql.p, (int)sql.len, &sel, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "list runs");
		goto done;
	}
	sqlite3_bind_int64(sel, 1, pid);
	param = 2;
	where_bind(sel, q, &param);
	if (!filter_column(q->sort.field))
		for (size_t p = 0; p < q->sort.npaths; p++)
			sqlite3_bind_text(sel, param++, q->sort.paths[p], -1, SQLITE_STATIC);
	sqlite3_bind_int64(sel, param, q->limit);
	sqlite3_bind_int64(sel, param + 1, (int64_t)q->offset);
	/* no limit, no rows (wbs__sql_rows_st's max 0 would mean every row) */
	ret = q->limit ? wbs__sql_rows_st(r->db, sel, sizeof(*out), q->limit, &rows_v, &nout, run_row_fn, NULL,
					  "list runs", err)
		       : WBS__ST_OK;
	out = rows_v;
	if (ret)
		goto done;
	*rows = out;
	*n = nout;
	out = NULL;
	nout = 0;
	ret = WBS__ST_OK;
done:
	wbs__run_rows_free(out, nout);
	sqlite3_finalize(cnt);
	sqlite3_finalize(sel);
	wbs__buf_free(&where);
	wbs__buf_free(&sql);
	wbs__reader_put(s, r);
	return ret;
}

/* ---- grouped run list ---- */

void wbs__bucket_rows_free(wbs__bucket_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].vtext);
	free(rows);
}

/* Bind the paths of a field reference from *param on (plain columns have none). */
static void field_bind(sqlite3_stmt *st, const wbs__sort *f, int *param)
{
	if (f->field == WBS__QF_CONFIG || f->field == WBS__QF_SUMMARY)
		for (size_t p = 0; p < f->npaths; p++)
			sqlite3_bind_text(st, (*param)++, f->paths[p], -1, SQLITE_STATIC);
}

/* One group of wbs__store_runs_group's page (ctx: the query, for its aggregates). */
static int bucket_row(sqlite3_stmt *sel, void *row, void *ctx, wbs__err *err)
{
	const wbs__runs_query *q = ctx;
	wbs__bucket_row *g = row;
	int t = sqlite3_column_type(sel, 0), oom = 0;

	if (t == SQLITE_INTEGER) {
		g->vtype = WBS__GV_INT;
		g->vint = sqlite3_column_int64(sel, 0);
	} else if (t == SQLITE_FLOAT) {
		g->vtype = WBS__GV_REAL;
		g->vreal = sqlite3_column_double(sel, 0);
	} else if (t != SQLITE_NULL) {
		g->vtype = WBS__GV_TEXT; /* no blob is stored here; read any as text */
		if (!(g->vtext = wbs__sql_col_dup(sel, 0, &oom)) || oom)
			return wbs__sql_oom(err);
	}
	g->count = (uint64_t)sqlite3_column_int64(sel, 1);
	for (size_t i = 0; i < q->naggs; i++) {
		int c = 2 + 4 * (int)i;
		g->agg[i].n = (uint64_t)sqlite3_column_int64(sel, c);
		g->agg[i].mean = wbs__sql_col_real(sel, c + 1);
		g->agg[i].min = wbs__sql_col_real(sel, c + 2);
		g->agg[i].max = wbs__sql_col_real(sel, c + 3);
	}
	return 0;
}

/* The numeric value of column c of the grouped subquery, else NULL. */
#define NUM(c) "CASE WHEN typeof(" c ") IN ('integer', 'real') THEN " c " END"

/*
 * Everything happens in SQL, in one snapshot: an inner SELECT gives each
 * matching run (once per tag when grouping by tags) its group value g and
 * the raw value of each aggregated column aN; the outer queries count
 * runs and groups, then GROUP BY g for a page of groups. Text such as the
 * "NaN" of a non-finite summary is not a number and is left out of the
 * aggregates, like a missing value.
 */
int wbs__store_runs_group(wbs__store *s, const char *entity, const char *project, const wbs__runs_query *q,
			 wbs__bucket_row **rows, size_t *n, uint64_t *ngroups, uint64_t *nruns, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *cnt = NULL, *sel = NULL;
	wbs__buf inner, sql;
	wbs__bucket_row *out = NULL;
	void *rows_v = NULL;
	size_t nout = 0;
	int64_t pid = 0;
	int rc, ret, param, oom = 0;
	const int tags = q->group_by.field == WBS__QF_TAGS;

	*rows = NULL;
	*n = 0;
	*ngroups = 0;
	*nruns = 0;
	wbs__buf_init(&inner, 64 * 1024);
	wbs__buf_init(&sql, 64 * 1024);
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if ((ret = wbs__reader_begin(r, err)) || (ret = wbs__reader_project_id(r, entity, project, &pid, err)))
		goto done;

	/* Parameters: ?1 project, then the filters', the group's, the aggregates', limit, offset. */
	param = 2;
	{
		wbs__buf where;
		wbs__buf_init(&where, 64 * 1024);
		where_sql(&where, q, &param);
		wbs__buf_puts(&inner, "SELECT r.id AS rid, ");
		if (tags)
			wbs__buf_puts(&inner, "tg.value");
		else
			field_expr(&inner, q->group_by.field, q->group_by.paths, q->group_by.npaths, &param);
		wbs__buf_puts(&inner, " AS g");
		for (size_t i = 0; i < q->naggs; i++) {
			wbs__buf_puts(&inner, ", ");
			field_expr(&inner, q->aggs[i].field, q->aggs[i].paths, q->aggs[i].npaths, &param);
			wbs__buf_printf(&inner, " AS a%zu", i);
		}
		wbs__buf_puts(&inner, tags ? " FROM runs r LEFT JOIN json_each(r.tags) tg" : " FROM runs r");
		wbs__buf_puts(&inner, " WHERE r.project_id = ?1");
		wbs__buf_put(&inner, where.p ? where.p : "", where.len);
		oom = where.err;
		wbs__buf_free(&where);
	}
	wbs__buf_puts(&sql, "SELECT count(DISTINCT rid), count(DISTINCT g) + coalesce(max(g IS NULL), 0) FROM (");
	wbs__buf_put(&sql, inner.p ? inner.p : "", inner.len);
	wbs__buf_putc(&sql, ')');
	if (oom || inner.err || sql.err) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	rc = sqlite3_prepare_v2(r->db, sql.p, (int)sql.len, &cnt, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "count groups");
		goto done;
	}
	sqlite3_bind_int64(cnt, 1, pid);
	param = 2;
	where_bind(cnt, q, &param);
	field_bind(cnt, &q->group_by, &param);
	for (size_t i = 0; i < q->naggs; i++)
		field_bind(cnt, &q->aggs[i], &param);
	if ((rc = sqlite3_step(cnt)) != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "count groups");
		goto done;
	}
	*nruns = (uint64_t)sqlite3_column_int64(cnt, 0);
	*ngroups = (uint64_t)sqlite3_column_int64(cnt, 1);

	wbs__buf_reset(&sql);
	wbs__buf_puts(&sql, "SELECT g, count(*)");
	for (size_t i = 0; i < q->naggs; i++) {
		char c[32];
		snprintf(c, sizeof(c), "a%zu", i);
		wbs__buf_printf(&sql, ", count(" NUM("%s") "), avg(" NUM("%s") "), min(" NUM("%s") "), max(" NUM("%s") ")",
			       c, c, c, c, c, c, c, c);
	}
	wbs__buf_puts(&sql, " FROM (");
	wbs__buf_put(&sql, inner.p ? inner.p : "", inner.len);
	wbs__buf_printf(&sql, ") GROUP BY g ORDER BY g IS NULL, g LIMIT ?%d OFFSET ?%d", param, param + 1);
	if (sql.err) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	rc = sqlite3_prepare_v2(r->db, sql.p, (int)sql.len, &sel, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "group runs");
		goto done;
	}
	sqlite3_bind_int64(sel, 1, pid);
	param = 2;
	where_bind(sel, q, &param);
	field_bind(sel, &q->group_by, &param);
	for (size_t i = 0; i < q->naggs; i++)
		field_bind(sel, &q->aggs[i], &param);
	sqlite3_bind_int64(sel, param, q->limit);
	sqlite3_bind_int64(sel, param + 1, (int64_t)q->offset);
	/* no limit, no rows (wbs__sql_rows_st's max 0 would mean every row) */
	ret = q->limit ? wbs__sql_rows_st(r->db, sel, sizeof(*out), q->limit, &rows_v, &nout, bucket_row, (void *)q,
					  "group runs", err)
		       : WBS__ST_OK;
	out = rows_v;
	if (ret)
		goto done;
	*rows = out;
	*n = nout;
	out = NULL;
	nout = 0;
	ret = WBS__ST_OK;
done:
	wbs__bucket_rows_free(out, nout);
	sqlite3_finalize(cnt);
	sqlite3_finalize(sel);
	wbs__buf_free(&inner);
	wbs__buf_free(&sql);
	wbs__reader_put(s, r);
	return ret;
}

/* ---- projects ---- */

void wbs__project_rows_free(wbs__project_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].entity);
		free(rows[i].name);
	}
	free(rows);
}

static int project_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__project_row *p = row;
	int oom = 0;

	(void)ctx;
	p->entity = wbs__sql_col_dup(st, 0, &oom);
	p->name = wbs__sql_col_dup(st, 1, &oom);
	p->created_at = wbs__sql_col_real(st, 2);
	p->updated_at = wbs__sql_col_real(st, 3);
	p->run_count = (uint64_t)sqlite3_column_int64(st, 4);
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_projects_list(wbs__store *s, wbs__project_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *out = NULL;
	size_t nout = 0;
	sqlite3_stmt *st;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!r)
		return err->st;
	if (!(st = wbs__reader_stmt(r, RS_PROJECTS, err)))
		ret = err->st;
	else
		ret = wbs__sql_rows_st(r->db, st, sizeof(wbs__project_row), PROJECTS_MAX, &out, &nout, project_row, NULL,
				       "list projects", err);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__project_rows_free(out, nout);
		return ret;
	}
	*rows = out;
	*n = nout;
	return WBS__ST_OK;
}

/* ---- metrics ---- */

void wbs__metric_rows_free(wbs__metric_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].key);
	free(rows);
}

static int metric_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__metric_row *m = row;
	uint64_t nvalid;
	int oom = 0;

	(void)ctx;
	if (!(m->key = wbs__sql_col_dup(st, 0, &oom)) && oom)
		return wbs__sql_oom(err);
	m->count = (uint64_t)sqlite3_column_int64(st, 1);
	m->first_step = sqlite3_column_int64(st, 2);
	m->last_step = sqlite3_column_int64(st, 3);
	nvalid = (uint64_t)sqlite3_column_int64(st, 7);
	m->min = nvalid ? wbs__sql_col_real(st, 4) : NAN;
	m->max = nvalid ? wbs__sql_col_real(st, 5) : NAN;
	m->mean = nvalid ? wbs__sql_col_real(st, 6) / (double)nvalid : NAN;
	m->last = wb__bits_f64((uint64_t)sqlite3_column_int64(st, 8));
	return 0;
}

int wbs__store_metrics_list(wbs__store *s, const wbs__run_ref *ref, wbs__metric_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *out = NULL;
	size_t nout = 0;
	sqlite3_stmt *st = NULL;
	int64_t run;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!r)
		return err->st;
	if ((ret = wbs__reader_begin(r, err)) || (ret = run_id_get(r, ref, &run, err)))
		goto done;
	if (!(st = wbs__reader_stmt(r, RS_METRICS, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, run);
	ret = wbs__sql_rows_st(r->db, st, sizeof(wbs__metric_row), METRICS_MAX, &out, &nout, metric_row, NULL,
			       "list metrics", err);
done:
	wbs__reader_put(s, r);
	if (ret) {
		wbs__metric_rows_free(out, nout);
		return ret;
	}
	*rows = out;
	*n = nout;
	return WBS__ST_OK;
}

/* ---- code capture ---- */

int wbs__store_code_patch(wbs__store *s, const wbs__run_ref *ref, const char *name, wbs__buf *out, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int64_t run;
	int rc, ret, rows = 0;

	if (!r)
		return err->st;
	if ((ret = wbs__reader_begin(r, err)))
		goto done;
	if ((ret = run_id_get(r, ref, &run, err)))
		goto end;
	if (!(st = wbs__reader_stmt(r, RS_PATCH_CHUNKS, err))) {
		ret = err->st;
		goto end;
	}
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (n)
			wbs__buf_put(out, p, n);
		rows++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "read a patch");
	else if (out->err)
		ret = wbs__err_set(err, out->err == WBS__BUF_TOOBIG ? WBS__ST_INTERNAL : WBS__ST_NOMEM,
				   "patch %s is too large to send", name);
	else if (!rows)
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "run %s/%s/%s has no patch %s", ref->entity, ref->project,
				   ref->run_id, name);
end:
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
done:
	wbs__reader_put(s, r);
	return ret;
}

int wbs__reader_run_id(wbs__reader *r, const wbs__run_ref *ref, int64_t *id, wbs__err *err)
{
	return run_id_get(r, ref, id, err);
}

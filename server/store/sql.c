/*
 * sql.c — prepare/bind/step/column helpers and the list-query loop shared
 * by every store file (see sql.h for why there is one such layer).
 *
 * Statements prepared here are per call: the ingest path keeps its cached
 * statements (store.c, store_write.c) and only borrows the binders and the
 * error mapping. Text and blobs are bound SQLITE_TRANSIENT, so an argument
 * need not outlive the bind; the copy is a few bytes on routes that are
 * not on the ingest path.
 */
#include "store_int.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

sqlite3_stmt *wbs__sql_prepare(sqlite3 *db, const char *sql, const char *what, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		wbs__store_sqlerr(err, db, rc, what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

void wbs__sql_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void wbs__sql_bind_real(sqlite3_stmt *st, int i, double d)
{
	if (isnan(d))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, d);
}

void wbs__sql_bindv(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	for (int i = 0; fmt && fmt[i]; i++) {
		switch (fmt[i]) {
		case 't': {
			const char *v = va_arg(ap, const char *);
			if (v)
				sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i': sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
		case 'h': sqlite3_bind_blob(st, i + 1, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT); break;
		case 'd': sqlite3_bind_double(st, i + 1, va_arg(ap, double)); break;
		case 'r': wbs__sql_bind_real(st, i + 1, va_arg(ap, double)); break;
		default: break;
		}
	}
}

void wbs__sql_bind(sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wbs__sql_bindv(st, fmt, ap);
	va_end(ap);
}

int wbs__sql_step(sqlite3 *db, sqlite3_stmt *st, const char *what, wbs__err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	wbs__store_sqlerr(err, db, rc, what);
	return -1;
}

int wbs__sql_exec(sqlite3 *db, sqlite3_stmt *st, const char *what, wbs__err *err)
{
	return wbs__sql_step(db, st, what, err) < 0 ? err->st : WBS__ST_OK;
}

/* Prepare sql on db and bind ap by fmt; NULL with err set. */
static sqlite3_stmt *prepare_bound(sqlite3 *db, const char *what, wbs__err *err, const char *sql, const char *fmt,
				   va_list ap)
{
	sqlite3_stmt *st = wbs__sql_prepare(db, sql, what, err);

	if (st)
		wbs__sql_bindv(st, fmt, ap);
	return st;
}

/* wbs__sql_i64 with a va_list. */
static int vi64(sqlite3 *db, wbs__err *err, int64_t *out, const char *what, const char *sql, const char *fmt,
		va_list ap)
{
	sqlite3_stmt *st = prepare_bound(db, what, err, sql, fmt, ap);
	int ret;

	if (!st)
		return -1;
	ret = wbs__sql_step(db, st, what, err);
	if (ret == 1 && out)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ret;
}

int wbs__sql_i64(sqlite3 *db, wbs__err *err, int64_t *out, const char *what, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vi64(db, err, out, what, sql, fmt, ap);
	va_end(ap);
	return ret;
}

int wbs__sql_run(sqlite3 *db, wbs__err *err, const char *what, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vi64(db, err, NULL, what, sql, fmt, ap);
	va_end(ap);
	return ret < 0 ? err->st : WBS__ST_OK;
}

double wbs__sql_col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

char *wbs__sql_col_dup(sqlite3_stmt *st, int i, int *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *p;

	if (!t)
		return NULL;
	p = strdup((const char *)t);
	if (!p)
		*oom = 1;
	return p;
}

int wbs__sql_project_id(sqlite3 *db, sqlite3_stmt *st, const char *entity, const char *project, int64_t *id,
			wbs__err *err)
{
	sqlite3_stmt *own = NULL;
	int rc, ret;

	if (!st && !(st = own = wbs__sql_prepare(db, "SELECT id FROM projects WHERE entity = ?1 AND name = ?2",
						 "find project", err)))
		return err->st;
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	rc = wbs__sql_step(db, st, "find project", err);
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		ret = WBS__ST_OK;
	} else if (rc == 0) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "project %s/%s not found", entity, project);
	} else {
		ret = err->st;
	}
	if (own)
		sqlite3_finalize(own);
	else
		sqlite3_reset(st);
	return ret;
}

int wbs__sql_oom(wbs__err *err) { return wbs__err_set(err, WBS__ST_NOMEM, "out of memory"); }

int wbs__sql_rows_st(sqlite3 *db, sqlite3_stmt *st, size_t sz, size_t max, void **rows, size_t *n,
		     wbs__sql_row_fn fn, void *ctx, const char *what, wbs__err *err)
{
	char *out = NULL;
	size_t cap = 0, cnt = 0;
	int rc = 0, ret = WBS__ST_OK;

	assert(sz > 0);
	while ((max == 0 || cnt < max) && (rc = wbs__sql_step(db, st, what, err)) == 1) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char *p;
			if (nc > SIZE_MAX / sz || !(p = realloc(out, nc * sz))) {
				ret = wbs__sql_oom(err);
				goto done;
			}
			out = p;
			cap = nc;
		}
		memset(out + cnt * sz, 0, sz);
		cnt++;
		if ((ret = fn(st, out + (cnt - 1) * sz, ctx, err)))
			goto done;
	}
	if (rc < 0)
		ret = err->st;
done:
	sqlite3_reset(st);
	*rows = out;
	*n = cnt;
	return ret;
}

int wbs__sql_rows(sqlite3 *db, size_t sz, void **rows, size_t *n, wbs__sql_row_fn fn, void *ctx, const char *what,
		  wbs__err *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int ret;

	*rows = NULL;
	*n = 0;
	va_start(ap, fmt);
	st = prepare_bound(db, what, err, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return err->st;
	ret = wbs__sql_rows_st(db, st, sz, 0, rows, n, fn, ctx, what, err);
	sqlite3_finalize(st);
	return ret;
}

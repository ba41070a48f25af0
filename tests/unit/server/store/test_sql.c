/*
 * test_sql.c — the store's SQL layer (server/store/sql.c) on a real
 * in-memory SQLite database: typed binds, the one-value query, the
 * project-id lookup and the list-query loop (row limit, error mapping,
 * the rows decoded before a failure handed back for freeing).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

static sqlite3 *open_db(void)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE projects (id INTEGER PRIMARY KEY, entity TEXT, name TEXT);"
				      "CREATE TABLE t (k INTEGER, v TEXT, r REAL);"
				      "INSERT INTO projects (entity, name) VALUES ('e', 'p'), ('e', 'q');",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

struct row {
	int64_t k;
	char *v;
	double r;
};

static int decode(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	struct row *x = row;
	int oom = 0, *fail_at = ctx;

	x->k = sqlite3_column_int64(st, 0);
	x->v = wbs__sql_col_dup(st, 1, &oom);
	x->r = wbs__sql_col_real(st, 2);
	if (fail_at && x->k == *fail_at)
		return wbs__err_set(err, WBS__ST_BADARG, "row %lld refused", (long long)x->k);
	return oom ? wbs__sql_oom(err) : 0;
}

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].v);
	free(rows);
}

static void test_sql__binds_and_one_value(void **state)
{
	sqlite3 *db = open_db();
	wbs__err err = {0};
	int64_t v = 0;
	(void)state;

	/* 't' NULL and 'r' NaN bind null; '-' leaves its parameter unbound (null) */
	assert_int_equal(wbs__sql_run(db, &err, "insert", "INSERT INTO t VALUES (?1, ?2, ?3)", "itr", (int64_t)1,
				      (const char *)NULL, NAN),
			 WBS__ST_OK);
	assert_int_equal(wbs__sql_run(db, &err, "insert", "INSERT INTO t VALUES (?1, ?2, ?3)", "i-d", (int64_t)2, 2.5),
			 WBS__ST_OK);
	assert_int_equal(wbs__sql_i64(db, &err, &v, "count", "SELECT count(*) FROM t WHERE v IS NULL", ""), 1);
	assert_int_equal(v, 2);
	assert_int_equal(wbs__sql_i64(db, &err, &v, "count", "SELECT count(*) FROM t WHERE r IS NULL", ""), 1);
	assert_int_equal(v, 1);
	/* no row: 0, and *out untouched */
	v = 77;
	assert_int_equal(wbs__sql_i64(db, &err, &v, "find", "SELECT k FROM t WHERE k = ?1", "i", (int64_t)9), 0);
	assert_int_equal(v, 77);
	/* a bad statement: -1, err names the operation */
	assert_int_equal(wbs__sql_i64(db, &err, &v, "find thing", "SELECT nope FROM t", ""), -1);
	assert_int_not_equal(err.st, WBS__ST_OK);
	assert_non_null(strstr(err.msg, "find thing"));
	sqlite3_close(db);
}

static void test_sql__project_id(void **state)
{
	sqlite3 *db = open_db();
	sqlite3_stmt *cached = wbs__sql_prepare(db, "SELECT id FROM projects WHERE entity = ?1 AND name = ?2", "p", NULL);
	wbs__err err = {0};
	int64_t id = 0;
	(void)state;

	assert_non_null(cached);
	assert_int_equal(wbs__sql_project_id(db, NULL, "e", "q", &id, &err), WBS__ST_OK);
	assert_int_equal(id, 2);
	/* a cached statement is reset, so it can be used again */
	assert_int_equal(wbs__sql_project_id(db, cached, "e", "p", &id, &err), WBS__ST_OK);
	assert_int_equal(id, 1);
	assert_int_equal(wbs__sql_project_id(db, cached, "e", "x", &id, &err), WBS__ST_NOTFOUND);
	assert_string_equal(err.msg, "project e/x not found");
	sqlite3_finalize(cached);
	sqlite3_close(db);
}

static void test_sql__rows(void **state)
{
	sqlite3 *db = open_db();
	wbs__err err = {0};
	void *out = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int fail_at = 30;
	(void)state;

	assert_int_equal(sqlite3_exec(db,
				      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) "
				      "INSERT INTO t SELECT x, 'v' || x, x / 2.0 FROM c",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	/* every row, in order, past the first growth of the array */
	assert_int_equal(wbs__sql_rows(db, sizeof(struct row), &out, &n, decode, NULL, "list", &err,
				       "SELECT k, v, r FROM t WHERE k > ?1 ORDER BY k", "i", (int64_t)5),
			 WBS__ST_OK);
	assert_int_equal(n, 35);
	assert_int_equal(((struct row *)out)[0].k, 6);
	assert_string_equal(((struct row *)out)[34].v, "v40");
	assert_true(((struct row *)out)[34].r == 20.0);
	rows_free(out, n);
	/* a cap, on a statement the caller keeps (reset, usable again) */
	st = wbs__sql_prepare(db, "SELECT k, v, r FROM t ORDER BY k", "list", &err);
	assert_non_null(st);
	assert_int_equal(wbs__sql_rows_st(db, st, sizeof(struct row), 3, &out, &n, decode, NULL, "list", &err), 0);
	assert_int_equal(n, 3);
	rows_free(out, n);
	assert_int_equal(wbs__sql_rows_st(db, st, sizeof(struct row), 1, &out, &n, decode, NULL, "list", &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(((struct row *)out)[0].k, 1);
	rows_free(out, n);
	sqlite3_finalize(st);
	/* no row: NULL, 0 */
	assert_int_equal(wbs__sql_rows(db, sizeof(struct row), &out, &n, decode, NULL, "list", &err,
				       "SELECT k, v, r FROM t WHERE k < 0", ""),
			 WBS__ST_OK);
	assert_null(out);
	assert_int_equal(n, 0);
	/* the decoder stops the loop: its status, and the rows so far (the failed one too) to free */
	assert_int_equal(wbs__sql_rows(db, sizeof(struct row), &out, &n, decode, &fail_at, "list", &err,
				       "SELECT k, v, r FROM t ORDER BY k", ""),
			 WBS__ST_BADARG);
	assert_int_equal(n, 30);
	assert_string_equal(err.msg, "row 30 refused");
	rows_free(out, n);
	/* a SQL error while stepping is mapped, and names the query */
	assert_int_not_equal(wbs__sql_rows(db, sizeof(struct row), &out, &n, decode, NULL, "list broken", &err,
					   "SELECT k, v, json_extract('x', '$') FROM t", ""),
			     WBS__ST_OK);
	assert_non_null(strstr(err.msg, "list broken"));
	rows_free(out, n);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql__binds_and_one_value),
		cmocka_unit_test(test_sql__project_id),
		cmocka_unit_test(test_sql__rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

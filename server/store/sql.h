/*
 * sql.h — the store's one layer over SQLite's prepare/bind/step/column calls
 * (server/store only; nothing outside the store includes it).
 *
 * Every store file reads and writes through these, so a SQLite result code
 * becomes a wbs__st in one place (wbs__store_sqlerr) and a list query is
 * written as its SQL, its binds and the decoding of one row: preparing,
 * stepping, growing the array, finalizing and mapping the error live in
 * wbs__sql_rows. This is also the seam a second storage backend would cut.
 *
 * Threads: each function works on the connection it is given; a connection
 * belongs to one thread at a time (the writer, or a borrowed reader).
 */
#ifndef WB_SERVER_STORE_SQL_H
#define WB_SERVER_STORE_SQL_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Prepare sql on db. NULL with err set ("<what>: <sqlite message>"). The caller finalizes. */
sqlite3_stmt *wbs__sql_prepare(sqlite3 *db, const char *sql, const char *what, wbs__err *err);

/*
 * Bind parameters 1.. by fmt, one letter each: t text (NULL binds null,
 * copied), i int64_t, h 32-byte blob (copied), d double, r double (NaN binds
 * null), Any other letter (say '-') skips its parameter.
 */
void wbs__sql_bind(sqlite3_stmt *st, const char *fmt, ...);
/* Bind text s to parameter i (NULL binds null). s must outlive the statement's next step (SQLITE_STATIC). */
void wbs__sql_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Bind d to parameter i; NaN binds null (SQLite stores a NaN REAL as NULL: this makes it explicit). */
void wbs__sql_bind_real(sqlite3_stmt *st, int i, double d);
void wbs__sql_bindv(sqlite3_stmt *st, const char *fmt, va_list ap);

/* Step st: 1 on a row, 0 when done, -1 with err set (what names the operation). */
int wbs__sql_step(sqlite3 *db, sqlite3_stmt *st, const char *what, wbs__err *err);

/* Prepare sql, bind by fmt, step once (a row is ignored), finalize. A wbs__st with err. */
int wbs__sql_run(sqlite3 *db, wbs__err *err, const char *what, const char *sql, const char *fmt, ...);

/* Step st once, wanting no row (a row is ignored). A wbs__st. st is not reset. */
int wbs__sql_exec(sqlite3 *db, sqlite3_stmt *st, const char *what, wbs__err *err);

/*
 * Prepare sql, bind by fmt, step once, finalize. 1 with *out = the first
 * column of the first row (out may be NULL), 0 when there is no row, -1
 * with err set on an error.
 */
int wbs__sql_i64(sqlite3 *db, wbs__err *err, int64_t *out, const char *what, const char *sql, const char *fmt, ...);

/* A REAL column, NaN when NULL. */
double wbs__sql_col_real(sqlite3_stmt *st, int i);
/* strdup of a text column; "" stays "", NULL stays NULL. Sets *oom on failure. */
char *wbs__sql_col_dup(sqlite3_stmt *st, int i, int *oom);

/*
 * The projects.id of entity/project. st is a prepared "SELECT id FROM
 * projects WHERE entity = ?1 AND name = ?2" to use (a reader's cached one,
 * reset afterwards), or NULL to prepare that on db. NOTFOUND ("project E/P
 * not found") when there is no such project.
 */
int wbs__sql_project_id(sqlite3 *db, sqlite3_stmt *st, const char *entity, const char *project, int64_t *id,
			wbs__err *err);

/*
 * Decode the current row of st into row (zeroed, of the array's element
 * size). Return 0, or a wbs__st with err set to stop (WBS__ST_NOMEM for a
 * failed copy). ctx is wbs__sql_rows's.
 */
typedef int (*wbs__sql_row_fn)(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err);

/*
 * The list-query loop: step st (prepared and bound by the caller) to the
 * end, appending one zeroed element of size sz to *rows per row and
 * decoding it with fn; at most max rows (0: no limit). st is reset, not
 * finalized (it may be a cached statement); what names the query in an
 * error. *rows and *n are the array, also on
 * failure (the rows decoded so far, for the caller to free what they
 * own); NULL/0 when empty. Returns a wbs__st with err set on failure.
 */
int wbs__sql_rows_st(sqlite3 *db, sqlite3_stmt *st, size_t sz, size_t max, void **rows, size_t *n,
		     wbs__sql_row_fn fn, void *ctx, const char *what, wbs__err *err);

/* wbs__sql_rows_st on sql prepared on db and bound by fmt (as wbs__sql_bind), with no row limit. */
int wbs__sql_rows(sqlite3 *db, size_t sz, void **rows, size_t *n, wbs__sql_row_fn fn, void *ctx, const char *what,
		  wbs__err *err, const char *sql, const char *fmt, ...);

/* err set to "out of memory"; returns WBS__ST_NOMEM (for row decoders whose copy failed). */
int wbs__sql_oom(wbs__err *err);

#endif /* WB_SERVER_STORE_SQL_H */

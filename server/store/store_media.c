/*
 * store_media.c — rich data of runs: histograms, images, tables.
 *
 * Rows live in the media table (schema/migrations: media), one per run,
 * kind, key and step; a record at a step that has a row replaces it, so a
 * replayed log changes nothing. Histograms and tables are small and stay in
 * the row. Image bytes are files named by their SHA-256 under
 * <data dir>/media/, written by the ingest request's thread before the
 * records reach the writer (temp file, fsync, rename, fsync of the
 * directory), so the writer's group commit never waits on a large write,
 * and a row never names a file that is not durable. Content addressing
 * makes the file write idempotent and lets runs share bytes; a file is
 * unlinked when the last row naming it is deleted (wbs__cas_gc, store_ops.c).
 *
 * Statements are prepared per call: rich data arrives a few records per
 * step, not millions of points, so the cached-statement tables of the
 * metric paths are not worth a slot here.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/media.h"
#include "wire_media.h"

void wbs__media_rows_free(wbs__media_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].key);
		free(rows[i].data);
		free(rows[i].caption);
	}
	free(rows);
}

/* ---- image files ---- */

int wbs__store_media_blobs(wbs__store *s, const wbs__batch *b, wbs__err *err)
{
	int ret = WBS__ST_OK;

	for (size_t i = 0; i < b->njrecs && !ret; i++) {
		const wbs__media *m = b->jrecs[i].media;
		if (m && m->type == WB__REC_IMAGE)
			ret = wbs__cas_put(s, WBS__CAS_IMAGE, m->sha256, m->data, m->len, err);
	}
	return ret;
}

/* ---- writer ---- */

int wbs__media_apply(wbs__store *s, int64_t run, const wbs__media *m, wbs__err *err)
{
	static const char sql[] =
		"INSERT INTO media (run_id, kind, key, step, time, data, sha256, mime, width, height, bytes, caption) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (run_id, kind, key, step) DO UPDATE "
		"SET time = excluded.time, data = excluded.data, sha256 = excluded.sha256, mime = excluded.mime, "
		"width = excluded.width, height = excluded.height, bytes = excluded.bytes, caption = excluded.caption";
	sqlite3_stmt *st = NULL;
	int rc;

	/* a gc of the same bytes between the ingest thread's write and this apply put them back */
	if (m->type == WB__REC_IMAGE && (rc = wbs__cas_put(s, WBS__CAS_IMAGE, m->sha256, m->data, m->len, err)))
		return rc;
	rc = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "prepare a media row");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, wbs__media_kind(m->type), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, m->step);
	if (!isnan(m->time))
		sqlite3_bind_double(st, 5, m->time);
	if (m->type == WB__REC_IMAGE) {
		sqlite3_bind_text(st, 7, m->sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, m->mime, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, m->width);
		sqlite3_bind_int64(st, 10, m->height);
		sqlite3_bind_int64(st, 11, (int64_t)m->len);
		sqlite3_bind_text(st, 12, m->caption, -1, SQLITE_STATIC);
	} else if (m->type == WB__REC_TABLE) {
		sqlite3_bind_text(st, 6, (const char *)m->data, (int)m->len, SQLITE_STATIC);
	} else {
		sqlite3_bind_blob(st, 6, m->data, (int)m->len, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return wbs__store_sqlerr(err, s->wdb, rc, "store a media row");
	return WBS__ST_OK;
}

/* ---- reads ---- */

/* A reader inside a read transaction, and the run's id. */
static wbs__reader *read_begin(wbs__store *s, const wbs__run_ref *ref, int64_t *run, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	int rc;

	if (!r)
		return NULL;
	if ((rc = sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK) {
		wbs__store_sqlerr(err, r->db, rc, "begin read");
		wbs__reader_put(s, r);
		return NULL;
	}
	if (wbs__reader_run_id(r, ref, run, err)) {
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
		wbs__reader_put(s, r);
		return NULL;
	}
	return r;
}

static void read_end(wbs__store *s, wbs__reader *r)
{
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	wbs__reader_put(s, r);
}

static int rows_grow(wbs__media_row **rows, size_t n, size_t *cap)
{
	if (n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		wbs__media_row *p = realloc(*rows, c * sizeof(*p));
		if (!p)
			return -1;
		*rows = p;
		*cap = c;
	}
	memset(&(*rows)[n], 0, sizeof(**rows));
	return 0;
}

int wbs__store_media_keys(wbs__store *s, const wbs__run_ref *ref, wbs__media_row **rows, size_t *n, wbs__err *err)
{
	static const char sql[] = "SELECT kind, key, count(*), min(step), max(step) FROM media WHERE run_id = ?1 "
				  "GROUP BY kind, key ORDER BY kind, key";
	wbs__media_row *out = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int64_t run;
	wbs__reader *r;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	if (!(r = read_begin(s, ref, &run, err)))
		return err->st;
	if ((rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "prepare media keys");
		goto done;
	}
	sqlite3_bind_int64(st, 1, run);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__media_row *m;
		if (rows_grow(&out, cnt, &cap)) {
			oom = 1;
			break;
		}
		m = &out[cnt++];
		snprintf(m->kind, sizeof(m->kind), "%s", (const char *)sqlite3_column_text(st, 0));
		m->key = wbs__sql_col_dup(st, 1, &oom);
		m->count = (uint64_t)sqlite3_column_int64(st, 2);
		m->first_step = sqlite3_column_int64(st, 3);
		m->last_step = sqlite3_column_int64(st, 4);
		m->time = NAN;
		if (oom)
			break;
	}
	if (oom)
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	else if (rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, r->db, rc, "read media keys");
done:
	sqlite3_finalize(st);
	read_end(s, r);
	if (ret)
		wbs__media_rows_free(out, cnt);
	else {
		*rows = out;
		*n = cnt;
	}
	return ret;
}

/* Index of the j-th of samples rows evenly spaced over total (first and last included). */
static uint64_t pick(uint64_t j, uint64_t samples, uint64_t total)
{
	if (samples <= 1)
		return total - 1;
	return (uint64_t)((double)j * (double)(total - 1) / (double)(samples - 1) + 0.5);
}

int wbs__store_media_values(wbs__store *s, const wbs__run_ref *ref, const char *kind, const char *key, int64_t start,
			    int64_t end, uint32_t samples, wbs__media_row **rows, size_t *n, uint64_t *total,
			    wbs__err *err)
{
	static const char count_sql[] = "SELECT count(*) FROM media WHERE run_id = ?1 AND kind = ?2 AND key = ?3 "
					"AND step BETWEEN ?4 AND ?5";
	static const char sql[] = "SELECT step, time, data, sha256, mime, width, height, bytes, caption FROM media "
				  "WHERE run_id = ?1 AND kind = ?2 AND key = ?3 AND step BETWEEN ?4 AND ?5 ORDER BY step";
	wbs__media_row *out = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	uint64_t tot = 0, i = 0, j = 0, want;
	int64_t run;
	wbs__reader *r;
	int rc, ret = WBS__ST_OK, oom = 0;

	*rows = NULL;
	*n = 0;
	*total = 0;
	if (!(r = read_begin(s, ref, &run, err)))
		return err->st;
	for (int pass = 0; pass < 2; pass++) {
		if ((rc = sqlite3_prepare_v2(r->db, pass ? sql : count_sql, -1, &st, NULL)) != SQLITE_OK) {
			ret = wbs__store_sqlerr(err, r->db, rc, "prepare media values");
			goto done;
		}
		sqlite3_bind_int64(st, 1, run);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, start);
		sqlite3_bind_int64(st, 5, end);
		if (!pass) {
			if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
				ret = wbs__store_sqlerr(err, r->db, rc, "count media values");
				goto done;
			}
			tot = (uint64_t)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
			st = NULL;
			if (tot == 0)
				goto done;
			if (samples == 0 || samples > tot)
				samples = (uint32_t)(tot < UINT32_MAX ? tot : UINT32_MAX);
			continue;
		}
		want = pick(0, samples, tot);
		while (j < samples && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			wbs__media_row *m;
			const void *d;
			if (i++ != want)
				continue;
			while (j < samples && pick(j, samples, tot) < i)
				j++;
			want = j < samples ? pick(j, samples, tot) : UINT64_MAX;
			if (rows_grow(&out, cnt, &cap)) {
				oom = 1;
				break;
			}
			m = &out[cnt++];
			snprintf(m->kind, sizeof(m->kind), "%s", kind);
			m->step = sqlite3_column_int64(st, 0);
			m->time = wbs__sql_col_real(st, 1);
			if ((d = sqlite3_column_blob(st, 2))) {
				m->len = (size_t)sqlite3_column_bytes(st, 2);
				if (!(m->data = malloc(m->len + 1))) {
					oom = 1;
					break;
				}
				memcpy(m->data, d, m->len);
				m->data[m->len] = '\0';
			}
			if (sqlite3_column_type(st, 3) == SQLITE_TEXT) {
				snprintf(m->sha256, sizeof(m->sha256), "%s", (const char *)sqlite3_column_text(st, 3));
				snprintf(m->mime, sizeof(m->mime), "%s", (const char *)sqlite3_column_text(st, 4));
				m->width = (uint32_t)sqlite3_column_int64(st, 5);
				m->height = (uint32_t)sqlite3_column_int64(st, 6);
				m->bytes = (uint64_t)sqlite3_column_int64(st, 7);
				m->caption = wbs__sql_col_dup(st, 8, &oom);
				if (oom)
					break;
			}
		}
		if (oom)
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		else if (j < samples && rc != SQLITE_DONE && rc != SQLITE_ROW)
			ret = wbs__store_sqlerr(err, r->db, rc, "read media values");
	}
done:
	sqlite3_finalize(st);
	read_end(s, r);
	if (ret) {
		wbs__media_rows_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	*total = tot;
	return WBS__ST_OK;
}

int wbs__store_media_file(wbs__store *s, const wbs__run_ref *ref, const char *sha256, char **path, char mime[16],
			  wbs__err *err)
{
	static const char sql[] = "SELECT mime FROM media WHERE run_id = ?1 AND kind = 'image' AND sha256 = ?2 LIMIT 1";
	sqlite3_stmt *st = NULL;
	char p[4200];
	int64_t run;
	wbs__reader *r;
	int rc, ret = WBS__ST_OK;

	*path = NULL;
	if (!(r = read_begin(s, ref, &run, err)))
		return err->st;
	if ((rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, r->db, rc, "prepare media file");
		goto done;
	}
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, sha256, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "run %s has no image %s", ref->run_id, sha256);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "find an image");
		goto done;
	}
	snprintf(mime, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	wbs__cas_path(s, WBS__CAS_IMAGE, sha256, p, sizeof(p));
	if (!(*path = strdup(p)))
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	sqlite3_finalize(st);
	read_end(s, r);
	return ret;
}

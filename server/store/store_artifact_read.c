/*
 * store_artifact_read.c — reading artifacts, versions, files and the runs
 * that made or used them (see store_artifact.h for the design; the writes
 * and the blob store are in store_artifact.c). Reads that take several
 * statements run in one read transaction, so they see one snapshot.
 */
#include "store/store_artifact.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_acct.h"
#include "store/store_int.h"
#include "util/buf.h"

/* ---- reads ---- */

/* The artifact row id (in a read transaction). */
static int r_artifact(wbs__reader *r, const char *entity, const char *project, const char *name, int64_t *id,
		      wbs__err *err)
{
	sqlite3_stmt *st = wbs__sql_prepare(r->db,
				 "SELECT a.id FROM artifacts a JOIN projects p ON p.id = a.project_id"
				 " WHERE p.entity = ?1 AND p.name = ?2 AND a.name = ?3", "artifact read", err);
	int rc;
	if (!st)
		return err->st;
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s in %s/%s", name, entity, project);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, r->db, rc, "artifact");
	return WBS__ST_OK;
}

static int r_version(wbs__reader *r, int64_t art_id, const char *name, const char *sel, int64_t *vid, wbs__err *err)
{
	int64_t n = 0;
	int by_num = wbs__art_sel_version(sel, &n), rc;
	sqlite3_stmt *st = wbs__sql_prepare(r->db,
				 by_num ? "SELECT id FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2"
					: "SELECT version_id FROM artifact_aliases WHERE artifact_id = ?1 AND alias = ?2", "artifact read", err);
	if (!st)
		return err->st;
	sqlite3_bind_int64(st, 1, art_id);
	if (by_num)
		sqlite3_bind_int64(st, 2, n);
	else
		sqlite3_bind_text(st, 2, sel, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*vid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, r->db, rc, "version");
	return WBS__ST_OK;
}

/* A page of the projects that hold a version with an uploaded file of some blob. */
#define HOLDERS_PAGE 16
struct holder {
	int64_t id;
	char entity[72], name[72];
};

/*
 * The next page of holders of sha with a project id above after: how many
 * (<= HOLDERS_PAGE), or -1 with err. With owner: first whether user_id
 * uploaded the bytes itself (*owner = 1 and no page then). The statements
 * are the reader's cached ones: a check or a commit asks this per blob.
 */
static int blob_holders(wbs__store *s, const char *sha, int64_t after, struct holder *out, int64_t user_id,
			int *owner, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int n = -1, rc;

	if (!r)
		return -1;
	if (owner) {
		if (!(st = wbs__reader_stmt(r, RS_BLOB_OWNER, err)))
			goto done;
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, user_id);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			wbs__store_sqlerr(err, r->db, rc, "blob owner");
			goto done;
		}
		*owner = rc == SQLITE_ROW;
		if (*owner) {
			n = 0;
			goto done;
		}
	}
	if (!(st = wbs__reader_stmt(r, RS_BLOB_HOLDERS, err)))
		goto done;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, HOLDERS_PAGE);
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < HOLDERS_PAGE) {
		out[n].id = sqlite3_column_int64(st, 0);
		snprintf(out[n].entity, sizeof(out[n].entity), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(out[n].name, sizeof(out[n].name), "%s", (const char *)sqlite3_column_text(st, 2));
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		wbs__store_sqlerr(err, r->db, rc, "blob holders");
		n = -1;
	}
done:
	wbs__reader_put(s, r); /* resets the cached statements */
	return n;
}

int wbs__blob_usable(wbs__store *s, wbs__blob_caller *c, const char *sha, int *usable, wbs__err *err)
{
	struct holder page[HOLDERS_PAGE];
	int64_t after = 0;
	int owner = 0, n;

	*usable = 0;
	for (int first = 1;; first = 0) {
		/* the reader goes back before the access checks below take theirs */
		n = blob_holders(s, sha, after, page, c->user_id, first && c->user_id > 0 ? &owner : NULL, err);
		if (n < 0)
			return err->st;
		if (owner) {
			*usable = 1;
			return WBS__ST_OK;
		}
		for (int i = 0; i < n; i++) {
			size_t k;
			int readable = -1;
			for (k = 0; k < c->nseen; k++)
				if (c->seen[k].project_id == page[i].id)
					readable = c->seen[k].readable;
			if (readable < 0) {
				/* the one access question (wbs__store_access), as every route asks it */
				wbs__access a;
				int ret = wbs__store_access(s, c->user_id, page[i].entity, page[i].name, &a, err);
				if (ret)
					return ret;
				readable = a.role >= WBS__ROLE_VIEWER || a.is_public;
				if (c->nseen < sizeof(c->seen) / sizeof(c->seen[0])) {
					c->seen[c->nseen].project_id = page[i].id;
					c->seen[c->nseen++].readable = readable;
				}
			}
			if (readable) {
				*usable = 1;
				return WBS__ST_OK;
			}
		}
		if (n < HOLDERS_PAGE)
			return WBS__ST_OK;
		after = page[n - 1].id;
	}
}

/* Begin/end a read transaction so that several statements see one snapshot. */
static void rbegin(wbs__reader *r) { sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL); }
static void rend(wbs__reader *r) { sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL); }

/* ---- artifacts, versions, runs and files as rows (handlers_artifact.c writes their JSON) ---- */

static int art_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_row *a = row;
	int oom = 0;

	(void)ctx;
	a->name = wbs__sql_col_dup(st, 0, &oom);
	a->type = wbs__sql_col_dup(st, 1, &oom);
	a->created_at = sqlite3_column_double(st, 2);
	a->updated_at = sqlite3_column_double(st, 3);
	a->versions = sqlite3_column_int64(st, 4);
	a->latest = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	a->size = sqlite3_column_int64(st, 6);
	return oom ? wbs__sql_oom(err) : 0;
}

void wbs__art_rows_free(wbs__art_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].name);
		free(rows[i].type);
	}
	free(rows);
}

int wbs__art_list(wbs__store *s, const char *entity, const char *project, wbs__art_row **rows, size_t *n,
		  wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *v = NULL;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!r)
		return err->st;
	ret = wbs__sql_rows(r->db, sizeof(wbs__art_row), &v, n, art_row, NULL, "artifact rows", err,
			    "SELECT a.name, a.type, a.created_at, a.updated_at,"
			    " (SELECT count(*) FROM artifact_versions v WHERE v.artifact_id = a.id),"
			    " lv.version, coalesce(lv.size, 0)"
			    " FROM artifacts a JOIN projects p ON p.id = a.project_id"
			    " LEFT JOIN artifact_aliases al ON al.artifact_id = a.id AND al.alias = 'latest'"
			    " LEFT JOIN artifact_versions lv ON lv.id = al.version_id"
			    " WHERE p.entity = ?1 AND p.name = ?2 ORDER BY a.updated_at DESC, a.name LIMIT 10000",
			    "tt", entity, project);
	wbs__reader_put(s, r);
	*rows = v;
	return ret;
}

static int version_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_version_row *v = row;
	int oom = 0;

	(void)ctx;
	v->version = sqlite3_column_int64(st, 0);
	v->digest = wbs__sql_col_dup(st, 1, &oom);
	v->size = sqlite3_column_int64(st, 2);
	v->file_count = sqlite3_column_int64(st, 3);
	v->created_at = sqlite3_column_double(st, 4);
	v->producer = wbs__sql_col_dup(st, 5, &oom);
	v->aliases = wbs__sql_col_dup(st, 6, &oom);
	return oom ? wbs__sql_oom(err) : 0;
}

static void version_row_clear(wbs__art_version_row *v)
{
	free(v->digest);
	free(v->producer);
	free(v->aliases);
}

void wbs__art_version_rows_free(wbs__art_version_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		version_row_clear(&rows[i]);
	free(rows);
}

static const char VERSION_COLS[] =
    "SELECT v.version, v.digest, v.size, v.file_count, v.created_at, pr.run_id,"
    " (SELECT json_group_array(alias) FROM (SELECT alias FROM artifact_aliases al WHERE al.version_id = v.id"
    " ORDER BY alias)), v.metadata, v.id"
    " FROM artifact_versions v LEFT JOIN runs pr ON pr.id = v.producer_run ";

int wbs__art_get(wbs__store *s, const char *entity, const char *project, const char *name, wbs__art_row *art,
		 wbs__art_version_row **versions, size_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *a = NULL, *v = NULL;
	size_t na = 0;
	char sql[1024];
	int64_t art_id;
	int ret;

	memset(art, 0, sizeof(*art));
	*versions = NULL;
	*n = 0;
	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)) ||
	    (ret = wbs__sql_rows(r->db, sizeof(wbs__art_row), &a, &na, art_row, NULL, "artifact read", err,
				 "SELECT a.name, a.type, a.created_at, a.updated_at, 0, NULL, 0 FROM artifacts a"
				 " WHERE a.id = ?1",
				 "i", art_id)))
		goto done;
	if (na == 0) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s", name);
		goto done;
	}
	snprintf(sql, sizeof(sql), "%s WHERE v.artifact_id = ?1 ORDER BY v.version DESC LIMIT 100000", VERSION_COLS);
	ret = wbs__sql_rows(r->db, sizeof(wbs__art_version_row), &v, n, version_row, NULL, "artifact rows", err, sql,
			    "i", art_id);
done:
	rend(r);
	wbs__reader_put(s, r);
	if (na > 0) {
		*art = *(wbs__art_row *)a;
		memset(a, 0, sizeof(wbs__art_row));
	}
	wbs__art_rows_free(a, na);
	*versions = v;
	return ret;
}

static int run_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_run_row *u = row;
	int oom = 0;

	(void)ctx;
	u->run_id = wbs__sql_col_dup(st, 0, &oom);
	u->name = wbs__sql_col_dup(st, 1, &oom);
	u->state = wbs__sql_col_dup(st, 2, &oom);
	u->at = sqlite3_column_double(st, 3);
	return oom ? wbs__sql_oom(err) : 0;
}

static void run_rows_free(wbs__art_run_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].run_id);
		free(rows[i].name);
		free(rows[i].state);
	}
	free(rows);
}

static int file_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_file_row *f = row;
	int oom = 0;

	(void)ctx;
	f->path = wbs__sql_col_dup(st, 0, &oom);
	f->sha256 = wbs__sql_col_dup(st, 1, &oom);
	f->size = sqlite3_column_int64(st, 2);
	f->ref = wbs__sql_col_dup(st, 3, &oom);
	return oom ? wbs__sql_oom(err) : 0;
}

void wbs__art_detail_free(wbs__art_detail *d)
{
	free(d->type);
	free(d->metadata);
	version_row_clear(&d->info);
	run_rows_free(d->produced_by, d->nproduced);
	run_rows_free(d->used_by, d->nused);
	for (size_t i = 0; d->files && i < d->nfiles; i++) {
		free(d->files[i].path);
		free(d->files[i].sha256);
		free(d->files[i].ref);
	}
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* A version's row with its metadata (VERSION_COLS), into a detail's info and metadata. */
static int version_meta_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_detail *d = row;
	int oom = 0;

	(void)ctx;
	d->metadata = wbs__sql_col_dup(st, 7, &oom);
	if (oom)
		return wbs__sql_oom(err);
	return version_row(st, &d->info, NULL, err);
}

int wbs__art_version_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
			 wbs__art_detail *d, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *one = NULL, *types = NULL, *pb = NULL, *ub = NULL, *fs = NULL;
	size_t none = 0, ntypes = 0;
	char sql[1024];
	int64_t art_id, vid;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)) ||
	    (ret = r_version(r, art_id, name, sel, &vid, err)))
		goto done;
	snprintf(sql, sizeof(sql), "%s WHERE v.id = ?1", VERSION_COLS);
	if ((ret = wbs__sql_rows(r->db, sizeof(wbs__art_detail), &one, &none, version_meta_row, NULL, "artifact read",
				 err, sql, "i", vid)))
		goto done;
	if (none == 0) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
		goto done;
	}
	if ((ret = wbs__sql_rows(r->db, sizeof(wbs__art_row), &types, &ntypes, art_row, NULL, "artifact read", err,
				 "SELECT NULL, type, 0, 0, 0, NULL, 0 FROM artifacts WHERE id = ?1", "i", art_id)) ||
	    (ret = wbs__sql_rows(r->db, sizeof(wbs__art_run_row), &pb, &d->nproduced, run_row, NULL, "artifact rows",
				 err,
				 "SELECT r.run_id, r.name, r.state, v.created_at FROM artifact_versions v"
				 " JOIN runs r ON r.id = v.producer_run WHERE v.id = ?1",
				 "i", vid)) ||
	    (ret = wbs__sql_rows(r->db, sizeof(wbs__art_run_row), &ub, &d->nused, run_row, NULL, "artifact rows", err,
				 "SELECT r.run_id, r.name, r.state, u.used_at FROM artifact_usage u"
				 " JOIN runs r ON r.id = u.run_id WHERE u.version_id = ?1 ORDER BY u.used_at LIMIT 10000",
				 "i", vid)))
		goto done;
	ret = wbs__sql_rows(r->db, sizeof(wbs__art_file_row), &fs, &d->nfiles, file_row, NULL, "artifact rows", err,
			    "SELECT path, sha256, size, ref FROM artifact_files WHERE version_id = ?1 ORDER BY path",
			    "i", vid);
done:
	rend(r);
	wbs__reader_put(s, r);
	if (none > 0) { /* one row: the version's id is unique */
		d->metadata = ((wbs__art_detail *)one)->metadata;
		d->info = ((wbs__art_detail *)one)->info;
	}
	free(one);
	if (ntypes > 0) {
		d->type = ((wbs__art_row *)types)[0].type;
		((wbs__art_row *)types)[0].type = NULL;
	}
	wbs__art_rows_free(types, ntypes);
	d->produced_by = pb;
	d->used_by = ub;
	d->files = fs;
	return ret;
}

int wbs__art_file_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
		      const char *path, char sha[65], uint64_t *size, char **ref, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int64_t art_id, vid;
	int ret, rc, oom = 0;

	*ref = NULL;
	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)) ||
	    (ret = r_version(r, art_id, name, sel, &vid, err)))
		goto done;
	if (!(st = wbs__sql_prepare(r->db,
				    "SELECT sha256, size, ref FROM artifact_files WHERE version_id = ?1 AND path = ?2",
				    "artifact read", err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no file %.200s in %s:%s", path, name, sel);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "file");
		goto done;
	}
	snprintf(sha, 65, "%s", (const char *)sqlite3_column_text(st, 0));
	*size = (uint64_t)sqlite3_column_int64(st, 1);
	*ref = wbs__sql_col_dup(st, 2, &oom);
	ret = oom ? wbs__err_set(err, WBS__ST_NOMEM, "out of memory") : WBS__ST_OK;
done:
	sqlite3_finalize(st);
	rend(r);
	wbs__reader_put(s, r);
	return ret;
}

static int use_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__art_use_row *u = row;
	int oom = 0;

	(void)ctx;
	u->artifact = wbs__sql_col_dup(st, 0, &oom);
	u->type = wbs__sql_col_dup(st, 1, &oom);
	u->version = sqlite3_column_int64(st, 2);
	u->at = sqlite3_column_double(st, 3);
	return oom ? wbs__sql_oom(err) : 0;
}

void wbs__art_use_rows_free(wbs__art_use_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].artifact);
		free(rows[i].type);
	}
	free(rows);
}

int wbs__art_run_get(wbs__store *s, const wbs__run_ref *ref, wbs__art_use_row **made, size_t *nmade,
		     wbs__art_use_row **used, size_t *nused, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	void *m = NULL, *u = NULL;
	size_t nm = 0, nu = 0;
	int64_t rid = 0;
	int ret, found;

	*made = *used = NULL;
	*nmade = *nused = 0;
	if (!r)
		return err->st;
	rbegin(r);
	found = wbs__sql_i64(r->db, err, &rid, "run",
			     "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id"
			     " WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
			     "ttt", ref->entity, ref->project, ref->run_id);
	if (found <= 0) {
		ret = found < 0 ? err->st
				: wbs__err_set(err, WBS__ST_NOTFOUND, "no run %s/%s/%s", ref->entity, ref->project,
					       ref->run_id);
		goto done;
	}
	if ((ret = wbs__sql_rows(r->db, sizeof(wbs__art_use_row), &m, &nm, use_row, NULL, "artifact rows", err,
				 "SELECT a.name, a.type, v.version, v.created_at FROM artifact_versions v"
				 " JOIN artifacts a ON a.id = v.artifact_id WHERE v.producer_run = ?1 ORDER BY v.created_at"
				 " LIMIT 10000",
				 "i", rid)))
		goto done;
	ret = wbs__sql_rows(r->db, sizeof(wbs__art_use_row), &u, &nu, use_row, NULL, "artifact rows", err,
			    "SELECT a.name, a.type, v.version, u.used_at FROM artifact_usage u"
			    " JOIN artifact_versions v ON v.id = u.version_id JOIN artifacts a ON a.id = v.artifact_id"
			    " WHERE u.run_id = ?1 ORDER BY u.used_at LIMIT 10000",
			    "i", rid);
done:
	rend(r);
	wbs__reader_put(s, r);
	if (ret) {
		wbs__art_use_rows_free(m, nm);
		wbs__art_use_rows_free(u, nu);
		return ret;
	}
	*made = m, *nmade = nm;
	*used = u, *nused = nu;
	return WBS__ST_OK;
}

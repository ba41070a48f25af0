/*
 * store_ops.c — readiness, gauges and online backup (see store_ops.h).
 *
 * The gauges read the writer's queue under its mutex (held for a walk of
 * at most a few dozen jobs: one per worker thread) and stat(2) the files;
 * nothing here waits for the writer, so /metrics stays answerable while a
 * long transaction commits.
 *
 * Deletes follow the foreign keys downwards, found at run time from the
 * schema (PRAGMA foreign_key_list), so a table a later migration hangs off
 * runs or projects is emptied with them without this file knowing it:
 * children first, since the writer runs with foreign_keys = ON. The
 * content-addressed files the deleted rows named (images, and a project's
 * artifact blobs) are unlinked after the delete commits, each only if no
 * row names its hash any more; both checks and unlinks run on the writer,
 * so no ingest or artifact commit can claim a hash in between.
 *
 * The backup opens the source read-only and copies it with
 * sqlite3_backup_step in slices of pages. Through a read-only connection a
 * WAL database is read at a snapshot, and if a writer commits between two
 * steps SQLite restarts the copy from the first page: it always ends with
 * one committed state, never a mix. The slices are large (the database
 * fits a few of them) so that a busy writer cannot starve it.
 */
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/migrations.h"
#include "store/store_ops.h"
#include "util/log.h"
#include "util/sha256.h"

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void wbs__store_stats_get(wbs__store *s, wbs__store_stats *out)
{
	char wal[4200];

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	for (const wbs__job *j = s->head; j; j = j->next)
		out->queue_depth++;
	pthread_mutex_unlock(&s->mu);
	out->db_bytes = file_size(s->path);
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	out->wal_bytes = file_size(wal);
}

int wbs__store_ready(wbs__store *s, wbs__err *err)
{
	wbs__reader *r = NULL;
	sqlite3_stmt *st = NULL;
	int closed, rc, ret = WBS__ST_OK;
	int64_t version = -1;

	pthread_mutex_lock(&s->mu);
	closed = s->closed;
	pthread_mutex_unlock(&s->mu);
	if (closed)
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "the store is closing");
	if (wbs__dir_readonly(s->path))
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "the data directory is read-only: %s", strerror(errno));
	if (!(r = wbs__reader_get(s, err)))
		return err->st == WBS__ST_OK ? WBS__ST_UNAVAILABLE : err->st;
	rc = sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	if (version < 0) {
		ret = wbs__store_sqlerr(err, r->db, rc, "readiness");
		if (ret == WBS__ST_OK)
			ret = wbs__err_set(err, WBS__ST_UNAVAILABLE, "cannot read the schema version");
	} else if ((uint64_t)version != (uint64_t)wbs__migrations_count) {
		ret = wbs__err_set(err, WBS__ST_UNAVAILABLE, "schema version %lld, this server needs %zu",
				   (long long)version, wbs__migrations_count);
	}
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

/* Open path with flags and a busy timeout for a command beside the server. A wbs__st. */
static int open_beside(const char *path, int flags, int busy_ms, const char *verb, sqlite3 **db, wbs__err *err)
{
	int rc = sqlite3_open_v2(path, db, flags, NULL);

	if (rc != SQLITE_OK)
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "cannot %s %s: %s", verb, path,
				    *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(*db, busy_ms);
	return WBS__ST_OK;
}

int wbs__store_backup_file(const char *src_db, const char *dest_db, wbs__err *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	sqlite3_stmt *st = NULL;
	int rc, ret = WBS__ST_OK;

	if (access(dest_db, F_OK) == 0)
		return wbs__err_set(err, WBS__ST_BADARG, "%s exists already", dest_db);
	if ((ret = open_beside(src_db, SQLITE_OPEN_READONLY, 10000, "open", &src, err)) ||
	    (ret = open_beside(dest_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 10000, "create", &dst, err)))
		goto done;
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		ret = wbs__err_set(err, WBS__ST_INTERNAL, "backup: %s", sqlite3_errmsg(dst));
		goto done;
	}
	for (int attempts = 0;; attempts++) {
		rc = sqlite3_backup_step(bk, 4096);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK)
			continue;
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempts < 1000) {
			sqlite3_sleep(10); /* the source is locked by a checkpoint: try the step again */
			continue;
		}
		ret = wbs__err_set(err, rc == SQLITE_FULL ? WBS__ST_FULL : WBS__ST_UNAVAILABLE, "backup: %s",
				   sqlite3_errstr(rc));
		goto done;
	}
	rc = sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_OK) {
		ret = wbs__err_set(err, WBS__ST_UNAVAILABLE, "backup: %s", sqlite3_errmsg(dst));
		goto done;
	}
	rc = sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		ret = wbs__err_set(err, WBS__ST_INTERNAL, "the copy fails its integrity check: %s",
				   st && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
								    : sqlite3_errmsg(dst));
		goto done;
	}
done:
	sqlite3_finalize(st);
	if (bk)
		sqlite3_backup_finish(bk);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (ret != WBS__ST_OK)
		unlink(dest_db);
	return ret;
}

/* ---- retention ---- */

/* ---- content-addressed files ---- */

static atomic_uint_fast64_t cas_deleted[2];

uint64_t wbs__cas_deleted_total(wbs__cas kind) { return atomic_load(&cas_deleted[kind]); }

/* The directory of a file path ("." for a bare name). */
static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, cap, ".");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

void wbs__store_dir(const wbs__store *s, char *out, size_t cap) { dir_of(s->path, out, cap); }

/* A row that names the file of a hash, per kind (?1 the hash). */
static const char *const cas_named[] = {
    [WBS__CAS_IMAGE] = "SELECT 1 FROM media WHERE sha256 = ?1 LIMIT 1",
    [WBS__CAS_BLOB] = "SELECT 1 FROM artifact_files WHERE sha256 = ?1 AND ref IS NULL LIMIT 1",
};

int wbs__shaset_add(wbs__store *s, wbs__shaset *set, const char *sql, int64_t id, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = WBS__ST_OK;

	rc = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(err, s->wdb, rc, "find the files to collect");
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);
		if (!h || !wbs__sha256_hex_valid(h))
			continue; /* never a path from a row that is not a hash */
		if (set->n == set->cap) {
			size_t cap = set->cap ? 2 * set->cap : 16;
			void *g = realloc(set->sha, cap * sizeof(*set->sha));
			if (!g) {
				ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
				break;
			}
			set->sha = g;
			set->cap = cap;
		}
		memcpy(set->sha[set->n++], h, 65);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = wbs__store_sqlerr(err, s->wdb, rc, "find the files to collect");
	sqlite3_finalize(st);
	return ret;
}

void wbs__shaset_free(wbs__shaset *set)
{
	free(set->sha);
	memset(set, 0, sizeof(*set));
}

struct gc_arg {
	wbs__cas kind;
	const wbs__shaset *set;
	uint64_t deleted;
};

static int apply_gc(wbs__store *s, wbs__job *j)
{
	struct gc_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int rc, rm, ret = WBS__ST_OK;

	rc = sqlite3_prepare_v2(s->wdb, cas_named[a->kind], -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "prepare the file gc");
	for (size_t i = 0; i < a->set->n; i++) {
		const char *sha = a->set->sha[i];
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			continue; /* another row has the same bytes */
		if (rc != SQLITE_DONE) {
			ret = wbs__store_sqlerr(&j->err, s->wdb, rc, "file gc");
			break;
		}
		if ((rm = wbs__cas_remove(s, a->kind, sha)) == 1) {
			a->deleted++;
			atomic_fetch_add(&cas_deleted[a->kind], 1);
		} else if (rm < 0) {
			wbs__log(WBS__LOG_WARN, "cannot delete an unreferenced file", "sha256=%s kind=%s error=%s", sha,
				 a->kind == WBS__CAS_IMAGE ? "image" : "blob", strerror(errno));
		}
	}
	sqlite3_finalize(st);
	return ret;
}

int wbs__cas_gc(wbs__store *s, wbs__cas kind, const wbs__shaset *set, uint64_t *deleted, wbs__err *err)
{
	struct gc_arg a = {kind, set, 0};
	int ret = set->n ? wbs__store_submit_fn(s, apply_gc, &a, err) : WBS__ST_OK;

	if (deleted)
		*deleted = a.deleted;
	return ret;
}

/* ---- retention ---- */

struct del_arg {
	const char *entity, *project, *run_id; /* run_id NULL: the whole project */
	wbs__shaset images, blobs;             /* the files the deleted rows named */
};

/*
 * Delete the rows of table matching where (an SQL condition), after the
 * rows of every table that references it. depth bounds the recursion.
 */
static int delete_cascade(sqlite3 *db, const char *table, const char *where, int depth, wbs__err *err)
{
	sqlite3_stmt *tables = NULL, *fks = NULL;
	char *sql = NULL;
	int rc, ret = WBS__ST_OK;

	if (depth > 8)
		return wbs__err_set(err, WBS__ST_INTERNAL, "delete: foreign keys nest too deep");
	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
				-1, &tables, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, db, rc, "delete");
		goto done;
	}
	while ((rc = sqlite3_step(tables)) == SQLITE_ROW) {
		const char *child = (const char *)sqlite3_column_text(tables, 0);
		if (strcmp(child, table) == 0)
			continue;
		sqlite3_free(sql);
		sql = sqlite3_mprintf("SELECT \"from\", \"to\" FROM pragma_foreign_key_list(%Q) WHERE \"table\" = %Q",
				      child, table);
		sqlite3_finalize(fks);
		fks = NULL;
		if (!sql || (rc = sqlite3_prepare_v2(db, sql, -1, &fks, NULL)) != SQLITE_OK) {
			ret = sql ? wbs__store_sqlerr(err, db, rc, "delete") : wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		while ((rc = sqlite3_step(fks)) == SQLITE_ROW) {
			const char *from = (const char *)sqlite3_column_text(fks, 0);
			const char *to = (const char *)sqlite3_column_text(fks, 1);
			char *cw = sqlite3_mprintf("\"%w\" IN (SELECT \"%w\" FROM \"%w\" WHERE %s)", from, to ? to : "rowid",
						   table, where);
			if (!cw) {
				ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
				goto done;
			}
			ret = delete_cascade(db, child, cw, depth + 1, err);
			sqlite3_free(cw);
			if (ret)
				goto done;
		}
		if (rc != SQLITE_DONE) {
			ret = wbs__store_sqlerr(err, db, rc, "delete");
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = wbs__store_sqlerr(err, db, rc, "delete");
		goto done;
	}
	sqlite3_free(sql);
	sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE %s", table, where);
	if (!sql) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		ret = wbs__store_sqlerr(err, db, rc, "delete");
done:
	sqlite3_free(sql);
	sqlite3_finalize(fks);
	sqlite3_finalize(tables);
	return ret;
}

static int apply_delete(wbs__store *s, wbs__job *j)
{
	struct del_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	char *where = NULL;
	int64_t id = 0;
	int rc, ret;

	if (a->run_id)
		rc = sqlite3_prepare_v2(s->wdb,
					"SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id "
					"WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
					-1, &st, NULL);
	else
		rc = sqlite3_prepare_v2(s->wdb, "SELECT id FROM projects WHERE entity = ?1 AND name = ?2", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "delete");
	sqlite3_bind_text(st, 1, a->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->project, -1, SQLITE_STATIC);
	if (a->run_id)
		sqlite3_bind_text(st, 3, a->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return a->run_id ? wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no run %s/%s/%s", a->entity, a->project, a->run_id)
				 : wbs__err_set(&j->err, WBS__ST_NOTFOUND, "no project %s/%s", a->entity, a->project);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "delete");
	a->images.n = a->blobs.n = 0; /* a job run again */
	if (a->run_id)
		ret = wbs__shaset_add(s, &a->images,
				      "SELECT DISTINCT sha256 FROM media WHERE run_id = ?1 AND kind = 'image'", id, &j->err);
	else
		ret = wbs__shaset_add(s, &a->images,
				      "SELECT DISTINCT sha256 FROM media WHERE kind = 'image' "
				      "AND run_id IN (SELECT id FROM runs WHERE project_id = ?1)",
				      id, &j->err);
	/* a run's artifact versions outlive it (schema 006); a project's go with it */
	if (!ret && !a->run_id)
		ret = wbs__shaset_add(s, &a->blobs,
				      "SELECT DISTINCT f.sha256 FROM artifact_files f "
				      "JOIN artifact_versions v ON v.id = f.version_id "
				      "JOIN artifacts t ON t.id = v.artifact_id WHERE t.project_id = ?1 AND f.ref IS NULL",
				      id, &j->err);
	if (ret)
		return ret;
	if (!(where = sqlite3_mprintf("id = %lld", (long long)id)))
		return wbs__err_set(&j->err, WBS__ST_NOMEM, "out of memory");
	ret = delete_cascade(s->wdb, a->run_id ? "runs" : "projects", where, 0, &j->err);
	sqlite3_free(where);
	return ret;
}

/* The delete, then (once it is durable) the files nothing names any more. */
static int delete_and_gc(wbs__store *s, struct del_arg *a, wbs__err *err)
{
	int ret = wbs__store_submit_fn(s, apply_delete, a, err);

	if (!ret) {
		wbs__err ge = {0};
		if (wbs__cas_gc(s, WBS__CAS_IMAGE, &a->images, NULL, &ge) ||
		    wbs__cas_gc(s, WBS__CAS_BLOB, &a->blobs, NULL, &ge))
			wbs__log(WBS__LOG_WARN, "file gc after a delete failed", "error=%s", ge.msg);
	}
	wbs__shaset_free(&a->images);
	wbs__shaset_free(&a->blobs);
	return ret;
}

int wbs__store_run_delete(wbs__store *s, const wbs__run_ref *ref, wbs__err *err)
{
	struct del_arg a = {ref->entity, ref->project, ref->run_id, {0}, {0}};
	return delete_and_gc(s, &a, err);
}

int wbs__store_project_delete(wbs__store *s, const char *entity, const char *project, wbs__err *err)
{
	struct del_arg a = {entity, project, NULL, {0}, {0}};
	return delete_and_gc(s, &a, err);
}

int wbs__store_vacuum_file(const char *db_path, uint64_t *before, uint64_t *after, wbs__err *err)
{
	sqlite3 *db = NULL;
	char wal[4200];
	int rc, ret = WBS__ST_OK;

	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	*before = file_size(db_path) + file_size(wal);
	*after = *before;
	if ((ret = open_beside(db_path, SQLITE_OPEN_READWRITE, 30000, "open", &db, err)))
		goto done;
	if ((rc = sqlite3_exec(db, "VACUUM", NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL)) != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, db, rc, "vacuum");
		goto done;
	}
	*after = file_size(db_path) + file_size(wal);
done:
	sqlite3_close(db);
	return ret;
}

/* ---- leftover files ---- */

struct leftover {
	char path[4600];
	char sha[65]; /* "" for a temporary file (no row can name it) */
	wbs__cas kind;
};

struct leftovers {
	struct leftover *v;
	size_t n, cap;
	time_t cutoff;
};

/* Remember path when it is a regular file last changed before the cutoff. */
static int leftover_add(struct leftovers *l, const char *path, wbs__cas kind, const char *sha)
{
	struct stat st;

	if (lstat(path, &st) || !S_ISREG(st.st_mode) || st.st_mtime >= l->cutoff)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *g = realloc(l->v, cap * sizeof(*l->v));
		if (!g)
			return -1;
		l->v = g;
		l->cap = cap;
	}
	snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%s", path);
	snprintf(l->v[l->n].sha, sizeof(l->v[l->n].sha), "%s", sha ? sha : "");
	l->v[l->n++].kind = kind;
	return 0;
}

/* The old files of kind under dir: hashed files, and temporaries a crash or an abandoned upload left. */
static int leftover_scan(struct leftovers *l, const char *dir, wbs__cas kind)
{
	char top[4200], sub[4300], path[4600], sha[65];
	DIR *d, *e;
	struct dirent *a, *b;
	int ret = 0;

	snprintf(top, sizeof(top), "%s/%s", dir, wbs__cas_dir_name(kind));
	if (!(d = opendir(top)))
		return 0; /* nothing of this kind yet */
	while (!ret && (a = readdir(d))) {
		int tmp = kind == WBS__CAS_BLOB && strcmp(a->d_name, "tmp") == 0;
		if (!tmp && (strlen(a->d_name) != 2 || strspn(a->d_name, "0123456789abcdef") != 2))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", top, a->d_name) >= (int)sizeof(sub) || !(e = opendir(sub)))
			continue;
		while (!ret && (b = readdir(e))) {
			const char *n = b->d_name;
			size_t len = strlen(n);
			if (snprintf(path, sizeof(path), "%s/%s", sub, n) >= (int)sizeof(path))
				continue; /* no name of ours is that long */
			if (tmp ? len > 5 && strcmp(n + len - 5, ".part") == 0 /* blobs/tmp/<sha>.part */
				: kind == WBS__CAS_IMAGE && strncmp(n, ".tmp-", 5) == 0) { /* media/ab/.tmp-<sha>-... */
				ret = leftover_add(l, path, kind, NULL);
				continue;
			}
			if (tmp)
				continue;
			if (kind == WBS__CAS_IMAGE && len == 64 && strncmp(n, a->d_name, 2) == 0) {
				memcpy(sha, n, 64);
			} else if (kind == WBS__CAS_BLOB && len == 62) {
				memcpy(sha, a->d_name, 2);
				memcpy(sha + 2, n, 62);
			} else {
				continue;
			}
			sha[64] = '\0';
			if (wbs__sha256_hex_valid(sha))
				ret = leftover_add(l, path, kind, sha);
		}
		closedir(e);
	}
	closedir(d);
	return ret;
}

int wbs__store_sweep_files(const char *db_path, int64_t grace_s, uint64_t *files, uint64_t *bytes, wbs__err *err)
{
	struct leftovers l = {NULL, 0, 0, time(NULL) - (time_t)grace_s};
	char dir[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *named[2] = {NULL, NULL};
	int rc, ret = WBS__ST_OK;

	*files = *bytes = 0;
	dir_of(db_path, dir, sizeof(dir));
	/* the walk needs no lock: the candidates are files older than the grace period */
	if (leftover_scan(&l, dir, WBS__CAS_IMAGE) || leftover_scan(&l, dir, WBS__CAS_BLOB)) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	if (!l.n)
		goto done;
	if ((ret = open_beside(db_path, SQLITE_OPEN_READWRITE, 30000, "open", &db, err)))
		goto done;
	/*
	 * The write lock, held while checking and unlinking (nothing is written):
	 * no version commit or image record can name a hash in between.
	 */
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, db, rc, "sweep");
		goto done;
	}
	for (int k = 0; k < 2; k++)
		if ((rc = sqlite3_prepare_v2(db, cas_named[k], -1, &named[k], NULL)) != SQLITE_OK) {
			ret = wbs__store_sqlerr(err, db, rc, "sweep");
			goto done;
		}
	for (size_t i = 0; i < l.n && !ret; i++) {
		const struct leftover *f = &l.v[i];
		struct stat st;
		if (f->sha[0]) {
			sqlite3_stmt *q = named[f->kind];
			sqlite3_reset(q);
			sqlite3_bind_text(q, 1, f->sha, -1, SQLITE_STATIC);
			rc = sqlite3_step(q);
			if (rc == SQLITE_ROW)
				continue; /* named: kept */
			if (rc != SQLITE_DONE) {
				ret = wbs__store_sqlerr(err, db, rc, "sweep");
				break;
			}
		}
		/* a temporary an upload resumed since the scan is young again */
		if (lstat(f->path, &st) || st.st_mtime >= l.cutoff)
			continue;
		if (unlink(f->path) == 0) {
			(*files)++;
			*bytes += (uint64_t)st.st_size;
		} else if (errno != ENOENT) {
			wbs__log(WBS__LOG_WARN, "cannot delete a leftover file", "path=%s error=%s", f->path,
				 strerror(errno));
		}
	}
done:
	for (int k = 0; k < 2; k++)
		sqlite3_finalize(named[k]);
	if (db)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	free(l.v);
	return ret;
}

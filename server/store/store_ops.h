/*
 * store_ops.h — what operating the store needs beyond the API's reads and
 * writes: its readiness, its gauges for /metrics, and an online backup.
 *
 * Kept apart from store.h so that the API's interface stays about runs and
 * series; like store.h, no sqlite3 type crosses this line.
 *
 * Threads: every function may be called from any thread between
 * wbs__store_open and wbs__store_close; wbs__store_backup_file works on
 * files and needs no open store.
 */
#ifndef WB_SERVER_STORE_OPS_H
#define WB_SERVER_STORE_OPS_H

#include <stdint.h>

#include "store/store.h"

typedef struct wbs__store_stats {
	uint64_t queue_depth; /* write jobs queued, not yet taken by the writer */
	uint64_t db_bytes;    /* size of wb.db */
	uint64_t wal_bytes;   /* size of wb.db-wal */
} wbs__store_stats;

/* Gauges, read without blocking on the writer. */
void wbs__store_stats_get(wbs__store *s, wbs__store_stats *out);

/*
 * Ready to take writes: open (not closing), every embedded migration
 * applied (PRAGMA user_version), and the database and its directory
 * writable by this process. WBS__ST_OK, or WBS__ST_UNAVAILABLE with the
 * reason in err.
 */
int wbs__store_ready(wbs__store *s, wbs__err *err);

/*
 * Copy the database at src_db (a live wb.db, possibly being written by a
 * server in another process) into dest_db with SQLite's online backup API,
 * reading from a read-only connection: the copy is one consistent
 * snapshot (the last committed transaction when the final step ran).
 * dest_db must not exist. Then runs PRAGMA integrity_check on the copy.
 * WBS__ST_OK, or an error with err.
 */
int wbs__store_backup_file(const char *src_db, const char *dest_db, wbs__err *err);

/*
 * Retention: delete a run, or a project with all its runs, and every row
 * that belongs to them (series, and whatever later migrations hang off a
 * run by a foreign key). One write job: durable when this returns.
 * WBS__ST_NOTFOUND when there is no such run/project.
 */
int wbs__store_run_delete(wbs__store *s, const wbs__run_ref *ref, wbs__err *err);
int wbs__store_project_delete(wbs__store *s, const char *entity, const char *project, wbs__err *err);

/*
 * VACUUM the database at db_path (a data directory's wb.db), giving the
 * pages freed by deletes back to the file system. Safe beside a running
 * server: it waits (busy timeout) for the writer's transaction and blocks
 * writes while it runs. before and after: sizes of the database and its WAL, in bytes.
 */
int wbs__store_vacuum_file(const char *db_path, uint64_t *before, uint64_t *after, wbs__err *err);

/*
 * Delete the files of the data directory of db_path that nothing names and
 * that have not changed for grace_s seconds: image files and artifact
 * blobs no row names (left by a crash between a delete and its garbage
 * collection, or uploaded for a version never committed), partial blob
 * uploads abandoned that long, and temporaries of interrupted writes.
 * Safe beside a running server: the walk takes no lock, and each check
 * and unlink runs under the database's write lock (nothing is written).
 * *files and *bytes: what was deleted.
 */
int wbs__store_sweep_files(const char *db_path, int64_t grace_s, uint64_t *files, uint64_t *bytes, wbs__err *err);

#endif /* WB_SERVER_STORE_OPS_H */

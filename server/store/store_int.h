/*
 * store_int.h — internals shared by store.c (lifecycle, writer thread,
 * reader pool), store_write.c (applying jobs) and store_read.c (queries).
 * Nothing outside server/store includes this.
 */
#ifndef WB_SERVER_STORE_INT_H
#define WB_SERVER_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/cas.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_sweep.h"
#include "tsz.h"

/* Statements of a reader connection, prepared on first use. */
enum rstmt {
	RS_KEY_USER,
	RS_KEY_COUNT,
	RS_RUN_GET,
	RS_RUN_ID,
	RS_KEY_ID,
	RS_CHUNK_METAS,
	RS_CHUNK_DATA,
	RS_METRICS,
	RS_PROJECTS,
	RS_PROJECT_ID,
	RS_PATCH_CHUNKS,
	RS_BLOB_OWNER,
	RS_BLOB_HOLDERS,
	RS__COUNT
};

typedef struct wbs__reader {
	sqlite3 *db;
	sqlite3_stmt *st[RS__COUNT];
	struct wbs__reader *next; /* in the idle list */
	unsigned gen;             /* the store's rgen when opened */
} wbs__reader;

/* Statements of the writer connection. */
enum wstmt {
	WS_PROJECT_UPSERT,
	WS_RUN_FIND,
	WS_RUN_INSERT,
	WS_RUN_RESUME,
	WS_RUN_FIELDS,
	WS_RUN_GET_JSON,
	WS_RUN_SET_JSON,
	WS_RUN_TOUCH,
	WS_RUN_FINISH,
	WS_RUN_PROGRESS,
	WS_PROJECT_TOUCH,
	WS_KEY_GET,
	WS_KEY_INSERT,
	WS_KEY_UPDATE,
	WS_TAIL_GET,
	WS_CHUNK_PUT,
	WS_STATS,
	WS_SWEEP,
	WS_USER_UPSERT,
	WS_APIKEY_INSERT,
	WS_CODE_CLEAR,
	WS_PATCH_SIZE,
	WS_PATCH_PUT,
	WS__COUNT
};

enum job_kind { JOB_PUT, JOB_INGEST, JOB_HEARTBEAT, JOB_FINISH, JOB_SWEEP, JOB_KEY_ADD, JOB_PATCH, JOB_FN };

typedef struct wbs__job {
	struct wbs__job *next;
	int kind;
	const wbs__run_ref *ref;
	/* arguments */
	const wbs__run_fields *fields;
	int64_t user_id;
	const wbs__batch *batch;
	int crashed, exit_code;
	double seen_at; /* JOB_FINISH, crashed: the run's last sign of life (its heartbeat_at), or NaN */
	const char *user;
	const uint8_t *hash;
	const char *prefix;
	int (*fn)(wbs__store *s, struct wbs__job *j); /* JOB_FN: applied in the writer's transaction */
	void *arg;                                   /* JOB_FN: fn's argument */
	/* results */
	int created;
	uint64_t last_seq, applied, count;
	char state[16];
	int should_stop; /* JOB_INGEST, JOB_HEARTBEAT: the run is a sweep trial told to stop early */
	wbs__err err;
	int done;
	pthread_cond_t cond;
} wbs__job;

/* Scratch space of the writer for one chunk. */
typedef struct wbs__wscratch {
	int64_t steps[WB__TSZ_CHUNK_POINTS];
	double values[WB__TSZ_CHUNK_POINTS];
	uint8_t *enc;
	size_t enc_cap;
} wbs__wscratch;

struct wbs__store {
	wbs__store_opts opts;
	char *path;
	/* writer */
	sqlite3 *wdb;
	sqlite3_stmt *ws[WS__COUNT];
	wbs__wscratch *scratch;
	pthread_t writer;
	int writer_started;
	pthread_mutex_t mu; /* guards the queue, stopping, closed */
	pthread_cond_t work;
	wbs__job *head, *tail;
	int stopping; /* the writer exits once the queue is empty */
	int closed;   /* no new jobs accepted */
	int readonly; /* opened on a read-only data directory: no wdb, writes refused (guarded by mu) */
	int reopen_warned; /* writer thread: "writable but cannot open" was logged */
	/* readers */
	pthread_mutex_t rmu;
	pthread_cond_t rcond;
	wbs__reader *idle;
	unsigned nreaders;
	unsigned rgen;     /* reader generation: readers of an older one are closed when put back */
	unsigned rold;     /* readers of an older generation still borrowed */
	char *ro_uri;      /* while read-only: "file:PATH?immutable=1" for the readers, else NULL */
	/* early stopping: set before serving, read by the writer only (store_sweep.c) */
	wbs__sweep_judge_fn judge;
	void *judge_ctx;
};

double wbs__store_now(const wbs__store *s);

/* Map a SQLite result code (with the connection's message) into err; returns the wbs__st. */
int wbs__store_sqlerr(wbs__err *err, sqlite3 *db, int rc, const char *what);

/* Reader pool: a connection for one read operation. NULL with err set. */
wbs__reader *wbs__reader_get(wbs__store *s, wbs__err *err);
void wbs__reader_put(wbs__store *s, wbs__reader *r);
/* The reader's cached statement (reset, bindings cleared). NULL with err set. */
sqlite3_stmt *wbs__reader_stmt(wbs__reader *r, int which, wbs__err *err);

/* Queue a JOB_FN job running fn(s, j) (j->arg = arg) on the writer
 * connection inside the group transaction, and wait for it. fn returns a
 * wbs__st and sets j->err on failure. Returns the wbs__st with err. */
int wbs__store_submit_fn(wbs__store *s, int (*fn)(wbs__store *s, wbs__job *j), void *arg, wbs__err *err);

/* Prepare the writer's statements. */
int wbs__writer_prepare(wbs__store *s, wbs__err *err);

/* 1 when the data directory of db_path (or the file) cannot be written:
 * read-only mount, no permission, or a file system gone read-only. */
int wbs__dir_readonly(const char *db_path);
/* Apply one job inside the open transaction (store_write.c). Returns a wbs__st. */
int wbs__job_apply(wbs__store *s, wbs__job *j);

/*
 * store_ops.c: collecting content-addressed files (cas.h). A file is
 * named by the SHA-256 of its bytes, shared by every row naming the same
 * bytes, and unlinked once the last such row is gone: a delete collects the
 * hashes of what it removes (wbs__shaset_add, in its writer job) and, after
 * it commits, wbs__cas_gc unlinks those no row names any more.
 */
typedef struct wbs__shaset {
	char (*sha)[65];
	size_t n, cap;
} wbs__shaset;

/* The data directory (the database file's directory) into out. */
void wbs__store_dir(const wbs__store *s, char *out, size_t cap);
/* On the writer connection: add the hashes sql yields (its first column; ?1 bound to id). A wbs__st. */
int wbs__shaset_add(wbs__store *s, wbs__shaset *set, const char *sql, int64_t id, wbs__err *err);
void wbs__shaset_free(wbs__shaset *set);
/* Unlink, in a writer job, each file of set that no row names; *deleted (may be NULL) counts them. */
int wbs__cas_gc(wbs__store *s, wbs__cas kind, const wbs__shaset *set, uint64_t *deleted, wbs__err *err);
/* How many files of kind wbs__cas_gc has unlinked since the process started. */
uint64_t wbs__cas_deleted_total(wbs__cas kind);

/* store_media.c: apply a HISTOGRAM, IMAGE or TABLE record to run (the runs.id) on the writer connection. */
int wbs__media_apply(wbs__store *s, int64_t run, const struct wbs__media *m, wbs__err *err);
/* store_read.c: the runs.id of ref within an open read. */
int wbs__reader_run_id(wbs__reader *r, const wbs__run_ref *ref, int64_t *id, wbs__err *err);
/* store_artifact.c: parse a version selector "v<N>" into *n: 1, or 0 if sel is an alias. */
int wbs__art_sel_version(const char *sel, int64_t *n);
/* store_read.c: BEGIN a read transaction (one snapshot for several statements). A wbs__st. */
int wbs__reader_begin(wbs__reader *r, wbs__err *err);
/* store_read.c: the metric_keys.id of key of the run with runs.id run within an open read. */
int wbs__reader_key_id(wbs__reader *r, int64_t run, const char *key, int64_t *id, wbs__err *err);
/* store_read.c: wbs__sql_project_id through the reader's cached statement. */
int wbs__reader_project_id(wbs__reader *r, const char *entity, const char *project, int64_t *id, wbs__err *err);

/* store_sweep_stop.c: every trial of sweep sid with its curve of the metric, by num, on db: *t (*n
 * trials; t[i].pts point into *pts). Both malloc'd (NULL when empty), the caller frees them, also on
 * failure. A wbs__st. */
struct wbs__stop_trial;
struct wbs__stop_point;
int wbs__sweep_curves_load(sqlite3 *db, int64_t sid, struct wbs__stop_trial **t, size_t *n,
			   struct wbs__stop_point **pts, wbs__err *err);

#endif /* WB_SERVER_STORE_INT_H */

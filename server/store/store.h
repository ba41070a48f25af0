/*
 * store.h — everything the server keeps, behind one narrow interface.
 *
 * The HTTP layer talks to storage only through these functions, in terms of
 * runs, records and series; no SQL and no sqlite3 type crosses this line,
 * so a second backend (PostgreSQL) can be added by implementing this header
 * again. Only the store sources include sqlite3.h.
 *
 * Writes go through one writer thread that owns the only writable
 * connection. A caller's write call validates nothing (the caller has done
 * that already), queues a job and blocks until the job's transaction is
 * durable (or failed); the writer applies every queued job in one
 * transaction, each in its own savepoint, so one bad request fails alone
 * and a burst of requests costs one fsync (group commit).
 *
 * Reads use a pool of read-only connections (WAL readers never block the
 * writer and see only committed data).
 *
 * Errors: every function returns a wbs__st code and fills a wbs__err with a
 * one-line lowercase message suitable for the API's error body.
 *
 * Threads: a wbs__store is shared by all threads. Every function except
 * wbs__store_open/wbs__store_close may be called from any thread at any time
 * between them; wbs__store_close must be called once, after every caller has
 * returned.
 */
#ifndef WB_SERVER_STORE_H
#define WB_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"
#include "model/fields.h"
#include "model/query.h"
#include "util/buf.h"

typedef struct wbs__store wbs__store;

/* Unix seconds now. Tests substitute a fake clock. */
typedef double (*wbs__clock_fn)(void);

typedef struct wbs__store_opts {
	const char *dir;       /* data directory; it must exist; the database is dir/wb.db */
	double crash_after;    /* seconds without heartbeat before a running run is crashed (default 120) */
	double sweep_interval; /* seconds between crash sweeps (default 1; <0: never, tests call wbs__store_sweep) */
	wbs__clock_fn clock;    /* NULL: the wall clock */
	unsigned readers_max;  /* read connections open at most (default 32) */
} wbs__store_opts;

enum wbs__st {
	WBS__ST_OK = 0,
	WBS__ST_NOTFOUND,    /* 404 not_found */
	WBS__ST_BADARG,      /* 400 invalid_argument */
	WBS__ST_BADRECORD,   /* 400 invalid_record */
	WBS__ST_GAP,         /* 409 sequence_gap; err.expected is set */
	WBS__ST_FULL,        /* 507 insufficient_storage */
	WBS__ST_UNAVAILABLE, /* 503 unavailable: closing, read-only or i/o error */
	WBS__ST_NOMEM,       /* 500 internal */
	WBS__ST_INTERNAL,    /* 500 internal */
	WBS__ST_CONFLICT     /* 409 conflict: a name taken, a stale version */
};

typedef struct wbs__err {
	int st;
	uint64_t expected; /* WBS__ST_GAP: the seq the server expects next */
	char msg[256];
} wbs__err;

/* Names a run. All three are valid names (wb__name_valid); the caller checks. */
typedef struct wbs__run_ref {
	const char *entity, *project, *run_id;
} wbs__run_ref;

/* A run as stored. JSON members are JSON text; doubles are NaN when null. */
typedef struct wbs__run_row {
	char *entity, *project, *run_id, *name, *group, *job_type, *notes, *state;
	char *tags, *config, *summary, *metadata, *metric_defs; /* JSON text */
	int has_exit_code;
	int exit_code;
	double created_at, updated_at, heartbeat_at, finished_at;
	uint64_t last_seq;
	int64_t last_step; /* -1: no metrics yet */
} wbs__run_row;

typedef struct wbs__project_row {
	char *entity, *name;
	uint64_t run_count;
	double created_at, updated_at;
} wbs__project_row;

typedef struct wbs__metric_row {
	char *key;
	uint64_t count;
	int64_t first_step, last_step;
	double min, max, mean, last; /* min/max/mean skip NaN; NaN if every value is NaN */
} wbs__metric_row;

/* A downsampled (or, when few enough, raw) slice of one series. */
typedef struct wbs__history {
	size_t len;
	int64_t *step; /* step of the last point of each row */
	double *min, *max, *last;
	uint32_t *count;
	uint64_t total; /* points in [start, end] */
	int downsampled;
} wbs__history;

/* Open (creating and migrating) the store. */
int wbs__store_open(wbs__store **out, const wbs__store_opts *opts, wbs__err *err);

/* 1 while the store runs on a read-only data directory (opened so, and not
 * writable again yet): reads are served, writes answer WBS__ST_UNAVAILABLE. */
int wbs__store_readonly(wbs__store *s);
/* Stop the writer after it has committed every queued job, close every connection. Accepts NULL. */
void wbs__store_close(wbs__store *s);

/* ---- writes (block until durable) ---- */

/* Create or resume a run (creating its project); *created says which. */
int wbs__store_run_put(wbs__store *s, const wbs__run_ref *ref, const wbs__run_fields *f, int64_t user_id, int *created,
		      wbs__err *err);
/* Change fields of an existing run (name, notes, tags from the UI) without resuming it; NOTFOUND if absent. */
int wbs__store_run_patch(wbs__store *s, const wbs__run_ref *ref, const wbs__run_fields *f, wbs__err *err);
/* Apply a decoded ingest body. *last_seq: the run's last_seq after; *applied: frames applied;
 * *should_stop (may be NULL): the run is a sweep trial told to stop early (store_sweep.h). */
int wbs__store_ingest(wbs__store *s, const wbs__run_ref *ref, const wbs__batch *b, uint64_t *last_seq,
		     uint64_t *applied, int *should_stop, wbs__err *err);
/* Heartbeat; state receives the run's state after it (e.g. "running"); *should_stop (may be NULL) as ingest's. */
int wbs__store_heartbeat(wbs__store *s, const wbs__run_ref *ref, char state[16], int *should_stop, wbs__err *err);
/* Finish: crashed ? "crashed" : exit_code == 0 ? "finished" : "failed". seen_at (crashed only, NaN for
 * none): when the run was last seen alive, its heartbeat_at from then on (not later than now). */
int wbs__store_finish(wbs__store *s, const wbs__run_ref *ref, int crashed, int exit_code, double seen_at,
		      wbs__err *err);
/* Run the crash sweep now; *n (may be NULL) receives the runs marked crashed. */
int wbs__store_sweep(wbs__store *s, uint64_t *n, wbs__err *err);
/* Create user (if new) and an API key for it, given the key's SHA-256 and display prefix. */
int wbs__store_key_add(wbs__store *s, const char *user, const uint8_t hash[32], const char *prefix, wbs__err *err);

/* ---- reads ---- */

/* The user of a non-revoked key with this SHA-256, or WBS__ST_NOTFOUND. */
int wbs__store_key_user(wbs__store *s, const uint8_t hash[32], int64_t *user_id, wbs__err *err);
/* Number of non-revoked keys. */
int wbs__store_key_count(wbs__store *s, uint64_t *n, wbs__err *err);

int wbs__store_run_get(wbs__store *s, const wbs__run_ref *ref, wbs__run_row *out, wbs__err *err);
void wbs__run_row_free(wbs__run_row *r);

/* One page of a project's runs; *rows (n of them) freed with wbs__run_rows_free. */
int wbs__store_runs_list(wbs__store *s, const char *entity, const char *project, const wbs__runs_query *q,
			wbs__run_row **rows, size_t *n, uint64_t *total, wbs__err *err);
void wbs__run_rows_free(wbs__run_row *rows, size_t n);

/* One group of a grouped run list: the group's value (vtype says which
 * member holds it), its run count, and per aggregated
 * column (q->aggs order) the count, mean, min and max of its numeric values. */
typedef struct wbs__agg_row {
	uint64_t n; /* runs with a numeric value; 0: mean/min/max are NAN */
	double mean, min, max;
} wbs__agg_row;

enum wbs__gvtype { WBS__GV_NULL, WBS__GV_INT, WBS__GV_REAL, WBS__GV_TEXT };

typedef struct wbs__bucket_row {
	int vtype; /* wbs__gvtype */
	int64_t vint;
	double vreal;
	char *vtext;
	uint64_t count;
	wbs__agg_row agg[WBS__AGGS_MAX];
} wbs__bucket_row;

/* One page (q->limit, q->offset) of the groups of the runs matching q's
 * filters, by q->group_by (a run is in one group per tag when grouping by
 * tags), ordered by value with the no-value group last. *ngroups: all
 * groups; *nruns: matching runs. *rows freed with wbs__bucket_rows_free. */
int wbs__store_runs_group(wbs__store *s, const char *entity, const char *project, const wbs__runs_query *q,
			 wbs__bucket_row **rows, size_t *n, uint64_t *ngroups, uint64_t *nruns, wbs__err *err);
void wbs__bucket_rows_free(wbs__bucket_row *rows, size_t n);

int wbs__store_projects_list(wbs__store *s, wbs__project_row **rows, size_t *n, wbs__err *err);
void wbs__project_rows_free(wbs__project_row *rows, size_t n);

/* A run's metrics (including derived "_" series), sorted by key. */
int wbs__store_metrics_list(wbs__store *s, const wbs__run_ref *ref, wbs__metric_row **rows, size_t *n, wbs__err *err);
void wbs__metric_rows_free(wbs__metric_row *rows, size_t n);

/*
 * Points of key in steps [start, end] in at most nbuckets rows: one per
 * point when there are at most nbuckets, else M4 buckets (wb__downsample).
 */
int wbs__store_history(wbs__store *s, const wbs__run_ref *ref, const char *key, int64_t start, int64_t end,
		      uint32_t nbuckets, wbs__history *out, wbs__err *err);
/*
 * The same on the fixed grid of [start, end] in nbuckets (wb__bucket_of),
 * not narrowed to this series' own steps: rows of several series read over
 * one range then fall into the same buckets (a group's ranks, one of which
 * stopped early). Raw points still come one per row when few enough.
 */
int wbs__store_history_grid(wbs__store *s, const wbs__run_ref *ref, const char *key, int64_t start, int64_t end,
			   uint32_t nbuckets, wbs__history *out, wbs__err *err);
void wbs__history_free(wbs__history *h);

/*
 * Full-resolution reading of one series, chunk by chunk, inside one read
 * transaction (a consistent snapshot). Holds a read connection until
 * closed.
 */
typedef struct wbs__series_it wbs__series_it;
int wbs__store_series_open(wbs__store *s, const wbs__run_ref *ref, const char *key, wbs__series_it **out, wbs__err *err);
/* 1 and the next chunk's points (valid until the next call), 0 at the end, or -1 with err. */
int wbs__series_it_next(wbs__series_it *it, const int64_t **steps, const double **values, uint32_t *n, wbs__err *err);
/* Start again from the first chunk (same snapshot). */
void wbs__series_it_rewind(wbs__series_it *it);
void wbs__series_it_close(wbs__series_it *it);

/*
 * The bytes of a run's code patch name (the concatenation of its PATCH
 * records), appended to out. WBS__ST_NOTFOUND when the run or the patch
 * does not exist.
 */
int wbs__store_code_patch(wbs__store *s, const wbs__run_ref *ref, const char *name, wbs__buf *out, wbs__err *err);
/* ---- rich data: histograms, images, tables (store_media.c) ---- */

/* A row of a run's rich data, or (from wbs__store_media_keys) a key's summary. */
typedef struct wbs__media_row {
	char *key;
	char kind[12];          /* "histogram", "image", "table" */
	int64_t step;
	double time;            /* NaN if unknown */
	uint8_t *data;          /* histogram: its body (schema/wire.md); table: JSON text; image: NULL */
	size_t len;
	char sha256[65];        /* image */
	char mime[16];          /* image */
	uint32_t width, height; /* image */
	uint64_t bytes;         /* image */
	char *caption;          /* image, "" when none */
	uint64_t count;         /* wbs__store_media_keys: values of the key */
	int64_t first_step, last_step;
} wbs__media_row;
void wbs__media_rows_free(wbs__media_row *rows, size_t n);

/*
 * Store the bytes of every image of b as a content-addressed file
 * <dir>/media/<sha256[0:2]>/<sha256> (temp file, fsync, rename, fsync of
 * the directory), before the records are applied; a file that is there
 * already is kept. Called by the ingest handler's thread, not the writer.
 */
int wbs__store_media_blobs(wbs__store *s, const wbs__batch *b, wbs__err *err);
/* The kinds and keys of a run's rich data, with count and step range, sorted by kind and key. */
int wbs__store_media_keys(wbs__store *s, const wbs__run_ref *ref, wbs__media_row **rows, size_t *n, wbs__err *err);
/*
 * The values of one kind ("histogram", "image", "table") and key of a run
 * with steps in [start, end], in step order; when more than samples (> 0)
 * match, samples of them evenly spaced, first and last included. *total:
 * how many matched.
 */
int wbs__store_media_values(wbs__store *s, const wbs__run_ref *ref, const char *kind, const char *key, int64_t start,
			    int64_t end, uint32_t samples, wbs__media_row **rows, size_t *n, uint64_t *total,
			    wbs__err *err);
/* The file of an image of the run with this SHA-256 (hex): *path (malloc'd), its mime and size. NOTFOUND if the run has no such image. */
int wbs__store_media_file(wbs__store *s, const wbs__run_ref *ref, const char *sha256, char **path, char mime[16],
			  wbs__err *err);

/* Set err to st with a printf-style message; returns st. */
int wbs__err_set(wbs__err *err, int st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* WB_SERVER_STORE_H */

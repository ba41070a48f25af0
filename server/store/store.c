/*
 * store.c — the SQLite store: opening and migrating the database, the
 * writer thread with group commit, and the pool of read connections.
 *
 * Why one writer thread. SQLite allows one writer at a time; with several
 * threads writing, each waits on the lock and users see "database is
 * locked" (the failure MLflow and Aim users report). Here HTTP workers never
 * write: they validate and decode, queue a job, and wait on a condition
 * variable. The writer takes every queued job at once, opens one
 * transaction (BEGIN IMMEDIATE), applies each job inside its own SAVEPOINT
 * — a job that fails is rolled back to its savepoint and answered with its
 * error while the others go on — then COMMITs once and answers all of them.
 * With synchronous=FULL a commit is one fsync of the WAL, so under load
 * many requests share one fsync, and a request is answered only after its
 * data is durable.
 *
 * Some SQLite errors (disk full, I/O error) can roll back the whole
 * transaction, not only the statement; the writer checks for that and then
 * fails every job of the group, since none of them is durable.
 *
 * The crash sweep (runs without a heartbeat for crash_after seconds become
 * "crashed") is run by the writer about every sweep_interval seconds, in a
 * group of its own or along with queued jobs.
 *
 * Migrations: schema/migrations/NNN_name.sql are embedded in the binary;
 * PRAGMA user_version holds the last applied number. At open, the missing
 * ones are applied in one transaction together with the user_version bump,
 * so a crash mid-migration leaves the previous version intact. A database
 * newer than the binary is refused.
 *
 * A read-only data directory. The kernel refuses to remount a file system
 * read-only while a process holds a file on it open for writing, so a data
 * directory is found read-only at start (a volume mounted ro, a snapshot,
 * a sandbox without the path in ReadWritePaths), or it turns read-only
 * under a live server when the file system does it on errors (then writes
 * fail with EROFS, mapped in wbs__store_sqlerr). At start the store then
 * opens without a writer connection: SQLite cannot open a WAL database
 * whose -wal/-shm files cannot be created, so the readers open it with
 * immutable=1 (nothing can change it while nobody can write). Every write
 * is answered "the data directory is read-only" (503); the writer retries
 * at each job and each crash sweep (about once a second) whether the
 * directory is writable again, and then opens its connection, replaces the
 * immutable readers (bumping the reader generation and waiting until the
 * old ones are back, since an immutable reader would not see a checkpoint)
 * and takes writes, without a restart.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/migrations.h"
#include "util/log.h"

#define READERS_DEFAULT 32u
#define BUSY_TIMEOUT_MS 10000

static const char readonly_msg[] = "the data directory is read-only: writes are refused until it is writable again";

int wbs__err_set(wbs__err *err, int st, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return st;
	err->st = st;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return st;
}

static double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double wbs__store_now(const wbs__store *s) { return s->opts.clock ? s->opts.clock() : wall_clock(); }

/*
 * 1 when the directory of db_path, or the database file, cannot be written
 * (errno tells why). access(2) sees a read-only mount or missing
 * permissions but not ext4's emergency read-only state after errors, so a
 * writable-looking directory is probed by creating an unnamed file in it
 * (O_TMPFILE: nothing is left behind; a file system without it counts as
 * writable).
 */
int wbs__dir_readonly(const char *db_path)
{
	char dir[4200], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", db_path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (access(slash ? dir : ".", W_OK) || (access(db_path, F_OK) == 0 && access(db_path, W_OK)))
		return errno == EROFS || errno == EACCES || errno == EPERM;
	fd = open(slash ? dir : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EROFS;
}

int wbs__store_sqlerr(wbs__err *err, sqlite3 *db, int rc, const char *what)
{
	const char *m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	char qw[256];

	wbs__log_quote(qw, sizeof(qw), what);
	if (db && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) &&
	    sqlite3_db_filename(db, "main") && wbs__dir_readonly(sqlite3_db_filename(db, "main"))) {
		/* The file system went read-only under us (ext4 errors=remount-ro, ...).
		 * sqlite3_system_errno() is no help: by now errno has moved on. */
		wbs__log(WBS__LOG_ERROR, "data directory is read-only", "what=%s sqlite=%d", qw, rc);
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "%s", readonly_msg);
	}
	switch (rc & 0xff) {
	case SQLITE_FULL:
		wbs__log(WBS__LOG_ERROR, "disk full", "what=%s", qw);
		return wbs__err_set(err, WBS__ST_FULL, "the disk is full");
	case SQLITE_READONLY:
		wbs__log(WBS__LOG_ERROR, "database is read-only", "what=%s", qw);
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "the database is read-only");
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		wbs__log(WBS__LOG_ERROR, "database i/o error", "what=%s sqlite=%d", qw, rc);
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "database i/o error");
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		wbs__log(WBS__LOG_ERROR, "database busy", "what=%s", qw);
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "the database is busy");
	case SQLITE_NOMEM:
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	default:
		wbs__log(WBS__LOG_ERROR, "database error", "what=%s sqlite=%d", qw, rc);
		return wbs__err_set(err, WBS__ST_INTERNAL, "database error in %s: %s", what, m);
	}
}

/* ---- migrations ---- */

static int migrate(sqlite3 *db, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, version = 0, ret = WBS__ST_OK, in_tx = 0;
	char sql[64];

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, db, rc, "migrate");
		goto done;
	}
	in_tx = 1;
	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, db, rc, "migrate");
		goto done;
	}
	version = sqlite3_column_int(st, 0);
	if (version < 0 || (size_t)version > wbs__migrations_count) {
		ret = wbs__err_set(err, WBS__ST_INTERNAL,
				  "the database has schema version %d but this wb knows only up to %zu: upgrade wb",
				  version, wbs__migrations_count);
		goto done;
	}
	for (size_t i = (size_t)version; i < wbs__migrations_count; i++) {
		char *msg = NULL;
		rc = sqlite3_exec(db, wbs__migrations[i].sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			ret = wbs__err_set(err, WBS__ST_INTERNAL, "migration %s failed: %s", wbs__migrations[i].name,
					  msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			goto done;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", wbs__migrations[i].version);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = wbs__store_sqlerr(err, db, rc, "migrate");
			goto done;
		}
		wbs__log(WBS__LOG_INFO, "applied migration", "name=%s", wbs__migrations[i].name);
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = wbs__store_sqlerr(err, db, rc, "migrate");
		goto done;
	}
	in_tx = 0;
done:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* ---- reader pool ---- */

static const char *const reader_sql[RS__COUNT] = {
	[RS_KEY_USER] = "SELECT user_id FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
	[RS_KEY_COUNT] = "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL",
	[RS_RUN_GET] = "SELECT p.entity, p.name, r.run_id, r.name, r.grp, r.job_type, r.notes, r.state, r.tags, "
		       "r.config, r.summary, r.metadata, r.metric_defs, r.exit_code, r.created_at, r.updated_at, "
		       "r.heartbeat_at, r.finished_at, r.last_seq, r.last_step "
		       "FROM runs r JOIN projects p ON p.id = r.project_id "
		       "WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
	[RS_RUN_ID] = "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id "
		      "WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
	[RS_KEY_ID] = "SELECT id FROM metric_keys WHERE run_id = ?1 AND key = ?2",
	[RS_CHUNK_METAS] = "SELECT chunk_no, step_min, step_max, n, vmin, vmax, vlast_bits FROM chunks "
			   "WHERE key_id = ?1 ORDER BY chunk_no",
	[RS_CHUNK_DATA] = "SELECT data FROM chunks WHERE key_id = ?1 AND chunk_no = ?2",
	[RS_METRICS] = "SELECT key, count, first_step, last_step, vmin, vmax, vsum, nvalid, last_bits "
		       "FROM metric_keys WHERE run_id = ?1 ORDER BY key",
	[RS_PROJECTS] = "SELECT p.entity, p.name, p.created_at, p.updated_at, "
			"(SELECT count(*) FROM runs r WHERE r.project_id = p.id) "
			"FROM projects p ORDER BY p.entity, p.name",
	[RS_PROJECT_ID] = "SELECT id FROM projects WHERE entity = ?1 AND name = ?2",
	[RS_PATCH_CHUNKS] = "SELECT data FROM code_patches WHERE run_id = ?1 AND name = ?2 ORDER BY id",
	/* blob possession (store_artifact.c, wbs__blob_usable): asked once per blob of a check or commit */
	[RS_BLOB_OWNER] = "SELECT 1 FROM blob_owners WHERE sha256 = ?1 AND user_id = ?2",
	/* a reference (ref not null) names a hash nobody checked: it holds no bytes */
	[RS_BLOB_HOLDERS] = "SELECT DISTINCT p.id, p.entity, p.name FROM artifact_files f "
			    "JOIN artifact_versions v ON v.id = f.version_id JOIN artifacts a ON a.id = v.artifact_id "
			    "JOIN projects p ON p.id = a.project_id "
			    "WHERE f.sha256 = ?1 AND f.ref IS NULL AND p.id > ?2 ORDER BY p.id LIMIT ?3",
};

static void reader_close(wbs__reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < RS__COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

wbs__reader *wbs__reader_get(wbs__store *s, wbs__err *err)
{
	wbs__reader *r = NULL;
	int rc;

	unsigned gen;
	const char *uri;

	pthread_mutex_lock(&s->rmu);
	while (!s->idle && s->nreaders >= s->opts.readers_max)
		pthread_cond_wait(&s->rcond, &s->rmu);
	if (s->idle) {
		r = s->idle;
		s->idle = r->next;
		pthread_mutex_unlock(&s->rmu);
		return r;
	}
	s->nreaders++;
	gen = s->rgen;
	uri = s->ro_uri;
	pthread_mutex_unlock(&s->rmu);

	r = calloc(1, sizeof(*r));
	if (!r) {
		wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto fail;
	}
	r->gen = gen;
	/* uri is freed only by the writer after every reader of this generation is back. */
	rc = uri ? sqlite3_open_v2(uri, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL)
		 : sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		wbs__store_sqlerr(err, r->db, rc, "open reader");
		goto fail;
	}
	sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
	return r;
fail:
	pthread_mutex_lock(&s->rmu);
	s->nreaders--;
	if (gen != s->rgen)
		s->rold--;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rmu);
	reader_close(r);
	return NULL;
}

void wbs__reader_put(wbs__store *s, wbs__reader *r)
{
	if (!r)
		return;
	/*
	 * A reader must come back with no transaction open, and with no
	 * statement left mid-step: a stepped statement pins its WAL snapshot,
	 * and the next user of this connection would read stale data.
	 */
	for (int i = 0; i < RS__COUNT; i++)
		if (r->st[i])
			sqlite3_reset(r->st[i]);
	if (!sqlite3_get_autocommit(r->db))
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&s->rmu);
	if (r->gen != s->rgen) {
		/* Opened before the data directory became writable again: retire it. */
		s->nreaders--;
		s->rold--;
		pthread_cond_broadcast(&s->rcond);
		pthread_mutex_unlock(&s->rmu);
		reader_close(r);
		return;
	}
	r->next = s->idle;
	s->idle = r;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rmu);
}

sqlite3_stmt *wbs__reader_stmt(wbs__reader *r, int which, wbs__err *err)
{
	int rc;

	if (!r->st[which]) {
		rc = sqlite3_prepare_v3(r->db, reader_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &r->st[which], NULL);
		if (rc != SQLITE_OK) {
			wbs__store_sqlerr(err, r->db, rc, "prepare");
			return NULL;
		}
	}
	sqlite3_reset(r->st[which]);
	sqlite3_clear_bindings(r->st[which]);
	return r->st[which];
}

/* ---- writer ---- */

static int exec_simple(wbs__store *s, const char *sql, wbs__err *err)
{
	int rc = sqlite3_exec(s->wdb, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? WBS__ST_OK : wbs__store_sqlerr(err, s->wdb, rc, sql);
}

/* Close the writer connection and its statements (writer thread, or open/close). */
static void writer_close_db(wbs__store *s)
{
	for (int i = 0; i < WS__COUNT; i++) {
		sqlite3_finalize(s->ws[i]);
		s->ws[i] = NULL;
	}
	if (s->wdb && sqlite3_close(s->wdb) != SQLITE_OK)
		wbs__log(WBS__LOG_ERROR, "database did not close cleanly", "error=%s", sqlite3_errmsg(s->wdb));
	s->wdb = NULL;
}

/* Open the writer connection: WAL, pragmas, migrations, statements. On
 * failure the connection is closed again. */
static int writer_open(wbs__store *s, wbs__err *err)
{
	int rc, st;

	rc = sqlite3_open_v2(s->path, &s->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		st = wbs__store_sqlerr(err, s->wdb, rc, "open database");
		snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", s->path,
			 s->wdb ? sqlite3_errmsg(s->wdb) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->wdb, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->wdb, 1);
	{
		sqlite3_stmt *q = NULL;
		int wal = 0;
		rc = sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode = WAL", -1, &q, NULL);
		if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
			wal = sqlite3_stricmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
		sqlite3_finalize(q);
		if (!wal) {
			st = wbs__err_set(err, WBS__ST_UNAVAILABLE, "cannot switch %s to wal mode", s->path);
			goto fail;
		}
	}
	if ((st = exec_simple(s, "PRAGMA synchronous = FULL", err)) ||
	    (st = exec_simple(s, "PRAGMA foreign_keys = ON", err)))
		goto fail;
	if ((st = migrate(s->wdb, err)))
		goto fail;
	if ((st = wbs__writer_prepare(s, err)))
		goto fail;
	return WBS__ST_OK;
fail:
	writer_close_db(s);
	return st;
}

/*
 * Writer thread, while read-only: if the data directory is writable again,
 * open the writer connection, retire the immutable readers (wait, at most
 * 10 s, until every reader opened before is back) and leave read-only
 * mode. Returns 0 when writes can go on, -1 when still read-only.
 */
static int writer_reopen(wbs__store *s)
{
	wbs__err e = {0};
	wbs__reader *idle;
	struct timespec until;
	char *uri;
	int waited = 0;
	char qm[300];

	if (wbs__dir_readonly(s->path))
		return -1;
	if (writer_open(s, &e) != WBS__ST_OK) {
		if (!s->reopen_warned)
			wbs__log(WBS__LOG_WARN, "data directory writable but the database is not", "error=%s",
				wbs__log_quote(qm, sizeof(qm), e.msg));
		s->reopen_warned = 1;
		return -1;
	}
	s->reopen_warned = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&s->rmu);
	s->rgen++;
	uri = s->ro_uri;
	s->ro_uri = NULL;
	idle = s->idle;
	s->idle = NULL;
	for (wbs__reader *r = idle; r; r = r->next)
		s->nreaders--;
	s->rold = s->nreaders; /* every reader still out is of an older generation */
	pthread_cond_broadcast(&s->rcond); /* room for new readers */
	while (s->rold > 0 && !waited)
		waited = pthread_cond_timedwait(&s->rcond, &s->rmu, &until) == ETIMEDOUT;
	if (s->rold > 0)
		s->ro_uri = uri; /* still in use by a reader being opened: keep it, try again later */
	pthread_mutex_unlock(&s->rmu);
	while (idle) {
		wbs__reader *next = idle->next;
		reader_close(idle);
		idle = next;
	}
	if (s->ro_uri) {
		wbs__log(WBS__LOG_WARN, "readers still busy: staying read-only for now", NULL);
		writer_close_db(s);
		return -1;
	}
	free(uri);
	pthread_mutex_lock(&s->mu);
	s->readonly = 0;
	pthread_mutex_unlock(&s->mu);
	wbs__log(WBS__LOG_INFO, "data directory is writable again: taking writes", NULL);
	return 0;
}

/*
 * Apply jobs[0..n) (and a crash sweep if sweep) in one transaction and fill
 * each job's err. Called on the writer thread only, without s->mu held.
 */
static void run_group(wbs__store *s, wbs__job *jobs, int sweep)
{
	wbs__err gerr = {0};
	wbs__job sweep_job;
	wbs__job *j;
	int st;

	memset(&sweep_job, 0, sizeof(sweep_job));
	sweep_job.kind = JOB_SWEEP;
	if (s->readonly && writer_reopen(s) != 0) {
		for (j = jobs; j; j = j->next)
			wbs__err_set(&j->err, WBS__ST_UNAVAILABLE, "%s", readonly_msg);
		return;
	}
	st = exec_simple(s, "BEGIN IMMEDIATE", &gerr);
	if (st != WBS__ST_OK)
		goto fail_all;
	for (j = jobs; j; j = j->next) {
		st = exec_simple(s, "SAVEPOINT job", &j->err);
		if (st == WBS__ST_OK) {
			st = wbs__job_apply(s, j);
			j->err.st = st;
		}
		if (st != WBS__ST_OK) {
			if (sqlite3_get_autocommit(s->wdb)) {
				/* SQLite rolled back the whole transaction: nothing of the group survives. */
				gerr = j->err;
				goto fail_all;
			}
			sqlite3_exec(s->wdb, "ROLLBACK TO job", NULL, NULL, NULL);
		}
		sqlite3_exec(s->wdb, "RELEASE job", NULL, NULL, NULL);
	}
	if (sweep) {
		if (exec_simple(s, "SAVEPOINT job", &gerr) == WBS__ST_OK) {
			if (wbs__job_apply(s, &sweep_job) != WBS__ST_OK && !sqlite3_get_autocommit(s->wdb))
				sqlite3_exec(s->wdb, "ROLLBACK TO job", NULL, NULL, NULL);
			if (!sqlite3_get_autocommit(s->wdb))
				sqlite3_exec(s->wdb, "RELEASE job", NULL, NULL, NULL);
		}
		if (sqlite3_get_autocommit(s->wdb))
			goto fail_all;
	}
	st = exec_simple(s, "COMMIT", &gerr);
	if (st != WBS__ST_OK)
		goto fail_all;
	if (sweep_job.count)
		wbs__log(WBS__LOG_INFO, "marked runs crashed", "count=%llu", (unsigned long long)sweep_job.count);
	return;
fail_all:
	if (!sqlite3_get_autocommit(s->wdb))
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
	if (gerr.st == WBS__ST_OK)
		wbs__err_set(&gerr, WBS__ST_INTERNAL, "transaction failed");
	/* Every job of a failed group fails with the group's error unless it had its own. */
	for (j = jobs; j; j = j->next)
		if (j->err.st == WBS__ST_OK)
			j->err = gerr;
}

static void *writer_main(void *arg)
{
	wbs__store *s = arg;
	struct timespec next_sweep, now;
	double iv = s->opts.sweep_interval;

	clock_gettime(CLOCK_MONOTONIC, &next_sweep);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		wbs__job *jobs;
		int sweep = 0;

		while (!s->head && !s->stopping) {
			if (iv < 0) {
				pthread_cond_wait(&s->work, &s->mu);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > next_sweep.tv_sec ||
			    (now.tv_sec == next_sweep.tv_sec && now.tv_nsec >= next_sweep.tv_nsec)) {
				sweep = 1;
				break;
			}
			pthread_cond_timedwait(&s->work, &s->mu, &next_sweep);
		}
		if (!s->head && s->stopping)
			break;
		if (iv >= 0 && !sweep) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			sweep = now.tv_sec > next_sweep.tv_sec ||
				(now.tv_sec == next_sweep.tv_sec && now.tv_nsec >= next_sweep.tv_nsec);
		}
		if (sweep) {
			clock_gettime(CLOCK_MONOTONIC, &next_sweep);
			next_sweep.tv_sec += (time_t)iv;
			next_sweep.tv_nsec += (long)((iv - floor(iv)) * 1e9);
			if (next_sweep.tv_nsec >= 1000000000L) {
				next_sweep.tv_sec++;
				next_sweep.tv_nsec -= 1000000000L;
			}
		}
		jobs = s->head;
		s->head = s->tail = NULL;
		pthread_mutex_unlock(&s->mu);

		run_group(s, jobs, sweep);

		pthread_mutex_lock(&s->mu);
		while (jobs) {
			wbs__job *next = jobs->next;
			jobs->done = 1;
			pthread_cond_signal(&jobs->cond);
			jobs = next; /* the job may be gone as soon as we unlock */
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queue j and wait for its result. Returns j->err.st. */
static int submit(wbs__store *s, wbs__job *j, wbs__err *err)
{
	int st;

	j->next = NULL;
	j->done = 0;
	memset(&j->err, 0, sizeof(j->err));
	pthread_cond_init(&j->cond, NULL);
	pthread_mutex_lock(&s->mu);
	if (s->closed) {
		pthread_mutex_unlock(&s->mu);
		pthread_cond_destroy(&j->cond);
		return wbs__err_set(err, WBS__ST_UNAVAILABLE, "the server is shutting down");
	}
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->work);
	while (!j->done)
		pthread_cond_wait(&j->cond, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_cond_destroy(&j->cond);
	st = j->err.st;
	if (err)
		*err = j->err;
	return st;
}

int wbs__store_run_put(wbs__store *s, const wbs__run_ref *ref, const wbs__run_fields *f, int64_t user_id, int *created,
		      wbs__err *err)
{
	wbs__job j = {.kind = JOB_PUT, .ref = ref, .fields = f, .user_id = user_id};
	int st = submit(s, &j, err);
	if (created)
		*created = j.created;
	return st;
}

int wbs__store_ingest(wbs__store *s, const wbs__run_ref *ref, const wbs__batch *b, uint64_t *last_seq,
		     uint64_t *applied, int *should_stop, wbs__err *err)
{
	wbs__job j = {.kind = JOB_INGEST, .ref = ref, .batch = b};
	int st = wbs__store_media_blobs(s, b, err);

	if (st)
		return st;
	st = submit(s, &j, err);
	if (last_seq)
		*last_seq = j.last_seq;
	if (applied)
		*applied = j.applied;
	if (should_stop)
		*should_stop = j.should_stop;
	return st;
}

int wbs__store_run_patch(wbs__store *s, const wbs__run_ref *ref, const wbs__run_fields *f, wbs__err *err)
{
	wbs__job j = {.kind = JOB_PATCH, .ref = ref, .fields = f};
	return submit(s, &j, err);
}

int wbs__store_heartbeat(wbs__store *s, const wbs__run_ref *ref, char state[16], int *should_stop, wbs__err *err)
{
	wbs__job j = {.kind = JOB_HEARTBEAT, .ref = ref};
	int st = submit(s, &j, err);
	if (state)
		memcpy(state, j.state, sizeof(j.state));
	if (should_stop)
		*should_stop = j.should_stop;
	return st;
}

int wbs__store_finish(wbs__store *s, const wbs__run_ref *ref, int crashed, int exit_code, double seen_at,
		      wbs__err *err)
{
	wbs__job j = {.kind = JOB_FINISH, .ref = ref, .crashed = crashed, .exit_code = exit_code, .seen_at = seen_at};
	return submit(s, &j, err);
}

int wbs__store_submit_fn(wbs__store *s, int (*fn)(wbs__store *s, wbs__job *j), void *arg, wbs__err *err)
{
	wbs__job j = {.kind = JOB_FN, .fn = fn, .arg = arg};
	return submit(s, &j, err);
}

int wbs__store_sweep(wbs__store *s, uint64_t *n, wbs__err *err)
{
	wbs__job j = {.kind = JOB_SWEEP};
	int st = submit(s, &j, err);
	if (n)
		*n = j.count;
	return st;
}

int wbs__store_key_add(wbs__store *s, const char *user, const uint8_t hash[32], const char *prefix, wbs__err *err)
{
	wbs__job j = {.kind = JOB_KEY_ADD, .user = user, .hash = hash, .prefix = prefix};
	return submit(s, &j, err);
}

/* ---- open / close ---- */

/*
 * Open on a read-only data directory (see the top of this file): readers
 * use the database with immutable=1; it must exist with this binary's
 * schema, since nothing can be migrated. The writer thread starts anyway
 * and refuses writes until the directory is writable.
 */
static int open_readonly(wbs__store *s, wbs__err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	wbs__reader *r;
	sqlite3_stmt *st = NULL;
	size_t n = strlen(s->path), k = 0;
	int64_t version = -1;
	char *uri, q[600];
	int ret = WBS__ST_OK;

	uri = malloc(n * 3 + sizeof("file:?immutable=1"));
	if (!uri)
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	k = (size_t)sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)s->path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/._-~", *p)) {
			uri[k++] = (char)*p;
		} else {
			uri[k++] = '%';
			uri[k++] = hex[*p >> 4];
			uri[k++] = hex[*p & 15];
		}
	}
	memcpy(uri + k, "?immutable=1", sizeof("?immutable=1"));
	s->ro_uri = uri;
	if (!(r = wbs__reader_get(s, err)))
		return err->st == WBS__ST_OK ? WBS__ST_UNAVAILABLE : err->st;
	if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	if (version < 0 || (uint64_t)version != (uint64_t)wbs__migrations_count)
		ret = wbs__err_set(err, WBS__ST_UNAVAILABLE,
				   "the data directory is read-only and %s has schema version %lld, this server needs %zu",
				   s->path, (long long)version, wbs__migrations_count);
	else {
		s->readonly = 1;
		wbs__log(WBS__LOG_WARN, "data directory is read-only: serving reads, refusing writes until it is writable",
			"db=%s", wbs__log_quote(q, sizeof(q), s->path));
	}
	return ret;
}

int wbs__store_readonly(wbs__store *s)
{
	int ro;
	pthread_mutex_lock(&s->mu);
	ro = s->readonly;
	pthread_mutex_unlock(&s->mu);
	return ro;
}

int wbs__store_open(wbs__store **out, const wbs__store_opts *opts, wbs__err *err)
{
	wbs__store *s = NULL;
	size_t n;
	int st;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	s->opts = *opts;
	if (!(s->opts.crash_after > 0))
		s->opts.crash_after = 120;
	if (s->opts.sweep_interval == 0)
		s->opts.sweep_interval = 1;
	if (!s->opts.readers_max)
		s->opts.readers_max = READERS_DEFAULT;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	pthread_cond_init(&s->rcond, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->work, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->closed = 1; /* until the writer runs */
	n = strlen(opts->dir) + sizeof("/wb.db");
	s->path = malloc(n);
	if (!s->path) {
		st = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(s->path, n, "%s/wb.db", opts->dir);
	s->scratch = calloc(1, sizeof(*s->scratch));
	if (!s->scratch) {
		st = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto fail;
	}
	s->scratch->enc_cap = wb__tsz_bound(WB__TSZ_CHUNK_POINTS);
	s->scratch->enc = malloc(s->scratch->enc_cap);
	if (!s->scratch->enc) {
		st = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto fail;
	}

	if ((st = writer_open(s, err)) != WBS__ST_OK) {
		if (!wbs__dir_readonly(s->path) || access(s->path, R_OK) != 0 || (st = open_readonly(s, err)) != WBS__ST_OK)
			goto fail;
	}
	s->closed = 0;
	if (pthread_create(&s->writer, NULL, writer_main, s)) {
		st = wbs__err_set(err, WBS__ST_INTERNAL, "cannot start the writer thread");
		goto fail;
	}
	s->writer_started = 1;
	*out = s;
	return WBS__ST_OK;
fail:
	wbs__store_close(s);
	return st;
}

void wbs__store_close(wbs__store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	s->stopping = 1;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	while (s->idle) {
		wbs__reader *r = s->idle;
		s->idle = r->next;
		reader_close(r);
	}
	writer_close_db(s);
	free(s->ro_uri);
	if (s->scratch)
		free(s->scratch->enc);
	free(s->scratch);
	free(s->path);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->rmu);
	pthread_cond_destroy(&s->rcond);
	pthread_cond_destroy(&s->work);
	free(s);
}

/*
 * run.c — a run's life: wb_run_init, wb_run_log, summaries, metric definitions,
 * wb_run_finish, and the accessors.
 *
 * wb_run_init decides where the run's records go and starts the machinery:
 *
 *   settings → run id → <dir>/run-<id>/ (lock held for the run's life)
 *     → records.wbl (scanned and repaired when resuming) → run.json
 *     → ring ← RUN record → writer thread → uploader thread (online)
 *
 * Resuming (a run id was given): if the run log is here, continue it, from
 * its next seq and its last step. If it is not, an online run asks the
 * server once, within WB__RESUME_TIMEOUT_MS, where the run stopped and
 * starts a new local log at last_seq + 1; if the server cannot be reached
 * wb_run_init fails, because guessing would make seqs collide with what the
 * server already has. An offline run with an unknown id starts at seq 1 (a
 * new run with a chosen id).
 *
 * wb_run_log is the hot path (see the comment above it). Everything else that
 * records something (config, summary, define, finish) builds a JSON payload
 * off the lock and pushes it through the same ring, so the run log keeps
 * the order in which the trainer did things.
 *
 * wb_run_finish pushes FINISH, lets the writer drain and fdatasync, then gives
 * the uploader until finish_timeout_ms (counted from the call) to get
 * everything acknowledged. It never waits longer: what is not acknowledged
 * stays in the run log for `wb sync`, and the caller gets WB_ETIMEOUT.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact.h"
#include "error.h"
#include "gitcap.h"
#include "json.h"
#include "meta.h"
#include "names.h"
#include "runlog.h"
#include "sweep.h"
#include "tbfollow.h"
#include "upload.h"
#include "util.h"
#include "wire_media.h"

#define NEW_ID_TRIES 8

/* ---- pushing records ---- */

static int run_dropped(wb_run *run)
{
	if (!atomic_exchange(&run->warned_full, 1))
		wb__warn("the buffer stayed full for %u ms: dropping records (run %s; see wb_run_dropped)",
			 WB__FULL_WAIT_MS, run->id);
	return wb__error(WB_EFULL, "the buffer stayed full for %u ms: the record was dropped", WB__FULL_WAIT_MS);
}

static int too_large(wb_run *run, size_t len)
{
	return wb__error(WB_EINVAL, "a record of %zu bytes is larger than half the %zu-byte buffer: raise buffer_bytes",
			 len, run->ring.cap);
}

int wb__run_push(wb_run *run, uint8_t type, const void *payload, size_t len)
{
	uint8_t *p;
	int rc;

	if (len > wb__ring_max_record(&run->ring) || len > WB__FRAME_MAX_PAYLOAD)
		return too_large(run, len);
	wb__ring_lock(&run->ring);
	rc = wb__ring_reserve(&run->ring, type, (uint32_t)len, &p);
	if (rc == WB_OK) {
		if (len)
			memcpy(p, payload, len);
		wb__ring_commit(&run->ring);
	}
	wb__ring_unlock(&run->ring);
	if (rc == WB_EFULL)
		return run_dropped(run);
	return rc;
}

int wb__run_push_json(wb_run *run, uint8_t type, const cJSON *obj)
{
	char *json = NULL;
	size_t len;
	int rc;

	if ((rc = wb__json_print(obj, &json, &len)))
		return rc;
	/* cJSON prints strings byte for byte; the server refuses a record that
	 * is not UTF-8, which would stop the run's upload, so refuse it here. */
	if (!wb__utf8_valid(json, len))
		rc = wb__error(WB_EINVAL, "a string is not valid utf-8");
	else
		rc = wb__run_push(run, type, json, len);
	free(json);
	return rc;
}

/*
 * The step rule and the ring push of every record that has a step
 * (metrics, histograms, images, tables), in one place. Inlined into
 * wb_run_log (and into wb__run_push_at for the others) so that the hot
 * path pays no call: under the lock, the step check, a reservation in the
 * ring, fill encoding straight into it, a release store.
 */
static inline __attribute__((always_inline)) int push_at(wb_run *run, uint8_t type, size_t size, int64_t step,
							 wb__step_auto rule, double t, wb__run_fill fill,
							 const void *arg)
{
	int64_t s;
	uint8_t *p;
	int rc;

	if (__builtin_expect(step < WB_STEP_AUTO, 0))
		return wb__error(WB_EINVAL, "step %" PRId64 " is negative", step);
	if (__builtin_expect(size > wb__ring_max_record(&run->ring) || size > WB__FRAME_MAX_PAYLOAD, 0))
		return too_large(run, size);
	wb__ring_lock(&run->ring);
	if (step == WB_STEP_AUTO) {
		if (rule == WB__STEP_SAME) {
			s = run->last_step < 0 ? 0 : run->last_step;
		} else if (__builtin_expect(run->last_step == INT64_MAX, 0)) {
			wb__ring_unlock(&run->ring);
			return wb__error(WB_EINVAL, "the step cannot grow past INT64_MAX");
		} else {
			s = run->last_step + 1;
		}
	} else if (__builtin_expect(step < run->last_step, 0)) {
		s = run->last_step;
		wb__ring_unlock(&run->ring);
		return wb__error(WB_EINVAL, "step %" PRId64 " is below the last step %" PRId64, step, s);
	} else {
		s = step;
	}
	rc = wb__ring_reserve(&run->ring, type, (uint32_t)size, &p);
	if (__builtin_expect(rc == WB_OK, 1)) {
		fill(p, s, t, arg);
		wb__ring_commit(&run->ring);
		run->last_step = s;
		atomic_store_explicit(&run->step_pub, s, memory_order_relaxed);
	}
	wb__ring_unlock(&run->ring);
	if (__builtin_expect(rc != WB_OK, 0))
		return rc == WB_EFULL ? run_dropped(run) : too_large(run, size);
	return WB_OK;
}

int wb__run_push_at(wb_run *run, uint8_t type, size_t size, int64_t step, wb__step_auto rule, double t,
		    wb__run_fill fill, const void *arg)
{
	return push_at(run, type, size, step, rule, t, fill, arg);
}

void wb__run_wait_written(wb_run *run, int64_t ms)
{
	uint64_t head = atomic_load(&run->ring.head);
	int64_t until = wb__mono_ms() + ms;
	struct timespec ts = {0, 1000000};

	while (atomic_load(&run->ring.tail) < head && wb__mono_ms() < until) {
		wb__ring_kick(&run->ring);
		nanosleep(&ts, NULL);
	}
}

/* ---- wb_run_log ---- */

/* The slow path of a rejected wb_run_log: say precisely what is wrong. */
static int log_invalid(const wb_metric *m, size_t n, int64_t step)
{
	if (n == 0 || n > WB__METRICS_MAX)
		return wb__error(WB_EINVAL, "wb_run_log takes 1 to %u metrics, not %zu", WB__METRICS_MAX, n);
	if (step < WB_STEP_AUTO)
		return wb__error(WB_EINVAL, "step %" PRId64 " is negative", step);
	for (size_t i = 0; i < n; i++) {
		if (!m[i].key)
			return wb__error(WB_EINVAL, "metric %zu has a NULL key", i);
		if (!wb__key_valid(m[i].key, strnlen(m[i].key, WB__KEY_MAX + 1)))
			return wb__error(WB_EINVAL,
					 "metric %zu: a key is 1 to %u bytes without control characters and does "
					 "not start with '_'",
					 i, WB__KEY_MAX);
	}
	return wb__error(WB_EINVAL, "invalid metrics");
}

typedef struct metrics_arg {
	const wb_metric *m;
	size_t n;
} metrics_arg;

static void metrics_fill(uint8_t *p, int64_t s, double t, const void *arg)
{
	const metrics_arg *a = arg;

	wb__metrics_encode(p, s, t, a->m, a->n);
}

/*
 * The hot path. Validation and the payload size (wb__metrics_size walks
 * the keys once) and the clock (vDSO, no system call) happen before the
 * lock; under it (push_at, inlined): the step check, a reservation in the
 * ring, the encoding straight into the ring, a release store. No
 * allocation, no I/O, no futex wake unless the ring just passed half its
 * limit (writer.c paces producers to what the disk takes). Measured on the
 * 2-core development VM with 4-8 metrics per call: p50 130-180 ns per
 * call (16-35 ns per point), p99 under 400 ns, timer overhead included.
 */
static inline __attribute__((always_inline)) int log_metrics(wb_run *run, const wb_metric *metrics, size_t n,
								   int64_t step, double wall)
{
	metrics_arg a = {metrics, n};
	size_t size;

	if (__builtin_expect(!run || !metrics, 0))
		return wb__error(WB_EINVAL, "run and metrics must not be NULL");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	size = wb__metrics_size(metrics, n);
	if (__builtin_expect(size == 0 || step < WB_STEP_AUTO, 0))
		return log_invalid(metrics, n, step);
	for (size_t i = 0; i < n; i++) /* one byte compared per key in the common case */
		if (__builtin_expect(metrics[i].key[0] == 's', 0) && strncmp(metrics[i].key, WB__SYSTEM_PREFIX, 7) == 0)
			return wb__error(WB_EINVAL, "metric %zu: keys under \"system/\" are reserved for system metrics", i);
	return push_at(run, WB__REC_METRICS, size, step, WB__STEP_NEXT, wall > 0 ? wall : wb__wall_s(), metrics_fill, &a);
}

int wb_run_log(wb_run *run, const wb_metric *metrics, size_t n, int64_t step)
{
	return log_metrics(run, metrics, n, step, 0);
}

int wb__log_at(wb_run *run, const wb_metric *metrics, size_t n, int64_t step, double wall)
{
	return log_metrics(run, metrics, n, step, isfinite(wall) && wall > 0 ? wall : 0);
}

/* ---- accessors ---- */

const char *wb_run_id(const wb_run *run)
{
	return run && run->id ? run->id : "";
}

const char *wb_run_name(const wb_run *run)
{
	return run && run->name ? run->name : "";
}

const char *wb_run_url(const wb_run *run)
{
	return run && run->url ? run->url : "";
}

const char *wb_run_dir(const wb_run *run)
{
	return run && run->dir ? run->dir : "";
}

int64_t wb_run_step(const wb_run *run)
{
	if (!run)
		return -1;
	return atomic_load_explicit((_Atomic int64_t *)&run->step_pub, memory_order_relaxed);
}

int wb_run_should_stop(const wb_run *run)
{
	/* Relaxed: a flag that publishes nothing else; the trainer polls it in its loop. */
	if (!run)
		return 0;
	return atomic_load_explicit((_Atomic int *)&run->should_stop, memory_order_relaxed);
}

uint64_t wb_run_dropped(const wb_run *run)
{
	if (!run || !run->ring_ready)
		return 0;
	return wb__ring_dropped((wb__ring *)&run->ring);
}

/* ---- wb_run_init ---- */

/* What resuming learned about the run's past. */
typedef struct resume_state {
	uint64_t next_seq;
	int64_t last_step;
	char *name;         /* the run's name as last recorded, or NULL */
	uint64_t log_end;   /* valid bytes of the local log */
} resume_state;

/* Scan visitor: remember the name of the last RUN record that has one. */
static int visit_run_name(void *arg, const wb__frame *f)
{
	resume_state *rs = arg;
	const char *name;
	cJSON *json;

	if (f->type != WB__REC_RUN)
		return 0;
	json = wb__json_parse((const char *)f->payload, f->len);
	name = wb__json_get_str(json, "name");
	if (name) {
		char *copy = strdup(name);
		if (!copy) {
			cJSON_Delete(json);
			return wb__error(WB_ENOMEM, "out of memory");
		}
		free(rs->name);
		rs->name = copy;
	}
	cJSON_Delete(json);
	return 0;
}

/* A run directory that wb creates holds a .gitignore of "*": the default
 * ./wb/ usually sits inside the user's repository, and its run logs must
 * not show up in their `git status`. A directory that already existed is
 * the user's own and is left as it is. Best effort: a run is not refused
 * for want of the file. */
static void runs_dir_ignore(const char *dir)
{
	char *path = NULL;
	int fd;

	if (wb__asprintf(&path, "%s/.gitignore", dir))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		static const char text[] = "# written by wb: run logs are not source\n*\n";
		if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1))
			unlink(path);
		close(fd);
	}
	free(path);
}

/* Choose the run id and create <dir>/run-<id>/. A new run claims a fresh
 * directory (mkdir fails on an existing one, so two processes can never
 * pick the same new id); a resumed run reuses its own. */
static int run_make_dir(wb_run *run, int *resume)
{
	struct stat st;
	int rc, created = stat(run->s.dir, &st) != 0 && errno == ENOENT;

	if ((rc = wb__mkdir_p(run->s.dir)))
		return rc;
	if (created)
		runs_dir_ignore(run->s.dir);
	*resume = run->s.run_id != NULL;
	if (*resume) {
		if (!(run->id = strdup(run->s.run_id)))
			return wb__error(WB_ENOMEM, "out of memory");
		if ((rc = wb__asprintf(&run->dir, "%s/run-%s", run->s.dir, run->id)))
			return rc;
		return wb__mkdir_p(run->dir);
	}
	for (int i = 0; i < NEW_ID_TRIES; i++) {
		char id[WB__RUN_ID_LEN + 1];

		wb__run_id_new(id);
		free(run->dir);
		run->dir = NULL;
		if ((rc = wb__asprintf(&run->dir, "%s/run-%s", run->s.dir, id)))
			return rc;
		if (mkdir(run->dir, 0755) == 0) {
			if (!(run->id = strdup(id)))
				return wb__error(WB_ENOMEM, "out of memory");
			return WB_OK;
		}
		if (errno != EEXIST)
			return wb__error(WB_EIO, "cannot create directory %s: %s", run->dir, strerror(errno));
	}
	return wb__error(WB_EIO, "cannot find a free run id in %s", run->s.dir);
}

static int run_lock(wb_run *run)
{
	char *path = NULL;
	int rc = WB_OK;

	if ((rc = wb__asprintf(&path, "%s/" WB__RUN_LOCK, run->dir)))
		return rc;
	run->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (run->lock_fd < 0) {
		rc = wb__error(WB_EIO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	if (flock(run->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? wb__error(WB_ESTATE, "run %s is open in another process", run->id)
					  : wb__error(WB_EIO, "cannot lock %s: %s", path, strerror(errno));
		goto done;
	}
done:
	free(path);
	return rc;
}

/* Ask the server where a run that is not on this machine stopped. */
static int run_ask_server(wb_run *run, resume_state *rs)
{
	wb__http *h = NULL;
	wb__run_state st = {0};
	int rc;

	if (!run->s.entity)
		return wb__error(WB_ENET,
				 "cannot resume run %s: its run log is not on this machine and the server did not say "
				 "who owns the api key (give the entity)",
				 run->id);
	if ((rc = wb__http_new(&h, run->s.base_url, run->s.api_key, run->s.entity, run->s.project, run->id)))
		return rc;
	if ((rc = wb__http_set_ca_file(h, run->s.ca_file))) {
		wb__http_free(h);
		return rc;
	}
	rc = wb__http_put_run(h, "{}", 2, wb__mono_ms() + WB__RESUME_TIMEOUT_MS, &st);
	if (rc == WB_ENET || rc == WB_ETIMEOUT || (rc == WB_ESERVER && wb__http_status(h) >= 500)) {
		char msg[WB__ERRMSG_MAX];
		snprintf(msg, sizeof msg, "%s", wb_errmsg());
		rc = wb__error(WB_ENET,
			       "cannot resume run %s: its run log is not on this machine and the server did not "
			       "answer (%s)",
			       run->id, msg);
	} else if (rc == WB_OK) {
		rs->next_seq = st.last_seq + 1;
		rs->last_step = st.last_step;
		rs->name = st.name;
		st.name = NULL;
	}
	wb__run_state_free(&st);
	wb__http_free(h);
	return rc;
}

/*
 * No entity was given and the settings file does not know the key's owner:
 * in online mode ask the server, for at most WB__WHOAMI_TIMEOUT_MS (a down
 * server refuses the connection at once; a blackholed one costs the bound).
 * When it does not answer the entity stays unknown and the run goes on: its
 * uploader asks again before it opens the run, and `wb sync` does for an
 * offline run. Never fails wb_run_init.
 */
static void run_ask_entity(wb_run *run)
{
	int rc;

	if (run->s.entity || run->mode != WB_MODE_ONLINE)
		return;
	rc = wb__whoami(run->s.base_url, run->s.api_key, run->s.ca_file, wb__mono_ms() + WB__WHOAMI_TIMEOUT_MS, 0,
			&run->s.entity);
	if (rc == WB_OK)
		return;
	wb__warn("the server did not say who owns the api key (%s); the run goes to that user's entity once it "
		 "does (give WB_ENTITY, or run `wb login`, to decide now)",
		 wb_errmsg());
}

/* Open the run log: continue a local one, or start one at the seq the
 * server (or a new run) dictates. */
static int run_open_log(wb_run *run, int resume, resume_state *rs)
{
	wb__runlog_info info;
	struct stat st;
	int local = 0, rc;

	rs->next_seq = 1;
	rs->last_step = -1;
	if ((rc = wb__asprintf(&run->log_path, "%s/" WB__RUNLOG_FILE, run->dir)))
		return rc;
	if (resume && stat(run->log_path, &st) == 0) {
		rc = wb__runlog_open(run->log_path, &run->log_fd, &info, visit_run_name, rs);
		if (rc)
			return rc;
		/* An empty local log says nothing about where the run stopped. */
		local = info.frames > 0;
		if (local) {
			rs->next_seq = info.last_seq + 1;
			rs->last_step = info.last_step;
			rs->log_end = info.valid_bytes;
			return WB_OK;
		}
		close(run->log_fd);
		run->log_fd = -1;
	}
	if (resume && run->mode == WB_MODE_ONLINE && (rc = run_ask_server(run, rs)))
		return rc;
	rc = wb__runlog_open(run->log_path, &run->log_fd, &info, NULL, NULL);
	rs->log_end = info.valid_bytes;
	return rc;
}

static int run_write_json_file(wb_run *run, double created_at)
{
	char *path = NULL, *text = NULL;
	cJSON *obj = NULL;
	struct stat st;
	size_t len;
	int rc;

	if ((rc = wb__asprintf(&path, "%s/" WB__RUN_JSON, run->dir)))
		return rc;
	if (stat(path, &st) == 0)
		goto done; /* a resumed run keeps its record of where it belongs */
	/* no entity: the key owner's, which wb sync asks the server for */
	obj = cJSON_CreateObject();
	if (!obj || !cJSON_AddStringToObject(obj, "run_id", run->id) ||
	    (run->s.entity && !cJSON_AddStringToObject(obj, "entity", run->s.entity)) ||
	    !cJSON_AddStringToObject(obj, "project", run->s.project) ||
	    !cJSON_AddStringToObject(obj, "base_url", run->s.base_url) ||
	    !cJSON_AddItemToObject(obj, "created_at", wb__json_double(created_at))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = wb__json_print(obj, &text, &len)))
		goto done;
	rc = wb__file_write_atomic(path, text, len, 1);
done:
	cJSON_Delete(obj);
	free(text);
	free(path);
	return rc;
}

/* The monotonic-clock instant of the run's creation, from run.json's
 * created_at; now_ms when it cannot be read. */
static int64_t run_start_ms(wb_run *run, int64_t now_ms)
{
	char *path = NULL, *text = NULL;
	cJSON *obj = NULL;
	const cJSON *c;
	size_t len = 0;
	int64_t out = now_ms;

	if (wb__asprintf(&path, "%s/" WB__RUN_JSON, run->dir) || wb__file_read(path, 65536, &text, &len))
		goto done;
	obj = wb__json_parse(text, len);
	c = cJSON_GetObjectItemCaseSensitive(obj, "created_at");
	if (cJSON_IsNumber(c) && c->valuedouble > 0 && c->valuedouble < wb__wall_s())
		out = now_ms - (int64_t)((wb__wall_s() - c->valuedouble) * 1000.0);
done:
	cJSON_Delete(obj);
	free(text);
	free(path);
	return out;
}

/* metadata.distributed: who launched this rank (the server's group views read it). */
static int add_distributed(cJSON *meta, const wb__launcher *l)
{
	cJSON *d = cJSON_AddObjectToObject(meta, "distributed");

	if (!d || !cJSON_AddStringToObject(d, "launcher", l->kind) ||
	    !cJSON_AddNumberToObject(d, "rank", l->rank) || !cJSON_AddNumberToObject(d, "world_size", l->world_size) ||
	    !cJSON_AddNumberToObject(d, "local_rank", l->local_rank) ||
	    (l->job_id[0] && !cJSON_AddStringToObject(d, "job_id", l->job_id)))
		return -1;
	return 0;
}

/* The RUN record: every field of a new run; on resume only what was given
 * (and a name if the run had none we know of), so a resume does not undo
 * what the first process recorded. */
static int run_build_json(wb_run *run, int resume, int name_given, double created_at)
{
	cJSON *obj = NULL, *tags, *meta;
	int rc;

	obj = cJSON_CreateObject();
	if (!obj)
		goto nomem;
	if (name_given && !cJSON_AddStringToObject(obj, "name", run->name))
		goto nomem;
	if (run->s.group && !cJSON_AddStringToObject(obj, "group", run->s.group))
		goto nomem;
	if (run->s.job_type && !cJSON_AddStringToObject(obj, "job_type", run->s.job_type))
		goto nomem;
	if (run->s.notes && !cJSON_AddStringToObject(obj, "notes", run->s.notes))
		goto nomem;
	if (run->s.tags || !resume) {
		if (!(tags = cJSON_AddArrayToObject(obj, "tags")))
			goto nomem;
		for (size_t i = 0; i < run->s.ntags; i++) {
			cJSON *t = cJSON_CreateString(run->s.tags[i]);
			if (!t || !cJSON_AddItemToArray(tags, t)) {
				cJSON_Delete(t);
				goto nomem;
			}
		}
	}
	if (!resume) {
		if (!(meta = wb__meta_collect(created_at)) || !cJSON_AddItemToObject(obj, "metadata", meta)) {
			cJSON_Delete(meta);
			goto nomem;
		}
		if (run->s.launcher.kind && add_distributed(meta, &run->s.launcher))
			goto nomem;
		if (wb__sweep_meta(meta, &run->s.sweep))
			goto nomem;
		if (!cJSON_AddItemToObject(obj, "created_at", wb__json_double(created_at)))
			goto nomem;
	}
	rc = wb__json_print(obj, &run->run_json, NULL);
	cJSON_Delete(obj);
	return rc;
nomem:
	cJSON_Delete(obj);
	return wb__error(WB_ENOMEM, "out of memory");
}

/*
 * Push the code capture: the CODE record, then each patch as PATCH records
 * of at most PATCH_CHUNK bytes (and never more than a quarter of the ring),
 * which the server concatenates in log order. Chunking keeps a 10 MiB patch
 * from needing a 20 MiB buffer, and lets the writer drain the ring while
 * the rest is copied in. A failure here costs the capture, never the run:
 * it is reported once as a warning.
 */
#define PATCH_CHUNK (1024u * 1024u)
static void run_push_code(wb_run *run, const wb__gitcap *cap)
{
	size_t chunk = wb__ring_max_record(&run->ring) / 2, bufcap;
	uint8_t *buf = NULL;
	int rc;

	if (chunk > PATCH_CHUNK)
		chunk = PATCH_CHUNK;
	chunk -= 1 + WB__NAME_MAX;
	/* Paths and git names are bytes: make them UTF-8, which the server requires. */
	if ((rc = wb__json_utf8_fix(cap->code)) || (rc = wb__run_push_json(run, WB__REC_CODE, cap->code)))
		goto fail;
	bufcap = 1 + WB__NAME_MAX + chunk;
	if (!(buf = malloc(bufcap))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cap->npatch; i++) {
		const wb__gitpatch *p = &cap->patch[i];
		size_t nlen = strlen(p->name);

		buf[0] = (uint8_t)nlen;
		memcpy(buf + 1, p->name, nlen);
		for (size_t off = 0; off < p->len; off += chunk) {
			size_t n = p->len - off < chunk ? p->len - off : chunk;
			memcpy(buf + 1 + nlen, p->data + off, n);
			if ((rc = wb__run_push(run, WB__REC_PATCH, buf, 1 + nlen + n)))
				goto fail;
		}
	}
	free(buf);
	return;
fail:
	free(buf);
	wb__warn("the git capture of run %s was not recorded: %s", run->id, wb_errmsg());
}

/* Name the files the capture left out of its patches (once, at wb_run_init):
 * a restore will not have them, and the user can still add them to git. */
static void run_warn_omitted(const wb__gitcap *cap, size_t patch_max)
{
	char names[1024];
	size_t n = wb__gitcap_omitted(cap->code, names, sizeof names);

	if (n)
		wb__warn("the git capture left %zu file%s out of its patch (over git_patch_max = %zu bytes): %s", n,
			 n == 1 ? "" : "s", patch_max, names);
}

/* Writer progress → wake the uploader, if there is one yet. */
static void run_progress(void *arg)
{
	wb_run *run = arg;
	wb__uploader *u = atomic_load_explicit(&run->uploader, memory_order_acquire);

	if (u)
		wb__uploader_notify(u);
}

static int run_start_uploader(wb_run *run)
{
	char *acked = NULL;
	wb__uploader *u = NULL;
	wb__uploader_config cfg;
	int rc;

	if ((rc = wb__asprintf(&acked, "%s/" WB__RUN_ACKED, run->dir)))
		return rc;
	cfg = (wb__uploader_config){
		.base_url = run->s.base_url,
		.api_key = run->s.api_key,
		.entity = run->s.entity,
		.project = run->s.project,
		.run_id = run->id,
		.log_path = run->log_path,
		.acked_path = acked,
		.run_json = run->run_json,
		.heartbeat_ms = run->s.heartbeat_ms,
		.ca_file = run->s.ca_file,
		.written_off = &run->writer.written_off,
		.should_stop = &run->should_stop,
	};
	rc = wb__uploader_start(&u, &cfg);
	if (rc == WB_OK)
		atomic_store_explicit(&run->uploader, u, memory_order_release);
	free(acked);
	return rc;
}

/* Stop whatever runs and free everything; the counterpart of every path
 * through wb_run_init. Returns the first error met while stopping. */
static int run_free(wb_run *run, int64_t deadline)
{
	int rc = WB_OK, rc2;

	if (!run)
		return WB_OK;
	wb__sysmon_stop(&run->sysmon);
	wb__tbfollow_stop(run);
	rc = wb__writer_stop(&run->writer);
	rc2 = wb__uploader_finish(atomic_load(&run->uploader), run->writer.next_seq - 1, deadline);
	if (!rc)
		rc = rc2;
	if (run->ring_ready)
		wb__ring_destroy(&run->ring);
	if (run->config_ready)
		wb__config_free(&run->config);
	if (run->log_fd >= 0)
		close(run->log_fd);
	if (run->lock_fd >= 0)
		close(run->lock_fd); /* releases the flock */
	free(run->id);
	free(run->name);
	free(run->url);
	free(run->dir);
	free(run->log_path);
	free(run->run_json);
	wb__alerts_free(atomic_load(&run->alerts));
	wb__settings_free(&run->s);
	free(run);
	return rc;
}

int wb_run_init(wb_run **out, const wb_init_options *opts)
{
	resume_state rs = {0};
	wb__gitcap cap = {0};
	wb_run *run = NULL;
	double created_at = wb__wall_s();
	int64_t start_ms = wb__mono_ms();
	int resume = 0, name_given = 0, rc;
	char name[64];

	if (!out)
		return wb__error(WB_EINVAL, "out must not be NULL");
	*out = NULL;
	run = calloc(1, sizeof *run);
	if (!run)
		return wb__error(WB_ENOMEM, "out of memory");
	run->lock_fd = run->log_fd = -1;
	run->last_step = -1;
	atomic_init(&run->step_pub, -1);
	atomic_init(&run->warned_full, 0);
	atomic_init(&run->should_stop, 0);
	atomic_init(&run->uploader, NULL);
	if ((rc = wb__config_init(&run->config)))
		goto fail;
	run->config_ready = 1;
	if ((rc = wb__settings_load(&run->s, opts)))
		goto fail;
	run->mode = run->s.mode;
	if (run->mode == WB_MODE_DISABLED)
		goto joined;
	run_ask_entity(run);

	if ((rc = run_make_dir(run, &resume)) || (rc = run_lock(run)) || (rc = run_open_log(run, resume, &rs)))
		goto fail;
	/* A given id that neither this machine nor the server has records of
	 * (a sweep's trial, a run named in advance) starts a new run: it gets
	 * the metadata, tags and code capture of one. */
	if (resume && rs.next_seq == 1)
		resume = 0;
	if (run->s.name) {
		run->name = strdup(run->s.name);
		name_given = 1;
	} else if (rs.name) {
		run->name = rs.name;
		rs.name = NULL;
	} else {
		wb__run_name_new(name, sizeof name);
		run->name = strdup(name);
		name_given = 1;
	}
	if (!run->name) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto fail;
	}
	run->last_step = rs.last_step;
	atomic_store(&run->step_pub, rs.last_step);
	if ((run->s.entity && (rc = wb__asprintf(&run->url, "%s/%s/%s/runs/%s", run->s.base_url, run->s.entity,
						   run->s.project, run->id))) ||
	    (rc = run_write_json_file(run, created_at)) || (rc = run_build_json(run, resume, name_given, created_at)))
		goto fail;

	/* System metrics are at ms since the run was created: a resumed run
	 * continues the axis from its run.json's created_at. */
	if (resume)
		start_ms = run_start_ms(run, start_ms);
	/* The code as of wb_run_init: captured here, pushed once the writer runs. */
	if (!resume && !run->s.disable_git && (rc = wb__gitcap_collect(&cap, ".", run->s.dir, run->s.git_patch_max)))
		goto fail;
	if (cap.code)
		run_warn_omitted(&cap, run->s.git_patch_max);
	if ((rc = wb__ring_init(&run->ring, run->s.buffer_bytes, WB__FULL_WAIT_MS)))
		goto fail;
	run->ring_ready = 1;
	if ((rc = wb__run_push(run, WB__REC_RUN, run->run_json, strlen(run->run_json))))
		goto fail;
	if ((rc = wb__writer_start(&run->writer, &run->ring, run->log_fd, rs.next_seq, rs.log_end, run_progress, run)))
		goto fail;
	if (cap.code)
		run_push_code(run, &cap);
	if (run->s.system_sample_ms > 0 &&
	    (rc = wb__sysmon_start(&run->sysmon, run, (unsigned)run->s.system_sample_ms, start_ms)))
		goto fail;
	if (run->mode == WB_MODE_ONLINE && (rc = run_start_uploader(run)))
		goto fail;
joined:
	/* a sweep's trial: its parameters are the config, locked (sweep.c) */
	if ((rc = wb__sweep_apply(run, &run->s.sweep)))
		goto fail;
	wb__gitcap_free(&cap);
	free(rs.name);
	*out = run;
	return WB_OK;
fail: {
	char msg[WB__ERRMSG_MAX];

	snprintf(msg, sizeof msg, "%s", wb_errmsg());
	wb__gitcap_free(&cap);
	free(rs.name);
	run_free(run, wb__mono_ms());
	return wb__error_set(rc, msg);
}
}

/* ---- wb_run_finish ---- */

int wb_run_finish(wb_run *run, int exit_code)
{
	char msg[WB__ERRMSG_MAX] = "";
	int64_t deadline;
	uint64_t final_seq, dropped;
	cJSON *obj;
	int rc = WB_OK, rc2;

	if (!run)
		return WB_OK;
	if (run->mode == WB_MODE_DISABLED) {
		run_free(run, 0);
		return WB_OK;
	}
	deadline = wb__mono_ms() + (int64_t)run->s.finish_timeout_ms;
	wb__sysmon_stop(&run->sysmon); /* no SYSTEM record after FINISH */
	wb__saves_finish(run, deadline); /* wb_run_save's last snapshots, before FINISH */
	wb__tbfollow_stop(run);        /* nor a followed TensorBoard value */
	obj = cJSON_CreateObject();
	if (!obj || !cJSON_AddNumberToObject(obj, "exit_code", exit_code) ||
	    !cJSON_AddItemToObject(obj, "time", wb__json_double(wb__wall_s())))
		rc = wb__error(WB_ENOMEM, "out of memory");
	else
		rc = wb__run_push_json(run, WB__REC_FINISH, obj);
	cJSON_Delete(obj);
	if (rc)
		snprintf(msg, sizeof msg, "%s", wb_errmsg());

	/* Everything pushed is written and synced once the writer stops. */
	rc2 = wb__writer_stop(&run->writer);
	if (rc2) {
		rc = rc2;
		snprintf(msg, sizeof msg, "%s", wb_errmsg());
	}
	final_seq = atomic_load(&run->writer.written_seq);
	rc2 = wb__uploader_finish(atomic_exchange(&run->uploader, NULL), final_seq, deadline);
	if (rc2 && !rc) {
		rc = rc2;
		snprintf(msg, sizeof msg, "%s", wb_errmsg());
	}
	if (rc2)
		wb__warn("%s; the run log in %s keeps everything: upload it with `wb sync %s`", wb_errmsg(), run->dir,
			 run->dir);
	dropped = wb__ring_dropped(&run->ring);
	if (dropped)
		wb__warn("%" PRIu64 " records of run %s were dropped because the buffer was full", dropped, run->id);
	run_free(run, 0);
	if (rc)
		return wb__error_set(rc, msg);
	return WB_OK;
}

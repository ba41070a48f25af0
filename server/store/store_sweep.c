/*
 * store_sweep.c — sweeps and their trials (store_sweep.h).
 *
 * Every change is a JOB_FN job on the one writer: leasing a trial reads the
 * trials, asks the caller's suggest callback and inserts, all inside the
 * writer's transaction, which is what makes "two agents never get the same
 * trial" hold without a lock of our own. Reads use the reader pool and see
 * one snapshot (a read transaction) of the sweep and its trials.
 *
 * A trial's value is the summary value of the sweep's metric in its run
 * (joined at read time): a number as it is; an object (the run defined the
 * metric with summary min/max/mean) gives the goal's extreme (max when
 * maximizing, else min), or its last. Non-finite values (stored as strings)
 * count as no value.
 */
#include "store/store_sweep.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "store/store_int.h"
#include "util/log.h"

const char *const wbs__trial_state_names[WBS__TS__COUNT] = {"pending", "leased",  "running", "finished",
							       "failed",  "crashed", "stopped"};

static int state_of(const char *s)
{
	for (int i = 0; s && i < WBS__TS__COUNT; i++)
		if (strcmp(s, wbs__trial_state_names[i]) == 0)
			return i;
	return WBS__TS_FAILED;
}

/* ---- rows ---- */

void wbs__trial_rows_free(wbs__trial_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].run_id);
		free(rows[i].params);
		free(rows[i].agent);
		free(rows[i].run_state);
	}
	free(rows);
}

void wbs__sweep_row_free(wbs__sweep_row *r)
{
	if (!r)
		return;
	free(r->sweep_id);
	free(r->name);
	free(r->spec);
	free(r->method);
	free(r->metric);
	free(r->goal);
	free(r->state);
	free(r->best_run_id);
	free(r->best_params);
	wbs__trial_rows_free(r->trials, r->ntrials);
	free(r->curves);
	free(r->pts);
	memset(r, 0, sizeof(*r));
}

void wbs__sweep_rows_free(wbs__sweep_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		wbs__sweep_row_free(&rows[i]);
	free(rows);
}

void wbs__sweep_next_free(wbs__sweep_next *n)
{
	if (!n)
		return;
	free(n->run_id);
	free(n->params);
	n->run_id = n->params = NULL;
}

/* The value of a summary entry (json_each's type and value columns i, i+1). */
static double summary_value(sqlite3_stmt *st, int i, int maximize)
{
	const char *type = (const char *)sqlite3_column_text(st, i);
	cJSON *o, *v;
	double d = NAN;

	if (!type)
		return NAN;
	if (strcmp(type, "integer") == 0 || strcmp(type, "real") == 0)
		return sqlite3_column_double(st, i + 1);
	if (strcmp(type, "object") != 0 || !(o = cJSON_Parse((const char *)sqlite3_column_text(st, i + 1))))
		return NAN;
	v = cJSON_GetObjectItemCaseSensitive(o, maximize ? "max" : "min");
	if (!cJSON_IsNumber(v))
		v = cJSON_GetObjectItemCaseSensitive(o, "last");
	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	cJSON_Delete(o);
	return d;
}

static int trial_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__trial_row *t = row;
	int oom = 0;
	char *state;

	t->num = sqlite3_column_int64(st, 0);
	t->run_id = wbs__sql_col_dup(st, 1, &oom);
	t->params = wbs__sql_col_dup(st, 2, &oom);
	state = (char *)sqlite3_column_text(st, 3);
	t->agent = wbs__sql_col_dup(st, 4, &oom);
	t->reissue_of = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	t->has_exit_code = sqlite3_column_type(st, 6) != SQLITE_NULL;
	t->exit_code = sqlite3_column_int(st, 6);
	t->created_at = wbs__sql_col_real(st, 7);
	t->started_at = wbs__sql_col_real(st, 8);
	t->finished_at = wbs__sql_col_real(st, 9);
	t->lease_until = wbs__sql_col_real(st, 10);
	t->run_state = wbs__sql_col_dup(st, 11, &oom);
	t->state = state_of(state);
	if (t->state == WBS__TS_LEASED && t->run_state)
		t->state = WBS__TS_RUNNING;
	t->value = summary_value(st, 12, *(const int *)ctx);
	t->stopped_at = wbs__sql_col_real(st, 14);
	t->stop_rung = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 15);
	t->stop_iter = sqlite3_column_type(st, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 16);
	return oom ? wbs__sql_oom(err) : 0;
}

/* Every trial of sweep sid (of project pid) by num, with its run's state and value. */
static int load_trials(sqlite3 *db, int64_t sid, int64_t pid, const char *metric, int maximize,
		       wbs__trial_row **rows, size_t *n, wbs__err *err)
{
	void *out = NULL;
	size_t cnt = 0;
	int ret;

	ret = wbs__sql_rows(db, sizeof(wbs__trial_row), &out, &cnt, trial_row, &maximize, "sweep trials", err,
			    "SELECT t.num, t.run_id, t.params, t.state, t.agent, t.reissue_of, t.exit_code, "
			    "t.created_at, t.started_at, t.finished_at, t.lease_until, r.state, je.type, je.value, "
			    "t.stopped_at, t.stop_rung, t.stop_iter FROM sweep_trials t "
			    "LEFT JOIN runs r ON r.project_id = ?2 AND r.run_id = t.run_id "
			    "LEFT JOIN json_each(coalesce(r.summary, '{}')) je ON je.key = ?3 "
			    "WHERE t.sweep_id = ?1 ORDER BY t.num",
			    "iit", sid, pid, metric);
	if (ret) {
		wbs__trial_rows_free(out, cnt);
		return ret;
	}
	*rows = out;
	*n = cnt;
	return WBS__ST_OK;
}

static int sweep_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__sweep_row *r = row;
	int oom = 0;

	(void)ctx;
	r->id = sqlite3_column_int64(st, 0);
	r->project_id = sqlite3_column_int64(st, 1);
	r->sweep_id = wbs__sql_col_dup(st, 2, &oom);
	r->name = wbs__sql_col_dup(st, 3, &oom);
	r->spec = wbs__sql_col_dup(st, 4, &oom);
	r->method = wbs__sql_col_dup(st, 5, &oom);
	r->metric = wbs__sql_col_dup(st, 6, &oom);
	r->goal = wbs__sql_col_dup(st, 7, &oom);
	r->state = wbs__sql_col_dup(st, 8, &oom);
	r->created_at = wbs__sql_col_real(st, 9);
	r->updated_at = wbs__sql_col_real(st, 10);
	r->cap = (uint64_t)sqlite3_column_int64(st, 11);
	r->lease_seconds = sqlite3_column_double(st, 12);
	r->reissue = sqlite3_column_int(st, 13);
	return oom ? wbs__sql_oom(err) : 0;
}

#define SWEEP_COLS                                                                                                   \
	"s.id, s.project_id, s.sweep_id, s.name, s.spec, s.method, s.metric, s.goal, s.state, s.created_at, "       \
	"s.updated_at, s.cap, s.lease_s, s.reissue "

/* Find one sweep by name on db. NOTFOUND when absent. */
static int find_sweep(sqlite3 *db, const char *entity, const char *project, const char *sweep_id,
		      wbs__sweep_row *out, wbs__err *err)
{
	void *rows = NULL;
	size_t n = 0;
	int ret;

	ret = wbs__sql_rows(db, sizeof(wbs__sweep_row), &rows, &n, sweep_row, NULL, "find sweep", err,
			    "SELECT " SWEEP_COLS "FROM sweeps s JOIN projects p ON p.id = s.project_id "
			    "WHERE p.entity = ?1 AND p.name = ?2 AND s.sweep_id = ?3",
			    "ttt", entity, project, sweep_id);
	if (!ret && n == 0)
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "sweep %s/%s/%s not found", entity, project, sweep_id);
	if (ret) {
		wbs__sweep_rows_free(rows, n);
		return ret;
	}
	*out = *(wbs__sweep_row *)rows;
	free(rows);
	return WBS__ST_OK;
}

/* Counts, issued and the best trial of r from its trials. */
static int sweep_stats(wbs__sweep_row *r, const wbs__trial_row *t, size_t n)
{
	const int maximize = r->goal && strcmp(r->goal, "maximize") == 0;
	const wbs__trial_row *best = NULL;

	memset(r->counts, 0, sizeof(r->counts));
	r->issued = 0;
	for (size_t i = 0; i < n; i++) {
		r->counts[t[i].state]++;
		if (t[i].reissue_of < 0)
			r->issued++;
		if (t[i].state != WBS__TS_FINISHED || !isfinite(t[i].value))
			continue;
		if (!best || (maximize ? t[i].value > best->value : t[i].value < best->value))
			best = &t[i];
	}
	r->has_best = best != NULL;
	if (!best)
		return WBS__ST_OK;
	r->best_num = best->num;
	r->best_value = best->value;
	if (!(r->best_run_id = strdup(best->run_id)) || !(r->best_params = strdup(best->params)))
		return WBS__ST_NOMEM;
	return WBS__ST_OK;
}

/* ---- reads ---- */

/* The sweep's trials and stats into r, keeping the trials when keep. */
static int fill_sweep(sqlite3 *db, wbs__sweep_row *r, int keep, wbs__err *err)
{
	wbs__trial_row *t = NULL;
	size_t n = 0;
	int ret;

	ret = load_trials(db, r->id, r->project_id, r->metric, r->goal && strcmp(r->goal, "maximize") == 0, &t,
			  &n, err);
	if (ret)
		return ret;
	if ((ret = sweep_stats(r, t, n)))
		wbs__err_set(err, ret, "out of memory");
	if (keep && !ret) {
		r->trials = t;
		r->ntrials = n;
	} else {
		wbs__trial_rows_free(t, n);
	}
	return ret;
}

int wbs__store_sweep_get(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			 wbs__sweep_row *out, wbs__err *err)
{
	wbs__reader *r;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if (!(ret = wbs__reader_begin(r, err))) {
		if (!(ret = find_sweep(r->db, entity, project, sweep_id, out, err)))
			ret = fill_sweep(r->db, out, 1, err);
		if (!ret && !(ret = wbs__sweep_curves_load(r->db, out->id, &out->curves, &out->ncurves, &out->pts, err)))
			out->has_curves = 1;
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	}
	wbs__reader_put(s, r);
	if (ret)
		wbs__sweep_row_free(out);
	return ret;
}

int wbs__store_sweep_head(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			  wbs__sweep_row *out, wbs__err *err)
{
	wbs__reader *r;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	ret = find_sweep(r->db, entity, project, sweep_id, out, err);
	wbs__reader_put(s, r);
	return ret;
}

int wbs__store_sweeps_list(wbs__store *s, const char *entity, const char *project, wbs__sweep_row **rows,
			   size_t *n, wbs__err *err)
{
	wbs__reader *r;
	void *out = NULL;
	size_t cnt = 0;
	int64_t pid = 0;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!(r = wbs__reader_get(s, err)))
		return err->st;
	if ((ret = wbs__reader_begin(r, err)))
		goto done;
	ret = wbs__reader_project_id(r, entity, project, &pid, err);
	if (ret == WBS__ST_NOTFOUND) { /* no project yet: no sweeps */
		ret = WBS__ST_OK;
		goto commit;
	}
	if (ret)
		goto commit;
	ret = wbs__sql_rows(r->db, sizeof(wbs__sweep_row), &out, &cnt, sweep_row, NULL, "list sweeps", err,
			    "SELECT " SWEEP_COLS "FROM sweeps s WHERE s.project_id = ?1 ORDER BY s.created_at DESC, "
			    "s.id DESC LIMIT ?2",
			    "ii", pid, (int64_t)WBS__SWEEPS_MAX);
	for (size_t i = 0; !ret && i < cnt; i++)
		ret = fill_sweep(r->db, &((wbs__sweep_row *)out)[i], 0, err);
commit:
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
done:
	wbs__reader_put(s, r);
	if (ret)
		wbs__sweep_rows_free(out, cnt);
	else
		*rows = out, *n = cnt;
	return ret;
}

/* ---- writes ---- */

/* Make sweep sid finished when it is running, its cap is reached and no trial is out. */
static int maybe_finish(wbs__store *s, int64_t sid, wbs__err *err)
{
	return wbs__sql_run(s->wdb, err, "finish sweep",
			    "UPDATE sweeps SET state = 'finished', updated_at = ?2 WHERE id = ?1 AND state = 'running' "
			    "AND cap > 0 AND (SELECT count(*) FROM sweep_trials WHERE sweep_id = ?1 AND reissue_of IS "
			    "NULL) >= cap AND NOT EXISTS (SELECT 1 FROM sweep_trials WHERE sweep_id = ?1 AND state IN "
			    "('pending', 'leased'))",
			    "id", sid, wbs__store_now(s));
}

struct create_arg {
	const char *entity, *project;
	const wbs__sweep_new *n;
};

static int apply_create(wbs__store *s, wbs__job *j)
{
	const struct create_arg *a = j->arg;
	const wbs__sweep_new *n = a->n;
	double now = wbs__store_now(s);
	int64_t pid = 0, taken = 0;

	if (wbs__sql_i64(s->wdb, &j->err, &pid, "find project",
			 "INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) "
			 "ON CONFLICT (entity, name) DO UPDATE SET name = excluded.name RETURNING id",
			 "ttd", a->entity, a->project, now) < 0)
		return j->err.st;
	if (wbs__sql_i64(s->wdb, &j->err, &taken, "find sweep",
			 "SELECT count(*) FROM sweeps WHERE project_id = ?1 AND sweep_id = ?2", "it", pid,
			 n->sweep_id) < 0)
		return j->err.st;
	if (taken)
		return wbs__err_set(&j->err, WBS__ST_CONFLICT, "sweep id %s is taken", n->sweep_id);
	return wbs__sql_run(s->wdb, &j->err, "create sweep",
			    "INSERT INTO sweeps (project_id, sweep_id, name, spec, method, metric, goal, cap, lease_s, "
			    "reissue, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
			    "?10, nullif(?11, 0), ?12, ?12)",
			    "ittttttidiid", pid, n->sweep_id, n->name, n->spec, n->method, n->metric,
			    n->metric ? (n->maximize ? "maximize" : "minimize") : NULL, (int64_t)n->cap, n->lease_seconds,
			    (int64_t)n->reissue, n->user_id, now);
}

int wbs__store_sweep_create(wbs__store *s, const char *entity, const char *project, const wbs__sweep_new *n,
			    wbs__err *err)
{
	struct create_arg a = {entity, project, n};

	return wbs__store_submit_fn(s, apply_create, &a, err);
}

struct state_arg {
	const char *entity, *project, *sweep_id, *state;
};

/* 1 if a sweep in state from may be set to to. */
static int transition_ok(const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return 1;
	if (strcmp(from, "running") == 0 || strcmp(from, "paused") == 0)
		return strcmp(to, "running") == 0 || strcmp(to, "paused") == 0 || strcmp(to, "stopped") == 0 ||
		       strcmp(to, "canceled") == 0;
	if (strcmp(from, "stopped") == 0)
		return strcmp(to, "canceled") == 0;
	return 0;
}

static int apply_state(wbs__store *s, wbs__job *j)
{
	const struct state_arg *a = j->arg;
	wbs__sweep_row row;
	int ret;

	memset(&row, 0, sizeof(row));
	if ((ret = find_sweep(s->wdb, a->entity, a->project, a->sweep_id, &row, &j->err)))
		goto done;
	if (!transition_ok(row.state, a->state)) {
		ret = wbs__err_set(&j->err, WBS__ST_BADARG, "a %s sweep cannot be set %s", row.state, a->state);
		goto done;
	}
	if (strcmp(row.state, a->state) == 0)
		goto done;
	if ((ret = wbs__sql_run(s->wdb, &j->err, "set sweep state",
				"UPDATE sweeps SET state = ?2, updated_at = ?3 WHERE id = ?1", "itd", row.id, a->state,
				wbs__store_now(s))))
		goto done;
	/* stopped or canceled: the re-issues nobody took will never run */
	if (strcmp(a->state, "stopped") == 0 || strcmp(a->state, "canceled") == 0)
		ret = wbs__sql_run(s->wdb, &j->err, "stop pending trials",
				   "UPDATE sweep_trials SET state = 'stopped', finished_at = ?2 WHERE sweep_id = ?1 AND "
				   "state = 'pending'",
				   "id", row.id, wbs__store_now(s));
	else if (strcmp(a->state, "running") == 0)
		ret = maybe_finish(s, row.id, &j->err);
done:
	wbs__sweep_row_free(&row);
	return ret;
}

int wbs__store_sweep_set_state(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			       const char *state, wbs__err *err)
{
	struct state_arg a = {entity, project, sweep_id, state};

	return wbs__store_submit_fn(s, apply_state, &a, err);
}

struct next_arg {
	const char *entity, *project, *sweep_id;
	const wbs__sweep_next_opts *o;
	wbs__sweep_next *out;
};

/* 1 when a trial still out (leased) may yet be re-issued: agents should wait for it. */
static int may_reissue(const wbs__trial_row *t, size_t n, int64_t budget)
{
	for (size_t i = 0; i < n; i++) {
		int64_t origin, done = 0;
		if (t[i].state != WBS__TS_LEASED && t[i].state != WBS__TS_RUNNING)
			continue;
		origin = t[i].reissue_of >= 0 ? t[i].reissue_of : t[i].num;
		for (size_t k = 0; k < n; k++)
			done += t[k].reissue_of == origin;
		if (done < budget)
			return 1;
	}
	return 0;
}

static int apply_next(wbs__store *s, wbs__job *j)
{
	const struct next_arg *a = j->arg;
	wbs__sweep_next *out = a->out;
	double now = wbs__store_now(s);
	wbs__sweep_row row;
	wbs__trial_row *t = NULL;
	size_t n = 0;
	sqlite3_stmt *st = NULL;
	char *params = NULL, run_id[WBS__SWEEP_ID_LEN + 24];
	int ret, rc;

	memset(&row, 0, sizeof(row));
	if ((ret = find_sweep(s->wdb, a->entity, a->project, a->sweep_id, &row, &j->err)))
		goto done;
	snprintf(out->state, sizeof(out->state), "%s", row.state);
	if (strcmp(row.state, "paused") == 0) {
		out->kind = WBS__NEXT_WAIT;
		goto done;
	}
	if (strcmp(row.state, "running") != 0) {
		out->kind = WBS__NEXT_DONE;
		goto done;
	}
	/* a re-issue waiting for an agent goes first */
	if (!(st = wbs__sql_prepare(s->wdb,
				    "UPDATE sweep_trials SET state = 'leased', agent = ?2, lease_until = ?3 + ?4, "
				    "started_at = ?3 WHERE id = (SELECT id FROM sweep_trials WHERE sweep_id = ?1 AND "
				    "state = 'pending' ORDER BY num LIMIT 1) RETURNING num, run_id, params",
				    "lease trial", &j->err))) {
		ret = j->err.st;
		goto done;
	}
	wbs__sql_bind(st, "itdd", row.id, a->o->agent, now, row.lease_seconds);
	if ((rc = wbs__sql_step(s->wdb, st, "lease trial", &j->err)) < 0) {
		ret = j->err.st;
		goto done;
	}
	if (rc == 1) {
		out->kind = WBS__NEXT_TRIAL;
		out->num = sqlite3_column_int64(st, 0);
		if (!(out->run_id = strdup((const char *)sqlite3_column_text(st, 1))) ||
		    !(out->params = strdup((const char *)sqlite3_column_text(st, 2))))
			ret = wbs__sql_oom(&j->err);
		goto done;
	}
	if ((ret = load_trials(s->wdb, row.id, row.project_id, row.metric,
			       row.goal && strcmp(row.goal, "maximize") == 0, &t, &n, &j->err)) ||
	    (ret = sweep_stats(&row, t, n) ? wbs__sql_oom(&j->err) : 0))
		goto done;
	if (n >= WBS__TRIALS_MAX) {
		rc = 1;
	} else if (row.cap > 0 && row.issued >= row.cap) {
		rc = 1;
	} else if ((rc = a->o->suggest(a->o->ctx, t, n, row.issued, &params, &j->err)) < 0) {
		ret = j->err.st ? j->err.st : WBS__ST_INTERNAL;
		goto done;
	}
	if (rc == 1) { /* nothing left to issue */
		if (may_reissue(t, n, row.reissue)) {
			out->kind = WBS__NEXT_WAIT;
			goto done;
		}
		if ((ret = wbs__sql_run(s->wdb, &j->err, "finish sweep",
					"UPDATE sweeps SET state = 'finished', updated_at = ?2 WHERE id = ?1 AND NOT "
					"EXISTS (SELECT 1 FROM sweep_trials WHERE sweep_id = ?1 AND state IN "
					"('pending', 'leased'))",
					"id", row.id, now)))
			goto done;
		if (sqlite3_changes(s->wdb) > 0)
			snprintf(out->state, sizeof(out->state), "finished");
		out->kind = strcmp(out->state, "finished") == 0 ? WBS__NEXT_DONE : WBS__NEXT_WAIT;
		goto done;
	}
	{
		int64_t num = n ? t[n - 1].num + 1 : 0;
		snprintf(run_id, sizeof(run_id), "%s-%lld", row.sweep_id, (long long)num);
		if ((ret = wbs__sql_run(s->wdb, &j->err, "issue trial",
					"INSERT INTO sweep_trials (sweep_id, num, run_id, params, state, agent, "
					"lease_until, created_at, started_at) VALUES (?1, ?2, ?3, ?4, 'leased', ?5, ?6 + "
					"?7, ?6, ?6)",
					"iitttdd", row.id, num, run_id, params, a->o->agent, now, row.lease_seconds)))
			goto done;
		out->kind = WBS__NEXT_TRIAL;
		out->num = num;
		out->params = params;
		params = NULL;
		if (!(out->run_id = strdup(run_id)))
			ret = wbs__sql_oom(&j->err);
	}
done:
	sqlite3_finalize(st);
	free(params);
	wbs__trial_rows_free(t, n);
	wbs__sweep_row_free(&row);
	return ret;
}

int wbs__store_sweep_next(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			  const wbs__sweep_next_opts *o, wbs__sweep_next *out, wbs__err *err)
{
	struct next_arg a = {entity, project, sweep_id, o, out};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = wbs__store_submit_fn(s, apply_next, &a, err);
	if (ret)
		wbs__sweep_next_free(out);
	return ret;
}

struct trial_arg {
	const char *entity, *project, *sweep_id, *agent;
	int64_t num;
	int exit_code, stopped;
	wbs__trial_beat *beat;
	char *state;
};

/* The trial's row id when it is leased to agent; CONFLICT (or NOTFOUND) otherwise. */
static int leased_trial(wbs__store *s, const struct trial_arg *a, wbs__sweep_row *row, int64_t *tid, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int ret, rc;

	if ((ret = find_sweep(s->wdb, a->entity, a->project, a->sweep_id, row, err)))
		return ret;
	if (!(st = wbs__sql_prepare(s->wdb, "SELECT id, state, agent FROM sweep_trials WHERE sweep_id = ?1 AND num = ?2",
				    "find trial", err)))
		return err->st;
	wbs__sql_bind(st, "ii", row->id, a->num);
	if ((rc = wbs__sql_step(s->wdb, st, "find trial", err)) < 0)
		ret = err->st;
	else if (rc == 0)
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "trial %lld of sweep %s not found", (long long)a->num,
				   a->sweep_id);
	else if (strcmp((const char *)sqlite3_column_text(st, 1), "leased") != 0 ||
		 sqlite3_column_type(st, 2) == SQLITE_NULL ||
		 strcmp((const char *)sqlite3_column_text(st, 2), a->agent) != 0)
		ret = wbs__err_set(err, WBS__ST_CONFLICT, "trial %lld is not leased to %s (it is %s)",
				   (long long)a->num, a->agent, (const char *)sqlite3_column_text(st, 1));
	else
		*tid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ret;
}

static int apply_heartbeat(wbs__store *s, wbs__job *j)
{
	const struct trial_arg *a = j->arg;
	wbs__sweep_row row;
	sqlite3_stmt *st = NULL;
	wbs__trial_beat *b = a->beat;
	int64_t tid = 0;
	int ret, rc;

	memset(&row, 0, sizeof(row));
	if ((ret = leased_trial(s, a, &row, &tid, &j->err)))
		goto done;
	b->stop = strcmp(row.state, "canceled") == 0;
	if ((ret = wbs__sql_run(s->wdb, &j->err, "trial heartbeat",
				"UPDATE sweep_trials SET lease_until = ?2 + ?3 WHERE id = ?1", "idd", tid,
				wbs__store_now(s), row.lease_seconds)) ||
	    b->stop)
		goto done;
	/* told to stop early by an ingest of its run (wbs__sweep_ingest) */
	if (!(st = wbs__sql_prepare(s->wdb,
				    "SELECT coalesce(stop_rung, -1), stop_iter, json_extract(?2, "
				    "'$.early_terminate.grace_seconds') FROM sweep_trials WHERE id = ?1 AND stopped_at IS "
				    "NOT NULL",
				    "trial stop", &j->err))) {
		ret = j->err.st;
		goto done;
	}
	wbs__sql_bind(st, "it", tid, row.spec);
	if ((rc = wbs__sql_step(s->wdb, st, "trial stop", &j->err)) < 0) {
		ret = j->err.st;
		goto done;
	}
	if (rc == 1) {
		b->stop = b->early = 1;
		b->rung = sqlite3_column_int64(st, 0);
		b->rung_iter = sqlite3_column_int64(st, 1);
		b->grace_seconds = sqlite3_column_type(st, 2) == SQLITE_NULL ? WBS__STOP_GRACE_DEFAULT
									       : sqlite3_column_double(st, 2);
	}
done:
	sqlite3_finalize(st);
	wbs__sweep_row_free(&row);
	return ret;
}

int wbs__store_trial_heartbeat(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			       int64_t num, const char *agent, wbs__trial_beat *beat, wbs__err *err)
{
	struct trial_arg a = {.entity = entity, .project = project, .sweep_id = sweep_id, .agent = agent, .num = num,
			      .beat = beat};

	memset(beat, 0, sizeof(*beat));
	return wbs__store_submit_fn(s, apply_heartbeat, &a, err);
}

static int apply_finish(wbs__store *s, wbs__job *j)
{
	const struct trial_arg *a = j->arg;
	wbs__sweep_row row;
	const char *state;
	int64_t tid = 0, told = 0;
	int ret;

	memset(&row, 0, sizeof(row));
	if ((ret = leased_trial(s, a, &row, &tid, &j->err)))
		goto done;
	state = a->stopped ? "stopped" : a->exit_code == 0 ? "finished" : "failed";
	/* a trial told to stop early is stopped however its trainer ended (exit 0 after the flag, or a signal) */
	if ((ret = wbs__sql_run(s->wdb, &j->err, "finish trial",
				"UPDATE sweep_trials SET state = CASE WHEN stopped_at IS NOT NULL THEN 'stopped' ELSE "
				"?2 END, exit_code = ?3, finished_at = ?4, lease_until = NULL WHERE id = ?1",
				"itid", tid, state, (int64_t)a->exit_code, wbs__store_now(s))))
		goto done;
	if (wbs__sql_i64(s->wdb, &j->err, &told, "finish trial",
			 "SELECT stopped_at IS NOT NULL FROM sweep_trials WHERE id = ?1", "i", tid) < 0) {
		ret = j->err.st;
		goto done;
	}
	snprintf(a->state, 16, "%s", told ? "stopped" : state);
	ret = maybe_finish(s, row.id, &j->err);
done:
	wbs__sweep_row_free(&row);
	return ret;
}

int wbs__store_trial_finish(wbs__store *s, const char *entity, const char *project, const char *sweep_id, int64_t num,
			    const char *agent, int exit_code, int stopped, char state[16], wbs__err *err)
{
	struct trial_arg a = {.entity = entity, .project = project, .sweep_id = sweep_id, .agent = agent, .num = num,
			      .exit_code = exit_code, .stopped = stopped, .state = state};

	state[0] = '\0';
	return wbs__store_submit_fn(s, apply_finish, &a, err);
}

/* One trial whose lease passed. */
struct expired {
	int64_t sid, num, origin;
};

static int expired_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	struct expired *e = row;

	(void)ctx;
	(void)err;
	e->sid = sqlite3_column_int64(st, 0);
	e->num = sqlite3_column_int64(st, 1);
	e->origin = sqlite3_column_int64(st, 2);
	return 0;
}

int wbs__sweep_expire(wbs__store *s, double now, uint64_t *n, wbs__err *err)
{
	struct expired *rows = NULL;
	void *out = NULL;
	size_t cnt = 0;
	int ret;

	*n = 0;
	ret = wbs__sql_rows(s->wdb, sizeof(struct expired), &out, &cnt, expired_row, NULL, "expire trials", err,
			    "UPDATE sweep_trials SET state = 'crashed', finished_at = ?1, lease_until = NULL "
			    "WHERE state = 'leased' AND lease_until < ?1 RETURNING sweep_id, num, coalesce(reissue_of, num)",
			    "d", now);
	rows = out;
	for (size_t i = 0; !ret && i < cnt; i++) {
		/* the parameters again, as a pending trial, while the sweep runs and the budget lasts */
		ret = wbs__sql_run(
			s->wdb, err, "re-issue trial",
			"INSERT INTO sweep_trials (sweep_id, num, run_id, params, state, reissue_of, created_at) "
			"SELECT ?1, m.next, sw.sweep_id || '-' || m.next, t.params, 'pending', ?3, ?4 "
			"FROM sweep_trials t JOIN sweeps sw ON sw.id = t.sweep_id, "
			"(SELECT max(num) + 1 AS next FROM sweep_trials WHERE sweep_id = ?1) m "
			"WHERE t.sweep_id = ?1 AND t.num = ?2 AND sw.state IN ('running', 'paused') "
			"AND (SELECT count(*) FROM sweep_trials WHERE sweep_id = ?1 AND reissue_of = ?3) < sw.reissue",
			"iiid", rows[i].sid, rows[i].num, rows[i].origin, now);
		if (!ret)
			ret = maybe_finish(s, rows[i].sid, err);
	}
	if (!ret && cnt) {
		*n = cnt;
		wbs__log(WBS__LOG_INFO, "sweep trials lost their lease: crashed", "count=%zu", cnt);
	}
	free(rows);
	return ret;
}

/*
 * store_sweep_stop.c — early stopping in the store (store_sweep.h): the
 * curves of the sweep's metric that trials report, kept at ingest, and the
 * decisions taken on them.
 *
 * A trial's run ingests as any run does; in the same writer job, its new
 * points of the sweep's metric (at the metric's step, or at the value of
 * the spec's iteration key) go into sweep_curves, and the judge callback
 * (handlers_sweep.c, over server/sweep/stop.c) decides on every curve of
 * the sweep whether this trial stops. So the decision is in the answer to
 * the very records that caused it, it is written once and never taken back,
 * and judging never decodes metric chunks. A run that is no trial pays one
 * indexed probe per ingest with metrics.
 */
#include "store/store_sweep.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dynarr.h"
#include "store/store_int.h"
#include "sweep/stop.h"
#include "util/log.h"

#define CURVE_POINTS_MAX (64u * 1024u * 1024u) /* points of one sweep's curves held at once */

/* A trial's state as the stopping rules see it (sweep.h's WBS__TRIAL_*). */
static int curve_state(const char *state)
{
	if (!state || !strcmp(state, "pending") || !strcmp(state, "leased"))
		return WBS__TRIAL_RUNNING;
	return strcmp(state, "finished") == 0 ? WBS__TRIAL_DONE : WBS__TRIAL_FAILED;
}

/* Declared in store_int.h: store_sweep.c reads the curves for the sweep's rungs too. */
int wbs__sweep_curves_load(sqlite3 *db, int64_t sid, wbs__stop_trial **t, size_t *n, wbs__stop_point **pts,
		       wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	size_t tcap = 0, pcap = 0, np = 0, *first = NULL, fcap = 0;
	int64_t cur = -1;
	int rc, ret = WBS__ST_OK;

	*t = NULL;
	*pts = NULL;
	*n = 0;
	if (!(st = wbs__sql_prepare(db,
				    "SELECT t.num, t.state, c.iter, c.value FROM sweep_trials t LEFT JOIN sweep_curves c "
				    "ON c.trial_id = t.id WHERE t.sweep_id = ?1 ORDER BY t.num, c.iter",
				    "read curves", err)))
		return err->st;
	wbs__sql_bind(st, "i", sid);
	while ((rc = wbs__sql_step(db, st, "read curves", err)) == 1) {
		int64_t num = sqlite3_column_int64(st, 0);
		if (*n == 0 || num != cur) {
			if (wb__dynarr_reserve(t, &tcap, *n, 1, sizeof(**t), WBS__TRIALS_MAX + 1) ||
			    wb__dynarr_reserve(&first, &fcap, *n, 1, sizeof(*first), WBS__TRIALS_MAX + 1)) {
				ret = wbs__sql_oom(err);
				goto done;
			}
			memset(&(*t)[*n], 0, sizeof(**t));
			(*t)[*n].num = (uint64_t)num;
			(*t)[*n].state = curve_state((const char *)sqlite3_column_text(st, 1));
			first[*n] = np;
			(*n)++;
			cur = num;
		}
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			continue; /* a trial with no point yet */
		if (wb__dynarr_reserve(pts, &pcap, np, 1, sizeof(**pts), CURVE_POINTS_MAX)) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "sweep curves: more than %u points or out of memory",
					   CURVE_POINTS_MAX);
			goto done;
		}
		(*pts)[np].iter = sqlite3_column_int64(st, 2);
		(*pts)[np].value = wbs__sql_col_real(st, 3);
		np++;
		(*t)[*n - 1].npts++;
	}
	if (rc < 0) {
		ret = err->st;
		goto done;
	}
	/* pts moved while it grew: point each trial into it only now */
	for (size_t i = 0; i < *n; i++)
		(*t)[i].pts = (*t)[i].npts ? *pts + first[i] : NULL;
done:
	sqlite3_finalize(st);
	free(first);
	return ret;
}

void wbs__store_set_sweep_judge(wbs__store *s, wbs__sweep_judge_fn fn, void *ctx)
{
	s->judge = fn;
	s->judge_ctx = ctx;
}

/* The batch's series named key, or NULL. */
static const wbs__series *batch_series(const wbs__batch *b, const char *key)
{
	for (size_t i = 0; key && i < b->nseries; i++)
		if (strcmp(b->series[i].key, key) == 0)
			return &b->series[i];
	return NULL;
}

/*
 * The (iter, value) points of the metric in the batch from frame skip on,
 * iterations above last only, into pts (*np of them, at most cap): the
 * metric's step, or the value the iteration key has at the same step in the
 * batch (a step without a whole-number iteration is left out).
 */
static void batch_points(const wbs__batch *b, uint32_t skip, const char *metric, const char *iter_key, int64_t last,
			 wbs__stop_point *pts, size_t cap, size_t *np)
{
	const wbs__series *m = batch_series(b, metric), *k = iter_key ? batch_series(b, iter_key) : NULL;
	uint32_t i, ki = 0;

	*np = 0;
	if (!m || (iter_key && !k))
		return;
	for (i = wbs__series_from(m, skip); i < m->n && *np < cap; i++) {
		int64_t it = m->steps[i];
		if (k) {
			while (ki < k->n && k->steps[ki] < m->steps[i])
				ki++;
			if (ki == k->n || k->steps[ki] != m->steps[i] || !isfinite(k->values[ki]) ||
			    k->values[ki] != floor(k->values[ki]) || fabs(k->values[ki]) > (double)WBS__STOP_ITER_MAX)
				continue;
			it = (int64_t)k->values[ki];
		}
		if (it <= last) /* iterations strictly ascend; a repeated step keeps its first value */
			continue;
		pts[*np].iter = it;
		pts[*np].value = m->values[i];
		last = it;
		(*np)++;
	}
}

int wbs__sweep_ingest(wbs__store *s, int64_t pid, const char *run_id, const struct wbs__batch *b, uint32_t skip,
		      int *should_stop, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	wbs__stop_trial *t = NULL;
	wbs__stop_point *pts = NULL, *add = NULL;
	int64_t *its = NULL;
	int64_t tid = 0, sid = 0, num = 0, last = INT64_MIN;
	char *metric = NULL, *iter_key = NULL, *spec = NULL, *state = NULL;
	size_t n = 0, nadd = 0, cap = 0, which;
	int rc, ret = WBS__ST_OK, told = 0, oom = 0;
	wbs__stop_decision d;

	*should_stop = 0;
	/* the one probe every ingest with metrics pays: is this run a trial of a sweep that stops early? */
	if (!(st = wbs__sql_prepare(s->wdb,
				    "SELECT t.id, t.num, t.state, t.stopped_at IS NOT NULL, sw.id, sw.metric, "
				    "json_extract(sw.spec, '$.early_terminate.iter'), sw.spec, "
				    "(SELECT max(iter) FROM sweep_curves WHERE trial_id = t.id) "
				    "FROM sweep_trials t JOIN sweeps sw ON sw.id = t.sweep_id WHERE t.run_id = ?1 AND "
				    "sw.project_id = ?2 AND json_extract(sw.spec, '$.early_terminate.type') IS NOT NULL",
				    "find trial of run", err)))
		return err->st;
	wbs__sql_bind(st, "ti", run_id, pid);
	if ((rc = wbs__sql_step(s->wdb, st, "find trial of run", err)) <= 0) {
		ret = rc < 0 ? err->st : WBS__ST_OK;
		goto done;
	}
	tid = sqlite3_column_int64(st, 0);
	num = sqlite3_column_int64(st, 1);
	state = wbs__sql_col_dup(st, 2, &oom);
	told = sqlite3_column_int(st, 3);
	sid = sqlite3_column_int64(st, 4);
	metric = wbs__sql_col_dup(st, 5, &oom);
	iter_key = wbs__sql_col_dup(st, 6, &oom);
	spec = wbs__sql_col_dup(st, 7, &oom);
	if (sqlite3_column_type(st, 8) != SQLITE_NULL)
		last = sqlite3_column_int64(st, 8);
	sqlite3_finalize(st);
	st = NULL;
	if (oom) {
		ret = wbs__sql_oom(err);
		goto done;
	}
	*should_stop = told;
	{
		const wbs__series *m = batch_series(b, metric);
		cap = m ? m->n : 0;
	}
	if (cap == 0)
		goto done;
	if (!(add = malloc(cap * sizeof(*add))) || !(its = malloc(cap * sizeof(*its)))) {
		ret = wbs__sql_oom(err);
		goto done;
	}
	batch_points(b, skip, metric, iter_key, last, add, cap, &nadd);
	if (nadd == 0)
		goto done;
	if (!(st = wbs__sql_prepare(s->wdb, "INSERT INTO sweep_curves (trial_id, iter, value) VALUES (?1, ?2, ?3)",
				    "keep curve", err))) {
		ret = err->st;
		goto done;
	}
	for (size_t i = 0; i < nadd; i++) {
		sqlite3_reset(st);
		wbs__sql_bind(st, "iir", tid, add[i].iter, add[i].value);
		if ((ret = wbs__sql_exec(s->wdb, st, "keep curve", err)))
			goto done;
		its[i] = add[i].iter;
	}
	/* judged while it runs and was not told before: a decision is never taken back */
	if (told || !s->judge || strcmp(state, "leased") != 0)
		goto done;
	if ((ret = wbs__sweep_curves_load(s->wdb, sid, &t, &n, &pts, err)))
		goto done;
	for (which = 0; which < n && t[which].num != (uint64_t)num; which++)
		;
	if (which == n) { /* cannot be: the trial was just found in the same transaction */
		ret = wbs__err_set(err, WBS__ST_INTERNAL, "trial %lld missing from its sweep's curves", (long long)num);
		goto done;
	}
	memset(&d, 0, sizeof(d));
	if (s->judge(s->judge_ctx, spec, t, n, which, its, nadd, &d, err) < 0) {
		ret = err->st ? err->st : WBS__ST_INTERNAL;
		goto done;
	}
	if (!d.stop)
		goto done;
	if ((ret = wbs__sql_run(s->wdb, err, "stop trial",
				"UPDATE sweep_trials SET stopped_at = ?2, stop_rung = nullif(?3, -1), stop_iter = ?4 "
				"WHERE id = ?1 AND stopped_at IS NULL",
				"idii", tid, wbs__store_now(s), (int64_t)d.rung, d.rung_iter)))
		goto done;
	*should_stop = 1;
	wbs__log(WBS__LOG_INFO, "sweep trial stopped early", "run=%s rung=%d iter=%lld", run_id, d.rung,
		 (long long)d.rung_iter);
done:
	sqlite3_finalize(st);
	free(t);
	free(pts);
	free(add);
	free(its);
	free(metric);
	free(iter_key);
	free(spec);
	free(state);
	return ret;
}

int wbs__sweep_told(wbs__store *s, int64_t pid, const char *run_id, int *should_stop, wbs__err *err)
{
	int64_t told = 0;
	int rc;

	rc = wbs__sql_i64(s->wdb, err, &told, "find trial of run",
			  "SELECT 1 FROM sweep_trials t JOIN sweeps sw ON sw.id = t.sweep_id WHERE t.run_id = ?1 AND "
			  "sw.project_id = ?2 AND t.stopped_at IS NOT NULL",
			  "ti", run_id, pid);
	*should_stop = rc == 1;
	return rc < 0 ? err->st : WBS__ST_OK;
}


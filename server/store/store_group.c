/*
 * store_group.c — groups of runs and their cross-rank aggregates (see
 * store_group.h for the semantics).
 *
 * Groups are queries over runs, not rows of their own: a rank that arrives
 * late, a rank that logs fewer steps, a rank that crashes all show up in
 * the next answer with no bookkeeping to keep in step. The aggregates reuse
 * the per-run history (M4 buckets over tsz chunks) of each rank over one
 * common step range and fold the ranks together bucket by bucket, so a
 * group chart costs about what its ranks' charts cost.
 */
#include "store/store_group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "tsz.h"

#define GROUPS_MAX 1000
#define MEMBERS_MAX 100000
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *group_state(const wbs__group_row *g)
{
	if (g->crashed)
		return "crashed";
	if (g->running)
		return "running";
	if (g->failed)
		return "failed";
	return "finished";
}

static const char GROUPS_SQL[] =
    "SELECT r.grp, count(*), sum(r.state = 'running'), sum(r.state = 'finished'), sum(r.state = 'failed'),"
    " sum(r.state = 'crashed'), min(r.created_at), max(r.updated_at)"
    " FROM runs r JOIN projects p ON p.id = r.project_id"
    " WHERE p.entity = ?1 AND p.name = ?2 AND r.grp IS NOT NULL AND (?3 IS NULL OR r.grp = ?3)"
    " GROUP BY r.grp ORDER BY max(r.created_at) DESC LIMIT " STR(GROUPS_MAX);

static int group_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__group_row *g = row;
	int oom = 0;

	(void)ctx;
	g->group = wbs__sql_col_dup(st, 0, &oom);
	g->runs = (uint64_t)sqlite3_column_int64(st, 1);
	g->running = (uint64_t)sqlite3_column_int64(st, 2);
	g->finished = (uint64_t)sqlite3_column_int64(st, 3);
	g->failed = (uint64_t)sqlite3_column_int64(st, 4);
	g->crashed = (uint64_t)sqlite3_column_int64(st, 5);
	g->created_at = wbs__sql_col_real(st, 6);
	g->updated_at = wbs__sql_col_real(st, 7);
	g->state = group_state(g);
	return oom ? wbs__sql_oom(err) : 0;
}

static int groups_query(wbs__store *s, const char *entity, const char *project, const char *group,
			wbs__group_row **rows, size_t *n, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	void *out = NULL;
	size_t nout = 0;
	int ret;

	*rows = NULL;
	*n = 0;
	if (!r)
		return err->st;
	if (!(st = wbs__sql_prepare(r->db, GROUPS_SQL, "prepare group query", err))) {
		ret = err->st;
	} else {
		wbs__sql_bind(st, "ttt", entity, project, group);
		ret = wbs__sql_rows_st(r->db, st, sizeof(wbs__group_row), group ? 1u : GROUPS_MAX, &out, &nout,
				       group_row, NULL, "list groups", err);
		sqlite3_finalize(st);
	}
	wbs__reader_put(s, r);
	if (ret) {
		wbs__group_rows_free(out, nout);
		return ret;
	}
	*rows = out;
	*n = nout;
	return WBS__ST_OK;
}

int wbs__store_groups_list(wbs__store *s, const char *entity, const char *project, wbs__group_row **rows,
			   size_t *n, wbs__err *err)
{
	return groups_query(s, entity, project, NULL, rows, n, err);
}

void wbs__group_rows_free(wbs__group_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].group);
	free(rows);
}

static const char MEMBERS_SQL[] =
    "SELECT r.run_id, r.name, r.state, json_extract(r.metadata, '$.hostname'),"
    " json_extract(r.metadata, '$.distributed.rank') AS rank, r.last_step, r.heartbeat_at,"
    " k.first_step, k.last_step, k.vmin, k.vmax"
    " FROM runs r JOIN projects p ON p.id = r.project_id"
    " LEFT JOIN metric_keys k ON k.run_id = r.id AND k.key = '_timestamp'"
    " WHERE p.entity = ?1 AND p.name = ?2 AND r.grp = ?3"
    " ORDER BY rank IS NULL, rank, r.run_id LIMIT " STR(MEMBERS_MAX);

static int member_row(sqlite3_stmt *st, void *row, void *ctx, wbs__err *err)
{
	wbs__group_member *m = row;
	double t0, t1;
	int oom = 0;

	(void)ctx;
	m->run_id = wbs__sql_col_dup(st, 0, &oom);
	m->name = wbs__sql_col_dup(st, 1, &oom);
	m->state = wbs__sql_col_dup(st, 2, &oom);
	m->host = wbs__sql_col_dup(st, 3, &oom);
	m->rank = sqlite3_column_type(st, 4) == SQLITE_INTEGER ? sqlite3_column_int(st, 4) : -1;
	m->last_step = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	m->heartbeat_at = wbs__sql_col_real(st, 6);
	/* _timestamp holds one wall time per step, increasing: min is the
	 * first step's, max the last's */
	t0 = wbs__sql_col_real(st, 9);
	t1 = wbs__sql_col_real(st, 10);
	m->last_step_time = t1;
	m->step_rate = NAN;
	if (sqlite3_column_type(st, 7) != SQLITE_NULL && t1 > t0)
		m->step_rate = (double)(sqlite3_column_int64(st, 8) - sqlite3_column_int64(st, 7)) / (t1 - t0);
	return oom ? wbs__sql_oom(err) : 0;
}

int wbs__store_group_get(wbs__store *s, const char *entity, const char *project, const char *group,
			 wbs__group_row *row, wbs__group_member **members, size_t *n, wbs__err *err)
{
	wbs__group_row *g = NULL;
	size_t ng = 0, nout = 0;
	wbs__reader *r = NULL;
	void *out = NULL;
	int ret;

	memset(row, 0, sizeof(*row));
	*members = NULL;
	*n = 0;
	if ((ret = groups_query(s, entity, project, group, &g, &ng, err)))
		return ret;
	if (ng == 0) {
		wbs__group_rows_free(g, ng);
		return wbs__err_set(err, WBS__ST_NOTFOUND, "group %s/%s/%s not found", entity, project, group);
	}
	if (!(r = wbs__reader_get(s, err))) {
		ret = err->st;
		goto done;
	}
	if ((ret = wbs__sql_rows(r->db, sizeof(wbs__group_member), &out, &nout, member_row, NULL,
				 "list group members", err, MEMBERS_SQL, "ttt", entity, project, group)))
		goto done;
	*row = g[0];
	g[0].group = NULL;
	*members = out;
	*n = nout;
	out = NULL;
	nout = 0;
done:
	wbs__reader_put(s, r);
	wbs__group_members_free(out, nout);
	wbs__group_rows_free(g, ng);
	return ret;
}

void wbs__group_members_free(wbs__group_member *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].run_id);
		free(m[i].name);
		free(m[i].state);
		free(m[i].host);
	}
	free(m);
}

static const char KEY_RANGE_SQL[] =
    "SELECT r.run_id, k.first_step, k.last_step FROM metric_keys k JOIN runs r ON r.id = k.run_id"
    " JOIN projects p ON p.id = r.project_id"
    " WHERE p.entity = ?1 AND p.name = ?2 AND r.grp = ?3 AND k.key = ?4 AND k.count > 0"
    " ORDER BY r.run_id LIMIT " STR(MEMBERS_MAX);

/* The runs of the group that have key, and the union of their step ranges. */
static int key_ranks(wbs__store *s, const char *entity, const char *project, const char *group, const char *key,
		     char ***ids, size_t *n, int64_t *lo, int64_t *hi, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	char **out = NULL;
	size_t nout = 0, cap = 0;
	int rc, ret, oom = 0;

	*ids = NULL;
	*n = 0;
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	if (!r)
		return err->st;
	if (!(st = wbs__sql_prepare(r->db, KEY_RANGE_SQL, "prepare group query", err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 1), b = sqlite3_column_int64(st, 2);
		if (nout == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **p = realloc(out, ncap * sizeof(*p));
			if (!p) {
				ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
				goto done;
			}
			out = p;
			cap = ncap;
		}
		out[nout++] = wbs__sql_col_dup(st, 0, &oom);
		if (oom) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		*lo = a < *lo ? a : *lo;
		*hi = b > *hi ? b : *hi;
	}
	if (rc != SQLITE_DONE) {
		ret = wbs__store_sqlerr(err, r->db, rc, "group key range");
		goto done;
	}
	*ids = out;
	*n = nout;
	out = NULL;
	nout = 0;
	ret = WBS__ST_OK;
done:
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	for (size_t i = 0; i < nout; i++)
		free(out[i]);
	free(out);
	return ret;
}

/* Per-bucket accumulators over ranks (Welford for mean and variance). */
typedef struct agg {
	double mean, m2, min, max;
	uint32_t count;
	int64_t step;
	int any; /* some rank has points here, maybe all NaN */
} agg;

/* Per-bucket state of the rank being folded in. */
typedef struct rank_bucket {
	double last, min, max;
	int64_t step;
	int has;
} rank_bucket;

static void fold_rank(agg *acc, rank_bucket *rb, uint32_t nb)
{
	for (uint32_t b = 0; b < nb; b++) {
		agg *a = &acc[b];
		if (!rb[b].has)
			continue;
		if (!a->any) {
			a->min = rb[b].min;
			a->max = rb[b].max;
			a->step = rb[b].step;
			a->any = 1;
		} else {
			if (isnan(a->min) || rb[b].min < a->min)
				a->min = rb[b].min;
			if (isnan(a->max) || rb[b].max > a->max)
				a->max = rb[b].max;
			if (rb[b].step > a->step)
				a->step = rb[b].step;
		}
		if (!isnan(rb[b].last)) {
			double d = rb[b].last - a->mean;
			a->count++;
			a->mean += d / a->count;
			a->m2 += d * (rb[b].last - a->mean);
		}
		rb[b].has = 0;
	}
}

int wbs__store_group_history(wbs__store *s, const char *entity, const char *project, const char *group,
			     const char *key, int64_t start, int64_t end, uint32_t nbuckets,
			     wbs__group_history *out, wbs__err *err)
{
	char **ids = NULL;
	size_t nids = 0, len = 0;
	int64_t lo, hi;
	agg *acc = NULL;
	rank_bucket *rb = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = key_ranks(s, entity, project, group, key, &ids, &nids, &lo, &hi, err)))
		return ret;
	if (nids == 0) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no run of group %s has metric %s", group, key);
		goto done;
	}
	/* one concrete range for every rank, so buckets line up */
	start = start > lo ? start : lo;
	end = end < hi ? end : hi;
	out->ranks = (uint32_t)nids;
	if (start > end || nbuckets == 0) {
		ret = WBS__ST_OK;
		goto done;
	}
	acc = calloc(nbuckets, sizeof(*acc));
	rb = calloc(nbuckets, sizeof(*rb));
	if (!acc || !rb) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nids; i++) {
		wbs__run_ref ref = {entity, project, ids[i]};
		wbs__history h;
		ret = wbs__store_history_grid(s, &ref, key, start, end, nbuckets, &h, err);
		if (ret == WBS__ST_NOTFOUND)
			continue; /* deleted since the range query */
		if (ret)
			goto done;
		out->downsampled |= h.downsampled;
		for (size_t j = 0; j < h.len; j++) {
			uint32_t b = wb__bucket_of(start, end, nbuckets, h.step[j]);
			rank_bucket *x = &rb[b];
			if (!x->has) {
				x->min = h.min[j];
				x->max = h.max[j];
				x->has = 1;
			} else {
				if (isnan(x->min) || h.min[j] < x->min)
					x->min = h.min[j];
				if (isnan(x->max) || h.max[j] > x->max)
					x->max = h.max[j];
			}
			x->last = h.last[j]; /* rows come in step order: the rank's last value wins */
			x->step = h.step[j];
		}
		wbs__history_free(&h);
		fold_rank(acc, rb, nbuckets);
	}
	for (uint32_t b = 0; b < nbuckets; b++)
		len += acc[b].any;
	out->step = malloc((len ? len : 1) * sizeof(*out->step));
	out->mean = malloc((len ? len : 1) * sizeof(double));
	out->std = malloc((len ? len : 1) * sizeof(double));
	out->min = malloc((len ? len : 1) * sizeof(double));
	out->max = malloc((len ? len : 1) * sizeof(double));
	out->count = malloc((len ? len : 1) * sizeof(*out->count));
	if (!out->step || !out->mean || !out->std || !out->min || !out->max || !out->count) {
		wbs__group_history_free(out);
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	for (uint32_t b = 0; b < nbuckets; b++) {
		const agg *a = &acc[b];
		if (!a->any)
			continue;
		out->step[out->len] = a->step;
		out->mean[out->len] = a->count ? a->mean : NAN;
		out->std[out->len] = a->count ? sqrt(a->m2 / a->count) : NAN;
		out->min[out->len] = a->min;
		out->max[out->len] = a->max;
		out->count[out->len] = a->count;
		out->len++;
	}
	out->ranks = (uint32_t)nids;
	ret = WBS__ST_OK;
done:
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	free(acc);
	free(rb);
	return ret;
}

void wbs__group_history_free(wbs__group_history *h)
{
	free(h->step);
	free(h->mean);
	free(h->std);
	free(h->min);
	free(h->max);
	free(h->count);
	memset(h, 0, sizeof(*h));
}

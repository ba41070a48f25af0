/*
 * store_series.c — reading a metric's series and its history (downsampled),
 * on pooled read-only connections (see store_read.c for the snapshot rule:
 * the writer rewrites a series' tail chunk in place, so a history read
 * runs in one BEGIN ... COMMIT).
 *
 * History reads only chunk metas first (a narrow index-ordered scan) and
 * hands them to wb__downsample, which fetches the blobs of just the chunks
 * it needs through a callback; chunks that fall inside one bucket are
 * answered from their meta alone.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* ---- series ---- */

struct wbs__series_it {
	wbs__store *s;
	wbs__reader *r;
	int64_t key_id;
	int64_t *nos; /* chunk numbers, in order */
	size_t nchunks, cap, next;
	wb__chunk_meta *metas;
	int64_t steps[WB__TSZ_CHUNK_POINTS];
	double values[WB__TSZ_CHUNK_POINTS];
};

void wbs__series_it_close(wbs__series_it *it)
{
	if (!it)
		return;
	if (it->r)
		wbs__reader_put(it->s, it->r);
	free(it->nos);
	free(it->metas);
	free(it);
}

/* Load the chunk metas of it->key_id. */
static int metas_load(wbs__series_it *it, wbs__err *err)
{
	sqlite3_stmt *st = wbs__reader_stmt(it->r, RS_CHUNK_METAS, err);
	int rc;

	if (!st)
		return err->st;
	sqlite3_bind_int64(st, 1, it->key_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wb__chunk_meta *m;
		if (it->nchunks == it->cap) {
			size_t cap = it->cap ? it->cap * 2 : 64;
			int64_t *nos = realloc(it->nos, cap * sizeof(*nos));
			wb__chunk_meta *metas;
			if (!nos) {
				sqlite3_reset(st);
				return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			}
			it->nos = nos;
			metas = realloc(it->metas, cap * sizeof(*metas));
			if (!metas) {
				sqlite3_reset(st);
				return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			}
			it->metas = metas;
			it->cap = cap;
		}
		it->nos[it->nchunks] = sqlite3_column_int64(st, 0);
		m = &it->metas[it->nchunks++];
		m->step_min = sqlite3_column_int64(st, 1);
		m->step_max = sqlite3_column_int64(st, 2);
		m->n = (uint32_t)sqlite3_column_int64(st, 3);
		m->vmin = wbs__sql_col_real(st, 4);
		m->vmax = wbs__sql_col_real(st, 5);
		m->vlast = wb__bits_f64((uint64_t)sqlite3_column_int64(st, 6));
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? WBS__ST_OK : wbs__store_sqlerr(err, it->r->db, rc, "read chunk metas");
}

int wbs__store_series_open(wbs__store *s, const wbs__run_ref *ref, const char *key, wbs__series_it **out, wbs__err *err)
{
	wbs__series_it *it = calloc(1, sizeof(*it));
	int64_t run;
	int ret;

	*out = NULL;
	if (!it)
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	it->s = s;
	if (!(it->r = wbs__reader_get(s, err))) {
		ret = err->st;
		goto fail;
	}
	if ((ret = wbs__reader_begin(it->r, err)) || (ret = wbs__reader_run_id(it->r, ref, &run, err)) ||
	    (ret = wbs__reader_key_id(it->r, run, key, &it->key_id, err)) || (ret = metas_load(it, err)))
		goto fail;
	*out = it;
	return WBS__ST_OK;
fail:
	wbs__series_it_close(it);
	return ret;
}

/* Fetch the blob of chunk i (wb__chunk_fetch_fn). The blob lives until the next call. */
static int chunk_fetch(void *ctx, size_t i, const uint8_t **blob, size_t *len)
{
	wbs__series_it *it = ctx;
	wbs__err err;
	sqlite3_stmt *st = wbs__reader_stmt(it->r, RS_CHUNK_DATA, &err);

	if (!st || i >= it->nchunks)
		return -1;
	sqlite3_bind_int64(st, 1, it->key_id);
	sqlite3_bind_int64(st, 2, it->nos[i]);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	*blob = sqlite3_column_blob(st, 0);
	*len = (size_t)sqlite3_column_bytes(st, 0);
	return *blob ? 0 : -1;
}

int wbs__series_it_next(wbs__series_it *it, const int64_t **steps, const double **values, uint32_t *n, wbs__err *err)
{
	const uint8_t *blob;
	size_t len;
	int64_t got;

	if (it->next >= it->nchunks)
		return 0;
	if (chunk_fetch(it, it->next, &blob, &len)) {
		wbs__err_set(err, WBS__ST_INTERNAL, "cannot read chunk %lld", (long long)it->nos[it->next]);
		return -1;
	}
	got = wb__tsz_decode(blob, len, it->steps, it->values, WB__TSZ_CHUNK_POINTS);
	if (got < 0 || (uint64_t)got != it->metas[it->next].n) {
		wbs__err_set(err, WBS__ST_INTERNAL, "stored chunk %lld is damaged", (long long)it->nos[it->next]);
		return -1;
	}
	it->next++;
	*steps = it->steps;
	*values = it->values;
	*n = (uint32_t)got;
	return 1;
}

void wbs__series_it_rewind(wbs__series_it *it) { it->next = 0; }

void wbs__history_free(wbs__history *h)
{
	if (!h)
		return;
	free(h->step);
	free(h->min);
	free(h->max);
	free(h->last);
	free(h->count);
	memset(h, 0, sizeof(*h));
}

static int history_alloc(wbs__history *h, size_t n)
{
	size_t k = n ? n : 1;
	h->step = malloc(k * sizeof(*h->step));
	h->min = malloc(k * sizeof(*h->min));
	h->max = malloc(k * sizeof(*h->max));
	h->last = malloc(k * sizeof(*h->last));
	h->count = malloc(k * sizeof(*h->count));
	return h->step && h->min && h->max && h->last && h->count ? 0 : -1;
}

/* Every point of [start, end] as its own row (there are at most cap). */
static int history_raw(wbs__series_it *it, int64_t start, int64_t end, uint32_t cap, wbs__history *h, wbs__err *err)
{
	const int64_t *st;
	const double *va;
	uint32_t n;
	int rc;

	if (history_alloc(h, cap))
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	for (size_t c = 0; c < it->nchunks; c++) {
		if (it->metas[c].step_max < start || it->metas[c].step_min > end)
			continue;
		it->next = c;
		rc = wbs__series_it_next(it, &st, &va, &n, err);
		if (rc < 0)
			return err->st;
		for (uint32_t i = 0; i < n; i++) {
			if (st[i] < start || st[i] > end)
				continue;
			if (h->len == cap)
				return wbs__err_set(err, WBS__ST_INTERNAL, "chunk metas disagree with their points");
			h->step[h->len] = st[i];
			h->min[h->len] = h->max[h->len] = h->last[h->len] = va[i];
			h->count[h->len] = 1;
			h->len++;
		}
	}
	h->total = h->len;
	h->downsampled = 0;
	return WBS__ST_OK;
}

/*
 * The one history reader behind wbs__store_history and
 * wbs__store_history_grid. fit: narrow [start, end] to the series' own
 * steps first, so that a run's chart spends its buckets on points; without
 * it the buckets stay on the caller's grid, which several series read over
 * one range must share.
 */
static int history_read(wbs__store *s, const wbs__run_ref *ref, const char *key, int64_t start, int64_t end,
			uint32_t nbuckets, int fit, wbs__history *out, wbs__err *err)
{
	wbs__series_it *it = NULL;
	wb__buckets b;
	uint64_t upper = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	if ((ret = wbs__store_series_open(s, ref, key, &it, err)))
		return ret;
	if (it->nchunks == 0)
		goto ok;
	/* Clamp the range to the data so that buckets cover points, not empty steps. */
	if (fit && start < it->metas[0].step_min)
		start = it->metas[0].step_min;
	if (fit && end > it->metas[it->nchunks - 1].step_max)
		end = it->metas[it->nchunks - 1].step_max;
	if (start > end)
		goto ok;
	for (size_t c = 0; c < it->nchunks; c++)
		if (it->metas[c].step_max >= start && it->metas[c].step_min <= end)
			upper += it->metas[c].n;
	if (upper <= nbuckets) {
		ret = history_raw(it, start, end, (uint32_t)upper, out, err);
		goto done;
	}
	if (wb__downsample(it->metas, it->nchunks, chunk_fetch, it, start, end, nbuckets, &b)) {
		ret = wbs__err_set(err, WBS__ST_INTERNAL, "downsampling failed");
		goto done;
	}
	if (b.total <= nbuckets) {
		/* Partly covered chunks overstated the count: few enough points for raw rows. */
		wbs__history_free(out);
		ret = history_raw(it, start, end, (uint32_t)b.total, out, err);
		goto done;
	}
	if (history_alloc(out, b.len)) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	out->len = b.len;
	if (b.len) {
		memcpy(out->step, b.step, b.len * sizeof(*b.step));
		memcpy(out->min, b.min, b.len * sizeof(*b.min));
		memcpy(out->max, b.max, b.len * sizeof(*b.max));
		memcpy(out->last, b.last, b.len * sizeof(*b.last));
		memcpy(out->count, b.count, b.len * sizeof(*b.count));
	}
	out->total = b.total;
	out->downsampled = 1;
ok:
	ret = WBS__ST_OK;
done:
	wb__buckets_free(&b);
	wbs__series_it_close(it);
	if (ret)
		wbs__history_free(out);
	return ret;
}

int wbs__store_history(wbs__store *s, const wbs__run_ref *ref, const char *key, int64_t start, int64_t end,
		      uint32_t nbuckets, wbs__history *out, wbs__err *err)
{
	return history_read(s, ref, key, start, end, nbuckets, 1, out, err);
}

int wbs__store_history_grid(wbs__store *s, const wbs__run_ref *ref, const char *key, int64_t start, int64_t end,
			   uint32_t nbuckets, wbs__history *out, wbs__err *err)
{
	return history_read(s, ref, key, start, end, nbuckets, 0, out, err);
}


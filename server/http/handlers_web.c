/*
 * handlers_web.c — the /api/v1 routes the web UI needs beyond ingest and
 * single-run reads:
 *
 *   PATCH .../runs/{run_id}                 edit name, notes, tags
 *   GET   /projects/{e}/{p}/history?runs=   one metric of many runs
 *                                           (&include=run: with each run object)
 *   GET   /projects/{e}/{p}/runs?group_by=  the runs table grouped by a field,
 *                                           with per-group aggregates (&agg=)
 *
 * The second exists so that a comparison of 1,000 runs is one request and
 * one read pass, not 1,000 round trips: each run's series is downsampled by
 * the store exactly as the single-run /history does (M4: min, max, last per
 * bucket), and a run that is missing or has no such metric is reported in
 * place rather than failing the whole answer.
 */
#include "http_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "wire.h"

#define HISTORY_RUNS_MAX 1000u
#define RUNS_PARAM_MAX (HISTORY_RUNS_MAX * 65u + 1u)
#define KEY_PARAM_MAX (WB__KEY_MAX * 3u + 1u)

void wbs__h_run_patch(wbs__req *q)
{
	cJSON *j = NULL;
	const cJSON *it;
	wbs__run_fields f;
	wbs__run_row row;
	wbs__err e = {0};
	wbs__buf b;
	char why[256];

	memset(&f, 0, sizeof(f));
	memset(&row, 0, sizeof(row));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__read_json(q, WBS__BODY_REQUIRED | WBS__BODY_OBJECT, WBS__JSON_BODY_MAX, WBS__JSON_BODY_MAX, &j))
		goto done;
	/* Only what a person edits in the UI; the rest belongs to the trainer. */
	cJSON_ArrayForEach(it, j) {
		if (strcmp(it->string, "name") != 0 && strcmp(it->string, "notes") != 0 &&
		    strcmp(it->string, "tags") != 0) {
			wbs__send_error(q, 400, "invalid_argument", "only name, notes and tags can be changed");
			goto done;
		}
	}
	if (wbs__run_fields_parse(&f, j, why, sizeof(why))) {
		wbs__send_error(q, 400, "invalid_argument", "%s", why);
		goto done;
	}
	if (wbs__store_run_patch(q->store, &q->ref, &f, &e) || wbs__store_run_get(q->store, &q->ref, &row, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__render_run(&b, &row);
	wbs__send_json(q, 200, &b);
done:
	wbs__run_row_free(&row);
	wbs__run_fields_free(&f);
	cJSON_Delete(j);
	wbs__buf_free(&b);
}

/* ,"name":[v0,v1,...] */
static void put_i64s(wbs__buf *b, const char *name, const int64_t *v, size_t n)
{
	wbs__buf_printf(b, ",\"%s\":", name);
	wbs__json_i64s(b, v, n);
}

static void put_f64s(wbs__buf *b, const char *name, const double *v, size_t n)
{
	wbs__buf_printf(b, ",\"%s\":", name);
	wbs__json_nums(b, v, n);
}

/* An integer query parameter in [lo, hi]; 1 set, 0 absent, -1 answered 400. */
static int int_param(wbs__req *q, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	char val[64];
	int r = wbs__query_param(q, name, 0, val, sizeof(val));

	if (r <= 0)
		return r;
	if (wbs__parse_i64(val, lo, hi, out)) {
		wbs__send_error(q, 400, "invalid_argument", "%s must be an integer from %lld to %lld", name,
			       (long long)lo, (long long)hi);
		return -1;
	}
	return 1;
}

void wbs__h_project_history(wbs__req *q)
{
	char key[KEY_PARAM_MAX];
	char *runs = NULL, *save = NULL, *id;
	char inc[16];
	int64_t start = INT64_MIN, end = INT64_MAX, nb = 1000;
	wbs__buf b;
	size_t klen, nruns = 0;
	int r, with_run = 0;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if ((r = wbs__query_param(q, "key", 0, key, sizeof(key))) < 0)
		goto done;
	klen = r ? strlen(key) : 0;
	if (klen == 0 || klen > WB__KEY_MAX || !wbs__text_valid(key, klen, 0)) {
		wbs__send_error(q, 400, "invalid_argument", "key must be 1 to 255 bytes without control characters");
		goto done;
	}
	if (!(runs = malloc(RUNS_PARAM_MAX))) {
		wbs__send_error(q, 500, "internal", "out of memory");
		goto done;
	}
	if ((r = wbs__query_param(q, "runs", 0, runs, RUNS_PARAM_MAX)) < 0)
		goto done;
	if (r == 0 || !*runs) {
		wbs__send_error(q, 400, "invalid_argument", "query parameter runs is required (comma-separated run ids)");
		goto done;
	}
	if (int_param(q, "buckets", 1, 10000, &nb) < 0 || int_param(q, "start", INT64_MIN, INT64_MAX, &start) < 0 ||
	    int_param(q, "end", INT64_MIN, INT64_MAX, &end) < 0)
		goto done;
	if (start > end) {
		wbs__send_error(q, 400, "invalid_argument", "start must not be after end");
		goto done;
	}
	if ((r = wbs__query_param(q, "include", 0, inc, sizeof(inc))) < 0)
		goto done;
	if (r && !(with_run = strcmp(inc, "run") == 0)) {
		wbs__send_error(q, 400, "invalid_argument", "include must be run");
		goto done;
	}
	/* Validate every id before reading anything. */
	for (const char *p = runs; *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char one[80];
		if (n == 0 || n >= sizeof(one)) {
			wbs__send_error(q, 400, "invalid_argument", "runs must be comma-separated run ids");
			goto done;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (!wb__name_valid(one)) {
			wbs__send_error(q, 400, "invalid_argument", "run id must match [A-Za-z0-9_.-]{1,64}");
			goto done;
		}
		if (++nruns > HISTORY_RUNS_MAX) {
			wbs__send_error(q, 400, "invalid_argument", "at most %u runs per request", HISTORY_RUNS_MAX);
			goto done;
		}
		p += n + (c ? 1 : 0);
	}
	wbs__buf_puts(&b, "{\"key\":");
	wbs__json_cstr(&b, key);
	wbs__buf_puts(&b, ",\"runs\":[");
	nruns = 0;
	for (id = strtok_r(runs, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
		wbs__run_ref ref = {q->ref.entity, q->ref.project, id};
		wbs__history h;
		wbs__err e = {0};

		memset(&h, 0, sizeof(h));
		if (nruns++)
			wbs__buf_putc(&b, ',');
		wbs__buf_puts(&b, "{\"id\":");
		wbs__json_cstr(&b, id);
		if (with_run) {
			wbs__run_row row;
			memset(&row, 0, sizeof(row));
			if (wbs__store_run_get(q->store, &ref, &row, &e)) {
				if (e.st != WBS__ST_NOTFOUND) {
					wbs__send_store_error(q, &e);
					goto done;
				}
				wbs__buf_puts(&b, ",\"error\":\"not_found\"}");
				continue;
			}
			wbs__buf_puts(&b, ",\"run\":");
			wbs__render_run(&b, &row);
			wbs__run_row_free(&row);
		}
		if (wbs__store_history(q->store, &ref, key, start, end, (uint32_t)nb, &h, &e)) {
			if (e.st != WBS__ST_NOTFOUND) {
				wbs__send_store_error(q, &e);
				goto done;
			}
			wbs__buf_puts(&b, ",\"error\":\"not_found\"}");
			continue;
		}
		wbs__buf_puts(&b, ",\"total\":");
		wbs__json_i64(&b, (int64_t)h.total);
		wbs__buf_puts(&b, h.downsampled ? ",\"downsampled\":true" : ",\"downsampled\":false");
		put_i64s(&b, "step", h.step, h.len);
		put_f64s(&b, "min", h.min, h.len);
		put_f64s(&b, "max", h.max, h.len);
		put_f64s(&b, "last", h.last, h.len);
		wbs__buf_putc(&b, '}');
		wbs__history_free(&h);
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	free(runs);
	wbs__buf_free(&b);
}

/* A SQLite group value as JSON. */
static void put_group_value(wbs__buf *b, const wbs__bucket_row *g)
{
	switch (g->vtype) {
	case WBS__GV_INT: wbs__json_i64(b, g->vint); break;
	case WBS__GV_REAL: wbs__json_num_or_null(b, g->vreal); break;
	case WBS__GV_TEXT: wbs__json_cstr(b, g->vtext); break;
	default: wbs__buf_puts(b, "null"); break;
	}
}

/*
 * The grouped runs table: a group per distinct value of group_by among the
 * runs that pass the filters, each with its run count and, per agg column,
 * count/mean/min/max over the runs where that column is a number. All of it
 * is computed by SQLite in one read snapshot, so the browser never pulls
 * 10,000 runs to group them; limit/offset page the groups.
 */
int wbs__runs_grouped(wbs__req *q, wbs__runs_query *rq)
{
	char val[WBS__FILTER_VALUE_MAX * 2 + 64], why[256];
	wbs__bucket_row *rows = NULL;
	size_t n = 0;
	uint64_t ngroups = 0, nruns = 0;
	wbs__err e = {0};
	wbs__buf b;
	int r, has_group;

	if ((has_group = wbs__query_param(q, "group_by", 0, val, sizeof(val))) < 0)
		return 1;
	if (!has_group) {
		if ((r = wbs__query_param(q, "agg", 0, why, sizeof(why))) < 0)
			return 1;
		if (r) {
			wbs__send_error(q, 400, "invalid_argument", "agg needs group_by");
			return 1;
		}
		return 0;
	}
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__field_parse(&rq->group_by, val, WBS__QU_GROUP, why, sizeof(why))) {
		wbs__send_error(q, 400, "invalid_argument", "%s", why);
		goto done;
	}
	rq->grouped = 1;
	for (int i = 0;; i++) {
		if ((r = wbs__query_param(q, "agg", i, val, sizeof(val))) < 0)
			goto done;
		if (r == 0)
			break;
		if (rq->naggs == WBS__AGGS_MAX) {
			wbs__send_error(q, 400, "invalid_argument", "at most %u agg columns", WBS__AGGS_MAX);
			goto done;
		}
		if (wbs__field_parse(&rq->aggs[rq->naggs], val, WBS__QU_AGG, why, sizeof(why))) {
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
			goto done;
		}
		rq->naggs++;
	}
	if (wbs__store_runs_group(q->store, q->ref.entity, q->ref.project, rq, &rows, &n, &ngroups, &nruns, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"group_by\":");
	if (wbs__query_param(q, "group_by", 0, val, sizeof(val)) < 0)
		goto done;
	wbs__json_cstr(&b, val);
	wbs__buf_puts(&b, ",\"groups\":[");
	for (size_t i = 0; i < n; i++) {
		const wbs__bucket_row *g = &rows[i];
		wbs__buf_puts(&b, i ? ",{\"value\":" : "{\"value\":");
		put_group_value(&b, g);
		wbs__buf_puts(&b, ",\"count\":");
		wbs__json_i64(&b, (int64_t)g->count);
		wbs__buf_puts(&b, ",\"aggregates\":{");
		for (size_t a = 0; a < rq->naggs; a++) {
			if (wbs__query_param(q, "agg", (int)a, val, sizeof(val)) < 0)
				goto done;
			if (a)
				wbs__buf_putc(&b, ',');
			wbs__json_cstr(&b, val);
			wbs__buf_puts(&b, ":{\"count\":");
			wbs__json_i64(&b, (int64_t)g->agg[a].n);
			wbs__buf_puts(&b, ",\"mean\":");
			wbs__json_num_or_null(&b, g->agg[a].n ? g->agg[a].mean : NAN);
			wbs__buf_puts(&b, ",\"min\":");
			wbs__json_num_or_null(&b, g->agg[a].n ? g->agg[a].min : NAN);
			wbs__buf_puts(&b, ",\"max\":");
			wbs__json_num_or_null(&b, g->agg[a].n ? g->agg[a].max : NAN);
			wbs__buf_putc(&b, '}');
		}
		wbs__buf_puts(&b, "}}");
	}
	wbs__buf_puts(&b, "],\"total_groups\":");
	wbs__json_i64(&b, (int64_t)ngroups);
	wbs__buf_puts(&b, ",\"total\":");
	wbs__json_i64(&b, (int64_t)nruns);
	wbs__buf_puts(&b, ",\"limit\":");
	wbs__json_i64(&b, rq->limit);
	wbs__buf_puts(&b, ",\"offset\":");
	wbs__json_i64(&b, (int64_t)rq->offset);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	wbs__bucket_rows_free(rows, n);
	wbs__buf_free(&b);
	return 1;
}

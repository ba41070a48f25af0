/*
 * test_store.c — the SQLite store through its interface (store.h): runs,
 * ingest of real wire frames (built with wire.c), bit-exact read-back,
 * sequence handling, all-or-nothing jobs, summary materialisation, the
 * crash sweep (fake clock) and run listing. Each case uses its own mkdtemp
 * data directory, removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/batch.h"
#include "model/query.h"
#include "store/store.h"
#include "tsz.h"
#include "wire.h"
#include "../../../frames.h"

/* ---- fixtures ---- */

static double fake_now = 1000.0;
static double fake_clock(void) { return fake_now; }

typedef struct fx {
	char dir[64];
	wbs__store *s;
} fx;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void fx_open(fx *f)
{
	wbs__store_opts o = {0};
	wbs__err e = {0};

	o.dir = f->dir;
	o.crash_after = 10;
	o.sweep_interval = -1; /* tests sweep explicitly */
	o.clock = fake_clock;
	assert_int_equal(wbs__store_open(&f->s, &o, &e), WBS__ST_OK);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/wb-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	fake_now = 1000.0;
	fx_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	wbs__store_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const wbs__run_ref R1 = {"alice", "mnist", "r1"};

static void put_run(fx *f, const wbs__run_ref *ref, const char *json)
{
	wbs__run_fields fl;
	wbs__err e = {0};
	char why[256];
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	int created;

	assert_int_equal(wbs__run_fields_parse(&fl, j, why, sizeof(why)), 0);
	assert_int_equal(wbs__store_run_put(f->s, ref, &fl, 0, &created, &e), WBS__ST_OK);
	wbs__run_fields_free(&fl);
	cJSON_Delete(j);
}

/* ---- a body of frames ---- */

typedef wbt_frames body;

static void body_json(body *b, uint8_t type, const char *json) { wbt_frames_add(b, type, json, (uint32_t)strlen(json)); }

static void body_metrics(body *b, int64_t step, double time, const wb_metric *m, size_t n)
{
	wbt_frames_metrics(b, b->seq++, step, time, m, n);
}

static int ingest(fx *f, const wbs__run_ref *ref, const body *b, uint64_t *last_seq, uint64_t *applied, wbs__err *e)
{
	wbs__batch bt;
	char why[256];
	int rc;

	rc = wbs__batch_decode(&bt, b->p, b->len, why, sizeof(why));
	if (rc != WBS__BATCH_OK) {
		wbs__batch_free(&bt);
		return -100;
	}
	rc = wbs__store_ingest(f->s, ref, &bt, last_seq, applied, NULL, e);
	wbs__batch_free(&bt);
	return rc;
}

/* Read a whole series into malloc'd arrays; returns the point count. */
static size_t read_series(fx *f, const wbs__run_ref *ref, const char *key, int64_t **steps, double **values)
{
	wbs__series_it *it = NULL;
	wbs__err e = {0};
	const int64_t *st;
	const double *va;
	uint32_t n;
	size_t total = 0;

	*steps = NULL;
	*values = NULL;
	assert_int_equal(wbs__store_series_open(f->s, ref, key, &it, &e), WBS__ST_OK);
	while (wbs__series_it_next(it, &st, &va, &n, &e) == 1) {
		*steps = realloc(*steps, (total + n) * sizeof(**steps));
		*values = realloc(*values, (total + n) * sizeof(**values));
		memcpy(*steps + total, st, n * sizeof(*st));
		memcpy(*values + total, va, n * sizeof(*va));
		total += n;
	}
	wbs__series_it_close(it);
	return total;
}

static cJSON *run_json_member(fx *f, const wbs__run_ref *ref, const char *member, wbs__run_row *row)
{
	wbs__err e = {0};
	const char *text;

	assert_int_equal(wbs__store_run_get(f->s, ref, row, &e), WBS__ST_OK);
	text = strcmp(member, "config") == 0 ? row->config : strcmp(member, "summary") == 0 ? row->summary
						       : row->metadata;
	return cJSON_Parse(text);
}

/* ---- cases ---- */

static void test_store__migrations_idempotent(void **state)
{
	fx *f = *state;
	wbs__run_row row;
	wbs__err e = {0};

	put_run(f, &R1, "{\"name\":\"first\"}");
	/* Reopen twice: migrations must not run again or lose data. */
	wbs__store_close(f->s);
	fx_open(f);
	wbs__store_close(f->s);
	fx_open(f);
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.name, "first");
	wbs__run_row_free(&row);
}

static void test_store__create_and_resume(void **state)
{
	fx *f = *state;
	wbs__run_fields fl;
	wbs__run_row row;
	wbs__err e = {0};
	char why[256];
	cJSON *j = cJSON_Parse("{\"name\":\"n\",\"group\":\"g\",\"tags\":[\"a\",\"b\",\"a\"],\"notes\":\"x\"}");
	int created = -1;

	assert_int_equal(wbs__run_fields_parse(&fl, j, why, sizeof(why)), 0);
	assert_int_equal(wbs__store_run_put(f->s, &R1, &fl, 0, &created, &e), WBS__ST_OK);
	assert_int_equal(created, 1);
	assert_int_equal(wbs__store_finish(f->s, &R1, 0, 0, NAN, &e), WBS__ST_OK);
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.state, "finished");
	assert_true(row.has_exit_code);
	wbs__run_row_free(&row);
	wbs__run_fields_free(&fl);
	cJSON_Delete(j);

	/* Resume: 200, running again, given fields set, others kept. */
	j = cJSON_Parse("{\"job_type\":\"train\"}");
	assert_int_equal(wbs__run_fields_parse(&fl, j, why, sizeof(why)), 0);
	assert_int_equal(wbs__store_run_put(f->s, &R1, &fl, 0, &created, &e), WBS__ST_OK);
	assert_int_equal(created, 0);
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.state, "running");
	assert_false(row.has_exit_code);
	assert_string_equal(row.name, "n");
	assert_string_equal(row.group, "g");
	assert_string_equal(row.job_type, "train");
	assert_string_equal(row.tags, "[\"a\",\"b\"]");
	assert_string_equal(row.project, "mnist");
	wbs__run_row_free(&row);
	wbs__run_fields_free(&fl);
	cJSON_Delete(j);

	/* Unknown runs. */
	{
		wbs__run_ref r9 = {"alice", "mnist", "r9"};
		char st[16];
		assert_int_equal(wbs__store_run_get(f->s, &r9, &row, &e), WBS__ST_NOTFOUND);
		assert_int_equal(wbs__store_heartbeat(f->s, &r9, st, NULL, &e), WBS__ST_NOTFOUND);
	}
}

static void test_store__ingest_bit_exact(void **state)
{
	fx *f = *state;
	/* Hard values: NaN with a payload, negative NaN, +-Inf, -0, denormal, extremes. */
	const uint64_t specials[] = {0x7ff8000000000000ull, 0x7ff4000000000123ull, 0xfff8000000000001ull,
				     0x7ff0000000000000ull, 0xfff0000000000000ull, 0x8000000000000000ull,
				     0x0000000000000001ull, 0x7fefffffffffffffull, 0x3fb999999999999aull};
	const size_t nsp = sizeof(specials) / sizeof(specials[0]);
	const uint32_t n = 5000; /* several chunks */
	body b = {.seq = 1};
	uint64_t last_seq = 0, applied = 0;
	int64_t *st;
	double *va;
	wbs__err e = {0};
	size_t got;
	uint64_t rnd = 88172645463325252ull;

	put_run(f, &R1, NULL);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t bits;
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		bits = i < nsp ? specials[i] : (i % 3 ? rnd : (uint64_t)wb__f64_bits((float)(1.0 / (i + 1))));
		wb_metric m[2] = {{"loss", wb__bits_f64(bits)}, {"acc", (double)i}};
		body_metrics(&b, (int64_t)i / 2, 1.7e9 + i, m, 2);
	}
	assert_int_equal(ingest(f, &R1, &b, &last_seq, &applied, &e), WBS__ST_OK);
	assert_int_equal(last_seq, n);
	assert_int_equal(applied, n);

	got = read_series(f, &R1, "loss", &st, &va);
	assert_int_equal(got, n);
	rnd = 88172645463325252ull;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t bits;
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		bits = i < nsp ? specials[i] : (i % 3 ? rnd : (uint64_t)wb__f64_bits((float)(1.0 / (i + 1))));
		assert_int_equal(st[i], (int64_t)i / 2);
		assert_true(wb__f64_bits(va[i]) == bits);
	}
	free(st);
	free(va);

	/* _timestamp: one point per distinct step, with that record's time. */
	got = read_series(f, &R1, "_timestamp", &st, &va);
	assert_int_equal(got, n / 2);
	assert_int_equal(st[0], 0);
	assert_true(va[0] == 1.7e9);
	assert_int_equal(st[10], 10);
	assert_true(va[10] == 1.7e9 + 20);
	free(st);
	free(va);
	free(b.p);

	/* The metric list has the aggregates; min/max skip NaN. */
	{
		wbs__metric_row *rows;
		size_t nr;
		assert_int_equal(wbs__store_metrics_list(f->s, &R1, &rows, &nr, &e), WBS__ST_OK);
		assert_int_equal(nr, 3);
		assert_string_equal(rows[0].key, "_timestamp");
		assert_string_equal(rows[1].key, "acc");
		assert_int_equal(rows[1].count, n);
		assert_true(rows[1].min == 0 && rows[1].max == n - 1 && rows[1].last == n - 1);
		assert_true(rows[1].mean == (n - 1) / 2.0);
		assert_int_equal(rows[1].first_step, 0);
		assert_int_equal(rows[1].last_step, (n - 1) / 2);
		assert_string_equal(rows[2].key, "loss");
		assert_true(isinf(rows[2].min) && rows[2].min < 0);
		assert_true(isinf(rows[2].max) && rows[2].max > 0);
		wbs__metric_rows_free(rows, nr);
	}
}

static void test_store__history(void **state)
{
	fx *f = *state;
	body b = {.seq = 1};
	wbs__history h;
	wbs__err e = {0};
	uint64_t ls, ap;

	put_run(f, &R1, NULL);
	for (int i = 0; i < 10000; i++) {
		wb_metric m = {"x", i == 5000 ? NAN : (double)i};
		body_metrics(&b, i, 0, &m, 1);
	}
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);

	assert_int_equal(wbs__store_history(f->s, &R1, "x", INT64_MIN, INT64_MAX, 10, &h, &e), WBS__ST_OK);
	assert_true(h.downsampled);
	assert_int_equal(h.total, 10000);
	assert_int_equal(h.len, 10);
	assert_int_equal(h.step[9], 9999);
	assert_true(h.last[9] == 9999);
	assert_true(h.min[0] == 0 && h.max[0] == 999);
	assert_int_equal(h.count[0], 1000);
	assert_true(h.min[5] == 5001); /* NaN skipped */
	wbs__history_free(&h);

	/* A range holding at most N points comes back raw, NaN kept. */
	assert_int_equal(wbs__store_history(f->s, &R1, "x", 4998, 5002, 10, &h, &e), WBS__ST_OK);
	assert_false(h.downsampled);
	assert_int_equal(h.len, 5);
	assert_int_equal(h.total, 5);
	assert_int_equal(h.step[0], 4998);
	assert_true(isnan(h.last[2]) && h.count[2] == 1);
	wbs__history_free(&h);

	assert_int_equal(wbs__store_history(f->s, &R1, "nope", 0, 1, 10, &h, &e), WBS__ST_NOTFOUND);
	free(b.p);
}

static void test_store__seq_skip_and_gap(void **state)
{
	fx *f = *state;
	body b = {.seq = 1}, b2 = {.seq = 3}, gap = {.seq = 9};
	uint64_t ls = 0, ap = 0;
	wbs__err e = {0};
	int64_t *st;
	double *va;

	put_run(f, &R1, NULL);
	for (int i = 0; i < 4; i++) {
		wb_metric m = {"x", i};
		body_metrics(&b, i, 0, &m, 1); /* seqs 1..4 */
	}
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);
	assert_int_equal(ls, 4);
	assert_int_equal(ap, 4);
	/* The same body again: everything skipped. */
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);
	assert_int_equal(ls, 4);
	assert_int_equal(ap, 0);
	/* Overlapping body 3..6: only 5 and 6 applied. */
	for (int i = 2; i < 6; i++) {
		wb_metric m = {"x", i};
		body_metrics(&b2, i, 0, &m, 1);
	}
	assert_int_equal(ingest(f, &R1, &b2, &ls, &ap, &e), WBS__ST_OK);
	assert_int_equal(ls, 6);
	assert_int_equal(ap, 2);
	assert_int_equal(read_series(f, &R1, "x", &st, &va), 6);
	for (int i = 0; i < 6; i++)
		assert_true(st[i] == i && va[i] == i);
	free(st);
	free(va);
	/* A gap: 409 with expected = 7. */
	{
		wb_metric m = {"x", 9};
		body_metrics(&gap, 9, 0, &m, 1);
	}
	assert_int_equal(ingest(f, &R1, &gap, &ls, &ap, &e), WBS__ST_GAP);
	assert_int_equal(e.expected, 7);
	free(b.p);
	free(b2.p);
	free(gap.p);
}

static void test_store__step_decrease_writes_nothing(void **state)
{
	fx *f = *state;
	body b = {.seq = 1}, bad = {.seq = 2};
	uint64_t ls, ap;
	wbs__err e = {0};
	wbs__run_row row;
	cJSON *cfg;
	wb_metric m = {"x", 1};

	put_run(f, &R1, NULL);
	body_metrics(&b, 10, 0, &m, 1);
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);
	/* A config change and a step below 10 in one body: all of it refused. */
	body_json(&bad, WB__REC_CONFIG, "{\"lr\":0.5}");
	body_metrics(&bad, 9, 0, &m, 1);
	assert_int_equal(ingest(f, &R1, &bad, &ls, &ap, &e), WBS__ST_BADRECORD);
	assert_non_null(strstr(e.msg, "below"));
	cfg = run_json_member(f, &R1, "config", &row);
	assert_null(cJSON_GetObjectItem(cfg, "lr"));
	assert_int_equal(row.last_seq, 1);
	assert_int_equal(row.last_step, 10);
	cJSON_Delete(cfg);
	wbs__run_row_free(&row);
	{
		int64_t *st;
		double *va;
		assert_int_equal(read_series(f, &R1, "x", &st, &va), 1);
		free(st);
		free(va);
	}
	/* Decreasing inside one body is refused by the decoder. */
	{
		body in = {.seq = 2};
		wbs__batch bt;
		char why[256];
		body_metrics(&in, 12, 0, &m, 1);
		body_metrics(&in, 11, 0, &m, 1);
		assert_int_equal(wbs__batch_decode(&bt, in.p, in.len, why, sizeof(why)), WBS__BATCH_INVALID);
		wbs__batch_free(&bt);
		free(in.p);
	}
	free(b.p);
	free(bad.p);
}

static void test_store__records_and_summary(void **state)
{
	fx *f = *state;
	body b = {.seq = 1};
	uint64_t ls, ap;
	wbs__err e = {0};
	wbs__run_row row;
	cJSON *sum, *cfg, *v;

	put_run(f, &R1, NULL);
	body_json(&b, WB__REC_RUN, "{\"name\":\"renamed\",\"tags\":[\"t\"],\"metadata\":{\"git\":{\"sha\":\"abc\"}}}");
	body_json(&b, WB__REC_CONFIG, "{\"optimizer\":{\"lr\":0.1,\"beta\":0.9},\"epochs\":3}");
	body_json(&b, WB__REC_CONFIG, "{\"optimizer\":{\"lr\":0.01}}");
	body_json(&b, WB__REC_DEFINE, "{\"key\":\"val/*\",\"step_metric\":\"epoch\",\"summary\":[\"min\",\"max\",\"mean\"]}");
	body_json(&b, WB__REC_DEFINE, "{\"key\":\"val/loss\",\"summary\":[\"min\",\"last\"]}");
	body_json(&b, WB__REC_DEFINE, "{\"key\":\"hidden\",\"summary\":[\"none\"]}");
	for (int i = 0; i < 4; i++) {
		wb_metric m[4] = {{"loss", 4.0 - i}, {"val/acc", i == 1 ? NAN : 0.5 + i}, {"val/loss", 10.0 - i},
				  {"hidden", 1}};
		body_metrics(&b, i, 100 + i, m, 4);
	}
	body_json(&b, WB__REC_SUMMARY, "{\"best\":\"yes\",\"loss\":42}");
	body_json(&b, WB__REC_FINISH, "{\"exit_code\":2,\"time\":1234.5}");
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);

	sum = run_json_member(f, &R1, "summary", &row);
	assert_non_null(sum);
	assert_string_equal(row.name, "renamed");
	assert_string_equal(row.state, "failed");
	assert_int_equal(row.exit_code, 2);
	assert_true(row.finished_at == 1234.5);
	assert_int_equal(row.last_step, 3);
	/* explicit values win */
	assert_true(cJSON_GetObjectItem(sum, "loss")->valuedouble == 42);
	assert_string_equal(cJSON_GetObjectItem(sum, "best")->valuestring, "yes");
	/* glob define: min/max/mean skipping NaN */
	v = cJSON_GetObjectItem(sum, "val/acc");
	assert_true(cJSON_IsObject(v));
	assert_true(cJSON_GetObjectItem(v, "min")->valuedouble == 0.5);
	assert_true(cJSON_GetObjectItem(v, "max")->valuedouble == 3.5);
	assert_true(cJSON_GetObjectItem(v, "mean")->valuedouble == (0.5 + 2.5 + 3.5) / 3);
	assert_null(cJSON_GetObjectItem(v, "last"));
	/* exact define wins over the glob */
	v = cJSON_GetObjectItem(sum, "val/loss");
	assert_true(cJSON_GetObjectItem(v, "min")->valuedouble == 7);
	assert_true(cJSON_GetObjectItem(v, "last")->valuedouble == 7);
	assert_null(cJSON_GetObjectItem(v, "max"));
	assert_null(cJSON_GetObjectItem(sum, "hidden"));
	assert_null(cJSON_GetObjectItem(sum, "_timestamp"));
	/* config deep-merged, metadata merged, defs kept by key */
	cfg = cJSON_Parse(row.config);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "optimizer"), "lr")->valuedouble == 0.01);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "optimizer"), "beta")->valuedouble == 0.9);
	assert_non_null(strstr(row.metadata, "\"sha\":\"abc\""));
	assert_non_null(strstr(row.metric_defs, "\"step_metric\":\"epoch\""));
	cJSON_Delete(cfg);
	cJSON_Delete(sum);
	wbs__run_row_free(&row);

	/* A later batch redefines the val glob and updates the default summary. */
	{
		body b2 = {.seq = ls + 1};
		wb_metric m = {"loss", NAN};
		body_json(&b2, WB__REC_DEFINE, "{\"key\":\"val/*\",\"summary\":[\"last\"]}");
		body_metrics(&b2, 4, 0, &m, 1);
		assert_int_equal(ingest(f, &R1, &b2, &ls, &ap, &e), WBS__ST_OK);
		sum = run_json_member(f, &R1, "summary", &row);
		assert_true(cJSON_GetObjectItem(sum, "val/acc")->valuedouble == 3.5);
		assert_true(cJSON_GetObjectItem(sum, "loss")->valuedouble == 42); /* still explicit */
		assert_non_null(strstr(row.metric_defs, "\"key\":\"val/*\",\"step_metric\":null"));
		cJSON_Delete(sum);
		wbs__run_row_free(&row);
		free(b2.p);
	}
	free(b.p);
}

static void test_store__nan_last_in_summary(void **state)
{
	fx *f = *state;
	body b = {.seq = 1};
	uint64_t ls, ap;
	wbs__err e = {0};
	wbs__run_row row;
	wb_metric m[2] = {{"a", NAN}, {"b", -INFINITY}};

	put_run(f, &R1, NULL);
	body_metrics(&b, 0, 0, m, 2);
	assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.summary, "{\"a\":\"NaN\",\"b\":\"-Infinity\"}");
	wbs__run_row_free(&row);
	free(b.p);
}

static void test_store__crash_sweep(void **state)
{
	fx *f = *state;
	wbs__run_ref r2 = {"alice", "mnist", "r2"};
	wbs__run_row row;
	wbs__err e = {0};
	uint64_t n = 0;
	char st[16];

	fake_now = 1000;
	put_run(f, &R1, NULL);
	put_run(f, &r2, NULL);
	assert_int_equal(wbs__store_finish(f->s, &r2, 0, 0, NAN, &e), WBS__ST_OK);
	fake_now = 1005; /* within crash_after = 10 */
	assert_int_equal(wbs__store_sweep(f->s, &n, &e), WBS__ST_OK);
	assert_int_equal(n, 0);
	fake_now = 1011;
	assert_int_equal(wbs__store_sweep(f->s, &n, &e), WBS__ST_OK);
	assert_int_equal(n, 1); /* only the running one */
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.state, "crashed");
	wbs__run_row_free(&row);
	/* A heartbeat revives it. */
	assert_int_equal(wbs__store_heartbeat(f->s, &R1, st, NULL, &e), WBS__ST_OK);
	assert_string_equal(st, "running");
	/* Records revive too. */
	fake_now = 1030;
	assert_int_equal(wbs__store_sweep(f->s, &n, &e), WBS__ST_OK);
	assert_int_equal(n, 1);
	{
		body b = {.seq = 1};
		wb_metric m = {"x", 1};
		uint64_t ls, ap;
		body_metrics(&b, 0, 0, &m, 1);
		assert_int_equal(ingest(f, &R1, &b, &ls, &ap, &e), WBS__ST_OK);
		free(b.p);
	}
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.state, "running");
	assert_true(row.heartbeat_at == 1030);
	wbs__run_row_free(&row);
	/* Explicit crash from wb sync. */
	assert_int_equal(wbs__store_finish(f->s, &R1, 1, 0, NAN, &e), WBS__ST_OK);
	assert_int_equal(wbs__store_run_get(f->s, &R1, &row, &e), WBS__ST_OK);
	assert_string_equal(row.state, "crashed");
	wbs__run_row_free(&row);
}

static void list_ids(fx *f, const char *const *filters, size_t nf, const char *sort, uint32_t limit, uint64_t offset,
		     char *out, size_t cap, uint64_t *total)
{
	wbs__runs_query q;
	wbs__run_row *rows;
	size_t n;
	wbs__err e = {0};
	char why[256];

	wbs__runs_query_init(&q);
	for (size_t i = 0; i < nf; i++) {
		assert_int_equal(wbs__filter_parse(&q.filters[i], filters[i], why, sizeof(why)), 0);
		q.nfilters++;
	}
	if (sort) {
		wbs__sort_free(&q.sort);
		assert_int_equal(wbs__sort_parse(&q.sort, sort, why, sizeof(why)), 0);
	}
	if (limit)
		q.limit = limit;
	q.offset = offset;
	assert_int_equal(wbs__store_runs_list(f->s, "alice", "mnist", &q, &rows, &n, total, &e), WBS__ST_OK);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, rows[i].run_id, cap - strlen(out) - 1);
		strncat(out, " ", cap - strlen(out) - 1);
	}
	wbs__run_rows_free(rows, n);
	wbs__runs_query_free(&q);
}

static void test_store__list_filter_sort_paginate(void **state)
{
	fx *f = *state;
	char ids[256];
	uint64_t total;
	const char *names[] = {"a1", "b2", "c3", "d4", "e5"};

	for (int i = 0; i < 5; i++) {
		wbs__run_ref r = {"alice", "mnist", names[i]};
		body b = {.seq = 1};
		char cfg[256];
		wb_metric m = {"loss", 1.0 / (i + 1)};
		uint64_t ls, ap;
		wbs__err e = {0};
		char put[160];

		fake_now = 2000 + i;
		snprintf(put, sizeof(put), "{\"name\":\"Run-%d\",\"tags\":[\"%s\"%s],\"group\":\"g%d\"}", i,
			 i % 2 ? "odd" : "even", i == 4 ? ",\"best\"" : "", i % 2);
		put_run(f, &r, put);
		/* keys SQLite's path syntax cannot quote, and a string that looks like an object */
		snprintf(cfg, sizeof(cfg),
			 "{\"opt\":{\"lr\":%g,\"name\":\"%s\"},\"bs\":%d,\"fp16\":%s,"
			 "\"q\\\"k\":{\"b\\\\s\":%d},\"q\\\"s\":\"{\\\"x\\\":1}\"}",
			 0.1 * (i + 1), i < 2 ? "adam" : "sgd", 32 << i, i == 3 ? "true" : "false", (i * 3) % 5);
		body_json(&b, WB__REC_CONFIG, cfg);
		body_metrics(&b, 0, 0, &m, 1);
		assert_int_equal(ingest(f, &r, &b, &ls, &ap, &e), WBS__ST_OK);
		free(b.p);
	}
	list_ids(f, NULL, 0, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 d4 c3 b2 a1 "); /* default -created_at */
	assert_int_equal(total, 5);
	list_ids(f, (const char *[]){"config.opt.lr<0.25"}, 1, "name", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "a1 b2 ");
	list_ids(f, (const char *[]){"config.opt.name=sgd", "tags=odd"}, 2, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "d4 ");
	list_ids(f, (const char *[]){"config.bs>=128"}, 1, "-config.bs", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 d4 c3 ");
	list_ids(f, (const char *[]){"config.fp16=true"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "d4 ");
	list_ids(f, (const char *[]){"summary.loss<0.3"}, 1, "summary.loss", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 d4 ");
	list_ids(f, (const char *[]){"name~run-3"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "d4 ");
	list_ids(f, (const char *[]){"tags!=odd"}, 1, "created_at", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "a1 c3 e5 ");
	list_ids(f, (const char *[]){"tags~BE"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 ");
	list_ids(f, (const char *[]){"group=g1"}, 1, "name", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "b2 d4 ");
	list_ids(f, (const char *[]){"state=running"}, 1, "-name", 2, 1, ids, sizeof(ids), &total);
	assert_string_equal(ids, "d4 c3 ");
	assert_int_equal(total, 5);
	list_ids(f, (const char *[]){"created_at>=2003"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 d4 ");
	/* Keys holding '"' and '\\' are looked up exactly (b\s: a1 0, b2 3, c3 1, d4 4, e5 2). */
	list_ids(f, (const char *[]){"config.q\"k.b\\s>=2"}, 1, "config.q\"k.b\\s", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "e5 b2 d4 ");
	list_ids(f, NULL, 0, "-config.q\"k.b\\s", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "d4 b2 e5 c3 a1 ");
	/* a string is not walked into, even when its text is an object */
	list_ids(f, (const char *[]){"config.q\"s.x=1"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "");
	list_ids(f, (const char *[]){"config.q\"s~x"}, 1, "name", 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "a1 b2 c3 d4 e5 ");
	/* A quote in a value is data, not SQL. */
	list_ids(f, (const char *[]){"name=x' OR '1'='1"}, 1, NULL, 0, 0, ids, sizeof(ids), &total);
	assert_string_equal(ids, "");
	{
		wbs__runs_query q;
		wbs__run_row *rows;
		size_t n;
		wbs__err e = {0};
		wbs__runs_query_init(&q);
		assert_int_equal(wbs__store_runs_list(f->s, "alice", "nope", &q, &rows, &n, &total, &e),
				 WBS__ST_NOTFOUND);
	}
	{
		wbs__project_row *pr;
		size_t n;
		wbs__err e = {0};
		assert_int_equal(wbs__store_projects_list(f->s, &pr, &n, &e), WBS__ST_OK);
		assert_int_equal(n, 1);
		assert_int_equal(pr[0].run_count, 5);
		wbs__project_rows_free(pr, n);
	}
}

/* Many threads ingesting at once: every acknowledged point is there (group commit). */
typedef struct worker {
	fx *f;
	int id;
	int ok;
} worker;

static void *ingest_worker(void *arg)
{
	worker *w = arg;
	char rid[16];
	wbs__run_ref r;
	uint64_t seq = 1;

	snprintf(rid, sizeof(rid), "w%d", w->id);
	r = (wbs__run_ref){"alice", "mnist", rid};
	put_run(w->f, &r, NULL);
	for (int k = 0; k < 20; k++) {
		body b = {.seq = seq};
		uint64_t ls, ap;
		wbs__err e = {0};
		for (int i = 0; i < 50; i++) {
			wb_metric m = {"x", k * 50 + i};
			body_metrics(&b, k * 50 + i, 0, &m, 1);
		}
		if (ingest(w->f, &r, &b, &ls, &ap, &e) == WBS__ST_OK && ap == 50)
			w->ok++;
		seq = b.seq;
		free(b.p);
	}
	return NULL;
}

static void test_store__concurrent_group_commit(void **state)
{
	fx *f = *state;
	pthread_t t[8];
	worker w[8];

	for (int i = 0; i < 8; i++) {
		w[i] = (worker){f, i, 0};
		pthread_create(&t[i], NULL, ingest_worker, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		char rid[16];
		wbs__run_ref r;
		int64_t *st;
		double *va;
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 20);
		snprintf(rid, sizeof(rid), "w%d", i);
		r = (wbs__run_ref){"alice", "mnist", rid};
		assert_int_equal(read_series(f, &r, "x", &st, &va), 1000);
		for (int k = 0; k < 1000; k++)
			assert_true(st[k] == k && va[k] == k);
		free(st);
		free(va);
	}
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Throughput of decode + apply, the server side of ingest, with ~100k-point bodies. */
static void test_store__ingest_throughput(void **state)
{
	fx *f = *state;
	const int keys = 10, steps_per_body = 10000, bodies = 10;
	char names[10][16];
	double t_decode = 0, t_apply = 0;
	uint64_t seq = 1, points = 0;

	put_run(f, &R1, NULL);
	for (int k = 0; k < keys; k++)
		snprintf(names[k], sizeof(names[k]), "train/metric_%d", k);
	for (int bi = 0; bi < bodies; bi++) {
		body b = {.seq = seq};
		wbs__batch bt;
		wbs__err e = {0};
		uint64_t ls, ap;
		char why[256];
		double t0, t1, t2;
		for (int s = 0; s < steps_per_body; s++) {
			wb_metric m[10];
			int64_t step = (int64_t)bi * steps_per_body + s;
			for (int k = 0; k < keys; k++)
				m[k] = (wb_metric){names[k], (double)(float)(1.0 / (1.0 + step * 1e-3 + k))};
			body_metrics(&b, step, 1.7e9 + step * 0.01, m, keys);
		}
		t0 = mono();
		assert_int_equal(wbs__batch_decode(&bt, b.p, b.len, why, sizeof(why)), WBS__BATCH_OK);
		t1 = mono();
		assert_int_equal(wbs__store_ingest(f->s, &R1, &bt, &ls, &ap, NULL, &e), WBS__ST_OK);
		t2 = mono();
		t_decode += t1 - t0;
		t_apply += t2 - t1;
		points += bt.npoints;
		seq = b.seq;
		wbs__batch_free(&bt);
		free(b.p);
	}
	print_message("ingest: %llu points, decode %.2f M points/s, apply %.2f M points/s, end-to-end %.2f M points/s\n",
		      (unsigned long long)points, points / t_decode / 1e6, points / t_apply / 1e6,
		      points / (t_decode + t_apply) / 1e6);
	{
		int64_t *st;
		double *va;
		assert_int_equal(read_series(f, &R1, "train/metric_3", &st, &va), (size_t)bodies * steps_per_body);
		free(st);
		free(va);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store__migrations_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__create_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__ingest_bit_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__seq_skip_and_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__step_decrease_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__records_and_summary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__nan_last_in_summary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__crash_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__list_filter_sort_paginate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__concurrent_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__ingest_throughput, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

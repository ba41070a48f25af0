/*
 * test_batch.c — decoding of an ingest body (server/model/batch.c): frames,
 * sequence numbers, checksums and torn tails, metrics gathered per series,
 * the JSON records refused, the reproducibility records CODE, PATCH and
 * SYSTEM, and the reserved "system/" prefix for METRICS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "wire.h"

typedef struct body {
	uint8_t buf[8192];
	size_t len;
	uint64_t seq;
} body;

static void frame(body *b, uint8_t type, const void *payload, size_t len)
{
	wb__frame_header(b->buf + b->len, ++b->seq, type, payload, (uint32_t)len);
	memcpy(b->buf + b->len + WB__FRAME_HEADER, payload, len);
	b->len += WB__FRAME_HEADER + len;
}

static void metrics_n(body *b, uint8_t type, int64_t step, const wb_metric *m, size_t count)
{
	uint8_t p[1024];
	size_t n = wb__metrics_size(m, count);

	assert_true(n > 0 && n <= sizeof p);
	wb__metrics_encode(p, step, 1.0, m, count);
	frame(b, type, p, n);
}

static void metrics(body *b, uint8_t type, int64_t step, const char *key, double v)
{
	wb_metric m = {key, v};
	metrics_n(b, type, step, &m, 1);
}

static void patch(body *b, const char *name, const char *data)
{
	uint8_t p[512];
	size_t nl = strlen(name), dl = strlen(data);

	p[0] = (uint8_t)nl;
	memcpy(p + 1, name, nl);
	memcpy(p + 1 + nl, data, dl);
	frame(b, WB__REC_PATCH, p, 1 + nl + dl);
}

static int decode(body *b, wbs__batch *out, char *err)
{
	return wbs__batch_decode(out, b->buf, b->len, err, 256);
}

static void test_batch__code_and_patches(void **state)
{
	const char *code = "{\"commit\":\"abc\",\"patches\":[{\"name\":\"diff.patch\",\"bytes\":6}]}";
	body b = {.len = 0};
	wbs__batch bt;
	char err[256];

	(void)state;
	frame(&b, WB__REC_CODE, code, strlen(code));
	patch(&b, "diff.patch", "abc");
	patch(&b, "diff.patch", "def");
	assert_int_equal(decode(&b, &bt, err), WBS__BATCH_OK);
	assert_int_equal(bt.njrecs, 3);
	assert_int_equal(bt.jrecs[0].type, WB__REC_CODE);
	assert_non_null(bt.jrecs[0].json);
	assert_string_equal(bt.jrecs[1].name, "diff.patch");
	assert_int_equal(bt.jrecs[2].len, 3);
	assert_memory_equal(bt.jrecs[2].data, "def", 3);
	wbs__batch_free(&bt);
}

static void test_batch__patch_bad_name(void **state)
{
	static const char *const bad[] = {"", "../x", ".hidden", "a/b", "sp ace"};
	wbs__batch bt;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		body b = {.len = 0};
		patch(&b, bad[i], "x");
		assert_int_equal(decode(&b, &bt, err), WBS__BATCH_INVALID);
		wbs__batch_free(&bt);
	}
}

static void test_batch__system_axis(void **state)
{
	body b = {.len = 0};
	wbs__batch bt;
	char err[256];

	(void)state;
	/* A METRICS record at step 100 then SYSTEM at x = 5 ms: no step rule across them. */
	metrics(&b, WB__REC_METRICS, 100, "loss", 1.0);
	metrics(&b, WB__REC_SYSTEM, 5, "system/cpu", 50.0);
	metrics(&b, WB__REC_SYSTEM, 15, "system/cpu", 60.0);
	assert_int_equal(decode(&b, &bt, err), WBS__BATCH_OK);
	assert_int_equal(bt.nmrecs, 1); /* only METRICS derive _timestamp */
	assert_int_equal(bt.nseries, 2);
	wbs__batch_free(&bt);
}

static void test_batch__system_rules(void **state)
{
	wbs__batch bt;
	char err[256];

	(void)state;
	{ /* SYSTEM keys must be under system/ */
		body b = {.len = 0};
		metrics(&b, WB__REC_SYSTEM, 5, "cpu", 50.0);
		assert_int_equal(decode(&b, &bt, err), WBS__BATCH_INVALID);
		wbs__batch_free(&bt);
	}
	{ /* a SYSTEM series does not go back */
		body b = {.len = 0};
		metrics(&b, WB__REC_SYSTEM, 15, "system/cpu", 50.0);
		metrics(&b, WB__REC_SYSTEM, 5, "system/cpu", 50.0);
		assert_int_equal(decode(&b, &bt, err), WBS__BATCH_INVALID);
		assert_non_null(strstr(err, "goes back"));
		wbs__batch_free(&bt);
	}
	{ /* METRICS may not use system/ */
		body b = {.len = 0};
		metrics(&b, WB__REC_METRICS, 1, "system/cpu", 50.0);
		assert_int_equal(decode(&b, &bt, err), WBS__BATCH_INVALID);
		assert_non_null(strstr(err, "reserved"));
		wbs__batch_free(&bt);
	}
}

static void test_batch__decode(void **state)
{
	body bd = {.seq = 4};
	wbs__batch b;
	char err[256];
	wb_metric m1[2] = {{"loss", 1}, {"acc", 2}}, m2[2] = {{"acc", 3}, {"loss", 4}};
	(void)state;

	metrics_n(&bd, WB__REC_METRICS, 0, m1, 2); /* seq 5 */
	metrics_n(&bd, WB__REC_METRICS, 1, m2, 2);
	frame(&bd, WB__REC_CONFIG, "{\"a\":1}", 7);
	metrics_n(&bd, WB__REC_METRICS, 1, m1, 2);
	assert_int_equal(decode(&bd, &b, err), WBS__BATCH_OK);
	assert_int_equal(b.first_seq, 5);
	assert_int_equal(b.nframes, 4);
	assert_int_equal(b.nseries, 2);
	assert_int_equal(b.npoints, 6);
	assert_string_equal(b.series[0].key, "loss");
	assert_int_equal(b.series[0].n, 3);
	assert_true(b.series[0].values[1] == 4);
	assert_int_equal(b.series[0].frames[2], 3);
	assert_int_equal(wbs__series_from(&b.series[0], 1), 1);
	assert_int_equal(wbs__series_from(&b.series[0], 2), 2);
	assert_int_equal(wbs__series_from(&b.series[0], 4), 3);
	assert_int_equal(b.nmrecs, 3);
	assert_int_equal(b.njrecs, 1);
	wbs__batch_free(&b);

	/* torn tail */
	assert_int_equal(wbs__batch_decode(&b, bd.buf, bd.len - 1, err, sizeof(err)), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "ends inside a frame"));
	wbs__batch_free(&b);
	/* checksum */
	bd.buf[WB__FRAME_HEADER + 3] ^= 1;
	assert_int_equal(decode(&bd, &b, err), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "checksum"));
	wbs__batch_free(&b);

	/* seqs not consecutive */
	bd = (body){.seq = 0};
	metrics_n(&bd, WB__REC_METRICS, 0, m1, 2); /* seq 1 */
	bd.seq = 2;
	metrics_n(&bd, WB__REC_METRICS, 1, m1, 2); /* seq 3 */
	assert_int_equal(decode(&bd, &b, err), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "consecutive"));
	wbs__batch_free(&b);
	/* seq 0, unknown type, bad JSON payloads, bad defines, non-UTF-8 key */
	bd = (body){.seq = UINT64_MAX}; /* the next is seq 0 */
	metrics_n(&bd, WB__REC_METRICS, 0, m1, 2);
	assert_int_equal(decode(&bd, &b, err), WBS__BATCH_INVALID);
	wbs__batch_free(&b);
	{
		static const struct {
			uint8_t type;
			const char *payload;
		} bad[] = {
			{9, "{}"},
			{WB__REC_CONFIG, "[1]"},
			{WB__REC_CONFIG, "{\"a\":"},
			{WB__REC_RUN, "{\"name\":\"\"}"},
			{WB__REC_RUN, "{\"group\":\"../x\"}"},
			{WB__REC_RUN, "{\"tags\":\"x\"}"},
			{WB__REC_DEFINE, "{\"key\":\"a*b\"}"},
			{WB__REC_DEFINE, "{\"key\":\"x\",\"summary\":[\"median\"]}"},
			{WB__REC_SUMMARY, "{\"_x\":1}"},
			{WB__REC_FINISH, "{\"exit_code\":1.5}"},
			{WB__REC_FINISH, "{}"},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			bd = (body){.seq = 0};
			frame(&bd, bad[i].type, bad[i].payload, strlen(bad[i].payload));
			assert_int_equal(decode(&bd, &b, err), WBS__BATCH_INVALID);
			wbs__batch_free(&b);
		}
	}
	bd = (body){.seq = 0};
	metrics(&bd, WB__REC_METRICS, 0, "\xff\xfe", 1);
	assert_int_equal(decode(&bd, &b, err), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "utf-8"));
	wbs__batch_free(&b);
	/* empty body: nothing, fine */
	assert_int_equal(wbs__batch_decode(&b, bd.buf, 0, err, sizeof(err)), WBS__BATCH_OK);
	assert_int_equal(b.nframes, 0);
	wbs__batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch__decode),
		cmocka_unit_test(test_batch__code_and_patches),
		cmocka_unit_test(test_batch__patch_bad_name),
		cmocka_unit_test(test_batch__system_axis),
		cmocka_unit_test(test_batch__system_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

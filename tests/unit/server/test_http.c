/*
 * test_http.c — request helpers that face the network, driven directly
 * with hostile input: path splitting and decoding, gzip inflation with its
 * cap, media types, the filter/sort parser, JSON number formatting
 * (round trip) and string escaping, ingest body decoding and run field
 * validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/httputil.h"
#include "model/batch.h"
#include "model/fields.h"
#include "model/query.h"
#include "util/buf.h"
#include "wire.h"

static void test_http__path_split(void **state)
{
	wbs__path p;
	(void)state;

	assert_int_equal(wbs__path_split("/api/v1/projects/alice/mnist/runs/r1", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 5);
	assert_string_equal(p.seg[0], "projects");
	assert_string_equal(p.seg[4], "r1");
	assert_int_equal(wbs__path_split("/api/v1/projects/", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 1);
	assert_int_equal(wbs__path_split("/api/v1", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 0);
	/* Encoded slash stays in its segment; dots are just a name. */
	assert_int_equal(wbs__path_split("/api/v1/projects/a/..%2Fx/runs", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 4);
	assert_string_equal(p.seg[2], "../x");
	assert_false(wb__name_valid(p.seg[2]));
	assert_int_equal(wbs__path_split("/api/v1/projects/a/%3Cscript%3E", &p), WBS__PATH_OK);
	assert_string_equal(p.seg[2], "<script>");
	assert_false(wb__name_valid(p.seg[2]));
	assert_int_equal(wbs__path_split("/api/v1/projects/a/..", &p), WBS__PATH_OK);
	assert_false(wb__name_valid(p.seg[2]));
	/* NUL, bad escapes, empty segments, too many segments: refused. */
	assert_int_equal(wbs__path_split("/api/v1/projects/a%00b", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects/a%zz", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects/a%4", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects//x", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/a/b/c/d/e/f/g/h/i", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v10/x", &p), WBS__PATH_NOT_API);
	assert_int_equal(wbs__path_split("/healthz", &p), WBS__PATH_NOT_API);
	{
		char longp[4000];
		memset(longp, 'a', sizeof(longp));
		memcpy(longp, "/api/v1/", 8);
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(wbs__path_split(longp, &p), WBS__PATH_BAD);
	}
	/* Overlong names are caught by name validation. */
	assert_false(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_http__media_type(void **state)
{
	(void)state;
	assert_true(wbs__media_type_is("application/x-wb-frames", "application/x-wb-frames"));
	assert_true(wbs__media_type_is("Application/X-WB-Frames; v=1", "application/x-wb-frames"));
	assert_false(wbs__media_type_is("application/x-wb-framesx", "application/x-wb-frames"));
	assert_false(wbs__media_type_is(NULL, "application/json"));
}

static size_t gz(const void *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

/* The shared budget: a bomb stops when the bodies inflating together reach
 * it (BUSY, nothing left taken); a body that fits keeps exactly its buffer
 * taken until given back. */
static void test_http__inflate_budget(void **state)
{
	size_t big = 8u << 20, bn, olen, held;
	uint8_t *zeros = calloc(1, big), *bomb = malloc(big / 100), *out;
	wbs__budget b = {.cap = 1u << 20};
	(void)state;

	assert_non_null(zeros);
	assert_non_null(bomb);
	bn = gz(zeros, big, bomb, big / 100);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_BUSY);
	assert_int_equal(atomic_load(&b.used), 0);
	/* Half the budget taken elsewhere: 600 KiB of output no longer fits. */
	bn = gz(zeros, 600u << 10, bomb, big / 100);
	assert_int_equal(wbs__budget_take(&b, 512u << 10), 0);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_BUSY);
	wbs__budget_give(&b, 512u << 10);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_OK);
	assert_int_equal(olen, 600u << 10);
	assert_int_equal(held, olen + 1);
	assert_int_equal(atomic_load(&b.used), held);
	wbs__budget_give(&b, held);
	free(out);
	assert_int_equal(wbs__budget_take(&b, (1u << 20) + 1), -1);
	assert_int_equal(atomic_load(&b.used), 0);
	free(zeros);
	free(bomb);
}

static void test_http__inflate_cap(void **state)
{
	static uint8_t src[100000], packed[200000];
	uint8_t *out;
	size_t n, olen;
	(void)state;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 % 251);
	n = gz(src, sizeof(src), packed, sizeof(packed));
	assert_int_equal(wbs__inflate(packed, n, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_OK);
	assert_int_equal(olen, sizeof(src));
	assert_memory_equal(out, src, sizeof(src));
	free(out);
	/* One byte under the size: a bomb stops at the cap. */
	assert_int_equal(wbs__inflate(packed, n, sizeof(src) - 1, NULL, &out, &olen, NULL), WBS__INFLATE_TOOBIG);
	/* Truncated and corrupt streams. */
	assert_int_equal(wbs__inflate(packed, n - 10, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	packed[n / 2] ^= 0xff;
	assert_int_equal(wbs__inflate(packed, n, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	assert_int_equal(wbs__inflate((const uint8_t *)"hello", 5, 100, NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	assert_int_equal(wbs__inflate((const uint8_t *)"", 0, 100, NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	/* A real bomb: 64 MiB of zeros packs into ~64 KiB. */
	{
		size_t big = 64u << 20;
		uint8_t *zeros = calloc(1, big), *bomb = malloc(big / 100);
		size_t bn = gz(zeros, big, bomb, big / 100);
		assert_int_equal(wbs__inflate(bomb, bn, (16u << 20), NULL, &out, &olen, NULL), WBS__INFLATE_TOOBIG);
		free(zeros);
		free(bomb);
	}
	/* Two gzip members back to back. */
	{
		uint8_t two[64];
		size_t a = gz("abc", 3, two, sizeof(two));
		size_t b = gz("def", 3, two + a, sizeof(two) - a);
		assert_int_equal(wbs__inflate(two, a + b, 100, NULL, &out, &olen, NULL), WBS__INFLATE_OK);
		assert_int_equal(olen, 6);
		assert_memory_equal(out, "abcdef", 6);
		free(out);
	}
}

static void test_http__number_round_trip(void **state)
{
	char buf[32];
	uint64_t x = 0x9E3779B97F4A7C15ull;
	(void)state;

	for (int i = 0; i < 200000; i++) {
		double d, back;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d = wb__bits_f64(x);
		if (i % 4 == 1)
			d = (double)(float)d; /* float32 widened, the common case */
		if (i % 4 == 2)
			d = (double)(x % 1000000) / 1000.0;
		if (!isfinite(d))
			continue;
		wbs__fmt_double(buf, d);
		back = strtod(buf, NULL);
		assert_true(wb__f64_bits(back) == wb__f64_bits(d));
		wbs__fmt_double17(buf, d);
		back = strtod(buf, NULL);
		assert_true(wb__f64_bits(back) == wb__f64_bits(d));
	}
	wbs__fmt_double(buf, 0.1);
	assert_string_equal(buf, "0.1");
	wbs__fmt_double(buf, NAN);
	assert_string_equal(buf, "NaN");
	wbs__fmt_double(buf, -INFINITY);
	assert_string_equal(buf, "-Infinity");
	wbs__fmt_double(buf, -0.0);
	assert_string_equal(buf, "-0");
	{
		wbs__buf b;
		wbs__buf_init(&b, 1024);
		wbs__json_num(&b, INFINITY);
		wbs__buf_putc(&b, ',');
		wbs__json_num(&b, 1e300);
		wbs__buf_putc(&b, ',');
		wbs__json_i64(&b, INT64_MIN);
		assert_string_equal(b.p, "\"Infinity\",1e+300,-9223372036854775808");
		wbs__buf_free(&b);
	}
}

static void test_http__json_escape(void **state)
{
	wbs__buf b;
	(void)state;

	wbs__buf_init(&b, 1024);
	wbs__json_str(&b, "a\"b\\c\n\x01<script>\xc3\xa9\xff", 18);
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001<script>\xc3\xa9\xef\xbf\xbd\"");
	wbs__buf_free(&b);
	/* The maximum holds and the error is sticky. */
	wbs__buf_init(&b, 8);
	wbs__buf_puts(&b, "12345678");
	assert_int_equal(b.err, 0);
	wbs__buf_putc(&b, '9');
	assert_int_equal(b.err, WBS__BUF_TOOBIG);
	assert_int_equal(b.len, 8);
	wbs__buf_free(&b);
	assert_true(wbs__utf8_valid("\xe2\x82\xac", 3));
	assert_false(wbs__utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(wbs__utf8_valid("\xc0\xaf", 2));     /* overlong */
}

static void test_http__filter_parse(void **state)
{
	wbs__filter f;
	wbs__sort s;
	char err[256];
	(void)state;

	assert_int_equal(wbs__filter_parse(&f, "config.optimizer.lr<=0.1", err, sizeof(err)), 0);
	assert_int_equal(f.field, WBS__QF_CONFIG);
	assert_int_equal(f.op, WBS__OP_LE);
	assert_true(f.is_num && f.num == 0.1);
	assert_int_equal(f.npaths, 1);
	assert_string_equal(f.paths[0], "$.\"optimizer\".\"lr\"");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "summary.val/acc.max>0.9", err, sizeof(err)), 0);
	assert_int_equal(f.npaths, 3);
	assert_string_equal(f.paths[0], "$.\"val/acc\".\"max\"");
	assert_string_equal(f.paths[2], "$.\"val/acc.max\"");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "name~Otter", err, sizeof(err)), 0);
	assert_int_equal(f.op, WBS__OP_SUB);
	assert_string_equal(f.text, "Otter");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "state!=running", err, sizeof(err)), 0);
	assert_int_equal(f.op, WBS__OP_NE);
	assert_false(f.is_num);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "config.fp16=true", err, sizeof(err)), 0);
	assert_true(f.is_num && f.num == 1);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "tags=a=b", err, sizeof(err)), 0);
	assert_string_equal(f.text, "a=b");
	wbs__filter_free(&f);
	/* keys SQLite's path syntax cannot quote become a list of labels */
	assert_int_equal(wbs__filter_parse(&f, "config.a\"b.c\\d=1", err, sizeof(err)), 0);
	assert_int_equal(f.npaths, 1);
	assert_string_equal(f.paths[0], "[\"a\\\"b\",\"c\\\\d\"]");
	assert_int_equal(wbs__qpath_labels(f.paths[0]), 2);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "config.a.b=1", err, sizeof(err)), 0);
	assert_string_equal(f.paths[0], "$.\"a\".\"b\"");
	assert_int_equal(wbs__qpath_labels(f.paths[0]), 0);
	wbs__filter_free(&f);
	/* refused */
	assert_int_equal(wbs__filter_parse(&f, "bogus=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown filter field"));
	assert_int_equal(wbs__filter_parse(&f, "config.a\xff=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config..a=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config.=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "summary.=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "tags<a", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "created_at~1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "name", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "=x", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "name!x", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q=1", err, sizeof(err)), -1);
	/* sort */
	assert_int_equal(wbs__sort_parse(&s, "-summary.loss", err, sizeof(err)), 0);
	assert_true(s.desc);
	assert_int_equal(s.field, WBS__QF_SUMMARY);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "created_at", err, sizeof(err)), 0);
	assert_false(s.desc);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "-duration", err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_DURATION);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "tags", err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_TAGS);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "metadata", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown sort field"));
	assert_int_equal(wbs__sort_parse(&s, "-", err, sizeof(err)), -1);
	/* group-by and aggregate fields */
	assert_int_equal(wbs__field_parse(&s, "user", WBS__QU_GROUP, err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_USER);
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "config.opt.name", WBS__QU_GROUP, err, sizeof(err)), 0);
	assert_int_equal(s.npaths, 1);
	assert_string_equal(s.paths[0], "$.\"opt\".\"name\"");
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "duration", WBS__QU_GROUP, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown group_by field"));
	assert_int_equal(wbs__field_parse(&s, "duration", WBS__QU_AGG, err, sizeof(err)), 0);
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "state", WBS__QU_AGG, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown agg field"));
}

/* Append a frame to buf at *len. */
static void frame(uint8_t *buf, size_t *len, uint64_t seq, uint8_t type, const void *p, uint32_t n)
{
	wb__frame_header(buf + *len, seq, type, p, n);
	memcpy(buf + *len + WB__FRAME_HEADER, p, n);
	*len += WB__FRAME_HEADER + n;
}

static void metrics(uint8_t *buf, size_t *len, uint64_t seq, int64_t step, const wb_metric *m, size_t n)
{
	uint8_t p[1024];
	size_t sz = wb__metrics_size(m, n);
	wb__metrics_encode(p, step, 1.0, m, n);
	frame(buf, len, seq, WB__REC_METRICS, p, (uint32_t)sz);
}

static void test_http__batch_decode(void **state)
{
	uint8_t buf[8192];
	size_t len = 0;
	wbs__batch b;
	char err[256];
	wb_metric m1[2] = {{"loss", 1}, {"acc", 2}}, m2[2] = {{"acc", 3}, {"loss", 4}};
	(void)state;

	metrics(buf, &len, 5, 0, m1, 2);
	metrics(buf, &len, 6, 1, m2, 2);
	frame(buf, &len, 7, WB__REC_CONFIG, "{\"a\":1}", 7);
	metrics(buf, &len, 8, 1, m1, 2);
	assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_OK);
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
	assert_int_equal(wbs__batch_decode(&b, buf, len - 1, err, sizeof(err)), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "ends inside a frame"));
	wbs__batch_free(&b);
	/* checksum */
	buf[WB__FRAME_HEADER + 3] ^= 1;
	assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "checksum"));
	wbs__batch_free(&b);
	buf[WB__FRAME_HEADER + 3] ^= 1;

	/* seqs not consecutive */
	len = 0;
	metrics(buf, &len, 1, 0, m1, 2);
	metrics(buf, &len, 3, 1, m1, 2);
	assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_INVALID);
	assert_non_null(strstr(err, "consecutive"));
	wbs__batch_free(&b);
	/* seq 0, unknown type, bad JSON payloads, bad defines, non-UTF-8 key */
	len = 0;
	metrics(buf, &len, 0, 0, m1, 2);
	assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_INVALID);
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
			len = 0;
			frame(buf, &len, 1, bad[i].type, bad[i].payload, (uint32_t)strlen(bad[i].payload));
			assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_INVALID);
			wbs__batch_free(&b);
		}
	}
	{
		wb_metric bad8 = {"\xff\xfe", 1};
		len = 0;
		metrics(buf, &len, 1, 0, &bad8, 1);
		assert_int_equal(wbs__batch_decode(&b, buf, len, err, sizeof(err)), WBS__BATCH_INVALID);
		assert_non_null(strstr(err, "utf-8"));
		wbs__batch_free(&b);
	}
	/* empty body: nothing, fine */
	assert_int_equal(wbs__batch_decode(&b, buf, 0, err, sizeof(err)), WBS__BATCH_OK);
	assert_int_equal(b.nframes, 0);
	wbs__batch_free(&b);
}

static void test_http__run_fields(void **state)
{
	wbs__run_fields f;
	char err[256];
	cJSON *j;
	(void)state;

	j = cJSON_Parse("{\"name\":\"<script>x</script>\",\"group\":null,\"notes\":\"a\\nb\",\"created_at\":5,\"x\":1}");
	assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), 0);
	assert_true(f.set & WBS__F_NAME);
	assert_true((f.set & WBS__F_GROUP) && f.group == NULL);
	assert_true(f.created_at == 5);
	wbs__run_fields_free(&f);
	cJSON_Delete(j);
	{
		static const char *bad[] = {
			"{\"name\":5}",		  "{\"name\":\"a\\u0001b\"}", "{\"group\":\"a b\"}",
			"{\"job_type\":\"\"}",	  "{\"tags\":[1]}",	      "{\"tags\":[\"\"]}",
			"{\"metadata\":[]}",	  "{\"created_at\":\"x\"}",   "{\"created_at\":-1}",
			"[]",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			j = cJSON_Parse(bad[i]);
			assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), -1);
			wbs__run_fields_free(&f);
			cJSON_Delete(j);
		}
	}
	/* 65 tags, 129-byte names */
	{
		char big[2048] = "{\"tags\":[";
		for (int i = 0; i < 65; i++)
			snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"t%d\"", i ? "," : "", i);
		strcat(big, "]}");
		j = cJSON_Parse(big);
		assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "tags"));
		wbs__run_fields_free(&f);
		cJSON_Delete(j);
	}
	/* JSON parse reports the byte offset, also for trailing garbage */
	{
		char why[128];
		assert_null(wbs__json_parse("{\"a\": 1,}", 9, "body", why, sizeof(why)));
		assert_string_equal(why, "body is not valid json at byte 8");
		assert_null(wbs__json_parse("{} x", 4, "body", why, sizeof(why)));
		assert_string_equal(why, "body is not valid json at byte 3");
		j = wbs__json_parse("{} ", 3, "body", why, sizeof(why));
		assert_non_null(j);
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http__path_split),	  cmocka_unit_test(test_http__media_type),
		cmocka_unit_test(test_http__inflate_cap), cmocka_unit_test(test_http__inflate_budget),	  cmocka_unit_test(test_http__number_round_trip),
		cmocka_unit_test(test_http__json_escape),	  cmocka_unit_test(test_http__filter_parse),
		cmocka_unit_test(test_http__batch_decode),	  cmocka_unit_test(test_http__run_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

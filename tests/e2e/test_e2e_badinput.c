/*
 * End-to-end bad input: every malformed, mistyped, oversized, hostile or
 * out-of-order request gets its precise 4xx JSON error, and the database is
 * byte-for-byte unchanged afterwards (a fingerprint of every table's rows).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <zlib.h>

#include "../frames.h"
#include "harness.h"
#include "wire.h"

static wbt_server srv;
static char db[512];
static uint64_t last_seq;
static const char *RUN = "/api/v1/projects/tester/bad/runs/r1";

typedef wbt_frames buf;

static void put_metrics(buf *b, uint64_t seq, int64_t step, const char *key, double v)
{
	wb_metric m = {key, v};
	wbt_frames_metrics(b, seq, step, 1.0, &m, 1);
}

static const char *const FRAMES_CT[] = {"Content-Type: application/x-wb-frames", NULL};
static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static long post_records(const char *run, const buf *b, char *code, size_t cap)
{
	char path[512];
	wbt_response r;
	cJSON *j;
	long st;

	snprintf(path, sizeof(path), "%s/records", run);
	assert_int_equal(wbt_http(&srv, "POST", path, b->p, b->len, FRAMES_CT, 1, &r), 0);
	st = r.status;
	j = cJSON_ParseWithLength(r.body, r.len);
	code[0] = 0;
	if (j && cJSON_GetObjectItem(j, "error"))
		snprintf(code, cap, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring);
	cJSON_Delete(j);
	wbt_response_free(&r);
	return st;
}

static int setup(void **state)
{
	buf b = {0};
	char code[64];
	wbt_response r;
	const char *body = "{\"name\":\"bad-input\",\"tags\":[\"t\"]}";
	cJSON *j;

	(void)state;
	if (wbt_server_start(&srv, "") < 0)
		return -1;
	wbt_db_path(&srv, db, sizeof(db));
	if (wbt_http(&srv, "PUT", RUN, body, strlen(body), JSON_CT, 1, &r) < 0 || r.status != 201)
		return -1;
	wbt_response_free(&r);
	wbt_frames_put(&b, 1, WB__REC_CONFIG, "{\"lr\":0.1}", 10);
	put_metrics(&b, 2, 0, "loss", 1.0);
	put_metrics(&b, 3, 5, "loss", 0.5);
	wbt_frames_put(&b, 4, WB__REC_FINISH, "{\"exit_code\":0}", 15);
	if (post_records(RUN, &b, code, sizeof(code)) != 200)
		return -1;
	free(b.p);
	j = wbt_get_json(&srv, RUN);
	if (!j)
		return -1;
	last_seq = (uint64_t)cJSON_GetObjectItem(j, "last_seq")->valuedouble;
	cJSON_Delete(j);
	return last_seq == 4 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	return 0;
}

/* Send one request, check status, error code, that the message holds want_msg (if given), and that nothing changed. */
static void expect_msg(const char *method, const char *path, const void *body, size_t len, const char *const *hdr,
		       int auth, long want_status, const char *want_code, const char *want_msg)
{
	uint64_t before = wbt_db_fingerprint(db);
	wbt_response r;
	cJSON *j, *err;

	assert_int_equal(wbt_http(&srv, method, path, body, len, hdr, auth, &r), 0);
	if (r.status != want_status)
		fprintf(stderr, "%s %s: got %ld %s, want %ld %s\n", method, path, r.status, r.body, want_status,
			want_code);
	assert_int_equal(r.status, want_status);
	assert_non_null(strstr(r.content_type, "application/json"));
	j = cJSON_ParseWithLength(r.body, r.len);
	assert_non_null(j);
	err = cJSON_GetObjectItem(j, "error");
	assert_non_null(err);
	assert_string_equal(cJSON_GetObjectItem(err, "code")->valuestring, want_code);
	assert_true(strlen(cJSON_GetObjectItem(err, "message")->valuestring) > 0);
	if (want_msg && !strstr(cJSON_GetObjectItem(err, "message")->valuestring, want_msg)) {
		fprintf(stderr, "%s %s: message \"%s\" lacks \"%s\"\n", method, path,
			cJSON_GetObjectItem(err, "message")->valuestring, want_msg);
		fail();
	}
	cJSON_Delete(j);
	wbt_response_free(&r);
	assert_true(wbt_db_fingerprint(db) == before);
}

static void expect(const char *method, const char *path, const void *body, size_t len, const char *const *hdr,
		   int auth, long want_status, const char *want_code)
{
	expect_msg(method, path, body, len, hdr, auth, want_status, want_code, NULL);
}

static void expect_records(const buf *b, long want_status, const char *want_code)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/records", RUN);
	expect("POST", path, b->p, b->len, FRAMES_CT, 1, want_status, want_code);
}

static void test_e2e_badinput__json_bodies(void **state)
{
	(void)state;
	expect("PUT", RUN, "{\"name\": ", 9, JSON_CT, 1, 400, "invalid_json");
	expect("PUT", RUN, "{\"name\": NaN}", 13, JSON_CT, 1, 400, "invalid_json");
	expect("PUT", RUN, "[1,2]", 5, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", RUN, "{\"tags\": 5}", 11, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", RUN, "{\"tags\": [1]}", 13, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", RUN, "{\"name\": 12}", 12, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", RUN, "{\"name\": \"\"}", 12, JSON_CT, 1, 400, "invalid_argument");
	expect("POST", "/api/v1/projects/tester/bad/runs/r1/finish", "{\"exit_code\":\"x\"}", 17, JSON_CT, 1, 400,
	       "invalid_argument");
}

/*
 * JSON that cJSON would silently change — a NUL in a string (stored cut
 * short), invalid UTF-8, a key given twice (one wins), a number past a
 * double (stored as inf) — is a 400 naming the field on every route, and
 * a record frame carrying it is refused with its seq and the field.
 */
static void test_e2e_badinput__strict_json(void **state)
{
	static const struct {
		const char *method, *path, *body, *code, *field;
	} cases[] = {
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"name\":\"a\\u0000b\"}", "invalid_json", "$.name: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"tags\":[\"t\",\"a\\u0000b\"]}", "invalid_json", "$.tags[1]: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"group\":\"a\\u0000b\"}", "invalid_json", "$.group: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"notes\":\"caf\xe9\"}", "invalid_json", "$.notes: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"metadata\":{\"opt\":{\"lr\":1e400}}}", "invalid_json",
	     "$.metadata.opt.lr: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"metadata\":{\"a.b\":-1e400}}", "invalid_json",
	     "$.metadata[\"a.b\"]: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/r1", "{\"name\":\"x\",\"name\":\"y\"}", "invalid_json", "$.name: "},
	    {"PUT", "/api/v1/projects/tester/bad/runs/new1", "{\"metadata\":{\"\xc0\x80\":1}}", "invalid_json",
	     "$.metadata: "},
	    {"PATCH", "/api/v1/projects/tester/bad/runs/r1", "{\"tags\":[\"a\\u0000\"]}", "invalid_json", "$.tags[0]: "},
	    {"POST", "/api/v1/projects/tester/bad/runs/r1/finish", "{\"exit_code\":0,\"exit_code\":1}", "invalid_json",
	     "$.exit_code: "},
	    {"POST", "/api/v1/projects/tester/bad/reports", "{\"title\":\"t\",\"body\":\"x\\u0000y\"}", "invalid_json",
	     "$.body: "},
	    {"POST", "/api/v1/projects/tester/bad/artifacts/model",
	     "{\"type\":\"model\",\"metadata\":{\"acc\":1e400},\"files\":[]}", "invalid_json", "$.metadata.acc: "},
	    {"POST", "/api/v1/projects/tester/bad/artifacts/model",
	     "{\"type\":\"model\",\"files\":[{\"path\":\"a\\u0000b\",\"sha256\":\"x\",\"size\":1}]}", "invalid_json",
	     "$.files[0].path: "},
	    {"POST", "/api/v1/projects/tester/bad/artifacts/blobs/check", "{\"blobs\":[],\"blobs\":[]}", "invalid_json",
	     "$.blobs: "},
	    {"POST", "/api/v1/projects/tester/bad/rules", "{\"rule\":\"summary loss > 1\",\"rule\":\"x\"}", "invalid_json",
	     "$.rule: "},
	    {"POST", "/api/v1/keys", "{\"name\":\"k\\u0000\"}", "invalid_json", "$.name: "},
	    {"PUT", "/api/v1/projects/tester/bad", "{\"visibility\":\"private\",\"visibility\":\"public\"}",
	     "invalid_json", "$.visibility: "},
	};
	static const struct {
		uint8_t type;
		const char *payload, *field;
	} frames[] = {
	    {WB__REC_CONFIG, "{\"optimizer\":{\"lr\":1e400}}", "$.optimizer.lr: "},
	    {WB__REC_CONFIG, "{\"lr\":0.1,\"lr\":0.2}", "$.lr: "},
	    {WB__REC_CONFIG, "{\"name\":\"\xff\xfe\"}", "$.name: "},
	    {WB__REC_SUMMARY, "{\"acc\":\"a\\u0000b\"}", "$.acc: "},
	    {WB__REC_SUMMARY, "{\"acc\":1e400}", "$.acc: "},
	    {WB__REC_RUN, "{\"name\":\"a\\u0000b\"}", "$.name: "},
	    {WB__REC_RUN, "{\"metadata\":{\"argv\":[\"x\",\"\xed\xa0\x80\"]}}", "$.metadata.argv[1]: "},
	};
	buf b = {0};
	char want[128];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_msg(cases[i].method, cases[i].path, cases[i].body, strlen(cases[i].body), JSON_CT, 1, 400,
			   cases[i].code, cases[i].field);
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		b.len = 0;
		put_metrics(&b, last_seq + 1, 10, "loss", 1.0); /* a good frame first: refused with the body */
		wbt_frames_put(&b, last_seq + 2, frames[i].type, frames[i].payload, (uint32_t)strlen(frames[i].payload));
		snprintf(want, sizeof(want), "frame seq %llu: %s", (unsigned long long)(last_seq + 2), frames[i].field);
		expect_msg("POST", "/api/v1/projects/tester/bad/runs/r1/records", b.p, b.len, FRAMES_CT, 1, 400,
			   "invalid_record", want);
	}
	/* a metric key with a NUL byte in the binary METRICS record (keys are checked byte by byte) */
	{
		uint8_t raw[64];
		memset(raw, 0, sizeof(raw));
		wb__put_u64(raw, 10);
		wb__put_u16(raw + 16, 1);
		raw[18] = 4;
		memcpy(raw + 19, "lo\0s", 4);
		b.len = 0;
		wbt_frames_put(&b, last_seq + 1, WB__REC_METRICS, raw, 19 + 4 + 8);
		expect_records(&b, 400, "invalid_record");
	}
	free(b.p);

	/* the valid edge cases next to them still pass, exactly */
	{
		const char *good = "{\"name\":\"\\ud83d\\ude00 \xf4\x8f\xbf\xbf\",\"metadata\":{\"big\":1e308,\"z\":-0}}";
		wbt_response r;
		cJSON *j;
		assert_int_equal(wbt_http(&srv, "PUT", RUN, good, strlen(good), JSON_CT, 1, &r), 0);
		assert_int_equal(r.status, 200);
		wbt_response_free(&r);
		j = wbt_get_json(&srv, RUN);
		assert_non_null(j);
		assert_string_equal(cJSON_GetObjectItem(j, "name")->valuestring, "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
		cJSON_Delete(j);
	}
}

static void test_e2e_badinput__hostile_names(void **state)
{
	char longid[128], path[256];
	(void)state;
	expect("PUT", "/api/v1/projects/tester/..%2Fetc/runs/r1", "{}", 2, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", "/api/v1/projects/%3Cscript%3E/bad/runs/r1", "{}", 2, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", "/api/v1/projects/tester/bad/runs/.hidden", "{}", 2, JSON_CT, 1, 400, "invalid_argument");
	expect("PUT", "/api/v1/projects/tester/bad/runs/a%00b", "{}", 2, JSON_CT, 1, 400, "invalid_argument");
	memset(longid, 'a', 65);
	longid[65] = 0;
	snprintf(path, sizeof(path), "/api/v1/projects/tester/bad/runs/%s", longid);
	expect("PUT", path, "{}", 2, JSON_CT, 1, 400, "invalid_argument");
}

static void test_e2e_badinput__auth(void **state)
{
	const char *const wrong[] = {"Authorization: Bearer wb_not_a_real_key", NULL};
	(void)state;
	expect("GET", RUN, NULL, 0, NULL, 0, 401, "unauthorized");
	expect("GET", RUN, NULL, 0, wrong, 0, 401, "unauthorized");
	expect("PUT", RUN, "{}", 2, wrong, 0, 401, "unauthorized");
}

static void test_e2e_badinput__unknown_things(void **state)
{
	buf b = {0};
	(void)state;
	put_metrics(&b, 1, 0, "loss", 1.0);
	expect("POST", "/api/v1/projects/tester/bad/runs/nosuchrun/records", b.p, b.len, FRAMES_CT, 1, 404,
	       "not_found");
	expect("GET", "/api/v1/projects/tester/bad/runs/nosuchrun", NULL, 0, NULL, 1, 404, "not_found");
	expect("GET", "/api/v1/nosuchroute", NULL, 0, NULL, 1, 404, "not_found");
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/history?key=nosuchkey", NULL, 0, NULL, 1, 404,
	       "not_found");
	free(b.p);
}

static void test_e2e_badinput__query_parameters(void **state)
{
	(void)state;
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/history?key=loss&buckets=0", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/history?key=loss&buckets=abc", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/history?key=loss&buckets=1000000", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/history?buckets=10", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs?limit=-1", NULL, 0, NULL, 1, 400, "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs?sort=nosuchfield", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs?filter=nosuchfield%3D1", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs?filter=config.lr", NULL, 0, NULL, 1, 400, "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs?filter=config.a%FFb%3D1", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
	expect("GET", "/api/v1/projects/tester/bad/runs/r1/export?key=loss&format=xml", NULL, 0, NULL, 1, 400,
	       "invalid_argument");
}

/* A filter value is data, never SQL: it matches nothing and drops nothing. */
static void test_e2e_badinput__filter_value_is_not_sql(void **state)
{
	uint64_t before = wbt_db_fingerprint(db);
	cJSON *j;
	(void)state;
	j = wbt_get_json(&srv, "/api/v1/projects/tester/bad/runs?filter=config.lr%3E%27%3B%20DROP%20TABLE%20runs%3B--");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "runs")), 0);
	cJSON_Delete(j);
	j = wbt_get_json(&srv, "/api/v1/projects/tester/bad/runs?filter=name~%25");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "runs")), 0);
	cJSON_Delete(j);
	j = wbt_get_json(&srv, "/api/v1/projects/tester/bad/runs?filter=config.lr%3E0.05");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "runs")), 1);
	cJSON_Delete(j);
	assert_true(wbt_db_fingerprint(db) == before);
}

static void test_e2e_badinput__broken_frames(void **state)
{
	buf b = {0};
	uint64_t s = last_seq + 1;
	uint8_t raw[600];
	(void)state;

	/* a flipped bit: checksum */
	put_metrics(&b, s, 10, "loss", 1.0);
	b.p[b.len - 3] ^= 1;
	expect_records(&b, 400, "invalid_record");
	/* a valid frame followed by a torn one: the valid one is not applied either */
	b.len = 0;
	put_metrics(&b, s, 10, "loss", 1.0);
	put_metrics(&b, s + 1, 11, "loss", 1.0);
	b.len -= 4;
	expect_records(&b, 400, "invalid_record");
	/* non-consecutive sequence numbers inside a body */
	b.len = 0;
	put_metrics(&b, s, 10, "loss", 1.0);
	put_metrics(&b, s + 2, 11, "loss", 1.0);
	expect_records(&b, 400, "invalid_record");
	/* unknown record type */
	b.len = 0;
	wbt_frames_put(&b, s, 99, "x", 1);
	expect_records(&b, 400, "invalid_record");
	/* config record that is not JSON; config that is not an object */
	b.len = 0;
	wbt_frames_put(&b, s, WB__REC_CONFIG, "{lr:", 4);
	expect_records(&b, 400, "invalid_record");
	b.len = 0;
	wbt_frames_put(&b, s, WB__REC_CONFIG, "[1]", 3);
	expect_records(&b, 400, "invalid_record");
	/* a 256-byte key and an empty key, encoded by hand (the SDK refuses them) */
	memset(raw, 0, sizeof(raw));
	wb__put_u64(raw, 10);
	wb__put_u16(raw + 16, 1);
	raw[18] = 255; /* klen 255 is the maximum; claim it but give 256 bytes of key */
	memset(raw + 19, 'k', 256);
	b.len = 0;
	wbt_frames_put(&b, s, WB__REC_METRICS, raw, 19 + 256 + 8);
	expect_records(&b, 400, "invalid_record");
	raw[18] = 0;
	b.len = 0;
	wbt_frames_put(&b, s, WB__REC_METRICS, raw, 19 + 8);
	expect_records(&b, 400, "invalid_record");
	/* a decreasing step (the run is at step 5) */
	b.len = 0;
	put_metrics(&b, s, 4, "loss", 1.0);
	expect_records(&b, 400, "invalid_record");
	/* an empty body */
	b.len = 0;
	expect_records(&b, 400, "invalid_record");
	free(b.p);
}

static void test_e2e_badinput__sequence_gap(void **state)
{
	buf b = {0};
	char path[256];
	wbt_response r;
	cJSON *j;
	(void)state;

	put_metrics(&b, last_seq + 5, 10, "loss", 1.0);
	expect_records(&b, 409, "sequence_gap");
	snprintf(path, sizeof(path), "%s/records", RUN);
	assert_int_equal(wbt_http(&srv, "POST", path, b.p, b.len, FRAMES_CT, 1, &r), 0);
	j = cJSON_ParseWithLength(r.body, r.len);
	assert_non_null(j);
	assert_int_equal((uint64_t)cJSON_GetObjectItem(j, "expected")->valuedouble, last_seq + 1);
	cJSON_Delete(j);
	wbt_response_free(&r);
	free(b.p);
}

static void test_e2e_badinput__already_applied_is_skipped_not_duplicated(void **state)
{
	buf b = {0};
	char code[64];
	(void)state;
	put_metrics(&b, 2, 0, "loss", 1.0);
	put_metrics(&b, 3, 5, "loss", 0.5);
	assert_int_equal(post_records(RUN, &b, code, sizeof(code)), 200);
	/* a replay changes no point (only heartbeat bookkeeping may move) */
	{
		cJSON *j = wbt_get_json(&srv, "/api/v1/projects/tester/bad/runs/r1/export?key=loss&format=json");
		assert_non_null(j);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 2);
		cJSON_Delete(j);
	}
	free(b.p);
}

static void test_e2e_badinput__media_types_and_sizes(void **state)
{
	buf b = {0};
	char path[256];
	const char *const gz[] = {"Content-Type: application/x-wb-frames", "Content-Encoding: gzip", NULL};
	const char *const br[] = {"Content-Type: application/x-wb-frames", "Content-Encoding: br", NULL};
	/* bodies refused on their Content-Length alone: a client that wants the
	 * answer before it sends them asks first (else the close may reset it) */
	const char *const frames_ask[] = {"Content-Type: application/x-wb-frames", "Expect: 100-continue", NULL};
	const char *const json_ask[] = {"Content-Type: application/json", "Expect: 100-continue", NULL};
	uint8_t *bomb, *zeros;
	uLongf blen;
	size_t big = 33u << 20;
	(void)state;

	snprintf(path, sizeof(path), "%s/records", RUN);
	put_metrics(&b, last_seq + 1, 10, "loss", 1.0);
	expect("POST", path, b.p, b.len, JSON_CT, 1, 415, "unsupported_media_type");
	expect("POST", path, b.p, b.len, br, 1, 415, "unsupported_media_type");
	expect("POST", path, b.p, b.len, gz, 1, 400, "invalid_record"); /* claims gzip, is not */
	/* a gzip bomb: 100 MiB of zeros in ~100 KiB */
	zeros = calloc(100u << 20, 1);
	blen = compressBound(100u << 20);
	bomb = malloc(blen);
	assert_true(zeros && bomb);
	{
		z_stream z = {0};
		assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = zeros;
		z.avail_in = 100u << 20;
		z.next_out = bomb;
		z.avail_out = (uInt)blen;
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		blen = z.total_out;
		deflateEnd(&z);
	}
	expect("POST", path, bomb, blen, gz, 1, 413, "too_large");
	free(bomb);
	/* a body over 32 MiB */
	zeros = realloc(zeros, big);
	expect("POST", path, zeros, big, frames_ask, 1, 413, "too_large");
	free(zeros);
	/* a JSON body over 1 MiB */
	{
		size_t n = (1u << 20) + 100;
		char *j = malloc(n + 1);
		memset(j, ' ', n);
		j[0] = '{';
		j[n - 1] = '}';
		j[n] = 0;
		expect("PUT", RUN, j, n, json_ask, 1, 413, "too_large");
		free(j);
	}
	free(b.p);
}

/*
 * A client that declared a body over the limit, sent part of it and then
 * stalls: it reads its 413, and the server closes the connection cleanly
 * (end of stream, no reset: the part it sent was read and dropped) and
 * soon (the drain is bounded by poll on the socket, ~1 s; each mg_read
 * could wait the 10 s request timeout). Before the bounded drain the
 * unread part made the close a reset.
 */
static void test_e2e_badinput__stalled_refused_body(void **state)
{
	const size_t part = 64u << 10; /* more than civetweb buffers with the headers */
	uint64_t before = wbt_db_fingerprint(db);
	char head[512], resp[4096];
	char *zeros = calloc(part, 1);
	struct pollfd p;
	int fd, closed, err = 0;
	socklen_t elen = sizeof(err);
	double t0, took;
	(void)state;

	assert_non_null(zeros);
	snprintf(head, sizeof(head),
		 "POST %s/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/x-wb-frames\r\nContent-Length: %u\r\n\r\n",
		 RUN, srv.key, 40u << 20);
	fd = wbt_dial(srv.port);
	assert_true(fd >= 0);
	assert_int_equal(wbt_send_all(fd, head, strlen(head)), 0);
	assert_int_equal(wbt_send_all(fd, zeros, part), 0);
	t0 = wbt_now();
	wbt_read_until_close(fd, resp, sizeof(resp), 5, &closed);
	took = wbt_now() - t0;
	print_message("stalled 413: closed=%d after %.2f s\n", closed, took);
	assert_int_equal(strncmp(resp, "HTTP/1.1 413", 12), 0);
	assert_non_null(strstr(resp, "\"too_large\""));
	assert_int_equal(closed, WBT_CLOSED_EOF);
	assert_true(took < 2.0);
	/* no reset follows the end of stream: nothing to report within 300 ms
	 * (a reset raises POLLHUP and POLLERR, which poll reports unasked) */
	p.fd = fd;
	p.events = 0;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 300), 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
	assert_int_equal(err, 0);
	close(fd);
	free(zeros);
	assert_true(wbt_db_fingerprint(db) == before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_badinput__json_bodies),
	    cmocka_unit_test(test_e2e_badinput__strict_json),
	    cmocka_unit_test(test_e2e_badinput__hostile_names),
	    cmocka_unit_test(test_e2e_badinput__auth),
	    cmocka_unit_test(test_e2e_badinput__unknown_things),
	    cmocka_unit_test(test_e2e_badinput__query_parameters),
	    cmocka_unit_test(test_e2e_badinput__filter_value_is_not_sql),
	    cmocka_unit_test(test_e2e_badinput__broken_frames),
	    cmocka_unit_test(test_e2e_badinput__sequence_gap),
	    cmocka_unit_test(test_e2e_badinput__already_applied_is_skipped_not_duplicated),
	    cmocka_unit_test(test_e2e_badinput__media_types_and_sizes),
	    cmocka_unit_test(test_e2e_badinput__stalled_refused_body),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_server.c — the HTTP layer end to end inside one process: a store
 * and the civetweb server on an ephemeral loopback port, driven by a small
 * HTTP/1.1 client over a socket. Covers routing, auth, every route's happy
 * path, the error codes of schema/api.md, and measures ingest throughput
 * through HTTP with gzip'd ~100k-point bodies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cJSON.h>

#include "auth/auth.h"
#include "config.h"
#include "http/http.h"
#include "store/store.h"
#include "store/store_acct.h"
#include "wire.h"
#include "../../../frames.h"

#define KEY "wb_testkeytestkeytestkeytestkeytestkey0123"

typedef struct fx {
	char dir[64];
	wbs__store *s;
	wbs__http *h;
	int port;
} fx;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	wbs__store_opts so = {0};
	wbs__http_opts ho = {0};
	wbs__err e = {0};
	uint8_t hash[32];
	char url[128], err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/wb-test-server-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	so.dir = f->dir;
	so.sweep_interval = -1;
	assert_int_equal(wbs__store_open(&f->s, &so, &e), WBS__ST_OK);
	wbs__key_hash(KEY, strlen(KEY), hash);
	assert_int_equal(wbs__store_key_add(f->s, "admin", hash, "wb_test", &e), WBS__ST_OK);
	assert_int_equal(wbs__store_user_set_admin(f->s, "admin", &e), WBS__ST_OK);
	ho.host = "127.0.0.1";
	ho.port = 0;
	ho.threads = 4;
	ho.store = f->s;
	assert_int_equal(wbs__http_start(&f->h, &ho, url, sizeof(url), err, sizeof(err)), 0);
	assert_int_equal(strncmp(url, "http://127.0.0.1:", 17), 0);
	f->port = atoi(url + 17);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	wbs__http_stop(f->h);
	wbs__store_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

typedef struct resp {
	int status;
	char head[8192];
	char *body;
	size_t len;
} resp;

static void resp_free(resp *r) { free(r->body); }

/* Undo chunked transfer encoding in place. */
static void dechunk(resp *r)
{
	char *in = r->body, *out = r->body;
	size_t total = 0;
	for (;;) {
		char *end;
		unsigned long n = strtoul(in, &end, 16);
		in = strstr(end, "\r\n") + 2;
		if (n == 0)
			break;
		memmove(out + total, in, n);
		total += n;
		in += n + 2;
	}
	r->len = total;
	r->body[total] = '\0';
}

/* One request on a fresh connection (Connection: close). auth: add the bearer key. */
static void http(fx *f, const char *method, const char *path, int auth, const char *extra, const void *body,
		 size_t blen, resp *r)
{
	struct sockaddr_in a = {0};
	char req[4096];
	size_t cap = 1 << 16, got = 0;
	char *buf = malloc(cap), *sep;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int n;

	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)f->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s", method, path,
		     auth ? "Authorization: Bearer " KEY "\r\n" : "", extra ? extra : "", "");
	if (body && !(extra && strstr(extra, "Transfer-Encoding")))
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	assert_int_equal(write(fd, req, (size_t)n), n);
	for (size_t off = 0; body && off < blen;) {
		ssize_t w = write(fd, (const char *)body + off, blen - off);
		if (w <= 0)
			break; /* the server may answer early (413) and close */
		off += (size_t)w;
	}
	for (;;) {
		ssize_t k;
		if (got + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		k = read(fd, buf + got, cap - got - 1);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	memset(r, 0, sizeof(*r));
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
	sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->len = got - (size_t)(sep + 4 - buf);
	r->body = malloc(r->len + 1);
	memcpy(r->body, sep + 4, r->len);
	r->body[r->len] = '\0';
	free(buf);
	if (strstr(r->head, "Transfer-Encoding: chunked"))
		dechunk(r);
}

static const char *err_code(resp *r)
{
	static char code[64];
	cJSON *j = cJSON_Parse(r->body);
	cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
	snprintf(code, sizeof(code), "%s", cJSON_IsString(c) ? c->valuestring : "?");
	cJSON_Delete(j);
	return code;
}

/* ---- frames ---- */

typedef wbt_frames body;

static void body_metrics(body *b, int64_t step, double time, const wb_metric *m, size_t n)
{
	wbt_frames_metrics(b, b->seq++, step, time, m, n);
}

static uint8_t *gzip_body(const body *b, size_t *outlen)
{
	z_stream z;
	size_t cap = compressBound(b->len) + 64;
	uint8_t *out = malloc(cap);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = b->p;
	z.avail_in = (uInt)b->len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

#define RUN "/api/v1/projects/alice/mnist/runs/r1"
#define FRAMES "Content-Type: application/x-wb-frames\r\n"
#define JSON "Content-Type: application/json\r\n"

/* ---- cases ---- */

static void test_server__healthz_and_auth(void **state)
{
	fx *f = *state;
	resp r;

	http(f, "GET", "/healthz", 0, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_non_null(strstr(r.head, "X-Request-Id: "));
	resp_free(&r);
	/* The projects list is public (it shows only public projects to outsiders); keys are not. */
	http(f, "GET", "/api/v1/keys", 0, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(err_code(&r), "unauthorized");
	resp_free(&r);
	http(f, "GET", "/api/v1/projects", 0, "Authorization: Bearer wb_nope\r\n", NULL, 0, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	http(f, "GET", "/api/v1/projects", 0, "Authorization: Basic xyz\r\n", NULL, 0, &r);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	http(f, "GET", "/api/v1/projects", 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"projects\":[]}");
	resp_free(&r);
	http(f, "GET", "/nowhere", 0, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(err_code(&r), "not_found");
	resp_free(&r);
}

static void test_server__run_lifecycle(void **state)
{
	fx *f = *state;
	body b = {.seq = 1}, b2 = {.seq = 1};
	uint8_t *gz;
	size_t gzlen;
	resp r;
	cJSON *j;
	const char *def = "{\"key\":\"loss\",\"summary\":[\"min\",\"last\"]}";

	http(f, "PUT", RUN, 1, JSON, "{\"name\":\"brave\",\"tags\":[\"a\"]}", 29, &r);
	assert_int_equal(r.status, 201);
	j = cJSON_Parse(r.body);
	assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "r1");
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "running");
	assert_string_equal(cJSON_GetObjectItem(j, "url")->valuestring, "/alice/mnist/runs/r1");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "group")));
	cJSON_Delete(j);
	resp_free(&r);
	http(f, "PUT", RUN, 1, NULL, NULL, 0, &r); /* no body at all: resume */
	assert_int_equal(r.status, 200);
	resp_free(&r);

	wbt_frames_add(&b, WB__REC_CONFIG, "{\"lr\":0.1}", 10);
	wbt_frames_add(&b, WB__REC_DEFINE, def, (uint32_t)strlen(def));
	for (int i = 0; i < 3000; i++) {
		wb_metric m[2] = {{"loss", i == 7 ? NAN : 1.0 / (i + 1)}, {"acc", i == 8 ? -INFINITY : i * 0.001}};
		body_metrics(&b, i, 1.7e9 + i, m, 2);
	}
	gz = gzip_body(&b, &gzlen);
	http(f, "POST", RUN "/records", 1, FRAMES "Content-Encoding: gzip\r\n", gz, gzlen, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"last_seq\":3002,\"applied\":3002}");
	resp_free(&r);
	/* retry of the same body: acknowledged, nothing applied */
	http(f, "POST", RUN "/records", 1, FRAMES "Content-Encoding: gzip\r\n", gz, gzlen, &r);
	assert_string_equal(r.body, "{\"last_seq\":3002,\"applied\":0}");
	resp_free(&r);
	free(gz);
	/* a gap */
	b2.seq = 5000;
	{
		wb_metric m = {"loss", 1};
		body_metrics(&b2, 5000, 0, &m, 1);
	}
	http(f, "POST", RUN "/records", 1, FRAMES, b2.p, b2.len, &r);
	assert_int_equal(r.status, 409);
	assert_string_equal(err_code(&r), "sequence_gap");
	j = cJSON_Parse(r.body);
	assert_int_equal(cJSON_GetObjectItem(j, "expected")->valueint, 3003);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "expected")->valueint, 3003);
	cJSON_Delete(j);
	resp_free(&r);

	http(f, "POST", RUN "/heartbeat", 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"state\":\"running\"}");
	resp_free(&r);

	http(f, "GET", RUN, 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(r.body);
	assert_int_equal(cJSON_GetObjectItem(j, "last_seq")->valueint, 3002);
	assert_int_equal(cJSON_GetObjectItem(j, "last_step")->valueint, 2999);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "lr")->valuedouble == 0.1);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "loss"), "min")
			    ->valuedouble == 1.0 / 3000);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "acc")->valuedouble == 2999 * 0.001);
	cJSON_Delete(j);
	resp_free(&r);

	http(f, "GET", RUN "/metrics", 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "{\"key\":\"_timestamp\",\"count\":3000,"));
	assert_non_null(strstr(r.body, "\"min\":\"-Infinity\""));
	resp_free(&r);

	http(f, "GET", RUN "/history?key=loss&buckets=10", 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(r.body);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 3000);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 10);
	cJSON_Delete(j);
	resp_free(&r);
	http(f, "GET", RUN "/history?key=loss&start=6&end=8", 1, NULL, NULL, 0, &r);
	assert_string_equal(r.body, "{\"key\":\"loss\",\"total\":3,\"downsampled\":false,\"step\":[6,7,8],"
				    "\"min\":[0.14285714285714285,\"NaN\",0.1111111111111111],"
				    "\"max\":[0.14285714285714285,\"NaN\",0.1111111111111111],"
				    "\"last\":[0.14285714285714285,\"NaN\",0.1111111111111111],\"count\":[1,1,1]}");
	resp_free(&r);

	/* export: JSON with bits, bit-exact */
	http(f, "GET", RUN "/export?key=loss&bits=1", 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = cJSON_Parse(r.body);
	assert_non_null(j);
	{
		cJSON *st = cJSON_GetObjectItem(j, "step"), *va = cJSON_GetObjectItem(j, "value"),
		      *bits = cJSON_GetObjectItem(j, "bits");
		assert_int_equal(cJSON_GetArraySize(st), 3000);
		assert_int_equal(cJSON_GetArraySize(bits), 3000);
		assert_string_equal(cJSON_GetArrayItem(va, 7)->valuestring, "NaN");
		assert_string_equal(cJSON_GetArrayItem(bits, 7)->valuestring, "7ff8000000000000");
		for (int i = 0; i < 3000; i += 37) {
			char want[17];
			if (i == 7)
				continue;
			snprintf(want, sizeof(want), "%016llx", (unsigned long long)wb__f64_bits(1.0 / (i + 1)));
			assert_string_equal(cJSON_GetArrayItem(bits, i)->valuestring, want);
			assert_true(cJSON_GetArrayItem(va, i)->valuedouble == 1.0 / (i + 1));
		}
	}
	cJSON_Delete(j);
	resp_free(&r);
	/* export: CSV of one key and of everything */
	http(f, "GET", RUN "/export?key=acc&format=csv", 1, NULL, NULL, 0, &r);
	assert_non_null(strstr(r.head, "text/csv"));
	assert_int_equal(strncmp(r.body, "step,value\n0,0\n1,0.001\n", 23), 0);
	assert_non_null(strstr(r.body, "\n8,-Infinity\n"));
	resp_free(&r);
	http(f, "GET", RUN "/export?format=csv", 1, NULL, NULL, 0, &r);
	assert_int_equal(strncmp(r.body, "key,step,value\n_timestamp,0,1700000000\n", 39), 0);
	assert_non_null(strstr(r.body, "\nloss,7,NaN\n"));
	resp_free(&r);

	http(f, "POST", RUN "/finish", 1, JSON, "{\"exit_code\":0}", 15, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"state\":\"finished\""));
	resp_free(&r);
	http(f, "GET", "/api/v1/projects/alice/mnist/runs?filter=state=finished&filter=config.lr%3C0.5&sort=-name", 1,
	     NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"total\":1,\"limit\":50,\"offset\":0}"));
	resp_free(&r);
	/* Grouped: one group, its count and the aggregate of config.lr (0.1 in this run). */
	http(f, "GET", "/api/v1/projects/alice/mnist/runs?group_by=state&agg=config.lr&agg=summary.nosuch&sort=duration", 1,
	     NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "{\"group_by\":\"state\",\"groups\":[{\"value\":\"finished\",\"count\":1,"));
	assert_non_null(strstr(r.body, "\"config.lr\":{\"count\":1,\"mean\":0.1,\"min\":0.1,\"max\":0.1}"));
	assert_non_null(strstr(r.body, "\"summary.nosuch\":{\"count\":0,\"mean\":null,\"min\":null,\"max\":null}"));
	assert_non_null(strstr(r.body, "],\"total_groups\":1,\"total\":1,"));
	resp_free(&r);
	http(f, "GET", "/api/v1/projects", 1, NULL, NULL, 0, &r);
	assert_non_null(strstr(r.body, "\"entity\":\"alice\",\"name\":\"mnist\",\"run_count\":1"));
	resp_free(&r);
	free(b.p);
	free(b2.p);
}

static void test_server__errors(void **state)
{
	fx *f = *state;
	resp r;
	static const struct {
		const char *method, *path, *extra, *body;
		int status;
		const char *code;
	} cases[] = {
		{"PUT", "/api/v1/projects/alice/..%2Fx/runs/r1", NULL, NULL, 400, "invalid_argument"},
		{"PUT", "/api/v1/projects/alice/%3Cscript%3E/runs/r1", NULL, NULL, 400, "invalid_argument"},
		{"PUT", "/api/v1/projects/alice/../runs/r1", NULL, NULL, 400, "invalid_argument"},
		{"PUT", "/api/v1/projects/alice/a%00b/runs/r1", NULL, NULL, 400, "invalid_argument"},
		{"PUT", "/api/v1/projects/alice/mnist/runs/"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 NULL, NULL, 400, "invalid_argument"},
		{"PUT", RUN, JSON, "{\"name\": 5}", 400, "invalid_argument"},
		{"PUT", RUN, JSON, "{\"name\": \"x\",}", 400, "invalid_json"},
		{"PUT", RUN, "Content-Type: text/plain\r\n", "{}", 415, "unsupported_media_type"},
		{"PUT", RUN, JSON "Content-Encoding: br\r\n", "{}", 415, "unsupported_media_type"},
		{"GET", "/api/v1/projects/alice/mnist/runs/r9", NULL, NULL, 404, "not_found"},
		{"GET", "/api/v1/projects/alice/mnist/runs/r9/metrics", NULL, NULL, 404, "not_found"},
		{"GET", "/api/v1/projects/alice/nope/runs", NULL, NULL, 404, "not_found"},
		{"GET", "/api/v1/projects/alice/mnist/runs/r1/bogus", NULL, NULL, 404, "not_found"},
		{"POST", RUN, NULL, NULL, 405, "method_not_allowed"},
		{"GET", "/api/v1/projects/alice/mnist/runs?limit=0", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?limit=1001", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?filter=x%3D1", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?sort=metadata", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?group_by=created_at", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?group_by=config.a%FFb", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?group_by=state&agg=tags", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?agg=config.lr", NULL, NULL, 400, "invalid_argument"},
		{"GET", "/api/v1/projects/alice/mnist/runs?filter=duration~1", NULL, NULL, 400, "invalid_argument"},
		{"GET", RUN "/history", NULL, NULL, 400, "invalid_argument"},
		{"GET", RUN "/history?key=loss&buckets=10001", NULL, NULL, 400, "invalid_argument"},
		{"GET", RUN "/history?key=loss&start=5&end=1", NULL, NULL, 400, "invalid_argument"},
		{"GET", RUN "/history?key=nope", NULL, NULL, 404, "not_found"},
		{"GET", RUN "/export?key=loss&format=xml", NULL, NULL, 400, "invalid_argument"},
		{"POST", RUN "/records", JSON, "x", 415, "unsupported_media_type"},
		{"POST", RUN "/records", FRAMES, "garbage-that-is-not-a-frame", 400, "invalid_record"},
		{"POST", RUN "/records", FRAMES "Content-Encoding: gzip\r\n", "not gzip", 400, "invalid_record"},
		{"POST", RUN "/records", FRAMES "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n", 411, "length_required"},
		{"POST", RUN "/finish", JSON, "{\"exit_code\":\"0\"}", 400, "invalid_argument"},
		{"POST", RUN "/finish", JSON, "{}", 400, "invalid_argument"},
		{"POST", "/api/v1/projects/alice/mnist/runs/r9/heartbeat", NULL, NULL, 404, "not_found"},
	};

	http(f, "PUT", RUN, 1, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http(f, cases[i].method, cases[i].path, 1, cases[i].extra, cases[i].body,
		     cases[i].body ? strlen(cases[i].body) : 0, &r);
		if (r.status != cases[i].status || strcmp(err_code(&r), cases[i].code) != 0)
			fail_msg("case %zu %s %s: got %d %s", i, cases[i].method, cases[i].path, r.status, r.body);
		resp_free(&r);
	}
	/* Over 32 MiB as sent: 413 (the client sends its body anyway, as real clients do). */
	{
		size_t big = 33u * 1024u * 1024u;
		char *junk = calloc(1, big);
		http(f, "POST", RUN "/records", 1, FRAMES, junk, big, &r);
		assert_int_equal(r.status, 413);
		assert_string_equal(err_code(&r), "too_large");
		resp_free(&r);
		free(junk);
	}
	/* The JSON error names the byte offset. */
	http(f, "PUT", RUN, 1, JSON, "{\"a\":}", 6, &r);
	assert_non_null(strstr(r.body, "at byte 5"));
	resp_free(&r);
	/* Nothing was created by the failed requests. */
	http(f, "GET", "/api/v1/projects", 1, NULL, NULL, 0, &r);
	assert_non_null(strstr(r.body, "\"run_count\":1,"));
	assert_null(strstr(r.body, "script"));
	resp_free(&r);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ingest through HTTP: gzip'd bodies of 100k points (10 keys x 10k steps). */
static void test_server__ingest_throughput(void **state)
{
	fx *f = *state;
	enum { BODIES = 10, STEPS = 10000, KEYS = 10 };
	uint8_t *gz[BODIES];
	size_t gzlen[BODIES], raw = 0, packed = 0;
	char names[KEYS][24];
	uint64_t seq = 1;
	double t0, t;
	resp r;

	http(f, "PUT", RUN, 1, NULL, NULL, 0, &r);
	resp_free(&r);
	for (int k = 0; k < KEYS; k++)
		snprintf(names[k], sizeof(names[k]), "train/metric_%d", k);
	for (int bi = 0; bi < BODIES; bi++) {
		body b = {.seq = seq};
		for (int s = 0; s < STEPS; s++) {
			wb_metric m[KEYS];
			int64_t step = (int64_t)bi * STEPS + s;
			for (int k = 0; k < KEYS; k++)
				m[k] = (wb_metric){names[k], (double)(float)(1.0 / (1.0 + step * 1e-3 + k))};
			body_metrics(&b, step, 1.7e9 + step * 0.01, m, KEYS);
		}
		gz[bi] = gzip_body(&b, &gzlen[bi]);
		raw += b.len;
		packed += gzlen[bi];
		seq = b.seq;
		free(b.p);
	}
	t0 = mono();
	for (int bi = 0; bi < BODIES; bi++) {
		http(f, "POST", RUN "/records", 1, FRAMES "Content-Encoding: gzip\r\n", gz[bi], gzlen[bi], &r);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	t = mono() - t0;
	print_message("http ingest: %d points in %.3f s = %.2f M points/s (bodies %.1f MiB raw, %.1f MiB gzip)\n",
		      BODIES * STEPS * KEYS, t, BODIES * STEPS * KEYS / t / 1e6, raw / 1048576.0, packed / 1048576.0);
	for (int bi = 0; bi < BODIES; bi++)
		free(gz[bi]);
	http(f, "GET", RUN "/history?key=train/metric_9&buckets=100", 1, NULL, NULL, 0, &r);
	assert_non_null(strstr(r.body, "\"total\":100000,"));
	resp_free(&r);
}

/* `wb server` options: defaults, config file, flags over the file, refusals. */
/* Two servers in one process keep their own /metrics counters and
 * sign-in failures (they are the server's, not the process's). */
static void test_server__two_servers_count_apart(void **state)
{
	fx *f = *state;
	void *other_state = NULL;
	fx *g;
	resp r;

	assert_int_equal(setup(&other_state), 0);
	g = other_state;
	for (int i = 0; i < 3; i++) {
		http(f, "GET", "/api/v1/projects", 1, NULL, NULL, 0, &r);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	http(g, "GET", "/metrics", 0, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, "route=\"/api/v1/projects\""));
	resp_free(&r);
	http(f, "GET", "/metrics", 0, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "wb_http_requests_total{method=\"GET\",route=\"/api/v1/projects\",status=\"200\"} 3\n"));
	resp_free(&r);
	/* a name locked out of password sign-in on one server is not on the other */
	{
		static const char login[] = "{\"name\":\"ghost\",\"password\":\"not the password\"}";
		const char *ct = "Content-Type: application/json\r\n";
		for (int i = 0; i < 10; i++) {
			http(f, "POST", "/api/v1/auth/login", 0, ct, login, strlen(login), &r);
			assert_int_equal(r.status, 401);
			resp_free(&r);
		}
		http(f, "POST", "/api/v1/auth/login", 0, ct, login, strlen(login), &r);
		assert_int_equal(r.status, 429);
		resp_free(&r);
		http(g, "POST", "/api/v1/auth/login", 0, ct, login, strlen(login), &r);
		assert_int_equal(r.status, 401);
		resp_free(&r);
	}
	teardown(&other_state);
}

static void test_server__options(void **state)
{
	char path[] = "/tmp/wb-test-conf-XXXXXX", err[256], cfgflag[64];
	wbs__server_opts o;
	int fd;
	FILE *f;
	(void)state;

	{
		char *argv[] = {"--data", "/d"};
		assert_int_equal(wbs__server_opts_parse(&o, 2, argv, err, sizeof(err)), 0);
		assert_string_equal(o.data, "/d");
		assert_string_equal(o.host, "127.0.0.1");
		assert_int_equal(o.port, 8080);
		assert_true(o.crash_after == 120);
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# wb server config\ndata = /srv/wb\nport = 9000  \ncrash-after = 30\nthreads=4\nhost = 0.0.0.0\n"
	      "tls-cert = /etc/wb/tls/cert.pem\ntls_key = /etc/wb/tls/key.pem\nwebhook-proxy = http://proxy:3128\n",
	      f);
	fclose(f);
	snprintf(cfgflag, sizeof(cfgflag), "--config=%s", path);
	{
		char *argv[] = {cfgflag, "--port", "0"};
		assert_int_equal(wbs__server_opts_parse(&o, 3, argv, err, sizeof(err)), 0);
		assert_string_equal(o.data, "/srv/wb");
		assert_int_equal(o.port, 0); /* the flag wins */
		assert_true(o.crash_after == 30);
		assert_int_equal(o.threads, 4);
		assert_string_equal(o.host, "0.0.0.0");
		assert_string_equal(o.tls_cert, "/etc/wb/tls/cert.pem");
		assert_string_equal(o.tls_key, "/etc/wb/tls/key.pem");
		assert_string_equal(o.webhook_proxy, "http://proxy:3128");
	}
	{
		/* TLS needs both files; "" on the command line turns both off again. */
		char *one[] = {"--data", "/d", "--tls-cert", "/c.pem"};
		char *off[] = {cfgflag, "--tls-cert", "", "--tls-key="};
		assert_int_equal(wbs__server_opts_parse(&o, 4, one, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "tls-cert and tls-key go together"));
		assert_int_equal(wbs__server_opts_parse(&o, 4, off, err, sizeof(err)), 0);
		assert_string_equal(o.tls_cert, "");
		assert_string_equal(o.tls_key, "");
	}
	{
		char *bad[][2] = {{"--port", "70000"}, {"--port", "x"}, {"--crash-after", "0"}, {"--threads", "0"},
				  {"--nope", "1"},     {"--host", "a b"}, {"--webhook-proxy", "proxy:3128"},
				  {"--webhook-proxy", "ftp://p:21"}};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[] = {"--data", "/d", bad[i][0], bad[i][1]};
			assert_int_equal(wbs__server_opts_parse(&o, 4, argv, err, sizeof(err)), -1);
		}
	}
	f = fopen(path, "w");
	fputs("dta = /x\n", f);
	fclose(f);
	{
		char *argv[] = {"--config", path};
		assert_int_equal(wbs__server_opts_parse(&o, 2, argv, err, sizeof(err)), -1);
		assert_non_null(strstr(err, ":1: unknown option dta"));
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server__healthz_and_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server__run_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server__errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server__ingest_throughput, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server__two_servers_count_apart, setup, teardown),
		cmocka_unit_test(test_server__options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

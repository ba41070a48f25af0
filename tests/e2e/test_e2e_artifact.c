/*
 * End-to-end: artifacts against a real server.
 *
 *  - round trip: files (random, text, empty, nested) uploaded and
 *    downloaded back bit for bit (SHA-256 of every file);
 *  - dedup: the same content again moves no blob bytes (the server's
 *    wb_artifact_blob_bytes_received_total), a new version only on change;
 *  - aliases and lineage through the API: a run logs, another uses;
 *    "best" moved by the API; a run's produced/used list;
 *  - hostile manifests, names and chunks: 400, nothing stored;
 *  - a file changed after it was logged: refused, no version;
 *  - resume after SIGKILL of the trainer mid-upload (wb sync finishes it,
 *    every blob byte received exactly once) and after SIGKILL of the
 *    server mid-upload (the client retries into the restarted server);
 *  - GC: deleting versions deletes exactly the blobs nothing else names;
 *  - wb_save live: a changed file is uploaded again as a new version.
 * Files are small (a few MiB) to keep the suite fast; the 2 GiB case is
 * tests/bench/bench_artifact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"
#include "wire.h"

static wbt_server srv;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_runs_dir(tmp, sizeof(tmp), "art") < 0)
		return -1;
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	setenv("WB_ENTITY", "ent", 1);
	setenv("WB_PROJECT", "proj", 1);
	return wbt_server_start(&srv, "");
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
}

/* ---- helpers ---- */

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void write_random(const char *path, size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
	write_file(path, b, n);
	free(b);
}

static void sha_file(const char *path, char out[65])
{
	static const char d[] = "0123456789abcdef";
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32], buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	assert_non_null(f);
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(c, buf, n);
	fclose(f);
	EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[md[i] >> 4];
		out[2 * i + 1] = d[md[i] & 15];
	}
	out[64] = '\0';
}

static void assert_same_file(const char *a, const char *b)
{
	char x[65], y[65];
	sha_file(a, x);
	sha_file(b, y);
	assert_string_equal(x, y);
}

/* wb_artifact_blob_bytes_received_total from /metrics. */
static uint64_t blob_bytes(void)
{
	wbt_response r;
	const char *p;
	uint64_t v = 0;
	assert_int_equal(wbt_http(&srv, "GET", "/metrics", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	p = strstr(r.body, "\nwb_artifact_blob_bytes_received_total ");
	assert_non_null(p);
	v = strtoull(p + strlen("\nwb_artifact_blob_bytes_received_total "), NULL, 10);
	wbt_response_free(&r);
	return v;
}

static long req(const char *method, const char *path, const char *body, char *out, size_t cap)
{
	wbt_response r;
	long st;
	const char *hdr[] = {"Content-Type: application/json", NULL};
	assert_int_equal(wbt_http(&srv, method, path, body, body ? strlen(body) : 0, body ? hdr : NULL, 1, &r), 0);
	st = r.status;
	if (out)
		snprintf(out, cap, "%s", r.body ? r.body : "");
	wbt_response_free(&r);
	return st;
}

#define ART "/api/v1/projects/ent/proj/artifacts"

static int64_t upload_dir(const char *name, const char *dir, const char *alias, int *created, uint64_t *bytes)
{
	wb_artifact *a = NULL;
	int64_t v = -1;
	const char *al[1] = {alias};
	assert_int_equal(wb_artifact_new(&a, name, "dataset"), WB_OK);
	assert_int_equal(wb_artifact_add_dir(a, dir, NULL), WB_OK);
	assert_int_equal(wb_artifact_upload(NULL, a, al, alias ? 1 : 0, &v, created, bytes), WB_OK);
	wb_artifact_free(a);
	return v;
}

/* ---- tests ---- */

static void test_e2e_artifact__roundtrip_and_dedup(void **state)
{
	char in[400], out[400], p[600], q[600], body[8192];
	int created;
	uint64_t bytes, before;
	int64_t v;
	(void)state;

	snprintf(in, sizeof(in), "%s/rt-in", tmp);
	snprintf(out, sizeof(out), "%s/rt-out", tmp);
	snprintf(p, sizeof(p), "%s/deep/er", in);
	assert_int_equal(mkdir(in, 0755), 0);
	snprintf(p, sizeof(p), "%s/deep", in);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/deep/er", in);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/weights.bin", in);
	write_random(p, 3 * 1024 * 1024 + 17, 1);
	snprintf(p, sizeof(p), "%s/deep/er/notes.txt", in);
	{
		char text[200000];
		for (size_t i = 0; i < sizeof(text); i++)
			text[i] = "the quick brown fox\n"[i % 20];
		write_file(p, text, sizeof(text));
	}
	snprintf(p, sizeof(p), "%s/empty", in);
	write_file(p, "", 0);

	before = blob_bytes();
	v = upload_dir("data", in, "best", &created, &bytes);
	assert_int_equal(v, 0);
	assert_int_equal(created, 1);
	assert_int_equal(blob_bytes() - before, 3 * 1024 * 1024 + 17 + 200000);
	assert_int_equal(bytes, 3 * 1024 * 1024 + 17 + 200000);

	/* bit-exact round trip */
	assert_int_equal(wb_artifact_download(NULL, "data:best", out, &v), WB_OK);
	assert_int_equal(v, 0);
	{
		const char *files[] = {"weights.bin", "deep/er/notes.txt", "empty"};
		for (size_t i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s", in, files[i]);
			snprintf(q, sizeof(q), "%s/%s", out, files[i]);
			assert_same_file(p, q);
		}
	}

	/* dedup: the same content again, as the same and as another artifact: no blob bytes */
	before = blob_bytes();
	v = upload_dir("data", in, NULL, &created, &bytes);
	assert_int_equal(v, 0);
	assert_int_equal(created, 0);
	v = upload_dir("data-copy", in, NULL, &created, &bytes);
	assert_int_equal(v, 0);
	assert_int_equal(created, 1);
	assert_int_equal(bytes, 0);
	assert_int_equal(blob_bytes() - before, 0);

	/* a change: v1, only the changed file moves */
	snprintf(p, sizeof(p), "%s/deep/er/notes.txt", in);
	write_file(p, "changed\n", 8);
	before = blob_bytes();
	v = upload_dir("data", in, NULL, &created, &bytes);
	assert_int_equal(v, 1);
	assert_int_equal(created, 1);
	assert_int_equal(blob_bytes() - before, 8);
	assert_int_equal(req("GET", ART "/data/latest", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v1\""));
	assert_int_equal(req("GET", ART "/data/best", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v0\""));
	/* Range */
	{
		wbt_response r;
		const char *h[] = {"Range: bytes=2-4", NULL};
		assert_int_equal(wbt_http(&srv, "GET", ART "/data/v1/file?path=deep/er/notes.txt", NULL, 0, h, 1, &r), 0);
		assert_int_equal(r.status, 206);
		assert_int_equal(r.len, 3);
		assert_memory_equal(r.body, "ang", 3);
		wbt_response_free(&r);
	}
	/* the list */
	assert_int_equal(req("GET", ART, NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"name\":\"data\""));
	assert_non_null(strstr(body, "\"name\":\"data-copy\""));
}

static void test_e2e_artifact__lineage_and_aliases(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *a = NULL, *b = NULL;
	wb_artifact *art = NULL;
	char f[400], dir[400], body[16384];
	const char *best[] = {"best"};
	int64_t v = -1;
	double t0;
	(void)state;

	snprintf(f, sizeof(f), "%s/model.ckpt", tmp);
	write_random(f, 100000, 7);
	o.run_id = "producer1";
	assert_int_equal(wb_init(&a, &o), WB_OK);
	assert_int_equal(wb_artifact_new(&art, "model", "model"), WB_OK);
	assert_int_equal(wb_artifact_add_file(art, f, NULL), WB_OK);
	assert_int_equal(wb_artifact_add_reference(art, "s3://bucket/data/train.csv",
						   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 12345, NULL),
			 WB_OK);
	assert_int_equal(wb_artifact_set_metadata(art, "{\"acc\":0.91,\"note\":\"<script>\"}"), WB_OK);
	assert_int_equal(wb_log_artifact(a, art, best, 1, &v), WB_OK);
	assert_int_equal(v, 0);
	wb_artifact_free(art);
	/* v1 from the same run */
	write_random(f, 100000, 8);
	assert_int_equal(wb_artifact_new(&art, "model", "model"), WB_OK);
	assert_int_equal(wb_artifact_add_file(art, f, NULL), WB_OK);
	assert_int_equal(wb_log_artifact(a, art, NULL, 0, &v), WB_OK);
	assert_int_equal(v, 1);
	wb_artifact_free(art);
	assert_int_equal(wb_finish(a, 0), WB_OK);

	o.run_id = "consumer1";
	assert_int_equal(wb_init(&b, &o), WB_OK);
	snprintf(dir, sizeof(dir), "%s/use", tmp);
	assert_int_equal(wb_use_artifact(b, "model:best", dir, &v), WB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(wb_use_artifact(b, "model:v9", dir, &v), WB_ENOTFOUND);
	assert_int_equal(wb_use_artifact(b, "../x", dir, &v), WB_EINVAL);
	assert_int_equal(wb_finish(b, 0), WB_OK);

	/* lineage: producer1 -> v0 -> consumer1 */
	t0 = wbt_now();
	for (;;) {
		assert_int_equal(req("GET", ART "/model/v0", NULL, body, sizeof(body)), 200);
		if (strstr(body, "\"used_by\":[{\"run_id\":\"consumer1\""))
			break;
		assert_true(wbt_now() - t0 < 30);
	}
	assert_non_null(strstr(body, "\"produced_by\":[{\"run_id\":\"producer1\""));
	assert_non_null(strstr(body, "\"ref\":\"s3://bucket/data/train.csv\""));
	assert_non_null(strstr(body, "\"aliases\":[\"best\"]"));
	assert_non_null(strstr(body, "\"acc\":0.91"));
	assert_int_equal(req("GET", "/api/v1/projects/ent/proj/runs/consumer1/artifacts", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"used\":[{\"artifact\":\"model\",\"type\":\"model\",\"version\":\"v0\""));
	assert_int_equal(req("GET", "/api/v1/projects/ent/proj/runs/producer1/artifacts", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v0\""));
	assert_non_null(strstr(body, "\"version\":\"v1\""));
	/* the reference is not downloadable, the file is */
	assert_int_equal(req("GET", ART "/model/v0/file?path=train.csv", NULL, body, sizeof(body)), 409);
	/* move "best" to v1, then drop it */
	assert_int_equal(req("PUT", ART "/model/aliases/best", "{\"version\":\"v1\"}", body, sizeof(body)), 200);
	assert_int_equal(req("GET", ART "/model/best", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v1\""));
	assert_int_equal(req("PUT", ART "/model/aliases/latest", "{\"version\":\"v0\"}", NULL, 0), 400);
	assert_int_equal(req("PUT", ART "/model/aliases/best", "{\"version\":\"v7\"}", NULL, 0), 404);
	assert_int_equal(req("DELETE", ART "/model/aliases/best", NULL, NULL, 0), 200);
	assert_int_equal(req("GET", ART "/model/best", NULL, NULL, 0), 404);
	/* the downloaded file is the one of v0 */
	{
		char got[500];
		snprintf(got, sizeof(got), "%s/model.ckpt", dir);
		write_random(f, 100000, 7);
		assert_same_file(f, got);
	}
}

static void test_e2e_artifact__hostile(void **state)
{
	char body[4096], big[600];
	static const char *const paths[] = {"../x", "/abs", "a//b", "a/./b", "a/..", "", "a/", "x\\\\y", "a\\u0000b",
					    "a\\u0001b"};
	const char *sha = "0000000000000000000000000000000000000000000000000000000000000000";
	wb_artifact *a = NULL;
	char d[400], l[500];
	(void)state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"type\":\"t\",\"files\":[{\"path\":\"%s\",\"sha256\":\"%s\",\"size\":1,\"ref\":\"s3://b/k\"}]}",
			 paths[i], sha);
		assert_int_equal(req("POST", ART "/hostile", body, NULL, 0), 400);
	}
	/* names */
	assert_int_equal(req("POST", ART "/blobs", "{\"type\":\"t\",\"files\":[]}", NULL, 0), 400);
	assert_int_equal(req("GET", ART "/..%2f..", NULL, NULL, 0), 400);
	assert_int_equal(req("GET", ART "/%3Cscript%3E", NULL, NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"../t\",\"files\":[]}", NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"t\",\"aliases\":[\"latest\"],\"files\":[]}", NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"t\",\"files\":[{\"path\":\"a\",\"sha256\":\"xyz\",\"size\":1}]}",
			     NULL, 0),
			 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"t\",\"metadata\":[1],\"files\":[]}", NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "not json", NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"t\",\"created_at\":\"yesterday\",\"files\":[]}", NULL, 0), 400);
	assert_int_equal(req("POST", ART "/ok", "{\"type\":\"t\",\"created_at\":-5,\"files\":[]}", NULL, 0), 400);
	/* a time given is kept (an import); one ahead of the server's clock is taken as now */
	snprintf(body, sizeof(body),
		 "{\"type\":\"t\",\"created_at\":1500000000.25,\"files\":[{\"path\":\"a\",\"sha256\":\"%s\","
		 "\"size\":1,\"ref\":\"s3://b/dated\"}]}",
		 sha);
	assert_int_equal(req("POST", ART "/dated", body, NULL, 0), 201);
	assert_int_equal(req("GET", ART "/dated/v0", NULL, big, sizeof(big)), 200);
	assert_non_null(strstr(big, "\"created_at\":1500000000.25"));
	snprintf(body, sizeof(body),
		 "{\"type\":\"t\",\"created_at\":9000000000,\"files\":[{\"path\":\"a\",\"sha256\":\"%s\","
		 "\"size\":1,\"ref\":\"s3://b/later\"}]}",
		 sha);
	assert_int_equal(req("POST", ART "/dated", body, NULL, 0), 201);
	assert_int_equal(req("GET", ART "/dated/v1", NULL, big, sizeof(big)), 200);
	assert_null(strstr(big, "9000000000"));
	/* a duplicate path */
	snprintf(body, sizeof(body),
		 "{\"type\":\"t\",\"files\":[{\"path\":\"a\",\"sha256\":\"%s\",\"size\":1,\"ref\":\"s3://b/k\"},"
		 "{\"path\":\"a\",\"sha256\":\"%s\",\"size\":1,\"ref\":\"s3://b/k\"}]}",
		 sha, sha);
	assert_int_equal(req("POST", ART "/ok", body, NULL, 0), 400);
	/* a blob that is not uploaded: 409, no version */
	snprintf(body, sizeof(body), "{\"type\":\"t\",\"files\":[{\"path\":\"a\",\"sha256\":\"%s\",\"size\":1}]}", sha);
	assert_int_equal(req("POST", ART "/ok", body, big, sizeof(big)), 409);
	assert_non_null(strstr(big, "missing_blobs"));
	assert_int_equal(req("GET", ART "/ok", NULL, NULL, 0), 404);
	/* chunks: bad hash name, a chunk that does not match its checksum, a whole that does not match its name */
	{
		wbt_response r;
		char path[300], hdr[120];
		const char *h[] = {hdr, NULL};
		snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", sha);
		assert_int_equal(wbt_http(&srv, "PUT", ART "/blobs/XYZ?offset=0&size=5", "hello", 5, NULL, 1, &r), 0);
		assert_int_equal(r.status, 400);
		wbt_response_free(&r);
		snprintf(path, sizeof(path), ART "/blobs/%s?offset=0&size=5", sha);
		assert_int_equal(wbt_http(&srv, "PUT", path, "hello", 5, h, 1, &r), 0);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body, "checksum_mismatch"));
		wbt_response_free(&r);
		{
			const char *hc[] = {"X-Chunk-Crc32: 00000000", NULL}, *hb[] = {"X-Chunk-Crc32: nothex!!", NULL};
			assert_int_equal(wbt_http(&srv, "PUT", path, "hello", 5, hc, 1, &r), 0);
			assert_int_equal(r.status, 400);
			assert_non_null(strstr(r.body, "crc32"));
			wbt_response_free(&r);
			assert_int_equal(wbt_http(&srv, "PUT", path, "hello", 5, hb, 1, &r), 0);
			assert_int_equal(r.status, 400);
			wbt_response_free(&r);
		}
		assert_int_equal(wbt_http(&srv, "PUT", path, "hello", 5, NULL, 1, &r), 0);
		assert_int_equal(r.status, 400); /* "hello" does not hash to 000... */
		wbt_response_free(&r);
		snprintf(path, sizeof(path), ART "/blobs/%s", sha);
		assert_int_equal(req("GET", path, NULL, body, sizeof(body)), 200);
		assert_non_null(strstr(body, "\"present\":false,\"received\":0"));
		snprintf(path, sizeof(path), ART "/blobs/%s?offset=3&size=5", sha);
		assert_int_equal(wbt_http(&srv, "PUT", path, "lo", 2, NULL, 1, &r), 0);
		assert_int_equal(r.status, 409); /* offset past what was received */
		wbt_response_free(&r);
		snprintf(path, sizeof(path), ART "/blobs/%s?offset=0&size=2", sha);
		assert_int_equal(wbt_http(&srv, "PUT", path, "hello", 5, NULL, 1, &r), 0);
		assert_int_equal(r.status, 400); /* longer than the blob */
		wbt_response_free(&r);
	}
	/* a truncated chunk: the client sends 10 of 100 bytes and hangs up; nothing is kept */
	{
		struct sockaddr_in sa;
		char reqbuf[700], path[200];
		int sfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(sfd >= 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)srv.port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		{
			struct timeval tv = {10, 0}; /* bounds the read below, whatever the server does */
			setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		snprintf(reqbuf, sizeof(reqbuf),
			 "PUT " ART "/blobs/%s?offset=0&size=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Length: 100\r\n\r\n0123456789",
			 sha, srv.key);
		assert_int_equal(write(sfd, reqbuf, strlen(reqbuf)), (ssize_t)strlen(reqbuf));
		shutdown(sfd, SHUT_WR);
		while (read(sfd, reqbuf, sizeof(reqbuf)) > 0)
			;
		close(sfd);
		snprintf(path, sizeof(path), ART "/blobs/%s", sha);
		assert_int_equal(req("GET", path, NULL, body, sizeof(body)), 200);
		assert_non_null(strstr(body, "\"present\":false,\"received\":0"));
	}
	/* ARTIFACT_USE records with hostile contents are accepted and change nothing */
	{
		static const char *const uses[] = {"{\"artifact\":\"ok\",\"version\":1e300}", "{\"artifact\":\"ok\",\"version\":-1}",
						   "{\"artifact\":\"nope\",\"version\":0}", "{\"artifact\":7}"};
		uint8_t fb[512];
		size_t fl = 0;
		wbt_response r;
		const char *ct[] = {"Content-Type: application/x-wb-frames", NULL};
		assert_int_equal(req("PUT", "/api/v1/projects/ent/proj/runs/hostile1", "{}", NULL, 0), 201);
		for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
			uint32_t n = (uint32_t)strlen(uses[i]);
			wb__frame_header(fb + fl, i + 1, WB__REC_ARTIFACT_USE, (const uint8_t *)uses[i], n);
			memcpy(fb + fl + WB__FRAME_HEADER, uses[i], n);
			fl += WB__FRAME_HEADER + n;
		}
		assert_int_equal(wbt_http(&srv, "POST", "/api/v1/projects/ent/proj/runs/hostile1/records", fb, fl, ct, 1, &r), 0);
		assert_int_equal(r.status, 200);
		wbt_response_free(&r);
		assert_int_equal(req("GET", "/api/v1/projects/ent/proj/runs/hostile1/artifacts", NULL, body, sizeof(body)), 200);
		assert_string_equal(body, "{\"produced\":[],\"used\":[]}");
	}
	/* the SDK refuses the same before sending */
	assert_int_equal(wb_artifact_new(&a, "blobs", "t"), WB_EINVAL);
	assert_int_equal(wb_artifact_new(&a, "../x", "t"), WB_EINVAL);
	assert_int_equal(wb_artifact_new(&a, "ok", "t"), WB_OK);
	snprintf(d, sizeof(d), "%s/hostile-dir", tmp);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(l, sizeof(l), "%s/f", d);
	write_file(l, "x", 1);
	assert_int_equal(wb_artifact_add_file(a, l, "../f"), WB_EINVAL);
	assert_int_equal(wb_artifact_add_file(a, l, "/f"), WB_EINVAL);
	assert_int_equal(wb_artifact_add_file(a, l, "a//f"), WB_EINVAL);
	assert_int_equal(wb_artifact_add_reference(a, "nope", sha, 1, NULL), WB_EINVAL);
	snprintf(l, sizeof(l), "%s/escape", d);
	assert_int_equal(symlink("/etc/hostname", l), 0);
	assert_int_equal(wb_artifact_add_dir(a, d, NULL), WB_EINVAL);
	unlink(l);
	snprintf(big, sizeof(big), "%s/f", d);
	assert_int_equal(symlink(big, l), 0); /* inside: fine */
	assert_int_equal(wb_artifact_add_dir(a, d, NULL), WB_OK);
	{
		const char *bad[] = {"latest"};
		assert_int_equal(wb_artifact_upload(NULL, a, bad, 1, NULL, NULL, NULL), WB_EINVAL);
	}
	wb_artifact_free(a);
}

static void test_e2e_artifact__changed_file_refused(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	wb_artifact *a = NULL;
	char f[400], rundir[500];
	int64_t v = 5;
	uint64_t sent = 0;
	(void)state;

	snprintf(f, sizeof(f), "%s/changing.bin", tmp);
	write_random(f, 1 << 20, 3);
	o.run_id = "offline1";
	o.mode = WB_MODE_OFFLINE;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(rundir, sizeof(rundir), "%s", wb_run_dir(run));
	assert_int_equal(wb_artifact_new(&a, "changing", "t"), WB_OK);
	assert_int_equal(wb_artifact_add_file(a, f, NULL), WB_OK);
	assert_int_equal(wb_log_artifact(run, a, NULL, 0, &v), WB_OK);
	assert_int_equal(v, -1); /* offline: recorded, not sent */
	wb_artifact_free(a);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	/* the file changes (same size) after it was logged: sync refuses it, no version appears */
	{
		int fd = open(f, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, 500000), 1);
		close(fd);
	}
	assert_int_equal(wb_sync(rundir, NULL, &sent), WB_ECORRUPT);
	assert_int_equal(req("GET", ART "/changing", NULL, NULL, 0), 404);
}

/* Child of the resume test: log a big artifact from a run, slowly (small chunks). */
static void child_log(const char *file)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	wb_artifact *a = NULL;
	setenv("WB_ARTIFACT_CHUNK_BYTES", "16384", 1);
	o.run_id = "killed1";
	if (wb_init(&run, &o) || wb_artifact_new(&a, "big", "model") || wb_artifact_add_file(a, file, NULL))
		_exit(3);
	wb_log_artifact(run, a, NULL, 0, NULL);
	_exit(4); /* it should have been killed before */
}

static uint64_t received_of(const char *sha, int *present)
{
	char path[300], body[512];
	const char *p;
	snprintf(path, sizeof(path), ART "/blobs/%s", sha);
	assert_int_equal(req("GET", path, NULL, body, sizeof(body)), 200);
	*present = strstr(body, "\"present\":true") != NULL;
	p = strstr(body, "\"received\":");
	assert_non_null(p);
	return strtoull(p + 11, NULL, 10);
}

static void test_e2e_artifact__resume_after_client_kill(void **state)
{
	char f[400], sha[65], rundir[500], out[400], got[500], body[4096];
	uint64_t before, sent = 0, rec = 0;
	const size_t size = 24u << 20;
	int present = 0, st;
	pid_t pid;
	double t0;
	(void)state;

	snprintf(f, sizeof(f), "%s/big.bin", tmp);
	write_random(f, size, 11);
	sha_file(f, sha);
	before = blob_bytes();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_log(f);
	/* wait until part of it is on the server, then kill the trainer */
	t0 = wbt_now();
	while ((rec = received_of(sha, &present)) == 0 && !present) {
		assert_true(wbt_now() - t0 < 60);
		assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	rec = received_of(sha, &present);
	assert_false(present);
	assert_true(rec > 0 && rec < size);
	/* wb sync finishes the artifact from the run log, from where it stopped */
	snprintf(rundir, sizeof(rundir), "%s/run-killed1", tmp);
	assert_int_equal(wb_sync(rundir, NULL, &sent), WB_OK);
	assert_int_equal(blob_bytes() - before, size); /* every byte received once */
	assert_int_equal(req("GET", ART "/big/v0", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"produced_by\":[{\"run_id\":\"killed1\""));
	snprintf(out, sizeof(out), "%s/big-out", tmp);
	assert_int_equal(wb_artifact_download(NULL, "big:v0", out, NULL), WB_OK);
	snprintf(got, sizeof(got), "%s/big.bin", out);
	assert_same_file(f, got);
}

struct upload_arg {
	const char *dir;
	int rc;
	int64_t v;
	char msg[600];
};

static void *upload_thread(void *p)
{
	struct upload_arg *u = p;
	wb_artifact *a = NULL;
	u->rc = wb_artifact_new(&a, "survivor", "model");
	if (!u->rc)
		u->rc = wb_artifact_add_dir(a, u->dir, NULL);
	if (!u->rc)
		u->rc = wb_artifact_upload(NULL, a, NULL, 0, &u->v, NULL, NULL);
	snprintf(u->msg, sizeof(u->msg), "%s", u->rc ? wb_errmsg() : "");
	wb_artifact_free(a);
	return NULL;
}

static void test_e2e_artifact__resume_after_server_kill(void **state)
{
	char dir[400], f[500], sha[65], out[400], got[500];
	const size_t size = 24u << 20;
	struct upload_arg u = {dir, -1, -1, ""};
	pthread_t t;
	int present = 0;
	double t0;
	(void)state;

	snprintf(dir, sizeof(dir), "%s/survivor", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(f, sizeof(f), "%s/w.bin", dir);
	write_random(f, size, 12);
	sha_file(f, sha);
	setenv("WB_ARTIFACT_CHUNK_BYTES", "16384", 1);
	assert_int_equal(pthread_create(&t, NULL, upload_thread, &u), 0);
	t0 = wbt_now();
	while (received_of(sha, &present) == 0 && !present)
		assert_true(wbt_now() - t0 < 60);
	wbt_server_kill(&srv);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	unsetenv("WB_ARTIFACT_CHUNK_BYTES");
	if (u.rc)
		print_message("upload across the server restart: %s\n", u.msg);
	assert_int_equal(u.rc, WB_OK);
	assert_int_equal(u.v, 0);
	snprintf(out, sizeof(out), "%s/survivor-out", tmp);
	assert_int_equal(wb_artifact_download(NULL, "survivor", out, NULL), WB_OK);
	snprintf(got, sizeof(got), "%s/w.bin", out);
	assert_same_file(f, got);
}

static void test_e2e_artifact__gc_on_delete(void **state)
{
	char d0[400], d1[400], p[500], shared[65], only0[65], only1[65], body[4096], path[300];
	int present;
	(void)state;

	snprintf(d0, sizeof(d0), "%s/gc0", tmp);
	snprintf(d1, sizeof(d1), "%s/gc1", tmp);
	assert_int_equal(mkdir(d0, 0755), 0);
	assert_int_equal(mkdir(d1, 0755), 0);
	snprintf(p, sizeof(p), "%s/shared", d0);
	write_random(p, 5000, 21);
	sha_file(p, shared);
	snprintf(p, sizeof(p), "%s/shared", d1);
	write_random(p, 5000, 21);
	snprintf(p, sizeof(p), "%s/only", d0);
	write_random(p, 6000, 22);
	sha_file(p, only0);
	snprintf(p, sizeof(p), "%s/only", d1);
	write_random(p, 7000, 23);
	sha_file(p, only1);
	assert_int_equal(upload_dir("gc", d0, NULL, NULL, NULL), 0);
	assert_int_equal(upload_dir("gc", d1, NULL, NULL, NULL), 1);
	assert_int_equal(req("DELETE", ART "/gc/v0", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"blobs_deleted\":1"));
	received_of(only0, &present);
	assert_false(present);
	received_of(shared, &present);
	assert_true(present);
	assert_int_equal(req("GET", ART "/gc/v0", NULL, NULL, 0), 404);
	assert_int_equal(req("GET", ART "/gc/latest", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v1\""));
	assert_int_equal(req("DELETE", ART "/gc/latest", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"blobs_deleted\":2"));
	received_of(shared, &present);
	assert_false(present);
	received_of(only1, &present);
	assert_false(present);
	assert_int_equal(req("GET", ART "/gc/latest", NULL, NULL, 0), 404);
	snprintf(path, sizeof(path), ART "/gc/v1");
	assert_int_equal(req("DELETE", path, NULL, NULL, 0), 404);
	/* a new version after deletes gets a new number (never reused) */
	assert_int_equal(upload_dir("gc", d0, NULL, NULL, NULL), 2);
	/* deleting a whole project collects the blobs only it used */
	{
		wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
		wb_artifact *a = NULL;
		char f[500], fsha[65];
		o.project = "doomed";
		snprintf(f, sizeof(f), "%s/doomed.bin", tmp);
		write_random(f, 4000, 99);
		sha_file(f, fsha);
		assert_int_equal(wb_artifact_new(&a, "d", "t"), WB_OK);
		assert_int_equal(wb_artifact_add_file(a, f, NULL), WB_OK);
		assert_int_equal(wb_artifact_upload(&o, a, NULL, 0, NULL, NULL, NULL), WB_OK);
		wb_artifact_free(a);
		received_of(fsha, &present);
		assert_true(present);
		assert_int_equal(req("DELETE", "/api/v1/projects/ent/doomed", NULL, NULL, 0), 200);
		received_of(fsha, &present);
		assert_false(present);
		received_of(only0, &present); /* still named by gc:v2 */
		assert_true(present);
	}
}

static void test_e2e_artifact__save_live(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char f[400], body[8192];
	double t0;
	(void)state;

	setenv("WB_SAVE_POLL_MS", "20", 1);
	snprintf(f, sizeof(f), "%s/metrics.csv", tmp);
	write_file(f, "step,loss\n0,1.0\n", 16);
	o.run_id = "saver1";
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_save(run, f, WB_SAVE_LIVE), WB_OK);
	assert_int_equal(req("GET", ART "/run-saver1-files/v0", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"path\":\"metrics.csv\",\"sha256\":\"") );
	{
		/* replaced atomically, as a trainer would: the poller must not catch a truncated file */
		char t[500];
		snprintf(t, sizeof(t), "%s.tmp", f);
		write_file(t, "step,loss\n0,1.0\n1,0.5\n", 22);
		assert_int_equal(rename(t, f), 0);
	}
	t0 = wbt_now();
	while (req("GET", ART "/run-saver1-files/v1", NULL, body, sizeof(body)) != 200)
		assert_true(wbt_now() - t0 < 30);
	assert_non_null(strstr(body, "\"size\":22"));
	assert_int_equal(wb_save(run, "/nonexistent/file", WB_SAVE_NOW), WB_ENOTFOUND);
	/* saved at the end: not uploaded before wb_finish, in the last version after */
	{
		char g[400];
		snprintf(g, sizeof(g), "%s/final.txt", tmp);
		write_file(g, "the end\n", 8);
		assert_int_equal(wb_save(run, g, WB_SAVE_END), WB_OK);
		assert_int_equal(req("GET", ART "/run-saver1-files/v2", NULL, NULL, 0), 404);
	}
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(req("GET", ART "/run-saver1-files/latest", NULL, body, sizeof(body)), 200);
	assert_non_null(strstr(body, "\"version\":\"v2\""));
	assert_non_null(strstr(body, "\"path\":\"final.txt\""));
	assert_non_null(strstr(body, "\"path\":\"metrics.csv\""));
	assert_int_equal(req("GET", ART "/run-saver1-files/v3", NULL, NULL, 0), 404); /* the live file did not change */
	unsetenv("WB_SAVE_POLL_MS");
}

/* The server's disk fills during an upload: 507 insufficient_storage, no
 * blob, no version; space returns and the same upload completes. Needs
 * root for a small tmpfs as the data directory (skipped otherwise). */
static void test_e2e_artifact__disk_full(void **state)
{
	wbt_server full;
	char dir[400], f[500], path[600], line[512], body[2048];
	int mounted = 0, rc;
	int64_t v = -1;
	wb_artifact *a = NULL;
	wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
	FILE *fp;
	(void)state;

	if (geteuid() != 0)
		skip();
	memset(&full, 0, sizeof(full));
	assert_int_equal(wbt_server_start(&full, ""), 0);
	assert_int_equal(wbt_server_stop(&full), 0);
	if (mount("tmpfs", full.data, "tmpfs", 0, "size=4m,mode=0700") != 0) {
		wbt_server_cleanup(&full);
		print_message("cannot mount tmpfs: skipping\n");
		skip();
	}
	mounted = 1;
	assert_int_equal(wbt_server_restart(&full), 0);
	snprintf(path, sizeof(path), "%s/settings", full.config_dir);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "api_key=", 8) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(full.key, sizeof(full.key), "%.120s", line + 8);
		}
	fclose(fp);
	o.base_url = full.url;
	o.api_key = full.key;
	o.timeout_ms = 60000;

	snprintf(dir, sizeof(dir), "%s/full", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(f, sizeof(f), "%s/big.bin", dir);
	write_random(f, 6u << 20, 31);
	assert_int_equal(wb_artifact_new(&a, "toolarge", "model"), WB_OK);
	assert_int_equal(wb_artifact_add_file(a, f, NULL), WB_OK);
	rc = wb_artifact_upload(&o, a, NULL, 0, &v, NULL, NULL);
	assert_int_equal(rc, WB_ESERVER);
	assert_non_null(strstr(wb_errmsg(), "507"));
	assert_int_equal(v, -1);
	{
		wbt_response r;
		assert_int_equal(wbt_http(&full, "GET", ART "/toolarge", NULL, 0, NULL, 1, &r), 0);
		assert_int_equal(r.status, 404); /* no half version */
		wbt_response_free(&r);
		assert_int_equal(wbt_http(&full, "GET", "/healthz", NULL, 0, NULL, 0, &r), 0);
		assert_int_equal(r.status, 200);
		wbt_response_free(&r);
	}
	/* space returns: the same upload resumes and completes */
	snprintf(path, sizeof(path), "mount -o remount,size=64m '%s'", full.data);
	assert_int_equal(system(path), 0);
	assert_int_equal(wb_artifact_upload(&o, a, NULL, 0, &v, NULL, NULL), WB_OK);
	assert_int_equal(v, 0);
	{
		wbt_response r;
		assert_int_equal(wbt_http(&full, "GET", ART "/toolarge/v0", NULL, 0, NULL, 1, &r), 0);
		assert_int_equal(r.status, 200);
		snprintf(body, sizeof(body), "%.*s", (int)(r.len < 2000 ? r.len : 2000), r.body);
		wbt_response_free(&r);
	}
	assert_non_null(strstr(body, "\"path\":\"big.bin\""));
	wb_artifact_free(a);
	wbt_server_kill(&full);
	if (mounted)
		umount2(full.data, MNT_DETACH);
	wbt_server_cleanup(&full);
	/* the harness exported the second server's settings: point the SDK back */
	setenv("WB_BASE_URL", srv.url, 1);
	setenv("WB_API_KEY", srv.key, 1);
	setenv("WB_CONFIG_DIR", srv.config_dir, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_artifact__roundtrip_and_dedup),
		cmocka_unit_test(test_e2e_artifact__lineage_and_aliases),
		cmocka_unit_test(test_e2e_artifact__hostile),
		cmocka_unit_test(test_e2e_artifact__changed_file_refused),
		cmocka_unit_test(test_e2e_artifact__resume_after_client_kill),
		cmocka_unit_test(test_e2e_artifact__resume_after_server_kill),
		cmocka_unit_test(test_e2e_artifact__gc_on_delete),
		cmocka_unit_test(test_e2e_artifact__save_live),
		cmocka_unit_test(test_e2e_artifact__disk_full),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

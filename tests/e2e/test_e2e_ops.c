/*
 * End-to-end: the operations endpoints and the per-key rate limit of a real
 * `wb server`.
 *
 *  - /healthz, /readyz and /metrics answer without an API key; /metrics is
 *    the Prometheus text format and counts requests by route pattern and
 *    status, and the points an online run ingested.
 *  - X-Request-Id: a client's id is echoed and appears in the error body
 *    and the log line of the request; otherwise one is generated.
 *  - --log-format json: every line of the server's log is a JSON object.
 *  - Rate limits: with a tiny limit (2 requests/s, burst 3) an online run
 *    is answered 429 + Retry-After, waits as told, and still lands every
 *    point exactly once.
 *  - Retention: DELETE of a run and of a project removes them and every
 *    row under them (no orphans), leaves the others intact, and
 *    `wb vacuum` beside the running server gives the space back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "series.h"



/* The value of the sample line that starts with prefix (name and labels), or -1. */
static double metric(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void online_run(const char *project, int64_t nsteps, char *id, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.entity = "ops";
	o.project = project;
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 60000;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wbt_log_series(run, 0, nsteps, 0), WB_OK);
	snprintf(id, cap, "%s", wb_run_id(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

static void test_e2e_ops__endpoints(void **state)
{
	wbt_server srv;
	wbt_response r;
	const char *hdr[] = {"X-Request-Id: trace-42.a_b", NULL};
	const char *bad_hdr[] = {"X-Request-Id: no spaces allowed", NULL};
	char id[64], line[128];
	cJSON *j;
	(void)state;

	assert_int_equal(wbt_server_start(&srv, ""), 0);
	assert_int_equal(wbt_http(&srv, "GET", "/readyz", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"ready\":true"));
	wbt_response_free(&r);

	/* Request ids: echoed in the body of an error and in its log line. */
	assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects/ops/x/runs/nope", NULL, 0, hdr, 1, &r), 0);
	assert_int_equal(r.status, 404);
	j = cJSON_Parse(r.body);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "request_id")->valuestring,
			    "trace-42.a_b");
	cJSON_Delete(j);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects/ops/x/runs/nope", NULL, 0, bad_hdr, 1, &r), 0);
	assert_int_equal(r.status, 404);
	assert_null(strstr(r.body, "no spaces"));
	assert_non_null(strstr(r.body, "\"request_id\":\""));
	wbt_response_free(&r);

	online_run("metrics", 3000, id, sizeof(id));

	/* A request is counted when it ends, after its answer has gone out: the SDK may have its
	 * acknowledgement a moment before the records request is counted. Poll against a deadline. */
	for (double until = wbt_now() + 10;;) {
		assert_int_equal(wbt_http(&srv, "GET", "/metrics", NULL, 0, NULL, 0, &r), 0);
		if (metric(r.body, "wb_http_requests_total{method=\"POST\",route=\"/api/v1/projects/{entity}/"
				   "{project}/runs/{run}/records\",status=\"200\"}") >= 1 ||
		    wbt_now() > until)
			break;
		wbt_response_free(&r);
		usleep(50000);
	}
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.content_type, "text/plain"));
	assert_non_null(strstr(r.body, "# TYPE wb_http_requests_total counter"));
	/* 3000 steps of the three series keys, plus the derived ones the SDK adds (if any). */
	assert_true(metric(r.body, "wb_ingest_points_total") >= 3000.0 * WBT_KEYS);
	assert_true(metric(r.body, "wb_ingest_frames_applied_total") >= 1);
	assert_true(metric(r.body, "wb_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}") >= 1);
	assert_true(metric(r.body, "wb_http_requests_total{method=\"GET\",route=\"/api/v1/projects/{entity}/"
				   "{project}/runs/{run}\",status=\"404\"}") >= 2);
	assert_true(metric(r.body, "wb_http_requests_total{method=\"POST\",route=\"/api/v1/projects/{entity}/"
				   "{project}/runs/{run}/records\",status=\"200\"}") >= 1);
	assert_true(metric(r.body, "wb_store_db_bytes") > 0);
	assert_true(metric(r.body, "wb_store_queue_depth") >= 0);
	assert_true(metric(r.body, "wb_uptime_seconds") > 0);
	assert_null(strstr(r.body, id)); /* no run ids in labels */
	wbt_response_free(&r);

	/* The failed request's log line carries its id. */
	{
		char *log = read_file(srv.log);
		snprintf(line, sizeof(line), "req=trace-42.a_b");
		assert_non_null(strstr(log, line));
		free(log);
	}
	assert_int_equal(wbt_check_series(&srv, "ops", "metrics", id, 3000), 0);
	wbt_server_cleanup(&srv);
}

static void test_e2e_ops__rate_limit_json_log(void **state)
{
	wbt_server srv;
	wbt_response r;
	char id[64], *log, *save = NULL;
	int lines = 0, limited_lines = 0;
	(void)state;

	assert_int_equal(wbt_server_start(&srv, "--rate-limit 2 --rate-burst 3 --log-format json"), 0);
	/* Empty the bucket, so that the run's first request is refused. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects", NULL, 0, NULL, 1, &r), 0);
		wbt_response_free(&r);
	}
	assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects", NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(r.body, "\"code\":\"rate_limited\""));
	wbt_response_free(&r);

	online_run("limited", 5000, id, sizeof(id));

	assert_int_equal(wbt_http(&srv, "GET", "/metrics", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(metric(r.body, "wb_rate_limited_total") >= 2); /* ours and at least one of the run's */
	wbt_response_free(&r);

	/* JSON log: every line parses; the 429s are logged with their request id. */
	log = read_file(srv.log);
	for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cJSON *j;
		if (strncmp(l, "wb server listening on ", 23) == 0)
			continue; /* stdout, which the harness sends to the same file */
		j = cJSON_Parse(l);
		if (!j)
			fail_msg("log line is not json: %s", l);
		assert_non_null(cJSON_GetObjectItem(j, "ts"));
		assert_non_null(cJSON_GetObjectItem(j, "level"));
		if (cJSON_GetObjectItem(j, "status") && cJSON_GetObjectItem(j, "status")->valuedouble == 429) {
			assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "req")));
			limited_lines++;
		}
		cJSON_Delete(j);
		lines++;
	}
	free(log);
	assert_true(lines >= 3);
	assert_true(limited_lines >= 2);

	/* Check every point, exactly once, on the same data without the limit. */
	assert_int_equal(wbt_server_stop(&srv), 0);
	snprintf(srv.extra, sizeof(srv.extra), "--rate-limit 0");
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "limited", id, 5000), 0);
	wbt_server_cleanup(&srv);
}

static long long db_count(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static long http_status(const wbt_server *s, const char *method, const char *path)
{
	wbt_response r;
	long st;

	assert_int_equal(wbt_http(s, method, path, NULL, 0, NULL, 1, &r), 0);
	st = r.status;
	wbt_response_free(&r);
	return st;
}

static void test_e2e_ops__retention(void **state)
{
	wbt_server srv;
	char a[64], b[64], c[64], path[256], db[400];
	cJSON *projects;
	(void)state;

	assert_int_equal(wbt_server_start(&srv, ""), 0);
	wbt_db_path(&srv, db, sizeof(db));
	online_run("keep", 20000, a, sizeof(a));
	online_run("keep", 20000, b, sizeof(b));
	online_run("drop", 20000, c, sizeof(c));

	snprintf(path, sizeof(path), "/api/v1/projects/ops/keep/runs/%s", a);
	assert_int_equal(http_status(&srv, "DELETE", path), 200);
	assert_int_equal(http_status(&srv, "GET", path), 404);
	assert_int_equal(http_status(&srv, "DELETE", path), 404);
	assert_int_equal(http_status(&srv, "DELETE", "/api/v1/projects/ops/nope"), 404);
	assert_int_equal(wbt_check_series(&srv, "ops", "keep", b, 20000), 0);

	assert_int_equal(http_status(&srv, "DELETE", "/api/v1/projects/ops/drop"), 200);
	snprintf(path, sizeof(path), "/api/v1/projects/ops/drop/runs/%s", c);
	assert_int_equal(http_status(&srv, "GET", path), 404);
	projects = wbt_get_json(&srv, "/api/v1/projects");
	assert_non_null(projects);
	{
		char *text = cJSON_PrintUnformatted(projects);
		assert_null(strstr(text, "\"drop\""));
		assert_non_null(strstr(text, "\"keep\""));
		free(text);
	}
	cJSON_Delete(projects);

	/* No orphans, and only run b's series are left. */
	assert_int_equal(db_count(db, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(db_count(db, "SELECT count(*) FROM metric_keys WHERE run_id NOT IN (SELECT id FROM runs)"), 0);
	assert_int_equal(db_count(db, "SELECT count(*) FROM chunks WHERE key_id NOT IN (SELECT id FROM metric_keys)"), 0);
	assert_true(db_count(db, "SELECT count(*) FROM chunks") > 0);

	/* Vacuum beside the live server; it keeps serving and ingesting. */
	assert_int_equal(wbt_wbl("vacuum", "--data", srv.data, NULL), 0);
	assert_int_equal(db_count(db, "PRAGMA freelist_count"), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "keep", b, 20000), 0);
	online_run("keep", 1000, a, sizeof(a));
	assert_int_equal(wbt_check_series(&srv, "ops", "keep", a, 1000), 0);
	wbt_server_cleanup(&srv);
}

/* Write len bytes of c to path, last changed age_s seconds ago. */
static void plant(const char *path, size_t len, char c, time_t age_s)
{
	char buf[256];
	FILE *f = fopen(path, "wb");
	struct timespec t[2];

	assert_non_null(f);
	memset(buf, c, sizeof(buf));
	for (size_t i = 0; i < len; i += sizeof(buf))
		assert_int_equal(fwrite(buf, 1, len - i < sizeof(buf) ? len - i : sizeof(buf), f) > 0, 1);
	assert_int_equal(fclose(f), 0);
	t[0].tv_sec = t[1].tv_sec = time(NULL) - age_s;
	t[0].tv_nsec = t[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/*
 * `wb vacuum` deletes the files nothing names once they are older than the
 * grace period (default 24 h): unreferenced images and blobs, abandoned
 * partial uploads, temporaries of interrupted writes. It keeps what a row
 * names however old, and anything younger.
 */
static void test_e2e_ops__sweep(void **state)
{
	wbt_server srv;
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	const uint8_t rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
	const time_t old = 3 * 24 * 3600;
	char db[400], img[700], d[600], orphan_img[700], young_img[700], tmp_img[700], blob[700], part[700],
		young_part[700], sha[65] = "", id[64];
	wbt_response r;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	(void)state;

	assert_int_equal(wbt_server_start(&srv, ""), 0);
	wbt_db_path(&srv, db, sizeof(db));
	o.entity = "ops";
	o.project = "sweep";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 60000;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_log_image_rgb(run, "sample", rgb, 2, 2, "kept", 0), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT sha256 FROM media WHERE kind = 'image'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(sha, sizeof(sha), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	assert_int_equal(strlen(sha), 64);

	/* the logged image, made old: named by a row, so kept */
	snprintf(img, sizeof(img), "%s/media/%.2s/%s", srv.data, sha, sha);
	assert_true(exists(img));
	{
		struct timespec t[2] = {{time(NULL) - old, 0}, {time(NULL) - old, 0}};
		assert_int_equal(utimensat(AT_FDCWD, img, t, 0), 0);
	}
	snprintf(d, sizeof(d), "%s/media/ab", srv.data);
	mkdir(d, 0755);
	snprintf(orphan_img, sizeof(orphan_img), "%s/ab%062d", d, 1);
	plant(orphan_img, 1000, 'o', old);
	snprintf(young_img, sizeof(young_img), "%s/ab%062d", d, 2);
	plant(young_img, 1000, 'y', 60);
	snprintf(tmp_img, sizeof(tmp_img), "%s/.tmp-ab%062d-1-1", d, 3);
	plant(tmp_img, 500, 't', old);
	snprintf(d, sizeof(d), "%s/blobs", srv.data);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/blobs/cd", srv.data);
	mkdir(d, 0755);
	snprintf(blob, sizeof(blob), "%s/%062d", d, 4);
	plant(blob, 3000, 'b', old);
	snprintf(d, sizeof(d), "%s/blobs/tmp", srv.data);
	mkdir(d, 0755);
	snprintf(part, sizeof(part), "%s/ef%062d.part", d, 5);
	plant(part, 2000, 'p', old);
	snprintf(young_part, sizeof(young_part), "%s/ef%062d.part", d, 6);
	plant(young_part, 2000, 'q', 3600);

	assert_int_equal(wbt_wbl("vacuum", "--data", srv.data, "--grace-hours", "x", NULL), 2);
	assert_true(exists(orphan_img)); /* a bad option changes nothing */
	assert_int_equal(wbt_wbl("vacuum", "--data", srv.data, NULL), 0);
	assert_false(exists(orphan_img));
	assert_false(exists(tmp_img));
	assert_false(exists(blob));
	assert_false(exists(part));
	assert_true(exists(young_img));
	assert_true(exists(young_part));
	assert_true(exists(img));
	snprintf(d, sizeof(d), "/api/v1/projects/ops/sweep/runs/%s/images/%s", id, sha);
	assert_int_equal(wbt_http(&srv, "GET", d, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200); /* and still served */
	wbt_response_free(&r);
	/* a shorter grace period takes the younger ones too */
	assert_int_equal(wbt_wbl("vacuum", "--data", srv.data, "--grace-hours", "0", NULL), 0);
	assert_false(exists(young_img));
	assert_false(exists(young_part));
	assert_true(exists(img));
	assert_int_equal(wbt_http(&srv, "GET", "/readyz", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	wbt_server_cleanup(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_ops__endpoints),
		cmocka_unit_test(test_e2e_ops__rate_limit_json_log),
		cmocka_unit_test(test_e2e_ops__retention),
		cmocka_unit_test(test_e2e_ops__sweep),
	};
	return cmocka_run_group_tests(tests, wbt_runs_setup, wbt_runs_teardown);
}

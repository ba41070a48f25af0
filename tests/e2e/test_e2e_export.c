/*
 * End-to-end export and import: runs made on one real server (config,
 * tags, metrics with NaN/Inf and repeated steps, a metric definition,
 * explicit summary values, system metrics, the git capture with its patch,
 * finished, failed and crashed states) go through `wb export` into a
 * .tar.gz and `wb import` into a second real server; then every API answer
 * about them is compared: the run objects (but for the servers' own
 * updated_at, heartbeat_at and last_seq), the metrics lists, every series
 * at full resolution bit for bit, the code capture and its patch.
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
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static wbt_server a, b;
static char root[256];

static int setup(void **state)
{
	(void)state;
	/* b first: the last started server is the one the SDK's environment points at */
	if (wbt_server_start(&b, NULL) < 0 || wbt_server_start(&a, NULL) < 0)
		return -1;
	if (wbt_mkdtemp(root, sizeof(root), "export") < 0)
		return -1;
	setenv("WB_DIR", root, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&a);
	wbt_server_cleanup(&b);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(root);
	return 0;
}

static int run_wb(const char *const *args)
{
	pid_t p;
	int st;
	fflush(NULL);
	p = fork();
	if (p == 0) {
		execv(wbt_wb_bin(), (char *const *)args);
		_exit(127);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *get_body(const wbt_server *s, const char *path, long *status)
{
	wbt_response r;
	char *body;
	assert_int_equal(wbt_http(s, "GET", path, NULL, 0, NULL, 1, &r), 0);
	*status = r.status;
	body = r.body;
	r.body = NULL;
	wbt_response_free(&r);
	return body;
}

/* The same GET on both servers gives the same answer (after dropping volatile members of a run object). */
static void same(const char *path, int is_run)
{
	long sa, sb;
	char *xa = get_body(&a, path, &sa), *xb = get_body(&b, path, &sb);

	assert_int_equal(sa, sb);
	if (sa != 200) { /* an error: the same code (request ids differ) */
		cJSON *ja = cJSON_Parse(xa), *jb = cJSON_Parse(xb);
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ja, "error"), "code")->valuestring,
				    cJSON_GetObjectItem(cJSON_GetObjectItem(jb, "error"), "code")->valuestring);
		cJSON_Delete(ja);
		cJSON_Delete(jb);
		free(xa);
		free(xb);
		return;
	}
	if (is_run) {
		cJSON *ja = cJSON_Parse(xa), *jb = cJSON_Parse(xb);
		static const char *const vol[] = {"updated_at", "heartbeat_at", "last_seq"};
		assert_non_null(ja);
		assert_non_null(jb);
		for (size_t i = 0; i < 3; i++) {
			cJSON_DeleteItemFromObject(ja, vol[i]);
			cJSON_DeleteItemFromObject(jb, vol[i]);
		}
		free(xa);
		free(xb);
		xa = cJSON_PrintUnformatted(ja);
		xb = cJSON_PrintUnformatted(jb);
		cJSON_Delete(ja);
		cJSON_Delete(jb);
	}
	if (strcmp(xa, xb) != 0)
		fprintf(stderr, "%s differs:\n A %.2000s\n B %.2000s\n", path, xa, xb);
	assert_string_equal(xa, xb);
	free(xa);
	free(xb);
}

static void make_runs(char ids[3][64])
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run;
	wbt_response r;
	const char *h[] = {"Content-Type: application/json", NULL};

	o.project = "xp";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.tags = "baseline,fp16";
	o.notes = "first <try> & \"quotes\"";
	o.group = "g1";
	o.job_type = "train";
	o.system_sample_ms = 50;
	o.disable_git = 0;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(ids[0], 64, "%s", wb_run_id(run));
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.1), WB_OK);
	assert_int_equal(wb_config_set_string(run, "model", "resnet"), WB_OK);
	assert_int_equal(wb_define_metric(run, "val/acc", NULL, WB_SUMMARY_MAX | WB_SUMMARY_LAST), WB_OK);
	for (int s = 0; s < 3000; s++) {
		double loss = s == 7 ? NAN : s == 8 ? INFINITY : s == 9 ? -INFINITY : 1.0 / (s + 1) + 1e-17 * s;
		assert_int_equal(WB_LOG(run, s, {"loss", loss}), WB_OK);
		if (s % 10 == 0)
			assert_int_equal(WB_LOG(run, s, {"val/acc", s * 0.001}, {"loss", -loss}), WB_OK); /* twice at s */
	}
	assert_int_equal(wb_summary_set_string(run, "verdict", "good"), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "best", 0.3), WB_OK);
	usleep(200000); /* let the system sampler take a few samples (what is sampled is compared, not counted) */
	assert_int_equal(wb_finish(run, 0), WB_OK);

	o.system_sample_ms = -1;
	o.disable_git = 1;
	o.tags = NULL;
	o.notes = NULL;
	o.group = NULL;
	o.job_type = NULL;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(ids[1], 64, "%s", wb_run_id(run));
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 2.5}), WB_OK);
	assert_int_equal(wb_finish(run, 2), WB_OK);

	snprintf(ids[2], 64, "gone-1");
	assert_int_equal(wbt_http(&a, "PUT", "/api/v1/projects/tester/xp/runs/gone-1", "{}", 2, h, 1, &r), 0);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&a, "POST", "/api/v1/projects/tester/xp/runs/gone-1/finish", "{\"crashed\":true}", 16, h, 1,
				  &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
}

static void test_e2e_export__round_trip_is_identical_through_the_api(void **state)
{
	char ids[3][64], archive[400], path[1200];
	cJSON *metrics, *run;
	const cJSON *m;
	int nkeys = 0;

	(void)state;
	make_runs(ids);
	snprintf(archive, sizeof(archive), "%s/xp.tar.gz", root);
	{
		const char *args[] = {wbt_wb_bin(), "export", "--project", "tester/xp", archive, "--base-url", a.url,
				      "--api-key", a.key, NULL};
		assert_int_equal(run_wb(args), 0);
	}
	{
		const char *args[] = {wbt_wb_bin(), "import", archive, "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(args), 0);
		/* a second import refuses to merge into the runs it made */
		assert_int_equal(run_wb(args), 1);
	}
	{
		const char *args[] = {wbt_wb_bin(), "import", "/nonexistent.tar.gz", "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(args), 1);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s", ids[i]);
		same(path, 1);
		snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s/metrics", ids[i]);
		same(path, 0);
		metrics = wbt_get_json(&a, path);
		assert_non_null(metrics);
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(metrics, "metrics"))
		{
			char enc[800];
			const char *k = cJSON_GetObjectItem(m, "key")->valuestring;
			size_t o = 0;
			for (; *k; k++)
				o += (size_t)snprintf(enc + o, sizeof(enc) - o, *k == '/' ? "%%2F" : "%c", *k);
			snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s/export?key=%s&format=json&bits=1",
				 ids[i], enc);
			same(path, 0);
			nkeys++;
		}
		cJSON_Delete(metrics);
		snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s/code", ids[i]);
		same(path, 0);
	}
	/* the first run had everything: check it was really there to compare */
	snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s", ids[0]);
	run = wbt_get_json(&b, path);
	assert_non_null(run);
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "finished");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "code"));
	cJSON_Delete(run);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s/code/diff.patch", ids[0]);
	same(path, 0);
	assert_true(nkeys >= 5); /* loss, val/acc, _timestamp, system/... */
	run = wbt_get_json(&b, "/api/v1/projects/tester/xp/runs/gone-1");
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "crashed");
	cJSON_Delete(run);
}

/* --all into a third server; archives that are not ours, or that name runs badly, are refused. */
static void test_e2e_export__all_and_hostile_archives(void **state)
{
	wbt_server c;
	char archive[400], dir[300], cmd[2400];
	cJSON *ra, *rc;
	FILE *f;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(wbt_server_start(&c, NULL), 0);
	snprintf(archive, sizeof(archive), "%s/all.tar.gz", root);
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--all", archive, "--base-url", a.url, "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(ex), 0);
		assert_int_equal(run_wb(im), 0);
	}
	ra = wbt_get_json(&a, "/api/v1/projects/tester/xp/runs?limit=1000");
	rc = wbt_get_json(&c, "/api/v1/projects/tester/xp/runs?limit=1000");
	assert_non_null(ra);
	assert_non_null(rc);
	assert_int_equal(cJSON_GetObjectItem(ra, "total")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(rc, "total")->valueint, 3);
	cJSON_Delete(ra);
	cJSON_Delete(rc);

	/* not an archive */
	snprintf(dir, sizeof(dir), "%s/junk.tar.gz", root);
	f = fopen(dir, "w");
	assert_non_null(f);
	fputs("this is not a tar.gz", f);
	fclose(f);
	{
		const char *im[] = {wbt_wb_bin(), "import", dir, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(im), 1);
	}
	/* a manifest that names "../x": refused before anything is sent */
	snprintf(dir, sizeof(dir), "%s/hostile", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && printf '%%s' '{\"format\":\"wb-export\",\"version\":1,"
		 "\"runs\":[{\"entity\":\"..\",\"project\":\"p\",\"id\":\"r\"}]}' > '%s/manifest.json' && "
		 "tar -C '%s' -czf '%s/hostile.tar.gz' manifest.json", dir, dir, dir, root);
	assert_int_equal(system(cmd), 0);
	snprintf(archive, sizeof(archive), "%s/hostile.tar.gz", root);
	{
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(im), 1);
	}
	/* bad arguments */
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--run", "../x/y", archive, NULL};
		const char *ex2[] = {wbt_wb_bin(), "export", "--all", "--project", "a/b", archive, NULL};
		assert_int_equal(run_wb(ex), 1);
		assert_int_equal(run_wb(ex2), 2);
	}
	ra = wbt_get_json(&c, "/api/v1/projects");
	assert_non_null(ra);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ra, "projects")), 1); /* nothing else was made */
	cJSON_Delete(ra);
	wbt_server_cleanup(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_export__round_trip_is_identical_through_the_api),
		cmocka_unit_test(test_e2e_export__all_and_hostile_archives),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

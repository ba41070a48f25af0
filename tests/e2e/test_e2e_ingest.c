/*
 * End-to-end: the real SDK logs into a real `wb server` on loopback and
 * everything reads back identical through the API — values bit-exact
 * (NaN payloads, +-Inf, -0.0, denormals), steps, config, summary, state —
 * online, offline + `wb sync`, and resumed by id.
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
#include "series.h"

#define NSTEPS 20000

static wbt_server srv;
static char rundir_root[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0)
		return -1;
	return wbt_runs_dir(rundir_root, sizeof(rundir_root), "runs");
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, rundir_root);
}

/* Start a run, set the config every test checks, log the series and finish. */
static void log_run(wb_mode mode, const char *name, char *id_out, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.project = "e2e";
	o.entity = "tester";
	o.name = name;
	o.mode = mode;
	o.tags = "baseline,fp32";
	o.notes = "<script>alert(1)</script> notes";
	o.finish_timeout_ms = 60000;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.001), WB_OK);
	assert_int_equal(wb_config_set_int(run, "optimizer.steps", INT64_C(9007199254740993)), WB_OK);
	assert_int_equal(wb_config_set_bool(run, "model.fp16", 0), WB_OK);
	assert_int_equal(wb_config_set_string(run, "model.arch", "mlp-784-128-10"), WB_OK);
	assert_int_equal(wb_config_set_int(run, "batch", 64), WB_OK);
	assert_int_equal(wb_define_metric(run, "train/acc", NULL, WB_SUMMARY_MIN | WB_SUMMARY_MAX | WB_SUMMARY_MEAN),
			 WB_OK);
	assert_int_equal(wbt_log_series(run, 0, NSTEPS, 0), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "test/acc", 0.875), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "test/nan", NAN), WB_OK);
	assert_int_equal(wb_run_step(run), NSTEPS - 1);
	snprintf(id_out, cap, "%s", wb_run_id(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

static void check_run(const char *id, int64_t nsteps)
{
	cJSON *run = wbt_get_run(&srv, "tester", "e2e", id), *cfg, *sum, *acc, *tags;

	assert_non_null(run);
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "finished");
	assert_string_equal(cJSON_GetObjectItem(run, "notes")->valuestring, "<script>alert(1)</script> notes");
	tags = cJSON_GetObjectItem(run, "tags");
	assert_int_equal(cJSON_GetArraySize(tags), 2);
	assert_string_equal(cJSON_GetArrayItem(tags, 0)->valuestring, "baseline");
	cfg = cJSON_GetObjectItem(run, "config");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "optimizer"), "lr")->valuedouble == 0.001);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "model"), "arch")->valuestring,
			    "mlp-784-128-10");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "model"), "fp16")));
	assert_int_equal(cJSON_GetObjectItem(cfg, "batch")->valuedouble, 64);
	sum = cJSON_GetObjectItem(run, "summary");
	assert_true(cJSON_GetObjectItem(sum, "test/acc")->valuedouble == 0.875);
	assert_true(isnan(wbt_json_number(cJSON_GetObjectItem(sum, "test/nan"))));
	assert_true(wbt_json_number(cJSON_GetObjectItem(sum, "train/loss")) == wbt_value(0, nsteps - 1));
	acc = cJSON_GetObjectItem(sum, "train/acc");
	assert_true(cJSON_IsObject(acc));
	assert_true(wbt_json_number(cJSON_GetObjectItem(acc, "min")) == wbt_value(1, 0));
	assert_true(wbt_json_number(cJSON_GetObjectItem(acc, "max")) == wbt_value(1, nsteps - 1));
	assert_true(fabs(wbt_json_number(cJSON_GetObjectItem(acc, "mean")) - wbt_value(1, nsteps - 1) / 2) < 1e-9);
	assert_int_equal((int64_t)cJSON_GetObjectItem(run, "last_step")->valuedouble, nsteps - 1);
	cJSON_Delete(run);
	assert_int_equal(wbt_check_series(&srv, "tester", "e2e", id, nsteps), 0);
}

/* The CSV export of the edge-case series parses back to the same values:
 * NaN, +-Inf and -0.0 included (a NaN's payload is only in bits=1 JSON). */
static void check_csv(const char *id)
{
	char path[512], *line, *save = NULL;
	wbt_response r;
	int64_t n = 0;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/e2e/runs/%s/export?key=edge&format=csv", id);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.content_type, "text/csv"));
	line = strtok_r(r.body, "\r\n", &save);
	assert_non_null(line);
	assert_string_equal(line, "step,value");
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		char *comma = strchr(line, ',');
		double want = wbt_value(2, n), got;
		assert_non_null(comma);
		assert_int_equal(strtoll(line, NULL, 10), n);
		got = strtod(comma + 1, NULL);
		if (isnan(want))
			assert_true(isnan(got));
		else
			assert_true(got == want && signbit(got) == signbit(want));
		n++;
	}
	assert_int_equal(n, NSTEPS);
	wbt_response_free(&r);
}

static void test_e2e_ingest__online_roundtrip_bit_exact(void **state)
{
	char id[64], path[256];
	wbt_response r;

	(void)state;
	log_run(WB_MODE_ONLINE, "online-run", id, sizeof(id));
	check_run(id, NSTEPS);
	/* an int64 past 2^53 survives exactly: look at the JSON text itself */
	snprintf(path, sizeof(path), "/api/v1/projects/tester/e2e/runs/%s", id);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "9007199254740993"));
	wbt_response_free(&r);
	check_csv(id);
}

static int run_sync(const char *dir)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl(wbt_wb_bin(), wbt_wb_bin(), "sync", dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_e2e_ingest__offline_then_sync_equals_online(void **state)
{
	char id[64], dir[512];
	cJSON *before;

	(void)state;
	log_run(WB_MODE_OFFLINE, "offline-run", id, sizeof(id));
	/* offline means nothing reached the server */
	before = wbt_get_run(&srv, "tester", "e2e", id);
	assert_null(before);
	snprintf(dir, sizeof(dir), "%s/run-%s", rundir_root, id);
	assert_int_equal(run_sync(dir), 0);
	check_run(id, NSTEPS);
	/* syncing again sends nothing new and changes nothing */
	assert_int_equal(run_sync(dir), 0);
	check_run(id, NSTEPS);
}

static void test_e2e_ingest__resume_by_id_continues_steps(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char id[64];
	cJSON *j;

	(void)state;
	o.project = "e2e";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 60000;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	assert_int_equal(wbt_log_series(run, 0, 500, 0), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);

	o.run_id = id;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_run_step(run), 499);
	assert_int_equal(wbt_log_series(run, 500, 1000, 0), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wbt_check_series(&srv, "tester", "e2e", id, 1000), 0);
	j = wbt_get_run(&srv, "tester", "e2e", id);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "finished");
	cJSON_Delete(j);
}

static void test_e2e_ingest__failed_exit_code_marks_failed(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char id[64];
	cJSON *j;

	(void)state;
	o.project = "e2e";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1}), WB_OK);
	assert_int_equal(wb_finish(run, 3), WB_OK);
	j = wbt_get_run(&srv, "tester", "e2e", id);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "failed");
	assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 3);
	cJSON_Delete(j);
}

static void test_e2e_ingest__history_downsamples_min_max_last(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char id[64], path[512];
	cJSON *j, *st, *mn, *mx, *ls;

	(void)state;
	o.project = "e2e";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	for (int s = 0; s < 10000; s++)
		assert_int_equal(WB_LOG(run, s, {"x", (double)((s * 7919) % 10000)}), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/e2e/runs/%s/history?key=x&buckets=100", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	st = cJSON_GetObjectItem(j, "step");
	mn = cJSON_GetObjectItem(j, "min");
	mx = cJSON_GetObjectItem(j, "max");
	ls = cJSON_GetObjectItem(j, "last");
	assert_int_equal(cJSON_GetArraySize(st), 100);
	/* recompute each bucket [100b, 100b+99] independently */
	for (int b = 0; b < 100; b++) {
		double lo = INFINITY, hi = -INFINITY, last = 0;
		for (int s = b * 100; s < b * 100 + 100; s++) {
			double v = (double)((s * 7919) % 10000);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			last = v;
		}
		assert_int_equal((int)cJSON_GetArrayItem(st, b)->valuedouble, b * 100 + 99);
		assert_true(cJSON_GetArrayItem(mn, b)->valuedouble == lo);
		assert_true(cJSON_GetArrayItem(mx, b)->valuedouble == hi);
		assert_true(cJSON_GetArrayItem(ls, b)->valuedouble == last);
	}
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_ingest__online_roundtrip_bit_exact),
	    cmocka_unit_test(test_e2e_ingest__offline_then_sync_equals_online),
	    cmocka_unit_test(test_e2e_ingest__resume_by_id_continues_steps),
	    cmocka_unit_test(test_e2e_ingest__failed_exit_code_marks_failed),
	    cmocka_unit_test(test_e2e_ingest__history_downsamples_min_max_last),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

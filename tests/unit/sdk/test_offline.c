/*
 * test_offline.c — an offline run end to end: wb_init in a temporary
 * directory, log, config, summary, define, finish; then the run log is
 * decoded with the wire codec and every record checked, values bit for
 * bit.
 */
#include "test_sdk_helpers.h"

#include <float.h>
#include <math.h>
#include <pthread.h>

#include "runlog.h"

WBT_DIR_FIXTURE

static wb_run *open_offline(void)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.project = "mnist";
	o.entity = "alice";
	o.group = "sweep-1";
	o.job_type = "train";
	o.notes = "first try";
	o.tags = "baseline,fp16";
	assert_int_equal(wb_init(&run, &o), WB_OK);
	return run;
}

static void test_offline__end_to_end(void **state)
{
	static const uint64_t bits[] = {
		0x7ff8000000000000ull, /* NaN */
		0x7ff4000000000abcull, /* a signalling NaN with a payload */
		0xfff8000000000001ull, /* a negative NaN with a payload */
		0x7ff0000000000000ull, /* +Inf */
		0xfff0000000000000ull, /* -Inf */
		0x8000000000000000ull, /* -0.0 */
		0x0000000000000001ull, /* smallest denormal */
		0x7fefffffffffffffull, /* DBL_MAX */
		0x3fb999999999999aull, /* 0.1 */
	};
	const size_t nb = sizeof bits / sizeof bits[0];
	wb_run *run = open_offline();
	char logp[600], runjson[600], name[160];
	wb_metric m[9];
	char keys[9][16];
	wbt_log log;
	size_t metrics = 0;
	cJSON *j;

	(void)state;
	assert_true(strlen(wb_run_id(run)) == 8);
	assert_true(wb_run_name(run)[0] != '\0');
	snprintf(name, sizeof name, "%s", wb_run_name(run));
	assert_non_null(strstr(wb_run_url(run), "/alice/mnist/runs/"));
	assert_non_null(strstr(wb_run_dir(run), dir));
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	wbt_run_path(runjson, sizeof runjson, run, "run.json");

	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.1), WB_OK);
	for (size_t i = 0; i < nb; i++) {
		snprintf(keys[i], sizeof keys[i], "v/%zu", i);
		m[i].key = keys[i];
		memcpy(&m[i].value, &bits[i], 8);
	}
	assert_int_equal(wb_log(run, m, nb, WB_STEP_AUTO), WB_OK);           /* step 0 */
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.5}), WB_OK);   /* step 1 */
	assert_int_equal(WB_LOG(run, 1, {"acc", 0.25}), WB_OK);              /* step 1 again */
	assert_int_equal(WB_LOG(run, 100, {"loss", 1.0}, {"acc", 0.5}), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", -2.0}), WB_OK);  /* step 101 */
	assert_int_equal(wb_run_step(run), 101);
	assert_int_equal(wb_summary_set_double(run, "best", INFINITY), WB_OK);
	assert_int_equal(wb_summary_set_string(run, "note", "ok"), WB_OK);
	assert_int_equal(wb_define_metric(run, "val/*", "epoch", WB_SUMMARY_MIN | WB_SUMMARY_MAX), WB_OK);
	assert_int_equal(wb_define_metric(run, "loss", NULL, 0), WB_OK);
	assert_int_equal(wb_run_dropped(run), 0);
	assert_int_equal(wb_finish(run, 3), WB_OK);

	wbt_log_load(&log, logp);
	assert_int_equal(log.valid, log.len);
	assert_int_equal(log.n, 12);
	for (size_t i = 0; i < log.n; i++)
		assert_int_equal(log.frames[i].seq, i + 1);

	/* RUN */
	assert_int_equal(log.frames[0].type, WB__REC_RUN);
	j = wbt_json(&log.frames[0]);
	assert_string_equal(cJSON_GetObjectItem(j, "name")->valuestring, name);
	assert_string_equal(cJSON_GetObjectItem(j, "group")->valuestring, "sweep-1");
	assert_string_equal(cJSON_GetObjectItem(j, "job_type")->valuestring, "train");
	assert_string_equal(cJSON_GetObjectItem(j, "notes")->valuestring, "first try");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tags")), 2);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tags"), 1)->valuestring, "fp16");
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "metadata")));
	assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "pid")->valuedouble, getpid());
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "argv")));
	assert_true(cJSON_GetObjectItem(j, "created_at")->valuedouble > 1.7e9);
	cJSON_Delete(j);

	/* CONFIG */
	assert_int_equal(log.frames[1].type, WB__REC_CONFIG);
	assert_memory_equal(log.frames[1].payload, "{\"optimizer\":{\"lr\":0.1}}", log.frames[1].len);

	/* METRICS, bit for bit */
	for (size_t i = 2; i < 7; i++) {
		static const int64_t steps[] = {0, 1, 1, 100, 101};
		wb__metrics_reader r;
		const char *key;
		size_t klen;
		double v;

		assert_int_equal(log.frames[i].type, WB__REC_METRICS);
		assert_int_equal(wb__metrics_begin(&r, log.frames[i].payload, log.frames[i].len), 0);
		assert_int_equal(r.step, steps[metrics]);
		assert_true(r.time > 1.7e9);
		if (metrics == 0) {
			assert_int_equal(r.n, nb);
			for (size_t k = 0; wb__metrics_next(&r, &key, &klen, &v); k++) {
				assert_int_equal(klen, strlen(keys[k]));
				assert_memory_equal(key, keys[k], klen);
				assert_true(wb__f64_bits(v) == bits[k]);
			}
		}
		if (metrics == 3) {
			assert_int_equal(r.n, 2);
			assert_int_equal(wb__metrics_next(&r, &key, &klen, &v), 1);
			assert_memory_equal(key, "loss", 4);
			assert_true(v == 1.0);
		}
		metrics++;
	}

	/* SUMMARY, DEFINE */
	assert_int_equal(log.frames[7].type, WB__REC_SUMMARY);
	assert_memory_equal(log.frames[7].payload, "{\"best\":\"Infinity\"}", log.frames[7].len);
	assert_int_equal(log.frames[8].type, WB__REC_SUMMARY);
	assert_memory_equal(log.frames[8].payload, "{\"note\":\"ok\"}", log.frames[8].len);
	assert_int_equal(log.frames[9].type, WB__REC_DEFINE);
	assert_memory_equal(log.frames[9].payload,
			    "{\"key\":\"val/*\",\"step_metric\":\"epoch\",\"summary\":[\"min\",\"max\"]}",
			    log.frames[9].len);
	assert_memory_equal(log.frames[10].payload, "{\"key\":\"loss\",\"step_metric\":null}", log.frames[10].len);

	/* FINISH */
	assert_int_equal(log.frames[11].type, WB__REC_FINISH);
	j = wbt_json(&log.frames[11]);
	assert_int_equal((int)cJSON_GetObjectItem(j, "exit_code")->valuedouble, 3);
	assert_true(cJSON_GetObjectItem(j, "time")->valuedouble > 1.7e9);
	cJSON_Delete(j);
	wbt_log_free(&log);

	/* run.json */
	{
		size_t len;
		uint8_t *data = wbt_read_file(runjson, &len);
		j = cJSON_Parse((char *)data);
		assert_non_null(j);
		assert_string_equal(cJSON_GetObjectItem(j, "entity")->valuestring, "alice");
		assert_string_equal(cJSON_GetObjectItem(j, "project")->valuestring, "mnist");
		assert_int_equal(strlen(cJSON_GetObjectItem(j, "run_id")->valuestring), 8);
		assert_non_null(cJSON_GetObjectItem(j, "base_url"));
		assert_null(cJSON_GetObjectItem(j, "api_key"));
		cJSON_Delete(j);
		free(data);
	}
}

#define THREADS 4
#define PER_THREAD 20000

static void *log_thread(void *arg)
{
	wb_run *run = arg;

	for (int i = 0; i < PER_THREAD; i++)
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"x", (double)i}, {"y", -(double)i}), WB_OK);
	return NULL;
}

/* Threads share one run: every record lands, steps stay increasing. */
static void test_offline__threads(void **state)
{
	wb_run *run = open_offline();
	pthread_t t[THREADS];
	char logp[600];
	wbt_log log;
	int64_t last = -1;
	size_t metrics = 0;

	(void)state;
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_thread, run), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(wb_run_step(run), THREADS * PER_THREAD - 1);
	assert_int_equal(wb_run_dropped(run), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	wbt_log_load(&log, logp);
	for (size_t i = 0; i < log.n; i++) {
		wb__metrics_reader r;
		assert_int_equal(log.frames[i].seq, i + 1);
		if (log.frames[i].type != WB__REC_METRICS)
			continue;
		assert_int_equal(wb__metrics_begin(&r, log.frames[i].payload, log.frames[i].len), 0);
		assert_int_equal(r.step, last + 1);
		last = r.step;
		metrics++;
	}
	assert_int_equal(metrics, THREADS * PER_THREAD);
	wbt_log_free(&log);
}

/* The writer writes on its own, without wb_finish: records reach the log
 * (the page cache) within the durability bound. Polls, bounded. */
static void test_offline__written_without_finish(void **state)
{
	wb_run *run = open_offline();
	char logp[600];
	double t0 = wbt_now_ms();
	wbt_log log = {0};
	int found = 0;

	(void)state;
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	assert_int_equal(WB_LOG(run, 7, {"loss", 0.5}), WB_OK);
	while (!found && wbt_now_ms() - t0 < 5000) {
		wbt_log_load(&log, logp);
		for (size_t i = 0; i < log.n; i++)
			found |= log.frames[i].type == WB__REC_METRICS;
		wbt_log_free(&log);
		if (!found)
			usleep(5000);
	}
	assert_true(found);
	/* Generous for a loaded CI machine; the design bound is 100 ms. */
	assert_true(wbt_now_ms() - t0 < 1000);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offline__end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline__threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline__written_without_finish, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

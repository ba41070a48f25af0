/*
 * test_config.c — config setters and getters, types, nested keys and the
 * CONFIG records they write.
 */
#include "test_sdk_helpers.h"

#include <math.h>
#include <pthread.h>

#include "config.h"
#include "runlog.h"

static char dir[256];

static int setup(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	wbt_setup(dir, sizeof dir);
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	assert_int_equal(wb_run_init(&run, &o), WB_OK); /* the other tests use the earlier names */
	*state = run;
	return 0;
}

/* Only the directory: the test makes its own run. */
static int setup_dir(void **state)
{
	wbt_setup(dir, sizeof dir);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	if (*state)
		wb_run_finish(*state, 0);
	wbt_rm_rf(dir);
	return 0;
}

static void test_config__types(void **state)
{
	wb_run *run = *state;
	int64_t i;
	double d;
	int b;
	const char *s;

	assert_int_equal(wb_config_set_int(run, "epochs", INT64_MAX), WB_OK);
	assert_int_equal(wb_config_set_double(run, "lr", 0.1), WB_OK);
	assert_int_equal(wb_config_set_bool(run, "amp", 7), WB_OK);
	assert_int_equal(wb_config_set_string(run, "model", "resnet50"), WB_OK);

	assert_int_equal(wb_config_get_int(run, "epochs", &i), WB_OK);
	assert_true(i == INT64_MAX);
	assert_int_equal(wb_config_get_double(run, "epochs", &d), WB_OK); /* int as double */
	assert_true(d == (double)INT64_MAX);
	assert_int_equal(wb_config_get_double(run, "lr", &d), WB_OK);
	assert_true(d == 0.1);
	assert_int_equal(wb_config_get_bool(run, "amp", &b), WB_OK);
	assert_int_equal(b, 1);
	assert_int_equal(wb_config_get_string(run, "model", &s), WB_OK);
	assert_string_equal(s, "resnet50");

	assert_int_equal(wb_config_get_int(run, "lr", &i), WB_ETYPE);
	assert_int_equal(wb_config_get_bool(run, "model", &b), WB_ETYPE);
	assert_int_equal(wb_config_get_string(run, "epochs", &s), WB_ETYPE);
	assert_int_equal(wb_config_get_int(run, "missing", &i), WB_ENOTFOUND);
	assert_true(strstr(wb_errmsg(), "missing") != NULL);

	/* Setting replaces value and type. */
	assert_int_equal(wb_config_set_string(run, "lr", "auto"), WB_OK);
	assert_int_equal(wb_config_get_double(run, "lr", &d), WB_ETYPE);
	assert_int_equal(wb_config_get_string(run, "lr", &s), WB_OK);
	assert_string_equal(s, "auto");
}

/* wb_config_copy_string copies under the lock and says the size it needs. */
static void test_config__copy_string(void **state)
{
	wb_run *run = *state;
	char buf[16];
	size_t len = 99;

	assert_int_equal(wb_config_set_string(run, "model", "resnet50"), WB_OK);
	assert_int_equal(wb_config_copy_string(run, "model", buf, 9, &len), WB_OK);
	assert_string_equal(buf, "resnet50");
	assert_int_equal(len, 8);
	memset(buf, 'x', sizeof(buf));
	len = 0;
	assert_int_equal(wb_config_copy_string(run, "model", buf, 8, &len), WB_ERANGE);
	assert_int_equal(len, 8);
	assert_int_equal(buf[0], 'x'); /* nothing written */
	assert_non_null(strstr(wb_errmsg(), "model"));
	assert_int_equal(wb_config_copy_string(run, "model", NULL, 0, &len), WB_ERANGE); /* size query */
	assert_int_equal(len, 8);
	assert_int_equal(wb_config_copy_string(run, "model", buf, sizeof(buf), NULL), WB_OK);
	assert_int_equal(wb_config_copy_string(run, "missing", buf, sizeof(buf), &len), WB_ENOTFOUND);
	assert_int_equal(wb_config_set_int(run, "epochs", 3), WB_OK);
	assert_int_equal(wb_config_copy_string(run, "epochs", buf, sizeof(buf), &len), WB_ETYPE);
	assert_int_equal(wb_config_copy_string(run, "model", NULL, 4, &len), WB_EINVAL);
	assert_int_equal(wb_config_copy_string(NULL, "model", buf, sizeof(buf), &len), WB_EINVAL);
	assert_string_equal(wb_strerror(WB_ERANGE), "buffer too small");
}

typedef struct setter {
	wb_run *run;
	int n;
} setter;

static void *set_loop(void *arg)
{
	setter *st = arg;
	char v[32];
	for (int i = 0; i < st->n; i++) {
		snprintf(v, sizeof(v), "value-%d", i);
		if (wb_config_set_string(st->run, "model", v) != WB_OK)
			return (void *)1;
	}
	return NULL;
}

/* A pointer from wb_config_get_string stays readable while another thread
 * sets the key again (ASan reports a use after free otherwise). */
static void test_config__get_string_pointer_stays(void **state)
{
	wb_run *run = *state;
	const char *first, *s;
	setter st = {run, 2000};
	pthread_t t;
	void *res;
	size_t total = 0;

	assert_int_equal(wb_config_set_string(run, "model", "resnet50"), WB_OK);
	assert_int_equal(wb_config_get_string(run, "model", &first), WB_OK);
	assert_int_equal(pthread_create(&t, NULL, set_loop, &st), 0);
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(wb_config_get_string(run, "model", &s), WB_OK);
		total += strlen(s);
	}
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
	assert_true(total >= 2000 * 7);
	/* replaced by a value and by a key below it: the first pointer still reads */
	assert_int_equal(wb_config_set_double(run, "model.depth", 50), WB_OK);
	assert_string_equal(first, "resnet50");
}

static void test_config__nested_keys(void **state)
{
	wb_run *run = *state;
	double d;
	int64_t i;

	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.01), WB_OK);
	assert_int_equal(wb_config_set_double(run, "optimizer.betas.b1", 0.9), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer", &d), WB_ENOTFOUND);
	/* A scalar at an ancestor replaces the subtree, as the server merges. */
	assert_int_equal(wb_config_set_int(run, "optimizer.betas", 2), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer.betas.b1", &d), WB_ENOTFOUND);
	assert_int_equal(wb_config_get_int(run, "optimizer.betas", &i), WB_OK);
	assert_int_equal(i, 2);
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
	/* And a key below a scalar replaces the scalar. */
	assert_int_equal(wb_config_set_int(run, "optimizer.betas.b2", 3), WB_OK);
	assert_int_equal(wb_config_get_int(run, "optimizer.betas", &i), WB_ENOTFOUND);
	/* "optimizer.lr" is not below "optimizer.l". */
	assert_int_equal(wb_config_set_int(run, "optimizer.l", 1), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
}

static void test_config__invalid_keys(void **state)
{
	wb_run *run = *state;
	char long_part[80];
	int64_t i;

	memset(long_part, 'k', 65);
	long_part[65] = '\0';
	assert_int_equal(wb_config_set_int(run, "", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, "a..b", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, ".a", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, "a.", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, "a\tb", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, long_part, 1), WB_EINVAL);
	assert_true(wb_errmsg()[0] != '\0');
	assert_int_equal(wb_config_set_int(run, NULL, 1), WB_EINVAL);
	assert_int_equal(wb_config_set_string(run, "a", NULL), WB_EINVAL);
	assert_int_equal(wb_config_set_int(NULL, "a", 1), WB_EINVAL);
	assert_int_equal(wb_config_get_int(run, "a", NULL), WB_EINVAL);
	long_part[64] = '\0';
	assert_int_equal(wb_config_set_int(run, long_part, 1), WB_OK);
	assert_int_equal(wb_config_get_int(run, long_part, &i), WB_OK);
	/* Leading '_' is fine in config (it is reserved only for metric keys). */
	assert_int_equal(wb_config_set_int(run, "_private.x", 1), WB_OK);
}

static void test_config__payload(void **state)
{
	wb__config_value v;
	char *json;
	size_t len;

	(void)state;
	v = (wb__config_value){.type = WB__CFG_DOUBLE, .v.d = 0.1};
	assert_int_equal(wb__config_payload("optimizer.lr", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"optimizer\":{\"lr\":0.1}}");
	assert_int_equal(len, strlen(json));
	free(json);
	v = (wb__config_value){.type = WB__CFG_INT, .v.i = INT64_MIN};
	assert_int_equal(wb__config_payload("a.b.c", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"a\":{\"b\":{\"c\":-9223372036854775808}}}");
	free(json);
	v = (wb__config_value){.type = WB__CFG_DOUBLE, .v.d = NAN};
	assert_int_equal(wb__config_payload("x", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"x\":\"NaN\"}");
	free(json);
	v = (wb__config_value){.type = WB__CFG_DOUBLE, .v.d = -INFINITY};
	assert_int_equal(wb__config_payload("x", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"x\":\"-Infinity\"}");
	free(json);
	v = (wb__config_value){.type = WB__CFG_DOUBLE, .v.d = 1.0 / 3.0};
	assert_int_equal(wb__config_payload("x", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"x\":0.3333333333333333}");
	free(json);
	v = (wb__config_value){.type = WB__CFG_BOOL, .v.b = 0};
	assert_int_equal(wb__config_payload("x", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"x\":false}");
	free(json);
	v = (wb__config_value){.type = WB__CFG_STRING, .v.s = "quote\"d"};
	assert_int_equal(wb__config_payload("x", &v, &json, &len), WB_OK);
	assert_string_equal(json, "{\"x\":\"quote\\\"d\"}");
	free(json);
}

/* The setters write CONFIG records, in call order, into the run log. */
static void test_config__records(void **state)
{
	wb_run *run = *state;
	char logp[600];
	const char *want[] = {
		"{\"optimizer\":{\"lr\":0.1}}",
		"{\"batch\":9007199254740993}",
		"{\"name\":\"x\"}",
		"{\"flag\":true}",
	};
	size_t k = 0;
	wbt_log log;

	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.1), WB_OK);
	assert_int_equal(wb_config_set_int(run, "batch", (INT64_C(1) << 53) + 1), WB_OK);
	assert_int_equal(wb_config_set_string(run, "name", "x"), WB_OK);
	assert_int_equal(wb_config_set_bool(run, "flag", 1), WB_OK);
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	*state = NULL;
	wbt_log_load(&log, logp);
	for (size_t i = 0; i < log.n; i++) {
		if (log.frames[i].type != WB__REC_CONFIG)
			continue;
		assert_true(k < 4);
		assert_int_equal(log.frames[i].len, strlen(want[k]));
		assert_memory_equal(log.frames[i].payload, want[k], strlen(want[k]));
		k++;
	}
	assert_int_equal(k, 4);
	wbt_log_free(&log);
}

/* A disabled run keeps config in memory (getters work) and writes nothing. */
static void test_config__disabled(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int64_t i;

	(void)state;
	o.mode = WB_MODE_DISABLED;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_config_set_int(run, "a.b", 5), WB_OK);
	assert_int_equal(wb_config_get_int(run, "a.b", &i), WB_OK);
	assert_int_equal(i, 5);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

/* A sweep's trial: WB_SWEEP_PARAMS becomes the config, typed as written, and
 * the training code's own defaults do not undo it (W&B: the sweep overrides
 * the code); the run's metadata names the sweep and the trial. */
static void test_config__sweep_params_locked(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char logp[600];
	int64_t i;
	double d;
	int b, cfg = 0, meta = 0;
	const char *s;
	wbt_log log;

	(void)state;
	setenv("WB_SWEEP_PARAMS",
	       "{\"optimizer\":{\"lr\":0.01,\"name\":\"sgd\"},\"batch\":9007199254740993,\"amp\":true,\"wd\":1e-4}", 1);
	setenv("WB_SWEEP", "tester/proj/k3j9x2ab", 1);
	setenv("WB_SWEEP_TRIAL", "3", 1);
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	assert_int_equal(wb_run_init(&run, &o), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
	assert_true(d == 0.01);
	assert_int_equal(wb_config_get_string(run, "optimizer.name", &s), WB_OK);
	assert_string_equal(s, "sgd");
	assert_int_equal(wb_config_get_int(run, "batch", &i), WB_OK);
	assert_true(i == (INT64_C(1) << 53) + 1);
	assert_int_equal(wb_config_get_bool(run, "amp", &b), WB_OK);
	assert_int_equal(b, 1);
	assert_int_equal(wb_config_get_int(run, "wd", &i), WB_ETYPE); /* 1e-4 is a double */

	/* the code's defaults: the sweep's keys keep their values, WB_OK */
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.5), WB_OK);
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.6), WB_OK);
	assert_int_equal(wb_config_set_string(run, "optimizer", "adam"), WB_OK); /* above a locked key */
	assert_int_equal(wb_config_set_int(run, "batch.size", 8), WB_OK);        /* below one */
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
	assert_true(d == 0.01);
	assert_int_equal(wb_config_get_int(run, "batch", &i), WB_OK);
	assert_true(i == (INT64_C(1) << 53) + 1);
	/* a key the sweep does not set, even a sibling of one it does, is the code's */
	assert_int_equal(wb_config_set_double(run, "optimizer.momentum", 0.9), WB_OK);
	assert_int_equal(wb_config_get_double(run, "optimizer.momentum", &d), WB_OK);
	assert_true(d == 0.9);
	assert_int_equal(wb_config_get_double(run, "optimizer.lr", &d), WB_OK);
	assert_true(d == 0.01);

	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	wbt_log_load(&log, logp);
	for (size_t k = 0; k < log.n; k++) {
		cJSON *j = cJSON_ParseWithLength((const char *)log.frames[k].payload, log.frames[k].len);
		if (log.frames[k].type == WB__REC_RUN) {
			cJSON *sw = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "sweep");
			assert_string_equal(cJSON_GetObjectItem(sw, "id")->valuestring, "k3j9x2ab");
			assert_int_equal(cJSON_GetObjectItem(sw, "trial")->valueint, 3);
			meta++;
		} else if (log.frames[k].type == WB__REC_CONFIG) {
			/* the five sweep keys and the momentum; no record of a refused set */
			assert_null(strstr((const char *)log.frames[k].payload, "0.5"));
			assert_null(strstr((const char *)log.frames[k].payload, "adam"));
			cfg++;
		}
		cJSON_Delete(j);
	}
	assert_int_equal(meta, 1);
	assert_int_equal(cfg, 6);
	wbt_log_free(&log);
}

/* A malformed WB_SWEEP_PARAMS fails wb_run_init with WB_EINVAL naming the
 * variable, and no run starts. */
static void test_config__sweep_params_invalid(void **state)
{
	static const char *const bad[] = {
		"{\"lr\":", "[1,2]", "{\"lr\":[0.1,0.2]}", "{\"a\":{\"b\":null}}", "", "{\"\":1}",
	};
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char runs[600];

	(void)state;
	snprintf(runs, sizeof runs, "%s/runs", dir);
	o.mode = WB_MODE_OFFLINE;
	o.dir = runs;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		setenv("WB_SWEEP_PARAMS", bad[k], 1);
		if (!bad[k][0]) /* empty: not a trial at all */
			continue;
		assert_int_equal(wb_run_init(&run, &o), WB_EINVAL);
		assert_null(run);
		assert_non_null(strstr(wb_errmsg(), "WB_SWEEP_PARAMS"));
		assert_int_equal(access(runs, F_OK), -1);
	}
	setenv("WB_SWEEP_PARAMS", "{\"lr\":0.1}", 1);
	setenv("WB_SWEEP_TRIAL", "x", 1);
	assert_int_equal(wb_run_init(&run, &o), WB_EINVAL);
	assert_non_null(strstr(wb_errmsg(), "WB_SWEEP_TRIAL"));
	unsetenv("WB_SWEEP_TRIAL");
	unsetenv("WB_SWEEP_PARAMS");
}

/* A rank that records nothing (disabled) still trains with the sweep's values. */
static void test_config__sweep_params_disabled(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	double d;

	(void)state;
	setenv("WB_SWEEP_PARAMS", "{\"lr\":0.25}", 1);
	o.mode = WB_MODE_DISABLED;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_config_set_double(run, "lr", 1.0), WB_OK);
	assert_int_equal(wb_config_get_double(run, "lr", &d), WB_OK);
	assert_true(d == 0.25);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	unsetenv("WB_SWEEP_PARAMS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config__types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__copy_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__get_string_pointer_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__nested_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__invalid_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config__sweep_params_locked, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_config__sweep_params_invalid, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_config__sweep_params_disabled, setup_dir, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

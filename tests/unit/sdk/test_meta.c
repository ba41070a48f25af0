/*
 * test_meta.c — the run metadata (sdk/src/meta.c): the environment
 * allow-list and secret filter, the same filter over argv, and the
 * machine fields.
 */
#include "test_sdk_helpers.h"

#include "meta.h"

static int allowed(const char *name) { return wb__env_allowed(name, strlen(name)); }

static void test_meta__env_filter(void **state)
{
	(void)state;
	/* On the list: exact names and prefixes. */
	assert_true(allowed("CUDA_VISIBLE_DEVICES"));
	assert_true(allowed("OMP_NUM_THREADS"));
	assert_true(allowed("SLURM_JOB_ID"));
	assert_true(allowed("NCCL_DEBUG"));
	assert_true(allowed("RANK"));
	/* Not on the list. */
	assert_false(allowed("HOME"));
	assert_false(allowed("PATH"));
	assert_false(allowed("RANKING"));
	assert_false(allowed("SLURM_"));
	assert_false(allowed("AWS_SECRET_ACCESS_KEY"));
	/* On the list by prefix, but looking like a secret: never. */
	assert_false(allowed("SLURM_JOB_TOKEN"));
	assert_false(allowed("NCCL_Password"));
	assert_false(allowed("OMP_API_KEY"));
	assert_false(allowed("SLURM_SECRET_THING"));
	assert_false(allowed("SLURM_DB_PASS"));
	assert_false(allowed("SLURM_CREDENTIALS"));
	assert_false(allowed("WB_API_KEY"));
}

static void test_meta__env_value_credentials(void **state)
{
	char *v;

	(void)state;
	v = wb__env_value_clean("https://user:hunter2@proxy.example.com:3128/path");
	assert_string_equal(v, "https://[redacted]@proxy.example.com:3128/path");
	free(v);
	v = wb__env_value_clean("0,1,2,3");
	assert_string_equal(v, "0,1,2,3");
	free(v);
}

/* The command line through the environment's filter: every way a secret
 * is passed on it, and what must stay as it is. */
static void test_meta__argv_redacted(void **state)
{
	static const char *const argv[] = {
		"./train",
		"--api-key", "wb_0123456789abcdef",          /* flag, then its value */
		"--hf_token=hf_abcdef",                       /* flag=value */
		"-password=hunter2",                          /* one dash */
		"--db-url=postgres://alice:s3cret@db:5432/x",  /* credentials in a URL */
		"https://tok@github.com/o/r.git",            /* a URL alone */
		"https://s3.example/b/o?X-Amz-Credential=AKIA&X-Amz-Signature=f00&v=1", /* query parameters */
		"+db.Password=p@ss=word",                     /* a Hydra override: the whole rest */
		"AUTH_TOKEN=abc",                             /* name=value without dashes */
		"--secret-file", "--lr",                      /* a flag's "value" that is the next option */
		"0.1",
		"--epochs", "10",                             /* ordinary flags */
		"--out=/tmp/run",
		"https://example.org/data.csv",
		"--token=",                                   /* nothing to hide */
		"--auth",                                     /* last: no value follows */
	};
	static const char *const want[] = {
		"./train",
		"--api-key", "[redacted]",
		"--hf_token=[redacted]",
		"-password=[redacted]",
		"--db-url=postgres://[redacted]@db:5432/x",
		"https://[redacted]@github.com/o/r.git",
		"https://s3.example/b/o?X-Amz-Credential=[redacted]&X-Amz-Signature=f00&v=1",
		"+db.Password=[redacted]",
		"AUTH_TOKEN=[redacted]",
		"--secret-file", "--lr",
		"0.1",
		"--epochs", "10",
		"--out=/tmp/run",
		"https://example.org/data.csv",
		"--token=",
		"--auth",
	};

	(void)state;
	for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++) {
		char *v = wb__arg_clean(argv, i);
		assert_non_null(v);
		assert_string_equal(v, want[i]);
		free(v);
	}
}

static void test_meta__collect(void **state)
{
	cJSON *m, *env, *cpu;
	char dir[256];

	(void)state;
	wbt_setup(dir, sizeof dir);
	setenv("OMP_NUM_THREADS", "7", 1);
	setenv("SLURM_JOB_ID", "12345", 1);
	setenv("SLURM_JOB_TOKEN", "do-not-record", 1);
	setenv("MY_UNLISTED_VAR", "nope", 1);
	m = wb__meta_collect(1.5);
	assert_non_null(m);
	env = cJSON_GetObjectItem(m, "env");
	assert_string_equal(cJSON_GetObjectItem(env, "OMP_NUM_THREADS")->valuestring, "7");
	assert_string_equal(cJSON_GetObjectItem(env, "SLURM_JOB_ID")->valuestring, "12345");
	assert_null(cJSON_GetObjectItem(env, "SLURM_JOB_TOKEN"));
	assert_null(cJSON_GetObjectItem(env, "MY_UNLISTED_VAR"));
	cpu = cJSON_GetObjectItem(m, "cpu");
	assert_true(cJSON_GetObjectItem(cpu, "count")->valuedouble >= 1);
	assert_non_null(cJSON_GetObjectItem(m, "compiler"));
	assert_true(atof(cJSON_GetObjectItem(m, "memory_total")->valuestring) > 0); /* a raw integer */
	assert_non_null(cJSON_GetObjectItem(m, "hostname"));
	assert_non_null(cJSON_GetObjectItem(m, "os"));
	cJSON_Delete(m);
	unsetenv("OMP_NUM_THREADS");
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOB_TOKEN");
	unsetenv("MY_UNLISTED_VAR");
	wbt_rm_rf(dir);
}

static void test_meta__proc_field(void **state)
{
	char dir[256], path[300], out[64];

	(void)state;
	wbt_setup(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/meminfo", dir);
	wbt_write_file(path, "MemFree:        100 kB\nMemTotal:       16318748 kB\n");
	assert_true(wb__proc_field(path, "MemTotal", out, sizeof out));
	assert_string_equal(out, "16318748 kB");
	assert_false(wb__proc_field(path, "Nope", out, sizeof out));
	wbt_rm_rf(dir);
}

/* argv, paths and the environment are bytes: invalid UTF-8 becomes U+FFFD, since the server refuses it. */
static void test_meta__not_utf8_is_replaced(void **state)
{
	cJSON *meta, *env;
	const char *v;

	(void)state;
	assert_int_equal(setenv("OMP_NUM_THREADS", "4\xff\xc3\xa9\xe2\x82", 1), 0);
	meta = wb__meta_collect(1.0);
	assert_non_null(meta);
	env = cJSON_GetObjectItemCaseSensitive(meta, "env");
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, "OMP_NUM_THREADS"));
	assert_non_null(v);
	assert_string_equal(v, "4\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
	cJSON_Delete(meta);
	unsetenv("OMP_NUM_THREADS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta__not_utf8_is_replaced),
		cmocka_unit_test(test_meta__env_filter),
		cmocka_unit_test(test_meta__env_value_credentials),
		cmocka_unit_test(test_meta__argv_redacted),
		cmocka_unit_test(test_meta__collect),
		cmocka_unit_test(test_meta__proc_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

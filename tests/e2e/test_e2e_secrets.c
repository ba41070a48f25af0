/*
 * End-to-end: the client's secrets go only where they belong.
 *
 *  - A key from the settings file goes only to its own server. With server
 *    A's key as the file's default, the real CLI (`wb restore URL`, `wb
 *    artifact get --base-url`, `wb sync --base-url`, `wb export
 *    --base-url`) and the SDK's wb_init pointed at another address send no
 *    Authorization header at all: asserted on the receiving side, a
 *    loopback receiver that records every header. Against a second real
 *    server B the CLI gets 401 and says why it sent no key; a key named
 *    with --api-key or WB_API_KEY, or an api_key@URL line for B, works, and
 *    A's default key still goes to A.
 *  - A trainer started with secrets on its command line (--api-key KEY,
 *    --hf_token=..., a URL with credentials): the run's argv, read back
 *    through the API, shows "[redacted]", and the secrets are in no API
 *    answer and no file of the run directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"
#include "wb.h"

#define ARGV_SECRET "SECRETz9q"

static wbt_server a, b;
static wbt_rx rx;
static char tmp[256], cfg[320];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&a, "") < 0 || wbt_server_start(&b, "") < 0)
		return -1;
	if (wbt_mkdtemp(tmp, sizeof(tmp), "secrets") < 0 || wbt_rx_start(&rx, 0) < 0)
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/config", tmp);
	if (mkdir(cfg, 0700) != 0)
		return -1;
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_rx_free(&rx);
	wbt_server_cleanup(&a);
	return wbt_tmp_done(&b, tmp);
}

/* The settings file of the CLI runs below: A is the default server. */
static void write_settings(const char *extra)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/settings", cfg);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "base_url=%s\napi_key=%s\n%s", a.url, a.key, extra ? extra : "");
	assert_int_equal(fclose(f), 0);
	chmod(path, 0600);
}

/*
 * Run `wb args...` with the settings file above, WB_BASE_URL unset and
 * WB_API_KEY = key_env (unset when NULL); its stdout and stderr into out.
 * Returns the exit status, or -1.
 */
static int run_wb(const char *key_env, char *out, size_t cap, const char *const *args)
{
	char log[400], *argv[16];
	int n = 0, status;
	pid_t pid;
	FILE *f;

	snprintf(log, sizeof(log), "%s/cli.out", tmp);
	argv[n++] = (char *)wbt_wb_bin();
	while (args[n - 1] && n < 15) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("WB_CONFIG_DIR", cfg, 1);
		unsetenv("WB_BASE_URL");
		if (key_env)
			setenv("WB_API_KEY", key_env, 1);
		else
			unsetenv("WB_API_KEY");
		execv(wbt_wb_bin(), argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	f = fopen(log, "r");
	out[0] = '\0';
	if (f) {
		size_t k = fread(out, 1, cap - 1, f);
		out[k] = '\0';
		fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A small file to put as an artifact. */
static const char *small_file(void)
{
	static char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/weights.bin", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not really weights\n", f);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The receiver answers the next requests with 401, like a server asking
 * for credentials (a 2xx that is not JSON would be retried by artifacts). */
static void rx_ask_for_key(void)
{
	pthread_mutex_lock(&rx.mu);
	for (size_t i = 0; i < sizeof(rx.script) / sizeof(rx.script[0]); i++)
		rx.script[i] = 401;
	rx.script_i = 0;
	pthread_mutex_unlock(&rx.mu);
}

/* A's default key never reaches another address: every command that takes
 * a URL, and the SDK, send nothing the receiver could log. */
static void test_e2e_secrets__file_key_goes_only_to_its_server(void **state)
{
	char url[128], run_url[256], out[8192], dest[400], rundir[400] = "", archive[400];
	size_t before;

	(void)state;
	write_settings(NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", rx.port);
	snprintf(run_url, sizeof(run_url), "%s/tester/proj/runs/r1", url);
	snprintf(dest, sizeof(dest), "%s/restored", tmp);
	snprintf(archive, sizeof(archive), "%s/out.tar.gz", tmp);

	/* the CLI: each command is refused, after sending its request */
	rx_ask_for_key();
	before = wbt_rx_count(&rx, "");
	assert_int_not_equal(run_wb(NULL, out, sizeof(out), (const char *[]){"restore", run_url, dest, NULL}), 0);
	assert_true(wbt_rx_count(&rx, "") > before);
	rx_ask_for_key();
	before = wbt_rx_count(&rx, "");
	assert_int_not_equal(run_wb(NULL, out, sizeof(out),
				    (const char *[]){"artifact", "get", "--base-url", url, "tester/proj/thing:latest", dest,
						     NULL}),
			     0);
	assert_true(wbt_rx_count(&rx, "") > before);
	/* export sends nothing without a key, and says why */
	assert_int_not_equal(run_wb(NULL, out, sizeof(out),
				    (const char *[]){"export", "--project", "tester/proj", "--base-url", url, archive, NULL}),
			     0);
	assert_non_null(strstr(out, "only to its own server"));
	assert_null(strstr(out, a.key));

	/* wb sync of an offline run, to the receiver */
	{
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		o.project = "proj";
		o.entity = "tester";
		o.mode = WB_MODE_OFFLINE;
		o.dir = tmp;
		assert_int_equal(wb_init(&run, &o), WB_OK);
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
		snprintf(rundir, sizeof(rundir), "%s", wb_run_dir(run));
		assert_int_equal(wb_finish(run, 0), WB_OK);
	}
	rx_ask_for_key();
	before = wbt_rx_count(&rx, "");
	assert_int_not_equal(run_wb(NULL, out, sizeof(out), (const char *[]){"sync", rundir, "--base-url", url, NULL}), 0);
	assert_true(wbt_rx_count(&rx, "") > before);

	/* the SDK: a run pointed at the receiver with A's file */
	{
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		char *saved_cfg = strdup(getenv("WB_CONFIG_DIR")), *saved_url = strdup(getenv("WB_BASE_URL")),
		     *saved_key = strdup(getenv("WB_API_KEY"));
		setenv("WB_CONFIG_DIR", cfg, 1);
		setenv("WB_BASE_URL", url, 1);
		unsetenv("WB_API_KEY");
		o.project = "proj";
		o.entity = "tester";
		o.mode = WB_MODE_ONLINE;
		o.dir = tmp;
		o.finish_timeout_ms = 2000;
		rx_ask_for_key();
		before = wbt_rx_count(&rx, "");
		if (wb_init(&run, &o) == WB_OK)
			wb_finish(run, 0);
		assert_true(wbt_rx_count(&rx, "") > before);
		setenv("WB_CONFIG_DIR", saved_cfg, 1);
		setenv("WB_BASE_URL", saved_url, 1);
		setenv("WB_API_KEY", saved_key, 1);
		free(saved_cfg);
		free(saved_url);
		free(saved_key);
	}

	/* the receiving side: not one request carried a key */
	assert_int_equal(wbt_rx_count_header(&rx, "authorization:"), 0);
	assert_int_equal(wbt_rx_count_header(&rx, a.key), 0);
}

/* A real second server: 401, with the reason; named keys and an
 * api_key@URL line work; A's key still goes to A. */
static void test_e2e_secrets__other_server_401_says_why(void **state)
{
	char out[8192], dest[400], line[600], b_run[400];
	const char *file = small_file();

	(void)state;
	write_settings(NULL);
	snprintf(dest, sizeof(dest), "%s/got", tmp);
	snprintf(b_run, sizeof(b_run), "%s/tester/proj/runs/r1", b.url);
	snprintf(line, sizeof(line), "no api key for http://127.0.0.1:%d", b.port);

	assert_int_equal(run_wb(NULL, out, sizeof(out),
				(const char *[]){"artifact", "put", "--base-url", b.url, "tester/proj/model", file, NULL}),
			 1);
	assert_non_null(strstr(out, "401"));
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "only to its own server"));
	assert_null(strstr(out, a.key));
	assert_int_equal(run_wb(NULL, out, sizeof(out), (const char *[]){"restore", b_run, dest, NULL}), 1);
	assert_non_null(strstr(out, "401"));
	assert_non_null(strstr(out, line));

	/* a key named on the command line or in WB_API_KEY goes where it is pointed */
	assert_int_equal(run_wb(NULL, out, sizeof(out),
				(const char *[]){"artifact", "put", "--base-url", b.url, "--api-key", b.key,
						 "tester/proj/model", file, NULL}),
			 0);
	assert_int_equal(run_wb(b.key, out, sizeof(out),
				(const char *[]){"artifact", "get", "--base-url", b.url, "tester/proj/model:latest", dest,
						 NULL}),
			 0);
	/* the default key still goes to its own server (the file's base_url) */
	assert_int_equal(run_wb(NULL, out, sizeof(out), (const char *[]){"artifact", "put", "tester/proj/model", file, NULL}),
			 0);
	/* and B's own line in the file is B's key, for B only */
	snprintf(line, sizeof(line), "api_key@%s=%s\n", b.url, b.key);
	write_settings(line);
	snprintf(dest, sizeof(dest), "%s/got2", tmp);
	assert_int_equal(run_wb(NULL, out, sizeof(out),
				(const char *[]){"artifact", "get", "--base-url", b.url, "tester/proj/model:latest", dest,
						 NULL}),
			 0);
}

/* The child of the argv test: a trainer whose command line holds secrets. */
static int child_trainer(void)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.project = "secrets";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	if (wb_init(&run, &o) != WB_OK || WB_LOG(run, WB_STEP_AUTO, {"loss", 0.5}) != WB_OK)
		return 3;
	printf("%s %s\n", wb_run_id(run), wb_run_dir(run));
	fflush(stdout);
	return wb_finish(run, 0) == WB_OK ? 0 : 4;
}

/* 1 if the file at path contains needle. */
static int file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	int found;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void test_e2e_secrets__argv_redacted(void **state)
{
	static const char *const want[] = {
		"--child-trainer", "--api-key", "[redacted]", "--hf_token=[redacted]",
		"--data=https://[redacted]@data.example/x", "--lr", "0.1",
	};
	char self[512], id[64] = "", rundir[512] = "", path[700];
	const cJSON *argv, *item;
	cJSON *run;
	int p[2], status;
	size_t i = 0;
	ssize_t n;
	pid_t pid;
	DIR *d;
	struct dirent *de;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		setenv("WB_BASE_URL", a.url, 1);
		setenv("WB_API_KEY", a.key, 1);
		setenv("WB_CONFIG_DIR", a.config_dir, 1);
		setenv("WB_DIR", tmp, 1);
		execl(self, self, "--child-trainer", "--api-key", "wb_" ARGV_SECRET "1", "--hf_token=hf_" ARGV_SECRET "2",
		      "--data=https://alice:" ARGV_SECRET "3@data.example/x", "--lr", "0.1", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	{
		char line[1200];
		FILE *in = fdopen(p[0], "r");
		assert_non_null(in);
		assert_non_null(fgets(line, sizeof(line), in));
		assert_int_equal(sscanf(line, "%63s %511s", id, rundir), 2);
		fclose(in);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* through the API: the argv with its secrets replaced */
	snprintf(path, sizeof(path), "/api/v1/projects/tester/secrets/runs/%s", id);
	{
		wbt_response r;
		assert_int_equal(wbt_http(&a, "GET", path, NULL, 0, NULL, 1, &r), 0);
		assert_int_equal(r.status, 200);
		assert_null(strstr(r.body, ARGV_SECRET));
		run = cJSON_Parse(r.body);
		wbt_response_free(&r);
	}
	assert_non_null(run);
	argv = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "argv");
	assert_true(cJSON_IsArray(argv));
	assert_int_equal(cJSON_GetArraySize(argv), 1 + (int)(sizeof(want) / sizeof(want[0])));
	cJSON_ArrayForEach(item, argv)
	{
		if (i > 0)
			assert_string_equal(item->valuestring, want[i - 1]);
		i++;
	}
	cJSON_Delete(run);

	/* and on disk: no file of the run holds them either */
	d = opendir(rundir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct stat st;
		assert_true(snprintf(path, sizeof(path), "%s/%s", rundir, de->d_name) < (int)sizeof(path));
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			assert_false(file_has(path, ARGV_SECRET));
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_secrets__file_key_goes_only_to_its_server),
		cmocka_unit_test(test_e2e_secrets__other_server_401_says_why),
		cmocka_unit_test(test_e2e_secrets__argv_redacted),
	};
	if (argc > 1 && strcmp(argv[1], "--child-trainer") == 0)
		return child_trainer();
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}

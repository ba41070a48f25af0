/*
 * End-to-end: the Fashion-MNIST example trainer, as the README runs it,
 * against a real server. Its run lands finished, with its config, per-step
 * training metrics, per-epoch validation metrics and a test accuracy that
 * reaches the dataset's logistic-regression baseline (84%).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef WBT_EXAMPLE_BIN
#error "WBT_EXAMPLE_BIN must name the example trainer"
#endif

static wbt_server srv;
static char runs[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(runs, sizeof(runs), "exruns") < 0)
		return -1;
	setenv("WB_DIR", runs, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	return 0;
}

static void test_e2e_example__fashion_mnist_reaches_baseline(void **state)
{
	pid_t pid;
	int status;
	cJSON *list, *run, *summary, *config, *metrics;
	char path[512];
	const char *id;
	int has_val = 0;
	double acc;

	(void)state;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl(WBT_EXAMPLE_BIN, WBT_EXAMPLE_BIN, "--project", "example", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	list = wbt_get_json(&srv, "/api/v1/projects/root/example/runs");
	if (!list) {
		/* the entity is the login user; find it through the projects list */
		cJSON *projects = wbt_get_json(&srv, "/api/v1/projects"), *p;
		assert_non_null(projects);
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(projects, "projects"))
		{
			if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, "example") == 0) {
				snprintf(path, sizeof(path), "/api/v1/projects/%s/example/runs",
					 cJSON_GetObjectItem(p, "entity")->valuestring);
				list = wbt_get_json(&srv, path);
			}
		}
		cJSON_Delete(projects);
	}
	assert_non_null(list);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "runs")), 1);
	run = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "runs"), 0);
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "finished");
	config = cJSON_GetObjectItem(run, "config");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(config, "optimizer"), "lr"));
	summary = cJSON_GetObjectItem(run, "summary");
	acc = wbt_json_number(cJSON_GetObjectItem(summary, "test/acc"));
	fprintf(stderr, "example test accuracy: %.4f\n", acc);
	assert_true(acc >= 0.84 && acc <= 1.0);

	id = cJSON_GetObjectItem(run, "id")->valuestring;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/example/runs/%s/metrics",
		 cJSON_GetObjectItem(run, "entity")->valuestring, id);
	metrics = wbt_get_json(&srv, path);
	assert_non_null(metrics);
	{
		cJSON *m;
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(metrics, "metrics"))
		{
			const char *k = cJSON_GetObjectItem(m, "key")->valuestring;
			if (strcmp(k, "train/loss") == 0)
				assert_true(cJSON_GetObjectItem(m, "count")->valuedouble > 1000);
			if (strcmp(k, "val/acc") == 0)
				has_val = 1;
		}
	}
	assert_true(has_val);
	cJSON_Delete(metrics);
	cJSON_Delete(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_example__fashion_mnist_reaches_baseline),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

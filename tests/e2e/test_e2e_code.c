/*
 * End-to-end: reproducibility. A run started in a dirty git repository
 * (test_git_helpers.h: every kind of change, unpushed commits, an ignored
 * file) logs to a real `wb server`; GET .../code and .../code/diff.patch
 * return the capture; `wb restore` (the real binary) rebuilds a working
 * tree identical to the original (same `git add -A && git write-tree`,
 * same bytes and exec bits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"
#include "wb.h"
#include "../unit/sdk/test_git_helpers.h"

extern char **environ;

static wbt_server srv;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0)
		return -1;
	if (wbt_mkdtemp(tmp, sizeof(tmp), "code") < 0)
		return -1;
	wbg_env();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(tmp);
	return 0;
}

/* Run `wb restore ARGS...` and return its exit status. */
static int wb_restore(const char *run, const char *dest)
{
	char *argv[] = {(char *)wbt_wb_bin(), "restore", (char *)run, (char *)dest, NULL};
	pid_t pid;
	int st;

	if (posix_spawn(&pid, wbt_wb_bin(), NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_e2e_code__capture_download_restore(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char work[512], dest[512], wbdir[512], cwd[4096], path[512], run[512], id[64];
	wb_run *r = NULL;
	wbt_response resp;
	cJSON *code;
	char *head;

	(void)state;
	wbg_dirty_repo(tmp);
	snprintf(work, sizeof work, "%s/work", tmp);
	snprintf(dest, sizeof dest, "%s/restored", tmp);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir", tmp);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(work), 0);
	o.project = "e2e";
	o.entity = "tester";
	o.dir = wbdir;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	assert_int_equal(chdir(cwd), 0);
	snprintf(id, sizeof id, "%s", wb_run_id(r));
	assert_int_equal(WB_LOG(r, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s/code", id);
	code = wbt_get_json(&srv, path);
	assert_non_null(code);
	head = wbg_out(work, "git rev-parse HEAD", NULL);
	head[strcspn(head, "\n")] = '\0';
	assert_string_equal(cJSON_GetObjectItem(code, "commit")->valuestring, head);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(code, "dirty")));
	cJSON_Delete(code);
	free(head);

	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s/code/diff.patch", id);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "text/x-diff");
	assert_non_null(memmem(resp.body, resp.len, "GIT binary patch", 16));
	assert_non_null(memmem(resp.body, resp.len, "untracked/deep/x.txt", 20));
	assert_null(memmem(resp.body, resp.len, "ignored.log", 11));
	wbt_response_free(&resp);
	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s/code/nothere.patch", id);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &resp), 0);
	assert_int_equal(resp.status, 404);
	wbt_response_free(&resp);

	snprintf(run, sizeof run, "tester/e2e/%s", id);
	assert_int_equal(wb_restore(run, dest), 0);
	wbg_assert_same_tree(work, dest);
	/* A second restore into the same, now full, directory is refused. */
	assert_int_not_equal(wb_restore(run, dest), 0);
	/* The run's page URL works as the run reference too. */
	snprintf(run, sizeof run, "%s/tester/e2e/runs/%s", srv.url, id);
	snprintf(dest, sizeof dest, "%s/restored-by-url", tmp);
	assert_int_equal(wb_restore(run, dest), 0);
	wbg_assert_same_tree(work, dest);
}

/* SYSTEM frames in a run log so far. */
static int system_frames(const char *log)
{
	static uint8_t buf[1 << 20];
	size_t len = 0, off = 0;
	int fd = open(log, O_RDONLY), n = 0;
	ssize_t got;

	if (fd < 0)
		return 0;
	while (len < sizeof buf && (got = read(fd, buf + len, sizeof buf - len)) > 0)
		len += (size_t)got;
	close(fd);
	for (;;) {
		wb__frame f;
		size_t used;
		if (wb__frame_decode(buf + off, len - off, &f, &used) != WB__FRAME_OK)
			break;
		n += f.type == WB__REC_SYSTEM;
		off += used;
	}
	return n;
}

/* A 20 ms sampler: "system/..." series on the server, x = ms since the run
 * started (non-decreasing), kept out of the summary. */
static void test_e2e_code__system_metrics(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char path[512], log[600], id[64];
	wb_run *r = NULL;
	cJSON *h, *run, *steps, *sum, *e;
	double deadline = wbt_now() + 20;
	int64_t prev = -1;
	int n = 0;

	(void)state;
	o.project = "e2e";
	o.entity = "tester";
	o.dir = tmp;
	o.disable_git = 1;
	o.system_sample_ms = 20;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, sizeof id, "%s", wb_run_id(r));
	snprintf(log, sizeof log, "%s/records.wbl", wb_run_dir(r));
	/* Poll the run log until the sampler has written three samples. */
	while (system_frames(log) < 3 && wbt_now() < deadline)
		assert_int_equal(WB_LOG(r, WB_STEP_AUTO, {"loss", 0.5}), WB_OK);
	assert_true(system_frames(log) >= 3);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s/history?key=system/proc.rss", id);
	h = wbt_get_json(&srv, path);
	assert_non_null(h);
	steps = cJSON_GetObjectItem(h, "step");
	cJSON_ArrayForEach(e, steps)
	{
		assert_true((int64_t)e->valuedouble >= prev);
		prev = (int64_t)e->valuedouble;
		n++;
	}
	assert_true(n >= 3);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "last"), 0)->valuedouble > 0);
	cJSON_Delete(h);
	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s/history?key=system/cpu", id);
	h = wbt_get_json(&srv, path);
	assert_non_null(h);
	cJSON_Delete(h);

	snprintf(path, sizeof path, "/api/v1/projects/tester/e2e/runs/%s", id);
	run = wbt_get_json(&srv, path);
	assert_non_null(run);
	sum = cJSON_GetObjectItem(run, "summary");
	assert_non_null(cJSON_GetObjectItem(sum, "loss"));
	cJSON_ArrayForEach(e, sum)
		assert_true(strncmp(e->string, "system/", 7) != 0);
	cJSON_Delete(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_code__capture_download_restore),
		cmocka_unit_test(test_e2e_code__system_metrics),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

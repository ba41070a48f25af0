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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"
#include "wb.h"
#include "test_git_helpers.h"


static wbt_server srv;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_tmp(&srv, "", tmp, sizeof(tmp), "code") < 0)
		return -1;
	wbg_env();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
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
	assert_int_equal(wbt_wbl("restore", run, dest, NULL), 0);
	wbg_assert_same_tree(work, dest);
	/* A second restore into the same, now full, directory is refused. */
	assert_int_not_equal(wbt_wbl("restore", run, dest, NULL), 0);
	/* The run's page URL works as the run reference too. */
	snprintf(run, sizeof run, "%s/tester/e2e/runs/%s", srv.url, id);
	snprintf(dest, sizeof dest, "%s/restored-by-url", tmp);
	assert_int_equal(wbt_wbl("restore", run, dest, NULL), 0);
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

/* A whole small file, NUL-terminated (malloc'd). */
static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strdup(buf);
}

/* Start a run in dir (WB_GIT_PATCH_MAX as set), finish it; its "tester/e2e/<id>" into run. */
static void run_in(const char *dir, size_t patch_max, char *run, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char cwd[4096], wbdir[600];
	wb_run *r = NULL;

	snprintf(wbdir, sizeof wbdir, "%s/wbdir", tmp);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	o.project = "e2e";
	o.entity = "tester";
	o.dir = wbdir;
	o.system_sample_ms = -1;
	o.git_patch_max = patch_max;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	assert_int_equal(chdir(cwd), 0);
	snprintf(run, cap, "tester/e2e/%s", wb_run_id(r));
	assert_int_equal(wb_finish(r, 0), WB_OK);
}

/*
 * The laptop is gone: a superproject with an unpushed commit, a dirty file
 * and a submodule checked out at another commit than its gitlink with its
 * own changes; its remote has an unrelated branch pointing at a missing
 * object. `wb restore` fails cleanly while the remote is away, then the
 * same command succeeds: HEAD rebuilt from the merge base (both commits
 * named), the submodule at its checked-out commit with its changes.
 */
static void test_e2e_code__restore_from_remote_with_submodule(void **state)
{
	char super[512], gone[512], dest[512], run[512], out[512], err[512], *o, *e, *sub_head, *commit, *head;
	char *t_orig, *t_dest, lib_gone[600], lib_dest[600];

	(void)state;
	snprintf(super, sizeof super, "%s/super", tmp);
	snprintf(gone, sizeof gone, "%s/super-gone", tmp);
	snprintf(dest, sizeof dest, "%s/restored-sm", tmp);
	snprintf(out, sizeof out, "%s/out.txt", tmp);
	snprintf(err, sizeof err, "%s/err.txt", tmp);
	snprintf(lib_gone, sizeof lib_gone, "%s/lib", gone);
	snprintf(lib_dest, sizeof lib_dest, "%s/lib", dest);
	assert_int_equal(
		wbg_sh(tmp, "git init -q -b main sub && cd sub && printf 'v1\\n' > s.txt && git add -A && "
			    "git commit -q -m s1 && printf 'v2\\n' > s.txt && git commit -q -am s2 && cd .. && "
			    "git init -q --bare -b main super.git && "
			    "mkdir super && cd super && git init -q -b main . && printf 'top\\n' > top.txt && "
			    "git remote add origin \"$(cd .. && pwd)/super.git\" && "
			    "git -c protocol.file.allow=always submodule add -q ../sub lib && git add -A && git commit -q -m c1 && "
			    "git push -q -u origin main && "
			    "printf '%%s refs/heads/broken\\n' 1234567890123456789012345678901234567890 >> ../super.git/packed-refs && "
			    "printf 'local\\n' > unpushed.txt && git add -A && git commit -q -m c2 && "
			    "printf 'dirty\\n' >> top.txt && cd lib && git checkout -q HEAD~1 && printf 'mine\\n' >> s.txt"),
		0);
	sub_head = wbg_out(super, "cd lib && git rev-parse HEAD", NULL);
	sub_head[strcspn(sub_head, "\n")] = '\0';
	commit = wbg_out(super, "git rev-parse HEAD", NULL);
	commit[strcspn(commit, "\n")] = '\0';
	/* WB_GIT_PATCH_MAX far above its maximum: clamped, the run is tracked */
	setenv("WB_GIT_PATCH_MAX", "100G", 1);
	run_in(super, 0, run, sizeof run);
	unsetenv("WB_GIT_PATCH_MAX");
	assert_int_equal(rename(super, gone), 0);

	/* The remote is away too: the restore fails and leaves nothing behind. */
	assert_int_equal(wbg_sh(tmp, "mv super.git super.git.away"), 0);
	assert_int_not_equal(wbt_wb((const char *[]){"restore", run, dest, NULL}, out, err), 0);
	e = slurp(err);
	if (!strstr(e, "is in none of the sources"))
		fail_msg("unexpected: %s", e);
	free(e);
	assert_int_equal(access(dest, F_OK), -1);
	assert_int_equal(wbg_sh(tmp, "mv super.git.away super.git"), 0);

	/* The same command again. */
	if (wbt_wb((const char *[]){"restore", run, dest, NULL}, out, err) != 0)
		fail_msg("wb restore failed: %s", slurp(err));
	head = wbg_out(dest, "git rev-parse HEAD", NULL);
	head[strcspn(head, "\n")] = '\0';
	assert_string_not_equal(head, commit);
	o = slurp(out);
	assert_non_null(strstr(o, head));
	assert_non_null(strstr(o, commit));
	assert_non_null(strstr(o, "1 submodule"));
	free(o);
	t_orig = wbg_out(gone, "git rev-parse HEAD^{tree}", NULL);
	t_dest = wbg_out(dest, "git rev-parse HEAD^{tree}", NULL);
	assert_string_equal(t_orig, t_dest);
	free(t_orig);
	free(t_dest);
	free(head);
	head = wbg_out(lib_dest, "git rev-parse HEAD", NULL);
	head[strcspn(head, "\n")] = '\0';
	assert_string_equal(head, sub_head);
	wbg_assert_same_tree(lib_gone, lib_dest);
	free(head);
	free(sub_head);
	free(commit);
}

/* Files the capture left out (over git_patch_max) are named by `wb restore`. */
static void test_e2e_code__restore_names_omitted(void **state)
{
	char w[512], dest[512], run[512], out[512], err[512], *e;

	(void)state;
	snprintf(w, sizeof w, "%s/w", tmp);
	snprintf(dest, sizeof dest, "%s/restored-w", tmp);
	snprintf(out, sizeof out, "%s/out.txt", tmp);
	snprintf(err, sizeof err, "%s/err.txt", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir w && cd w && git init -q -b main . && printf 'x\\n' > a.txt && "
				     "git add -A && git commit -q -m init && printf '%%05000d' 0 > too-big.txt && "
				     "printf 'small\\n' > small.txt"),
			 0);
	run_in(w, 2000, run, sizeof run);
	if (wbt_wb((const char *[]){"restore", run, dest, NULL}, out, err) != 0)
		fail_msg("wb restore failed: %s", slurp(err));
	e = slurp(err);
	assert_non_null(strstr(e, "too-big.txt"));
	free(e);
	assert_int_equal(access(w, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_code__capture_download_restore),
		cmocka_unit_test(test_e2e_code__system_metrics),
		cmocka_unit_test(test_e2e_code__restore_from_remote_with_submodule),
		cmocka_unit_test(test_e2e_code__restore_names_omitted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * End-to-end: a read-only data directory under a real server (needs root
 * for mount(2); skipped otherwise).
 *
 * The data directory is a tmpfs of its own. Linux refuses to remount a
 * file system read-only while a process has a file on it open for writing
 * (EBUSY: the server always holds wb.db so), so the directory turns
 * read-only between two runs of the server, as when a volume comes back
 * mounted ro: the server is stopped, the tmpfs remounted read-only, and the
 * server started again on it. Then:
 * - it starts, answers /healthz, and /readyz says 503 "read-only";
 * - reads are served: a run logged before comes back complete;
 * - writes get 503 unavailable "the data directory is read-only ...", and
 *   an online run keeps everything in its run log (wb_finish gives up);
 * - the tmpfs is remounted read-write under the live server: it takes
 *   writes again without a restart (/readyz 200), `wb sync` uploads the
 *   run, every point exactly once, and the earlier run still reads back.
 * Whatever happens, teardown kills the server and lazily unmounts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "series.h"

extern char **environ;

#define NSTEPS 5000

static char rundir_root[256];
static wbt_server srv;
static int mounted;

static int setup(void **state)
{
	(void)state;
	if (wbt_mkdtemp(rundir_root, sizeof(rundir_root), "runs") < 0)
		return -1;
	setenv("WB_DIR", rundir_root, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (srv.pid > 0)
		wbt_server_kill(&srv);
	if (mounted && umount2(srv.data, MNT_DETACH) == 0)
		mounted = 0;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(rundir_root);
	return 0;
}

/* status of one request with the admin key; the body in msg. */
static long request(const char *method, const char *path, const char *body, char *msg, size_t cap)
{
	wbt_response r;
	long st;
	const char *hdr[] = {"Content-Type: application/json", NULL};

	assert_int_equal(wbt_http(&srv, method, path, body, body ? strlen(body) : 0, body ? hdr : NULL, 1, &r), 0);
	st = r.status;
	if (msg)
		snprintf(msg, cap, "%s", r.body ? r.body : "");
	wbt_response_free(&r);
	return st;
}

static int log_run(const char *project, int timeout_ms, char *id, char *dir)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.entity = "ops";
	o.project = project;
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = timeout_ms;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wbt_log_series(run, 0, NSTEPS, 0), WB_OK);
	snprintf(id, 64, "%s", wb_run_id(run));
	snprintf(dir, 512, "%s", wb_run_dir(run));
	return wb_finish(run, 0);
}

static int server_log_has(const char *a, const char *b, const char *c)
{
	FILE *f = fopen(srv.log, "r");
	char line[4096];
	int seen = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && strstr(line, b) && strstr(line, c))
			seen = 1;
	fclose(f);
	return seen;
}

static void test_e2e_readonly__reads_served_writes_refused_then_recovered(void **state)
{
	char id_a[64], dir_a[512], id_b[64], dir_b[512], msg[2048], path[400];
	char *argv[4];
	double deadline;
	pid_t pid;
	int st, rc;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(wbt_server_start(&srv, ""), 0);
	assert_int_equal(wbt_server_stop(&srv), 0);
	if (mount("tmpfs", srv.data, "tmpfs", 0, "size=64m,mode=0700") != 0) {
		print_message("cannot mount tmpfs: skipping\n");
		skip();
	}
	mounted = 1;
	assert_int_equal(wbt_server_restart(&srv), 0);
	{
		/* A new database, so a new admin key in the settings file. */
		char line[512];
		FILE *f;
		snprintf(path, sizeof(path), "%s/settings", srv.config_dir);
		assert_non_null(f = fopen(path, "r"));
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "api_key=", 8) == 0) {
				line[strcspn(line, "\r\n")] = '\0';
				snprintf(srv.key, sizeof(srv.key), "%.120s", line + 8);
			}
		fclose(f);
		setenv("WB_API_KEY", srv.key, 1);
	}

	/* A run while the directory is writable. */
	assert_int_equal(log_run("before", 20000, id_a, dir_a), WB_OK);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);

	/* The volume comes back read-only; the server starts on it. */
	assert_int_equal(wbt_server_stop(&srv), 0);
	assert_int_equal(mount(NULL, srv.data, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_true(server_log_has("data directory is read-only", "serving reads", "wb.db"));

	assert_int_equal(request("GET", "/healthz", NULL, NULL, 0), 200);
	assert_int_equal(request("GET", "/readyz", NULL, msg, sizeof(msg)), 503);
	assert_non_null(strstr(msg, "read-only"));
	/* Reads: the earlier run, complete. */
	assert_int_equal(request("GET", "/api/v1/projects", NULL, NULL, 0), 200);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);
	/* Writes: 503 with a clear message. */
	assert_int_equal(request("PUT", "/api/v1/projects/ops/during/runs/direct", "{}", msg, sizeof(msg)), 503);
	print_message("a write on a read-only data directory: %s\n", msg);
	assert_non_null(strstr(msg, "\"code\":\"unavailable\""));
	assert_non_null(strstr(msg, "the data directory is read-only"));
	/* An online run cannot land; its run log keeps it. */
	rc = log_run("during", 3000, id_b, dir_b);
	print_message("wb_finish on a read-only server: %s\n", wb_strerror(rc));
	assert_int_not_equal(rc, WB_OK);
	snprintf(path, sizeof(path), "/api/v1/projects/ops/during/runs/%s", id_b);
	assert_int_equal(request("GET", path, NULL, NULL, 0), 404);

	/* Writable again, under the live server: it recovers by itself. */
	assert_int_equal(mount(NULL, srv.data, NULL, MS_REMOUNT, NULL), 0);
	deadline = wbt_now() + 30;
	while (request("PUT", "/api/v1/projects/ops/during/runs/direct", "{}", NULL, 0) != 200 && wbt_now() < deadline)
		usleep(20000); /* polling interval of a condition with a deadline */
	assert_int_equal(request("PUT", "/api/v1/projects/ops/during/runs/direct", "{}", NULL, 0), 200);
	assert_int_equal(request("GET", "/readyz", NULL, NULL, 0), 200);
	assert_true(server_log_has("data directory is writable again", "taking writes", "level=info"));

	argv[0] = (char *)wbt_wb_bin();
	argv[1] = "sync";
	argv[2] = dir_b;
	argv[3] = NULL;
	assert_int_equal(posix_spawn(&pid, wbt_wb_bin(), NULL, NULL, argv, environ), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "during", id_b, NSTEPS), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);

	/* A clean exit (under ASan: no leak). */
	assert_int_equal(wbt_server_stop(&srv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_readonly__reads_served_writes_refused_then_recovered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

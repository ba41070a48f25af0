/*
 * End-to-end: a disk that fills up under a real server (needs root for
 * mount(8); skipped otherwise).
 *
 * The server's data directory is a 1 MiB tmpfs. An online run logs more
 * than fits: the server answers 507 insufficient_storage with a clear
 * message and keeps serving reads and health checks; the SDK keeps
 * retrying until wb_finish's deadline and the run log keeps everything.
 * Then the tmpfs is grown (space returns): the same server takes writes
 * again and `wb sync` uploads the whole run, every point exactly once.
 * (A read-only data directory is test_e2e_readonly.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "series.h"

#define NSTEPS 300000

static wbt_server srv;
static int mounted;

static int teardown(void **state)
{
	(void)state;
	wbt_server_discard(&srv, &mounted);
	return wbt_runs_teardown(state);
}

static void test_e2e_diskfull__full_then_space_returns(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char cmd[1024], id[64], rundir[512];
	int rc;
	(void)state;

	if (geteuid() != 0)
		WBT_SKIP("needs root");
	assert_int_equal(wbt_server_start(&srv, ""), 0);
	assert_int_equal(wbt_server_stop(&srv), 0);
	/* A fresh, small file system as the data directory. */
	if (mount("tmpfs", srv.data, "tmpfs", 0, "size=1m,mode=0700") != 0) {
		WBT_SKIP("cannot mount tmpfs");
	}
	mounted = 1;
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_server_reread_key(&srv), 0); /* a new database, so a new admin key */

	o.entity = "ops";
	o.project = "full";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 3000;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wbt_log_series(run, 0, NSTEPS, 0), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	snprintf(rundir, sizeof(rundir), "%s", wb_run_dir(run));
	rc = wb_finish(run, 0);
	print_message("wb_finish on a full disk: %s\n", wb_strerror(rc));
	assert_int_not_equal(rc, WB_OK);

	/* Full: the run's batches got 507 with a clear message (the server's
	 * log has them); reads and health still work. */
	{
		FILE *f = fopen(srv.log, "r");
		char line[2048];
		int seen = 0;
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "status=507") && strstr(line, "code=insufficient_storage") &&
			    strstr(line, "the disk is full"))
				seen = 1;
		fclose(f);
		assert_true(seen);
	}
	assert_int_equal(wbt_status(&srv, "GET", "/healthz", NULL, NULL, 0), 200);
	assert_int_equal(wbt_status(&srv, "GET", "/api/v1/projects", NULL, NULL, 0), 200);
	snprintf(cmd, sizeof(cmd), "/api/v1/projects/ops/full/runs/%s", id);
	assert_int_equal(wbt_status(&srv, "GET", cmd, NULL, NULL, 0), 200);

	/* Space returns: the same server writes again; wb sync uploads the rest. */
	snprintf(cmd, sizeof(cmd), "mount -o remount,size=256m '%s'", srv.data);
	assert_int_equal(wbt_sh(cmd), 0);
	assert_int_equal(wbt_wbl("sync", rundir, NULL), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "full", id, NSTEPS), 0);

	assert_int_equal(wbt_status(&srv, "GET", "/readyz", NULL, NULL, 0), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_diskfull__full_then_space_returns),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, wbt_runs_setup, teardown));
}

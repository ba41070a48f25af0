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
 *
 * The other way a data directory turns read-only is under a live server:
 * ext4 mounted errors=remount-ro stops taking writes after a file-system
 * error. The second case is a 64 MiB ext4 image on a loop device, with the
 * error raised through the kernel's own /sys/fs/ext4/DEV/trigger_fs_error:
 * writes then get the same 503 "read-only" answer (not "i/o error"),
 * /readyz says so, reads go on. Such a file system is writable again only
 * after umount and fsck, so recovery is: stop the server, umount, e2fsck,
 * mount, start; then `wb sync` lands the run that was refused. (Skipped
 * without root, loop devices, mkfs.ext4 or trigger_fs_error.)
 *
 * Whatever happens, teardown kills the server and lazily unmounts.
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


#define NSTEPS 5000

static wbt_server srv;
static int mounted;

/* After each case, passed or failed: no server, nothing mounted, no temp root. */
static int teardown_case(void **state)
{
	(void)state;
	wbt_server_discard(&srv, &mounted);
	return 0;
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
	double deadline;
	int rc;
	(void)state;

	if (geteuid() != 0)
		WBT_SKIP("needs root");
	assert_int_equal(wbt_server_start(&srv, ""), 0);
	assert_int_equal(wbt_server_stop(&srv), 0);
	if (mount("tmpfs", srv.data, "tmpfs", 0, "size=64m,mode=0700") != 0) {
		WBT_SKIP("cannot mount tmpfs");
	}
	mounted = 1;
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_server_reread_key(&srv), 0); /* a new database, so a new admin key */

	/* A run while the directory is writable. */
	assert_int_equal(log_run("before", 20000, id_a, dir_a), WB_OK);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);

	/* The volume comes back read-only; the server starts on it. */
	assert_int_equal(wbt_server_stop(&srv), 0);
	assert_int_equal(mount(NULL, srv.data, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_true(server_log_has("data directory is read-only", "serving reads", "wb.db"));

	assert_int_equal(wbt_status(&srv, "GET", "/healthz", NULL, NULL, 0), 200);
	assert_int_equal(wbt_status(&srv, "GET", "/readyz", NULL, msg, sizeof(msg)), 503);
	assert_non_null(strstr(msg, "read-only"));
	/* Reads: the earlier run, complete. */
	assert_int_equal(wbt_status(&srv, "GET", "/api/v1/projects", NULL, NULL, 0), 200);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);
	/* Writes: 503 with a clear message. */
	assert_int_equal(wbt_status(&srv, "PUT", "/api/v1/projects/ops/during/runs/direct", "{}", msg, sizeof(msg)), 503);
	print_message("a write on a read-only data directory: %s\n", msg);
	assert_non_null(strstr(msg, "\"code\":\"unavailable\""));
	assert_non_null(strstr(msg, "the data directory is read-only"));
	/* An online run cannot land; its run log keeps it. */
	rc = log_run("during", 3000, id_b, dir_b);
	print_message("wb_finish on a read-only server: %s\n", wb_strerror(rc));
	assert_int_not_equal(rc, WB_OK);
	snprintf(path, sizeof(path), "/api/v1/projects/ops/during/runs/%s", id_b);
	assert_int_equal(wbt_status(&srv, "GET", path, NULL, NULL, 0), 404);

	/* Writable again, under the live server: it recovers by itself. */
	assert_int_equal(mount(NULL, srv.data, NULL, MS_REMOUNT, NULL), 0);
	deadline = wbt_now() + 30;
	while (wbt_status(&srv, "PUT", "/api/v1/projects/ops/during/runs/direct", "{}", NULL, 0) != 200 && wbt_now() < deadline)
		usleep(20000); /* polling interval of a condition with a deadline */
	assert_int_equal(wbt_status(&srv, "PUT", "/api/v1/projects/ops/during/runs/direct", "{}", NULL, 0), 200);
	assert_int_equal(wbt_status(&srv, "GET", "/readyz", NULL, NULL, 0), 200);
	assert_true(server_log_has("data directory is writable again", "taking writes", "level=info"));

	assert_int_equal(wbt_wbl("sync", dir_b, NULL), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "during", id_b, NSTEPS), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);

	/* A clean exit (under ASan: no leak). */
	assert_int_equal(wbt_server_stop(&srv), 0);
}

static void test_e2e_readonly__fs_turns_readonly_under_the_server(void **state)
{
	char img[400], cmd[1400], dev[64] = "", sysfs[200], msg[2048], id_a[64], dir_a[512], id_b[64], dir_b[512];
	FILE *f;
	int rc;
	(void)state;

	if (geteuid() != 0)
		WBT_SKIP("needs root");
	snprintf(img, sizeof(img), "%s/ext4.img", wbt_runs_root);
	snprintf(cmd, sizeof(cmd), "truncate -s 64M '%s' && mkfs.ext4 -q -F '%s' >/dev/null 2>&1", img, img);
	if (wbt_sh(cmd) != 0) {
		WBT_SKIP("no mkfs.ext4");
	}
	assert_int_equal(wbt_server_start(&srv, ""), 0);
	assert_int_equal(wbt_server_stop(&srv), 0);
	snprintf(cmd, sizeof(cmd), "mount -o loop,errors=remount-ro '%s' '%s' 2>/dev/null", img, srv.data);
	if (wbt_sh(cmd) != 0) {
		WBT_SKIP("cannot loop-mount ext4");
	}
	mounted = 1;
	snprintf(cmd, sizeof(cmd), "findmnt -n -o SOURCE '%s'", srv.data);
	assert_non_null(f = popen(cmd, "r"));
	if (fgets(cmd, sizeof(cmd), f) && strncmp(cmd, "/dev/", 5) == 0) {
		cmd[strcspn(cmd, "\n")] = '\0';
		snprintf(dev, sizeof(dev), "%.60s", cmd + 5);
	}
	pclose(f);
	snprintf(sysfs, sizeof(sysfs), "/sys/fs/ext4/%s/trigger_fs_error", dev);
	if (!dev[0] || access(sysfs, W_OK) != 0) {
		WBT_SKIP("no trigger_fs_error in /sys/fs/ext4");
	}
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_server_reread_key(&srv), 0);
	assert_int_equal(log_run("before", 20000, id_a, dir_a), WB_OK);

	/* A file-system error: ext4 turns read-only under the live server. */
	assert_non_null(f = fopen(sysfs, "w"));
	fputs("1\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(wbt_status(&srv, "PUT", "/api/v1/projects/ops/during/runs/direct", "{}", msg, sizeof(msg)), 503);
	print_message("a write after ext4 went read-only: %s\n", msg);
	assert_non_null(strstr(msg, "the data directory is read-only"));
	assert_int_equal(wbt_status(&srv, "GET", "/readyz", NULL, msg, sizeof(msg)), 503);
	assert_non_null(strstr(msg, "read-only"));
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);
	rc = log_run("during", 3000, id_b, dir_b);
	assert_int_not_equal(rc, WB_OK);

	/* The admin's way back: stop, umount, fsck, mount, start. */
	assert_int_equal(wbt_server_stop(&srv), 0);
	assert_int_equal(umount(srv.data), 0);
	mounted = 0;
	snprintf(cmd, sizeof(cmd), "e2fsck -fy '%s' >/dev/null 2>&1", img);
	rc = wbt_sh(cmd);
	assert_true(rc == 0 || rc == 1); /* 1: errors corrected */
	snprintf(cmd, sizeof(cmd), "mount -o loop,errors=remount-ro '%s' '%s'", img, srv.data);
	assert_int_equal(wbt_sh(cmd), 0);
	mounted = 1;
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_status(&srv, "GET", "/readyz", NULL, NULL, 0), 200);
	assert_int_equal(wbt_wbl("sync", dir_b, NULL), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "during", id_b, NSTEPS), 0);
	assert_int_equal(wbt_check_series(&srv, "ops", "before", id_a, NSTEPS), 0);
	assert_int_equal(wbt_server_stop(&srv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_readonly__reads_served_writes_refused_then_recovered, teardown_case),
		cmocka_unit_test_teardown(test_e2e_readonly__fs_turns_readonly_under_the_server, teardown_case),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, wbt_runs_setup, wbt_runs_teardown));
}

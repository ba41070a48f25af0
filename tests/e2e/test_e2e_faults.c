/*
 * End-to-end faults: a server killed with SIGKILL mid-run and restarted, a
 * trainer killed with SIGKILL mid-run and recovered by `wb sync`, and a
 * silent trainer marked crashed by missed heartbeats. Nothing lost, nothing
 * duplicated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "series.h"
#include "wire.h"

#define CRASH_AFTER_S 2.0

static wbt_server srv;
static char rundir_root[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "--crash-after 2") < 0)
		return -1;
	if (wbt_runs_dir(rundir_root, sizeof(rundir_root), "runs") < 0)
		return -1;
	setenv("WB_HEARTBEAT_MS", "200", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, rundir_root);
}

static const char *run_state(const char *id, char *buf, size_t cap)
{
	cJSON *j = wbt_get_run(&srv, "tester", "faults", id);
	snprintf(buf, cap, "%s", j ? cJSON_GetObjectItem(j, "state")->valuestring : "(none)");
	cJSON_Delete(j);
	return buf;
}

static int64_t run_last_seq(const char *id)
{
	cJSON *j = wbt_get_run(&srv, "tester", "faults", id);
	int64_t seq = j ? (int64_t)cJSON_GetObjectItem(j, "last_seq")->valuedouble : -1;
	cJSON_Delete(j);
	return seq;
}

/* Poll until the run's state is want, or timeout_s passes. */
static int wait_state(const char *id, const char *want, double timeout_s)
{
	char buf[32];
	double deadline = wbt_now() + timeout_s;
	while (wbt_now() < deadline) {
		if (strcmp(run_state(id, buf, sizeof(buf)), want) == 0)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "state of %s is %s, want %s\n", id, run_state(id, buf, sizeof(buf)), want);
	return -1;
}

static void test_e2e_faults__server_sigkill_mid_run_loses_nothing(void **state)
{
	const int64_t n = 200000;
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char id[64];
	double deadline;

	(void)state;
	o.project = "faults";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 120000;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	assert_int_equal(wbt_log_series(run, 0, n / 2, 0), WB_OK);
	/* kill it only once it has applied some records, so the kill lands mid-stream */
	deadline = wbt_now() + 30;
	while (run_last_seq(id) <= 1 && wbt_now() < deadline)
		usleep(10000);
	assert_true(run_last_seq(id) > 1);
	wbt_server_kill(&srv);
	assert_int_equal(wbt_log_series(run, n / 2, n, 0), WB_OK);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wbt_check_series(&srv, "tester", "faults", id, n), 0);
	assert_int_equal(wait_state(id, "finished", 5), 0);
}

/* Child: an online trainer that logs until killed, reporting (step, time)
 * every 100 steps on fd. */
static void trainer_child(int fd)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char line[128];

	o.project = "faults";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	if (wb_init(&run, &o) != WB_OK)
		_exit(3);
	snprintf(line, sizeof(line), "id %s %s\n", wb_run_id(run), wb_run_dir(run));
	if (write(fd, line, strlen(line)) < 0)
		_exit(4);
	for (int64_t s = 0;; s++) {
		if (wbt_log_series(run, s, s + 1, 1) != WB_OK)
			_exit(5);
		if (s % 100 == 99) {
			snprintf(line, sizeof(line), "step %lld %.6f\n", (long long)s, wbt_now());
			if (write(fd, line, strlen(line)) < 0)
				_exit(6);
			usleep(5000); /* a training step's pace, not synchronisation */
		}
	}
}

/* Steps of every METRICS record in a run log, checked contiguous from 0. */
static int64_t log_steps(const char *dir)
{
	char path[600];
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int64_t next = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/records.wbl", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	for (;;) {
		wb__frame f;
		size_t used;
		wb__metrics_reader r;
		if (wb__frame_decode(buf + off, (size_t)st.st_size - off, &f, &used) != WB__FRAME_OK)
			break;
		off += used;
		if (f.type != WB__REC_METRICS)
			continue;
		assert_int_equal(wb__metrics_begin(&r, f.payload, f.len), 0);
		assert_int_equal(r.step, next);
		next++;
	}
	free(buf);
	return next;
}

static void test_e2e_faults__trainer_sigkill_then_sync_recovers_log(void **state)
{
	int p[2];
	pid_t pid;
	FILE *in;
	char line[700], id[64] = "", dir[600] = "";
	long long reported_before_bound = -1, *rep_step = NULL;
	double *rep_time = NULL;
	size_t nrep = 0, caprep = 0;
	double kill_at;
	int64_t in_log;
	int status;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		trainer_child(p[1]);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	assert_int_equal(sscanf(line, "id %63s %599s", id, dir), 2);
	/* let it run for a second, until the server has some of it; remember every report */
	while (fgets(line, sizeof(line), in)) {
		long long s;
		double t;
		if (sscanf(line, "step %lld %lf", &s, &t) != 2)
			continue;
		if (nrep == caprep) {
			caprep = caprep ? caprep * 2 : 1024;
			rep_step = realloc(rep_step, caprep * sizeof(*rep_step));
			rep_time = realloc(rep_time, caprep * sizeof(*rep_time));
			assert_true(rep_step && rep_time);
		}
		rep_step[nrep] = s;
		rep_time[nrep++] = t;
		if (t - rep_time[0] > 1.0 && run_last_seq(id) > 100)
			break;
	}
	kill(pid, SIGKILL);
	kill_at = wbt_now();
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	fclose(in); /* reports still in the pipe are newer than those read */
	/* everything the trainer reported well before the kill must be in its run
	 * log: the log is written every 50 ms (documented bound 100 ms; 400 ms of
	 * slack here for a loaded CI machine) */
	for (size_t i = 0; i < nrep; i++)
		if (rep_time[i] < kill_at - 0.5)
			reported_before_bound = rep_step[i];
	free(rep_step);
	free(rep_time);
	assert_true(reported_before_bound >= 99);
	in_log = log_steps(dir);
	assert_true(in_log > reported_before_bound);

	/* wb sync uploads every record of the log and marks the run crashed */
	{
		pid_t sp;
		int st;
		fflush(NULL);
		sp = fork();
		if (sp == 0) {
			execl(wbt_wb_bin(), wbt_wb_bin(), "sync", dir, (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(sp, &st, 0), sp);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(wbt_check_series(&srv, "tester", "faults", id, in_log), 0);
	assert_int_equal(wait_state(id, "crashed", 1), 0);
}

static void test_e2e_faults__silent_trainer_marked_crashed(void **state)
{
	int p[2];
	pid_t pid;
	char line[256] = "", id[64] = "", dir[128];
	char buf[32];
	double until;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		close(p[0]);
		o.project = "faults";
		o.entity = "tester";
		o.mode = WB_MODE_ONLINE;
		if (wb_init(&run, &o) != WB_OK || WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0}) != WB_OK)
			_exit(3);
		snprintf(line, sizeof(line), "id %s x\n", wb_run_id(run));
		if (write(p[1], line, strlen(line)) < 0)
			_exit(4);
		for (;;)
			pause(); /* alive, logging nothing: heartbeats keep it running */
	}
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = 0;
	close(p[0]);
	assert_int_equal(sscanf(line, "id %63s %127s", id, dir), 2);
	assert_int_equal(wait_state(id, "running", 10), 0);
	/* alive but idle for longer than --crash-after: still running */
	until = wbt_now() + CRASH_AFTER_S + 1.5;
	while (wbt_now() < until) {
		assert_string_equal(run_state(id, buf, sizeof(buf)), "running");
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(wait_state(id, "crashed", CRASH_AFTER_S + 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_faults__server_sigkill_mid_run_loses_nothing),
	    cmocka_unit_test(test_e2e_faults__trainer_sigkill_then_sync_recovers_log),
	    cmocka_unit_test(test_e2e_faults__silent_trainer_marked_crashed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

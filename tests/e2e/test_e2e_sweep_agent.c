/*
 * End-to-end sweeps driven by real agents: a real `wb server`, `wb sweep`
 * and `wb agent` processes, and a real trainer linking libwb
 * (sweep_trainer.c) that joins the sweep by itself.
 *
 *   - an agent runs a grid's trials one by one: every trial finished with
 *     its metric, the trainer saw the sweep's values over its own defaults
 *     and got them as --key=value, the run names its sweep, no key on any
 *     command line; a bad spec is refused with the path of the bad field;
 *   - --parallel 4 runs trials at once;
 *   - 16 agents on one sweep of 500 trials: none duplicated, none lost;
 *   - an agent SIGKILLed mid-trial: its trial crashes once its lease runs
 *     out, and its parameters go once to another agent;
 *   - canceling a sweep stops its running trial; SIGTERM to an agent stops
 *     its trial, reports it stopped and exits 128 + 15;
 *   - OpenMPI (skipped, 77, without mpirun): `mpirun -np 4 wb agent --count
 *     1` gives 4 distinct trials, and `wb agent -- mpirun -np 2 trainer` is
 *     one trial whose ranks are one group and whose metric is rank 0's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "harness.h"

#ifndef WBT_SWEEP_TRAINER
#error "WBT_SWEEP_TRAINER must name the sweep trainer"
#endif

#define ENT "tester"

static wbt_server srv;
static char root[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(root, sizeof(root), "sweeps") < 0)
		return -1;
	setenv("WB_ENTITY", ENT, 1);
	setenv("WB_HEARTBEAT_MS", "200", 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "off", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	wbt_rm_rf(root);
	return 0;
}

/* A fresh directory under root for one test's trainer files and runs (WB_DIR). */
static void test_dir(const char *tag, char *out, size_t cap)
{
	char runs[600];
	snprintf(out, cap, "%s/%s", root, tag);
	assert_int_equal(mkdir(out, 0755), 0);
	snprintf(runs, sizeof(runs), "%s/runs", out);
	setenv("WB_DIR", runs, 1);
}

/* POST a JSON spec to project; the new sweep's id into id. */
static void create_sweep(const char *project, const char *spec, char *id, size_t cap)
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	char path[256];
	wbt_response r;
	cJSON *j;

	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/sweeps", project);
	assert_int_equal(wbt_http(&srv, "POST", path, spec, strlen(spec), hdr, 1, &r), 0);
	if (r.status != 201)
		print_message("POST sweeps: %ld %s\n", r.status, r.body);
	assert_int_equal(r.status, 201);
	j = cJSON_Parse(r.body);
	assert_non_null(j);
	snprintf(id, cap, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
	cJSON_Delete(j);
	wbt_response_free(&r);
}

static cJSON *get_sweep(const char *project, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/sweeps/%s", project, id);
	return wbt_get_json(&srv, path);
}

static cJSON *get_trials(const char *project, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/sweeps/%s/trials?limit=1000", project, id);
	return wbt_get_json(&srv, path);
}

static cJSON *get_run(const char *project, const char *run_id)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/runs/%s", project, run_id);
	return wbt_get_json(&srv, path);
}

static int count_of(const cJSON *sweep, const char *state)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(sweep, "counts"), state);
	return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* Start `wb ARGS...` (NULL-terminated) in the background, its output into log; its pid. */
static pid_t spawn_wb(const char *log, ...)
{
	const char *argv[64];
	int argc = 0;
	va_list ap;
	pid_t pid;

	argv[argc++] = wbt_wb_bin();
	va_start(ap, log);
	for (const char *a; (a = va_arg(ap, const char *)) && argc < 63;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* What the trainer wrote for a trial (sweep_trainer.c): its lines, NULL when not there (yet). */
static char *trial_file(const char *dir, long num, const char *suffix)
{
	char path[700];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/trial-%ld%s.txt", dir, num, suffix);
	if (!(f = fopen(path, "r")))
		return NULL;
	buf = calloc(1, 65536);
	n = (long)fread(buf, 1, 65535, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void dump_log(const char *log)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "tail -30 %s >&2", log);
	wbt_sh(cmd);
}

/* The expected metric of sweep_trainer for x, y. */
static double loss_of(double x, double y)
{
	return (x - 0.3) * (x - 0.3) + (y - 2) * (y - 2) / 100;
}

static void test_e2e_sweep__agent_runs_grid(void **state)
{
	char dir[400], spec_path[600], out[600], err[600], log[600], id[64], ref[128], yaml[2048], *key;
	cJSON *s, *t, *tr;
	int n = 0;

	(void)state;
	test_dir("grid", dir, sizeof(dir));
	/* the spec in YAML, as people write it, through `wb sweep create` */
	snprintf(spec_path, sizeof(spec_path), "%s/spec.yaml", dir);
	snprintf(yaml, sizeof(yaml),
		 "method: grid\n"
		 "name: grid of x and y\n"
		 "metric:\n  name: loss\n  goal: minimize\n"
		 "program: %s\n"
		 "command: [\"${program}\", \"%s\", \"0\", \"${args}\"]\n"
		 "parameters:\n  x:\n    values: [0.1, 0.3, 0.5]\n  y:\n    values: [1, 2]\n",
		 WBT_SWEEP_TRAINER, dir);
	{
		FILE *f = fopen(spec_path, "w");
		assert_non_null(f);
		fputs(yaml, f);
		fclose(f);
	}
	snprintf(out, sizeof(out), "%s/create.out", dir);
	snprintf(err, sizeof(err), "%s/create.err", dir);
	{
		const char *args[] = {"sweep", "create", spec_path, "--project", ENT "/grid", NULL};
		assert_int_equal(wbt_wb(args, out, err), 0);
	}
	{
		FILE *f = fopen(out, "r");
		assert_non_null(f);
		assert_non_null(fgets(id, sizeof(id), f));
		fclose(f);
		id[strcspn(id, "\n")] = '\0';
		assert_int_equal(strlen(id), 8);
	}
	snprintf(ref, sizeof(ref), ENT "/grid/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	{
		pid_t a = spawn_wb(log, "agent", ref, (const char *)NULL);
		int rc = wait_exit(a);
		if (rc != 0)
			dump_log(log);
		assert_int_equal(rc, 0);
	}
	s = get_sweep("grid", id);
	assert_non_null(s);
	assert_string_equal(cJSON_GetObjectItem(s, "state")->valuestring, "finished");
	assert_int_equal(count_of(s, "finished"), 6);
	assert_int_equal(count_of(s, "issued"), 6);
	/* the best is x = 0.3, y = 2: loss 0 */
	assert_true(cJSON_IsObject(cJSON_GetObjectItem(s, "best")));
	assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "best"), "value")->valuedouble) < 1e-12);
	cJSON_Delete(s);

	key = srv.key;
	t = get_trials("grid", id);
	assert_non_null(t);
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		const cJSON *p = cJSON_GetObjectItem(tr, "params");
		double x = cJSON_GetObjectItem(p, "x")->valuedouble, y = cJSON_GetObjectItem(p, "y")->valuedouble;
		long num = (long)cJSON_GetObjectItem(tr, "num")->valuedouble;
		const char *run_id = cJSON_GetObjectItem(tr, "run_id")->valuestring;
		char *f = trial_file(dir, num, ""), want[64], line_x[64], line_y[64];
		cJSON *run, *sw;

		assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
		assert_int_equal(cJSON_GetObjectItem(tr, "exit_code")->valueint, 0);
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(tr, "reissue_of")));
		assert_true(fabs(cJSON_GetObjectItem(tr, "value")->valuedouble - loss_of(x, y)) < 1e-12);
		assert_string_equal(cJSON_GetObjectItem(tr, "run_state")->valuestring, "finished");
		/* the trainer ran with the sweep's values over its defaults (5, 50), as its run and as --k=v */
		assert_non_null(f);
		snprintf(want, sizeof(want), "\n%s\n%.17g\n%.17g\n", run_id, x, y);
		assert_non_null(strstr(f, want));
		snprintf(line_x, sizeof(line_x), "\n--x=%s\n", x == 0.1 ? "0.1" : x == 0.3 ? "0.3" : "0.5");
		snprintf(line_y, sizeof(line_y), "\n--y=%d\n", (int)y);
		assert_non_null(strstr(f, line_x));
		assert_non_null(strstr(f, line_y));
		assert_null(strstr(f, key)); /* no key on the trainer's command line */
		free(f);
		run = get_run("grid", run_id);
		assert_non_null(run);
		sw = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "sweep");
		assert_string_equal(cJSON_GetObjectItem(sw, "id")->valuestring, id);
		assert_int_equal(cJSON_GetObjectItem(sw, "trial")->valueint, (int)num);
		assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "config"), "x")->valuedouble == x);
		cJSON_Delete(run);
		n++;
	}
	assert_int_equal(n, 6);
	cJSON_Delete(t);

	/* wb sweep show says so; a bad spec is refused with the path of its bad field */
	{
		const char *args[] = {"sweep", "show", ref, NULL};
		char *text;
		FILE *f;
		assert_int_equal(wbt_wb(args, out, err), 0);
		f = fopen(out, "r");
		assert_non_null(f);
		text = calloc(1, 8192);
		assert_true(fread(text, 1, 8191, f) > 0);
		fclose(f);
		assert_non_null(strstr(text, "finished"));
		free(text);
	}
	{
		const char *args[] = {"sweep", "create", spec_path, "--project", ENT "/grid", NULL};
		char text[4096] = "";
		FILE *f = fopen(spec_path, "w");
		assert_non_null(f);
		fputs("{\"method\":\"grid\",\"parameters\":{\"lr\":{\"min\":0.1,\"max\":0.01}}}", f);
		fclose(f);
		assert_int_not_equal(wbt_wb(args, out, err), 0);
		f = fopen(err, "r");
		assert_non_null(f);
		assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
		fclose(f);
		assert_non_null(strstr(text, "$.parameters.lr"));
	}
}

/* --parallel 4: trials run at the same time (their start and end times overlap). */
static void test_e2e_sweep__parallel(void **state)
{
	char dir[400], log[600], id[64], ref[128], spec[1024];
	double st[16], fin[16];
	int n = 0, most = 0;
	cJSON *t, *tr, *s;

	(void)state;
	test_dir("parallel", dir, sizeof(dir));
	snprintf(spec, sizeof(spec),
		 "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"run_cap\":8,"
		 "\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":4.0}}}");
	create_sweep("par", spec, id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/par/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	{
		pid_t a = spawn_wb(log, "agent", ref, "--parallel", "4", "--", WBT_SWEEP_TRAINER, dir, "1500",
				   (const char *)NULL);
		int rc = wait_exit(a);
		if (rc != 0)
			dump_log(log);
		assert_int_equal(rc, 0);
	}
	s = get_sweep("par", id);
	assert_int_equal(count_of(s, "finished"), 8);
	assert_string_equal(cJSON_GetObjectItem(s, "state")->valuestring, "finished");
	cJSON_Delete(s);
	t = get_trials("par", id);
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		const cJSON *p = cJSON_GetObjectItem(tr, "params");
		assert_true(n < 16);
		assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
		assert_true(fabs(cJSON_GetObjectItem(tr, "value")->valuedouble -
				 loss_of(cJSON_GetObjectItem(p, "x")->valuedouble, cJSON_GetObjectItem(p, "y")->valuedouble)) <
			    1e-9);
		st[n] = cJSON_GetObjectItem(tr, "started_at")->valuedouble;
		fin[n] = cJSON_GetObjectItem(tr, "finished_at")->valuedouble;
		n++;
	}
	cJSON_Delete(t);
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++) { /* how many ran while trial i started */
		int c = 0;
		for (int k = 0; k < n; k++)
			c += st[k] <= st[i] && fin[k] > st[i];
		most = c > most ? c : most;
	}
	print_message("--parallel 4: at most %d trials at once\n", most);
	assert_true(most >= 2 && most <= 4);
}

/* 16 agents on one grid of 500 points (a trivial program): every point once, none lost. */
static void test_e2e_sweep__sixteen_agents(void **state)
{
	char dir[400], log[600], id[64], ref[128], spec[2048], *p;
	static unsigned char seen[25][20];
	pid_t agents[16];
	double t0;
	int n = 0, bad = 0;
	cJSON *t, *tr, *s;

	(void)state;
	test_dir("many", dir, sizeof(dir));
	p = spec + snprintf(spec, sizeof(spec), "{\"method\":\"grid\",\"parameters\":{\"a\":{\"values\":[");
	for (int i = 0; i < 25; i++)
		p += snprintf(p, 16, "%s%d", i ? "," : "", i);
	p += snprintf(p, 64, "]},\"b\":{\"values\":[");
	for (int i = 0; i < 20; i++)
		p += snprintf(p, 16, "%s%d", i ? "," : "", i);
	snprintf(p, 16, "]}}}");
	create_sweep("many", spec, id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/many/%s", id);
	snprintf(log, sizeof(log), "%s/agents.log", dir);
	t0 = wbt_now();
	for (int i = 0; i < 16; i++)
		agents[i] = spawn_wb(log, "agent", ref, "--", "true", (const char *)NULL);
	for (int i = 0; i < 16; i++)
		bad += wait_exit(agents[i]) != 0;
	print_message("16 agents, 500 trials of `true`: %.1f s\n", wbt_now() - t0);
	if (bad)
		dump_log(log);
	assert_int_equal(bad, 0);
	s = get_sweep("many", id);
	assert_string_equal(cJSON_GetObjectItem(s, "state")->valuestring, "finished");
	assert_int_equal(count_of(s, "issued"), 500);
	assert_int_equal(count_of(s, "finished"), 500);
	cJSON_Delete(s);
	t = get_trials("many", id);
	assert_int_equal(cJSON_GetObjectItem(t, "total")->valueint, 500);
	memset(seen, 0, sizeof(seen));
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		const cJSON *pr = cJSON_GetObjectItem(tr, "params");
		int a = cJSON_GetObjectItem(pr, "a")->valueint, b = cJSON_GetObjectItem(pr, "b")->valueint;
		assert_true(a >= 0 && a < 25 && b >= 0 && b < 20);
		assert_int_equal(seen[a][b], 0); /* never handed out twice */
		seen[a][b] = 1;
		assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(tr, "reissue_of")));
		n++;
	}
	assert_int_equal(n, 500);
	cJSON_Delete(t);
}

static const char *trial_state(const char *project, const char *id, int num, char *buf, size_t cap)
{
	cJSON *t = get_trials(project, id), *tr;
	snprintf(buf, cap, "(none)");
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		if (cJSON_GetObjectItem(tr, "num")->valueint == num)
			snprintf(buf, cap, "%s", cJSON_GetObjectItem(tr, "state")->valuestring);
	}
	cJSON_Delete(t);
	return buf;
}

/* An agent killed with SIGKILL mid-trial: the trial crashes after its lease,
 * its trainer does not outlive the agent, and the parameters go once to
 * another agent. */
static void test_e2e_sweep__killed_agent_reissued(void **state)
{
	char dir[400], log[600], id[64], ref[128], buf[64], *f;
	pid_t a, trainer;
	double deadline;
	cJSON *t, *tr, *s;
	int n = 0, reissued = 0;

	(void)state;
	test_dir("killed", dir, sizeof(dir));
	create_sweep("killed",
		     "{\"method\":\"grid\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"lease_seconds\":2,"
		     "\"reissue\":1,\"parameters\":{\"x\":{\"value\":0.7},\"y\":{\"value\":3}}}",
		     id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/killed/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	a = spawn_wb(log, "agent", ref, "--", WBT_SWEEP_TRAINER, dir, "600000", (const char *)NULL);
	deadline = wbt_now() + 60;
	while (!(f = trial_file(dir, 0, "")) && wbt_now() < deadline)
		usleep(20000);
	assert_non_null(f);
	trainer = (pid_t)atol(f);
	free(f);
	assert_int_equal(kill(a, SIGKILL), 0);
	assert_int_equal(waitpid(a, NULL, 0), a);
	/* the trainer goes with its agent (it is not left training for nobody) */
	deadline = wbt_now() + 30;
	while (kill(trainer, 0) == 0 && wbt_now() < deadline)
		usleep(20000);
	assert_int_not_equal(kill(trainer, 0), 0);
	/* the lease (2 s) runs out: crashed */
	deadline = wbt_now() + 60;
	while (strcmp(trial_state("killed", id, 0, buf, sizeof(buf)), "crashed") != 0 && wbt_now() < deadline)
		usleep(50000);
	assert_string_equal(buf, "crashed");
	/* another agent gets the same parameters, once */
	{
		pid_t b = spawn_wb(log, "agent", ref, "--", WBT_SWEEP_TRAINER, dir, "0", (const char *)NULL);
		int rc = wait_exit(b);
		if (rc != 0)
			dump_log(log);
		assert_int_equal(rc, 0);
	}
	t = get_trials("killed", id);
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		const cJSON *p = cJSON_GetObjectItem(tr, "params"), *ro = cJSON_GetObjectItem(tr, "reissue_of");
		assert_true(cJSON_GetObjectItem(p, "x")->valuedouble == 0.7);
		assert_true(cJSON_GetObjectItem(p, "y")->valuedouble == 3);
		if (cJSON_IsNumber(ro)) {
			assert_int_equal(ro->valueint, 0);
			assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
			assert_true(fabs(cJSON_GetObjectItem(tr, "value")->valuedouble - loss_of(0.7, 3)) < 1e-12);
			reissued++;
		}
		n++;
	}
	cJSON_Delete(t);
	assert_int_equal(n, 2);
	assert_int_equal(reissued, 1);
	s = get_sweep("killed", id);
	assert_string_equal(cJSON_GetObjectItem(s, "state")->valuestring, "finished");
	assert_int_equal(count_of(s, "crashed"), 1);
	cJSON_Delete(s);
}

/* Canceling a sweep stops the trial that runs (SIGTERM through the heartbeat's answer). */
static void test_e2e_sweep__cancel_stops_trial(void **state)
{
	char dir[400], log[600], id[64], ref[128], path[256], buf[64], *f;
	pid_t a;
	double deadline;
	int rc;

	(void)state;
	test_dir("cancel", dir, sizeof(dir));
	create_sweep("cancel",
		     "{\"method\":\"random\",\"lease_seconds\":3,\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0}}}",
		     id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/cancel/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	a = spawn_wb(log, "agent", ref, "--", WBT_SWEEP_TRAINER, dir, "600000", (const char *)NULL);
	deadline = wbt_now() + 60;
	while (!(f = trial_file(dir, 0, "")) && wbt_now() < deadline)
		usleep(20000);
	assert_non_null(f);
	free(f);
	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/cancel/sweeps/%s", id);
	assert_int_equal(wbt_status(&srv, "PATCH", path, "{\"state\":\"canceled\"}", NULL, 0), 200);
	rc = wait_exit(a); /* the agent stops the trial, reports it, and has nothing more to run */
	if (rc != 0)
		dump_log(log);
	assert_int_equal(rc, 0);
	assert_string_equal(trial_state("cancel", id, 0, buf, sizeof(buf)), "stopped");
}

/* SIGTERM to the agent: passed on to the trial, which is reported stopped; the agent exits 143. */
static void test_e2e_sweep__signal_stops_agent(void **state)
{
	char dir[400], log[600], id[64], ref[128], buf[64], *f;
	pid_t a, trainer;
	double deadline;
	cJSON *t, *tr;
	int rc;

	(void)state;
	test_dir("signal", dir, sizeof(dir));
	create_sweep("signal",
		     "{\"method\":\"random\",\"run_cap\":5,\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0}}}", id,
		     sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/signal/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	a = spawn_wb(log, "agent", ref, "--", WBT_SWEEP_TRAINER, dir, "600000", (const char *)NULL);
	deadline = wbt_now() + 60;
	while (!(f = trial_file(dir, 0, "")) && wbt_now() < deadline)
		usleep(20000);
	assert_non_null(f);
	trainer = (pid_t)atol(f);
	free(f);
	assert_int_equal(kill(a, SIGTERM), 0);
	rc = wait_exit(a);
	if (rc != 128 + SIGTERM)
		dump_log(log);
	assert_int_equal(rc, 128 + SIGTERM);
	assert_int_not_equal(kill(trainer, 0), 0); /* reaped by the agent before it exited */
	assert_string_equal(trial_state("signal", id, 0, buf, sizeof(buf)), "stopped");
	t = get_trials("signal", id);
	tr = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "trials"), 0);
	assert_int_equal(cJSON_GetObjectItem(tr, "exit_code")->valueint, 128 + SIGTERM);
	assert_int_equal(cJSON_GetObjectItem(t, "total")->valueint, 1); /* it asked for no other trial */
	cJSON_Delete(t);
}

static int have_mpirun(void)
{
	return wbt_sh("command -v mpirun >/dev/null 2>&1") == 0;
}

/* Leak checking off for OpenMPI's own allocations (as test_e2e_mpi does). */
static void mpi_env(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	if (asan && strstr(asan, "detect_leaks=0"))
		return;
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
}

/* mpirun -np 4 wb agent --count 1: each rank an agent, 4 distinct trials, none of them a rank. */
static void test_e2e_sweep__mpirun_agents(void **state)
{
	char dir[400], log[600], id[64], ref[128], np[] = "4";
	cJSON *t, *tr;
	int n = 0, seen[4] = {0};

	(void)state;
	if (!have_mpirun()) {
		WBT_SKIP("no mpirun (Debian's openmpi-bin)");
		return;
	}
	mpi_env();
	test_dir("mpiagents", dir, sizeof(dir));
	create_sweep("mpiagents",
		     "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"run_cap\":4,"
		     "\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":4.0}}}",
		     id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/mpiagents/%s", id);
	snprintf(log, sizeof(log), "%s/mpirun.log", dir);
	{
		const char *argv[] = {"mpirun", "--oversubscribe", "-np", np, wbt_wb_bin(), "agent", ref, "--count", "1",
				      "--", WBT_SWEEP_TRAINER, dir, "0", NULL};
		pid_t pid;
		int rc;
		fflush(NULL);
		if ((pid = fork()) == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			dup2(fd, 1);
			dup2(fd, 2);
			execvp("mpirun", (char *const *)argv);
			_exit(127);
		}
		rc = wait_exit(pid);
		if (rc != 0)
			dump_log(log);
		assert_int_equal(rc, 0);
	}
	t = get_trials("mpiagents", id);
	cJSON_ArrayForEach(tr, cJSON_GetObjectItem(t, "trials"))
	{
		int num = cJSON_GetObjectItem(tr, "num")->valueint;
		cJSON *run;
		char *f;
		assert_true(num >= 0 && num < 4);
		seen[num]++;
		assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
		/* the trainer saw no rank of the agents' mpirun: a run of its own, not rank r of a group */
		assert_non_null(f = trial_file(dir, num, ""));
		free(f);
		run = get_run("mpiagents", cJSON_GetObjectItem(tr, "run_id")->valuestring);
		assert_non_null(run);
		assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "distributed"));
		cJSON_Delete(run);
		n++;
	}
	cJSON_Delete(t);
	assert_int_equal(n, 4);
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
}

/* wb agent -- mpirun -np 2 trainer: one trial, its ranks one group named by
 * the trial's run id (rank 0's run), its metric rank 0's. */
static void test_e2e_sweep__distributed_trial(void **state)
{
	char dir[400], log[600], id[64], ref[128], path[256], run_id[128], rank1[160];
	cJSON *t, *tr, *g, *rank;
	int ranks = 0;
	double x, y;

	(void)state;
	if (!have_mpirun()) {
		WBT_SKIP("no mpirun (Debian's openmpi-bin)");
		return;
	}
	mpi_env();
	test_dir("distrial", dir, sizeof(dir));
	create_sweep("distrial",
		     "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"run_cap\":1,"
		     "\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":4.0}}}",
		     id, sizeof(id));
	snprintf(ref, sizeof(ref), ENT "/distrial/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	{
		pid_t a = spawn_wb(log, "agent", ref, "--count", "1", "--", "mpirun", "--oversubscribe", "-np", "2",
				   WBT_SWEEP_TRAINER, dir, "0", (const char *)NULL);
		int rc = wait_exit(a);
		if (rc != 0)
			dump_log(log);
		assert_int_equal(rc, 0);
	}
	t = get_trials("distrial", id);
	tr = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "trials"), 0);
	assert_non_null(tr);
	assert_int_equal(cJSON_GetObjectItem(t, "total")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(tr, "state")->valuestring, "finished");
	snprintf(run_id, sizeof(run_id), "%s", cJSON_GetObjectItem(tr, "run_id")->valuestring);
	snprintf(rank1, sizeof(rank1), "%s-rank1", run_id);
	x = cJSON_GetObjectItem(cJSON_GetObjectItem(tr, "params"), "x")->valuedouble;
	y = cJSON_GetObjectItem(cJSON_GetObjectItem(tr, "params"), "y")->valuedouble;
	/* rank 0's metric, not rank 1's (which is 100 more) */
	assert_true(fabs(cJSON_GetObjectItem(tr, "value")->valuedouble - loss_of(x, y)) < 1e-12);
	cJSON_Delete(t);
	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/distrial/groups/%s", run_id);
	g = wbt_get_json(&srv, path);
	assert_non_null(g);
	cJSON_ArrayForEach(rank, cJSON_GetObjectItem(g, "ranks"))
	{
		int r = cJSON_GetObjectItem(rank, "rank")->valueint;
		const char *rid = cJSON_GetObjectItem(rank, "id")->valuestring;
		assert_string_equal(rid, r == 0 ? run_id : rank1);
		assert_string_equal(cJSON_GetObjectItem(rank, "state")->valuestring, "finished");
		ranks++;
	}
	cJSON_Delete(g);
	assert_int_equal(ranks, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_sweep__agent_runs_grid),
		cmocka_unit_test(test_e2e_sweep__parallel),
		cmocka_unit_test(test_e2e_sweep__sixteen_agents),
		cmocka_unit_test(test_e2e_sweep__killed_agent_reissued),
		cmocka_unit_test(test_e2e_sweep__cancel_stops_trial),
		cmocka_unit_test(test_e2e_sweep__signal_stops_agent),
		cmocka_unit_test(test_e2e_sweep__mpirun_agents),
		cmocka_unit_test(test_e2e_sweep__distributed_trial),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}

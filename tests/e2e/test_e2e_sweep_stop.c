/*
 * End-to-end early stopping (ASHA): a real `wb server`, a sweep whose spec
 * has early_terminate, and trial runs logged with the SDK.
 *
 *   - through the API as an agent drives it: six trials run one after the
 *     other, each logging loss = a + b/t at t = 1..9 with (a, b) chosen so
 *     that curves cross; the test computes ASHA's decisions itself from the
 *     curves (rungs 1 and 3, eta 3) and checks the server's: the stopped
 *     trials are `stopped` with their rung although their trainer exited 0,
 *     their run's heartbeat answer says should_stop, the others' does not;
 *     the sweep's rungs and compute match the test's figures; and all of it
 *     holds after a server restart; early_terminate.iter takes the
 *     iteration from another key logged at the same step;
 *   - with a real `wb agent` and a trainer that ignores the flag (it never
 *     exits by itself), the agent ends it after the grace and the trial is
 *     `stopped` at its rung. Every wait has a deadline.
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
#include "wb.h"

#ifndef WBT_STOP_TRAINER
#error "WBT_STOP_TRAINER must name the stop trainer"
#endif

#define ENT "tester"
#define NTRIALS 6
#define MAX_ITER 9
#define ETA 3

static wbt_server srv;
static char root[256];

/* The trials' curves: loss(t) = A[x] + B[x] / t; they cross, so rung 3 does not repeat rung 1. */
static const double A[NTRIALS] = {1.0, 0.5, 0.2, 1.2, 0.1, 2.0};
static const double B[NTRIALS] = {1.0, 3.0, 1.5, 0.3, 0.5, 2.0};
static const int64_t RUNG[] = {1, 3}; /* min_iter 1, eta 3, below max_iter 9 */

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(root, sizeof(root), "stop") < 0)
		return -1;
	setenv("WB_DIR", root, 1);
	setenv("WB_ENTITY", ENT, 1);
	setenv("WB_HEARTBEAT_MS", "200", 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "off", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(root);
	return 0;
}

/* One request with the admin key; the status, *out the parsed answer (may be NULL). */
static long call(const char *method, const char *path, const char *body, cJSON **out)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	long st;

	if (out)
		*out = NULL;
	if (wbt_http(&srv, method, path, body, body ? strlen(body) : 0, body ? h : NULL, 1, &r))
		return -1;
	st = r.status;
	if (out)
		*out = cJSON_Parse(r.body);
	wbt_response_free(&r);
	return st;
}

static double num(const cJSON *j, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);
	return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static cJSON *get(const char *fmt, const char *project, const char *id)
{
	char path[256];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), fmt, project, id);
	assert_int_equal(call("GET", path, NULL, &j), 200);
	assert_non_null(j);
	return j;
}
#define GET_SWEEP(p, id) get("/api/v1/projects/" ENT "/%s/sweeps/%s", p, id)
#define GET_TRIALS(p, id) get("/api/v1/projects/" ENT "/%s/sweeps/%s/trials?limit=1000", p, id)

/* Trial num of a trials answer. */
static const cJSON *trial_of(const cJSON *trials, int64_t n)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(trials, "trials")) if (num(t, "num") == (double)n) return t;
	return NULL;
}

static void create_sweep(const char *project, const char *spec, char id[16])
{
	char path[256];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/sweeps", project);
	assert_int_equal(call("POST", path, spec, &j), 201);
	snprintf(id, 16, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
	cJSON_Delete(j);
}

/* The run's heartbeat answer: 1 if it says should_stop, 0 if not; fails the test on an error. */
static int run_should_stop(const char *project, const char *run_id)
{
	char path[256];
	cJSON *j = NULL;
	int r;

	snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/%s/runs/%s/heartbeat", project, run_id);
	assert_int_equal(call("POST", path, "{}", &j), 200);
	r = cJSON_IsTrue(cJSON_GetObjectItem(j, "should_stop"));
	cJSON_Delete(j);
	return r;
}

/* ---- the test's own ASHA, from the curves (docs/design.md, "Early stopping") ---- */

static double value_at(int x, int64_t it) { return A[x] + B[x] / (double)it; }

static int cmp_dbl(const void *a, const void *b)
{
	double u = *(const double *)a, v = *(const double *)b;
	return u < v ? -1 : u > v;
}

/* The cut-off at a rung where others[0..m) were reached: the keep-th best, keep = max(1, (m+1)/eta). */
static double cutoff(double *others, size_t m)
{
	size_t keep = (m + 1) / ETA;
	if (!m)
		return NAN;
	qsort(others, m, sizeof(*others), cmp_dbl);
	return others[(keep < 1 ? 1 : keep) - 1];
}

/* Trial k (param xs[k]) run after trials 0..k-1 had logged all their points: the rung index it stops at, or -1. */
static int expected_stop(const int *xs, int k)
{
	for (int r = 0; r < 2; r++) {
		double others[NTRIALS];
		for (int i = 0; i < k; i++)
			others[i] = value_at(xs[i], RUNG[r]);
		if (k > 0 && value_at(xs[k], RUNG[r]) > cutoff(others, (size_t)k))
			return r;
	}
	return -1;
}

/* Log trial x's curve under run_id as its trainer would. The run is left open (*out). */
static void log_curve(const char *project, const char *run_id, int x, wb_run **out)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;

	o.project = project;
	o.entity = ENT;
	o.run_id = run_id;
	o.mode = WB_MODE_ONLINE;
	assert_int_equal(wb_run_init(out, &o), WB_OK);
	for (int64_t t = 1; t <= MAX_ITER; t++)
		assert_int_equal(WB_LOG(*out, t, {"loss", value_at(x, t)}), WB_OK);
}

/* The sweep's rungs and compute against the test's figures from the curves. */
static void check_figures(const cJSON *sweep, const int *xs, int n)
{
	const cJSON *rungs = cJSON_GetObjectItem(sweep, "rungs"), *c = cJSON_GetObjectItem(sweep, "compute");

	assert_true(cJSON_IsArray(rungs));
	assert_int_equal(cJSON_GetArraySize(rungs), 2);
	for (int r = 0; r < 2; r++) {
		const cJSON *g = cJSON_GetArrayItem(rungs, r);
		double v[NTRIALS];
		for (int i = 0; i < n; i++)
			v[i] = value_at(xs[i], RUNG[r]);
		assert_true(num(g, "iter") == (double)RUNG[r]);
		assert_true(num(g, "trials") == n); /* every trial logged past both rungs */
		/* what a newcomer must match: the cut-off over the n reached values */
		assert_true(fabs(num(g, "cutoff") - cutoff(v, (size_t)n)) < 1e-12);
	}
	assert_true(cJSON_IsObject(c));
	assert_true(num(c, "steps_run") == (double)(n * MAX_ITER)); /* the trainers ran on regardless */
	assert_true(num(c, "steps_full") == (double)(n * MAX_ITER));
}

static void test_e2e_sweep_stop__asha_through_the_api(void **state)
{
	char id[16], path[256], body[128];
	int xs[NTRIALS], want[NTRIALS], nstop[2] = {0, 0};
	cJSON *j, *tr;

	(void)state;
	create_sweep("asha", "{\"method\":\"grid\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},"
			     "\"parameters\":{\"x\":{\"values\":[0,1,2,3,4,5]}},"
			     "\"early_terminate\":{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":9,\"eta\":3}}",
		     id);
	for (int k = 0; k < NTRIALS; k++) {
		wb_run *run = NULL;
		const cJSON *t;
		char run_id[64];
		double deadline;

		snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/asha/sweeps/%s/next", id);
		assert_int_equal(call("POST", path, "{\"agent\":\"a:1\"}", &j), 200);
		t = cJSON_GetObjectItem(j, "trial");
		assert_non_null(t);
		assert_true(num(t, "num") == k);
		xs[k] = (int)num(cJSON_GetObjectItem(t, "params"), "x");
		snprintf(run_id, sizeof(run_id), "%s", cJSON_GetObjectItem(t, "run_id")->valuestring);
		cJSON_Delete(j);
		want[k] = expected_stop(xs, k);
		if (want[k] >= 0)
			nstop[want[k]]++;

		log_curve("asha", run_id, xs[k], &run);
		/* the decision reaches the run's answers while it runs (the SDK uploads in the background) */
		deadline = wbt_now() + 20;
		if (want[k] >= 0) {
			while (!run_should_stop("asha", run_id) && wbt_now() < deadline)
				usleep(20000); /* polling the condition against a deadline */
			assert_true(run_should_stop("asha", run_id));
		}
		assert_int_equal(wb_run_finish(run, 0), WB_OK); /* every point is in the server now */
		if (want[k] < 0)
			assert_false(run_should_stop("asha", run_id));
		/* the trainer exited 0: a stopped trial stays stopped */
		snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/asha/sweeps/%s/trials/%d/finish", id, k);
		snprintf(body, sizeof(body), "{\"agent\":\"a:1\",\"exit_code\":0}");
		assert_int_equal(call("POST", path, body, &j), 200);
		assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, want[k] >= 0 ? "stopped" : "finished");
		cJSON_Delete(j);
	}
	/* the curves were built so that both rungs stop someone and someone goes through */
	assert_true(nstop[0] > 0 && nstop[1] > 0 && nstop[0] + nstop[1] < NTRIALS);

	for (int pass = 0; pass < 2; pass++) {
		tr = GET_TRIALS("asha", id);
		for (int k = 0; k < NTRIALS; k++) {
			const cJSON *t = trial_of(tr, k);
			assert_non_null(t);
			if (want[k] >= 0) {
				assert_string_equal(cJSON_GetObjectItem(t, "state")->valuestring, "stopped");
				assert_true(num(t, "stop_rung") == want[k]);
				assert_true(num(t, "stop_iter") == (double)RUNG[want[k]]);
			} else {
				assert_string_equal(cJSON_GetObjectItem(t, "state")->valuestring, "finished");
				assert_null(cJSON_GetObjectItem(t, "stop_rung"));
			}
		}
		cJSON_Delete(tr);
		j = GET_SWEEP("asha", id);
		check_figures(j, xs, NTRIALS);
		cJSON_Delete(j);
		if (pass == 0) { /* the decisions are rows: a restart keeps them */
			wbt_server_kill(&srv);
			assert_int_equal(wbt_server_restart(&srv), 0);
		}
	}
}

/* early_terminate.iter: the iteration is the "epoch" key logged beside the metric, not the step (10 a epoch). */
static void test_e2e_sweep_stop__iteration_key(void **state)
{
	char id[16], path[256];
	cJSON *j;

	(void)state;
	create_sweep("iterkey", "{\"method\":\"grid\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},"
				"\"parameters\":{\"x\":{\"values\":[0,1]}},\"early_terminate\":{\"type\":\"asha\","
				"\"iter\":\"epoch\",\"min_iter\":1,\"max_iter\":9,\"eta\":3}}",
		     id);
	for (int k = 0; k < 2; k++) {
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		char run_id[64];

		snprintf(path, sizeof(path), "/api/v1/projects/" ENT "/iterkey/sweeps/%s/next", id);
		assert_int_equal(call("POST", path, "{\"agent\":\"a:1\"}", &j), 200);
		snprintf(run_id, sizeof(run_id), "%s",
			 cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trial"), "run_id")->valuestring);
		cJSON_Delete(j);
		o.project = "iterkey";
		o.entity = ENT;
		o.run_id = run_id;
		o.mode = WB_MODE_ONLINE;
		assert_int_equal(wb_run_init(&run, &o), WB_OK);
		/* trial 0: flat 1; trial 1: better at epoch 1 (0.5), worse from epoch 2 on (2): stopped at epoch 3,
		 * rung 1. Judged by step (10, 20, ...) it would pass both rungs on its first point. */
		for (int e = 1; e <= MAX_ITER; e++)
			assert_int_equal(WB_LOG(run, 10 * e, {"epoch", (double)e}, {"loss", k == 0 ? 1.0 : e == 1 ? 0.5 : 2.0}),
					 WB_OK);
		assert_int_equal(wb_run_finish(run, 0), WB_OK);
	}
	j = GET_TRIALS("iterkey", id);
	assert_null(cJSON_GetObjectItem(trial_of(j, 0), "stop_rung"));
	assert_true(num(trial_of(j, 1), "stop_rung") == 1);
	assert_true(num(trial_of(j, 1), "stop_iter") == 3);
	cJSON_Delete(j);
	j = GET_SWEEP("iterkey", id);
	assert_true(num(cJSON_GetObjectItem(j, "compute"), "steps_run") == 2 * MAX_ITER); /* epochs, not steps */
	cJSON_Delete(j);
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

/* A trainer that never exits by itself: the agent ends it after the grace, and the trial is stopped. */
static void test_e2e_sweep_stop__agent_ends_a_trainer_that_ignores_it(void **state)
{
	char id[16], ref[128], log[400];
	double deadline, t0;
	const cJSON *t;
	cJSON *tr = NULL;
	pid_t a;
	int st = 0, done = 0;

	(void)state;
	/* trial 0: a = 1, finishes; trial 1: a = 5, worse at rung 1, and it hangs */
	create_sweep("agent", "{\"method\":\"grid\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},"
			      "\"lease_seconds\":3,\"parameters\":{\"a\":{\"values\":[1,5]},\"b\":{\"value\":1}},"
			      "\"early_terminate\":{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":9,\"eta\":3,"
			      "\"grace_seconds\":1}}",
		     id);
	snprintf(ref, sizeof(ref), ENT "/agent/%s", id);
	snprintf(log, sizeof(log), "%s/agent.log", root);
	t0 = wbt_now();
	a = spawn_wb(log, "agent", ref, "--", WBT_STOP_TRAINER, (const char *)NULL);
	assert_true(a > 0);
	deadline = t0 + 90;
	while (wbt_now() < deadline) {
		if (waitpid(a, &st, WNOHANG) == a) {
			done = 1;
			break;
		}
		usleep(50000); /* polling the agent's exit against a deadline */
	}
	if (!done) { /* never hang the suite */
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		wbt_sh("tail -30 \"$WB_DIR/agent.log\" >&2");
	}
	assert_true(done);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tr = GET_TRIALS("agent", id);
	t = trial_of(tr, 0);
	assert_string_equal(cJSON_GetObjectItem(t, "state")->valuestring, "finished");
	t = trial_of(tr, 1);
	assert_non_null(t);
	assert_string_equal(cJSON_GetObjectItem(t, "state")->valuestring, "stopped");
	assert_true(num(t, "stop_rung") == 0);
	/* the agent waited the grace before its SIGTERM: the trainer died of it (128 + 15), after >= 1 s */
	assert_true(num(t, "exit_code") == 128 + SIGTERM);
	assert_true(num(t, "finished_at") - num(t, "stopped_at") >= 1.0);
	cJSON_Delete(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_sweep_stop__asha_through_the_api),
		cmocka_unit_test(test_e2e_sweep_stop__iteration_key),
		cmocka_unit_test(test_e2e_sweep_stop__agent_ends_a_trainer_that_ignores_it),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}

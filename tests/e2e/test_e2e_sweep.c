/*
 * End-to-end sweeps, through the API as an agent drives it: a real `wb
 * server`, specs in JSON and YAML (and refused ones, which write nothing),
 * a grid handed out point by point to two agents, trial runs logged with
 * the SDK whose summary is the trial's metric, the best trial, leases that
 * pass (crashed, re-issued once, then not again), pause, resume, stop and
 * cancel, the access rules (viewer reads, editor drives, outsider sees
 * nothing), many agents asking at once (no trial twice), and a server
 * restart that loses nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static wbt_server srv;
static char rundir_root[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, NULL) < 0)
		return -1;
	if (wbt_mkdtemp(rundir_root, sizeof(rundir_root), "runs") < 0)
		return -1;
	setenv("WB_DIR", rundir_root, 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(rundir_root);
	return 0;
}

/* One request with the admin key; body sent with content type ct. The status; *out the parsed answer. */
static long call(const char *method, const char *path, const char *ct, const char *body, cJSON **out)
{
	char h0[128];
	const char *h[] = {h0, NULL};
	wbt_response r;
	long st;

	snprintf(h0, sizeof(h0), "Content-Type: %s", ct ? ct : "application/json");
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

static const char *str(const cJSON *j, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double num(const cJSON *j, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);
	return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

/* Create a sweep in tester/PROJECT from spec; returns its id (static buffer per call site). */
static void create(const char *project, const char *ct, const char *spec, char id[16])
{
	char path[256];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/sweeps", project);
	assert_int_equal(call("POST", path, ct, spec, &j), 201);
	assert_non_null(j);
	assert_non_null(str(j, "id"));
	assert_int_equal(strlen(str(j, "id")), 8);
	snprintf(id, 16, "%s", str(j, "id"));
	{
		char url[256];
		snprintf(url, sizeof(url), "/tester/%s/sweeps/%s", project, id);
		assert_string_equal(str(j, "url"), url);
	}
	assert_string_equal(str(j, "state"), "running");
	cJSON_Delete(j);
}

/* POST next as agent; returns the answer (caller deletes). */
static cJSON *next(const char *project, const char *id, const char *agent)
{
	char path[256], body[128];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/sweeps/%s/next", project, id);
	snprintf(body, sizeof(body), "{\"agent\":\"%s\"}", agent);
	assert_int_equal(call("POST", path, NULL, body, &j), 200);
	assert_non_null(j);
	return j;
}

static long trial_post(const char *project, const char *id, int64_t n, const char *what, const char *body,
		       cJSON **out)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/sweeps/%s/trials/%lld/%s", project, id,
		 (long long)n, what);
	return call("POST", path, NULL, body, out);
}

static cJSON *get_sweep(const char *project, const char *id)
{
	char path[256];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/sweeps/%s", project, id);
	assert_int_equal(call("GET", path, NULL, NULL, &j), 200);
	assert_non_null(j);
	return j;
}

static double count(const cJSON *sweep, const char *state)
{
	return num(cJSON_GetObjectItemCaseSensitive(sweep, "counts"), state);
}

/* Log the trial's run as its trainer would: run id as the server named it, one metric value. */
static void run_trial(const char *project, const char *run_id, const char *key, double v)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.project = project;
	o.entity = "tester";
	o.run_id = run_id;
	o.mode = WB_MODE_ONLINE;
	assert_int_equal(wb_run_init(&run, &o), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {key, v + 1.0}), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {key, v}), WB_OK); /* the summary is the last */
	assert_int_equal(wb_run_finish(run, 0), WB_OK);
}

/* ---- specs ---- */

static void test_e2e_sweep__bad_specs_write_nothing(void **state)
{
	static const struct {
		const char *ct, *spec, *says;
	} bad[] = {
		{NULL, "{\"method\":\"grid\",\"parameters\":{\"lr\":{\"min\":0.1,\"max\":0.01}}}", "$.parameters.lr"},
		{NULL, "{\"method\":\"grid\",\"parameters\":{\"lr\":{\"distribution\":\"uniform\",\"min\":0,\"max\":1}}}",
		 "$.parameters.lr"},
		{NULL, "{\"method\":\"anneal\",\"parameters\":{\"a\":{\"values\":[1]}}}", "$.method"},
		{NULL, "{\"method\":\"random\",\"parameters\":{\"a\":{\"values\":[1]}},\"parameters\":{}}", "parameters"},
		{NULL, "{\"method\":\"bayes\",\"parameters\":{\"a\":{\"min\":0.0,\"max\":1.0}}}", "$.metric"},
		{"application/yaml", "method: grid\nparameters:\n  a:\n    values: [1, 2]\n  a:\n    value: 3\n",
		 "$.parameters"},
		{"application/yaml", "method: grid\nparameters: [1\n", "yaml"},
	};
	char db[512], msg[1024];
	uint64_t before;

	(void)state;
	/* a project to hold the sweeps, so that "nothing written" is about the sweep itself */
	{
		char id[16];
		create("specs", NULL, "{\"method\":\"random\",\"parameters\":{\"a\":{\"values\":[1,2]}},\"run_cap\":1}",
		       id);
	}
	wbt_db_path(&srv, db, sizeof(db));
	before = wbt_db_fingerprint(db);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *h0 = bad[i].ct ? "Content-Type: application/yaml" : "Content-Type: application/json";
		const char *h[] = {h0, NULL};
		wbt_response r;
		assert_int_equal(wbt_http(&srv, "POST", "/api/v1/projects/tester/specs/sweeps", bad[i].spec,
					  strlen(bad[i].spec), h, 1, &r),
				 0);
		snprintf(msg, sizeof(msg), "%s", r.body);
		print_message("refused: %s\n", msg);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(msg, "invalid")); /* invalid_spec, or invalid_json for a duplicate key */
		assert_non_null(strstr(msg, bad[i].says));
		wbt_response_free(&r);
	}
	/* a spec that is neither JSON nor YAML by its type */
	assert_int_equal(call("POST", "/api/v1/projects/tester/specs/sweeps", "text/plain", "method: grid", NULL), 415);
	assert_true(wbt_db_fingerprint(db) == before);
}

static void test_e2e_sweep__yaml_and_json_are_one_spec(void **state)
{
	char a[16], b[16];
	cJSON *ja, *jb;
	char *sa, *sb;

	(void)state;
	create("yaml", "application/yaml",
	       "# a W&B sweep file\nmethod: random\nmetric:\n  name: val/acc\n  goal: maximize\nparameters:\n"
	       "  lr:\n    distribution: log_uniform_values\n    min: 1.0e-4\n    max: 0.1\n"
	       "  batch:\n    values: [32, 64, 128]\n",
	       a);
	create("yaml", NULL,
	       "{\"method\":\"random\",\"metric\":{\"name\":\"val/acc\",\"goal\":\"maximize\"},\"parameters\":{"
	       "\"lr\":{\"distribution\":\"log_uniform_values\",\"min\":0.0001,\"max\":0.1},"
	       "\"batch\":{\"values\":[32,64,128]}}}",
	       b);
	ja = get_sweep("yaml", a);
	jb = get_sweep("yaml", b);
	sa = cJSON_PrintUnformatted(cJSON_GetObjectItem(ja, "spec"));
	sb = cJSON_PrintUnformatted(cJSON_GetObjectItem(jb, "spec"));
	assert_string_equal(sa, sb);
	assert_string_equal(str(cJSON_GetObjectItem(ja, "metric"), "goal"), "maximize");
	free(sa);
	free(sb);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
}

/* ---- a grid, two agents ---- */

static void test_e2e_sweep__grid_two_agents_best(void **state)
{
	char id[16], seen[8][64];
	int64_t nums[8];
	size_t n = 0;
	cJSON *j, *best;

	(void)state;
	create("grid", NULL,
	       "{\"method\":\"grid\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"parameters\":{"
	       "\"opt\":{\"parameters\":{\"lr\":{\"values\":[0.1,0.01,0.001]}}},\"layers\":{\"values\":[1,2]}}}",
	       id);
	/* six points, handed out alternately to two agents, none twice */
	for (int i = 0; i < 6; i++) {
		const cJSON *t, *p;
		char *ps;
		j = next("grid", id, i % 2 ? "host-b:2" : "host-a:1");
		t = cJSON_GetObjectItem(j, "trial");
		assert_non_null(t);
		p = cJSON_GetObjectItem(t, "params");
		assert_true(cJSON_IsObject(cJSON_GetObjectItem(p, "opt"))); /* nested keys nest */
		ps = cJSON_PrintUnformatted(p);
		for (size_t k = 0; k < n; k++)
			assert_string_not_equal(seen[k], ps);
		snprintf(seen[n], sizeof(seen[n]), "%s", ps);
		nums[n++] = (int64_t)num(t, "num");
		free(ps);
		cJSON_Delete(j);
	}
	/* the grid is out: the next agent waits (a trial out may yet be re-issued) */
	j = next("grid", id, "host-c:3");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "wait")));
	cJSON_Delete(j);
	/* each trial's run reports loss = its number; trial 3 has the least but one: make trial 4 best */
	for (size_t k = 0; k < n; k++) {
		char run_id[64], body[128];
		cJSON *f = NULL;
		snprintf(run_id, sizeof(run_id), "%s-%lld", id, (long long)nums[k]);
		run_trial("grid", run_id, "loss", nums[k] == 4 ? -1.0 : (double)nums[k]);
		snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"exit_code\":%d}", k % 2 ? "host-b:2" : "host-a:1",
			 nums[k] == 5 ? 3 : 0);
		assert_int_equal(trial_post("grid", id, nums[k], "finish", body, &f), 200);
		assert_string_equal(str(f, "state"), nums[k] == 5 ? "failed" : "finished");
		cJSON_Delete(f);
	}
	j = get_sweep("grid", id);
	assert_string_equal(str(j, "state"), "finished");
	assert_true(count(j, "finished") == 5 && count(j, "failed") == 1 && count(j, "issued") == 6);
	best = cJSON_GetObjectItem(j, "best");
	assert_true(num(best, "trial") == 4);
	assert_true(num(best, "value") == -1.0);
	cJSON_Delete(j);
	/* the trials: values as the runs reported them */
	{
		char path[256];
		cJSON *t = NULL, *arr;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/grid/sweeps/%s/trials", id);
		assert_int_equal(call("GET", path, NULL, NULL, &t), 200);
		arr = cJSON_GetObjectItem(t, "trials");
		assert_int_equal(cJSON_GetArraySize(arr), 6);
		for (int i = 0; i < 6; i++) {
			const cJSON *tr = cJSON_GetArrayItem(arr, i);
			int64_t k = (int64_t)num(tr, "num");
			assert_true(num(tr, "value") == (k == 4 ? -1.0 : (double)k));
			assert_string_equal(str(tr, "run_state"), "finished");
		}
		cJSON_Delete(t);
	}
	/* a finished sweep hands out nothing; a heartbeat for an ended trial is a conflict */
	j = next("grid", id, "host-a:1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "done")));
	cJSON_Delete(j);
	assert_int_equal(trial_post("grid", id, 0, "heartbeat", "{\"agent\":\"host-a:1\"}", NULL), 409);
}

/* ---- leases ---- */

/* Poll GET sweep until counts[state] reaches want or 15 s pass. */
static int wait_count(const char *project, const char *id, const char *state, double want)
{
	double until = wbt_now() + 15;
	while (wbt_now() < until) {
		cJSON *j = get_sweep(project, id);
		double c = count(j, state);
		cJSON_Delete(j);
		if (c >= want)
			return 1;
		usleep(50 * 1000); /* polling a condition with a deadline, not a sleep as synchronisation */
	}
	return 0;
}

static void test_e2e_sweep__lease_lost_reissued_once(void **state)
{
	char id[16], p0[256];
	cJSON *j, *t;
	int64_t n0, n1;

	(void)state;
	create("lease", NULL,
	       "{\"method\":\"random\",\"seed\":7,\"lease_seconds\":2,\"reissue\":1,\"run_cap\":1,"
	       "\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0}}}",
	       id);
	j = next("lease", id, "dies:1");
	t = cJSON_GetObjectItem(j, "trial");
	n0 = (int64_t)num(t, "num");
	{
		char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(t, "params"));
		snprintf(p0, sizeof(p0), "%s", s);
		free(s);
	}
	assert_true(num(j, "lease_seconds") == 2);
	cJSON_Delete(j);
	/* a heartbeat keeps it; another agent may not heartbeat it */
	assert_int_equal(trial_post("lease", id, n0, "heartbeat", "{\"agent\":\"dies:1\"}", NULL), 200);
	assert_int_equal(trial_post("lease", id, n0, "heartbeat", "{\"agent\":\"other:9\"}", NULL), 409);
	/* the agent dies: no more heartbeats; the lease passes, the trial crashes and comes back pending */
	assert_true(wait_count("lease", id, "crashed", 1));
	j = get_sweep("lease", id);
	assert_true(count(j, "pending") == 1);
	assert_string_equal(str(j, "state"), "running");
	cJSON_Delete(j);
	assert_int_equal(trial_post("lease", id, n0, "heartbeat", "{\"agent\":\"dies:1\"}", NULL), 409);
	/* the same parameters go to the next agent, as a new trial */
	j = next("lease", id, "lives:2");
	t = cJSON_GetObjectItem(j, "trial");
	assert_non_null(t);
	n1 = (int64_t)num(t, "num");
	assert_true(n1 != n0);
	{
		char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(t, "params"));
		assert_string_equal(s, p0);
		free(s);
	}
	cJSON_Delete(j);
	/* it dies too: crashed again, and not re-issued a second time; the sweep is over */
	assert_true(wait_count("lease", id, "crashed", 2));
	j = get_sweep("lease", id);
	assert_true(count(j, "pending") == 0);
	assert_string_equal(str(j, "state"), "finished");
	cJSON_Delete(j);
	{
		char path[256];
		cJSON *tr = NULL;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/lease/sweeps/%s/trials", id);
		assert_int_equal(call("GET", path, NULL, NULL, &tr), 200);
		assert_true(num(cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "trials"), 1), "reissue_of") == (double)n0);
		cJSON_Delete(tr);
	}
}

/* ---- pause, resume, stop, cancel ---- */

static long patch(const char *project, const char *id, const char *st)
{
	char path[256], body[64];

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/sweeps/%s", project, id);
	snprintf(body, sizeof(body), "{\"state\":\"%s\"}", st);
	return call("PATCH", path, NULL, body, NULL);
}

static void test_e2e_sweep__pause_resume_cancel(void **state)
{
	char id[16];
	cJSON *j, *hb = NULL;
	int64_t n0;

	(void)state;
	create("ctl", NULL, "{\"method\":\"random\",\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0}}}", id);
	j = next("ctl", id, "a:1");
	n0 = (int64_t)num(cJSON_GetObjectItem(j, "trial"), "num");
	cJSON_Delete(j);
	assert_int_equal(patch("ctl", id, "paused"), 200);
	j = next("ctl", id, "a:1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "wait")));
	assert_string_equal(str(j, "state"), "paused");
	cJSON_Delete(j);
	assert_int_equal(patch("ctl", id, "running"), 200);
	j = next("ctl", id, "a:1");
	assert_non_null(cJSON_GetObjectItem(j, "trial"));
	cJSON_Delete(j);
	assert_int_equal(patch("ctl", id, "exploded"), 400);
	/* cancel: running trials are told to stop, nothing new is handed out, and it cannot run again */
	assert_int_equal(trial_post("ctl", id, n0, "heartbeat", "{\"agent\":\"a:1\"}", &hb), 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(hb, "stop")));
	cJSON_Delete(hb);
	assert_int_equal(patch("ctl", id, "canceled"), 200);
	assert_int_equal(trial_post("ctl", id, n0, "heartbeat", "{\"agent\":\"a:1\"}", &hb), 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(hb, "stop")));
	cJSON_Delete(hb);
	assert_int_equal(trial_post("ctl", id, n0, "finish", "{\"agent\":\"a:1\",\"exit_code\":143,\"stopped\":true}",
				    &hb),
			 200);
	assert_string_equal(str(hb, "state"), "stopped");
	cJSON_Delete(hb);
	j = next("ctl", id, "a:1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "done")));
	cJSON_Delete(j);
	assert_int_equal(patch("ctl", id, "running"), 400);
	/* an unknown sweep, a malformed id */
	assert_int_equal(call("GET", "/api/v1/projects/tester/ctl/sweeps/zzzzzzzz", NULL, NULL, NULL), 404);
	assert_int_equal(call("GET", "/api/v1/projects/tester/ctl/sweeps/ABC", NULL, NULL, NULL), 404);
	assert_int_equal(trial_post("ctl", id, n0, "finish", "{\"agent\":\"a:1\",\"exit_code\":-4}", NULL), 400);
}

/* ---- access ---- */

static void test_e2e_sweep__access(void **state)
{
	char id[16], vkey[128], okey[128], auth[160], path[256];
	wbt_reply r;

	(void)state;
	create("acc", NULL, "{\"method\":\"random\",\"parameters\":{\"x\":{\"values\":[1,2,3]}}}", id);
	assert_int_equal(wbt_make_user(&srv, "viewer1", "correct horse battery 9", NULL, 0, NULL, 0, vkey, sizeof(vkey)),
			 0);
	assert_int_equal(wbt_make_user(&srv, "outsider1", "correct horse battery 8", NULL, 0, NULL, 0, okey,
				       sizeof(okey)),
			 0);
	assert_int_equal(wbt_status(&srv, "PUT", "/api/v1/projects/tester/acc/members/viewer1", "{\"role\":\"viewer\"}",
				    NULL, 0),
			 200);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/acc/sweeps/%s", id);
	snprintf(auth, sizeof(auth), "Bearer %s", vkey);
	assert_int_equal(wbt_request(&srv, "GET", path, NULL, auth, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/acc/sweeps/%s/next", id);
	assert_int_equal(wbt_request(&srv, "POST", path, "{\"agent\":\"v:1\"}", auth, NULL, &r), 0);
	assert_int_equal(r.status, 403);
	wbt_reply_free(&r);
	assert_int_equal(wbt_request(&srv, "POST", "/api/v1/projects/tester/acc/sweeps",
				     "{\"method\":\"random\",\"parameters\":{\"x\":{\"values\":[1]}}}", auth, NULL, &r),
			 0);
	assert_int_equal(r.status, 403);
	wbt_reply_free(&r);
	snprintf(auth, sizeof(auth), "Bearer %s", okey);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/acc/sweeps/%s", id);
	assert_int_equal(wbt_request(&srv, "GET", path, NULL, auth, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	wbt_reply_free(&r);
	assert_int_equal(wbt_request(&srv, "GET", path, NULL, NULL, NULL, &r), 0);
	assert_int_equal(r.status, 401);
	wbt_reply_free(&r);
}

/* ---- many agents at once, then a restart ---- */

#define AGENTS 32
#define CAP 400

struct agent_arg {
	const char *id;
	int k;
	int64_t got[CAP];
	size_t n;
	int bad;
};

static void *agent_main(void *p)
{
	struct agent_arg *a = p;
	char path[256], body[64];

	snprintf(path, sizeof(path), "/api/v1/projects/tester/many/sweeps/%s/next", a->id);
	snprintf(body, sizeof(body), "{\"agent\":\"many:%d\"}", a->k);
	for (;;) {
		const char *h[] = {"Content-Type: application/json", NULL};
		wbt_response r;
		cJSON *j, *t;
		if (wbt_http(&srv, "POST", path, body, strlen(body), h, 1, &r) || r.status != 200) {
			a->bad++;
			if (r.body)
				wbt_response_free(&r);
			break;
		}
		j = cJSON_Parse(r.body);
		wbt_response_free(&r);
		t = cJSON_GetObjectItem(j, "trial");
		if (!t) {
			cJSON_Delete(j);
			break;
		}
		if (a->n < CAP)
			a->got[a->n++] = (int64_t)num(t, "num");
		{
			char fpath[256], fbody[96];
			wbt_response f;
			snprintf(fpath, sizeof(fpath), "/api/v1/projects/tester/many/sweeps/%s/trials/%lld/finish", a->id,
				 (long long)num(t, "num"));
			snprintf(fbody, sizeof(fbody), "{\"agent\":\"many:%d\",\"exit_code\":0}", a->k);
			if (wbt_http(&srv, "POST", fpath, fbody, strlen(fbody), h, 1, &f) || f.status != 200)
				a->bad++;
			wbt_response_free(&f);
		}
		cJSON_Delete(j);
	}
	return NULL;
}

static void test_e2e_sweep__many_agents_then_restart(void **state)
{
	static struct agent_arg args[AGENTS];
	pthread_t th[AGENTS];
	static unsigned char seen[CAP];
	char id[16];
	size_t total = 0;
	cJSON *j;

	(void)state;
	create("many", NULL,
	       "{\"method\":\"random\",\"run_cap\":400,\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},"
	       "\"y\":{\"values\":[\"a\",\"b\"]}}}",
	       id);
	for (int k = 0; k < AGENTS; k++) {
		args[k].id = id;
		args[k].k = k;
		assert_int_equal(pthread_create(&th[k], NULL, agent_main, &args[k]), 0);
	}
	for (int k = 0; k < AGENTS; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < AGENTS; k++) {
		assert_int_equal(args[k].bad, 0);
		for (size_t i = 0; i < args[k].n; i++) {
			assert_true(args[k].got[i] >= 0 && args[k].got[i] < CAP);
			assert_int_equal(seen[args[k].got[i]], 0); /* never handed out twice */
			seen[args[k].got[i]] = 1;
			total++;
		}
	}
	assert_int_equal(total, CAP); /* and none lost */
	j = get_sweep("many", id);
	assert_string_equal(str(j, "state"), "finished");
	assert_true(count(j, "finished") == CAP);
	cJSON_Delete(j);

	/* a restart loses nothing: state, trials and numbering go on */
	{
		char id2[16];
		cJSON *t;
		create("many", NULL, "{\"method\":\"grid\",\"parameters\":{\"x\":{\"values\":[1,2,3]}}}", id2);
		cJSON_Delete(next("many", id2, "r:1"));
		wbt_server_kill(&srv);
		assert_int_equal(wbt_server_restart(&srv), 0);
		j = get_sweep("many", id);
		assert_true(count(j, "finished") == CAP);
		cJSON_Delete(j);
		j = next("many", id2, "r:2");
		t = cJSON_GetObjectItem(j, "trial");
		assert_true(num(t, "num") == 1);
		assert_true(num(cJSON_GetObjectItem(t, "params"), "x") == 2);
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_sweep__bad_specs_write_nothing),
		cmocka_unit_test(test_e2e_sweep__yaml_and_json_are_one_spec),
		cmocka_unit_test(test_e2e_sweep__grid_two_agents_best),
		cmocka_unit_test(test_e2e_sweep__lease_lost_reissued_once),
		cmocka_unit_test(test_e2e_sweep__pause_resume_cancel),
		cmocka_unit_test(test_e2e_sweep__access),
		cmocka_unit_test(test_e2e_sweep__many_agents_then_restart),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}

/*
 * bench_sweep_e2e — wb's search as users run it, through the real parts: a
 * `wb server` on loopback holds the sweep and chooses each trial (bayes =
 * TPE, or random), a real `wb agent` leases the trials one after another
 * and runs sweep_trial, which joins the sweep through libwb and logs the
 * test function's value as the metric. Branin (2-D) and Hartmann-6 (6-D),
 * WB_BENCH_SWEEP_TRIALS trials (200) for each of WB_BENCH_SWEEP_SEEDS seeds
 * (10); bench_sweep_optuna.py measures Optuna's samplers on the same
 * functions and budget in the same .ci/bench run.
 *
 * Prints, per function and method, one JSON object per result: the median
 * over seeds of the best value found, how many seeds came within the
 * tolerance of the minimum (0.01 for Branin, 0.1 for Hartmann-6), the
 * median number of trials those seeds needed, and the wall time per trial
 * (process start, run, upload and the server's choice together).
 * WB_BENCH_SWEEP_FN=branin|hartmann6 runs one function only.
 * Usage: bench_sweep_e2e TRIAL_PROGRAM
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sweep_fns.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);
	return v && atoi(v) > 0 ? atoi(v) : def;
}

/* One sweep of trials trials; *best and *reach (trials to come within tol, 0: never). -1 on failure. */
static int one(wbt_server *srv, const char *trial, const char *fn, const char *method, int seed, int trials,
	       double min, double tol, double *best, int *reach, double *seconds, const char *errlog)
{
	char spec[1024], path[256], id[16], count[16], sweep[128], head[768];
	const char *h[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	cJSON *j, *arr;
	double t0;
	int rc;

	snprintf(head, sizeof(head), "%s", strcmp(fn, "branin") == 0 ? WB_BRANIN_SPEC_HEAD : WB_HARTMANN6_SPEC_HEAD);
	/* the heads say bayes; the same space for random */
	if (strcmp(method, "random") == 0) {
		char *m = strstr(head, "\"bayes\"");
		if (!m)
			return -1;
		memmove(m + 8, m + 7, strlen(m + 7) + 1); /* "bayes" (7) -> "random" (8) */
		memcpy(m, "\"random\"", 8);
	}
	snprintf(spec, sizeof(spec), "%s,\"seed\":%d,\"run_cap\":%d}", head, seed, trials);
	if (wbt_http(srv, "POST", "/api/v1/projects/tester/sweepbench/sweeps", spec, strlen(spec), h, 1, &r) ||
	    r.status != 201) {
		fprintf(stderr, "create: %ld %s\n", r.status, r.body ? r.body : "");
		wbt_response_free(&r);
		return -1;
	}
	j = cJSON_Parse(r.body);
	wbt_response_free(&r);
	snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(j, "id")->valuestring);
	cJSON_Delete(j);
	snprintf(sweep, sizeof(sweep), "tester/sweepbench/%s", id);
	snprintf(count, sizeof(count), "%d", trials);
	t0 = wbt_now();
	{
		const char *args[] = {"agent", sweep, "--count", count, "--", trial, fn, NULL};
		rc = wbt_wb(args, "/dev/null", errlog);
	}
	*seconds = (wbt_now() - t0) / trials;
	if (rc != 0) {
		char cmd[512];
		fprintf(stderr, "wb agent exited %d; the end of its stderr:\n", rc);
		snprintf(cmd, sizeof(cmd), "tail -5 '%s' >&2", errlog);
		wbt_sh(cmd);
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/projects/tester/sweepbench/sweeps/%s/trials?limit=100000", id);
	if (!(j = wbt_get_json(srv, path)))
		return -1;
	arr = cJSON_GetObjectItem(j, "trials");
	*best = INFINITY;
	*reach = 0;
	for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
		const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "value");
		if (!cJSON_IsNumber(v))
			continue;
		if (v->valuedouble < *best)
			*best = v->valuedouble;
		if (!*reach && *best - min <= tol)
			*reach = i + 1;
	}
	if (cJSON_GetArraySize(arr) != trials)
		fprintf(stderr, "sweep %s has %d trials, not %d\n", id, cJSON_GetArraySize(arr), trials);
	cJSON_Delete(j);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *fn;
		double min, tol;
	} fns[] = {{"branin", WB_BRANIN_MIN, 0.01}, {"hartmann6", WB_HARTMANN6_MIN, 0.1}};
	static const char *const methods[] = {"bayes", "random"};
	const int seeds = env_int("WB_BENCH_SWEEP_SEEDS", 10), trials = env_int("WB_BENCH_SWEEP_TRIALS", 200);
	const char *only = getenv("WB_BENCH_SWEEP_FN"); /* one function only, when set */
	char rundir[256] = "", errlog[300];
	wbt_server srv;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_sweep_e2e TRIAL_PROGRAM\n");
		return 2;
	}
	memset(&srv, 0, sizeof(srv));
	if (wbt_server_start(&srv, NULL) < 0 || wbt_mkdtemp(rundir, sizeof(rundir), "sweepbench") < 0)
		goto done;
	setenv("WB_DIR", rundir, 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	snprintf(errlog, sizeof(errlog), "%s/agent.err", rundir);
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		if (only && strcmp(only, fns[f].fn) != 0)
			continue;
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			double bests[64], reaches[64], secs[64];
			char num[32];
			size_t nreach = 0;
			int n = seeds < 64 ? seeds : 64;
			for (int s = 0; s < n; s++) {
				int reach;
				if (one(&srv, argv[1], fns[f].fn, methods[m], s, trials, fns[f].min, fns[f].tol, &bests[s],
					&reach, &secs[s], errlog))
					goto done;
				if (reach)
					reaches[nreach++] = reach;
			}
			printf("{\"bench\":\"sweep_e2e_%s_%s_median_best\",\"value\":%.6g,\"unit\":\"f\",\"seeds\":%d,"
			       "\"trials\":%d,\"min\":%g}\n",
			       fns[f].fn, methods[m], median(bests, (size_t)n), n, trials, fns[f].min);
			printf("{\"bench\":\"sweep_e2e_%s_%s_seeds_within\",\"value\":%zu,\"unit\":\"seeds\",\"of\":%d,"
			       "\"tolerance\":%g}\n",
			       fns[f].fn, methods[m], nreach, n, fns[f].tol);
			if (nreach) /* JSON has no NaN: no seed got there is null */
				snprintf(num, sizeof(num), "%.6g", median(reaches, nreach));
			else
				snprintf(num, sizeof(num), "null");
			printf("{\"bench\":\"sweep_e2e_%s_%s_median_trials_to_reach\",\"value\":%s,\"unit\":\"trials\","
			       "\"of_seeds\":%zu}\n",
			       fns[f].fn, methods[m], num, nreach);
			printf("{\"bench\":\"sweep_e2e_%s_%s_seconds_per_trial\",\"value\":%.4f,\"unit\":\"s\"}\n",
			       fns[f].fn, methods[m], median(secs, (size_t)n));
			fflush(stdout);
		}
	}
	ret = 0;
done:
	wbt_server_cleanup(&srv);
	if (rundir[0] && !getenv("WBT_KEEP"))
		wbt_rm_rf(rundir);
	return ret;
}

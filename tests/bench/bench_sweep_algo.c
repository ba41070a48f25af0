/*
 * bench_sweep_algo.c — the quality and speed of the sweep samplers, in
 * process (wbs__sweep_suggest called directly, no server): Branin and
 * Hartmann-6 (tests/bench/sweep_fns.h), 200 trials, 10 seeds, for wb's
 * bayes (multivariate TPE, what sweeps use), bayes with independent
 * parameters (the alternative, for comparison) and random. For each it
 * prints the median best value, the seeds that got within 0.01 (Branin) /
 * 0.1 (Hartmann-6) of the minimum, and the median trials that took (null
 * when fewer than half the seeds got there); then the time of one bayes
 * suggestion at 200 trials (2-D, 6-D) and 1,000 finished trials (6-D): the
 * median of 21, in CPU time of the calling thread (wall time on a shared
 * machine measures the neighbours).
 * tests/bench/bench_sweep_optuna.py prints the same for Optuna.
 *
 * One JSON object a line: {"bench":"<name>","value":<number>,"unit":"<unit>"}.
 * WB_BENCH_SWEEP_SEEDS and WB_BENCH_SWEEP_TRIALS change 10 and 200.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "sweep/sweep_int.h"
#include "sweep_fns.h"

typedef struct fn {
	const char *name;
	const char *head;
	int dims;
	double (*f)(const double *);
	double min, tol;
} fn;

static double wrap_branin(const double *x)
{
	return wb_branin(x);
}

static double wrap_hartmann6(const double *x)
{
	return wb_hartmann6(x);
}

static const fn FNS[] = {
	{"branin", WB_BRANIN_SPEC_HEAD, 2, wrap_branin, WB_BRANIN_MIN, 0.01},
	{"hartmann6", WB_HARTMANN6_SPEC_HEAD, 6, wrap_hartmann6, WB_HARTMANN6_MIN, 0.1},
};

enum { V_BAYES, V_BAYES_INDEPENDENT, V_RANDOM, V_COUNT };
static const char *const VARIANT[V_COUNT] = {"bayes", "bayes_independent", "random"};

/* CPU time of this thread: the suggestion's own cost, whatever else the
 * (shared, often loaded) machine runs meanwhile. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *name, double value, const char *unit)
{
	if (isnan(value))
		printf("{\"bench\":\"%s\",\"value\":null,\"unit\":\"%s\"}\n", name, unit);
	else
		printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", name, value, unit);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static wbs__sweep_spec *make_spec(const fn *f, const char *method, int seed)
{
	char text[1024], err[256];
	const char *m = strstr(f->head, "\"bayes\"");
	wbs__sweep_spec *s = NULL;

	/* the head's method swapped for the variant's */
	snprintf(text, sizeof(text), "%.*s\"%s\"%s,\"seed\":%d}", (int)(m - f->head), f->head, method, m + 7, seed);
	if (wbs__sweep_spec_parse(text, strlen(text), &s, err, sizeof(err))) {
		fprintf(stderr, "bench_sweep_algo: %s\n", err);
		exit(1);
	}
	return s;
}

/* The function at params {"x1":..,"x2":..}. */
static double evaluate(const fn *f, const char *params)
{
	cJSON *j = cJSON_Parse(params);
	double x[6];

	for (int d = 0; d < f->dims; d++) {
		char key[8];
		snprintf(key, sizeof(key), "x%d", d + 1);
		x[d] = cJSON_GetObjectItemCaseSensitive(j, key)->valuedouble;
	}
	cJSON_Delete(j);
	return f->f(x);
}

static char *suggest(const wbs__sweep_spec *s, int variant, const wbs__sweep_trial *t, size_t n, uint64_t num)
{
	char *params = NULL, err[128];

	if (variant == V_BAYES_INDEPENDENT) {
		wbs__tpe_opts o = wbs__tpe_default;
		wbs__sweep_point pt;
		o.multivariate = 0;
		pt.present = calloc(s->np, 1);
		pt.x = calloc(s->np, sizeof(double));
		if (wbs__sweep_tpe_opts(s, t, n, num, &o, &pt, err, sizeof(err)) == 0)
			params = wbs__sweep_point_json(s, &pt);
		free(pt.present);
		free(pt.x);
	} else if (wbs__sweep_suggest(s, t, n, num, &params, err, sizeof(err)) != 0) {
		params = NULL;
	}
	if (!params) {
		fprintf(stderr, "bench_sweep_algo: suggest failed: %s\n", err);
		exit(1);
	}
	return params;
}

/* One sweep of `trials` sequential trials; the best value, and the trial
 * (1-based) that first got within tol (0: never). */
static double run(const fn *f, int variant, int seed, int trials, int *reached)
{
	wbs__sweep_spec *s = make_spec(f, variant == V_RANDOM ? "random" : "bayes", seed);
	wbs__sweep_trial *t = calloc((size_t)trials, sizeof(*t));
	double best = INFINITY;

	*reached = 0;
	for (int i = 0; i < trials; i++) {
		char *p = suggest(s, variant, t, (size_t)i, (uint64_t)i);
		double v = evaluate(f, p);
		t[i].params = p;
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = v;
		if (v < best)
			best = v;
		if (!*reached && best - f->min <= f->tol)
			*reached = i + 1;
	}
	for (int i = 0; i < trials; i++)
		free((char *)t[i].params);
	free(t);
	wbs__sweep_spec_free(s);
	return best;
}

/* Milliseconds of one bayes suggestion with n finished random trials. */
static double suggest_ms(const fn *f, int n)
{
	wbs__sweep_spec *rs = make_spec(f, "random", 1), *bs = make_spec(f, "bayes", 1);
	wbs__sweep_trial *t = calloc((size_t)n, sizeof(*t));
	double times[21], ms;

	for (int i = 0; i < n; i++) {
		char *p = suggest(rs, V_RANDOM, NULL, 0, (uint64_t)i);
		t[i].params = p;
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = evaluate(f, p);
	}
	for (int r = 0; r < 21; r++) {
		double t0 = cpu_s();
		free(suggest(bs, V_BAYES, t, (size_t)n, (uint64_t)(n + r)));
		times[r] = (cpu_s() - t0) * 1e3;
	}
	ms = median(times, 21);
	for (int i = 0; i < n; i++)
		free((char *)t[i].params);
	free(t);
	wbs__sweep_spec_free(rs);
	wbs__sweep_spec_free(bs);
	return ms;
}

int main(void)
{
	const char *e;
	int seeds = (e = getenv("WB_BENCH_SWEEP_SEEDS")) ? atoi(e) : 10;
	int trials = (e = getenv("WB_BENCH_SWEEP_TRIALS")) ? atoi(e) : 200;
	double *bests = calloc((size_t)seeds, sizeof(double)), *reach = calloc((size_t)seeds, sizeof(double));
	char name[128];

	if (seeds < 1 || trials < 1 || !bests || !reach)
		return 1;
	for (size_t fi = 0; fi < sizeof(FNS) / sizeof(FNS[0]); fi++) {
		const fn *f = &FNS[fi];
		for (int v = 0; v < V_COUNT; v++) {
			int within = 0, nreach = 0;
			double t0 = now_s();
			for (int seed = 0; seed < seeds; seed++) {
				int reached;
				bests[seed] = run(f, v, seed, trials, &reached);
				within += reached > 0;
				if (reached)
					reach[nreach++] = reached;
			}
			snprintf(name, sizeof(name), "sweep_%s_%s_median_best", f->name, VARIANT[v]);
			emit(name, median(bests, seeds), "value");
			snprintf(name, sizeof(name), "sweep_%s_%s_seeds_within_%g", f->name, VARIANT[v], f->tol);
			emit(name, within, "seeds");
			/* the median over all seeds, a seed that never got there counting as never */
			for (int k = nreach; k < seeds; k++)
				reach[k] = INFINITY;
			snprintf(name, sizeof(name), "sweep_%s_%s_median_trials_to_within", f->name, VARIANT[v]);
			{
				double m = median(reach, seeds);
				emit(name, isfinite(m) ? m : NAN, "trials");
			}
			snprintf(name, sizeof(name), "sweep_%s_%s_seconds", f->name, VARIANT[v]);
			emit(name, now_s() - t0, "s");
		}
	}
	emit("sweep_bayes_suggest_200_trials_2d", suggest_ms(&FNS[0], 200), "ms");
	emit("sweep_bayes_suggest_200_trials_6d", suggest_ms(&FNS[1], 200), "ms");
	emit("sweep_bayes_suggest_1000_trials_6d", suggest_ms(&FNS[1], 1000), "ms");
	free(bests);
	free(reach);
	return 0;
}

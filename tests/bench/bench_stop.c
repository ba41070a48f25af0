/*
 * bench_stop.c — early stopping (server/sweep/stop.c) on simulated learning
 * curves, in process: what each rule spends and what it keeps.
 *
 * A trial's curve is loss(t) = a + b·t^-c + noise for t = 1..T, with a, b, c
 * from the trial's parameters x1, x2, x3 as wb's random sampler draws them
 * (the spec's seed is the bench seed), so some curves start badly and end
 * well. N trials run on W workers asynchronously, one step per worker per
 * tick, in worker order; a freed worker takes the next trial at once. After
 * each step the rule decides for that trial against every trial started so
 * far, as Optuna's pruners see trials in an ask/tell loop. A trial that
 * reaches T completes with its value at T.
 *
 * Two budgets: N_TRIALS trials (the same trials, fewer steps), and a step
 * budget of a fifth of the full search of those (trials are started until
 * it is spent, so a rule that stops early tries more). Per rule (none = no
 * stopping) and over 10 seeds (WB_BENCH_STOP_SEEDS), one JSON object a line:
 *   stop_<rule>_[budget_]best_final_median   median over seeds of the best value at T
 *   stop_<rule>_[budget_]best_final_mean     its mean
 *   stop_<rule>_[budget_]steps_mean          steps spent per seed
 *   stop_<rule>_[budget_]trials_mean         trials started per seed
 * and what one decision costs at 1,000 trials (stop_<rule>_decide_1000_trials).
 *
 * `bench_stop --curves SEED` prints the curves of that seed instead, one
 * trial a line ({"num": i, "loss": [...]}, every value exact), for
 * tests/bench/bench_stop_optuna.py to run Optuna's pruners on the same ones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "sweep/stop.h"
#include "sweep/sweep_int.h"

#define N_TRIALS 100 /* the trial budget */
#define BUDGET (20 * T) /* the step budget: a fifth of the full search of N_TRIALS */
#define N_CURVES 600    /* enough for the step budget at ASHA's spending */
#define WORKERS 4
#define T 81
#define SEEDS 10 /* WB_BENCH_STOP_SEEDS overrides, up to SEEDS_MAX */
#define SEEDS_MAX 100
#define NOISE 0.02

typedef struct sim_trial {
	wbs__stop_point pts[T];
	size_t npts;
} sim_trial;

static double curves[N_CURVES][T];

/* The curves of seed: params from the random sampler, noise from the sweep rng. */
static int make_curves(unsigned seed)
{
	char spec[512], err[256], *params = NULL;
	wbs__sweep_spec *s = NULL;
	int rc = -1;

	snprintf(spec, sizeof(spec),
		 "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"seed\":%u,"
		 "\"parameters\":{\"x1\":{\"min\":0.0,\"max\":1.0},\"x2\":{\"min\":0.0,\"max\":1.0},"
		 "\"x3\":{\"min\":0.0,\"max\":1.0}}}",
		 seed);
	if (wbs__sweep_spec_parse(spec, strlen(spec), &s, err, sizeof(err))) {
		fprintf(stderr, "bench_stop: spec: %s\n", err);
		goto done;
	}
	for (uint64_t i = 0; i < N_CURVES; i++) {
		cJSON *p;
		double a, b, c;
		wbs__rng rng;
		if (wbs__sweep_suggest(s, NULL, 0, i, &params, err, sizeof(err))) {
			fprintf(stderr, "bench_stop: suggest: %s\n", err);
			goto done;
		}
		p = cJSON_Parse(params);
		if (!p)
			goto done;
		a = 0.05 + 0.45 * cJSON_GetObjectItem(p, "x1")->valuedouble; /* where it ends */
		b = 0.3 + 1.7 * cJSON_GetObjectItem(p, "x2")->valuedouble;   /* how far above it starts */
		c = 0.15 + 1.35 * cJSON_GetObjectItem(p, "x3")->valuedouble; /* how fast it gets there */
		cJSON_Delete(p);
		free(params);
		params = NULL;
		wbs__rng_seed(&rng, seed, i, 0x6e6f697365ull /* "noise" */);
		for (int t = 1; t <= T; t++)
			curves[i][t - 1] = a + b * pow(t, -c) + NOISE * wbs__rng_normal(&rng);
	}
	rc = 0;
done:
	free(params);
	wbs__sweep_spec_free(s);
	return rc;
}

/*
 * Run trials on the workers under rule et (NULL: no stopping): a worker
 * starts a new trial while fewer than max_trials have started and, with a
 * step budget, while fewer than budget steps were spent (running trials
 * then go on to their end). *best = the best value at T, *steps = steps
 * spent, *trials = trials started. 0, or -1 on error.
 */
static int simulate(const char *et, unsigned seed, size_t max_trials, uint64_t budget, double *best,
		    uint64_t *steps, size_t *trials)
{
	static sim_trial st[N_CURVES];
	static wbs__stop_trial t[N_CURVES];
	wbs__sweep_spec *s = NULL;
	wbs__stop_rule r = {0};
	char spec[512], err[256];
	int slot[WORKERS], rc = -1;
	size_t started = 0, busy = 0;

	if (et) {
		snprintf(spec, sizeof(spec),
			 "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},\"seed\":%u,"
			 "\"parameters\":{\"x\":{\"values\":[1]}},\"early_terminate\":%s}",
			 seed, et);
		if (wbs__sweep_spec_parse(spec, strlen(spec), &s, err, sizeof(err))) {
			fprintf(stderr, "bench_stop: %s: %s\n", et, err);
			goto done;
		}
		wbs__stop_rule_of(s, &r);
	}
	*best = INFINITY;
	*steps = 0;
	for (int w = 0; w < WORKERS; w++)
		slot[w] = -1;
	do {
		busy = 0;
		for (int w = 0; w < WORKERS; w++) {
			sim_trial *x;
			size_t i;
			int64_t it;
			double v;
			if (slot[w] < 0) {
				if (started == max_trials || (budget && *steps >= budget))
					continue;
				st[started].npts = 0;
				t[started] = (wbs__stop_trial){.num = started, .state = WBS__TRIAL_RUNNING,
							       .pts = st[started].pts};
				slot[w] = (int)started++;
			}
			busy++;
			i = (size_t)slot[w];
			x = &st[i];
			it = (int64_t)x->npts + 1;
			v = curves[i][it - 1];
			x->pts[x->npts++] = (wbs__stop_point){it, v};
			t[i].npts = x->npts;
			++*steps;
			if (it == T) {
				t[i].state = WBS__TRIAL_DONE;
				if (v < *best)
					*best = v;
				slot[w] = -1;
			} else if (et) {
				wbs__stop_decision d;
				if (wbs__stop_decide(&r, t, started, i, it, &d, err, sizeof(err))) {
					fprintf(stderr, "bench_stop: decide: %s\n", err);
					goto done;
				}
				if (d.stop) {
					t[i].state = WBS__TRIAL_DONE;
					slot[w] = -1;
				}
			}
		}
	} while (busy);
	*trials = started;
	rc = 0;
done:
	wbs__sweep_spec_free(s);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void emit(const char *rule, const char *what, double value, const char *unit)
{
	printf("{\"bench\":\"stop_%s_%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", rule, what, value, unit);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * What one decision costs at 1,000 trials of 81 points each: the median
 * over 101 calls of the time of one call, for trial 999 reporting
 * iteration it (27 is a rung, 28 is not) under rule et.
 */
static int time_decide(const char *name, const char *et, int64_t it)
{
	enum { NT = 1000, REPS = 101 };
	static wbs__stop_point pts[NT][T];
	static wbs__stop_trial t[NT];
	double dt[REPS];
	char spec[512], err[256];
	wbs__sweep_spec *s = NULL;
	wbs__stop_rule r;
	int rc = -1;

	snprintf(spec, sizeof(spec),
		 "{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"minimize\"},"
		 "\"parameters\":{\"x\":{\"values\":[1]}},\"early_terminate\":%s}",
		 et);
	if (wbs__sweep_spec_parse(spec, strlen(spec), &s, err, sizeof(err)) || make_curves(0))
		goto done;
	wbs__stop_rule_of(s, &r);
	for (size_t i = 0; i < NT; i++) {
		for (int k = 0; k < T; k++)
			pts[i][k] = (wbs__stop_point){k + 1, curves[i % N_CURVES][k]};
		t[i] = (wbs__stop_trial){.num = i, .state = WBS__TRIAL_RUNNING, .pts = pts[i], .npts = T};
	}
	t[NT - 1].npts = (size_t)it;
	for (int k = 0; k < REPS; k++) {
		wbs__stop_decision d;
		double t0 = now_ns();
		if (wbs__stop_decide(&r, t, NT, NT - 1, it, &d, err, sizeof(err)))
			goto done;
		dt[k] = now_ns() - t0;
	}
	emit(name, "decide_1000_trials", median(dt, REPS) / 1000.0, "us");
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "bench_stop: %s: %s\n", name, err);
	wbs__sweep_spec_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name, *et;
	} RULES[] = {
		{"none", NULL},
		{"asha", "{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}"},
		{"hyperband", "{\"type\":\"hyperband\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}"},
		{"median", "{\"type\":\"median\",\"grace_iter\":5,\"min_trials\":3}"},
	};
	enum { NR = sizeof(RULES) / sizeof(RULES[0]) };
	static const struct {
		const char *suffix;
		size_t max_trials;
		uint64_t budget;
	} MODES[] = {{"", N_TRIALS, 0}, {"budget_", N_CURVES, BUDGET}};
	static double best[NR][SEEDS_MAX];
	const char *env = getenv("WB_BENCH_STOP_SEEDS");
	unsigned seeds = env ? (unsigned)strtoul(env, NULL, 10) : SEEDS;

	if (argc == 3 && !strcmp(argv[1], "--curves")) {
		unsigned seed = (unsigned)strtoul(argv[2], NULL, 10);
		if (make_curves(seed))
			return 1;
		for (int i = 0; i < N_CURVES; i++) {
			printf("{\"num\":%d,\"loss\":[", i);
			for (int k = 0; k < T; k++)
				printf("%s%.17g", k ? "," : "", curves[i][k]);
			printf("]}\n");
		}
		return 0;
	}
	if (argc != 1 || seeds < 1 || seeds > SEEDS_MAX) {
		fprintf(stderr, "usage: bench_stop [--curves SEED] (WB_BENCH_STOP_SEEDS 1..%d)\n", SEEDS_MAX);
		return 2;
	}
	if (time_decide("asha_rung", RULES[1].et, 27) || time_decide("asha_no_rung", RULES[1].et, 28) ||
	    time_decide("hyperband_rung", RULES[2].et, 27) || time_decide("median", RULES[3].et, 40))
		return 1;
	for (size_t m = 0; m < sizeof(MODES) / sizeof(MODES[0]); m++) {
		double mean_steps[NR] = {0}, mean_trials[NR] = {0};
		for (unsigned seed = 0; seed < seeds; seed++) {
			if (make_curves(seed))
				return 1;
			for (int r = 0; r < NR; r++) {
				uint64_t steps = 0;
				size_t trials = 0;
				if (simulate(RULES[r].et, seed, MODES[m].max_trials, MODES[m].budget, &best[r][seed],
					     &steps, &trials))
					return 1;
				mean_steps[r] += (double)steps / seeds;
				mean_trials[r] += (double)trials / seeds;
				fprintf(stderr, "%sseed %u %-9s best %.4f steps %llu trials %zu\n", MODES[m].suffix,
					seed, RULES[r].name, best[r][seed], (unsigned long long)steps, trials);
			}
		}
		for (int r = 0; r < NR; r++) {
			char what[64];
			double mean = 0;
			for (unsigned k = 0; k < seeds; k++)
				mean += best[r][k] / seeds;
			snprintf(what, sizeof(what), "%sbest_final_median", MODES[m].suffix);
			emit(RULES[r].name, what, median(best[r], seeds), "loss");
			snprintf(what, sizeof(what), "%sbest_final_mean", MODES[m].suffix);
			emit(RULES[r].name, what, mean, "loss");
			snprintf(what, sizeof(what), "%ssteps_mean", MODES[m].suffix);
			emit(RULES[r].name, what, mean_steps[r], "steps");
			snprintf(what, sizeof(what), "%strials_mean", MODES[m].suffix);
			emit(RULES[r].name, what, mean_trials[r], "trials");
		}
	}
	return 0;
}

/*
 * test_tpe.c — the bayes sampler (server/sweep/tpe.c): it beats random on
 * a simple quadratic, the constant liar spreads the trials of parallel
 * agents, failed trials are left out, every kind of parameter (log, int,
 * q, categorical, conditional) comes out valid, and it is deterministic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sweep/sweep.h"

static wbs__sweep_spec *parse_ok(const char *text)
{
	wbs__sweep_spec *s = NULL;
	char err[256] = "";

	if (wbs__sweep_spec_parse(text, strlen(text), &s, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	return s;
}

static char *suggest(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num)
{
	char *params = NULL, err[128];

	if (wbs__sweep_suggest(s, t, n, num, &params, err, sizeof(err)) != 0)
		fail_msg("suggest: %s", err);
	return params;
}

static double num_at(const char *params, const char *key)
{
	cJSON *j = cJSON_Parse(params);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;

	cJSON_Delete(j);
	return d;
}

static double quadratic(const char *params)
{
	double x = num_at(params, "x"), y = num_at(params, "y");

	return (x - 0.3) * (x - 0.3) + (y - 0.7) * (y - 0.7);
}

static void free_trials(wbs__sweep_trial *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)t[i].params);
}

/* The best of `trials` sequential trials of method on the quadratic. */
static double best_of(const char *method, int seed, int trials)
{
	char text[256];
	wbs__sweep_spec *s;
	wbs__sweep_trial t[200];
	double best = INFINITY;

	snprintf(text, sizeof(text),
		 "{\"method\":\"%s\",\"seed\":%d,\"metric\":{\"name\":\"f\"},\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},"
		 "\"y\":{\"min\":0.0,\"max\":1.0}}}",
		 method, seed);
	s = parse_ok(text);
	for (int i = 0; i < trials; i++) {
		t[i].params = suggest(s, t, (size_t)i, (uint64_t)i);
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = quadratic(t[i].params);
		best = fmin(best, t[i].value);
	}
	free_trials(t, (size_t)trials);
	wbs__sweep_spec_free(s);
	return best;
}

static void test_tpe__beats_random_on_a_quadratic(void **state)
{
	int wins = 0;
	(void)state;

	/* 60 trials: 10 random, then 50 learned; random's best is about 0.01 */
	for (int seed = 0; seed < 7; seed++) {
		double b = best_of("bayes", seed, 60), r = best_of("random", seed, 60);
		wins += b < r / 4;
	}
	if (wins < 6)
		fail_msg("bayes beat random fourfold in %d of 7 seeds", wins);
}

/*
 * K suggestions made one after another while the earlier ones still run
 * (liar: they are passed as RUNNING; else they are left out, as if the
 * sampler did not know of them), after 30 finished trials of the
 * quadratic. Returns the smallest distance between two of the K points.
 */
static double closest_while_running(int liar, int seed)
{
	enum { DONE = 30, K = 6 };
	char text[256];
	wbs__sweep_spec *s, *r;
	wbs__sweep_trial t[DONE + K];
	double x[K], y[K], closest = INFINITY;

	snprintf(text, sizeof(text),
		 "{\"method\":\"bayes\",\"seed\":%d,\"metric\":{\"name\":\"f\"},\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},"
		 "\"y\":{\"min\":0.0,\"max\":1.0}}}",
		 seed);
	s = parse_ok(text);
	r = parse_ok("{\"method\":\"random\",\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":1.0}}}");
	for (int i = 0; i < DONE; i++) {
		t[i].params = suggest(r, NULL, 0, (uint64_t)(i + 1000 * seed));
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = quadratic(t[i].params);
	}
	for (int k = 0; k < K; k++) {
		char *p = suggest(s, t, liar ? (size_t)(DONE + k) : DONE, (uint64_t)(DONE + k));
		x[k] = num_at(p, "x");
		y[k] = num_at(p, "y");
		for (int m = 0; m < k; m++)
			closest = fmin(closest, hypot(x[k] - x[m], y[k] - y[m]));
		t[DONE + k].params = p;
		t[DONE + k].state = WBS__TRIAL_RUNNING;
		t[DONE + k].value = NAN;
	}
	free_trials(t, DONE + K);
	wbs__sweep_spec_free(s);
	wbs__sweep_spec_free(r);
	return closest;
}

static void test_tpe__constant_liar_spreads_parallel_trials(void **state)
{
	int wider = 0;
	(void)state;

	/* without the running trials the good region is handed out again and
	 * again (points close together); with them as worst, they spread */
	for (int seed = 0; seed < 9; seed++) {
		double with = closest_while_running(1, seed), without = closest_while_running(0, seed);
		assert_true(with > 0); /* K distinct points */
		wider += with > 3 * without;
	}
	if (wider < 8)
		fail_msg("the liar spread the points in only %d of 9 seeds", wider);
}

/* A discrete space with a clear winner: the liar alone lowers its odds but
 * does not rule it out; a point that is running now is not handed out again
 * while another candidate differs. */
static void test_tpe__no_running_point_twice(void **state)
{
	enum { DONE = 30, K = 5 };
	wbs__sweep_spec *s = parse_ok("{\"method\":\"bayes\",\"metric\":{\"name\":\"f\"},\"parameters\":{"
				      "\"c\":{\"values\":[0,1,2,3,4,5,6,7,8,9]}}}");
	wbs__sweep_trial t[DONE + K];
	int seen[10] = {0};
	char buf[32];
	(void)state;

	for (int i = 0; i < DONE; i++) {
		snprintf(buf, sizeof(buf), "{\"c\":%d}", i % 10);
		t[i].params = strdup(buf);
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = fabs((double)(i % 10) - 3.0); /* best at c = 3 */
	}
	for (int k = 0; k < K; k++) {
		char *p = suggest(s, t, (size_t)(DONE + k), (uint64_t)(DONE + k));
		int c = (int)num_at(p, "c");
		if (seen[c]++)
			fail_msg("c = %d handed out while a trial with it runs (ask %d)", c, k);
		t[DONE + k].params = p;
		t[DONE + k].state = WBS__TRIAL_RUNNING;
		t[DONE + k].value = NAN;
	}
	assert_int_equal(seen[3], 1); /* the first ask gets the winner */
	free_trials(t, DONE + K);
	wbs__sweep_spec_free(s);
}

static void test_tpe__failed_trials_left_out(void **state)
{
	wbs__sweep_spec *b = parse_ok("{\"method\":\"bayes\",\"metric\":{\"name\":\"f\"},\"parameters\":{"
				      "\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":1.0}}}");
	wbs__sweep_spec *r = parse_ok("{\"method\":\"random\",\"parameters\":{"
				      "\"x\":{\"min\":0.0,\"max\":1.0},\"y\":{\"min\":0.0,\"max\":1.0}}}");
	wbs__sweep_trial t[16];
	char *pb, *pr;
	(void)state;

	/* 9 with a value, 6 failed or without a finite value: still the random startup */
	for (int i = 0; i < 15; i++) {
		t[i].params = suggest(r, NULL, 0, (uint64_t)i);
		t[i].state = i < 9 ? WBS__TRIAL_DONE : i < 13 ? WBS__TRIAL_FAILED : WBS__TRIAL_DONE;
		t[i].value = i < 9 ? quadratic(t[i].params) : i < 13 ? NAN : INFINITY;
	}
	pb = suggest(b, t, 15, 15);
	pr = suggest(r, NULL, 0, 15);
	assert_string_equal(pb, pr);
	free(pb);
	/* a tenth value: the estimator takes over */
	t[15].params = suggest(r, NULL, 0, 15);
	t[15].state = WBS__TRIAL_DONE;
	t[15].value = quadratic(t[15].params);
	pb = suggest(b, t, 16, 16);
	free(pr);
	pr = suggest(r, NULL, 0, 16);
	assert_string_not_equal(pb, pr);
	free(pb);
	free(pr);
	free_trials(t, 16);
	wbs__sweep_spec_free(b);
	wbs__sweep_spec_free(r);
}

static void test_tpe__every_kind_of_parameter(void **state)
{
	wbs__sweep_spec *s = parse_ok(
		"method: bayes\nmetric: {name: acc, goal: maximize}\nseed: 5\nparameters:\n"
		"  lr: {distribution: log_uniform_values, min: 1.0e-5, max: 0.1}\n"
		"  batch: {distribution: q_log_uniform_values, min: 16, max: 512, q: 16}\n"
		"  layers: {min: 1, max: 6}\n"
		"  drop: {distribution: q_uniform, min: 0, max: 0.5, q: 0.05}\n"
		"  w: {distribution: normal, mu: 0, sigma: 2}\n"
		"  opt:\n    parameters:\n      name: {values: [sgd, adam, rmsprop]}\n"
		"      momentum: {min: 0.0, max: 0.99, condition: {parameter: opt.name, equals: sgd}}\n"
		"      beta: {distribution: inv_log_uniform_values, min: 0.001, max: 0.1,"
		" condition: {parameter: opt.name, in: [adam, rmsprop]}}\n");
	wbs__sweep_trial t[80];
	int sgd = 0, other = 0;
	(void)state;

	for (int i = 0; i < 80; i++) {
		char *p = suggest(s, t, (size_t)i, (uint64_t)i), *again = suggest(s, t, (size_t)i, (uint64_t)i);
		cJSON *j = cJSON_Parse(p), *opt = cJSON_GetObjectItemCaseSensitive(j, "opt");
		const char *name = cJSON_GetObjectItemCaseSensitive(opt, "name")->valuestring;
		double lr = num_at(p, "lr"), batch = num_at(p, "batch"), layers = num_at(p, "layers"),
		       drop = num_at(p, "drop");
		int is_sgd = !strcmp(name, "sgd");

		assert_string_equal(p, again); /* deterministic */
		assert_true(lr >= 1e-5 * 0.999 && lr <= 0.1 * 1.001);
		assert_true(fmod(batch, 16) == 0 && batch >= 16 && batch <= 512);
		assert_true(layers >= 1 && layers <= 6 && layers == floor(layers));
		assert_true(fabs(drop / 0.05 - nearbyint(drop / 0.05)) < 1e-9 && drop >= 0 && drop <= 0.5 + 1e-9);
		assert_true(isfinite(num_at(p, "w")));
		assert_int_equal(cJSON_HasObjectItem(opt, "momentum"), is_sgd);
		assert_int_equal(cJSON_HasObjectItem(opt, "beta"), !is_sgd);
		sgd += is_sgd;
		other += !is_sgd;
		/* accuracy is best with adam (then sgd, rmsprop), lr near 1e-3, 3 layers */
		t[i].params = p;
		t[i].state = WBS__TRIAL_DONE;
		t[i].value = (is_sgd ? 0.8 : !strcmp(name, "adam") ? 0.9 : 0.7) - 0.05 * fabs(log10(lr) + 3) -
			     0.02 * fabs(layers - 3);
		cJSON_Delete(j);
		free(again);
	}
	assert_true(sgd > 0 && other > 0);
	/* maximize: the last 30 trials are mostly the best optimizer (random: a third) */
	{
		int good = 0;
		for (int i = 50; i < 80; i++)
			good += strstr(t[i].params, "\"adam\"") != NULL;
		if (good < 18)
			fail_msg("only %d of the last 30 trials use the best optimizer", good);
	}
	free_trials(t, 80);
	wbs__sweep_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpe__beats_random_on_a_quadratic),
		cmocka_unit_test(test_tpe__constant_liar_spreads_parallel_trials),
		cmocka_unit_test(test_tpe__no_running_point_twice),
		cmocka_unit_test(test_tpe__failed_trials_left_out),
		cmocka_unit_test(test_tpe__every_kind_of_parameter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

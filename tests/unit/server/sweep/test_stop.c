/*
 * test_stop.c — early stopping (server/sweep/stop.c): the early_terminate
 * spec (normalised forms, refusals with paths), and ASHA, Hyperband and
 * median decisions on hand-built curves whose answers are worked out by
 * hand in the comments; decisions do not depend on the trials' order.
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

#include "sweep/stop.h"
#include "sweep/sweep.h"

#define SPEC_HEAD                                                                                  \
	"{\"method\":\"random\",\"metric\":{\"name\":\"loss\",\"goal\":\"%s\"},\"seed\":5,"                \
	"\"parameters\":{\"x\":{\"min\":0.0,\"max\":1.0}},\"early_terminate\":%s}"

/* Parse a spec with early_terminate et; NULL and err on refusal. */
static wbs__sweep_spec *spec_with(const char *goal, const char *et, char *err, size_t errlen)
{
	char text[1024];
	wbs__sweep_spec *s = NULL;

	snprintf(text, sizeof(text), SPEC_HEAD, goal, et);
	err[0] = 0;
	if (wbs__sweep_spec_parse(text, strlen(text), &s, err, errlen))
		return NULL;
	return s;
}

static wbs__stop_rule rule_from(const char *goal, const char *et)
{
	char err[256];
	wbs__sweep_spec *s = spec_with(goal, et, err, sizeof(err));
	wbs__stop_rule r;

	if (!s)
		fail_msg("refused %s: %s", et, err);
	assert_int_not_equal(wbs__stop_rule_of(s, &r), WBS__STOP_NONE);
	r.iter = NULL; /* borrowed from s */
	wbs__sweep_spec_free(s);
	return r;
}

/* The normalised early_terminate of spec et, as text (caller frees). */
static char *norm_of(const char *et)
{
	char err[256], *json, *p, *q, *out;
	wbs__sweep_spec *s = spec_with("minimize", et, err, sizeof(err));

	if (!s)
		fail_msg("refused %s: %s", et, err);
	json = wbs__sweep_spec_json(s);
	p = strstr(json, "\"early_terminate\":");
	assert_non_null(p);
	p += strlen("\"early_terminate\":");
	q = strchr(p, '}');
	out = strndup(p, (size_t)(q - p + 1));
	free(json);
	wbs__sweep_spec_free(s);
	return out;
}

static void test_stop__spec_normalised(void **state)
{
	static const struct {
		const char *in, *norm;
	} C[] = {
		{"{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3,\"brackets\":1}",
		 "{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3,\"brackets\":1}"},
		{"{\"type\":\"asha\"}", "{\"type\":\"asha\",\"min_iter\":1,\"eta\":3,\"brackets\":1}"},
		/* W&B's hyperband: rungs from min_iter on, no bound */
		{"{\"type\":\"hyperband\",\"min_iter\":3,\"eta\":3}",
		 "{\"type\":\"hyperband\",\"min_iter\":3,\"eta\":3,\"brackets\":1}"},
		/* W&B's other form: max_iter and s: min_iter = 27 / 3^2, brackets 3, 9, 27 */
		{"{\"type\":\"hyperband\",\"max_iter\":27,\"s\":2,\"eta\":3}",
		 "{\"type\":\"hyperband\",\"min_iter\":3,\"max_iter\":27,\"eta\":3,\"brackets\":3}"},
		/* Hyperband's s_max + 1 = floor(log_3(81)) + 1 brackets by default */
		{"{\"type\":\"hyperband\",\"min_iter\":1,\"max_iter\":81}",
		 "{\"type\":\"hyperband\",\"min_iter\":1,\"max_iter\":81,\"eta\":3,\"brackets\":5}"},
		{"{\"type\":\"median\",\"iter\":\"epoch\"}",
		 "{\"type\":\"median\",\"iter\":\"epoch\",\"grace_iter\":1,\"min_trials\":3}"},
		{"{\"type\":\"median\",\"grace_iter\":0,\"min_trials\":1}",
		 "{\"type\":\"median\",\"grace_iter\":0,\"min_trials\":1}"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
		char *got = norm_of(C[i].in), *again;
		if (strcmp(got, C[i].norm))
			fail_msg("%s normalised to %s, want %s", C[i].in, got, C[i].norm);
		again = norm_of(got); /* the normalised form is a fixed point */
		assert_string_equal(again, got);
		free(again);
		free(got);
	}
}

static void test_stop__spec_accessor(void **state)
{
	char err[256];
	wbs__sweep_spec *s = spec_with("maximize", "{\"type\":\"asha\",\"iter\":\"epoch\",\"max_iter\":81}", err,
				       sizeof(err));
	wbs__stop_rule r;
	(void)state;

	assert_non_null(s);
	assert_int_equal(wbs__stop_rule_of(s, &r), WBS__STOP_ASHA);
	assert_string_equal(r.iter, "epoch");
	assert_int_equal(r.maximize, 1);
	assert_int_equal(r.seed, 5);
	assert_int_equal(r.min_iter, 1);
	assert_int_equal(r.max_iter, 81);
	assert_int_equal(r.eta, 3);
	assert_int_equal(r.brackets, 1);
	wbs__sweep_spec_free(s);
	/* no early_terminate: no rule */
	{
		const char *t = "{\"method\":\"random\",\"parameters\":{\"x\":{\"values\":[1]}}}";
		assert_int_equal(wbs__sweep_spec_parse(t, strlen(t), &s, err, sizeof(err)), 0);
		assert_int_equal(wbs__stop_rule_of(s, &r), WBS__STOP_NONE);
		wbs__sweep_spec_free(s);
	}
}

static void test_stop__spec_refusals_name_the_path(void **state)
{
	static const struct {
		const char *et, *err;
	} C[] = {
		{"3", "$.early_terminate: must be an object"},
		{"{\"min_iter\":1}", "$.early_terminate.type: required"},
		{"{\"type\":\"asah\"}", "$.early_terminate.type: must be asha, hyperband or median, not \"asah\""},
		{"{\"type\":3}", "$.early_terminate.type: must be asha"},
		{"{\"type\":\"asha\",\"eta\":1}", "$.early_terminate.eta: must be 2..1000"},
		{"{\"type\":\"asha\",\"min_iter\":1.5}", "$.early_terminate.min_iter: must be an integer"},
		{"{\"type\":\"asha\",\"min_iter\":0}", "$.early_terminate.min_iter: must be 1.."},
		{"{\"type\":\"asha\",\"min_iter\":9,\"max_iter\":3}",
		 "$.early_terminate.max_iter: must be above min_iter"},
		{"{\"type\":\"asha\",\"max_iter\":81,\"s\":2}",
		 "$.early_terminate.s: unknown member (asha takes type, iter, min_iter, max_iter, eta, brackets, grace_seconds)"},
		{"{\"type\":\"asha\",\"grace\":2}", "$.early_terminate.grace: unknown member"},
		{"{\"type\":\"hyperband\",\"strict\":true}",
		 "$.early_terminate.strict: unknown member "
		 "(hyperband takes type, iter, min_iter, max_iter, eta, brackets, grace_seconds, s)"},
		{"{\"type\":\"asha\",\"brackets\":2}",
		 "$.early_terminate.brackets: more than one bracket needs max_iter"},
		{"{\"type\":\"asha\",\"max_iter\":9,\"brackets\":4}",
		 "$.early_terminate.brackets: at most 3 with min_iter 1, max_iter 9 and eta 3"},
		{"{\"type\":\"hyperband\",\"s\":2}", "$.early_terminate.s: needs max_iter"},
		{"{\"type\":\"hyperband\",\"max_iter\":8,\"s\":2}",
		 "$.early_terminate.s: max_iter / eta^s is below 1"},
		{"{\"type\":\"hyperband\",\"max_iter\":27,\"s\":2,\"min_iter\":1}",
		 "$.early_terminate.s: give min_iter or s, not both"},
		{"{\"type\":\"median\",\"grace_iter\":-1}", "$.early_terminate.grace_iter: must be 0.."},
		{"{\"type\":\"median\",\"min_trials\":0}", "$.early_terminate.min_trials: must be 1..1000000"},
		{"{\"type\":\"median\",\"eta\":3}",
		 "$.early_terminate.eta: unknown member (median takes type, iter, grace_iter, min_trials, grace_seconds)"},
		{"{\"type\":\"asha\",\"iter\":\"\"}", "$.early_terminate.iter: must be a metric key"},
		{"{\"type\":\"asha\",\"iter\":7}", "$.early_terminate.iter: must be a metric key"},
	};
	char err[256];
	wbs__sweep_spec *s;
	(void)state;

	for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
		s = spec_with("minimize", C[i].et, err, sizeof(err));
		if (s)
			fail_msg("accepted %s", C[i].et);
		if (strncmp(err, C[i].err, strlen(C[i].err)))
			fail_msg("%s: got \"%s\", want \"%s...\"", C[i].et, err, C[i].err);
	}
	/* a rule needs the metric it compares by */
	{
		const char *t = "{\"method\":\"random\",\"parameters\":{\"x\":{\"values\":[1]}},"
				"\"early_terminate\":{\"type\":\"asha\"}}";
		assert_int_equal(wbs__sweep_spec_parse(t, strlen(t), &s, err, sizeof(err)), -1);
		assert_string_equal(err, "$.early_terminate: needs the sweep's metric ($.metric) to compare trials by");
	}
}

/* ---- decisions ---- */

#define MAXPTS 16
typedef struct curve {
	wbs__stop_point p[MAXPTS];
} curve;

static void trial_set(wbs__stop_trial *t, curve *c, uint64_t num, const int64_t *iters, const double *vals,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		c->p[i].iter = iters[i];
		c->p[i].value = vals[i];
	}
	t->num = num;
	t->state = WBS__TRIAL_RUNNING;
	t->pts = c->p;
	t->npts = n;
}

static wbs__stop_decision decide(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, size_t which,
				 int64_t it)
{
	wbs__stop_decision d;
	char err[128];

	if (wbs__stop_decide(r, t, n, which, it, &d, err, sizeof(err)))
		fail_msg("decide: %s", err);
	return d;
}

/*
 * ASHA, eta 3, one rung at iteration 1 reached by trials 0..8 in that order
 * with values 5 3 8 1 9 2 7 4 6 (minimize). A newcomer with m trials ahead
 * of it goes on when in the top max(1, floor((m+1)/3)):
 *   0: alone -> on          1: top 1 of {5,3}: 3 -> on
 *   2: top 1 of {5,3,8}: 8 -> stop (cut-off 3)
 *   3: top 1 of 4: 1 -> on  4: top 1 of 5: 9 -> stop (cut-off 1)
 *   5: top 2 of 6: {1,2} -> on
 *   6: top 2 of 7: {1,2}: 7 -> stop    7: top 2 of 8: 4 -> stop
 *   8: top 3 of 9: {1,2,3}: 6 -> stop (cut-off 3)
 */
static const double ASHA_V[9] = {5, 3, 8, 1, 9, 2, 7, 4, 6};
static const int ASHA_STOP[9] = {0, 0, 1, 0, 1, 0, 1, 1, 1};
static const double ASHA_CUT[9] = {NAN, 5, 3, 3, 1, 3, 2, 2, 3};

static void asha_rung_case(int maximize)
{
	wbs__stop_rule r = rule_from(maximize ? "maximize" : "minimize",
				     "{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}");
	wbs__stop_trial t[9];
	curve c[9];
	const int64_t one = 1;
	double sign = maximize ? -1 : 1;

	for (size_t i = 0; i < 9; i++) {
		double v = sign * ASHA_V[i];
		wbs__stop_decision d;
		trial_set(&t[i], &c[i], i, &one, &v, 1);
		d = decide(&r, t, i + 1, i, 1); /* asynchronous: only trials 0..i have reported */
		if (d.stop != ASHA_STOP[i])
			fail_msg("trial %zu (value %g): stop %d, want %d", i, v, d.stop, ASHA_STOP[i]);
		assert_int_equal(d.bracket, 0);
		assert_int_equal(d.rung, 0);
		assert_int_equal(d.rung_iter, 1);
		if (isnan(ASHA_CUT[i]))
			assert_true(isnan(d.cutoff));
		else
			assert_true(d.cutoff == sign * ASHA_CUT[i]);
	}
	/* rung statistics: 9 at iteration 1, a newcomer must be in the top floor(10/3) = 3: value 3 */
	{
		wbs__stop_rung *rg = NULL;
		size_t nr = 0;
		char err[128];
		assert_int_equal(wbs__stop_rungs(&r, t, 9, &rg, &nr, err, sizeof(err)), 0);
		assert_int_equal(nr, 4); /* 1, 3, 9, 27: none at max_iter */
		assert_int_equal(rg[0].iter, 1);
		assert_int_equal(rg[0].trials, 9);
		assert_true(rg[0].cutoff == sign * 3);
		assert_int_equal(rg[3].iter, 27);
		assert_int_equal(rg[1].trials, 0);
		assert_true(isnan(rg[1].cutoff));
		free(rg);
	}
}

static void test_stop__asha_rung_minimize(void **state)
{
	(void)state;
	asha_rung_case(0);
}

static void test_stop__asha_rung_maximize(void **state)
{
	(void)state;
	asha_rung_case(1);
}

/*
 * A trial judged at each rung it passes between two reports, and never again
 * at a rung judged before. min 1, eta 3: rungs 1, 3, 9, 27. Trials 0..2 have
 * values at 3 of 1, 2, 3 and at 9 of 0.5, 0.6, 0.7. Trial 3 reports 100 at
 * 1 and then 0.8 at 10: at rung 3 it must be in the top max(1, floor(4/3)):
 * 0.8 beats 1, on; at rung 9 it is worse than 0.5: stop, rung index 2.
 */
static void test_stop__asha_sparse_report_judged_at_each_rung(void **state)
{
	wbs__stop_rule r = rule_from("minimize", "{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}");
	wbs__stop_trial t[4];
	curve c[4];
	static const int64_t it3[] = {3, 9};
	static const int64_t it4[] = {1, 10};
	wbs__stop_decision d;
	(void)state;

	for (int i = 0; i < 3; i++) {
		double v[2] = {1.0 + i, 0.5 + 0.1 * i};
		trial_set(&t[i], &c[i], (uint64_t)i, it3, v, 2);
	}
	{
		double v[2] = {100.0, 0.8};
		trial_set(&t[3], &c[3], 3, it4, v, 2);
	}
	d = decide(&r, t, 4, 3, 10);
	assert_int_equal(d.stop, 1);
	assert_int_equal(d.rung, 2);
	assert_int_equal(d.rung_iter, 9);
	assert_true(d.cutoff == 0.5);
	/* its first report, 100 at 1, was judged at rung 1 against trials 0..2, whose values
	 * there are those of their first reports at or past 1 (at 3): 1, 2, 3 -> stop */
	d = decide(&r, t, 4, 3, 1);
	assert_int_equal(d.stop, 1);
	assert_int_equal(d.rung, 0);
	assert_true(d.cutoff == 1.0);
	/* between 1 and 2 there is no rung: no judgement, however bad the value */
	{
		static const int64_t it[] = {1, 2};
		double v[2] = {100.0, 100.0};
		trial_set(&t[3], &c[3], 3, it, v, 2);
		d = decide(&r, t, 4, 3, 2);
		assert_int_equal(d.stop, 0);
		assert_int_equal(d.rung, -1);
	}
	/* a NaN at a rung is the worst value: stopped even when first there */
	{
		static const int64_t it[] = {1};
		double v = NAN;
		trial_set(&t[3], &c[3], 3, it, &v, 1);
		d = decide(&r, t, 4, 3, 1);
		assert_int_equal(d.stop, 1);
	}
}

/* Deterministic reorderings of a[0..n): a Fisher-Yates shuffle from a small LCG. */
static void shuffle(size_t *a, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j;
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		j = (size_t)((*seed >> 33) % i);
		size_t x = a[i - 1];
		a[i - 1] = a[j];
		a[j] = x;
	}
}

/*
 * 40 trials with curves of different lengths; for each rule, each trial's
 * decision at its last iteration is the same whichever order the array is
 * in, and the same on a second call.
 */
static void test_stop__decisions_do_not_depend_on_order(void **state)
{
	static const char *const RULES[] = {
		"{\"type\":\"asha\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}",
		"{\"type\":\"hyperband\",\"min_iter\":1,\"max_iter\":81,\"eta\":3}",
		"{\"type\":\"median\",\"grace_iter\":2,\"min_trials\":3}",
	};
	enum { N = 40 };
	wbs__stop_trial base[N], perm[N];
	curve c[N];
	size_t order[N];
	uint64_t seed = 42;
	int stops = 0;
	(void)state;

	for (size_t i = 0; i < N; i++) {
		int64_t it[MAXPTS];
		double v[MAXPTS];
		size_t len = 1 + (i * 7) % MAXPTS;
		for (size_t k = 0; k < len; k++) {
			it[k] = (int64_t)k + 1;
			v[k] = 1.0 + (double)((i * 37 + k * 11) % 23) / (double)(k + 1);
		}
		trial_set(&base[i], &c[i], i, it, v, len);
	}
	for (size_t ri = 0; ri < 3; ri++) {
		wbs__stop_rule r = rule_from("minimize", RULES[ri]);
		for (size_t i = 0; i < N; i++) {
			int64_t last = base[i].pts[base[i].npts - 1].iter;
			wbs__stop_decision want = decide(&r, base, N, i, last), again = decide(&r, base, N, i, last);
			assert_int_equal(want.stop, again.stop);
			assert_int_equal(want.rung, again.rung);
			assert_int_equal(want.bracket, again.bracket);
			assert_int_equal(want.rung_iter, again.rung_iter);
			stops += want.stop;
			for (int round = 0; round < 5; round++) {
				size_t at = 0;
				wbs__stop_decision got;
				for (size_t k = 0; k < N; k++)
					order[k] = k;
				shuffle(order, N, &seed);
				for (size_t k = 0; k < N; k++) {
					perm[k] = base[order[k]];
					if (order[k] == i)
						at = k;
				}
				got = decide(&r, perm, N, at, last);
				assert_int_equal(got.stop, want.stop);
				assert_int_equal(got.rung, want.rung);
				assert_int_equal(got.bracket, want.bracket);
				assert_true(got.cutoff == want.cutoff || (isnan(got.cutoff) && isnan(want.cutoff)));
			}
		}
	}
	assert_true(stops > 0); /* the curves do stop some: the comparison above is not vacuous */
}

/*
 * Hyperband with min 1, max 81, eta 3: 5 brackets, shares
 * ceil(5·3^s/(s+1)) for s = 4..0: 81, 34, 15, 8, 5 of 143. Bracket b's rungs
 * start at 3^b; bracket 4 has none (its trials run to the end).
 */
static void test_stop__hyperband_brackets(void **state)
{
	wbs__stop_rule r = rule_from("minimize", "{\"type\":\"hyperband\",\"min_iter\":1,\"max_iter\":81}");
	static const int share[5] = {81, 34, 15, 8, 5};
	enum { N = 14300 };
	size_t count[5] = {0};
	int seen[5] = {0};
	wbs__stop_trial t[2];
	curve c[2];
	const int64_t it = 81;
	double bad = 1.0;
	(void)state;

	assert_int_equal(r.brackets, 5);
	for (uint64_t num = 0; num < N; num++) {
		wbs__stop_decision d;
		trial_set(&t[0], &c[0], num, &it, &bad, 1);
		d = decide(&r, t, 1, 0, 81);
		assert_true(d.bracket >= 0 && d.bracket < 5);
		count[d.bracket]++;
	}
	for (int b = 0; b < 5; b++) {
		double want = (double)share[b] / 143.0 * N;
		if (fabs((double)count[b] - want) > 4 * sqrt(want) + 1)
			fail_msg("bracket %d got %zu of %d trials, want about %.0f", b, count[b], N, want);
	}
	/* a bad trial is stopped at its bracket's first rung, except in bracket 4 */
	for (uint64_t num = 0; num < 2000; num++) {
		static const int64_t its[] = {1, 3, 9, 27, 81};
		static const double goods[] = {0, 0, 0, 0, 0};
		static const double bads[] = {1, 1, 1, 1, 1};
		wbs__stop_decision d;
		trial_set(&t[0], &c[0], num, its, bads, 5);
		trial_set(&t[1], &c[1], num + 100000, its, goods, 5);
		if (decide(&r, t, 2, 0, 1).bracket != decide(&r, t + 1, 1, 0, 1).bracket)
			continue; /* not competing */
		for (size_t k = 0; k < 5; k++) { /* the reports in turn: the first stop */
			d = decide(&r, t, 2, 0, its[k]);
			if (d.stop)
				break;
		}
		if (d.bracket < 4) {
			assert_int_equal(d.stop, 1);
			assert_int_equal(d.rung, 0);
			assert_int_equal(d.rung_iter, (int64_t)pow(3, d.bracket));
		} else {
			assert_int_equal(d.stop, 0);
		}
		seen[d.bracket] = 1;
	}
	for (int b = 0; b < 5; b++)
		assert_true(seen[b]); /* every bracket was exercised */
	{
		wbs__stop_rung *rg = NULL;
		size_t nr = 0;
		char err[128];
		assert_int_equal(wbs__stop_rungs(&r, t, 0, &rg, &nr, err, sizeof(err)), 0);
		assert_int_equal(nr, 4 + 3 + 2 + 1); /* brackets 0..3; 4 has no rung */
		assert_int_equal(rg[4].bracket, 1);
		assert_int_equal(rg[4].iter, 3);
		free(rg);
	}
}

/*
 * Median: A = 4 4 4 4, B = 1 2 3 4, C = 10 8 6 4 at iterations 1..4; D only
 * up to 3. At 4 the running averages are 4, 2.5, 7 (D has not got there):
 * median 4. At 2: 4, 1.5, 9 and D's: median of four = (1.5+4)/2 ... D = 3 3 3
 * makes it 3, 4 -> 3.5.
 */
static void test_stop__median(void **state)
{
	wbs__stop_rule r = rule_from("minimize", "{\"type\":\"median\",\"grace_iter\":2,\"min_trials\":3}");
	static const int64_t it[] = {1, 2, 3, 4};
	static const double A[] = {4, 4, 4, 4}, B[] = {1, 2, 3, 4}, C[] = {10, 8, 6, 4}, D[] = {3, 3, 3};
	wbs__stop_trial t[5];
	curve c[5];
	wbs__stop_decision d;
	(void)state;

	trial_set(&t[0], &c[0], 0, it, A, 4);
	trial_set(&t[1], &c[1], 1, it, B, 4);
	trial_set(&t[2], &c[2], 2, it, C, 4);
	trial_set(&t[3], &c[3], 3, it, D, 3);
	{ /* best so far 5: worse than 4 -> stop */
		static const double X[] = {9, 5, 6, 7};
		trial_set(&t[4], &c[4], 4, it, X, 4);
		d = decide(&r, t, 5, 4, 4);
		assert_int_equal(d.stop, 1);
		assert_true(d.cutoff == 4);
		assert_int_equal(d.rung_iter, 4);
		assert_int_equal(d.rung, -1);
		assert_int_equal(d.bracket, -1);
		/* at 2 the median is 3.5 (A 4, B 1.5, C 9, D 3): best 5 -> stop */
		d = decide(&r, t, 5, 4, 2);
		assert_int_equal(d.stop, 1);
		assert_true(d.cutoff == 3.5);
		/* at 1, inside the grace period: no stop */
		d = decide(&r, t, 5, 4, 1);
		assert_int_equal(d.stop, 0);
		assert_true(isnan(d.cutoff));
	}
	{ /* best so far 4 equals the median: not worse, goes on */
		static const double X[] = {9, 4, 6, 7};
		trial_set(&t[4], &c[4], 4, it, X, 4);
		d = decide(&r, t, 5, 4, 4);
		assert_int_equal(d.stop, 0);
		assert_true(d.cutoff == 4);
	}
	{ /* with only two others at 4 (min_trials 3): no judgement */
		static const double X[] = {9, 9, 9, 9};
		trial_set(&t[4], &c[4], 4, it, X, 4);
		d = decide(&r, t + 1, 4, 3, 4); /* B, C, D, X: D has not reached 4 */
		assert_int_equal(d.stop, 0);
		d = decide(&r, t, 5, 4, 4);
		assert_int_equal(d.stop, 1);
	}
	{ /* no rungs for the sweep page */
		wbs__stop_rung *rg = (void *)1;
		size_t nr = 9;
		char err[128];
		assert_int_equal(wbs__stop_rungs(&r, t, 5, &rg, &nr, err, sizeof(err)), 0);
		assert_null(rg);
		assert_int_equal(nr, 0);
	}
}

static void test_stop__bad_input_refused(void **state)
{
	wbs__stop_rule r = rule_from("minimize", "{\"type\":\"asha\",\"max_iter\":81}"), z = {0};
	static const int64_t it[] = {3, 2};
	static const double v[] = {1, 1};
	wbs__stop_trial t[1];
	curve c[1];
	wbs__stop_decision d;
	char err[128];
	(void)state;

	trial_set(&t[0], &c[0], 7, it, v, 2);
	assert_int_equal(wbs__stop_decide(&r, t, 1, 0, 3, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "early stopping: trial 7: iterations not ascending at point 1");
	assert_int_equal(wbs__stop_decide(&r, t, 1, 1, 3, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "early stopping: trial 1 of 1");
	assert_int_equal(wbs__stop_decide(&z, t, 1, 0, 3, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "early stopping: no valid rule");
}

/* Steps run 81 + 3 + 1 against 3 trials × 81. */
static void test_stop__compute_saved(void **state)
{
	wbs__stop_rule r = rule_from("minimize", "{\"type\":\"asha\",\"max_iter\":81}");
	static const int64_t a[] = {1, 3, 9, 27, 81}, b[] = {1, 3}, cc[] = {1};
	static const double v[] = {1, 1, 1, 1, 1};
	wbs__stop_trial t[3];
	curve c[3];
	wbs__stop_saved s;
	(void)state;

	trial_set(&t[0], &c[0], 0, a, v, 5);
	trial_set(&t[1], &c[1], 1, b, v, 2);
	trial_set(&t[2], &c[2], 2, cc, v, 1);
	wbs__stop_compute_saved(&r, t, 3, &s);
	assert_int_equal(s.steps_run, 85);
	assert_int_equal(s.steps_full, 243);
	assert_true(fabs(s.saved - (1.0 - 85.0 / 243.0)) < 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop__spec_normalised),
		cmocka_unit_test(test_stop__spec_accessor),
		cmocka_unit_test(test_stop__spec_refusals_name_the_path),
		cmocka_unit_test(test_stop__asha_rung_minimize),
		cmocka_unit_test(test_stop__asha_rung_maximize),
		cmocka_unit_test(test_stop__asha_sparse_report_judged_at_each_rung),
		cmocka_unit_test(test_stop__decisions_do_not_depend_on_order),
		cmocka_unit_test(test_stop__hyperband_brackets),
		cmocka_unit_test(test_stop__median),
		cmocka_unit_test(test_stop__bad_input_refused),
		cmocka_unit_test(test_stop__compute_saved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

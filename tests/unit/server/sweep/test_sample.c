/*
 * test_sample.c — the grid and random samplers (server/sweep/suggest.c,
 * space.c, rng.c): grid order and conditions, every distribution within
 * its range, log-uniform's median at the geometric mean, determinism.
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

/* The num-th suggestion (no trials so far); NULL when exhausted. */
static char *suggest(const wbs__sweep_spec *s, uint64_t num)
{
	char *params = NULL, err[128];
	int rc = wbs__sweep_suggest(s, NULL, 0, num, &params, err, sizeof(err));

	assert_true(rc == 0 || rc == 1);
	return rc == 0 ? params : NULL;
}

static void test_sample__grid_order_and_conditions(void **state)
{
	wbs__sweep_spec *s = parse_ok("{\"method\":\"grid\",\"parameters\":{"
				      "\"opt\":{\"values\":[\"adam\",\"sgd\"]},"
				      "\"mom\":{\"values\":[0.5,0.9],\"condition\":{\"parameter\":\"opt\",\"equals\":\"sgd\"}},"
				      "\"n\":{\"min\":1,\"max\":2}}}");
	/* sampling order: by name, but a condition's parameter first: n, opt, mom; the last varies fastest */
	static const char *want[] = {
		"{\"n\":1,\"opt\":\"adam\"}",	      "{\"n\":1,\"opt\":\"sgd\",\"mom\":0.5}",
		"{\"n\":1,\"opt\":\"sgd\",\"mom\":0.9}", "{\"n\":2,\"opt\":\"adam\"}",
		"{\"n\":2,\"opt\":\"sgd\",\"mom\":0.5}", "{\"n\":2,\"opt\":\"sgd\",\"mom\":0.9}",
	};
	(void)state;
	assert_int_equal(wbs__sweep_spec_cap(s), 6); /* not 8: mom is absent for adam, not two points */
	for (size_t i = 0; i < 6; i++) {
		char *p = suggest(s, i);
		cJSON *got = cJSON_Parse(p), *exp = cJSON_Parse(want[i]);
		if (!cJSON_Compare(got, exp, 1))
			fail_msg("point %zu is %s, want %s", i, p, want[i]);
		cJSON_Delete(got);
		cJSON_Delete(exp);
		free(p);
	}
	assert_null(suggest(s, 6));
	assert_null(suggest(s, 1000));
	wbs__sweep_spec_free(s);

	/* nested keys come out nested; run_cap below the grid size caps */
	s = parse_ok("{\"method\":\"grid\",\"run_cap\":2,\"parameters\":{\"o\":{\"parameters\":{\"lr\":{\"values\":[1,2,3]}}}}}");
	assert_int_equal(wbs__sweep_spec_cap(s), 2);
	{
		char *p = suggest(s, 2);
		assert_string_equal(p, "{\"o\":{\"lr\":3}}");
		free(p);
	}
	wbs__sweep_spec_free(s);
}

/* The value of key in params text. */
static double value_of(const char *params, const char *key)
{
	cJSON *j = cJSON_Parse(params);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	double d;

	if (!cJSON_IsNumber(v))
		fail_msg("%s has no number %s", params, key);
	d = v->valuedouble;
	cJSON_Delete(j);
	return d;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void test_sample__random_ranges(void **state)
{
	enum { N = 2000 };
	static double v[N];
	static const struct {
		const char *param;
		double lo, hi;
		int ints;
	} cases[] = {
		{"{\"min\":-3,\"max\":4}", -3, 4, 1},
		{"{\"min\":0.5,\"max\":2.5}", 0.5, 2.5, 0},
		{"{\"distribution\":\"q_uniform\",\"min\":0,\"max\":10,\"q\":2.5}", 0, 10, 0},
		{"{\"distribution\":\"q_uniform\",\"min\":0,\"max\":10,\"q\":2}", 0, 10, 1},
		{"{\"distribution\":\"log_uniform\",\"min\":-2,\"max\":3}", exp(-2), exp(3), 0},
		{"{\"distribution\":\"log_uniform_values\",\"min\":1e-4,\"max\":0.1}", 1e-4, 0.1, 0},
		{"{\"distribution\":\"q_log_uniform_values\",\"min\":16,\"max\":1024,\"q\":8}", 16, 1024, 1},
		{"{\"distribution\":\"inv_log_uniform\",\"min\":1,\"max\":4}", exp(-4), exp(-1), 0},
		{"{\"distribution\":\"inv_log_uniform_values\",\"min\":0.01,\"max\":1}", 0.01, 1, 0},
		{"{\"distribution\":\"normal\",\"mu\":5,\"sigma\":0.1}", 4, 6, 0},
		{"{\"distribution\":\"log_normal\",\"mu\":0,\"sigma\":0.5}", exp(-5), exp(5), 0},
		{"{\"distribution\":\"q_normal\",\"mu\":0,\"sigma\":3,\"q\":1}", -30, 30, 1},
	};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char text[512];
		wbs__sweep_spec *s;
		int distinct = 0;
		snprintf(text, sizeof(text), "{\"method\":\"random\",\"seed\":3,\"parameters\":{\"x\":%s}}", cases[c].param);
		s = parse_ok(text);
		for (int i = 0; i < N; i++) {
			char *p = suggest(s, (uint64_t)i);
			v[i] = value_of(p, "x");
			if (v[i] < cases[c].lo - 1e-9 || v[i] > cases[c].hi + 1e-9)
				fail_msg("%s gave %s", cases[c].param, p);
			if (cases[c].ints && strchr(p, '.'))
				fail_msg("%s gave a real: %s", cases[c].param, p);
			if (!cases[c].ints && !strchr(strchr(p, ':'), '.') && !strchr(strchr(p, ':'), 'e'))
				fail_msg("%s gave an integer: %s", cases[c].param, p);
			free(p);
		}
		qsort(v, N, sizeof(v[0]), cmp_double);
		for (int i = 1; i < N; i++)
			distinct += v[i] != v[i - 1];
		assert_true(distinct >= 3);
		/* the median where the distribution puts it */
		if (c == 5) { /* log-uniform: the geometric mean */
			double gm = sqrt(1e-4 * 0.1);
			if (!(v[N / 2] > gm * 0.8 && v[N / 2] < gm * 1.25))
				fail_msg("log_uniform_values median %g, geometric mean %g", v[N / 2], gm);
		}
		if (c == 1 && fabs(v[N / 2] - 1.5) > 0.1)
			fail_msg("uniform median %g", v[N / 2]);
		if (c == 0 && (v[0] != -3 || v[N - 1] != 4)) /* both ends inclusive */
			fail_msg("int_uniform range %g..%g", v[0], v[N - 1]);
		wbs__sweep_spec_free(s);
	}
}

static void test_sample__categorical_probabilities(void **state)
{
	wbs__sweep_spec *s = parse_ok("{\"method\":\"random\",\"parameters\":{\"c\":{\"values\":[\"a\",\"b\",\"c\"],"
				      "\"probabilities\":[0.8,0.2,0]}}}");
	int counts[3] = {0};
	(void)state;

	for (int i = 0; i < 1000; i++) {
		char *p = suggest(s, (uint64_t)i);
		if (strstr(p, "\"a\""))
			counts[0]++;
		else if (strstr(p, "\"b\""))
			counts[1]++;
		else
			counts[2]++;
		free(p);
	}
	assert_int_equal(counts[2], 0);
	assert_in_range(counts[0], 740, 860);
	wbs__sweep_spec_free(s);
}

static void test_sample__determinism(void **state)
{
	const char *spec = "{\"method\":\"random\",\"seed\":%d,\"parameters\":{\"a\":{\"min\":0.0,\"max\":1.0},"
			   "\"b\":{\"values\":[1,2,3,4,5,6,7,8,9,10]},\"c\":{\"distribution\":\"normal\"}}}";
	char text[256];
	wbs__sweep_spec *s1, *s2, *s3;
	(void)state;

	snprintf(text, sizeof(text), spec, 1);
	s1 = parse_ok(text);
	s2 = parse_ok(text);
	snprintf(text, sizeof(text), spec, 2);
	s3 = parse_ok(text);
	for (uint64_t i = 0; i < 50; i++) {
		char *a = suggest(s1, i), *b = suggest(s2, i), *c = suggest(s3, i), *d = suggest(s1, i + 1);
		assert_string_equal(a, b);     /* same seed, same num: same point */
		assert_string_not_equal(a, c); /* another seed */
		assert_string_not_equal(a, d); /* another num */
		free(a);
		free(b);
		free(c);
		free(d);
	}
	wbs__sweep_spec_free(s1);
	wbs__sweep_spec_free(s2);
	wbs__sweep_spec_free(s3);
}

static void test_sample__random_conditions(void **state)
{
	wbs__sweep_spec *s = parse_ok("method: random\nparameters:\n  optimizer:\n    parameters:\n"
				      "      name: {values: [sgd, adam]}\n"
				      "      momentum: {min: 0.0, max: 0.99, condition: {parameter: optimizer.name, in: [sgd]}}\n");
	int with = 0, without = 0;
	(void)state;

	for (uint64_t i = 0; i < 200; i++) {
		char *p = suggest(s, i);
		int sgd = strstr(p, "\"sgd\"") != NULL, mom = strstr(p, "\"momentum\"") != NULL;
		if (sgd != mom)
			fail_msg("condition broken: %s", p);
		with += mom;
		without += !mom;
		free(p);
	}
	assert_true(with > 50 && without > 50);
	wbs__sweep_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample__grid_order_and_conditions),
		cmocka_unit_test(test_sample__random_ranges),
		cmocka_unit_test(test_sample__categorical_probabilities),
		cmocka_unit_test(test_sample__determinism),
		cmocka_unit_test(test_sample__random_conditions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_spec.c — the sweep spec (server/sweep/spec.c, yaml.c): refusals
 * name the bad field by its path, in JSON and in YAML; W&B's inference of
 * distributions; the normalised text round-trips, and a YAML spec gives the
 * same normalised text as its JSON twin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/sweep.h"

static wbs__sweep_spec *parse_ok(const char *text)
{
	wbs__sweep_spec *s = NULL;
	char err[256] = "";

	if (wbs__sweep_spec_parse(text, strlen(text), &s, err, sizeof(err)) != 0)
		fail_msg("refused: %s\n%s", err, text);
	return s;
}

/* text is refused with a message that starts with want. */
static void refused(const char *text, const char *want)
{
	wbs__sweep_spec *s = NULL;
	char err[256] = "";

	if (wbs__sweep_spec_parse(text, strlen(text), &s, err, sizeof(err)) == 0) {
		wbs__sweep_spec_free(s);
		fail_msg("accepted: %s", text);
	}
	assert_null(s);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\" for %s", err, want, text);
}

static void test_spec__json_errors_have_paths(void **state)
{
	(void)state;
	refused("{\"method\":\"grid\",\"method\":\"random\",\"parameters\":{\"a\":{\"value\":1}}}", "$.method");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"min\":\"0\",\"max\":1}}}", "$.parameters.a.min: must be a number");
	refused("{\"method\":\"random\",\"parameters\":{\"lr\":{\"min\":2,\"max\":1}}}", "$.parameters.lr.min: must be below max");
	refused("{\"method\":\"random\",\"parameters\":{\"o\":{\"parameters\":{\"lr\":{\"min\":0.5,\"max\":0.1}}}}}",
		"$.parameters.o.parameters.lr.min: must be below max");
	refused("{\"method\":\"random\",\"parameters\":{\"lr\":{\"distribution\":\"gauss\",\"mu\":0}}}",
		"$.parameters.lr.distribution: unknown distribution \"gauss\"");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"value\":1}},\"entity\":\"x\"}", "$.entity: unknown member");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"value\":1,\"q\":2}}}",
		"$.parameters.a.q: not used by distribution constant");
	refused("{\"method\":\"bayes\",\"parameters\":{\"a\":{\"value\":1}}}", "$.metric: required by method bayes");
	refused("{\"method\":\"anneal\",\"parameters\":{\"a\":{\"value\":1}}}", "$.method: must be grid, random or bayes");
	refused("{\"parameters\":{\"a\":{\"value\":1}}}", "$.method: required");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"distribution\":\"log_uniform_values\",\"min\":0,\"max\":1}}}",
		"$.parameters.a.min: must be above 0");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"values\":[1,2],\"probabilities\":[0.5,0.6]}}}",
		"$.parameters.a.probabilities: must sum to 1");
	refused("{\"method\":\"random\",\"parameters\":{\"a.b\":{\"value\":1}}}", "$.parameters.a.b: a parameter name");
	refused("{\"method\":\"random\",\"run_cap\":0,\"parameters\":{\"a\":{\"value\":1}}}", "$.run_cap: must be 1..");
	refused("{\"method\":\"random\",\"lease_seconds\":1,\"parameters\":{\"a\":{\"value\":1}}}", "$.lease_seconds: must be 2..3600");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"values\":[\"x\",\"y\"]},"
		"\"b\":{\"value\":1,\"condition\":{\"parameter\":\"a\",\"equals\":\"z\"}}}}",
		"$.parameters.b.condition.equals: not one of the values of a");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"values\":[1],\"condition\":{\"parameter\":\"b\",\"equals\":1}},"
		"\"b\":{\"values\":[1],\"condition\":{\"parameter\":\"a\",\"equals\":1}}}}",
		"$.parameters: the conditions of");
	refused("{\"method\":\"random\",\"parameters\":{\"a\":{\"value\":1,\"condition\":{\"parameter\":\"nope\",\"equals\":1}}}}",
		"$.parameters.a.condition.parameter: no parameter \"nope\"");
	/* grid */
	refused("{\"method\":\"grid\",\"parameters\":{\"b\":{\"values\":[1,2]},\"lr\":{\"min\":0.1,\"max\":1.0}}}",
		"$.parameters.lr: grid needs values, value or int_uniform (a continuous distribution has no grid)");
	refused("{\"method\":\"grid\",\"parameters\":{\"o\":{\"parameters\":{\"lr\":{\"distribution\":\"log_uniform_values\","
		"\"min\":0.1,\"max\":1}}}}}",
		"$.parameters.o.parameters.lr: grid needs values");
	refused("{\"method\":\"grid\",\"parameters\":{\"a\":{\"min\":1,\"max\":1000},\"b\":{\"min\":1,\"max\":101}}}",
		"$.parameters: grid of 101000 points is over the limit of 100000");
	/* syntax: the byte offset */
	refused("{\"method\":\"grid\",}", "spec is not valid json at byte");
	refused("{\"method\":\"gr\xffid\"}", "$.method: the string is not valid utf-8");
	refused("{\"method\":\"gr\x01id\"}", "$.method: must be grid, random or bayes, not \"gr?id\"");
}

static void test_spec__yaml_errors_have_paths(void **state)
{
	(void)state;
	refused("method: grid\nmethod: random\nparameters:\n  a: {value: 1}\n", "$.method: duplicate key");
	refused("method: random\nparameters:\n  o:\n    parameters:\n      lr: {min: 1, min: 2, max: 3}\n",
		"$.parameters.o.parameters.lr.min: duplicate key");
	refused("method: random\nparameters:\n  lr:\n    min: '0'\n    max: 1\n", "$.parameters.lr.min: must be a number");
	refused("method: random\nparameters:\n  lr:\n    min: 1e-1\n    max: 1e-4\n", "$.parameters.lr.min: must be below max");
	refused("method: random\nparameters:\n  lr:\n    distribution: gauss\n", "$.parameters.lr.distribution: unknown distribution");
	refused("method: random\nproject: p\nparameters:\n  a: {value: 1}\n", "$.project: unknown member");
	refused("method: grid\nparameters:\n  lr: {min: 0.0, max: 1.0}\n", "$.parameters.lr: grid needs values");
	refused("method: grid\nparameters:\n  a: {min: 1, max: 1000}\n  b: {min: 1, max: 101}\n",
		"$.parameters: grid of 101000 points");
	refused("method: random\nparameters:\n  a: &x {value: 1}\n  b: *x\n", "$.parameters.a: yaml anchors are not supported");
	refused("method: random\nparameters:\n  a: {value: !!binary aGk=}\n", "$.parameters.a.value: yaml tags are not supported");
	refused("method: random\nparameters:\n  a: {value: .inf}\n", "$.parameters.a.value: not a finite number");
	refused("method: random\nparameters:\n  a: {value: \"x\\0y\"}\n", "$.parameters.a.value: NUL in a string");
	refused("method: random\nparameters: [1, 2\n", "$: not valid yaml");
	refused("method: random\n---\nmethod: grid\n", "$: a spec is one yaml document");
	refused("", "$: a sweep spec must be an object");
	refused("- 1\n- 2\n", "$: a sweep spec must be an object");
	{ /* over-deep: 40 nested sequences */
		char deep[256] = "method: random\nparameters: ";
		for (int i = 0; i < 40; i++)
			strcat(deep, "[");
		refused(deep, "$.parameters");
	}
}

static void test_spec__inference(void **state)
{
	static const struct {
		const char *param, *want;
	} cases[] = {
		{"{\"values\":[1,2]}", "{\"distribution\":\"categorical\",\"values\":[1,2]}"},
		{"{\"value\":\"adam\"}", "{\"distribution\":\"constant\",\"value\":\"adam\"}"},
		{"{\"min\":1,\"max\":5}", "{\"distribution\":\"int_uniform\",\"min\":1,\"max\":5}"},
		{"{\"min\":0.0,\"max\":1}", "{\"distribution\":\"uniform\",\"min\":0.0,\"max\":1.0}"},
		{"{\"min\":1e-4,\"max\":1}", "{\"distribution\":\"uniform\",\"min\":0.0001,\"max\":1.0}"},
		{"{\"distribution\":\"normal\"}", "{\"distribution\":\"normal\",\"mu\":0.0,\"sigma\":1.0}"},
		/* a 17-digit integer (kept raw by the server's reader) before a real and an integer */
		{"{\"values\":[33333633333333333,0.5,8]}",
		 "{\"distribution\":\"categorical\",\"values\":[33333633333333332.0,0.5,8]}"},
		{"{\"distribution\":\"q_uniform\",\"min\":1234567890123456789,\"max\":1e19,\"q\":8}",
		 "{\"distribution\":\"q_uniform\",\"min\":1.2345678901234568e+18,\"max\":1e+19,\"q\":8}"},
		{"{\"distribution\":\"q_uniform\",\"min\":0,\"max\":10}",
		 "{\"distribution\":\"q_uniform\",\"min\":0.0,\"max\":10.0,\"q\":1}"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], *json;
		wbs__sweep_spec *s;
		snprintf(text, sizeof(text), "{\"method\":\"random\",\"parameters\":{\"p\":%s}}", cases[i].param);
		s = parse_ok(text);
		json = wbs__sweep_spec_json(s);
		if (!strstr(json, cases[i].want))
			fail_msg("%s normalised to %s, want %s", cases[i].param, json, cases[i].want);
		free(json);
		wbs__sweep_spec_free(s);
	}
	/* the same in YAML: 1.0 is a real (uniform), 1 an integer (int_uniform), 1e-4 a real */
	{
		wbs__sweep_spec *s = parse_ok("method: random\nparameters:\n  a: {min: 0.0, max: 1.0}\n  b: {min: 1, max: 3}\n"
					      "  c: {min: 1e-4, max: 1}\n  d: {values: ['1', 1, true, null, ~]}\n");
		char *json = wbs__sweep_spec_json(s);
		assert_non_null(strstr(json, "\"a\":{\"distribution\":\"uniform\",\"min\":0.0,\"max\":1.0}"));
		assert_non_null(strstr(json, "\"b\":{\"distribution\":\"int_uniform\",\"min\":1,\"max\":3}"));
		assert_non_null(strstr(json, "\"c\":{\"distribution\":\"uniform\",\"min\":0.0001,\"max\":1.0}"));
		assert_non_null(strstr(json, "\"values\":[\"1\",1,true,null,null]"));
		free(json);
		wbs__sweep_spec_free(s);
	}
}

static const char *FULL_JSON =
	"{\"name\":\"mnist\",\"program\":\"train.py\",\"method\":\"bayes\",\"metric\":{\"name\":\"val/acc\",\"goal\":\"maximize\"},"
	"\"command\":[\"${env}\",\"${interpreter}\",\"${program}\",\"${args}\"],\"run_cap\":30,\"seed\":7,"
	"\"early_terminate\":{\"type\":\"hyperband\",\"min_iter\":3},"
	"\"parameters\":{\"batch\":{\"values\":[32,64,128]},"
	"\"optimizer\":{\"parameters\":{\"name\":{\"values\":[\"sgd\",\"adam\"]},"
	"\"lr\":{\"distribution\":\"log_uniform_values\",\"min\":1e-4,\"max\":0.1},"
	"\"momentum\":{\"min\":0.0,\"max\":0.99,\"condition\":{\"parameter\":\"optimizer.name\",\"equals\":\"sgd\"}}}},"
	"\"hidden\":{\"distribution\":\"q_log_uniform_values\",\"min\":16,\"max\":1024,\"q\":8}}}";
static const char *FULL_YAML = "name: mnist\n"
			       "program: train.py\n"
			       "method: bayes\n"
			       "metric:\n  name: val/acc\n  goal: maximize\n"
			       "command:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n  - ${args}\n"
			       "run_cap: 30\nseed: 7\n"
			       "early_terminate: {type: hyperband, min_iter: 3}\n"
			       "parameters:\n"
			       "  hidden:\n    distribution: q_log_uniform_values\n    min: 16\n    max: 1024\n    q: 8\n"
			       "  optimizer:\n    parameters:\n"
			       "      momentum:\n        min: 0.0\n        max: 0.99\n"
			       "        condition: {parameter: optimizer.name, equals: sgd}\n"
			       "      name:\n        values: [sgd, adam]\n"
			       "      lr:\n        distribution: log_uniform_values\n        min: 1e-4\n        max: 0.1\n"
			       "  batch:\n    values: [32, 64, 128]\n";

static void test_spec__normalised_round_trip(void **state)
{
	wbs__sweep_spec *a = parse_ok(FULL_JSON), *b = parse_ok(FULL_YAML), *c;
	char *ja = wbs__sweep_spec_json(a), *jb = wbs__sweep_spec_json(b), *jc;
	(void)state;

	assert_string_equal(ja, jb); /* YAML and JSON of the same spec */
	c = parse_ok(ja);
	jc = wbs__sweep_spec_json(c);
	assert_string_equal(ja, jc); /* normalised parses back to itself */
	/* defaults filled in, parameters sorted */
	assert_non_null(strstr(ja, "\"lease_seconds\":60,\"reissue\":1"));
	assert_true(strstr(ja, "\"batch\"") < strstr(ja, "\"hidden\""));
	assert_non_null(strstr(ja, "\"condition\":{\"parameter\":\"optimizer.name\",\"equals\":\"sgd\"}"));
	assert_string_equal(wbs__sweep_spec_method(c), "bayes");
	assert_string_equal(wbs__sweep_spec_name(c), "mnist");
	assert_string_equal(wbs__sweep_spec_metric(c), "val/acc");
	assert_int_equal(wbs__sweep_spec_maximize(c), 1);
	assert_int_equal(wbs__sweep_spec_cap(c), 30);
	assert_int_equal(wbs__sweep_spec_lease_seconds(c), 60);
	assert_int_equal(wbs__sweep_spec_reissue(c), 1);
	free(ja);
	free(jb);
	free(jc);
	wbs__sweep_spec_free(a);
	wbs__sweep_spec_free(b);
	wbs__sweep_spec_free(c);
	wbs__sweep_spec_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec__json_errors_have_paths),
		cmocka_unit_test(test_spec__yaml_errors_have_paths),
		cmocka_unit_test(test_spec__inference),
		cmocka_unit_test(test_spec__normalised_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_jsoncheck.c — the strict JSON check (sdk/wire/jsoncheck.c, in the
 * codec the server shares) and the server's parse that runs it
 * (wbs__json_parse, server/model/fields.c): what cJSON would silently
 * change is refused with the path of the field, and the valid edge cases
 * next to each refusal still pass. Every text is copied to a buffer of its
 * exact size, so reading past the end shows under ASan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/batch.h"
#include "model/fields.h"
#include "jsoncheck.h"
#include "wire.h"

/* Check text[0..len) from an exact-size copy; the message in why. */
static int check_n(const char *text, size_t len, char *why, size_t whylen)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = wb__json_check(copy, len, why, whylen);
	free(copy);
	return rc;
}

static void ok(const char *text)
{
	char why[256];
	int rc = check_n(text, strlen(text), why, sizeof(why));

	if (rc != WB__JSON_OK)
		fprintf(stderr, "refused %s: %s\n", text, why);
	assert_int_equal(rc, WB__JSON_OK);
	assert_string_equal(why, "");
}

/* Refused, with exactly this message. */
static void refused_n(const char *text, size_t len, const char *want)
{
	char why[256];
	int rc = check_n(text, len, why, sizeof(why));

	if (rc != WB__JSON_REFUSED || strcmp(why, want) != 0)
		fprintf(stderr, "%.*s: got %d \"%s\", want \"%s\"\n", (int)len, text, rc, why, want);
	assert_int_equal(rc, WB__JSON_REFUSED);
	assert_string_equal(why, want);
}

static void refused(const char *text, const char *want) { refused_n(text, strlen(text), want); }

#define NUL_IN(p) p ": the string holds a NUL character (\\u0000)"
#define UTF8_IN(p) p ": the string is not valid utf-8"
#define SURR_IN(p) p ": the string holds an unpaired utf-16 surrogate escape"
#define DUP_AT(p) p ": the key is given twice in one object"
#define INF_AT(p) p ": the number is out of the range of a double"

static void test_jsoncheck__valid_edge_cases(void **state)
{
	(void)state;
	ok("{}");
	ok("[]");
	ok(" \t\r\n{ } ");
	ok("\"\"");
	ok("null");
	ok("true");
	ok("[false,null,true]");
	ok("-0");
	ok("{\"a\":-0.0}");
	ok("1e308");
	ok("-1e308");
	ok("1.7976931348623157e308");   /* DBL_MAX */
	ok("-1.7976931348623157e+308"); /* -DBL_MAX */
	ok("0.1e309");                  /* 1e308 written otherwise */
	ok("1e-400");                   /* underflows to 0: ordinary rounding */
	ok("123456789012345678901234567890"); /* no exponent: finite */
	ok("\"\\ud83d\\ude00\"");         /* an escaped surrogate pair: U+1F600 */
	ok("\"\\uDBFF\\uDFFF\"");         /* U+10FFFF escaped */
	ok("\"\xf4\x8f\xbf\xbf\"");      /* U+10FFFF raw */
	ok("\"\xc2\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""); /* 2, 3 and 4 bytes */
	ok("\"\\u0001\\u001f \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"");
	ok("\"tab\there\""); /* a raw control character: cJSON takes it, and it is not changed */
	ok("{\"a\":1,\"A\":2,\"a \":3,\"\\u00e9\":4,\"e\\u0301\":5}");
	ok("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"); /* one key in several objects */
	ok("[{\"a\":1},{\"a\":1}]");
	ok("{\"lr\":0.1,\"seed\":12345678901234567890,\"name\":\"x\"}");
	ok("{\"a\":1} trailing"); /* after the value: the parser's business */
}

static void test_jsoncheck__nul(void **state)
{
	(void)state;
	refused("{\"name\":\"a\\u0000b\"}", NUL_IN("$.name"));
	refused("{\"tags\":[\"x\",\"a\\u0000\"]}", NUL_IN("$.tags[1]"));
	refused("\"\\u0000\"", NUL_IN("$"));
	refused_n("{\"group\":\"a\0b\"}", 15, NUL_IN("$.group")); /* a raw NUL byte */
	refused("{\"config\":{\"a\\u0000b\":1}}", "$.config: a key holds a NUL character (\\u0000)");
}

static void test_jsoncheck__invalid_utf8(void **state)
{
	(void)state;
	refused("{\"k\":\"\xc0\x80\"}", UTF8_IN("$.k"));         /* overlong NUL */
	refused("{\"k\":\"\xe0\x80\xaf\"}", UTF8_IN("$.k"));     /* overlong '/' */
	refused("{\"k\":\"\xed\xa0\x80\"}", UTF8_IN("$.k"));     /* U+D800 in UTF-8 */
	refused("{\"k\":\"\xf4\x90\x80\x80\"}", UTF8_IN("$.k")); /* past U+10FFFF */
	refused("{\"k\":\"\xf5\x80\x80\x80\"}", UTF8_IN("$.k"));
	refused("{\"k\":\"\x80\"}", UTF8_IN("$.k")); /* a lone continuation byte */
	refused("{\"k\":\"\xff\"}", UTF8_IN("$.k"));
	refused("{\"k\":\"ab\xe2\x82\"}", UTF8_IN("$.k")); /* truncated before the quote */
	refused_n("\"\xe2\x82", 3, UTF8_IN("$"));          /* truncated at the end of the text */
	refused("{\"config\":{\"\xc3\x28\":1}}", "$.config: a key is not valid utf-8");
	refused("[\"ok\",[\"\xc3\"]]", UTF8_IN("$[1][0]"));
}

static void test_jsoncheck__surrogate_escapes(void **state)
{
	(void)state;
	refused("{\"k\":\"\\ud800\"}", SURR_IN("$.k"));
	refused("{\"k\":\"\\udc00\"}", SURR_IN("$.k"));
	refused("{\"k\":\"\\ud800\\u0041\"}", SURR_IN("$.k"));
	refused("{\"k\":\"\\ud800\\ud800\"}", SURR_IN("$.k"));
	refused("{\"k\":\"\\ude00\\ud83d\"}", SURR_IN("$.k")); /* the pair reversed */
	refused_n("\"\\ud83d\\ude0", 12, SURR_IN("$"));        /* cut inside the low half */
}

static void test_jsoncheck__duplicate_keys(void **state)
{
	char big[8192];
	size_t n = 0;

	(void)state;
	refused("{\"a\":1,\"a\":2}", DUP_AT("$.a"));
	refused("{\"a\":1,\"\\u0061\":2}", DUP_AT("$.a")); /* equal once decoded */
	refused("{\"\\u00e9\":1,\"\xc3\xa9\":2}", DUP_AT("$[\"\xc3\xa9\"]"));
	refused("{\"config\":{\"optimizer\":{\"lr\":1,\"b\":{},\"lr\":2}}}", DUP_AT("$.config.optimizer.lr"));
	refused("{\"a.b\":1,\"a.b\":[]}", DUP_AT("$[\"a.b\"]"));
	refused("[{},{\"x\":{\"y\":0,\"y\":0}}]", DUP_AT("$[1].x.y"));
	/* past the inline table: 600 distinct keys pass, a repeat of the first is found */
	n += (size_t)snprintf(big + n, sizeof(big) - n, "{");
	for (int i = 0; i < 600; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(big + n, sizeof(big) - n, "}");
	ok(big);
	snprintf(big + n, sizeof(big) - n, ",\"k0\":1}");
	refused(big, DUP_AT("$.k0"));
}

static void test_jsoncheck__number_overflow(void **state)
{
	(void)state;
	refused("{\"config\":{\"lr\":1e400}}", INF_AT("$.config.lr"));
	refused("{\"lr\":-1e400}", INF_AT("$.lr"));
	refused("1.8e308", INF_AT("$"));
	refused("[1,2,1E+309]", INF_AT("$[2]"));
	refused("{\"a.b\":1e999}", INF_AT("$[\"a.b\"]"));
	refused("{\"x y\":{\"\\\"q\\\"\":1e99999999999999999999}}", INF_AT("$[\"x y\"][\"\\\"q\\\"\"]"));
}

static void test_jsoncheck__nesting(void **state)
{
	char deep[2 * 1000 + 16];
	size_t n = 0;

	(void)state;
	/* 32 levels of objects, the config and metadata limit, and a refusal at the bottom */
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
	memcpy(deep + n, "1", 1);
	n++;
	for (int i = 0; i < 32; i++)
		deep[n++] = '}';
	deep[n] = '\0';
	ok(deep);
	/* 1000 arrays, cJSON's limit, past the inline stack */
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	ok(deep);
	memcpy(deep + 999, "\"\\u0000\"", 8);
	memset(deep + 1007, ']', 999);
	deep[2006] = '\0';
	{
		char why[4096];
		assert_int_equal(check_n(deep, strlen(deep), why, sizeof(why)), WB__JSON_REFUSED);
		assert_true(strncmp(why, "$[0][0][0]", 10) == 0);
		assert_non_null(strstr(why, "...: the string holds a NUL")); /* the path is cut, the reason kept */
	}
	/* 1001: past cJSON's limit, not JSON the server reads */
	memset(deep, '[', 1001);
	memset(deep + 1001, ']', 1001);
	deep[2002] = '\0';
	{
		char why[128];
		assert_int_equal(check_n(deep, strlen(deep), why, sizeof(why)), WB__JSON_SYNTAX);
	}
}

static void test_jsoncheck__syntax_and_small_buffers(void **state)
{
	char why[8];

	(void)state;
	{
		char w[64];
		assert_int_equal(check_n("{\"a\":", 5, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_string_equal(w, "not valid json at byte 5");
		assert_int_equal(check_n("{\"a\" 1}", 7, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_int_equal(check_n("[1,]", 4, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_int_equal(check_n("{\"a\":\"\\x\"}", 10, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_int_equal(check_n("", 0, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_int_equal(check_n("nul", 3, w, sizeof(w)), WB__JSON_SYNTAX);
		/* whitespace is JSON's four: another control byte between tokens is not (cJSON skips it) */
		assert_int_equal(check_n("{\"a\"\x06:1}", 7, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_string_equal(w, "not valid json at byte 4");
		assert_int_equal(check_n("\x0b[1]", 4, w, sizeof(w)), WB__JSON_SYNTAX);
		assert_int_equal(check_n(" \t\r\n[1 ,\n2]\r\n", 13, w, sizeof(w)), WB__JSON_OK);
	}
	/* the message is cut to the buffer and terminated; no buffer at all is fine */
	assert_int_equal(check_n("{\"lr\":1e400}", 12, why, sizeof(why)), WB__JSON_REFUSED);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(check_n("{\"lr\":1e400}", 12, NULL, 0), WB__JSON_REFUSED);
}

/* wbs__json_parse: the strict parse the routes and the record decoder use. */
static void test_jsoncheck__parse_refuses(void **state)
{
	char why[256];
	cJSON *j;

	(void)state;
	assert_null(wbs__json_parse("{\"lr\":1e400}", 12, "body", why, sizeof(why)));
	assert_string_equal(why, INF_AT("$.lr"));
	assert_null(wbs__json_parse("{\"a\":1,\"a\":2}", 13, "body", why, sizeof(why)));
	assert_string_equal(why, DUP_AT("$.a"));
	assert_null(wbs__json_parse("{\"a\":", 5, "payload", why, sizeof(why)));
	assert_string_equal(why, "payload is not valid json at byte 4"); /* where cJSON stopped */
	{
		const char *t = "{\"p\":\"\\ud83d\\ude00\",\"z\":-0,\"m\":1e308}";
		j = wbs__json_parse(t, strlen(t), "body", why, sizeof(why));
	}
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "p")->valuestring, "\xf0\x9f\x98\x80");
	cJSON_Delete(j);
	/* text the server wrote itself is read without the check */
	j = wbs__json_parse_stored("{\"a\":1,\"a\":2}", 13);
	assert_non_null(j);
	cJSON_Delete(j);
}

/* A record frame carrying such JSON is refused with its seq and the path. */
static void test_jsoncheck__frame_refused(void **state)
{
	static const struct {
		uint8_t type;
		const char *json, *want;
	} cases[] = {
	    {WB__REC_CONFIG, "{\"optimizer\":{\"lr\":1e400}}", "frame seq 1: " INF_AT("$.optimizer.lr")},
	    {WB__REC_CONFIG, "{\"a\":1,\"a\":2}", "frame seq 1: " DUP_AT("$.a")},
	    {WB__REC_SUMMARY, "{\"acc\":\"\\u0000\"}", "frame seq 1: " NUL_IN("$.acc")},
	    {WB__REC_RUN, "{\"name\":\"a\\u0000b\"}", "frame seq 1: " NUL_IN("$.name")},
	    {WB__REC_RUN, "{\"metadata\":{\"host\":\"\xff\"}}", "frame seq 1: " UTF8_IN("$.metadata.host")},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[512];
		size_t len = strlen(cases[i].json);
		wbs__batch b;
		char err[300];
		wb__frame_header(buf, 1, cases[i].type, (const uint8_t *)cases[i].json, (uint32_t)len);
		memcpy(buf + WB__FRAME_HEADER, cases[i].json, len);
		assert_int_equal(wbs__batch_decode(&b, buf, WB__FRAME_HEADER + len, err, sizeof(err)),
				 WBS__BATCH_INVALID);
		assert_string_equal(err, cases[i].want);
		wbs__batch_free(&b);
	}
}

/* The cost on a 1 MiB config body: printed, and bounded loosely so a quadratic slip fails. */
static void test_jsoncheck__cost_of_a_large_config(void **state)
{
	size_t cap = (1u << 20) + 64, n = 0;
	char *text = malloc(cap), why[256];
	struct timespec t0, t1;
	double best = 1e9;

	(void)state;
	assert_non_null(text);
	text[n++] = '{';
	for (int i = 0; n + 128 < (1u << 20); i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "%s\"layer_%d\":{\"lr\":%.17g,\"name\":\"block %d \xc3\xa9\",\"on\":true}", i ? "," : "",
				      i, 1.0 / (i + 3), i);
	text[n++] = '}';
	for (int r = 0; r < 5; r++) {
		double s;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(wb__json_check(text, n, why, sizeof(why)), WB__JSON_OK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (s < best)
			best = s;
	}
	fprintf(stderr, "wb__json_check: %zu bytes in %.2f ms (%.0f MB/s)\n", n, best * 1e3, (double)n / best / 1e6);
	{ /* for scale: cJSON's own parse of the same text */
		double pbest = 1e9;
		for (int r = 0; r < 5; r++) {
			cJSON *j;
			double s;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			j = wbs__json_parse_stored(text, n);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			assert_non_null(j);
			cJSON_Delete(j);
			s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (s < pbest)
				pbest = s;
		}
		fprintf(stderr, "cJSON parse of the same text: %.2f ms\n", pbest * 1e3);
	}
	assert_true(best < 0.5);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jsoncheck__valid_edge_cases),
	    cmocka_unit_test(test_jsoncheck__nul),
	    cmocka_unit_test(test_jsoncheck__invalid_utf8),
	    cmocka_unit_test(test_jsoncheck__surrogate_escapes),
	    cmocka_unit_test(test_jsoncheck__duplicate_keys),
	    cmocka_unit_test(test_jsoncheck__number_overflow),
	    cmocka_unit_test(test_jsoncheck__nesting),
	    cmocka_unit_test(test_jsoncheck__syntax_and_small_buffers),
	    cmocka_unit_test(test_jsoncheck__parse_refuses),
	    cmocka_unit_test(test_jsoncheck__frame_refused),
	    cmocka_unit_test(test_jsoncheck__cost_of_a_large_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

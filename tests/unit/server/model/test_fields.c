/*
 * test_fields.c — validation of a run's fields in a PUT body
 * (server/model/fields.c) and the strict JSON reader it uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/fields.h"
#include "util/buf.h"

static void test_fields__run_fields(void **state)
{
	wbs__run_fields f;
	char err[256];
	cJSON *j;
	(void)state;

	j = cJSON_Parse("{\"name\":\"<script>x</script>\",\"group\":null,\"notes\":\"a\\nb\",\"created_at\":5,\"x\":1}");
	assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), 0);
	assert_true(f.set & WBS__F_NAME);
	assert_true((f.set & WBS__F_GROUP) && f.group == NULL);
	assert_true(f.created_at == 5);
	wbs__run_fields_free(&f);
	cJSON_Delete(j);
	{
		static const char *bad[] = {
			"{\"name\":5}",		  "{\"name\":\"a\\u0001b\"}", "{\"group\":\"a b\"}",
			"{\"job_type\":\"\"}",	  "{\"tags\":[1]}",	      "{\"tags\":[\"\"]}",
			"{\"metadata\":[]}",	  "{\"created_at\":\"x\"}",   "{\"created_at\":-1}",
			"[]",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			j = cJSON_Parse(bad[i]);
			assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), -1);
			wbs__run_fields_free(&f);
			cJSON_Delete(j);
		}
	}
	/* 65 tags, 129-byte names */
	{
		char big[2048] = "{\"tags\":[";
		for (int i = 0; i < 65; i++)
			snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"t%d\"", i ? "," : "", i);
		strcat(big, "]}");
		j = cJSON_Parse(big);
		assert_int_equal(wbs__run_fields_parse(&f, j, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "tags"));
		wbs__run_fields_free(&f);
		cJSON_Delete(j);
	}
	/* JSON parse reports the byte offset, also for trailing garbage */
	{
		char why[128];
		assert_null(wbs__json_parse("{\"a\": 1,}", 9, "body", why, sizeof(why)));
		assert_string_equal(why, "body is not valid json at byte 8");
		assert_null(wbs__json_parse("{} x", 4, "body", why, sizeof(why)));
		assert_string_equal(why, "body is not valid json at byte 3");
		j = wbs__json_parse("{} ", 3, "body", why, sizeof(why));
		assert_non_null(j);
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields__run_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the notification parts that need no network: the rule
 * grammar (server/notify/rule.c), Slack message bodies (slack.c, including
 * mrkdwn escaping of hostile names) and webhook URL hints.
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

#include "notify/notify.h"
#include "notify/rule.h"
#include "notify/slack.h"

static void test_notify__rule_summary(void **state)
{
	wbs__rule r;
	char why[160];

	(void)state;
	assert_int_equal(wbs__rule_parse("summary val/loss > 2", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, WBS__RULE_SUMMARY);
	assert_string_equal(r.key, "val/loss");
	assert_string_equal(r.op, ">");
	assert_true(r.threshold == 2.0);
	assert_string_equal(r.path, "$.\"val/loss\"");
	assert_string_equal(r.text, "summary val/loss > 2");
	assert_int_equal(wbs__rule_parse("  summary   acc\t<=  -1e-3 ", &r, why, sizeof(why)), 0);
	assert_string_equal(r.op, "<=");
	assert_true(r.threshold == -1e-3);
	for (const char *const *op = (const char *const[]){">=", "<", "==", "!=", NULL}; *op; op++) {
		char t[64];
		snprintf(t, sizeof(t), "summary k %s 0.5", *op);
		assert_int_equal(wbs__rule_parse(t, &r, why, sizeof(why)), 0);
		assert_string_equal(r.op, *op);
	}
}

static void test_notify__rule_stall(void **state)
{
	wbs__rule r;
	char why[160];

	(void)state;
	assert_int_equal(wbs__rule_parse("no step for 15 min", &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, WBS__RULE_STALL);
	assert_true(r.seconds == 900);
	assert_string_equal(r.text, "no step for 15 min");
	assert_int_equal(wbs__rule_parse("no step for 15min", &r, why, sizeof(why)), 0);
	assert_true(r.seconds == 900);
	assert_int_equal(wbs__rule_parse("no step for 2 h", &r, why, sizeof(why)), 0);
	assert_true(r.seconds == 7200);
	assert_int_equal(wbs__rule_parse("no step for 1.5s", &r, why, sizeof(why)), 0);
	assert_true(r.seconds == 1.5);
}

static void test_notify__rule_rejects(void **state)
{
	static const char *const bad[] = {
		"", "summary", "summary val/loss", "summary val/loss >> 2", "summary val/loss > x",
		"summary val/loss > nan", "summary val/loss > inf", "summary val/loss > 1e999", "summary _x > 1",
		"summary a\"b > 1", "summary a\\b > 1", "summary a > 1 extra", "no step", "no step for", "no step for 0 s",
		"no step for -1 min", "no step for 5 weeks", "no step for 31 days", "no step for 800 h", "no steps for 1 s",
		"summary a\x01 > 1", "maximum val/loss > 2", "no step for 1 s and more"};
	wbs__rule r;
	char why[160], big[600];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (wbs__rule_parse(bad[i], &r, why, sizeof(why)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "summary ", 8);
	assert_int_equal(wbs__rule_parse(big, &r, why, sizeof(why)), -1);
	assert_int_equal(wbs__rule_parse(NULL, &r, why, sizeof(why)), -1);
}

static cJSON *render(const wbs__notify_msg *m)
{
	wbs__buf b;
	cJSON *j;

	wbs__buf_init(&b, 1 << 20);
	wbs__slack_render(&b, m);
	assert_int_equal(b.err, 0);
	j = cJSON_ParseWithLength(b.p, b.len);
	assert_non_null(j);
	wbs__buf_free(&b);
	return j;
}

static void test_notify__slack_finished(void **state)
{
	wbs__notify_msg m = {.event = "finished",
			     .base_url = "https://wb.example.org",
			     .entity = "me",
			     .project = "mnist",
			     .run_id = "abc123",
			     .run_name = "<!channel> & <http://x|y>",
			     .state = "finished",
			     .summary = "{\"_runtime\":3,\"acc\":0.97,\"loss\":\"NaN\",\"note\":\"text\",\"obj\":{\"min\":1}}",
			     .rule_value = NAN};
	cJSON *j, *blocks, *fields;
	char *s;

	(void)state;
	j = render(&m);
	s = cJSON_PrintUnformatted(j);
	/* the name cannot ping or forge a link */
	assert_null(strstr(s, "<!channel>"));
	assert_non_null(strstr(s, "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring, "https://wb.example.org/me/mnist/runs/abc123"));
	blocks = cJSON_GetObjectItem(j, "blocks");
	assert_int_equal(cJSON_GetArraySize(blocks), 3); /* headline, metrics, context */
	assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "text"), "text")
				       ->valuestring,
			       "<https://wb.example.org/me/mnist/runs/abc123|"));
	fields = cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 1), "fields");
	/* numbers only, "_" keys skipped; NaN spelled out */
	assert_int_equal(cJSON_GetArraySize(fields), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 0), "text")->valuestring, "*acc*\n0.97");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 1), "text")->valuestring, "*loss*\nNaN");
	free(s);
	cJSON_Delete(j);
}

static void test_notify__slack_alert_rule_failed(void **state)
{
	wbs__notify_msg m = {.event = "alert", .base_url = "", .entity = "e", .project = "p", .run_id = "r",
			     .run_name = "", .state = "running", .alert_level = "error", .alert_title = "boom",
			     .alert_text = "bad\xff text", .rule_value = NAN};
	cJSON *j;
	char *s;

	(void)state;
	j = render(&m);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(s, ":red_circle: *boom* on run"));
	assert_non_null(strstr(s, "bad\xef\xbf\xbd text")); /* invalid UTF-8 becomes U+FFFD */
	assert_non_null(strstr(s, "*r*")); /* no name: the id */
	free(s);
	cJSON_Delete(j);

	m.event = "rule";
	m.rule_text = "summary val/loss > 2";
	m.rule_value = 2.5;
	j = render(&m);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(s, "Rule `summary val/loss &gt; 2` fired"));
	assert_non_null(strstr(s, "value: 2.5"));
	free(s);
	cJSON_Delete(j);

	m.event = "failed";
	m.has_exit_code = 1;
	m.exit_code = 137;
	j = render(&m);
	assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring, "failed (exit code 137)"));
	cJSON_Delete(j);
}

/* Every text of every block within Block Kit's limits, for the longest
 * strings wb accepts, escaped at their worst, and multi-byte characters
 * never cut. */
static void test_notify__slack_block_kit_limits(void **state)
{
	static char title[201], text[3001], name[129], rule[401];
	wbs__notify_msg m = {.event = "alert", .base_url = "https://wb.example.org", .entity = "e", .project = "p",
			     .run_id = "r", .state = "running", .alert_level = "info", .rule_value = NAN};
	const char *events[] = {"alert", "rule", "finished"};
	cJSON *j, *b, *f;

	(void)state;
	memset(title, '&', 200);
	memset(name, '>', 128);
	memset(rule, '<', 400);
	for (int i = 0; i < 3000; i += 3)
		memcpy(text + i, i % 2 ? "\xc3\xa9<" : "<\xc3\xa9", 3); /* é and < mixed */
	m.alert_title = title;
	m.alert_text = text;
	m.run_name = name;
	m.rule_text = rule;
	for (size_t e = 0; e < 3; e++) {
		m.event = events[e];
		j = render(&m);
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")) <= 50);
		cJSON_ArrayForEach(b, cJSON_GetObjectItem(j, "blocks"))
		{
			const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "text"), "text");
			if (t) {
				assert_true(strlen(t->valuestring) <= 3000);
				assert_null(strstr(t->valuestring, "\xef\xbf\xbd")); /* no character cut in two */
			}
			cJSON_ArrayForEach(f, cJSON_GetObjectItem(b, "fields"))
				assert_true(strlen(cJSON_GetObjectItem(f, "text")->valuestring) <= 2000);
			cJSON_ArrayForEach(f, cJSON_GetObjectItem(b, "elements"))
				assert_true(strlen(cJSON_GetObjectItem(f, "text")->valuestring) <= 3000);
		}
		/* an alert's text is split, not dropped: 3,000 bytes grow to 6,000 escaped */
		if (e == 0)
			assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")) >= 4);
		cJSON_Delete(j);
	}
}

static void test_notify__hint(void **state)
{
	char h[128];

	(void)state;
	wbs__webhook_hint("https://hooks.slack.com/services/T000/B000/XXXXabcd", h);
	assert_string_equal(h, "hooks.slack.com…abcd");
	wbs__webhook_hint("http://10.0.0.1:8065/hooks/xyz", h);
	assert_string_equal(h, "10.0.0.1:8065…/xyz");
	assert_null(strstr(h, "hooks"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify__rule_summary),  cmocka_unit_test(test_notify__rule_stall),
		cmocka_unit_test(test_notify__rule_rejects),  cmocka_unit_test(test_notify__slack_finished),
		cmocka_unit_test(test_notify__slack_alert_rule_failed), cmocka_unit_test(test_notify__hint),
		cmocka_unit_test(test_notify__slack_block_kit_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_rule — what a POST .../rules body and a webhook's message bring: the
 * rule grammar (server/notify/rule.c), and the Slack renderer with the
 * input as the run's name, alert text and summary JSON (mrkdwn escaping,
 * invalid UTF-8, any summary shape). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "notify/rule.h"
#include "notify/slack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[160], hint[128];
	wbs__rule r;
	wbs__notify_msg m;
	wbs__buf b;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (wbs__rule_parse(text, &r, why, sizeof(why)) == 0 && r.kind == WBS__RULE_SUMMARY) {
		/* the JSON path the trigger uses is well-formed: the key holds no quote */
		if (!strchr(r.key, '"') && strncmp(r.path, "$.\"", 3) != 0)
			abort();
	}
	memset(&m, 0, sizeof(m));
	m.event = size % 2 ? "alert" : "rule";
	m.base_url = "https://wb.example.org";
	m.entity = "e";
	m.project = "p";
	m.run_id = "r";
	m.run_name = text;
	m.state = "running";
	m.summary = text;
	m.alert_level = "warn";
	m.alert_title = text;
	m.alert_text = text;
	m.rule_text = text;
	m.rule_value = NAN;
	wbs__buf_init(&b, 1 << 22);
	wbs__slack_render(&b, &m);
	wbs__buf_free(&b);
	wbs__webhook_hint(text, hint);
	free(text);
	return 0;
}

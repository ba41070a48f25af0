/*
 * slack.c — Slack message bodies (slack.h). The text is built as plain
 * C strings in a scratch buffer with mrkdwn escaping, then written as JSON
 * strings by wbs__json_str, which escapes for JSON and replaces invalid
 * UTF-8. Key metrics are the first numeric entries of the run's summary
 * (its keys are sorted by the server), skipping derived "_" keys.
 */
#include "notify/slack.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/fields.h"

/* Append s with Slack's mrkdwn control characters escaped, at most max bytes of s. */
static void md(wbs__buf *b, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s && n < max; s++, n++) {
		switch (*s) {
		case '&': wbs__buf_puts(b, "&amp;"); break;
		case '<': wbs__buf_puts(b, "&lt;"); break;
		case '>': wbs__buf_puts(b, "&gt;"); break;
		default: wbs__buf_putc(b, *s);
		}
	}
	if (s && *s)
		wbs__buf_puts(b, "…");
}

static void run_url(wbs__buf *b, const wbs__notify_msg *m)
{
	/* entity, project and run id are names ([A-Za-z0-9_.-]): nothing to encode. */
	wbs__buf_printf(b, "%s/%s/%s/runs/%s", m->base_url ? m->base_url : "", m->entity, m->project, m->run_id);
}

static const char *level_emoji(const char *level)
{
	if (level && strcmp(level, "error") == 0)
		return ":red_circle:";
	if (level && strcmp(level, "warn") == 0)
		return ":warning:";
	return ":information_source:";
}

/* The headline, in mrkdwn; link: whether to link the run name. */
static void headline(wbs__buf *t, const wbs__notify_msg *m, int link)
{
	const char *name = m->run_name && *m->run_name ? m->run_name : m->run_id;

	if (strcmp(m->event, "alert") == 0) {
		wbs__buf_printf(t, "%s ", level_emoji(m->alert_level));
		wbs__buf_puts(t, "*");
		md(t, m->alert_title, 200);
		wbs__buf_puts(t, "* on run ");
	} else if (strcmp(m->event, "rule") == 0) {
		wbs__buf_puts(t, ":rotating_light: Rule `");
		md(t, m->rule_text, 400);
		wbs__buf_puts(t, "` fired on run ");
	} else {
		wbs__buf_puts(t, strcmp(m->event, "finished") == 0 ? ":white_check_mark: Run "
				 : strcmp(m->event, "failed") == 0 ? ":x: Run "
								    : ":skull: Run ");
	}
	if (link) {
		wbs__buf_putc(t, '<');
		run_url(t, m);
		wbs__buf_putc(t, '|');
		md(t, name, 128);
		wbs__buf_putc(t, '>');
	} else {
		wbs__buf_putc(t, '*');
		md(t, name, 128);
		wbs__buf_putc(t, '*');
	}
	if (strcmp(m->event, "finished") == 0)
		wbs__buf_puts(t, " finished");
	else if (strcmp(m->event, "failed") == 0) {
		wbs__buf_puts(t, " failed");
		if (m->has_exit_code)
			wbs__buf_printf(t, " (exit code %d)", m->exit_code);
	} else if (strcmp(m->event, "crashed") == 0)
		wbs__buf_puts(t, " crashed (heartbeats stopped)");
	wbs__buf_puts(t, " in ");
	md(t, m->entity, 64);
	wbs__buf_putc(t, '/');
	md(t, m->project, 64);
}

/* Append to b a JSON string holding the scratch text t, then reset t. */
static void flush_str(wbs__buf *b, wbs__buf *t)
{
	if (t->err) {
		b->err = t->err;
		return;
	}
	wbs__json_str(b, t->p ? t->p : "", t->len);
	wbs__buf_reset(t);
}

void wbs__slack_render(wbs__buf *b, const wbs__notify_msg *m)
{
	wbs__buf t;
	cJSON *sum = NULL;
	const cJSON *it;
	size_t nm = 0;
	char num[32];

	wbs__buf_init(&t, 64 * 1024);
	if (m->summary)
		sum = wbs__json_parse_stored(m->summary, strlen(m->summary));

	/* Fallback text (notifications, clients without blocks): plain headline and the URL. */
	wbs__buf_puts(b, "{\"text\":");
	headline(&t, m, 0);
	wbs__buf_puts(&t, ": ");
	run_url(&t, m);
	flush_str(b, &t);

	wbs__buf_puts(b, ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
	headline(&t, m, 1);
	if (strcmp(m->event, "alert") == 0 && m->alert_text && *m->alert_text) {
		wbs__buf_putc(&t, '\n');
		md(&t, m->alert_text, 2900);
	}
	if (strcmp(m->event, "rule") == 0 && !isnan(m->rule_value)) {
		wbs__fmt_double(num, m->rule_value);
		wbs__buf_printf(&t, "\nvalue: %s", num);
	}
	flush_str(b, &t);
	wbs__buf_puts(b, "}}");

	/* Key metrics: numeric summary entries, as Slack section fields (at most 10 allowed). */
	cJSON_ArrayForEach(it, sum)
	{
		double v;
		if (nm >= WBS__SLACK_METRICS)
			break;
		if (!it->string || it->string[0] == '_')
			continue;
		if (cJSON_IsNumber(it))
			v = it->valuedouble;
		else if (cJSON_IsString(it) && (!strcmp(it->valuestring, "NaN") || !strcmp(it->valuestring, "Infinity") ||
						!strcmp(it->valuestring, "-Infinity")))
			v = !strcmp(it->valuestring, "NaN") ? NAN : it->valuestring[0] == '-' ? -INFINITY : INFINITY;
		else
			continue;
		wbs__buf_puts(b, nm == 0 ? ",{\"type\":\"section\",\"fields\":[" : ",");
		wbs__buf_puts(&t, "*");
		md(&t, it->string, 100);
		wbs__fmt_double(num, v);
		wbs__buf_printf(&t, "*\n%s", num);
		wbs__buf_puts(b, "{\"type\":\"mrkdwn\",\"text\":");
		flush_str(b, &t);
		wbs__buf_putc(b, '}');
		nm++;
	}
	if (nm)
		wbs__buf_puts(b, "]}");

	/* Context: state, id, the link in full (copyable). */
	wbs__buf_puts(b, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":");
	wbs__buf_puts(&t, "state: ");
	md(&t, m->state, 16);
	wbs__buf_puts(&t, " · run ");
	md(&t, m->run_id, 64);
	wbs__buf_puts(&t, " · ");
	run_url(&t, m);
	flush_str(b, &t);
	wbs__buf_puts(b, "}]}]}");
	cJSON_Delete(sum);
	wbs__buf_free(&t);
}

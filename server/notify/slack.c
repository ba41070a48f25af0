/*
 * slack.c — Slack message bodies (slack.h). The text is built as plain
 * C strings in a scratch buffer with mrkdwn escaping, then written as JSON
 * strings by wbs__json_str, which escapes for JSON and replaces invalid
 * UTF-8. Key metrics are the first numeric entries of the run's summary
 * (its keys are sorted by the server), skipping derived "_" keys.
 */
#include "notify/slack.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model/fields.h"

/* Block Kit's limits (api.slack.com/reference/block-kit): a section's text
 * and a context element's text at most 3,000 characters, a section field's
 * 2,000, at most 50 blocks. Slack counts characters; we count bytes, which
 * are never fewer, of the text as escaped for mrkdwn (the form Slack
 * counts). A message past them is refused whole (invalid_blocks). */
#define SECTION_MAX 3000
#define SECTIONS_MAX 40 /* alert text sections; 50 blocks in all */

/*
 * Append s with Slack's mrkdwn control characters escaped (& < > become
 * entities), adding at most max bytes to b: a longer s is cut at a
 * character boundary and ends in "…" (within max). SIZE_MAX: no cap.
 */
static void md(wbs__buf *b, const char *s, size_t max)
{
	static const char ell[] = "…";
	size_t out = 0;

	while (s && *s) {
		const char *e = NULL;
		size_t n = 1, need;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		default:
			while (n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80)
				n++; /* a whole UTF-8 sequence (invalid ones are replaced later) */
		}
		need = e ? strlen(e) : n;
		/* room for this character, and for "…" unless it is the last */
		if (max != SIZE_MAX && out + need + (s[n] ? sizeof(ell) - 1 : 0) > max) {
			if (out + sizeof(ell) - 1 <= max)
				wbs__buf_puts(b, ell);
			return;
		}
		if (e)
			wbs__buf_puts(b, e);
		else
			wbs__buf_put(b, s, n);
		out += need;
		s += n;
	}
}

/* Where to end a piece of at most max bytes of the escaped text p[0..len):
 * after a newline in its last quarter if there is one, else at a UTF-8
 * boundary that does not split an entity ("&amp;"). */
static size_t piece_end(const char *p, size_t len, size_t max)
{
	size_t cut;

	if (len <= max)
		return len;
	for (cut = max; cut > max - max / 4; cut--)
		if (p[cut - 1] == '\n')
			return cut;
	cut = max;
	while (cut > max - 4 && ((unsigned char)p[cut] & 0xC0) == 0x80)
		cut--; /* not inside a UTF-8 sequence (at most 4 bytes) */
	for (size_t k = 1; k <= 4 && k <= cut; k++) {
		if (p[cut - k] == ';')
			break;
		if (p[cut - k] == '&') {
			cut -= k;
			break;
		}
	}
	return cut;
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
		md(t, m->alert_title, 1000); /* 200 bytes, escaped */
		wbs__buf_puts(t, "* on run ");
	} else if (strcmp(m->event, "rule") == 0) {
		wbs__buf_puts(t, ":rotating_light: Rule `");
		md(t, m->rule_text, 1000);
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
		md(t, name, 300);
		wbs__buf_putc(t, '>');
	} else {
		wbs__buf_putc(t, '*');
		md(t, name, 300);
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
	md(t, m->entity, 200);
	wbs__buf_putc(t, '/');
	md(t, m->project, 200);
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

	/* The headline is bounded by md's caps well under SECTION_MAX (its
	 * parts: 1,000 + 300 + 2 × 200 bytes and the URL); cut it there all the
	 * same rather than have the message refused. */
	wbs__buf_puts(b, ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
	headline(&t, m, 1);
	if (strcmp(m->event, "rule") == 0 && !isnan(m->rule_value)) {
		wbs__fmt_double(num, m->rule_value);
		wbs__buf_printf(&t, "\nvalue: %s", num);
	}
	if (!t.err && t.len > SECTION_MAX)
		t.len = piece_end(t.p, t.len, SECTION_MAX);
	flush_str(b, &t);
	wbs__buf_puts(b, "}}");

	/* An alert's text, whole, in as many sections as its escaped form needs. */
	if (strcmp(m->event, "alert") == 0 && m->alert_text && *m->alert_text) {
		md(&t, m->alert_text, SIZE_MAX);
		if (t.err) {
			b->err = t.err;
		} else {
			size_t at = 0;
			for (int k = 0; at < t.len && k < SECTIONS_MAX; k++) {
				size_t n = piece_end(t.p + at, t.len - at, SECTION_MAX);
				wbs__buf_puts(b, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
				wbs__json_str(b, t.p + at, n);
				wbs__buf_puts(b, "}}");
				at += n;
			}
		}
		wbs__buf_reset(&t);
	}

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
		md(&t, it->string, 500);
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
	md(&t, m->state, 64);
	wbs__buf_puts(&t, " · run ");
	md(&t, m->run_id, 200);
	wbs__buf_puts(&t, " · ");
	run_url(&t, m);
	flush_str(b, &t);
	wbs__buf_puts(b, "}]}]}");
	cJSON_Delete(sum);
	wbs__buf_free(&t);
}

/*
 * slack.h — the body of a Slack incoming-webhook request for one event:
 * {"text": fallback, "blocks": [...]} (Block Kit), with the run's name
 * linked to its page, its state, up to WBS__SLACK_METRICS key summary
 * metrics and, for an alert or a rule, what fired.
 *
 * User strings are escaped twice over: for JSON by the buf writer, and for
 * Slack's mrkdwn (& < > become &amp; &lt; &gt;), so a run named
 * "<!channel>" cannot ping a channel or forge a link.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_NOTIFY_SLACK_H
#define WB_SERVER_NOTIFY_SLACK_H

#include "util/buf.h"

#define WBS__SLACK_METRICS 8

typedef struct wbs__notify_msg {
	const char *event; /* finished, failed, crashed, alert, rule */
	const char *base_url; /* the server's public URL, no trailing '/' */
	const char *entity, *project, *run_id, *run_name, *state;
	int has_exit_code, exit_code;
	const char *summary; /* the run's summary, JSON text (may be NULL) */
	const char *alert_level, *alert_title, *alert_text; /* alert */
	const char *rule_text; /* rule */
	double rule_value;     /* rule: the value that fired it (NaN for none) */
} wbs__notify_msg;

/* Append the JSON body for m to b (check b->err). */
void wbs__slack_render(wbs__buf *b, const wbs__notify_msg *m);

#endif /* WB_SERVER_NOTIFY_SLACK_H */

/*
 * handlers_notify.c — the notification routes (schema/api.md,
 * "Notifications"):
 *
 *   GET|POST /projects/{e}/{p}/webhooks        a project's webhooks
 *   DELETE   /projects/{e}/{p}/webhooks/{id}
 *   GET|POST /user/webhooks                    the caller's own webhooks (all their runs)
 *   DELETE   /user/webhooks/{id}
 *   GET|POST /projects/{e}/{p}/rules           threshold rules
 *   DELETE   /projects/{e}/{p}/rules/{id}
 *   GET      /projects/{e}/{p}/deliveries      the delivery log
 *
 * A webhook's URL is write-only: it is accepted by POST and never appears
 * in an answer, a log line or an error message (errors about it say what
 * is wrong, not what was sent); answers carry an id and a hint.
 */
#include "http_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "notify/notify.h"
#include "notify/rule.h"
#include "store/store_notify.h"

#define WEBHOOK_URL_MAX 2048u
#define DELIVERIES_DEFAULT 100
#define DELIVERIES_MAX 1000

static const struct {
	unsigned bit;
	const char *name;
} event_names[] = {{WBS__EV_FINISHED, "finished"},
		   {WBS__EV_FAILED, "failed"},
		   {WBS__EV_CRASHED, "crashed"},
		   {WBS__EV_ALERT, "alert"},
		   {WBS__EV_RULE, "rule"}};

/* Read a JSON object body. The object, or NULL after sending the error. */
static cJSON *read_object(wbs__req *q)
{
	cJSON *j = NULL;

	wbs__read_json(q, WBS__BODY_REQUIRED | WBS__BODY_OBJECT, 64 * 1024, 64 * 1024, &j);
	return j;
}

/* An id path segment. 0, or -1 after sending the 400. */
static int id_seg(wbs__req *q, const char *seg, int64_t *id)
{
	if (wbs__parse_i64(seg, 1, INT64_MAX, id)) {
		wbs__send_error(q, 400, "invalid_argument", "the id must be a positive integer");
		return -1;
	}
	return 0;
}

/* Is url a webhook URL we may call? Says why not without repeating it. */
static int url_ok(const char *url, char *why, size_t whylen)
{
	size_t n = strlen(url), pre;
	const char *host;

	if (strncmp(url, "https://", 8) == 0)
		pre = 8;
	else if (strncmp(url, "http://", 7) == 0)
		pre = 7;
	else {
		snprintf(why, whylen, "url must start with https:// (or http://)");
		return 0;
	}
	if (n > WEBHOOK_URL_MAX) {
		snprintf(why, whylen, "url is longer than %u bytes", WEBHOOK_URL_MAX);
		return 0;
	}
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
			snprintf(why, whylen, "url must not contain blanks, control or non-ascii characters");
			return 0;
		}
	host = url + pre;
	if (*host == '\0' || *host == '/' || *host == ':' || strcspn(host, "/?#") == 0) {
		snprintf(why, whylen, "url has no host");
		return 0;
	}
	if (memchr(host, '@', strcspn(host, "/?#"))) {
		snprintf(why, whylen, "url must not contain credentials");
		return 0;
	}
	return 1;
}

static void render_events(wbs__buf *b, unsigned events)
{
	int first = 1;
	wbs__buf_putc(b, '[');
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++) {
		if (!(events & event_names[i].bit))
			continue;
		if (!first)
			wbs__buf_putc(b, ',');
		wbs__json_cstr(b, event_names[i].name);
		first = 0;
	}
	wbs__buf_putc(b, ']');
}

static void render_webhook(wbs__buf *b, const void *row)
{
	const wbs__webhook_row *w = row;

	wbs__buf_puts(b, "{\"id\":");
	wbs__json_i64(b, w->id);
	wbs__buf_puts(b, ",\"hint\":");
	wbs__json_cstr(b, w->hint);
	wbs__buf_puts(b, ",\"events\":");
	render_events(b, w->events);
	wbs__buf_puts(b, ",\"scope\":");
	wbs__json_cstr(b, w->user_scope ? "user" : "project");
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, w->created_at);
	wbs__buf_putc(b, '}');
}

/* Is this route under /user? */
static int user_route(const wbs__req *q) { return strcmp(q->path.seg[0], "user") == 0; }

void wbs__h_webhooks(wbs__req *q)
{
	const char *project = user_route(q) ? NULL : q->ref.project;
	wbs__webhook_row *rows = NULL, one;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	cJSON *j = NULL;

	memset(&one, 0, sizeof(one));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (strcmp(q->ri->request_method, "POST") == 0) {
		const cJSON *url, *ev, *it;
		unsigned events = 0;
		char why[160], hint[128];

		if (!(j = read_object(q)))
			goto done;
		url = cJSON_GetObjectItemCaseSensitive(j, "url");
		ev = cJSON_GetObjectItemCaseSensitive(j, "events");
		cJSON_ArrayForEach(it, j)
		{
			if (strcmp(it->string, "url") != 0 && strcmp(it->string, "events") != 0) {
				wbs__send_error(q, 400, "invalid_argument", "a webhook has only url and events");
				goto done;
			}
		}
		if (!cJSON_IsString(url)) {
			wbs__send_error(q, 400, "invalid_argument", "url must be a string");
			goto done;
		}
		if (!url_ok(url->valuestring, why, sizeof(why))) {
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
			goto done;
		}
		if (!ev || cJSON_IsNull(ev)) {
			events = WBS__EV_ALL;
		} else if (!cJSON_IsArray(ev)) {
			wbs__send_error(q, 400, "invalid_argument", "events must be an array of event names");
			goto done;
		} else {
			cJSON_ArrayForEach(it, ev)
			{
				size_t i, k = sizeof(event_names) / sizeof(event_names[0]);
				for (i = 0; i < k; i++)
					if (cJSON_IsString(it) && strcmp(it->valuestring, event_names[i].name) == 0)
						break;
				if (i == k) {
					wbs__send_error(q, 400, "invalid_argument",
						       "events are finished, failed, crashed, alert and rule");
					goto done;
				}
				events |= event_names[i].bit;
			}
			if (!events) {
				wbs__send_error(q, 400, "invalid_argument", "events must name at least one event");
				goto done;
			}
		}
		wbs__webhook_hint(url->valuestring, hint);
		if (wbs__store_webhook_add(q->store, q->ref.entity, project, q->user_id, url->valuestring, hint, events,
					   &one, &e)) {
			wbs__send_store_error(q, &e);
			goto done;
		}
		render_webhook(&b, &one);
		wbs__send_json(q, 201, &b);
		goto done;
	}
	if (wbs__store_webhooks_list(q->store, q->ref.entity, project, q->user_id, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"webhooks\":");
	wbs__json_array(&b, rows, n, sizeof(wbs__webhook_row), render_webhook);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	cJSON_Delete(j);
	free(one.hint);
	wbs__webhook_rows_free(rows, n);
	wbs__buf_free(&b);
}

void wbs__h_webhook_delete(wbs__req *q)
{
	int user = user_route(q);
	wbs__err e = {0};
	wbs__buf b;
	int64_t id;

	if (id_seg(q, q->path.seg[user ? 2 : 4], &id))
		return;
	if (wbs__store_webhook_delete(q->store, q->ref.entity, user ? NULL : q->ref.project, q->user_id, id, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, 64);
	wbs__buf_printf(&b, "{\"deleted\":%lld}", (long long)id);
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

static void render_rule(wbs__buf *b, const void *row)
{
	const wbs__rule_row *r = row;

	wbs__buf_puts(b, "{\"id\":");
	wbs__json_i64(b, r->id);
	wbs__buf_puts(b, ",\"rule\":");
	wbs__json_cstr(b, r->text);
	wbs__buf_puts(b, ",\"kind\":");
	wbs__json_cstr(b, r->kind);
	wbs__buf_puts(b, ",\"fired\":");
	wbs__json_i64(b, (int64_t)r->fired);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, r->created_at);
	wbs__buf_putc(b, '}');
}

void wbs__h_rules(wbs__req *q)
{
	wbs__rule_row *rows = NULL, one;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	cJSON *j = NULL;

	memset(&one, 0, sizeof(one));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (strcmp(q->ri->request_method, "POST") == 0) {
		const cJSON *text;
		wbs__rule r;
		char why[160];

		if (!(j = read_object(q)))
			goto done;
		text = cJSON_GetObjectItemCaseSensitive(j, "rule");
		if (!cJSON_IsString(text) || cJSON_GetArraySize(j) != 1) {
			wbs__send_error(q, 400, "invalid_argument", "body must be {\"rule\": \"...\"}");
			goto done;
		}
		if (wbs__rule_parse(text->valuestring, &r, why, sizeof(why))) {
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
			goto done;
		}
		if (wbs__store_rule_add(q->store, q->ref.entity, q->ref.project, &r, &one, &e)) {
			wbs__send_store_error(q, &e);
			goto done;
		}
		render_rule(&b, &one);
		wbs__send_json(q, 201, &b);
		goto done;
	}
	if (wbs__store_rules_list(q->store, q->ref.entity, q->ref.project, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"rules\":");
	wbs__json_array(&b, rows, n, sizeof(wbs__rule_row), render_rule);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	cJSON_Delete(j);
	free(one.text);
	free(one.kind);
	wbs__rule_rows_free(rows, n);
	wbs__buf_free(&b);
}

void wbs__h_rule_delete(wbs__req *q)
{
	wbs__err e = {0};
	wbs__buf b;
	int64_t id;

	if (id_seg(q, q->path.seg[4], &id))
		return;
	if (wbs__store_rule_delete(q->store, q->ref.entity, q->ref.project, id, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, 64);
	wbs__buf_printf(&b, "{\"deleted\":%lld}", (long long)id);
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

void wbs__h_deliveries(wbs__req *q)
{
	wbs__delivery_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	char lim[24];
	int64_t limit = DELIVERIES_DEFAULT;
	int r;

	if ((r = wbs__query_param(q, "limit", 0, lim, sizeof(lim))) < 0)
		return;
	if (r == 1 && wbs__parse_i64(lim, 1, DELIVERIES_MAX, &limit)) {
		wbs__send_error(q, 400, "invalid_argument", "limit must be an integer from 1 to %d", DELIVERIES_MAX);
		return;
	}
	if (wbs__store_deliveries_list(q->store, q->ref.entity, q->ref.project, (size_t)limit, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	wbs__buf_puts(&b, "{\"deliveries\":[");
	for (size_t i = 0; i < n; i++) {
		const wbs__delivery_row *d = &rows[i];
		if (i)
			wbs__buf_putc(&b, ',');
		wbs__buf_puts(&b, "{\"id\":");
		wbs__json_i64(&b, d->id);
		wbs__buf_puts(&b, ",\"webhook_id\":");
		wbs__json_i64(&b, d->webhook_id);
		wbs__buf_puts(&b, ",\"run_id\":");
		wbs__json_cstr(&b, d->run_id);
		wbs__buf_puts(&b, ",\"run_name\":");
		wbs__json_cstr(&b, d->run_name);
		wbs__buf_puts(&b, ",\"event\":");
		wbs__json_cstr(&b, d->event);
		wbs__buf_puts(&b, ",\"state\":");
		wbs__json_cstr(&b, d->state);
		wbs__buf_puts(&b, ",\"attempts\":");
		wbs__json_i64(&b, d->attempts);
		wbs__buf_puts(&b, ",\"http_status\":");
		if (d->http_status > 0)
			wbs__json_i64(&b, d->http_status);
		else
			wbs__buf_puts(&b, "null");
		wbs__buf_puts(&b, ",\"error\":");
		wbs__json_cstr(&b, d->error);
		wbs__buf_puts(&b, ",\"created_at\":");
		wbs__json_num_or_null(&b, d->created_at);
		wbs__buf_puts(&b, ",\"next_at\":");
		wbs__json_num_or_null(&b, d->state && strcmp(d->state, "pending") == 0 ? d->next_at : NAN);
		wbs__buf_puts(&b, ",\"last_attempt_at\":");
		wbs__json_num_or_null(&b, d->last_at);
		wbs__buf_puts(&b, ",\"done_at\":");
		wbs__json_num_or_null(&b, d->done_at);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
	wbs__delivery_rows_free(rows, n);
}

/*
 * store_notify.h — what notifications keep (schema/migrations/004_notify.sql):
 * webhooks (the URL is a secret: stored, handed only to the notifier
 * thread, never listed), threshold rules, alerts, and the delivery queue
 * that is also the delivery log.
 *
 * Events enter the queue by triggers in the transaction that caused them
 * (see the migration), so nothing here is called on the ingest path except
 * wbs__store_alert_apply, which the writer runs for an ALERT record.
 *
 * Threads: like store.h, every function may be called from any thread
 * between wbs__store_open and wbs__store_close, except
 * wbs__store_alert_apply (writer thread, inside its transaction).
 */
#ifndef WB_SERVER_STORE_NOTIFY_H
#define WB_SERVER_STORE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "notify/rule.h"
#include "store/store.h"

enum wbs__notify_event {
	WBS__EV_FINISHED = 1,
	WBS__EV_FAILED = 2,
	WBS__EV_CRASHED = 4,
	WBS__EV_ALERT = 8,
	WBS__EV_RULE = 16,
	WBS__EV_ALL = 31
};

#define WBS__WEBHOOKS_MAX 64u /* per project, and per user */
#define WBS__RULES_MAX 256u   /* per project */

/* A webhook as the API shows it: never the URL. */
typedef struct wbs__webhook_row {
	int64_t id;
	char *hint; /* "hooks.slack.com…x9Qz" */
	unsigned events;
	int user_scope; /* 1: a user's webhook (every project) */
	double created_at;
} wbs__webhook_row;

typedef struct wbs__rule_row {
	int64_t id;
	char *text, *kind;
	double created_at;
	uint64_t fired; /* runs it fired for */
} wbs__rule_row;

typedef struct wbs__delivery_row {
	int64_t id, webhook_id;
	char *run_id, *run_name, *event, *state, *error; /* run_name NULL when the run has none */
	int64_t attempts;
	int http_status; /* 0: none yet / no answer */
	double created_at, next_at, last_at, done_at; /* NaN when absent */
} wbs__delivery_row;

/* One due delivery, with everything needed to send it. */
typedef struct wbs__notify_due {
	int64_t id, webhook_id, attempts;
	int cancelled; /* the webhook was deleted */
	char *url;
	char *event, *entity, *project, *run_id, *run_name, *state, *summary;
	int has_exit_code, exit_code;
	char *alert_level, *alert_title, *alert_text, *rule_text;
	double rule_value;
	int64_t owner_id; /* a user's webhook: its owner (0: a project's webhook) */
	int owner_active; /* the webhook's creator is not deactivated */
} wbs__notify_due;

/* project NULL: a user's webhook (user_id). Creates the project if new. */
int wbs__store_webhook_add(wbs__store *s, const char *entity, const char *project, int64_t user_id, const char *url,
			   const char *hint, unsigned events, wbs__webhook_row *out, wbs__err *err);
int wbs__store_webhooks_list(wbs__store *s, const char *entity, const char *project, int64_t user_id,
			     wbs__webhook_row **rows, size_t *n, wbs__err *err);
/* Delete (blanking its URL and cancelling its pending deliveries). NOTFOUND if not there. */
int wbs__store_webhook_delete(wbs__store *s, const char *entity, const char *project, int64_t user_id, int64_t id,
			      wbs__err *err);
void wbs__webhook_rows_free(wbs__webhook_row *rows, size_t n);

int wbs__store_rule_add(wbs__store *s, const char *entity, const char *project, const wbs__rule *r,
			wbs__rule_row *out, wbs__err *err);
int wbs__store_rules_list(wbs__store *s, const char *entity, const char *project, wbs__rule_row **rows, size_t *n,
			  wbs__err *err);
int wbs__store_rule_delete(wbs__store *s, const char *entity, const char *project, int64_t id, wbs__err *err);
void wbs__rule_rows_free(wbs__rule_row *rows, size_t n);

/* The newest deliveries of a project's runs (limit rows, newest first). NOTFOUND for no project. */
int wbs__store_deliveries_list(wbs__store *s, const char *entity, const char *project, size_t limit,
			       wbs__delivery_row **rows, size_t *n, wbs__err *err);
void wbs__delivery_rows_free(wbs__delivery_row *rows, size_t n);

/* ---- the notifier thread ---- */

/* Pending deliveries due at now, oldest first, at most max. */
int wbs__store_notify_due(wbs__store *s, double now, size_t max, wbs__notify_due **rows, size_t *n, wbs__err *err);
void wbs__notify_due_free(wbs__notify_due *rows, size_t n);
/* Record an attempt (or a deferral when attempts is unchanged): state, http status (0 none), error text (may
 * be NULL; never holds the URL), when to try next, when done (NaN: not done). */
int wbs__store_notify_result(wbs__store *s, int64_t id, const char *state, int64_t attempts, int http_status,
			     const char *error, double next_at, double last_at, double done_at, wbs__err *err);
/* Fire every stall rule whose run has made no step for its duration; *n fired. */
int wbs__store_notify_stall(wbs__store *s, double now, uint64_t *n, wbs__err *err);
/* For /metrics: deliveries still pending, and rule firings of every kind
 * (summary thresholds fire in the store's trigger, stalls in the notifier)
 * as stored. */
int wbs__store_notify_counts(wbs__store *s, uint64_t *pending, uint64_t *fires, wbs__err *err);

/* Writer thread only: store an ALERT record {level, title, text, time} of run (internal id). */
int wbs__store_alert_apply(wbs__store *s, int64_t run_id, const struct cJSON *alert, double now, wbs__err *err);

#endif /* WB_SERVER_STORE_NOTIFY_H */

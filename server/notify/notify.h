/*
 * notify.h — the notifier thread: delivers the pending rows of the
 * delivery queue (store_notify.h) to Slack incoming webhooks, and fires
 * stall rules.
 *
 * Threads: wbs__notify_start and wbs__notify_stop are called by main
 * (start after the store is open, stop before it is closed); the counters
 * may be rendered from any thread.
 */
#ifndef WB_SERVER_NOTIFY_H
#define WB_SERVER_NOTIFY_H

#include "store/store.h"
#include "util/buf.h"

typedef struct wbs__notifier wbs__notifier;

typedef struct wbs__notify_opts {
	wbs__store *store;    /* borrowed */
	const char *base_url; /* the server's public URL for links (copied) */
	double backoff;       /* first retry after this many seconds, doubling (default 2) */
	double backoff_max;   /* at most this (default 3600) */
	int max_attempts;     /* then the delivery fails (default 12) */
	double timeout;       /* per request, seconds (default 10) */
	double poll;          /* seconds between looks at the queue (default 0.1) */
	int allow_private;    /* may deliver to loopback, private and link-local addresses (default no) */
	const char *proxy;    /* send every delivery through this proxy (copied), which then decides
				 which addresses webhooks may reach; NULL: direct, ignoring http_proxy,
				 https_proxy, all_proxy and no_proxy */
} wbs__notify_opts;

/* Start the thread. 0, or -1 with err. */
int wbs__notify_start(wbs__notifier **out, const wbs__notify_opts *o, char *err, size_t errlen);
/* Stop it (an in-flight request is aborted and retried after a restart). Accepts NULL. */
void wbs__notify_stop(wbs__notifier *n);

/* The webhook counters of n (all 0 for NULL: no notifier runs) and the
 * store's notification counts, in the Prometheus text format (called by
 * ops.c). */
void wbs__notify_render_metrics(wbs__buf *b, wbs__notifier *n, wbs__store *store);

/*
 * "host…last4" of a webhook URL for display: the host and the last four
 * characters, never enough to use it. out needs 128 bytes.
 */
void wbs__webhook_hint(const char *url, char out[128]);

#endif /* WB_SERVER_NOTIFY_H */

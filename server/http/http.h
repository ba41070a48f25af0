/*
 * http.h — the HTTP front of `wb server`: civetweb worker threads that
 * route /api/v1 requests (schema/api.md), authenticate them, parse and
 * validate bodies, and call the store.
 *
 * Threads: wbs__http_start and wbs__http_stop are called from one thread
 * (main). Between them civetweb's worker threads run the handlers.
 */
#ifndef WB_SERVER_HTTP_H
#define WB_SERVER_HTTP_H

#include <stddef.h>

#include "notify/notify.h"
#include "store/store.h"

typedef struct wbs__http wbs__http;

/* Worker threads when the operator sets none (see server.c: each open
 * connection, idle or streaming, holds one). */
#define WBS__HTTP_THREADS_DEFAULT 1024

typedef struct wbs__http_opts {
	const char *host; /* address to bind, e.g. "127.0.0.1" or "::1" */
	int port;         /* 0: any free port */
	int threads;      /* civetweb worker threads; <= 0: WBS__HTTP_THREADS_DEFAULT */
	wbs__store *store; /* borrowed; must outlive the server */
	double rate_limit; /* requests per second per API key; <= 0: no limit */
	double rate_burst; /* bucket size of the rate limiter */
	const char *web_dir; /* built web UI (index.html, assets/); copied; NULL or "": none */
	const char *tls_cert; /* PEM certificate (chain) file: serve HTTPS only; NULL or "": plain HTTP */
	const char *tls_key;  /* PEM private key file of tls_cert; read during wbs__http_start only */
	int secure_cookies;  /* mark the session cookie Secure (behind a TLS proxy); always when served over TLS */
	const char *cors_origins; /* origins (comma-separated, e.g. "https://dash.example.com") whose pages may call
				     /api/v1; NULL or "": none, the UI is same-origin */
} wbs__http_opts;

/*
 * Start listening. On success *out is the server and url (cap bytes)
 * receives its base URL, e.g. "http://127.0.0.1:43211" (https:// with TLS). Returns 0, or -1
 * with a message in err.
 */
int wbs__http_start(wbs__http **out, const wbs__http_opts *opts, char *url, size_t cap, char *err, size_t errlen);

/*
 * Start shutting down: from now on new requests are answered 503
 * unavailable, and this waits (at most timeout seconds) until the requests
 * already being handled have finished, including reading their bodies.
 */
void wbs__http_drain(wbs__http *h, double timeout);

/* Stop accepting, end every connection, free. Accepts NULL. */
void wbs__http_stop(wbs__http *h);

/* The notifier whose webhook counters /metrics shows (NULL: none). Call
 * wbs__http_stop before stopping n. */
void wbs__http_set_notifier(wbs__http *h, wbs__notifier *n);

#endif /* WB_SERVER_HTTP_H */

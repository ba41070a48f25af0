/*
 * server_int.h — the HTTP front's own state (struct wbs__http) and limits,
 * shared by server.c (civetweb, routing, authentication) and request.c
 * (responses and request bodies). Handlers see only http_int.h.
 */
#ifndef WB_SERVER_HTTP_SERVER_INT_H
#define WB_SERVER_HTTP_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "http_int.h"
#include "http/ops.h"

/* civetweb's request_timeout_ms: the whole header block of a new
 * connection, and the longest wait for any byte of a body. */
#define HEADER_TIMEOUT_MS 10000
/* Idle time between two requests of a keep-alive connection (the SDK's
 * uploader sends at least every heartbeat while a run streams; an idle
 * connection costs a worker, so it is short). */
#define KEEPALIVE_MS 5000
/* A body must average BODY_MIN_RATE bytes/s once BODY_GRACE_S have passed. */
#define BODY_GRACE_S 10.0
#define BODY_MIN_RATE 4096.0
/* Request bodies (as sent, and inflated) held in memory by all workers at once. */
#define BODY_BUDGET ((size_t)256u * 1024u * 1024u)
#define CORS_ORIGINS_MAX 16

struct wbs__http {
	struct mg_context *ctx;
	wbs__store *store;
	char *web_dir; /* the web UI's files (static.c), or NULL */
	int secure_cookies;
	uint32_t id_prefix;
	atomic_uint_fast64_t next_id;
	wbs__limiter *limiter; /* per-key rate limits (ops.c), or NULL */
	wbs__ops *ops;         /* request, ingest and rate-limit counters (ops.c) */
	wbs__signin *signin;   /* password-hashing gate and sign-in failures (handlers_acct.c) */
	_Atomic(wbs__notifier *) notifier; /* for its counters in /metrics, or NULL (wbs__http_set_notifier) */
	const char *tls_cert, *tls_key; /* borrowed from the options during wbs__http_start only */
	char tls_err[400];             /* why on_init_ssl failed, for wbs__http_start's message */
	/* Draining: civetweb's mg_stop() cuts a request off in the middle of
	 * reading its body, so shutdown first refuses new requests and waits
	 * for the in-flight ones. */
	pthread_mutex_t mu;
	pthread_cond_t idle;
	unsigned inflight;
	int draining;
	wbs__budget bodies; /* BODY_BUDGET: see wbs__read_body */
	char *cors_buf;     /* cors-origins, split in place into cors[] */
	const char *cors[CORS_ORIGINS_MAX];
	size_t ncors;
};

/* 1 when the request declared a body that was not read to its end (the
 * connection then closes after the answer). request.c. */
int wbs__body_unread(const wbs__req *q);
/* Read and drop what the client sent of an unread body, within 1 s and
 * 16 MiB, so that closing the connection does not reset it (request.c). */
void wbs__body_drain(wbs__req *q);

#endif /* WB_SERVER_HTTP_SERVER_INT_H */

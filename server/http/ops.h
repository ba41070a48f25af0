/*
 * ops.h — the operations side of the HTTP front: request counters and the
 * Prometheus text of GET /metrics, GET /readyz, and the per-API-key rate
 * limiter.
 *
 * Counters belong to one server (struct wbs__ops, owned by the HTTP
 * server: two servers in one process count apart), kept in atomics or
 * under a short mutex, and never block on the store.
 *
 * Threads: every function may be called from any thread, except
 * wbs__ops_new/_free and wbs__limiter_new/_free (one thread, before/after
 * the workers run).
 */
#ifndef WB_SERVER_HTTP_OPS_H
#define WB_SERVER_HTTP_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "notify/notify.h"
#include "store/store.h"
#include "util/buf.h"

typedef struct wbs__ops wbs__ops;

/* A server's counters, its uptime counted from now. 0, or -1 (out of
 * memory). wbs__ops_free accepts NULL; every count accepts a NULL o. */
int wbs__ops_new(wbs__ops **out);
void wbs__ops_free(wbs__ops *o);

/* Count one answered request: method, route pattern (e.g.
 * "/api/v1/projects/{entity}/{project}/runs/{run}"), status, and how long it took. */
void wbs__ops_count_request(wbs__ops *o, const char *method, const char *route, int status, double seconds);
/* Count an accepted record batch: its points and the frames applied. */
void wbs__ops_count_ingest(wbs__ops *o, uint64_t points, uint64_t frames_applied);
/* Count a request refused by the rate limiter. */
void wbs__ops_count_rate_limited(wbs__ops *o);

/* Render every metric of o, the store (may be NULL) and the notifier (may
 * be NULL: its counters are 0) in the Prometheus text format (version 0.0.4). */
void wbs__ops_render_metrics(wbs__buf *b, wbs__ops *o, wbs__store *store, wbs__notifier *notifier);

/*
 * Token buckets, one per API key (by the key's SHA-256): rate tokens per
 * second up to burst. A table of at most WBS__LIMITER_KEYS keys; when it
 * is full the bucket idle longest is reused (it was full anyway).
 */
#define WBS__LIMITER_KEYS 4096
typedef struct wbs__limiter wbs__limiter;

/* rate <= 0: no limit (*out is NULL, which every call accepts). 0 or -1 (out of memory). */
int wbs__limiter_new(wbs__limiter **out, double rate, double burst);
void wbs__limiter_free(wbs__limiter *l);
/*
 * Take one token for key at time now (monotonic seconds). 0 if allowed;
 * else 1 and *retry_after the whole seconds (>= 1) until a token is there.
 */
int wbs__limiter_take(wbs__limiter *l, const uint8_t key[32], double now, unsigned *retry_after);

#endif /* WB_SERVER_HTTP_OPS_H */

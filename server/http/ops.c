/*
 * ops.c — request counters, /metrics rendering and the rate limiter (see
 * ops.h).
 *
 * Only real counters are exported: requests by method, route pattern and
 * status (route patterns, never paths: a label per run id would grow
 * without bound), a latency histogram, ingest points and frames, rate
 * limited requests, the writer's queue depth, the database's size and the
 * uptime. Points per second is rate(wb_ingest_points_total[1m]) on the
 * Prometheus side.
 *
 * The request table is small and fixed: routes times statuses is a few
 * dozen series; past WBS__OPS_SERIES they are counted under route "other"
 * so that a client cannot grow it.
 *
 * The limiter is a token bucket per API key hash in an open table under
 * one mutex; the critical section is a lookup and a few flops, far shorter
 * than the SHA-256 and the SQLite lookup that authentication did just
 * before it.
 */
#include "http/ops.h"
#include "notify/notify.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_artifact.h"
#include "store/store_ops.h"

#define WBS__OPS_SERIES 256

static const double latency_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

struct req_series {
	char method[8];
	char route[96];
	int status;
	uint64_t count;
};

/* One server's counters (two servers in one process, as in the unit
 * tests, count apart). */
struct wbs__ops {
	pthread_mutex_t mu; /* the request table and the latency histogram */
	struct req_series series[WBS__OPS_SERIES];
	size_t nseries;
	uint64_t latency_buckets[NBOUNDS + 1]; /* cumulative at render; +Inf last */
	double latency_sum;
	uint64_t latency_count;
	atomic_uint_fast64_t ingest_points, ingest_frames, rate_limited;
	double started; /* monotonic seconds */
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int wbs__ops_new(wbs__ops **out)
{
	wbs__ops *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o)
		return -1;
	pthread_mutex_init(&o->mu, NULL);
	atomic_init(&o->ingest_points, 0);
	atomic_init(&o->ingest_frames, 0);
	atomic_init(&o->rate_limited, 0);
	o->started = mono_now();
	*out = o;
	return 0;
}

void wbs__ops_free(wbs__ops *o)
{
	if (!o)
		return;
	pthread_mutex_destroy(&o->mu);
	free(o);
}

void wbs__ops_count_request(wbs__ops *o, const char *method, const char *route, int status, double seconds)
{
	struct req_series *series;
	size_t i, b;

	if (!o)
		return;
	series = o->series;
	pthread_mutex_lock(&o->mu);
	for (i = 0; i < o->nseries; i++)
		if (series[i].status == status && strcmp(series[i].route, route) == 0 &&
		    strcmp(series[i].method, method) == 0)
			break;
	if (i == o->nseries) {
		if (o->nseries >= WBS__OPS_SERIES - 1) {
			/* Full: the last series is the catch-all (added once, then found here). */
			method = "OTHER";
			route = "other";
			status = 0;
			for (i = 0; i < o->nseries; i++)
				if (strcmp(series[i].route, "other") == 0)
					break;
		}
		if (i == o->nseries) {
			snprintf(series[i].method, sizeof(series[i].method), "%s", method);
			snprintf(series[i].route, sizeof(series[i].route), "%s", route);
			series[i].status = status;
			o->nseries++;
		}
	}
	series[i].count++;
	for (b = 0; b < NBOUNDS && seconds > latency_bounds[b]; b++)
		;
	o->latency_buckets[b]++;
	o->latency_sum += seconds;
	o->latency_count++;
	pthread_mutex_unlock(&o->mu);
}

void wbs__ops_count_ingest(wbs__ops *o, uint64_t points, uint64_t frames_applied)
{
	if (!o)
		return;
	atomic_fetch_add(&o->ingest_points, points);
	atomic_fetch_add(&o->ingest_frames, frames_applied);
}

void wbs__ops_count_rate_limited(wbs__ops *o)
{
	if (o)
		atomic_fetch_add(&o->rate_limited, 1);
}

static void help(wbs__buf *b, const char *name, const char *type, const char *text)
{
	wbs__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void wbs__ops_render_metrics(wbs__buf *b, wbs__ops *o, wbs__store *store, wbs__notifier *notifier)
{
	wbs__store_stats st;
	uint64_t cum = 0;
	double uptime = mono_now() - o->started;

	help(b, "wb_http_requests_total", "counter", "HTTP requests answered, by method, route pattern and status.");
	pthread_mutex_lock(&o->mu);
	for (size_t i = 0; i < o->nseries; i++)
		wbs__buf_printf(b, "wb_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
				o->series[i].method, o->series[i].route, o->series[i].status,
				(unsigned long long)o->series[i].count);
	help(b, "wb_http_request_duration_seconds", "histogram", "Time from routing to the last byte of the answer.");
	for (size_t i = 0; i <= NBOUNDS; i++) {
		cum += o->latency_buckets[i];
		if (i < NBOUNDS)
			wbs__buf_printf(b, "wb_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds[i],
					(unsigned long long)cum);
		else
			wbs__buf_printf(b, "wb_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
					(unsigned long long)cum);
	}
	wbs__buf_printf(b, "wb_http_request_duration_seconds_sum %.6f\n", o->latency_sum);
	wbs__buf_printf(b, "wb_http_request_duration_seconds_count %llu\n", (unsigned long long)o->latency_count);
	pthread_mutex_unlock(&o->mu);

	help(b, "wb_ingest_points_total", "counter", "Metric points in record batches the store accepted.");
	wbs__buf_printf(b, "wb_ingest_points_total %llu\n", (unsigned long long)atomic_load(&o->ingest_points));
	help(b, "wb_ingest_frames_applied_total", "counter", "Run log frames applied (replayed frames not counted).");
	wbs__buf_printf(b, "wb_ingest_frames_applied_total %llu\n", (unsigned long long)atomic_load(&o->ingest_frames));
	help(b, "wb_artifact_blob_bytes_received_total", "counter", "Bytes of artifact blob chunks written to the blob store.");
	wbs__buf_printf(b, "wb_artifact_blob_bytes_received_total %llu\n", (unsigned long long)wbs__blob_bytes_received());
	help(b, "wb_artifact_blobs_deleted_total", "counter", "Unreferenced blobs deleted after a version was deleted.");
	wbs__buf_printf(b, "wb_artifact_blobs_deleted_total %llu\n", (unsigned long long)wbs__blob_gc_deleted());
	help(b, "wb_rate_limited_total", "counter", "Requests answered 429 by the per-key rate limiter.");
	wbs__buf_printf(b, "wb_rate_limited_total %llu\n", (unsigned long long)atomic_load(&o->rate_limited));
	wbs__notify_render_metrics(b, notifier, store); /* webhook deliveries (notify.c) */
	if (store) {
		wbs__store_stats_get(store, &st);
		help(b, "wb_store_queue_depth", "gauge", "Write jobs waiting for the writer thread.");
		wbs__buf_printf(b, "wb_store_queue_depth %llu\n", (unsigned long long)st.queue_depth);
		help(b, "wb_store_db_bytes", "gauge", "Size of the database file wb.db.");
		wbs__buf_printf(b, "wb_store_db_bytes %llu\n", (unsigned long long)st.db_bytes);
		help(b, "wb_store_wal_bytes", "gauge", "Size of the write-ahead log wb.db-wal.");
		wbs__buf_printf(b, "wb_store_wal_bytes %llu\n", (unsigned long long)st.wal_bytes);
	}
	help(b, "wb_uptime_seconds", "gauge", "Seconds since the server started.");
	wbs__buf_printf(b, "wb_uptime_seconds %.3f\n", uptime);
}

/* ---- rate limiter ---- */

struct bucket {
	uint8_t key[32];
	int used;
	double tokens, last;
};

struct wbs__limiter {
	pthread_mutex_t mu;
	double rate, burst;
	struct bucket b[WBS__LIMITER_KEYS];
};

int wbs__limiter_new(wbs__limiter **out, double rate, double burst)
{
	wbs__limiter *l;

	*out = NULL;
	if (!(rate > 0))
		return 0;
	if (!(l = calloc(1, sizeof(*l))))
		return -1;
	pthread_mutex_init(&l->mu, NULL);
	l->rate = rate;
	l->burst = burst >= 1 ? burst : 1;
	*out = l;
	return 0;
}

void wbs__limiter_free(wbs__limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int wbs__limiter_take(wbs__limiter *l, const uint8_t key[32], double now, unsigned *retry_after)
{
	struct bucket *bk = NULL, *oldest = NULL;
	size_t start, i;
	int limited = 0;

	*retry_after = 0;
	if (!l)
		return 0;
	start = ((size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16) % WBS__LIMITER_KEYS;
	pthread_mutex_lock(&l->mu);
	/* Probe a short run of slots: the key, or a free slot, or the idlest. */
	for (i = 0; i < 16; i++) {
		struct bucket *c = &l->b[(start + i) % WBS__LIMITER_KEYS];
		if (c->used && memcmp(c->key, key, 32) == 0) {
			bk = c;
			break;
		}
		if (!c->used) {
			if (!oldest || oldest->used)
				oldest = c;
		} else if (!oldest || (oldest->used && c->last < oldest->last)) {
			oldest = c;
		}
	}
	if (!bk) {
		bk = oldest;
		memcpy(bk->key, key, 32);
		bk->used = 1;
		bk->tokens = l->burst;
		bk->last = now;
	}
	if (now > bk->last) {
		bk->tokens = fmin(l->burst, bk->tokens + (now - bk->last) * l->rate);
		bk->last = now;
	}
	if (bk->tokens >= 1) {
		bk->tokens -= 1;
	} else {
		double wait = (1 - bk->tokens) / l->rate;
		*retry_after = (unsigned)ceil(wait);
		if (*retry_after < 1)
			*retry_after = 1;
		limited = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return limited;
}

/*
 * bench_ingest — end-to-end figures of the foundation, one JSON object per
 * line: {"bench": ..., "value": ..., "unit": ...}.
 *
 *  - ingest: one trainer logs N points (10 metrics per step) through the real
 *    SDK into a real `wb server` on loopback; the clock runs from the first
 *    wb_log to wb_finish returning with everything acknowledged by the server.
 *    Trainer RSS is sampled throughout.
 *  - history: a 10M-point metric downsampled to 1,000 buckets (full range and
 *    a 1% zoom), timed at the client over HTTP, median of repeated requests.
 *  - stored size: bytes per point of a realistic float32 training-loss series,
 *    a constant series and random float64 values, step included, measured in
 *    the server's SQLite file.
 *
 * WB_BENCH_POINTS scales the ingest run (default 10,000,000).
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static void emit(const char *bench, double value, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, value, unit);
	fflush(stdout);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static volatile int sampling;
static long peak_rss_kib;

static void *rss_sampler(void *arg)
{
	(void)arg;
	while (sampling) {
		long r = rss_kib();
		if (r > peak_rss_kib)
			peak_rss_kib = r;
		usleep(20000);
	}
	return NULL;
}

/* A float32 training loss: decaying trend plus noise, widened to double. */
static double loss_value(uint64_t *rng, int64_t s)
{
	double u1, u2, noise;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	u1 = ((double)(*rng >> 11) + 0.5) / 9007199254740992.0;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	u2 = ((double)(*rng >> 11) + 0.5) / 9007199254740992.0;
	noise = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2) * 0.02;
	return (double)(float)(2.0 * exp(-(double)s / 2e5) + 0.05 + noise);
}

static double random_value(uint64_t *rng)
{
	uint64_t u;
	double d;
	do {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		u = *rng;
		memcpy(&d, &u, 8);
	} while (!isfinite(d));
	return d;
}

typedef enum { SERIES_LOSS, SERIES_CONSTANT, SERIES_RANDOM } series_kind;

/* Log nsteps steps of `width` metrics each; returns seconds from the first
 * wb_log to wb_finish returning, or -1. */
static double log_run(const char *project, int64_t nsteps, int width, series_kind kind, char *id_out, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	wb_metric m[16];
	char keys[16][16];
	uint64_t rng = 88172645463325252ULL;
	double t0, t1;
	int rc;

	o.project = project;
	o.entity = "bench";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 600000;
	if (wb_init(&run, &o) != WB_OK) {
		fprintf(stderr, "bench: wb_init: %s\n", wb_errmsg());
		return -1;
	}
	snprintf(id_out, cap, "%s", wb_run_id(run));
	for (int k = 0; k < width; k++) {
		snprintf(keys[k], sizeof(keys[k]), width == 1 ? "loss" : "loss%d", k);
		m[k].key = keys[k];
	}
	t0 = wbt_now();
	for (int64_t s = 0; s < nsteps; s++) {
		for (int k = 0; k < width; k++)
			m[k].value = kind == SERIES_LOSS ? loss_value(&rng, s)
				     : kind == SERIES_CONSTANT ? 0.5 : random_value(&rng);
		if ((rc = wb_log(run, m, (size_t)width, s)) != WB_OK) {
			fprintf(stderr, "bench: wb_log: %s\n", wb_strerror(rc));
			wb_finish(run, 1);
			return -1;
		}
	}
	if (wb_run_dropped(run) != 0)
		fprintf(stderr, "bench: %" PRIu64 " records dropped\n", wb_run_dropped(run));
	rc = wb_finish(run, 0);
	t1 = wbt_now();
	if (rc != WB_OK) {
		fprintf(stderr, "bench: wb_finish: %s (%s)\n", wb_strerror(rc), wb_errmsg());
		return -1;
	}
	return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median wall time in ms of GET path, over reps requests (after one warm-up). */
static double time_get_ms(const wbt_server *s, const char *path, int reps)
{
	double *t = calloc((size_t)reps, sizeof(double)), med;
	wbt_response r;

	if (wbt_http(s, "GET", path, NULL, 0, NULL, 1, &r) == 0) {
		if (r.status != 200)
			fprintf(stderr, "bench: GET %s -> %ld %s\n", path, r.status, r.body);
		wbt_response_free(&r);
	}
	for (int i = 0; i < reps; i++) {
		double t0 = wbt_now();
		if (wbt_http(s, "GET", path, NULL, 0, NULL, 1, &r) == 0)
			wbt_response_free(&r);
		t[i] = (wbt_now() - t0) * 1e3;
	}
	qsort(t, (size_t)reps, sizeof(double), cmp_double);
	med = t[reps / 2];
	free(t);
	return med;
}

/* Bytes the store holds for one metric of the run: compressed blobs plus the
 * per-chunk row, read straight from the SQLite file. */
static double stored_bytes_per_point(const wbt_server *s, const char *run_id, const char *key, int64_t points)
{
	char db[512];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	double bytes = -1;

	wbt_db_path(s, db, sizeof(db));
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto done;
	/* each chunk row: the blob plus its meta columns (key id, chunk number,
	 * step range, count, min, max, last: 7 integers/reals of up to 8 bytes,
	 * plus record header), counted at their stored size */
	if (sqlite3_prepare_v2(h,
			       "SELECT sum(length(c.data)) + sum(8 * 7 + 10), count(*) FROM chunks c "
			       "JOIN metric_keys k ON k.id = c.key_id JOIN runs r ON r.id = k.run_id "
			       "WHERE r.run_id = ? AND k.key = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(h));
		goto done;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		bytes = sqlite3_column_double(st, 0);
done:
	sqlite3_finalize(st);
	sqlite3_close(h);
	return bytes < 0 ? -1 : bytes / (double)points;
}

int main(void)
{
	wbt_server srv;
	char runs[256], id[64], path[512];
	const char *env = getenv("WB_BENCH_POINTS");
	int64_t points = env ? strtoll(env, NULL, 10) : 10000000;
	int64_t hist_points = points;
	pthread_t sampler;
	double secs;
	struct stat st;

	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(runs, sizeof(runs), "benchruns") < 0)
		return 1;
	setenv("WB_DIR", runs, 1);

	/* 1. end-to-end ingest, 10 metrics a step */
	sampling = 1;
	peak_rss_kib = rss_kib();
	pthread_create(&sampler, NULL, rss_sampler, NULL);
	secs = log_run("ingest", points / 10, 10, SERIES_LOSS, id, sizeof(id));
	sampling = 0;
	pthread_join(sampler, NULL);
	if (secs < 0)
		return 1;
	emit("ingest_e2e_points_per_s", (double)points / secs, "points/s");
	emit("ingest_e2e_seconds", secs, "s");
	emit("ingest_trainer_peak_rss", (double)peak_rss_kib / 1024.0, "MiB");

	/* 2. one 10M-point metric: also the single-metric ingest rate */
	secs = log_run("history", hist_points, 1, SERIES_LOSS, id, sizeof(id));
	if (secs < 0)
		return 1;
	emit("ingest_e2e_points_per_s_1metric", (double)hist_points / secs, "points/s");
	snprintf(path, sizeof(path), "/api/v1/projects/bench/history/runs/%s/history?key=loss&buckets=1000", id);
	emit("history_10M_1000_buckets_ms", time_get_ms(&srv, path, 21), "ms");
	snprintf(path, sizeof(path),
		 "/api/v1/projects/bench/history/runs/%s/history?key=loss&buckets=1000&start=%" PRId64 "&end=%" PRId64,
		 id, hist_points / 2, hist_points / 2 + hist_points / 100);
	emit("history_10M_zoom_1pct_ms", time_get_ms(&srv, path, 21), "ms");
	emit("stored_bytes_per_point_loss", stored_bytes_per_point(&srv, id, "loss", hist_points), "bytes/point");
	emit("stored_bytes_per_point_timestamp", stored_bytes_per_point(&srv, id, "_timestamp", hist_points),
	     "bytes/step");

	/* 3. stored size of a constant and a random series */
	if (log_run("constant", 1000000, 1, SERIES_CONSTANT, id, sizeof(id)) < 0)
		return 1;
	emit("stored_bytes_per_point_constant", stored_bytes_per_point(&srv, id, "loss", 1000000), "bytes/point");
	if (log_run("random", 1000000, 1, SERIES_RANDOM, id, sizeof(id)) < 0)
		return 1;
	emit("stored_bytes_per_point_random", stored_bytes_per_point(&srv, id, "loss", 1000000), "bytes/point");

	wbt_server_stop(&srv);
	{
		char db[512];
		wbt_db_path(&srv, db, sizeof(db));
		if (stat(db, &st) == 0)
			emit("db_file_bytes_per_point_all", (double)st.st_size / (double)(points + hist_points + 2000000),
			     "bytes/point");
	}
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	return 0;
}

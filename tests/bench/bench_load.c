/*
 * bench_load — the server at its ingest limit for a while, from a second
 * process on loopback: this process runs WB_LOAD_RUNS online runs (default
 * 4), each a thread logging 10 metrics a step as fast as wb_log takes them,
 * against a real `wb server` child process, for WB_LOAD_SECONDS (default
 * 30; the README figures use 300).
 *
 * Figures come from the server's own /metrics, sampled every
 * WB_LOAD_SAMPLE seconds (default 5): points ingested per second
 * (wb_ingest_points_total), the p99 of request latency (from the
 * wb_http_request_duration_seconds histogram: the upper bound of the
 * bucket holding the 99th percentile) and the server's RSS
 * (/proc/PID/status), whose growth from the first sample after warm-up to
 * the last must stay small. One JSON object a line:
 * {"bench": ..., "value": ..., "unit": ...}; the RSS series goes to stderr.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "wb.h"

static atomic_int stop;
static atomic_ullong logged;

static void emit(const char *bench, double value, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, value, unit);
	fflush(stdout);
}

static double env_num(const char *name, double def)
{
	const char *v = getenv(name);
	return v && *v ? atof(v) : def;
}

static void *trainer(void *arg)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int64_t step = 0;
	(void)arg;

	o.entity = "load";
	o.project = "bench";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 10000; /* the backlog stays in the run logs: not measured */
	o.disable_git = 1;
	o.system_sample_ms = -1;
	if (wb_init(&run, &o) != WB_OK) {
		fprintf(stderr, "wb_init: %s\n", wb_errmsg());
		return NULL;
	}
	while (!atomic_load(&stop)) {
		double x = (double)step;
		WB_LOG(run, step, {"loss", 1 / (x + 1)}, {"acc", x * 1e-6}, {"lr", 0.1}, {"m3", x}, {"m4", -x},
		       {"m5", x * 0.5}, {"m6", x * 0.25}, {"m7", sin(x)}, {"m8", cos(x)}, {"m9", x * x});
		step++;
		if ((step & 1023) == 0)
			atomic_fetch_add(&logged, 1024 * 10);
	}
	wb_finish(run, 0);
	return NULL;
}

/* The value of the sample line that starts with prefix followed by a space, or NAN. */
static double metric(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

struct sample {
	double t, points;
	double buckets[13]; /* cumulative counts at 0.001 .. 10, +Inf */
};

static const char *const les[13] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
				    "0.5",   "1",     "2.5",  "5",     "10",  "+Inf"};

static int take(const wbt_server *s, struct sample *out)
{
	wbt_response r;
	char name[96];

	if (wbt_http(s, "GET", "/metrics", NULL, 0, NULL, 0, &r) || r.status != 200) {
		wbt_response_free(&r);
		return -1;
	}
	out->t = wbt_now();
	out->points = metric(r.body, "wb_ingest_points_total");
	for (int i = 0; i < 13; i++) {
		snprintf(name, sizeof(name), "wb_http_request_duration_seconds_bucket{le=\"%s\"}", les[i]);
		out->buckets[i] = metric(r.body, name);
	}
	wbt_response_free(&r);
	return 0;
}

int main(void)
{
	double seconds = env_num("WB_LOAD_SECONDS", 30), every = env_num("WB_LOAD_SAMPLE", 5);
	int nruns = (int)env_num("WB_LOAD_RUNS", 4);
	wbt_server srv;
	pthread_t th[64];
	char root[256];
	struct sample first, prev, cur;
	long rss0 = -1, rss_max = 0, rss_last = 0;
	double t_end, p99 = NAN, total, n99;

	if (nruns < 1 || nruns > 64)
		nruns = 4;
	if (wbt_server_start(&srv, "") || wbt_mkdtemp(root, sizeof(root), "load"))
		return 1;
	setenv("WB_DIR", root, 1);
	for (int i = 0; i < nruns; i++)
		pthread_create(&th[i], NULL, trainer, NULL);
	/* Warm-up: one sample period, then measure from there. */
	{
		double until = wbt_now() + every;
		struct timespec ts = {0, 100000000};
		while (wbt_now() < until)
			nanosleep(&ts, NULL); /* pacing the sampler, not synchronisation */
	}
	if (take(&srv, &first))
		return 1;
	prev = first;
	rss0 = rss_kib(srv.pid);
	t_end = first.t + seconds;
	fprintf(stderr, "t_s,points_per_s,server_rss_kib\n");
	while (wbt_now() < t_end) {
		double until = wbt_now() + every;
		struct timespec ts = {0, 100000000};
		long rss;
		while (wbt_now() < until)
			nanosleep(&ts, NULL);
		if (take(&srv, &cur))
			return 1;
		rss = rss_kib(srv.pid);
		if (rss > rss_max)
			rss_max = rss;
		rss_last = rss;
		fprintf(stderr, "%.0f,%.0f,%ld\n", cur.t - first.t, (cur.points - prev.points) / (cur.t - prev.t), rss);
		prev = cur;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nruns; i++)
		pthread_join(th[i], NULL);
	total = cur.buckets[12] - first.buckets[12];
	n99 = ceil(total * 0.99);
	for (int i = 0; i < 13; i++)
		if (cur.buckets[i] - first.buckets[i] >= n99) {
			p99 = i < 12 ? atof(les[i]) * 1000 : INFINITY;
			break;
		}
	emit("load_runs", nruns, "runs");
	emit("load_seconds", cur.t - first.t, "s");
	emit("load_points_per_s", (cur.points - first.points) / (cur.t - first.t), "points/s");
	emit("load_requests", total, "requests");
	emit("load_request_p99_le", p99, "ms");
	emit("load_server_rss_start", (double)rss0 / 1024, "MiB");
	emit("load_server_rss_max", (double)rss_max / 1024, "MiB");
	emit("load_server_rss_end", (double)rss_last / 1024, "MiB");
	(void)logged;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(root);
	return 0;
}

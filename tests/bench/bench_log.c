/*
 * bench_log.c — what wb_log costs the training thread.
 *
 * The contract of wb_log is that it only copies into memory, so its cost
 * per metric point should be that of a memcpy: the targets are p50 <= 50 ns
 * and p99 <= 1 us per point. This benchmark starts a real run (offline,
 * into a fresh mkdtemp directory that it removes at the end; and online too
 * when WB_BASE_URL and WB_API_KEY are set), then logs a fixed number of
 * calls from the main thread, timing every single call, first with four
 * metrics per call and then with one.
 *
 * How it measures:
 *  - Each call is bracketed by two reads of the TSC (__rdtscp, which waits
 *    for earlier instructions to retire), calibrated against
 *    CLOCK_MONOTONIC over ~100 ms. The median cost of an empty bracket is
 *    measured first, reported, and subtracted from every sample; so is the
 *    clock's resolution (an AMD or virtualised TSC advances in steps of
 *    ~10 ns, the granularity of every per-call figure). Without a TSC (not
 *    x86) clock_gettime is the clock, which is coarser.
 *  - Samples go into a log-linear histogram (exact below 2048 ticks, then
 *    1/1024 relative resolution), not into an array: an array of 2M samples
 *    would itself grow the peak RSS that we report for the trainer.
 *  - Nothing is paced. The calls come as fast as the CPU allows, so when the
 *    background writer cannot keep up the SDK must apply backpressure (it
 *    shows up in p99/max) rather than drop: "wb_log_dropped" must be 0.
 *  - The mean per point is measured separately, from the wall time of the
 *    whole loop, so the timer's own cost does not enter it.
 *
 * wb_run_should_stop, which a trainer may call every step, is measured on
 * the same run: its contract is one relaxed atomic load, goal <= 5 ns per
 * call. One call is below the clock's resolution, so each sample brackets
 * a batch of SHOULD_STOP_BATCH calls and is divided by it; p50 and p99 are
 * over those per-call figures, the mean over an untimed loop.
 *
 * Output: one JSON object per line on stdout, e.g.
 *   {"bench":"wb_log_p50_per_point","value":12.3,"unit":"ns"}
 * Online results carry an "_online" suffix. Progress notes go to stderr.
 *
 * Usage: bench_log [calls]   (default 2000000 per variant)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif

#include "wb.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define DEFAULT_CALLS 2000000L
#define WARMUP_CALLS 100000L
#define SHOULD_STOP_BATCH 64

/* ------------------------------------------------------------------ */
/* Clock                                                               */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#if HAVE_TSC
	unsigned int aux;
	return __rdtscp(&aux);
#else
	return mono_ns();
#endif
}

static double ns_per_tick = 1.0;

/* Measure the TSC rate against CLOCK_MONOTONIC over ~100 ms. */
static void clock_calibrate(void)
{
#if HAVE_TSC
	struct timespec nap = {0, 100 * 1000 * 1000};
	uint64_t n0 = mono_ns(), t0 = ticks(), n1, t1;

	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	n1 = mono_ns();
	t1 = ticks();
	ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
#endif
}

/* ------------------------------------------------------------------ */
/* Log-linear histogram of tick counts                                 */

#define HIST_LINEAR 2048 /* values below are exact */
#define HIST_SUB_BITS 10 /* then 1024 sub-buckets per power of two */
#define HIST_BUCKETS (HIST_LINEAR + (64 - 11) * (1 << HIST_SUB_BITS))

typedef struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n, max;
} hist;

static size_t hist_bucket(uint64_t v)
{
	int e;

	if (v < HIST_LINEAR)
		return (size_t)v;
	e = 63 - __builtin_clzll(v); /* >= 11 */
	return HIST_LINEAR + (size_t)(e - 11) * (1u << HIST_SUB_BITS) +
	       (size_t)((v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* The smallest value that falls into bucket b. */
static uint64_t hist_value(size_t b)
{
	size_t e, sub;

	if (b < HIST_LINEAR)
		return b;
	e = (b - HIST_LINEAR) / (1u << HIST_SUB_BITS) + 11;
	sub = (b - HIST_LINEAR) % (1u << HIST_SUB_BITS);
	return ((uint64_t)1 << e) + ((uint64_t)sub << (e - HIST_SUB_BITS));
}

static inline void hist_add(hist *h, uint64_t v)
{
	h->count[hist_bucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

/* The q-quantile (0 < q < 1) in ticks. */
static uint64_t hist_quantile(const hist *h, double q)
{
	uint64_t rank = (uint64_t)(q * (double)h->n), seen = 0;

	for (size_t b = 0; b < HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen > rank)
			return hist_value(b);
	}
	return h->max;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void emit(const char *bench, const char *suffix, double value, const char *unit)
{
	printf("{\"bench\":\"%s%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, suffix, value, unit);
	fflush(stdout);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "bench_log: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static uint64_t du_total;

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_total += (uint64_t)st->st_size;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The benchmark                                                       */

/*
 * The median cost, in ticks, of an empty timing bracket, and in
 * *resolution the smallest nonzero step of the clock (a virtualised or
 * AMD TSC may advance in steps of several ticks: no result is finer).
 */
static uint64_t timer_overhead(hist *h, uint64_t *resolution)
{
	uint64_t step = UINT64_MAX;

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 1000000; i++) {
		uint64_t t0 = ticks();
		uint64_t t1 = ticks();
		hist_add(h, t1 - t0);
		if (t1 > t0 && t1 - t0 < step)
			step = t1 - t0;
	}
	*resolution = step == UINT64_MAX ? 1 : step;
	return hist_quantile(h, 0.5);
}

typedef struct result {
	uint64_t bad_rc; /* calls that returned anything but WB_OK */
	double mean_ns;  /* wall time of the untimed loop / calls */
} result;

/*
 * Log `calls` calls of n_metrics points each (n_metrics is 1 or 4). The
 * timed loop fills *h with per-call ticks minus the timer overhead; a
 * second, untimed loop of the same length gives the mean.
 */
static result run_variant(wb_run *run, long calls, int n_metrics, uint64_t overhead, hist *h)
{
	result r = {0, 0.0};
	uint64_t t_start;
	int rc;

	memset(h, 0, sizeof(*h));
	for (long i = 0; i < WARMUP_CALLS; i++) {
		double x = (double)i * 1e-6;
		rc = n_metrics == 4 ? WB_LOG(run, WB_STEP_AUTO, {"train/loss", x}, {"train/acc", 1.0 - x},
					     {"train/lr", 0.1 * x}, {"train/grad_norm", 2.0 + x})
				    : WB_LOG(run, WB_STEP_AUTO, {"train/loss", x});
		r.bad_rc += rc != WB_OK;
	}
	for (long i = 0; i < calls; i++) {
		double x = (double)i * 1e-6;
		uint64_t t0, t1;

		if (n_metrics == 4) {
			t0 = ticks();
			rc = WB_LOG(run, WB_STEP_AUTO, {"train/loss", x}, {"train/acc", 1.0 - x},
				    {"train/lr", 0.1 * x}, {"train/grad_norm", 2.0 + x});
			t1 = ticks();
		} else {
			t0 = ticks();
			rc = WB_LOG(run, WB_STEP_AUTO, {"train/loss", x});
			t1 = ticks();
		}
		r.bad_rc += rc != WB_OK;
		t1 -= t0;
		hist_add(h, t1 > overhead ? t1 - overhead : 0);
	}
	t_start = mono_ns();
	for (long i = 0; i < calls; i++) {
		double x = (double)i * 1e-6;
		rc = n_metrics == 4 ? WB_LOG(run, WB_STEP_AUTO, {"train/loss", x}, {"train/acc", 1.0 - x},
					     {"train/lr", 0.1 * x}, {"train/grad_norm", 2.0 + x})
				    : WB_LOG(run, WB_STEP_AUTO, {"train/loss", x});
		r.bad_rc += rc != WB_OK;
	}
	r.mean_ns = (double)(mono_ns() - t_start) / (double)calls;
	return r;
}

static void report_variant(const hist *h, const result *r, int n_metrics, const char *sfx)
{
	static const double q[] = {0.5, 0.99, 0.999};
	static const char *const qname[] = {"p50", "p99", "p999"};
	char name[64];

	for (size_t i = 0; i < 3; i++) {
		double ns = (double)hist_quantile(h, q[i]) * ns_per_tick;
		snprintf(name, sizeof(name), "wb_log_%s_per_call_%dmetric%s", qname[i], n_metrics,
			 n_metrics > 1 ? "s" : "");
		emit(name, sfx, ns, "ns");
		if (n_metrics == 4) {
			snprintf(name, sizeof(name), "wb_log_%s_per_point", qname[i]);
			emit(name, sfx, ns / n_metrics, "ns");
		}
	}
	snprintf(name, sizeof(name), "wb_log_max_per_call_%dmetric%s", n_metrics, n_metrics > 1 ? "s" : "");
	emit(name, sfx, (double)h->max * ns_per_tick, "ns");
	snprintf(name, sizeof(name), "wb_log_mean_per_call_%dmetric%s", n_metrics, n_metrics > 1 ? "s" : "");
	emit(name, sfx, r->mean_ns, "ns");
	if (n_metrics == 4)
		emit("wb_log_mean_per_point", sfx, r->mean_ns / n_metrics, "ns");
	if (r->bad_rc > 0) {
		snprintf(name, sizeof(name), "wb_log_failed_calls_%dmetric%s", n_metrics, n_metrics > 1 ? "s" : "");
		emit(name, sfx, (double)r->bad_rc, "calls");
	}
}

/*
 * wb_run_should_stop on run: `calls` calls in batches of SHOULD_STOP_BATCH,
 * each batch bracketed; reports p50/p99 per call and the mean per call of
 * an untimed loop. Returns the number of calls that said 1 (0 expected:
 * nothing tells a benchmark run to stop).
 */
static long bench_should_stop(wb_run *run, long calls, uint64_t overhead, hist *h, const char *sfx)
{
	static const double q[] = {0.5, 0.99};
	static const char *const qname[] = {"p50", "p99"};
	long batches = calls / SHOULD_STOP_BATCH, said = 0;
	uint64_t t0;
	char name[64];

	memset(h, 0, sizeof(*h));
	for (long b = 0; b < batches; b++) {
		uint64_t a, z;
		int k = 0;

		a = ticks();
		for (int i = 0; i < SHOULD_STOP_BATCH; i++)
			k += wb_run_should_stop(run);
		z = ticks() - a;
		said += k;
		hist_add(h, z > overhead ? z - overhead : 0);
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "wb_run_should_stop_%s_per_call", qname[i]);
		emit(name, sfx, (double)hist_quantile(h, q[i]) * ns_per_tick / SHOULD_STOP_BATCH, "ns");
	}
	t0 = mono_ns();
	for (long i = 0; i < calls; i++)
		said += wb_run_should_stop(run);
	emit("wb_run_should_stop_mean_per_call", sfx, (double)(mono_ns() - t0) / (double)calls, "ns");
	return said;
}

/*
 * One full pass in the given mode: init, both variants, finish. Returns 0,
 * or -1 if the run could not start or a call failed.
 */
static int bench_mode(wb_mode mode, const char *dir, long calls, uint64_t overhead, hist *h)
{
	const char *sfx = mode == WB_MODE_ONLINE ? "_online" : "";
	wb_init_options opts = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	result r4, r1;
	uint64_t dropped, t0;
	char *run_dir = NULL;
	int rc, status = -1;

	opts.mode = mode;
	opts.dir = dir;
	opts.project = "bench";
	opts.name = mode == WB_MODE_ONLINE ? "bench-log-online" : "bench-log-offline";
	opts.finish_timeout_ms = 20000; /* keeps the whole benchmark under 30 s */
	rc = wb_init(&run, &opts);
	if (rc != WB_OK) {
		char detail[256];
		/* copy first: the message lives only until the next wb_ call */
		snprintf(detail, sizeof(detail), "%s", wb_errmsg());
		fprintf(stderr, "bench_log: wb_init (%s): %s: %s\n", mode == WB_MODE_ONLINE ? "online" : "offline",
			wb_strerror(rc), detail);
		return -1;
	}
	run_dir = wb_run_dir(run) != NULL ? strdup(wb_run_dir(run)) : NULL;
	fprintf(stderr, "bench_log: %s run in %s, %ld calls per variant\n",
		mode == WB_MODE_ONLINE ? "online" : "offline", run_dir ? run_dir : "?", calls);

	r4 = run_variant(run, calls, 4, overhead, h);
	report_variant(h, &r4, 4, sfx);
	r1 = run_variant(run, calls, 1, overhead, h);
	report_variant(h, &r1, 1, sfx);

	dropped = wb_run_dropped(run);
	emit("wb_log_dropped", sfx, (double)dropped, "records");
	if (bench_should_stop(run, calls, overhead, h, sfx) != 0)
		fprintf(stderr, "bench_log: wb_run_should_stop said 1 on a run nothing told to stop\n");

	t0 = mono_ns();
	rc = wb_finish(run, 0);
	run = NULL;
	emit("wb_finish", sfx, (double)(mono_ns() - t0) * 1e-6, "ms");
	if (rc != WB_OK)
		fprintf(stderr, "bench_log: wb_finish: %s\n", wb_strerror(rc));

	if (run_dir != NULL) {
		/* warm-up, timed and untimed loops; 4 + 1 points per call pair */
		uint64_t points = (uint64_t)(WARMUP_CALLS + 2 * calls) * (4 + 1);
		du_total = 0;
		if (nftw(run_dir, du_entry, 16, FTW_PHYS) == 0)
			emit("wb_log_run_log_bytes_per_point", sfx, (double)du_total / (double)points, "bytes");
	}
	/* online, a finish timeout only says the server was slower than the
	 * trainer; the data is in the run log. Dropped or refused records fail. */
	if (rc == WB_ETIMEOUT && mode == WB_MODE_ONLINE)
		rc = WB_OK;
	status = (rc == WB_OK && dropped == 0 && r4.bad_rc == 0 && r1.bad_rc == 0) ? 0 : -1;
	free(run_dir);
	return status;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	hist *h = NULL;
	long calls = DEFAULT_CALLS;
	uint64_t overhead, resolution;
	struct rusage ru;
	int status = 1;

	if (argc > 1) {
		char *end;
		calls = strtol(argv[1], &end, 10);
		if (*end != '\0' || calls < 1 || calls > 1000000000L) {
			fprintf(stderr, "usage: bench_log [calls]\n");
			return 2;
		}
	}
	snprintf(dir, sizeof(dir), "%s/wb-bench-log-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_log: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		fprintf(stderr, "bench_log: out of memory\n");
		goto done;
	}

	clock_calibrate();
	overhead = timer_overhead(h, &resolution);
	emit("wb_log_timer_overhead", "", (double)overhead * ns_per_tick, "ns");
	emit("wb_log_timer_resolution", "", (double)resolution * ns_per_tick, "ns");
	fprintf(stderr,
		"bench_log: %s at %.3f ns per tick, steps of %llu ticks, empty bracket %llu ticks (subtracted)\n",
		HAVE_TSC ? "rdtscp" : "clock_gettime", ns_per_tick, (unsigned long long)resolution,
		(unsigned long long)overhead);

	status = bench_mode(WB_MODE_OFFLINE, dir, calls, overhead, h) == 0 ? 0 : 1;
	if (getenv("WB_BASE_URL") != NULL && getenv("WB_API_KEY") != NULL) {
		if (bench_mode(WB_MODE_ONLINE, dir, calls, overhead, h) != 0)
			status = 1;
	} else {
		fprintf(stderr, "bench_log: WB_BASE_URL/WB_API_KEY not set, online variant skipped\n");
	}

	getrusage(RUSAGE_SELF, &ru);
	emit("wb_log_trainer_peak_rss", "", (double)ru.ru_maxrss / 1024.0, "MiB");

done:
	free(h);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}

/*
 * bench_tsz.c — size and speed of the metric chunk codec and of M4
 * downsampling over in-memory chunks. Prints one JSON object a line:
 *
 *   {"bench":"<name>","value":<number>,"unit":"<unit>"}
 *
 * Series are cut into WB__TSZ_CHUNK_POINTS-point chunks as the store does,
 * so bytes/point include each chunk's header and padding (but not SQLite's
 * row overhead). Timings are the best of several runs on one core.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsz.h"

#define N_SIZE 1000000u   /* points in the size benchmarks */
#define N_BIG 10000000u   /* points in the speed and downsampling benchmarks */
#define RUNS 5

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double uniform(void)
{
	return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
	return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *name, double value, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.4g,\"unit\":\"%s\"}\n", name, value, unit);
	fflush(stdout);
}

/* A series cut into encoded chunks, all in memory. */
typedef struct store {
	size_t nchunks;
	wb__chunk_meta *meta;
	uint8_t **blob;
	size_t *len;
	size_t bytes;
	size_t fetches;
} store;

static int store_build(store *s, const int64_t *st, const double *va, size_t n)
{
	size_t c, cap = wb__tsz_bound(WB__TSZ_CHUNK_POINTS);

	memset(s, 0, sizeof *s);
	s->nchunks = (n + WB__TSZ_CHUNK_POINTS - 1) / WB__TSZ_CHUNK_POINTS;
	s->meta = calloc(s->nchunks, sizeof *s->meta);
	s->blob = calloc(s->nchunks, sizeof *s->blob);
	s->len = calloc(s->nchunks, sizeof *s->len);
	if (!s->meta || !s->blob || !s->len)
		return -1;
	for (c = 0; c < s->nchunks; c++) {
		size_t at = c * WB__TSZ_CHUNK_POINTS, k = n - at < WB__TSZ_CHUNK_POINTS ? n - at : WB__TSZ_CHUNK_POINTS;

		s->blob[c] = malloc(cap);
		if (!s->blob[c])
			return -1;
		s->len[c] = wb__tsz_encode(st + at, va + at, (uint32_t)k, s->blob[c], cap);
		if (!s->len[c])
			return -1;
		wb__chunk_meta_of(st + at, va + at, (uint32_t)k, &s->meta[c]);
		s->bytes += s->len[c];
	}
	return 0;
}

static void store_free(store *s)
{
	size_t c;

	for (c = 0; c < s->nchunks; c++)
		free(s->blob[c]);
	free(s->meta);
	free(s->blob);
	free(s->len);
	memset(s, 0, sizeof *s);
}

static int store_fetch(void *ctx, size_t i, const uint8_t **blob, size_t *len)
{
	store *s = ctx;

	s->fetches++;
	*blob = s->blob[i];
	*len = s->len[i];
	return 0;
}

/* Training loss: float32 values, decaying trend plus N(0, 0.02) noise. */
static void gen_loss(int64_t *st, double *va, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		st[i] = (int64_t)i;
		va[i] = (double)(float)(2.0 * exp(-(double)i / 2e5) + 0.05 + 0.02 * gauss());
	}
}

/* The same trend with noise proportional to the loss (2% of it). */
static void gen_loss_rel(int64_t *st, double *va, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		double trend = 2.0 * exp(-(double)i / 2e5) + 0.05;

		st[i] = (int64_t)i;
		va[i] = (double)(float)(trend * (1.0 + 0.02 * gauss()));
	}
}

static void gen_constant(int64_t *st, double *va, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		st[i] = (int64_t)i;
		va[i] = 0.5;
	}
}

static void gen_random(int64_t *st, double *va, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t u = rnd();

		st[i] = (int64_t)i;
		memcpy(&va[i], &u, sizeof u);
	}
}

static int bench_size(const char *name, void (*gen)(int64_t *, double *, size_t), int64_t *st, double *va)
{
	store s;
	int rc;

	gen(st, va, N_SIZE);
	rc = store_build(&s, st, va, N_SIZE);
	if (rc == 0)
		emit(name, (double)s.bytes / N_SIZE, "bytes/point");
	store_free(&s);
	return rc;
}

/* Median-free "best of RUNS" for the codec over the whole 10M series. */
static int bench_codec(const store *s, const int64_t *st, const double *va, int64_t *dst, double *dva)
{
	double best_dec = 1e30, best_enc = 1e30, t;
	size_t c, cap = wb__tsz_bound(WB__TSZ_CHUNK_POINTS);
	uint8_t *buf = malloc(cap);
	int run;

	if (!buf)
		return -1;
	for (run = 0; run < RUNS; run++) {
		t = now_s();
		for (c = 0; c < s->nchunks; c++)
			if (wb__tsz_decode(s->blob[c], s->len[c], dst + c * WB__TSZ_CHUNK_POINTS,
					   dva + c * WB__TSZ_CHUNK_POINTS, WB__TSZ_CHUNK_POINTS) < 0) {
				free(buf);
				return -1;
			}
		t = now_s() - t;
		best_dec = t < best_dec ? t : best_dec;

		t = now_s();
		for (c = 0; c < s->nchunks; c++) {
			size_t at = c * WB__TSZ_CHUNK_POINTS;
			size_t k = N_BIG - at < WB__TSZ_CHUNK_POINTS ? N_BIG - at : WB__TSZ_CHUNK_POINTS;

			if (!wb__tsz_encode(st + at, va + at, (uint32_t)k, buf, cap)) {
				free(buf);
				return -1;
			}
		}
		t = now_s() - t;
		best_enc = t < best_enc ? t : best_enc;
	}
	free(buf);
	if (memcmp(dst, st, N_BIG * sizeof *st) || memcmp(dva, va, N_BIG * sizeof *va))
		return -1;
	emit("tsz_decode_rate", N_BIG / best_dec / 1e6, "Mpoints/s");
	emit("tsz_encode_rate", N_BIG / best_enc / 1e6, "Mpoints/s");
	return 0;
}

static int bench_downsample(const char *name, store *s, int64_t start, int64_t end, uint32_t nb)
{
	double best = 1e30, t;
	size_t fetches = 0;
	uint64_t total = 0;
	int run;

	for (run = 0; run < RUNS; run++) {
		wb__buckets b;

		s->fetches = 0;
		t = now_s();
		if (wb__downsample(s->meta, s->nchunks, store_fetch, s, start, end, nb, &b) < 0)
			return -1;
		t = now_s() - t;
		best = t < best ? t : best;
		fetches = s->fetches;
		total = b.total;
		wb__buckets_free(&b);
	}
	emit(name, best * 1e3, "ms");
	fprintf(stderr, "%s: %zu of %zu chunks decoded, %llu points in range\n", name, fetches, s->nchunks,
		(unsigned long long)total);
	return 0;
}

int main(void)
{
	int64_t *st = malloc(N_BIG * sizeof *st), *dst = malloc(N_BIG * sizeof *dst);
	double *va = malloc(N_BIG * sizeof *va), *dva = malloc(N_BIG * sizeof *dva);
	store s;
	int rc = 1;

	memset(&s, 0, sizeof s);
	if (!st || !dst || !va || !dva)
		goto done;
	if (bench_size("tsz_bytes_per_point_loss", gen_loss, st, va) < 0 ||
	    bench_size("tsz_bytes_per_point_loss_relnoise", gen_loss_rel, st, va) < 0 ||
	    bench_size("tsz_bytes_per_point_constant", gen_constant, st, va) < 0 ||
	    bench_size("tsz_bytes_per_point_random", gen_random, st, va) < 0)
		goto done;

	gen_loss(st, va, N_BIG);
	if (store_build(&s, st, va, N_BIG) < 0)
		goto done;
	emit("tsz_bytes_per_point_loss_10M", (double)s.bytes / N_BIG, "bytes/point");
	if (bench_codec(&s, st, va, dst, dva) < 0)
		goto done;
	if (bench_downsample("downsample_10M_1000_buckets_inmem", &s, 0, N_BIG - 1, 1000) < 0 ||
	    bench_downsample("downsample_10M_1000_buckets_zoom1pct_inmem", &s, 4500000, 4500000 + N_BIG / 100 - 1,
			     1000) < 0)
		goto done;
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "bench_tsz: failed\n");
	store_free(&s);
	free(st);
	free(dst);
	free(va);
	free(dva);
	return rc;
}

/*
 * test_tsz_downsample.c — M4 downsampling checked against a brute-force
 * reference (which computes bucket indexes with 128-bit arithmetic,
 * independently of the code under test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsz.h"
#include "test_tsz.h"

__extension__ typedef unsigned __int128 u128;

/* ------------------------------------------------------------------------ */
/* downsampling */

typedef struct series {
	size_t n;
	int64_t *steps;
	double *values;
	size_t nchunks;
	size_t *first; /* index of each chunk's first point */
	wb__chunk_meta *meta;
	uint8_t **blobs;
	size_t *lens;
	size_t fetches;
	uint8_t *fetched;
	size_t fail_at; /* fetch of this chunk fails; SIZE_MAX for none */
} series;

/* Chunk s->steps/values into pieces of the given size (0: random sizes). */
static void series_chunk(series *s, size_t chunk)
{
	size_t at = 0, c = 0;

	s->first = malloc((s->n + 1) * sizeof *s->first);
	s->meta = malloc((s->n + 1) * sizeof *s->meta);
	s->blobs = malloc((s->n + 1) * sizeof *s->blobs);
	s->lens = malloc((s->n + 1) * sizeof *s->lens);
	s->fetched = calloc(s->n + 1, 1);
	assert_true(s->first && s->meta && s->blobs && s->lens && s->fetched);
	while (at < s->n) {
		size_t k = chunk ? chunk : 1 + rnd_below(rnd_below(2) ? 40 : 3000);
		size_t bound;

		if (k > s->n - at)
			k = s->n - at;
		bound = wb__tsz_bound((uint32_t)k);
		s->blobs[c] = malloc(bound);
		assert_non_null(s->blobs[c]);
		s->lens[c] = wb__tsz_encode(s->steps + at, s->values + at, (uint32_t)k, s->blobs[c], bound);
		assert_true(s->lens[c] > 0);
		wb__chunk_meta_of(s->steps + at, s->values + at, (uint32_t)k, &s->meta[c]);
		s->first[c] = at;
		at += k;
		c++;
	}
	s->nchunks = c;
	s->fetches = 0;
	s->fail_at = SIZE_MAX;
}

static void series_free(series *s)
{
	size_t i;

	for (i = 0; i < s->nchunks; i++)
		free(s->blobs[i]);
	free(s->steps);
	free(s->values);
	free(s->first);
	free(s->meta);
	free(s->blobs);
	free(s->lens);
	free(s->fetched);
	memset(s, 0, sizeof *s);
}

static int series_fetch(void *ctx, size_t i, const uint8_t **blob, size_t *len)
{
	series *s = ctx;

	assert_true(i < s->nchunks);
	s->fetches++;
	s->fetched[i] = 1;
	if (i == s->fail_at)
		return -1;
	*blob = s->blobs[i];
	*len = s->lens[i];
	return 0;
}

static uint32_t ref_bucket(int64_t step, int64_t start, int64_t end, uint32_t nb)
{
	u128 off = (uint64_t)step - (uint64_t)start;
	u128 span = (u128)((uint64_t)end - (uint64_t)start) + 1;

	return (uint32_t)(off * nb / span);
}

/* Brute force over every point, compared row by row with wb__downsample. */
static void check_downsample(series *s, int64_t start, int64_t end, uint32_t nb)
{
	wb__buckets got;
	size_t i, row = 0, c;
	uint64_t total = 0;
	int open = 0;
	uint32_t cur = 0, count = 0;
	double mn = NAN, mx = NAN, last = 0;
	int64_t step = 0;

	memset(s->fetched, 0, s->nchunks + 1);
	s->fetches = 0;
	assert_int_equal(wb__downsample(s->meta, s->nchunks, series_fetch, s, start, end, nb, &got), 0);

#define FLUSH_ROW()                                                                    \
	do {                                                                           \
		assert_true(row < got.len);                                            \
		assert_int_equal(got.step[row], step);                                 \
		assert_int_equal(got.count[row], count);                               \
		assert_int_equal(to_bits(got.last[row]), to_bits(last));               \
		assert_true(isnan(mn) ? isnan(got.min[row]) : got.min[row] == mn);     \
		assert_true(isnan(mx) ? isnan(got.max[row]) : got.max[row] == mx);     \
		row++;                                                                 \
	} while (0)

	if (nb > 0 && start <= end) {
		for (i = 0; i < s->n; i++) {
			int64_t st = s->steps[i];
			double v = s->values[i];
			uint32_t b;

			if (st < start || st > end)
				continue;
			b = ref_bucket(st, start, end, nb);
			assert_true(b < nb);
			if (open && b != cur)
				FLUSH_ROW();
			if (!open || b != cur) {
				open = 1;
				cur = b;
				count = 0;
				mn = NAN;
				mx = NAN;
			}
			count++;
			total++;
			if (!isnan(v) && (isnan(mn) || v < mn))
				mn = v;
			if (!isnan(v) && (isnan(mx) || v > mx))
				mx = v;
			last = v;
			step = st;
		}
		if (open)
			FLUSH_ROW();
	}
#undef FLUSH_ROW
	assert_int_equal(got.len, row);
	assert_int_equal(got.total, total);

	/* Exactly the chunks in range that are not inside one bucket were fetched. */
	for (c = 0; c < s->nchunks; c++) {
		const wb__chunk_meta *m = &s->meta[c];
		int in_range = nb > 0 && start <= end && m->step_max >= start && m->step_min <= end;
		int inside = in_range && m->step_min >= start && m->step_max <= end &&
			     ref_bucket(m->step_min, start, end, nb) == ref_bucket(m->step_max, start, end, nb);

		assert_int_equal(s->fetched[c], in_range && !inside);
	}
	wb__buckets_free(&got);
	assert_null(got.step);
	assert_int_equal(got.len, 0);
}

static void random_series(series *s, size_t n)
{
	size_t i;
	int64_t st = rnd_below(4) ? (int64_t)rnd_below(1000) : (int64_t)rnd_below(UINT64_C(1) << 62) - (INT64_C(1) << 61);
	int step_mode = (int)rnd_below(4), value_mode = (int)rnd_below(4);

	memset(s, 0, sizeof *s);
	s->n = n;
	s->steps = malloc((n + 1) * sizeof *s->steps);
	s->values = malloc((n + 1) * sizeof *s->values);
	assert_true(s->steps && s->values);
	for (i = 0; i < n; i++) {
		switch (step_mode) {
		case 0: st += 1; break;
		case 1: st += (int64_t)rnd_below(3); break; /* duplicates */
		case 2: st += rnd_below(50) ? 1 : (int64_t)rnd_below(100000); break;
		default: st += (int64_t)rnd_below(10) * 10; break;
		}
		s->steps[i] = st;
		switch (value_mode) {
		case 0: s->values[i] = (double)(float)((double)rnd_below(100000) / 1e4); break;
		case 1: s->values[i] = rnd_below(8) ? (double)rnd_below(50) : NAN; break;
		case 2: /* long NaN runs, so some buckets and chunks are all NaN */
			s->values[i] = (i / 37) % 3 == 0 ? NAN : (double)rnd_below(1000) - 500.0;
			break;
		default: s->values[i] = (i / 500) % 2 ? NAN : -(double)i; break;
		}
	}
}

static int64_t pick_bound(const series *s)
{
	int64_t lo = s->n ? s->steps[0] : 0, hi = s->n ? s->steps[s->n - 1] : 0;

	switch (rnd_below(8)) {
	case 0: return lo;
	case 1: return hi;
	case 2: return lo - (int64_t)rnd_below(100);
	case 3: return hi + (int64_t)rnd_below(100);
	case 4: return s->n ? s->steps[rnd_below(s->n)] : 0;
	default: return lo + (int64_t)rnd_below((uint64_t)(hi - lo) + 1);
	}
}

static void test_tsz__downsample_random(void **state)
{
	int trial;

	(void)state;
	for (trial = 0; trial < 400; trial++) {
		series s;
		int q;

		random_series(&s, trial < 5 ? (size_t)trial + 1 : 1 + rnd_below(trial % 10 ? 5000 : 30000));
		series_chunk(&s, trial % 3 ? 0 : WB__TSZ_CHUNK_POINTS);
		for (q = 0; q < 8; q++) {
			int64_t a = pick_bound(&s), b = pick_bound(&s);
			uint32_t nb;

			if (a > b && rnd_below(4)) {
				int64_t t = a;

				a = b;
				b = t;
			}
			switch (rnd_below(6)) {
			case 0: nb = 1; break;
			case 1: nb = (uint32_t)(1 + rnd_below(10)); break;
			case 2: nb = (uint32_t)(1 + rnd_below(2 * s.n + 5)); break; /* often > points */
			case 3: nb = UINT32_MAX; break;
			default: nb = (uint32_t)(1 + rnd_below(2000)); break;
			}
			check_downsample(&s, a, b, nb);
		}
		series_free(&s);
	}
}

static void test_tsz__downsample_extreme_ranges(void **state)
{
	series s;
	size_t i;

	(void)state;
	random_series(&s, 3000);
	for (i = 0; i < s.n; i++)
		s.steps[i] = (int64_t)i * (INT64_MAX / 3000) - (i < 1500 ? INT64_MAX / 2 : 0);
	s.steps[0] = INT64_MIN;
	s.steps[s.n - 1] = INT64_MAX;
	series_chunk(&s, 0);
	check_downsample(&s, INT64_MIN, INT64_MAX, 1);
	check_downsample(&s, INT64_MIN, INT64_MAX, 7);
	check_downsample(&s, INT64_MIN, INT64_MAX, 1000);
	check_downsample(&s, INT64_MIN, INT64_MAX, UINT32_MAX);
	check_downsample(&s, INT64_MIN, INT64_MIN, 5);
	check_downsample(&s, INT64_MAX, INT64_MAX, 5);
	check_downsample(&s, 0, INT64_MAX, 333);
	check_downsample(&s, INT64_MIN, -1, 333);
	check_downsample(&s, INT64_MIN + 1, INT64_MAX - 1, 4096);
	series_free(&s);

	/* Steps >= 0 up to INT64_MAX. */
	random_series(&s, 5000);
	for (i = 0; i < s.n; i++)
		s.steps[i] = i < 4000 ? (int64_t)i : INT64_MAX - (int64_t)(s.n - 1 - i);
	series_chunk(&s, 512);
	check_downsample(&s, 0, INT64_MAX, 1000);
	check_downsample(&s, 0, INT64_MAX, 2);
	check_downsample(&s, 3990, INT64_MAX - 10, 17);
	check_downsample(&s, 100, 200, 1000);
	check_downsample(&s, 4000, INT64_MAX - 1001, 10); /* a gap: no points */
	series_free(&s);
}

static void test_tsz__downsample_empty(void **state)
{
	series s;
	wb__buckets b;

	(void)state;
	random_series(&s, 1000);
	series_chunk(&s, 100);
	check_downsample(&s, s.steps[0] - 1000, s.steps[0] - 1, 10); /* before */
	check_downsample(&s, s.steps[999] + 1, s.steps[999] + 1000, 10); /* after */
	check_downsample(&s, 10, 5, 10); /* start > end */
	check_downsample(&s, s.steps[0], s.steps[999], 0); /* no buckets */
	check_downsample(&s, s.steps[500], s.steps[500], 1); /* start == end */

	memset(&b, 0xab, sizeof b);
	assert_int_equal(wb__downsample(NULL, 0, NULL, NULL, 0, 100, 10, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.total, 0);
	assert_null(b.step);
	wb__buckets_free(&b);
	series_free(&s);
}

/* Chunks that sit inside one bucket are used through their meta only. */
static void test_tsz__downsample_skips_inner_chunks(void **state)
{
	enum { CHUNKS = 100, N = CHUNKS * WB__TSZ_CHUNK_POINTS };
	series s;
	wb__buckets b;
	size_t i;

	(void)state;
	memset(&s, 0, sizeof s);
	s.n = N;
	s.steps = malloc(N * sizeof *s.steps);
	s.values = malloc(N * sizeof *s.values);
	assert_true(s.steps && s.values);
	for (i = 0; i < N; i++) {
		s.steps[i] = (int64_t)i;
		s.values[i] = (double)(float)(1.0 / (1.0 + (double)i / 1000.0));
	}
	series_chunk(&s, WB__TSZ_CHUNK_POINTS);

	/* Bucket edges on chunk edges: nothing needs decoding. */
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, 0, N - 1, 10, &b), 0);
	assert_int_equal(s.fetches, 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(b.total, N);
	for (i = 0; i < 10; i++) {
		assert_int_equal(b.count[i], N / 10);
		assert_int_equal(b.step[i], (int64_t)((i + 1) * (N / 10) - 1));
		assert_true(b.last[i] == s.values[(i + 1) * (N / 10) - 1]);
		assert_true(b.max[i] == s.values[i * (N / 10)]);
	}
	wb__buckets_free(&b);

	/* One bucket: nothing fetched either. */
	s.fetches = 0;
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, 0, N - 1, 1, &b), 0);
	assert_int_equal(s.fetches, 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.count[0], N);
	wb__buckets_free(&b);

	/* 1000 buckets over 100 chunks: only the ~1 chunk a bucket edge crosses... */
	check_downsample(&s, 0, N - 1, 1000);
	assert_true(s.fetches <= CHUNKS);
	/* ...and a window inside chunks: only the chunks in the window. */
	check_downsample(&s, 5000, 9000, 3);
	assert_true(s.fetches <= 3);
	check_downsample(&s, 2 * WB__TSZ_CHUNK_POINTS + 10, 90 * WB__TSZ_CHUNK_POINTS - 10, 4);
	assert_true(s.fetches <= 2 + 4);
	series_free(&s);
}

static void test_tsz__downsample_errors(void **state)
{
	series s;
	wb__buckets b;
	size_t i;

	(void)state;
	random_series(&s, 5000);
	for (i = 0; i < s.n; i++)
		s.steps[i] = (int64_t)i; /* 4999 buckets: every chunk straddles */
	series_chunk(&s, 256);

	/* A failing fetch: -1, and out is left zeroed. */
	s.fail_at = 7;
	memset(&b, 0, sizeof b);
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, s.steps[0], s.steps[4999], 4999, &b),
			 -1);
	assert_null(b.step);
	assert_int_equal(b.len, 0);
	wb__buckets_free(&b);
	s.fail_at = SIZE_MAX;

	/* A corrupt (truncated) blob. */
	s.lens[3]--;
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, s.steps[0], s.steps[4999], 4999, &b),
			 -1);
	assert_null(b.step);
	s.lens[3]++;

	/* A blob that disagrees with its meta. */
	s.meta[4].n++;
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, s.steps[0], s.steps[4999], 4999, &b),
			 -1);
	s.meta[4].n--;
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, s.steps[0], s.steps[4999], 4999, &b),
			 0);
	wb__buckets_free(&b);

	/* No fetch callback while one is needed. */
	assert_int_equal(wb__downsample(s.meta, s.nchunks, NULL, NULL, s.steps[0], s.steps[4999], 4999, &b), -1);
	assert_int_equal(wb__downsample(s.meta, s.nchunks, series_fetch, &s, 0, 1, 1, NULL), -1);

	/* Freeing zeroed and NULL results. */
	memset(&b, 0, sizeof b);
	wb__buckets_free(&b);
	wb__buckets_free(NULL);
	series_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsz__downsample_random),
		cmocka_unit_test(test_tsz__downsample_extreme_ranges),
		cmocka_unit_test(test_tsz__downsample_empty),
		cmocka_unit_test(test_tsz__downsample_skips_inner_chunks),
		cmocka_unit_test(test_tsz__downsample_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

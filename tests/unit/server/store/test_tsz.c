/*
 * test_tsz.c — chunk codec round trips, hostile blobs, and M4 downsampling
 * checked against a brute-force reference (which computes bucket indexes
 * with 128-bit arithmetic, independently of the code under test).
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

__extension__ typedef unsigned __int128 u128;

/* ------------------------------------------------------------------------ */
/* helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static double from_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static uint64_t to_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	return u;
}

/* Encode, check the blob against the bound, decode it back bit-exactly. */
static size_t roundtrip(const int64_t *steps, const double *values, uint32_t n)
{
	size_t bound = wb__tsz_bound(n), len;
	uint8_t *blob = malloc(bound);
	int64_t *st = malloc((n ? n : 1u) * sizeof *st);
	double *va = malloc((n ? n : 1u) * sizeof *va);
	uint8_t *exact;

	assert_non_null(blob);
	assert_non_null(st);
	assert_non_null(va);
	len = wb__tsz_encode(steps, values, n, blob, bound);
	assert_true(len > 0);
	assert_true(len <= bound);
	/* An exact-size copy, so ASan sees any read past the end. */
	exact = malloc(len);
	assert_non_null(exact);
	memcpy(exact, blob, len);
	assert_int_equal(wb__tsz_count(exact, len), n);
	assert_int_equal(wb__tsz_decode(exact, len, st, va, n), n);
	assert_memory_equal(st, steps, n * sizeof *st);
	assert_memory_equal(va, values, n * sizeof *va);
	if (n > 1)
		assert_int_equal(wb__tsz_decode(exact, len, st, va, n - 1), -1);
	free(exact);
	free(blob);
	free(st);
	free(va);
	return len;
}

/* ------------------------------------------------------------------------ */
/* codec */

static void test_tsz__roundtrip_random(void **state)
{
	int trial;

	(void)state;
	for (trial = 0; trial < 300; trial++) {
		uint32_t n = trial < 20 ? (uint32_t)trial + 1 : (uint32_t)(1 + rnd_below(5000));
		int64_t *steps = malloc(n * sizeof *steps);
		double *values = malloc(n * sizeof *values);
		int64_t s = (int64_t)rnd_below(1000000) - 500000;
		uint32_t i;

		assert_non_null(steps);
		assert_non_null(values);
		for (i = 0; i < n; i++) {
			switch (rnd_below(6)) {
			case 0: s += 0; break;
			case 1: s += 1; break;
			case 2: s += (int64_t)rnd_below(200); break;
			case 3: s += (int64_t)rnd_below(100000); break;
			case 4: s += (int64_t)rnd_below(UINT64_C(1) << 40); break;
			default: s += 1; break;
			}
			steps[i] = s;
			switch (trial % 4) {
			case 0: values[i] = from_bits(rnd()); break;
			case 1: values[i] = (double)(float)((double)rnd_below(1000000) / 1e5); break;
			case 2: values[i] = i && rnd_below(4) ? values[i - 1] : from_bits(rnd()); break;
			default: values[i] = (double)rnd_below(10) - 5.0; break;
			}
		}
		roundtrip(steps, values, n);
		free(steps);
		free(values);
	}
}

static void test_tsz__roundtrip_constant(void **state)
{
	enum { N = WB__TSZ_CHUNK_POINTS };
	static int64_t steps[N];
	static double values[N];
	size_t len, i;

	(void)state;
	for (i = 0; i < N; i++) {
		steps[i] = (int64_t)i;
		values[i] = 0.125;
	}
	len = roundtrip(steps, values, N);
	/* 2 bits a point plus the header and the first value. */
	assert_true(len <= 2 + 1 + 8 + (2 * (N - 1) + 7) / 8);
}

static void test_tsz__roundtrip_monotonic(void **state)
{
	enum { N = 10000 };
	static int64_t steps[N];
	static double values[N];
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		steps[i] = (int64_t)(i * 10);
		values[i] = (double)i * 0.001;
	}
	roundtrip(steps, values, N);
	for (i = 0; i < N; i++)
		values[i] = (double)i; /* a counter */
	roundtrip(steps, values, N);
}

static void test_tsz__special_values(void **state)
{
	double v[] = {
		NAN,
		-NAN,
		from_bits(UINT64_C(0x7ff0000000000001)), /* signalling NaN */
		from_bits(UINT64_C(0x7ff4000000000abc)), /* sNaN, payload */
		from_bits(UINT64_C(0xfff8deadbeef1234)), /* negative qNaN, payload */
		from_bits(UINT64_C(0x7fffffffffffffff)),
		INFINITY,
		-INFINITY,
		0.0,
		-0.0,
		0.0,
		DBL_MIN,
		DBL_TRUE_MIN,
		-DBL_TRUE_MIN,
		from_bits(UINT64_C(0x000fffffffffffff)), /* largest denormal */
		DBL_MAX,
		-DBL_MAX,
		1.0,
		1.0,
		NAN,
		NAN,
		-0.0,
		from_bits(UINT64_C(0x8000000000000001)),
	};
	enum { NV = sizeof v / sizeof v[0] };
	int64_t s[NV];
	size_t i, n = NV;

	(void)state;
	for (i = 0; i < n; i++)
		s[i] = (int64_t)i;
	roundtrip(s, v, (uint32_t)n);
	/* Every ordered pair, so each XOR pattern shows up after each other. */
	{
		double pv[2 * NV * NV];
		int64_t ps[2 * NV * NV];
		size_t k = 0, a, b;

		for (a = 0; a < n; a++)
			for (b = 0; b < n; b++) {
				pv[k] = v[a];
				ps[k] = (int64_t)k;
				k++;
				pv[k] = v[b];
				ps[k] = (int64_t)k;
				k++;
			}
		roundtrip(ps, pv, (uint32_t)k);
	}
}

static void test_tsz__duplicate_steps(void **state)
{
	int64_t s[] = {5, 5, 5, 6, 6, 7, 7, 7, 7, 100, 100, 100, 101};
	double v[sizeof s / sizeof s[0]];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof s / sizeof s[0]; i++)
		v[i] = (double)i;
	roundtrip(s, v, sizeof s / sizeof s[0]);
	{
		int64_t one[1] = {42};
		double ov[1] = {-0.0};

		roundtrip(one, ov, 1);
	}
}

static void test_tsz__step_extremes(void **state)
{
	static const int64_t cases[][5] = {
		{0, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
		{INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
		{0, 1, INT64_MAX - 1, INT64_MAX, INT64_MAX},
		{0, 0, 0, 0, INT64_MAX},
		{INT64_MIN, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
		{INT64_MIN, INT64_MIN, 0, INT64_MAX, INT64_MAX},
		{INT64_MIN, -1, 0, 1, INT64_MAX},
		{INT64_MIN, INT64_MIN + 1, INT64_MIN + 2, INT64_MAX - 1, INT64_MAX},
		{1, 2, (INT64_C(1) << 62), (INT64_C(1) << 62) + 1, INT64_MAX},
	};
	double v[5] = {1, 2, 3, 4, 5};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint32_t n;

		for (n = 1; n <= 5; n++)
			roundtrip(cases[c], v, n);
	}
}

static void test_tsz__dod_buckets(void **state)
{
	/* Deltas that make the delta-of-delta hit each bucket edge, both signs. */
	static const int64_t edges[] = {0, 1, 63, 64, 65, 127, 128, 255, 256, 257, 511, 512, 2047, 2048, 2049,
					4095, 4096, INT64_C(2147483647), INT64_C(2147483648),
					INT64_C(4294967295), INT64_C(4294967296), INT64_C(1) << 50};
	enum { NE = sizeof edges / sizeof edges[0] };
	int64_t steps[4 * NE * NE + 1];
	double values[4 * NE * NE + 1];
	int64_t s = 0;
	size_t k = 0, a, b;

	(void)state;
	steps[k] = s;
	values[k] = 0;
	k++;
	for (a = 0; a < NE; a++)
		for (b = 0; b < NE; b++) {
			/* delta a then delta b: dod = b - a, then back: dod = a - b */
			s += edges[a];
			steps[k] = s;
			values[k] = (double)k;
			k++;
			s += edges[b];
			steps[k] = s;
			values[k] = (double)k;
			k++;
		}
	roundtrip(steps, values, (uint32_t)k);
}

static void test_tsz__decreasing_steps_rejected(void **state)
{
	int64_t s[] = {1, 2, 1};
	double v[] = {0, 0, 0};
	uint8_t buf[256];

	(void)state;
	assert_int_equal(wb__tsz_encode(s, v, 3, buf, sizeof buf), 0);
	assert_int_equal(wb__tsz_encode(s, v, 0, buf, sizeof buf), 0);
	assert_true(wb__tsz_encode(s, v, 2, buf, sizeof buf) > 0);
}

static void test_tsz__capacity_too_small(void **state)
{
	enum { N = 700 };
	int64_t steps[N];
	double values[N];
	uint8_t *buf = malloc(wb__tsz_bound(N));
	size_t len, cap, i;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < N; i++) {
		steps[i] = (int64_t)(i * 3 + (i / 7) * 1000);
		values[i] = i % 3 ? from_bits(rnd()) : 1.0;
	}
	len = wb__tsz_encode(steps, values, N, buf, wb__tsz_bound(N));
	assert_true(len > 0);
	for (cap = 0; cap < len; cap++) {
		uint8_t *exact = malloc(cap ? cap : 1);

		assert_non_null(exact);
		assert_int_equal(wb__tsz_encode(steps, values, N, exact, cap), 0);
		free(exact);
	}
	assert_int_equal(wb__tsz_encode(steps, values, N, buf, len), len);
	free(buf);
}

static void test_tsz__bound_worst_case(void **state)
{
	enum { N = 4096 };
	static int64_t steps[N];
	static double values[N];
	size_t i, len, bound = wb__tsz_bound(N);
	uint8_t *buf = malloc(bound);

	(void)state;
	assert_non_null(buf);
	/* Deltas alternating 0 and 2^40 (64-bit dod records); values whose XOR
	 * spans all 64 bits, and windows that keep changing. */
	steps[0] = 0;
	for (i = 1; i < N; i++)
		steps[i] = steps[i - 1] + (i % 2 ? (INT64_C(1) << 40) : 0);
	for (i = 0; i < N; i++) {
		uint64_t u = rnd() | 1 | (UINT64_C(1) << 63);

		if (i % 2)
			u &= ~(UINT64_C(1) | (UINT64_C(1) << 63));
		if (i % 3 == 0)
			u = (u & ~UINT64_C(0xffff)) | (i % 2 ? 0x8000 : 0x0001);
		values[i] = from_bits(u);
	}
	len = wb__tsz_encode(steps, values, N, buf, bound);
	assert_true(len > 0 && len <= bound);
	assert_true(wb__tsz_bound(0) > 0);
	assert_true(wb__tsz_bound(1) >= 5 + 10 + 8);
	assert_true(wb__tsz_bound(UINT32_MAX) > wb__tsz_bound(UINT32_MAX - 1));
	free(buf);
	roundtrip(steps, values, N);
}

/* Every prefix of a valid blob (and the blob plus a byte) is rejected. */
static void test_tsz__truncation(void **state)
{
	static const uint32_t sizes[] = {1, 2, 3, 17, 300, 2048};
	size_t si;

	(void)state;
	for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		uint32_t n = sizes[si], i;
		int64_t *steps = malloc(n * sizeof *steps), *st = malloc(n * sizeof *st);
		double *values = malloc(n * sizeof *values), *va = malloc(n * sizeof *va);
		uint8_t *blob = malloc(wb__tsz_bound(n)), *grown;
		size_t len, cut;

		assert_true(steps && st && values && va && blob);
		for (i = 0; i < n; i++) {
			steps[i] = (int64_t)(i + (i / 100) * 1000);
			values[i] = (double)(float)(2.0 * exp(-(double)i / 500.0) + (double)rnd_below(1000) / 1e4);
		}
		len = wb__tsz_encode(steps, values, n, blob, wb__tsz_bound(n));
		assert_true(len > 0);
		for (cut = 0; cut < len; cut++) {
			uint8_t *exact = malloc(cut ? cut : 1);
			int64_t c;

			assert_non_null(exact);
			memcpy(exact, blob, cut);
			c = wb__tsz_count(exact, cut);
			assert_true(c == -1 || c == n);
			assert_int_equal(wb__tsz_decode(exact, cut, st, va, n), -1);
			free(exact);
		}
		grown = malloc(len + 1);
		assert_non_null(grown);
		memcpy(grown, blob, len);
		grown[len] = 0;
		assert_int_equal(wb__tsz_decode(grown, len + 1, st, va, n), -1);
		assert_int_equal(wb__tsz_decode(grown, len, st, va, n), n);
		free(grown);
		free(steps);
		free(st);
		free(values);
		free(va);
		free(blob);
	}
}

static void check_decoded_sane(int64_t got, const int64_t *st, uint32_t cap)
{
	int64_t i;

	assert_true(got == -1 || (got >= 1 && got <= cap));
	for (i = 1; i < got; i++)
		assert_true(st[i] >= st[i - 1]);
}

static void test_tsz__garbage(void **state)
{
	enum { CAP = 4096 };
	static int64_t st[CAP];
	static double va[CAP];
	int trial;

	(void)state;
	for (trial = 0; trial < 20000; trial++) {
		size_t len = rnd_below(trial < 10000 ? 24 : 600), i;
		uint8_t *buf = malloc(len ? len : 1);

		assert_non_null(buf);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		if (len && trial % 2)
			buf[0] = (uint8_t)(rnd_below(40) + 1); /* plausible count */
		if (len > 1 && trial % 4 == 1)
			buf[1] = (uint8_t)(rnd_below(100));
		check_decoded_sane(wb__tsz_decode(buf, len, st, va, CAP), st, CAP);
		(void)wb__tsz_count(buf, len);
		free(buf);
	}
}

/* Flip bits of valid blobs: no crash, and anything accepted is sane. */
static void test_tsz__mutation(void **state)
{
	enum { N = 257 };
	int64_t steps[N], st[N];
	double values[N], va[N];
	uint8_t blob[8192];
	int trial;

	(void)state;
	for (trial = 0; trial < 3000; trial++) {
		size_t len, i, flips;
		uint8_t *m;

		for (i = 0; i < N; i++) {
			steps[i] = (int64_t)i * (trial % 3 + 1) + (int64_t)(i > 100 ? trial : 0);
			values[i] = trial % 2 ? (double)(float)(1.0 / (1.0 + (double)i) + (double)rnd_below(100) * 1e-4)
					      : from_bits(rnd());
		}
		len = wb__tsz_encode(steps, values, N, blob, sizeof blob);
		assert_true(len > 0);
		m = malloc(len);
		assert_non_null(m);
		memcpy(m, blob, len);
		flips = 1 + rnd_below(3);
		for (i = 0; i < flips; i++)
			m[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		check_decoded_sane(wb__tsz_decode(m, len, st, va, N), st, N);
		free(m);
	}
}

/* Hand-built blobs that break one rule each. */
typedef struct tbits {
	uint8_t b[64];
	size_t nbits;
} tbits;

static void tb_put(tbits *t, uint64_t v, unsigned n)
{
	while (n--) {
		if ((v >> n) & 1)
			t->b[t->nbits / 8] |= (uint8_t)(0x80u >> (t->nbits % 8));
		t->nbits++;
	}
}

static int64_t tb_decode(const tbits *t)
{
	int64_t st[8];
	double va[8];
	size_t len = (t->nbits + 7) / 8;
	uint8_t *exact = malloc(len);
	int64_t rc;

	assert_non_null(exact);
	memcpy(exact, t->b, len);
	rc = wb__tsz_decode(exact, len, st, va, 8);
	free(exact);
	return rc;
}

static void test_tsz__malformed(void **state)
{
	tbits t;

	(void)state;
	/* A valid 2-point blob: count 2, step 0, value 0, step '0', value '0'. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 2);
	assert_int_equal(tb_decode(&t), 2);

	/* Count 0. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	assert_int_equal(tb_decode(&t), -1);

	/* Overlong count varint (0x82 0x00 == 2). */
	memset(&t, 0, sizeof t);
	tb_put(&t, 0x82, 8);
	tb_put(&t, 0x00, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 2);
	assert_int_equal(tb_decode(&t), -1);

	/* Count above 2^32-1 (5-byte varint of 2^32). */
	memset(&t, 0, sizeof t);
	tb_put(&t, 0x8080808010ull, 40);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	assert_int_equal(tb_decode(&t), -1);

	/* '10' before any window. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 1);
	tb_put(&t, 2, 2);
	tb_put(&t, 0, 5);
	assert_int_equal(tb_decode(&t), -1);

	/* '11' with lead + len = 63 + 2 > 64. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 1);
	tb_put(&t, 3, 2);
	tb_put(&t, 63, 6);
	tb_put(&t, 1, 6);
	tb_put(&t, 3, 2);
	assert_int_equal(tb_decode(&t), -1);
	/* ... while lead 62, len 2 is fine. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 1);
	tb_put(&t, 3, 2);
	tb_put(&t, 62, 6);
	tb_put(&t, 1, 6);
	tb_put(&t, 3, 2);
	assert_int_equal(tb_decode(&t), 2);

	/* Step overflow: first step INT64_MAX - 1, then delta +2. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	{
		uint64_t z = ((uint64_t)(INT64_MAX - 1)) << 1; /* zigzag of a positive */
		int i;

		for (i = 0; i < 10; i++) {
			uint64_t b = z & 0x7f;

			z >>= 7;
			tb_put(&t, b | (z ? 0x80 : 0), 8);
			if (!z)
				break;
		}
	}
	tb_put(&t, 0, 64);
	tb_put(&t, 2, 2);
	tb_put(&t, 4, 7); /* zigzag(2) */
	tb_put(&t, 0, 1);
	assert_int_equal(tb_decode(&t), -1);

	/* Non-zero padding. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	tb_put(&t, 0, 8);
	tb_put(&t, 0, 64);
	tb_put(&t, 0, 2);
	tb_put(&t, 1, 6);
	assert_int_equal(tb_decode(&t), -1);

	/* NULL and empty input. */
	assert_int_equal(wb__tsz_count(NULL, 0), -1);
	assert_int_equal(wb__tsz_decode(NULL, 0, NULL, NULL, 0), -1);
}

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
		cmocka_unit_test(test_tsz__roundtrip_random),
		cmocka_unit_test(test_tsz__roundtrip_constant),
		cmocka_unit_test(test_tsz__roundtrip_monotonic),
		cmocka_unit_test(test_tsz__special_values),
		cmocka_unit_test(test_tsz__duplicate_steps),
		cmocka_unit_test(test_tsz__step_extremes),
		cmocka_unit_test(test_tsz__dod_buckets),
		cmocka_unit_test(test_tsz__decreasing_steps_rejected),
		cmocka_unit_test(test_tsz__capacity_too_small),
		cmocka_unit_test(test_tsz__bound_worst_case),
		cmocka_unit_test(test_tsz__truncation),
		cmocka_unit_test(test_tsz__garbage),
		cmocka_unit_test(test_tsz__mutation),
		cmocka_unit_test(test_tsz__malformed),
		cmocka_unit_test(test_tsz__downsample_random),
		cmocka_unit_test(test_tsz__downsample_extreme_ranges),
		cmocka_unit_test(test_tsz__downsample_empty),
		cmocka_unit_test(test_tsz__downsample_skips_inner_chunks),
		cmocka_unit_test(test_tsz__downsample_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

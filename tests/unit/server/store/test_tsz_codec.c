/*
 * test_tsz_codec.c — chunk codec round trips and hostile blobs (truncated,
 * garbage, mutated, hand-built ones that break one rule each).
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

/* One hand-built blob: its fields, most significant bit first, and what decoding it gives. */
typedef struct tb_case {
	const char *what;
	struct {
		uint64_t v;
		unsigned n; /* bits; 0 ends the list */
	} f[10];
	int64_t want;
} tb_case;

/* Count 2, first step 0 and first value 0: the start of most cases below. */
#define TB_HEAD {2, 8}, {0, 8}, {0, 64}

static const tb_case TB_CASES[] = {
	{"a valid 2-point blob: step '0', value '0'", {TB_HEAD, {0, 2}}, 2},
	{"count 0", {{0, 8}, {0, 8}, {0, 64}}, -1},
	{"overlong count varint (0x82 0x00 == 2)", {{0x82, 8}, {0x00, 8}, {0, 8}, {0, 64}, {0, 2}}, -1},
	{"count above 2^32-1 (5-byte varint of 2^32)", {{0x8080808010ull, 40}, {0, 8}, {0, 64}}, -1},
	{"'10' before any window", {TB_HEAD, {0, 1}, {2, 2}, {0, 5}}, -1},
	{"'11' with lead + len = 63 + 2 > 64", {TB_HEAD, {0, 1}, {3, 2}, {63, 6}, {1, 6}, {3, 2}}, -1},
	{"... while lead 62, len 2 is fine", {TB_HEAD, {0, 1}, {3, 2}, {62, 6}, {1, 6}, {3, 2}}, 2},
	{"non-zero padding", {TB_HEAD, {0, 2}, {1, 6}}, -1},
};

#undef TB_HEAD

static void test_tsz__malformed(void **state)
{
	tbits t;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof TB_CASES / sizeof TB_CASES[0]; i++) {
		memset(&t, 0, sizeof t);
		for (k = 0; k < 10 && TB_CASES[i].f[k].n; k++)
			tb_put(&t, TB_CASES[i].f[k].v, TB_CASES[i].f[k].n);
		if (tb_decode(&t) != TB_CASES[i].want)
			fail_msg("%s: decoded to %lld, want %lld", TB_CASES[i].what, (long long)tb_decode(&t),
				 (long long)TB_CASES[i].want);
	}

	/* Step overflow: first step INT64_MAX - 1, then delta +2. */
	memset(&t, 0, sizeof t);
	tb_put(&t, 2, 8);
	{
		uint64_t z = ((uint64_t)(INT64_MAX - 1)) << 1; /* zigzag of a positive */

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

	/* NULL and empty input. */
	assert_int_equal(wb__tsz_count(NULL, 0), -1);
	assert_int_equal(wb__tsz_decode(NULL, 0, NULL, NULL, 0), -1);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

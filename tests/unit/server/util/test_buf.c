/*
 * test_buf.c — the server's JSON writing (server/util/buf.c): numbers that
 * read back to the same double, strings escaped whatever bytes they hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wire.h"

static void test_buf__number_round_trip(void **state)
{
	char buf[32];
	uint64_t x = 0x9E3779B97F4A7C15ull;
	(void)state;

	for (int i = 0; i < 200000; i++) {
		double d, back;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d = wb__bits_f64(x);
		if (i % 4 == 1)
			d = (double)(float)d; /* float32 widened, the common case */
		if (i % 4 == 2)
			d = (double)(x % 1000000) / 1000.0;
		if (!isfinite(d))
			continue;
		wbs__fmt_double(buf, d);
		back = strtod(buf, NULL);
		assert_true(wb__f64_bits(back) == wb__f64_bits(d));
		wbs__fmt_double17(buf, d);
		back = strtod(buf, NULL);
		assert_true(wb__f64_bits(back) == wb__f64_bits(d));
	}
	wbs__fmt_double(buf, 0.1);
	assert_string_equal(buf, "0.1");
	wbs__fmt_double(buf, NAN);
	assert_string_equal(buf, "NaN");
	wbs__fmt_double(buf, -INFINITY);
	assert_string_equal(buf, "-Infinity");
	wbs__fmt_double(buf, -0.0);
	assert_string_equal(buf, "-0");
	{
		wbs__buf b;
		wbs__buf_init(&b, 1024);
		wbs__json_num(&b, INFINITY);
		wbs__buf_putc(&b, ',');
		wbs__json_num(&b, 1e300);
		wbs__buf_putc(&b, ',');
		wbs__json_i64(&b, INT64_MIN);
		assert_string_equal(b.p, "\"Infinity\",1e+300,-9223372036854775808");
		wbs__buf_free(&b);
	}
}

static void test_buf__json_escape(void **state)
{
	wbs__buf b;
	(void)state;

	wbs__buf_init(&b, 1024);
	wbs__json_str(&b, "a\"b\\c\n\x01<script>\xc3\xa9\xff", 18);
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\u0001<script>\xc3\xa9\xef\xbf\xbd\"");
	wbs__buf_free(&b);
	/* The maximum holds and the error is sticky. */
	wbs__buf_init(&b, 8);
	wbs__buf_puts(&b, "12345678");
	assert_int_equal(b.err, 0);
	wbs__buf_putc(&b, '9');
	assert_int_equal(b.err, WBS__BUF_TOOBIG);
	assert_int_equal(b.len, 8);
	wbs__buf_free(&b);
	assert_true(wbs__utf8_valid("\xe2\x82\xac", 3));
	assert_false(wbs__utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(wbs__utf8_valid("\xc0\xaf", 2));     /* overlong */
}

/* Numbers read by hand out of big texts: ranges, ends, refusals. */
static void test_buf__scan_numbers(void **state)
{
	long long v;
	uint64_t u;
	const char *e;
	(void)state;

	assert_non_null(e = wbs__scan_i64("9223372036854775807,", &v));
	assert_true(v == INT64_MAX && *e == ',');
	assert_non_null(e = wbs__scan_i64("-9223372036854775808]", &v));
	assert_true(v == INT64_MIN && *e == ']');
	assert_non_null(wbs__scan_i64("0", &v));
	assert_true(v == 0);
	assert_null(wbs__scan_i64("9223372036854775808", &v));
	assert_null(wbs__scan_i64("-9223372036854775809", &v));
	assert_null(wbs__scan_i64("-", &v));
	assert_null(wbs__scan_i64(",1", &v));
	assert_non_null(e = wbs__scan_hex64("7ff8000000000001\"", &u));
	assert_true(u == 0x7ff8000000000001ull && *e == '"');
	assert_non_null(e = wbs__scan_hex64("FFFFFFFFFFFFFFFF\n", &u));
	assert_true(u == UINT64_MAX && *e == '\n');
	assert_null(wbs__scan_hex64("10000000000000000", &u)); /* 17 digits */
	assert_null(wbs__scan_hex64("\"", &u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf__number_round_trip),
		cmocka_unit_test(test_buf__json_escape),
		cmocka_unit_test(test_buf__scan_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

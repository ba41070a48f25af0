/*
 * Unit tests of server/http/ops.c: the per-key token bucket (with a fake
 * clock) and the Prometheus rendering of the counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/ops.h"

static void key_of(uint8_t key[32], unsigned i)
{
	memset(key, 0, 32);
	memcpy(key, &i, sizeof(i));
	key[31] = 0x5a;
}

static void test_ops__bucket(void **state)
{
	wbs__limiter *l = NULL;
	uint8_t a[32], b[32];
	unsigned ra;
	(void)state;

	assert_int_equal(wbs__limiter_new(&l, 2, 3), 0);
	assert_non_null(l);
	key_of(a, 1);
	key_of(b, 2);
	/* A burst of 3, then refused with Retry-After 1. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(wbs__limiter_take(l, a, 100.0, &ra), 0);
	assert_int_equal(wbs__limiter_take(l, a, 100.0, &ra), 1);
	assert_int_equal(ra, 1);
	/* Another key has its own bucket. */
	assert_int_equal(wbs__limiter_take(l, b, 100.0, &ra), 0);
	/* 2 per second: after 0.5 s one more token. */
	assert_int_equal(wbs__limiter_take(l, a, 100.5, &ra), 0);
	assert_int_equal(wbs__limiter_take(l, a, 100.5, &ra), 1);
	/* Refills up to the burst, not beyond. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(wbs__limiter_take(l, a, 1000.0, &ra), 0);
	assert_int_equal(wbs__limiter_take(l, a, 1000.0, &ra), 1);
	/* A clock that goes backwards takes nothing back. */
	assert_int_equal(wbs__limiter_take(l, a, 10.0, &ra), 1);
	wbs__limiter_free(l);
}

static void test_ops__off_and_many_keys(void **state)
{
	wbs__limiter *l = (wbs__limiter *)1;
	uint8_t k[32];
	unsigned ra;
	(void)state;

	assert_int_equal(wbs__limiter_new(&l, 0, 10), 0);
	assert_null(l);
	key_of(k, 7);
	assert_int_equal(wbs__limiter_take(NULL, k, 1.0, &ra), 0);
	wbs__limiter_free(NULL);

	/* More keys than the table holds: every new key starts with a full bucket. */
	assert_int_equal(wbs__limiter_new(&l, 1, 1), 0);
	for (unsigned i = 0; i < 3 * WBS__LIMITER_KEYS; i++) {
		key_of(k, i);
		assert_int_equal(wbs__limiter_take(l, k, 5.0 + i * 1e-6, &ra), 0);
	}
	wbs__limiter_free(l);
}

static void test_ops__render(void **state)
{
	wbs__ops *o = NULL, *other = NULL;
	wbs__buf b;
	(void)state;

	assert_int_equal(wbs__ops_new(&o), 0);
	assert_int_equal(wbs__ops_new(&other), 0);
	wbs__ops_count_request(o, "GET", "/api/v1/projects", 200, 0.002);
	wbs__ops_count_request(o, "GET", "/api/v1/projects", 200, 0.2);
	wbs__ops_count_request(o, "POST", "/api/v1/projects/{entity}/{project}/runs/{run}/records", 507, 30);
	wbs__ops_count_ingest(o, 1000, 3);
	wbs__ops_count_rate_limited(o);
	wbs__ops_count_request(other, "GET", "/api/v1/projects", 200, 0.002);
	wbs__buf_init(&b, 1u << 20);
	wbs__ops_render_metrics(&b, o, NULL, NULL);
	assert_false(b.err);
	wbs__buf_putc(&b, '\0');
	assert_non_null(strstr(b.p, "wb_http_requests_total{method=\"GET\",route=\"/api/v1/projects\",status=\"200\"} 2\n"));
	assert_non_null(strstr(b.p, "status=\"507\"} 1\n"));
	assert_non_null(strstr(b.p, "wb_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(b.p, "wb_http_request_duration_seconds_bucket{le=\"0.25\"} 2\n"));
	assert_non_null(strstr(b.p, "wb_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(b.p, "wb_http_request_duration_seconds_count 3\n"));
	assert_non_null(strstr(b.p, "wb_ingest_points_total 1000\n"));
	assert_non_null(strstr(b.p, "wb_ingest_frames_applied_total 3\n"));
	assert_non_null(strstr(b.p, "wb_rate_limited_total 1\n"));
	assert_non_null(strstr(b.p, "wb_webhook_attempts_total 0\n"));
	assert_non_null(strstr(b.p, "# TYPE wb_uptime_seconds gauge\n"));
	wbs__buf_free(&b);
	/* the other server's counters are its own */
	wbs__buf_init(&b, 1u << 20);
	wbs__ops_render_metrics(&b, other, NULL, NULL);
	wbs__buf_putc(&b, '\0');
	assert_non_null(strstr(b.p, "wb_http_requests_total{method=\"GET\",route=\"/api/v1/projects\",status=\"200\"} 1\n"));
	assert_null(strstr(b.p, "status=\"507\""));
	assert_non_null(strstr(b.p, "wb_ingest_points_total 0\n"));
	assert_non_null(strstr(b.p, "wb_rate_limited_total 0\n"));
	wbs__buf_free(&b);
	wbs__ops_free(o);
	wbs__ops_free(other);
	wbs__ops_free(NULL);
}

/* More (method, route, status) series than the table holds: the rest are counted under "other",
 * however many more come (the 257th distinct series once wrote past the table). */
static void test_ops__series_overflow(void **state)
{
	wbs__ops *o = NULL;
	wbs__buf b;
	char route[64];
	(void)state;

	assert_int_equal(wbs__ops_new(&o), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(route, sizeof(route), "/api/v1/r%d", i);
		wbs__ops_count_request(o, "GET", route, 200 + i % 3, 0.001);
	}
	wbs__buf_init(&b, 1u << 22);
	wbs__ops_render_metrics(&b, o, NULL, NULL);
	assert_false(b.err);
	wbs__buf_putc(&b, '\0');
	assert_non_null(strstr(b.p, "route=\"/api/v1/r0\",status=\"200\"} 1\n"));
	assert_non_null(strstr(b.p, "wb_http_requests_total{method=\"OTHER\",route=\"other\",status=\"0\"} 745\n"));
	assert_non_null(strstr(b.p, "wb_http_request_duration_seconds_count 1000\n"));
	assert_null(strstr(b.p, "route=\"/api/v1/r255\""));
	wbs__buf_free(&b);
	wbs__ops_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops__bucket),
		cmocka_unit_test(test_ops__off_and_many_keys),
		cmocka_unit_test(test_ops__render),
		cmocka_unit_test(test_ops__series_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of the public header itself (sdk/include/wb.h): that it compiles
 * alone (it is included first, before any system header, and this file is
 * built with -pedantic), that WB_LOG is type-safe, and the small promises
 * the header makes about error strings, option initialisers and disabled
 * runs.
 */
#include "wb.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/*
 * Capture what WB_LOG passes to wb_run_log. WB_LOG expands to a call of
 * wb_run_log, and the expansion is rescanned, so while this macro is defined
 * WB_LOG lands in capture_log with exactly the array and count it built.
 */
static struct {
	wb_metric m[8];
	size_t n;
	int64_t step;
} captured;

static int capture_log(wb_run *run, const wb_metric *metrics, size_t n, int64_t step)
{
	(void)run;
	captured.n = n;
	captured.step = step;
	for (size_t i = 0; i < n && i < 8; i++)
		captured.m[i] = metrics[i];
	return WB_OK;
}

/* variadic: the braces of the compound literal do not protect its commas */
#define wb_run_log(...) capture_log(__VA_ARGS__)

static void test_header__log_converts_ints_to_double(void **state)
{
	int i = 7;
	long long big = 9007199254740992LL; /* 2^53: exact as a double */
	float f = 0.5f;

	(void)state;
	assert_int_equal(WB_LOG(NULL, 12, {"x", 3}), WB_OK);
	assert_int_equal(captured.n, 1);
	assert_int_equal(captured.step, 12);
	assert_string_equal(captured.m[0].key, "x");
	assert_true(captured.m[0].value == 3.0);

	assert_int_equal(WB_LOG(NULL, WB_STEP_AUTO, {"a", i}, {"b", -2}, {"c", big}, {"d", f}), WB_OK);
	assert_int_equal(captured.n, 4);
	assert_true(captured.step == WB_STEP_AUTO);
	assert_string_equal(captured.m[0].key, "a");
	assert_true(captured.m[0].value == 7.0);
	assert_string_equal(captured.m[1].key, "b");
	assert_true(captured.m[1].value == -2.0);
	assert_string_equal(captured.m[2].key, "c");
	assert_true(captured.m[2].value == 9007199254740992.0);
	assert_string_equal(captured.m[3].key, "d");
	assert_true(captured.m[3].value == 0.5);
}

#undef wb_log

static void test_header__strerror_is_distinct_for_every_code(void **state)
{
	const char *text[13];

	(void)state;
	assert_int_equal(WB_ECORRUPT, -12); /* codes are never renumbered */
	for (int code = 0; code >= WB_ECORRUPT; code--) {
		text[-code] = wb_strerror(code);
		assert_non_null(text[-code]);
		assert_true(text[-code][0] != '\0');
		for (int other = 0; other < -code; other++)
			assert_string_not_equal(text[other], text[-code]);
	}
	/* never NULL, even for a code this version does not know */
	assert_non_null(wb_strerror(1));
	assert_non_null(wb_strerror(-1000));
	assert_non_null(wb_strerror(INT32_MIN));
}

static void test_header__options_init_sets_version(void **state)
{
	wb_init_options opts = WB_INIT_OPTIONS_INIT;
	wb_sync_options sync = WB_SYNC_OPTIONS_INIT;

	(void)state;
	assert_int_equal(opts.version, WB_INIT_OPTIONS_VERSION);
	assert_int_equal(opts.mode, WB_MODE_DEFAULT);
	assert_null(opts.project);
	assert_null(opts.dir);
	assert_int_equal(opts.buffer_bytes, 0);
	assert_int_equal(opts.heartbeat_ms, 0);
	assert_int_equal(sync.version, WB_SYNC_OPTIONS_VERSION);
	assert_null(sync.base_url);
	assert_int_equal(sync.timeout_ms, 0);
	assert_string_equal(wb_version(), WB_VERSION);
}

static void test_header__disabled_run_accepts_every_call(void **state)
{
	wb_init_options opts = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	(void)state;
	opts.mode = WB_MODE_DISABLED;
	opts.project = "header-test";
	/* a directory that cannot be created: a disabled run must not touch it */
	opts.dir = "/proc/self/wb-disabled-run";
	assert_int_equal(wb_init(&run, &opts), WB_OK);
	assert_non_null(run);

	assert_int_equal(wb_config_set_int(run, "batch_size", 64), WB_OK);
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.01), WB_OK);
	assert_int_equal(wb_config_set_bool(run, "optimizer.nesterov", 1), WB_OK);
	assert_int_equal(wb_config_set_string(run, "model.type", "mlp"), WB_OK);
	assert_int_equal(wb_define_metric(run, "val/*", "epoch", WB_SUMMARY_MAX | WB_SUMMARY_LAST), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"train/loss", 0.5}, {"train/acc", 1}), WB_OK);
	assert_int_equal(WB_LOG(run, 10, {"val/acc", 0.9}, {"epoch", 1}), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "test/acc", 0.88), WB_OK);
	assert_int_equal(wb_summary_set_string(run, "note", "disabled"), WB_OK);
	assert_int_equal(wb_run_dropped(run), 0);
	assert_int_equal(wb_run_should_stop(run), 0); /* no server to decide */
	assert_int_equal(wb_should_stop(run), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wb_finish(NULL, 0), WB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header__log_converts_ints_to_double),
		cmocka_unit_test(test_header__strerror_is_distinct_for_every_code),
		cmocka_unit_test(test_header__options_init_sets_version),
		cmocka_unit_test(test_header__disabled_run_accepts_every_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

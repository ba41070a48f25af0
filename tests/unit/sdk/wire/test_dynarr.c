/* Unit tests of the growable array with a maximum (sdk/src/dynarr.c) and
 * the SDK's error for it (wb__reserve, sdk/src/util.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dynarr.h"
#include "util.h"

/* Doubling from 16, every element kept across each move. */
static void test_dynarr__grows_and_keeps(void **state)
{
	uint64_t *a = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(wb__dynarr_reserve(&a, &cap, n, 1, sizeof(*a), 100000), WB__DYNARR_OK);
		assert_true(cap >= n + 1);
		a[n++] = i * 7;
	}
	assert_int_equal(cap, 1024);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(a[i], i * 7);
	/* room already there: nothing moves */
	{
		uint64_t *before = a;
		assert_int_equal(wb__dynarr_reserve(&a, &cap, n, 24, sizeof(*a), 100000), WB__DYNARR_OK);
		assert_ptr_equal(a, before);
		assert_int_equal(cap, 1024);
	}
	free(a);
}

/* The capacity never passes max, and an array at max refuses one more,
 * unchanged. */
static void test_dynarr__maximum(void **state)
{
	int *a = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(wb__dynarr_reserve(&a, &cap, 0, 20, sizeof(*a), 40), WB__DYNARR_OK);
	assert_int_equal(cap, 32);
	assert_int_equal(wb__dynarr_reserve(&a, &cap, 32, 1, sizeof(*a), 40), WB__DYNARR_OK);
	assert_int_equal(cap, 40); /* 64 clamped */
	before = a;
	assert_int_equal(wb__dynarr_reserve(&a, &cap, 40, 1, sizeof(*a), 40), WB__DYNARR_TOOBIG);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 40);
	assert_int_equal(wb__dynarr_reserve(&a, &cap, 0, 41, sizeof(*a), 40), WB__DYNARR_TOOBIG);
	free(a);
}

/* Size arithmetic that would wrap is refused before any allocation. */
static void test_dynarr__overflow(void **state)
{
	char *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(wb__dynarr_reserve(&a, &cap, SIZE_MAX, 1, 1, SIZE_MAX), WB__DYNARR_TOOBIG);
	assert_int_equal(wb__dynarr_reserve(&a, &cap, 0, SIZE_MAX / 2 + 1, 4, SIZE_MAX), WB__DYNARR_TOOBIG);
	assert_null(a);
	assert_int_equal(cap, 0);
}

/* The SDK's wrapper: WB_ENOMEM with a message that names what is full. */
static void test_dynarr__sdk_error(void **state)
{
	int *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(wb__reserve(&a, &cap, 0, 3, sizeof(*a), 3, "widgets"), WB_OK);
	assert_int_equal(wb__reserve(&a, &cap, 3, 1, sizeof(*a), 3, "widgets"), WB_ENOMEM);
	assert_string_equal(wb_errmsg(), "widgets: more than 3");
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynarr__grows_and_keeps),
		cmocka_unit_test(test_dynarr__maximum),
		cmocka_unit_test(test_dynarr__overflow),
		cmocka_unit_test(test_dynarr__sdk_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

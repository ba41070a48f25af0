/*
 * test_httputil.c — request helpers that face the network
 * (server/http/httputil.c), driven with hostile input: path splitting and
 * decoding, media types, gzip inflation with its cap and shared budget.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/httputil.h"
#include "wire.h"

static void test_httputil__path_split(void **state)
{
	wbs__path p;
	(void)state;

	assert_int_equal(wbs__path_split("/api/v1/projects/alice/mnist/runs/r1", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 5);
	assert_string_equal(p.seg[0], "projects");
	assert_string_equal(p.seg[4], "r1");
	assert_int_equal(wbs__path_split("/api/v1/projects/", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 1);
	assert_int_equal(wbs__path_split("/api/v1", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 0);
	/* Encoded slash stays in its segment; dots are just a name. */
	assert_int_equal(wbs__path_split("/api/v1/projects/a/..%2Fx/runs", &p), WBS__PATH_OK);
	assert_int_equal(p.nseg, 4);
	assert_string_equal(p.seg[2], "../x");
	assert_false(wb__name_valid(p.seg[2]));
	assert_int_equal(wbs__path_split("/api/v1/projects/a/%3Cscript%3E", &p), WBS__PATH_OK);
	assert_string_equal(p.seg[2], "<script>");
	assert_false(wb__name_valid(p.seg[2]));
	assert_int_equal(wbs__path_split("/api/v1/projects/a/..", &p), WBS__PATH_OK);
	assert_false(wb__name_valid(p.seg[2]));
	/* NUL, bad escapes, empty segments, too many segments: refused. */
	assert_int_equal(wbs__path_split("/api/v1/projects/a%00b", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects/a%zz", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects/a%4", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/projects//x", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v1/a/b/c/d/e/f/g/h/i", &p), WBS__PATH_BAD);
	assert_int_equal(wbs__path_split("/api/v10/x", &p), WBS__PATH_NOT_API);
	assert_int_equal(wbs__path_split("/healthz", &p), WBS__PATH_NOT_API);
	{
		char longp[4000];
		memset(longp, 'a', sizeof(longp));
		memcpy(longp, "/api/v1/", 8);
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(wbs__path_split(longp, &p), WBS__PATH_BAD);
	}
	/* Overlong names are caught by name validation. */
	assert_false(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_httputil__media_type(void **state)
{
	(void)state;
	assert_true(wbs__media_type_is("application/x-wb-frames", "application/x-wb-frames"));
	assert_true(wbs__media_type_is("Application/X-WB-Frames; v=1", "application/x-wb-frames"));
	assert_false(wbs__media_type_is("application/x-wb-framesx", "application/x-wb-frames"));
	assert_false(wbs__media_type_is(NULL, "application/json"));
}

static size_t gz(const void *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}


/* The shared budget: a bomb stops when the bodies inflating together reach
 * it (BUSY, nothing left taken); a body that fits keeps exactly its buffer
 * taken until given back. */
static void test_httputil__inflate_budget(void **state)
{
	size_t big = 8u << 20, bn, olen, held;
	uint8_t *zeros = calloc(1, big), *bomb = malloc(big / 100), *out;
	wbs__budget b = {.cap = 1u << 20};
	(void)state;

	assert_non_null(zeros);
	assert_non_null(bomb);
	bn = gz(zeros, big, bomb, big / 100);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_BUSY);
	assert_int_equal(atomic_load(&b.used), 0);
	/* Half the budget taken elsewhere: 600 KiB of output no longer fits. */
	bn = gz(zeros, 600u << 10, bomb, big / 100);
	assert_int_equal(wbs__budget_take(&b, 512u << 10), 0);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_BUSY);
	wbs__budget_give(&b, 512u << 10);
	assert_int_equal(wbs__inflate(bomb, bn, 64u << 20, &b, &out, &olen, &held), WBS__INFLATE_OK);
	assert_int_equal(olen, 600u << 10);
	assert_int_equal(held, olen + 1);
	assert_int_equal(atomic_load(&b.used), held);
	wbs__budget_give(&b, held);
	free(out);
	assert_int_equal(wbs__budget_take(&b, (1u << 20) + 1), -1);
	assert_int_equal(atomic_load(&b.used), 0);
	free(zeros);
	free(bomb);
}

static void test_httputil__inflate_cap(void **state)
{
	static uint8_t src[100000], packed[200000];
	uint8_t *out;
	size_t n, olen;
	(void)state;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 % 251);
	n = gz(src, sizeof(src), packed, sizeof(packed));
	assert_int_equal(wbs__inflate(packed, n, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_OK);
	assert_int_equal(olen, sizeof(src));
	assert_memory_equal(out, src, sizeof(src));
	free(out);
	/* One byte under the size: a bomb stops at the cap. */
	assert_int_equal(wbs__inflate(packed, n, sizeof(src) - 1, NULL, &out, &olen, NULL), WBS__INFLATE_TOOBIG);
	/* Truncated and corrupt streams. */
	assert_int_equal(wbs__inflate(packed, n - 10, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	packed[n / 2] ^= 0xff;
	assert_int_equal(wbs__inflate(packed, n, sizeof(src), NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	assert_int_equal(wbs__inflate((const uint8_t *)"hello", 5, 100, NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	assert_int_equal(wbs__inflate((const uint8_t *)"", 0, 100, NULL, &out, &olen, NULL), WBS__INFLATE_BAD);
	/* A real bomb: 64 MiB of zeros packs into ~64 KiB. */
	{
		size_t big = 64u << 20;
		uint8_t *zeros = calloc(1, big), *bomb = malloc(big / 100);
		size_t bn = gz(zeros, big, bomb, big / 100);
		assert_int_equal(wbs__inflate(bomb, bn, (16u << 20), NULL, &out, &olen, NULL), WBS__INFLATE_TOOBIG);
		free(zeros);
		free(bomb);
	}
	/* Two gzip members back to back. */
	{
		uint8_t two[64];
		size_t a = gz("abc", 3, two, sizeof(two));
		size_t b = gz("def", 3, two + a, sizeof(two) - a);
		assert_int_equal(wbs__inflate(two, a + b, 100, NULL, &out, &olen, NULL), WBS__INFLATE_OK);
		assert_int_equal(olen, 6);
		assert_memory_equal(out, "abcdef", 6);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httputil__path_split),
		cmocka_unit_test(test_httputil__media_type),
		cmocka_unit_test(test_httputil__inflate_cap),
		cmocka_unit_test(test_httputil__inflate_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

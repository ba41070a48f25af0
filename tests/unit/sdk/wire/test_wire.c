/* Unit tests of the frame and METRICS codec (sdk/wire/wire.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static size_t encode_frame(uint8_t *buf, uint64_t seq, uint8_t type, const uint8_t *payload, uint32_t len)
{
	wb__frame_header(buf, seq, type, payload, len);
	memcpy(buf + WB__FRAME_HEADER, payload, len);
	return WB__FRAME_HEADER + len;
}

static void test_wire__frame_roundtrip(void **state)
{
	uint8_t buf[256];
	const uint8_t payload[] = "{\"a\":1}";
	wb__frame f;
	size_t used = 0, n;

	(void)state;
	n = encode_frame(buf, 42, WB__REC_CONFIG, payload, 7);
	assert_int_equal(n, WB__FRAME_HEADER + 7);
	assert_int_equal(wb__frame_decode(buf, n, &f, &used), WB__FRAME_OK);
	assert_int_equal(used, n);
	assert_int_equal(f.seq, 42);
	assert_int_equal(f.type, WB__REC_CONFIG);
	assert_int_equal(f.len, 7);
	assert_memory_equal(f.payload, payload, 7);
}

static void test_wire__torn_tail_is_short(void **state)
{
	uint8_t buf[256];
	const uint8_t payload[] = "0123456789";
	wb__frame f;
	size_t used, n;

	(void)state;
	n = encode_frame(buf, 1, WB__REC_SUMMARY, payload, 10);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(wb__frame_decode(buf, cut, &f, &used), WB__FRAME_SHORT);
}

static void test_wire__every_flipped_bit_is_detected(void **state)
{
	uint8_t buf[64];
	const uint8_t payload[] = "payload";
	wb__frame f;
	size_t used, n;

	(void)state;
	n = encode_frame(buf, 7, WB__REC_RUN, payload, 7);
	for (size_t bit = 0; bit < n * 8; bit++) {
		int rc;
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = wb__frame_decode(buf, n, &f, &used);
		/* a flipped length bit may also make the frame look short */
		assert_true(rc == WB__FRAME_BAD || rc == WB__FRAME_SHORT);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(wb__frame_decode(buf, n, &f, &used), WB__FRAME_OK);
}

static void test_wire__oversized_length_is_bad(void **state)
{
	uint8_t buf[WB__FRAME_HEADER] = {0};
	wb__frame f;
	size_t used;

	(void)state;
	wb__put_u32(buf, WB__FRAME_MAX_PAYLOAD + 1);
	assert_int_equal(wb__frame_decode(buf, sizeof(buf), &f, &used), WB__FRAME_BAD);
}

static void test_wire__metrics_roundtrip_bit_exact(void **state)
{
	const double nan_payload = wb__bits_f64(UINT64_C(0x7ff800000000beef));
	const wb_metric in[] = {
	    {"loss", 0.25},          {"acc", -0.0},        {"nan", NAN},
	    {"nanpayload", nan_payload}, {"inf", INFINITY}, {"ninf", -INFINITY},
	    {"tiny", 4.9e-324},      {"train/ünïcode", 1e308},
	};
	size_t n = sizeof(in) / sizeof(in[0]), size;
	uint8_t *buf;
	wb__metrics_reader r;
	const char *key;
	size_t klen;
	double v;
	size_t i = 0;

	(void)state;
	size = wb__metrics_size(in, n);
	assert_true(size > 18);
	buf = malloc(size);
	assert_non_null(buf);
	wb__metrics_encode(buf, 123456789012LL, 1763779200.25, in, n);
	assert_int_equal(wb__metrics_begin(&r, buf, (uint32_t)size), 0);
	assert_int_equal(r.step, 123456789012LL);
	assert_true(r.time == 1763779200.25);
	assert_int_equal(r.n, n);
	while (wb__metrics_next(&r, &key, &klen, &v)) {
		assert_int_equal(klen, strlen(in[i].key));
		assert_memory_equal(key, in[i].key, klen);
		assert_true(wb__f64_bits(v) == wb__f64_bits(in[i].value));
		i++;
	}
	assert_int_equal(i, n);
	free(buf);
}

static void test_wire__metrics_rejects_bad_keys(void **state)
{
	char longkey[300];
	wb_metric m[1] = {{"ok", 1}};

	(void)state;
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	assert_int_equal(wb__metrics_size(m, 0), 0);
	m[0].key = "";
	assert_int_equal(wb__metrics_size(m, 1), 0);
	m[0].key = NULL;
	assert_int_equal(wb__metrics_size(m, 1), 0);
	m[0].key = "bad\nkey";
	assert_int_equal(wb__metrics_size(m, 1), 0);
	m[0].key = "_timestamp";
	assert_int_equal(wb__metrics_size(m, 1), 0);
	m[0].key = longkey;
	assert_int_equal(wb__metrics_size(m, 1), 0);
	longkey[255] = 0;
	assert_true(wb__metrics_size(m, 1) > 0);
}

/* Every truncation and every corrupted length of a valid payload is refused
 * by _begin, never read past. Run under ASan this proves bounds. */
static void test_wire__metrics_malformed_payloads(void **state)
{
	const wb_metric in[] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
	uint8_t buf[128], *copy;
	size_t size = wb__metrics_size(in, 3);
	wb__metrics_reader r;

	(void)state;
	wb__metrics_encode(buf, 1, 0, in, 3);
	for (size_t cut = 0; cut < size; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		assert_int_equal(wb__metrics_begin(&r, copy, (uint32_t)cut), -1);
		free(copy);
	}
	/* trailing garbage */
	copy = malloc(size + 1);
	memcpy(copy, buf, size);
	copy[size] = 0;
	assert_int_equal(wb__metrics_begin(&r, copy, (uint32_t)size + 1), -1);
	/* a key length pointing past the end */
	copy[18] = 200;
	assert_int_equal(wb__metrics_begin(&r, copy, (uint32_t)size), -1);
	free(copy);
	/* negative step, zero count */
	memcpy(buf + 0, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_int_equal(wb__metrics_begin(&r, buf, (uint32_t)size), -1);
	wb__metrics_encode(buf, 1, 0, in, 3);
	wb__put_u16(buf + 16, 0);
	assert_int_equal(wb__metrics_begin(&r, buf, (uint32_t)size), -1);
}

static void test_wire__names(void **state)
{
	(void)state;
	assert_true(wb__name_valid("mnist"));
	assert_true(wb__name_valid("a.b-c_D9"));
	assert_false(wb__name_valid(""));
	assert_false(wb__name_valid(NULL));
	assert_false(wb__name_valid(".."));
	assert_false(wb__name_valid("../etc"));
	assert_false(wb__name_valid("a/b"));
	assert_false(wb__name_valid("<script>"));
	assert_false(wb__name_valid("sp ace"));
	assert_true(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));  /* 64 */
	assert_false(wb__name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
}

static void test_wire__artifact_paths(void **state)
{
	static const char *const good[] = {"a", "model.pt", "a/b/c.txt", "dir/<img src=x>.txt", "...", "a/..b", ".hidden/x",
					   ".gitignore", ".github/workflows/ci.yml", "x.git", "git", ".gi", "a/.gitx/b",
					   "git~2", ".git-x", "\xe2\x80\x8c.gitx", "a:b"};
	static const char *const bad[] = {"", "/abs", "a/", "a//b", "./a", "a/./b", "..", "../x", "a/../b", "a/..",
					  "a\\b", "tab\there", "nl\nhere", "del\x7f",
					  /* git's own directory, as git itself refuses it (verify_path) */
					  ".git", ".git/config", ".git/hooks/pre-commit", "a/.git/config", "a/.GIT/config",
					  ".Git/HEAD", ".git./config", ".git . ./config", ".git:x", ".git::$INDEX_ALLOCATION/config",
					  "GIT~1/config", "a/git~1. /hooks/x", ".g\xe2\x80\x8cit/config",
					  "\xef\xbb\xbf.GIT/config", ".git\xe2\x81\xaf"};
	char big[WB__ART_PATH_MAX + 2];
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(wb__art_path_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(wb__art_path_valid(bad[i], strlen(bad[i])));
	assert_false(wb__art_path_valid("a\0b", 3)); /* an embedded NUL */
	assert_false(wb__art_path_valid(NULL, 0));
	memset(big, 'a', sizeof(big));
	big[WB__ART_PATH_MAX] = '\0';
	assert_true(wb__art_path_valid(big, WB__ART_PATH_MAX));
	big[WB__ART_PATH_MAX] = 'a';
	big[WB__ART_PATH_MAX + 1] = '\0';
	assert_false(wb__art_path_valid(big, WB__ART_PATH_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire__frame_roundtrip),
	    cmocka_unit_test(test_wire__torn_tail_is_short),
	    cmocka_unit_test(test_wire__every_flipped_bit_is_detected),
	    cmocka_unit_test(test_wire__oversized_length_is_bad),
	    cmocka_unit_test(test_wire__metrics_roundtrip_bit_exact),
	    cmocka_unit_test(test_wire__metrics_rejects_bad_keys),
	    cmocka_unit_test(test_wire__metrics_malformed_payloads),
	    cmocka_unit_test(test_wire__names),
	    cmocka_unit_test(test_wire__artifact_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

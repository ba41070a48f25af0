/* Unit tests of the rich-data payloads (sdk/src/wire_media.c), the PNG
 * writer (sdk/src/png.c) and the event-file reader's framing and CRC-32C
 * (sdk/src/tbevents.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "png.h"
#include "tbevents.h"
#include "wire_media.h"

static void test_wire_media__header_roundtrip_and_rules(void **state)
{
	uint8_t buf[400];
	wb__media_hdr h;
	char longkey[300];

	(void)state;
	wb__media_hdr_put(buf, 7, 1.25, "grad/w", 6);
	memcpy(buf + wb__media_hdr_size(6), "xyz", 3);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(6) + 3), 0);
	assert_int_equal(h.step, 7);
	assert_true(h.time == 1.25);
	assert_int_equal(h.klen, 6);
	assert_memory_equal(h.key, "grad/w", 6);
	assert_int_equal(h.blen, 3);
	/* short, negative step, reserved and invalid keys */
	assert_int_equal(wb__media_hdr_get(&h, buf, 16), -1);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(6) - 1), -1);
	wb__media_hdr_put(buf, -1, 0, "k", 1);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(1)), -1);
	wb__media_hdr_put(buf, 0, 0, "system/cpu", 10);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(10)), -1);
	wb__media_hdr_put(buf, 0, 0, "_t", 2);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(2)), -1);
	wb__media_hdr_put(buf, 0, 0, "a\nb", 3);
	assert_int_equal(wb__media_hdr_get(&h, buf, wb__media_hdr_size(3)), -1);
	memset(longkey, 'k', sizeof longkey);
	buf[16] = 0; /* empty key */
	assert_int_equal(wb__media_hdr_get(&h, buf, 17), -1);
}

static void test_wire_media__histogram_codec(void **state)
{
	double e[4] = {-1, 0, 0, 2}, c[3] = {1, 0.5, 2};
	uint8_t buf[200];
	wb__hist h;

	(void)state;
	wb__hist_put(buf, 3, 2, 1, e, c, 3);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3)), 0);
	assert_int_equal(h.nbins, 3);
	assert_int_equal(h.nan, 3);
	assert_int_equal(h.pinf, 2);
	assert_int_equal(h.ninf, 1);
	for (int i = 0; i < 4; i++)
		assert_true(wb__hist_edge(&h, (size_t)i) == e[i]);
	for (int i = 0; i < 3; i++)
		assert_true(wb__hist_count(&h, (size_t)i) == c[i]);
	/* wrong size either way */
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3) - 1), -1);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3) + 8), -1);
	/* no bins: only the counts apart */
	wb__hist_put(buf, 5, 0, 0, NULL, NULL, 0);
	assert_int_equal(wb__hist_body_size(0), 26);
	assert_int_equal(wb__hist_get(&h, buf, 26), 0);
	assert_int_equal(h.nbins, 0);
	/* decreasing or non-finite edges, negative or NaN counts */
	e[2] = -0.5;
	wb__hist_put(buf, 0, 0, 0, e, c, 3);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3)), -1);
	e[2] = INFINITY;
	e[3] = INFINITY;
	wb__hist_put(buf, 0, 0, 0, e, c, 3);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3)), -1);
	e[2] = 0;
	e[3] = 2;
	c[1] = -1;
	wb__hist_put(buf, 0, 0, 0, e, c, 3);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3)), -1);
	c[1] = NAN;
	wb__hist_put(buf, 0, 0, 0, e, c, 3);
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(3)), -1);
	/* more bins than allowed */
	wb__put_u16(buf + 24, (uint16_t)(WB__HIST_BINS_MAX + 1));
	assert_int_equal(wb__hist_get(&h, buf, wb__hist_body_size(WB__HIST_BINS_MAX + 1)), -1);
}

static void test_wire_media__image_sniff(void **state)
{
	/* JPEG with fill bytes, an APP1 segment, then SOF2 (progressive) of 640x480 */
	const uint8_t jpg[] = {0xFF, 0xD8, 0xFF, 0xFF, 0xE1, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xC2, 0x00, 0x11,
			       0x08, 0x01, 0xE0, 0x02, 0x80, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01};
	/* DHT (C4) is not a frame header and must be skipped */
	const uint8_t jpg_dht[] = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B,
				   0x08, 0x00, 0x10, 0x00, 0x20, 0x01, 0x01, 0x11, 0x00};
	const uint8_t jpg_cut[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x7F, 0xFF};
	const uint8_t png_noihdr[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 0, 'I', 'D', 'A', 'T'};
	uint32_t w = 9, h = 9;

	(void)state;
	assert_string_equal(wb__image_sniff(jpg, sizeof jpg, &w, &h), "image/jpeg");
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	assert_string_equal(wb__image_sniff(jpg_dht, sizeof jpg_dht, &w, &h), "image/jpeg");
	assert_int_equal(w, 32);
	assert_int_equal(h, 16);
	assert_string_equal(wb__image_sniff(jpg_cut, sizeof jpg_cut, &w, &h), "image/jpeg");
	assert_int_equal(w, 0);
	assert_string_equal(wb__image_sniff(png_noihdr, sizeof png_noihdr, &w, &h), "image/png");
	assert_int_equal(w, 0);
	assert_null(wb__image_sniff((const uint8_t *)"GIF89a", 6, &w, &h));
	assert_null(wb__image_sniff((const uint8_t *)"<svg", 4, NULL, NULL));
	assert_null(wb__image_sniff(jpg, 2, NULL, NULL));
}

static void test_wire_media__image_body(void **state)
{
	uint8_t body[200], png[30];
	wb__image im;

	(void)state;
	memcpy(png, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x05\0\0\0\x03", 24);
	wb__image_put(body, "cap\ttion", 8, 5, 3, png, 24);
	assert_int_equal(wb__image_get(&im, body, wb__image_body_size(8, 24)), 0);
	assert_int_equal(im.caplen, 8);
	assert_memory_equal(im.caption, "cap\ttion", 8);
	assert_int_equal(im.width, 5);
	assert_int_equal(im.height, 3);
	assert_int_equal(im.len, 24);
	assert_string_equal(im.mime, "image/png");
	wb__image_put(body, "", 0, 50, 30, png, 24); /* the header's 5x3 wins over the record's claim */
	assert_int_equal(wb__image_get(&im, body, wb__image_body_size(0, 24)), 0);
	assert_int_equal(im.width, 5);
	assert_int_equal(im.height, 3);
	wb__image_put(body, "a\x01", 2, 5, 3, png, 24); /* control character */
	assert_int_equal(wb__image_get(&im, body, wb__image_body_size(2, 24)), -1);
	wb__image_put(body, "", 0, 5, 3, (const uint8_t *)"<html>", 6); /* not an image */
	assert_int_equal(wb__image_get(&im, body, wb__image_body_size(0, 6)), -1);
	wb__image_put(body, "", 0, WB__IMAGE_DIM_MAX + 1, 3, png, 24); /* too wide */
	assert_int_equal(wb__image_get(&im, body, wb__image_body_size(0, 24)), -1);
	assert_int_equal(wb__image_get(&im, body, 9), -1); /* shorter than its fields */
}

static void test_wire_media__table_check(void **state)
{
	static const struct {
		const char *json;
		int ok;
	} cases[] = {
		{"{\"columns\":[\"a\",\"b\"],\"data\":[[1,\"x\"],[null,true]]}", 0},
		{"{\"columns\":[\"a\"],\"data\":[]}", 0},
		{"{\"columns\":[],\"data\":[]}", -1},
		{"{\"columns\":[\"a\",\"a\"],\"data\":[]}", -1},
		{"{\"columns\":[\"\"],\"data\":[]}", -1},
		{"{\"columns\":[1],\"data\":[]}", -1},
		{"{\"columns\":[\"a\\u0001\"],\"data\":[]}", -1},
		{"{\"columns\":[\"a\"],\"data\":[[1,2]]}", -1},
		{"{\"columns\":[\"a\"],\"data\":[[[1]]]}", -1},
		{"{\"columns\":[\"a\"],\"data\":[[{}]]}", -1},
		{"{\"columns\":[\"a\"],\"data\":{}}", -1},
		{"{\"columns\":[\"a\"]}", -1},
		{"[]", -1},
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *t = cJSON_Parse(cases[i].json);
		assert_non_null(t);
		why[0] = '\0';
		if (wb__table_check(t, why, sizeof why) != cases[i].ok)
			fail_msg("case %zu (%s): %s", i, cases[i].json, why);
		if (cases[i].ok)
			assert_true(strlen(why) > 0);
		cJSON_Delete(t);
	}
}

static void test_wire_media__utf8(void **state)
{
	(void)state;
	assert_true(wb__utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_false(wb__utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(wb__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(wb__utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(wb__utf8_valid("\xe2\x82", 2));         /* cut short */
	assert_false(wb__utf8_valid("\xff", 1));
	assert_false(wb__utf8_valid("\xe0\x80\x80", 3));     /* overlong 3-byte */
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void test_wire_media__png_encode(void **state)
{
	uint8_t rgb[5 * 3 * 3], *png = NULL, raw[3 * (1 + 15)];
	uLongf rawlen = sizeof raw;
	size_t len = 0, off = 8;
	uint32_t w, h;

	(void)state;
	for (size_t i = 0; i < sizeof rgb; i++)
		rgb[i] = (uint8_t)(i * 37);
	assert_int_equal(wb__png_encode_rgb(rgb, 5, 3, &png, &len), WB_OK);
	assert_string_equal(wb__image_sniff(png, len, &w, &h), "image/png");
	assert_int_equal(w, 5);
	assert_int_equal(h, 3);
	/* every chunk's CRC, IDAT inflates to 3 rows of filter byte + 15 bytes, Sub undone gives the pixels */
	while (off + 12 <= len) {
		uint32_t n = be32(png + off);
		assert_int_equal(be32(png + off + 8 + n), (uint32_t)crc32(0, png + off + 4, 4 + n));
		if (memcmp(png + off + 4, "IDAT", 4) == 0)
			assert_int_equal(uncompress(raw, &rawlen, png + off + 8, n), Z_OK);
		off += 12 + n;
	}
	assert_int_equal(off, len);
	assert_int_equal(rawlen, sizeof raw);
	for (int y = 0; y < 3; y++) {
		const uint8_t *row = raw + y * 16;
		assert_int_equal(row[0], 1);
		for (int x = 0; x < 15; x++) {
			uint8_t v = (uint8_t)(row[1 + x] + (x >= 3 ? rgb[y * 15 + x - 3] : 0));
			assert_int_equal(v, rgb[y * 15 + x]);
		}
	}
	free(png);
	assert_int_equal(wb__png_encode_rgb(rgb, 0, 3, &png, &len), WB_EINVAL);
	assert_int_equal(wb__png_encode_rgb(rgb, WB__IMAGE_DIM_MAX + 1, 1, &png, &len), WB_EINVAL);
	assert_null(png);
}

static void test_wire_media__crc32c(void **state)
{
	uint8_t zeros[32] = {0}, ones[32];

	(void)state;
	memset(ones, 0xFF, sizeof ones);
	/* RFC 3720 B.4 test vectors, and the common "123456789" check value */
	assert_int_equal(wb__crc32c("123456789", 9), 0xE3069283u);
	assert_int_equal(wb__crc32c(zeros, 32), 0x8A9136AAu);
	assert_int_equal(wb__crc32c(ones, 32), 0x62A8AB43u);
	assert_int_equal(wb__crc32c("", 0), 0);
}

static int count(void *arg, double w, int64_t s, const char *t, double v)
{
	(void)w, (void)s, (void)t, (void)v;
	(*(int *)arg)++;
	return 0;
}

static void test_wire_media__tb_read_some_waits_for_a_whole_record(void **state)
{
	/* Event {step: 1, summary {value {tag "a", simple_value 2}}} */
	const uint8_t ev[] = {0x10, 0x01, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 'a', 0x15, 0, 0};
	uint8_t file[64];
	size_t n = sizeof ev + 4, used = 99; /* the value is 2.0f: 00 00 00 40 */
	uint8_t data[sizeof ev + 2];
	int got = 0;
	wb__tb_sink sink = {&got, count, NULL, NULL};
	wb__tb_report rep;

	(void)state;
	memcpy(data, ev, sizeof ev);
	data[sizeof ev] = 0x00;
	data[sizeof ev + 1] = 0x40;
	n = sizeof data;
	wb__put_u64(file, n);
	wb__put_u32(file + 8, wb__crc32c_mask(wb__crc32c(file, 8)));
	memcpy(file + 12, data, n);
	wb__put_u32(file + 12 + n, wb__crc32c_mask(wb__crc32c(data, n)));
	memset(&rep, 0, sizeof rep);
	/* every cut short of the whole record reads nothing and reports nothing */
	for (size_t cut = 0; cut < 16 + n; cut++) {
		assert_int_equal(wb__tb_read_some(file, cut, &sink, &rep, &used), 0);
		assert_int_equal(used, 0);
	}
	assert_int_equal(got, 0);
	for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
		assert_int_equal(rep.skipped[i], 0);
	assert_int_equal(wb__tb_read_some(file, 16 + n, &sink, &rep, &used), 0);
	assert_int_equal(used, 16 + n);
	assert_int_equal(got, 1);
	assert_int_equal(rep.events, 1);
	assert_int_equal(rep.scalars, 1);
	/* the same cut read as a whole file is a truncated record */
	memset(&rep, 0, sizeof rep);
	assert_int_equal(wb__tb_read(file, 16 + n - 1, &sink, &rep), 0);
	assert_int_equal(rep.skipped[WB__TB_TRUNCATED], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_media__header_roundtrip_and_rules),
		cmocka_unit_test(test_wire_media__histogram_codec),
		cmocka_unit_test(test_wire_media__image_sniff),
		cmocka_unit_test(test_wire_media__image_body),
		cmocka_unit_test(test_wire_media__table_check),
		cmocka_unit_test(test_wire_media__utf8),
		cmocka_unit_test(test_wire_media__png_encode),
		cmocka_unit_test(test_wire_media__crc32c),
		cmocka_unit_test(test_wire_media__tb_read_some_waits_for_a_whole_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

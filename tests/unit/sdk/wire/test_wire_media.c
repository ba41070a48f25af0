/* Unit tests of the rich-data payloads (sdk/wire/wire_media.c), the PNG
 * writer (sdk/src/png.c) and the event-file reader (sdk/wire/tbevents.c):
 * framing and CRC-32C, hparams, text, naming what is skipped, series keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
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

/* ---- a small protobuf writer for events ---- */

typedef struct pbuf {
	uint8_t b[1024];
	size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v)
{
	do {
		assert_true(p->n < sizeof p->b);
		p->b[p->n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
}
static void pb_len(pbuf *p, unsigned f, const void *d, size_t n)
{
	pb_varint(p, (uint64_t)f << 3 | 2);
	pb_varint(p, n);
	assert_true(p->n + n <= sizeof p->b);
	memcpy(p->b + p->n, d, n);
	p->n += n;
}
static void pb_sub(pbuf *p, unsigned f, const pbuf *m) { pb_len(p, f, m->b, m->n); }
static void pb_str(pbuf *p, unsigned f, const char *s) { pb_len(p, f, s, strlen(s)); }
static void pb_u(pbuf *p, unsigned f, uint64_t v) { pb_varint(p, (uint64_t)f << 3), pb_varint(p, v); }
static void pb_f64(pbuf *p, unsigned f, double d)
{
	pb_varint(p, (uint64_t)f << 3 | 1);
	wb__put_u64(p->b + p->n, wb__f64_bits(d));
	p->n += 8;
}

/* A Summary.Value {tag, metadata {plugin_data {plugin_name, content}}, tensor} into sum. */
static void pb_value(pbuf *sum, const char *tag, const char *plugin, const pbuf *content, const pbuf *tensor)
{
	pbuf v = {0}, md = {0}, pd = {0};
	pb_str(&v, 1, tag);
	pb_str(&pd, 1, plugin);
	if (content)
		pb_sub(&pd, 2, content);
	pb_sub(&md, 1, &pd);
	pb_sub(&v, 9, &md);
	if (tensor)
		pb_sub(&v, 8, tensor);
	pb_sub(sum, 1, &v);
}

/* One TFRecord of Event {wall_time, step, summary} into file; its length. */
static size_t pb_record(uint8_t *file, double wall, int64_t step, const pbuf *sum)
{
	pbuf ev = {0};
	pb_f64(&ev, 1, wall);
	pb_u(&ev, 2, (uint64_t)step);
	pb_sub(&ev, 5, sum);
	wb__put_u64(file, ev.n);
	wb__put_u32(file + 8, wb__crc32c_mask(wb__crc32c(file, 8)));
	memcpy(file + 12, ev.b, ev.n);
	wb__put_u32(file + 12 + ev.n, wb__crc32c_mask(wb__crc32c(ev.b, ev.n)));
	return 16 + ev.n;
}

typedef struct seen {
	char log[2048];
} seen;

static void seen_add(seen *s, const char *fmt, ...)
{
	size_t n = strlen(s->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->log + n, sizeof s->log - n, fmt, ap);
	va_end(ap);
}

static int seen_scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	seen_add(arg, "scalar %s %g %lld %g;", tag, value, (long long)step, wall);
	return 0;
}
static int seen_text(void *arg, double wall, int64_t step, const char *tag, const char *table, size_t len)
{
	seen_add(arg, "text %s %lld %g %.*s;", tag, (long long)step, wall, (int)len, table);
	return 0;
}
static int seen_hparam(void *arg, const char *name, const wb__tb_hparam *v)
{
	if (v->type == WB__TB_HP_NUMBER)
		seen_add(arg, "hp %s=%g;", name, v->number);
	else if (v->type == WB__TB_HP_STRING)
		seen_add(arg, "hp %s='%s';", name, v->string);
	else
		seen_add(arg, "hp %s=%s;", name, v->boolean ? "true" : "false");
	return 0;
}
static void seen_skipped(void *arg, enum wb__tb_skip why, const char *tag, const char *plugin)
{
	seen_add(arg, "skip %s %s %s;", wb__tb_skip_name[why], tag, plugin);
}

/* add_hparams' summaries give typed hparams and no skip; add_text a table; other plugins are named. */
static void test_wire_media__tb_hparams_text_and_named_skips(void **state)
{
	uint8_t file[4096];
	size_t n = 0;
	pbuf sum = {0}, c = {0}, ssi = {0}, e = {0}, v = {0}, t = {0}, exp = {0};
	seen got = {{0}};
	wb__tb_sink sink = {&got, seen_scalar, NULL, NULL, seen_text, seen_hparam, seen_skipped};
	wb__tb_report rep;

	(void)state;
	/* experiment, then session_start_info {lr: 0.5, opt: "sgd", nesterov: true, gone: null} */
	pb_sub(&c, 2, &exp);
	pb_value(&sum, "_hparams_/experiment", "hparams", &c, NULL);
	n += pb_record(file + n, 10, 0, &sum);
	memset(&sum, 0, sizeof sum), memset(&c, 0, sizeof c);
	pb_str(&e, 1, "lr"), pb_f64(&v, 2, 0.5), pb_sub(&e, 2, &v), pb_sub(&ssi, 1, &e);
	memset(&e, 0, sizeof e), memset(&v, 0, sizeof v);
	pb_str(&e, 1, "opt"), pb_str(&v, 3, "sgd"), pb_sub(&e, 2, &v), pb_sub(&ssi, 1, &e);
	memset(&e, 0, sizeof e), memset(&v, 0, sizeof v);
	pb_str(&e, 1, "nesterov"), pb_u(&v, 4, 1), pb_sub(&e, 2, &v), pb_sub(&ssi, 1, &e);
	memset(&e, 0, sizeof e), memset(&v, 0, sizeof v);
	pb_str(&e, 1, "gone"), pb_u(&v, 1, 0), pb_sub(&e, 2, &v), pb_sub(&ssi, 1, &e);
	pb_sub(&c, 3, &ssi);
	pb_value(&sum, "_hparams_/session_start_info", "hparams", &c, NULL);
	n += pb_record(file + n, 10, 0, &sum);
	/* text at step 3, and a pr curve */
	memset(&sum, 0, sizeof sum), memset(&c, 0, sizeof c);
	pb_u(&t, 1, 7), pb_str(&t, 8, "hello \"you\""), pb_str(&t, 8, "line 2");
	pb_value(&sum, "notes/text_summary", "text", &c, &t);
	memset(&t, 0, sizeof t);
	pb_u(&t, 1, 1), pb_f64(&t, 6, 1);
	pb_value(&sum, "pr/curve", "pr_curves", NULL, &t);
	n += pb_record(file + n, 12.5, 3, &sum);

	memset(&rep, 0, sizeof rep);
	assert_int_equal(wb__tb_read(file, n, &sink, &rep), 0);
	assert_string_equal(got.log, "hp lr=0.5;hp opt='sgd';hp nesterov=true;skip unsupported gone hparams;"
				     "text notes/text_summary 3 12.5 {\"columns\":[\"text\"],\"data\":[[\"hello \\\"you\\\"\"],[\"line 2\"]]};"
				     "skip unsupported pr/curve pr_curves;");
	assert_int_equal(rep.hparams, 3);
	assert_int_equal(rep.texts, 1);
	assert_int_equal(rep.skipped[WB__TB_BAD_TAG], 0);
	assert_int_equal(rep.skipped[WB__TB_UNSUPPORTED], 2);
}

/* One rule for a value's key in a subdirectory of the run's directory. */
static void test_wire_media__tb_series_key(void **state)
{
	char key[WB__KEY_MAX + 1], sub[300];

	(void)state;
	assert_int_equal(wb__tb_series_key(key, "", "loss", 0), 0);
	assert_string_equal(key, "loss");
	assert_int_equal(wb__tb_series_key(key, "acc/train", "acc", 0), 0); /* tensorboardX add_scalars */
	assert_string_equal(key, "acc/train");
	assert_int_equal(wb__tb_series_key(key, "a/b/val", "a/b", 0), 0);
	assert_string_equal(key, "a/b/val");
	assert_int_equal(wb__tb_series_key(key, "lr_group0", "lr", 0), 0); /* torch add_scalars */
	assert_string_equal(key, "lr/group0");
	assert_int_equal(wb__tb_series_key(key, "a_b_val", "a/b", 0), 0);
	assert_string_equal(key, "a/b/val");
	assert_int_equal(wb__tb_series_key(key, "eval", "val", 0), 0); /* any other directory */
	assert_string_equal(key, "eval/val");
	assert_int_equal(wb__tb_series_key(key, "1700000200.5", "hparam/accuracy", 1), 0); /* add_hparams */
	assert_string_equal(key, "hparam/accuracy");
	memset(sub, 'd', 299);
	sub[299] = '\0';
	assert_int_equal(wb__tb_series_key(key, sub, "x", 0), -1);
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
		cmocka_unit_test(test_wire_media__tb_hparams_text_and_named_skips),
		cmocka_unit_test(test_wire_media__tb_series_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

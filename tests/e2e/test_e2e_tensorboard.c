/*
 * End-to-end: `wb tensorboard import`. The event files are written here
 * byte by byte from the format's specification (TFRecord framing with
 * masked CRC-32C, computed bit by bit here, independently of the reader's
 * table; Event/Summary protobufs encoded field by field), including a
 * truncated record, a record whose data fails its checksum, one whose
 * length fails its checksum, one that is not a protobuf, and values wb
 * cannot import. The real `wb` binary imports them into a real server and
 * everything is checked through the API: scalars (TF1 simple_value and TF2
 * float tensors) at their steps with their wall times, histograms
 * (HistogramProto and TF2 [k,3] tensors), images byte for byte, one run
 * per directory, and the skipped records counted by reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <time.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

extern char **environ;

static wbt_server srv;
static char tmp[256];

/* ---- bytes ---- */

typedef struct bytes {
	uint8_t *p;
	size_t n, cap;
} bytes;

static void put(bytes *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_le(bytes *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		put(b, &c, 1);
	}
}

/* protobuf: varint, key, and the field kinds used by Event */
static void varint(bytes *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7F);
		v >>= 7;
		if (v)
			c |= 0x80;
		put(b, &c, 1);
	} while (v);
}
static void key(bytes *b, unsigned field, unsigned wt) { varint(b, (uint64_t)field << 3 | wt); }
static void f_varint(bytes *b, unsigned field, uint64_t v) { key(b, field, 0), varint(b, v); }
static void f_double(bytes *b, unsigned field, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	key(b, field, 1);
	put_le(b, u, 8);
}
static void f_float(bytes *b, unsigned field, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	key(b, field, 5);
	put_le(b, u, 4);
}
static void f_bytes(bytes *b, unsigned field, const void *d, size_t n)
{
	key(b, field, 2);
	varint(b, n);
	put(b, d, n);
}
static void f_msg(bytes *b, unsigned field, bytes *m)
{
	f_bytes(b, field, m->p, m->n);
	free(m->p);
	*m = (bytes){0};
}
static void f_str(bytes *b, unsigned field, const char *s) { f_bytes(b, field, s, strlen(s)); }

/* CRC-32C bit by bit (reflected polynomial 0x82F63B78), and TFRecord's mask */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}
static uint32_t masked(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

/* One TFRecord around data; corrupt: 1 flips a data checksum bit, 2 a length checksum bit. */
static void record(bytes *file, const bytes *data, int corrupt)
{
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)data->n >> (8 * i));
	put(file, len, 8);
	put_le(file, masked(crc32c(len, 8)) ^ (corrupt == 2 ? 1u : 0u), 4);
	put(file, data->p, data->n);
	put_le(file, masked(crc32c(data->p, data->n)) ^ (corrupt == 1 ? 1u : 0u), 4);
}

/* An Event {wall_time, step, summary {value...}} with the values in vals (a Summary's body). */
static void event(bytes *file, double wall, int64_t step, bytes *vals, int corrupt)
{
	bytes ev = {0};
	f_double(&ev, 1, wall);
	f_varint(&ev, 2, (uint64_t)step);
	if (vals)
		f_msg(&ev, 5, vals);
	record(file, &ev, corrupt);
	free(ev.p);
}

static void v_simple(bytes *vals, const char *tag, float x)
{
	bytes v = {0};
	f_str(&v, 1, tag);
	f_float(&v, 2, x);
	f_msg(vals, 1, &v);
}

/* TF2 scalar: tensor {dtype DT_FLOAT, tensor_shape {}, float_val x}, metadata {plugin_data {plugin_name "scalars"}} */
static void v_tensor_scalar(bytes *vals, const char *tag, float x)
{
	bytes v = {0}, t = {0}, shape = {0}, md = {0}, pd = {0};
	f_str(&v, 1, tag);
	f_str(&pd, 1, "scalars");
	f_msg(&md, 1, &pd);
	f_msg(&v, 9, &md);
	f_varint(&t, 1, 1);
	f_msg(&t, 2, &shape);
	key(&t, 5, 2); /* packed float_val */
	varint(&t, 4);
	{
		uint32_t u;
		memcpy(&u, &x, 4);
		put_le(&t, u, 4);
	}
	f_msg(&v, 8, &t);
	f_msg(vals, 1, &v);
}

static void v_histo(bytes *vals, const char *tag, double min, double max, const double *lim, const double *cnt, int n)
{
	bytes v = {0}, h = {0};
	f_str(&v, 1, tag);
	f_double(&h, 1, min);
	f_double(&h, 2, max);
	f_double(&h, 3, 8);
	key(&h, 6, 2); /* packed bucket_limit */
	varint(&h, (uint64_t)n * 8);
	for (int i = 0; i < n; i++) {
		uint64_t u;
		memcpy(&u, &lim[i], 8);
		put_le(&h, u, 8);
	}
	for (int i = 0; i < n; i++) /* bucket, not packed */
		f_double(&h, 7, cnt[i]);
	f_msg(&v, 5, &h);
	f_msg(vals, 1, &v);
}

/* TF2 histogram: tensor DT_DOUBLE shape [k, 3] rows (left, right, count) in tensor_content */
static void v_tensor_histo(bytes *vals, const char *tag, const double *rows, int k)
{
	bytes v = {0}, t = {0}, shape = {0}, d0 = {0}, d1 = {0}, md = {0}, pd = {0}, content = {0};
	f_str(&v, 1, tag);
	f_str(&pd, 1, "histograms");
	f_msg(&md, 1, &pd);
	f_msg(&v, 9, &md);
	f_varint(&t, 1, 2);
	f_varint(&d0, 1, (uint64_t)k);
	f_varint(&d1, 1, 3);
	f_msg(&shape, 2, &d0);
	f_msg(&shape, 2, &d1);
	f_msg(&t, 2, &shape);
	for (int i = 0; i < 3 * k; i++) {
		uint64_t u;
		memcpy(&u, &rows[i], 8);
		put_le(&content, u, 8);
	}
	f_msg(&t, 4, &content);
	f_msg(&v, 8, &t);
	f_msg(vals, 1, &v);
}

static void v_image(bytes *vals, const char *tag, const uint8_t *img, size_t n)
{
	bytes v = {0}, im = {0};
	f_str(&v, 1, tag);
	f_varint(&im, 1, 1);
	f_varint(&im, 2, 1);
	f_varint(&im, 3, 4);
	f_bytes(&im, 4, img, n);
	f_msg(&v, 4, &im);
	f_msg(vals, 1, &v);
}

/* TF2 images: tensor DT_STRING [width, height, img...] (string_val), metadata {plugin_data {plugin_name "images"}} */
static void v_tensor_images(bytes *vals, const char *tag, const uint8_t *const *imgs, const size_t *lens, int n)
{
	bytes v = {0}, t = {0}, md = {0}, pd = {0};
	f_str(&v, 1, tag);
	f_str(&pd, 1, "images");
	f_msg(&md, 1, &pd);
	f_msg(&v, 9, &md);
	f_varint(&t, 1, 7);
	f_str(&t, 8, "1");
	f_str(&t, 8, "1");
	for (int i = 0; i < n; i++)
		f_bytes(&t, 8, imgs[i], lens[i]);
	f_msg(&v, 8, &t);
	f_msg(vals, 1, &v);
}

static void write_file(const char *dir, const char *name, const bytes *b)
{
	char path[512];
	FILE *f;
	mkdir(dir, 0755);
	assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b->p, 1, b->n, f), b->n);
	fclose(f);
}

/* a 1x1 RGBA PNG */
static const uint8_t PNG[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
			      0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
			      0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
			      0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
			      0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};

/* the same PNG with another pixel (a different file; the reader checks only the signature and header) */
static const uint8_t PNG2[] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
			       0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
			       0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
			       0x9C, 0x63, 0xF8, 0x0F, 0x00, 0x01, 0x01, 0x01, 0x00, 0x1B, 0xB6, 0xEE, 0x56, 0x00,
			       0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};

#define T0 1700000000.0

static void make_logdir(const char *logdir)
{
	char dir[600];
	bytes f = {0}, vals = {0}, ev = {0};
	double lim[3] = {0, 1, 1.7976931348623157e308}, cnt[3] = {2, 5, 1};
	double rows[6] = {-2, 0, 4, 0, 2, 6};

	mkdir(logdir, 0755);
	/* train: file_version, 10 steps of loss (TF1) and acc (TF2), then histograms, an image, bad values */
	{
		bytes fv = {0};
		f_double(&fv, 1, T0 - 1);
		f_str(&fv, 3, "brain.Event:2");
		record(&f, &fv, 0);
		free(fv.p);
	}
	for (int s = 0; s < 10; s++) {
		v_simple(&vals, "loss", 1.0f / (float)(s + 1));
		v_tensor_scalar(&vals, "acc", (float)s / 10.0f);
		event(&f, T0 + s, s, &vals, 0);
	}
	v_histo(&vals, "weights", -1, 3, lim, cnt, 3);
	event(&f, T0 + 5.5, 5, &vals, 0);
	v_tensor_histo(&vals, "bias", rows, 2);
	event(&f, T0 + 6.5, 6, &vals, 0);
	v_image(&vals, "sample", PNG, sizeof PNG);
	v_image(&vals, "gif", (const uint8_t *)"GIF89a\1\0\1\0", 10); /* bad_value */
	v_simple(&vals, "_hidden", 1);                                  /* bad_tag */
	{
		bytes v = {0};
		f_str(&v, 1, "speech");
		f_bytes(&v, 6, "\x08\x01", 2); /* audio: unsupported */
		f_msg(&vals, 1, &v);
	}
	event(&f, T0 + 7.5, 7, &vals, 0);
	{
		/* two images in one TF2 tensor: "samples" and "samples/1"; a bad third one is skipped alone */
		const uint8_t *imgs[] = {PNG, PNG2, (const uint8_t *)"GIF89a\1\0\1\0"};
		const size_t lens[] = {sizeof PNG, sizeof PNG2, 10};
		v_tensor_images(&vals, "samples", imgs, lens, 3);
		event(&f, T0 + 7.7, 7, &vals, 0);
	}
	v_simple(&vals, "loss", 99);
	event(&f, T0 + 8.5, -4, &vals, 0); /* bad_step */
	v_simple(&vals, "loss", 100);
	event(&f, T0 + 100, 100, &vals, 1); /* data_crc: must not be imported */
	{
		bytes junk = {0};
		put(&junk, "\x0a\xff\xff\xff\xff\x0f", 6); /* a length-delimited field longer than the record: bad_event */
		record(&f, &junk, 0);
		free(junk.p);
	}
	v_simple(&vals, "late", 3);
	event(&f, T0 + 20, 3, &vals, 0); /* a step back: sorted into place */
	v_simple(&vals, "loss", 1000);
	event(&ev, T0 + 200, 200, &vals, 0);
	put(&f, ev.p, ev.n - 7); /* truncated in the middle of its data */
	free(ev.p);
	snprintf(dir, sizeof dir, "%s/train", logdir);
	write_file(dir, "events.out.tfevents.1700000000.host", &f);
	free(f.p);
	f = (bytes){0};

	/* eval: two files, read in name order, one run */
	v_simple(&vals, "val/loss", 0.5f);
	event(&f, T0 + 1, 0, &vals, 0);
	v_simple(&vals, "val/loss", 0.25f);
	event(&f, T0 + 6, 5, &vals, 0);
	snprintf(dir, sizeof dir, "%s/eval", logdir);
	write_file(dir, "events.out.tfevents.1700000001.host", &f);
	free(f.p);
	f = (bytes){0};
	v_simple(&vals, "val/loss", 0.125f);
	event(&f, T0 + 11, 10, &vals, 0);
	write_file(dir, "events.out.tfevents.1700000002.host", &f);
	free(f.p);
	f = (bytes){0};

	/* broken: one good record, then a length that fails its checksum (the rest is lost) */
	v_simple(&vals, "x", 1);
	event(&f, T0, 0, &vals, 0);
	v_simple(&vals, "x", 2);
	event(&f, T0 + 1, 1, &vals, 2);
	v_simple(&vals, "x", 3);
	event(&f, T0 + 2, 2, &vals, 0);
	snprintf(dir, sizeof dir, "%s/broken", logdir);
	write_file(dir, "events.out.tfevents.1700000003.host", &f);
	free(f.p);
	/* a directory without event files is no run */
	snprintf(dir, sizeof dir, "%s/notes", logdir);
	mkdir(dir, 0755);
}

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0)
		return -1;
	if (wbt_mkdtemp(tmp, sizeof(tmp), "tb") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(tmp);
	return 0;
}

/* Run the wb binary with args, stdout into out; its exit status. */
static int run_wb(char *const *args, char *out, size_t cap)
{
	char path[512];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/stdout", tmp);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(posix_spawn(&pid, wbt_wb_bin(), &fa, NULL, args, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *run_id_named(cJSON *runs, const char *name)
{
	cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(runs, "runs"))
	{
		if (strcmp(cJSON_GetObjectItem(r, "name")->valuestring, name) == 0)
			return cJSON_GetObjectItem(r, "id")->valuestring;
	}
	return NULL;
}

static cJSON *get(const char *id, const char *what)
{
	char path[1024];
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s%s", id, what);
	return wbt_get_json(&srv, path);
}

static void test_e2e_tensorboard__import(void **state)
{
	char logdir[512], wbdir[512], out[8192], path[1024];
	char *args[] = {(char *)wbt_wb_bin(), "tensorboard", "import", logdir, "--project", "tester/tb", "--dir", wbdir, NULL};
	cJSON *runs, *j, *v, *tb, *sk;
	const char *train, *eval, *broken;
	wbt_response resp;

	(void)state;
	/* the checksum of the spec's test vector, so the framing above is right */
	assert_int_equal(crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
	snprintf(logdir, sizeof logdir, "%s/logs", tmp);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir", tmp);
	make_logdir(logdir);
	assert_int_equal(run_wb(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "train: 21 scalars, 2 histograms, 3 images; skipped 8 (1 truncated, 1 data_crc, "
				    "1 bad_event, 1 bad_step, 1 bad_tag, 2 bad_value, 1 unsupported)"));
	assert_non_null(strstr(out, "eval: 3 scalars, 0 histograms, 0 images\n"));
	assert_non_null(strstr(out, "broken: 1 scalars, 0 histograms, 0 images; skipped 1 (1 length_crc)"));

	runs = wbt_get_json(&srv, "/api/v1/projects/tester/tb/runs");
	assert_non_null(runs);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(runs, "runs")), 3);
	assert_non_null(train = run_id_named(runs, "train"));
	assert_non_null(eval = run_id_named(runs, "eval"));
	assert_non_null(broken = run_id_named(runs, "broken"));

	/* train: the run, its wall times and the report of what was skipped */
	j = get(train, "");
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "finished");
	assert_true(cJSON_GetObjectItem(j, "created_at")->valuedouble == T0);
	tb = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "tensorboard");
	assert_non_null(tb);
	assert_int_equal(cJSON_GetObjectItem(tb, "records")->valueint, 20); /* the truncated one included */
	sk = cJSON_GetObjectItem(tb, "skipped");
	assert_int_equal(cJSON_GetObjectItem(sk, "truncated")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(sk, "data_crc")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(sk, "bad_event")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(sk, "bad_step")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(sk, "bad_tag")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(sk, "bad_value")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(sk, "unsupported")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(tb, "skipped_total")->valueint, 8);
	cJSON_Delete(j);

	/* scalars: TF1 loss, TF2 acc, at their steps, as float32 values; nothing from the bad records */
	j = get(train, "/history?key=loss");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 10);
	for (int s = 0; s < 10; s++) {
		assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), s)->valueint, s);
		assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), s)->valuedouble == (double)(1.0f / (float)(s + 1)));
	}
	cJSON_Delete(j);
	j = get(train, "/history?key=acc");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 10);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 7)->valuedouble == (double)(7.0f / 10.0f));
	cJSON_Delete(j);
	j = get(train, "/history?key=late");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 0)->valueint, 3);
	cJSON_Delete(j);
	/* wall_time became the _timestamp series */
	j = get(train, "/history?key=_timestamp");
	assert_non_null(j);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 0)->valuedouble == T0);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 9)->valuedouble == T0 + 9);
	cJSON_Delete(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/history?key=_hidden", train);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &resp), 0);
	assert_int_equal(resp.status, 404); /* never imported */
	wbt_response_free(&resp);

	/* histograms: HistogramProto (first edge min, last edge max, DBL_MAX limit clamped) and a TF2 tensor */
	j = get(train, "/media/histogram?key=weights");
	assert_non_null(j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 5);
	{
		const double we[4] = {-1, 0, 1, 3}, wc[3] = {2, 5, 1};
		cJSON *e = cJSON_GetObjectItem(v, "edges"), *c = cJSON_GetObjectItem(v, "counts");
		assert_int_equal(cJSON_GetArraySize(e), 4);
		for (int i = 0; i < 4; i++)
			assert_true(cJSON_GetArrayItem(e, i)->valuedouble == we[i]);
		for (int i = 0; i < 3; i++)
			assert_true(cJSON_GetArrayItem(c, i)->valuedouble == wc[i]);
	}
	assert_true(cJSON_GetObjectItem(v, "time")->valuedouble == T0 + 5.5);
	cJSON_Delete(j);
	j = get(train, "/media/histogram?key=bias");
	assert_non_null(j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 6);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "edges"), 0)->valuedouble == -2);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "edges"), 1)->valuedouble == 0);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "edges"), 2)->valuedouble == 2);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "counts"), 1)->valuedouble == 6);
	cJSON_Delete(j);

	/* the image, byte for byte */
	j = get(train, "/media/image?key=sample");
	assert_non_null(j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 7);
	assert_int_equal(cJSON_GetObjectItem(v, "width")->valueint, 1);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/images/%s", train,
		 cJSON_GetObjectItem(v, "sha256")->valuestring);
	cJSON_Delete(j);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "image/png");
	assert_int_equal(resp.len, sizeof PNG);
	assert_memory_equal(resp.body, PNG, sizeof PNG);
	wbt_response_free(&resp);
	/* a TF2 tensor of images: the first under its tag, the next under tag/1, each byte for byte */
	{
		static const struct {
			const char *key;
			const uint8_t *bytes;
			size_t len;
		} want[] = {{"samples", PNG, sizeof PNG}, {"samples%2F1", PNG2, sizeof PNG2}};
		for (size_t i = 0; i < 2; i++) {
			char q[64];
			snprintf(q, sizeof q, "/media/image?key=%s", want[i].key);
			j = get(train, q);
			assert_non_null(j);
			v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
			assert_non_null(v);
			assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 7);
			snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/images/%s", train,
				 cJSON_GetObjectItem(v, "sha256")->valuestring);
			cJSON_Delete(j);
			assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &resp), 0);
			assert_int_equal(resp.status, 200);
			assert_int_equal(resp.len, want[i].len);
			assert_memory_equal(resp.body, want[i].bytes, want[i].len);
			wbt_response_free(&resp);
		}
	}
	j = get(train, "/media");
	/* bias, weights, sample, samples, samples/1: no gif */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "media")), 5);
	cJSON_Delete(j);

	/* eval: both files in one run */
	j = get(eval, "/history?key=val%2Floss");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 3);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 2)->valueint, 10);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 2)->valuedouble == 0.125);
	cJSON_Delete(j);
	/* broken: what came before the bad length */
	j = get(broken, "/history?key=x");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 1);
	cJSON_Delete(j);
	cJSON_Delete(runs);

	/* no event files, a missing directory, bad arguments */
	{
		char empty[512];
		char *a2[] = {(char *)wbt_wb_bin(), "tensorboard", "import", empty, "--project", "tester/tb", "--dir", wbdir, NULL};
		char *a3[] = {(char *)wbt_wb_bin(), "tensorboard", "import", logdir, "--project", "../x", NULL};
		snprintf(empty, sizeof empty, "%s/logs/notes", tmp);
		assert_int_equal(run_wb(a2, out, sizeof out), 1);
		snprintf(empty, sizeof empty, "%s/nothere", tmp);
		assert_int_equal(run_wb(a2, out, sizeof out), 1);
		assert_int_equal(run_wb(a3, out, sizeof out), 2);
	}
}

static void append(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Wait (polling, at most 20 s) until the run's last step is want. */
static void wait_step(wb_run *r, int64_t want)
{
	double deadline = wbt_now() + 20;
	struct timespec poll = {0, 5000000};
	while (wb_run_step(r) != want) {
		if (wbt_now() > deadline)
			fail_msg("the follower never reached step %lld (at %lld)", (long long)want, (long long)wb_run_step(r));
		nanosleep(&poll, NULL); /* the poll interval of a condition wait */
	}
}

static void test_e2e_tensorboard__follow(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char logdir[512], sub[600], file[700], file2[700], wbdir[512], id[64], path[1024];
	bytes part = {0}, vals = {0}, rec = {0};
	double lim[2] = {1, 2}, cnt[2] = {3, 4};
	wb_run *r = NULL;
	cJSON *j;

	(void)state;
	snprintf(logdir, sizeof logdir, "%s/follow", tmp);
	snprintf(sub, sizeof sub, "%s/eval", logdir);
	snprintf(file, sizeof file, "%s/events.out.tfevents.1.host", logdir);
	snprintf(file2, sizeof file2, "%s/events.out.tfevents.2.host", sub);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir-follow", tmp);
	mkdir(logdir, 0755);
	o.project = "tb";
	o.entity = "tester";
	o.dir = wbdir;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, sizeof id, "%s", wb_run_id(r));

	for (int s = 0; s < 5; s++) {
		v_simple(&vals, "loss", (float)s);
		event(&part, T0 + s, s, &vals, 0);
	}
	append(file, part.p, part.n);
	part.n = 0;
	assert_int_equal(wb_tensorboard_follow(r, logdir, 10), WB_OK);
	assert_int_equal(wb_tensorboard_follow(r, logdir, 10), WB_ESTATE);
	wait_step(r, 4);

	/* more steps and a histogram, then half a record: read up to it, not past */
	for (int s = 5; s < 10; s++) {
		v_simple(&vals, "loss", (float)s);
		if (s == 7)
			v_histo(&vals, "w", 0, 3, lim, cnt, 2);
		event(&part, T0 + s, s, &vals, 0);
	}
	v_simple(&vals, "loss", 10);
	event(&rec, T0 + 10, 10, &vals, 0);
	put(&part, rec.p, 10);
	append(file, part.p, part.n);
	part.n = 0;
	wait_step(r, 9);
	append(file, rec.p + 10, rec.n - 10);
	wait_step(r, 10);

	/* a file in a subdirectory: its tags under "eval/" */
	mkdir(sub, 0755);
	v_simple(&vals, "val", 0.5f);
	event(&part, T0 + 11, 11, &vals, 0);
	append(file2, part.p, part.n);
	part.n = 0;
	wait_step(r, 11);
	/* a step that goes back is refused by the run; the next one is logged */
	v_simple(&vals, "loss", 3);
	event(&part, T0 + 12, 3, &vals, 0);
	v_simple(&vals, "loss", 12);
	event(&part, T0 + 12, 12, &vals, 0);
	append(file, part.p, part.n);
	wait_step(r, 12);
	/* written right before wb_finish: the last pass takes it */
	part.n = 0;
	v_simple(&vals, "loss", 13);
	event(&part, T0 + 13, 13, &vals, 0);
	append(file, part.p, part.n);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	free(part.p);
	free(rec.p);

	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/history?key=loss", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "step")), 13); /* 0..10, 12, 13 */
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 11)->valueint, 12);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 11)->valuedouble == 12);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 12)->valueint, 13);
	cJSON_Delete(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/history?key=eval%%2Fval", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 0)->valueint, 11);
	cJSON_Delete(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s/media/histogram?key=w", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0), "step")->valueint, 7);
	cJSON_Delete(j);

	/* not a directory */
	assert_int_equal(wb_init(&r, &o), WB_OK);
	assert_int_equal(wb_tensorboard_follow(r, file, 10), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tensorboard__import),
		cmocka_unit_test(test_e2e_tensorboard__follow),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

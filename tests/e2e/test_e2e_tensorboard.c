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
	return wbt_server_tmp(&srv, "", tmp, sizeof(tmp), "tb");
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
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


/* ---- what tensorboardX writes (tensorboardX/writer.py, summary.py) ---- */

/* The first record of every file a writer opens. */
static void file_version(bytes *f, double wall)
{
	bytes fv = {0};
	f_double(&fv, 1, wall);
	f_str(&fv, 3, "brain.Event:2");
	record(f, &fv, 0);
	free(fv.p);
}

/* A Summary.Value with only a tag and plugin metadata (plugin_data {plugin_name, content}). */
static void v_plugin(bytes *vals, const char *tag, const char *plugin, bytes *content, bytes *tensor)
{
	bytes v = {0}, md = {0}, pd = {0};
	f_str(&v, 1, tag);
	f_str(&pd, 1, plugin);
	if (content)
		f_msg(&pd, 2, content);
	f_msg(&md, 1, &pd);
	f_msg(&v, 9, &md);
	if (tensor)
		f_msg(&v, 8, tensor);
	f_msg(vals, 1, &v);
}

typedef struct hp {
	const char *name;
	int kind; /* 2 number, 3 string, 4 bool */
	double num;
	const char *str;
} hp;

/* add_hparams' three summaries: experiment, session_start_info (the hparams map), session_end_info. */
static void hparams_events(bytes *f, double wall, const hp *h, int n)
{
	bytes vals = {0}, c = {0}, exp = {0}, ssi = {0}, sei = {0};
	f_msg(&c, 2, &exp); /* HParamsPluginData {experiment {}} (version 0 is not written) */
	v_plugin(&vals, "_hparams_/experiment", "hparams", &c, NULL);
	event(f, wall, 0, &vals, 0);
	for (int i = 0; i < n; i++) {
		bytes e = {0}, v = {0};
		f_str(&e, 1, h[i].name);
		if (h[i].kind == 2)
			f_double(&v, 2, h[i].num);
		else if (h[i].kind == 3)
			f_str(&v, 3, h[i].str);
		else
			f_varint(&v, 4, h[i].num != 0);
		f_msg(&e, 2, &v);
		f_msg(&ssi, 1, &e);
	}
	f_msg(&c, 3, &ssi);
	v_plugin(&vals, "_hparams_/session_start_info", "hparams", &c, NULL);
	event(f, wall, 0, &vals, 0);
	f_varint(&sei, 1, 1); /* STATUS_SUCCESS */
	f_msg(&c, 4, &sei);
	v_plugin(&vals, "_hparams_/session_end_info", "hparams", &c, NULL);
	event(f, wall, 0, &vals, 0);
}

/* add_text(tag, text): tag "<tag>/text_summary", plugin "text", a DT_STRING tensor of shape [1]. */
static void v_text(bytes *vals, const char *tag, const char *text)
{
	bytes t = {0}, shape = {0}, dim = {0}, c = {0};
	char full[256];
	snprintf(full, sizeof full, "%s/text_summary", tag);
	f_varint(&t, 1, 7);
	f_varint(&dim, 1, 1);
	f_msg(&shape, 2, &dim);
	f_msg(&t, 2, &shape);
	f_str(&t, 8, text);
	v_plugin(vals, full, "text", &c, &t);
}

/* add_pr_curve's plugin, which wb does not import: a float tensor of plugin "pr_curves". */
static void v_pr_curve(bytes *vals, const char *tag)
{
	bytes t = {0};
	f_varint(&t, 1, 1);
	f_float(&t, 5, 0.5f);
	v_plugin(vals, tag, "pr_curves", NULL, &t);
}

static void append(const char *path, const uint8_t *p, size_t n);

/* Append events to dir/name (dir created). */
static void append_file(const char *dir, const char *name, bytes *b)
{
	char path[1024];
	mkdir(dir, 0755);
	assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
	append(path, b->p, b->n);
	b->n = 0;
}

/* mkdir -p for the test's directories */
static void mkdirs(const char *path)
{
	char p[700];
	snprintf(p, sizeof p, "%s", path);
	for (char *q = p + 1; *q; q++)
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	mkdir(p, 0755);
}

/*
 * A tensorboardX training directory dir (which: 1 the writer's own file, 2 the subdirectories): steps [from, to) of add_scalar("loss"), add_scalars("acc",
 * {"train", "val"}) (tensorboardX's layout acc/train/, acc/val/) and add_scalars("lr", {"group0"})
 * written as torch.utils.tensorboard lays it out (lr_group0/), each step at wall time t0 + step.
 */
static void tbx_steps(const char *dir, double t0, int from, int to, int which)
{
	static const char *const subs[] = {"acc/train", "acc/val", "lr_group0"};
	static const char *const tags[] = {"acc", "acc", "lr"};
	bytes f = {0}, vals = {0};
	char sub[700];

	if (from == 0 && (which & 1))
		file_version(&f, t0);
	for (int s = from; s < to && (which & 1); s++) {
		v_simple(&vals, "loss", 1.0f / (float)(s + 1));
		event(&f, t0 + s, s, &vals, 0);
	}
	if (which & 1)
		append_file(dir, "events.out.tfevents.1700000100.host.1.0", &f);
	for (int k = 0; k < 3 && (which & 2); k++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[k]);
		mkdirs(sub);
		if (from == 0)
			file_version(&f, t0);
		for (int s = from; s < to; s++) {
			v_simple(&vals, tags[k], (float)(k * 1000 + s));
			event(&f, t0 + s, s, &vals, 0);
		}
		append_file(sub, "events.out.tfevents.1700000100.host.1.1", &f);
	}
	free(f.p);
}

static const hp HPARAMS[] = {{"lr", 2, 0.01, NULL}, {"optimizer", 3, 0, "adam"}, {"nesterov", 4, 1, NULL},
			     {"model.depth", 2, 12, NULL}};

/* add_hparams(HPARAMS, {"hparam/accuracy": 0.875}) with no global_step: its own subdirectory, step 0. */
static void tbx_hparams(const char *dir, double wall)
{
	bytes f = {0}, vals = {0};
	char sub[700];
	snprintf(sub, sizeof sub, "%s/1700000200.5", dir);
	file_version(&f, wall);
	hparams_events(&f, wall, HPARAMS, 4);
	v_simple(&vals, "hparam/accuracy", 0.875f);
	event(&f, wall, 0, &vals, 0);
	append_file(sub, "events.out.tfevents.1700000200.host.1.2", &f);
	free(f.p);
}

/* The run's config holds HPARAMS, typed. */
static void check_config(cJSON *run)
{
	cJSON *c = cJSON_GetObjectItem(run, "config");
	assert_non_null(c);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(c, "lr")) && cJSON_GetObjectItem(c, "lr")->valuedouble == 0.01);
	assert_string_equal(cJSON_GetObjectItem(c, "optimizer")->valuestring, "adam");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "nesterov")));
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "model"), "depth")->valuedouble == 12);
}

/* key has want points, steps 0..want-1, values base + step (or 1/(step+1) for loss). */
static void check_series(const char *project, const char *id, const char *key, int want, float base)
{
	char path[1024];
	cJSON *j, *steps, *last;
	snprintf(path, sizeof path, "/api/v1/projects/tester/%s/runs/%s/history?key=%s", project, id, key);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	steps = cJSON_GetObjectItem(j, "step");
	last = cJSON_GetObjectItem(j, "last");
	if (cJSON_GetArraySize(steps) != want)
		fail_msg("%s: %d points, want %d", key, cJSON_GetArraySize(steps), want);
	for (int s = 0; s < want; s++) {
		float v = base < 0 ? 1.0f / (float)(s + 1) : base + (float)s;
		assert_int_equal(cJSON_GetArrayItem(steps, s)->valueint, s);
		assert_true(cJSON_GetArrayItem(last, s)->valuedouble == (double)v);
	}
	cJSON_Delete(j);
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


/*
 * Without --project or WB_ENTITY the runs go to the API key owner's entity
 * (as wb_run_init and wb sync choose it), not to an entity "tensorboard"
 * that the key's owner may not own.
 */
static void test_e2e_tensorboard__import_default_entity(void **state)
{
	char logdir[512], wbdir[512], out[8192], path[512], owner[128];
	char *args[] = {(char *)wbt_wb_bin(), "tensorboard", "import", logdir, "--dir", wbdir, NULL};
	cJSON *j, *runs;
	wbt_response r;

	(void)state;
	j = wbt_get_json(&srv, "/api/v1/auth/session");
	assert_non_null(j);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "user"), "name")));
	snprintf(owner, sizeof owner, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(j, "user"), "name")->valuestring);
	cJSON_Delete(j);
	assert_string_not_equal(owner, "tensorboard");
	snprintf(logdir, sizeof logdir, "%s/logs-owner", tmp);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir-owner", tmp);
	make_logdir(logdir);
	unsetenv("WB_ENTITY");
	setenv("WB_PROJECT", "tbowner", 1);
	assert_int_equal(run_wb(args, out, sizeof out), 0);
	unsetenv("WB_PROJECT");
	snprintf(path, sizeof path, "  -> %s/tbowner/", owner);
	assert_non_null(strstr(out, path));
	snprintf(path, sizeof path, "/api/v1/projects/%s/tbowner/runs", owner);
	runs = wbt_get_json(&srv, path);
	assert_non_null(runs);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(runs, "runs")), 3);
	cJSON_Delete(runs);
	assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects/tensorboard/tbowner/runs", NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 404);
	wbt_response_free(&r);
}

/*
 * What tensorboardX writes for one training (add_scalar, add_scalars in both layouts, add_hparams,
 * add_text, and two plugins wb does not import) is one run: subdirectories' series under
 * "<main_tag>/<tag>", hparams as config, the session metric under its tag, text as a table, the
 * skipped values named. Importing again adds nothing; after the files changed it is refused.
 */
static void test_e2e_tensorboard__import_tensorboardx(void **state)
{
	char logdir[512], exp[600], wbdir[512], out[8192], path[1024];
	char *args[] = {(char *)wbt_wb_bin(), "tensorboard", "import", logdir, "--project", "tester/tbx", "--dir", wbdir, NULL};
	bytes f = {0}, vals = {0};
	cJSON *runs, *j, *tb, *v;
	const char *id;
	char idbuf[64];
	double t0 = T0 + 1000;

	(void)state;
	snprintf(logdir, sizeof logdir, "%s/tbx", tmp);
	snprintf(exp, sizeof exp, "%s/exp1", logdir);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir-tbx", tmp);
	mkdirs(exp);
	tbx_steps(exp, t0, 0, 99, 3);
	tbx_hparams(exp, t0 + 200);
	v_text(&vals, "notes", "lr **0.01**, adam");
	event(&f, t0 + 5, 5, &vals, 0);
	v_pr_curve(&vals, "pr/curve");
	{
		bytes a = {0};
		f_str(&a, 1, "speech");
		f_bytes(&a, 6, "\x08\x01", 2); /* audio */
		f_msg(&vals, 1, &a);
	}
	event(&f, t0 + 6, 6, &vals, 0);
	append_file(exp, "events.out.tfevents.1700000100.host.1.0", &f);

	assert_int_equal(run_wb(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "exp1: 397 scalars, 0 histograms, 0 images, 1 texts, 4 hparams; skipped 2 (2 unsupported)"));
	assert_non_null(strstr(out, "skipped 1 x tag \"pr/curve\" (plugin pr_curves): unsupported"));
	assert_non_null(strstr(out, "skipped 1 x tag \"speech\": unsupported"));
	assert_null(strstr(out, "bad_tag"));

	runs = wbt_get_json(&srv, "/api/v1/projects/tester/tbx/runs");
	assert_non_null(runs);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(runs, "runs")), 1); /* no run per subdirectory */
	assert_non_null(id = run_id_named(runs, "exp1"));
	snprintf(idbuf, sizeof idbuf, "%s", id);
	cJSON_Delete(runs);

	check_series("tbx", idbuf, "loss", 99, -1);
	check_series("tbx", idbuf, "acc%2Ftrain", 99, 0);  /* tensorboardX: acc/train/ */
	check_series("tbx", idbuf, "acc%2Fval", 99, 1000);
	check_series("tbx", idbuf, "lr%2Fgroup0", 99, 2000); /* torch: lr_group0/ */
	check_series("tbx", idbuf, "hparam%2Faccuracy", 1, 0.875f);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbx/runs/%s", idbuf);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	check_config(j);
	tb = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "tensorboard");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(tb, "skipped"), "bad_tag"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tb, "skipped_values")), 2);
	cJSON_Delete(j);
	/* each step's time is the events' wall time */
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbx/runs/%s/history?key=_timestamp", idbuf);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 42)->valuedouble == t0 + 42);
	cJSON_Delete(j);
	/* the text, as a table at its step */
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbx/runs/%s/media/table?key=notes%%2Ftext_summary", idbuf);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_non_null(v);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 5);
	assert_true(cJSON_GetObjectItem(v, "time")->valuedouble == t0 + 5);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "table"), "columns"), 0)->valuestring,
			    "text");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "table"), "data"), 0), 0)
				->valuestring,
			    "lr **0.01**, adam");
	cJSON_Delete(j);

	/* again: the same run, nothing added */
	assert_int_equal(run_wb(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "already imported as tester/tbx/"));
	runs = wbt_get_json(&srv, "/api/v1/projects/tester/tbx/runs");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(runs, "runs")), 1);
	cJSON_Delete(runs);
	check_series("tbx", idbuf, "loss", 99, -1);
	check_series("tbx", idbuf, "acc%2Ftrain", 99, 0);

	/* training went on: refused (exit 1), the run untouched */
	tbx_steps(exp, t0, 99, 101, 3);
	assert_int_equal(run_wb(args, out, sizeof out), 1);
	runs = wbt_get_json(&srv, "/api/v1/projects/tester/tbx/runs");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(runs, "runs")), 1);
	cJSON_Delete(runs);
	check_series("tbx", idbuf, "loss", 99, -1);
	free(f.p);
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

/* Wait (polling, at most 20 s) until the file at path holds text. */
static void wait_text(const char *path, const char *text)
{
	double deadline = wbt_now() + 20;
	struct timespec poll = {0, 5000000};
	for (;;) {
		char buf[16384];
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, text))
			return;
		if (wbt_now() > deadline)
			fail_msg("never said \"%s\"; said:\n%s", text, buf);
		nanosleep(&poll, NULL); /* the poll interval of a condition wait */
	}
}

/*
 * Following what tensorboardX writes while it trains: the subdirectories' series land in the run (files
 * flushed at different times are merged by step, none refused), each point at its event's wall time,
 * hparams as config and the session metric as a summary value (written at step 0 after training), text
 * as a table. A value the run must refuse, and an unsupported one, are said on stderr when they happen.
 */
static void test_e2e_tensorboard__follow_tensorboardx(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char logdir[512], wbdir[512], errpath[512], id[64], path[1024], extra[700];
	bytes f = {0}, vals = {0};
	wb_run *r = NULL;
	cJSON *j, *v;
	double t0 = (double)time(NULL) - 60; /* recent: values are held for a lagging file, not released by age */
	int saved, fd;

	(void)state;
	snprintf(logdir, sizeof logdir, "%s/ftbx", tmp);
	snprintf(wbdir, sizeof wbdir, "%s/wbdir-ftbx", tmp);
	snprintf(errpath, sizeof errpath, "%s/ftbx.stderr", tmp);
	mkdirs(logdir);
	o.project = "tbxf";
	o.entity = "tester";
	o.dir = wbdir;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, sizeof id, "%s", wb_run_id(r));

	/* the subdirectories' writers have flushed up to step 39, the main one up to 49, and one more
	 * (acc/test) only its first record, the file version: it holds the others back at step 0 */
	tbx_steps(logdir, t0, 0, 40, 3);
	tbx_steps(logdir, t0, 40, 50, 1);
	snprintf(extra, sizeof extra, "%s/acc/test", logdir);
	mkdirs(extra);
	file_version(&f, t0);
	append_file(extra, "events.out.tfevents.1700000100.host.1.9", &f);
	assert_int_equal(wb_tensorboard_follow(r, logdir, 10), WB_OK);
	wait_step(r, 0);
	/* then they catch up, past the main one */
	for (int s = 0; s < 99; s++) {
		v_simple(&vals, "acc", (float)(3000 + s));
		event(&f, t0 + s, s, &vals, 0);
	}
	append_file(extra, "events.out.tfevents.1700000100.host.1.9", &f);
	tbx_steps(logdir, t0, 40, 99, 2);
	tbx_steps(logdir, t0, 50, 99, 1);
	wait_step(r, 98);
	/* text, an unsupported value, and a step going back: refused, and said now */
	v_text(&vals, "notes", "epoch 3: fine");
	{
		bytes a = {0};
		f_str(&a, 1, "speech");
		f_bytes(&a, 6, "\x08\x01", 2); /* audio */
		f_msg(&vals, 1, &a);
	}
	event(&f, t0 + 98, 98, &vals, 0);
	v_simple(&vals, "loss", 7);
	event(&f, t0 + 99, 10, &vals, 0);
	append_file(logdir, "events.out.tfevents.1700000100.host.1.0", &f);
	wait_text(errpath, "skipping values of tag \"speech\"");
	wait_text(errpath, "1 value refused by the run (first: loss at step 10: step 10 is below the last step 98)");
	/* add_hparams after training */
	tbx_hparams(logdir, t0 + 100);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	free(f.p);

	check_series("tbxf", id, "loss", 99, -1);
	check_series("tbxf", id, "acc%2Ftrain", 99, 0);
	check_series("tbxf", id, "acc%2Fval", 99, 1000);
	check_series("tbxf", id, "acc%2Ftest", 99, 3000);
	check_series("tbxf", id, "lr%2Fgroup0", 99, 2000);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbxf/runs/%s/history?key=_timestamp", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "step"), 42)->valueint, 42);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "last"), 42)->valuedouble == t0 + 42);
	cJSON_Delete(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbxf/runs/%s", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	check_config(j);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "hparam/accuracy");
	assert_non_null(v);
	assert_true(v->valuedouble == 0.875);
	cJSON_Delete(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/tbxf/runs/%s/media/table?key=notes%%2Ftext_summary", id);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_non_null(v);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, 98);
	assert_true(cJSON_GetObjectItem(v, "time")->valuedouble == t0 + 98);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tensorboard__import),
		cmocka_unit_test(test_e2e_tensorboard__import_default_entity),
		cmocka_unit_test(test_e2e_tensorboard__follow),
		cmocka_unit_test(test_e2e_tensorboard__import_tensorboardx),
		cmocka_unit_test(test_e2e_tensorboard__follow_tensorboardx),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

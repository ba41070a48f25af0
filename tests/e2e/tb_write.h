/*
 * tb_write.h — what the TensorBoard e2e tests (test_e2e_tensorboard.c, the
 * imports; test_e2e_tensorboard_follow.c, the followers) share: event files
 * written byte by byte from the format's specification (TFRecord framing
 * with masked CRC-32C computed bit by bit, independently of the reader's
 * table; Event/Summary protobufs field by field), tensorboardX's layouts, the
 * test server and the checks through the API. The functions are static
 * inline because each test uses a subset of them.
 */
#ifndef WBT_TB_WRITE_H
#define WBT_TB_WRITE_H

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

static inline void put(bytes *b, const void *d, size_t n)
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

static inline void put_le(bytes *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		put(b, &c, 1);
	}
}

/* protobuf: varint, key, and the field kinds used by Event */
static inline void varint(bytes *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7F);
		v >>= 7;
		if (v)
			c |= 0x80;
		put(b, &c, 1);
	} while (v);
}
static inline void key(bytes *b, unsigned field, unsigned wt) { varint(b, (uint64_t)field << 3 | wt); }
static inline void f_varint(bytes *b, unsigned field, uint64_t v) { key(b, field, 0), varint(b, v); }
static inline void f_double(bytes *b, unsigned field, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	key(b, field, 1);
	put_le(b, u, 8);
}
static inline void f_float(bytes *b, unsigned field, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	key(b, field, 5);
	put_le(b, u, 4);
}
static inline void f_bytes(bytes *b, unsigned field, const void *d, size_t n)
{
	key(b, field, 2);
	varint(b, n);
	put(b, d, n);
}
static inline void f_msg(bytes *b, unsigned field, bytes *m)
{
	f_bytes(b, field, m->p, m->n);
	free(m->p);
	*m = (bytes){0};
}
static inline void f_str(bytes *b, unsigned field, const char *s) { f_bytes(b, field, s, strlen(s)); }

/* CRC-32C bit by bit (reflected polynomial 0x82F63B78), and TFRecord's mask */
static inline uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}
static inline uint32_t masked(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

/* One TFRecord around data; corrupt: 1 flips a data checksum bit, 2 a length checksum bit. */
static inline void record(bytes *file, const bytes *data, int corrupt)
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
static inline void event(bytes *file, double wall, int64_t step, bytes *vals, int corrupt)
{
	bytes ev = {0};
	f_double(&ev, 1, wall);
	f_varint(&ev, 2, (uint64_t)step);
	if (vals)
		f_msg(&ev, 5, vals);
	record(file, &ev, corrupt);
	free(ev.p);
}

static inline void v_simple(bytes *vals, const char *tag, float x)
{
	bytes v = {0};
	f_str(&v, 1, tag);
	f_float(&v, 2, x);
	f_msg(vals, 1, &v);
}

/* TF2 scalar: tensor {dtype DT_FLOAT, tensor_shape {}, float_val x}, metadata {plugin_data {plugin_name "scalars"}} */
static inline void v_tensor_scalar(bytes *vals, const char *tag, float x)
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

static inline void v_histo(bytes *vals, const char *tag, double min, double max, const double *lim, const double *cnt, int n)
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
static inline void v_tensor_histo(bytes *vals, const char *tag, const double *rows, int k)
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

static inline void v_image(bytes *vals, const char *tag, const uint8_t *img, size_t n)
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
static inline void v_tensor_images(bytes *vals, const char *tag, const uint8_t *const *imgs, const size_t *lens, int n)
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

static inline void write_file(const char *dir, const char *name, const bytes *b)
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


#define T0 1700000000.0

static inline int setup(void **state)
{
	(void)state;
	return wbt_server_tmp(&srv, "", tmp, sizeof(tmp), "tb");
}

static inline int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
}

/* Run the wb binary with args, stdout into out; its exit status. */
static inline int run_wb(char *const *args, char *out, size_t cap)
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

static inline const char *run_id_named(cJSON *runs, const char *name)
{
	cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(runs, "runs"))
	{
		if (strcmp(cJSON_GetObjectItem(r, "name")->valuestring, name) == 0)
			return cJSON_GetObjectItem(r, "id")->valuestring;
	}
	return NULL;
}

static inline cJSON *get(const char *id, const char *what)
{
	char path[1024];
	snprintf(path, sizeof path, "/api/v1/projects/tester/tb/runs/%s%s", id, what);
	return wbt_get_json(&srv, path);
}



/* ---- what tensorboardX writes (tensorboardX/writer.py, summary.py) ---- */

/* The first record of every file a writer opens. */
static inline void file_version(bytes *f, double wall)
{
	bytes fv = {0};
	f_double(&fv, 1, wall);
	f_str(&fv, 3, "brain.Event:2");
	record(f, &fv, 0);
	free(fv.p);
}

/* A Summary.Value with only a tag and plugin metadata (plugin_data {plugin_name, content}). */
static inline void v_plugin(bytes *vals, const char *tag, const char *plugin, bytes *content, bytes *tensor)
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
static inline void hparams_events(bytes *f, double wall, const hp *h, int n)
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
static inline void v_text(bytes *vals, const char *tag, const char *text)
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
static inline void v_pr_curve(bytes *vals, const char *tag)
{
	bytes t = {0};
	f_varint(&t, 1, 1);
	f_float(&t, 5, 0.5f);
	v_plugin(vals, tag, "pr_curves", NULL, &t);
}

static inline void append(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Append events to dir/name (dir created). */
static inline void append_file(const char *dir, const char *name, bytes *b)
{
	char path[1024];
	mkdir(dir, 0755);
	assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
	append(path, b->p, b->n);
	b->n = 0;
}

/* mkdir -p for the test's directories */
static inline void mkdirs(const char *path)
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
static inline void tbx_steps(const char *dir, double t0, int from, int to, int which)
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
static inline void tbx_hparams(const char *dir, double wall)
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
static inline void check_config(cJSON *run)
{
	cJSON *c = cJSON_GetObjectItem(run, "config");
	assert_non_null(c);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(c, "lr")) && cJSON_GetObjectItem(c, "lr")->valuedouble == 0.01);
	assert_string_equal(cJSON_GetObjectItem(c, "optimizer")->valuestring, "adam");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "nesterov")));
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "model"), "depth")->valuedouble == 12);
}

/* key has want points, steps 0..want-1, values base + step (or 1/(step+1) for loss). */
static inline void check_series(const char *project, const char *id, const char *key, int want, float base)
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

/* The text logged as notes (add_text) in run id of project: a table whose first value is at step and
 * wall time; returns that value, which lives in *j (the caller frees *j). */
static inline cJSON *text_at(const char *project, const char *id, int step, double wall, cJSON **j)
{
	char path[512];
	cJSON *v;

	snprintf(path, sizeof path, "/api/v1/projects/tester/%s/runs/%s/media/table?key=notes%%2Ftext_summary", project,
		 id);
	*j = wbt_get_json(&srv, path);
	assert_non_null(*j);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(*j, "values"), 0);
	assert_non_null(v);
	assert_int_equal(cJSON_GetObjectItem(v, "step")->valueint, step);
	assert_true(cJSON_GetObjectItem(v, "time")->valuedouble == wall);
	return v;
}

#endif

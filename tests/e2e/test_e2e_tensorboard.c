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
#include "tb_write.h"

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
	v = text_at("tbx", idbuf, 5, t0 + 5, &j);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tensorboard__import),
		cmocka_unit_test(test_e2e_tensorboard__import_default_entity),
		cmocka_unit_test(test_e2e_tensorboard__import_tensorboardx),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * End-to-end: the TensorBoard followers. A run's follower (wb_init_options'
 * tensorboard directory, and the tensorboardX layout) picks up event files as
 * they grow, record by record, including new subdirectories and files, and
 * everything arrives through the API at its step and wall time. The event
 * files are written byte by byte (tb_write.h).
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
	text_at("tbxf", id, 98, t0 + 98, &j);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tensorboard__follow),
		cmocka_unit_test(test_e2e_tensorboard__follow_tensorboardx),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

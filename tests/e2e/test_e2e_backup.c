/*
 * End-to-end: `wb backup` of a live server under write load and
 * `wb restore-backup`.
 *
 * An online run logs steadily in a thread while `wb backup` copies the
 * server's data. The copy is restored into a second server's data
 * directory (refused while it is not empty, unless --force), which then
 * starts on it: the database passes PRAGMA integrity_check, and the run in
 * it is complete up to a point — every key has exactly the points of steps
 * 0..last_step, with the original's values — while the original server has
 * the whole run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "series.h"


#define MAX_STEPS 400000
#define CHUNK 2000


struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char id[64];
	atomic_int stop;
	int64_t steps;
	int rc;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int rc;

	o.entity = "ops";
	o.project = "backup";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 120000;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	rc = wb_init(&run, &o);
	pthread_mutex_lock(&w->mu);
	if (rc == WB_OK)
		snprintf(w->id, sizeof(w->id), "%s", wb_run_id(run));
	w->rc = rc;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (rc != WB_OK)
		return NULL;
	while (!atomic_load(&w->stop) && w->steps < MAX_STEPS && rc == WB_OK) {
		rc = wbt_log_series(run, w->steps, w->steps + CHUNK, 0);
		w->steps += CHUNK;
	}
	if (rc == WB_OK)
		rc = wb_finish(run, 0);
	else
		wb_finish(run, 1);
	w->rc = rc;
	return NULL;
}

static int64_t run_last_step(const wbt_server *s, const char *id)
{
	cJSON *r = wbt_get_run(s, "ops", "backup", id);
	int64_t v = -2;
	if (r) {
		cJSON *ls = cJSON_GetObjectItem(r, "last_step");
		v = cJSON_IsNumber(ls) ? (int64_t)ls->valuedouble : -1;
		cJSON_Delete(r);
	}
	return v;
}

static void test_e2e_backup__under_load(void **state)
{
	wbt_server a, b;
	struct writer w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pthread_t t;
	char dest[300], db[400], *msg = NULL;
	double deadline;
	int64_t copied;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	(void)state;

	assert_int_equal(wbt_server_start(&a, ""), 0);
	assert_int_equal(wbt_mkdtemp(dest, sizeof(dest), "backup"), 0);
	strncat(dest, "/copy", sizeof(dest) - strlen(dest) - 1);
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	pthread_mutex_lock(&w.mu);
	while (!w.id[0] && w.rc == WB_OK)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(w.rc, WB_OK);
	/* Back up once the server has part of the run. */
	deadline = wbt_now() + 60;
	while (run_last_step(&a, w.id) < 1000 && wbt_now() < deadline)
		;
	assert_true(run_last_step(&a, w.id) >= 1000);
	assert_int_equal(wbt_wbl("backup", dest, "--data", a.data, NULL), 0);
	assert_int_equal(wbt_wbl("backup", dest, "--data", a.data, NULL), 1); /* not empty now */
	atomic_store(&w.stop, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, WB_OK);
	assert_int_equal(wbt_check_series(&a, "ops", "backup", w.id, w.steps), 0);

	/* Restore into a second server's (non-empty) data directory. */
	assert_int_equal(wbt_server_start(&b, ""), 0);
	assert_int_equal(wbt_server_stop(&b), 0);
	assert_int_equal(wbt_wbl("restore-backup", dest, "--data", b.data, NULL), 1);
	assert_int_equal(wbt_wbl("restore-backup", dest, "--data", b.data, "--force", NULL), 0);
	snprintf(db, sizeof(db), "%s/wb.db", b.data);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
	(void)msg;

	/* The restored database has the first server's keys. */
	snprintf(b.key, sizeof(b.key), "%s", a.key);
	assert_int_equal(wbt_server_restart(&b), 0);
	copied = run_last_step(&b, w.id);
	print_message("backup holds steps 0..%lld of %lld\n", (long long)copied, (long long)w.steps);
	assert_true(copied >= 1000);
	assert_true(copied < w.steps);
	assert_int_equal(wbt_check_series(&b, "ops", "backup", w.id, copied + 1), 0);

	wbt_server_cleanup(&b);
	wbt_server_cleanup(&a);
	*strrchr(dest, '/') = '\0';
	wbt_rm_rf(dest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_backup__under_load),
	};
	return cmocka_run_group_tests(tests, wbt_runs_setup, wbt_runs_teardown);
}

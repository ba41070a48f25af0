/*
 * test_run.c — the run API without a server: argument and step validation,
 * disabled mode, the run lock, and wb_finish / wb_init against a server
 * that refuses connections or never answers (they must return on time,
 * with the data on disk).
 */
#include "test_sdk_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "runlog.h"

WBT_DIR_FIXTURE

static wb_run *open_run(wb_mode mode, const char *base_url, unsigned finish_ms)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.mode = mode;
	o.dir = dir;
	o.base_url = base_url;
	o.finish_timeout_ms = finish_ms;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	return run;
}

/* A loopback socket: listening (never accepting: a blackhole once the
 * backlog is set) or bound and closed (connections refused). */
static int loopback_socket(int listening, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	else {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void test_run__strerror_version(void **state)
{
	(void)state;
	for (int c = 0; c >= -13; c--) {
		assert_non_null(wb_strerror(c));
		assert_true(wb_strerror(c)[0] != '\0');
	}
	assert_string_equal(wb_strerror(WB_OK), "ok");
	assert_string_equal(wb_version(), WB_VERSION);
	assert_int_equal(wb_finish(NULL, 1), WB_OK);
	assert_int_equal(wb_init(NULL, NULL), WB_EINVAL);
	assert_string_equal(wb_run_id(NULL), "");
	assert_int_equal(wb_run_step(NULL), -1);
	assert_int_equal(wb_run_dropped(NULL), 0);
}

static void test_run__log_validation(void **state)
{
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, 0);
	char long_key[300];
	wb_metric many[WB__METRICS_MAX + 1];

	(void)state;
	memset(long_key, 'k', 256);
	long_key[256] = '\0';
	assert_int_equal(wb_run_step(run), -1);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"", 1.0}), WB_EINVAL);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"_timestamp", 1.0}), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "metric 0") != NULL);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"ok", 1.0}, {"bad\nkey", 1.0}), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "metric 1") != NULL);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {long_key, 1.0}), WB_EINVAL);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {NULL, 1.0}), WB_EINVAL);
	assert_int_equal(wb_log(run, many, 0, 0), WB_EINVAL);
	for (size_t i = 0; i <= WB__METRICS_MAX; i++)
		many[i] = (wb_metric){"m", (double)i};
	assert_int_equal(wb_log(run, many, WB__METRICS_MAX + 1, 0), WB_EINVAL);
	assert_int_equal(wb_log(run, NULL, 1, 0), WB_EINVAL);
	assert_int_equal(wb_log(NULL, many, 1, 0), WB_EINVAL);
	assert_int_equal(WB_LOG(run, -2, {"x", 1.0}), WB_EINVAL);
	assert_int_equal(wb_run_step(run), -1); /* nothing was logged */

	assert_int_equal(wb_log(run, many, WB__METRICS_MAX, WB_STEP_AUTO), WB_OK);
	assert_int_equal(wb_run_step(run), 0);
	long_key[255] = '\0';
	assert_int_equal(WB_LOG(run, 10, {long_key, 1.0}), WB_OK);
	assert_int_equal(WB_LOG(run, 10, {"x", 1.0}), WB_OK); /* equal step is fine */
	assert_int_equal(WB_LOG(run, 9, {"x", 1.0}), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "below the last step 10") != NULL);
	assert_int_equal(wb_run_step(run), 10);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"x", 1.0}), WB_OK);
	assert_int_equal(wb_run_step(run), 11);

	assert_int_equal(wb_define_metric(run, "a*b", NULL, 0), WB_EINVAL);
	assert_int_equal(wb_define_metric(run, "a**", NULL, 0), WB_EINVAL);
	assert_int_equal(wb_define_metric(run, "*", NULL, WB_SUMMARY_LAST), WB_OK);
	assert_int_equal(wb_define_metric(run, "x", "_step", 0), WB_EINVAL);
	assert_int_equal(wb_define_metric(run, "x", NULL, 1u << 8), WB_EINVAL);
	assert_int_equal(wb_define_metric(run, "x", NULL, WB_SUMMARY_NONE | WB_SUMMARY_MIN), WB_EINVAL);
	assert_int_equal(wb_define_metric(run, "x", NULL, WB_SUMMARY_NONE), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "_x", 1.0), WB_EINVAL);
	assert_int_equal(wb_summary_set_string(run, "x", NULL), WB_EINVAL);
	assert_int_equal(wb_summary_set_string(NULL, "x", "y"), WB_EINVAL);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

/* A record larger than half the buffer is refused, not dropped. */
static void test_run__record_too_large(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char *big;

	(void)state;
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.buffer_bytes = 64 * 1024;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	big = malloc(40000);
	assert_non_null(big);
	memset(big, 'a', 39999);
	big[39999] = '\0';
	assert_int_equal(wb_config_set_string(run, "big", big), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "buffer") != NULL);
	big[20000] = '\0';
	assert_int_equal(wb_config_set_string(run, "big", big), WB_OK);
	assert_int_equal(wb_run_dropped(run), 0);
	free(big);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

static void test_run__disabled(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	struct stat st;
	char wbdir[600];

	(void)state;
	o.mode = WB_MODE_DISABLED;
	o.project = "not a valid name"; /* ignored */
	snprintf(wbdir, sizeof wbdir, "%s/never", dir);
	o.dir = wbdir;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_non_null(run);
	assert_string_equal(wb_run_id(run), "");
	assert_string_equal(wb_run_name(run), "");
	assert_string_equal(wb_run_url(run), "");
	assert_string_equal(wb_run_dir(run), "");
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
	assert_int_equal(WB_LOG(run, 5, {"_bad", 1.0}), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "x", 1.0), WB_OK);
	assert_int_equal(wb_define_metric(run, "x", NULL, 0), WB_OK);
	assert_int_equal(wb_config_set_double(run, "lr", 0.1), WB_OK);
	assert_int_equal(wb_run_dropped(run), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(stat(wbdir, &st), -1); /* nothing on disk */

	setenv("WB_MODE", "disabled", 1);
	assert_int_equal(wb_init(&run, NULL), WB_OK);
	assert_string_equal(wb_run_url(run), "");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	unsetenv("WB_MODE");
}

/* A runs directory wb creates inside a repository stays out of `git status`
 * (real git); one that already existed is the user's and gets no file. */
static void test_run__runs_dir_gitignored(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char repo[600], wbdir[700], cmd[1600], out[256] = "", ign[800];
	struct stat st;
	FILE *p;
	size_t n;

	(void)state;
	snprintf(repo, sizeof repo, "%s/repo", dir);
	snprintf(cmd, sizeof cmd, "git init -q '%s' 2>&1", repo);
	assert_int_equal(system(cmd), 0);
	snprintf(wbdir, sizeof wbdir, "%s/wb", repo);
	o.mode = WB_MODE_OFFLINE;
	o.dir = wbdir;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=all", repo);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof out - 1, p);
	assert_int_equal(pclose(p), 0);
	out[n] = '\0';
	assert_string_equal(out, "");
	snprintf(ign, sizeof ign, "%s/.gitignore", wbdir);
	assert_int_equal(stat(ign, &st), 0);

	/* an existing directory is left as it is */
	snprintf(wbdir, sizeof wbdir, "%s/mine", dir);
	assert_int_equal(mkdir(wbdir, 0755), 0);
	o.dir = wbdir;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	snprintf(ign, sizeof ign, "%s/.gitignore", wbdir);
	assert_int_equal(stat(ign, &st), -1);
}

/* A live run holds its lock: a second process (here: handle) cannot open it. */
static void test_run__lock(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, 0), *other = NULL;
	char id[80];

	(void)state;
	snprintf(id, sizeof id, "%s", wb_run_id(run));
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.run_id = id;
	assert_int_equal(wb_init(&other, &o), WB_ESTATE);
	assert_null(other);
	assert_true(strstr(wb_errmsg(), "another process") != NULL);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wb_init(&other, &o), WB_OK);
	assert_int_equal(wb_finish(other, 0), WB_OK);
}

/* Finish against a server that answers nothing, or refuses: returns
 * within the timeout with WB_ETIMEOUT, and the run log has everything. */
static void finish_unreachable(int listening)
{
	char url[64], logp[600];
	int port, fd = loopback_socket(listening, &port);
	wb_run *run;
	double t0, dt;
	wbt_log log;
	int metrics = 0;

	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	run = open_run(WB_MODE_ONLINE, url, 500);
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	for (int i = 0; i < 100; i++)
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", (double)i}), WB_OK);
	t0 = wbt_now_ms();
	assert_int_equal(wb_finish(run, 0), WB_ETIMEOUT);
	dt = wbt_now_ms() - t0;
	assert_true(dt >= 450);
	assert_true(dt < 1500);
	assert_true(wb_errmsg()[0] != '\0');
	if (fd >= 0)
		close(fd);

	wbt_log_load(&log, logp);
	for (size_t i = 0; i < log.n; i++) {
		assert_int_equal(log.frames[i].seq, i + 1);
		metrics += log.frames[i].type == WB__REC_METRICS;
	}
	assert_int_equal(metrics, 100);
	assert_int_equal(log.frames[log.n - 1].type, WB__REC_FINISH);
	wbt_log_free(&log);
}

static void test_run__finish_refused(void **state)
{
	(void)state;
	finish_unreachable(0);
}

static void test_run__finish_blackholed(void **state)
{
	(void)state;
	finish_unreachable(1);
}

/* Resuming a run whose log is not here needs the server: unreachable is
 * WB_ENET within the bound, not a guess. */
static void test_run__resume_needs_server(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char url[64];
	int port;
	double t0;

	(void)state;
	loopback_socket(0, &port);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	o.mode = WB_MODE_ONLINE;
	o.dir = dir;
	o.base_url = url;
	o.run_id = "elsewhere1";
	t0 = wbt_now_ms();
	assert_int_equal(wb_init(&run, &o), WB_ENET);
	assert_true(wbt_now_ms() - t0 < 6000);
	assert_null(run);
	assert_true(strstr(wb_errmsg(), "elsewhere1") != NULL);

	/* Offline, an unknown id is a new run with that id. */
	o.mode = WB_MODE_OFFLINE;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_string_equal(wb_run_id(run), "elsewhere1");
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

/*
 * Strings the server would refuse (invalid UTF-8) or JSON it would refuse
 * (a repeated key, \u0000, 1e400) are WB_EINVAL here, so the run log never
 * holds a record that would stop the run's upload; their valid neighbours pass.
 */
static void test_run__strings_the_server_refuses(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, 0), *bad = NULL;
	wb_artifact *a = NULL;

	(void)state;
	assert_int_equal(wb_config_set_string(run, "opt", "caf\xe9"), WB_EINVAL);
	assert_int_equal(wb_config_set_int(run, "caf\xe9.lr", 1), WB_EINVAL);
	assert_int_equal(wb_config_set_string(run, "caf\xc3\xa9", "caf\xc3\xa9 \xf4\x8f\xbf\xbf"), WB_OK);
	assert_int_equal(wb_summary_set_string(run, "best", "\xed\xa0\x80"), WB_EINVAL);
	assert_int_equal(wb_summary_set_double(run, "\xc0\x80", 1.0), WB_EINVAL);
	assert_int_equal(wb_summary_set_string(run, "best", "\xc3\xa9"), WB_OK);
	assert_int_equal(wb_alert(run, WB_ALERT_INFO, "loss \xff", NULL), WB_EINVAL);
	assert_int_equal(wb_alert(run, WB_ALERT_INFO, "loss", "high \xf5"), WB_EINVAL);
	assert_int_equal(wb_log_table(run, "t", "{\"columns\":[\"a\"],\"columns\":[\"b\"],\"data\":[]}", 0), WB_EINVAL);
	assert_non_null(strstr(wb_errmsg(), "$.columns"));
	assert_int_equal(wb_log_table(run, "t", "{\"columns\":[\"a\"],\"data\":[[1e400]]}", 0), WB_EINVAL);
	assert_non_null(strstr(wb_errmsg(), "$.data[0][0]"));
	assert_int_equal(wb_log_table(run, "t", "{\"columns\":[\"a\"],\"data\":[[\"x\\u0000y\"]]}", 0), WB_EINVAL);
	assert_int_equal(wb_log_table(run, "t", "{\"columns\":[\"a\"],\"data\":[[\"\\ud83d\\ude00\"]]}", 0), WB_OK);
	assert_int_equal(wb_artifact_new(&a, "model", "model"), WB_OK);
	assert_int_equal(wb_artifact_set_metadata(a, "{\"acc\":1,\"acc\":2}"), WB_EINVAL);
	assert_non_null(strstr(wb_errmsg(), "$.acc"));
	assert_int_equal(wb_artifact_set_metadata(a, "{\"acc\":1e400}"), WB_EINVAL);
	assert_int_equal(wb_artifact_set_metadata(a, "{\"acc\":0.9}"), WB_OK);
	wb_artifact_free(a);
	assert_int_equal(wb_finish(run, 0), WB_OK);

	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.name = "caf\xe9";
	assert_int_equal(wb_init(&bad, &o), WB_EINVAL);
	assert_null(bad);
	o.name = NULL;
	o.tags = "ok,caf\xe9";
	assert_int_equal(wb_init(&bad, &o), WB_EINVAL);
	o.tags = NULL;
	o.notes = "\xc3";
	assert_int_equal(wb_init(&bad, &o), WB_EINVAL);
}

/*
 * Metrics and rich data share one step rule (wb__run_push_at): an explicit
 * step never goes below the last one, whoever logged it; WB_STEP_AUTO is
 * the next step for metrics and the current one for a histogram, image or
 * table (0 before any); each record's step becomes the run's step.
 */
static void test_run__one_step_rule(void **state)
{
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, 0);
	const double v[2] = {1.0, 2.0};

	(void)state;
	assert_int_equal(wb_log_histogram(run, "h", v, 2, WB_STEP_AUTO), WB_OK);
	assert_int_equal(wb_run_step(run), 0); /* rich data before any step: step 0 */
	assert_int_equal(WB_LOG(run, 5, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_log_histogram(run, "h", v, 2, WB_STEP_AUTO), WB_OK);
	assert_int_equal(wb_run_step(run), 5); /* beside the step's metrics */
	assert_int_equal(wb_log_histogram(run, "h", v, 2, 4), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "below the last step 5") != NULL);
	assert_int_equal(wb_log_histogram(run, "h", v, 2, -2), WB_EINVAL);
	assert_int_equal(wb_log_table(run, "t", "{\"columns\":[\"a\"],\"data\":[[1]]}", 9), WB_OK);
	assert_int_equal(wb_run_step(run), 9);
	assert_int_equal(WB_LOG(run, 8, {"loss", 1.0}), WB_EINVAL); /* the table moved the step */
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_run_step(run), 10);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run__strerror_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__log_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__one_step_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__record_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__runs_dir_gitignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__finish_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__finish_blackholed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__resume_needs_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run__strings_the_server_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

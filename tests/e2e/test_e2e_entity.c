/*
 * End-to-end: the default entity of a run is the API key owner's, against
 * a real server with an ordinary user alice (her own key) while the OS
 * login is someone else.
 *
 *  - online, no entity given: the run lands under alice (the server says
 *    who owns the key), not under the login name;
 *  - an entity given (option or WB_ENTITY) still wins;
 *  - offline, then `wb_sync`: the run.json names no entity, and the sync
 *    lands the run under alice;
 *  - the server down at wb_init: wb_init returns at once, the run goes on,
 *    and once the server is back its uploader lands it under alice;
 *  - `wb login` records alice's entity beside her key, so an offline run
 *    knows it without asking anyone;
 *  - no key at all: the login name, as before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static wbt_server srv;
static char tmp[256];
static char alice[128]; /* her API key */
static char login_name[65];

/* ---- helpers ---- */

/* The HTTP status of GET /api/v1/projects/E/P/runs/ID with the admin key. */
static long run_status(const char *ent, const char *proj, const char *id)
{
	char path[512];
	wbt_response r;
	long st;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s", ent, proj, id);
	assert_int_equal(wbt_http(&srv, "GET", path, NULL, 0, NULL, 1, &r), 0);
	st = r.status;
	wbt_response_free(&r);
	return st;
}

/* The "entity" member of DIR/run.json, or "" when it has none. */
static void run_json_entity(const char *dir, char *out, size_t cap)
{
	char path[512], text[4096] = "";
	FILE *f;
	size_t n;
	cJSON *j;
	const cJSON *e;

	snprintf(path, sizeof(path), "%s/run.json", dir);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(j = cJSON_Parse(text));
	e = cJSON_GetObjectItemCaseSensitive(j, "entity");
	snprintf(out, cap, "%s", cJSON_IsString(e) ? e->valuestring : "");
	cJSON_Delete(j);
}

/* Start a run of project proj as the environment says, log a few steps; its id and dir into id/dir. */
static wb_run *start(const char *proj, const char *entity, wb_mode mode, char id[64], char dir[512])
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.project = proj;
	o.entity = entity;
	o.mode = mode;
	o.dir = tmp;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	for (int step = 0; step < 3; step++)
		assert_int_equal(WB_LOG(run, step, {"loss", 1.0 / (step + 1)}), WB_OK);
	snprintf(id, 64, "%s", wb_run_id(run));
	snprintf(dir, 512, "%s", wb_run_dir(run));
	return run;
}

static int setup(void **state)
{
	const struct passwd *pw = getpwuid(geteuid());

	(void)state;
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(tmp, sizeof(tmp), "entity") < 0)
		return -1;
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	unsetenv("WB_ENTITY");
	snprintf(login_name, sizeof(login_name), "%s", pw && pw->pw_name ? pw->pw_name : "");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
}

/* ---- tests ---- */

static void test_e2e_entity__key_owner_online(void **state)
{
	char id[64], dir[512], url[512];
	wb_run *run;

	(void)state;
	assert_int_equal(wbt_make_user(&srv, "alice", "correct horse battery", NULL, 0, NULL, 0, alice, sizeof(alice)), 0);
	/* the point: the OS login is not alice, so the old default would put the run elsewhere */
	assert_string_not_equal(login_name, "alice");
	setenv("WB_API_KEY", alice, 1);
	run = start("ent", NULL, WB_MODE_ONLINE, id, dir);
	snprintf(url, sizeof(url), "%s/alice/ent/runs/%s", srv.url, id);
	assert_string_equal(wb_run_url(run), url);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(run_status("alice", "ent", id), 200);
	if (login_name[0])
		assert_int_equal(run_status(login_name, "ent", id), 404);
}

static void test_e2e_entity__explicit_entity_wins(void **state)
{
	char id[64], dir[512], auth[200];
	wbt_reply r;
	wb_run *run;

	(void)state;
	/* a team alice administers: an entity she may write that is not her own */
	snprintf(auth, sizeof(auth), "Bearer %s", alice);
	assert_int_equal(wbt_request(&srv, "POST", "/api/v1/teams", "{\"name\":\"alicelab\"}", auth, NULL, &r), 0);
	assert_int_equal(r.status, 201);
	wbt_reply_free(&r);
	setenv("WB_API_KEY", alice, 1);
	run = start("ent", "alicelab", WB_MODE_ONLINE, id, dir);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(run_status("alicelab", "ent", id), 200);
	assert_int_equal(run_status("alice", "ent", id), 404);
	/* WB_ENTITY too */
	setenv("WB_ENTITY", "alicelab", 1);
	run = start("ent", NULL, WB_MODE_ONLINE, id, dir);
	unsetenv("WB_ENTITY");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(run_status("alicelab", "ent", id), 200);
}

static void test_e2e_entity__offline_then_sync(void **state)
{
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	char id[64], dir[512], ent[128];
	wb_run *run;

	(void)state;
	setenv("WB_API_KEY", alice, 1);
	run = start("offl", NULL, WB_MODE_OFFLINE, id, dir);
	assert_string_equal(wb_run_url(run), ""); /* not known: nobody was asked */
	assert_int_equal(wb_finish(run, 0), WB_OK);
	run_json_entity(dir, ent, sizeof(ent));
	assert_string_equal(ent, ""); /* the key owner's, left to the upload */
	assert_int_equal(run_status("alice", "offl", id), 404);
	so.timeout_ms = 60000;
	assert_int_equal(wb_sync(dir, &so, NULL), WB_OK);
	assert_int_equal(run_status("alice", "offl", id), 200);
	if (login_name[0])
		assert_int_equal(run_status(login_name, "offl", id), 404);
}

static void test_e2e_entity__server_down_at_init(void **state)
{
	char id[64], dir[512];
	double t0, took;
	wb_run *run;

	(void)state;
	setenv("WB_API_KEY", alice, 1);
	assert_int_equal(wbt_server_stop(&srv), 0);
	t0 = wbt_now();
	run = start("down", NULL, WB_MODE_ONLINE, id, dir);
	took = wbt_now() - t0;
	fprintf(stderr, "wb_init + 3 logs with the server down: %.3f s\n", took);
	assert_true(took < 2.5); /* a refused connection is answered at once; the bound is 2 s */
	assert_string_equal(wb_run_url(run), "");
	assert_int_equal(wbt_server_restart(&srv), 0);
	/* the uploader learns the entity once the server answers, and the finish waits for the upload */
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(run_status("alice", "down", id), 200);
}

static void test_e2e_entity__login_records_entity(void **state)
{
	char cfg[400], path[512], text[4096] = "", id[64], dir[512], ent[128], *saved_cfg;
	FILE *f;
	size_t n;
	pid_t pid;
	int status;
	wb_run *run;

	(void)state;
	snprintf(cfg, sizeof(cfg), "%s/login-config", tmp);
	assert_int_equal(mkdir(cfg, 0700), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		setenv("WB_CONFIG_DIR", cfg, 1);
		execl(wbt_wb_bin(), wbt_wb_bin(), "login", "--host", srv.url, "--key", alice, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(path, sizeof(path), "%s/settings", cfg);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "\nentity=alice\n"));

	/* that settings file alone: an offline run knows its entity at once */
	saved_cfg = strdup(getenv("WB_CONFIG_DIR"));
	assert_non_null(saved_cfg);
	setenv("WB_CONFIG_DIR", cfg, 1);
	unsetenv("WB_API_KEY");
	unsetenv("WB_BASE_URL");
	run = start("login", NULL, WB_MODE_OFFLINE, id, dir);
	assert_non_null(strstr(wb_run_url(run), "/alice/login/runs/"));
	assert_int_equal(wb_finish(run, 0), WB_OK);
	run_json_entity(dir, ent, sizeof(ent));
	assert_string_equal(ent, "alice");
	setenv("WB_CONFIG_DIR", saved_cfg, 1);
	setenv("WB_BASE_URL", srv.url, 1);
	free(saved_cfg);
}

static void test_e2e_entity__no_key_keeps_login_name(void **state)
{
	char cfg[400], id[64], dir[512], ent[128], *saved_cfg;
	wb_run *run;

	(void)state;
	if (!login_name[0]) {
		WBT_SKIP("no login name for this uid");
		return;
	}
	snprintf(cfg, sizeof(cfg), "%s/empty-config", tmp);
	assert_int_equal(mkdir(cfg, 0700), 0);
	saved_cfg = strdup(getenv("WB_CONFIG_DIR"));
	assert_non_null(saved_cfg);
	setenv("WB_CONFIG_DIR", cfg, 1);
	unsetenv("WB_API_KEY");
	run = start("anon", NULL, WB_MODE_OFFLINE, id, dir);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	run_json_entity(dir, ent, sizeof(ent));
	assert_string_equal(ent, login_name);
	setenv("WB_CONFIG_DIR", saved_cfg, 1);
	free(saved_cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_entity__key_owner_online),
	    cmocka_unit_test(test_e2e_entity__explicit_entity_wins),
	    cmocka_unit_test(test_e2e_entity__offline_then_sync),
	    cmocka_unit_test(test_e2e_entity__server_down_at_init),
	    cmocka_unit_test(test_e2e_entity__login_records_entity),
	    cmocka_unit_test(test_e2e_entity__no_key_keeps_login_name),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}

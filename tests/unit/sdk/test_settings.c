/*
 * test_settings.c — where each setting comes from: options over
 * environment over the settings file over defaults, and validation.
 */
#include "test_sdk_helpers.h"

#include "settings.h"

static char dir[256];
static char cfg_file[512];

static int setup(void **state)
{
	(void)state;
	wbt_setup(dir, sizeof dir);
	snprintf(cfg_file, sizeof cfg_file, "%s/config/settings", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_rm_rf(dir);
	return 0;
}

/* Load the settings (o may be NULL) and check the string member at offset field: want, or NULL for none. */
static void expect_setting(const wb_init_options *o, size_t field, const char *want)
{
	wb__settings s;
	const char *got;

	assert_int_equal(wb__settings_load(&s, o), WB_OK);
	got = *(char *const *)((const char *)&s + field);
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
	wb__settings_free(&s);
}

static void test_settings__defaults(void **state)
{
	wb__settings s;

	(void)state;
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_int_equal(s.mode, WB_MODE_ONLINE);
	assert_string_equal(s.project, "uncategorized");
	assert_true(wb__name_valid(s.entity));
	assert_string_equal(s.base_url, "http://127.0.0.1:8080");
	assert_null(s.api_key);
	assert_string_equal(s.dir, "./wb");
	assert_null(s.name);
	assert_null(s.run_id);
	assert_null(s.tags);
	assert_int_equal(s.buffer_bytes, 8u << 20);
	assert_int_equal(s.finish_timeout_ms, 30000);
	assert_int_equal(s.heartbeat_ms, 10000);
	wb__settings_free(&s);
}

static void test_settings__file(void **state)
{
	wb__settings s;

	(void)state;
	wbt_write_file(cfg_file, "# written by wb server\nbase_url = http://file.example:9/ \r\napi_key=file-key\nother=1\n");
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.base_url, "http://file.example:9");
	assert_string_equal(s.api_key, "file-key");
	wb__settings_free(&s);
}

static void test_settings__env_over_file(void **state)
{
	wb__settings s;

	(void)state;
	wbt_write_file(cfg_file, "base_url=http://file.example:9\napi_key=file-key\n");
	setenv("WB_BASE_URL", "http://env.example:7", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.base_url, "http://env.example:7");
	assert_null(s.api_key); /* the file's key is file.example's: it never goes to env.example */
	wb__settings_free(&s);

	setenv("WB_API_KEY", "env-key", 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), "env-key");
}

/* The key of the server in use: its api_key@URL line wins over the default api_key. */
static void test_settings__key_per_server(void **state)
{
	wb__settings s;

	(void)state;
	wbt_write_file(cfg_file, "api_key@http://team.example:8080/ = team-key\nbase_url=http://127.0.0.1:8080\n"
				 "api_key=local-key\napi_key@http://old.example:1=old-key\n");
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.base_url, "http://127.0.0.1:8080");
	assert_string_equal(s.api_key, "local-key");
	wb__settings_free(&s);

	setenv("WB_BASE_URL", "http://team.example:8080", 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), "team-key");

	setenv("WB_BASE_URL", "http://old.example:1/", 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), "old-key");

	/* a server the file has no line for gets no key at all: not the default one */
	setenv("WB_BASE_URL", "http://elsewhere.example:2", 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), NULL);
	/* unless one is named: it goes where the user points it */
	setenv("WB_API_KEY", "named-key", 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), "named-key");
	unsetenv("WB_API_KEY");
	unsetenv("WB_BASE_URL");
}

/* Which key may go where: one origin is scheme, host (any case) and port
 * (80/443 when not written); path and URL credentials do not count. */
static void test_settings__key_for_origin(void **state)
{
	static const struct {
		const char *url, *key;
	} cases[] = {
		{"http://team.example:8080", "team-key"},
		{"HTTP://Team.Example:8080/", "team-key"},
		{"http://team.example:8080/api/v1/projects/a/b/runs/c", "team-key"},
		{"http://user:pw@team.example:8080", "team-key"},
		{"https://team.example:8080", NULL},            /* another scheme */
		{"http://team.example:8081", NULL},             /* another port */
		{"http://team.example", NULL},                  /* port 80 */
		{"http://team.example.evil.org:8080", NULL},    /* another host */
		{"http://evil.org/team.example:8080", NULL},    /* the name in the path */
		{"http://team.example:8080@evil.org:8080", NULL}, /* the name as credentials */
		{"https://wb.example.org", "tls-key"},          /* 443, written or not */
		{"https://wb.example.org:443/x", "tls-key"},
		{"http://[::1]:9000", "v6-key"},
		{"http://[::1]:9001", NULL},
		{"http://127.0.0.1:8080", "local-key"},         /* the default server */
		{"http://localhost:8080", NULL},                /* the same machine by another name */
		{"ftp://team.example:8080", NULL},
		{"not a url", NULL},
	};
	char *key;

	(void)state;
	wbt_write_file(cfg_file, "base_url=http://127.0.0.1:8080/\napi_key=local-key\n"
				 "api_key@http://team.example:8080=team-key\napi_key@https://wb.example.org:443=tls-key\n"
				 "api_key@http://[::1]:9000=v6-key\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(wb__settings_key_for(cases[i].url, NULL, &key), WB_OK);
		if (cases[i].key)
			assert_string_equal(key, cases[i].key);
		else
			assert_null(key);
		free(key);
	}
	/* a key named by the caller goes anywhere */
	assert_int_equal(wb__settings_key_for("http://localhost:8080", "given", &key), WB_OK);
	assert_string_equal(key, "given");
	free(key);
	/* no base_url line: the default key is the built-in default server's */
	wbt_write_file(cfg_file, "api_key=bare-key\n");
	assert_int_equal(wb__settings_key_for("http://127.0.0.1:8080", NULL, &key), WB_OK);
	assert_string_equal(key, "bare-key");
	free(key);
	assert_int_equal(wb__settings_key_for("http://file.example:9", NULL, &key), WB_OK);
	assert_null(key);
}

/* The message for a 401 without a key names a server the file has a key
 * for, never a key. */
/* The entity beside a key in the file is that key's owner: used only with that key, and only for its
 * server; without a key the login name stays. */
static void test_settings__entity_of_the_key(void **state)
{
	wb__settings s;
	wb_init_options o = WB_INIT_OPTIONS_INIT;

	(void)state;
	wbt_write_file(cfg_file, "base_url=http://a.example:1\napi_key=key-a\nentity=alice\n"
				 "api_key@http://b.example:2=key-b\nentity@http://b.example:2=bob\n");
	expect_setting(NULL, offsetof(wb__settings, entity), "alice");
	o.base_url = "http://b.example:2";
	expect_setting(&o, offsetof(wb__settings, entity), "bob");
	/* another key for a (WB_API_KEY): its owner is not known here */
	setenv("WB_API_KEY", "key-other", 1);
	expect_setting(NULL, offsetof(wb__settings, entity), NULL);
	/* an entity given wins */
	setenv("WB_ENTITY", "team", 1);
	expect_setting(NULL, offsetof(wb__settings, entity), "team");
	unsetenv("WB_ENTITY");
	unsetenv("WB_API_KEY");
	/* an entity line that is not a name is not used */
	wbt_write_file(cfg_file, "base_url=http://a.example:1\napi_key=key-a\nentity=../x\n");
	expect_setting(NULL, offsetof(wb__settings, entity), NULL);
	/* no key: the login name, as before */
	wbt_write_file(cfg_file, "base_url=http://a.example:1\n");
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_non_null(s.entity);
	assert_true(wb__name_valid(s.entity));
	wb__settings_free(&s);
}

static void test_settings__no_key_why(void **state)
{
	char why[512];

	(void)state;
	wbt_write_file(cfg_file, "base_url=http://127.0.0.1:8080\napi_key=local-key-123\n");
	wb__settings_no_key_why("http://Other.example:9/api/v1/x", why, sizeof why);
	assert_non_null(strstr(why, "http://other.example:9"));
	assert_non_null(strstr(why, "http://127.0.0.1:8080"));
	assert_non_null(strstr(why, "only to its own server"));
	assert_null(strstr(why, "local-key-123"));
	unlink(cfg_file);
	wb__settings_no_key_why("http://other.example:9", why, sizeof why);
	assert_non_null(strstr(why, "none in the settings file"));
}

static void test_settings__options_over_env(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb__settings s;

	(void)state;
	setenv("WB_PROJECT", "env-proj", 1);
	setenv("WB_ENTITY", "env-ent", 1);
	setenv("WB_NAME", "env name", 1);
	setenv("WB_RUN_GROUP", "grp", 1);
	setenv("WB_JOB_TYPE", "train", 1);
	setenv("WB_NOTES", "some notes", 1);
	setenv("WB_TAGS", " a, b ,,c,", 1);
	setenv("WB_MODE", "offline", 1);
	setenv("WB_DIR", "/tmp/somewhere", 1);
	setenv("WB_BUFFER_BYTES", "1M", 1);
	setenv("WB_FINISH_TIMEOUT_MS", "1500", 1);
	setenv("WB_HEARTBEAT_MS", "2000", 1);
	setenv("WB_RUN_ID", "abc", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.project, "env-proj");
	assert_string_equal(s.entity, "env-ent");
	assert_string_equal(s.name, "env name");
	assert_string_equal(s.group, "grp");
	assert_string_equal(s.job_type, "train");
	assert_string_equal(s.notes, "some notes");
	assert_int_equal(s.ntags, 3);
	assert_string_equal(s.tags[0], "a");
	assert_string_equal(s.tags[1], "b");
	assert_string_equal(s.tags[2], "c");
	assert_int_equal(s.mode, WB_MODE_OFFLINE);
	assert_string_equal(s.dir, "/tmp/somewhere");
	assert_int_equal(s.buffer_bytes, 1u << 20);
	assert_int_equal(s.finish_timeout_ms, 1500);
	assert_int_equal(s.heartbeat_ms, 2000);
	assert_string_equal(s.run_id, "abc");
	wb__settings_free(&s);

	o.project = "opt-proj";
	o.mode = WB_MODE_ONLINE;
	o.buffer_bytes = 100; /* clamped up to the minimum */
	o.finish_timeout_ms = 5;
	o.tags = "x";
	assert_int_equal(wb__settings_load(&s, &o), WB_OK);
	assert_string_equal(s.project, "opt-proj");
	assert_string_equal(s.entity, "env-ent");
	assert_int_equal(s.mode, WB_MODE_ONLINE);
	assert_int_equal(s.buffer_bytes, WB__MIN_BUFFER_BYTES);
	assert_int_equal(s.finish_timeout_ms, 5);
	assert_int_equal(s.ntags, 1);
	wb__settings_free(&s);
}

static void test_settings__xdg_and_home(void **state)
{
	char path[600];

	(void)state;
	unsetenv("WB_CONFIG_DIR");
	snprintf(path, sizeof path, "%s/xdg", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/xdg/wb", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/xdg/wb/settings", dir);
	wbt_write_file(path, "api_key=xdg-key\n");
	snprintf(path, sizeof path, "%s/xdg", dir);
	setenv("XDG_CONFIG_HOME", path, 1);
	expect_setting(NULL, offsetof(wb__settings, api_key), "xdg-key");

	{
		char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
		unsetenv("XDG_CONFIG_HOME");
		snprintf(path, sizeof path, "%s/home", dir);
		mkdir(path, 0700);
		setenv("HOME", path, 1);
		snprintf(path, sizeof path, "%s/home/.config", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof path, "%s/home/.config/wb", dir);
		mkdir(path, 0700);
		snprintf(path, sizeof path, "%s/home/.config/wb/settings", dir);
		wbt_write_file(path, "api_key=home-key\n");
		expect_setting(NULL, offsetof(wb__settings, api_key), "home-key");
		if (home) {
			setenv("HOME", home, 1);
			free(home);
		}
	}
}

static void test_settings__invalid(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb__settings s;
	char tags[1024] = "";

	(void)state;
	setenv("WB_PROJECT", "bad name", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	assert_true(strstr(wb_errmsg(), "project") != NULL);
	unsetenv("WB_PROJECT");

	setenv("WB_ENTITY", ".hidden", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	unsetenv("WB_ENTITY");

	setenv("WB_MODE", "sometimes", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	unsetenv("WB_MODE");

	setenv("WB_BUFFER_BYTES", "lots", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	setenv("WB_BUFFER_BYTES", "12Q", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	unsetenv("WB_BUFFER_BYTES");

	setenv("WB_BASE_URL", "ftp://x", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_EINVAL);
	unsetenv("WB_BASE_URL");

	o.run_id = "has/slash";
	assert_int_equal(wb__settings_load(&s, &o), WB_EINVAL);
	o.run_id = NULL;
	o.mode = (wb_mode)9;
	assert_int_equal(wb__settings_load(&s, &o), WB_EINVAL);
	o.mode = WB_MODE_DEFAULT;
	o.version = 99;
	assert_int_equal(wb__settings_load(&s, &o), WB_EINVAL);
	o.version = WB_INIT_OPTIONS_VERSION;
	for (int i = 0; i < 65; i++)
		strcat(tags, "t,");
	o.tags = tags;
	assert_int_equal(wb__settings_load(&s, &o), WB_EINVAL);
}

/* Disabled mode ignores everything else, even invalid settings. */
static void test_settings__disabled(void **state)
{
	wb__settings s;

	(void)state;
	setenv("WB_MODE", "disabled", 1);
	setenv("WB_PROJECT", "bad name", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_int_equal(s.mode, WB_MODE_DISABLED);
	wb__settings_free(&s);
}

/* The API key never lands in run.json. */
static void test_settings__key_not_on_disk(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char path[600];
	uint8_t *data;
	size_t len;

	(void)state;
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.api_key = "sekrit-key-123";
	assert_int_equal(wb_init(&run, &o), WB_OK);
	wbt_run_path(path, sizeof path, run, "run.json");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	data = wbt_read_file(path, &len);
	assert_null(strstr((char *)data, "sekrit"));
	assert_non_null(strstr((char *)data, "\"base_url\""));
	free(data);
}

/* A sweep's trial launched as a distributed job (`wb agent -- mpirun ./train`):
 * the trial's run id names the group and rank 0's run, rank r's is
 * <id>-rank<r>. Without a sweep, a given run id is every rank's, as before. */
static void test_settings__sweep_under_launcher(void **state)
{
	wb__settings s;

	(void)state;
	setenv("WB_RUN_ID", "k3j9x2ab-7", 1);
	setenv("OMPI_COMM_WORLD_RANK", "2", 1);
	setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
	expect_setting(NULL, offsetof(wb__settings, run_id), "k3j9x2ab-7");

	setenv("WB_SWEEP_PARAMS", "{\"lr\":0.1}", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.run_id, "k3j9x2ab-7-rank2");
	assert_string_equal(s.group, "k3j9x2ab-7");
	assert_non_null(s.sweep.params);
	wb__settings_free(&s);

	setenv("OMPI_COMM_WORLD_RANK", "0", 1);
	assert_int_equal(wb__settings_load(&s, NULL), WB_OK);
	assert_string_equal(s.run_id, "k3j9x2ab-7");
	assert_string_equal(s.group, "k3j9x2ab-7");
	wb__settings_free(&s);
	unsetenv("OMPI_COMM_WORLD_RANK");
	unsetenv("OMPI_COMM_WORLD_SIZE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_settings__defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__env_over_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__key_per_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__key_for_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__entity_of_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__no_key_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__options_over_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__xdg_and_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__key_not_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings__sweep_under_launcher, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

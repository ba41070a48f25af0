/*
 * test_auth.c — API keys (format, hashing) and the settings file: where it
 * is, how it is written (atomically, 0600), and the first-start / later
 * start rules of wbs__auth_bootstrap against a real store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "store/store.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_auth__key_format(void **state)
{
	char a[WBS__KEY_LEN + 1], b[WBS__KEY_LEN + 1];
	(void)state;

	assert_int_equal(wbs__key_generate(a), 0);
	assert_int_equal(wbs__key_generate(b), 0);
	assert_int_equal(strlen(a), 43);
	assert_memory_equal(a, "wb_", 3);
	for (int i = 3; i < 43; i++)
		assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", a[i]));
	assert_string_not_equal(a, b);
}

static void test_auth__hash(void **state)
{
	static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	uint8_t h[32];
	(void)state;

	wbs__key_hash("abc", 3, h);
	assert_memory_equal(h, abc, 32);
}

static void test_auth__settings_path(void **state)
{
	char p[512];
	(void)state;

	setenv("WB_CONFIG_DIR", "/x/cfg", 1);
	setenv("XDG_CONFIG_HOME", "/x/xdg", 1);
	setenv("HOME", "/x/home", 1);
	assert_int_equal(wbs__settings_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/cfg/settings");
	unsetenv("WB_CONFIG_DIR");
	assert_int_equal(wbs__settings_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/xdg/wb/settings");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(wbs__settings_path(p, sizeof(p)), 0);
	assert_string_equal(p, "/x/home/.config/wb/settings");
	unsetenv("HOME");
	assert_int_equal(wbs__settings_path(p, sizeof(p)), -1);
}

static void test_auth__settings_write(void **state)
{
	char dir[] = "/tmp/wb-test-auth-XXXXXX", path[256], key[128], err[256];
	struct stat st;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/settings", dir);
	assert_int_equal(wbs__settings_write(path, "http://127.0.0.1:1", "wb_k1", NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_string_equal(slurp(path), "base_url=http://127.0.0.1:1\napi_key=wb_k1\n");
	assert_int_equal(wbs__settings_read_key(path, key, sizeof(key)), 0);
	assert_string_equal(key, "wb_k1");
	/* Update base_url only, keeping other lines (the user's own, and the key's entity). */
	f = fopen(path, "a");
	fputs("entity = bob\n", f);
	fclose(f);
	assert_int_equal(wbs__settings_write(path, "http://127.0.0.1:2", NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "api_key=wb_k1\nentity = bob\nbase_url=http://127.0.0.1:2\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/*
	 * A key for another server makes it the default and keeps the old
	 * server's key on its own line; a new key for a server replaces its
	 * line; the key owner's entity is written beside its key and moves
	 * with it; hostile values are refused and change nothing.
	 */
	assert_int_equal(wbs__settings_write(path, "http://10.0.0.9:8080", "wb_k9", "carol", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "base_url=http://10.0.0.9:8080\napi_key=wb_k9\nentity=carol\n"
					 "api_key@http://127.0.0.1:2=wb_k1\nentity@http://127.0.0.1:2=bob\n");
	assert_int_equal(wbs__settings_write(path, "http://127.0.0.1:2/", "wb_k3", "dave", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "base_url=http://127.0.0.1:2/\napi_key=wb_k3\nentity=dave\n"
					 "api_key@http://10.0.0.9:8080=wb_k9\nentity@http://10.0.0.9:8080=carol\n");
	assert_int_equal(wbs__settings_write(path, "http://x\napi_key=evil", "wb_k4", NULL, err, sizeof(err)), -1);
	assert_int_equal(wbs__settings_write(path, "http://x", "wb k4", NULL, err, sizeof(err)), -1);
	assert_int_equal(wbs__settings_write(path, "http://x", "wb_k4", "a\nb", err, sizeof(err)), -1);
	assert_non_null(strstr(slurp(path), "api_key=wb_k3\n"));
	/* Spaces around '=' are read. */
	f = fopen(path, "w");
	fputs("# comment\n  api_key =  wb_k2  \n", f);
	fclose(f);
	assert_int_equal(wbs__settings_read_key(path, key, sizeof(key)), 0);
	assert_string_equal(key, "wb_k2");
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_auth__bootstrap(void **state)
{
	char dir[] = "/tmp/wb-test-auth-XXXXXX", data[256], cfg[256], path[300], key[128], key2[128], err[256];
	wbs__store_opts o = {0};
	wbs__store *s = NULL;
	wbs__err e = {0};
	uint8_t h[32];
	int64_t uid = 0;
	uint64_t n = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(cfg, sizeof(cfg), "%s/cfg", dir);
	snprintf(path, sizeof(path), "%s/settings", cfg);
	mkdir(data, 0700);
	setenv("WB_CONFIG_DIR", cfg, 1);
	o.dir = data;
	o.sweep_interval = -1;
	assert_int_equal(wbs__store_open(&s, &o, &e), WBS__ST_OK);

	/* First start: a key, stored hashed, written to the settings file. */
	assert_int_equal(wbs__auth_bootstrap(s, "http://127.0.0.1:1111", err, sizeof(err)), 0);
	assert_int_equal(wbs__settings_read_key(path, key, sizeof(key)), 0);
	assert_int_equal(strlen(key), 43);
	wbs__key_hash(key, strlen(key), h);
	assert_int_equal(wbs__store_key_user(s, h, &uid, &e), WBS__ST_OK);
	assert_true(uid > 0);
	assert_int_equal(wbs__store_key_count(s, &n, &e), WBS__ST_OK);
	assert_int_equal(n, 1);
	wbs__key_hash("wb_wrong", 8, h);
	assert_int_equal(wbs__store_key_user(s, h, &uid, &e), WBS__ST_NOTFOUND);

	/* Later start on another port: base_url follows, key unchanged, no new key. */
	assert_int_equal(wbs__auth_bootstrap(s, "http://127.0.0.1:2222", err, sizeof(err)), 0);
	assert_non_null(strstr(slurp(path), "base_url=http://127.0.0.1:2222\n"));
	assert_int_equal(wbs__settings_read_key(path, key2, sizeof(key2)), 0);
	assert_string_equal(key, key2);
	assert_int_equal(wbs__store_key_count(s, &n, &e), WBS__ST_OK);
	assert_int_equal(n, 1);

	/* A settings file with someone else's key is left alone. */
	assert_int_equal(wbs__settings_write(path, "http://other:1", "wb_foreign", NULL, err, sizeof(err)), 0);
	assert_int_equal(wbs__auth_bootstrap(s, "http://127.0.0.1:3333", err, sizeof(err)), 0);
	{
		char want[400];
		/* the key it replaced stays, as the key of its server */
		snprintf(want, sizeof(want),
			 "base_url=http://other:1\napi_key=wb_foreign\napi_key@http://127.0.0.1:2222=%s\n"
			 "entity@http://127.0.0.1:2222=admin\n",
			 key);
		assert_string_equal(slurp(path), want);
	}

	wbs__store_close(s);
	unsetenv("WB_CONFIG_DIR");
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Passwords: scrypt with a random salt; verify accepts the right one only,
 * and anything malformed is a mismatch, never a crash. */
static void test_auth__password(void **state)
{
	char a[WBS__PASSWORD_HASH_MAX], b[WBS__PASSWORD_HASH_MAX], bad[2 * WBS__PASSWORD_HASH_MAX];
	(void)state;
	assert_int_equal(wbs__password_hash("correct horse", a), 0);
	assert_int_equal(wbs__password_hash("correct horse", b), 0);
	assert_true(strncmp(a, "scrypt$32768$8$1$", 17) == 0);
	assert_string_not_equal(a, b); /* salted */
	assert_null(strstr(a, "correct"));
	assert_int_equal(wbs__password_verify("correct horse", a), 1);
	assert_int_equal(wbs__password_verify("correct horse", b), 1);
	assert_int_equal(wbs__password_verify("correct hors", a), 0);
	assert_int_equal(wbs__password_verify("", a), 0);
	assert_int_equal(wbs__password_verify("correct horse", NULL), 0);
	assert_int_equal(wbs__password_verify("correct horse", ""), 0);
	assert_int_equal(wbs__password_verify("correct horse", "scrypt$1$8$1$AAAA$BBBB"), 0);
	assert_int_equal(wbs__password_verify("correct horse", "pbkdf2$1$x"), 0);
	/* A parameter out of range (memory bomb) is refused before hashing. */
	snprintf(bad, sizeof(bad), "scrypt$1099511627776%s", a + strlen("scrypt$32768"));
	assert_int_equal(wbs__password_verify("correct horse", bad), 0);
	/* One changed character of the hash. */
	snprintf(bad, sizeof(bad), "%s", a);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(wbs__password_verify("correct horse", bad), 0);
}

/* The quality check: libpwquality with the dictionary, the user name, and the reason said. */
static void test_auth__password_check(void **state)
{
	static const char *const weak[] = {"password", "password1", "Password123", "letmein1", "12345678",
					   "abcdefgh", "qwertyuiop", "sunshine", "alice2024x"};
	static const char *const strong[] = {"correct horse battery", "violet tractor nineteen", "x7Kq-9mPz",
					     "Tr0ub4dor&3 again"};
	char why[256];
	(void)state;

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		why[0] = '\0';
		if (wbs__password_check(weak[i], "alice", why, sizeof(why)) != 1)
			fail_msg("%s was accepted", weak[i]);
		assert_true(strlen(why) > 10); /* a reason, not an empty string */
	}
	assert_int_equal(wbs__password_check("password", "alice", why, sizeof(why)), 1);
	assert_non_null(strstr(why, "dictionary"));
	assert_int_equal(wbs__password_check("alice2024x", "alice", why, sizeof(why)), 1);
	assert_non_null(strstr(why, "user name"));
	assert_int_equal(wbs__password_check("short", "alice", why, sizeof(why)), 1);
	for (size_t i = 0; i < sizeof(strong) / sizeof(strong[0]); i++)
		if (wbs__password_check(strong[i], "alice", why, sizeof(why)) != 0)
			fail_msg("%s was refused: %s", strong[i], why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth__key_format),	cmocka_unit_test(test_auth__hash),
		cmocka_unit_test(test_auth__settings_path),	cmocka_unit_test(test_auth__settings_write),
		cmocka_unit_test(test_auth__bootstrap),
		cmocka_unit_test(test_auth__password),
		cmocka_unit_test(test_auth__password_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

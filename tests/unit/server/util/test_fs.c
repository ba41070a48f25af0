/*
 * test_fs.c — mkdir -p and directory fsync (server/util/fs.c), in a fresh
 * temporary directory: nested creation, existing parts kept, the errno a
 * caller reports when a step fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

static int is_dir(const char *p, mode_t *mode)
{
	struct stat st;
	if (stat(p, &st) || !S_ISDIR(st.st_mode))
		return 0;
	if (mode)
		*mode = st.st_mode & 0777;
	return 1;
}

static void test_fs__mkdir_p(void **state)
{
	char root[] = "/tmp/wb-test-fs-XXXXXX", p[700], f[600], *longp;
	mode_t mode = 0;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(root));
	umask(022);
	snprintf(p, sizeof(p), "%s/a/b/c", root);
	assert_int_equal(wbs__mkdir_p(p, 0750), 0);
	assert_true(is_dir(p, &mode));
	assert_int_equal(mode, 0750);
	assert_int_equal(wbs__mkdir_p(p, 0700), 0); /* there already: kept as it is */
	assert_true(is_dir(p, &mode));
	assert_int_equal(mode, 0750);
	/* the parent of a file path, not the path itself */
	snprintf(f, sizeof(f), "%s/x/y/file", root);
	assert_int_equal(wbs__mkdir_parent(f, 0750), 0);
	snprintf(p, sizeof(p), "%s/x/y", root);
	assert_true(is_dir(p, NULL));
	assert_false(is_dir(f, NULL));
	assert_int_equal(wbs__fsync_parent(f), 0);
	assert_int_equal(wbs__fsync_dir(p), 0);
	/* a file in the way: ENOTDIR, nothing made below it */
	assert_non_null(fp = fopen(f, "w"));
	fclose(fp);
	snprintf(p, sizeof(p), "%s/sub", f);
	assert_int_equal(wbs__mkdir_p(p, 0750), -1);
	assert_int_equal(errno, ENOTDIR);
	/* a missing directory cannot be fsynced: the error is reported, not ignored */
	snprintf(p, sizeof(p), "%s/none/file", root);
	assert_int_equal(wbs__fsync_parent(p), -1);
	assert_int_equal(errno, ENOENT);
	/* a path too long is refused, never cut */
	assert_non_null(longp = malloc(PATH_MAX + 16));
	memset(longp, 'a', PATH_MAX + 15);
	longp[0] = '/';
	longp[PATH_MAX + 15] = '\0';
	assert_int_equal(wbs__mkdir_p(longp, 0750), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(longp);
	assert_int_equal(wbs__mkdir_p("", 0750), -1);
	unlink(f);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs__mkdir_p),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

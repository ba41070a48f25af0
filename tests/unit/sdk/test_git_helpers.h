/*
 * test_git_helpers.h — real git repositories for the code-capture tests
 * (unit and e2e), built with the git CLI, and the tree comparison that
 * proves a restore.
 *
 * git runs through /bin/sh with GIT_CONFIG_GLOBAL=/dev/null and
 * GIT_CONFIG_NOSYSTEM=1 and fixed author/committer variables, so the
 * machine's git configuration cannot change what the tests see.
 */
#ifndef WB_TEST_GIT_HELPERS_H
#define WB_TEST_GIT_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static inline void wbg_env(void)
{
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z", 1);
	setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z", 1);
}

/* Run a shell script in dir; returns its exit status (0 = success). */
static inline int wbg_sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int wbg_sh(const char *dir, const char *fmt, ...)
{
	char *script = NULL, *cmd = NULL;
	va_list ap;
	int st;

	va_start(ap, fmt);
	assert_true(vasprintf(&script, fmt, ap) >= 0);
	va_end(ap);
	assert_true(asprintf(&cmd, "cd '%s' && { set -e; %s\n} >/dev/null 2>&1", dir, script) >= 0);
	st = system(cmd);
	free(script);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* stdout of a shell command in dir (malloc'd, trailing newline kept); asserts success. */
static inline char *wbg_out(const char *dir, const char *cmd, size_t *len)
{
	char *full = NULL, *buf = NULL;
	size_t n = 0, cap = 0;
	FILE *p;
	int st;

	assert_true(asprintf(&full, "cd '%s' && %s", dir, cmd) >= 0);
	p = popen(full, "r");
	assert_non_null(p);
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, p);
		if (got == 0)
			break;
		n += got;
	}
	st = pclose(p);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	buf[n] = '\0';
	if (len)
		*len = n;
	free(full);
	return buf;
}

/*
 * <base>/remote.git (bare, the "remote") and <base>/work: a repository with
 * text, nested, binary, executable-to-be, to-be-renamed, to-be-deleted and
 * ignored files, pushed to the remote with an upstream; then two unpushed
 * commits, then uncommitted changes of every kind: a staged and an unstaged
 * modification, a staged rename, an unstaged deletion, a binary
 * modification, an exec bit set, a file changed both staged and unstaged,
 * untracked nested text and binary files, a unicode-named file, and an
 * ignored file (which must not be captured).
 */
static inline void wbg_dirty_repo(const char *base)
{
	assert_int_equal(
		wbg_sh(base,
		       "git init -q --bare -b main remote.git && mkdir work && cd work && git init -q -b main . && "
		       "printf 'hello\\nworld\\n' > a.txt && mkdir -p dir/nested && "
		       "printf 'one\\ntwo\\nthree\\n' > dir/nested/b.txt && head -c 3000 /dev/urandom > bin.dat && "
		       "printf '#!/bin/sh\\necho hi\\n' > run.sh && "
		       "printf 'rename me\\nline2\\nline3\\nline4\\nline5\\n' > old.txt && printf 'bye\\n' > gone.txt && "
		       "printf 'both\\n' > both.txt && printf '*.log\\n' > .gitignore && "
		       "git add -A && git commit -q -m init && "
		       "git remote add origin ../remote.git && git push -q -u origin main && "
		       "printf 'unpushed 1\\n' > unpushed.txt && git add unpushed.txt && git commit -q -m 'local 1' && "
		       "head -c 500 /dev/urandom > pushed-not.bin && printf 'more\\n' >> a.txt && git add -A && "
		       "git commit -q -m 'local 2' && "
		       "printf 'hello\\nthere\\nworld\\nmore\\n' > a.txt && git add a.txt && "
		       "printf 'one\\n2\\nthree\\n' > dir/nested/b.txt && git mv old.txt new.txt && rm gone.txt && "
		       "printf '\\001\\002\\000\\377tail' >> bin.dat && chmod +x run.sh && "
		       "printf 'staged\\n' >> both.txt && git add both.txt && printf 'unstaged\\n' >> both.txt && "
		       "mkdir -p untracked/deep && printf 'new\\n' > untracked/deep/x.txt && "
		       "printf '\\000\\001binary-new' > untracked/new.bin && printf 'unicode\\n' > 'donn\xc3\xa9" "es \xc3\xa9" ".txt' && "
		       "printf 'secret log\\n' > ignored.log"),
		0);
}

/* `git add -A && git write-tree` in dir: the id of the tree the working copy would commit. */
static inline char *wbg_tree(const char *dir)
{
	char *t = wbg_out(dir, "git add -A && git write-tree", NULL);
	t[strcspn(t, "\n")] = '\0';
	return t;
}

/*
 * Assert that the working trees a and b are identical: the same tree id
 * from `git add -A && git write-tree`, and for every file git lists in a,
 * the same bytes and the same exec bit in b.
 */
static inline void wbg_assert_same_tree(const char *a, const char *b)
{
	char *ta = wbg_tree(a), *tb = wbg_tree(b), *list, *p;
	size_t n;

	assert_string_equal(ta, tb);
	list = wbg_out(a, "git ls-files -z", &n);
	for (p = list; p < list + n; p += strlen(p) + 1) {
		char pa[4096], pb[4096];
		struct stat sa, sb;
		FILE *fa, *fb;
		int ca, cb;

		snprintf(pa, sizeof pa, "%s/%s", a, p);
		snprintf(pb, sizeof pb, "%s/%s", b, p);
		assert_int_equal(lstat(pa, &sa), 0);
		if (lstat(pb, &sb) != 0)
			fail_msg("%s is missing from the restored tree", p);
		assert_int_equal(sa.st_mode & 0111 ? 1 : 0, sb.st_mode & 0111 ? 1 : 0);
		assert_int_equal(sa.st_size, sb.st_size);
		fa = fopen(pa, "rb");
		fb = fopen(pb, "rb");
		assert_non_null(fa);
		assert_non_null(fb);
		do {
			ca = fgetc(fa);
			cb = fgetc(fb);
			if (ca != cb)
				fail_msg("%s differs", p);
		} while (ca != EOF);
		fclose(fa);
		fclose(fb);
	}
	free(list);
	free(ta);
	free(tb);
}

#endif /* WB_TEST_GIT_HELPERS_H */

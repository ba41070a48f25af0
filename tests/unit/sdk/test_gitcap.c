/*
 * test_gitcap.c — code capture and restore (sdk/src/gitcap.c) on real
 * repositories built with the git CLI (test_git_helpers.h).
 *
 * The proof of a capture is a restore: the restored working tree must be
 * identical to the original (same `git add -A && git write-tree`, same bytes
 * and exec bit of every file). The captured patch is also checked against
 * what git itself prints, see test_gitcap__patch_matches_git_diff.
 */
#include "test_sdk_helpers.h"
#include "test_git_helpers.h"

#include "gitcap.h"
#include "util.h"

#define MIB (1024u * 1024u)

static char tmp[256];

static int setup(void **state)
{
	(void)state;
	wbt_setup(tmp, sizeof tmp);
	wbg_env();
	unsetenv("WB_DISABLE_GIT");
	unsetenv("WB_GIT_PATCH_MAX");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_rm_rf(tmp);
	return 0;
}

static const wb__gitpatch *patch_named(const wb__gitcap *c, const char *name)
{
	for (size_t i = 0; i < c->npatch; i++)
		if (strcmp(c->patch[i].name, name) == 0)
			return &c->patch[i];
	return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *git_line(const char *dir, const char *cmd)
{
	char *s = wbg_out(dir, cmd, NULL);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void restore_and_compare(const wb__gitcap *cap, const char *orig, const char *repo, const char *dest,
				const char *want_source)
{
	const wb__gitpatch *d = patch_named(cap, WB__PATCH_DIFF), *u = patch_named(cap, WB__PATCH_UPSTREAM);
	wb__restore_input in = {cap->code, d ? d->data : NULL, d ? d->len : 0, u ? u->data : NULL, u ? u->len : 0,
				repo};
	wb__restore_outcome out;
	int rc = wb__gitcap_restore(&in, dest, &out);

	if (rc)
		fail_msg("restore failed: %s", wb_errmsg());
	if (want_source)
		assert_string_equal(out.source, want_source);
	wbg_assert_same_tree(orig, dest);
}

/* wbg_dirty_repo under tmp, and its paths: the working tree, a restore
 * destination and the bare remote (NULL: not wanted). */
static void dirty_repo(char work[600], char dest[600], char bare[600])
{
	wbg_dirty_repo(tmp);
	snprintf(work, 600, "%s/work", tmp);
	if (dest)
		snprintf(dest, 600, "%s/restored", tmp);
	if (bare)
		snprintf(bare, 600, "%s/remote.git", tmp);
}

static void test_gitcap__dirty_tree_roundtrip(void **state)
{
	char work[600], dest[600];
	wb__gitcap cap;
	const wb__gitpatch *d;
	char *head;
	const cJSON *up;

	(void)state;
	dirty_repo(work, dest, NULL);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);

	head = git_line(work, "git rev-parse HEAD");
	assert_string_equal(str(cap.code, "commit"), head);
	assert_string_equal(str(cap.code, "branch"), "main");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cap.code, "detached")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cap.code, "dirty")));
	assert_null(cJSON_GetObjectItem(cap.code, "error"));
	up = cJSON_GetObjectItem(cap.code, "upstream");
	assert_non_null(up);
	assert_string_equal(str(up, "name"), "origin/main");
	assert_int_equal(cJSON_GetObjectItem(up, "ahead")->valueint, 2);
	d = patch_named(&cap, WB__PATCH_DIFF);
	assert_non_null(d);
	assert_non_null(patch_named(&cap, WB__PATCH_UPSTREAM));
	/* Untracked files are in, the ignored one is not. */
	assert_non_null(memmem(d->data, d->len, "untracked/deep/x.txt", 20));
	assert_non_null(memmem(d->data, d->len, "GIT binary patch", 16));
	assert_non_null(memmem(d->data, d->len, "rename from old.txt", 19));
	assert_non_null(memmem(d->data, d->len, "new mode 100755", 15));
	assert_null(memmem(d->data, d->len, "ignored.log", 11));

	/* The commit is in the recorded root: restore from there. */
	restore_and_compare(&cap, work, NULL, dest, "root");
	free(head);
	wb__gitcap_free(&cap);
}

/* The laptop is gone: only the remote (which lacks the two unpushed commits)
 * is left. merge base + upstream.patch + diff.patch rebuild the tree. */
static void test_gitcap__unpushed_from_remote(void **state)
{
	char work[600], dest[600], bare[600];
	wb__gitcap cap;

	(void)state;
	dirty_repo(work, dest, bare);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	cJSON_ReplaceItemInObject(cap.code, "root", cJSON_CreateString("/nonexistent/wb-test-root"));
	restore_and_compare(&cap, work, bare, dest, "upstream");
	wb__gitcap_free(&cap);
}

static void test_gitcap__detached_head(void **state)
{
	char work[600], dest[600];
	wb__gitcap cap;
	char *head;

	(void)state;
	dirty_repo(work, dest, NULL);
	assert_int_equal(wbg_sh(work, "git stash -q -u && git checkout -q --detach HEAD~1 && printf 'x\\n' >> a.txt && "
				      "printf 'n\\n' > fresh.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	head = git_line(work, "git rev-parse HEAD");
	assert_string_equal(str(cap.code, "commit"), head);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cap.code, "detached")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cap.code, "branch")));
	assert_null(cJSON_GetObjectItem(cap.code, "upstream"));
	restore_and_compare(&cap, work, NULL, dest, "root");
	free(head);
	wb__gitcap_free(&cap);
}

/*
 * What is compared: `git diff HEAD --binary -M` covers the tracked changes
 * (the index and the working tree against HEAD; untracked files are not
 * in it). For each text file, every line of git's output from its
 * "diff --git" header through its hunks must appear in the same order in
 * the captured diff.patch, except "index" lines (abbreviation lengths) and
 * "similarity index" (libgit2 and git score renames differently). Binary
 * bodies are not compared byte for byte (both are valid encodings of the
 * same change; zlib output differs): their header lines are, and the
 * restore tests prove the content.
 */
static void test_gitcap__patch_matches_git_diff(void **state)
{
	char work[600];
	wb__gitcap cap;
	const wb__gitpatch *d;
	char *git, *line, *save = NULL, *ours;
	const char *pos;
	int in_binary = 0, checked = 0;

	(void)state;
	dirty_repo(work, NULL, NULL);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	d = patch_named(&cap, WB__PATCH_DIFF);
	assert_non_null(d);
	ours = malloc(d->len + 1);
	assert_non_null(ours);
	memcpy(ours, d->data, d->len);
	ours[d->len] = '\0';
	git = wbg_out(work, "git -c core.quotepath=false diff HEAD --binary -M", NULL);
	pos = ours;
	for (line = strtok_r(git, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *hit;
		if (strncmp(line, "diff --git ", 11) == 0)
			in_binary = 0;
		if (strcmp(line, "GIT binary patch") == 0)
			in_binary = 1;
		if (in_binary || strncmp(line, "index ", 6) == 0 || strncmp(line, "similarity index", 16) == 0)
			continue;
		hit = strstr(pos, line);
		if (!hit)
			fail_msg("git's line is not in the captured patch (in order): %s", line);
		pos = hit + strlen(line);
		checked++;
	}
	assert_true(checked > 20);
	free(git);
	free(ours);
	wb__gitcap_free(&cap);
}

static void test_gitcap__not_a_repo(void **state)
{
	wb__gitcap cap;

	(void)state;
	assert_int_equal(wb__gitcap_collect(&cap, tmp, NULL, 10 * MIB), WB_OK);
	assert_non_null(strstr(str(cap.code, "error"), "not a git repository"));
	assert_int_equal(cap.npatch, 0);
	wb__gitcap_free(&cap);
}

static void test_gitcap__empty_repo(void **state)
{
	char work[600], dest[600];
	wb__gitcap cap;

	(void)state;
	snprintf(work, sizeof work, "%s/empty", tmp);
	snprintf(dest, sizeof dest, "%s/restored", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir empty && cd empty && git init -q -b main . && printf 'a\\n' > first.txt && "
				     "mkdir sub && printf 'b\\n' > sub/second.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cap.code, "commit")));
	assert_non_null(strstr(str(cap.code, "error"), "no commit"));
	assert_non_null(patch_named(&cap, WB__PATCH_DIFF));
	restore_and_compare(&cap, work, NULL, dest, NULL);
	wb__gitcap_free(&cap);
}

static void test_gitcap__patch_cap(void **state)
{
	char work[600];
	wb__gitcap cap;
	const cJSON *p, *om;
	const wb__gitpatch *d;

	(void)state;
	snprintf(work, sizeof work, "%s/w", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir w && cd w && git init -q -b main . && printf 'x\\n' > a.txt && git add -A && "
				     "git commit -q -m i && printf 'y\\n' > a.txt && head -c 20000 /dev/zero | tr '\\\\0' z > big.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 4096), WB_OK);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(cap.code, "patches"), 0);
	assert_non_null(p);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "truncated")));
	om = cJSON_GetObjectItem(p, "omitted");
	assert_int_equal(cJSON_GetArraySize(om), 1);
	assert_string_equal(cJSON_GetArrayItem(om, 0)->valuestring, "big.txt");
	d = patch_named(&cap, WB__PATCH_DIFF);
	assert_non_null(d);
	assert_true(d->len <= 4096);
	assert_non_null(memmem(d->data, d->len, "a.txt", 5));
	wb__gitcap_free(&cap);
}

static void test_gitcap__credentials_stripped(void **state)
{
	char work[600];
	wb__gitcap cap;
	const cJSON *r;
	int seen = 0;
	char *s;

	(void)state;
	snprintf(work, sizeof work, "%s/w", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir w && cd w && git init -q -b main . && "
				     "git remote add origin https://user:s3cr3t-tok@example.com/team/x.git && "
				     "git remote add ssh git@example.com:team/x.git"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, MIB), WB_OK);
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(cap.code, "remotes"))
	{
		if (strcmp(str(r, "name"), "origin") == 0) {
			assert_string_equal(str(r, "url"), "https://example.com/team/x.git");
			seen++;
		} else {
			assert_string_equal(str(r, "url"), "git@example.com:team/x.git");
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	s = cJSON_PrintUnformatted(cap.code);
	assert_null(strstr(s, "s3cr3t"));
	free(s);
	wb__gitcap_free(&cap);

	s = wb__url_strip_credentials("http://tok@h:8080/p?q=a@b");
	assert_string_equal(s, "http://h:8080/p?q=a@b");
	free(s);
	s = wb__url_strip_credentials("/local/path");
	assert_string_equal(s, "/local/path");
	free(s);
}

/* Restore failures are errors with a message, never a half-made tree passed off as good. */
static void test_gitcap__restore_errors(void **state)
{
	char work[600], dest[600], file[700];
	wb__gitcap cap;
	wb__restore_input in = {0};

	(void)state;
	dirty_repo(work, dest, NULL);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	in.code = cap.code;
	/* dest exists and is not empty */
	assert_int_equal(mkdir(dest, 0755), 0);
	snprintf(file, sizeof file, "%s/x", dest);
	wbt_write_file(file, "x");
	assert_int_equal(wb__gitcap_restore(&in, dest, NULL), WB_EINVAL);
	assert_non_null(strstr(wb_errmsg(), "not an empty directory"));
	wbt_rm_rf(dest);
	/* a commit no source has, and no upstream patch to fall back on */
	cJSON_ReplaceItemInObject(cap.code, "commit", cJSON_CreateString("0123456789abcdef0123456789abcdef01234567"));
	assert_int_equal(wb__gitcap_restore(&in, dest, NULL), WB_ENOTFOUND);
	assert_non_null(strstr(wb_errmsg(), "0123456789abcdef0123456789abcdef01234567"));
	wbt_rm_rf(dest);
	/* a patch that does not apply */
	cJSON_ReplaceItemInObject(cap.code, "commit", cJSON_CreateString(str(cJSON_GetObjectItem(cap.code, "upstream"), "commit")));
	in.diff = "diff --git a/nope.txt b/nope.txt\n--- a/nope.txt\n+++ b/nope.txt\n@@ -1 +1 @@\n-a\n+b\n";
	in.diff_len = strlen(in.diff);
	assert_int_equal(wb__gitcap_restore(&in, dest, NULL), WB_EIO);
	assert_non_null(strstr(wb_errmsg(), "apply diff.patch"));
	wb__gitcap_free(&cap);
}

/* A shallow clone and a repository with a submodule: the capture notes
 * them (shallow, submodules with their commits) and the run goes on. */
static void test_gitcap__shallow_and_submodule(void **state)
{
	char shallow[600], super[600];
	wb__gitcap cap;
	const cJSON *subs, *sm;

	(void)state;
	wbg_dirty_repo(tmp);
	snprintf(shallow, sizeof shallow, "%s/shallow", tmp);
	snprintf(super, sizeof super, "%s/super", tmp);
	assert_int_equal(wbg_sh(tmp, "git clone -q --depth 1 file://$PWD/remote.git shallow && printf 'z\\n' >> shallow/a.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, shallow, NULL, MIB), WB_OK);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cap.code, "shallow")));
	assert_non_null(str(cap.code, "commit"));
	assert_non_null(patch_named(&cap, WB__PATCH_DIFF));
	wb__gitcap_free(&cap);

	assert_int_equal(wbg_sh(tmp, "mkdir super && cd super && git init -q -b main . && "
				     "git -c protocol.file.allow=always submodule add -q ../remote.git lib && "
				     "git commit -q -m sub && printf 'x\\n' > top.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, super, NULL, MIB), WB_OK);
	subs = cJSON_GetObjectItem(cap.code, "submodules");
	assert_int_equal(cJSON_GetArraySize(subs), 1);
	sm = cJSON_GetArrayItem(subs, 0);
	assert_string_equal(str(sm, "path"), "lib");
	assert_non_null(str(sm, "commit"));
	assert_null(cJSON_GetObjectItem(cap.code, "error"));
	wb__gitcap_free(&cap);
}

/* The run directory under the repository is never captured. */
static void test_gitcap__run_dir_excluded(void **state)
{
	char work[600], wbdir[700];
	wb__gitcap cap;
	const wb__gitpatch *d;

	(void)state;
	snprintf(work, sizeof work, "%s/w", tmp);
	snprintf(wbdir, sizeof wbdir, "%s/wb", work);
	assert_int_equal(wbg_sh(tmp, "mkdir w && cd w && git init -q -b main . && printf 'x\\n' > a.txt && "
				     "mkdir -p wb/run-old && printf 'log' > wb/run-old/records.wbl"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, wbdir, MIB), WB_OK);
	d = patch_named(&cap, WB__PATCH_DIFF);
	assert_non_null(d);
	assert_null(memmem(d->data, d->len, "records.wbl", 11));
	wb__gitcap_free(&cap);
}

/* HEAD of the repository in dir (static buffer). */
static const char *head_of(const char *dir)
{
	static char hex[64];
	char *h = git_line(dir, "git rev-parse HEAD");

	snprintf(hex, sizeof hex, "%s", h);
	free(h);
	return hex;
}

/* A remote whose unrelated branch points at an object it does not have (a
 * hand-written packed-refs line): fetching everything fails on it, `git
 * fetch REMOTE <commit>` does not. The restore asks for the commit alone. */
static void test_gitcap__restore_despite_broken_branch(void **state)
{
	char work[600], dest[600], bare[600];
	wb__gitcap cap;
	wb__restore_input in = {0};
	wb__restore_outcome out;
	char pushed[48];

	(void)state;
	dirty_repo(work, dest, bare);
	assert_int_equal(wbg_sh(bare, "printf '%%s refs/heads/broken\\n' 1234567890123456789012345678901234567890 "
				      ">> packed-refs"),
			 0);
	/* git itself still fetches the one commit */
	assert_int_equal(wbg_sh(tmp, "git init -q probe && cd probe && git fetch -q ../remote.git main"), 0);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, MIB), WB_OK);
	assert_non_null(str(cJSON_GetObjectItem(cap.code, "upstream"), "commit"));
	snprintf(pushed, sizeof pushed, "%s", str(cJSON_GetObjectItem(cap.code, "upstream"), "commit"));
	cJSON_ReplaceItemInObject(cap.code, "commit", cJSON_CreateString(pushed));
	cJSON_DeleteItemFromObject(cap.code, "upstream");
	cJSON_ReplaceItemInObject(cap.code, "root", cJSON_CreateString("/nonexistent/wb-test-root"));
	cJSON_DeleteItemFromObject(cap.code, "remotes"); /* only --repo: its answer is the one tested */
	in.code = cap.code;
	in.repo = bare;
	if (wb__gitcap_restore(&in, dest, &out))
		fail_msg("restore failed: %s", wb_errmsg());
	assert_string_equal(out.source, "repo");
	assert_string_equal(out.head, pushed);
	assert_string_equal(head_of(dest), pushed);
	wb__gitcap_free(&cap);
}

/* A restore that fails midway (the patch does not apply) takes back what it
 * made, so the same restore with a good input then succeeds in the same place. */
static void test_gitcap__failed_restore_cleans_up(void **state)
{
	char work[600], dest[600], empty[600];
	wb__gitcap cap;
	wb__restore_input in = {0};
	struct stat st;

	(void)state;
	dirty_repo(work, dest, NULL);
	snprintf(empty, sizeof empty, "%s/was-empty", tmp);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	in.code = cap.code;
	in.diff = "diff --git a/nope.txt b/nope.txt\n--- a/nope.txt\n+++ b/nope.txt\n@@ -1 +1 @@\n-a\n+b\n";
	in.diff_len = strlen(in.diff);
	assert_int_equal(wb__gitcap_restore(&in, dest, NULL), WB_EIO);
	assert_non_null(strstr(wb_errmsg(), "apply diff.patch"));
	assert_int_not_equal(stat(dest, &st), 0); /* it did not exist: it is gone again */
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_int_equal(wb__gitcap_restore(&in, empty, NULL), WB_EIO);
	assert_int_equal(stat(empty, &st), 0); /* it existed empty: it is empty again */
	assert_int_equal(rmdir(empty), 0);
	assert_int_equal(mkdir(empty, 0755), 0);
	/* the retry in the same directories works */
	restore_and_compare(&cap, work, NULL, dest, "root");
	restore_and_compare(&cap, work, NULL, empty, "root");
	wb__gitcap_free(&cap);
}

/* Rebuilt from the merge base, HEAD is a new commit (same tree as the run's):
 * the outcome says which, next to the recorded one. */
static void test_gitcap__rebuilt_head_reported(void **state)
{
	char work[600], dest[600], bare[600], *tree_run, *tree_new;
	wb__gitcap cap;
	const wb__gitpatch *u;
	wb__restore_input in = {0};
	wb__restore_outcome out;
	const char *commit;

	(void)state;
	dirty_repo(work, dest, bare);
	assert_int_equal(wb__gitcap_collect(&cap, work, NULL, 10 * MIB), WB_OK);
	cJSON_ReplaceItemInObject(cap.code, "root", cJSON_CreateString("/nonexistent/wb-test-root"));
	commit = str(cap.code, "commit");
	u = patch_named(&cap, WB__PATCH_UPSTREAM);
	assert_non_null(u);
	in = (wb__restore_input){cap.code, NULL, 0, u->data, u->len, bare, NULL, 0};
	if (wb__gitcap_restore(&in, dest, &out))
		fail_msg("restore failed: %s", wb_errmsg());
	assert_string_equal(out.source, "upstream");
	assert_string_not_equal(out.head, commit);
	assert_string_equal(head_of(dest), out.head);
	tree_run = git_line(work, "git rev-parse HEAD^{tree}");
	tree_new = git_line(dest, "git rev-parse HEAD^{tree}");
	assert_string_equal(tree_run, tree_new);
	free(tree_run);
	free(tree_new);
	wb__gitcap_free(&cap);
}

/*
 * A superproject whose only change is inside its submodule: the submodule is
 * checked out at another commit than the gitlink and has its own
 * uncommitted changes. The capture records the checked-out commit, the URL
 * and the submodule's patch, and says dirty; the restore makes the
 * submodule at that commit with its changes. A submodule commit that no
 * source has is named, and the rest of the restore stands.
 */
static void test_gitcap__submodule_state(void **state)
{
	char super[600], dest[600], dest2[600], lib[700], rlib[700];
	wb__gitcap cap;
	wb__restore_input in = {0};
	wb__restore_outcome out;
	const cJSON *sm;
	const wb__gitpatch *sp;
	char *sub_head, *gitlink;

	(void)state;
	snprintf(super, sizeof super, "%s/super", tmp);
	snprintf(lib, sizeof lib, "%s/lib", super);
	snprintf(dest, sizeof dest, "%s/restored", tmp);
	snprintf(rlib, sizeof rlib, "%s/lib", dest);
	snprintf(dest2, sizeof dest2, "%s/restored2", tmp);
	assert_int_equal(wbg_sh(tmp, "git init -q -b main sub && cd sub && printf 'v1\\n' > s.txt && git add -A && "
				     "git commit -q -m s1 && printf 'v2\\n' > s.txt && git commit -q -am s2 && cd .. && "
				     "mkdir super && cd super && git init -q -b main . && printf 'top\\n' > top.txt && "
				     "git -c protocol.file.allow=always submodule add -q ../sub lib && git add -A && "
				     "git commit -q -m sub && cd lib && git checkout -q HEAD~1 && "
				     "printf 'local\\n' >> s.txt && printf 'new\\n' > untracked.txt"),
			 0);
	sub_head = git_line(lib, "git rev-parse HEAD");
	gitlink = git_line(super, "git rev-parse HEAD:lib");
	assert_string_not_equal(sub_head, gitlink);
	assert_int_equal(wb__gitcap_collect(&cap, super, NULL, MIB), WB_OK);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cap.code, "dirty")));
	assert_null(patch_named(&cap, WB__PATCH_DIFF)); /* the superproject itself is clean */
	sm = cJSON_GetArrayItem(cJSON_GetObjectItem(cap.code, "submodules"), 0);
	assert_non_null(sm);
	assert_string_equal(str(sm, "path"), "lib");
	assert_string_equal(str(sm, "commit"), sub_head);
	assert_string_equal(str(sm, "gitlink"), gitlink);
	assert_non_null(strstr(str(sm, "url"), "sub"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(sm, "dirty")));
	assert_string_equal(str(sm, "patch"), "submodule-0.patch");
	sp = patch_named(&cap, "submodule-0.patch");
	assert_non_null(sp);
	assert_non_null(memmem(sp->data, sp->len, "untracked.txt", 13));

	in = (wb__restore_input){cap.code, NULL, 0, NULL, 0, NULL, sp, 1};
	if (wb__gitcap_restore(&in, dest, &out))
		fail_msg("restore failed: %s", wb_errmsg());
	assert_int_equal(out.submodules, 1);
	assert_string_equal(out.notes, "");
	assert_string_equal(head_of(rlib), sub_head);
	wbg_assert_same_tree(lib, rlib);

	/* The submodule's commit exists nowhere: named, left empty, the superproject restored. */
	sm = cJSON_GetArrayItem(cJSON_GetObjectItem(cap.code, "submodules"), 0);
	cJSON_ReplaceItemInObject((cJSON *)sm, "commit", cJSON_CreateString("0123456789abcdef0123456789abcdef01234567"));
	if (wb__gitcap_restore(&in, dest2, &out))
		fail_msg("restore failed: %s", wb_errmsg());
	assert_int_equal(out.submodules, 0);
	assert_non_null(strstr(out.notes, "submodule lib: commit 0123456789abcdef0123456789abcdef01234567"));
	free(sub_head);
	free(gitlink);
	wb__gitcap_free(&cap);
}

/* The patch cap covers the submodules' patches too: together with
 * diff.patch they stay under patch_max, and what is left out is named. */
static void test_gitcap__submodule_patch_capped(void **state)
{
	char super[600], names[256];
	wb__gitcap cap;
	size_t total = 0;

	(void)state;
	snprintf(super, sizeof super, "%s/super", tmp);
	assert_int_equal(wbg_sh(tmp, "git init -q -b main sub && cd sub && printf 'v1\\n' > s.txt && git add -A && "
				     "git commit -q -m s1 && cd .. && mkdir super && cd super && git init -q -b main . && "
				     "git -c protocol.file.allow=always submodule add -q ../sub lib && git commit -q -m sub && "
				     "printf '%%03000d' 0 > top.txt && printf '%%03000d' 1 > lib/big.txt"),
			 0);
	assert_int_equal(wb__gitcap_collect(&cap, super, NULL, 4000), WB_OK);
	for (size_t i = 0; i < cap.npatch; i++)
		total += cap.patch[i].len;
	assert_true(total <= 4000);
	assert_non_null(patch_named(&cap, WB__PATCH_DIFF));
	assert_int_equal(wb__gitcap_omitted(cap.code, names, sizeof names), 1);
	assert_string_equal(names, "lib/big.txt");
	wb__gitcap_free(&cap);
}

/* wb_init in repo with stderr into errfile; returns wb_init's code. */
static int init_capturing_stderr(const char *repo, const char *errfile)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char cwd[4096];
	wb_run *run = NULL;
	int fd, saved, rc;

	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(repo), 0);
	o.mode = WB_MODE_OFFLINE;
	o.project = "p";
	o.entity = "e";
	o.system_sample_ms = -1;
	fflush(stderr);
	saved = dup(2);
	fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	rc = wb_init(&run, &o);
	if (rc == WB_OK)
		assert_int_equal(wb_finish(run, 0), WB_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(chdir(cwd), 0);
	return rc;
}

/* WB_GIT_PATCH_MAX above the maximum is clamped with a warning instead of
 * failing wb_init; files left out of the patch are named at wb_init, once. */
static void test_gitcap__patch_max_clamped_and_omitted_named(void **state)
{
	char work[600], errfile[600], *err, *first;
	size_t n;

	(void)state;
	snprintf(work, sizeof work, "%s/w", tmp);
	snprintf(errfile, sizeof errfile, "%s/stderr.txt", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir w && cd w && git init -q -b main . && printf 'x\\n' > a.txt && "
				     "git add -A && git commit -q -m init && printf '%%03000d' 0 > big-one.txt && "
				     "printf 'small\\n' > small.txt"),
			 0);
	setenv("WB_GIT_PATCH_MAX", "100G", 1);
	assert_int_equal(init_capturing_stderr(work, errfile), WB_OK);
	err = (char *)wbt_read_file(errfile, &n);
	assert_non_null(strstr(err, "above its maximum"));
	free(err);
	setenv("WB_GIT_PATCH_MAX", "1k", 1);
	assert_int_equal(init_capturing_stderr(work, errfile), WB_OK);
	unsetenv("WB_GIT_PATCH_MAX");
	err = (char *)wbt_read_file(errfile, &n);
	first = strstr(err, "left 1 file out of its patch");
	assert_non_null(first);
	assert_non_null(strstr(first, "big-one.txt"));
	assert_null(strstr(first + 1, "left 1 file out")); /* once */
	free(err);
}

/* wb_init records CODE and PATCH records; disable_git (or WB_DISABLE_GIT=1) records none. */
static void count_code(const char *repo, int disable, int *ncode, int *npatch)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char cwd[4096], log[4700];
	wb_run *run = NULL;
	wbt_log l;

	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(repo), 0);
	o.mode = WB_MODE_OFFLINE;
	o.project = "p";
	o.entity = "e";
	o.disable_git = disable;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(log, sizeof log, "%s/%s/records.wbl", repo, wb_run_dir(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(chdir(cwd), 0);
	wbt_log_load(&l, log);
	*ncode = *npatch = 0;
	for (size_t i = 0; i < l.n; i++) {
		*ncode += l.frames[i].type == WB__REC_CODE;
		*npatch += l.frames[i].type == WB__REC_PATCH;
	}
	wbt_log_free(&l);
}

static void test_gitcap__wb_init_records_and_disable(void **state)
{
	char work[600];
	int nc, np;

	(void)state;
	dirty_repo(work, NULL, NULL);
	count_code(work, 0, &nc, &np);
	assert_int_equal(nc, 1);
	assert_true(np >= 2);
	count_code(work, 1, &nc, &np);
	assert_int_equal(nc, 0);
	assert_int_equal(np, 0);
	setenv("WB_DISABLE_GIT", "1", 1);
	count_code(work, 0, &nc, &np);
	unsetenv("WB_DISABLE_GIT");
	assert_int_equal(nc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gitcap__dirty_tree_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__unpushed_from_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__detached_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__patch_matches_git_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__not_a_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__empty_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__patch_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__credentials_stripped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__run_dir_excluded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__shallow_and_submodule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__restore_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__wb_init_records_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__restore_despite_broken_branch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__failed_restore_cleans_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__rebuilt_head_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__submodule_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__submodule_patch_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitcap__patch_max_clamped_and_omitted_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * gitrestore.c — getting a run's code back (wb restore): the capture's
 * commit and patches (gitcap.c) rebuilt into a new repository. The why is
 * at the top of gitcap.c.
 */
#include "gitcap.h"

#include <assert.h>
#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "json.h"
#include "util.h"

/* ---- restore ---- */

/* Does dest not exist, or is it an empty directory? */
static int dest_usable(const char *dest)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int empty = 1;

	if (stat(dest, &st) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(st.st_mode) || !(d = opendir(dest)))
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int has_commit(git_repository *repo, const git_oid *oid)
{
	git_commit *c = NULL;
	int ok = git_commit_lookup(&c, repo, oid) == 0;

	git_commit_free(c);
	return ok;
}

/*
 * Fetch the refspecs into repo from url. 0 or a libgit2 error. libgit2 1.5
 * built with PCRE2 leaks a little memory per remote it creates (its
 * insteadOf matching); a restore creates a few, once, in a short-lived
 * command, so the tests suppress that one leak (tests/lsan-libgit2.supp).
 */
static int fetch_specs(git_repository *repo, const char *url, char **specs, size_t n)
{
	git_strarray arr = {specs, n};
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_remote *r = NULL;
	int e;

	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((e = git_remote_create_anonymous(&r, repo, url)) == 0)
		e = git_remote_fetch(r, &arr, &fo, NULL);
	git_remote_free(r);
	return e;
}

/*
 * Copy commit want and its history from the repository at path, when path
 * is one on this machine: a pack built in the source from a walk of that
 * commit alone and written into repo's pack directory. libgit2's local
 * transport lists and packs every ref of the source, so one ref pointing at
 * a missing object fails it; `git fetch PATH <commit>` does not, and
 * neither does this. 0, or a libgit2 error (not a repository, the commit
 * not in it, unreadable).
 */
static int copy_commit(git_repository *repo, const char *path, const git_oid *want)
{
	git_repository *src = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_odb *odb = NULL;
	char dir[PATH_MAX];
	int e;

	if ((size_t)snprintf(dir, sizeof dir, "%sobjects/pack", git_repository_path(repo)) >= sizeof dir)
		return GIT_ERROR;
	if ((e = git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) ||
	    (e = git_revwalk_new(&walk, src)) || (e = git_revwalk_push(walk, want)) ||
	    (e = git_packbuilder_new(&pb, src)) || (e = git_packbuilder_insert_walk(pb, walk)) ||
	    (e = git_packbuilder_write(pb, dir, 0, NULL, NULL)) || (e = git_repository_odb(&odb, repo)))
		goto done;
	e = git_odb_refresh(odb);
done:
	git_odb_free(odb);
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	git_repository_free(src);
	return e;
}

/*
 * Bring commit want into repo from url or, when url lacks it, alt (may be
 * NULL: the merge base to rebuild from). Each commit is asked for alone
 * first: copied from a repository on this machine (copy_commit), fetched
 * by its id from a server (the refspec "<id>:ref", as `git fetch URL
 * <commit>`), so a broken ref elsewhere in the source cannot fail it.
 * Every branch, tag and remote-tracking branch (under refs/wb/) is fetched
 * only when that brings neither (a server that refuses to serve an
 * unadvertised id). last receives libgit2's message of the last failure.
 */
static void fetch_wanted(git_repository *repo, const char *url, const git_oid *want, const git_oid *alt, char *last,
			 size_t cap)
{
	static char *all[] = {"+refs/heads/*:refs/wb/heads/*", "+refs/tags/*:refs/tags/*",
			      "+refs/remotes/*:refs/wb/remotes/*"};
	const git_oid *one[2] = {want, alt};
	char spec[GIT_OID_HEXSZ + 32], hex[GIT_OID_HEXSZ + 1], *sp = spec;
	struct stat st;
	int local = stat(url, &st) == 0 && S_ISDIR(st.st_mode);

	for (int i = 0; i < 2 && one[i]; i++) {
		if (has_commit(repo, one[i]))
			return;
		wb__oid_hex(hex, one[i]);
		snprintf(spec, sizeof spec, "+%s:refs/wb/%s", hex, i ? "base" : "commit");
		if (local ? copy_commit(repo, url, one[i]) : fetch_specs(repo, url, &sp, 1))
			wb__git_msg(last, cap, url);
		if (has_commit(repo, one[i]))
			return;
	}
	if (fetch_specs(repo, url, all, sizeof all / sizeof all[0]))
		wb__git_msg(last, cap, url);
}

/* Check out commit oid (force) and detach HEAD at it. */
static int checkout_detached(git_repository *repo, const git_oid *oid)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	git_commit *c = NULL;
	int rc = WB_OK;

	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_commit_lookup(&c, repo, oid) || git_checkout_tree(repo, (git_object *)c, &co) ||
	    git_repository_set_head_detached(repo, oid))
		rc = wb__git_fail(WB_EIO, "check out the commit");
	git_commit_free(c);
	return rc;
}

/* Apply patch text to the working tree. */
static int apply_workdir(git_repository *repo, const char *name, const char *text, size_t len)
{
	git_diff *diff = NULL;
	char what[96];
	int rc = WB_OK;

	snprintf(what, sizeof what, "apply %s", name);
	if (git_diff_from_buffer(&diff, text, len) || git_apply(repo, diff, GIT_APPLY_LOCATION_WORKDIR, NULL))
		rc = wb__git_fail(WB_EIO, what);
	git_diff_free(diff);
	return rc;
}

/*
 * The merge base with upstream.patch applied, as a new commit on top of it
 * (same tree as the original commit, another id), checked out detached.
 */
static int rebuild_from_base(git_repository *repo, const git_oid *base, const char *orig_hex, const char *text,
			     size_t len, git_oid *commit_oid)
{
	git_commit *bc = NULL;
	git_tree *bt = NULL, *nt = NULL;
	git_diff *diff = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid;
	char msg[160];
	int rc = WB_OK;

	snprintf(msg, sizeof msg, "wb restore: upstream.patch applied to the merge base (was commit %s)\n", orig_hex);
	if (git_commit_lookup(&bc, repo, base) || git_commit_tree(&bt, bc)) {
		rc = wb__git_fail(WB_ENOTFOUND, "read the merge base");
		goto done;
	}
	if (git_diff_from_buffer(&diff, text, len) || git_apply_to_tree(&idx, repo, bt, diff, NULL) ||
	    git_index_write_tree_to(&tree_oid, idx, repo) || git_tree_lookup(&nt, repo, &tree_oid)) {
		rc = wb__git_fail(WB_EIO, "apply upstream.patch");
		goto done;
	}
	if (git_signature_now(&sig, "wb restore", "wb-restore@localhost") ||
	    git_commit_create(commit_oid, repo, NULL, sig, sig, NULL, msg, nt, 1, (const git_commit **)&bc)) {
		rc = wb__git_fail(WB_EIO, "commit upstream.patch");
		goto done;
	}
	rc = checkout_detached(repo, commit_oid);
done:
	git_signature_free(sig);
	git_index_free(idx);
	git_diff_free(diff);
	git_tree_free(nt);
	git_tree_free(bt);
	git_commit_free(bc);
	return rc;
}

/* Write remote.<name>.url and its default fetch refspec into repo's config
 * (best effort). Not git_remote_create: see add_remotes on libgit2 1.5. */
static void remote_record(git_repository *repo, const char *name, const char *url)
{
	git_config *cfg = NULL;
	char key[300], spec[400];

	if (strlen(name) > 200 || strchr(name, '.') || git_repository_config(&cfg, repo))
		return;
	snprintf(key, sizeof key, "remote.%s.url", name);
	if (git_config_set_string(cfg, key, url) == 0) {
		snprintf(key, sizeof key, "remote.%s.fetch", name);
		snprintf(spec, sizeof spec, "+refs/heads/*:refs/remotes/%s/*", name);
		git_config_set_string(cfg, key, spec);
	}
	git_config_free(cfg);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(path);
	return 0;
}

/* Remove path and everything under it, symbolic links not followed (best effort). */
static void rm_tree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Take back what a failed restore made in dest: dest itself when it did not
 * exist before, else everything in it (it was empty), so that the same
 * command, or the suggested retry with --repo, finds dest usable.
 */
static void undo_dest(const char *dest, int existed)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (!existed) {
		rm_tree(dest);
		return;
	}
	if (!(d = opendir(dest)))
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    (size_t)snprintf(path, sizeof path, "%s/%s", dest, e->d_name) < sizeof path)
			rm_tree(path);
	closedir(d);
}

/* One line into out->notes (cut when full: the first failures matter most). */
static void note(wb__restore_outcome *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(wb__restore_outcome *out, const char *fmt, ...)
{
	size_t used = strlen(out->notes);
	va_list ap;

	if (used + 2 >= sizeof out->notes)
		return;
	va_start(ap, fmt);
	vsnprintf(out->notes + used, sizeof out->notes - used - 1, fmt, ap);
	va_end(ap);
	used = strlen(out->notes);
	out->notes[used] = '\n';
	out->notes[used + 1] = '\0';
}

/* A recorded submodule path that stays inside the restored tree: relative, no "." or ".." part. */
static int sub_path_ok(const char *p)
{
	const char *s = p;

	if (!p || !p[0] || p[0] == '/' || strlen(p) > 1024)
		return 0;
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return 1;
}

/* The patch named name among in->sub_patches, or NULL. */
static const wb__gitpatch *sub_patch(const wb__restore_input *in, const char *name)
{
	for (size_t i = 0; name && i < in->nsub_patches; i++)
		if (strcmp(in->sub_patches[i].name, name) == 0)
			return &in->sub_patches[i];
	return NULL;
}

/*
 * One recorded submodule at dest/<path>: a repository of its own there (a
 * .git directory inside it, which git accepts like an absorbed one), its
 * URL in the superproject's config as `git submodule init` writes it, the
 * recorded checked-out commit fetched from the run's own copy of it
 * (root/<path>, on this machine) or else its URL, checked out detached,
 * and its patch applied. 1 when restored; 0 with a line in out->notes and
 * the directory left empty (as `git submodule` leaves an uninitialised one)
 * when it could not be.
 */
static int restore_submodule(git_repository *repo, const wb__restore_input *in, const cJSON *sm, const char *dest,
			     const char *root, wb__restore_outcome *out)
{
	const char *path = wb__json_get_str(sm, "path"), *name = wb__json_get_str(sm, "name");
	const char *url = wb__json_get_str(sm, "url"), *hex = wb__json_get_str(sm, "commit");
	const char *pname = wb__json_get_str(sm, "patch");
	const wb__gitpatch *patch = sub_patch(in, pname);
	char dir[PATH_MAX], local[PATH_MAX], gitdir[PATH_MAX + 8], last[WB__ERRMSG_MAX] = "", key[1200];
	git_repository *sr = NULL;
	git_config *cfg = NULL;
	git_oid oid;
	struct stat st;
	int ok = 0, made = 0;

	if (!sub_path_ok(path) || (size_t)snprintf(dir, sizeof dir, "%s/%s", dest, path) >= sizeof dir) {
		note(out, "submodule %.200s: its recorded path is not a relative path inside the tree", path ? path : "?");
		goto done;
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(sm, "checked_out"))) {
		note(out, "submodule %s: was not checked out when the run started; left empty", path);
		goto done;
	}
	if (!hex || git_oid_fromstr(&oid, hex)) {
		note(out, "submodule %s: no commit recorded; left empty", path);
		goto done;
	}
	if (name && url && strlen(name) < 1000 && git_repository_config(&cfg, repo) == 0) {
		snprintf(key, sizeof key, "submodule.%s.url", name);
		git_config_set_string(cfg, key, url); /* best effort, like remote_record */
	}
	if (!dest_usable(dir)) {
		note(out, "submodule %s: %s is not empty in the restored tree; left as it is", path, dir);
		goto done;
	}
	if (git_repository_init(&sr, dir, 0)) {
		wb__git_msg(last, sizeof last, "create the repository");
		note(out, "submodule %s: %s", path, last);
		goto done;
	}
	made = 1;
	if (root && (size_t)snprintf(local, sizeof local, "%s/%s", root, path) < sizeof local &&
	    stat(local, &st) == 0 && S_ISDIR(st.st_mode))
		fetch_wanted(sr, local, &oid, NULL, last, sizeof last);
	if (!has_commit(sr, &oid) && url)
		fetch_wanted(sr, url, &oid, NULL, last, sizeof last);
	if (!has_commit(sr, &oid)) {
		note(out, "submodule %s: commit %s is in none of its sources (%s)%s%s; left empty", path, hex,
		     url ? url : "no url recorded", last[0] ? ": " : "", last);
		goto done;
	}
	if (checkout_detached(sr, &oid)) {
		note(out, "submodule %s: %s", path, wb_errmsg());
		goto done;
	}
	ok = 1;
	if (pname && !patch)
		note(out, "submodule %s: at commit %s, but its patch %s was not available: its changes are missing",
		     path, hex, pname);
	else if (patch && patch->len && apply_workdir(sr, patch->name, patch->data, patch->len))
		note(out, "submodule %s: at commit %s, but %s", path, hex, wb_errmsg());
done:
	git_config_free(cfg);
	git_repository_free(sr);
	if (made && !ok && (size_t)snprintf(gitdir, sizeof gitdir, "%s/.git", dir) < sizeof gitdir)
		rm_tree(gitdir);
	return ok;
}

int wb__gitcap_restore(const wb__restore_input *in, const char *dest, wb__restore_outcome *out)
{
	const char *commit_hex = wb__json_get_str(in->code, "commit");
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(in->code, "upstream");
	const char *base_hex = wb__json_get_str(up, "merge_base");
	const cJSON *remotes = cJSON_GetObjectItemCaseSensitive(in->code, "remotes"), *rm, *sm;
	const char *root = wb__json_get_str(in->code, "root");
	git_repository *repo = NULL;
	git_oid commit, base, head;
	wb__restore_outcome scratch;
	int rc = WB_OK, found = 0, have_base = 0, existed;
	struct stat st;

	if (!out)
		out = &scratch;
	memset(out, 0, sizeof *out);
	if (!dest_usable(dest))
		return wb__error(WB_EINVAL, "%s exists and is not an empty directory", dest);
	if (commit_hex && git_oid_fromstr(&commit, commit_hex))
		return wb__error(WB_EINVAL, "the recorded commit '%s' is not a commit id", commit_hex);
	if (!commit_hex && !in->diff_len)
		return wb__error(WB_EINVAL, "the run recorded no commit and no patch: nothing to restore");
	have_base = in->upstream_len && base_hex && git_oid_fromstr(&base, base_hex) == 0;
	existed = stat(dest, &st) == 0;
	if (root && stat(root, &st) != 0)
		root = NULL; /* not on this machine */
	git_libgit2_init();
	if (git_repository_init(&repo, dest, 0)) {
		rc = wb__git_fail(WB_EIO, "create the repository");
		goto done;
	}
	if (commit_hex) {
		const char *tried[2] = {in->repo, root};
		const char *what[2] = {"repo", "root"};
		char last[WB__ERRMSG_MAX] = "";

		for (int i = 0; i < 2 && !found; i++) {
			if (!tried[i])
				continue;
			fetch_wanted(repo, tried[i], &commit, NULL, last, sizeof last);
			if (has_commit(repo, &commit)) {
				found = 1;
				out->source = what[i];
			}
		}
		cJSON_ArrayForEach(rm, remotes)
		{
			const char *url = wb__json_get_str(rm, "url"), *name = wb__json_get_str(rm, "name");

			if (!url)
				continue;
			/* Keep the recorded remotes, for the user's next fetch. */
			if (name)
				remote_record(repo, name, url);
			if (found || (have_base && has_commit(repo, &base)))
				continue;
			fetch_wanted(repo, url, &commit, have_base ? &base : NULL, last, sizeof last);
			if (has_commit(repo, &commit)) {
				found = 1;
				out->source = "remote";
			}
		}
		head = commit;
		if (found) {
			rc = checkout_detached(repo, &commit);
		} else if (have_base && has_commit(repo, &base)) {
			out->source = "upstream";
			rc = rebuild_from_base(repo, &base, commit_hex, in->upstream, in->upstream_len, &head);
		} else {
			rc = wb__error(WB_ENOTFOUND, "commit %s is in none of the sources tried%s%s (give --repo PATH)",
				       commit_hex, last[0] ? "; last error: " : "", last);
		}
		if (rc)
			goto done;
		wb__oid_hex(out->head, &head);
	}
	if (in->diff_len && (rc = apply_workdir(repo, WB__PATCH_DIFF, in->diff, in->diff_len)))
		goto done;
	cJSON_ArrayForEach(sm, cJSON_GetObjectItemCaseSensitive(in->code, "submodules"))
		out->submodules += (size_t)restore_submodule(repo, in, sm, dest, root, out);
done:
	git_repository_free(repo);
	git_libgit2_shutdown();
	if (rc) {
		char msg[WB__ERRMSG_MAX];

		snprintf(msg, sizeof msg, "%s", wb_errmsg());
		undo_dest(dest, existed);
		wb__error_set(rc, msg);
	}
	return rc;
}

/*
 * gitcap.c — the code a run started from, and getting it back.
 *
 * A commit id alone does not reproduce a run: researchers run on dirty
 * trees, with new untracked scripts, on commits they never pushed. So the
 * capture is "commit + a patch that turns the commit into the tree as it
 * was": the working tree with the index merged in, against HEAD's tree,
 * untracked-not-ignored files included as new files, binaries as git binary
 * patches, renames detected. That is one libgit2 diff
 * (git_diff_tree_to_workdir_with_index), printed file by file so that a size
 * cap can keep whole files and name the ones it leaves out: a patch cut in
 * the middle of a file would apply to nothing.
 *
 * A commit that is only on this machine cannot be fetched a year later, so
 * when HEAD is ahead of its upstream the capture adds the upstream and a
 * second patch from the merge base to HEAD: the remote plus two patches
 * rebuild the tree even after the laptop is gone.
 *
 * The capture never fails a run: anything unreadable (no repository, an
 * unborn HEAD, a libgit2 error) becomes an "error" string in the CODE JSON
 * and the run goes on. Only out-of-memory is an error.
 *
 * Restoring fetches objects (libgit2's local transport for a path, its
 * network transports for a URL) into a new repository, checks the commit
 * out detached and applies the patches with git_apply, which handles new,
 * deleted and renamed files, modes and binary patches.
 *
 * This is the only file in libwb that includes git2.h; libgit2's errors are
 * translated to wb_error codes and one-line messages here.
 */
#include "gitcap.h"

#include <dirent.h>
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

/* "what: libgit2's message" into buf. */
static void git_msg(char *buf, size_t cap, const char *what)
{
	const git_error *e = git_error_last();

	snprintf(buf, cap, "%s: %s", what, e && e->message ? e->message : "unknown libgit2 error");
}

/* Translate a libgit2 failure into a wb error code with errmsg. */
static int git_fail(int code, const char *what)
{
	char msg[WB__ERRMSG_MAX];

	git_msg(msg, sizeof msg, what);
	return wb__error_set(code, msg);
}

static void oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
}

/* ---- capture ---- */

/* Growing patch text with a hard maximum. */
typedef struct patchbuf {
	char *p;
	size_t len, cap, max;
	int truncated;
	size_t omitted_n;
	cJSON *omitted; /* array of paths left out */
} patchbuf;

/* Append s[0..n) if it fits in max: 1 appended, 0 does not fit, -1 ENOMEM. */
static int pb_append(patchbuf *b, const char *s, size_t n)
{
	size_t need;

	if (wb__add_overflow(b->len, n, &need) || need > b->max)
		return 0;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *p;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if (!(p = realloc(b->p, cap)))
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len = need;
	return 1;
}

static int pb_omit(patchbuf *b, const char *path)
{
	b->truncated = 1;
	b->omitted_n++;
	if (cJSON_GetArraySize(b->omitted) >= (int)WB__GIT_OMITTED_MAX)
		return 0;
	return cJSON_AddItemToArray(b->omitted, cJSON_CreateString(path)) ? 0 : -1;
}

/* Is path (relative to the repository root) inside the excluded prefix? */
static int excluded(const char *path, const char *prefix)
{
	size_t n;

	if (!prefix || !prefix[0])
		return 0;
	n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*
 * Print diff into b file by file, keeping whole files while they fit.
 * WB_OK, WB_ENOMEM, or WB_EIO with *err set (a libgit2 failure).
 */
static int diff_print(git_diff *diff, patchbuf *b, const char *exclude, char *err, size_t errcap)
{
	size_t n = git_diff_num_deltas(diff);
	git_buf out = {0};
	int rc = WB_OK;

	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
		git_patch *p = NULL;
		int r;

		if (excluded(path, exclude))
			continue;
		/* Do not even read a file that alone is larger than the cap. */
		if (d->new_file.size > b->max - b->len) {
			if (pb_omit(b, path))
				goto nomem;
			continue;
		}
		if (git_patch_from_diff(&p, diff, i) || (p && git_patch_to_buf(&out, p))) {
			git_msg(err, errcap, "print the diff");
			git_patch_free(p);
			rc = WB_EIO;
			goto done;
		}
		git_patch_free(p);
		if (!out.size)
			continue;
		r = pb_append(b, out.ptr, out.size);
		git_buf_dispose(&out);
		if (r < 0 || (r == 0 && pb_omit(b, path)))
			goto nomem;
	}
done:
	git_buf_dispose(&out);
	return rc;
nomem:
	git_buf_dispose(&out);
	return WB_ENOMEM;
}

static const unsigned int DIFF_FLAGS = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
				       GIT_DIFF_SHOW_UNTRACKED_CONTENT | GIT_DIFF_SHOW_BINARY |
				       GIT_DIFF_INCLUDE_TYPECHANGE;

/* Rename detection over a diff (staged renames, and renames to untracked files). */
static int find_renames(git_diff *diff)
{
	git_diff_find_options fo = GIT_DIFF_FIND_OPTIONS_INIT;

	fo.flags = GIT_DIFF_FIND_RENAMES | GIT_DIFF_FIND_FOR_UNTRACKED;
	return git_diff_find_similar(diff, &fo);
}

/* A {name, bytes, truncated, omitted} entry for the "patches" array, and the patch itself into c. */
static int patch_keep(wb__gitcap *c, cJSON *patches, const char *name, patchbuf *b)
{
	cJSON *e = cJSON_CreateObject();

	if (!e || !cJSON_AddItemToArray(patches, e)) {
		cJSON_Delete(e);
		return WB_ENOMEM;
	}
	if (!cJSON_AddStringToObject(e, "name", name) ||
	    !cJSON_AddItemToObject(e, "bytes", wb__json_int((int64_t)b->len)) ||
	    !cJSON_AddBoolToObject(e, "truncated", b->truncated))
		return WB_ENOMEM;
	if (b->truncated) {
		if (!cJSON_AddItemToObject(e, "omitted", b->omitted) ||
		    !cJSON_AddItemToObject(e, "omitted_count", wb__json_int((int64_t)b->omitted_n)))
			return WB_ENOMEM;
		b->omitted = NULL;
	}
	c->patch[c->npatch].name = name;
	c->patch[c->npatch].data = b->p;
	c->patch[c->npatch].len = b->len;
	c->npatch++;
	b->p = NULL;
	b->len = b->cap = 0;
	return WB_OK;
}

static void pb_free(patchbuf *b)
{
	free(b->p);
	cJSON_Delete(b->omitted);
	memset(b, 0, sizeof *b);
}

static int pb_init(patchbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
	b->omitted = cJSON_CreateArray();
	return b->omitted ? WB_OK : WB_ENOMEM;
}

/* Config visitor: every remote.<name>.url into the "remotes" array. */
static int remote_cb(const git_config_entry *e, void *payload)
{
	cJSON *arr = payload, *o = NULL;
	const char *name = e->name, *dot;
	char *clean = NULL, rname[256];
	size_t n;

	if (strncasecmp(name, "remote.", 7) != 0 || !(dot = strrchr(name, '.')) || strcasecmp(dot, ".url") != 0 ||
	    dot <= name + 7 || !e->value)
		return 0;
	n = (size_t)(dot - (name + 7));
	if (n >= sizeof rname)
		return 0;
	memcpy(rname, name + 7, n);
	rname[n] = '\0';
	if (!(clean = wb__url_strip_credentials(e->value)) || !(o = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(o, "name", rname) || !cJSON_AddStringToObject(o, "url", clean) ||
	    !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		free(clean);
		return -1;
	}
	free(clean);
	return 0;
}

/*
 * The remotes, read from the repository's configuration. Not through
 * git_remote_lookup: in libgit2 1.5 built with PCRE2 (Debian 12) its
 * insteadOf matching leaks the regex match data on every call.
 */
static int add_remotes(git_repository *repo, cJSON *code)
{
	git_config *cfg = NULL, *snap = NULL;
	cJSON *arr;
	int rc = WB_OK;

	if (!(arr = cJSON_AddArrayToObject(code, "remotes")))
		return WB_ENOMEM;
	if (git_repository_config(&cfg, repo) || git_config_snapshot(&snap, cfg))
		goto done;
	if (git_config_foreach(snap, remote_cb, arr) == -1)
		rc = WB_ENOMEM;
done:
	git_config_free(snap);
	git_config_free(cfg);
	return rc;
}

static int submodule_cb(git_submodule *sm, const char *name, void *payload)
{
	cJSON *arr = payload, *e = cJSON_CreateObject();
	const git_oid *head = git_submodule_head_id(sm);
	const char *url = git_submodule_url(sm);
	char hex[GIT_OID_HEXSZ + 1], *clean = NULL;

	if (!e || !cJSON_AddItemToArray(arr, e)) {
		cJSON_Delete(e);
		return -1;
	}
	if (!cJSON_AddStringToObject(e, "name", name) || !cJSON_AddStringToObject(e, "path", git_submodule_path(sm)))
		return -1;
	if (url && (!(clean = wb__url_strip_credentials(url)) || !cJSON_AddStringToObject(e, "url", clean))) {
		free(clean);
		return -1;
	}
	free(clean);
	if (head) {
		oid_hex(hex, head);
		if (!cJSON_AddStringToObject(e, "commit", hex))
			return -1;
	}
	return 0;
}

/*
 * The upstream reference of branch head, from branch.<name>.remote and
 * branch.<name>.merge: refs/remotes/<remote>/<branch>, or the local branch
 * when the remote is ".". Done here rather than with git_branch_upstream,
 * which goes through git_remote_lookup and leaks in libgit2 1.5 with PCRE2.
 * 0, or a libgit2 error (no upstream configured, or it does not exist).
 */
static int upstream_lookup(git_reference **out, git_repository *repo, git_reference *head)
{
	const char *branch = git_reference_shorthand(head), *remote = NULL, *merge = NULL;
	git_config *cfg = NULL, *snap = NULL;
	char key[512], ref[1024];
	int e;

	*out = NULL;
	if ((e = git_repository_config(&cfg, repo)) || (e = git_config_snapshot(&snap, cfg)))
		goto done;
	snprintf(key, sizeof key, "branch.%s.remote", branch);
	if ((e = git_config_get_string(&remote, snap, key)))
		goto done;
	snprintf(key, sizeof key, "branch.%s.merge", branch);
	if ((e = git_config_get_string(&merge, snap, key)))
		goto done;
	if (strcmp(remote, ".") == 0)
		snprintf(ref, sizeof ref, "%s", merge);
	else if (strncmp(merge, "refs/heads/", 11) == 0)
		snprintf(ref, sizeof ref, "refs/remotes/%s/%s", remote, merge + 11);
	else {
		e = GIT_ENOTFOUND;
		goto done;
	}
	e = git_reference_lookup(out, repo, ref);
done:
	git_config_free(snap);
	git_config_free(cfg);
	return e;
}

/* The upstream of the HEAD branch and, when HEAD is ahead of it, upstream.patch. */
static int add_upstream(wb__gitcap *c, git_repository *repo, git_reference *head, const git_oid *head_oid,
			cJSON *patches, size_t patch_max, char *err, size_t errcap)
{
	git_reference *up = NULL, *upr = NULL;
	git_commit *bc = NULL, *hc = NULL;
	git_tree *bt = NULL, *ht = NULL;
	git_diff *diff = NULL;
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	git_oid base;
	size_t ahead = 0, behind = 0;
	char hex[GIT_OID_HEXSZ + 1];
	patchbuf b = {0};
	cJSON *u;
	int rc = WB_OK;

	if (upstream_lookup(&up, repo, head) || git_reference_resolve(&upr, up))
		goto done; /* no upstream configured, or it does not exist: nothing to add */
	if (!(u = cJSON_AddObjectToObject(c->code, "upstream")) ||
	    !cJSON_AddStringToObject(u, "name", git_reference_shorthand(up)))
		goto nomem;
	oid_hex(hex, git_reference_target(upr));
	if (!cJSON_AddStringToObject(u, "commit", hex))
		goto nomem;
	if (git_graph_ahead_behind(&ahead, &behind, repo, head_oid, git_reference_target(upr)) ||
	    git_merge_base(&base, repo, head_oid, git_reference_target(upr))) {
		git_msg(err, errcap, "compare HEAD with its upstream");
		goto done;
	}
	oid_hex(hex, &base);
	if (!cJSON_AddStringToObject(u, "merge_base", hex) || !cJSON_AddNumberToObject(u, "ahead", (double)ahead) ||
	    !cJSON_AddNumberToObject(u, "behind", (double)behind))
		goto nomem;
	if (ahead == 0)
		goto done;
	dopts.flags = GIT_DIFF_SHOW_BINARY;
	if (git_commit_lookup(&bc, repo, &base) || git_commit_tree(&bt, bc) || git_commit_lookup(&hc, repo, head_oid) ||
	    git_commit_tree(&ht, hc) || git_diff_tree_to_tree(&diff, repo, bt, ht, &dopts) || find_renames(diff)) {
		git_msg(err, errcap, "diff the merge base to HEAD");
		goto done;
	}
	if ((rc = pb_init(&b, patch_max)))
		goto done;
	if ((rc = diff_print(diff, &b, NULL, err, errcap))) {
		if (rc == WB_EIO)
			rc = WB_OK; /* described in err */
		goto done;
	}
	rc = patch_keep(c, patches, WB__PATCH_UPSTREAM, &b);
	goto done;
nomem:
	rc = WB_ENOMEM;
done:
	pb_free(&b);
	git_diff_free(diff);
	git_tree_free(bt);
	git_tree_free(ht);
	git_commit_free(bc);
	git_commit_free(hc);
	git_reference_free(upr);
	git_reference_free(up);
	return rc;
}

/* The excluded directory as a path relative to the work tree root, or "" when outside it. */
static void exclude_rel(const char *root, const char *exclude_dir, char *out, size_t cap)
{
	char real[PATH_MAX];
	size_t n = strlen(root);

	out[0] = '\0';
	if (!exclude_dir || !realpath(exclude_dir, real))
		return;
	while (n && root[n - 1] == '/')
		n--;
	if (strncmp(real, root, n) == 0 && real[n] == '/' && strlen(real + n + 1) < cap)
		strcpy(out, real + n + 1);
}

int wb__gitcap_collect(wb__gitcap *out, const char *start_dir, const char *exclude_dir, size_t patch_max)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	git_commit *hc = NULL;
	git_tree *ht = NULL;
	git_diff *diff = NULL;
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	const git_oid *head_oid = NULL;
	char err[WB__ERRMSG_MAX] = "", hex[GIT_OID_HEXSZ + 1], excl[PATH_MAX];
	int64_t t0 = wb__mono_ms();
	patchbuf b = {0};
	cJSON *code, *patches, *subs;
	const char *root;
	int rc = WB_OK, r, unborn;

	memset(out, 0, sizeof *out);
	git_libgit2_init();
	if (!(code = out->code = cJSON_CreateObject()))
		goto nomem;
	r = git_repository_open_ext(&repo, start_dir, 0, NULL);
	if (r == GIT_ENOTFOUND) {
		snprintf(err, sizeof err, "not a git repository: %s", start_dir);
		goto done;
	}
	if (r) {
		git_msg(err, sizeof err, "open the repository");
		goto done;
	}
	root = git_repository_workdir(repo);
	if (!root) {
		snprintf(err, sizeof err, "a bare repository has no working tree");
		goto done;
	}
	if (!cJSON_AddStringToObject(code, "root", root))
		goto nomem;
	if (git_repository_is_shallow(repo) && !cJSON_AddTrueToObject(code, "shallow"))
		goto nomem;
	if ((rc = add_remotes(repo, code)))
		goto done;

	unborn = git_repository_head_unborn(repo) == 1;
	if (unborn) {
		snprintf(err, sizeof err, "the repository has no commit yet");
		if (!cJSON_AddNullToObject(code, "commit"))
			goto nomem;
	} else if (git_repository_head(&head, repo) || git_reference_peel((git_object **)&hc, head, GIT_OBJECT_COMMIT) ||
		   git_commit_tree(&ht, hc)) {
		git_msg(err, sizeof err, "read HEAD");
		goto done;
	} else {
		head_oid = git_commit_id(hc);
		oid_hex(hex, head_oid);
		if (!cJSON_AddStringToObject(code, "commit", hex))
			goto nomem;
	}
	if (!cJSON_AddBoolToObject(code, "detached", git_repository_head_detached(repo) == 1))
		goto nomem;
	if (head && git_reference_is_branch(head)) {
		if (!cJSON_AddStringToObject(code, "branch", git_reference_shorthand(head)))
			goto nomem;
	} else if (!cJSON_AddNullToObject(code, "branch")) {
		goto nomem;
	}
	if (!(subs = cJSON_CreateArray()))
		goto nomem;
	git_submodule_foreach(repo, submodule_cb, subs);
	if (cJSON_GetArraySize(subs) == 0)
		cJSON_Delete(subs);
	else if (!cJSON_AddItemToObject(code, "submodules", subs)) {
		cJSON_Delete(subs);
		goto nomem;
	}

	if (!(patches = cJSON_AddArrayToObject(code, "patches")))
		goto nomem;
	/* The working tree with the index merged in, against HEAD (or the
	 * empty tree when HEAD is unborn). Submodule commits are recorded
	 * above, not diffed: git_apply cannot move a submodule. */
	dopts.flags = DIFF_FLAGS;
	dopts.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
	if (git_diff_tree_to_workdir_with_index(&diff, repo, ht, &dopts) || find_renames(diff)) {
		git_msg(err, sizeof err, "diff the working tree");
		goto done;
	}
	exclude_rel(root, exclude_dir, excl, sizeof excl);
	if ((rc = pb_init(&b, patch_max)))
		goto done;
	if ((rc = diff_print(diff, &b, excl, err, sizeof err))) {
		if (rc == WB_EIO)
			rc = WB_OK;
		goto done;
	}
	if (!cJSON_AddBoolToObject(code, "dirty", b.len > 0 || b.truncated))
		goto nomem;
	if ((b.len || b.truncated) && (rc = patch_keep(out, patches, WB__PATCH_DIFF, &b)))
		goto done;
	if (head && git_reference_is_branch(head) &&
	    (rc = add_upstream(out, repo, head, head_oid, patches, patch_max, err, sizeof err)))
		goto done;
	goto done;
nomem:
	rc = WB_ENOMEM;
done:
	if (rc == WB_OK && code && err[0] && !cJSON_AddStringToObject(code, "error", err))
		rc = WB_ENOMEM;
	if (rc == WB_OK && !cJSON_AddNumberToObject(code, "capture_ms", (double)(wb__mono_ms() - t0)))
		rc = WB_ENOMEM;
	pb_free(&b);
	git_diff_free(diff);
	git_tree_free(ht);
	git_commit_free(hc);
	git_reference_free(head);
	git_repository_free(repo);
	git_libgit2_shutdown();
	if (rc) {
		wb__gitcap_free(out);
		return wb__error(rc, "out of memory");
	}
	return WB_OK;
}

void wb__gitcap_free(wb__gitcap *c)
{
	if (!c)
		return;
	cJSON_Delete(c->code);
	for (size_t i = 0; i < c->npatch; i++)
		free(c->patch[i].data);
	memset(c, 0, sizeof *c);
}

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

/*
 * Fetch every branch, tag and remote-tracking branch of url into repo
 * (under refs/wb/). 0 or a libgit2 error. libgit2 1.5 built with PCRE2
 * leaks a little memory per remote it creates (its insteadOf matching); a
 * restore creates one per source, once, in a short-lived command, so the
 * tests suppress that one leak (tests/lsan-libgit2.supp).
 */
static int fetch_from(git_repository *repo, const char *url)
{
	static char *specs[] = {"+refs/heads/*:refs/wb/heads/*", "+refs/tags/*:refs/tags/*",
				"+refs/remotes/*:refs/wb/remotes/*"};
	git_strarray arr = {specs, sizeof specs / sizeof specs[0]};
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_remote *r = NULL;
	int e;

	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((e = git_remote_create_anonymous(&r, repo, url)) == 0)
		e = git_remote_fetch(r, &arr, &fo, NULL);
	git_remote_free(r);
	return e;
}

static int has_commit(git_repository *repo, const git_oid *oid)
{
	git_commit *c = NULL;
	int ok = git_commit_lookup(&c, repo, oid) == 0;

	git_commit_free(c);
	return ok;
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
		rc = git_fail(WB_EIO, "check out the commit");
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
		rc = git_fail(WB_EIO, what);
	git_diff_free(diff);
	return rc;
}

/*
 * The merge base with upstream.patch applied, as a new commit on top of it
 * (same tree as the original commit, another id), checked out detached.
 */
static int rebuild_from_base(git_repository *repo, const git_oid *base, const char *orig_hex, const char *text,
			     size_t len)
{
	git_commit *bc = NULL;
	git_tree *bt = NULL, *nt = NULL;
	git_diff *diff = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid, commit_oid;
	char msg[160];
	int rc = WB_OK;

	snprintf(msg, sizeof msg, "wb restore: upstream.patch applied to the merge base (was commit %s)\n", orig_hex);
	if (git_commit_lookup(&bc, repo, base) || git_commit_tree(&bt, bc)) {
		rc = git_fail(WB_ENOTFOUND, "read the merge base");
		goto done;
	}
	if (git_diff_from_buffer(&diff, text, len) || git_apply_to_tree(&idx, repo, bt, diff, NULL) ||
	    git_index_write_tree_to(&tree_oid, idx, repo) || git_tree_lookup(&nt, repo, &tree_oid)) {
		rc = git_fail(WB_EIO, "apply upstream.patch");
		goto done;
	}
	if (git_signature_now(&sig, "wb restore", "wb-restore@localhost") ||
	    git_commit_create(&commit_oid, repo, NULL, sig, sig, NULL, msg, nt, 1, (const git_commit **)&bc)) {
		rc = git_fail(WB_EIO, "commit upstream.patch");
		goto done;
	}
	rc = checkout_detached(repo, &commit_oid);
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

int wb__gitcap_restore(const wb__restore_input *in, const char *dest, const char **source)
{
	const char *commit_hex = wb__json_get_str(in->code, "commit");
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(in->code, "upstream");
	const char *base_hex = wb__json_get_str(up, "merge_base");
	const cJSON *remotes = cJSON_GetObjectItemCaseSensitive(in->code, "remotes"), *rm;
	const char *root = wb__json_get_str(in->code, "root");
	git_repository *repo = NULL;
	git_oid commit, base;
	int rc = WB_OK, found = 0, have_base = 0;
	struct stat st;

	if (source)
		*source = NULL;
	if (!dest_usable(dest))
		return wb__error(WB_EINVAL, "%s exists and is not an empty directory", dest);
	if (commit_hex && git_oid_fromstr(&commit, commit_hex))
		return wb__error(WB_EINVAL, "the recorded commit '%s' is not a commit id", commit_hex);
	if (!commit_hex && !in->diff_len)
		return wb__error(WB_EINVAL, "the run recorded no commit and no patch: nothing to restore");
	have_base = in->upstream_len && base_hex && git_oid_fromstr(&base, base_hex) == 0;
	git_libgit2_init();
	if (git_repository_init(&repo, dest, 0)) {
		rc = git_fail(WB_EIO, "create the repository");
		goto done;
	}
	if (commit_hex) {
		const char *tried[2] = {in->repo, root && stat(root, &st) == 0 ? root : NULL};
		const char *what[2] = {"repo", "root"};
		char last[WB__ERRMSG_MAX] = "";

		for (int i = 0; i < 2 && !found; i++) {
			if (!tried[i])
				continue;
			if (fetch_from(repo, tried[i]))
				git_msg(last, sizeof last, tried[i]);
			if (has_commit(repo, &commit)) {
				found = 1;
				if (source)
					*source = what[i];
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
			if (fetch_from(repo, url))
				git_msg(last, sizeof last, url);
			if (has_commit(repo, &commit)) {
				found = 1;
				if (source)
					*source = "remote";
			}
		}
		if (found) {
			rc = checkout_detached(repo, &commit);
		} else if (have_base && has_commit(repo, &base)) {
			if (source && !*source)
				*source = "upstream";
			rc = rebuild_from_base(repo, &base, commit_hex, in->upstream, in->upstream_len);
		} else {
			rc = wb__error(WB_ENOTFOUND, "commit %s is in none of the sources tried%s%s (give --repo PATH)",
				       commit_hex, last[0] ? "; last error: " : "", last);
		}
		if (rc)
			goto done;
	}
	if (in->diff_len)
		rc = apply_workdir(repo, WB__PATCH_DIFF, in->diff, in->diff_len);
done:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

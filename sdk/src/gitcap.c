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
 * Submodules are not in that diff (git_apply cannot move one): each is
 * recorded as the commit checked out in it, its URL and its own patch, the
 * patches sharing the cap with the main one.
 *
 * Restoring brings the one commit it needs into a new repository (a pack
 * of that commit's history from a repository on this machine, a fetch of
 * its id from a server; every ref only as a fallback, since one broken ref
 * fails a fetch of all), checks it out detached and applies the patches
 * with git_apply, which handles new, deleted and renamed files, modes and
 * binary patches; then the submodules, each on its own.
 *
 * This is the only file in libwb that includes git2.h; libgit2's errors are
 * translated to wb_error codes and one-line messages here.
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
	cJSON *omitted;     /* array of paths left out */
	const char *prefix; /* a submodule's path, put before its omitted paths; NULL for the superproject */
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

/* Note path as left out: 0, or -1 on ENOMEM. Paths are from the superproject's root. */
static int pb_omit(patchbuf *b, const char *path)
{
	char *full = NULL;
	int ok;

	b->truncated = 1;
	b->omitted_n++;
	if (cJSON_GetArraySize(b->omitted) >= (int)WB__GIT_OMITTED_MAX)
		return 0;
	if (b->prefix && wb__asprintf(&full, "%s/%s", b->prefix, path))
		return -1;
	ok = cJSON_AddItemToArray(b->omitted, cJSON_CreateString(full ? full : path)) != 0;
	free(full);
	return ok ? 0 : -1;
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
	assert(c->npatch < sizeof c->patch / sizeof c->patch[0]);
	snprintf(c->patch[c->npatch].name, sizeof c->patch[c->npatch].name, "%s", name);
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

/*
 * The working tree with the index merged in, against tree (NULL: the empty
 * tree, an unborn HEAD), printed into b. Submodules are left out: git_apply
 * cannot move one, so each is captured on its own (submodule_cb). WB_OK,
 * WB_ENOMEM, or WB_EIO with err set.
 */
static int workdir_patch(git_repository *repo, git_tree *tree, const char *exclude, patchbuf *b, char *err,
			 size_t errcap)
{
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	git_diff *diff = NULL;
	int rc;

	dopts.flags = DIFF_FLAGS;
	dopts.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
	if (git_diff_tree_to_workdir_with_index(&diff, repo, tree, &dopts) || find_renames(diff)) {
		git_msg(err, errcap, "diff the working tree");
		rc = WB_EIO;
	} else {
		rc = diff_print(diff, b, exclude, err, errcap);
	}
	git_diff_free(diff);
	return rc;
}

/* What the submodule visitor needs and collects. */
typedef struct subctx {
	wb__gitcap *c;
	git_repository *super;
	cJSON *subs, *patches;
	const char *exclude; /* the run directory, relative to the superproject's root */
	size_t budget;       /* patch bytes left under patch_max */
	size_t n;            /* submodules seen */
	int dirty;           /* a submodule differs from what the superproject records */
	int rc;              /* WB_ENOMEM stops the visit */
} subctx;

/*
 * One submodule: what the superproject records ("gitlink"), the commit
 * actually checked out in it ("commit": what the run ran), its URL
 * (resolved against the superproject's remote when relative, credentials
 * stripped) and, for the first WB__GIT_SUBMODULES_MAX, its own uncommitted
 * changes as submodule-<i>.patch within the remaining patch budget. A
 * submodule that is not checked out records the gitlink as its commit and
 * "checked_out": false. What cannot be read goes into the entry's "error".
 */
static int submodule_cb(git_submodule *sm, const char *name, void *payload)
{
	subctx *x = payload;
	cJSON *e = cJSON_CreateObject();
	const git_oid *link = git_submodule_head_id(sm), *wd = git_submodule_wd_id(sm);
	const char *url = git_submodule_url(sm), *path = git_submodule_path(sm);
	char hex[GIT_OID_HEXSZ + 1], *clean = NULL, err[WB__ERRMSG_MAX] = "", pname[64];
	git_buf resolved = {0};
	git_repository *sr = NULL;
	git_reference *sh = NULL;
	git_commit *sc = NULL;
	git_tree *st = NULL;
	patchbuf b = {0};
	size_t plen;
	int dirty = 0, r;

	if (!e || !cJSON_AddItemToArray(x->subs, e)) {
		cJSON_Delete(e);
		goto nomem;
	}
	if (!cJSON_AddStringToObject(e, "name", name) || !cJSON_AddStringToObject(e, "path", path))
		goto nomem;
	if (url && git_submodule_resolve_url(&resolved, x->super, url) == 0 && resolved.ptr)
		url = resolved.ptr;
	if (url && (!(clean = wb__url_strip_credentials(url)) || !cJSON_AddStringToObject(e, "url", clean)))
		goto nomem;
	if (link) {
		oid_hex(hex, link);
		if (!cJSON_AddStringToObject(e, "gitlink", hex))
			goto nomem;
	}
	if (!wd) {
		if (link && !cJSON_AddStringToObject(e, "commit", hex))
			goto nomem;
		if (!cJSON_AddFalseToObject(e, "checked_out"))
			goto nomem;
		goto done;
	}
	oid_hex(hex, wd);
	if (!cJSON_AddStringToObject(e, "commit", hex))
		goto nomem;
	dirty = !link || !git_oid_equal(link, wd);
	if (x->n >= WB__GIT_SUBMODULES_MAX) {
		snprintf(err, sizeof err, "more than %u submodules: changes inside this one are not captured",
			 WB__GIT_SUBMODULES_MAX);
		goto done;
	}
	if (git_submodule_open(&sr, sm) || git_repository_head(&sh, sr) ||
	    git_reference_peel((git_object **)&sc, sh, GIT_OBJECT_COMMIT) || git_commit_tree(&st, sc)) {
		git_msg(err, sizeof err, "open the submodule");
		goto done;
	}
	if (pb_init(&b, x->budget))
		goto nomem;
	b.prefix = path;
	plen = strlen(path);
	r = workdir_patch(sr, st,
			  x->exclude && strncmp(x->exclude, path, plen) == 0 && x->exclude[plen] == '/'
				  ? x->exclude + plen + 1
				  : NULL,
			  &b, err, sizeof err);
	if (r == WB_ENOMEM)
		goto nomem;
	if (r == WB_OK && (b.len || b.truncated)) {
		dirty = 1;
		snprintf(pname, sizeof pname, WB__PATCH_SUBMODULE_FMT, x->n);
		x->budget -= b.len;
		if (!cJSON_AddStringToObject(e, "patch", pname) || patch_keep(x->c, x->patches, pname, &b))
			goto nomem;
	}
	x->n++;
done:
	if (wd && !cJSON_AddBoolToObject(e, "dirty", dirty))
		goto nomem;
	if (err[0] && !cJSON_AddStringToObject(e, "error", err))
		goto nomem;
	x->dirty |= dirty;
	goto out;
nomem:
	x->rc = WB_ENOMEM;
out:
	pb_free(&b);
	git_tree_free(st);
	git_commit_free(sc);
	git_reference_free(sh);
	git_repository_free(sr);
	git_buf_dispose(&resolved);
	free(clean);
	return x->rc ? -1 : 0;
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
	const git_oid *head_oid = NULL;
	char err[WB__ERRMSG_MAX] = "", hex[GIT_OID_HEXSZ + 1], excl[PATH_MAX];
	int64_t t0 = wb__mono_ms();
	patchbuf b = {0};
	subctx sx;
	cJSON *code, *patches;
	const char *root;
	int rc = WB_OK, r, unborn, dirty;

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
	if (!(patches = cJSON_AddArrayToObject(code, "patches")))
		goto nomem;
	exclude_rel(root, exclude_dir, excl, sizeof excl);
	if ((rc = pb_init(&b, patch_max)))
		goto done;
	if ((rc = workdir_patch(repo, ht, excl, &b, err, sizeof err))) {
		if (rc == WB_EIO)
			rc = WB_OK; /* described in err */
		goto done;
	}
	dirty = b.len > 0 || b.truncated;
	/* Submodules after the patch: their patches share what it left of patch_max. */
	sx = (subctx){out, repo, NULL, patches, excl, patch_max - b.len, 0, 0, WB_OK};
	if ((b.len || b.truncated) && (rc = patch_keep(out, patches, WB__PATCH_DIFF, &b)))
		goto done;
	if (!(sx.subs = cJSON_CreateArray()))
		goto nomem;
	git_submodule_foreach(repo, submodule_cb, &sx);
	if (sx.rc || cJSON_GetArraySize(sx.subs) == 0)
		cJSON_Delete(sx.subs);
	else if (!cJSON_AddItemToObject(code, "submodules", sx.subs)) {
		cJSON_Delete(sx.subs);
		goto nomem;
	}
	if ((rc = sx.rc))
		goto done;
	if (!cJSON_AddBoolToObject(code, "dirty", dirty || sx.dirty))
		goto nomem;
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

size_t wb__gitcap_omitted(const cJSON *code, char *buf, size_t cap)
{
	const size_t tail = 32; /* kept free for " (and N more)" */
	const cJSON *p, *f;
	size_t total = 0, listed = 0, used = 0;
	int full = cap <= tail;

	if (cap)
		buf[0] = '\0';
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(code, "patches"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "omitted_count");

		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "truncated")))
			continue;
		if (cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e15)
			total += (size_t)n->valuedouble;
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(p, "omitted"))
		{
			size_t need;

			if (!cJSON_IsString(f))
				continue;
			need = strlen(f->valuestring) + (listed ? 2 : 0);
			if (full || need >= cap - tail - used) {
				full = 1; /* a name is listed whole or not at all: the count says how many are missing */
				continue;
			}
			snprintf(buf + used, cap - used, "%s%s", listed ? ", " : "", f->valuestring);
			used += need;
			listed++;
		}
	}
	if (total < listed)
		total = listed;
	if (total > listed && cap > tail)
		snprintf(buf + used, cap - used, "%s(and %zu more)", listed ? " " : "", total - listed);
	return total;
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
		oid_hex(hex, one[i]);
		snprintf(spec, sizeof spec, "+%s:refs/wb/%s", hex, i ? "base" : "commit");
		if (local ? copy_commit(repo, url, one[i]) : fetch_specs(repo, url, &sp, 1))
			git_msg(last, cap, url);
		if (has_commit(repo, one[i]))
			return;
	}
	if (fetch_specs(repo, url, all, sizeof all / sizeof all[0]))
		git_msg(last, cap, url);
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
		rc = git_fail(WB_ENOTFOUND, "read the merge base");
		goto done;
	}
	if (git_diff_from_buffer(&diff, text, len) || git_apply_to_tree(&idx, repo, bt, diff, NULL) ||
	    git_index_write_tree_to(&tree_oid, idx, repo) || git_tree_lookup(&nt, repo, &tree_oid)) {
		rc = git_fail(WB_EIO, "apply upstream.patch");
		goto done;
	}
	if (git_signature_now(&sig, "wb restore", "wb-restore@localhost") ||
	    git_commit_create(commit_oid, repo, NULL, sig, sig, NULL, msg, nt, 1, (const git_commit **)&bc)) {
		rc = git_fail(WB_EIO, "commit upstream.patch");
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
		git_msg(last, sizeof last, "create the repository");
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
		rc = git_fail(WB_EIO, "create the repository");
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
		oid_hex(out->head, &head);
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

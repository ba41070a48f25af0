/*
 * gitcap.c — the code a run started from (getting it back: gitrestore.c).
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
void wb__git_msg(char *buf, size_t cap, const char *what)
{
	const git_error *e = git_error_last();

	snprintf(buf, cap, "%s: %s", what, e && e->message ? e->message : "unknown libgit2 error");
}

/* Translate a libgit2 failure into a wb error code with errmsg. */
int wb__git_fail(int code, const char *what)
{
	char msg[WB__ERRMSG_MAX];

	wb__git_msg(msg, sizeof msg, what);
	return wb__error_set(code, msg);
}

void wb__oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
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
			wb__git_msg(err, errcap, "print the diff");
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
		wb__git_msg(err, errcap, "diff the working tree");
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
		wb__oid_hex(hex, link);
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
	wb__oid_hex(hex, wd);
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
		wb__git_msg(err, sizeof err, "open the submodule");
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
	wb__oid_hex(hex, git_reference_target(upr));
	if (!cJSON_AddStringToObject(u, "commit", hex))
		goto nomem;
	if (git_graph_ahead_behind(&ahead, &behind, repo, head_oid, git_reference_target(upr)) ||
	    git_merge_base(&base, repo, head_oid, git_reference_target(upr))) {
		wb__git_msg(err, errcap, "compare HEAD with its upstream");
		goto done;
	}
	wb__oid_hex(hex, &base);
	if (!cJSON_AddStringToObject(u, "merge_base", hex) || !cJSON_AddNumberToObject(u, "ahead", (double)ahead) ||
	    !cJSON_AddNumberToObject(u, "behind", (double)behind))
		goto nomem;
	if (ahead == 0)
		goto done;
	dopts.flags = GIT_DIFF_SHOW_BINARY;
	if (git_commit_lookup(&bc, repo, &base) || git_commit_tree(&bt, bc) || git_commit_lookup(&hc, repo, head_oid) ||
	    git_commit_tree(&ht, hc) || git_diff_tree_to_tree(&diff, repo, bt, ht, &dopts) || find_renames(diff)) {
		wb__git_msg(err, errcap, "diff the merge base to HEAD");
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
		wb__git_msg(err, sizeof err, "open the repository");
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
		wb__git_msg(err, sizeof err, "read HEAD");
		goto done;
	} else {
		head_oid = git_commit_id(hc);
		wb__oid_hex(hex, head_oid);
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

/*
 * gitcap.h — code capture (the git state of the tree a run starts in) and
 * its inverse, restoring that tree. The only module of libwb that uses
 * libgit2 (schema/wire.md: CODE and PATCH records).
 *
 * Threads: each function is self-contained (its own repository handles) and
 * may be called from any thread; libgit2 is initialised per call with its
 * reference-counted git_libgit2_init.
 */
#ifndef WB_GITCAP_H
#define WB_GITCAP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "wire.h"

#define WB__GIT_PATCH_MAX_DEFAULT (10u * 1024u * 1024u)
#define WB__GIT_PATCH_MAX_LIMIT (15u * 1024u * 1024u) /* below the 16 MiB frame payload max */
#define WB__GIT_OMITTED_MAX 1000u                     /* file names listed as omitted, at most */
#define WB__GIT_SUBMODULES_MAX 16u                   /* submodules whose changes are captured, at most */
#define WB__PATCH_DIFF "diff.patch"
#define WB__PATCH_UPSTREAM "upstream.patch"
#define WB__PATCH_SUBMODULE_FMT "submodule-%zu.patch" /* the i-th submodule's own changes */

/* One captured patch: name (WB__PATCH_DIFF, WB__PATCH_UPSTREAM or a submodule's) and bytes. */
typedef struct wb__gitpatch {
	char name[64];
	char *data; /* malloc'd; NULL when len == 0 */
	size_t len;
} wb__gitpatch;

/* What wb__gitcap_collect found. */
typedef struct wb__gitcap {
	cJSON *code; /* the CODE record (schema/wire.md); never NULL after WB_OK */
	wb__gitpatch patch[2 + WB__GIT_SUBMODULES_MAX]; /* diff.patch, upstream.patch, submodule-<i>.patch */
	size_t npatch;
} wb__gitcap;

/*
 * Capture the repository that contains start_dir (discovered upwards):
 * root, HEAD commit, branch or detached, remotes (credentials stripped),
 * dirty flag, the patch of every uncommitted change against HEAD (staged,
 * unstaged and untracked-not-ignored files; binary as git binary patches),
 * each submodule's checked-out commit, URL and own patch (the first
 * WB__GIT_SUBMODULES_MAX) and, when HEAD is ahead of its upstream, the
 * upstream and the patch from the merge base to HEAD. The patch and the
 * submodules' patches keep whole files up to patch_max bytes together
 * (upstream.patch has its own patch_max); files past it are listed in
 * "omitted". Paths inside
 * exclude_dir (an absolute directory, may be NULL: the run directory) are
 * left out. Anything that cannot be read is described in code["error"]:
 * not a repository, an unborn HEAD, a libgit2 failure. Returns WB_OK or
 * WB_ENOMEM; on WB_OK free *out with wb__gitcap_free.
 */
/* libgit2 helpers shared by the capture and the restore: "what: libgit2's
 * last message" into buf; a libgit2 failure as a wb error code with
 * errmsg; an oid as 40 hex digits. */
struct git_oid;
WB__HIDDEN void wb__git_msg(char *buf, size_t cap, const char *what);
WB__HIDDEN int wb__git_fail(int code, const char *what);
WB__HIDDEN void wb__oid_hex(char out[41], const struct git_oid *oid);

WB__HIDDEN int wb__gitcap_collect(wb__gitcap *out, const char *start_dir, const char *exclude_dir, size_t patch_max);

WB__HIDDEN void wb__gitcap_free(wb__gitcap *c);

/*
 * The files the capture's patches left out (over the cap), named in buf as
 * "a.bin, b.bin (and 3 more)": the total count, 0 when nothing was left
 * out. buf is always terminated.
 */
WB__HIDDEN size_t wb__gitcap_omitted(const cJSON *code, char *buf, size_t cap);

/* What to restore: the CODE JSON and the patch bytes (NULL/0: none). */
typedef struct wb__restore_input {
	const cJSON *code;
	const char *diff;
	size_t diff_len;
	const char *upstream;
	size_t upstream_len;
	const char *repo; /* a local repository or URL to take the commit from first; may be NULL */
	const wb__gitpatch *sub_patches; /* the submodules' patches (code.submodules[].patch), may be NULL */
	size_t nsub_patches;
} wb__restore_input;

/* What a restore did, for the caller to report. */
typedef struct wb__restore_outcome {
	const char *source; /* static: "repo", "root", "remote", "upstream", or NULL (no commit) */
	char head[48];      /* the commit HEAD is at: the recorded one, or the rebuilt one ("upstream") */
	size_t submodules;  /* submodules restored at their recorded commits */
	char notes[4096];   /* "submodule <path>: what failed" lines, "" when none */
} wb__restore_outcome;

/*
 * Rebuild the captured tree in dest (which must not exist or be empty):
 * fetch the commit from in->repo, else the recorded root, else each
 * recorded remote; check it out detached; if the commit is found nowhere
 * but an upstream patch exists, check out the merge base, apply
 * upstream.patch and commit the result (its tree is the original commit's);
 * then apply diff.patch to the working tree. A run with no commit (an empty
 * repository) gets a new repository with diff.patch applied. From each
 * source only the wanted commit is fetched first; every branch and tag
 * only when that fails. Each recorded submodule is then made a repository
 * at its recorded checked-out commit (from the recorded root's copy, else
 * its URL) with its own patch applied; one that cannot be is left empty and
 * named in out->notes without failing the restore. Returns WB_OK,
 * WB_EINVAL (dest not empty, nothing to restore), WB_ENOTFOUND (the commit
 * is in no source), WB_EIO (libgit2 failed: checkout, apply), WB_ENOMEM;
 * errmsg says which step failed. On failure whatever the restore created
 * in dest is removed (dest itself too if it did not exist), so the same
 * command can be run again. out may be NULL.
 */
WB__HIDDEN int wb__gitcap_restore(const wb__restore_input *in, const char *dest, wb__restore_outcome *out);

#endif /* WB_GITCAP_H */

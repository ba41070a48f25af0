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
#define WB__PATCH_DIFF "diff.patch"
#define WB__PATCH_UPSTREAM "upstream.patch"

/* One captured patch: name (WB__PATCH_DIFF or WB__PATCH_UPSTREAM) and bytes. */
typedef struct wb__gitpatch {
	const char *name;
	char *data; /* malloc'd; NULL when len == 0 */
	size_t len;
} wb__gitpatch;

/* What wb__gitcap_collect found. */
typedef struct wb__gitcap {
	cJSON *code;           /* the CODE record (schema/wire.md); never NULL after WB_OK */
	wb__gitpatch patch[2]; /* diff.patch, upstream.patch (len 0: none) */
	size_t npatch;
} wb__gitcap;

/*
 * Capture the repository that contains start_dir (discovered upwards):
 * root, HEAD commit, branch or detached, remotes (credentials stripped),
 * dirty flag, submodules, the patch of every uncommitted change against
 * HEAD (staged, unstaged and untracked-not-ignored files; binary as git
 * binary patches) and, when HEAD is ahead of its upstream, the upstream and
 * the patch from the merge base to HEAD. Each patch keeps whole files up to
 * patch_max bytes; files past it are listed in "omitted". Paths inside
 * exclude_dir (an absolute directory, may be NULL: the run directory) are
 * left out. Anything that cannot be read is described in code["error"]:
 * not a repository, an unborn HEAD, a libgit2 failure. Returns WB_OK or
 * WB_ENOMEM; on WB_OK free *out with wb__gitcap_free.
 */
WB__HIDDEN int wb__gitcap_collect(wb__gitcap *out, const char *start_dir, const char *exclude_dir, size_t patch_max);

WB__HIDDEN void wb__gitcap_free(wb__gitcap *c);

/* What to restore: the CODE JSON and the patch bytes (NULL/0: none). */
typedef struct wb__restore_input {
	const cJSON *code;
	const char *diff;
	size_t diff_len;
	const char *upstream;
	size_t upstream_len;
	const char *repo; /* a local repository or URL to take the commit from first; may be NULL */
} wb__restore_input;

/*
 * Rebuild the captured tree in dest (which must not exist or be empty):
 * fetch the commit from in->repo, else the recorded root, else each
 * recorded remote; check it out detached; if the commit is found nowhere
 * but an upstream patch exists, check out the merge base, apply
 * upstream.patch and commit the result (its tree is the original commit's);
 * then apply diff.patch to the working tree. A run with no commit (an empty
 * repository) gets a new repository with diff.patch applied. Returns WB_OK,
 * WB_EINVAL (dest not empty, nothing to restore), WB_ENOTFOUND (the commit
 * is in no source), WB_EIO (libgit2 failed: checkout, apply), WB_ENOMEM;
 * errmsg says which step failed. *source (may be NULL) receives a static
 * description of where the commit came from ("repo", "root", "remote").
 */
WB__HIDDEN int wb__gitcap_restore(const wb__restore_input *in, const char *dest, const char **source);

#endif /* WB_GITCAP_H */

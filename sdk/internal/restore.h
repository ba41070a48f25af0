/*
 * restore.h — what `wb restore` does, inside libwb: fetch a run's code
 * capture from the server (the SDK's HTTP transport, the SDK's settings)
 * and rebuild its tree (gitcap.c, the only libgit2 user). The wb CLI links
 * libwb statically and calls this; it is not part of the public API
 * (sdk/internal/: libwb's internals deliberately exported to the CLI).
 */
#ifndef WB_RESTORE_H
#define WB_RESTORE_H

#include "wb.h"
#include "wire.h"

typedef struct wb__restore_opts {
	const char *run;      /* "entity/project/run-id", or a run page URL .../<e>/<p>/runs/<id> */
	const char *dest;     /* NULL: ./<run-id> */
	const char *repo;     /* NULL, or a repository to take the commit from first */
	const char *base_url; /* NULL: WB_BASE_URL, the settings file, the default (or the run URL's base) */
	const char *api_key;  /* NULL: WB_API_KEY, the settings file */
	/* NULL, or told the bytes of the capture fetched ("fetching", total not known), then of the
	 * patches applied ("rebuilding": done reaches total when the tree is rebuilt) */
	wb_progress_fn progress;
	void *progress_arg;
} wb__restore_opts;

/* What happened, for the CLI to print. */
typedef struct wb__restore_report {
	char dest[4096];
	char commit[48];      /* the run's recorded commit, "" when it had none */
	char head[48];        /* where HEAD is: commit, or a new commit when rebuilt from the merge base */
	const char *source;   /* "repo", "root", "remote", "upstream" or NULL (no commit) */
	int diff_truncated;   /* the captured patch left files out: the tree is not complete */
	size_t omitted_count; /* files the capture's patches left out */
	char omitted[2048];   /* their names, "a, b (and 3 more)" */
	size_t submodules;    /* submodules restored at their recorded commits */
	char notes[4096];     /* one line per submodule that could not be restored, "" when none */
} wb__restore_report;

/*
 * Restore the run's code into opts->dest. WB_OK, or an error code with
 * errmsg: WB_EINVAL (bad run reference, dest not empty), WB_ENOTFOUND (no
 * such run, no code recorded, commit found nowhere), WB_ENET/WB_EAUTH/
 * WB_ESERVER (talking to the server), WB_EIO (checkout or apply).
 */
WB__HIDDEN int wb__restore_run(const wb__restore_opts *opts, wb__restore_report *rep);

#endif /* WB_RESTORE_H */

/*
 * cmd_restore.c — `wb restore RUN [DIR] [--repo PATH] [--base-url URL]
 * [--api-key KEY]`: rebuild the code a run started from.
 *
 * The work is libwb's (sdk/src/restore.c): it fetches the run's code
 * capture with the SDK's settings and HTTP transport and rebuilds the tree
 * with libgit2 in the SDK's one libgit2 module. This file parses the
 * command line and reports; progress (progress.h) counts the bytes of the
 * capture fetched, then of the patches applied.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "restore.h"
#include "progress.h"
#include "wb.h"

static const char restore_usage[] =
	"usage: wb restore RUN [DIR] [--repo PATH] [--base-url URL] [--api-key KEY] [-q|--quiet]\n"
	"  RUN is entity/project/run-id or the run's URL; DIR defaults to ./<run-id>.\n"
	"  The commit is taken from --repo, else the run's recorded repository, else its remotes.\n";

int wbs__cmd_restore(int argc, char **argv)
{
	wb__restore_opts o = {0};
	wb__restore_report rep;
	const char *pos[2] = {NULL, NULL};
	size_t npos = 0;
	int rc, quiet = 0;
	wbs__progress pg;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(restore_usage, stdout);
			return 0;
		}
		if (wbs__progress_quiet_arg(a)) {
			quiet = 1;
			continue;
		}
		if (strcmp(a, "--repo") == 0)
			dst = &o.repo;
		else if (strcmp(a, "--base-url") == 0)
			dst = &o.base_url;
		else if (strcmp(a, "--api-key") == 0)
			dst = &o.api_key;
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "wb restore: option %s needs a value\n%s", a, restore_usage);
				return 2;
			}
			*dst = argv[++i];
		} else if (strncmp(a, "--", 2) == 0) {
			fprintf(stderr, "wb restore: unknown option %s\n%s", a, restore_usage);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			fprintf(stderr, "wb restore: too many arguments\n%s", restore_usage);
			return 2;
		}
	}
	if (!pos[0]) {
		fprintf(stderr, "wb restore: no run given\n%s", restore_usage);
		return 2;
	}
	o.run = pos[0];
	o.dest = pos[1];
	wbs__progress_init(&pg, "wb restore", quiet);
	o.progress = wbs__progress_sdk;
	o.progress_arg = &pg;
	rc = wb__restore_run(&o, &rep);
	wbs__progress_end(&pg);
	if (rc) {
		fprintf(stderr, "wb restore: %s: %s\n", wb_strerror(rc), wb_errmsg());
		return 1;
	}
	if (rep.commit[0] && rep.source && strcmp(rep.source, "upstream") == 0)
		printf("restored %s at commit %s, rebuilt from the upstream merge base + upstream.patch: the same tree "
		       "as the run's commit %s, which no source had; its patch applied\n",
		       rep.dest, rep.head, rep.commit);
	else if (rep.commit[0])
		printf("restored %s at commit %s (from the %s) with its patch applied\n", rep.dest, rep.commit,
		       rep.source && strcmp(rep.source, "repo") == 0   ? "--repo repository"
		       : rep.source && strcmp(rep.source, "root") == 0 ? "recorded repository"
								 : "recorded remote");
	else
		printf("restored %s from its patch (the run's repository had no commit)\n", rep.dest);
	if (rep.submodules)
		printf("restored %zu submodule%s at the commits the run had checked out\n", rep.submodules,
		       rep.submodules == 1 ? "" : "s");
	for (const char *l = rep.notes; *l;) {
		size_t n = strcspn(l, "\n");
		fprintf(stderr, "wb restore: warning: %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
	if (rep.omitted_count)
		fprintf(stderr, "wb restore: warning: the captured patch left %zu file%s out (over the size cap), "
				"so they are missing: %s\n",
			rep.omitted_count, rep.omitted_count == 1 ? "" : "s", rep.omitted);
	else if (rep.diff_truncated)
		fprintf(stderr, "wb restore: warning: the captured patch left files out (over the size cap)\n");
	return 0;
}

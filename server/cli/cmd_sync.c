/*
 * cmd_sync.c — `wb sync RUN_DIR... [--base-url URL] [--api-key KEY]`:
 * upload run directories with libwb's wb_sync(), which sends exactly the
 * records the server does not have yet, so it is safe to repeat. Progress
 * (progress.h) counts the bytes of each run log sent.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "progress.h"
#include "wb.h"

static const char sync_usage[] = "usage: wb sync RUN_DIR... [--base-url URL] [--api-key KEY] [-q|--quiet]\n";

int wbs__cmd_sync(int argc, char **argv)
{
	wb_sync_options opts = WB_SYNC_OPTIONS_INIT;
	const char *dirs[256];
	size_t ndirs = 0;
	int failed = 0, quiet = 0;
	wbs__progress pg;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(sync_usage, stdout);
			return 0;
		}
		if (wbs__progress_quiet_arg(a)) {
			quiet = 1;
			continue;
		}
		if (strcmp(a, "--base-url") == 0 || strcmp(a, "--api-key") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "wb sync: option %s needs a value\n%s", a, sync_usage);
				return 2;
			}
			if (a[2] == 'b')
				opts.base_url = argv[++i];
			else
				opts.api_key = argv[++i];
		} else if (strncmp(a, "--base-url=", 11) == 0) {
			opts.base_url = a + 11;
		} else if (strncmp(a, "--api-key=", 10) == 0) {
			opts.api_key = a + 10;
		} else if (strncmp(a, "--", 2) == 0) {
			fprintf(stderr, "wb sync: unknown option %s\n%s", a, sync_usage);
			return 2;
		} else if (ndirs < sizeof(dirs) / sizeof(dirs[0])) {
			dirs[ndirs++] = a;
		} else {
			fprintf(stderr, "wb sync: at most %zu run directories at once\n", sizeof(dirs) / sizeof(dirs[0]));
			return 2;
		}
	}
	if (ndirs == 0) {
		fprintf(stderr, "wb sync: no run directory given\n%s", sync_usage);
		return 2;
	}
	wbs__progress_init(&pg, "wb sync", quiet);
	opts.progress = wbs__progress_sdk;
	opts.progress_arg = &pg;
	for (size_t i = 0; i < ndirs; i++) {
		uint64_t sent = 0;
		int rc;
		wbs__progress_note(&pg, "%s", dirs[i]);
		rc = wb_sync(dirs[i], &opts, &sent);
		wbs__progress_end(&pg);
		if (rc == WB_OK) {
			printf("%s: %llu records sent\n", dirs[i], (unsigned long long)sent);
		} else {
			const char *m = wb_errmsg();
			fprintf(stderr, "wb sync: %s: %s%s%s\n", dirs[i], wb_strerror(rc), m && *m ? ": " : "",
				m ? m : "");
			failed = 1;
		}
	}
	return failed ? 1 : 0;
}

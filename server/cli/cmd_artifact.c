/*
 * cmd_artifact.c — `wb artifact put` and `wb artifact get`: upload files
 * and directories as a version of an artifact, and download a version
 * into a directory, with libwb's artifact functions (which do the
 * hashing, dedup, chunking, resuming and checking). Server and key come
 * from --base-url/--api-key, else WB_BASE_URL/WB_API_KEY, else the
 * settings file, as for `wb sync` (whose keys go only to their own
 * servers: settings.c). Progress (progress.h) counts the bytes hashed
 * and sent, or received.
 */
#include "cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "progress.h"
#include "wb.h"

static const char art_usage[] =
    "usage: wb artifact put [--type T] [--alias A]... [--metadata JSON] ENTITY/PROJECT/NAME PATH...\n"
    "       wb artifact get ENTITY/PROJECT/NAME[:ALIAS|:vN] DIR\n"
    "options: --base-url URL  --api-key KEY  -q|--quiet\n";

/* Split "e/p/rest" into its three parts (in buf). 0 or -1. */
static int split_target(const char *s, char *buf, size_t cap, const char **e, const char **p, const char **rest)
{
	char *a, *b;

	if (strlen(s) >= cap)
		return -1;
	strcpy(buf, s);
	if (!(a = strchr(buf, '/')) || !(b = strchr(a + 1, '/')))
		return -1;
	*a = *b = '\0';
	*e = buf;
	*p = a + 1;
	*rest = b + 1;
	return **e && **p && **rest ? 0 : -1;
}

static int fail(const char *what, int rc)
{
	const char *m = wb_errmsg();
	fprintf(stderr, "wb artifact %s: %s%s%s\n", what, wb_strerror(rc), m && *m ? ": " : "", m ? m : "");
	return 1;
}

int wbs__cmd_artifact(int argc, char **argv)
{
	wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
	const char *sub = argc > 0 ? argv[0] : NULL, *type = "dataset", *metadata = NULL;
	const char *aliases[32], *pos[1024];
	size_t naliases = 0, npos = 0;
	char target[400];
	const char *e, *p, *rest;
	int rc, quiet = 0;
	wbs__progress pg;

	if (!sub || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(art_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--type") == 0 || strcmp(a, "--alias") == 0 || strcmp(a, "--metadata") == 0 ||
		    strcmp(a, "--base-url") == 0 || strcmp(a, "--api-key") == 0) {
			const char *v;
			if (i + 1 >= argc) {
				fprintf(stderr, "wb artifact: option %s needs a value\n%s", a, art_usage);
				return 2;
			}
			v = argv[++i];
			if (strcmp(a, "--type") == 0)
				type = v;
			else if (strcmp(a, "--metadata") == 0)
				metadata = v;
			else if (strcmp(a, "--base-url") == 0)
				o.base_url = v;
			else if (strcmp(a, "--api-key") == 0)
				o.api_key = v;
			else if (naliases < sizeof(aliases) / sizeof(aliases[0]))
				aliases[naliases++] = v;
			else {
				fprintf(stderr, "wb artifact: at most 32 aliases\n");
				return 2;
			}
		} else if (wbs__progress_quiet_arg(a)) {
			quiet = 1;
		} else if (strncmp(a, "--", 2) == 0) {
			fprintf(stderr, "wb artifact: unknown option %s\n%s", a, art_usage);
			return 2;
		} else if (npos < sizeof(pos) / sizeof(pos[0])) {
			pos[npos++] = a;
		} else {
			fprintf(stderr, "wb artifact: too many paths\n");
			return 2;
		}
	}
	if (npos < 2 || split_target(pos[0], target, sizeof(target), &e, &p, &rest)) {
		fprintf(stderr, "wb artifact: give ENTITY/PROJECT/NAME and %s\n%s",
			strcmp(sub, "get") == 0 ? "a directory" : "paths", art_usage);
		return 2;
	}
	o.entity = e;
	o.project = p;
	wbs__progress_init(&pg, strcmp(sub, "get") == 0 ? "wb artifact get" : "wb artifact put", quiet);
	o.progress = wbs__progress_sdk;
	o.progress_arg = &pg;
	if (strcmp(sub, "get") == 0) {
		int64_t v = -1;
		if (npos != 2) {
			fprintf(stderr, "wb artifact get: give one target and one directory\n%s", art_usage);
			return 2;
		}
		rc = wb_artifact_download(&o, rest, pos[1], &v);
		wbs__progress_end(&pg);
		if (rc)
			return fail("get", rc);
		printf("%s/%s/%.*s:v%" PRId64 " -> %s\n", e, p, (int)strcspn(rest, ":"), rest, v, pos[1]);
		return 0;
	}
	if (strcmp(sub, "put") == 0) {
		wb_artifact *art = NULL;
		int64_t v = -1;
		int created = 0;
		uint64_t bytes = 0;
		if ((rc = wb_artifact_new(&art, rest, type)))
			return fail("put", rc);
		if (metadata && (rc = wb_artifact_set_metadata(art, metadata))) {
			wb_artifact_free(art);
			return fail("put", rc);
		}
		for (size_t i = 1; i < npos; i++) {
			struct stat st;
			if (stat(pos[i], &st) == 0 && S_ISDIR(st.st_mode))
				rc = wb_artifact_add_dir(art, pos[i], NULL);
			else
				rc = wb_artifact_add_file(art, pos[i], NULL);
			if (rc) {
				wb_artifact_free(art);
				return fail("put", rc);
			}
		}
		rc = wb_artifact_upload(&o, art, aliases, naliases, &v, &created, &bytes);
		wbs__progress_end(&pg);
		wb_artifact_free(art);
		if (rc)
			return fail("put", rc);
		printf("%s/%s/%s:v%" PRId64 " %s, %" PRIu64 " bytes uploaded\n", e, p, rest, v,
		       created ? "created" : "unchanged", bytes);
		return 0;
	}
	fprintf(stderr, "wb artifact: unknown subcommand %s\n%s", sub, art_usage);
	return 2;
}

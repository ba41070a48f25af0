/*
 * xfer.h — what `wb export` (cmd_export.c) and `wb import` (cmd_import.c)
 * share: a small blocking client of the server's /api/v1 (libcurl), the
 * server/key options, and the archive layout.
 *
 * Archive (a .tar.gz written and read with libarchive):
 *   manifest.json                          {"format":"wb-export","version":1,"runs":[{"entity","project","id"}]}
 *   runs/E/P/R/run.json                    the run object exactly as GET .../runs/R answers
 *   runs/E/P/R/metrics/index.json          [{"key","file","count"}] (keys may hold '/')
 *   runs/E/P/R/metrics/NNNNNN.csv          step,value,bits — full resolution; value with %.17g
 *                                          (NaN, Infinity, -Infinity spelled out), bits the
 *                                          IEEE-754 pattern in hex (NaN payloads exact)
 *   runs/E/P/R/code/NAME                   the code capture's patches, byte for byte
 *   runs/E/P/R/artifacts/...               reserved for artifacts' files (issue 6)
 *
 * Threads: single-threaded commands.
 */
#ifndef WB_SERVER_XFER_H
#define WB_SERVER_XFER_H

#include <stddef.h>

typedef struct wbs__api {
	char base[1024]; /* no trailing '/' */
	char key[256];
} wbs__api;

typedef struct wbs__api_resp {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
} wbs__api_resp;

/* Fill a from --base-url/--api-key if given, else WB_BASE_URL/WB_API_KEY, else the settings file. 0 or -1. */
int wbs__api_init(wbs__api *a, const char *base, const char *key, char *err, size_t errlen);
/* One request: method, path (under base, starting with '/'), optional body with content type. 0, or -1 on a
 * transport error (err). The caller frees out->body. */
int wbs__api_do(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		const char *ctype, wbs__api_resp *out, char *err, size_t errlen);

#endif /* WB_SERVER_XFER_H */

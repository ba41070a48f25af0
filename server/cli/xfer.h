/*
 * xfer.h — what `wb export` (cmd_export.c) and `wb import` (cmd_import.c)
 * share: a small blocking client of the server's /api/v1 (libcurl), the
 * server/key options, and the archive layout.
 *
 * Archive (a .tar.gz written and read with libarchive), format version 2:
 *   manifest.json                          {"format":"wb-export","version":2,"wb":"x.y.z",
 *                                           "runs":[{"entity","project","id"}],
 *                                           "artifacts":[{"entity","project","name"}],
 *                                           "projects":[{"entity","name","created_at",
 *                                                        "updated_at","visibility"}]}
 *                                          (projects: as GET /api/v1/projects lists them; an
 *                                          archive without them still imports)
 *   runs/E/P/R/run.json                    the run object exactly as GET .../runs/R answers
 *   runs/E/P/R/metrics/index.json          [{"key","file","count"}] (keys may hold '/')
 *   runs/E/P/R/metrics/NNNNNN.csv          step,value,bits — full resolution; value with %.17g
 *                                          (NaN, Infinity, -Infinity spelled out), bits the
 *                                          IEEE-754 pattern in hex (NaN payloads exact)
 *   runs/E/P/R/code/NAME                   the code capture's patches, byte for byte
 *   runs/E/P/R/media/index.json            [{"kind","key","file","count"}]: the rich data
 *   runs/E/P/R/media/NNNNNN.json           every value of one kind and key, in step order, each
 *                                          as GET .../media/{kind}?key=K answers it (histogram
 *                                          edges and counts, image sha256/mime/size/caption,
 *                                          table), never downsampled
 *   artifacts/E/P/NAME.json                {"artifact": GET .../artifacts/NAME,
 *                                           "versions": [GET .../artifacts/NAME/vN, oldest first]}:
 *                                          type, versions with their files (path, sha256, size,
 *                                          ref), metadata, aliases, and lineage (produced_by,
 *                                          used_by runs)
 *   images/SHA256                          the bytes of an image, once per content
 *   blobs/SHA256                           the bytes of an artifact file, once per content
 *                                          (references have none: only their URI is kept)
 *
 * The entries come in that order: the small JSON and CSV first, the image
 * and blob bytes last, so an importer can read and check everything small
 * before it meets a byte of a blob. Version 1 archives (no media, no
 * artifacts, no images/ or blobs/) are still read.
 *
 * Threads: single-threaded commands.
 */
#ifndef WB_SERVER_XFER_H
#define WB_SERVER_XFER_H

#include <stddef.h>

#define WBS__XFER_FORMAT "wb-export"
/* The string member k of a cJSON object, or NULL (also when it is not a string). */
#define WBS__JSTR(obj, k) cJSON_GetStringValue(cJSON_GetObjectItem(obj, k))
#define WBS__XFER_VERSION 2

typedef struct wbs__api {
	char base[1024]; /* no trailing '/' */
	char key[256];
} wbs__api;

typedef struct wbs__api_resp {
	long status;
	char *body; /* NUL-terminated, malloc'd (NULL when a sink took a 2xx body) */
	size_t len;
} wbs__api_resp;

/* Takes n bytes of an answer's body; returns 0 to go on, -1 to stop the transfer (with its own message). */
typedef int (*wbs__api_sink)(const void *p, size_t n, void *arg);

/* One request. body/len/ctype: an optional body; header: one more header line ("Name: value") or NULL;
 * sink: when not NULL, the body of a 2xx answer goes there piece by piece (never whole in memory), any
 * other answer's body to out->body as usual. */
typedef struct wbs__api_req {
	const char *method, *path; /* path under base, starting with '/' */
	const void *body;
	size_t len;
	const char *ctype;
	const char *header;
	wbs__api_sink sink;
	void *sink_arg;
} wbs__api_req;

/* Fill a from --base-url/--api-key if given, else WB_BASE_URL/WB_API_KEY, else the settings file. 0 or -1. */
int wbs__api_init(wbs__api *a, const char *base, const char *key, char *err, size_t errlen);
/* Send rq: 0 (out->status is the HTTP status), or -1 on a transport error or a sink's stop (err). The
 * caller frees out->body. */
int wbs__api_request(const wbs__api *a, const wbs__api_req *rq, wbs__api_resp *out, char *err, size_t errlen);
/* The common case of wbs__api_request: no extra header, the answer in out->body. */
int wbs__api_do(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		const char *ctype, wbs__api_resp *out, char *err, size_t errlen);
/* wbs__api_do expecting the status want (any 2xx when 0): 0 with the answer in out (the caller frees
 * out->body), else -1 with "METHOD path: http N: answer" in err and nothing to free. */
int wbs__api_call(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		  const char *ctype, long want, wbs__api_resp *out, char *err, size_t errlen);
/* Percent-encode s for a query string into out (cap >= 3 * strlen(s) + 1, else -1). */
int wbs__qenc(char *out, size_t cap, const char *s);

#endif /* WB_SERVER_XFER_H */

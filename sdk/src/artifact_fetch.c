/*
 * artifact_fetch.c — downloading artifacts: wb_artifact_download and
 * wb_run_use_artifact (which also records the use in the run).
 *
 * Download. The version is fetched by number (an alias could move while we
 * read), each file streamed into <dir>/<path>.wbpart-XXXX while hashed,
 * checked against its SHA-256 and size, and renamed into place. Paths from
 * the server are validated like the server validates them, so a hostile
 * answer cannot write outside dir or into a .git directory there (git
 * would run a .git/config's commands or a hook); every path is checked
 * before the first file is written.
 *
 * A file already in dir with the right size and hash is not fetched again.
 * Requests go through artifact_push.c's transport (retried until the
 * deadline; a retried file starts over).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact_int.h"
#include "error.h"
#include "json.h"
#include "names.h"
#include "run.h"
#include "util.h"

/* ---- download ---- */

/* Split "name[:sel]" into name and sel ("latest" when absent). */
static int spec_split(const char *spec, char name[65], char sel[65])
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	size_t nl = colon ? (size_t)(colon - spec) : (spec ? strlen(spec) : 0);

	if (!spec || nl == 0 || nl > 64)
		return wb__error(WB_EINVAL, "an artifact is named name, name:alias or name:v<N>");
	memcpy(name, spec, nl);
	name[nl] = '\0';
	snprintf(sel, 65, "%s", colon ? colon + 1 : "latest");
	if (!wb__name_valid(name) || strcmp(name, "blobs") == 0 || !wb__name_valid(sel) ||
	    (colon && strlen(colon + 1) > 64))
		return wb__error(WB_EINVAL, "an artifact is named name, name:alias or name:v<N>");
	return WB_OK;
}

/* 1 if path holds size bytes hashing to sha. */
static int have_file(const char *path, const char *sha, uint64_t size, uint8_t *buf)
{
	wb__art_entry e;
	struct stat st;
	int ok;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return 0;
	memset(&e, 0, sizeof(e));
	e.local = (char *)(uintptr_t)path;
	ok = wb__art_hash_file(&e, buf, NULL) == WB_OK && strcmp(e.sha, sha) == 0;
	return ok;
}

/* A file being downloaded: written to fd and hashed as it arrives, at
 * most max bytes. err: why the transfer was stopped. */
typedef struct dl_file {
	int fd;
	EVP_MD_CTX *ctx;
	uint64_t bytes, max;
	int err;
	wb__art_pg *pg; /* NULL, or the caller's progress */
} dl_file;

/* The sink of a file's GET (see wb__http_req). */
static int dl_write(void *arg, const void *data, size_t n)
{
	dl_file *f = arg;

	if (f->bytes + n > f->max)
		return f->err = WB_ECORRUPT;
	for (size_t o = 0; o < n;) {
		ssize_t w = write(f->fd, (const char *)data + o, n - o);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return f->err = WB_EIO;
		o += (size_t)w;
	}
	EVP_DigestUpdate(f->ctx, data, n);
	f->bytes += n;
	wb__art_pg_move(f->pg, n, 0);
	return WB_OK;
}

/* Download path of version into dir, checked against sha and size, with
 * ctx (a SHA-256 context to reuse) and buf (WB__ART_CHUNK bytes); pg (may
 * be NULL) counts the bytes. */
static int fetch_file(wb__http *h, const char *name, int64_t version, const char *dir, const char *path,
		      const char *sha, uint64_t size, EVP_MD_CTX *ctx, uint8_t *buf, int64_t deadline, wb__art_pg *pg)
{
	char *target = NULL, *tmp = NULL, *suffix = NULL, *esc = NULL, *slash;
	dl_file f = {.fd = -1, .ctx = ctx, .max = size, .pg = pg};
	uint64_t pg_at = pg ? pg->p.done : 0;
	wb__http_req r = {.method = "GET", .resp_max = WB__ART_RESP_MAX, .sink = dl_write, .sink_arg = &f};
	unsigned char d[32];
	char got[65];
	int rc = WB_OK;
	int64_t delay = 0;

	if ((rc = wb__asprintf(&target, "%s/%s", dir, path)))
		return rc;
	if (have_file(target, sha, size, buf)) {
		wb__art_pg_move(pg, size, 0);
		goto done;
	}
	slash = strrchr(target, '/');
	*slash = '\0';
	rc = wb__mkdir_p(target);
	*slash = '/';
	if (rc)
		goto done;
	if ((rc = wb__http_escape(h, path, &esc)) ||
	    (rc = wb__asprintf(&suffix, "/%s/v%" PRId64 "/file?path=%s", name, version, esc)) ||
	    (rc = wb__asprintf(&tmp, "%s.wbpart-%08x", target, (unsigned)wb__random_u64())))
		goto done;
	r.suffix = suffix;
	for (;;) {
		f.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (f.fd < 0) {
			rc = wb__error(WB_EIO, "cannot create %s: %s", tmp, strerror(errno));
			goto done;
		}
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		f.bytes = 0;
		f.err = 0;
		wb__art_pg_move(pg, 0, pg_at); /* a retry starts the file over */
		rc = wb__http_request(h, &r, deadline, NULL);
		close(f.fd);
		f.fd = -1;
		if (f.err == WB_EIO) {
			rc = wb__error(WB_EIO, "cannot write %s", tmp);
			goto done;
		}
		if (rc == WB_OK || f.err || !wb__art_retry(h, rc, &delay, deadline))
			break;
	}
	if (rc == WB_OK || f.err == WB_ECORRUPT) {
		EVP_DigestFinal_ex(ctx, d, NULL);
		wb__hexify(d, 32, got);
		if (f.err == WB_ECORRUPT || f.bytes != size || strcmp(got, sha) != 0) {
			rc = wb__error(WB_ECORRUPT, "download of %s does not match its sha256 %.12s... or size %" PRIu64, path,
				       sha, size);
			goto done;
		}
		if (rename(tmp, target) != 0) {
			rc = wb__error(WB_EIO, "cannot rename %s: %s", tmp, strerror(errno));
			goto done;
		}
	}
done:
	if (tmp && rc)
		unlink(tmp);
	free(esc);
	free(target);
	free(tmp);
	free(suffix);
	return rc;
}

/* Download version spec of the artifact into dir; pg (may be NULL) counts the bytes. */
static int download(wb__http *h, const char *spec, const char *dir, int64_t deadline, char name_out[65],
		    int64_t *version, wb__art_pg *pg)
{
	uint64_t total = 0;
	char name[65], sel[65], *suffix = NULL;
	cJSON *j = NULL;
	const cJSON *files, *f;
	uint8_t *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc;

	*version = -1;
	if (!dir)
		return wb__error(WB_EINVAL, "dir must not be NULL");
	if ((rc = spec_split(spec, name, sel)))
		return rc;
	if ((rc = wb__asprintf(&suffix, "/%s/%s", name, sel)))
		return rc;
	if ((rc = wb__art_call(h, "GET", suffix, NULL, deadline, &j)))
		goto done;
	if (!wb__json_get_i64(cJSON_GetObjectItemCaseSensitive(j, "info"), "index", version)) {
		rc = wb__error(WB_ESERVER, "the version answer has no index");
		goto done;
	}
	/* every listed file is checked before the first is written: a version
	 * naming a path outside dir or inside .git (a hostile server, or one
	 * committed before the server refused them) writes nothing at all */
	files = cJSON_GetObjectItemCaseSensitive(j, "files");
	cJSON_ArrayForEach(f, files)
	{
		const char *path = wb__json_get_str(f, "path"), *sha = wb__json_get_str(f, "sha256");
		uint64_t size;
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "ref")))
			continue; /* a reference: recorded, not stored */
		if (!path || !wb__art_path_valid(path, strlen(path))) {
			rc = wb__error(WB_ESERVER,
				       "the version lists file %.200s: not a path wb writes (relative, no ., .. or .git segment)",
				       path ? path : "(none)");
			goto done;
		}
		if (!sha || !wb__sha_hex_valid(sha) || !wb__json_get_u64(f, "size", &size)) {
			rc = wb__error(WB_ESERVER, "the server listed file %.200s with a bad sha256 or size", path);
			goto done;
		}
		total = size > UINT64_MAX - total ? UINT64_MAX : total + size; /* only shown: saturate */
	}
	wb__art_pg_begin(pg, "downloading", total);
	if ((rc = wb__mkdir_p(dir)))
		goto done;
	if (!(buf = malloc(WB__ART_CHUNK)) || !(ctx = EVP_MD_CTX_new())) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	cJSON_ArrayForEach(f, files)
	{
		const char *path = wb__json_get_str(f, "path"), *sha = wb__json_get_str(f, "sha256");
		uint64_t size = 0;
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "ref")))
			continue;
		wb__json_get_u64(f, "size", &size);
		if ((rc = fetch_file(h, name, *version, dir, path, sha, size, ctx, buf, deadline, pg)))
			goto done;
	}
	snprintf(name_out, 65, "%s", name);
done:
	EVP_MD_CTX_free(ctx);
	free(buf);
	free(suffix);
	cJSON_Delete(j);
	return rc;
}

int wb_artifact_download(const wb_artifact_options *opts, const char *spec, const char *dir, int64_t *out_version)
{
	wb__art_where w;
	wb__http *h = NULL;
	char name[65];
	int64_t v = -1;
	wb__art_pg pg;
	int rc;

	if (out_version)
		*out_version = -1;
	if ((rc = wb__art_where_load(&w, opts)))
		return rc;
	wb__art_pg_init(&pg, opts);
	if (!(rc = wb__art_http(&h, w.base_url, w.api_key, w.entity, w.project, NULL)))
		rc = download(h, spec, dir, wb__art_deadline(opts ? opts->timeout_ms : 0), name, &v, &pg);
	if (out_version)
		*out_version = v;
	wb__http_free(h);
	wb__art_where_free(&w);
	return rc;
}

int wb_run_use_artifact(wb_run *run, const char *spec, const char *dir, int64_t *out_version)
{
	wb__http *h = NULL;
	cJSON *use = NULL;
	char name[65];
	int64_t v = -1;
	int rc;

	if (out_version)
		*out_version = -1;
	if (!run)
		return wb__error(WB_EINVAL, "run must not be NULL");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if ((rc = wb__art_run_entity(run, wb__art_deadline(0))) ||
	    (rc = wb__art_http(&h, run->s.base_url, run->s.api_key, run->s.entity, run->s.project, run->s.ca_file)))
		return rc;
	rc = download(h, spec, dir, wb__art_deadline(0), name, &v, NULL);
	wb__http_free(h);
	if (rc)
		return rc;
	if (!(use = cJSON_CreateObject()) || !cJSON_AddStringToObject(use, "artifact", name) ||
	    !cJSON_AddItemToObject(use, "version", wb__json_int(v)))
		rc = wb__error(WB_ENOMEM, "out of memory");
	else
		rc = wb__run_push_json(run, WB__REC_ARTIFACT_USE, use);
	cJSON_Delete(use);
	if (out_version)
		*out_version = v;
	return rc;
}

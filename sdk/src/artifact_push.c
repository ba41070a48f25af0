/*
 * artifact_push.c — uploading artifacts through the
 * content-addressed blob API: wb_artifact_upload, wb_run_log_artifact, and
 * finishing logged artifacts from `wb sync`.
 *
 * Upload. Every file is hashed (SHA-256) when the artifact is logged; the
 * manifest (paths, hashes, sizes, the local file names and their
 * modification times) goes into the run log as an ARTIFACT record before a
 * byte is sent, so a crash at any later point leaves what `wb sync` needs.
 * Then: ask the server which blobs it lacks (and how much of each it has
 * from an interrupted upload), send only those, from where they stopped,
 * in chunks of WB__ART_CHUNK bytes read with pread into one buffer (a file
 * is never whole in memory). Each chunk carries its CRC-32 (zlib's, ~4x
 * cheaper than a second SHA-256 pass; the whole is SHA-256-checked
 * anyway), checked by the server as it arrives; the server hashes the whole as it
 * arrives and refuses the last chunk unless the whole is the SHA-256 the
 * blob is named by, and the client sends the last chunk only if the file's
 * size and mtime are the ones it was hashed with. So a file that changes
 * during the upload is refused (WB_ECORRUPT) instead of landing half-old,
 * and the file is read twice (hash, send), not three times. The
 * first chunk of a file is test-compressed: if gzip saves at least 10% the
 * file's chunks go gzip'ed (Content-Encoding), else raw (random weights,
 * already compressed data). Finally the version is committed with the
 * manifest; the server answers with the version (the existing one when the
 * content is the same) and an ARTIFACT_DONE record closes the intent.
 *
 * Transport. Artifact requests go through upload.c's client (the SDK's
 * one), on a connection of their own (keep-alive across chunks), not the
 * run uploader's: a multi-gigabyte upload must not hold up metrics. Its
 * errors are upload.c's: WB_ENET for the network, WB_EAUTH, WB_ENOTFOUND,
 * WB_ESERVER with the server's own message; network errors, 5xx (but 507:
 * the disk is full), 408, 429 and 409 upload_busy are retried with its
 * backoff (the server's Retry-After when longer) until the deadline.
 * artifact_fetch.c uses the same transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "artifact.h"
#include "artifact_int.h"
#include "error.h"
#include "json.h"
#include "names.h"
#include "run.h"
#include "runlog.h"
#include "settings.h"
#include "util.h"

#define ART_DEFAULT_TIMEOUT_MS 600000u
#define REQUEST_TIMEOUT_MS 120000
#define SAMPLE_BYTES (256u * 1024u)

/* ---- transport: upload.c's client ---- */

static const char *const HDR_JSON[] = {"Content-Type: application/json", NULL};

/* A connection for the artifacts of entity/project on base_url, verifying
 * an https server with ca_file (NULL: WB_CA_FILE, if set). */
int wb__art_http(wb__http **out, const char *base_url, const char *api_key, const char *entity,
		 const char *project, const char *ca_file)
{
	char *url = NULL;
	int rc;

	*out = NULL;
	if ((rc = wb__asprintf(&url, "%s/api/v1/projects/%s/%s/artifacts", base_url, entity, project)))
		return rc;
	rc = wb__http_open(out, url, "artifacts", api_key, REQUEST_TIMEOUT_MS);
	free(url);
	if (rc == WB_OK && ca_file && (rc = wb__http_set_ca_file(*out, ca_file))) {
		wb__http_free(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * 1 if a failed artifact request is worth another try: what
 * wb__http_retryable says, but not 507 (the server's disk is full); and a
 * garbled 2xx answer, since every artifact request is idempotent (a chunk
 * sent twice meets offset_mismatch, a commit the same digest), and 409
 * upload_busy (another upload of the blob is in flight).
 */
static int art_retryable(const wb__http *h, int rc)
{
	long st = wb__http_status(h);

	if (rc == WB_ESERVER && ((st >= 200 && st < 300) || strcmp(wb__http_error_code(h), "upload_busy") == 0))
		return 1;
	return st != 507 && wb__http_retryable(h, rc);
}

/* After a failed request: wait a backoff step (or the server's
 * Retry-After) and return 1 if worth retrying before deadline. */
int wb__art_retry(const wb__http *h, int rc, int64_t *delay, int64_t deadline)
{
	return art_retryable(h, rc) && wb__http_retry_wait(h, delay, deadline);
}

/* method on suffix with json (may be NULL) as the body, retried until it
 * succeeds or it is not worth trying again. *out: the JSON answer (the
 * caller frees), NULL on an error. */
int wb__art_call(wb__http *h, const char *method, const char *suffix, const char *json, int64_t deadline,
		 cJSON **out)
{
	wb__http_req r = {.method = method,
			  .suffix = suffix,
			  .headers = json ? HDR_JSON : NULL,
			  .body = json,
			  .len = json ? strlen(json) : 0,
			  .resp_max = WB__ART_RESP_MAX};
	int64_t delay = 0;
	int rc;

	while ((rc = wb__http_request(h, &r, deadline, out)) != WB_OK) {
		cJSON_Delete(*out);
		*out = NULL;
		if (!wb__art_retry(h, rc, &delay, deadline))
			break;
	}
	return rc;
}
/* gzip in[0..n) into u->zbuf; its size, or 0 if it does not fit (the
 * chunk is then sent as it is). */
static size_t gzip_chunk(wb__art_upctx *u, const uint8_t *in, size_t n)
{
	size_t out = 0;
	return wb__gzip(&u->z, in, n, u->zbuf, u->zcap, &out) == WB_OK ? out : 0;
}

/* Ask the server for the blob's state: 1 present, 0 absent (*received: bytes it has). */
static int blob_state(wb__art_upctx *u, const char *sha, uint64_t *received, int *present)
{
	char suffix[120];
	cJSON *j = NULL;
	int rc;

	snprintf(suffix, sizeof(suffix), "/blobs/%s", sha);
	if ((rc = wb__art_call(u->h, "GET", suffix, NULL, u->deadline, &j)))
		return rc;
	*present = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "present"));
	if (!wb__json_get_u64(j, "received", received))
		*received = 0;
	cJSON_Delete(j);
	return WB_OK;
}

/*
 * Upload e's blob from offset start (what the server has). The server
 * hashes what it receives and refuses the last chunk when the whole does
 * not hash to e->sha; before that last chunk the file's size and mtime
 * are checked against the ones it was hashed with. Either way a file that
 * changed since it was hashed is WB_ECORRUPT and no blob appears.
 */
static int put_blob(wb__art_upctx *u, const wb__art_entry *e, uint64_t start)
{
	struct stat st;
	char suffix[200], chdr[100];
	wb__http_req req = {.method = "PUT", .suffix = suffix, .resp_max = WB__ART_RESP_MAX};
	int fd = -1, rc = WB_OK, gz = -1;
	uint64_t off = start;
	int64_t delay = 0;

	fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return wb__error(errno == ENOENT ? WB_ENOTFOUND : WB_EIO, "cannot open %s: %s", e->local, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != e->size ||
	    (e->mtime_ns >= 0 && wb__mtime_ns(&st) != e->mtime_ns)) {
		rc = wb__error(WB_ECORRUPT, "%s changed since it was added to artifact file %s", e->local, e->path);
		goto done;
	}
	if (off > e->size)
		off = 0;
	for (;;) {
		size_t n = e->size - off < u->chunk ? (size_t)(e->size - off) : u->chunk, body_len;
		const uint8_t *body = u->buf;
		uLong crc;
		const char *hdrs[4] = {chdr, "Content-Type: application/octet-stream", NULL, NULL};
		cJSON *j = NULL;
		uint64_t received = 0;

		/* read in 1 MiB slices, each checksummed while it is in cache */
		crc = crc32(0L, Z_NULL, 0);
		for (size_t o = 0; o < n;) {
			size_t want = n - o < (1u << 20) ? n - o : (1u << 20);
			ssize_t r = pread(fd, u->buf + o, want, (off_t)(off + o));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = wb__error(WB_ECORRUPT, "%s changed during the upload (it got shorter)", e->local);
				goto done;
			}
			crc = crc32(crc, u->buf + o, (uInt)r);
			o += (size_t)r;
		}
		if (off + n == e->size && (fstat(fd, &st) != 0 || (uint64_t)st.st_size != e->size ||
					   (e->mtime_ns >= 0 && wb__mtime_ns(&st) != e->mtime_ns))) {
			rc = wb__error(WB_ECORRUPT, "%s changed during the upload", e->local);
			goto done;
		}
		snprintf(chdr, sizeof(chdr), "X-Chunk-Crc32: %08lx", (unsigned long)crc);
		body_len = n;
		if (gz < 0 && n > 0) { /* test the first chunk on a sample */
			size_t sample = n < SAMPLE_BYTES ? n : SAMPLE_BYTES, zn = gzip_chunk(u, u->buf, sample);
			gz = zn > 0 && zn < sample - sample / 10;
		}
		if (gz > 0) {
			size_t zn = gzip_chunk(u, u->buf, n);
			if (zn > 0 && zn < n) {
				body = u->zbuf;
				body_len = zn;
				hdrs[2] = "Content-Encoding: gzip";
			}
		}
		snprintf(suffix, sizeof(suffix), "/blobs/%s?offset=%" PRIu64 "&size=%" PRIu64, e->sha, off, e->size);
		req.headers = hdrs;
		req.body = body;
		req.len = body_len;
		rc = wb__http_request(u->h, &req, u->deadline, &j);
		if (rc) {
			cJSON_Delete(j);
			j = NULL;
		}
		if (rc == WB_OK) {
			int complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "complete"));
			if (!wb__json_get_u64(j, "received", &received))
				received = 0;
			cJSON_Delete(j);
			delay = 0;
			if (received == off + n) {
				u->sent += n;
				wb__art_pg_move(u->pg, n, 0);
			}
			if (complete)
				break;
		} else if (wb__http_status(u->h) == 409 && strcmp(wb__http_error_code(u->h), "offset_mismatch") == 0) {
			int present;
			if ((rc = blob_state(u, e->sha, &received, &present)))
				goto done;
			if (present)
				break;
		} else if (wb__http_status(u->h) == 400 && strcmp(wb__http_error_code(u->h), "checksum_mismatch") == 0 &&
			   off + n == e->size) {
			rc = wb__error(WB_ECORRUPT, "%s changed during the upload: it no longer hashes to %.12s...", e->local,
				       e->sha);
			goto done;
		} else if (wb__art_retry(u->h, rc, &delay, u->deadline)) {
			continue;
		} else {
			goto done;
		}
		/* go on from what the server has */
		off = received <= e->size ? received : 0;
	}
	rc = WB_OK;
done:
	close(fd);
	return rc;
}

int wb__art_upctx_init(wb__art_upctx *u, int64_t deadline)
{
	const char *cs = getenv("WB_ARTIFACT_CHUNK_BYTES");
	memset(u, 0, sizeof(*u));
	u->chunk = WB__ART_CHUNK;
	if (cs && *cs) {
		long v = strtol(cs, NULL, 10);
		if (v >= 4096 && v <= (long)WB__ART_CHUNK)
			u->chunk = (size_t)v;
	}
	u->deadline = deadline;
	u->zcap = wb__gzip_bound(WB__ART_CHUNK);
	u->buf = malloc(WB__ART_CHUNK);
	u->zbuf = malloc(u->zcap);
	if (!u->buf || !u->zbuf) {
		free(u->buf);
		free(u->zbuf);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	return WB_OK;
}

void wb__art_upctx_free(wb__art_upctx *u)
{
	free(u->buf);
	free(u->zbuf);
	wb__gzip_free(&u->z);
}

/*
 * Upload what the server lacks of a (hashed) and commit the version.
 */
static int push(wb__art_upctx *u, const wb_artifact *a, const char *const *aliases, size_t naliases, const char *run_id,
		int64_t *version, int *created)
{
	cJSON *body = NULL, *ans = NULL, *check = NULL, *list;
	char *text = NULL, *suffix = NULL;
	int rc, attempt;

	*version = -1;
	*created = 0;
	for (attempt = 0; attempt < 3; attempt++) {
		/* 1. which blobs are missing */
		if (!(check = cJSON_CreateObject()) || !(list = cJSON_AddArrayToObject(check, "blobs"))) {
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		for (size_t i = 0; i < a->n; i++) {
			cJSON *o;
			if (a->e[i].ref)
				continue;
			o = cJSON_CreateObject();
			if (!o || !cJSON_AddItemToArray(list, o) || !cJSON_AddStringToObject(o, "sha256", a->e[i].sha)) {
				cJSON_Delete(o);
				rc = wb__error(WB_ENOMEM, "out of memory");
				goto done;
			}
		}
		if ((rc = wb__json_print(check, &text, NULL)))
			goto done;
		cJSON_Delete(check);
		check = NULL;
		rc = wb__art_call(u->h, "POST", "/blobs/check", text, u->deadline, &ans);
		free(text);
		text = NULL;
		if (rc)
			goto done;
		/* 2. send them, each from what the server has */
		{
			const cJSON *m, *missing = cJSON_GetObjectItemCaseSensitive(ans, "missing");
			uint64_t left = 0;
			cJSON_ArrayForEach(m, missing)
			{
				const char *sha = wb__json_get_str(m, "sha256");
				uint64_t received = 0;
				wb__json_get_u64(m, "received", &received);
				for (size_t i = 0; sha && i < a->n; i++)
					if (!a->e[i].ref && strcmp(a->e[i].sha, sha) == 0) {
						left += received < a->e[i].size ? a->e[i].size - received : 0;
						break;
					}
			}
			wb__art_pg_begin(u->pg, "uploading", left);
			cJSON_ArrayForEach(m, missing)
			{
				const char *sha = wb__json_get_str(m, "sha256");
				uint64_t received = 0;
				if (!sha)
					continue;
				wb__json_get_u64(m, "received", &received);
				for (size_t i = 0; i < a->n; i++) {
					if (a->e[i].ref || strcmp(a->e[i].sha, sha) != 0)
						continue;
					if ((rc = put_blob(u, &a->e[i], received)))
						goto done;
					break; /* one file of this content is enough */
				}
			}
		}
		cJSON_Delete(ans);
		ans = NULL;
		/* 3. commit */
		if (!(body = wb__art_manifest(a, aliases, naliases, run_id, 0, NULL))) {
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = wb__json_print(body, &text, NULL)))
			goto done;
		cJSON_Delete(body);
		body = NULL;
		if ((rc = wb__asprintf(&suffix, "/%s", a->name)))
			goto done;
		rc = wb__art_call(u->h, "POST", suffix, text, u->deadline, &ans);
		free(text);
		text = NULL;
		free(suffix);
		suffix = NULL;
		if (rc == WB_OK) {
			int64_t v;
			if (!wb__json_get_i64(ans, "index", &v)) {
				rc = wb__error(WB_ESERVER, "the commit answer has no version");
				goto done;
			}
			*version = v;
			*created = wb__http_status(u->h) == 201;
			goto done;
		}
		if (!(wb__http_status(u->h) == 409 && strcmp(wb__http_error_code(u->h), "missing_blobs") == 0))
			goto done; /* a blob was collected after our check: check again */
	}
done:
	cJSON_Delete(check);
	cJSON_Delete(body);
	cJSON_Delete(ans);
	free(text);
	free(suffix);
	return rc;
}

static int aliases_check(const char *const *aliases, size_t n)
{
	if (n && !aliases)
		return wb__error(WB_EINVAL, "aliases must not be NULL when n > 0");
	if (n > 32)
		return wb__error(WB_EINVAL, "at most 32 aliases");
	for (size_t i = 0; i < n; i++) {
		const char *s = aliases[i];
		if (!wb__name_valid(s) || strcmp(s, "latest") == 0 || strcmp(s, "aliases") == 0 || strcmp(s, "file") == 0 ||
		    (s[0] == 'v' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1)))
			return wb__error(WB_EINVAL, "alias %.64s: an alias matches [A-Za-z0-9_.-]{1,64} and is not latest or v<N>",
					 s ? s : "(null)");
	}
	return WB_OK;
}

int64_t wb__art_deadline(unsigned int timeout_ms)
{
	const char *t = getenv("WB_ARTIFACT_TIMEOUT_MS");
	long v = t && *t ? strtol(t, NULL, 10) : 0;
	if (timeout_ms)
		return wb__mono_ms() + timeout_ms;
	return wb__mono_ms() + (v > 0 ? v : (long)ART_DEFAULT_TIMEOUT_MS);
}

void wb__art_where_free(wb__art_where *w)
{
	free(w->base_url);
	if (w->api_key) {
		memset(w->api_key, 0, strlen(w->api_key));
		free(w->api_key);
	}
	free(w->entity);
	free(w->project);
}

int wb__art_where_load(wb__art_where *w, const wb_artifact_options *o)
{
	wb_init_options io = WB_INIT_OPTIONS_INIT;
	wb__settings s;
	int rc;

	memset(w, 0, sizeof(*w));
	if (o && (o->version < 1 || o->version > WB_ARTIFACT_OPTIONS_VERSION))
		return wb__error(WB_EINVAL, "wb_artifact_options.version %u is not supported", o->version);
	if (o) {
		io.base_url = o->base_url;
		io.api_key = o->api_key;
		io.entity = o->entity;
		io.project = o->project;
	}
	io.mode = WB_MODE_OFFLINE;
	io.disable_git = 1;
	if ((rc = wb__settings_load(&s, &io)))
		return rc;
	w->base_url = s.base_url;
	w->api_key = s.api_key;
	w->entity = s.entity;
	w->project = s.project;
	s.base_url = s.api_key = s.entity = s.project = NULL;
	wb__settings_free(&s);
	/* the key owner's entity: these calls talk to the server anyway */
	if (!w->entity && (rc = wb__whoami(w->base_url, w->api_key, NULL,
					   wb__art_deadline(o ? o->timeout_ms : 0), 1, &w->entity))) {
		wb__art_where_free(w);
		return rc;
	}
	return WB_OK;
}

/* The run's entity for an artifact request: the one it has, else the key
 * owner's, asked of the server until deadline (the uploader learns it on
 * its own thread; both get the same answer for the same key). */
int wb__art_run_entity(wb_run *run, int64_t deadline)
{
	if (run->s.entity)
		return WB_OK;
	return wb__whoami(run->s.base_url, run->s.api_key, run->s.ca_file, deadline, 1, &run->s.entity);
}

int wb_artifact_upload(const wb_artifact_options *opts, wb_artifact *art, const char *const *aliases, size_t n,
		       int64_t *out_version, int *out_created, uint64_t *out_bytes)
{
	wb__art_where w;
	wb__art_upctx u;
	wb__art_pg pg;
	int64_t version = -1;
	int created = 0, rc;

	if (out_version)
		*out_version = -1;
	if (out_created)
		*out_created = 0;
	if (out_bytes)
		*out_bytes = 0;
	if (!art)
		return wb__error(WB_EINVAL, "art must not be NULL");
	if ((rc = aliases_check(aliases, n)))
		return rc;
	if ((rc = wb__art_where_load(&w, opts)))
		return rc;
	if ((rc = wb__art_upctx_init(&u, wb__art_deadline(opts ? opts->timeout_ms : 0)))) {
		wb__art_where_free(&w);
		return rc;
	}
	wb__art_pg_init(&pg, opts);
	u.pg = &pg;
	if (!(rc = wb__art_hash_all(art, u.buf, &pg)) && !(rc = wb__art_http(&u.h, w.base_url, w.api_key, w.entity, w.project, NULL)))
		rc = push(&u, art, aliases, n, NULL, &version, &created);
	if (out_version)
		*out_version = version;
	if (out_created)
		*out_created = created;
	if (out_bytes)
		*out_bytes = u.sent;
	wb__http_free(u.h);
	wb__art_upctx_free(&u);
	wb__art_where_free(&w);
	return rc;
}

/* Log a (its files hashed) from run: ARTIFACT record, upload, ARTIFACT_DONE. */
int wb__art_log_hashed(wb_run *run, wb_artifact *a, const char *const *aliases, size_t n, int64_t deadline,
		       wb__art_upctx *u, int64_t *out_version)
{
	cJSON *intent = NULL, *done = NULL;
	char id[33];
	unsigned char rnd[16];
	int64_t version = -1;
	int created, rc;

	wb__random_bytes(rnd, sizeof(rnd));
	wb__hexify(rnd, sizeof(rnd), id);
	if (!(intent = wb__art_manifest(a, aliases, n, run->id, 1, id))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = wb__run_push_json(run, WB__REC_ARTIFACT, intent)))
		goto out;
	if (run->mode != WB_MODE_ONLINE)
		goto out;
	wb__run_wait_written(run, 5000); /* the intent is in the run log before a byte goes out */
	u->deadline = deadline;
	if ((rc = wb__art_run_entity(run, deadline)) == WB_OK &&
	    (rc = wb__art_http(&u->h, run->s.base_url, run->s.api_key, run->s.entity, run->s.project, run->s.ca_file)))
		goto out;
	if (rc == WB_OK) {
		rc = push(u, a, aliases, n, run->id, &version, &created);
		wb__http_free(u->h);
		u->h = NULL;
	}
	if (rc) {
		wb__warn("artifact %s was not uploaded (%s); it is in the run log: `wb sync %s` uploads it", a->name,
			 wb_errmsg(), run->dir);
		goto out;
	}
	if (!(done = cJSON_CreateObject()) || !cJSON_AddStringToObject(done, "id", id) ||
	    !cJSON_AddItemToObject(done, "version", wb__json_int(version))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto out;
	}
	rc = wb__run_push_json(run, WB__REC_ARTIFACT_DONE, done);
out:
	if (out_version)
		*out_version = version;
	cJSON_Delete(intent);
	cJSON_Delete(done);
	return rc;
}

int wb_run_log_artifact(wb_run *run, wb_artifact *art, const char *const *aliases, size_t n, int64_t *out_version)
{
	wb__art_upctx u;
	int rc;

	if (out_version)
		*out_version = -1;
	if (!run || !art)
		return wb__error(WB_EINVAL, "run and art must not be NULL");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if ((rc = aliases_check(aliases, n)))
		return rc;
	if ((rc = wb__art_upctx_init(&u, 0)))
		return rc;
	if (!(rc = wb__art_hash_all(art, u.buf, NULL)))
		rc = wb__art_log_hashed(run, art, aliases, n, wb__art_deadline(0), &u, out_version);
	wb__art_upctx_free(&u);
	return rc;
}
/* ---- wb sync ---- */

typedef struct sync_scan {
	cJSON **intents;
	size_t n, cap;
	char (*done)[33];
	size_t ndone, donecap;
	int oom;
} sync_scan;

static int sync_visit(void *arg, const wb__frame *f)
{
	sync_scan *s = arg;
	cJSON *j;

	if (f->type != WB__REC_ARTIFACT && f->type != WB__REC_ARTIFACT_DONE)
		return 0;
	j = wb__json_parse((const char *)f->payload, f->len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return 0;
	}
	if (f->type == WB__REC_ARTIFACT_DONE) {
		const char *id = wb__json_get_str(j, "id");
		if (id && wb__reserve(&s->done, &s->donecap, s->ndone, 1, sizeof(*s->done), WB__ART_RECORDS_MAX,
				      "artifact records in the run log")) {
			s->oom = 1;
			cJSON_Delete(j);
			return WB_ENOMEM;
		}
		if (id)
			snprintf(s->done[s->ndone++], 33, "%s", id);
		cJSON_Delete(j);
		return 0;
	}
	if (wb__reserve(&s->intents, &s->cap, s->n, 1, sizeof(*s->intents), WB__ART_RECORDS_MAX,
			"artifact records in the run log")) {
		cJSON_Delete(j);
		return WB_ENOMEM;
	}
	s->intents[s->n++] = j;
	return 0;
}

/* Rebuild an artifact from an ARTIFACT record. */
static int intent_artifact(const cJSON *j, wb_artifact **out, char ***aliases, size_t *naliases)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files"), *f;
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(j, "aliases");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	wb_artifact *a = NULL;
	int rc;

	*aliases = NULL;
	*naliases = 0;
	if ((rc = wb_artifact_new(&a, wb__json_get_str(j, "name"), wb__json_get_str(j, "type"))))
		return rc;
	if (cJSON_IsObject(meta) && !(a->metadata = cJSON_Duplicate(meta, 1)))
		goto oom;
	cJSON_ArrayForEach(f, files)
	{
		const char *path = wb__json_get_str(f, "path"), *sha = wb__json_get_str(f, "sha256");
		const char *local = wb__json_get_str(f, "local"), *ref = wb__json_get_str(f, "ref");
		uint64_t size = 0;
		if (!path || !sha || !wb__sha_hex_valid(sha) || !wb__json_get_u64(f, "size", &size) || (!local && !ref)) {
			wb_artifact_free(a);
			return wb__error(WB_ECORRUPT, "an artifact record of the run log is malformed");
		}
		if ((rc = wb__art_add_entry(a, wb__strdup(path), local ? wb__strdup(local) : NULL, ref ? wb__strdup(ref) : NULL,
				    sha, size))) {
			wb_artifact_free(a);
			return rc;
		}
		/* replayed: the content is checked against the recorded hash, the mtime is not */
	}
	if (cJSON_IsArray(al) && cJSON_GetArraySize(al) > 0) {
		int n = cJSON_GetArraySize(al);
		const cJSON *s;
		if (!(*aliases = calloc((size_t)n, sizeof(char *))))
			goto oom;
		cJSON_ArrayForEach(s, al)
		{
			if (cJSON_IsString(s) && !((*aliases)[(*naliases)++] = wb__strdup(s->valuestring)))
				goto oom;
		}
	}
	*out = a;
	return WB_OK;
oom:
	wb_artifact_free(a);
	return wb__error(WB_ENOMEM, "out of memory");
}

int wb__artifact_sync(int fd, uint64_t end, const char *base_url, const char *api_key, const char *entity,
		      const char *project, const char *run_id, int64_t deadline, uint64_t *ndone)
{
	sync_scan s;
	wb__runlog_info info;
	wb__art_upctx u;
	int rc, first = WB_OK;

	*ndone = 0;
	memset(&s, 0, sizeof(s));
	(void)end;
	if ((rc = wb__runlog_scan(fd, &info, sync_visit, &s)))
		goto out;
	if (s.n == 0)
		goto out;
	if ((rc = wb__art_upctx_init(&u, deadline)))
		goto out;
	if ((rc = wb__art_http(&u.h, base_url, api_key, entity, project, NULL))) {
		wb__art_upctx_free(&u);
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		const char *id = wb__json_get_str(s.intents[i], "id");
		wb_artifact *a = NULL;
		char **al = NULL;
		size_t nal = 0;
		int64_t version;
		int created, is_done = 0;
		for (size_t k = 0; id && k < s.ndone; k++)
			is_done |= strcmp(s.done[k], id) == 0;
		if (is_done)
			continue;
		rc = intent_artifact(s.intents[i], &a, &al, &nal);
		if (!rc)
			rc = push(&u, a, (const char *const *)al, nal, run_id, &version, &created);
		if (!rc)
			(*ndone)++;
		else if (!first)
			first = rc;
		for (size_t k = 0; k < nal; k++)
			free(al[k]);
		free(al);
		wb_artifact_free(a);
	}
	wb__http_free(u.h);
	wb__art_upctx_free(&u);
	rc = first;
out:
	for (size_t i = 0; i < s.n; i++)
		cJSON_Delete(s.intents[i]);
	free(s.intents);
	free(s.done);
	return rc;
}

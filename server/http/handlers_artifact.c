/*
 * handlers_artifact.c — the artifact routes (schema/api.md, "Artifacts"):
 *
 *   POST   .../artifacts/blobs/check              which blobs the server lacks
 *   GET    .../artifacts/blobs/{sha256}           whether a blob is there, bytes of a partial upload
 *   PUT    .../artifacts/blobs/{sha256}?offset=&size=   one chunk (X-Chunk-Crc32 or -Sha256, gzip allowed)
 *   GET    .../artifacts                          the project's artifacts
 *   GET    .../artifacts/{name}                   an artifact and its versions
 *   POST   .../artifacts/{name}                   commit a version (manifest)
 *   GET    .../artifacts/{name}/{v|alias}         a version: files, metadata, aliases, lineage
 *   DELETE .../artifacts/{name}/{v|alias}         delete a version, GC its blobs
 *   GET    .../artifacts/{name}/{v|alias}/file?path=P   download a file (Range)
 *   PUT    .../artifacts/{name}/aliases/{alias}   move an alias ({"version":"vN"})
 *   DELETE .../artifacts/{name}/aliases/{alias}
 *   GET    .../runs/{id}/artifacts                what a run produced and used
 *
 * Every name and path from the client is validated here, before the store
 * sees it: artifact, alias and type names like run names, file paths by
 * wbs__art_path_valid (no "..", no absolute path, no empty segment, no
 * ".git" segment, no NUL) in commits and downloads alike, hashes as 64
 * lowercase hex digits. "blobs" is not an artifact name (its routes take
 * that place).
 *
 * The blob routes answer for the caller: a blob is "present" only when
 * the caller may name it (wbs__blob_usable: it uploaded those bytes, or
 * may read a version holding them), and "received" counts the caller's
 * own partial upload. Anyone else is told to upload, and their bytes go to
 * a partial upload of their own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/http_int.h"
#include "model/fields.h"
#include "store/store_artifact.h"
#include "util/sha256.h"

#define CHECK_MAX 10000u

static int art_name_ok(wbs__req *q, const char *name)
{
	if (strcmp(name, "blobs") == 0) {
		wbs__send_error(q, 400, "invalid_argument", "\"blobs\" is reserved and cannot name an artifact");
		return 0;
	}
	return 1;
}

/* A version selector: v<N> or an alias name. */
static int sel_ok(wbs__req *q, const char *sel)
{
	if (!wb__name_valid(sel)) {
		wbs__send_error(q, 400, "invalid_argument", "a version is v<N> or an alias matching [A-Za-z0-9_.-]{1,64}");
		return 0;
	}
	return 1;
}

static void send_store_err(wbs__req *q, const wbs__err *e)
{
	if (e->st == WBS__ART_MISSING)
		wbs__send_error(q, 409, "missing_blobs", "%s", e->msg);
	else
		wbs__send_store_error(q, e);
}

/* ---- blobs ---- */

/*
 * What the caller may be told of blob sha: 1 it is there and the caller may
 * name it (*size), 0 it is not there for this caller (*received: the bytes
 * of the caller's own partial upload), -1 with the answer sent. A blob the
 * caller may not use is "not there": the client then uploads the bytes,
 * which proves it has them (store_artifact.h, "Possession").
 */
static int blob_seen(wbs__req *q, wbs__blob_caller *c, const char *sha, uint64_t *size, uint64_t *received)
{
	wbs__err e = {0};
	int usable = 0;

	if (!wbs__blob_status(q->store, sha, q->user_id, size, received))
		return 0;
	if (wbs__blob_usable(q->store, c, sha, &usable, &e)) {
		wbs__send_store_error(q, &e);
		return -1;
	}
	return usable;
}

void wbs__h_blob_check(wbs__req *q)
{
	size_t present = 0;
	cJSON *j = NULL;
	const cJSON *list, *it;
	wbs__blob_caller c = {.user_id = q->user_id};
	wbs__buf b;
	int first = 1;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__read_json(q, WBS__BODY_REQUIRED, WBS__JSON_BODY_MAX * 4, WBS__JSON_BODY_MAX * 8, &j))
		goto done;
	list = cJSON_GetObjectItemCaseSensitive(j, "blobs");
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > (int)CHECK_MAX) {
		wbs__send_error(q, 400, "invalid_json", "body must be {\"blobs\":[{\"sha256\":...,\"size\":...}]} with at most %u entries",
			       CHECK_MAX);
		goto done;
	}
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(it, "sha256");
		if (!cJSON_IsString(sha) || !wbs__sha256_hex_valid(sha->valuestring)) {
			wbs__send_error(q, 400, "invalid_argument", "sha256 must be 64 lowercase hex digits");
			goto done;
		}
	}
	wbs__buf_puts(&b, "{\"missing\":[");
	cJSON_ArrayForEach(it, list)
	{
		const char *sha = cJSON_GetObjectItemCaseSensitive(it, "sha256")->valuestring;
		uint64_t size, have;
		int seen = blob_seen(q, &c, sha, &size, &have);
		if (seen < 0)
			goto done;
		if (seen) {
			present++;
			continue;
		}
		if (!first)
			wbs__buf_putc(&b, ',');
		first = 0;
		wbs__buf_puts(&b, "{\"sha256\":");
		wbs__json_cstr(&b, sha);
		wbs__buf_puts(&b, ",\"received\":");
		wbs__json_i64(&b, (int64_t)have);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "],\"present\":");
	wbs__json_i64(&b, (int64_t)present);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	cJSON_Delete(j);
	wbs__buf_free(&b);
}

static const char *blob_sha(wbs__req *q)
{
	const char *sha = q->path.seg[5];
	if (!wbs__sha256_hex_valid(sha)) {
		wbs__send_error(q, 400, "invalid_argument", "a blob is named by 64 lowercase hex digits");
		return NULL;
	}
	return sha;
}

void wbs__h_blob_get(wbs__req *q)
{
	const char *sha = blob_sha(q);
	wbs__blob_caller c = {.user_id = q->user_id};
	uint64_t size, have;
	int present;
	wbs__buf b;

	if (!sha || (present = blob_seen(q, &c, sha, &size, &have)) < 0)
		return;
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"sha256\":");
	wbs__json_cstr(&b, sha);
	wbs__buf_printf(&b, ",\"present\":%s,\"received\":", present ? "true" : "false");
	wbs__json_i64(&b, (int64_t)(present ? size : have));
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

static int u64_param(wbs__req *q, const char *name, uint64_t *out)
{
	char v[32];
	int64_t n;
	int r = wbs__query_param(q, name, 0, v, sizeof(v));
	if (r < 0)
		return -1;
	if (r == 0 || wbs__parse_i64(v, 0, INT64_MAX, &n)) {
		wbs__send_error(q, 400, "invalid_argument", "query parameter %s must be a byte count", name);
		return -1;
	}
	*out = (uint64_t)n;
	return 0;
}

/* Chunk bodies: straight from the connection, or from the inflated gzip body. */
struct body_src {
	wbs__req *q;
	const uint8_t *mem; /* inflated body, or NULL: read the connection */
	size_t len, off;
};

static long body_read(void *arg, uint8_t *buf, size_t cap)
{
	struct body_src *b = arg;
	if (b->mem) {
		size_t n = b->len - b->off < cap ? b->len - b->off : cap;
		memcpy(buf, b->mem + b->off, n);
		b->off += n;
		return (long)n;
	}
	return wbs__body_read(b->q, buf, cap);
}

void wbs__h_blob_put(wbs__req *q)
{
	const char *sha = blob_sha(q), *csha, *ccrc, *enc;
	uint32_t crc = 0;
	uint64_t offset, size, received = 0, len;
	uint8_t *body = NULL;
	size_t blen = 0;
	struct body_src src = {q, NULL, 0, 0};
	long long cl = q->ri->content_length;
	int complete = 0, r;
	char msg[300];
	wbs__buf b;

	if (!sha || u64_param(q, "offset", &offset) || u64_param(q, "size", &size))
		return;
	{
		/* a blob the caller may name already: nothing to send (the bytes
		 * of one it may not name are uploaded, which proves possession) */
		wbs__blob_caller c = {.user_id = q->user_id};
		uint64_t have, part;
		int seen = blob_seen(q, &c, sha, &have, &part);
		if (seen < 0)
			return;
		if (seen) {
			received = have;
			complete = 1;
			goto answer;
		}
	}
	csha = mg_get_header(q->conn, "X-Chunk-Sha256");
	if (csha && !wbs__sha256_hex_valid(csha)) {
		wbs__send_error(q, 400, "invalid_argument", "X-Chunk-Sha256 must be 64 lowercase hex digits");
		return;
	}
	ccrc = mg_get_header(q->conn, "X-Chunk-Crc32");
	if (ccrc) {
		char *end = NULL;
		unsigned long v = strtoul(ccrc, &end, 16);
		if (strlen(ccrc) != 8 || !end || *end || v > 0xffffffffUL) {
			wbs__send_error(q, 400, "invalid_argument", "X-Chunk-Crc32 must be 8 hex digits");
			return;
		}
		crc = (uint32_t)v;
	}
	enc = mg_get_header(q->conn, "Content-Encoding");
	if (enc && *enc && strcasecmp(enc, "identity") != 0) {
		/* gzip'ed (compressible) chunks are inflated in memory, within the chunk limit */
		if (wbs__read_body(q, 1, WBS__ART_CHUNK_MAX, WBS__ART_CHUNK_MAX, "invalid_chunk", &body, &blen))
			return;
		src.mem = body ? body : (const uint8_t *)"";
		src.len = blen;
		len = blen;
	} else {
		if (cl < 0 || mg_get_header(q->conn, "Transfer-Encoding")) {
			wbs__send_error(q, 411, "length_required", "content-length is required");
			return;
		}
		if ((unsigned long long)cl > WBS__ART_CHUNK_MAX) {
			wbs__send_error(q, 413, "too_large", "chunk is %lld bytes, over the limit of %u", cl, WBS__ART_CHUNK_MAX);
			return;
		}
		len = (uint64_t)cl;
	}
	if (len == 0 && size != 0) {
		wbs__send_error(q, 400, "invalid_chunk", "empty chunk");
		free(body);
		return;
	}
	r = wbs__blob_write(q->store, q->user_id, sha, size, offset, len, body_read, &src, csha, ccrc ? &crc : NULL,
			    &received, &complete, msg, sizeof(msg));
	free(body);
	if (q->body_slow) {
		wbs__send_body_slow(q);
		return;
	}
	switch (r) {
	case WBS__BLOB_OK: break;
	case WBS__BLOB_OFFSET: wbs__send_error(q, 409, "offset_mismatch", "%s", msg); return;
	case WBS__BLOB_BUSY: q->retry_after = 1; wbs__send_error(q, 409, "upload_busy", "%s", msg); return;
	case WBS__BLOB_CHUNK:
	case WBS__BLOB_MISMATCH: wbs__send_error(q, 400, "checksum_mismatch", "%s", msg); return;
	case WBS__BLOB_SHORT: wbs__send_error(q, 400, "invalid_chunk", "%s", msg); return;
	case WBS__BLOB_TOOBIG: wbs__send_error(q, 400, "invalid_argument", "%s", msg); return;
	case WBS__BLOB_FULL: wbs__send_error(q, 507, "insufficient_storage", "%s", msg); return;
	default: wbs__send_error(q, 500, "internal", "%s", msg); return;
	}
answer:
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"sha256\":");
	wbs__json_cstr(&b, sha);
	wbs__buf_puts(&b, ",\"received\":");
	wbs__json_i64(&b, (int64_t)received);
	wbs__buf_printf(&b, ",\"complete\":%s}", complete ? "true" : "false");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

/* ---- artifacts and versions ---- */

static void send_buf_or_error(wbs__req *q, int st, wbs__buf *b, const wbs__err *e)
{
	if (st)
		send_store_err(q, e);
	else
		wbs__send_json(q, 200, b);
}

static void art_json(wbs__buf *b, const void *row)
{
	const wbs__art_row *a = row;

	wbs__buf_puts(b, "{\"name\":");
	wbs__json_cstr(b, a->name);
	wbs__buf_puts(b, ",\"type\":");
	wbs__json_cstr(b, a->type);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, a->created_at);
	wbs__buf_puts(b, ",\"updated_at\":");
	wbs__json_num(b, a->updated_at);
	wbs__buf_puts(b, ",\"versions\":");
	wbs__json_i64(b, a->versions);
	wbs__buf_puts(b, ",\"latest\":");
	if (a->latest < 0)
		wbs__buf_puts(b, "null");
	else
		wbs__buf_printf(b, "\"v%lld\"", (long long)a->latest);
	wbs__buf_puts(b, ",\"size\":");
	wbs__json_i64(b, a->size);
	wbs__buf_putc(b, '}');
}

void wbs__h_artifacts_list(wbs__req *q)
{
	wbs__art_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__art_list(q->store, q->ref.entity, q->ref.project, &rows, &n, &e);
	if (!st) {
		wbs__buf_puts(&b, "{\"artifacts\":");
		wbs__json_array(&b, rows, n, sizeof(*rows), art_json);
		wbs__buf_putc(&b, '}');
	}
	send_buf_or_error(q, st, &b, &e);
	wbs__buf_free(&b);
	wbs__art_rows_free(rows, n);
}

static void version_json(wbs__buf *b, const void *row)
{
	const wbs__art_version_row *v = row;

	wbs__buf_printf(b, "{\"version\":\"v%lld\",\"index\":", (long long)v->version);
	wbs__json_i64(b, v->version);
	wbs__buf_puts(b, ",\"digest\":");
	wbs__json_cstr(b, v->digest);
	wbs__buf_puts(b, ",\"size\":");
	wbs__json_i64(b, v->size);
	wbs__buf_puts(b, ",\"file_count\":");
	wbs__json_i64(b, v->file_count);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, v->created_at);
	wbs__buf_puts(b, ",\"producer\":");
	wbs__json_cstr(b, v->producer);
	/* the aliases are a JSON array the database wrote (json_group_array) */
	wbs__buf_puts(b, ",\"aliases\":");
	wbs__buf_puts(b, v->aliases ? v->aliases : "[]");
	wbs__buf_putc(b, '}');
}

/* {"entity":..,"project":..,"<key>":name (the start of an artifact's and a version's answer). */
static void art_head(wbs__buf *b, const wbs__req *q, const char *key)
{
	wbs__buf_puts(b, "{\"entity\":");
	wbs__json_cstr(b, q->ref.entity);
	wbs__buf_puts(b, ",\"project\":");
	wbs__json_cstr(b, q->ref.project);
	wbs__buf_printf(b, ",\"%s\":", key);
}

void wbs__h_artifact_get(wbs__req *q)
{
	wbs__art_version_row *vs = NULL;
	wbs__art_row a;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	if (!art_name_ok(q, q->ref.run_id))
		return;
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__art_get(q->store, q->ref.entity, q->ref.project, q->ref.run_id, &a, &vs, &n, &e);
	if (!st) {
		art_head(&b, q, "name");
		wbs__json_cstr(&b, a.name);
		wbs__buf_puts(&b, ",\"type\":");
		wbs__json_cstr(&b, a.type);
		wbs__buf_puts(&b, ",\"created_at\":");
		wbs__json_num(&b, a.created_at);
		wbs__buf_puts(&b, ",\"updated_at\":");
		wbs__json_num(&b, a.updated_at);
		wbs__buf_puts(&b, ",\"versions\":");
		wbs__json_array(&b, vs, n, sizeof(*vs), version_json);
		wbs__buf_putc(&b, '}');
	}
	send_buf_or_error(q, st, &b, &e);
	wbs__buf_free(&b);
	free(a.name);
	free(a.type);
	wbs__art_version_rows_free(vs, n);
}

/* Parse the manifest of a commit into m. 0, or -1 with why. */
static int manifest_parse(const cJSON *j, wbs__art_manifest *m, char *why, size_t whylen)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(j, "run_id");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	const cJSON *aliases = cJSON_GetObjectItemCaseSensitive(j, "aliases");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(j, "created_at");
	const cJSON *it;
	wbs__buf mb;

	if (!cJSON_IsString(type) || !wb__name_valid(type->valuestring)) {
		snprintf(why, whylen, "type must match [A-Za-z0-9_.-]{1,64}");
		return -1;
	}
	if (!(m->type = strdup(type->valuestring)))
		goto oom;
	if (run && !cJSON_IsNull(run)) {
		if (!cJSON_IsString(run) || !wb__name_valid(run->valuestring)) {
			snprintf(why, whylen, "run_id must be a run id");
			return -1;
		}
		if (!(m->run_id = strdup(run->valuestring)))
			goto oom;
	}
	if (created && !cJSON_IsNull(created)) {
		/* an import keeping the time of the version it copies (a time ahead of the server's clock is
		 * taken as now by the store) */
		if (!cJSON_IsNumber(created) || !(created->valuedouble > 0 && created->valuedouble < 1e11)) {
			snprintf(why, whylen, "created_at must be a unix time in seconds");
			return -1;
		}
		m->created_at = created->valuedouble;
	}
	if (meta && !cJSON_IsNull(meta)) {
		if (!cJSON_IsObject(meta) || !wbs__json_depth_ok(meta, WBS__JSON_DEPTH_MAX)) {
			snprintf(why, whylen, "metadata must be a json object nested at most %d levels", WBS__JSON_DEPTH_MAX);
			return -1;
		}
		wbs__buf_init(&mb, WBS__JSON_BODY_MAX);
		wbs__json_tree(&mb, meta);
		if (mb.err) {
			wbs__buf_free(&mb);
			snprintf(why, whylen, "metadata is larger than %u bytes", WBS__JSON_BODY_MAX);
			return -1;
		}
		m->metadata = wbs__buf_take(&mb);
		if (!m->metadata)
			goto oom;
	}
	if (aliases && !cJSON_IsNull(aliases)) {
		int n = cJSON_GetArraySize(aliases);
		if (!cJSON_IsArray(aliases) || n > (int)WBS__ART_ALIASES_MAX) {
			snprintf(why, whylen, "aliases must be an array of at most %u names", WBS__ART_ALIASES_MAX);
			return -1;
		}
		if (n && !(m->aliases = calloc((size_t)n, sizeof(char *))))
			goto oom;
		cJSON_ArrayForEach(it, aliases)
		{
			const char *a = cJSON_IsString(it) ? it->valuestring : NULL;
			if (!a || !wb__name_valid(a) || strcmp(a, "latest") == 0 ||
			    (a[0] == 'v' && strspn(a + 1, "0123456789") == strlen(a + 1) && a[1]) ||
			    strcmp(a, "aliases") == 0 || strcmp(a, "file") == 0) {
				snprintf(why, whylen,
					 "an alias matches [A-Za-z0-9_.-]{1,64} and is not latest, v<N>, aliases or file");
				return -1;
			}
			if (!(m->aliases[m->naliases++] = strdup(a)))
				goto oom;
		}
	}
	if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > (int)WBS__ART_FILES_MAX) {
		snprintf(why, whylen, "files must be an array of at most %u entries", WBS__ART_FILES_MAX);
		return -1;
	}
	if (cJSON_GetArraySize(files) && !(m->files = calloc((size_t)cJSON_GetArraySize(files), sizeof(*m->files))))
		goto oom;
	cJSON_ArrayForEach(it, files)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(it, "sha256");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(it, "ref");
		wbs__art_file *f = &m->files[m->nfiles];
		if (!cJSON_IsString(p) || !wbs__art_path_valid(p->valuestring, strlen(p->valuestring))) {
			snprintf(why, whylen,
				 "file path %.100s is not a relative path of non-empty segments without ., .. or .git (at most %u bytes)",
				 cJSON_IsString(p) ? p->valuestring : "(missing)", WBS__ART_PATH_MAX);
			return -1;
		}
		if (!cJSON_IsString(sha) || !wbs__sha256_hex_valid(sha->valuestring)) {
			snprintf(why, whylen, "file %.100s: sha256 must be 64 lowercase hex digits", p->valuestring);
			return -1;
		}
		if (!cJSON_IsNumber(size) || size->valuedouble < 0 || size->valuedouble > 9007199254740992.0 ||
		    size->valuedouble != (double)(int64_t)size->valuedouble) {
			snprintf(why, whylen, "file %.100s: size must be a byte count", p->valuestring);
			return -1;
		}
		if (ref && !cJSON_IsNull(ref)) {
			size_t rl;
			if (!cJSON_IsString(ref) || (rl = strlen(ref->valuestring)) == 0 || rl > WBS__ART_URI_MAX ||
			    !strstr(ref->valuestring, "://") || !wbs__utf8_valid(ref->valuestring, rl)) {
				snprintf(why, whylen, "file %.100s: ref must be a URI such as s3://... (at most %u bytes)",
					 p->valuestring, WBS__ART_URI_MAX);
				return -1;
			}
			for (size_t k = 0; k < rl; k++)
				if ((unsigned char)ref->valuestring[k] < 0x20) {
					snprintf(why, whylen, "file %.100s: ref has a control character", p->valuestring);
					return -1;
				}
			if (!(f->ref = strdup(ref->valuestring)))
				goto oom;
		}
		if (!(f->path = strdup(p->valuestring)))
			goto oom;
		memcpy(f->sha256, sha->valuestring, 65);
		f->size = (uint64_t)size->valuedouble;
		m->nfiles++;
	}
	return wbs__art_digest(m, why, whylen);
oom:
	snprintf(why, whylen, "out of memory");
	return -1;
}

void wbs__h_artifact_commit(wbs__req *q)
{
	wbs__art_manifest m;
	cJSON *j = NULL;
	char why[300];
	wbs__err e = {0};
	int64_t version = -1;
	int created = 0;
	wbs__buf b;

	memset(&m, 0, sizeof(m));
	wbs__buf_init(&b, 4096);
	if (!art_name_ok(q, q->ref.run_id))
		goto done;
	/* The strict parse refuses "a\u0000b", which cJSON would store as another path, "a". */
	if (wbs__read_json(q, WBS__BODY_REQUIRED | WBS__BODY_OBJECT, WBS__ART_MANIFEST_MAX, WBS__ART_MANIFEST_MAX, &j))
		goto done;
	m.entity = q->ref.entity;
	m.project = q->ref.project;
	m.name = q->ref.run_id;
	m.user_id = q->user_id;
	why[0] = '\0';
	if (manifest_parse(j, &m, why, sizeof(why))) {
		if (strcmp(why, "out of memory") == 0)
			wbs__send_error(q, 500, "internal", "out of memory");
		else
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
		goto done;
	}
	cJSON_Delete(j);
	j = NULL;
	if (wbs__art_commit(q->store, &m, &version, &created, &e)) {
		send_store_err(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"artifact\":");
	wbs__json_cstr(&b, m.name);
	wbs__buf_printf(&b, ",\"version\":\"v%" PRId64 "\",\"index\":%" PRId64 ",\"created\":%s,\"digest\":", version,
			version, created ? "true" : "false");
	wbs__json_cstr(&b, m.digest);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, created ? 201 : 200, &b);
done:
	cJSON_Delete(j);
	wbs__art_manifest_free(&m);
	wbs__buf_free(&b);
}

static void art_runs_json(wbs__buf *b, const wbs__art_run_row *rows, size_t n)
{
	wbs__buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		wbs__buf_puts(b, i ? ",{\"run_id\":" : "{\"run_id\":");
		wbs__json_cstr(b, rows[i].run_id);
		wbs__buf_puts(b, ",\"name\":");
		wbs__json_cstr(b, rows[i].name);
		wbs__buf_puts(b, ",\"state\":");
		wbs__json_cstr(b, rows[i].state);
		wbs__buf_puts(b, ",\"at\":");
		wbs__json_num(b, rows[i].at);
		wbs__buf_putc(b, '}');
	}
	wbs__buf_putc(b, ']');
}

void wbs__h_artifact_version(wbs__req *q)
{
	const char *sel = q->path.seg[5];
	wbs__art_detail d;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	if (!art_name_ok(q, q->ref.run_id) || !sel_ok(q, sel))
		return;
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__art_version_get(q->store, q->ref.entity, q->ref.project, q->ref.run_id, sel, &d, &e);
	if (!st) {
		art_head(&b, q, "artifact");
		wbs__json_cstr(&b, q->ref.run_id);
		/* the metadata is JSON the store checked when the version was committed */
		wbs__buf_puts(&b, ",\"metadata\":");
		if (d.metadata)
			wbs__buf_puts(&b, d.metadata);
		wbs__buf_puts(&b, ",\"type\":");
		wbs__json_cstr(&b, d.type);
		wbs__buf_puts(&b, ",\"info\":");
		version_json(&b, &d.info);
		wbs__buf_puts(&b, ",\"produced_by\":");
		art_runs_json(&b, d.produced_by, d.nproduced);
		wbs__buf_puts(&b, ",\"used_by\":");
		art_runs_json(&b, d.used_by, d.nused);
		wbs__buf_puts(&b, ",\"files\":[");
		for (size_t i = 0; i < d.nfiles; i++) {
			wbs__buf_puts(&b, i ? ",{\"path\":" : "{\"path\":");
			wbs__json_cstr(&b, d.files[i].path);
			wbs__buf_puts(&b, ",\"sha256\":");
			wbs__json_cstr(&b, d.files[i].sha256);
			wbs__buf_puts(&b, ",\"size\":");
			wbs__json_i64(&b, d.files[i].size);
			wbs__buf_puts(&b, ",\"ref\":");
			wbs__json_cstr(&b, d.files[i].ref);
			wbs__buf_putc(&b, '}');
		}
		wbs__buf_puts(&b, "]}");
	}
	send_buf_or_error(q, st, &b, &e);
	wbs__buf_free(&b);
	wbs__art_detail_free(&d);
}

void wbs__h_artifact_version_delete(wbs__req *q)
{
	const char *sel = q->path.seg[5];
	wbs__err e = {0};
	uint64_t gc = 0;
	wbs__buf b;

	if (!art_name_ok(q, q->ref.run_id) || !sel_ok(q, sel))
		return;
	if (wbs__art_version_delete(q->store, q->ref.entity, q->ref.project, q->ref.run_id, sel, &gc, &e)) {
		send_store_err(q, &e);
		return;
	}
	wbs__buf_init(&b, 256);
	wbs__buf_puts(&b, "{\"deleted\":true,\"blobs_deleted\":");
	wbs__json_i64(&b, (int64_t)gc);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

/* Parse "bytes=a-b" / "bytes=a-" / "bytes=-n" against size. 1 ok, 0 absent, -1 unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
	char *end;
	unsigned long long x, y;

	if (!h)
		return 0;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0; /* not a single byte range: the whole file */
	h += 6;
	if (*h == '-') {
		x = strtoull(h + 1, &end, 10);
		if (*end || x == 0 || size == 0)
			return -1;
		*a = x >= size ? 0 : size - x;
		*b = size - 1;
		return 1;
	}
	x = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return 0;
	h = end + 1;
	if (*h == '\0') {
		y = size ? size - 1 : 0;
	} else {
		y = strtoull(h, &end, 10);
		if (*end)
			return 0;
	}
	if (x >= size || y < x)
		return -1;
	*a = x;
	*b = y >= size ? size - 1 : y;
	return 1;
}

void wbs__h_artifact_file(wbs__req *q)
{
	const char *sel = q->path.seg[5];
	char path[WBS__ART_PATH_MAX * 3 + 1], sha[65], clen[24], crange[80], disp[200], etag[70];
	char *ref = NULL;
	uint64_t size = 0, a = 0, z = 0;
	wbs__err e = {0};
	int fd = -1, pr, status = 200;
	uint8_t *buf = NULL;

	if (!art_name_ok(q, q->ref.run_id) || !sel_ok(q, sel))
		return;
	pr = wbs__query_param(q, "path", 0, path, sizeof(path));
	if (pr < 0)
		return;
	if (pr == 0 || !wbs__art_path_valid(path, strlen(path))) {
		wbs__send_error(q, 400, "invalid_argument",
			       "query parameter path must name a file of the version (relative, no ., .. or .git segment)");
		return;
	}
	if (wbs__art_file_get(q->store, q->ref.entity, q->ref.project, q->ref.run_id, sel, path, sha, &size, &ref,
			      &e)) {
		send_store_err(q, &e);
		return;
	}
	if (ref) {
		wbs__send_error(q, 409, "reference", "%.200s is a reference to %.300s: its bytes are not stored here", path,
			       ref);
		goto done;
	}
	fd = wbs__blob_open(q->store, sha);
	if (fd < 0) {
		wbs__send_error(q, 500, "internal", "the blob of %.200s is missing from the store", path);
		goto done;
	}
	pr = parse_range(mg_get_header(q->conn, "Range"), size, &a, &z);
	if (pr < 0) {
		snprintf(crange, sizeof(crange), "bytes */%llu", (unsigned long long)size);
		q->status = 416;
		mg_response_header_start(q->conn, 416);
		mg_response_header_add(q->conn, "Content-Range", crange, -1);
		mg_response_header_add(q->conn, "Content-Length", "0", -1);
		mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
		mg_response_header_send(q->conn);
		goto done;
	}
	if (pr == 0) {
		a = 0;
		z = size ? size - 1 : 0;
	} else {
		status = 206;
	}
	{
		/* the file's base name, kept to safe characters for the header */
		const char *base = strrchr(path, '/');
		size_t k = 0;
		char fname[120];
		base = base ? base + 1 : path;
		for (; *base && k < sizeof(fname) - 1; base++)
			fname[k++] = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", *base)
					 ? *base
					 : '_';
		fname[k] = '\0';
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", fname);
	}
	snprintf(clen, sizeof(clen), "%llu", (unsigned long long)(size ? z - a + 1 : 0));
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	q->status = status;
	mg_response_header_start(q->conn, status);
	mg_response_header_add(q->conn, "Content-Type", "application/octet-stream", -1);
	mg_response_header_add(q->conn, "Content-Length", clen, -1);
	mg_response_header_add(q->conn, "Content-Disposition", disp, -1);
	mg_response_header_add(q->conn, "Accept-Ranges", "bytes", -1);
	mg_response_header_add(q->conn, "ETag", etag, -1);
	mg_response_header_add(q->conn, "X-Content-Sha256", sha, -1);
	mg_response_header_add(q->conn, "Cache-Control", "private, max-age=31536000, immutable", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	if (status == 206) {
		snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu", (unsigned long long)a, (unsigned long long)z,
			 (unsigned long long)size);
		mg_response_header_add(q->conn, "Content-Range", crange, -1);
	}
	mg_response_header_send(q->conn);
	if (size == 0 || strcmp(q->ri->request_method, "HEAD") == 0)
		goto done;
	buf = malloc(1u << 20);
	if (!buf)
		goto done;
	for (uint64_t o = a; o <= z;) {
		size_t want = z - o + 1 < (1u << 20) ? (size_t)(z - o + 1) : (1u << 20);
		ssize_t n = pread(fd, buf, want, (off_t)o);
		if (n <= 0 || mg_write(q->conn, buf, (size_t)n) <= 0)
			break; /* the client sees a short body against Content-Length */
		o += (uint64_t)n;
	}
done:
	free(buf);
	if (fd >= 0)
		close(fd);
	free(ref);
}

static int alias_ok(wbs__req *q, const char *alias)
{
	if (!wb__name_valid(alias) || strcmp(alias, "latest") == 0 ||
	    (alias[0] == 'v' && alias[1] && strspn(alias + 1, "0123456789") == strlen(alias + 1))) {
		wbs__send_error(q, 400, "invalid_argument",
			       "an alias matches [A-Za-z0-9_.-]{1,64} and is not latest (kept by the server) or v<N>");
		return 0;
	}
	return 1;
}

void wbs__h_artifact_alias_put(wbs__req *q)
{
	const char *alias = q->path.seg[6];
	cJSON *j = NULL;
	const cJSON *v;
	wbs__err e = {0};
	wbs__buf b;

	if (!art_name_ok(q, q->ref.run_id) || !alias_ok(q, alias))
		return;
	if (wbs__read_json(q, WBS__BODY_REQUIRED, WBS__JSON_BODY_MAX, WBS__JSON_BODY_MAX, &j))
		return;
	v = cJSON_GetObjectItemCaseSensitive(j, "version");
	if (!cJSON_IsString(v) || !wb__name_valid(v->valuestring)) {
		wbs__send_error(q, 400, "invalid_json", "body must be {\"version\":\"v<N>\"}");
	} else if (wbs__art_alias_set(q->store, q->ref.entity, q->ref.project, q->ref.run_id, alias, v->valuestring,
				      &e)) {
		send_store_err(q, &e);
	} else {
		wbs__buf_init(&b, 256);
		wbs__buf_puts(&b, "{\"alias\":");
		wbs__json_cstr(&b, alias);
		wbs__buf_puts(&b, ",\"version\":");
		wbs__json_cstr(&b, v->valuestring);
		wbs__buf_putc(&b, '}');
		wbs__send_json(q, 200, &b);
		wbs__buf_free(&b);
	}
	cJSON_Delete(j);
}

void wbs__h_artifact_alias_delete(wbs__req *q)
{
	const char *alias = q->path.seg[6];
	wbs__err e = {0};
	wbs__buf b;

	if (!art_name_ok(q, q->ref.run_id) || !alias_ok(q, alias))
		return;
	if (wbs__art_alias_delete(q->store, q->ref.entity, q->ref.project, q->ref.run_id, alias, &e)) {
		send_store_err(q, &e);
		return;
	}
	wbs__buf_init(&b, 64);
	wbs__buf_puts(&b, "{\"deleted\":true}");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

/* A JSON array of the versions rows name (a run's produced or used). */
static void use_rows_json(wbs__buf *b, const wbs__art_use_row *rows, size_t n)
{
	wbs__buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(b, ',');
		wbs__buf_puts(b, "{\"artifact\":");
		wbs__json_cstr(b, rows[i].artifact);
		wbs__buf_puts(b, ",\"type\":");
		wbs__json_cstr(b, rows[i].type);
		wbs__buf_printf(b, ",\"version\":\"v%lld\",\"at\":", (long long)rows[i].version);
		wbs__json_num(b, rows[i].at);
		wbs__buf_putc(b, '}');
	}
	wbs__buf_putc(b, ']');
}

void wbs__h_run_artifacts(wbs__req *q)
{
	wbs__art_use_row *made = NULL, *used = NULL;
	size_t nmade = 0, nused = 0;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__art_run_get(q->store, &q->ref, &made, &nmade, &used, &nused, &e);
	if (!st) {
		wbs__buf_puts(&b, "{\"produced\":");
		use_rows_json(&b, made, nmade);
		wbs__buf_puts(&b, ",\"used\":");
		use_rows_json(&b, used, nused);
		wbs__buf_putc(&b, '}');
	}
	send_buf_or_error(q, st, &b, &e);
	wbs__buf_free(&b);
	wbs__art_use_rows_free(made, nmade);
	wbs__art_use_rows_free(used, nused);
}

/*
 * artifact.c — artifacts: building them, uploading them through the
 * content-addressed blob API, downloading and checking them, wb_run_save, and
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
 *
 * Download. The version is fetched by number (an alias could move while we
 * read), each file streamed into <dir>/<path>.wbpart-XXXX while hashed,
 * checked against its SHA-256 and size, and renamed into place. Paths from
 * the server are validated like the server validates them, so a hostile
 * answer cannot write outside dir or into a .git directory there (git
 * would run a .git/config's commands or a hook); every path is checked
 * before the first file is written.
 *
 * wb_run_save. A saved file is copied into <run dir>/files/ once its size and
 * mtime are the same before and after the copy (else copied again), and
 * the copies make up the run's "run-<id>-files" artifact.
 */
#include "artifact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "json.h"
#include "jsoncheck.h"
#include "names.h"
#include "run.h"
#include "runlog.h"
#include "settings.h"
#include "upload.h"
#include "util.h"

#define WB__ART_CHUNK (8u * 1024u * 1024u)
#define ART_DEFAULT_TIMEOUT_MS 600000u
#define REQUEST_TIMEOUT_MS 120000
#define RESP_MAX (64u * 1024u * 1024u)
#define SAMPLE_BYTES (256u * 1024u)
#define SAVES_POLL_DEFAULT_MS 1000

/* ---- the artifact being built ---- */

typedef struct art_entry {
	char *path;      /* inside the artifact */
	char *local;     /* the file, or NULL for a reference */
	char *ref;       /* the URI of a reference */
	char sha[65];    /* "" until hashed */
	uint64_t size;
	int64_t mtime_ns; /* when hashed; -1: do not check (a replay from the run log) */
} art_entry;

struct wb_artifact {
	char *name, *type;
	cJSON *metadata; /* object or NULL */
	art_entry *e;
	size_t n, cap;
};

static void entry_free(art_entry *e)
{
	free(e->path);
	free(e->local);
	free(e->ref);
}

int wb_artifact_new(wb_artifact **out, const char *name, const char *type)
{
	wb_artifact *a;

	if (!out)
		return wb__error(WB_EINVAL, "out must not be NULL");
	*out = NULL;
	if (!wb__name_valid(name) || strcmp(name, "blobs") == 0)
		return wb__error(WB_EINVAL, "artifact name must match [A-Za-z0-9_.-]{1,64} and not be \"blobs\"");
	if (!wb__name_valid(type))
		return wb__error(WB_EINVAL, "artifact type must match [A-Za-z0-9_.-]{1,64}");
	if (!(a = calloc(1, sizeof(*a))) || !(a->name = wb__strdup(name)) || !(a->type = wb__strdup(type))) {
		wb_artifact_free(a);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	*out = a;
	return WB_OK;
}

void wb_artifact_free(wb_artifact *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		entry_free(&a->e[i]);
	free(a->e);
	cJSON_Delete(a->metadata);
	free(a->name);
	free(a->type);
	free(a);
}

/* Append an entry (taking path, local, ref). */
static int add_entry(wb_artifact *a, char *path, char *local, char *ref, const char *sha, uint64_t size)
{
	if (!path || (!local && !ref)) {
		free(path);
		free(local);
		free(ref);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	if (!wb__art_path_valid(path, strlen(path))) {
		int rc = wb__error(WB_EINVAL,
				   "%.200s is not a valid path inside an artifact (relative, no empty, ., .. or .git segment)",
				   path);
		free(path);
		free(local);
		free(ref);
		return rc;
	}
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->e[i].path, path) == 0) {
			int rc = wb__error(WB_EINVAL, "%.200s is in the artifact already", path);
			free(path);
			free(local);
			free(ref);
			return rc;
		}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		art_entry *p = realloc(a->e, cap * sizeof(*p));
		if (!p) {
			free(path);
			free(local);
			free(ref);
			return wb__error(WB_ENOMEM, "out of memory");
		}
		a->e = p;
		a->cap = cap;
	}
	memset(&a->e[a->n], 0, sizeof(a->e[a->n]));
	a->e[a->n].path = path;
	a->e[a->n].local = local;
	a->e[a->n].ref = ref;
	a->e[a->n].size = size;
	a->e[a->n].mtime_ns = -1;
	if (sha)
		snprintf(a->e[a->n].sha, sizeof(a->e[a->n].sha), "%s", sha);
	a->n++;
	return WB_OK;
}

int wb_artifact_add_file(wb_artifact *a, const char *local_path, const char *name)
{
	struct stat st;
	const char *base;

	if (!a || !local_path)
		return wb__error(WB_EINVAL, "artifact and local_path must not be NULL");
	if (stat(local_path, &st) != 0 || !S_ISREG(st.st_mode))
		return wb__error(WB_ENOTFOUND, "%s is not a regular file", local_path);
	if (!name) {
		base = strrchr(local_path, '/');
		name = base ? base + 1 : local_path;
	}
	return add_entry(a, wb__strdup(name), wb__strdup(local_path), NULL, NULL, (uint64_t)st.st_size);
}

static int sha_hex_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

int wb_artifact_add_reference(wb_artifact *a, const char *uri, const char *sha256_hex, uint64_t size,
			      const char *name)
{
	char sha[65];
	const char *base;
	size_t ul;

	if (!a || !uri)
		return wb__error(WB_EINVAL, "artifact and uri must not be NULL");
	ul = strlen(uri);
	if (ul == 0 || ul > 2048 || !strstr(uri, "://"))
		return wb__error(WB_EINVAL, "a reference is a URI such as s3://bucket/key (at most 2048 bytes)");
	for (size_t i = 0; i < ul; i++)
		if ((unsigned char)uri[i] < 0x20)
			return wb__error(WB_EINVAL, "a reference URI has no control characters");
	if (!sha_hex_valid(sha256_hex))
		return wb__error(WB_EINVAL, "sha256 must be 64 hex digits");
	for (int i = 0; i < 65; i++)
		sha[i] = (char)(sha256_hex[i] >= 'A' && sha256_hex[i] <= 'F' ? sha256_hex[i] - 'A' + 'a' : sha256_hex[i]);
	if (size > (UINT64_C(1) << 53))
		return wb__error(WB_EINVAL, "size is too large");
	if (!name) {
		base = strrchr(uri, '/');
		name = base && base[1] ? base + 1 : uri;
	}
	return add_entry(a, wb__strdup(name), NULL, wb__strdup(uri), sha, size);
}

int wb_artifact_set_metadata(wb_artifact *a, const char *json_object)
{
	char why[300];
	cJSON *j;

	if (!a || !json_object)
		return wb__error(WB_EINVAL, "artifact and json_object must not be NULL");
	/* The server refuses what cJSON would silently change (jsoncheck.h): say so here. */
	if (wb__json_check(json_object, strlen(json_object), why, sizeof(why)) == WB__JSON_REFUSED)
		return wb__error(WB_EINVAL, "metadata: %s", why);
	/* exact: the numbers reach the server as the caller wrote them */
	j = wb__json_parse_exact(json_object, strlen(json_object));
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return wb__error(WB_EINVAL, "metadata must be a json object");
	}
	cJSON_Delete(a->metadata);
	a->metadata = j;
	return WB_OK;
}

/* Recursive part of wb_artifact_add_dir: root is the real path of the top directory. */
static int add_dir_rec(wb_artifact *a, const char *root, const char *dir, const char *rel, const char *prefix,
		       int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = WB_OK;

	if (depth > 64)
		return wb__error(WB_EINVAL, "%s is nested too deeply", dir);
	if (!(d = opendir(dir)))
		return wb__error(WB_EIO, "cannot read directory %s: %s", dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		char *full = NULL, *r = NULL, *path = NULL, real[PATH_MAX];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = wb__asprintf(&full, "%s/%s", dir, de->d_name)) ||
		    (rc = rel[0] ? wb__asprintf(&r, "%s/%s", rel, de->d_name) : wb__asprintf(&r, "%s", de->d_name))) {
			free(full);
			break;
		}
		if (lstat(full, &st) != 0) {
			rc = wb__error(WB_EIO, "cannot stat %s: %s", full, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			size_t rl = strlen(root);
			if (!realpath(full, real) || strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
				rc = wb__error(WB_EINVAL, "symbolic link %s points out of %s", full, root);
			} else if (stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
				rc = prefix && prefix[0] ? wb__asprintf(&path, "%s/%s", prefix, r) : wb__asprintf(&path, "%s", r);
				if (!rc)
					rc = add_entry(a, path, wb__strdup(real), NULL, NULL, (uint64_t)st.st_size);
			} /* a link to a directory inside: its files are added through the directory itself */
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_dir_rec(a, root, full, r, prefix, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = prefix && prefix[0] ? wb__asprintf(&path, "%s/%s", prefix, r) : wb__asprintf(&path, "%s", r);
			if (!rc)
				rc = add_entry(a, path, wb__strdup(full), NULL, NULL, (uint64_t)st.st_size);
		}
		free(full);
		free(r);
	}
	closedir(d);
	return rc;
}

int wb_artifact_add_dir(wb_artifact *a, const char *local_dir, const char *prefix)
{
	char root[PATH_MAX];
	size_t before;
	int rc;

	if (!a || !local_dir)
		return wb__error(WB_EINVAL, "artifact and local_dir must not be NULL");
	if (!realpath(local_dir, root))
		return wb__error(WB_ENOTFOUND, "%s: %s", local_dir, strerror(errno));
	before = a->n;
	rc = add_dir_rec(a, root, root, "", prefix, 0);
	if (rc) { /* all or nothing */
		while (a->n > before)
			entry_free(&a->e[--a->n]);
	}
	return rc;
}

/* ---- hashing ---- */

static void hexify(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* ---- progress: the run-less calls' callback (wb_artifact_options version 2) ---- */

/* A phase as the callback sees it; every function is a no-op on NULL or without a callback. */
typedef struct art_pg {
	wb_progress_fn fn;
	void *arg;
	wb_progress p;
} art_pg;

static void pg_init(art_pg *g, const wb_artifact_options *o)
{
	memset(g, 0, sizeof(*g));
	if (o && o->version >= 2) {
		g->fn = o->progress;
		g->arg = o->progress_arg;
	}
}

static void pg_begin(art_pg *g, const char *what, uint64_t total)
{
	if (!g || !g->fn)
		return;
	g->p = (wb_progress){what, 0, total};
	g->fn(&g->p, g->arg);
}

/* done += n, or done = at when n is 0 and at is not UINT64_MAX (a retried file starts over). */
static void pg_move(art_pg *g, uint64_t n, uint64_t at)
{
	if (!g || !g->fn)
		return;
	g->p.done = n ? g->p.done + n : at != UINT64_MAX ? at : g->p.done;
	g->fn(&g->p, g->arg);
}

/* Hash e->local into e->sha, e->size, e->mtime_ns, with buf (WB__ART_CHUNK bytes); pg (may be NULL) counts the bytes. */
static int hash_file(art_entry *e, uint8_t *buf, art_pg *pg)
{
	EVP_MD_CTX *ctx = NULL;
	struct stat st, st2;
	unsigned char d[32];
	uint64_t off = 0;
	int fd, rc = WB_OK;

	fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wb__error(errno == ENOENT ? WB_ENOTFOUND : WB_EIO, "cannot open %s: %s", e->local, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = wb__error(WB_EIO, "%s is not a regular file", e->local);
		goto done;
	}
	if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = wb__error(WB_ENOMEM, "cannot set up sha-256");
		goto done;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, 1u << 20, (off_t)off); /* 1 MiB: hashed while in cache */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = wb__error(WB_EIO, "cannot read %s: %s", e->local, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += (uint64_t)n;
		pg_move(pg, (uint64_t)n, 0);
	}
	if (fstat(fd, &st2) != 0 || st2.st_size != st.st_size || mtime_ns(&st2) != mtime_ns(&st) ||
	    off != (uint64_t)st.st_size) {
		rc = wb__error(WB_ECORRUPT, "%s changed while it was being read", e->local);
		goto done;
	}
	EVP_DigestFinal_ex(ctx, d, NULL);
	hexify(d, 32, e->sha);
	e->size = off;
	e->mtime_ns = mtime_ns(&st);
done:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* ---- transport: upload.c's client ---- */

static const char *const HDR_JSON[] = {"Content-Type: application/json", NULL};

/* A connection for the artifacts of entity/project on base_url, verifying
 * an https server with ca_file (NULL: WB_CA_FILE, if set). */
static int art_http(wb__http **out, const char *base_url, const char *api_key, const char *entity,
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
static int art_retry(const wb__http *h, int rc, int64_t *delay, int64_t deadline)
{
	return art_retryable(h, rc) && wb__http_retry_wait(h, delay, deadline);
}

/* method on suffix with json (may be NULL) as the body, retried until it
 * succeeds or it is not worth trying again. *out: the JSON answer (the
 * caller frees), NULL on an error. */
static int art_call(wb__http *h, const char *method, const char *suffix, const char *json, int64_t deadline,
		    cJSON **out)
{
	wb__http_req r = {.method = method,
			  .suffix = suffix,
			  .headers = json ? HDR_JSON : NULL,
			  .body = json,
			  .len = json ? strlen(json) : 0,
			  .resp_max = RESP_MAX};
	int64_t delay = 0;
	int rc;

	while ((rc = wb__http_request(h, &r, deadline, out)) != WB_OK) {
		cJSON_Delete(*out);
		*out = NULL;
		if (!art_retry(h, rc, &delay, deadline))
			break;
	}
	return rc;
}

/* ---- upload ---- */

typedef struct upctx {
	wb__http *h;
	uint8_t *buf;  /* WB__ART_CHUNK */
	uint8_t *zbuf; /* deflateBound(WB__ART_CHUNK) */
	size_t zcap;
	size_t chunk;  /* chunk size (WB_ARTIFACT_CHUNK_BYTES for tests) */
	int64_t deadline;
	uint64_t sent; /* blob bytes the server accepted */
	art_pg *pg;    /* NULL, or the caller's progress */
} upctx;

/* gzip in[0..n) into u->zbuf; its size, or 0 if it does not fit. */
static size_t gzip_chunk(upctx *u, const uint8_t *in, size_t n)
{
	z_stream z;
	size_t out = 0;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = u->zbuf;
	z.avail_out = (uInt)u->zcap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		out = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Ask the server for the blob's state: 1 present, 0 absent (*received: bytes it has). */
static int blob_state(upctx *u, const char *sha, uint64_t *received, int *present)
{
	char suffix[120];
	cJSON *j = NULL;
	int rc;

	snprintf(suffix, sizeof(suffix), "/blobs/%s", sha);
	if ((rc = art_call(u->h, "GET", suffix, NULL, u->deadline, &j)))
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
static int put_blob(upctx *u, const art_entry *e, uint64_t start)
{
	struct stat st;
	char suffix[200], chdr[100];
	wb__http_req req = {.method = "PUT", .suffix = suffix, .resp_max = RESP_MAX};
	int fd = -1, rc = WB_OK, gz = -1;
	uint64_t off = start;
	int64_t delay = 0;

	fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return wb__error(errno == ENOENT ? WB_ENOTFOUND : WB_EIO, "cannot open %s: %s", e->local, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != e->size ||
	    (e->mtime_ns >= 0 && mtime_ns(&st) != e->mtime_ns)) {
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
					   (e->mtime_ns >= 0 && mtime_ns(&st) != e->mtime_ns))) {
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
				pg_move(u->pg, n, 0);
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
		} else if (art_retry(u->h, rc, &delay, u->deadline)) {
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

/* The manifest as the server's commit body (and, with the local fields, the ARTIFACT record). */
static cJSON *manifest_json(const wb_artifact *a, const char *const *aliases, size_t naliases, const char *run_id,
			    int with_local, const char *id)
{
	cJSON *j = cJSON_CreateObject(), *files, *al;

	if (!j)
		return NULL;
	if ((id && !cJSON_AddStringToObject(j, "id", id)) || !cJSON_AddStringToObject(j, "name", a->name) ||
	    !cJSON_AddStringToObject(j, "type", a->type) || (run_id && !cJSON_AddStringToObject(j, "run_id", run_id)))
		goto fail;
	if (a->metadata) {
		cJSON *m = cJSON_Duplicate(a->metadata, 1);
		if (!m || !cJSON_AddItemToObject(j, "metadata", m)) {
			cJSON_Delete(m);
			goto fail;
		}
	}
	if (!(al = cJSON_AddArrayToObject(j, "aliases")))
		goto fail;
	for (size_t i = 0; i < naliases; i++) {
		cJSON *s = cJSON_CreateString(aliases[i]);
		if (!s || !cJSON_AddItemToArray(al, s)) {
			cJSON_Delete(s);
			goto fail;
		}
	}
	if (!(files = cJSON_AddArrayToObject(j, "files")))
		goto fail;
	for (size_t i = 0; i < a->n; i++) {
		const art_entry *e = &a->e[i];
		cJSON *f = cJSON_CreateObject();
		if (!f || !cJSON_AddItemToArray(files, f)) {
			cJSON_Delete(f);
			goto fail;
		}
		if (!cJSON_AddStringToObject(f, "path", e->path) || !cJSON_AddStringToObject(f, "sha256", e->sha) ||
		    !cJSON_AddItemToObject(f, "size", wb__json_int((int64_t)e->size)) ||
		    (e->ref && !cJSON_AddStringToObject(f, "ref", e->ref)))
			goto fail;
		if (with_local && e->local &&
		    (!cJSON_AddStringToObject(f, "local", e->local) ||
		     !cJSON_AddItemToObject(f, "mtime_ns", wb__json_int(e->mtime_ns))))
			goto fail;
	}
	return j;
fail:
	cJSON_Delete(j);
	return NULL;
}

static int upctx_init(upctx *u, int64_t deadline)
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
	u->zcap = compressBound(WB__ART_CHUNK) + 64;
	u->buf = malloc(WB__ART_CHUNK);
	u->zbuf = malloc(u->zcap);
	if (!u->buf || !u->zbuf) {
		free(u->buf);
		free(u->zbuf);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	return WB_OK;
}

static void upctx_free(upctx *u)
{
	free(u->buf);
	free(u->zbuf);
}

/*
 * Upload what the server lacks of a (hashed) and commit the version.
 */
static int push(upctx *u, const wb_artifact *a, const char *const *aliases, size_t naliases, const char *run_id,
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
		rc = art_call(u->h, "POST", "/blobs/check", text, u->deadline, &ans);
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
			pg_begin(u->pg, "uploading", left);
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
		if (!(body = manifest_json(a, aliases, naliases, run_id, 0, NULL))) {
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = wb__json_print(body, &text, NULL)))
			goto done;
		cJSON_Delete(body);
		body = NULL;
		if ((rc = wb__asprintf(&suffix, "/%s", a->name)))
			goto done;
		rc = art_call(u->h, "POST", suffix, text, u->deadline, &ans);
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

/* Hash every file entry not hashed yet, pg (may be NULL) counting the bytes. */
static int hash_all(wb_artifact *a, uint8_t *buf, art_pg *pg)
{
	uint64_t total = 0;
	int rc;

	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].local)
			total += a->e[i].size;
	pg_begin(pg, "hashing", total);
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].local && (rc = hash_file(&a->e[i], buf, pg)))
			return rc;
	return WB_OK;
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

static int64_t timeout_deadline(unsigned int timeout_ms)
{
	const char *t = getenv("WB_ARTIFACT_TIMEOUT_MS");
	long v = t && *t ? strtol(t, NULL, 10) : 0;
	if (timeout_ms)
		return wb__mono_ms() + timeout_ms;
	return wb__mono_ms() + (v > 0 ? v : (long)ART_DEFAULT_TIMEOUT_MS);
}

/* Resolve base_url, api_key, entity, project for the run-less calls. */
typedef struct where {
	char *base_url, *api_key, *entity, *project;
} where;

static void where_free(where *w)
{
	free(w->base_url);
	if (w->api_key) {
		memset(w->api_key, 0, strlen(w->api_key));
		free(w->api_key);
	}
	free(w->entity);
	free(w->project);
}

static int where_load(where *w, const wb_artifact_options *o)
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
					   timeout_deadline(o ? o->timeout_ms : 0), 1, &w->entity))) {
		where_free(w);
		return rc;
	}
	return WB_OK;
}

/* The run's entity for an artifact request: the one it has, else the key
 * owner's, asked of the server until deadline (the uploader learns it on
 * its own thread; both get the same answer for the same key). */
static int run_entity(wb_run *run, int64_t deadline)
{
	if (run->s.entity)
		return WB_OK;
	return wb__whoami(run->s.base_url, run->s.api_key, run->s.ca_file, deadline, 1, &run->s.entity);
}

int wb_artifact_upload(const wb_artifact_options *opts, wb_artifact *art, const char *const *aliases, size_t n,
		       int64_t *out_version, int *out_created, uint64_t *out_bytes)
{
	where w;
	upctx u;
	art_pg pg;
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
	if ((rc = where_load(&w, opts)))
		return rc;
	if ((rc = upctx_init(&u, timeout_deadline(opts ? opts->timeout_ms : 0)))) {
		where_free(&w);
		return rc;
	}
	pg_init(&pg, opts);
	u.pg = &pg;
	if (!(rc = hash_all(art, u.buf, &pg)) && !(rc = art_http(&u.h, w.base_url, w.api_key, w.entity, w.project, NULL)))
		rc = push(&u, art, aliases, n, NULL, &version, &created);
	if (out_version)
		*out_version = version;
	if (out_created)
		*out_created = created;
	if (out_bytes)
		*out_bytes = u.sent;
	wb__http_free(u.h);
	upctx_free(&u);
	where_free(&w);
	return rc;
}

/* Wait until the writer has written everything pushed so far (bounded). */
static void wait_written(wb_run *run)
{
	uint64_t head = atomic_load(&run->ring.head);
	int64_t until = wb__mono_ms() + 5000;
	struct timespec ts = {0, 1000000};

	while (atomic_load(&run->ring.tail) < head && wb__mono_ms() < until) {
		wb__ring_kick(&run->ring);
		nanosleep(&ts, NULL);
	}
}

/* Log a (its files hashed) from run: ARTIFACT record, upload, ARTIFACT_DONE. */
static int log_hashed(wb_run *run, wb_artifact *a, const char *const *aliases, size_t n, int64_t deadline,
		      upctx *u, int64_t *out_version)
{
	cJSON *intent = NULL, *done = NULL;
	char id[33];
	unsigned char rnd[16];
	int64_t version = -1;
	int created, rc;

	wb__random_bytes(rnd, sizeof(rnd));
	hexify(rnd, sizeof(rnd), id);
	if (!(intent = manifest_json(a, aliases, n, run->id, 1, id))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = wb__run_push_json(run, WB__REC_ARTIFACT, intent)))
		goto out;
	if (run->mode != WB_MODE_ONLINE)
		goto out;
	wait_written(run); /* the intent is in the run log before a byte goes out */
	u->deadline = deadline;
	if ((rc = run_entity(run, deadline)) == WB_OK &&
	    (rc = art_http(&u->h, run->s.base_url, run->s.api_key, run->s.entity, run->s.project, run->s.ca_file)))
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
	upctx u;
	int rc;

	if (out_version)
		*out_version = -1;
	if (!run || !art)
		return wb__error(WB_EINVAL, "run and art must not be NULL");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if ((rc = aliases_check(aliases, n)))
		return rc;
	if ((rc = upctx_init(&u, 0)))
		return rc;
	if (!(rc = hash_all(art, u.buf, NULL)))
		rc = log_hashed(run, art, aliases, n, timeout_deadline(0), &u, out_version);
	upctx_free(&u);
	return rc;
}

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
	art_entry e;
	struct stat st;
	int ok;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return 0;
	memset(&e, 0, sizeof(e));
	e.local = (char *)(uintptr_t)path;
	ok = hash_file(&e, buf, NULL) == WB_OK && strcmp(e.sha, sha) == 0;
	return ok;
}

/* A file being downloaded: written to fd and hashed as it arrives, at
 * most max bytes. err: why the transfer was stopped. */
typedef struct dl_file {
	int fd;
	EVP_MD_CTX *ctx;
	uint64_t bytes, max;
	int err;
	art_pg *pg; /* NULL, or the caller's progress */
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
	pg_move(f->pg, n, 0);
	return WB_OK;
}

/* Download path of version into dir, checked against sha and size, with
 * ctx (a SHA-256 context to reuse) and buf (WB__ART_CHUNK bytes); pg (may
 * be NULL) counts the bytes. */
static int fetch_file(wb__http *h, const char *name, int64_t version, const char *dir, const char *path,
		      const char *sha, uint64_t size, EVP_MD_CTX *ctx, uint8_t *buf, int64_t deadline, art_pg *pg)
{
	char *target = NULL, *tmp = NULL, *suffix = NULL, *esc = NULL, *slash;
	dl_file f = {.fd = -1, .ctx = ctx, .max = size, .pg = pg};
	uint64_t pg_at = pg ? pg->p.done : 0;
	wb__http_req r = {.method = "GET", .resp_max = RESP_MAX, .sink = dl_write, .sink_arg = &f};
	unsigned char d[32];
	char got[65];
	int rc = WB_OK;
	int64_t delay = 0;

	if ((rc = wb__asprintf(&target, "%s/%s", dir, path)))
		return rc;
	if (have_file(target, sha, size, buf)) {
		pg_move(pg, size, 0);
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
		pg_move(pg, 0, pg_at); /* a retry starts the file over */
		rc = wb__http_request(h, &r, deadline, NULL);
		close(f.fd);
		f.fd = -1;
		if (f.err == WB_EIO) {
			rc = wb__error(WB_EIO, "cannot write %s", tmp);
			goto done;
		}
		if (rc == WB_OK || f.err || !art_retry(h, rc, &delay, deadline))
			break;
	}
	if (rc == WB_OK || f.err == WB_ECORRUPT) {
		EVP_DigestFinal_ex(ctx, d, NULL);
		hexify(d, 32, got);
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
		    int64_t *version, art_pg *pg)
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
	if ((rc = art_call(h, "GET", suffix, NULL, deadline, &j)))
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
		if (!sha || !sha_hex_valid(sha) || !wb__json_get_u64(f, "size", &size)) {
			rc = wb__error(WB_ESERVER, "the server listed file %.200s with a bad sha256 or size", path);
			goto done;
		}
		total = size > UINT64_MAX - total ? UINT64_MAX : total + size; /* only shown: saturate */
	}
	pg_begin(pg, "downloading", total);
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
	where w;
	wb__http *h = NULL;
	char name[65];
	int64_t v = -1;
	art_pg pg;
	int rc;

	if (out_version)
		*out_version = -1;
	if ((rc = where_load(&w, opts)))
		return rc;
	pg_init(&pg, opts);
	if (!(rc = art_http(&h, w.base_url, w.api_key, w.entity, w.project, NULL)))
		rc = download(h, spec, dir, timeout_deadline(opts ? opts->timeout_ms : 0), name, &v, &pg);
	if (out_version)
		*out_version = v;
	wb__http_free(h);
	where_free(&w);
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
	if ((rc = run_entity(run, timeout_deadline(0))) ||
	    (rc = art_http(&h, run->s.base_url, run->s.api_key, run->s.entity, run->s.project, run->s.ca_file)))
		return rc;
	rc = download(h, spec, dir, timeout_deadline(0), name, &v, NULL);
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
		if (id && s->ndone == s->donecap) {
			size_t cap = s->donecap ? s->donecap * 2 : 16;
			void *p = realloc(s->done, cap * sizeof(*s->done));
			if (!p) {
				s->oom = 1;
				cJSON_Delete(j);
				return WB_ENOMEM;
			}
			s->done = p;
			s->donecap = cap;
		}
		if (id)
			snprintf(s->done[s->ndone++], 33, "%s", id);
		cJSON_Delete(j);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->intents, cap * sizeof(*s->intents));
		if (!p) {
			cJSON_Delete(j);
			return WB_ENOMEM;
		}
		s->intents = p;
		s->cap = cap;
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
		if (!path || !sha || !sha_hex_valid(sha) || !wb__json_get_u64(f, "size", &size) || (!local && !ref)) {
			wb_artifact_free(a);
			return wb__error(WB_ECORRUPT, "an artifact record of the run log is malformed");
		}
		if ((rc = add_entry(a, wb__strdup(path), local ? wb__strdup(local) : NULL, ref ? wb__strdup(ref) : NULL,
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
	upctx u;
	int rc, first = WB_OK;

	*ndone = 0;
	memset(&s, 0, sizeof(s));
	(void)end;
	if ((rc = wb__runlog_scan(fd, &info, sync_visit, &s)))
		goto out;
	if (s.n == 0)
		goto out;
	if ((rc = upctx_init(&u, deadline)))
		goto out;
	if ((rc = art_http(&u.h, base_url, api_key, entity, project, NULL))) {
		upctx_free(&u);
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
	upctx_free(&u);
	rc = first;
out:
	for (size_t i = 0; i < s.n; i++)
		cJSON_Delete(s.intents[i]);
	free(s.intents);
	free(s.done);
	return rc;
}

/* ---- wb_run_save ---- */

typedef struct saved {
	char *src;  /* the user's file */
	char *name; /* base name, the path inside the artifact */
	int policy;
	int has_snap;      /* a copy is in the spool */
	uint64_t size;     /* of the last snapshot */
	int64_t mtime;     /* of the last snapshot */
	uint64_t seen_size; /* at the previous poll (live) */
	int64_t seen_mtime;
} saved;

struct wb__saves {
	pthread_mutex_t mu; /* guards v, n and serialises snapshots and uploads */
	pthread_mutex_t cvmu;
	pthread_cond_t cv;
	saved *v;
	size_t n, cap;
	pthread_t thread;
	int thread_started;
	int stop; /* under cvmu */
	int64_t poll_ms;
};

static pthread_mutex_t saves_init_mu = PTHREAD_MUTEX_INITIALIZER;

/* Copy s->src into <run dir>/files/<name> once it holds still. Under saves->mu. */
static int snapshot(wb_run *run, saved *s, uint8_t *buf)
{
	char *dst = NULL, *tmp = NULL, *dir = NULL;
	int rc = WB_OK;

	if ((rc = wb__asprintf(&dir, "%s/files", run->dir)) || (rc = wb__mkdir_p(dir)) ||
	    (rc = wb__asprintf(&dst, "%s/%s", dir, s->name)) || (rc = wb__asprintf(&tmp, "%s.tmp", dst)))
		goto done;
	for (int attempt = 0;; attempt++) {
		struct stat a, b;
		int in = -1, out = -1, ok = 1;
		if (stat(s->src, &a) != 0 || !S_ISREG(a.st_mode)) {
			rc = wb__error(WB_ENOTFOUND, "%s is not a regular file", s->src);
			goto done;
		}
		in = open(s->src, O_RDONLY | O_CLOEXEC);
		out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (in < 0 || out < 0) {
			rc = wb__error(WB_EIO, "cannot copy %s: %s", s->src, strerror(errno));
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			goto done;
		}
		for (;;) {
			ssize_t r = read(in, buf, WB__ART_CHUNK);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ok = 0;
				break;
			}
			if (r == 0)
				break;
			for (ssize_t o = 0; o < r;) {
				ssize_t w = write(out, buf + o, (size_t)(r - o));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					ok = -1;
					break;
				}
				o += w;
			}
			if (ok < 0)
				break;
		}
		close(in);
		if (ok < 0 || fsync(out) != 0) {
			close(out);
			rc = wb__error(WB_EIO, "cannot write %s: %s", tmp, strerror(errno));
			goto done;
		}
		close(out);
		if (ok && stat(s->src, &b) == 0 && a.st_size == b.st_size && mtime_ns(&a) == mtime_ns(&b)) {
			/* it held still while copied: the copy is one state of the file */
			if (rename(tmp, dst) != 0) {
				rc = wb__error(WB_EIO, "cannot rename %s: %s", tmp, strerror(errno));
				goto done;
			}
			s->has_snap = 1;
			s->size = (uint64_t)a.st_size;
			s->mtime = mtime_ns(&a);
			break;
		}
		if (attempt >= 50) {
			rc = wb__error(WB_EIO, "%s keeps changing: no stable copy after %d tries", s->src, attempt + 1);
			goto done;
		}
		{
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL); /* give the writer of the file a moment to finish */
		}
	}
done:
	if (rc && tmp)
		unlink(tmp);
	free(dir);
	free(dst);
	free(tmp);
	return rc;
}

/* Log the run's files artifact from the spool copies. Under saves->mu. */
static int log_saves(wb_run *run, wb__saves *sv, int64_t deadline)
{
	wb_artifact *a = NULL;
	char name[80];
	upctx u;
	int rc;

	snprintf(name, sizeof(name), "run-%s-files", run->id);
	if ((rc = wb_artifact_new(&a, name, "run-files")))
		return rc;
	for (size_t i = 0; i < sv->n && !rc; i++) {
		char *p = NULL;
		if (!sv->v[i].has_snap)
			continue;
		if (!(rc = wb__asprintf(&p, "%s/files/%s", run->dir, sv->v[i].name)))
			rc = wb_artifact_add_file(a, p, sv->v[i].name);
		free(p);
	}
	if (!rc && a->n == 0) {
		wb_artifact_free(a);
		return WB_OK;
	}
	if (!rc && !(rc = upctx_init(&u, deadline))) {
		if (!(rc = hash_all(a, u.buf, NULL)))
			rc = log_hashed(run, a, NULL, 0, deadline, &u, NULL);
		upctx_free(&u);
	}
	wb_artifact_free(a);
	return rc;
}

static void *saves_thread(void *arg)
{
	wb_run *run = arg;
	wb__saves *sv = run->saves;
	uint8_t *buf = malloc(WB__ART_CHUNK);

	for (;;) {
		int changed = 0;
		pthread_mutex_lock(&sv->cvmu);
		if (!sv->stop)
			wb__cond_wait_until(&sv->cv, &sv->cvmu, wb__mono_ms() + sv->poll_ms);
		if (sv->stop) {
			pthread_mutex_unlock(&sv->cvmu);
			break;
		}
		pthread_mutex_unlock(&sv->cvmu);
		if (!buf)
			continue;
		pthread_mutex_lock(&sv->mu);
		for (size_t i = 0; i < sv->n; i++) {
			saved *s = &sv->v[i];
			struct stat st;
			if (s->policy != WB_SAVE_LIVE || stat(s->src, &st) != 0)
				continue;
			if ((uint64_t)st.st_size == s->size && mtime_ns(&st) == s->mtime && s->has_snap)
				continue;
			/* changed since the snapshot: take a new one once it held still for a poll */
			if ((uint64_t)st.st_size == s->seen_size && mtime_ns(&st) == s->seen_mtime) {
				if (snapshot(run, s, buf) == WB_OK)
					changed = 1;
			}
			s->seen_size = (uint64_t)st.st_size;
			s->seen_mtime = mtime_ns(&st);
		}
		/* bounded by the run's finish timeout, so that wb_run_finish, which joins this thread, stays bounded */
		if (changed && log_saves(run, sv, wb__mono_ms() + (int64_t)run->s.finish_timeout_ms))
			wb__warn("saving files of run %s: %s", run->id, wb_errmsg());
		pthread_mutex_unlock(&sv->mu);
	}
	free(buf);
	return NULL;
}

static int saves_get(wb_run *run, wb__saves **out)
{
	wb__saves *sv;
	const char *p = getenv("WB_SAVE_POLL_MS");

	pthread_mutex_lock(&saves_init_mu);
	sv = run->saves;
	if (!sv) {
		sv = calloc(1, sizeof(*sv));
		if (sv) {
			pthread_mutex_init(&sv->mu, NULL);
			pthread_mutex_init(&sv->cvmu, NULL);
			wb__cond_init(&sv->cv);
			sv->poll_ms = p && *p && atol(p) > 0 ? atol(p) : SAVES_POLL_DEFAULT_MS;
			run->saves = sv;
		}
	}
	pthread_mutex_unlock(&saves_init_mu);
	*out = sv;
	return sv ? WB_OK : wb__error(WB_ENOMEM, "out of memory");
}

int wb_run_save(wb_run *run, const char *path, wb_save_policy policy)
{
	wb__saves *sv;
	saved *s = NULL;
	const char *base;
	uint8_t *buf = NULL;
	struct stat st;
	int rc = WB_OK, start_thread = 0;

	if (!run || !path)
		return wb__error(WB_EINVAL, "run and path must not be NULL");
	if (policy != WB_SAVE_NOW && policy != WB_SAVE_END && policy != WB_SAVE_LIVE)
		return wb__error(WB_EINVAL, "policy must be WB_SAVE_NOW, WB_SAVE_END or WB_SAVE_LIVE");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return wb__error(WB_ENOTFOUND, "%s is not a regular file", path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!wb__art_path_valid(base, strlen(base)))
		return wb__error(WB_EINVAL, "%s has no usable file name", path);
	if ((rc = saves_get(run, &sv)))
		return rc;
	pthread_mutex_lock(&sv->mu);
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i].name, base) == 0)
			s = &sv->v[i];
	if (s && strcmp(s->src, path) != 0) {
		rc = wb__error(WB_EINVAL, "another file named %s is saved with this run already", base);
		goto done;
	}
	if (!s) {
		if (sv->n == sv->cap) {
			size_t cap = sv->cap ? sv->cap * 2 : 8;
			saved *p = realloc(sv->v, cap * sizeof(*p));
			if (!p) {
				rc = wb__error(WB_ENOMEM, "out of memory");
				goto done;
			}
			sv->v = p;
			sv->cap = cap;
		}
		s = &sv->v[sv->n];
		memset(s, 0, sizeof(*s));
		if (!(s->src = wb__strdup(path)) || !(s->name = wb__strdup(base))) {
			free(s->src);
			free(s->name);
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		sv->n++;
	}
	if ((int)policy > s->policy)
		s->policy = (int)policy;
	if (policy == WB_SAVE_END)
		goto done;
	if (!(buf = malloc(WB__ART_CHUNK))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if (!(rc = snapshot(run, s, buf)))
		rc = log_saves(run, sv, timeout_deadline(0));
	s->seen_size = s->size;
	s->seen_mtime = s->mtime;
	start_thread = policy == WB_SAVE_LIVE && !sv->thread_started;
	if (start_thread && wb__thread_start(&sv->thread, saves_thread, run, "wb save") == WB_OK)
		sv->thread_started = 1;
done:
	pthread_mutex_unlock(&sv->mu);
	free(buf);
	return rc;
}

void wb__saves_finish(wb_run *run, int64_t deadline)
{
	wb__saves *sv = run->saves;
	uint8_t *buf;
	int changed = 0;

	if (!sv)
		return;
	if (sv->thread_started) {
		pthread_mutex_lock(&sv->cvmu);
		sv->stop = 1;
		pthread_cond_broadcast(&sv->cv);
		pthread_mutex_unlock(&sv->cvmu);
		pthread_join(sv->thread, NULL);
	}
	buf = malloc(WB__ART_CHUNK);
	pthread_mutex_lock(&sv->mu);
	for (size_t i = 0; buf && i < sv->n; i++) {
		saved *s = &sv->v[i];
		struct stat st;
		if (s->policy == WB_SAVE_NOW && s->has_snap)
			continue;
		if (s->has_snap && stat(s->src, &st) == 0 && (uint64_t)st.st_size == s->size && mtime_ns(&st) == s->mtime)
			continue;
		if (snapshot(run, s, buf) == WB_OK)
			changed = 1;
		else
			wb__warn("saving %s: %s", s->src, wb_errmsg());
	}
	if (changed && log_saves(run, sv, deadline))
		wb__warn("saving files of run %s: %s", run->id, wb_errmsg());
	pthread_mutex_unlock(&sv->mu);
	free(buf);
	for (size_t i = 0; i < sv->n; i++) {
		free(sv->v[i].src);
		free(sv->v[i].name);
	}
	free(sv->v);
	pthread_mutex_destroy(&sv->mu);
	pthread_mutex_destroy(&sv->cvmu);
	pthread_cond_destroy(&sv->cv);
	free(sv);
	run->saves = NULL;
}

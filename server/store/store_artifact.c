/*
 * store_artifact.c — the blob store and the artifact rows (see
 * store_artifact.h for the design).
 *
 * A partial upload belongs to the user who started it: its part file is
 * blobs/tmp/<sha>.u<user id>.part, so another user sending the same hash
 * writes a part of their own and can neither append to nor cut someone
 * else's (nor learn how far it got). Running hashes of uploads in
 * progress are kept in a small process-wide table keyed by the part file's
 * path, each entry marked busy while one request writes to it, so two
 * requests of one user uploading the same blob at once do not interleave
 * (the second is told to retry). The table holds at most UPLOADS_MAX
 * entries; the least recently used idle one is dropped when full (its
 * upload then rebuilds the hash from the part file).
 *
 * Possession. Knowing a blob's SHA-256 is not a right to its bytes: a
 * caller may name a blob (see it present, commit a version holding it)
 * only when it may read a version that holds it, or when blob_owners says
 * it uploaded those bytes itself (wbs__blob_usable). An upload of a blob
 * the store already has is verified like any other and then dropped, and
 * records the uploader as an owner: the bytes are kept once.
 */
#include "store/store_artifact.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/store_acct.h"
#include "store/store_int.h"
#include "util/sha256.h"
#include "wire.h"

#define UPLOADS_MAX 64

static atomic_uint_fast64_t bytes_received;

uint64_t wbs__blob_bytes_received(void) { return atomic_load(&bytes_received); }
uint64_t wbs__blob_gc_deleted(void) { return wbs__cas_deleted_total(WBS__CAS_BLOB); }

/* ---- validation ---- */

int wbs__art_path_valid(const char *p, size_t len)
{
	return wb__art_path_valid(p, len) && wbs__utf8_valid(p, len);
}

void wbs__art_manifest_free(wbs__art_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].ref);
	}
	free(m->files);
	for (size_t i = 0; i < m->naliases; i++)
		free(m->aliases[i]);
	free(m->aliases);
	free(m->type);
	free(m->run_id);
	free(m->metadata);
	memset(m, 0, sizeof(*m));
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const wbs__art_file *)a)->path, ((const wbs__art_file *)b)->path);
}

int wbs__art_digest(wbs__art_manifest *m, char *why, size_t whylen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char d[32];
	char num[24];
	int rc = -1;

	if (!ctx) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	qsort(m->files, m->nfiles, sizeof(*m->files), file_cmp);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; i < m->nfiles; i++) {
		const wbs__art_file *f = &m->files[i];
		if (i > 0 && strcmp(f->path, m->files[i - 1].path) == 0) {
			snprintf(why, whylen, "file path %.200s appears twice", f->path);
			goto done;
		}
		EVP_DigestUpdate(ctx, f->path, strlen(f->path) + 1);
		EVP_DigestUpdate(ctx, f->sha256, 65);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)f->size);
		EVP_DigestUpdate(ctx, num, strlen(num) + 1);
		if (f->ref)
			EVP_DigestUpdate(ctx, f->ref, strlen(f->ref));
		EVP_DigestUpdate(ctx, "\n", 1);
	}
	EVP_DigestFinal_ex(ctx, d, NULL);
	wbs__sha256_digest_hex(d, m->digest);
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- blob files ---- */

static void blob_path(const wbs__store *s, const char *sha, char *out, size_t cap)
{
	wbs__cas_path(s, WBS__CAS_BLOB, sha, out, cap);
}

/* The part file of user_id's upload of sha (the sweep of leftovers knows them by ".part"). */
static void part_path(const wbs__store *s, const char *sha, int64_t user_id, char *out, size_t cap)
{
	char dir[1024];
	wbs__store_dir(s, dir, sizeof(dir));
	snprintf(out, cap, "%s/blobs/tmp/%s.u%lld.part", dir, sha, (long long)user_id);
}

/* mkdir -p of the parent of path (two levels at most below <data>/blobs). */
static int mkdir_parents(const char *path)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s", path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return 0;
}

static void fsync_parent(const char *path)
{
	char p[1200], *slash;
	int fd;
	snprintf(p, sizeof(p), "%s", path);
	slash = strrchr(p, '/');
	if (!slash)
		return;
	*slash = '\0';
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int wbs__blob_status(wbs__store *s, const char *sha, int64_t user_id, uint64_t *size, uint64_t *received)
{
	char path[1200];
	struct stat st;
	int present;

	blob_path(s, sha, path, sizeof(path));
	present = stat(path, &st) == 0;
	*size = present ? (uint64_t)st.st_size : 0;
	if (received) {
		*received = 0;
		part_path(s, sha, user_id, path, sizeof(path));
		if (user_id > 0 && stat(path, &st) == 0)
			*received = (uint64_t)st.st_size;
	}
	return present;
}

int wbs__blob_open(wbs__store *s, const char *sha)
{
	char path[1200];
	blob_path(s, sha, path, sizeof(path));
	return open(path, O_RDONLY | O_CLOEXEC);
}

struct upload {
	char path[1200];
	EVP_MD_CTX *ctx;
	uint64_t hashed; /* bytes in ctx */
	uint64_t used;   /* LRU clock */
	int busy;
};

static pthread_mutex_t up_mu = PTHREAD_MUTEX_INITIALIZER;
static struct upload uploads[UPLOADS_MAX];
static uint64_t up_clock;

/* Take the entry for path (creating it), marked busy; NULL if busy or none free. */
static struct upload *upload_take(const char *path, int *busy)
{
	struct upload *u = NULL, *lru = NULL;

	*busy = 0;
	pthread_mutex_lock(&up_mu);
	for (int i = 0; i < UPLOADS_MAX; i++) {
		if (uploads[i].ctx && strcmp(uploads[i].path, path) == 0) {
			u = &uploads[i];
			break;
		}
		if (!uploads[i].busy && (!lru || !uploads[i].ctx || (lru->ctx && uploads[i].used < lru->used)))
			lru = &uploads[i];
	}
	if (u && u->busy) {
		*busy = 1;
		u = NULL;
	} else if (!u && lru) {
		u = lru;
		if (!u->ctx)
			u->ctx = EVP_MD_CTX_new();
		if (u->ctx) {
			EVP_DigestInit_ex(u->ctx, EVP_sha256(), NULL);
			snprintf(u->path, sizeof(u->path), "%s", path);
			u->hashed = 0;
		} else {
			u = NULL;
		}
	}
	if (u) {
		u->busy = 1;
		u->used = ++up_clock;
	}
	pthread_mutex_unlock(&up_mu);
	return u;
}

static void upload_release(struct upload *u, int forget)
{
	pthread_mutex_lock(&up_mu);
	u->busy = 0;
	if (forget) {
		EVP_DigestInit_ex(u->ctx, EVP_sha256(), NULL);
		u->hashed = 0;
		u->path[0] = '\0';
	}
	pthread_mutex_unlock(&up_mu);
}

/* Bring u's hash up to have bytes of the part file (after a restart or an eviction). */
static int upload_catch_up(struct upload *u, int fd, uint64_t have)
{
	const size_t cap = 1u << 20;
	uint8_t *buf = NULL;
	int rc = 0;

	if (u->hashed > have) {
		EVP_DigestInit_ex(u->ctx, EVP_sha256(), NULL);
		u->hashed = 0;
	}
	if (u->hashed < have && !(buf = malloc(cap)))
		return -1;
	while (u->hashed < have) {
		size_t want = have - u->hashed < cap ? (size_t)(have - u->hashed) : cap;
		ssize_t n = pread(fd, buf, want, (off_t)u->hashed);
		if (n <= 0) {
			rc = -1;
			break;
		}
		EVP_DigestUpdate(u->ctx, buf, (size_t)n);
		u->hashed += (uint64_t)n;
	}
	free(buf);
	return rc;
}

/*
 * The writer of one chunk: slots of cap bytes in a ring; the request's
 * thread fills and hashes slot k+1 while this thread pwrites slot k.
 */
#define WPIPE_SLOTS 4

struct wpipe {
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	uint8_t *buf;
	size_t cap;
	size_t len[WPIPE_SLOTS];
	uint64_t at[WPIPE_SLOTS];
	unsigned head, tail; /* slots filled so far / written so far */
	int done, err;
};

static void *wpipe_main(void *arg)
{
	struct wpipe *w = arg;

	for (;;) {
		unsigned k;
		pthread_mutex_lock(&w->mu);
		while (w->tail == w->head && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->tail == w->head) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		k = w->tail % WPIPE_SLOTS;
		pthread_mutex_unlock(&w->mu);
		for (size_t o = 0; o < w->len[k] && !w->err;) {
			ssize_t n = pwrite(w->fd, w->buf + k * w->cap + o, w->len[k] - o, (off_t)(w->at[k] + o));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				w->err = n < 0 ? errno : ENOSPC;
			else
				o += (size_t)n;
		}
		/* start the slice's writeback now, so the disk works while the
		 * next ones arrive and the final fsync finds little left to do */
		if (!w->err)
			sync_file_range(w->fd, (off_t)w->at[k], (off_t)w->len[k], SYNC_FILE_RANGE_WRITE);
		pthread_mutex_lock(&w->mu);
		w->tail++;
		pthread_cond_broadcast(&w->cv);
		if (w->err) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

static int wpipe_start(struct wpipe *w, int fd, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = buf;
	w->cap = cap;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->t, NULL, wpipe_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		return -1;
	}
	return 0;
}

/* The next free slot (waiting for the writer), or NULL when it failed. */
static uint8_t *wpipe_slot(struct wpipe *w)
{
	uint8_t *p = NULL;
	pthread_mutex_lock(&w->mu);
	while (w->head - w->tail == WPIPE_SLOTS && !w->err)
		pthread_cond_wait(&w->cv, &w->mu);
	if (!w->err)
		p = w->buf + (w->head % WPIPE_SLOTS) * w->cap;
	pthread_mutex_unlock(&w->mu);
	return p;
}

static void wpipe_push(struct wpipe *w, size_t len, uint64_t at)
{
	pthread_mutex_lock(&w->mu);
	w->len[w->head % WPIPE_SLOTS] = len;
	w->at[w->head % WPIPE_SLOTS] = at;
	w->head++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Wait for every pushed slot to be written; 0, or -1 with w->err. */
static int wpipe_finish(struct wpipe *w)
{
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->t, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	return w->err ? -1 : 0;
}

struct owner_arg {
	const char *sha;
	int64_t user_id;
};
static int apply_owner_add(wbs__store *s, wbs__job *j);

int wbs__blob_write(wbs__store *s, int64_t user_id, const char *sha, uint64_t size, uint64_t offset, uint64_t len,
		    wbs__chunk_read_fn read, void *arg, const char *chunk_sha, const uint32_t *chunk_crc,
		    uint64_t *received, int *complete, char *msg, size_t msglen)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const size_t cap = 1u << 20; /* a slice */
	char part[1200], final[1200], got[65];
	struct upload *u = NULL;
	struct stat st;
	EVP_MD_CTX *save = NULL, *cctx = NULL;
	uint8_t *buf = NULL;
	unsigned char d[32];
	int fd = -1, busy, ret = WBS__BLOB_IO, forget = 0, restore = 0;
	uint64_t have, total = 0;

	*received = 0;
	*complete = 0;
	if (user_id <= 0) {
		snprintf(msg, msglen, "an upload needs a signed-in user");
		return WBS__BLOB_IO;
	}
	if (offset > size || len > size - offset) {
		snprintf(msg, msglen, "chunk at %llu of %llu bytes passes the blob size %llu", (unsigned long long)offset,
			 (unsigned long long)len, (unsigned long long)size);
		return WBS__BLOB_TOOBIG;
	}
	part_path(s, sha, user_id, part, sizeof(part));
	blob_path(s, sha, final, sizeof(final));
	if (!(u = upload_take(part, &busy))) {
		snprintf(msg, msglen, busy ? "another request is uploading this blob; retry" : "too many uploads at once");
		return WBS__BLOB_BUSY;
	}
	if (!(buf = malloc(cap * WPIPE_SLOTS)) || !(save = EVP_MD_CTX_new()) || !(cctx = EVP_MD_CTX_new())) {
		snprintf(msg, msglen, "out of memory");
		goto done;
	}
	if (mkdir_parents(part) || mkdir_parents(final)) {
		snprintf(msg, msglen, "cannot create the blob directories: %s", strerror(errno));
		ret = errno == ENOSPC || errno == EDQUOT ? WBS__BLOB_FULL : WBS__BLOB_IO;
		goto done;
	}
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(msg, msglen, "cannot open the partial blob: %s", strerror(errno));
		ret = errno == ENOSPC || errno == EDQUOT ? WBS__BLOB_FULL : WBS__BLOB_IO;
		goto done;
	}
	have = (uint64_t)st.st_size;
	*received = have;
	if (offset != have) {
		snprintf(msg, msglen, "chunk starts at %llu but %llu bytes were received", (unsigned long long)offset,
			 (unsigned long long)have);
		ret = WBS__BLOB_OFFSET;
		goto done;
	}
	if (upload_catch_up(u, fd, have) || !EVP_MD_CTX_copy_ex(save, u->ctx) ||
	    !EVP_DigestInit_ex(cctx, EVP_sha256(), NULL)) {
		snprintf(msg, msglen, "cannot read the partial blob back");
		forget = 1;
		goto done;
	}
	/* Stream the body in slices: each is checked and hashed (chunk and
	 * whole) while in cache, then written by a second thread while the next
	 * slice is read and hashed (the copy into the page cache costs about as
	 * much as the hashing: on two cores they overlap). If the chunk turns
	 * out bad or short it is cut off again, so nothing of it is kept. */
	restore = 1;
	{
		struct wpipe wp;
		int short_body = 0;
		if (wpipe_start(&wp, fd, buf, cap)) {
			snprintf(msg, msglen, "cannot start the blob writer");
			goto done;
		}
		while (total < len) {
			size_t want = len - total < cap ? (size_t)(len - total) : cap;
			uint8_t *slice = wpipe_slot(&wp);
			long n;
			if (!slice)
				break; /* the writer failed */
			n = read(arg, slice, want);
			if (n <= 0) {
				short_body = 1;
				break;
			}
			if (chunk_sha)
				EVP_DigestUpdate(cctx, slice, (size_t)n);
			if (chunk_crc)
				crc = crc32(crc, slice, (uInt)n);
			EVP_DigestUpdate(u->ctx, slice, (size_t)n);
			wpipe_push(&wp, (size_t)n, offset + total);
			total += (uint64_t)n;
		}
		if (wpipe_finish(&wp)) {
			int e = wp.err;
			snprintf(msg, msglen, "cannot write the blob: %s", strerror(e));
			ret = e == ENOSPC || e == EDQUOT ? WBS__BLOB_FULL : WBS__BLOB_IO;
			goto done;
		}
		if (short_body) {
			snprintf(msg, msglen, "the chunk body ended after %llu of %llu bytes", (unsigned long long)total,
				 (unsigned long long)len);
			ret = WBS__BLOB_SHORT;
			goto done;
		}
	}
	EVP_DigestFinal_ex(cctx, d, NULL);
	wbs__sha256_digest_hex(d, got);
	if (chunk_sha && strcmp(got, chunk_sha) != 0) {
		snprintf(msg, msglen, "chunk at %llu does not match its sha256 (got %s)", (unsigned long long)offset, got);
		ret = WBS__BLOB_CHUNK;
		goto done;
	}
	if (chunk_crc && (uint32_t)crc != *chunk_crc) {
		snprintf(msg, msglen, "chunk at %llu does not match its crc32 (got %08x)", (unsigned long long)offset,
			 (unsigned)crc);
		ret = WBS__BLOB_CHUNK;
		goto done;
	}
	restore = 0;
	atomic_fetch_add(&bytes_received, len);
	u->hashed += len;
	*received = offset + len;
	if (offset + len == size) {
		EVP_MD_CTX *c2 = EVP_MD_CTX_new();
		forget = 1;
		if (!c2 || !EVP_MD_CTX_copy_ex(c2, u->ctx) || !EVP_DigestFinal_ex(c2, d, NULL)) {
			EVP_MD_CTX_free(c2);
			snprintf(msg, msglen, "cannot hash the blob");
			goto done;
		}
		EVP_MD_CTX_free(c2);
		wbs__sha256_digest_hex(d, got);
		if (strcmp(got, sha) != 0) {
			unlink(part);
			*received = 0;
			snprintf(msg, msglen, "the uploaded bytes hash to %s, not to %s; upload discarded", got, sha);
			ret = WBS__BLOB_MISMATCH;
			goto done;
		}
		if (stat(final, &st) == 0) {
			/* the store has these bytes already (another user's upload, or
			 * a version): this upload only proved that the caller has them */
			unlink(part);
		} else {
			if (fsync(fd) != 0) {
				int e = errno;
				snprintf(msg, msglen, "cannot fsync the blob: %s", strerror(e));
				ret = e == ENOSPC || e == EDQUOT ? WBS__BLOB_FULL : WBS__BLOB_IO;
				goto done;
			}
			if (rename(part, final) != 0) {
				snprintf(msg, msglen, "cannot move the blob into place: %s", strerror(errno));
				goto done;
			}
			fsync_parent(final);
		}
		{
			/* after the blob is in place: a crash in between leaves a blob
			 * without its owner row, and the owner's next upload writes it */
			struct owner_arg oa = {sha, user_id};
			wbs__err e = {0};
			if (wbs__store_submit_fn(s, apply_owner_add, &oa, &e)) {
				snprintf(msg, msglen, "cannot record the upload: %s", e.msg);
				ret = e.st == WBS__ST_FULL ? WBS__BLOB_FULL : WBS__BLOB_IO;
				goto done;
			}
		}
		*complete = 1;
	}
	ret = WBS__BLOB_OK;
done:
	if (restore) {
		/* cut the chunk off again and put the running hash back where it was */
		if (fd < 0 || ftruncate(fd, (off_t)offset) != 0 || !EVP_MD_CTX_copy_ex(u->ctx, save))
			forget = 1;
	}
	if (fd >= 0)
		close(fd);
	if (u)
		upload_release(u, forget);
	EVP_MD_CTX_free(save);
	EVP_MD_CTX_free(cctx);
	free(buf);
	return ret;
}

/* ---- writer jobs ---- */

static int prep(wbs__store *s, sqlite3_stmt **st, const char *sql, wbs__err *err)
{
	int rc = sqlite3_prepare_v2(s->wdb, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return wbs__store_sqlerr(err, s->wdb, rc, "artifact statement");
	}
	return WBS__ST_OK;
}

/* Step a statement that returns no row (or whose row is not wanted). */
static int exec_st(wbs__store *s, sqlite3_stmt *st, wbs__err *err, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, s->wdb, rc, what);
	return WBS__ST_OK;
}

/* One int64 from sql with text binds a[0..n); *found 0 when no row. */
static int query_i64(wbs__store *s, const char *sql, const char *const *a, int n, const int64_t *ia, int ni,
		     int64_t *out, int *found, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*found = 0;
	*out = 0;
	if ((ret = prep(s, &st, sql, err)))
		return ret;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, a[i], -1, SQLITE_STATIC);
	for (int i = 0; i < ni; i++)
		sqlite3_bind_int64(st, n + i + 1, ia[i]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		*found = 1;
		ret = WBS__ST_OK;
	} else if (rc == SQLITE_DONE) {
		ret = WBS__ST_OK;
	} else {
		ret = wbs__store_sqlerr(err, s->wdb, rc, "artifact query");
	}
	sqlite3_finalize(st);
	return ret;
}

/* user_id uploaded the bytes of sha (the whole hash was checked): record it (once). */
static int apply_owner_add(wbs__store *s, wbs__job *j)
{
	const struct owner_arg *a = j->arg;
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = prep(s, &st, "INSERT OR IGNORE INTO blob_owners (sha256, user_id, created_at) VALUES (?1, ?2, ?3)",
			&j->err)))
		return ret;
	sqlite3_bind_text(st, 1, a->sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->user_id);
	sqlite3_bind_double(st, 3, wbs__store_now(s));
	ret = exec_st(s, st, &j->err, "record blob owner");
	sqlite3_finalize(st);
	return ret;
}

/* Parse "v<N>" into *n: 1, or 0 if sel is an alias. */
static int sel_version(const char *sel, int64_t *n)
{
	if (sel[0] != 'v' || !sel[1] || strspn(sel + 1, "0123456789") != strlen(sel + 1) || strlen(sel) > 12)
		return 0;
	*n = strtoll(sel + 1, NULL, 10);
	return 1;
}

/* In the writer: the version row id of entity/project/name:sel (and the artifact's id). */
static int w_resolve(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
		     int64_t *art_id, int64_t *ver_id, wbs__err *err)
{
	const char *a[3] = {entity, project, name};
	int64_t n;
	int found, ret;

	ret = query_i64(s,
			"SELECT a.id FROM artifacts a JOIN projects p ON p.id = a.project_id"
			" WHERE p.entity = ?1 AND p.name = ?2 AND a.name = ?3",
			a, 3, NULL, 0, art_id, &found, err);
	if (ret)
		return ret;
	if (!found)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s in %s/%s", name, entity, project);
	if (sel_version(sel, &n))
		ret = query_i64(s, "SELECT id FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2", NULL, 0,
				(int64_t[]){*art_id, n}, 2, ver_id, &found, err);
	else
		ret = query_i64(s, "SELECT version_id FROM artifact_aliases WHERE alias = ?1 AND artifact_id = ?2",
				(const char *[]){sel}, 1, art_id, 1, ver_id, &found, err);
	if (ret)
		return ret;
	if (!found)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
	return WBS__ST_OK;
}

static int w_alias_put(wbs__store *s, int64_t art_id, const char *alias, int64_t ver_id, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = prep(s, &st,
			"INSERT INTO artifact_aliases (artifact_id, alias, version_id) VALUES (?1, ?2, ?3)"
			" ON CONFLICT (artifact_id, alias) DO UPDATE SET version_id = excluded.version_id",
			err)))
		return ret;
	sqlite3_bind_int64(st, 1, art_id);
	sqlite3_bind_text(st, 2, alias, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ver_id);
	ret = exec_st(s, st, err, "set alias");
	sqlite3_finalize(st);
	return ret;
}

/* Keep "latest" on the newest version of art_id (or remove it when none is left). */
static int w_latest_fix(wbs__store *s, int64_t art_id, wbs__err *err)
{
	int64_t vid;
	int found, ret;
	sqlite3_stmt *st = NULL;

	ret = query_i64(s, "SELECT id FROM artifact_versions WHERE artifact_id = ?1 ORDER BY version DESC LIMIT 1",
			NULL, 0, &art_id, 1, &vid, &found, err);
	if (ret)
		return ret;
	if (found)
		return w_alias_put(s, art_id, "latest", vid, err);
	if ((ret = prep(s, &st, "DELETE FROM artifact_aliases WHERE artifact_id = ?1 AND alias = 'latest'", err)))
		return ret;
	sqlite3_bind_int64(st, 1, art_id);
	ret = exec_st(s, st, err, "drop alias");
	sqlite3_finalize(st);
	return ret;
}

struct commit_arg {
	const wbs__art_manifest *m;
	int64_t version;
	int created;
};

static int apply_commit(wbs__store *s, wbs__job *j)
{
	struct commit_arg *a = j->arg;
	const wbs__art_manifest *m = a->m;
	double now = wbs__store_now(s), at = m->created_at > 0 && m->created_at < now ? m->created_at : now;
	sqlite3_stmt *st = NULL;
	int64_t project_id, art_id, ver_id = 0, producer = 0, next = 0, total = 0;
	int found, ret, has_producer = 0;

	/* project (created if new) */
	if ((ret = prep(s, &st,
			"INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)"
			" ON CONFLICT (entity, name) DO UPDATE SET updated_at = excluded.updated_at",
			&j->err)))
		return ret;
	sqlite3_bind_text(st, 1, m->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->project, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	ret = exec_st(s, st, &j->err, "artifact project");
	sqlite3_finalize(st);
	st = NULL;
	if (ret)
		return ret;
	if ((ret = query_i64(s, "SELECT id FROM projects WHERE entity = ?1 AND name = ?2",
			     (const char *[]){m->entity, m->project}, 2, NULL, 0, &project_id, &found, &j->err)))
		return ret;
	if (m->run_id) {
		if ((ret = query_i64(s, "SELECT id FROM runs WHERE run_id = ?1 AND project_id = ?2",
				     (const char *[]){m->run_id}, 1, &project_id, 1, &producer, &has_producer, &j->err)))
			return ret;
	}
	/* artifact */
	{
		sqlite3_stmt *q = NULL;
		if ((ret = prep(s, &q, "SELECT id, type FROM artifacts WHERE project_id = ?1 AND name = ?2", &j->err)))
			return ret;
		sqlite3_bind_int64(q, 1, project_id);
		sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(q, 1);
			art_id = sqlite3_column_int64(q, 0);
			if (strcmp(t ? t : "", m->type) != 0) {
				ret = wbs__err_set(&j->err, WBS__ST_BADARG, "artifact %s has type %.64s, not %s", m->name,
						   t ? t : "", m->type);
				sqlite3_finalize(q);
				return ret;
			}
			sqlite3_finalize(q);
		} else {
			sqlite3_finalize(q);
			if ((ret = prep(s, &st,
					"INSERT INTO artifacts (project_id, name, type, created_at, updated_at)"
					" VALUES (?1, ?2, ?3, ?4, ?4)",
					&j->err)))
				return ret;
			sqlite3_bind_int64(st, 1, project_id);
			sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, m->type, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 4, at);
			ret = exec_st(s, st, &j->err, "create artifact");
			sqlite3_finalize(st);
			st = NULL;
			if (ret)
				return ret;
			art_id = sqlite3_last_insert_rowid(s->wdb);
		}
	}
	/* the same content: that version */
	if ((ret = query_i64(s, "SELECT version, id FROM artifact_versions WHERE digest = ?1 AND artifact_id = ?2",
			     (const char *[]){m->digest}, 1, &art_id, 1, &a->version, &found, &j->err)))
		return ret;
	if (found) {
		a->created = 0;
		if ((ret = query_i64(s, "SELECT id FROM artifact_versions WHERE digest = ?1 AND artifact_id = ?2",
				     (const char *[]){m->digest}, 1, &art_id, 1, &ver_id, &found, &j->err)))
			return ret;
	} else {
		/* every uploaded file's blob must be whole in the store */
		for (size_t i = 0; i < m->nfiles; i++) {
			uint64_t have;
			total += (int64_t)m->files[i].size;
			if (m->files[i].ref)
				continue;
			if (!wbs__blob_status(s, m->files[i].sha256, 0, &have, NULL) || have != m->files[i].size)
				return wbs__err_set(&j->err, WBS__ART_MISSING, "blob %s of file %.200s is not uploaded",
						    m->files[i].sha256, m->files[i].path);
		}
		if ((ret = query_i64(s, "SELECT next_version FROM artifacts WHERE id = ?1", NULL, 0, &art_id, 1, &next,
				     &found, &j->err)))
			return ret;
		if ((ret = prep(s, &st,
				"INSERT INTO artifact_versions (artifact_id, version, digest, size, file_count, metadata,"
				" producer_run, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				&j->err)))
			return ret;
		sqlite3_bind_int64(st, 1, art_id);
		sqlite3_bind_int64(st, 2, next);
		sqlite3_bind_text(st, 3, m->digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, total);
		sqlite3_bind_int64(st, 5, (int64_t)m->nfiles);
		sqlite3_bind_text(st, 6, m->metadata ? m->metadata : "{}", -1, SQLITE_STATIC);
		if (has_producer)
			sqlite3_bind_int64(st, 7, producer);
		sqlite3_bind_double(st, 8, at);
		ret = exec_st(s, st, &j->err, "create version");
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
		ver_id = sqlite3_last_insert_rowid(s->wdb);
		a->version = next;
		a->created = 1;
		if ((ret = prep(s, &st,
				"INSERT INTO artifact_files (version_id, path, sha256, size, ref) VALUES (?1, ?2, ?3, ?4, ?5)",
				&j->err)))
			return ret;
		for (size_t i = 0; i < m->nfiles && !ret; i++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, ver_id);
			sqlite3_bind_text(st, 2, m->files[i].path, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, m->files[i].sha256, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (int64_t)m->files[i].size);
			if (m->files[i].ref)
				sqlite3_bind_text(st, 5, m->files[i].ref, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 5);
			ret = exec_st(s, st, &j->err, "add file");
		}
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
		if ((ret = prep(s, &st, "UPDATE artifacts SET next_version = ?2, updated_at = ?3 WHERE id = ?1", &j->err)))
			return ret;
		sqlite3_bind_int64(st, 1, art_id);
		sqlite3_bind_int64(st, 2, next + 1);
		sqlite3_bind_double(st, 3, at);
		ret = exec_st(s, st, &j->err, "bump version");
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
		if ((ret = w_latest_fix(s, art_id, &j->err)))
			return ret;
	}
	for (size_t i = 0; i < m->naliases; i++)
		if ((ret = w_alias_put(s, art_id, m->aliases[i], ver_id, &j->err)))
			return ret;
	return WBS__ST_OK;
}

int wbs__art_commit(wbs__store *s, const wbs__art_manifest *m, int64_t *version, int *created, wbs__err *err)
{
	struct commit_arg a = {m, -1, 0};
	wbs__blob_caller c = {.user_id = m->user_id};
	int ret;

	*version = -1;
	*created = 0;
	/* Before the writer: naming a blob the committer may not use is the
	 * same 409 as naming one that is not there, so a commit does not tell
	 * whether a hash exists (its client uploads the bytes, which proves
	 * possession). Done on this thread with readers: the writer stays free.
	 * A blob that stops being usable between here and the job (a version
	 * deleted) was readable a moment ago; one collected meanwhile is found
	 * missing by the job. */
	for (size_t i = 0; i < m->nfiles; i++) {
		int usable = 0;
		if (m->files[i].ref)
			continue;
		if ((ret = wbs__blob_usable(s, &c, m->files[i].sha256, &usable, err)))
			return ret;
		if (!usable)
			return wbs__err_set(err, WBS__ART_MISSING, "blob %s of file %.200s is not uploaded",
					    m->files[i].sha256, m->files[i].path);
	}
	ret = wbs__store_submit_fn(s, apply_commit, &a, err);
	*version = a.version;
	*created = a.created;
	return ret;
}

struct alias_arg {
	const char *entity, *project, *name, *alias, *sel; /* sel NULL: delete */
};

static int apply_alias(wbs__store *s, wbs__job *j)
{
	const struct alias_arg *a = j->arg;
	int64_t art_id, ver_id;
	sqlite3_stmt *st = NULL;
	int ret;

	if (a->sel) {
		if ((ret = w_resolve(s, a->entity, a->project, a->name, a->sel, &art_id, &ver_id, &j->err)))
			return ret;
		return w_alias_put(s, art_id, a->alias, ver_id, &j->err);
	}
	if ((ret = w_resolve(s, a->entity, a->project, a->name, a->alias, &art_id, &ver_id, &j->err)))
		return ret;
	if ((ret = prep(s, &st, "DELETE FROM artifact_aliases WHERE artifact_id = ?1 AND alias = ?2", &j->err)))
		return ret;
	sqlite3_bind_int64(st, 1, art_id);
	sqlite3_bind_text(st, 2, a->alias, -1, SQLITE_STATIC);
	ret = exec_st(s, st, &j->err, "delete alias");
	sqlite3_finalize(st);
	return ret;
}

int wbs__art_alias_set(wbs__store *s, const char *entity, const char *project, const char *name, const char *alias,
		       const char *sel, wbs__err *err)
{
	struct alias_arg a = {entity, project, name, alias, sel};
	return wbs__store_submit_fn(s, apply_alias, &a, err);
}

int wbs__art_alias_delete(wbs__store *s, const char *entity, const char *project, const char *name,
			  const char *alias, wbs__err *err)
{
	struct alias_arg a = {entity, project, name, alias, NULL};
	return wbs__store_submit_fn(s, apply_alias, &a, err);
}

struct delete_arg {
	const char *entity, *project, *name, *sel;
	wbs__shaset shas; /* the version's blobs, for wbs__cas_gc */
};

static int apply_version_delete(wbs__store *s, wbs__job *j)
{
	struct delete_arg *a = j->arg;
	int64_t art_id, ver_id;
	sqlite3_stmt *st = NULL;
	int ret;
	static const char *const dels[] = {
	    "DELETE FROM artifact_files WHERE version_id = ?1",
	    "DELETE FROM artifact_aliases WHERE version_id = ?1",
	    "DELETE FROM artifact_usage WHERE version_id = ?1",
	    "DELETE FROM artifact_versions WHERE id = ?1",
	};

	if ((ret = w_resolve(s, a->entity, a->project, a->name, a->sel, &art_id, &ver_id, &j->err)))
		return ret;
	a->shas.n = 0; /* a job run again */
	if ((ret = wbs__shaset_add(s, &a->shas,
				   "SELECT DISTINCT sha256 FROM artifact_files WHERE version_id = ?1 AND ref IS NULL", ver_id,
				   &j->err)))
		return ret;
	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++) {
		if ((ret = prep(s, &st, dels[i], &j->err)))
			return ret;
		sqlite3_bind_int64(st, 1, ver_id);
		ret = exec_st(s, st, &j->err, "delete version");
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
	}
	return w_latest_fix(s, art_id, &j->err);
}

int wbs__art_version_delete(wbs__store *s, const char *entity, const char *project, const char *name,
			    const char *sel, uint64_t *gc, wbs__err *err)
{
	struct delete_arg a = {entity, project, name, sel, {0}};
	int ret = wbs__store_submit_fn(s, apply_version_delete, &a, err);

	*gc = 0;
	if (!ret)
		ret = wbs__cas_gc(s, WBS__CAS_BLOB, &a.shas, gc, err);
	wbs__shaset_free(&a.shas);
	return ret;
}

int wbs__art_apply_use(wbs__store *s, int64_t project_id, int64_t run_rowid, const cJSON *json, double now,
		       wbs__err *err)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(json, "artifact");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(json, "version");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(json, "time");
	sqlite3_stmt *st = NULL;
	int64_t vid;
	int found, ret;

	if (!cJSON_IsString(name) || !cJSON_IsNumber(ver) || !(ver->valuedouble >= 0 && ver->valuedouble < 1e15))
		return WBS__ST_OK; /* not a version number: nothing to record */
	if ((ret = query_i64(s,
			     "SELECT v.id FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id"
			     " WHERE a.name = ?1 AND a.project_id = ?2 AND v.version = ?3",
			     (const char *[]){name->valuestring}, 1, (int64_t[]){project_id, (int64_t)ver->valuedouble}, 2,
			     &vid, &found, err)))
		return ret;
	if (!found)
		return WBS__ST_OK;
	if ((ret = prep(s, &st, "INSERT OR IGNORE INTO artifact_usage (version_id, run_id, used_at) VALUES (?1, ?2, ?3)",
			err)))
		return ret;
	sqlite3_bind_int64(st, 1, vid);
	sqlite3_bind_int64(st, 2, run_rowid);
	/* the time the run used it, when the record says (an import, a client's clock ahead: now) */
	sqlite3_bind_double(st, 3, cJSON_IsNumber(at) && at->valuedouble > 0 && at->valuedouble < now ? at->valuedouble : now);
	ret = exec_st(s, st, err, "record use");
	sqlite3_finalize(st);
	return ret;
}

/* ---- reads ---- */

static sqlite3_stmt *rprep(wbs__reader *r, const char *sql, wbs__err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		wbs__store_sqlerr(err, r->db, rc, "artifact read");
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void put_text(wbs__buf *b, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		wbs__buf_puts(b, "null");
	else
		wbs__json_str(b, (const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
}

/* The artifact row id (in a read transaction). */
static int r_artifact(wbs__reader *r, const char *entity, const char *project, const char *name, int64_t *id,
		      wbs__err *err)
{
	sqlite3_stmt *st = rprep(r,
				 "SELECT a.id FROM artifacts a JOIN projects p ON p.id = a.project_id"
				 " WHERE p.entity = ?1 AND p.name = ?2 AND a.name = ?3",
				 err);
	int rc;
	if (!st)
		return err->st;
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s in %s/%s", name, entity, project);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, r->db, rc, "artifact");
	return WBS__ST_OK;
}

static int r_version(wbs__reader *r, int64_t art_id, const char *name, const char *sel, int64_t *vid, wbs__err *err)
{
	int64_t n = 0;
	int by_num = sel_version(sel, &n), rc;
	sqlite3_stmt *st = rprep(r,
				 by_num ? "SELECT id FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2"
					: "SELECT version_id FROM artifact_aliases WHERE artifact_id = ?1 AND alias = ?2",
				 err);
	if (!st)
		return err->st;
	sqlite3_bind_int64(st, 1, art_id);
	if (by_num)
		sqlite3_bind_int64(st, 2, n);
	else
		sqlite3_bind_text(st, 2, sel, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*vid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, r->db, rc, "version");
	return WBS__ST_OK;
}

/* A page of the projects that hold a version with an uploaded file of some blob. */
#define HOLDERS_PAGE 16
struct holder {
	int64_t id;
	char entity[72], name[72];
};

/*
 * The next page of holders of sha with a project id above after: how many
 * (<= HOLDERS_PAGE), or -1 with err. With owner: first whether user_id
 * uploaded the bytes itself (*owner = 1 and no page then). The statements
 * are the reader's cached ones: a check or a commit asks this per blob.
 */
static int blob_holders(wbs__store *s, const char *sha, int64_t after, struct holder *out, int64_t user_id,
			int *owner, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int n = -1, rc;

	if (!r)
		return -1;
	if (owner) {
		if (!(st = wbs__reader_stmt(r, RS_BLOB_OWNER, err)))
			goto done;
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, user_id);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			wbs__store_sqlerr(err, r->db, rc, "blob owner");
			goto done;
		}
		*owner = rc == SQLITE_ROW;
		if (*owner) {
			n = 0;
			goto done;
		}
	}
	if (!(st = wbs__reader_stmt(r, RS_BLOB_HOLDERS, err)))
		goto done;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, HOLDERS_PAGE);
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < HOLDERS_PAGE) {
		out[n].id = sqlite3_column_int64(st, 0);
		snprintf(out[n].entity, sizeof(out[n].entity), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(out[n].name, sizeof(out[n].name), "%s", (const char *)sqlite3_column_text(st, 2));
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		wbs__store_sqlerr(err, r->db, rc, "blob holders");
		n = -1;
	}
done:
	wbs__reader_put(s, r); /* resets the cached statements */
	return n;
}

int wbs__blob_usable(wbs__store *s, wbs__blob_caller *c, const char *sha, int *usable, wbs__err *err)
{
	struct holder page[HOLDERS_PAGE];
	int64_t after = 0;
	int owner = 0, n;

	*usable = 0;
	for (int first = 1;; first = 0) {
		/* the reader goes back before the access checks below take theirs */
		n = blob_holders(s, sha, after, page, c->user_id, first && c->user_id > 0 ? &owner : NULL, err);
		if (n < 0)
			return err->st;
		if (owner) {
			*usable = 1;
			return WBS__ST_OK;
		}
		for (int i = 0; i < n; i++) {
			size_t k;
			int readable = -1;
			for (k = 0; k < c->nseen; k++)
				if (c->seen[k].project_id == page[i].id)
					readable = c->seen[k].readable;
			if (readable < 0) {
				/* the one access question (wbs__store_access), as every route asks it */
				wbs__access a;
				int ret = wbs__store_access(s, c->user_id, page[i].entity, page[i].name, &a, err);
				if (ret)
					return ret;
				readable = a.role >= WBS__ROLE_VIEWER || a.is_public;
				if (c->nseen < sizeof(c->seen) / sizeof(c->seen[0])) {
					c->seen[c->nseen].project_id = page[i].id;
					c->seen[c->nseen++].readable = readable;
				}
			}
			if (readable) {
				*usable = 1;
				return WBS__ST_OK;
			}
		}
		if (n < HOLDERS_PAGE)
			return WBS__ST_OK;
		after = page[n - 1].id;
	}
}

/* Begin/end a read transaction so that several statements see one snapshot. */
static void rbegin(wbs__reader *r) { sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL); }
static void rend(wbs__reader *r) { sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL); }

static int step_rows(wbs__reader *r, sqlite3_stmt *st, wbs__buf *b, void (*row)(wbs__buf *, sqlite3_stmt *),
		     wbs__err *err)
{
	int rc, first = 1;
	wbs__buf_putc(b, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!first)
			wbs__buf_putc(b, ',');
		first = 0;
		row(b, st);
	}
	wbs__buf_putc(b, ']');
	if (rc != SQLITE_DONE)
		return wbs__store_sqlerr(err, r->db, rc, "artifact rows");
	return WBS__ST_OK;
}

static void row_artifact(wbs__buf *b, sqlite3_stmt *st)
{
	wbs__buf_puts(b, "{\"name\":");
	put_text(b, st, 0);
	wbs__buf_puts(b, ",\"type\":");
	put_text(b, st, 1);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, sqlite3_column_double(st, 2));
	wbs__buf_puts(b, ",\"updated_at\":");
	wbs__json_num(b, sqlite3_column_double(st, 3));
	wbs__buf_puts(b, ",\"versions\":");
	wbs__json_i64(b, sqlite3_column_int64(st, 4));
	wbs__buf_puts(b, ",\"latest\":");
	if (sqlite3_column_type(st, 5) == SQLITE_NULL)
		wbs__buf_puts(b, "null");
	else
		wbs__buf_printf(b, "\"v%lld\"", (long long)sqlite3_column_int64(st, 5));
	wbs__buf_puts(b, ",\"size\":");
	wbs__json_i64(b, sqlite3_column_int64(st, 6));
	wbs__buf_putc(b, '}');
}

int wbs__art_list(wbs__store *s, const char *entity, const char *project, wbs__buf *out, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st;
	int ret;

	if (!r)
		return err->st;
	st = rprep(r,
		   "SELECT a.name, a.type, a.created_at, a.updated_at,"
		   " (SELECT count(*) FROM artifact_versions v WHERE v.artifact_id = a.id),"
		   " lv.version, coalesce(lv.size, 0)"
		   " FROM artifacts a JOIN projects p ON p.id = a.project_id"
		   " LEFT JOIN artifact_aliases al ON al.artifact_id = a.id AND al.alias = 'latest'"
		   " LEFT JOIN artifact_versions lv ON lv.id = al.version_id"
		   " WHERE p.entity = ?1 AND p.name = ?2 ORDER BY a.updated_at DESC, a.name LIMIT 10000",
		   err);
	if (!st) {
		wbs__reader_put(s, r);
		return err->st;
	}
	sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, project, -1, SQLITE_STATIC);
	wbs__buf_puts(out, "{\"artifacts\":");
	ret = step_rows(r, st, out, row_artifact, err);
	wbs__buf_putc(out, '}');
	sqlite3_finalize(st);
	wbs__reader_put(s, r);
	return ret;
}

static void row_version(wbs__buf *b, sqlite3_stmt *st)
{
	wbs__buf_printf(b, "{\"version\":\"v%lld\",\"index\":", (long long)sqlite3_column_int64(st, 0));
	wbs__json_i64(b, sqlite3_column_int64(st, 0));
	wbs__buf_puts(b, ",\"digest\":");
	put_text(b, st, 1);
	wbs__buf_puts(b, ",\"size\":");
	wbs__json_i64(b, sqlite3_column_int64(st, 2));
	wbs__buf_puts(b, ",\"file_count\":");
	wbs__json_i64(b, sqlite3_column_int64(st, 3));
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num(b, sqlite3_column_double(st, 4));
	wbs__buf_puts(b, ",\"producer\":");
	put_text(b, st, 5);
	wbs__buf_puts(b, ",\"aliases\":");
	if (sqlite3_column_type(st, 6) == SQLITE_NULL)
		wbs__buf_puts(b, "[]");
	else
		wbs__buf_put(b, sqlite3_column_text(st, 6), (size_t)sqlite3_column_bytes(st, 6));
	wbs__buf_putc(b, '}');
}

static const char VERSION_COLS[] =
    "SELECT v.version, v.digest, v.size, v.file_count, v.created_at, pr.run_id,"
    " (SELECT json_group_array(alias) FROM (SELECT alias FROM artifact_aliases al WHERE al.version_id = v.id"
    " ORDER BY alias)), v.metadata, v.id"
    " FROM artifact_versions v LEFT JOIN runs pr ON pr.id = v.producer_run ";

int wbs__art_get(wbs__store *s, const char *entity, const char *project, const char *name, wbs__buf *out,
		 wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int64_t art_id;
	int ret;

	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)))
		goto done;
	if (!(st = rprep(r,
			 "SELECT a.name, a.type, a.created_at, a.updated_at, 0, NULL, 0 FROM artifacts a WHERE a.id = ?1",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, art_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s", name);
		goto done;
	}
	wbs__buf_puts(out, "{\"entity\":");
	wbs__json_cstr(out, entity);
	wbs__buf_puts(out, ",\"project\":");
	wbs__json_cstr(out, project);
	wbs__buf_puts(out, ",\"name\":");
	put_text(out, st, 0);
	wbs__buf_puts(out, ",\"type\":");
	put_text(out, st, 1);
	wbs__buf_puts(out, ",\"created_at\":");
	wbs__json_num(out, sqlite3_column_double(st, 2));
	wbs__buf_puts(out, ",\"updated_at\":");
	wbs__json_num(out, sqlite3_column_double(st, 3));
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "%s WHERE v.artifact_id = ?1 ORDER BY v.version DESC LIMIT 100000", VERSION_COLS);
	if (!(st = rprep(r, sql, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, art_id);
	wbs__buf_puts(out, ",\"versions\":");
	ret = step_rows(r, st, out, row_version, err);
	wbs__buf_putc(out, '}');
done:
	sqlite3_finalize(st);
	rend(r);
	wbs__reader_put(s, r);
	return ret;
}

static void row_run(wbs__buf *b, sqlite3_stmt *st)
{
	wbs__buf_puts(b, "{\"run_id\":");
	put_text(b, st, 0);
	wbs__buf_puts(b, ",\"name\":");
	put_text(b, st, 1);
	wbs__buf_puts(b, ",\"state\":");
	put_text(b, st, 2);
	wbs__buf_puts(b, ",\"at\":");
	wbs__json_num(b, sqlite3_column_double(st, 3));
	wbs__buf_putc(b, '}');
}

static void row_file(wbs__buf *b, sqlite3_stmt *st)
{
	wbs__buf_puts(b, "{\"path\":");
	put_text(b, st, 0);
	wbs__buf_puts(b, ",\"sha256\":");
	put_text(b, st, 1);
	wbs__buf_puts(b, ",\"size\":");
	wbs__json_i64(b, sqlite3_column_int64(st, 2));
	wbs__buf_puts(b, ",\"ref\":");
	put_text(b, st, 3);
	wbs__buf_putc(b, '}');
}

int wbs__art_version_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
			 wbs__buf *out, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int64_t art_id, vid;
	int ret;

	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)) ||
	    (ret = r_version(r, art_id, name, sel, &vid, err)))
		goto done;
	snprintf(sql, sizeof(sql), "%s WHERE v.id = ?1", VERSION_COLS);
	if (!(st = rprep(r, sql, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
		goto done;
	}
	wbs__buf_puts(out, "{\"entity\":");
	wbs__json_cstr(out, entity);
	wbs__buf_puts(out, ",\"project\":");
	wbs__json_cstr(out, project);
	wbs__buf_puts(out, ",\"artifact\":");
	wbs__json_cstr(out, name);
	wbs__buf_puts(out, ",\"metadata\":");
	wbs__buf_put(out, sqlite3_column_text(st, 7), (size_t)sqlite3_column_bytes(st, 7));
	sqlite3_finalize(st);
	st = NULL;
	if (!(st = rprep(r, "SELECT type FROM artifacts WHERE id = ?1", err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, art_id);
	wbs__buf_puts(out, ",\"type\":");
	if (sqlite3_step(st) == SQLITE_ROW)
		put_text(out, st, 0);
	else
		wbs__buf_puts(out, "null");
	sqlite3_finalize(st);
	st = NULL;
	/* the version's own fields, as in the artifact's version list */
	if (!(st = rprep(r, sql, err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	sqlite3_step(st);
	wbs__buf_puts(out, ",\"info\":");
	row_version(out, st);
	sqlite3_finalize(st);
	st = NULL;
	if (!(st = rprep(r,
			 "SELECT r.run_id, r.name, r.state, v.created_at FROM artifact_versions v"
			 " JOIN runs r ON r.id = v.producer_run WHERE v.id = ?1",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	wbs__buf_puts(out, ",\"produced_by\":");
	if ((ret = step_rows(r, st, out, row_run, err)))
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (!(st = rprep(r,
			 "SELECT r.run_id, r.name, r.state, u.used_at FROM artifact_usage u JOIN runs r ON r.id = u.run_id"
			 " WHERE u.version_id = ?1 ORDER BY u.used_at LIMIT 10000",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	wbs__buf_puts(out, ",\"used_by\":");
	if ((ret = step_rows(r, st, out, row_run, err)))
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (!(st = rprep(r, "SELECT path, sha256, size, ref FROM artifact_files WHERE version_id = ?1 ORDER BY path",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	wbs__buf_puts(out, ",\"files\":");
	ret = step_rows(r, st, out, row_file, err);
	wbs__buf_putc(out, '}');
done:
	sqlite3_finalize(st);
	rend(r);
	wbs__reader_put(s, r);
	return ret;
}

int wbs__art_file_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
		      const char *path, char sha[65], uint64_t *size, char **ref, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int64_t art_id, vid;
	int ret, rc, oom = 0;

	*ref = NULL;
	if (!r)
		return err->st;
	rbegin(r);
	if ((ret = r_artifact(r, entity, project, name, &art_id, err)) ||
	    (ret = r_version(r, art_id, name, sel, &vid, err)))
		goto done;
	if (!(st = rprep(r, "SELECT sha256, size, ref FROM artifact_files WHERE version_id = ?1 AND path = ?2", err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, vid);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = wbs__err_set(err, WBS__ST_NOTFOUND, "no file %.200s in %s:%s", path, name, sel);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		ret = wbs__store_sqlerr(err, r->db, rc, "file");
		goto done;
	}
	snprintf(sha, 65, "%s", (const char *)sqlite3_column_text(st, 0));
	*size = (uint64_t)sqlite3_column_int64(st, 1);
	*ref = wbs__col_dup(st, 2, &oom);
	ret = oom ? wbs__err_set(err, WBS__ST_NOMEM, "out of memory") : WBS__ST_OK;
done:
	sqlite3_finalize(st);
	rend(r);
	wbs__reader_put(s, r);
	return ret;
}

static void row_run_art(wbs__buf *b, sqlite3_stmt *st)
{
	wbs__buf_puts(b, "{\"artifact\":");
	put_text(b, st, 0);
	wbs__buf_puts(b, ",\"type\":");
	put_text(b, st, 1);
	wbs__buf_printf(b, ",\"version\":\"v%lld\",\"at\":", (long long)sqlite3_column_int64(st, 2));
	wbs__json_num(b, sqlite3_column_double(st, 3));
	wbs__buf_putc(b, '}');
}

int wbs__art_run_get(wbs__store *s, const wbs__run_ref *ref, wbs__buf *out, wbs__err *err)
{
	wbs__reader *r = wbs__reader_get(s, err);
	sqlite3_stmt *st = NULL;
	int64_t rid = 0;
	int ret, rc;

	if (!r)
		return err->st;
	rbegin(r);
	if (!(st = rprep(r,
			 "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id"
			 " WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_text(st, 1, ref->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? wbs__err_set(err, WBS__ST_NOTFOUND, "no run %s/%s/%s", ref->entity, ref->project,
						       ref->run_id)
					: wbs__store_sqlerr(err, r->db, rc, "run");
		goto done;
	}
	if (!(st = rprep(r,
			 "SELECT a.name, a.type, v.version, v.created_at FROM artifact_versions v"
			 " JOIN artifacts a ON a.id = v.artifact_id WHERE v.producer_run = ?1 ORDER BY v.created_at"
			 " LIMIT 10000",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, rid);
	wbs__buf_puts(out, "{\"produced\":");
	if ((ret = step_rows(r, st, out, row_run_art, err)))
		goto done;
	sqlite3_finalize(st);
	if (!(st = rprep(r,
			 "SELECT a.name, a.type, v.version, u.used_at FROM artifact_usage u"
			 " JOIN artifact_versions v ON v.id = u.version_id JOIN artifacts a ON a.id = v.artifact_id"
			 " WHERE u.run_id = ?1 ORDER BY u.used_at LIMIT 10000",
			 err))) {
		ret = err->st;
		goto done;
	}
	sqlite3_bind_int64(st, 1, rid);
	wbs__buf_puts(out, ",\"used\":");
	ret = step_rows(r, st, out, row_run_art, err);
	wbs__buf_putc(out, '}');
done:
	sqlite3_finalize(st);
	rend(r);
	wbs__reader_put(s, r);
	return ret;
}

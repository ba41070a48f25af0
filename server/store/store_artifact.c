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
#include "util/fs.h"
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

/* The part file of user_id's upload of sha (the sweep of leftovers knows them by ".part"). */
static void part_path(const wbs__store *s, const char *sha, int64_t user_id, char *out, size_t cap)
{
	char dir[1024];
	wbs__store_dir(s, dir, sizeof(dir));
	snprintf(out, cap, "%s/blobs/tmp/%s.u%lld.part", dir, sha, (long long)user_id);
}

int wbs__blob_status(wbs__store *s, const char *sha, int64_t user_id, uint64_t *size, uint64_t *received)
{
	char path[1200];
	struct stat st;
	int present = wbs__cas_size(s, WBS__CAS_BLOB, sha, size);

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
	return wbs__cas_open(s, WBS__CAS_BLOB, sha);
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
	wbs__cas_path(s, WBS__CAS_BLOB, sha, final, sizeof(final));
	if (!(u = upload_take(part, &busy))) {
		snprintf(msg, msglen, busy ? "another request is uploading this blob; retry" : "too many uploads at once");
		return WBS__BLOB_BUSY;
	}
	if (!(buf = malloc(cap * WPIPE_SLOTS)) || !(save = EVP_MD_CTX_new()) || !(cctx = EVP_MD_CTX_new())) {
		snprintf(msg, msglen, "out of memory");
		goto done;
	}
	if (wbs__mkdir_parent(part, 0750) || wbs__mkdir_parent(final, 0750)) {
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
			const char *step;
			if (wbs__cas_commit(fd, part, final, &step) != 0) {
				int e = errno;
				snprintf(msg, msglen, "cannot %s the blob: %s", step, strerror(e));
				ret = e == ENOSPC || e == EDQUOT ? WBS__BLOB_FULL : WBS__BLOB_IO;
				goto done;
			}
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

/* user_id uploaded the bytes of sha (the whole hash was checked): record it (once). */
static int apply_owner_add(wbs__store *s, wbs__job *j)
{
	const struct owner_arg *a = j->arg;

	return wbs__sql_run(s->wdb, &j->err, "record blob owner",
			    "INSERT OR IGNORE INTO blob_owners (sha256, user_id, created_at) VALUES (?1, ?2, ?3)", "tid",
			    a->sha, a->user_id, wbs__store_now(s));
}

/* Parse "v<N>" into *n: 1, or 0 if sel is an alias. */
int wbs__art_sel_version(const char *sel, int64_t *n)
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
	int64_t n;
	int found;

	found = wbs__sql_i64(s->wdb, err, art_id, "artifact query",
			     "SELECT a.id FROM artifacts a JOIN projects p ON p.id = a.project_id"
			     " WHERE p.entity = ?1 AND p.name = ?2 AND a.name = ?3",
			     "ttt", entity, project, name);
	if (found < 0)
		return err->st;
	if (!found)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no artifact %s in %s/%s", name, entity, project);
	if (wbs__art_sel_version(sel, &n))
		found = wbs__sql_i64(s->wdb, err, ver_id, "artifact query",
				     "SELECT id FROM artifact_versions WHERE artifact_id = ?1 AND version = ?2", "ii", *art_id,
				     n);
	else
		found = wbs__sql_i64(s->wdb, err, ver_id, "artifact query",
				     "SELECT version_id FROM artifact_aliases WHERE alias = ?1 AND artifact_id = ?2", "ti", sel,
				     *art_id);
	if (found < 0)
		return err->st;
	if (!found)
		return wbs__err_set(err, WBS__ST_NOTFOUND, "no version %s of artifact %s", sel, name);
	return WBS__ST_OK;
}

static int w_alias_put(wbs__store *s, int64_t art_id, const char *alias, int64_t ver_id, wbs__err *err)
{
	return wbs__sql_run(s->wdb, err, "set alias",
			    "INSERT INTO artifact_aliases (artifact_id, alias, version_id) VALUES (?1, ?2, ?3)"
			    " ON CONFLICT (artifact_id, alias) DO UPDATE SET version_id = excluded.version_id",
			    "iti", art_id, alias, ver_id);
}

/* Keep "latest" on the newest version of art_id (or remove it when none is left). */
static int w_latest_fix(wbs__store *s, int64_t art_id, wbs__err *err)
{
	int64_t vid;
	int found;

	found = wbs__sql_i64(s->wdb, err, &vid, "artifact query",
			     "SELECT id FROM artifact_versions WHERE artifact_id = ?1 ORDER BY version DESC LIMIT 1", "i",
			     art_id);
	if (found < 0)
		return err->st;
	if (found)
		return w_alias_put(s, art_id, "latest", vid, err);
	return wbs__sql_run(s->wdb, err, "drop alias",
			    "DELETE FROM artifact_aliases WHERE artifact_id = ?1 AND alias = 'latest'", "i", art_id);
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
	if ((ret = wbs__sql_run(s->wdb, &j->err, "artifact project",
				"INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)"
				" ON CONFLICT (entity, name) DO UPDATE SET updated_at = excluded.updated_at",
				"ttd", m->entity, m->project, now)))
		return ret;
	if ((ret = wbs__sql_project_id(s->wdb, NULL, m->entity, m->project, &project_id, &j->err)))
		return ret;
	if (m->run_id && (has_producer = wbs__sql_i64(s->wdb, &j->err, &producer, "artifact query",
						      "SELECT id FROM runs WHERE run_id = ?1 AND project_id = ?2", "ti",
						      m->run_id, project_id)) < 0)
		return j->err.st;
	/* artifact */
	{
		sqlite3_stmt *q = NULL;
		if (!(q = wbs__sql_prepare(s->wdb, "SELECT id, type FROM artifacts WHERE project_id = ?1 AND name = ?2",
					   "artifact statement", &j->err)))
			return j->err.st;
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
			if ((ret = wbs__sql_run(s->wdb, &j->err, "create artifact",
						"INSERT INTO artifacts (project_id, name, type, created_at, updated_at)"
						" VALUES (?1, ?2, ?3, ?4, ?4)",
						"ittd", project_id, m->name, m->type, at)))
				return ret;
			art_id = sqlite3_last_insert_rowid(s->wdb);
		}
	}
	/* the same content: that version */
	if ((found = wbs__sql_i64(s->wdb, &j->err, &a->version, "artifact query",
				  "SELECT version, id FROM artifact_versions WHERE digest = ?1 AND artifact_id = ?2", "ti",
				  m->digest, art_id)) < 0)
		return j->err.st;
	if (found) {
		a->created = 0;
		if (wbs__sql_i64(s->wdb, &j->err, &ver_id, "artifact query",
				 "SELECT id FROM artifact_versions WHERE digest = ?1 AND artifact_id = ?2", "ti", m->digest,
				 art_id) < 0)
			return j->err.st;
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
		if (wbs__sql_i64(s->wdb, &j->err, &next, "artifact query", "SELECT next_version FROM artifacts WHERE id = ?1",
				 "i", art_id) < 0)
			return j->err.st;
		if (!(st = wbs__sql_prepare(s->wdb,
				"INSERT INTO artifact_versions (artifact_id, version, digest, size, file_count, metadata,"
				" producer_run, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "artifact statement", &j->err)))
			return j->err.st;
		sqlite3_bind_int64(st, 1, art_id);
		sqlite3_bind_int64(st, 2, next);
		sqlite3_bind_text(st, 3, m->digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, total);
		sqlite3_bind_int64(st, 5, (int64_t)m->nfiles);
		sqlite3_bind_text(st, 6, m->metadata ? m->metadata : "{}", -1, SQLITE_STATIC);
		if (has_producer)
			sqlite3_bind_int64(st, 7, producer);
		sqlite3_bind_double(st, 8, at);
		ret = wbs__sql_exec(s->wdb, st, "create version", &j->err);
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
		ver_id = sqlite3_last_insert_rowid(s->wdb);
		a->version = next;
		a->created = 1;
		if (!(st = wbs__sql_prepare(s->wdb,
					    "INSERT INTO artifact_files (version_id, path, sha256, size, ref)"
					    " VALUES (?1, ?2, ?3, ?4, ?5)",
					    "artifact statement", &j->err)))
			return j->err.st;
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
			ret = wbs__sql_exec(s->wdb, st, "add file", &j->err);
		}
		sqlite3_finalize(st);
		st = NULL;
		if (ret)
			return ret;
		if ((ret = wbs__sql_run(s->wdb, &j->err, "bump version",
					"UPDATE artifacts SET next_version = ?2, updated_at = ?3 WHERE id = ?1", "iid", art_id,
					next + 1, at)))
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
	int ret;

	if (a->sel) {
		if ((ret = w_resolve(s, a->entity, a->project, a->name, a->sel, &art_id, &ver_id, &j->err)))
			return ret;
		return w_alias_put(s, art_id, a->alias, ver_id, &j->err);
	}
	if ((ret = w_resolve(s, a->entity, a->project, a->name, a->alias, &art_id, &ver_id, &j->err)))
		return ret;
	return wbs__sql_run(s->wdb, &j->err, "delete alias",
			    "DELETE FROM artifact_aliases WHERE artifact_id = ?1 AND alias = ?2", "it", art_id, a->alias);
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
		if ((ret = wbs__sql_run(s->wdb, &j->err, "delete version", dels[i], "i", ver_id)))
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
	int64_t vid;
	int found;

	if (!cJSON_IsString(name) || !cJSON_IsNumber(ver) || !(ver->valuedouble >= 0 && ver->valuedouble < 1e15))
		return WBS__ST_OK; /* not a version number: nothing to record */
	if ((found = wbs__sql_i64(s->wdb, err, &vid, "artifact query",
				  "SELECT v.id FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id"
				  " WHERE a.name = ?1 AND a.project_id = ?2 AND v.version = ?3",
				  "tii", name->valuestring, project_id, (int64_t)ver->valuedouble)) < 0)
		return err->st;
	if (!found)
		return WBS__ST_OK;
	/* the time the run used it, when the record says (an import, a client's clock ahead: now) */
	return wbs__sql_run(s->wdb, err, "record use",
			    "INSERT OR IGNORE INTO artifact_usage (version_id, run_id, used_at) VALUES (?1, ?2, ?3)", "iid",
			    vid, run_rowid,
			    cJSON_IsNumber(at) && at->valuedouble > 0 && at->valuedouble < now ? at->valuedouble : now);
}

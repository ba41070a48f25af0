/*
 * import_archive.c — the first pass of `wb import` over the archive: every
 * entry's name checked against the layout (xfer.h), the small JSON, CSV
 * and patch entries kept in memory and sorted for lookup, every image and
 * blob hashed against its name as it streams by (images spooled to a
 * temporary directory until their runs are sent; blobs only hashed, read
 * again in the second pass, import_blobs.c).
 */
#include "import.h"

#include <archive_entry.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/sha256.h"
#include "wire_media.h"

#define ENTRY_MAX ((size_t)2 << 30)
#define IO_CHUNK (1u << 20)

static int cmp_entry(const void *pa, const void *pb)
{
	return strcmp(((const entry *)pa)->name, ((const entry *)pb)->name);
}

const entry *wbs__import_find(const files *f, const char *name)
{
	entry k = {(char *)name, NULL, 0};
	return f->n ? bsearch(&k, f->e, f->n, sizeof(*f->e), cmp_entry) : NULL;
}

static int cmp_bytes(const void *pa, const void *pb)
{
	const bytes_ent *a = pa, *b = pb;
	return a->blob != b->blob ? a->blob - b->blob : strcmp(a->sha, b->sha);
}

bytes_ent *wbs__import_find_bytes(const files *f, const char *sha, int blob)
{
	bytes_ent k;

	if (!sha || !wbs__sha256_hex_valid(sha))
		return NULL;
	memcpy(k.sha, sha, 65);
	k.blob = blob;
	return f->nb ? bsearch(&k, f->b, f->nb, sizeof(*f->b), cmp_bytes) : NULL;
}

void wbs__import_spool_path(const files *f, const char *sha, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", f->spool, sha);
}

void wbs__import_files_free(files *f)
{
	char p[4200];

	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].name);
		free(f->e[i].data);
	}
	free(f->e);
	if (f->spool[0]) {
		for (size_t i = 0; i < f->nb; i++) {
			if (!f->b[i].blob) {
				wbs__import_spool_path(f, f->b[i].sha, p, sizeof(p));
				unlink(p);
			}
		}
		rmdir(f->spool);
	}
	free(f->b);
}

/*
 * What an entry's name is: 0 a small entry (manifest.json, runs/...,
 * artifacts/...), 1 an image, 2 a blob; -1 anything else, and any name
 * that is absolute or has an empty, "." or ".." segment or a backslash:
 * nothing here is ever a path on this machine, but an archive that names
 * such a thing was not written by wb export.
 */
static int entry_kind(const char *name)
{
	const char *p = name;

	if (!*name || strlen(name) > 4096 || strchr(name, '\\'))
		return -1;
	for (;;) {
		size_t l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return -1;
		if (!p[l])
			break;
		p += l + 1;
	}
	if (!strcmp(name, "manifest.json") || !strncmp(name, "runs/", 5) || !strncmp(name, "artifacts/", 10))
		return 0;
	if (!strncmp(name, "images/", 7) && wbs__sha256_hex_valid(name + 7))
		return 1;
	if (!strncmp(name, "blobs/", 6) && wbs__sha256_hex_valid(name + 6))
		return 2;
	return -1;
}

/* Read the current entry (sz bytes) into memory. */
static int read_small(struct archive *ar, files *f, const char *name, size_t sz, char *err, size_t errlen)
{
	entry *e;

	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		entry *p = realloc(f->e, nc * sizeof(*p));
		if (!p)
			goto oom;
		f->e = p;
		f->cap = nc;
	}
	e = &f->e[f->n];
	e->name = strdup(name);
	e->data = malloc(sz + 1);
	e->len = sz;
	if (!e->name || !e->data) {
		free(e->name);
		free(e->data);
		goto oom;
	}
	f->n++;
	if (sz && archive_read_data(ar, e->data, sz) != (la_ssize_t)sz) {
		snprintf(err, errlen, "cannot read %s: %s", name, archive_error_string(ar));
		return -1;
	}
	e->data[sz] = '\0';
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Hash the current entry (an image or a blob) against its name; an image is also copied to the spool. */
static int read_bytes(struct archive *ar, files *f, const char *name, int blob, uint8_t *buf, char *err, size_t errlen)
{
	const char *sha = name + (blob ? 6 : 7);
	char got[65], path[4200];
	wbs__sha256 *h = NULL;
	FILE *out = NULL;
	uint64_t total = 0;
	la_ssize_t n;
	bytes_ent *b;
	int rc = -1;

	if (!blob && !f->spool[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(f->spool, sizeof(f->spool), "%s/wb-import-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(f->spool)) {
			snprintf(err, errlen, "cannot make a temporary directory %.300s: %s", f->spool, strerror(errno));
			f->spool[0] = '\0';
			return -1;
		}
	}
	if (f->nb == f->capb) {
		size_t nc = f->capb ? f->capb * 2 : 64;
		bytes_ent *p = realloc(f->b, nc * sizeof(*p));
		if (!p)
			goto oom;
		f->b = p;
		f->capb = nc;
	}
	if (!(h = wbs__sha256_begin()))
		goto oom;
	if (!blob) {
		wbs__import_spool_path(f, sha, path, sizeof(path));
		if (!(out = fopen(path, "wbx"))) {
			snprintf(err, errlen, "%.300s: %s", path, errno == EEXIST ? "the archive holds this image twice" : strerror(errno));
			goto done;
		}
	}
	b = &f->b[f->nb++];
	memset(b, 0, sizeof(*b));
	memcpy(b->sha, sha, 65);
	b->blob = blob;
	while ((n = archive_read_data(ar, buf, IO_CHUNK)) > 0) {
		wbs__sha256_update(h, buf, (size_t)n);
		total += (uint64_t)n;
		wbs__progress_set(f->pg, (uint64_t)archive_filter_bytes(ar, -1));
		if (!blob && (total > WB__IMAGE_MAX || fwrite(buf, 1, (size_t)n, out) != (size_t)n)) {
			snprintf(err, errlen, "%s: %s", name, total > WB__IMAGE_MAX ? "an image is at most 8 MiB" : strerror(errno));
			goto done;
		}
	}
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s: %s", name, archive_error_string(ar));
		goto done;
	}
	if (out && fclose(out)) {
		out = NULL;
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		goto done;
	}
	out = NULL;
	wbs__sha256_end(h, got);
	h = NULL;
	if (strcmp(got, sha) != 0) {
		snprintf(err, errlen, "%s: the bytes do not hash to their name (the archive is damaged)", name);
		goto done;
	}
	b->size = total;
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	if (out)
		fclose(out);
	wbs__sha256_end(h, got);
	return rc;
}

/* The archive at path opened for reading (tar, gzip'ed or not), or NULL with why. */
struct archive *wbs__import_open_archive(const char *path, char *err, size_t errlen)
{
	struct archive *ar = archive_read_new();

	if (!ar || archive_read_support_filter_gzip(ar) != ARCHIVE_OK || archive_read_support_format_tar(ar) != ARCHIVE_OK ||
	    archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, ar ? archive_error_string(ar) : "out of memory");
		if (ar)
			archive_read_free(ar);
		return NULL;
	}
	return ar;
}

/* The first pass: every entry checked, the small ones kept, images and blobs hashed. */
int wbs__import_read_archive(const char *path, files *f, char *err, size_t errlen)
{
	struct archive *ar = NULL;
	struct archive_entry *ae;
	uint8_t *buf = malloc(IO_CHUNK);
	struct stat st;
	uint64_t size;
	int rc = -1, r;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (!(ar = wbs__import_open_archive(path, err, errlen)))
		goto done;
	size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	wbs__progress_begin(f->pg, "reading", WBS__PG_BYTES, size);
	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		la_int64_t sz = archive_entry_size(ae);
		char dir[4100];
		int kind;

		wbs__progress_set(f->pg, (uint64_t)archive_filter_bytes(ar, -1));
		if (!name) {
			snprintf(err, errlen, "%s: an entry without a name", path);
			goto done;
		}
		if (archive_entry_filetype(ae) == AE_IFDIR) {
			snprintf(dir, sizeof(dir), "%s", name);
			if (dir[0] && dir[strlen(dir) - 1] == '/')
				dir[strlen(dir) - 1] = '\0';
			if (strcmp(dir, "runs") && strcmp(dir, "artifacts") && strcmp(dir, "images") && strcmp(dir, "blobs") &&
			    entry_kind(dir) != 0) {
				snprintf(err, errlen, "%s: unexpected entry %.300s", path, name);
				goto done;
			}
			continue;
		}
		if ((kind = entry_kind(name)) < 0) {
			snprintf(err, errlen, "%s: unexpected entry %.300s (not a wb export archive, or a damaged one)", path,
				 name);
			goto done;
		}
		if (archive_entry_filetype(ae) != AE_IFREG) {
			snprintf(err, errlen, "%s: entry %.300s is not a regular file", path, name);
			goto done;
		}
		if (kind == 0 && (sz < 0 || (size_t)sz > ENTRY_MAX)) {
			snprintf(err, errlen, "%s: entry %.300s is too large", path, name);
			goto done;
		}
		if (kind == 0 ? read_small(ar, f, name, (size_t)sz, err, errlen)
			      : read_bytes(ar, f, name, kind == 2, buf, err, errlen))
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", path, archive_error_string(ar));
		goto done;
	}
	if (size)
		wbs__progress_set(f->pg, size); /* all of it read (libarchive's count stops at its last block) */
	if (f->n)
		qsort(f->e, f->n, sizeof(*f->e), cmp_entry);
	if (f->nb)
		qsort(f->b, f->nb, sizeof(*f->b), cmp_bytes);
	for (size_t i = 1; i < f->n; i++)
		if (!strcmp(f->e[i].name, f->e[i - 1].name)) {
			snprintf(err, errlen, "%s: entry %.300s appears twice", path, f->e[i].name);
			goto done;
		}
	for (size_t i = 1; i < f->nb; i++)
		if (!cmp_bytes(&f->b[i], &f->b[i - 1])) {
			snprintf(err, errlen, "%s: %s/%s appears twice", path, f->b[i].blob ? "blobs" : "images", f->b[i].sha);
			goto done;
		}
	rc = 0;
done:
	free(buf);
	if (ar)
		archive_read_free(ar);
	return rc;
}

/* A JSON number that is an integer in [0, 2^53], or -1. */
int64_t wbs__import_json_count(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	return (int64_t)v->valuedouble;
}

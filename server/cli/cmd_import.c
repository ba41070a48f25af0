/*
 * cmd_import.c — `wb import ARCHIVE [--base-url URL] [--api-key KEY]`:
 * load a `wb export` archive (xfer.h) into a server through its HTTP API.
 *
 * Why through the ingest route. The server's one way in for a run's data
 * is its record log (schema/wire.md), and replaying a log is what it does
 * exactly once and bit-exactly. So each run is turned back into records:
 * RUN (name, group, job type, notes, tags, metadata, created_at), CODE and
 * PATCH (the code capture), CONFIG, DEFINE (metric definitions), METRICS
 * rebuilt from the full-resolution series (one record per step and
 * "round", with the step's time from the derived _timestamp series so that
 * it is derived identically), SYSTEM for system/ series, HISTOGRAM, IMAGE
 * and TABLE for the rich data (with their own steps, times and captions),
 * SUMMARY (the summary as explicit values, so it is identical whatever was
 * computed and whatever was set), FINISH with the original exit code and
 * time, and ARTIFACT_USE for the versions the run used; a crashed run is
 * marked crashed through the finish route.
 *
 * Artifacts go the way the SDK sends them: each file's blob through the
 * chunked upload route (only those the target lacks, resumed where an
 * interrupted import left one), then each version committed with its
 * producing run, files, references and metadata, oldest first across all
 * artifacts, so every version gets its original number. A number the
 * source no longer has (a deleted version) is taken by a placeholder that
 * is deleted at once, as it was on the source. Then the aliases are put
 * where they were, and the uses replayed in their original order.
 *
 * Nothing is written before everything is checked. A first pass over the
 * archive refuses an entry outside the layout (an absolute path, a ".."
 * segment, a link), hashes every image and blob against its name (images
 * are kept in a temporary directory until their runs are sent; blobs are
 * only hashed), and keeps the small JSON and CSV entries in memory. Then
 * every run is turned into records without sending them, every artifact's
 * JSON is checked (names, paths, hashes, sizes, version order, the blob of
 * each file present), and the target is asked whether any of the runs or
 * artifacts exists: one that does is refused, not merged. Only then is
 * anything sent, and the blobs are read a second time, streamed from the
 * archive to the server in chunks: a blob of gigabytes is never in memory.
 *
 * Projects the import makes get the archive's created_at, updated_at and
 * visibility, last (every run and version sent touches updated_at); a
 * project the target had already keeps its own. What differs afterwards
 * are the target's own times: runs' updated_at,
 * heartbeat_at and last_seq (the number of records it took). Versions
 * are committed with their created_at and uses replayed with their time. Lineage to a run that is not in the
 * archive is kept only when the target has that run.
 *
 * Progress (progress.h): the bytes of the archive read in the first pass,
 * the runs sent, then the bytes of the blobs sent in the second pass.
 */
#include "cmd.h"
#include "xfer.h"

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>
#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_artifact.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "json_exact.h"
#include "progress.h"
#include "wire.h"
#include "wire_media.h"

#define BODY_MAX (4u << 20)
#define PATCH_CHUNK (1u << 20)
#define ENTRY_MAX ((size_t)2 << 30)
#define IO_CHUNK (1u << 20)
#define BLOB_CHUNK (8u << 20) /* bytes of one uploaded chunk, as the SDK sends them */


static const char import_usage[] = "usage: wb import ARCHIVE [--base-url URL] [--api-key KEY] [-q|--quiet]\n";

/* A small entry (JSON, CSV, patch), in memory. */
typedef struct entry {
	char *name;
	char *data; /* NUL-terminated */
	size_t len;
} entry;

/* An image or a blob met in the first pass: hashed, and its size. */
typedef struct bytes_ent {
	char sha[65];
	uint64_t size;
	int blob;                /* 0 images/, 1 blobs/ */
	const char *ent, *proj;  /* blob: a project of an artifact naming it (its routes upload it) */
} bytes_ent;

typedef struct files {
	entry *e;
	size_t n, cap;
	bytes_ent *b;
	size_t nb, capb;
	char spool[4096]; /* the images' temporary directory, "" until the first */
	int version;      /* the manifest's */
	wbs__progress *pg;
} files;

static int cmp_entry(const void *pa, const void *pb)
{
	return strcmp(((const entry *)pa)->name, ((const entry *)pb)->name);
}

static const entry *find(const files *f, const char *name)
{
	entry k = {(char *)name, NULL, 0};
	return f->n ? bsearch(&k, f->e, f->n, sizeof(*f->e), cmp_entry) : NULL;
}

static int cmp_bytes(const void *pa, const void *pb)
{
	const bytes_ent *a = pa, *b = pb;
	return a->blob != b->blob ? a->blob - b->blob : strcmp(a->sha, b->sha);
}

static bytes_ent *find_bytes(const files *f, const char *sha, int blob)
{
	bytes_ent k;

	if (!sha || !wbs__sha256_hex_valid(sha))
		return NULL;
	memcpy(k.sha, sha, 65);
	k.blob = blob;
	return f->nb ? bsearch(&k, f->b, f->nb, sizeof(*f->b), cmp_bytes) : NULL;
}

static void spool_path(const files *f, const char *sha, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", f->spool, sha);
}

static void files_free(files *f)
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
				spool_path(f, f->b[i].sha, p, sizeof(p));
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
		spool_path(f, sha, path, sizeof(path));
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
static struct archive *open_archive(const char *path, char *err, size_t errlen)
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
static int read_archive(const char *path, files *f, char *err, size_t errlen)
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
	if (!(ar = open_archive(path, err, errlen)))
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

/* ---- records ---- */

/* Frames for one run's records route; dry: built and checked, never sent (the first, checking pass). */
typedef struct sender {
	const wbs__api *api;
	int dry;
	char path[640];
	wbs__buf body;
	uint64_t seq;
	char *err;
	size_t errlen;
} sender;

static int flush(sender *s)
{
	wbs__api_resp r;

	if (s->body.len == 0)
		return 0;
	if (s->body.err) {
		snprintf(s->err, s->errlen, "out of memory");
		return -1;
	}
	if (s->dry) {
		wbs__buf_reset(&s->body);
		return 0;
	}
	if (wbs__api_call(s->api, "POST", s->path, s->body.p, s->body.len, "application/x-wb-frames", 200, &r, s->err,
			  s->errlen))
		return -1;
	free(r.body);
	wbs__buf_reset(&s->body);
	return 0;
}

static int frame(sender *s, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[WB__FRAME_HEADER];

	if (len > WB__FRAME_MAX_PAYLOAD) {
		snprintf(s->err, s->errlen, "a record of %zu bytes is too large", len);
		return -1;
	}
	if (s->body.len + WB__FRAME_HEADER + len > BODY_MAX && flush(s))
		return -1;
	wb__frame_header(hdr, ++s->seq, type, payload, (uint32_t)len);
	wbs__buf_put(&s->body, hdr, sizeof(hdr));
	wbs__buf_put(&s->body, payload, len);
	return 0;
}

static int frame_json(sender *s, uint8_t type, const cJSON *j)
{
	wbs__buf b;
	int rc;

	wbs__buf_init(&b, WB__FRAME_MAX_PAYLOAD);
	wbs__json_tree(&b, j); /* exact numbers, NaN/Infinity as strings */
	if (b.err) {
		wbs__buf_free(&b);
		snprintf(s->err, s->errlen, "a record is too large");
		return -1;
	}
	rc = frame(s, type, b.p, b.len);
	wbs__buf_free(&b);
	return rc;
}

typedef struct series {
	const char *key;
	int64_t *step;
	double *val;
	size_t n, i;
} series;

static void series_free(series *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].step);
		free(s[i].val);
	}
	free(s);
}

/* Parse a step,value,bits CSV. 0 or -1. */
static int parse_csv(const entry *e, series *s)
{
	const char *p = e->data;
	size_t cap = 0;

	p = strchr(p, '\n');
	while (p && *++p) {
		char *end;
		long long st = strtoll(p, &end, 10);
		const char *c2;
		uint64_t u;
		if (*end != ',' || !(c2 = strchr(end + 1, ',')))
			return -1;
		u = strtoull(c2 + 1, &end, 16);
		if (*end != '\n' && *end != '\0')
			return -1;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			int64_t *a = realloc(s->step, nc * sizeof(*a));
			double *b;
			if (!a)
				return -1;
			s->step = a;
			if (!(b = realloc(s->val, nc * sizeof(*b))))
				return -1;
			s->val = b;
			cap = nc;
		}
		s->step[s->n] = st;
		memcpy(&s->val[s->n], &u, sizeof(u));
		s->n++;
		p = end;
	}
	return 0;
}

/* Records for series[0..n) of type (METRICS or SYSTEM), merged by step. ts: _timestamp (may be NULL). */
static int send_series(sender *snd, uint8_t type, series *sr, size_t n, const series *ts, double t0)
{
	wb_metric *m = NULL;
	uint8_t *payload = NULL;
	size_t ti = 0, cap = 0;
	int rc = -1;

	if (!n)
		return 0;
	if (!(m = malloc(n * sizeof(*m))))
		goto oom;
	for (;;) {
		int64_t step = INT64_MAX;
		double t = t0;
		for (size_t i = 0; i < n; i++)
			if (sr[i].i < sr[i].n && sr[i].step[sr[i].i] < step)
				step = sr[i].step[sr[i].i];
		if (step == INT64_MAX)
			break;
		if (ts) {
			while (ti < ts->n && ts->step[ti] < step)
				ti++;
			if (ti < ts->n && ts->step[ti] == step)
				t = ts->val[ti];
		} else if (type == WB__REC_SYSTEM) {
			t = t0 + (double)step / 1000.0;
		}
		/* Rounds: a key logged twice at one step gets two records. */
		for (;;) {
			size_t k = 0, sz;
			for (size_t i = 0; i < n && k < WB__METRICS_MAX; i++) {
				if (sr[i].i < sr[i].n && sr[i].step[sr[i].i] == step) {
					m[k].key = sr[i].key;
					m[k].value = sr[i].val[sr[i].i++];
					k++;
				}
			}
			if (!k)
				break;
			if (!(sz = wb__metrics_size(m, k))) {
				snprintf(snd->err, snd->errlen, "metric key %s cannot be sent", m[0].key);
				goto done;
			}
			if (sz > cap) {
				uint8_t *p = realloc(payload, sz);
				if (!p)
					goto oom;
				payload = p;
				cap = sz;
			}
			wb__metrics_encode(payload, step, t, m, k);
			if (frame(snd, type, payload, sz))
				goto done;
		}
	}
	rc = 0;
	goto done;
oom:
	snprintf(snd->err, snd->errlen, "out of memory");
done:
	free(m);
	free(payload);
	return rc;
}

/* ---- rich data ---- */

/* A JSON number that is an integer in [0, 2^53], or -1. */
static int64_t json_count(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	return (int64_t)v->valuedouble;
}

/* n numbers of a JSON array into out (malloc'd). 0 or -1. */
static int json_doubles(const cJSON *a, size_t n, double **out)
{
	const cJSON *it;
	size_t i = 0;

	*out = NULL;
	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n || !(*out = malloc((n ? n : 1) * sizeof(double))))
		return -1;
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsNumber(it))
			return -1;
		(*out)[i++] = it->valuedouble;
	}
	return 0;
}

/* The file bytes of image sha, from the spool: malloc'd into *out. 0 or -1. */
static int image_bytes(const files *f, const char *sha, uint8_t **out, size_t *len)
{
	const bytes_ent *b = find_bytes(f, sha, 0);
	char path[4200];
	FILE *in;
	int ok;

	*out = NULL;
	if (!b || !(*out = malloc(b->size ? b->size : 1)))
		return -1;
	spool_path(f, sha, path, sizeof(path));
	if (!(in = fopen(path, "rb")))
		return -1;
	ok = fread(*out, 1, b->size, in) == b->size;
	fclose(in);
	*len = b->size;
	return ok ? 0 : -1;
}

/*
 * One value of the media file of kind as a HISTOGRAM, IMAGE or TABLE
 * payload (malloc'd into *out), checked with the codec's own checks, so
 * the server takes what the first pass accepted. 0, or -1 with why.
 */
static int media_payload(const files *f, uint8_t type, const char *key, const cJSON *v, uint8_t **out, size_t *len,
			 char *why, size_t whylen)
{
	const cJSON *tm = cJSON_GetObjectItem(v, "time");
	int64_t step = json_count(cJSON_GetObjectItem(v, "step"));
	double time = cJSON_IsNumber(tm) ? tm->valuedouble : NAN;
	size_t klen = strlen(key), blen = 0;
	double *edges = NULL, *counts = NULL;
	uint8_t *body = NULL, *p = NULL;
	char *text = NULL, *caption = NULL;
	wb__media_hdr h;
	int rc = -1;

	*out = NULL;
	if (step < 0 || klen > WB__KEY_MAX) {
		snprintf(why, whylen, "a value without a step");
		return -1;
	}
	if (type == WB__REC_HISTOGRAM) {
		int64_t nan_ = json_count(cJSON_GetObjectItem(v, "nan")), pinf = json_count(cJSON_GetObjectItem(v, "inf")),
			ninf = json_count(cJSON_GetObjectItem(v, "neg_inf"));
		int nb = cJSON_GetArraySize(cJSON_GetObjectItem(v, "counts"));
		wb__hist hh;
		if (nan_ < 0 || pinf < 0 || ninf < 0 || nb < 0 || (size_t)nb > WB__HIST_BINS_MAX ||
		    json_doubles(cJSON_GetObjectItem(v, "counts"), (size_t)nb, &counts) ||
		    json_doubles(cJSON_GetObjectItem(v, "edges"), nb ? (size_t)nb + 1 : 0, &edges)) {
			snprintf(why, whylen, "a histogram without its edges, counts, nan, inf and neg_inf");
			goto done;
		}
		blen = wb__hist_body_size((size_t)nb);
		if (!(body = malloc(blen)))
			goto oom;
		wb__hist_put(body, (uint64_t)nan_, (uint64_t)pinf, (uint64_t)ninf, edges, counts, (size_t)nb);
		if (wb__hist_get(&hh, body, blen)) {
			snprintf(why, whylen, "a histogram's edges or counts are not valid");
			goto done;
		}
	} else if (type == WB__REC_IMAGE) {
		const char *sha = WBS__JSTR(v, "sha256"), *cap = WBS__JSTR(v, "caption");
		int64_t w = json_count(cJSON_GetObjectItem(v, "width")), hgt = json_count(cJSON_GetObjectItem(v, "height"));
		size_t caplen = cap ? strlen(cap) : 0, ilen = 0;
		uint8_t *img = NULL;
		wb__image im;
		if (w < 0 || hgt < 0 || w > UINT32_MAX || hgt > UINT32_MAX || caplen > WB__CAPTION_MAX) {
			snprintf(why, whylen, "an image without its width, height or caption");
			goto done;
		}
		if (image_bytes(f, sha, &img, &ilen)) {
			free(img);
			snprintf(why, whylen, "image %.64s is not in the archive", sha ? sha : "(no sha256)");
			goto done;
		}
		blen = wb__image_body_size(caplen, ilen);
		if (!(body = malloc(blen))) {
			free(img);
			goto oom;
		}
		wb__image_put(body, cap ? cap : "", caplen, (uint32_t)w, (uint32_t)hgt, img, ilen);
		free(img);
		if (wb__image_get(&im, body, blen)) {
			snprintf(why, whylen, "image %.64s is not a PNG or JPEG the server takes", sha);
			goto done;
		}
	} else {
		const cJSON *t = cJSON_GetObjectItem(v, "table");
		char tw[160];
		if (!t || wb__table_check(t, tw, sizeof(tw))) {
			snprintf(why, whylen, "a table that is not valid: %s", t ? tw : "none");
			goto done;
		}
		if (!(text = wb__json_print_exact(t))) /* cells exactly as exported */
			goto oom;
		blen = strlen(text);
		if (blen > WB__TABLE_MAX) {
			snprintf(why, whylen, "a table of more than %u bytes", WB__TABLE_MAX);
			goto done;
		}
	}
	*len = wb__media_hdr_size(klen) + blen;
	if (!(p = malloc(*len)))
		goto oom;
	memcpy(wb__media_hdr_put(p, step, time, key, klen), text ? (const uint8_t *)text : body, blen);
	if (wb__media_hdr_get(&h, p, *len)) {
		snprintf(why, whylen, "key %.100s cannot hold rich data", key);
		goto done;
	}
	*out = p;
	p = NULL;
	rc = 0;
	goto done;
oom:
	snprintf(why, whylen, "out of memory");
done:
	free(edges);
	free(counts);
	free(body);
	free(text);
	free(caption);
	free(p);
	return rc;
}

/* The run's rich data as records, from media/index.json (absent in version 1 archives). */
static int send_media(sender *snd, const files *f, const char *dir)
{
	char name[1200], why[300];
	const entry *e;
	cJSON *index = NULL, *vals = NULL;
	const cJSON *it, *v;
	int rc = -1;

	snprintf(name, sizeof(name), "%s/media/index.json", dir);
	if (!(e = find(f, name))) {
		if (f->version < 2)
			return 0;
		snprintf(snd->err, snd->errlen, "%.300s is missing", name);
		return -1;
	}
	if (!(index = cJSON_ParseWithLength(e->data, e->len)) || !cJSON_IsArray(index)) {
		snprintf(snd->err, snd->errlen, "%.300s is not json", name);
		goto done;
	}
	cJSON_ArrayForEach(it, index)
	{
		const char *kind = WBS__JSTR(it, "kind"), *key = WBS__JSTR(it, "key"), *file = WBS__JSTR(it, "file");
		uint8_t type = !kind ? 0 : !strcmp(kind, "histogram") ? WB__REC_HISTOGRAM : !strcmp(kind, "image") ? WB__REC_IMAGE
									: !strcmp(kind, "table")   ? WB__REC_TABLE
												   : 0;
		if (!type || !key || !file || strchr(file, '/')) {
			snprintf(snd->err, snd->errlen, "%.300s: an entry without a kind (histogram, image, table), key or file",
				 name);
			goto done;
		}
		snprintf(name, sizeof(name), "%s/media/%s", dir, file);
		if (!(e = find(f, name)) || !(vals = wb__json_parse_exact(e->data, e->len)) || !cJSON_IsArray(vals)) {
			snprintf(snd->err, snd->errlen, "%.300s is missing or not json", name);
			goto done;
		}
		cJSON_ArrayForEach(v, vals)
		{
			uint8_t *p = NULL;
			size_t len = 0;
			if (media_payload(f, type, key, v, &p, &len, why, sizeof(why))) {
				snprintf(snd->err, snd->errlen, "%.300s: %s", name, why);
				goto done;
			}
			rc = frame(snd, type, p, len);
			free(p);
			if (rc)
				goto done;
			rc = -1;
		}
		cJSON_Delete(vals);
		vals = NULL;
	}
	rc = 0;
done:
	cJSON_Delete(index);
	cJSON_Delete(vals);
	return rc;
}

/* ---- runs ---- */

/* A run of the manifest: where its records stand after the import. */
typedef struct run_st {
	const char *ent, *proj, *id;
	uint64_t seq; /* records sent */
	int crashed;
	char seen[40]; /* crashed: its heartbeat_at on the source, as the source wrote it ("" if none) */
} run_st;

/*
 * Turn one run into records and send them (dry: only build and check
 * them). A crashed run is marked so later (rs->crashed), after the uses
 * that may still come to it.
 */
static int import_run(const wbs__api *a, const files *f, run_st *rs, int dry, char *err, size_t errlen)
{
	const char *ent = rs->ent, *proj = rs->proj, *id = rs->id;
	char dir[512], name[1200], base[512];
	const entry *e;
	cJSON *run = NULL, *index = NULL, *rec = NULL, *meta = NULL, *code = NULL;
	const cJSON *it, *v;
	series *sr = NULL, *sys = NULL, ts;
	size_t nsr = 0, nsys = 0, cnt;
	sender snd;
	wbs__api_resp r;
	double created;
	int rc = -1, has_ts = 0;
	const char *state;

	memset(&snd, 0, sizeof(snd));
	memset(&ts, 0, sizeof(ts));
	memset(&r, 0, sizeof(r));
	wbs__buf_init(&snd.body, BODY_MAX + WB__FRAME_MAX_PAYLOAD + WB__FRAME_HEADER);
	snd.api = a;
	snd.dry = dry;
	snd.err = err;
	snd.errlen = errlen;
	snprintf(dir, sizeof(dir), "runs/%s/%s/%s", ent, proj, id);
	snprintf(base, sizeof(base), "/api/v1/projects/%s/%s/runs/%s", ent, proj, id);
	snprintf(snd.path, sizeof(snd.path), "%s/records", base);
	snprintf(name, sizeof(name), "%s/run.json", dir);
	if (!(e = find(f, name)) || !(run = wb__json_parse_exact(e->data, e->len)) || !cJSON_IsObject(run)) {
		snprintf(err, errlen, "%.300s is missing or not json", name);
		goto done;
	}
	snprintf(name, sizeof(name), "%s/metrics/index.json", dir);
	if (!(e = find(f, name)) || !(index = cJSON_ParseWithLength(e->data, e->len)) || !cJSON_IsArray(index)) {
		snprintf(err, errlen, "%.300s is missing or not json", name);
		goto done;
	}
	if (!dry) {
		if (wbs__api_call(a, "PUT", base, "{}", 2, "application/json", 0, &r, err, errlen))
			goto done;
		free(r.body);
		r.body = NULL;
	}

	/* RUN */
	created = cJSON_GetNumberValue(cJSON_GetObjectItem(run, "created_at"));
	if (!(rec = cJSON_CreateObject()))
		goto oom;
	{
		static const char *const strs[] = {"name", "group", "job_type", "notes"};
		for (size_t i = 0; i < 4; i++)
			if (cJSON_IsString(v = cJSON_GetObjectItem(run, strs[i])))
				cJSON_AddStringToObject(rec, strs[i], v->valuestring);
	}
	if (cJSON_IsArray(v = cJSON_GetObjectItem(run, "tags")))
		cJSON_AddItemToObject(rec, "tags", cJSON_Duplicate(v, 1));
	/* metadata goes in the RUN record, its "code" member as the CODE record */
	meta = cJSON_Duplicate(cJSON_GetObjectItem(run, "metadata"), 1);
	if (meta)
		code = cJSON_DetachItemFromObjectCaseSensitive(meta, "code");
	if (meta && cJSON_GetArraySize(meta) > 0) {
		cJSON_AddItemToObject(rec, "metadata", meta);
		meta = NULL;
	}
	if (isfinite(created))
		cJSON_AddNumberToObject(rec, "created_at", created);
	if (frame_json(&snd, WB__REC_RUN, rec))
		goto done;
	cJSON_Delete(rec);
	rec = NULL;
	/* CODE and its PATCHes */
	if (code) {
		if (frame_json(&snd, WB__REC_CODE, code))
			goto done;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(code, "patches"))
		{
			const char *pn = WBS__JSTR(it, "name");
			const entry *pe;
			size_t nl, off = 0;
			uint8_t *buf;
			if (!pn || (nl = strlen(pn)) > 255)
				continue;
			snprintf(name, sizeof(name), "%s/code/%s", dir, pn);
			if (!(pe = find(f, name)))
				continue;
			if (!(buf = malloc(1 + nl + PATCH_CHUNK)))
				goto oom;
			do {
				size_t k = pe->len - off < PATCH_CHUNK ? pe->len - off : PATCH_CHUNK;
				buf[0] = (uint8_t)nl;
				memcpy(buf + 1, pn, nl);
				memcpy(buf + 1 + nl, pe->data + off, k);
				if (frame(&snd, WB__REC_PATCH, buf, 1 + nl + k)) {
					free(buf);
					goto done;
				}
				off += k;
			} while (off < pe->len);
			free(buf);
		}
	}
	/* CONFIG, DEFINE */
	if (cJSON_GetArraySize(v = cJSON_GetObjectItem(run, "config")) > 0 && frame_json(&snd, WB__REC_CONFIG, v))
		goto done;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(run, "metric_defs"))
	{
		if (frame_json(&snd, WB__REC_DEFINE, it))
			goto done;
	}

	/* METRICS and SYSTEM, from the series */
	cnt = (size_t)cJSON_GetArraySize(index);
	if (!(sr = calloc(cnt + 1, sizeof(*sr))) || !(sys = calloc(cnt + 1, sizeof(*sys))))
		goto oom;
	cJSON_ArrayForEach(it, index)
	{
		const char *key = WBS__JSTR(it, "key");
		const char *file = WBS__JSTR(it, "file");
		series *s;
		if (!key || !file || strchr(file, '/'))
			continue;
		if (strcmp(key, "_timestamp") == 0)
			s = &ts;
		else if (key[0] == '_')
			continue; /* other derived series come back by themselves */
		else if (strncmp(key, "system/", 7) == 0)
			s = &sys[nsys++];
		else
			s = &sr[nsr++];
		if (s == &ts)
			has_ts = 1;
		s->key = key;
		snprintf(name, sizeof(name), "%s/metrics/%s", dir, file);
		if (!(e = find(f, name)) || parse_csv(e, s)) {
			snprintf(err, errlen, "%.300s is missing or malformed", name);
			goto done;
		}
	}
	if (send_series(&snd, WB__REC_METRICS, sr, nsr, has_ts ? &ts : NULL, isfinite(created) ? created : 0) ||
	    send_series(&snd, WB__REC_SYSTEM, sys, nsys, NULL, isfinite(created) ? created : 0))
		goto done;

	/* HISTOGRAM, IMAGE, TABLE: the server keeps them apart from the metrics' step rule */
	if (send_media(&snd, f, dir))
		goto done;

	/* SUMMARY: every valid key as an explicit value, so the summary is identical */
	if (!(rec = cJSON_CreateObject()))
		goto oom;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(run, "summary"))
	{
		if (wb__key_valid(it->string, strlen(it->string)))
			cJSON_AddItemToObject(rec, it->string, cJSON_Duplicate(it, 1));
	}
	if (cJSON_GetArraySize(rec) > 0 && frame_json(&snd, WB__REC_SUMMARY, rec))
		goto done;
	cJSON_Delete(rec);
	rec = NULL;

	/* FINISH */
	state = WBS__JSTR(run, "state");
	if (state && (!strcmp(state, "finished") || !strcmp(state, "failed"))) {
		double fin = cJSON_GetNumberValue(cJSON_GetObjectItem(run, "finished_at"));
		if (!(rec = cJSON_CreateObject()) ||
		    !cJSON_AddNumberToObject(rec, "exit_code", cJSON_GetNumberValue(cJSON_GetObjectItem(run, "exit_code"))))
			goto oom;
		if (isfinite(fin))
			cJSON_AddNumberToObject(rec, "time", fin);
		if (frame_json(&snd, WB__REC_FINISH, rec))
			goto done;
	}
	if (flush(&snd))
		goto done;
	rs->seq = snd.seq;
	rs->crashed = state && !strcmp(state, "crashed");
	{
		/* the source's own text of the number (wb__json_parse_exact keeps it) */
		const cJSON *hb = cJSON_GetObjectItem(run, "heartbeat_at");
		rs->seen[0] = '\0';
		if (rs->crashed && cJSON_IsNumber(hb) && hb->valuestring && strlen(hb->valuestring) < sizeof(rs->seen))
			snprintf(rs->seen, sizeof(rs->seen), "%s", hb->valuestring);
	}
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(r.body);
	cJSON_Delete(run);
	cJSON_Delete(index);
	cJSON_Delete(rec);
	cJSON_Delete(meta);
	cJSON_Delete(code);
	series_free(sr, nsr);
	series_free(sys, nsys);
	free(ts.step);
	free(ts.val);
	wbs__buf_free(&snd.body);
	return rc;
}

/* One more record to a run that was imported (seq goes on from its last). */
static int send_record(const wbs__api *a, run_st *rs, uint8_t type, const cJSON *j, char *err, size_t errlen)
{
	sender snd;
	int rc;

	memset(&snd, 0, sizeof(snd));
	wbs__buf_init(&snd.body, BODY_MAX + WB__FRAME_MAX_PAYLOAD + WB__FRAME_HEADER);
	snd.api = a;
	snd.seq = rs->seq;
	snd.err = err;
	snd.errlen = errlen;
	snprintf(snd.path, sizeof(snd.path), "/api/v1/projects/%s/%s/runs/%s/records", rs->ent, rs->proj, rs->id);
	rc = frame_json(&snd, type, j) || flush(&snd) ? -1 : 0;
	rs->seq = snd.seq;
	wbs__buf_free(&snd.body);
	return rc;
}

/* ---- artifacts ---- */

/* A version to commit: its number, its time on the source (the order of commits), its commit body. */
typedef struct aver {
	int64_t index;
	double created;
	char *commit;
} aver;

typedef struct aplan {
	const char *ent, *proj, *name, *type; /* into the artifact's JSON (doc) */
	cJSON *doc;
	aver *v;
	size_t n, next;  /* versions; the next to commit */
	int64_t target;  /* the number the target gives the next commit */
} aplan;

/* An alias to put, or a use to replay (run set), once every version is in. */
typedef struct alink {
	aplan *p;
	const char *alias; /* an alias, or NULL: a use */
	run_st *run;
	int64_t index;
	double at;
	size_t order;
} alink;

typedef struct plan {
	aplan *a;
	size_t na;
	alink *l;
	size_t nl, capl;
} plan;

static void plan_free(plan *p)
{
	for (size_t i = 0; i < p->na; i++) {
		for (size_t k = 0; k < p->a[i].n; k++)
			free(p->a[i].v[k].commit);
		free(p->a[i].v);
		cJSON_Delete(p->a[i].doc);
	}
	free(p->a);
	free(p->l);
}

static alink *link_add(plan *p)
{
	if (p->nl == p->capl) {
		size_t nc = p->capl ? p->capl * 2 : 32;
		alink *n = realloc(p->l, nc * sizeof(*n));
		if (!n)
			return NULL;
		p->l = n;
		p->capl = nc;
	}
	memset(&p->l[p->nl], 0, sizeof(*p->l));
	p->l[p->nl].order = p->nl;
	return &p->l[p->nl++];
}

static run_st *run_find(run_st *runs, size_t n, const char *ent, const char *proj, const char *id)
{
	for (size_t i = 0; id && i < n; i++)
		if (!strcmp(runs[i].ent, ent) && !strcmp(runs[i].proj, proj) && !strcmp(runs[i].id, id))
			return &runs[i];
	return NULL;
}

/* The commit body of version ver (GET .../artifacts/NAME/vN as exported): type, producer, metadata, files. */
static char *commit_body(files *f, aplan *ap, const cJSON *ver, char *why, size_t whylen)
{
	const cJSON *info = cJSON_GetObjectItem(ver, "info"), *meta = cJSON_GetObjectItem(ver, "metadata"), *it;
	const char *producer = WBS__JSTR(info, "producer");
	cJSON *c = cJSON_CreateObject(), *fl;
	char *txt = NULL;

	if (!c || !cJSON_AddStringToObject(c, "type", ap->type) || !(fl = cJSON_AddArrayToObject(c, "files")))
		goto oom;
	if (producer && (!wb__name_valid(producer) || !cJSON_AddStringToObject(c, "run_id", producer))) {
		snprintf(why, whylen, "producer %.80s is not a run id", producer);
		goto done;
	}
	if (cJSON_IsNumber(cJSON_GetObjectItem(info, "created_at")) &&
	    !cJSON_AddNumberToObject(c, "created_at", cJSON_GetObjectItem(info, "created_at")->valuedouble))
		goto oom; /* the version keeps its time */
	if (meta && !cJSON_IsNull(meta)) {
		if (!cJSON_IsObject(meta)) {
			snprintf(why, whylen, "metadata is not an object");
			goto done;
		}
		if (!cJSON_AddItemToObject(c, "metadata", cJSON_Duplicate(meta, 1)))
			goto oom;
	}
	if (!cJSON_IsArray(cJSON_GetObjectItem(ver, "files"))) {
		snprintf(why, whylen, "no files");
		goto done;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(ver, "files"))
	{
		const char *path = WBS__JSTR(it, "path"), *sha = WBS__JSTR(it, "sha256"), *ref = WBS__JSTR(it, "ref");
		int64_t size = json_count(cJSON_GetObjectItem(it, "size"));
		cJSON *o;
		if (!path || !wbs__art_path_valid(path, strlen(path)) || !sha || !wbs__sha256_hex_valid(sha) || size < 0) {
			snprintf(why, whylen, "file %.200s: no valid path, sha256 or size", path ? path : "(no path)");
			goto done;
		}
		if (!ref) {
			bytes_ent *b = find_bytes(f, sha, 1);
			if (!b || b->size != (uint64_t)size) {
				snprintf(why, whylen, "file %.200s: blobs/%s is %s", path, sha,
					 b ? "not of the file's size" : "not in the archive");
				goto done;
			}
			if (!b->ent) {
				b->ent = ap->ent;
				b->proj = ap->proj;
			}
		}
		if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(fl, o) || !cJSON_AddStringToObject(o, "path", path) ||
		    !cJSON_AddStringToObject(o, "sha256", sha) || !cJSON_AddNumberToObject(o, "size", (double)size) ||
		    (ref && !cJSON_AddStringToObject(o, "ref", ref)))
			goto oom;
	}
	{
		wbs__buf b; /* exact numbers in the metadata */
		wbs__buf_init(&b, WBS__ART_MANIFEST_MAX);
		wbs__json_tree(&b, c);
		if (!b.err)
			txt = wbs__buf_take(&b);
		wbs__buf_free(&b);
		if (!txt) {
			snprintf(why, whylen, "the version's manifest is too large");
			goto done;
		}
	}
	goto done;
oom:
	snprintf(why, whylen, "out of memory");
done:
	cJSON_Delete(c);
	return txt;
}

/*
 * Check artifacts/E/P/NAME.json and plan its commits, aliases and uses
 * (uses only by runs of the archive: their records are ours to extend).
 */
static int plan_artifact(files *f, plan *p, run_st *runs, size_t nruns, const char *ent, const char *proj,
			 const char *name, char *err, size_t errlen)
{
	char ename[300], why[300] = "";
	const entry *e;
	aplan *ap = &p->a[p->na];
	const cJSON *art, *vers, *ver, *it;
	int64_t prev = -1;

	memset(ap, 0, sizeof(*ap));
	p->na++;
	snprintf(ename, sizeof(ename), "artifacts/%s/%s/%s.json", ent, proj, name);
	if (!(e = find(f, ename)) || !(ap->doc = wb__json_parse_exact(e->data, e->len))) {
		snprintf(err, errlen, "%s is missing or not json", ename);
		return -1;
	}
	art = cJSON_GetObjectItem(ap->doc, "artifact");
	vers = cJSON_GetObjectItem(ap->doc, "versions");
	ap->ent = ent;
	ap->proj = proj;
	ap->name = name;
	ap->type = WBS__JSTR(art, "type");
	if (!ap->type || !wb__name_valid(ap->type) || !cJSON_IsArray(vers) || !WBS__JSTR(art, "name") || strcmp(WBS__JSTR(art, "name"), name)) {
		snprintf(err, errlen, "%s: not an artifact (name, type, versions)", ename);
		return -1;
	}
	if (cJSON_GetArraySize(vers) && !(ap->v = calloc((size_t)cJSON_GetArraySize(vers), sizeof(*ap->v))))
		goto oom;
	cJSON_ArrayForEach(ver, vers)
	{
		const cJSON *info = cJSON_GetObjectItem(ver, "info");
		aver *av = &ap->v[ap->n];
		av->index = json_count(cJSON_GetObjectItem(info, "index"));
		av->created = cJSON_GetNumberValue(cJSON_GetObjectItem(info, "created_at"));
		if (av->index <= prev) {
			snprintf(err, errlen, "%s: versions must have numbers, oldest first", ename);
			return -1;
		}
		prev = av->index;
		if (!(av->commit = commit_body(f, ap, ver, why, sizeof(why)))) {
			snprintf(err, errlen, "%s: v%" PRId64 ": %s", ename, av->index, why);
			return -1;
		}
		ap->n++;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(info, "aliases"))
		{
			alink *l;
			if (!cJSON_IsString(it) || !strcmp(it->valuestring, "latest"))
				continue; /* latest is the server's own */
			if (!wb__name_valid(it->valuestring)) {
				snprintf(err, errlen, "%s: alias %.80s is not a name", ename, it->valuestring);
				return -1;
			}
			if (!(l = link_add(p)))
				goto oom;
			l->p = ap;
			l->alias = it->valuestring;
			l->index = av->index;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(ver, "used_by"))
		{
			run_st *rs = run_find(runs, nruns, ent, proj, WBS__JSTR(it, "run_id"));
			alink *l;
			if (!rs)
				continue;
			if (!(l = link_add(p)))
				goto oom;
			l->p = ap;
			l->run = rs;
			l->index = av->index;
			l->at = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "at"));
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Uses in their original order (the time they happened, then the archive's order). */
static int cmp_link(const void *pa, const void *pb)
{
	const alink *a = pa, *b = pb;
	if (!a->alias != !b->alias)
		return a->alias ? -1 : 1;
	if (!a->alias && a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* POST one commit body; the version number it made must be want. */
static int commit(const wbs__api *a, const aplan *ap, const char *body, int64_t want, char *err, size_t errlen)
{
	char path[512];
	wbs__api_resp r;
	cJSON *j = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s", ap->ent, ap->proj, ap->name);
	if (wbs__api_call(a, "POST", path, body, strlen(body), "application/json", 201, &r, err, errlen))
		return -1;
	if (!(j = cJSON_ParseWithLength(r.body, r.len)) || json_count(cJSON_GetObjectItem(j, "index")) != want)
		snprintf(err, errlen, "POST %s: the target numbered v%" PRId64 " otherwise", path, want);
	else
		rc = 0;
	cJSON_Delete(j);
	free(r.body);
	return rc;
}

/* Take version number ap->target with a placeholder and delete it: the number stays used, as on the source. */
static int skip_number(const wbs__api *a, aplan *ap, char *err, size_t errlen)
{
	/* the artifact's own time: what the source had when its first version came */
	const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(ap->doc, "artifact"), "created_at");
	char body[512], path[512], at[64] = "";
	wbs__api_resp r;

	if (cJSON_IsNumber(t) && t->valuedouble > 0)
		snprintf(at, sizeof(at), "\"created_at\":%.17g,", t->valuedouble);
	snprintf(body, sizeof(body),
		 "{\"type\":\"%s\",%s\"files\":[{\"path\":\"deleted\",\"sha256\":\"%064d\",\"size\":0,"
		 "\"ref\":\"wb-import://deleted/%s/v%" PRId64 "\"}]}",
		 ap->type, at, 0, ap->name, ap->target);
	if (commit(a, ap, body, ap->target, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s/v%" PRId64, ap->ent, ap->proj, ap->name,
		 ap->target);
	if (wbs__api_call(a, "DELETE", path, NULL, 0, NULL, 200, &r, err, errlen))
		return -1;
	free(r.body);
	ap->target++;
	return 0;
}

/*
 * Every version of every artifact, oldest first across artifacts (so the
 * runs' lists of what they produced keep their order), each with its
 * original number; an artifact left with no version is made and emptied.
 */
static int commit_all(const wbs__api *a, plan *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->na; i++)
		if (p->a[i].n == 0 && skip_number(a, &p->a[i], err, errlen))
			return -1;
	for (;;) {
		aplan *best = NULL;
		for (size_t i = 0; i < p->na; i++) {
			aplan *ap = &p->a[i];
			if (ap->next < ap->n && (!best || ap->v[ap->next].created < best->v[best->next].created))
				best = ap;
		}
		if (!best)
			return 0;
		while (best->target < best->v[best->next].index)
			if (skip_number(a, best, err, errlen))
				return -1;
		if (commit(a, best, best->v[best->next].commit, best->v[best->next].index, err, errlen))
			return -1;
		best->target++;
		best->next++;
	}
}

/* The aliases where they were, then the uses in their order, then the crashed runs marked. */
static int links_all(const wbs__api *a, plan *p, run_st *runs, size_t nruns, char *err, size_t errlen)
{
	char path[600], body[64];
	wbs__api_resp r;

	if (p->nl)
		qsort(p->l, p->nl, sizeof(*p->l), cmp_link);
	for (size_t i = 0; i < p->nl; i++) {
		const alink *l = &p->l[i];
		if (l->alias) {
			snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s/aliases/%s", l->p->ent, l->p->proj,
				 l->p->name, l->alias);
			snprintf(body, sizeof(body), "{\"version\":\"v%" PRId64 "\"}", l->index);
			if (wbs__api_call(a, "PUT", path, body, strlen(body), "application/json", 200, &r, err, errlen))
				return -1;
			free(r.body);
		} else {
			cJSON *j = cJSON_CreateObject();
			int rc = !j || !cJSON_AddStringToObject(j, "artifact", l->p->name) ||
					 !cJSON_AddNumberToObject(j, "version", (double)l->index) ||
					 (l->at > 0 && !cJSON_AddNumberToObject(j, "time", l->at))
				 ? -1
				 : send_record(a, l->run, WB__REC_ARTIFACT_USE, j, err, errlen);
			cJSON_Delete(j);
			if (rc)
				return -1;
		}
	}
	for (size_t i = 0; i < nruns; i++) {
		if (!runs[i].crashed)
			continue;
		char fin[96];
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s/finish", runs[i].ent, runs[i].proj, runs[i].id);
		/* with its last sign of life, so its duration (to the last heartbeat) is the source's */
		if (runs[i].seen[0])
			snprintf(fin, sizeof(fin), "{\"crashed\":true,\"heartbeat_at\":%s}", runs[i].seen);
		else
			snprintf(fin, sizeof(fin), "{\"crashed\":true}");
		if (wbs__api_call(a, "POST", path, fin, strlen(fin), "application/json", 200, &r, err, errlen))
			return -1;
		free(r.body);
	}
	return 0;
}

/* ---- blobs: the second pass ---- */

/* Read up to cap bytes of the current entry (less only at its end). */
static la_ssize_t read_full(struct archive *ar, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		la_ssize_t n = archive_read_data(ar, buf + got, cap - got);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (la_ssize_t)got;
}

/* Upload one blob from the current entry, from where the target has it (a resumed upload); pg counts its bytes. */
static int upload_blob(const wbs__api *a, struct archive *ar, const bytes_ent *b, uint8_t *buf, wbs__progress *pg,
		       char *err, size_t errlen)
{
	char path[600], hdr[100], csha[65];
	uint64_t off = 0, have = 0;
	wbs__api_resp r;
	cJSON *j = NULL;
	int present;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/blobs/%s", b->ent, b->proj, b->sha);
	if (wbs__api_call(a, "GET", path, NULL, 0, NULL, 200, &r, err, errlen))
		return -1;
	j = cJSON_ParseWithLength(r.body, r.len);
	free(r.body);
	if (!j) {
		snprintf(err, errlen, "GET %s: the answer is not json", path);
		return -1;
	}
	present = cJSON_IsTrue(cJSON_GetObjectItem(j, "present"));
	have = (uint64_t)json_count(cJSON_GetObjectItem(j, "received"));
	cJSON_Delete(j);
	if (present) {
		wbs__progress_add(pg, b->size);
		return 0; /* the target has it (deduplicated) */
	}
	if (have > b->size) {
		snprintf(err, errlen, "GET %s: %" PRIu64 " bytes received of a blob of %" PRIu64, path, have, b->size);
		return -1;
	}
	do {
		la_ssize_t n = read_full(ar, buf, have - off < BLOB_CHUNK && have > off ? have - off : BLOB_CHUNK);
		char q[700];
		if (n < 0 || (n == 0 && off < b->size)) {
			snprintf(err, errlen, "cannot read blobs/%s: %s", b->sha, n < 0 ? archive_error_string(ar) : "short");
			return -1;
		}
		if (off < have) { /* bytes an interrupted upload already delivered */
			off += (uint64_t)n;
			wbs__progress_add(pg, (uint64_t)n);
			continue;
		}
		wbs__sha256_hex(buf, (size_t)n, csha);
		snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
		snprintf(q, sizeof(q), "%s?offset=%" PRIu64 "&size=%" PRIu64, path, off, b->size);
		{
			wbs__api_req rq = {"PUT", q, n ? (const void *)buf : (const void *)"", (size_t)n,
					   "application/octet-stream", hdr, NULL, NULL};
			if (wbs__api_request(a, &rq, &r, err, errlen))
				return -1;
		}
		if (r.status != 200) {
			snprintf(err, errlen, "PUT %s: http %ld: %.300s", q, r.status, r.body ? r.body : "");
			free(r.body);
			return -1;
		}
		free(r.body);
		off += (uint64_t)n;
		wbs__progress_add(pg, (uint64_t)n);
	} while (off < b->size);
	return 0;
}

/* The second pass over the archive: each blob an artifact names, streamed to the target. */
static int upload_blobs(const wbs__api *a, const char *in, const files *f, char *err, size_t errlen)
{
	struct archive *ar = NULL;
	struct archive_entry *ae;
	uint8_t *buf = NULL;
	uint64_t total = 0;
	int rc = -1, r, need = 0;

	for (size_t i = 0; i < f->nb; i++)
		if (f->b[i].blob && f->b[i].ent) {
			need = 1;
			total = f->b[i].size > UINT64_MAX - total ? UINT64_MAX : total + f->b[i].size;
		}
	if (!need)
		return 0;
	wbs__progress_begin(f->pg, "blobs", WBS__PG_BYTES, total);
	if (!(buf = malloc(BLOB_CHUNK))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (!(ar = open_archive(in, err, errlen)))
		goto done;
	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		const bytes_ent *b;
		if (!name || strncmp(name, "blobs/", 6) != 0 || !(b = find_bytes(f, name + 6, 1)) || !b->ent)
			continue;
		if (upload_blob(a, ar, b, buf, f->pg, err, errlen))
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", in, archive_error_string(ar));
		goto done;
	}
	rc = 0;
done:
	free(buf);
	if (ar)
		archive_read_free(ar);
	return rc;
}

/* ---- the command ---- */

/* 0 if GET path is 404 on the target; else -1 with why (what exists). */
static int absent(const wbs__api *a, const char *path, const char *what, char *err, size_t errlen)
{
	wbs__api_resp r;

	if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
		return -1;
	free(r.body);
	if (r.status == 404)
		return 0;
	snprintf(err, errlen, "%s %s on the target: nothing was imported", what,
		 r.status == 200 ? "exists already" : "cannot be checked");
	return -1;
}

/* A project of the manifest, and whether this import makes it (only then are its times and visibility
 * restored: a project the target has already is the target's own). */
typedef struct proj_st {
	const char *ent, *name, *vis;
	double created, updated;
	int restore;
} proj_st;

/* Check the manifest's project entry it, into ps, and ask the target whether it has the project. 0, or -1
 * with err. */
static int plan_project(const wbs__api *a, const cJSON *it, proj_st *ps, char *err, size_t errlen)
{
	const cJSON *c = cJSON_GetObjectItem(it, "created_at"), *u = cJSON_GetObjectItem(it, "updated_at");
	char path[600];
	wbs__api_resp r;

	ps->ent = WBS__JSTR(it, "entity");
	ps->name = WBS__JSTR(it, "name");
	ps->vis = WBS__JSTR(it, "visibility");
	if (!wb__name_valid(ps->ent) || !wb__name_valid(ps->name)) {
		snprintf(err, errlen, "manifest.json names a project with an invalid name");
		return -1;
	}
	if (!cJSON_IsNumber(c) || !cJSON_IsNumber(u) || !isfinite(c->valuedouble) || !isfinite(u->valuedouble) ||
	    c->valuedouble < 0 || c->valuedouble > u->valuedouble ||
	    (ps->vis && strcmp(ps->vis, "private") != 0 && strcmp(ps->vis, "public") != 0)) {
		snprintf(err, errlen, "manifest.json: project %s/%s has invalid times or visibility", ps->ent, ps->name);
		return -1;
	}
	ps->created = c->valuedouble;
	ps->updated = u->valuedouble;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s", ps->ent, ps->name);
	if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
		return -1;
	free(r.body);
	ps->restore = r.status == 404;
	return 0;
}

/* Give the projects this import made their times and visibility from the archive, last: every run and
 * version sent before touched updated_at. Setting them needs admin of the project; an importer with
 * less (an editor of a team) is told, and the project keeps the target's times. 0, or -1 with err. */
static int restore_projects(const wbs__api *a, const proj_st *ps, size_t n, char *err, size_t errlen)
{
	char path[600], body[256];
	wbs__api_resp r;

	for (size_t i = 0; i < n; i++) {
		if (!ps[i].restore)
			continue;
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s", ps[i].ent, ps[i].name);
		snprintf(body, sizeof(body), "{%s%s%s\"created_at\":%.17g,\"updated_at\":%.17g}",
			 ps[i].vis ? "\"visibility\":\"" : "", ps[i].vis ? ps[i].vis : "", ps[i].vis ? "\"," : "",
			 ps[i].created, ps[i].updated);
		if (wbs__api_do(a, "PUT", path, body, strlen(body), "application/json", &r, err, errlen))
			return -1;
		free(r.body);
		if (r.status == 403) {
			fprintf(stderr, "wb import: project %s/%s keeps this server's times and visibility: setting them "
					"needs admin of the project\n", ps[i].ent, ps[i].name);
		} else if (r.status != 200) {
			snprintf(err, errlen, "PUT %s: http %ld: the project's times were not restored", path, r.status);
			return -1;
		}
	}
	return 0;
}

int wbs__cmd_import(int argc, char **argv)
{
	const char *in = NULL, *base = NULL, *key = NULL;
	char err[1024] = "", path[600], what[300];
	files f;
	plan p;
	cJSON *man = NULL;
	run_st *runs = NULL;
	proj_st *projs = NULL;
	size_t nprojs = 0;
	const entry *e;
	const cJSON *it;
	wbs__api a;
	size_t nruns = 0;
	int rc = 1, quiet = 0;
	wbs__progress pg;

	memset(&f, 0, sizeof(f));
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(import_usage, stdout);
			return 0;
		}
		if ((!strcmp(s, "--base-url") || !strcmp(s, "--api-key")) && i + 1 < argc) {
			if (s[2] == 'b')
				base = argv[++i];
			else
				key = argv[++i];
		} else if (wbs__progress_quiet_arg(s)) {
			quiet = 1;
		} else if (s[0] == '-' || in) {
			fprintf(stderr, "wb import: unexpected argument %s\n%s", s, import_usage);
			return 2;
		} else
			in = s;
	}
	if (!in) {
		fprintf(stderr, "wb import: no archive given\n%s", import_usage);
		return 2;
	}
	wbs__progress_init(&pg, "wb import", quiet);
	f.pg = &pg;
	wbs__api_global_init();
	if (wbs__api_init(&a, base, key, err, sizeof(err)) || read_archive(in, &f, err, sizeof(err)))
		goto done;
	wbs__progress_end(&pg);
	if (!(e = find(&f, "manifest.json")) || !(man = cJSON_ParseWithLength(e->data, e->len)) || !WBS__JSTR(man, "format") ||
	    strcmp(WBS__JSTR(man, "format"), WBS__XFER_FORMAT) != 0) {
		snprintf(err, sizeof(err), "%s is not a wb export archive (no manifest.json)", in);
		goto done;
	}
	f.version = (int)json_count(cJSON_GetObjectItem(man, "version"));
	if (f.version < 1 || f.version > WBS__XFER_VERSION) {
		snprintf(err, sizeof(err), "%s is of format version %d; this wb reads versions 1 to %d", in, f.version,
			 WBS__XFER_VERSION);
		goto done;
	}

	/* Check everything before anything is written. */
	if (!(runs = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "runs")) + 1, sizeof(*runs))) ||
	    !(p.a = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "artifacts")) + 1, sizeof(*p.a))))
		goto done;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "runs"))
	{
		run_st *rs = &runs[nruns];
		rs->ent = WBS__JSTR(it, "entity");
		rs->proj = WBS__JSTR(it, "project");
		rs->id = WBS__JSTR(it, "id");
		if (!wb__name_valid(rs->ent) || !wb__name_valid(rs->proj) || !wb__name_valid(rs->id)) {
			snprintf(err, sizeof(err), "manifest.json names a run with an invalid name");
			goto done;
		}
		if (run_find(runs, nruns, rs->ent, rs->proj, rs->id)) {
			snprintf(err, sizeof(err), "manifest.json names run %s/%s/%s twice", rs->ent, rs->proj, rs->id);
			goto done;
		}
		nruns++;
		if (import_run(&a, &f, rs, 1, err, sizeof(err)))
			goto done;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "artifacts"))
	{
		const char *ent = WBS__JSTR(it, "entity"), *proj = WBS__JSTR(it, "project"), *name = WBS__JSTR(it, "name");
		if (!wb__name_valid(ent) || !wb__name_valid(proj) || !wb__name_valid(name) || !strcmp(name, "blobs")) {
			snprintf(err, sizeof(err), "manifest.json names an artifact with an invalid name");
			goto done;
		}
		for (size_t i = 0; i < p.na; i++)
			if (!strcmp(p.a[i].ent, ent) && !strcmp(p.a[i].proj, proj) && !strcmp(p.a[i].name, name)) {
				snprintf(err, sizeof(err), "manifest.json names artifact %s/%s/%s twice", ent, proj, name);
				goto done;
			}
		if (plan_artifact(&f, &p, runs, nruns, ent, proj, name, err, sizeof(err)))
			goto done;
	}
	/* projects: an archive of an older wb has none */
	if (!(projs = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "projects")) + 1, sizeof(*projs))))
		goto done;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "projects"))
	{
		for (size_t i = 0; i < nprojs; i++)
			if (!strcmp(projs[i].ent, WBS__JSTR(it, "entity") ? WBS__JSTR(it, "entity") : "") &&
			    !strcmp(projs[i].name, WBS__JSTR(it, "name") ? WBS__JSTR(it, "name") : "")) {
				snprintf(err, sizeof(err), "manifest.json names project %s/%s twice", projs[i].ent,
					 projs[i].name);
				goto done;
			}
		if (plan_project(&a, it, &projs[nprojs], err, sizeof(err)))
			goto done;
		nprojs++;
	}
	for (size_t i = 0; i < nruns; i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s", runs[i].ent, runs[i].proj, runs[i].id);
		snprintf(what, sizeof(what), "run %s/%s/%s", runs[i].ent, runs[i].proj, runs[i].id);
		if (absent(&a, path, what, err, sizeof(err)))
			goto done;
	}
	for (size_t i = 0; i < p.na; i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s", p.a[i].ent, p.a[i].proj, p.a[i].name);
		snprintf(what, sizeof(what), "artifact %s/%s/%s", p.a[i].ent, p.a[i].proj, p.a[i].name);
		if (absent(&a, path, what, err, sizeof(err)))
			goto done;
	}

	/* Write: the runs, the blobs, the versions, then aliases, uses and crashed states. */
	if (nruns)
		wbs__progress_begin(&pg, "runs", WBS__PG_COUNT, nruns);
	for (size_t i = 0; i < nruns; i++) {
		wbs__progress_note(&pg, "%s/%s/%s", runs[i].ent, runs[i].proj, runs[i].id);
		if (import_run(&a, &f, &runs[i], 0, err, sizeof(err)))
			goto done;
		wbs__progress_add(&pg, 1);
	}
	wbs__progress_note(&pg, "%s", "");
	if (upload_blobs(&a, in, &f, err, sizeof(err)) || commit_all(&a, &p, err, sizeof(err)) ||
	    links_all(&a, &p, runs, nruns, err, sizeof(err)) || restore_projects(&a, projs, nprojs, err, sizeof(err)))
		goto done;
	wbs__progress_end(&pg);
	printf("%s: %zu runs and %zu artifacts imported\n", in, nruns, p.na);
	rc = 0;
done:
	wbs__progress_end(&pg);
	if (rc)
		fprintf(stderr, "wb import: %s\n", err[0] ? err : "out of memory");
	cJSON_Delete(man);
	plan_free(&p);
	free(runs);
	free(projs);
	files_free(&f);
	wbs__api_global_cleanup();
	return rc;
}

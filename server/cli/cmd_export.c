/*
 * cmd_export.c — `wb export [--run E/P/R | --project E/P | --all] ARCHIVE`:
 * everything the API knows about runs and artifacts, into a portable
 * .tar.gz (layout in xfer.h) that `wb import` loads into another server.
 *
 * It reads through the public HTTP API with an API key, like any client,
 * so it works against a live on-prem server without touching its data
 * directory, and what it writes is what the API shows. Metrics come from
 * the full-resolution export route with bits=1, so the CSV carries the
 * exact IEEE-754 pattern next to a readable %.17g value. Rich data comes
 * from the media routes, every value (a key with more values than one page
 * holds is fetched in halves of its step range). Artifacts are written as
 * the artifact and each of its versions answer, oldest first. The manifest
 * lists the projects as the project list shows them (times, visibility).
 *
 * The bytes of images and artifact files come last, once per SHA-256:
 * each entry's tar header takes the size the API listed, and the download
 * streams straight into the entry while it is hashed, so a blob of
 * gigabytes never sits in memory, and a download that is short, long or
 * not what its hash says fails the export (the half archive is removed).
 *
 * The archive is written with libarchive (pax tar + gzip): tar headers,
 * long names and the gzip trailer are libarchive's job, not ours. ARCHIVE
 * "-" is stdout (the result line then goes to stderr), which is why the
 * progress (progress.h: runs and artifacts counted, then the bytes of the
 * files) is on stderr.
 */
#include "cmd.h"
#include "xfer.h"

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/sha256.h"
#include "json_exact.h"
#include "progress.h"
#include "wire.h"

static const char export_usage[] =
	"usage: wb export [--run ENTITY/PROJECT/RUN | --project ENTITY/PROJECT | --all] ARCHIVE\n"
	"                 [--base-url URL] [--api-key KEY] [-q|--quiet]\n"
	"  ARCHIVE - writes the archive to stdout.\n";

/* ---- archive writing ---- */

/* What the bytes of an image or a blob are written from, after the JSON. */
typedef struct xsrc {
	char sha[65];
	uint64_t size;
	int blob;   /* 0 an image (images/), 1 an artifact file (blobs/) */
	char *path; /* the API path that serves the bytes */
} xsrc;

typedef struct xctx {
	const wbs__api *a;
	struct archive *ar;
	xsrc *src;
	size_t nsrc, capsrc;
	char *err;
	size_t errlen;
	wbs__progress *pg;
} xctx;

static int put_header(struct archive *ar, const char *name, uint64_t len, char *err, size_t errlen)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, time(NULL), 0);
	ok = archive_write_header(ar, e) == ARCHIVE_OK;
	archive_entry_free(e);
	if (!ok)
		snprintf(err, errlen, "cannot write %s: %s", name, archive_error_string(ar));
	return ok ? 0 : -1;
}

static int put_file(struct archive *ar, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	if (put_header(ar, name, len, err, errlen))
		return -1;
	if (len && archive_write_data(ar, data, len) != (la_ssize_t)len) {
		snprintf(err, errlen, "cannot write %s: %s", name, archive_error_string(ar));
		return -1;
	}
	return 0;
}

/* A cJSON value as a file of the archive, every number exact (cJSON's own printer may drop the last bit). */
static int put_json(struct archive *ar, const char *name, const cJSON *j, char *err, size_t errlen)
{
	wbs__buf b;
	int rc;

	wbs__buf_init(&b, (size_t)2 << 30);
	wbs__json_tree(&b, j);
	if (b.err) {
		snprintf(err, errlen, "%s is too large", name);
		wbs__buf_free(&b);
		return -1;
	}
	rc = put_file(ar, name, b.p, b.len, err, errlen);
	wbs__buf_free(&b);
	return rc;
}

/* GET path as JSON; NULL with err unless 200. */
static cJSON *get_json(const wbs__api *a, const char *path, char *err, size_t errlen)
{
	wbs__api_resp r;
	cJSON *j = NULL;

	if (wbs__api_call(a, "GET", path, NULL, 0, NULL, 200, &r, err, errlen))
		return NULL;
	/* exact: config, summary and metadata numbers reach the archive as the server wrote them */
	if (!(j = wb__json_parse_exact(r.body, r.len)))
		snprintf(err, errlen, "GET %.600s: the answer is not json", path);
	free(r.body);
	return j;
}

/* Remember where the bytes of sha come from (written once per content at the end). */
static int add_src(xctx *x, const char *sha, uint64_t size, int blob, const char *path)
{
	xsrc *s;

	if (!sha || !wbs__sha256_hex_valid(sha)) {
		snprintf(x->err, x->errlen, "the server named a file by %.80s, not a sha-256", sha ? sha : "(nothing)");
		return -1;
	}
	if (x->nsrc == x->capsrc) {
		size_t nc = x->capsrc ? x->capsrc * 2 : 64;
		xsrc *p = realloc(x->src, nc * sizeof(*p));
		if (!p)
			goto oom;
		x->src = p;
		x->capsrc = nc;
	}
	s = &x->src[x->nsrc];
	memcpy(s->sha, sha, 65);
	s->size = size;
	s->blob = blob;
	if (!(s->path = strdup(path)))
		goto oom;
	x->nsrc++;
	return 0;
oom:
	snprintf(x->err, x->errlen, "out of memory");
	return -1;
}

/* A JSON number that is a byte count, or -1. */
static int64_t json_size(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0)
		return -1;
	return (int64_t)v->valuedouble;
}

/*
 * The CSV of one series from the answer of .../export?format=json&bits=1,
 * read by hand rather than through cJSON: steps are int64 (a double would
 * round them past 2^53), bits are the exact IEEE-754 patterns (NaN sign and
 * payload included), and a cJSON tree of a 10M-point series would take
 * gigabytes. Returns the number of points, or -1 if the answer is not
 * shaped as expected.
 */
static long series_csv(const char *body, wbs__buf *csv)
{
	const char *sp = strstr(body, "\"step\":["), *bp = strstr(body, "\"bits\":[");
	long n = 0;

	if (!sp || !bp)
		return -1;
	sp += 8;
	bp += 8;
	wbs__buf_puts(csv, "step,value,bits\n");
	while (*sp != ']') {
		const char *end;
		long long step;
		uint64_t u;
		double v;
		if (!(end = wbs__scan_i64(sp, &step)) || (*end != ',' && *end != ']') || *bp != '"')
			return -1;
		sp = *end == ',' ? end + 1 : end;
		if (!(end = wbs__scan_hex64(bp + 1, &u)) || *end != '"' || (end[1] != ',' && end[1] != ']'))
			return -1;
		bp = end[1] == ',' ? end + 2 : end + 1;
		memcpy(&v, &u, sizeof(v));
		wbs__buf_printf(csv, "%lld,", step);
		if (isnan(v))
			wbs__buf_puts(csv, "NaN");
		else if (isinf(v))
			wbs__buf_puts(csv, v > 0 ? "Infinity" : "-Infinity");
		else
			wbs__buf_printf(csv, "%.17g", v);
		wbs__buf_printf(csv, ",%016" PRIx64 "\n", u);
		n++;
	}
	return *bp == ']' ? n : -1;
}

/*
 * Every value of one media key with steps in [lo, hi] appended to out, in
 * step order. The route gives at most 10,000 values at full resolution and
 * an evenly spaced sample past that, so a range with more is split in two
 * until each half fits (one value per step, so this ends).
 */
static int media_range(const xctx *x, const char *base, const char *kind, const char *qkey, int64_t lo, int64_t hi,
		       cJSON *out)
{
	char path[1600];
	cJSON *j, *vals, *v;
	int down;

	snprintf(path, sizeof(path), "%s/media/%s?key=%s&samples=10000&start=%" PRId64 "&end=%" PRId64, base, kind,
		 qkey, lo, hi);
	if (!(j = get_json(x->a, path, x->err, x->errlen)))
		return -1;
	down = cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled"));
	vals = cJSON_GetObjectItem(j, "values");
	if (!cJSON_IsArray(vals)) {
		snprintf(x->err, x->errlen, "GET %.600s: unexpected answer", path);
		cJSON_Delete(j);
		return -1;
	}
	if (down && lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		cJSON_Delete(j);
		return media_range(x, base, kind, qkey, lo, mid, out) || media_range(x, base, kind, qkey, mid + 1, hi, out)
			       ? -1
			       : 0;
	}
	while ((v = vals->child)) {
		cJSON_DetachItemViaPointer(vals, v);
		cJSON_AddItemToArray(out, v);
	}
	cJSON_Delete(j);
	return 0;
}

/* The run's rich data: media/index.json, one file per kind and key, and the images' sources. */
static int export_media(xctx *x, const char *base, const char *dir)
{
	char path[1200], name[1200], qk[800], file[32];
	cJSON *keys = NULL, *index = NULL, *vals = NULL;
	const cJSON *m, *v;
	int rc = -1, k = 0;

	snprintf(path, sizeof(path), "%s/media", base);
	if (!(keys = get_json(x->a, path, x->err, x->errlen)))
		goto done;
	if (!(index = cJSON_CreateArray()))
		goto oom;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(keys, "media"))
	{
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind"));
		const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(m, "key"));
		const cJSON *first = cJSON_GetObjectItem(m, "first_step"), *last = cJSON_GetObjectItem(m, "last_step");
		int64_t count = json_size(cJSON_GetObjectItem(m, "count"));
		cJSON *entry;

		if (!kind || !key || !cJSON_IsNumber(first) || !cJSON_IsNumber(last) || count < 0 ||
		    wbs__qenc(qk, sizeof(qk), key)) {
			snprintf(x->err, x->errlen, "GET %.600s: unexpected answer", path);
			goto done;
		}
		if (!(vals = cJSON_CreateArray()))
			goto oom;
		if (media_range(x, base, kind, qk, (int64_t)first->valuedouble, (int64_t)last->valuedouble, vals))
			goto done;
		if (cJSON_GetArraySize(vals) != count) {
			snprintf(x->err, x->errlen, "%s %s of %s changed while it was exported: try again", kind, key, base);
			goto done;
		}
		if (strcmp(kind, "image") == 0) {
			cJSON_ArrayForEach(v, vals)
			{
				const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(v, "sha256"));
				int64_t bytes = json_size(cJSON_GetObjectItem(v, "bytes"));
				snprintf(path, sizeof(path), "%s/images/%s", base, sha ? sha : "");
				if (bytes < 0) {
					snprintf(x->err, x->errlen, "an image of %s has no size", base);
					goto done;
				}
				if (add_src(x, sha, (uint64_t)bytes, 0, path))
					goto done;
			}
		}
		snprintf(file, sizeof(file), "%06d.json", k++);
		snprintf(name, sizeof(name), "%s/media/%s", dir, file);
		if (put_json(x->ar, name, vals, x->err, x->errlen))
			goto done;
		cJSON_Delete(vals);
		vals = NULL;
		if (!(entry = cJSON_CreateObject()) || !cJSON_AddItemToArray(index, entry) ||
		    !cJSON_AddStringToObject(entry, "kind", kind) || !cJSON_AddStringToObject(entry, "key", key) ||
		    !cJSON_AddStringToObject(entry, "file", file) || !cJSON_AddNumberToObject(entry, "count", (double)count))
			goto oom;
	}
	snprintf(name, sizeof(name), "%s/media/index.json", dir);
	rc = put_json(x->ar, name, index, x->err, x->errlen);
	goto done;
oom:
	snprintf(x->err, x->errlen, "out of memory");
done:
	cJSON_Delete(keys);
	cJSON_Delete(index);
	cJSON_Delete(vals);
	return rc;
}

/* One run into the archive. */
static int export_run(xctx *x, const char *ent, const char *proj, const char *id)
{
	const wbs__api *a = x->a;
	struct archive *ar = x->ar;
	char *err = x->err;
	size_t errlen = x->errlen;
	char base[512], dir[512], path[2400], name[1200];
	cJSON *run = NULL, *metrics = NULL, *index = NULL;
	const cJSON *m, *code, *pa;
	wbs__api_resp r;
	int rc = -1, k = 0;

	memset(&r, 0, sizeof(r));
	snprintf(base, sizeof(base), "/api/v1/projects/%s/%s/runs/%s", ent, proj, id);
	snprintf(dir, sizeof(dir), "runs/%s/%s/%s", ent, proj, id);
	if (!(run = get_json(a, base, err, errlen)))
		goto done;
	snprintf(name, sizeof(name), "%s/run.json", dir);
	if (put_json(ar, name, run, err, errlen))
		goto done;
	snprintf(path, sizeof(path), "%s/metrics", base);
	if (!(metrics = get_json(a, path, err, errlen)) || !(index = cJSON_CreateArray()))
		goto done;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(metrics, "metrics"))
	{
		const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(m, "key"));
		cJSON *entry;
		wbs__buf csv;
		char qk[800], file[32];
		long n;

		if (!key || wbs__qenc(qk, sizeof(qk), key))
			continue;
		snprintf(path, sizeof(path), "%s/export?key=%s&format=json&bits=1", base, qk);
		if (wbs__api_call(a, "GET", path, NULL, 0, NULL, 200, &r, err, errlen))
			goto done;
		wbs__buf_init(&csv, (size_t)2 << 30);
		n = series_csv(r.body, &csv);
		free(r.body);
		r.body = NULL;
		if (n < 0) {
			snprintf(err, errlen, "GET %.600s: unexpected answer", path);
			wbs__buf_free(&csv);
			goto done;
		}
		snprintf(file, sizeof(file), "%06d.csv", k++);
		snprintf(name, sizeof(name), "%s/metrics/%s", dir, file);
		if (csv.err || put_file(ar, name, csv.p, csv.len, err, errlen)) {
			if (csv.err)
				snprintf(err, errlen, "metric %s is too large", key);
			wbs__buf_free(&csv);
			goto done;
		}
		wbs__buf_free(&csv);
		wbs__progress_add(x->pg, 0); /* a big run takes a while: its line still comes every interval */
		if (!(entry = cJSON_CreateObject()) || !cJSON_AddItemToArray(index, entry) ||
		    !cJSON_AddStringToObject(entry, "key", key) || !cJSON_AddStringToObject(entry, "file", file) ||
		    !cJSON_AddNumberToObject(entry, "count", (double)n))
			goto oom;
	}
	snprintf(name, sizeof(name), "%s/metrics/index.json", dir);
	if (put_json(ar, name, index, err, errlen))
		goto done;
	/* Code capture: the JSON is in run.json (metadata.code); the patches are files. */
	code = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "code");
	cJSON_ArrayForEach(pa, cJSON_GetObjectItem(code, "patches"))
	{
		const char *pn = cJSON_GetStringValue(cJSON_GetObjectItem(pa, "name"));
		if (!pn || strchr(pn, '/'))
			continue;
		snprintf(path, sizeof(path), "%s/code/%s", base, pn);
		if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
			goto done;
		if (r.status == 200) {
			snprintf(name, sizeof(name), "%s/code/%s", dir, pn);
			if (put_file(ar, name, r.body, r.len, err, errlen))
				goto done;
		} else if (r.status != 404) {
			snprintf(err, errlen, "GET %.300s: http %ld", path, r.status);
			goto done;
		}
		free(r.body);
		r.body = NULL;
	}
	rc = export_media(x, base, dir);
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(r.body);
	cJSON_Delete(run);
	cJSON_Delete(metrics);
	cJSON_Delete(index);
	return rc;
}

/*
 * One artifact into the archive: the artifact as the API shows it and
 * every version in full, oldest first; the files' bytes are written later,
 * once per content (references have none).
 */
static int export_artifact(xctx *x, const char *ent, const char *proj, const char *art)
{
	char base[512], path[4400], name[600], enc[3 * 1024 + 8];
	cJSON *doc = NULL, *info = NULL, *vers = NULL, *ver;
	const cJSON *f;
	int rc = -1;

	snprintf(base, sizeof(base), "/api/v1/projects/%s/%s/artifacts/%s", ent, proj, art);
	if (!(info = get_json(x->a, base, x->err, x->errlen)))
		goto done;
	if (!(doc = cJSON_CreateObject()) || !(vers = cJSON_CreateArray()))
		goto oom;
	/* the artifact lists its versions newest first */
	for (int i = cJSON_GetArraySize(cJSON_GetObjectItem(info, "versions")) - 1; i >= 0; i--) {
		const char *v = WBS__JSTR(cJSON_GetArrayItem(cJSON_GetObjectItem(info, "versions"), i), "version");
		if (!v || !wb__name_valid(v)) {
			snprintf(x->err, x->errlen, "GET %.400s: a version without a name", base);
			goto done;
		}
		snprintf(path, sizeof(path), "%s/%s", base, v);
		if (!(ver = get_json(x->a, path, x->err, x->errlen)))
			goto done;
		cJSON_AddItemToArray(vers, ver);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(ver, "files"))
		{
			const char *fp = cJSON_GetStringValue(cJSON_GetObjectItem(f, "path"));
			int64_t size = json_size(cJSON_GetObjectItem(f, "size"));
			if (cJSON_IsString(cJSON_GetObjectItem(f, "ref")))
				continue; /* a reference: recorded, never stored */
			if (!fp || size < 0 || wbs__qenc(enc, sizeof(enc), fp)) {
				snprintf(x->err, x->errlen, "GET %.400s: a file without a path or size", path);
				goto done;
			}
			snprintf(path, sizeof(path), "%s/%s/file?path=%s", base, v, enc);
			if (add_src(x, cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256")), (uint64_t)size, 1, path))
				goto done;
		}
	}
	cJSON_AddItemToObject(doc, "artifact", info);
	info = NULL;
	cJSON_AddItemToObject(doc, "versions", vers);
	vers = NULL;
	snprintf(name, sizeof(name), "artifacts/%s/%s/%s.json", ent, proj, art);
	rc = put_json(x->ar, name, doc, x->err, x->errlen);
	goto done;
oom:
	snprintf(x->err, x->errlen, "out of memory");
done:
	cJSON_Delete(doc);
	cJSON_Delete(info);
	cJSON_Delete(vers);
	return rc;
}

/* Streams a download into the archive entry, hashing it; refuses more bytes than the header said. */
struct bytes_sink {
	struct archive *ar;
	wbs__sha256 *h;
	uint64_t got, size;
	const char *name;
	char *err;
	size_t errlen;
	wbs__progress *pg;
};

static int bytes_put(const void *p, size_t n, void *arg)
{
	struct bytes_sink *s = arg;

	if (n > s->size - s->got) {
		snprintf(s->err, s->errlen, "%s: the server sent more than the %" PRIu64 " bytes it listed", s->name,
			 s->size);
		return -1;
	}
	if (archive_write_data(s->ar, p, n) != (la_ssize_t)n) {
		snprintf(s->err, s->errlen, "cannot write %s: %s", s->name, archive_error_string(s->ar));
		return -1;
	}
	wbs__sha256_update(s->h, p, n);
	s->got += n;
	wbs__progress_add(s->pg, n);
	return 0;
}

static int cmp_src(const void *pa, const void *pb)
{
	const xsrc *a = pa, *b = pb;
	return a->blob != b->blob ? a->blob - b->blob : strcmp(a->sha, b->sha);
}

/*
 * The images and blobs, each content once, after every JSON entry: the
 * header takes the size the API listed, then the download streams into
 * the entry (a blob of gigabytes never sits in memory) while it is hashed;
 * a short, long or different download fails the export.
 */
static int export_bytes(xctx *x)
{
	char name[100], sha[65];
	wbs__api_resp r;
	struct bytes_sink s;
	uint64_t total = 0;

	if (x->nsrc)
		qsort(x->src, x->nsrc, sizeof(*x->src), cmp_src);
	for (size_t i = 0; i < x->nsrc; i++)
		if (!i || cmp_src(&x->src[i], &x->src[i - 1]) != 0)
			total = x->src[i].size > UINT64_MAX - total ? UINT64_MAX : total + x->src[i].size;
	wbs__progress_begin(x->pg, "files", WBS__PG_BYTES, total);
	for (size_t i = 0; i < x->nsrc; i++) {
		const xsrc *e = &x->src[i];
		wbs__api_req rq = {"GET", e->path, NULL, 0, NULL, NULL, bytes_put, &s, 0};
		int rc;

		if (i && cmp_src(e, &x->src[i - 1]) == 0)
			continue;
		snprintf(name, sizeof(name), "%s/%s", e->blob ? "blobs" : "images", e->sha);
		if (put_header(x->ar, name, e->size, x->err, x->errlen))
			return -1;
		memset(&s, 0, sizeof(s));
		s.ar = x->ar;
		s.size = e->size;
		s.name = name;
		s.err = x->err;
		s.errlen = x->errlen;
		s.pg = x->pg;
		wbs__progress_note(x->pg, "%s", name);
		if (!(s.h = wbs__sha256_begin())) {
			snprintf(x->err, x->errlen, "out of memory");
			return -1;
		}
		rc = wbs__api_request(x->a, &rq, &r, x->err, x->errlen);
		wbs__sha256_end(s.h, sha);
		if (!rc && r.status != 200)
			snprintf(x->err, x->errlen, "GET %.600s: http %ld: %.200s", e->path, r.status, r.body ? r.body : "");
		else if (!rc && s.got != e->size)
			snprintf(x->err, x->errlen, "GET %.600s: %" PRIu64 " bytes, not the %" PRIu64 " listed", e->path,
				 s.got, e->size);
		else if (!rc && strcmp(sha, e->sha) != 0)
			snprintf(x->err, x->errlen, "GET %.600s: the bytes do not hash to %s", e->path, e->sha);
		free(r.body);
		if (rc || r.status != 200 || s.got != e->size || strcmp(sha, e->sha) != 0)
			return -1;
	}
	return 0;
}

/* Append {"entity","project",member:value} to list unless it is there. */
static int list_add(cJSON *list, const char *ent, const char *proj, const char *member, const char *value)
{
	const cJSON *it;
	cJSON *e;

	if (!ent || !proj || !value)
		return -1;
	cJSON_ArrayForEach(it, list)
	{
		if (!strcmp(cJSON_GetObjectItem(it, "entity")->valuestring, ent) &&
		    !strcmp(cJSON_GetObjectItem(it, "project")->valuestring, proj) &&
		    !strcmp(cJSON_GetObjectItem(it, member)->valuestring, value))
			return 0;
	}
	if (!(e = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, e) || !cJSON_AddStringToObject(e, "entity", ent) ||
	    !cJSON_AddStringToObject(e, "project", proj) || !cJSON_AddStringToObject(e, member, value))
		return -1;
	return 0;
}

/* Append the runs of project E/P to runs and its artifacts to arts. */
static int list_project(const wbs__api *a, const char *ent, const char *proj, cJSON *runs, cJSON *arts, char *err,
			size_t errlen)
{
	char path[512];
	cJSON *page;
	const cJSON *r;

	for (int offset = 0;; offset += 1000) {
		int n;

		/* oldest first: the import makes them in this order, so ties in any sort break alike on both servers */
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs?sort=created_at&limit=1000&offset=%d", ent, proj,
			 offset);
		if (!(page = get_json(a, path, err, errlen)))
			return -1;
		n = cJSON_GetArraySize(cJSON_GetObjectItem(page, "runs"));
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(page, "runs"))
		{
			cJSON *e = cJSON_CreateObject();
			if (!e || !cJSON_AddItemToArray(runs, e) || !cJSON_AddStringToObject(e, "entity", ent) ||
			    !cJSON_AddStringToObject(e, "project", proj) ||
			    !cJSON_AddStringToObject(e, "id", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")))) {
				cJSON_Delete(page);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		cJSON_Delete(page);
		if (n < 1000)
			break;
	}
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts", ent, proj);
	if (!(page = get_json(a, path, err, errlen)))
		return -1;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(page, "artifacts"))
	{
		if (list_add(arts, ent, proj, "name", cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")))) {
			cJSON_Delete(page);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	cJSON_Delete(page);
	return 0;
}

/* The artifacts one run produced or used, whole (every version, so their numbers stay). */
static int list_run_artifacts(const wbs__api *a, const char *ent, const char *proj, const char *id, cJSON *arts,
			      char *err, size_t errlen)
{
	static const char *const sides[] = {"produced", "used"};
	char path[512];
	cJSON *j;
	const cJSON *it;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s/artifacts", ent, proj, id);
	if (!(j = get_json(a, path, err, errlen)))
		return -1;
	for (size_t i = 0; i < 2; i++)
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, sides[i]))
		{
			if (list_add(arts, ent, proj, "name", cJSON_GetStringValue(cJSON_GetObjectItem(it, "artifact")))) {
				cJSON_Delete(j);
				snprintf(err, errlen, "GET %s: unexpected answer", path);
				return -1;
			}
		}
	cJSON_Delete(j);
	return 0;
}

/* 1 if list (of {"entity","project",...}) names project ent/proj. */
static int names_project(const cJSON *list, const char *ent, const char *proj)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, list)
	{
		const char *e = WBS__JSTR(it, "entity"), *p = WBS__JSTR(it, "project");
		if (e && p && !strcmp(e, ent) && !strcmp(p, proj))
			return 1;
	}
	return 0;
}

/*
 * The projects of the export into out, each as the project list answers
 * it ({"entity","name","created_at","updated_at","visibility"}): every
 * readable project for --all, else those of the runs and artifacts, and
 * the one --project names (only, an E/P, may hold none). Import restores
 * them for the projects it creates.
 */
static int list_projects(const wbs__api *a, int all, const char *only, const cJSON *runs, const cJSON *arts,
			 cJSON *out, char *err, size_t errlen)
{
	static const char *const keep[] = {"entity", "name", "created_at", "updated_at", "visibility"};
	char oe[65] = "", op[65] = "";
	cJSON *ps = get_json(a, "/api/v1/projects", err, errlen);
	const cJSON *p;
	int rc = -1;

	if (!ps)
		return -1;
	if (only)
		sscanf(only, "%64[^/]/%64s", oe, op);
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(ps, "projects"))
	{
		const char *e = WBS__JSTR(p, "entity"), *n = WBS__JSTR(p, "name");
		cJSON *o;

		if (!e || !n)
			continue;
		if (!all && !(!strcmp(e, oe) && !strcmp(n, op)) && !names_project(runs, e, n) && !names_project(arts, e, n))
			continue;
		if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(out, o)) {
			cJSON_Delete(o);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			const cJSON *v = cJSON_GetObjectItem(p, keep[i]);
			if (v && !cJSON_AddItemToObject(o, keep[i], cJSON_Duplicate(v, 1))) {
				snprintf(err, errlen, "out of memory");
				goto done;
			}
		}
	}
	rc = 0;
done:
	cJSON_Delete(ps);
	return rc;
}

int wbs__cmd_export(int argc, char **argv)
{
	const char *run = NULL, *project = NULL, *out = NULL, *base = NULL, *key = NULL;
	int all = 0, rc = 1, opened = 0, quiet = 0, to_stdout;
	wbs__progress pg;
	char err[1024] = "", parts[3][65];
	struct archive *ar = NULL;
	cJSON *list = NULL, *arts = NULL, *projects = NULL, *manifest = NULL;
	wbs__api a;
	xctx x;
	const cJSON *it;
	size_t nruns = 0, narts = 0;

	memset(&x, 0, sizeof(x));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(export_usage, stdout);
			return 0;
		}
		if (!strcmp(s, "--all"))
			all = 1;
		else if (wbs__progress_quiet_arg(s))
			quiet = 1;
		else if ((!strcmp(s, "--run") || !strcmp(s, "--project") || !strcmp(s, "--base-url") ||
			  !strcmp(s, "--api-key")) && i + 1 < argc) {
			const char *v = argv[++i];
			if (s[2] == 'r')
				run = v;
			else if (s[2] == 'p')
				project = v;
			else if (s[2] == 'b')
				base = v;
			else
				key = v;
		} else if ((s[0] == '-' && strcmp(s, "-") != 0) || out) {
			fprintf(stderr, "wb export: unexpected argument %s\n%s", s, export_usage);
			return 2;
		} else
			out = s;
	}
	if (!out || (!!run + !!project + all) != 1) {
		fprintf(stderr, "wb export: give one of --run, --project, --all, and the archive\n%s", export_usage);
		return 2;
	}
	to_stdout = strcmp(out, "-") == 0;
	wbs__progress_init(&pg, "wb export", quiet);
	x.pg = &pg;
	wbs__api_global_init();
	if (wbs__api_init(&a, base, key, err, sizeof(err)))
		goto done;
	if (!(list = cJSON_CreateArray()) || !(arts = cJSON_CreateArray()))
		goto done;
	if (run) {
		if (wbs__ref_split(run, parts, 3)) {
			snprintf(err, sizeof(err), "--run takes ENTITY/PROJECT/RUN");
			goto done;
		}
		if (list_add(list, parts[0], parts[1], "id", parts[2]) ||
		    list_run_artifacts(&a, parts[0], parts[1], parts[2], arts, err, sizeof(err)))
			goto done;
	} else if (project) {
		if (wbs__ref_split(project, parts, 2)) {
			snprintf(err, sizeof(err), "--project takes ENTITY/PROJECT");
			goto done;
		}
		if (list_project(&a, parts[0], parts[1], list, arts, err, sizeof(err)))
			goto done;
	} else {
		cJSON *ps = get_json(&a, "/api/v1/projects", err, sizeof(err));
		const cJSON *p;
		if (!ps)
			goto done;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(ps, "projects"))
		{
			if (list_project(&a, WBS__JSTR(p, "entity"), WBS__JSTR(p, "name"), list, arts, err, sizeof(err))) {
				cJSON_Delete(ps);
				goto done;
			}
		}
		cJSON_Delete(ps);
	}
	if (!(projects = cJSON_CreateArray()) || list_projects(&a, all, project, list, arts, projects, err, sizeof(err)))
		goto done;
	ar = archive_write_new();
	if (!ar || archive_write_add_filter_gzip(ar) != ARCHIVE_OK || archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
	    (to_stdout ? archive_write_open_fd(ar, STDOUT_FILENO) : archive_write_open_filename(ar, out)) != ARCHIVE_OK) {
		snprintf(err, sizeof(err), "cannot create %s: %s", to_stdout ? "stdout" : out,
			 ar ? archive_error_string(ar) : "out of memory");
		goto done;
	}
	opened = !to_stdout;
	x.a = &a;
	x.ar = ar;
	x.err = err;
	x.errlen = sizeof(err);
	if (!(manifest = cJSON_CreateObject()) || !cJSON_AddStringToObject(manifest, "format", WBS__XFER_FORMAT) ||
	    !cJSON_AddNumberToObject(manifest, "version", WBS__XFER_VERSION) ||
	    !cJSON_AddStringToObject(manifest, "wb", WB_VERSION) || !cJSON_AddItemReferenceToObject(manifest, "runs", list) ||
	    !cJSON_AddItemReferenceToObject(manifest, "artifacts", arts) ||
	    !cJSON_AddItemReferenceToObject(manifest, "projects", projects))
		goto done;
	if (put_json(ar, "manifest.json", manifest, err, sizeof(err)))
		goto done;
	wbs__progress_begin(&pg, "runs", WBS__PG_COUNT, (uint64_t)cJSON_GetArraySize(list));
	cJSON_ArrayForEach(it, list)
	{
		wbs__progress_note(&pg, "%s/%s/%s", WBS__JSTR(it, "entity"), WBS__JSTR(it, "project"), WBS__JSTR(it, "id"));
		if (export_run(&x, WBS__JSTR(it, "entity"), WBS__JSTR(it, "project"), WBS__JSTR(it, "id")))
			goto done;
		nruns++;
		wbs__progress_add(&pg, 1);
	}
	wbs__progress_note(&pg, "%s", "");
	if (cJSON_GetArraySize(arts))
		wbs__progress_begin(&pg, "artifacts", WBS__PG_COUNT, (uint64_t)cJSON_GetArraySize(arts));
	cJSON_ArrayForEach(it, arts)
	{
		wbs__progress_note(&pg, "%s/%s/%s", WBS__JSTR(it, "entity"), WBS__JSTR(it, "project"), WBS__JSTR(it, "name"));
		if (export_artifact(&x, WBS__JSTR(it, "entity"), WBS__JSTR(it, "project"), WBS__JSTR(it, "name")))
			goto done;
		narts++;
		wbs__progress_add(&pg, 1);
	}
	wbs__progress_note(&pg, "%s", "");
	if (x.nsrc && export_bytes(&x))
		goto done;
	wbs__progress_note(&pg, "%s", "");
	if (archive_write_close(ar) != ARCHIVE_OK) {
		snprintf(err, sizeof(err), "cannot finish %s: %s", out, archive_error_string(ar));
		goto done;
	}
	wbs__progress_end(&pg);
	fprintf(to_stdout ? stderr : stdout, "%s: %zu runs and %zu artifacts exported\n", to_stdout ? "stdout" : out,
		nruns, narts);
	rc = 0;
done:
	wbs__progress_end(&pg);
	if (rc && !err[0])
		snprintf(err, sizeof(err), "out of memory");
	if (rc)
		fprintf(stderr, "wb export: %s\n", err);
	if (ar)
		archive_write_free(ar);
	if (rc && opened)
		remove(out); /* no half archive left behind to be mistaken for a whole one */
	for (size_t i = 0; i < x.nsrc; i++)
		free(x.src[i].path);
	free(x.src);
	cJSON_Delete(manifest);
	cJSON_Delete(list);
	cJSON_Delete(arts);
	cJSON_Delete(projects);
	wbs__api_global_cleanup();
	return rc;
}

/*
 * cmd_export.c — `wb export [--run E/P/R | --project E/P | --all] ARCHIVE`:
 * everything the API knows about runs, into a portable .tar.gz (layout in
 * xfer.h) that `wb import` loads into another server.
 *
 * It reads through the public HTTP API with an API key, like any client,
 * so it works against a live on-prem server without touching its data
 * directory, and what it writes is what the API shows. Metrics come from
 * the full-resolution export route with bits=1, so the CSV carries the
 * exact IEEE-754 pattern next to a readable %.17g value.
 *
 * The archive is written with libarchive (pax tar + gzip): tar headers,
 * long names and the gzip trailer are libarchive's job, not ours.
 */
#include "cmd.h"
#include "xfer.h"

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sdk/src/settings.h"
#include "util/buf.h"
#include "wire.h"

static const char export_usage[] =
	"usage: wb export [--run ENTITY/PROJECT/RUN | --project ENTITY/PROJECT | --all] ARCHIVE\n"
	"                 [--base-url URL] [--api-key KEY]\n";

/* ---- the API client (shared with cmd_import.c through xfer.h) ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	wbs__buf *b = arg;
	wbs__buf_put(b, p, size * n);
	return b->err ? 0 : size * n;
}

int wbs__api_do(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		const char *ctype, wbs__api_resp *out, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[4096], auth[300], ct[128];
	wbs__buf b;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wbs__buf_init(&b, (size_t)4 << 30);
	snprintf(url, sizeof(url), "%s%s", a->base, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip (a 1 s wait per large body) */
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || b.err) {
		snprintf(err, errlen, "%s %s: %s", method, path, rc != CURLE_OK ? curl_easy_strerror(rc) : "answer too large");
		wbs__buf_free(&b);
		return -1;
	}
	wbs__buf_putc(&b, '\0');
	out->len = b.len - 1;
	out->body = wbs__buf_take(&b);
	wbs__buf_free(&b);
	return out->body ? 0 : -1;
}

int wbs__api_init(wbs__api *a, const char *base, const char *key, char *err, size_t errlen)
{
	char *file_url = NULL, *file_key = NULL;
	size_t n;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	base = wb__setting_str(base && *base ? base : NULL, "WB_BASE_URL");
	key = wb__setting_str(key && *key ? key : NULL, "WB_API_KEY");
	if ((!base || !key) && wb__settings_file_read(base, &file_url, &file_key)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(a->base, sizeof(a->base), "%s", base ? base : file_url ? file_url : WB__DEFAULT_BASE_URL);
	n = strlen(a->base);
	while (n && a->base[n - 1] == '/')
		a->base[--n] = '\0';
	if (key || file_key) {
		snprintf(a->key, sizeof(a->key), "%s", key ? key : file_key);
	} else {
		snprintf(err, errlen, "no api key: give --api-key, set WB_API_KEY or run wb login");
		rc = -1;
	}
	free(file_url);
	if (file_key) {
		memset(file_key, 0, strlen(file_key));
		free(file_key);
	}
	return rc;
}

/* ---- archive writing ---- */

static int put_file(struct archive *ar, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, time(NULL), 0);
	ok = archive_write_header(ar, e) == ARCHIVE_OK && (len == 0 || archive_write_data(ar, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
	if (!ok)
		snprintf(err, errlen, "cannot write %s: %s", name, archive_error_string(ar));
	return ok ? 0 : -1;
}

/* GET path as JSON; NULL with err unless 200. */
static cJSON *get_json(const wbs__api *a, const char *path, char *err, size_t errlen)
{
	wbs__api_resp r;
	cJSON *j = NULL;

	if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
		return NULL;
	if (r.status != 200)
		snprintf(err, errlen, "GET %s: http %ld: %.200s", path, r.status, r.body ? r.body : "");
	else if (!(j = cJSON_ParseWithLength(r.body, r.len)))
		snprintf(err, errlen, "GET %s: the answer is not json", path);
	free(r.body);
	return j;
}

/* Percent-encode a metric key for a query string. */
static void qenc(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
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
		char *end;
		long long step = strtoll(sp, &end, 10);
		uint64_t u;
		double v;
		if (end == sp || (*end != ',' && *end != ']') || *bp != '"')
			return -1;
		sp = *end == ',' ? end + 1 : end;
		u = strtoull(bp + 1, &end, 16);
		if (*end != '"' || (end[1] != ',' && end[1] != ']'))
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

/* One run into the archive. */
static int export_run(const wbs__api *a, struct archive *ar, const char *ent, const char *proj, const char *id,
		      char *err, size_t errlen)
{
	char base[512], path[2400], name[1200];
	cJSON *run = NULL, *metrics = NULL, *index = NULL;
	const cJSON *m, *code, *pa;
	wbs__api_resp r;
	char *txt = NULL;
	int rc = -1, k = 0;

	memset(&r, 0, sizeof(r));
	snprintf(base, sizeof(base), "/api/v1/projects/%s/%s/runs/%s", ent, proj, id);
	if (!(run = get_json(a, base, err, errlen)))
		goto done;
	if (!(txt = cJSON_PrintUnformatted(run)))
		goto oom;
	snprintf(name, sizeof(name), "runs/%s/%s/%s/run.json", ent, proj, id);
	if (put_file(ar, name, txt, strlen(txt), err, errlen))
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

		if (!key)
			continue;
		qenc(qk, sizeof(qk), key);
		snprintf(path, sizeof(path), "%s/export?key=%s&format=json&bits=1", base, qk);
		if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
			goto done;
		if (r.status != 200) {
			snprintf(err, errlen, "GET %.600s: http %ld", path, r.status);
			goto done;
		}
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
		snprintf(name, sizeof(name), "runs/%s/%s/%s/metrics/%s", ent, proj, id, file);
		if (csv.err || put_file(ar, name, csv.p, csv.len, err, errlen)) {
			if (csv.err)
				snprintf(err, errlen, "metric %s is too large", key);
			wbs__buf_free(&csv);
			goto done;
		}
		wbs__buf_free(&csv);
		if (!(entry = cJSON_CreateObject()) || !cJSON_AddItemToArray(index, entry) ||
		    !cJSON_AddStringToObject(entry, "key", key) || !cJSON_AddStringToObject(entry, "file", file) ||
		    !cJSON_AddNumberToObject(entry, "count", (double)n))
			goto oom;
	}
	free(txt);
	if (!(txt = cJSON_PrintUnformatted(index)))
		goto oom;
	snprintf(name, sizeof(name), "runs/%s/%s/%s/metrics/index.json", ent, proj, id);
	if (put_file(ar, name, txt, strlen(txt), err, errlen))
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
			snprintf(name, sizeof(name), "runs/%s/%s/%s/code/%s", ent, proj, id, pn);
			if (put_file(ar, name, r.body, r.len, err, errlen))
				goto done;
		} else if (r.status != 404) {
			snprintf(err, errlen, "GET %.300s: http %ld", path, r.status);
			goto done;
		}
		free(r.body);
		r.body = NULL;
	}
	/* Extension point: artifacts' files (issue 6) go under runs/E/P/R/artifacts/ here. */
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(r.body);
	free(txt);
	cJSON_Delete(run);
	cJSON_Delete(metrics);
	cJSON_Delete(index);
	return rc;
}

/* Append the runs of project E/P to list (array of {"entity","project","id"}). */
static int list_project(const wbs__api *a, const char *ent, const char *proj, cJSON *list, char *err, size_t errlen)
{
	for (int offset = 0;; offset += 1000) {
		char path[512];
		cJSON *page;
		const cJSON *r;
		int n;

		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs?limit=1000&offset=%d", ent, proj,
			 offset);
		if (!(page = get_json(a, path, err, errlen)))
			return -1;
		n = cJSON_GetArraySize(cJSON_GetObjectItem(page, "runs"));
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(page, "runs"))
		{
			cJSON *e = cJSON_CreateObject();
			if (!e || !cJSON_AddItemToArray(list, e) || !cJSON_AddStringToObject(e, "entity", ent) ||
			    !cJSON_AddStringToObject(e, "project", proj) ||
			    !cJSON_AddStringToObject(e, "id", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")))) {
				cJSON_Delete(page);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		cJSON_Delete(page);
		if (n < 1000)
			return 0;
	}
}

/* Split "a/b[/c]" into parts (each a valid name). n parts expected. 0 or -1. */
static int split_ref(const char *s, char parts[3][65], int n)
{
	const char *p = s;
	for (int i = 0; i < n; i++) {
		size_t l = strcspn(p, "/");
		if (l == 0 || l > 64 || (i < n - 1 && p[l] != '/') || (i == n - 1 && p[l] != '\0'))
			return -1;
		memcpy(parts[i], p, l);
		parts[i][l] = '\0';
		if (!wb__name_valid(parts[i]))
			return -1;
		p += l + 1;
	}
	return 0;
}

int wbs__cmd_export(int argc, char **argv)
{
	const char *run = NULL, *project = NULL, *out = NULL, *base = NULL, *key = NULL;
	int all = 0, rc = 1;
	char err[1024] = "", parts[3][65];
	struct archive *ar = NULL;
	cJSON *list = NULL, *manifest = NULL;
	char *mtxt = NULL;
	wbs__api a;
	const cJSON *it;
	size_t nruns = 0;

	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(export_usage, stdout);
			return 0;
		}
		if (!strcmp(s, "--all"))
			all = 1;
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
		} else if (s[0] == '-' || out) {
			fprintf(stderr, "wb export: unexpected argument %s\n%s", s, export_usage);
			return 2;
		} else
			out = s;
	}
	if (!out || (!!run + !!project + all) != 1) {
		fprintf(stderr, "wb export: give one of --run, --project, --all, and the archive\n%s", export_usage);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (wbs__api_init(&a, base, key, err, sizeof(err)))
		goto done;
	if (!(list = cJSON_CreateArray()))
		goto done;
	if (run) {
		cJSON *e;
		if (split_ref(run, parts, 3)) {
			snprintf(err, sizeof(err), "--run takes ENTITY/PROJECT/RUN");
			goto done;
		}
		if (!(e = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, e) ||
		    !cJSON_AddStringToObject(e, "entity", parts[0]) || !cJSON_AddStringToObject(e, "project", parts[1]) ||
		    !cJSON_AddStringToObject(e, "id", parts[2]))
			goto done;
	} else if (project) {
		if (split_ref(project, parts, 2)) {
			snprintf(err, sizeof(err), "--project takes ENTITY/PROJECT");
			goto done;
		}
		if (list_project(&a, parts[0], parts[1], list, err, sizeof(err)))
			goto done;
	} else {
		cJSON *ps = get_json(&a, "/api/v1/projects", err, sizeof(err));
		const cJSON *p;
		if (!ps)
			goto done;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(ps, "projects"))
		{
			if (list_project(&a, cJSON_GetStringValue(cJSON_GetObjectItem(p, "entity")),
					 cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), list, err, sizeof(err))) {
				cJSON_Delete(ps);
				goto done;
			}
		}
		cJSON_Delete(ps);
	}
	ar = archive_write_new();
	if (!ar || archive_write_add_filter_gzip(ar) != ARCHIVE_OK || archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
	    archive_write_open_filename(ar, out) != ARCHIVE_OK) {
		snprintf(err, sizeof(err), "cannot create %s: %s", out, ar ? archive_error_string(ar) : "out of memory");
		goto done;
	}
	if (!(manifest = cJSON_CreateObject()) || !cJSON_AddStringToObject(manifest, "format", "wb-export") ||
	    !cJSON_AddNumberToObject(manifest, "version", 1) || !cJSON_AddStringToObject(manifest, "wb", WB_VERSION) ||
	    !cJSON_AddItemReferenceToObject(manifest, "runs", list) || !(mtxt = cJSON_PrintUnformatted(manifest)))
		goto done;
	if (put_file(ar, "manifest.json", mtxt, strlen(mtxt), err, sizeof(err)))
		goto done;
	cJSON_ArrayForEach(it, list)
	{
		if (export_run(&a, ar, cJSON_GetStringValue(cJSON_GetObjectItem(it, "entity")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(it, "project")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(it, "id")), err, sizeof(err)))
			goto done;
		nruns++;
	}
	if (archive_write_close(ar) != ARCHIVE_OK) {
		snprintf(err, sizeof(err), "cannot finish %s: %s", out, archive_error_string(ar));
		goto done;
	}
	printf("%s: %zu runs exported\n", out, nruns);
	rc = 0;
done:
	if (rc && !err[0])
		snprintf(err, sizeof(err), "out of memory");
	if (rc)
		fprintf(stderr, "wb export: %s\n", err);
	if (ar)
		archive_write_free(ar);
	free(mtxt);
	cJSON_Delete(manifest);
	cJSON_Delete(list);
	curl_global_cleanup();
	return rc;
}

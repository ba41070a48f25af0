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
 * it is derived identically), SYSTEM for system/ series, SUMMARY (the
 * summary as explicit values, so it is identical whatever was computed and
 * whatever was set), and FINISH with the original exit code and time; a
 * crashed run is marked crashed through the finish route. What differs
 * afterwards are the server's own bookkeeping: updated_at, heartbeat_at
 * and last_seq (the number of records it took).
 *
 * A run that already exists on the target is refused, not merged.
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

#include "util/buf.h"
#include "wire.h"

#define BODY_MAX (4u << 20)
#define PATCH_CHUNK (1u << 20)
#define ENTRY_MAX ((size_t)2 << 30)

static const char import_usage[] = "usage: wb import ARCHIVE [--base-url URL] [--api-key KEY]\n";

typedef struct entry {
	char *name;
	char *data; /* NUL-terminated */
	size_t len;
} entry;

typedef struct files {
	entry *e;
	size_t n, cap;
} files;

static const entry *find(const files *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->e[i].name, name) == 0)
			return &f->e[i];
	return NULL;
}

static void files_free(files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].name);
		free(f->e[i].data);
	}
	free(f->e);
}

static int read_archive(const char *path, files *f, char *err, size_t errlen)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	int rc = -1, r;

	if (!ar || archive_read_support_filter_gzip(ar) != ARCHIVE_OK || archive_read_support_format_tar(ar) != ARCHIVE_OK ||
	    archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, ar ? archive_error_string(ar) : "out of memory");
		goto done;
	}
	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		la_int64_t sz = archive_entry_size(ae);
		entry *e;
		if (archive_entry_filetype(ae) != AE_IFREG)
			continue;
		if (sz < 0 || (size_t)sz > ENTRY_MAX) {
			snprintf(err, errlen, "%s: entry %s is too large", path, archive_entry_pathname(ae));
			goto done;
		}
		if (f->n == f->cap) {
			size_t nc = f->cap ? f->cap * 2 : 64;
			entry *p = realloc(f->e, nc * sizeof(*p));
			if (!p)
				goto oom;
			f->e = p;
			f->cap = nc;
		}
		e = &f->e[f->n];
		e->name = strdup(archive_entry_pathname(ae));
		e->data = malloc((size_t)sz + 1);
		e->len = (size_t)sz;
		if (!e->name || !e->data) {
			free(e->name);
			free(e->data);
			goto oom;
		}
		f->n++;
		if (sz && archive_read_data(ar, e->data, (size_t)sz) != (la_ssize_t)sz) {
			snprintf(err, errlen, "%s: cannot read %s: %s", path, e->name, archive_error_string(ar));
			goto done;
		}
		e->data[sz] = '\0';
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", path, archive_error_string(ar));
		goto done;
	}
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	if (ar)
		archive_read_free(ar);
	return rc;
}

/* ---- records ---- */

typedef struct sender {
	const wbs__api *api;
	char path[640];
	wbs__buf body;
	uint64_t seq;
	char *err;
	size_t errlen;
} sender;

static int flush(sender *s)
{
	wbs__api_resp r;
	int rc;

	if (s->body.len == 0)
		return 0;
	if (s->body.err) {
		snprintf(s->err, s->errlen, "out of memory");
		return -1;
	}
	if (wbs__api_do(s->api, "POST", s->path, s->body.p, s->body.len, "application/x-wb-frames", &r, s->err, s->errlen))
		return -1;
	rc = r.status == 200 ? 0 : -1;
	if (rc)
		snprintf(s->err, s->errlen, "POST %s: http %ld: %.300s", s->path, r.status, r.body ? r.body : "");
	free(r.body);
	wbs__buf_reset(&s->body);
	return rc;
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

static int import_run(const wbs__api *a, const files *f, const char *ent, const char *proj, const char *id, char *err,
		      size_t errlen)
{
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
	snd.err = err;
	snd.errlen = errlen;
	snprintf(dir, sizeof(dir), "runs/%s/%s/%s", ent, proj, id);
	snprintf(base, sizeof(base), "/api/v1/projects/%s/%s/runs/%s", ent, proj, id);
	snprintf(snd.path, sizeof(snd.path), "%s/records", base);
	snprintf(name, sizeof(name), "%s/run.json", dir);
	if (!(e = find(f, name)) || !(run = cJSON_ParseWithLength(e->data, e->len)) || !cJSON_IsObject(run)) {
		snprintf(err, errlen, "%.300s is missing or not json", name);
		goto done;
	}
	snprintf(name, sizeof(name), "%s/metrics/index.json", dir);
	if (!(e = find(f, name)) || !(index = cJSON_ParseWithLength(e->data, e->len)) || !cJSON_IsArray(index)) {
		snprintf(err, errlen, "%.300s is missing or not json", name);
		goto done;
	}
	/* Refuse to merge into an existing run. */
	if (wbs__api_do(a, "GET", base, NULL, 0, NULL, &r, err, errlen))
		goto done;
	if (r.status != 404) {
		snprintf(err, errlen, "run %s/%s/%s %s on the target", ent, proj, id,
			 r.status == 200 ? "exists already" : "cannot be checked");
		goto done;
	}
	free(r.body);
	r.body = NULL;
	if (wbs__api_do(a, "PUT", base, "{}", 2, "application/json", &r, err, errlen))
		goto done;
	if (r.status != 200 && r.status != 201) {
		snprintf(err, errlen, "PUT %s: http %ld: %.300s", base, r.status, r.body ? r.body : "");
		goto done;
	}
	free(r.body);
	r.body = NULL;

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
			const char *pn = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
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
		const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(it, "key"));
		const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(it, "file"));
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
	state = cJSON_GetStringValue(cJSON_GetObjectItem(run, "state"));
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
	if (state && !strcmp(state, "crashed")) {
		char p[600];
		snprintf(p, sizeof(p), "%s/finish", base);
		if (wbs__api_do(a, "POST", p, "{\"crashed\":true}", 16, "application/json", &r, err, errlen))
			goto done;
		if (r.status != 200) {
			snprintf(err, errlen, "POST %s: http %ld", p, r.status);
			goto done;
		}
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

int wbs__cmd_import(int argc, char **argv)
{
	const char *in = NULL, *base = NULL, *key = NULL;
	char err[1024] = "";
	files f = {0};
	cJSON *man = NULL;
	const entry *e;
	const cJSON *it;
	wbs__api a;
	size_t n = 0;
	int rc = 1;

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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (wbs__api_init(&a, base, key, err, sizeof(err)) || read_archive(in, &f, err, sizeof(err)))
		goto done;
	if (!(e = find(&f, "manifest.json")) || !(man = cJSON_ParseWithLength(e->data, e->len)) ||
	    !cJSON_GetStringValue(cJSON_GetObjectItem(man, "format")) ||
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(man, "format")), "wb-export") != 0) {
		snprintf(err, sizeof(err), "%s is not a wb export archive (no manifest.json)", in);
		goto done;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "runs"))
	{
		const char *ent = cJSON_GetStringValue(cJSON_GetObjectItem(it, "entity"));
		const char *proj = cJSON_GetStringValue(cJSON_GetObjectItem(it, "project"));
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(it, "id"));
		if (!ent || !proj || !id || !wb__name_valid(ent) || !wb__name_valid(proj) || !wb__name_valid(id)) {
			snprintf(err, sizeof(err), "manifest.json names a run with an invalid name");
			goto done;
		}
		if (import_run(&a, &f, ent, proj, id, err, sizeof(err)))
			goto done;
		n++;
	}
	printf("%s: %zu runs imported\n", in, n);
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "wb import: %s\n", err[0] ? err : "failed");
	cJSON_Delete(man);
	files_free(&f);
	curl_global_cleanup();
	return rc;
}

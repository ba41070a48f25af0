/*
 * import_runs.c — one run of the archive turned back into the records the
 * server ingests (cmd_import.c says why through the ingest route): RUN,
 * CODE and PATCH, CONFIG, DEFINE, METRICS and SYSTEM rebuilt from the
 * full-resolution CSV, the rich data (HISTOGRAM, IMAGE, TABLE), SUMMARY,
 * FINISH. The checking pass builds every frame without sending it.
 */
#include "import.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/sha256.h"
#include "json_exact.h"
#include "wire.h"
#include "wire_media.h"

#define BODY_MAX (4u << 20)
#define PATCH_CHUNK (1u << 20)

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
		const char *end, *c2;
		long long st;
		uint64_t u;
		if (!(end = wbs__scan_i64(p, &st)) || *end != ',')
			return -1;
		for (c2 = end + 1; *c2 && *c2 != ',' && *c2 != '\n'; c2++) /* the value: not strchr (see wbs__scan_i64) */
			;
		if (*c2 != ',')
			return -1;
		if (!(end = wbs__scan_hex64(c2 + 1, &u)) || (*end != '\n' && *end != '\0'))
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
	const bytes_ent *b = wbs__import_find_bytes(f, sha, 0);
	char path[4200];
	FILE *in;
	int ok;

	*out = NULL;
	if (!b || !(*out = malloc(b->size ? b->size : 1)))
		return -1;
	wbs__import_spool_path(f, sha, path, sizeof(path));
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
	int64_t step = wbs__import_json_count(cJSON_GetObjectItem(v, "step"));
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
		int64_t nan_ = wbs__import_json_count(cJSON_GetObjectItem(v, "nan")), pinf = wbs__import_json_count(cJSON_GetObjectItem(v, "inf")),
			ninf = wbs__import_json_count(cJSON_GetObjectItem(v, "neg_inf"));
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
		int64_t w = wbs__import_json_count(cJSON_GetObjectItem(v, "width")), hgt = wbs__import_json_count(cJSON_GetObjectItem(v, "height"));
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
	if (!(e = wbs__import_find(f, name))) {
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
		if (!(e = wbs__import_find(f, name)) || !(vals = wb__json_parse_exact(e->data, e->len)) || !cJSON_IsArray(vals)) {
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


/*
 * Turn one run into records and send them (dry: only build and check
 * them). A crashed run is marked so later (rs->crashed), after the uses
 * that may still come to it.
 */
int wbs__import_run(const wbs__api *a, const files *f, run_st *rs, int dry, char *err, size_t errlen)
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
	if (!(e = wbs__import_find(f, name)) || !(run = wb__json_parse_exact(e->data, e->len)) || !cJSON_IsObject(run)) {
		snprintf(err, errlen, "%.300s is missing or not json", name);
		goto done;
	}
	snprintf(name, sizeof(name), "%s/metrics/index.json", dir);
	if (!(e = wbs__import_find(f, name)) || !(index = cJSON_ParseWithLength(e->data, e->len)) || !cJSON_IsArray(index)) {
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
			if (!(pe = wbs__import_find(f, name)))
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
		if (!(e = wbs__import_find(f, name)) || parse_csv(e, s)) {
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
int wbs__import_send_record(const wbs__api *a, run_st *rs, uint8_t type, const cJSON *j, char *err, size_t errlen)
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

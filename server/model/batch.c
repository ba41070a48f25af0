/*
 * batch.c — decode and validate an ingest body (see batch.h).
 *
 * This is the hot path of ingest: a 4 MiB gzip body may carry a few million
 * points. Per point the work is one lookup of its key's series and two
 * appends. The lookup has a fast path: training loops log the same keys in
 * the same order every step, so the series used at position i of the
 * previous METRICS record is tried first with one memcmp, and the hash
 * index (FNV-1a, open addressing) is only consulted on a miss. UTF-8 is
 * checked once per distinct key, when its series is created.
 */
#include "batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/media.h"
#include "dynarr.h"
#include "util/buf.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"

#define SERIES_POINTS_MAX (UINT32_MAX / 2) /* points of one key in one body: wbs__series counts in uint32_t */
#define RECORDS_MAX UINT32_MAX             /* records of one body: they are numbered by a uint32_t frame index */

void wbs__batch_free(wbs__batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nseries; i++) {
		free(b->series[i].key);
		free(b->series[i].steps);
		free(b->series[i].values);
		free(b->series[i].frames);
	}
	free(b->series);
	free(b->slots);
	free(b->mrecs);
	for (size_t i = 0; i < b->njrecs; i++) {
		cJSON_Delete(b->jrecs[i].json);
		free(b->jrecs[i].data);
		wbs__media_free(b->jrecs[i].media);
		wbs__run_fields_free(&b->jrecs[i].fields);
	}
	free(b->jrecs);
	memset(b, 0, sizeof(*b));
}

uint32_t wbs__series_from(const wbs__series *s, uint32_t frame)
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->frames[mid] < frame)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int wbs__define_flags(const cJSON *summary)
{
	static const struct {
		const char *name;
		unsigned flag;
	} names[] = {{"last", WB_SUMMARY_LAST}, {"min", WB_SUMMARY_MIN}, {"max", WB_SUMMARY_MAX},
		     {"mean", WB_SUMMARY_MEAN}, {"none", WB_SUMMARY_NONE}};
	const cJSON *s;
	int flags = 0;

	if (!summary || cJSON_IsNull(summary))
		return 0;
	if (!cJSON_IsArray(summary))
		return -1;
	cJSON_ArrayForEach(s, summary)
	{
		size_t i;
		if (!cJSON_IsString(s))
			return -1;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(s->valuestring, names[i].name) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		flags |= (int)names[i].flag;
	}
	return flags;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Grow the slot index to twice its size and rehash. 0 or -1. */
static int slots_grow(wbs__batch *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < b->nseries; i++) {
		size_t h = (size_t)fnv1a(b->series[i].key, b->series[i].klen) & (n - 1);
		while (slots[h])
			h = (h + 1) & (n - 1);
		slots[h] = (uint32_t)i + 1;
	}
	free(b->slots);
	b->slots = slots;
	b->nslots = n;
	return 0;
}

/*
 * The series for key, created if new. Returns its index, -1 on out of
 * memory, -2 if the key is not UTF-8, -3 if there are too many keys.
 */
static long series_get(wbs__batch *b, const char *key, size_t klen)
{
	size_t h;
	wbs__series *s;

	if (b->nslots) {
		h = (size_t)fnv1a(key, klen) & (b->nslots - 1);
		while (b->slots[h]) {
			s = &b->series[b->slots[h] - 1];
			if (s->klen == klen && memcmp(s->key, key, klen) == 0)
				return (long)b->slots[h] - 1;
			h = (h + 1) & (b->nslots - 1);
		}
	}
	if (!wbs__utf8_valid(key, klen))
		return -2;
	if (b->nseries >= WBS__BATCH_KEYS_MAX)
		return -3;
	if ((b->nseries + 1) * 2 > b->nslots && slots_grow(b))
		return -1;
	if (wb__dynarr_reserve(&b->series, &b->series_cap, b->nseries, 1, sizeof(*b->series), WBS__BATCH_KEYS_MAX))
		return -1;
	s = &b->series[b->nseries];
	memset(s, 0, sizeof(*s));
	s->key = malloc(klen + 1);
	if (!s->key)
		return -1;
	memcpy(s->key, key, klen);
	s->key[klen] = '\0';
	s->klen = klen;
	h = (size_t)fnv1a(key, klen) & (b->nslots - 1);
	while (b->slots[h])
		h = (h + 1) & (b->nslots - 1);
	b->slots[h] = (uint32_t)b->nseries + 1;
	return (long)b->nseries++;
}

static int series_push(wbs__series *s, int64_t step, double value, uint32_t frame)
{
	if (s->n == s->cap) {
		/* three parallel arrays of one capacity: each grows to the same new one */
		size_t c1 = s->cap, c2 = s->cap, c3 = s->cap;
		if (wb__dynarr_reserve(&s->steps, &c1, s->n, 1, sizeof(*s->steps), SERIES_POINTS_MAX) ||
		    wb__dynarr_reserve(&s->values, &c2, s->n, 1, sizeof(*s->values), SERIES_POINTS_MAX) ||
		    wb__dynarr_reserve(&s->frames, &c3, s->n, 1, sizeof(*s->frames), SERIES_POINTS_MAX))
			return -1;
		s->cap = (uint32_t)c1;
	}
	s->steps[s->n] = step;
	s->values[s->n] = value;
	s->frames[s->n] = frame;
	s->n++;
	return 0;
}

static wbs__jrec *jrec_new(wbs__batch *b, uint32_t frame, uint8_t type)
{
	wbs__jrec *r;

	if (wb__dynarr_reserve(&b->jrecs, &b->jrecs_cap, b->njrecs, 1, sizeof(*b->jrecs), RECORDS_MAX))
		return NULL;
	r = &b->jrecs[b->njrecs++];
	memset(r, 0, sizeof(*r));
	r->frame = frame;
	r->type = type;
	r->time = NAN;
	return r;
}

/* A DEFINE key: a metric key, or a prefix of one followed by a single trailing '*'. */
static int define_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > WB__KEY_MAX || !wbs__utf8_valid(k, n))
		return 0;
	if (k[n - 1] == '*') {
		for (size_t i = 0; i + 1 < n; i++)
			if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f || k[i] == '*')
				return 0;
		return n == 1 || k[0] != '_';
	}
	return wb__key_valid(k, n) && !strchr(k, '*');
}

/* Validate a DEFINE payload into a normalised object. NULL with err set on failure. */
static cJSON *define_normalise(const cJSON *j, char *err, size_t errlen)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *sm = cJSON_GetObjectItemCaseSensitive(j, "step_metric");
	const cJSON *su = cJSON_GetObjectItemCaseSensitive(j, "summary");
	cJSON *out = NULL, *arr;
	const cJSON *s;

	if (!cJSON_IsString(key) || !define_key_valid(key->valuestring)) {
		snprintf(err, errlen, "define key must be a metric key or a prefix with a trailing '*'");
		return NULL;
	}
	if (sm && !cJSON_IsNull(sm) &&
	    (!cJSON_IsString(sm) || strlen(sm->valuestring) < 1 || strlen(sm->valuestring) > WB__KEY_MAX ||
	     !wbs__text_valid(sm->valuestring, strlen(sm->valuestring), 0))) {
		snprintf(err, errlen, "define step_metric must be 1 to 255 bytes without control characters, or null");
		return NULL;
	}
	if (wbs__define_flags(su) < 0) {
		snprintf(err, errlen, "define summary must be an array of \"last\", \"min\", \"max\", \"mean\", \"none\"");
		return NULL;
	}
	out = cJSON_CreateObject();
	if (!out || !cJSON_AddStringToObject(out, "key", key->valuestring))
		goto nomem;
	if (sm && cJSON_IsString(sm) ? !cJSON_AddStringToObject(out, "step_metric", sm->valuestring)
				     : !cJSON_AddNullToObject(out, "step_metric"))
		goto nomem;
	arr = cJSON_AddArrayToObject(out, "summary");
	if (!arr)
		goto nomem;
	if (su) {
		cJSON_ArrayForEach(s, su)
		{
			cJSON *str = cJSON_CreateString(s->valuestring);
			if (!str || !cJSON_AddItemToArray(arr, str)) {
				cJSON_Delete(str);
				goto nomem;
			}
		}
	}
	return out;
nomem:
	cJSON_Delete(out);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static int summary_valid(const cJSON *j, char *err, size_t errlen)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, j)
	{
		size_t n = strlen(c->string);
		if (!wb__key_valid(c->string, n) || !wbs__utf8_valid(c->string, n)) {
			snprintf(err, errlen, "summary key must be 1 to 255 bytes, no control characters, no leading '_'");
			return 0;
		}
	}
	if (!wbs__json_depth_ok(j, WBS__JSON_DEPTH_MAX)) {
		snprintf(err, errlen, "summary is nested deeper than %d levels", WBS__JSON_DEPTH_MAX);
		return 0;
	}
	return 1;
}

/*
 * An ALERT record (wb_alert): level one of info/warn/error, title 1..200
 * bytes, text at most 3000 bytes, time (optional) unix seconds. Exactly
 * what wb_alert checks, so the SDK never logs an alert the server would
 * refuse (that would stall the run's upload). UTF-8 is checked, as in every
 * JSON payload, by wbs__json_parse, and wb_alert refuses anything else.
 */
static int alert_valid(const cJSON *j, char *why, size_t whylen)
{
	const cJSON *level = cJSON_GetObjectItemCaseSensitive(j, "level");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(j, "title");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
	size_t n;

	if (!cJSON_IsString(level) || (strcmp(level->valuestring, "info") && strcmp(level->valuestring, "warn") &&
				       strcmp(level->valuestring, "error"))) {
		snprintf(why, whylen, "alert level must be \"info\", \"warn\" or \"error\"");
		return 0;
	}
	if (!cJSON_IsString(title) || (n = strlen(title->valuestring)) == 0 || n > WBS__ALERT_TITLE_MAX) {
		snprintf(why, whylen, "alert title must be 1 to %u bytes", WBS__ALERT_TITLE_MAX);
		return 0;
	}
	if (text && (!cJSON_IsString(text) || strlen(text->valuestring) > WBS__ALERT_TEXT_MAX)) {
		snprintf(why, whylen, "alert text must be at most %u bytes", WBS__ALERT_TEXT_MAX);
		return 0;
	}
	if (t && !cJSON_IsNull(t) && (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0)) {
		snprintf(why, whylen, "alert time must be a number of unix seconds");
		return 0;
	}
	return 1;
}

/* Decode one JSON record payload. 0, or a wbs__batch_err with err set. */
static int decode_json_record(wbs__batch *b, const wb__frame *f, uint32_t idx, char *err, size_t errlen)
{
	char why[300];
	cJSON *j = NULL;
	wbs__jrec *r;
	int rc = WBS__BATCH_INVALID;

	why[0] = '\0';
	/* Strict, as request bodies are: a NUL, invalid UTF-8, a duplicate key or 1e400 refuses the frame. */
	j = wbs__json_parse((const char *)f->payload, f->len, "payload", why, sizeof(why));
	if (!j) {
		if (strcmp(why, "out of memory") == 0)
			rc = WBS__BATCH_NOMEM;
		goto done;
	}
	if (!cJSON_IsObject(j)) {
		snprintf(why, sizeof(why), "payload is not a json object");
		goto done;
	}
	r = jrec_new(b, idx, f->type);
	if (!r) {
		rc = WBS__BATCH_NOMEM;
		goto done;
	}
	switch (f->type) {
	case WB__REC_RUN:
		if (wbs__run_fields_parse(&r->fields, j, why, sizeof(why)))
			goto done;
		break;
	case WB__REC_CONFIG:
		if (!wbs__json_depth_ok(j, WBS__JSON_DEPTH_MAX)) {
			snprintf(why, sizeof(why), "config is nested deeper than %d levels", WBS__JSON_DEPTH_MAX);
			goto done;
		}
		r->json = j;
		j = NULL;
		break;
	case WB__REC_SUMMARY:
		if (!summary_valid(j, why, sizeof(why)))
			goto done;
		r->json = j;
		j = NULL;
		break;
	case WB__REC_CODE:
		if (f->len > WBS__CODE_JSON_MAX || !wbs__json_depth_ok(j, WBS__JSON_DEPTH_MAX)) {
			snprintf(why, sizeof(why), "code record is larger than %u bytes or nested deeper than %d levels",
				 WBS__CODE_JSON_MAX, WBS__JSON_DEPTH_MAX);
			goto done;
		}
		r->json = j;
		j = NULL;
		break;
	case WB__REC_ARTIFACT_USE: /* applied by store_artifact.c; ARTIFACT and ARTIFACT_DONE are the SDK's own */
		r->json = j;
		j = NULL;
		break;
	case WB__REC_DEFINE:
		r->json = define_normalise(j, why, sizeof(why));
		if (!r->json)
			goto done;
		break;
	case WB__REC_FINISH: {
		const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
		if (!cJSON_IsNumber(ec) || ec->valuedouble != floor(ec->valuedouble) || ec->valuedouble < -2147483648.0 ||
		    ec->valuedouble > 2147483647.0) {
			snprintf(why, sizeof(why), "finish exit_code must be an integer");
			goto done;
		}
		r->exit_code = (int)ec->valuedouble;
		if (t && !cJSON_IsNull(t)) {
			if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0) {
				snprintf(why, sizeof(why), "finish time must be a number of unix seconds");
				goto done;
			}
			r->time = t->valuedouble;
		}
		break;
	}
	case WB__REC_ALERT:
		if (!alert_valid(j, why, sizeof(why)))
			goto done;
		r->json = j;
		j = NULL;
		break;
	default:
		break;
	}
	rc = WBS__BATCH_OK;
done:
	cJSON_Delete(j);
	if (rc == WBS__BATCH_INVALID)
		snprintf(err, errlen, "frame seq %llu: %s", (unsigned long long)f->seq, why);
	return rc;
}

/* A patch name: [A-Za-z0-9._-]{1,64}, not starting with '.'. */
static int patch_name_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || n > WBS__PATCH_NAME_MAX || p[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		      p[i] == '.' || p[i] == '_' || p[i] == '-'))
			return 0;
	return 1;
}

/* Decode a PATCH record: namelen:u8 name[namelen] bytes. 0, or a wbs__batch_err with err set. */
static int decode_patch_record(wbs__batch *b, const wb__frame *f, uint32_t idx, char *err, size_t errlen)
{
	size_t nlen = f->len ? f->payload[0] : 0;
	wbs__jrec *r;

	if (f->len < 1 || f->len < 1 + nlen || !patch_name_valid(f->payload + 1, nlen)) {
		snprintf(err, errlen, "frame seq %llu: a patch record starts with a name of [A-Za-z0-9._-]{1,%u}",
			 (unsigned long long)f->seq, WBS__PATCH_NAME_MAX);
		return WBS__BATCH_INVALID;
	}
	if (!(r = jrec_new(b, idx, f->type)))
		return WBS__BATCH_NOMEM;
	memcpy(r->name, f->payload + 1, nlen);
	r->name[nlen] = '\0';
	r->len = f->len - 1 - nlen;
	if (!(r->data = malloc(r->len ? r->len : 1)))
		return WBS__BATCH_NOMEM;
	memcpy(r->data, f->payload + 1 + nlen, r->len);
	return WBS__BATCH_OK;
}

/*
 * A SYSTEM record: points of "system/..." series at x = ms since the run
 * started. They have their own axis, so the run's step rule does not apply
 * and they derive no _timestamp; each series only must not go back.
 */
static int decode_system_record(wbs__batch *b, const wb__frame *f, uint32_t idx, char *err, size_t errlen)
{
	wb__metrics_reader r;
	const char *key;
	size_t klen;
	double value;

	if (wb__metrics_begin(&r, f->payload, f->len)) {
		snprintf(err, errlen, "frame seq %llu: malformed system record", (unsigned long long)f->seq);
		return WBS__BATCH_INVALID;
	}
	while (wb__metrics_next(&r, &key, &klen, &value)) {
		long si;
		wbs__series *s;

		if (klen < 8 || memcmp(key, WB__SYSTEM_PREFIX, 7) != 0) {
			snprintf(err, errlen, "frame seq %llu: system metric keys start with \"system/\"",
				 (unsigned long long)f->seq);
			return WBS__BATCH_INVALID;
		}
		si = series_get(b, key, klen);
		if (si == -1)
			return WBS__BATCH_NOMEM;
		if (si < 0) {
			snprintf(err, errlen, "frame seq %llu: %s", (unsigned long long)f->seq,
				 si == -2 ? "metric key is not valid utf-8" : "too many distinct metric keys in one body");
			return WBS__BATCH_INVALID;
		}
		s = &b->series[si];
		if (s->n && s->steps[s->n - 1] > r.step) {
			snprintf(err, errlen, "frame seq %llu: %s goes back from %lld to %lld ms", (unsigned long long)f->seq,
				 s->key, (long long)s->steps[s->n - 1], (long long)r.step);
			return WBS__BATCH_INVALID;
		}
		if (series_push(s, r.step, value, idx))
			return WBS__BATCH_NOMEM;
		b->npoints++;
	}
	return WBS__BATCH_OK;
}

/* A HISTOGRAM, IMAGE or TABLE record (model/media.c). 0, or a wbs__batch_err with err set. */
static int decode_media_record(wbs__batch *b, const wb__frame *f, uint32_t idx, char *err, size_t errlen)
{
	char why[300];
	wbs__media *m;
	wbs__jrec *r;
	int rc = wbs__media_decode(f->type, f->payload, f->len, &m, why, sizeof(why));

	if (rc == -2)
		return WBS__BATCH_NOMEM;
	if (rc) {
		snprintf(err, errlen, "frame seq %llu: %s", (unsigned long long)f->seq, why);
		return WBS__BATCH_INVALID;
	}
	if (!(r = jrec_new(b, idx, f->type))) {
		wbs__media_free(m);
		return WBS__BATCH_NOMEM;
	}
	r->media = m;
	return WBS__BATCH_OK;
}

int wbs__batch_decode(wbs__batch *b, const uint8_t *body, size_t len, char *err, size_t errlen)
{
	uint32_t hint[WB__METRICS_MAX]; /* series index used at position i of the previous METRICS record */
	uint16_t nhint = 0;
	size_t off = 0;
	int64_t prev_step = -1;
	int rc = WBS__BATCH_OK;

	memset(b, 0, sizeof(*b));
	while (off < len) {
		wb__frame f;
		size_t used = 0;
		uint32_t idx = b->nframes;
		int d = wb__frame_decode(body + off, len - off, &f, &used);

		if (d == WB__FRAME_SHORT) {
			snprintf(err, errlen, "body ends inside a frame at byte %zu", off);
			return WBS__BATCH_INVALID;
		}
		if (d != WB__FRAME_OK) {
			snprintf(err, errlen, "frame at byte %zu fails its checksum or length", off);
			return WBS__BATCH_INVALID;
		}
		if (b->nframes == UINT32_MAX) {
			snprintf(err, errlen, "too many frames");
			return WBS__BATCH_INVALID;
		}
		if (idx == 0) {
			if (f.seq == 0) {
				snprintf(err, errlen, "frame seq must start at 1");
				return WBS__BATCH_INVALID;
			}
			b->first_seq = f.seq;
		} else if (f.seq != b->first_seq + idx) {
			snprintf(err, errlen, "frame seq %llu follows seq %llu: frames must be consecutive",
				 (unsigned long long)f.seq, (unsigned long long)(b->first_seq + idx - 1));
			return WBS__BATCH_INVALID;
		}
		b->nframes++;
		off += used;

		if (f.type == WB__REC_METRICS) {
			wb__metrics_reader r;
			const char *key;
			size_t klen;
			double value;
			uint16_t pos = 0;

			if (wb__metrics_begin(&r, f.payload, f.len)) {
				snprintf(err, errlen, "frame seq %llu: malformed metrics record",
					 (unsigned long long)f.seq);
				return WBS__BATCH_INVALID;
			}
			if (r.step < prev_step) {
				snprintf(err, errlen, "frame seq %llu: step %lld is below the previous step %lld",
					 (unsigned long long)f.seq, (long long)r.step, (long long)prev_step);
				return WBS__BATCH_INVALID;
			}
			prev_step = r.step;
			if (wb__dynarr_reserve(&b->mrecs, &b->mrecs_cap, b->nmrecs, 1, sizeof(*b->mrecs), RECORDS_MAX))
				return WBS__BATCH_NOMEM;
			b->mrecs[b->nmrecs++] = (wbs__mrec){idx, r.step, r.time};
			while (wb__metrics_next(&r, &key, &klen, &value)) {
				long si = -1;
				if (pos < nhint) {
					wbs__series *h = &b->series[hint[pos]];
					if (h->klen == klen && memcmp(h->key, key, klen) == 0)
						si = (long)hint[pos];
				}
				if (si < 0) {
					if (klen >= 7 && memcmp(key, WB__SYSTEM_PREFIX, 7) == 0) {
						snprintf(err, errlen, "frame seq %llu: metric keys under \"system/\" are reserved",
							 (unsigned long long)f.seq);
						return WBS__BATCH_INVALID;
					}
					si = series_get(b, key, klen);
					if (si == -1)
						return WBS__BATCH_NOMEM;
					if (si < 0) {
						snprintf(err, errlen, "frame seq %llu: %s", (unsigned long long)f.seq,
							 si == -2 ? "metric key is not valid utf-8"
								  : "too many distinct metric keys in one body");
						return WBS__BATCH_INVALID;
					}
					hint[pos] = (uint32_t)si;
				}
				if (series_push(&b->series[si], r.step, value, idx))
					return WBS__BATCH_NOMEM;
				pos++;
			}
			if (pos > nhint)
				nhint = pos;
			b->npoints += pos;
		} else if ((f.type >= WB__REC_RUN && f.type <= WB__REC_FINISH) || f.type == WB__REC_CODE ||
			   f.type == WB__REC_ALERT ||
			   (f.type >= WB__REC_ARTIFACT && f.type <= WB__REC_ARTIFACT_USE)) {
			rc = decode_json_record(b, &f, idx, err, errlen);
			if (rc)
				return rc;
		} else if (f.type == WB__REC_PATCH) {
			rc = decode_patch_record(b, &f, idx, err, errlen);
			if (rc)
				return rc;
		} else if (f.type == WB__REC_SYSTEM) {
			rc = decode_system_record(b, &f, idx, err, errlen);
			if (rc)
				return rc;
		} else if (f.type >= WB__REC_HISTOGRAM && f.type <= WB__REC_TABLE) {
			rc = decode_media_record(b, &f, idx, err, errlen);
			if (rc)
				return rc;
		} else {
			snprintf(err, errlen, "frame seq %llu: unknown record type %u", (unsigned long long)f.seq,
				 (unsigned)f.type);
			return WBS__BATCH_INVALID;
		}
	}
	return WBS__BATCH_OK;
}

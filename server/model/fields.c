/*
 * fields.c — run field validation and JSON helpers (see fields.h).
 *
 * A field that is present but wrong fails the whole request: a silently
 * dropped tag or truncated name is worse than a 400 the client can read.
 * Every string must be UTF-8 so that what we store can always be written
 * back out as valid JSON.
 */
#include "fields.h"

#include <errno.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "util/buf.h"
#include "wire.h"

int wbs__text_valid(const char *s, size_t n, int allow_ws)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			if (!(allow_ws && (c == '\t' || c == '\n' || c == '\r')))
				return 0;
		}
	}
	return wbs__utf8_valid(s, n);
}

int wbs__json_depth_ok(const cJSON *item, int max)
{
	const cJSON *c;

	if (max < 0)
		return 0;
	if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
		return 1;
	cJSON_ArrayForEach(c, item)
	{
		if (!wbs__json_depth_ok(c, max - 1))
			return 0;
	}
	return 1;
}

/*
 * cJSON keeps every number as a double, which rounds integers past 2^53 —
 * and a config value such as a seed or a step count must come back exactly.
 * The numbers of a document appear in its text in the same order as in a
 * pre-order walk of the tree cJSON built, so one pass over the text pairs
 * each number item with its literal; an integer literal of 16 or more
 * digits that fits int64 replaces its item as a raw value, which cJSON and
 * the JSON writer print verbatim.
 */
typedef struct {
	const char *p, *end;
} num_scan;

/* The next number literal outside strings, or 0 at the end. */
static int next_number(num_scan *sc, const char **start, size_t *n)
{
	while (sc->p < sc->end) {
		char c = *sc->p;
		if (c == '"') {
			for (sc->p++; sc->p < sc->end && *sc->p != '"'; sc->p++)
				if (*sc->p == '\\')
					sc->p++;
			sc->p++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			*start = sc->p;
			while (sc->p < sc->end && strchr("+-0123456789.eE", *sc->p))
				sc->p++;
			*n = (size_t)(sc->p - *start);
			return 1;
		} else {
			sc->p++;
		}
	}
	return 0;
}

static int exact_integers(cJSON *parent, cJSON *item, num_scan *sc)
{
	if (cJSON_IsNumber(item)) {
		const char *lit;
		size_t n, digits;
		char buf[32];
		if (!next_number(sc, &lit, &n))
			return -1;
		digits = n - (lit[0] == '-');
		/* Count within the literal's n bytes: the text need not be NUL-terminated
		 * there (a frame's JSON payload; found by tests/fuzz/fuzz_batch). */
		size_t nd = 0;
		while (nd < digits && lit[(lit[0] == '-') + nd] >= '0' && lit[(lit[0] == '-') + nd] <= '9')
			nd++;
		if (digits >= 16 && n < sizeof(buf) && nd == digits) {
			cJSON *raw;
			char *endp;
			memcpy(buf, lit, n);
			buf[n] = 0;
			errno = 0;
			strtoll(buf, &endp, 10); /* only: does it fit int64? */
			if (errno == 0 && parent) {
				raw = cJSON_CreateRaw(buf);
				if (raw) { /* the member's name moves to its replacement */
					raw->string = item->string;
					item->string = NULL;
				}
				if (!raw || !cJSON_ReplaceItemViaPointer(parent, item, raw)) {
					cJSON_Delete(raw);
					return -1;
				}
			}
		}
		return 0;
	}
	if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		cJSON *c = item->child, *next;
		for (; c; c = next) {
			next = c->next; /* c may be replaced */
			if (exact_integers(item, c, sc) < 0)
				return -1;
		}
	}
	return 0;
}

/* Parse text[0..len) with cJSON; NULL with the offset of the error in *err_off. */
static cJSON *parse(const char *text, size_t len, size_t *err_off)
{
	const char *end = NULL;
	cJSON *j;

	*err_off = 0;
	if (len == 0)
		return NULL;
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j) {
		*err_off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		return NULL;
	}
	/* cJSON stops after the first value: anything but whitespace after it is an error. */
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len) {
		*err_off = (size_t)(end - text);
		cJSON_Delete(j);
		return NULL;
	}
	{
		num_scan sc = {text, text + len};
		if (exact_integers(NULL, j, &sc) < 0) {
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

cJSON *wbs__json_parse(const char *text, size_t len, const char *what, char *why, size_t whylen)
{
	size_t off;
	cJSON *j = parse(text, len, &off);
	int rc;

	if (!j) {
		snprintf(why, whylen, "%s is not valid json at byte %zu", what, off);
		return NULL;
	}
	/* After cJSON, so that text it refuses keeps cJSON's error offset. */
	rc = wb__json_check(text, len, why, whylen);
	if (rc == WB__JSON_SYNTAX) /* cannot happen for text cJSON took; say so in the same words */
		snprintf(why, whylen, "%s is not valid json", what);
	if (rc) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

cJSON *wbs__json_parse_stored(const char *text, size_t len)
{
	size_t off;

	return parse(text, len, &off);
}

int wbs__json_merge(cJSON *dst, const cJSON *src)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, src)
	{
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, s->string);
		cJSON *copy;
		if (d && cJSON_IsObject(d) && cJSON_IsObject(s)) {
			if (wbs__json_merge(d, s))
				return -1;
			continue;
		}
		copy = cJSON_Duplicate(s, 1);
		if (!copy)
			return -1;
		if (d) {
			if (!cJSON_ReplaceItemInObjectCaseSensitive(dst, s->string, copy)) {
				cJSON_Delete(copy);
				return -1;
			}
		} else if (!cJSON_AddItemToObject(dst, s->string, copy)) {
			cJSON_Delete(copy);
			return -1;
		}
	}
	return 0;
}

void wbs__run_fields_free(wbs__run_fields *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->group);
	free(f->job_type);
	free(f->notes);
	free(f->tags);
	cJSON_Delete(f->metadata);
	memset(f, 0, sizeof(*f));
}

/* Copy a string member: 0 ok, -1 invalid (err set). NULL JSON allowed if nullable. */
static int take_text(char **dst, const cJSON *v, const char *field, size_t minlen, size_t maxlen, int allow_ws,
		     int nullable, char *err, size_t errlen)
{
	size_t n;

	if (nullable && cJSON_IsNull(v)) {
		*dst = NULL;
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		snprintf(err, errlen, "%s must be a string%s", field, nullable ? " or null" : "");
		return -1;
	}
	n = strlen(v->valuestring);
	if (n < minlen || n > maxlen) {
		snprintf(err, errlen, "%s must be %zu to %zu bytes", field, minlen, maxlen);
		return -1;
	}
	if (!wbs__text_valid(v->valuestring, n, allow_ws)) {
		snprintf(err, errlen, "%s must be utf-8 without control characters", field);
		return -1;
	}
	*dst = strdup(v->valuestring);
	if (!*dst) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int take_tags(wbs__run_fields *out, const cJSON *v, char *err, size_t errlen)
{
	wbs__buf b;
	const cJSON *t;
	int count = 0, rc = -1;

	wbs__buf_init(&b, 64 * 1024);
	if (!cJSON_IsArray(v)) {
		snprintf(err, errlen, "tags must be an array of strings");
		goto done;
	}
	if (cJSON_GetArraySize(v) > (int)WBS__TAGS_MAX) {
		snprintf(err, errlen, "tags has more than %u entries", WBS__TAGS_MAX);
		goto done;
	}
	wbs__buf_putc(&b, '[');
	cJSON_ArrayForEach(t, v)
	{
		size_t n;
		int dup = 0;
		const cJSON *u;
		if (!cJSON_IsString(t) || !t->valuestring) {
			snprintf(err, errlen, "tags must be an array of strings");
			goto done;
		}
		n = strlen(t->valuestring);
		if (n < 1 || n > WBS__TAG_MAX || !wbs__text_valid(t->valuestring, n, 0)) {
			snprintf(err, errlen, "a tag must be 1 to %u bytes of utf-8 without control characters",
				 WBS__TAG_MAX);
			goto done;
		}
		for (u = v->child; u != t; u = u->next)
			dup |= strcmp(u->valuestring, t->valuestring) == 0;
		if (dup)
			continue;
		if (count++)
			wbs__buf_putc(&b, ',');
		wbs__json_str(&b, t->valuestring, n);
	}
	wbs__buf_putc(&b, ']');
	out->tags = wbs__buf_take(&b);
	if (!out->tags) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	wbs__buf_free(&b);
	return rc;
}

int wbs__run_fields_parse(wbs__run_fields *out, const cJSON *obj, char *err, size_t errlen)
{
	const cJSON *v;

	memset(out, 0, sizeof(*out));
	if (!obj)
		return 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "body must be a json object");
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "name"))) {
		if (take_text(&out->name, v, "name", 1, WBS__TEXT_MAX, 0, 0, err, errlen))
			return -1;
		out->set |= WBS__F_NAME;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "group"))) {
		if (!cJSON_IsNull(v) && (!cJSON_IsString(v) || !wb__name_valid(v->valuestring))) {
			snprintf(err, errlen, "group must be null or match [A-Za-z0-9_.-]{1,64} without a leading '.'");
			return -1;
		}
		if (take_text(&out->group, v, "group", 1, WB__NAME_MAX, 0, 1, err, errlen))
			return -1;
		out->set |= WBS__F_GROUP;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "job_type"))) {
		if (take_text(&out->job_type, v, "job_type", 1, WBS__TEXT_MAX, 0, 1, err, errlen))
			return -1;
		out->set |= WBS__F_JOB_TYPE;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "notes"))) {
		if (take_text(&out->notes, v, "notes", 0, WBS__NOTES_MAX, 1, 0, err, errlen))
			return -1;
		out->set |= WBS__F_NOTES;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "tags"))) {
		if (take_tags(out, v, err, errlen))
			return -1;
		out->set |= WBS__F_TAGS;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "metadata"))) {
		if (!cJSON_IsObject(v)) {
			snprintf(err, errlen, "metadata must be a json object");
			return -1;
		}
		if (!wbs__json_depth_ok(v, WBS__JSON_DEPTH_MAX)) {
			snprintf(err, errlen, "metadata is nested deeper than %d levels", WBS__JSON_DEPTH_MAX);
			return -1;
		}
		out->metadata = cJSON_Duplicate(v, 1);
		if (!out->metadata) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		out->set |= WBS__F_METADATA;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "created_at"))) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0) {
			snprintf(err, errlen, "created_at must be a number of unix seconds");
			return -1;
		}
		out->created_at = v->valuedouble;
		out->set |= WBS__F_CREATED_AT;
	}
	return 0;
}

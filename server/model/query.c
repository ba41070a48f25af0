/*
 * query.c — parse run filters and sort keys (see query.h).
 *
 * A summary key may itself contain dots ("val.acc" is a valid metric key),
 * so `summary.<key>` takes everything after the first dot as one key. A
 * summary entry can also be an object ({"min":..,"last":..} when a DEFINE
 * asked for it): then the filter compares its "last", and a trailing
 * ".min"/".max"/".mean"/".last" picks another member. Both readings are
 * offered to the store as alternative paths, first non-null wins.
 */
#include "query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void wbs__filter_free(wbs__filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i]);
	free(f->text);
	memset(f, 0, sizeof(*f));
}

void wbs__sort_free(wbs__sort *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	memset(s, 0, sizeof(*s));
}

void wbs__runs_query_init(wbs__runs_query *q)
{
	memset(q, 0, sizeof(*q));
	q->sort.field = WBS__QF_CREATED_AT;
	q->sort.desc = 1;
	q->limit = WBS__RUNS_LIMIT_DEFAULT;
}

void wbs__runs_query_free(wbs__runs_query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nfilters; i++)
		wbs__filter_free(&q->filters[i]);
	wbs__sort_free(&q->sort);
	wbs__sort_free(&q->group_by);
	for (size_t i = 0; i < q->naggs; i++)
		wbs__sort_free(&q->aggs[i]);
	q->nfilters = 0;
	q->naggs = 0;
	q->grouped = 0;
}

/* A label any key can be: 1 or more bytes of valid UTF-8. */
static int label_ok(const char *s, size_t n) { return n > 0 && memchr(s, 0, n) == NULL && wbs__utf8_valid(s, n); }

/* A label SQLite's JSON path syntax can quote: no '"', '\\' or control byte.
 * (SQLite has no escape inside a quoted path label, and up to 3.44 it
 * compares labels with the key as written, escapes and all.) */
static int label_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/*
 * Add a path built from labels[0..n) to paths: a SQLite JSON path
 * ($."a"."b") when every label is plain, else a JSON array of the labels
 * (["a\"b","c"]), which the store looks up key by key (wbs__qpath_labels).
 * 0 or -1 (out of memory).
 */
static int add_path(char **paths, size_t *npaths, const char *const *labels, const size_t *lens, size_t n)
{
	wbs__buf b;
	int plain = 1;

	for (size_t i = 0; i < n; i++)
		plain = plain && label_plain(labels[i], lens[i]);
	wbs__buf_init(&b, 8192);
	wbs__buf_putc(&b, plain ? '$' : '[');
	for (size_t i = 0; i < n; i++) {
		if (plain) {
			wbs__buf_puts(&b, ".\"");
			wbs__buf_put(&b, labels[i], lens[i]);
			wbs__buf_putc(&b, '"');
		} else {
			if (i)
				wbs__buf_putc(&b, ',');
			wbs__json_str(&b, labels[i], lens[i]);
		}
	}
	if (!plain)
		wbs__buf_putc(&b, ']');
	paths[*npaths] = wbs__buf_take(&b);
	wbs__buf_free(&b);
	if (!paths[*npaths])
		return -1;
	(*npaths)++;
	return 0;
}

size_t wbs__qpath_labels(const char *path)
{
	size_t quotes = 0;

	if (path[0] != '[')
		return 0;
	for (const char *p = path; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quotes++;
	}
	return quotes / 2;
}

/*
 * Turn "config.<path>" or "summary.<key>" (rest = what follows the dot)
 * into paths. 0, or -1 with err.
 */
static int json_paths(int field, const char *rest, size_t n, char **paths, size_t *npaths, char *err, size_t errlen)
{
	static const char *const members[] = {".min", ".max", ".mean", ".last"};
	const char *labels[WBS__CONFIG_PATH_PARTS_MAX + 1];
	size_t lens[WBS__CONFIG_PATH_PARTS_MAX + 1];
	size_t nl = 0;

	if (field == WBS__QF_CONFIG) {
		const char *p = rest, *end = rest + n;
		while (p <= end) {
			const char *dot = memchr(p, '.', (size_t)(end - p));
			size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
			if (nl == WBS__CONFIG_PATH_PARTS_MAX || len > 64 || !label_ok(p, len)) {
				snprintf(err, errlen,
					 "config path must be 1 to %u dot-separated parts of 1 to 64 bytes of UTF-8",
					 WBS__CONFIG_PATH_PARTS_MAX);
				return -1;
			}
			labels[nl] = p;
			lens[nl++] = len;
			if (!dot)
				break;
			p = dot + 1;
		}
		if (add_path(paths, npaths, labels, lens, nl))
			goto nomem;
		return 0;
	}
	if (n > 255 || !label_ok(rest, n)) {
		snprintf(err, errlen, "summary key must be 1 to 255 bytes of UTF-8");
		return -1;
	}
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		size_t ml = strlen(members[i]);
		if (n > ml && memcmp(rest + n - ml, members[i], ml) == 0) {
			labels[0] = rest;
			lens[0] = n - ml;
			labels[1] = members[i] + 1;
			lens[1] = ml - 1;
			if (add_path(paths, npaths, labels, lens, 2))
				goto nomem;
			break;
		}
	}
	labels[0] = rest;
	lens[0] = n;
	labels[1] = "last";
	lens[1] = 4;
	if (add_path(paths, npaths, labels, lens, 2) || add_path(paths, npaths, labels, lens, 1))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* What each field may be used for (enum wbs__quse, plus filtering). */
#define U_FILTER 1
#define U_SORT 2
#define U_GROUP 4
#define U_AGG 8
#define U_ALL (U_FILTER | U_SORT | U_GROUP)

static const struct {
	const char *name;
	int field;
	int uses;
} plain_fields[] = {
	{"state", WBS__QF_STATE, U_ALL},
	{"name", WBS__QF_NAME, U_ALL},
	{"group", WBS__QF_GROUP, U_ALL},
	{"job_type", WBS__QF_JOB_TYPE, U_ALL},
	{"tags", WBS__QF_TAGS, U_ALL},
	{"user", WBS__QF_USER, U_ALL},
	{"notes", WBS__QF_NOTES, U_FILTER | U_SORT},
	{"created_at", WBS__QF_CREATED_AT, U_FILTER | U_SORT | U_AGG},
	{"duration", WBS__QF_DURATION, U_FILTER | U_SORT | U_AGG},
};

static int use_bit(int use)
{
	switch (use) {
	case WBS__QU_SORT: return U_SORT;
	case WBS__QU_GROUP: return U_GROUP;
	case WBS__QU_AGG: return U_AGG;
	default: return U_FILTER;
	}
}

/* use: -1 for a filter, else enum wbs__quse. */
static const char *fields_of(int use)
{
	switch (use) {
	case WBS__QU_SORT:
		return "sort field: must be state, name, group, job_type, tags, user, notes, created_at, duration, "
		       "config.<path> or summary.<key>";
	case WBS__QU_GROUP:
		return "group_by field: must be state, name, group, job_type, tags, user, config.<path> or summary.<key>";
	case WBS__QU_AGG:
		return "agg field: must be created_at, duration, config.<path> or summary.<key>";
	default:
		return "filter field: must be state, name, group, job_type, tags, user, notes, created_at, duration, "
		       "config.<path> or summary.<key>";
	}
}

/* Resolve field name s[0..n) into *field and its paths. 0, or -1 with err. */
static int parse_field(const char *s, size_t n, int use, int *field, char **paths, size_t *npaths, char *err,
		       size_t errlen)
{
	int bit = use_bit(use);

	for (size_t i = 0; i < sizeof(plain_fields) / sizeof(plain_fields[0]); i++) {
		if (strlen(plain_fields[i].name) == n && memcmp(plain_fields[i].name, s, n) == 0) {
			if (!(plain_fields[i].uses & bit))
				break;
			*field = plain_fields[i].field;
			return 0;
		}
	}
	if (n > 7 && memcmp(s, "config.", 7) == 0) {
		*field = WBS__QF_CONFIG;
		return json_paths(WBS__QF_CONFIG, s + 7, n - 7, paths, npaths, err, errlen);
	}
	if (n > 8 && memcmp(s, "summary.", 8) == 0) {
		*field = WBS__QF_SUMMARY;
		return json_paths(WBS__QF_SUMMARY, s + 8, n - 8, paths, npaths, err, errlen);
	}
	snprintf(err, errlen, "unknown %s", fields_of(use));
	return -1;
}

int wbs__filter_parse(wbs__filter *f, const char *s, char *err, size_t errlen)
{
	size_t flen = strcspn(s, "=!<>~"), vlen;
	const char *op = s + flen, *val;
	char *end;

	memset(f, 0, sizeof(*f));
	if (flen == 0 || !*op) {
		snprintf(err, errlen, "filter must be <field><op><value> with op one of = != < <= > >= ~");
		return -1;
	}
	if (op[0] == '!' && op[1] == '=')
		f->op = WBS__OP_NE, val = op + 2;
	else if (op[0] == '<' && op[1] == '=')
		f->op = WBS__OP_LE, val = op + 2;
	else if (op[0] == '>' && op[1] == '=')
		f->op = WBS__OP_GE, val = op + 2;
	else if (op[0] == '=')
		f->op = WBS__OP_EQ, val = op + 1;
	else if (op[0] == '<')
		f->op = WBS__OP_LT, val = op + 1;
	else if (op[0] == '>')
		f->op = WBS__OP_GT, val = op + 1;
	else if (op[0] == '~')
		f->op = WBS__OP_SUB, val = op + 1;
	else {
		snprintf(err, errlen, "filter must be <field><op><value> with op one of = != < <= > >= ~");
		return -1;
	}
	if (parse_field(s, flen, -1, &f->field, f->paths, &f->npaths, err, errlen))
		goto fail;
	vlen = strlen(val);
	if (vlen > WBS__FILTER_VALUE_MAX || !wbs__utf8_valid(val, vlen)) {
		snprintf(err, errlen, "filter value must be at most %u bytes of utf-8", WBS__FILTER_VALUE_MAX);
		goto fail;
	}
	f->text = strdup(val);
	if (!f->text) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (vlen) {
		f->num = strtod(val, &end);
		f->is_num = *end == '\0' && isfinite(f->num);
		if (f->is_num && strspn(val + (val[0] == '-'), "0123456789") == vlen - (val[0] == '-')) {
			errno = 0;
			f->inum = strtoll(val, &end, 10);
			f->is_int = errno == 0 && *end == '\0';
		}
	}
	if (!f->is_num && (f->field == WBS__QF_CONFIG || f->field == WBS__QF_SUMMARY)) {
		if (strcmp(val, "true") == 0)
			f->is_num = 1, f->num = 1;
		else if (strcmp(val, "false") == 0)
			f->is_num = 1, f->num = 0;
	}
	if (f->field == WBS__QF_TAGS && f->op != WBS__OP_EQ && f->op != WBS__OP_NE && f->op != WBS__OP_SUB) {
		snprintf(err, errlen, "tags filters take =, != or ~");
		goto fail;
	}
	if ((f->field == WBS__QF_CREATED_AT || f->field == WBS__QF_DURATION) && (!f->is_num || f->op == WBS__OP_SUB)) {
		snprintf(err, errlen, "%s filters take a number and one of = != < <= > >=",
			 f->field == WBS__QF_CREATED_AT ? "created_at" : "duration");
		goto fail;
	}
	return 0;
fail:
	wbs__filter_free(f);
	return -1;
}

int wbs__sort_parse(wbs__sort *s, const char *str, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (str[0] == '-') {
		s->desc = 1;
		str++;
	}
	if (parse_field(str, strlen(str), WBS__QU_SORT, &s->field, s->paths, &s->npaths, err, errlen)) {
		wbs__sort_free(s);
		return -1;
	}
	return 0;
}

int wbs__field_parse(wbs__sort *s, const char *str, int use, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (parse_field(str, strlen(str), use, &s->field, s->paths, &s->npaths, err, errlen)) {
		wbs__sort_free(s);
		return -1;
	}
	return 0;
}

/*
 * summary.c — materialise a run's summary (see summary.h).
 */
#include "summary.h"

#include <math.h>
#include <string.h>

#include "model/batch.h"
#include "wb.h"

unsigned wbs__define_match(const cJSON *defs, const char *key)
{
	const cJSON *d;
	size_t best = 0, klen = strlen(key);
	int have = 0;
	unsigned flags = 0;

	cJSON_ArrayForEach(d, defs)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "key");
		size_t n;
		int f;
		if (!cJSON_IsString(k))
			continue;
		n = strlen(k->valuestring);
		f = wbs__define_flags(cJSON_GetObjectItemCaseSensitive(d, "summary"));
		if (f < 0)
			f = 0;
		if (n && k->valuestring[n - 1] == '*') {
			/* glob: rank by prefix length + 1, below any exact match */
			if (n - 1 <= klen && memcmp(k->valuestring, key, n - 1) == 0 && (!have || n > best) &&
			    best != SIZE_MAX) {
				best = n;
				have = 1;
				flags = (unsigned)f;
			}
		} else if (strcmp(k->valuestring, key) == 0) {
			best = SIZE_MAX;
			have = 1;
			flags = (unsigned)f;
		}
	}
	return flags;
}

static void put_key(wbs__buf *out, int *first, const char *key)
{
	if (!*first)
		wbs__buf_putc(out, ',');
	*first = 0;
	wbs__json_cstr(out, key);
	wbs__buf_putc(out, ':');
}

void wbs__summary_build(wbs__buf *out, const wbs__key_stats *keys, size_t n, const cJSON *defs, const cJSON *expl)
{
	const cJSON *e;
	int first = 1;

	wbs__buf_putc(out, '{');
	for (size_t i = 0; i < n; i++) {
		const wbs__key_stats *k = &keys[i];
		unsigned f;
		int ofirst = 1;

		if (k->count == 0 || (expl && cJSON_GetObjectItemCaseSensitive(expl, k->key)))
			continue;
		f = wbs__define_match(defs, k->key);
		if (f & WB_SUMMARY_NONE)
			continue;
		put_key(out, &first, k->key);
		if (!(f & (WB_SUMMARY_MIN | WB_SUMMARY_MAX | WB_SUMMARY_MEAN))) {
			wbs__json_num(out, k->last);
			continue;
		}
		wbs__buf_putc(out, '{');
		if (f & WB_SUMMARY_MIN) {
			put_key(out, &ofirst, "min");
			wbs__json_num(out, k->nvalid ? k->min : NAN);
		}
		if (f & WB_SUMMARY_MAX) {
			put_key(out, &ofirst, "max");
			wbs__json_num(out, k->nvalid ? k->max : NAN);
		}
		if (f & WB_SUMMARY_MEAN) {
			put_key(out, &ofirst, "mean");
			wbs__json_num(out, k->nvalid ? k->sum / (double)k->nvalid : NAN);
		}
		if (f & WB_SUMMARY_LAST) {
			put_key(out, &ofirst, "last");
			wbs__json_num(out, k->last);
		}
		wbs__buf_putc(out, '}');
	}
	if (expl) {
		cJSON_ArrayForEach(e, expl)
		{
			put_key(out, &first, e->string);
			wbs__json_tree(out, e);
		}
	}
	wbs__buf_putc(out, '}');
}

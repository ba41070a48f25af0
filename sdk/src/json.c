/*
 * json.c — numbers, printing and parsing the way wb's JSON needs them.
 *
 * cJSON keeps numbers as doubles, prints them with %.15g/%.17g and turns
 * NaN/Inf into null; wb's contract (schema/wire.md) wants int64 config
 * values exact and non-finite doubles as the strings "NaN", "Infinity",
 * "-Infinity". So numbers are formatted here and handed to cJSON as raw
 * text, and printing goes through json_exact.c, which writes every number
 * exactly (a parsed one as it was written). Parsing always goes through cJSON_ParseWithLengthOpts, whose end
 * pointer replaces cJSON's global error pointer, which threads would race on.
 */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wire_media.h"

cJSON *wb__json_double(double v)
{
	char buf[40];

	wb__json_format_double(buf, sizeof buf, v);
	if (!isfinite(v))
		return cJSON_CreateString(buf);
	return cJSON_CreateRaw(buf);
}

cJSON *wb__json_int(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

int wb__json_print(const cJSON *item, char **out, size_t *len)
{
	char *s = wb__json_print_exact(item);

	if (!s) {
		*out = NULL;
		return wb__error(WB_ENOMEM, "out of memory");
	}
	*out = s;
	if (len)
		*len = strlen(s);
	return WB_OK;
}

cJSON *wb__json_parse(const char *buf, size_t len)
{
	const char *end = NULL;

	if (!buf || len == 0)
		return NULL;
	return cJSON_ParseWithLengthOpts(buf, len, &end, 0);
}

int wb__json_get_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1.8e19)
		return 0;
	*out = (uint64_t)v->valuedouble;
	return 1;
}

int wb__json_get_i64(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
		return 0;
	*out = (int64_t)v->valuedouble;
	return 1;
}

const char *wb__json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* s with each invalid UTF-8 sequence replaced by U+FFFD, from cJSON's allocator; NULL on ENOMEM. */
static char *utf8_fixed(const char *s)
{
	size_t n = strlen(s), w = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 3 || !(out = cJSON_malloc(n * 3 + 1)))
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (k <= 4 && i + k <= n && !wb__utf8_valid(s + i, k))
			k++;
		if (k <= 4 && i + k <= n) {
			memcpy(out + w, s + i, k);
			w += k;
			i += k;
		} else {
			memcpy(out + w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		}
	}
	out[w] = '\0';
	return out;
}

int wb__json_utf8_fix(cJSON *item)
{
	cJSON *c;

	if (item->string && !wb__utf8_valid(item->string, strlen(item->string)) &&
	    !(item->type & cJSON_StringIsConst)) {
		char *f = utf8_fixed(item->string);
		if (!f)
			return wb__error(WB_ENOMEM, "out of memory");
		cJSON_free(item->string);
		item->string = f;
	}
	if (cJSON_IsString(item) && item->valuestring &&
	    !wb__utf8_valid(item->valuestring, strlen(item->valuestring))) {
		char *f = utf8_fixed(item->valuestring);
		if (!f)
			return wb__error(WB_ENOMEM, "out of memory");
		cJSON_free(item->valuestring);
		item->valuestring = f;
	}
	cJSON_ArrayForEach(c, item)
	{
		int rc = wb__json_utf8_fix(c);
		if (rc)
			return rc;
	}
	return WB_OK;
}

/*
 * json_exact.c — JSON numbers that come back exactly as they went in.
 *
 * cJSON keeps a number as a double, so 9007199254740993 reads as ...992,
 * and its printer (1.7.15) writes a double with %.15g whenever that is
 * within an epsilon of the value, so 0.30000000000000004 prints as 0.3 and
 * INT64_MIN as -9.2233720368547758e+18. A config, summary or artifact
 * metadata that passes through wb (the SDK's manifest, `wb export` and
 * `wb import`) must keep the number the user wrote: a filter on it must
 * find the same runs on both servers.
 *
 * So parsing keeps each number's own text beside its double: the text's
 * number tokens come in document order, and cJSON's tree walked in
 * pre-order meets its number items in that same order (duplicate keys stay
 * siblings, in order), so the i-th token belongs to the i-th number item and
 * is kept in its valuestring, which cJSON frees with the item, copies with
 * cJSON_Duplicate and otherwise ignores for numbers. Code that reads the
 * tree sees ordinary numbers. Printing turns every number into raw text:
 * its kept token, or the shortest decimal that reads back to the same
 * double. This file needs only cJSON: the server links it too (wb_wire, sdk/wire/).
 */
#include "json_exact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wb__json_format_double(char *buf, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(buf, cap, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, cap, v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	/* The shortest of %.15g..%.17g that reads back to the same bits; %.17g
	 * always does. -0.0 prints as "-0", which JSON allows. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (wb__f64_bits(strtod(buf, NULL)) == wb__f64_bits(v))
			return;
	}
}

/* Give the number items under it, in pre-order, the tokens of text in
 * order: *at walks text, returning -1 when a token is missing or malformed
 * (the caller then refuses the document). */
static int attach(cJSON *it, const char *text, size_t len, size_t *at)
{
	for (; it; it = it->next) {
		if (cJSON_IsNumber(it)) {
			size_t i = *at, start;
			int in_str = 0;
			/* the next number token outside strings */
			for (; i < len; i++) {
				char c = text[i];
				if (in_str) {
					if (c == '\\')
						i++;
					else if (c == '"')
						in_str = 0;
				} else if (c == '"') {
					in_str = 1;
				} else if (c == '-' || (c >= '0' && c <= '9')) {
					break;
				}
			}
			if (i >= len)
				return -1;
			start = i;
			while (i < len && strchr("+-0123456789.eE", text[i]) && text[i])
				i++;
			*at = i;
			if (!(it->valuestring = malloc(i - start + 1)))
				return -1;
			memcpy(it->valuestring, text + start, i - start);
			it->valuestring[i - start] = '\0';
		}
		if (it->child && attach(it->child, text, len, at))
			return -1;
	}
	return 0;
}

cJSON *wb__json_parse_exact(const char *text, size_t len)
{
	const char *end = NULL;
	size_t at = 0;
	cJSON *j;

	if (!text || len == 0 || !(j = cJSON_ParseWithLengthOpts(text, len, &end, 0)))
		return NULL;
	if (attach(j, text, len, &at)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* Every number under it becomes raw text (its token, or formatted). 0 or -1 (out of memory). */
static int numbers_raw(cJSON *it)
{
	for (; it; it = it->next) {
		if (cJSON_IsNumber(it)) {
			if (!it->valuestring) {
				char buf[40];
				if (!isfinite(it->valuedouble))
					snprintf(buf, sizeof buf, "null"); /* as cJSON prints it */
				else
					wb__json_format_double(buf, sizeof buf, it->valuedouble);
				if (!(it->valuestring = strdup(buf)))
					return -1;
			}
			it->type = cJSON_Raw | (it->type & ~0xFF);
		}
		if (it->child && numbers_raw(it->child))
			return -1;
	}
	return 0;
}

char *wb__json_print_exact(const cJSON *item)
{
	cJSON *copy = cJSON_Duplicate(item, 1);
	char *s = NULL;

	if (copy && numbers_raw(copy) == 0)
		s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return s;
}

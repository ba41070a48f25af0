/*
 * buf.c — bounded growing buffer and JSON writer (see buf.h).
 *
 * Growth doubles the allocation, clamped to the maximum plus one byte for
 * the terminating NUL, so a buffer never holds more than its maximum and
 * the arithmetic cannot overflow (max is at most SIZE_MAX / 2).
 */
#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_MAX 64

void wbs__buf_init(wbs__buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max < SIZE_MAX / 2 ? max : SIZE_MAX / 2;
}

void wbs__buf_free(wbs__buf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void wbs__buf_reset(wbs__buf *b)
{
	b->len = 0;
	b->err = WBS__BUF_OK;
	if (b->p)
		b->p[0] = '\0';
}

char *wbs__buf_take(wbs__buf *b)
{
	char *p;

	if (b->err)
		return NULL;
	if (!b->p) {
		p = malloc(1);
		if (p)
			p[0] = '\0';
		return p;
	}
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* Make room for n more bytes plus a NUL. 0, or -1 with err set. */
static int buf_reserve(wbs__buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return -1;
	if (n > b->max - b->len) {
		b->err = WBS__BUF_TOOBIG;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = WBS__BUF_NOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void wbs__buf_put(wbs__buf *b, const void *data, size_t n)
{
	if (buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void wbs__buf_puts(wbs__buf *b, const char *s) { wbs__buf_put(b, s, strlen(s)); }

void wbs__buf_putc(wbs__buf *b, char c)
{
	if (buf_reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void wbs__buf_printf(wbs__buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int k;

	va_start(ap, fmt);
	k = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->err = WBS__BUF_NOMEM;
		return;
	}
	if ((size_t)k < sizeof(small)) {
		wbs__buf_put(b, small, (size_t)k);
		return;
	}
	if (buf_reserve(b, (size_t)k))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)k;
}

static size_t fmt_nonfinite(char out[32], double d)
{
	const char *s = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
	size_t n = strlen(s);
	memcpy(out, s, n + 1);
	return n;
}

size_t wbs__fmt_double(char out[32], double d)
{
	static const char *const fmts[] = {"%.15g", "%.16g", "%.17g"};

	if (!isfinite(d))
		return fmt_nonfinite(out, d);
	for (int i = 0; i < 3; i++) {
		int k = snprintf(out, 32, fmts[i], d);
		double back = strtod(out, NULL);
		if (i == 2 || memcmp(&back, &d, sizeof(d)) == 0)
			return (size_t)k;
	}
	return 0; /* not reached */
}

size_t wbs__fmt_double17(char out[32], double d)
{
	if (!isfinite(d))
		return fmt_nonfinite(out, d);
	return (size_t)snprintf(out, 32, "%.17g", d);
}

size_t wbs__fmt_i64(char out[24], int64_t v)
{
	char tmp[24];
	size_t n = 0, o = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int wbs__utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

void wbs__json_str(wbs__buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	wbs__buf_putc(b, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t k;
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		wbs__buf_put(b, p + i - run, run);
		run = 0;
		if (c >= 0x80) {
			k = utf8_seq(p + i, n - i);
			if (k) {
				wbs__buf_put(b, p + i, k);
				i += k;
			} else {
				wbs__buf_puts(b, "\xef\xbf\xbd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': wbs__buf_puts(b, "\\\""); break;
		case '\\': wbs__buf_puts(b, "\\\\"); break;
		case '\n': wbs__buf_puts(b, "\\n"); break;
		case '\r': wbs__buf_puts(b, "\\r"); break;
		case '\t': wbs__buf_puts(b, "\\t"); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			wbs__buf_put(b, esc, 6);
		}
		}
		i++;
	}
	wbs__buf_put(b, p + i - run, run);
	wbs__buf_putc(b, '"');
}

void wbs__json_cstr(wbs__buf *b, const char *s)
{
	if (!s)
		wbs__buf_puts(b, "null");
	else
		wbs__json_str(b, s, strlen(s));
}

/* d as fmt writes it: a bare number when finite, else quoted ("NaN", "Infinity", ...). */
static void json_num_as(wbs__buf *b, double d, size_t (*fmt)(char out[32], double d))
{
	char tmp[32];
	size_t n = fmt(tmp, d);

	if (isfinite(d)) {
		wbs__buf_put(b, tmp, n);
	} else {
		wbs__buf_putc(b, '"');
		wbs__buf_put(b, tmp, n);
		wbs__buf_putc(b, '"');
	}
}

void wbs__json_num(wbs__buf *b, double d)
{
	json_num_as(b, d, wbs__fmt_double);
}

void wbs__json_num17(wbs__buf *b, double d)
{
	json_num_as(b, d, wbs__fmt_double17);
}

void wbs__json_i64(wbs__buf *b, int64_t v)
{
	char tmp[24];
	size_t n = wbs__fmt_i64(tmp, v);
	wbs__buf_put(b, tmp, n);
}

/* The element types the JSON array writers below take. */
enum json_elem { JSON_I64, JSON_F64, JSON_U32 };

/* "[v0,v1,...]" of n elements of type t at v: one loop for every array writer. */
static void json_array(wbs__buf *b, const void *v, size_t n, enum json_elem t)
{
	wbs__buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(b, ',');
		if (t == JSON_I64)
			wbs__json_i64(b, ((const int64_t *)v)[i]);
		else if (t == JSON_F64)
			wbs__json_num(b, ((const double *)v)[i]);
		else
			wbs__json_i64(b, ((const uint32_t *)v)[i]);
	}
	wbs__buf_putc(b, ']');
}

void wbs__json_i64s(wbs__buf *b, const int64_t *v, size_t n)
{
	json_array(b, v, n, JSON_I64);
}

void wbs__json_nums(wbs__buf *b, const double *v, size_t n)
{
	json_array(b, v, n, JSON_F64);
}

void wbs__json_u32s(wbs__buf *b, const uint32_t *v, size_t n)
{
	json_array(b, v, n, JSON_U32);
}

void wbs__json_num_or_null(wbs__buf *b, double d)
{
	if (isnan(d))
		wbs__buf_puts(b, "null");
	else
		wbs__json_num(b, d);
}

static void json_tree(wbs__buf *b, const cJSON *item, int depth)
{
	const cJSON *c;
	int first = 1;

	if (depth > JSON_DEPTH_MAX) {
		b->err = WBS__BUF_TOOBIG;
		return;
	}
	if (cJSON_IsNull(item) || cJSON_IsInvalid(item)) {
		wbs__buf_puts(b, "null");
	} else if (cJSON_IsTrue(item)) {
		wbs__buf_puts(b, "true");
	} else if (cJSON_IsFalse(item)) {
		wbs__buf_puts(b, "false");
	} else if (cJSON_IsNumber(item) && item->valuestring) {
		wbs__buf_puts(b, item->valuestring); /* its own text, kept by wb__json_parse_exact */
	} else if (cJSON_IsNumber(item)) {
		wbs__json_num(b, item->valuedouble);
	} else if (cJSON_IsString(item)) {
		wbs__json_cstr(b, item->valuestring);
	} else if (cJSON_IsRaw(item)) {
		wbs__buf_puts(b, item->valuestring ? item->valuestring : "null");
	} else if (cJSON_IsArray(item)) {
		wbs__buf_putc(b, '[');
		cJSON_ArrayForEach(c, item)
		{
			if (!first)
				wbs__buf_putc(b, ',');
			first = 0;
			json_tree(b, c, depth + 1);
		}
		wbs__buf_putc(b, ']');
	} else if (cJSON_IsObject(item)) {
		wbs__buf_putc(b, '{');
		cJSON_ArrayForEach(c, item)
		{
			if (!first)
				wbs__buf_putc(b, ',');
			first = 0;
			wbs__json_cstr(b, c->string ? c->string : "");
			wbs__buf_putc(b, ':');
			json_tree(b, c, depth + 1);
		}
		wbs__buf_putc(b, '}');
	}
}

void wbs__json_tree(wbs__buf *b, const cJSON *item) { json_tree(b, item, 0); }

/* A decimal int64 at p: its end, or NULL (no digit, or out of range). Read
 * by hand: strtoll may scan the whole rest of a many-megabyte answer (the
 * sanitizers' interceptors do), which makes a long series quadratic. */
const char *wbs__scan_i64(const char *p, long long *out)
{
	int neg = *p == '-';
	uint64_t v = 0, lim;
	const char *d = p + neg;

	lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	if (*d < '0' || *d > '9')
		return NULL;
	for (; *d >= '0' && *d <= '9'; d++) {
		unsigned dig = (unsigned)(*d - '0');
		if (v > (lim - dig) / 10u)
			return NULL;
		v = v * 10u + dig;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(long long)v) : (long long)v;
	return d;
}

/* 1 to 16 hex digits at p as a uint64: their end, or NULL. */
const char *wbs__scan_hex64(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	const char *d = p;

	for (; d - p < 17; d++) {
		unsigned x;
		if (*d >= '0' && *d <= '9')
			x = (unsigned)(*d - '0');
		else if (*d >= 'a' && *d <= 'f')
			x = (unsigned)(*d - 'a' + 10);
		else if (*d >= 'A' && *d <= 'F')
			x = (unsigned)(*d - 'A' + 10);
		else
			break;
		if (d - p == 16)
			return NULL;
		v = v << 4 | x;
	}
	if (d == p)
		return NULL;
	*out = v;
	return d;
}

/*
 * httputil.c — connection-free request helpers (see httputil.h).
 *
 * Paths are split before they are decoded, so that an encoded slash
 * ("..%2Fx") stays inside its segment and is then refused by name
 * validation, instead of silently changing which route matches.
 */
#include "httputil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wbs__path_split(const char *raw, wbs__path *out)
{
	static const char prefix[] = "/api/v1";
	const char *p;
	size_t o = 0;

	memset(out, 0, sizeof(out->seg) + sizeof(out->nseg));
	out->nseg = 0;
	if (strncmp(raw, prefix, sizeof(prefix) - 1) != 0 || (raw[7] != '/' && raw[7] != '\0'))
		return WBS__PATH_NOT_API;
	p = raw + 7;
	if (strlen(p) > WBS__PATH_MAX)
		return WBS__PATH_BAD;
	while (*p == '/') {
		p++;
		if (*p == '\0')
			break; /* trailing slash */
		if (*p == '/')
			return WBS__PATH_BAD; /* empty segment */
		if (out->nseg == WBS__PATH_SEGS_MAX)
			return WBS__PATH_BAD;
		out->seg[out->nseg++] = out->buf + o;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '%') {
				int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
				if (hi < 0 || lo < 0)
					return WBS__PATH_BAD;
				c = (char)(hi * 16 + lo);
				p += 2;
				if (c == '\0')
					return WBS__PATH_BAD;
			}
			out->buf[o++] = c;
		}
		out->buf[o++] = '\0';
	}
	return WBS__PATH_OK;
}

int wbs__media_type_is(const char *header, const char *type)
{
	size_t n = strlen(type);

	if (!header)
		return 0;
	while (*header == ' ' || *header == '\t')
		header++;
	if (strncasecmp(header, type, n) != 0)
		return 0;
	header += n;
	while (*header == ' ' || *header == '\t')
		header++;
	return *header == '\0' || *header == ';';
}

int wbs__budget_take(wbs__budget *b, size_t n)
{
	size_t cur = atomic_load(&b->used);

	do {
		if (n > b->cap || cur > b->cap - n)
			return -1;
	} while (!atomic_compare_exchange_weak(&b->used, &cur, cur + n));
	return 0;
}

void wbs__budget_give(wbs__budget *b, size_t n)
{
	atomic_fetch_sub(&b->used, n);
}

/* Resize *buf (holding *taken bytes of budget) to n bytes. 0, or an WBS__INFLATE_ error. */
static int resize(uint8_t **buf, size_t n, wbs__budget *budget, size_t *taken)
{
	uint8_t *nb;

	if (budget && n > *taken) {
		if (wbs__budget_take(budget, n - *taken))
			return WBS__INFLATE_BUSY;
		*taken = n;
	}
	nb = realloc(*buf, n ? n : 1);
	if (!nb)
		return WBS__INFLATE_NOMEM;
	*buf = nb;
	if (budget && n < *taken) {
		wbs__budget_give(budget, *taken - n);
		*taken = n;
	}
	return 0;
}

int wbs__inflate(const uint8_t *in, size_t len, size_t max, wbs__budget *budget, uint8_t **out, size_t *outlen,
		 size_t *held)
{
	z_stream z;
	uint8_t *buf = NULL, probe;
	size_t cap, have = 0, taken = 0;
	int zr, ret = WBS__INFLATE_BAD, inited = 0;

	*out = NULL;
	*outlen = 0;
	if (held)
		*held = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return WBS__INFLATE_NOMEM;
	inited = 1;
	cap = len < max / 4 ? len * 4 : max;
	if (cap < 4096)
		cap = max < 4096 ? max : 4096;
	if ((ret = resize(&buf, cap, budget, &taken)) != 0)
		goto done;
	ret = WBS__INFLATE_BAD;
	z.next_in = (Bytef *)in;
	for (;;) {
		size_t left = len - (size_t)(z.next_in - in);
		int probing = 0;
		uInt room;

		if (have == cap && cap < max) {
			size_t ncap = cap > max / 2 ? max : cap * 2;
			if ((ret = resize(&buf, ncap, budget, &taken)) != 0)
				goto done;
			ret = WBS__INFLATE_BAD;
			cap = ncap;
		}
		if (have == cap) {
			/* At the cap: one byte more of output means the body is too big. */
			probing = 1;
			z.next_out = &probe;
			z.avail_out = 1;
		} else {
			z.next_out = buf + have;
			z.avail_out = (uInt)(cap - have > (1u << 30) ? (1u << 30) : cap - have);
		}
		room = z.avail_out;
		z.avail_in = (uInt)(left > (1u << 30) ? (1u << 30) : left);
		zr = inflate(&z, Z_NO_FLUSH);
		if (probing && z.avail_out == 0) {
			ret = WBS__INFLATE_TOOBIG;
			goto done;
		}
		if (!probing)
			have += room - z.avail_out;
		if (zr == Z_STREAM_END) {
			if ((size_t)(z.next_in - in) == len)
				break;
			if (inflateReset(&z) != Z_OK) /* another gzip member follows */
				goto done;
			continue;
		}
		if (zr == Z_MEM_ERROR) {
			ret = WBS__INFLATE_NOMEM;
			goto done;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			goto done; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
		if ((size_t)(z.next_in - in) == len && z.avail_out > 0)
			goto done; /* all input used, room left, no stream end: truncated */
		if (zr == Z_BUF_ERROR && z.avail_out > 0)
			goto done; /* no progress possible */
	}
	/* Room for the caller's NUL; the rest of the buffer goes back. */
	if (have == SIZE_MAX || (ret = resize(&buf, have + 1, budget, &taken)) != 0) {
		if (have == SIZE_MAX)
			ret = WBS__INFLATE_NOMEM;
		goto done;
	}
	*out = buf;
	*outlen = have;
	if (held)
		*held = taken;
	buf = NULL;
	taken = 0;
	ret = WBS__INFLATE_OK;
done:
	if (inited)
		inflateEnd(&z);
	free(buf);
	if (budget && taken)
		wbs__budget_give(budget, taken);
	return ret;
}

int wbs__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == ' ' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

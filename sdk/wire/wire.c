/*
 * wire.c — frame and METRICS record codec (see wire.h and schema/wire.md).
 *
 * This is the only code that knows the byte layout of a record; both the
 * SDK's writer thread and the server's ingest path go through it, so the
 * disk format and the wire format cannot drift apart. Decoding checks every
 * length against the bytes actually present before reading, because the
 * server feeds it bytes straight from the network.
 */
#include "wire.h"
#include "wire_media.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

void wb__frame_header(uint8_t hdr[WB__FRAME_HEADER], uint64_t seq, uint8_t type, const uint8_t *payload,
		      uint32_t len)
{
	uLong crc;

	wb__put_u32(hdr, len);
	wb__put_u64(hdr + 8, seq);
	hdr[16] = type;
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, hdr + 8, 9);
	if (len)
		crc = crc32_z(crc, payload, len);
	wb__put_u32(hdr + 4, (uint32_t)crc);
}

int wb__frame_decode(const uint8_t *buf, size_t avail, wb__frame *f, size_t *consumed)
{
	uint32_t len, crc;
	uLong got;

	if (avail < WB__FRAME_HEADER)
		return WB__FRAME_SHORT;
	len = wb__get_u32(buf);
	if (len > WB__FRAME_MAX_PAYLOAD)
		return WB__FRAME_BAD;
	if (avail - WB__FRAME_HEADER < len)
		return WB__FRAME_SHORT;
	crc = wb__get_u32(buf + 4);
	got = crc32(0L, Z_NULL, 0);
	got = crc32_z(got, buf + 8, 9 + (size_t)len);
	if ((uint32_t)got != crc)
		return WB__FRAME_BAD;
	f->len = len;
	f->seq = wb__get_u64(buf + 8);
	f->type = buf[16];
	f->payload = buf + WB__FRAME_HEADER;
	*consumed = WB__FRAME_HEADER + (size_t)len;
	return WB__FRAME_OK;
}

int wb__key_valid(const char *key, size_t len)
{
	if (!key || len == 0 || len > WB__KEY_MAX || key[0] == '_')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

int wb__config_key_valid(const char *key, size_t len, char *why, size_t cap)
{
	const char *err = NULL;
	size_t part = 0;

	if (len == 0 || len > WB__CONFIG_KEY_MAX)
		err = "must be 1 to 1024 bytes";
	for (size_t i = 0; !err && i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)key[i] : '.';
		if (ch < 0x20 || ch == 0x7f)
			err = "has a control character";
		else if (ch != '.')
			part++;
		else if (part == 0 || part > WB__CONFIG_PART_MAX)
			err = "has a dotted part that is not 1 to 64 bytes";
		else
			part = 0;
	}
	if (!err && !wb__utf8_valid(key, len))
		err = "is not valid utf-8";
	if (err && why && cap)
		snprintf(why, cap, "config key %s", err);
	return err == NULL;
}

int wb__name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0] || name[0] == '.')
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		if (i >= WB__NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

size_t wb__metrics_size(const wb_metric *m, size_t n)
{
	size_t size = 18;

	if (n == 0 || n > WB__METRICS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t klen;
		if (!m[i].key)
			return 0;
		klen = strnlen(m[i].key, WB__KEY_MAX + 1);
		if (!wb__key_valid(m[i].key, klen))
			return 0;
		size += 1 + klen + 8;
	}
	return size;
}

void wb__metrics_encode(uint8_t *out, int64_t step, double time, const wb_metric *m, size_t n)
{
	uint8_t *p = out;

	wb__put_u64(p, (uint64_t)step);
	wb__put_u64(p + 8, wb__f64_bits(time));
	wb__put_u16(p + 16, (uint16_t)n);
	p += 18;
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(m[i].key);
		*p++ = (uint8_t)klen;
		memcpy(p, m[i].key, klen);
		p += klen;
		wb__put_u64(p, wb__f64_bits(m[i].value));
		p += 8;
	}
}

int wb__metrics_begin(wb__metrics_reader *r, const uint8_t *payload, uint32_t len)
{
	const uint8_t *p, *end = payload + len;

	if (len < 18)
		return -1;
	r->step = (int64_t)wb__get_u64(payload);
	r->time = wb__bits_f64(wb__get_u64(payload + 8));
	r->n = wb__get_u16(payload + 16);
	r->i = 0;
	if (r->n == 0 || r->n > WB__METRICS_MAX || r->step < 0)
		return -1;
	p = payload + 18;
	for (unsigned i = 0; i < r->n; i++) {
		size_t klen;
		if (end - p < 1)
			return -1;
		klen = *p++;
		if ((size_t)(end - p) < klen + 8 || !wb__key_valid((const char *)p, klen))
			return -1;
		p += klen + 8;
	}
	if (p != end)
		return -1;
	r->p = payload + 18;
	r->end = end;
	return 0;
}

int wb__metrics_next(wb__metrics_reader *r, const char **key, size_t *klen, double *value)
{
	if (r->i >= r->n)
		return 0;
	*klen = *r->p++;
	*key = (const char *)r->p;
	r->p += *klen;
	*value = wb__bits_f64(wb__get_u64(r->p));
	r->p += 8;
	r->i++;
	return 1;
}

/* ASCII lower case, without the locale (a path's bytes are not text of the C locale). */
static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* 1 if s[0..n) starts with word (lowercase ASCII) in any case. */
static int ascii_iprefix(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (ascii_lower((unsigned char)s[i]) != (unsigned char)word[i])
			return 0;
	return 1;
}

/* 1 if u[0..3) is the UTF-8 of a code point HFS+ leaves out of names: U+200C..200F, U+202A..202E,
 * U+206A..206F, U+FEFF. */
static int hfs_ignorable(const unsigned char *u)
{
	if (u[0] == 0xe2 && u[1] == 0x80)
		return (u[2] >= 0x8c && u[2] <= 0x8f) || (u[2] >= 0xaa && u[2] <= 0xae);
	if (u[0] == 0xe2 && u[1] == 0x81)
		return u[2] >= 0xaa && u[2] <= 0xaf;
	return u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf;
}

/*
 * 1 if the segment s[0..n) names git's own directory on some file system,
 * the way git's verify_path() sees it: ".git" in any case; on NTFS also
 * followed by dots and spaces (which Windows drops) or a ':' stream name,
 * and its 8.3 short name "git~1"; on HFS+ also with any of the zero-width
 * code points HFS+ ignores in names (git's is_hfs_dotgit list).
 */
static int seg_is_dotgit(const char *s, size_t n)
{
	char plain[4];
	size_t k = 0, rest;

	/* NTFS: ".git" or "git~1", then only dots and spaces up to the end or a ':' */
	rest = ascii_iprefix(s, n, ".git") ? 4 : ascii_iprefix(s, n, "git~1") ? 5 : 0;
	if (rest) {
		while (rest < n && (s[rest] == '.' || s[rest] == ' '))
			rest++;
		if (rest == n || s[rest] == ':')
			return 1;
	}
	/* HFS+: drop the ignorable code points, then ".git" in any case */
	for (size_t i = 0; i < n; i++) {
		if (i + 2 < n && hfs_ignorable((const unsigned char *)s + i)) {
			i += 2;
			continue;
		}
		if (k == 4)
			return 0;
		plain[k++] = s[i];
	}
	return k == 4 && ascii_iprefix(plain, 4, ".git");
}

int wb__art_path_valid(const char *p, size_t len)
{
	size_t seg = 0;

	if (!p || len == 0 || len > WB__ART_PATH_MAX || strlen(p) != len)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)p[i] : '/';
		if (c == '/') {
			const char *s = p + i - seg;
			if (seg == 0 || (seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.') ||
			    seg_is_dotgit(s, seg))
				return 0;
			seg = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
		seg++;
	}
	return 1;
}

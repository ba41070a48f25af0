/*
 * wire_media.c — encode and check the rich-data payloads (wire_media.h).
 *
 * The decoders here are the ones the server runs on bytes from the network
 * (and the fuzzers run on anything), so each checks every length before it
 * reads and accepts only what the SDK would have written: a decoded payload
 * can be stored and served without looking at it again.
 */
#include "wire_media.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

uint8_t *wb__media_hdr_put(uint8_t *out, int64_t step, double time, const char *key, size_t klen)
{
	wb__put_u64(out, (uint64_t)step);
	wb__put_u64(out + 8, wb__f64_bits(time));
	out[16] = (uint8_t)klen;
	memcpy(out + 17, key, klen);
	return out + 17 + klen;
}

int wb__media_hdr_get(wb__media_hdr *h, const uint8_t *payload, size_t len)
{
	size_t klen;

	if (len < 17)
		return -1;
	h->step = (int64_t)wb__get_u64(payload);
	h->time = wb__bits_f64(wb__get_u64(payload + 8));
	klen = payload[16];
	if (h->step < 0 || len - 17 < klen || !wb__key_valid((const char *)payload + 17, klen))
		return -1;
	if (klen >= 7 && memcmp(payload + 17, WB__SYSTEM_PREFIX, 7) == 0)
		return -1;
	h->key = (const char *)payload + 17;
	h->klen = klen;
	h->body = payload + 17 + klen;
	h->blen = len - 17 - klen;
	return 0;
}

void wb__hist_put(uint8_t *out, uint64_t nan, uint64_t pinf, uint64_t ninf, const double *edges, const double *counts,
		  size_t nbins)
{
	wb__put_u64(out, nan);
	wb__put_u64(out + 8, pinf);
	wb__put_u64(out + 16, ninf);
	wb__put_u16(out + 24, (uint16_t)nbins);
	out += 26;
	if (!nbins)
		return;
	for (size_t i = 0; i <= nbins; i++, out += 8)
		wb__put_u64(out, wb__f64_bits(edges[i]));
	for (size_t i = 0; i < nbins; i++, out += 8)
		wb__put_u64(out, wb__f64_bits(counts[i]));
}

int wb__hist_get(wb__hist *h, const uint8_t *body, size_t len)
{
	double prev = 0;

	if (len < 26)
		return -1;
	h->nan = wb__get_u64(body);
	h->pinf = wb__get_u64(body + 8);
	h->ninf = wb__get_u64(body + 16);
	h->nbins = wb__get_u16(body + 24);
	if (h->nbins > WB__HIST_BINS_MAX || len != wb__hist_body_size(h->nbins))
		return -1;
	h->edges = body + 26;
	h->counts = h->edges + (h->nbins ? 8 * ((size_t)h->nbins + 1) : 0);
	for (size_t i = 0; h->nbins && i <= h->nbins; i++) {
		double e = wb__hist_edge(h, i);
		if (!isfinite(e) || (i && e < prev))
			return -1;
		prev = e;
	}
	for (size_t i = 0; i < h->nbins; i++) {
		double c = wb__hist_count(h, i);
		if (!isfinite(c) || c < 0)
			return -1;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

/* Walk JPEG markers to the first start-of-frame; its height and width. */
static void jpeg_size(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
	size_t i = 2;

	while (i + 4 <= n) {
		uint8_t m;
		size_t seglen;
		if (p[i] != 0xFF)
			return;
		m = p[i + 1];
		if (m == 0xFF) { /* fill byte */
			i++;
			continue;
		}
		if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* markers without a length */
			i += 2;
			continue;
		}
		if (m == 0xD9 || m == 0xDA) /* end of image, start of scan: no frame header before it */
			return;
		seglen = be16(p + i + 2);
		if (seglen < 2)
			return;
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			if (seglen < 7 || i + 2 + 7 > n)
				return;
			*h = be16(p + i + 5);
			*w = be16(p + i + 7);
			return;
		}
		i += 2 + seglen;
	}
}

const char *wb__image_sniff(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
	static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	uint32_t ww = 0, hh = 0;
	const char *mime = NULL;

	if (n >= 8 && memcmp(p, png, 8) == 0) {
		mime = "image/png";
		if (n >= 24 && memcmp(p + 12, "IHDR", 4) == 0) {
			ww = be32(p + 16);
			hh = be32(p + 20);
		}
	} else if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
		mime = "image/jpeg";
		jpeg_size(p, n, &ww, &hh);
	}
	if (w)
		*w = ww;
	if (h)
		*h = hh;
	return mime;
}

int wb__image_get(wb__image *im, const uint8_t *body, size_t len)
{
	uint32_t w, h;

	if (len < 2)
		return -1;
	im->caplen = wb__get_u16(body);
	if (im->caplen > WB__CAPTION_MAX || len - 2 < im->caplen + 8)
		return -1;
	im->caption = (const char *)body + 2;
	for (size_t i = 0; i < im->caplen; i++)
		if ((unsigned char)im->caption[i] < 0x20 && im->caption[i] != '\n' && im->caption[i] != '\t')
			return -1;
	im->width = wb__get_u32(body + 2 + im->caplen);
	im->height = wb__get_u32(body + 6 + im->caplen);
	im->bytes = body + 10 + im->caplen;
	im->len = len - 10 - im->caplen;
	if (im->len == 0 || im->len > WB__IMAGE_MAX || im->width > WB__IMAGE_DIM_MAX || im->height > WB__IMAGE_DIM_MAX)
		return -1;
	if (!(im->mime = wb__image_sniff(im->bytes, im->len, &w, &h)) || w > WB__IMAGE_DIM_MAX || h > WB__IMAGE_DIM_MAX)
		return -1;
	/* what the image's own header says wins over what the record claims */
	if (w && h) {
		im->width = w;
		im->height = h;
	}
	return 0;
}

void wb__image_put(uint8_t *out, const char *caption, size_t caplen, uint32_t w, uint32_t h, const uint8_t *bytes,
		   size_t len)
{
	wb__put_u16(out, (uint16_t)caplen);
	if (caplen)
		memcpy(out + 2, caption, caplen);
	wb__put_u32(out + 2 + caplen, w);
	wb__put_u32(out + 6 + caplen, h);
	memcpy(out + 10 + caplen, bytes, len);
}

int wb__table_check(const cJSON *t, char *why, size_t cap)
{
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(t, "columns");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
	const cJSON *c, *row, *cell;
	int ncols, nrows, i = 0, r = 0;

	if (!cJSON_IsObject(t) || !cJSON_IsArray(cols) || !cJSON_IsArray(data)) {
		snprintf(why, cap, "a table is an object {\"columns\": [...], \"data\": [[...], ...]}");
		return -1;
	}
	ncols = cJSON_GetArraySize(cols);
	nrows = cJSON_GetArraySize(data);
	if (ncols < 1 || ncols > (int)WB__TABLE_COLS_MAX || nrows > (int)WB__TABLE_ROWS_MAX) {
		snprintf(why, cap, "a table has 1 to %u columns and at most %u rows", WB__TABLE_COLS_MAX,
			 WB__TABLE_ROWS_MAX);
		return -1;
	}
	cJSON_ArrayForEach(c, cols)
	{
		size_t n = cJSON_IsString(c) ? strlen(c->valuestring) : 0;
		if (n == 0 || n > WB__KEY_MAX) {
			snprintf(why, cap, "table column %d: a column name is a string of 1 to %u bytes", i, WB__KEY_MAX);
			return -1;
		}
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)c->valuestring[k] < 0x20 || c->valuestring[k] == 0x7f) {
				snprintf(why, cap, "table column %d: control character in the name", i);
				return -1;
			}
		for (const cJSON *d = cols->child; d != c; d = d->next)
			if (strcmp(d->valuestring, c->valuestring) == 0) {
				snprintf(why, cap, "table column %d: the name is used twice", i);
				return -1;
			}
		i++;
	}
	cJSON_ArrayForEach(row, data)
	{
		if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != ncols) {
			snprintf(why, cap, "table row %d: a row is an array of %d cells", r, ncols);
			return -1;
		}
		cJSON_ArrayForEach(cell, row)
		{
			if (!(cJSON_IsNumber(cell) || cJSON_IsString(cell) || cJSON_IsBool(cell) || cJSON_IsNull(cell))) {
				snprintf(why, cap, "table row %d: a cell is a number, a string, a boolean or null", r);
				return -1;
			}
		}
		r++;
	}
	return 0;
}

size_t wb__utf8_seq(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = p[0];
	size_t k;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		k = 2, cp = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		k = 3, cp = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		k = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((p[j] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[j] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

int wb__utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if (!(k = wb__utf8_seq(s + i, n - i)))
			return 0;
		i += k;
	}
	return 1;
}

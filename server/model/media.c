/*
 * media.c — decode and validate rich-data records (see media.h).
 */
#include "media.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "wire_media.h"

const char *wbs__media_kind(uint8_t type)
{
	switch (type) {
	case WB__REC_HISTOGRAM: return "histogram";
	case WB__REC_IMAGE: return "image";
	case WB__REC_TABLE: return "table";
	default: return NULL;
	}
}

uint8_t wbs__media_type(const char *kind)
{
	if (strcmp(kind, "histogram") == 0)
		return WB__REC_HISTOGRAM;
	if (strcmp(kind, "image") == 0)
		return WB__REC_IMAGE;
	if (strcmp(kind, "table") == 0)
		return WB__REC_TABLE;
	return 0;
}

void wbs__media_free(wbs__media *m)
{
	if (!m)
		return;
	free(m->data);
	free(m->caption);
	free(m);
}

/* 1 if every string of a checked table (column names, cells) is UTF-8. */
static int strings_utf8(const cJSON *t, char *why, size_t cap)
{
	const cJSON *c, *row, *cell;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "columns"))
	{
		if (!wbs__utf8_valid(c->valuestring, strlen(c->valuestring)))
			goto bad;
	}
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(t, "data"))
	{
		cJSON_ArrayForEach(cell, row)
		{
			if (cJSON_IsString(cell) && !wbs__utf8_valid(cell->valuestring, strlen(cell->valuestring)))
				goto bad;
		}
	}
	return 1;
bad:
	snprintf(why, cap, "a string is not valid utf-8");
	return 0;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

int wbs__media_decode(uint8_t type, const uint8_t *payload, size_t len, wbs__media **out, char *err, size_t errlen)
{
	wbs__media *m = NULL;
	wb__media_hdr h;
	cJSON *t = NULL;
	char why[300];
	int rc = -1;

	*out = NULL;
	if (wb__media_hdr_get(&h, payload, len) || !wbs__utf8_valid(h.key, h.klen)) {
		snprintf(err, errlen, "%s record: bad header (step >= 0, a valid metric key not under \"system/\")",
			 wbs__media_kind(type));
		return -1;
	}
	if (!(m = calloc(1, sizeof(*m))))
		return -2;
	m->type = type;
	memcpy(m->key, h.key, h.klen);
	m->key[h.klen] = '\0';
	m->step = h.step;
	m->time = isfinite(h.time) ? h.time : NAN;
	switch (type) {
	case WB__REC_HISTOGRAM: {
		wb__hist hi;
		if (wb__hist_get(&hi, h.body, h.blen)) {
			snprintf(err, errlen,
				 "histogram %s: malformed (0 to %u bins, finite non-decreasing edges, finite counts >= 0)",
				 m->key, WB__HIST_BINS_MAX);
			goto done;
		}
		if (!(m->data = dup_bytes(h.body, h.blen)))
			goto nomem;
		m->len = h.blen;
		break;
	}
	case WB__REC_IMAGE: {
		wb__image im;
		if (wb__image_get(&im, h.body, h.blen) || !wbs__text_valid(im.caption, im.caplen, 1)) {
			snprintf(err, errlen,
				 "image %s: not a png or jpeg of at most %u bytes with a caption of at most %u bytes of text",
				 m->key, WB__IMAGE_MAX, WB__CAPTION_MAX);
			goto done;
		}
		if (!(m->data = dup_bytes(im.bytes, im.len)) || !(m->caption = malloc(im.caplen + 1)))
			goto nomem;
		memcpy(m->caption, im.caption, im.caplen);
		m->caption[im.caplen] = '\0';
		m->len = im.len;
		m->mime = im.mime;
		m->width = im.width;
		m->height = im.height;
		wbs__sha256_hex(m->data, m->len, m->sha256);
		break;
	}
	case WB__REC_TABLE: {
		char *text;
		if (h.blen > WB__TABLE_MAX) {
			snprintf(err, errlen, "table %s: not json of at most %u bytes", m->key, WB__TABLE_MAX);
			goto done;
		}
		if (!(t = wbs__json_parse((const char *)h.body, h.blen, "the table", why, sizeof(why)))) {
			snprintf(err, errlen, "table %s: %s", m->key, why);
			goto done;
		}
		if (wb__table_check(t, why, sizeof(why)) || !strings_utf8(t, why, sizeof(why))) {
			snprintf(err, errlen, "table %s: %s", m->key, why);
			goto done;
		}
		if (!(text = cJSON_PrintUnformatted(t)))
			goto nomem;
		m->data = (uint8_t *)text;
		m->len = strlen(text);
		break;
	}
	default:
		snprintf(err, errlen, "unknown rich-data record type %u", (unsigned)type);
		goto done;
	}
	*out = m;
	m = NULL;
	rc = 0;
	goto done;
nomem:
	rc = -2;
done:
	cJSON_Delete(t);
	wbs__media_free(m);
	return rc;
}

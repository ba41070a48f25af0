/*
 * handlers_media.c — the routes of a run's rich data:
 *
 *   GET .../runs/{id}/media               kinds and keys, with count and step range
 *   GET .../runs/{id}/media/{kind}?key=K  values of one key (histogram, image, table),
 *                                         at most `samples` of them, evenly spaced
 *   GET .../runs/{id}/images/{sha256}     the bytes of an image of the run
 *
 * Images are served as sent, with the Content-Type their signature gave at
 * ingest (only PNG and JPEG get in) and X-Content-Type-Options: nosniff, so
 * a browser never reinterprets them as anything else. The image route
 * checks that the run has the image: a hash alone does not open another
 * run's files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/media.h"
#include "util/sha256.h"
#include "wire_media.h"

#define SAMPLES_DEFAULT 200
#define SAMPLES_MAX 10000
#define CHUNK 65536

void wbs__h_media_keys(wbs__req *q)
{
	wbs__media_row *rows = NULL;
	wbs__err e = {0};
	size_t n = 0;
	wbs__buf b;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_media_keys(q->store, &q->ref, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"media\":[");
	for (size_t i = 0; i < n; i++) {
		wbs__buf_puts(&b, i ? ",{\"kind\":" : "{\"kind\":");
		wbs__json_cstr(&b, rows[i].kind);
		wbs__buf_puts(&b, ",\"key\":");
		wbs__json_cstr(&b, rows[i].key);
		wbs__buf_puts(&b, ",\"count\":");
		wbs__json_i64(&b, (int64_t)rows[i].count);
		wbs__buf_puts(&b, ",\"first_step\":");
		wbs__json_i64(&b, rows[i].first_step);
		wbs__buf_puts(&b, ",\"last_step\":");
		wbs__json_i64(&b, rows[i].last_step);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	wbs__media_rows_free(rows, n);
	wbs__buf_free(&b);
}

/* One histogram as {"edges":[...],"counts":[...],"nan":n,"inf":n,"neg_inf":n}. */
static void put_histogram(wbs__buf *b, const wbs__media_row *r)
{
	wb__hist h;

	if (!r->data || wb__hist_get(&h, r->data, r->len)) { /* checked at ingest: cannot happen */
		wbs__buf_puts(b, "\"edges\":[],\"counts\":[],\"nan\":0,\"inf\":0,\"neg_inf\":0");
		return;
	}
	wbs__buf_puts(b, "\"edges\":[");
	for (size_t i = 0; h.nbins && i <= h.nbins; i++) {
		if (i)
			wbs__buf_putc(b, ',');
		wbs__json_num17(b, wb__hist_edge(&h, i));
	}
	wbs__buf_puts(b, "],\"counts\":[");
	for (size_t i = 0; i < h.nbins; i++) {
		if (i)
			wbs__buf_putc(b, ',');
		wbs__json_num17(b, wb__hist_count(&h, i));
	}
	wbs__buf_printf(b, "],\"nan\":%llu,\"inf\":%llu,\"neg_inf\":%llu", (unsigned long long)h.nan,
			(unsigned long long)h.pinf, (unsigned long long)h.ninf);
}

void wbs__h_media_values(wbs__req *q)
{
	const char *kind = q->path.seg[6];
	char key[WBS__KEY_PARAM_MAX], val[32];
	wbs__media_row *rows = NULL;
	int64_t start, end, samples = SAMPLES_DEFAULT;
	uint32_t nb;
	uint64_t total = 0;
	uint8_t type = wbs__media_type(kind);
	wbs__err e = {0};
	size_t n = 0;
	wbs__buf b;
	int r;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (!type) {
		wbs__send_error(q, 404, "not_found", "media kinds are histogram, image and table");
		goto done;
	}
	if (wbs__series_params(q, key, sizeof(key), &start, &end, &nb) < 0)
		goto done;
	if ((r = wbs__query_param(q, "samples", 0, val, sizeof(val))) < 0)
		goto done;
	if (r && wbs__parse_i64(val, 1, SAMPLES_MAX, &samples)) {
		wbs__send_error(q, 400, "invalid_argument", "samples must be an integer from 1 to %d", SAMPLES_MAX);
		goto done;
	}
	if (wbs__store_media_values(q->store, &q->ref, kind, key, start, end, (uint32_t)samples, &rows, &n, &total,
				    &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"kind\":");
	wbs__json_cstr(&b, kind);
	wbs__buf_puts(&b, ",\"key\":");
	wbs__json_cstr(&b, key);
	wbs__buf_puts(&b, ",\"total\":");
	wbs__json_i64(&b, (int64_t)total);
	wbs__buf_puts(&b, n < total ? ",\"downsampled\":true,\"values\":[" : ",\"downsampled\":false,\"values\":[");
	for (size_t i = 0; i < n; i++) {
		const wbs__media_row *m = &rows[i];
		wbs__buf_puts(&b, i ? ",{\"step\":" : "{\"step\":");
		wbs__json_i64(&b, m->step);
		wbs__buf_puts(&b, ",\"time\":");
		wbs__json_num_or_null(&b, m->time);
		wbs__buf_putc(&b, ',');
		if (type == WB__REC_HISTOGRAM) {
			put_histogram(&b, m);
		} else if (type == WB__REC_TABLE) {
			/* stored as compact JSON checked at ingest */
			wbs__buf_puts(&b, "\"table\":");
			if (m->data)
				wbs__buf_put(&b, m->data, m->len);
			else
				wbs__buf_puts(&b, "null");
		} else {
			wbs__buf_puts(&b, "\"sha256\":");
			wbs__json_cstr(&b, m->sha256);
			wbs__buf_puts(&b, ",\"mime\":");
			wbs__json_cstr(&b, m->mime);
			wbs__buf_printf(&b, ",\"width\":%u,\"height\":%u,\"bytes\":%llu,\"caption\":", m->width, m->height,
					(unsigned long long)m->bytes);
			wbs__json_cstr(&b, m->caption ? m->caption : "");
		}
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	wbs__media_rows_free(rows, n);
	wbs__buf_free(&b);
}

void wbs__h_image(wbs__req *q)
{
	const char *sha = q->path.seg[6];
	char mime[16], clen[24];
	char *chunk = NULL; /* on the heap: civetweb's worker stacks are small */
	char *path = NULL;
	wbs__err e = {0};
	FILE *f = NULL;
	long size;
	size_t got;

	if (!wbs__sha256_hex_valid(sha)) {
		wbs__send_error(q, 400, "invalid_argument", "an image is named by 64 lowercase hex digits (sha-256)");
		return;
	}
	if (wbs__store_media_file(q->store, &q->ref, sha, &path, mime, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	if (!(chunk = malloc(CHUNK))) {
		wbs__send_error(q, 500, "internal", "out of memory");
		goto done;
	}
	if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		wbs__send_error(q, 500, "internal", "image %s cannot be read: %s", sha, strerror(errno));
		goto done;
	}
	snprintf(clen, sizeof(clen), "%ld", size);
	q->status = 200;
	mg_response_header_start(q->conn, 200);
	mg_response_header_add(q->conn, "Content-Type", mime, -1);
	mg_response_header_add(q->conn, "Content-Length", clen, -1);
	mg_response_header_add(q->conn, "X-Content-Type-Options", "nosniff", -1);
	mg_response_header_add(q->conn, "Content-Security-Policy", "default-src 'none'", -1);
	mg_response_header_add(q->conn, "Cache-Control", "private, max-age=31536000, immutable", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	mg_response_header_send(q->conn);
	if (strcmp(q->ri->request_method, "HEAD") != 0)
		while ((got = fread(chunk, 1, CHUNK, f)) > 0)
			if (mg_write(q->conn, chunk, got) <= 0)
				break;
done:
	if (f)
		fclose(f);
	free(chunk);
	free(path);
}

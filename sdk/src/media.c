/*
 * media.c — rich data: histograms, images and tables (wb_run_log_histogram,
 * wb_run_log_image, wb_run_log_table and their variants).
 *
 * These are not the hot path: a histogram of a million gradients is binned
 * here, an RGB buffer is compressed to PNG here, a table is parsed and
 * checked here, all on the calling thread and before the ring lock, with
 * ordinary allocation. What happens under the lock is what wb_run_log does,
 * through the same code (wb__run_push_at, run.c): settle the step, reserve
 * space in the ring, copy, publish. So the record
 * lands in the run log in the order of the calls, and on the server exactly
 * like every other record (schema/wire.md, records 16-18).
 *
 * Steps: an explicit step obeys wb_run_log's rule (never below the last step)
 * and becomes the run's last step; WB_STEP_AUTO attaches the record to the
 * run's current step (the last one logged, 0 before any), so a histogram
 * logged after the step's metrics sits next to them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "png.h"
#include "run.h"
#include "util.h"
#include "jsoncheck.h"
#include "wire_media.h"

/* Validate the key: 0, or an error code with the message set. */
static int media_key(const char *key, const char *what)
{
	size_t klen;

	if (!key)
		return wb__error(WB_EINVAL, "%s: key must not be NULL", what);
	klen = strnlen(key, WB__KEY_MAX + 1);
	if (!wb__key_valid(key, klen))
		return wb__error(WB_EINVAL,
				 "%s: a key is 1 to %u bytes without control characters and does not start with '_'",
				 what, WB__KEY_MAX);
	if (strncmp(key, WB__SYSTEM_PREFIX, 7) == 0)
		return wb__error(WB_EINVAL, "%s: keys under \"system/\" are reserved for system metrics", what);
	return WB_OK;
}

typedef struct media_arg {
	const char *key;
	size_t klen;
	const uint8_t *body;
	size_t blen;
} media_arg;

static void media_fill(uint8_t *p, int64_t s, double t, const void *arg)
{
	const media_arg *a = arg;

	p = wb__media_hdr_put(p, s, t, a->key, a->klen);
	memcpy(p, a->body, a->blen);
}

/*
 * Push a rich-data record: the common header (step settled by
 * wb__run_push_at: WB_STEP_AUTO is the metrics' last step) followed by
 * body[0..blen).
 */
static int media_push(wb_run *run, uint8_t type, const char *key, int64_t step, const uint8_t *body, size_t blen,
		      double wall)
{
	media_arg a = {key, strlen(key), body, blen};

	return wb__run_push_at(run, type, wb__media_hdr_size(a.klen) + blen, step, WB__STEP_SAME,
			       isfinite(wall) && wall > 0 ? wall : wb__wall_s(),
			       media_fill, &a);
}

/* ---- histograms ---- */

int wb_run_log_histogram_bins(wb_run *run, const char *key, const double *edges, const double *counts, size_t nbins,
			  int64_t step)
{
	return wb__log_histogram_bins_at(run, key, edges, counts, nbins, step, 0);
}

int wb__log_histogram_bins_at(wb_run *run, const char *key, const double *edges, const double *counts, size_t nbins,
			      int64_t step, double wall)
{
	uint8_t *body = NULL;
	size_t blen;
	int rc;

	if (!run || !edges || !counts)
		return wb__error(WB_EINVAL, "wb_run_log_histogram_bins: run, edges and counts must not be NULL");
	if ((rc = media_key(key, "wb_run_log_histogram_bins")))
		return rc;
	if (nbins == 0 || nbins > WB__HIST_BINS_MAX)
		return wb__error(WB_EINVAL, "wb_run_log_histogram_bins: 1 to %u bins, not %zu", WB__HIST_BINS_MAX, nbins);
	for (size_t i = 0; i <= nbins; i++)
		if (!isfinite(edges[i]) || (i && edges[i] < edges[i - 1]))
			return wb__error(WB_EINVAL, "wb_run_log_histogram_bins: edge %zu is not finite or below the one before", i);
	for (size_t i = 0; i < nbins; i++)
		if (!isfinite(counts[i]) || counts[i] < 0)
			return wb__error(WB_EINVAL, "wb_run_log_histogram_bins: count %zu is not a finite number >= 0", i);
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	blen = wb__hist_body_size(nbins);
	if (!(body = malloc(blen)))
		return wb__error(WB_ENOMEM, "out of memory");
	wb__hist_put(body, 0, 0, 0, edges, counts, nbins);
	rc = media_push(run, WB__REC_HISTOGRAM, key, step, body, blen, wall);
	free(body);
	return rc;
}

/*
 * Bin values into WB__HIST_BINS_DEFAULT equal bins between the smallest and
 * the largest finite value (the last bin closed, as numpy does); NaN, +Inf
 * and -Inf are counted apart. All values equal: one bin [v, v]. No finite
 * value: no bins, only the counts apart.
 */
int wb_run_log_histogram(wb_run *run, const char *key, const double *values, size_t n, int64_t step)
{
	double lo = INFINITY, hi = -INFINITY, *edges = NULL, *counts = NULL;
	uint64_t nan = 0, pinf = 0, ninf = 0, finite = 0;
	size_t nbins = 0, blen;
	uint8_t *body = NULL;
	int rc;

	if (!run || !values)
		return wb__error(WB_EINVAL, "wb_run_log_histogram: run and values must not be NULL");
	if ((rc = media_key(key, "wb_run_log_histogram")))
		return rc;
	if (n == 0)
		return wb__error(WB_EINVAL, "wb_run_log_histogram: no values");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	for (size_t i = 0; i < n; i++) {
		double v = values[i];
		if (isnan(v))
			nan++;
		else if (isinf(v))
			v > 0 ? pinf++ : ninf++;
		else {
			finite++;
			if (v < lo)
				lo = v;
			if (v > hi)
				hi = v;
		}
	}
	if (finite)
		nbins = lo == hi || !isfinite(hi - lo) ? 1 : WB__HIST_BINS_DEFAULT;
	blen = wb__hist_body_size(nbins);
	edges = malloc((nbins + 1) * sizeof(*edges));
	counts = calloc(nbins + 1, sizeof(*counts));
	body = malloc(blen);
	if (!edges || !counts || !body) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if (nbins) {
		/* edges by interpolation, not by repeated addition, so the last is exactly hi */
		for (size_t i = 0; i <= nbins; i++)
			edges[i] = i == nbins ? hi : lo + (hi - lo) * ((double)i / (double)nbins);
		for (size_t i = 0; i < n; i++) {
			double v = values[i];
			size_t b;
			if (!isfinite(v))
				continue;
			b = nbins == 1 ? 0 : (size_t)((v - lo) / (hi - lo) * (double)nbins);
			if (b >= nbins)
				b = nbins - 1;
			/* rounding can put v one bin off its edges; settle it against them */
			while (b > 0 && v < edges[b])
				b--;
			while (b + 1 < nbins && v >= edges[b + 1])
				b++;
			counts[b] += 1;
		}
	}
	wb__hist_put(body, nan, pinf, ninf, edges, counts, nbins);
	rc = media_push(run, WB__REC_HISTOGRAM, key, step, body, blen, 0);
done:
	free(edges);
	free(counts);
	free(body);
	return rc;
}

/* ---- images ---- */

static int log_image(wb_run *run, const char *key, const void *png_or_jpeg, size_t len, const char *caption,
		     int64_t step, double wall)
{
	uint32_t w, h;
	size_t caplen = 0;
	uint8_t *body = NULL;
	int rc;

	if (!run || !png_or_jpeg)
		return wb__error(WB_EINVAL, "wb_run_log_image: run and image must not be NULL");
	if ((rc = media_key(key, "wb_run_log_image")))
		return rc;
	if (len == 0 || len > WB__IMAGE_MAX)
		return wb__error(WB_EINVAL, "wb_run_log_image: an image is 1 to %u bytes, not %zu", WB__IMAGE_MAX, len);
	if (!wb__image_sniff(png_or_jpeg, len, &w, &h))
		return wb__error(WB_EINVAL, "wb_run_log_image: the bytes are neither a png nor a jpeg");
	if (w > WB__IMAGE_DIM_MAX || h > WB__IMAGE_DIM_MAX)
		return wb__error(WB_EINVAL, "wb_run_log_image: %ux%u is larger than %u pixels on a side", w, h,
				 WB__IMAGE_DIM_MAX);
	if (caption) {
		caplen = strnlen(caption, WB__CAPTION_MAX + 1);
		if (caplen > WB__CAPTION_MAX)
			return wb__error(WB_EINVAL, "wb_run_log_image: a caption is at most %u bytes", WB__CAPTION_MAX);
		for (size_t i = 0; i < caplen; i++)
			if ((unsigned char)caption[i] < 0x20 && caption[i] != '\n' && caption[i] != '\t')
				return wb__error(WB_EINVAL, "wb_run_log_image: control character in the caption");
	}
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if (!(body = malloc(wb__image_body_size(caplen, len))))
		return wb__error(WB_ENOMEM, "out of memory");
	wb__image_put(body, caption, caplen, w, h, png_or_jpeg, len);
	rc = media_push(run, WB__REC_IMAGE, key, step, body, wb__image_body_size(caplen, len), wall);
	free(body);
	return rc;
}

int wb_run_log_image(wb_run *run, const char *key, const void *png_or_jpeg, size_t len, const char *caption, int64_t step)
{
	return log_image(run, key, png_or_jpeg, len, caption, step, 0);
}

int wb__log_image_at(wb_run *run, const char *key, const void *bytes, size_t len, int64_t step, double wall)
{
	return log_image(run, key, bytes, len, NULL, step, wall);
}

int wb_run_log_image_rgb(wb_run *run, const char *key, const uint8_t *rgb, uint32_t width, uint32_t height,
		     const char *caption, int64_t step)
{
	uint8_t *png = NULL;
	size_t len;
	int rc;

	if (!run || !rgb)
		return wb__error(WB_EINVAL, "wb_run_log_image_rgb: run and pixels must not be NULL");
	if ((rc = media_key(key, "wb_run_log_image_rgb")))
		return rc;
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if ((rc = wb__png_encode_rgb(rgb, width, height, &png, &len)))
		return rc;
	rc = wb_run_log_image(run, key, png, len, caption, step);
	free(png);
	return rc;
}

/* ---- tables ---- */

int wb_run_log_table(wb_run *run, const char *key, const char *json, int64_t step)
{
	return wb__log_table_at(run, key, json, step, 0);
}

int wb__log_table_at(wb_run *run, const char *key, const char *json, int64_t step, double wall)
{
	char why[300], *text = NULL;
	cJSON *t = NULL;
	size_t len;
	int rc;

	if (!run || !json)
		return wb__error(WB_EINVAL, "wb_run_log_table: run and json must not be NULL");
	if ((rc = media_key(key, "wb_run_log_table")))
		return rc;
	len = strnlen(json, WB__TABLE_MAX + 1);
	if (len > WB__TABLE_MAX)
		return wb__error(WB_EINVAL, "wb_run_log_table: a table is at most %u bytes of json", WB__TABLE_MAX);
	/* cJSON would send "\u0000", a repeated key or 1e400 changed, and the server refuses invalid UTF-8 */
	if (wb__json_check(json, len, why, sizeof(why)) == WB__JSON_REFUSED) {
		rc = wb__error(WB_EINVAL, "wb_run_log_table: %s", why);
		goto done;
	}
	if (!(t = wb__json_parse(json, len))) {
		rc = wb__error(WB_EINVAL, "wb_run_log_table: the table is not valid json");
		goto done;
	}
	if (wb__table_check(t, why, sizeof(why))) {
		rc = wb__error(WB_EINVAL, "wb_run_log_table: %s", why);
		goto done;
	}
	if (run->mode == WB_MODE_DISABLED) {
		rc = WB_OK;
		goto done;
	}
	/* send it as cJSON prints it: compact, and what the server will parse */
	if ((rc = wb__json_print(t, &text, &len)))
		goto done;
	if (len > WB__TABLE_MAX) {
		rc = wb__error(WB_EINVAL, "wb_run_log_table: a table is at most %u bytes of json", WB__TABLE_MAX);
		goto done;
	}
	rc = media_push(run, WB__REC_TABLE, key, step, (const uint8_t *)text, len, wall);
done:
	cJSON_Delete(t);
	free(text);
	return rc;
}

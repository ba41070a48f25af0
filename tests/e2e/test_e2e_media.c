/*
 * End-to-end: rich data. The real SDK logs histograms (raw values and
 * precomputed bins), images (PNG and JPEG bytes, RGB pixels encoded to PNG
 * by the SDK) and tables to a real `wb server`; the API returns exactly
 * what was logged: bin edges and counts, NaN/Inf counted apart,
 * downsampling to at most N steps, image bytes byte for byte with their
 * Content-Type and nosniff, tables cell for cell. Bad input is refused by
 * the SDK with WB_EINVAL, and by the server with 400 when a hand-made body
 * carries it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "../frames.h"
#include "harness.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"


static wbt_server srv;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	return wbt_server_tmp(&srv, "", tmp, sizeof(tmp), "media");
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
}

static wb_run *start_run(char *id, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char dir[512];
	wb_run *r = NULL;

	snprintf(dir, sizeof dir, "%s/wbdir", tmp);
	o.project = "media";
	o.entity = "tester";
	o.dir = dir;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, cap, "%s", wb_run_id(r));
	return r;
}

static cJSON *get(const char *id, const char *what)
{
	char path[1024];
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/%s", id, what);
	return wbt_get_json(&srv, path);
}

static void test_e2e_media__histograms(void **state)
{
	double vals[1000], edges[4] = {-1, 0, 0.5, 2}, counts[3] = {3, 0, 2.5};
	char id[64];
	wb_run *r;
	cJSON *j, *v, *h;

	(void)state;
	r = start_run(id, sizeof id);
	/* steps 0..9: values 0..999 scaled by the step + 1, plus NaN/Inf at step 9 */
	for (int s = 0; s < 10; s++) {
		for (int i = 0; i < 1000; i++)
			vals[i] = (double)i * (s + 1);
		if (s == 9) {
			vals[0] = NAN;
			vals[1] = INFINITY;
			vals[2] = INFINITY;
			vals[3] = -INFINITY;
		}
		assert_int_equal(WB_LOG(r, s, {"loss", 1.0 / (s + 1)}), WB_OK);
		assert_int_equal(wb_log_histogram(r, "grad/w", vals, 1000, WB_STEP_AUTO), WB_OK);
	}
	assert_int_equal(wb_log_histogram_bins(r, "pre", edges, counts, 3, 12), WB_OK);
	assert_int_equal(wb_run_step(r), 12);
	/* one value only: one bin [v, v] */
	vals[0] = 4.25;
	assert_int_equal(wb_log_histogram(r, "one", vals, 1, WB_STEP_AUTO), WB_OK);
	/* bad input refused by the SDK */
	assert_int_equal(wb_log_histogram(r, "x", vals, 0, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "_x", vals, 1, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "system/x", vals, 1, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "x", vals, 1, 3), WB_EINVAL); /* below the last step */
	edges[1] = -2;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	edges[1] = 0;
	counts[0] = -1;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	counts[0] = NAN;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 0, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	j = get(id, "media");
	assert_non_null(j);
	v = cJSON_GetObjectItem(j, "media");
	assert_int_equal(cJSON_GetArraySize(v), 3);
	h = cJSON_GetArrayItem(v, 0);
	assert_string_equal(cJSON_GetObjectItem(h, "kind")->valuestring, "histogram");
	assert_string_equal(cJSON_GetObjectItem(h, "key")->valuestring, "grad/w");
	assert_int_equal(cJSON_GetObjectItem(h, "count")->valueint, 10);
	assert_int_equal(cJSON_GetObjectItem(h, "first_step")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(h, "last_step")->valueint, 9);
	cJSON_Delete(j);

	/* every step, exactly: 64 bins over [0, 999 * (s + 1)], 1000 / 64 values per bin */
	j = get(id, "media/histogram?key=grad%2Fw");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 10);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	v = cJSON_GetObjectItem(j, "values");
	assert_int_equal(cJSON_GetArraySize(v), 10);
	for (int s = 0; s < 10; s++) {
		cJSON *e, *c;
		double sum = 0, hi = 999.0 * (s + 1);
		h = cJSON_GetArrayItem(v, s);
		assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, s);
		e = cJSON_GetObjectItem(h, "edges");
		c = cJSON_GetObjectItem(h, "counts");
		assert_int_equal(cJSON_GetArraySize(e), 65);
		assert_int_equal(cJSON_GetArraySize(c), 64);
		assert_true(cJSON_GetArrayItem(e, 0)->valuedouble == (s == 9 ? 40.0 : 0.0));
		assert_true(cJSON_GetArrayItem(e, 64)->valuedouble == hi);
		for (int b = 0; b < 64; b++) {
			double lo = cJSON_GetArrayItem(e, b)->valuedouble, up = cJSON_GetArrayItem(e, b + 1)->valuedouble;
			int expect = 0;
			for (int i = s == 9 ? 4 : 0; i < 1000; i++) {
				double x = (double)i * (s + 1);
				if (x >= lo && (x < up || (b == 63 && x <= up)))
					expect++;
			}
			assert_true(cJSON_GetArrayItem(c, b)->valuedouble == expect);
			sum += cJSON_GetArrayItem(c, b)->valuedouble;
		}
		assert_true(sum == (s == 9 ? 996 : 1000));
		assert_int_equal(cJSON_GetObjectItem(h, "nan")->valueint, s == 9 ? 1 : 0);
		assert_int_equal(cJSON_GetObjectItem(h, "inf")->valueint, s == 9 ? 2 : 0);
		assert_int_equal(cJSON_GetObjectItem(h, "neg_inf")->valueint, s == 9 ? 1 : 0);
	}
	cJSON_Delete(j);

	/* downsampled to 4 of 10 steps, evenly spaced, first and last kept */
	j = get(id, "media/histogram?key=grad%2Fw&samples=4");
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	v = cJSON_GetObjectItem(j, "values");
	assert_int_equal(cJSON_GetArraySize(v), 4);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "step")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "step")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 2), "step")->valueint, 6);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 3), "step")->valueint, 9);
	cJSON_Delete(j);
	/* a step range */
	j = get(id, "media/histogram?key=grad%2Fw&start=2&end=4");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 3);
	cJSON_Delete(j);

	/* precomputed bins, as given */
	j = get(id, "media/histogram?key=pre");
	assert_non_null(j);
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, 12);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "edges"), 2)->valuedouble == 0.5);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "counts"), 2)->valuedouble == 2.5);
	cJSON_Delete(j);
	j = get(id, "media/histogram?key=one");
	assert_non_null(j);
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, 12); /* WB_STEP_AUTO: the current step */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "counts")), 1);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "edges"), 1)->valuedouble == 4.25);
	cJSON_Delete(j);

	/* bad routes */
	assert_null(get(id, "media/video?key=a"));
	assert_null(get(id, "media/histogram"));
	assert_null(get(id, "media/histogram?key=a&samples=0"));
	assert_null(get("nosuchrun", "media"));
}

/* A resumed run continues from the step of its last rich-data record. */
static void test_e2e_media__resume_keeps_step(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	double v = 1;
	char id[64], dir[512];
	wb_run *r;

	(void)state;
	r = start_run(id, sizeof id);
	assert_int_equal(WB_LOG(r, 3, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_log_histogram(r, "h", &v, 1, 50), WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	snprintf(dir, sizeof dir, "%s/wbdir", tmp);
	o.project = "media";
	o.entity = "tester";
	o.dir = dir;
	o.run_id = id;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	assert_int_equal(wb_run_step(r), 50);
	assert_int_equal(WB_LOG(r, 49, {"loss", 1.0}), WB_EINVAL);
	assert_int_equal(WB_LOG(r, WB_STEP_AUTO, {"loss", 1.0}), WB_OK);
	assert_int_equal(wb_run_step(r), 51);
	assert_int_equal(wb_finish(r, 0), WB_OK);
}

/* GET path with curl, keeping the body and the response headers. */
typedef struct {
	char *p;
	size_t n;
} mem;

static size_t mem_put(char *d, size_t sz, size_t nm, void *u)
{
	mem *m = u;
	char *p = realloc(m->p, m->n + sz * nm + 1);
	assert_non_null(p);
	memcpy(p + m->n, d, sz * nm);
	m->n += sz * nm;
	p[m->n] = '\0';
	m->p = p;
	return sz * nm;
}

static long fetch(const char *path, mem *body, mem *headers)
{
	char url[1024], auth[256];
	struct curl_slist *hl = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof url, "%s%s", srv.url, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", srv.key);
	hl = curl_slist_append(hl, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_put);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, mem_put);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, headers);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return status;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Decode an 8-bit RGB PNG with one or more IDAT chunks (any filter) into rgb; checks every CRC. */
static void png_decode(const uint8_t *p, size_t n, uint32_t w, uint32_t h, uint8_t *rgb)
{
	size_t off = 8, zlen = 0, stride = (size_t)w * 3;
	uint8_t *z = NULL, *raw = malloc((stride + 1) * h);
	uLongf rawlen = (uLongf)((stride + 1) * h);
	int seen_end = 0;

	assert_non_null(raw);
	assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
	while (off + 12 <= n) {
		uint32_t len = be32(p + off);
		const uint8_t *type = p + off + 4;
		assert_true(off + 12 + len <= n);
		assert_int_equal(be32(p + off + 8 + len), (uint32_t)crc32(0, type, 4 + len));
		if (memcmp(type, "IHDR", 4) == 0) {
			assert_int_equal(be32(p + off + 8), w);
			assert_int_equal(be32(p + off + 12), h);
			assert_int_equal(p[off + 16], 8);
			assert_int_equal(p[off + 17], 2);
		} else if (memcmp(type, "IDAT", 4) == 0) {
			z = realloc(z, zlen + len);
			memcpy(z + zlen, p + off + 8, len);
			zlen += len;
		} else if (memcmp(type, "IEND", 4) == 0) {
			seen_end = 1;
		}
		off += 12 + len;
	}
	assert_true(seen_end && off == n);
	assert_int_equal(uncompress(raw, &rawlen, z, (uLong)zlen), Z_OK);
	assert_int_equal(rawlen, (stride + 1) * h);
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *src = raw + y * (stride + 1);
		uint8_t *dst = rgb + y * stride, *up = y ? rgb + (y - 1) * stride : NULL;
		for (size_t x = 0; x < stride; x++) {
			int a = x >= 3 ? dst[x - 3] : 0, b = up ? up[x] : 0, c = up && x >= 3 ? up[x - 3] : 0, pr = 0;
			switch (src[0]) {
			case 0: pr = 0; break;
			case 1: pr = a; break;
			case 2: pr = b; break;
			case 3: pr = (a + b) / 2; break;
			case 4: {
				int pp = a + b - c, pa = abs(pp - a), pb = abs(pp - b), pc = abs(pp - c);
				pr = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
				break;
			}
			default: fail_msg("bad png filter %d", src[0]); break;
			}
			dst[x] = (uint8_t)(src[1 + x] + pr);
		}
	}
	free(z);
	free(raw);
}

/* A tiny baseline JPEG header (SOI, APP0, SOF0 of 3x2, EOI): enough for its signature and size. */
static const uint8_t JPEG[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
			       0xFF, 0xC0, 0x00, 0x11, 8, 0x00, 0x02, 0x00, 0x03, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
			       0xFF, 0xD9};

static void test_e2e_media__images(void **state)
{
	enum { W = 37, H = 23 };
	static uint8_t rgb[W * H * 3], back[W * H * 3];
	const char *xss = "<img src=x onerror=alert(1)> \"quoted\" & caf\xc3\xa9";
	char id[64], path[512], sha_png[65] = "", sha_jpg[65] = "";
	mem body = {0}, hdr = {0};
	wb_run *r;
	cJSON *j, *v, *im;

	(void)state;
	for (int i = 0; i < W * H * 3; i++)
		rgb[i] = (uint8_t)(i * 7 + (i / (W * 3)) * 13);
	r = start_run(id, sizeof id);
	assert_int_equal(wb_log_image_rgb(r, "samples", rgb, W, H, xss, 1), WB_OK);
	assert_int_equal(wb_log_image(r, "samples", JPEG, sizeof JPEG, NULL, 2), WB_OK);
	assert_int_equal(wb_log_image(r, "samples", JPEG, sizeof JPEG, "again", 3), WB_OK);
	/* not an image, empty, bad caption, bad size */
	assert_int_equal(wb_log_image(r, "bad", "GIF89a....", 10, NULL, 3), WB_EINVAL);
	assert_int_equal(wb_log_image(r, "bad", JPEG, 0, NULL, 3), WB_EINVAL);
	assert_int_equal(wb_log_image(r, "bad", JPEG, sizeof JPEG, "bell\a", 3), WB_EINVAL);
	assert_int_equal(wb_log_image_rgb(r, "bad", rgb, 0, H, NULL, 3), WB_EINVAL);
	assert_int_equal(wb_log_image_rgb(r, "bad", rgb, 20000, 1, NULL, 3), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	j = get(id, "media/image?key=samples");
	assert_non_null(j);
	v = cJSON_GetObjectItem(j, "values");
	assert_int_equal(cJSON_GetArraySize(v), 3);
	im = cJSON_GetArrayItem(v, 0);
	assert_int_equal(cJSON_GetObjectItem(im, "step")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(im, "mime")->valuestring, "image/png");
	assert_string_equal(cJSON_GetObjectItem(im, "caption")->valuestring, xss);
	assert_int_equal(cJSON_GetObjectItem(im, "width")->valueint, W);
	assert_int_equal(cJSON_GetObjectItem(im, "height")->valueint, H);
	snprintf(sha_png, sizeof sha_png, "%s", cJSON_GetObjectItem(im, "sha256")->valuestring);
	im = cJSON_GetArrayItem(v, 1);
	assert_string_equal(cJSON_GetObjectItem(im, "mime")->valuestring, "image/jpeg");
	assert_string_equal(cJSON_GetObjectItem(im, "caption")->valuestring, "");
	assert_int_equal(cJSON_GetObjectItem(im, "width")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(im, "height")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(im, "bytes")->valueint, (int)sizeof JPEG);
	snprintf(sha_jpg, sizeof sha_jpg, "%s", cJSON_GetObjectItem(im, "sha256")->valuestring);
	/* the same bytes at step 3: the same file */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 2), "sha256")->valuestring, sha_jpg);
	cJSON_Delete(j);

	/* the PNG the SDK encoded decodes to the pixels logged */
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/images/%s", id, sha_png);
	assert_int_equal(fetch(path, &body, &hdr), 200);
	assert_non_null(strcasestr(hdr.p, "Content-Type: image/png\r\n"));
	assert_non_null(strcasestr(hdr.p, "X-Content-Type-Options: nosniff\r\n"));
	png_decode((const uint8_t *)body.p, body.n, W, H, back);
	assert_memory_equal(back, rgb, sizeof rgb);
	free(body.p);
	free(hdr.p);
	body = (mem){0};
	hdr = (mem){0};
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/images/%s", id, sha_jpg);
	assert_int_equal(fetch(path, &body, &hdr), 200);
	assert_non_null(strcasestr(hdr.p, "Content-Type: image/jpeg\r\n"));
	assert_int_equal(body.n, sizeof JPEG);
	assert_memory_equal(body.p, JPEG, sizeof JPEG);
	free(body.p);
	free(hdr.p);
	/* stored once, content-addressed, under the data directory */
	snprintf(path, sizeof path, "%s/media/%.2s/%s", srv.data, sha_jpg, sha_jpg);
	{
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		fclose(f);
	}
	/* a hash the run does not have, a malformed one */
	snprintf(path, sizeof path, "images/%064d", 0);
	assert_null(get(id, path));
	assert_null(get(id, "images/..%2F..%2Fwb.db"));
}

/* A 5 MiB image (bigger than one upload batch and than the default buffer's half) round-trips. */
static void test_e2e_media__large_image(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	size_t n = 5u << 20;
	uint8_t *img = malloc(WB__IMAGE_MAX + 1);
	char dir[512], id[64], path[512];
	mem body = {0}, hdr = {0};
	wb_run *r = NULL;
	cJSON *j;

	(void)state;
	assert_non_null(img);
	for (size_t i = 0; i < WB__IMAGE_MAX + 1; i++)
		img[i] = (uint8_t)(i * 2654435761u >> 13);
	memcpy(img, JPEG, 20); /* a JPEG signature and header, then bytes */
	snprintf(dir, sizeof dir, "%s/wbdir", tmp);
	o.project = "media";
	o.entity = "tester";
	o.dir = dir;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	/* the default 8 MiB buffer holds records of up to 4 MiB */
	assert_int_equal(wb_log_image(r, "big", img, n, NULL, 0), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	o.buffer_bytes = 32u << 20;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, sizeof id, "%s", wb_run_id(r));
	assert_int_equal(wb_log_image(r, "big", img, WB__IMAGE_MAX + 1, NULL, 0), WB_EINVAL);
	assert_int_equal(wb_log_image(r, "big", img, n, "five MiB", 0), WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	j = get(id, "media/image?key=big");
	assert_non_null(j);
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/images/%s", id,
		 cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0), "sha256")->valuestring);
	cJSON_Delete(j);
	assert_int_equal(fetch(path, &body, &hdr), 200);
	assert_int_equal(body.n, n);
	assert_memory_equal(body.p, img, n);
	free(body.p);
	free(hdr.p);
	free(img);
}

static void image_sha(const char *id, const char *key, char sha[65])
{
	char what[256];
	cJSON *j;

	snprintf(what, sizeof what, "media/image?key=%s", key);
	assert_non_null(j = get(id, what));
	snprintf(sha, 65, "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0), "sha256")->valuestring);
	cJSON_Delete(j);
}

static int media_file_exists(const char *sha)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof path, "%s/media/%.2s/%s", srv.data, sha, sha);
	return stat(path, &st) == 0;
}

/*
 * `wb backup` copies the image files with the database; deleting the run
 * deletes its rich data, and the image files no other run has.
 */
static void test_e2e_media__backup_and_delete(void **state)
{
	static uint8_t own[4 * 4 * 3];
	char id[64], other[64], dest[512], path[1024], sha[65], sha_own[65], sha_kept[65];
	wbt_response resp;
	struct stat st;
	wb_run *r;

	(void)state;
	/* bytes only this run has, and bytes another run shares */
	for (size_t i = 0; i < sizeof own; i++)
		own[i] = (uint8_t)(i * 31 + 7);
	r = start_run(id, sizeof id);
	assert_int_equal(wb_log_image(r, "kept", JPEG, sizeof JPEG, "backed up", 0), WB_OK);
	assert_int_equal(wb_log_image_rgb(r, "own", own, 4, 4, NULL, 0), WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	r = start_run(other, sizeof other);
	assert_int_equal(wb_log_image(r, "shared", JPEG, sizeof JPEG, NULL, 0), WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);
	image_sha(id, "kept", sha);
	image_sha(id, "own", sha_own);
	image_sha(other, "shared", sha_kept);
	assert_string_equal(sha, sha_kept);
	assert_true(media_file_exists(sha_own));
	snprintf(dest, sizeof dest, "%s/backup", tmp);
	assert_int_equal(wbt_wbl("backup", dest, "--data", srv.data, NULL), 0);
	snprintf(path, sizeof path, "%s/media/%.2s/%s", dest, sha, sha);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof JPEG);

	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s", id);
	assert_int_equal(wbt_http(&srv, "DELETE", path, NULL, 0, NULL, 1, &resp), 0);
	assert_true(resp.status == 200 || resp.status == 204);
	wbt_response_free(&resp);
	assert_null(get(id, "media"));
	assert_null(get(id, "media/image?key=kept"));
	/* the file only the deleted run named is gone; the shared one stays, and still serves */
	assert_false(media_file_exists(sha_own));
	assert_true(media_file_exists(sha));
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/images/%s", other, sha);
	{
		mem body = {0}, hdr = {0};
		assert_int_equal(fetch(path, &body, &hdr), 200);
		assert_int_equal(body.n, sizeof JPEG);
		free(body.p);
		free(hdr.p);
	}
	/* deleting the project takes the last run that had it */
	assert_int_equal(wbt_http(&srv, "DELETE", "/api/v1/projects/tester/media", NULL, 0, NULL, 1, &resp), 0);
	assert_int_equal(resp.status, 200);
	wbt_response_free(&resp);
	assert_false(media_file_exists(sha));
	/* no row is left behind by the run */
	{
		char db[600];
		sqlite3 *h = NULL;
		sqlite3_stmt *q = NULL;
		wbt_db_path(&srv, db, sizeof db);
		assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM media WHERE run_id NOT IN (SELECT id FROM runs)",
						    -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 0);
		sqlite3_finalize(q);
		sqlite3_close(h);
	}
}

static void test_e2e_media__tables(void **state)
{
	const char *t1 = "{\"columns\":[\"name\",\"score\",\"ok\"],\"data\":[[\"<script>alert(1)</script>\",1.5,true],"
			 "[\"b\",null,false]]}";
	char id[64];
	wb_run *r;
	cJSON *j, *t, *want;

	(void)state;
	r = start_run(id, sizeof id);
	assert_int_equal(wb_log_table(r, "preds", t1, 5), WB_OK);
	assert_int_equal(wb_log_table(r, "preds", "{\"columns\":[\"a\"],\"data\":[]}", 6), WB_OK);
	assert_int_equal(wb_log_table(r, "bad", "{\"columns\":[\"a\"],\"data\":[[1,2]]}", 6), WB_EINVAL);
	assert_int_equal(wb_log_table(r, "bad", "{\"columns\":[\"a\",\"a\"],\"data\":[]}", 6), WB_EINVAL);
	assert_int_equal(wb_log_table(r, "bad", "{\"columns\":[\"a\"],\"data\":[[{\"x\":1}]]}", 6), WB_EINVAL);
	assert_int_equal(wb_log_table(r, "bad", "{\"columns\":[],\"data\":[]}", 6), WB_EINVAL);
	assert_int_equal(wb_log_table(r, "bad", "[1,2]", 6), WB_EINVAL);
	assert_int_equal(wb_log_table(r, "bad", "{\"columns\":[\"a\"", 6), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	j = get(id, "media/table?key=preds");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 2);
	t = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0), "table");
	want = cJSON_Parse(t1);
	assert_true(cJSON_Compare(t, want, 1));
	cJSON_Delete(want);
	cJSON_Delete(j);
}

/* POST one record of type with a media header for key and body; the status. */
static long post_media(uint64_t seq, uint8_t type, const char *key, const void *body, size_t blen)
{
	static const char *const ct[] = {"Content-Type: application/x-wb-frames", NULL};
	uint8_t *payload = malloc(wb__media_hdr_size(strlen(key)) + blen + 1);
	wbt_frames b = {0};
	wbt_response resp;
	long st;
	uint8_t *p;

	assert_non_null(payload);
	p = wb__media_hdr_put(payload, 1, 1.0, key, strlen(key));
	memcpy(p, body, blen);
	wbt_frames_put(&b, seq, type, payload, (uint32_t)(p - payload + blen));
	assert_int_equal(wbt_http(&srv, "POST", "/api/v1/projects/tester/media/runs/hand/records", b.p, b.len, ct, 1,
				  &resp), 0);
	st = resp.status;
	if (st != 200)
		assert_non_null(strstr(resp.body, "\"error\""));
	wbt_response_free(&resp);
	free(payload);
	free(b.p);
	return st;
}

static void test_e2e_media__server_refuses_bad_records(void **state)
{
	static const char *const ct[] = {"Content-Type: application/json", NULL};
	uint8_t body[512];
	double e[3] = {0, 1, 2}, c[2] = {1, 1};
	wbt_response resp;
	cJSON *j;

	(void)state;
	assert_int_equal(wbt_http(&srv, "PUT", "/api/v1/projects/tester/media/runs/hand", "{}", 2, ct, 1, &resp), 0);
	assert_true(resp.status == 200 || resp.status == 201);
	wbt_response_free(&resp);
	/* an image that is not one (HTML), behind an image record */
	memset(body, 0, sizeof body);
	memcpy(body + 10, "<html><script>alert(1)</script>", 31);
	assert_int_equal(post_media(1, WB__REC_IMAGE, "img", body, 10 + 31), 400);
	/* a caption with a control character, valid PNG signature */
	wb__image_put(body, "a\x01", 2, 0, 0, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8);
	assert_int_equal(post_media(1, WB__REC_IMAGE, "img", body, wb__image_body_size(2, 8)), 400);
	/* a histogram with decreasing edges, one with a NaN count, one cut short */
	e[1] = -1;
	wb__hist_put(body, 0, 0, 0, e, c, 2);
	assert_int_equal(post_media(1, WB__REC_HISTOGRAM, "h", body, wb__hist_body_size(2)), 400);
	e[1] = 1;
	c[1] = NAN;
	wb__hist_put(body, 0, 0, 0, e, c, 2);
	assert_int_equal(post_media(1, WB__REC_HISTOGRAM, "h", body, wb__hist_body_size(2)), 400);
	c[1] = 1;
	wb__hist_put(body, 0, 0, 0, e, c, 2);
	assert_int_equal(post_media(1, WB__REC_HISTOGRAM, "h", body, wb__hist_body_size(2) - 1), 400);
	assert_int_equal(post_media(1, WB__REC_HISTOGRAM, "_h", body, wb__hist_body_size(2)), 400);
	/* a table of objects, a table with invalid UTF-8 */
	assert_int_equal(post_media(1, WB__REC_TABLE, "t", "{\"columns\":[\"a\"],\"data\":[[[1]]]}", 31), 400);
	assert_int_equal(post_media(1, WB__REC_TABLE, "t", "{\"columns\":[\"a\"],\"data\":[[\"\xff\"]]}", 31), 400);
	/* nothing of it was stored; a good one is */
	j = get("hand", "media");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "media")), 0);
	cJSON_Delete(j);
	assert_int_equal(post_media(1, WB__REC_HISTOGRAM, "h", body, wb__hist_body_size(2)), 200);
	j = get("hand", "media");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "media")), 1);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_media__histograms),
		cmocka_unit_test(test_e2e_media__images),
		cmocka_unit_test(test_e2e_media__large_image),
		cmocka_unit_test(test_e2e_media__backup_and_delete),
		cmocka_unit_test(test_e2e_media__tables),
		cmocka_unit_test(test_e2e_media__server_refuses_bad_records),
		cmocka_unit_test(test_e2e_media__resume_keeps_step),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

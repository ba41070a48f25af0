/*
 * bench_media.c — what rich data costs the trainer, and how fast event
 * files are read. Prints one JSON object a line:
 *
 *   {"bench":"<name>","value":<number>,"unit":"<unit>"}
 *
 * - hist_1m_ns_per_value: wb_log_histogram of 1,000,000 gaussian values
 *   (two passes: range, then bins), per value;
 * - hist_10k_us: one call with 10,000 values (a layer's gradients);
 * - image_rgb_256_ms, image_rgb_256_bytes: wb_log_image_rgb of a 256x256
 *   smooth gradient plus noise (PNG encoding with zlib level 6);
 * - tb_read_mb_s / tb_read_events_s: server/tb/tbevents.c over an
 *   in-memory event file of 200,000 events with two scalars each.
 * The run is offline into a temp directory; timings are the best of 5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "png.h"
#include "tb/tbevents.h"
#include "wb.h"
#include "wire.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rs = 0x2545f4914f6cdd1du;
static double uniform(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static void emit(const char *name, double v, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.4g,\"unit\":\"%s\"}\n", name, v, unit);
}

/* protobuf helpers for the synthetic event file */
static uint8_t *varint(uint8_t *p, uint64_t v)
{
	do {
		*p = (uint8_t)(v & 0x7F);
		v >>= 7;
		if (v)
			*p |= 0x80;
		p++;
	} while (v);
	return p;
}

static size_t scalar_value(uint8_t *p, const char *tag, float x)
{
	uint8_t *q = p;
	uint32_t u;
	size_t n = strlen(tag);
	*q++ = 0x0a;
	q = varint(q, n);
	memcpy(q, tag, n);
	q += n;
	*q++ = 0x15;
	memcpy(&u, &x, 4);
	wb__put_u32(q, u);
	return (size_t)(q + 4 - p);
}

static int count_scalar(void *arg, double w, int64_t s, const char *t, double v)
{
	(void)w, (void)s, (void)t, (void)v;
	(*(uint64_t *)arg)++;
	return 0;
}

int main(void)
{
	enum { N = 1000000, EVENTS = 200000 };
	char dir[] = "/tmp/wb-bench-media-XXXXXX", cmd[128];
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	double *vals = malloc(N * sizeof(double)), best;
	uint8_t *rgb = malloc(256 * 256 * 3), *file = malloc((size_t)EVENTS * 128), *p;
	wb_run *r = NULL;

	if (!vals || !rgb || !file || !mkdtemp(dir))
		return 1;
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.project = "bench";
	o.entity = "bench";
	o.disable_git = 1;
	o.system_sample_ms = -1;
	o.buffer_bytes = 64u << 20;
	if (wb_init(&r, &o) != WB_OK)
		return 1;
	for (int i = 0; i < N; i++)
		vals[i] = gauss();

	best = 1e9;
	for (int k = 0; k < 5; k++) {
		double t = now_s();
		if (wb_log_histogram(r, "big", vals, N, k) != WB_OK)
			return 1;
		t = now_s() - t;
		best = t < best ? t : best;
	}
	emit("hist_1m_ns_per_value", best * 1e9 / N, "ns");
	best = 1e9;
	for (int k = 0; k < 50; k++) {
		double t = now_s();
		if (wb_log_histogram(r, "layer", vals + k * 10000, 10000, WB_STEP_AUTO) != WB_OK)
			return 1;
		t = now_s() - t;
		best = t < best ? t : best;
	}
	emit("hist_10k_us", best * 1e6, "us");

	for (int y = 0; y < 256; y++)
		for (int x = 0; x < 256; x++) {
			uint8_t *px = rgb + 3 * (y * 256 + x);
			px[0] = (uint8_t)x;
			px[1] = (uint8_t)y;
			px[2] = (uint8_t)((x + y) / 2 + (int)(uniform() * 8));
		}
	best = 1e9;
	for (int k = 0; k < 5; k++) {
		double t = now_s();
		if (wb_log_image_rgb(r, "img", rgb, 256, 256, NULL, WB_STEP_AUTO) != WB_OK)
			return 1;
		t = now_s() - t;
		best = t < best ? t : best;
	}
	emit("image_rgb_256_ms", best * 1e3, "ms");
	{
		uint8_t *png = NULL;
		size_t len = 0;
		if (wb__png_encode_rgb(rgb, 256, 256, &png, &len) != WB_OK)
			return 1;
		emit("image_rgb_256_bytes", (double)len, "bytes");
		free(png);
	}
	wb_finish(r, 0);
	p = file;
	for (int e = 0; e < EVENTS; e++) {
		uint8_t ev[128], sum[96], *q = ev, *lenp;
		size_t sl = 0, n;
		uint8_t v1[48], v2[48];
		size_t n1 = scalar_value(v1, "train/loss", (float)e), n2 = scalar_value(v2, "train/acc", 0.5f);
		sum[sl++] = 0x0a;
		sl = (size_t)(varint(sum + sl, n1) - sum);
		memcpy(sum + sl, v1, n1);
		sl += n1;
		sum[sl++] = 0x0a;
		sl = (size_t)(varint(sum + sl, n2) - sum);
		memcpy(sum + sl, v2, n2);
		sl += n2;
		*q++ = 0x09;
		wb__put_u64(q, wb__f64_bits(1.7e9 + e));
		q += 8;
		*q++ = 0x10;
		q = varint(q, (uint64_t)e);
		*q++ = 0x2a;
		q = varint(q, sl);
		memcpy(q, sum, sl);
		q += sl;
		n = (size_t)(q - ev);
		lenp = p;
		wb__put_u64(lenp, n);
		wb__put_u32(p + 8, wbs__crc32c_mask(wbs__crc32c(lenp, 8)));
		memcpy(p + 12, ev, n);
		wb__put_u32(p + 12 + n, wbs__crc32c_mask(wbs__crc32c(ev, n)));
		p += 16 + n;
	}
	best = 1e9;
	for (int k = 0; k < 5; k++) {
		uint64_t got = 0;
		wbs__tb_sink sink = {&got, count_scalar, NULL, NULL};
		wbs__tb_report rep;
		double t;
		memset(&rep, 0, sizeof rep);
		t = now_s();
		wbs__tb_read(file, (size_t)(p - file), &sink, &rep);
		t = now_s() - t;
		if (got != 2u * EVENTS)
			return 1;
		best = t < best ? t : best;
	}
	emit("tb_read_mb_s", (double)(p - file) / best / 1e6, "MB/s");
	emit("tb_read_events_s", EVENTS / best, "events/s");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	free(vals);
	free(rgb);
	free(file);
	return 0;
}

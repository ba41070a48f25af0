/* fuzz_tbevents — the TensorBoard event-file reader (server/tb/tbevents.c):
 * TFRecord framing, CRC-32C, the hand-written protobuf reader, as
 * `wb tensorboard import` hands it a file. The sinks check what the reader
 * promises (keys valid, histograms well-formed, images PNG or JPEG, text a
 * valid table, hparams named by config keys, skipped values named in
 * printable text) and abort otherwise.
 *
 * Random bytes rarely pass two CRC-32Cs, so an input whose first byte is
 * odd is taken as protobuf payloads (each prefixed by a u16le length) and
 * framed here with correct checksums: that drives the protobuf reader. An
 * even first byte gives the rest to the reader as it is (the framing). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tbevents.h"
#include "wire.h"
#include "wire_media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	(void)arg, (void)wall, (void)value;
	if (step < 0 || !wb__key_valid(tag, strlen(tag)))
		abort();
	return 0;
}

static int histogram(void *arg, double wall, int64_t step, const char *tag, const double *edges, const double *counts,
		     size_t nbins)
{
	(void)arg, (void)wall;
	if (step < 0 || !wb__key_valid(tag, strlen(tag)) || nbins == 0 || nbins > WB__HIST_BINS_MAX)
		abort();
	for (size_t i = 0; i <= nbins; i++)
		if (!isfinite(edges[i]) || (i && edges[i] < edges[i - 1]))
			abort();
	for (size_t i = 0; i < nbins; i++)
		if (!isfinite(counts[i]) || counts[i] < 0)
			abort();
	return 0;
}

static int image(void *arg, double wall, int64_t step, const char *tag, const uint8_t *bytes, size_t len)
{
	(void)arg, (void)wall;
	if (step < 0 || !wb__key_valid(tag, strlen(tag)) || !wb__image_sniff(bytes, len, NULL, NULL))
		abort();
	return 0;
}

static int text(void *arg, double wall, int64_t step, const char *tag, const char *table, size_t len)
{
	cJSON *t = cJSON_ParseWithLength(table, len);
	char why[200];
	int bad = !t || wb__table_check(t, why, sizeof why) || strlen(table) != len;

	(void)arg, (void)wall;
	cJSON_Delete(t);
	if (bad || step < 0 || !wb__key_valid(tag, strlen(tag)) || len > WB__TABLE_MAX)
		abort();
	return 0;
}

static int hparam(void *arg, const char *name, const wb__tb_hparam *v)
{
	(void)arg;
	if (!wb__config_key_valid(name, strlen(name), NULL, 0) || (v->type == WB__TB_HP_NUMBER && !isfinite(v->number)) ||
	    (v->type == WB__TB_HP_STRING && !wb__utf8_valid(v->string, strlen(v->string))))
		abort();
	return 0;
}

static void skipped(void *arg, enum wb__tb_skip why, const char *tag, const char *plugin)
{
	(void)arg;
	if ((unsigned)why >= WB__TB_SKIP_COUNT || strlen(tag) > 67 || strlen(plugin) > 67)
		abort();
	for (const char *p = tag; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

/* Frame u16le-length-prefixed payloads as TFRecords with valid checksums into a new buffer. */
static uint8_t *frame(const uint8_t *p, size_t n, size_t *outlen)
{
	uint8_t *out = malloc(n / 2 * 16 + n + 16), *o = out;

	if (!out)
		return NULL;
	while (n >= 2) {
		size_t len = (size_t)(p[0] | p[1] << 8);
		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		wb__put_u64(o, len);
		wb__put_u32(o + 8, wb__crc32c_mask(wb__crc32c(o, 8)));
		memcpy(o + 12, p, len);
		wb__put_u32(o + 12 + len, wb__crc32c_mask(wb__crc32c(p, len)));
		o += 16 + len;
		p += len;
		n -= len;
	}
	*outlen = (size_t)(o - out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wb__tb_sink sink = {NULL, scalar, histogram, image, text, hparam, skipped};
	wb__tb_report rep;
	uint8_t *copy;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		copy = frame(data + 1, size - 1, &size);
	} else {
		size--;
		copy = malloc(size ? size : 1); /* exactly size bytes, so ASan sees a read past the end */
		if (copy && size)
			memcpy(copy, data + 1, size);
	}
	if (!copy)
		return 0;
	memset(&rep, 0, sizeof(rep));
	wb__tb_read(copy, size, &sink, &rep);
	free(copy);
	return 0;
}

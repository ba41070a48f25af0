/* fuzz_tbevents — the TensorBoard event-file reader (server/tb/tbevents.c):
 * TFRecord framing, CRC-32C, the hand-written protobuf reader, as
 * `wb tensorboard import` hands it a file. The sinks check what the reader
 * promises (keys valid, histograms well-formed, images PNG or JPEG) and
 * abort otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tb/tbevents.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wbs__tb_sink sink = {NULL, scalar, histogram, image};
	wbs__tb_report rep;
	uint8_t *copy = malloc(size ? size : 1); /* exactly size bytes, so ASan sees a read past the end */

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	memset(&rep, 0, sizeof(rep));
	wbs__tb_read(copy, size, &sink, &rep);
	free(copy);
	return 0;
}

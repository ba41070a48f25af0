/* fuzz_media — the rich-data record decoder (server/model/media.c and
 * sdk/wire/wire_media.c): the first byte picks the record type (HISTOGRAM,
 * IMAGE, TABLE), the rest is the payload as a frame carries it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/media.h"
#include "wire_media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wbs__media *m = NULL;
	char err[300];
	uint8_t *copy;

	if (size < 1)
		return 0;
	if (!(copy = malloc(size - 1 ? size - 1 : 1)))
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (wbs__media_decode((uint8_t)(WB__REC_HISTOGRAM + data[0] % 3), copy, size - 1, &m, err, sizeof(err)) == 0) {
		wb__hist h;
		if (m->type == WB__REC_HISTOGRAM && wb__hist_get(&h, m->data, m->len))
			abort(); /* what was accepted must decode again */
	}
	wbs__media_free(m);
	free(copy);
	return 0;
}

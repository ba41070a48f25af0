/* fuzz_batch — the records body decoder (server/model/batch.c): frames,
 * checksums, record payloads, as POST .../records hands it over. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wbs__batch b;
	char err[256];
	/* The decoder may keep pointers into the body: give it a copy with
	 * exactly size bytes, so ASan sees any read past the end. */
	uint8_t *body = malloc(size ? size : 1);

	if (!body)
		return 0;
	if (size)
		memcpy(body, data, size);
	wbs__batch_decode(&b, body, size, err, sizeof(err));
	wbs__batch_free(&b);
	free(body);
	return 0;
}

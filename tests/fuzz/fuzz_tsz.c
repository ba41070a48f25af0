/* fuzz_tsz — the chunk decoder (server/store/tsz.c). Chunks come from the
 * server's own database, but a damaged or hostile file must not make it
 * read or write out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "tsz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { CAP = 2048 };
	int64_t *steps = malloc(CAP * sizeof(*steps)), n;
	double *values = malloc(CAP * sizeof(*values));

	if (steps && values) {
		n = wb__tsz_count(data, size);
		if (wb__tsz_decode(data, size, steps, values, CAP) > CAP)
			abort();
		(void)n;
	}
	free(steps);
	free(values);
	return 0;
}

/* fuzz_inflate — gzip request bodies (Content-Encoding: gzip) inflated
 * with a cap: no read past the input, no write past the cap. */
#include <stdint.h>
#include <stdlib.h>

#include "http/httputil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t n = 0;

	if (wbs__inflate(data, size, 1u << 20, NULL, &out, &n, NULL) == WBS__INFLATE_OK && n > (1u << 20))
		abort(); /* over the cap */
	free(out);
	return 0;
}

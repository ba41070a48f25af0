/* fuzz_json — JSON request bodies: the parser every route uses
 * (wbs__json_parse, NUL bytes and depth included) and the run fields of
 * PUT/PATCH .../runs/{id} (wbs__run_fields_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	size_t off = 0;
	cJSON *j;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = wbs__json_parse(text, size, &off);
	if (j) {
		wbs__run_fields f;
		wbs__json_depth_ok(j, 32);
		memset(&f, 0, sizeof(f));
		if (cJSON_IsObject(j)) {
			wbs__run_fields_parse(&f, j, err, sizeof(err));
			wbs__run_fields_free(&f); /* also after a failure (fields.h) */
		}
		cJSON_Delete(j);
	}
	free(text);
	return 0;
}

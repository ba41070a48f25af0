/* fuzz_json — JSON request bodies: the strict parser every route and
 * record uses (wbs__json_parse, NUL bytes and depth included), its text
 * validator alone on an exact-size copy (wb__json_check: no reading past
 * the end, a message always terminated), and the run fields of PUT/PATCH
 * .../runs/{id} (wbs__run_fields_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/fields.h"
#include "jsoncheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *exact = malloc(size ? size : 1), err[256], why[300];
	cJSON *j;
	int rc;

	if (!text || !exact)
		goto done;
	memcpy(exact, data, size);
	rc = wb__json_check(exact, size, why, sizeof(why));
	if (rc != WB__JSON_OK && strlen(why) == 0)
		abort(); /* every refusal says why */
	memcpy(text, data, size);
	text[size] = '\0';
	j = wbs__json_parse(text, size, "body", why, sizeof(why));
	if (j) {
		wbs__run_fields f;
		if (rc != WB__JSON_OK)
			abort(); /* the parse accepted what the check refuses */
		wbs__json_depth_ok(j, 32);
		memset(&f, 0, sizeof(f));
		if (cJSON_IsObject(j)) {
			wbs__run_fields_parse(&f, j, err, sizeof(err));
			wbs__run_fields_free(&f); /* also after a failure (fields.h) */
		}
		cJSON_Delete(j);
	}
done:
	free(exact);
	free(text);
	return 0;
}

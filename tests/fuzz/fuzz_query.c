/* fuzz_query — what a URL brings: the path splitter (percent-decoding) and
 * the runs list's filter and sort expressions. The input is split at its
 * first two '\n' into path, filter and sort; the sort text is also parsed
 * as a group_by and an agg field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/httputil.h"
#include "model/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *parts[3] = {NULL, "", ""}, err[256];
	wbs__path p;
	wbs__filter f;
	wbs__sort s;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	parts[0] = text;
	for (int i = 1; i < 3; i++) {
		char *nl = strchr(parts[i - 1], '\n');
		if (!nl)
			break;
		*nl = '\0';
		parts[i] = nl + 1;
	}
	wbs__path_split(parts[0], &p);
	memset(&f, 0, sizeof(f));
	wbs__filter_parse(&f, parts[1], err, sizeof(err));
	wbs__filter_free(&f);
	memset(&s, 0, sizeof(s));
	wbs__sort_parse(&s, parts[2], err, sizeof(err));
	wbs__sort_free(&s);
	wbs__field_parse(&s, parts[2], WBS__QU_GROUP, err, sizeof(err));
	wbs__sort_free(&s);
	wbs__field_parse(&s, parts[2], WBS__QU_AGG, err, sizeof(err));
	wbs__sort_free(&s);
	free(text);
	return 0;
}

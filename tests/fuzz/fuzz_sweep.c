/* fuzz_sweep — what POST .../sweeps brings: the sweep spec as JSON or YAML
 * (server/sweep/spec.c, yaml.c, read from an exact-size copy: no reading
 * past the end), then, for a spec that passed, its normalised text (it
 * must parse back to itself) and a dozen suggestions fed back as trials, so
 * grid, random and the bayes sampler (with the trials' params read back)
 * run over whatever parameter space the input describes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *exact = malloc(size ? size : 1), err[256], *norm = NULL, *again = NULL;
	wbs__sweep_spec *s = NULL, *s2 = NULL;
	wbs__sweep_trial t[12];
	size_t n = 0;

	if (!exact)
		return 0;
	memcpy(exact, data, size);
	err[0] = '\0';
	if (wbs__sweep_spec_parse(exact, size, &s, err, sizeof(err)) != 0) {
		if (s || !err[0])
			abort(); /* a refusal has a message and no spec */
		goto done;
	}
	norm = wbs__sweep_spec_json(s);
	if (!norm)
		goto done;
	if (wbs__sweep_spec_parse(norm, strlen(norm), &s2, err, sizeof(err)) != 0)
		abort(); /* the normalised spec is a valid spec */
	again = wbs__sweep_spec_json(s2);
	if (again && strcmp(norm, again) != 0)
		abort(); /* ... and normalises to itself */
	for (n = 0; n < 12; n++) {
		char *params = NULL;
		int rc = wbs__sweep_suggest(s, t, n, n, &params, err, sizeof(err));
		if (rc == 1)
			break;
		if (rc != 0)
			goto done;
		t[n].params = params;
		t[n].state = n % 5 == 4 ? WBS__TRIAL_RUNNING : n % 7 == 6 ? WBS__TRIAL_FAILED : WBS__TRIAL_DONE;
		t[n].value = t[n].state == WBS__TRIAL_DONE ? (double)((n * 7919) % 13) : NAN;
	}
done:
	for (size_t i = 0; i < n; i++)
		free((char *)t[i].params);
	free(norm);
	free(again);
	wbs__sweep_spec_free(s);
	wbs__sweep_spec_free(s2);
	free(exact);
	return 0;
}

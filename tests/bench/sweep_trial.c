/*
 * sweep_trial — the trial program of bench_sweep_e2e: a trainer that a real
 * `wb agent` runs. It joins its sweep through wb_run_init (the trial's
 * parameters are its config), evaluates one test function of sweep_fns.h at
 * them and logs the value as the metric "f", the way any trainer reports
 * its metric. Usage: sweep_trial branin|hartmann6. Exit 0, or 1 with a line
 * on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "sweep_fns.h"
#include "wb.h"

int main(int argc, char **argv)
{
	wb_run *run = NULL;
	double x[6] = {0};
	int dims, rc;

	if (argc != 2 || (strcmp(argv[1], "branin") != 0 && strcmp(argv[1], "hartmann6") != 0)) {
		fprintf(stderr, "usage: sweep_trial branin|hartmann6\n");
		return 1;
	}
	dims = strcmp(argv[1], "branin") == 0 ? 2 : 6;
	if ((rc = wb_run_init(&run, NULL)) != WB_OK) {
		fprintf(stderr, "sweep_trial: wb_run_init: %s\n", wb_strerror(rc));
		return 1;
	}
	for (int i = 0; i < dims; i++) {
		char key[16];
		snprintf(key, sizeof(key), "x%d", i + 1);
		if ((rc = wb_config_get_double(run, key, &x[i])) != WB_OK) {
			fprintf(stderr, "sweep_trial: config %s: %s\n", key, wb_strerror(rc));
			wb_run_finish(run, 1);
			return 1;
		}
	}
	rc = WB_LOG(run, 0, {"f", dims == 2 ? wb_branin(x) : wb_hartmann6(x)});
	if (rc == WB_OK)
		rc = wb_run_finish(run, 0);
	if (rc != WB_OK) {
		fprintf(stderr, "sweep_trial: %s\n", wb_strerror(rc));
		return 1;
	}
	return 0;
}

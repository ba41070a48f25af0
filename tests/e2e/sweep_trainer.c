/*
 * sweep_trainer — the trainer of the sweep tests, as a user writes one: it
 * sets its own defaults for the hyperparameters (which a sweep's trial
 * overrides), reads them back from the config, logs the metric and
 * finishes. Under a launcher each rank logs "loss" + 100 * rank, so the
 * tests can tell rank 0's value from the others'.
 *
 *   sweep_trainer OUTDIR [WORK_MS] [ARGS...]
 *
 * loss = (x - 0.3)^2 + (y - 2)^2 / 100, at 3 steps, the last one the
 * value. WORK_MS: how long the training takes (default 0). It writes
 * OUTDIR/trial-<WB_SWEEP_TRIAL>[-r<rank>].txt with its pid, run id, x, y
 * and every argument it was given, one a line, for the tests to check
 * (what the agent passed, and that no key is on the command line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "wb.h"

int main(int argc, char **argv)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	const char *trial = getenv("WB_SWEEP_TRIAL"), *r = getenv("OMPI_COMM_WORLD_RANK");
	int rank = r ? atoi(r) : 0;
	long work = argc > 2 ? atol(argv[2]) : 0;
	double x = 0, y = 0, loss;
	char path[512], tmp[530];
	FILE *f;

	if (argc < 2)
		return 2;
	if (wb_init(&run, &o) != WB_OK) {
		fprintf(stderr, "sweep_trainer: %s\n", wb_errmsg());
		return 1;
	}
	/* the code's defaults: a sweep's values win */
	if (wb_config_set_double(run, "x", 5.0) != WB_OK || wb_config_set_double(run, "y", 50.0) != WB_OK ||
	    wb_config_get_double(run, "x", &x) != WB_OK || wb_config_get_double(run, "y", &y) != WB_OK)
		return 1;
	snprintf(path, sizeof(path), "%s/trial-%s%s%.0d.txt", argv[1], trial ? trial : "none", rank ? "-r" : "", rank);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return 1;
	fprintf(f, "%d\n%s\n%.17g\n%.17g\n", (int)getpid(), wb_run_id(run), x, y);
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s\n", argv[i]);
	fclose(f);
	rename(tmp, path); /* whole, for a test that polls for it */
	loss = (x - 0.3) * (x - 0.3) + (y - 2) * (y - 2) / 100 + 100.0 * rank;
	for (int s = 0; s < 3; s++) {
		struct timespec ts = {work / 3000, (work / 3 % 1000) * 1000000L};
		if (work)
			nanosleep(&ts, NULL); /* the training's own time */
		if (WB_LOG(run, s, {"loss", loss + (2 - s)}) != WB_OK)
			return 1;
	}
	return wb_finish(run, 0) == WB_OK ? 0 : 1;
}

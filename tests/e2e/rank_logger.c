/*
 * rank_logger — one rank of a simulated distributed job for the group
 * tests: started by mpirun, it does no MPI itself (so its ranks do not
 * depend on each other and survive a killed neighbour), lets libwb find
 * its rank in the launcher's environment, writes its pid to
 * <dir>/rank-<r>.pid, and logs "loss" = rank + step / 1000 for
 * steps + 10 * rank steps, one every <pace_ms> milliseconds.
 *
 *   rank_logger DIR STEPS PACE_MS
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
	const char *r = getenv("OMPI_COMM_WORLD_RANK");
	int rank = r ? atoi(r) : 0, steps, pace;
	char path[512];
	FILE *f;

	if (argc != 4)
		return 2;
	steps = atoi(argv[2]) + 10 * rank;
	pace = atoi(argv[3]);
	o.project = "dist";
	o.entity = "tester";
	if (wb_init(&run, &o) != WB_OK) {
		fprintf(stderr, "rank_logger: %s\n", wb_errmsg());
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rank-%d.pid", argv[1], rank);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d %s\n", (int)getpid(), wb_run_id(run));
	fclose(f);
	for (int s = 0; s < steps; s++) {
		struct timespec ts = {0, (long)pace * 1000000L};
		if (WB_LOG(run, s, {"loss", rank + s / 1000.0}) != WB_OK)
			return 1;
		nanosleep(&ts, NULL); /* a training step's pace */
	}
	return wb_finish(run, 0) == WB_OK ? 0 : 1;
}

/*
 * A user's program, built against an installed libwb (test_install.sh):
 * an offline run in the directory argv[1] with a few metrics, finished.
 * Prints the library version and the run id; exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <wb.h>

int main(int argc, char **argv)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: consumer DIR\n");
		return 2;
	}
	o.project = "install-test";
	o.mode = WB_MODE_OFFLINE;
	o.dir = argv[1];
	o.disable_git = 1;
	o.system_sample_ms = -1;
	if ((rc = wb_run_init(&run, &o)) != WB_OK) {
		fprintf(stderr, "wb_run_init: %s\n", wb_strerror(rc));
		return 1;
	}
	for (int step = 0; step < 10; step++)
		if ((rc = WB_LOG(run, step, {"loss", 1.0 / (step + 1)})) != WB_OK) {
			fprintf(stderr, "wb_run_log: %s\n", wb_strerror(rc));
			return 1;
		}
	printf("wb %s run %s\n", WB_VERSION, wb_run_id(run));
	if ((rc = wb_run_finish(run, 0)) != WB_OK) {
		fprintf(stderr, "wb_run_finish: %s\n", wb_strerror(rc));
		return 1;
	}
	return 0;
}

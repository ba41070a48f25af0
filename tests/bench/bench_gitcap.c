/*
 * bench_gitcap — what the git capture adds to wb_init.
 *
 *   bench_gitcap REPO_DIR [RUNS]
 *
 * Starts RUNS (default 7) offline runs with their working directory in
 * REPO_DIR with the capture on, and as many with disable_git, and prints
 * one JSON object: the median and the maximum wb_init time of each, the
 * capture's own time (metadata.code.capture_ms is in the run log, here the
 * difference of the medians), and the number of files git tracks. The run
 * directories go to a temp directory outside the repository. No system
 * sampler. README.md's "Reproducibility" figure comes from this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wb.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Time n wb_init calls into t (sorted). 0 or -1. */
static int timed(const char *dir, int disable, int n, double *t)
{
	for (int i = 0; i < n; i++) {
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		double t0;

		o.mode = WB_MODE_OFFLINE;
		o.project = "bench";
		o.entity = "bench";
		o.dir = dir;
		o.disable_git = disable;
		o.system_sample_ms = -1;
		t0 = now_ms();
		if (wb_init(&run, &o) != WB_OK) {
			fprintf(stderr, "bench_gitcap: wb_init: %s\n", wb_errmsg());
			return -1;
		}
		t[i] = now_ms() - t0;
		wb_finish(run, 0);
	}
	qsort(t, (size_t)n, sizeof *t, cmp);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/wb-bench-gitcap-XXXXXX", cmd[256];
	double on[64], off[64];
	int n = argc > 2 ? atoi(argv[2]) : 7;
	long files = -1;
	FILE *p;

	if (argc < 2 || n < 1 || n > 64) {
		fprintf(stderr, "usage: bench_gitcap REPO_DIR [RUNS<=64]\n");
		return 2;
	}
	if (!mkdtemp(dir) || chdir(argv[1]) != 0) {
		perror("bench_gitcap");
		return 1;
	}
	if ((p = popen("git ls-files | wc -l", "r"))) {
		if (fscanf(p, "%ld", &files) != 1)
			files = -1;
		pclose(p);
	}
	if (timed(dir, 0, n, on) || timed(dir, 1, n, off))
		return 1;
	printf("{\"bench\":\"gitcap\",\"files\":%ld,\"runs\":%d,\"init_ms_median\":%.1f,\"init_ms_max\":%.1f,"
	       "\"init_nogit_ms_median\":%.1f,\"capture_ms_median\":%.1f}\n",
	       files, n, on[n / 2], on[n - 1], off[n / 2], on[n / 2] - off[n / 2]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

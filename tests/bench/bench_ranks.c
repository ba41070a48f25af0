/*
 * bench_ranks — many ranks of a distributed job logging into one server.
 *
 * N client processes (simulated ranks: each gets OMPI_COMM_WORLD_* in its
 * environment, so libwb groups them as one job) each log 100 points a
 * second for D seconds through the real SDK into a real `wb server` on
 * loopback. Afterwards every run must be finished with exactly its points
 * (no errors, nothing lost). Reported: the server's CPU use and peak RSS
 * while the ranks ran, and whether the run held.
 *
 *   bench_ranks [N [D]]        defaults: 256 ranks, 60 s
 *
 * One JSON object per line: {"bench": ..., "value": ..., "unit": ...}.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static void emit(const char *bench, int ranks, double value, const char *unit)
{
	printf("{\"bench\":\"%s_%dranks\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, ranks, value, unit);
	fflush(stdout);
}

/* utime + stime of pid in seconds, and its VmRSS in KiB. */
static int proc_usage(pid_t pid, double *cpu_s, long *rss_kib)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "VmRSS: %ld kB", rss_kib) == 1)
			break;
	fclose(f);
	return 0;
}

/* One rank: 100 points a second for secs seconds, then finish. */
static int rank_main(int rank, int nranks, int secs)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char v[16];
	struct timespec next;
	int steps = secs * 100, rc;

	snprintf(v, sizeof(v), "%d", rank);
	setenv("OMPI_COMM_WORLD_RANK", v, 1);
	snprintf(v, sizeof(v), "%d", nranks);
	setenv("OMPI_COMM_WORLD_SIZE", v, 1);
	o.project = "ranks";
	o.entity = "bench";
	o.finish_timeout_ms = 120000;
	if (wb_init(&run, &o) != WB_OK)
		return 10;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int s = 0; s < steps; s++) {
		if (WB_LOG(run, s, {"loss", 1.0 / (s + 1)}) != WB_OK)
			return 11;
		next.tv_nsec += 10000000L; /* the pace of the workload: 100 points/s */
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	rc = wb_finish(run, 0);
	return rc == WB_OK ? 0 : 12;
}

/* Check every run of the group: finished, with secs * 100 points. */
static int verify(const wbt_server *s, int nranks, int secs)
{
	cJSON *groups = wbt_get_json(s, "/api/v1/projects/bench/ranks/groups"), *g, *rank;
	char path[512];
	int ok = 0, bad = 0;

	if (!groups)
		return -1;
	g = cJSON_GetArrayItem(cJSON_GetObjectItem(groups, "groups"), 0);
	snprintf(path, sizeof(path), "/api/v1/projects/bench/ranks/groups/%s",
		 g ? cJSON_GetObjectItem(g, "group")->valuestring : "none");
	cJSON_Delete(groups);
	if (!(g = wbt_get_json(s, path)))
		return -1;
	cJSON_ArrayForEach(rank, cJSON_GetObjectItem(g, "ranks"))
	{
		cJSON *m;
		snprintf(path, sizeof(path), "/api/v1/projects/bench/ranks/runs/%s/metrics",
			 cJSON_GetObjectItem(rank, "id")->valuestring);
		m = wbt_get_json(s, path);
		if (m && strcmp(cJSON_GetObjectItem(rank, "state")->valuestring, "finished") == 0) {
			cJSON *k;
			cJSON_ArrayForEach(k, cJSON_GetObjectItem(m, "metrics"))
			{
				if (strcmp(cJSON_GetObjectItem(k, "key")->valuestring, "loss") == 0 &&
				    (int)cJSON_GetObjectItem(k, "count")->valuedouble == secs * 100)
					ok++;
			}
		} else {
			bad++;
		}
		cJSON_Delete(m);
	}
	cJSON_Delete(g);
	return ok == nranks && bad == 0 ? 0 : -1;
}

static int bench(int nranks, int secs, const char *server_args)
{
	wbt_server srv;
	char runs[256];
	pid_t *kids = calloc((size_t)nranks, sizeof(pid_t));
	double cpu0 = 0, cpu1 = 0, t0, t1;
	long rss = 0, peak = 0;
	int failed = 0, rc;

	if (!kids || wbt_server_start(&srv, server_args) < 0 || wbt_mkdtemp(runs, sizeof(runs), "ranks") < 0)
		return -1;
	setenv("WB_DIR", runs, 1);
	setenv("WB_BUFFER_BYTES", "1048576", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	{
		char job[32];
		snprintf(job, sizeof(job), "%d", (int)getpid());
		setenv("OMPI_MCA_ess_base_jobid", job, 1); /* the job the ranks belong to */
	}
	proc_usage(srv.pid, &cpu0, &rss);
	t0 = wbt_now();
	fflush(NULL);
	for (int r = 0; r < nranks; r++) {
		kids[r] = fork();
		if (kids[r] == 0)
			_exit(rank_main(r, nranks, secs));
	}
	for (int done = 0; done < nranks;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0) {
			done++;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed++;
			continue;
		}
		if (proc_usage(srv.pid, &cpu1, &rss) == 0 && rss > peak)
			peak = rss;
		usleep(100000); /* sampling period of the server's usage */
	}
	t1 = wbt_now();
	proc_usage(srv.pid, &cpu1, &rss);
	rc = failed == 0 && verify(&srv, nranks, secs) == 0 ? 0 : -1;
	emit("ranks_ok", nranks, rc == 0 ? 1 : 0, "bool");
	emit("ranks_failed_clients", nranks, failed, "processes");
	emit("ranks_points_per_s", nranks, nranks * 100.0, "points/s");
	emit("ranks_server_cpu", nranks, 100.0 * (cpu1 - cpu0) / (t1 - t0), "percent_of_one_core");
	emit("ranks_server_peak_rss", nranks, (double)peak / 1024.0, "MiB");
	emit("ranks_wall", nranks, t1 - t0, "s");
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	free(kids);
	return rc;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 256, secs = argc > 2 ? atoi(argv[2]) : 60;
	const char *args = getenv("WB_BENCH_SERVER_ARGS");

	signal(SIGPIPE, SIG_IGN);
	return bench(n, secs, args ? args : "") == 0 ? 0 : 1;
}

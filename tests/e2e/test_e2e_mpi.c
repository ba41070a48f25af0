/*
 * End-to-end distributed runs under real OpenMPI (mpirun --oversubscribe):
 * the data-parallel Fashion-MNIST trainer lands as one group of 4 runs
 * whose cross-rank aggregates equal what the per-rank data says; ranks that
 * log different numbers of steps aggregate by who has a value; a rank
 * killed with SIGKILL is marked crashed by missed heartbeats, the group with
 * it, and the other ranks finish with nothing lost.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef WBT_MPI_TRAINER
#error "WBT_MPI_TRAINER must name the MPI example trainer"
#endif
#ifndef WBT_RANK_LOGGER
#error "WBT_RANK_LOGGER must name the rank_logger program"
#endif

static wbt_server srv;
static char runs[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "--crash-after 2") < 0 || wbt_mkdtemp(runs, sizeof(runs), "mpiruns") < 0)
		return -1;
	setenv("WB_DIR", runs, 1);
	setenv("WB_ENTITY", "tester", 1);
	setenv("WB_HEARTBEAT_MS", "200", 1);
	/* CI runs as root; OpenMPI wants both to agree to that */
	setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
	setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	return 0;
}

/* Start mpirun -np n prog args... (NULL-terminated); returns its pid. */
static pid_t mpirun(int n, const char *prog, ...)
{
	const char *argv[32];
	char np[16];
	int argc = 0;
	va_list ap;
	pid_t pid;

	snprintf(np, sizeof(np), "%d", n);
	argv[argc++] = "mpirun";
	argv[argc++] = "--oversubscribe";
	argv[argc++] = "--mca";
	argv[argc++] = "orte_abort_on_non_zero_status"; /* a killed rank must not take the others down */
	argv[argc++] = "0";
	argv[argc++] = "-np";
	argv[argc++] = np;
	argv[argc++] = prog;
	va_start(ap, prog);
	for (const char *a; (a = va_arg(ap, const char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* Under AddressSanitizer, LeakSanitizer would fail every rank at exit
		 * on OpenMPI's own allocations (MPI_Init's, never freed by design);
		 * wb's code is leak-checked by every other test. */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[512];
		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		execvp("mpirun", (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static cJSON *get_group(const char *project, const char *group)
{
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/groups/%s", project, group);
	return wbt_get_json(&srv, path);
}

/* The only group of a project (the SDK names it after the mpirun job). */
static void only_group(const char *project, char *out, size_t cap)
{
	char path[256];
	cJSON *j;
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/groups", project);
	j = wbt_get_json(&srv, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "groups")), 1);
	snprintf(out, cap, "%s",
		 cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "groups"), 0), "group")->valuestring);
	cJSON_Delete(j);
}

typedef struct stepagg {
	double sum, sumsq, min, max;
	int n;
} stepagg;

/* Aggregate key over the group's ranks from each rank's own export, and
 * check the server's group history against it, step by step. */
static void check_aggregates(const char *project, const char *group, const char *key, int64_t max_steps,
			     int *counts_out)
{
	cJSON *g = get_group(project, group), *rank, *h;
	stepagg *agg = calloc((size_t)max_steps, sizeof(*agg));
	char path[512];
	int64_t i = 0;

	assert_non_null(g);
	assert_non_null(agg);
	cJSON_ArrayForEach(rank, cJSON_GetObjectItem(g, "ranks"))
	{
		cJSON *e, *st, *v;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/runs/%s/export?key=%s&format=json", project,
			 cJSON_GetObjectItem(rank, "id")->valuestring, key);
		e = wbt_get_json(&srv, path);
		assert_non_null(e);
		for (st = cJSON_GetObjectItem(e, "step")->child, v = cJSON_GetObjectItem(e, "value")->child; st && v;
		     st = st->next, v = v->next) {
			int64_t s = (int64_t)st->valuedouble;
			double x = wbt_json_number(v);
			assert_true(s >= 0 && s < max_steps);
			if (agg[s].n == 0 || x < agg[s].min)
				agg[s].min = x;
			if (agg[s].n == 0 || x > agg[s].max)
				agg[s].max = x;
			agg[s].sum += x;
			agg[s].sumsq += x * x;
			agg[s].n++;
		}
		cJSON_Delete(e);
	}
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/groups/%s/history?key=%s&buckets=10000", project,
		 group, key);
	h = wbt_get_json(&srv, path);
	assert_non_null(h);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(h, "downsampled")));
	{
		cJSON *st = cJSON_GetObjectItem(h, "step")->child, *mean = cJSON_GetObjectItem(h, "mean")->child,
		      *sd = cJSON_GetObjectItem(h, "std")->child, *mn = cJSON_GetObjectItem(h, "min")->child,
		      *mx = cJSON_GetObjectItem(h, "max")->child, *cnt = cJSON_GetObjectItem(h, "count")->child;
		for (; st; st = st->next, mean = mean->next, sd = sd->next, mn = mn->next, mx = mx->next,
			   cnt = cnt->next) {
			int64_t s = (int64_t)st->valuedouble;
			const stepagg *a = &agg[s];
			double m = a->sum / a->n, var = a->sumsq / a->n - m * m;
			assert_true(s >= 0 && s < max_steps);
			assert_int_equal((int)cnt->valuedouble, a->n);
			assert_true(fabs(wbt_json_number(mean) - m) <= 1e-9 * (1 + fabs(m)));
			assert_true(fabs(wbt_json_number(sd) - sqrt(var > 0 ? var : 0)) <= 1e-6 * (1 + fabs(m)));
			assert_true(wbt_json_number(mn) == a->min);
			assert_true(wbt_json_number(mx) == a->max);
			if (counts_out)
				counts_out[s] = a->n;
			i++;
		}
	}
	/* every step some rank logged is there */
	for (int64_t s = 0; s < max_steps; s++)
		if (agg[s].n)
			i--;
	assert_int_equal(i, 0);
	cJSON_Delete(h);
	cJSON_Delete(g);
	free(agg);
}

/* The group's history downsampled to nb buckets against the same computed
 * from each rank's own export: the range is the union of the ranks' steps,
 * cut into nb equal buckets for every rank (floor((s - lo) * nb / (hi - lo +
 * 1))), each rank contributing its last value in a bucket to mean and
 * count and all its points to min and max — also for a rank whose steps
 * end early, which must not be bucketed on a grid of its own. */
#define MAXR 8
#define MAXB 64
static void check_bucketed(const char *project, const char *group, const char *key, int nb)
{
	cJSON *g = get_group(project, group), *rank, *h, *st, *mean, *mn, *mx, *cnt;
	double last[MAXR][MAXB], bmin[MAXB], bmax[MAXB];
	int has[MAXR][MAXB] = {{0}}, any[MAXB] = {0}, nr = 0, rows = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	cJSON *ex[MAXR];
	char path[512];

	assert_non_null(g);
	assert_true(nb > 0 && nb <= MAXB);
	cJSON_ArrayForEach(rank, cJSON_GetObjectItem(g, "ranks"))
	{
		assert_true(nr < MAXR);
		snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/runs/%s/export?key=%s&format=json", project,
			 cJSON_GetObjectItem(rank, "id")->valuestring, key);
		ex[nr] = wbt_get_json(&srv, path);
		assert_non_null(ex[nr]);
		cJSON_ArrayForEach(st, cJSON_GetObjectItem(ex[nr], "step"))
		{
			lo = (int64_t)st->valuedouble < lo ? (int64_t)st->valuedouble : lo;
			hi = (int64_t)st->valuedouble > hi ? (int64_t)st->valuedouble : hi;
		}
		nr++;
	}
	assert_true(lo <= hi);
	for (int r = 0; r < nr; r++) {
		cJSON *v = cJSON_GetObjectItem(ex[r], "value")->child;
		for (st = cJSON_GetObjectItem(ex[r], "step")->child; st && v; st = st->next, v = v->next) {
			int64_t s = (int64_t)st->valuedouble;
			int b = (int)((s - lo) * nb / (hi - lo + 1));
			double x = wbt_json_number(v);
			last[r][b] = x; /* export is in step order */
			has[r][b] = 1;
			bmin[b] = any[b] && bmin[b] < x ? bmin[b] : x;
			bmax[b] = any[b] && bmax[b] > x ? bmax[b] : x;
			any[b] = 1;
		}
		cJSON_Delete(ex[r]);
	}
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/groups/%s/history?key=%s&buckets=%d", project, group,
		 key, nb);
	h = wbt_get_json(&srv, path);
	assert_non_null(h);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(h, "downsampled")));
	mean = cJSON_GetObjectItem(h, "mean")->child;
	mn = cJSON_GetObjectItem(h, "min")->child;
	mx = cJSON_GetObjectItem(h, "max")->child;
	cnt = cJSON_GetObjectItem(h, "count")->child;
	for (st = cJSON_GetObjectItem(h, "step")->child; st;
	     st = st->next, mean = mean->next, mn = mn->next, mx = mx->next, cnt = cnt->next) {
		int b = (int)(((int64_t)st->valuedouble - lo) * nb / (hi - lo + 1)), n = 0;
		double sum = 0;
		assert_true(b >= 0 && b < nb && any[b]);
		for (int r = 0; r < nr; r++)
			if (has[r][b]) {
				sum += last[r][b];
				n++;
			}
		assert_int_equal((int)cnt->valuedouble, n);
		assert_true(fabs(wbt_json_number(mean) - sum / n) <= 1e-9 * (1 + fabs(sum / n)));
		assert_true(wbt_json_number(mn) == bmin[b]);
		assert_true(wbt_json_number(mx) == bmax[b]);
		any[b] = 2;
		rows++;
	}
	for (int b = 0; b < nb; b++)
		assert_true(any[b] != 1); /* every bucket with points is answered */
	assert_true(rows > 0);
	cJSON_Delete(h);
	cJSON_Delete(g);
}

static void test_e2e_mpi__trainer_lands_as_one_group(void **state)
{
	char group[128];
	cJSON *g, *rank;
	int seen[4] = {0};

	(void)state;
	assert_int_equal(wait_exit(mpirun(4, WBT_MPI_TRAINER, "--epochs", "1", "--limit", "3200", "--project",
					  "dist-train", (const char *)NULL)),
			 0);
	only_group("dist-train", group, sizeof(group));
	assert_true(strncmp(group, "mpi-", 4) == 0);
	g = get_group("dist-train", group);
	assert_non_null(g);
	assert_string_equal(cJSON_GetObjectItem(g, "state")->valuestring, "finished");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "ranks")), 4);
	cJSON_ArrayForEach(rank, cJSON_GetObjectItem(g, "ranks"))
	{
		int r = cJSON_GetObjectItem(rank, "rank")->valueint;
		assert_true(r >= 0 && r < 4);
		seen[r]++;
		assert_string_equal(cJSON_GetObjectItem(rank, "state")->valuestring, "finished");
		assert_true(cJSON_IsString(cJSON_GetObjectItem(rank, "host")));
		/* 3200 images / (16 per rank * 4 ranks) = 50 steps, 0..49 */
		assert_int_equal(cJSON_GetObjectItem(rank, "last_step")->valueint, 49);
	}
	assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
	cJSON_Delete(g);
	check_aggregates("dist-train", group, "train/loss", 64, NULL);
	check_aggregates("dist-train", group, "train/acc", 64, NULL);
}

static void clear_pid_files(void)
{
	char path[512];
	for (int r = 0; r < 4; r++) {
		snprintf(path, sizeof(path), "%s/rank-%d.pid", runs, r);
		unlink(path);
	}
}

static void test_e2e_mpi__ranks_with_different_step_counts(void **state)
{
	char group[128];
	int counts[128] = {0};

	(void)state;
	/* rank r logs 50 + 10 r steps */
	clear_pid_files();
	assert_int_equal(wait_exit(mpirun(4, WBT_RANK_LOGGER, runs, "50", "0", (const char *)NULL)), 0);
	only_group("dist", group, sizeof(group));
	check_aggregates("dist", group, "loss", 128, counts);
	for (int s = 0; s < 80; s++)
		assert_int_equal(counts[s], s < 50 ? 4 : s < 60 ? 3 : s < 70 ? 2 : 1);
	/* downsampled: 80 steps into 10 and into 7 buckets (not a divisor) */
	check_bucketed("dist", group, "loss", 10);
	check_bucketed("dist", group, "loss", 7);
}

static int read_pid(int rank, char *run_id, size_t cap)
{
	char path[512], id[64];
	FILE *f;
	int pid = 0;
	snprintf(path, sizeof(path), "%s/rank-%d.pid", runs, rank);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d %63s", &pid, id) != 2)
		pid = 0;
	fclose(f);
	snprintf(run_id, cap, "%s", id);
	return pid;
}

static const char *run_state(const char *project, const char *id, char *buf, size_t cap, int64_t *last_step)
{
	char path[512];
	cJSON *j;
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/runs/%s", project, id);
	j = wbt_get_json(&srv, path);
	snprintf(buf, cap, "%s", j ? cJSON_GetObjectItem(j, "state")->valuestring : "(none)");
	if (last_step)
		*last_step = j && cJSON_IsNumber(cJSON_GetObjectItem(j, "last_step"))
				 ? (int64_t)cJSON_GetObjectItem(j, "last_step")->valuedouble
				 : -1;
	cJSON_Delete(j);
	return buf;
}

static void test_e2e_mpi__killed_rank_crashes_group_others_finish(void **state)
{
	char ids[4][64], buf[32], group[128], path[512];
	int pids[4] = {0};
	double deadline;
	int64_t last = -1;
	pid_t job;
	cJSON *g;

	(void)state;
	clear_pid_files();
	job = mpirun(4, WBT_RANK_LOGGER, runs, "400", "10", (const char *)NULL);
	deadline = wbt_now() + 60;
	for (int r = 0; r < 4; r++)
		while (!(pids[r] = read_pid(r, ids[r], sizeof(ids[r]))) && wbt_now() < deadline)
			usleep(20000);
	/* wait for rank 1 to show progress */
	while (wbt_now() < deadline && (strcmp(run_state("dist", ids[1], buf, sizeof(buf), &last), "running") != 0 ||
					last < 20))
		usleep(20000);
	assert_true(last >= 20);
	assert_int_equal(kill(pids[1], SIGKILL), 0);

	for (int r = 0; r < 4; r++) {
		const char *want = r == 1 ? "crashed" : "finished";
		deadline = wbt_now() + 60;
		while (strcmp(run_state("dist", ids[r], buf, sizeof(buf), NULL), want) != 0 && wbt_now() < deadline)
			usleep(50000);
		assert_string_equal(buf, want);
	}
	/* nothing the surviving ranks logged is lost */
	for (int r = 0; r < 4; r++) {
		cJSON *e;
		if (r == 1)
			continue;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/dist/runs/%s/export?key=loss&format=json", ids[r]);
		e = wbt_get_json(&srv, path);
		assert_non_null(e);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "step")), 400 + 10 * r);
		cJSON_Delete(e);
	}
	/* the group of this job is crashed */
	{
		char rp[256];
		cJSON *run;
		snprintf(rp, sizeof(rp), "/api/v1/projects/tester/dist/runs/%s", ids[0]);
		run = wbt_get_json(&srv, rp);
		assert_non_null(run);
		snprintf(group, sizeof(group), "%s", cJSON_GetObjectItem(run, "group")->valuestring);
		cJSON_Delete(run);
	}
	g = get_group("dist", group);
	assert_non_null(g);
	assert_string_equal(cJSON_GetObjectItem(g, "state")->valuestring, "crashed");
	assert_int_equal(cJSON_GetObjectItem(g, "crashed")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(g, "finished")->valueint, 3);
	cJSON_Delete(g);
	/* OpenMPI's mpirun keeps waiting for the killed rank; end it */
	kill(job, SIGTERM);
	deadline = wbt_now() + 10;
	while (waitpid(job, NULL, WNOHANG) == 0) {
		if (wbt_now() > deadline) {
			kill(job, SIGKILL);
			waitpid(job, NULL, 0);
			break;
		}
		usleep(20000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_mpi__trainer_lands_as_one_group),
	    cmocka_unit_test(test_e2e_mpi__ranks_with_different_step_counts),
	    cmocka_unit_test(test_e2e_mpi__killed_rank_crashes_group_others_finish),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Rank detection from each launcher's environment (sdk/src/launcher.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher.h"

/* The environment a test hands to the detector: NULL-terminated name/value pairs. */
static const char *const *env_table;

static const char *table_get(const char *name)
{
	for (size_t i = 0; env_table[i]; i += 2)
		if (strcmp(env_table[i], name) == 0)
			return env_table[i + 1];
	return NULL;
}

static int detect(wb__launcher *l, const char *const *env)
{
	env_table = env;
	return wb__launcher_detect(l, table_get);
}

static void test_launcher__none(void **state)
{
	const char *const env[] = {"HOME", "/root", "PATH", "/usr/bin", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 0);
	assert_null(l.kind);
	assert_int_equal(l.rank, -1);
	assert_string_equal(l.group, "");
}

/* One launcher's environment and what detection must find in it (ANY, NULL: not checked). */
#define ANY (-2)
typedef struct launch_case {
	const char *what;
	const char *const env[20];
	const char *kind;
	int rank, world_size, local_rank;
	const char *job_id;
	const char *group;
} launch_case;

static const launch_case CASES[] = {
	{"openmpi",
	 {"OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "1", "PMIX_NAMESPACE",
	  "prterun-node1-12345@1", "PMIX_RANK", "3", NULL},
	 "openmpi", 3, 4, 1, "prterun-node1-12345@1", "mpi-prterun-node1-12345-1"},
	{"openmpi, its job id without PMIx",
	 {"OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_MCA_ess_base_jobid", "2837184513", NULL},
	 NULL, ANY, ANY, -1, NULL, "mpi-2837184513"},
	{"pmix",
	 {"PMIX_RANK", "5", "PMIX_SIZE", "8", "PMIX_NAMESPACE", "job.7", NULL},
	 "pmix", 5, 8, ANY, NULL, "mpi-job.7"},
	{"mpich hydra",
	 {"PMI_RANK", "1", "PMI_SIZE", "2", "MPI_LOCALRANKID", "1", "PMI_KVSNAME", "kvs_4242_0", NULL},
	 "mpich", 1, 2, 1, NULL, "mpi-kvs_4242_0"},
	{"slurm srun",
	 {"SLURM_PROCID", "7", "SLURM_NTASKS", "16", "SLURM_LOCALID", "3", "SLURM_JOB_ID", "123456", "SLURM_STEP_ID",
	  "0", NULL},
	 "slurm", 7, 16, 3, "123456.0", "slurm-123456.0"},
	/* srun --mpi=pmix (the variables a real srun sets): Slurm's PMIx plugin
	 * exports PMIX_RANK and PMIX_NAMESPACE but no size or local rank. */
	{"srun --mpi=pmix",
	 {"PMIX_RANK", "1", "PMIX_NAMESPACE", "slurm.pmix.42.0", "SLURM_PROCID", "1", "SLURM_NTASKS", "2",
	  "SLURM_LOCALID", "1", "SLURM_JOB_ID", "42", "SLURM_STEP_ID", "0", NULL},
	 "slurm", 1, 2, 1, NULL, "slurm-42.0"},
	/* mpirun inside an sbatch allocation: the rank is OpenMPI's, the job Slurm's. */
	{"mpirun inside slurm",
	 {"OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "4", "SLURM_JOB_ID", "99", "SLURM_PROCID", "0",
	  "PMIX_NAMESPACE", "x@1", NULL},
	 "openmpi", 2, ANY, ANY, NULL, "slurm-99"},
	{"torchrun",
	 {"RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "1", "TORCHELASTIC_RUN_ID", "f00d", NULL},
	 "torchrun", 1, 2, ANY, NULL, "torchrun-f00d"},
};

static void test_launcher__cases(void **state)
{
	wb__launcher l;

	(void)state;
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		const launch_case *c = &CASES[i];

		print_message("%s\n", c->what);
		assert_int_equal(detect(&l, c->env), 1);
		if (c->kind)
			assert_string_equal(l.kind, c->kind);
		if (c->rank != ANY)
			assert_int_equal(l.rank, c->rank);
		if (c->world_size != ANY)
			assert_int_equal(l.world_size, c->world_size);
		if (c->local_rank != ANY)
			assert_int_equal(l.local_rank, c->local_rank);
		if (c->job_id)
			assert_string_equal(l.job_id, c->job_id);
		assert_string_equal(l.group, c->group);
		assert_true(wb__name_valid(l.group));
	}
}

#undef ANY

/* A stray RANK without WORLD_SIZE is not torchrun; garbage numbers are ignored. */
static void test_launcher__garbage(void **state)
{
	const char *const stray[] = {"RANK", "1", NULL};
	const char *const bad[] = {"OMPI_COMM_WORLD_RANK", "x1", "SLURM_PROCID", "-3", NULL};
	const char *const longjob[] = {"SLURM_PROCID", "0", "SLURM_JOB_ID",
				       "0123456789012345678901234567890123456789012345678901234567890123456789", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, stray), 0);
	assert_int_equal(detect(&l, bad), 0);
	assert_int_equal(detect(&l, longjob), 1);
	assert_true(wb__name_valid(l.group));
	assert_int_equal(strlen(l.group), WB__NAME_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_launcher__none),
	    cmocka_unit_test(test_launcher__cases),
	    cmocka_unit_test(test_launcher__garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

static void test_launcher__openmpi(void **state)
{
	const char *const env[] = {"OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4",
				   "OMPI_COMM_WORLD_LOCAL_RANK", "1", "PMIX_NAMESPACE", "prterun-node1-12345@1",
				   "PMIX_RANK", "3", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "openmpi");
	assert_int_equal(l.rank, 3);
	assert_int_equal(l.world_size, 4);
	assert_int_equal(l.local_rank, 1);
	assert_string_equal(l.job_id, "prterun-node1-12345@1");
	assert_string_equal(l.group, "mpi-prterun-node1-12345-1");
	assert_true(wb__name_valid(l.group));
}

static void test_launcher__openmpi_jobid_without_pmix(void **state)
{
	const char *const env[] = {"OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2",
				   "OMPI_MCA_ess_base_jobid", "2837184513", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.group, "mpi-2837184513");
	assert_int_equal(l.local_rank, -1);
}

static void test_launcher__pmix(void **state)
{
	const char *const env[] = {"PMIX_RANK", "5", "PMIX_SIZE", "8", "PMIX_NAMESPACE", "job.7", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "pmix");
	assert_int_equal(l.rank, 5);
	assert_int_equal(l.world_size, 8);
	assert_string_equal(l.group, "mpi-job.7");
}

static void test_launcher__mpich_hydra(void **state)
{
	const char *const env[] = {"PMI_RANK", "1", "PMI_SIZE", "2", "MPI_LOCALRANKID", "1", "PMI_KVSNAME",
				   "kvs_4242_0", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "mpich");
	assert_int_equal(l.rank, 1);
	assert_int_equal(l.world_size, 2);
	assert_int_equal(l.local_rank, 1);
	assert_string_equal(l.group, "mpi-kvs_4242_0");
}

static void test_launcher__slurm_srun(void **state)
{
	const char *const env[] = {"SLURM_PROCID", "7", "SLURM_NTASKS", "16", "SLURM_LOCALID", "3",
				   "SLURM_JOB_ID", "123456", "SLURM_STEP_ID", "0", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "slurm");
	assert_int_equal(l.rank, 7);
	assert_int_equal(l.world_size, 16);
	assert_int_equal(l.local_rank, 3);
	assert_string_equal(l.job_id, "123456.0");
	assert_string_equal(l.group, "slurm-123456.0");
}

/* srun --mpi=pmix (the variables a real srun sets): Slurm's PMIx plugin
 * exports PMIX_RANK and PMIX_NAMESPACE but no size or local rank. */
static void test_launcher__srun_mpi_pmix(void **state)
{
	const char *const env[] = {"PMIX_RANK", "1", "PMIX_NAMESPACE", "slurm.pmix.42.0", "SLURM_PROCID", "1",
				   "SLURM_NTASKS", "2", "SLURM_LOCALID", "1", "SLURM_JOB_ID", "42", "SLURM_STEP_ID", "0",
				   NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "slurm");
	assert_int_equal(l.rank, 1);
	assert_int_equal(l.world_size, 2);
	assert_int_equal(l.local_rank, 1);
	assert_string_equal(l.group, "slurm-42.0");
}

/* mpirun inside an sbatch allocation: the rank is OpenMPI's, the job Slurm's. */
static void test_launcher__mpirun_inside_slurm(void **state)
{
	const char *const env[] = {"OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "4",
				   "SLURM_JOB_ID", "99", "SLURM_PROCID", "0", "PMIX_NAMESPACE", "x@1", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "openmpi");
	assert_int_equal(l.rank, 2);
	assert_string_equal(l.group, "slurm-99");
}

static void test_launcher__torchrun(void **state)
{
	const char *const env[] = {"RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "1", "TORCHELASTIC_RUN_ID",
				   "f00d", NULL};
	wb__launcher l;
	(void)state;
	assert_int_equal(detect(&l, env), 1);
	assert_string_equal(l.kind, "torchrun");
	assert_int_equal(l.rank, 1);
	assert_int_equal(l.world_size, 2);
	assert_string_equal(l.group, "torchrun-f00d");
}

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
	    cmocka_unit_test(test_launcher__openmpi),
	    cmocka_unit_test(test_launcher__openmpi_jobid_without_pmix),
	    cmocka_unit_test(test_launcher__pmix),
	    cmocka_unit_test(test_launcher__mpich_hydra),
	    cmocka_unit_test(test_launcher__slurm_srun),
	    cmocka_unit_test(test_launcher__srun_mpi_pmix),
	    cmocka_unit_test(test_launcher__mpirun_inside_slurm),
	    cmocka_unit_test(test_launcher__torchrun),
	    cmocka_unit_test(test_launcher__garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

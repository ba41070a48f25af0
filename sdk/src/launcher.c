/*
 * launcher.c — rank, world size and job identity from the launcher's
 * environment (see launcher.h).
 *
 * The variables, by launcher:
 *   OpenMPI   OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK; job: PMIX_NAMESPACE
 *             (OpenMPI 4/5 over PMIx) or OMPI_MCA_ess_base_jobid
 *   PMIx      PMIX_RANK, PMIX_NAMESPACE (size from PMIX_SIZE when exported;
 *             under srun --mpi=pmix, which exports neither size nor local
 *             rank, from SLURM_NTASKS and SLURM_LOCALID: kind "slurm")
 *   PMI       PMI_RANK, PMI_SIZE, MPI_LOCALRANKID (MPICH/Hydra); job: PMI_KVSNAME
 *   Slurm     SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; job: SLURM_JOB_ID
 *             and SLURM_STEP_ID
 *   torchrun  RANK, WORLD_SIZE, LOCAL_RANK; job: TORCHELASTIC_RUN_ID
 * A Slurm job id, when present, names the job even under mpirun, because it
 * is what a user sees in squeue. The group name is "<launcher>-<job id>"
 * with every character outside [A-Za-z0-9_.-] turned into '-', so it is the
 * same string on every rank and a valid name for the server.
 */
#include "launcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A non-negative int from the variable, or -1. */
static int env_int(wb__getenv_fn get, const char *name)
{
	const char *v = get(name);
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	n = strtol(v, &end, 10);
	if (*end || n < 0 || n > 1L << 30)
		return -1;
	return (int)n;
}

static const char *env_str(wb__getenv_fn get, const char *name)
{
	const char *v = get(name);
	return v && *v ? v : NULL;
}

/* "<prefix>-<job>" squeezed into a valid name: cut at cap - 1 bytes, every
 * character outside [A-Za-z0-9_.-] turned into '-'. */
static void group_name(char *out, size_t cap, const char *prefix, const char *job)
{
	size_t n = 0;

	for (const char *p = prefix; *p && n + 1 < cap; p++)
		out[n++] = *p;
	if (n + 1 < cap)
		out[n++] = '-';
	for (const char *p = job; *p && n + 1 < cap; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			 c == '-' || c == '.';
		out[n++] = ok ? c : '-';
	}
	out[n] = 0;
}

int wb__launcher_detect(wb__launcher *out, wb__getenv_fn get)
{
	const char *job = NULL, *slurm_job = env_str(get, "SLURM_JOB_ID");
	const char *prefix = NULL;

	memset(out, 0, sizeof(*out));
	out->rank = out->world_size = out->local_rank = -1;

	if (env_int(get, "OMPI_COMM_WORLD_RANK") >= 0) {
		out->kind = "openmpi";
		out->rank = env_int(get, "OMPI_COMM_WORLD_RANK");
		out->world_size = env_int(get, "OMPI_COMM_WORLD_SIZE");
		out->local_rank = env_int(get, "OMPI_COMM_WORLD_LOCAL_RANK");
		job = env_str(get, "PMIX_NAMESPACE");
		if (!job)
			job = env_str(get, "OMPI_MCA_ess_base_jobid");
		prefix = "mpi";
	} else if (env_int(get, "PMIX_RANK") >= 0) {
		out->kind = "pmix";
		out->rank = env_int(get, "PMIX_RANK");
		out->world_size = env_int(get, "PMIX_SIZE");
		out->local_rank = env_int(get, "PMIX_LOCAL_RANK");
		job = env_str(get, "PMIX_NAMESPACE");
		prefix = "mpi";
		if (env_str(get, "SLURM_STEP_ID") && env_int(get, "SLURM_PROCID") == out->rank) {
			/* srun --mpi=pmix: Slurm's PMIx plugin exports the rank but no
			 * PMIX_SIZE or PMIX_LOCAL_RANK; srun's own variables say the rest. */
			out->kind = "slurm";
			if (out->world_size < 0)
				out->world_size = env_int(get, "SLURM_NTASKS");
			if (out->local_rank < 0)
				out->local_rank = env_int(get, "SLURM_LOCALID");
		}
	} else if (env_int(get, "PMI_RANK") >= 0) {
		out->kind = "mpich";
		out->rank = env_int(get, "PMI_RANK");
		out->world_size = env_int(get, "PMI_SIZE");
		out->local_rank = env_int(get, "MPI_LOCALRANKID");
		job = env_str(get, "PMI_KVSNAME");
		prefix = "mpi";
	} else if (env_int(get, "SLURM_PROCID") >= 0) {
		out->kind = "slurm";
		out->rank = env_int(get, "SLURM_PROCID");
		out->world_size = env_int(get, "SLURM_NTASKS");
		out->local_rank = env_int(get, "SLURM_LOCALID");
		prefix = "slurm";
	} else if (env_int(get, "RANK") >= 0 && env_int(get, "WORLD_SIZE") >= 1) {
		out->kind = "torchrun";
		out->rank = env_int(get, "RANK");
		out->world_size = env_int(get, "WORLD_SIZE");
		out->local_rank = env_int(get, "LOCAL_RANK");
		job = env_str(get, "TORCHELASTIC_RUN_ID");
		prefix = "torchrun";
	} else {
		return 0;
	}

	if (slurm_job) {
		const char *step = env_str(get, "SLURM_STEP_ID");
		if (step)
			snprintf(out->job_id, sizeof(out->job_id), "%s.%s", slurm_job, step);
		else
			snprintf(out->job_id, sizeof(out->job_id), "%s", slurm_job);
		prefix = "slurm";
	} else if (job) {
		snprintf(out->job_id, sizeof(out->job_id), "%s", job);
	}
	if (out->job_id[0])
		group_name(out->group, sizeof(out->group), prefix, out->job_id);
	return 1;
}

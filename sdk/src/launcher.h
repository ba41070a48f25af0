/*
 * launcher.h — which distributed launcher started this process, and as
 * which rank.
 *
 * Training that outgrows one machine runs under an existing launcher
 * (OpenMPI's mpirun, MPICH's Hydra, anything speaking PMI/PMIx, Slurm's
 * srun, PyTorch's torchrun). Each exports the rank, the world size and a job
 * identity in its environment; reading them lets the same binary land as one
 * group of runs, one per rank, without a code change.
 */
#ifndef WB_LAUNCHER_H
#define WB_LAUNCHER_H

#include "wire.h"

typedef const char *(*wb__getenv_fn)(const char *name);

typedef struct wb__launcher {
	const char *kind;    /* "openmpi", "pmix", "mpich", "slurm", "torchrun"; NULL: none found */
	int rank;            /* -1 unknown */
	int world_size;      /* -1 unknown */
	int local_rank;      /* -1 unknown */
	char job_id[128];    /* the launcher's job identity, "" unknown */
	char group[WB__NAME_MAX + 1]; /* a valid run group name derived from it, "" if none */
} wb__launcher;

/*
 * Fill *out from the environment read through get (getenv in production,
 * a table in tests). Returns 1 when a launcher was found, else 0 (and *out
 * says so: kind NULL, numbers -1). Precedence when several are present:
 * OpenMPI, then PMIx, then PMI (MPICH/Hydra), then Slurm, then torchrun —
 * the innermost launcher knows the process's own rank (mpirun inside a
 * Slurm allocation sets both OMPI_* and SLURM_JOB_ID; the OMPI_* rank is
 * the right one, the Slurm job id still names the job).
 */
WB__HIDDEN int wb__launcher_detect(wb__launcher *out, wb__getenv_fn get);

#endif /* WB_LAUNCHER_H */

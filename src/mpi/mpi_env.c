/* mpi_env.c - is this process one rank of an MPI launch? Reads only the
 * launchers' environment (Open MPI, MPICH/Hydra, PMIx); no MPI calls, so it
 * is built with and without MPI. Thread-safe (reads the environment). */
#include "mpi/mpi_run.h"

#include <stdlib.h>

int mpi_env_size(void)
{
    static const char *const vars[] = {
        "OMPI_COMM_WORLD_SIZE",   /* Open MPI */
        "PMI_SIZE",               /* MPICH (Hydra), Slurm PMI */
        "PMIX_SIZE",
        "MPI_LOCALNRANKS",        /* MPICH Hydra, per host */
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            int n = atoi(v);
            return n > 0 ? n : 1;
        }
    }
    if (getenv("PMIX_RANK") || getenv("PMI_RANK"))
        return 1;
    return 0;
}

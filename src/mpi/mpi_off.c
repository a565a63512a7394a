/* mpi_off.c - the MPI edge of a build without MPI: runs the threaded job,
 * and refuses a launch by mpirun with more than one rank, which would
 * otherwise run N independent copies of the same job into one target.
 * Main thread only. */
#include "mpi/mpi_run.h"

#include <stdio.h>

int mpi_main(int argc, char **argv, int (*run)(int argc, char **argv))
{
    int n = mpi_env_size();
    if (n > 1) {
        fprintf(stderr, "distcp: started by an MPI launcher with %d ranks, but this distcp was built "
                        "without MPI (configure with -DDISTCP_MPI=ON and an MPI compiler); "
                        "nothing was copied\n", n);
        return 255;
    }
    return run(argc, argv);
}

/* main.c - process entry: hands argv to the command table (cmd/) and exits
 * with the status it returns; under mpirun/mpiexec through the MPI edge
 * (mpi/), which makes this process one rank of a distributed job. The only
 * place besides cmd/ that exits. The test build (DISTCP_TESTING) first
 * installs the engine's test hooks (src/testing/). */
#include "cmd/cmd.h"
#include "cmd/exit.h"
#include "mpi/mpi_run.h"
#ifdef DISTCP_TESTING
#include "testing/testing.h"
#endif

int main(int argc, char **argv)
{
#ifdef DISTCP_TESTING
    testing_init();
#endif
    job_exit_map = cmd_exit_status;   /* the engine shows exit numbers through cmd/ */
    return mpi_main(argc, argv, cmd_main);
}

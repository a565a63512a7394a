/* main.c - process entry: hands argv to the command table (cmd/) and exits
 * with the status it returns; under mpirun/mpiexec through the MPI edge
 * (mpi/), which makes this process one rank of a distributed job. The only
 * place besides cmd/ that exits. */
#include "cmd/cmd.h"
#include "cmd/exit.h"
#include "mpi/mpi_run.h"

int main(int argc, char **argv)
{
    job_exit_map = cmd_exit_status;   /* the engine shows exit numbers through cmd/ */
    return mpi_main(argc, argv, cmd_main);
}

/* main.c - process entry: hands argv to the command table (cmd/) and exits
 * with the status it returns; under mpirun/mpiexec through the MPI edge
 * (mpi/), which makes this process one rank of a distributed job. The only
 * place besides cmd/ that exits. */
#include "cmd/cmd.h"
#include "mpi/mpi_run.h"

int main(int argc, char **argv)
{
    return mpi_main(argc, argv, cmd_main);
}

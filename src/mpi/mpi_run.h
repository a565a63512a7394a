/* mpi_run.h - the process entry's view of the MPI edge.
 *
 * mpi_main() runs `run(argc, argv)` either as a plain process (not started
 * by mpirun/mpiexec) or, when MPI's launcher environment is present, as one
 * rank of a distributed job: it initialises MPI, installs the engine hooks
 * (engine/dist.h), runs, and finalises. Built from mpi_dist.c when the build
 * has MPI (DISTCP_MPI), from mpi_off.c otherwise. Main thread only. */
#ifndef DISTCP_MPI_RUN_H
#define DISTCP_MPI_RUN_H

int mpi_main(int argc, char **argv, int (*run)(int argc, char **argv));

/* Ranks of the launcher environment (0 when not started by an MPI
 * launcher): OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX size variables. */
int mpi_env_size(void);

#endif

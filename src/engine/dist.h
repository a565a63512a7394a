/* dist.h - the seam between the engine and a distributed run (mpi/).
 *
 * A threaded run leaves job_dist NULL and nothing here is called. Under
 * `mpirun -np N distcp ...` the MPI edge (src/mpi/) sets job_dist before
 * job_run(). Then every rank runs job_run(): all ranks open the stores and
 * resolve the sources (listing_prepare); rank 0 alone lists, plans, joins,
 * produces batches, commits and reports; the other ranks only execute the
 * batches rank 0 sends them, with their own worker threads. The engine sees
 * only these hooks and the work queue (workq.h); it never includes mpi.h.
 *
 * Threading: every hook is called from the job's main thread, except
 * message(), which worker threads call (through job_error/job_fail). */
#ifndef DISTCP_DIST_H
#define DISTCP_DIST_H
#include <stddef.h>

struct job;
struct workq;
struct entry;
struct walk;

struct dist {
    int rank, size;
    /* Collective, once, after setup (rank 0: listing and plan done). Rank 0
     * sends the job state other ranks need (work and temp paths, plan
     * totals, target flags); the others check they resolved the same
     * sources and take it. `status` is this rank's status so far; returns
     * the status every rank agrees on (non-zero: skip the copy phase). */
    int (*share)(struct dist *d, struct job *j, int status);
    /* How many workers this rank runs for a job-wide cap `m` (split over
     * the ranks) and a local limit `autow`; *base is the job-wide index of
     * this rank's first worker (for -log part-m-NNNNN names), *bw_share the
     * fraction of --global-bandwidth this rank gets. May return 0. */
    int (*workers)(struct dist *d, const struct job *j, int m, int autow, int *base,
                   double *bw_share);
    /* The copy phase's queue on this rank. Rank 0: push() ships batches
     * (uniformsize: byte-balanced to ranks; dynamic: to whichever rank asks
     * first) and runs its own share locally; finish() collects every rank's
     * counters into j. Other ranks: finish() receives and executes batches
     * until rank 0 says done, then sends back counters. */
    struct workq *(*workq_new)(struct dist *d, struct job *j, int dynamic, size_t max_batches);
    /* Ranks other than 0: a failure message from a worker (status 0: a
     * non-fatal message), shipped to rank 0, which prints and keeps it
     * (the engine has already marked the local job failed for status). */
    void (*message)(struct dist *d, struct job *j, int status, const char *msg);
    /* Collective, once, at the end: rank 0's final status to every rank. */
    int (*end)(struct dist *d, struct job *j, int status);
    /* Ranks other than 0 (worker threads): one report row (jobrec_row's
     * arguments, action an enum jr_action), shipped to rank 0, whose job
     * record writes it as its own (report rows and journal). */
    void (*row)(struct dist *d, struct job *j, int worker, const struct entry *e, const char *src,
                const char *dst, int action, const char *detail);
    /* Distributed listing (listing.h). Rank 0, main thread, while its walk
     * threads run: lend directories of walk w to the ranks that ask and
     * feed back what they listed, until the walk is over. Other ranks,
     * after listing_prepare: list the directories rank 0 lends until it
     * says the listing is over (share() ends it for ranks that skip it). */
    void (*list_walk)(struct dist *d, struct job *j, struct walk *w);
#define DIST_LIST_AHEAD 64  /* most directories lent to one rank at a time (slots rank*64+k) */
    void (*list_serve)(struct dist *d, struct job *j);
};

/* NULL in a threaded run; set by the MPI edge before job_run(). */
extern struct dist *job_dist;

static inline int dist_rank(void)
{
    return job_dist ? job_dist->rank : 0;
}

#endif

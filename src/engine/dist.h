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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job;
struct workq;
struct entry;
struct walk;

/* Chunks of a big file copied by several ranks (copy.c, mpi/mpi_chunk.c).
 * The rank whose worker opens the file (the owner) shares its writer
 * (backend.h wshare) and offers chunks 1..nchunks-1; rank 0 hands them to
 * ranks asking for work; each executing rank joins the writer, writes its
 * range and sends a receipt back to the owner, who commits when all are in.
 * Both records travel as bytes (same build on every rank). */
struct dist_offer {        /* an offer; the token (NUL-terminated) and the entry record follow */
    uint64_t file;         /* the owner's handle for the file (set by the edge) */
    int32_t owner;         /* the owner's rank (set by the edge) */
    uint32_t nchunks;      /* chunk i is [i * chunk, min((i + 1) * chunk, size)) */
    uint64_t chunk, size;
    uint32_t toklen;       /* bytes of token, with its NUL, rounded up to 8 */
    uint32_t entlen;       /* bytes of the entry record */
};
struct dist_rcpt {         /* a chunk's receipt; msglen bytes of message, datalen of data follow */
    uint64_t file;         /* as in the offer */
    uint32_t idx;
    int32_t rc;            /* enum err_code of the chunk */
    uint32_t crc;          /* CRC32C of the chunk's bytes when crc_ok */
    uint8_t crc_ok, readside;
    uint16_t pad;
    int32_t rank;          /* the rank that copied it */
    uint32_t msglen;       /* error message (rc != 0), with its NUL */
    uint32_t datalen;      /* the backend's receipt (wjoin_end), with its NUL */
};

struct dist {
    int rank, size;
    /* Collective, once, after setup (rank 0: listing and plan done). Rank 0
     * sends the job state other ranks need (work and temp paths, plan
     * totals, target flags); the others check they resolved the same
     * sources and take it. `status` is this rank's status so far; returns
     * the status every rank agrees on (non-zero: skip the copy phase). */
    enum job_status (*share)(struct dist *d, struct job *j, enum job_status status);
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
    void (*message)(struct dist *d, struct job *j, enum job_status status, const char *msg);
    /* Collective, once, at the end: rank 0's final status to every rank. */
    enum job_status (*end)(struct dist *d, struct job *j, enum job_status status);
    /* Ranks other than 0 (worker threads): one report row (rec_row's
     * arguments, action an enum jr_action, recorder.h), shipped to rank 0, whose job
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
    /* Big files across ranks (optional; NULL: chunks stay in the owner's
     * rank). chunk_offer: a worker of the owner offers chunks 1.. of `o`
     * (len bytes with what follows); `file` is the engine's handle. Blocks
     * until rank 0 answers. True: accepted; then copy_chunk_receipt() runs
     * on this rank's main thread once for every offered chunk (also when it
     * could not run: rc ERR_CANCELLED). False: the owner copies them itself.
     * chunk_receipt: a worker of the executing rank sends a receipt to the
     * owner. Both from worker threads. */
    bool (*chunk_offer)(struct dist *d, struct job *j, void *file, const struct dist_offer *o,
                        size_t len);
    void (*chunk_receipt)(struct dist *d, struct job *j, int owner, const struct dist_rcpt *r,
                          size_t len);
};

/* NULL in a threaded run; set by the MPI edge before job_run(). */
extern struct dist *job_dist;

static inline int dist_rank(void)
{
    return job_dist ? job_dist->rank : 0;
}

#endif

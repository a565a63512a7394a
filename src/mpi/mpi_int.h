/* mpi_int.h - state and wire format shared by the MPI edge's files
 * (mpi_dist.c: launch, share, end; mpi_queue.c: the copy phase's queue).
 * The only headers of the project that include mpi.h.
 *
 * Protocol of the copy phase (point to point on MPI_COMM_WORLD):
 *   rank r -> 0  T_REQ     snapshot      "send me one more batch"
 *   rank r -> 0  T_MSG     status+text   a worker's message (job_error/job_fail)
 *   rank r -> 0  T_REPORT  snapshot      r has finished; its final counters
 *   0 -> rank r  T_BATCH   n,bytes,data  one work batch (flat entry records)
 *   0 -> rank r  T_DONE    cancel flag   no more batches
 * Rank 0 sends T_DONE to every other rank exactly once and then waits for
 * each one's T_REPORT; a rank sends T_REQ only between the start of the
 * copy phase and T_DONE. Messages from one rank arrive in order, so a
 * rank's T_MSGs are all in before its T_REPORT.
 *
 * Threading: MPI is initialised FUNNELED: only the main thread calls MPI.
 * Worker threads hand messages to the main thread through `mq` (capped;
 * a full queue makes the worker wait). */
#ifndef DISTCP_MPI_INT_H
#define DISTCP_MPI_INT_H
#include <mpi.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/dist.h"
#include "engine/job.h"
#include "engine/workq.h"

enum { T_REQ = 11, T_MSG, T_REPORT, T_BATCH, T_DONE };
/* mpi_rows.c: rank r -> 0 T_ROWS (report rows, after r synced its target);
 * mpi_list.c: the distributed listing (see there) */
enum { T_ROWS = 60, T_LREQ, T_LDIR, T_LRES, T_LEND, T_LACK };

#define SNAP_N (C__COUNT + 1)   /* counters, then progress bytes */
#define MQ_CAP 256              /* messages waiting to be shipped */
#define MSG_MAX 2048

struct mq_item {
    int32_t status;
    char text[MSG_MAX];
};

struct mpid {
    struct dist d;
    int nactive;                 /* ranks that run workers */
    /* rank 0: copy-phase bookkeeping */
    bool copy_open;              /* share() succeeded, T_DONE not yet sent */
    bool *reported;              /* per rank: its T_REPORT arrived */
    uint64_t (*last)[SNAP_N];    /* per rank: last snapshot applied */
    char (*hosts)[64];           /* per rank: host name (for messages) */
    /* other ranks */
    bool shipping;               /* copy phase: messages go to rank 0 */
    bool done_rcvd, report_sent;
    pthread_mutex_t mlock;
    pthread_cond_t mcond;
    struct mq_item *mq;          /* ring of MQ_CAP */
    unsigned mq_head, mq_n;
};

extern struct mpid mpid;

/* The share of -m workers of `rank`, as workers() computes it. */
int mpid_share(const struct job *j, int rank, int m);
/* Rank 0: apply a rank's counter snapshot to the job (adds the delta). */
void mpid_apply_snapshot(struct job *j, int rank, const uint64_t *snap);
/* This rank's counters and progress, for T_REQ / T_REPORT. */
void mpid_snapshot(struct job *j, uint64_t *snap);
/* Other ranks: send queued worker messages to rank 0 (main thread). */
void mpid_flush_messages(void);
/* Rank 0: handle one incoming message already probed (status st). */
void mpid_handle(struct job *j, const MPI_Status *st);
/* Rank 0: end the copy phase: T_DONE to all, wait for every T_REPORT. */
void mpid_close_copy(struct job *j);
/* Other ranks outside a normal copy phase end: report and take T_DONE. */
void mpid_leave_copy(struct job *j);
/* Wait a little while polling (no busy spin). */
void mpid_nap(void);

/* mpi_rows.c: every rank's report rows and journal records go to rank 0's
 * job record. share(): collective, after the state is shared; the others
 * learn whether the job is recorded. ship(): other ranks, main thread:
 * sync the target and send the rows gathered so far (force: all now, else
 * every journal interval). take(): rank 0, one T_ROWS message. */
void mpid_rows_share(struct job *j);
void mpid_rows_ship(struct job *j, bool force);
void mpid_rows_take(struct job *j, int rank, const char *buf, size_t len);
void mpid_row(struct dist *d, struct job *j, int worker, const struct entry *e, const char *src,
              const char *dst, int action, const char *detail);

/* CRC32C of the resolved roots (path, base): ranks must agree. */
uint32_t mpid_roots_digest(const struct job *j);
/* mpi_list.c: the distributed listing's hooks (list_walk, list_serve), and
 * its end, at the start of share() on every rank (collective). */
void mpid_list_install(struct dist *d);
void mpid_list_close(struct job *j);

struct workq *mpiq_new(struct dist *d, struct job *j, int dynamic, size_t max_batches);

#endif

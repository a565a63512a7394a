/* mpi_chunk.h - big files split into chunks across ranks (mpi_chunk.c).
 *
 * Protocol (point to point on MPI_COMM_WORLD, during the copy phase):
 *   owner -> 0      T_COFFER   dist_offer+token+entry  chunks 1..n-1 of a shared writer
 *   0 -> owner      T_CANSWER  id, yes/no              taken (rank 0 hands them out) or not
 *   0 -> rank r     T_CTASK    idx, offer              one chunk, answering one T_REQ
 *   executor -> owner T_CRCPT  dist_rcpt+msg+data      the chunk's result
 * after T_DONE (no more batches; ranks still run the ones they hold):
 *   rank r -> 0     T_CREQ     -                       "send me one chunk task"
 *   rank r -> 0     T_CIDLE    -                       r runs no batch any more: it
 *                                                      will offer nothing more
 *   0 -> rank r     T_CEND     -                       no chunk task will come
 * Rank 0 hands chunk tasks out ahead of batches, to any rank asking for
 * work (T_REQ, after T_DONE T_CREQ) and to its own workers. It sends T_CEND
 * when no task waits, its own workers run no batch and every other rank is
 * idle (T_CIDLE) or has reported: then no offer can come any more. A rank
 * keeps its workers until T_CEND (chunks are help tasks of its worker
 * queue), and ends its copy phase only when it waits for no receipt. Every
 * task handed out produces exactly one receipt (a rank that cannot run it
 * answers ERR_CANCELLED); after a cancel rank 0 answers the waiting tasks
 * as cancelled and declines offers (the owner then copies them itself).
 * Messages to the same rank (rank 0's own offers, receipts of chunks a rank
 * copied for itself) are handled in process, never sent.
 *
 * Threading: workers only queue messages (chunk_offer, chunk_receipt); the
 * main thread sends, receives and finishes files (copy_chunk_receipt). */
#ifndef DISTCP_MPI_CHUNK_H
#define DISTCP_MPI_CHUNK_H
#include "mpi/mpi_int.h"

#include <stdatomic.h>

enum { T_COFFER = 40, T_CANSWER, T_CTASK, T_CRCPT, T_CREQ, T_CIDLE, T_CEND };
#define T_CHUNK_FIRST T_COFFER
#define T_CHUNK_LAST T_CEND

static inline bool mpic_tag(int tag)
{
    return tag >= T_CHUNK_FIRST && tag <= T_CHUNK_LAST;
}

/* Install the dist.h chunk hooks (mpi_main). */
void mpic_install(struct dist *d);
/* The copy phase starts on this rank; `inner` runs its workers (or NULL),
 * `*batches` counts the batches they hold, `cap` how many tasks they may
 * hold at once. mpic_start(j, NULL, NULL, 0) when the queue goes away. */
void mpic_start(struct job *j, struct workq *inner, atomic_size_t *batches, size_t cap);
/* Release what mpic_start allocated (mpi_main, at the end). */
void mpic_free(void);
/* Main thread: ship what workers queued; take answers and receipts. */
void mpic_serve(struct job *j);
/* Main thread: one probed message with a chunk tag (mpic_tag). Returns true
 * when it was a T_CTASK (the answer to one T_REQ). */
bool mpic_handle(struct job *j, const MPI_Status *st);
/* Rank 0: chunk tasks waiting to be handed out. */
bool mpic_pending(void);
/* Rank 0: hand one waiting task to rank r (answers one of its T_REQs). */
void mpic_send_task(int r);
/* Rank 0: hand one waiting task to this rank's own workers. */
void mpic_run_local(void);
/* Chunk tasks this rank's workers hold now. */
size_t mpic_inflight(void);
/* This rank still waits for answers or receipts, or has messages to ship. */
bool mpic_busy(void);
/* Rank 0, after T_DONE, while it waits for the reports: serve chunk tasks
 * and end their phase (T_CEND) when nothing can come any more; true once it
 * has (rank 0 waits for that too: its own workers may still offer). After a
 * cancel: decline offers, answer waiting tasks as cancelled, T_CEND now. */
bool mpic_drain(struct job *j);
/* Other ranks, after T_DONE: ask for chunk tasks, say when idle. True
 * while T_CEND has not come (the workers must stay). */
bool mpic_hold(struct job *j);

#endif

/* chunks.h - big files across ranks (engine/dist.h), what mpi/ calls;
 * implemented in chunks.c.
 *
 * copy_chunk_exec: run chunk idx of offer o (len bytes) on this rank's
 * worker `worker` and send its receipt (always, whatever happens).
 * copy_chunk_receipt: on the owner's main thread, the receipt r (len bytes)
 * of one offered chunk of `file`; the last one to come in finishes the file
 * (verify, commit, record). Both only while copy_run() runs (j->workq_ctx).
 * o and r are borrowed. */
#ifndef DISTCP_CHUNKS_H
#define DISTCP_CHUNKS_H
#include <stddef.h>
#include <stdint.h>

struct job;
struct dist_offer;
struct dist_rcpt;
void copy_chunk_exec(struct job *j, int worker, const struct dist_offer *o, size_t len,
                     uint32_t idx);
void copy_chunk_receipt(struct job *j, void *file, const struct dist_rcpt *r, size_t len);

#endif

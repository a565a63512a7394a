/* copy.h - the copy phase (spec B §5, §6): per-entry decision and the write
 * path, run by workers. copy_run() feeds the plan through a workq and waits. */
#ifndef DISTCP_COPY_H
#define DISTCP_COPY_H
#include "engine/job.h"

/* Run the copy phase over j->plan; returns an exit status. */
int copy_run(struct job *j);

/* Build the be_attrs for an entry (source status + xattrs/acl as `what`
 * asks), reading extra attributes from the source store. a->have: the bits
 * of `what` there is something to apply for (a source keeping attributes as
 * metadata may lack some); apply `what & a->have`. */
int copy_source_attrs(struct job *j, const struct entry *e, const char *src,
                      unsigned what, struct be_attrs *a, struct errinfo *ei);

/* The -p bits that apply to the target store, files / directories. */
unsigned copy_preserve_mask(const struct job *j, bool dir);

/* Big files across ranks (engine/dist.h). copy_chunk_exec: run chunk idx of
 * offer o (len bytes) on this rank's worker `worker` and send its receipt
 * (always, whatever happens). copy_chunk_receipt: on the owner's main
 * thread, the receipt r (len bytes) of one offered chunk of `file`; the last
 * one to come in finishes the file (verify, commit, record). */
struct dist_offer;
struct dist_rcpt;
void copy_chunk_exec(struct job *j, int worker, const struct dist_offer *o, size_t len,
                     uint32_t idx);
void copy_chunk_receipt(struct job *j, void *file, const struct dist_rcpt *r, size_t len);

#endif

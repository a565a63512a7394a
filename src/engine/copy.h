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

#endif

/* attrs.h - -p attributes of entries (spec B §7), implemented in attrs.c;
 * used by the copy phase and by commit (directory attributes). */
#ifndef DISTCP_ATTRS_H
#define DISTCP_ATTRS_H
#include "engine/job.h"

/* Build the be_attrs for an entry (source status + xattrs/acl as `what`
 * asks), reading extra attributes from the source store. a->have: the bits
 * of `what` there is something to apply for (a source keeping attributes as
 * metadata may lack some); apply `what & a->have`. Caller owns *a
 * (be_attrs_release). */
int copy_source_attrs(struct job *j, const struct entry *e, const char *src,
                      unsigned what, struct be_attrs *a, struct errinfo *ei);

/* The -p bits that apply to the target store, files / directories. */
unsigned copy_preserve_mask(const struct job *j, bool dir);

#endif

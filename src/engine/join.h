/* join.h - the lock-step walk of the sorted source plan and the sorted
 * target listing (DESIGN "lock-step source/target comparison"):
 *  - each source entry learns its target's status without a stat per file;
 *  - target keys with no source counterpart are the -delete candidates
 *    (spec B §8.1), gathered on disk in key order during the same pass.
 * Used when the target exists and -update/-overwrite make keys relative to
 * the target root (B §3). Single-threaded: the copy phase's producer. */
#ifndef DISTCP_JOIN_H
#define DISTCP_JOIN_H
#include "engine/job.h"

struct join;

/* List the target (in parallel) and prepare the walk. *out is NULL when no
 * join applies (fresh target, or keys not relative to the target root).
 * Returns a job status. */
enum job_status join_open(struct job *j, struct join **out);

/* Advance to source entry e (entries come in plan order). *t receives the
 * target's status when it has the key (returns 1), else returns 0. Returns
 * -1 after a failure (already reported through job_fail). */
int join_step(struct join *jn, const struct entry *e, struct tstat *t);

/* The source is done: the remaining target keys are candidates too. Closes
 * the deletions file (j->del_path, j->ndeletions). Returns a job status. */
enum job_status join_finish(struct join *jn);

void join_free(struct join *jn);

#endif

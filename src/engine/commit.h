/* commit.h - the commit phase (spec B §0 step 4, §6.8, §7, §8): -delete,
 * -atomic rename, -xtrack, directory attributes. Runs once, only after a
 * successful copy phase. Also the stray-temp cleanup run at job start. */
#ifndef DISTCP_COMMIT_H
#define DISTCP_COMMIT_H
#include "engine/job.h"

/* Returns a job status. */
enum job_status commit_run(struct job *j);

/* Remove `.distcp.tmp.*` files left in the temp dir by killed runs on this
 * host (their PID is gone). */
void commit_clean_stray(struct job *j);

#endif

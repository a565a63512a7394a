/* copy.h - the copy phase (spec B §5, §6): per-entry decision and the write
 * path, run by workers. copy_run() (copyrun.c) feeds the plan through a
 * workq and waits. The phase's files share engine/copy_int.h; -p attributes
 * are engine/attrs.h, chunks for other ranks engine/chunks.h. */
#ifndef DISTCP_COPY_H
#define DISTCP_COPY_H
#include "engine/job.h"

/* Run the copy phase over j->plan; returns a job status. */
enum job_status copy_run(struct job *j);

#endif

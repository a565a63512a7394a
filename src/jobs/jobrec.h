/* jobrec.h - the job store's recorder: what a running job records so that it
 * can be watched, reported and resumed (issue: jobs). The engine reports to
 * it through its hook table (engine/recorder.h, docs/jobs-recorder.md); the
 * command that runs a job hands &jobrec_recorder to job_run().
 *
 * On disk, in the job's directory (<store dir>/jobs/<id>/):
 *   log           the job's output (submitted jobs) or its messages (blocking)
 *   plan          the sorted listing, entry records back to back (entry.h),
 *                 written once the listing is complete; resume reads it
 *                 instead of listing again
 *   journal       finished entries by plan ordinal, appended in checksummed
 *                 batches, fdatasync'ed after the target's data was synced;
 *                 resume skips them
 *   pending       server-side uploads left open (jobpend.h)
 *   runs/<n>/rows.<w>.tsv   per-run report rows, one file per worker
 * The job row in the store (store.h) holds state, counters and the setup
 * that resume needs (struct job_resume as JSON: target flags, source roots,
 * work and temp dirs, plan totals).
 *
 * Threading: rows and done-earlier are called by workers concurrently (per
 * worker files; the journal buffer is locked); a heartbeat thread flushes
 * the journal, updates the store and watches for cancel requests (then it
 * calls job_request_cancel). */
#ifndef DISTCP_JOBS_JOBREC_H
#define DISTCP_JOBS_JOBREC_H
#include <stdbool.h>

#include "engine/recorder.h"

/* The recorder: start() attaches the job to the store, creating its row (a
 * new blocking run) or claiming the submitted/resumed one (o->job_id); a
 * store that cannot be used is a warning for a new blocking run (it runs
 * unrecorded) and an error otherwise. --job-store none: not recorded. */
extern const struct recorder_ops jobrec_recorder;

/* Name of an action in report rows ("COPIED"; "WOULD_COPY" in a dry run). */
const char *jr_action_name(enum jr_action a, bool dry_run);

#endif

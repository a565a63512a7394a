/* jobrec.h - what a running job records so that it can be watched, reported
 * and resumed (issue: jobs). The engine calls these at its phase boundaries
 * and per entry; every call is a no-op when the job is not recorded
 * (j->rec == NULL).
 *
 * On disk, in the job's directory (<store dir>/jobs/<id>/):
 *   log           the job's output (submitted jobs) or its messages (blocking)
 *   plan          the sorted listing, entry records back to back (entry.h),
 *                 written once the listing is complete; resume reads it
 *                 instead of listing again
 *   journal       finished entries by plan ordinal, appended in checksummed
 *                 batches, fdatasync'ed after the target's data was synced;
 *                 resume skips them
 *   runs/<n>/rows.<w>.tsv   per-run report rows, one file per worker
 * The job row in the store (store.h) holds state, counters and the setup
 * that resume needs (target flags, bases, work dir, plan totals).
 *
 * Threading: jobrec_row/jobrec_done are called by workers concurrently (per
 * worker files; the journal buffer is locked); a heartbeat thread flushes
 * the journal, updates the store and watches for cancel requests. */
#ifndef DISTCP_JOBS_JOBREC_H
#define DISTCP_JOBS_JOBREC_H
#include <stdbool.h>
#include <stdint.h>

struct job;
struct entry;

enum jr_action {
    JR_COPIED, JR_APPENDED, JR_SKIPPED, JR_FAILED, JR_MKDIR, JR_DIR_EXISTS, JR_DELETED,
    JR_DONE_EARLIER, JR__COUNT
};
const char *jr_action_name(enum jr_action a, bool dry_run);

#define JR_MAIN_WORKER (-1)

/* Attach the job to the store: create its row (a new blocking run) or claim
 * the submitted/resumed one (o->job_id). Returns a job status; a store
 * that cannot be used is a warning for a new blocking run (it runs
 * unrecorded) and an error otherwise. */
enum job_status jobrec_start(struct job *j);
/* Resuming with a saved plan: listing_prepare takes the saved target flags
 * and the job the saved work dir. */
bool jobrec_resuming(const struct job *j);
void jobrec_saved_target(struct job *j);
enum job_status jobrec_saved_work(struct job *j);
/* After the listing: save the plan and the setup (a job status). */
enum job_status jobrec_save_plan(struct job *j);
/* Resume: load the plan and the journal instead of listing. */
enum job_status jobrec_load_plan(struct job *j);
/* Plan ordinal `seq` was finished by an earlier run. */
bool jobrec_done_earlier(struct job *j, uint32_t seq);
/* One report row; finished entries (copied, skipped, directories) are also
 * journaled. e may be NULL (deletions). */
void jobrec_row(struct job *j, int worker, const struct entry *e, const char *src,
                const char *dst, enum jr_action a, const char *detail);
/* Make what this process wrote to a local target durable (syncfs; remote
 * stores: nothing to do). An MPI rank calls it before it ships the journal
 * records of files it finished to rank 0. 0 or -1 (errno). */
int jobrec_sync_target(struct job *j);
void jobrec_phase(struct job *j, int phase);
void jobrec_error(struct job *j, const char *msg);
/* Test hook: DISTCP_TEST_PAUSE=<phase>:<n> stops the job at the n-th point of
 * that phase (listing entries, copying entries, writing buffers of file
 * data, committing) after writing "paused" to DISTCP_TEST_PAUSE_FILE, so a test can kill -9 it there. */
void jobrec_pause_point(struct job *j, const char *phase);
/* End of the run: final state, counters, journal flushed, files closed. */
void jobrec_end(struct job *j, enum job_status status);
/* Messages to the job log (blocking runs; submitted runs log stderr). */
void jobrec_log(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The job's directory (<store dir>/jobs/<id>), NULL when not recorded. */
const char *jobrec_dir(const struct job *j);
/* The user asked to stop (signal or `job cancel`). */
bool jobrec_cancelled(const struct job *j);

#endif

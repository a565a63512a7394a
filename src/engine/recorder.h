/* recorder.h - the seam between the engine and whoever records a run (the
 * job store, src/jobs/jobrec.c). See docs/jobs-recorder.md.
 *
 * The engine never includes jobs/: it reports through this table, which the
 * caller above it hands to job_run() (NULL: nothing records). Rank 0 (or the
 * one process) calls start(); when start leaves the context NULL the run is
 * not recorded, j->rec stays NULL and every rec_*() wrapper below is a
 * no-op (rec_row on MPI ranks other than 0 ships the row to rank 0 instead,
 * dist.h row()).
 *
 * Resume state is a value (struct job_resume): the engine fills one after
 * the listing for save_plan() to keep; on resume start() hands a saved one
 * back and the engine applies it (job_resume_apply_*, recorder.c) - the
 * recorder never writes struct job.
 *
 * Threading: start, resume, save_plan, load_plan, phase and end are called
 * from the job's main thread; row, done_earlier, error, log and pending from
 * any thread (workers, the walk) at once. */
#ifndef DISTCP_RECORDER_H
#define DISTCP_RECORDER_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/dist.h"
#include "engine/job.h"
#include "engine/testpoint.h"
#include "util/err.h"

struct entry;
struct sorter;

/* What happened to one entry (a report row). */
enum jr_action {
    JR_COPIED, JR_APPENDED, JR_SKIPPED, JR_FAILED, JR_MKDIR, JR_DIR_EXISTS, JR_DELETED,
    JR_DONE_EARLIER, JR__COUNT
};
#define JR_MAIN_WORKER (-1)    /* rows of the main thread (producer, commit) */

/* The setup a resumed run needs to reuse a saved plan (docs/jobs-recorder.md
 * §2). Filled by the engine (job_resume_fill) for save_plan; owned by the
 * recorder when it hands one back. */
struct job_resume {
    bool target_exists, target_is_dir, target_is_file;  /* as the listing saw it */
    char *work;             /* where data went: the target or the -atomic work dir */
    char *tmp_dir;          /* where temp files went */
    char **roots;           /* source paths in plan index order */
    size_t nroots;
    uint64_t plan_count;    /* entries in the saved plan (set by the recorder) */
    uint64_t plan_files, plan_dirs, plan_bytes;
};

struct recorder_ops {
    /* Main thread, rank 0, once, after the private work area exists. Attach
     * the run to its record: *ctx = the record, or NULL when this run is not
     * recorded (then no other slot is called). *resume: the saved setup when
     * this run resumes a job whose listing had finished, else NULL
     * (borrowed, valid until end()). Returns a job status; non-OK fails
     * the job (the recorder has called job_fail). */
    enum job_status (*start)(struct job *j, void **ctx, const struct job_resume **resume);
    /* After the listing: keep the plan (read it through plan_iter) and the
     * setup st (borrowed). A job status; non-OK: job_fail was called. */
    enum job_status (*save_plan)(void *ctx, struct job *j, struct sorter *plan, const struct job_resume *st);
    /* Resume: reopen the saved plan (*plan, caller-owned) and the record of
     * finished entries. A job status; non-OK: job_fail was called. */
    enum job_status (*load_plan)(void *ctx, struct job *j, struct sorter **plan);
    /* Plan ordinal seq was finished by an earlier run (resume skips it). */
    bool (*done_earlier)(void *ctx, uint32_t seq);
    /* One report row; e may be NULL (deletions). Finished entries are
     * journaled once the target's data is durable (job_sync_target). */
    void (*row)(void *ctx, int worker, const struct entry *e, const char *src, const char *dst,
                enum jr_action a, const char *detail);
    /* The run entered phase (enum job_phase). */
    void (*phase)(void *ctx, int phase);
    /* A failure message (already printed); log() a line for the job log. */
    void (*error)(void *ctx, const char *msg);
    void (*log)(void *ctx, const char *msg);
    /* be_create_opts.pending for the job's writers (backend.h): record an
     * open (open = true, durable before it returns) or closed server-side
     * upload. Non-OK: the writer must not go on. */
    int (*pending)(void *ctx, const char *token, bool open, struct errinfo *ei);
    /* End of the run with job status `status`: final state, counters,
     * everything flushed and closed; ctx is freed. */
    void (*end)(void *ctx, struct job *j, enum job_status status);
};

struct recorder {
    const struct recorder_ops *ops;
    void *ctx;              /* the recorder's state (never NULL in j->rec) */
};

/* The recorder's read-only view of the job (recorder.c): it reads the job
 * only through these (and the slots' arguments). */
struct job_stats {
    uint64_t counters[C__COUNT];    /* enum counter */
    uint64_t progress_bytes;        /* bytes moved so far, retries included */
    uint64_t plan_files, plan_dirs, plan_bytes;
    double elapsed;                 /* seconds since the job started */
    int phase;                      /* enum job_phase */
};
void job_stats(const struct job *j, struct job_stats *s);
const struct options *job_opts(const struct job *j);
const struct be_config *job_store_config(const struct job *j);   /* for opening stores */
const struct be_fs *job_target_fs(const struct job *j);          /* NULL before listing_prepare */
const char *job_first_error(const struct job *j);                /* NULL when none */

/* Engine-side wrappers: no-ops when the run is not recorded. */
static inline bool rec_on(const struct job *j)
{
    return j->rec != NULL;
}
static inline void rec_row(struct job *j, int worker, const struct entry *e, const char *src,
                           const char *dst, enum jr_action a, const char *detail)
{
    if (j->rec)
        j->rec->ops->row(j->rec->ctx, worker, e, src, dst, a, detail);
    else if (job_dist && job_dist->rank != 0 && job_dist->row)
        job_dist->row(job_dist, j, worker, e, src, dst, (int)a, detail);  /* rank 0 records it */
}
static inline bool rec_done_earlier(struct job *j, uint32_t seq)
{
    return j->rec && j->rec->ops->done_earlier(j->rec->ctx, seq);
}
static inline void rec_phase(struct job *j, int phase)
{
    if (j->rec)
        j->rec->ops->phase(j->rec->ctx, phase);
}
static inline void rec_error(struct job *j, const char *msg)
{
    if (j->rec)
        j->rec->ops->error(j->rec->ctx, msg);
}
/* A line for the job log (printf-style). */
void rec_log(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A test pause point (testpoint.h) of a recorded run; nothing in the product. */
static inline void tp_pause(struct job *j, const char *phase)
{
    if (TP_HOOK(pause) && j->rec)
        engine_testhooks->pause(phase);
}

/* The job's side of the phases (recorder.c). rec_start: call ops->start;
 * when it records, j->rec = rec (job_run's storage) and j->resume is the
 * saved setup of a resume. rec_save_plan: after the listing (no-op when not
 * recorded or a dry run); rec_load_plan: resume (j->resume set): the plan
 * totals from j->resume, the plan from the recorder. rec_end: the end of
 * the run, then j->rec = NULL. Exit statuses. */
enum job_status rec_start(struct job *j, struct recorder *rec, const struct recorder_ops *ops);
enum job_status rec_save_plan(struct job *j);
enum job_status rec_load_plan(struct job *j);
void rec_end(struct job *j, enum job_status status);

/* Resume state (recorder.c): fill st from the job after the listing (strings
 * borrowed from j; release with job_resume_release_fill), and apply a saved
 * one: the target flags (listing_prepare) and the work paths with the
 * -atomic rule (after setup_work). Exit statuses; failures call job_fail. */
void job_resume_fill(const struct job *j, struct job_resume *st);
void job_resume_release_fill(struct job_resume *st);
void job_resume_apply_target(struct job *j);
enum job_status job_resume_apply_work(struct job *j);

#endif

/* job.h - one copy job: its options, stores, source roots, plan, counters.
 *
 * Phases (spec B §0, docs/engine-rooms.md): parse (cmd/) → list
 * (sources.c, listing.c) → plan (sorter, entry.c) → compare (join.c,
 * compare.c, decide.c) → copy (copyrun.c, copy.c, chunks.c, attrs.c;
 * workers through workq.h) → commit (commit.c) → report (report.c).
 * job_run() drives them and returns how the job ended (enum job_status).
 *
 * Threading: the job struct is built by the main thread before workers
 * start; workers read it and update only their own `struct wstate` and the
 * atomic fields marked so below. */
#ifndef DISTCP_JOB_H
#define DISTCP_JOB_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend/backend.h"
#include "engine/entry.h"
#include "engine/options.h"

struct recorder;
struct recorder_ops;
struct job_resume;

struct filter;
struct copyrun;                  /* the copy phase's run state (copy_int.h) */

/* Hadoop's counters (spec B §5.2) plus DELETED. */
enum counter {
    C_COPY, C_SKIP, C_FAIL, C_DIR_COPY, C_BYTESCOPIED, C_BYTESEXPECTED,
    C_BYTESSKIPPED, C_BYTESFAILED, C_DELETED, C_SLEEP_MS, C__COUNT
};

/* How a job (or one of its phases) ended (spec B §12). A type of its own,
 * distinct from enum err_code (what failed, util/err.h) and from the
 * process exit status: only src/cmd/ maps statuses to exit numbers
 * (cmd/exit.h). JOB_OK is 0, so `if (status)` means "stop". */
enum job_status {
    JOB_OK = 0,
    JOB_INVALID,      /* invalid arguments or inputs */
    JOB_DUPLICATE,    /* duplicate target paths (B §3.1) */
    JOB_ACL,          /* -pa where the target has no ACLs */
    JOB_XATTR,        /* -px where the target has no xattrs */
    JOB_FAILED,       /* any other failure */
    JOB_CANCELLED,    /* stopped on request (SIGINT/SIGTERM, `job cancel`) */
};

/* The edge's map from statuses to process exit statuses, set by main.c
 * before anything runs (cmd_exit_status). Where a run's record shows that
 * number (--json "exit_code", the job store, MPI_Abort) it goes through
 * job_exit_code(), which gives (int)s while no map is set. */
extern int (*job_exit_map)(enum job_status s);
int job_exit_code(enum job_status s);

struct source_root {
    char *path;          /* source path inside its store */
    char *display;       /* as shown to users */
    char *base;          /* base B: entries map to target + (path - base) */
    struct be_fs *fs;    /* borrowed from job->fs_list */
    struct be_stat st;
};

struct job {
    struct options *o;
    uint64_t id;                 /* for temp names */
    int pid;
    char host[64];

    /* stores */
    struct be_fs **fs_list;      /* every store opened (owned) */
    size_t nfs;
    struct be_config cfg;

    /* sources */
    struct source_root *roots;
    size_t nroots;

    /* target */
    struct be_fs *tfs;           /* borrowed from fs_list */
    char *target;                /* final target path */
    char *work;                  /* where data goes: target, or the -atomic WIP dir */
    char *tmp_dir;               /* where temp files go (Hadoop's work path) */
    bool target_exists, target_is_dir, target_is_file;
    bool target_root_is_file;    /* overwrite mode for the single-file case (B §5.1) */
    bool contents_update;        /* -update or -overwrite */
    bool fresh_target;           /* the target (or -atomic work dir) did not exist at start */
    atomic_int tmp_dir_ready;    /* temp dir created (lazily) */
    pthread_mutex_t mkdir_lock;

    struct filter *filter;       /* NULL when no filters */
    char workdir[4096];          /* private work area (spill files, logs) */

    struct sorter *plan;         /* the sorted source listing */
    char del_path[4200];         /* -delete candidates gathered by the join (join.c) */
    uint64_t ndeletions;
    uint64_t plan_files, plan_dirs, plan_bytes;

    /* workers */
    int nworkers;
    struct copyrun *workq_ctx;   /* the copy phase's run state (copyrun.c), NULL outside it */
    _Atomic uint64_t counters[C__COUNT]; /* summed live (progress reads them) */
    _Atomic uint64_t progress_bytes;     /* bytes moved so far, retries included */
    atomic_int failed;           /* a non-ignorable failure happened */
    atomic_int cancel;           /* stop dispatching */
    atomic_int user_cancel;      /* the user asked to stop (signal, `job cancel`) */
    struct recorder *rec;        /* who records the run (recorder.h), or NULL */
    const struct job_resume *resume; /* saved setup of a resumed run (borrowed from rec), or NULL */
    enum job_status first_exit;  /* status of the first fatal failure */
    char first_error[2048];
    pthread_mutex_t err_lock;
    char **errors;               /* up to 100 messages for --json */
    size_t nerrors;
    size_t nerrors_total;

    /* logs */
    char *log_dir;               /* -log dir, or a private one */
    FILE *dry_out;               /* --dry-run action lines (stdout) */
    pthread_mutex_t out_lock;

    /* phase for progress */
    _Atomic int phase;           /* enum job_phase */
    double t_start;
    unsigned not_applicable;     /* -p letters that do not apply to the target store */
};

enum job_phase { PHASE_LISTING, PHASE_COPYING, PHASE_COMMITTING, PHASE_DONE };

/* Run a parsed copy job to completion; returns how it ended. rec: the
 * recorder to report to (recorder.h; borrowed), NULL when nothing records. */
enum job_status job_run(struct options *o, const struct recorder_ops *rec);

/* Shared helpers used across engine modules ----------------------------- */
double now_seconds(void);
/* Record a failure message (printed on stderr, kept for --json). */
void job_error(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mark the job failed with `status` and message; first one wins. */
void job_fail(struct job *j, enum job_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void job_count(struct job *j, enum counter c, uint64_t v)
{
    atomic_fetch_add_explicit(&j->counters[c], v, memory_order_relaxed);
}
/* "1.5 MiB" style sizes (progress, job status). */
void job_human_bytes(double b, char *buf, size_t n);
/* Hadoop counter key of counter i ("COPY", "BYTESCOPIED", ...). */
const char *job_counter_key(int i);
/* Build "<root>/<key>" in buf ('/' form); returns ERR_TOO_LONG if it does not fit. */
int job_path(const char *root, const struct entry *e, char *buf, size_t n);
/* Source path of an entry. */
int job_src_path(const struct job *j, const struct entry *e, char *buf, size_t n);
/* Make sure the temp dir exists (created on first use). */
int job_ensure_tmp_dir(struct job *j, struct errinfo *ei);
/* -log DIR: create it and set j->log_dir (no-op without -log). */
enum job_status job_open_log_dir(struct job *j);
/* The user asked to stop (signal, `job cancel`). Any thread. */
bool job_cancelled(const struct job *j);
/* Stop the job as a user cancel does; true for the first request. Any thread. */
bool job_request_cancel(struct job *j);
/* Make what this process wrote to the target durable (the store's sync
 * slot; stores without one: nothing to do). ERR_OK or an err_code. */
int job_sync_target(struct job *j);

#endif

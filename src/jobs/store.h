/* store.h - the job store: one SQLite database that records every job
 * (blocking or submitted), its runs, state, live counters and errors.
 *
 * Where: --job-store PATH, else $DISTCP_JOB_STORE, else
 * $XDG_STATE_HOME/distcp/jobs.db, else ~/.local/state/distcp/jobs.db. The
 * directory is created 0700 and the database 0600 (owner only). Each job
 * also has a directory next to the database, jobs/<id>/, for its log, plan,
 * journal and report rows (jobrec.c).
 *
 * Concurrency: WAL mode and a busy timeout, so several distcp processes
 * (running jobs, `distcp job ...` commands) share one store. The schema is
 * versioned with PRAGMA user_version and migrated forward on open; a store
 * written by a newer distcp is refused, never rewritten.
 *
 * Threading: one struct jstore may be used from several threads of one
 * process (calls are serialised by a mutex); never across fork(). */
#ifndef DISTCP_JOBS_STORE_H
#define DISTCP_JOBS_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define JSTORE_SCHEMA 2

enum jstate {
    JS_PENDING, JS_LISTING, JS_COPYING, JS_COMMITTING,
    JS_SUCCEEDED, JS_FAILED, JS_CANCELLED, JS_KILLED, JS__COUNT
};
const char *jstate_name(enum jstate s);
/* -1 when unknown (case-insensitive). */
int jstate_parse(const char *s);
/* PENDING, LISTING, COPYING or COMMITTING: a process owns (or will own) it. */
bool jstate_active(enum jstate s);

struct jrow {
    int64_t id;
    enum jstate state;
    char *argv_json;      /* the command line, secrets redacted (JSON array) */
    char *cwd;
    char *host;
    int pid;              /* process running it now (0 = none) */
    int64_t pid_start;    /* that process's start time (/proc/<pid>/stat field 22) */
    char *boot_id;        /* the boot it runs in */
    double created, started, updated, heartbeat, ended; /* unix seconds; 0 = never */
    int exit_code;        /* of the last finished run; -1 while none */
    int runs;             /* runs started so far */
    bool async;
    bool dry_run;
    bool cancel_requested;
    char *error;          /* first error of the last run, or NULL */
    char *counters_json;  /* live/last counters of the current run */
    char *setup_json;     /* what resume needs (jobrec.c), or NULL before the plan */
};
void jrow_release(struct jrow *r);

struct jrun {
    int64_t job_id;
    int run;
    double started, ended;
    enum jstate state;
    int exit_code;
    bool dry_run;
    char *counters_json;
};
void jrun_release(struct jrun *r);

struct jstore;

/* The store's path (see above); ERR_INVAL when no home can be found. */
int jstore_path(const char *explicit_path, char *buf, size_t n, struct errinfo *ei);
/* Open (creating and migrating). Errors name the path and the cause:
 * "not a database (corrupted?)", "locked by another process", ... */
int jstore_open(const char *path, struct jstore **out, struct errinfo *ei);
void jstore_close(struct jstore *s);
const char *jstore_file(const struct jstore *s);
/* The directory of job `id`'s files ("<store dir>/jobs/<id>"). */
void jstore_job_dir(const struct jstore *s, int64_t id, char *buf, size_t n);

int jstore_create(struct jstore *s, const char *argv_json, const char *cwd, bool async,
                  bool dry_run, int64_t *id, struct errinfo *ei);
/* ERR_NOT_FOUND when there is no such job. */
int jstore_get(struct jstore *s, int64_t id, struct jrow *r, struct errinfo *ei);
/* All jobs, newest first; *rows is an array of *n rows (jrow_release each). */
int jstore_list(struct jstore *s, struct jrow **rows, size_t *n, struct errinfo *ei);
/* Runs of one job, oldest first. */
int jstore_runs(struct jstore *s, int64_t id, struct jrun **runs, size_t *n, struct errinfo *ei);
/* Errors kept for one run (up to 100). */
int jstore_errors(struct jstore *s, int64_t id, int run, char ***msgs, size_t *n,
                  struct errinfo *ei);

/* Take ownership of a job for this process and start a new run: refused
 * (ERR_BUSY) when another live process runs it. Sets state, pid, host,
 * boot id, started, runs+1, clears cancel_requested; *run gets the number. */
int jstore_claim(struct jstore *s, int64_t id, enum jstate state, bool dry_run, int *run,
                 struct errinfo *ei);
int jstore_set_state(struct jstore *s, int64_t id, enum jstate state, struct errinfo *ei);
int jstore_heartbeat(struct jstore *s, int64_t id, const char *counters_json,
                     struct errinfo *ei);
int jstore_set_setup(struct jstore *s, int64_t id, const char *setup_json, struct errinfo *ei);
int jstore_add_error(struct jstore *s, int64_t id, int run, const char *msg, struct errinfo *ei);
/* The end of a run: state, exit code, first error, final counters. */
int jstore_finish(struct jstore *s, int64_t id, int run, enum jstate state, int exit_code,
                  const char *error, const char *counters_json, struct errinfo *ei);
int jstore_request_cancel(struct jstore *s, int64_t id, struct errinfo *ei);
/* Remove the job's rows (its files are the caller's). */
int jstore_delete(struct jstore *s, int64_t id, struct errinfo *ei);

/* An active job whose process is gone (pid dead on this host, another boot,
 * or no heartbeat for `stale_s` seconds) is marked KILLED; r is updated.
 * Returns true when it changed. */
bool jstore_check_alive(struct jstore *s, struct jrow *r, double stale_s);

/* Helpers shared with jobrec.c */
double jstore_now(void);
int64_t jstore_proc_start(int pid);         /* 0 when unknown */
void jstore_boot_id(char *buf, size_t n);

#endif

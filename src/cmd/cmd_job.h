/* cmd_job.h - inside cmd/ only: what the `distcp job ...` files share.
 *
 * cmd_job.c holds the subcommand table (name, handler, usage, help; dispatch
 * and `distcp job --help` come from it), the argument parser and the store
 * helpers; each group of subcommands has its file: cmd_job_watch.c (state,
 * status, log, cancel), cmd_job_run.c (submit, resume), cmd_job_report.c,
 * cmd_job_clean.c; cmd_argv.c keeps the recorded command line.
 *
 * Exit statuses (docs/cli.md §4): 0 done; EXIT_INVALID (255) bad usage or an
 * unknown job; EXIT_FAIL (25) the store cannot be used; a resumed job exits
 * as the job does. Single-threaded. */
#ifndef DISTCP_CMD_JOB_H
#define DISTCP_CMD_JOB_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/exit.h"
#include "engine/options.h"
#include "jobs/store.h"

#define REDACTED "<redacted>"
/* How job commands print JSON: keys in insertion order, reals to 15
 * significant digits (times to the millisecond, counters as recorded). */
#define JCMD_JSON_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* The arguments of one job subcommand (parse_jargs). Strings are borrowed
 * from argv; defs is malloc'ed (freed by the dispatcher). */
struct jargs {
    const char *store;     /* --job-store */
    int64_t id;            /* ID, -i ID, --job-id ID, --id ID */
    bool have_id;
    bool json;
    bool follow;
    bool no_wait;
    bool async;
    bool all;
    bool dry_run;
    const char *format;
    const char *type;
    const char *out;
    int run;
    double older_than;
    int states[JS__COUNT];
    int nstates;
    char **defs;           /* resume, clean: extra -D k=v */
    int ndefs;
};

/* Subcommand handlers (one row each in cmd_job.c's table). */
int job_list(const struct jargs *a);
int job_state(const struct jargs *a);
int job_status(const struct jargs *a);
int job_log(const struct jargs *a);
int job_cancel(const struct jargs *a);
int job_resume(const struct jargs *a);
int job_report(const struct jargs *a);
int job_clean(const struct jargs *a);

/* cmd_job.c: the store and the job a command names. Each prints its error
 * and returns an exit status; on success *s is open (caller closes) and *r
 * filled (caller releases). */
int jcmd_open_store(const char *explicit_path, struct jstore **s);
int jcmd_open_job(const char *sub, const struct jargs *a, struct jstore **s, struct jrow *r);
int jcmd_open_list(const struct jargs *a, struct jstore **s, struct jrow **rows, size_t *n);
/* Does row r pass the --state filters of a? */
bool jcmd_state_wanted(const struct jargs *a, const struct jrow *r);
/* Local time "YYYY-MM-DD HH:MM:SS", or "-" for t <= 0. */
void jcmd_fmt_time(double t, char *buf, size_t n);
/* Counter k of a counters object as an integer (0 when absent). */
uint64_t jcmd_counter(json_t *c, const char *k);
/* A JSON text of the store (counters, argv) parsed; an empty object/array
 * for NULL or bad text. New reference. */
json_t *jcmd_json_or(const char *text, bool array);
/* A time (seconds since the epoch) for JSON, to the millisecond. New reference. */
json_t *jcmd_time(double t);
/* Print v (steals the reference) on out followed by a newline. */
void jcmd_print_json(FILE *out, json_t *v);

/* cmd_argv.c: the recorded command line shown as a shell command. */
void jcmd_argv_display(const char *argv_json, char *buf, size_t n);

/* cmd_job_run.c: run options o as job id detached (twice forked, output in
 * logp); prints the id (or {"job_id", "state", "log"} with print_json). */
int jcmd_detach_and_run(struct options *o, const char *store_path, int64_t id, const char *logp,
                        bool print_json);
/* The job's options rebuilt from its saved command line (+ a->defs); *argv
 * and *av back the strings of *o: the caller frees them and releases *o
 * whatever the result. */
int jcmd_saved_options(const struct jrow *r, const struct jargs *a, struct options *o, char ***argvp,
                       json_t **avp);

#endif

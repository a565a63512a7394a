/* jobpend.h - server-side state the job's writers leave open while they
 * write (S3 multipart uploads: be_create_opts.pending), recorded durably in
 * the job's directory so that what a killed run left is aborted by the next
 * `job resume` and by `job clean` (through the store's abort_pending slot).
 *
 * On disk: <job dir>/pending (see jobpend.c for the format).
 *
 * Threading: jobpend_note is called by writers on many threads at once (a
 * mutex guards the file); jobpend_new/jobpend_free by the main thread
 * before workers start / after they stopped (jobrec.c, the recorder). */
#ifndef DISTCP_JOBS_JOBPEND_H
#define DISTCP_JOBS_JOBPEND_H
#include <stdbool.h>

#include "backend/backend.h"

struct jobpend;

/* The record of job directory `dir` (the file is created on the first
 * open upload); NULL when out of memory. Caller-owned: jobpend_free. */
struct jobpend *jobpend_new(const char *dir);
/* The record file exists (earlier runs may have left uploads open). */
bool jobpend_exists(const struct jobpend *p);
/* be_create_opts.pending for a writer into target store tfs (borrowed): an
 * open record is fdatasync'ed before this returns; a record that cannot be
 * written is an error (the writer then does not go on). */
int jobpend_note(struct jobpend *p, const struct be_fs *tfs, const char *token, bool open,
                 struct errinfo *ei);
/* Close the record file and free p. Accepts NULL. */
void jobpend_free(struct jobpend *p);

/* What a sweep tells: one line per upload, for the job log or the terminal. */
typedef void (*jobpend_say_fn)(void *arg, const char *line);
/* Abort what is still open in job directory `dir`, opening each store with
 * cfg; rewrite the record with only what could not be aborted and should be
 * tried again (*left of them). *aborted: how many were aborted or found
 * gone. No record file: ERR_OK, nothing done. */
int jobpend_sweep(const char *dir, const struct be_config *cfg, jobpend_say_fn say, void *arg,
                  unsigned *aborted, unsigned *left, struct errinfo *ei);

#endif

/* recorder.c - the engine's side of the recorder seam (recorder.h,
 * docs/jobs-recorder.md): starting and ending the record, handing the
 * resume state out after the listing and applying it on resume (including
 * the -atomic resume rule), the cancel and durability points the recorder
 * calls back.
 *
 * Invariant: only this file and the engine write struct job; the recorder
 * gets values (struct job_resume) and gives values back.
 * Threading: all of it runs on the job's main thread, except rec_log,
 * job_cancelled, job_request_cancel and job_sync_target (any thread). */
#include "engine/recorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum job_status rec_start(struct job *j, struct recorder *rec, const struct recorder_ops *ops)
{
    void *ctx = NULL;
    const struct job_resume *res = NULL;
    enum job_status status = ops->start(j, &ctx, &res);
    if (ctx) {
        rec->ops = ops;
        rec->ctx = ctx;
        j->rec = rec;
        j->resume = res;
    }
    return status;
}

void rec_end(struct job *j, enum job_status status)
{
    struct recorder *r = j->rec;
    if (!r)
        return;
    j->rec = NULL;
    j->resume = NULL;       /* owned by the record, which end() frees */
    r->ops->end(r->ctx, j, status);
}

void rec_log(struct job *j, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    if (!j->rec)
        return;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n >= 0)
        j->rec->ops->log(j->rec->ctx, msg);
    free(msg);
}

/* ------------------------------------------------------------ resume state */

void job_resume_fill(const struct job *j, struct job_resume *st)
{
    memset(st, 0, sizeof *st);
    st->target_exists = j->target_exists;
    st->target_is_dir = j->target_is_dir;
    st->target_is_file = j->target_is_file;
    st->work = j->work;
    st->tmp_dir = j->tmp_dir;
    st->roots = calloc(j->nroots + 1, sizeof *st->roots);
    for (size_t i = 0; st->roots && i < j->nroots; i++)
        st->roots[i] = j->roots[i].path;
    st->nroots = st->roots ? j->nroots : 0;
    st->plan_files = j->plan_files;
    st->plan_dirs = j->plan_dirs;
    st->plan_bytes = j->plan_bytes;
}

void job_resume_release_fill(struct job_resume *st)
{
    free(st->roots);        /* the strings are the job's */
    st->roots = NULL;
}

enum job_status rec_save_plan(struct job *j)
{
    struct job_resume st;
    enum job_status status;
    if (!j->rec || j->o->dry_run)
        return JOB_OK;
    job_resume_fill(j, &st);
    if (!st.roots) {
        job_fail(j, JOB_FAILED, "cannot save the job's plan: out of memory");
        return JOB_FAILED;
    }
    status = j->rec->ops->save_plan(j->rec->ctx, j, j->plan, &st);
    job_resume_release_fill(&st);
    return status;
}

enum job_status rec_load_plan(struct job *j)
{
    const struct job_resume *s = j->resume;
    j->plan_files = s->plan_files;
    j->plan_dirs = s->plan_dirs;
    j->plan_bytes = s->plan_bytes;
    return j->rec->ops->load_plan(j->rec->ctx, j, &j->plan);
}

/* A resumed job decides its bases as it did when it listed. */
void job_resume_apply_target(struct job *j)
{
    const struct job_resume *s = j->resume;
    if (!s)
        return;
    j->target_exists = s->target_exists;
    j->target_is_dir = s->target_is_dir;
    j->target_is_file = s->target_is_file;
}

/* The saved work paths replace the ones setup_work chose, once the sources
 * are known to expand as they did (the plan refers to them by index). */
enum job_status job_resume_apply_work(struct job *j)
{
    const struct job_resume *s = j->resume;
    long long id = (long long)j->o->job_id;
    if (!s)
        return JOB_OK;
    if (!s->work || !s->tmp_dir || !s->roots) {
        job_fail(j, JOB_FAILED, "job %lld: the saved setup is incomplete; cannot resume", id);
        return JOB_FAILED;
    }
    if (s->nroots != j->nroots) {
        job_fail(j, JOB_FAILED, "job %lld: the sources now expand to %zu paths, not the %zu the job listed; "
                 "cannot resume (run the copy again instead)", id, j->nroots, s->nroots);
        return JOB_FAILED;
    }
    for (size_t i = 0; i < j->nroots; i++) {
        const char *p = s->roots[i];
        if (!p || strcmp(p, j->roots[i].path)) {
            job_fail(j, JOB_FAILED, "job %lld: source %zu is now '%s', was '%s'; cannot resume",
                     id, i, j->roots[i].path, p ? p : "?");
            return JOB_FAILED;
        }
    }
    if (j->o->atomic) {
        /* killed between the atomic rename and recording success? then the
         * work dir is gone and the target is there: say so, touch nothing */
        struct be_stat st;
        if (j->tfs->ops->stat(j->tfs, s->work, &st, NULL) == ERR_NOT_FOUND &&
            j->tfs->ops->stat(j->tfs, j->target, &st, NULL) == ERR_OK) {
            job_fail(j, JOB_FAILED, "job %lld: its -atomic work dir '%s' is gone and the target '%s' exists: "
                     "the atomic commit had already happened; nothing was changed",
                     id, s->work, j->target);
            return JOB_FAILED;
        }
    }
    char *nw = strdup(s->work), *nt = strdup(s->tmp_dir);
    if (!nw || !nt) {
        free(nw);
        free(nt);
        job_fail(j, JOB_FAILED, "cannot resume job %lld: out of memory", id);
        return JOB_FAILED;
    }
    free(j->work);
    free(j->tmp_dir);
    j->work = nw;
    j->tmp_dir = nt;
    return JOB_OK;
}

/* ------------------------------------------------------------ call-backs */

bool job_cancelled(const struct job *j)
{
    return atomic_load(&j->user_cancel) != 0;
}

bool job_request_cancel(struct job *j)
{
    if (atomic_exchange(&j->user_cancel, 1))
        return false;
    atomic_store(&j->cancel, 1);
    return true;
}

int job_sync_target(struct job *j)
{
    struct be_fs *fs = j->tfs;
    const char *p = j->work ? j->work : j->target;
    if (!fs || !fs->ops->sync || !p)
        return ERR_OK;      /* writes are durable once committed */
    return fs->ops->sync(fs, p, NULL);
}

/* ------------------------------------------------------------ read-only view */

void job_stats(const struct job *j, struct job_stats *s)
{
    for (int i = 0; i < C__COUNT; i++)
        s->counters[i] = atomic_load(&j->counters[i]);
    s->progress_bytes = atomic_load(&j->progress_bytes);
    s->plan_files = j->plan_files;
    s->plan_dirs = j->plan_dirs;
    s->plan_bytes = j->plan_bytes;
    s->elapsed = now_seconds() - j->t_start;
    s->phase = atomic_load(&j->phase);
}

const struct options *job_opts(const struct job *j)
{
    return j->o;
}

const struct be_config *job_store_config(const struct job *j)
{
    return &j->cfg;
}

const struct be_fs *job_target_fs(const struct job *j)
{
    return j->tfs;
}

const char *job_first_error(const struct job *j)
{
    return j->first_error[0] ? j->first_error : NULL;
}

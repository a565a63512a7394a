/* copyrun.c - the copy phase's run (spec B §5, §10): start the workers,
 * feed the sorted plan to them in batches (each entry with its target's
 * status from the join, join.c), and per entry: re-check the target, refuse
 * type conflicts, create directories, copy symbolic links, ask compare.c for
 * the action and hand the file to copy.c or chunks.c with retries.
 *
 * Transient errors are retried up to 3 attempts with randomised exponential
 * back-off (B §6.5); what to retry, count or fail is engine/policy.h.
 *
 * Invariants: the producer is the job's main thread (rank 0 under MPI);
 * struct copyrun lives on copy_run()'s stack and is published as
 * j->workq_ctx for the phase's duration.
 *
 * Threading: process_entry runs on workers, one struct wctx each; counters
 * are atomics in the job. */
#include "engine/copy.h"
#include "engine/copy_int.h"
#include "engine/recorder.h"
#include "engine/testpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/dist.h"
#include "engine/join.h"
#include "engine/policy.h"

static const char *type_word(enum be_type t)
{
    return t == BE_DIR ? "dir" : "file";
}

/* ------------------------------------------------------------ entries */

static int do_mkdir(struct wctx *w, const char *dst, struct errinfo *ei)
{
    struct job *j = w->j;
    int rc = ERR_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        err_clear(ei);
        rc = j->tfs->ops->mkdirs(j->tfs, dst, 0777, ei);
        if (!rc || policy_decide(rc, ei, SIDE_WRITE, j->o, attempt) != POLICY_RETRY)
            break;
        policy_backoff(j->workq_ctx->retry_delay_ms, attempt, true);
    }
    return rc;
}

static void process_symlink(struct wctx *w, const struct entry *e, const struct be_stat *ts,
                            bool texists)
{
    struct job *j = w->j;
    struct be_fs *sfs = j->roots[e->root].fs;
    struct errinfo ei = {0};
    char link[PATHMAX], cur[PATHMAX];
    int rc;
    if (!sfs->ops->readlink || !j->tfs->ops->symlink) {
        job_fail(j, JOB_FAILED, "cannot copy symbolic link '%s': the target store has no symbolic links", w->src);
        return;
    }
    if ((rc = sfs->ops->readlink(sfs, w->src, link, sizeof link, &ei))) {
        rec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
        if (policy_decide(rc, &ei, SIDE_READ, j->o, POLICY_LAST) == POLICY_COUNT_AND_GO_ON) {
            job_count(j, C_FAIL, 1);
            copy_wlog(w, "FAIL: %s - %s", w->src, ei.msg);
            return;
        }
        job_fail(j, JOB_FAILED, "File copy failed: %s --> %s: %s", w->src, w->dst, ei.msg);
        return;
    }
    if (texists) {
        bool same = ts->type == BE_SYMLINK &&
                    j->tfs->ops->readlink(j->tfs, w->dst, cur, sizeof cur, NULL) == ERR_OK &&
                    !strcmp(cur, link);
        bool skip = !j->o->overwrite && !j->target_root_is_file && (!j->o->update || same);
        if (skip) {
            rec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED,
                       same ? "same link target" : "target exists (no -update/-overwrite)");
            job_count(j, C_SKIP, 1);
            copy_wlog(w, "SKIP: %s", w->src);
            copy_dry(j, "SKIP %s -> %s", w->src, w->dst);
            return;
        }
    }
    job_count(j, C_COPY, 1);
    copy_dry(j, "COPY %s -> %s", w->src, w->dst);
    if (j->o->dry_run) {
        rec_row(j, w->id, e, w->src, w->dst, JR_COPIED, NULL);
        return;
    }
    /* create under a temp name next to the target, then rename over it */
    char tmp[PATHMAX + 200], tag[160];
    copy_tmp_tag(w, tag, sizeof tag);
    char *slash = strrchr(w->dst, '/');
    int dl = slash ? (int)(slash - w->dst) : 0;
    snprintf(tmp, sizeof tmp, "%.*s/.distcp.tmp.%s", dl, w->dst, tag);
    if (dl > 0) {
        char parent[PATHMAX];
        snprintf(parent, sizeof parent, "%.*s", dl, w->dst);
        if ((rc = j->tfs->ops->mkdirs(j->tfs, parent, 0777, &ei)))
            goto fail;
    }
    if ((rc = j->tfs->ops->symlink(j->tfs, link, tmp, &ei)))
        goto fail;
    if ((rc = j->tfs->ops->rename(j->tfs, tmp, w->dst, &ei))) {
        j->tfs->ops->remove(j->tfs, tmp, false, NULL);
        goto fail;
    }
    {
        unsigned what = copy_preserve_mask(j, false) & (PRESERVE_U | PRESERVE_G | PRESERVE_T);
        if (what && j->tfs->ops->setattr) {
            struct be_attrs a;
            if (!copy_source_attrs(j, e, w->src, what, &a, &ei)) {
                rc = j->tfs->ops->setattr(j->tfs, w->dst, &a, what, &ei);
                be_attrs_release(&a);
                if (rc)
                    goto fail;
            }
        }
    }
    rec_row(j, w->id, e, w->src, w->dst, JR_COPIED, NULL);
    return;
fail:
    rec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
    job_fail(j, JOB_FAILED, "File copy failed: %s --> %s: %s", w->src, w->dst, ei.msg);
}

static void process_entry(struct wctx *w, const struct entry *e)
{
    struct job *j = w->j;
    struct copyrun *r = NULL;
    struct errinfo ei = {0};
    struct be_stat ts;
    int rc;
    if (atomic_load(&j->cancel))
        return;
    tp_pause(j, "copying");
    if (job_src_path(j, e, w->src, sizeof w->src) || job_path(j->work, e, w->dst, sizeof w->dst)) {
        job_fail(j, JOB_FAILED, "path too long below '%s'", j->work);
        return;
    }
    /* a target that did not exist when the job started holds only what this
     * job writes, and keys are unique: no need to look */
    const struct tstat *tt = entry_tstat(e);
    if (tt) {
        memset(&ts, 0, sizeof ts);
        ts.type = (enum be_type)tt->type;
        ts.size = tt->size;
        ts.mtime_ns = tt->mtime_ns;
        ts.atime_ns = tt->atime_ns;
        ts.mode = tt->mode;
        ts.uid = tt->uid;
        ts.gid = tt->gid;
        rc = ERR_OK;
    } else if (j->fresh_target || (e->flags & ENTRY_F_TABSENT)) {
        rc = ERR_NOT_FOUND;
    } else {
        rc = j->tfs->ops->stat(j->tfs, w->dst, &ts, &ei);
    }
    bool texists = rc == ERR_OK;
    if (rc && rc != ERR_NOT_FOUND) {
        job_fail(j, JOB_FAILED, "cannot read target: %s", ei.msg);
        return;
    }
    /* type conflicts are never ignorable (B §5 step 3) */
    if (texists && (ts.type == BE_DIR) != (e->type == BE_DIR)) {
        job_fail(j, JOB_FAILED, "Can't replace %s. Target is %s, Source is %s", w->dst,
                 type_word(ts.type), type_word((enum be_type)e->type));
        return;
    }
    if (e->type == BE_DIR) {
        job_count(j, C_DIR_COPY, 1);
        if (!texists)
            copy_dry(j, "MKDIR %s", w->dst);
        if (j->o->dry_run || texists) {
            rec_row(j, w->id, e, w->src, w->dst, texists ? JR_DIR_EXISTS : JR_MKDIR, NULL);
            return;
        }
        if ((rc = do_mkdir(w, w->dst, &ei))) {
            rec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
            job_fail(j, JOB_FAILED, "mkdir failed for %s: %s", w->dst, ei.msg);
        } else {
            rec_row(j, w->id, e, w->src, w->dst, JR_MKDIR, NULL);
        }
        return;
    }
    if (e->type == BE_SYMLINK) {
        process_symlink(w, e, &ts, texists);
        return;
    }
    if (e->type != BE_FILE) {
        rec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED, "not a regular file, directory or symbolic link");
        job_error(j, "skipping '%s': not a regular file, directory or symbolic link", w->src);
        return;
    }
    enum action act = ACT_COPY;
    if (texists && (rc = compare_decide(w, e, w->src, w->dst, &ts, tt, &act, &ei))) {
        copy_record_result(w, e, w->src, w->dst, rc, true, &ei, 0, false, 0);
        return;
    }
    if (act == ACT_SKIP) {
        rec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED, w->why);
        job_count(j, C_SKIP, 1);
        job_count(j, C_BYTESSKIPPED, e->size);
        copy_wlog(w, "SKIP: %s", w->src);
        if (j->o->verbose)
            copy_wlog(w, "FILE_SKIPPED: source=%s, size=%" PRIu64 " --> target=%s, size=%" PRIu64,
                      w->src, e->size, w->dst, ts.size);
        copy_dry(j, "SKIP %s -> %s", w->src, w->dst);
        if ((rc = copy_apply_attrs(w, e, w->src, w->dst, false, &ts, &ei)))
            job_fail(j, JOB_FAILED, "cannot preserve attributes of %s: %s", w->dst, ei.msg);
        return;
    }
    if (j->o->dry_run) {
        rec_row(j, w->id, e, w->src, w->dst, act == ACT_APPEND ? JR_APPENDED : JR_COPIED, NULL);
        job_count(j, C_COPY, 1);
        job_count(j, C_BYTESEXPECTED, e->size);
        job_count(j, C_BYTESCOPIED, act == ACT_APPEND ? e->size - ts.size : e->size);
        copy_dry(j, "%s %s -> %s", act == ACT_APPEND ? "APPEND" : "COPY", w->src, w->dst);
        return;
    }
    r = j->workq_ctx;
    struct xfer x = {.r = r, .sfs = j->roots[e->root].fs, .tfs = j->tfs, .src = w->src,
                     .dst = w->dst, .size = e->size};
    unsigned pmask = copy_preserve_mask(j, false);
    if (pmask & (PRESERVE_B | PRESERVE_C))
        x.blocksize = e->blocksize;       /* B §7: b (and c) apply at creation */
    if (pmask & PRESERVE_R)
        x.replication = e->replication;
    bool readside = false;
    uint64_t chunk = act == ACT_COPY ? copy_chunk_for(r, e) : 0;
    if (chunk) {
        if ((rc = copy_chunked(w, &x, e, chunk, &ei)))
            copy_record_result(w, e, w->src, w->dst, rc, false, &ei, texists ? ts.size : 0, false, 0);
        return;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        err_clear(&ei);
        if (act == ACT_APPEND)
            rc = copy_append_tail(w, &x, e, ts.size, &readside, &ei);
        else
            rc = copy_whole(w, &x, e, &readside, &ei);
        if (!rc || policy_decide(rc, &ei, readside ? SIDE_READ : SIDE_WRITE, j->o, attempt) != POLICY_RETRY ||
            atomic_load(&w->j->user_cancel))
            break;
        policy_backoff(r->retry_delay_ms, attempt, true);
        if (act == ACT_APPEND) {
            /* B §6.3: the retry re-decides */
            struct be_stat t2;
            if (j->tfs->ops->stat(j->tfs, w->dst, &t2, NULL) == ERR_OK && t2.size != ts.size)
                act = ACT_COPY;
        }
    }
    copy_record_result(w, e, w->src, w->dst, rc, readside, &ei, texists ? ts.size : 0,
                       act == ACT_APPEND, act == ACT_APPEND ? e->size - ts.size : 0);
}

static void exec_batch(void *ctx, int worker, struct wbatch *b)
{
    struct copyrun *r = ctx;
    struct wctx *w = &r->w[worker];
    size_t pos = 0;
    const struct entry *e;
    while ((e = wbatch_next(b, &pos)))
        process_entry(w, e);
    free(b);
}

/* ------------------------------------------------------------ the phase */

/* Workers of this process; under MPI, -m is split over the ranks (dist.h),
 * *base is the job-wide index of the first one, *bw_share this process's
 * part of --global-bandwidth. */
static int workers_for(const struct job *j, int *base, double *bw_share)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    int autow = j->o->settings.workers_set ? j->o->settings.workers : (int)(ncpu * 4 < 8 ? 8 : ncpu * 4);
    int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
    *base = 0;
    *bw_share = 1.0;
    if (job_dist)
        return job_dist->workers(job_dist, j, m, autow, base, bw_share);
    return m < autow ? m : autow;
}

/* B §10: the dynamic strategy's chunk arithmetic, and its one observable
 * effect: too many chunks fail the job before anything is copied. */
static enum job_status dynamic_check(struct job *j)
{
    const struct options *o = j->o;
    if (o->strategy != STRATEGY_DYNAMIC || dist_rank() != 0)
        return JOB_OK;
    long m = o->max_maps < 1 ? 1 : o->max_maps;
    long records = (long)(j->plan_files + j->plan_dirs);
    long ratio_dflt = o->settings.dyn_split_ratio;
    long ideal = o->settings.dyn_chunks_ideal;
    long min_rec = o->settings.dyn_min_records;
    long tolerable = o->settings.dyn_chunks_tolerable;
    long ratio;
    if (m == 1)
        ratio = 1;
    else if (m > ideal)
        ratio = ratio_dflt;
    else {
        long p = (ideal + m - 1) / m;
        long per = (records + m * p - 1) / (m * p);
        ratio = per < min_rec ? ratio_dflt : p;
    }
    if (ratio * m > tolerable) {
        job_fail(j, JOB_FAILED, "Too many chunks created with splitRatio:%ld, numMaps:%ld. "
                 "Reduce numMaps or decrease split-ratio to proceed.", ratio, m);
        return JOB_FAILED;
    }
    return JOB_OK;
}

enum job_status copy_run(struct job *j)
{
    struct copyrun r;
    struct errinfo ei = {0};
    enum job_status status = JOB_OK;
    memset(&r, 0, sizeof r);
    if ((status = dynamic_check(j)))
        return status;
    int wbase = 0;
    double bw_share = 1.0;
    r.j = j;
    r.n = workers_for(j, &wbase, &bw_share);
    r.retry_delay_ms = j->o->settings.retry_delay_ms;
    r.bufsize = j->o->settings.copy_buffer;
    r.chunk_min = j->o->settings.chunk_min;
    r.chunk_size = j->o->settings.chunk_size;
    r.n_job = r.n;
    if (job_dist && job_dist->chunk_offer && j->tfs->ops->wshare && r.n > 0) {
        /* MPI: a big file's chunks go to every rank's workers */
        int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
        int all = job_dist->size * r.n;
        r.share_chunks = true;
        r.n_job = m < all ? m : all;
        if (r.n_job < r.n)
            r.n_job = r.n;
        r.test_chunks = TP_HOOK(fail_chunk);
    }
    throttle_init(&r.global, j->o->global_bandwidth_mb * 1048576.0 * bw_share, 1);
    j->nworkers = r.n;
    j->workq_ctx = &r;
    r.w = calloc((size_t)r.n + 1, sizeof *r.w);
    if (job_dist)
        r.q = job_dist->workq_new(job_dist, j, j->o->strategy == STRATEGY_DYNAMIC, (size_t)r.n * 4);
    else
        r.q = workq_threads_new(j->o->strategy == STRATEGY_DYNAMIC, (size_t)r.n * 4);
    if (!r.w || !r.q) {
        job_fail(j, JOB_FAILED, "out of memory");
        status = JOB_FAILED;
        goto out;
    }
    r.w[r.n].j = j;                 /* the main thread's: files finished by receipts */
    r.w[r.n].id = JR_MAIN_WORKER;
    for (int i = 0; i < r.n; i++) {
        struct wctx *w = &r.w[i];
        w->j = j;
        w->id = i;
        w->bufsize = r.bufsize;
        w->buf = malloc(w->bufsize);
        if (!w->buf) {
            job_fail(j, JOB_FAILED, "out of memory allocating copy buffers");
            status = JOB_FAILED;
            goto out;
        }
        throttle_init(&w->thr, j->o->bandwidth_set ? j->o->bandwidth_mb * 1048576.0 : 0, 0);
        if (j->log_dir) {
            char p[PATHMAX];
            snprintf(p, sizeof p, "%s/part-m-%05d", j->log_dir, wbase + i);
            w->log = fopen(p, "a");
            if (!w->log) {
                job_fail(j, JOB_FAILED, "cannot create log file '%s': %s", p, strerror(errno));
                status = JOB_FAILED;
                goto out;
            }
        }
    }
    if (r.q->ops->start(r.q, r.n, exec_batch, &r)) {
        job_fail(j, JOB_FAILED, "cannot start copy workers");
        status = JOB_FAILED;
        goto out;
    }
    /* produce: batches of up to 256 entries / 16 MiB of data, each entry
     * with its target's status when the target was listed (join.c); under
     * MPI only rank 0 produces, the others execute what it sends */
    if (dist_rank() == 0) {
        struct join *jn = NULL;
        struct plan_iter *it = NULL;
        if (join_open(j, &jn) == JOB_OK && !(it = plan_iter_new(j->plan, &ei)))
            job_fail(j, JOB_FAILED, "%s", ei.msg);
        if (it) {
            struct wbatch *b = NULL;
            const struct entry *e;
            int err = 0;
            const size_t bcap = 256 * (sizeof(struct entry) + sizeof(struct tstat) + 128);
            uint32_t seq = 0;
            while (!atomic_load(&j->cancel) && (e = plan_iter_next(it, &err))) {
                struct tstat t;
                int have = jn ? join_step(jn, e, &t) : 0;
                if (have < 0)
                    break;
                /* the plan file's entries are read-only views: stamp the ordinal */
                ((struct entry *)e)->seq = seq++;
                if (rec_done_earlier(j, e->seq)) {
                    /* finished and journaled by an earlier run: never again */
                    char sp[PATHMAX];
                    if (!job_src_path(j, e, sp, sizeof sp))
                        rec_row(j, JR_MAIN_WORKER, e, sp, NULL, JR_DONE_EARLIER, NULL);
                    continue;
                }
                const struct tstat *tp = have ? &t : NULL;
                if (b && (b->n >= 256 || b->bytes >= (16u << 20) || !wbatch_add_t(b, e, tp, jn != NULL))) {
                    r.q->ops->push(r.q, b);
                    b = NULL;
                }
                if (!b) {
                    size_t need = entry_size(e) + sizeof(struct tstat);
                    b = wbatch_new(need > bcap ? need : bcap);
                    if (!b) {
                        job_fail(j, JOB_FAILED, "out of memory");
                        break;
                    }
                    wbatch_add_t(b, e, tp, jn != NULL);
                }
            }
            if (b)
                r.q->ops->push(r.q, b);
            if (err)
                job_fail(j, JOB_FAILED, "cannot read the listing: %s", err_str(err));
            if (jn && !atomic_load(&j->cancel))
                join_finish(jn);
            plan_iter_free(it);
        }
        join_free(jn);
    }
    r.q->ops->finish(r.q);
    status = j->first_exit;
out:
    if (r.q)
        r.q->ops->free(r.q);
    for (int i = 0; r.w && i < r.n; i++) {
        free(r.w[i].buf);
        if (r.w[i].log)
            fclose(r.w[i].log);
        throttle_release(&r.w[i].thr);
    }
    free(r.w);
    throttle_release(&r.global);
    j->workq_ctx = NULL;
    return status ? status : j->first_exit;
}


/* copy.c - the transfer of one file (spec B §5, §6): stream the source
 * into the backend's writer (temp + commit unless -direct), verify the
 * length and the stores' checksums, apply -p attributes through the writer,
 * record distcp's content digest with the file, commit; append a tail
 * (-append); count and log each file's outcome.
 *
 * The rest of the copy phase lives next door (copy_int.h): the producer and
 * per-entry flow in copyrun.c, the decision in compare.c, big files in
 * chunks.c, attributes and digests in attrs.c.
 *
 * Failures: read-side ones (source missing, unreadable, changed during the
 * copy) are counted FAIL and the job goes on under -i (B §6.6); any other
 * failure fails the job and stops dispatching new work. The decision is
 * engine/policy.h's (docs/failure-policy.md §2); copy_record_result asks it.
 *
 * A cancel (SIGINT/SIGTERM or `distcp job cancel`, job.c sets user_cancel)
 * stops it cleanly: data loops end with ERR_CANCELLED, so writers are
 * aborted (temp files removed, multipart uploads aborted).
 *
 * Threading: called by workers with their own struct wctx; counters are
 * atomics in the job. */
#include "engine/copy_int.h"
#include "engine/recorder.h"
#include "engine/testpoint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/digest.h"
#include "engine/policy.h"
#include "engine/verify.h"
#include "util/checksum.h"

/* ------------------------------------------------------------ helpers */

void copy_wlog(struct wctx *w, const char *fmt, ...)
{
    if (!w->log)
        return;
    va_list ap;
    flockfile(w->log);   /* one line at a time: under MPI the main thread may share it */
    va_start(ap, fmt);
    vfprintf(w->log, fmt, ap);
    va_end(ap);
    fputc('\n', w->log);
    funlockfile(w->log);
}

void copy_dry(struct job *j, const char *fmt, ...)
{
    if (!j->dry_out)
        return;
    va_list ap;
    pthread_mutex_lock(&j->out_lock);
    va_start(ap, fmt);
    vfprintf(j->dry_out, fmt, ap);
    va_end(ap);
    fputc('\n', j->dry_out);
    pthread_mutex_unlock(&j->out_lock);
}

/* ------------------------------------------------------ the write path */

/* Copy [off, off+len) of the source into writer wr. Read errors set *readside.
 * On success *crc is the CRC32C of the range (when computed) and *crc_ok. */
int copy_range_data(struct wctx *w, struct xfer *x, struct be_file *wr,
                    uint64_t off, uint64_t len, bool check_eof,
                    uint32_t *crc, bool *crc_ok, bool *readside,
                    struct errinfo *ei)
{
    struct copyrun *r = x->r;
    struct be_file *rd = NULL;
    uint64_t done = 0;
    uint32_t c = 0;
    int rc;
    *crc_ok = true;
    *readside = true;
    if ((rc = x->sfs->ops->open_read(x->sfs, x->src, off, &rd, ei)))
        goto out;
    /* fast path: the store copies without us (reflink / copy_file_range) */
    if (x->sfs->ops == x->tfs->ops && x->sfs->ops->copy_range && r->global.rate <= 0 &&
        w->thr.rate <= 0 && len >= (256u << 10)) {
        uint64_t got = 0;
        struct errinfo e2 = {0};
        int crc_rc = x->sfs->ops->copy_range(rd, off, wr, off, len, &got, &e2);
        if (crc_rc == ERR_OK || got > 0) {
            done = got;
            atomic_fetch_add_explicit(&r->j->progress_bytes, got, memory_order_relaxed);
            *crc_ok = false;   /* bytes did not pass through us */
            verify_release(x->v);
        } else if (crc_rc != ERR_UNSUPPORTED) {
            rc = crc_rc;
            *ei = e2;
            *readside = false;
            goto out;
        }
        if (done && done < len) {
            /* continue with read/write from where it stopped */
            x->sfs->ops->close_read(rd);
            rd = NULL;
            if ((rc = x->sfs->ops->open_read(x->sfs, x->src, off + done, &rd, ei)))
                goto out;
        }
    }
    bool at_eof = false;
    while (done < len) {
        if (atomic_load_explicit(&r->j->user_cancel, memory_order_relaxed)) {
            rc = err_setx(ei, ERR_CANCELLED, "copy of '%s' cancelled", x->src);
            goto out;
        }
        size_t want = w->bufsize;
        bool last = len - done < want;
        if (last)
            want = (size_t)(len - done) + (check_eof ? 1 : 0);  /* one more byte shows growth */
        size_t got = 0;
        *readside = true;
        if ((rc = x->sfs->ops->read(rd, w->buf, want, &got, ei)))
            goto out;
        if (got > len - done) {
            rc = err_setx(ei, ERR_SHORT_READ, "source '%s' changed during the copy: it grew beyond the listed length %" PRIu64,
                          x->src, x->size);
            goto out;
        }
        if (last && check_eof && got == len - done && got < want)
            at_eof = true;     /* a short read of a regular file: end of file */
        if (got == 0) {
            rc = err_setx(ei, ERR_SHORT_READ, "source '%s' changed during the copy: it has fewer bytes (%" PRIu64 ") than listed (%" PRIu64 ")",
                          x->src, off + done, x->size);
            goto out;
        }
        if (*crc_ok)
            c = crc32c_update(c, w->buf, got);
        verify_feed(x->v, w->buf, got);
        if (w->thr.rate > 0)
            job_count(r->j, C_SLEEP_MS, throttle_take(&w->thr, got));
        if (r->global.rate > 0)
            job_count(r->j, C_SLEEP_MS, throttle_take(&r->global, got));
        *readside = false;
        if ((rc = x->tfs->ops->write(wr, off + done, w->buf, got, ei)))
            goto out;
        done += got;
        tp_pause(r->j, "writing");   /* test hook: kill -9 mid-file */
        atomic_fetch_add_explicit(&r->j->progress_bytes, got, memory_order_relaxed);
    }
    if (check_eof && !at_eof) {
        /* a source that grew during the copy is a failure, not a silent truncation */
        char one;
        size_t got = 0;
        *readside = true;
        if (rd == NULL && (rc = x->sfs->ops->open_read(x->sfs, x->src, off + len, &rd, ei)))
            goto out;
        if ((rc = x->sfs->ops->read(rd, &one, 1, &got, ei)))
            goto out;
        if (got) {
            rc = err_setx(ei, ERR_SHORT_READ, "source '%s' changed during the copy: it grew beyond the listed length %" PRIu64,
                          x->src, x->size);
            goto out;
        }
    }
    *crc = c;
out:
    if (rd)
        x->sfs->ops->close_read(rd);
    return rc;
}

void copy_tmp_tag(struct wctx *w, char *buf, size_t n)
{
    snprintf(buf, n, "%d.%d.%" PRIu64 ".%s", w->j->pid, w->id, w->seq++, w->j->host);
}

/* Start the target file of x: temp or direct per -direct, size hint for
 * preallocation. */
int copy_open_writer(struct wctx *w, struct xfer *x, bool shared, struct be_file **wr,
                     struct errinfo *ei)
{
    struct job *j = w->j;
    struct be_create_opts co;
    char tag[160];
    int rc;
    memset(&co, 0, sizeof co);
    copy_tmp_tag(w, tag, sizeof tag);
    co.direct = j->o->direct;
    co.tmp_dir = j->tmp_dir;
    co.tmp_tag = tag;
    co.size_hint = x->size;
    co.blocksize = x->blocksize;
    co.replication = x->replication;
    co.type_checked = true;   /* process_entry refused type conflicts */
    co.pending = j->rec ? j->rec->ops->pending : NULL;   /* open uploads recorded for */
    co.pending_arg = j->rec ? j->rec->ctx : NULL;        /* resume / job clean */
    co.shared = shared;
    if (!co.direct && (rc = job_ensure_tmp_dir(j, ei)))
        return rc;
    return x->tfs->ops->create(x->tfs, x->dst, &co, wr, ei);
}

/* Everything after the data is written: verify, attributes, digest, commit. */
int copy_finalize(struct wctx *w, struct xfer *x, const struct entry *e,
                  struct be_file *wr, bool crc_ok, uint32_t crc, struct errinfo *ei)
{
    struct job *j = w->j;
    struct be_stat st;
    unsigned what = copy_preserve_mask(j, false);
    int rc;
    memset(&st, 0, sizeof st);
    if (what && x->tfs->ops->wsetattr) {
        struct be_attrs a;
        if ((rc = copy_source_attrs(j, e, x->src, what, &a, ei)))
            return rc;
        rc = x->tfs->ops->wsetattr(wr, &a, what & a.have, ei);
        be_attrs_release(&a);
        if (rc)
            return rc;
    }
    if ((rc = x->tfs->ops->finish(wr, &st, ei)))
        return rc;
    if (st.size != x->size)
        return err_setx(ei, ERR_LENGTH_MISMATCH, "Mismatch in length of source:%s (%" PRIu64 ") and target:%s (%" PRIu64 ")",
                        x->src, x->size, x->dst, st.size);
    if (crc_ok && x->tfs->ops->wsetmeta && st.mtime_ns) {
        char v[128];
        digest_meta_format(crc, st.size, st.mtime_ns, v, sizeof v);
        x->tfs->ops->wsetmeta(wr, META_DIGEST, v, NULL);   /* best effort */
    }
    return ERR_OK;
}

/* Make the written file visible (wr is consumed). A store without wsetattr
 * gets the -p attributes through setattr() on the final path once it is
 * there (backend.h: wsetattr's fallback); a failure then fails the file.
 * The digest recorded before commit then names an older mtime and is not
 * trusted (-update falls back to its mtime rule for that file). */
int copy_commit(struct wctx *w, struct xfer *x, const struct entry *e, struct be_file *wr,
                struct errinfo *ei)
{
    struct job *j = w->j;
    unsigned what = copy_preserve_mask(j, false);
    int rc = x->tfs->ops->commit(wr, ei);
    if (rc || !what || x->tfs->ops->wsetattr || !x->tfs->ops->setattr)
        return rc;
    struct be_attrs a;
    if ((rc = copy_source_attrs(j, e, x->src, what, &a, ei)))
        return rc;
    rc = x->tfs->ops->setattr(x->tfs, x->dst, &a, what & a.have, ei);
    be_attrs_release(&a);
    return rc;
}

/* Copy a whole file in one piece. */
int copy_whole(struct wctx *w, struct xfer *x, const struct entry *e,
               bool *readside, struct errinfo *ei)
{
    struct be_file *wr = NULL;
    uint32_t crc = 0;
    bool crc_ok = false;
    int rc;
    struct verify v;
    bool checked = false;
    *readside = false;
    if ((rc = copy_open_writer(w, x, false, &wr, ei)))
        return rc;
    verify_begin(&v, w->j, x->sfs, x->tfs, e->blocksize, x->blocksize);
    x->v = &v;
    rc = copy_range_data(w, x, wr, 0, x->size, true, &crc, &crc_ok, readside, ei);
    if (!rc) {
        *readside = false;
        rc = copy_finalize(w, x, e, wr, crc_ok, crc, ei);
    }
    if (!rc && (rc = verify_end(&v, x->sfs, x->src, x->tfs, wr, x->dst, &checked, ei)) &&
        rc != ERR_CHECKSUM_MISMATCH)
        *readside = true;  /* the source's checksum could not be read */
    x->v = NULL;
    verify_release(&v);
    if (!rc && !checked && v.use_src + v.use_tgt)
        copy_wlog(w, "CHECKSUM_NOT_VERIFIED: %s --> %s (the store's checksum uses another block "
                  "layout; -pb keeps it)", x->src, x->dst);
    if (rc) {
        x->tfs->ops->abort(wr);
        return rc;
    }
    return copy_commit(w, x, e, wr, ei);
}

/* Append the tail of the source to the target (B §6.3). */
int copy_append_tail(struct wctx *w, struct xfer *x, const struct entry *e,
                     uint64_t tlen, bool *readside, struct errinfo *ei)
{
    struct be_file *wr = NULL;
    uint32_t crc = 0;
    bool crc_ok = false;
    int rc;
    *readside = false;
    if (!x->tfs->ops->open_append)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot append to '%s': not supported by this store", x->dst);
    if ((rc = x->tfs->ops->open_append(x->tfs, x->dst, &wr, ei)))
        return rc;
    rc = copy_range_data(w, x, wr, tlen, x->size - tlen, true, &crc, &crc_ok, readside, ei);
    if (!rc) {
        *readside = false;
        rc = copy_finalize(w, x, e, wr, false, 0, ei);
    }
    if (rc) {
        x->tfs->ops->abort(wr);
        return rc;
    }
    return copy_commit(w, x, e, wr, ei);
}

/* ------------------------------------------------------------ results */

void copy_record_result(struct wctx *w, const struct entry *e, const char *src,
                        const char *dst, int rc, bool readside, const struct errinfo *ei,
                        uint64_t old_tlen, bool appended, uint64_t tail)
{
    struct job *j = w->j;
    enum policy_action act = policy_decide(rc, ei, readside ? SIDE_READ : SIDE_WRITE, j->o, POLICY_LAST);
    if (rc != ERR_OK && act == POLICY_STOP)
        return;                 /* stopped on request: not a failure, not done */
    if (rc == ERR_OK) {
        rec_row(j, w->id, e, src, dst, appended ? JR_APPENDED : JR_COPIED, NULL);
        job_count(j, C_COPY, 1);
        job_count(j, C_BYTESEXPECTED, e->size);
        job_count(j, C_BYTESCOPIED, appended ? tail : e->size);
        if (j->o->verbose)
            copy_wlog(w, "FILE_COPIED: source=%s, size=%" PRIu64 " --> target=%s, size=%" PRIu64,
                      src, e->size, dst, old_tlen);
        return;
    }
    rec_row(j, w->id, e, src, dst, JR_FAILED, ei->msg);
    if (act == POLICY_COUNT_AND_GO_ON) {
        job_count(j, C_FAIL, 1);
        job_count(j, C_BYTESFAILED, e->size);
        copy_wlog(w, "FAIL: %s - %s", src, ei->msg);
        job_error(j, "ignoring failure (-i): %s", ei->msg);
        return;
    }
    job_fail(j, JOB_FAILED, "File copy failed: %s --> %s: %s", src, dst, ei->msg);
}

/* copy.c - the copy phase (spec B §5, §6) executed by workers.
 *
 * For each entry: re-check the target, decide create-dir / skip / copy /
 * append (B §5.1), write through the backend's writer (temp + commit unless
 * -direct), verify the length, apply -p attributes (also to skipped files),
 * record distcp's content digest with the file, count, log.
 *
 * Big files are split into chunks: the worker that decides to copy one opens
 * the writer, posts the other chunks as help tasks to the work queue, copies
 * the first itself; the last chunk to finish verifies and commits. Under
 * MPI, with a store whose writers can be shared (backend.h wshare), the
 * writer is shared and chunks 1.. are offered to every rank (dist.h): other
 * ranks join the writer, copy their range (copy_chunk_exec) and send a
 * receipt; receipts reach this rank's main thread (copy_chunk_receipt), and
 * whichever finishes last, a chunk or a receipt, verifies and commits.
 *
 * Failures: read-side ones (source missing, unreadable, changed during the
 * copy) are counted FAIL and the job goes on under -i (B §6.6); any other
 * failure fails the job and stops dispatching new work. Transient errors are
 * retried up to 3 attempts with randomised exponential back-off (B §6.5).
 *
 * A cancel (SIGINT/SIGTERM or `distcp job cancel`, job.c sets user_cancel)
 * stops it cleanly: no new work, data loops end with ERR_CANCELLED, so
 * writers are aborted (temp files removed, multipart uploads aborted).
 *
 * Threading: one struct wctx per worker; counters are atomics in the job. */
#include "engine/copy.h"
#include "jobs/jobpend.h"
#include "jobs/jobrec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/decide.h"
#include "engine/digest.h"
#include "engine/dist.h"
#include "engine/join.h"
#include "engine/throttle.h"
#include "engine/verify.h"
#include "engine/workq.h"
#include "util/checksum.h"
#include "util/idmap.h"

#define PATHMAX 8192
#define SMALL_BUF (1u << 20)

struct wctx {
    struct job *j;
    int id;
    char *buf;
    size_t bufsize;
    FILE *log;
    struct throttle thr;
    uint64_t seq;
    const char *why;     /* reason of the last SKIP decision (reports) */
    char src[PATHMAX], dst[PATHMAX];
};

struct copyrun {
    struct job *j;
    struct workq *q;
    struct wctx *w;
    int n;
    struct throttle global;
    size_t bufsize;
    uint64_t chunk_min, chunk_size;
    int n_job;                            /* workers of the whole job (MPI: every rank) */
    bool share_chunks;                    /* MPI: big files' chunks go to other ranks */
    const char *fail_read, *fail_write;   /* test fault hooks */
    int fail_chunk_rank;                  /* DISTCP_TEST_FAIL_CHUNK: -1 = off */
    unsigned retry_delay_ms;
};

/* ------------------------------------------------------------ helpers */

static void wlog(struct wctx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wlog(struct wctx *w, const char *fmt, ...)
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

static void dry(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dry(struct job *j, const char *fmt, ...)
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

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void backoff(struct copyrun *r, int attempt)
{
    unsigned base = r->retry_delay_ms << attempt;
    unsigned jitter = base ? (unsigned)(rand() % (int)(base / 2 + 1)) : 0;
    sleep_ms(base / 2 + jitter + base / 2);
}

static const char *type_word(enum be_type t)
{
    return t == BE_DIR ? "dir" : "file";
}

unsigned copy_preserve_mask(const struct job *j, bool dir)
{
    unsigned p = j->o->preserve;
    unsigned caps = j->tfs->ops->caps;
    unsigned m = 0;
    if (caps & BE_CAP_POSIX_META)
        m |= p & (PRESERVE_U | PRESERVE_G | PRESERVE_P);
    if (caps & BE_CAP_MTIME)
        m |= p & PRESERVE_T;
    if (caps & BE_CAP_XATTR)
        m |= p & PRESERVE_X;
    if (caps & BE_CAP_ACL) {
        m |= p & PRESERVE_A;
        if ((p & PRESERVE_A) && (caps & BE_CAP_POSIX_META))
            m |= PRESERVE_P;     /* B §7: an ACL implies the permission bits */
    }
    if ((caps & BE_CAP_BLOCKS) && !dir)
        m |= p & (PRESERVE_R | PRESERVE_B | PRESERVE_C);
    if ((caps & BE_CAP_META_ATTRS) && !dir)   /* object stores: as metadata, files only */
        m |= p & (PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T);
    return m;
}

/* A source that keeps owner, group, mode and mtime as metadata (S3): what it
 * recorded replaces the listing's values; owner, group and mode it did not
 * record are dropped from a->have (nothing to restore); the mtime stays the
 * listed one (the object's own time). */
static int source_meta_attrs(struct job *j, const struct entry *e, const char *src,
                             unsigned what, struct be_attrs *a, struct errinfo *ei)
{
    struct be_fs *fs = j->roots[e->root].fs;
    unsigned m = what & (PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T);
    struct be_attrs x;
    if (!m || e->type != BE_FILE || !(fs->ops->caps & BE_CAP_META_ATTRS) || !fs->ops->getattrs)
        return ERR_OK;
    memset(&x, 0, sizeof x);
    int rc = fs->ops->getattrs(fs, src, m, &x, ei);
    if (rc)
        return rc;
    if (x.have & BE_ATTR_OWNER) {
        a->st.uid = x.st.uid;
        memcpy(a->st.owner, x.st.owner, sizeof a->st.owner);
    }
    if (x.have & BE_ATTR_GROUP) {
        a->st.gid = x.st.gid;
        memcpy(a->st.group, x.st.group, sizeof a->st.group);
    }
    if (x.have & BE_ATTR_MODE)
        a->st.mode = x.st.mode;
    a->have &= ~(m & (PRESERVE_U | PRESERVE_G | PRESERVE_P) & ~x.have);
    if (x.have & BE_ATTR_TIMES) {
        a->st.mtime_ns = x.st.mtime_ns;
        a->st.atime_ns = x.st.atime_ns;
    }
    be_attrs_release(&x);
    return ERR_OK;
}

int copy_source_attrs(struct job *j, const struct entry *e, const char *src,
                      unsigned what, struct be_attrs *a, struct errinfo *ei)
{
    memset(a, 0, sizeof *a);
    a->st.type = (enum be_type)e->type;
    a->st.mode = e->mode;
    a->st.uid = e->uid;
    a->st.gid = e->gid;
    a->st.mtime_ns = e->mtime_ns;
    a->st.atime_ns = e->atime_ns;
    a->st.size = e->size;
    a->st.blocksize = e->blocksize;
    a->st.replication = e->replication;
    a->have = what;      /* what there is to apply (callers mask with it) */
    int mrc = source_meta_attrs(j, e, src, what, a, ei);
    if (mrc)
        return mrc;
    if (what & (PRESERVE_X | PRESERVE_A)) {
        struct be_fs *fs = j->roots[e->root].fs;
        if (!fs->ops->getattrs)
            return err_setx(ei, ERR_UNSUPPORTED, "cannot read attributes of '%s': not supported by this store", src);
        struct be_attrs x;
        memset(&x, 0, sizeof x);
        int rc = fs->ops->getattrs(fs, src, what & (PRESERVE_X | PRESERVE_A), &x, ei);
        if (rc)
            return rc;
        a->xattrs = x.xattrs;
        a->nxattrs = x.nxattrs;
        a->acl = x.acl;
    }
    return ERR_OK;
}

/* ------------------------------------------------------------ digests */

/* Read a digest recorded with a file; valid only while size and mtime match
 * (Part A 4). Returns true and *crc when valid. */
static bool digest_get(struct be_fs *fs, const char *path, uint64_t size, int64_t mtime,
                       uint32_t *crc)
{
    char *v = NULL;
    if (!fs->ops->getmeta || fs->ops->getmeta(fs, path, META_DIGEST, &v, NULL))
        return false;
    bool ok = digest_meta_valid(v, size, mtime, crc);
    free(v);
    return ok;
}

/* The digest of one side: from its listing when the listing looked, else
 * asked of the store. */
static bool side_digest(unsigned flags, uint32_t listed, struct be_fs *fs, const char *path,
                        uint64_t size, int64_t mtime, uint32_t *crc)
{
    if (flags & ENTRY_F_DKNOWN) {
        *crc = listed;
        return (flags & ENTRY_F_DVALID) != 0;
    }
    return digest_get(fs, path, size, mtime, crc);
}

/* Read a whole file (or its first `limit` bytes) and CRC32C it. */
static int crc_of(struct wctx *w, struct be_fs *fs, const char *path, uint64_t limit,
                  uint32_t *crc, uint64_t *len, struct errinfo *ei)
{
    struct be_file *r = NULL;
    uint32_t c = 0;
    uint64_t total = 0;
    int rc = fs->ops->open_read(fs, path, 0, &r, ei);
    while (!rc && total < limit) {
        size_t want = w->bufsize;
        if (limit - total < want)
            want = (size_t)(limit - total);
        size_t got = 0;
        rc = fs->ops->read(r, w->buf, want, &got, ei);
        if (rc || got == 0)
            break;
        c = crc32c_update(c, w->buf, got);
        total += got;
    }
    if (r)
        fs->ops->close_read(r);
    *crc = c;
    *len = total;
    return rc;
}

/* ------------------------------------------------------ the write path */

struct xfer {              /* one file (or one chunk of it) being written */
    struct copyrun *r;
    struct be_fs *sfs, *tfs;
    const char *src, *dst;
    uint64_t size;         /* listed source length */
    struct verify *v;      /* HDFS checksum computed while streaming, or NULL (verify.h) */
    uint64_t blocksize;    /* create with this block size (-pb/-pc), 0 = store default */
    uint16_t replication;  /* create with this replication (-pr), 0 = store default */
};

static bool want_fail(const char *hook, const char *path)
{
    return hook && *hook && strstr(path, hook);
}

/* Copy [off, off+len) of the source into writer wr. Read errors set *readside.
 * On success *crc is the CRC32C of the range (when computed) and *crc_ok. */
static int copy_range_data(struct wctx *w, struct xfer *x, struct be_file *wr,
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
    if (want_fail(r->fail_read, x->src)) {
        rc = err_setx(ei, ERR_ACCESS, "cannot open '%s': Permission denied (test fault DISTCP_TEST_FAIL_READ)", x->src);
        goto out;
    }
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
        jobrec_pause_point(r->j, "writing");   /* test hook: kill -9 mid-file */
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

static void tmp_tag(struct wctx *w, char *buf, size_t n)
{
    snprintf(buf, n, "%d.%d.%" PRIu64 ".%s", w->j->pid, w->id, w->seq++, w->j->host);
}

/* Start the target file of x: temp or direct per -direct, size hint for
 * preallocation; honours the DISTCP_TEST_FAIL_WRITE test hook. */
static int open_writer(struct wctx *w, struct xfer *x, bool shared, struct be_file **wr,
                       struct errinfo *ei)
{
    struct job *j = w->j;
    struct be_create_opts co;
    char tag[160];
    int rc;
    memset(&co, 0, sizeof co);
    tmp_tag(w, tag, sizeof tag);
    co.direct = j->o->direct;
    co.tmp_dir = j->tmp_dir;
    co.tmp_tag = tag;
    co.size_hint = x->size;
    co.blocksize = x->blocksize;
    co.replication = x->replication;
    co.type_checked = true;   /* process_entry refused type conflicts */
    co.pending = jobpend_note;   /* open uploads recorded for resume / job clean */
    co.pending_arg = j;
    co.shared = shared;
    if (want_fail(x->r->fail_write, x->dst))
        return err_setx(ei, ERR_ACCESS, "cannot create '%s': Permission denied (test fault DISTCP_TEST_FAIL_WRITE)", x->dst);
    if (!co.direct && (rc = job_ensure_tmp_dir(j, ei)))
        return rc;
    return x->tfs->ops->create(x->tfs, x->dst, &co, wr, ei);
}

/* Everything after the data is written: verify, attributes, digest, commit. */
static int finalize(struct wctx *w, struct xfer *x, const struct entry *e,
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

/* Copy a whole file in one piece. */
static int copy_whole(struct wctx *w, struct xfer *x, const struct entry *e,
                      bool *readside, struct errinfo *ei)
{
    struct be_file *wr = NULL;
    uint32_t crc = 0;
    bool crc_ok = false;
    int rc;
    struct verify v;
    bool checked = false;
    *readside = false;
    if ((rc = open_writer(w, x, false, &wr, ei)))
        return rc;
    verify_begin(&v, w->j, x->sfs, x->tfs, e->blocksize, x->blocksize);
    x->v = &v;
    rc = copy_range_data(w, x, wr, 0, x->size, true, &crc, &crc_ok, readside, ei);
    if (!rc) {
        *readside = false;
        rc = finalize(w, x, e, wr, crc_ok, crc, ei);
    }
    if (!rc && (rc = verify_end(&v, x->sfs, x->src, x->tfs, wr, x->dst, &checked, ei)) &&
        rc != ERR_CHECKSUM_MISMATCH)
        *readside = true;  /* the source's checksum could not be read */
    x->v = NULL;
    verify_release(&v);
    if (!rc && !checked && v.use_src + v.use_tgt)
        wlog(w, "CHECKSUM_NOT_VERIFIED: %s --> %s (the store's checksum uses another block "
             "layout; -pb keeps it)", x->src, x->dst);
    if (rc) {
        x->tfs->ops->abort(wr);
        return rc;
    }
    return x->tfs->ops->commit(wr, ei);
}

/* Append the tail of the source to the target (B §6.3). */
static int append_tail(struct wctx *w, struct xfer *x, const struct entry *e,
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
        rc = finalize(w, x, e, wr, false, 0, ei);
    }
    if (rc) {
        x->tfs->ops->abort(wr);
        return rc;
    }
    return x->tfs->ops->commit(wr, ei);
}

/* ------------------------------------------------------ chunked files */

#define TOKEN_MAX 4096     /* a shared writer's token (backend.h wshare) */
#define RCPT_DATA_MAX 65536 /* a joiner's receipt (wjoin_end) */

struct bigfile {
    struct copyrun *r;
    struct entry *e;            /* copy */
    char *src, *dst;
    struct be_fs *sfs, *tfs;
    struct be_file *wr;
    uint64_t chunk;             /* chunk size */
    uint32_t nchunks;
    atomic_uint remaining;
    atomic_int failed;          /* first failure recorded */
    atomic_int readside;
    struct errinfo ei;
    uint32_t *crcs;             /* per chunk */
    atomic_bool crc_ok;
    pthread_mutex_t lock;
    struct whelp *helps;
    char **rdata;               /* MPI: per chunk, the joiner's receipt (or NULL) */
    FILE *log;                  /* MPI: the owner worker's -log file */
};

static void record_result(struct wctx *w, const struct entry *e, const char *src,
                          const char *dst, int rc, bool readside, const struct errinfo *ei,
                          uint64_t old_tlen, bool appended, uint64_t tail);

static uint64_t chunk_len(const struct bigfile *b, uint32_t i)
{
    return i + 1 < b->nchunks ? b->chunk : b->e->size - b->chunk * i;
}

/* Record the first failure of a chunk. */
static void bigfile_fail(struct bigfile *b, const struct errinfo *ei, bool readside)
{
    pthread_mutex_lock(&b->lock);
    if (!atomic_load(&b->failed)) {
        b->ei = *ei;
        atomic_store(&b->readside, readside);
        atomic_store(&b->failed, 1);
    }
    pthread_mutex_unlock(&b->lock);
}

static void bigfile_free(struct bigfile *b)
{
    for (uint32_t i = 0; b->rdata && i < b->nchunks; i++)
        free(b->rdata[i]);
    free(b->rdata);
    free(b->crcs);
    free(b->helps);
    free(b->e);
    free(b->src);
    free(b->dst);
    free(b);
}

static void bigfile_done(struct wctx *w, struct bigfile *b)
{
    struct errinfo ei = {0};
    int rc = atomic_load(&b->failed) ? b->ei.code : ERR_OK;
    bool readside = atomic_load(&b->readside);
    struct xfer x = {.r = b->r, .sfs = b->sfs, .tfs = b->tfs, .src = b->src, .dst = b->dst,
                     .size = b->e->size};
    /* other ranks' ranges: what the store needs to assemble them */
    for (uint32_t i = 0; rc == ERR_OK && b->rdata && i < b->nchunks; i++)
        if (b->rdata[i])
            rc = b->tfs->ops->wreceipt(b->wr, b->chunk * i, chunk_len(b, i), b->rdata[i], &ei);
    if (rc == ERR_OK) {
        /* the source must not have grown */
        char one;
        size_t got = 0;
        struct be_file *rd = NULL;
        readside = true;
        rc = b->sfs->ops->open_read(b->sfs, b->src, b->e->size, &rd, &ei);
        if (!rc)
            rc = b->sfs->ops->read(rd, &one, 1, &got, &ei);
        if (rd)
            b->sfs->ops->close_read(rd);
        if (!rc && got)
            rc = err_setx(&ei, ERR_SHORT_READ, "source '%s' changed during the copy: it grew beyond the listed length %" PRIu64,
                          b->src, b->e->size);
        if (!rc) {
            readside = false;
            uint32_t crc = 0;
            bool ok = atomic_load(&b->crc_ok);
            if (ok)
                for (uint32_t i = 0; i < b->nchunks; i++)
                    crc = i ? crc32c_combine(crc, b->crcs[i], chunk_len(b, i)) : b->crcs[i];
            rc = finalize(w, &x, b->e, b->wr, ok, crc, &ei);
            if (!rc) {
                rc = b->tfs->ops->commit(b->wr, &ei);
                b->wr = NULL;
            }
        }
    } else if (atomic_load(&b->failed)) {
        ei = b->ei;
    }
    if (b->wr)
        b->tfs->ops->abort(b->wr);
    record_result(w, b->e, b->src, b->dst, rc, readside, &ei, 0, false, 0);
    pthread_mutex_destroy(&b->lock);
    bigfile_free(b);
}

struct chunkarg {
    struct bigfile *b;
    uint32_t idx;
};

static void chunk_run(struct wctx *w, struct bigfile *b, uint32_t idx)
{
    uint64_t off = b->chunk * idx;
    uint64_t len = chunk_len(b, idx);
    struct xfer x = {.r = b->r, .sfs = b->sfs, .tfs = b->tfs, .src = b->src, .dst = b->dst,
                     .size = b->e->size};
    struct errinfo ei = {0};
    int rc = ERR_OK;
    bool readside = false, crc_ok = true;
    uint32_t crc = 0;
    if (!atomic_load(&b->failed) && !atomic_load(&w->j->cancel)) {
        for (int attempt = 0; attempt < 3; attempt++) {
            err_clear(&ei);
            rc = copy_range_data(w, &x, b->wr, off, len, false, &crc, &crc_ok, &readside, &ei);
            if (!rc || !err_should_retry(rc, &ei) || attempt == 2 || atomic_load(&w->j->user_cancel))
                break;
            backoff(b->r, attempt);
        }
        if (rc) {
            bigfile_fail(b, &ei, readside);
        } else {
            b->crcs[idx] = crc;
            if (!crc_ok)
                atomic_store(&b->crc_ok, false);
            if (job_dist && w->j->o->verbose)
                wlog(w, "CHUNK_COPIED: source=%s, chunk=%" PRIu32 ", offset=%" PRIu64 ", length=%" PRIu64 ", rank=%d",
                     b->src, idx, off, len, dist_rank());
        }
    }
    if (atomic_fetch_sub(&b->remaining, 1) == 1)
        bigfile_done(w, b);
}

static void chunk_help(void *arg, int worker)
{
    struct chunkarg *c = arg;
    struct copyrun *r = c->b->r;
    chunk_run(&r->w[worker], c->b, c->idx);
}

/* MPI: offer chunks 1.. of b (its writer shared as `tok`) to other ranks.
 * True when rank 0 took them: their receipts finish the file. */
static bool offer_chunks(struct wctx *w, struct bigfile *b, const char *tok)
{
    size_t toklen = (strlen(tok) + 1 + 7) & ~(size_t)7;
    size_t entlen = entry_size(b->e);
    size_t len = sizeof(struct dist_offer) + toklen + entlen;
    struct dist_offer *o = calloc(1, len);
    if (!o)
        return false;
    o->nchunks = b->nchunks;
    o->chunk = b->chunk;
    o->size = b->e->size;
    o->toklen = (uint32_t)toklen;
    o->entlen = (uint32_t)entlen;
    memcpy(o + 1, tok, strlen(tok) + 1);
    struct entry *e = (struct entry *)((char *)(o + 1) + toklen);
    memcpy(e, b->e, entlen);
    e->flags &= (uint8_t)~(ENTRY_F_TSTAT | ENTRY_F_TABSENT);
    bool ok = job_dist->chunk_offer(job_dist, w->j, b, o, len);
    free(o);
    return ok;
}

/* Start a chunked copy; the chunks finish it. Returns ERR_OK when the
 * chunks own the file (the result is recorded by the last one). Under MPI
 * with a store whose writers can be shared, the chunks go to other ranks
 * too (offer_chunks); when rank 0 declines, they stay here. */
static int copy_chunked(struct wctx *w, struct xfer *x, const struct entry *e,
                        uint64_t chunk, struct errinfo *ei)
{
    struct copyrun *r = x->r;
    int rc;
    char *tok = NULL;
    struct bigfile *b = calloc(1, sizeof *b);
    if (!b)
        return err_setx(ei, ERR_NOMEM, "out of memory");
    b->r = r;
    b->e = malloc(entry_size(e));
    b->src = strdup(x->src);
    b->dst = strdup(x->dst);
    if (!b->e || !b->src || !b->dst) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(b->e, e, entry_size(e));
    b->sfs = x->sfs;
    b->tfs = x->tfs;
    b->log = w->log;
    atomic_init(&b->crc_ok, true);
    bool shared = false;
    if (r->share_chunks) {
        if (!(tok = malloc(TOKEN_MAX))) {
            rc = err_setx(ei, ERR_NOMEM, "out of memory");
            goto fail;
        }
        if ((rc = open_writer(w, x, true, &b->wr, ei)))
            goto fail;
        uint64_t align = 1;
        struct errinfo e2 = {0};
        if (x->tfs->ops->wshare(b->wr, tok, TOKEN_MAX, &align, &e2) == ERR_OK) {
            shared = true;
            if (align > 1)
                chunk = (chunk + align - 1) / align * align;
        }
    } else if ((rc = open_writer(w, x, false, &b->wr, ei))) {
        goto fail;
    }
    b->chunk = chunk;
    b->nchunks = (uint32_t)((e->size + chunk - 1) / chunk);
    b->crcs = calloc(b->nchunks, sizeof *b->crcs);
    if (!b->crcs || (shared && !(b->rdata = calloc(b->nchunks, sizeof *b->rdata)))) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        x->tfs->ops->abort(b->wr);
        goto fail;
    }
    pthread_mutex_init(&b->lock, NULL);
    atomic_init(&b->remaining, b->nchunks);
    if (shared && b->nchunks > 1 && offer_chunks(w, b, tok)) {
        free(tok);
        chunk_run(w, b, 0);
        return ERR_OK;
    }
    free(tok);
    tok = NULL;
    b->helps = calloc(b->nchunks, sizeof(struct whelp) + sizeof(struct chunkarg));
    if (!b->helps) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        x->tfs->ops->abort(b->wr);
        pthread_mutex_destroy(&b->lock);
        goto fail;
    }
    struct whelp *hs = b->helps;
    struct chunkarg *cs = (struct chunkarg *)(hs + b->nchunks);
    for (uint32_t i = 1; i < b->nchunks; i++) {
        cs[i].b = b;
        cs[i].idx = i;
        hs[i].fn = chunk_help;
        hs[i].arg = &cs[i];
        r->q->ops->help(r->q, &hs[i]);
    }
    chunk_run(w, b, 0);
    return ERR_OK;
fail:
    free(tok);
    bigfile_free(b);
    return rc;
}

/* ------------------------------------------------ chunks of other ranks */

/* The chunk executor side (engine/dist.h): join the owner's writer, copy
 * the range, send the receipt. */
void copy_chunk_exec(struct job *j, int worker, const struct dist_offer *o, size_t len,
                     uint32_t idx)
{
    struct copyrun *r = j->workq_ctx;
    struct wctx *w = &r->w[worker];
    struct errinfo ei = {0};
    int rc = ERR_OK;
    bool readside = false, crc_ok = true;
    uint32_t crc = 0;
    struct entry *e = NULL;
    char *rdata = calloc(1, RCPT_DATA_MAX);
    const char *tok = (const char *)(o + 1);
    uint64_t off = 0, clen = 0;
    if (!rdata) {
        rc = err_setx(&ei, ERR_NOMEM, "out of memory");
        goto send;
    }
    if (len < sizeof *o || o->toklen == 0 || o->entlen < sizeof(struct entry) ||
        len != sizeof *o + o->toklen + o->entlen || memchr(tok, 0, o->toklen) == NULL ||
        o->chunk == 0 || idx == 0 || idx >= o->nchunks || o->chunk * idx >= o->size) {
        rc = err_setx(&ei, ERR_INTERNAL, "malformed chunk task from rank %d", (int)o->owner);
        goto send;
    }
    off = o->chunk * idx;
    clen = idx + 1 < o->nchunks ? o->chunk : o->size - off;
    if (!(e = malloc(o->entlen))) {
        rc = err_setx(&ei, ERR_NOMEM, "out of memory");
        goto send;
    }
    memcpy(e, tok + o->toklen, o->entlen);
    if (entry_size(e) != o->entlen || e->root >= j->nroots || e->size != o->size) {
        rc = err_setx(&ei, ERR_INTERNAL, "malformed chunk task from rank %d", (int)o->owner);
        goto send;
    }
    if (job_src_path(j, e, w->src, sizeof w->src) || job_path(j->work, e, w->dst, sizeof w->dst)) {
        rc = err_setx(&ei, ERR_NAME_TOO_LONG, "path too long below '%s'", j->work);
        goto send;
    }
    if (atomic_load(&j->cancel)) {
        rc = err_setx(&ei, ERR_CANCELLED, "copy of '%s' cancelled", w->src);
        goto send;
    }
    struct xfer x = {.r = r, .sfs = j->roots[e->root].fs, .tfs = j->tfs, .src = w->src,
                     .dst = w->dst, .size = e->size};
    bool fault = r->fail_chunk_rank >= 0 && r->fail_chunk_rank == dist_rank();
    for (int attempt = 0; attempt < 3; attempt++) {
        struct be_file *jw = NULL;
        err_clear(&ei);
        readside = false;
        rdata[0] = 0;
        if ((rc = j->tfs->ops->wjoin(j->tfs, w->dst, tok, off, clen, &jw, &ei)))
            goto again;
        /* the test fault writes half the range, then fails (a rank failing mid-chunk) */
        rc = copy_range_data(w, &x, jw, off, fault ? clen / 2 : clen, false, &crc, &crc_ok,
                             &readside, &ei);
        if (!rc && fault)
            rc = err_setx(&ei, ERR_ACCESS, "cannot write '%s': Permission denied (test fault "
                          "DISTCP_TEST_FAIL_CHUNK on rank %d, chunk %" PRIu32 ")", w->dst,
                          dist_rank(), idx);
        if (rc) {
            j->tfs->ops->wjoin_end(jw, false, NULL, 0, NULL);
        } else if ((rc = j->tfs->ops->wjoin_end(jw, true, rdata, RCPT_DATA_MAX, &ei))) {
            readside = false;
        }
again:
        if (!rc || !err_should_retry(rc, &ei) || attempt == 2 || atomic_load(&j->user_cancel))
            break;
        backoff(r, attempt);
    }
    if (!rc && j->o->verbose)
        wlog(w, "CHUNK_COPIED: source=%s, chunk=%" PRIu32 ", offset=%" PRIu64 ", length=%" PRIu64 ", rank=%d",
             w->src, idx, off, clen, dist_rank());
send:;
    size_t ml = rc ? strlen(ei.msg) + 1 : 0;
    size_t dl = !rc && rdata && rdata[0] ? strlen(rdata) + 1 : 0;
    struct dist_rcpt *h = calloc(1, sizeof *h + ml + dl);
    if (!h) {
        /* the owner would wait forever: nothing sane is left */
        fprintf(stderr, "distcp: out of memory sending a chunk receipt\n");
        abort();
    }
    h->file = o->file;
    h->idx = idx;
    h->rc = rc;
    h->crc = crc;
    h->crc_ok = crc_ok;
    h->readside = readside;
    h->rank = dist_rank();
    h->msglen = (uint32_t)ml;
    h->datalen = (uint32_t)dl;
    if (ml)
        memcpy(h + 1, ei.msg, ml);
    if (dl)
        memcpy((char *)(h + 1) + ml, rdata, dl);
    job_dist->chunk_receipt(job_dist, j, o->owner, h, sizeof *h + ml + dl);
    free(h);
    free(e);
    free(rdata);
}

/* The owner side: one receipt of an offered chunk (main thread). */
void copy_chunk_receipt(struct job *j, void *file, const struct dist_rcpt *h, size_t len)
{
    struct copyrun *r = j->workq_ctx;
    struct bigfile *b = file;
    struct errinfo ei = {0};
    const char *msg = (const char *)(h + 1);
    bool sane = len >= sizeof *h && len == sizeof *h + h->msglen + h->datalen &&
                h->idx > 0 && h->idx < b->nchunks &&
                (!h->msglen || msg[h->msglen - 1] == 0) &&
                (!h->datalen || msg[h->msglen + h->datalen - 1] == 0);
    if (!sane) {
        err_setx(&ei, ERR_INTERNAL, "malformed chunk receipt for '%s'", b->src);
        bigfile_fail(b, &ei, false);
    } else if (h->rc) {
        ei.code = h->rc;
        snprintf(ei.msg, sizeof ei.msg, "%s (chunk %" PRIu32 ", copied by rank %d)",
                 h->msglen ? msg : err_str(h->rc), h->idx, (int)h->rank);
        bigfile_fail(b, &ei, h->readside);
    } else {
        b->crcs[h->idx] = h->crc;
        if (!h->crc_ok)
            atomic_store(&b->crc_ok, false);
        if (h->datalen && !(b->rdata[h->idx] = strdup(msg + h->msglen))) {
            err_setx(&ei, ERR_NOMEM, "out of memory");
            bigfile_fail(b, &ei, false);
        }
    }
    if (atomic_fetch_sub(&b->remaining, 1) == 1) {
        struct wctx *mw = &r->w[r->n];
        mw->log = b->log;    /* the file's lines go where its owner's go */
        bigfile_done(mw, b);
        mw->log = NULL;
    }
}

/* ------------------------------------------------------------ results */

static void record_result(struct wctx *w, const struct entry *e, const char *src,
                          const char *dst, int rc, bool readside, const struct errinfo *ei,
                          uint64_t old_tlen, bool appended, uint64_t tail)
{
    struct job *j = w->j;
    if (rc == ERR_CANCELLED)
        return;                 /* stopped on request: not a failure, not done */
    if (rc == ERR_OK) {
        jobrec_row(j, w->id, e, src, dst, appended ? JR_APPENDED : JR_COPIED, NULL);
        job_count(j, C_COPY, 1);
        job_count(j, C_BYTESEXPECTED, e->size);
        job_count(j, C_BYTESCOPIED, appended ? tail : e->size);
        if (j->o->verbose)
            wlog(w, "FILE_COPIED: source=%s, size=%" PRIu64 " --> target=%s, size=%" PRIu64,
                 src, e->size, dst, old_tlen);
        return;
    }
    jobrec_row(j, w->id, e, src, dst, JR_FAILED, ei->msg);
    if (readside && j->o->ignore_failures) {
        job_count(j, C_FAIL, 1);
        job_count(j, C_BYTESFAILED, e->size);
        wlog(w, "FAIL: %s - %s", src, ei->msg);
        job_error(j, "ignoring failure (-i): %s", ei->msg);
        return;
    }
    job_fail(j, EXIT_FAIL, "File copy failed: %s --> %s: %s", src, dst, ei->msg);
}

/* Apply -p attributes to an existing target (skipped files, B §7). */
/* Stores keep mtimes at different precisions (local ns, HDFS ms, S3 s):
 * compare at the coarser of source and target, or every file copied with
 * -pt to HDFS would look older than its source forever. */
static int64_t mtime_gran(const struct job *j, const struct entry *e)
{
    int64_t a = j->roots[e->root].fs->ops->mtime_gran_ns, b = j->tfs->ops->mtime_gran_ns;
    int64_t g = a > b ? a : b;
    return g > 1 ? g : 1;
}

static int64_t mtime_at(int64_t t, int64_t g)
{
    if (g <= 1)
        return t;
    int64_t q = t / g;
    if (t % g && t < 0)
        q--;
    return q * g;
}

/* True when the target already has every attribute `what` asks for (only
 * decidable for owner, group, mode and mtime; xattrs/ACLs need a look). */
static bool attrs_equal(unsigned what, const struct entry *e, const struct be_stat *ts, int64_t g)
{
    if (what & ~(unsigned)(PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T))
        return false;
    /* ids may be names of a names-only store (util/idmap.h) */
    if ((what & PRESERVE_U) && !idmap_same(e->uid, ts->uid, true))
        return false;
    if ((what & PRESERVE_G) && !idmap_same(e->gid, ts->gid, false))
        return false;
    if ((what & PRESERVE_P) && (e->mode & 07777) != (ts->mode & 07777))
        return false;
    if ((what & PRESERVE_T) && mtime_at(e->mtime_ns, g) != mtime_at(ts->mtime_ns, g))
        return false;
    return true;
}

static int apply_attrs(struct wctx *w, const struct entry *e, const char *src,
                       const char *dst, bool dir, const struct be_stat *ts, struct errinfo *ei)
{
    struct job *j = w->j;
    unsigned what = copy_preserve_mask(j, dir);
    struct be_attrs a;
    int rc;
    if (!what || !j->tfs->ops->setattr || j->o->dry_run)
        return ERR_OK;
    if (ts && (j->tfs->ops->caps & (BE_CAP_NUMERIC_IDS | BE_CAP_POSIX_META)) &&
        attrs_equal(what, e, ts, mtime_gran(j, e)))
        return ERR_OK;     /* B §7: nothing differs, nothing to change */
    if ((rc = copy_source_attrs(j, e, src, what, &a, ei)))
        return rc;
    rc = j->tfs->ops->setattr(j->tfs, dst, &a, what & a.have, ei);
    be_attrs_release(&a);
    return rc;
}

/* ------------------------------------------------------------ decision */

/* B §5.1 + Part A 4: gather what the pure rule needs, then check the
 * prefix for a candidate append. */
static int decide(struct wctx *w, const struct entry *e, const char *src, const char *dst,
                  const struct be_stat *ts, const struct tstat *tt, enum action *act,
                  struct errinfo *ei)
{
    struct job *j = w->j;
    const struct options *o = j->o;
    struct be_fs *sfs = j->roots[e->root].fs;
    const char *mt = options_def(o, "distcp.update.modification.time");
    bool by_tag = false;
    struct decide_in in = {
        .overwrite_mode = o->overwrite || j->target_root_is_file,
        .update = o->update,
        .append = o->append,
        .skip_crc = o->skip_crc,
        .preserve_b = (o->preserve & PRESERVE_B) != 0,
        .mtime_rule = !mt || strcmp(mt, "false") != 0,
        .src_size = e->size, .tgt_size = ts->size,
        .src_block = e->blocksize, .tgt_block = ts->blocksize,
        .src_mtime = mtime_at(e->mtime_ns, mtime_gran(j, e)),
        .tgt_mtime = mtime_at(ts->mtime_ns, mtime_gran(j, e)),
        .digests = DIGEST_UNKNOWN,
    };
    int rc;
    if (in.update && !in.overwrite_mode && !in.skip_crc && in.src_size == in.tgt_size) {
        uint32_t sc = 0, tc = 0;
        if (o->checksum) {
            /* the stores' own checksums first (verify.c): one read at most */
            if ((rc = verify_update_compare(j, sfs, src, j->tfs, dst, e->size, true, w->buf,
                                            w->bufsize, &in.digests, ei)))
                return rc;
            uint64_t la = 0, lb = 0;
            if (in.digests == DIGEST_UNKNOWN) {
                if ((rc = crc_of(w, sfs, src, UINT64_MAX, &sc, &la, ei)))
                    return rc;
                if ((rc = crc_of(w, j->tfs, dst, UINT64_MAX, &tc, &lb, ei)))
                    return rc;
                in.digests = sc == tc && la == lb ? DIGEST_EQUAL : DIGEST_DIFFER;
            }
        } else if (side_digest(e->flags, e->digest, sfs, src, e->size, e->mtime_ns, &sc) &&
                   side_digest(tt ? tt->dflags : 0, tt ? tt->digest : 0, j->tfs, dst, ts->size,
                               ts->mtime_ns, &tc)) {
            in.digests = sc == tc ? DIGEST_EQUAL : DIGEST_DIFFER;
        } else if ((rc = verify_update_compare(j, sfs, src, j->tfs, dst, e->size, false, NULL,
                                               0, &in.digests, ei))) {
            return rc;
        }
        if (in.digests == DIGEST_UNKNOWN && !o->checksum &&
            (in.digests = verify_tag_compare(sfs, src, j->tfs, dst)) != DIGEST_UNKNOWN)
            by_tag = true;   /* S3 <-> S3: ETags */
    }
    *act = decide_action(&in);
    w->why = !in.update ? "target exists (no -update/-overwrite)"
           : in.skip_crc ? "same size (-skipcrccheck)"
           : in.digests == DIGEST_EQUAL ? (o->checksum ? "same size and content (--checksum)"
                                           : by_tag ? "same size and ETag"
                                                      : "same size and CRC32C digest")
           : in.mtime_rule ? "same size, target not older than source" : "same size";
    if (*act == ACT_APPEND) {
        uint32_t a = 0, b = 0;
        uint64_t la = 0, lb = 0;
        if ((rc = crc_of(w, sfs, src, ts->size, &a, &la, ei)))
            return rc;
        if ((rc = crc_of(w, j->tfs, dst, UINT64_MAX, &b, &lb, ei)))
            return rc;
        if (!(la == ts->size && lb == ts->size && a == b))
            *act = ACT_COPY;
    }
    return ERR_OK;
}

/* ------------------------------------------------------------ entries */

static int do_mkdir(struct wctx *w, const char *dst, struct errinfo *ei)
{
    struct job *j = w->j;
    int rc = ERR_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        err_clear(ei);
        rc = j->tfs->ops->mkdirs(j->tfs, dst, 0777, ei);
        if (!rc || !err_should_retry(rc, ei) || attempt == 2)
            break;
        backoff(j->workq_ctx, attempt);
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
        job_fail(j, EXIT_FAIL, "cannot copy symbolic link '%s': the target store has no symbolic links", w->src);
        return;
    }
    if ((rc = sfs->ops->readlink(sfs, w->src, link, sizeof link, &ei))) {
        jobrec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
        if (j->o->ignore_failures) {
            job_count(j, C_FAIL, 1);
            wlog(w, "FAIL: %s - %s", w->src, ei.msg);
            return;
        }
        job_fail(j, EXIT_FAIL, "File copy failed: %s --> %s: %s", w->src, w->dst, ei.msg);
        return;
    }
    if (texists) {
        bool same = ts->type == BE_SYMLINK &&
                    j->tfs->ops->readlink(j->tfs, w->dst, cur, sizeof cur, NULL) == ERR_OK &&
                    !strcmp(cur, link);
        bool skip = !j->o->overwrite && !j->target_root_is_file && (!j->o->update || same);
        if (skip) {
            jobrec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED,
                       same ? "same link target" : "target exists (no -update/-overwrite)");
            job_count(j, C_SKIP, 1);
            wlog(w, "SKIP: %s", w->src);
            dry(j, "SKIP %s -> %s", w->src, w->dst);
            return;
        }
    }
    job_count(j, C_COPY, 1);
    dry(j, "COPY %s -> %s", w->src, w->dst);
    if (j->o->dry_run) {
        jobrec_row(j, w->id, e, w->src, w->dst, JR_COPIED, NULL);
        return;
    }
    /* create under a temp name next to the target, then rename over it */
    char tmp[PATHMAX + 200], tag[160];
    tmp_tag(w, tag, sizeof tag);
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
    jobrec_row(j, w->id, e, w->src, w->dst, JR_COPIED, NULL);
    return;
fail:
    jobrec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
    job_fail(j, EXIT_FAIL, "File copy failed: %s --> %s: %s", w->src, w->dst, ei.msg);
}

static uint64_t chunk_for(struct copyrun *r, const struct entry *e)
{
    const struct options *o = r->j->o;
    unsigned caps = r->j->tfs->ops->caps;
    if (r->n_job < 2 || !(caps & (BE_CAP_PARALLEL_WRITE | BE_CAP_CONCAT_WRITE)) || o->direct)
        return 0;
    if (o->blocks_per_chunk > 0) {
        uint64_t block = e->blocksize >= (1u << 20) ? e->blocksize : (32u << 20);
        uint64_t chunk = block * (uint64_t)o->blocks_per_chunk;
        if (e->size > chunk)
            return chunk;
        return 0;
    }
    if (!(caps & BE_CAP_PARALLEL_WRITE))
        return 0;   /* pieces assembled by concatenation: only when asked (B §6.9) */
    /* a file the stores copy whole on the server (S3 -> S3 on one server) */
    struct be_fs *sfs = r->j->roots[e->root].fs;
    if (sfs->ops == r->j->tfs->ops && sfs->ops->copy_whole && r->global.rate <= 0 &&
        !o->bandwidth_set && sfs->ops->copy_whole(sfs, r->j->tfs))
        return 0;
    /* Split only a file bigger than its fair share of the job: then the
     * other workers would idle while one copies it. Several big files are
     * copied faster whole and side by side (parallel writes into one file
     * serialise on its inode lock on ext4). */
    if (e->size >= r->chunk_min && e->size > r->j->plan_bytes / (uint64_t)r->n_job)
        return r->chunk_size;
    return 0;
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
    jobrec_pause_point(j, "copying");
    if (job_src_path(j, e, w->src, sizeof w->src) || job_path(j->work, e, w->dst, sizeof w->dst)) {
        job_fail(j, EXIT_FAIL, "path too long below '%s'", j->work);
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
        job_fail(j, EXIT_FAIL, "cannot read target: %s", ei.msg);
        return;
    }
    /* type conflicts are never ignorable (B §5 step 3) */
    if (texists && (ts.type == BE_DIR) != (e->type == BE_DIR)) {
        job_fail(j, EXIT_FAIL, "Can't replace %s. Target is %s, Source is %s", w->dst,
                 type_word(ts.type), type_word((enum be_type)e->type));
        return;
    }
    if (e->type == BE_DIR) {
        job_count(j, C_DIR_COPY, 1);
        if (!texists)
            dry(j, "MKDIR %s", w->dst);
        if (j->o->dry_run || texists) {
            jobrec_row(j, w->id, e, w->src, w->dst, texists ? JR_DIR_EXISTS : JR_MKDIR, NULL);
            return;
        }
        if ((rc = do_mkdir(w, w->dst, &ei))) {
            jobrec_row(j, w->id, e, w->src, w->dst, JR_FAILED, ei.msg);
            job_fail(j, EXIT_FAIL, "mkdir failed for %s: %s", w->dst, ei.msg);
        } else {
            jobrec_row(j, w->id, e, w->src, w->dst, JR_MKDIR, NULL);
        }
        return;
    }
    if (e->type == BE_SYMLINK) {
        process_symlink(w, e, &ts, texists);
        return;
    }
    if (e->type != BE_FILE) {
        jobrec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED, "not a regular file, directory or symbolic link");
        job_error(j, "skipping '%s': not a regular file, directory or symbolic link", w->src);
        return;
    }
    enum action act = ACT_COPY;
    if (texists && (rc = decide(w, e, w->src, w->dst, &ts, tt, &act, &ei))) {
        record_result(w, e, w->src, w->dst, rc, true, &ei, 0, false, 0);
        return;
    }
    if (act == ACT_SKIP) {
        jobrec_row(j, w->id, e, w->src, w->dst, JR_SKIPPED, w->why);
        job_count(j, C_SKIP, 1);
        job_count(j, C_BYTESSKIPPED, e->size);
        wlog(w, "SKIP: %s", w->src);
        if (j->o->verbose)
            wlog(w, "FILE_SKIPPED: source=%s, size=%" PRIu64 " --> target=%s, size=%" PRIu64,
                 w->src, e->size, w->dst, ts.size);
        dry(j, "SKIP %s -> %s", w->src, w->dst);
        if ((rc = apply_attrs(w, e, w->src, w->dst, false, &ts, &ei)))
            job_fail(j, EXIT_FAIL, "cannot preserve attributes of %s: %s", w->dst, ei.msg);
        return;
    }
    if (j->o->dry_run) {
        jobrec_row(j, w->id, e, w->src, w->dst, act == ACT_APPEND ? JR_APPENDED : JR_COPIED, NULL);
        job_count(j, C_COPY, 1);
        job_count(j, C_BYTESEXPECTED, e->size);
        job_count(j, C_BYTESCOPIED, act == ACT_APPEND ? e->size - ts.size : e->size);
        dry(j, "%s %s -> %s", act == ACT_APPEND ? "APPEND" : "COPY", w->src, w->dst);
        return;
    }
    r = (struct copyrun *)j->workq_ctx;
    struct xfer x = {.r = r, .sfs = j->roots[e->root].fs, .tfs = j->tfs, .src = w->src,
                     .dst = w->dst, .size = e->size};
    unsigned pmask = copy_preserve_mask(j, false);
    if (pmask & (PRESERVE_B | PRESERVE_C))
        x.blocksize = e->blocksize;       /* B §7: b (and c) apply at creation */
    if (pmask & PRESERVE_R)
        x.replication = e->replication;
    bool readside = false;
    uint64_t chunk = act == ACT_COPY ? chunk_for(r, e) : 0;
    if (chunk) {
        if ((rc = copy_chunked(w, &x, e, chunk, &ei)))
            record_result(w, e, w->src, w->dst, rc, false, &ei, texists ? ts.size : 0, false, 0);
        return;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        err_clear(&ei);
        if (act == ACT_APPEND)
            rc = append_tail(w, &x, e, ts.size, &readside, &ei);
        else
            rc = copy_whole(w, &x, e, &readside, &ei);
        if (!rc || !err_should_retry(rc, &ei) || attempt == 2 || atomic_load(&w->j->user_cancel))
            break;
        backoff(r, attempt);
        if (act == ACT_APPEND) {
            /* B §6.3: the retry re-decides */
            struct be_stat t2;
            if (j->tfs->ops->stat(j->tfs, w->dst, &t2, NULL) == ERR_OK && t2.size != ts.size)
                act = ACT_COPY;
        }
    }
    record_result(w, e, w->src, w->dst, rc, readside, &ei, texists ? ts.size : 0,
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

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* Workers of this process; under MPI, -m is split over the ranks (dist.h),
 * *base is the job-wide index of the first one, *bw_share this process's
 * part of --global-bandwidth. */
static int workers_for(const struct job *j, int *base, double *bw_share)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    int autow = env_int("DISTCP_WORKERS", (int)(ncpu * 4 < 8 ? 8 : ncpu * 4));
    int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
    *base = 0;
    *bw_share = 1.0;
    if (job_dist)
        return job_dist->workers(job_dist, j, m, autow, base, bw_share);
    return m < autow ? m : autow;
}

static long def_long(const struct options *o, const char *key, long dflt)
{
    const char *v = options_def(o, key);
    return v && *v ? atol(v) : dflt;
}

/* B §10: the dynamic strategy's chunk arithmetic, and its one observable
 * effect: too many chunks fail the job before anything is copied. */
static int dynamic_check(struct job *j)
{
    const struct options *o = j->o;
    if (o->strategy != STRATEGY_DYNAMIC || dist_rank() != 0)
        return EXIT_OK;
    long m = o->max_maps < 1 ? 1 : o->max_maps;
    long records = (long)(j->plan_files + j->plan_dirs);
    long ratio_dflt = def_long(o, "distcp.dynamic.split.ratio", 2);
    long ideal = def_long(o, "distcp.dynamic.max.chunks.ideal", 100);
    long min_rec = def_long(o, "distcp.dynamic.min.records_per_chunk", 5);
    long tolerable = def_long(o, "distcp.dynamic.max.chunks.tolerable", 400);
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
        job_fail(j, EXIT_FAIL, "Too many chunks created with splitRatio:%ld, numMaps:%ld. "
                 "Reduce numMaps or decrease split-ratio to proceed.", ratio, m);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int copy_run(struct job *j)
{
    struct copyrun r;
    struct errinfo ei = {0};
    int status = EXIT_OK;
    memset(&r, 0, sizeof r);
    if ((status = dynamic_check(j)))
        return status;
    int wbase = 0;
    double bw_share = 1.0;
    r.j = j;
    r.n = workers_for(j, &wbase, &bw_share);
    r.fail_read = getenv("DISTCP_TEST_FAIL_READ");
    r.fail_write = getenv("DISTCP_TEST_FAIL_WRITE");
    const char *rd = options_def(j->o, "distcp.copy.retry.delay.ms");
    r.retry_delay_ms = rd ? (unsigned)atoi(rd) : 500;
    long cbs = j->o->copy_buffer_size;
    bool cbs_given = cbs != 8192 || options_def(j->o, "distcp.copy.buffer.size");
    r.bufsize = cbs_given ? (size_t)cbs : SMALL_BUF;
    r.chunk_min = (uint64_t)env_int("DISTCP_CHUNK_MIN_MB", 256) << 20;
    r.chunk_size = (uint64_t)env_int("DISTCP_CHUNK_MB", 64) << 20;
    r.n_job = r.n;
    r.fail_chunk_rank = -1;
    if (job_dist && job_dist->chunk_offer && j->tfs->ops->wshare && r.n > 0) {
        /* MPI: a big file's chunks go to every rank's workers */
        int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
        int all = job_dist->size * r.n;
        r.share_chunks = true;
        r.n_job = m < all ? m : all;
        if (r.n_job < r.n)
            r.n_job = r.n;
        const char *fc = getenv("DISTCP_TEST_FAIL_CHUNK");
        if (fc && *fc)
            r.fail_chunk_rank = atoi(fc);
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
        job_fail(j, EXIT_FAIL, "out of memory");
        status = EXIT_FAIL;
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
            job_fail(j, EXIT_FAIL, "out of memory allocating copy buffers");
            status = EXIT_FAIL;
            goto out;
        }
        throttle_init(&w->thr, j->o->bandwidth_set ? j->o->bandwidth_mb * 1048576.0 : 0, 0);
        if (j->log_dir) {
            char p[PATHMAX];
            snprintf(p, sizeof p, "%s/part-m-%05d", j->log_dir, wbase + i);
            w->log = fopen(p, "a");
            if (!w->log) {
                job_fail(j, EXIT_FAIL, "cannot create log file '%s': %s", p, strerror(errno));
                status = EXIT_FAIL;
                goto out;
            }
        }
    }
    if (r.q->ops->start(r.q, r.n, exec_batch, &r)) {
        job_fail(j, EXIT_FAIL, "cannot start copy workers");
        status = EXIT_FAIL;
        goto out;
    }
    /* produce: batches of up to 256 entries / 16 MiB of data, each entry
     * with its target's status when the target was listed (join.c); under
     * MPI only rank 0 produces, the others execute what it sends */
    if (dist_rank() == 0) {
        struct join *jn = NULL;
        struct plan_iter *it = NULL;
        if (join_open(j, &jn) == EXIT_OK && !(it = plan_iter_new(j->plan, &ei)))
            job_fail(j, EXIT_FAIL, "%s", ei.msg);
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
                if (jobrec_done_earlier(j, e->seq)) {
                    /* finished and journaled by an earlier run: never again */
                    char sp[PATHMAX];
                    if (!job_src_path(j, e, sp, sizeof sp))
                        jobrec_row(j, JR_MAIN_WORKER, e, sp, NULL, JR_DONE_EARLIER, NULL);
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
                        job_fail(j, EXIT_FAIL, "out of memory");
                        break;
                    }
                    wbatch_add_t(b, e, tp, jn != NULL);
                }
            }
            if (b)
                r.q->ops->push(r.q, b);
            if (err)
                job_fail(j, EXIT_FAIL, "cannot read the listing: %s", err_str(err));
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

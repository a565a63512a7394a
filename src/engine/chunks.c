/* chunks.c - big files in chunks (spec B §6.9, DESIGN "chunks").
 *
 * The worker that decides to copy a big file opens the writer, posts the
 * other chunks as help tasks to the work queue, copies the first itself;
 * the last chunk to finish verifies and commits. Under MPI, with a store
 * whose writers can be shared (backend.h wshare), the writer is shared and
 * chunks 1.. are offered to every rank (dist.h): other ranks join the
 * writer, copy their range (copy_chunk_exec) and send a receipt; receipts
 * reach this rank's main thread (copy_chunk_receipt), and whichever
 * finishes last, a chunk or a receipt, verifies and commits.
 *
 * Invariants: a struct bigfile lives from copy_chunked() until its last
 * chunk or receipt (b->remaining reaches 0) finishes it; the first failure
 * of any chunk is the file's failure.
 *
 * Threading: chunks run on any worker; bigfile's shared fields are atomics
 * or under b->lock; receipts run on the main thread. */
#include "engine/chunks.h"
#include "engine/testpoint.h"
#include "engine/copy_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dist.h"
#include "engine/policy.h"
#include "util/checksum.h"

uint64_t copy_chunk_for(struct copyrun *r, const struct entry *e)
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
            rc = copy_finalize(w, &x, b->e, b->wr, ok, crc, &ei);
            if (!rc) {
                rc = copy_commit(w, &x, b->e, b->wr, &ei);
                b->wr = NULL;
            }
        }
    } else if (atomic_load(&b->failed)) {
        ei = b->ei;
    }
    if (b->wr)
        b->tfs->ops->abort(b->wr);
    copy_record_result(w, b->e, b->src, b->dst, rc, readside, &ei, 0, false, 0);
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
            if (!rc || policy_decide(rc, &ei, readside ? SIDE_READ : SIDE_WRITE, w->j->o, attempt) != POLICY_RETRY ||
                atomic_load(&w->j->user_cancel))
                break;
            policy_backoff(b->r->retry_delay_ms, attempt, true);
        }
        if (rc) {
            bigfile_fail(b, &ei, readside);
        } else {
            b->crcs[idx] = crc;
            if (!crc_ok)
                atomic_store(&b->crc_ok, false);
            if (job_dist && w->j->o->verbose)
                copy_wlog(w, "CHUNK_COPIED: source=%s, chunk=%" PRIu32 ", offset=%" PRIu64 ", length=%" PRIu64 ", rank=%d",
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
int copy_chunked(struct wctx *w, struct xfer *x, const struct entry *e,
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
        if ((rc = copy_open_writer(w, x, true, &b->wr, ei)))
            goto fail;
        uint64_t align = 1;
        struct errinfo e2 = {0};
        if (x->tfs->ops->wshare(b->wr, tok, TOKEN_MAX, &align, &e2) == ERR_OK) {
            shared = true;
            if (align > 1)
                chunk = (chunk + align - 1) / align * align;
        }
    } else if ((rc = copy_open_writer(w, x, false, &b->wr, ei))) {
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
    struct errinfo fei = {0};
    bool fault = r->test_chunks &&
                 engine_testhooks->fail_chunk(dist_rank(), w->dst, idx, &fei) != ERR_OK;
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
        if (!rc && fault) {
            ei = fei;
            rc = fei.code;
        }
        if (rc) {
            j->tfs->ops->wjoin_end(jw, false, NULL, 0, NULL);
        } else if ((rc = j->tfs->ops->wjoin_end(jw, true, rdata, RCPT_DATA_MAX, &ei))) {
            readside = false;
        }
again:
        if (!rc || policy_decide(rc, &ei, readside ? SIDE_READ : SIDE_WRITE, j->o, attempt) != POLICY_RETRY ||
            atomic_load(&j->user_cancel))
            break;
        policy_backoff(r->retry_delay_ms, attempt, true);
    }
    if (!rc && j->o->verbose)
        copy_wlog(w, "CHUNK_COPIED: source=%s, chunk=%" PRIu32 ", offset=%" PRIu64 ", length=%" PRIu64 ", rank=%d",
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


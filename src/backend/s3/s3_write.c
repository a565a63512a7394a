/* s3_write.c - S3 writers and server-side copies.
 *
 * Bytes are gathered per part (8 MiB, or more so that no object needs over
 * 10,000 parts: the size hint / 10,000 rounded up to a MiB); a part goes out
 * (UploadPart) as soon as all its bytes are there, the first one starting
 * the multipart upload. An object that fits one part is one PutObject at
 * commit. Parts are filled and uploaded by several threads at once
 * (BE_CAP_PARALLEL_WRITE: the engine's chunk workers write disjoint ranges);
 * the bytes of a part are tracked as covered intervals, so a range written
 * twice (a retried chunk) is not counted twice. Commit uploads the last
 * part, checks that every part is there and completes the upload; nothing is
 * visible under the key before (a multipart upload is invisible until
 * CompleteMultipartUpload). Any failure, and abort, sends
 * AbortMultipartUpload (servers without it, such as s3rver, are tolerated).
 * An upload is announced to the engine (be_create_opts.pending, token
 * "<upload id> <key>") before its first part goes out and again once it is
 * completed or aborted, so that one left by a killed process can be aborted
 * later (s3_abort_pending). Direct writers (-direct) first put an empty
 * object under the key, as a file written in place would appear. distcp
 * metadata becomes x-amz-meta-distcp-<key> headers; when it arrives after a
 * multipart upload began, commit re-copies the object onto itself with the
 * metadata (CopyObject, REPLACE; over the copy threshold, and always over 5
 * GiB, by UploadPartCopy).
 *
 * Server-side copies (copy_range: a whole object, same endpoint and keys)
 * happen at commit and live in s3_copy.c.
 *
 * Memory: at most ACTIVE_MAX parts are being filled at once per writer (a
 * part buffer grows by doubling up to the part size).
 *
 * Threading: write() may run concurrently for disjoint ranges; the writer's
 * lock guards the part table, copies into part buffers and the upload id;
 * uploads run outside it. create/finish/wsetmeta/commit/abort are called by
 * one thread when no write() runs. */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COPY_MAX (5ull << 30)

void s3_apart_free(struct apart *p)
{
    if (p) {
        free(p->buf);
        free(p);
    }
}

void s3_writer_free(struct s3_writer *w)
{
    if (!w)
        return;
    free(w->path);
    free(w->key);
    for (unsigned i = 0; i < w->nact; i++)
        s3_apart_free(w->act[i]);
    free(w->upload_id);
    if (w->etags)
        for (unsigned i = 0; i < PART_COUNT_MAX; i++)
            free(w->etags[i]);
    free(w->etags);
    for (unsigned i = 0; i < w->nmeta; i++)
        free(w->meta[i]);
    free(w->copy_key);
    free(w->copy_etag);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

/* Simple PUT (with the metadata when with_meta). */
static int put_object(struct s3_writer *w, const void *data, size_t n, bool with_meta,
                      struct errinfo *ei)
{
    struct http_xresp r = {0};
    const char *hdr[META_MAX + 1];
    size_t nh = 0;
    hdr[nh++] = "Content-Type: application/octet-stream";
    for (unsigned i = 0; with_meta && i < w->nmeta; i++)
        hdr[nh++] = w->meta[i];
    struct s3_call c = { .method = "PUT", .key = w->key, .headers = hdr, .nheaders = nh,
                         .body = data, .blen = n, .what = w->path };
    int rc = s3_do(w->fs, &c, &r, ei);
    if (!rc && r.status != 200)
        rc = s3_error(w->fs, &r, "write", w->path, ei);
    http_xresp_free(&r);
    return rc;
}

/* CreateMultipartUpload with the metadata known now. Caller holds no lock. */
static int initiate(struct s3_writer *w, char **upload_id, struct errinfo *ei)
{
    struct http_xresp r = {0};
    const char *hdr[META_MAX + 1];
    size_t nh = 0;
    *upload_id = NULL;
    hdr[nh++] = "Content-Type: application/octet-stream";
    pthread_mutex_lock(&w->lock);
    char *meta[META_MAX];
    unsigned nmeta = w->nmeta;
    for (unsigned i = 0; i < nmeta; i++)
        meta[i] = strdup(w->meta[i]);
    pthread_mutex_unlock(&w->lock);
    int rc = ERR_OK;
    for (unsigned i = 0; i < nmeta; i++) {
        if (!meta[i])
            rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        hdr[nh++] = meta[i];
    }
    struct s3_call c = { .method = "POST", .key = w->key, .query = "uploads=", .headers = hdr,
                         .nheaders = nh, .what = w->path };
    if (!rc)
        rc = s3_do(w->fs, &c, &r, ei);
    if (!rc && r.status != 200)
        rc = s3_error(w->fs, &r, "start an upload of", w->path, ei);
    if (!rc) {
        *upload_id = r.body ? s3_xml_find(r.body, r.len, "UploadId") : NULL;
        if (!*upload_id || !**upload_id) {
            free(*upload_id);
            *upload_id = NULL;
            rc = err_setx(ei, ERR_PROTOCOL, "cannot write '%s': no UploadId in the answer "
                          "to CreateMultipartUpload", w->path);
        }
    }
    for (unsigned i = 0; i < nmeta; i++)
        free(meta[i]);
    http_xresp_free(&r);
    return rc;
}

/* "<upload id> <key>": what s3_abort_pending needs (malloc'd). */
static char *pending_token(const char *upload_id, const char *key)
{
    char *t = NULL;
    return asprintf(&t, "%s %s", upload_id, key) < 0 ? NULL : t;
}

/* Tell the engine the upload is open (open) or gone (!open). */
int s3_announce(struct s3_writer *w, bool open, struct errinfo *ei)
{
    if (!w->pending || !w->upload_id || open == w->announced)
        return ERR_OK;
    char *t = pending_token(w->upload_id, w->key);
    int rc;
    if (!t)
        return err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
    rc = w->pending(w->pending_arg, t, open, open ? ei : NULL);
    free(t);
    if (!rc || !open)
        w->announced = open;
    return open ? rc : ERR_OK;
}


/* The upload id, starting the upload once (other threads wait for it). */
int s3_ensure_upload(struct s3_writer *w, struct errinfo *ei)
{
    pthread_mutex_lock(&w->lock);
    while (w->initiating)
        pthread_cond_wait(&w->cond, &w->lock);
    if (w->upload_id || w->init_rc) {
        int rc = w->init_rc;
        pthread_mutex_unlock(&w->lock);
        return rc ? err_setx(ei, rc, "cannot write '%s': the multipart upload could not "
                             "start", w->path) : ERR_OK;
    }
    w->initiating = true;
    pthread_mutex_unlock(&w->lock);
    char *id = NULL;
    int rc = initiate(w, &id, ei);
    pthread_mutex_lock(&w->lock);
    w->upload_id = id;
    pthread_mutex_unlock(&w->lock);
    if (!rc && (rc = s3_announce(w, true, ei))) {
        /* not recorded: it must not hold data (nobody could clean it up) */
        s3_abort_upload(w);
        pthread_mutex_lock(&w->lock);
        free(w->upload_id);
        w->upload_id = NULL;
        pthread_mutex_unlock(&w->lock);
    }
    pthread_mutex_lock(&w->lock);
    w->initiating = false;
    w->init_rc = rc;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* UploadPart of p (len bytes); records its ETag. p is owned by the caller. */
int s3_upload_part(struct s3_writer *w, struct apart *p, size_t len, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = NULL;
    int rc;
    if ((rc = s3_ensure_upload(w, ei)))
        return rc;
    eid = s3_uri_encode(w->upload_id, false);
    if (!eid || asprintf(&q, "partNumber=%u&uploadId=%s", p->idx + 1, eid) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        goto out;
    }
    struct s3_call c = { .method = "PUT", .key = w->key, .query = q, .body = p->buf,
                         .blen = len, .what = w->path };
    if ((rc = s3_do(w->fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(w->fs, &r, "write", w->path, ei);
        goto out;
    }
    char *etag = http_xresp_header(&r, "ETag");
    if (!etag || strlen(etag) > 100) {
        free(etag);
        rc = err_setx(ei, ERR_PROTOCOL, "cannot write '%s': no usable ETag for part %u",
                      w->path, p->idx + 1);
        goto out;
    }
    pthread_mutex_lock(&w->lock);
    free(w->etags[p->idx]);
    w->etags[p->idx] = etag;
    pthread_mutex_unlock(&w->lock);
out:
    http_xresp_free(&r);
    free(q);
    free(eid);
    return rc;
}

int s3_complete(struct s3_writer *w, unsigned nparts, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = NULL, *body = NULL;
    size_t cap = 64 + (size_t)nparts * 160, len = 0;
    int rc = ERR_OK;
    eid = s3_uri_encode(w->upload_id, false);
    body = malloc(cap);
    if (!eid || !body || asprintf(&q, "uploadId=%s", eid) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        goto out;
    }
    len += (size_t)snprintf(body + len, cap - len, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < nparts; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
                                i + 1, w->etags[i]);
    len += (size_t)snprintf(body + len, cap - len, "</CompleteMultipartUpload>");
    const char *hdr[] = { "Content-Type: application/xml" };
    struct s3_call c = { .method = "POST", .key = w->key, .query = q, .headers = hdr,
                         .nheaders = 1, .body = body, .blen = len, .what = w->path };
    if ((rc = s3_do(w->fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(w->fs, &r, "complete the upload of", w->path, ei);
        goto out;
    }
    char *code = r.body ? s3_xml_find(r.body, r.len, "Code") : NULL;
    if (code) {   /* 200 with an <Error> body */
        char *msg = s3_xml_find(r.body, r.len, "Message");
        rc = err_setx(ei, ERR_IO, "cannot complete the upload of '%s': %s%s%s (in a 200 "
                      "answer)", w->path, code, msg ? ": " : "", msg ? msg : "");
        free(msg);
        free(code);
    }
out:
    http_xresp_free(&r);
    free(q);
    free(eid);
    free(body);
    return rc;
}

/* AbortMultipartUpload of upload `id` of `key`: ERR_OK, ERR_NOT_FOUND (no
 * such upload: completed or aborted before), ERR_UNSUPPORTED (the server
 * has no AbortMultipartUpload, as s3rver: 405/501), or another error. */
static int abort_by_id(struct s3_fs *fs, const char *path, const char *key, const char *id,
                       struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = s3_uri_encode(id, false);
    int rc;
    if (!eid || asprintf(&q, "uploadId=%s", eid) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot abort the upload of '%s': out of memory", path);
        goto out;
    }
    struct s3_call c = { .method = "DELETE", .key = key, .query = q, .what = path };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status == 200 || r.status == 204)
        goto out;
    char *code = r.body ? s3_xml_find(r.body, r.len, "Code") : NULL;
    if (r.status == 405 || r.status == 501 || (code && (!strcmp(code, "NotImplemented") ||
                                                        !strcmp(code, "MethodNotAllowed"))))
        rc = err_setx(ei, ERR_UNSUPPORTED, "cannot abort the multipart upload %s of '%s': the "
                      "server does not support AbortMultipartUpload (%s, HTTP %ld)", id, path,
                      code ? code : "no code", r.status);
    else if (r.status == 404 || (code && !strcmp(code, "NoSuchUpload")))
        rc = err_setx(ei, ERR_NOT_FOUND, "cannot abort the multipart upload %s of '%s': no "
                      "such upload (completed or aborted before)", id, path);
    else
        rc = s3_error(fs, &r, "abort the multipart upload of", path, ei);
    free(code);
out:
    http_xresp_free(&r);
    free(q);
    free(eid);
    return rc;
}

/* Best effort (s3rver lacks Abort); the upload is announced gone unless the
 * failure is worth a later retry. Returns abort_by_id's code. */
int s3_abort_upload(struct s3_writer *w)
{
    if (!w->upload_id)
        return ERR_OK;
    int rc = abort_by_id(w->fs, w->path, w->key, w->upload_id, NULL);
    if (rc == ERR_OK || rc == ERR_NOT_FOUND || rc == ERR_UNSUPPORTED)
        s3_announce(w, false, NULL);
    return rc;
}

int s3_abort_pending(struct be_fs *f, const char *token, struct errinfo *ei)
{
    struct s3_fs *fs = (struct s3_fs *)f;
    const char *sp = token ? strchr(token, ' ') : NULL;
    char *id = NULL, *path = NULL;
    int rc;
    if (!sp || sp == token || !sp[1])
        return err_setx(ei, ERR_INVAL, "cannot abort a multipart upload: malformed token '%s'",
                        token ? token : "");
    if (!(id = strndup(token, (size_t)(sp - token))) || asprintf(&path, "/%s", sp + 1) < 0) {
        path = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot abort a multipart upload: out of memory");
        goto out;
    }
    rc = abort_by_id(fs, path, sp + 1, id, ei);
out:
    free(id);
    free(path);
    return rc;
}

int s3_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
              struct be_file **out, struct errinfo *ei)
{
    struct s3_fs *fs = (struct s3_fs *)f;
    struct s3_writer *w = calloc(1, sizeof *w);
    bool dir = false;
    int rc = ERR_OK;
    *out = NULL;
    if (!w)
        return err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (!(w->path = strdup(path)) || !(w->key = s3_key_of(path)) ||
        !(w->etags = calloc(PART_COUNT_MAX, sizeof *w->etags))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
        goto out;
    }
    w->fs = fs;
    w->direct = opts && opts->direct;
    if (!*w->key) {
        rc = err_set(ei, ERR_IS_DIR, "cannot create '%s'", path);
        goto out;
    }
    if (!(opts && opts->type_checked) && (rc = s3_dir_probe(fs, path, w->key, &dir, NULL, ei)))
        goto out;
    if (dir) {
        rc = err_set(ei, ERR_IS_DIR, "cannot create '%s'", path);
        goto out;
    }
    w->size_hint = opts ? opts->size_hint : 0;
    if (opts) {
        w->pending = opts->pending;
        w->pending_arg = opts->pending_arg;
    }
    w->part_size = s3_part_size(w->size_hint);
    if (w->direct && (rc = put_object(w, NULL, 0, false, ei)))
        goto out;
    *out = (struct be_file *)w;
    w = NULL;
out:
    s3_writer_free(w);
    return rc;
}

uint64_t s3_part_size(uint64_t size)
{
    uint64_t ps = PART_MIN;
    if (size > ps * PART_COUNT_MAX)   /* ceil(size / 10,000), rounded up to a MiB */
        ps = ((size + PART_COUNT_MAX - 1) / PART_COUNT_MAX + (1ull << 20) - 1) &
             ~((1ull << 20) - 1);
    return ps;
}

/* Bytes of part idx when the object ends at `end`. */
uint64_t s3_part_len(const struct s3_writer *w, unsigned idx, uint64_t end)
{
    uint64_t start = (uint64_t)idx * w->part_size;
    if (end <= start)
        return 0;
    return end - start < w->part_size ? end - start : w->part_size;
}

static uint64_t covered(const struct apart *p)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < p->niv; i++)
        n += p->iv[i].b - p->iv[i].a;
    return n;
}

/* Merge [a, b) into p's sorted, disjoint intervals. */
static int cover(struct apart *p, uint64_t a, uint64_t b)
{
    unsigned i = 0;
    while (i < p->niv && p->iv[i].b < a)
        i++;
    unsigned j = i;
    while (j < p->niv && p->iv[j].a <= b) {
        if (p->iv[j].a < a)
            a = p->iv[j].a;
        if (p->iv[j].b > b)
            b = p->iv[j].b;
        j++;
    }
    /* intervals i..j-1 merge into one */
    if (i == j) {
        if (p->niv == IV_MAX)
            return ERR_LIMIT;
        memmove(&p->iv[i + 1], &p->iv[i], (p->niv - i) * sizeof *p->iv);
        p->niv++;
    } else if (j - i > 1) {
        memmove(&p->iv[i + 1], &p->iv[j], (p->niv - j) * sizeof *p->iv);
        p->niv -= j - i - 1;
    }
    p->iv[i].a = a;
    p->iv[i].b = b;
    return ERR_OK;
}

/* Copy one piece that lies inside one part; upload the part when full.
 * Called without the lock. */
static int write_piece(struct s3_writer *w, uint64_t off, const unsigned char *buf, size_t n,
                       struct errinfo *ei)
{
    unsigned idx = (unsigned)(off / w->part_size);
    uint64_t poff = off - (uint64_t)idx * w->part_size;
    struct apart *p = NULL, *full = NULL;
    size_t full_len = 0;
    int rc = ERR_OK;
    pthread_mutex_lock(&w->lock);
    unsigned i;
    for (i = 0; i < w->nact; i++)
        if (w->act[i]->idx == idx)
            break;
    if (i < w->nact) {
        p = w->act[i];
    } else {
        if (w->nact == ACTIVE_MAX) {
            rc = err_setx(ei, ERR_LIMIT, "cannot write '%s': more than %d parts being filled "
                          "at once", w->path, ACTIVE_MAX);
            goto out;
        }
        if (!(p = calloc(1, sizeof *p))) {
            rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
            goto out;
        }
        p->idx = idx;
        w->act[w->nact++] = p;
    }
    if (poff + n > p->cap) {
        size_t nc = p->cap ? p->cap : 65536;
        while (nc < poff + n)
            nc *= 2;
        if (nc > w->part_size)
            nc = (size_t)w->part_size;
        unsigned char *b = realloc(p->buf, nc);
        if (!b) {
            rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
            goto out;
        }
        p->buf = b;
        p->cap = nc;
    }
    memcpy(p->buf + poff, buf, n);
    if (cover(p, poff, poff + n)) {
        rc = err_setx(ei, ERR_LIMIT, "cannot write '%s': part %u written in more than %d "
                      "pieces", w->path, idx + 1, IV_MAX);
        goto out;
    }
    if (off + n > w->end)
        w->end = off + n;
    /* a full part goes out now; so does the last one (by the size hint) of
     * an object that needs several parts */
    uint64_t have = covered(p);
    bool last_by_hint = w->size_hint > w->part_size &&
                        have == s3_part_len(w, idx, w->size_hint) && p->niv == 1 &&
                        p->iv[0].a == 0 && w->end <= w->size_hint;
    if (have == w->part_size || last_by_hint) {
        full = p;
        full_len = (size_t)have;
        w->act[i] = w->act[--w->nact];
        w->inflight++;
    }
out:
    pthread_mutex_unlock(&w->lock);
    if (full) {
        rc = s3_upload_part(w, full, full_len, ei);
        s3_apart_free(full);
        pthread_mutex_lock(&w->lock);
        w->inflight--;
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

int s3_write(struct be_file *f, uint64_t off, const void *buf, size_t n, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    const unsigned char *p = buf;
    int rc = ERR_OK;
    while (n && !rc) {
        if (off / w->part_size >= PART_COUNT_MAX)
            return err_setx(ei, ERR_LIMIT, "cannot write '%s': more than %d parts of %llu "
                            "bytes", w->path, PART_COUNT_MAX,
                            (unsigned long long)w->part_size);
        uint64_t room = w->part_size - off % w->part_size;
        size_t k = n < room ? n : (size_t)room;
        rc = write_piece(w, off, p, k, ei);
        off += k;
        p += k;
        n -= k;
    }
    return rc;
}

int s3_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    (void)ei;
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->mode = 0666;
    st->size = w->end;
    st->uid = st->gid = BE_ID_NONE;
    /* S3 sets Last-Modified at commit; report the time now (whole seconds)
     * so the engine records its digest: the object is immutable, and
     * getmeta() checks a digest against the object's own Last-Modified */
    st->mtime_ns = (int64_t)time(NULL) * 1000000000LL;
    return ERR_OK;
}

int s3_wsetmeta(struct be_file *f, const char *key, const char *value, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    for (const char *s = key; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return err_setx(ei, ERR_INVAL, "cannot record metadata '%s' on '%s': bad name",
                            key, w->path);
    for (const char *s = value; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return err_setx(ei, ERR_INVAL, "cannot record metadata '%s' on '%s': the value "
                            "is not printable ASCII", key, w->path);
    if (w->upload_id && w->end > COPY_MAX && w->fs->no_part_copy)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot record metadata '%s' on '%s': the "
                        "upload has begun, the object is over 5 GiB and the server has no "
                        "UploadPartCopy", key, w->path);
    size_t kl = strlen(key), pl = strlen(S3_META_PREFIX);
    unsigned i;
    for (i = 0; i < w->nmeta; i++)
        if (!strncmp(w->meta[i] + pl, key, kl) && w->meta[i][pl + kl] == ':')
            break;
    if (i == META_MAX)
        return err_setx(ei, ERR_LIMIT, "cannot record metadata on '%s': more than %d keys",
                        w->path, META_MAX);
    char *h = NULL;
    if (asprintf(&h, S3_META_PREFIX "%s: %s", key, value) < 0)
        return err_setx(ei, ERR_NOMEM, "cannot record metadata on '%s': out of memory", w->path);
    if (i < w->nmeta)
        free(w->meta[i]);
    else
        w->nmeta++;
    w->meta[i] = h;
    if (w->upload_id)
        w->meta_late = true;
    return ERR_OK;
}

/* Multipart: upload what is left, check every part, complete. */
static int commit_multipart(struct s3_writer *w, struct errinfo *ei)
{
    int rc = ERR_OK;
    unsigned nparts = w->end ? (unsigned)((w->end - 1) / w->part_size) + 1 : 0;
    while (w->nact && !rc) {
        struct apart *p = w->act[--w->nact];
        uint64_t want = s3_part_len(w, p->idx, w->end);
        if (p->niv != 1 || p->iv[0].a != 0 || p->iv[0].b != want || p->idx + 1 > nparts)
            rc = err_setx(ei, ERR_INTERNAL, "cannot write '%s': bytes missing in part %u",
                          w->path, p->idx + 1);
        else
            rc = s3_upload_part(w, p, (size_t)want, ei);
        s3_apart_free(p);
    }
    for (unsigned i = 0; !rc && i < nparts; i++)
        if (!w->etags[i])
            rc = err_setx(ei, ERR_INTERNAL, "cannot write '%s': part %u of %u was never "
                          "written", w->path, i + 1, nparts);
    if (!rc)
        rc = s3_complete(w, nparts, ei);
    if (rc) {
        s3_abort_upload(w);
        return rc;
    }
    s3_announce(w, false, NULL);
    if (w->meta_late && w->end > w->fs->copy_threshold && !w->fs->no_part_copy) {
        /* onto itself in parts (over 5 GiB CopyObject cannot); a server
         * without UploadPartCopy gets CopyObject below where it can */
        rc = s3_self_copy_parts(w, ei);
        if (rc != ERR_UNSUPPORTED || w->end > COPY_MAX)
            return rc;
        rc = ERR_OK;
    }
    if (w->meta_late) {
        const char *hdr[META_MAX + 2];
        size_t nh = 0;
        hdr[nh++] = "x-amz-metadata-directive: REPLACE";
        hdr[nh++] = "Content-Type: application/octet-stream";
        for (unsigned i = 0; i < w->nmeta && nh < META_MAX; i++)
            hdr[nh++] = w->meta[i];
        rc = s3_copy_object(w->fs, w->path, w->key, w->key, hdr, nh, ei);
    }
    return rc;
}

int s3_commit(struct be_file *f, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    int rc;
    if (w->copy_key) {
        bool streamed = false;
        rc = s3_commit_copy(w, &streamed, ei);
        if (!streamed || rc) {
            if (rc && w->upload_id)
                s3_abort_upload(w);
            s3_writer_free(w);
            return rc;
        }
    }
    if (!w->upload_id && !w->init_rc && w->end <= w->part_size) {
        struct apart *p = w->nact ? w->act[0] : NULL;
        if (w->nact > 1 || (p && (p->idx || p->niv != 1 || p->iv[0].a || p->iv[0].b != w->end)) ||
            (!p && w->end))
            rc = err_setx(ei, ERR_INTERNAL, "cannot write '%s': bytes missing", w->path);
        else
            rc = put_object(w, p ? p->buf : NULL, (size_t)w->end, true, ei);
    } else {
        rc = commit_multipart(w, ei);
    }
    s3_writer_free(w);
    return rc;
}

void s3_abort(struct be_file *f)
{
    struct s3_writer *w = (struct s3_writer *)f;
    if (!w)
        return;
    if (w->upload_id)
        s3_abort_upload(w);
    s3_writer_free(w);
}


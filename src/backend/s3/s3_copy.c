/* s3_copy.c - server-side copies for the S3 backend: CopyObject (up to the
 * store's copy threshold), UploadPartCopy in copy_part-sized parts above it
 * (the source's metadata carried), the self-copy that records metadata
 * which arrived after a multipart upload began, and the streamed fallback
 * when the server refuses UploadPartCopy (docs/protocols.md §3.5).
 *
 * The copy_range slot only records the source on the writer; the copy
 * happens at commit (s3_commit -> s3_commit_copy), so nothing is visible
 * under the key before.
 *
 * Threading: as s3_write.c says (commit runs on one thread, no write()
 * meanwhile). */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int s3_copy_object(struct s3_fs *fs, const char *path, const char *from_key,
                   const char *to_key, const char *const *extra, size_t nextra,
                   struct errinfo *ei)
{
    return s3_copy_object_from(fs, path, fs->bucket, from_key, to_key, extra, nextra, ei);
}

int s3_copy_object_from(struct s3_fs *fs, const char *path, const char *from_bucket,
                        const char *from_key, const char *to_key, const char *const *extra,
                        size_t nextra, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *src = NULL, *esrc = NULL, *hdr[META_MAX + 2] = {0};
    size_t nh = 0;
    int rc;
    if (nextra > META_MAX)
        return err_setx(ei, ERR_INTERNAL, "cannot copy '%s': too many headers", path);
    if (asprintf(&src, "%s/%s", from_bucket, from_key) < 0) {
        src = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", path);
        goto out;
    }
    esrc = s3_uri_encode(src, true);
    if (!esrc || asprintf(&hdr[nh++], "x-amz-copy-source: /%s", esrc) < 0) {
        rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < nextra; i++)
        hdr[nh++] = strdup(extra[i]);
    struct s3_call c = { .method = "PUT", .key = to_key, .headers = (const char *const *)hdr,
                         .nheaders = nh, .what = path };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(fs, &r, "copy", path, ei);
        goto out;
    }
    char *code = r.body ? s3_xml_find(r.body, r.len, "Code") : NULL;
    if (code) {   /* 200 with an <Error> body */
        rc = err_setx(ei, ERR_IO, "cannot copy '%s': %s (in a 200 answer)", path, code);
        free(code);
    }
out:
    http_xresp_free(&r);
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    free(src);
    free(esrc);
    return rc;
}


static int multipart_copy(struct s3_writer *w, bool *refused, struct errinfo *ei);
static void reset_upload(struct s3_writer *w);

/* The object just completed, copied onto itself in parts with the metadata
 * that came late. ERR_UNSUPPORTED when the server has no UploadPartCopy. */
int s3_self_copy_parts(struct s3_writer *w, struct errinfo *ei)
{
    bool refused = false;
    struct errinfo e2 = {0};
    free(w->copy_key);
    free(w->copy_etag);
    w->copy_etag = NULL;
    if (!(w->copy_key = strdup(w->key)))
        return err_setx(ei, ERR_NOMEM, "cannot record metadata on '%s': out of memory", w->path);
    w->copy_fs = w->fs;
    reset_upload(w);
    int rc = multipart_copy(w, &refused, &e2);
    if (refused) {
        w->fs->no_part_copy = true;
        return err_setx(ei, ERR_UNSUPPORTED, "cannot record metadata on '%s': the object is "
                        "over 5 GiB and the server has no UploadPartCopy", w->path);
    }
    if (rc && ei)
        *ei = e2;
    return rc;
}

/* Server-side copy: only a whole object onto a writer that has nothing yet,
 * on the same server with the same keys; the copy itself happens at commit
 * (CopyObject, or UploadPartCopy over the copy threshold), so nothing is
 * visible before. Anything else: ERR_UNSUPPORTED (the engine streams). */
int s3_copy_range(struct be_file *r, uint64_t roff, struct be_file *wf, uint64_t woff,
                  uint64_t len, uint64_t *done, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)wf;
    struct s3_fs *sfs = NULL;
    const char *key = NULL, *etag = NULL;
    uint64_t size = 0;
    *done = 0;
    s3_reader_source(r, &sfs, &key, &etag, &size);
    if (roff || woff || len != size || !len || w->end || w->nact ||
        w->upload_id || w->copy_key || w->direct || strcmp(sfs->endpoint, w->fs->endpoint) ||
        strcmp(sfs->cred.akid, w->fs->cred.akid) || strcmp(sfs->cred.secret, w->fs->cred.secret))
        return err_setx(ei, ERR_UNSUPPORTED, "cannot copy '%s' on the server: not a whole "
                        "object on the same server", w->path);
    char *src = NULL;
    if (asprintf(&src, "%s/%s", sfs->bucket, key) < 0 || !(w->copy_key = strdup(key)) ||
        (etag && !(w->copy_etag = strdup(etag)))) {
        free(src);
        return err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", w->path);
    }
    free(src);
    w->copy_fs = sfs;
    w->end = len;
    *done = len;
    s3_reader_seek(r, roff + len);
    return ERR_OK;
}

bool s3_copy_whole(struct be_fs *src, struct be_fs *dst)
{
    const struct s3_fs *a = (const struct s3_fs *)src, *b = (const struct s3_fs *)dst;
    return !a->no_part_copy && !b->no_part_copy && !strcmp(a->endpoint, b->endpoint) &&
           !strcmp(a->cred.akid, b->cred.akid) && !strcmp(a->cred.secret, b->cred.secret);
}

/* The fallback of a refused server-side copy: read the source and write it
 * as any data. */
static int stream_copy(struct s3_writer *w, struct errinfo *ei)
{
    struct be_file *rd = NULL;
    char *path = NULL;
    unsigned char *buf = malloc(PART_MIN);
    uint64_t off = 0, want = w->end;
    int rc;
    if (!buf || asprintf(&path, "/%s", w->copy_key) < 0) {
        path = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", w->path);
        goto out;
    }
    w->end = 0;
    if ((rc = s3_reader_open(w->copy_fs, path, &rd, ei)))
        goto out;
    while (!rc && off < want) {
        size_t got = 0;
        if ((rc = s3_reader_read(rd, buf, PART_MIN, &got, ei)))
            break;
        if (!got || off + got > want) {
            rc = err_setx(ei, ERR_SHORT_READ, "cannot copy '%s': the source '%s' changed",
                          w->path, path);
            break;
        }
        rc = s3_write((struct be_file *)w, off, buf, got, ei);
        off += got;
    }
out:
    if (rd)
        s3_reader_close(rd);
    free(path);
    free(buf);
    return rc;
}

/* The source's metadata (x-amz-meta-* lines) as the writer's, for a copy
 * in parts (CopyObject's COPY directive has no UploadPartCopy twin). */
static int source_meta(struct s3_writer *w, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *path = NULL;
    int rc;
    if (asprintf(&path, "/%s", w->copy_key) < 0) {
        path = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", w->path);
        goto out;
    }
    if ((rc = s3_head(w->copy_fs, path, w->copy_key, &r, ei)))
        goto out;
    for (const char *p = r.headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
            ll--;
        if (ll > 11 && !strncasecmp(p, "x-amz-meta-", 11) && memchr(p, ':', ll)) {
            if (w->nmeta == META_MAX) {
                rc = err_setx(ei, ERR_LIMIT, "cannot copy '%s' in parts: the source has more "
                              "than %d metadata keys", w->path, META_MAX);
                goto out;
            }
            char *h = strndup(p, ll);
            if (!h) {
                rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", w->path);
                goto out;
            }
            for (char *q = h; *q != ':'; q++)   /* signed header names are lowercase */
                *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            w->meta[w->nmeta++] = h;
        }
        p = eol ? eol + 1 : NULL;
    }
out:
    http_xresp_free(&r);
    free(path);
    return rc;
}

/* UploadPartCopy of source bytes [off, off + n) as part idx + 1. */
static int upload_part_copy(struct s3_writer *w, unsigned idx, uint64_t off, uint64_t n,
                            struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = NULL, *src = NULL, *esrc = NULL, *hdr[3] = {0};
    size_t nh = 0;
    int rc = ERR_OK;
    eid = s3_uri_encode(w->upload_id, false);
    if (!eid || asprintf(&q, "partNumber=%u&uploadId=%s", idx + 1, eid) < 0)
        q = NULL;
    if (asprintf(&src, "%s/%s", w->copy_fs->bucket, w->copy_key) < 0)
        src = NULL;
    esrc = src ? s3_uri_encode(src, true) : NULL;
    if (!q || !esrc || asprintf(&hdr[nh++], "x-amz-copy-source: /%s", esrc) < 0 ||
        asprintf(&hdr[nh++], "x-amz-copy-source-range: bytes=%llu-%llu",
                 (unsigned long long)off, (unsigned long long)(off + n - 1)) < 0 ||
        (w->copy_etag && asprintf(&hdr[nh++], "x-amz-copy-source-if-match: %s",
                                  w->copy_etag) < 0)) {
        if (nh)
            hdr[--nh] = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot copy '%s': out of memory", w->path);
        goto out;
    }
    struct s3_call c = { .method = "PUT", .key = w->key, .query = q,
                         .headers = (const char *const *)hdr, .nheaders = nh, .what = w->path };
    if ((rc = s3_do(w->fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(w->fs, &r, "copy a part of", w->path, ei);
        goto out;
    }
    char *code = r.body ? s3_xml_find(r.body, r.len, "Code") : NULL;
    char *etag = r.body ? s3_xml_find(r.body, r.len, "ETag") : NULL;
    if (code || !etag || strlen(etag) > 100) {
        rc = err_setx(ei, code ? ERR_IO : ERR_PROTOCOL, "cannot copy part %u of '%s': %s", idx + 1,
                      w->path, code ? code : "no usable ETag in the answer");
        free(etag);
    } else {
        free(w->etags[idx]);
        w->etags[idx] = etag;
    }
    free(code);
out:
    http_xresp_free(&r);
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    free(q);
    free(eid);
    free(src);
    free(esrc);
    return rc;
}

/* A server-side copy in parts: CreateMultipartUpload (with our metadata or
 * the source's), UploadPartCopy of each part, complete. *refused when the
 * server has no UploadPartCopy (s3rver): the caller streams instead. */
static int multipart_copy(struct s3_writer *w, bool *refused, struct errinfo *ei)
{
    uint64_t len = w->end, ps = w->fs->copy_part;
    uint64_t min = ((len + PART_COUNT_MAX - 1) / PART_COUNT_MAX + (1ull << 20) - 1) &
                   ~((1ull << 20) - 1);
    int rc;
    *refused = false;
    if (ps < min)
        ps = min;
    unsigned nparts = (unsigned)((len + ps - 1) / ps), i = 0;
    if (!w->nmeta && (rc = source_meta(w, ei)))
        return rc;
    if ((rc = s3_ensure_upload(w, ei)))
        return rc;
    for (i = 0; i < nparts && !rc; i++) {
        uint64_t off = (uint64_t)i * ps;
        rc = upload_part_copy(w, i, off, len - off < ps ? len - off : ps, ei);
    }
    if (!rc)
        rc = s3_complete(w, nparts, ei);
    if (rc) {
        s3_abort_upload(w);
        *refused = rc == ERR_UNSUPPORTED && i == 1;
        return rc;
    }
    s3_announce(w, false, NULL);
    return ERR_OK;
}

/* Forget a refused copy's upload so that the streamed copy starts afresh
 * (a record still open stays for resume / job clean to abort). */
static void reset_upload(struct s3_writer *w)
{
    free(w->upload_id);
    w->upload_id = NULL;
    w->init_rc = 0;
    w->announced = false;
    for (unsigned i = 0; i < PART_COUNT_MAX; i++) {
        free(w->etags[i]);
        w->etags[i] = NULL;
    }
}

/* Commit of a server-side copy: CopyObject with our metadata (REPLACE), or
 * the source's (COPY: its distcp digest stays true of the same bytes). */
int s3_commit_copy(struct s3_writer *w, bool *streamed, struct errinfo *ei)
{
    const char *hdr[META_MAX + 3];
    char *ifm = NULL;
    size_t nh = 0;
    *streamed = false;
    if (w->end > w->fs->copy_threshold) {
        bool refused = false;
        struct errinfo e3 = {0};
        int rc = w->fs->no_part_copy ? ERR_UNSUPPORTED : multipart_copy(w, &refused, &e3);
        if (rc == ERR_OK)
            return ERR_OK;
        if (!refused && !w->fs->no_part_copy) {
            if (ei)
                *ei = e3;
            return rc;
        }
        w->fs->no_part_copy = true;   /* the server has no UploadPartCopy: stream */
        reset_upload(w);
        if (!w->nmeta)
            source_meta(w, NULL);     /* best effort: the copy keeps the metadata */
        *streamed = true;
        return stream_copy(w, ei);
    }
    if (w->copy_etag && asprintf(&ifm, "x-amz-copy-source-if-match: %s", w->copy_etag) >= 0)
        hdr[nh++] = ifm;
    hdr[nh++] = w->nmeta ? "x-amz-metadata-directive: REPLACE" : "x-amz-metadata-directive: COPY";
    if (w->nmeta)
        hdr[nh++] = "Content-Type: application/octet-stream";
    for (unsigned i = 0; i < w->nmeta && nh < META_MAX; i++)
        hdr[nh++] = w->meta[i];
    struct errinfo e2 = {0};
    int rc = s3_copy_object_from(w->fs, w->path, w->copy_fs->bucket, w->copy_key, w->key,
                                 hdr, nh, &e2);
    free(ifm);
    if (rc == ERR_UNSUPPORTED || rc == ERR_ACCESS || rc == ERR_INVAL) {
        /* the server cannot (or these keys may not) copy: stream it */
        if (!w->nmeta)
            source_meta(w, NULL);     /* best effort: the copy keeps the metadata */
        *streamed = true;
        return stream_copy(w, ei);
    }
    if (rc && ei)
        *ei = e2;
    return rc;
}

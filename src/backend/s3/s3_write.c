/* s3_write.c - S3 writers: data is buffered in memory up to the part size
 * (8 MiB, or more so no object needs over 10,000 parts); a small object is
 * one PutObject at commit, a larger one a multipart upload whose parts go
 * out as the buffer fills and which is completed at commit. Nothing is
 * visible under the key before commit (a multipart upload is invisible
 * until CompleteMultipartUpload); abort = AbortMultipartUpload (servers
 * without it, such as s3rver, are tolerated). Direct writers (-direct)
 * first put an empty object under the key, as a file written in place
 * would appear. distcp metadata becomes x-amz-meta-distcp-<key> headers;
 * when it arrives after a multipart upload began, commit re-copies the
 * object onto itself with the metadata (CopyObject, REPLACE).
 *
 * Threading: a writer is used by one thread at a time (no
 * BE_CAP_PARALLEL_WRITE). */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_MIN (8ull << 20)
#define PART_COUNT_MAX 10000
#define META_MAX 16
#define COPY_MAX (5ull << 30)

struct s3_writer {
    struct s3_fs *fs;
    char *path, *key;
    bool direct;
    uint64_t part_size;
    unsigned char *buf;
    size_t blen, bcap;
    uint64_t written;
    char *upload_id;
    char **etags;         /* etags[i] of part i+1 */
    unsigned nparts;
    char *meta[META_MAX]; /* "x-amz-meta-distcp-k: v" */
    unsigned nmeta;
    bool meta_late;       /* metadata set after the upload began */
};

static void writer_free(struct s3_writer *w)
{
    if (!w)
        return;
    free(w->path);
    free(w->key);
    free(w->buf);
    free(w->upload_id);
    for (unsigned i = 0; i < w->nparts; i++)
        free(w->etags[i]);
    free(w->etags);
    for (unsigned i = 0; i < w->nmeta; i++)
        free(w->meta[i]);
    free(w);
}

int s3_copy_object(struct s3_fs *fs, const char *path, const char *from_key,
                   const char *to_key, const char *const *extra, size_t nextra,
                   struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *src = NULL, *esrc = NULL, *hdr[META_MAX + 2] = {0};
    size_t nh = 0;
    int rc;
    if (nextra > META_MAX)
        return err_setx(ei, ERR_INTERNAL, "cannot copy '%s': too many headers", path);
    if (asprintf(&src, "%s/%s", fs->bucket, from_key) < 0) {
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

/* Simple PUT of the buffer (with metadata). */
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

static int initiate(struct s3_writer *w, struct errinfo *ei)
{
    struct http_xresp r = {0};
    const char *hdr[META_MAX + 1];
    size_t nh = 0;
    hdr[nh++] = "Content-Type: application/octet-stream";
    for (unsigned i = 0; i < w->nmeta; i++)
        hdr[nh++] = w->meta[i];
    struct s3_call c = { .method = "POST", .key = w->key, .query = "uploads=", .headers = hdr,
                         .nheaders = nh, .what = w->path };
    int rc = s3_do(w->fs, &c, &r, ei);
    if (!rc && r.status != 200)
        rc = s3_error(w->fs, &r, "start an upload of", w->path, ei);
    if (!rc) {
        w->upload_id = r.body ? s3_xml_find(r.body, r.len, "UploadId") : NULL;
        if (!w->upload_id || !*w->upload_id)
            rc = err_setx(ei, ERR_PROTOCOL, "cannot write '%s': no UploadId in the answer "
                          "to CreateMultipartUpload", w->path);
    }
    if (!rc && !(w->etags = calloc(PART_COUNT_MAX, sizeof *w->etags)))
        rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
    http_xresp_free(&r);
    return rc;
}

static int upload_part(struct s3_writer *w, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = NULL;
    int rc;
    if (!w->upload_id && (rc = initiate(w, ei)))
        return rc;
    if (w->nparts >= PART_COUNT_MAX)
        return err_setx(ei, ERR_LIMIT, "cannot write '%s': more than %d parts", w->path,
                        PART_COUNT_MAX);
    eid = s3_uri_encode(w->upload_id, false);
    if (!eid || asprintf(&q, "partNumber=%u&uploadId=%s", w->nparts + 1, eid) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        goto out;
    }
    struct s3_call c = { .method = "PUT", .key = w->key, .query = q, .body = w->buf,
                         .blen = w->blen, .what = w->path };
    if ((rc = s3_do(w->fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(w->fs, &r, "write", w->path, ei);
        goto out;
    }
    char *etag = http_xresp_header(&r, "ETag");
    if (!etag) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot write '%s': no ETag for part %u", w->path,
                      w->nparts + 1);
        goto out;
    }
    w->etags[w->nparts++] = etag;
    w->blen = 0;
out:
    http_xresp_free(&r);
    free(q);
    free(eid);
    return rc;
}

static int complete(struct s3_writer *w, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = NULL, *body = NULL;
    size_t cap = 64 + (size_t)w->nparts * 128, len = 0;
    int rc = ERR_OK;
    eid = s3_uri_encode(w->upload_id, false);
    body = malloc(cap);
    if (!eid || !body || asprintf(&q, "uploadId=%s", eid) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        goto out;
    }
    len += (size_t)snprintf(body + len, cap - len, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < w->nparts; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "<Part><PartNumber>%u</PartNumber><ETag>%.60s</ETag></Part>",
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
    if (code) {
        rc = err_setx(ei, ERR_IO, "cannot complete the upload of '%s': %s (in a 200 answer)",
                      w->path, code);
        free(code);
    }
out:
    http_xresp_free(&r);
    free(q);
    free(eid);
    free(body);
    return rc;
}

static void abort_upload(struct s3_writer *w)
{
    struct http_xresp r = {0};
    char *q = NULL, *eid = s3_uri_encode(w->upload_id, false);
    if (eid && asprintf(&q, "uploadId=%s", eid) >= 0) {
        struct s3_call c = { .method = "DELETE", .key = w->key, .query = q, .what = w->path };
        s3_do(w->fs, &c, &r, NULL);   /* best effort: s3rver lacks it */
        http_xresp_free(&r);
        free(q);
    }
    free(eid);
}

int s3_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
              struct be_file **out, struct errinfo *ei)
{
    struct s3_fs *fs = (struct s3_fs *)f;
    struct s3_writer *w = calloc(1, sizeof *w);
    bool dir = false;
    int rc = ERR_OK;
    *out = NULL;
    if (!w || !(w->path = strdup(path)) || !(w->key = s3_key_of(path))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
        goto out;
    }
    w->fs = fs;
    w->direct = opts && opts->direct;
    if (!*w->key) {
        rc = err_set(ei, ERR_IS_DIR, "cannot create '%s'", path);
        goto out;
    }
    if ((rc = s3_dir_probe(fs, path, w->key, &dir, NULL, ei)))
        goto out;
    if (dir) {
        rc = err_set(ei, ERR_IS_DIR, "cannot create '%s'", path);
        goto out;
    }
    uint64_t hint = opts ? opts->size_hint : 0;
    w->part_size = PART_MIN;
    if (hint / PART_COUNT_MAX >= w->part_size)
        w->part_size = ((hint / (PART_COUNT_MAX - 1)) + (1u << 20)) & ~((1ull << 20) - 1);
    if (w->direct && (rc = put_object(w, NULL, 0, false, ei)))
        goto out;
    *out = (struct be_file *)w;
    w = NULL;
out:
    writer_free(w);
    return rc;
}

int s3_write(struct be_file *f, uint64_t off, const void *buf, size_t n, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    const unsigned char *p = buf;
    int rc = ERR_OK;
    if (off != w->written)
        return err_setx(ei, ERR_INVAL, "cannot write '%s' at %llu: writes must be sequential "
                        "(at %llu)", w->path, (unsigned long long)off,
                        (unsigned long long)w->written);
    while (n) {
        if (w->blen == w->part_size && (rc = upload_part(w, ei)))
            return rc;
        size_t room = (size_t)(w->part_size - w->blen), k = n < room ? n : room;
        if (w->blen + k > w->bcap) {
            size_t nc = w->bcap ? w->bcap : 65536;
            while (nc < w->blen + k)
                nc *= 2;
            if (nc > w->part_size)
                nc = (size_t)w->part_size;
            unsigned char *b = realloc(w->buf, nc);
            if (!b)
                return err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
            w->buf = b;
            w->bcap = nc;
        }
        memcpy(w->buf + w->blen, p, k);
        w->blen += k;
        w->written += k;
        p += k;
        n -= k;
    }
    return rc;
}

int s3_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->mode = 0666;
    st->size = w->written;
    st->uid = st->gid = BE_ID_NONE;
    return ERR_OK;   /* S3 sets the mtime at commit: unknown here */
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
    if (w->upload_id && w->written > COPY_MAX)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot record metadata '%s' on '%s': the "
                        "upload has begun and the object is over 5 GiB", key, w->path);
    size_t kl = strlen(key);
    unsigned i;
    for (i = 0; i < w->nmeta; i++)
        if (!strncmp(w->meta[i] + strlen(S3_META_PREFIX), key, kl) &&
            w->meta[i][strlen(S3_META_PREFIX) + kl] == ':')
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

int s3_commit(struct be_file *f, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    int rc;
    if (!w->upload_id) {
        rc = put_object(w, w->buf, w->blen, true, ei);
    } else {
        rc = w->blen ? upload_part(w, ei) : ERR_OK;
        if (!rc)
            rc = complete(w, ei);
        if (rc)
            abort_upload(w);
        if (!rc && w->meta_late) {
            const char *hdr[META_MAX + 2];
            size_t nh = 0;
            hdr[nh++] = "x-amz-metadata-directive: REPLACE";
            hdr[nh++] = "Content-Type: application/octet-stream";
            for (unsigned i = 0; i < w->nmeta && nh < META_MAX; i++)
                hdr[nh++] = w->meta[i];
            rc = s3_copy_object(w->fs, w->path, w->key, w->key, hdr, nh, ei);
        }
    }
    writer_free(w);
    return rc;
}

void s3_abort(struct be_file *f)
{
    struct s3_writer *w = (struct s3_writer *)f;
    if (!w)
        return;
    if (w->upload_id)
        abort_upload(w);
    writer_free(w);
}

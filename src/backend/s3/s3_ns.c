/* s3_ns.c - namespace changes and metadata of the S3 backend: mkdirs
 * ("key/" markers), remove (DeleteObjects in batches for trees), rename
 * (CopyObject + DELETE, object by object: not atomic), and getmeta (distcp's
 * digest from x-amz-meta-distcp-*, the ETag as a content tag, a full-object
 * CRC32C) (docs/protocols.md §3.2).
 *
 * Threading: no state of its own; every function may run from many threads. */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Namespace ------------------------------------------------------------------------ */

static int put_marker(struct s3_fs *fs, const char *path, const char *key, struct errinfo *ei)
{
    struct http_xresp r = {0};
    char *mk = NULL;
    int rc;
    if (asprintf(&mk, "%s/", key) < 0)
        return err_setx(ei, ERR_NOMEM, "cannot create directory '%s': out of memory", path);
    const char *hdr[] = { "Content-Type: application/x-directory" };
    struct s3_call c = { .method = "PUT", .key = mk, .headers = hdr, .nheaders = 1,
                         .what = path };
    rc = s3_do(fs, &c, &r, ei);
    if (!rc && r.status != 200)
        rc = s3_error(fs, &r, "create directory", path, ei);
    http_xresp_free(&r);
    free(mk);
    return rc;
}

/* "file": ERR_NOT_DIR; "dir": ERR_OK with *dir; absent: ERR_OK, !*dir. */
static int probe(struct s3_fs *fs, const char *path, const char *key, bool *dir,
                 struct errinfo *ei)
{
    struct http_xresp r = {0};
    *dir = false;
    int rc = s3_head(fs, path, key, &r, ei);
    http_xresp_free(&r);
    if (rc == ERR_OK)
        return err_set(ei, ERR_NOT_DIR, "cannot create directory '%s'", path);
    if (rc != ERR_NOT_FOUND)
        return rc;
    return s3_dir_probe(fs, path, key, dir, NULL, ei);
}

int s3_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    char *key = s3_key_of(path);
    bool dir = false;
    int rc = ERR_OK;
    if (!key)
        return err_setx(ei, ERR_NOMEM, "cannot create directory '%s': out of memory", path);
    if (!*key || (rc = probe(fs, path, key, &dir, ei)) || dir)
        goto out;   /* the root, an error, or already a directory */
    /* no file may stand where an ancestor directory goes */
    for (char *s = strrchr(key, '/'); s; s = strrchr(key, '/')) {
        *s = 0;
        bool pdir = false;
        if ((rc = probe(fs, path, key, &pdir, ei)))
            goto out;
        if (pdir)
            break;
    }
    free(key);
    key = s3_key_of(path);
    rc = key ? put_marker(fs, path, key, ei)
             : err_setx(ei, ERR_NOMEM, "cannot create directory '%s': out of memory", path);
out:
    free(key);
    return rc;
}

static int delete_one(struct s3_fs *fs, const char *path, const char *key, struct errinfo *ei)
{
    struct http_xresp r = {0};
    struct s3_call c = { .method = "DELETE", .key = key, .what = path };
    int rc = s3_do(fs, &c, &r, ei);
    if (!rc && r.status != 204 && r.status != 200)
        rc = s3_error(fs, &r, "delete", path, ei);
    http_xresp_free(&r);
    return rc;
}

static void xml_escape_into(char **w, const char *s)
{
    for (; *s; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&apos;"; break;
        }
        if (e) {
            size_t l = strlen(e);
            memcpy(*w, e, l);
            *w += l;
        } else {
            *(*w)++ = *s;
        }
    }
}

int s3_delete_keys(struct s3_fs *fs, const char *path, char **keys, size_t n,
                   struct errinfo *ei)
{
    int rc = ERR_OK;
    size_t cap = 128;
    for (size_t i = 0; i < n; i++)
        cap += 40 + strlen(keys[i]) * 6;
    char *body = malloc(cap), *w = body;
    struct http_xresp r = {0};
    if (!body)
        return err_setx(ei, ERR_NOMEM, "cannot delete '%s': out of memory", path);
    w += sprintf(w, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        w += sprintf(w, "<Object><Key>");
        xml_escape_into(&w, keys[i]);
        w += sprintf(w, "</Key></Object>");
    }
    w += sprintf(w, "</Delete>");
    unsigned char md5[16];
    char b64[32], hmd5[64];
    md5_buf(body, (size_t)(w - body), md5);
    s3_base64(md5, 16, b64);
    snprintf(hmd5, sizeof hmd5, "Content-MD5: %s", b64);
    const char *hdr[] = { hmd5, "Content-Type: application/xml" };
    struct s3_call c = { .method = "POST", .key = "", .query = "delete=", .headers = hdr,
                         .nheaders = 2, .body = body, .blen = (size_t)(w - body), .what = path };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(fs, &r, "delete", path, ei);
        goto out;
    }
    char *bad = r.body ? s3_xml_find(r.body, r.len, "Error") : NULL;
    if (bad) {
        char *k = s3_xml_find(r.body, r.len, "Key"), *code = s3_xml_find(r.body, r.len, "Code");
        rc = err_setx(ei, ERR_IO, "cannot delete '%s': key '%s': %s", path, k ? k : "?",
                      code ? code : "error");
        free(k);
        free(code);
        free(bad);
    }
out:
    http_xresp_free(&r);
    free(body);
    return rc;
}

struct batch {
    struct s3_fs *fs;
    const char *path;
    char *keys[1000];
    size_t n;
    struct errinfo *ei;
    /* for rename */
    const char *from_prefix, *to_prefix;
};

static int batch_flush(struct batch *b)
{
    int rc = b->n ? s3_delete_keys(b->fs, b->path, b->keys, b->n, b->ei) : ERR_OK;
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    b->n = 0;
    return rc;
}

static int batch_add(void *arg, const struct s3_item *it)
{
    struct batch *b = arg;
    if (!(b->keys[b->n] = strdup(it->key)))
        return err_setx(b->ei, ERR_NOMEM, "cannot delete '%s': out of memory", b->path);
    if (++b->n == 1000)
        return batch_flush(b);
    return ERR_OK;
}

int s3_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    struct http_xresp r = {0};
    char *key = s3_key_of(path), *prefix = NULL;
    bool exists = false, only_marker = false;
    int rc;
    if (!key || asprintf(&prefix, "%s%s", key, *key ? "/" : "") < 0) {
        prefix = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot delete '%s': out of memory", path);
        goto out;
    }
    if (*key) {
        rc = s3_head(fs, path, key, &r, ei);
        if (rc == ERR_OK) {
            rc = delete_one(fs, path, key, ei);
            goto out;
        }
        if (rc != ERR_NOT_FOUND)
            goto out;
    }
    if ((rc = s3_dir_probe(fs, path, key, &exists, &only_marker, ei)))
        goto out;
    if (!exists) {
        rc = *key ? err_set(ei, ERR_NOT_FOUND, "cannot delete '%s'", path) : ERR_OK;
        goto out;
    }
    if (!recursive) {
        rc = only_marker ? delete_one(fs, path, prefix, ei)
                         : err_set(ei, ERR_NOT_EMPTY, "cannot delete '%s'", path);
        goto out;
    }
    struct batch b = { .fs = fs, .path = path, .ei = ei };
    rc = s3_list_all(fs, path, prefix, batch_add, &b, ei);
    int rc2 = batch_flush(&b);
    rc = rc ? rc : rc2;
out:
    http_xresp_free(&r);
    free(key);
    free(prefix);
    return rc;
}

static int copy_add(void *arg, const struct s3_item *it)
{
    struct batch *b = arg;
    char *to = NULL;
    size_t fl = strlen(b->from_prefix);
    if (strncmp(it->key, b->from_prefix, fl))
        return ERR_OK;
    if (asprintf(&to, "%s%s", b->to_prefix, it->key + fl) < 0)
        return err_setx(b->ei, ERR_NOMEM, "cannot rename '%s': out of memory", b->path);
    int rc = s3_copy_object(b->fs, b->path, it->key, to, NULL, 0, b->ei);
    free(to);
    return rc ? rc : batch_add(arg, it);
}

int s3_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    struct http_xresp r = {0};
    char *fk = s3_key_of(from), *tk = s3_key_of(to), *fp = NULL, *tp = NULL;
    bool exists = false;
    int rc;
    if (!fk || !tk) {
        rc = err_setx(ei, ERR_NOMEM, "cannot rename '%s': out of memory", from);
        goto out;
    }
    if (!*fk || !*tk) {
        rc = err_setx(ei, ERR_INVAL, "cannot rename '%s' to '%s': the bucket root", from, to);
        goto out;
    }
    rc = s3_head(fs, from, fk, &r, ei);
    if (rc == ERR_OK) {
        bool tdir = false;
        if ((rc = s3_dir_probe(fs, to, tk, &tdir, NULL, ei)))
            goto out;
        if (tdir) {
            rc = err_set(ei, ERR_IS_DIR, "cannot rename '%s' to '%s'", from, to);
            goto out;
        }
        if (!(rc = s3_copy_object(fs, from, fk, tk, NULL, 0, ei)))
            rc = delete_one(fs, from, fk, ei);
        goto out;
    }
    if (rc != ERR_NOT_FOUND)
        goto out;
    if ((rc = s3_dir_probe(fs, from, fk, &exists, NULL, ei)))
        goto out;
    if (!exists) {
        rc = err_set(ei, ERR_NOT_FOUND, "cannot rename '%s'", from);
        goto out;
    }
    if (asprintf(&fp, "%s/", fk) < 0 || asprintf(&tp, "%s/", tk) < 0) {
        rc = err_setx(ei, ERR_NOMEM, "cannot rename '%s': out of memory", from);
        goto out;
    }
    struct batch b = { .fs = fs, .path = from, .ei = ei, .from_prefix = fp, .to_prefix = tp };
    rc = s3_list_all(fs, from, fp, copy_add, &b, ei);
    int rc2 = batch_flush(&b);
    rc = rc ? rc : rc2;
out:
    http_xresp_free(&r);
    free(fk);
    free(tk);
    free(fp);
    free(tp);
    return rc;
}

/* distcp's digest as recorded with the object, its m= field set to the
 * object's Last-Modified: an object is immutable (any rewrite replaces its
 * metadata), so a digest stored with it describes exactly its bytes. Without
 * one, a full-object x-amz-checksum-crc32c (not a composite "...-N") is
 * turned into the same form. NULL when there is neither. */
static char *digest_of(const struct http_xresp *r, const struct be_stat *st)
{
    char *v = http_xresp_header(r, S3_META_PREFIX "digest"), *out = NULL;
    if (v) {
        char *m = strstr(v, ";m=");
        if (!m)
            return v;
        if (asprintf(&out, "%.*s;m=%lld", (int)(m - v), v, (long long)st->mtime_ns) < 0)
            out = NULL;
        free(v);
        return out;
    }
    v = http_xresp_header(r, "x-amz-checksum-crc32c");
    if (v && !strchr(v, '-')) {
        unsigned char raw[8];
        size_t n = s3_base64_decode(v, raw, sizeof raw);
        if (n == 4 &&
            asprintf(&out, "crc32c:%02x%02x%02x%02x;s=%llu;m=%lld", raw[0], raw[1], raw[2],
                     raw[3], (unsigned long long)st->size, (long long)st->mtime_ns) < 0)
            out = NULL;
    }
    free(v);
    return out;
}

/* BE_CAP_CONTENT_TAG: an ETag as "md5:<32 hex>" (a single-part upload or
 * copy: the MD5 of the bytes) or "mpu:<32 hex>-<parts>" (a multipart upload:
 * depends on the part size); anything else (SSE-KMS, other servers' forms)
 * NULL. malloc'd. */
static char *content_tag(const char *etag)
{
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
        etag++;
        n -= 2;
    }
    size_t hex = 0;
    while (hex < n && strchr("0123456789abcdef", etag[hex]) && etag[hex])
        hex++;
    bool md5 = hex == 32 && n == 32;
    bool mpu = hex == 32 && n > 33 && etag[32] == '-' && n - 33 <= 5;
    for (size_t i = 33; mpu && i < n; i++)
        mpu = etag[i] >= '0' && etag[i] <= '9';
    char *out = NULL;
    if ((md5 || mpu) && asprintf(&out, "%s:%.*s", md5 ? "md5" : "mpu", (int)n, etag) < 0)
        out = NULL;
    return out;
}

int s3_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
               struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    struct http_xresp r = {0};
    char *k = s3_key_of(path), *h = NULL;
    int rc;
    *value = NULL;
    if (!k || asprintf(&h, S3_META_PREFIX "%s", key) < 0) {
        h = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot read metadata of '%s': out of memory", path);
        goto out;
    }
    if (!*k) {
        rc = err_setx(ei, ERR_NOT_FOUND, "'%s' has no metadata '%s'", path, key);
        goto out;
    }
    const char *hdr[] = { "x-amz-checksum-mode: ENABLED" };
    struct s3_call c = { .method = "HEAD", .key = k, .headers = hdr, .nheaders = 1,
                         .what = path };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = r.status == 404 ? err_set(ei, ERR_NOT_FOUND, "cannot access '%s'", path)
                             : s3_error(fs, &r, "access", path, ei);
        goto out;
    }
    if (!strcmp(key, "digest")) {
        struct be_stat st;
        s3_stat_from_head(&r, &st);
        *value = digest_of(&r, &st);
    } else if (!strcmp(key, "etag")) {
        char *etag = http_xresp_header(&r, "ETag");
        *value = etag ? content_tag(etag) : NULL;
        free(etag);
    } else {
        *value = http_xresp_header(&r, h);
    }
    if (!*value)
        rc = err_setx(ei, ERR_NOT_FOUND, "'%s' has no metadata '%s'", path, key);
out:
    http_xresp_free(&r);
    free(k);
    free(h);
    return rc;
}

/* s3_read.c - status, listing and readers of the S3 backend: HEAD, then a
 * short listing for "directories" (common prefixes and "key/" markers);
 * ListObjectsV2 with delimiter '/' streamed page by page; readers doing
 * ranged GETs into a read-ahead buffer, pinned to the first answer's ETag
 * (docs/protocols.md §3.2, §3.3).
 *
 * Threading: a reader is used by one thread at a time. */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S3_READAHEAD (8u << 20)
#define S3_FIRST_READ (1u << 20)   /* the GET that opens a reader */
#define S3_READ_MAX (64u << 20)

/* Stat / list ------------------------------------------------------------------ */

static void file_stat(struct be_stat *st, uint64_t size, int64_t mtime)
{
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->mode = 0666;
    st->size = size;
    st->mtime_ns = mtime;
    st->atime_ns = mtime;
    st->uid = st->gid = BE_ID_NONE;
    st->nlink = 1;
}

static void dir_stat(struct be_stat *st)
{
    memset(st, 0, sizeof *st);
    st->type = BE_DIR;
    st->mode = 0777;
    st->uid = st->gid = BE_ID_NONE;
    st->nlink = 1;
}

void s3_stat_from_head(const struct http_xresp *r, struct be_stat *st)
{
    char *cl = http_xresp_header(r, "Content-Length");
    char *lm = http_xresp_header(r, "Last-Modified");
    file_stat(st, cl ? strtoull(cl, NULL, 10) : 0, s3_parse_http_date(lm));
    free(cl);
    free(lm);
}

int s3_stat(struct be_fs *f, const char *path, struct be_stat *st, struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    struct http_xresp r = {0};
    char *key = s3_key_of(path);
    bool exists = false;
    int rc;
    if (!key)
        return err_setx(ei, ERR_NOMEM, "cannot stat '%s': out of memory", path);
    if (!*key) {
        dir_stat(st);
        rc = ERR_OK;
        goto out;
    }
    rc = s3_head(fs, path, key, &r, ei);
    if (rc == ERR_OK) {
        s3_stat_from_head(&r, st);
        goto out;
    }
    if (rc != ERR_NOT_FOUND)
        goto out;
    if ((rc = s3_dir_probe(fs, path, key, &exists, NULL, ei)))
        goto out;
    if (exists)
        dir_stat(st);
    else
        rc = err_set(ei, ERR_NOT_FOUND, "cannot stat '%s'", path);
out:
    http_xresp_free(&r);
    free(key);
    return rc;
}

int s3_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
            struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    char *key = s3_key_of(path), *prefix = NULL, *token = NULL, *last_prefix = NULL;
    bool any = false;
    int rc = ERR_OK;
    if (!key || asprintf(&prefix, "%s%s", key, *key ? "/" : "") < 0) {
        prefix = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
        goto out;
    }
    size_t pl = strlen(prefix);
    for (;;) {
        struct s3_page pg;
        if ((rc = s3_list_page(fs, path, prefix, true, 1000, token, &pg, ei)))
            goto out;
        for (size_t i = 0; !rc && i < pg.n; i++) {
            const struct s3_item *it = &pg.items[i];
            size_t kl = strlen(it->key);
            if (kl < pl || strncmp(it->key, prefix, pl))
                continue;            /* not ours (a broken server) */
            any = true;
            const char *name = it->key + pl;
            size_t nl = kl - pl;
            struct be_stat st;
            if (it->prefix) {
                /* some servers (s3rver) repeat a common prefix at the start
                 * of the next page: deliver each prefix once */
                if (last_prefix && !strcmp(last_prefix, it->key))
                    continue;
                free(last_prefix);
                if (!(last_prefix = strdup(it->key))) {
                    rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
                    break;
                }
                if (nl && name[nl - 1] == '/')
                    nl--;
                dir_stat(&st);
            } else {
                if (nl == 0)
                    continue;        /* the directory's own marker */
                /* whole seconds, as HEAD's Last-Modified says */
                file_stat(&st, it->size, it->mtime_ns - it->mtime_ns % 1000000000LL);
            }
            char *nm = strndup(name, nl);
            if (!nm) {
                rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
                break;
            }
            rc = cb(arg, nm, nl, &st);
            free(nm);
        }
        free(token);
        token = NULL;
        bool more = pg.truncated && pg.next_token;
        if (more && !(token = strdup(pg.next_token)))
            rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
        s3_page_free(&pg);
        if (rc || !more)
            break;
    }
    if (!rc && !any && *key) {
        struct http_xresp r = {0};
        rc = s3_head(fs, path, key, &r, ei);
        http_xresp_free(&r);
        if (rc == ERR_OK)
            rc = err_set(ei, ERR_NOT_DIR, "cannot list '%s'", path);
        else if (rc == ERR_NOT_FOUND)
            rc = err_set(ei, ERR_NOT_FOUND, "cannot list '%s'", path);
    }
out:
    free(key);
    free(prefix);
    free(token);
    free(last_prefix);
    return rc;
}

/* Reads ------------------------------------------------------------------------ */

struct s3_reader {
    struct s3_fs *fs;
    char *path, *key, *etag;
    uint64_t pos, size;   /* pos: the object offset just after the buffered bytes */
    unsigned char *buf;
    size_t cap, blen, bpos;
};

static void reader_free(struct s3_reader *rd)
{
    if (!rd)
        return;
    free(rd->path);
    free(rd->key);
    free(rd->etag);
    free(rd->buf);
    free(rd);
}

/* Fill rd's buffer with up to `want` bytes from rd->pos by a ranged GET.
 * At open (rd->size unknown, UINT64_MAX) the answer also gives the size
 * (Content-Range) and the ETag later reads are pinned to. */
static int fetch(struct s3_reader *rd, uint64_t want, bool whole, struct http_xresp *r,
                 struct errinfo *ei)
{
    char range[80], *ifm = NULL;
    int rc;
    if (rd->cap < want) {
        unsigned char *b = realloc(rd->buf, (size_t)want);
        if (!b)
            return err_setx(ei, ERR_NOMEM, "cannot read '%s': out of memory", rd->path);
        rd->buf = b;
        rd->cap = (size_t)want;
    }
    snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)rd->pos,
             (unsigned long long)(rd->pos + want - 1));
    const char *hdr[2] = { range, NULL };
    size_t nh = whole ? 0 : 1;
    if (rd->etag && asprintf(&ifm, "If-Match: %s", rd->etag) >= 0)
        hdr[nh++] = ifm;
    struct s3_call c = { .method = "GET", .key = rd->key, .headers = hdr, .nheaders = nh,
                         .dst = rd->buf, .dstcap = (size_t)want, .dst_truncate = whole,
                         .what = rd->path };
    rc = s3_do(rd->fs, &c, r, ei);
    free(ifm);
    return rc;
}

int s3_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
                 struct errinfo *ei)
{
    struct s3_fs *fs = fs_of(f);
    struct http_xresp r = {0};
    struct s3_reader *rd = calloc(1, sizeof *rd);
    char *cr = NULL;
    int rc;
    *out = NULL;
    if (!rd || !(rd->path = strdup(path)) || !(rd->key = s3_key_of(path))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot open '%s': out of memory", path);
        goto out;
    }
    rd->fs = fs;
    if (!*rd->key) {
        rc = err_set(ei, ERR_IS_DIR, "cannot open '%s'", path);
        goto out;
    }
    /* one GET opens and reads ahead (no HEAD first): from the start, a plain
     * GET cut after S3_FIRST_READ bytes (a ranged GET on an empty object is
     * an error on some servers); elsewhere a ranged GET */
    rd->pos = off;
    if ((rc = fetch(rd, S3_FIRST_READ, off == 0, &r, ei)))
        goto out;
    if (r.status == 404) {
        bool dir = false;
        if (!s3_dir_probe(fs, path, rd->key, &dir, NULL, NULL) && dir)
            rc = err_set(ei, ERR_IS_DIR, "cannot open '%s'", path);
        else
            rc = err_set(ei, ERR_NOT_FOUND, "cannot open '%s'", path);
        goto out;
    }
    if (r.status == 416) {
        /* nothing at or after off (an empty object): the size from HEAD */
        http_xresp_free(&r);
        if ((rc = s3_head(fs, path, rd->key, &r, ei)))
            goto out;
        struct be_stat st;
        s3_stat_from_head(&r, &st);
        rd->size = st.size;
        rd->etag = http_xresp_header(&r, "ETag");
        s3_acache_put(fs->acache, path, &r);
        goto done;
    }
    if (r.status != 206 && r.status != 200) {
        rc = s3_error(fs, &r, "open", path, ei);
        goto out;
    }
    rd->etag = http_xresp_header(&r, "ETag");
    s3_acache_put(fs->acache, path, &r);   /* -p: the attributes come with the GET */
    cr = http_xresp_header(&r, "Content-Range");     /* "bytes a-b/total" */
    const char *slash = cr ? strrchr(cr, '/') : NULL;
    if (r.status == 206 && slash && slash[1] != '*') {
        rd->size = strtoull(slash + 1, NULL, 10);
    } else if (r.status == 200 && off == 0) {
        char *cl = http_xresp_header(&r, "Content-Length");
        rd->size = cl ? strtoull(cl, NULL, 10) : r.len;
        free(cl);
        if (r.len > rd->size || (!r.truncated && r.len != rd->size)) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot open '%s': %zu bytes where "
                          "Content-Length says %llu", path, r.len,
                          (unsigned long long)rd->size);
            goto out;
        }
    } else if (r.status == 200) {
        /* the whole object (a server that ignores Range) */
        rd->size = r.len;
        if (off > r.len)
            off = r.len;
        memmove(rd->buf, rd->buf + off, (size_t)(r.len - off));
        r.len -= off;
    } else {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot open '%s': no size in the answer to a ranged "
                      "GET", path);
        goto out;
    }
    if (r.len > S3_FIRST_READ) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot open '%s': the answer is longer than asked",
                      path);
        goto out;
    }
    rd->blen = r.len;
    rd->bpos = 0;
    rd->pos = r.status == 200 && off ? rd->size : off + r.len;
done:
    *out = (struct be_file *)rd;
    rd = NULL;
out:
    free(cr);
    http_xresp_free(&r);
    reader_free(rd);
    return rc;
}

int s3_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei)
{
    struct s3_reader *rd = (struct s3_reader *)f;
    struct http_xresp r = {0};
    int rc = ERR_OK;
    *got = 0;
    if (rd->bpos == rd->blen) {
        /* rd->pos: the offset just after the buffer's bytes */
        if (rd->pos >= rd->size || n == 0)
            goto out;
        uint64_t want = n > S3_READAHEAD ? n : S3_READAHEAD;
        if (want > S3_READ_MAX)
            want = S3_READ_MAX;
        if (want > rd->size - rd->pos)
            want = rd->size - rd->pos;
        if ((rc = fetch(rd, want, false, &r, ei)))
            goto out;
        if (r.status == 412) {
            rc = err_setx(ei, ERR_SHORT_READ, "cannot read '%s': the object changed while "
                          "being read (ETag no longer %s)", rd->path, rd->etag);
            goto out;
        }
        if (r.status != 206 && !(r.status == 200 && rd->pos == 0)) {
            rc = s3_error(rd->fs, &r, "read", rd->path, ei);
            goto out;
        }
        if (r.len == 0) {
            rc = err_setx(ei, ERR_SHORT_READ, "cannot read '%s': shorter than its %llu bytes",
                          rd->path, (unsigned long long)rd->size);
            goto out;
        }
        rd->blen = r.len;
        rd->bpos = 0;
        rd->pos += r.len;
    }
    size_t k = rd->blen - rd->bpos < n ? rd->blen - rd->bpos : n;
    memcpy(buf, rd->buf + rd->bpos, k);
    rd->bpos += k;
    *got = k;
out:
    http_xresp_free(&r);
    return rc;
}

void s3_close_read(struct be_file *f)
{
    reader_free((struct s3_reader *)f);
}

void s3_reader_source(struct be_file *r, struct s3_fs **fs, const char **key,
                      const char **etag, uint64_t *size)
{
    struct s3_reader *rd = (struct s3_reader *)r;
    *fs = rd->fs;
    *key = rd->key;
    *etag = rd->etag;
    *size = rd->size;
}

void s3_reader_seek(struct be_file *r, uint64_t pos)
{
    struct s3_reader *rd = (struct s3_reader *)r;
    rd->pos = pos;
    rd->blen = rd->bpos = 0;
}

int s3_reader_open(struct s3_fs *fs, const char *path, struct be_file **out,
                   struct errinfo *ei)
{
    return s3_open_read(&fs->head, path, 0, out, ei);
}

int s3_reader_read(struct be_file *r, void *buf, size_t n, size_t *got, struct errinfo *ei)
{
    return s3_read(r, buf, n, got, ei);
}

void s3_reader_close(struct be_file *r)
{
    reader_free((struct s3_reader *)r);
}

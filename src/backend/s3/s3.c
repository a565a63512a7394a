/* s3.c - the S3 backend (schemes "s3" and "s3a"): one bucket per be_fs,
 * paths map to keys ("/a/b" -> "a/b"), directories are common prefixes and
 * zero-byte "key/" markers (made by mkdirs, as Hadoop S3A does).
 *
 * Requests are signed with SigV4 (s3_sigv4.c), sent with the path as-is
 * (keys with "..", "//" or a leading "/" reach the server unchanged), over
 * one shared connection pool, with retries on 5xx / throttling / transport
 * errors under the policy of util/retry.h (docs/protocols.md §4). Listing is ListObjectsV2 with delimiter '/', streamed page by
 * page; names are passed through unchanged (the engine refuses unsafe
 * ones). Reads are ranged GETs into a read-ahead buffer. Writes (s3_write.c)
 * buffer, then PutObject or a multipart upload completed at commit.
 *
 * Configuration (-D or environment): fs.s3a.endpoint / AWS_ENDPOINT_URL_S3 /
 * AWS_ENDPOINT_URL; fs.s3a.path.style.access (default true for an IP or
 * localhost endpoint); fs.s3a.endpoint.region / AWS_REGION /
 * AWS_DEFAULT_REGION / the profile's region (default us-east-1);
 * credentials as s3_cred.c orders them (-D fs.s3a.access.key..., AWS_*
 * variables, ~/.aws profiles); fs.s3a.connection.ssl.enabled
 * (scheme for an endpoint without one); fs.s3a.ssl.verify=false (no TLS
 * verification, warned). Secrets never enter a message.
 *
 * Threading: an s3_fs is immutable after open; the pool locks itself. */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S3_RETRIES 4
#define S3_READAHEAD (8u << 20)
#define S3_FIRST_READ (1u << 20)   /* the GET that opens a reader */
#define S3_READ_MAX (64u << 20)
#define S3_HDR_MAX 24
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct s3_fs *fs_of(struct be_fs *f) { return (struct s3_fs *)f; }

char *s3_key_of(const char *path)
{
    return strdup(path[0] == '/' ? path + 1 : path);
}

/* Requests ------------------------------------------------------------------ */

/* 500/502/503/504 (503 SlowDown), 408, 429 and RequestTimeout are
 * transient; other answers are final (501 NotImplemented included). */
static bool retryable(const struct http_xresp *r)
{
    if ((r->status >= 500 && r->status != 501) || r->status == 408 || r->status == 429)
        return true;
    if (r->status == 400 && r->body && strstr(r->body, "<Code>RequestTimeout</Code>"))
        return true;
    return false;
}

/* The retry policy, resolved once at open (docs/protocols.md §4):
 * DISTCP_S3_RETRY_BASE_MS (first delay, default 100 ms; a value outside
 * 0..60000 means the default), S3_RETRIES attempts, delays capped at 60 s;
 * a Retry-After (seconds) is honoured up to that cap. */
static void policy_init(struct retry_policy *p)
{
    const char *b = getenv("DISTCP_S3_RETRY_BASE_MS");
    long base = b && *b ? atol(b) : 100;
    if (base < 0 || base > 60000)
        base = 100;
    *p = (struct retry_policy){ .base_ms = (unsigned)base, .cap_ms = RETRY_CAP_MS,
                                .attempts = S3_RETRIES };
}

static int do_once(struct s3_fs *fs, const struct s3_call *c, struct http_xresp *r,
                   struct errinfo *ei)
{
    int rc = ERR_OK;
    char *ekey = s3_uri_encode(c->key ? c->key : "", true);
    char *path = NULL, *url = NULL, *hv[S3_HDR_MAX + 4], *sv[S3_HDR_MAX + 4];
    size_t nh = 0, ns = 0;
    char amzdate[32], hash[65], auth[1024];
    memset(hv, 0, sizeof hv);
    memset(sv, 0, sizeof sv);
    if (!ekey)
        goto nomem;
    if (fs->path_style)
        rc = asprintf(&path, "/%s%s%s", fs->bucket, c->key && *c->key ? "/" : "", ekey);
    else
        rc = asprintf(&path, "/%s", ekey);
    if (rc < 0) {
        path = NULL;
        goto nomem;
    }
    rc = asprintf(&url, "%s%s%s%s", fs->base, path, c->query && *c->query ? "?" : "",
                  c->query ? c->query : "");
    if (rc < 0) {
        url = NULL;
        goto nomem;
    }
    rc = ERR_OK;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
    if (fs->https && c->blen) {
        snprintf(hash, sizeof hash, "UNSIGNED-PAYLOAD");
    } else if (!c->blen) {
        snprintf(hash, sizeof hash, "%s", EMPTY_SHA256);
    } else {
        unsigned char d[32];
        if (sha256_buf(c->body, c->blen, d)) {
            rc = err_setx(ei, ERR_INTERNAL, "cannot access '%s': SHA-256 failed", c->what);
            goto out;
        }
        hex_encode(d, 32, hash);
    }
    if (c->nheaders > S3_HDR_MAX) {
        rc = err_setx(ei, ERR_INTERNAL, "cannot access '%s': too many headers", c->what);
        goto out;
    }
    /* signed: host, x-amz-content-sha256, x-amz-date, token, x-amz-* given */
    if (asprintf(&sv[ns++], "host:%s", fs->host) < 0 ||
        asprintf(&sv[ns++], "x-amz-content-sha256:%s", hash) < 0 ||
        asprintf(&sv[ns++], "x-amz-date:%s", amzdate) < 0 ||
        (fs->cred.token && asprintf(&sv[ns++], "x-amz-security-token:%s", fs->cred.token) < 0))
        goto nomem;
    for (size_t i = 0; i < c->nheaders; i++) {
        if (strncasecmp(c->headers[i], "x-amz-", 6))
            continue;
        const char *colon = strchr(c->headers[i], ':');
        const char *v = colon ? colon + 1 : "";
        while (*v == ' ')
            v++;
        if (asprintf(&sv[ns++], "%.*s:%s", colon ? (int)(colon - c->headers[i]) : 0,
                     c->headers[i], v) < 0)
            goto nomem;
    }
    if ((rc = s3_sigv4(&fs->cred, fs->region, c->method, path, c->query, (const char *const *)sv,
                       ns, hash, amzdate, auth, sizeof auth))) {
        rc = err_setx(ei, rc, "cannot access '%s': cannot sign the request", c->what);
        goto out;
    }
    if (asprintf(&hv[nh++], "Authorization: %s", auth) < 0 ||
        asprintf(&hv[nh++], "x-amz-content-sha256: %s", hash) < 0 ||
        asprintf(&hv[nh++], "x-amz-date: %s", amzdate) < 0 ||
        (fs->cred.token && asprintf(&hv[nh++], "x-amz-security-token: %s", fs->cred.token) < 0))
        goto nomem;
    for (size_t i = 0; i < c->nheaders; i++)
        if (!(hv[nh++] = strdup(c->headers[i])))
            goto nomem;
    struct http_xreq q = {
        .method = c->method, .url = url, .headers = (const char *const *)hv, .nheaders = nh,
        .body = c->body, .blen = c->blen, .max_body = S3_XML_MAX, .dst = c->dst,
        .dstcap = c->dstcap, .dst_truncate = c->dst_truncate, .pool = fs->pool, .insecure = fs->insecure, .what = c->what,
    };
    rc = http_xrequest(&q, r, ei);
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot access '%s': out of memory", c->what);
out:
    for (size_t i = 0; i < sizeof hv / sizeof *hv; i++) {
        free(hv[i]);
        free(sv[i]);
    }
    memset(auth, 0, sizeof auth);
    free(ekey);
    free(path);
    free(url);
    return rc;
}

/* One call under the retry policy. When the attempts run out on a
 * transient failure, ei->retried is set (also when the last answer is an
 * HTTP error the caller maps with s3_error): the engine must not retry it
 * again (backend.h). */
int s3_do(struct s3_fs *fs, const struct s3_call *c, struct http_xresp *r,
          struct errinfo *ei)
{
    int rc = ERR_OK;
    for (unsigned attempt = 0;; attempt++) {
        rc = do_once(fs, c, r, ei);
        bool again = rc == ERR_CONN || rc == ERR_TIMEOUT || rc == ERR_IO ||
                     (rc == ERR_OK && retryable(r));
        if (!again)
            break;
        if (!retry_more(&fs->retry, attempt)) {
            if (ei)
                ei->retried = true;
            break;
        }
        unsigned ra = 0;
        if (rc == ERR_OK) {
            char *h = http_xresp_header(r, "Retry-After");
            ra = retry_after_parse(h);
            free(h);
        }
        retry_sleep_ms(retry_delay_ms(&fs->retry, attempt, ra, retry_rand()));
        if (rc == ERR_OK)
            http_xresp_free(r);
    }
    return rc;
}

int s3_error(const struct s3_fs *fs, const struct http_xresp *r, const char *verb,
             const char *what, struct errinfo *ei)
{
    char *code = r->body ? s3_xml_find(r->body, r->len, "Code") : NULL;
    char *msg = r->body ? s3_xml_find(r->body, r->len, "Message") : NULL;
    const char *cs = code ? code : "";
    int rc;
    if (!strcmp(cs, "NoSuchBucket"))
        rc = ERR_NOT_FOUND;
    else if (!strcmp(cs, "SignatureDoesNotMatch") || !strcmp(cs, "InvalidAccessKeyId") ||
             !strcmp(cs, "InvalidToken") || !strcmp(cs, "ExpiredToken") || r->status == 401)
        rc = ERR_AUTH;
    else if (r->status == 404)
        rc = ERR_NOT_FOUND;
    else if (r->status == 403)
        rc = ERR_ACCESS;
    else if (r->status == 412)
        rc = ERR_SHORT_READ;
    else if (r->status == 503 || r->status == 429 || !strcmp(cs, "SlowDown"))
        rc = ERR_BUSY;
    else if (r->status == 408 || !strcmp(cs, "RequestTimeout"))
        rc = ERR_TIMEOUT;
    else if (r->status == 501 || !strcmp(cs, "NotImplemented"))
        rc = ERR_UNSUPPORTED;
    else if (r->status >= 500)
        rc = ERR_IO;
    else if (r->status == 400 || r->status == 405 || r->status == 501)
        rc = !strcmp(cs, "NotImplemented") || r->status == 501 ? ERR_UNSUPPORTED : ERR_INVAL;
    else
        rc = ERR_PROTOCOL;
    if (!strcmp(cs, "NoSuchBucket"))
        err_setx(ei, rc, "cannot %s '%s': bucket '%s' does not exist (NoSuchBucket, HTTP %ld)",
                 verb, what, fs->bucket, r->status);
    else if (code)
        err_setx(ei, rc, "cannot %s '%s': %s%s%s (HTTP %ld)", verb, what, cs, msg ? ": " : "",
                 msg ? msg : "", r->status);
    else
        err_setx(ei, rc, "cannot %s '%s': %s (HTTP %ld)", verb, what, err_str(rc), r->status);
    if (ei)
        ei->http_status = (int)r->status;
    free(code);
    free(msg);
    return rc;
}

int s3_head(struct s3_fs *fs, const char *path, const char *key, struct http_xresp *r,
            struct errinfo *ei)
{
    struct s3_call c = { .method = "HEAD", .key = key, .what = path };
    int rc = s3_do(fs, &c, r, ei);
    if (rc)
        return rc;
    if (r->status == 200)
        return ERR_OK;
    rc = r->status == 404 ? err_set(ei, ERR_NOT_FOUND, "cannot access '%s'", path)
                          : s3_error(fs, r, "access", path, ei);
    http_xresp_free(r);
    return rc;
}

/* ListObjectsV2 of one page. */
static int list_page(struct s3_fs *fs, const char *path, const char *prefix, bool delim,
                     int max_keys, const char *token, struct s3_page *pg, struct errinfo *ei)
{
    int rc;
    struct http_xresp r = {0};
    char *ep = s3_uri_encode(prefix, false), *et = token ? s3_uri_encode(token, false) : NULL;
    char *q = NULL;
    memset(pg, 0, sizeof *pg);
    if (!ep || (token && !et) ||
        asprintf(&q, "%s%s%s%sencoding-type=url&list-type=2&max-keys=%d&prefix=%s",
                 token ? "continuation-token=" : "", token ? et : "", token ? "&" : "",
                 delim ? "delimiter=%2F&" : "", max_keys, ep) < 0) {
        q = NULL;
        rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
        goto out;
    }
    struct s3_call c = { .method = "GET", .key = "", .query = q, .what = path };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        rc = s3_error(fs, &r, "list", path, ei);
        goto out;
    }
    if ((rc = s3_parse_list(r.body, r.len, pg, ei)))
        err_setx(ei, rc, "cannot list '%s': %s", path, ei ? ei->msg : "bad answer");
out:
    http_xresp_free(&r);
    free(ep);
    free(et);
    free(q);
    return rc;
}

int s3_dir_probe(struct s3_fs *fs, const char *path, const char *key, bool *exists,
                 bool *only_marker, struct errinfo *ei)
{
    struct s3_page pg;
    char *prefix = NULL;
    *exists = false;
    if (only_marker)
        *only_marker = false;
    if (asprintf(&prefix, "%s/", key) < 0)
        return err_setx(ei, ERR_NOMEM, "cannot access '%s': out of memory", path);
    int rc = list_page(fs, path, prefix, false, 2, NULL, &pg, ei);
    if (!rc) {
        *exists = pg.n > 0;
        if (only_marker)
            *only_marker = pg.n == 1 && !strcmp(pg.items[0].key, prefix);
        s3_page_free(&pg);
    }
    free(prefix);
    return rc;
}

int s3_list_all(struct s3_fs *fs, const char *path, const char *prefix,
                int (*cb)(void *arg, const struct s3_item *it), void *arg,
                struct errinfo *ei)
{
    int rc = ERR_OK;
    char *token = NULL;
    for (;;) {
        struct s3_page pg;
        if ((rc = list_page(fs, path, prefix, false, 1000, token, &pg, ei)))
            break;
        for (size_t i = 0; !rc && i < pg.n; i++)
            rc = cb(arg, &pg.items[i]);
        free(token);
        token = pg.truncated && pg.next_token ? strdup(pg.next_token) : NULL;
        bool more = pg.truncated && pg.next_token;
        s3_page_free(&pg);
        if (rc || !more)
            break;
        if (!token) {
            rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", path);
            break;
        }
    }
    free(token);
    return rc;
}

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

static void stat_from_head(const struct http_xresp *r, struct be_stat *st)
{
    char *cl = http_xresp_header(r, "Content-Length");
    char *lm = http_xresp_header(r, "Last-Modified");
    file_stat(st, cl ? strtoull(cl, NULL, 10) : 0, s3_parse_http_date(lm));
    free(cl);
    free(lm);
}

static int s3_stat(struct be_fs *f, const char *path, struct be_stat *st, struct errinfo *ei)
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
        stat_from_head(&r, st);
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

static int s3_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
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
        if ((rc = list_page(fs, path, prefix, true, 1000, token, &pg, ei)))
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

static int s3_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
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
        stat_from_head(&r, &st);
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

static int s3_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei)
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

static void s3_close_read(struct be_file *f)
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

static int s3_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei)
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

static int s3_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei)
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

static int s3_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei)
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

static int s3_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
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
        stat_from_head(&r, &st);
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

/* Open / close ------------------------------------------------------------------ */

static void s3_close(struct be_fs *f)
{
    struct s3_fs *fs = fs_of(f);
    if (!fs)
        return;
    free(fs->head.scheme);
    free(fs->head.authority);
    free(fs->bucket);
    free(fs->base);
    free(fs->host);
    free(fs->region);
    free(fs->endpoint);
    free(fs->cred.akid);
    if (fs->cred.secret) {
        memset(fs->cred.secret, 0, strlen(fs->cred.secret));
        free(fs->cred.secret);
    }
    if (fs->cred.token) {
        memset(fs->cred.token, 0, strlen(fs->cred.token));
        free(fs->cred.token);
    }
    http_pool_free(fs->pool);
    s3_acache_free(fs->acache);
    free(fs);
}

static const char *cfg_or_env(const struct be_config *cfg, const char *key, const char *env1,
                              const char *env2)
{
    const char *v = cfg && cfg->get ? cfg->get(cfg->ctx, key) : NULL;
    if (v && *v)
        return v;
    v = env1 ? getenv(env1) : NULL;
    if (v && *v)
        return v;
    v = env2 ? getenv(env2) : NULL;
    return v && *v ? v : NULL;
}

/* A size "<n>[K|M|G|T]" (Hadoop's form) of key (or def when unset) in
 * [min, max]; a bad one is an error naming the key. */
static int cfg_size(const struct be_config *cfg, const char *key, uint64_t def, uint64_t min,
                    uint64_t max, uint64_t *out, struct errinfo *ei)
{
    const char *v = cfg_or_env(cfg, key, NULL, NULL);
    *out = def;
    if (!v)
        return ERR_OK;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = 0;
    if (end != v && *end) {
        const char *u = "KMGT", *p = strchr(u, *end >= 'a' ? *end - 32 : *end);
        shift = p && *p ? 10 * (unsigned)(p - u + 1) : 64;
        end++;
        if (*end == 'b' || *end == 'B')
            end++;
    }
    if (end == v || *end || *v == '-' || shift == 64 || n > (max >> shift) || (n << shift) < min)
        return err_setx(ei, ERR_INVAL, "bad value '%s' for %s: want a size from %llu to %llu "
                        "bytes (K, M, G suffixes allowed)", v, key, (unsigned long long)min,
                        (unsigned long long)max);
    *out = (uint64_t)n << shift;
    return ERR_OK;
}

static bool is_true(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

static bool host_is_ip_or_local(const char *h)
{
    char buf[256];
    unsigned char tmp[16];
    if (h[0] == '[')
        return true;
    snprintf(buf, sizeof buf, "%s", h);
    char *colon = strrchr(buf, ':');
    if (colon)
        *colon = 0;
    return !strcasecmp(buf, "localhost") || inet_pton(AF_INET, buf, tmp) == 1;
}

static int s3_open(const char *scheme, const char *authority, const struct be_config *cfg,
                   struct be_fs **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    struct s3_fs *fs = calloc(1, sizeof *fs);
    char *ep = NULL;
    *out = NULL;
    if (!fs)
        goto nomem;
    fs->head.ops = &backend_s3;
    if (!(fs->head.scheme = strdup(scheme)) || !(fs->head.authority = strdup(authority)) ||
        !(fs->bucket = strdup(authority)))
        goto nomem;
    if (strlen(authority) < 3 || strchr(authority, '@') || strchr(authority, '/')) {
        rc = err_setx(ei, ERR_BAD_URI, "malformed URI '%s://%s': not a bucket name", scheme,
                      authority);
        goto out;
    }
    char what0[300];
    snprintf(what0, sizeof what0, "%s://%s", scheme, authority);
    if ((rc = s3_cred_resolve(cfg, what0, &fs->cred, &fs->region, ei)))
        goto out;
    const char *endpoint = cfg_or_env(cfg, "fs.s3a.endpoint", "AWS_ENDPOINT_URL_S3",
                                      "AWS_ENDPOINT_URL");
    const char *ssl = cfg_or_env(cfg, "fs.s3a.connection.ssl.enabled", NULL, NULL);
    bool default_ep = !endpoint;
    if (default_ep) {
        if (asprintf(&ep, "https://s3.%s.amazonaws.com", fs->region) < 0)
            goto nomem_ep;
    } else if (strstr(endpoint, "://")) {
        if (!(ep = strdup(endpoint)))
            goto nomem;
    } else if (asprintf(&ep, "%s://%s", ssl && !is_true(ssl) ? "http" : "https", endpoint) < 0) {
        goto nomem_ep;
    }
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/')
        ep[--el] = 0;
    fs->https = !strncasecmp(ep, "https://", 8);
    if (!fs->https && strncasecmp(ep, "http://", 7)) {
        rc = err_setx(ei, ERR_BAD_URI, "bad S3 endpoint '%s': not http:// or https://", ep);
        goto out;
    }
    const char *hp = strstr(ep, "://") + 3;
    if (!*hp || strchr(hp, '/')) {
        rc = err_setx(ei, ERR_BAD_URI, "bad S3 endpoint '%s': want scheme://host[:port]", ep);
        goto out;
    }
    char hostport[512];
    snprintf(hostport, sizeof hostport, "%s", hp);
    size_t hl = strlen(hostport);
    if (fs->https && hl > 4 && !strcmp(hostport + hl - 4, ":443"))
        hostport[hl - 4] = 0;
    else if (!fs->https && hl > 3 && !strcmp(hostport + hl - 3, ":80"))
        hostport[hl - 3] = 0;
    for (char *p = hostport; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    const char *ps = cfg_or_env(cfg, "fs.s3a.path.style.access", NULL, NULL);
    fs->path_style = ps ? is_true(ps) : host_is_ip_or_local(hostport);
    if (!fs->path_style && strchr(fs->bucket, '.') && fs->https)
        fs->path_style = true;   /* dotted names break TLS wildcard certificates */
    if (fs->path_style)
        rc = asprintf(&fs->host, "%s", hostport);
    else
        rc = asprintf(&fs->host, "%s.%s", fs->bucket, hostport);
    if (rc < 0) {
        fs->host = NULL;
        goto nomem;
    }
    if (asprintf(&fs->endpoint, "%s://%s", fs->https ? "https" : "http", hostport) < 0) {
        fs->endpoint = NULL;
        goto nomem;
    }
    rc = asprintf(&fs->base, "%s://%s", fs->https ? "https" : "http", fs->host);
    if (rc < 0) {
        fs->base = NULL;
        goto nomem;
    }
    rc = ERR_OK;
    const char *verify = cfg_or_env(cfg, "fs.s3a.ssl.verify", NULL, NULL);
    if (verify && !is_true(verify)) {
        fs->insecure = true;
        if (fs->https)
            fprintf(stderr, "distcp: WARNING: TLS certificate verification is off for "
                    "'%s://%s' (fs.s3a.ssl.verify=false)\n", scheme, authority);
    }
    if ((rc = cfg_size(cfg, "fs.s3a.multipart.threshold", 5ull << 30, 1, 5ull << 30,
                       &fs->copy_threshold, ei)) ||
        (rc = cfg_size(cfg, "fs.s3a.multipart.size", 64ull << 20, 5ull << 20, 5ull << 30,
                       &fs->copy_part, ei)))
        goto out;
    policy_init(&fs->retry);
    fs->acache = s3_acache_new();   /* NULL: getattrs asks with HEAD */
    if (!(fs->pool = http_pool_new()))
        goto nomem;
    /* the bucket must exist and the credentials work */
    struct http_xresp r = {0};
    char what[300];
    snprintf(what, sizeof what, "%s://%s", scheme, authority);
    struct s3_call c = { .method = "HEAD", .key = "", .what = what };
    if ((rc = s3_do(fs, &c, &r, ei)))
        goto out;
    if (r.status != 200) {
        if (r.status == 404)
            rc = err_setx(ei, ERR_NOT_FOUND, "cannot open '%s': bucket '%s' does not exist "
                          "(HTTP 404)", what, fs->bucket);
        else if (r.status == 403)
            rc = err_setx(ei, ERR_AUTH, "cannot open '%s': access denied (HTTP 403; check the "
                          "credentials, region and endpoint)", what);
        else
            rc = s3_error(fs, &r, "open", what, ei);
        http_xresp_free(&r);
        goto out;
    }
    http_xresp_free(&r);
    *out = &fs->head;
    fs = NULL;
    goto out;
nomem_ep:
    ep = NULL;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot open '%s://%s': out of memory", scheme, authority);
out:
    free(ep);
    s3_close(fs ? &fs->head : NULL);
    return rc;
}

const struct backend_ops backend_s3 = {
    .name = "s3",
    .mtime_gran_ns = 1000000000LL /* Last-Modified: whole seconds */,
    .caps = BE_CAP_EMPTY_DIRS | BE_CAP_PARALLEL_WRITE | BE_CAP_META_ATTRS | BE_CAP_CONTENT_TAG,
    .open = s3_open,
    .close = s3_close,
    .stat = s3_stat,
    .list = s3_list,
    .open_read = s3_open_read,
    .read = s3_read,
    .close_read = s3_close_read,
    .create = s3_create,
    .write = s3_write,
    .finish = s3_finish,
    .wsetmeta = s3_wsetmeta,
    .commit = s3_commit,
    .abort = s3_abort,
    .wshare = s3_wshare,
    .wjoin = s3_wjoin,
    .wjoin_end = s3_wjoin_end,
    .wreceipt = s3_wreceipt,
    .copy_range = s3_copy_range,
    .copy_whole = s3_copy_whole,
    .mkdirs = s3_mkdirs,
    .rename = s3_rename,
    .remove = s3_remove,
    .getmeta = s3_getmeta,
    .getattrs = s3_getattrs,
    .setattr = s3_setattr,
    .wsetattr = s3_wsetattr_meta,
    .abort_pending = s3_abort_pending,
};

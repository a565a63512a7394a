/* s3_call.c - one S3 request and its answer: signing (SigV4, s3_sigv4.c)
 * and sending through the one HTTP send path with the store's pool, the
 * retry policy (util/retry.h: 5xx but 501, 408, 429, RequestTimeout and
 * transport failures; Retry-After honoured), the mapping of error answers
 * to codes, and the ListObjectsV2 pages the other files build on
 * (docs/protocols.md §3, §4).
 *
 * Threading: no state of its own; the pool locks itself. */
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
#define S3_HDR_MAX 24
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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
void s3_policy_init(struct retry_policy *p)
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
int s3_list_page(struct s3_fs *fs, const char *path, const char *prefix, bool delim,
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
    int rc = s3_list_page(fs, path, prefix, false, 2, NULL, &pg, ei);
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
        if ((rc = s3_list_page(fs, path, prefix, false, 1000, token, &pg, ei)))
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

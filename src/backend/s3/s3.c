/* s3.c - the S3 backend (schemes "s3" and "s3a"): one bucket per be_fs,
 * paths map to keys ("/a/b" -> "a/b"), directories are common prefixes and
 * zero-byte "key/" markers (made by mkdirs, as Hadoop S3A does).
 *
 * This file opens and closes a store and holds the ops table; the rest
 * lives beside it (docs/protocols.md §3):
 *   s3_call.c   one request: SigV4 signing (s3_sigv4.c), the path sent
 *               as-is (keys with "..", "//" or a leading "/" reach the server
 *               unchanged), one shared connection pool, retries on 5xx /
 *               throttling / transport errors under util/retry.h's policy
 *               (§4), error answers mapped to codes, ListObjectsV2 pages
 *   s3_read.c   stat, listing (ListObjectsV2 with delimiter '/', streamed
 *               page by page; names passed through unchanged, the engine
 *               refuses unsafe ones), readers (ranged GETs, read-ahead)
 *   s3_ns.c     mkdirs, remove, rename, getmeta
 *   s3_write.c  writers: PutObject or a multipart upload completed at
 *               commit; s3_copy.c server-side copies; s3_share.c writers
 *               shared across processes
 *   s3_attr.c, s3_cred.c, s3_xml.c  attributes as metadata, credentials,
 *               XML answers
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


char *s3_key_of(const char *path)
{
    return strdup(path[0] == '/' ? path + 1 : path);
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
    s3_policy_init(&fs->retry);
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

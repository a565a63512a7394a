/* http.c - libcurl plumbing (see http.h): one send path, http_xrequest.
 * http_request/http_request_opts are thin wrappers that add WebHDFS's
 * headers and hand back the Location header.
 *
 * Each request uses its own easy handle, so nothing is shared between
 * threads except libcurl's global state, initialised once, and a pool's
 * connection cache (locked by the pool). Bodies are accumulated in a
 * growable buffer capped by the caller. */
#include "backend/http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc;

static void global_init(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    char *buf;
    size_t len, cap, max;
    bool over;
};

/* Append n bytes to a growable, NUL-terminated buffer (callers cap it). */
static bool buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 1024;
        while (nc < *len + n + 1)
            nc *= 2;
        char *b = realloc(*buf, nc);
        if (!b)
            return false;
        *buf = b;
        *cap = nc;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = 0;
    return true;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
    struct sink *s = arg;
    size_t n = sz * nm;
    if (s->len + n > s->max) {
        s->over = true;
        return 0;
    }
    return buf_append(&s->buf, &s->len, &s->cap, p, n) ? n : 0;
}

struct source {
    const char *p;
    size_t left;
};

static size_t on_read(char *dst, size_t sz, size_t nm, void *arg)
{
    struct source *s = arg;
    size_t n = sz * nm;
    if (n > s->left)
        n = s->left;
    memcpy(dst, s->p, n);
    s->p += n;
    s->left -= n;
    return n;
}

void http_resp_free(struct http_resp *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->location);
    free(r->retry_after);
    memset(r, 0, sizeof *r);
}

int http_request(const char *method, const char *url, const void *body,
                 size_t blen, size_t max_body, const char *what,
                 struct http_resp *r, struct errinfo *ei)
{
    return http_request_opts(method, url, body, blen, max_body, what, NULL, r, ei);
}

/* The WebHDFS-style call, sent through http_xrequest: the CSRF header
 * Hadoop asks for, an octet-stream Content-Type on uploads, dot segments
 * folded as libcurl does by default, and the Location kept. */
int http_request_opts(const char *method, const char *url, const void *body,
                      size_t blen, size_t max_body, const char *what,
                      const struct http_opts *o, struct http_resp *r, struct errinfo *ei)
{
    int rc;
    bool upload = !strcmp(method, "PUT") || !strcmp(method, "POST");
    const char *hdrs[] = { "X-XSRF-HEADER: distcp", "Content-Type: application/octet-stream" };
    struct http_xreq q = {
        .method = method, .url = url, .headers = hdrs, .nheaders = upload ? 2 : 1,
        .body = body, .blen = blen, .max_body = max_body, .auth = o, .fold_dots = 1,
        .what = what,
    };
    struct http_xresp x = {0};
    memset(r, 0, sizeof *r);
    if ((rc = http_xrequest(&q, &x, ei)))
        goto out;
    r->status = x.status;
    r->body = x.body;
    r->len = x.len;
    x.body = NULL;
    r->location = http_xresp_header(&x, "Location");
    r->retry_after = http_xresp_header(&x, "Retry-After");
out:
    http_xresp_free(&x);
    return rc;
}

char *http_escape(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(n * 3 + 1), *w = o;
    if (!o)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w = 0;
    return o;
}

/* Extended requests (see http.h) ------------------------------------------ */

#define HTTP_XHDR_MAX (64u << 10)
#define HTTP_POOL_CONNS 256   /* idle connections a pool keeps (>= workers) */

struct http_pool {
    CURLSH *sh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void pool_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *arg)
{
    struct http_pool *p = arg;
    pthread_mutex_lock(&p->locks[d]);
}

static void pool_unlock(CURL *h, curl_lock_data d, void *arg)
{
    struct http_pool *p = arg;
    pthread_mutex_unlock(&p->locks[d]);
}

struct http_pool *http_pool_new(void)
{
    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK)
        return NULL;
    struct http_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&p->locks[i], NULL);
    p->sh = curl_share_init();
    if (!p->sh) {
        http_pool_free(p);
        return NULL;
    }
    curl_share_setopt(p->sh, CURLSHOPT_LOCKFUNC, pool_lock);
    curl_share_setopt(p->sh, CURLSHOPT_UNLOCKFUNC, pool_unlock);
    curl_share_setopt(p->sh, CURLSHOPT_USERDATA, p);
    curl_share_setopt(p->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(p->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return p;
}

void http_pool_free(struct http_pool *p)
{
    if (!p)
        return;
    if (p->sh)
        curl_share_cleanup(p->sh);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&p->locks[i]);
    free(p);
}

struct xsink {
    struct sink s;
    char *dst;
    size_t dlen, dcap;
    bool over;
    bool truncate;        /* dst_truncate: over the cap ends the transfer, not an error */
};

static size_t on_xbody(char *p, size_t sz, size_t nm, void *arg)
{
    struct xsink *x = arg;
    size_t n = sz * nm;
    if (!x->dst)
        return on_body(p, sz, nm, &x->s);
    if (x->dlen + n > x->dcap) {
        if (x->truncate) {        /* keep what fits; the transfer ends here */
            memcpy(x->dst + x->dlen, p, x->dcap - x->dlen);
            x->dlen = x->dcap;
        }
        x->over = true;
        return 0;
    }
    memcpy(x->dst + x->dlen, p, n);
    x->dlen += n;
    return n;
}

struct xhdr {
    char *buf;
    size_t len, cap;
    bool over;
};

static size_t on_xheader(char *p, size_t sz, size_t nm, void *arg)
{
    struct xhdr *x = arg;
    size_t n = sz * nm;
    if (n >= 5 && !strncmp(p, "HTTP/", 5))
        x->len = 0;          /* a new response (after 100 Continue): start over */
    if (x->len + n + 1 > HTTP_XHDR_MAX) {
        x->over = true;
        return n;            /* keep going; later headers are dropped */
    }
    return buf_append(&x->buf, &x->len, &x->cap, p, n) ? n : 0;
}

void http_xresp_free(struct http_xresp *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

char *http_xresp_header(const struct http_xresp *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = r ? r->headers : NULL;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            size_t a = nl + 1, e = ll;
            while (a < e && (p[a] == ' ' || p[a] == '\t'))
                a++;
            while (e > a && (p[e - 1] == '\r' || p[e - 1] == ' ' || p[e - 1] == '\t'))
                e--;
            return strndup(p + a, e - a);
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

int http_xrequest(const struct http_xreq *q, struct http_xresp *r, struct errinfo *ei)
{
    int rc = ERR_OK;
    CURL *h = NULL;
    struct curl_slist *hdr = NULL;
    struct xsink xs = { .s = { .max = q->max_body }, .dst = q->dst, .dcap = q->dstcap,
                        .truncate = q->dst && q->dst_truncate };
    struct xhdr xh = {0};
    struct source src = { .p = q->body, .left = q->body ? q->blen : 0 };
    const char *what = q->what ? q->what : q->url;
    bool upload = !strcmp(q->method, "PUT") || !strcmp(q->method, "POST");

    memset(r, 0, sizeof *r);
    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK) {
        rc = err_setx(ei, ERR_INTERNAL, "cannot access '%s': libcurl init failed", what);
        goto out;
    }
    h = curl_easy_init();
    if (!h) {
        rc = err_setx(ei, ERR_NOMEM, "cannot access '%s': out of memory", what);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    if (!q->fold_dots)
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_xbody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &xs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_xheader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &xh);
    if (q->pool) {
        curl_easy_setopt(h, CURLOPT_SHARE, q->pool->sh);
        /* the shared cache keeps this many idle connections (libcurl's
         * default, 5, made every worker beyond the fifth reconnect) */
        curl_easy_setopt(h, CURLOPT_MAXCONNECTS, (long)HTTP_POOL_CONNS);
    }
    const struct http_opts *o = q->auth;
    if (o && o->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    if (o && o->negotiate && !o->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
        curl_easy_setopt(h, CURLOPT_USERPWD, ":");
    }
    if (o && o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (q->insecure || (o && o->insecure)) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; hdr && i < q->nheaders; i++)
        hdr = curl_slist_append(hdr, q->headers[i]);
    if (hdr && upload)
        hdr = curl_slist_append(hdr, "Transfer-Encoding:");
    if (!hdr) {
        rc = err_setx(ei, ERR_NOMEM, "cannot access '%s': out of memory", what);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (upload) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)src.left);
        if (strcmp(q->method, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    } else if (!strcmp(q->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(q->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_WRITE_ERROR && xs.truncate && xs.over) {
        r->truncated = 1;
        cc = CURLE_OK;
    }
    if (cc != CURLE_OK) {
        if (xs.s.over || xs.over)
            rc = err_setx(ei, ERR_LIMIT, "cannot access '%s': response longer than %zu bytes",
                          what, q->dst ? q->dstcap : q->max_body);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            rc = err_setx(ei, ERR_TIMEOUT, "cannot access '%s': %s", what, curl_easy_strerror(cc));
        else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
                 cc == CURLE_SSL_CERTPROBLEM)
            rc = err_setx(ei, ERR_AUTH, "cannot access '%s': TLS: %s", what,
                          curl_easy_strerror(cc));
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
            rc = err_setx(ei, ERR_CONN, "cannot access '%s': %s", what, curl_easy_strerror(cc));
        else
            rc = err_setx(ei, ERR_IO, "cannot access '%s': %s", what, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = xs.s.buf;
    r->len = q->dst ? xs.dlen : xs.s.len;
    xs.s.buf = NULL;
    r->headers = xh.buf;
    r->hlen = xh.len;
    xh.buf = NULL;
out:
    if (rc != ERR_OK)
        http_xresp_free(r);
    free(xs.s.buf);
    free(xh.buf);
    curl_slist_free_all(hdr);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

/* http.h - libcurl plumbing for the REST backends (S3, WebHDFS).
 *
 * One send path: every request goes through http_xrequest (http_request and
 * http_request_opts are WebHDFS-flavoured wrappers over it), so timeouts,
 * TLS settings, authentication and the mapping of transport failures to
 * error codes exist once. Retrying is not done here: each backend loops
 * with the one retry policy of util/retry.h (docs/protocols.md §4).
 *
 * One request per call on a fresh CURL easy handle (curl_global_init runs
 * once under pthread_once; a pool shares connections). Redirects are never
 * followed here: the caller sees 3xx and the Location header, which
 * WebHDFS's two-step CREATE/APPEND/OPEN needs. The response body is
 * collected into a buffer capped at `max_body` bytes (ERR_LIMIT beyond).
 * Transport failures: ERR_CONN (connect/resolve), ERR_TIMEOUT, ERR_AUTH
 * (TLS verification), ERR_IO (anything else, e.g. a reset).
 *
 * Threading: every function is reentrant. */
#ifndef DISTCP_HTTP_H
#define DISTCP_HTTP_H
#include <stddef.h>
#include "util/err.h"

struct http_resp {
    long status;        /* HTTP status, 0 before a response */
    char *body;         /* malloc'd, NUL-terminated, may be NULL when empty */
    size_t len;
    char *location;     /* malloc'd Location header or NULL */
    char *retry_after;  /* malloc'd Retry-After header or NULL */
};

/* Issue `method` on `url` with an optional body (NULL/0: none; for PUT/POST
 * an empty body is still sent as Content-Length: 0), with the header
 * "X-XSRF-HEADER: distcp" (and an octet-stream Content-Type on PUT/POST);
 * "/./" and "/../" in the URL's path are folded. Fills *r on any HTTP
 * answer (whatever the status) and returns ERR_OK; transport failures give
 * ERR_CONN / ERR_TIMEOUT / ERR_IO with a message naming `what`. */
int http_request(const char *method, const char *url, const void *body,
                 size_t blen, size_t max_body, const char *what,
                 struct http_resp *r, struct errinfo *ei);

/* Per-request options (all optional; a zeroed struct = http_request). The
 * password is handed to libcurl only, never put in a message. */
struct http_opts {
    const char *user, *password; /* HTTP Basic credentials (user != NULL) */
    const char *ca_file;         /* CA bundle for TLS verification, or NULL */
    int insecure;                /* nonzero: no TLS peer/host verification */
    int negotiate;               /* nonzero: SPNEGO (Kerberos through GSS-API, the default
                                    credentials: ticket cache or client keytab) */
};

/* http_request with options. */
int http_request_opts(const char *method, const char *url, const void *body,
                      size_t blen, size_t max_body, const char *what,
                      const struct http_opts *o, struct http_resp *r, struct errinfo *ei);
void http_resp_free(struct http_resp *r);

/* Percent-encode s (all but unreserved chars; '/' kept when keep_slash)
 * into a malloc'd string; NULL when out of memory. */
char *http_escape(const char *s, int keep_slash);


/* The send path -------------------------------------------------------------
 * Caller-supplied headers, response headers kept, optional connection
 * pool (a libcurl share of connections and DNS, safe across threads),
 * path sent as-is unless fold_dots, body optionally into a caller buffer.
 * A HEAD method sets NOBODY. */
struct http_pool;
/* NULL when out of memory. */
struct http_pool *http_pool_new(void);
/* Accepts NULL; no request may be running on the pool. */
void http_pool_free(struct http_pool *p);

struct http_xreq {
    const char *method;          /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    const char *url;
    const char *const *headers;  /* "Name: value" lines, nheaders of them (borrowed) */
    size_t nheaders;
    const void *body;            /* PUT/POST body (NULL/0: empty, Content-Length: 0) */
    size_t blen;
    size_t max_body;             /* cap for a body collected in resp->body */
    void *dst;                   /* non-NULL: the body goes here instead (ERR_LIMIT beyond dstcap) */
    size_t dstcap;
    int dst_truncate;            /* 1: a body longer than dstcap is cut there (resp->truncated,
                                  * the connection is dropped), not an error */
    struct http_pool *pool;      /* NULL: a fresh connection */
    int insecure;                /* 1: no TLS peer/host verification */
    const struct http_opts *auth;/* credentials, CA bundle, SPNEGO, insecure (NULL: none) */
    int fold_dots;               /* 1: libcurl folds "/./" and "/../" (else sent as-is) */
    const char *what;            /* for messages: the path or URI concerned */
};

struct http_xresp {
    long status;
    char *body;                  /* malloc'd, NUL-terminated, NULL when empty or dst used */
    size_t len;                  /* body bytes (also when written to dst) */
    char *headers;               /* malloc'd raw header block of the final response */
    size_t hlen;
    int truncated;               /* the body was cut at dstcap (dst_truncate) */
};

/* Send one request. Fills *r on any HTTP answer (whatever the status) and
 * returns ERR_OK; transport failures as above, naming q->what. */
int http_xrequest(const struct http_xreq *q, struct http_xresp *r, struct errinfo *ei);
void http_xresp_free(struct http_xresp *r);
/* The value of response header `name` (case-insensitive, trimmed),
 * malloc'd; NULL when absent. */
char *http_xresp_header(const struct http_xresp *r, const char *name);

#endif

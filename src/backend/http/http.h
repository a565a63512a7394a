/* http.h - minimal libcurl plumbing for the REST backends.
 *
 * One request per call on a fresh CURL easy handle (no shared mutable
 * state; curl_global_init runs once under pthread_once). Redirects are
 * never followed here: the caller sees 3xx and the Location header, which
 * WebHDFS's two-step CREATE/APPEND/OPEN needs. The response body is
 * collected into a buffer capped at `max_body` bytes (ERR_LIMIT beyond).
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
};

/* Issue `method` on `url` with an optional body (NULL/0: none; for PUT/POST
 * an empty body is still sent as Content-Length: 0). Fills *r on any HTTP
 * answer (whatever the status) and returns ERR_OK; transport failures give
 * ERR_CONN / ERR_TIMEOUT / ERR_IO with a message naming `what`. */
int http_request(const char *method, const char *url, const void *body,
                 size_t blen, size_t max_body, const char *what,
                 struct http_resp *r, struct errinfo *ei);
void http_resp_free(struct http_resp *r);

/* Percent-encode s (all but unreserved chars; '/' kept when keep_slash)
 * into a malloc'd string; NULL when out of memory. */
char *http_escape(const char *s, int keep_slash);

#endif

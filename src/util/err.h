/* err.h - error codes and caller-owned error details.
 *
 * Every fallible function returns an `int` error code (ERR_OK == 0) and may
 * fill an optional `struct errinfo *` owned by the caller (NULL allowed).
 * Messages name what failed first and quote the path:
 *   cannot open '/a/b': permission denied
 * Thread-safe: no global state. */
#ifndef DISTCP_ERR_H
#define DISTCP_ERR_H
#include <stdbool.h>
#include <stddef.h>

enum err_code {
#define X(name, cls, msg) ERR_##name,
#include "errors.def"
#undef X
    ERR__COUNT
};

enum err_class { ERRC_RETRY, ERRC_SKIP, ERRC_FATAL };

struct errinfo {
    int code;          /* enum err_code */
    int sys_errno;     /* errno when the cause was a system call, else 0 */
    int http_status;   /* HTTP status when the cause was a response, else 0 */
    char msg[1024];    /* full human message, NUL-terminated */
    bool retried;      /* the failure already went through a retry policy (a REST
                          backend's, util/retry.h) and is what is left when its attempts
                          ran out: callers must not retry it again. Sticky: err_set*
                          leave it, err_clear() clears it. */
};

const char *err_name(int code);      /* "NOT_FOUND" */
const char *err_str(int code);       /* "no such file or directory" */
enum err_class err_class_of(int code);
/* Is a failure with this code worth another attempt by the caller? Class
 * RETRY and not already retried (ei->retried; ei may be NULL). */
bool err_should_retry(int code, const struct errinfo *ei);

/* Map an errno value to an error code. */
int err_from_errno(int e);

/* Fill `ei` (may be NULL) with code and a printf-style message; returns code.
 * The message becomes "<formatted>: <err_str(code)>" unless the format
 * already ends the sentence (pass code's text yourself with err_setx). */
int err_set(struct errinfo *ei, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As err_set but the message is used verbatim. */
int err_setx(struct errinfo *ei, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* From errno: "<formatted>: <strerror(e)>", code from err_from_errno(e). */
int err_sys(struct errinfo *ei, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void err_clear(struct errinfo *ei);

#endif

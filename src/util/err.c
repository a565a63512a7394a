/* err.c - error code tables and errinfo helpers. No global mutable state. */
#include "err.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define X(name, cls, msg) #name,
#include "errors.def"
#undef X
};
static const char *const msgs[] = {
#define X(name, cls, msg) msg,
#include "errors.def"
#undef X
};
static const enum err_class classes[] = {
#define X(name, cls, msg) ERRC_##cls,
#include "errors.def"
#undef X
};

const char *err_name(int code)
{
    return (code >= 0 && code < ERR__COUNT) ? names[code] : "UNKNOWN";
}

const char *err_str(int code)
{
    return (code >= 0 && code < ERR__COUNT) ? msgs[code] : "unknown error";
}

enum err_class err_class_of(int code)
{
    return (code >= 0 && code < ERR__COUNT) ? classes[code] : ERRC_FATAL;
}

int err_from_errno(int e)
{
    switch (e) {
    case 0: return ERR_OK;
    case ENOENT: return ERR_NOT_FOUND;
    case EEXIST: return ERR_EXISTS;
    case ENOTDIR: return ERR_NOT_DIR;
    case EISDIR: return ERR_IS_DIR;
    case ENOTEMPTY: return ERR_NOT_EMPTY;
    case EACCES: case EPERM: return ERR_ACCESS;
    case ENOSPC: case EDQUOT: return ERR_NO_SPACE;
    case EROFS: return ERR_READ_ONLY;
    case ENAMETOOLONG: return ERR_NAME_TOO_LONG;
    case EXDEV: return ERR_XDEV;
    case ELOOP: return ERR_LOOP;
    case ENOMEM: return ERR_NOMEM;
    case EINVAL: return ERR_INVAL;
    case ENOTSUP: return ERR_UNSUPPORTED;
    case EINTR: case EAGAIN: case EBUSY: return ERR_BUSY;
    case ETIMEDOUT: return ERR_TIMEOUT;
    case ECONNRESET: case ECONNREFUSED: case EPIPE: return ERR_CONN;
    default: return ERR_IO;
    }
}

static void vfill(struct errinfo *ei, const char *fmt, va_list ap)
{
    vsnprintf(ei->msg, sizeof ei->msg, fmt, ap);
}

int err_set(struct errinfo *ei, int code, const char *fmt, ...)
{
    if (ei) {
        va_list ap;
        va_start(ap, fmt);
        vfill(ei, fmt, ap);
        va_end(ap);
        size_t n = strlen(ei->msg);
        snprintf(ei->msg + n, sizeof ei->msg - n, ": %s", err_str(code));
        ei->code = code;
        ei->sys_errno = 0;
        ei->http_status = 0;
    }
    return code;
}

int err_setx(struct errinfo *ei, int code, const char *fmt, ...)
{
    if (ei) {
        va_list ap;
        va_start(ap, fmt);
        vfill(ei, fmt, ap);
        va_end(ap);
        ei->code = code;
        ei->sys_errno = 0;
        ei->http_status = 0;
    }
    return code;
}

int err_sys(struct errinfo *ei, int e, const char *fmt, ...)
{
    int code = err_from_errno(e);
    if (ei) {
        va_list ap;
        va_start(ap, fmt);
        vfill(ei, fmt, ap);
        va_end(ap);
        size_t n = strlen(ei->msg);
        snprintf(ei->msg + n, sizeof ei->msg - n, ": %s", strerror(e));
        ei->code = code;
        ei->sys_errno = e;
        ei->http_status = 0;
    }
    return code;
}

void err_clear(struct errinfo *ei)
{
    if (ei) {
        ei->code = 0;
        ei->sys_errno = 0;
        ei->http_status = 0;
        ei->msg[0] = 0;
        ei->retried = false;
    }
}

bool err_should_retry(int code, const struct errinfo *ei)
{
    return err_class_of(code) == ERRC_RETRY && !(ei && ei->retried);
}

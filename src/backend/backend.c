/* backend.c - the scheme table and the URI helpers every caller uses to get
 * from a command-line argument to (store, path): split scheme, authority and
 * path, make local paths absolute, normalise ("//", "/./", trailing '/',
 * ".." resolved lexically as Hadoop's Path does), open the store.
 *
 * A plain path has no "scheme:" before its first '/' ("/a/b:c" is a plain
 * path; "x:y" names scheme "x", as in Hadoop). Percent-decoding applies to
 * file: URIs only; plain paths are taken literally.
 *
 * The test-only backends (mem://, faulty+<scheme>://) are in the table of
 * the test build (DISTCP_TESTING); the product knows their names and says
 * they are not built in.
 *
 * Threading: the table is constant; every function is reentrant (getcwd is
 * read per call). */
#include "backend/backend.h"
#ifdef DISTCP_TESTING
#include "backend/faulty/faulty_int.h"   /* faulty_shown */
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SCHEME_MAX 32
#define URI_MAX (64u * 1024)

static const struct {
    const char *scheme;
    const struct backend_ops *ops; /* NULL: known, not built in */
    bool test_only;                /* built into the test build only */
} schemes[] = {
    {.scheme = "file", .ops = &backend_local},
    {.scheme = "", .ops = &backend_local},
#ifdef DISTCP_TESTING
    {.scheme = "mem", .ops = &backend_mem, .test_only = true},       /* mem/mem.c */
    {.scheme = "faulty", .ops = &backend_faulty, .test_only = true}, /* "faulty+<scheme>" (faulty/faulty.c) */
#else
    {.scheme = "mem", .ops = NULL, .test_only = true},
    {.scheme = "faulty", .ops = NULL, .test_only = true},
#endif
    {.scheme = "gen", .ops = &backend_gen},
    {.scheme = "s3", .ops = &backend_s3},
    {.scheme = "s3a", .ops = &backend_s3},
    {.scheme = "webhdfs", .ops = &backend_webhdfs},
    {.scheme = "swebhdfs", .ops = &backend_webhdfs},
    {.scheme = "hdfs", .ops = &backend_webhdfs}, /* via the NameNode HTTP address (webhdfs.c) */
    {.scheme = "https", .ops = NULL},
    {.scheme = "http", .ops = NULL},
    {.scheme = "abfs", .ops = NULL},
    {.scheme = "abfss", .ops = NULL},
    {.scheme = "wasb", .ops = NULL},
    {.scheme = "wasbs", .ops = NULL},
};

/* ERR_OK with *ops set, ERR_NOT_BUILT or ERR_BAD_URI. "faulty+<inner>"
 * is the faulty wrapper's entry (it opens <inner> itself). *test_only (may
 * be NULL): the scheme is one of the test build's. */
static int scheme_lookup(const char *scheme, const struct backend_ops **ops, bool *test_only)
{
    *ops = NULL;
    if (strncasecmp(scheme, "faulty+", 7) == 0 && scheme[7])
        scheme = "faulty";
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strcasecmp(schemes[i].scheme, scheme) == 0) {
            *ops = schemes[i].ops;
            if (test_only)
                *test_only = schemes[i].test_only;
            return *ops ? ERR_OK : ERR_NOT_BUILT;
        }
    }
    return ERR_BAD_URI;
}

const struct backend_ops *backend_for_scheme(const char *scheme,
                                             struct errinfo *ei)
{
    const struct backend_ops *ops;
    bool test_only = false;
    int rc = scheme_lookup(scheme, &ops, &test_only);
    if (rc == ERR_NOT_BUILT && test_only)
        err_setx(ei, rc, "scheme '%s' is a test backend, not built into this binary "
                 "(build with -DDISTCP_TESTING=ON)", scheme);
    else if (rc == ERR_NOT_BUILT)
        err_setx(ei, rc, "scheme '%s' is not built into this distcp (yet)", scheme);
    else if (rc != ERR_OK)
        err_setx(ei, rc, "unknown scheme '%s'", scheme);
    return ops;
}

void be_attrs_release(struct be_attrs *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nxattrs; i++) {
        free(a->xattrs[i].name);
        free(a->xattrs[i].value);
    }
    free(a->xattrs);
    free(a->acl);
    a->xattrs = NULL;
    a->nxattrs = 0;
    a->acl = NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Decode %XX in place; false on a malformed escape or an encoded NUL. */
static bool pct_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hexval((unsigned char)r[1]), lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = 0;
    return true;
}

/* Normalise an absolute path into a new string: empty and "." segments
 * dropped, ".." removes the previous segment (never above "/"), no
 * trailing '/'. */
static char *normalize(const char *p)
{
    size_t n = strlen(p);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    size_t len = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t sl = (size_t)(e - s);
        if (sl == 0 || (sl == 1 && s[0] == '.')) {
            /* nothing */
        } else if (sl == 2 && s[0] == '.' && s[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before the removed segment */
        } else {
            out[len++] = '/';
            memcpy(out + len, s, sl);
            len += sl;
        }
        s = e;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = 0;
    return out;
}

/* http(s)://host[:port]/<prefix>/webhdfs/v1[/...]: a WebHDFS gateway (Knox)
 * URL, served by the WebHDFS backend; other http(s) URLs are not built. */
static bool knox_uri(const char *scheme, const char *rest)
{
    if ((strcmp(scheme, "http") && strcmp(scheme, "https")) || strncmp(rest, "//", 2))
        return false;
    const char *p = strchr(rest + 2, '/');
    for (const char *h = p; h && (h = strstr(h, "/webhdfs/v1")); h++)
        if (h[11] == 0 || h[11] == '/')
            return h > p; /* at least one prefix segment (e.g. /gateway/<topology>) */
    return false;
}

int backend_open_uri(const char *uri, const struct be_config *cfg,
                     struct be_fs **fs, char **path, struct errinfo *ei)
{
    int rc = ERR_OK;
    char scheme[SCHEME_MAX] = "";
    char *auth = NULL, *raw = NULL, *abs = NULL;
    const char *rest = uri;
    bool has_scheme = false;

    *fs = NULL;
    *path = NULL;
    if (!uri || !*uri) {
        rc = err_setx(ei, ERR_BAD_URI, "Can not create a Path from an empty string");
        goto out;
    }
    if (strlen(uri) > URI_MAX) {
        rc = err_setx(ei, ERR_TOO_LONG, "cannot use '%.64s...': longer than %u bytes", uri, URI_MAX);
        goto out;
    }
    const char *colon = strchr(uri, ':'), *slash = strchr(uri, '/');
    if (colon && (!slash || colon < slash)) {
        size_t sl = (size_t)(colon - uri);
        bool ok = sl > 0 && sl < SCHEME_MAX && isalpha((unsigned char)uri[0]);
        for (size_t i = 0; ok && i < sl; i++) {
            unsigned char c = (unsigned char)uri[i];
            ok = isalnum(c) || c == '+' || c == '-' || c == '.';
            scheme[i] = (char)tolower(c);
        }
        if (!ok) {
            rc = err_setx(ei, ERR_BAD_URI, "malformed URI '%s': bad scheme", uri);
            goto out;
        }
        scheme[sl] = 0;
        rest = colon + 1;
        has_scheme = true;
    }
    const struct backend_ops *ops = knox_uri(scheme, rest) ? &backend_webhdfs
                                                            : backend_for_scheme(scheme, ei);
    if (!ops) {
        const struct backend_ops *unused;
        rc = scheme_lookup(scheme, &unused, NULL);
        goto out;
    }
    bool local = ops == &backend_local;
    if (has_scheme && rest[0] == '/' && rest[1] == '/') {
        const char *a = rest + 2, *e = strchr(a, '/');
        size_t al = e ? (size_t)(e - a) : strlen(a);
        auth = strndup(a, al);
        rest = a + al;
    } else {
        auth = strdup("");
    }
    raw = strdup(rest);
    if (!auth || !raw)
        goto nomem;
    if (local && auth[0] && strcasecmp(auth, "localhost") != 0) {
        rc = err_setx(ei, ERR_BAD_URI, "malformed URI '%s': a file URI cannot name host '%s'",
                      uri, auth);
        goto out;
    }
    if (local && has_scheme && !pct_decode(raw)) {
        rc = err_setx(ei, ERR_BAD_URI, "malformed URI '%s': bad %%-escape", uri);
        goto out;
    }
    if (raw[0] != '/') {
        char cwd[PATH_MAX] = "/";
        if (local && !getcwd(cwd, sizeof cwd)) {
            rc = err_sys(ei, errno, "cannot resolve '%s': cannot get the working directory", uri);
            goto out;
        }
        size_t n = strlen(cwd) + 1 + strlen(raw) + 1;
        abs = malloc(n);
        if (!abs)
            goto nomem;
        snprintf(abs, n, "%s/%s", cwd, raw);
    }
    *path = normalize(abs ? abs : raw);
    if (!*path)
        goto nomem;
    rc = ops->open(has_scheme ? scheme : "file", local ? "" : auth, cfg, fs, ei);
    if (rc != ERR_OK) {
        *fs = NULL;
        free(*path);
        *path = NULL;
    }
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot open '%s': out of memory", uri);
out:
    free(auth);
    free(raw);
    free(abs);
    return rc;
}

/* The store users see: a faulty:// wrapper shows as the store it wraps. */
static const struct be_fs *shown(const struct be_fs *fs)
{
#ifdef DISTCP_TESTING
    return fs ? faulty_shown(fs) : fs;
#else
    return fs;
#endif
}

void backend_display(const struct be_fs *fs, const char *path, char *buf,
                     size_t n)
{
    if (!buf || n == 0)
        return;
    fs = shown(fs);
    if (!fs || fs->ops == &backend_local)
        snprintf(buf, n, "%s", path);
    else
        snprintf(buf, n, "%s://%s%s", fs->scheme, fs->authority ? fs->authority : "", path);
}

void backend_qualified(const struct be_fs *fs, const char *path, char *buf,
                       size_t n)
{
    if (!buf || n == 0)
        return;
    fs = shown(fs);
    if (!fs || fs->ops == &backend_local)
        snprintf(buf, n, "file:%s", path);
    else
        snprintf(buf, n, "%s://%s%s", fs->scheme, fs->authority ? fs->authority : "", path);
}

void backend_close(struct be_fs *fs)
{
    if (fs)
        fs->ops->close(fs);
}

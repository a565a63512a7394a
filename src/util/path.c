/* path.c - lexical path helpers: normalise, resolve "..", check and join
 * target keys, parent/basename, containment.
 *
 * Invariants: results are always NUL-terminated; in-place edits never grow
 * the string; malloc'd results are sized from the inputs (no growth).
 * Threading: no state. */
#include "util/path.h"
#include <stdlib.h>
#include <string.h>

/* Is the component s[0..n) "." or ".."? */
static bool is_dot(const char *s, size_t n)
{
    return n == 1 && s[0] == '.';
}

static bool is_dotdot(const char *s, size_t n)
{
    return n == 2 && s[0] == '.' && s[1] == '.';
}

size_t path_normalize(char *p)
{
    bool abs = p[0] == '/';
    size_t r = 0, w = abs ? 1 : 0;

    if (!p[0])
        return 0;
    while (p[r]) {
        size_t s, n;
        while (p[r] == '/')
            r++;
        if (!p[r])
            break;
        s = r;
        while (p[r] && p[r] != '/')
            r++;
        n = r - s;
        if (is_dot(p + s, n))
            continue;
        if (w > (abs ? 1u : 0u))
            p[w++] = '/';
        memmove(p + w, p + s, n); /* w <= s: never overtakes the reader */
        w += n;
    }
    if (w == 0)
        p[w++] = '.';
    p[w] = 0;
    return w;
}

char *path_resolve_dotdot(const char *p)
{
    size_t len = strlen(p), r = 0;
    bool abs = p[0] == '/';
    char *o = malloc(len + 2);
    size_t w = 0, floor; /* o[0..floor) is never popped */

    if (!o)
        return NULL;
    if (abs)
        o[w++] = '/';
    floor = w;
    while (p[r]) {
        size_t s, n;
        while (p[r] == '/')
            r++;
        if (!p[r])
            break;
        s = r;
        while (p[r] && p[r] != '/')
            r++;
        n = r - s;
        if (is_dot(p + s, n))
            continue;
        if (is_dotdot(p + s, n)) {
            if (w > floor) { /* drop the last component and its '/' */
                while (w > floor && o[w - 1] != '/')
                    w--;
                if (w > floor)
                    w--;
                continue;
            }
            if (abs) /* ".." at the root is the root */
                continue;
        }
        if (w > (abs ? 1u : 0u))
            o[w++] = '/';
        memcpy(o + w, p + s, n);
        w += n;
        if (is_dotdot(p + s, n))
            floor = w; /* an unresolvable leading ".." of a relative path */
    }
    if (w == 0)
        o[w++] = '.';
    o[w] = 0;
    return o;
}

bool path_key_is_safe(const char *key, size_t len)
{
    size_t i = 1;

    if (len == 0)
        return true;
    if (len > PATH_KEY_MAX || key[0] != '/' || memchr(key, 0, len))
        return false;
    for (;;) {
        size_t s = i, n;
        while (i < len && key[i] != '/')
            i++;
        n = i - s;
        if (n == 0 || n > PATH_COMPONENT_MAX || is_dot(key + s, n) ||
            is_dotdot(key + s, n))
            return false;
        if (i == len)
            return true;
        i++; /* the '/' */
    }
}

char *path_join(const char *base, const char *key)
{
    size_t blen = strlen(base), klen = strlen(key);
    bool sep;
    char *o;

    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    if (blen == 1 && base[0] == '/' && klen > 0)
        blen = 0; /* "/" + "/a" -> "/a", not "//a" */
    sep = klen > 0 && key[0] != '/' && (blen > 0 || base[0] == '/');
    o = malloc(blen + sep + klen + 1);
    if (!o)
        return NULL;
    memcpy(o, base, blen);
    if (sep)
        o[blen] = '/';
    memcpy(o + blen + sep, key, klen + 1);
    return o;
}

char *path_parent(const char *p)
{
    size_t len = strlen(p);

    while (len > 1 && p[len - 1] == '/')
        len--;
    while (len > 0 && p[len - 1] != '/')
        len--;
    if (len == 0)
        return strdup(".");
    while (len > 1 && p[len - 1] == '/')
        len--;
    return strndup(p, len);
}

const char *path_basename(const char *p)
{
    const char *r = strrchr(p, '/');
    return r ? r + 1 : p;
}

/* Already in path_resolve_dotdot's output form? */
static bool is_clean(const char *s)
{
    size_t i = s[0] == '/' ? 1 : 0;

    if (!s[0])
        return false;
    if (s[0] == '/' && !s[1])
        return true;
    for (;;) {
        size_t st = i, n;
        while (s[i] && s[i] != '/')
            i++;
        n = i - st;
        if (n == 0 || is_dot(s + st, n) || is_dotdot(s + st, n))
            return false;
        if (!s[i])
            return true;
        i++;
    }
}

static bool within_clean(const char *p, const char *d)
{
    size_t dlen;

    if (strcmp(d, "/") == 0)
        return true;
    if (strcmp(d, ".") == 0)
        return strcmp(p, "..") != 0 && strncmp(p, "../", 3) != 0;
    dlen = strlen(d);
    return strncmp(p, d, dlen) == 0 && (p[dlen] == 0 || p[dlen] == '/');
}

bool path_is_within(const char *p, const char *dir)
{
    char *cp = NULL, *cd = NULL;
    bool r = false;

    if ((p[0] == '/') != (dir[0] == '/'))
        goto out;
    if (is_clean(p) && is_clean(dir)) {
        r = within_clean(p, dir);
        goto out;
    }
    cp = path_resolve_dotdot(p);
    cd = path_resolve_dotdot(dir);
    if (cp && cd)
        r = within_clean(cp, cd);
out:
    free(cp);
    free(cd);
    return r;
}

/* filter.c - exclusion filters on PCRE2, matched like Java's matches().
 *
 * Each pattern is compiled anchored at both ends (PCRE2_ANCHORED |
 * PCRE2_ENDANCHORED at compile time, so JIT stays usable) in up to two forms:
 *   utf: PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, JIT-compiled; used for paths
 *        that are valid UTF-8 (the common case; Java semantics for '.').
 *   raw: byte mode (PCRE2_NEVER_UTF), interpreted; used for paths that are
 *        not valid UTF-8, so ".*" still matches them.
 * A pattern that is not valid UTF-8 itself has only the raw form; a pattern
 * that compiles only in UTF mode (e.g. "\x{100}") uses the utf form for all
 * paths. Java's "\uXXXX" is accepted: a pattern PCRE2 rejects for "\u" is
 * retried with PCRE2_ALT_BSUX.
 *
 * Threading: patterns are immutable after filter_add. filter_excludes keeps
 * its match data in a small allocator over a stack buffer (heap only for
 * large interpreter frames), so concurrent calls share nothing mutable.
 * Invariant: for every pattern at least one of utf/raw is non-NULL. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "util/filter.h"
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_OPTS (PCRE2_ANCHORED | PCRE2_ENDANCHORED)
#define MSG_REGEX_MAX 200 /* bytes of a regex quoted in a message */

struct fpat {
    pcre2_code *utf; /* for valid UTF-8 subjects (or all, if raw is NULL) */
    pcre2_code *raw; /* byte mode, for invalid UTF-8 subjects */
};

struct filter {
    struct fpat *v;
    size_t n, cap;
};

/* Strictly valid UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t need;
        uint32_t cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* Compile with `opts`; on PCRE2's "\u unsupported" retry in ECMAScript
 * escape mode, which reads "\uXXXX" as Java does. */
static pcre2_code *compile(const char *re, size_t len, uint32_t opts,
                           int *errcode, PCRE2_SIZE *erroff)
{
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, len, opts, errcode, erroff,
                                  NULL);
    if (!c && *errcode == PCRE2_ERROR_UNSUPPORTED_ESCAPE_SEQUENCE) {
        pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
        if (cc) {
            pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
            c = pcre2_compile((PCRE2_SPTR)re, len, opts | PCRE2_ALT_BSUX,
                              errcode, erroff, cc);
            pcre2_compile_context_free(cc);
        }
    }
    return c;
}

/* Add re[0..len). `where` is "" or " (line N of '<p>')" for messages. */
static int add_n(struct filter *f, const char *re, size_t len,
                 const char *where, struct errinfo *ei)
{
    struct fpat p = {0};
    int errcode = 0, rc = ERR_OK;
    PCRE2_SIZE erroff = 0;
    int shown = len > MSG_REGEX_MAX ? MSG_REGEX_MAX : (int)len;
    const char *more = len > MSG_REGEX_MAX ? "..." : "";

    if (f->n >= FILTER_MAX_PATTERNS) {
        rc = err_setx(ei, ERR_LIMIT, "invalid filter regex '%.*s%s'%s: more "
                      "than %d filter patterns", shown, re, more, where,
                      FILTER_MAX_PATTERNS);
        goto out;
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        struct fpat *nv = realloc(f->v, ncap * sizeof *nv);
        if (!nv)
            goto nomem;
        f->v = nv;
        f->cap = ncap;
    }
    if (utf8_valid((const unsigned char *)re, len)) {
        p.utf = compile(re, len, BASE_OPTS | PCRE2_UTF |
                        PCRE2_MATCH_INVALID_UTF, &errcode, &erroff);
        if (!p.utf)
            goto bad;
        pcre2_jit_compile(p.utf, PCRE2_JIT_COMPLETE); /* best effort */
        p.raw = compile(re, len, BASE_OPTS | PCRE2_NEVER_UTF, &errcode,
                        &erroff);
        /* NULL raw is fine: the utf form then serves every subject. */
    } else {
        p.raw = compile(re, len, BASE_OPTS | PCRE2_NEVER_UTF, &errcode,
                        &erroff);
        if (!p.raw)
            goto bad;
        pcre2_jit_compile(p.raw, PCRE2_JIT_COMPLETE);
    }
    f->v[f->n++] = p;
    return ERR_OK;
bad:
    if (errcode == PCRE2_ERROR_NOMEMORY)
        goto nomem;
    {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", errcode);
        rc = err_setx(ei, ERR_BAD_REGEX, "invalid filter regex '%.*s%s'%s: "
                      "%s at offset %zu", shown, re, more, where, (char *)msg,
                      (size_t)erroff);
    }
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "invalid filter regex '%.*s%s'%s: out of "
                  "memory", shown, re, more, where);
out:
    pcre2_code_free(p.utf);
    pcre2_code_free(p.raw);
    return rc;
}

struct filter *filter_new(void)
{
    return calloc(1, sizeof(struct filter));
}

int filter_add(struct filter *f, const char *regex, struct errinfo *ei)
{
    return add_n(f, regex, strlen(regex), "", ei);
}

size_t filter_count(const struct filter *f)
{
    return f ? f->n : 0;
}

/* Drop patterns added after the first `keep`. */
static void truncate_to(struct filter *f, size_t keep)
{
    while (f->n > keep) {
        f->n--;
        pcre2_code_free(f->v[f->n].utf);
        pcre2_code_free(f->v[f->n].raw);
    }
}

/* Read at most FILTER_MAX_FILE_BYTES of `path` into a malloc'd buffer. */
static int read_capped(const char *path, char **out, size_t *outlen,
                       struct errinfo *ei)
{
    char *buf = NULL;
    size_t len = 0;
    int fd, rc = ERR_OK;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_sys(ei, errno, "cannot read filters file '%s'", path);
    /* One byte more than the cap tells "too large" from "exactly the cap". */
    buf = malloc(FILTER_MAX_FILE_BYTES + 1);
    if (!buf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read filters file '%s': out of "
                      "memory", path);
        goto out;
    }
    while (len <= FILTER_MAX_FILE_BYTES) {
        ssize_t r = read(fd, buf + len, FILTER_MAX_FILE_BYTES + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_sys(ei, errno, "cannot read filters file '%s'", path);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > FILTER_MAX_FILE_BYTES) {
        rc = err_setx(ei, ERR_LIMIT, "cannot read filters file '%s': larger "
                      "than %d bytes", path, FILTER_MAX_FILE_BYTES);
        goto out;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

int filter_load_file(struct filter *f, const char *path, struct errinfo *ei)
{
    size_t keep = f->n, len = 0, pos = 0, line = 0;
    char *buf = NULL;
    int rc;

    rc = read_capped(path, &buf, &len, ei);
    if (rc)
        goto out;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len) {
        size_t end = pos;
        char where[64 + 4096];

        while (end < len && buf[end] != '\n' && buf[end] != '\r')
            end++;
        line++;
        snprintf(where, sizeof where, " (line %zu of '%s')", line, path);
        rc = add_n(f, buf + pos, end - pos, where, ei);
        if (rc)
            goto out;
        if (end < len && buf[end] == '\r' && end + 1 < len &&
            buf[end + 1] == '\n')
            end++;
        pos = end + 1;
    }
out:
    if (rc)
        truncate_to(f, keep);
    free(buf);
    return rc;
}

/* ---- matching ------------------------------------------------------------- */

/* A bump allocator over a stack buffer; overflow goes to the heap. Holds the
 * general context and match data of one filter_excludes call. */
struct stack_arena {
    alignas(max_align_t) unsigned char buf[1024];
    size_t used;
};

static void *arena_malloc(size_t n, void *data)
{
    struct stack_arena *a = data;
    size_t need = (n + alignof(max_align_t) - 1) &
                  ~(alignof(max_align_t) - 1);

    if (need >= n && need <= sizeof a->buf - a->used) {
        void *p = a->buf + a->used;
        a->used += need;
        return p;
    }
    return malloc(n);
}

static void arena_free(void *p, void *data)
{
    struct stack_arena *a = data;
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)a->buf;

    if (p && (u < lo || u >= lo + sizeof a->buf))
        free(p);
}

static bool match_one(const pcre2_code *c, const char *s, size_t len,
                      uint32_t opts, pcre2_match_data *md)
{
    int r = pcre2_match(c, (PCRE2_SPTR)s, len, 0, opts, md, NULL);
    if (r == PCRE2_ERROR_JIT_STACKLIMIT) /* interpreter has larger limits */
        r = pcre2_match(c, (PCRE2_SPTR)s, len, 0, opts | PCRE2_NO_JIT, md,
                        NULL);
    return r >= 0;
}

bool filter_excludes(const struct filter *f, const char *s, size_t len)
{
    struct stack_arena arena;
    pcre2_general_context *gc = NULL;
    pcre2_match_data *md = NULL;
    bool valid, hit = false;

    if (!f || f->n == 0)
        return false;
    arena.used = 0;
    gc = pcre2_general_context_create(arena_malloc, arena_free, &arena);
    if (!gc)
        goto out;
    md = pcre2_match_data_create(1, gc);
    if (!md)
        goto out;
    valid = utf8_valid((const unsigned char *)s, len);
    for (size_t i = 0; i < f->n && !hit; i++) {
        const struct fpat *p = &f->v[i];
        if (valid && p->utf)
            hit = match_one(p->utf, s, len, PCRE2_NO_UTF_CHECK, md);
        else if (p->raw)
            hit = match_one(p->raw, s, len, 0, md);
        else
            hit = match_one(p->utf, s, len, 0, md);
    }
out:
    pcre2_match_data_free(md);
    pcre2_general_context_free(gc);
    return hit;
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    truncate_to(f, 0);
    free(f->v);
    free(f);
}

/* faulty_rules.c - the rule language of faulty:// (docs/testing.md §3):
 * parse "op[|op...]:glob:effect[,effect...]" and "missing=slot[|slot...]"
 * items separated by ';', match calls against them, and word the injected
 * errors the way a real store's would read.
 *
 * Invariants: a parsed rule set is immutable; each rule's `hits` counts the
 * calls that matched its ops and glob (atomic), and the rule fires on calls
 * number first..last of them. Threading: faulty_hit from any thread.
 * TEST BUILD ONLY. */
#include "backend/faulty/faulty_int.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const op_names[FO__COUNT] = {
    [FO_STAT] = "stat", [FO_LIST] = "list", [FO_OPEN_READ] = "open_read",
    [FO_READ] = "read", [FO_CREATE] = "create", [FO_WRITE] = "write",
    [FO_FINISH] = "finish", [FO_COMMIT] = "commit", [FO_ABORT] = "abort",
    [FO_OPEN_APPEND] = "open_append", [FO_COPY_RANGE] = "copy_range",
    [FO_MKDIRS] = "mkdirs", [FO_RENAME] = "rename", [FO_REMOVE] = "remove",
    [FO_GETATTRS] = "getattrs", [FO_SETATTR] = "setattr", [FO_WSETATTR] = "wsetattr",
    [FO_GETMETA] = "getmeta", [FO_SETMETA] = "setmeta", [FO_WSETMETA] = "wsetmeta",
    [FO_READLINK] = "readlink", [FO_SYMLINK] = "symlink", [FO_CHECKSUM] = "checksum",
    [FO_WCHECKSUM] = "wchecksum", [FO_ABORT_PENDING] = "abort_pending",
    [FO_WSHARE] = "wshare", [FO_WJOIN] = "wjoin", [FO_WJOIN_END] = "wjoin_end",
    [FO_WRECEIPT] = "wreceipt", [FO_SNAPSHOT] = "snapshot", [FO_SYNC] = "sync",
};

/* How a real store words the failure of each operation. */
static const char *const op_verbs[FO__COUNT] = {
    [FO_STAT] = "stat", [FO_LIST] = "list", [FO_OPEN_READ] = "open",
    [FO_READ] = "read", [FO_CREATE] = "create", [FO_WRITE] = "write",
    [FO_FINISH] = "finish", [FO_COMMIT] = "commit", [FO_ABORT] = "abort",
    [FO_OPEN_APPEND] = "append to", [FO_COPY_RANGE] = "copy",
    [FO_MKDIRS] = "create directory", [FO_RENAME] = "rename", [FO_REMOVE] = "remove",
    [FO_GETATTRS] = "get attributes of", [FO_SETATTR] = "set attributes of",
    [FO_WSETATTR] = "set attributes of", [FO_GETMETA] = "get metadata of",
    [FO_SETMETA] = "set metadata of", [FO_WSETMETA] = "set metadata of",
    [FO_READLINK] = "read link", [FO_SYMLINK] = "create link",
    [FO_CHECKSUM] = "get the checksum of", [FO_WCHECKSUM] = "get the checksum of",
    [FO_ABORT_PENDING] = "abort upload", [FO_WSHARE] = "share",
    [FO_WJOIN] = "join", [FO_WJOIN_END] = "end", [FO_WRECEIPT] = "take receipt for",
    [FO_SNAPSHOT] = "snapshot", [FO_SYNC] = "sync",
};

/* The errno whose text a local store would print for an injected code. */
static const struct { int code, e; } code_errno[] = {
    {ERR_ACCESS, EACCES}, {ERR_IO, EIO}, {ERR_NO_SPACE, ENOSPC},
    {ERR_TIMEOUT, ETIMEDOUT}, {ERR_NOT_FOUND, ENOENT}, {ERR_READ_ONLY, EROFS},
    {ERR_CONN, ECONNRESET}, {ERR_BUSY, EBUSY}, {ERR_EXISTS, EEXIST},
    {ERR_NOT_DIR, ENOTDIR}, {ERR_IS_DIR, EISDIR}, {ERR_NOT_EMPTY, ENOTEMPTY},
    {ERR_NOMEM, ENOMEM},
};

static int op_lookup(const char *s, size_t n)
{
    for (int i = 0; i < FO__COUNT; i++)
        if (strlen(op_names[i]) == n && !strncmp(op_names[i], s, n))
            return i;
    return -1;
}

/* "ACCESS", "err_access", "no_space", ... -> code, or -1. */
static int code_lookup(const char *s)
{
    if (!strncasecmp(s, "ERR_", 4))
        s += 4;
    for (int c = 1; c < ERR__COUNT; c++)
        if (!strcasecmp(err_name(c), s))
            return c;
    return -1;
}

static bool num(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

/* One effect item of a rule ("err=IO", "nth=3", ...). */
static int parse_effect(struct faulty_rule *r, char *it, struct errinfo *ei)
{
    char *eq = strchr(it, '=');
    const char *val = eq ? eq + 1 : "";
    uint64_t v = 0;
    if (eq)
        *eq = 0;
    bool ok = true;
    if (!strcmp(it, "once") && !eq) {
        r->first = r->last = 1;
    } else if (!strcmp(it, "always") && !eq) {
        r->first = 1;
        r->last = UINT64_MAX;
    } else if (!strcmp(it, "err")) {
        int c = code_lookup(val);
        ok = c > 0;
        r->err = c;
    } else if (!(ok = num(val, &v))) {
        /* every other item takes a number */
    } else if (!strcmp(it, "short")) {
        r->has_short = true;
        r->short_at = v;
    } else if (!strcmp(it, "piece")) {
        ok = v > 0;
        r->piece = (size_t)v;
    } else if (!strcmp(it, "delay")) {
        ok = v <= 60000;
        r->delay_ms = (unsigned)v;
    } else if (!strcmp(it, "times")) {
        ok = v > 0;
        r->first = 1;
        r->last = v;
    } else if (!strcmp(it, "nth")) {
        ok = v > 0;
        r->first = r->last = v;
    } else if (!strcmp(it, "after")) {
        r->first = v + 1;
        r->last = UINT64_MAX;
    } else {
        ok = false;
    }
    if (eq)
        *eq = '=';
    return ok ? ERR_OK
              : err_setx(ei, ERR_INVAL, "faulty: bad effect '%s' (err=CODE, short=N, piece=N, "
                         "delay=MS, once, always, times=N, nth=N, after=N)", it);
}

/* "op|op:glob:effects" (s is modifiable). */
static int parse_rule(struct faulty_rules *rs, char *s, struct errinfo *ei)
{
    char *c1 = strchr(s, ':'), *c2 = strrchr(s, ':');
    if (!c1 || c1 == c2)
        return err_setx(ei, ERR_INVAL, "faulty: bad rule '%s' (want op:glob:effect)", s);
    if (rs->n == FAULTY_RULES_MAX)
        return err_setx(ei, ERR_LIMIT, "faulty: more than %d rules", FAULTY_RULES_MAX);
    struct faulty_rule *r = &rs->r[rs->n];
    memset(r, 0, sizeof *r);
    r->first = 1;
    r->last = UINT64_MAX;
    *c1 = 0;
    *c2 = 0;
    for (char *op = s; *op;) {
        size_t n = strcspn(op, "|");
        int k = n == 1 && *op == '*' ? FO__COUNT : op_lookup(op, n);
        if (k < 0)
            return err_setx(ei, ERR_INVAL, "faulty: unknown operation '%.*s'", (int)n, op);
        r->ops |= k == FO__COUNT ? (UINT64_C(1) << FO__COUNT) - 1 : UINT64_C(1) << k;
        op += n + (op[n] == '|');
    }
    if (!(r->glob = strdup(*(c1 + 1) ? c1 + 1 : "*")))
        return err_setx(ei, ERR_NOMEM, "faulty: out of memory");
    rs->n++;   /* owned by rs from here: released with it on any failure */
    int rc = ERR_OK;
    for (char *it = c2 + 1; *it && rc == ERR_OK;) {
        size_t n = strcspn(it, ",");
        char save = it[n];
        it[n] = 0;
        rc = parse_effect(r, it, ei);
        it[n] = save;
        it += n + (save == ',');
    }
    if (rc == ERR_OK && !r->err && !r->has_short && !r->piece && !r->delay_ms)
        rc = err_setx(ei, ERR_INVAL, "faulty: rule for '%s' has no effect", r->glob);
    return rc;
}

int faulty_rules_parse(struct faulty_rules *rs, const char *text,
                       int (*slot_index)(const char *name), struct errinfo *ei)
{
    int rc = ERR_OK;
    char *buf = text ? strdup(text) : NULL;
    if (text && !buf) {
        rc = err_setx(ei, ERR_NOMEM, "faulty: out of memory");
        goto out;
    }
    for (char *s = buf, *next; s && *s && rc == ERR_OK; s = next) {
        size_t n = strcspn(s, ";");
        next = s[n] ? s + n + 1 : s + n;
        s[n] = 0;
        while (isspace((unsigned char)*s))
            s++;
        for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
            *--e = 0;
        if (!*s)
            continue;
        if (!strncmp(s, "missing=", 8)) {
            for (char *m = s + 8; *m && rc == ERR_OK;) {
                size_t l = strcspn(m, "|");
                char save = m[l];
                m[l] = 0;
                int k = slot_index(m);
                if (k < 0)
                    rc = err_setx(ei, ERR_INVAL, "faulty: '%s' is not an optional slot", m);
                else
                    rs->missing |= k == FAULTY_MISSING_ALL ? UINT64_MAX : UINT64_C(1) << k;
                m[l] = save;
                m += l + (save == '|');
            }
        } else {
            rc = parse_rule(rs, s, ei);
        }
    }
out:
    free(buf);
    return rc;
}

void faulty_rules_release(struct faulty_rules *rs)
{
    for (size_t i = 0; rs && i < rs->n; i++) {
        free(rs->r[i].glob);
        rs->r[i].glob = NULL;
    }
    if (rs)
        rs->n = 0;
}

static bool glob_hit(const char *glob, const char *p)
{
    return p && fnmatch(glob, p, 0) == 0;
}

void faulty_hit(struct faulty_rules *rs, enum faulty_op op, const char *path,
                const char *path2, struct faulty_effect *fx)
{
    unsigned delay = 0;
    memset(fx, 0, sizeof *fx);
    for (size_t i = 0; i < rs->n; i++) {
        struct faulty_rule *r = &rs->r[i];
        if (!(r->ops & (UINT64_C(1) << op)) ||
            !(glob_hit(r->glob, path) || glob_hit(r->glob, path2)))
            continue;
        uint64_t k = atomic_fetch_add(&r->hits, 1) + 1;
        if (k < r->first || k > r->last)
            continue;
        delay += r->delay_ms;
        if (r->err && !fx->err)
            fx->err = r->err;
        if (r->has_short && (!fx->has_short || r->short_at < fx->short_at)) {
            fx->has_short = true;
            fx->short_at = r->short_at;
        }
        if (r->piece && (!fx->piece || r->piece < fx->piece))
            fx->piece = r->piece;
    }
    if (delay) {
        struct timespec ts = { .tv_sec = delay / 1000, .tv_nsec = (long)(delay % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

int faulty_error(struct errinfo *ei, int code, enum faulty_op op, const struct be_fs *fs,
                 const char *path)
{
    char shown[4200];
    const char *cause = err_str(code);
    for (size_t i = 0; i < sizeof code_errno / sizeof *code_errno; i++)
        if (code_errno[i].code == code)
            cause = strerror(code_errno[i].e);
    backend_display(fs, path ? path : "", shown, sizeof shown);
    return err_setx(ei, code, "cannot %s '%s': %s (injected fault)", op_verbs[op], shown,
                    cause);
}

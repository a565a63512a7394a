/* faulty.c - "faulty+<inner>://<inner authority>/<path>": a TEST backend that
 * wraps any other backend and injects faults, so the engine's failure and
 * fallback paths can be driven from a URI (docs/testing.md §3).
 *
 *   faulty+file:///tmp/src        the local file system
 *   faulty+mem://store/a/b        the in-memory store "store"
 *   faulty+s3a://bucket/key       ...any scheme the binary has
 *
 * Rules come from the -D key `distcp.faulty.rules` (the job's be_config)
 * and the environment variable DISTCP_FAULTY_RULES, both read once when the
 * store opens (both apply). Items are separated by ';':
 *   OPS:GLOB:EFFECT[,EFFECT...]
 *     OPS     an operation (stat, list, open_read, read, create, write,
 *             finish, commit, abort, open_append, copy_range, mkdirs, rename,
 *             remove, getattrs, setattr, wsetattr, getmeta, setmeta, wsetmeta,
 *             readlink, symlink, checksum, wchecksum, abort_pending, wshare,
 *             wjoin, wjoin_end, wreceipt, snapshot), several joined by '|',
 *             or '*' for all;
 *     GLOB    fnmatch(3) pattern on the path inside the store, '*' crossing
 *             '/' (e.g. "*bad*"); rename matches from or to; empty = "*";
 *     EFFECT  err=CODE (an errors.def name: ACCESS, IO, NO_SPACE, TIMEOUT...),
 *             short=N (readers opened on the path see end of file at byte N:
 *             the source "shrank"), piece=N (each read returns at most N
 *             bytes), delay=MS (sleep before the call), and when the rule
 *             fires: always (default), once, times=N (the first N matching
 *             calls), nth=N (only the Nth), after=N (every one after the Nth).
 *   missing=SLOT[|SLOT...]   present these optional slots of the inner
 *             backend as NULL ("optional": all of them), so the engine takes
 *             its fallbacks.
 * Injected errors read "cannot <verb> '<path>': <cause> (injected fault)",
 * the cause worded as the inner store's own would be ("Permission denied").
 * A faulty store shows as the store it wraps (backend_display and
 * backend_qualified see through it), so messages, -log lines, reports and
 * -filters read exactly as without the wrapper.
 *
 * Forwarding: every slot is a thin forwarder listed once in `slots[]`; a
 * store's ops table holds the forwarders of the slots its inner backend has
 * and the rules do not hide. Tables are shared by (inner backend, hidden
 * slots), so two faulty stores over the same backend have the same ops
 * pointer and same-backend fast paths (copy_range, copy_whole) still apply.
 * A new slot in backend.h needs one forwarder and one line in slots[].
 *
 * Threading: rules are immutable after open, hit counters are atomic; the
 * ops-table registry is guarded by its mutex and never shrinks. A be_file
 * wrapper follows the inner file's threading rules. TEST BUILD ONLY. */
#include "backend/faulty/faulty_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAULTY_PREFIX "faulty+"
#define FAULTY_TABLES_MAX 64

struct faulty_fs {
    struct be_fs head;          /* first: the common head (ops = a shared table) */
    struct be_fs *in;           /* the wrapped store (owned) */
    struct faulty_rules rules;
};

struct ffile {                  /* a reader or writer of the inner store */
    struct faulty_fs *ff;
    struct be_file *in;
    char *path;
    uint64_t pos;               /* readers: absolute offset of the next byte */
    bool has_short;
    uint64_t short_at;
    size_t piece;
};

#define FF(fs) ((struct faulty_fs *)(fs))
#define FI(ff) ((ff)->in->ops)
#define FX(f) ((struct ffile *)(f))

/* Count the call against the rules; the injected error, or ERR_OK. */
static int gate(struct faulty_fs *ff, enum faulty_op op, const char *path, const char *path2,
                struct faulty_effect *fx, struct errinfo *ei)
{
    struct faulty_effect local;
    if (!fx)
        fx = &local;
    faulty_hit(&ff->rules, op, path, path2, fx);
    return fx->err ? faulty_error(ei, fx->err, op, &ff->head, path) : ERR_OK;
}

static int wrap(struct faulty_fs *ff, const char *path, struct be_file *in,
                const struct faulty_effect *fx, uint64_t pos, struct be_file **out,
                struct errinfo *ei)
{
    struct ffile *f = calloc(1, sizeof *f);
    if (f)
        f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        return err_setx(ei, ERR_NOMEM, "faulty: out of memory");
    }
    f->ff = ff;
    f->in = in;
    f->pos = pos;
    if (fx) {
        f->has_short = fx->has_short;
        f->short_at = fx->short_at;
        f->piece = fx->piece;
    }
    *out = (struct be_file *)f;
    return ERR_OK;
}

static void unwrap_free(struct ffile *f)
{
    if (f)
        free(f->path);
    free(f);
}

/* ------------------------------------------------------------ store slots */

static int f_stat(struct be_fs *fs, const char *path, struct be_stat *st, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_STAT, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->stat(FF(fs)->in, path, st, ei);
}

static int f_list(struct be_fs *fs, const char *path, be_list_cb cb, void *arg,
                  struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_LIST, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->list(FF(fs)->in, path, cb, arg, ei);
}

static int f_open_read(struct be_fs *fs, const char *path, uint64_t off, struct be_file **out,
                       struct errinfo *ei)
{
    struct faulty_fs *ff = FF(fs);
    struct faulty_effect fx;
    struct be_file *in = NULL;
    int rc = gate(ff, FO_OPEN_READ, path, NULL, &fx, ei);
    if (!rc && !(rc = FI(ff)->open_read(ff->in, path, off, &in, ei)) &&
        (rc = wrap(ff, path, in, &fx, off, out, ei)))
        FI(ff)->close_read(in);
    return rc;
}

static int f_read(struct be_file *bf, void *buf, size_t n, size_t *got, struct errinfo *ei)
{
    struct ffile *f = FX(bf);
    struct faulty_effect fx;
    int rc = gate(f->ff, FO_READ, f->path, NULL, &fx, ei);
    *got = 0;
    if (rc)
        return rc;
    /* limits from the open_read rules, tightened by this call's read rules */
    size_t piece = f->piece && (!fx.piece || f->piece < fx.piece) ? f->piece : fx.piece;
    bool has_short = f->has_short || fx.has_short;
    uint64_t short_at = !fx.has_short ? f->short_at
                        : !f->has_short || fx.short_at < f->short_at ? fx.short_at : f->short_at;
    if (piece && n > piece)
        n = piece;
    if (has_short)
        n = f->pos >= short_at ? 0 : (short_at - f->pos < n ? (size_t)(short_at - f->pos) : n);
    if (n == 0)
        return ERR_OK;                  /* the (shortened) end of the file */
    rc = FI(f->ff)->read(f->in, buf, n, got, ei);
    f->pos += *got;
    return rc;
}

static void f_close_read(struct be_file *bf)
{
    struct ffile *f = FX(bf);
    if (!f)
        return;
    FI(f->ff)->close_read(f->in);
    unwrap_free(f);
}

static int f_create(struct be_fs *fs, const char *path, const struct be_create_opts *opts,
                    struct be_file **out, struct errinfo *ei)
{
    struct faulty_fs *ff = FF(fs);
    struct be_file *in = NULL;
    int rc = gate(ff, FO_CREATE, path, NULL, NULL, ei);
    if (!rc && !(rc = FI(ff)->create(ff->in, path, opts, &in, ei)) &&
        (rc = wrap(ff, path, in, NULL, 0, out, ei)))
        FI(ff)->abort(in);
    return rc;
}

static int f_write(struct be_file *w, uint64_t off, const void *buf, size_t n,
                   struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WRITE, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->write(f->in, off, buf, n, ei);
}

static int f_finish(struct be_file *w, struct be_stat *st, struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_FINISH, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->finish(f->in, st, ei);
}

static int f_wsetattr(struct be_file *w, const struct be_attrs *a, unsigned what,
                      struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WSETATTR, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->wsetattr(f->in, a, what, ei);
}

static int f_wsetmeta(struct be_file *w, const char *key, const char *value,
                      struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WSETMETA, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->wsetmeta(f->in, key, value, ei);
}

/* Frees w whatever the result; an injected failure aborts the inner writer,
 * so nothing new becomes visible (the contract of commit). */
static int f_commit(struct be_file *w, struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_COMMIT, f->path, NULL, NULL, ei);
    if (rc)
        FI(f->ff)->abort(f->in);
    else
        rc = FI(f->ff)->commit(f->in, ei);
    unwrap_free(f);
    return rc;
}

static void f_abort(struct be_file *w)
{
    struct ffile *f = FX(w);
    if (!f)
        return;
    (void)gate(f->ff, FO_ABORT, f->path, NULL, NULL, NULL);   /* delays only */
    FI(f->ff)->abort(f->in);
    unwrap_free(f);
}

static int f_open_append(struct be_fs *fs, const char *path, struct be_file **out,
                         struct errinfo *ei)
{
    struct faulty_fs *ff = FF(fs);
    struct be_file *in = NULL;
    int rc = gate(ff, FO_OPEN_APPEND, path, NULL, NULL, ei);
    if (!rc && !(rc = FI(ff)->open_append(ff->in, path, &in, ei)) &&
        (rc = wrap(ff, path, in, NULL, 0, out, ei)))
        FI(ff)->abort(in);
    return rc;
}

static int f_copy_range(struct be_file *r, uint64_t roff, struct be_file *w, uint64_t woff,
                        uint64_t len, uint64_t *done, struct errinfo *ei)
{
    struct ffile *fr = FX(r), *fw = FX(w);
    int rc = gate(fr->ff, FO_COPY_RANGE, fr->path, fw->path, NULL, ei);
    *done = 0;
    return rc ? rc : FI(fr->ff)->copy_range(fr->in, roff, fw->in, woff, len, done, ei);
}

static bool f_copy_whole(struct be_fs *src, struct be_fs *dst)
{
    return FI(FF(src))->copy_whole(FF(src)->in, FF(dst)->in);
}

static int f_mkdirs(struct be_fs *fs, const char *path, uint32_t mode, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_MKDIRS, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->mkdirs(FF(fs)->in, path, mode, ei);
}

static int f_rename(struct be_fs *fs, const char *from, const char *to, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_RENAME, from, to, NULL, ei);
    return rc ? rc : FI(FF(fs))->rename(FF(fs)->in, from, to, ei);
}

static int f_remove(struct be_fs *fs, const char *path, bool recursive, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_REMOVE, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->remove(FF(fs)->in, path, recursive, ei);
}

static int f_getattrs(struct be_fs *fs, const char *path, unsigned what, struct be_attrs *out,
                      struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_GETATTRS, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->getattrs(FF(fs)->in, path, what, out, ei);
}

static int f_setattr(struct be_fs *fs, const char *path, const struct be_attrs *a,
                     unsigned what, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SETATTR, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->setattr(FF(fs)->in, path, a, what, ei);
}

static int f_getmeta(struct be_fs *fs, const char *path, const char *key, char **value,
                     struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_GETMETA, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->getmeta(FF(fs)->in, path, key, value, ei);
}

static int f_setmeta(struct be_fs *fs, const char *path, const char *key, const char *value,
                     struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SETMETA, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->setmeta(FF(fs)->in, path, key, value, ei);
}

static int f_readlink(struct be_fs *fs, const char *path, char *buf, size_t n,
                      struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_READLINK, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->readlink(FF(fs)->in, path, buf, n, ei);
}

static int f_symlink(struct be_fs *fs, const char *target, const char *path,
                     struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SYMLINK, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->symlink(FF(fs)->in, target, path, ei);
}

static int f_checksum(struct be_fs *fs, const char *path, struct hdfs_cksum_result *out,
                      struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_CHECKSUM, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->checksum(FF(fs)->in, path, out, ei);
}

static int f_wchecksum(struct be_file *w, struct hdfs_cksum_result *out, struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WCHECKSUM, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->wchecksum(f->in, out, ei);
}

static int f_abort_pending(struct be_fs *fs, const char *token, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_ABORT_PENDING, token, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->abort_pending(FF(fs)->in, token, ei);
}

static int f_sync(struct be_fs *fs, const char *path, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SYNC, path, NULL, NULL, ei);
    return rc ? rc : FI(FF(fs))->sync(FF(fs)->in, path, ei);
}

static int f_wshare(struct be_file *w, char *tok, size_t n, uint64_t *align,
                    struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WSHARE, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->wshare(f->in, tok, n, align, ei);
}

static int f_wjoin(struct be_fs *fs, const char *path, const char *tok, uint64_t off,
                   uint64_t len, struct be_file **out, struct errinfo *ei)
{
    struct faulty_fs *ff = FF(fs);
    struct be_file *in = NULL;
    int rc = gate(ff, FO_WJOIN, path, NULL, NULL, ei);
    if (!rc && !(rc = FI(ff)->wjoin(ff->in, path, tok, off, len, &in, ei)) &&
        (rc = wrap(ff, path, in, NULL, off, out, ei)))
        FI(ff)->wjoin_end(in, false, NULL, 0, NULL);
    return rc;
}

static int f_wjoin_end(struct be_file *j, bool ok, char *receipt, size_t n, struct errinfo *ei)
{
    struct ffile *f = FX(j);
    int rc = gate(f->ff, FO_WJOIN_END, f->path, NULL, NULL, ei);
    if (rc)
        (void)FI(f->ff)->wjoin_end(f->in, false, NULL, 0, NULL);
    else
        rc = FI(f->ff)->wjoin_end(f->in, ok, receipt, n, ei);
    unwrap_free(f);
    return rc;
}

static int f_wreceipt(struct be_file *w, uint64_t off, uint64_t len, const char *receipt,
                      struct errinfo *ei)
{
    struct ffile *f = FX(w);
    int rc = gate(f->ff, FO_WRECEIPT, f->path, NULL, NULL, ei);
    return rc ? rc : FI(f->ff)->wreceipt(f->in, off, len, receipt, ei);
}

/* -------------------------------------------------------- snapshot slots */

#define SN(ff) (FI(ff)->snapshots)

static int fs_allow(struct be_fs *fs, const char *dir, bool allow, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, dir, NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->allow(FF(fs)->in, dir, allow, ei);
}

static int fs_create(struct be_fs *fs, const char *dir, const char *name, char *path, size_t n,
                     struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, dir, NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->create(FF(fs)->in, dir, name, path, n, ei);
}

static int fs_remove(struct be_fs *fs, const char *dir, const char *name, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, dir, NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->remove(FF(fs)->in, dir, name, ei);
}

static int fs_rename(struct be_fs *fs, const char *dir, const char *from, const char *to,
                     struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, dir, NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->rename(FF(fs)->in, dir, from, to, ei);
}

static int fs_diff(struct be_fs *fs, const char *dir, const char *from, const char *to,
                   be_diff_cb cb, void *arg, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, dir, NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->diff(FF(fs)->in, dir, from, to, cb, arg, ei);
}

static int fs_dirs(struct be_fs *fs, be_snapdir_cb cb, void *arg, struct errinfo *ei)
{
    int rc = gate(FF(fs), FO_SNAPSHOT, "/", NULL, NULL, ei);
    return rc ? rc : SN(FF(fs))->dirs(FF(fs)->in, cb, arg, ei);
}

/* ------------------------------------------------------------- the tables */

typedef void (*anyfn)(void);   /* matches every function type for a cast */
struct slot {
    const char *name;
    size_t off;                /* in struct backend_ops */
    anyfn fwd;
    bool required;             /* backend.h: "Required" */
};
#define REQ(n) { #n, offsetof(struct backend_ops, n), (anyfn)f_##n, true }
#define OPT(n) { #n, offsetof(struct backend_ops, n), (anyfn)f_##n, false }

/* Every function slot of backend_ops but open/close (ours always). */
static const struct slot slots[] = {
    REQ(stat), REQ(list), REQ(open_read), REQ(read), REQ(close_read), REQ(create),
    REQ(write), REQ(finish), OPT(wsetattr), OPT(wsetmeta), REQ(commit), REQ(abort),
    OPT(open_append), OPT(copy_range), OPT(copy_whole), REQ(mkdirs), REQ(rename),
    REQ(remove), OPT(getattrs), OPT(setattr), OPT(getmeta), OPT(setmeta), OPT(readlink),
    OPT(symlink), OPT(checksum), OPT(wchecksum), OPT(abort_pending), OPT(wshare),
    OPT(wjoin), OPT(wjoin_end), OPT(wreceipt), OPT(sync),
};
#define NSLOTS (sizeof slots / sizeof *slots)
#define SNAP_BIT NSLOTS          /* "snapshots": the whole snapshot table */

static int slot_index(const char *name)
{
    if (!strcmp(name, "optional"))
        return FAULTY_MISSING_ALL;
    if (!strcmp(name, "snapshots"))
        return (int)SNAP_BIT;
    for (size_t i = 0; i < NSLOTS; i++)
        if (!strcmp(slots[i].name, name))
            return slots[i].required ? -1 : (int)i;
    return -1;
}

static int faulty_open(const char *scheme, const char *authority, const struct be_config *cfg,
                       struct be_fs **out, struct errinfo *ei);
static void faulty_close(struct be_fs *fs);

static struct {
    const struct backend_ops *inner;
    uint64_t missing;
    struct backend_ops ops;
    struct be_snapshot_ops snap;
} tables[FAULTY_TABLES_MAX];
static size_t ntables;                 /* guarded by tables_mu */
static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;

/* The shared table for (inner, missing); NULL when the registry is full. */
static const struct backend_ops *table_for(const struct backend_ops *inner, uint64_t missing)
{
    const struct backend_ops *t = NULL;
    pthread_mutex_lock(&tables_mu);
    for (size_t i = 0; i < ntables && !t; i++)
        if (tables[i].inner == inner && tables[i].missing == missing)
            t = &tables[i].ops;
    if (!t && ntables < FAULTY_TABLES_MAX) {
        struct backend_ops *o = &tables[ntables].ops;
        tables[ntables].inner = inner;
        tables[ntables].missing = missing;
        *o = (struct backend_ops){ .name = "faulty", .caps = inner->caps,
                                   .mtime_gran_ns = inner->mtime_gran_ns,
                                   .open = faulty_open, .close = faulty_close };
        for (size_t i = 0; i < NSLOTS; i++) {
            anyfn have;
            memcpy(&have, (const char *)inner + slots[i].off, sizeof have);
            if (have && (slots[i].required || !(missing & (UINT64_C(1) << i))))
                memcpy((char *)o + slots[i].off, &slots[i].fwd, sizeof have);
        }
        const struct be_snapshot_ops *is = inner->snapshots;
        if (is && !(missing & (UINT64_C(1) << SNAP_BIT))) {
            struct be_snapshot_ops *s = &tables[ntables].snap;
            *s = (struct be_snapshot_ops){
                .allow = is->allow ? fs_allow : NULL, .create = is->create ? fs_create : NULL,
                .remove = is->remove ? fs_remove : NULL, .rename = is->rename ? fs_rename : NULL,
                .diff = is->diff ? fs_diff : NULL, .dirs = is->dirs ? fs_dirs : NULL };
            o->snapshots = s;
        }
        t = o;
        ntables++;
    }
    pthread_mutex_unlock(&tables_mu);
    return t;
}

static int faulty_open(const char *scheme, const char *authority, const struct be_config *cfg,
                       struct be_fs **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    struct faulty_fs *ff = NULL;
    const struct backend_ops *inner = NULL;
    const char *env = getenv("DISTCP_FAULTY_RULES");
    const char *def = cfg && cfg->get ? cfg->get(cfg->ctx, "distcp.faulty.rules") : NULL;

    *out = NULL;
    if (strncasecmp(scheme, FAULTY_PREFIX, strlen(FAULTY_PREFIX)) ||
        !scheme[strlen(FAULTY_PREFIX)]) {
        rc = err_setx(ei, ERR_BAD_URI, "faulty: scheme '%s' names no inner store "
                      "(want faulty+<scheme>://...)", scheme);
        goto out;
    }
    const char *iscm = scheme + strlen(FAULTY_PREFIX);
    if (!(inner = backend_for_scheme(iscm, ei))) {
        rc = ei ? ei->code : ERR_BAD_URI;
        goto out;
    }
    if (!(ff = calloc(1, sizeof *ff))) {
        rc = err_setx(ei, ERR_NOMEM, "faulty: out of memory");
        goto out;
    }
    if ((rc = faulty_rules_parse(&ff->rules, def, slot_index, ei)) ||
        (rc = faulty_rules_parse(&ff->rules, env, slot_index, ei)))
        goto out;
    ff->head.ops = table_for(inner, ff->rules.missing);
    ff->head.scheme = strdup(scheme);
    ff->head.authority = strdup(authority ? authority : "");
    if (!ff->head.ops || !ff->head.scheme || !ff->head.authority) {
        rc = err_setx(ei, ERR_NOMEM, "faulty: out of memory (or too many slot sets)");
        goto out;
    }
    if ((rc = inner->open(iscm, authority, cfg, &ff->in, ei)))
        goto out;
    *out = &ff->head;
    ff = NULL;
out:
    faulty_close(ff ? &ff->head : NULL);
    return rc;
}

static void faulty_close(struct be_fs *fs)
{
    struct faulty_fs *ff = FF(fs);
    if (!ff)
        return;
    if (ff->in)
        ff->in->ops->close(ff->in);
    faulty_rules_release(&ff->rules);
    free(ff->head.scheme);
    free(ff->head.authority);
    free(ff);
}

const struct be_fs *faulty_shown(const struct be_fs *fs)
{
    while (fs && fs->ops && fs->ops->open == faulty_open)
        fs = FF(fs)->in;
    return fs;
}

/* The entry of the scheme table: opens stores (each gets its shared table);
 * the required slots forward for any faulty store. */
const struct backend_ops backend_faulty = {
    .name = "faulty",
    .open = faulty_open,
    .close = faulty_close,
    .stat = f_stat, .list = f_list, .open_read = f_open_read, .read = f_read,
    .close_read = f_close_read, .create = f_create, .write = f_write, .finish = f_finish,
    .commit = f_commit, .abort = f_abort, .mkdirs = f_mkdirs, .rename = f_rename,
    .remove = f_remove,
};

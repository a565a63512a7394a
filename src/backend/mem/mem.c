/* mem.c - the in-memory store "mem://<name>/<path>". A TEST backend: it
 * exists so the engine and the conformance suite can run without disks or
 * servers; nothing survives the process. Compiled and registered in the
 * test build only (DISTCP_TESTING; docs/testing.md §1).
 *
 * Stores: open("mem", name) returns a handle on the store called `name`; all
 * handles on one name in one process share one tree (a registry, reference
 * counted: the store is freed when its last handle, reader and writer are
 * gone). The registry is the one global, guarded by `registry_mu`.
 *
 * Semantics (POSIX-like, no permission checks):
 *  - A tree of directories, files and symlinks. Symlinks are never followed:
 *    one in the middle of a path gives ERR_NOT_DIR, open_read/open_append on
 *    one gives ERR_LOOP.
 *  - New entries get a fixed umask of 022 (create mode 0 -> 0644, mkdirs
 *    mode 0 -> 0755), the process's euid/egid, mtime = atime = now. Writes
 *    (commit, append) set mtime to now; setattr/wsetattr can set it.
 *    Adding or removing an entry sets the parent directory's mtime to now.
 *  - Writers buffer privately; commit publishes atomically (readers already
 *    open keep the old bytes). Parents are created at commit; a directory
 *    at the final name is never replaced (ERR_IS_DIR). tmp_dir/tmp_tag are
 *    ignored: nothing temporary is ever visible. Direct writers create an
 *    empty file at create(); the bytes appear at commit, or at abort (a
 *    failed direct write leaves its partial data, as on a disk).
 *  - Appenders copy the current bytes, publish old+new at commit; abort
 *    discards the appended bytes.
 *  - Metadata (wsetmeta/setmeta) is kept apart from xattrs; setmeta with a
 *    NULL value deletes the key. ACL text is stored verbatim.
 *  - Limits: segment 255 bytes, path 4096 (ERR_NAME_TOO_LONG); 128 xattrs of
 *    up to 64 KiB and 64 meta keys of up to 64 KiB per entry (ERR_LIMIT).
 *
 * Environment (read when a store is first created):
 *  DISTCP_MEM_MAX_BYTES   cap on file bytes held (committed files, data of
 *                         open writers, old data kept alive by readers);
 *                         suffixes K/M/G allowed; default 1 GiB. Going over
 *                         it fails the write with ERR_NO_SPACE.
 *  DISTCP_MEM_MAX_ENTRIES cap on entries (default 10,000,000) -> ERR_NO_SPACE.
 * Fault injection (read at each open() of a handle, applies to that handle
 * and the readers/writers opened through it):
 *  DISTCP_MEM_FAIL="op:path[,op:path...]" makes `op` on a path matching
 *  `path` (an fnmatch(3) pattern; a plain path matches itself) fail with
 *  ERR_IO. op is one of open_read, read, create, write, commit, rename
 *  (matches from or to), remove, mkdirs, setattr (also wsetattr), and
 *  additionally stat, list, open_append. Up to 16 entries.
 *
 * Threading: every slot may be called from many threads. One mutex per
 * store guards the tree; listing callbacks run without it (names are
 * snapshotted, stats fetched page by page). A writer has its own mutex so
 * write() may run concurrently for disjoint ranges (BE_CAP_PARALLEL_WRITE).
 * File bytes live in immutable reference-counted blobs, read without locks.
 * Lock order: registry_mu and a writer's mutex are never held together
 * with the store mutex. */
#include "backend/backend.h"
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MEM_SEG_MAX 255
#define MEM_PATH_MAX 4096
#define MEM_DEFAULT_MAX_BYTES (1ull << 30)
#define MEM_DEFAULT_MAX_ENTRIES 10000000ull
#define MEM_XATTR_MAX 128
#define MEM_VALUE_MAX 65536
#define MEM_META_MAX 64
#define MEM_FAIL_MAX 16
#define MEM_LIST_PAGE 256
#define MEM_UMASK 022
#define MEM_HINT_MAX (256u << 20)   /* preallocate at most this for size_hint */
#define MEM_BUCKETS0 8

struct mem_store;

struct blob {                   /* immutable once published */
    atomic_long refs;
    struct mem_store *st;       /* for uncharging; the store outlives it */
    uint64_t size;
    unsigned char *bytes;
};

struct kv {
    char *key;
    char *value;
};

struct mnode {
    char *name;                 /* NULL for the root */
    struct mnode *parent;
    struct mnode *hnext;        /* chain in the parent's bucket */
    enum be_type type;
    uint32_t mode, uid, gid;
    char owner[BE_NAME_MAX], group[BE_NAME_MAX];
    int64_t mtime_ns, atime_ns;
    uint64_t ino;
    struct blob *data;          /* BE_FILE: never NULL */
    char *target;               /* BE_SYMLINK */
    struct be_xattr *xattrs;
    size_t nxattrs;
    char *acl;
    struct kv *meta;
    size_t nmeta;
    struct mnode **buckets;     /* BE_DIR: hash of children */
    size_t nbuckets, nchildren;
};

struct mem_store {
    char *name;
    long refs;                  /* guarded by registry_mu */
    struct mem_store *next;     /* registry chain, guarded by registry_mu */
    uint64_t dev;
    uint64_t max_bytes;
    atomic_uint_least64_t used; /* bytes charged */
    pthread_mutex_t mu;         /* guards everything below */
    struct mnode *root;
    uint64_t next_ino, nentries, max_entries;
};

struct mem_fail {
    char *op;
    char *pattern;
};

struct mem_fs {
    struct be_fs head;          /* first: the common head */
    struct mem_store *st;       /* holds a reference */
    struct mem_fail fails[MEM_FAIL_MAX];
    size_t nfails;
};

enum mf_kind { MF_READ, MF_WRITE, MF_APPEND };

struct mem_file {
    enum mf_kind kind;
    struct mem_store *st;       /* holds a reference */
    char *path;
    bool fail_io, fail_commit, fail_setattr; /* knobs resolved at open */
    /* reader */
    struct blob *blob;
    uint64_t pos;
    /* writer, appender */
    pthread_mutex_t mu;         /* guards buf, cap, size */
    unsigned char *buf;
    size_t cap;
    uint64_t size;              /* charged against st->used */
    bool direct;
    uint32_t mode;
    struct be_attrs attrs;      /* pending wsetattr, applied at commit */
    unsigned attrs_what;
    struct kv *meta;            /* pending wsetmeta */
    size_t nmeta;
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mem_store *registry;   /* guarded by registry_mu */
static uint64_t registry_seq;        /* guarded by registry_mu */

#define MFS(fs) ((struct mem_fs *)(fs))
#define MF(f) ((struct mem_file *)(f))
#define BF(f) ((struct be_file *)(f))

/* ---- small helpers ---------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t env_size(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v)
        return dflt;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || (shift && n > (UINT64_MAX >> shift)))
        return dflt;
    return (uint64_t)n << shift;
}

static int charge(struct mem_store *st, uint64_t n)
{
    uint64_t prev = atomic_fetch_add(&st->used, n);
    if (prev + n < prev || prev + n > st->max_bytes) {
        atomic_fetch_sub(&st->used, n);
        return ERR_NO_SPACE;
    }
    return ERR_OK;
}

static void uncharge(struct mem_store *st, uint64_t n)
{
    atomic_fetch_sub(&st->used, n);
}

/* Paths: absolute, no empty, "." or ".." segments, no trailing '/' except
 * the root; segments and the whole path within the limits. */
static int check_path(const struct mem_store *st, const char *path,
                      struct errinfo *ei)
{
    if (!path || path[0] != '/')
        return err_set(ei, ERR_INVAL, "bad path 'mem://%s%s'", st->name,
                       path ? path : "");
    size_t len = strlen(path);
    if (len > MEM_PATH_MAX)
        return err_set(ei, ERR_NAME_TOO_LONG, "cannot use 'mem://%s%.64s...'",
                       st->name, path);
    if (len == 1)
        return ERR_OK;
    const char *p = path + 1;
    for (;;) {
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return err_set(ei, ERR_INVAL, "bad path 'mem://%s%s'", st->name,
                           path);
        if (n > MEM_SEG_MAX)
            return err_set(ei, ERR_NAME_TOO_LONG, "cannot use 'mem://%s%s'",
                           st->name, path);
        if (!*e)
            return ERR_OK;
        p = e + 1;
    }
}

static const char *leaf_of(const char *path)
{
    return strrchr(path, '/') + 1;
}

/* ---- fault injection -------------------------------------------------- */

static void fails_free(struct mem_fs *m)
{
    for (size_t i = 0; i < m->nfails; i++) {
        free(m->fails[i].op);
        free(m->fails[i].pattern);
    }
    m->nfails = 0;
}

static int fails_parse(struct mem_fs *m)
{
    const char *env = getenv("DISTCP_MEM_FAIL");
    int rc = ERR_OK;
    char *copy = NULL, *save = NULL;
    if (!env || !*env)
        goto out;
    copy = strdup(env);
    if (!copy) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok && m->nfails < MEM_FAIL_MAX;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || colon == tok || !colon[1])
            continue;
        struct mem_fail *f = &m->fails[m->nfails];
        f->op = strndup(tok, (size_t)(colon - tok));
        f->pattern = strdup(colon + 1);
        if (!f->op || !f->pattern) {
            free(f->op);
            free(f->pattern);
            rc = ERR_NOMEM;
            goto out;
        }
        m->nfails++;
    }
out:
    free(copy);
    return rc;
}

static bool fail_hit(const struct mem_fs *m, const char *op, const char *path)
{
    for (size_t i = 0; i < m->nfails; i++)
        if (!strcmp(m->fails[i].op, op) &&
            (!strcmp(m->fails[i].pattern, path) ||
             fnmatch(m->fails[i].pattern, path, 0) == 0))
            return true;
    return false;
}

static int fail_err(struct errinfo *ei, const struct mem_store *st,
                    const char *op, const char *path)
{
    return err_set(ei, ERR_IO, "cannot %s 'mem://%s%s' (injected fault)", op,
                   st->name, path);
}

/* ---- blobs ------------------------------------------------------------ */

/* Takes ownership of `bytes` (already charged). NULL on ENOMEM (bytes
 * untouched). */
static struct blob *blob_new(struct mem_store *st, unsigned char *bytes,
                             uint64_t size)
{
    struct blob *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->st = st;
    b->bytes = bytes;
    b->size = size;
    return b;
}

static void blob_ref(struct blob *b)
{
    atomic_fetch_add(&b->refs, 1);
}

static void blob_unref(struct blob *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        uncharge(b->st, b->size);
        free(b->bytes);
        free(b);
    }
}

/* ---- key/value lists and attributes ----------------------------------- */

static void kv_free(struct kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* Set (value != NULL) or delete (value == NULL) `key` in *kv. */
static int kv_set(struct kv **kv, size_t *n, const char *key, const char *value)
{
    size_t i;
    for (i = 0; i < *n && strcmp((*kv)[i].key, key); i++)
        ;
    if (!value) {
        if (i < *n) {
            free((*kv)[i].key);
            free((*kv)[i].value);
            (*kv)[i] = (*kv)[--*n];
        }
        return ERR_OK;
    }
    char *v = strdup(value);
    if (!v)
        return ERR_NOMEM;
    if (i < *n) {
        free((*kv)[i].value);
        (*kv)[i].value = v;
        return ERR_OK;
    }
    if (*n >= MEM_META_MAX) {
        free(v);
        return ERR_LIMIT;
    }
    struct kv *grown = realloc(*kv, (*n + 1) * sizeof **kv);
    char *k = strdup(key);
    if (grown)
        *kv = grown;
    if (!grown || !k) {
        free(v);
        free(k);
        return ERR_NOMEM;
    }
    (*kv)[*n].key = k;
    (*kv)[*n].value = v;
    ++*n;
    return ERR_OK;
}

static int kv_check(const struct mem_store *st, const char *path,
                    const char *key, const char *value, struct errinfo *ei)
{
    if (!key || !*key || strlen(key) > MEM_SEG_MAX)
        return err_set(ei, ERR_INVAL, "cannot set metadata on 'mem://%s%s': bad key",
                       st->name, path);
    if (value && strlen(value) > MEM_VALUE_MAX)
        return err_set(ei, ERR_LIMIT, "cannot set metadata '%s' on 'mem://%s%s'",
                       key, st->name, path);
    return ERR_OK;
}

static void xattrs_free(struct be_xattr *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(x[i].name);
        free(x[i].value);
    }
    free(x);
}

static int xattr_copy(struct be_xattr *dst, const struct be_xattr *src)
{
    dst->name = strdup(src->name);
    dst->value = malloc(src->len ? src->len : 1);
    dst->len = src->len;
    if (!dst->name || !dst->value) {
        free(dst->name);
        free(dst->value);
        dst->name = NULL;
        dst->value = NULL;
        return ERR_NOMEM;
    }
    if (src->len)
        memcpy(dst->value, src->value, src->len);
    return ERR_OK;
}

static int xattrs_copy(const struct be_xattr *src, size_t n,
                       struct be_xattr **out)
{
    *out = NULL;
    if (!n)
        return ERR_OK;
    struct be_xattr *x = calloc(n, sizeof *x);
    if (!x)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (xattr_copy(&x[i], &src[i])) {
            xattrs_free(x, i);
            return ERR_NOMEM;
        }
    }
    *out = x;
    return ERR_OK;
}

/* New list: `old` with each of `set` added or replaced. */
static int xattrs_merge(const struct be_xattr *old, size_t nold,
                        const struct be_xattr *set, size_t nset,
                        struct be_xattr **out, size_t *nout)
{
    int rc;
    struct be_xattr *x = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nset; i++)
        if (!set[i].name || !*set[i].name || strlen(set[i].name) > MEM_SEG_MAX ||
            (set[i].len && !set[i].value))
            return ERR_INVAL;
        else if (set[i].len > MEM_VALUE_MAX)
            return ERR_LIMIT;
    if (nold + nset > 0 && !(x = calloc(nold + nset, sizeof *x)))
        return ERR_NOMEM;
    for (size_t i = 0; i < nold; i++)
        if ((rc = xattr_copy(&x[n++], &old[i])))
            goto fail;
    for (size_t i = 0; i < nset; i++) {
        size_t j;
        for (j = 0; j < n && strcmp(x[j].name, set[i].name); j++)
            ;
        if (j < n) {
            struct be_xattr tmp;
            if ((rc = xattr_copy(&tmp, &set[i])))
                goto fail;
            free(x[j].name);
            free(x[j].value);
            x[j] = tmp;
        } else if (n >= MEM_XATTR_MAX) {
            rc = ERR_LIMIT;
            goto fail;
        } else if ((rc = xattr_copy(&x[n++], &set[i]))) {
            goto fail;
        }
    }
    *out = x;
    *nout = n;
    return ERR_OK;
fail:
    xattrs_free(x, n);
    return rc;
}

static void attrs_clear(struct be_attrs *a)
{
    xattrs_free(a->xattrs, a->nxattrs);
    free(a->acl);
    memset(a, 0, sizeof *a);
}

/* ---- nodes ------------------------------------------------------------ */

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static struct mnode *child_find(const struct mnode *dir, const char *name,
                                size_t len)
{
    struct mnode *c = dir->buckets[name_hash(name, len) & (dir->nbuckets - 1)];
    for (; c; c = c->hnext)
        if (!strncmp(c->name, name, len) && c->name[len] == 0)
            return c;
    return NULL;
}

/* Never fails: a failed bucket growth only lengthens the chains. */
static void child_insert(struct mnode *dir, struct mnode *n)
{
    if (dir->nchildren >= dir->nbuckets * 2) {
        size_t nb = dir->nbuckets * 4;
        struct mnode **b = calloc(nb, sizeof *b);
        if (b) {
            for (size_t i = 0; i < dir->nbuckets; i++) {
                struct mnode *c = dir->buckets[i], *next;
                for (; c; c = next) {
                    next = c->hnext;
                    size_t h = name_hash(c->name, strlen(c->name)) & (nb - 1);
                    c->hnext = b[h];
                    b[h] = c;
                }
            }
            free(dir->buckets);
            dir->buckets = b;
            dir->nbuckets = nb;
        }
    }
    size_t h = name_hash(n->name, strlen(n->name)) & (dir->nbuckets - 1);
    n->hnext = dir->buckets[h];
    dir->buckets[h] = n;
    n->parent = dir;
    dir->nchildren++;
}

static void child_unlink(struct mnode *dir, struct mnode *n)
{
    struct mnode **pp = &dir->buckets[name_hash(n->name, strlen(n->name)) &
                                      (dir->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == n) {
            *pp = n->hnext;
            dir->nchildren--;
            break;
        }
    }
    n->hnext = NULL;
    n->parent = NULL;
}

/* Caller holds st->mu. A detached node; counted against max_entries. */
static int node_new(struct mem_store *st, enum be_type type, const char *name,
                    size_t len, uint32_t mode, struct mnode **out)
{
    struct mnode *n = NULL;
    int rc = ERR_OK;
    if (st->nentries >= st->max_entries) {
        rc = ERR_NO_SPACE;
        goto out;
    }
    if (!(n = calloc(1, sizeof *n))) {
        rc = ERR_NOMEM;
        goto out;
    }
    n->type = type;
    n->mode = mode & 07777;
    n->uid = (uint32_t)geteuid();
    n->gid = (uint32_t)getegid();
    n->mtime_ns = n->atime_ns = now_ns();
    n->ino = ++st->next_ino;
    if (name && !(n->name = strndup(name, len)))
        rc = ERR_NOMEM;
    if (!rc && type == BE_DIR) {
        n->nbuckets = MEM_BUCKETS0;
        if (!(n->buckets = calloc(n->nbuckets, sizeof *n->buckets)))
            rc = ERR_NOMEM;
    }
    if (!rc && type == BE_FILE && !(n->data = blob_new(st, NULL, 0)))
        rc = ERR_NOMEM;
    if (rc) {
        blob_unref(n->data);
        free(n->buckets);
        free(n->name);
        free(n);
        n = NULL;
        goto out;
    }
    st->nentries++;
out:
    *out = n;
    return rc;
}

/* Caller holds st->mu (or is the last user). Frees a detached subtree. */
static void node_free(struct mem_store *st, struct mnode *n)
{
    if (!n)
        return;
    if (n->type == BE_DIR) {
        for (size_t i = 0; i < n->nbuckets; i++) {
            struct mnode *c = n->buckets[i], *next;
            for (; c; c = next) {
                next = c->hnext;
                node_free(st, c);
            }
        }
        free(n->buckets);
    }
    blob_unref(n->data);
    free(n->target);
    xattrs_free(n->xattrs, n->nxattrs);
    free(n->acl);
    kv_free(n->meta, n->nmeta);
    free(n->name);
    free(n);
    st->nentries--;
}

static void fill_stat(const struct mem_store *st, const struct mnode *n,
                      struct be_stat *s)
{
    memset(s, 0, sizeof *s);
    s->type = n->type;
    s->mode = n->mode;
    s->size = n->type == BE_FILE ? n->data->size
            : n->type == BE_SYMLINK ? strlen(n->target) : 0;
    s->mtime_ns = n->mtime_ns;
    s->atime_ns = n->atime_ns;
    s->uid = n->uid;
    s->gid = n->gid;
    memcpy(s->owner, n->owner, sizeof s->owner);
    memcpy(s->group, n->group, sizeof s->group);
    s->dev = st->dev;
    s->ino = n->ino;
    s->nlink = n->type == BE_DIR ? 2 : 1;
}

/* Caller holds st->mu. Resolve the segments of path[0, end) from the root.
 * With `create`, missing directories are made (mode `dmode`). *out is the
 * last node reached; ERR_NOT_FOUND / ERR_NOT_DIR as POSIX would say. */
static int walk(struct mem_store *st, const char *path, const char *end,
                bool create, uint32_t dmode, struct mnode **out)
{
    struct mnode *cur = st->root;
    const char *p = path + 1;
    int rc = ERR_OK;
    while (p < end) {
        const char *e = strchrnul(p, '/');
        if (e > end)
            e = end;
        if (cur->type != BE_DIR) {
            rc = ERR_NOT_DIR;
            goto out;
        }
        struct mnode *c = child_find(cur, p, (size_t)(e - p));
        if (!c) {
            if (!create) {
                rc = ERR_NOT_FOUND;
                goto out;
            }
            /* Every segment from here on is missing: check the cap once. */
            uint64_t need = 0;
            for (const char *q = p; q < end; q = strchrnul(q, '/') + 1) {
                need++;
                if (!*strchrnul(q, '/'))
                    break;
            }
            if (st->nentries + need > st->max_entries) {
                rc = ERR_NO_SPACE;
                goto out;
            }
            if ((rc = node_new(st, BE_DIR, p, (size_t)(e - p),
                               (dmode ? dmode : 0777) & ~MEM_UMASK, &c)))
                goto out;
            child_insert(cur, c);
            cur->mtime_ns = c->mtime_ns;
        }
        cur = c;
        p = *e ? e + 1 : e;
    }
out:
    *out = cur;
    return rc;
}

static int lookup(struct mem_store *st, const char *path, struct mnode **out)
{
    return walk(st, path, path + strlen(path), false, 0, out);
}

/* Caller holds st->mu. Put the detached node `n` (named by path's leaf) at
 * `path`, creating missing parents and replacing a file or symlink there.
 * ERR_IS_DIR when a directory is there (kept). Nothing changes on failure,
 * except parents made before an ERR_NOMEM/ERR_NO_SPACE. */
static int place_node(struct mem_store *st, const char *path, struct mnode *n)
{
    const char *leaf = leaf_of(path);
    struct mnode *dir, *old = NULL;
    int rc = walk(st, path, leaf - 1, false, 0, &dir);
    if (rc == ERR_OK) {
        if (dir->type != BE_DIR)
            return ERR_NOT_DIR;
        old = child_find(dir, leaf, strlen(leaf));
        if (old && old->type == BE_DIR)
            return ERR_IS_DIR;
    } else if (rc == ERR_NOT_FOUND) {
        if ((rc = walk(st, path, leaf - 1, true, 0, &dir)))
            return rc;
    } else {
        return rc;
    }
    if (old) {
        child_unlink(dir, old);
        node_free(st, old);
    }
    child_insert(dir, n);
    dir->mtime_ns = now_ns();
    return ERR_OK;
}

/* Caller holds st->mu. Applies what `what` names; all or nothing. */
static int apply_attrs(struct mnode *n, const struct be_attrs *a, unsigned what)
{
    struct be_xattr *nx = NULL;
    size_t nnx = 0;
    char *acl = NULL;
    int rc;
    if ((what & BE_ATTR_XATTR) && a->nxattrs &&
        (rc = xattrs_merge(n->xattrs, n->nxattrs, a->xattrs, a->nxattrs, &nx,
                           &nnx)))
        return rc;
    if ((what & BE_ATTR_ACL) && a->acl) {
        if (strlen(a->acl) > MEM_VALUE_MAX) {
            xattrs_free(nx, nnx);
            return ERR_LIMIT;
        }
        if (!(acl = strdup(a->acl))) {
            xattrs_free(nx, nnx);
            return ERR_NOMEM;
        }
    }
    if (what & BE_ATTR_MODE)
        n->mode = a->st.mode & 07777;
    if (what & BE_ATTR_OWNER) {
        n->uid = a->st.uid;
        snprintf(n->owner, sizeof n->owner, "%s", a->st.owner);
    }
    if (what & BE_ATTR_GROUP) {
        n->gid = a->st.gid;
        snprintf(n->group, sizeof n->group, "%s", a->st.group);
    }
    if (what & BE_ATTR_TIMES) {
        n->mtime_ns = a->st.mtime_ns;
        n->atime_ns = a->st.atime_ns;
    }
    if ((what & BE_ATTR_XATTR) && a->nxattrs) {
        xattrs_free(n->xattrs, n->nxattrs);
        n->xattrs = nx;
        n->nxattrs = nnx;
    }
    if (what & BE_ATTR_ACL) {
        free(n->acl);
        n->acl = acl;
    }
    return ERR_OK;
}

/* ---- stores and handles ----------------------------------------------- */

static void store_free(struct mem_store *st)
{
    node_free(st, st->root);
    pthread_mutex_destroy(&st->mu);
    free(st->name);
    free(st);
}

static void store_ref(struct mem_store *st)
{
    pthread_mutex_lock(&registry_mu);
    st->refs++;
    pthread_mutex_unlock(&registry_mu);
}

static void store_unref(struct mem_store *st)
{
    bool last;
    pthread_mutex_lock(&registry_mu);
    last = --st->refs == 0;
    if (last) {
        struct mem_store **pp = &registry;
        while (*pp != st)
            pp = &(*pp)->next;
        *pp = st->next;
    }
    pthread_mutex_unlock(&registry_mu);
    if (last)
        store_free(st);
}

/* Caller holds registry_mu. */
static int store_new(const char *name, struct mem_store **out)
{
    struct mem_store *st = calloc(1, sizeof *st);
    int rc = ERR_NOMEM;
    if (!st || !(st->name = strdup(name)))
        goto out;
    st->max_bytes = env_size("DISTCP_MEM_MAX_BYTES", MEM_DEFAULT_MAX_BYTES);
    st->max_entries = env_size("DISTCP_MEM_MAX_ENTRIES", MEM_DEFAULT_MAX_ENTRIES);
    if (st->max_entries < 1)
        st->max_entries = 1;
    atomic_init(&st->used, 0);
    st->dev = ++registry_seq;
    if (pthread_mutex_init(&st->mu, NULL)) {
        free(st->name);
        goto out;
    }
    if ((rc = node_new(st, BE_DIR, NULL, 0, 0755, &st->root))) {
        pthread_mutex_destroy(&st->mu);
        free(st->name);
        goto out;
    }
    st->refs = 1;
    st->next = registry;
    registry = st;
    *out = st;
    return ERR_OK;
out:
    free(st);
    return rc;
}

static int mem_open(const char *scheme, const char *authority,
                    const struct be_config *cfg, struct be_fs **out,
                    struct errinfo *ei)
{
    struct mem_fs *m = NULL;
    struct mem_store *st = NULL;
    int rc = ERR_OK;
    if (!authority)
        authority = "";
    *out = NULL;
    if (strlen(authority) > MEM_SEG_MAX) {
        rc = err_set(ei, ERR_NAME_TOO_LONG, "cannot open 'mem://%.64s...'",
                     authority);
        goto out;
    }
    if (!(m = calloc(1, sizeof *m)) ||
        !(m->head.scheme = strdup(scheme ? scheme : "mem")) ||
        !(m->head.authority = strdup(authority))) {
        rc = err_set(ei, ERR_NOMEM, "cannot open 'mem://%s'", authority);
        goto out;
    }
    if ((rc = fails_parse(m))) {
        err_set(ei, rc, "cannot open 'mem://%s'", authority);
        goto out;
    }
    pthread_mutex_lock(&registry_mu);
    for (st = registry; st && strcmp(st->name, authority); st = st->next)
        ;
    if (st)
        st->refs++;
    else
        rc = store_new(authority, &st);
    pthread_mutex_unlock(&registry_mu);
    if (rc) {
        err_set(ei, rc, "cannot open 'mem://%s'", authority);
        goto out;
    }
    m->head.ops = &backend_mem;
    m->st = st;
    *out = &m->head;
    m = NULL;
out:
    if (m) {
        fails_free(m);
        free(m->head.scheme);
        free(m->head.authority);
        free(m);
    }
    return rc;
}

static void mem_close(struct be_fs *fs)
{
    struct mem_fs *m = MFS(fs);
    if (!m)
        return;
    store_unref(m->st);
    fails_free(m);
    free(m->head.scheme);
    free(m->head.authority);
    free(m);
}

/* ---- metadata slots --------------------------------------------------- */

static int mem_stat(struct be_fs *fs, const char *path, struct be_stat *s,
                    struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "stat", path))
        return fail_err(ei, st, "stat", path);
    pthread_mutex_lock(&st->mu);
    if (!(rc = lookup(st, path, &n)))
        fill_stat(st, n, s);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot stat 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_list(struct be_fs *fs, const char *path, be_list_cb cb,
                    void *arg, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *dir;
    char **names = NULL;
    size_t nnames = 0;
    struct be_stat *page = NULL;
    const char **pnames = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "list", path))
        return fail_err(ei, st, "list", path);
    pthread_mutex_lock(&st->mu);
    rc = lookup(st, path, &dir);
    if (!rc && dir->type != BE_DIR)
        rc = ERR_NOT_DIR;
    if (!rc && dir->nchildren && !(names = calloc(dir->nchildren, sizeof *names)))
        rc = ERR_NOMEM;
    for (size_t i = 0; !rc && i < (dir->type == BE_DIR ? dir->nbuckets : 0); i++)
        for (struct mnode *c = dir->buckets[i]; c && !rc; c = c->hnext)
            if (!(names[nnames++] = strdup(c->name)))
                rc = ERR_NOMEM;
    pthread_mutex_unlock(&st->mu);
    if (rc) {
        err_set(ei, rc, "cannot list 'mem://%s%s'", st->name, path);
        goto out;
    }
    page = calloc(MEM_LIST_PAGE, sizeof *page);
    pnames = calloc(MEM_LIST_PAGE, sizeof *pnames);
    if (!page || !pnames) {
        rc = err_set(ei, ERR_NOMEM, "cannot list 'mem://%s%s'", st->name, path);
        goto out;
    }
    for (size_t i = 0; i < nnames; i += MEM_LIST_PAGE) {
        size_t k = 0;
        pthread_mutex_lock(&st->mu);
        /* Re-resolve: the directory may have gone meanwhile (then stop). */
        if (lookup(st, path, &dir) == ERR_OK && dir->type == BE_DIR) {
            for (size_t j = i; j < nnames && j < i + MEM_LIST_PAGE; j++) {
                struct mnode *c = child_find(dir, names[j], strlen(names[j]));
                if (c) {
                    fill_stat(st, c, &page[k]);
                    pnames[k++] = names[j];
                }
            }
        } else {
            nnames = i;
        }
        pthread_mutex_unlock(&st->mu);
        for (size_t j = 0; j < k; j++)
            if ((rc = cb(arg, pnames[j], strlen(pnames[j]), &page[j])))
                goto out;
    }
out:
    for (size_t i = 0; names && i < nnames; i++)
        free(names[i]);
    free(names);
    free(page);
    free(pnames);
    return rc;
}

static int mem_mkdirs(struct be_fs *fs, const char *path, uint32_t mode,
                      struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "mkdirs", path))
        return fail_err(ei, st, "mkdirs", path);
    pthread_mutex_lock(&st->mu);
    rc = walk(st, path, path + strlen(path), true, mode, &n);
    if (!rc && n->type != BE_DIR)
        rc = ERR_NOT_DIR;
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot create directory 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_rename(struct be_fs *fs, const char *from, const char *to,
                      struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n, *dir = NULL, *old;
    char *name = NULL;
    int rc;
    if ((rc = check_path(st, from, ei)) || (rc = check_path(st, to, ei)))
        return rc;
    if (fail_hit(MFS(fs), "rename", from) || fail_hit(MFS(fs), "rename", to))
        return fail_err(ei, st, "rename", from);
    if (!strcmp(from, "/") || !strcmp(to, "/"))
        return err_set(ei, ERR_INVAL, "cannot rename 'mem://%s%s' to '%s'",
                       st->name, from, to);
    pthread_mutex_lock(&st->mu);
    if ((rc = lookup(st, from, &n)))
        goto out;
    if (!strcmp(from, to))
        goto out;
    const char *leaf = leaf_of(to);
    if ((rc = walk(st, to, leaf - 1, false, 0, &dir)))
        goto out;
    if (dir->type != BE_DIR) {
        rc = ERR_NOT_DIR;
        goto out;
    }
    for (struct mnode *d = dir; d; d = d->parent) {
        if (d == n) {
            rc = ERR_INVAL;     /* into its own subtree */
            goto out;
        }
    }
    old = child_find(dir, leaf, strlen(leaf));
    if (old == n)
        goto out;
    if (old && old->type == BE_DIR) {
        if (n->type != BE_DIR)
            rc = ERR_IS_DIR;
        else if (old->nchildren)
            rc = ERR_NOT_EMPTY;
    } else if (old && n->type == BE_DIR) {
        rc = ERR_NOT_DIR;
    }
    if (rc)
        goto out;
    if (!(name = strdup(leaf))) {
        rc = ERR_NOMEM;
        goto out;
    }
    struct mnode *from_dir = n->parent;
    child_unlink(from_dir, n);
    if (old) {
        child_unlink(dir, old);
        node_free(st, old);
    }
    free(n->name);
    n->name = name;
    name = NULL;
    child_insert(dir, n);
    from_dir->mtime_ns = dir->mtime_ns = now_ns();
out:
    pthread_mutex_unlock(&st->mu);
    free(name);
    if (rc)
        err_set(ei, rc, "cannot rename 'mem://%s%s' to 'mem://%s%s'", st->name,
                from, st->name, to);
    return rc;
}

static int mem_remove(struct be_fs *fs, const char *path, bool recursive,
                      struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "remove", path))
        return fail_err(ei, st, "remove", path);
    if (!strcmp(path, "/"))
        return err_set(ei, ERR_INVAL, "cannot remove the root of 'mem://%s'",
                       st->name);
    pthread_mutex_lock(&st->mu);
    rc = lookup(st, path, &n);
    if (!rc && n->type == BE_DIR && n->nchildren && !recursive)
        rc = ERR_NOT_EMPTY;
    if (!rc) {
        struct mnode *dir = n->parent;
        child_unlink(dir, n);
        dir->mtime_ns = now_ns();
        node_free(st, n);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot remove 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_getattrs(struct be_fs *fs, const char *path, unsigned what,
                        struct be_attrs *out, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    memset(out, 0, sizeof *out);
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    if ((rc = lookup(st, path, &n)))
        goto out;
    fill_stat(st, n, &out->st);
    if ((what & BE_ATTR_XATTR) &&
        !(rc = xattrs_copy(n->xattrs, n->nxattrs, &out->xattrs)))
        out->nxattrs = n->nxattrs;
    if (!rc && (what & BE_ATTR_ACL) && n->acl && !(out->acl = strdup(n->acl)))
        rc = ERR_NOMEM;
out:
    pthread_mutex_unlock(&st->mu);
    if (rc) {
        attrs_clear(out);
        err_set(ei, rc, "cannot get attributes of 'mem://%s%s'", st->name, path);
    }
    return rc;
}

static int mem_setattr(struct be_fs *fs, const char *path,
                       const struct be_attrs *a, unsigned what,
                       struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "setattr", path))
        return fail_err(ei, st, "set attributes of", path);
    pthread_mutex_lock(&st->mu);
    if (!(rc = lookup(st, path, &n)))
        rc = apply_attrs(n, a, what);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot set attributes of 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_getmeta(struct be_fs *fs, const char *path, const char *key,
                       char **value, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    *value = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    if (!(rc = lookup(st, path, &n))) {
        size_t i;
        for (i = 0; i < n->nmeta && strcmp(n->meta[i].key, key); i++)
            ;
        if (i == n->nmeta)
            rc = ERR_NOT_FOUND;
        else if (!(*value = strdup(n->meta[i].value)))
            rc = ERR_NOMEM;
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot get metadata '%s' of 'mem://%s%s'", key,
                st->name, path);
    return rc;
}

static int mem_setmeta(struct be_fs *fs, const char *path, const char *key,
                       const char *value, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *n;
    int rc;
    if ((rc = check_path(st, path, ei)) || (rc = kv_check(st, path, key, value, ei)))
        return rc;
    pthread_mutex_lock(&st->mu);
    if (!(rc = lookup(st, path, &n)))
        rc = kv_set(&n->meta, &n->nmeta, key, value);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot set metadata '%s' of 'mem://%s%s'", key,
                st->name, path);
    return rc;
}

static int mem_readlink(struct be_fs *fs, const char *path, char *buf, size_t n,
                        struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *node;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    rc = lookup(st, path, &node);
    if (!rc && node->type != BE_SYMLINK)
        rc = ERR_INVAL;
    else if (!rc && strlen(node->target) >= n)
        rc = ERR_TOO_LONG;
    else if (!rc)
        memcpy(buf, node->target, strlen(node->target) + 1);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot read link 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_symlink(struct be_fs *fs, const char *target, const char *path,
                       struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mnode *dir, *n = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (!target || !*target)
        return err_set(ei, ERR_INVAL, "cannot create link 'mem://%s%s'",
                       st->name, path);
    if (strlen(target) > MEM_PATH_MAX)
        return err_set(ei, ERR_NAME_TOO_LONG, "cannot create link 'mem://%s%s'",
                       st->name, path);
    if (!strcmp(path, "/"))
        return err_set(ei, ERR_EXISTS, "cannot create link 'mem://%s/'", st->name);
    const char *leaf = leaf_of(path);
    pthread_mutex_lock(&st->mu);
    if ((rc = walk(st, path, leaf - 1, false, 0, &dir)))
        goto out;
    if (dir->type != BE_DIR)
        rc = ERR_NOT_DIR;
    else if (child_find(dir, leaf, strlen(leaf)))
        rc = ERR_EXISTS;
    else if (!(rc = node_new(st, BE_SYMLINK, leaf, strlen(leaf), 0777, &n)) &&
             !(n->target = strdup(target))) {
        node_free(st, n);
        rc = ERR_NOMEM;
    }
    if (!rc) {
        child_insert(dir, n);
        dir->mtime_ns = n->mtime_ns;
    }
out:
    pthread_mutex_unlock(&st->mu);
    if (rc)
        err_set(ei, rc, "cannot create link 'mem://%s%s'", st->name, path);
    return rc;
}

/* ---- readers ---------------------------------------------------------- */

static int mem_open_read(struct be_fs *fs, const char *path, uint64_t off,
                         struct be_file **out, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mem_file *f = NULL;
    struct mnode *n;
    *out = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "open_read", path))
        return fail_err(ei, st, "open", path);
    if (!(f = calloc(1, sizeof *f)) || !(f->path = strdup(path))) {
        rc = ERR_NOMEM;
        goto out;
    }
    pthread_mutex_lock(&st->mu);
    rc = lookup(st, path, &n);
    if (!rc && n->type == BE_DIR)
        rc = ERR_IS_DIR;
    else if (!rc && n->type != BE_FILE)
        rc = ERR_LOOP;
    if (!rc) {
        f->blob = n->data;
        blob_ref(f->blob);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        goto out;
    f->kind = MF_READ;
    f->st = st;
    store_ref(st);
    f->pos = off;
    f->fail_io = fail_hit(MFS(fs), "read", path);
    *out = BF(f);
    f = NULL;
out:
    if (f) {
        free(f->path);
        free(f);
    }
    if (rc)
        err_set(ei, rc, "cannot open 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_read(struct be_file *bf, void *buf, size_t n, size_t *got,
                    struct errinfo *ei)
{
    struct mem_file *f = MF(bf);
    *got = 0;
    if (f->fail_io)
        return fail_err(ei, f->st, "read", f->path);
    if (f->pos >= f->blob->size)
        return ERR_OK;
    uint64_t left = f->blob->size - f->pos;
    size_t k = left < n ? (size_t)left : n;
    memcpy(buf, f->blob->bytes + f->pos, k);
    f->pos += k;
    *got = k;
    return ERR_OK;
}

static void mem_close_read(struct be_file *bf)
{
    struct mem_file *f = MF(bf);
    if (!f)
        return;
    blob_unref(f->blob);
    store_unref(f->st);
    free(f->path);
    free(f);
}

/* ---- writers ---------------------------------------------------------- */

static void writer_free(struct mem_file *w)
{
    if (!w)
        return;
    uncharge(w->st, w->size);
    free(w->buf);
    attrs_clear(&w->attrs);
    kv_free(w->meta, w->nmeta);
    pthread_mutex_destroy(&w->mu);
    store_unref(w->st);
    free(w->path);
    free(w);
}

static int writer_new(struct mem_fs *m, const char *path, enum mf_kind kind,
                      struct mem_file **out)
{
    struct mem_file *w = calloc(1, sizeof *w);
    if (!w)
        return ERR_NOMEM;
    if (!(w->path = strdup(path)) || pthread_mutex_init(&w->mu, NULL)) {
        free(w->path);
        free(w);
        return ERR_NOMEM;
    }
    w->kind = kind;
    w->st = m->st;
    store_ref(m->st);
    w->fail_io = fail_hit(m, "write", path);
    w->fail_commit = fail_hit(m, "commit", path);
    w->fail_setattr = fail_hit(m, "setattr", path);
    *out = w;
    return ERR_OK;
}

static int mem_create(struct be_fs *fs, const char *path,
                      const struct be_create_opts *opts, struct be_file **out,
                      struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mem_file *w = NULL;
    struct mnode *n = NULL;
    *out = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (!strcmp(path, "/"))
        return err_set(ei, ERR_IS_DIR, "cannot create 'mem://%s/'", st->name);
    if (fail_hit(MFS(fs), "create", path))
        return fail_err(ei, st, "create", path);
    if ((rc = writer_new(MFS(fs), path, MF_WRITE, &w)))
        goto out;
    w->direct = opts && opts->direct;
    w->mode = ((opts && opts->mode) ? opts->mode : 0666) & 07777 & ~MEM_UMASK;
    if (opts && opts->size_hint) {
        size_t want = opts->size_hint < MEM_HINT_MAX ? (size_t)opts->size_hint
                                                     : MEM_HINT_MAX;
        if (want <= st->max_bytes && (w->buf = malloc(want)))
            w->cap = want;
    }
    if (w->direct) {
        const char *leaf = leaf_of(path);
        pthread_mutex_lock(&st->mu);
        rc = node_new(st, BE_FILE, leaf, strlen(leaf), w->mode, &n);
        if (!rc && (rc = place_node(st, path, n)))
            node_free(st, n);
        pthread_mutex_unlock(&st->mu);
        if (rc)
            goto out;
    }
    *out = BF(w);
    w = NULL;
out:
    writer_free(w);
    if (rc)
        err_set(ei, rc, "cannot create 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_open_append(struct be_fs *fs, const char *path,
                           struct be_file **out, struct errinfo *ei)
{
    struct mem_store *st = MFS(fs)->st;
    struct mem_file *w = NULL;
    struct blob *b = NULL;
    struct mnode *n;
    *out = NULL;
    int rc = check_path(st, path, ei);
    if (rc)
        return rc;
    if (fail_hit(MFS(fs), "open_append", path))
        return fail_err(ei, st, "append to", path);
    pthread_mutex_lock(&st->mu);
    rc = lookup(st, path, &n);
    if (!rc && n->type == BE_DIR)
        rc = ERR_IS_DIR;
    else if (!rc && n->type != BE_FILE)
        rc = ERR_LOOP;
    if (!rc) {
        b = n->data;
        blob_ref(b);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc)
        goto out;
    if ((rc = writer_new(MFS(fs), path, MF_APPEND, &w)))
        goto out;
    if (b->size) {
        if (b->size > SIZE_MAX / 2 || (rc = charge(st, b->size)))
            goto out;
        w->size = b->size;          /* charged: writer_free uncharges */
        if (!(w->buf = malloc((size_t)b->size))) {
            rc = ERR_NOMEM;
            goto out;
        }
        memcpy(w->buf, b->bytes, (size_t)b->size);
        w->cap = (size_t)b->size;
    }
    *out = BF(w);
    w = NULL;
out:
    blob_unref(b);
    writer_free(w);
    if (rc)
        err_set(ei, rc, "cannot append to 'mem://%s%s'", st->name, path);
    return rc;
}

static int mem_write(struct be_file *bf, uint64_t off, const void *buf,
                     size_t n, struct errinfo *ei)
{
    struct mem_file *w = MF(bf);
    int rc = ERR_OK;
    if (w->fail_io)
        return fail_err(ei, w->st, "write", w->path);
    if (n == 0)
        return ERR_OK;
    uint64_t end = off + n;
    if (end < off || end > SIZE_MAX / 2)
        return err_set(ei, ERR_NO_SPACE, "cannot write 'mem://%s%s'",
                       w->st->name, w->path);
    pthread_mutex_lock(&w->mu);
    if (end > w->size && (rc = charge(w->st, end - w->size)))
        goto out;
    if (end > w->cap) {
        size_t ncap = w->cap ? w->cap : 4096;
        while (ncap < end)
            ncap = ncap < (64u << 20) ? ncap * 2 : ncap + (64u << 20);
        unsigned char *nb = realloc(w->buf, ncap);
        if (!nb) {
            uncharge(w->st, end > w->size ? end - w->size : 0);
            rc = ERR_NOMEM;
            goto out;
        }
        w->buf = nb;
        w->cap = ncap;
    }
    if (off > w->size)
        memset(w->buf + w->size, 0, (size_t)(off - w->size));
    if (end > w->size)
        w->size = end;
    memcpy(w->buf + off, buf, n);
out:
    pthread_mutex_unlock(&w->mu);
    if (rc)
        err_set(ei, rc, "cannot write 'mem://%s%s'", w->st->name, w->path);
    return rc;
}

static int mem_finish(struct be_file *bf, struct be_stat *st, struct errinfo *ei)
{
    struct mem_file *w = MF(bf);
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&w->mu);
    st->type = BE_FILE;
    st->size = w->size;
    /* the mtime the file keeps at commit: the one set by wsetattr, else
     * fixed now (commit then uses it instead of its own "now") */
    if (!(w->attrs_what & BE_ATTR_TIMES)) {
        w->attrs.st.mtime_ns = w->attrs.st.atime_ns = now_ns();
        w->attrs_what |= BE_ATTR_TIMES;
    }
    st->mtime_ns = w->attrs.st.mtime_ns;
    pthread_mutex_unlock(&w->mu);
    return ERR_OK;
}

static int mem_wsetattr(struct be_file *bf, const struct be_attrs *a,
                        unsigned what, struct errinfo *ei)
{
    struct mem_file *w = MF(bf);
    struct be_xattr *nx = NULL;
    size_t nnx = 0;
    char *acl = NULL;
    int rc = ERR_OK;
    if (w->fail_setattr)
        return fail_err(ei, w->st, "set attributes of", w->path);
    if ((what & BE_ATTR_XATTR) && a->nxattrs &&
        (rc = xattrs_merge(w->attrs.xattrs, w->attrs.nxattrs, a->xattrs,
                           a->nxattrs, &nx, &nnx)))
        goto out;
    if ((what & BE_ATTR_ACL) && a->acl &&
        (strlen(a->acl) > MEM_VALUE_MAX || !(acl = strdup(a->acl)))) {
        rc = strlen(a->acl) > MEM_VALUE_MAX ? ERR_LIMIT : ERR_NOMEM;
        xattrs_free(nx, nnx);
        goto out;
    }
    if (what & BE_ATTR_MODE)
        w->attrs.st.mode = a->st.mode;
    if (what & BE_ATTR_OWNER) {
        w->attrs.st.uid = a->st.uid;
        memcpy(w->attrs.st.owner, a->st.owner, sizeof a->st.owner);
    }
    if (what & BE_ATTR_GROUP) {
        w->attrs.st.gid = a->st.gid;
        memcpy(w->attrs.st.group, a->st.group, sizeof a->st.group);
    }
    if (what & BE_ATTR_TIMES) {
        w->attrs.st.mtime_ns = a->st.mtime_ns;
        w->attrs.st.atime_ns = a->st.atime_ns;
    }
    if ((what & BE_ATTR_XATTR) && a->nxattrs) {
        xattrs_free(w->attrs.xattrs, w->attrs.nxattrs);
        w->attrs.xattrs = nx;
        w->attrs.nxattrs = nnx;
    }
    if (what & BE_ATTR_ACL) {
        free(w->attrs.acl);
        w->attrs.acl = acl;
    }
    w->attrs_what |= what;
out:
    if (rc)
        err_set(ei, rc, "cannot set attributes of 'mem://%s%s'", w->st->name,
                w->path);
    return rc;
}

static int mem_wsetmeta(struct be_file *bf, const char *key, const char *value,
                        struct errinfo *ei)
{
    struct mem_file *w = MF(bf);
    int rc = kv_check(w->st, w->path, key, value, ei);
    if (rc)
        return rc;
    if ((rc = kv_set(&w->meta, &w->nmeta, key, value)))
        err_set(ei, rc, "cannot set metadata '%s' of 'mem://%s%s'", key,
                w->st->name, w->path);
    return rc;
}

/* Publish a writer's data. Does not free w. */
static int publish(struct mem_file *w)
{
    struct mem_store *st = w->st;
    struct mnode *n = NULL;
    struct blob *b;
    int rc;
    unsigned char *bytes = w->buf;
    if (w->size && w->size < w->cap) {
        unsigned char *shrunk = realloc(w->buf, (size_t)w->size);
        if (shrunk)
            bytes = shrunk;
    } else if (!w->size) {
        free(w->buf);
        bytes = NULL;
    }
    w->buf = NULL;
    w->cap = 0;
    if (!(b = blob_new(st, bytes, w->size))) {
        /* keep the bytes with the writer so writer_free releases them */
        w->buf = bytes;
        w->cap = (size_t)w->size;
        return ERR_NOMEM;
    }
    w->size = 0;                     /* the charge moved to the blob */
    pthread_mutex_lock(&st->mu);
    if (w->kind == MF_APPEND) {
        rc = lookup(st, w->path, &n);
        if (!rc && n->type == BE_DIR)
            rc = ERR_IS_DIR;
        else if (!rc && n->type != BE_FILE)
            rc = ERR_LOOP;
        if (!rc && (rc = apply_attrs(n, &w->attrs, w->attrs_what)) == ERR_OK) {
            struct blob *oldb = n->data;
            n->data = b;
            b = NULL;
            blob_unref(oldb);
            if (!(w->attrs_what & BE_ATTR_TIMES))
                n->mtime_ns = now_ns();
            for (size_t i = 0; i < w->nmeta; i++)
                kv_set(&n->meta, &n->nmeta, w->meta[i].key, w->meta[i].value);
        }
        n = NULL;
    } else {
        const char *leaf = leaf_of(w->path);
        if (!(rc = node_new(st, BE_FILE, leaf, strlen(leaf), w->mode, &n))) {
            blob_unref(n->data);
            n->data = b;
            b = NULL;
            n->meta = w->meta;
            n->nmeta = w->nmeta;
            w->meta = NULL;
            w->nmeta = 0;
            if (!(rc = apply_attrs(n, &w->attrs, w->attrs_what)) &&
                !(rc = place_node(st, w->path, n)))
                n = NULL;
        }
    }
    node_free(st, n);
    pthread_mutex_unlock(&st->mu);
    blob_unref(b);
    return rc;
}

static int mem_commit(struct be_file *bf, struct errinfo *ei)
{
    struct mem_file *w = MF(bf);
    int rc;
    if (w->fail_commit)
        rc = fail_err(ei, w->st, "commit", w->path);
    else if ((rc = publish(w)))
        err_set(ei, rc, "cannot commit 'mem://%s%s'", w->st->name, w->path);
    writer_free(w);
    return rc;
}

static void mem_abort(struct be_file *bf)
{
    struct mem_file *w = MF(bf);
    if (!w)
        return;
    if (w->kind == MF_WRITE && w->direct)
        (void)publish(w);           /* a direct write leaves what it wrote */
    writer_free(w);
}

const struct backend_ops backend_mem = {
    .name = "mem",
    .caps = BE_CAP_ATOMIC_RENAME | BE_CAP_EMPTY_DIRS | BE_CAP_POSIX_META |
            BE_CAP_XATTR | BE_CAP_MTIME | BE_CAP_SYMLINKS |
            BE_CAP_PARALLEL_WRITE | BE_CAP_NUMERIC_IDS,
    .open = mem_open,
    .close = mem_close,
    .stat = mem_stat,
    .list = mem_list,
    .open_read = mem_open_read,
    .read = mem_read,
    .close_read = mem_close_read,
    .create = mem_create,
    .write = mem_write,
    .finish = mem_finish,
    .wsetattr = mem_wsetattr,
    .wsetmeta = mem_wsetmeta,
    .commit = mem_commit,
    .abort = mem_abort,
    .open_append = mem_open_append,
    .copy_range = NULL,
    .mkdirs = mem_mkdirs,
    .rename = mem_rename,
    .remove = mem_remove,
    .getattrs = mem_getattrs,
    .setattr = mem_setattr,
    .getmeta = mem_getmeta,
    .setmeta = mem_setmeta,
    .readlink = mem_readlink,
    .symlink = mem_symlink,
};

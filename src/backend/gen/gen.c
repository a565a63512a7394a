/* gen.c - "gen://<spec>/<path>": a SYNTHETIC, READ-ONLY store for
 * benchmarks and tests. Nothing is stored: the tree is a pure function of
 * the spec, so a tree of a billion files costs no memory and no disk.
 *
 * Spec (the URI authority): comma-separated key=value, any order, each key
 * at most once:
 *   files=N      regular files in the tree, 0..10^9 (required)
 *   fanout=F     most entries per directory, 2..10^7 (default 1000)
 *   size=S       every file S bytes, or size=rand:S: each file's size is
 *                pseudo-random in [0, S] from seed and index (default 4096)
 *   seed=X       64-bit seed for sizes and contents (default 1)
 *   pad=P        0..200 filler letters in every file name, for longer
 *                keys (default 0): "f" + "abcd..."[0..P) + digits
 * e.g. gen://files=1000000,fanout=1000,size=rand:8192,seed=7/
 *
 * Shape: the files, numbered 0..N-1 in order, fill "blocks" of F files;
 * block b holds files b*F .. b*F+F-1. With one block the files sit in the
 * root; else the blocks are the leaves of a balanced F-ary directory tree
 * of depth D = ceil(log_F(nblocks)): block b's directory is the base-F
 * digits of b, most significant first, each as "d" + V digits (V = decimal
 * digits of F-1). A file is "f" + W digits of its GLOBAL index (W = digits
 * of N-1), after `pad` filler letters. Fixed widths make name order =
 * index order; a directory exists only if it holds at least one file (no
 * empty directories). Example,
 * files=2500,fanout=100: /d00/f0000../d00/f0099, ..., /d24/f2499.
 *
 * Metadata: files 0644, directories 0755, uid/gid of the process, mtime =
 * atime = 1600000000 s + index for file `index`, 1600000000 s for
 * directories, nlink 1, ino = index + 2 (files) / 1 (root) / an id above
 * 2^62 (directories), dev 0.
 *
 * Contents: with key = mix(mix(seed) ^ index) (mix = the splitmix64
 * finaliser), 8-byte word k (bytes 8k..8k+7) is mix(key + (k+1)*GOLDEN) in
 * little-endian order, truncated at the file size; rand sizes are
 * key % (S+1). tests/e2e/test_gen.py recomputes both in Python.
 *
 * Read-only: create/mkdirs/rename/remove/setattr fail with ERR_READ_ONLY
 * (mkdirs of an existing directory succeeds).
 *
 * Costs: stat is O(depth); list streams entries one at a time through the
 * callback (one stack buffer for the name); reads generate 8 bytes per
 * multiply-xor round.
 *
 * Threading: a be_fs is immutable after open (any thread); a reader is
 * used by one thread at a time. No global state. */
#include "backend/backend.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEN_FILES_MAX 1000000000ull
#define GEN_FANOUT_MAX 10000000ull
#define GEN_SIZE_MAX (1ull << 50)     /* 1 PiB per file, plenty */
#define GEN_SPEC_MAX 256
#define GEN_PAD_MAX 200
#define GEN_NAME_MAX (1 + GEN_PAD_MAX + 20 + 1)
#define GEN_MTIME0 1600000000ll
#define GEN_DIR_INO0 (1ull << 62)
#define GEN_GOLDEN 0x9E3779B97F4A7C15ull

struct gen_fs {
    struct be_fs head;          /* first: the common head */
    uint64_t files, fanout, size, seed, seedkey, pad;
    bool rand_size;
    uint64_t nblocks;           /* ceil(files / fanout) */
    unsigned depth;             /* directory levels above the files */
    uint64_t span[32];          /* span[k] = fanout^(depth-k): blocks under one dir at level k */
    unsigned dwidth, fwidth;    /* digits in "d.." and "f.." names */
    char filler[GEN_PAD_MAX + 1]; /* the pad letters, NUL-terminated */
    uint32_t uid, gid;
};

struct gen_file {
    uint64_t key, size, pos;
};

/* What a path names. */
struct gen_node {
    enum be_type type;
    unsigned level;             /* directories: 0 = root .. depth */
    uint64_t prefix;            /* directories: the digits so far as a number */
    uint64_t index;             /* files: global index */
};

#define GFS(fs) ((struct gen_fs *)(fs))
#define GF(f) ((struct gen_file *)(f))

/* ---- arithmetic ------------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t file_key(const struct gen_fs *g, uint64_t index)
{
    return mix(g->seedkey ^ index);
}

static uint64_t file_size(const struct gen_fs *g, uint64_t index)
{
    if (!g->rand_size)
        return g->size;
    return file_key(g, index) % (g->size + 1); /* size <= GEN_SIZE_MAX */
}

static unsigned digits(uint64_t v)
{
    unsigned n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Write "<c>" + fill + v in exactly `width` digits (zero-padded) + NUL
 * into out; returns the length. out holds GEN_NAME_MAX bytes. */
static size_t put_name(char *out, char c, const char *fill, size_t fl,
                       unsigned width, uint64_t v)
{
    out[0] = c;
    memcpy(out + 1, fill, fl);
    char *d = out + 1 + fl;
    for (unsigned i = width; i > 0; i--) {
        d[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    d[width] = 0;
    return 1 + fl + width;
}

/* ---- spec ------------------------------------------------------------- */

/* Parse a decimal in [lo, hi] from s[0..n). */
static bool parse_num(const char *s, size_t n, uint64_t lo, uint64_t hi,
                      uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int spec_parse(struct gen_fs *g, const char *spec, struct errinfo *ei)
{
    bool have_files = false, have_fanout = false, have_size = false, have_seed = false,
         have_pad = false;
    g->fanout = 1000;
    g->size = 4096;
    g->seed = 1;
    if (strlen(spec) > GEN_SPEC_MAX)
        return err_setx(ei, ERR_BAD_URI, "malformed URI 'gen://%.64s...': spec longer than %d bytes",
                        spec, GEN_SPEC_MAX);
    const char *p = spec;
    while (*p) {
        const char *e = strchrnul(p, ','), *eq = memchr(p, '=', (size_t)(e - p));
        if (!eq)
            goto bad;
        size_t kl = (size_t)(eq - p), vl = (size_t)(e - eq - 1);
        const char *v = eq + 1;
        bool ok = false, *seen = NULL;
        if (kl == 5 && !memcmp(p, "files", 5)) {
            seen = &have_files;
            ok = parse_num(v, vl, 0, GEN_FILES_MAX, &g->files);
        } else if (kl == 6 && !memcmp(p, "fanout", 6)) {
            seen = &have_fanout;
            ok = parse_num(v, vl, 2, GEN_FANOUT_MAX, &g->fanout);
        } else if (kl == 4 && !memcmp(p, "size", 4)) {
            seen = &have_size;
            g->rand_size = vl > 5 && !memcmp(v, "rand:", 5);
            if (g->rand_size)
                ok = parse_num(v + 5, vl - 5, 0, GEN_SIZE_MAX, &g->size);
            else
                ok = parse_num(v, vl, 0, GEN_SIZE_MAX, &g->size);
        } else if (kl == 4 && !memcmp(p, "seed", 4)) {
            seen = &have_seed;
            ok = parse_num(v, vl, 0, UINT64_MAX, &g->seed);
        } else if (kl == 3 && !memcmp(p, "pad", 3)) {
            seen = &have_pad;
            ok = parse_num(v, vl, 0, GEN_PAD_MAX, &g->pad);
        }
        if (!seen || !ok || *seen)
            goto bad;
        *seen = true;
        p = *e ? e + 1 : e;
        if (*e && !*p)
            goto bad; /* trailing ',' */
    }
    if (!have_files)
        return err_setx(ei, ERR_BAD_URI,
                        "malformed URI 'gen://%s': the spec needs files=N (e.g. "
                        "gen://files=1000,fanout=100,size=4096,seed=1/)", spec);
    return ERR_OK;
bad:
    return err_setx(ei, ERR_BAD_URI,
                    "malformed URI 'gen://%s': bad spec; expected comma-separated "
                    "files=N (0..%llu), fanout=F (2..%llu), size=S or size=rand:S, seed=X, pad=P (0..%d)",
                    spec, GEN_FILES_MAX, GEN_FANOUT_MAX, GEN_PAD_MAX);
}

/* Derived shape: blocks, depth, spans, name widths. */
static void shape(struct gen_fs *g)
{
    g->nblocks = (g->files + g->fanout - 1) / g->fanout;
    g->depth = 0;
    uint64_t cap = 1;
    while (cap < g->nblocks) { /* files <= 1e9, fanout >= 2: depth <= 30 */
        cap *= g->fanout;
        g->depth++;
    }
    g->span[g->depth] = 1;
    for (unsigned k = g->depth; k > 0; k--)
        g->span[k - 1] = g->span[k] * g->fanout;
    g->dwidth = digits(g->fanout - 1);
    g->fwidth = digits(g->files ? g->files - 1 : 0);
    g->seedkey = mix(g->seed);
    for (uint64_t i = 0; i < g->pad; i++)
        g->filler[i] = (char)('a' + i % 26);
    g->filler[g->pad] = 0;
}

/* ---- paths ------------------------------------------------------------ */

/* Parse "<c>" + `fill` + exactly `width` digits from s[0..n). */
static bool parse_name(const char *s, size_t n, char c, const char *fill,
                       unsigned width, uint64_t *out)
{
    size_t fl = strlen(fill);
    return n == 1 + fl + (size_t)width && s[0] == c && !memcmp(s + 1, fill, fl) &&
           parse_num(s + 1 + fl, width, 0, UINT64_MAX, out);
}

/* Does directory (level, prefix) hold at least one block? */
static bool dir_exists(const struct gen_fs *g, unsigned level, uint64_t prefix)
{
    return prefix < (g->nblocks + g->span[level] - 1) / g->span[level] ||
           (level == 0 && prefix == 0);
}

static int resolve(const struct gen_fs *g, const char *path,
                   struct gen_node *nd, struct errinfo *ei)
{
    int rc = ERR_OK;
    if (!path || path[0] != '/') {
        rc = err_set(ei, ERR_INVAL, "bad path 'gen://%s%s'", g->head.authority,
                     path ? path : "");
        goto out;
    }
    *nd = (struct gen_node){.type = BE_DIR};
    const char *p = path + 1;
    while (*p) {
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        uint64_t v;
        if (nd->type == BE_FILE) {
            rc = err_set(ei, ERR_NOT_DIR, "cannot resolve 'gen://%s%s'",
                         g->head.authority, path);
            goto out;
        }
        if (nd->level < g->depth) {
            if (!parse_name(p, n, 'd', "", g->dwidth, &v) || v >= g->fanout ||
                !dir_exists(g, nd->level + 1, nd->prefix * g->fanout + v))
                goto notfound;
            nd->level++;
            nd->prefix = nd->prefix * g->fanout + v;
        } else {
            /* the files of block nd->prefix */
            if (!parse_name(p, n, 'f', g->filler, g->fwidth, &v) || v >= g->files ||
                v / g->fanout != nd->prefix)
                goto notfound;
            nd->type = BE_FILE;
            nd->index = v;
        }
        p = *e ? e + 1 : e;
    }
    goto out;
notfound:
    rc = err_set(ei, ERR_NOT_FOUND, "cannot stat 'gen://%s%s'", g->head.authority, path);
out:
    return rc;
}

static void node_stat(const struct gen_fs *g, const struct gen_node *nd,
                      struct be_stat *st)
{
    memset(st, 0, sizeof *st);
    st->type = nd->type;
    st->uid = g->uid;
    st->gid = g->gid;
    st->nlink = 1;
    if (nd->type == BE_FILE) {
        st->mode = 0644;
        st->size = file_size(g, nd->index);
        st->mtime_ns = (GEN_MTIME0 + (int64_t)nd->index) * 1000000000ll;
        st->ino = nd->index + 2;
    } else {
        st->mode = 0755;
        st->mtime_ns = GEN_MTIME0 * 1000000000ll;
        st->ino = nd->level == 0 ? 1 : GEN_DIR_INO0 + nd->level * (GEN_FILES_MAX + 1) + nd->prefix;
    }
    st->atime_ns = st->mtime_ns;
}

/* ---- open/close ------------------------------------------------------- */

static int gen_open(const char *scheme, const char *authority,
                    const struct be_config *cfg, struct be_fs **out,
                    struct errinfo *ei)
{
    struct gen_fs *g = NULL;
    int rc = ERR_OK;
    *out = NULL;
    if (!authority)
        authority = "";
    if (!(g = calloc(1, sizeof *g)) ||
        !(g->head.scheme = strdup(scheme ? scheme : "gen")) ||
        !(g->head.authority = strdup(authority))) {
        rc = err_set(ei, ERR_NOMEM, "cannot open 'gen://%.64s'", authority);
        goto out;
    }
    if ((rc = spec_parse(g, authority, ei)))
        goto out;
    shape(g);
    g->uid = (uint32_t)geteuid();
    g->gid = (uint32_t)getegid();
    g->head.ops = &backend_gen;
    *out = &g->head;
    g = NULL;
out:
    if (g) {
        free(g->head.scheme);
        free(g->head.authority);
        free(g);
    }
    return rc;
}

static void gen_close(struct be_fs *fs)
{
    struct gen_fs *g = GFS(fs);
    if (!g)
        return;
    free(g->head.scheme);
    free(g->head.authority);
    free(g);
}

/* ---- reading ---------------------------------------------------------- */

static int gen_stat(struct be_fs *fs, const char *path, struct be_stat *st,
                    struct errinfo *ei)
{
    struct gen_node nd;
    int rc = resolve(GFS(fs), path, &nd, ei);
    if (rc == ERR_OK)
        node_stat(GFS(fs), &nd, st);
    return rc;
}

static int gen_list(struct be_fs *fs, const char *path, be_list_cb cb,
                    void *arg, struct errinfo *ei)
{
    const struct gen_fs *g = GFS(fs);
    struct gen_node nd, child;
    struct be_stat st;
    char name[GEN_NAME_MAX];
    int rc = resolve(g, path, &nd, ei);
    if (rc)
        goto out;
    if (nd.type != BE_DIR) {
        rc = err_set(ei, ERR_NOT_DIR, "cannot list 'gen://%s%s'", g->head.authority, path);
        goto out;
    }
    if (nd.level < g->depth) {
        child = (struct gen_node){.type = BE_DIR, .level = nd.level + 1};
        for (uint64_t c = 0; c < g->fanout; c++) {
            child.prefix = nd.prefix * g->fanout + c;
            if (!dir_exists(g, child.level, child.prefix))
                break;
            size_t n = put_name(name, 'd', "", 0, g->dwidth, c);
            node_stat(g, &child, &st);
            if ((rc = cb(arg, name, n, &st)))
                goto out;
        }
    } else {
        child = (struct gen_node){.type = BE_FILE};
        uint64_t lo = nd.prefix * g->fanout, hi = lo + g->fanout;
        if (hi > g->files)
            hi = g->files;
        for (uint64_t i = lo; i < hi; i++) {
            child.index = i;
            size_t n = put_name(name, 'f', g->filler, (size_t)g->pad, g->fwidth, i);
            node_stat(g, &child, &st);
            if ((rc = cb(arg, name, n, &st)))
                goto out;
        }
    }
out:
    return rc;
}

static int gen_open_read(struct be_fs *fs, const char *path, uint64_t off,
                         struct be_file **out, struct errinfo *ei)
{
    const struct gen_fs *g = GFS(fs);
    struct gen_node nd;
    struct gen_file *f = NULL;
    int rc;
    *out = NULL;
    if ((rc = resolve(g, path, &nd, ei)))
        goto out;
    if (nd.type != BE_FILE) {
        rc = err_set(ei, ERR_IS_DIR, "cannot open 'gen://%s%s'", g->head.authority, path);
        goto out;
    }
    if (!(f = malloc(sizeof *f))) {
        rc = err_set(ei, ERR_NOMEM, "cannot open 'gen://%s%s'", g->head.authority, path);
        goto out;
    }
    f->key = file_key(g, nd.index);
    f->size = file_size(g, nd.index);
    f->pos = off;
    *out = (struct be_file *)f;
out:
    return rc;
}

static int gen_read(struct be_file *bf, void *buf, size_t n, size_t *got,
                    struct errinfo *ei)
{
    struct gen_file *f = GF(bf);
    unsigned char *out = buf;
    size_t done = 0;
    uint64_t left = f->pos < f->size ? f->size - f->pos : 0;
    if (n > left)
        n = (size_t)left;
    while (done < n) {
        uint64_t k = f->pos >> 3;
        unsigned skip = (unsigned)(f->pos & 7);
        uint64_t w = htole64(mix(f->key + (k + 1) * GEN_GOLDEN));
        size_t take = 8 - skip;
        if (take > n - done)
            take = n - done;
        memcpy(out + done, (const unsigned char *)&w + skip, take);
        done += take;
        f->pos += take;
    }
    *got = done;
    return ERR_OK;
}

static void gen_close_read(struct be_file *bf)
{
    free(bf);
}

/* ---- writing: refused ------------------------------------------------- */

static int read_only(const struct be_fs *fs, const char *path, struct errinfo *ei)
{
    return err_setx(ei, ERR_READ_ONLY,
                    "cannot write 'gen://%s%s': gen:// is a read-only synthetic store",
                    fs->authority, path ? path : "");
}

static int gen_create(struct be_fs *fs, const char *path,
                      const struct be_create_opts *opts, struct be_file **out,
                      struct errinfo *ei)
{
    *out = NULL;
    return read_only(fs, path, ei);
}

/* No writer is ever handed out; these slots exist because they are required. */
static int gen_write(struct be_file *w, uint64_t off, const void *buf, size_t n,
                     struct errinfo *ei)
{
    return err_setx(ei, ERR_READ_ONLY, "cannot write: gen:// is a read-only synthetic store");
}

static int gen_finish(struct be_file *w, struct be_stat *st, struct errinfo *ei)
{
    return err_setx(ei, ERR_READ_ONLY, "cannot write: gen:// is a read-only synthetic store");
}

static int gen_commit(struct be_file *w, struct errinfo *ei)
{
    free(w);
    return err_setx(ei, ERR_READ_ONLY, "cannot write: gen:// is a read-only synthetic store");
}

static void gen_abort(struct be_file *w)
{
    free(w);
}

static int gen_mkdirs(struct be_fs *fs, const char *path, uint32_t mode,
                      struct errinfo *ei)
{
    struct gen_node nd;
    int rc = resolve(GFS(fs), path, &nd, NULL);
    if (rc == ERR_OK && nd.type == BE_DIR)
        return ERR_OK;
    if (rc == ERR_OK || rc == ERR_NOT_DIR)
        return err_set(ei, ERR_NOT_DIR, "cannot create directory 'gen://%s%s'",
                       fs->authority, path);
    return read_only(fs, path, ei);
}

static int gen_rename(struct be_fs *fs, const char *from, const char *to,
                      struct errinfo *ei)
{
    return read_only(fs, from, ei);
}

static int gen_remove(struct be_fs *fs, const char *path, bool recursive,
                      struct errinfo *ei)
{
    return read_only(fs, path, ei);
}

static int gen_setattr(struct be_fs *fs, const char *path, const struct be_attrs *a,
                       unsigned what, struct errinfo *ei)
{
    return read_only(fs, path, ei);
}

const struct backend_ops backend_gen = {
    .name = "gen",
    .caps = BE_CAP_EMPTY_DIRS | BE_CAP_POSIX_META | BE_CAP_NUMERIC_IDS | BE_CAP_MTIME,
    .open = gen_open,
    .close = gen_close,
    .stat = gen_stat,
    .list = gen_list,
    .open_read = gen_open_read,
    .read = gen_read,
    .close_read = gen_close_read,
    .create = gen_create,
    .write = gen_write,
    .finish = gen_finish,
    .commit = gen_commit,
    .abort = gen_abort,
    .mkdirs = gen_mkdirs,
    .rename = gen_rename,
    .remove = gen_remove,
    .setattr = gen_setattr,
};

/* entry.c - compact entries and the external sort (sorted runs spilled to
 * disk, merged k-way). See entry.h for the invariants. Single-threaded per
 * sorter; the plan iterator reads a finished sorter. */
#include "engine/entry.h"

#include "engine/digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_MAX_OPEN 64        /* runs merged at once; more cascade */
#define IO_BUF (1u << 20)

struct run {
    char *path;
    uint64_t count;
};

struct sorter {
    char *workdir;
    size_t cap;
    char *arena;               /* records back to back, 8-aligned */
    size_t used, arena_cap;
    uint32_t *offs;            /* record offsets into arena */
    size_t n, offs_cap;
    struct run *runs;
    size_t nruns, runs_cap;
    uint64_t total;
    unsigned seq;
    bool finished;
    char *plan_path;           /* merged plan file when spilled */
    bool keep_plan;            /* plan_path is not ours to remove */
};

size_t entry_key_copy(const struct entry *e, char *buf, size_t n)
{
    size_t len = e->keylen < n ? e->keylen : n - 1;
    const char *k = entry_key(e);
    for (size_t i = 0; i < len; i++)
        buf[i] = k[i] ? k[i] : '/';
    buf[len] = 0;
    return len;
}

int entry_cmp(const struct entry *a, const struct entry *b)
{
    size_t m = a->keylen < b->keylen ? a->keylen : b->keylen;
    int c = memcmp(entry_key(a), entry_key(b), m);
    if (c)
        return c;
    return (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

struct sorter *sorter_new(const char *workdir, size_t mem_cap)
{
    struct sorter *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->workdir = strdup(workdir ? workdir : "/tmp");
    s->cap = mem_cap < (1u << 16) ? (1u << 16) : mem_cap;
    if (!s->workdir) {
        free(s);
        return NULL;
    }
    return s;
}

void sorter_free(struct sorter *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nruns; i++) {
        unlink(s->runs[i].path);
        free(s->runs[i].path);
    }
    if (s->plan_path) {
        if (!s->keep_plan)
            unlink(s->plan_path);
        free(s->plan_path);
    }
    free(s->runs);
    free(s->arena);
    free(s->offs);
    free(s->workdir);
    free(s);
}

uint64_t sorter_count(const struct sorter *s)
{
    return s->total;
}

static int cmp_off(const void *a, const void *b, void *arg)
{
    const char *arena = arg;
    return entry_cmp((const struct entry *)(arena + *(const uint32_t *)a),
                     (const struct entry *)(arena + *(const uint32_t *)b));
}

static void sort_buffer(struct sorter *s)
{
    if (s->n < 2)
        return;
    qsort_r(s->offs, s->n, sizeof *s->offs, cmp_off, s->arena);
}

static char *new_run_path(struct sorter *s, struct errinfo *ei)
{
    char *p = NULL;
    if (asprintf(&p, "%s/run-%p-%u", s->workdir, (void *)s, s->seq++) < 0) {
        err_setx(ei, ERR_NOMEM, "out of memory");
        return NULL;
    }
    return p;
}

static int add_run(struct sorter *s, char *path, uint64_t count,
                   struct errinfo *ei)
{
    if (s->nruns == s->runs_cap) {
        size_t nc = s->runs_cap ? s->runs_cap * 2 : 8;
        struct run *r = realloc(s->runs, nc * sizeof *r);
        if (!r)
            return err_setx(ei, ERR_NOMEM, "out of memory");
        s->runs = r;
        s->runs_cap = nc;
    }
    s->runs[s->nruns].path = path;
    s->runs[s->nruns].count = count;
    s->nruns++;
    return ERR_OK;
}

/* Write the buffer, sorted, as one run file; empty the buffer. */
static int spill(struct sorter *s, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *path = NULL;
    FILE *f = NULL;
    if (s->n == 0)
        return ERR_OK;
    sort_buffer(s);
    if (!(path = new_run_path(s, ei))) {
        rc = ERR_NOMEM;
        goto out;
    }
    f = fopen(path, "wbx");
    if (!f) {
        rc = err_sys(ei, errno, "cannot create spill file '%s'", path);
        goto out;
    }
    setvbuf(f, NULL, _IOFBF, IO_BUF);
    for (size_t i = 0; i < s->n; i++) {
        const struct entry *e = (const struct entry *)(s->arena + s->offs[i]);
        if (fwrite(e, entry_size(e), 1, f) != 1) {
            rc = err_sys(ei, errno, "cannot write spill file '%s'", path);
            goto out;
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = err_sys(ei, errno, "cannot write spill file '%s'", path);
        goto out;
    }
    f = NULL;
    if ((rc = add_run(s, path, s->n, ei)))
        goto out;
    path = NULL;
    s->n = 0;
    s->used = 0;
out:
    if (f)
        fclose(f);
    if (path) {
        unlink(path);
        free(path);
    }
    return rc;
}

static int reserve(struct sorter *s, size_t need, struct errinfo *ei)
{
    if (s->used + need > s->arena_cap) {
        size_t nc = s->arena_cap ? s->arena_cap * 2 : (1u << 16);
        while (nc < s->used + need)
            nc *= 2;
        if (nc > s->cap + ENTRY_KEY_MAX + 64)
            nc = s->cap + ENTRY_KEY_MAX + 64;
        char *a = realloc(s->arena, nc);
        if (!a)
            return err_setx(ei, ERR_NOMEM, "out of memory growing the listing buffer");
        s->arena = a;
        s->arena_cap = nc;
    }
    if (s->n == s->offs_cap) {
        size_t nc = s->offs_cap ? s->offs_cap * 2 : 1024;
        uint32_t *o = realloc(s->offs, nc * sizeof *o);
        if (!o)
            return err_setx(ei, ERR_NOMEM, "out of memory growing the listing buffer");
        s->offs = o;
        s->offs_cap = nc;
    }
    return ERR_OK;
}

static int push_record(struct sorter *s, const struct entry *e,
                       struct errinfo *ei)
{
    size_t sz = entry_size(e);
    int rc;
    if (s->used + sz + s->n * sizeof(uint32_t) > s->cap && s->n > 0) {
        if ((rc = spill(s, ei)))
            return rc;
    }
    if ((rc = reserve(s, sz, ei)))
        return rc;
    memcpy(s->arena + s->used, e, sz);
    s->offs[s->n++] = (uint32_t)s->used;
    s->used += sz;
    return ERR_OK;
}

int sorter_add(struct sorter *s, const struct be_stat *st, uint32_t root,
               const char *key, size_t keylen, unsigned flags,
               struct errinfo *ei)
{
    union {
        struct entry e;
        char raw[sizeof(struct entry) + ENTRY_KEY_MAX + 8];
    } u;
    if (keylen > ENTRY_KEY_MAX)
        return err_setx(ei, ERR_TOO_LONG, "path too long (%zu bytes) below the source root", keylen);
    memset(&u.e, 0, sizeof u.e);
    u.e.size = st->type == BE_FILE || st->type == BE_SYMLINK ? st->size : 0;
    u.e.mtime_ns = st->mtime_ns;
    u.e.atime_ns = st->atime_ns;
    u.e.blocksize = st->blocksize;
    u.e.mode = st->mode;
    u.e.uid = st->uid;
    u.e.gid = st->gid;
    u.e.root = root;
    u.e.keylen = (uint16_t)keylen;
    u.e.type = (uint8_t)st->type;
    u.e.flags = (uint8_t)flags;
    u.e.replication = st->replication;
    if (st->meta_known) {
        u.e.flags |= ENTRY_F_DKNOWN;
        if (st->meta_digest[0] && st->type == BE_FILE &&
            digest_meta_valid(st->meta_digest, st->size, st->mtime_ns, &u.e.digest))
            u.e.flags |= ENTRY_F_DVALID;
    }
    char *k = u.raw + sizeof(struct entry);
    for (size_t i = 0; i < keylen; i++)
        k[i] = key[i] == '/' ? 0 : key[i];
    size_t pad = entry_size(&u.e) - sizeof(struct entry) - keylen;
    memset(k + keylen, 0, pad);
    s->total++;
    return push_record(s, &u.e, ei);
}

size_t sorter_mem_used(const struct sorter *s)
{
    return s ? s->arena_cap + s->offs_cap * sizeof(uint32_t) : 0;
}

int sorter_absorb(struct sorter *dst, struct sorter *src, struct errinfo *ei)
{
    int rc = ERR_OK;
    /* Copy small leftovers; spill a big buffer as its own run rather than
     * doubling it in memory (the job's sort budget holds for the sum). */
    if (src->n && dst->used + src->used + (dst->n + src->n) * sizeof(uint32_t) > dst->cap &&
        (rc = spill(src, ei)))
        return rc;
    for (size_t i = 0; i < src->n; i++) {
        const struct entry *e = (const struct entry *)(src->arena + src->offs[i]);
        if ((rc = push_record(dst, e, ei)))
            return rc;
    }
    for (size_t i = 0; i < src->nruns; i++) {
        if ((rc = add_run(dst, src->runs[i].path, src->runs[i].count, ei)))
            return rc;
        src->runs[i].path = NULL;
    }
    dst->total += src->total;
    src->nruns = 0;
    src->n = 0;
    src->used = 0;
    src->total = 0;
    return ERR_OK;
}

/* Run reader ----------------------------------------------------------- */
struct rreader {
    FILE *f;
    union {
        struct entry e;
        char raw[sizeof(struct entry) + ENTRY_KEY_MAX + 8];
    } u;
    bool valid;
};

static int rreader_next(struct rreader *r, struct errinfo *ei, const char *path)
{
    size_t got = fread(&r->u.e, sizeof(struct entry), 1, r->f);
    if (got != 1) {
        if (ferror(r->f))
            return err_sys(ei, EIO, "cannot read spill file '%s'", path);
        r->valid = false;
        return ERR_OK;
    }
    size_t rest = entry_size(&r->u.e) - sizeof(struct entry);
    if (r->u.e.keylen > ENTRY_KEY_MAX ||
        (rest && fread(r->u.raw + sizeof(struct entry), rest, 1, r->f) != 1))
        return err_setx(ei, ERR_IO, "spill file '%s' is truncated or corrupt", path);
    r->valid = true;
    return ERR_OK;
}

/* Merge runs[lo..hi) into one new run file. */
static int merge_runs(struct sorter *s, size_t lo, size_t hi, char **outpath,
                      uint64_t *outcount, struct errinfo *ei)
{
    int rc = ERR_OK;
    size_t k = hi - lo;
    struct rreader *rd = calloc(k, sizeof *rd);
    FILE *out = NULL;
    char *path = NULL;
    uint64_t count = 0;
    if (!rd) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        rd[i].f = fopen(s->runs[lo + i].path, "rb");
        if (!rd[i].f) {
            rc = err_sys(ei, errno, "cannot open spill file '%s'", s->runs[lo + i].path);
            goto out;
        }
        setvbuf(rd[i].f, NULL, _IOFBF, 256u << 10);
        if ((rc = rreader_next(&rd[i], ei, s->runs[lo + i].path)))
            goto out;
    }
    if (!(path = new_run_path(s, ei))) {
        rc = ERR_NOMEM;
        goto out;
    }
    out = fopen(path, "wbx");
    if (!out) {
        rc = err_sys(ei, errno, "cannot create spill file '%s'", path);
        goto out;
    }
    setvbuf(out, NULL, _IOFBF, IO_BUF);
    for (;;) {
        /* k ≤ 64: a linear scan for the minimum is as fast as a heap here. */
        ssize_t best = -1;
        for (size_t i = 0; i < k; i++)
            if (rd[i].valid && (best < 0 || entry_cmp(&rd[i].u.e, &rd[best].u.e) < 0))
                best = (ssize_t)i;
        if (best < 0)
            break;
        const struct entry *e = &rd[best].u.e;
        if (fwrite(e, entry_size(e), 1, out) != 1) {
            rc = err_sys(ei, errno, "cannot write spill file '%s'", path);
            goto out;
        }
        count++;
        if ((rc = rreader_next(&rd[best], ei, s->runs[lo + best].path)))
            goto out;
    }
    if (fclose(out) != 0) {
        out = NULL;
        rc = err_sys(ei, errno, "cannot write spill file '%s'", path);
        goto out;
    }
    out = NULL;
    *outpath = path;
    *outcount = count;
    path = NULL;
out:
    if (out)
        fclose(out);
    if (path) {
        unlink(path);
        free(path);
    }
    if (rd) {
        for (size_t i = 0; i < k; i++)
            if (rd[i].f)
                fclose(rd[i].f);
        free(rd);
    }
    return rc;
}

int sorter_finish(struct sorter *s, struct errinfo *ei)
{
    int rc = ERR_OK;
    if (s->finished)
        return ERR_OK;
    if (s->nruns == 0) {
        sort_buffer(s);        /* all in memory: nothing touches the disk */
        s->finished = true;
        return ERR_OK;
    }
    if ((rc = spill(s, ei)))
        return rc;
    free(s->arena);
    s->arena = NULL;
    s->arena_cap = 0;
    free(s->offs);
    s->offs = NULL;
    s->offs_cap = 0;
    while (s->nruns > 1) {
        size_t hi = s->nruns < RUN_MAX_OPEN ? s->nruns : RUN_MAX_OPEN;
        char *path = NULL;
        uint64_t count = 0;
        if ((rc = merge_runs(s, 0, hi, &path, &count, ei)))
            return rc;
        for (size_t i = 0; i < hi; i++) {
            unlink(s->runs[i].path);
            free(s->runs[i].path);
        }
        memmove(s->runs, s->runs + hi, (s->nruns - hi) * sizeof *s->runs);
        s->nruns -= hi;
        if ((rc = add_run(s, path, count, ei))) {
            unlink(path);
            free(path);
            return rc;
        }
    }
    s->plan_path = s->runs[0].path;
    s->nruns = 0;
    s->finished = true;
    return ERR_OK;
}

struct sorter *sorter_open_plan(const char *path, struct errinfo *ei)
{
    if (access(path, R_OK)) {
        err_sys(ei, errno, "cannot read plan file '%s'", path);
        return NULL;
    }
    struct sorter *s = sorter_new(NULL, 0);
    if (!s || !(s->plan_path = strdup(path))) {
        sorter_free(s);
        err_setx(ei, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->keep_plan = true;
    s->finished = true;
    return s;
}

/* Plan iteration ------------------------------------------------------- */
struct plan_iter {
    struct sorter *s;
    size_t i;               /* in-memory cursor */
    struct rreader r;       /* on-disk cursor */
    struct errinfo ei;
};

struct plan_iter *plan_iter_new(struct sorter *s, struct errinfo *ei)
{
    struct plan_iter *it = calloc(1, sizeof *it);
    if (!it) {
        err_setx(ei, ERR_NOMEM, "out of memory");
        return NULL;
    }
    it->s = s;
    if (s->plan_path) {
        it->r.f = fopen(s->plan_path, "rb");
        if (!it->r.f) {
            err_sys(ei, errno, "cannot open plan file '%s'", s->plan_path);
            free(it);
            return NULL;
        }
        setvbuf(it->r.f, NULL, _IOFBF, IO_BUF);
    }
    return it;
}

const struct entry *plan_iter_next(struct plan_iter *it, int *err)
{
    *err = ERR_OK;
    if (!it->s->plan_path) {
        if (it->i >= it->s->n)
            return NULL;
        return (const struct entry *)(it->s->arena + it->s->offs[it->i++]);
    }
    *err = rreader_next(&it->r, &it->ei, it->s->plan_path);
    if (*err || !it->r.valid)
        return NULL;
    return &it->r.u.e;
}

void plan_iter_free(struct plan_iter *it)
{
    if (!it)
        return;
    if (it->r.f)
        fclose(it->r.f);
    free(it);
}

/* listing.c - the parallel walk into per-thread sorters, filters (B §4) and the
 * duplicate check (B §3.1).
 *
 * The walk: a shared stack of directories to list, N threads popping from
 * it; each thread lists one directory through the backend and adds each
 * child to its own sorter (no shared state per entry), pushing child
 * directories back on the stack. Termination: the stack is empty and no
 * thread is busy. Filters do not prune traversal (B §4).
 *
 * The sources themselves (globs, -f lists, roots, input checks, bases) are
 * sources.c.
 *
 * Under MPI (dist.h `list_walk`) rank 0's walk also lends directories to
 * the other ranks: a lent directory counts busy until its children come
 * back; rank 0 then runs each child through the very callback its threads
 * use (filters, sorter, subdirectories pushed on the same stack), so the
 * plan is the same as a threaded one and faster ranks take more. */
#include "engine/listing.h"
#include "engine/dist.h"
#include "engine/recorder.h"
#include "engine/testpoint.h"

#include "engine/decide.h"
#include "engine/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/filter.h"
#include "util/path.h"

#define PATHMAX 8192


/* --------------------------------------------------------------- walk */

struct wdir {
    uint32_t root;
    char *path;        /* directory to list */
    char *key;         /* its key ('/' form) */
};

struct walk {
    struct job *j;
    struct be_fs *fs_override;   /* target walk: one fs, root 0 */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct wdir *stack;
    size_t n, cap;
    int busy;
    int rc;                       /* first error */
    struct errinfo ei;
    bool done;
    size_t nthreads;
    struct sorter **sorters;
    const char *qprefix;          /* qualified prefix for filters ("file:") */
    bool keep_excluded;           /* add filtered entries flagged, not drop them */
    size_t budget;                /* sort memory for this walk (bytes) */
    /* MPI: directories lent to other ranks (slots rank * DIST_LIST_AHEAD + k),
     * all handled by rank 0's main thread */
    bool dist;
    size_t nslots;
    char *lent_buf;               /* the path scratch every slot's context shares */
    struct wthread *lent;         /* per slot: the lent directory's context */
    struct wdir *lent_dir;        /* per slot: the lent directory (path NULL: none) */
    struct sorter *rsorter;       /* what lent directories contributed */
};

struct wthread {
    struct walk *w;
    struct sorter *s;
    uint32_t root;
    const char *dirpath;
    const char *dirkey;
    size_t dirkeylen;
    struct be_fs *fs;
    char *buf;          /* scratch for paths */
};

static int walk_push(struct walk *w, uint32_t root, const char *path, const char *key)
{
    struct wdir d = {root, strdup(path), strdup(key)};
    if (!d.path || !d.key) {
        free(d.path);
        free(d.key);
        return ERR_NOMEM;
    }
    pthread_mutex_lock(&w->lock);
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 256;
        struct wdir *s = realloc(w->stack, nc * sizeof *s);
        if (!s) {
            pthread_mutex_unlock(&w->lock);
            free(d.path);
            free(d.key);
            return ERR_NOMEM;
        }
        w->stack = s;
        w->cap = nc;
    }
    w->stack[w->n++] = d;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return ERR_OK;
}

static bool excluded(struct walk *w, const char *path, size_t len)
{
    const struct filter *f = w->j->filter;
    if (!f)
        return false;
    if (filter_excludes(f, path, len))
        return true;
    char q[PATHMAX + 64];
    int n = snprintf(q, sizeof q, "%s%s", w->qprefix, path);
    return n > 0 && (size_t)n < sizeof q && filter_excludes(f, q, (size_t)n);
}

static int walk_cb(void *arg, const char *name, size_t namelen, const struct be_stat *st)
{
    tp_pause(((struct wthread *)arg)->w->j, "listing");
    struct wthread *t = arg;
    struct walk *w = t->w;
    char *buf = t->buf;
    int rc;
    if (namelen == 0 || memchr(name, '/', namelen) ||
        (namelen == 1 && name[0] == '.') || (namelen == 2 && name[0] == '.' && name[1] == '.')) {
        /* a name that cannot be a file (object keys with "..", "//"): a
         * per-file failure, never a path outside the target; with -i it is
         * counted and skipped, without it the job fails like any read error */
        char d[PATHMAX];
        backend_display(t->fs, t->dirpath, d, sizeof d);
        if (policy_decide(ERR_UNSAFE_PATH, NULL, SIDE_READ, w->j->o, POLICY_LAST) == POLICY_COUNT_AND_GO_ON) {
            job_count(w->j, C_FAIL, 1);
            job_error(w->j, "skipping an unsafe name '%.*s' in '%s' (ignored, -i): it cannot be a file name",
                      (int)namelen, name, d);
            return ERR_OK;
        }
        return err_setx(&w->ei, ERR_UNSAFE_PATH, "listing of '%s' returned an unsafe name '%.*s'",
                        d, (int)namelen, name);
    }
    size_t dl = strlen(t->dirpath);
    if (dl + 1 + namelen + 1 > PATHMAX || t->dirkeylen + 1 + namelen > ENTRY_KEY_MAX)
        return err_setx(&w->ei, ERR_NAME_TOO_LONG, "path too long below '%s'", t->dirpath);
    /* full source path */
    memcpy(buf, t->dirpath, dl);
    size_t pl = dl;
    if (!(dl == 1 && buf[0] == '/'))
        buf[pl++] = '/';
    memcpy(buf + pl, name, namelen);
    pl += namelen;
    buf[pl] = 0;
    /* key */
    char *key = buf + PATHMAX;
    memcpy(key, t->dirkey, t->dirkeylen);
    key[t->dirkeylen] = '/';
    memcpy(key + t->dirkeylen + 1, name, namelen);
    size_t kl = t->dirkeylen + 1 + namelen;
    key[kl] = 0;
    bool ex = excluded(w, buf, pl);
    if (!ex || w->keep_excluded) {
        if ((rc = sorter_add(t->s, st, t->root, key, kl, ex ? ENTRY_F_EXCLUDED : 0, &w->ei)))
            return rc;
    }
    if (st->type == BE_DIR) {
        if (walk_push(w, t->root, buf, key))
            return err_setx(&w->ei, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

/* List one directory with the walk's retries (B §10: each listStatus is
 * retried up to 3 times). `stop`: a callback error (retrying cannot help). */
static int list_dir(struct be_fs *fs, const char *path, be_list_cb cb, void *arg,
                    const struct errinfo *stop, const struct options *o, struct errinfo *ei)
{
    int rc = ERR_OK;
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = fs->ops->list(fs, path, cb, arg, ei);
        if (!rc || policy_decide(rc, ei, SIDE_LIST, o, attempt) != POLICY_RETRY || (stop && stop->code))
            break;
        policy_backoff(200, attempt, false);
    }
    return rc;
}

static void *walk_main(void *arg)
{
    struct wthread *t = arg;
    struct walk *w = t->w;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (w->n == 0 && !w->done && w->busy > 0)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->done || (w->n == 0 && w->busy == 0)) {
            w->done = true;
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->lock);
            break;
        }
        struct wdir d = w->stack[--w->n];
        w->busy++;
        pthread_mutex_unlock(&w->lock);

        struct errinfo ei = {0};
        struct be_fs *fs = w->fs_override ? w->fs_override : w->j->roots[d.root].fs;
        t->root = d.root;
        t->dirpath = d.path;
        t->dirkey = d.key;
        t->dirkeylen = strlen(d.key);
        t->fs = fs;
        int rc = list_dir(fs, d.path, walk_cb, t, &w->ei, w->j->o, &ei);
        pthread_mutex_lock(&w->lock);
        w->busy--;
        if (rc && !w->rc) {
            w->rc = rc;
            if (!w->ei.code || w->ei.code != rc)
                w->ei = ei;
            w->done = true;
        }
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        free(d.path);
        free(d.key);
    }
    return NULL;
}

static size_t sorter_mem(const struct job *j)
{
    return j->o->settings.sort_mem;
}

/* Walk the queued dirs with n threads into sorters merged into `into`. */
static int walk_run(struct walk *w, struct sorter *into, struct errinfo *ei)
{
    int rc = ERR_OK;
    size_t n = w->nthreads;
    pthread_t *th = calloc(n + 1, sizeof *th);
    struct wthread *ts = calloc(n + 1, sizeof *ts);
    size_t started = 0;
    if (!th || !ts) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t parts = n + (w->dist ? 1 : 0);
    size_t per = w->budget / (parts ? parts : 1);
    if (w->dist) {
        w->lent = calloc(w->nslots, sizeof *w->lent);
        w->lent_dir = calloc(w->nslots, sizeof *w->lent_dir);
        w->rsorter = sorter_new(w->j->workdir, per);
        w->lent_buf = malloc(PATHMAX * 2 + 8);
        if (!w->lent || !w->lent_dir || !w->rsorter || !w->lent_buf) {
            rc = err_setx(ei, ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < w->nslots; i++) {
            w->lent[i].w = w;
            w->lent[i].s = w->rsorter;
            w->lent[i].buf = w->lent_buf;
        }
    }
    for (size_t i = 0; i < n; i++) {
        ts[i].w = w;
        ts[i].s = sorter_new(w->j->workdir, per);
        ts[i].buf = malloc(PATHMAX * 2 + 8);
        if (!ts[i].s || !ts[i].buf) {
            rc = err_setx(ei, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, walk_main, &ts[started])) {
            rc = err_setx(ei, ERR_NOMEM, "cannot start listing threads");
            pthread_mutex_lock(&w->lock);
            w->done = true;
            pthread_cond_broadcast(&w->cond);
            pthread_mutex_unlock(&w->lock);
            break;
        }
    /* MPI: the main thread lends directories to the other ranks until the
     * walk is over (it returns at once after a failure to start) */
    if (w->dist)
        job_dist->list_walk(job_dist, w->j, w);
out:
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (!rc && w->rc) {
        rc = w->rc;
        *ei = w->ei;
    }
    for (size_t i = 0; ts && i < n; i++) {
        if (!rc && ts[i].s)
            rc = sorter_absorb(into, ts[i].s, ei);
        sorter_free(ts[i].s);
        free(ts[i].buf);
    }
    if (w->rsorter && !rc)
        rc = sorter_absorb(into, w->rsorter, ei);
    sorter_free(w->rsorter);
    w->rsorter = NULL;
    for (size_t i = 0; w->lent_dir && i < w->nslots; i++) {
        free(w->lent_dir[i].path);
        free(w->lent_dir[i].key);
    }
    free(w->lent_buf);
    w->lent_buf = NULL;
    free(w->lent);
    free(w->lent_dir);
    w->lent = NULL;
    w->lent_dir = NULL;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->n; i++) {
        free(w->stack[i].path);
        free(w->stack[i].key);
    }
    w->n = 0;
    pthread_mutex_unlock(&w->lock);
    free(w->stack);
    w->stack = NULL;
    free(th);
    free(ts);
    return rc;
}

/* ---------------------------------------------- distributed (MPI) walk */

bool listing_lend(struct walk *w, size_t slot, uint32_t *root, const char **path)
{
    if (slot >= w->nslots || w->lent_dir[slot].path)
        return false;
    pthread_mutex_lock(&w->lock);
    if (w->done || w->n == 0) {
        pthread_mutex_unlock(&w->lock);
        return false;
    }
    struct wdir d = w->stack[--w->n];
    w->busy++;
    pthread_mutex_unlock(&w->lock);
    w->lent_dir[slot] = d;
    struct wthread *t = &w->lent[slot];
    t->root = d.root;
    t->dirpath = d.path;
    t->dirkey = d.key;
    t->dirkeylen = strlen(d.key);
    t->fs = w->j->roots[d.root].fs;
    *root = d.root;
    *path = d.path;
    return true;
}

int listing_lent_child(struct walk *w, size_t slot, const char *name, size_t namelen,
                       const struct be_stat *st)
{
    if (slot >= w->nslots || !w->lent_dir[slot].path)
        return ERR_OK;
    /* after a failure too, as the threads finish the directory in hand */
    return walk_cb(&w->lent[slot], name, namelen, st);
}

void listing_lent_done(struct walk *w, size_t slot, int rc, const struct errinfo *ei)
{
    if (slot >= w->nslots || !w->lent_dir[slot].path)
        return;
    pthread_mutex_lock(&w->lock);
    w->busy--;
    if (rc && !w->rc) {
        /* as walk_main: the listing's error, or the callback's (w->ei) */
        w->rc = rc;
        if (ei && (!w->ei.code || w->ei.code != rc))
            w->ei = *ei;
        w->done = true;
    }
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    free(w->lent_dir[slot].path);
    free(w->lent_dir[slot].key);
    w->lent_dir[slot].path = w->lent_dir[slot].key = NULL;
}

bool listing_walk_over(struct walk *w)
{
    pthread_mutex_lock(&w->lock);
    if (!w->done && w->n == 0 && w->busy == 0) {
        w->done = true;
        pthread_cond_broadcast(&w->cond);
    }
    bool over = w->done;
    pthread_mutex_unlock(&w->lock);
    return over;
}

int listing_list_dir(struct job *j, uint32_t root, const char *path, be_list_cb cb, void *arg,
                     struct errinfo *ei)
{
    if (root >= j->nroots)
        return err_setx(ei, ERR_INVAL, "no source root %u on this rank", (unsigned)root);
    return list_dir(j->roots[root].fs, path, cb, arg, NULL, j->o, ei);
}

/* Lend directories to other ranks: an MPI run of more than one rank, and
 * sources whose every rank sees the same tree through its own client
 * (local/shared file systems, WebHDFS). An S3 listing is one flat paged
 * stream: it stays on rank 0. */
static bool dist_listing(const struct job *j)
{
    if (!job_dist || job_dist->size < 2 || !job_dist->list_walk)
        return false;
    for (size_t i = 0; i < j->nroots; i++)
        if (!(j->roots[i].fs->ops->caps & BE_CAP_LIST_PER_DIR))
            return false;
    return true;
}

static size_t list_threads(const struct job *j)
{
    /* options_resolve: 1 with -useiterator, else as given, else 8 (docs/settings.md) */
    int n = j->o->settings.list_threads;
    return n < 1 ? 1 : (size_t)n;
}

size_t listing_threads(const struct job *j)
{
    return list_threads(j);
}

static void qualified_prefix(struct be_fs *fs, char *buf, size_t n)
{
    backend_qualified(fs, "/", buf, n);
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '/')
        buf[l - 1] = 0;
}

enum job_status listing_build(struct job *j)
{
    struct errinfo ei = {0};
    struct walk w;
    char qp[512];
    int rc = ERR_OK;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    w.j = j;
    w.nthreads = list_threads(j);
    w.budget = sorter_mem(j);
    if ((w.dist = dist_listing(j))) {
        w.nslots = (size_t)job_dist->size * DIST_LIST_AHEAD;
        /* test hook: every directory is listed by another rank */
        if (tp_list_remote_only())
            w.nthreads = 0;
    }
    j->plan = sorter_new(j->workdir, sorter_mem(j));
    if (!j->plan) {
        job_fail(j, JOB_FAILED, "out of memory");
        goto out;
    }
    qualified_prefix(j->roots[0].fs, qp, sizeof qp);
    w.qprefix = qp;
    bool U = j->contents_update;
    for (size_t i = 0; i < j->nroots; i++) {
        struct source_root *r = &j->roots[i];
        size_t bl = strlen(r->base);
        const char *key = r->path + (strcmp(r->base, "/") ? bl : 0);
        if (!strcmp(r->base, r->path))
            key = "";
        size_t kl = strlen(key);
        bool root_entry = kl == 0;
        if (!(root_entry && r->st.type == BE_DIR && !decide_list_root(U, j->o->update_root))) {
            if (!excluded(&w, r->path, strlen(r->path)) &&
                (rc = sorter_add(j->plan, &r->st, (uint32_t)i, key, kl, ENTRY_F_ROOT, &ei)))
                goto fail;
        }
        if (r->st.type == BE_DIR && (rc = walk_push(&w, (uint32_t)i, r->path, key))) {
            err_setx(&ei, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if ((rc = walk_run(&w, j->plan, &ei)))
        goto fail;
    if ((rc = sorter_finish(j->plan, &ei)))
        goto fail;

    /* duplicates (B §3.1) and totals */
    {
        struct plan_iter *it = plan_iter_new(j->plan, &ei);
        if (!it) {
            rc = ei.code ? ei.code : ERR_NOMEM;
            goto fail;
        }
        char *prev = malloc(sizeof(struct entry) + ENTRY_KEY_MAX + 8);
        bool have_prev = false;
        const struct entry *e;
        int err = 0;
        while ((e = plan_iter_next(it, &err))) {
            if (have_prev && entry_cmp((const struct entry *)prev, e) == 0) {
                char a[PATHMAX], b[PATHMAX];
                job_src_path(j, (const struct entry *)prev, a, sizeof a);
                job_src_path(j, e, b, sizeof b);
                plan_iter_free(it);
                free(prev);
                job_fail(j, JOB_DUPLICATE, "File %s and %s would cause duplicates. Aborting", a, b);
                goto out;
            }
            if (e->type == BE_DIR)
                j->plan_dirs++;
            else {
                j->plan_files++;
                j->plan_bytes += e->size;
            }
            memcpy(prev, e, entry_size(e));
            have_prev = true;
        }
        plan_iter_free(it);
        free(prev);
        if (err) {
            rc = err;
            err_setx(&ei, err, "cannot read the listing");
            goto fail;
        }
    }
    goto out;
fail:
    job_fail(j, JOB_FAILED, "listing failed: %s", ei.msg[0] ? ei.msg : err_str(rc));
out:
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return j->first_exit;
}

int listing_walk_target(struct job *j, struct be_fs *fs, const char *root_path,
                        bool keep_excluded, struct sorter **out, struct errinfo *ei)
{
    struct walk w;
    char qp[512];
    int rc;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    w.j = j;
    w.fs_override = fs;
    w.keep_excluded = keep_excluded;
    w.nthreads = list_threads(j);
    /* one sort budget per job: what the source plan still holds in memory
     * is taken off this walk's share (at least a quarter is left) */
    size_t budget = sorter_mem(j), held = sorter_mem_used(j->plan);
    w.budget = held + budget / 4 < budget ? budget - held : budget / 4;
    qualified_prefix(fs, qp, sizeof qp);
    w.qprefix = qp;
    struct sorter *s = sorter_new(j->workdir, w.budget);
    if (!s) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = walk_push(&w, 0, root_path, ""))) {
        err_setx(ei, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = walk_run(&w, s, ei)))
        goto out;
    if ((rc = sorter_finish(s, ei)))
        goto out;
    *out = s;
    s = NULL;
out:
    sorter_free(s);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return rc;
}

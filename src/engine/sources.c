/* sources.c - the job's inputs (spec B §2, §3): expand the source
 * arguments (globs, brace patterns) or the -f list into source roots, open
 * their stores, probe the target, run the input checks (B §2.3) and
 * compute each source's base (B §3, decide.c's rule).
 *
 * Invariants: j->roots is filled once, in argument order, before any walk;
 * each root's store is borrowed from j->fs_list.
 *
 * Threading: the job's main thread only (every rank under MPI). */
#include "engine/listing.h"
#include "engine/recorder.h"
#include "engine/testpoint.h"

#include "engine/decide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/glob.h"
#include "util/path.h"

#define PATHMAX 8192

/* ---------------------------------------------------------------- globs */

struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *s, char *str)
{
    if (!str)
        return ERR_NOMEM;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, nc * sizeof *v);
        if (!v) {
            free(str);
            return ERR_NOMEM;
        }
        s->v = v;
        s->cap = nc;
    }
    s->v[s->n++] = str;
    return ERR_OK;
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct glob_ctx {
    const struct glob *g;
    const char *dir;
    struct strv *out;
    int rc;
};

static int glob_list_cb(void *arg, const char *name, size_t namelen,
                        const struct be_stat *st)
{
    struct glob_ctx *c = arg;
    (void)st;
    if (!glob_match(c->g, name, namelen))
        return ERR_OK;
    char *p = NULL;
    if (asprintf(&p, "%s%s%.*s", c->dir, strcmp(c->dir, "/") ? "/" : "",
                 (int)namelen, name) < 0)
        return ERR_NOMEM;
    return strv_push(c->out, p);
}

/* Expand one brace-free pattern path (absolute) component by component. */
static int glob_one(struct be_fs *fs, const char *pattern, struct strv *out,
                    struct errinfo *ei)
{
    int rc = ERR_OK;
    struct strv cur = {0}, next = {0};
    char *copy = strdup(pattern);
    char *save = NULL;
    if (!copy || (rc = strv_push(&cur, strdup("/"))))
        goto out;
    for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (!glob_has_magic(comp)) {
            char *lit = glob_unescape(comp);
            if (!lit) {
                rc = ERR_NOMEM;
                goto out;
            }
            for (size_t i = 0; i < cur.n; i++) {
                char *p = NULL;
                if (asprintf(&p, "%s%s%s", cur.v[i], strcmp(cur.v[i], "/") ? "/" : "", lit) < 0)
                    p = NULL;
                if ((rc = strv_push(&next, p))) {
                    free(lit);
                    goto out;
                }
            }
            free(lit);
        } else {
            struct glob *g = NULL;
            if ((rc = glob_compile(comp, &g, ei)))
                goto out;
            for (size_t i = 0; i < cur.n; i++) {
                struct be_stat st;
                if (fs->ops->stat(fs, cur.v[i], &st, NULL) || st.type != BE_DIR)
                    continue;
                size_t before = next.n;
                struct glob_ctx c = {g, cur.v[i], &next, 0};
                int lr = fs->ops->list(fs, cur.v[i], glob_list_cb, &c, ei);
                if (lr && lr != ERR_NOT_FOUND && lr != ERR_NOT_DIR) {
                    glob_free(g);
                    rc = lr;
                    goto out;
                }
                if (next.n - before > 1)
                    qsort(next.v + before, next.n - before, sizeof(char *), cmp_str);
            }
            glob_free(g);
        }
        strv_free(&cur);
        cur = next;
        memset(&next, 0, sizeof next);
    }
    for (size_t i = 0; i < cur.n; i++) {
        struct be_stat st;
        if (fs->ops->stat(fs, cur.v[i], &st, NULL) == ERR_OK) {
            if ((rc = strv_push(out, cur.v[i])))
                goto out;
            cur.v[i] = NULL;
        }
    }
out:
    if (rc == ERR_NOMEM)
        err_setx(ei, ERR_NOMEM, "out of memory expanding '%s'", pattern);
    strv_free(&cur);
    strv_free(&next);
    free(copy);
    return rc;
}

static int add_root(struct job *j, struct be_fs *fs, const char *path,
                    const struct be_stat *st)
{
    struct source_root *r = realloc(j->roots, (j->nroots + 1) * sizeof *r);
    if (!r)
        return ERR_NOMEM;
    j->roots = r;
    r = &j->roots[j->nroots];
    memset(r, 0, sizeof *r);
    r->path = strdup(path);
    char disp[PATHMAX];
    backend_display(fs, path, disp, sizeof disp);
    r->display = strdup(disp);
    r->fs = fs;
    r->st = *st;
    if (!r->path || !r->display)
        return ERR_NOMEM;
    j->nroots++;
    return ERR_OK;
}

static int job_open(struct job *j, const char *uri, struct be_fs **fs,
                    char **path, struct errinfo *ei)
{
    int rc = backend_open_uri(uri, &j->cfg, fs, path, ei);
    if (rc)
        return rc;
    struct be_fs **l = realloc(j->fs_list, (j->nfs + 1) * sizeof *l);
    if (!l) {
        backend_close(*fs);
        free(*path);
        return err_setx(ei, ERR_NOMEM, "out of memory");
    }
    j->fs_list = l;
    j->fs_list[j->nfs++] = *fs;
    return ERR_OK;
}

/* Expand one source argument (B §2.1): returns a job status. */
static enum job_status expand_source(struct job *j, const char *arg)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    char *path = NULL;
    char **pats = NULL;
    size_t npats = 0;
    struct strv matches = {0};
    enum job_status status = JOB_OK;
    int rc = job_open(j, arg, &fs, &path, &ei);
    if (rc) {
        job_fail(j, rc == ERR_NOT_BUILT || rc == ERR_BAD_URI ? JOB_INVALID : JOB_FAILED,
                 "%s", ei.msg);
        return j->first_exit;
    }
    if (!glob_has_magic(path)) {
        struct be_stat st;
        if (strchr(path, '\\')) {
            /* a pattern without wildcards: its backslash escapes still apply */
            char *lit = glob_unescape(path);
            if (!lit) {
                job_fail(j, JOB_FAILED, "out of memory");
                status = JOB_FAILED;
                goto out;
            }
            free(path);
            path = lit;
        }
        rc = fs->ops->stat(fs, path, &st, &ei);
        if (rc == ERR_NOT_FOUND) {
            job_fail(j, JOB_INVALID, "%s doesn't exist", arg);
            status = JOB_INVALID;
        } else if (rc) {
            job_fail(j, JOB_INVALID, "cannot read source '%s': %s", arg, ei.msg);
            status = JOB_INVALID;
        } else if (add_root(j, fs, path, &st)) {
            job_fail(j, JOB_FAILED, "out of memory");
            status = JOB_FAILED;
        }
        goto out;
    }
    if ((rc = glob_expand_braces(path, &pats, &npats, &ei))) {
        job_fail(j, JOB_INVALID, "invalid glob '%s': %s", arg, ei.msg);
        status = JOB_INVALID;
        goto out;
    }
    for (size_t i = 0; i < npats; i++) {
        if ((rc = glob_one(fs, pats[i], &matches, &ei))) {
            job_fail(j, rc == ERR_INVAL ? JOB_INVALID : JOB_FAILED,
                     "cannot expand '%s': %s", arg, ei.msg);
            status = j->first_exit;
            goto out;
        }
    }
    if (matches.n == 0) {
        job_fail(j, JOB_INVALID, "%s doesn't exist", arg);
        status = JOB_INVALID;
        goto out;
    }
    for (size_t i = 0; i < matches.n; i++) {
        struct be_stat st;
        if (fs->ops->stat(fs, matches.v[i], &st, NULL))
            continue;
        if (add_root(j, fs, matches.v[i], &st)) {
            job_fail(j, JOB_FAILED, "out of memory");
            status = JOB_FAILED;
            goto out;
        }
    }
out:
    glob_strv_free(pats, npats);
    strv_free(&matches);
    free(path);
    return status;
}

/* -f list (B §2.2): one path per line, each globbed. */
static enum job_status read_source_list(struct job *j, struct strv *out)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    char *path = NULL;
    struct be_file *r = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    enum job_status status = JOB_OK;
    const size_t maxlen = 64u << 20;
    int rc = job_open(j, j->o->source_list, &fs, &path, &ei);
    if (!rc)
        rc = fs->ops->open_read(fs, path, 0, &r, &ei);
    while (!rc) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = err_setx(&ei, ERR_NOMEM, "out of memory");
                break;
            }
            buf = nb;
        }
        size_t got = 0;
        rc = fs->ops->read(r, buf + len, cap - len - 1, &got, &ei);
        if (rc || got == 0)
            break;
        len += got;
        if (len > maxlen) {
            rc = err_setx(&ei, ERR_LIMIT, "source list '%s' is larger than 64 MiB", j->o->source_list);
            break;
        }
    }
    if (r)
        fs->ops->close_read(r);
    if (rc) {
        job_fail(j, JOB_FAILED, "cannot read source list '%s': %s", j->o->source_list, ei.msg);
        status = JOB_FAILED;
        goto out;
    }
    size_t start = 0, lineno = 1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || buf[i] == '\n') {
            if (i == len && start == len)
                break;      /* no line after the last newline */
            size_t e = i;
            if (e > start && buf[e - 1] == '\r')
                e--;
            if (e == start) {
                job_fail(j, JOB_FAILED, "source list '%s': line %zu: Can not create a Path from an empty string",
                         j->o->source_list, lineno);
                status = JOB_FAILED;
                goto out;
            }
            char *line = strndup(buf + start, e - start);
            if (!line || strv_push(out, line)) {
                job_fail(j, JOB_FAILED, "out of memory");
                status = JOB_FAILED;
                goto out;
            }
            start = i + 1;
            lineno++;
        }
    }
out:
    free(buf);
    free(path);
    return status;
}

/* ------------------------------------------------------------ prepare */

enum job_status listing_prepare(struct job *j)
{
    struct options *o = j->o;
    struct errinfo ei = {0};
    struct strv list = {0};
    enum job_status status = JOB_OK;
    char *tpath = NULL;

    /* target store and probe (B §3: probed once) */
    int rc = job_open(j, o->target, &j->tfs, &tpath, &ei);
    if (rc) {
        job_fail(j, rc == ERR_NOT_BUILT || rc == ERR_BAD_URI ? JOB_INVALID : JOB_FAILED, "%s", ei.msg);
        status = j->first_exit;
        goto out;
    }
    j->target = tpath;
    tpath = NULL;
    struct be_stat tst;
    rc = j->tfs->ops->stat(j->tfs, j->target, &tst, &ei);
    if (rc == ERR_OK) {
        j->target_exists = true;
        j->target_is_dir = tst.type == BE_DIR;
        j->target_is_file = !j->target_is_dir;
    } else if (rc != ERR_NOT_FOUND) {
        job_fail(j, JOB_FAILED, "cannot read target: %s", ei.msg);
        status = JOB_FAILED;
        goto out;
    }
    /* a resumed job decides its bases as it did when it listed */
    job_resume_apply_target(j);

    /* sources */
    if (o->source_list) {
        if ((status = read_source_list(j, &list)))
            goto out;
        for (size_t i = 0; i < list.n; i++)
            if ((status = expand_source(j, list.v[i])))
                goto out;
    } else {
        for (size_t i = 0; i < o->nsources; i++)
            if ((status = expand_source(j, o->sources[i])))
                goto out;
    }
    if (j->nroots == 0) {
        job_fail(j, JOB_INVALID, "no source paths");
        status = JOB_INVALID;
        goto out;
    }

    /* input checks (B §2.3) */
    if (o->atomic && j->target_exists) {
        job_fail(j, JOB_INVALID, "Target path for atomic-commit already exists: %s. "
                 "Cannot atomic-commit to pre-existing target-path.", o->target);
        status = JOB_INVALID;
        goto out;
    }
    if (j->target_is_file) {
        if (j->nroots != 1) {
            job_fail(j, JOB_INVALID, "Multiple source being copied to a file: %s", o->target);
            status = JOB_INVALID;
            goto out;
        }
        if (j->roots[0].st.type == BE_DIR) {
            job_fail(j, JOB_INVALID, "Cannot copy %s, which is not a file to %s",
                     j->roots[0].display, o->target);
            status = JOB_INVALID;
            goto out;
        }
    }
    unsigned tcaps = j->tfs->ops->caps;
    if ((o->preserve & PRESERVE_A) && (!(tcaps & BE_CAP_ACL) || !j->roots[0].fs->ops->getattrs)) {
        char d[PATHMAX];
        backend_display(j->tfs, "/", d, sizeof d);
        job_fail(j, JOB_ACL, "ACLs not supported for file system: %s", d);
        status = JOB_ACL;
        goto out;
    }
    if ((o->preserve & PRESERVE_X) && (!(tcaps & BE_CAP_XATTR) || !j->roots[0].fs->ops->getattrs)) {
        char d[PATHMAX];
        backend_display(j->tfs, "/", d, sizeof d);
        job_fail(j, JOB_XATTR, "XAttrs not supported for file system: %s", d);
        status = JOB_XATTR;
        goto out;
    }
    if (o->blocks_per_chunk > 0 && !(tcaps & (BE_CAP_PARALLEL_WRITE | BE_CAP_CONCAT_WRITE))) {
        job_fail(j, JOB_INVALID, "-blocksperchunk is not supported since the target file system doesn't support concat.");
        status = JOB_INVALID;
        goto out;
    }

    /* bases (B §3) */
    bool U = o->update || o->overwrite;
    bool texists = o->atomic ? false : j->target_exists;
    bool tisdir = o->atomic ? false : j->target_is_dir;
    j->contents_update = U;
    for (size_t i = 0; i < j->nroots; i++) {
        struct source_root *r = &j->roots[i];
        bool use_self = decide_base_is_self((unsigned)j->nroots, r->st.type == BE_DIR,
                                            !strcmp(r->path, "/"), texists, tisdir, U);
        r->base = use_self ? strdup(r->path) : path_parent(r->path);
        if (!r->base) {
            job_fail(j, JOB_FAILED, "out of memory");
            status = JOB_FAILED;
            goto out;
        }
    }
    /* single file to an existing file: overwrite mode (B §5.1) */
    j->target_root_is_file = j->nroots == 1 && j->roots[0].st.type != BE_DIR && j->target_is_file;
out:
    strv_free(&list);
    free(tpath);
    return status;
}

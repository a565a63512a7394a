/* webhdfs_write.c - WebHDFS writers: the temp file is created with its
 * first buffered bytes (CREATE overwrite), APPENDed after, RENAMEd over the
 * final name at commit, DELETEd at abort; writes at other offsets become
 * part files CONCATenated at finish (docs/protocols.md §2.3).
 *
 * Threading: a writer's parts are used by one thread each; plock routes
 * concurrent writes to the stream they continue. */
#include "backend/webhdfs/webhdfs_int.h"

#include <grp.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_uint g_tmp_seq;  /* temp names: <pid>_<seq> */

/* Writing ------------------------------------------------------------------ */

static void writer_free(struct wh_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nparts; i++)
        writer_free(w->parts[i]);
    if (w->parts)
        pthread_mutex_destroy(&w->plock);
    free(w->parts);
    free(w->path);
    free(w->target);
    free(w->buf);
    free(w);
}

/* CREATE target (overwrite) with these bytes. */
static int do_create(struct wh_writer *w, const void *data, size_t n, struct errinfo *ei)
{
    char extra[160];
    int len = snprintf(extra, sizeof extra, "&overwrite=true&permission=%o", w->perm);
    if (w->blocksize)
        len += snprintf(extra + len, sizeof extra - (size_t)len, "&blocksize=%llu",
                        (unsigned long long)w->blocksize);
    if (w->replication)
        snprintf(extra + len, sizeof extra - (size_t)len, "&replication=%u",
                 (unsigned)w->replication);
    struct http_resp r;
    int rc = wh_data_call(w->fs, "PUT", w->target, "CREATE", extra, data, n, WH_JSON_MAX, "write",
                       &r, ei);
    http_resp_free(&r);
    return rc;
}

/* Send the buffered bytes: CREATE for the first chunk (also when there is
 * none: an empty file), APPEND after. */
int wh_flush_buf(struct wh_writer *w, struct errinfo *ei)
{
    int rc = ERR_OK;
    if (w->blen == 0 && w->flushed_once)
        return ERR_OK;
    if (!w->flushed_once) {
        rc = do_create(w, w->buf, w->blen, ei);
    } else {
        struct http_resp r;
        rc = wh_data_call(w->fs, "POST", w->target, "APPEND", NULL, w->buf, w->blen, WH_JSON_MAX,
                       "write", &r, ei);
        http_resp_free(&r);
    }
    if (rc == ERR_OK) {
        w->flushed_once = true;
        w->blen = 0;
    }
    return rc;
}

int wh_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
              struct be_file **out, struct errinfo *ei)
{
    struct wh_writer *w = calloc(1, sizeof *w);
    int rc = ERR_OK;
    *out = NULL;
    if (!w || !(w->path = strdup(path)) || !(w->buf = malloc(WH_WBUF))) {
        rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
        goto out;
    }
    w->fs = fs_of(f);
    w->direct = opts && opts->direct;
    w->perm = ((opts && opts->mode) ? opts->mode : 0666) & 07777 & ~022u;
    w->blocksize = opts ? opts->blocksize : 0;
    w->replication = opts ? opts->replication : 0;
    if (w->direct) {
        if (!(w->target = strdup(path))) {
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    } else {
        const char *slash = strrchr(path, '/');
        int plen = opts && opts->tmp_dir ? (int)strlen(opts->tmp_dir) : (int)(slash - path);
        const char *pdir = opts && opts->tmp_dir ? opts->tmp_dir : path;
        char tag[64];
        w->tmp_dir_given = opts && opts->tmp_dir;
        if (opts && opts->tmp_tag)
            snprintf(tag, sizeof tag, "%s", opts->tmp_tag);
        else
            snprintf(tag, sizeof tag, "%ld_%u", (long)getpid(), atomic_fetch_add(&g_tmp_seq, 1));
        if (plen == 1 && pdir[0] == '/')
            plen = 0;
        if (asprintf(&w->target, "%.*s/.distcp.tmp.%s", plen, pdir, tag) < 0) {
            w->target = NULL;
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    }
    if (!w->direct) {
        pthread_mutex_init(&w->plock, NULL);
        if (!(w->parts = calloc(1, sizeof *w->parts))) {
            pthread_mutex_destroy(&w->plock);
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    }
    /* a temp is created with its first bytes (wh_flush_buf): a file that fits
     * the buffer costs one CREATE, not two; -direct shows the name at once */
    if (w->direct && (rc = do_create(w, NULL, 0, ei)))
        goto out;
    *out = (struct be_file *)w;
    w = NULL;
out:
    writer_free(w);
    return rc;
}

int wh_open_append(struct be_fs *f, const char *path, struct be_file **out,
                   struct errinfo *ei)
{
    struct be_stat st;
    struct wh_writer *w = NULL;
    int rc = wh_stat(f, path, &st, ei);
    *out = NULL;
    if (rc)
        goto out;
    if (st.type != BE_FILE) {
        rc = err_set(ei, st.type == BE_DIR ? ERR_IS_DIR : ERR_INVAL, "cannot append to '%s'",
                     path);
        goto out;
    }
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path)) ||
        !(w->target = strdup(path)) || !(w->buf = malloc(WH_WBUF))) {
        rc = err_set(ei, ERR_NOMEM, "cannot append to '%s'", path);
        goto out;
    }
    w->fs = fs_of(f);
    w->direct = w->append = w->flushed_once = true;
    w->written = st.size;
    *out = (struct be_file *)w;
    w = NULL;
out:
    writer_free(w);
    return rc;
}

/* Append n bytes to stream w (its own next offset checked by the caller). */
static int stream_write(struct wh_writer *w, const unsigned char *p, size_t n,
                        struct errinfo *ei)
{
    if (!w->buf && !(w->buf = malloc(WH_WBUF)))
        return err_set(ei, ERR_NOMEM, "cannot write '%s'", w->path);
    while (n) {
        size_t k = WH_WBUF - w->blen;
        if (k > n)
            k = n;
        memcpy(w->buf + w->blen, p, k);
        w->blen += k;
        w->written += k;
        p += k;
        n -= k;
        if (w->blen == WH_WBUF) {
            int rc = wh_flush_buf(w, ei);
            if (rc)
                return rc;
        }
    }
    return ERR_OK;
}

#define WH_MAX_PARTS 4096u
#define WH_IDLE_FLUSH 16u /* idle parts flushed when a new one starts */

/* A new part stream starting at off (called under plock). */
static struct wh_writer *new_part(struct wh_writer *w, uint64_t off)
{
    struct wh_writer *p = NULL, **np;
    if (w->nparts == WH_MAX_PARTS ||
        !(np = realloc(w->parts, (w->nparts + 1) * sizeof *np)))
        return NULL;
    w->parts = np;
    if (!(p = calloc(1, sizeof *p)) || !(p->path = strdup(w->path)) ||
        asprintf(&p->target, "%s.part.%llu", w->target, (unsigned long long)off) < 0) {
        if (p)
            p->target = NULL;
        writer_free(p);
        return NULL;
    }
    p->fs = w->fs;
    p->direct = true;
    p->perm = w->perm;
    p->blocksize = w->blocksize;
    p->replication = w->replication;
    p->start = p->next = off;
    w->parts[w->nparts++] = p;
    return p;
}

int wh_write(struct be_file *f, uint64_t off, const void *buf, size_t n,
             struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f, *s = NULL;
    struct wh_writer *idle[WH_IDLE_FLUSH];
    size_t nidle = 0;
    int rc;
    if (n == 0)
        return ERR_OK;
    if (w->append || w->direct) {  /* sequential only */
        if (off != w->written)
            return err_setx(ei, ERR_INVAL, "cannot write '%s' at offset %llu: the store "
                            "writes sequentially (at %llu)", w->path, (unsigned long long)off,
                            (unsigned long long)w->written);
        return stream_write(w, buf, n, ei);
    }
    pthread_mutex_lock(&w->plock);
    if (!w->busy && w->next == off)
        s = w;
    for (size_t i = 0; !s && i < w->nparts; i++)
        if (!w->parts[i]->busy && w->parts[i]->next == off)
            s = w->parts[i];
    if (!s && (s = new_part(w, off))) {
        /* a new piece began: parts idle with buffered bytes are probably
         * complete; send their bytes and drop their buffers (memory stays
         * bounded by the pieces in flight; a part that does continue just
         * gets another part after it) */
        for (size_t i = 0; i < w->nparts && nidle < WH_IDLE_FLUSH; i++)
            if (!w->parts[i]->busy && w->parts[i]->buf) {
                w->parts[i]->busy = true;
                idle[nidle++] = w->parts[i];
            }
    }
    if (s) {
        s->busy = true;
        s->next = off + n;
    }
    pthread_mutex_unlock(&w->plock);
    if (!s)
        return err_setx(ei, ERR_NOMEM, "cannot write '%s' at offset %llu: out of memory or "
                        "more than %u parts", w->path, (unsigned long long)off, WH_MAX_PARTS);
    rc = stream_write(s, buf, n, ei);
    for (size_t i = 0; i < nidle; i++) {
        int r2 = wh_flush_buf(idle[i], rc ? NULL : ei);
        if (r2 == ERR_OK) {
            free(idle[i]->buf);
            idle[i]->buf = NULL;
        } else if (rc == ERR_OK) {
            rc = r2;
        }
    }
    pthread_mutex_lock(&w->plock);
    s->busy = false;
    for (size_t i = 0; i < nidle; i++)
        idle[i]->busy = false;
    pthread_mutex_unlock(&w->plock);
    return rc;
}

static int part_cmp(const void *a, const void *b)
{
    const struct wh_writer *x = *(struct wh_writer *const *)a, *y = *(struct wh_writer *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* finish() with parts: flush them, check they tile [written, end) after the
 * temp's own bytes, CONCAT them onto the temp (64 per call), re-apply the
 * times the CONCAT changed. *size gets the whole length. */
static int assemble(struct wh_writer *w, uint64_t *size, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *q = NULL, *list = NULL;
    uint64_t end = w->written;
    *size = end;
    if (!w->nparts)
        return ERR_OK;
    qsort(w->parts, w->nparts, sizeof *w->parts, part_cmp);
    for (size_t i = 0; i < w->nparts; i++) {
        struct wh_writer *p = w->parts[i];
        if (p->start != end)
            return err_setx(ei, ERR_INTERNAL, "cannot finish '%s': bytes %llu-%llu were never "
                            "written", w->path, (unsigned long long)end,
                            (unsigned long long)p->start);
        if ((rc = wh_flush_buf(p, ei)))
            return rc;
        end = p->start + p->written;
    }
    for (size_t i = 0; i < w->nparts; i += 64) {
        size_t len = 0, k = i + 64 < w->nparts ? i + 64 : w->nparts;
        for (size_t m = i; m < k; m++)
            len += strlen(wh_hdfs_path(w->fs, w->parts[m]->target)) + 1;
        free(list);
        if (!(list = malloc(len + 1))) {
            rc = err_set(ei, ERR_NOMEM, "cannot finish '%s'", w->path);
            goto out;
        }
        list[0] = 0;
        for (size_t m = i; m < k; m++) {
            if (m > i)
                strcat(list, ",");
            strcat(list, wh_hdfs_path(w->fs, w->parts[m]->target));
        }
        free(q);
        if (!(q = wh_qparam("sources", list))) {
            rc = err_set(ei, ERR_NOMEM, "cannot finish '%s'", w->path);
            goto out;
        }
        if ((rc = wh_nn_call(w->fs, "POST", w->target, "CONCAT", q, "concatenate parts into",
                          NULL, NULL, 0, ei)))
            goto out;
    }
    for (size_t i = 0; i < w->nparts; i++)
        w->parts[i]->flushed_once = false; /* gone into the temp: nothing to delete */
    if (w->mtime_ns && (rc = wh_set_times(w->fs, w->target, w->mtime_ns, w->atime_ns, ei)))
        goto out;
    *size = end;
out:
    free(q);
    free(list);
    return rc;
}

int wh_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    uint64_t size = w->written;
    int rc = wh_flush_buf(w, ei);
    if (rc == ERR_OK)
        rc = assemble(w, &size, ei);
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->size = size;
    st->mtime_ns = w->mtime_ns;
    st->uid = st->gid = BE_ID_NONE;
    return rc;
}

int wh_wsetattr(struct be_file *f, const struct be_attrs *a, unsigned what,
                struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    int rc = wh_flush_buf(w, ei);
    if (rc == ERR_OK)
        rc = wh_apply_all(w->fs, w->target, a, what, ei);
    if (rc == ERR_OK && (what & BE_ATTR_TIMES) && a->st.mtime_ns) {
        w->mtime_ns = a->st.mtime_ns / 1000000 * 1000000;
        w->atime_ns = a->st.atime_ns;
    }
    return rc;
}

int wh_wsetmeta(struct be_file *f, const char *key, const char *value,
                struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    int rc = wh_flush_buf(w, ei);
    return rc ? rc : wh_put_meta(w->fs, w->target, key, value, ei);
}

void wh_abort(struct be_file *f)
{
    struct wh_writer *w = (struct wh_writer *)f;
    if (!w)
        return;
    if (w->append)
        wh_flush_buf(w, NULL); /* appended bytes may stay */
    else if (w->flushed_once)
        wh_delete(w->fs, w->target, false, NULL);
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i]->flushed_once)
            wh_delete(w->fs, w->parts[i]->target, false, NULL);
    writer_free(w);
}

int wh_commit(struct be_file *f, struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    struct be_stat st;
    int rc = wh_flush_buf(w, ei);
    if (rc || w->direct)
        goto out;
    /* rename first; look closer only when it fails (a directory in the way,
     * or a parent still missing when the temp lives elsewhere) */
    struct errinfo e2 = {0};
    rc = wh_rename_over(w->fs, w->target, w->path, &e2);
    if (rc == ERR_OK)
        goto out;
    if (wh_stat(&w->fs->head, w->path, &st, NULL) == ERR_OK && st.type == BE_DIR) {
        rc = err_set(ei, ERR_IS_DIR, "cannot commit '%s'", w->path);
        goto out;
    }
    if (!w->tmp_dir_given || rc != ERR_NOT_FOUND) {
        if (ei)
            *ei = e2;
        goto out;
    }
    {
        const char *slash = strrchr(w->path, '/');
        char *parent = strndup(w->path, slash && slash != w->path ? (size_t)(slash - w->path) : 1);
        if (!parent) {
            rc = err_set(ei, ERR_NOMEM, "cannot commit '%s'", w->path);
            goto out;
        }
        rc = wh_mkdirs(&w->fs->head, parent, 0755, ei);
        free(parent);
        if (rc)
            goto out;
    }
    rc = wh_rename_over(w->fs, w->target, w->path, ei);
out:
    if (rc && !w->direct && !w->append)
        wh_delete(w->fs, w->target, false, NULL);
    writer_free(w);
    return rc;
}

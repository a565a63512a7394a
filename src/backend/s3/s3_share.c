/* s3_share.c - S3 writers shared across processes (backend.h wshare/wjoin/
 * wjoin_end/wreceipt; MPI ranks on other hosts): the token names the open
 * multipart upload ("<part size> <upload id>"; joiners' ranges keep to
 * whole parts), a joiner uploads the parts of its range with a writer of
 * its own and hands back their numbers and ETags as its receipt, the owner
 * records them and completes the upload at commit.
 *
 * Threading: a joined writer is used by one thread; wreceipt takes the
 * owner's lock like write(). */
#include "backend/s3/s3.h"
#include "util/checksum.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------ shared writers */

/* backend.h wshare: the multipart upload starts now; the token is "<part
 * size> <upload id>" and joiners' ranges keep to whole parts. */
int s3_wshare(struct be_file *f, char *tok, size_t n, uint64_t *align, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    int rc;
    if (w->direct || w->copy_key || w->end)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot share the writer of '%s'", w->path);
    if ((rc = s3_ensure_upload(w, ei)))
        return rc;
    if ((size_t)snprintf(tok, n, "%llu %s", (unsigned long long)w->part_size, w->upload_id) >= n)
        return err_setx(ei, ERR_TOO_LONG, "cannot share the writer of '%s': upload id too long",
                        w->path);
    *align = w->part_size;
    return ERR_OK;
}

/* wjoin: a writer of its own that uploads the parts of [off, off + len)
 * into the owner's upload and keeps their ETags for the receipt. */
int s3_wjoin(struct be_fs *f, const char *path, const char *tok, uint64_t off, uint64_t len,
             struct be_file **out, struct errinfo *ei)
{
    struct s3_fs *fs = (struct s3_fs *)f;
    char *end = NULL;
    int rc = ERR_OK;
    *out = NULL;
    unsigned long long ps = strtoull(tok, &end, 10);
    if (ps < PART_MIN || !end || *end != ' ' || !end[1] || off % ps ||
        (off + len) / ps > PART_COUNT_MAX)
        return err_setx(ei, ERR_INVAL, "cannot join the upload of '%s': bad token or range",
                        path);
    struct s3_writer *w = calloc(1, sizeof *w);
    if (!w)
        return err_setx(ei, ERR_NOMEM, "cannot join the upload of '%s': out of memory", path);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (!(w->path = strdup(path)) || !(w->key = s3_key_of(path)) ||
        !(w->etags = calloc(PART_COUNT_MAX, sizeof *w->etags)) ||
        !(w->upload_id = strdup(end + 1))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot join the upload of '%s': out of memory", path);
        s3_writer_free(w);
        return rc;
    }
    w->fs = fs;
    w->part_size = ps;
    w->size_hint = off + len;    /* the range's last part goes out when complete */
    *out = (struct be_file *)w;
    return ERR_OK;
}

/* wjoin_end: upload what is left of the range; the receipt lists its parts
 * as "<part number> <ETag>" lines. */
int s3_wjoin_end(struct be_file *f, bool ok, char *receipt, size_t n, struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    int rc = ERR_OK;
    while (ok && w->nact && !rc) {
        struct apart *p = w->act[--w->nact];
        uint64_t want = s3_part_len(w, p->idx, w->size_hint);
        if (p->niv != 1 || p->iv[0].a != 0 || p->iv[0].b != want)
            rc = err_setx(ei, ERR_INTERNAL, "cannot write '%s': bytes missing in part %u",
                          w->path, p->idx + 1);
        else
            rc = s3_upload_part(w, p, (size_t)want, ei);
        s3_apart_free(p);
    }
    size_t used = 0;
    if (receipt && n)
        receipt[0] = 0;
    for (unsigned i = 0; ok && !rc && i < PART_COUNT_MAX; i++) {
        if (!w->etags[i])
            continue;
        int k = snprintf(receipt + used, n - used, "%u %s\n", i + 1, w->etags[i]);
        if (k < 0 || (size_t)k >= n - used)
            rc = err_setx(ei, ERR_LIMIT, "cannot write '%s': too many parts for one receipt",
                          w->path);
        else
            used += (size_t)k;
    }
    s3_writer_free(w);    /* never aborts the upload: it is the owner's */
    return rc;
}

/* wreceipt: the owner takes the ETags of another process's parts. */
int s3_wreceipt(struct be_file *f, uint64_t off, uint64_t len, const char *receipt,
                struct errinfo *ei)
{
    struct s3_writer *w = (struct s3_writer *)f;
    if (!len || off % w->part_size)
        return err_setx(ei, ERR_INVAL, "bad receipt for '%s': range not on a part boundary",
                        w->path);
    unsigned first = (unsigned)(off / w->part_size);
    unsigned last = (unsigned)((off + len - 1) / w->part_size);
    unsigned got = 0;
    const char *s = receipt;
    while (s && *s) {
        char *e = NULL;
        unsigned long num = strtoul(s, &e, 10);
        const char *tag = e && *e == ' ' ? e + 1 : NULL;
        const char *nl = tag ? strchr(tag, '\n') : NULL;
        if (!nl || num < (unsigned long)first + 1 || num > (unsigned long)last + 1 ||
            nl == tag || nl - tag > 100)
            return err_setx(ei, ERR_INVAL, "bad receipt for '%s': '%.40s'", w->path, s);
        char *etag = strndup(tag, (size_t)(nl - tag));
        if (!etag)
            return err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", w->path);
        pthread_mutex_lock(&w->lock);
        if (!w->etags[num - 1])
            got++;
        free(w->etags[num - 1]);
        w->etags[num - 1] = etag;
        pthread_mutex_unlock(&w->lock);
        s = nl + 1;
    }
    if (got != last - first + 1)
        return err_setx(ei, ERR_INVAL, "bad receipt for '%s': %u of the %u parts of bytes "
                        "%llu..%llu", w->path, got, last - first + 1, (unsigned long long)off,
                        (unsigned long long)(off + len));
    pthread_mutex_lock(&w->lock);
    if (off + len > w->end)
        w->end = off + len;
    pthread_mutex_unlock(&w->lock);
    return ERR_OK;
}

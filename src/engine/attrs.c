/* attrs.c - -p attributes (spec B §7) and content digests (Part A 4):
 * which -p bits apply to the target store, the attributes of a source entry
 * (its status, plus what a store keeps as metadata, xattrs and ACLs),
 * applying them to an existing target, the digests recorded with files and
 * the CRC32C of a file read in full.
 *
 * Invariants: attributes are applied only as `what & a->have` (a store
 * keeping attributes as metadata may lack some); a digest is valid only
 * while the file's size and mtime match.
 *
 * Threading: called by workers (and commit's main thread); no state of
 * its own. */
#include "engine/attrs.h"
#include "engine/copy_int.h"

#include <stdlib.h>
#include <string.h>

#include "engine/digest.h"
#include "util/checksum.h"
#include "util/idmap.h"

unsigned copy_preserve_mask(const struct job *j, bool dir)
{
    unsigned p = j->o->preserve;
    unsigned caps = j->tfs->ops->caps;
    unsigned m = 0;
    if (caps & BE_CAP_POSIX_META)
        m |= p & (PRESERVE_U | PRESERVE_G | PRESERVE_P);
    if (caps & BE_CAP_MTIME)
        m |= p & PRESERVE_T;
    if (caps & BE_CAP_XATTR)
        m |= p & PRESERVE_X;
    if (caps & BE_CAP_ACL) {
        m |= p & PRESERVE_A;
        if ((p & PRESERVE_A) && (caps & BE_CAP_POSIX_META))
            m |= PRESERVE_P;     /* B §7: an ACL implies the permission bits */
    }
    if ((caps & BE_CAP_BLOCKS) && !dir)
        m |= p & (PRESERVE_R | PRESERVE_B | PRESERVE_C);
    if ((caps & BE_CAP_META_ATTRS) && !dir)   /* object stores: as metadata, files only */
        m |= p & (PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T);
    return m;
}

/* A source that keeps owner, group, mode and mtime as metadata (S3): what it
 * recorded replaces the listing's values; owner, group and mode it did not
 * record are dropped from a->have (nothing to restore); the mtime stays the
 * listed one (the object's own time). */
static int source_meta_attrs(struct job *j, const struct entry *e, const char *src,
                             unsigned what, struct be_attrs *a, struct errinfo *ei)
{
    struct be_fs *fs = j->roots[e->root].fs;
    unsigned m = what & (PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T);
    struct be_attrs x;
    if (!m || e->type != BE_FILE || !(fs->ops->caps & BE_CAP_META_ATTRS) || !fs->ops->getattrs)
        return ERR_OK;
    memset(&x, 0, sizeof x);
    int rc = fs->ops->getattrs(fs, src, m, &x, ei);
    if (rc)
        return rc;
    if (x.have & BE_ATTR_OWNER) {
        a->st.uid = x.st.uid;
        memcpy(a->st.owner, x.st.owner, sizeof a->st.owner);
    }
    if (x.have & BE_ATTR_GROUP) {
        a->st.gid = x.st.gid;
        memcpy(a->st.group, x.st.group, sizeof a->st.group);
    }
    if (x.have & BE_ATTR_MODE)
        a->st.mode = x.st.mode;
    a->have &= ~(m & (PRESERVE_U | PRESERVE_G | PRESERVE_P) & ~x.have);
    if (x.have & BE_ATTR_TIMES) {
        a->st.mtime_ns = x.st.mtime_ns;
        a->st.atime_ns = x.st.atime_ns;
    }
    be_attrs_release(&x);
    return ERR_OK;
}

int copy_source_attrs(struct job *j, const struct entry *e, const char *src,
                      unsigned what, struct be_attrs *a, struct errinfo *ei)
{
    memset(a, 0, sizeof *a);
    a->st.type = (enum be_type)e->type;
    a->st.mode = e->mode;
    a->st.uid = e->uid;
    a->st.gid = e->gid;
    a->st.mtime_ns = e->mtime_ns;
    a->st.atime_ns = e->atime_ns;
    a->st.size = e->size;
    a->st.blocksize = e->blocksize;
    a->st.replication = e->replication;
    a->have = what;      /* what there is to apply (callers mask with it) */
    int mrc = source_meta_attrs(j, e, src, what, a, ei);
    if (mrc)
        return mrc;
    if (what & (PRESERVE_X | PRESERVE_A)) {
        struct be_fs *fs = j->roots[e->root].fs;
        if (!fs->ops->getattrs)
            return err_setx(ei, ERR_UNSUPPORTED, "cannot read attributes of '%s': not supported by this store", src);
        struct be_attrs x;
        memset(&x, 0, sizeof x);
        int rc = fs->ops->getattrs(fs, src, what & (PRESERVE_X | PRESERVE_A), &x, ei);
        if (rc)
            return rc;
        a->xattrs = x.xattrs;
        a->nxattrs = x.nxattrs;
        a->acl = x.acl;
    }
    return ERR_OK;
}

/* ------------------------------------------------------------ digests */

/* Read a digest recorded with a file; valid only while size and mtime match
 * (Part A 4). Returns true and *crc when valid. */
static bool digest_get(struct be_fs *fs, const char *path, uint64_t size, int64_t mtime,
                       uint32_t *crc)
{
    char *v = NULL;
    if (!fs->ops->getmeta || fs->ops->getmeta(fs, path, META_DIGEST, &v, NULL))
        return false;
    bool ok = digest_meta_valid(v, size, mtime, crc);
    free(v);
    return ok;
}

/* The digest of one side: from its listing when the listing looked, else
 * asked of the store. */
bool copy_side_digest(unsigned flags, uint32_t listed, struct be_fs *fs, const char *path,
                      uint64_t size, int64_t mtime, uint32_t *crc)
{
    if (flags & ENTRY_F_DKNOWN) {
        *crc = listed;
        return (flags & ENTRY_F_DVALID) != 0;
    }
    return digest_get(fs, path, size, mtime, crc);
}

/* Read a whole file (or its first `limit` bytes) and CRC32C it. */
int copy_crc_of(struct wctx *w, struct be_fs *fs, const char *path, uint64_t limit,
                uint32_t *crc, uint64_t *len, struct errinfo *ei)
{
    struct be_file *r = NULL;
    uint32_t c = 0;
    uint64_t total = 0;
    int rc = fs->ops->open_read(fs, path, 0, &r, ei);
    while (!rc && total < limit) {
        size_t want = w->bufsize;
        if (limit - total < want)
            want = (size_t)(limit - total);
        size_t got = 0;
        rc = fs->ops->read(r, w->buf, want, &got, ei);
        if (rc || got == 0)
            break;
        c = crc32c_update(c, w->buf, got);
        total += got;
    }
    if (r)
        fs->ops->close_read(r);
    *crc = c;
    *len = total;
    return rc;
}

/* ------------------------------------------------ attributes of targets */

/* True when the target already has every attribute `what` asks for (only
 * decidable for owner, group, mode and mtime; xattrs/ACLs need a look). */
static bool attrs_equal(unsigned what, const struct entry *e, const struct be_stat *ts, int64_t g)
{
    if (what & ~(unsigned)(PRESERVE_U | PRESERVE_G | PRESERVE_P | PRESERVE_T))
        return false;
    /* ids may be names of a names-only store (util/idmap.h) */
    if ((what & PRESERVE_U) && !idmap_same(e->uid, ts->uid, true))
        return false;
    if ((what & PRESERVE_G) && !idmap_same(e->gid, ts->gid, false))
        return false;
    if ((what & PRESERVE_P) && (e->mode & 07777) != (ts->mode & 07777))
        return false;
    if ((what & PRESERVE_T) && compare_mtime_at(e->mtime_ns, g) != compare_mtime_at(ts->mtime_ns, g))
        return false;
    return true;
}

/* Apply -p attributes to an existing target (skipped files, B §7). */
int copy_apply_attrs(struct wctx *w, const struct entry *e, const char *src,
                     const char *dst, bool dir, const struct be_stat *ts, struct errinfo *ei)
{
    struct job *j = w->j;
    unsigned what = copy_preserve_mask(j, dir);
    struct be_attrs a;
    int rc;
    if (!what || !j->tfs->ops->setattr || j->o->dry_run)
        return ERR_OK;
    if (ts && (j->tfs->ops->caps & (BE_CAP_NUMERIC_IDS | BE_CAP_POSIX_META)) &&
        attrs_equal(what, e, ts, compare_mtime_gran(j, e)))
        return ERR_OK;     /* B §7: nothing differs, nothing to change */
    if ((rc = copy_source_attrs(j, e, src, what, &a, ei)))
        return rc;
    rc = j->tfs->ops->setattr(j->tfs, dst, &a, what & a.have, ei);
    be_attrs_release(&a);
    return rc;
}

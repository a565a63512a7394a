/* compare.c - the per-file decision (spec B §5.1 with Part A 4): for a
 * source file whose target exists, gather what the pure rule table
 * (decide.c) needs - sizes, block sizes, mtimes at the coarser precision of
 * the two stores, content digests (recorded, listed, the stores' own
 * checksums or a full read under --checksum) - and check the prefix of a
 * candidate append. The target join that tells each entry its target's
 * status is join.c.
 *
 * Invariants: reads only (never writes the target); the reason of a SKIP is
 * left in w->why for the reports.
 *
 * Threading: called by workers with their own struct wctx. */
#include "engine/copy_int.h"

#include <string.h>

#include "engine/verify.h"

/* Stores keep mtimes at different precisions (local ns, HDFS ms, S3 s):
 * compare at the coarser of source and target, or every file copied with
 * -pt to HDFS would look older than its source forever. */
int64_t compare_mtime_gran(const struct job *j, const struct entry *e)
{
    int64_t a = j->roots[e->root].fs->ops->mtime_gran_ns, b = j->tfs->ops->mtime_gran_ns;
    int64_t g = a > b ? a : b;
    return g > 1 ? g : 1;
}

int64_t compare_mtime_at(int64_t t, int64_t g)
{
    if (g <= 1)
        return t;
    int64_t q = t / g;
    if (t % g && t < 0)
        q--;
    return q * g;
}

/* ------------------------------------------------------------ decision */

/* B §5.1 + Part A 4: gather what the pure rule needs, then check the
 * prefix for a candidate append. */
int compare_decide(struct wctx *w, const struct entry *e, const char *src, const char *dst,
                   const struct be_stat *ts, const struct tstat *tt, enum action *act,
                   struct errinfo *ei)
{
    struct job *j = w->j;
    const struct options *o = j->o;
    struct be_fs *sfs = j->roots[e->root].fs;
    bool by_tag = false;
    struct decide_in in = {
        .overwrite_mode = o->overwrite || j->target_root_is_file,
        .update = o->update,
        .append = o->append,
        .skip_crc = o->skip_crc,
        .preserve_b = (o->preserve & PRESERVE_B) != 0,
        .mtime_rule = o->settings.update_mtime,
        .src_size = e->size, .tgt_size = ts->size,
        .src_block = e->blocksize, .tgt_block = ts->blocksize,
        .src_mtime = compare_mtime_at(e->mtime_ns, compare_mtime_gran(j, e)),
        .tgt_mtime = compare_mtime_at(ts->mtime_ns, compare_mtime_gran(j, e)),
        .digests = DIGEST_UNKNOWN,
    };
    int rc;
    if (in.update && !in.overwrite_mode && !in.skip_crc && in.src_size == in.tgt_size) {
        uint32_t sc = 0, tc = 0;
        if (o->checksum) {
            /* the stores' own checksums first (verify.c): one read at most */
            if ((rc = verify_update_compare(j, sfs, src, j->tfs, dst, e->size, true, w->buf,
                                            w->bufsize, &in.digests, ei)))
                return rc;
            uint64_t la = 0, lb = 0;
            if (in.digests == DIGEST_UNKNOWN) {
                if ((rc = copy_crc_of(w, sfs, src, UINT64_MAX, &sc, &la, ei)))
                    return rc;
                if ((rc = copy_crc_of(w, j->tfs, dst, UINT64_MAX, &tc, &lb, ei)))
                    return rc;
                in.digests = sc == tc && la == lb ? DIGEST_EQUAL : DIGEST_DIFFER;
            }
        } else if (copy_side_digest(e->flags, e->digest, sfs, src, e->size, e->mtime_ns, &sc) &&
                        copy_side_digest(tt ? tt->dflags : 0, tt ? tt->digest : 0, j->tfs, dst, ts->size,
                                    ts->mtime_ns, &tc)) {
            in.digests = sc == tc ? DIGEST_EQUAL : DIGEST_DIFFER;
        } else if ((rc = verify_update_compare(j, sfs, src, j->tfs, dst, e->size, false, NULL,
                                               0, &in.digests, ei))) {
            return rc;
        }
        if (in.digests == DIGEST_UNKNOWN && !o->checksum &&
            (in.digests = verify_tag_compare(sfs, src, j->tfs, dst)) != DIGEST_UNKNOWN)
            by_tag = true;   /* S3 <-> S3: ETags */
    }
    *act = decide_action(&in);
    w->why = !in.update ? "target exists (no -update/-overwrite)"
           : in.skip_crc ? "same size (-skipcrccheck)"
           : in.digests == DIGEST_EQUAL ? (o->checksum ? "same size and content (--checksum)"
                                           : by_tag ? "same size and ETag"
                                                      : "same size and CRC32C digest")
           : in.mtime_rule ? "same size, target not older than source" : "same size";
    if (*act == ACT_APPEND) {
        uint32_t a = 0, b = 0;
        uint64_t la = 0, lb = 0;
        if ((rc = copy_crc_of(w, sfs, src, ts->size, &a, &la, ei)))
            return rc;
        if ((rc = copy_crc_of(w, j->tfs, dst, UINT64_MAX, &b, &lb, ei)))
            return rc;
        if (!(la == ts->size && lb == ts->size && a == b))
            *act = ACT_COPY;
    }
    return ERR_OK;
}

/* verify.c - HDFS checksums in the copy path; see verify.h. */
#include "engine/verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/options.h"

/* HDFS's defaults with the -D dfs.* overrides a Hadoop user would set,
 * resolved once per job (options_resolve, docs/settings.md). */
static void spec_from_options(const struct job *j, struct cksum_spec *s)
{
    *s = j->o->settings.cksum;
}

void verify_begin(struct verify *v, const struct job *j, struct be_fs *sfs, struct be_fs *tfs,
                  uint64_t src_bs, uint64_t create_bs)
{
    memset(v, 0, sizeof *v);
    if (j->o->skip_crc)
        return;
    v->use_src = sfs->ops->checksum != NULL;
    v->use_tgt = tfs->ops->wchecksum != NULL;
    if (!v->use_src && !v->use_tgt)
        return;
    spec_from_options(j, &v->spec);
    if (v->use_src && src_bs)
        v->spec.block_size = src_bs;      /* the layout the source reports for */
    else if (!v->use_src && create_bs)
        v->spec.block_size = create_bs;   /* the layout the target is written with */
    if (v->spec.block_size % v->spec.bpc)
        return;
    if (hdfs_cksum_init(&v->c, v->spec.mode, v->spec.type, v->spec.bpc, v->spec.block_size))
        return;
    v->on = true;
}

void verify_release(struct verify *v)
{
    if (v && v->on) {
        hdfs_cksum_release(&v->c);
        v->on = false;
    }
}

static int mismatch(struct errinfo *ei, const char *src, const char *dst,
                    const struct hdfs_cksum_result *mine, const char *who,
                    const struct hdfs_cksum_result *theirs)
{
    return err_setx(ei, ERR_CHECKSUM_MISMATCH, "Checksum mismatch between %s and %s: the "
                    "bytes copied give %s %s, the %s reports %s %s", src, dst, mine->algorithm,
                    mine->hex, who, theirs->algorithm, theirs->hex);
}

int verify_end(struct verify *v, struct be_fs *sfs, const char *src, struct be_fs *tfs,
               struct be_file *wr, const char *dst, bool *checked, struct errinfo *ei)
{
    struct hdfs_cksum_result mine, theirs;
    bool comparable;
    int rc = ERR_OK;
    *checked = false;
    if (!v->on)
        goto out;
    v->on = false;
    if (hdfs_cksum_final(&v->c, &mine))
        goto out; /* cannot compute: not verified */
    if (v->use_src) {
        rc = sfs->ops->checksum(sfs, src, &theirs, ei);
        if (rc == ERR_UNSUPPORTED) {
            rc = ERR_OK;
        } else if (rc) {
            goto out;
        } else {
            bool eq = cksum_equal(&mine, &theirs, &comparable);
            if (comparable && !eq) {
                rc = mismatch(ei, src, dst, &mine, "source", &theirs);
                goto out;
            }
            *checked |= comparable;
        }
    }
    if (v->use_tgt) {
        rc = tfs->ops->wchecksum(wr, &theirs, ei);
        if (rc == ERR_UNSUPPORTED) {
            rc = ERR_OK;
        } else if (rc) {
            goto out;
        } else {
            bool eq = cksum_equal(&mine, &theirs, &comparable);
            if (comparable && !eq) {
                rc = mismatch(ei, src, dst, &mine, "target", &theirs);
                goto out;
            }
            *checked |= comparable;
        }
    }
out:
    return rc;
}

int verify_read_compute(struct be_fs *fs, const char *path, const char *shown, uint64_t size,
                        const struct cksum_spec *s, void *buf, size_t bufsize,
                        struct hdfs_cksum_result *out, struct errinfo *ei)
{
    struct hdfs_cksum c;
    struct be_file *r = NULL;
    uint64_t total = 0;
    bool started = false;
    int rc = hdfs_cksum_init(&c, s->mode, s->type, s->bpc, s->block_size);
    if (rc) {
        rc = err_set(ei, rc, "cannot checksum '%s'", shown);
        goto out;
    }
    started = true;
    if ((rc = fs->ops->open_read(fs, path, 0, &r, ei)))
        goto out;
    for (;;) {
        size_t got = 0;
        if ((rc = fs->ops->read(r, buf, bufsize, &got, ei)))
            goto out;
        if (!got)
            break;
        hdfs_cksum_update(&c, buf, got);
        total += got;
    }
    if (total != size) {
        rc = err_setx(ei, ERR_SHORT_READ, "cannot checksum '%s': it changed while read "
                      "(%" PRIu64 " bytes listed, %" PRIu64 " read)", shown, size, total);
        goto out;
    }
    started = false;
    if ((rc = hdfs_cksum_final(&c, out)))
        rc = err_set(ei, rc, "cannot checksum '%s'", shown);
out:
    if (started)
        hdfs_cksum_release(&c);
    if (r)
        fs->ops->close_read(r);
    return rc;
}

int verify_update_compare(const struct job *j, struct be_fs *sfs, const char *src,
                          struct be_fs *tfs, const char *dst, uint64_t size, bool forced,
                          void *buf, size_t bufsize, enum digest_cmp *out, struct errinfo *ei)
{
    struct hdfs_cksum_result a, b, mine;
    bool have_a = false, have_b = false, comparable;
    struct cksum_spec s;
    int rc = ERR_OK;
    *out = DIGEST_UNKNOWN;
    if (j->o->skip_crc || (!sfs->ops->checksum && !tfs->ops->checksum))
        goto out;
    /* the stores' own reports: cheap (no data moves here) */
    if (sfs->ops->checksum && (forced || tfs->ops->checksum)) {
        rc = sfs->ops->checksum(sfs, src, &a, ei);
        if (rc && !forced)
            rc = ERR_OK;   /* not comparable: the caller's other rules apply */
        else if (rc)
            goto out;
        else
            have_a = true;
    }
    if (tfs->ops->checksum && (forced || have_a)) {
        rc = tfs->ops->checksum(tfs, dst, &b, ei);
        if (rc && !forced)
            rc = ERR_OK;
        else if (rc)
            goto out;
        else
            have_b = true;
    }
    if (have_a && have_b) {
        bool eq = cksum_equal(&a, &b, &comparable);
        if (comparable) {
            *out = eq ? DIGEST_EQUAL : DIGEST_DIFFER;
            goto out;
        }
    }
    if (!forced || (!have_a && !have_b))
        goto out;
    /* --checksum: read the other side once, with the reporting side's layout */
    const struct hdfs_cksum_result *ref = have_b ? &b : &a;
    struct be_fs *rfs = have_b ? sfs : tfs;
    const char *rpath = have_b ? src : dst;
    if (cksum_spec_for(ref->algorithm, size, &s))
        goto out;   /* an algorithm we cannot reproduce: the caller reads both */
    if ((rc = verify_read_compute(rfs, rpath, rpath, size, &s, buf, bufsize, &mine, ei)))
        goto out;
    bool eq = cksum_equal(&mine, ref, &comparable);
    if (comparable)
        *out = eq ? DIGEST_EQUAL : DIGEST_DIFFER;
out:
    return rc;
}

enum digest_cmp verify_tag_compare(struct be_fs *sfs, const char *src, struct be_fs *tfs,
                                   const char *dst)
{
    enum digest_cmp out = DIGEST_UNKNOWN;
    char *a = NULL, *b = NULL;
    if (!(sfs->ops->caps & BE_CAP_CONTENT_TAG) || !(tfs->ops->caps & BE_CAP_CONTENT_TAG) ||
        !sfs->ops->getmeta || !tfs->ops->getmeta)
        return out;
    if (sfs->ops->getmeta(sfs, src, "etag", &a, NULL) ||
        tfs->ops->getmeta(tfs, dst, "etag", &b, NULL))
        goto out;
    if (!strcmp(a, b))
        out = DIGEST_EQUAL;
    else if (!strncmp(a, "md5:", 4) && !strncmp(b, "md5:", 4))
        out = DIGEST_DIFFER;
out:
    free(a);
    free(b);
    return out;
}

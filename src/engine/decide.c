/* decide.c - pure decision rules; see decide.h. */
#include "engine/decide.h"

bool decide_base_is_self(unsigned nsources, bool src_is_dir, bool src_is_fs_root,
                         bool target_exists, bool target_is_dir, bool update_or_overwrite)
{
    if (nsources == 1 && !src_is_dir)
        return !target_is_dir;                       /* rule 1: solitary file */
    bool contents = (nsources == 1 && !target_exists) || update_or_overwrite;
    return (contents && src_is_dir) || src_is_fs_root; /* rule 2 */
}

bool decide_list_root(bool update_or_overwrite, bool update_root)
{
    return !update_or_overwrite || update_root;
}

enum action decide_action(const struct decide_in *in)
{
    if (in->overwrite_mode)
        return ACT_COPY;
    if (!in->update)
        return ACT_SKIP;                  /* default mode: skip unconditionally */
    bool skippable = false;
    if (in->src_size == in->tgt_size &&
        (!in->preserve_b || !in->src_block || !in->tgt_block || in->src_block == in->tgt_block)) {
        if (in->skip_crc)
            skippable = true;
        else if (in->digests != DIGEST_UNKNOWN)
            skippable = in->digests == DIGEST_EQUAL;
        else
            /* Hadoop 3.4 (HADOOP-18596): copy when the target is older */
            skippable = in->mtime_rule ? !(in->tgt_mtime < in->src_mtime) : true;
    }
    if (skippable)
        return ACT_SKIP;
    if (in->append && in->tgt_size > 0 && in->tgt_size < in->src_size)
        return ACT_APPEND;
    return ACT_COPY;
}

/* decide.h - the pure rules of the copy listing and the per-file decision,
 * kept free of I/O so they can be unit-tested against the spec tables:
 *  - decide_base: which base a source gets (spec B §3);
 *  - decide_action: create/skip/copy/append for an existing target file
 *    (spec B §5.1 with Part A 4). */
#ifndef DISTCP_DECIDE_H
#define DISTCP_DECIDE_H
#include <stdbool.h>
#include <stdint.h>

/* B §3: true when source S maps onto the target itself (base = S), false
 * when it lands below it as target/<name of S> (base = parent(S)).
 * `atomic` makes the target count as missing (B §6.8). */
bool decide_base_is_self(unsigned nsources, bool src_is_dir, bool src_is_fs_root,
                         bool target_exists, bool target_is_dir, bool update_or_overwrite);

/* B §3 rule 3: is the root entry (key "") of a directory source listed? */
bool decide_list_root(bool update_or_overwrite, bool update_root);

enum action { ACT_COPY, ACT_SKIP, ACT_APPEND };

enum digest_cmp { DIGEST_UNKNOWN = -1, DIGEST_DIFFER = 0, DIGEST_EQUAL = 1 };

struct decide_in {
    bool overwrite_mode;     /* -overwrite, or the single-file-to-file case */
    bool update;             /* -update */
    bool append;             /* -append */
    bool skip_crc;           /* -skipcrccheck */
    bool preserve_b;         /* 'b' in -p */
    bool mtime_rule;         /* distcp.update.modification.time (default true) */
    uint64_t src_size, tgt_size;
    uint64_t src_block, tgt_block;   /* 0 = unknown */
    int64_t src_mtime, tgt_mtime;    /* ns */
    enum digest_cmp digests;         /* both sides' content digests compared */
};

/* The action for an existing target file. ACT_APPEND means "append if the
 * target is a prefix of the source": the caller checks the prefix checksum
 * and copies in full when it does not match. */
enum action decide_action(const struct decide_in *in);

#endif

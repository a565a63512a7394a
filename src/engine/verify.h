/* verify.h - HDFS file checksums in the copy path (spec Part A 4 and 5,
 * protocols.md §2; issue 5):
 *  - post-copy verification: while the bytes stream from source to target
 *    the worker computes the HDFS MD5-of-MD5-of-CRC checksum the store(s)
 *    will report, then compares it with the checksum the source store
 *    reports (WebHDFS GETFILECHECKSUM) and/or the one the target store
 *    reports for the written data before it is committed. Never a second
 *    read of the data. Off with -skipcrccheck, for chunked and appended
 *    copies, and where neither store reports checksums.
 *  - -update: equal-sized files compared by the stores' own checksums
 *    (HDFS <-> HDFS with the same layout, as Hadoop does), and with
 *    --checksum the side without one read once with the other side's layout.
 *
 * A reported checksum whose algorithm (block layout, bytes per CRC, CRC
 * type) differs from what the bytes were computed with cannot be compared:
 * that is "not verified", never a failure.
 * Threading: a struct verify belongs to one worker. */
#ifndef DISTCP_VERIFY_H
#define DISTCP_VERIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "engine/decide.h"
#include "engine/job.h"
#include "util/checksum.h"
#include "util/cksum_spec.h"

struct verify {
    bool on;               /* computing while the bytes stream */
    bool use_src, use_tgt; /* compare with the source's / target's report */
    struct cksum_spec spec;
    struct hdfs_cksum c;
};

/* Start verification of one whole-file copy of `size` bytes from a store
 * `sfs` (file block size src_bs, 0 = unknown) into `tfs` (created with
 * block size create_bs, 0 = the store's default). v->on tells whether it
 * runs; setting up never fails the copy. */
void verify_begin(struct verify *v, const struct job *j, struct be_fs *sfs, struct be_fs *tfs,
                  uint64_t src_bs, uint64_t create_bs);

/* Feed the next bytes of the file (no-op when off). */
static inline void verify_feed(struct verify *v, const void *buf, size_t n)
{
    if (v && v->on)
        hdfs_cksum_update(&v->c, buf, n);
}

/* After the writer's finish(), before commit(): compare. ERR_OK when equal
 * or not comparable (*checked says which), ERR_CHECKSUM_MISMATCH (ei names
 * both files and both checksums), or the error of asking a store. Releases
 * the computation. */
int verify_end(struct verify *v, struct be_fs *sfs, const char *src, struct be_fs *tfs,
               struct be_file *wr, const char *dst, bool *checked, struct errinfo *ei);

/* -update between two stores that tag contents (BE_CAP_CONTENT_TAG, S3
 * ETags): equal MD5 tags or identical multipart tags mean equal, different
 * MD5 tags mean different, anything else (a store that cannot tell, tags of
 * different kinds, different multipart tags) DIGEST_UNKNOWN. Costs one
 * status request per side; never fails (unknown instead). */
enum digest_cmp verify_tag_compare(struct be_fs *sfs, const char *src, struct be_fs *tfs,
                                   const char *dst);

/* Read a whole file once and compute its checksum under spec s (`shown`
 * names it in errors); a file whose length is not `size` is ERR_SHORT_READ.
 * Used by --checksum in -update and by `distcp checksum`. */
int verify_read_compute(struct be_fs *fs, const char *path, const char *shown, uint64_t size,
                        const struct cksum_spec *s, void *buf, size_t bufsize,
                        struct hdfs_cksum_result *out, struct errinfo *ei);

/* Abandon (NULL and repeated calls are fine). */
void verify_release(struct verify *v);

/* -update with equal sizes: compare src and dst by checksums the stores
 * report. With `forced` (--checksum) a side without a report is read once
 * (buf, bufsize) and computed with the other side's layout. *out stays
 * DIGEST_UNKNOWN when nothing comparable exists. Errors of reading a side
 * are returned (the caller fails the file). */
int verify_update_compare(const struct job *j, struct be_fs *sfs, const char *src,
                          struct be_fs *tfs, const char *dst, uint64_t size, bool forced,
                          void *buf, size_t bufsize, enum digest_cmp *out, struct errinfo *ei);

#endif

/* cksum_spec.h - the parameters of an HDFS file checksum (combine mode, CRC
 * type, bytes per CRC, block size) and the algorithm names that carry them
 * ("MD5-of-<crcPerBlock>MD5-of-<bpc>CRC32C", "COMPOSITE-CRC32C",
 * protocols.md §2.2/§2.3). Lets a caller check whether a checksum a store
 * reported can be reproduced from the bytes, and with which parameters.
 *
 * Pure functions on caller-owned data; thread-safe. */
#ifndef DISTCP_CKSUM_SPEC_H
#define DISTCP_CKSUM_SPEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/checksum.h"

struct cksum_spec {
    enum hdfs_combine mode;
    enum hdfs_crc_type type;
    uint32_t bpc;          /* bytes per CRC chunk, > 0 */
    uint64_t block_size;   /* > 0, a multiple of bpc */
};

/* HDFS's defaults: MD5MD5CRC, CRC32C, 512, 128 MiB. */
void cksum_spec_default(struct cksum_spec *s);

/* Parse "MD5-of-<n>MD5-of-<bpc>CRC32[C]" or "COMPOSITE-CRC32[C]". For MD5
 * algorithms *crc_per_block gets n (0 for a file of at most one block); for
 * COMPOSITE it is 0 and s->bpc is left as it was. s->block_size is not
 * touched (the name does not carry it). ERR_OK or ERR_INVAL. */
int cksum_spec_parse(const char *algorithm, struct cksum_spec *s, uint64_t *crc_per_block);

/* The algorithm name a file of `size` bytes gets under spec s (the empty
 * file is "MD5-of-0MD5-of-0CRC32" in every mode). */
void cksum_spec_algorithm(const struct cksum_spec *s, uint64_t size, char *buf, size_t n);

/* The spec under which the bytes of a `size`-byte file reproduce a checksum
 * reported with `algorithm`: mode, type and bpc from the name, block size
 * crcPerBlock * bpc (or, for a one-block file, any size >= the file).
 * ERR_INVAL when the name is not understood. */
int cksum_spec_for(const char *algorithm, uint64_t size, struct cksum_spec *s);

/* Parse a CRC type name ("CRC32", "CRC32C"; case-insensitive) / combine mode
 * ("MD5MD5CRC", "COMPOSITE_CRC"; case-insensitive, '-' for '_' accepted).
 * ERR_OK or ERR_INVAL. */
int cksum_parse_type(const char *v, enum hdfs_crc_type *t);
int cksum_parse_mode(const char *v, enum hdfs_combine *m);

/* Two reported checksums describe the same bytes: same algorithm name and
 * same bytes. *comparable is false when the algorithms differ (then the
 * result says nothing). */
bool cksum_equal(const struct hdfs_cksum_result *a, const struct hdfs_cksum_result *b,
                 bool *comparable);

#endif

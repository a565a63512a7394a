/* digest.h - the content digest distcp records with the files it writes
 * (spec Part A 4): metadata "digest" = "crc32c:<8 hex>;s=<size>;m=<mtime ns>".
 * It is valid only while the file's size and mtime are those recorded. */
#ifndef DISTCP_DIGEST_H
#define DISTCP_DIGEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_DIGEST "digest"

void digest_meta_format(uint32_t crc, uint64_t size, int64_t mtime, char *buf, size_t n);
/* True, with *crc, when `v` is a well-formed digest for exactly this size
 * and mtime. */
bool digest_meta_valid(const char *v, uint64_t size, int64_t mtime, uint32_t *crc);

#endif

/* checksum.h - CRC32C/CRC32 (ISA-L), CRC combination, HDFS file checksums
 * (MD5MD5CRC and COMPOSITE_CRC, spec/protocols.md §2), distcp's own -update
 * digest (spec/distcp.md Part A 4) and MD5/SHA-256 streaming (OpenSSL EVP).
 *
 * Invariants: every context is caller-allocated; nothing here keeps global
 * mutable state. The only heap allocations are the OpenSSL EVP contexts made
 * by the *_init functions (once per file, never per update).
 * Threading: every function is thread-safe; a single context must not be used
 * by two threads at once.
 * OpenSSL headers stay out of this header: EVP_MD_CTX is `struct evp_md_ctx_st`. */
#ifndef DISTCP_CHECKSUM_H
#define DISTCP_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

/* ---- plain CRCs ------------------------------------------------------- */

/* Standard CRC32C (Castagnoli, reflected poly 0x82F63B78, init and xorout
 * 0xFFFFFFFF). Start with crc = 0; feed the returned value back in to
 * continue: crc32c_update(crc32c_update(0, A), B) == CRC32C(A||B).
 * CRC32C("123456789") == 0xE3069283. buf may be NULL when n == 0. */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n);

/* zlib/gzip CRC32 (reflected poly 0xEDB88320, init and xorout 0xFFFFFFFF),
 * same chaining convention. CRC32("123456789") == 0xCBF43926. */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t n);

/* CRC of A||B from crcA = crc(A), crcB = crc(B) and lenB = |B| in bytes
 * (CrcUtil: crcA * x^(8*lenB) mod P xor crcB). O(log lenB); not for the
 * per-byte hot path. */
uint32_t crc32c_combine(uint32_t crcA, uint32_t crcB, uint64_t lenB);
uint32_t crc32_combine(uint32_t crcA, uint32_t crcB, uint64_t lenB);

/* ---- HDFS file checksums (protocols.md §2) ------------------------------ */

enum hdfs_crc_type { HDFS_CRC32 = 1, HDFS_CRC32C = 2 };
enum hdfs_combine { HDFS_MD5MD5CRC = 1, HDFS_COMPOSITE_CRC = 2 };

#define HDFS_DEFAULT_BYTES_PER_CRC 512u
#define HDFS_DEFAULT_BLOCK_SIZE    134217728ull

/* Private state; treat as opaque. */
struct hdfs_cksum {
    enum hdfs_combine mode;
    enum hdfs_crc_type type;
    uint32_t bpc;                  /* bytes per CRC chunk */
    uint64_t block_size;
    uint64_t total;                /* bytes fed so far */
    uint64_t block_pos;            /* bytes in the current block */
    uint64_t block_crcs;           /* chunk CRCs emitted in the current block */
    uint64_t first_block_crcs;     /* chunk CRCs of block 0 (once complete) */
    uint64_t nblocks;              /* completed blocks */
    uint32_t chunk_fill;           /* bytes in the current chunk */
    uint32_t chunk_crc;            /* running CRC of the current chunk */
    uint32_t file_crc;             /* COMPOSITE: running CRC of the file */
    int failed;                    /* sticky: an OpenSSL call failed */
    struct evp_md_ctx_st *block_md5; /* MD5 over this block's CRC bytes */
    struct evp_md_ctx_st *file_md5;  /* MD5 over the block MD5s */
    size_t nbatch;                 /* bytes queued in batch[] */
    unsigned char batch[1024];     /* big-endian chunk CRCs awaiting MD5 */
};

/* Start a checksum of a file laid out in blocks of block_size bytes, each cut
 * into CRC chunks of bytes_per_crc bytes (the last chunk of a block may be
 * short). bytes_per_crc == 0 / block_size == 0 select the HDFS defaults
 * (512, 128 MiB). Unknown mode/type values are ERR_INVAL.
 * Returns ERR_OK, ERR_INVAL or ERR_NOMEM (EVP context allocation); on error
 * nothing needs releasing. On success, release with hdfs_cksum_final or
 * hdfs_cksum_release. */
int hdfs_cksum_init(struct hdfs_cksum *c, enum hdfs_combine mode, enum hdfs_crc_type t,
                    uint32_t bytes_per_crc, uint64_t block_size);

/* Feed the next n bytes of the file (any piece sizes; the result does not
 * depend on how the data is split). buf may be NULL when n == 0. */
void hdfs_cksum_update(struct hdfs_cksum *c, const void *buf, size_t n);

/* The checksum as HDFS reports it (WebHDFS GETFILECHECKSUM / `hadoop fs
 * -checksum`):
 *   MD5MD5CRC: algorithm "MD5-of-<crcPerBlock>MD5-of-<bpc>CRC32[C]", bytes =
 *     int32 bpc BE || int64 crcPerBlock BE || fileMD5 (len 28); crcPerBlock is
 *     block 0's CRC count when the file has more than one block, else 0.
 *   COMPOSITE_CRC: algorithm "COMPOSITE-CRC32[C]", bytes = CRC BE (len 4).
 *   Empty file, either mode: "MD5-of-0MD5-of-0CRC32", 0 || 0 || MD5(32 zero
 *     bytes) (HDFS's empty-file shortcut runs before the mode switch).
 * hex = lowercase hex of bytes. */
struct hdfs_cksum_result {
    char algorithm[64];
    unsigned char bytes[64];
    size_t len;
    char hex[129];
};

/* Finish, fill *out and release the context (also on error). Returns ERR_OK,
 * or ERR_INTERNAL when an OpenSSL digest call failed (out is then zeroed). */
int hdfs_cksum_final(struct hdfs_cksum *c, struct hdfs_cksum_result *out);

/* Abandon a checksum: release its contexts. NULL and double release are fine. */
void hdfs_cksum_release(struct hdfs_cksum *c);

/* ---- distcp's own -update digest (distcp.md Part A 4) ------------------- */

/* Full-file CRC32C plus the length it covers. */
struct digest {
    uint32_t crc32c;
    uint64_t len;
};

#define DIGEST_STR_MAX 16 /* "crc32c:" + 8 hex + NUL */

static inline void digest_init(struct digest *d) { d->crc32c = 0; d->len = 0; }
static inline void digest_update(struct digest *d, const void *buf, size_t n)
{
    d->crc32c = crc32c_update(d->crc32c, buf, n);
    d->len += n;
}

/* Write "crc32c:<8 lowercase hex>" into buf (n bytes; always NUL-terminated
 * when n > 0, truncated when n < DIGEST_STR_MAX). The length is not part of
 * the text: the caller stores it alongside (it is the file size). */
void digest_format(const struct digest *d, char *buf, size_t n);

/* Parse exactly "crc32c:" followed by 8 hex digits (either case) and nothing
 * else. On success sets d->crc32c, sets d->len = 0 (not in the text; the
 * caller fills it) and returns ERR_OK; anything else is ERR_INVAL and *d is
 * left unchanged. */
int digest_parse(const char *s, struct digest *d);

/* ---- MD5 / SHA-256 (OpenSSL EVP) ---------------------------------------- */

struct md5_ctx { struct evp_md_ctx_st *ctx; };
struct sha256_ctx { struct evp_md_ctx_st *ctx; };

#define MD5_LEN    16
#define SHA256_LEN 32

/* *_init: ERR_OK or ERR_NOMEM/ERR_INTERNAL (nothing to release on error).
 * *_update: ERR_OK or ERR_INTERNAL; buf may be NULL when n == 0.
 * *_final: write the digest, release the context (also on error); ERR_OK or
 *   ERR_INTERNAL.
 * *_release: abandon; NULL and repeated calls are fine. */
int md5_init(struct md5_ctx *m);
int md5_update(struct md5_ctx *m, const void *buf, size_t n);
int md5_final(struct md5_ctx *m, unsigned char out[MD5_LEN]);
void md5_release(struct md5_ctx *m);

int sha256_init(struct sha256_ctx *s);
int sha256_update(struct sha256_ctx *s, const void *buf, size_t n);
int sha256_final(struct sha256_ctx *s, unsigned char out[SHA256_LEN]);
void sha256_release(struct sha256_ctx *s);

/* One-shot digests of a buffer; ERR_OK or ERR_INTERNAL. */
int md5_buf(const void *buf, size_t n, unsigned char out[MD5_LEN]);
int sha256_buf(const void *buf, size_t n, unsigned char out[SHA256_LEN]);

/* Lowercase hex of n bytes into out, which holds 2n+1 bytes (NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif

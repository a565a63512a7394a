/* checksum.c - CRCs over ISA-L, CRC combination (CrcUtil math), HDFS file
 * checksums (spec/protocols.md §2), the -update digest text form, and
 * MD5/SHA-256 over OpenSSL EVP.
 *
 * Invariants: struct hdfs_cksum processes the byte stream as blocks of
 * block_size bytes; every chunk CRC ends at a multiple of bpc within its
 * block or at the block's end; a block is closed as soon as it is full, so a
 * file whose length is a multiple of block_size has no trailing empty block.
 * Threading: no global state; one context per thread. ISA-L's run-time
 * dispatch is safe to race (it stores the same pointer). */
#include "util/checksum.h"
#include "util/err.h"

#include <isa-l.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* ISA-L's crc32_iscsi takes an int length: feed it at most this much. */
#define ISCSI_MAX_PIECE ((size_t)1 << 30)

#define POLY_CRC32C 0x82F63B78u
#define POLY_CRC32  0xEDB88320u

/* ---- plain CRCs ------------------------------------------------------- */

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    /* crc32_iscsi neither pre- nor post-inverts: do it here. */
    uint32_t raw = ~crc;
    while (n > 0) {
        size_t take = n < ISCSI_MAX_PIECE ? n : ISCSI_MAX_PIECE;
        /* ISA-L's prototype lacks const; it does not write the buffer. */
        raw = crc32_iscsi((unsigned char *)p, (int)take, raw);
        p += take;
        n -= take;
    }
    return ~raw;
}

uint32_t crc32_update(uint32_t crc, const void *buf, size_t n)
{
    if (n == 0)
        return crc;
    /* crc32_gzip_refl inverts on entry and exit: the zlib convention. */
    return crc32_gzip_refl(crc, buf, (uint64_t)n);
}

/* a * b mod P, carry-less, bit-reflected (MSB is the x^0 term). */
static uint32_t gf2_multmod(uint32_t a, uint32_t b, uint32_t poly)
{
    uint32_t prod = 0;
    for (uint32_t m = 0x80000000u; m != 0; m >>= 1) {
        if (a & m)
            prod ^= b;
        b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
    }
    return prod;
}

/* x^(8 * nbytes) mod P by repeated squaring from x^8 (0x00800000); the
 * identity is 0x80000000. */
static uint32_t gf2_x8n(uint64_t nbytes, uint32_t poly)
{
    uint32_t result = 0x80000000u, sq = 0x00800000u;
    while (nbytes) {
        if (nbytes & 1)
            result = gf2_multmod(result, sq, poly);
        nbytes >>= 1;
        if (nbytes)
            sq = gf2_multmod(sq, sq, poly);
    }
    return result;
}

uint32_t crc32c_combine(uint32_t crcA, uint32_t crcB, uint64_t lenB)
{
    return gf2_multmod(crcA, gf2_x8n(lenB, POLY_CRC32C), POLY_CRC32C) ^ crcB;
}

uint32_t crc32_combine(uint32_t crcA, uint32_t crcB, uint64_t lenB)
{
    return gf2_multmod(crcA, gf2_x8n(lenB, POLY_CRC32), POLY_CRC32) ^ crcB;
}

/* ---- helpers ------------------------------------------------------------ */

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* ---- MD5 / SHA-256 ------------------------------------------------------ */

static int evp_start(struct evp_md_ctx_st **out, const EVP_MD *md)
{
    int rc = ERR_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
        rc = ERR_INTERNAL;
        goto out;
    }
out:
    *out = ctx;
    return rc;
}

static int evp_feed(struct evp_md_ctx_st *ctx, const void *buf, size_t n)
{
    if (!ctx)
        return ERR_INTERNAL;
    if (n == 0)
        return ERR_OK;
    return EVP_DigestUpdate(ctx, buf, n) == 1 ? ERR_OK : ERR_INTERNAL;
}

static int evp_finish(struct evp_md_ctx_st **pctx, unsigned char *out, unsigned int want)
{
    int rc = ERR_INTERNAL;
    unsigned int got = 0;
    if (*pctx && EVP_DigestFinal_ex(*pctx, out, &got) == 1 && got == want)
        rc = ERR_OK;
    EVP_MD_CTX_free(*pctx);
    *pctx = NULL;
    if (rc != ERR_OK)
        memset(out, 0, want);
    return rc;
}

static void evp_drop(struct evp_md_ctx_st **pctx)
{
    EVP_MD_CTX_free(*pctx);
    *pctx = NULL;
}

int md5_init(struct md5_ctx *m) { return evp_start(&m->ctx, EVP_md5()); }
int md5_update(struct md5_ctx *m, const void *buf, size_t n) { return evp_feed(m->ctx, buf, n); }
int md5_final(struct md5_ctx *m, unsigned char out[MD5_LEN]) { return evp_finish(&m->ctx, out, MD5_LEN); }
void md5_release(struct md5_ctx *m)
{
    if (m)
        evp_drop(&m->ctx);
}

int sha256_init(struct sha256_ctx *s) { return evp_start(&s->ctx, EVP_sha256()); }
int sha256_update(struct sha256_ctx *s, const void *buf, size_t n) { return evp_feed(s->ctx, buf, n); }
int sha256_final(struct sha256_ctx *s, unsigned char out[SHA256_LEN])
{
    return evp_finish(&s->ctx, out, SHA256_LEN);
}
void sha256_release(struct sha256_ctx *s)
{
    if (s)
        evp_drop(&s->ctx);
}

static int evp_oneshot(const EVP_MD *md, const void *buf, size_t n, unsigned char *out,
                       unsigned int want)
{
    static const unsigned char empty[1];
    unsigned int got = 0;
    if (EVP_Digest(n ? buf : empty, n, out, &got, md, NULL) == 1 && got == want)
        return ERR_OK;
    memset(out, 0, want);
    return ERR_INTERNAL;
}

int md5_buf(const void *buf, size_t n, unsigned char out[MD5_LEN])
{
    return evp_oneshot(EVP_md5(), buf, n, out, MD5_LEN);
}

int sha256_buf(const void *buf, size_t n, unsigned char out[SHA256_LEN])
{
    return evp_oneshot(EVP_sha256(), buf, n, out, SHA256_LEN);
}

/* ---- HDFS file checksums ------------------------------------------------ */

int hdfs_cksum_init(struct hdfs_cksum *c, enum hdfs_combine mode, enum hdfs_crc_type t,
                    uint32_t bytes_per_crc, uint64_t block_size)
{
    int rc = ERR_OK;
    memset(c, 0, sizeof *c);
    if ((mode != HDFS_MD5MD5CRC && mode != HDFS_COMPOSITE_CRC) ||
        (t != HDFS_CRC32 && t != HDFS_CRC32C)) {
        rc = ERR_INVAL;
        goto out;
    }
    c->mode = mode;
    c->type = t;
    c->bpc = bytes_per_crc ? bytes_per_crc : HDFS_DEFAULT_BYTES_PER_CRC;
    c->block_size = block_size ? block_size : HDFS_DEFAULT_BLOCK_SIZE;
    /* The file MD5 is needed in both modes: the empty file is MD5MD5. */
    rc = evp_start(&c->file_md5, EVP_md5());
    if (rc != ERR_OK)
        goto out;
    if (mode == HDFS_MD5MD5CRC) {
        rc = evp_start(&c->block_md5, EVP_md5());
        if (rc != ERR_OK) {
            evp_drop(&c->file_md5);
            goto out;
        }
    }
out:
    return rc;
}

void hdfs_cksum_release(struct hdfs_cksum *c)
{
    if (!c)
        return;
    evp_drop(&c->block_md5);
    evp_drop(&c->file_md5);
}

static uint32_t crc_of(enum hdfs_crc_type t, uint32_t crc, const void *buf, size_t n)
{
    return t == HDFS_CRC32C ? crc32c_update(crc, buf, n) : crc32_update(crc, buf, n);
}

static void batch_flush(struct hdfs_cksum *c)
{
    if (c->nbatch && evp_feed(c->block_md5, c->batch, c->nbatch) != ERR_OK)
        c->failed = 1;
    c->nbatch = 0;
}

/* Close the current chunk: queue its CRC (big-endian) for the block MD5. */
static void chunk_close(struct hdfs_cksum *c)
{
    if (c->nbatch + 4 > sizeof c->batch)
        batch_flush(c);
    put_be32(c->batch + c->nbatch, c->chunk_crc);
    c->nbatch += 4;
    c->block_crcs++;
    c->chunk_crc = 0;
    c->chunk_fill = 0;
}

/* Close the current (non-empty) block: blockMD5 goes into the file MD5. */
static void block_close(struct hdfs_cksum *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int got = 0;

    if (c->chunk_fill)
        chunk_close(c);
    batch_flush(c);
    if (c->nblocks == 0)
        c->first_block_crcs = c->block_crcs;
    if (!c->block_md5 || EVP_DigestFinal_ex(c->block_md5, md, &got) != 1 || got != MD5_LEN ||
        EVP_DigestInit_ex(c->block_md5, EVP_md5(), NULL) != 1 ||
        evp_feed(c->file_md5, md, MD5_LEN) != ERR_OK)
        c->failed = 1;
    c->nblocks++;
    c->block_crcs = 0;
    c->block_pos = 0;
}

void hdfs_cksum_update(struct hdfs_cksum *c, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    c->total += n;
    if (c->mode == HDFS_COMPOSITE_CRC) {
        /* Equals the plain CRC of the whole content (protocols.md §2.3). */
        c->file_crc = crc_of(c->type, c->file_crc, p, n);
        return;
    }
    while (n > 0) {
        uint64_t room = c->bpc - c->chunk_fill;
        uint64_t block_room = c->block_size - c->block_pos;
        if (block_room < room)
            room = block_room;
        size_t take = n < room ? n : (size_t)room;

        c->chunk_crc = crc_of(c->type, c->chunk_crc, p, take);
        c->chunk_fill += (uint32_t)take;
        c->block_pos += take;
        p += take;
        n -= take;
        if (c->block_pos == c->block_size)
            block_close(c);
        else if (c->chunk_fill == c->bpc)
            chunk_close(c);
    }
}

static void result_set(struct hdfs_cksum_result *out, const unsigned char *bytes, size_t len)
{
    memcpy(out->bytes, bytes, len);
    out->len = len;
    hex_encode(out->bytes, len, out->hex);
}

int hdfs_cksum_final(struct hdfs_cksum *c, struct hdfs_cksum_result *out)
{
    /* DataOutputBuffer starts at 32 bytes and doubles; HDFS MD5s the whole
     * backing array, so the block MD5s are zero-padded to that capacity. */
    static const unsigned char zeros[32];
    unsigned char raw[28];
    int rc = ERR_OK;

    memset(out, 0, sizeof *out);
    if (c->total == 0) {
        /* Empty-file shortcut, taken before the mode switch in HDFS. */
        put_be32(raw, 0);
        put_be64(raw + 4, 0);
        if (evp_feed(c->file_md5, zeros, sizeof zeros) != ERR_OK)
            c->failed = 1;
        if (evp_finish(&c->file_md5, raw + 12, MD5_LEN) != ERR_OK)
            c->failed = 1;
        snprintf(out->algorithm, sizeof out->algorithm, "MD5-of-0MD5-of-0CRC32");
        result_set(out, raw, 28);
        goto out;
    }
    const char *tname = c->type == HDFS_CRC32C ? "CRC32C" : "CRC32";
    if (c->mode == HDFS_COMPOSITE_CRC) {
        put_be32(raw, c->file_crc);
        snprintf(out->algorithm, sizeof out->algorithm, "COMPOSITE-%s", tname);
        result_set(out, raw, 4);
        goto out;
    }
    if (c->block_pos > 0)
        block_close(c);
    uint64_t used = 16 * c->nblocks, cap = 32;
    while (cap < used)
        cap *= 2;
    for (uint64_t pad = cap - used; pad > 0;) {
        size_t take = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        if (evp_feed(c->file_md5, zeros, take) != ERR_OK)
            c->failed = 1;
        pad -= take;
    }
    uint64_t crc_per_block = c->nblocks > 1 ? c->first_block_crcs : 0;
    put_be32(raw, c->bpc);
    put_be64(raw + 4, crc_per_block);
    if (evp_finish(&c->file_md5, raw + 12, MD5_LEN) != ERR_OK)
        c->failed = 1;
    snprintf(out->algorithm, sizeof out->algorithm, "MD5-of-%lluMD5-of-%u%s",
             (unsigned long long)crc_per_block, c->bpc, tname);
    result_set(out, raw, 28);
out:
    if (c->failed) {
        memset(out, 0, sizeof *out);
        rc = ERR_INTERNAL;
    }
    hdfs_cksum_release(c);
    return rc;
}

/* ---- -update digest ------------------------------------------------------ */

void digest_format(const struct digest *d, char *buf, size_t n)
{
    if (n == 0)
        return;
    snprintf(buf, n, "crc32c:%08x", (unsigned)d->crc32c);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int digest_parse(const char *s, struct digest *d)
{
    static const char prefix[] = "crc32c:";
    uint32_t v = 0;
    int rc = ERR_INVAL;

    if (!s || strncmp(s, prefix, sizeof prefix - 1) != 0)
        goto out;
    s += sizeof prefix - 1;
    for (int i = 0; i < 8; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            goto out;
        v = (v << 4) | (uint32_t)h;
    }
    if (s[8] != '\0')
        goto out;
    d->crc32c = v;
    d->len = 0;
    rc = ERR_OK;
out:
    return rc;
}

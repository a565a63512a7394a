/* test_checksum.c - CRC vectors, CRC combination, HDFS file checksums
 * (spec/protocols.md §2, every worked example in §2.4), the -update digest
 * text form (spec/distcp.md A §4) and the MD5/SHA-256 wrappers.
 * The HDFS results are also checked against a slow, independent reference
 * (bitwise CRCs, whole-buffer MD5s) written from protocols.md §2.2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/checksum.h"
#include "util/err.h"

/* ---- reference implementations ----------------------------------------- */

static uint32_t ref_crc(uint32_t poly, const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    }
    return ~crc;
}

static uint32_t ref_crc32c(const unsigned char *p, size_t n) { return ref_crc(0x82F63B78u, p, n); }
static uint32_t ref_crc32(const unsigned char *p, size_t n) { return ref_crc(0xEDB88320u, p, n); }

static void ref_md5(const void *p, size_t n, unsigned char out[16])
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_md5(), NULL), 1);
    assert_int_equal(len, 16);
}

/* protocols.md §2.2, done the slow obvious way on a whole buffer. */
static void ref_hdfs_md5md5(const unsigned char *data, size_t len, enum hdfs_crc_type t,
                            uint32_t bpc, uint64_t bs, char *alg, size_t alg_n, char hex[57])
{
    unsigned char raw[28] = {0};
    if (len == 0) {
        unsigned char zeros[32] = {0};
        ref_md5(zeros, 32, raw + 12);
        snprintf(alg, alg_n, "MD5-of-0MD5-of-0CRC32");
        hex_encode(raw, 28, hex);
        return;
    }
    size_t nblocks = (len + bs - 1) / bs;
    size_t cap = 32;
    while (cap < 16 * nblocks)
        cap *= 2;
    unsigned char *md5s = calloc(1, cap);
    assert_non_null(md5s);
    uint64_t first_crcs = 0;
    for (size_t b = 0; b < nblocks; b++) {
        size_t off = b * bs, blen = len - off < bs ? len - off : bs;
        size_t ncrc = (blen + bpc - 1) / bpc;
        unsigned char *crcs = malloc(4 * ncrc);
        assert_non_null(crcs);
        for (size_t k = 0; k < ncrc; k++) {
            size_t coff = k * bpc, clen = blen - coff < bpc ? blen - coff : bpc;
            uint32_t v = t == HDFS_CRC32C ? ref_crc32c(data + off + coff, clen)
                                          : ref_crc32(data + off + coff, clen);
            crcs[4 * k] = (unsigned char)(v >> 24);
            crcs[4 * k + 1] = (unsigned char)(v >> 16);
            crcs[4 * k + 2] = (unsigned char)(v >> 8);
            crcs[4 * k + 3] = (unsigned char)v;
        }
        if (b == 0)
            first_crcs = ncrc;
        ref_md5(crcs, 4 * ncrc, md5s + 16 * b);
        free(crcs);
    }
    uint64_t cpb = nblocks > 1 ? first_crcs : 0;
    for (int i = 0; i < 4; i++)
        raw[i] = (unsigned char)(bpc >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (unsigned char)(cpb >> (56 - 8 * i));
    ref_md5(md5s, cap, raw + 12);
    free(md5s);
    snprintf(alg, alg_n, "MD5-of-%lluMD5-of-%u%s", (unsigned long long)cpb, bpc,
             t == HDFS_CRC32C ? "CRC32C" : "CRC32");
    hex_encode(raw, 28, hex);
}

static void fill_random(unsigned char *p, size_t n, unsigned seed)
{
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* Checksum `data` feeding pieces of `piece` bytes (0: pseudo-random sizes). */
static void hdfs_sum(const unsigned char *data, size_t len, enum hdfs_combine mode,
                     enum hdfs_crc_type t, uint32_t bpc, uint64_t bs, size_t piece,
                     struct hdfs_cksum_result *res)
{
    struct hdfs_cksum c;
    unsigned r = 12345;
    assert_int_equal(hdfs_cksum_init(&c, mode, t, bpc, bs), ERR_OK);
    for (size_t off = 0; off < len;) {
        size_t n = piece;
        if (n == 0) {
            r = r * 1103515245u + 12345u;
            n = (r >> 16) % 97;  /* includes 0-byte updates */
        }
        if (n > len - off)
            n = len - off;
        hdfs_cksum_update(&c, data + off, n);
        off += n;
    }
    assert_int_equal(hdfs_cksum_final(&c, res), ERR_OK);
    assert_int_equal(strlen(res->hex), 2 * res->len);
}

/* Feed `total` zero bytes in 1 MiB pieces. */
static void hdfs_sum_zeros(uint64_t total, struct hdfs_cksum_result *res)
{
    size_t bufn = 1 << 20;
    unsigned char *z = calloc(1, bufn);
    struct hdfs_cksum c;
    assert_non_null(z);
    assert_int_equal(hdfs_cksum_init(&c, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 134217728), ERR_OK);
    for (uint64_t off = 0; off < total;) {
        size_t n = total - off < bufn ? (size_t)(total - off) : bufn;
        hdfs_cksum_update(&c, z, n);
        off += n;
    }
    assert_int_equal(hdfs_cksum_final(&c, res), ERR_OK);
    free(z);
}

/* ---- CRCs --------------------------------------------------------------- */

static void test_crc_vectors(void **state)
{
    const char *s = "123456789";
    assert_int_equal(crc32c_update(0, s, 9), 0xE3069283u);
    assert_int_equal(crc32_update(0, s, 9), 0xCBF43926u);
    assert_int_equal(crc32c_update(0, NULL, 0), 0);
    assert_int_equal(crc32_update(0, NULL, 0), 0);
    /* Chaining in pieces. */
    assert_int_equal(crc32c_update(crc32c_update(0, s, 4), s + 4, 5), 0xE3069283u);
    assert_int_equal(crc32_update(crc32_update(0, s, 4), s + 4, 5), 0xCBF43926u);
    assert_int_equal(crc32c_update(0xE3069283u, NULL, 0), 0xE3069283u);

    /* RFC 3720 B.4 CRC32C vectors. */
    unsigned char b[32];
    memset(b, 0, 32);
    assert_int_equal(crc32c_update(0, b, 32), 0x8A9136AAu);
    memset(b, 0xFF, 32);
    assert_int_equal(crc32c_update(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    assert_int_equal(crc32c_update(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    assert_int_equal(crc32c_update(0, b, 32), 0x113FDB5Cu);
}

/* ISA-L's vector paths vs the bitwise reference: many lengths and alignments. */
static void test_crc_vs_reference(void **state)
{
    size_t n = 70000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 1);
    for (size_t len = 0; len < 600; len++) {
        size_t off = len % 13;
        assert_int_equal(crc32c_update(0, d + off, len), ref_crc32c(d + off, len));
        assert_int_equal(crc32_update(0, d + off, len), ref_crc32(d + off, len));
    }
    assert_int_equal(crc32c_update(0, d + 3, n - 3), ref_crc32c(d + 3, n - 3));
    assert_int_equal(crc32_update(0, d + 3, n - 3), ref_crc32(d + 3, n - 3));
    free(d);
}

static void test_crc_combine(void **state)
{
    size_t n = 20000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 2);
    unsigned r = 7;
    for (int iter = 0; iter < 300; iter++) {
        r = r * 1103515245u + 12345u;
        size_t len = (r >> 8) % (n + 1);
        r = r * 1103515245u + 12345u;
        size_t cut = len ? (r >> 8) % (len + 1) : 0;
        uint32_t a = crc32c_update(0, d, cut), b = crc32c_update(0, d + cut, len - cut);
        assert_int_equal(crc32c_combine(a, b, len - cut), crc32c_update(0, d, len));
        a = crc32_update(0, d, cut);
        b = crc32_update(0, d + cut, len - cut);
        assert_int_equal(crc32_combine(a, b, len - cut), crc32_update(0, d, len));
    }
    /* Empty B leaves A; empty A gives B. */
    assert_int_equal(crc32c_combine(0xE3069283u, 0, 0), 0xE3069283u);
    assert_int_equal(crc32c_combine(0, 0xE3069283u, 9), 0xE3069283u);
    assert_int_equal(crc32_combine(0, 0xCBF43926u, 9), 0xCBF43926u);
    /* Huge lengths: associativity (A||B)||C == A||(B||C). */
    uint32_t a = 0x12345678u, b = 0x9abcdef0u, c = 0x0badf00du;
    uint64_t lb = 5000000000ull, lc = 123456789012ull;
    assert_int_equal(crc32c_combine(crc32c_combine(a, b, lb), c, lc),
                     crc32c_combine(a, crc32c_combine(b, c, lc), lb + lc));
    assert_int_equal(crc32_combine(crc32_combine(a, b, lb), c, lc),
                     crc32_combine(a, crc32_combine(b, c, lc), lb + lc));
    free(d);
}

/* ---- HDFS checksums: protocols.md §2.4 worked examples ------------------ */

static void test_hdfs_empty(void **state)
{
    struct hdfs_cksum_result res;
    /* Both modes, both types: HDFS's empty-file shortcut. */
    for (int m = HDFS_MD5MD5CRC; m <= HDFS_COMPOSITE_CRC; m++) {
        for (int t = HDFS_CRC32; t <= HDFS_CRC32C; t++) {
            hdfs_sum(NULL, 0, m, t, 512, 134217728, 1, &res);
            assert_string_equal(res.algorithm, "MD5-of-0MD5-of-0CRC32");
            assert_int_equal(res.len, 28);
            assert_string_equal(res.hex, "00000000" "0000000000000000"
                                         "70bc8f4b72a86921468bf8e8441dce51");
        }
    }
    /* Zero-length updates do not make the file non-empty. */
    struct hdfs_cksum c;
    assert_int_equal(hdfs_cksum_init(&c, HDFS_COMPOSITE_CRC, HDFS_CRC32C, 512, 0), ERR_OK);
    hdfs_cksum_update(&c, NULL, 0);
    assert_int_equal(hdfs_cksum_final(&c, &res), ERR_OK);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-0CRC32");
}

static void test_hdfs_world(void **state)
{
    struct hdfs_cksum_result res;
    const unsigned char *w = (const unsigned char *)"world\n";
    unsigned char md[16];
    char hex[33];

    /* Step by step (§2.4). */
    assert_int_equal(crc32c_update(0, w, 6), 0xd4ad7373u);
    const unsigned char crcbe[4] = {0xd4, 0xad, 0x73, 0x73};
    assert_int_equal(md5_buf(crcbe, 4, md), ERR_OK);
    hex_encode(md, 16, hex);
    assert_string_equal(hex, "5e2b8f2eef601c77c05802d8f7e6ec3e");

    hdfs_sum(w, 6, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 134217728, 1, &res);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-512CRC32C");
    assert_int_equal(res.len, 28);
    assert_string_equal(res.hex, "000002000000000000000000a74dcf6d5ba98e50ae0182c9d5d886fe");
    assert_memory_equal(res.bytes, "\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\xa7\x4d", 14);

    /* The ranged checksum of the first 5 bytes equals the checksum of "world". */
    hdfs_sum(w, 5, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 134217728, 2, &res);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-512CRC32C");
    assert_string_equal(res.hex, "000002000000000000000000" "05a157db1cc7549c82ec6f31f63fdb46");

    /* COMPOSITE: the plain CRC32C, 4 bytes. */
    hdfs_sum(w, 6, HDFS_COMPOSITE_CRC, HDFS_CRC32C, 512, 134217728, 1, &res);
    assert_string_equal(res.algorithm, "COMPOSITE-CRC32C");
    assert_int_equal(res.len, 4);
    assert_string_equal(res.hex, "d4ad7373");
    hdfs_sum(w, 6, HDFS_COMPOSITE_CRC, HDFS_CRC32, 512, 134217728, 1, &res);
    assert_string_equal(res.algorithm, "COMPOSITE-CRC32");
    char want[9];
    snprintf(want, sizeof want, "%08x", (unsigned)crc32_update(0, w, 6));
    assert_string_equal(res.hex, want);
}

static void test_hdfs_zeros_one_block(void **state)
{
    struct hdfs_cksum_result res;
    hdfs_sum_zeros(134217727, &res);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-512CRC32C");
    assert_string_equal(res.hex, "000002000000000000000000" "1cf326bae8274fd824ec69ece3e4082f");
}

static void test_hdfs_zeros_two_blocks(void **state)
{
    struct hdfs_cksum_result res;
    hdfs_sum_zeros(153600000, &res);
    assert_string_equal(res.algorithm, "MD5-of-262144MD5-of-512CRC32C");
    assert_string_equal(res.hex, "00000200" "0000000000040000" "7d04ac8132ad64988f7ba4d819cbde62");
}

/* ---- HDFS checksums vs the reference ------------------------------------ */

static void check_vs_ref(const unsigned char *d, size_t len, enum hdfs_crc_type t, uint32_t bpc,
                         uint64_t bs, size_t piece)
{
    struct hdfs_cksum_result res;
    char alg[64], hex[57];
    ref_hdfs_md5md5(d, len, t, bpc, bs, alg, sizeof alg, hex);
    hdfs_sum(d, len, HDFS_MD5MD5CRC, t, bpc, bs, piece, &res);
    if (strcmp(res.algorithm, alg) != 0 || strcmp(res.hex, hex) != 0)
        fail_msg("len %zu type %d bpc %u bs %llu piece %zu: got %s %s want %s %s", len, (int)t,
                 bpc, (unsigned long long)bs, piece, res.algorithm, res.hex, alg, hex);
    /* COMPOSITE is the plain CRC whatever the layout. */
    if (len > 0) {
        hdfs_sum(d, len, HDFS_COMPOSITE_CRC, t, bpc, bs, piece, &res);
        uint32_t want = t == HDFS_CRC32C ? ref_crc32c(d, len) : ref_crc32(d, len);
        char w[9];
        snprintf(w, sizeof w, "%08x", (unsigned)want);
        assert_string_equal(res.hex, w);
    }
}

static void test_hdfs_small_layouts(void **state)
{
    unsigned char d[300];
    fill_random(d, sizeof d, 3);
    /* bpc 4, block 16: every boundary case for lengths 0..300 (1..18 blocks,
     * padding to 32, 64, 128, 256, 512). Also a block size that is not a
     * multiple of bpc, and the CRC32 type. */
    for (size_t len = 0; len <= sizeof d; len++) {
        check_vs_ref(d, len, HDFS_CRC32C, 4, 16, 1);
        check_vs_ref(d, len, HDFS_CRC32C, 4, 16, 5);
        check_vs_ref(d, len, HDFS_CRC32, 4, 16, 0);
        check_vs_ref(d, len, HDFS_CRC32C, 5, 16, 3);
        check_vs_ref(d, len, HDFS_CRC32C, 1, 1, 0);
    }
    /* Exact algorithm strings at the block edge. */
    struct hdfs_cksum_result res;
    hdfs_sum(d, 16, HDFS_MD5MD5CRC, HDFS_CRC32C, 4, 16, 16, &res);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-4CRC32C");  /* exactly 1 block */
    hdfs_sum(d, 17, HDFS_MD5MD5CRC, HDFS_CRC32C, 4, 16, 17, &res);
    assert_string_equal(res.algorithm, "MD5-of-4MD5-of-4CRC32C");  /* 2 blocks */
    hdfs_sum(d, 3, HDFS_MD5MD5CRC, HDFS_CRC32C, 4, 16, 3, &res);
    assert_string_equal(res.algorithm, "MD5-of-0MD5-of-4CRC32C");  /* < 1 chunk */
    hdfs_sum(d, 17, HDFS_MD5MD5CRC, HDFS_CRC32C, 5, 16, 0, &res);
    assert_string_equal(res.algorithm, "MD5-of-4MD5-of-5CRC32C");  /* ceil(16/5) */
}

static void test_hdfs_default_layouts(void **state)
{
    size_t n = 3 * 65536 + 1000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 4);
    /* Smaller than one chunk, one chunk and a bit, exactly one block,
     * several blocks with a short last block, exact multiple of blocks. */
    size_t lens[] = {1, 511, 512, 513, 65536, 65537, 2 * 65536, n};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        check_vs_ref(d, lens[i], HDFS_CRC32C, 512, 65536, 4096);
        check_vs_ref(d, lens[i], HDFS_CRC32, 512, 65536, 0);
    }
    /* Defaults (0 -> 512 / 128 MiB). */
    struct hdfs_cksum_result a, b;
    hdfs_sum(d, 1000, HDFS_MD5MD5CRC, HDFS_CRC32C, 0, 0, 1000, &a);
    hdfs_sum(d, 1000, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 134217728, 1000, &b);
    assert_string_equal(a.hex, b.hex);
    assert_string_equal(a.algorithm, "MD5-of-0MD5-of-512CRC32C");
    free(d);
}

/* The same data fed in many different piece sizes gives the same result. */
static void test_hdfs_piece_sizes(void **state)
{
    size_t n = 50000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 5);
    struct hdfs_cksum_result first, res;
    hdfs_sum(d, n, HDFS_MD5MD5CRC, HDFS_CRC32C, 64, 4096, n, &first);
    size_t pieces[] = {0, 1, 2, 3, 7, 63, 64, 65, 1000, 4095, 4096, 4097, 12289};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        hdfs_sum(d, n, HDFS_MD5MD5CRC, HDFS_CRC32C, 64, 4096, pieces[i], &res);
        assert_string_equal(res.algorithm, first.algorithm);
        assert_string_equal(res.hex, first.hex);
    }
    assert_string_equal(first.algorithm, "MD5-of-64MD5-of-64CRC32C");
    free(d);
}

static void test_hdfs_init_release(void **state)
{
    struct hdfs_cksum c;
    assert_int_equal(hdfs_cksum_init(&c, 3, HDFS_CRC32C, 512, 0), ERR_INVAL);
    assert_int_equal(hdfs_cksum_init(&c, HDFS_MD5MD5CRC, 7, 512, 0), ERR_INVAL);
    assert_int_equal(hdfs_cksum_init(&c, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 0), ERR_OK);
    hdfs_cksum_update(&c, "abc", 3);
    hdfs_cksum_release(&c);
    hdfs_cksum_release(&c);
    hdfs_cksum_release(NULL);
}

/* ---- digest ------------------------------------------------------------- */

static void test_digest(void **state)
{
    struct digest d, e;
    char buf[DIGEST_STR_MAX];

    digest_init(&d);
    digest_update(&d, "1234", 4);
    digest_update(&d, "56789", 5);
    assert_int_equal(d.crc32c, 0xE3069283u);
    assert_int_equal(d.len, 9);
    digest_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "crc32c:e3069283");
    memset(&e, 0xAB, sizeof e);
    assert_int_equal(digest_parse(buf, &e), ERR_OK);
    assert_int_equal(e.crc32c, 0xE3069283u);
    assert_int_equal(e.len, 0);

    d.crc32c = 0x0000000Au;
    digest_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "crc32c:0000000a");
    assert_int_equal(digest_parse("crc32c:DEADBEEF", &e), ERR_OK);
    assert_int_equal(e.crc32c, 0xDEADBEEFu);

    /* Truncation keeps the buffer terminated. */
    char small[8];
    digest_format(&d, small, sizeof small);
    assert_string_equal(small, "crc32c:");

    const char *bad[] = {"", "crc32c:", "crc32c:1234567", "crc32c:123456789",
                         "crc32c:1234567g", "CRC32C:12345678", " crc32c:12345678",
                         "crc32c:12345678 ", "crc32c: 1234567", "crc32c:+1234567",
                         "crc32c:0x123456", "md5:12345678", "crc32:12345678",
                         "crc32c12345678", "crc32c:1234\0" "5678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.crc32c = 42;
        e.len = 7;
        if (digest_parse(bad[i], &e) != ERR_INVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(e.crc32c, 42);
        assert_int_equal(e.len, 7);
    }
    assert_int_equal(digest_parse(NULL, &e), ERR_INVAL);
}

/* ---- MD5 / SHA-256 ------------------------------------------------------ */

static void test_md5_sha256(void **state)
{
    unsigned char md[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];

    assert_int_equal(md5_buf(NULL, 0, md), ERR_OK);
    hex_encode(md, MD5_LEN, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    assert_int_equal(md5_buf("abc", 3, md), ERR_OK);
    hex_encode(md, MD5_LEN, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    assert_int_equal(sha256_buf(NULL, 0, md), ERR_OK);
    hex_encode(md, SHA256_LEN, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* Streaming in pieces == one shot. */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct sha256_ctx s;
    assert_int_equal(sha256_init(&s), ERR_OK);
    for (const char *p = msg; *p; p++)
        assert_int_equal(sha256_update(&s, p, 1), ERR_OK);
    assert_int_equal(sha256_update(&s, NULL, 0), ERR_OK);
    assert_int_equal(sha256_final(&s, md), ERR_OK);
    assert_null(s.ctx);
    hex_encode(md, SHA256_LEN, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    struct md5_ctx m;
    assert_int_equal(md5_init(&m), ERR_OK);
    assert_int_equal(md5_update(&m, "a", 1), ERR_OK);
    assert_int_equal(md5_update(&m, "bc", 2), ERR_OK);
    assert_int_equal(md5_final(&m, md), ERR_OK);
    hex_encode(md, MD5_LEN, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    /* Use after final fails cleanly; release is idempotent and NULL-safe. */
    assert_int_equal(md5_update(&m, "x", 1), ERR_INTERNAL);
    md5_release(&m);
    md5_release(NULL);
    assert_int_equal(md5_init(&m), ERR_OK);
    md5_release(&m);
    md5_release(&m);
    assert_int_equal(sha256_init(&s), ERR_OK);
    sha256_release(&s);
    sha256_release(NULL);

    unsigned char in[3] = {0x00, 0x7f, 0xff};
    hex_encode(in, 3, hex);
    assert_string_equal(hex, "007fff");
    hex_encode(in, 0, hex);
    assert_string_equal(hex, "");
}

/* ---- benchmark (printed, never asserted) -------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_bench(void **state)
{
    size_t n = (size_t)256 << 20;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 6);
    double t0 = now_s();
    uint32_t crc = crc32c_update(0, d, n);
    double t1 = now_s();
    struct hdfs_cksum c;
    struct hdfs_cksum_result res;
    assert_int_equal(hdfs_cksum_init(&c, HDFS_MD5MD5CRC, HDFS_CRC32C, 512, 134217728), ERR_OK);
    for (size_t off = 0; off < n; off += (size_t)1 << 20)
        hdfs_cksum_update(&c, d + off, (size_t)1 << 20);
    assert_int_equal(hdfs_cksum_final(&c, &res), ERR_OK);
    double t2 = now_s();
    printf("bench: CRC32C %.2f GB/s, HDFS MD5-of-MD5-of-512CRC32C %.2f GB/s (256 MiB, crc %08x)\n",
           n / (t1 - t0) / 1e9, n / (t2 - t1) / 1e9, (unsigned)crc);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_crc_vs_reference),
        cmocka_unit_test(test_crc_combine),
        cmocka_unit_test(test_hdfs_empty),
        cmocka_unit_test(test_hdfs_world),
        cmocka_unit_test(test_hdfs_zeros_one_block),
        cmocka_unit_test(test_hdfs_zeros_two_blocks),
        cmocka_unit_test(test_hdfs_small_layouts),
        cmocka_unit_test(test_hdfs_default_layouts),
        cmocka_unit_test(test_hdfs_piece_sizes),
        cmocka_unit_test(test_hdfs_init_release),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_md5_sha256),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

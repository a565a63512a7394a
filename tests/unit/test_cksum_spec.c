/* test_cksum_spec.c - HDFS checksum algorithm names (spec/protocols.md §2.2,
 * §2.3): parsing, the name a layout gives a file of some size, and the spec
 * that reproduces a reported checksum from the bytes (checked by computing
 * it: §2.4's two-block example). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/checksum.h"
#include "util/cksum_spec.h"
#include "util/err.h"

static void test_parse(void **state)
{
    (void)state;
    struct cksum_spec s;
    uint64_t n = 99;
    cksum_spec_default(&s);
    assert_int_equal(cksum_spec_parse("MD5-of-262144MD5-of-512CRC32C", &s, &n), ERR_OK);
    assert_int_equal(s.mode, HDFS_MD5MD5CRC);
    assert_int_equal(s.type, HDFS_CRC32C);
    assert_int_equal(s.bpc, 512);
    assert_int_equal(n, 262144);
    assert_int_equal(cksum_spec_parse("MD5-of-0MD5-of-0CRC32", &s, &n), ERR_OK);
    assert_int_equal(s.type, HDFS_CRC32);
    assert_int_equal(s.bpc, 0);
    assert_int_equal(n, 0);
    s.bpc = 4096;
    assert_int_equal(cksum_spec_parse("COMPOSITE-CRC32C", &s, &n), ERR_OK);
    assert_int_equal(s.mode, HDFS_COMPOSITE_CRC);
    assert_int_equal(s.bpc, 4096); /* untouched */
    const char *bad[] = {"", "MD5", "MD5-of-xMD5-of-512CRC32C", "MD5-of-0MD5-of-512CRC64",
                         "MD5-of-0MD5-of-512CRC32CC", "COMPOSITE-MD5", "MD5-of--1MD5-of-512CRC32",
                         "MD5-of-99999999999999999999MD5-of-512CRC32C",
                         "MD5-of-0MD5-of-4294967296CRC32C"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cksum_spec_parse(bad[i], &s, &n), ERR_INVAL);
}

static void test_algorithm_names(void **state)
{
    (void)state;
    struct cksum_spec s;
    char b[64];
    cksum_spec_default(&s);
    cksum_spec_algorithm(&s, 0, b, sizeof b);
    assert_string_equal(b, "MD5-of-0MD5-of-0CRC32");
    cksum_spec_algorithm(&s, 6, b, sizeof b);
    assert_string_equal(b, "MD5-of-0MD5-of-512CRC32C");
    cksum_spec_algorithm(&s, 134217728, b, sizeof b);
    assert_string_equal(b, "MD5-of-0MD5-of-512CRC32C");
    cksum_spec_algorithm(&s, 153600000, b, sizeof b);
    assert_string_equal(b, "MD5-of-262144MD5-of-512CRC32C");
    s.type = HDFS_CRC32;
    s.mode = HDFS_COMPOSITE_CRC;
    cksum_spec_algorithm(&s, 6, b, sizeof b);
    assert_string_equal(b, "COMPOSITE-CRC32");
    cksum_spec_algorithm(&s, 0, b, sizeof b);
    assert_string_equal(b, "MD5-of-0MD5-of-0CRC32");
}

static void test_spec_for_reproduces(void **state)
{
    (void)state;
    /* §2.4: 153600000 zero bytes in 128 MiB blocks */
    struct cksum_spec s;
    struct hdfs_cksum c;
    struct hdfs_cksum_result r;
    const uint64_t size = 153600000;
    assert_int_equal(cksum_spec_for("MD5-of-262144MD5-of-512CRC32C", size, &s), ERR_OK);
    assert_int_equal(s.block_size, 134217728);
    unsigned char *z = calloc(1, 1 << 20);
    assert_non_null(z);
    assert_int_equal(hdfs_cksum_init(&c, s.mode, s.type, s.bpc, s.block_size), ERR_OK);
    for (uint64_t off = 0; off < size; off += 1 << 20)
        hdfs_cksum_update(&c, z, size - off < (1 << 20) ? (size_t)(size - off) : 1 << 20);
    assert_int_equal(hdfs_cksum_final(&c, &r), ERR_OK);
    assert_string_equal(r.algorithm, "MD5-of-262144MD5-of-512CRC32C");
    assert_string_equal(r.hex, "0000020000000000000400007d04ac8132ad64988f7ba4d819cbde62");
    free(z);
    /* one block: any block size holding the file */
    assert_int_equal(cksum_spec_for("MD5-of-0MD5-of-512CRC32C", 6, &s), ERR_OK);
    assert_true(s.block_size >= 6);
    assert_int_equal(cksum_spec_for("MD5-of-0MD5-of-0CRC32", 0, &s), ERR_OK);
    assert_int_equal(cksum_spec_for("MD5-of-0MD5-of-0CRC32C", 5, &s), ERR_INVAL);
    assert_int_equal(cksum_spec_for("SHA-256", 5, &s), ERR_INVAL);
}

static void test_parse_names_and_equal(void **state)
{
    (void)state;
    enum hdfs_crc_type t;
    enum hdfs_combine m;
    assert_int_equal(cksum_parse_type("crc32c", &t), ERR_OK);
    assert_int_equal(t, HDFS_CRC32C);
    assert_int_equal(cksum_parse_type("CRC32", &t), ERR_OK);
    assert_int_equal(t, HDFS_CRC32);
    assert_int_equal(cksum_parse_type("CRC64", &t), ERR_INVAL);
    assert_int_equal(cksum_parse_mode("composite-crc", &m), ERR_OK);
    assert_int_equal(m, HDFS_COMPOSITE_CRC);
    assert_int_equal(cksum_parse_mode("MD5MD5CRC", &m), ERR_OK);
    assert_int_equal(m, HDFS_MD5MD5CRC);
    assert_int_equal(cksum_parse_mode("MD5", &m), ERR_INVAL);
    struct hdfs_cksum_result a = {.algorithm = "COMPOSITE-CRC32C", .bytes = {1, 2, 3, 4}, .len = 4};
    struct hdfs_cksum_result b = a;
    bool cmp;
    assert_true(cksum_equal(&a, &b, &cmp));
    assert_true(cmp);
    b.bytes[3] = 5;
    assert_false(cksum_equal(&a, &b, &cmp));
    assert_true(cmp);
    strcpy(b.algorithm, "COMPOSITE-CRC32");
    assert_false(cksum_equal(&a, &b, &cmp));
    assert_false(cmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_algorithm_names),
        cmocka_unit_test(test_spec_for_reproduces),
        cmocka_unit_test(test_parse_names_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

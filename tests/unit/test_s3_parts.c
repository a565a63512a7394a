/* test_s3_parts.c - pure pieces of the S3 backend: the multipart part size
 * (never more than 10,000 parts, never under 8 MiB, MiB-aligned), base64
 * decoding of x-amz-checksum-crc32c, and the ~/.aws profile reader
 * (credentials file, config file "[profile x]" sections, nested keys,
 * precedence between the files, errors that never show a value). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backend/s3/s3.h"

#define MiB (1ull << 20)

static void t_part_size(void **state)
{
    (void)state;
    assert_int_equal(s3_part_size(0), 8 * MiB);
    assert_int_equal(s3_part_size(1), 8 * MiB);
    assert_int_equal(s3_part_size(80000 * MiB), 8 * MiB);   /* exactly 10,000 parts */
    uint64_t sizes[] = { 80000 * MiB + 1, 100ull << 30, 1ull << 40, 5ull << 40,
                         (5ull << 40) - 1, 123456789012ull };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t ps = s3_part_size(sizes[i]);
        assert_true(ps >= 8 * MiB);
        assert_int_equal(ps % MiB, 0);
        assert_true((sizes[i] + ps - 1) / ps <= 10000);
        assert_true(ps <= (5ull << 30));                        /* S3's part limit */
    }
}

static void t_base64_decode(void **state)
{
    (void)state;
    unsigned char out[8];
    /* CRC32C of "hello world" is c99465aa */
    assert_int_equal(s3_base64_decode("yZRlqg==", out, sizeof out), 4);
    assert_memory_equal(out, "\xc9\x94\x65\xaa", 4);
    assert_int_equal(s3_base64_decode("", out, sizeof out), 0);
    assert_int_equal(s3_base64_decode("abc", out, sizeof out), 0);
    assert_int_equal(s3_base64_decode("AAAAAAAAAAAA", out, 4), 0);   /* 9 bytes > cap */
}

static char dir[64];

static void put(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    char p[128];
    snprintf(dir, sizeof dir, "/tmp/test_s3_parts.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(p, sizeof p, "%s/credentials", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
    snprintf(p, sizeof p, "%s/config", dir);
    setenv("AWS_CONFIG_FILE", p, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/credentials", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/config", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

static void t_profiles(void **state)
{
    (void)state;
    struct s3_profile p;
    struct errinfo ei = {0};
    put("credentials", "# comment\n[default]\naws_access_key_id = AKDEF\n"
        "aws_secret_access_key=SECDEF \n\n[two]\r\naws_access_key_id= AK2\r\n"
        "aws_secret_access_key = SEC2\r\naws_session_token = TOK2\r\nregion = ap-south-1\n"
        "[half]\naws_access_key_id = AKHALF\n");
    put("config", "[default]\nregion = eu-west-1\n[profile two]\nregion = us-west-2\n"
        "s3 =\n  region = nested-not-this\n  max_concurrent_requests = 4\n"
        "[profile cfg]\naws_access_key_id = AKCFG\naws_secret_access_key = SECCFG\n"
        "[sso-session two]\nregion = not-this\n[profile role]\nrole_arn = arn:x\n");
    assert_int_equal(s3_profile_load("default", false, &p, &ei), 0);
    assert_string_equal(p.akid, "AKDEF");
    assert_string_equal(p.secret, "SECDEF");
    assert_null(p.token);
    assert_string_equal(p.region, "eu-west-1");
    s3_profile_free(&p);

    assert_int_equal(s3_profile_load("two", true, &p, &ei), 0);
    assert_string_equal(p.akid, "AK2");
    assert_string_equal(p.secret, "SEC2");
    assert_string_equal(p.token, "TOK2");
    assert_string_equal(p.region, "us-west-2");   /* the config file's region wins */
    s3_profile_free(&p);

    assert_int_equal(s3_profile_load("cfg", true, &p, &ei), 0);
    assert_string_equal(p.akid, "AKCFG");
    s3_profile_free(&p);

    assert_int_equal(s3_profile_load("role", true, &p, &ei), 0);
    assert_null(p.akid);
    assert_string_equal(p.unsupported, "role_arn");
    s3_profile_free(&p);

    assert_int_equal(s3_profile_load("nosuch", true, &p, &ei), ERR_AUTH);
    assert_non_null(strstr(ei.msg, "'nosuch' not found"));
    assert_int_equal(s3_profile_load("nosuch", false, &p, &ei), 0);
    assert_false(p.found);
    s3_profile_free(&p);

    assert_int_equal(s3_profile_load("half", true, &p, &ei), ERR_AUTH);
    assert_null(strstr(ei.msg, "AKHALF"));
    assert_non_null(strstr(ei.msg, "aws_secret_access_key"));

    put("credentials", "[default]\naws_access_key_id AKNOEQ\n");
    assert_int_equal(s3_profile_load("default", false, &p, &ei), ERR_INVAL);
    assert_non_null(strstr(ei.msg, "line 2"));
    assert_null(strstr(ei.msg, "AKNOEQ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_part_size),
        cmocka_unit_test(t_base64_decode),
        cmocka_unit_test_setup_teardown(t_profiles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

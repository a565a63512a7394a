/* test_s3_sigv4.c - the S3 backend's SigV4 signer against the four
 * AWS-published S3 examples (spec/protocols.md §3.1), plus the list-page
 * XML parser on a url-encoded answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/s3/s3.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define HOST "host:examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct s3_cred cred = { AKID, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL };

static void expect_sig(const char *method, const char *uri, const char *query,
                       const char *const *h, size_t n, const char *payload, const char *sig)
{
    char out[1024];
    assert_int_equal(s3_sigv4(&cred, "us-east-1", method, uri, query, h, n, payload, DATE, out,
                              sizeof out), 0);
    const char *s = strstr(out, "Signature=");
    assert_non_null(s);
    assert_string_equal(s + 10, sig);
    assert_non_null(strstr(out, "Credential=" AKID "/20130524/us-east-1/s3/aws4_request"));
}

static void t_get_object(void **state)
{
    /* given out of order: the signer sorts */
    const char *h[] = { "x-amz-date:" DATE, "range:bytes=0-9", HOST,
                        "x-amz-content-sha256:" EMPTY };
    expect_sig("GET", "/test.txt", "", h, 4, EMPTY,
               "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void t_put_object(void **state)
{
    const char *ph = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
    char sha[128];
    snprintf(sha, sizeof sha, "x-amz-content-sha256:%s", ph);
    const char *h[] = { "date:Fri, 24 May 2013 00:00:00 GMT", HOST, sha, "x-amz-date:" DATE,
                        "x-amz-storage-class:REDUCED_REDUNDANCY" };
    char *uri = s3_uri_encode("/test$file.text", true);
    assert_string_equal(uri, "/test%24file.text");
    expect_sig("PUT", uri, "", h, 5, ph,
               "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(uri);
}

static void t_lifecycle(void **state)
{
    const char *h[] = { HOST, "x-amz-content-sha256:" EMPTY, "x-amz-date:" DATE };
    expect_sig("GET", "/", "lifecycle=", h, 3, EMPTY,
               "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void t_list(void **state)
{
    const char *h[] = { HOST, "x-amz-content-sha256:" EMPTY, "x-amz-date:" DATE };
    expect_sig("GET", "/", "max-keys=2&prefix=J", h, 3, EMPTY,
               "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void t_parse_list(void **state)
{
    const char *xml =
        "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>dir%2F</Prefix><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>tok&amp;1</NextContinuationToken><EncodingType>url</EncodingType>"
        "<Contents><Key>dir%2Fa+b%2B..%2F</Key><LastModified>2024-01-02T03:04:05.678Z</LastModified>"
        "<ETag>&quot;x&quot;</ETag><Size>123</Size></Contents>"
        "<CommonPrefixes><Prefix>dir%2Fsub%2F</Prefix></CommonPrefixes></ListBucketResult>";
    struct s3_page pg;
    assert_int_equal(s3_parse_list(xml, strlen(xml), &pg, NULL), 0);
    assert_int_equal(pg.n, 2);
    assert_true(pg.truncated);
    assert_string_equal(pg.next_token, "tok&1");
    assert_string_equal(pg.items[0].key, "dir/a b+../");
    assert_int_equal(pg.items[0].size, 123);
    assert_int_equal(pg.items[0].mtime_ns, 1704164645678000000LL);
    assert_false(pg.items[0].prefix);
    assert_string_equal(pg.items[1].key, "dir/sub/");
    assert_true(pg.items[1].prefix);
    s3_page_free(&pg);
    assert_int_not_equal(s3_parse_list("<a><b>", 6, &pg, NULL), 0);
    char *code = s3_xml_find("<Error><Code>NoSuchKey</Code></Error>", 37, "Code");
    assert_string_equal(code, "NoSuchKey");
    free(code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_get_object), cmocka_unit_test(t_put_object),
        cmocka_unit_test(t_lifecycle), cmocka_unit_test(t_list), cmocka_unit_test(t_parse_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_path.c - lexical path helpers, including hostile inputs: "..",
 * "a/../..", "//", NUL bytes, over-long components and keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "util/path.h"

static void norm(const char *in, const char *want)
{
    char buf[256];
    strcpy(buf, in);
    size_t n = path_normalize(buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_normalize(void **st)
{
    (void)st;
    norm("/", "/");
    norm("//", "/");
    norm("///", "/");
    norm("/.", "/");
    norm("/./", "/");
    norm("/a", "/a");
    norm("/a/", "/a");
    norm("//a//b//", "/a/b");
    norm("/a/./b/.", "/a/b");
    norm("/./a/././b", "/a/b");
    norm("/a/../b", "/a/../b");   /* ".." is not resolved */
    norm("/a/.b/..c/...", "/a/.b/..c/...");
    norm("a/./b/", "a/b");
    norm("./a", "a");
    norm("./", ".");
    norm(".", ".");
    norm("", "");

    /* A very long component survives untouched. */
    size_t L = 10000;
    char *big = malloc(L + 8);
    strcpy(big, "//./");
    memset(big + 4, 'z', L);
    strcpy(big + 4 + L, "/./");
    assert_int_equal(path_normalize(big), L + 1);
    assert_int_equal(big[0], '/');
    assert_int_equal(big[1], 'z');
    assert_int_equal(big[L], 'z');
    char *r = path_resolve_dotdot(big);
    assert_string_equal(r, big);
    free(r);
    strcpy(big + 1 + L, "/..");
    r = path_resolve_dotdot(big);
    assert_string_equal(r, "/");
    free(r);
    free(big);
}

static void res(const char *in, const char *want)
{
    char *r = path_resolve_dotdot(in);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

static void test_resolve_dotdot(void **st)
{
    (void)st;
    res("/", "/");
    res("/..", "/");
    res("/../..", "/");
    res("/../a", "/a");
    res("/a/..", "/");
    res("/a/b/..", "/a");
    res("/a/b/../c", "/a/c");
    res("/a/../../..", "/");
    res("/a/b/c/../../d", "/a/d");
    res("//a//.//b/../", "/a");
    res("/a/..b/c", "/a/..b/c");  /* "..b" is a name */
    res("/a/.../..", "/a");
    res("a/../..", "..");
    res("a/../../b", "../b");
    res("../../a/..", "../..");
    res("a/..", ".");
    res("..", "..");
    res(".", ".");
    res("", ".");
}

static bool safe(const char *k)
{
    return path_key_is_safe(k, strlen(k));
}

static void test_key_is_safe(void **st)
{
    (void)st;
    assert_true(safe(""));
    assert_true(safe("/a"));
    assert_true(safe("/a/b/c.txt"));
    assert_true(safe("/.hidden"));
    assert_true(safe("/..a/b.."));
    assert_true(safe("/a\\b"));          /* '\' is an ordinary byte */
    assert_true(safe("/\xff\xfe"));      /* bytes are fine */
    assert_false(safe("/"));
    assert_false(safe("a/b"));
    assert_false(safe("/a/"));
    assert_false(safe("//a"));
    assert_false(safe("/a//b"));
    assert_false(safe("/."));
    assert_false(safe("/.."));
    assert_false(safe("/a/.."));
    assert_false(safe("/a/../b"));
    assert_false(safe("/a/./b"));
    assert_false(safe(".."));
    assert_false(safe("a/../.."));
    assert_false(path_key_is_safe("/a\0b", 4)); /* embedded NUL */
    assert_true(path_key_is_safe("/ab\0", 3));  /* only len bytes count */

    char comp[300];
    memset(comp, 'x', sizeof comp);
    comp[0] = '/';
    assert_true(path_key_is_safe(comp, 1 + 255));
    assert_false(path_key_is_safe(comp, 1 + 256));
    /* Whole key: 4096 ok, 4097 not. */
    char *k = malloc(PATH_KEY_MAX + 2);
    for (size_t i = 0; i < PATH_KEY_MAX + 1; i++)
        k[i] = i % 100 == 0 ? '/' : 'y';
    assert_true(path_key_is_safe(k, PATH_KEY_MAX));
    assert_false(path_key_is_safe(k, PATH_KEY_MAX + 1));
    free(k);
}

static void join(const char *b, const char *k, const char *want)
{
    char *r = path_join(b, k);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

static void test_join(void **st)
{
    (void)st;
    join("/t", "/a/b", "/t/a/b");
    join("/", "/a", "/a");
    join("/t", "", "/t");
    join("/", "", "/");
    join("/t/", "/a", "/t/a");
    join("/t//", "/a", "/t/a");
    join("//", "/a", "/a");
    join("/t", "a", "/t/a");
    join("/", "a", "/a");
    join("t", "/a", "t/a");
    join("", "/a", "/a");
    join("", "", "");
}

static void parent(const char *p, const char *want)
{
    char *r = path_parent(p);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

static void test_parent_basename(void **st)
{
    (void)st;
    parent("/a/b", "/a");
    parent("/a", "/");
    parent("/", "/");
    parent("//", "/");
    parent("/a/b/", "/a");
    parent("/a//b", "/a");
    parent("//a", "/");
    parent("/a/b/c", "/a/b");
    parent("a/b", "a");
    parent("a", ".");
    parent("", ".");
    parent("/a/..", "/a");        /* lexical only */

    assert_string_equal(path_basename("/a/b"), "b");
    assert_string_equal(path_basename("/a"), "a");
    assert_string_equal(path_basename("/"), "");
    assert_string_equal(path_basename("a"), "a");
    assert_string_equal(path_basename(""), "");
    assert_string_equal(path_basename("/a/"), "");
    const char *p = "/x/y/z";
    assert_ptr_equal(path_basename(p), p + 5);
}

static void test_is_within(void **st)
{
    (void)st;
    assert_true(path_is_within("/a", "/a"));
    assert_true(path_is_within("/a/b", "/a"));
    assert_true(path_is_within("/a/b/c", "/a"));
    assert_false(path_is_within("/ab", "/a"));
    assert_false(path_is_within("/a", "/a/b"));
    assert_false(path_is_within("/b", "/a"));
    assert_true(path_is_within("/", "/"));
    assert_true(path_is_within("/anything/at/all", "/"));
    assert_true(path_is_within("/a/b", "/a/"));
    assert_true(path_is_within("/a/b/", "/a"));
    assert_true(path_is_within("//a//b", "/a"));
    /* Hostile: ".." must not escape by string prefix. */
    assert_false(path_is_within("/a/../b", "/a"));
    assert_false(path_is_within("/a/..", "/a"));
    assert_true(path_is_within("/a/b/..", "/a"));
    assert_true(path_is_within("/x/../a/b", "/a"));
    assert_false(path_is_within("/a/b", "/a/b/../c"));
    assert_true(path_is_within("/a/./b", "/a/."));
    /* Mixed and relative. */
    assert_false(path_is_within("a/b", "/a"));
    assert_false(path_is_within("/a/b", "a"));
    assert_true(path_is_within("a/b", "a"));
    assert_false(path_is_within("ab", "a"));
    assert_true(path_is_within("a", "."));
    assert_false(path_is_within("../a", "."));
    assert_false(path_is_within("a/../..", "."));
    assert_true(path_is_within("../a", ".."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_resolve_dotdot),
        cmocka_unit_test(test_key_is_safe),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_parent_basename),
        cmocka_unit_test(test_is_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

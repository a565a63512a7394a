/* test_glob.c - Hadoop glob syntax: magic detection, brace expansion
 * (GlobExpander examples), per-component matching, malformed patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "util/glob.h"

static bool m(const char *pat, const char *name)
{
    struct glob *g = NULL;
    struct errinfo ei;
    int rc = glob_compile(pat, &g, &ei);
    if (rc != ERR_OK)
        fail_msg("compile '%s' failed: %s", pat, ei.msg);
    bool r = glob_match(g, name, strlen(name));
    glob_free(g);
    return r;
}

static void bad(const char *pat, const char *what)
{
    struct glob *g = (struct glob *)1;
    struct errinfo ei;
    err_clear(&ei);
    assert_int_equal(glob_compile(pat, &g, &ei), ERR_INVAL);
    assert_null(g);
    assert_int_equal(ei.code, ERR_INVAL);
    assert_non_null(strstr(ei.msg, pat));
    assert_non_null(strstr(ei.msg, what));
}

static void test_has_magic(void **st)
{
    (void)st;
    assert_true(glob_has_magic("a*"));
    assert_true(glob_has_magic("a?"));
    assert_true(glob_has_magic("[ab]"));
    assert_true(glob_has_magic("{a,b}"));
    assert_true(glob_has_magic("x\\*y*"));
    assert_false(glob_has_magic("plain.txt"));
    assert_false(glob_has_magic("a\\*b\\?c\\[d\\{e"));
    assert_false(glob_has_magic("a,b}c"));
    assert_false(glob_has_magic(""));
    assert_false(glob_has_magic("trailing\\"));
}

static void test_unescape(void **st)
{
    (void)st;
    char *s = glob_unescape("a\\*b\\\\c\\d");
    assert_string_equal(s, "a*b\\cd");
    free(s);
    s = glob_unescape("end\\");
    assert_string_equal(s, "end\\");
    free(s);
    s = glob_unescape("");
    assert_string_equal(s, "");
    free(s);
}

static void test_star_question(void **st)
{
    (void)st;
    assert_true(m("*", "anything"));
    assert_true(m("*", ""));
    assert_true(m("*", ".hidden"));          /* Hadoop does not hide dotfiles */
    assert_true(m("?hidden", ".hidden"));
    assert_true(m("*.txt", "a.txt"));
    assert_false(m("*.txt", "a.txtx"));
    assert_false(m("*.txt", "atxt"));        /* '.' is literal */
    assert_true(m("a*b*c", "aXXbYYc"));
    assert_true(m("a*b*c", "abc"));
    assert_false(m("a*b*c", "acb"));
    assert_true(m("a**b", "ab"));
    assert_true(m("???", "abc"));
    assert_false(m("???", "ab"));
    assert_false(m("???", "abcd"));
    assert_false(m("*", "a/b"));             /* never across '/' */
    assert_false(m("a?b", "a/b"));
    assert_true(m("a*", "a\nb"));
    /* Regex characters are literal. */
    assert_true(m("a.b$(c)|d+^e", "a.b$(c)|d+^e"));
    assert_false(m("a.b", "axb"));
    assert_true(m("part-*", "part-00000"));
    assert_false(m("part-*", "Part-00000")); /* case-sensitive */
}

static void test_classes(void **st)
{
    (void)st;
    assert_true(m("[abc]", "b"));
    assert_false(m("[abc]", "d"));
    assert_true(m("[a-z]x", "qx"));
    assert_false(m("[a-z]x", "Qx"));
    assert_true(m("[^a]", "b"));
    assert_false(m("[^a]", "a"));
    assert_true(m("[!a]", "b"));
    assert_false(m("[!a]", "a"));
    assert_false(m("[^a]", "/"));
    assert_true(m("[a!]", "!"));
    assert_true(m("[]]", "]"));
    assert_true(m("[!]]", "x"));
    assert_false(m("[!]]", "]"));
    assert_true(m("[a-]", "-"));
    assert_true(m("[-a]", "-"));
    assert_true(m("[\\]]", "]"));
    assert_true(m("[\\-]", "-"));
    assert_true(m("[*?{,}]", "*"));
    assert_true(m("[*?{,}]", "{"));
    assert_false(m("[*?{,}]", "x"));
    assert_true(m("file[0-9][0-9]", "file42"));
    assert_false(m("file[0-9][0-9]", "file4x"));
    assert_true(m("[a-cx-z]", "y"));
}

static void test_groups(void **st)
{
    (void)st;
    assert_true(m("{a,b}", "a"));
    assert_true(m("{a,b}", "b"));
    assert_false(m("{a,b}", "ab"));
    assert_true(m("{a,b{c,d}}", "bd"));
    assert_true(m("{a,b{c,d}}", "a"));
    assert_false(m("{a,b{c,d}}", "b"));
    assert_true(m("x{a,}y", "xy"));
    assert_true(m("x{a,}y", "xay"));
    assert_true(m("x{}y", "xy"));
    assert_true(m("{*.txt,*.csv}", "r.csv"));
    assert_false(m("{*.txt,*.csv}", "r.json"));
    assert_true(m("{a*,b}{c,d}", "aXXd"));
    assert_true(m("a,b", "a,b"));            /* ',' outside a group */
    assert_true(m("a}b", "a}b"));            /* stray '}' */
    assert_true(m("\\{a,b\\}", "{a,b}"));
    assert_true(m("{a\\,b,c}", "a,b"));
    assert_true(m("2024-{01,02}-[0-3]?", "2024-02-15"));
}

static void test_escapes(void **st)
{
    (void)st;
    assert_true(m("a\\*", "a*"));
    assert_false(m("a\\*", "ab"));
    assert_true(m("\\?", "?"));
    assert_true(m("\\[x]", "[x]"));
    assert_true(m("\\d", "d"));              /* not a digit class */
    assert_false(m("\\d", "1"));
    assert_true(m("a\\\\b", "a\\b"));
}

static void test_utf8_and_bytes(void **st)
{
    (void)st;
    assert_true(m("?", "\xc3\xa9"));              /* one character */
    assert_false(m("??", "\xc3\xa9"));
    assert_true(m("caf?", "caf\xc3\xa9"));
    assert_true(m("[\xc3\xa0-\xc3\xbf]", "\xc3\xa9"));
    assert_true(m("*", "bad\xff\xfe"));           /* not valid UTF-8 */
    assert_true(m("bad??", "bad\xff\xfe"));       /* one byte each */
    assert_true(m("bad\xff*", "bad\xff\xfe"));
    assert_false(m("bad\xfe*", "bad\xff\xfe"));
    assert_false(m("\xc3\xa9", "\xc3"));
    /* A name with an embedded NUL (length-based). */
    struct glob *g;
    assert_int_equal(glob_compile("a?b", &g, NULL), ERR_OK);
    assert_true(glob_match(g, "a\0b", 3));
    assert_false(glob_match(g, "a\0b", 2));
    glob_free(g);
}

static void test_malformed(void **st)
{
    (void)st;
    bad("[abc", "unclosed character class");
    bad("a[", "unclosed character class");
    bad("[]", "unclosed character class");
    bad("[!]", "unclosed character class");
    bad("[z-a]", "range");
    bad("[[:alpha:]]", "'['");
    bad("{a,b", "unclosed group");
    bad("x{a,{b}", "unclosed group");
    bad("abc\\", "missing escaped character");
    bad("[a\\", "missing escaped character");
    struct errinfo ei;
    struct glob *g;
    glob_compile("[z-a]", &g, &ei);
    assert_string_equal(ei.msg, "invalid glob pattern '[z-a]': range end "
                        "below range start at position 1");
}

static void test_no_blowup(void **st)
{
    (void)st;
    /* Backtracking matchers take exponential time here. */
    char name[256];
    memset(name, 'a', 255);
    name[255] = 0;
    assert_false(m("*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
    assert_true(m("*a*a*a*a*a*a*a*a*a*a*a*a*", name));
    assert_false(m("{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}{a,aa}b", name));
    /* A large pattern (heap-allocated matcher state). */
    char *big = malloc(3001);
    for (int i = 0; i < 1000; i++)
        memcpy(big + 3 * i, "a*?", 3);
    big[3000] = 0;
    char *nm = malloc(3001);
    memset(nm, 'a', 3000);
    nm[3000] = 0;
    assert_true(m(big, nm));
    nm[1500] = 0;
    assert_false(m(big, nm));
    free(big);
    free(nm);
    /* Too long. */
    char *huge = malloc(GLOB_MAX_COMPONENT + 2);
    memset(huge, 'x', GLOB_MAX_COMPONENT + 1);
    huge[GLOB_MAX_COMPONENT + 1] = 0;
    struct glob *g = NULL;
    assert_int_equal(glob_compile(huge, &g, NULL), ERR_TOO_LONG);
    assert_null(g);
    free(huge);
}

static void expect(const char *pat, size_t n, const char *const *want)
{
    char **v = NULL;
    size_t got = 0;
    struct errinfo ei;
    int rc = glob_expand_braces(pat, &v, &got, &ei);
    if (rc)
        fail_msg("expand '%s': %s", pat, ei.msg);
    if (got != n) {
        for (size_t i = 0; i < got; i++)
            print_message("  got[%zu] = %s\n", i, v[i]);
        fail_msg("expand '%s': %zu results, want %zu", pat, got, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i], want[i]);
    glob_strv_free(v, got);
}

#define EXPECT(pat, ...)                                                    \
    do {                                                                    \
        const char *const w_[] = {__VA_ARGS__};                             \
        expect(pat, sizeof w_ / sizeof w_[0], w_);                          \
    } while (0)

static void test_expand(void **st)
{
    (void)st;
    /* Hadoop GlobExpander's documented examples. */
    EXPECT("{a/b}", "a/b");
    EXPECT("/}{a/b}", "/}a/b");
    EXPECT("p{a/b,c/d}s", "pa/bs", "pc/ds");
    EXPECT("{a/b,c/d,{e,f}}", "a/b", "c/d", "{e,f}");
    EXPECT("{a/b,c/d}{e,f}", "a/b{e,f}", "c/d{e,f}");
    EXPECT("{a,b}/{b,{c/d,e/f}}", "{a,b}/b", "{a,b}/c/d", "{a,b}/e/f");
    /* Hadoop drops the escape here ("{a,b}/c/d"); we keep it. */
    EXPECT("{a,b}/{c/\\d}", "{a,b}/c/\\d");
    /* Ours. */
    EXPECT("/x/{a/b,c}", "/x/a/b", "/x/c");
    EXPECT("/plain/path", "/plain/path");
    EXPECT("/x/{a,b}/y", "/x/{a,b}/y");
    EXPECT("/{a/{b/c,d},e}/f", "/a/b/c/f", "/a/d/f", "/e/f");
    EXPECT("/{a/1,b/2}/{c/3,d/4}", "/a/1/c/3", "/a/1/d/4", "/b/2/c/3",
           "/b/2/d/4");
    EXPECT("/x/{a\\,b/c,d/e}", "/x/a\\,b/c", "/x/d/e");
    EXPECT("/x/{a/\\*,b}", "/x/a/\\*", "/x/b");
    EXPECT("/x/{[,]/a,b/c}", "/x/[,]/a", "/x/b/c");
    EXPECT("/x/[{]", "/x/[{]");
    EXPECT("/x/{a/,}", "/x/a/", "/x/");
    EXPECT("", "");
    EXPECT("{/}", "/");
    EXPECT("/x/{}", "/x/{}");
    EXPECT("/x/{a/b}}", "/x/a/b}");
    EXPECT("/a\\{b/c,d}", "/a\\{b/c,d}");  /* escaped '{' is no group */
}

static void test_expand_errors(void **st)
{
    (void)st;
    char **v = (char **)1;
    size_t n = 7;
    struct errinfo ei;
    assert_int_equal(glob_expand_braces("/x/{a/b", &v, &n, &ei), ERR_INVAL);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_non_null(strstr(ei.msg, "'/x/{a/b'"));
    assert_non_null(strstr(ei.msg, "unclosed group"));
    assert_int_equal(glob_expand_braces("/x/a\\", &v, &n, &ei), ERR_INVAL);
    assert_non_null(strstr(ei.msg, "missing escaped character"));
    /* 2^14 = 16384 results > GLOB_MAX_EXPANSIONS */
    char pat[512] = "";
    for (int i = 0; i < 14; i++)
        strcat(pat, "/{a/x,b/y}");
    assert_int_equal(glob_expand_braces(pat, &v, &n, &ei), ERR_LIMIT);
    assert_null(v);
    /* 2^13 = 8192 results: fine. */
    pat[0] = 0;
    for (int i = 0; i < 13; i++)
        strcat(pat, "/{a/x,b/y}");
    assert_int_equal(glob_expand_braces(pat, &v, &n, &ei), ERR_OK);
    assert_int_equal(n, 8192);
    assert_string_equal(v[0], "/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x/a/x");
    glob_strv_free(v, n);
    glob_strv_free(NULL, 0);
    /* Few patterns but many bytes: 8192 x 60 KiB would be 480 MiB. */
    size_t L = 60 * 1024;
    char *big = malloc(L + 200);
    big[0] = 0;
    for (int i = 0; i < 13; i++)
        strcat(big, "/{a/x,b/y}");
    size_t off = strlen(big);
    memset(big + off, 'q', L);
    big[off + L] = 0;
    v = (char **)1;
    assert_int_equal(glob_expand_braces(big, &v, &n, &ei), ERR_LIMIT);
    assert_null(v);
    /* Over the pattern cap. */
    char *huge = malloc(GLOB_MAX_PATTERN + 2);
    memset(huge, 'x', GLOB_MAX_PATTERN + 1);
    huge[GLOB_MAX_PATTERN + 1] = 0;
    assert_int_equal(glob_expand_braces(huge, &v, &n, &ei), ERR_TOO_LONG);
    free(huge);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_has_magic),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_star_question),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8_and_bytes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_no_blowup),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_expand_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

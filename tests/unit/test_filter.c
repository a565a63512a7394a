/* test_filter.c - -filters semantics: whole-string matches, the Hadoop
 * TestRegexCopyFilter example, files (line ends, empty lines, errors, caps),
 * bytes that are not UTF-8, and many threads on one filter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/filter.h"

static char tmpdir[] = "/tmp/test_filter.XXXXXX";

static bool ex(const struct filter *f, const char *s)
{
    return filter_excludes(f, s, strlen(s));
}

/* Write `data` (len bytes) to tmpdir/name; returns a static path. */
static const char *write_file(const char *name, const char *data, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

static struct filter *with(const char *const *pats, size_t n)
{
    struct filter *f = filter_new();
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        struct errinfo ei;
        if (filter_add(f, pats[i], &ei) != ERR_OK)
            fail_msg("filter_add '%s': %s", pats[i], ei.msg);
    }
    return f;
}

static void test_hadoop_example(void **st)
{
    (void)st;
    const char *pats[] = {".*test.*", "/user/b.*", ".*_SUCCESS"};
    struct filter *f = with(pats, 3);
    assert_int_equal(filter_count(f), 3);
    assert_true(ex(f, "/user/bar"));
    assert_true(ex(f, "/user/foo/_SUCCESS"));
    assert_true(ex(f, "/hive/test_data"));
    assert_true(ex(f, "test"));
    assert_false(ex(f, "/user/foo/bar"));
    assert_false(ex(f, "/mapred/.staging_job"));
    filter_free(f);

    const char *user[] = {"user"};
    f = with(user, 1);
    assert_false(ex(f, "/user/bar"));
    assert_false(ex(f, "/user/foo/_SUCCESS"));
    assert_false(ex(f, "/hive/test_data"));
    assert_false(ex(f, "test"));
    assert_false(ex(f, "/user/foo/bar"));
    assert_false(ex(f, "/mapred/.staging_job"));
    assert_true(ex(f, "user"));
    filter_free(f);

    const char *all[] = {".*"};
    f = with(all, 1);
    assert_true(ex(f, "/user/bar"));
    assert_true(ex(f, "/mapred/.staging_job"));
    assert_true(ex(f, "test"));
    assert_true(ex(f, ""));
    filter_free(f);
}

static void test_full_match_semantics(void **st)
{
    (void)st;
    const char *alt[] = {"a|ab"}; /* must backtrack into the alternation */
    struct filter *f = with(alt, 1);
    assert_true(ex(f, "ab"));
    assert_true(ex(f, "a"));
    assert_false(ex(f, "abc"));
    assert_false(ex(f, "xab"));
    filter_free(f);

    const char *sub[] = {".*/tmpdir"};
    f = with(sub, 1);
    assert_true(ex(f, "file:/src/tmpdir"));
    assert_false(ex(f, "file:/src/tmpdir/f")); /* does not prune children */
    filter_free(f);

    const char *tree[] = {".*/tmpdir(/.*)?"};
    f = with(tree, 1);
    assert_true(ex(f, "/src/tmpdir"));
    assert_true(ex(f, "/src/tmpdir/f"));
    assert_false(ex(f, "/src/tmpdir2"));
    filter_free(f);

    /* Java-isms: \uXXXX, possessive, \Q..\E, '.' not matching newline. */
    const char *java[] = {".*\\u00e9t\\u00e9", "a++b", "\\Q/x.y\\E"};
    f = with(java, 3);
    assert_true(ex(f, "/data/\xc3\xa9t\xc3\xa9"));
    assert_true(ex(f, "aaab"));
    assert_true(ex(f, "/x.y"));
    assert_false(ex(f, "/xzy"));
    filter_free(f);

    const char *dot[] = {".*"};
    f = with(dot, 1);
    assert_false(ex(f, "/a\nb"));
    filter_free(f);
    const char *dots[] = {"(?s).*"};
    f = with(dots, 1);
    assert_true(ex(f, "/a\nb"));
    filter_free(f);

    /* Empty filter and NULL. */
    f = filter_new();
    assert_int_equal(filter_count(f), 0);
    assert_false(ex(f, "/a"));
    filter_free(f);
    assert_false(filter_excludes(NULL, "/a", 2));
    assert_int_equal(filter_count(NULL), 0);
    filter_free(NULL);
}

static void test_utf8(void **st)
{
    (void)st;
    /* '.' is one character in a valid UTF-8 path. */
    const char *one[] = {"/caf.", "/[\xc3\xa9\xc3\xa8]x"};
    struct filter *f = with(one, 2);
    assert_true(ex(f, "/caf\xc3\xa9"));
    assert_true(ex(f, "/\xc3\xa8x"));
    assert_false(ex(f, "/ax"));
    /* An invalid path is matched byte-wise: the class is then a set of
     * bytes, so the stray 0xc3 matches. Documented, and harmless. */
    assert_true(ex(f, "/\xc3x"));
    filter_free(f);

    /* Invalid UTF-8 paths do not fail and are matched byte-wise. */
    const char *pats[] = {".*test.*", "/bad.."};
    f = with(pats, 2);
    assert_true(ex(f, "/a/\xff\xfe/test"));
    assert_false(ex(f, "/a/\xff\xfe/keep"));
    assert_true(ex(f, "/bad\xff\xfe"));
    assert_false(ex(f, "/bad\xc3\xa9"));      /* valid: one char, not two */
    assert_true(ex(f, "/bad\xc3\xa9x"));
    assert_false(ex(f, "/bad\xc3"));           /* invalid: one byte only */
    assert_true(ex(f, "/x\xc0\xafy/test"));    /* overlong encoding */
    assert_true(ex(f, "/\xed\xa0\x80test"));   /* surrogate */
    filter_free(f);

    const char *all[] = {".*"};
    f = with(all, 1);
    assert_true(ex(f, "/\xff"));
    assert_true(filter_excludes(f, "/a\0b", 4)); /* embedded NUL */
    filter_free(f);

    /* A regex that is itself not UTF-8 matches those bytes. */
    const char *raw[] = {".*\xff.*"};
    f = with(raw, 1);
    assert_true(ex(f, "/a\xff"));
    assert_false(ex(f, "/a\xc3\xbf")); /* U+00FF is not the byte 0xff */
    filter_free(f);

    /* Compiles only in UTF mode: still used for invalid subjects. */
    const char *wide[] = {".*\\x{100}.*"};
    f = with(wide, 1);
    assert_true(ex(f, "/\xc4\x80"));
    assert_false(ex(f, "/\xff"));
    filter_free(f);
}

static void test_bad_regex(void **st)
{
    (void)st;
    struct filter *f = filter_new();
    struct errinfo ei;
    assert_int_equal(filter_add(f, "/ok.*", &ei), ERR_OK);
    assert_int_equal(filter_add(f, "a(b", &ei), ERR_BAD_REGEX);
    assert_int_equal(ei.code, ERR_BAD_REGEX);
    assert_string_equal(ei.msg, "invalid filter regex 'a(b': missing closing "
                        "parenthesis at offset 3");
    assert_int_equal(filter_add(f, "[z-a]", &ei), ERR_BAD_REGEX);
    assert_non_null(strstr(ei.msg, "'[z-a]'"));
    assert_int_equal(filter_add(f, "*x", &ei), ERR_BAD_REGEX);
    assert_int_equal(filter_count(f), 1);
    assert_true(ex(f, "/ok/x"));
    filter_free(f);
}

static void test_file(void **st)
{
    (void)st;
    struct filter *f = filter_new();
    struct errinfo ei;
    const char text[] = "\xef\xbb\xbf.*test.*\r\n/user/b.*\n\n.*_SUCCESS\r"
                        ".*\\.tmp";
    const char *p = write_file("f1", text, sizeof text - 1);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_OK);
    assert_int_equal(filter_count(f), 5); /* the empty line counts */
    assert_true(ex(f, "/user/bar"));
    assert_true(ex(f, "/user/foo/_SUCCESS"));
    assert_true(ex(f, "/hive/test_data"));
    assert_true(ex(f, "test"));   /* BOM skipped: line 1 works */
    assert_true(ex(f, "/a/b.tmp"));
    assert_false(ex(f, "/user/foo/bar"));
    assert_false(ex(f, "/mapred/.staging_job"));
    assert_true(ex(f, ""));       /* only the empty pattern matches "" */
    filter_free(f);

    /* Trailing newline does not add an empty pattern; empty file is fine. */
    f = filter_new();
    p = write_file("f2", "a\nb\n", 4);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_OK);
    assert_int_equal(filter_count(f), 2);
    assert_false(ex(f, ""));
    p = write_file("f3", "", 0);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_OK);
    assert_int_equal(filter_count(f), 2);
    filter_free(f);
}

static void test_file_errors(void **st)
{
    (void)st;
    struct filter *f = filter_new();
    struct errinfo ei;
    char path[600];

    snprintf(path, sizeof path, "%s/missing", tmpdir);
    assert_int_equal(filter_load_file(f, path, &ei), ERR_NOT_FOUND);
    char want[700];
    snprintf(want, sizeof want, "cannot read filters file '%s': No such file "
             "or directory", path);
    assert_string_equal(ei.msg, want);

    if (geteuid() != 0) { /* root reads anything */
        const char *p = write_file("noperm", "x\n", 2);
        chmod(p, 0);
        assert_int_equal(filter_load_file(f, p, &ei), ERR_ACCESS);
    }

    assert_int_not_equal(filter_load_file(f, tmpdir, &ei), ERR_OK);
    assert_non_null(strstr(ei.msg, "cannot read filters file"));

    /* A bad line: all or nothing, and the message names the line. */
    assert_int_equal(filter_add(f, "keep", &ei), ERR_OK);
    const char *p = write_file("bad", "good.*\nalso\n(unclosed\n", 23);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_BAD_REGEX);
    assert_non_null(strstr(ei.msg, "invalid filter regex '(unclosed' (line 3 of"));
    assert_non_null(strstr(ei.msg, "at offset 9"));
    assert_int_equal(filter_count(f), 1);
    assert_false(ex(f, "good1"));

    /* Caps: bytes, then patterns. */
    size_t big = FILTER_MAX_FILE_BYTES + 1;
    char *buf = malloc(big);
    memset(buf, 'x', big);
    p = write_file("big", buf, big);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_LIMIT);
    /* Exactly 1 MiB is fine: 9039 lines of 115 'x' + '\n', then 52 'x'. */
    for (size_t i = 115; i < big - 1; i += 116)
        buf[i] = '\n';
    p = write_file("exact", buf, big - 1);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_OK);
    assert_int_equal(filter_count(f), 1 + 9040);
    filter_free(f);
    f = filter_new();
    assert_int_equal(filter_add(f, "keep", &ei), ERR_OK);
    /* PCRE2 itself refuses a huge single regex (too large to compile). */
    memset(buf, 'x', big);
    p = write_file("huge", buf, big - 1);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_BAD_REGEX);
    assert_non_null(strstr(ei.msg, "(line 1 of"));
    size_t len = 0;
    for (int i = 0; i < FILTER_MAX_PATTERNS; i++)
        len += (size_t)sprintf(buf + len, "p%d\n", i);
    p = write_file("many", buf, len);
    assert_int_equal(filter_load_file(f, p, &ei), ERR_LIMIT);
    assert_int_equal(filter_count(f), 1);
    assert_non_null(strstr(ei.msg, "more than 10000"));
    filter_free(f);
    f = filter_new();
    assert_int_equal(filter_load_file(f, p, &ei), ERR_OK);
    assert_int_equal(filter_count(f), FILTER_MAX_PATTERNS);
    assert_true(ex(f, "p9999"));
    assert_false(ex(f, "p10000"));
    assert_int_equal(filter_add(f, "one-more", &ei), ERR_LIMIT);
    filter_free(f);
    free(buf);
}

struct thr {
    const struct filter *f;
    int id;
    long hits, misses, wrong;
};

static void *worker(void *arg)
{
    struct thr *t = arg;
    char path[128];
    for (int i = 0; i < 50000; i++) {
        int kind = (i + t->id) % 4;
        bool want;
        switch (kind) {
        case 0:
            snprintf(path, sizeof path, "/data/t%d/part-%05d.tmp", t->id, i);
            want = true;
            break;
        case 1:
            snprintf(path, sizeof path, "/data/t%d/_SUCCESS", t->id);
            want = true;
            break;
        case 2:
            snprintf(path, sizeof path, "/data/t%d/\xff\xfe/%d.tmp", t->id, i);
            want = true;
            break;
        default:
            snprintf(path, sizeof path, "/data/t%d/part-%05d", t->id, i);
            want = false;
            break;
        }
        bool got = filter_excludes(t->f, path, strlen(path));
        if (got != want)
            t->wrong++;
        if (got)
            t->hits++;
        else
            t->misses++;
    }
    return NULL;
}

static void test_threads(void **st)
{
    (void)st;
    const char *pats[] = {".*\\.tmp", ".*/_SUCCESS", "/never/.*",
                          "(a|aa)+b", ".*/\\.staging(/.*)?"};
    struct filter *f = with(pats, 5);
    pthread_t tid[4];
    struct thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){.f = f, .id = i};
        assert_int_equal(pthread_create(&tid[i], NULL, worker, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(t[i].wrong, 0);
        assert_int_equal(t[i].hits + t[i].misses, 50000);
        assert_int_equal(t[i].misses, 12500);
    }
    filter_free(f);
}

static void test_pathological(void **st)
{
    (void)st;
    /* Catastrophic backtracking: must return (kept), not hang or crash. */
    const char *pats[] = {"(a+)+b"};
    struct filter *f = with(pats, 1);
    char s[64];
    memset(s, 'a', 40);
    s[40] = 0;
    assert_false(ex(f, s));
    filter_free(f);
}

static int setup(void **st)
{
    (void)st;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hadoop_example),
        cmocka_unit_test(test_full_match_semantics),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_bad_regex),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_pathological),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

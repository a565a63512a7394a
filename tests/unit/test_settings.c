/* test_settings.c - the one settings table (src/util/settings.c,
 * docs/settings.md): it is complete (every environment variable and -D key
 * the sources read has a row), docs/settings.md holds it as the program
 * prints it, and the engine's settings resolve in the documented order
 * (docs/settings.md §1): option given, -D, environment, default; a given
 * option equal to Hadoop's default is still given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "engine/options.h"
#include "util/settings.h"

/* The repository root, from this file's path (CMake compiles with absolute paths). */
static void repo_root(char *buf, size_t n)
{
    snprintf(buf, n, "%s", __FILE__);
    for (int i = 0; i < 3; i++) {
        char *s = strrchr(buf, '/');
        assert_non_null(s);
        *s = 0;
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *t = NULL;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    t = calloc((size_t)n + 1, 1);
    if (t && fread(t, 1, (size_t)n, f) != (size_t)n) {
        free(t);
        t = NULL;
    }
    fclose(f);
    return t;
}

static bool has_env(const char *name)
{
    size_t n;
    const struct setting *t = settings_all(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < SETTING_MAX_ENV && t[i].env[k]; k++)
            if (!strcmp(t[i].env[k], name))
                return true;
    return false;
}

static bool has_key(const char *key)
{
    size_t n;
    const struct setting *t = settings_all(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].key && !strcmp(t[i].key, key))
            return true;
    return false;
}

/* ---- the scan of src/ */

static regex_t re_env, re_envlit, re_key;
static int missing;
static size_t scanned_names;

static void scan_text(const char *path, const char *text)
{
    const regex_t *res[] = {&re_env, &re_envlit, &re_key};
    for (size_t r = 0; r < 3; r++) {
        const char *p = text;
        regmatch_t m[2];
        while (regexec(res[r], p, 2, m, 0) == 0) {
            char name[128];
            int len = (int)(m[1].rm_eo - m[1].rm_so);
            snprintf(name, sizeof name, "%.*s", len, p + m[1].rm_so);
            p += m[0].rm_eo;
            /* the test build's own switches are not settings (scripts/check-layers.sh) */
            if (!strncmp(name, "DISTCP_TEST_", 12))
                continue;
            scanned_names++;
            if (r == 2 ? !has_key(name) : !has_env(name)) {
                fprintf(stderr, "%s: '%s' is read but has no row in src/util/settings.c\n", path, name);
                missing++;
            }
        }
    }
}

static int scan_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t l = strlen(path);
    /* the test build's own files (scripts/check-layers.sh): their switches
     * are not settings of the product */
    if (strstr(path, "/src/testing/") || strstr(path, "/src/backend/mem/") ||
        strstr(path, "/src/backend/faulty/"))
        return 0;
    if (flag != FTW_F || l < 3 || (strcmp(path + l - 2, ".c") && strcmp(path + l - 2, ".h")))
        return 0;
    char *t = slurp(path);
    if (t)
        scan_text(path, t);
    free(t);
    return 0;
}

/* Every getenv("X") / env("X") name, every "DISTCP_*"/"AWS_*"/"HADOOP_*"
 * literal and every -D key literal ("distcp.*", "fs.*", "dfs.*", "hadoop.*")
 * in src/ has a row. */
static void test_table_complete(void **state)
{
    (void)state;
    char root[4096], src[4200];
    repo_root(root, sizeof root);
    snprintf(src, sizeof src, "%s/src", root);
    assert_int_equal(regcomp(&re_env, "env\\(\"([A-Za-z_][A-Za-z0-9_]*)\"\\)", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&re_envlit, "\"((DISTCP|AWS|HADOOP)_[A-Z0-9_]+)\"", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&re_key, "\"((distcp|fs|dfs|hadoop)\\.[A-Za-z0-9._-]+)\"", REG_EXTENDED), 0);
    missing = 0;
    scanned_names = 0;
    assert_int_equal(nftw(src, scan_file, 16, FTW_PHYS), 0);
    regfree(&re_env);
    regfree(&re_envlit);
    regfree(&re_key);
    assert_true(scanned_names > 50);   /* the scan saw the sources */
    assert_int_equal(missing, 0);
}

/* Each row is whole: its id is its index, it names something to set, it has
 * a default and a meaning; keys and variables appear once. */
static void test_rows(void **state)
{
    (void)state;
    size_t n;
    const struct setting *t = settings_all(&n);
    assert_int_equal(n, SET__COUNT);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].id, i);
        assert_non_null(t[i].area);
        assert_true(t[i].option || t[i].key || t[i].env[0]);
        assert_true(t[i].dflt && t[i].dflt[0]);
        assert_true(t[i].help && t[i].help[0]);
        assert_ptr_equal(settings_row((enum setting_id)i), &t[i]);
        for (size_t j = 0; j < i; j++) {
            if (t[i].key && t[j].key)
                assert_string_not_equal(t[i].key, t[j].key);
            for (size_t a = 0; a < SETTING_MAX_ENV && t[i].env[a]; a++)
                for (size_t b = 0; b < SETTING_MAX_ENV && t[j].env[b]; b++)
                    assert_string_not_equal(t[i].env[a], t[j].env[b]);
        }
    }
}

/* docs/settings.md holds the table exactly as --help-config=markdown prints it. */
static void test_docs_in_sync(void **state)
{
    (void)state;
    char root[4096], path[4200];
    char *gen = NULL;
    size_t glen = 0;
    FILE *f = open_memstream(&gen, &glen);
    assert_non_null(f);
    settings_print(f, true, NULL, NULL);
    fclose(f);
    repo_root(root, sizeof root);
    snprintf(path, sizeof path, "%s/docs/settings.md", root);
    char *doc = slurp(path);
    assert_non_null(doc);
    if (!strstr(doc, gen)) {
        fprintf(stderr, "docs/settings.md is out of date: replace its table with the output of\n"
                        "  build-test/distcp --help-config=markdown\n");
        fail();
    }
    size_t n;
    const struct setting *t = settings_all(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].key)
            assert_non_null(strstr(doc, t[i].key));
    free(doc);
    free(gen);
}

/* ---- resolution */

static int parse(struct options *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    options_init(o);
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    return cli_parse(argc, argv, o, NULL, 0, NULL);
}

static void test_defaults(void **state)
{
    (void)state;
    struct options o;
    unsetenv("DISTCP_WORKERS");
    unsetenv("DISTCP_SORT_MEM_MB");
    unsetenv("TMPDIR");
    assert_int_equal(parse(&o, (const char *const[]){"/a", "/b", NULL}), CLI_OK);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.copy_buffer, 1u << 20);
    assert_int_equal(o.settings.list_threads, 8);
    assert_true(o.settings.update_mtime);
    assert_int_equal(o.settings.retry_delay_ms, 500);
    assert_false(o.settings.workers_set);
    assert_int_equal(o.settings.sort_mem, 128u << 20);
    assert_string_equal(o.settings.tmpdir, "/tmp");
    assert_int_equal(o.settings.dyn_chunks_tolerable, 400);
    assert_int_equal(o.given, 0);
    options_release(&o);
}

/* Hadoop's default given explicitly is given (issue 12). */
static void test_hadoop_default_is_given(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse(&o, (const char *const[]){"-copybuffersize", "8192", "-numListstatusThreads", "1",
                                                    "/a", "/b", NULL}), CLI_OK);
    assert_true(o.given & OPT_GIVEN(SET_COPY_BUFFER));
    assert_true(o.given & OPT_GIVEN(SET_LIST_THREADS));
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.copy_buffer, 8192);
    assert_int_equal(o.settings.list_threads, 1);
    options_release(&o);
    /* the same through -D */
    assert_int_equal(parse(&o, (const char *const[]){"-D", "distcp.copy.buffer.size=8192", "-D",
                                                    "distcp.liststatus.threads=1", "/a", "/b", NULL}), CLI_OK);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.copy_buffer, 8192);
    assert_int_equal(o.settings.list_threads, 1);
    options_release(&o);
    /* <= 0 is Hadoop's "the default": ours */
    assert_int_equal(parse(&o, (const char *const[]){"-copybuffersize", "0", "-numListstatusThreads", "0",
                                                    "/a", "/b", NULL}), CLI_OK);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.copy_buffer, 1u << 20);
    assert_int_equal(o.settings.list_threads, 8);
    options_release(&o);
    /* -useiterator: one listing thread whatever else was asked */
    assert_int_equal(parse(&o, (const char *const[]){"-useiterator", "-numListstatusThreads", "12",
                                                    "/a", "/b", NULL}), CLI_OK);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.list_threads, 1);
    options_release(&o);
}

/* option > -D > environment > default */
static void test_precedence(void **state)
{
    (void)state;
    struct options o;
    setenv("DISTCP_WORKERS", "3", 1);
    setenv("DISTCP_SORT_MEM_MB", "0", 1);   /* clamped to 1 MiB */
    setenv("TMPDIR", "/var/tmp", 1);
    setenv("DISTCP_CHUNK_MB", "", 1);       /* empty: not set */
    assert_int_equal(parse(&o, (const char *const[]){"-copybuffersize", "4096", "-D", "distcp.copy.buffer.size=65536",
                                                    "-D", "distcp.update.modification.time=false",
                                                    "-D", "distcp.copy.retry.delay.ms=7",
                                                    "-D", "distcp.dynamic.max.chunks.tolerable=9",
                                                    "-D", "dfs.bytes-per-checksum=1024",
                                                    "/a", "/b", NULL}), CLI_OK);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.copy_buffer, 4096);
    assert_false(o.settings.update_mtime);
    assert_int_equal(o.settings.retry_delay_ms, 7);
    assert_int_equal(o.settings.dyn_chunks_tolerable, 9);
    assert_int_equal(o.settings.cksum.bpc, 1024);
    assert_true(o.settings.workers_set);
    assert_int_equal(o.settings.workers, 3);
    assert_int_equal(o.settings.sort_mem, 1u << 20);
    assert_string_equal(o.settings.tmpdir, "/var/tmp");
    assert_int_equal(o.settings.chunk_size, 64u << 20);
    /* resolved once: a later environment does not change the job */
    setenv("DISTCP_WORKERS", "5", 1);
    assert_int_equal(options_resolve(&o), 0);
    assert_int_equal(o.settings.workers, 3);
    options_release(&o);
    unsetenv("DISTCP_WORKERS");
    unsetenv("DISTCP_SORT_MEM_MB");
    unsetenv("TMPDIR");
    unsetenv("DISTCP_CHUNK_MB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_docs_in_sync),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_hadoop_default_is_given),
        cmocka_unit_test(test_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

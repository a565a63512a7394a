/* test_cli.c - the copy command line: spec/distcp.md Part A 1-3 and 6,
 * Part B §1 (syntax, options, validation rules), §11 (-D keys), §12 (exit
 * statuses in the usage text). Each test names the section it checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "engine/options.h"

#define MAXARGS 64

struct run {
    struct options o;
    char err[512];
    char *warn;       /* what cli_parse wrote to `warn` */
    size_t warnlen;
    int rc;
};

/* Parse a NULL-terminated list of arguments into r (r->o is released by done()). */
static int parse_list(struct run *r, const char *const *args)
{
    char *argv[MAXARGS];
    FILE *w;
    int argc = 0;

    options_init(&r->o);
    memset(r->err, 'x', sizeof(r->err)); /* cli_parse must always terminate it */
    r->err[sizeof(r->err) - 1] = '\0';
    while (args[argc]) {
        assert_true(argc < MAXARGS);
        argv[argc] = (char *)args[argc];
        argc++;
    }
    w = open_memstream(&r->warn, &r->warnlen);
    assert_non_null(w);
    r->rc = cli_parse(argc, argv, &r->o, r->err, sizeof(r->err), w);
    fclose(w);
    return r->rc;
}

#define PARSE(r, ...) parse_list((r), (const char *const[]){__VA_ARGS__, NULL})

static void done(struct run *r)
{
    options_release(&r->o);
    free(r->warn);
    r->warn = NULL;
}

/* Expect CLI_ERROR with exactly this message. */
#define EXPECT_ERR(msg, ...)                                       \
    do {                                                           \
        struct run r_;                                             \
        assert_int_equal(PARSE(&r_, __VA_ARGS__), CLI_ERROR);      \
        assert_string_equal(r_.err, (msg));                        \
        done(&r_);                                                 \
    } while (0)

/* Expect CLI_OK. */
#define EXPECT_OK(...)                                             \
    do {                                                           \
        struct run r_;                                             \
        PARSE(&r_, __VA_ARGS__);                                   \
        if (r_.rc != CLI_OK)                                       \
            fail_msg("unexpected error: %s", r_.err);              \
        done(&r_);                                                 \
    } while (0)

static void assert_ok(struct run *r)
{
    if (r->rc != CLI_OK)
        fail_msg("unexpected rc %d: %s", r->rc, r->err);
}

/* ---- options.c ---- */

/* B §1.2 defaults; Part A 6 additions are off. */
static void test_defaults(void **state)
{
    struct options o;
    (void)state;
    options_init(&o);
    assert_int_equal(o.max_maps, 20);
    assert_int_equal(o.strategy, STRATEGY_UNIFORMSIZE);
    assert_null(o.strategy_name);
    assert_true(o.bandwidth_mb == 100.0);
    assert_false(o.bandwidth_set);
    assert_int_equal(o.list_threads, 1);
    assert_int_equal(o.copy_buffer_size, 8192);
    assert_int_equal(o.blocks_per_chunk, 0);
    assert_int_equal(o.max_delete, -1);
    assert_int_equal(o.progress, -1);
    assert_int_equal(o.preserve, 0);
    assert_false(o.update || o.overwrite || o.dry_run || o.json || o.checksum);
    assert_null(o.target);
    assert_int_equal(o.nsources, 0);
    assert_true(o.global_bandwidth_mb == 0);
    options_release(&o);
    options_release(&o); /* twice is harmless */
    options_release(NULL);
}

/* options_release frees every owned string (checked by ASan/LeakSanitizer). */
static void test_release_everything(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-update", "-delete", "--trash", "/tr", "--max-delete", "3", "-log", "/l", "-v",
          "-filters", "/flt", "-xtrack", "/xt", "-strategy", "dynamic", "--exclude", "a",
          "--exclude", "b", "-D", "k=v", "-Dk2=v2", "-D", "distcp.exclude-file-regex=c",
          "-pugp", "/s1", "/s2", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.nexcludes, 3);
    assert_int_equal(r.o.ndefs, 3);
    options_release(&r.o);
    assert_null(r.o.target);
    assert_null(r.o.sources);
    assert_null(r.o.excludes);
    assert_null(r.o.defs);
    assert_int_equal(r.o.max_maps, 20); /* back to the options_init state */
    done(&r);

    /* diff names, -tmp, -f and -rdiff */
    PARSE(&r, "-atomic", "-tmp", "/w", "-f", "/list", "/t");
    assert_ok(&r);
    done(&r);
    PARSE(&r, "-update", "-diff", "s1", "s2", "/s", "/t");
    assert_ok(&r);
    done(&r);
    PARSE(&r, "-update", "-rdiff", "s2", "s1", "/s", "/t");
    assert_ok(&r);
    done(&r);
    /* after a failure, releasing is still complete */
    PARSE(&r, "-D", "a=b", "--exclude", "x", "-m", "bad", "/s", "/t");
    assert_int_equal(r.rc, CLI_ERROR);
    done(&r);
}

/* B §11: the last -D value for a key wins; unknown keys give NULL. */
static void test_options_def(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-D", "fs.s3a.endpoint=http://127.0.0.1:9000", "-Da=1", "-D", "a=2", "/s", "/t");
    assert_ok(&r);
    assert_string_equal(options_def(&r.o, "fs.s3a.endpoint"), "http://127.0.0.1:9000");
    assert_string_equal(options_def(&r.o, "a"), "2");
    assert_int_equal(r.o.ndefs, 3);
    assert_string_equal(r.o.defs[1].value, "1"); /* kept in order */
    assert_null(options_def(&r.o, "b"));
    assert_null(options_def(NULL, "a"));
    assert_null(options_def(&r.o, NULL));
    done(&r);
}

/* ---- B §1.1 syntax, Part A 1 ---- */

/* B §1.1: last positional is the target, the others are sources. */
static void test_sources_and_target(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "/a", "/b", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.nsources, 2);
    assert_string_equal(r.o.sources[0], "/a");
    assert_string_equal(r.o.sources[1], "/b");
    assert_string_equal(r.o.target, "/t");
    assert_null(r.o.source_list);
    done(&r);
}

/* Part A 1: options may stand anywhere among the paths. */
static void test_options_anywhere(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "/a", "/t", "-update", "-m", "5");
    assert_ok(&r);
    assert_true(r.o.update);
    assert_int_equal(r.o.max_maps, 5);
    assert_int_equal(r.o.nsources, 1);
    assert_string_equal(r.o.target, "/t");
    done(&r);

    PARSE(&r, "-update", "/a", "-m", "3", "/b", "-delete", "/t");
    assert_ok(&r);
    assert_true(r.o.delete_missing);
    assert_int_equal(r.o.nsources, 2);
    assert_string_equal(r.o.sources[1], "/b");
    assert_string_equal(r.o.target, "/t");
    done(&r);
}

/* Part A 1: "--" ends options; later tokens are paths even with a dash. */
static void test_double_dash_ends_options(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-update", "--", "-a", "--update", "-t");
    assert_ok(&r);
    assert_true(r.o.update);
    assert_int_equal(r.o.nsources, 2);
    assert_string_equal(r.o.sources[0], "-a");
    assert_string_equal(r.o.sources[1], "--update");
    assert_string_equal(r.o.target, "-t");
    done(&r);

    /* a second "--" is a path */
    PARSE(&r, "--", "--", "/t");
    assert_ok(&r);
    assert_string_equal(r.o.sources[0], "--");
    done(&r);

    /* "--help" after "--" is a path, not help */
    EXPECT_ERR("Neither source file listing nor source paths present", "--", "--help");
}

/* B §1.1: long options take one or two dashes; names are case-sensitive. */
static void test_one_or_two_dashes(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "--update", "--numListstatusThreads", "12", "--m", "4", "--i", "-skipcrccheck",
          "--useiterator", "-direct", "--async", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.update);
    assert_int_equal(r.o.list_threads, 12);
    assert_int_equal(r.o.max_maps, 4);
    assert_true(r.o.ignore_failures);
    assert_true(r.o.skip_crc);
    assert_true(r.o.use_iterator);
    assert_true(r.o.direct);
    assert_true(r.o.async);
    done(&r);

    EXPECT_ERR("Unrecognized option: -Update", "-Update", "/a", "/t");
    EXPECT_ERR("Unrecognized option: --numliststatusthreads", "--numliststatusthreads", "3",
               "/a", "/t");
}

/* B §1.1: values and paths are trimmed of surrounding whitespace. */
static void test_trimming(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "  /a  ", "-m", " 7 ", "-log", "\t/logs ", "-strategy", " dynamic ", " /t\n");
    assert_ok(&r);
    assert_string_equal(r.o.sources[0], "/a");
    assert_string_equal(r.o.target, "/t");
    assert_int_equal(r.o.max_maps, 7);
    assert_string_equal(r.o.log_dir, "/logs");
    assert_string_equal(r.o.strategy_name, "dynamic");
    assert_int_equal(r.o.strategy, STRATEGY_DYNAMIC);
    done(&r);

    /* a path that trims to nothing is Hadoop's empty Path error */
    EXPECT_ERR("Can not create a Path from an empty string", "  ", "/t");
    EXPECT_ERR("Can not create a Path from an empty string", "/a", " ");
    EXPECT_ERR("Can not create a Path from an empty string", "-log", " ", "/a", "/t");
}

/* Part A 2: unknown options are rejected; no "-foo" -> "-f oo" split. */
static void test_unknown_options(void **state)
{
    (void)state;
    EXPECT_ERR("Unrecognized option: -foo", "-foo", "/a", "/t");
    EXPECT_ERR("Unrecognized option: --foo", "/a", "/t", "--foo");
    EXPECT_ERR("Unrecognized option: -xyz", "-xyz", "/a", "/t");
    /* Hadoop splits it into -m apredSslConf (spec B §1.1) */
    EXPECT_ERR("Number of maps is invalid: apredSslConf", "-mapredSslConf", "f", "/a", "/t");
    EXPECT_ERR("Unrecognized option: -5", "/a", "-5", "/t");
    EXPECT_ERR("Unrecognized option: --max-delete=5", "--max-delete=5", "/a", "/t");
    /* unknown options are reported before any other rule */
    EXPECT_ERR("Unrecognized option: -bogus", "-bogus");
}

/* A lone "-" is a path, not an option. */
static void test_lone_dash_is_path(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-", "/t");
    assert_ok(&r);
    assert_string_equal(r.o.sources[0], "-");
    done(&r);
}

/* Part A 2 / B §1.1: attached values only for -m, -p and -D. */
static void test_attached_values(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-m10", "-pugp", "-Dkey=value", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 10);
    assert_int_equal(r.o.preserve, PRESERVE_U | PRESERVE_G | PRESERVE_P);
    assert_string_equal(options_def(&r.o, "key"), "value");
    done(&r);

    PARSE(&r, "-m-5", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 1);
    done(&r);

    EXPECT_ERR("Number of maps is invalid: 1x", "-m1x", "/a", "/t");
    EXPECT_ERR("Unrecognized option: --m10", "--m10", "/a", "/t");
    EXPECT_ERR("Unrecognized option: -ffile", "-ffile", "/t");
    EXPECT_ERR("Unrecognized option: -i5", "-i5", "/a", "/t");
    EXPECT_ERR("Unrecognized option: -logdir", "-logdir", "/a", "/t");
    EXPECT_ERR("Unrecognized option: -update10", "-update10", "/a", "/t");
}

/* Hadoop's CommandLine.getOptionValue: a value option given twice keeps the first. */
static void test_first_value_wins(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-m", "5", "-m", "7", "-log", "/l1", "-log", "/l2", "-pu", "-pg", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 5);
    assert_string_equal(r.o.log_dir, "/l1");
    assert_int_equal(r.o.preserve, PRESERVE_U);
    done(&r);
}

/* ---- -p, B §1.1 rewrite and §1.2 ---- */

/* B §1.1: a bare -p means rbugpct (not a, not x). */
static void test_p_bare(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-p", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.preserve, PRESERVE_R | PRESERVE_B | PRESERVE_U | PRESERVE_G |
                                       PRESERVE_P | PRESERVE_C | PRESERVE_T);
    assert_false(r.o.preserve & (PRESERVE_A | PRESERVE_X));
    done(&r);
}

/* B §1.1: a bare -p never takes the next token: "-p ugp" makes ugp a path. */
static void test_p_separate_token_is_path(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-p", "ugp", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.nsources, 1);
    assert_string_equal(r.o.sources[0], "ugp");
    assert_true(r.o.preserve & PRESERVE_R);
    done(&r);
}

/* B §1.2: letters are case-insensitive and may repeat; every letter maps. */
static void test_p_letters(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-pUgPuu", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.preserve, PRESERVE_U | PRESERVE_G | PRESERVE_P);
    done(&r);
    PARSE(&r, "-prbugpcaxt", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.preserve, PRESERVE_R | PRESERVE_B | PRESERVE_U | PRESERVE_G |
                                       PRESERVE_P | PRESERVE_C | PRESERVE_A | PRESERVE_X |
                                       PRESERVE_T);
    done(&r);
    PARSE(&r, "--p", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.preserve & PRESERVE_T);
    done(&r);
}

/* B §1.3 rule 7: an unknown letter gives "No attribute for x", the letter as given (Hadoop). */
static void test_rule7_p_unknown_letter(void **state)
{
    (void)state;
    EXPECT_ERR("No attribute for z", "-puz", "/a", "/t");
    EXPECT_ERR("No attribute for Q", "-pQ", "/a", "/t");
    EXPECT_ERR("No attribute for 1", "-p1", "/a", "/t");
}

/* ---- -diff / -rdiff ---- */

/* B §1.2 / §9: -diff old new and -rdiff new old. */
static void test_diff_rdiff_names(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-update", "-diff", "s1", "s2", "/s", "/t");
    assert_ok(&r);
    assert_string_equal(r.o.diff_from, "s1");
    assert_string_equal(r.o.diff_to, "s2");
    assert_null(r.o.rdiff_new);
    done(&r);
    PARSE(&r, "/s", "/t", "-update", "-rdiff", " s2 ", "s1");
    assert_ok(&r);
    assert_string_equal(r.o.rdiff_new, "s2");
    assert_string_equal(r.o.rdiff_old, "s1");
    assert_string_equal(r.o.target, "/t");
    done(&r);
}

/* B §1.3 rule 5: "-diff s1 -update" gives one name; blank names too. */
static void test_rule5_snapshot_names(void **state)
{
    (void)state;
    EXPECT_ERR("Must provide both the starting and ending snapshot names",
               "-diff", "s1", "-update", "/s", "/t");
    EXPECT_ERR("Must provide both the starting and ending snapshot names",
               "-update", "-rdiff", "s1", "--", "/s", "/t");
    EXPECT_ERR("Must provide both the starting and ending snapshot names",
               "-update", "-diff", " ", "s2", "/s", "/t");
    EXPECT_ERR("Must provide both the starting and ending snapshot names",
               "-update", "-rdiff", "s2", "", "/s", "/t");
    /* no name at all is a parse error (rule 4), as in commons-cli */
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: diff",
               "/s", "/t", "-update", "-diff");
}

/* ---- B §1.3 rule 4: missing arguments ---- */

static void test_rule4_missing_argument(void **state)
{
    (void)state;
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: m", "/a", "/t", "-m");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: m",
               "-m", "-f", "x", "/t");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: log",
               "-log", "-update", "/a", "/t");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: numListstatusThreads",
               "/a", "/t", "--numListstatusThreads");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: m",
               "-m", "--", "/a", "/t");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: strategy",
               "-strategy", "-m10", "/a", "/t");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: max-delete",
               "-update", "-delete", "/a", "/t", "--max-delete");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: D", "/a", "/t", "-D");
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: filelimit",
               "/a", "/t", "-filelimit");
}

/* Part A 1 / brief: a negative number is a value, not an option. */
static void test_negative_values(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-m", "-5", "-blocksperchunk", "-1", "-copybuffersize", "-3",
          "-numListstatusThreads", "-2", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 1);
    assert_int_equal(r.o.blocks_per_chunk, 0);
    assert_int_equal(r.o.copy_buffer_size, 8192);
    assert_int_equal(r.o.list_threads, 1);
    done(&r);
    EXPECT_ERR("Bandwidth -1.0 is invalid (should be > 0)", "-bandwidth", "-1", "/a", "/t");
    /* an unknown dash token after an option is its value (Hadoop's rule) */
    EXPECT_ERR("Number of maps is invalid: -foo", "-m", "-foo", "/a", "/t");
}

/* ---- numbers, B §1.2 clamps and §1.3 rule 6 ---- */

static void test_number_clamps(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-m", "0", "-numListstatusThreads", "41", "-blocksperchunk", "0",
          "-copybuffersize", "0", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 1);
    assert_int_equal(r.o.list_threads, 40);
    assert_int_equal(r.o.blocks_per_chunk, 0);
    assert_int_equal(r.o.copy_buffer_size, 8192);
    done(&r);
    PARSE(&r, "-m", "+2147483647", "-numListstatusThreads", "0", "-blocksperchunk", "3",
          "-copybuffersize", "65536", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 2147483647);
    assert_int_equal(r.o.list_threads, 1);
    assert_int_equal(r.o.blocks_per_chunk, 3);
    assert_int_equal(r.o.copy_buffer_size, 65536);
    done(&r);
    PARSE(&r, "-m", "-2147483648", "-numListstatusThreads", "40", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_maps, 1);
    assert_int_equal(r.o.list_threads, 40);
    done(&r);
}

static void test_rule6_maps_invalid(void **state)
{
    (void)state;
    EXPECT_ERR("Number of maps is invalid: abc", "-m", "abc", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: 1.5", "-m", "1.5", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: 2147483648", "-m", "2147483648", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: -2147483649", "-m", "-2147483649", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: ", "-m", "", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: +", "-m", "+", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: 1 0", "-m", "1 0", "/a", "/t");
}

static void test_rule6_liststatus_invalid(void **state)
{
    (void)state;
    EXPECT_ERR("Number of liststatus threads is invalid: x",
               "-numListstatusThreads", "x", "/a", "/t");
}

static void test_rule6_blocksperchunk_invalid(void **state)
{
    (void)state;
    EXPECT_ERR("blocksPerChunk is invalid: 1k", "-blocksperchunk", "1k", "/a", "/t");
}

static void test_rule6_copybuffersize_invalid(void **state)
{
    (void)state;
    EXPECT_ERR("copyBufferSize is invalid: 8KB", "-copybuffersize", "8KB", "/a", "/t");
}

/* B §1.2: -bandwidth is a Java float. */
static void test_bandwidth_values(void **state)
{
    static const struct { const char *in; double want; } cases[] = {
        {"1.5", 1.5}, {"10", 10}, {"1e2", 100}, {" 20 ", 20}, {"2.5f", 2.5}, {"3D", 3},
        {".5", 0.5}, {"5.", 5}, {"+7", 7}, {"0x1p3", 8}, {"0x1.8P1", 3}, {"1E-1", 0.1f},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        PARSE(&r, "-bandwidth", cases[i].in, "/a", "/t");
        assert_ok(&r);
        assert_true(r.o.bandwidth_set);
        if (r.o.bandwidth_mb != (double)(float)cases[i].want)
            fail_msg("%s -> %g", cases[i].in, r.o.bandwidth_mb);
        done(&r);
    }
}

/* B §1.3 rule 6: non-number bandwidth. */
static void test_rule6_bandwidth_invalid(void **state)
{
    (void)state;
    EXPECT_ERR("Bandwidth specified is invalid: abc", "-bandwidth", "abc", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: 1e", "-bandwidth", "1e", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: 0x10", "-bandwidth", "0x10", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: .", "-bandwidth", ".", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: 1ff", "-bandwidth", "1ff", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: inf", "-bandwidth", "inf", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: 10MB", "-bandwidth", "10MB", "/a", "/t");
}

/* B §1.3 rule 6: bandwidth <= 0, printed like Java's Float.toString. */
static void test_rule6_bandwidth_not_positive(void **state)
{
    (void)state;
    EXPECT_ERR("Bandwidth 0.0 is invalid (should be > 0)", "-bandwidth", "0", "/a", "/t");
    EXPECT_ERR("Bandwidth -0.0 is invalid (should be > 0)", "-bandwidth", "-0", "/a", "/t");
    EXPECT_ERR("Bandwidth -1.0 is invalid (should be > 0)", "-bandwidth", "-1", "/a", "/t");
    EXPECT_ERR("Bandwidth -0.5 is invalid (should be > 0)", "-bandwidth", "-0.5", "/a", "/t");
    EXPECT_ERR("Bandwidth NaN is invalid (should be > 0)", "-bandwidth", "NaN", "/a", "/t");
    EXPECT_ERR("Bandwidth -Infinity is invalid (should be > 0)",
               "-bandwidth", "-Infinity", "/a", "/t");
    EXPECT_ERR("Bandwidth -100.0 is invalid (should be > 0)", "-bandwidth", "-100", "/a", "/t");
    EXPECT_ERR("Bandwidth -1234.5 is invalid (should be > 0)", "-bandwidth", "-1234.5", "/a", "/t");
    EXPECT_ERR("Bandwidth -0.001 is invalid (should be > 0)", "-bandwidth", "-0.001", "/a", "/t");
    EXPECT_ERR("Bandwidth -1.0E-4 is invalid (should be > 0)", "-bandwidth", "-0.0001", "/a", "/t");
    EXPECT_ERR("Bandwidth -9999999.0 is invalid (should be > 0)",
               "-bandwidth", "-9999999", "/a", "/t");
    EXPECT_ERR("Bandwidth -1.0E7 is invalid (should be > 0)", "-bandwidth", "-1e7", "/a", "/t");
    EXPECT_ERR("Bandwidth -1.5E10 is invalid (should be > 0)", "-bandwidth", "-1.5e10", "/a", "/t");
    EXPECT_ERR("Bandwidth -0.1 is invalid (should be > 0)", "-bandwidth", "-0.1", "/a", "/t");
    EXPECT_ERR("Bandwidth -3.3333333 is invalid (should be > 0)",
               "-bandwidth", "-3.33333333333", "/a", "/t");
    EXPECT_ERR("Bandwidth -123456.79 is invalid (should be > 0)",
               "-bandwidth", "-123456.789", "/a", "/t");
    EXPECT_ERR("Bandwidth 0.0 is invalid (should be > 0)", "-bandwidth", "1e-50", "/a", "/t");
}

/* B §1.2 / §10: -strategy keeps the name; unknown names fall back silently. */
static void test_strategy(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-strategy", "dynamic", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.strategy, STRATEGY_DYNAMIC);
    done(&r);
    PARSE(&r, "-strategy", "static", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.strategy, STRATEGY_UNIFORMSIZE);
    assert_string_equal(r.o.strategy_name, "static");
    done(&r);
    PARSE(&r, "-strategy", "Dynamic", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.strategy, STRATEGY_UNIFORMSIZE);
    done(&r);
}

/* B §1.2: every Hadoop option lands in its field. */
static void test_all_hadoop_options(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-i", "-update", "-append", "-delete", "-updateRoot", "-filters", "/flt",
          "-log", "/l", "-v", "-m", "8", "-bandwidth", "2.5", "-numListstatusThreads", "3",
          "-useiterator", "-blocksperchunk", "4", "-copybuffersize", "1024", "-direct",
          "-xtrack", "/xt", "-async", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.ignore_failures && r.o.update && r.o.delete_missing && r.o.update_root);
    assert_false(r.o.append); /* forced off by -blocksperchunk > 0 */
    assert_true(r.o.preserve & PRESERVE_B);
    assert_string_equal(r.o.filters_file, "/flt");
    assert_string_equal(r.o.log_dir, "/l");
    assert_true(r.o.verbose);
    assert_int_equal(r.o.max_maps, 8);
    assert_true(r.o.bandwidth_mb == 2.5);
    assert_int_equal(r.o.list_threads, 3);
    assert_true(r.o.use_iterator);
    assert_int_equal(r.o.blocks_per_chunk, 4);
    assert_int_equal(r.o.copy_buffer_size, 1024);
    assert_true(r.o.direct);
    assert_string_equal(r.o.xtrack_dir, "/xt");
    assert_true(r.o.async);
    assert_false(r.o.overwrite || r.o.atomic || r.o.skip_crc);
    done(&r);

    PARSE(&r, "-overwrite", "-atomic", "-tmp", "/work", "-skipcrccheck", "-f", "hdfs://nn/list",
          "/t");
    assert_ok(&r);
    assert_true(r.o.overwrite && r.o.atomic && r.o.skip_crc);
    assert_string_equal(r.o.tmp_dir, "/work");
    assert_string_equal(r.o.source_list, "hdfs://nn/list");
    assert_int_equal(r.o.nsources, 0);
    assert_string_equal(r.o.target, "/t");
    done(&r);
}

/* B §1.2: -filelimit/-sizelimit are accepted, ignored, with a warning. */
static void test_deprecated_limits(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-filelimit", "10", "-sizelimit", "abc", "/a", "/t");
    assert_ok(&r);
    assert_non_null(r.warn);
    assert_string_equal(r.warn, "filelimit is a deprecated option. Ignoring.\n"
                                "sizelimit is a deprecated option. Ignoring.\n");
    done(&r);
    /* warn may be NULL */
    {
        struct options o;
        char *argv[] = {"-filelimit", "1", "/a", "/t"};
        char err[128];
        options_init(&o);
        assert_int_equal(cli_parse(4, argv, &o, err, sizeof(err), NULL), CLI_OK);
        options_release(&o);
    }
}

/* ---- B §1.3 rules 1-3 ---- */

static void test_no_arguments(void **state)
{
    struct options o;
    char err[64] = "junk";
    (void)state;
    options_init(&o);
    assert_int_equal(cli_parse(0, NULL, &o, err, sizeof(err), NULL), CLI_ERROR);
    assert_string_equal(err, ""); /* the caller prints only the usage */
    options_release(&o);
}

static void test_rule1_target_missing(void **state)
{
    (void)state;
    EXPECT_ERR("Target path not specified", "-update");
    EXPECT_ERR("Target path not specified", "-f", "/list");
    EXPECT_ERR("Target path not specified", "--");
}

static void test_rule2_list_and_sources(void **state)
{
    (void)state;
    EXPECT_ERR("Both source file listing and source paths present", "-f", "/list", "/a", "/t");
}

static void test_rule3_no_sources(void **state)
{
    (void)state;
    EXPECT_ERR("Neither source file listing nor source paths present", "/t");
    EXPECT_ERR("Neither source file listing nor source paths present", "-update", "/t");
}

/* ---- B §1.3 rules 8-17 (one test each) ---- */

static void test_rule8_delete_with_diff(void **state)
{
    (void)state;
    EXPECT_ERR("-delete and -diff/-rdiff are mutually exclusive. The -delete option will be "
               "ignored.", "-update", "-delete", "-diff", "s1", "s2", "/a", "/t");
    /* checked before rule 11 (no -update) */
    EXPECT_ERR("-delete and -diff/-rdiff are mutually exclusive. The -delete option will be "
               "ignored.", "-diff", "s1", "s2", "-delete", "/a", "/t");
    EXPECT_ERR("-delete and -diff/-rdiff are mutually exclusive. The -delete option will be "
               "ignored.", "-update", "-rdiff", "s2", "s1", "-delete", "/a", "/t");
}

static void test_rule9_tmp_without_atomic(void **state)
{
    (void)state;
    EXPECT_ERR("-tmp work-path can only be specified along with -atomic",
               "-tmp", "/w", "/a", "/t");
}

static void test_rule10_atomic_with_update(void **state)
{
    (void)state;
    EXPECT_ERR("Atomic commit can't be used with sync folder or overwrite options",
               "-atomic", "-update", "/a", "/t");
    EXPECT_OK("-atomic", "-overwrite", "/a", "/t"); /* only -update is checked */
}

static void test_rule11_delete_without_update(void **state)
{
    (void)state;
    EXPECT_ERR("Delete missing is applicable only with update or overwrite options",
               "-delete", "/a", "/t");
    EXPECT_OK("-delete", "-overwrite", "/a", "/t");
    EXPECT_OK("-delete", "-update", "/a", "/t");
}

static void test_rule12_overwrite_and_update(void **state)
{
    (void)state;
    EXPECT_ERR("Overwrite and update options are mutually exclusive",
               "-overwrite", "-update", "/a", "/t");
}

static void test_rule13_append_without_update(void **state)
{
    (void)state;
    EXPECT_ERR("Append is valid only with update options", "-append", "/a", "/t");
    /* -blocksperchunk > 0 turns -append off before validation (B §1.3) */
    EXPECT_OK("-append", "-blocksperchunk", "2", "/a", "/t");
}

static void test_rule14_append_with_skipcrc(void **state)
{
    (void)state;
    EXPECT_ERR("Append is disallowed when skipping CRC",
               "-update", "-append", "-skipcrccheck", "/a", "/t");
}

static void test_rule15_diff_without_update(void **state)
{
    (void)state;
    EXPECT_ERR("-diff/-rdiff is valid only with -update option", "-diff", "s1", "s2", "/a", "/t");
    EXPECT_ERR("-diff/-rdiff is valid only with -update option", "-rdiff", "s2", "s1", "/a", "/t");
}

static void test_rule16_diff_and_rdiff(void **state)
{
    (void)state;
    EXPECT_ERR("-diff and -rdiff are mutually exclusive",
               "-update", "-diff", "s1", "s2", "-rdiff", "s2", "s1", "/a", "/t");
}

static void test_rule17_v_without_log(void **state)
{
    (void)state;
    EXPECT_ERR("-v is valid only with -log option", "-v", "/a", "/t");
}

/* B §1.3 "Not validated (accepted)". */
static void test_accepted_combinations(void **state)
{
    (void)state;
    EXPECT_OK("-skipcrccheck", "/a", "/t");
    EXPECT_OK("-xtrack", "/x", "-atomic", "/a", "/t");
    EXPECT_OK("-updateRoot", "/a", "/t");
    EXPECT_OK("-atomic", "-overwrite", "-delete", "/a", "/t");
}

/* B §1.3: the rules are checked in the listed order. */
static void test_rule_order(void **state)
{
    (void)state;
    /* rules 1-3 before rule 4 */
    EXPECT_ERR("Both source file listing and source paths present",
               "-f", "/l", "/a", "/t", "-m");
    /* rule 4 before 5 */
    EXPECT_ERR("Unable to parse arguments. Missing argument for option: log",
               "/a", "/t", "-diff", "s1", "-log");
    /* rule 5 before 6 */
    EXPECT_ERR("Must provide both the starting and ending snapshot names",
               "-m", "x", "-diff", "s1", "-update", "/a", "/t");
    /* within 6: bandwidth, threads, maps, blocksperchunk, copybuffersize */
    EXPECT_ERR("Bandwidth specified is invalid: b", "-copybuffersize", "c", "-blocksperchunk",
               "k", "-m", "m", "-numListstatusThreads", "n", "-bandwidth", "b", "/a", "/t");
    EXPECT_ERR("Number of liststatus threads is invalid: n", "-copybuffersize", "c",
               "-blocksperchunk", "k", "-m", "m", "-numListstatusThreads", "n", "/a", "/t");
    EXPECT_ERR("Number of maps is invalid: m", "-copybuffersize", "c", "-blocksperchunk", "k",
               "-m", "m", "/a", "/t");
    EXPECT_ERR("blocksPerChunk is invalid: k", "-copybuffersize", "c", "-blocksperchunk", "k",
               "/a", "/t");
    /* rule 6 before 7, 7 before 8-17 */
    EXPECT_ERR("Number of maps is invalid: x", "-pz", "-m", "x", "/a", "/t");
    EXPECT_ERR("No attribute for z", "-pz", "-delete", "/a", "/t");
    /* rule 9 before 10 */
    EXPECT_ERR("-tmp work-path can only be specified along with -atomic",
               "-tmp", "/w", "-update", "-overwrite", "/a", "/t");
    /* rule 10 before 11, 11 before 12 */
    EXPECT_ERR("Atomic commit can't be used with sync folder or overwrite options",
               "-atomic", "-update", "-overwrite", "/a", "/t");
    EXPECT_ERR("Delete missing is applicable only with update or overwrite options",
               "-delete", "-append", "/a", "/t");
    /* rule 12 before 13, 13 before 14 */
    EXPECT_ERR("Overwrite and update options are mutually exclusive",
               "-overwrite", "-update", "-append", "/a", "/t");
    EXPECT_ERR("Append is valid only with update options",
               "-append", "-skipcrccheck", "/a", "/t");
    /* rule 14 before 15, 15 before 16, 16 before 17 */
    EXPECT_ERR("Append is disallowed when skipping CRC", "-update", "-append", "-skipcrccheck",
               "-v", "/a", "/t");
    EXPECT_ERR("-diff/-rdiff is valid only with -update option",
               "-diff", "a", "b", "-rdiff", "b", "a", "/s", "/t");
    EXPECT_ERR("-diff and -rdiff are mutually exclusive",
               "-update", "-diff", "a", "b", "-rdiff", "b", "a", "-v", "/s", "/t");
}

/* ---- -D, B §1.1 and §11 ---- */

static void test_define_forms(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-D", "fs.defaultFS = hdfs://nn ", "-Dx=a=b", "--D", "y=", "/a", "/t");
    assert_ok(&r);
    assert_string_equal(options_def(&r.o, "fs.defaultFS"), "hdfs://nn");
    assert_string_equal(options_def(&r.o, "x"), "a=b");
    assert_string_equal(options_def(&r.o, "y"), "");
    assert_string_equal(r.o.defs[0].key, "fs.defaultFS");
    done(&r);
    EXPECT_ERR("Unable to parse arguments. Invalid -D property: foo", "-D", "foo", "/a", "/t");
    EXPECT_ERR("Unable to parse arguments. Invalid -D property: =v", "-D=v", "/a", "/t");
    EXPECT_ERR("Unable to parse arguments. Invalid -D property: =v", "-D", " =v", "/a", "/t");
}

/* B §11: distcp.* keys act as defaults for the options. */
static void test_define_defaults(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-D", "distcp.copy.buffer.size=65536", "-D", "distcp.liststatus.threads=50",
          "-D", "distcp.map.bandwidth.mb=5.5", "-D", "distcp.filters.file=/f",
          "-D", "distcp.exclude-file-regex=.*tmp.*", "--exclude", "x", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.copy_buffer_size, 65536);
    assert_int_equal(r.o.list_threads, 40);
    assert_true(r.o.bandwidth_mb == 5.5);
    assert_true(r.o.bandwidth_set);
    assert_string_equal(r.o.filters_file, "/f");
    assert_int_equal(r.o.nexcludes, 2);
    assert_string_equal(r.o.excludes[0], "x");
    assert_string_equal(r.o.excludes[1], ".*tmp.*");
    done(&r);

    /* the command-line option wins over the key */
    PARSE(&r, "-copybuffersize", "4096", "-D", "distcp.copy.buffer.size=65536",
          "-numListstatusThreads", "2", "-Ddistcp.liststatus.threads=9", "-bandwidth", "7",
          "-Ddistcp.map.bandwidth.mb=5", "-filters", "/g", "-Ddistcp.filters.file=/f",
          "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.copy_buffer_size, 4096);
    assert_int_equal(r.o.list_threads, 2);
    assert_true(r.o.bandwidth_mb == 7);
    assert_string_equal(r.o.filters_file, "/g");
    done(&r);

    /* clamps apply to keys too */
    PARSE(&r, "-D", "distcp.copy.buffer.size=0", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.copy_buffer_size, 8192);
    done(&r);
}

static void test_define_invalid_numbers(void **state)
{
    (void)state;
    EXPECT_ERR("copyBufferSize is invalid: abc", "-D", "distcp.copy.buffer.size=abc", "/a", "/t");
    EXPECT_ERR("Number of liststatus threads is invalid: 1.5",
               "-D", "distcp.liststatus.threads=1.5", "/a", "/t");
    EXPECT_ERR("Bandwidth specified is invalid: fast",
               "-D", "distcp.map.bandwidth.mb=fast", "/a", "/t");
    EXPECT_ERR("Bandwidth 0.0 is invalid (should be > 0)",
               "-D", "distcp.map.bandwidth.mb=0", "/a", "/t");
}

/* ---- Part A 6 additions ---- */

static void test_parta_flags(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "--dry-run", "--json", "--checksum", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.dry_run && r.o.json && r.o.checksum);
    done(&r);
    PARSE(&r, "-dry-run", "-json", "-checksum", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.dry_run && r.o.json && r.o.checksum);
    done(&r);
}

static void test_parta_progress(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "--progress", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.progress, 1);
    done(&r);
    PARSE(&r, "--progress", "-no-progress", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.progress, 0);
    done(&r);
    PARSE(&r, "--no-progress", "-progress", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.progress, 1);
    done(&r);
}

static void test_parta_excludes(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "--exclude", ".*\\.tmp", "/a", "-exclude", " .*/_SUCCESS ", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.nexcludes, 2);
    assert_string_equal(r.o.excludes[0], ".*\\.tmp");
    assert_string_equal(r.o.excludes[1], ".*/_SUCCESS");
    done(&r);
}

static void test_parta_delete_guard(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "-update", "-delete", "--max-delete", "5", "--trash", " /trash ", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_delete, 5);
    assert_string_equal(r.o.trash_dir, "/trash");
    done(&r);
    PARSE(&r, "-overwrite", "-delete", "-max-delete", "0", "/a", "/t");
    assert_ok(&r);
    assert_int_equal(r.o.max_delete, 0);
    done(&r);
    EXPECT_ERR("max-delete is invalid: -1", "-update", "-delete", "--max-delete", "-1", "/a", "/t");
    EXPECT_ERR("max-delete is invalid: ten", "-update", "-delete", "--max-delete", "ten",
               "/a", "/t");
    EXPECT_ERR("max-delete is invalid: 99999999999999999999", "-update", "-delete",
               "--max-delete", "99999999999999999999", "/a", "/t");
    EXPECT_ERR("--trash/--max-delete are valid only with -delete",
               "-update", "--trash", "/tr", "/a", "/t");
    EXPECT_ERR("--trash/--max-delete are valid only with -delete",
               "--max-delete", "3", "/a", "/t");
}

static void test_parta_global_bandwidth(void **state)
{
    struct run r;
    (void)state;
    PARSE(&r, "--global-bandwidth", "250.5", "/a", "/t");
    assert_ok(&r);
    assert_true(r.o.global_bandwidth_mb == 250.5);
    assert_false(r.o.bandwidth_set);
    done(&r);
    EXPECT_ERR("global-bandwidth is invalid: 0", "--global-bandwidth", "0", "/a", "/t");
    EXPECT_ERR("global-bandwidth is invalid: -2", "--global-bandwidth", "-2", "/a", "/t");
    EXPECT_ERR("global-bandwidth is invalid: x", "--global-bandwidth", "x", "/a", "/t");
    EXPECT_ERR("global-bandwidth is invalid: NaN", "--global-bandwidth", "NaN", "/a", "/t");
    EXPECT_ERR("global-bandwidth is invalid: Infinity", "--global-bandwidth", "Infinity",
               "/a", "/t");
}

/* ---- help and version ---- */

static void test_help_and_version(void **state)
{
    struct run r;
    (void)state;
    assert_int_equal(PARSE(&r, "-h"), CLI_HELP);
    done(&r);
    assert_int_equal(PARSE(&r, "-help"), CLI_HELP);
    done(&r);
    assert_int_equal(PARSE(&r, "/a", "/t", "--help"), CLI_HELP);
    done(&r);
    assert_int_equal(PARSE(&r, "--version"), CLI_VERSION);
    done(&r);
    assert_int_equal(PARSE(&r, "-update", "/a", "--version", "/t"), CLI_VERSION);
    done(&r);
    /* help wins over errors anywhere on the line */
    assert_int_equal(PARSE(&r, "-bogus", "-m", "x", "--help"), CLI_HELP);
    done(&r);
    /* first of help/version wins */
    assert_int_equal(PARSE(&r, "--version", "--help"), CLI_VERSION);
    done(&r);
}

/* A NULL err buffer is allowed. */
static void test_null_err_buffer(void **state)
{
    struct options o;
    char *argv[] = {"-m", "x", "/a", "/t"};
    (void)state;
    options_init(&o);
    assert_int_equal(cli_parse(4, argv, &o, NULL, 0, NULL), CLI_ERROR);
    options_release(&o);
}

/* A short err buffer is truncated, never overrun. */
static void test_short_err_buffer(void **state)
{
    struct options o;
    char *argv[] = {"-delete", "/a", "/t"};
    char err[8];
    (void)state;
    options_init(&o);
    assert_int_equal(cli_parse(3, argv, &o, err, sizeof(err), NULL), CLI_ERROR);
    assert_string_equal(err, "Delete ");
    options_release(&o);
}

/* B §1.3 / Part A 3 / B §12: the usage text lists every option and the exit statuses. */
static void test_usage_text(void **state)
{
    static const char *const opts[] = {
        "-append", "-async", "-atomic", "-bandwidth", "-blocksperchunk", "-copybuffersize",
        "-delete", "-diff", "-direct", " -f ", "-filelimit", "-filters", " -i ", "-log",
        " -m ", "-numListstatusThreads", "-overwrite", "-p[rbugpcaxt]", "-rdiff",
        "-sizelimit", "-skipcrccheck", "-strategy", "-tmp", "-update ", "-updateRoot",
        "-useiterator", " -v ", "-xtrack", "-D ", "--checksum", "--dry-run", "--exclude",
        "--global-bandwidth", "--json", "--max-delete", "--no-progress", "--progress",
        "--trash", "--help", "--version",
    };
    static const char *const statuses[] = {"   0  success", " 255  invalid arguments",
                                           " 254  duplicate", " 253  ACLs", " 252  XAttrs",
                                           "  25  any other failure"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    (void)state;
    assert_non_null(f);
    cli_usage(f);
    fclose(f);
    assert_true(strncmp(text, "usage: distcp OPTIONS [source_path...] <target_path>\n", 53) == 0);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (!strstr(text, opts[i]))
            fail_msg("usage lacks '%s'", opts[i]);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (!strstr(text, statuses[i]))
            fail_msg("usage lacks '%s'", statuses[i]);
    assert_non_null(strstr(text, "snapshot-diff"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_release_everything),
        cmocka_unit_test(test_options_def),
        cmocka_unit_test(test_sources_and_target),
        cmocka_unit_test(test_options_anywhere),
        cmocka_unit_test(test_double_dash_ends_options),
        cmocka_unit_test(test_one_or_two_dashes),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_unknown_options),
        cmocka_unit_test(test_lone_dash_is_path),
        cmocka_unit_test(test_attached_values),
        cmocka_unit_test(test_first_value_wins),
        cmocka_unit_test(test_p_bare),
        cmocka_unit_test(test_p_separate_token_is_path),
        cmocka_unit_test(test_p_letters),
        cmocka_unit_test(test_rule7_p_unknown_letter),
        cmocka_unit_test(test_diff_rdiff_names),
        cmocka_unit_test(test_rule5_snapshot_names),
        cmocka_unit_test(test_rule4_missing_argument),
        cmocka_unit_test(test_negative_values),
        cmocka_unit_test(test_number_clamps),
        cmocka_unit_test(test_rule6_maps_invalid),
        cmocka_unit_test(test_rule6_liststatus_invalid),
        cmocka_unit_test(test_rule6_blocksperchunk_invalid),
        cmocka_unit_test(test_rule6_copybuffersize_invalid),
        cmocka_unit_test(test_bandwidth_values),
        cmocka_unit_test(test_rule6_bandwidth_invalid),
        cmocka_unit_test(test_rule6_bandwidth_not_positive),
        cmocka_unit_test(test_strategy),
        cmocka_unit_test(test_all_hadoop_options),
        cmocka_unit_test(test_deprecated_limits),
        cmocka_unit_test(test_no_arguments),
        cmocka_unit_test(test_rule1_target_missing),
        cmocka_unit_test(test_rule2_list_and_sources),
        cmocka_unit_test(test_rule3_no_sources),
        cmocka_unit_test(test_rule8_delete_with_diff),
        cmocka_unit_test(test_rule9_tmp_without_atomic),
        cmocka_unit_test(test_rule10_atomic_with_update),
        cmocka_unit_test(test_rule11_delete_without_update),
        cmocka_unit_test(test_rule12_overwrite_and_update),
        cmocka_unit_test(test_rule13_append_without_update),
        cmocka_unit_test(test_rule14_append_with_skipcrc),
        cmocka_unit_test(test_rule15_diff_without_update),
        cmocka_unit_test(test_rule16_diff_and_rdiff),
        cmocka_unit_test(test_rule17_v_without_log),
        cmocka_unit_test(test_accepted_combinations),
        cmocka_unit_test(test_rule_order),
        cmocka_unit_test(test_define_forms),
        cmocka_unit_test(test_define_defaults),
        cmocka_unit_test(test_define_invalid_numbers),
        cmocka_unit_test(test_parta_flags),
        cmocka_unit_test(test_parta_progress),
        cmocka_unit_test(test_parta_excludes),
        cmocka_unit_test(test_parta_delete_guard),
        cmocka_unit_test(test_parta_global_bandwidth),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_null_err_buffer),
        cmocka_unit_test(test_short_err_buffer),
        cmocka_unit_test(test_usage_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

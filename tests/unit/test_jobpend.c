/* test_jobpend.c - the record of open uploads (src/jobs/jobpend.c) as a sweep
 * reads it: "done" closes the matching "open" (same store and token), %XX
 * escapes are undone, a torn last line is never acted upon, a malformed line
 * refuses the whole file (nothing trusted in part), and after a sweep
 * nothing stays recorded for what was dealt with. The stores here are
 * mem:// (no abort_pending: "no way to" counts as dealt with, like a server
 * without AbortMultipartUpload); the S3 path runs in tests/e2e
 * (test_s3_pending.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/jobpend.h"

struct heard {
    int n;
    char last[4096];
};

static void hear(void *arg, const char *line)
{
    struct heard *h = arg;
    h->n++;
    snprintf(h->last, sizeof h->last, "%s", line);
}

static const char *no_config(void *ctx, const char *key)
{
    (void)ctx;
    (void)key;
    return NULL;
}

static void put(const char *dir, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/pending", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/test_jobpend.XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmdir_tmp(char *d)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/pending", d);
    unlink(p);
    rmdir(d);
    free(d);
}

static void t_open_done_torn(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    struct be_config cfg = { .get = no_config };
    struct errinfo ei = {0};
    struct heard h = {0};
    unsigned done = 9, left = 9;
    put(d, "open mem://a id1%20k/one\n"
           "open mem://a id2%20k/two%0Aline\n"
           "done mem://a id1%20k/one\n"
           "done mem://b id2%20k/two%0Aline\n"     /* another store: not the same */
           "open mem://a id3%20k/torn");           /* no newline: never acted upon */
    assert_int_equal(jobpend_sweep(d, &cfg, hear, &h, &done, &left, &ei), ERR_OK);
    assert_int_equal(done, 1);
    assert_int_equal(left, 0);
    assert_int_equal(h.n, 1);
    assert_non_null(strstr(h.last, "mem://a"));
    assert_null(strstr(h.last, "id1"));
    char p[4200];
    snprintf(p, sizeof p, "%s/pending", d);
    assert_int_equal(access(p, F_OK), -1);    /* nothing left to record */
    rmdir_tmp(d);
}

static void t_malformed(void **state)
{
    (void)state;
    const char *bad[] = { "open mem://a\n", "shut mem://a t\n", "open mem://a t extra\n",
                          "open mem://a t%2\n", "open mem://a t%00x\n" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *d = mkdir_tmp();
        struct be_config cfg = { .get = no_config };
        struct errinfo ei = {0};
        struct heard h = {0};
        unsigned done = 0, left = 0;
        put(d, bad[i]);
        assert_int_not_equal(jobpend_sweep(d, &cfg, hear, &h, &done, &left, &ei), ERR_OK);
        assert_non_null(strstr(ei.msg, "pending"));
        assert_int_equal(h.n, 0);               /* nothing acted upon */
        rmdir_tmp(d);
    }
}

static void t_no_record(void **state)
{
    (void)state;
    char *d = mkdir_tmp();
    struct be_config cfg = { .get = no_config };
    struct errinfo ei = {0};
    unsigned done = 5, left = 5;
    assert_int_equal(jobpend_sweep(d, &cfg, hear, NULL, &done, &left, &ei), ERR_OK);
    assert_int_equal(done + left, 0);
    rmdir_tmp(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_open_done_torn),
        cmocka_unit_test(t_malformed),
        cmocka_unit_test(t_no_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_faulty.c - the faulty+<scheme>:// backend itself (src/backend/faulty/,
 * docs/testing.md §3): the rule language (good and bad rules, from -D and
 * from DISTCP_FAULTY_RULES), which call a counted rule hits (once, nth,
 * times, after) also when many threads call at once, the wording of
 * injected errors, short reads and pieces, latency, hidden slots and the
 * shared ops tables. Over mem://; test build only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"

static const char *g_rules;   /* what the be_config hands out as distcp.faulty.rules */

static const char *cfg_get(void *ctx, const char *key)
{
    return strcmp(key, "distcp.faulty.rules") ? NULL : g_rules;
}

/* Open faulty+mem://<name>-<pid> with these rules; rc of the open. */
static int fopen_rules(const char *name, const char *rules, struct be_fs **fs, struct errinfo *ei)
{
    struct be_config cfg = { .get = cfg_get };
    char auth[96];
    snprintf(auth, sizeof auth, "%s-%ld", name, (long)getpid());
    g_rules = rules;
    return backend_faulty.open("faulty+mem", auth, &cfg, fs, ei);
}

static void put(struct be_fs *fs, const char *path, const char *data)
{
    struct errinfo ei = {0};
    struct be_file *w = NULL;
    struct be_create_opts o = { .tmp_tag = "t" };
    size_t n = strlen(data);
    if (fs->ops->create(fs, path, &o, &w, &ei) || (n && fs->ops->write(w, 0, data, n, &ei)) ||
        fs->ops->commit(w, &ei))
        fail_msg("put %s: %s", path, ei.msg);
}

static void t_bad_rules(void **state)
{
    static const char *const bad[] = {
        "read", "read:*", "nope:*:err=IO", "read:*:err=NOPE", "read:*:bogus=1",
        "read:*:nth=0", "read:*:once", "missing=stat", "missing=nope", "read:*:delay=x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct errinfo ei = {0};
        struct be_fs *fs = NULL;
        int rc = fopen_rules("bad", bad[i], &fs, &ei);
        if (rc == ERR_OK)
            fail_msg("rules '%s' were accepted", bad[i]);
        assert_null(fs);
        assert_non_null(strstr(ei.msg, "faulty: "));
    }
    /* whitespace and empty items are fine; an unknown inner scheme is not */
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    assert_int_equal(fopen_rules("ok", " ; stat|list:/x*:err=ACCESS,once ;; ", &fs, &ei), 0);
    backend_close(fs);
    assert_int_equal(backend_faulty.open("faulty+nope", "a", NULL, &fs, &ei), ERR_BAD_URI);
    assert_int_equal(backend_faulty.open("faulty", "a", NULL, &fs, &ei), ERR_BAD_URI);
}

static void t_counts_and_wording(void **state)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    struct be_stat st;
    assert_int_equal(fopen_rules("count", "stat:/a:err=ACCESS,nth=3;"
                                 "stat:/b:err=IO,times=2;stat:/c:err=TIMEOUT,after=1;"
                                 "mkdirs:/d*:err=NO_SPACE,once", &fs, &ei), 0);
    put(fs, "/a", "A");
    put(fs, "/b", "B");
    put(fs, "/c", "C");
    int a[5], b[5], c[5];
    for (int i = 0; i < 5; i++) {
        a[i] = fs->ops->stat(fs, "/a", &st, &ei);
        b[i] = fs->ops->stat(fs, "/b", &st, &ei);
        c[i] = fs->ops->stat(fs, "/c", &st, &ei);
    }
    int wa[5] = {0, 0, ERR_ACCESS, 0, 0}, wb[5] = {ERR_IO, ERR_IO, 0, 0, 0};
    int wc[5] = {0, ERR_TIMEOUT, ERR_TIMEOUT, ERR_TIMEOUT, ERR_TIMEOUT};
    assert_memory_equal(a, wa, sizeof a);
    assert_memory_equal(b, wb, sizeof b);
    assert_memory_equal(c, wc, sizeof c);
    /* the message names the operation, the URI and the cause */
    char want[256];
    snprintf(want, sizeof want, "cannot create directory 'mem://count-%ld/d1/x': "
             "No space left on device (injected fault)", (long)getpid());
    assert_int_equal(fs->ops->mkdirs(fs, "/d1/x", 0755, &ei), ERR_NO_SPACE);
    assert_string_equal(ei.msg, want);
    assert_int_equal(fs->ops->mkdirs(fs, "/d1/x", 0755, &ei), ERR_OK);
    /* rename matches from or to */
    backend_close(fs);
    assert_int_equal(fopen_rules("ren", "rename:/to*:err=BUSY", &fs, &ei), 0);
    put(fs, "/from", "x");
    assert_int_equal(fs->ops->rename(fs, "/from", "/to", &ei), ERR_BUSY);
    assert_int_equal(fs->ops->rename(fs, "/from", "/other", &ei), ERR_OK);
    backend_close(fs);
}

struct hammer {
    struct be_fs *fs;
    int fails;
};

static void *hammer(void *p)
{
    struct hammer *h = p;
    struct be_stat st;
    for (int i = 0; i < 250; i++)
        if (h->fs->ops->stat(h->fs, "/x", &st, NULL) == ERR_IO)
            h->fails++;
    return NULL;
}

/* "fail the 500th stat" fires exactly once across 8 threads. */
static void t_nth_threads(void **state)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    struct hammer h[8];
    pthread_t th[8];
    assert_int_equal(fopen_rules("threads", "stat:/x:err=IO,nth=500", &fs, &ei), 0);
    put(fs, "/x", "x");
    for (int i = 0; i < 8; i++) {
        h[i] = (struct hammer){ .fs = fs };
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += h[i].fails;
    }
    assert_int_equal(total, 1);
    backend_close(fs);
}

static void t_reads_and_latency(void **state)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    struct be_file *r = NULL;
    char buf[64];
    size_t got = 0, total = 0;
    setenv("DISTCP_FAULTY_RULES", "open_read:/f:short=10;read:/f:piece=4;stat:/f:delay=60", 1);
    assert_int_equal(fopen_rules("reads", NULL, &fs, &ei), 0);
    unsetenv("DISTCP_FAULTY_RULES");
    put(fs, "/f", "0123456789abcdefghij");
    assert_int_equal(fs->ops->open_read(fs, "/f", 2, &r, &ei), 0);
    do {
        assert_int_equal(fs->ops->read(r, buf + total, sizeof buf - total, &got, &ei), 0);
        assert_true(got <= 4);
        total += got;
    } while (got);
    fs->ops->close_read(r);
    assert_int_equal(total, 8);                  /* bytes 2..9: EOF at byte 10 */
    assert_memory_equal(buf, "23456789", 8);

    struct timespec t0, t1;
    struct be_stat st;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(fs->ops->stat(fs, "/f", &st, &ei), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 60);
    assert_int_equal(st.size, 20);               /* stat is not shortened: the file "shrank" */
    backend_close(fs);
}

static void t_slots_and_tables(void **state)
{
    struct errinfo ei = {0};
    struct be_fs *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(fopen_rules("tab1", NULL, &a, &ei), 0);
    assert_int_equal(fopen_rules("tab2", "read:*:delay=1", &b, &ei), 0);
    assert_int_equal(fopen_rules("tab3", "missing=open_append|symlink|snapshots", &c, &ei), 0);
    /* same inner backend, same hidden slots: one table (fast paths apply) */
    assert_ptr_equal(a->ops, b->ops);
    assert_ptr_not_equal(a->ops, c->ops);
    assert_string_equal(a->ops->name, "faulty");
    assert_int_equal(a->ops->caps, backend_mem.caps);
    assert_non_null(a->ops->open_append);
    assert_null(c->ops->open_append);
    assert_null(c->ops->symlink);
    assert_non_null(c->ops->readlink);
    /* slots the inner backend lacks stay NULL */
    assert_null(a->ops->checksum);
    assert_null(a->ops->abort_pending);
    assert_null(a->ops->snapshots);
    backend_close(a);
    backend_close(b);
    backend_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_bad_rules),
        cmocka_unit_test(t_counts_and_wording),
        cmocka_unit_test(t_nth_threads),
        cmocka_unit_test(t_reads_and_latency),
        cmocka_unit_test(t_slots_and_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

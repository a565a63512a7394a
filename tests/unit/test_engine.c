/* test_engine.c - unit tests for the engine's pure pieces: the base rules of
 * spec B §3, the decision table of B §5.1 (+ Part A 4), the external sort
 * (entry.c: sorted runs spilled to disk and merged) and the thread work
 * queue (workq_threads.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/decide.h"
#include "engine/entry.h"
#include "engine/workq.h"

/* ---------------------------------------------------------- B §3 bases */

/* The summary table of B §3: (n, src dir?, target exists?, target dir?, U) */
static void test_base_rules(void **st)
{
    (void)st;
    /* one file: missing / existing file -> target itself; existing dir -> below */
    assert_true(decide_base_is_self(1, false, false, false, false, false));
    assert_true(decide_base_is_self(1, false, false, true, false, false));
    assert_false(decide_base_is_self(1, false, false, true, true, false));
    assert_false(decide_base_is_self(1, false, false, true, true, true));
    /* one dir: missing -> contents; existing dir -> target/D, unless -update */
    assert_true(decide_base_is_self(1, true, false, false, false, false));
    assert_false(decide_base_is_self(1, true, false, true, true, false));
    assert_true(decide_base_is_self(1, true, false, true, true, true));
    /* several files always land as target/<name>, even with -update */
    assert_false(decide_base_is_self(3, false, false, true, true, false));
    assert_false(decide_base_is_self(3, false, false, false, false, true));
    /* several dirs: target/D1... without U, merged contents with U */
    assert_false(decide_base_is_self(2, true, false, true, true, false));
    assert_false(decide_base_is_self(2, true, false, false, false, false));
    assert_true(decide_base_is_self(2, true, false, false, false, true));
    /* the file-system root always copies its contents */
    assert_true(decide_base_is_self(2, true, true, true, true, false));
    /* rule 3: the root entry is omitted with -update/-overwrite unless -updateRoot */
    assert_true(decide_list_root(false, false));
    assert_false(decide_list_root(true, false));
    assert_true(decide_list_root(true, true));
}

/* --------------------------------------------------- B §5.1 decisions */

static struct decide_in base_in(void)
{
    struct decide_in in = {
        .update = true, .mtime_rule = true,
        .src_size = 100, .tgt_size = 100,
        .src_mtime = 1000, .tgt_mtime = 2000,
        .digests = DIGEST_UNKNOWN,
    };
    return in;
}

static void test_decide_modes(void **st)
{
    (void)st;
    struct decide_in in = base_in();
    in.overwrite_mode = true;
    assert_int_equal(decide_action(&in), ACT_COPY);      /* overwrite: always copy */
    in = base_in();
    in.update = false;
    in.src_size = 5;                                     /* default: skip unconditionally */
    assert_int_equal(decide_action(&in), ACT_SKIP);
}

static void test_decide_update(void **st)
{
    (void)st;
    struct decide_in in = base_in();
    /* same size, no digests, target newer -> skip (Hadoop 3.4 mtime rule) */
    assert_int_equal(decide_action(&in), ACT_SKIP);
    /* same size, target older -> copy */
    in.tgt_mtime = 500;
    assert_int_equal(decide_action(&in), ACT_COPY);
    /* ... unless distcp.update.modification.time=false: length decides */
    in.mtime_rule = false;
    assert_int_equal(decide_action(&in), ACT_SKIP);
    /* digests decide when both are known (Part A 4) */
    in = base_in();
    in.digests = DIGEST_DIFFER;
    assert_int_equal(decide_action(&in), ACT_COPY);
    in.digests = DIGEST_EQUAL;
    in.tgt_mtime = 1;                                    /* older target, same content */
    assert_int_equal(decide_action(&in), ACT_SKIP);
    /* different size -> copy */
    in = base_in();
    in.tgt_size = 99;
    assert_int_equal(decide_action(&in), ACT_COPY);
    /* -skipcrccheck: same length is enough */
    in = base_in();
    in.skip_crc = true;
    in.tgt_mtime = 1;
    in.digests = DIGEST_DIFFER;
    assert_int_equal(decide_action(&in), ACT_SKIP);
    /* -pb with different block sizes defeats the skip */
    in = base_in();
    in.preserve_b = true;
    in.src_block = 128;
    in.tgt_block = 64;
    assert_int_equal(decide_action(&in), ACT_COPY);
    in.preserve_b = false;
    assert_int_equal(decide_action(&in), ACT_SKIP);
    /* zero-length files are skipped unless the source is newer */
    in = base_in();
    in.src_size = in.tgt_size = 0;
    assert_int_equal(decide_action(&in), ACT_SKIP);
}

static void test_decide_append(void **st)
{
    (void)st;
    struct decide_in in = base_in();
    in.append = true;
    in.tgt_size = 40;                  /* shorter target: append candidate */
    assert_int_equal(decide_action(&in), ACT_APPEND);
    in.tgt_size = 140;                 /* longer target: rewrite */
    assert_int_equal(decide_action(&in), ACT_COPY);
    in.tgt_size = 0;                   /* empty target: plain copy */
    assert_int_equal(decide_action(&in), ACT_COPY);
    in.append = false;
    in.tgt_size = 40;
    assert_int_equal(decide_action(&in), ACT_COPY);
}

/* ------------------------------------------------------- external sort */

static char workdir[] = "/tmp/distcp-test-engine-XXXXXX";

static int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void add_key(struct sorter *s, const char *key, enum be_type t, uint64_t size)
{
    struct be_stat st;
    memset(&st, 0, sizeof st);
    st.type = t;
    st.size = size;
    struct errinfo ei;
    assert_int_equal(sorter_add(s, &st, 0, key, strlen(key), 0, &ei), ERR_OK);
}

/* Keys sort so that a directory's subtree follows it contiguously:
 * "/a" < "/a/b" < "/a.b" (plain byte order would put "/a.b" in between). */
static void test_sort_subtree_order(void **st)
{
    (void)st;
    struct errinfo ei;
    struct sorter *s = sorter_new(workdir, 1 << 20);
    const char *keys[] = {"/a.b", "/a/b", "/a", "", "/a/b/c", "/a-x", "/b"};
    for (size_t i = 0; i < 7; i++)
        add_key(s, keys[i], BE_FILE, i);
    assert_int_equal(sorter_finish(s, &ei), ERR_OK);
    const char *want[] = {"", "/a", "/a/b", "/a/b/c", "/a-x", "/a.b", "/b"};
    struct plan_iter *it = plan_iter_new(s, &ei);
    const struct entry *e;
    int err, i = 0;
    char buf[64];
    while ((e = plan_iter_next(it, &err))) {
        entry_key_copy(e, buf, sizeof buf);
        assert_string_equal(buf, want[i]);
        i++;
    }
    assert_int_equal(i, 7);
    plan_iter_free(it);
    sorter_free(s);
}

/* With a tiny memory cap the sorter spills many runs and merges them (more
 * runs than one merge pass takes); the result is sorted, complete, and
 * re-iterable; the spill files are removed when the sorter is freed. */
static void test_sort_spill_merge(void **st)
{
    (void)st;
    struct errinfo ei;
    const int n = 60000;
    struct sorter *s = sorter_new(workdir, 1 << 16);
    unsigned seed = 12345;
    for (int i = 0; i < n; i++) {
        char key[64];
        seed = seed * 1103515245u + 12345u;
        snprintf(key, sizeof key, "/d%03u/f%08u_%d", (seed >> 8) % 200, seed, i);
        add_key(s, key, BE_FILE, (uint64_t)i);
    }
    assert_true(count_files(workdir) > 64);   /* more runs than one merge takes */
    assert_int_equal(sorter_count(s), (uint64_t)n);
    assert_int_equal(sorter_finish(s, &ei), ERR_OK);
    for (int pass = 0; pass < 2; pass++) {
        struct plan_iter *it = plan_iter_new(s, &ei);
        assert_non_null(it);
        const struct entry *e;
        int err = 0, cnt = 0;
        char prev[128] = "", cur[128];
        uint64_t sum = 0;
        while ((e = plan_iter_next(it, &err))) {
            entry_key_copy(e, cur, sizeof cur);
            if (cnt)
                assert_true(strcmp(prev, cur) < 0);
            strcpy(prev, cur);
            sum += e->size;
            cnt++;
        }
        assert_int_equal(err, 0);
        assert_int_equal(cnt, n);
        assert_int_equal(sum, (uint64_t)n * (n - 1) / 2);
        plan_iter_free(it);
    }
    sorter_free(s);
    assert_int_equal(count_files(workdir), 0);
}

/* Per-thread sorters absorbed into one keep every entry and run. */
static void test_sort_absorb(void **st)
{
    (void)st;
    struct errinfo ei;
    struct sorter *a = sorter_new(workdir, 1 << 16);
    struct sorter *b = sorter_new(workdir, 1 << 16);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "/x/%06d", i * 2);
        add_key(a, key, BE_FILE, 1);
        snprintf(key, sizeof key, "/x/%06d", i * 2 + 1);
        add_key(b, key, BE_FILE, 1);
    }
    assert_int_equal(sorter_absorb(a, b, &ei), ERR_OK);
    sorter_free(b);
    assert_int_equal(sorter_finish(a, &ei), ERR_OK);
    struct plan_iter *it = plan_iter_new(a, &ei);
    const struct entry *e;
    int err, i = 0;
    char want[32], got[32];
    while ((e = plan_iter_next(it, &err))) {
        snprintf(want, sizeof want, "/x/%06d", i);
        entry_key_copy(e, got, sizeof got);
        assert_string_equal(got, want);
        i++;
    }
    assert_int_equal(i, 10000);
    plan_iter_free(it);
    sorter_free(a);
}

static void test_sort_key_too_long(void **st)
{
    (void)st;
    struct errinfo ei;
    struct be_stat bs;
    memset(&bs, 0, sizeof bs);
    struct sorter *s = sorter_new(workdir, 1 << 16);
    char *k = malloc(ENTRY_KEY_MAX + 2);
    memset(k, 'a', ENTRY_KEY_MAX + 1);
    k[0] = '/';
    assert_int_equal(sorter_add(s, &bs, 0, k, ENTRY_KEY_MAX + 1, 0, &ei), ERR_TOO_LONG);
    free(k);
    sorter_free(s);
}

/* ----------------------------------------------------------- workq */

struct wq_test {
    atomic_int entries;
    atomic_ullong bytes;
    atomic_int per_worker[8];
    atomic_int helps;
    struct workq *q;
};

static void help_fn(void *arg, int worker)
{
    (void)worker;
    struct wq_test *t = arg;
    atomic_fetch_add(&t->helps, 1);
}

static void exec_fn(void *ctx, int worker, struct wbatch *b)
{
    struct wq_test *t = ctx;
    size_t pos = 0;
    const struct entry *e;
    while ((e = wbatch_next(b, &pos))) {
        atomic_fetch_add(&t->entries, 1);
        atomic_fetch_add(&t->bytes, e->size);
        atomic_fetch_add(&t->per_worker[worker], 1);
    }
    free(b);
}

static void run_wq(int dynamic)
{
    struct wq_test t;
    memset(&t, 0, sizeof t);
    t.q = workq_threads_new(dynamic, 4);
    assert_non_null(t.q);
    assert_int_equal(t.q->ops->start(t.q, 4, exec_fn, &t), 0);
    static struct whelp helps[10];
    for (int i = 0; i < 10; i++) {
        helps[i].fn = help_fn;
        helps[i].arg = &t;
        t.q->ops->help(t.q, &helps[i]);
    }
    union {
        struct entry e;
        char raw[sizeof(struct entry) + 16];
    } u;
    memset(&u, 0, sizeof u);
    u.e.type = BE_FILE;
    u.e.keylen = 2;
    uint64_t total = 0;
    for (int b = 0; b < 200; b++) {
        struct wbatch *wb = wbatch_new(4096);
        for (int i = 0; i < 10; i++) {
            u.e.size = (uint64_t)(b * 10 + i);
            total += u.e.size;
            assert_true(wbatch_add(wb, &u.e));
        }
        t.q->ops->push(t.q, wb);
    }
    t.q->ops->finish(t.q);
    assert_int_equal(atomic_load(&t.entries), 2000);
    assert_int_equal(atomic_load(&t.bytes), total);
    assert_int_equal(atomic_load(&t.helps), 10);
    if (!dynamic) /* byte-balanced: every worker got work */
        for (int i = 0; i < 4; i++)
            assert_true(atomic_load(&t.per_worker[i]) > 0);
    t.q->ops->free(t.q);
}

static void test_workq_dynamic(void **st) { (void)st; run_wq(1); }
static void test_workq_uniform(void **st) { (void)st; run_wq(0); }

static void test_wbatch_full(void **st)
{
    (void)st;
    union {
        struct entry e;
        char raw[sizeof(struct entry) + 16];
    } u;
    memset(&u, 0, sizeof u);
    u.e.keylen = 8;
    struct wbatch *b = wbatch_new(entry_size(&u.e) * 2);
    assert_true(wbatch_add(b, &u.e));
    assert_true(wbatch_add(b, &u.e));
    assert_false(wbatch_add(b, &u.e));
    assert_int_equal(b->n, 2);
    free(b);
}

int main(void)
{
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_rules),
        cmocka_unit_test(test_decide_modes),
        cmocka_unit_test(test_decide_update),
        cmocka_unit_test(test_decide_append),
        cmocka_unit_test(test_sort_subtree_order),
        cmocka_unit_test(test_sort_spill_merge),
        cmocka_unit_test(test_sort_absorb),
        cmocka_unit_test(test_sort_key_too_long),
        cmocka_unit_test(test_workq_dynamic),
        cmocka_unit_test(test_workq_uniform),
        cmocka_unit_test(test_wbatch_full),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(workdir);
    return rc;
}

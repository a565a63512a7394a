/* t_write.c - conformance: the write path (create, write, finish, commit,
 * abort), replacement, parents, directories in the way, direct mode,
 * parallel writes. */
#include "conf.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The directory holds exactly the named entries (no temp leftovers). */
static void expect_entries(struct conf *c, const char *dir, const char *const *names,
                           size_t n)
{
    struct errinfo ei = {0};
    struct conf_listing l;
    CHECK(conf_list(c, dir, &l, &ei));
    bool ok = l.n == n;
    for (size_t i = 0; ok && i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < l.n; k++)
            found |= !strcmp(l.e[k].name, names[i]);
        ok = found;
    }
    if (!ok) {
        print_error("%s holds %zu entries, expected %zu:\n", dir, l.n, n);
        for (size_t k = 0; k < l.n; k++)
            print_error("  %s\n", l.e[k].name);
    }
    conf_listing_free(&l);
    assert_true(ok);
}

void t_write_commit(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    enum { N = 100003 };
    static const size_t pieces[] = { 1, 4095, 4096, 30000, 1, 61810 };
    unsigned char *b = malloc(N);
    uint64_t off = 0, size = 0;
    assert_non_null(b);
    conf_dir(c, "write_commit");
    const char *p = conf_path(c, "f");
    conf_fill(b, 0, N, 7);

    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        CHECK(c->ops->write(w, off, b + off, pieces[i], &ei));
        off += pieces[i];
    }
    assert_int_equal(off, N);
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, N);
    /* nothing visible under the final name before commit */
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));
    CHECK(c->ops->commit(w, &ei));

    CHECK(c->ops->stat(c->fs, p, &st, &ei));
    assert_int_equal(st.type, BE_FILE);
    assert_int_equal(st.size, N);
    conf_expect_bytes(c, p, b, N);
    expect_entries(c, c->dir, (const char *[]){ "f" }, 1);
    free(b);
}

void t_write_abort(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    uint64_t size;
    conf_dir(c, "write_abort");
    const char *p = conf_path(c, "f");

    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "abcdef", 6, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    c->ops->abort(w);
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));
    expect_entries(c, c->dir, NULL, 0);

    /* abort without any write, and abort(NULL) */
    o = conf_opts(c);
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    c->ops->abort(w);
    c->ops->abort(NULL);
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));
    expect_entries(c, c->dir, NULL, 0);
}

void t_commit_replaces(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    uint64_t size;
    conf_dir(c, "commit_replaces");
    const char *p = conf_path(c, "f");

    conf_put(c, p, "old contents", 12);
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "new", 3, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    /* the old file is intact until commit */
    conf_expect_bytes(c, p, "old contents", 12);
    CHECK(c->ops->commit(w, &ei));
    conf_expect_bytes(c, p, "new", 3);
    expect_entries(c, c->dir, (const char *[]){ "f" }, 1);

    /* replacing with an empty file */
    conf_put(c, p, "", 0);
    conf_expect_bytes(c, p, "", 0);
}

void t_commit_parents(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    conf_dir(c, "commit_parents");
    const char *p = conf_path(c, "x/y/z/f");
    conf_put(c, p, "deep", 4);
    conf_expect_bytes(c, p, "deep", 4);
    conf_expect_type(c, conf_path(c, "x/y/z"), BE_DIR);
    conf_expect_type(c, conf_path(c, "x"), BE_DIR);
    (void)ei;
}

/* Commit onto an existing directory: ERR_IS_DIR (create may already say
 * so), the directory and its contents stay. */
static void commit_onto_dir(struct conf *c, const char *d, bool with_child)
{
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    uint64_t size;
    CHECK(c->ops->mkdirs(c->fs, d, 0755, &ei));
    char child[CONF_PATH_MAX];
    snprintf(child, sizeof child, "%s/child", d);
    if (with_child)
        conf_put(c, child, "kept", 4);
    int rc = c->ops->create(c->fs, d, &o, &w, &ei);
    if (rc == ERR_OK) {
        CHECK(c->ops->write(w, 0, "file", 4, &ei));
        CHECK(finish_size(c->ops, w, &size, &ei));
        EXPECT(ERR_IS_DIR, c->ops->commit(w, &ei));
    } else {
        EXPECT(ERR_IS_DIR, rc);
    }
    if (HAS(c, BE_CAP_EMPTY_DIRS) || with_child)
        conf_expect_type(c, d, BE_DIR);
    if (with_child)
        conf_expect_bytes(c, child, "kept", 4);
}

void t_commit_over_dir(void **state)
{
    struct conf *c = *state;
    conf_dir(c, "commit_over_dir");
    commit_onto_dir(c, conf_path(c, "full"), true);
    if (HAS(c, BE_CAP_EMPTY_DIRS))
        commit_onto_dir(c, conf_path(c, "empty"), false);
    /* no temp leftovers next to them */
    expect_entries(c, c->dir, (const char *[]){ "full", "empty" },
                   HAS(c, BE_CAP_EMPTY_DIRS) ? 2 : 1);
}

void t_direct(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    uint64_t size;
    conf_dir(c, "direct");
    const char *p = conf_path(c, "f");

    o.direct = true;
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "direct ", 7, &ei));
    CHECK(c->ops->write(w, 7, "bytes", 5, &ei));
    /* the final name exists before commit */
    int rc = c->ops->stat(c->fs, p, &st, &ei);
    if (rc != ERR_OK) {
        c->ops->abort(w);
        CHECK(rc);
    }
    assert_int_equal(st.type, BE_FILE);
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, 12);
    CHECK(c->ops->commit(w, &ei));
    conf_expect_bytes(c, p, "direct bytes", 12);
    expect_entries(c, c->dir, (const char *[]){ "f" }, 1);
}

#define PW_THREADS 4
#define PW_RANGE (1u << 20)
#define PW_PIECE (64u << 10)

struct pw_arg {
    struct conf *c;
    struct be_file *w;
    int idx;
    int rc;
    char msg[1024];
};

static void *pw_thread(void *p)
{
    struct pw_arg *a = p;
    struct errinfo ei = {0};
    unsigned char *b = malloc(PW_PIECE);
    a->rc = b ? ERR_OK : ERR_NOMEM;
    /* back to front, so ranges beyond the current end arrive first */
    for (int k = PW_RANGE / PW_PIECE - 1; b && k >= 0 && !a->rc; k--) {
        uint64_t off = (uint64_t)a->idx * PW_RANGE + (uint64_t)k * PW_PIECE;
        conf_fill(b, off, PW_PIECE, 11);
        a->rc = a->c->ops->write(a->w, off, b, PW_PIECE, &ei);
        if (a->rc)
            snprintf(a->msg, sizeof a->msg, "%s", ei.msg);
    }
    free(b);
    return NULL;
}

void t_parallel_write(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct pw_arg args[PW_THREADS];
    pthread_t th[PW_THREADS];
    uint64_t size;
    size_t len;
    REQUIRE(c, HAS(c, BE_CAP_PARALLEL_WRITE) || HAS(c, BE_CAP_CONCAT_WRITE),
            "no BE_CAP_PARALLEL_WRITE or BE_CAP_CONCAT_WRITE");
    conf_dir(c, "parallel_write");
    const char *p = conf_path(c, "f");

    o.size_hint = (uint64_t)PW_THREADS * PW_RANGE;
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    for (int i = 0; i < PW_THREADS; i++) {
        args[i] = (struct pw_arg){ .c = c, .w = w, .idx = i };
        assert_int_equal(pthread_create(&th[i], NULL, pw_thread, &args[i]), 0);
    }
    for (int i = 0; i < PW_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < PW_THREADS; i++) {
        if (args[i].rc) {
            print_error("thread %d: %s: %s\n", i, err_name(args[i].rc), args[i].msg);
            c->ops->abort(w);
            fail();
        }
    }
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, (uint64_t)PW_THREADS * PW_RANGE);
    CHECK(c->ops->commit(w, &ei));
    unsigned char *b = conf_get(c, p, &len);
    assert_int_equal(len, (size_t)PW_THREADS * PW_RANGE);
    bool ok = conf_check(b, 0, len, 11);
    free(b);
    assert_true(ok);
}

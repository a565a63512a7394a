/* t_tree.c - conformance: stat, mkdirs, list. */
#include "conf.h"
#include <stdlib.h>
#include <string.h>

void t_stat(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_stat st;
    conf_dir(c, "stat");

    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "missing"), &st, &ei));

    conf_put(c, conf_path(c, "f"), "12345", 5);
    CHECK(c->ops->stat(c->fs, conf_path(c, "f"), &st, &ei));
    assert_int_equal(st.type, BE_FILE);
    assert_int_equal(st.size, 5);

    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "d"), 0755, &ei));
    conf_put(c, conf_path(c, "d/inner"), "x", 1);
    CHECK(c->ops->stat(c->fs, conf_path(c, "d"), &st, &ei));
    assert_int_equal(st.type, BE_DIR);

    CHECK(c->ops->stat(c->fs, c->root, &st, &ei));
    assert_int_equal(st.type, BE_DIR);
}

void t_mkdirs(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    conf_dir(c, "mkdirs");

    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "a/b/c"), 0755, &ei));
    if (HAS(c, BE_CAP_EMPTY_DIRS)) {
        conf_expect_type(c, conf_path(c, "a"), BE_DIR);
        conf_expect_type(c, conf_path(c, "a/b"), BE_DIR);
        conf_expect_type(c, conf_path(c, "a/b/c"), BE_DIR);
    }
    /* idempotent, also for an existing prefix */
    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "a/b/c"), 0755, &ei));
    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "a/b"), 0755, &ei));

    conf_put(c, conf_path(c, "file"), "data", 4);
    EXPECT(ERR_NOT_DIR, c->ops->mkdirs(c->fs, conf_path(c, "file"), 0755, &ei));
    EXPECT(ERR_NOT_DIR, c->ops->mkdirs(c->fs, conf_path(c, "file/sub"), 0755, &ei));
    /* the file is untouched */
    conf_expect_bytes(c, conf_path(c, "file"), "data", 4);
}

void t_list_empty(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct conf_listing l;
    REQUIRE(c, HAS(c, BE_CAP_EMPTY_DIRS), "no BE_CAP_EMPTY_DIRS: empty directories do not exist");
    conf_dir(c, "list_empty");
    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "e"), 0755, &ei));
    CHECK(conf_list(c, conf_path(c, "e"), &l, &ei));
    size_t n = l.n;
    conf_listing_free(&l);
    assert_int_equal(n, 0);
}

#define MANY 2000

void t_list_many(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct conf_listing l;
    unsigned char data[16];
    unsigned char *seen = calloc(MANY, 1);
    assert_non_null(seen);
    conf_dir(c, "list_many");
    memset(data, 'z', sizeof data);

    /* Every 10th entry a directory (with a child when empty ones do not
     * exist), the rest files of i % 13 bytes. */
    for (int i = 0; i < MANY; i++) {
        if (i % 10 == 0) {
            if (HAS(c, BE_CAP_EMPTY_DIRS))
                CHECK(c->ops->mkdirs(c->fs, conf_path(c, "e%04d", i), 0755, &ei));
            else
                conf_put(c, conf_path(c, "e%04d/child", i), "c", 1);
        } else {
            conf_put(c, conf_path(c, "e%04d", i), data, (size_t)(i % 13));
        }
    }
    CHECK(conf_list(c, c->dir, &l, &ei));
    for (size_t k = 0; k < l.n; k++) {
        const struct conf_entry *e = &l.e[k];
        char *end;
        if (strlen(e->name) != 5 || e->name[0] != 'e') {
            print_error("unexpected entry '%s'\n", e->name);
            fail();
        }
        long i = strtol(e->name + 1, &end, 10);
        assert_true(*end == 0 && i >= 0 && i < MANY);
        if (seen[i]) {
            print_error("entry '%s' delivered twice\n", e->name);
            fail();
        }
        seen[i] = 1;
        if (i % 10 == 0) {
            assert_int_equal(e->st.type, BE_DIR);
        } else {
            assert_int_equal(e->st.type, BE_FILE);
            assert_int_equal(e->st.size, (uint64_t)(i % 13));
        }
    }
    size_t n = l.n;
    conf_listing_free(&l);
    free(seen);
    assert_int_equal(n, MANY);
}

struct abort_arg {
    int calls;
    int stop_after;
};

static int abort_cb(void *arg, const char *name, size_t namelen,
                    const struct be_stat *st)
{
    struct abort_arg *a = arg;
    return ++a->calls >= a->stop_after ? ERR_CANCELLED : ERR_OK;
}

void t_list_abort(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct abort_arg a = { .stop_after = 2 };
    conf_dir(c, "list_abort");
    for (int i = 0; i < 6; i++)
        conf_put(c, conf_path(c, "f%d", i), "x", 1);
    EXPECT(ERR_CANCELLED, c->ops->list(c->fs, c->dir, abort_cb, &a, &ei));
    assert_int_equal(a.calls, 2);
}

void t_list_errors(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct conf_listing l;
    conf_dir(c, "list_errors");
    conf_put(c, conf_path(c, "file"), "x", 1);
    EXPECT(ERR_NOT_DIR, conf_list(c, conf_path(c, "file"), &l, &ei));
    conf_listing_free(&l);
    EXPECT(ERR_NOT_FOUND, conf_list(c, conf_path(c, "missing"), &l, &ei));
    conf_listing_free(&l);
}

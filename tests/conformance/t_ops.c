/* t_ops.c - conformance: reading at offsets, rename, remove. */
#include "conf.h"
#include <stdlib.h>
#include <string.h>

void t_read_offset(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    enum { N = 10000, OFF = 1234 };
    unsigned char *b = malloc(N);
    size_t len = 0, got;
    assert_non_null(b);
    conf_dir(c, "read_offset");
    const char *p = conf_path(c, "f");
    conf_put_pattern(c, p, N, 3);

    CHECK(c->ops->open_read(c->fs, p, OFF, &r, &ei));
    for (;;) {
        assert_true(len < N);
        CHECK(c->ops->read(r, b + len, 999 < N - len ? 999 : N - len, &got, &ei));
        if (!got)
            break;
        len += got;
        if (len == N - OFF) {
            /* at EOF: got = 0, and again */
            CHECK(c->ops->read(r, b + len, 100, &got, &ei));
            assert_int_equal(got, 0);
            CHECK(c->ops->read(r, b + len, 100, &got, &ei));
            assert_int_equal(got, 0);
            break;
        }
    }
    c->ops->close_read(r);
    assert_int_equal(len, N - OFF);
    assert_true(conf_check(b, OFF, len, 3));

    /* opened exactly at the end */
    CHECK(c->ops->open_read(c->fs, p, N, &r, &ei));
    CHECK(c->ops->read(r, b, 100, &got, &ei));
    c->ops->close_read(r);
    assert_int_equal(got, 0);
    c->ops->close_read(NULL);
    free(b);
}

void t_open_read_missing(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    conf_dir(c, "open_read_missing");
    EXPECT(ERR_NOT_FOUND, c->ops->open_read(c->fs, conf_path(c, "nope"), 0, &r, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->open_read(c->fs, conf_path(c, "no/such/dir"), 0, &r, &ei));
    assert_int_not_equal(ei.msg[0], 0);    /* the message names the path */
}

void t_rename(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_stat st;
    conf_dir(c, "rename");

    /* to a free name */
    conf_put(c, conf_path(c, "a"), "AAA", 3);
    CHECK(c->ops->rename(c->fs, conf_path(c, "a"), conf_path(c, "b"), &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "a"), &st, &ei));
    conf_expect_bytes(c, conf_path(c, "b"), "AAA", 3);

    /* over an existing file */
    conf_put(c, conf_path(c, "c"), "CCCCC", 5);
    CHECK(c->ops->rename(c->fs, conf_path(c, "c"), conf_path(c, "b"), &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "c"), &st, &ei));
    conf_expect_bytes(c, conf_path(c, "b"), "CCCCC", 5);

    /* missing source */
    EXPECT(ERR_NOT_FOUND, c->ops->rename(c->fs, conf_path(c, "missing"),
                                         conf_path(c, "other"), &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "other"), &st, &ei));

    /* a directory with contents, into an existing directory */
    conf_put(c, conf_path(c, "d/sub/x"), "X", 1);
    CHECK(c->ops->mkdirs(c->fs, conf_path(c, "e"), 0755, &ei));
    CHECK(c->ops->rename(c->fs, conf_path(c, "d"), conf_path(c, "e/d2"), &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "d"), &st, &ei));
    conf_expect_bytes(c, conf_path(c, "e/d2/sub/x"), "X", 1);
}

void t_remove(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_stat st;
    conf_dir(c, "remove");

    conf_put(c, conf_path(c, "f"), "x", 1);
    CHECK(c->ops->remove(c->fs, conf_path(c, "f"), false, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "f"), &st, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->remove(c->fs, conf_path(c, "f"), false, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->remove(c->fs, conf_path(c, "f"), true, &ei));

    conf_put(c, conf_path(c, "t/a/1"), "1", 1);
    conf_put(c, conf_path(c, "t/a/b/2"), "22", 2);
    conf_put(c, conf_path(c, "t/3"), "333", 3);
    if (HAS(c, BE_CAP_EMPTY_DIRS))
        CHECK(c->ops->mkdirs(c->fs, conf_path(c, "t/empty"), 0755, &ei));
    EXPECT(ERR_NOT_EMPTY, c->ops->remove(c->fs, conf_path(c, "t"), false, &ei));
    conf_expect_bytes(c, conf_path(c, "t/a/b/2"), "22", 2);

    if (HAS(c, BE_CAP_EMPTY_DIRS)) {
        CHECK(c->ops->remove(c->fs, conf_path(c, "t/empty"), false, &ei));
        EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "t/empty"), &st, &ei));
    }
    CHECK(c->ops->remove(c->fs, conf_path(c, "t"), true, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "t"), &st, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, conf_path(c, "t/a/1"), &st, &ei));
}

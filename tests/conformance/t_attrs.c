/* t_attrs.c - conformance: attributes (setattr, wsetattr, xattrs),
 * distcp metadata, symlinks, append, copy_range. */
#include "conf.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MTIME_SET 1500000000123000000ll   /* ms-aligned: exact on any store */
#define ATIME_SET 1400000000456000000ll

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void t_setattr(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_stat st;
    struct be_attrs a;
    REQUIRE(c, c->ops->setattr, "setattr is NULL");
    REQUIRE(c, HAS(c, BE_CAP_POSIX_META) || HAS(c, BE_CAP_MTIME),
            "neither BE_CAP_POSIX_META nor BE_CAP_MTIME");
    conf_dir(c, "setattr");
    const char *f = conf_path(c, "f");
    const char *d = conf_path(c, "d");
    conf_put(c, f, "x", 1);
    CHECK(c->ops->mkdirs(c->fs, d, 0755, &ei));

    /* a fresh write has mtime "now" */
    CHECK(c->ops->stat(c->fs, f, &st, &ei));
    int64_t skew = st.mtime_ns - now_ns();
    assert_true(skew < 600000000000ll && skew > -600000000000ll);

    if (HAS(c, BE_CAP_POSIX_META)) {
        memset(&a, 0, sizeof a);
        a.st.mode = 0640;
        CHECK(c->ops->setattr(c->fs, f, &a, BE_ATTR_MODE, &ei));
        CHECK(c->ops->stat(c->fs, f, &st, &ei));
        assert_int_equal(st.mode & 07777, 0640);
        a.st.mode = 0700;
        CHECK(c->ops->setattr(c->fs, d, &a, BE_ATTR_MODE, &ei));
        CHECK(c->ops->stat(c->fs, d, &st, &ei));
        assert_int_equal(st.mode & 07777, 0700);
        a.st.mode = 0755;
        CHECK(c->ops->setattr(c->fs, d, &a, BE_ATTR_MODE, &ei));
    } else {
        print_message("[  NOTE    ] t_setattr on %s: mode part skipped (no BE_CAP_POSIX_META)\n",
                      c->backend);
    }
    if (HAS(c, BE_CAP_MTIME)) {
        memset(&a, 0, sizeof a);
        a.st.mtime_ns = MTIME_SET;
        a.st.atime_ns = ATIME_SET;
        CHECK(c->ops->setattr(c->fs, f, &a, BE_ATTR_TIMES, &ei));
        CHECK(c->ops->stat(c->fs, f, &st, &ei));
        assert_int_equal(st.mtime_ns, MTIME_SET);
        assert_int_equal(st.atime_ns, ATIME_SET);
        /* setting the mode leaves the times alone */
        if (HAS(c, BE_CAP_POSIX_META)) {
            a.st.mode = 0600;
            CHECK(c->ops->setattr(c->fs, f, &a, BE_ATTR_MODE, &ei));
            CHECK(c->ops->stat(c->fs, f, &st, &ei));
            assert_int_equal(st.mtime_ns, MTIME_SET);
        }
        CHECK(c->ops->setattr(c->fs, d, &a, BE_ATTR_TIMES, &ei));
        CHECK(c->ops->stat(c->fs, d, &st, &ei));
        assert_int_equal(st.mtime_ns, MTIME_SET);
    } else {
        print_message("[  NOTE    ] t_setattr on %s: times part skipped (no BE_CAP_MTIME)\n",
                      c->backend);
    }
}

void t_wsetattr(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    struct be_attrs a;
    unsigned what = 0;
    uint64_t size;
    REQUIRE(c, c->ops->wsetattr, "wsetattr is NULL (the engine uses setattr after commit)");
    REQUIRE(c, HAS(c, BE_CAP_POSIX_META) || HAS(c, BE_CAP_MTIME),
            "neither BE_CAP_POSIX_META nor BE_CAP_MTIME");
    conf_dir(c, "wsetattr");
    const char *p = conf_path(c, "f");

    memset(&a, 0, sizeof a);
    if (HAS(c, BE_CAP_POSIX_META)) {
        a.st.mode = 0604;
        what |= BE_ATTR_MODE;
    }
    if (HAS(c, BE_CAP_MTIME)) {
        a.st.mtime_ns = MTIME_SET;
        a.st.atime_ns = ATIME_SET;
        what |= BE_ATTR_TIMES;
    }
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "attrs", 5, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    CHECK(c->ops->wsetattr(w, &a, what, &ei));
    CHECK(c->ops->commit(w, &ei));
    CHECK(c->ops->stat(c->fs, p, &st, &ei));
    if (what & BE_ATTR_MODE)
        assert_int_equal(st.mode & 07777, 0604);
    if (what & BE_ATTR_TIMES)
        assert_int_equal(st.mtime_ns, MTIME_SET);
    conf_expect_bytes(c, p, "attrs", 5);
}

/* Stores that keep owner, group, mode and mtime as metadata (object
 * stores): a writer records them, getattrs gives them back (be_attrs.have),
 * setattr changes only what it is asked to. */
void t_meta_attrs(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_attrs a, got;
    uint64_t size;
    const unsigned all = BE_ATTR_OWNER | BE_ATTR_GROUP | BE_ATTR_MODE | BE_ATTR_TIMES;
    REQUIRE(c, HAS(c, BE_CAP_META_ATTRS), "no BE_CAP_META_ATTRS");
    REQUIRE(c, c->ops->wsetattr && c->ops->setattr && c->ops->getattrs,
            "BE_CAP_META_ATTRS without wsetattr, setattr and getattrs");
    conf_dir(c, "metaattrs");
    const char *p = conf_path(c, "f");
    const char *bare = conf_path(c, "bare");

    memset(&a, 0, sizeof a);
    a.st.uid = 1234;
    a.st.gid = BE_ID_NONE;
    strcpy(a.st.group, "staff group");      /* a name, with a space */
    a.st.mode = 0751;
    a.st.mtime_ns = MTIME_SET + 789;        /* ns kept */
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "attrs", 5, &ei));
    CHECK(c->ops->wsetattr(w, &a, all, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    CHECK(c->ops->commit(w, &ei));
    CHECK(c->ops->getattrs(c->fs, p, all, &got, &ei));
    assert_int_equal(got.have, all);
    assert_int_equal(got.st.uid, 1234);
    assert_string_equal(got.st.owner, "");
    assert_string_equal(got.st.group, "staff group");
    assert_int_equal(got.st.mode, 0751);
    assert_int_equal(got.st.mtime_ns, MTIME_SET + 789);
    be_attrs_release(&got);

    /* setattr: only the mode changes */
    memset(&a, 0, sizeof a);
    a.st.mode = 0600;
    CHECK(c->ops->setattr(c->fs, p, &a, BE_ATTR_MODE, &ei));
    CHECK(c->ops->getattrs(c->fs, p, all, &got, &ei));
    assert_int_equal(got.have, all);
    assert_int_equal(got.st.mode, 0600);
    assert_int_equal(got.st.uid, 1234);
    assert_int_equal(got.st.mtime_ns, MTIME_SET + 789);
    be_attrs_release(&got);
    conf_expect_bytes(c, p, "attrs", 5);

    /* a file written without them has none, and that is no error */
    conf_put(c, bare, "b", 1);
    CHECK(c->ops->getattrs(c->fs, bare, all, &got, &ei));
    assert_int_equal(got.have, 0);
    be_attrs_release(&got);
}

void t_meta(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    char *v = NULL;
    REQUIRE(c, c->ops->getmeta, "getmeta is NULL");
    conf_dir(c, "meta");
    const char *p = conf_path(c, "f");
    bool ran = false;

    if (c->ops->wsetmeta) {
        struct be_create_opts o = conf_opts(c);
        struct be_file *w = NULL;
        uint64_t size;
        CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
        CHECK(c->ops->write(w, 0, "m", 1, &ei));
        CHECK(finish_size(c->ops, w, &size, &ei));
        CHECK(c->ops->wsetmeta(w, "digest", "md5:0123456789abcdef", &ei));
        CHECK(c->ops->commit(w, &ei));
        CHECK(c->ops->getmeta(c->fs, p, "digest", &v, &ei));
        assert_string_equal(v, "md5:0123456789abcdef");
        free(v);
        v = NULL;
        EXPECT(ERR_NOT_FOUND, c->ops->getmeta(c->fs, p, "absent", &v, &ei));
        ran = true;
    }
    if (c->ops->setmeta) {
        const char *q = conf_path(c, "g");
        conf_put(c, q, "g", 1);
        EXPECT(ERR_NOT_FOUND, c->ops->getmeta(c->fs, q, "digest", &v, &ei));
        CHECK(c->ops->setmeta(c->fs, q, "digest", "crc32c:89abcdef", &ei));
        CHECK(c->ops->getmeta(c->fs, q, "digest", &v, &ei));
        assert_string_equal(v, "crc32c:89abcdef");
        free(v);
        v = NULL;
        CHECK(c->ops->setmeta(c->fs, q, "digest", "crc32c:00000000", &ei));
        CHECK(c->ops->getmeta(c->fs, q, "digest", &v, &ei));
        assert_string_equal(v, "crc32c:00000000");
        free(v);
        v = NULL;
        ran = true;
    }
    REQUIRE(c, ran, "wsetmeta and setmeta are NULL");
}

static const struct be_xattr *find_xattr(const struct be_attrs *a, const char *name)
{
    for (size_t i = 0; i < a->nxattrs; i++)
        if (!strcmp(a->xattrs[i].name, name))
            return &a->xattrs[i];
    return NULL;
}

void t_xattr(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_attrs a, got;
    unsigned char big[300];
    REQUIRE(c, HAS(c, BE_CAP_XATTR), "no BE_CAP_XATTR");
    REQUIRE(c, c->ops->getattrs && c->ops->setattr, "getattrs or setattr is NULL");
    conf_dir(c, "xattr");
    const char *p = conf_path(c, "f");
    conf_put(c, p, "x", 1);
    conf_fill(big, 0, sizeof big, 5);

    struct be_xattr xs[2] = {
        { .name = "user.conf.a", .value = (unsigned char *)"alpha\0beta", .len = 10 },
        { .name = "user.conf.b", .value = big, .len = sizeof big },
    };
    memset(&a, 0, sizeof a);
    a.xattrs = xs;
    a.nxattrs = 2;
    int rc = c->ops->setattr(c->fs, p, &a, BE_ATTR_XATTR, &ei);
    REQUIRE(c, rc != ERR_UNSUPPORTED, "the file system under the root refuses user xattrs");
    CHECK(rc);
    CHECK(c->ops->getattrs(c->fs, p, BE_ATTR_XATTR, &got, &ei));
    const struct be_xattr *x = find_xattr(&got, "user.conf.a");
    const struct be_xattr *y = find_xattr(&got, "user.conf.b");
    bool ok = x && y && x->len == 10 && !memcmp(x->value, "alpha\0beta", 10) &&
              y->len == sizeof big && !memcmp(y->value, big, sizeof big);
    be_attrs_release(&got);
    assert_true(ok);

    /* replace one value */
    xs[0].value = (unsigned char *)"z";
    xs[0].len = 1;
    a.nxattrs = 1;
    CHECK(c->ops->setattr(c->fs, p, &a, BE_ATTR_XATTR, &ei));
    CHECK(c->ops->getattrs(c->fs, p, BE_ATTR_XATTR, &got, &ei));
    x = find_xattr(&got, "user.conf.a");
    ok = x && x->len == 1 && x->value[0] == 'z' && find_xattr(&got, "user.conf.b");
    be_attrs_release(&got);
    assert_true(ok);
}

void t_symlink(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_stat st;
    struct conf_listing l;
    char buf[256];
    REQUIRE(c, HAS(c, BE_CAP_SYMLINKS), "no BE_CAP_SYMLINKS");
    REQUIRE(c, c->ops->symlink && c->ops->readlink, "symlink or readlink is NULL");
    conf_dir(c, "symlink");
    const char *p = conf_path(c, "link");

    CHECK(c->ops->symlink(c->fs, "some/target", p, &ei));
    CHECK(c->ops->readlink(c->fs, p, buf, sizeof buf, &ei));
    assert_string_equal(buf, "some/target");
    CHECK(c->ops->stat(c->fs, p, &st, &ei));
    assert_int_equal(st.type, BE_SYMLINK);
    assert_int_equal(st.size, strlen("some/target"));
    EXPECT(ERR_EXISTS, c->ops->symlink(c->fs, "other", p, &ei));

    CHECK(conf_list(c, c->dir, &l, &ei));
    bool ok = l.n == 1 && !strcmp(l.e[0].name, "link") && l.e[0].st.type == BE_SYMLINK;
    conf_listing_free(&l);
    assert_true(ok);

    CHECK(c->ops->remove(c->fs, p, false, &ei));
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));
}

void t_append(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_file *w = NULL;
    struct be_stat st;
    uint64_t size;
    REQUIRE(c, c->ops->open_append, "open_append is NULL");
    conf_dir(c, "append");
    const char *p = conf_path(c, "f");

    conf_put(c, p, "hello", 5);
    CHECK(c->ops->stat(c->fs, p, &st, &ei));
    CHECK(c->ops->open_append(c->fs, p, &w, &ei));
    CHECK(c->ops->write(w, st.size, " world", 6, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, 11);
    CHECK(c->ops->commit(w, &ei));
    conf_expect_bytes(c, p, "hello world", 11);
    CHECK(c->ops->stat(c->fs, p, &st, &ei));
    assert_int_equal(st.size, 11);

    EXPECT(ERR_NOT_FOUND, c->ops->open_append(c->fs, conf_path(c, "missing"), &w, &ei));
}

void t_copy_range(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o;
    struct be_file *r = NULL, *w = NULL;
    enum { N = 3 << 20 };
    uint64_t off = 0, done, size;
    size_t len;
    REQUIRE(c, c->ops->copy_range, "copy_range is NULL (the engine falls back to read/write)");
    conf_dir(c, "copy_range");
    const char *src = conf_path(c, "src");
    const char *dst = conf_path(c, "dst");
    conf_put_pattern(c, src, N, 9);

    o = conf_opts(c);
    CHECK(c->ops->open_read(c->fs, src, 0, &r, &ei));
    CHECK(c->ops->create(c->fs, dst, &o, &w, &ei));
    while (off < N) {
        int rc = c->ops->copy_range(r, off, w, off, N - off, &done, &ei);
        if (rc == ERR_UNSUPPORTED && off == 0) {
            c->ops->close_read(r);
            c->ops->abort(w);
            REQUIRE(c, false, "copy_range says ERR_UNSUPPORTED here");
        }
        if (rc) {
            c->ops->close_read(r);
            c->ops->abort(w);
            CHECK(rc);
        }
        if (!done)
            break;
        off += done;
    }
    c->ops->close_read(r);
    if (off < N) {
        /* the contract lets copy_range stop early: finish with read/write */
        unsigned char *b = malloc(N);
        assert_non_null(b);
        size_t got, have = 0;
        CHECK(c->ops->open_read(c->fs, src, off, &r, &ei));
        do {
            CHECK(c->ops->read(r, b + have, N - off - have, &got, &ei));
            have += got;
        } while (got && have < N - off);
        c->ops->close_read(r);
        CHECK(c->ops->write(w, off, b, have, &ei));
        free(b);
    }
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, N);
    CHECK(c->ops->commit(w, &ei));
    unsigned char *b = conf_get(c, dst, &len);
    assert_int_equal(len, N);
    bool ok = conf_check(b, 0, len, 9);
    free(b);
    assert_true(ok);
}

/* mem_extras.c - the mem backend's own promises beyond the common contract
 * (run by `conformance mem` after the suite): shared stores by name and
 * their lifetime, reader snapshots, the DISTCP_MEM_FAIL / _MAX_BYTES /
 * _MAX_ENTRIES knobs, POSIX-like edge cases, verbatim attributes, and a
 * concurrency smoke test. Each test uses its own store name, so the
 * environment knobs (read when a store or handle opens) stay local to it. */
#include "conf.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct backend_ops *M = &backend_mem;

static struct be_fs *mopen(const char *name)
{
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    char full[128];
    snprintf(full, sizeof full, "%s-%ld", name, (long)getpid());
    CHECK(M->open("mem", full, NULL, &fs, &ei));
    return fs;
}

static int mput(struct be_fs *fs, const char *path, const char *data,
                struct errinfo *ei)
{
    struct be_file *w = NULL;
    struct be_create_opts o = { .tmp_tag = "x" };
    size_t n = strlen(data);
    int rc = M->create(fs, path, &o, &w, ei);
    if (!rc && n)
        rc = M->write(w, 0, data, n, ei);
    if (rc) {
        M->abort(w);
        return rc;
    }
    return M->commit(w, ei);
}

static void mexpect(struct be_fs *fs, const char *path, const char *data)
{
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    char buf[256];
    size_t got, len = 0;
    CHECK(M->open_read(fs, path, 0, &r, &ei));
    do {
        CHECK(M->read(r, buf + len, sizeof buf - 1 - len, &got, &ei));
        len += got;
    } while (got && len < sizeof buf - 1);
    M->close_read(r);
    buf[len] = 0;
    assert_string_equal(buf, data);
}

static void m_shared(void **state)
{
    struct errinfo ei = {0};
    struct be_stat st;
    struct be_fs *a = mopen("shared"), *b = mopen("shared"), *other = mopen("other");
    CHECK(mput(a, "/x", "one", &ei));
    CHECK(M->stat(b, "/x", &st, &ei));
    mexpect(b, "/x", "one");
    EXPECT(ERR_NOT_FOUND, M->stat(other, "/x", &st, &ei));
    assert_string_equal(b->scheme, "mem");
    M->close(a);
    mexpect(b, "/x", "one");           /* still referenced */
    M->close(b);
    b = mopen("shared");                /* last reference went: a new tree */
    EXPECT(ERR_NOT_FOUND, M->stat(b, "/x", &st, &ei));
    M->close(b);
    M->close(other);
    M->close(NULL);
}

static void m_reader_snapshot(void **state)
{
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    char buf[32];
    size_t got;
    struct be_fs *fs = mopen("snap");
    CHECK(mput(fs, "/f", "old", &ei));
    CHECK(M->open_read(fs, "/f", 0, &r, &ei));
    CHECK(mput(fs, "/f", "new contents", &ei));
    CHECK(M->remove(fs, "/f", false, &ei));
    CHECK(M->read(r, buf, sizeof buf, &got, &ei));
    M->close_read(r);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "old", 3);
    /* a reader may outlive its handle */
    CHECK(mput(fs, "/g", "kept", &ei));
    CHECK(M->open_read(fs, "/g", 1, &r, &ei));
    M->close(fs);
    CHECK(M->read(r, buf, sizeof buf, &got, &ei));
    M->close_read(r);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "ept", 3);
}

static void m_fail_knob(void **state)
{
    struct errinfo ei = {0};
    struct be_file *w = NULL, *r = NULL;
    struct be_stat st;
    struct be_create_opts o = { .tmp_tag = "x" };
    struct be_fs *plain = mopen("fail");
    setenv("DISTCP_MEM_FAIL",
           "write:/w,rename:/r*,open_read:/o,stat:/s,commit:/c,mkdirs:/m,"
           "remove:/gone,setattr:/a,create:/cr,read:/rd,list:/l", 1);
    struct be_fs *fs = mopen("fail");
    unsetenv("DISTCP_MEM_FAIL");

    CHECK(M->create(fs, "/w", &o, &w, &ei));
    EXPECT(ERR_IO, M->write(w, 0, "x", 1, &ei));
    assert_non_null(strstr(ei.msg, "/w"));
    M->abort(w);
    CHECK(mput(plain, "/w", "fine", &ei));    /* the other handle is unaffected */

    CHECK(mput(fs, "/r1", "r", &ei));
    EXPECT(ERR_IO, M->rename(fs, "/r1", "/q", &ei));
    CHECK(mput(fs, "/q", "q", &ei));
    EXPECT(ERR_IO, M->rename(fs, "/q", "/r2", &ei));
    CHECK(M->rename(plain, "/r1", "/r3", &ei));

    CHECK(mput(fs, "/o", "o", &ei));
    EXPECT(ERR_IO, M->open_read(fs, "/o", 0, &r, &ei));
    EXPECT(ERR_IO, M->stat(fs, "/s", &st, &ei));
    EXPECT(ERR_IO, mput(fs, "/c", "c", &ei));
    EXPECT(ERR_NOT_FOUND, M->stat(fs, "/c", &st, &ei));
    EXPECT(ERR_IO, M->mkdirs(fs, "/m", 0755, &ei));
    CHECK(mput(fs, "/gone", "g", &ei));
    EXPECT(ERR_IO, M->remove(fs, "/gone", false, &ei));
    CHECK(mput(fs, "/a", "a", &ei));
    struct be_attrs at = { .st.mode = 0600 };
    EXPECT(ERR_IO, M->setattr(fs, "/a", &at, BE_ATTR_MODE, &ei));
    EXPECT(ERR_IO, M->create(fs, "/cr", &o, &w, &ei));
    CHECK(mput(fs, "/rd", "rd", &ei));
    CHECK(M->open_read(fs, "/rd", 0, &r, &ei));
    char buf[4];
    size_t got;
    EXPECT(ERR_IO, M->read(r, buf, sizeof buf, &got, &ei));
    M->close_read(r);
    CHECK(M->mkdirs(fs, "/l", 0755, &ei));
    EXPECT(ERR_IO, M->list(fs, "/l", NULL, NULL, &ei));
    M->close(fs);
    M->close(plain);
}

static void m_no_space(void **state)
{
    struct errinfo ei = {0};
    struct be_file *w = NULL;
    struct be_create_opts o = { .tmp_tag = "x" };
    char big[1001];
    memset(big, 'b', 1000);
    big[1000] = 0;
    setenv("DISTCP_MEM_MAX_BYTES", "1000", 1);
    struct be_fs *fs = mopen("cap");
    unsetenv("DISTCP_MEM_MAX_BYTES");

    CHECK(M->create(fs, "/f", &o, &w, &ei));
    CHECK(M->write(w, 0, big, 600, &ei));
    EXPECT(ERR_NO_SPACE, M->write(w, 600, big, 600, &ei));
    M->abort(w);                              /* gives the 600 back */
    CHECK(mput(fs, "/full", big, &ei));
    EXPECT(ERR_NO_SPACE, mput(fs, "/one", "1", &ei));
    CHECK(M->remove(fs, "/full", false, &ei));
    CHECK(mput(fs, "/one", "1", &ei));
    /* appending copies the old bytes: 1 + 1 + 998 fits, one more does not */
    CHECK(M->open_append(fs, "/one", &w, &ei));
    CHECK(M->write(w, 1, big, 998, &ei));
    EXPECT(ERR_NO_SPACE, M->write(w, 999, big, 1, &ei));
    CHECK(M->commit(w, &ei));
    M->close(fs);

    setenv("DISTCP_MEM_MAX_BYTES", "2K", 1);
    fs = mopen("cap2");
    unsetenv("DISTCP_MEM_MAX_BYTES");
    CHECK(mput(fs, "/a", big, &ei));
    CHECK(mput(fs, "/b", big, &ei));
    EXPECT(ERR_NO_SPACE, mput(fs, "/c", big, &ei));
    M->close(fs);
}

static void m_entries_cap(void **state)
{
    struct errinfo ei = {0};
    setenv("DISTCP_MEM_MAX_ENTRIES", "4", 1);   /* the root is one */
    struct be_fs *fs = mopen("entries");
    unsetenv("DISTCP_MEM_MAX_ENTRIES");
    EXPECT(ERR_NO_SPACE, M->mkdirs(fs, "/a/b/c/d", 0755, &ei));
    CHECK(M->mkdirs(fs, "/a/b/c", 0755, &ei));
    EXPECT(ERR_NO_SPACE, mput(fs, "/a/f", "f", &ei));
    CHECK(M->remove(fs, "/a/b", true, &ei));
    CHECK(mput(fs, "/a/f", "f", &ei));
    M->close(fs);
}

static void m_semantics(void **state)
{
    struct errinfo ei = {0};
    struct be_stat st;
    struct be_file *r = NULL, *w = NULL;
    struct be_create_opts o = { .tmp_tag = "x" };
    char longname[300];
    struct be_fs *fs = mopen("sem");

    CHECK(mput(fs, "/d/f", "f", &ei));
    CHECK(M->stat(fs, "/d/f", &st, &ei));
    assert_int_equal(st.mode, 0644);
    CHECK(M->stat(fs, "/d", &st, &ei));
    assert_int_equal(st.mode, 0755);
    CHECK(M->mkdirs(fs, "/m", 0777, &ei));
    CHECK(M->stat(fs, "/m", &st, &ei));
    assert_int_equal(st.mode, 0755);
    o.mode = 0600;
    CHECK(M->create(fs, "/p", &o, &w, &ei));
    CHECK(M->commit(w, &ei));
    CHECK(M->stat(fs, "/p", &st, &ei));
    assert_int_equal(st.mode, 0600);
    assert_int_equal(st.size, 0);
    o.mode = 0;

    /* symlinks are never followed */
    CHECK(M->symlink(fs, "/d", "/ln", &ei));
    EXPECT(ERR_NOT_DIR, M->stat(fs, "/ln/f", &st, &ei));
    EXPECT(ERR_LOOP, M->open_read(fs, "/ln", 0, &r, &ei));
    EXPECT(ERR_NOT_FOUND, M->symlink(fs, "t", "/nodir/ln", &ei));

    /* rename edge cases */
    EXPECT(ERR_INVAL, M->rename(fs, "/d", "/d/sub", &ei));
    CHECK(M->mkdirs(fs, "/e/x", 0755, &ei));
    EXPECT(ERR_IS_DIR, M->rename(fs, "/d/f", "/e", &ei));
    EXPECT(ERR_NOT_EMPTY, M->rename(fs, "/d", "/e", &ei));
    EXPECT(ERR_NOT_DIR, M->rename(fs, "/e", "/d/f", &ei));
    EXPECT(ERR_NOT_FOUND, M->rename(fs, "/d/f", "/nodir/f", &ei));
    CHECK(M->rename(fs, "/d/f", "/d/f", &ei));
    CHECK(M->rename(fs, "/e/x", "/m", &ei));        /* onto an empty dir */
    EXPECT(ERR_NOT_FOUND, M->stat(fs, "/e/x", &st, &ei));
    conf_expect_type(&(struct conf){ .ops = M, .fs = fs }, "/m", BE_DIR);

    /* paths and roots */
    EXPECT(ERR_INVAL, M->remove(fs, "/", true, &ei));
    EXPECT(ERR_IS_DIR, M->create(fs, "/", &o, &w, &ei));
    EXPECT(ERR_INVAL, M->stat(fs, "relative", &st, &ei));
    EXPECT(ERR_INVAL, M->stat(fs, "/a/../b", &st, &ei));
    EXPECT(ERR_INVAL, M->stat(fs, "/a//b", &st, &ei));
    memset(longname, 'n', sizeof longname);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    EXPECT(ERR_NAME_TOO_LONG, M->stat(fs, longname, &st, &ei));

    /* a file in the way of the parents at commit */
    EXPECT(ERR_NOT_DIR, mput(fs, "/d/f/g", "g", &ei));
    mexpect(fs, "/d/f", "f");

    /* a failed direct write leaves its partial bytes */
    o.direct = true;
    CHECK(M->create(fs, "/direct", &o, &w, &ei));
    CHECK(M->write(w, 0, "partial", 7, &ei));
    M->abort(w);
    mexpect(fs, "/direct", "partial");
    /* an aborted append leaves the old bytes */
    CHECK(M->open_append(fs, "/direct", &w, &ei));
    CHECK(M->write(w, 7, "more", 4, &ei));
    M->abort(w);
    mexpect(fs, "/direct", "partial");
    EXPECT(ERR_IS_DIR, M->open_append(fs, "/m", &w, &ei));
    /* sparse writes are zero-filled */
    o.direct = false;
    CHECK(M->create(fs, "/sparse", &o, &w, &ei));
    CHECK(M->write(w, 3, "x", 1, &ei));
    CHECK(M->commit(w, &ei));
    CHECK(M->open_read(fs, "/sparse", 0, &r, &ei));
    char buf[8];
    size_t got;
    CHECK(M->read(r, buf, sizeof buf, &got, &ei));
    M->close_read(r);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "\0\0\0x", 4);

    /* parent mtime moves when an entry is added */
    struct be_attrs a = { .st.mtime_ns = 1000000000, .st.atime_ns = 1000000000 };
    CHECK(M->setattr(fs, "/d", &a, BE_ATTR_TIMES, &ei));
    CHECK(mput(fs, "/d/new", "n", &ei));
    CHECK(M->stat(fs, "/d", &st, &ei));
    assert_true(st.mtime_ns > 1000000000);
    M->close(fs);
}

static void m_attrs_verbatim(void **state)
{
    struct errinfo ei = {0};
    struct be_attrs a, got;
    struct be_stat st;
    struct be_file *w = NULL;
    char *v = NULL;
    struct be_fs *fs = mopen("attrs");
    CHECK(mput(fs, "/f", "f", &ei));

    memset(&a, 0, sizeof a);
    a.st.uid = 1234;
    a.st.gid = 99;
    snprintf(a.st.owner, sizeof a.st.owner, "alice");
    snprintf(a.st.group, sizeof a.st.group, "staff");
    a.acl = "user::rwx,user:bob:r--,group::r-x,mask::r-x,other::---";
    CHECK(M->setattr(fs, "/f", &a, BE_ATTR_OWNER | BE_ATTR_GROUP | BE_ATTR_ACL, &ei));
    CHECK(M->getattrs(fs, "/f", BE_ATTR_ACL | BE_ATTR_XATTR, &got, &ei));
    assert_int_equal(got.st.uid, 1234);
    assert_int_equal(got.st.gid, 99);
    assert_string_equal(got.st.owner, "alice");
    assert_string_equal(got.st.group, "staff");
    assert_non_null(got.acl);
    assert_string_equal(got.acl, a.acl);
    assert_int_equal(got.nxattrs, 0);
    be_attrs_release(&got);

    /* wsetattr xattrs + wsetmeta reach the file at commit; append keeps them */
    struct be_xattr x = { .name = "user.k", .value = (unsigned char *)"v", .len = 1 };
    struct be_create_opts o = { .tmp_tag = "x" };
    memset(&a, 0, sizeof a);
    a.xattrs = &x;
    a.nxattrs = 1;
    CHECK(M->create(fs, "/g", &o, &w, &ei));
    CHECK(M->wsetattr(w, &a, BE_ATTR_XATTR, &ei));
    CHECK(M->wsetmeta(w, "digest", "d1", &ei));
    CHECK(M->commit(w, &ei));
    CHECK(M->open_append(fs, "/g", &w, &ei));
    CHECK(M->write(w, 0, "tail", 4, &ei));
    CHECK(M->commit(w, &ei));
    CHECK(M->getattrs(fs, "/g", BE_ATTR_XATTR, &got, &ei));
    assert_int_equal(got.nxattrs, 1);
    assert_string_equal(got.xattrs[0].name, "user.k");
    be_attrs_release(&got);
    CHECK(M->getmeta(fs, "/g", "digest", &v, &ei));
    assert_string_equal(v, "d1");
    free(v);
    CHECK(M->setmeta(fs, "/g", "digest", NULL, &ei));     /* NULL deletes */
    EXPECT(ERR_NOT_FOUND, M->getmeta(fs, "/g", "digest", &v, &ei));
    EXPECT(ERR_NOT_FOUND, M->getmeta(fs, "/missing", "digest", &v, &ei));
    /* a replaced file loses the old metadata */
    CHECK(mput(fs, "/f", "again", &ei));
    CHECK(M->setmeta(fs, "/f", "k", "v", &ei));
    CHECK(mput(fs, "/f", "replaced", &ei));
    EXPECT(ERR_NOT_FOUND, M->getmeta(fs, "/f", "k", &v, &ei));
    CHECK(M->stat(fs, "/f", &st, &ei));
    assert_int_equal(st.uid, (uint32_t)geteuid());
    M->close(fs);
}

#define CC_THREADS 4
#define CC_ROUNDS 200

struct cc_arg {
    struct be_fs *fs;
    int idx;
    int rc;
    char msg[1024];
};

static int count_cb(void *arg, const char *name, size_t namelen,
                    const struct be_stat *st)
{
    ++*(int *)arg;
    return ERR_OK;
}

static void *cc_thread(void *p)
{
    struct cc_arg *a = p;
    struct errinfo ei = {0};
    char path[64], path2[64], dir[32];
    struct be_stat st;
    snprintf(dir, sizeof dir, "/cc/t%d", a->idx);
    for (int k = 0; k < CC_ROUNDS && !a->rc; k++) {
        int n = 0;
        snprintf(path, sizeof path, "%s/f%d", dir, k);
        snprintf(path2, sizeof path2, "%s/g%d", dir, k);
        if ((a->rc = mput(a->fs, path, "data", &ei)) ||
            (a->rc = M->stat(a->fs, path, &st, &ei)) ||
            (a->rc = M->list(a->fs, "/cc", count_cb, &n, &ei)) ||
            (a->rc = M->rename(a->fs, path, path2, &ei)) ||
            (a->rc = (k % 2 ? M->remove(a->fs, path2, false, &ei) : ERR_OK)))
            snprintf(a->msg, sizeof a->msg, "%s", ei.msg);
    }
    return NULL;
}

static void m_concurrency(void **state)
{
    struct errinfo ei = {0};
    struct be_fs *fs = mopen("cc");
    struct cc_arg args[CC_THREADS];
    pthread_t th[CC_THREADS];
    struct conf_listing l;
    for (int i = 0; i < CC_THREADS; i++) {
        args[i] = (struct cc_arg){ .fs = fs, .idx = i };
        assert_int_equal(pthread_create(&th[i], NULL, cc_thread, &args[i]), 0);
    }
    for (int i = 0; i < CC_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CC_THREADS; i++)
        if (args[i].rc) {
            print_error("thread %d: %s: %s\n", i, err_name(args[i].rc), args[i].msg);
            fail();
        }
    struct conf c = { .ops = M, .fs = fs };
    CHECK(conf_list(&c, "/cc/t0", &l, &ei));
    size_t n = l.n;
    conf_listing_free(&l);
    assert_int_equal(n, CC_ROUNDS / 2);
    M->close(fs);
}

const struct CMUnitTest mem_extra_tests[] = {
    cmocka_unit_test(m_shared),
    cmocka_unit_test(m_reader_snapshot),
    cmocka_unit_test(m_fail_knob),
    cmocka_unit_test(m_no_space),
    cmocka_unit_test(m_entries_cap),
    cmocka_unit_test(m_semantics),
    cmocka_unit_test(m_attrs_verbatim),
    cmocka_unit_test(m_concurrency),
};
const size_t mem_extra_count = sizeof mem_extra_tests / sizeof *mem_extra_tests;

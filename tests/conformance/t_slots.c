/* t_slots.c - conformance: every required slot is set; the optional slots
 * that have no test of their own elsewhere: the store's checksum (checksum,
 * wchecksum: HDFS MD5-of-MD5-of-CRC32C, docs/testing.md §4), abort_pending
 * (a token announced through be_create_opts.pending is aborted; an unknown
 * or malformed token is a clear error) and server-side whole-file copy
 * (copy_whole + copy_range between two handles on the same store). Stores
 * without a slot skip its test. */
#include "conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/checksum.h"

void t_required_slots(void **state)
{
    struct conf *c = *state;
    const struct backend_ops *o = c->ops;
    const struct { const char *name; bool set; } req[] = {
        {"name", o->name && *o->name}, {"open", o->open}, {"close", o->close},
        {"stat", o->stat}, {"list", o->list}, {"open_read", o->open_read},
        {"read", o->read}, {"close_read", o->close_read}, {"create", o->create},
        {"write", o->write}, {"finish", o->finish}, {"commit", o->commit},
        {"abort", o->abort}, {"mkdirs", o->mkdirs}, {"rename", o->rename},
        {"remove", o->remove},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof req / sizeof *req; i++)
        if (!req[i].set) {
            print_error("%s: required slot %s is NULL\n", c->backend, req[i].name);
            ok = false;
        }
    /* the shared-writer slots come all together or not at all */
    int shared = !!o->wshare + !!o->wjoin + !!o->wjoin_end + !!o->wreceipt;
    if (shared != 0 && shared != 4) {
        print_error("%s: %d of the 4 shared-writer slots are set\n", c->backend, shared);
        ok = false;
    }
    if (o->copy_whole && !o->copy_range) {
        print_error("%s: copy_whole without copy_range\n", c->backend);
        ok = false;
    }
    assert_true(ok);
}

/* The HDFS checksum of `data` as the store's defaults would compute it. */
static void expect_cksum(const struct hdfs_cksum_result *got, const char *algo,
                         const char *hex)
{
    if (strcmp(got->algorithm, algo) || strcmp(got->hex, hex)) {
        print_error("checksum %s %s, expected %s %s\n", got->algorithm, got->hex, algo, hex);
        fail();
    }
}

static void local_cksum(const void *data, size_t n, struct hdfs_cksum_result *out)
{
    struct hdfs_cksum k;
    assert_int_equal(hdfs_cksum_init(&k, HDFS_MD5MD5CRC, HDFS_CRC32C,
                                     HDFS_DEFAULT_BYTES_PER_CRC, HDFS_DEFAULT_BLOCK_SIZE), 0);
    hdfs_cksum_update(&k, data, n);
    assert_int_equal(hdfs_cksum_final(&k, out), 0);
    hdfs_cksum_release(&k);
}

void t_checksum(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct hdfs_cksum_result r;
    REQUIRE(c, c->ops->checksum, "checksum is NULL (callers compute one from the bytes)");
    conf_dir(c, "checksum");

    /* worked value (docs/testing.md §4): "world\n" */
    conf_put(c, conf_path(c, "world"), "world\n", 6);
    CHECK(c->ops->checksum(c->fs, conf_path(c, "world"), &r, &ei));
    expect_cksum(&r, "MD5-of-0MD5-of-512CRC32C",
                 "000002000000000000000000a74dcf6d5ba98e50ae0182c9d5d886fe");

    /* a longer file: the value util/checksum.c computes from the same bytes */
    enum { N = 300000 };
    unsigned char *b = malloc(N);
    struct hdfs_cksum_result want;
    assert_non_null(b);
    conf_fill(b, 0, N, 21);
    conf_put(c, conf_path(c, "pat"), b, N);
    local_cksum(b, N, &want);
    free(b);
    CHECK(c->ops->checksum(c->fs, conf_path(c, "pat"), &r, &ei));
    expect_cksum(&r, want.algorithm, want.hex);

    EXPECT(ERR_NOT_FOUND, c->ops->checksum(c->fs, conf_path(c, "missing"), &r, &ei));
    EXPECT(ERR_IS_DIR, c->ops->checksum(c->fs, c->dir, &r, &ei));
}

void t_wchecksum(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct hdfs_cksum_result r;
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    uint64_t size;
    REQUIRE(c, c->ops->wchecksum, "wchecksum is NULL");
    conf_dir(c, "wchecksum");
    const char *p = conf_path(c, "f");

    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->write(w, 0, "world\n", 6, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    int rc = c->ops->wchecksum(w, &r, &ei);
    if (rc) {
        c->ops->abort(w);
        CHECK(rc);
    }
    CHECK(c->ops->commit(w, &ei));
    expect_cksum(&r, "MD5-of-0MD5-of-512CRC32C",
                 "000002000000000000000000a74dcf6d5ba98e50ae0182c9d5d886fe");
    conf_expect_bytes(c, p, "world\n", 6);
}

struct heard {
    char token[1024];
    int opened, closed;
};

static int on_pending(void *arg, const char *token, bool open, struct errinfo *ei)
{
    struct heard *h = arg;
    if (open) {
        h->opened++;
        snprintf(h->token, sizeof h->token, "%s", token);
    } else {
        h->closed++;
    }
    return ERR_OK;
}

void t_abort_pending(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    struct heard h = {0};
    enum { N = 9 << 20 };   /* over one 8 MiB part: an upload that outlives a killed writer */
    REQUIRE(c, c->ops->abort_pending, "abort_pending is NULL (the store never announces any)");
    conf_dir(c, "abort_pending");
    const char *p = conf_path(c, "f");
    unsigned char *b = malloc(N);
    assert_non_null(b);
    conf_fill(b, 0, N, 5);

    o.pending = on_pending;
    o.pending_arg = &h;
    o.size_hint = N;
    o.shared = true;
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    int rc = c->ops->write(w, 0, b, N, &ei);
    free(b);
    if (rc || !h.opened) {
        c->ops->abort(w);
        CHECK(rc);
        print_error("the writer announced no pending state for %d bytes\n", (int)N);
        fail();
    }
    /* as a sweep after a killed run does: the token alone removes the state */
    rc = c->ops->abort_pending(c->fs, h.token, &ei);
    if (rc == ERR_UNSUPPORTED) {
        /* a server without AbortMultipartUpload (s3rver answers 405): the
         * store must say so plainly, naming the upload; nothing more to check */
        assert_true(ei.msg[0] != 0);
        c->ops->abort(w);
        REQUIRE(c, false, "the server refuses to abort uploads (and says so)");
    }
    CHECK(rc);
    EXPECT(ERR_NOT_FOUND, c->ops->abort_pending(c->fs, h.token, &ei));
    c->ops->abort(w);            /* the owner's abort after that stays quiet */
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));

    /* tokens that name nothing */
    ei.msg[0] = 0;
    assert_int_not_equal(c->ops->abort_pending(c->fs, "not-a-token", &ei), ERR_OK);
    assert_int_not_equal(ei.msg[0], 0);
    char unknown[CONF_PATH_MAX + 64];
    snprintf(unknown, sizeof unknown, "no-such-upload-id %s", conf_path(c, "f") + 1);
    rc = c->ops->abort_pending(c->fs, unknown, &ei);
    assert_true(rc == ERR_NOT_FOUND || rc == ERR_INVAL);
}

static const char *no_config(void *ctx, const char *key)
{
    return NULL;
}

void t_copy_whole(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_fs *other = NULL;
    struct be_file *r = NULL, *w = NULL;
    struct be_create_opts o;
    enum { N = (5 << 20) + 123 };
    uint64_t done = 0, size;
    size_t len;
    struct be_config cfg = { .get = no_config };
    REQUIRE(c, c->ops->copy_whole, "copy_whole is NULL (no server-side whole-file copy)");
    REQUIRE(c, c->ops->copy_whole(c->fs, c->fs), "copy_whole says no within one store");
    conf_dir(c, "copy_whole");
    const char *src = conf_path(c, "src");
    const char *dst = conf_path(c, "dst");
    conf_put_pattern(c, src, N, 17);

    /* a second handle on the same store, as a job opens source and target */
    CHECK(c->ops->open(c->fs->scheme, c->fs->authority, &cfg, &other, &ei));
    assert_ptr_equal(other->ops, c->ops);
    assert_true(c->ops->copy_whole(c->fs, other));
    o = conf_opts(c);
    o.size_hint = N;
    CHECK(c->ops->open_read(c->fs, src, 0, &r, &ei));
    int rc = c->ops->create(other, dst, &o, &w, &ei);
    if (rc == ERR_OK)
        rc = c->ops->copy_range(r, 0, w, 0, N, &done, &ei);
    c->ops->close_read(r);
    if (rc == ERR_OK && done != N) {
        print_error("copy_range copied %llu of %d bytes of a whole-file copy\n",
                    (unsigned long long)done, (int)N);
        rc = ERR_LENGTH_MISMATCH;
    }
    if (rc == ERR_OK)
        rc = finish_size(c->ops, w, &size, &ei);
    if (rc == ERR_OK) {
        rc = c->ops->commit(w, &ei);
        w = NULL;
    }
    c->ops->abort(w);
    c->ops->close(other);
    CHECK(rc);
    assert_int_equal(size, N);
    unsigned char *b = conf_get(c, dst, &len);
    assert_int_equal(len, N);
    bool ok = conf_check(b, 0, len, 17);
    free(b);
    assert_true(ok);
}

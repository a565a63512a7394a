/* t_shared.c - conformance: writers shared across processes (backend.h
 * wshare/wjoin/wjoin_end/wreceipt), as MPI ranks use them for the chunks of
 * one big file. The "other processes" here are joiners on the same be_fs,
 * which is all the contract lets them share: the token. */
#include "conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX 4096
#define RCPT_MAX 65536

/* Join the shared writer `tok` of p, write [off, off + len) of pattern 13,
 * end it; the receipt goes into rc (RCPT_MAX bytes). */
static void join_range(struct conf *c, const char *p, const char *tok, uint64_t off,
                       uint64_t len, bool ok, char *rc_out)
{
    struct errinfo ei = {0};
    struct be_file *j = NULL;
    unsigned char *b = malloc(len);
    assert_non_null(b);
    conf_fill(b, off, len, 13);
    CHECK(c->ops->wjoin(c->fs, p, tok, off, len, &j, &ei));
    /* in two pieces, the second first */
    uint64_t half = len / 2;
    CHECK(c->ops->write(j, off + half, b + half, len - half, &ei));
    if (ok)
        CHECK(c->ops->write(j, off, b, half, &ei));
    if (ok)
        CHECK(c->ops->wjoin_end(j, true, rc_out, RCPT_MAX, &ei));
    else
        c->ops->wjoin_end(j, false, NULL, 0, NULL);
    free(b);
}

void t_shared_write(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct be_create_opts o = conf_opts(c);
    struct be_file *w = NULL;
    struct be_stat st;
    uint64_t align = 0, size = 0;
    REQUIRE(c, c->ops->wshare, "no shared writers (wshare)");
    char *tok = malloc(TOK_MAX), *r1 = malloc(RCPT_MAX), *r2 = malloc(RCPT_MAX);
    assert_true(tok && r1 && r2);
    conf_dir(c, "shared_write");
    const char *p = conf_path(c, "f");

    o.shared = true;
    o.size_hint = 3u << 20;
    CHECK(c->ops->create(c->fs, p, &o, &w, &ei));
    CHECK(c->ops->wshare(w, tok, TOK_MAX, &align, &ei));
    assert_true(align >= 1);
    /* ranges of whole align units, the last one short */
    uint64_t r = ((1u << 20) + align - 1) / align * align;
    uint64_t total = 2 * r + 1000;
    join_range(c, p, tok, 2 * r, 1000, true, r2);
    join_range(c, p, tok, r, r, true, r1);
    unsigned char *b = malloc(r);
    assert_non_null(b);
    conf_fill(b, 0, r, 13);
    CHECK(c->ops->write(w, 0, b, r, &ei));
    free(b);
    CHECK(c->ops->wreceipt(w, r, r, r1, &ei));
    CHECK(c->ops->wreceipt(w, 2 * r, 1000, r2, &ei));
    CHECK(finish_size(c->ops, w, &size, &ei));
    assert_int_equal(size, total);
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, p, &st, &ei));
    CHECK(c->ops->commit(w, &ei));
    size_t len = 0;
    unsigned char *got = conf_get(c, p, &len);
    assert_int_equal(len, (size_t)total);
    bool same = conf_check(got, 0, len, 13);
    free(got);
    assert_true(same);

    /* a joiner that fails mid-range, then the owner aborts: nothing stays */
    const char *q = conf_path(c, "g");
    o = conf_opts(c);
    o.shared = true;
    CHECK(c->ops->create(c->fs, q, &o, &w, &ei));
    CHECK(c->ops->wshare(w, tok, TOK_MAX, &align, &ei));
    join_range(c, q, tok, r, r, false, NULL);
    c->ops->abort(w);
    EXPECT(ERR_NOT_FOUND, c->ops->stat(c->fs, q, &st, &ei));
    struct conf_listing l;
    CHECK(conf_list(c, c->dir, &l, &ei));
    size_t n = l.n;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.e[i].name, "f"))
            print_error("left behind: %s\n", l.e[i].name);
    conf_listing_free(&l);
    assert_int_equal(n, 1);

    /* a token that is not one */
    struct be_file *j = NULL;
    assert_int_not_equal(c->ops->wjoin(c->fs, q, "nonsense", 0, 1, &j, &ei), ERR_OK);
    assert_null(j);
    free(tok);
    free(r1);
    free(r2);
}

/* t_snapshot.c - conformance: the snapshot extension (backend.h struct
 * be_snapshot_ops; issue 5): allow, create (name taken -> ERR_EXISTS),
 * reading a snapshot through the ordinary slots under <dir>/.snapshot/<name>,
 * diff between two snapshots and against the current state, rename,
 * remove (absent -> ERR_NOT_FOUND), the snapshottable-directory list, and
 * disallow. Stores without snapshots skip it. A failure leaves the
 * snapshottable directory behind (it cannot be removed with snapshots). */
#include "conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct diffs {
    char text[2048];   /* "C:b M:a M: R:x>y " ... in answer order */
};

static int on_diff(void *arg, enum be_diff_type type, const char *path, const char *target)
{
    struct diffs *d = arg;
    static const char letter[] = "?CMDR";
    size_t l = strlen(d->text);
    snprintf(d->text + l, sizeof d->text - l, "%c:%s%s%s ", letter[type], path,
             target ? ">" : "", target ? target : "");
    return ERR_OK;
}

struct dirs {
    const char *want;
    bool found;
};

static int on_dir(void *arg, const char *dir, const struct be_stat *st)
{
    struct dirs *d = arg;
    if (!strcmp(dir, d->want) && st->type == BE_DIR)
        d->found = true;
    return ERR_OK;
}

static bool has(const char *text, const char *item)
{
    char b[256];
    snprintf(b, sizeof b, "%s ", item);
    return strstr(text, b) != NULL;
}

void t_snapshot(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    const struct be_snapshot_ops *S = c->ops->snapshots;
    char path[CONF_PATH_MAX], want[CONF_PATH_MAX];
    struct diffs d;
    REQUIRE(c, S, "no snapshot operations");
    const char *dir = conf_dir(c, "snap");
    char sdir[CONF_PATH_MAX - 64];
    snprintf(sdir, sizeof sdir, "%s", dir);
    conf_put(c, conf_path(c, "a"), "old a", 5);
    conf_put(c, conf_path(c, "x"), "xx", 2);

    CHECK(S->allow(c->fs, sdir, true, &ei));
    CHECK(S->create(c->fs, sdir, "s1", path, sizeof path, &ei));
    snprintf(want, sizeof want, "%s/.snapshot/s1", sdir);
    assert_string_equal(path, want);
    EXPECT(ERR_EXISTS, S->create(c->fs, sdir, "s1", NULL, 0, &ei));

    /* change the tree: a rewritten, b created, x renamed to y */
    conf_put(c, conf_path(c, "a"), "new a!", 6);
    conf_put(c, conf_path(c, "b"), "b", 1);
    char xp[CONF_PATH_MAX];
    snprintf(xp, sizeof xp, "%s", conf_path(c, "x"));
    CHECK(c->ops->rename(c->fs, xp, conf_path(c, "y"), &ei));
    CHECK(S->create(c->fs, sdir, "s2", NULL, 0, &ei));

    /* the snapshot reads as the tree was */
    snprintf(path, sizeof path, "%s/.snapshot/s1/a", sdir);
    conf_expect_bytes(c, path, "old a", 5);
    struct conf_listing l = {0};
    snprintf(path, sizeof path, "%s/.snapshot/s1", sdir);
    CHECK(conf_list(c, path, &l, &ei));
    assert_int_equal(l.n, 2); /* a, x */
    conf_listing_free(&l);

    memset(&d, 0, sizeof d);
    CHECK(S->diff(c->fs, sdir, "s1", "s2", on_diff, &d, &ei));
    print_message("diff s1 s2: %s\n", d.text);
    /* a was replaced (temp + rename: a new inode), as distcp writes */
    assert_true(has(d.text, "M:a") || (has(d.text, "C:a") && has(d.text, "D:a")));
    assert_true(has(d.text, "C:b"));
    assert_true(has(d.text, "R:x>y"));
    assert_true(has(d.text, "M:")); /* the root itself is "" */

    /* against the current state ("") */
    CHECK(c->ops->remove(c->fs, conf_path(c, "b"), false, &ei));
    memset(&d, 0, sizeof d);
    CHECK(S->diff(c->fs, sdir, "s2", "", on_diff, &d, &ei));
    assert_true(has(d.text, "D:b"));

    CHECK(S->rename(c->fs, sdir, "s2", "s3", &ei));
    EXPECT(ERR_NOT_FOUND, S->rename(c->fs, sdir, "s2", "s4", &ei));
    snprintf(path, sizeof path, "%s/.snapshot/s3/b", sdir);
    conf_expect_bytes(c, path, "b", 1);

    struct dirs dd = {.want = sdir};
    int rc = S->dirs(c->fs, on_dir, &dd, &ei);
    if (rc != ERR_UNSUPPORTED) { /* gateways cannot list them (webhdfs.c) */
        CHECK(rc);
        assert_true(dd.found);
    }

    CHECK(S->remove(c->fs, sdir, "s1", &ei));
    CHECK(S->remove(c->fs, sdir, "s3", &ei));
    EXPECT(ERR_NOT_FOUND, S->remove(c->fs, sdir, "s1", &ei));
    CHECK(S->allow(c->fs, sdir, false, &ei));
}

/* main.c - `conformance <backend>`: run the backend conformance suite
 * against one store.
 *   local: a fresh mkdtemp directory under /tmp is the root (removed at the end)
 *   mem:   store "conformance-<pid>", root "/"; then mem's own extras.
 *   faulty: faulty+file:// over a fresh mkdtemp directory, no rules: the
 *          wrapper must pass the whole suite unchanged (its ops table is
 *          the one the store hands out, not the scheme table's entry).
 *   s3:    bucket $DISTCP_TEST_S3_BUCKET (endpoint, credentials: AWS_* env),
 *          root "/distcp-conf-<pid>" (made here, removed at the end).
 *   webhdfs: the NameNode at $DISTCP_TEST_WEBHDFS ("host:port"), root
 *          "/distcp-conf-<pid>" (made here, removed at the end).
 * Exit status: cmocka's (the number of failed tests), 2 on bad usage or
 * when the store cannot be opened. */
#include "conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct conf g_conf;       /* the one suite context; tests run serially */

static const char *no_config(void *ctx, const char *key)
{
    return NULL;
}

static int group_setup(void **state)
{
    *state = &g_conf;
    return 0;
}

static int test_setup(void **state)
{
    struct conf *c = *state;
    c->dir[0] = 0;
    return 0;
}

/* Remove whatever the test left in its directory, even after a failure. */
static int test_teardown(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    int rc = ERR_OK;
    if (c->dir[0]) {
        rc = c->ops->remove(c->fs, c->dir, true, &ei);
        if (rc == ERR_NOT_FOUND)
            rc = ERR_OK;
        if (rc)
            print_error("teardown: cannot remove %s: %s\n", c->dir, ei.msg);
        c->dir[0] = 0;
    }
    return rc ? -1 : 0;
}

/* Last test: every test cleaned up after itself, the root is empty. */
static void t_root_clean(void **state)
{
    struct conf *c = *state;
    struct errinfo ei = {0};
    struct conf_listing l;
    CHECK(conf_list(c, c->root, &l, &ei));
    for (size_t i = 0; i < l.n; i++)
        print_error("left behind in %s: %s\n", c->root, l.e[i].name);
    size_t n = l.n;
    conf_listing_free(&l);
    assert_int_equal(n, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

static const struct CMUnitTest tests[] = {
    T(t_stat),
    T(t_mkdirs),
    T(t_list_empty),
    T(t_list_many),
    T(t_list_abort),
    T(t_list_errors),
    T(t_write_commit),
    T(t_write_abort),
    T(t_commit_replaces),
    T(t_commit_parents),
    T(t_commit_over_dir),
    T(t_direct),
    T(t_parallel_write),
    T(t_shared_write),
    T(t_read_offset),
    T(t_open_read_missing),
    T(t_rename),
    T(t_remove),
    T(t_setattr),
    T(t_wsetattr),
    T(t_meta_attrs),
    T(t_meta),
    T(t_xattr),
    T(t_symlink),
    T(t_append),
    T(t_copy_range),
    T(t_required_slots),
    T(t_checksum),
    T(t_wchecksum),
    T(t_abort_pending),
    T(t_copy_whole),
    T(t_snapshot),
    T(t_root_clean),
};

int main(int argc, char **argv)
{
    struct conf *c = &g_conf;
    struct errinfo ei = {0};
    struct be_config cfg = { .get = no_config, .ctx = NULL };
    char group[64];
    int failed = 2;
    bool made_root = false;

    if (argc != 2 || (strcmp(argv[1], "local") && strcmp(argv[1], "mem") &&
                      strcmp(argv[1], "faulty") && strcmp(argv[1], "webhdfs") &&
                      strcmp(argv[1], "s3"))) {
        fprintf(stderr, "usage: conformance local|mem|faulty|webhdfs|s3\n");
        return 2;
    }
    c->backend = argv[1];
    /* faulty: a directory like local's; rules from the environment are not
     * wanted here (the suite checks the wrapper changes nothing) */
    bool tmp_root = !strcmp(argv[1], "local") || !strcmp(argv[1], "faulty");
    if (!strcmp(argv[1], "faulty"))
        unsetenv("DISTCP_FAULTY_RULES");
    if (tmp_root) {
        c->scheme = strcmp(argv[1], "faulty") ? "file" : "faulty+file";
        c->authority[0] = 0;
        snprintf(c->root, sizeof c->root, "/tmp/distcp-conf-XXXXXX");
        if (!mkdtemp(c->root)) {
            perror("mkdtemp");
            return 2;
        }
        made_root = true;
    } else if (!strcmp(argv[1], "webhdfs")) {
        /* DISTCP_TEST_WEBHDFS_URL=<scheme>://<authority>[<gateway prefix>], e.g.
         * swebhdfs://h:p or https://h:p/gateway/sandbox/webhdfs/v1, wins over
         * DISTCP_TEST_WEBHDFS=host:port[,host:port]. */
        const char *nn = getenv("DISTCP_TEST_WEBHDFS");
        const char *url = getenv("DISTCP_TEST_WEBHDFS_URL");
        static char scheme[16];
        const char *sep = url ? strstr(url, "://") : NULL;
        if (sep && (size_t)(sep - url) < sizeof scheme) {
            snprintf(scheme, sizeof scheme, "%.*s", (int)(sep - url), url);
            const char *a = sep + 3, *pfx = strchr(a, '/');
            snprintf(c->authority, sizeof c->authority, "%.*s",
                     (int)(pfx ? (size_t)(pfx - a) : strlen(a)), a);
            snprintf(c->root, sizeof c->root, "%s/distcp-conf-%ld", pfx ? pfx : "",
                     (long)getpid());
            c->scheme = scheme;
        } else if (nn && *nn) {
            c->scheme = "webhdfs";
            snprintf(c->authority, sizeof c->authority, "%s", nn);
            snprintf(c->root, sizeof c->root, "/distcp-conf-%ld", (long)getpid());
        } else {
            fprintf(stderr, "conformance: set DISTCP_TEST_WEBHDFS=host:port or "
                    "DISTCP_TEST_WEBHDFS_URL=scheme://host:port[/prefix]\n");
            return 2;
        }
        made_root = true;
    } else if (!strcmp(argv[1], "s3")) {
        /* s3: bucket $DISTCP_TEST_S3_BUCKET; endpoint, region and credentials
         * from the usual AWS_* environment (AWS_ENDPOINT_URL, ...). */
        const char *b = getenv("DISTCP_TEST_S3_BUCKET");
        if (!b || !*b) {
            fprintf(stderr, "conformance: set DISTCP_TEST_S3_BUCKET and AWS_ENDPOINT_URL, "
                    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\n");
            return 2;
        }
        c->scheme = "s3a";
        snprintf(c->authority, sizeof c->authority, "%s", b);
        snprintf(c->root, sizeof c->root, "/distcp-conf-%ld", (long)getpid());
        made_root = true;
    } else {
        c->scheme = "mem";
        snprintf(c->authority, sizeof c->authority, "conformance-%ld",
                 (long)getpid());
        snprintf(c->root, sizeof c->root, "/");
    }
    /* gateway URLs (http/https) are served by the webhdfs backend */
    c->ops = backend_for_scheme(!strcmp(c->backend, "webhdfs") ? "webhdfs" : c->scheme, &ei);
    if (!c->ops) {
        fprintf(stderr, "conformance: no backend for '%s': %s\n", c->scheme,
                ei.msg);
        goto out;
    }
    if (c->ops->open(c->scheme, c->authority, &cfg, &c->fs, &ei)) {
        fprintf(stderr, "conformance: cannot open %s store: %s\n", c->backend,
                ei.msg);
        goto out;
    }
    if (!strcmp(c->backend, "faulty"))
        c->ops = c->fs->ops;       /* the store's table: the inner backend's slots */
    if (c->fs->ops != c->ops) {
        fprintf(stderr, "conformance: open() did not set be_fs.ops\n");
        goto out;
    }
    if (made_root && !tmp_root &&
        c->ops->mkdirs(c->fs, c->root, 0755, &ei)) {
        fprintf(stderr, "conformance: cannot make %s: %s\n", c->root, ei.msg);
        goto out;
    }
    snprintf(group, sizeof group, "conformance.%s", c->backend);
    failed = _cmocka_run_group_tests(group, tests, sizeof tests / sizeof *tests,
                                     group_setup, NULL);
    if (!strcmp(c->backend, "mem"))
        failed += _cmocka_run_group_tests("conformance.mem-extras",
                                          mem_extra_tests, mem_extra_count,
                                          group_setup, NULL);
out:
    if (made_root) {
        int rc = c->fs ? c->ops->remove(c->fs, c->root, true, &ei) : ERR_IO;
        if (rc != ERR_OK && rc != ERR_NOT_FOUND && !tmp_root) {
            fprintf(stderr, "conformance: cannot remove %s: %s\n", c->root, ei.msg);
        } else if (rc != ERR_OK && rc != ERR_NOT_FOUND) {
            /* the backend could not: make sure nothing stays in /tmp */
            char cmd[CONF_PATH_MAX * 2 + 64];
            fprintf(stderr, "conformance: removing %s: %s\n", c->root, ei.msg);
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->root);
            if (system(cmd) != 0)
                fprintf(stderr, "conformance: cannot remove %s\n", c->root);
        }
    }
    if (c->fs)
        c->ops->close(c->fs);
    return failed;
}

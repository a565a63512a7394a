/* test_engine_run.c - whole jobs through the engine's public entry
 * (job_run on options parsed by cli_parse), in process, on mem:// and
 * faulty+mem:// stores (docs/testing.md §2): a tree copy, -update skipping,
 * -delete, -atomic, read faults with and without -i, write and list faults,
 * a source that shrinks while it is copied, and stores whose optional slots
 * are hidden so the engine's fallbacks run. Every job runs unrecorded
 * (--job-store none) with --json; the counters are read back from that JSON
 * (stdout is captured per job), the messages from stderr.
 *
 * Each test uses its own mem store (named after the test and the pid) and
 * keeps one handle on it open for its whole length (a mem store lives as
 * long as a handle does). Test build only: links mem:// and faulty://. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cmd/cli.h"
#include "engine/job.h"
#include "engine/options.h"

struct store {
    struct be_fs *fs;        /* the open handle that keeps the store alive */
    char name[96];           /* mem store name */
};

struct result {
    int status;              /* job_run's exit status */
    json_t *doc;             /* the --json summary */
    char *err;               /* everything written to stderr */
};

static void store_open(struct store *s, const char *test)
{
    struct errinfo ei = {0};
    char uri[160], *path = NULL;
    snprintf(s->name, sizeof s->name, "%s-%ld", test, (long)getpid());
    snprintf(uri, sizeof uri, "mem://%s/", s->name);
    if (backend_open_uri(uri, NULL, &s->fs, &path, &ei))
        fail_msg("open %s: %s", uri, ei.msg);
    free(path);
}

static void put(struct store *s, const char *path, const void *data, size_t n)
{
    struct errinfo ei = {0};
    struct be_file *w = NULL;
    struct be_create_opts o = { .tmp_tag = "t" };
    const struct backend_ops *ops = s->fs->ops;
    if (ops->create(s->fs, path, &o, &w, &ei) || (n && ops->write(w, 0, data, n, &ei)) ||
        ops->commit(w, &ei))
        fail_msg("put %s: %s", path, ei.msg);
}

static void put_pattern(struct store *s, const char *path, size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i * 131 + seed * 7) ^ (i >> 9));
    put(s, path, b, n);
    free(b);
}

/* The bytes of path (malloc'd), NULL when absent. */
static unsigned char *get(struct store *s, const char *path, size_t *n)
{
    struct errinfo ei = {0};
    struct be_file *r = NULL;
    const struct backend_ops *ops = s->fs->ops;
    size_t cap = 1 << 16, len = 0, got = 0;
    unsigned char *b = NULL;
    if (ops->open_read(s->fs, path, 0, &r, &ei))
        return NULL;
    do {
        if (!b || len == cap) {
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
        if (ops->read(r, b + len, cap - len, &got, &ei))
            fail_msg("read %s: %s", path, ei.msg);
        len += got;
    } while (got);
    ops->close_read(r);
    *n = len;
    return b;
}

static bool exists(struct store *s, const char *path)
{
    struct be_stat st;
    return s->fs->ops->stat(s->fs, path, &st, NULL) == ERR_OK;
}

/* The two files hold the same bytes. */
static void same(struct store *s, const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = get(s, a, &na), *y = get(s, b, &nb);
    if (!x || !y || na != nb || memcmp(x, y, na))
        fail_msg("%s and %s differ (%zu / %zu bytes)", a, b, na, nb);
    free(x);
    free(y);
}

/* Names under dir holding `needle` (a temp file, a work dir), recursively. */
struct scan {
    struct store *s;
    const char *needle;
    int found;
    char dir[1024];
};

static int scan_cb(void *arg, const char *name, size_t len, const struct be_stat *st)
{
    struct scan *sc = arg;
    if (strstr(name, sc->needle))
        sc->found++;
    if (st->type == BE_DIR) {
        struct scan sub = *sc;
        size_t dl = strlen(sc->dir);
        if (dl + 1 + len >= sizeof sub.dir)
            return ERR_TOO_LONG;
        sub.dir[dl] = '/';
        memcpy(sub.dir + dl + 1, name, len);
        sub.dir[dl + 1 + len] = 0;
        sub.found = 0;
        sc->s->fs->ops->list(sc->s->fs, sub.dir, scan_cb, &sub, NULL);
        sc->found += sub.found;
    }
    return ERR_OK;
}

static int count_named(struct store *s, const char *dir, const char *needle)
{
    struct scan sc = { .s = s, .needle = needle };
    snprintf(sc.dir, sizeof sc.dir, "%s", dir);
    s->fs->ops->list(s->fs, dir, scan_cb, &sc, NULL);
    return sc.found;
}

static char *slurp(FILE *f)
{
    long n;
    fflush(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    char *b = calloc(1, (size_t)n + 1);
    assert_non_null(b);
    if (n && fread(b, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read back captured output");
    return b;
}

/* Run `distcp --json --job-store none args...`; NULL ends args. */
static struct result run(const char *first, ...)
{
    struct result r = {0};
    char *argv[64];
    int argc = 0;
    char err[2048] = "";
    va_list ap;
    argv[argc++] = "--json";
    argv[argc++] = "--job-store";
    argv[argc++] = "none";
    va_start(ap, first);
    for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    struct options o;
    options_init(&o);
    if (cli_parse(argc, argv, &o, err, sizeof err, NULL) != CLI_OK)
        fail_msg("cli_parse: %s", err);
    FILE *out = tmpfile(), *errf = tmpfile();
    assert_true(out && errf);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(out), 1);
    dup2(fileno(errf), 2);
    r.status = (int)job_run(&o, NULL);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    options_release(&o);
    char *text = slurp(out);
    r.err = slurp(errf);
    fclose(out);
    fclose(errf);
    json_error_t je;
    r.doc = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
    if (!r.doc)
        fail_msg("no JSON summary (%s) in '%s'; stderr:\n%s", je.text, text, r.err);
    free(text);
    return r;
}

static uint64_t counter(const struct result *r, const char *key)
{
    json_t *v = json_object_get(json_object_get(r->doc, "counters"), key);
    if (!json_is_integer(v))
        fail_msg("no counter %s", key);
    return (uint64_t)json_integer_value(v);
}

static void result_free(struct result *r)
{
    json_decref(r->doc);
    free(r->err);
}

static void expect_status(const struct result *r, int status)
{
    if (r->status != status)
        fail_msg("exit %d, expected %d; stderr:\n%s", r->status, status, r->err);
}

/* A small tree: 3 files (one of 200 000 bytes), a nested and an empty dir. */
static void make_src(struct store *s)
{
    put(s, "/src/a", "alpha", 5);
    put_pattern(s, "/src/d/big", 200000, 1);
    put(s, "/src/d/e/empty", "", 0);
    assert_int_equal(s->fs->ops->mkdirs(s->fs, "/src/void", 0755, NULL), ERR_OK);
}

static void uri(char *buf, size_t n, const char *scheme, const struct store *s, const char *p)
{
    snprintf(buf, n, "%s://%s%s", scheme, s->name, p);
}

/* ------------------------------------------------------------ the tests */

static void t_tree_copy_update_delete(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "tree");
    make_src(&s);
    uri(src, sizeof src, "mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/dst");

    struct result r = run(src, dst, NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "COPY"), 3);
    assert_int_equal(counter(&r, "BYTESCOPIED"), 200005);
    assert_int_equal(counter(&r, "FAIL"), 0);
    same(&s, "/src/a", "/dst/a");
    same(&s, "/src/d/big", "/dst/d/big");
    same(&s, "/src/d/e/empty", "/dst/d/e/empty");
    assert_true(exists(&s, "/dst/void"));
    assert_int_equal(count_named(&s, "/dst", ".distcp.tmp"), 0);
    result_free(&r);

    /* -update: nothing changed, everything skipped */
    r = run("-update", src, dst, NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "COPY"), 0);
    assert_int_equal(counter(&r, "SKIP"), 3);
    result_free(&r);

    /* -update -delete: one changed file copied, one extra removed */
    put(&s, "/src/a", "ALPHA!", 6);
    put(&s, "/dst/extra", "x", 1);
    r = run("-update", "-delete", src, dst, NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "COPY"), 1);
    assert_int_equal(counter(&r, "DELETED"), 1);
    assert_false(exists(&s, "/dst/extra"));
    same(&s, "/src/a", "/dst/a");
    result_free(&r);
    backend_close(s.fs);
}

static void t_atomic(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "atomic");
    make_src(&s);
    uri(src, sizeof src, "mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/out/dst");
    assert_int_equal(s.fs->ops->mkdirs(s.fs, "/out", 0755, NULL), ERR_OK);
    struct result r = run("-atomic", src, dst, NULL);
    expect_status(&r, 0);
    same(&s, "/src/d/big", "/out/dst/d/big");
    /* the work directory is gone: /out holds the target alone */
    assert_int_equal(count_named(&s, "/out", "distcp"), 0);
    result_free(&r);

    /* a failure under -atomic leaves no target at all */
    char fsrc[256], fdst[256];
    uri(fsrc, sizeof fsrc, "faulty+mem", &s, "/src");
    uri(fdst, sizeof fdst, "mem", &s, "/out/dst2");
    r = run("-D", "distcp.faulty.rules=open_read:*/big:err=ACCESS", "-atomic", fsrc, fdst, NULL);
    expect_status(&r, JOB_FAILED);
    assert_false(exists(&s, "/out/dst2"));
    assert_int_equal(count_named(&s, "/out", "distcp"), 0);
    result_free(&r);
    backend_close(s.fs);
}

static void t_read_fault(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "readfault");
    make_src(&s);
    uri(src, sizeof src, "faulty+mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/dst");

    /* with -i: counted as FAIL, the rest copied, the job succeeds */
    struct result r = run("-D", "distcp.faulty.rules=open_read:*/big:err=ACCESS", "-i", src, dst,
                          NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "COPY"), 2);
    assert_int_equal(counter(&r, "FAIL"), 1);
    assert_int_equal(counter(&r, "BYTESFAILED"), 200000);
    assert_false(exists(&s, "/dst/d/big"));
    same(&s, "/src/a", "/dst/a");
    assert_non_null(strstr(r.err, "Permission denied (injected fault)"));
    result_free(&r);

    /* without -i, failing in the middle of the data: the job fails and no
     * half-written file is visible, no temp file stays */
    uri(dst, sizeof dst, "mem", &s, "/dst2");
    r = run("-D", "distcp.faulty.rules=read:*/big:err=ACCESS,after=2;read:*/big:piece=4096",
            src, dst, NULL);
    expect_status(&r, JOB_FAILED);
    assert_false(exists(&s, "/dst2/d/big"));
    assert_int_equal(count_named(&s, "/", ".distcp.tmp"), 0);
    assert_non_null(strstr(r.err, "/src/d/big"));
    result_free(&r);
    backend_close(s.fs);
}

static void t_write_fault(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "writefault");
    make_src(&s);
    uri(src, sizeof src, "mem", &s, "/src");
    uri(dst, sizeof dst, "faulty+mem", &s, "/dst");
    /* a write failure is never ignored, not even with -i */
    struct result r = run("-D", "distcp.faulty.rules=write:*/big:err=NO_SPACE", "-i", src, dst,
                          NULL);
    expect_status(&r, JOB_FAILED);
    assert_false(exists(&s, "/dst/d/big"));
    assert_int_equal(count_named(&s, "/dst", ".distcp.tmp"), 0);
    assert_non_null(strstr(r.err, "No space left on device (injected fault)"));
    result_free(&r);

    /* a commit that fails: the file never appears under its name */
    uri(dst, sizeof dst, "faulty+mem", &s, "/dst2");
    r = run("-D", "distcp.faulty.rules=commit:*/a:err=IO", src, dst, NULL);
    expect_status(&r, JOB_FAILED);
    assert_false(exists(&s, "/dst2/a"));
    result_free(&r);
    backend_close(s.fs);
}

static void t_list_fault(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "listfault");
    make_src(&s);
    uri(src, sizeof src, "faulty+mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/dst");
    struct result r = run("-D", "distcp.faulty.rules=list:/src/d:err=ACCESS", src, dst, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "cannot list 'mem://"));
    assert_non_null(strstr(r.err, "/src/d': Permission denied (injected fault)"));
    assert_false(exists(&s, "/dst/d/big"));
    result_free(&r);
    backend_close(s.fs);
}

static void t_short_read(void **state)
{
    struct store s;
    char src[256], dst[256];
    store_open(&s, "shortread");
    make_src(&s);
    uri(src, sizeof src, "faulty+mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/dst");
    /* the source "shrinks" after the listing: a per-file failure */
    struct result r = run("-D", "distcp.faulty.rules=open_read:*/big:short=1000", "-i", src, dst,
                          NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "FAIL"), 1);
    assert_int_equal(counter(&r, "COPY"), 2);
    assert_false(exists(&s, "/dst/d/big"));
    result_free(&r);
    /* legal partial reads (tiny pieces) change nothing */
    uri(dst, sizeof dst, "mem", &s, "/dst2");
    r = run("-D", "distcp.faulty.rules=read:*:piece=777", src, dst, NULL);
    expect_status(&r, 0);
    same(&s, "/src/d/big", "/dst2/d/big");
    result_free(&r);
    backend_close(s.fs);
}

/* Optional slots hidden on both sides: no digest metadata, no append, no
 * fast paths, then every optional slot; the bytes still come out right. */
static void t_missing_slots(void **state)
{
    struct store s;
    char src[256], dst[256], u[256], *path = NULL;
    struct errinfo ei = {0};
    struct be_fs *f = NULL;
    store_open(&s, "missing");
    make_src(&s);
    struct be_attrs a = { .st = { .mtime_ns = 1500000000123456789LL,
                                  .atime_ns = 1500000000123456789LL } };
    assert_int_equal(s.fs->ops->setattr(s.fs, "/src/a", &a, BE_ATTR_TIMES, &ei), 0);

    setenv("DISTCP_FAULTY_RULES", "missing=wsetmeta|open_append|copy_range|getmeta", 1);
    uri(u, sizeof u, "faulty+mem", &s, "/");
    assert_int_equal(backend_open_uri(u, NULL, &f, &path, &ei), 0);
    assert_null(f->ops->wsetmeta);
    assert_null(f->ops->open_append);
    assert_non_null(f->ops->wsetattr);
    backend_close(f);
    free(path);

    uri(src, sizeof src, "faulty+mem", &s, "/src");
    uri(dst, sizeof dst, "faulty+mem", &s, "/dst");
    struct result r = run("-pt", src, dst, NULL);
    expect_status(&r, 0);
    same(&s, "/src/d/big", "/dst/d/big");
    /* directories get their times through setattr (dir_attributes) */
    struct be_stat st, sst;
    assert_int_equal(s.fs->ops->stat(s.fs, "/src/d", &sst, &ei), 0);
    assert_int_equal(s.fs->ops->stat(s.fs, "/dst/d", &st, &ei), 0);
    assert_int_equal(st.mtime_ns, sst.mtime_ns);
    result_free(&r);

    /* -update -append without open_append: a clear per-file failure (as
     * Hadoop's on a store that cannot append); plain -update copies the
     * grown file whole */
    unsigned char more[300000];
    size_t n = 0;
    unsigned char *old = get(&s, "/src/d/big", &n);
    memcpy(more, old, n);
    memset(more + n, 'z', sizeof more - n);
    free(old);
    put(&s, "/src/d/big", more, sizeof more);
    r = run("-update", "-append", src, dst, NULL);
    expect_status(&r, JOB_FAILED);
    assert_non_null(strstr(r.err, "cannot append to '/dst/d/big': not supported by this store"));
    result_free(&r);
    r = run("-update", src, dst, NULL);
    expect_status(&r, 0);
    assert_int_equal(counter(&r, "COPY"), 1);
    assert_int_equal(counter(&r, "BYTESCOPIED"), sizeof more);
    same(&s, "/src/d/big", "/dst/d/big");
    result_free(&r);
    unsetenv("DISTCP_FAULTY_RULES");

    /* "missing=optional" hides every optional slot; required ones stay */
    setenv("DISTCP_FAULTY_RULES", "missing=optional", 1);
    assert_int_equal(backend_open_uri(u, NULL, &f, &path, &ei), 0);
    assert_null(f->ops->setattr);
    assert_null(f->ops->symlink);
    assert_non_null(f->ops->rename);
    backend_close(f);
    free(path);
    uri(dst, sizeof dst, "faulty+mem", &s, "/dst3");
    r = run(src, dst, NULL);
    expect_status(&r, 0);
    same(&s, "/src/d/big", "/dst3/d/big");
    result_free(&r);
    unsetenv("DISTCP_FAULTY_RULES");
    backend_close(s.fs);
}

/* backend.h: "wsetattr ... Optional: when NULL the engine calls setattr()
 * on the final path after commit" (copy.c copy_commit). Every real backend
 * has wsetattr, so only a store with the slot hidden shows the fallback:
 * -pt must keep the file's time there too. */
static void t_preserve_without_wsetattr(void **state)
{
    struct store s;
    char src[256], dst[256];
    struct errinfo ei = {0};
    struct be_stat st;
    store_open(&s, "nowsetattr");
    put(&s, "/src/a", "alpha", 5);
    struct be_attrs a = { .st = { .mtime_ns = 1500000000123456789LL,
                                  .atime_ns = 1500000000123456789LL } };
    assert_int_equal(s.fs->ops->setattr(s.fs, "/src/a", &a, BE_ATTR_TIMES, &ei), 0);
    uri(src, sizeof src, "mem", &s, "/src");
    uri(dst, sizeof dst, "mem", &s, "/with");
    struct result r = run("-pt", src, dst, NULL);     /* with wsetattr: kept */
    expect_status(&r, 0);
    assert_int_equal(s.fs->ops->stat(s.fs, "/with/a", &st, &ei), 0);
    assert_int_equal(st.mtime_ns, 1500000000123456789LL);
    result_free(&r);

    uri(dst, sizeof dst, "faulty+mem", &s, "/without");
    r = run("-D", "distcp.faulty.rules=missing=wsetattr", "-pt", src, dst, NULL);
    expect_status(&r, 0);
    assert_int_equal(s.fs->ops->stat(s.fs, "/without/a", &st, &ei), 0);
    result_free(&r);
    backend_close(s.fs);
    assert_int_equal(st.mtime_ns, 1500000000123456789LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_tree_copy_update_delete),
        cmocka_unit_test(t_atomic),
        cmocka_unit_test(t_read_fault),
        cmocka_unit_test(t_write_fault),
        cmocka_unit_test(t_list_fault),
        cmocka_unit_test(t_short_read),
        cmocka_unit_test(t_missing_slots),
        cmocka_unit_test(t_preserve_without_wsetattr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_local.c - unit tests of the local backend (src/backend/local/) and
 * the scheme table / URI helpers (src/backend/backend.c).
 *
 * Everything happens in a mkdtemp directory under /tmp (or under
 * $DISTCP_TEST_DIR, to try another file system), removed at the end.
 * Tests that need user xattrs or ACLs skip with a printed reason when the
 * file system lacks them; ownership tests run only as root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <acl/libacl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/backend.h"


/* finish() reports a be_stat; most tests only want the size. */
static inline int finish_size(const struct backend_ops *ops, struct be_file *w,
                              uint64_t *size, struct errinfo *ei)
{
    struct be_stat st;
    int rc = ops->finish(w, &st, ei);
    if (rc == ERR_OK)
        *size = st.size;
    return rc;
}

static char root[256];
static struct be_fs *fs;
static const struct backend_ops *ops;

/* A path under the test root (ring of buffers: valid for a few calls). */
static const char *P(const char *fmt, ...)
{
    static char ring[16][1024];
    static int next;
    char *b = ring[next++ % 16];
    int n = snprintf(b, 1024, "%s/", root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, 1024 - (size_t)n, fmt, ap);
    va_end(ap);
    return b;
}

static void put(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static char *get(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat s;
    fstat(fd, &s);
    char *b = malloc((size_t)s.st_size + 1);
    assert_non_null(b);
    assert_int_equal(read(fd, b, (size_t)s.st_size), s.st_size);
    b[s.st_size] = 0;
    *n = (size_t)s.st_size;
    close(fd);
    return b;
}

static bool exists(const char *path)
{
    struct stat s;
    return lstat(path, &s) == 0;
}

static int count_temps(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '^\\.distcp\\.tmp\\.' || true", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static int setup_all(void **state)
{
    umask(022);
    const char *base = getenv("DISTCP_TEST_DIR"); /* to try other file systems */
    snprintf(root, sizeof root, "%s/distcp-test-local-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root))
        return -1;
    struct errinfo ei;
    char *p = NULL;
    if (backend_open_uri(root, NULL, &fs, &p, &ei) != ERR_OK)
        return -1;
    free(p);
    ops = fs->ops;
    return 0;
}

static int teardown_all(void **state)
{
    struct errinfo ei;
    int rc = ops->remove(fs, root, true, &ei);
    backend_close(fs);
    return rc;
}

/* stat -------------------------------------------------------------------- */

static void t_stat(void **state)
{
    struct be_stat st;
    struct errinfo ei;
    assert_int_equal(mkdir(P("st"), 0755), 0);
    put(P("st/f"), "hello", 5);
    assert_int_equal(symlink("f", P("st/l")), 0);

    assert_int_equal(ops->stat(fs, P("st/f"), &st, &ei), ERR_OK);
    assert_int_equal(st.type, BE_FILE);
    assert_int_equal(st.size, 5);
    assert_int_equal(st.mode, 0644);
    assert_int_equal(st.uid, getuid());
    assert_string_equal(st.owner, "");
    assert_true(st.mtime_ns > 0);
    assert_true(st.ino != 0);
    assert_int_equal(st.nlink, 1);

    assert_int_equal(ops->stat(fs, P("st"), &st, &ei), ERR_OK);
    assert_int_equal(st.type, BE_DIR);

    assert_int_equal(ops->stat(fs, P("st/l"), &st, &ei), ERR_OK);
    assert_int_equal(st.type, BE_SYMLINK);
    assert_int_equal(st.size, 1);

    assert_int_equal(ops->stat(fs, P("st/missing"), &st, &ei), ERR_NOT_FOUND);
    assert_non_null(strstr(ei.msg, "cannot stat '"));
    assert_non_null(strstr(ei.msg, "st/missing': No such file or directory"));
    assert_int_equal(ops->stat(fs, P("st/f/x"), &st, &ei), ERR_NOT_FOUND);
}

/* list -------------------------------------------------------------------- */

#define NLIST 5000
struct seen {
    unsigned char hit[NLIST];
    int dups, others, files;
};

static int list_cb(void *arg, const char *name, size_t len, const struct be_stat *st)
{
    struct seen *s = arg;
    int i;
    if (len >= 2 && sscanf(name, "e%d", &i) == 1 && i >= 0 && i < NLIST) {
        if (s->hit[i]++)
            s->dups++;
        if (st->type == BE_FILE && st->size == (uint64_t)(i % 7))
            s->files++;
    } else {
        s->others++;
    }
    return ERR_OK;
}

static int stop_cb(void *arg, const char *name, size_t len, const struct be_stat *st)
{
    (*(int *)arg)++;
    return ERR_CANCELLED;
}

static void t_list(void **state)
{
    struct errinfo ei;
    assert_int_equal(mkdir(P("ls"), 0755), 0);
    for (int i = 0; i < NLIST; i++)
        put(P("ls/e%d", i), "0123456", (size_t)(i % 7));
    assert_int_equal(mkdir(P("ls/sub"), 0755), 0);
    struct seen *s = calloc(1, sizeof *s);
    assert_int_equal(ops->list(fs, P("ls"), list_cb, s, &ei), ERR_OK);
    for (int i = 0; i < NLIST; i++)
        assert_int_equal(s->hit[i], 1);
    assert_int_equal(s->dups, 0);
    assert_int_equal(s->files, NLIST);
    assert_int_equal(s->others, 1); /* "sub", never "." or ".." */
    free(s);

    int calls = 0;
    assert_int_equal(ops->list(fs, P("ls"), stop_cb, &calls, &ei), ERR_CANCELLED);
    assert_int_equal(calls, 1);
    assert_int_equal(ops->list(fs, P("nolist"), stop_cb, &calls, &ei), ERR_NOT_FOUND);
    assert_int_equal(ops->list(fs, P("ls/e1"), stop_cb, &calls, &ei), ERR_NOT_DIR);
    assert_int_equal(ops->remove(fs, P("ls"), true, &ei), ERR_OK);
}

/* read -------------------------------------------------------------------- */

static void t_read(void **state)
{
    struct errinfo ei;
    char data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 31 + 7);
    put(P("rd"), data, sizeof data);
    uint64_t offs[] = {0, 1, 4095, 4096, 9999, 10000, 20000};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        struct be_file *r;
        assert_int_equal(ops->open_read(fs, P("rd"), offs[k], &r, &ei), ERR_OK);
        char buf[3000];
        size_t total = 0, got;
        uint64_t at = offs[k];
        do {
            assert_int_equal(ops->read(r, buf, sizeof buf, &got, &ei), ERR_OK);
            if (got)
                assert_memory_equal(buf, data + at, got);
            at += got;
            total += got;
        } while (got);
        assert_int_equal(total, offs[k] >= sizeof data ? 0 : sizeof data - offs[k]);
        ops->close_read(r);
    }
    struct be_file *r = NULL;
    assert_int_equal(ops->open_read(fs, P("nord"), 0, &r, &ei), ERR_NOT_FOUND);
    assert_null(r);
    assert_non_null(strstr(ei.msg, "cannot open '"));
    ops->close_read(NULL);
}

/* writers ----------------------------------------------------------------- */

static void write_all(struct be_file *w, const char *s)
{
    struct errinfo ei;
    size_t n = strlen(s);
    assert_int_equal(ops->write(w, 0, s, n / 2, &ei), ERR_OK);
    assert_int_equal(ops->write(w, n / 2, s + n / 2, n - n / 2, &ei), ERR_OK);
    uint64_t size = 0;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, n);
}

static void t_create_commit(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    size_t n;
    char *got;
    assert_int_equal(mkdir(P("wr"), 0755), 0);
    struct be_create_opts o = {.tmp_dir = P("wr"), .tmp_tag = "t1"};
    char wr[1024];
    snprintf(wr, sizeof wr, "%s", P("wr"));
    o.tmp_dir = wr;

    /* the unnamed-temp writer (O_TMPFILE): no name at all before commit */
    assert_int_equal(ops->create(fs, P("wr/anon"), &o, &w, &ei), ERR_OK);
    assert_false(exists(P("wr/.distcp.tmp.t1")));
    write_all(w, "anonymous");
    assert_false(exists(P("wr/anon")));
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wr/anon"), &n);
    assert_string_equal(got, "anonymous");
    free(got);
    /* ... and it replaces an existing file atomically */
    assert_int_equal(ops->create(fs, P("wr/anon"), &o, &w, &ei), ERR_OK);
    write_all(w, "second");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wr/anon"), &n);
    assert_string_equal(got, "second");
    free(got);
    assert_false(exists(P("wr/.distcp.tmp.t1")));

    /* the named-temp writer (Hadoop's way; DISTCP_NO_TMPFILE=1 forces it) */
    setenv("DISTCP_NO_TMPFILE", "1", 1);
    /* create + write + finish + commit; nothing visible before commit */
    assert_int_equal(ops->create(fs, P("wr/a"), &o, &w, &ei), ERR_OK);
    assert_true(exists(P("wr/.distcp.tmp.t1")));
    write_all(w, "hello world");
    assert_false(exists(P("wr/a")));
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wr/a"), &n);
    assert_string_equal(got, "hello world");
    free(got);
    assert_int_equal(count_temps(wr), 0);

    /* commit replaces an existing file */
    assert_int_equal(ops->create(fs, P("wr/a"), &o, &w, &ei), ERR_OK);
    write_all(w, "second");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wr/a"), &n);
    assert_string_equal(got, "second");
    free(got);

    /* abort leaves neither temp nor final */
    assert_int_equal(ops->create(fs, P("wr/b"), &o, &w, &ei), ERR_OK);
    write_all(w, "discard me");
    ops->abort(w);
    assert_false(exists(P("wr/b")));
    assert_int_equal(count_temps(wr), 0);
    ops->abort(NULL);

    /* commit into a missing parent creates it */
    assert_int_equal(ops->create(fs, P("wr/x/y/z/c"), &o, &w, &ei), ERR_OK);
    write_all(w, "deep");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wr/x/y/z/c"), &n);
    assert_string_equal(got, "deep");
    free(got);
    assert_int_equal(count_temps(wr), 0);

    /* a directory at the final name is never replaced */
    assert_int_equal(mkdir(P("wr/d"), 0755), 0);
    assert_int_equal(ops->create(fs, P("wr/d"), &o, &w, &ei), ERR_OK);
    write_all(w, "x");
    assert_int_equal(ops->commit(w, &ei), ERR_IS_DIR);
    struct stat s;
    assert_int_equal(lstat(P("wr/d"), &s), 0);
    assert_true(S_ISDIR(s.st_mode));
    assert_int_equal(count_temps(wr), 0);

    /* a stale temp with the same tag is replaced */
    put(P("wr/.distcp.tmp.t1"), "stale", 5);
    assert_int_equal(ops->create(fs, P("wr/e"), &o, &w, &ei), ERR_OK);
    write_all(w, "fresh");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(count_temps(wr), 0);

    /* missing temp dir: NOT_FOUND naming it */
    struct be_create_opts o2 = {.tmp_dir = P("wr/nowork"), .tmp_tag = "t2"};
    w = NULL;
    assert_int_equal(ops->create(fs, P("wr/f"), &o2, &w, &ei), ERR_NOT_FOUND);
    assert_null(w);
    assert_non_null(strstr(ei.msg, "wr/nowork"));

    /* no tmp_dir and no tag: temp next to the final, parent created */
    assert_int_equal(ops->create(fs, P("wr/new/g"), NULL, &w, &ei), ERR_OK);
    assert_int_equal(count_temps(P("wr/new")), 1);
    write_all(w, "gee");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(count_temps(P("wr/new")), 0);
    got = get(P("wr/new/g"), &n);
    assert_string_equal(got, "gee");
    free(got);

    /* mode: created with opts->mode under the umask; fsync path */
    setenv("DISTCP_FSYNC", "1", 1);
    struct be_create_opts o3 = {.tmp_dir = wr, .tmp_tag = "t3", .mode = 0600,
                                .size_hint = 4u << 20};
    assert_int_equal(ops->create(fs, P("wr/h"), &o3, &w, &ei), ERR_OK);
    write_all(w, "prealloc");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    unsetenv("DISTCP_FSYNC");
    assert_int_equal(stat(P("wr/h"), &s), 0);
    assert_int_equal(s.st_mode & 0777, 0600);
    assert_int_equal(s.st_size, 8);
    assert_true(s.st_blocks * 512 < (1 << 20)); /* preallocation given back */
    unsetenv("DISTCP_NO_TMPFILE");
}

/* The unnamed-temp (O_TMPFILE) writer keeps the same contract: abort leaves
 * nothing, a missing parent is created, a directory is never replaced, and a
 * symlinked parent inside the work dir is refused (here already at create). */
static void t_create_commit_anon(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    size_t n;
    char *got, wa[1024];
    struct stat s;
    assert_int_equal(mkdir(P("wanon"), 0755), 0);
    snprintf(wa, sizeof wa, "%s", P("wanon"));
    struct be_create_opts o = {.tmp_dir = wa, .tmp_tag = "a1"};

    assert_int_equal(ops->create(fs, P("wanon/b"), &o, &w, &ei), ERR_OK);
    write_all(w, "discard me");
    ops->abort(w);
    assert_false(exists(P("wanon/b")));
    assert_int_equal(count_temps(wa), 0);

    assert_int_equal(ops->create(fs, P("wanon/x/y/c"), &o, &w, &ei), ERR_OK);
    write_all(w, "deep");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("wanon/x/y/c"), &n);
    assert_string_equal(got, "deep");
    free(got);

    assert_int_equal(mkdir(P("wanon/d"), 0755), 0);
    assert_int_equal(ops->create(fs, P("wanon/d"), &o, &w, &ei), ERR_OK);
    write_all(w, "x");
    assert_int_equal(ops->commit(w, &ei), ERR_IS_DIR);
    assert_int_equal(lstat(P("wanon/d"), &s), 0);
    assert_true(S_ISDIR(s.st_mode));
    assert_int_equal(count_temps(wa), 0);

    assert_int_equal(mkdir(P("wanon_out"), 0755), 0);
    assert_int_equal(symlink(P("wanon_out"), P("wanon/evil")), 0);
    int rc = ops->create(fs, P("wanon/evil/f"), &o, &w, &ei);
    if (rc == ERR_OK) {
        write_all(w, "bad");
        rc = ops->commit(w, &ei);
    }
    assert_int_equal(rc, ERR_UNSAFE_PATH);
    assert_false(exists(P("wanon_out/f")));
}

static void t_symlink_safety(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    size_t n;
    char wr[1024];
    snprintf(wr, sizeof wr, "%s", P("sy/target"));
    assert_int_equal(mkdir(P("sy"), 0755), 0);
    assert_int_equal(mkdir(wr, 0755), 0);
    assert_int_equal(mkdir(P("sy/outside"), 0755), 0);
    assert_int_equal(symlink(P("sy/outside"), P("sy/target/evil")), 0);
    struct be_create_opts o = {.tmp_dir = wr, .tmp_tag = "s1"};

    /* a symlinked parent component inside the target is refused (this test
     * covers the named-temp writer; t_create_commit_anon the other) */
    setenv("DISTCP_NO_TMPFILE", "1", 1);
    assert_int_equal(ops->create(fs, P("sy/target/evil/f"), &o, &w, &ei), ERR_OK);
    write_all(w, "bad");
    assert_int_equal(ops->commit(w, &ei), ERR_UNSAFE_PATH);
    assert_non_null(strstr(ei.msg, "a path component is a symbolic link"));
    assert_non_null(strstr(ei.msg, "refusing to write '"));
    assert_false(exists(P("sy/outside/f")));
    assert_int_equal(count_temps(wr), 0);

    /* deeper: the symlink in the middle */
    assert_int_equal(ops->create(fs, P("sy/target/evil/a/b"), &o, &w, &ei), ERR_OK);
    write_all(w, "bad");
    assert_int_equal(ops->commit(w, &ei), ERR_UNSAFE_PATH);
    assert_false(exists(P("sy/outside/a")));

    /* a file in the way of a parent: NOT_DIR */
    put(P("sy/target/plain"), "p", 1);
    assert_int_equal(ops->create(fs, P("sy/target/plain/x"), &o, &w, &ei), ERR_OK);
    write_all(w, "bad");
    assert_int_equal(ops->commit(w, &ei), ERR_NOT_DIR);

    /* direct mode is refused through the symlink as well */
    struct be_create_opts od = {.tmp_dir = wr, .direct = true};
    w = NULL;
    assert_int_equal(ops->create(fs, P("sy/target/evil/g"), &od, &w, &ei), ERR_UNSAFE_PATH);
    assert_null(w);
    assert_false(exists(P("sy/outside/g")));

    /* a symlink in the final position is replaced, its target untouched */
    put(P("sy/outside/victim"), "keep", 4);
    assert_int_equal(symlink(P("sy/outside/victim"), P("sy/target/link")), 0);
    assert_int_equal(ops->create(fs, P("sy/target/link"), &o, &w, &ei), ERR_OK);
    write_all(w, "new");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    struct stat s;
    assert_int_equal(lstat(P("sy/target/link"), &s), 0);
    assert_true(S_ISREG(s.st_mode));
    char *got = get(P("sy/outside/victim"), &n);
    assert_string_equal(got, "keep");
    free(got);

    assert_int_equal(symlink(P("sy/outside/victim"), P("sy/target/link2")), 0);
    assert_int_equal(ops->create(fs, P("sy/target/link2"), &od, &w, &ei), ERR_OK);
    write_all(w, "direct");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(lstat(P("sy/target/link2"), &s), 0);
    assert_true(S_ISREG(s.st_mode));
    got = get(P("sy/outside/victim"), &n);
    assert_string_equal(got, "keep");
    free(got);

    /* a symlink above the work directory (the root) is fine */
    assert_int_equal(symlink(wr, P("sy/viaroot")), 0);
    char vr[1024];
    snprintf(vr, sizeof vr, "%s", P("sy/viaroot"));
    struct be_create_opts ov = {.tmp_dir = vr, .tmp_tag = "s2"};
    assert_int_equal(ops->create(fs, P("sy/viaroot/sub/ok"), &ov, &w, &ei), ERR_OK);
    write_all(w, "fine");
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_true(exists(P("sy/target/sub/ok")));
    unsetenv("DISTCP_NO_TMPFILE");
}

static void t_direct(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    size_t n;
    char *got;
    put(P("di_old"), "old old old", 11);
    struct be_create_opts o = {.direct = true, .tmp_dir = root};
    assert_int_equal(ops->create(fs, P("di_old"), &o, &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 0, "new", 3, &ei), ERR_OK);
    got = get(P("di_old"), &n); /* visible (truncated) at once */
    assert_int_equal(n, 3);
    free(got);
    uint64_t size;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, 3);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("di_old"), &n);
    assert_string_equal(got, "new");
    free(got);

    /* abort leaves the partial file; parents are created */
    assert_int_equal(ops->create(fs, P("di/p/q"), &o, &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 0, "part", 4, &ei), ERR_OK);
    ops->abort(w);
    got = get(P("di/p/q"), &n);
    assert_string_equal(got, "part");
    free(got);

    /* a missing root (tmp_dir) is created as the ancestor it is */
    char r2[1024];
    snprintf(r2, sizeof r2, "%s", P("di_root"));
    struct be_create_opts o2 = {.direct = true, .tmp_dir = r2, .mode = 0600};
    assert_int_equal(ops->create(fs, P("di_root/a/b"), &o2, &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 0, "r", 1, &ei), ERR_OK);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    struct stat s;
    assert_int_equal(stat(P("di_root/a/b"), &s), 0);
    assert_int_equal(s.st_mode & 0777, 0600);
    /* a directory at the final name */
    assert_int_equal(ops->create(fs, P("di_root/a"), &o2, &w, &ei), ERR_IS_DIR);
    assert_int_equal(count_temps(root), 0);
}

#define PW_CHUNK (256 * 1024)
#define PW_N 16
struct pw {
    struct be_file *w;
    int id;
    int rc;
};

static void *pw_thread(void *arg)
{
    struct pw *p = arg;
    struct errinfo ei;
    char *buf = malloc(PW_CHUNK);
    for (int c = p->id; c < PW_N; c += 4) {
        memset(buf, 'a' + c, PW_CHUNK);
        int rc = ops->write(p->w, (uint64_t)c * PW_CHUNK, buf, PW_CHUNK, &ei);
        if (rc)
            p->rc = rc;
    }
    free(buf);
    return NULL;
}

static void t_parallel_write(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    assert_true(ops->caps & BE_CAP_PARALLEL_WRITE);
    struct be_create_opts o = {.tmp_dir = root, .tmp_tag = "pw",
                               .size_hint = (uint64_t)PW_N * PW_CHUNK};
    assert_int_equal(ops->create(fs, P("pw"), &o, &w, &ei), ERR_OK);
    pthread_t th[4];
    struct pw args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct pw){.w = w, .id = i};
        pthread_create(&th[i], NULL, pw_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    uint64_t size;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, (uint64_t)PW_N * PW_CHUNK);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    size_t n;
    char *got = get(P("pw"), &n);
    assert_int_equal(n, (size_t)PW_N * PW_CHUNK);
    for (size_t i = 0; i < n; i++)
        if (got[i] != 'a' + (int)(i / PW_CHUNK))
            fail_msg("byte %zu wrong", i);
    free(got);
}

static void t_copy_range(void **state)
{
    struct errinfo ei;
    size_t sz = 3u * 1024 * 1024 + 123, n;
    char *data = malloc(sz);
    for (size_t i = 0; i < sz; i++)
        data[i] = (char)((i * 2654435761u) >> 13);
    put(P("cr_src"), data, sz);
    struct be_create_opts o = {.tmp_dir = root, .tmp_tag = "cr"};

    /* whole file at once */
    struct be_file *r, *w;
    uint64_t done = 0;
    assert_int_equal(ops->open_read(fs, P("cr_src"), 0, &r, &ei), ERR_OK);
    assert_int_equal(ops->create(fs, P("cr_dst1"), &o, &w, &ei), ERR_OK);
    int rc = ops->copy_range(r, 0, w, 0, sz, &done, &ei);
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(done, sz);
    ops->close_read(r);
    uint64_t size;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, sz);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    char *got = get(P("cr_dst1"), &n);
    assert_int_equal(n, sz);
    assert_memory_equal(got, data, sz);
    free(got);

    /* in 1 MiB chunks (aligned) plus an unaligned tail, asking too much at
     * the end: done reports what was there; the reader continues after */
    assert_int_equal(ops->open_read(fs, P("cr_src"), 0, &r, &ei), ERR_OK);
    assert_int_equal(ops->create(fs, P("cr_dst2"), &o, &w, &ei), ERR_OK);
    uint64_t off = 0;
    while (off < sz) {
        assert_int_equal(ops->copy_range(r, off, w, off, 1u << 20, &done, &ei), ERR_OK);
        assert_true(done > 0);
        off += done;
    }
    assert_int_equal(off, sz);
    size_t g;
    char b[16];
    assert_int_equal(ops->read(r, b, sizeof b, &g, &ei), ERR_OK);
    assert_int_equal(g, 0);
    ops->close_read(r);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("cr_dst2"), &n);
    assert_int_equal(n, sz);
    assert_memory_equal(got, data, sz);
    free(got);

    /* part copied in the kernel, the rest by read/write from the reader's
     * position */
    assert_int_equal(ops->open_read(fs, P("cr_src"), 0, &r, &ei), ERR_OK);
    assert_int_equal(ops->create(fs, P("cr_dst3"), &o, &w, &ei), ERR_OK);
    assert_int_equal(ops->copy_range(r, 0, w, 0, 1000, &done, &ei), ERR_OK);
    assert_int_equal(done, 1000);
    char *buf = malloc(sz);
    size_t at = 1000;
    for (;;) {
        assert_int_equal(ops->read(r, buf, 65536, &g, &ei), ERR_OK);
        if (!g)
            break;
        assert_int_equal(ops->write(w, at, buf, g, &ei), ERR_OK);
        at += g;
    }
    assert_int_equal(at, sz);
    ops->close_read(r);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = get(P("cr_dst3"), &n);
    assert_memory_equal(got, data, sz);
    free(got);
    free(buf);

    /* unsupported source (a character device): ERR_UNSUPPORTED, nothing done */
    assert_int_equal(ops->open_read(fs, "/dev/zero", 0, &r, &ei), ERR_OK);
    assert_int_equal(ops->create(fs, P("cr_dst4"), &o, &w, &ei), ERR_OK);
    done = 99;
    assert_int_equal(ops->copy_range(r, 0, w, 0, 4096, &done, &ei), ERR_UNSUPPORTED);
    assert_int_equal(done, 0);
    ops->close_read(r);
    ops->abort(w);
    free(data);
}

static void t_append(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    size_t n;
    put(P("ap"), "abc", 3);
    assert_int_equal(ops->open_append(fs, P("ap"), &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 3, "def", 3, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 6, "gh", 2, &ei), ERR_OK);
    uint64_t size;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, 8);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    char *got = get(P("ap"), &n);
    assert_string_equal(got, "abcdefgh");
    free(got);
    assert_int_equal(ops->open_append(fs, P("ap"), &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 8, "ij", 2, &ei), ERR_OK);
    ops->abort(w); /* appended bytes may stay */
    assert_int_equal(ops->open_append(fs, P("ap_missing"), &w, &ei), ERR_NOT_FOUND);
    assert_int_equal(symlink(P("ap"), P("ap_link")), 0);
    assert_int_equal(ops->open_append(fs, P("ap_link"), &w, &ei), ERR_UNSAFE_PATH);
}

static void t_mkdirs_rename(void **state)
{
    struct errinfo ei;
    struct stat s;
    assert_int_equal(ops->mkdirs(fs, P("mk/a/b/c"), 0750, &ei), ERR_OK);
    assert_int_equal(stat(P("mk/a/b/c"), &s), 0);
    assert_true(S_ISDIR(s.st_mode));
    assert_int_equal(ops->mkdirs(fs, P("mk/a/b/c"), 0, &ei), ERR_OK);
    put(P("mk/file"), "f", 1);
    assert_int_equal(ops->mkdirs(fs, P("mk/file"), 0, &ei), ERR_NOT_DIR);
    assert_non_null(strstr(ei.msg, "mk/file"));
    assert_int_equal(ops->mkdirs(fs, P("mk/file/sub/x"), 0, &ei), ERR_NOT_DIR);
    assert_non_null(strstr(ei.msg, "mk/file' is not a directory"));

    assert_int_equal(ops->rename(fs, P("mk/file"), P("mk/a/moved"), &ei), ERR_OK);
    assert_true(exists(P("mk/a/moved")));
    assert_int_equal(ops->rename(fs, P("mk/nothing"), P("mk/x"), &ei), ERR_NOT_FOUND);
}

static void t_remove(void **state)
{
    struct errinfo ei;
    assert_int_equal(ops->mkdirs(fs, P("rm/out/keep"), 0, &ei), ERR_OK);
    put(P("rm/out/keep/precious"), "x", 1);
    assert_int_equal(ops->mkdirs(fs, P("rm/tree/a/b/c"), 0, &ei), ERR_OK);
    for (int i = 0; i < 300; i++)
        put(P("rm/tree/a/f%d", i), "y", 1);
    put(P("rm/tree/a/b/c/deep"), "z", 1);
    assert_int_equal(symlink(P("rm/out"), P("rm/tree/a/link")), 0);
    assert_int_equal(symlink(P("rm/out/keep/precious"), P("rm/tree/flink")), 0);
    assert_int_equal(ops->remove(fs, P("rm/tree"), true, &ei), ERR_OK);
    assert_false(exists(P("rm/tree")));
    assert_true(exists(P("rm/out/keep/precious")));

    /* a symlink to a directory as the top entry: unlinked, not descended */
    assert_int_equal(symlink(P("rm/out"), P("rm/dirlink")), 0);
    assert_int_equal(ops->remove(fs, P("rm/dirlink"), true, &ei), ERR_OK);
    assert_false(exists(P("rm/dirlink")));
    assert_true(exists(P("rm/out/keep/precious")));

    assert_int_equal(ops->remove(fs, P("rm/none"), true, &ei), ERR_NOT_FOUND);
    assert_int_equal(ops->remove(fs, P("rm/none"), false, &ei), ERR_NOT_FOUND);
    assert_int_equal(ops->remove(fs, P("rm/out/keep/precious"), false, &ei), ERR_OK);
    assert_int_equal(ops->remove(fs, P("rm/out"), false, &ei), ERR_NOT_EMPTY);
    assert_int_equal(ops->remove(fs, P("rm/out/keep"), false, &ei), ERR_OK);
    assert_int_equal(ops->remove(fs, "/", true, &ei), ERR_DELETE_GUARD);
}

static void t_symlinks(void **state)
{
    struct errinfo ei;
    char buf[64];
    assert_int_equal(ops->symlink(fs, "some/target", P("sl"), &ei), ERR_OK);
    assert_int_equal(ops->readlink(fs, P("sl"), buf, sizeof buf, &ei), ERR_OK);
    assert_string_equal(buf, "some/target");
    assert_int_equal(ops->readlink(fs, P("sl"), buf, 5, &ei), ERR_TOO_LONG);
    assert_int_equal(ops->symlink(fs, "x", P("sl"), &ei), ERR_EXISTS);
    assert_int_equal(ops->readlink(fs, P("nosl"), buf, sizeof buf, &ei), ERR_NOT_FOUND);
}

/* attributes -------------------------------------------------------------- */

static int64_t ctime_ns(const char *p)
{
    struct stat s;
    assert_int_equal(lstat(p, &s), 0);
    return (int64_t)s.st_ctim.tv_sec * 1000000000 + s.st_ctim.tv_nsec;
}

static void t_setattr(void **state)
{
    struct errinfo ei;
    struct be_stat st;
    put(P("sa"), "x", 1);
    assert_int_equal(chmod(P("sa"), 0644), 0);
    struct be_attrs a = {0};
    a.st.mode = 04751;
    a.st.mtime_ns = 1500000000123456789LL;
    a.st.atime_ns = 1400000000000000001LL;
    a.st.uid = a.st.gid = BE_ID_NONE;
    unsigned what = BE_ATTR_MODE | BE_ATTR_TIMES;
    assert_int_equal(ops->setattr(fs, P("sa"), &a, what, &ei), ERR_OK);
    assert_int_equal(ops->stat(fs, P("sa"), &st, &ei), ERR_OK);
    assert_int_equal(st.mode, 04751);
    assert_true(st.mtime_ns == a.st.mtime_ns);
    assert_true(st.atime_ns == a.st.atime_ns);

    /* again with the same values: nothing is touched (ctime stays) */
    int64_t c0 = ctime_ns(P("sa"));
    usleep(20000);
    assert_int_equal(ops->setattr(fs, P("sa"), &a, what | BE_ATTR_OWNER | BE_ATTR_GROUP, &ei),
                     ERR_OK);
    assert_true(ctime_ns(P("sa")) == c0);

    /* owner given by name; same as current: no chown needed */
    strcpy(a.st.owner, "root");
    a.st.uid = BE_ID_NONE;
    if (getuid() == 0)
        assert_int_equal(ops->setattr(fs, P("sa"), &a, BE_ATTR_OWNER, &ei), ERR_OK);
    strcpy(a.st.owner, "no-such-user-distcp");
    assert_int_equal(ops->setattr(fs, P("sa"), &a, BE_ATTR_OWNER, &ei), ERR_INVAL);
    assert_non_null(strstr(ei.msg, "no-such-user-distcp"));

    if (getuid() == 0) {
        a.st.owner[0] = 0;
        a.st.uid = 65534;
        a.st.gid = 65534;
        assert_int_equal(ops->setattr(fs, P("sa"), &a, BE_ATTR_OWNER | BE_ATTR_GROUP | BE_ATTR_MODE,
                                      &ei), ERR_OK);
        assert_int_equal(ops->stat(fs, P("sa"), &st, &ei), ERR_OK);
        assert_int_equal(st.uid, 65534);
        assert_int_equal(st.gid, 65534);
        assert_int_equal(st.mode, 04751); /* set-uid restored after chown */
    } else {
        print_message("skipping chown checks: not root\n");
    }

    /* symlinks: times set on the link itself, mode skipped */
    assert_int_equal(symlink("sa", P("sa_link")), 0);
    struct stat before;
    assert_int_equal(stat(P("sa"), &before), 0);
    a.st.mtime_ns = 1300000000000000000LL;
    a.st.atime_ns = 1300000000000000000LL;
    a.st.uid = a.st.gid = BE_ID_NONE;
    assert_int_equal(ops->setattr(fs, P("sa_link"), &a, BE_ATTR_MODE | BE_ATTR_TIMES, &ei), ERR_OK);
    assert_int_equal(ops->stat(fs, P("sa_link"), &st, &ei), ERR_OK);
    assert_true(st.mtime_ns == 1300000000000000000LL);
    struct stat after;
    assert_int_equal(stat(P("sa"), &after), 0);
    assert_true(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    assert_int_equal(after.st_mode, before.st_mode);
}

static void t_wsetattr(void **state)
{
    struct errinfo ei;
    struct be_file *w;
    struct be_stat st;
    struct be_create_opts o = {.tmp_dir = root, .tmp_tag = "wa"};
    assert_int_equal(ops->create(fs, P("wa"), &o, &w, &ei), ERR_OK);
    write_all(w, "data");
    struct be_attrs a = {0};
    a.st.mode = 0640;
    a.st.mtime_ns = 1234567890000000000LL;
    a.st.atime_ns = 1234567891000000000LL;
    a.st.uid = getuid();
    a.st.gid = getgid();
    assert_int_equal(ops->wsetattr(w, &a, BE_ATTR_MODE | BE_ATTR_TIMES | BE_ATTR_OWNER |
                                              BE_ATTR_GROUP, &ei), ERR_OK);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(ops->stat(fs, P("wa"), &st, &ei), ERR_OK);
    assert_int_equal(st.mode, 0640);
    assert_true(st.mtime_ns == a.st.mtime_ns);
    assert_true(st.atime_ns == a.st.atime_ns);

    /* preallocated writer, attributes applied before finish: the trim of the
     * preallocation must not disturb the preserved mtime */
    struct be_create_opts o2 = {.tmp_dir = root, .tmp_tag = "wa2", .size_hint = 8u << 20};
    assert_int_equal(ops->create(fs, P("wa2"), &o2, &w, &ei), ERR_OK);
    assert_int_equal(ops->write(w, 0, "abc", 3, &ei), ERR_OK);
    assert_int_equal(ops->wsetattr(w, &a, BE_ATTR_TIMES, &ei), ERR_OK);
    uint64_t size;
    assert_int_equal(finish_size(ops, w, &size, &ei), ERR_OK);
    assert_int_equal(size, 3);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(ops->stat(fs, P("wa2"), &st, &ei), ERR_OK);
    assert_true(st.mtime_ns == a.st.mtime_ns);
    struct stat s;
    assert_int_equal(stat(P("wa2"), &s), 0);
    assert_true(s.st_blocks * 512 < (1 << 20));
}

static bool user_xattrs_ok(void)
{
    put(P("xprobe"), "", 0);
    bool ok = setxattr(P("xprobe"), "user.probe", "1", 1, 0) == 0;
    unlink(P("xprobe"));
    return ok;
}

static void t_xattr_meta(void **state)
{
    struct errinfo ei;
    if (!user_xattrs_ok()) {
        print_message("skipping xattr tests: %s lacks user xattrs (%s)\n", root, strerror(errno));
        skip();
    }
    put(P("xa"), "x", 1);
    put(P("xb"), "y", 1);
    unsigned char bin[300];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)i;
    assert_int_equal(setxattr(P("xa"), "user.one", "v1", 2, 0), 0);
    assert_int_equal(setxattr(P("xa"), "user.bin", bin, sizeof bin, 0), 0);
    assert_int_equal(setxattr(P("xa"), "user.empty", "", 0, 0), 0);
    assert_int_equal(ops->setmeta(fs, P("xa"), "digest", "md5:abc", &ei), ERR_OK);

    struct be_attrs a = {0};
    assert_int_equal(ops->getattrs(fs, P("xa"), BE_ATTR_XATTR, &a, &ei), ERR_OK);
    assert_int_equal(a.nxattrs, 3); /* user.distcp.* is not copied */
    bool sawbin = false;
    for (size_t i = 0; i < a.nxattrs; i++) {
        assert_null(strstr(a.xattrs[i].name, "distcp"));
        if (!strcmp(a.xattrs[i].name, "user.bin")) {
            sawbin = true;
            assert_int_equal(a.xattrs[i].len, sizeof bin);
            assert_memory_equal(a.xattrs[i].value, bin, sizeof bin);
        }
    }
    assert_true(sawbin);
    assert_null(a.acl);

    assert_int_equal(ops->setattr(fs, P("xb"), &a, BE_ATTR_XATTR, &ei), ERR_OK);
    char v[400];
    assert_int_equal(getxattr(P("xb"), "user.one", v, sizeof v), 2);
    assert_memory_equal(v, "v1", 2);
    assert_int_equal(getxattr(P("xb"), "user.bin", v, sizeof v), (ssize_t)sizeof bin);
    assert_int_equal(getxattr(P("xb"), "user.empty", v, sizeof v), 0);
    /* unchanged values are not rewritten */
    int64_t c0 = ctime_ns(P("xb"));
    usleep(20000);
    assert_int_equal(ops->setattr(fs, P("xb"), &a, BE_ATTR_XATTR, &ei), ERR_OK);
    assert_true(ctime_ns(P("xb")) == c0);
    be_attrs_release(&a);
    be_attrs_release(&a);
    be_attrs_release(NULL);

    char *val = NULL;
    assert_int_equal(ops->getmeta(fs, P("xa"), "digest", &val, &ei), ERR_OK);
    assert_string_equal(val, "md5:abc");
    free(val);
    val = NULL;
    assert_int_equal(ops->getmeta(fs, P("xb"), "digest", &val, &ei), ERR_NOT_FOUND);
    assert_null(val);
    assert_int_equal(ops->getmeta(fs, P("nometa"), "digest", &val, &ei), ERR_NOT_FOUND);

    /* wsetmeta + wsetattr(xattr) before commit */
    struct be_file *w;
    struct be_create_opts o = {.tmp_dir = root, .tmp_tag = "xm"};
    assert_int_equal(ops->create(fs, P("xc"), &o, &w, &ei), ERR_OK);
    write_all(w, "z");
    assert_int_equal(ops->wsetmeta(w, "digest", "crc32c:1234", &ei), ERR_OK);
    struct be_xattr xs[2] = {{"user.k", (unsigned char *)"vv", 2},
                             {"user.distcp.digest", (unsigned char *)"forged", 6}};
    struct be_attrs wa = {.xattrs = xs, .nxattrs = 2};
    assert_int_equal(ops->wsetattr(w, &wa, BE_ATTR_XATTR, &ei), ERR_OK);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    assert_int_equal(ops->getmeta(fs, P("xc"), "digest", &val, &ei), ERR_OK);
    assert_string_equal(val, "crc32c:1234");
    free(val);
    assert_int_equal(getxattr(P("xc"), "user.k", v, sizeof v), 2);

    /* values over 64 KiB are refused */
    static unsigned char big[70000];
    if (setxattr(P("xa"), "user.big", big, sizeof big, 0) == 0) {
        assert_int_equal(ops->getattrs(fs, P("xa"), BE_ATTR_XATTR, &a, &ei), ERR_LIMIT);
        assert_null(a.xattrs);
    }
}

static bool acls_ok(void)
{
    put(P("aprobe"), "", 0);
    acl_t acl = acl_from_text("u::rw-,u:65534:r--,g::r--,m::r--,o::---");
    bool ok = acl && acl_set_file(P("aprobe"), ACL_TYPE_ACCESS, acl) == 0;
    if (acl)
        acl_free(acl);
    unlink(P("aprobe"));
    return ok;
}

static void t_acl(void **state)
{
    struct errinfo ei;
    if (!acls_ok()) {
        print_message("skipping ACL tests: %s lacks POSIX ACLs\n", root);
        skip();
    }
    put(P("aa"), "a", 1);
    put(P("ab"), "b", 1);
    acl_t want = acl_from_text("u::rw-,u:65534:r--,g::r--,g:65534:rw-,m::rw-,o::---");
    assert_non_null(want);
    assert_int_equal(acl_set_file(P("aa"), ACL_TYPE_ACCESS, want), 0);

    struct be_attrs a = {0};
    assert_int_equal(ops->getattrs(fs, P("aa"), BE_ATTR_ACL, &a, &ei), ERR_OK);
    assert_non_null(a.acl);
    assert_null(strchr(a.acl, '\n'));
    assert_int_equal(ops->setattr(fs, P("ab"), &a, BE_ATTR_ACL, &ei), ERR_OK);
    acl_t got = acl_get_file(P("ab"), ACL_TYPE_ACCESS);
    assert_int_equal(acl_cmp(want, got), 0);
    acl_free(got);
    int64_t c0 = ctime_ns(P("ab"));
    usleep(20000);
    assert_int_equal(ops->setattr(fs, P("ab"), &a, BE_ATTR_ACL, &ei), ERR_OK);
    assert_true(ctime_ns(P("ab")) == c0);

    /* on a writer's fd */
    struct be_file *w;
    struct be_create_opts o = {.tmp_dir = root, .tmp_tag = "acl"};
    assert_int_equal(ops->create(fs, P("ac"), &o, &w, &ei), ERR_OK);
    write_all(w, "c");
    assert_int_equal(ops->wsetattr(w, &a, BE_ATTR_ACL, &ei), ERR_OK);
    assert_int_equal(ops->commit(w, &ei), ERR_OK);
    got = acl_get_file(P("ac"), ACL_TYPE_ACCESS);
    assert_int_equal(acl_cmp(want, got), 0);
    acl_free(got);
    be_attrs_release(&a);

    /* a trivial source ACL: text NULL, and setting it strips extended entries */
    assert_int_equal(ops->getattrs(fs, P("xtriv"), BE_ATTR_ACL, &a, &ei), ERR_NOT_FOUND);
    put(P("atriv"), "t", 1);
    assert_int_equal(ops->getattrs(fs, P("atriv"), BE_ATTR_ACL, &a, &ei), ERR_OK);
    assert_null(a.acl);
    assert_int_equal(ops->setattr(fs, P("ab"), &a, BE_ATTR_ACL, &ei), ERR_OK);
    got = acl_get_file(P("ab"), ACL_TYPE_ACCESS);
    assert_int_equal(acl_equiv_mode(got, NULL), 0);
    acl_free(got);

    /* directories: default ACL round trip */
    assert_int_equal(mkdir(P("ad1"), 0755), 0);
    assert_int_equal(mkdir(P("ad2"), 0755), 0);
    acl_t def = acl_from_text("u::rwx,u:65534:r-x,g::r-x,m::r-x,o::---");
    assert_int_equal(acl_set_file(P("ad1"), ACL_TYPE_DEFAULT, def), 0);
    assert_int_equal(ops->getattrs(fs, P("ad1"), BE_ATTR_ACL, &a, &ei), ERR_OK);
    assert_non_null(a.acl);
    assert_non_null(strstr(a.acl, "default:user::rwx"));
    assert_int_equal(ops->setattr(fs, P("ad2"), &a, BE_ATTR_ACL, &ei), ERR_OK);
    got = acl_get_file(P("ad2"), ACL_TYPE_DEFAULT);
    assert_int_equal(acl_cmp(def, got), 0);
    acl_free(got);
    be_attrs_release(&a);
    /* and removed again when the source has none */
    assert_int_equal(ops->setattr(fs, P("ad2"), &a, BE_ATTR_ACL, &ei), ERR_OK);
    got = acl_get_file(P("ad2"), ACL_TYPE_DEFAULT);
    assert_int_equal(acl_entries(got), 0);
    acl_free(got);

    /* HDFS-style text without a mask entry is accepted */
    struct be_attrs h = {.acl = "user::rw-,user:65534:r--,group::r--,other::---"};
    assert_int_equal(ops->setattr(fs, P("ab"), &h, BE_ATTR_ACL, &ei), ERR_OK);
    struct be_attrs bad = {.acl = "user::bogus"};
    assert_int_equal(ops->setattr(fs, P("ab"), &bad, BE_ATTR_ACL, &ei), ERR_INVAL);
    acl_free(want);
    acl_free(def);
}

/* URIs and the scheme table ---------------------------------------------- */

static void expect_uri(const char *uri, const char *path, const char *display,
                       const char *qualified)
{
    struct errinfo ei;
    struct be_fs *f = NULL;
    char *p = NULL, buf[1024];
    int rc = backend_open_uri(uri, NULL, &f, &p, &ei);
    if (rc != ERR_OK)
        fail_msg("'%s': %s", uri, ei.msg);
    assert_string_equal(p, path);
    backend_display(f, p, buf, sizeof buf);
    assert_string_equal(buf, display);
    backend_qualified(f, p, buf, sizeof buf);
    assert_string_equal(buf, qualified);
    free(p);
    backend_close(f);
}

static void expect_uri_err(const char *uri, int code, const char *msg)
{
    struct errinfo ei;
    struct be_fs *f = (struct be_fs *)1;
    char *p = (char *)1;
    assert_int_equal(backend_open_uri(uri, NULL, &f, &p, &ei), code);
    assert_null(f);
    assert_null(p);
    if (msg && !strstr(ei.msg, msg))
        fail_msg("'%s': message '%s' lacks '%s'", uri, ei.msg, msg);
}

static void t_uri(void **state)
{
    expect_uri("/a//b/./c/", "/a/b/c", "/a/b/c", "file:/a/b/c");
    expect_uri("/a/b/../c", "/a/c", "/a/c", "file:/a/c");
    expect_uri("/..", "/", "/", "file:/");
    expect_uri("/", "/", "/", "file:/");
    expect_uri("///", "/", "/", "file:/");
    expect_uri("/a/b:c", "/a/b:c", "/a/b:c", "file:/a/b:c");
    expect_uri("/a%20b", "/a%20b", "/a%20b", "file:/a%20b");
    expect_uri("file:/x/y", "/x/y", "/x/y", "file:/x/y");
    expect_uri("file:///x/y/", "/x/y", "/x/y", "file:/x/y");
    expect_uri("FILE:///x", "/x", "/x", "file:/x");
    expect_uri("file://localhost/x/./y", "/x/y", "/x/y", "file:/x/y");
    expect_uri("file:///a%20b/%41", "/a b/A", "/a b/A", "file:/a b/A");
#ifdef DISTCP_TESTING
    expect_uri("mem://store/p/q/", "/p/q", "mem://store/p/q", "mem://store/p/q");
    expect_uri("mem://store", "/", "mem://store/", "mem://store/");
    expect_uri("faulty+mem://store/p/", "/p", "mem://store/p", "mem://store/p"); /* shown as inner */
    expect_uri_err("faulty+nope://x/p", ERR_BAD_URI, "unknown scheme 'nope'");
#else
    /* the product knows the test build's schemes and says so */
    expect_uri_err("mem://store/p", ERR_NOT_BUILT, "test backend");
    expect_uri_err("faulty+mem://store/p", ERR_NOT_BUILT, "test backend");
#endif

    char saved[1024], cwd[1024], want[1100], qual[1200];
    assert_non_null(getcwd(saved, sizeof saved));
    assert_int_equal(chdir(root), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/x/y", cwd);
    snprintf(qual, sizeof qual, "file:%s", want);
    expect_uri("x/y/", want, want, qual);
    expect_uri("./x/../x/y", want, want, qual);
    expect_uri("file:x/y", want, want, qual);
    snprintf(want, sizeof want, "%s", cwd);
    *strrchr(want, '/') = 0;
    snprintf(qual, sizeof qual, "file:%s", want);
    expect_uri("..", want, want, qual);
    assert_int_equal(chdir(saved), 0);

    expect_uri_err("", ERR_BAD_URI, "Can not create a Path from an empty string");
    expect_uri_err("s3a://ab/key", ERR_BAD_URI, "not a bucket name"); /* s3 is built */
    expect_uri_err("abfs://acct/a", ERR_NOT_BUILT, "scheme 'abfs'");
    expect_uri_err("wasbs://c@acct/a", ERR_NOT_BUILT, NULL);
    expect_uri_err("https://host/plain/page", ERR_NOT_BUILT, "scheme 'https'");
    expect_uri_err("xyz://a/b", ERR_BAD_URI, "unknown scheme 'xyz'");
    expect_uri_err("foo:bar", ERR_BAD_URI, "unknown scheme 'foo'");
    expect_uri_err("1x://a", ERR_BAD_URI, NULL);
    expect_uri_err("file://otherhost/a", ERR_BAD_URI, "otherhost");
    expect_uri_err("file:///a%zz", ERR_BAD_URI, NULL);
    expect_uri_err("file:///a%00b", ERR_BAD_URI, NULL);

    struct errinfo ei;
    assert_ptr_equal(backend_for_scheme("file", &ei), &backend_local);
    assert_ptr_equal(backend_for_scheme("", &ei), &backend_local);
#ifdef DISTCP_TESTING
    assert_ptr_equal(backend_for_scheme("mem", &ei), &backend_mem);
    assert_ptr_equal(backend_for_scheme("faulty+file", &ei), &backend_faulty);
#else
    assert_null(backend_for_scheme("mem", &ei));
    assert_int_equal(ei.code, ERR_NOT_BUILT);
#endif
    assert_null(backend_for_scheme("abfss", &ei));
    assert_int_equal(ei.code, ERR_NOT_BUILT);
    assert_null(backend_for_scheme("gopher", NULL));
    backend_close(NULL);

    char small[8];
    backend_display(fs, "/a/very/long/path", small, sizeof small);
    assert_string_equal(small, "/a/very");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_stat),
        cmocka_unit_test(t_list),
        cmocka_unit_test(t_read),
        cmocka_unit_test(t_create_commit),
        cmocka_unit_test(t_create_commit_anon),
        cmocka_unit_test(t_symlink_safety),
        cmocka_unit_test(t_direct),
        cmocka_unit_test(t_parallel_write),
        cmocka_unit_test(t_copy_range),
        cmocka_unit_test(t_append),
        cmocka_unit_test(t_mkdirs_rename),
        cmocka_unit_test(t_remove),
        cmocka_unit_test(t_symlinks),
        cmocka_unit_test(t_setattr),
        cmocka_unit_test(t_wsetattr),
        cmocka_unit_test(t_xattr_meta),
        cmocka_unit_test(t_acl),
        cmocka_unit_test(t_uri),
    };
    return cmocka_run_group_tests_name("local", tests, setup_all, teardown_all);
}

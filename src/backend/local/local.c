/* local.c - the local/POSIX file system backend ("file:" and plain paths).
 *
 * Writers put data in a temp file ".distcp.tmp.<tag>" inside opts->tmp_dir
 * (or the final file's directory) and rename it over the final name at
 * commit; -direct writes the final name in place; append writes at the
 * current length. The part of a final path below tmp_dir (the target work
 * directory) is resolved without following symlinks (openat2
 * RESOLVE_NO_SYMLINKS, else component by component with O_NOFOLLOW), so a
 * symlink planted inside the target never redirects a write. Attributes
 * are changed only where they differ, so re-runs need no privilege.
 * No fsync unless DISTCP_FSYNC=1 (like cp and rsync).
 *
 * Threading: no global mutable state (one lock serialises libacl's text
 * conversions, which use non-reentrant name lookups); every call works on
 * its own fds. A writer's write() may run from many threads at once (pwrite
 * at disjoint offsets); everything else on one be_file is single-threaded. */
#include "backend/local/local.h"
#include "util/idmap.h"

#include <acl/libacl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/acl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_PREFIX "user.distcp."
#define META_KEY_MAX 200
#define PREALLOC_MIN (1024u * 1024)
#define IO_MAX (1u << 30)
#define PWBUF_MAX (1024u * 1024)

/* libacl's text conversions call getpwnam/getpwuid/getgrnam/getgrgid,
 * which are not reentrant: they run under this lock. */
static pthread_mutex_t acl_text_mu = PTHREAD_MUTEX_INITIALIZER;

static struct local_file *lf_of(struct be_file *f) { return (struct local_file *)f; }

static bool want_fsync(void)
{
    const char *v = getenv("DISTCP_FSYNC");
    return v && v[0] == '1' && v[1] == 0;
}

/* A reader/writer with room for the final path and (temp writers) the temp
 * path in one allocation. */
static struct local_file *lf_new(enum lf_kind kind, const char *path,
                                 const char *tmpdir, const char *tmpname)
{
    size_t pl = strlen(path) + 1;
    size_t tl = tmpname ? strlen(tmpdir) + 1 + strlen(tmpname) + 1 : 0;
    struct local_file *lf = calloc(1, sizeof *lf + pl + tl);
    if (!lf)
        return NULL;
    lf->kind = kind;
    lf->fd = -1;
    lf->tmpdirfd = -1;
    lf->pdirfd = -1;
    lf->path = (char *)(lf + 1);
    memcpy(lf->path, path, pl);
    if (tmpname) {
        char *t = lf->path + pl;
        snprintf(t, tl, "%s%s%s", tmpdir, strcmp(tmpdir, "/") ? "/" : "", tmpname);
        lf->tmpname = strrchr(t, '/') + 1;
    }
    return lf;
}

static void lf_free(struct local_file *lf)
{
    if (!lf)
        return;
    if (lf->fd >= 0)
        close(lf->fd);
    if (lf->tmpdirfd >= 0)
        close(lf->tmpdirfd);
    if (lf->pdirfd >= 0)
        close(lf->pdirfd);
    free(lf);
}

/* The full temp path (messages only). */
static const char *lf_tmppath(const struct local_file *lf)
{
    return lf->path + strlen(lf->path) + 1;
}

/* The temp directory a writer was created for (thread-local copy, valid
 * until the next call on this thread). */
static const char *lf_tmpdir(const struct local_file *lf)
{
    static __thread char buf[PATH_MAX];
    const char *t = lf_tmppath(lf);
    const char *slash = strrchr(t, '/');
    size_t n = slash == t ? 1 : (size_t)(slash - t);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, t, n);
    buf[n] = 0;
    return buf;
}

/* malloc'd parent directory of an absolute path ("/" for "/x"). */
static char *parent_of(const char *path)
{
    const char *s = strrchr(path, '/');
    size_t n = (!s || s == path) ? 1 : (size_t)(s - path);
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (!s || s == path)
        memcpy(p, "/", 2);
    else {
        memcpy(p, path, n);
        p[n] = 0;
    }
    return p;
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* `path` relative to `root` when strictly below it, else NULL. */
static const char *below(const char *path, const char *root)
{
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if (rl == 1 && root[0] == '/')
        return path[0] == '/' && path[1] ? path + 1 : NULL;
    if (strncmp(path, root, rl) == 0 && path[rl] == '/' && path[rl + 1])
        return path + rl + 1;
    return NULL;
}

/* Store ----------------------------------------------------------------- */

static int l_open(const char *scheme, const char *authority,
                  const struct be_config *cfg, struct be_fs **out,
                  struct errinfo *ei)
{
    int rc = ERR_OK;
    struct local_fs *fs = NULL;
    *out = NULL;
    if (authority && *authority && strcasecmp(authority, "localhost") != 0) {
        rc = err_setx(ei, ERR_BAD_URI,
                      "cannot open 'file://%s/': a local file URI takes no host", authority);
        goto out;
    }
    fs = calloc(1, sizeof *fs);
    if (!fs)
        goto nomem;
    fs->base.ops = &backend_local;
    fs->base.scheme = strdup(scheme && *scheme ? scheme : "file");
    fs->base.authority = strdup("");
    if (!fs->base.scheme || !fs->base.authority)
        goto nomem;
    *out = &fs->base;
    fs = NULL;
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot open the local file system: out of memory");
out:
    if (fs) {
        free(fs->base.scheme);
        free(fs->base.authority);
        free(fs);
    }
    return rc;
}

static void l_close(struct be_fs *fs)
{
    if (!fs)
        return;
    free(fs->scheme);
    free(fs->authority);
    free(fs);
}

static int l_stat(struct be_fs *fs, const char *path, struct be_stat *st,
                  struct errinfo *ei)
{
    int e = lx_stat_at(AT_FDCWD, path, st);
    if (!e)
        return ERR_OK;
    int rc = err_sys(ei, e, "cannot stat '%s'", path);
    if (e == ENOTDIR) { /* a file where a directory would be: absent */
        rc = ERR_NOT_FOUND;
        if (ei)
            ei->code = rc;
    }
    return rc;
}

static int l_list(struct be_fs *fs, const char *path, be_list_cb cb, void *arg,
                  struct errinfo *ei)
{
    int rc;
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = err_sys(ei, errno, "cannot list '%s'", path);
        goto out;
    }
    rc = lx_list_fd(dfd, path, cb, arg, ei);
out:
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* Readers --------------------------------------------------------------- */

static int l_open_read(struct be_fs *fs, const char *path, uint64_t off,
                       struct be_file **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    struct local_file *lf = NULL;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = err_sys(ei, errno, "cannot open '%s'", path);
        goto out;
    }
    posix_fadvise(fd, (off_t)off, 0, POSIX_FADV_SEQUENTIAL);
    lf = lf_new(LF_READ, path, NULL, NULL);
    if (!lf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot open '%s': out of memory", path);
        goto out;
    }
    lf->fd = fd;
    fd = -1;
    lf->pos = off;
    *out = (struct be_file *)lf;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int l_read(struct be_file *f, void *buf, size_t n, size_t *got,
                  struct errinfo *ei)
{
    struct local_file *lf = lf_of(f);
    ssize_t r;
    *got = 0;
    if (n > IO_MAX)
        n = IO_MAX;
    do
        r = pread(lf->fd, buf, n, (off_t)lf->pos);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return err_sys(ei, errno, "cannot read '%s'", lf->path);
    lf->pos += (uint64_t)r;
    *got = (size_t)r;
    return ERR_OK;
}

static void l_close_read(struct be_file *f)
{
    lf_free(lf_of(f));
}

/* Directories ----------------------------------------------------------- */

/* mkdir -p. `blocker` messages name the first non-directory in the way. */
static int mkdirs_path(const char *path, mode_t mode, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *buf = NULL;
    struct stat s;
    if (mkdir(path, mode) == 0)
        goto out;
    if (errno == EEXIST) {
        if (stat(path, &s) == 0 && S_ISDIR(s.st_mode))
            goto out;
        rc = err_setx(ei, ERR_NOT_DIR,
                      "cannot create directory '%s': a non-directory is in the way", path);
        goto out;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        rc = err_sys(ei, errno, "cannot create directory '%s'", path);
        goto out;
    }
    buf = strdup(path);
    if (!buf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create directory '%s': out of memory", path);
        goto out;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, mode) != 0) {
            int e = errno;
            if (e != EEXIST) {
                rc = err_sys(ei, e, "cannot create directory '%s'", buf);
                goto out;
            }
            if (stat(buf, &s) != 0 || !S_ISDIR(s.st_mode)) {
                rc = err_setx(ei, ERR_NOT_DIR,
                              "cannot create directory '%s': '%s' is not a directory",
                              path, buf);
                goto out;
            }
        }
        *p = c;
        if (!c)
            break;
    }
out:
    free(buf);
    return rc;
}

static int l_mkdirs(struct be_fs *fs, const char *path, uint32_t mode,
                    struct errinfo *ei)
{
    return mkdirs_path(path, mode ? (mode & 07777) : 0777, ei);
}

/* Open (O_PATH) the directory `rel[0..n)` below basefd one component at a
 * time, never following a symlink, creating missing components. `path` is
 * the final path, `rel` points into it (messages name prefixes of path). */
static int walk_beneath(int basefd, const char *path, const char *rel, size_t n,
                        int *out, struct errinfo *ei)
{
    int rc = ERR_OK, cur = basefd;
    char comp[NAME_MAX + 1];
    size_t i = 0;
    *out = -1;
    while (i < n) {
        size_t j = i;
        while (j < n && rel[j] != '/')
            j++;
        if (j - i > NAME_MAX) {
            rc = err_setx(ei, ERR_NAME_TOO_LONG, "cannot write '%s': file name too long", path);
            goto out;
        }
        memcpy(comp, rel + i, j - i);
        comp[j - i] = 0;
        int nfd = -1;
        for (int tries = 0; tries < 2 && nfd < 0; tries++) {
            nfd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (nfd >= 0 || errno != ENOENT || tries)
                break;
            if (mkdirat(cur, comp, 0777) != 0 && errno != EEXIST) {
                rc = err_sys(ei, errno, "cannot create directory '%.*s'",
                             (int)(rel + j - path), path);
                goto out;
            }
        }
        if (nfd < 0) {
            int e = errno;
            struct stat s;
            if ((e == ENOTDIR || e == ELOOP) &&
                fstatat(cur, comp, &s, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(s.st_mode))
                    rc = err_setx(ei, ERR_UNSAFE_PATH,
                                  "refusing to write '%s': a path component is a symbolic link",
                                  path);
                else
                    rc = err_setx(ei, ERR_NOT_DIR, "cannot write '%s': '%.*s' is not a directory",
                                  path, (int)(rel + j - path), path);
            } else {
                rc = err_sys(ei, e, "cannot open directory '%.*s'", (int)(rel + j - path), path);
            }
            goto out;
        }
        if (cur != basefd)
            close(cur);
        cur = nfd;
        i = j + 1;
    }
    *out = cur;
    cur = basefd;
out:
    if (cur != basefd)
        close(cur);
    return rc;
}

/* Open (O_PATH) the parent directory of `path`. With `basefd` >= 0 and
 * `rel` (path relative to basefd, pointing into path) no symlink below
 * basefd is followed; otherwise the parent is opened plainly. Missing
 * directories are created. *pfd may equal basefd (then not to be closed). */
static int open_parent(const char *path, int basefd, const char *rel, int *pfd,
                       struct errinfo *ei)
{
    int rc = ERR_OK;
    char *parent = NULL;
    *pfd = -1;
    if (basefd >= 0 && rel) {
        const char *slash = strrchr(rel, '/');
        if (!slash) {
            *pfd = basefd;
            goto out;
        }
        size_t n = (size_t)(slash - rel);
        parent = strndup(rel, n);
        if (!parent)
            goto nomem;
        int fd = lx_open_beneath(basefd, parent);
        if (fd >= 0) {
            *pfd = fd;
            goto out;
        }
        if (fd == -ENOENT || fd == -ELOOP || fd == -ENOTDIR || fd == -ENOSYS ||
            fd == -EPERM || fd == -EINVAL || fd == -E2BIG || fd == -EXDEV ||
            fd == -EAGAIN || fd == -EOPNOTSUPP) {
            rc = walk_beneath(basefd, path, rel, n, pfd, ei);
            goto out;
        }
        rc = err_sys(ei, -fd, "cannot open directory of '%s'", path);
        goto out;
    }
    parent = parent_of(path);
    if (!parent)
        goto nomem;
    *pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*pfd < 0 && errno == ENOENT) {
        rc = mkdirs_path(parent, 0777, ei);
        if (rc != ERR_OK)
            goto out;
        *pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (*pfd < 0)
        rc = err_sys(ei, errno, "cannot open directory '%s'", parent);
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot write '%s': out of memory", path);
out:
    free(parent);
    return rc;
}

/* Writers --------------------------------------------------------------- */

static void maybe_prealloc(struct local_file *lf, uint64_t hint)
{
    if (hint >= PREALLOC_MIN && lx_prealloc(lf->fd, hint) == 0)
        lf->prealloc = hint;
}

static int create_direct(const char *path, const struct be_create_opts *o,
                         mode_t mode, struct local_file **out, struct errinfo *ei)
{
    int rc = ERR_OK, basefd = -1, pfd = -1;
    struct local_file *lf = NULL;
    const char *rel = o->tmp_dir ? below(path, o->tmp_dir) : NULL;
    if (rel) {
        basefd = open(o->tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (basefd < 0 && errno == ENOENT) { /* an ancestor of path: create it */
            rc = mkdirs_path(o->tmp_dir, 0777, ei);
            if (rc != ERR_OK)
                goto out;
            basefd = open(o->tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (basefd < 0) {
            rc = err_sys(ei, errno, "cannot open directory '%s'", o->tmp_dir);
            goto out;
        }
    }
    rc = open_parent(path, basefd, rel, &pfd, ei);
    if (rc != ERR_OK)
        goto out;
    lf = lf_new(LF_DIRECT, path, NULL, NULL);
    if (!lf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
        goto out;
    }
    const char *base = base_of(path);
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
    lf->fd = openat(pfd, base, flags, mode);
    if (lf->fd < 0 && errno == ELOOP) { /* a symlink at the final name: replace it */
        if (unlinkat(pfd, base, 0) == 0 || errno == ENOENT)
            lf->fd = openat(pfd, base, flags, mode);
    }
    if (lf->fd < 0) {
        rc = err_sys(ei, errno, "cannot create '%s'", path);
        goto out;
    }
    maybe_prealloc(lf, o->size_hint);
    *out = lf;
    lf = NULL;
out:
    lf_free(lf);
    if (pfd >= 0 && pfd != basefd)
        close(pfd);
    if (basefd >= 0)
        close(basefd);
    return rc;
}

/* O_TMPFILE writers need /proc to link the file; DISTCP_NO_TMPFILE=1 turns
 * them off (named temp files in the work directory, Hadoop's way). */
static bool anon_allowed(void)
{
    static int proc_ok = -1;   /* benign race: every thread computes the same */
    const char *v = getenv("DISTCP_NO_TMPFILE");
    if (v && v[0] == '1')
        return false;
    if (proc_ok < 0)
        proc_ok = access("/proc/self/fd", X_OK) == 0;
    return proc_ok == 1;
}

/* Each thread remembers the last final directory it opened (O_PATH fd,
 * already checked for symlinks below the work directory): a tree is copied
 * directory by directory, so most creates hit. Entries are dup'ed out, so a
 * writer finished on another thread never depends on this cache. */
struct pcache {
    char *tdir, *parent;
    int fd;
};
static pthread_key_t pcache_key;
static pthread_once_t pcache_once = PTHREAD_ONCE_INIT;

static void pcache_free(void *p)
{
    struct pcache *c = p;
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->tdir);
    free(c->parent);
    free(c);
}

static void pcache_init(void)
{
    pthread_key_create(&pcache_key, pcache_free);
}

static struct pcache *pcache_of_thread(void)
{
    pthread_once(&pcache_once, pcache_init);
    struct pcache *c = pthread_getspecific(pcache_key);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->fd = -1;
        if (pthread_setspecific(pcache_key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* A dup of the cached directory fd for `path`'s parent, or -1. */
static int pcache_get(const char *tdir, const char *path)
{
    struct pcache *c = pcache_of_thread();
    const char *slash = strrchr(path, '/');
    if (!c || c->fd < 0 || !slash || strcmp(c->tdir, tdir))
        return -1;
    size_t n = (size_t)(slash - path);
    if (strlen(c->parent) != n || memcmp(c->parent, path, n))
        return -1;
    return fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
}

static void pcache_put(const char *tdir, const char *path, int fd)
{
    struct pcache *c = pcache_of_thread();
    const char *slash = strrchr(path, '/');
    if (!c || !slash)
        return;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    char *t = strdup(tdir), *p = strndup(path, (size_t)(slash - path));
    if (nfd < 0 || !t || !p) {
        if (nfd >= 0)
            close(nfd);
        free(t);
        free(p);
        return;
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->tdir);
    free(c->parent);
    c->fd = nfd;
    c->tdir = t;
    c->parent = p;
}

/* The fast writer: an unnamed file (O_TMPFILE) in the final's own
 * directory, linked under its name at commit. Nothing is ever visible under
 * a temp name and a killed run leaves nothing behind. Returns false when the
 * file system cannot do it (the caller then uses a named temp file); true
 * with *rc set otherwise. */
static bool try_anon(struct local_file *lf, mode_t mode, struct errinfo *ei, int *rc)
{
    int pfd = -1;
    struct errinfo e2;
    if (!anon_allowed())
        return false;
    *rc = open_parent(lf->path, lf->tmpdirfd, lf->rel, &pfd, &e2);
    if (*rc != ERR_OK) {
        if (ei)
            *ei = e2;
        return true;
    }
    if (pfd == lf->tmpdirfd) {
        pfd = fcntl(lf->tmpdirfd, F_DUPFD_CLOEXEC, 0);
        if (pfd < 0) {
            *rc = err_sys(ei, errno, "cannot create '%s'", lf->path);
            return true;
        }
    }
    int fd = openat(pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        close(pfd);
        if (e == EOPNOTSUPP || e == EISDIR || e == EINVAL || e == ENOENT)
            return false;
        *rc = err_sys(ei, e, "cannot create '%s'", lf->path);
        return true;
    }
    pcache_put(lf_tmpdir(lf), lf->path, pfd);
    lf->kind = LF_ANON;
    lf->fd = fd;
    lf->pdirfd = pfd;
    *rc = ERR_OK;
    return true;
}

/* Link an LF_ANON file under its final name; an existing file there is
 * replaced atomically (linked under the temp name in the work directory,
 * then renamed over it). */
static int anon_link(struct local_file *lf, struct errinfo *ei)
{
    static atomic_int empty_path_ok = 1;   /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", lf->fd);
    const char *base = base_of(lf->path);
    errno = 0;
    if (atomic_load_explicit(&empty_path_ok, memory_order_relaxed)) {
        if (linkat(lf->fd, "", lf->pdirfd, base, AT_EMPTY_PATH) == 0)
            return ERR_OK;
        if (errno == ENOENT || errno == EPERM || errno == EINVAL) {
            atomic_store_explicit(&empty_path_ok, 0, memory_order_relaxed);
            errno = 0;
        } else if (errno != EEXIST)
            return err_sys(ei, errno, "cannot create '%s'", lf->path);
    }
    if (errno != EEXIST && linkat(AT_FDCWD, proc, lf->pdirfd, base, AT_SYMLINK_FOLLOW) == 0)
        return ERR_OK;
    if (errno != EEXIST)
        return err_sys(ei, errno, "cannot create '%s'", lf->path);
    if (lf->tmpdirfd < 0) {
        lf->tmpdirfd = open(lf_tmpdir(lf), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (lf->tmpdirfd < 0)
            return err_sys(ei, errno, "cannot open '%s'", lf_tmpdir(lf));
    }
    if (linkat(AT_FDCWD, proc, lf->tmpdirfd, lf->tmpname, AT_SYMLINK_FOLLOW) != 0) {
        if (errno != EEXIST || unlinkat(lf->tmpdirfd, lf->tmpname, 0) != 0 ||
            linkat(AT_FDCWD, proc, lf->tmpdirfd, lf->tmpname, AT_SYMLINK_FOLLOW) != 0)
            return err_sys(ei, errno, "cannot create '%s'", lf_tmppath(lf));
    }
    if (renameat(lf->tmpdirfd, lf->tmpname, lf->pdirfd, base) != 0) {
        int rc = err_sys(ei, errno, "cannot rename '%s' to '%s'", lf_tmppath(lf), lf->path);
        unlinkat(lf->tmpdirfd, lf->tmpname, 0);
        return rc;
    }
    return ERR_OK;
}

static int l_create(struct be_fs *fs, const char *path,
                    const struct be_create_opts *opts, struct be_file **out,
                    struct errinfo *ei)
{
    static const struct be_create_opts defaults;
    int rc = ERR_OK, tfd = -1;
    char *dir = NULL;
    struct local_file *lf = NULL;
    const struct be_create_opts *o = opts ? opts : &defaults;
    mode_t mode = o->mode ? (mode_t)(o->mode & 07777) : 0666;
    char tag[48], tmpname[NAME_MAX + 1];

    *out = NULL;
    if (o->direct) {
        rc = create_direct(path, o, mode, &lf, ei);
        goto out;
    }
    if (o->tmp_tag && *o->tmp_tag) {
        if (strchr(o->tmp_tag, '/') || strlen(o->tmp_tag) > NAME_MAX - 12) {
            rc = err_setx(ei, ERR_INVAL, "cannot create '%s': bad temp tag '%s'", path, o->tmp_tag);
            goto out;
        }
        snprintf(tmpname, sizeof tmpname, ".distcp.tmp.%s", o->tmp_tag);
    } else {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint64_t)(uintptr_t)&r ^ (uint64_t)gettid() << 32;
        snprintf(tag, sizeof tag, "%d.%016llx", (int)getpid(), (unsigned long long)r);
        snprintf(tmpname, sizeof tmpname, ".distcp.tmp.%s", tag);
    }

    const char *tdir = o->tmp_dir;
    if (!tdir) {
        dir = parent_of(path);
        if (!dir) {
            rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
            goto out;
        }
        tdir = dir;
    }
    if (anon_allowed() && !o->shared) {
        int pfd = pcache_get(tdir, path);
        if (pfd >= 0) {
            int fd = openat(pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
            lf = fd >= 0 ? lf_new(LF_ANON, path, tdir, tmpname) : NULL;
            if (lf) {
                lf->fd = fd;
                lf->pdirfd = pfd;
                maybe_prealloc(lf, o->size_hint);
                goto out;
            }
            if (fd >= 0)
                close(fd);
            close(pfd);
        }
    }
    tfd = open(tdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0 && errno == ENOENT && !o->tmp_dir) {
        /* no work directory given: the final's directory is created now */
        rc = mkdirs_path(tdir, 0777, ei);
        if (rc != ERR_OK)
            goto out;
        tfd = open(tdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (tfd < 0) {
        rc = err_sys(ei, errno, "cannot create a temp file in '%s'", tdir);
        goto out;
    }
    lf = lf_new(LF_TEMP, path, tdir, tmpname);
    if (!lf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
        goto out;
    }
    lf->tmpdirfd = tfd;
    tfd = -1;
    lf->rel = o->tmp_dir ? below(lf->path, o->tmp_dir) : base_of(lf->path);
    /* a shared writer needs a name other processes can open */
    if (!o->shared && try_anon(lf, mode, ei, &rc)) {
        if (rc == ERR_OK)
            maybe_prealloc(lf, o->size_hint);
        goto out;
    }
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    lf->fd = openat(lf->tmpdirfd, tmpname, flags, mode);
    if (lf->fd < 0 && errno == EEXIST) { /* a stale temp of an earlier attempt */
        if (unlinkat(lf->tmpdirfd, tmpname, 0) == 0 || errno == ENOENT)
            lf->fd = openat(lf->tmpdirfd, tmpname, flags, mode);
    }
    if (lf->fd < 0) {
        rc = err_sys(ei, errno, "cannot create '%s'", lf_tmppath(lf));
        goto out;
    }
    maybe_prealloc(lf, o->size_hint);
out:
    if (rc == ERR_OK) {
        *out = (struct be_file *)lf;
        lf = NULL;
    }
    lf_free(lf);
    if (tfd >= 0)
        close(tfd);
    free(dir);
    return rc;
}

static int l_write(struct be_file *w, uint64_t off, const void *buf, size_t n,
                   struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    const char *p = buf;
    while (n > 0) {
        ssize_t r = pwrite(lf->fd, p, n > IO_MAX ? IO_MAX : n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return err_sys(ei, errno, "cannot write '%s'", lf->path);
        }
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return ERR_OK;
}

/* Give back blocks preallocated past the end. ftruncate sets mtime, so this
 * runs before any attribute is applied (finish, wsetattr or commit, whichever
 * comes first) and only once. */
static void trim_prealloc(struct local_file *lf, const struct stat *known)
{
    struct stat s;
    if (!lf->prealloc)
        return;
    if (!known) {
        if (fstat(lf->fd, &s) != 0)
            return;
        known = &s;
    }
    if (lf->prealloc > (uint64_t)known->st_size && ftruncate(lf->fd, known->st_size) != 0) {
        /* harmless: the blocks stay allocated */
    }
    lf->prealloc = 0;
}

static int l_finish(struct be_file *w, struct be_stat *st, struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    struct stat s;
    trim_prealloc(lf, NULL);       /* first: it moves mtime */
    if (fstat(lf->fd, &s) != 0)
        return err_sys(ei, errno, "cannot stat '%s'", lf->path);
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->size = (uint64_t)s.st_size;
    st->mode = s.st_mode & 07777;
    st->mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000LL + s.st_mtim.tv_nsec;
    st->atime_ns = (int64_t)s.st_atim.tv_sec * 1000000000LL + s.st_atim.tv_nsec;
    st->uid = s.st_uid;
    st->gid = s.st_gid;
    return ERR_OK;
}

static int l_commit(struct be_file *w, struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    int rc = ERR_OK, pfd = -1;
    trim_prealloc(lf, NULL);
    if (want_fsync() && fdatasync(lf->fd) != 0) {
        rc = err_sys(ei, errno, "cannot sync '%s'", lf->path);
        goto out;
    }
    if (lf->kind == LF_ANON) {
        rc = anon_link(lf, ei);
        if (rc == ERR_OK && close(lf->fd) != 0 && errno != EINTR)
            rc = err_sys(ei, errno, "cannot write '%s'", lf->path);
        lf->fd = -1;
        goto out;
    }
    int fd = lf->fd;
    lf->fd = -1;
    if (close(fd) != 0 && errno != EINTR) { /* NFS reports write errors here */
        rc = err_sys(ei, errno, "cannot write '%s'", lf->path);
        goto out;
    }
    if (lf->kind != LF_TEMP)
        goto out;
    rc = open_parent(lf->path, lf->tmpdirfd, lf->rel, &pfd, ei);
    if (rc != ERR_OK)
        goto out;
    if (renameat(lf->tmpdirfd, lf->tmpname, pfd, base_of(lf->path)) != 0) {
        rc = err_sys(ei, errno, "cannot rename '%s' to '%s'", lf_tmppath(lf), lf->path);
        goto out;
    }
out:
    if (rc != ERR_OK && lf->kind == LF_TEMP)
        unlinkat(lf->tmpdirfd, lf->tmpname, 0);
    if (pfd >= 0 && pfd != lf->tmpdirfd)
        close(pfd);
    lf_free(lf);
    return rc;
}

static void l_abort(struct be_file *w)
{
    struct local_file *lf = lf_of(w);
    if (!lf)
        return;
    if (lf->kind == LF_TEMP) {
        if (lf->fd >= 0)
            close(lf->fd);
        lf->fd = -1;
        unlinkat(lf->tmpdirfd, lf->tmpname, 0);
    }
    lf_free(lf);   /* LF_ANON: closing the fd frees the unnamed file */
}

static int l_open_append(struct be_fs *fs, const char *path, struct be_file **out,
                         struct errinfo *ei)
{
    int rc = ERR_OK;
    struct local_file *lf = NULL;
    *out = NULL;
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            rc = err_setx(ei, ERR_UNSAFE_PATH,
                          "refusing to append to '%s': it is a symbolic link", path);
        else
            rc = err_sys(ei, errno, "cannot open '%s'", path);
        goto out;
    }
    lf = lf_new(LF_APPEND, path, NULL, NULL);
    if (!lf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot open '%s': out of memory", path);
        goto out;
    }
    lf->fd = fd;
    fd = -1;
    *out = (struct be_file *)lf;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int l_copy_range(struct be_file *r, uint64_t roff, struct be_file *w,
                        uint64_t woff, uint64_t len, uint64_t *done,
                        struct errinfo *ei)
{
    struct local_file *rf = lf_of(r), *wf = lf_of(w);
    *done = 0;
    int e = lx_copy_range(rf->fd, roff, wf->fd, woff, len, done, &wf->no_clone);
    rf->pos = roff + *done;
    if (e == EOPNOTSUPP)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot copy '%s' to '%s' in the kernel: %s",
                        rf->path, wf->path, err_str(ERR_UNSUPPORTED));
    if (e)
        return err_sys(ei, e, "cannot copy '%s' to '%s'", rf->path, wf->path);
    return ERR_OK;
}

/* Other path operations ------------------------------------------------- */

static int l_rename(struct be_fs *fs, const char *from, const char *to,
                    struct errinfo *ei)
{
    if (renameat(AT_FDCWD, from, AT_FDCWD, to) != 0)
        return err_sys(ei, errno, "cannot rename '%s' to '%s'", from, to);
    return ERR_OK;
}

static int l_remove(struct be_fs *fs, const char *path, bool recursive,
                    struct errinfo *ei)
{
    int rc = ERR_OK, pfd = -1;
    char *parent = NULL;
    if (!path[0] || (path[0] == '/' && path[1] == 0)) {
        rc = err_setx(ei, ERR_DELETE_GUARD, "refusing to remove '%s'", path);
        goto out;
    }
    if (!recursive) {
        if (unlink(path) == 0)
            goto out;
        if (errno == EISDIR && rmdir(path) == 0)
            goto out;
        rc = err_sys(ei, errno, "cannot remove '%s'", path);
        goto out;
    }
    parent = parent_of(path);
    if (!parent) {
        rc = err_setx(ei, ERR_NOMEM, "cannot remove '%s': out of memory", path);
        goto out;
    }
    pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        rc = err_sys(ei, errno, "cannot remove '%s'", path);
        goto out;
    }
    rc = lx_remove_tree(pfd, base_of(path), path, ei);
out:
    if (pfd >= 0)
        close(pfd);
    free(parent);
    return rc;
}

static int l_readlink(struct be_fs *fs, const char *path, char *buf, size_t n,
                      struct errinfo *ei)
{
    if (n < 2)
        return err_setx(ei, ERR_INVAL, "cannot read link '%s': buffer too small", path);
    ssize_t r = readlink(path, buf, n - 1);
    if (r < 0)
        return err_sys(ei, errno, "cannot read link '%s'", path);
    if ((size_t)r >= n - 1) {
        buf[0] = 0;
        return err_setx(ei, ERR_TOO_LONG, "cannot read link '%s': target longer than %zu bytes",
                        path, n - 2);
    }
    buf[r] = 0;
    return ERR_OK;
}

static int l_symlink(struct be_fs *fs, const char *target, const char *path,
                     struct errinfo *ei)
{
    if (symlink(target, path) != 0)
        return err_sys(ei, errno, "cannot create symlink '%s'", path);
    return ERR_OK;
}

/* Attributes ------------------------------------------------------------ */

/* Look up a user or group name; ERR_INVAL when unknown. */
static int lookup_id(bool user, const char *name, uint32_t *id, const char *path,
                     struct errinfo *ei)
{
    int rc = ERR_OK;
    size_t cap = 16384;
    char *buf = NULL;
    for (;;) {
        char *nb = realloc(buf, cap);
        if (!nb) {
            rc = err_setx(ei, ERR_NOMEM, "cannot set owner of '%s': out of memory", path);
            goto out;
        }
        buf = nb;
        int e;
        void *res = NULL;
        if (user) {
            struct passwd pw, *pp = NULL;
            e = getpwnam_r(name, &pw, buf, cap, &pp);
            if (!e && pp)
                *id = pp->pw_uid;
            res = pp;
        } else {
            struct group gr, *gp = NULL;
            e = getgrnam_r(name, &gr, buf, cap, &gp);
            if (!e && gp)
                *id = gp->gr_gid;
            res = gp;
        }
        if (e == ERANGE && cap < PWBUF_MAX) {
            cap *= 2;
            continue;
        }
        if (e && e != ENOENT && e != ESRCH) {
            rc = err_sys(ei, e, "cannot look up %s '%s' for '%s'", user ? "user" : "group",
                         name, path);
            goto out;
        }
        if (!res)
            rc = err_setx(ei, ERR_INVAL, "cannot set %s of '%s': unknown %s '%s'",
                          user ? "owner" : "group", path, user ? "user" : "group", name);
        goto out;
    }
out:
    free(buf);
    return rc;
}

static bool xattr_name_ok(const char *n)
{
    if (strncmp(n, META_PREFIX, sizeof META_PREFIX - 1) == 0)
        return false; /* distcp's own metadata belongs to the file it was written for */
    return strncmp(n, "user.", 5) == 0 || strncmp(n, "trusted.", 8) == 0 ||
           strncmp(n, "security.", 9) == 0;
}

static bool xattr_priv_ns(const char *n)
{
    return strncmp(n, "user.", 5) != 0;
}

/* Split ACL text into access and default entries, each comma-separated;
 * "default:" / "d:" prefixes are removed from the latter. */
static int acl_split(const char *text, char **acc, char **def)
{
    size_t n = strlen(text) + 1;
    char *a = calloc(1, n), *d = calloc(1, n);
    char *work = strdup(text);
    int rc = ERR_OK;
    if (!a || !d || !work) {
        rc = ERR_NOMEM;
        goto out;
    }
    char *save = NULL;
    for (char *e = strtok_r(work, ", \t\n", &save); e; e = strtok_r(NULL, ", \t\n", &save)) {
        char *dst = a;
        if (strncmp(e, "default:", 8) == 0) {
            e += 8;
            dst = d;
        } else if (strncmp(e, "d:", 2) == 0) {
            e += 2;
            dst = d;
        }
        if (*dst)
            strcat(dst, ",");
        strcat(dst, e);
    }
    *acc = a;
    *def = d;
    a = d = NULL;
out:
    free(a);
    free(d);
    free(work);
    return rc;
}

static int acl_parse(const char *text, bool access, acl_t *out, const char *path,
                     struct errinfo *ei)
{
    *out = NULL;
    if (!*text)
        return ERR_OK;
    pthread_mutex_lock(&acl_text_mu);
    acl_t acl = acl_from_text(text);
    pthread_mutex_unlock(&acl_text_mu);
    if (acl && access && acl_valid(acl) != 0)
        acl_calc_mask(&acl);
    if (!acl || acl_valid(acl) != 0) {
        if (acl)
            acl_free(acl);
        return err_setx(ei, ERR_INVAL, "cannot set ACL of '%s': invalid ACL '%s'", path, text);
    }
    *out = acl;
    return ERR_OK;
}

/* Make the ACLs of fd (fd >= 0) or path equal to `text` (NULL: a minimal
 * ACL equivalent to the mode), setting only what differs. Default ACLs are
 * handled for directories by path only (files have none). */
static int apply_acl(int fd, const char *path, bool isdir, const char *text,
                     struct errinfo *ei)
{
    int rc = ERR_OK;
    char *atext = NULL, *dtext = NULL;
    acl_t want = NULL, wdef = NULL, cur = NULL, cdef = NULL;
    if (text) {
        if (acl_split(text, &atext, &dtext) != ERR_OK) {
            rc = err_setx(ei, ERR_NOMEM, "cannot set ACL of '%s': out of memory", path);
            goto out;
        }
        rc = acl_parse(atext, true, &want, path, ei);
        if (rc == ERR_OK)
            rc = acl_parse(dtext, false, &wdef, path, ei);
        if (rc != ERR_OK)
            goto out;
    }
    cur = fd >= 0 ? acl_get_fd(fd) : acl_get_file(path, ACL_TYPE_ACCESS);
    if (!cur) {
        if ((errno == ENOTSUP || errno == ENOSYS) && !want && !wdef)
            goto out;
        rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    if (!want && acl_equiv_mode(cur, NULL) != 0) {
        /* the source has no extended ACL: strip ours down to the mode */
        struct stat s;
        if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) {
            rc = err_sys(ei, errno, "cannot stat '%s'", path);
            goto out;
        }
        want = acl_from_mode(s.st_mode);
        if (!want) {
            rc = err_sys(ei, errno, "cannot set ACL of '%s'", path);
            goto out;
        }
    }
    if (want && acl_cmp(want, cur) != 0) {
        if ((fd >= 0 ? acl_set_fd(fd, want) : acl_set_file(path, ACL_TYPE_ACCESS, want)) != 0) {
            rc = err_sys(ei, errno, "cannot set ACL of '%s'", path);
            goto out;
        }
    }
    if (!isdir || fd >= 0)
        goto out;
    cdef = acl_get_file(path, ACL_TYPE_DEFAULT);
    if (wdef) {
        if (!cdef || acl_cmp(wdef, cdef) != 0) {
            if (acl_set_file(path, ACL_TYPE_DEFAULT, wdef) != 0) {
                rc = err_sys(ei, errno, "cannot set default ACL of '%s'", path);
                goto out;
            }
        }
    } else if (cdef && acl_entries(cdef) > 0) {
        if (acl_delete_def_file(path) != 0) {
            rc = err_sys(ei, errno, "cannot remove default ACL of '%s'", path);
            goto out;
        }
    }
out:
    if (want)
        acl_free(want);
    if (wdef)
        acl_free(wdef);
    if (cur)
        acl_free(cur);
    if (cdef)
        acl_free(cdef);
    free(atext);
    free(dtext);
    return rc;
}

/* Text of the ACLs of `path` ("user::rw-,user:bob:r--,...,default:..."),
 * or NULL when they are trivial (equivalent to the mode). */
static int acl_text_of(const char *path, bool isdir, char **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    acl_t acc = NULL, def = NULL;
    char *t1 = NULL, *t2 = NULL;
    *out = NULL;
    acc = acl_get_file(path, ACL_TYPE_ACCESS);
    if (!acc) {
        if (errno != ENOTSUP && errno != ENOSYS)
            rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    if (isdir)
        def = acl_get_file(path, ACL_TYPE_DEFAULT);
    bool hasdef = def && acl_entries(def) > 0;
    if (acl_equiv_mode(acc, NULL) == 0 && !hasdef)
        goto out;
    pthread_mutex_lock(&acl_text_mu);
    t1 = acl_to_any_text(acc, NULL, ',', 0);
    t2 = hasdef ? acl_to_any_text(def, "default:", ',', 0) : NULL;
    pthread_mutex_unlock(&acl_text_mu);
    if (!t1 || (hasdef && !t2)) {
        rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    size_t n = strlen(t1) + (t2 ? strlen(t2) + 1 : 0) + 1;
    *out = malloc(n);
    if (!*out) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read ACL of '%s': out of memory", path);
        goto out;
    }
    snprintf(*out, n, "%s%s%s", t1, t2 ? "," : "", t2 ? t2 : "");
out:
    if (t1)
        acl_free(t1);
    if (t2)
        acl_free(t2);
    if (acc)
        acl_free(acc);
    if (def)
        acl_free(def);
    return rc;
}

/* Apply `what` of `a` to fd (fd >= 0) or to path without following a final
 * symlink, changing only what differs. Order: owner (which may clear
 * set-id bits), mode, xattrs, ACL, times last. */
static int apply_attrs(int fd, const char *path, const struct be_attrs *a,
                       unsigned what, struct errinfo *ei)
{
    int rc = ERR_OK;
    struct stat s;
    unsigned char *cv = NULL;
    if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) {
        rc = err_sys(ei, errno, "cannot stat '%s'", path);
        goto out;
    }
    bool islnk = S_ISLNK(s.st_mode), isdir = S_ISDIR(s.st_mode);

    if (what & (BE_ATTR_OWNER | BE_ATTR_GROUP)) {
        uint32_t uid = BE_ID_NONE, gid = BE_ID_NONE;
        /* names: given, or behind a pseudo id of a names-only store (idmap.h) */
        const char *on = a->st.owner[0] ? a->st.owner : idmap_name(a->st.uid);
        const char *gn = a->st.group[0] ? a->st.group : idmap_name(a->st.gid);
        if (what & BE_ATTR_OWNER) {
            uid = idmap_is_pseudo(a->st.uid) ? BE_ID_NONE : a->st.uid;
            if (uid == BE_ID_NONE && on && on[0] &&
                (rc = lookup_id(true, on, &uid, path, ei)) != ERR_OK)
                goto out;
        }
        if (what & BE_ATTR_GROUP) {
            gid = idmap_is_pseudo(a->st.gid) ? BE_ID_NONE : a->st.gid;
            if (gid == BE_ID_NONE && gn && gn[0] &&
                (rc = lookup_id(false, gn, &gid, path, ei)) != ERR_OK)
                goto out;
        }
        if ((uid != BE_ID_NONE && uid != s.st_uid) || (gid != BE_ID_NONE && gid != s.st_gid)) {
            uid_t u = uid == BE_ID_NONE ? (uid_t)-1 : uid;
            gid_t g = gid == BE_ID_NONE ? (gid_t)-1 : gid;
            if ((fd >= 0 ? fchown(fd, u, g) : fchownat(AT_FDCWD, path, u, g, AT_SYMLINK_NOFOLLOW)) != 0) {
                rc = err_sys(ei, errno, "cannot change owner of '%s'", path);
                goto out;
            }
            if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) { /* set-id bits may be gone */
                rc = err_sys(ei, errno, "cannot stat '%s'", path);
                goto out;
            }
        }
    }

    if ((what & BE_ATTR_MODE) && !islnk && (s.st_mode & 07777) != (a->st.mode & 07777)) {
        mode_t m = a->st.mode & 07777;
        int r = fd >= 0 ? fchmod(fd, m) : fchmodat(AT_FDCWD, path, m, AT_SYMLINK_NOFOLLOW);
        if (r != 0 && fd < 0 && (errno == ENOTSUP || errno == ENOSYS))
            r = fchmodat(AT_FDCWD, path, m, 0); /* no /proc: lstat said not a symlink */
        if (r != 0) {
            rc = err_sys(ei, errno, "cannot change permissions of '%s'", path);
            goto out;
        }
    }

    if ((what & BE_ATTR_XATTR) && !islnk) {
        for (size_t i = 0; i < a->nxattrs; i++) {
            const struct be_xattr *x = &a->xattrs[i];
            if (!xattr_name_ok(x->name))
                continue;
            size_t clen = 0;
            if (fd < 0 && lx_xattr_get(-1, path, x->name, &cv, &clen) == 0 &&
                clen == x->len && (x->len == 0 || memcmp(cv, x->value, x->len) == 0)) {
                free(cv);
                cv = NULL;
                continue;
            }
            free(cv);
            cv = NULL;
            int e = lx_xattr_set(fd, path, x->name, x->value, x->len);
            if (e && xattr_priv_ns(x->name) && (e == EPERM || e == ENOTSUP || e == EACCES))
                continue; /* trusted./security.: kept only where permitted */
            if (e) {
                rc = err_sys(ei, e, "cannot set xattr '%s' of '%s'", x->name, path);
                goto out;
            }
        }
    }

    if ((what & BE_ATTR_ACL) && !islnk) {
        rc = apply_acl(fd, path, isdir, a->acl, ei);
        if (rc != ERR_OK)
            goto out;
    }

    if (what & BE_ATTR_TIMES) {
        int64_t cm = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
        int64_t ca = (int64_t)s.st_atim.tv_sec * 1000000000 + s.st_atim.tv_nsec;
        if (cm != a->st.mtime_ns || ca != a->st.atime_ns) {
            struct timespec ts[2];
            int64_t v[2] = {a->st.atime_ns, a->st.mtime_ns};
            for (int i = 0; i < 2; i++) {
                int64_t sec = v[i] / 1000000000, ns = v[i] % 1000000000;
                if (ns < 0) {
                    ns += 1000000000;
                    sec--;
                }
                ts[i].tv_sec = (time_t)sec;
                ts[i].tv_nsec = (long)ns;
            }
            if ((fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW)) != 0) {
                rc = err_sys(ei, errno, "cannot set times of '%s'", path);
                goto out;
            }
        }
    }
out:
    free(cv);
    return rc;
}

static int l_wsetattr(struct be_file *w, const struct be_attrs *a, unsigned what,
                      struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    trim_prealloc(lf, NULL);
    return apply_attrs(lf->fd, lf->path, a, what, ei);
}

static int l_setattr(struct be_fs *fs, const char *path, const struct be_attrs *a,
                     unsigned what, struct errinfo *ei)
{
    return apply_attrs(-1, path, a, what, ei);
}

static int l_getattrs(struct be_fs *fs, const char *path, unsigned what,
                      struct be_attrs *out, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *names = NULL;
    size_t nlen = 0;
    struct stat s;
    out->xattrs = NULL;
    out->nxattrs = 0;
    out->acl = NULL;
    if (lstat(path, &s) != 0) {
        rc = err_sys(ei, errno, "cannot stat '%s'", path);
        goto out;
    }
    if (what & BE_ATTR_XATTR) {
        int e = lx_xattr_list(-1, path, &names, &nlen);
        if (e == E2BIG) {
            rc = err_setx(ei, ERR_LIMIT, "cannot read xattrs of '%s': more than %u bytes of names",
                          path, LX_XATTR_TOTAL_MAX);
            goto out;
        }
        if (e && e != ENOTSUP && e != ENODATA) {
            rc = err_sys(ei, e, "cannot read xattrs of '%s'", path);
            goto out;
        }
        size_t count = 0, total = 0;
        for (size_t i = 0; i < nlen; i += strlen(names + i) + 1)
            count++;
        if (count) {
            out->xattrs = calloc(count, sizeof *out->xattrs);
            if (!out->xattrs)
                goto nomem;
        }
        for (size_t i = 0; i < nlen; i += strlen(names + i) + 1) {
            const char *nm = names + i;
            if (!xattr_name_ok(nm))
                continue;
            struct be_xattr *x = &out->xattrs[out->nxattrs];
            e = lx_xattr_get(-1, path, nm, &x->value, &x->len);
            if (e == ENODATA)
                continue; /* removed meanwhile */
            if (e == E2BIG || (!e && (total += x->len) > LX_XATTR_TOTAL_MAX)) {
                free(x->value);
                x->value = NULL;
                rc = err_setx(ei, ERR_LIMIT, "cannot read xattr '%s' of '%s': value too large",
                              nm, path);
                goto out;
            }
            if (e) {
                rc = err_sys(ei, e, "cannot read xattr '%s' of '%s'", nm, path);
                goto out;
            }
            x->name = strdup(nm);
            out->nxattrs++;
            if (!x->name)
                goto nomem;
        }
    }
    if ((what & BE_ATTR_ACL) && !S_ISLNK(s.st_mode))
        rc = acl_text_of(path, S_ISDIR(s.st_mode), &out->acl, ei);
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot read attributes of '%s': out of memory", path);
out:
    if (rc != ERR_OK)
        be_attrs_release(out);
    free(names);
    return rc;
}

/* distcp metadata: xattr "user.distcp.<key>". */
static int meta_name(const char *key, char *buf, size_t n, const char *path,
                     struct errinfo *ei)
{
    if (!key[0] || strlen(key) > META_KEY_MAX)
        return err_setx(ei, ERR_INVAL, "bad metadata key '%s' for '%s'", key, path);
    snprintf(buf, n, META_PREFIX "%s", key);
    return ERR_OK;
}

static int meta_err(int e, const char *verb, const char *key, const char *path,
                    struct errinfo *ei)
{
    if (e == ENODATA)
        return err_setx(ei, ERR_NOT_FOUND, "cannot %s metadata '%s' of '%s': none recorded",
                        verb, key, path);
    if (e == E2BIG)
        return err_setx(ei, ERR_LIMIT, "cannot %s metadata '%s' of '%s': value too large",
                        verb, key, path);
    int rc = err_sys(ei, e, "cannot %s metadata '%s' of '%s'", verb, key, path);
    if (e == ENOTSUP || e == EOPNOTSUPP) {
        rc = ERR_UNSUPPORTED;
        if (ei)
            ei->code = rc;
    }
    return rc;
}

static int l_getmeta(struct be_fs *fs, const char *path, const char *key,
                     char **value, struct errinfo *ei)
{
    char name[sizeof META_PREFIX + META_KEY_MAX];
    unsigned char *v = NULL;
    size_t len = 0;
    *value = NULL;
    int rc = meta_name(key, name, sizeof name, path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_get(-1, path, name, &v, &len);
    if (e)
        return meta_err(e, "read", key, path, ei);
    *value = (char *)v;
    return ERR_OK;
}

static int l_setmeta(struct be_fs *fs, const char *path, const char *key,
                     const char *value, struct errinfo *ei)
{
    char name[sizeof META_PREFIX + META_KEY_MAX];
    int rc = meta_name(key, name, sizeof name, path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_set(-1, path, name, value, strlen(value));
    return e ? meta_err(e, "set", key, path, ei) : ERR_OK;
}

static int l_wsetmeta(struct be_file *w, const char *key, const char *value,
                      struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    char name[sizeof META_PREFIX + META_KEY_MAX];
    int rc = meta_name(key, name, sizeof name, lf->path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_set(lf->fd, lf->path, name, value, strlen(value));
    return e ? meta_err(e, "set", key, lf->path, ei) : ERR_OK;
}

/* Shared writers (backend.h wshare/wjoin): on a file system every process
 * sees (NFS, Lustre, one host), the token is the named temp file's path;
 * joiners open it for writing and pwrite their ranges. */
static int l_wshare(struct be_file *w, char *tok, size_t n, uint64_t *align,
                    struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    if (lf->kind != LF_TEMP)
        return err_setx(ei, ERR_UNSUPPORTED, "cannot share the writer of '%s': it has no temp name",
                        lf->path);
    if ((size_t)snprintf(tok, n, "%s", lf_tmppath(lf)) >= n)
        return err_setx(ei, ERR_TOO_LONG, "cannot share the writer of '%s': temp path too long",
                        lf->path);
    *align = 1;
    return ERR_OK;
}

static int l_wjoin(struct be_fs *fs, const char *path, const char *tok, uint64_t off,
                   uint64_t len, struct be_file **out, struct errinfo *ei)
{
    (void)fs;
    (void)off;
    (void)len;
    *out = NULL;
    const char *slash = strrchr(tok, '/');
    if (tok[0] != '/' || !slash || strncmp(slash + 1, ".distcp.tmp.", 12))
        return err_setx(ei, ERR_INVAL, "cannot join the writer of '%s': '%s' is not a distcp temp file",
                        path, tok);
    struct local_file *lf = lf_new(LF_JOIN, path, NULL, NULL);
    if (!lf)
        return err_setx(ei, ERR_NOMEM, "cannot join the writer of '%s': out of memory", path);
    lf->fd = open(tok, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (lf->fd < 0) {
        int rc = err_sys(ei, errno, "cannot join the writer of '%s' (temp file '%s')", path, tok);
        lf_free(lf);
        return rc;
    }
    *out = (struct be_file *)lf;
    return ERR_OK;
}

static int l_wjoin_end(struct be_file *j, bool ok, char *receipt, size_t n,
                       struct errinfo *ei)
{
    struct local_file *lf = lf_of(j);
    int rc = ERR_OK;
    if (ok && want_fsync() && fdatasync(lf->fd) != 0)
        rc = err_sys(ei, errno, "cannot sync '%s'", lf->path);
    int fd = lf->fd;
    lf->fd = -1;
    if (close(fd) != 0 && errno != EINTR && ok && rc == ERR_OK)
        rc = err_sys(ei, errno, "cannot write '%s'", lf->path);   /* NFS reports here */
    if (receipt && n)
        receipt[0] = 0;
    lf_free(lf);
    return rc;
}

static int l_wreceipt(struct be_file *w, uint64_t off, uint64_t len, const char *receipt,
                      struct errinfo *ei)
{
    (void)off;
    (void)len;
    if (receipt && *receipt)
        return err_setx(ei, ERR_INVAL, "unexpected receipt for the writer of '%s'",
                        lf_of(w)->path);
    return ERR_OK;
}

const struct backend_ops backend_local = {
    .name = "local",
    .caps = BE_CAP_ATOMIC_RENAME | BE_CAP_EMPTY_DIRS | BE_CAP_POSIX_META |
            BE_CAP_XATTR | BE_CAP_ACL | BE_CAP_MTIME | BE_CAP_SYMLINKS |
            BE_CAP_PARALLEL_WRITE | BE_CAP_NUMERIC_IDS | BE_CAP_LOCAL_PATHS |
            BE_CAP_LIST_PER_DIR,
    .open = l_open,
    .close = l_close,
    .stat = l_stat,
    .list = l_list,
    .open_read = l_open_read,
    .read = l_read,
    .close_read = l_close_read,
    .create = l_create,
    .write = l_write,
    .finish = l_finish,
    .wsetattr = l_wsetattr,
    .wsetmeta = l_wsetmeta,
    .commit = l_commit,
    .abort = l_abort,
    .open_append = l_open_append,
    .copy_range = l_copy_range,
    .wshare = l_wshare,
    .wjoin = l_wjoin,
    .wjoin_end = l_wjoin_end,
    .wreceipt = l_wreceipt,
    .mkdirs = l_mkdirs,
    .rename = l_rename,
    .remove = l_remove,
    .getattrs = l_getattrs,
    .setattr = l_setattr,
    .getmeta = l_getmeta,
    .setmeta = l_setmeta,
    .readlink = l_readlink,
    .symlink = l_symlink,
    .sync = lx_sync,
};

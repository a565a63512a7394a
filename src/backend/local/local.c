/* local.c - the local/POSIX file system backend ("file:" and plain paths):
 * opening the store, stat, list, readers, directories, rename/remove/
 * symlinks, the ops table, and the small helpers every file of the folder
 * uses (local_int.h). Beside it: local_write.c (writers, copy_range, shared
 * writers), local_attr.c (owner/group/mode/times, xattrs, ACLs, distcp
 * metadata), local_linux.c (the Linux system calls).
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
#include "backend/local/local_int.h"
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

bool local_want_fsync(void)
{
    const char *v = getenv("DISTCP_FSYNC");
    return v && v[0] == '1' && v[1] == 0;
}

/* A reader/writer with room for the final path and (temp writers) the temp
 * path in one allocation. */
struct local_file *lf_new(enum lf_kind kind, const char *path,
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

void lf_free(struct local_file *lf)
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
const char *lf_tmppath(const struct local_file *lf)
{
    return lf->path + strlen(lf->path) + 1;
}

/* The temp directory a writer was created for (thread-local copy, valid
 * until the next call on this thread). */
const char *lf_tmpdir(const struct local_file *lf)
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
char *local_parent_of(const char *path)
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

const char *local_base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* `path` relative to `root` when strictly below it, else NULL. */
const char *local_below(const char *path, const char *root)
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
int local_mkdirs_path(const char *path, mode_t mode, struct errinfo *ei)
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
    return local_mkdirs_path(path, mode ? (mode & 07777) : 0777, ei);
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
int local_open_parent(const char *path, int basefd, const char *rel, int *pfd,
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
    parent = local_parent_of(path);
    if (!parent)
        goto nomem;
    *pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*pfd < 0 && errno == ENOENT) {
        rc = local_mkdirs_path(parent, 0777, ei);
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
    parent = local_parent_of(path);
    if (!parent) {
        rc = err_setx(ei, ERR_NOMEM, "cannot remove '%s': out of memory", path);
        goto out;
    }
    pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        rc = err_sys(ei, errno, "cannot remove '%s'", path);
        goto out;
    }
    rc = lx_remove_tree(pfd, local_base_of(path), path, ei);
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

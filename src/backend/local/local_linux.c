/* local_linux.c - Linux fast paths of the local backend: statx, getdents64
 * listing, recursive removal by fd, openat2 beneath-resolution, reflink and
 * copy_file_range, fallocate, and the xattr system calls.
 *
 * Invariants: never follows a symlink where the caller asked not to
 * (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW, RESOLVE_NO_SYMLINKS); every buffer is
 * bounded (listing 256 KiB, removal 32 KiB per level, xattrs 64 KiB per
 * value and 1 MiB per list). Threading: no shared state; all functions may
 * run concurrently. */
#include "backend/local/local.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define LIST_BUF (256u * 1024)
#define RM_BUF (32u * 1024)
#define RM_DEPTH_MAX 2048
#define CFR_CHUNK (1ull << 30)
#define CLONE_ALIGN 4096u

#define STAT_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | \
                   STATX_GID | STATX_ATIME | STATX_MTIME | STATX_INO |   \
                   STATX_SIZE)

static void fill_stat(struct be_stat *st, const struct statx *sx)
{
    switch (sx->stx_mode & S_IFMT) {
    case S_IFREG: st->type = BE_FILE; break;
    case S_IFDIR: st->type = BE_DIR; break;
    case S_IFLNK: st->type = BE_SYMLINK; break;
    default: st->type = BE_OTHER; break;
    }
    st->mode = sx->stx_mode & 07777;
    st->meta_known = false;
    st->meta_digest[0] = 0;
    st->size = sx->stx_size;
    st->mtime_ns = (int64_t)sx->stx_mtime.tv_sec * 1000000000 + sx->stx_mtime.tv_nsec;
    st->atime_ns = (int64_t)sx->stx_atime.tv_sec * 1000000000 + sx->stx_atime.tv_nsec;
    st->uid = sx->stx_uid;
    st->gid = sx->stx_gid;
    st->owner[0] = 0;
    st->group[0] = 0;
    st->blocksize = 0;
    st->replication = 0;
    st->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    st->ino = sx->stx_ino;
    st->nlink = sx->stx_nlink;
}

int lx_stat_at(int dirfd, const char *name, struct be_stat *st)
{
    struct statx sx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
              STAT_MASK, &sx) != 0)
        return errno;
    fill_stat(st, &sx);
    return 0;
}

#ifndef SYS_getxattrat
#define SYS_getxattrat 464   /* Linux 6.13, same number on every architecture */
#endif
struct lx_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

/* distcp's digest xattr of name in dirfd, looked up relative to the open
 * directory (no path walk); kernels before 6.13 answer ENOSYS once and the
 * engine then asks per file. */
static void list_digest(int dirfd, const char *name, struct be_stat *st)
{
    static atomic_int unsupported;
    if (st->type != BE_FILE || atomic_load_explicit(&unsupported, memory_order_relaxed))
        return;
    struct lx_xattr_args a = {.value = (uint64_t)(uintptr_t)st->meta_digest,
                              .size = sizeof st->meta_digest - 1, .flags = 0};
    long n = syscall(SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, "user.distcp.digest",
                     &a, sizeof a);
    if (n >= 0) {
        st->meta_digest[n] = 0;
        st->meta_known = true;
    } else if (errno == ENODATA || errno == ENOTSUP) {
        st->meta_digest[0] = 0;
        st->meta_known = true;
    } else if (errno == ENOSYS || errno == EINVAL) {
        atomic_store_explicit(&unsupported, 1, memory_order_relaxed);
    }
}

static bool dot_or_dotdot(const char *n)
{
    return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

int lx_list_fd(int dfd, const char *dpath, be_list_cb cb, void *arg,
               struct errinfo *ei)
{
    int rc = ERR_OK;
    const char *sep = (dpath[0] == '/' && dpath[1] == 0) ? "" : "/";
    char *buf = malloc(LIST_BUF);
    if (!buf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot list '%s': out of memory", dpath);
        goto out;
    }
    for (;;) {
        ssize_t n = getdents64(dfd, buf, LIST_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = err_sys(ei, errno, "cannot list '%s'", dpath);
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t pos = 0; pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (dot_or_dotdot(d->d_name))
                continue;
            struct be_stat st;
            int e = lx_stat_at(dfd, d->d_name, &st);
            if (e == ENOENT)
                continue; /* removed since the directory was read */
            if (e) {
                rc = err_sys(ei, e, "cannot stat '%s%s%s'", dpath, sep, d->d_name);
                goto out;
            }
            list_digest(dfd, d->d_name, &st);
            rc = cb(arg, d->d_name, strlen(d->d_name), &st);
            if (rc != ERR_OK)
                goto out;
        }
    }
out:
    free(buf);
    return rc;
}

/* Removal ---------------------------------------------------------------- */

struct rmctx {
    char path[4096]; /* the entry being removed, for messages (may be cut) */
    size_t len;
    int depth;
};

static size_t rm_push(struct rmctx *c, const char *name)
{
    size_t old = c->len;
    int k = snprintf(c->path + c->len, sizeof c->path - c->len, "%s%s",
                     (c->len == 1 && c->path[0] == '/') ? "" : "/", name);
    if (k > 0)
        c->len += (size_t)k < sizeof c->path - c->len ? (size_t)k
                                                       : sizeof c->path - c->len - 1;
    return old;
}

static void rm_pop(struct rmctx *c, size_t old)
{
    c->len = old;
    c->path[old] = 0;
}

static int rm_entry(struct rmctx *c, int pfd, const char *name, int dtype,
                    struct errinfo *ei);

/* Empty the directory dfd (the entry named by c->path). */
static int rm_contents(struct rmctx *c, int dfd, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *buf = malloc(RM_BUF);
    if (!buf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot remove '%s': out of memory", c->path);
        goto out;
    }
    for (;;) {
        ssize_t n = getdents64(dfd, buf, RM_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = err_sys(ei, errno, "cannot list '%s'", c->path);
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t pos = 0; pos < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (dot_or_dotdot(d->d_name))
                continue;
            size_t old = rm_push(c, d->d_name);
            rc = rm_entry(c, dfd, d->d_name, d->d_type, ei);
            rm_pop(c, old);
            if (rc != ERR_OK)
                goto out;
        }
    }
out:
    free(buf);
    return rc;
}

/* Remove pfd/name (named c->path in messages), whatever it is. A vanished
 * entry is success here; the top-level caller checks existence first. */
static int rm_entry(struct rmctx *c, int pfd, const char *name, int dtype,
                    struct errinfo *ei)
{
    int rc = ERR_OK, dfd = -1;
    if (dtype == DT_UNKNOWN) {
        struct stat s;
        if (fstatat(pfd, name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT)
                rc = err_sys(ei, errno, "cannot stat '%s'", c->path);
            goto out;
        }
        dtype = S_ISDIR(s.st_mode) ? DT_DIR : DT_REG;
    }
    if (dtype != DT_DIR) {
        if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
            goto out;
        if (errno != EISDIR) {
            rc = err_sys(ei, errno, "cannot remove '%s'", c->path);
            goto out;
        }
    }
    if (c->depth >= RM_DEPTH_MAX) {
        rc = err_setx(ei, ERR_LIMIT, "cannot remove '%s': tree deeper than %d levels",
                      c->path, RM_DEPTH_MAX);
        goto out;
    }
    /* Up to three passes: a directory changing under us (or a file system
     * whose readdir skips entries while they are removed) gets re-read. */
    for (int pass = 0; pass < 3; pass++) {
        dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
            if (errno == ENOENT)
                goto out;
            if (errno == ENOTDIR || errno == ELOOP) { /* replaced by a non-dir */
                if (unlinkat(pfd, name, 0) != 0 && errno != ENOENT)
                    rc = err_sys(ei, errno, "cannot remove '%s'", c->path);
                goto out;
            }
            rc = err_sys(ei, errno, "cannot open '%s'", c->path);
            goto out;
        }
        c->depth++;
        rc = rm_contents(c, dfd, ei);
        c->depth--;
        close(dfd);
        dfd = -1;
        if (rc != ERR_OK)
            goto out;
        if (unlinkat(pfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            goto out;
        if (errno != ENOTEMPTY || pass == 2) {
            rc = err_sys(ei, errno, "cannot remove '%s'", c->path);
            goto out;
        }
    }
out:
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int lx_remove_tree(int dirfd, const char *name, const char *path,
                   struct errinfo *ei)
{
    int rc = ERR_OK;
    struct rmctx *c = NULL;
    struct stat s;
    if (fstatat(dirfd, name, &s, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = err_sys(ei, errno, "cannot remove '%s'", path);
        goto out;
    }
    c = malloc(sizeof *c);
    if (!c) {
        rc = err_setx(ei, ERR_NOMEM, "cannot remove '%s': out of memory", path);
        goto out;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    c->len = strlen(c->path);
    c->depth = 0;
    rc = rm_entry(c, dirfd, name, S_ISDIR(s.st_mode) ? DT_DIR : DT_REG, ei);
out:
    free(c);
    return rc;
}

/* Resolution -------------------------------------------------------------- */

int lx_open_beneath(int basefd, const char *rel)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, basefd, rel, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

/* Copy offload ------------------------------------------------------------ */

static bool clone_unsupported(int e)
{
    return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == ENOSYS ||
           e == EBADF || e == EPERM;
}

/* Try a reflink of the range; true when it covered all of it. */
static bool try_clone(int rfd, uint64_t roff, int wfd, uint64_t woff,
                      uint64_t len, bool *no_clone)
{
    struct stat s;
    bool aligned = roff % CLONE_ALIGN == 0 && woff % CLONE_ALIGN == 0;
    if (!aligned)
        return false;
    if (len % CLONE_ALIGN != 0 || (roff == 0 && woff == 0)) {
        /* an unaligned tail may be cloned only when it ends at EOF */
        if (fstat(rfd, &s) != 0)
            return false;
        if (roff + len != (uint64_t)s.st_size && len % CLONE_ALIGN != 0)
            return false;
        if (roff == 0 && woff == 0 && len == (uint64_t)s.st_size) {
            if (ioctl(wfd, FICLONE, rfd) == 0)
                return true;
            if (clone_unsupported(errno))
                *no_clone = true;
            return false;
        }
    }
    struct file_clone_range r = {
        .src_fd = rfd, .src_offset = roff, .src_length = len, .dest_offset = woff,
    };
    if (ioctl(wfd, FICLONERANGE, &r) == 0)
        return true;
    if (clone_unsupported(errno))
        *no_clone = true;
    return false;
}

static bool cfr_unsupported(int e)
{
    return e == EXDEV || e == EOPNOTSUPP || e == EINVAL || e == ENOSYS ||
           e == EBADF || e == ETXTBSY;
}

int lx_copy_range(int rfd, uint64_t roff, int wfd, uint64_t woff,
                  uint64_t len, uint64_t *done, bool *no_clone)
{
    int rc = 0;
    *done = 0;
    if (len == 0)
        goto out;
    if (!*no_clone && try_clone(rfd, roff, wfd, woff, len, no_clone)) {
        *done = len;
        goto out;
    }
    loff_t ro = (loff_t)roff, wo = (loff_t)woff;
    while (*done < len) {
        uint64_t want = len - *done;
        ssize_t n = copy_file_range(rfd, &ro, wfd, &wo,
                                    want > CFR_CHUNK ? CFR_CHUNK : want, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (cfr_unsupported(errno))
                rc = *done ? 0 : EOPNOTSUPP;
            else
                rc = errno;
            goto out;
        }
        if (n == 0)
            break; /* end of the source */
        *done += (uint64_t)n;
    }
out:
    return rc;
}

int lx_prealloc(int fd, uint64_t len)
{
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len) == 0 ? 0 : errno;
}

/* Extended attributes ----------------------------------------------------- */

int lx_xattr_list(int fd, const char *path, char **names, size_t *len)
{
    int rc = 0;
    char *buf = NULL;
    *names = NULL;
    *len = 0;
    for (int tries = 0; tries < 4; tries++) {
        ssize_t n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
        if (n < 0) {
            rc = errno;
            goto out;
        }
        if (n == 0)
            goto out;
        if ((size_t)n > LX_XATTR_TOTAL_MAX) {
            rc = E2BIG;
            goto out;
        }
        buf = malloc((size_t)n);
        if (!buf) {
            rc = ENOMEM;
            goto out;
        }
        ssize_t m = fd >= 0 ? flistxattr(fd, buf, (size_t)n) : llistxattr(path, buf, (size_t)n);
        if (m >= 0) {
            *names = buf;
            *len = (size_t)m;
            buf = NULL;
            goto out;
        }
        rc = errno;
        free(buf);
        buf = NULL;
        if (rc != ERANGE)
            goto out;
    }
out:
    free(buf);
    return rc;
}

int lx_xattr_get(int fd, const char *path, const char *name,
                 unsigned char **val, size_t *len)
{
    int rc = 0;
    unsigned char *buf = NULL;
    *val = NULL;
    *len = 0;
    for (int tries = 0; tries < 4; tries++) {
        ssize_t n = fd >= 0 ? fgetxattr(fd, name, NULL, 0) : lgetxattr(path, name, NULL, 0);
        if (n < 0) {
            rc = errno;
            goto out;
        }
        if ((size_t)n > LX_XATTR_VALUE_MAX) {
            rc = E2BIG;
            goto out;
        }
        buf = malloc((size_t)n + 1);
        if (!buf) {
            rc = ENOMEM;
            goto out;
        }
        ssize_t m = n == 0 ? 0
                  : fd >= 0 ? fgetxattr(fd, name, buf, (size_t)n)
                            : lgetxattr(path, name, buf, (size_t)n);
        if (m >= 0) {
            buf[m] = 0;
            *val = buf;
            *len = (size_t)m;
            buf = NULL;
            goto out;
        }
        rc = errno;
        free(buf);
        buf = NULL;
        if (rc != ERANGE)
            goto out;
    }
out:
    free(buf);
    return rc;
}

int lx_xattr_set(int fd, const char *path, const char *name,
                 const void *val, size_t len)
{
    int r = fd >= 0 ? fsetxattr(fd, name, val, len, 0) : lsetxattr(path, name, val, len, 0);
    return r == 0 ? 0 : errno;
}

/* Durability -------------------------------------------------------------- */

int lx_sync(struct be_fs *fs, const char *path, struct errinfo *ei)
{
    char *p = strdup(path && *path ? path : "/");
    int fd = -1, rc = ERR_OK;
    (void)fs;
    if (!p) {
        rc = err_setx(ei, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* the path may not exist yet (nothing written): its file system is the parent's */
    for (;;) {
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || !strcmp(p, "/") || !*p)
            break;
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        if (slash == p)
            slash[1] = 0;
        else
            *slash = 0;
    }
    if (fd < 0) {
        rc = err_setx(ei, ERR_IO, "cannot sync the file system of '%s': %s", path, strerror(errno));
        goto out;
    }
    if (syncfs(fd))
        rc = err_setx(ei, ERR_IO, "cannot sync the file system of '%s': %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    free(p);
    return rc;
}

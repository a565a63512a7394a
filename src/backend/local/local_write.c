/* local_write.c - writers of the local backend: a temp file
 * ".distcp.tmp.<tag>" in opts->tmp_dir (or the final's directory), or an
 * O_TMPFILE linked at commit where allowed, renamed over the final name at
 * commit; -direct writes in place, append at the current length; the part
 * of a final path below tmp_dir is resolved without following symlinks.
 * Also copy_range (reflink / copy_file_range) and the shared writers of
 * other processes (wshare/wjoin: the token is the temp file's path).
 *
 * Threading: write() may run from many threads at once (pwrite at disjoint
 * offsets); the parent-directory fd cache is per thread. */
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

#define PREALLOC_MIN (1024u * 1024)

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
    const char *rel = o->tmp_dir ? local_below(path, o->tmp_dir) : NULL;
    if (rel) {
        basefd = open(o->tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (basefd < 0 && errno == ENOENT) { /* an ancestor of path: create it */
            rc = local_mkdirs_path(o->tmp_dir, 0777, ei);
            if (rc != ERR_OK)
                goto out;
            basefd = open(o->tmp_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (basefd < 0) {
            rc = err_sys(ei, errno, "cannot open directory '%s'", o->tmp_dir);
            goto out;
        }
    }
    rc = local_open_parent(path, basefd, rel, &pfd, ei);
    if (rc != ERR_OK)
        goto out;
    lf = lf_new(LF_DIRECT, path, NULL, NULL);
    if (!lf) {
        rc = err_setx(ei, ERR_NOMEM, "cannot create '%s': out of memory", path);
        goto out;
    }
    const char *base = local_base_of(path);
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
    *rc = local_open_parent(lf->path, lf->tmpdirfd, lf->rel, &pfd, &e2);
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
    const char *base = local_base_of(lf->path);
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

int l_create(struct be_fs *fs, const char *path,
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
        dir = local_parent_of(path);
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
        rc = local_mkdirs_path(tdir, 0777, ei);
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
    lf->rel = o->tmp_dir ? local_below(lf->path, o->tmp_dir) : local_base_of(lf->path);
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

int l_write(struct be_file *w, uint64_t off, const void *buf, size_t n,
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
void local_trim_prealloc(struct local_file *lf, const struct stat *known)
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

int l_finish(struct be_file *w, struct be_stat *st, struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    struct stat s;
    local_trim_prealloc(lf, NULL);       /* first: it moves mtime */
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

int l_commit(struct be_file *w, struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    int rc = ERR_OK, pfd = -1;
    local_trim_prealloc(lf, NULL);
    if (local_want_fsync() && fdatasync(lf->fd) != 0) {
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
    rc = local_open_parent(lf->path, lf->tmpdirfd, lf->rel, &pfd, ei);
    if (rc != ERR_OK)
        goto out;
    if (renameat(lf->tmpdirfd, lf->tmpname, pfd, local_base_of(lf->path)) != 0) {
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

void l_abort(struct be_file *w)
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

int l_open_append(struct be_fs *fs, const char *path, struct be_file **out,
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

int l_copy_range(struct be_file *r, uint64_t roff, struct be_file *w,
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

/* Shared writers (backend.h wshare/wjoin): on a file system every process
 * sees (NFS, Lustre, one host), the token is the named temp file's path;
 * joiners open it for writing and pwrite their ranges. */
int l_wshare(struct be_file *w, char *tok, size_t n, uint64_t *align,
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

int l_wjoin(struct be_fs *fs, const char *path, const char *tok, uint64_t off,
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

int l_wjoin_end(struct be_file *j, bool ok, char *receipt, size_t n,
                struct errinfo *ei)
{
    struct local_file *lf = lf_of(j);
    int rc = ERR_OK;
    if (ok && local_want_fsync() && fdatasync(lf->fd) != 0)
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

int l_wreceipt(struct be_file *w, uint64_t off, uint64_t len, const char *receipt,
               struct errinfo *ei)
{
    (void)off;
    (void)len;
    if (receipt && *receipt)
        return err_setx(ei, ERR_INVAL, "unexpected receipt for the writer of '%s'",
                        lf_of(w)->path);
    return ERR_OK;
}

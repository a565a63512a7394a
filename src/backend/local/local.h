/* local.h - private header shared by the local/POSIX backend's files.
 *
 * local.c holds the ops table and the portable POSIX logic (readers,
 * writers, attributes, ACLs, meta); local_linux.c holds the Linux fast
 * paths (statx, getdents64, openat2, copy_file_range, FICLONE, fallocate,
 * the xattr calls and the recursive remove built on getdents64).
 *
 * The lx_* helpers return 0 or a positive errno value unless said
 * otherwise; they never touch errinfo except where they take one.
 * Threading: nothing here keeps state between calls; all of it is safe to
 * call from many threads at once. */
#ifndef DISTCP_BACKEND_LOCAL_H
#define DISTCP_BACKEND_LOCAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* One opened local store. Nothing but the common head. */
struct local_fs {
    struct be_fs base;
};

enum lf_kind {
    LF_READ = 1,   /* reader */
    LF_TEMP,       /* writer into a temp file, renamed at commit */
    LF_ANON,       /* writer into an O_TMPFILE in the final's directory, linked at commit */
    LF_DIRECT,     /* writer under the final name (-direct) */
    LF_APPEND,     /* writer appending to an existing file */
    LF_JOIN,       /* another process's writer into a shared LF_TEMP file (wjoin) */
};

/* A reader or writer. `path` is the final (user-visible) path, used in
 * messages. Writers of kind LF_TEMP also hold the temp directory: tmpdirfd
 * (O_PATH) and tmpname inside it, and `rel` = the final path relative to the
 * temp directory when the final lies below it (NULL otherwise): the part in
 * which no symlink is allowed. */
struct local_file {
    enum lf_kind kind;
    int fd;
    int tmpdirfd;          /* LF_TEMP, LF_ANON: -1 otherwise */
    int pdirfd;            /* LF_ANON: the final's directory (O_PATH), -1 otherwise */
    uint64_t pos;          /* LF_READ: next offset to read */
    uint64_t prealloc;     /* bytes preallocated with KEEP_SIZE, 0 = none */
    bool no_clone;         /* copy_range: reflink failed once, skip it */
    char *path;            /* final path (malloc'd) */
    char *tmpname;         /* LF_TEMP: base name of the temp file */
    const char *rel;       /* LF_TEMP: points into path, or NULL */
};

/* Fill st from statx of `name` relative to dirfd, not following a final
 * symlink. owner/group are left "" (numeric ids only). */
int lx_stat_at(int dirfd, const char *name, struct be_stat *st);

/* Stream the entries of the open directory dfd to cb (skips "." and "..",
 * skips entries that vanish between the read and their statx). `dpath` is
 * the directory's path, for messages. */
int lx_list_fd(int dfd, const char *dpath, be_list_cb cb, void *arg,
               struct errinfo *ei);

/* Remove the tree `name` relative to dirfd without following symlinks
 * (a symlink is unlinked, never descended). `path` names it in messages.
 * ENOENT of the top entry is ERR_NOT_FOUND; entries vanishing meanwhile are
 * ignored. */
int lx_remove_tree(int dirfd, const char *name, const char *path,
                   struct errinfo *ei);

/* Open directory `rel` below basefd as O_PATH without following any
 * symlink and without leaving basefd. Returns an fd, or -errno. -ENOSYS
 * (and the other "cannot use openat2 here" errors) mean: walk instead. */
int lx_open_beneath(int basefd, const char *rel);

/* Copy len bytes rfd@roff -> wfd@woff by reflink or copy_file_range.
 * *done = bytes copied. Returns 0, or an errno; EOPNOTSUPP means "nothing
 * copied, use read/write". *no_clone is set when reflink proved
 * unsupported so later calls skip it. */
int lx_copy_range(int rfd, uint64_t roff, int wfd, uint64_t woff,
                  uint64_t len, uint64_t *done, bool *no_clone);

/* Preallocate len bytes without changing the size. Returns 0 or errno;
 * callers treat failure as harmless. */
int lx_prealloc(int fd, uint64_t len);

/* Extended attributes, on a path without following a final symlink (fd <
 * 0) or on an open fd. Return 0 or errno; E2BIG when over the caps. */
#define LX_XATTR_VALUE_MAX (64u * 1024)
#define LX_XATTR_TOTAL_MAX (1024u * 1024)
/* List names into a malloc'd NUL-separated block. *len = 0 and *names =
 * NULL when there are none. */
int lx_xattr_list(int fd, const char *path, char **names, size_t *len);
/* Read one value into malloc'd *val (NUL-terminated beyond *len).
 * ENODATA when the attribute is absent. */
int lx_xattr_get(int fd, const char *path, const char *name,
                 unsigned char **val, size_t *len);
int lx_xattr_set(int fd, const char *path, const char *name,
                 const void *val, size_t len);

/* The sync slot (backend.h): syncfs(2) of the file system holding `path`
 * (or its nearest existing parent). ERR_OK, or ERR_IO with ei filled. */
int lx_sync(struct be_fs *fs, const char *path, struct errinfo *ei);

#endif

/* backend.h - the contract every store implements (local, mem, s3, webhdfs...).
 *
 * A backend is a table of function pointers (`struct backend_ops`) filled
 * with designated initialisers. A `struct be_fs` is one opened store (one
 * local file system, one S3 endpoint+bucket, one NameNode); every call takes
 * a path inside that store: absolute, '/'-separated, no scheme, no trailing
 * '/' except for the root "/". Paths given to a backend are already checked
 * by the engine (no "..", no empty segments).
 *
 * The engine asks capabilities (BE_CAP_*), never the backend's identity.
 * Optional slots are NULL when unsupported; the engine then falls back.
 *
 * Errors: every slot returns an enum err_code and fills the optional
 * errinfo with a message that names the path. "Not found" is ERR_NOT_FOUND,
 * "already exists" is ERR_EXISTS, everywhere.
 *
 * Retries: a backend that retries itself (the REST ones, under the one
 * policy of util/retry.h) and gives up on a transient failure returns that
 * failure's code (class RETRY, e.g. ERR_BUSY for S3's 503 SlowDown) with
 * ei->retried = true. Callers must then not retry it again (test with
 * err_should_retry()), so one failure costs at most the policy's attempts
 * in requests, never attempts x the engine's retries. Codes without the
 * flag keep their class's meaning. See docs/protocols.md §4.
 *
 * Threading: every slot may be called from many threads at once on the same
 * be_fs. A be_file (reader or writer) is used by one thread at a time, except
 * writers of backends with BE_CAP_PARALLEL_WRITE, whose write() may be called
 * concurrently for disjoint ranges. */
#ifndef DISTCP_BACKEND_H
#define DISTCP_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/checksum.h"  /* struct hdfs_cksum_result (checksum slots) */
#include "util/err.h"

enum be_type { BE_FILE = 1, BE_DIR = 2, BE_SYMLINK = 3, BE_OTHER = 4 };

#define BE_ID_NONE UINT32_MAX
#define BE_NAME_MAX 64

struct be_stat {
    enum be_type type;
    uint32_t mode;          /* permission bits, 07777 */
    uint64_t size;          /* bytes (files, symlink target length) */
    int64_t mtime_ns;       /* since the epoch */
    int64_t atime_ns;
    uint32_t uid, gid;      /* numeric ids, BE_ID_NONE where the store has names only */
    char owner[BE_NAME_MAX];/* names, "" where the store has numeric ids only */
    char group[BE_NAME_MAX];
    uint64_t blocksize;     /* 0 when the store has no blocks */
    uint16_t replication;   /* 0 when not meaningful */
    uint64_t dev, ino;      /* identity, 0 when unknown */
    uint32_t nlink;
    /* distcp's own "digest" metadata (see getmeta), when the store can hand
     * it out with the status cheaply (list() only): meta_known says it
     * looked; then meta_digest is the value, "" when there is none. */
    bool meta_known;
    char meta_digest[64];
};

/* Capability bits: semantics, not identity. */
enum {
    BE_CAP_ATOMIC_RENAME = 1u << 0, /* rename() is atomic and replaces */
    BE_CAP_EMPTY_DIRS    = 1u << 1, /* directories exist on their own */
    BE_CAP_POSIX_META    = 1u << 2, /* owner, group, mode are kept */
    BE_CAP_XATTR         = 1u << 3, /* extended attributes */
    BE_CAP_ACL           = 1u << 4, /* POSIX-style ACLs */
    BE_CAP_MTIME         = 1u << 5, /* mtime can be set */
    BE_CAP_SYMLINKS      = 1u << 6, /* symlinks can be created */
    BE_CAP_PARALLEL_WRITE= 1u << 7, /* writer->write() at disjoint offsets from many threads */
    BE_CAP_BLOCKS        = 1u << 8, /* block size and replication are meaningful */
    BE_CAP_NUMERIC_IDS   = 1u << 9, /* owner/group are numeric ids */
    BE_CAP_CONCAT_WRITE  = 1u << 10,/* writer->write() at disjoint offsets from many threads
                                       is accepted, but finish() assembles the pieces by
                                       concatenation (HDFS CONCAT): split only when asked
                                       (-blocksperchunk), block boundaries follow the pieces */
    BE_CAP_CONTENT_TAG   = 1u << 12,/* getmeta(fs, path, "etag") gives a tag of the file's
                                       content from its status (S3 ETag): "md5:<hex>" (the
                                       MD5 of the bytes) or "mpu:<tag>" (equal tags: equal
                                       bytes; different ones tell nothing) */
    BE_CAP_META_ATTRS    = 1u << 11,/* files (not directories) keep owner, group, mode and
                                       mtime as metadata (object stores): wsetattr/setattr
                                       record them, getattrs gives them back (be_attrs.have);
                                       stat/list do not report them */
    BE_CAP_LOCAL_PATHS   = 1u << 13,/* paths are this host's files: a path of the store can
                                       be handed to open(2)/opendir(3) as is (-log and
                                       -xtrack dirs need it) */
    BE_CAP_LIST_PER_DIR  = 1u << 14,/* list() lists one directory per call, and every process
                                       that opens the same URI sees the same tree: directories
                                       can be lent to other processes (MPI ranks) to list.
                                       Not for a flat paged key listing (S3), nor for a store
                                       private to one process (mem) */
};

/* Attribute selectors for getattrs/setattr/wsetattr `what` masks. The values
 * equal the -p letters' PRESERVE_* bits in engine/options.h. */
enum {
    BE_ATTR_REPLICATION = 1 << 0, /* r */
    BE_ATTR_BLOCKSIZE   = 1 << 1, /* b */
    BE_ATTR_OWNER       = 1 << 2, /* u */
    BE_ATTR_GROUP       = 1 << 3, /* g */
    BE_ATTR_MODE        = 1 << 4, /* p */
    BE_ATTR_CKSUMTYPE   = 1 << 5, /* c */
    BE_ATTR_ACL         = 1 << 6, /* a */
    BE_ATTR_XATTR       = 1 << 7, /* x */
    BE_ATTR_TIMES       = 1 << 8, /* t */
};

/* Attributes applied by setattr(). */
struct be_xattr {
    char *name;
    unsigned char *value;
    size_t len;
};
struct be_attrs {
    struct be_stat st;           /* mode, uid/gid or owner/group, mtime/atime, replication */
    struct be_xattr *xattrs;     /* for PRESERVE_X */
    size_t nxattrs;
    char *acl;                   /* for PRESERVE_A: text form "user::rwx,group::r-x,..." or NULL */
    unsigned have;               /* getattrs of BE_CAP_META_ATTRS stores: the BE_ATTR_OWNER,
                                    _GROUP, _MODE, _TIMES the file has recorded (in st:
                                    owner or uid, group or gid, mode, mtime_ns); the
                                    engine's copy_source_attrs: what there is to apply */
};
void be_attrs_release(struct be_attrs *a);

/* Options for create(). */
struct be_create_opts {
    bool direct;            /* write under the final name, no temp (-direct) */
    const char *tmp_dir;    /* where the store may put a temp file (Hadoop: target work dir); NULL = final's dir */
    const char *tmp_tag;    /* unique tag for the temp name: ".distcp.tmp.<tag>" */
    uint32_t mode;          /* permission bits for the new file (before umask), 0 = default 0666 */
    uint64_t size_hint;     /* expected final size (preallocation, multipart sizing), 0 = unknown */
    uint64_t blocksize;     /* for stores with blocks, 0 = default */
    uint16_t replication;   /* for stores with blocks, 0 = default */
    bool type_checked;      /* the caller made sure no directory stands at the path:
                             * create need not look (saves a request on object stores) */
    /* Server-side state that outlives a killed process (an S3 multipart
     * upload): the writer calls pending(pending_arg, token, true, ei) once it
     * has created such state and before any data goes into it; a non-OK
     * answer makes the writer discard the state and fail with it. Once the
     * state is gone (completed, or aborted for sure) it calls
     * pending(..., false, NULL) (the answer is ignored). token: an opaque
     * printable string that abort_pending() of the same store understands.
     * NULL: nobody records it. pending_arg is borrowed and outlives the
     * writer. Calls may come from several writers' threads at once. */
    int (*pending)(void *pending_arg, const char *token, bool open, struct errinfo *ei);
    void *pending_arg;
    bool shared;            /* the writer will be shared with other processes (wshare):
                             * the store picks a form they can join (e.g. a named temp
                             * file, a multipart upload started now) */
};

struct be_fs;     /* one opened store; backend-private layout after the common head */
struct be_file;   /* one reader or writer */

/* Snapshots (HDFS; issue 5, for snapshot-diff sync) -----------------------
 * Directories made snapshottable keep read-only snapshots, readable with the
 * ordinary slots under "<dir>/.snapshot/<name>/...". */
enum be_diff_type { BE_DIFF_CREATE = 1, BE_DIFF_MODIFY = 2, BE_DIFF_DELETE = 3,
                    BE_DIFF_RENAME = 4 };
/* One entry of a snapshot diff: `path` relative to the snapshot root with no
 * leading '/', "" for the root itself; `target` only for BE_DIFF_RENAME
 * (else NULL). Return ERR_OK to go on; anything else stops diff(). */
typedef int (*be_diff_cb)(void *arg, enum be_diff_type type, const char *path,
                          const char *target);
/* One snapshottable directory: its path in the store and its status. */
typedef int (*be_snapdir_cb)(void *arg, const char *dir, const struct be_stat *st);

struct be_snapshot_ops {
    /* Allow (allow = true) or disallow snapshots of directory dir. */
    int (*allow)(struct be_fs *fs, const char *dir, bool allow, struct errinfo *ei);
    /* Take snapshot `name` of dir (NULL: the store names it); the new
     * snapshot's path goes into path (n bytes; may be NULL). ERR_EXISTS
     * when the name is taken. */
    int (*create)(struct be_fs *fs, const char *dir, const char *name, char *path, size_t n,
                  struct errinfo *ei);
    /* Delete / rename snapshots of dir. ERR_NOT_FOUND when absent. */
    int (*remove)(struct be_fs *fs, const char *dir, const char *name, struct errinfo *ei);
    int (*rename)(struct be_fs *fs, const char *dir, const char *from, const char *to,
                  struct errinfo *ei);
    /* What changed in dir from snapshot `from` to snapshot `to` ("" = the
     * current state), one callback per entry. */
    int (*diff)(struct be_fs *fs, const char *dir, const char *from, const char *to,
                be_diff_cb cb, void *arg, struct errinfo *ei);
    /* Every snapshottable directory the caller may see. */
    int (*dirs)(struct be_fs *fs, be_snapdir_cb cb, void *arg, struct errinfo *ei);
};

/* Listing callback: one call per entry of a directory, `name` is the entry's
 * base name (not NUL-guaranteed beyond namelen; it is NUL-terminated in
 * practice). Return ERR_OK to go on, anything else stops the listing and is
 * returned by list(). */
typedef int (*be_list_cb)(void *arg, const char *name, size_t namelen,
                          const struct be_stat *st);

/* Configuration lookup given to open(): returns the value of a key such as
 * "fs.s3a.endpoint" or NULL. Borrowed. */
struct be_config {
    const char *(*get)(void *ctx, const char *key);
    void *ctx;
};

struct backend_ops {
    const char *name;        /* "local", "mem", "s3", ... */
    unsigned caps;           /* BE_CAP_* */
    int64_t mtime_gran_ns;   /* precision of stored mtimes in ns (0 or 1: ns; HDFS 1e6; S3 1e9) */

    /* Open the store that `authority` names (URI authority, "" for local).
     * Required. */
    int (*open)(const char *scheme, const char *authority,
                const struct be_config *cfg, struct be_fs **out,
                struct errinfo *ei);
    /* Release the store. Accepts NULL. Required. */
    void (*close)(struct be_fs *fs);

    /* Status of `path` without following a final symlink. ERR_NOT_FOUND if
     * absent. Required. */
    int (*stat)(struct be_fs *fs, const char *path, struct be_stat *st,
                struct errinfo *ei);

    /* List the entries of directory `path` (not "." or ".."), streamed: the
     * callback runs as entries arrive, page by page. Order unspecified.
     * ERR_NOT_FOUND / ERR_NOT_DIR as stat would say. Required. */
    int (*list)(struct be_fs *fs, const char *path, be_list_cb cb, void *arg,
                struct errinfo *ei);

    /* Open `path` for reading from byte `off`. Required. */
    int (*open_read)(struct be_fs *fs, const char *path, uint64_t off,
                     struct be_file **out, struct errinfo *ei);
    /* Read up to n bytes sequentially; *got = 0 at end of file. Required. */
    int (*read)(struct be_file *f, void *buf, size_t n, size_t *got,
                struct errinfo *ei);
    /* Close a reader. Accepts NULL. Required. */
    void (*close_read)(struct be_file *f);

    /* Start writing `path`. Nothing is visible under `path` until commit()
     * (unless opts->direct). An existing file at `path` is replaced only at
     * commit. Parent directories are created at commit if missing. A failed
     * create leaves nothing behind. Required. */
    int (*create)(struct be_fs *fs, const char *path,
                  const struct be_create_opts *opts, struct be_file **out,
                  struct errinfo *ei);
    /* Write n bytes at offset off. Sequential callers pass increasing
     * offsets; with BE_CAP_PARALLEL_WRITE disjoint ranges may be written
     * from several threads. Required. */
    int (*write)(struct be_file *w, uint64_t off, const void *buf, size_t n,
                 struct errinfo *ei);
    /* Flush and report what was written (before commit): st->size always,
     * st->mtime_ns where the store knows it already (else 0). Call it after
     * wsetattr: the mtime reported is the one the file keeps at commit.
     * Required. */
    int (*finish)(struct be_file *w, struct be_stat *st, struct errinfo *ei);
    /* Apply attributes to the written data before it becomes visible
     * (mode, owner, times, xattrs, acl as `what` says). Optional: when NULL
     * the engine calls setattr() on the final path after commit. */
    int (*wsetattr)(struct be_file *w, const struct be_attrs *a, unsigned what,
                    struct errinfo *ei);
    /* Record distcp's own metadata (key/value, e.g. the content digest) with
     * the object, before commit. Optional. */
    int (*wsetmeta)(struct be_file *w, const char *key, const char *value,
                    struct errinfo *ei);
    /* Make the data visible under its final name, atomically replacing an
     * existing file; frees w whatever the result. On failure nothing new is
     * visible under the final name. Required. */
    int (*commit)(struct be_file *w, struct errinfo *ei);
    /* Discard the data; frees w. Accepts NULL. Never fails visibly. Required. */
    void (*abort)(struct be_file *w);

    /* Open an existing file for appending (-append): write() continues at
     * the current length; commit() closes; abort() closes (appended bytes
     * may stay). Optional. */
    int (*open_append)(struct be_fs *fs, const char *path, struct be_file **out,
                       struct errinfo *ei);

    /* Copy len bytes from reader r (at roff) into writer w (at woff) without
     * passing them through the caller (reflink, copy_file_range, server-side
     * copy). Only called when reader and writer belong to this same
     * backend_ops. May copy fewer bytes (*done) and the engine continues
     * with read/write. ERR_UNSUPPORTED: use read/write. Optional. */
    int (*copy_range)(struct be_file *r, uint64_t roff, struct be_file *w,
                      uint64_t woff, uint64_t len, uint64_t *done,
                      struct errinfo *ei);

    /* Does copy_range from store src into store dst (both of this backend)
     * copy whole files on the server (S3 CopyObject / UploadPartCopy)? Then
     * the engine hands such files to one worker whole instead of splitting
     * them into chunks. Optional (NULL: no). */
    bool (*copy_whole)(struct be_fs *src, struct be_fs *dst);

    /* Create directory `path` and any missing parents; ERR_OK if it exists
     * as a directory; ERR_NOT_DIR if a non-directory is in the way.
     * Required (a no-op where directories are implicit). */
    int (*mkdirs)(struct be_fs *fs, const char *path, uint32_t mode,
                  struct errinfo *ei);
    /* Rename; replaces an existing file at `to` (not a non-empty dir).
     * ERR_NOT_FOUND when `from` is absent. Required. */
    int (*rename)(struct be_fs *fs, const char *from, const char *to,
                  struct errinfo *ei);
    /* Remove a file, symlink or (recursive=true) a whole tree.
     * ERR_NOT_FOUND when absent. May leave part of a tree removed on
     * failure. Required. */
    int (*remove)(struct be_fs *fs, const char *path, bool recursive,
                  struct errinfo *ei);

    /* Attributes. getattrs fills what `what` asks beyond stat (xattrs, acl).
     * setattr applies the fields `what` names to `path`, changing only what
     * differs. Optional (NULL: nothing can be kept). */
    int (*getattrs)(struct be_fs *fs, const char *path, unsigned what,
                    struct be_attrs *out, struct errinfo *ei);
    int (*setattr)(struct be_fs *fs, const char *path, const struct be_attrs *a,
                   unsigned what, struct errinfo *ei);
    /* distcp's own metadata recorded with a file (see wsetmeta). *value is
     * malloc'd; ERR_NOT_FOUND when there is none. Optional. */
    int (*getmeta)(struct be_fs *fs, const char *path, const char *key,
                   char **value, struct errinfo *ei);
    int (*setmeta)(struct be_fs *fs, const char *path, const char *key,
                   const char *value, struct errinfo *ei);

    /* Symlinks: readlink fills buf (NUL-terminated); symlink creates `path`
     * pointing at `target` (ERR_EXISTS if present). Optional. */
    int (*readlink)(struct be_fs *fs, const char *path, char *buf, size_t n,
                    struct errinfo *ei);
    int (*symlink)(struct be_fs *fs, const char *target, const char *path,
                   struct errinfo *ei);

    /* Store-computed file checksums (issue 5) --------------------------
     * The checksum the store itself reports for a file (WebHDFS
     * GETFILECHECKSUM: HDFS MD5-of-MD5-of-CRC, protocols.md §2), without
     * the caller reading the bytes. *out gets algorithm, bytes and hex.
     * ERR_NOT_FOUND when absent, ERR_IS_DIR for a directory. Optional (NULL:
     * the store has none; callers compute one from the bytes). */
    int (*checksum)(struct be_fs *fs, const char *path, struct hdfs_cksum_result *out,
                    struct errinfo *ei);
    /* The same for the data of writer w, after finish() and before commit()
     * (post-copy verification of what the store holds). Optional. */
    int (*wchecksum)(struct be_file *w, struct hdfs_cksum_result *out, struct errinfo *ei);

    /* Remove server-side state a writer announced through
     * be_create_opts.pending and never finished (the process was killed):
     * ERR_OK when removed, ERR_NOT_FOUND when it is gone already (completed
     * or aborted), ERR_UNSUPPORTED when the server cannot remove it (it
     * stays), other codes for failures worth retrying later. Optional (NULL:
     * the store never announces any). */
    int (*abort_pending)(struct be_fs *fs, const char *token, struct errinfo *ei);
    /* Make what this process wrote to the store durable (the bytes of files
     * committed so far survive a crash of the host): called before a job
     * record says those files are done. `path` is a path the writes went
     * under (the job's work dir; it or a parent exists). ERR_OK when done;
     * another code when it could not (the caller records nothing as done
     * that depends on it). Leaves nothing behind. Optional: NULL means a
     * write is durable once commit() returned (object stores, HDFS). */
    int (*sync)(struct be_fs *fs, const char *path, struct errinfo *ei);
    /* Writers shared across processes (MPI ranks on other hosts; optional,
     * all three or none) --------------------------------------------------
     * wshare: called by the owner right after create(opts->shared), before
     * any write: a token naming the open writer (NUL-terminated text of at
     * most n bytes) that another process with its own be_fs of the same
     * store can join, and *align: the granularity shared ranges must keep
     * (offsets and lengths multiples of it, except a range that ends the
     * file). ERR_UNSUPPORTED: this writer cannot be shared (the caller keeps
     * all writes in its process). Owner's commit/abort stay the only way to
     * end the writer.
     * wjoin: another process opens the shared writer `tok` of final `path`
     * to write [off, off + len) through write() (disjoint from every other
     * process's range; one thread). A failed wjoin leaves nothing behind.
     * wjoin_end: ends a joined writer and frees j. ok: the range is
     * complete; then *receipt gets what the owner needs to account for the
     * range (NUL-terminated text of at most n bytes, "" when nothing), else
     * what was written stays for the owner's abort to discard.
     * wreceipt: the owner takes a joiner's receipt for [off, off + len)
     * (before finish()); a receipt that does not fit the writer is
     * ERR_INVAL. */
    int (*wshare)(struct be_file *w, char *tok, size_t n, uint64_t *align,
                  struct errinfo *ei);
    int (*wjoin)(struct be_fs *fs, const char *path, const char *tok, uint64_t off,
                 uint64_t len, struct be_file **out, struct errinfo *ei);
    int (*wjoin_end)(struct be_file *j, bool ok, char *receipt, size_t n,
                     struct errinfo *ei);
    int (*wreceipt)(struct be_file *w, uint64_t off, uint64_t len, const char *receipt,
                    struct errinfo *ei);

    /* Snapshot operations (see struct be_snapshot_ops); NULL: none. */
    const struct be_snapshot_ops *snapshots;
};

/* The common head of every be_fs; backends embed it first. */
struct be_fs {
    const struct backend_ops *ops;
    char *scheme;      /* "file", "s3a", ... as given */
    char *authority;   /* "" for local */
};

/* Scheme table ------------------------------------------------------------ */

/* Find the backend for a scheme ("file", "mem", "s3", ...). NULL with
 * ERR_NOT_BUILT / ERR_BAD_URI in ei when unknown or not compiled in. */
const struct backend_ops *backend_for_scheme(const char *scheme,
                                             struct errinfo *ei);

/* Split a URI or plain path into scheme, authority and path, and open its
 * store. Plain paths and file:// URIs are local; relative paths are made
 * absolute against the working directory; "." and empty segments are
 * folded, a trailing '/' dropped; ".." segments are resolved lexically for
 * local paths given on the command line. `*path` is malloc'd. */
int backend_open_uri(const char *uri, const struct be_config *cfg,
                     struct be_fs **fs, char **path, struct errinfo *ei);

/* Render store + path back as the URI users see ("/a/b" for local,
 * "s3a://bucket/a/b"). Writes at most n bytes, NUL-terminated. */
void backend_display(const struct be_fs *fs, const char *path, char *buf,
                     size_t n);

/* Qualified form used for -filters matching (Hadoop prints "file:/a/b"). */
void backend_qualified(const struct be_fs *fs, const char *path, char *buf,
                       size_t n);

void backend_close(struct be_fs *fs);

/* The backends built in. */
extern const struct backend_ops backend_local;
extern const struct backend_ops backend_mem;    /* mem/mem.c: test build only */
extern const struct backend_ops backend_faulty; /* faulty/faulty.c: "faulty+<scheme>", test build only */
extern const struct backend_ops backend_gen; /* synthetic read-only store, gen/gen.c */
extern const struct backend_ops backend_webhdfs; /* webhdfs/webhdfs.c */
extern const struct backend_ops backend_s3;      /* s3/s3.c: schemes s3, s3a */

#endif

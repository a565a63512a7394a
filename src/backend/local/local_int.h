/* local_int.h - what the files of the local backend share beyond local.h
 * (which is local_linux.c's interface): the reader/writer helpers and path
 * helpers of local.c, and the slots defined in local_write.c and
 * local_attr.c that local.c's ops table names. Private to
 * src/backend/local/. Threading as local.c says. */
#ifndef DISTCP_BACKEND_LOCAL_INT_H
#define DISTCP_BACKEND_LOCAL_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "backend/local/local.h"

#define IO_MAX (1u << 30)   /* bytes per read/pwrite system call */

static inline struct local_file *lf_of(struct be_file *f) { return (struct local_file *)f; }

/* local.c: helpers ------------------------------------------------------- */
/* DISTCP_FSYNC=1: writers fsync before commit. */
bool local_want_fsync(void);
/* A reader/writer with room for the final path and (temp writers) the temp
 * path in one allocation; NULL when out of memory. lf_free accepts NULL and
 * closes the fds it holds. */
struct local_file *lf_new(enum lf_kind kind, const char *path,
                          const char *tmpdir, const char *tmpname);
void lf_free(struct local_file *lf);
/* The full temp path (messages only); the temp directory (thread-local
 * copy, valid until the next call on this thread). */
const char *lf_tmppath(const struct local_file *lf);
const char *lf_tmpdir(const struct local_file *lf);
/* malloc'd parent directory of an absolute path ("/" for "/x"); the base
 * name; `path` relative to `root` when strictly below it, else NULL. */
char *local_parent_of(const char *path);
const char *local_base_of(const char *path);
const char *local_below(const char *path, const char *root);
/* mkdir -p with errors in ei. */
int local_mkdirs_path(const char *path, mode_t mode, struct errinfo *ei);
/* The directory of `path` opened (O_PATH) into *pfd; the part `rel` below
 * basefd is walked without following symlinks. */
int local_open_parent(const char *path, int basefd, const char *rel, int *pfd,
                      struct errinfo *ei);

/* local_write.c: writer slots (backend.h says what each does) ------------ */
int l_create(struct be_fs *fs, const char *path,
             const struct be_create_opts *opts, struct be_file **out,
             struct errinfo *ei);
int l_write(struct be_file *w, uint64_t off, const void *buf, size_t n,
            struct errinfo *ei);
int l_finish(struct be_file *w, struct be_stat *st, struct errinfo *ei);
int l_commit(struct be_file *w, struct errinfo *ei);
void l_abort(struct be_file *w);
int l_open_append(struct be_fs *fs, const char *path, struct be_file **out,
                  struct errinfo *ei);
int l_copy_range(struct be_file *r, uint64_t roff, struct be_file *w,
                 uint64_t woff, uint64_t len, uint64_t *done,
                 struct errinfo *ei);
int l_wshare(struct be_file *w, char *tok, size_t n, uint64_t *align,
             struct errinfo *ei);
int l_wjoin(struct be_fs *fs, const char *path, const char *tok, uint64_t off,
            uint64_t len, struct be_file **out, struct errinfo *ei);
int l_wjoin_end(struct be_file *j, bool ok, char *receipt, size_t n,
                struct errinfo *ei);
int l_wreceipt(struct be_file *w, uint64_t off, uint64_t len, const char *receipt,
               struct errinfo *ei);
/* Give back blocks preallocated past the end, once, before any attribute is
 * applied (ftruncate moves mtime); known: the file's stat if at hand. */
void local_trim_prealloc(struct local_file *lf, const struct stat *known);

/* local_attr.c: attribute and metadata slots ----------------------------- */
int l_getattrs(struct be_fs *fs, const char *path, unsigned what,
               struct be_attrs *out, struct errinfo *ei);
int l_setattr(struct be_fs *fs, const char *path, const struct be_attrs *a,
              unsigned what, struct errinfo *ei);
int l_wsetattr(struct be_file *w, const struct be_attrs *a, unsigned what,
               struct errinfo *ei);
int l_getmeta(struct be_fs *fs, const char *path, const char *key,
              char **value, struct errinfo *ei);
int l_setmeta(struct be_fs *fs, const char *path, const char *key,
              const char *value, struct errinfo *ei);
int l_wsetmeta(struct be_file *w, const char *key, const char *value,
               struct errinfo *ei);

#endif

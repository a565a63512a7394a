/* webhdfs_int.h - what the WebHDFS backend's files share (webhdfs.c: open,
 * close, the ops table; webhdfs_call.c: calls, errors, retries, failover;
 * webhdfs_read.c: status, listing, reads; webhdfs_ns.c: namespace changes,
 * attributes, metadata; webhdfs_write.c: writers; webhdfs_acl.c: ACLs;
 * webhdfs_cksum.c: GETFILECHECKSUM; webhdfs_snap.c: snapshots). Private to
 * src/backend/webhdfs/. Threading as webhdfs.c says. */
#ifndef DISTCP_WEBHDFS_INT_H
#define DISTCP_WEBHDFS_INT_H
#include "backend/backend.h"
#include "backend/http/http.h"
#include "util/checksum.h"
#include "util/idmap.h"
#include "util/retry.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WH_JSON_MAX (64u << 20)   /* cap for any JSON answer */
#define WH_WBUF (8u << 20)        /* write buffer per writer */
#define WH_READ_MAX (16u << 20)   /* cap for one ranged OPEN */
#define WH_READAHEAD (4u << 20)   /* minimum OPEN length while reading */
#define WH_DEFAULT_PORT "9870"
#define WH_DEFAULT_TLS_PORT "9871"
#define WH_META_PREFIX "user.distcp."

#define WH_MAX_NN 8                /* NameNode addresses in one authority list */
#define WH_RETRY_BASE_MS 500u      /* default first backoff delay */
#define WH_ATTEMPTS 4u             /* default attempts per call (retriable failures) */

struct wh_fs {
    struct be_fs head;
    char *bases[WH_MAX_NN]; /* "http://host:port/webhdfs/v1", one per NameNode */
    unsigned nbases;
    atomic_uint active;     /* index into bases: the NameNode believed active */
    struct retry_policy retry; /* resolved at open (-D / env, docs/protocols.md §4) */
    char *user;      /* escaped user.name value; NULL through a gateway */
    bool gateway;    /* http(s)://gw/gateway/<topology>/webhdfs/v1/...: paths carry the prefix */
    char *buser, *bpass, *ca_file; /* Basic credentials, CA bundle (may be NULL) */
    struct http_opts hopts;        /* for the NameNode/gateway origin */
    struct http_opts dn_opts;      /* for other origins: TLS settings, no credentials */
    atomic_bool httpfs;            /* HttpFS seen (or configured): data=true in one step */
    /* Security (§1.2): SPNEGO on the NameNode/gateway origin, and a
     * delegation token sent as delegation= instead of user.name. A token
     * fetched here (GETDELEGATIONTOKEN over SPNEGO at open) is renewed when
     * the NameNode calls it invalid and cancelled at close; token_gen counts
     * renewals so concurrent callers refresh it once. */
    bool kerberos;
    bool use_token;                /* token != NULL (fixed after open) */
    pthread_mutex_t tok_lock;
    char *token;                   /* escaped urlString, or NULL */
    unsigned token_gen;
    bool token_owned;
};

struct wh_reader {
    struct wh_fs *fs;
    char *path;
    uint64_t pos, size;   /* pos: the caller's position */
    struct http_resp ra;  /* read-ahead: the last OPEN's body */
    size_t ra_used;       /* bytes of ra already handed out */
};

struct wh_writer {
    struct wh_fs *fs;
    char *path;      /* final name */
    char *target;    /* what is written: the temp name, or path when direct */
    bool direct, flushed_once, tmp_dir_given;
    bool append;     /* open_append: abort keeps the file */
    uint32_t perm;
    uint64_t blocksize;
    uint16_t replication;
    unsigned char *buf;
    size_t blen;
    uint64_t written; /* bytes accepted (flushed + buffered) */
    int64_t mtime_ns; /* set by wsetattr, reported by finish */
    int64_t atime_ns;
    /* Writes at other offsets (BE_CAP_CONCAT_WRITE, -blocksperchunk): each
     * run of contiguous writes that does not continue a stream becomes a
     * part file "<target>.part.<start>" beside the temp, written like the
     * temp itself; finish() CONCATs the parts onto the temp in offset
     * order. `next`/`busy` (under plock) route a write to the one stream it
     * continues; a stream is used by one thread at a time. */
    uint64_t start, next;
    bool busy;
    pthread_mutex_t plock;
    struct wh_writer **parts;
    size_t nparts;
};

static inline struct wh_fs *fs_of(struct be_fs *f) { return (struct wh_fs *)f; }

/* One NameNode call (retries, failover, token refresh). On 2xx *json gets
 * the parsed body (NULL when empty) when json != NULL; on an error answer
 * the mapped code, exc set to the exception's name. */
int wh_nn_call(struct wh_fs *fs, const char *method, const char *path, const char *op,
               const char *extra, const char *verb, json_t **json, char *exc, size_t excn,
               struct errinfo *ei);
/* A two-step data op (NameNode 307, then the DataNode); *out holds the
 * DataNode's 2xx answer. */
int wh_data_call(struct wh_fs *fs, const char *method, const char *path, const char *op,
                 const char *extra, const void *body, size_t blen, size_t max,
                 const char *verb, struct http_resp *out, struct errinfo *ei);
/* The HDFS path of a store path (a gateway's prefix removed), and the
 * length of that prefix (0 when not through a gateway). */
const char *wh_hdfs_path(const struct wh_fs *fs, const char *path);
size_t wh_gw_prefix_len(const struct wh_fs *fs, const char *path);
/* "&name=<escaped value>", malloc'd; NULL when out of memory. */
char *wh_qparam(const char *name, const char *value);
void wh_fill_stat(const json_t *o, struct be_stat *st);
int wh_stat(struct be_fs *f, const char *path, struct be_stat *st, struct errinfo *ei);
int wh_hexv(int c);
/* Send a writer's buffered bytes (CREATE first, APPEND after). */
int wh_flush_buf(struct wh_writer *w, struct errinfo *ei);

/* Slots and helpers defined in one file of the folder and used in another
 * (mostly by webhdfs.c's ops table). */
/* webhdfs_call.c: a NameNode call answered {"boolean": b}. */
int wh_nn_bool(struct wh_fs *fs, const char *method, const char *path, const char *op,
               const char *extra, const char *verb, bool *result, char *exc, size_t excn,
               struct errinfo *ei);
/* webhdfs_read.c: the list and reader slots. */
int wh_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
            struct errinfo *ei);
int wh_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
                 struct errinfo *ei);
int wh_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei);
void wh_close_read(struct be_file *f);
/* webhdfs_ns.c: namespace and attribute slots; rename_over = RENAME with
 * OVERWRITE; set_times = SETTIMES (ns in, ms sent); put_meta = distcp
 * metadata as a "user.distcp.<key>" xattr; apply_all = setattr's work. */
int wh_delete(struct wh_fs *fs, const char *path, bool recursive, struct errinfo *ei);
int wh_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei);
int wh_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei);
int wh_rename_over(struct wh_fs *fs, const char *from, const char *to, struct errinfo *ei);
int wh_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei);
int wh_set_times(struct wh_fs *fs, const char *path, int64_t mtime_ns, int64_t atime_ns,
                 struct errinfo *ei);
int wh_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
               struct errinfo *ei);
int wh_getattrs(struct be_fs *f, const char *path, unsigned what, struct be_attrs *out,
                struct errinfo *ei);
int wh_put_meta(struct wh_fs *fs, const char *path, const char *key, const char *value,
                struct errinfo *ei);
int wh_setmeta(struct be_fs *f, const char *path, const char *key, const char *value,
               struct errinfo *ei);
int wh_apply_all(struct wh_fs *fs, const char *path, const struct be_attrs *a,
                 unsigned what, struct errinfo *ei);
int wh_setattr(struct be_fs *f, const char *path, const struct be_attrs *a,
               unsigned what, struct errinfo *ei);
/* webhdfs_write.c: the writer slots. */
int wh_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
              struct be_file **out, struct errinfo *ei);
int wh_open_append(struct be_fs *f, const char *path, struct be_file **out,
                   struct errinfo *ei);
int wh_write(struct be_file *f, uint64_t off, const void *buf, size_t n,
             struct errinfo *ei);
int wh_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei);
int wh_wsetattr(struct be_file *f, const struct be_attrs *a, unsigned what,
                struct errinfo *ei);
int wh_wsetmeta(struct be_file *f, const char *key, const char *value,
                struct errinfo *ei);
void wh_abort(struct be_file *f);
int wh_commit(struct be_file *f, struct errinfo *ei);

/* webhdfs_acl.c: the whole ACL as POSIX text (NULL: only the permission
 * bits) / make it so (NULL: REMOVEACL). */
int wh_get_acl(struct wh_fs *fs, const char *path, char **out, struct errinfo *ei);
int wh_set_acl(struct wh_fs *fs, const char *path, const char *text, struct errinfo *ei);
/* webhdfs_cksum.c: the checksum/wchecksum slots. */
int wh_checksum(struct be_fs *f, const char *path, struct hdfs_cksum_result *out,
                struct errinfo *ei);
int wh_wchecksum(struct be_file *f, struct hdfs_cksum_result *out, struct errinfo *ei);
/* webhdfs_snap.c: the snapshot extension. */
extern const struct be_snapshot_ops wh_snapshots;

#endif

/* s3.h - private pieces of the S3 backend (s3.c, s3_call.c, s3_read.c,
 * s3_ns.c, s3_write.c, s3_copy.c, s3_share.c, s3_attr.c, s3_cred.c,
 * s3_sigv4.c, s3_xml.c). Not for use outside src/backend/s3.
 *
 * A struct s3_fs is immutable after open (credentials, endpoint, bucket)
 * except its connection pool, which is thread-safe. Writers take
 * concurrent write() calls for disjoint ranges (s3_write.c). */
#ifndef DISTCP_S3_H
#define DISTCP_S3_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "backend/http/http.h"
#include "util/retry.h"

#define S3_XML_MAX (16u << 20)       /* cap for any XML answer */
#define S3_META_PREFIX "x-amz-meta-distcp-"

struct s3_cred {
    char *akid, *secret, *token;     /* token may be NULL */
};

struct s3_acache;

struct s3_fs {
    struct be_fs head;
    char *bucket;
    char *base;          /* "http://host:port" or "https://bucket.host" (no trailing '/') */
    char *host;          /* Host header value as libcurl sends it */
    bool path_style, https, insecure;
    char *region;
    char *endpoint;      /* "http(s)://host[:port]" without the bucket: one server */
    struct s3_cred cred;
    struct http_pool *pool;
    struct retry_policy retry; /* resolved at open (s3.c policy_init) */
    struct s3_acache *acache;  /* attributes seen by recent GETs (s3_attr.c), may be NULL */
    /* server-side copies (s3_write.c): objects over copy_threshold bytes are
     * copied in parts of copy_part bytes (UploadPartCopy); -D
     * fs.s3a.multipart.threshold / fs.s3a.multipart.size */
    uint64_t copy_threshold, copy_part;
    _Atomic bool no_part_copy;  /* the server refused UploadPartCopy: stream (set once) */
};

/* One S3 call. key: the object key (raw bytes, "" for the bucket itself).
 * query: canonical query string (sorted, encoded) or NULL. headers: extra
 * "name: value" lines; those named x-amz-* are signed (names lowercase). */
struct s3_call {
    const char *method;
    const char *key;
    const char *query;
    const char *const *headers;
    size_t nheaders;
    const void *body;
    size_t blen;
    void *dst;            /* body destination (ranged GET), or NULL */
    size_t dstcap;
    bool dst_truncate;    /* a longer body is cut at dstcap (http_xreq.dst_truncate) */
    const char *what;     /* the path for messages */
};

/* Send with retries (5xx, 503 SlowDown, 408/429, transport errors).
 * Returns ERR_OK with *r filled for any final HTTP answer. */
int s3_do(struct s3_fs *fs, const struct s3_call *c, struct http_xresp *r,
          struct errinfo *ei);
/* Map a non-2xx answer to a code and "cannot <verb> '<what>': ..." */
int s3_error(const struct s3_fs *fs, const struct http_xresp *r, const char *verb,
             const char *what, struct errinfo *ei);

/* SigV4 (s3_sigv4.c). headers: n "name:value" strings with lowercase names
 * and trimmed values, in any order; they are all signed. amzdate is
 * "yyyyMMddTHHmmssZ". Writes "AWS4-HMAC-SHA256 Credential=..." to out. */
int s3_sigv4(const struct s3_cred *cred, const char *region, const char *method,
             const char *canon_uri, const char *canon_query, const char *const *headers,
             size_t n, const char *payload_hash, const char *amzdate, char *out,
             size_t outn);
/* URI-encode for canonical forms: all but A-Za-z0-9-._~ ; '/' kept when
 * keep_slash. malloc'd. */
char *s3_uri_encode(const char *s, bool keep_slash);
void s3_base64(const unsigned char *in, size_t n, char *out); /* out: 4*ceil(n/3)+1 */
/* Decode base64 (at most 72 bytes of output) into out; 0 when malformed or
 * longer than cap. */
size_t s3_base64_decode(const char *in, unsigned char *out, size_t cap);

/* XML (s3_xml.c) ---------------------------------------------------------- */
struct s3_item {
    char *key;            /* decoded */
    bool prefix;          /* a CommonPrefixes entry */
    uint64_t size;
    int64_t mtime_ns;
};
struct s3_page {
    struct s3_item *items;
    size_t n, cap;
    bool truncated;
    char *next_token;
    bool url_encoded;
};
int s3_parse_list(const char *xml, size_t len, struct s3_page *pg, struct errinfo *ei);
void s3_page_free(struct s3_page *pg);
/* The text of the first element named `name` anywhere (malloc'd) or NULL. */
char *s3_xml_find(const char *xml, size_t len, const char *name);

/* Time */
int64_t s3_parse_iso8601(const char *s);   /* 2024-01-02T03:04:05.000Z -> ns, 0 if bad */
int64_t s3_parse_http_date(const char *s); /* RFC 1123 -> ns, 0 if bad */

/* Helpers of s3.c used by s3_write.c */
char *s3_key_of(const char *path);          /* "/a/b" -> "a/b", "/" -> "" (malloc'd) */
int s3_head(struct s3_fs *fs, const char *path, const char *key, struct http_xresp *r,
            struct errinfo *ei);              /* ERR_OK (200), ERR_NOT_FOUND, other */
int s3_dir_probe(struct s3_fs *fs, const char *path, const char *key, bool *exists,
                 bool *only_marker, struct errinfo *ei);
int s3_list_all(struct s3_fs *fs, const char *path, const char *prefix,
                int (*cb)(void *arg, const struct s3_item *it), void *arg,
                struct errinfo *ei);
int s3_delete_keys(struct s3_fs *fs, const char *path, char **keys, size_t n,
                   struct errinfo *ei);

extern const struct backend_ops backend_s3;

/* Credentials (s3_cred.c) ------------------------------------------------- */
struct s3_profile {
    char *name, *akid, *secret, *token, *region;
    char *unsupported;    /* a key naming another way to get keys (role_arn...) */
    bool found;           /* the section exists in either file */
};
/* Read profile `profile` from the shared credentials and config files.
 * explicit_name: a missing profile is an error (else an empty result). */
int s3_profile_load(const char *profile, bool explicit_name, struct s3_profile *p,
                    struct errinfo *ei);
void s3_profile_free(struct s3_profile *p);
/* Credentials and region in Hadoop/awscli order (see s3_cred.c). what: the
 * store for messages ("s3a://bucket"). *region malloc'd. */
int s3_cred_resolve(const struct be_config *cfg, const char *what, struct s3_cred *cred,
                    char **region, struct errinfo *ei);

/* s3_write.c slots */
int s3_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
              struct be_file **out, struct errinfo *ei);
int s3_write(struct be_file *f, uint64_t off, const void *buf, size_t n, struct errinfo *ei);
int s3_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei);
int s3_wsetmeta(struct be_file *f, const char *key, const char *value, struct errinfo *ei);
int s3_commit(struct be_file *f, struct errinfo *ei);
void s3_abort(struct be_file *f);
/* Attributes as metadata (s3_attr.c): getattrs/setattr slots, the writer's
 * wsetattr, and the cache readers fill from their GET's headers. */
int s3_getattrs(struct be_fs *f, const char *path, unsigned what, struct be_attrs *out,
                struct errinfo *ei);
int s3_setattr(struct be_fs *f, const char *path, const struct be_attrs *a, unsigned what,
               struct errinfo *ei);
int s3_wsetattr_meta(struct be_file *w, const struct be_attrs *a, unsigned what,
                     struct errinfo *ei);
struct s3_acache;
struct s3_acache *s3_acache_new(void);
void s3_acache_free(struct s3_acache *c);
void s3_acache_put(struct s3_acache *c, const char *path, const struct http_xresp *r);
/* Abort a multipart upload a killed writer left ("<upload id> <key>"). */
int s3_abort_pending(struct be_fs *f, const char *token, struct errinfo *ei);
/* shared writers (backend.h wshare/wjoin/wjoin_end/wreceipt) */
int s3_wshare(struct be_file *f, char *tok, size_t n, uint64_t *align, struct errinfo *ei);
int s3_wjoin(struct be_fs *f, const char *path, const char *tok, uint64_t off, uint64_t len,
             struct be_file **out, struct errinfo *ei);
int s3_wjoin_end(struct be_file *f, bool ok, char *receipt, size_t n, struct errinfo *ei);
int s3_wreceipt(struct be_file *f, uint64_t off, uint64_t len, const char *receipt,
                struct errinfo *ei);
/* Part size for an object of `size` bytes (0: unknown): 8 MiB, or more so
 * that it needs at most 10,000 parts. */
uint64_t s3_part_size(uint64_t size);
int s3_copy_object(struct s3_fs *fs, const char *path, const char *from_key,
                   const char *to_key, const char *const *extra, size_t nextra,
                   struct errinfo *ei);
/* CopyObject from another bucket of the same server. */
int s3_copy_object_from(struct s3_fs *fs, const char *path, const char *from_bucket,
                        const char *from_key, const char *to_key, const char *const *extra,
                        size_t nextra, struct errinfo *ei);
bool s3_copy_whole(struct be_fs *src, struct be_fs *dst);
int s3_copy_range(struct be_file *r, uint64_t roff, struct be_file *w, uint64_t woff,
                  uint64_t len, uint64_t *done, struct errinfo *ei);
/* What s3_copy_range needs of a reader (s3.c): its store, key, ETag, size;
 * s3_reader_seek moves it (dropping what it buffered). */
void s3_reader_source(struct be_file *r, struct s3_fs **fs, const char **key,
                      const char **etag, uint64_t *size);
void s3_reader_seek(struct be_file *r, uint64_t pos);
int s3_reader_open(struct s3_fs *fs, const char *path, struct be_file **out,
                   struct errinfo *ei);
int s3_reader_read(struct be_file *r, void *buf, size_t n, size_t *got, struct errinfo *ei);
void s3_reader_close(struct be_file *r);

static inline struct s3_fs *fs_of(struct be_fs *f) { return (struct s3_fs *)f; }

/* s3_call.c: the retry policy from DISTCP_S3_RETRY_BASE_MS (read once, at
 * open); one ListObjectsV2 page of prefix (delim: with delimiter '/'). */
void s3_policy_init(struct retry_policy *p);
int s3_list_page(struct s3_fs *fs, const char *path, const char *prefix, bool delim,
                 int max_keys, const char *token, struct s3_page *pg, struct errinfo *ei);
/* s3_read.c: the stat, list and reader slots; a file's status from a HEAD
 * answer (size, Last-Modified). */
int s3_stat(struct be_fs *f, const char *path, struct be_stat *st, struct errinfo *ei);
int s3_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
            struct errinfo *ei);
int s3_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
                 struct errinfo *ei);
int s3_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei);
void s3_close_read(struct be_file *f);
void s3_stat_from_head(const struct http_xresp *r, struct be_stat *st);
/* s3_ns.c: the mkdirs, remove, rename and getmeta slots. */
int s3_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei);
int s3_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei);
int s3_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei);
int s3_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
               struct errinfo *ei);

/* A writer (s3_write.c; its server-side copy path in s3_copy.c, its
 * sharing across processes in s3_share.c), with its parts being filled. */
#define PART_MIN (8ull << 20)
#define PART_COUNT_MAX 10000
#define META_MAX 16
#define ACTIVE_MAX 64
#define IV_MAX 16
struct span {
    uint64_t a, b;        /* covered [a, b), relative to the part start */
};

struct apart {            /* a part being filled */
    unsigned idx;         /* 0-based; part number idx + 1 */
    unsigned char *buf;
    size_t cap;
    struct span iv[IV_MAX];
    unsigned niv;
};
struct s3_writer {
    struct s3_fs *fs;
    char *path, *key;
    bool direct;
    uint64_t part_size, size_hint;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct apart *act[ACTIVE_MAX];
    unsigned nact;
    uint64_t end;         /* highest offset written + 1 */
    char *upload_id;
    bool initiating;
    int init_rc;
    char **etags;         /* etags[i] of part i+1 (PART_COUNT_MAX slots) */
    unsigned inflight;    /* uploads running */
    char *meta[META_MAX]; /* "x-amz-meta-distcp-k: v" */
    unsigned nmeta;
    bool meta_late;       /* metadata set after the upload began */
    /* server-side copy (copy_range): the whole object comes from here at
     * commit; streamed instead when the server refuses */
    struct s3_fs *copy_fs;
    char *copy_key, *copy_etag;
    /* announcing uploads (be_create_opts.pending) */
    int (*pending)(void *arg, const char *token, bool open, struct errinfo *ei);
    void *pending_arg;
    bool announced;       /* the open upload was announced */
};
/* Helpers of s3_write.c used by s3_copy.c: start the multipart upload if
 * none yet; CompleteMultipartUpload of parts 1..nparts; AbortMultipartUpload
 * (and the announcement that it is gone); announce the open (open = true)
 * or ended upload to the engine (be_create_opts.pending). */
int s3_ensure_upload(struct s3_writer *w, struct errinfo *ei);
int s3_complete(struct s3_writer *w, unsigned nparts, struct errinfo *ei);
int s3_abort_upload(struct s3_writer *w);
int s3_announce(struct s3_writer *w, bool open, struct errinfo *ei);
/* ...and by s3_share.c: free a writer / a part; the length of part idx of
 * an object ending at `end`; UploadPart of the first len bytes of p. */
void s3_writer_free(struct s3_writer *w);
void s3_apart_free(struct apart *p);
uint64_t s3_part_len(const struct s3_writer *w, unsigned idx, uint64_t end);
int s3_upload_part(struct s3_writer *w, struct apart *p, size_t len, struct errinfo *ei);
/* s3_copy.c: at commit, the server-side copy recorded by s3_copy_range
 * (*streamed: done through the writer because the server refused); the
 * self-copy in parts that records metadata which came late. */
int s3_commit_copy(struct s3_writer *w, bool *streamed, struct errinfo *ei);
int s3_self_copy_parts(struct s3_writer *w, struct errinfo *ei);

#endif

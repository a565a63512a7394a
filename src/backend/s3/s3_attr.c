/* s3_attr.c - POSIX attributes of objects kept as distcp metadata (-p u, g, p,
 * t with an S3 target: BE_CAP_META_ATTRS), and read back when copying from
 * S3 to a store that keeps them.
 *
 * Metadata (x-amz-meta-distcp-<name>):
 *   owner / group   the name, where the source has names (a pseudo id of a
 *                   names-only store, util/idmap.h, or a name in be_stat)
 *   uid / gid       else the numeric id
 *   mode            permission bits, octal ("0644")
 *   mtime           modification time in ns since the epoch
 * Names are %XX-escaped outside printable ASCII (headers carry ASCII only).
 *
 * Writers record them with the rest of the metadata (wsetattr -> wsetmeta,
 * so they travel with PutObject, CreateMultipartUpload or the commit's
 * self-copy). setattr on an existing object HEADs it and, when a value
 * differs, copies the object onto itself with the new metadata (CopyObject,
 * REPLACE, pinned to the ETag seen; up to 5 GiB). getattrs answers from the
 * headers of the object's last GET (readers leave them in a small per-store
 * cache, taken once), else from a HEAD: a copy from S3 costs no extra
 * request.
 *
 * Threading: the cache has its own lock; everything else works on
 * caller-owned data. */
#include "backend/s3/s3.h"
#include "util/idmap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACACHE_SLOTS 64
#define COPY_LIMIT (5ull << 30)

enum { K_OWNER, K_UID, K_GROUP, K_GID, K_MODE, K_MTIME, K__N };
static const char *const knames[K__N] = {"owner", "uid", "group", "gid", "mode", "mtime"};
static const unsigned kattr[K__N] = {BE_ATTR_OWNER, BE_ATTR_OWNER, BE_ATTR_GROUP,
                                     BE_ATTR_GROUP, BE_ATTR_MODE, BE_ATTR_TIMES};

struct aslot {
    char *path;
    struct be_attrs a;    /* st.owner/uid/group/gid/mode/mtime_ns and have only */
};
struct s3_acache {
    pthread_mutex_t lock;
    struct aslot s[ACACHE_SLOTS];
};

struct s3_acache *s3_acache_new(void)
{
    struct s3_acache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

void s3_acache_free(struct s3_acache *c)
{
    if (!c)
        return;
    for (int i = 0; i < ACACHE_SLOTS; i++)
        free(c->s[i].path);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static unsigned slot_of(const char *path)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % ACACHE_SLOTS;
}

/* %XX-escape a name for a header value (out: at least 3 * BE_NAME_MAX + 1). */
static void esc_name(const char *s, char *out)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '%') {
            out[n++] = '%';
            out[n++] = hx[*p >> 4];
            out[n++] = hx[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = 0;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undo esc_name into out (BE_NAME_MAX); false when malformed or too long. */
static bool unesc_name(const char *s, char *out)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int a = hexv(p[1]), b = a < 0 ? -1 : hexv(p[2]);
            if (a < 0 || b < 0 || (a | b) == 0)
                return false;
            c = a * 16 + b;
            p += 2;
        }
        if (n + 1 >= BE_NAME_MAX)
            return false;
        out[n++] = (char)c;
    }
    out[n] = 0;
    return n > 0;
}

static bool parse_u32(const char *s, int base, uint32_t max, uint32_t *v)
{
    char *end = NULL;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    unsigned long long x = strtoull(s, &end, base);
    if (*end || x > max)
        return false;
    *v = (uint32_t)x;
    return true;
}

/* The values the attributes `what` of a become (vals[k] NULL: absent), and
 * which keys `what` governs (*gov, a bit per key). vals must hold K__N
 * strings of 3 * BE_NAME_MAX + 1 bytes. */
static void values_of(const struct be_attrs *a, unsigned what, char vals[][3 * BE_NAME_MAX + 1],
                      bool *present, unsigned *gov)
{
    const char *on = a->st.owner[0] ? a->st.owner : idmap_name(a->st.uid);
    const char *gn = a->st.group[0] ? a->st.group : idmap_name(a->st.gid);
    *gov = 0;
    memset(present, 0, K__N * sizeof *present);
    for (int k = 0; k < K__N; k++)
        if (what & kattr[k])
            *gov |= 1u << k;
    if (what & BE_ATTR_OWNER) {
        if (on && *on) {
            esc_name(on, vals[K_OWNER]);
            present[K_OWNER] = true;
        } else if (a->st.uid != BE_ID_NONE && !idmap_is_pseudo(a->st.uid)) {
            snprintf(vals[K_UID], sizeof vals[K_UID], "%" PRIu32, a->st.uid);
            present[K_UID] = true;
        }
    }
    if (what & BE_ATTR_GROUP) {
        if (gn && *gn) {
            esc_name(gn, vals[K_GROUP]);
            present[K_GROUP] = true;
        } else if (a->st.gid != BE_ID_NONE && !idmap_is_pseudo(a->st.gid)) {
            snprintf(vals[K_GID], sizeof vals[K_GID], "%" PRIu32, a->st.gid);
            present[K_GID] = true;
        }
    }
    if (what & BE_ATTR_MODE) {
        snprintf(vals[K_MODE], sizeof vals[K_MODE], "%04o", (unsigned)(a->st.mode & 07777));
        present[K_MODE] = true;
    }
    if ((what & BE_ATTR_TIMES) && a->st.mtime_ns > 0) {
        snprintf(vals[K_MTIME], sizeof vals[K_MTIME], "%" PRId64, a->st.mtime_ns);
        present[K_MTIME] = true;
    }
}

/* The attributes an answer's x-amz-meta-distcp-* headers hold. */
static void attrs_of(const struct http_xresp *r, struct be_attrs *out)
{
    memset(out, 0, sizeof *out);
    out->st.uid = out->st.gid = BE_ID_NONE;
    char h[64];
    char *v[K__N];
    for (int k = 0; k < K__N; k++) {
        snprintf(h, sizeof h, S3_META_PREFIX "%s", knames[k]);
        v[k] = http_xresp_header(r, h);
    }
    if (v[K_OWNER] && unesc_name(v[K_OWNER], out->st.owner))
        out->have |= BE_ATTR_OWNER;
    else if (parse_u32(v[K_UID], 10, UINT32_MAX - 1, &out->st.uid) && !idmap_is_pseudo(out->st.uid))
        out->have |= BE_ATTR_OWNER;
    else
        out->st.uid = BE_ID_NONE;
    if (v[K_GROUP] && unesc_name(v[K_GROUP], out->st.group))
        out->have |= BE_ATTR_GROUP;
    else if (parse_u32(v[K_GID], 10, UINT32_MAX - 1, &out->st.gid) && !idmap_is_pseudo(out->st.gid))
        out->have |= BE_ATTR_GROUP;
    else
        out->st.gid = BE_ID_NONE;
    if (parse_u32(v[K_MODE], 8, 07777, &out->st.mode))
        out->have |= BE_ATTR_MODE;
    if (v[K_MTIME]) {
        char *end = NULL;
        long long t = strtoll(v[K_MTIME], &end, 10);
        if (*v[K_MTIME] && !*end && t > 0) {
            out->st.mtime_ns = t;
            out->st.atime_ns = t;
            out->have |= BE_ATTR_TIMES;
        }
    }
    for (int k = 0; k < K__N; k++)
        free(v[k]);
}

void s3_acache_put(struct s3_acache *c, const char *path, const struct http_xresp *r)
{
    if (!c)
        return;
    struct be_attrs a;
    attrs_of(r, &a);
    char *p = strdup(path);
    if (!p)
        return;
    struct aslot *s = &c->s[slot_of(path)];
    pthread_mutex_lock(&c->lock);
    free(s->path);
    s->path = p;
    s->a = a;
    pthread_mutex_unlock(&c->lock);
}

/* Take the cached attributes of path (once); false when there are none. */
static bool acache_take(struct s3_acache *c, const char *path, struct be_attrs *out)
{
    bool hit = false;
    if (!c)
        return false;
    struct aslot *s = &c->s[slot_of(path)];
    pthread_mutex_lock(&c->lock);
    if (s->path && !strcmp(s->path, path)) {
        *out = s->a;
        free(s->path);
        s->path = NULL;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

int s3_getattrs(struct be_fs *f, const char *path, unsigned what, struct be_attrs *out,
                struct errinfo *ei)
{
    struct s3_fs *fs = (struct s3_fs *)f;
    struct http_xresp r = {0};
    char *k = NULL;
    int rc = ERR_OK;
    memset(out, 0, sizeof *out);
    out->st.uid = out->st.gid = BE_ID_NONE;
    if (what & ~(unsigned)(BE_ATTR_OWNER | BE_ATTR_GROUP | BE_ATTR_MODE | BE_ATTR_TIMES))
        return err_setx(ei, ERR_UNSUPPORTED, "cannot read attributes of '%s': S3 keeps only "
                        "owner, group, permission and times", path);
    if (!what || acache_take(fs->acache, path, out))
        goto out;
    if (!(k = s3_key_of(path))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read attributes of '%s': out of memory", path);
        goto out;
    }
    if (!*k)
        goto out;             /* the bucket root: nothing recorded */
    if ((rc = s3_head(fs, path, k, &r, ei))) {
        if (rc == ERR_NOT_FOUND)
            rc = ERR_OK;      /* a directory (prefix): nothing recorded */
        goto out;
    }
    attrs_of(&r, out);
out:
    out->have &= what;
    http_xresp_free(&r);
    free(k);
    return rc;
}

int s3_wsetattr_meta(struct be_file *w, const struct be_attrs *a, unsigned what,
                     struct errinfo *ei)
{
    char vals[K__N][3 * BE_NAME_MAX + 1];
    bool present[K__N];
    unsigned gov;
    int rc = ERR_OK;
    values_of(a, what, vals, present, &gov);
    for (int k = 0; k < K__N && !rc; k++)
        if (present[k])
            rc = s3_wsetmeta(w, knames[k], vals[k], ei);
    return rc;
}

int s3_setattr(struct be_fs *f, const char *path, const struct be_attrs *a, unsigned what,
               struct errinfo *ei)
{
    static const char *const carried[] = {"digest"};   /* other distcp metadata kept */
    struct s3_fs *fs = (struct s3_fs *)f;
    struct http_xresp r = {0};
    char vals[K__N][3 * BE_NAME_MAX + 1];
    bool present[K__N];
    unsigned gov;
    char *k = NULL, *hdr[K__N + 8] = {0};
    size_t nh = 0;
    int rc;
    what &= BE_ATTR_OWNER | BE_ATTR_GROUP | BE_ATTR_MODE | BE_ATTR_TIMES;
    if (!what)
        return ERR_OK;
    values_of(a, what, vals, present, &gov);
    if (!(k = s3_key_of(path)))
        return err_setx(ei, ERR_NOMEM, "cannot set attributes of '%s': out of memory", path);
    if ((rc = s3_head(fs, path, k, &r, ei)))
        goto out;
    /* the metadata as it should be: ungoverned keys as they are */
    bool differs = false;
    char h[64];
    for (int i = 0; i < K__N; i++) {
        snprintf(h, sizeof h, S3_META_PREFIX "%s", knames[i]);
        char *cur = http_xresp_header(&r, h);
        const char *want = (gov & (1u << i)) ? (present[i] ? vals[i] : NULL) : cur;
        if ((cur == NULL) != (want == NULL) || (cur && strcmp(cur, want)))
            differs = true;
        if (want && asprintf(&hdr[nh++], S3_META_PREFIX "%s: %s", knames[i], want) < 0)
            hdr[--nh] = NULL;
        free(cur);
    }
    if (!differs)
        goto out;
    char *len = http_xresp_header(&r, "Content-Length");
    bool big = len && strtoull(len, NULL, 10) > COPY_LIMIT;
    free(len);
    if (big) {
        rc = err_setx(ei, ERR_UNSUPPORTED, "cannot set attributes of '%s': the object is over "
                      "5 GiB (CopyObject's limit)", path);
        goto out;
    }
    for (size_t i = 0; i < sizeof carried / sizeof *carried; i++) {
        snprintf(h, sizeof h, S3_META_PREFIX "%s", carried[i]);
        char *cur = http_xresp_header(&r, h);
        if (cur && asprintf(&hdr[nh++], S3_META_PREFIX "%s: %s", carried[i], cur) < 0)
            hdr[--nh] = NULL;
        free(cur);
    }
    char *etag = http_xresp_header(&r, "ETag");
    char *ctype = http_xresp_header(&r, "Content-Type");
    if (etag && asprintf(&hdr[nh++], "x-amz-copy-source-if-match: %s", etag) < 0)
        hdr[--nh] = NULL;
    if (asprintf(&hdr[nh++], "Content-Type: %s", ctype ? ctype : "application/octet-stream") < 0)
        hdr[--nh] = NULL;
    free(etag);
    free(ctype);
    if (!(hdr[nh++] = strdup("x-amz-metadata-directive: REPLACE"))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot set attributes of '%s': out of memory", path);
        goto out;
    }
    rc = s3_copy_object(fs, path, k, k, (const char *const *)hdr, nh, ei);
out:
    http_xresp_free(&r);
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    free(k);
    return rc;
}

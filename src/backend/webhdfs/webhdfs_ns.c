/* webhdfs_ns.c - namespace changes and attributes for the WebHDFS backend:
 * DELETE, MKDIRS, RENAME (OVERWRITE), SETTIMES, SETPERMISSION, SETOWNER,
 * SETREPLICATION, xattrs and distcp's metadata in "user.distcp.<key>"
 * xattrs (hex-encoded), getattrs/setattr (docs/protocols.md §2.2).
 *
 * Threading: no state of its own; every function may run from many threads. */
#include "backend/webhdfs/webhdfs_int.h"

#include <grp.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Namespace ---------------------------------------------------------------- */

int wh_delete(struct wh_fs *fs, const char *path, bool recursive, struct errinfo *ei)
{
    bool ok = false;
    int rc = wh_nn_bool(fs, "DELETE", path, "DELETE", recursive ? "&recursive=true"
                     : "&recursive=false", "remove", &ok, NULL, 0, ei);
    if (rc == ERR_IO && !recursive && ei && strstr(ei->msg, "is non empty"))
        rc = ERR_NOT_EMPTY, ei->code = rc;
    if (rc == ERR_OK && !ok)
        rc = err_set(ei, ERR_NOT_FOUND, "cannot remove '%s'", path);
    return rc;
}

int wh_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei)
{
    return wh_delete(fs_of(f), path, recursive, ei);
}

int wh_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei)
{
    char extra[64], exc[128];
    bool ok = false;
    struct be_stat st;
    snprintf(extra, sizeof extra, "&permission=%o", (mode ? mode : 0755) & 07777);
    int rc = wh_nn_bool(fs_of(f), "PUT", path, "MKDIRS", extra, "mkdirs", &ok, exc, sizeof exc, ei);
    if (rc == ERR_EXISTS || rc == ERR_NOT_DIR) {
        rc = err_set(ei, ERR_NOT_DIR, "cannot create directory '%s'", path);
    } else if (rc == ERR_OK && !ok) {
        rc = wh_stat(f, path, &st, ei);
        if (rc == ERR_OK && st.type != BE_DIR)
            rc = err_set(ei, ERR_NOT_DIR, "cannot create directory '%s'", path);
        else if (rc == ERR_NOT_FOUND)
            rc = err_set(ei, ERR_NOT_DIR, "cannot create directory '%s'", path);
    }
    return rc;
}

int wh_rename_over(struct wh_fs *fs, const char *from, const char *to, struct errinfo *ei)
{
    char *d = wh_qparam("destination", wh_hdfs_path(fs, to)), *extra = NULL;
    int rc = ERR_OK;
    if (!d || asprintf(&extra, "%s&renameoptions=OVERWRITE", d) < 0) {
        extra = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot rename '%s'", from);
        goto out;
    }
    rc = wh_nn_call(fs, "PUT", from, "RENAME", extra, "rename", NULL, NULL, 0, ei);
out:
    free(d);
    free(extra);
    return rc;
}

int wh_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei)
{
    return wh_rename_over(fs_of(f), from, to, ei);
}

int wh_set_times(struct wh_fs *fs, const char *path, int64_t mtime_ns, int64_t atime_ns,
                 struct errinfo *ei)
{
    char extra[96];
    snprintf(extra, sizeof extra, "&modificationtime=%lld&accesstime=%lld",
             mtime_ns ? (long long)(mtime_ns / 1000000) : -1LL,
             atime_ns ? (long long)(atime_ns / 1000000) : -1LL);
    return wh_nn_call(fs, "PUT", path, "SETTIMES", extra, "set times of", NULL, NULL, 0, ei);
}

/* The name to give SETOWNER for (name, id): the name when set, else the
 * name behind a pseudo id, else the local account of a numeric id (what
 * Hadoop's local file system reports), else the number itself. */
static const char *owner_name(const char *name, uint32_t id, bool user, char *buf, size_t n)
{
    const char *v;
    if (name[0])
        return name;
    if ((v = idmap_name(id)))
        return v;
    if (id == BE_ID_NONE)
        return "";
    char pb[4096];
    if (user) {
        struct passwd pw, *res = NULL;
        if (getpwuid_r((uid_t)id, &pw, pb, sizeof pb, &res) == 0 && res) {
            snprintf(buf, n, "%s", res->pw_name);
            return buf;
        }
    } else {
        struct group gr, *res = NULL;
        if (getgrgid_r((gid_t)id, &gr, pb, sizeof pb, &res) == 0 && res) {
            snprintf(buf, n, "%s", res->gr_name);
            return buf;
        }
    }
    snprintf(buf, n, "%u", (unsigned)id);
    return buf;
}

static int apply_attrs(struct wh_fs *fs, const char *path, const struct be_attrs *a,
                       unsigned what, struct errinfo *ei)
{
    int rc = ERR_OK;
    char extra[64], *o = NULL, *g = NULL, *q = NULL, ob[BE_NAME_MAX], gb[BE_NAME_MAX];
    const char *on = owner_name(a->st.owner, a->st.uid, true, ob, sizeof ob);
    const char *gn = owner_name(a->st.group, a->st.gid, false, gb, sizeof gb);
    if (what & BE_ATTR_MODE) {
        snprintf(extra, sizeof extra, "&permission=%o", a->st.mode & 07777);
        if ((rc = wh_nn_call(fs, "PUT", path, "SETPERMISSION", extra, "set permission of", NULL,
                          NULL, 0, ei)))
            goto out;
    }
    if ((what & (BE_ATTR_OWNER | BE_ATTR_GROUP)) &&
        ((what & BE_ATTR_OWNER && on[0]) || (what & BE_ATTR_GROUP && gn[0]))) {
        o = (what & BE_ATTR_OWNER) && on[0] ? wh_qparam("owner", on) : strdup("");
        g = (what & BE_ATTR_GROUP) && gn[0] ? wh_qparam("group", gn) : strdup("");
        if (!o || !g || asprintf(&q, "%s%s", o, g) < 0) {
            q = NULL;
            rc = err_set(ei, ERR_NOMEM, "cannot set owner of '%s'", path);
            goto out;
        }
        if ((rc = wh_nn_call(fs, "PUT", path, "SETOWNER", q, "set owner of", NULL, NULL, 0, ei)))
            goto out;
    }
    if ((what & BE_ATTR_REPLICATION) && a->st.replication && a->st.type != BE_DIR) {
        bool ok;
        snprintf(extra, sizeof extra, "&replication=%u", (unsigned)a->st.replication);
        if ((rc = wh_nn_bool(fs, "PUT", path, "SETREPLICATION", extra, "set replication of", &ok,
                          NULL, 0, ei)))
            goto out;
    }
    if ((what & BE_ATTR_TIMES) && (a->st.mtime_ns || a->st.atime_ns))
        rc = wh_set_times(fs, path, a->st.mtime_ns, a->st.atime_ns, ei);
out:
    free(o);
    free(g);
    free(q);
    return rc;
}

/* Xattrs and distcp metadata (xattrs user.distcp.<key>) - values travel
 * hex-encoded both ways ("0x..."), so any bytes survive. ----------------- */

int wh_hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode a GETXATTRS value ("0x..." or null) into malloc'd bytes, NUL-
 * terminated for convenience. false on a malformed value. */
static bool decode_value(const char *v, unsigned char **out, size_t *len)
{
    if (!v)
        v = "";
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
        v += 2;
    size_t l = strlen(v);
    *out = NULL;
    if (l % 2)
        return false;
    l /= 2;
    unsigned char *o = malloc(l + 1);
    if (!o)
        return false;
    for (size_t k = 0; k < l; k++) {
        int hi = wh_hexv((unsigned char)v[2 * k]), lo = wh_hexv((unsigned char)v[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            free(o);
            return false;
        }
        o[k] = (unsigned char)(hi * 16 + lo);
    }
    o[l] = 0;
    *out = o;
    *len = l;
    return true;
}

/* All xattrs of path: *j holds the answer, *arr borrows its XAttrs array. */
static int get_xattrs(struct wh_fs *fs, const char *path, json_t **j, json_t **arr,
                      struct errinfo *ei)
{
    int rc = wh_nn_call(fs, "GET", path, "GETXATTRS", "&encoding=hex", "read xattrs of", j, NULL,
                     0, ei);
    if (rc == ERR_OK) {
        *arr = json_object_get(*j, "XAttrs");
        if (!json_is_array(*arr))
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read xattrs of '%s': answer without XAttrs",
                          path);
    }
    return rc;
}

int wh_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
               struct errinfo *ei)
{
    json_t *j = NULL, *arr = NULL, *x;
    char *name = NULL;
    size_t i;
    int rc;
    *value = NULL;
    if (asprintf(&name, WH_META_PREFIX "%s", key) < 0) {
        name = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot read metadata of '%s'", path);
        goto out;
    }
    if ((rc = get_xattrs(fs_of(f), path, &j, &arr, ei)))
        goto out;
    json_array_foreach(arr, i, x) {
        const char *n = json_string_value(json_object_get(x, "name"));
        if (!n || strcmp(n, name))
            continue;
        unsigned char *v;
        size_t l;
        if (!decode_value(json_string_value(json_object_get(x, "value")), &v, &l))
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read metadata of '%s': bad value", path);
        else
            *value = (char *)v;
        goto out;
    }
    rc = err_setx(ei, ERR_NOT_FOUND, "cannot read metadata '%s' of '%s': none recorded", key,
                  path);
out:
    json_decref(j);
    free(name);
    return rc;
}

/* Names an xattr copy may carry: the usual namespaces, not distcp's own
 * metadata (it belongs to the file it was written for). */
static bool xattr_name_ok(const char *n)
{
    if (!strncmp(n, WH_META_PREFIX, sizeof WH_META_PREFIX - 1))
        return false;
    return !strncmp(n, "user.", 5) || !strncmp(n, "trusted.", 8) ||
           !strncmp(n, "security.", 9) || !strncmp(n, "raw.", 4);
}

int wh_getattrs(struct be_fs *f, const char *path, unsigned what, struct be_attrs *out,
                struct errinfo *ei)
{
    json_t *j = NULL, *arr = NULL, *x;
    size_t i;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = wh_stat(f, path, &out->st, ei)))
        goto out;
    if ((what & BE_ATTR_ACL) && out->st.type != BE_SYMLINK &&
        (rc = wh_get_acl(fs_of(f), path, &out->acl, ei)))
        goto out;
    if (!(what & BE_ATTR_XATTR))
        goto out;
    if ((rc = get_xattrs(fs_of(f), path, &j, &arr, ei)))
        goto out;
    if (json_array_size(arr) && !(out->xattrs = calloc(json_array_size(arr), sizeof *out->xattrs))) {
        rc = err_set(ei, ERR_NOMEM, "cannot read xattrs of '%s'", path);
        goto out;
    }
    json_array_foreach(arr, i, x) {
        const char *n = json_string_value(json_object_get(x, "name"));
        if (!n || !xattr_name_ok(n))
            continue;
        struct be_xattr *e = &out->xattrs[out->nxattrs];
        if (!(e->name = strdup(n))) {
            rc = err_set(ei, ERR_NOMEM, "cannot read xattrs of '%s'", path);
            goto out;
        }
        if (!decode_value(json_string_value(json_object_get(x, "value")), &e->value, &e->len)) {
            free(e->name);
            e->name = NULL;
            rc = err_setx(ei, ERR_PROTOCOL, "cannot read xattr '%s' of '%s': bad value", n, path);
            goto out;
        }
        out->nxattrs++;
    }
out:
    if (rc)
        be_attrs_release(out);
    json_decref(j);
    return rc;
}

/* SETXATTR name = value (any bytes, sent hex-encoded), creating or
 * replacing. */
static int set_xattr(struct wh_fs *fs, const char *path, const char *name,
                     const unsigned char *value, size_t vl, struct errinfo *ei)
{
    static const char hex[] = "0123456789abcdef";
    char *n = NULL, *hv = malloc(vl * 2 + 3), *q = NULL;
    int rc = ERR_OK;
    if (!hv || !(n = wh_qparam("xattr.name", name))) {
        rc = err_set(ei, ERR_NOMEM, "cannot set xattr '%s' of '%s'", name, path);
        goto out;
    }
    hv[0] = '0';
    hv[1] = 'x';
    for (size_t i = 0; i < vl; i++) {
        hv[2 + 2 * i] = hex[value[i] >> 4];
        hv[3 + 2 * i] = hex[value[i] & 15];
    }
    hv[2 + 2 * vl] = 0;
    for (int pass = 0; pass < 2; pass++) {
        free(q);
        if (asprintf(&q, "%s&xattr.value=%s&flag=%s", n, hv, pass ? "REPLACE" : "CREATE") < 0) {
            q = NULL;
            rc = err_set(ei, ERR_NOMEM, "cannot set xattr '%s' of '%s'", name, path);
            goto out;
        }
        rc = wh_nn_call(fs, "PUT", path, "SETXATTR", q, "set xattr of", NULL, NULL, 0, ei);
        if (rc != ERR_IO && rc != ERR_EXISTS)
            break; /* CREATE fails (IOException) when the xattr exists: REPLACE */
    }
out:
    free(n);
    free(hv);
    free(q);
    return rc;
}

int wh_put_meta(struct wh_fs *fs, const char *path, const char *key, const char *value,
                struct errinfo *ei)
{
    char *name = NULL;
    int rc;
    if (asprintf(&name, WH_META_PREFIX "%s", key) < 0) {
        name = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot record metadata of '%s'", path);
    } else {
        rc = set_xattr(fs, path, name, (const unsigned char *)value, strlen(value), ei);
    }
    free(name);
    return rc;
}

int wh_setmeta(struct be_fs *f, const char *path, const char *key, const char *value,
               struct errinfo *ei)
{
    return wh_put_meta(fs_of(f), path, key, value, ei);
}

/* Everything setattr/wsetattr apply: the status fields, then xattrs. */
int wh_apply_all(struct wh_fs *fs, const char *path, const struct be_attrs *a,
                 unsigned what, struct errinfo *ei)
{
    int rc = ERR_OK;
    if (what & BE_ATTR_XATTR) {
        for (size_t i = 0; i < a->nxattrs && rc == ERR_OK; i++)
            if (xattr_name_ok(a->xattrs[i].name))
                rc = set_xattr(fs, path, a->xattrs[i].name, a->xattrs[i].value,
                               a->xattrs[i].len, ei);
        if (rc)
            return rc;
    }
    /* mode and owner, then the ACL (a later SETPERMISSION would change its
     * mask), times last: nothing after them touches the file */
    if ((rc = apply_attrs(fs, path, a, what & ~(unsigned)(BE_ATTR_XATTR | BE_ATTR_TIMES), ei)))
        return rc;
    if ((what & BE_ATTR_ACL) && a->st.type != BE_SYMLINK && (rc = wh_set_acl(fs, path, a->acl, ei)))
        return rc;
    return apply_attrs(fs, path, a, what & BE_ATTR_TIMES, ei);
}

int wh_setattr(struct be_fs *f, const char *path, const struct be_attrs *a,
               unsigned what, struct errinfo *ei)
{
    return wh_apply_all(fs_of(f), path, a, what, ei);
}

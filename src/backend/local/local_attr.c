/* local_attr.c - attributes of the local backend: owner and group (names
 * looked up, numeric ids kept), mode, times, xattrs (user namespace; the
 * privileged ones skipped quietly), POSIX ACLs through libacl, and distcp's
 * own metadata in "user.distcp.<key>" xattrs. Attributes are changed only
 * where they differ, so re-runs need no privilege.
 *
 * Threading: libacl's text conversions use non-reentrant name lookups and
 * run under one lock (acl_text_mu); nothing else is shared. */
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

#define META_PREFIX "user.distcp."
#define META_KEY_MAX 200
#define PWBUF_MAX (1024u * 1024)

/* libacl's text conversions call getpwnam/getpwuid/getgrnam/getgrgid,
 * which are not reentrant: they run under this lock. */
static pthread_mutex_t acl_text_mu = PTHREAD_MUTEX_INITIALIZER;

/* Attributes ------------------------------------------------------------ */

/* Look up a user or group name; ERR_INVAL when unknown. */
static int lookup_id(bool user, const char *name, uint32_t *id, const char *path,
                     struct errinfo *ei)
{
    int rc = ERR_OK;
    size_t cap = 16384;
    char *buf = NULL;
    for (;;) {
        char *nb = realloc(buf, cap);
        if (!nb) {
            rc = err_setx(ei, ERR_NOMEM, "cannot set owner of '%s': out of memory", path);
            goto out;
        }
        buf = nb;
        int e;
        void *res = NULL;
        if (user) {
            struct passwd pw, *pp = NULL;
            e = getpwnam_r(name, &pw, buf, cap, &pp);
            if (!e && pp)
                *id = pp->pw_uid;
            res = pp;
        } else {
            struct group gr, *gp = NULL;
            e = getgrnam_r(name, &gr, buf, cap, &gp);
            if (!e && gp)
                *id = gp->gr_gid;
            res = gp;
        }
        if (e == ERANGE && cap < PWBUF_MAX) {
            cap *= 2;
            continue;
        }
        if (e && e != ENOENT && e != ESRCH) {
            rc = err_sys(ei, e, "cannot look up %s '%s' for '%s'", user ? "user" : "group",
                         name, path);
            goto out;
        }
        if (!res)
            rc = err_setx(ei, ERR_INVAL, "cannot set %s of '%s': unknown %s '%s'",
                          user ? "owner" : "group", path, user ? "user" : "group", name);
        goto out;
    }
out:
    free(buf);
    return rc;
}

static bool xattr_name_ok(const char *n)
{
    if (strncmp(n, META_PREFIX, sizeof META_PREFIX - 1) == 0)
        return false; /* distcp's own metadata belongs to the file it was written for */
    return strncmp(n, "user.", 5) == 0 || strncmp(n, "trusted.", 8) == 0 ||
           strncmp(n, "security.", 9) == 0;
}

static bool xattr_priv_ns(const char *n)
{
    return strncmp(n, "user.", 5) != 0;
}

/* Split ACL text into access and default entries, each comma-separated;
 * "default:" / "d:" prefixes are removed from the latter. */
static int acl_split(const char *text, char **acc, char **def)
{
    size_t n = strlen(text) + 1;
    char *a = calloc(1, n), *d = calloc(1, n);
    char *work = strdup(text);
    int rc = ERR_OK;
    if (!a || !d || !work) {
        rc = ERR_NOMEM;
        goto out;
    }
    char *save = NULL;
    for (char *e = strtok_r(work, ", \t\n", &save); e; e = strtok_r(NULL, ", \t\n", &save)) {
        char *dst = a;
        if (strncmp(e, "default:", 8) == 0) {
            e += 8;
            dst = d;
        } else if (strncmp(e, "d:", 2) == 0) {
            e += 2;
            dst = d;
        }
        if (*dst)
            strcat(dst, ",");
        strcat(dst, e);
    }
    *acc = a;
    *def = d;
    a = d = NULL;
out:
    free(a);
    free(d);
    free(work);
    return rc;
}

static int acl_parse(const char *text, bool access, acl_t *out, const char *path,
                     struct errinfo *ei)
{
    *out = NULL;
    if (!*text)
        return ERR_OK;
    pthread_mutex_lock(&acl_text_mu);
    acl_t acl = acl_from_text(text);
    pthread_mutex_unlock(&acl_text_mu);
    if (acl && access && acl_valid(acl) != 0)
        acl_calc_mask(&acl);
    if (!acl || acl_valid(acl) != 0) {
        if (acl)
            acl_free(acl);
        return err_setx(ei, ERR_INVAL, "cannot set ACL of '%s': invalid ACL '%s'", path, text);
    }
    *out = acl;
    return ERR_OK;
}

/* Make the ACLs of fd (fd >= 0) or path equal to `text` (NULL: a minimal
 * ACL equivalent to the mode), setting only what differs. Default ACLs are
 * handled for directories by path only (files have none). */
static int apply_acl(int fd, const char *path, bool isdir, const char *text,
                     struct errinfo *ei)
{
    int rc = ERR_OK;
    char *atext = NULL, *dtext = NULL;
    acl_t want = NULL, wdef = NULL, cur = NULL, cdef = NULL;
    if (text) {
        if (acl_split(text, &atext, &dtext) != ERR_OK) {
            rc = err_setx(ei, ERR_NOMEM, "cannot set ACL of '%s': out of memory", path);
            goto out;
        }
        rc = acl_parse(atext, true, &want, path, ei);
        if (rc == ERR_OK)
            rc = acl_parse(dtext, false, &wdef, path, ei);
        if (rc != ERR_OK)
            goto out;
    }
    cur = fd >= 0 ? acl_get_fd(fd) : acl_get_file(path, ACL_TYPE_ACCESS);
    if (!cur) {
        if ((errno == ENOTSUP || errno == ENOSYS) && !want && !wdef)
            goto out;
        rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    if (!want && acl_equiv_mode(cur, NULL) != 0) {
        /* the source has no extended ACL: strip ours down to the mode */
        struct stat s;
        if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) {
            rc = err_sys(ei, errno, "cannot stat '%s'", path);
            goto out;
        }
        want = acl_from_mode(s.st_mode);
        if (!want) {
            rc = err_sys(ei, errno, "cannot set ACL of '%s'", path);
            goto out;
        }
    }
    if (want && acl_cmp(want, cur) != 0) {
        if ((fd >= 0 ? acl_set_fd(fd, want) : acl_set_file(path, ACL_TYPE_ACCESS, want)) != 0) {
            rc = err_sys(ei, errno, "cannot set ACL of '%s'", path);
            goto out;
        }
    }
    if (!isdir || fd >= 0)
        goto out;
    cdef = acl_get_file(path, ACL_TYPE_DEFAULT);
    if (wdef) {
        if (!cdef || acl_cmp(wdef, cdef) != 0) {
            if (acl_set_file(path, ACL_TYPE_DEFAULT, wdef) != 0) {
                rc = err_sys(ei, errno, "cannot set default ACL of '%s'", path);
                goto out;
            }
        }
    } else if (cdef && acl_entries(cdef) > 0) {
        if (acl_delete_def_file(path) != 0) {
            rc = err_sys(ei, errno, "cannot remove default ACL of '%s'", path);
            goto out;
        }
    }
out:
    if (want)
        acl_free(want);
    if (wdef)
        acl_free(wdef);
    if (cur)
        acl_free(cur);
    if (cdef)
        acl_free(cdef);
    free(atext);
    free(dtext);
    return rc;
}

/* Text of the ACLs of `path` ("user::rw-,user:bob:r--,...,default:..."),
 * or NULL when they are trivial (equivalent to the mode). */
static int acl_text_of(const char *path, bool isdir, char **out, struct errinfo *ei)
{
    int rc = ERR_OK;
    acl_t acc = NULL, def = NULL;
    char *t1 = NULL, *t2 = NULL;
    *out = NULL;
    acc = acl_get_file(path, ACL_TYPE_ACCESS);
    if (!acc) {
        if (errno != ENOTSUP && errno != ENOSYS)
            rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    if (isdir)
        def = acl_get_file(path, ACL_TYPE_DEFAULT);
    bool hasdef = def && acl_entries(def) > 0;
    if (acl_equiv_mode(acc, NULL) == 0 && !hasdef)
        goto out;
    pthread_mutex_lock(&acl_text_mu);
    t1 = acl_to_any_text(acc, NULL, ',', 0);
    t2 = hasdef ? acl_to_any_text(def, "default:", ',', 0) : NULL;
    pthread_mutex_unlock(&acl_text_mu);
    if (!t1 || (hasdef && !t2)) {
        rc = err_sys(ei, errno, "cannot read ACL of '%s'", path);
        goto out;
    }
    size_t n = strlen(t1) + (t2 ? strlen(t2) + 1 : 0) + 1;
    *out = malloc(n);
    if (!*out) {
        rc = err_setx(ei, ERR_NOMEM, "cannot read ACL of '%s': out of memory", path);
        goto out;
    }
    snprintf(*out, n, "%s%s%s", t1, t2 ? "," : "", t2 ? t2 : "");
out:
    if (t1)
        acl_free(t1);
    if (t2)
        acl_free(t2);
    if (acc)
        acl_free(acc);
    if (def)
        acl_free(def);
    return rc;
}

/* Apply `what` of `a` to fd (fd >= 0) or to path without following a final
 * symlink, changing only what differs. Order: owner (which may clear
 * set-id bits), mode, xattrs, ACL, times last. */
static int apply_attrs(int fd, const char *path, const struct be_attrs *a,
                       unsigned what, struct errinfo *ei)
{
    int rc = ERR_OK;
    struct stat s;
    unsigned char *cv = NULL;
    if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) {
        rc = err_sys(ei, errno, "cannot stat '%s'", path);
        goto out;
    }
    bool islnk = S_ISLNK(s.st_mode), isdir = S_ISDIR(s.st_mode);

    if (what & (BE_ATTR_OWNER | BE_ATTR_GROUP)) {
        uint32_t uid = BE_ID_NONE, gid = BE_ID_NONE;
        /* names: given, or behind a pseudo id of a names-only store (idmap.h) */
        const char *on = a->st.owner[0] ? a->st.owner : idmap_name(a->st.uid);
        const char *gn = a->st.group[0] ? a->st.group : idmap_name(a->st.gid);
        if (what & BE_ATTR_OWNER) {
            uid = idmap_is_pseudo(a->st.uid) ? BE_ID_NONE : a->st.uid;
            if (uid == BE_ID_NONE && on && on[0] &&
                (rc = lookup_id(true, on, &uid, path, ei)) != ERR_OK)
                goto out;
        }
        if (what & BE_ATTR_GROUP) {
            gid = idmap_is_pseudo(a->st.gid) ? BE_ID_NONE : a->st.gid;
            if (gid == BE_ID_NONE && gn && gn[0] &&
                (rc = lookup_id(false, gn, &gid, path, ei)) != ERR_OK)
                goto out;
        }
        if ((uid != BE_ID_NONE && uid != s.st_uid) || (gid != BE_ID_NONE && gid != s.st_gid)) {
            uid_t u = uid == BE_ID_NONE ? (uid_t)-1 : uid;
            gid_t g = gid == BE_ID_NONE ? (gid_t)-1 : gid;
            if ((fd >= 0 ? fchown(fd, u, g) : fchownat(AT_FDCWD, path, u, g, AT_SYMLINK_NOFOLLOW)) != 0) {
                rc = err_sys(ei, errno, "cannot change owner of '%s'", path);
                goto out;
            }
            if ((fd >= 0 ? fstat(fd, &s) : lstat(path, &s)) != 0) { /* set-id bits may be gone */
                rc = err_sys(ei, errno, "cannot stat '%s'", path);
                goto out;
            }
        }
    }

    if ((what & BE_ATTR_MODE) && !islnk && (s.st_mode & 07777) != (a->st.mode & 07777)) {
        mode_t m = a->st.mode & 07777;
        int r = fd >= 0 ? fchmod(fd, m) : fchmodat(AT_FDCWD, path, m, AT_SYMLINK_NOFOLLOW);
        if (r != 0 && fd < 0 && (errno == ENOTSUP || errno == ENOSYS))
            r = fchmodat(AT_FDCWD, path, m, 0); /* no /proc: lstat said not a symlink */
        if (r != 0) {
            rc = err_sys(ei, errno, "cannot change permissions of '%s'", path);
            goto out;
        }
    }

    if ((what & BE_ATTR_XATTR) && !islnk) {
        for (size_t i = 0; i < a->nxattrs; i++) {
            const struct be_xattr *x = &a->xattrs[i];
            if (!xattr_name_ok(x->name))
                continue;
            size_t clen = 0;
            if (fd < 0 && lx_xattr_get(-1, path, x->name, &cv, &clen) == 0 &&
                clen == x->len && (x->len == 0 || memcmp(cv, x->value, x->len) == 0)) {
                free(cv);
                cv = NULL;
                continue;
            }
            free(cv);
            cv = NULL;
            int e = lx_xattr_set(fd, path, x->name, x->value, x->len);
            if (e && xattr_priv_ns(x->name) && (e == EPERM || e == ENOTSUP || e == EACCES))
                continue; /* trusted./security.: kept only where permitted */
            if (e) {
                rc = err_sys(ei, e, "cannot set xattr '%s' of '%s'", x->name, path);
                goto out;
            }
        }
    }

    if ((what & BE_ATTR_ACL) && !islnk) {
        rc = apply_acl(fd, path, isdir, a->acl, ei);
        if (rc != ERR_OK)
            goto out;
    }

    if (what & BE_ATTR_TIMES) {
        int64_t cm = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
        int64_t ca = (int64_t)s.st_atim.tv_sec * 1000000000 + s.st_atim.tv_nsec;
        if (cm != a->st.mtime_ns || ca != a->st.atime_ns) {
            struct timespec ts[2];
            int64_t v[2] = {a->st.atime_ns, a->st.mtime_ns};
            for (int i = 0; i < 2; i++) {
                int64_t sec = v[i] / 1000000000, ns = v[i] % 1000000000;
                if (ns < 0) {
                    ns += 1000000000;
                    sec--;
                }
                ts[i].tv_sec = (time_t)sec;
                ts[i].tv_nsec = (long)ns;
            }
            if ((fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW)) != 0) {
                rc = err_sys(ei, errno, "cannot set times of '%s'", path);
                goto out;
            }
        }
    }
out:
    free(cv);
    return rc;
}

int l_wsetattr(struct be_file *w, const struct be_attrs *a, unsigned what,
               struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    local_trim_prealloc(lf, NULL);
    return apply_attrs(lf->fd, lf->path, a, what, ei);
}

int l_setattr(struct be_fs *fs, const char *path, const struct be_attrs *a,
              unsigned what, struct errinfo *ei)
{
    return apply_attrs(-1, path, a, what, ei);
}

int l_getattrs(struct be_fs *fs, const char *path, unsigned what,
               struct be_attrs *out, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *names = NULL;
    size_t nlen = 0;
    struct stat s;
    out->xattrs = NULL;
    out->nxattrs = 0;
    out->acl = NULL;
    if (lstat(path, &s) != 0) {
        rc = err_sys(ei, errno, "cannot stat '%s'", path);
        goto out;
    }
    if (what & BE_ATTR_XATTR) {
        int e = lx_xattr_list(-1, path, &names, &nlen);
        if (e == E2BIG) {
            rc = err_setx(ei, ERR_LIMIT, "cannot read xattrs of '%s': more than %u bytes of names",
                          path, LX_XATTR_TOTAL_MAX);
            goto out;
        }
        if (e && e != ENOTSUP && e != ENODATA) {
            rc = err_sys(ei, e, "cannot read xattrs of '%s'", path);
            goto out;
        }
        size_t count = 0, total = 0;
        for (size_t i = 0; i < nlen; i += strlen(names + i) + 1)
            count++;
        if (count) {
            out->xattrs = calloc(count, sizeof *out->xattrs);
            if (!out->xattrs)
                goto nomem;
        }
        for (size_t i = 0; i < nlen; i += strlen(names + i) + 1) {
            const char *nm = names + i;
            if (!xattr_name_ok(nm))
                continue;
            struct be_xattr *x = &out->xattrs[out->nxattrs];
            e = lx_xattr_get(-1, path, nm, &x->value, &x->len);
            if (e == ENODATA)
                continue; /* removed meanwhile */
            if (e == E2BIG || (!e && (total += x->len) > LX_XATTR_TOTAL_MAX)) {
                free(x->value);
                x->value = NULL;
                rc = err_setx(ei, ERR_LIMIT, "cannot read xattr '%s' of '%s': value too large",
                              nm, path);
                goto out;
            }
            if (e) {
                rc = err_sys(ei, e, "cannot read xattr '%s' of '%s'", nm, path);
                goto out;
            }
            x->name = strdup(nm);
            out->nxattrs++;
            if (!x->name)
                goto nomem;
        }
    }
    if ((what & BE_ATTR_ACL) && !S_ISLNK(s.st_mode))
        rc = acl_text_of(path, S_ISDIR(s.st_mode), &out->acl, ei);
    goto out;
nomem:
    rc = err_setx(ei, ERR_NOMEM, "cannot read attributes of '%s': out of memory", path);
out:
    if (rc != ERR_OK)
        be_attrs_release(out);
    free(names);
    return rc;
}

/* distcp metadata: xattr "user.distcp.<key>". */
static int meta_name(const char *key, char *buf, size_t n, const char *path,
                     struct errinfo *ei)
{
    if (!key[0] || strlen(key) > META_KEY_MAX)
        return err_setx(ei, ERR_INVAL, "bad metadata key '%s' for '%s'", key, path);
    snprintf(buf, n, META_PREFIX "%s", key);
    return ERR_OK;
}

static int meta_err(int e, const char *verb, const char *key, const char *path,
                    struct errinfo *ei)
{
    if (e == ENODATA)
        return err_setx(ei, ERR_NOT_FOUND, "cannot %s metadata '%s' of '%s': none recorded",
                        verb, key, path);
    if (e == E2BIG)
        return err_setx(ei, ERR_LIMIT, "cannot %s metadata '%s' of '%s': value too large",
                        verb, key, path);
    int rc = err_sys(ei, e, "cannot %s metadata '%s' of '%s'", verb, key, path);
    if (e == ENOTSUP || e == EOPNOTSUPP) {
        rc = ERR_UNSUPPORTED;
        if (ei)
            ei->code = rc;
    }
    return rc;
}

int l_getmeta(struct be_fs *fs, const char *path, const char *key,
              char **value, struct errinfo *ei)
{
    char name[sizeof META_PREFIX + META_KEY_MAX];
    unsigned char *v = NULL;
    size_t len = 0;
    *value = NULL;
    int rc = meta_name(key, name, sizeof name, path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_get(-1, path, name, &v, &len);
    if (e)
        return meta_err(e, "read", key, path, ei);
    *value = (char *)v;
    return ERR_OK;
}

int l_setmeta(struct be_fs *fs, const char *path, const char *key,
              const char *value, struct errinfo *ei)
{
    char name[sizeof META_PREFIX + META_KEY_MAX];
    int rc = meta_name(key, name, sizeof name, path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_set(-1, path, name, value, strlen(value));
    return e ? meta_err(e, "set", key, path, ei) : ERR_OK;
}

int l_wsetmeta(struct be_file *w, const char *key, const char *value,
               struct errinfo *ei)
{
    struct local_file *lf = lf_of(w);
    char name[sizeof META_PREFIX + META_KEY_MAX];
    int rc = meta_name(key, name, sizeof name, lf->path, ei);
    if (rc != ERR_OK)
        return rc;
    int e = lx_xattr_set(lf->fd, lf->path, name, value, strlen(value));
    return e ? meta_err(e, "set", key, lf->path, ei) : ERR_OK;
}

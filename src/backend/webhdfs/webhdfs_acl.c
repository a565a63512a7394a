/* webhdfs_acl.c - ACLs for -pa over WebHDFS (GETACLSTATUS / SETACL /
 * REMOVEACL, protocols.md §1.4); see the text form below. Thread-safe: no
 * state beyond the calls. */
#include "backend/webhdfs/webhdfs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ACLs (GETACLSTATUS / SETACL / REMOVEACL, §1.4) ------------------------------
 * distcp's text form is the whole ACL, POSIX style: "user::rwx,user:bob:r--,
 * group::r-x,mask::r-x,other::---[,default:...]", or NULL when the ACL is
 * only the permission bits. HDFS lists only the extended entries (named
 * users and groups, the unnamed group of an extended ACL, default entries);
 * the base bits come from the permission, whose group bits are the mask. */

#define WH_ACL_MAX (64u << 10)

static void rwx(unsigned bits, char out[4])
{
    out[0] = bits & 4 ? 'r' : '-';
    out[1] = bits & 2 ? 'w' : '-';
    out[2] = bits & 1 ? 'x' : '-';
    out[3] = 0;
}

int wh_get_acl(struct wh_fs *fs, const char *path, char **out, struct errinfo *ei)
{
    json_t *j = NULL, *e;
    char *buf = NULL;
    size_t i, len = 0;
    int rc = wh_nn_call(fs, "GET", path, "GETACLSTATUS", NULL, "read the ACL of", &j, NULL, 0, ei);
    *out = NULL;
    if (rc)
        goto out;
    json_t *st = json_object_get(j, "AclStatus");
    json_t *ents = json_object_get(st, "entries");
    const char *perm = json_string_value(json_object_get(st, "permission"));
    if (!json_is_array(ents) || !perm) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot read the ACL of '%s': malformed AclStatus", path);
        goto out;
    }
    if (json_array_size(ents) == 0)
        goto out; /* only the permission bits */
    unsigned mode = (unsigned)strtoul(perm, NULL, 8);
    bool access_ext = false;
    json_array_foreach(ents, i, e) {
        const char *t = json_string_value(e);
        if (t && strncmp(t, "default:", 8))
            access_ext = true;
    }
    if (!(buf = malloc(WH_ACL_MAX))) {
        rc = err_set(ei, ERR_NOMEM, "cannot read the ACL of '%s'", path);
        goto out;
    }
    char b[4];
    rwx(mode >> 6, b);
    len = (size_t)snprintf(buf, WH_ACL_MAX, "user::%s", b);
    bool have_group = false;
    json_array_foreach(ents, i, e) {  /* access entries first, then defaults */
        const char *t = json_string_value(e);
        if (!t || !strncmp(t, "default:", 8))
            continue;
        have_group |= !strncmp(t, "group::", 7);
        len += (size_t)snprintf(buf + len, len < WH_ACL_MAX ? WH_ACL_MAX - len : 0, ",%s", t);
    }
    rwx(mode >> 3, b);
    if (access_ext)
        len += (size_t)snprintf(buf + len, len < WH_ACL_MAX ? WH_ACL_MAX - len : 0, "%s%s,mask::%s",
                                have_group ? "" : ",group::", have_group ? "" : b, b);
    else
        len += (size_t)snprintf(buf + len, len < WH_ACL_MAX ? WH_ACL_MAX - len : 0, ",group::%s", b);
    rwx(mode, b);
    len += (size_t)snprintf(buf + len, len < WH_ACL_MAX ? WH_ACL_MAX - len : 0, ",other::%s", b);
    json_array_foreach(ents, i, e) {
        const char *t = json_string_value(e);
        if (t && !strncmp(t, "default:", 8))
            len += (size_t)snprintf(buf + len, len < WH_ACL_MAX ? WH_ACL_MAX - len : 0, ",%s", t);
    }
    if (len >= WH_ACL_MAX) {
        rc = err_setx(ei, ERR_LIMIT, "cannot read the ACL of '%s': longer than %u bytes", path,
                      WH_ACL_MAX);
        goto out;
    }
    *out = buf;
    buf = NULL;
out:
    free(buf);
    json_decref(j);
    return rc;
}

/* Make path's ACL `text` (NULL: only the permission bits). */
int wh_set_acl(struct wh_fs *fs, const char *path, const char *text, struct errinfo *ei)
{
    char *q = NULL;
    int rc;
    if (!text || !*text)
        return wh_nn_call(fs, "PUT", path, "REMOVEACL", NULL, "remove the ACL of", NULL, NULL, 0,
                       ei);
    if (!(q = wh_qparam("aclspec", text)))
        return err_set(ei, ERR_NOMEM, "cannot set the ACL of '%s'", path);
    rc = wh_nn_call(fs, "PUT", path, "SETACL", q, "set the ACL of", NULL, NULL, 0, ei);
    free(q);
    return rc;
}

/* webhdfs_snap.c - the snapshot extension (backend.h struct
 * be_snapshot_ops) over WebHDFS. Thread-safe: no state beyond the calls. */
#include "backend/webhdfs/webhdfs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Snapshots (§1.4: ALLOW/DISALLOWSNAPSHOT, CREATESNAPSHOT, DELETESNAPSHOT,
 * RENAMESNAPSHOT, GETSNAPSHOTDIFF, GETSNAPSHOTTABLEDIRECTORYLIST) ---------- */

static int snap_allow(struct be_fs *f, const char *dir, bool allow, struct errinfo *ei)
{
    return wh_nn_call(fs_of(f), "PUT", dir, allow ? "ALLOWSNAPSHOT" : "DISALLOWSNAPSHOT", NULL,
                   allow ? "allow snapshots of" : "disallow snapshots of", NULL, NULL, 0, ei);
}

/* SnapshotException "already a snapshot with the same name" is ERR_EXISTS,
 * "does not exist" ERR_NOT_FOUND (the server says so only in the message). */
static int snap_code(int rc, struct errinfo *ei)
{
    if (rc == ERR_IO && ei && strstr(ei->msg, "SnapshotException")) {
        if (strstr(ei->msg, "already a snapshot") || strstr(ei->msg, "already exists"))
            rc = ei->code = ERR_EXISTS;
        else if (strstr(ei->msg, "does not exist") || strstr(ei->msg, "not exist"))
            rc = ei->code = ERR_NOT_FOUND;
    }
    return rc;
}

static int snap_create(struct be_fs *f, const char *dir, const char *name, char *path,
                       size_t n, struct errinfo *ei)
{
    char *q = name && *name ? wh_qparam("snapshotname", name) : strdup("");
    json_t *j = NULL;
    int rc;
    if (!q)
        return err_set(ei, ERR_NOMEM, "cannot create a snapshot of '%s'", dir);
    rc = snap_code(wh_nn_call(fs_of(f), "PUT", dir, "CREATESNAPSHOT", q, "create a snapshot of",
                           &j, NULL, 0, ei), ei);
    if (rc == ERR_OK) {
        const char *pv = json_string_value(json_object_get(j, "Path"));
        if (!pv)
            rc = err_setx(ei, ERR_PROTOCOL, "cannot create a snapshot of '%s': answer "
                          "without Path", dir);
        else if (path && n)  /* through a gateway: the store path keeps dir's prefix */
            snprintf(path, n, "%.*s%s", (int)wh_gw_prefix_len(fs_of(f), dir), dir, pv);
    }
    json_decref(j);
    free(q);
    return rc;
}

static int snap_remove(struct be_fs *f, const char *dir, const char *name, struct errinfo *ei)
{
    char *q = wh_qparam("snapshotname", name);
    int rc;
    if (!q)
        return err_set(ei, ERR_NOMEM, "cannot delete snapshot '%s' of '%s'", name, dir);
    rc = snap_code(wh_nn_call(fs_of(f), "DELETE", dir, "DELETESNAPSHOT", q, "delete a snapshot of",
                           NULL, NULL, 0, ei), ei);
    free(q);
    return rc;
}

static int snap_rename(struct be_fs *f, const char *dir, const char *from, const char *to,
                       struct errinfo *ei)
{
    char *a = wh_qparam("oldsnapshotname", from), *b = wh_qparam("snapshotname", to), *q = NULL;
    int rc;
    if (!a || !b || asprintf(&q, "%s%s", a, b) < 0) {
        q = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot rename snapshot '%s' of '%s'", from, dir);
        goto out;
    }
    rc = snap_code(wh_nn_call(fs_of(f), "PUT", dir, "RENAMESNAPSHOT", q, "rename a snapshot of",
                           NULL, NULL, 0, ei), ei);
out:
    free(a);
    free(b);
    free(q);
    return rc;
}

static int snap_diff(struct be_fs *f, const char *dir, const char *from, const char *to,
                     be_diff_cb cb, void *arg, struct errinfo *ei)
{
    char *a = wh_qparam("oldsnapshotname", from), *b = wh_qparam("snapshotname", to ? to : "");
    char *q = NULL;
    json_t *j = NULL, *e;
    size_t i;
    int rc;
    if (!a || !b || asprintf(&q, "%s%s", a, b) < 0) {
        q = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot diff snapshots of '%s'", dir);
        goto out;
    }
    if ((rc = snap_code(wh_nn_call(fs_of(f), "GET", dir, "GETSNAPSHOTDIFF", q,
                                "diff snapshots of", &j, NULL, 0, ei), ei)))
        goto out;
    json_t *list = json_object_get(json_object_get(j, "SnapshotDiffReport"), "diffList");
    if (!json_is_array(list)) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot diff snapshots of '%s': answer without "
                      "SnapshotDiffReport.diffList", dir);
        goto out;
    }
    json_array_foreach(list, i, e) {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *sp = json_string_value(json_object_get(e, "sourcePath"));
        const char *tp = json_string_value(json_object_get(e, "targetPath"));
        enum be_diff_type type = !t ? 0 : !strcmp(t, "CREATE") ? BE_DIFF_CREATE
                               : !strcmp(t, "MODIFY") ? BE_DIFF_MODIFY
                               : !strcmp(t, "DELETE") ? BE_DIFF_DELETE
                               : !strcmp(t, "RENAME") ? BE_DIFF_RENAME : 0;
        if (!type || !sp || (type == BE_DIFF_RENAME && !tp)) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot diff snapshots of '%s': malformed diff "
                          "entry %zu", dir, i);
            goto out;
        }
        if ((rc = cb(arg, type, sp, type == BE_DIFF_RENAME ? tp : NULL)))
            goto out;
    }
out:
    json_decref(j);
    free(a);
    free(b);
    free(q);
    return rc;
}

static int snap_dirs(struct be_fs *f, be_snapdir_cb cb, void *arg, struct errinfo *ei)
{
    json_t *j = NULL, *e;
    size_t i;
    struct wh_fs *fs = fs_of(f);
    int rc = ERR_OK;
    if (fs->gateway)  /* its store paths carry a topology prefix this call cannot know */
        return err_setx(ei, ERR_UNSUPPORTED, "cannot list snapshottable directories through "
                        "the gateway '%s': use the gateway URL of a directory with the other "
                        "snapshot operations", fs->head.authority);
    if ((rc = wh_nn_call(fs, "GET", "/", "GETSNAPSHOTTABLEDIRECTORYLIST", NULL,
                      "list snapshottable directories under", &j, NULL, 0, ei)))
        goto out;
    json_t *list = json_object_get(j, "SnapshottableDirectoryList");
    if (json_is_null(list))
        goto out;
    if (!json_is_array(list)) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot list snapshottable directories: malformed "
                      "answer");
        goto out;
    }
    json_array_foreach(list, i, e) {
        json_t *ds = json_object_get(e, "dirStatus");
        const char *parent = json_string_value(json_object_get(e, "parentFullPath"));
        const char *name = json_string_value(json_object_get(ds, "pathSuffix"));
        struct be_stat st;
        char *full = NULL;
        if (!json_is_object(ds) || !name) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot list snapshottable directories: malformed "
                          "entry %zu", i);
            goto out;
        }
        wh_fill_stat(ds, &st);
        if (!parent || !*name)
            full = strdup("/");
        else if (asprintf(&full, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name) < 0)
            full = NULL;
        if (!full) {
            rc = err_set(ei, ERR_NOMEM, "cannot list snapshottable directories");
            goto out;
        }
        rc = cb(arg, full, &st);
        free(full);
        if (rc)
            goto out;
    }
out:
    json_decref(j);
    return rc;
}

const struct be_snapshot_ops wh_snapshots = {
    .allow = snap_allow,
    .create = snap_create,
    .remove = snap_remove,
    .rename = snap_rename,
    .diff = snap_diff,
    .dirs = snap_dirs,
};

/* webhdfs_read.c - status, listing and reading for the WebHDFS backend:
 * GETFILESTATUS, LISTSTATUS_BATCH paged with startAfter (LISTSTATUS when
 * the server has no batches), and readers doing ranged OPENs into a
 * read-ahead buffer (docs/protocols.md §2.2, §2.3).
 *
 * Threading: a reader is used by one thread at a time. */
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

/* Status ------------------------------------------------------------------- */

void wh_fill_stat(const json_t *o, struct be_stat *st)
{
    memset(st, 0, sizeof *st);
    const char *t = json_string_value(json_object_get(o, "type"));
    st->type = !t ? BE_OTHER : !strcmp(t, "FILE") ? BE_FILE : !strcmp(t, "DIRECTORY") ? BE_DIR
             : !strcmp(t, "SYMLINK") ? BE_SYMLINK : BE_OTHER;
    st->size = (uint64_t)json_integer_value(json_object_get(o, "length"));
    st->mtime_ns = json_integer_value(json_object_get(o, "modificationTime")) * 1000000;
    st->atime_ns = json_integer_value(json_object_get(o, "accessTime")) * 1000000;
    const char *p = json_string_value(json_object_get(o, "permission"));
    st->mode = p ? (uint32_t)strtoul(p, NULL, 8) & 07777 : 0;
    const char *ow = json_string_value(json_object_get(o, "owner"));
    const char *gr = json_string_value(json_object_get(o, "group"));
    snprintf(st->owner, sizeof st->owner, "%s", ow ? ow : "");
    snprintf(st->group, sizeof st->group, "%s", gr ? gr : "");
    /* names ride through the engine's numeric fields as pseudo ids (idmap.h) */
    st->uid = idmap_intern(ow);
    st->gid = idmap_intern(gr);
    st->blocksize = (uint64_t)json_integer_value(json_object_get(o, "blockSize"));
    st->replication = (uint16_t)json_integer_value(json_object_get(o, "replication"));
    st->ino = (uint64_t)json_integer_value(json_object_get(o, "fileId"));
    st->nlink = 1;
    if (st->type == BE_SYMLINK) {
        const char *l = json_string_value(json_object_get(o, "symlink"));
        st->size = l ? strlen(l) : 0;
    }
}

int wh_stat(struct be_fs *f, const char *path, struct be_stat *st, struct errinfo *ei)
{
    json_t *j = NULL;
    int rc = wh_nn_call(fs_of(f), "GET", path, "GETFILESTATUS", NULL, "stat", &j, NULL, 0, ei);
    if (rc)
        goto out;
    json_t *o = j ? json_object_get(j, "FileStatus") : NULL;
    if (!json_is_object(o)) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot stat '%s': answer without FileStatus", path);
        goto out;
    }
    wh_fill_stat(o, st);
out:
    json_decref(j);
    return rc;
}

/* Listing ------------------------------------------------------------------ */

/* Deliver one array of FileStatus maps. *last gets the last name (malloc'd). */
static int deliver(const char *path, json_t *arr, bool first_page, be_list_cb cb, void *arg,
                   char **last, struct errinfo *ei)
{
    size_t i, n = json_array_size(arr);
    json_t *o;
    struct be_stat st;
    if (first_page && n == 1) {
        const char *s = json_string_value(json_object_get(json_array_get(arr, 0), "pathSuffix"));
        if (s && !*s)
            return err_set(ei, ERR_NOT_DIR, "cannot list '%s'", path);
    }
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "pathSuffix"));
        if (!name || !*name)
            return err_setx(ei, ERR_PROTOCOL, "cannot list '%s': entry without a name", path);
        wh_fill_stat(o, &st);
        int rc = cb(arg, name, strlen(name), &st);
        if (rc)
            return rc;
        if (i + 1 == n) {
            free(*last);
            if (!(*last = strdup(name)))
                return err_set(ei, ERR_NOMEM, "cannot list '%s'", path);
        }
    }
    return ERR_OK;
}

int wh_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
            struct errinfo *ei)
{
    struct wh_fs *fs = fs_of(f);
    int rc = ERR_OK;
    json_t *j = NULL;
    char *last = NULL, *extra = NULL;
    char exc[128];
    for (bool first = true;; first = false) {
        free(extra);
        extra = NULL;
        if (last && !(extra = wh_qparam("startAfter", last))) {
            rc = err_set(ei, ERR_NOMEM, "cannot list '%s'", path);
            goto out;
        }
        json_decref(j);
        rc = wh_nn_call(fs, "GET", path, "LISTSTATUS_BATCH", extra, "list", &j, exc, sizeof exc, ei);
        if (rc == ERR_UNSUPPORTED && first) {
            rc = wh_nn_call(fs, "GET", path, "LISTSTATUS", NULL, "list", &j, NULL, 0, ei);
            if (rc)
                goto out;
            json_t *arr = json_object_get(json_object_get(j, "FileStatuses"), "FileStatus");
            if (!json_is_array(arr)) {
                rc = err_setx(ei, ERR_PROTOCOL, "cannot list '%s': bad LISTSTATUS answer", path);
                goto out;
            }
            rc = deliver(path, arr, true, cb, arg, &last, ei);
            goto out;
        }
        if (rc)
            goto out;
        json_t *dl = json_object_get(j, "DirectoryListing");
        json_t *arr = json_object_get(json_object_get(json_object_get(dl, "partialListing"),
                                                      "FileStatuses"), "FileStatus");
        json_t *rem = json_object_get(dl, "remainingEntries");
        if (!json_is_array(arr) || !json_is_integer(rem)) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot list '%s': bad LISTSTATUS_BATCH answer",
                          path);
            goto out;
        }
        if ((rc = deliver(path, arr, first, cb, arg, &last, ei)))
            goto out;
        if (json_integer_value(rem) <= 0 || json_array_size(arr) == 0)
            break;
    }
out:
    json_decref(j);
    free(extra);
    free(last);
    return rc;
}

/* Reading ------------------------------------------------------------------ */

int wh_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
                 struct errinfo *ei)
{
    struct be_stat st;
    struct wh_reader *r = NULL;
    int rc = wh_stat(f, path, &st, ei);
    *out = NULL;
    if (rc)
        goto out;
    if (st.type == BE_DIR) {
        rc = err_set(ei, ERR_IS_DIR, "cannot open '%s'", path);
        goto out;
    }
    if (!(r = calloc(1, sizeof *r)) || !(r->path = strdup(path))) {
        rc = err_set(ei, ERR_NOMEM, "cannot open '%s'", path);
        goto out;
    }
    r->fs = fs_of(f);
    r->pos = off;
    r->size = st.size;
    *out = (struct be_file *)r;
    r = NULL;
out:
    if (r)
        free(r->path);
    free(r);
    return rc;
}

int wh_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei)
{
    struct wh_reader *r = (struct wh_reader *)f;
    struct http_resp resp = {0};
    char *extra = NULL;
    int rc = ERR_OK;
    *got = 0;
    if (r->ra_used < r->ra.len) {
        size_t k = r->ra.len - r->ra_used;
        if (k > n)
            k = n;
        memcpy(buf, r->ra.body + r->ra_used, k);
        r->ra_used += k;
        r->pos += k;
        *got = k;
        goto out;
    }
    if (r->pos >= r->size || n == 0)
        goto out;
    uint64_t want = r->size - r->pos;
    if (want > (n > WH_READAHEAD ? n : WH_READAHEAD))
        want = n > WH_READAHEAD ? n : WH_READAHEAD;
    if (want > WH_READ_MAX)
        want = WH_READ_MAX;
    http_resp_free(&r->ra);
    r->ra_used = 0;
    if (asprintf(&extra, "&offset=%llu&length=%llu", (unsigned long long)r->pos,
                 (unsigned long long)want) < 0) {
        extra = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot read '%s'", r->path);
        goto out;
    }
    if ((rc = wh_data_call(r->fs, "GET", r->path, "OPEN", extra, NULL, 0, (size_t)want, "read",
                        &resp, ei)))
        goto out;
    if (resp.len > want) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot read '%s': %zu bytes answered for %llu asked",
                      r->path, resp.len, (unsigned long long)want);
        goto out;
    }
    if (resp.len == 0) {
        r->size = r->pos; /* the file shrank: end of file here */
        goto out;
    }
    *got = resp.len < n ? resp.len : n;
    memcpy(buf, resp.body, *got);
    r->pos += *got;
    r->ra = resp;  /* keep the rest */
    r->ra_used = *got;
    memset(&resp, 0, sizeof resp);
out:
    http_resp_free(&resp);
    free(extra);
    return rc;
}

void wh_close_read(struct be_file *f)
{
    struct wh_reader *r = (struct wh_reader *)f;
    if (!r)
        return;
    http_resp_free(&r->ra);
    free(r->path);
    free(r);
}

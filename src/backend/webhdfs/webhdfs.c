/* webhdfs.c - the WebHDFS backend (schemes "webhdfs", "swebhdfs", "hdfs" and
 * gateway URLs): auth (simple user.name, Basic, Kerberos SPNEGO, delegation
 * tokens), retries (util/retry.h's policy), HA failover, GETFILECHECKSUM, ACLs, CONCAT-
 * assembled parallel writes, snapshots.
 *
 * Addresses: webhdfs://h1:p1[,h2:p2...]/path lists the NameNodes of an HA
 * pair (a StandbyException moves to the next). hdfs://<authority>/path uses
 * -D dfs.namenode.http-address.<authority>, then -D dfs.namenode.http-address
 * (each "host:port[,host:port]"), else <authority's host>:9870.
 * Retry knobs: -D distcp.webhdfs.retry.base.ms / .attempts or env
 * DISTCP_WEBHDFS_RETRY_BASE_MS / DISTCP_WEBHDFS_RETRY_ATTEMPTS (500 ms, 4).
 *
 * Every slot is one or a few REST calls against the NameNode at
 * http://<authority>/webhdfs/v1 (protocols.md §1). Data ops (OPEN, CREATE,
 * APPEND, GETFILECHECKSUM) are two-step: the NameNode answers 307 + Location,
 * the DataNode URL does the work (redirects handled by hand, http.c never
 * follows).
 *
 * Reads: ranged OPENs (offset, length = max(n, WH_READAHEAD)) into a
 * read-ahead buffer - simple and correct, at the cost of one NameNode + one
 * DataNode round trip per 4 MiB (or per read() when the caller asks more).
 * Writes: the temp `<tmp_dir or parent>/.distcp.tmp.<tag>` is created with
 * its first buffered bytes (WH_WBUF; CREATE overwrite), APPEND after (-direct
 * claims the final name at create()); commit = RENAME with
 * renameoptions=OVERWRITE (never over a directory: ERR_IS_DIR); abort =
 * DELETE of the temp. Writes at other offsets (BE_CAP_CONCAT_WRITE) become
 * part files CONCATenated at finish. Owner/group names ride the engine's
 * numeric ids as util/idmap pseudo ids.
 * distcp metadata lives in xattrs "user.distcp.<key>" (hex-encoded).
 *
 * Threading: a wh_fs is immutable after open except the delegation token
 * (tok_lock) and the active NameNode (atomic), so every slot may run from
 * many threads; a reader is used by one thread at a time, a writer's parts
 * by one thread each (plock routes writes). */
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

static atomic_uint g_tmp_seq;
extern const struct backend_ops backend_webhdfs;


/* URLs and calls ----------------------------------------------------------- */

/* bases[nn] + escaped path + "?op=OP&user.name=U" + extra ("&k=v", escaped). */
/* The token ops authenticate by Kerberos, never with a delegation= (400). */
static bool token_op(const char *op)
{
    return strstr(op, "DELEGATIONTOKEN") != NULL;
}

/* bases[nn] + escaped path + "?op=OP" + identity + extra ("&k=v", escaped).
 * Identity: delegation=<token> when there is one, else user.name=U (simple
 * auth; not with Kerberos or through a gateway). *gen gets the token's
 * generation (may be NULL). */
static char *mkurl(struct wh_fs *fs, unsigned nn, const char *path, const char *op,
                   const char *extra, unsigned *gen)
{
    char *ep = http_escape(path, 1), *u = NULL;
    const char *idk = "", *idv = "";
    bool locked = false;
    if (fs->use_token && !token_op(op)) {
        pthread_mutex_lock(&fs->tok_lock);
        locked = true;
        idk = "&delegation=";
        idv = fs->token;
        if (gen)
            *gen = fs->token_gen;
    } else if (fs->user && !fs->kerberos) {
        idk = "&user.name=";
        idv = fs->user;
    }
    if (ep && asprintf(&u, "%s%s?op=%s%s%s%s", fs->bases[nn], ep, op, idk, idv,
                       extra ? extra : "") < 0)
        u = NULL;
    if (locked)
        pthread_mutex_unlock(&fs->tok_lock);
    free(ep);
    return u;
}

/* A call made with token generation `gen` was told InvalidToken: renew the
 * token (RENEWDELEGATIONTOKEN over SPNEGO), else fetch a new one. true when
 * the caller may retry (also when another thread refreshed it meanwhile). */
static bool refresh_token(struct wh_fs *fs, unsigned gen)
{
    json_t *j = NULL;
    char *q = NULL;
    bool ok = false;
    if (!fs->token_owned)
        return false;
    pthread_mutex_lock(&fs->tok_lock);
    if (fs->token_gen != gen) {
        ok = true;
        goto out;
    }
    if (asprintf(&q, "&token=%s", fs->token) < 0) {
        q = NULL;
        goto out;
    }
    if (wh_nn_call(fs, "PUT", "/", "RENEWDELEGATIONTOKEN", q, "renew the delegation token for",
                NULL, NULL, 0, NULL) == ERR_OK) {
        ok = true;
    } else if (wh_nn_call(fs, "GET", "/", "GETDELEGATIONTOKEN", NULL,
                       "get a delegation token for", &j, NULL, 0, NULL) == ERR_OK) {
        const char *t = json_string_value(json_object_get(json_object_get(j, "Token"),
                                                          "urlString"));
        char *e = t ? http_escape(t, 0) : NULL;
        if (e) {
            free(fs->token);
            fs->token = e;
            ok = true;
        }
    }
    if (ok)
        fs->token_gen++;
out:
    pthread_mutex_unlock(&fs->tok_lock);
    json_decref(j);
    free(q);
    return ok;
}

/* An error answer: parse RemoteException, map to a code, fill ei with
 * "cannot <verb> '<path>': <message>". exc receives the exception name. */
static int map_error(const struct http_resp *r, const char *verb, const char *path,
                     char *exc, size_t excn, struct errinfo *ei)
{
    const char *name = "", *msg = "";
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    json_t *re = j ? json_object_get(j, "RemoteException") : NULL;
    if (re) {
        const char *n = json_string_value(json_object_get(re, "exception"));
        const char *m = json_string_value(json_object_get(re, "message"));
        name = n ? n : "";
        msg = m ? m : "";
    }
    if (exc)
        snprintf(exc, excn, "%s", name);
    int code;
    if (!strcmp(name, "FileNotFoundException") || r->status == 404)
        code = ERR_NOT_FOUND;
    else if (!strcmp(name, "AccessControlException"))
        code = ERR_ACCESS;
    else if (!strcmp(name, "FileAlreadyExistsException"))
        code = ERR_EXISTS;
    else if (!strcmp(name, "ParentNotDirectoryException"))
        code = ERR_NOT_DIR;
    else if (!strcmp(name, "PathIsNotEmptyDirectoryException"))
        code = ERR_NOT_EMPTY;
    else if (!strcmp(name, "StandbyException") || !strcmp(name, "RetriableException") ||
             !strcmp(name, "SafeModeException"))
        code = ERR_BUSY;
    else if (!strcmp(name, "UnsupportedOperationException"))
        code = ERR_UNSUPPORTED;
    else if (!strcmp(name, "SecurityException") || !strcmp(name, "InvalidToken") ||
             !strcmp(name, "AuthorizationException") || r->status == 401)
        code = ERR_AUTH;
    else if (!strcmp(name, "IllegalArgumentException"))
        code = ERR_INVAL;
    else if (!strcmp(name, "DSQuotaExceededException") ||
             !strcmp(name, "NSQuotaExceededException"))
        code = ERR_NO_SPACE;
    else if (r->status >= 500)
        code = ERR_IO;
    else if (re)
        code = ERR_IO;
    else
        code = ERR_PROTOCOL;
    if (re)
        err_setx(ei, code, "cannot %s '%s': %s%s%s", verb, path, name, *msg ? ": " : "", msg);
    else
        err_setx(ei, code, "cannot %s '%s': HTTP %ld", verb, path, r->status);
    if (ei)
        ei->http_status = (int)r->status;
    json_decref(j);
    return code;
}

/* Retries -------------------------------------------------------------------
 * A call is retried under fs->retry (util/retry.h, docs/protocols.md §4: at
 * most fs->retry.attempts attempts, jittered exponential delays from
 * retry.base_ms, a Retry-After honoured up to the cap) on transport failures
 * (connect, timeout, reset), on 5xx answers whose RemoteException is not a
 * definite one (mapped ERR_IO/ERR_BUSY), and on RetriableException/
 * SafeModeException. Never on other 4xx. WebHDFS's own rule on top: a
 * StandbyException (or a refused connection) moves `active` to the next
 * NameNode of the authority list and tries again at once; a full turn of
 * the list costs one delay. When the attempts run out on a transient
 * failure, ei->retried tells the engine not to retry it again. */

static bool transport_retriable(int rc)
{
    return rc == ERR_CONN || rc == ERR_TIMEOUT || rc == ERR_IO;
}

static bool answer_retriable(long status, int code, const char *exc)
{
    if (!strcmp(exc, "RetriableException") || !strcmp(exc, "SafeModeException"))
        return true;
    return status >= 500 && (code == ERR_IO || code == ERR_BUSY);
}

/* Does url have the scheme://authority/ of base? Credentials go only there
 * (a DataNode is another origin; a gateway's data URL is the same). */
static bool same_origin(const char *base, const char *url)
{
    const char *a = strstr(base, "://");
    if (!a)
        return false;
    const char *e = strchr(a + 3, '/');
    size_t n = e ? (size_t)(e - base) : strlen(base);
    return strncasecmp(base, url, n) == 0 && (url[n] == '/' || url[n] == 0 || url[n] == '?');
}

/* Decide what the failed attempt `attempt` (0-based) leads to: true = try
 * again (after failing over and/or sleeping as needed). retry_after: the
 * answer's Retry-After header or NULL. */
static bool next_attempt(struct wh_fs *fs, unsigned nn, unsigned attempt, bool standby,
                         bool retriable, bool conn_refused, const char *retry_after,
                         struct errinfo *ei)
{
    bool again = false;
    bool failover = (standby || conn_refused) && fs->nbases > 1;
    unsigned turn = fs->nbases > 1 ? fs->nbases : 1;
    unsigned ra = retry_after_parse(retry_after);
    if (attempt + 1 >= fs->retry.attempts * turn)
        goto give_up;
    if (failover) {
        unsigned want = (nn + 1) % fs->nbases;
        atomic_compare_exchange_strong(&fs->active, &nn, want);
        if ((attempt + 1) % fs->nbases == 0) /* a full turn: one delay */
            retry_sleep_ms(retry_delay_ms(&fs->retry, (attempt + 1) / fs->nbases - 1, ra,
                                          retry_rand()));
        again = true;   /* else the next NameNode at once */
        goto out;
    }
    if (!retriable)
        goto out;
    if (!retry_more(&fs->retry, attempt))
        goto give_up;
    retry_sleep_ms(retry_delay_ms(&fs->retry, attempt, ra, retry_rand()));
    again = true;
    goto out;
give_up:
    if ((failover || retriable) && ei)
        ei->retried = true;
out:
    return again;
}

/* One NameNode call. On 2xx: *json gets the parsed body (NULL when the body
 * is empty) when json != NULL. On an error answer: mapped code, exc set. */
int wh_nn_call(struct wh_fs *fs, const char *method, const char *path, const char *op,
               const char *extra, const char *verb, json_t **json, char *exc,
               size_t excn, struct errinfo *ei)
{
    int rc;
    struct http_resp r = {0};
    char *url = NULL;
    char name[64];
    unsigned gen = 0;
    bool refreshed = false;
    if (json)
        *json = NULL;
    if (exc && excn)
        exc[0] = 0;
    for (unsigned attempt = 0;; attempt++) {
        unsigned nn = atomic_load(&fs->active);
        free(url);
        http_resp_free(&r);
        if (!(url = mkurl(fs, nn, path, op, extra, &gen))) {
            rc = err_set(ei, ERR_NOMEM, "cannot %s '%s'", verb, path);
            goto out;
        }
        if ((rc = http_request_opts(method, url, NULL, 0, WH_JSON_MAX, path, &fs->hopts, &r,
                                    ei))) {
            if (next_attempt(fs, nn, attempt, false, transport_retriable(rc), rc == ERR_CONN,
                             NULL, ei))
                continue;
            goto out;
        }
        if (r.status >= 200 && r.status <= 299)
            break;
        rc = map_error(&r, verb, path, name, sizeof name, ei);
        if (!strcmp(name, "InvalidToken") && !refreshed && !token_op(op)) {
            refreshed = true;
            if (refresh_token(fs, gen))
                continue;
        }
        if (next_attempt(fs, nn, attempt, !strcmp(name, "StandbyException"),
                         answer_retriable(r.status, rc, name), false, r.retry_after, ei))
            continue;
        if (exc)
            snprintf(exc, excn, "%s", name);
        goto out;
    }
    if (json && r.len) {
        json_error_t je;
        *json = json_loadb(r.body, r.len, 0, &je);
        if (!*json)
            rc = err_setx(ei, ERR_PROTOCOL, "cannot %s '%s': bad JSON answer: %s", verb, path,
                          je.text);
    }
out:
    http_resp_free(&r);
    free(url);
    return rc;
}

/* A two-step data op: method on the NameNode without body, then the same
 * method on the Location with the body. *out holds the DataNode answer
 * (2xx only). HttpFS (§1.6): OPEN's first answer is the data itself; once a
 * CREATE/APPEND redirect pointed back at the server with data=true (or with
 * -D distcp.webhdfs.httpfs=true), writes send `data=true` and the bytes in
 * one request. */
int wh_data_call(struct wh_fs *fs, const char *method, const char *path, const char *op,
                 const char *extra, const void *body, size_t blen, size_t max,
                 const char *verb, struct http_resp *out, struct errinfo *ei)
{
    int rc;
    struct http_resp r = {0};
    char *url = NULL;
    char name[64];
    /* APPEND is not idempotent: once its bytes may have reached the
     * DataNode, only a refused connection is retried. */
    bool append = !strcmp(method, "POST");
    bool get = !strcmp(method, "GET");
    char *dextra = NULL;
    unsigned gen = 0;
    bool refreshed = false;
    memset(out, 0, sizeof *out);
    if (!get && asprintf(&dextra, "%s&data=true", extra ? extra : "") < 0) {
        dextra = NULL;
        rc = err_set(ei, ERR_NOMEM, "cannot %s '%s'", verb, path);
        goto out;
    }
    for (unsigned attempt = 0;; attempt++) {
        unsigned nn = atomic_load(&fs->active);
        bool direct = !get && atomic_load(&fs->httpfs);
        free(url);
        http_resp_free(&r);
        http_resp_free(out);
        if (!(url = mkurl(fs, nn, path, op, direct ? dextra : extra, &gen))) {
            rc = err_set(ei, ERR_NOMEM, "cannot %s '%s'", verb, path);
            goto out;
        }
        if ((rc = http_request_opts(method, url, direct ? body : NULL, direct ? blen : 0,
                                    get || direct ? max : WH_JSON_MAX, path, &fs->hopts, &r,
                                    ei))) {
            if (rc != ERR_LIMIT &&
                next_attempt(fs, nn, attempt, false,
                             direct && append ? rc == ERR_CONN : transport_retriable(rc),
                             rc == ERR_CONN, NULL, ei))
                continue;
            goto out;
        }
        if ((get || direct) && r.status >= 200 && r.status < 300) {
            *out = r; /* HttpFS: OPEN answers the bytes itself (§1.6) */
            memset(&r, 0, sizeof r);
            break;
        }
        if (r.status != 307 && r.status != 302 && r.status != 303) {
            if (r.status >= 200 && r.status < 300) {
                rc = err_setx(ei, ERR_PROTOCOL, "cannot %s '%s': NameNode answered %ld "
                              "without a redirect", verb, path, r.status);
                goto out;
            }
            rc = map_error(&r, verb, path, name, sizeof name, ei);
            if (!strcmp(name, "InvalidToken") && !refreshed) {
                refreshed = true;
                if (refresh_token(fs, gen))
                    continue;
            }
            if (next_attempt(fs, nn, attempt, !strcmp(name, "StandbyException"),
                             !(direct && append) && answer_retriable(r.status, rc, name),
                             false, r.retry_after, ei))
                continue;
            goto out;
        }
        if (!r.location) {
            rc = err_setx(ei, ERR_PROTOCOL, "cannot %s '%s': redirect without Location", verb,
                          path);
            goto out;
        }
        if (!get && same_origin(fs->bases[nn], r.location) && strstr(r.location, "data=true"))
            atomic_store(&fs->httpfs, true);
        if ((rc = http_request_opts(method, r.location, body, blen, max, path,
                                    same_origin(fs->bases[nn], r.location) ? &fs->hopts
                                                                           : &fs->dn_opts,
                                    out, ei))) {
            if (rc != ERR_LIMIT &&
                next_attempt(fs, nn, attempt, false,
                             append ? rc == ERR_CONN : transport_retriable(rc), false, NULL, ei))
                continue;
            goto out;
        }
        if (out->status >= 200 && out->status <= 299)
            break;
        long dn_status = out->status;
        rc = map_error(out, verb, path, name, sizeof name, ei);
        char *dn_ra = out->retry_after;
        out->retry_after = NULL;
        http_resp_free(out);
        bool again = !append && next_attempt(fs, nn, attempt, false,
                                             answer_retriable(dn_status, rc, name), false,
                                             dn_ra, ei);
        free(dn_ra);
        if (again)
            continue;
        goto out;
    }
out:
    http_resp_free(&r);
    free(url);
    free(dextra);
    return rc;
}

/* {"boolean": b} answers. */
static int nn_bool(struct wh_fs *fs, const char *method, const char *path, const char *op,
                   const char *extra, const char *verb, bool *result, char *exc, size_t excn,
                   struct errinfo *ei)
{
    json_t *j = NULL;
    int rc = wh_nn_call(fs, method, path, op, extra, verb, &j, exc, excn, ei);
    if (rc)
        goto out;
    json_t *b = j ? json_object_get(j, "boolean") : NULL;
    if (!json_is_boolean(b)) {
        rc = err_setx(ei, ERR_PROTOCOL, "cannot %s '%s': answer without \"boolean\"", verb, path);
        goto out;
    }
    *result = json_is_true(b);
out:
    json_decref(j);
    return rc;
}

/* The HDFS path for a path of this store: through a gateway the store's
 * paths carry the URL prefix (/gateway/<topology>/webhdfs/v1/a/b -> /a/b),
 * which parameters naming paths (RENAME's destination) must not. */
const char *wh_hdfs_path(const struct wh_fs *fs, const char *path)
{
    if (!fs->gateway)
        return path;
    for (const char *h = strstr(path, "/webhdfs/v1"); h; h = strstr(h + 1, "/webhdfs/v1"))
        if (h[11] == 0)
            return "/";
        else if (h[11] == '/')
            return h + 11;
    return path;
}

/* Bytes of path before its HDFS path (the gateway prefix ending in
 * "/webhdfs/v1"); 0 when not through a gateway. Mirrors wh_hdfs_path(). */
size_t wh_gw_prefix_len(const struct wh_fs *fs, const char *path)
{
    if (!fs->gateway)
        return 0;
    for (const char *h = strstr(path, "/webhdfs/v1"); h; h = strstr(h + 1, "/webhdfs/v1"))
        if (h[11] == 0 || h[11] == '/')
            return (size_t)(h - path) + 11;
    return 0;
}

/* "&name=<escaped value>" */
char *wh_qparam(const char *name, const char *value)
{
    char *e = http_escape(value, 0), *s = NULL;
    if (e && asprintf(&s, "&%s=%s", name, e) < 0)
        s = NULL;
    free(e);
    return s;
}

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

static int wh_list(struct be_fs *f, const char *path, be_list_cb cb, void *arg,
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

static int wh_open_read(struct be_fs *f, const char *path, uint64_t off, struct be_file **out,
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

static int wh_read(struct be_file *f, void *buf, size_t n, size_t *got, struct errinfo *ei)
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

static void wh_close_read(struct be_file *f)
{
    struct wh_reader *r = (struct wh_reader *)f;
    if (!r)
        return;
    http_resp_free(&r->ra);
    free(r->path);
    free(r);
}

/* Namespace ---------------------------------------------------------------- */

static int wh_delete(struct wh_fs *fs, const char *path, bool recursive, struct errinfo *ei)
{
    bool ok = false;
    int rc = nn_bool(fs, "DELETE", path, "DELETE", recursive ? "&recursive=true"
                     : "&recursive=false", "remove", &ok, NULL, 0, ei);
    if (rc == ERR_IO && !recursive && ei && strstr(ei->msg, "is non empty"))
        rc = ERR_NOT_EMPTY, ei->code = rc;
    if (rc == ERR_OK && !ok)
        rc = err_set(ei, ERR_NOT_FOUND, "cannot remove '%s'", path);
    return rc;
}

static int wh_remove(struct be_fs *f, const char *path, bool recursive, struct errinfo *ei)
{
    return wh_delete(fs_of(f), path, recursive, ei);
}

static int wh_mkdirs(struct be_fs *f, const char *path, uint32_t mode, struct errinfo *ei)
{
    char extra[64], exc[128];
    bool ok = false;
    struct be_stat st;
    snprintf(extra, sizeof extra, "&permission=%o", (mode ? mode : 0755) & 07777);
    int rc = nn_bool(fs_of(f), "PUT", path, "MKDIRS", extra, "mkdirs", &ok, exc, sizeof exc, ei);
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

static int rename_over(struct wh_fs *fs, const char *from, const char *to, struct errinfo *ei)
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

static int wh_rename(struct be_fs *f, const char *from, const char *to, struct errinfo *ei)
{
    return rename_over(fs_of(f), from, to, ei);
}

static int set_times(struct wh_fs *fs, const char *path, int64_t mtime_ns, int64_t atime_ns,
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
        if ((rc = nn_bool(fs, "PUT", path, "SETREPLICATION", extra, "set replication of", &ok,
                          NULL, 0, ei)))
            goto out;
    }
    if ((what & BE_ATTR_TIMES) && (a->st.mtime_ns || a->st.atime_ns))
        rc = set_times(fs, path, a->st.mtime_ns, a->st.atime_ns, ei);
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

static int wh_getmeta(struct be_fs *f, const char *path, const char *key, char **value,
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

static int wh_getattrs(struct be_fs *f, const char *path, unsigned what, struct be_attrs *out,
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

static int put_meta(struct wh_fs *fs, const char *path, const char *key, const char *value,
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

static int wh_setmeta(struct be_fs *f, const char *path, const char *key, const char *value,
                      struct errinfo *ei)
{
    return put_meta(fs_of(f), path, key, value, ei);
}

/* Everything setattr/wsetattr apply: the status fields, then xattrs. */
static int apply_all(struct wh_fs *fs, const char *path, const struct be_attrs *a,
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

static int wh_setattr(struct be_fs *f, const char *path, const struct be_attrs *a,
                      unsigned what, struct errinfo *ei)
{
    return apply_all(fs_of(f), path, a, what, ei);
}

/* Writing ------------------------------------------------------------------ */

static void writer_free(struct wh_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nparts; i++)
        writer_free(w->parts[i]);
    if (w->parts)
        pthread_mutex_destroy(&w->plock);
    free(w->parts);
    free(w->path);
    free(w->target);
    free(w->buf);
    free(w);
}

/* CREATE target (overwrite) with these bytes. */
static int do_create(struct wh_writer *w, const void *data, size_t n, struct errinfo *ei)
{
    char extra[160];
    int len = snprintf(extra, sizeof extra, "&overwrite=true&permission=%o", w->perm);
    if (w->blocksize)
        len += snprintf(extra + len, sizeof extra - (size_t)len, "&blocksize=%llu",
                        (unsigned long long)w->blocksize);
    if (w->replication)
        snprintf(extra + len, sizeof extra - (size_t)len, "&replication=%u",
                 (unsigned)w->replication);
    struct http_resp r;
    int rc = wh_data_call(w->fs, "PUT", w->target, "CREATE", extra, data, n, WH_JSON_MAX, "write",
                       &r, ei);
    http_resp_free(&r);
    return rc;
}

/* Send the buffered bytes: CREATE for the first chunk (also when there is
 * none: an empty file), APPEND after. */
int wh_flush_buf(struct wh_writer *w, struct errinfo *ei)
{
    int rc = ERR_OK;
    if (w->blen == 0 && w->flushed_once)
        return ERR_OK;
    if (!w->flushed_once) {
        rc = do_create(w, w->buf, w->blen, ei);
    } else {
        struct http_resp r;
        rc = wh_data_call(w->fs, "POST", w->target, "APPEND", NULL, w->buf, w->blen, WH_JSON_MAX,
                       "write", &r, ei);
        http_resp_free(&r);
    }
    if (rc == ERR_OK) {
        w->flushed_once = true;
        w->blen = 0;
    }
    return rc;
}

static int wh_create(struct be_fs *f, const char *path, const struct be_create_opts *opts,
                     struct be_file **out, struct errinfo *ei)
{
    struct wh_writer *w = calloc(1, sizeof *w);
    int rc = ERR_OK;
    *out = NULL;
    if (!w || !(w->path = strdup(path)) || !(w->buf = malloc(WH_WBUF))) {
        rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
        goto out;
    }
    w->fs = fs_of(f);
    w->direct = opts && opts->direct;
    w->perm = ((opts && opts->mode) ? opts->mode : 0666) & 07777 & ~022u;
    w->blocksize = opts ? opts->blocksize : 0;
    w->replication = opts ? opts->replication : 0;
    if (w->direct) {
        if (!(w->target = strdup(path))) {
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    } else {
        const char *slash = strrchr(path, '/');
        int plen = opts && opts->tmp_dir ? (int)strlen(opts->tmp_dir) : (int)(slash - path);
        const char *pdir = opts && opts->tmp_dir ? opts->tmp_dir : path;
        char tag[64];
        w->tmp_dir_given = opts && opts->tmp_dir;
        if (opts && opts->tmp_tag)
            snprintf(tag, sizeof tag, "%s", opts->tmp_tag);
        else
            snprintf(tag, sizeof tag, "%ld_%u", (long)getpid(), atomic_fetch_add(&g_tmp_seq, 1));
        if (plen == 1 && pdir[0] == '/')
            plen = 0;
        if (asprintf(&w->target, "%.*s/.distcp.tmp.%s", plen, pdir, tag) < 0) {
            w->target = NULL;
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    }
    if (!w->direct) {
        pthread_mutex_init(&w->plock, NULL);
        if (!(w->parts = calloc(1, sizeof *w->parts))) {
            pthread_mutex_destroy(&w->plock);
            rc = err_set(ei, ERR_NOMEM, "cannot create '%s'", path);
            goto out;
        }
    }
    /* a temp is created with its first bytes (wh_flush_buf): a file that fits
     * the buffer costs one CREATE, not two; -direct shows the name at once */
    if (w->direct && (rc = do_create(w, NULL, 0, ei)))
        goto out;
    *out = (struct be_file *)w;
    w = NULL;
out:
    writer_free(w);
    return rc;
}

static int wh_open_append(struct be_fs *f, const char *path, struct be_file **out,
                          struct errinfo *ei)
{
    struct be_stat st;
    struct wh_writer *w = NULL;
    int rc = wh_stat(f, path, &st, ei);
    *out = NULL;
    if (rc)
        goto out;
    if (st.type != BE_FILE) {
        rc = err_set(ei, st.type == BE_DIR ? ERR_IS_DIR : ERR_INVAL, "cannot append to '%s'",
                     path);
        goto out;
    }
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path)) ||
        !(w->target = strdup(path)) || !(w->buf = malloc(WH_WBUF))) {
        rc = err_set(ei, ERR_NOMEM, "cannot append to '%s'", path);
        goto out;
    }
    w->fs = fs_of(f);
    w->direct = w->append = w->flushed_once = true;
    w->written = st.size;
    *out = (struct be_file *)w;
    w = NULL;
out:
    writer_free(w);
    return rc;
}

/* Append n bytes to stream w (its own next offset checked by the caller). */
static int stream_write(struct wh_writer *w, const unsigned char *p, size_t n,
                        struct errinfo *ei)
{
    if (!w->buf && !(w->buf = malloc(WH_WBUF)))
        return err_set(ei, ERR_NOMEM, "cannot write '%s'", w->path);
    while (n) {
        size_t k = WH_WBUF - w->blen;
        if (k > n)
            k = n;
        memcpy(w->buf + w->blen, p, k);
        w->blen += k;
        w->written += k;
        p += k;
        n -= k;
        if (w->blen == WH_WBUF) {
            int rc = wh_flush_buf(w, ei);
            if (rc)
                return rc;
        }
    }
    return ERR_OK;
}

#define WH_MAX_PARTS 4096u
#define WH_IDLE_FLUSH 16u /* idle parts flushed when a new one starts */

/* A new part stream starting at off (called under plock). */
static struct wh_writer *new_part(struct wh_writer *w, uint64_t off)
{
    struct wh_writer *p = NULL, **np;
    if (w->nparts == WH_MAX_PARTS ||
        !(np = realloc(w->parts, (w->nparts + 1) * sizeof *np)))
        return NULL;
    w->parts = np;
    if (!(p = calloc(1, sizeof *p)) || !(p->path = strdup(w->path)) ||
        asprintf(&p->target, "%s.part.%llu", w->target, (unsigned long long)off) < 0) {
        if (p)
            p->target = NULL;
        writer_free(p);
        return NULL;
    }
    p->fs = w->fs;
    p->direct = true;
    p->perm = w->perm;
    p->blocksize = w->blocksize;
    p->replication = w->replication;
    p->start = p->next = off;
    w->parts[w->nparts++] = p;
    return p;
}

static int wh_write(struct be_file *f, uint64_t off, const void *buf, size_t n,
                    struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f, *s = NULL;
    struct wh_writer *idle[WH_IDLE_FLUSH];
    size_t nidle = 0;
    int rc;
    if (n == 0)
        return ERR_OK;
    if (w->append || w->direct) {  /* sequential only */
        if (off != w->written)
            return err_setx(ei, ERR_INVAL, "cannot write '%s' at offset %llu: the store "
                            "writes sequentially (at %llu)", w->path, (unsigned long long)off,
                            (unsigned long long)w->written);
        return stream_write(w, buf, n, ei);
    }
    pthread_mutex_lock(&w->plock);
    if (!w->busy && w->next == off)
        s = w;
    for (size_t i = 0; !s && i < w->nparts; i++)
        if (!w->parts[i]->busy && w->parts[i]->next == off)
            s = w->parts[i];
    if (!s && (s = new_part(w, off))) {
        /* a new piece began: parts idle with buffered bytes are probably
         * complete; send their bytes and drop their buffers (memory stays
         * bounded by the pieces in flight; a part that does continue just
         * gets another part after it) */
        for (size_t i = 0; i < w->nparts && nidle < WH_IDLE_FLUSH; i++)
            if (!w->parts[i]->busy && w->parts[i]->buf) {
                w->parts[i]->busy = true;
                idle[nidle++] = w->parts[i];
            }
    }
    if (s) {
        s->busy = true;
        s->next = off + n;
    }
    pthread_mutex_unlock(&w->plock);
    if (!s)
        return err_setx(ei, ERR_NOMEM, "cannot write '%s' at offset %llu: out of memory or "
                        "more than %u parts", w->path, (unsigned long long)off, WH_MAX_PARTS);
    rc = stream_write(s, buf, n, ei);
    for (size_t i = 0; i < nidle; i++) {
        int r2 = wh_flush_buf(idle[i], rc ? NULL : ei);
        if (r2 == ERR_OK) {
            free(idle[i]->buf);
            idle[i]->buf = NULL;
        } else if (rc == ERR_OK) {
            rc = r2;
        }
    }
    pthread_mutex_lock(&w->plock);
    s->busy = false;
    for (size_t i = 0; i < nidle; i++)
        idle[i]->busy = false;
    pthread_mutex_unlock(&w->plock);
    return rc;
}

static int part_cmp(const void *a, const void *b)
{
    const struct wh_writer *x = *(struct wh_writer *const *)a, *y = *(struct wh_writer *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* finish() with parts: flush them, check they tile [written, end) after the
 * temp's own bytes, CONCAT them onto the temp (64 per call), re-apply the
 * times the CONCAT changed. *size gets the whole length. */
static int assemble(struct wh_writer *w, uint64_t *size, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *q = NULL, *list = NULL;
    uint64_t end = w->written;
    *size = end;
    if (!w->nparts)
        return ERR_OK;
    qsort(w->parts, w->nparts, sizeof *w->parts, part_cmp);
    for (size_t i = 0; i < w->nparts; i++) {
        struct wh_writer *p = w->parts[i];
        if (p->start != end)
            return err_setx(ei, ERR_INTERNAL, "cannot finish '%s': bytes %llu-%llu were never "
                            "written", w->path, (unsigned long long)end,
                            (unsigned long long)p->start);
        if ((rc = wh_flush_buf(p, ei)))
            return rc;
        end = p->start + p->written;
    }
    for (size_t i = 0; i < w->nparts; i += 64) {
        size_t len = 0, k = i + 64 < w->nparts ? i + 64 : w->nparts;
        for (size_t m = i; m < k; m++)
            len += strlen(wh_hdfs_path(w->fs, w->parts[m]->target)) + 1;
        free(list);
        if (!(list = malloc(len + 1))) {
            rc = err_set(ei, ERR_NOMEM, "cannot finish '%s'", w->path);
            goto out;
        }
        list[0] = 0;
        for (size_t m = i; m < k; m++) {
            if (m > i)
                strcat(list, ",");
            strcat(list, wh_hdfs_path(w->fs, w->parts[m]->target));
        }
        free(q);
        if (!(q = wh_qparam("sources", list))) {
            rc = err_set(ei, ERR_NOMEM, "cannot finish '%s'", w->path);
            goto out;
        }
        if ((rc = wh_nn_call(w->fs, "POST", w->target, "CONCAT", q, "concatenate parts into",
                          NULL, NULL, 0, ei)))
            goto out;
    }
    for (size_t i = 0; i < w->nparts; i++)
        w->parts[i]->flushed_once = false; /* gone into the temp: nothing to delete */
    if (w->mtime_ns && (rc = set_times(w->fs, w->target, w->mtime_ns, w->atime_ns, ei)))
        goto out;
    *size = end;
out:
    free(q);
    free(list);
    return rc;
}

static int wh_finish(struct be_file *f, struct be_stat *st, struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    uint64_t size = w->written;
    int rc = wh_flush_buf(w, ei);
    if (rc == ERR_OK)
        rc = assemble(w, &size, ei);
    memset(st, 0, sizeof *st);
    st->type = BE_FILE;
    st->size = size;
    st->mtime_ns = w->mtime_ns;
    st->uid = st->gid = BE_ID_NONE;
    return rc;
}

static int wh_wsetattr(struct be_file *f, const struct be_attrs *a, unsigned what,
                       struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    int rc = wh_flush_buf(w, ei);
    if (rc == ERR_OK)
        rc = apply_all(w->fs, w->target, a, what, ei);
    if (rc == ERR_OK && (what & BE_ATTR_TIMES) && a->st.mtime_ns) {
        w->mtime_ns = a->st.mtime_ns / 1000000 * 1000000;
        w->atime_ns = a->st.atime_ns;
    }
    return rc;
}

static int wh_wsetmeta(struct be_file *f, const char *key, const char *value,
                       struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    int rc = wh_flush_buf(w, ei);
    return rc ? rc : put_meta(w->fs, w->target, key, value, ei);
}

static void wh_abort(struct be_file *f)
{
    struct wh_writer *w = (struct wh_writer *)f;
    if (!w)
        return;
    if (w->append)
        wh_flush_buf(w, NULL); /* appended bytes may stay */
    else if (w->flushed_once)
        wh_delete(w->fs, w->target, false, NULL);
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i]->flushed_once)
            wh_delete(w->fs, w->parts[i]->target, false, NULL);
    writer_free(w);
}

static int wh_commit(struct be_file *f, struct errinfo *ei)
{
    struct wh_writer *w = (struct wh_writer *)f;
    struct be_stat st;
    int rc = wh_flush_buf(w, ei);
    if (rc || w->direct)
        goto out;
    /* rename first; look closer only when it fails (a directory in the way,
     * or a parent still missing when the temp lives elsewhere) */
    struct errinfo e2 = {0};
    rc = rename_over(w->fs, w->target, w->path, &e2);
    if (rc == ERR_OK)
        goto out;
    if (wh_stat(&w->fs->head, w->path, &st, NULL) == ERR_OK && st.type == BE_DIR) {
        rc = err_set(ei, ERR_IS_DIR, "cannot commit '%s'", w->path);
        goto out;
    }
    if (!w->tmp_dir_given || rc != ERR_NOT_FOUND) {
        if (ei)
            *ei = e2;
        goto out;
    }
    {
        const char *slash = strrchr(w->path, '/');
        char *parent = strndup(w->path, slash && slash != w->path ? (size_t)(slash - w->path) : 1);
        if (!parent) {
            rc = err_set(ei, ERR_NOMEM, "cannot commit '%s'", w->path);
            goto out;
        }
        rc = wh_mkdirs(&w->fs->head, parent, 0755, ei);
        free(parent);
        if (rc)
            goto out;
    }
    rc = rename_over(w->fs, w->target, w->path, ei);
out:
    if (rc && !w->direct && !w->append)
        wh_delete(w->fs, w->target, false, NULL);
    writer_free(w);
    return rc;
}

/* Open/close --------------------------------------------------------------- */

static char *user_name(void)
{
    const char *u = getenv("HADOOP_USER_NAME");
    if (!u || !*u)
        u = getenv("USER");
    if (u && *u)
        return http_escape(u, 0);
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res)
        return http_escape(res->pw_name, 0);
    return http_escape("dr.who", 0);
}

static void wh_close(struct be_fs *f)
{
    struct wh_fs *fs = fs_of(f);
    if (!fs)
        return;
    if (fs->token_owned) {  /* best effort: the token dies with the job */
        char *q = NULL;
        if (asprintf(&q, "&token=%s", fs->token) >= 0)
            wh_nn_call(fs, "PUT", "/", "CANCELDELEGATIONTOKEN", q, "cancel the delegation token "
                    "for", NULL, NULL, 0, NULL);
        free(q);
    }
    free(fs->head.scheme);
    free(fs->head.authority);
    for (unsigned i = 0; i < fs->nbases; i++)
        free(fs->bases[i]);
    if (fs->token) {
        explicit_bzero(fs->token, strlen(fs->token));
        free(fs->token);
    }
    pthread_mutex_destroy(&fs->tok_lock);
    free(fs->user);
    free(fs->buser);
    if (fs->bpass) {
        explicit_bzero(fs->bpass, strlen(fs->bpass));
        free(fs->bpass);
    }
    free(fs->ca_file);
    free(fs);
}

static const char *cfg_val(const struct be_config *cfg, const char *key)
{
    const char *v = cfg && cfg->get ? cfg->get(cfg->ctx, key) : NULL;
    return v && *v ? v : NULL;
}

/* A number from -D key, else env, else def (bad values: def). */
static unsigned cfg_uint(const struct be_config *cfg, const char *key, const char *env,
                         unsigned def, unsigned lo)
{
    const char *v = cfg_val(cfg, key);
    if (!v)
        v = getenv(env);
    if (!v || !*v)
        return def;
    char *e;
    unsigned long n = strtoul(v, &e, 10);
    return *e || n < lo || n > 3600000ul ? def : (unsigned)n;
}

/* The NameNode HTTP address list for (scheme, authority): webhdfs takes the
 * authority itself ("h1:p1,h2:p2" = HA pair); hdfs looks up
 * dfs.namenode.http-address.<authority>, then dfs.namenode.http-address,
 * else <host of authority>:9870. The result is malloc'd. */
static char *nn_addresses(const char *scheme, const char *authority,
                          const struct be_config *cfg)
{
    if (strcasecmp(scheme, "hdfs"))
        return strdup(authority);
    char *key = NULL;
    const char *v = NULL;
    if (asprintf(&key, "dfs.namenode.http-address.%s", authority) >= 0)
        v = cfg_val(cfg, key);
    free(key);
    if (!v)
        v = cfg_val(cfg, "dfs.namenode.http-address");
    if (v)
        return strdup(v);
    const char *colon = strrchr(authority, ':');
    size_t hl = colon && !strchr(colon, ']') ? (size_t)(colon - authority) : strlen(authority);
    char *r = NULL;
    if (asprintf(&r, "%.*s:" WH_DEFAULT_PORT, (int)hl, authority) < 0)
        r = NULL;
    return r;
}

/* First set value of: -D key, env e1, env e2; malloc'd copy or NULL. */
static char *setting(const struct be_config *cfg, const char *key, const char *e1,
                     const char *e2)
{
    const char *v = cfg_val(cfg, key);
    if (!v && e1)
        v = getenv(e1);
    if ((!v || !*v) && e2)
        v = getenv(e2);
    return v && *v ? strdup(v) : NULL;
}

static bool truthy(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

/* Kerberos and delegation tokens (§1.2):
 *  - SPNEGO when -D hadoop.security.authentication=kerberos (or env
 *    DISTCP_WEBHDFS_AUTH=kerberos), or when a keytab is named: -D
 *    distcp.webhdfs.kerberos.keytab, DISTCP_WEBHDFS_KEYTAB or seed 000's
 *    DISTCP_KRB5KEYTAB. libcurl's GSS-API uses the default credentials: the
 *    ticket cache (kinit), or with a keytab MIT's client keytab
 *    (KRB5_CLIENT_KTNAME, its first principal) into a private in-memory
 *    cache (KRB5CCNAME=MEMORY:...), set here for this process;
 *  - a delegation token given as -D distcp.webhdfs.delegation.token or
 *    DISTCP_WEBHDFS_DELEGATION_TOKEN (the urlString) is sent as delegation=;
 *  - with Kerberos (not through a gateway) a token is fetched at open
 *    (GETDELEGATIONTOKEN; -D distcp.webhdfs.kerberos.delegation=false: no)
 *    so later calls need no SPNEGO round; renewed on InvalidToken,
 *    cancelled at close. A token is a secret: never in messages. */
static int open_security(struct wh_fs *fs, const char *scheme, const char *authority,
                         const struct be_config *cfg, struct errinfo *ei);

/* Credentials and TLS settings (after bases are known). */
static int open_auth(struct wh_fs *fs, const char *scheme, const char *authority,
                     const struct be_config *cfg, struct errinfo *ei)
{
    int rc = ERR_OK;
    char *ins = NULL;
    fs->buser = setting(cfg, "fs.webhdfs.basic.user", "DISTCP_WEBHDFS_USER",
                        "DISTCP_AZDATA_USERNAME");
    fs->bpass = setting(cfg, "fs.webhdfs.basic.password", "DISTCP_WEBHDFS_PASSWORD",
                        "DISTCP_AZDATA_PASSWORD");
    fs->ca_file = setting(cfg, "distcp.webhdfs.ssl.ca-file", "DISTCP_WEBHDFS_CA_FILE", NULL);
    ins = setting(cfg, "distcp.webhdfs.ssl.insecure", "DISTCP_WEBHDFS_INSECURE", NULL);
    bool tls = !strncmp(fs->bases[0], "https:", 6);
    fs->hopts.user = fs->buser;
    fs->hopts.password = fs->bpass;
    fs->hopts.ca_file = fs->dn_opts.ca_file = fs->ca_file;
    fs->hopts.insecure = fs->dn_opts.insecure = truthy(ins);
    if (fs->hopts.insecure && tls)
        fprintf(stderr, "distcp: WARNING: TLS certificate verification is OFF for "
                "'%s://%s' (distcp.webhdfs.ssl.insecure): the server is not authenticated\n",
                scheme, authority);
    if (fs->bpass && !fs->buser)
        rc = err_setx(ei, ERR_INVAL, "cannot open '%s://%s': a Basic password is set but no "
                      "user (fs.webhdfs.basic.user)", scheme, authority);
    free(ins);
    if (rc == ERR_OK)
        rc = open_security(fs, scheme, authority, cfg, ei);
    return rc;
}

static int open_security(struct wh_fs *fs, const char *scheme, const char *authority,
                         const struct be_config *cfg, struct errinfo *ei)
{
    int rc = ERR_OK;
    json_t *j = NULL;
    char *auth = setting(cfg, "hadoop.security.authentication", "DISTCP_WEBHDFS_AUTH", NULL);
    char *kt = setting(cfg, "distcp.webhdfs.kerberos.keytab", "DISTCP_WEBHDFS_KEYTAB",
                       "DISTCP_KRB5KEYTAB");
    char *tok = setting(cfg, "distcp.webhdfs.delegation.token",
                        "DISTCP_WEBHDFS_DELEGATION_TOKEN", NULL);
    char *fetch = setting(cfg, "distcp.webhdfs.kerberos.delegation", NULL, NULL);
    if (auth && strcasecmp(auth, "kerberos") && strcasecmp(auth, "simple")) {
        rc = err_setx(ei, ERR_INVAL, "cannot open '%s://%s': unknown authentication '%s' "
                      "(hadoop.security.authentication: simple or kerberos)", scheme, authority,
                      auth);
        goto out;
    }
    fs->kerberos = (auth && !strcasecmp(auth, "kerberos")) || kt;
    if (kt) {
        if (access(kt, R_OK) != 0) {
            rc = err_sys(ei, errno, "cannot open '%s://%s': cannot read the keytab '%s'",
                         scheme, authority, kt);
            goto out;
        }
        char *v = NULL, cc[64];
        if (asprintf(&v, "FILE:%s", kt) < 0) {
            rc = err_set(ei, ERR_NOMEM, "cannot open '%s://%s'", scheme, authority);
            goto out;
        }
        snprintf(cc, sizeof cc, "MEMORY:distcp.%ld", (long)getpid());
        setenv("KRB5_CLIENT_KTNAME", v, 1);
        setenv("KRB5CCNAME", cc, 1);
        free(v);
    }
    if (fs->kerberos && !fs->hopts.user)
        fs->hopts.negotiate = 1;
    if (tok) {
        if (!(fs->token = http_escape(tok, 0))) {
            rc = err_set(ei, ERR_NOMEM, "cannot open '%s://%s'", scheme, authority);
            goto out;
        }
        fs->use_token = true;
        goto out;
    }
    if (!fs->kerberos || fs->gateway || (fetch && !truthy(fetch)))
        goto out;
    rc = wh_nn_call(fs, "GET", "/", "GETDELEGATIONTOKEN", NULL, "get a delegation token for", &j,
                 NULL, 0, ei);
    if (rc == ERR_AUTH) {
        rc = err_setx(ei, ERR_AUTH, "cannot open '%s://%s': Kerberos (SPNEGO) authentication "
                      "failed: no usable ticket for the NameNode's HTTP/<host> service (kinit, "
                      "or a keytab in DISTCP_KRB5KEYTAB)", scheme, authority);
        goto out;
    }
    if (rc)
        goto out;
    const char *t = json_string_value(json_object_get(json_object_get(j, "Token"), "urlString"));
    if (t) {  /* {"Token":null}: security is off, no token to use */
        if (!(fs->token = http_escape(t, 0))) {
            rc = err_set(ei, ERR_NOMEM, "cannot open '%s://%s'", scheme, authority);
            goto out;
        }
        fs->use_token = fs->token_owned = true;
    }
out:
    json_decref(j);
    free(auth);
    free(kt);
    if (tok) {
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    free(fetch);
    return rc;
}

static int wh_open(const char *scheme, const char *authority, const struct be_config *cfg,
                   struct be_fs **out, struct errinfo *ei)
{
    struct wh_fs *fs = NULL;
    char *list = NULL;
    int rc = ERR_OK;
    *out = NULL;
    scheme = scheme ? scheme : "webhdfs";
    if (!authority || !*authority) {
        rc = err_setx(ei, ERR_BAD_URI, "cannot open '%s://': the URI names no NameNode "
                      "(host:port)", scheme);
        goto out;
    }
    if ((fs = calloc(1, sizeof *fs)))
        pthread_mutex_init(&fs->tok_lock, NULL);
    if (!fs || !(fs->head.scheme = strdup(scheme)) ||
        !(fs->head.authority = strdup(authority)) || !(fs->user = user_name()) ||
        !(list = nn_addresses(scheme, authority, cfg))) {
        rc = err_setx(ei, ERR_NOMEM, "cannot open '%s://%s': out of memory", scheme, authority);
        goto out;
    }
    fs->gateway = !strcasecmp(scheme, "http") || !strcasecmp(scheme, "https");
    if (fs->gateway) {
        free(fs->user);
        fs->user = NULL; /* the gateway asserts the identity itself (§1.7) */
    }
    char *save = NULL;
    for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        if (!*a || strpbrk(a, "/?#@ ") || fs->nbases == WH_MAX_NN) {
            rc = err_setx(ei, ERR_BAD_URI, "cannot open '%s://%s': bad NameNode address '%s' "
                          "(host:port, at most %d, comma-separated)", scheme, authority, a,
                          WH_MAX_NN);
            goto out;
        }
        const char *colon = strrchr(a, ':');
        bool has_port = colon && !strchr(colon, ']');
        bool tls = !strcasecmp(scheme, "swebhdfs") || !strcasecmp(scheme, "https");
        if (fs->gateway && fs->nbases) {
            rc = err_setx(ei, ERR_BAD_URI, "cannot open '%s://%s': a gateway URL names one "
                          "host", scheme, authority);
            goto out;
        }
        if (asprintf(&fs->bases[fs->nbases], "%s://%s%s%s", tls ? "https" : "http", a,
                     has_port ? "" : fs->gateway ? (tls ? ":443" : ":80")
                                 : tls ? ":" WH_DEFAULT_TLS_PORT : ":" WH_DEFAULT_PORT,
                     fs->gateway ? "" : "/webhdfs/v1") < 0) {
            fs->bases[fs->nbases] = NULL;
            rc = err_setx(ei, ERR_NOMEM, "cannot open '%s://%s': out of memory", scheme,
                          authority);
            goto out;
        }
        fs->nbases++;
    }
    if (!fs->nbases) {
        rc = err_setx(ei, ERR_BAD_URI, "cannot open '%s://%s': no NameNode address", scheme,
                      authority);
        goto out;
    }
    char *hf = setting(cfg, "distcp.webhdfs.httpfs", "DISTCP_WEBHDFS_HTTPFS", NULL);
    atomic_init(&fs->httpfs, truthy(hf));
    free(hf);
    fs->retry.base_ms = cfg_uint(cfg, "distcp.webhdfs.retry.base.ms",
                                 "DISTCP_WEBHDFS_RETRY_BASE_MS", WH_RETRY_BASE_MS, 0);
    fs->retry.attempts = cfg_uint(cfg, "distcp.webhdfs.retry.attempts",
                                  "DISTCP_WEBHDFS_RETRY_ATTEMPTS", WH_ATTEMPTS, 1);
    fs->retry.cap_ms = fs->retry.base_ms > RETRY_CAP_MS ? fs->retry.base_ms : RETRY_CAP_MS;
    if ((rc = open_auth(fs, scheme, authority, cfg, ei)))  /* may call the NameNode */
        goto out;
    fs->head.ops = &backend_webhdfs;
    *out = &fs->head;
    fs = NULL;
out:
    free(list);
    if (fs)
        wh_close(&fs->head);
    return rc;
}

const struct backend_ops backend_webhdfs = {
    .name = "webhdfs",
    .mtime_gran_ns = 1000000LL /* modificationTime: milliseconds */,
    .caps = BE_CAP_EMPTY_DIRS | BE_CAP_POSIX_META | BE_CAP_MTIME | BE_CAP_BLOCKS |
            BE_CAP_XATTR | BE_CAP_ACL | BE_CAP_CONCAT_WRITE,
    .open = wh_open,
    .close = wh_close,
    .stat = wh_stat,
    .list = wh_list,
    .open_read = wh_open_read,
    .read = wh_read,
    .close_read = wh_close_read,
    .create = wh_create,
    .write = wh_write,
    .finish = wh_finish,
    .wsetattr = wh_wsetattr,
    .wsetmeta = wh_wsetmeta,
    .commit = wh_commit,
    .open_append = wh_open_append,
    .abort = wh_abort,
    .mkdirs = wh_mkdirs,
    .rename = wh_rename,
    .remove = wh_remove,
    .getattrs = wh_getattrs,
    .setattr = wh_setattr,
    .getmeta = wh_getmeta,
    .setmeta = wh_setmeta,
    .checksum = wh_checksum,
    .wchecksum = wh_wchecksum,
    .snapshots = &wh_snapshots,
};

/* webhdfs_call.c - how the WebHDFS backend talks to a NameNode: request URLs
 * with the caller's identity (user.name or a delegation token), the token's
 * renewal, RemoteException -> error code mapping, the retry/failover rule
 * and the two kinds of calls every slot is built from (wh_nn_call: one
 * NameNode request; wh_data_call: the two-step OPEN/CREATE/APPEND/
 * GETFILECHECKSUM through a DataNode). docs/protocols.md §2 and §4.
 *
 * Threading: as webhdfs.c says; the token is read and renewed under
 * fs->tok_lock, the active NameNode moved with an atomic exchange. */
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
    bool again = false, give_up = false;
    bool failover = (standby || conn_refused) && fs->nbases > 1;
    unsigned turn = fs->nbases > 1 ? fs->nbases : 1;
    unsigned ra = retry_after_parse(retry_after);
    if (attempt + 1 >= fs->retry.attempts * turn) {
        give_up = true;
    } else if (failover) {
        unsigned want = (nn + 1) % fs->nbases;
        atomic_compare_exchange_strong(&fs->active, &nn, want);
        if ((attempt + 1) % fs->nbases == 0) /* a full turn: one delay */
            retry_sleep_ms(retry_delay_ms(&fs->retry, (attempt + 1) / fs->nbases - 1, ra,
                                          retry_rand()));
        again = true;   /* else the next NameNode at once */
    } else if (retriable) {
        if (retry_more(&fs->retry, attempt)) {
            retry_sleep_ms(retry_delay_ms(&fs->retry, attempt, ra, retry_rand()));
            again = true;
        } else {
            give_up = true;
        }
    }
    if (give_up && (failover || retriable) && ei)
        ei->retried = true;
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
int wh_nn_bool(struct wh_fs *fs, const char *method, const char *path, const char *op,
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

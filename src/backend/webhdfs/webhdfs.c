/* webhdfs.c - the WebHDFS backend (schemes "webhdfs", "swebhdfs", "hdfs" and
 * gateway URLs): opening a store (NameNode addresses, HA lists, settings,
 * authentication: simple user.name, Basic, Kerberos SPNEGO, delegation
 * tokens fetched at open and cancelled at close) and the ops table.
 * The rest lives beside it (docs/protocols.md §2):
 *   webhdfs_call.c   URLs, token renewal, RemoteException mapping, retries
 *                    (util/retry.h's policy) and HA failover, the NameNode
 *                    call and the two-step data call
 *   webhdfs_read.c   status, listing, readers
 *   webhdfs_ns.c     delete, mkdirs, rename, attributes, xattrs, metadata
 *   webhdfs_write.c  writers (temp + CREATE/APPEND, parts + CONCAT, commit)
 *   webhdfs_acl.c, webhdfs_cksum.c, webhdfs_snap.c  ACLs, checksums, snapshots
 *
 * Addresses: webhdfs://h1:p1[,h2:p2...]/path lists the NameNodes of an HA
 * pair (a StandbyException moves to the next). hdfs://<authority>/path uses
 * -D dfs.namenode.http-address.<authority>, then -D dfs.namenode.http-address
 * (each "host:port[,host:port]"), else <authority's host>:9870.
 * Retry knobs: -D distcp.webhdfs.retry.base.ms / .attempts or env
 * DISTCP_WEBHDFS_RETRY_BASE_MS / DISTCP_WEBHDFS_RETRY_ATTEMPTS (500 ms, 4),
 * read once here into fs->retry.
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

extern const struct backend_ops backend_webhdfs;

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
            BE_CAP_XATTR | BE_CAP_ACL | BE_CAP_CONCAT_WRITE | BE_CAP_LIST_PER_DIR,
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

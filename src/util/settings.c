/* settings.c - the settings table (see settings.h) and its parsers.
 *
 * Every -D key and environment variable distcp reads has a row here; the unit
 * test tests/unit/test_settings.c scans the sources for getenv("...") names
 * and key literals and fails when one is missing, and checks that
 * docs/settings.md holds the table as settings_print(markdown) writes it.
 * The defaults written here are the ones the code applies (the engine's in
 * engine/options.c, the stores' in their own open functions).
 *
 * Threading: constant data; reentrant functions. */
#include "util/settings.h"

#include <stdlib.h>
#include <string.h>

#define E(...) {__VA_ARGS__, NULL}

static const struct setting table[SET__COUNT] = {
    /* ---- the copy engine (resolved once per job: engine/options.c) */
    [SET_MAPS] = {SET_MAPS, "copy", "-m", NULL, E(NULL), "20", SETT_INT,
                  "upper bound on simultaneous copies (copy threads, or their sum over MPI ranks)"},
    [SET_BANDWIDTH] = {SET_BANDWIDTH, "copy", "-bandwidth", "distcp.map.bandwidth.mb", E(NULL),
                       "unlimited", SETT_FLOAT, "MB/s per copy worker (fractions allowed)"},
    [SET_COPY_BUFFER] = {SET_COPY_BUFFER, "copy", "-copybuffersize", "distcp.copy.buffer.size", E(NULL),
                         "1048576", SETT_INT,
                         "bytes per read/write of the copy loop (Hadoop: 8192); <= 0 means the default"},
    [SET_LIST_THREADS] = {SET_LIST_THREADS, "listing", "-numListstatusThreads",
                          "distcp.liststatus.threads", E(NULL), "8", SETT_INT,
                          "threads listing the sources (Hadoop: 1; at most 40; <= 0 means the default)"},
    [SET_FILTERS_FILE] = {SET_FILTERS_FILE, "listing", "-filters", "distcp.filters.file", E(NULL), "none",
                          SETT_STR, "local file of regexes; paths fully matching one are not copied"},
    [SET_EXCLUDE_REGEX] = {SET_EXCLUDE_REGEX, "listing", "--exclude", "distcp.exclude-file-regex", E(NULL),
                           "none", SETT_STR, "a regex; paths fully matching it are not copied"},
    [SET_UPDATE_MTIME] = {SET_UPDATE_MTIME, "compare", NULL, "distcp.update.modification.time", E(NULL),
                          "true", SETT_BOOL,
                          "-update: with equal sizes and no comparable digest, a newer source is copied"},
    [SET_RETRY_DELAY_MS] = {SET_RETRY_DELAY_MS, "copy", NULL, "distcp.copy.retry.delay.ms", E(NULL), "500",
                            SETT_INT, "first delay before retrying a transient copy failure, in ms"},
    [SET_DYN_SPLIT_RATIO] = {SET_DYN_SPLIT_RATIO, "copy", NULL, "distcp.dynamic.split.ratio", E(NULL), "2",
                             SETT_INT, "-strategy dynamic: chunks per worker when the ideal is not used"},
    [SET_DYN_CHUNKS_IDEAL] = {SET_DYN_CHUNKS_IDEAL, "copy", NULL, "distcp.dynamic.max.chunks.ideal",
                              E(NULL), "100", SETT_INT, "-strategy dynamic: the ideal number of chunks"},
    [SET_DYN_MIN_RECORDS] = {SET_DYN_MIN_RECORDS, "copy", NULL, "distcp.dynamic.min.records_per_chunk",
                             E(NULL), "5", SETT_INT, "-strategy dynamic: fewest entries per chunk"},
    [SET_DYN_CHUNKS_TOLERABLE] = {SET_DYN_CHUNKS_TOLERABLE, "copy", NULL,
                                  "distcp.dynamic.max.chunks.tolerable", E(NULL), "400", SETT_INT,
                                  "-strategy dynamic: more chunks than this fail the job"},
    [SET_DFS_BPC] = {SET_DFS_BPC, "checksum", NULL, "dfs.bytes-per-checksum", E(NULL), "512", SETT_INT,
                     "bytes per CRC of HDFS-style checksums (copy verification, distcp checksum)"},
    [SET_DFS_CKSUM_TYPE] = {SET_DFS_CKSUM_TYPE, "checksum", NULL, "dfs.checksum.type", E(NULL), "CRC32C",
                            SETT_STR, "CRC32 or CRC32C for HDFS-style checksums"},
    [SET_DFS_BLOCKSIZE] = {SET_DFS_BLOCKSIZE, "checksum", NULL, "dfs.blocksize", E(NULL), "134217728",
                           SETT_INT, "block size of HDFS-style checksums where the store has none"},
    [SET_WORKERS] = {SET_WORKERS, "copy", NULL, NULL, E("DISTCP_WORKERS"), "max(8, 4 x cores)", SETT_INT,
                     "cap on copy threads per process (-m is the other cap)"},
    [SET_CHUNK_MIN_MB] = {SET_CHUNK_MIN_MB, "copy", NULL, NULL, E("DISTCP_CHUNK_MIN_MB"), "256", SETT_INT,
                          "files of at least this many MiB are copied in chunks by several workers"},
    [SET_CHUNK_MB] = {SET_CHUNK_MB, "copy", NULL, NULL, E("DISTCP_CHUNK_MB"), "64", SETT_INT,
                      "size of those chunks, in MiB"},
    [SET_SORT_MEM_MB] = {SET_SORT_MEM_MB, "listing", NULL, NULL, E("DISTCP_SORT_MEM_MB"), "128", SETT_INT,
                         "MiB of listing held in memory before sorted runs spill to disk (at least 1)"},
    [SET_TMPDIR] = {SET_TMPDIR, "listing", NULL, NULL, E("TMPDIR"), "/tmp", SETT_STR,
                    "where the private work area (listing spill files) is made"},

    /* ---- distcp checksum */
    [SET_DFS_COMBINE_MODE] = {SET_DFS_COMBINE_MODE, "checksum", "--combine-mode", "dfs.checksum.combine.mode",
                              E(NULL), "MD5MD5CRC", SETT_STR,
                              "distcp checksum: MD5MD5CRC or COMPOSITE_CRC"},

    /* ---- local store */
    [SET_FSYNC] = {SET_FSYNC, "local", NULL, NULL, E("DISTCP_FSYNC"), "off", SETT_FLAG,
                   "1: fdatasync every file before it is linked or renamed into place"},
    [SET_NO_TMPFILE] = {SET_NO_TMPFILE, "local", NULL, NULL, E("DISTCP_NO_TMPFILE"), "off", SETT_FLAG,
                        "1: named temp files instead of O_TMPFILE"},

    /* ---- job store */
    [SET_JOB_STORE] = {SET_JOB_STORE, "jobs", "--job-store", NULL, E("DISTCP_JOB_STORE"),
                       "$XDG_STATE_HOME/distcp/jobs.db", SETT_STR,
                       "the job store database (\"none\": do not record)"},
    [SET_XDG_STATE_HOME] = {SET_XDG_STATE_HOME, "jobs", NULL, NULL, E("XDG_STATE_HOME"), "$HOME/.local/state",
                            SETT_STR, "base directory of the default job store"},
    [SET_HOME] = {SET_HOME, "jobs", NULL, NULL, E("HOME"), "none", SETT_STR,
                  "home directory: default job store, ~/.aws files"},
    [SET_JOURNAL_INTERVAL_MS] = {SET_JOURNAL_INTERVAL_MS, "jobs", NULL, NULL, E("DISTCP_JOURNAL_INTERVAL_MS"),
                                 "5000", SETT_INT, "how often a job's journal is flushed, in ms (at least 100)"},

    /* ---- WebHDFS / HttpFS / Knox (read at store open) */
    [SET_NN_HTTP_ADDRESS] = {SET_NN_HTTP_ADDRESS, "webhdfs", NULL, "dfs.namenode.http-address", E(NULL),
                             "<host>:9870", SETT_STR,
                             "hdfs:// URIs: the NameNode's HTTP address (also as .<authority>)"},
    [SET_WH_USER_NAME] = {SET_WH_USER_NAME, "webhdfs", NULL, NULL, E("HADOOP_USER_NAME", "USER"),
                          "the login name", SETT_STR, "user.name sent without Kerberos"},
    [SET_WH_BASIC_USER] = {SET_WH_BASIC_USER, "webhdfs", NULL, "fs.webhdfs.basic.user",
                           E("DISTCP_WEBHDFS_USER", "DISTCP_AZDATA_USERNAME"), "none", SETT_STR,
                           "HTTP basic authentication user (Knox gateways)"},
    [SET_WH_BASIC_PASSWORD] = {SET_WH_BASIC_PASSWORD, "webhdfs", NULL, "fs.webhdfs.basic.password",
                               E("DISTCP_WEBHDFS_PASSWORD", "DISTCP_AZDATA_PASSWORD"), "none", SETT_STR,
                               "HTTP basic authentication password"},
    [SET_WH_CA_FILE] = {SET_WH_CA_FILE, "webhdfs", NULL, "distcp.webhdfs.ssl.ca-file",
                        E("DISTCP_WEBHDFS_CA_FILE"), "system CAs", SETT_STR, "CA bundle for swebhdfs://"},
    [SET_WH_INSECURE] = {SET_WH_INSECURE, "webhdfs", NULL, "distcp.webhdfs.ssl.insecure",
                         E("DISTCP_WEBHDFS_INSECURE"), "false", SETT_BOOL,
                         "true: do not verify the server's TLS certificate"},
    [SET_WH_AUTH] = {SET_WH_AUTH, "webhdfs", NULL, "hadoop.security.authentication", E("DISTCP_WEBHDFS_AUTH"),
                     "simple", SETT_STR, "kerberos: SPNEGO with the ticket cache or a keytab"},
    [SET_WH_KEYTAB] = {SET_WH_KEYTAB, "webhdfs", NULL, "distcp.webhdfs.kerberos.keytab",
                       E("DISTCP_WEBHDFS_KEYTAB", "DISTCP_KRB5KEYTAB"), "none", SETT_STR,
                       "keytab for SPNEGO"},
    [SET_WH_DELEGATION_TOKEN] = {SET_WH_DELEGATION_TOKEN, "webhdfs", NULL, "distcp.webhdfs.delegation.token",
                                 E("DISTCP_WEBHDFS_DELEGATION_TOKEN"), "none", SETT_STR,
                                 "a delegation token (urlString) sent instead of authenticating"},
    [SET_WH_FETCH_DELEGATION] = {SET_WH_FETCH_DELEGATION, "webhdfs", NULL, "distcp.webhdfs.kerberos.delegation",
                                 E(NULL), "false", SETT_BOOL,
                                 "with Kerberos: fetch a delegation token once and use it"},
    [SET_WH_HTTPFS] = {SET_WH_HTTPFS, "webhdfs", NULL, "distcp.webhdfs.httpfs", E("DISTCP_WEBHDFS_HTTPFS"),
                       "auto", SETT_BOOL, "true: the server is HttpFS (no DataNode redirects)"},
    [SET_WH_RETRY_BASE_MS] = {SET_WH_RETRY_BASE_MS, "webhdfs", NULL, "distcp.webhdfs.retry.base.ms",
                              E("DISTCP_WEBHDFS_RETRY_BASE_MS"), "500", SETT_INT,
                              "first WebHDFS retry delay in ms, doubled per attempt"},
    [SET_WH_RETRY_ATTEMPTS] = {SET_WH_RETRY_ATTEMPTS, "webhdfs", NULL, "distcp.webhdfs.retry.attempts",
                               E("DISTCP_WEBHDFS_RETRY_ATTEMPTS"), "4", SETT_INT,
                               "attempts per WebHDFS call on retriable failures"},

    /* ---- S3 (read at store open) */
    [SET_S3_ENDPOINT] = {SET_S3_ENDPOINT, "s3", NULL, "fs.s3a.endpoint",
                         E("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "https://s3.<region>.amazonaws.com",
                         SETT_STR, "the S3 endpoint"},
    [SET_S3_SSL_ENABLED] = {SET_S3_SSL_ENABLED, "s3", NULL, "fs.s3a.connection.ssl.enabled", E(NULL), "true",
                            SETT_BOOL, "https for an endpoint given without a scheme"},
    [SET_S3_PATH_STYLE] = {SET_S3_PATH_STYLE, "s3", NULL, "fs.s3a.path.style.access", E(NULL),
                           "true for IP/localhost endpoints", SETT_BOOL, "path-style requests"},
    [SET_S3_SSL_VERIFY] = {SET_S3_SSL_VERIFY, "s3", NULL, "fs.s3a.ssl.verify", E(NULL), "true", SETT_BOOL,
                           "false: do not verify the server's TLS certificate"},
    [SET_S3_MULTIPART_THRESHOLD] = {SET_S3_MULTIPART_THRESHOLD, "s3", NULL, "fs.s3a.multipart.threshold",
                                    E(NULL), "5368709120", SETT_INT,
                                    "objects of at least this many bytes are uploaded in parts"},
    [SET_S3_MULTIPART_SIZE] = {SET_S3_MULTIPART_SIZE, "s3", NULL, "fs.s3a.multipart.size", E(NULL),
                               "67108864", SETT_INT, "bytes per part (5 MiB to 5 GiB)"},
    [SET_S3_PROFILE] = {SET_S3_PROFILE, "s3", NULL, "fs.s3a.aws.profile", E("AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
                        "default", SETT_STR, "profile of the shared credentials and config files"},
    [SET_S3_ACCESS_KEY] = {SET_S3_ACCESS_KEY, "s3", NULL, "fs.s3a.access.key", E("AWS_ACCESS_KEY_ID"),
                           "from the profile", SETT_STR, "access key id"},
    [SET_S3_SECRET_KEY] = {SET_S3_SECRET_KEY, "s3", NULL, "fs.s3a.secret.key", E("AWS_SECRET_ACCESS_KEY"),
                           "from the profile", SETT_STR, "secret access key"},
    [SET_S3_SESSION_TOKEN] = {SET_S3_SESSION_TOKEN, "s3", NULL, "fs.s3a.session.token", E("AWS_SESSION_TOKEN"),
                              "none", SETT_STR, "session token of temporary credentials"},
    [SET_S3_REGION] = {SET_S3_REGION, "s3", NULL, "fs.s3a.endpoint.region", E("AWS_REGION", "AWS_DEFAULT_REGION"),
                       "from the profile, else us-east-1", SETT_STR, "signing region"},
    [SET_S3_CREDENTIALS_FILE] = {SET_S3_CREDENTIALS_FILE, "s3", NULL, NULL, E("AWS_SHARED_CREDENTIALS_FILE"),
                                 "~/.aws/credentials", SETT_STR, "the shared credentials file"},
    [SET_S3_CONFIG_FILE] = {SET_S3_CONFIG_FILE, "s3", NULL, NULL, E("AWS_CONFIG_FILE"), "~/.aws/config",
                            SETT_STR, "the shared config file"},
    [SET_S3_RETRY_BASE_MS] = {SET_S3_RETRY_BASE_MS, "s3", NULL, NULL, E("DISTCP_S3_RETRY_BASE_MS"), "100",
                              SETT_INT, "first S3 retry delay in ms, doubled per attempt"},

    /* ---- MPI edge */
    [SET_MPI_RANK_OUTPUT] = {SET_MPI_RANK_OUTPUT, "mpi", NULL, NULL, E("DISTCP_MPI_RANK_OUTPUT"), "off",
                             SETT_STR, "set: ranks other than 0 keep their stdout/stderr"},
    [SET_MPI_WORLD_SIZE] = {SET_MPI_WORLD_SIZE, "mpi", NULL, NULL,
                            E("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"), "set by mpirun",
                            SETT_INT, "read only: the launcher's rank count (MPI mode when set)"},
    [SET_MPI_RANK] = {SET_MPI_RANK, "mpi", NULL, NULL, E("PMIX_RANK", "PMI_RANK"), "set by mpirun", SETT_INT,
                      "read only: this process is a rank of an MPI launch"},
};

const struct setting *settings_row(enum setting_id id)
{
    return (unsigned)id < SET__COUNT ? &table[id] : NULL;
}

const struct setting *settings_all(size_t *n)
{
    *n = SET__COUNT;
    return table;
}

const char *settings_text(const struct setting *s, settings_get_fn get, void *ctx,
                          enum setting_src *src)
{
    const char *v = NULL;
    enum setting_src from = SETSRC_DEFAULT;
    if (s->key && get && (v = get(ctx, s->key)))
        from = SETSRC_DEFINE;
    for (size_t i = 0; !v && i < SETTING_MAX_ENV && s->env[i]; i++) {
        const char *e = getenv(s->env[i]);
        if (e && *e) {
            v = e;
            from = SETSRC_ENV;
        }
    }
    if (src)
        *src = from;
    return v;
}

bool settings_parse_long(const char *text, long *out)
{
    if (!text || !*text)
        return false;
    *out = atol(text);
    return true;
}

bool settings_parse_bool(const char *text, bool *out)
{
    if (!text)
        return false;
    *out = strcmp(text, "false") != 0;
    return true;
}

bool settings_parse_flag(const char *text, bool *out)
{
    if (!text || !*text)
        return false;
    *out = text[0] == '1';
    return true;
}

/* "-D key", "$A, $B" */
static void names(const struct setting *s, bool md, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < SETTING_MAX_ENV && s->env[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, md ? "%s`%s`" : "%s$%s", i ? ", " : "", s->env[i]);
    if (!o)
        snprintf(buf, len, "%s", md ? "" : "-");
}

static void print_row(FILE *out, const struct setting *s, bool markdown, const char *v)
{
    char env[256];
    names(s, markdown, env, sizeof env);
    if (markdown) {
        fprintf(out, "| %s | %s%s%s | %s%s%s | %s | %s | %s |\n", s->area, s->option ? "`" : "",
                s->option ? s->option : "", s->option ? "`" : "", s->key ? "`" : "",
                s->key ? s->key : "", s->key ? "`" : "", env, s->dflt, s->help);
        return;
    }
    if (s->key)
        fprintf(out, "  -D %s%s%s\n", s->key, env[0] != '-' ? "  " : "", env[0] != '-' ? env : "");
    else
        fprintf(out, "  %s\n", env[0] != '-' ? env : s->option);
    fprintf(out, "      %s%s%sdefault %s", s->option ? "option " : "", s->option ? s->option : "",
            s->option ? ", " : "", s->dflt);
    if (v)
        fprintf(out, ", now %s", v);
    fprintf(out, "\n      %s\n", s->help);
}

void settings_print(FILE *out, bool markdown, settings_value_fn value, void *ctx)
{
    char vb[256];
    if (markdown)
        fprintf(out, "| Area | Option | -D key | Environment | Default | Meaning |\n"
                     "| --- | --- | --- | --- | --- | --- |\n");
    else
        fprintf(out, "Settings distcp reads: an option given wins, then the last -D key=value,\n"
                     "then the first environment variable set (not empty), then the default.\n");
    /* grouped by area, areas in the order they first appear */
    for (size_t k = 0; k < SET__COUNT; k++) {
        bool first = true;
        for (size_t p = 0; p < k && first; p++)
            first = strcmp(table[p].area, table[k].area) != 0;
        if (!first)
            continue;
        if (!markdown)
            fprintf(out, "\n[%s]\n", table[k].area);
        for (size_t i = k; i < SET__COUNT; i++)
            if (!strcmp(table[i].area, table[k].area))
                print_row(out, &table[i], markdown,
                          value ? value(ctx, table[i].id, vb, sizeof vb) : NULL);
    }
}

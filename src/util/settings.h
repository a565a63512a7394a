/* settings.h - the one table of every setting distcp reads: its command-line
 * option, its -D key, its environment variables, its default, how its text
 * is parsed and what it means (docs/settings.md is generated from it).
 *
 * Pure data and parsers: util/ knows nothing above it, so backends may use
 * the parsers too. Resolution order, for every row: the option (when the row
 * has one and the CLI recorded it as given), else the last -D key=value, else
 * the first environment variable that is set and not empty, else the default.
 * The engine resolves its rows once per job (engine/options.c,
 * options_resolve); backends read their own rows once per store open.
 *
 * Threading: the table is constant; every function is reentrant. */
#ifndef DISTCP_SETTINGS_H
#define DISTCP_SETTINGS_H
#include <stdbool.h>
#include <stdio.h>

/* Rows. The first ones (up to SET__ENGINE_END) are resolved into the engine's
 * struct settings; the rest are read where they are used (backends, job
 * store, MPI edge) and are in the table for --help-config and the docs. */
enum setting_id {
    /* engine: options with a -D key (spec B §11) */
    SET_MAPS,               /* -m */
    SET_BANDWIDTH,          /* -bandwidth, distcp.map.bandwidth.mb */
    SET_COPY_BUFFER,        /* -copybuffersize, distcp.copy.buffer.size */
    SET_LIST_THREADS,       /* -numListstatusThreads, distcp.liststatus.threads */
    SET_FILTERS_FILE,       /* -filters, distcp.filters.file */
    SET_EXCLUDE_REGEX,      /* --exclude, distcp.exclude-file-regex */
    /* engine: -D keys only */
    SET_UPDATE_MTIME,       /* distcp.update.modification.time */
    SET_RETRY_DELAY_MS,     /* distcp.copy.retry.delay.ms */
    SET_DYN_SPLIT_RATIO,    /* distcp.dynamic.split.ratio */
    SET_DYN_CHUNKS_IDEAL,   /* distcp.dynamic.max.chunks.ideal */
    SET_DYN_MIN_RECORDS,    /* distcp.dynamic.min.records_per_chunk */
    SET_DYN_CHUNKS_TOLERABLE, /* distcp.dynamic.max.chunks.tolerable */
    SET_DFS_BPC,            /* dfs.bytes-per-checksum */
    SET_DFS_CKSUM_TYPE,     /* dfs.checksum.type */
    SET_DFS_BLOCKSIZE,      /* dfs.blocksize */
    /* engine: environment only */
    SET_WORKERS,            /* DISTCP_WORKERS */
    SET_CHUNK_MIN_MB,       /* DISTCP_CHUNK_MIN_MB */
    SET_CHUNK_MB,           /* DISTCP_CHUNK_MB */
    SET_SORT_MEM_MB,        /* DISTCP_SORT_MEM_MB */
    SET_TMPDIR,             /* TMPDIR */
    SET__ENGINE_END,
    /* distcp checksum */
    SET_DFS_COMBINE_MODE = SET__ENGINE_END, /* dfs.checksum.combine.mode */
    /* local store */
    SET_FSYNC,
    SET_NO_TMPFILE,
    /* job store */
    SET_JOB_STORE,
    SET_XDG_STATE_HOME,
    SET_HOME,
    SET_JOURNAL_INTERVAL_MS,
    /* WebHDFS */
    SET_NN_HTTP_ADDRESS,
    SET_WH_USER_NAME,
    SET_WH_BASIC_USER,
    SET_WH_BASIC_PASSWORD,
    SET_WH_CA_FILE,
    SET_WH_INSECURE,
    SET_WH_AUTH,
    SET_WH_KEYTAB,
    SET_WH_DELEGATION_TOKEN,
    SET_WH_FETCH_DELEGATION,
    SET_WH_HTTPFS,
    SET_WH_RETRY_BASE_MS,
    SET_WH_RETRY_ATTEMPTS,
    /* S3 */
    SET_S3_ENDPOINT,
    SET_S3_SSL_ENABLED,
    SET_S3_PATH_STYLE,
    SET_S3_SSL_VERIFY,
    SET_S3_MULTIPART_THRESHOLD,
    SET_S3_MULTIPART_SIZE,
    SET_S3_PROFILE,
    SET_S3_ACCESS_KEY,
    SET_S3_SECRET_KEY,
    SET_S3_SESSION_TOKEN,
    SET_S3_REGION,
    SET_S3_CREDENTIALS_FILE,
    SET_S3_CONFIG_FILE,
    SET_S3_RETRY_BASE_MS,
    /* MPI edge */
    SET_MPI_RANK_OUTPUT,
    SET_MPI_WORLD_SIZE,
    SET_MPI_RANK,
    SET__COUNT
};

/* How a row's text becomes a value. */
enum setting_type {
    SETT_STR,     /* text as given */
    SETT_INT,     /* decimal integer (atol: leading digits, else 0) */
    SETT_FLOAT,   /* decimal number */
    SETT_BOOL,    /* "false" is false, any other text true */
    SETT_FLAG,    /* "1" turns it on */
};

#define SETTING_MAX_ENV 5   /* four names at most, then NULL */

struct setting {
    enum setting_id id;
    const char *area;               /* "copy", "listing", "webhdfs", "s3", ... */
    const char *option;             /* command-line option or NULL */
    const char *key;                /* -D key or NULL */
    const char *env[SETTING_MAX_ENV]; /* environment variables, first set wins; NULL-ended */
    const char *dflt;               /* default, as text (may describe a rule) */
    enum setting_type type;
    const char *help;               /* one line */
};

/* The row of id (never NULL for id < SET__COUNT). Borrowed, static. */
const struct setting *settings_row(enum setting_id id);
/* Every row, in table order; *n is set to the count. Borrowed, static. */
const struct setting *settings_all(size_t *n);

/* A -D lookup: the last value given for key, or NULL. */
typedef const char *(*settings_get_fn)(void *ctx, const char *key);

/* Where a row's text came from. */
enum setting_src { SETSRC_DEFAULT, SETSRC_OPTION, SETSRC_DEFINE, SETSRC_ENV };

/* The text of row s from the -D keys (get may be NULL), then its environment
 * variables (set and not empty); NULL when neither has it. *src (may be NULL)
 * says which. The option is the caller's: it has the parsed value. Borrowed
 * (from ctx or the environment). */
const char *settings_text(const struct setting *s, settings_get_fn get, void *ctx,
                          enum setting_src *src);

/* Parsers of the table's types. Each returns false for text it does not
 * accept (NULL or empty: the caller keeps its default). */
bool settings_parse_long(const char *text, long *out);
bool settings_parse_bool(const char *text, bool *out);
bool settings_parse_flag(const char *text, bool *out);

/* Print the table: markdown=false for --help-config (one block per row),
 * true for docs/settings.md (a table). `value` (may be NULL) gives the
 * effective value of a row as text, or NULL to leave it out. */
typedef const char *(*settings_value_fn)(void *ctx, enum setting_id id, char *buf, size_t len);
void settings_print(FILE *out, bool markdown, settings_value_fn value, void *ctx);

#endif

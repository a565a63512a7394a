/* options.h - the parsed, validated options of one copy job.
 *
 * Filled by cmd/cli.c (cli_parse) from argv, read by the engine. Plain data:
 * every string is heap-owned by the struct and released by options_release().
 * Defaults are set by options_init(). Nothing here touches a file system. */
#ifndef DISTCP_OPTIONS_H
#define DISTCP_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* -p letters, as bits (the same values as the backend's BE_ATTR_*). */
enum {
    PRESERVE_R = BE_ATTR_REPLICATION, /* replication */
    PRESERVE_B = BE_ATTR_BLOCKSIZE,   /* block size */
    PRESERVE_U = BE_ATTR_OWNER,       /* user (owner) */
    PRESERVE_G = BE_ATTR_GROUP,       /* group */
    PRESERVE_P = BE_ATTR_MODE,        /* permission */
    PRESERVE_C = BE_ATTR_CKSUMTYPE,   /* checksum type */
    PRESERVE_A = BE_ATTR_ACL,         /* ACL */
    PRESERVE_X = BE_ATTR_XATTR,       /* xattrs */
    PRESERVE_T = BE_ATTR_TIMES,       /* times */
};

enum strategy { STRATEGY_UNIFORMSIZE, STRATEGY_DYNAMIC };

/* A -D key=value pair (kept in order given; later wins). */
struct kv {
    char *key;
    char *value;
};

struct options {
    /* positional */
    char **sources;          /* expanded later; as given (trimmed) */
    size_t nsources;
    char *target;
    char *source_list;       /* -f */

    /* flags */
    bool ignore_failures;    /* -i */
    unsigned preserve;       /* PRESERVE_* bits */
    bool update;             /* -update */
    bool overwrite;          /* -overwrite */
    bool append;             /* -append */
    bool delete_missing;     /* -delete */
    bool update_root;        /* -updateRoot */
    char *diff_from, *diff_to;   /* -diff old new */
    char *rdiff_new, *rdiff_old; /* -rdiff new old */
    char *filters_file;      /* -filters */
    bool atomic;             /* -atomic */
    char *tmp_dir;           /* -tmp */
    char *log_dir;           /* -log */
    bool verbose;            /* -v */
    int max_maps;            /* -m, default 20 */
    enum strategy strategy;  /* -strategy */
    char *strategy_name;     /* as given */
    double bandwidth_mb;     /* -bandwidth MiB/s per task, default 100; 0 = unset */
    bool bandwidth_set;
    int list_threads;        /* -numListstatusThreads, default 1 (clamped 1..40) */
    bool use_iterator;       /* -useiterator */
    bool skip_crc;           /* -skipcrccheck */
    int blocks_per_chunk;    /* -blocksperchunk, default 0 */
    long copy_buffer_size;   /* -copybuffersize, default 8192 */
    bool direct;             /* -direct */
    char *xtrack_dir;        /* -xtrack */
    bool async;              /* -async */

    /* Part A additions */
    bool dry_run;            /* --dry-run */
    bool json;               /* --json */
    bool checksum;           /* --checksum: force full content comparison in -update */
    long long max_delete;    /* --max-delete N; -1 = unlimited */
    char *trash_dir;         /* --trash DIR */
    char **excludes;         /* --exclude REGEX (repeatable) */
    size_t nexcludes;
    int progress;            /* --progress / --no-progress: 1 on, 0 off, -1 auto (tty) */
    double global_bandwidth_mb; /* --global-bandwidth MiB/s over all workers; 0 = none */

    /* the job record (src/jobs/): not Hadoop options */
    char *job_store;         /* --job-store PATH ("none": do not record) */
    int64_t job_id;          /* run this recorded job (0: create one) */
    char *job_argv;          /* the command line as JSON, secrets redacted */
    bool job_resume;         /* resume job_id from its saved plan and journal */
    bool job_detached;       /* running detached: stderr is the job's log */

    /* -D key=value (distcp.* keys of spec B §11) */
    struct kv *defs;
    size_t ndefs;
};

void options_init(struct options *o);
void options_release(struct options *o);
/* Last value given for -D key, or NULL. Borrowed. */
const char *options_def(const struct options *o, const char *key);

#endif

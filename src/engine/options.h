/* options.h - the parsed, validated options of one copy job, and the
 * effective settings the engine reads (struct settings).
 *
 * Filled by cmd/cli.c (cli_parse) from argv, read by the engine. Plain data:
 * every string is heap-owned by the struct and released by options_release().
 * Defaults are set by options_init(). Nothing here touches a file system.
 * The settings (util/settings.h is the table, docs/settings.md its text)
 * are resolved once per job by options_resolve(): option given, else -D,
 * else environment, else default. Nothing on a hot path reads getenv or
 * scans -D keys: it reads o->settings. */
#ifndef DISTCP_OPTIONS_H
#define DISTCP_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "util/cksum_spec.h"
#include "util/settings.h"

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

/* The engine's effective settings (rows up to SET__ENGINE_END of the table). */
struct settings {
    bool resolved;           /* options_resolve() ran (else: defaults) */
    size_t copy_buffer;      /* bytes per read/write (SET_COPY_BUFFER) */
    int list_threads;        /* listing threads, 1..40; 1 with -useiterator */
    bool update_mtime;       /* distcp.update.modification.time */
    unsigned retry_delay_ms; /* distcp.copy.retry.delay.ms */
    long dyn_split_ratio, dyn_chunks_ideal, dyn_min_records, dyn_chunks_tolerable;
    bool workers_set;        /* DISTCP_WORKERS given */
    int workers;             /* its value */
    uint64_t chunk_min;      /* bytes: DISTCP_CHUNK_MIN_MB */
    uint64_t chunk_size;     /* bytes: DISTCP_CHUNK_MB */
    size_t sort_mem;         /* bytes: DISTCP_SORT_MEM_MB, at least 1 MiB */
    char *tmpdir;            /* TMPDIR, else "/tmp" (heap) */
    unsigned journal_ms;     /* DISTCP_JOURNAL_INTERVAL_MS as given (0: not given; the
                                job record and MPI rows apply their own floor) */
    struct cksum_spec cksum; /* dfs.bytes-per-checksum, dfs.checksum.type, dfs.blocksize */
};

/* Bit of o->given for a settings row that has an option. */
#define OPT_GIVEN(id) (UINT64_C(1) << (id))

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
    int list_threads;        /* -numListstatusThreads as parsed (clamped 1..40); see given */
    bool use_iterator;       /* -useiterator */
    bool skip_crc;           /* -skipcrccheck */
    int blocks_per_chunk;    /* -blocksperchunk, default 0 */
    long copy_buffer_size;   /* -copybuffersize as parsed (8192 when not given); see given */
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

    /* OPT_GIVEN(SET_*) bits: the option (or its -D key) was given with a
     * usable value; a value equal to Hadoop's default is still "given". */
    uint64_t given;
    struct settings settings;   /* filled by options_resolve() */
};

void options_init(struct options *o);
void options_release(struct options *o);
/* Last value given for -D key, or NULL. Borrowed. */
const char *options_def(const struct options *o, const char *key);
/* Resolve o->settings from the options given, the -D keys, the environment
 * and the defaults (once per job; job_run calls it, a second call is a
 * no-op). Returns 0, or -1 out of memory. */
int options_resolve(struct options *o);
/* The effective value of a settings row as text (for --help-config), or
 * NULL for rows the engine does not resolve. Needs options_resolve() first. */
const char *options_setting_text(const struct options *o, enum setting_id id, char *buf, size_t len);

#endif

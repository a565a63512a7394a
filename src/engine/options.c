/* options.c - defaults, release and -D lookup for struct options, and the
 * resolution of the engine's settings (util/settings.h is the table).
 *
 * Invariants: after options_init() every pointer is NULL and every count 0,
 * and o->settings holds the defaults (not the environment);
 * options_release() frees every heap string the struct owns and leaves it in
 * the options_init() state, so releasing twice is harmless.
 * Threading: plain data; no shared state. */
#include "engine/options.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_COPY_BUFFER (1u << 20)   /* ours; Hadoop's is 8192 */
#define DEF_LIST_THREADS 8           /* ours; Hadoop's is 1 (the result never depends on it) */

static void settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof *s);
    s->copy_buffer = DEF_COPY_BUFFER;
    s->list_threads = DEF_LIST_THREADS;
    s->update_mtime = true;
    s->retry_delay_ms = 500;
    s->dyn_split_ratio = 2;
    s->dyn_chunks_ideal = 100;
    s->dyn_min_records = 5;
    s->dyn_chunks_tolerable = 400;
    s->chunk_min = (uint64_t)256 << 20;
    s->chunk_size = (uint64_t)64 << 20;
    s->sort_mem = (size_t)128 << 20;
    cksum_spec_default(&s->cksum);
}

void options_init(struct options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->max_maps = 20;
    o->strategy = STRATEGY_UNIFORMSIZE;
    o->bandwidth_mb = 100.0;
    o->bandwidth_set = false;
    o->list_threads = 1;
    o->copy_buffer_size = 8192;
    o->blocks_per_chunk = 0;
    o->max_delete = -1;
    o->progress = -1;
    settings_defaults(&o->settings);
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void options_release(struct options *o)
{
    if (!o)
        return;
    free_strv(o->sources, o->nsources);
    free(o->target);
    free(o->job_store);
    free(o->job_argv);
    free(o->source_list);
    free(o->diff_from);
    free(o->diff_to);
    free(o->rdiff_new);
    free(o->rdiff_old);
    free(o->filters_file);
    free(o->tmp_dir);
    free(o->log_dir);
    free(o->strategy_name);
    free(o->xtrack_dir);
    free(o->trash_dir);
    free_strv(o->excludes, o->nexcludes);
    if (o->defs) {
        for (size_t i = 0; i < o->ndefs; i++) {
            free(o->defs[i].key);
            free(o->defs[i].value);
        }
        free(o->defs);
    }
    free(o->settings.tmpdir);
    options_init(o);
}

const char *options_def(const struct options *o, const char *key)
{
    if (!o || !key)
        return NULL;
    for (size_t i = o->ndefs; i > 0; i--) {
        const struct kv *kv = &o->defs[i - 1];
        if (kv->key && strcmp(kv->key, key) == 0)
            return kv->value;
    }
    return NULL;
}

static const char *def_get(void *ctx, const char *key)
{
    return options_def(ctx, key);
}

/* The row's text from -D or the environment, or NULL. */
static const char *text_of(struct options *o, enum setting_id id)
{
    return settings_text(settings_row(id), def_get, o, NULL);
}

static long long_of(struct options *o, enum setting_id id, long dflt)
{
    long v;
    return settings_parse_long(text_of(o, id), &v) ? v : dflt;
}

int options_resolve(struct options *o)
{
    struct settings *s = &o->settings;
    const char *v;
    char *e;
    if (s->resolved)
        return 0;
    /* options (the CLI folded their -D keys in and recorded them as given) */
    if (o->given & OPT_GIVEN(SET_COPY_BUFFER))
        s->copy_buffer = (size_t)o->copy_buffer_size;
    if (o->use_iterator)
        s->list_threads = 1;
    else if (o->given & OPT_GIVEN(SET_LIST_THREADS))
        s->list_threads = o->list_threads < 1 ? 1 : o->list_threads;
    /* -D keys */
    settings_parse_bool(text_of(o, SET_UPDATE_MTIME), &s->update_mtime);
    if ((v = text_of(o, SET_RETRY_DELAY_MS)))
        s->retry_delay_ms = (unsigned)atoi(v);
    s->dyn_split_ratio = long_of(o, SET_DYN_SPLIT_RATIO, s->dyn_split_ratio);
    s->dyn_chunks_ideal = long_of(o, SET_DYN_CHUNKS_IDEAL, s->dyn_chunks_ideal);
    s->dyn_min_records = long_of(o, SET_DYN_MIN_RECORDS, s->dyn_min_records);
    s->dyn_chunks_tolerable = long_of(o, SET_DYN_CHUNKS_TOLERABLE, s->dyn_chunks_tolerable);
    if ((v = text_of(o, SET_DFS_BPC)) && *v) {
        unsigned long n = strtoul(v, &e, 10);
        if (!*e && n > 0 && n <= INT32_MAX)
            s->cksum.bpc = (uint32_t)n;
    }
    if ((v = text_of(o, SET_DFS_CKSUM_TYPE)))
        cksum_parse_type(v, &s->cksum.type);
    if ((v = text_of(o, SET_DFS_BLOCKSIZE)) && *v) {
        unsigned long long n = strtoull(v, &e, 10);
        if (!*e && n > 0)
            s->cksum.block_size = n;
    }
    /* environment */
    if ((v = text_of(o, SET_WORKERS))) {
        s->workers_set = true;
        s->workers = atoi(v);
    }
    if ((v = text_of(o, SET_CHUNK_MIN_MB)))
        s->chunk_min = (uint64_t)atoi(v) << 20;
    if ((v = text_of(o, SET_CHUNK_MB)))
        s->chunk_size = (uint64_t)atoi(v) << 20;
    if ((v = text_of(o, SET_SORT_MEM_MB))) {
        long mb = atol(v);
        s->sort_mem = (size_t)(mb < 1 ? 1 : mb) << 20;
    }
    if ((v = text_of(o, SET_JOURNAL_INTERVAL_MS)) && atoi(v) > 0)
        s->journal_ms = (unsigned)atoi(v);
    v = text_of(o, SET_TMPDIR);
    if (!(s->tmpdir = strdup(v ? v : "/tmp")))
        return -1;
    s->resolved = true;
    return 0;
}

const char *options_setting_text(const struct options *o, enum setting_id id, char *buf, size_t len)
{
    const struct settings *s = &o->settings;
    switch (id) {
    case SET_MAPS:
        snprintf(buf, len, "%d", o->max_maps);
        break;
    case SET_BANDWIDTH:
        if (o->bandwidth_set)
            snprintf(buf, len, "%g", o->bandwidth_mb);
        else
            snprintf(buf, len, "unlimited");
        break;
    case SET_COPY_BUFFER:
        snprintf(buf, len, "%zu", s->copy_buffer);
        break;
    case SET_LIST_THREADS:
        snprintf(buf, len, "%d", s->list_threads);
        break;
    case SET_UPDATE_MTIME:
        snprintf(buf, len, "%s", s->update_mtime ? "true" : "false");
        break;
    case SET_RETRY_DELAY_MS:
        snprintf(buf, len, "%u", s->retry_delay_ms);
        break;
    case SET_DYN_SPLIT_RATIO:
        snprintf(buf, len, "%ld", s->dyn_split_ratio);
        break;
    case SET_DYN_CHUNKS_IDEAL:
        snprintf(buf, len, "%ld", s->dyn_chunks_ideal);
        break;
    case SET_DYN_MIN_RECORDS:
        snprintf(buf, len, "%ld", s->dyn_min_records);
        break;
    case SET_DYN_CHUNKS_TOLERABLE:
        snprintf(buf, len, "%ld", s->dyn_chunks_tolerable);
        break;
    case SET_DFS_BPC:
        snprintf(buf, len, "%" PRIu32, s->cksum.bpc);
        break;
    case SET_DFS_BLOCKSIZE:
        snprintf(buf, len, "%" PRIu64, (uint64_t)s->cksum.block_size);
        break;
    case SET_WORKERS:
        if (!s->workers_set)
            return NULL;
        snprintf(buf, len, "%d", s->workers);
        break;
    case SET_CHUNK_MIN_MB:
        snprintf(buf, len, "%" PRIu64, s->chunk_min >> 20);
        break;
    case SET_CHUNK_MB:
        snprintf(buf, len, "%" PRIu64, s->chunk_size >> 20);
        break;
    case SET_SORT_MEM_MB:
        snprintf(buf, len, "%zu", s->sort_mem >> 20);
        break;
    case SET_JOURNAL_INTERVAL_MS:
        snprintf(buf, len, "%u", s->journal_ms ? s->journal_ms : 5000);
        break;
    case SET_TMPDIR:
        snprintf(buf, len, "%s", s->tmpdir ? s->tmpdir : "/tmp");
        break;
    default:
        return NULL;
    }
    return buf;
}

/* options.c - defaults, release and -D lookup for struct options.
 *
 * Invariants: after options_init() every pointer is NULL and every count 0;
 * options_release() frees every heap string the struct owns and leaves it in
 * the options_init() state, so releasing twice is harmless.
 * Threading: plain data; no shared state. */
#include "engine/options.h"

#include <stdlib.h>
#include <string.h>

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

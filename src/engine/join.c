/* join.c - lock-step walk of plan and target listing; see join.h.
 *
 * Deletion candidates (B §8.1): a target key missing from the source, not
 * below a directory already marked (its subtree follows it contiguously in
 * key order), not matching a filter (ENTRY_F_EXCLUDED), and not another
 * run's temp file. They are written as [uint16 length][key bytes, stored
 * form] records to <workdir>/deletions, so memory stays bounded. */
#include "engine/join.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/listing.h"

#define TMP_PREFIX ".distcp.tmp."

struct join {
    struct job *j;
    struct sorter *tlist;
    struct plan_iter *ti;
    char *cur;               /* copy of the current target record */
    bool have;
    char *last;              /* key of the last directory marked for deletion */
    size_t last_len;
    bool have_last;
    FILE *dels;
};

static void to_tstat(const struct entry *e, struct tstat *t)
{
    memset(t, 0, sizeof *t);
    t->size = e->size;
    t->mtime_ns = e->mtime_ns;
    t->atime_ns = e->atime_ns;
    t->mode = e->mode;
    t->uid = e->uid;
    t->gid = e->gid;
    t->type = e->type;
    t->digest = e->digest;
    t->dflags = e->flags & (ENTRY_F_DKNOWN | ENTRY_F_DVALID);
}

static int advance(struct join *jn)
{
    int err = 0;
    const struct entry *e = plan_iter_next(jn->ti, &err);
    if (err) {
        job_fail(jn->j, JOB_FAILED, "cannot read the target listing: %s", err_str(err));
        return -1;
    }
    jn->have = e != NULL;
    if (e)
        memcpy(jn->cur, e, entry_size(e));
    return 0;
}

static bool is_temp_key(const struct entry *e)
{
    const char *k = entry_key(e);
    size_t n = e->keylen, i = n;
    while (i > 0 && k[i - 1] != 0)
        i--;
    return n - i >= strlen(TMP_PREFIX) && !memcmp(k + i, TMP_PREFIX, strlen(TMP_PREFIX));
}

/* A target entry the source does not have. */
static int missing_at_source(struct join *jn, const struct entry *t)
{
    struct job *j = jn->j;
    if (!j->o->delete_missing)
        return 0;
    if (jn->have_last && t->keylen > jn->last_len &&
        !memcmp(entry_key(t), jn->last, jn->last_len) && entry_key(t)[jn->last_len] == 0)
        return 0;                           /* below a directory already marked */
    if ((t->flags & ENTRY_F_EXCLUDED) || is_temp_key(t) || t->keylen == 0)
        return 0;
    uint16_t l = t->keylen;
    if (fwrite(&l, sizeof l, 1, jn->dels) != 1 || fwrite(entry_key(t), l, 1, jn->dels) != 1) {
        job_fail(j, JOB_FAILED, "cannot write the deletion list '%s': %s", j->del_path, strerror(errno));
        return -1;
    }
    j->ndeletions++;
    memcpy(jn->last, entry_key(t), l);
    jn->last_len = l;
    jn->have_last = true;
    return 0;
}

enum job_status join_open(struct job *j, struct join **out)
{
    struct errinfo ei = {0};
    *out = NULL;
    if (j->fresh_target || !j->contents_update || !j->target_is_dir || j->o->atomic)
        return JOB_OK;
    struct join *jn = calloc(1, sizeof *jn);
    if (!jn) {
        job_fail(j, JOB_FAILED, "out of memory");
        return JOB_FAILED;
    }
    jn->j = j;
    jn->cur = malloc(sizeof(struct entry) + ENTRY_KEY_MAX + 8);
    jn->last = malloc(ENTRY_KEY_MAX + 1);
    if (!jn->cur || !jn->last) {
        join_free(jn);
        job_fail(j, JOB_FAILED, "out of memory");
        return JOB_FAILED;
    }
    if (listing_walk_target(j, j->tfs, j->work, true, &jn->tlist, &ei)) {
        join_free(jn);
        job_fail(j, JOB_FAILED, "cannot list the target '%s': %s", j->o->target, ei.msg);
        return JOB_FAILED;
    }
    jn->ti = plan_iter_new(jn->tlist, &ei);
    if (!jn->ti) {
        join_free(jn);
        job_fail(j, JOB_FAILED, "%s", ei.msg);
        return JOB_FAILED;
    }
    if (j->o->delete_missing) {
        snprintf(j->del_path, sizeof j->del_path, "%s/deletions", j->workdir);
        jn->dels = fopen(j->del_path, "wbx");
        if (!jn->dels) {
            job_fail(j, JOB_FAILED, "cannot create the deletion list '%s': %s", j->del_path, strerror(errno));
            join_free(jn);
            return JOB_FAILED;
        }
    }
    if (advance(jn)) {
        join_free(jn);
        return JOB_FAILED;
    }
    *out = jn;
    return JOB_OK;
}

int join_step(struct join *jn, const struct entry *e, struct tstat *t)
{
    while (jn->have) {
        const struct entry *cur = (const struct entry *)jn->cur;
        int c = entry_cmp(cur, e);
        if (c > 0)
            return 0;
        if (c == 0) {
            to_tstat(cur, t);
            return advance(jn) ? -1 : 1;
        }
        if (missing_at_source(jn, cur) || advance(jn))
            return -1;
    }
    return 0;
}

enum job_status join_finish(struct join *jn)
{
    while (jn->have) {
        if (missing_at_source(jn, (const struct entry *)jn->cur) || advance(jn))
            return JOB_FAILED;
    }
    if (jn->dels) {
        FILE *f = jn->dels;
        jn->dels = NULL;
        if (fclose(f) != 0) {
            job_fail(jn->j, JOB_FAILED, "cannot write the deletion list '%s': %s", jn->j->del_path,
                     strerror(errno));
            return JOB_FAILED;
        }
    }
    return JOB_OK;
}

void join_free(struct join *jn)
{
    if (!jn)
        return;
    plan_iter_free(jn->ti);
    sorter_free(jn->tlist);
    if (jn->dels)
        fclose(jn->dels);
    free(jn->cur);
    free(jn->last);
    free(jn);
}

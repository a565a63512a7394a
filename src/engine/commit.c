/* commit.c - the commit phase. Order (B §8.2): delete (or atomic rename, or
 * xtrack), then directory attributes on the final paths.
 *
 * -delete: the target is listed like a source (keys relative to the target
 * root, filters applied), both sorted listings are walked in lock-step, and
 * every target key missing from the source is removed recursively; children
 * of a removed directory are contiguous after it in key order and are
 * skipped. The deletions are gathered first so that --max-delete can refuse
 * before anything is removed. Single-threaded (main thread). */
#include "engine/commit.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/attrs.h"
#include "engine/listing.h"
#include "engine/recorder.h"
#include "engine/policy.h"

#define PATHMAX 8192
#define TMP_PREFIX ".distcp.tmp."

/* Temp names "<prefix><pid>.<worker>.<seq>.<host>" seen in the temp dir. */
struct stray {
    char **names;
    size_t n, cap;
};
#define STRAY_MAX 100000    /* at most this many stray temps removed per run */

static int stray_cb(void *arg, const char *name, size_t namelen, const struct be_stat *st)
{
    struct stray *s = arg;
    if (namelen <= strlen(TMP_PREFIX) ||
        strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) || s->n >= STRAY_MAX)
        return ERR_OK;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char **g = realloc(s->names, nc * sizeof *g);
        if (!g)
            return ERR_NOMEM;
        s->names = g;
        s->cap = nc;
    }
    if (!(s->names[s->n] = strndup(name, namelen)))
        return ERR_NOMEM;
    s->n++;
    return ERR_OK;
}

void commit_clean_stray(struct job *j)
{
    /* Stores whose paths are this host's files: temp names carry
     * "<pid>.<worker>.<seq>.<host>", so a temp of this host whose process is
     * gone was left by a killed run. Listed and removed through the store. */
    struct be_fs *fs = j->tfs;
    const char *dir = j->tmp_dir;
    struct be_stat st;
    struct stray s = {0};
    if (j->o->dry_run || !dir || !(fs->ops->caps & BE_CAP_LOCAL_PATHS) ||
        fs->ops->stat(fs, dir, &st, NULL) || st.type != BE_DIR)
        return;
    fs->ops->list(fs, dir, stray_cb, &s, NULL);   /* what it found before a failure is fine */
    for (size_t i = 0; i < s.n; i++) {
        const char *p = s.names[i] + strlen(TMP_PREFIX);
        char *end = NULL;
        long pid = strtol(p, &end, 10);
        if (!end || *end != '.' || pid <= 0)
            continue;
        /* skip worker and seq */
        const char *host = end + 1;
        for (int k = 0; k < 2 && host; k++) {
            host = strchr(host, '.');
            if (host)
                host++;
        }
        if (!host || strcmp(host, j->host))
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[PATHMAX];
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", s.names[i]);
        if (fs->ops->remove(fs, path, false, NULL) == ERR_OK)
            fprintf(stderr, "distcp: removed stray temp file '%s' left by a killed run (pid %ld)\n", path, pid);
    }
    for (size_t i = 0; i < s.n; i++)
        free(s.names[i]);
    free(s.names);
}

static int trash_move(struct job *j, struct be_fs *tfs, const char *path, const char *key,
                      struct errinfo *ei)
{
    char dst[PATHMAX], parent[PATHMAX];
    int n = snprintf(dst, sizeof dst, "%s%s", j->o->trash_dir, key);
    if (n < 0 || (size_t)n >= sizeof dst)
        return err_setx(ei, ERR_NAME_TOO_LONG, "trash path too long for '%s'", path);
    snprintf(parent, sizeof parent, "%s", dst);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        int rc = tfs->ops->mkdirs(tfs, parent, 0700, ei);
        if (rc)
            return rc;
    }
    struct be_stat st;
    if (tfs->ops->stat(tfs, dst, &st, NULL) == ERR_OK) {
        /* keep earlier trash: add a timestamp suffix */
        size_t l = strlen(dst);
        snprintf(dst + l, sizeof dst - l, ".%lld", (long long)(now_seconds() * 1000));
    }
    return tfs->ops->rename(tfs, path, dst, ei);
}

/* Carry out the deletions the join gathered (B §8.1), after --max-delete
 * has had its say; --trash moves instead of removing (Part A 6). */
static enum job_status do_delete(struct job *j)
{
    char path[PATHMAX];
    char key[ENTRY_KEY_MAX + 2];
    struct errinfo ei = {0};
    enum job_status status = JOB_OK;
    FILE *f = NULL;
    if (!j->del_path[0] || j->ndeletions == 0)
        return JOB_OK;
    if (j->o->max_delete >= 0 && (long long)j->ndeletions > j->o->max_delete) {
        job_fail(j, JOB_FAILED, "refusing to delete %llu entries from %s: more than --max-delete %lld; nothing was deleted",
                 (unsigned long long)j->ndeletions, j->o->target, j->o->max_delete);
        return JOB_FAILED;
    }
    f = fopen(j->del_path, "rb");
    if (!f) {
        job_fail(j, JOB_FAILED, "cannot read the deletion list '%s': %s", j->del_path, strerror(errno));
        return JOB_FAILED;
    }
    const char *troot = strcmp(j->target, "/") ? j->target : "";
    size_t tl = strlen(troot);
    uint16_t kl;
    while (fread(&kl, sizeof kl, 1, f) == 1) {
        if (kl > ENTRY_KEY_MAX || fread(key, kl, 1, f) != 1) {
            job_fail(j, JOB_FAILED, "the deletion list '%s' is corrupt", j->del_path);
            status = JOB_FAILED;
            goto out;
        }
        for (size_t i = 0; i < kl; i++)
            if (!key[i])
                key[i] = '/';
        key[kl] = 0;
        if (kl < 2 || key[0] != '/') {
            /* never the target root itself (B §8.1) */
            job_fail(j, JOB_FAILED, "internal error: refusing to delete '%s' (key '%s')", j->target, key);
            status = JOB_FAILED;
            goto out;
        }
        if (tl + kl >= sizeof path) {
            job_fail(j, JOB_FAILED, "cannot delete below '%s': path too long", j->target);
            status = JOB_FAILED;
            goto out;
        }
        memcpy(path, troot, tl);
        memcpy(path + tl, key, (size_t)kl + 1);
        if (j->o->dry_run) {
            if (j->dry_out) {
                pthread_mutex_lock(&j->out_lock);
                fprintf(j->dry_out, "DELETE %s\n", path);
                pthread_mutex_unlock(&j->out_lock);
            }
            job_count(j, C_DELETED, 1);
            rec_row(j, JR_MAIN_WORKER, NULL, NULL, path, JR_DELETED, NULL);
            continue;
        }
        int rc = j->o->trash_dir ? trash_move(j, j->tfs, path, key, &ei)
                                 : j->tfs->ops->remove(j->tfs, path, true, &ei);
        if (rc == ERR_OK || rc == ERR_NOT_FOUND) {
            job_count(j, C_DELETED, 1);
            rec_row(j, JR_MAIN_WORKER, NULL, NULL, path, JR_DELETED,
                       j->o->trash_dir ? "moved to the trash" : NULL);
            continue;
        }
        rec_row(j, JR_MAIN_WORKER, NULL, NULL, path, JR_FAILED, ei.msg);
        if (policy_decide(rc, &ei, SIDE_COMMIT, j->o, POLICY_LAST) == POLICY_COUNT_AND_GO_ON) {
            job_error(j, "cannot delete '%s' (ignored, -i): %s", path, ei.msg);
            continue;
        }
        job_fail(j, JOB_FAILED, "cannot delete '%s': %s", path, ei.msg);
        status = JOB_FAILED;
        goto out;
    }
    if (ferror(f)) {
        job_fail(j, JOB_FAILED, "cannot read the deletion list '%s'", j->del_path);
        status = JOB_FAILED;
    }
out:
    fclose(f);
    return status;
}

static enum job_status write_keys(struct job *j, struct sorter *s, const char *dir, const char *name)
{
    char path[PATHMAX];
    struct errinfo ei = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        job_fail(j, JOB_FAILED, "cannot write -xtrack file '%s': %s", path, strerror(errno));
        return JOB_FAILED;
    }
    struct plan_iter *it = plan_iter_new(s, &ei);
    const struct entry *e;
    int err = 0;
    char key[ENTRY_KEY_MAX + 2];
    while (it && (e = plan_iter_next(it, &err))) {
        entry_key_copy(e, key, sizeof key);
        fprintf(f, "%s\n", e->keylen ? key : "/");
    }
    plan_iter_free(it);
    if (fclose(f) != 0 || err) {
        job_fail(j, JOB_FAILED, "cannot write -xtrack file '%s'", path);
        return JOB_FAILED;
    }
    return JOB_OK;
}

static enum job_status do_xtrack(struct job *j)
{
    struct errinfo ei = {0};
    struct sorter *ts = NULL;
    enum job_status status;
    if (j->o->dry_run)
        return JOB_OK;
    struct be_fs *fs = NULL;
    char *dir = NULL;
    if (backend_open_uri(j->o->xtrack_dir, &j->cfg, &fs, &dir, &ei) ||
        !(fs->ops->caps & BE_CAP_LOCAL_PATHS) || fs->ops->mkdirs(fs, dir, 0777, &ei)) {
        job_fail(j, JOB_FAILED, "cannot use -xtrack dir '%s': %s", j->o->xtrack_dir,
                 ei.msg[0] ? ei.msg : "only local directories are supported");
        backend_close(fs);
        free(dir);
        return JOB_FAILED;
    }
    status = write_keys(j, j->plan, dir, "source_sorted.seq");
    struct be_stat st;
    if (!status) {
        if (j->tfs->ops->stat(j->tfs, j->target, &st, NULL) == ERR_OK && st.type == BE_DIR) {
            if (listing_walk_target(j, j->tfs, j->target, false, &ts, &ei)) {
                job_fail(j, JOB_FAILED, "cannot list the target for -xtrack: %s", ei.msg);
                status = JOB_FAILED;
            }
        }
        if (!status) {
            if (!ts)
                ts = sorter_new(j->workdir, 1 << 16), sorter_finish(ts, &ei);
            status = write_keys(j, ts, dir, "target_sorted.seq");
        }
    }
    sorter_free(ts);
    backend_close(fs);
    free(dir);
    return status;
}

static enum job_status do_atomic(struct job *j)
{
    struct errinfo ei = {0};
    struct be_stat st;
    if (j->o->dry_run)
        return JOB_OK;
    bool final_exists = j->tfs->ops->stat(j->tfs, j->target, &st, NULL) == ERR_OK;
    bool work_exists = j->tfs->ops->stat(j->tfs, j->work, &st, NULL) == ERR_OK;
    if (!work_exists) {
        /* nothing was copied (e.g. empty listing): create the empty target like Hadoop's rename of an empty WIP dir */
        return JOB_OK;
    }
    if (final_exists) {
        job_fail(j, JOB_FAILED, "Target-path can't be committed to because it exists at %s. Copied data is in temp-dir: %s. ",
                 j->target, j->work);
        return JOB_FAILED;
    }
    int rc = j->tfs->ops->rename(j->tfs, j->work, j->target, &ei);
    if (rc) {
        bool t = j->tfs->ops->stat(j->tfs, j->target, &st, NULL) == ERR_OK;
        bool w = j->tfs->ops->stat(j->tfs, j->work, &st, NULL) == ERR_OK;
        if (t && !w)
            return JOB_OK;
        job_fail(j, JOB_FAILED, "Atomic commit failed. Temporary data in %s, Unable to move to %s: %s",
                 j->work, j->target, ei.msg);
        return JOB_FAILED;
    }
    return JOB_OK;
}

static enum job_status dir_attributes(struct job *j)
{
    struct errinfo ei = {0};
    unsigned what = copy_preserve_mask(j, true);
    if (!what || j->o->dry_run || !j->tfs->ops->setattr)
        return JOB_OK;
    struct plan_iter *it = plan_iter_new(j->plan, &ei);
    const struct entry *e;
    int err = 0;
    char src[PATHMAX], dst[PATHMAX];
    if (!it) {
        job_fail(j, JOB_FAILED, "%s", ei.msg);
        return JOB_FAILED;
    }
    while ((e = plan_iter_next(it, &err))) {
        if (e->type != BE_DIR)
            continue;
        if (job_src_path(j, e, src, sizeof src) || job_path(j->target, e, dst, sizeof dst))
            continue;
        struct be_attrs a;
        int rc = copy_source_attrs(j, e, src, what, &a, &ei);
        if (!rc)
            rc = j->tfs->ops->setattr(j->tfs, dst, &a, what, &ei);
        be_attrs_release(&a);
        if (rc) {
            plan_iter_free(it);
            job_fail(j, JOB_FAILED, "cannot preserve attributes of directory %s: %s", dst, ei.msg);
            return JOB_FAILED;
        }
    }
    plan_iter_free(it);
    return JOB_OK;
}

enum job_status commit_run(struct job *j)
{
    enum job_status status = JOB_OK;
    /* B §0: -delete, the -atomic rename, or -xtrack. (Hadoop takes only the
     * -delete branch for -atomic -overwrite -delete and then fails; here the
     * deletions - none, the work dir was fresh - are followed by the rename.) */
    if (j->o->delete_missing)
        status = do_delete(j);
    if (!status && j->o->atomic)
        status = do_atomic(j);
    else if (!status && !j->o->delete_missing && j->o->xtrack_dir)
        status = do_xtrack(j);
    if (status)
        return status;
    return dir_attributes(j);
}

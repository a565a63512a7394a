/* cmd_job_clean.c - `distcp job clean`: forget jobs that ended (never one
 * that may be running), chosen by age and state; before a job is forgotten
 * the uploads a killed run left open on an object store are aborted
 * (jobs/jobpend.c) with the stores and credentials its command line names.
 * Exit statuses: cmd_job.h. Single-threaded. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd_job.h"
#include "engine/job.h"
#include "jobs/jobpend.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) ? -1 : 0;
}

static const char *clean_cfg_get(void *ctx, const char *key)
{
    return options_def(ctx, key);
}

static void clean_say(void *arg, const char *line)
{
    printf("job %lld: %s\n", *(long long *)arg, line);
}

/* Abort the uploads a killed run of job r left open (jobs/jobpend.c), with
 * the stores and credentials its command line names. EXIT_OK when none
 * stays open. */
static int clean_pending(const struct jargs *a, const struct jrow *r, const char *dir)
{
    char pp[4200];
    snprintf(pp, sizeof pp, "%s/pending", dir);
    if (access(pp, F_OK))
        return EXIT_OK;
    json_t *av = NULL;
    char **argv = NULL;
    struct options o;
    int status = jcmd_saved_options(r, a, &o, &argv, &av);
    if (!status) {
        struct be_config cfg = { .get = clean_cfg_get, .ctx = &o };
        struct errinfo ei = {0};
        unsigned done = 0, left = 0;
        long long id = r->id;
        if (jobpend_sweep(dir, &cfg, clean_say, &id, &done, &left, &ei)) {
            fprintf(stderr, "distcp: job %lld: %s\n", id, ei.msg);
            status = EXIT_FAIL;
        } else if (left) {
            fprintf(stderr, "distcp: job %lld: %u upload(s) could not be aborted; the job is "
                    "kept (run job clean again)\n", id, left);
            status = EXIT_FAIL;
        }
    }
    options_release(&o);
    free(argv);
    json_decref(av);
    return status;
}

int job_clean(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow *rows = NULL;
    size_t n = 0;
    int status;
    if ((status = jcmd_open_list(a, &s, &rows, &n)))
        return status;
    double limit = a->all ? 0 : a->older_than > 0 ? a->older_than : (a->nstates ? 0 : 7 * 86400.0);
    double now = jstore_now();
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        struct jrow *r = &rows[i];
        jstore_check_alive(s, r, 60);
        if (jstate_active(r->state))
            continue;           /* never a job that may be running */
        bool want = jcmd_state_wanted(a, r);
        double when = r->ended > 0 ? r->ended : r->updated > 0 ? r->updated : r->created;
        if (!want || now - when < limit)
            continue;
        char dir[4096];
        jstore_job_dir(s, r->id, dir, sizeof dir);
        if (a->dry_run) {
            printf("would remove job %lld (%s)\n", (long long)r->id, jstate_name(r->state));
            removed++;
            continue;
        }
        if (clean_pending(a, r, dir)) {
            status = EXIT_FAIL;
            continue;
        }
        struct errinfo ei = {0};
        if (jstore_delete(s, r->id, &ei)) {
            fprintf(stderr, "distcp: cannot remove job %lld: %s\n", (long long)r->id, ei.msg);
            status = EXIT_FAIL;
            continue;
        }
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        printf("removed job %lld (%s)\n", (long long)r->id, jstate_name(r->state));
        removed++;
    }
    printf("%zu job(s) %s\n", removed, a->dry_run ? "would be removed" : "removed");
    for (size_t i = 0; i < n; i++)
        jrow_release(&rows[i]);
    free(rows);
    jstore_close(s);
    return status;
}


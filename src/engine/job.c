/* job.c - drives one copy job through its phases (spec B §0): setup, the
 * listing, the copy, the commit, then the reports (report.c: progress
 * line, summary, --json); failure messages (job_error/job_fail) and the
 * shared path helpers.
 *
 * Threading: job_run runs on the main thread; the progress thread
 * (report.c) only reads atomics; job_error/job_fail lock err_lock. */
#include "engine/job.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/commit.h"
#include "engine/copy.h"
#include "engine/dist.h"
#include "engine/listing.h"
#include "engine/recorder.h"
#include "engine/report.h"
#include "engine/testpoint.h"
#include "util/filter.h"
#include "util/path.h"

#define PATHMAX 8192
#define MAX_KEPT_ERRORS 100

struct dist *job_dist;
const struct engine_testhooks *engine_testhooks;
int (*job_exit_map)(enum job_status s);

int job_exit_code(enum job_status s)
{
    return job_exit_map ? job_exit_map(s) : (int)s;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keep_error(struct job *j, const char *msg)
{
    j->nerrors_total++;
    if (j->nerrors >= MAX_KEPT_ERRORS)
        return;
    char **e = realloc(j->errors, (j->nerrors + 1) * sizeof *e);
    if (!e)
        return;
    j->errors = e;
    j->errors[j->nerrors] = strdup(msg);
    if (j->errors[j->nerrors])
        j->nerrors++;
}

static void fail_locked(struct job *j, enum job_status status, const char *msg);

/* Print and keep one message; with status != 0 also fail the job. */
static void report(struct job *j, enum job_status status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void report(struct job *j, enum job_status status, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* MPI ranks other than 0: the message goes to rank 0, which prints it */
    if (job_dist && job_dist->rank != 0) {
        pthread_mutex_lock(&j->err_lock);
        if (status)
            fail_locked(j, status, msg);
        pthread_mutex_unlock(&j->err_lock);
        job_dist->message(job_dist, j, status, msg);
        return;
    }
    pthread_mutex_lock(&j->err_lock);
    fprintf(stderr, "%sdistcp: %s\n", report_progress_on(j) ? "\r\033[K" : "", msg);
    keep_error(j, msg);
    rec_error(j, msg);
    if (status)
        fail_locked(j, status, msg);
    pthread_mutex_unlock(&j->err_lock);
}

void job_error(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(j, 0, fmt, ap);
    va_end(ap);
}

void job_fail(struct job *j, enum job_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(j, status, fmt, ap);
    va_end(ap);
}

static void fail_locked(struct job *j, enum job_status status, const char *msg)
{
    if (!j->first_exit) {
        j->first_exit = status;
        snprintf(j->first_error, sizeof j->first_error, "%s", msg);
    }
    atomic_store(&j->failed, 1);
    atomic_store(&j->cancel, 1);
}

int job_path(const char *root, const struct entry *e, char *buf, size_t n)
{
    size_t rl = strlen(root);
    if (rl == 1 && root[0] == '/' && e->keylen)
        rl = 0;
    if (rl + e->keylen + 1 > n)
        return ERR_TOO_LONG;
    memcpy(buf, root, rl);
    entry_key_copy(e, buf + rl, n - rl);
    return ERR_OK;
}

int job_src_path(const struct job *j, const struct entry *e, char *buf, size_t n)
{
    return job_path(j->roots[e->root].base, e, buf, n);
}

int job_ensure_tmp_dir(struct job *j, struct errinfo *ei)
{
    if (atomic_load_explicit(&j->tmp_dir_ready, memory_order_acquire))
        return ERR_OK;
    int rc = ERR_OK;
    pthread_mutex_lock(&j->mkdir_lock);
    if (!atomic_load(&j->tmp_dir_ready)) {
        rc = j->tfs->ops->mkdirs(j->tfs, j->tmp_dir, 0777, ei);
        if (!rc)
            atomic_store_explicit(&j->tmp_dir_ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&j->mkdir_lock);
    return rc;
}


/* ------------------------------------------------------------ the job */

static const char *cfg_get(void *ctx, const char *key)
{
    return options_def(ctx, key);
}

static enum job_status setup_filters(struct job *j)
{
    struct errinfo ei = {0};
    const struct options *o = j->o;
    if (!o->filters_file && o->nexcludes == 0)
        return JOB_OK;
    j->filter = filter_new();
    if (!j->filter) {
        job_fail(j, JOB_FAILED, "out of memory");
        return JOB_FAILED;
    }
    if (o->filters_file && filter_load_file(j->filter, o->filters_file, &ei)) {
        job_fail(j, JOB_FAILED, "%s", ei.msg);
        return JOB_FAILED;
    }
    for (size_t i = 0; i < o->nexcludes; i++)
        if (filter_add(j->filter, o->excludes[i], &ei)) {
            job_fail(j, JOB_FAILED, "%s", ei.msg);
            return JOB_FAILED;
        }
    return JOB_OK;
}

/* Where data and temp files go (B §6.1, §6.8). */
static enum job_status setup_work(struct job *j)
{
    const struct options *o = j->o;
    char buf[PATHMAX];
    if (o->atomic) {
        char *parent = path_parent(j->target);
        const char *base = path_basename(j->target);
        char *tmp = NULL;
        if (o->tmp_dir) {
            struct errinfo ei = {0};
            struct be_fs *fs = NULL;
            if (backend_open_uri(o->tmp_dir, &j->cfg, &fs, &tmp, &ei)) {
                free(parent);
                job_fail(j, JOB_INVALID, "invalid -tmp '%s': %s", o->tmp_dir, ei.msg);
                return JOB_INVALID;
            }
            bool same = fs->ops == j->tfs->ops && !strcmp(fs->authority, j->tfs->authority);
            backend_close(fs);
            if (!same) {
                job_fail(j, JOB_FAILED, "Work path %s and target path %s are in different file system",
                         o->tmp_dir, o->target);
                free(parent);
                free(tmp);
                return JOB_FAILED;
            }
        }
        unsigned rnd = (unsigned)(now_seconds() * 1e6) ^ (unsigned)getpid();
        snprintf(buf, sizeof buf, "%s/._WIP_%s%u", tmp ? (strcmp(tmp, "/") ? tmp : "") : (strcmp(parent, "/") ? parent : ""),
                 base, rnd % 1000000000u);
        free(parent);
        free(tmp);
        j->work = strdup(buf);
    } else {
        j->work = strdup(j->target);
    }
    if (!j->work)
        return JOB_FAILED;
    /* temp files: the top-level work dir; for a single file copied onto the
     * work path itself, its parent */
    bool single_file = j->nroots == 1 && j->roots[0].st.type != BE_DIR &&
                       !strcmp(j->roots[0].base, j->roots[0].path);
    j->tmp_dir = single_file ? path_parent(j->work) : strdup(j->work);
    return j->tmp_dir ? JOB_OK : JOB_FAILED;
}

/* Remove the private work area (only our spill files live there). */
static void remove_tree_local(const char *path);

/* distcp-meta-<pid>-XXXXXX dirs whose process is gone (killed runs). */
static void clean_stale_workdirs(const char *tmpd)
{
    DIR *d = opendir(tmpd);
    struct dirent *de;
    char path[PATHMAX];
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "distcp-meta-", 12))
            continue;
        char *end = NULL;
        long pid = strtol(de->d_name + 12, &end, 10);
        if (pid <= 0 || !end || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", tmpd, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
            remove_tree_local(path);
    }
    if (d)
        closedir(d);
}

static void remove_tree_local(const char *path)
{
    struct be_fs *fs = NULL;
    char *p = NULL;
    struct be_config cfg = {0};
    if (backend_open_uri(path, &cfg, &fs, &p, NULL) == ERR_OK) {
        fs->ops->remove(fs, p, true, NULL);
        backend_close(fs);
    }
    free(p);
}

/* SIGINT/SIGTERM: the first one cancels the job cleanly (no new work,
 * in-flight writes aborted so nothing half-written stays, multipart uploads
 * aborted, state CANCELLED, exit 130); a second one kills at once. Only
 * lock-free atomics are touched here. */
static struct job *volatile g_job;

static void on_signal(int sig)
{
    struct job *j = g_job;
    if (!j || atomic_load(&j->user_cancel)) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    atomic_store(&j->user_cancel, 1);
    atomic_store(&j->cancel, 1);
}

/* -log: per-worker text logs (B §6.7) go to a local directory. */
enum job_status job_open_log_dir(struct job *j)
{
    const struct options *o = j->o;
    struct errinfo ei = {0};
    struct be_fs *fs = NULL;
    char *p = NULL;
    if (!o->log_dir)
        return JOB_OK;
    if (backend_open_uri(o->log_dir, &j->cfg, &fs, &p, &ei) || !(fs->ops->caps & BE_CAP_LOCAL_PATHS) ||
        fs->ops->mkdirs(fs, p, 0777, &ei)) {
        job_fail(j, JOB_FAILED, "cannot use -log dir '%s': %s", o->log_dir,
                 ei.msg[0] ? ei.msg : "only local directories are supported");
        backend_close(fs);
        free(p);
        return JOB_FAILED;
    }
    backend_close(fs);
    j->log_dir = p;
    return JOB_OK;
}

/* After the sources are resolved: what only the producer (rank 0 of an MPI
 * run, or the one process) does before copying: the work paths, -log, stray
 * temps, the listing and plan. */
static enum job_status job_setup_rank0(struct job *j)
{
    const struct options *o = j->o;
    enum job_status status;
    if ((o->preserve & (PRESERVE_R | PRESERVE_B | PRESERVE_C)) && !(j->tfs->ops->caps & BE_CAP_BLOCKS)) {
        char l[8] = "";
        if (o->preserve & PRESERVE_R) strcat(l, "r");
        if (o->preserve & PRESERVE_B) strcat(l, "b");
        if (o->preserve & PRESERVE_C) strcat(l, "c");
        fprintf(stderr, "distcp: -p%s: not applicable to this store (%s has no replication, block size or checksum type); ignored\n",
                l, j->tfs->ops->name);
    }
    if ((status = setup_work(j)) || (status = job_resume_apply_work(j)))
        goto out;
    if ((status = job_open_log_dir(j)))
        goto out;
    commit_clean_stray(j);
    bool resuming = j->resume != NULL;
    if (resuming)
        status = rec_load_plan(j);
    else if (!(status = listing_build(j)))
        status = rec_save_plan(j);
    if (status)
        goto out;
    if (o->atomic && !o->dry_run && !resuming) {
        /* the WIP dir exists from the start so that an empty copy commits too */
        struct errinfo ei = {0};
        bool single_file = j->nroots == 1 && j->roots[0].st.type != BE_DIR;
        if (!single_file && j->tfs->ops->mkdirs(j->tfs, j->work, 0777, &ei)) {
            job_fail(j, JOB_FAILED, "cannot create the work dir for -atomic: %s", ei.msg);
            status = JOB_FAILED;
            goto out;
        }
    }
    /* a resumed job's target holds what earlier runs wrote: look before writing */
    j->fresh_target = !o->dry_run && (o->atomic || !j->target_exists) && !resuming;
out:
    return status;
}

enum job_status job_run(struct options *o, const struct recorder_ops *rops)
{
    struct job jb;
    struct job *j = &jb;
    enum job_status status = JOB_OK;
    struct progress prog = {0};
    bool prog_started = false;
    bool shared = false;
    struct recorder rec = {0};
    memset(j, 0, sizeof *j);
    j->o = o;
    j->t_start = now_seconds();
    j->cfg.get = cfg_get;
    j->cfg.ctx = o;
    pthread_mutex_init(&j->err_lock, NULL);
    pthread_mutex_init(&j->out_lock, NULL);
    pthread_mutex_init(&j->mkdir_lock, NULL);
    j->pid = (int)getpid();
    gethostname(j->host, sizeof j->host - 1);
    if (!j->host[0])
        strcpy(j->host, "localhost");
    srand((unsigned)getpid() ^ (unsigned)(j->t_start * 1e6));
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_job = j;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (options_resolve(o)) {   /* the job's settings, once (docs/settings.md) */
        job_fail(j, JOB_FAILED, "out of memory");
        status = JOB_FAILED;
        goto out;
    }
    if (o->bandwidth_set && !isfinite(o->bandwidth_mb))
        o->bandwidth_set = false;   /* -bandwidth Infinity: no limit */

    /* big buffers (listing runs, copy buffers) come from mmap and go back
     * to the system when freed, so peak RSS follows what is really held */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    /* the private work area (Hadoop's meta folder), always removed at the
     * end; ones left by killed runs (their pid is gone) are removed too */
    const char *tmpd = o->settings.tmpdir;
    clean_stale_workdirs(tmpd);
    snprintf(j->workdir, sizeof j->workdir, "%s/distcp-meta-%d-XXXXXX", tmpd, (int)getpid());
    if (!mkdtemp(j->workdir)) {
        job_fail(j, JOB_FAILED, "cannot create the private work area '%s': %s", j->workdir, strerror(errno));
        j->workdir[0] = 0;
        status = JOB_FAILED;
        goto out;
    }
    if (o->dry_run && !o->json)
        j->dry_out = stdout;
    if (dist_rank() == 0 && rops && (status = rec_start(j, &rec, rops)))
        goto out;       /* a resumed job's recorder first aborts uploads killed runs left */
    if ((status = setup_filters(j)))
        goto out;
    atomic_store(&j->phase, PHASE_LISTING);
    if (report_progress_on(j)) {
        prog.j = j;
        pthread_mutex_init(&prog.lock, NULL);
        pthread_cond_init(&prog.cond, NULL);
        prog_started = pthread_create(&prog.th, NULL, report_progress_main, &prog) == 0;
    }
    if ((status = listing_prepare(j)))
        goto out;
    /* MPI: the other ranks list what rank 0 lends them (mpi_list.c) */
    if (job_dist && dist_rank() != 0 && job_dist->list_serve)
        job_dist->list_serve(job_dist, j);
    /* MPI ranks other than 0 only execute batches: they take the plan's
     * state from rank 0 in share() below */
    if (dist_rank() == 0 && (status = job_setup_rank0(j)))
        goto out;
    if (job_dist) {
        shared = true;
        if ((status = job_dist->share(job_dist, j, status)))
            goto out;
    }
    atomic_store(&j->phase, PHASE_COPYING);
    rec_phase(j, PHASE_COPYING);
    if ((status = copy_run(j)))
        goto out;
    if (job_cancelled(j) || dist_rank() != 0)
        goto out;
    atomic_store(&j->phase, PHASE_COMMITTING);
    rec_phase(j, PHASE_COMMITTING);
    tp_pause(j, "committing");
    status = commit_run(j);
out:
    if (!status)
        status = j->first_exit;
    if (job_dist) {
        /* every rank reaches both collectives, whatever failed before */
        if (!shared)
            status = job_dist->share(job_dist, j, status ? status : JOB_FAILED);
        status = job_dist->end(job_dist, j, status);
    }
    if (job_cancelled(j)) {
        /* stopped on request: nothing half-written stays visible (temp
         * writers were aborted); the job can be resumed */
        fprintf(stderr, "distcp: job cancelled; files finished so far are kept, temp files removed\n");
        status = JOB_CANCELLED;
    }
    atomic_store(&j->phase, PHASE_DONE);
    if (prog_started) {
        pthread_mutex_lock(&prog.lock);
        prog.stop = true;
        pthread_cond_signal(&prog.cond);
        pthread_mutex_unlock(&prog.lock);
        pthread_join(prog.th, NULL);
        report_progress_print(j, true);
    }
    if (dist_rank() == 0)
        report_summary(j, status, now_seconds() - j->t_start);
    rec_end(j, status);
    if (j->workdir[0])
        remove_tree_local(j->workdir);
    sorter_free(j->plan);
    filter_free(j->filter);
    for (size_t i = 0; i < j->nroots; i++) {
        free(j->roots[i].path);
        free(j->roots[i].display);
        free(j->roots[i].base);
    }
    free(j->roots);
    for (size_t i = 0; i < j->nfs; i++)
        backend_close(j->fs_list[i]);
    free(j->fs_list);
    for (size_t i = 0; i < j->nerrors; i++)
        free(j->errors[i]);
    free(j->errors);
    free(j->target);
    free(j->work);
    free(j->tmp_dir);
    free(j->log_dir);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    g_job = NULL;
    pthread_mutex_destroy(&j->err_lock);
    pthread_mutex_destroy(&j->out_lock);
    pthread_mutex_destroy(&j->mkdir_lock);
    return status;
}

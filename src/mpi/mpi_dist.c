/* mpi_dist.c - one distcp job over the ranks of an MPI launch.
 *
 * mpi_main() initialises MPI when launched by mpirun/mpiexec and installs
 * the engine hooks (engine/dist.h): share() after setup (rank 0's plan
 * state to everyone, every rank's readiness to rank 0), workers() (-m split
 * over ranks), message() (workers' messages shipped to rank 0, which prints
 * them once), end() (rank 0's job status to every rank). The copy phase's
 * queue is in mpi_queue.c. Ranks other than 0 send their stdout and stderr
 * to /dev/null (set DISTCP_MPI_RANK_OUTPUT=1 to keep them): everything a
 * user sees comes from rank 0. Threading: see mpi_int.h. */
#include "mpi/mpi_int.h"
#include "mpi/mpi_chunk.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi/mpi_run.h"
#include "util/checksum.h"

struct mpid mpid;

void mpid_nap(void)
{
    struct timespec ts = {0, 300000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ workers */

int mpid_share(const struct job *j, int rank, int m)
{
    int n = mpid.d.size;
    if (j->o->dry_run)          /* dry runs print from rank 0 only */
        return rank == 0 ? m : 0;
    return m / n + (rank < m % n ? 1 : 0);
}

static int d_workers(struct dist *d, const struct job *j, int m, int autow, int *base,
                     double *bw_share)
{
    int mine = mpid_share(j, d->rank, m);
    *base = 0;
    for (int r = 0; r < d->rank; r++)
        *base += mpid_share(j, r, m);
    *bw_share = m > 0 ? (double)mine / m : 0;
    return mine < autow ? mine : autow;
}

/* ------------------------------------------------------------ messages */

static void d_message(struct dist *d, struct job *j, enum job_status status, const char *msg)
{
    (void)d;
    (void)j;
    pthread_mutex_lock(&mpid.mlock);
    if (mpid.shipping) {
        while (mpid.mq_n >= MQ_CAP)
            pthread_cond_wait(&mpid.mcond, &mpid.mlock);
        struct mq_item *it = &mpid.mq[(mpid.mq_head + mpid.mq_n) % MQ_CAP];
        it->status = status;
        snprintf(it->text, sizeof it->text, "%s", msg);
        mpid.mq_n++;
    }
    /* before the copy phase: every rank resolved the same sources, rank 0
     * prints the same message; share() reports what only this rank saw */
    pthread_mutex_unlock(&mpid.mlock);
}

void mpid_flush_messages(void)
{
    pthread_mutex_lock(&mpid.mlock);
    while (mpid.mq_n) {
        struct mq_item it = mpid.mq[mpid.mq_head];
        mpid.mq_head = (mpid.mq_head + 1) % MQ_CAP;
        mpid.mq_n--;
        pthread_cond_broadcast(&mpid.mcond);
        pthread_mutex_unlock(&mpid.mlock);
        MPI_Send(&it, (int)(sizeof it.status + strlen(it.text) + 1), MPI_BYTE, 0, T_MSG, MPI_COMM_WORLD);
        pthread_mutex_lock(&mpid.mlock);
    }
    pthread_mutex_unlock(&mpid.mlock);
}

/* ------------------------------------------------------------ counters */

void mpid_snapshot(struct job *j, uint64_t *snap)
{
    for (int i = 0; i < C__COUNT; i++)
        snap[i] = atomic_load(&j->counters[i]);
    snap[C__COUNT] = atomic_load(&j->progress_bytes);
}

void mpid_apply_snapshot(struct job *j, int rank, const uint64_t *snap)
{
    uint64_t *last = mpid.last[rank];
    for (int i = 0; i < C__COUNT; i++) {
        if (snap[i] > last[i])
            job_count(j, (enum counter)i, snap[i] - last[i]);
    }
    if (snap[C__COUNT] > last[C__COUNT])
        atomic_fetch_add(&j->progress_bytes, snap[C__COUNT] - last[C__COUNT]);
    memcpy(last, snap, sizeof(uint64_t) * SNAP_N);
}

/* ------------------------------------------------------------ share */

struct hello {               /* every rank -> rank 0 */
    int32_t status;
    uint32_t roots;          /* CRC32C of the resolved roots (path, base) */
    uint32_t nroots;
    char host[64];
    char msg[1024];
};

struct state {               /* rank 0 -> every rank (strings follow) */
    int32_t status;
    uint8_t fresh_target, target_exists, target_is_dir, target_is_file;
    uint8_t target_root_is_file, contents_update, pad[2];
    uint64_t plan_files, plan_dirs, plan_bytes;
    uint32_t work_len, tmp_len;
};

uint32_t mpid_roots_digest(const struct job *j)
{
    uint32_t c = 0;
    for (size_t i = 0; i < j->nroots; i++) {
        const char *p = j->roots[i].path ? j->roots[i].path : "";
        const char *b = j->roots[i].base ? j->roots[i].base : "";
        c = crc32c_update(c, p, strlen(p) + 1);
        c = crc32c_update(c, b, strlen(b) + 1);
    }
    return c;
}

static enum job_status d_share(struct dist *d, struct job *j, enum job_status status)
{
    struct hello me;
    struct hello *all = NULL;
    char *buf = NULL;
    struct state s;
    memset(&me, 0, sizeof me);
    memset(&s, 0, sizeof s);
    mpid_list_close(j);          /* every rank is past the listing */
    if (d->rank != 0 && !status)
        status = job_open_log_dir(j);
    me.status = status;
    me.roots = mpid_roots_digest(j);
    me.nroots = (uint32_t)j->nroots;
    snprintf(me.host, sizeof me.host, "%s", j->host);
    snprintf(me.msg, sizeof me.msg, "%.1000s", j->first_error[0] ? j->first_error : "failed");
    if (d->rank == 0 && !(all = calloc((size_t)d->size, sizeof *all))) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
    }
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    size_t len = 0;
    if (d->rank == 0) {
        for (int r = 0; r < d->size; r++)
            snprintf(mpid.hosts[r], sizeof mpid.hosts[r], "%s", all[r].host);
        for (int r = 1; r < d->size && !status; r++) {
            if (all[r].status)
                job_fail(j, all[r].status, "rank %d on %s: %s", r, all[r].host, all[r].msg);
            else if (all[r].roots != me.roots || all[r].nroots != me.nroots)
                job_fail(j, JOB_FAILED, "rank %d on %s resolved the sources differently from rank 0 on %s: "
                         "every rank must see the same source and target paths (a shared file system, or a store every rank can reach)",
                         r, all[r].host, me.host);
        }
        if (!status)
            status = j->first_exit;
        s.status = status;
        if (!status) {
            s.fresh_target = j->fresh_target;
            s.target_exists = j->target_exists;
            s.target_is_dir = j->target_is_dir;
            s.target_is_file = j->target_is_file;
            s.target_root_is_file = j->target_root_is_file;
            s.contents_update = j->contents_update;
            s.plan_files = j->plan_files;
            s.plan_dirs = j->plan_dirs;
            s.plan_bytes = j->plan_bytes;
            s.work_len = (uint32_t)strlen(j->work);
            s.tmp_len = (uint32_t)strlen(j->tmp_dir);
        }
        len = sizeof s + s.work_len + s.tmp_len + 2;
        if (!(buf = malloc(len))) {
            fprintf(stderr, "distcp: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        }
        memcpy(buf, &s, sizeof s);
        if (!status) {
            memcpy(buf + sizeof s, j->work, s.work_len + 1);
            memcpy(buf + sizeof s + s.work_len + 1, j->tmp_dir, s.tmp_len + 1);
        }
    }
    uint64_t len64 = len;
    MPI_Bcast(&len64, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (d->rank != 0 && !(buf = malloc((size_t)len64))) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
    }
    MPI_Bcast(buf, (int)len64, MPI_BYTE, 0, MPI_COMM_WORLD);
    mpid_rows_share(j);
    memcpy(&s, buf, sizeof s);
    status = s.status;
    if (d->rank != 0 && !status) {
        j->fresh_target = s.fresh_target;
        j->target_exists = s.target_exists;
        j->target_is_dir = s.target_is_dir;
        j->target_is_file = s.target_is_file;
        j->target_root_is_file = s.target_root_is_file;
        j->contents_update = s.contents_update;
        j->plan_files = s.plan_files;
        j->plan_dirs = s.plan_dirs;
        j->plan_bytes = s.plan_bytes;
        free(j->work);
        free(j->tmp_dir);
        j->work = strdup(buf + sizeof s);
        j->tmp_dir = strdup(buf + sizeof s + s.work_len + 1);
        if (!j->work || !j->tmp_dir) {
            fprintf(stderr, "distcp: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        }
    }
    if (!status) {
        /* from here the copy phase runs: every rank takes part */
        if (d->rank == 0)
            mpid.copy_open = true;
        else
            mpid.shipping = true;
    }
    free(buf);
    free(all);
    return status;
}

/* ------------------------------------------------------------ end */

static enum job_status d_end(struct dist *d, struct job *j, enum job_status status)
{
    if (d->rank == 0) {
        if (mpid.copy_open)
            mpid_close_copy(j);
        if (!status)
            status = j->first_exit;
    } else {
        if (mpid.shipping)
            mpid_leave_copy(j);
    }
    int32_t st = status;
    MPI_Bcast(&st, 1, MPI_INT32_T, 0, MPI_COMM_WORLD);
    return st;
}

/* ------------------------------------------------------------ entry */

int mpi_main(int argc, char **argv, int (*run)(int argc, char **argv))
{
    int status, provided = 0, rank = 0, size = 1;
    if (mpi_env_size() == 0)
        return run(argc, argv);
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "distcp: started by an MPI launcher, but MPI_Init failed; nothing was copied\n");
        return job_exit_code(JOB_FAILED);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (provided < MPI_THREAD_FUNNELED) {
        /* workers are threads; only the main thread calls MPI */
        if (rank == 0)
            fprintf(stderr, "distcp: this MPI library does not support threads (MPI_THREAD_FUNNELED); nothing was copied\n");
        MPI_Finalize();
        return job_exit_code(JOB_FAILED);
    }
    memset(&mpid, 0, sizeof mpid);
    mpid.d.rank = rank;
    mpid.d.size = size;
    mpid.d.share = d_share;
    mpid.d.workers = d_workers;
    mpid.d.workq_new = mpiq_new;
    mpid.d.message = d_message;
    mpid.d.end = d_end;
    mpid.d.row = mpid_row;
    mpid_list_install(&mpid.d);
    mpic_install(&mpid.d);
    pthread_mutex_init(&mpid.mlock, NULL);
    pthread_cond_init(&mpid.mcond, NULL);
    mpid.mq = calloc(MQ_CAP, sizeof *mpid.mq);
    mpid.reported = calloc((size_t)size, sizeof *mpid.reported);
    mpid.last = calloc((size_t)size, sizeof *mpid.last);
    mpid.hosts = calloc((size_t)size, sizeof *mpid.hosts);
    if (!mpid.mq || !mpid.reported || !mpid.last || !mpid.hosts) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
    }
    if (rank != 0 && !getenv("DISTCP_MPI_RANK_OUTPUT")) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            fflush(stdout);
            fflush(stderr);
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    job_dist = &mpid.d;
    status = run(argc, argv);
    job_dist = NULL;
    fflush(stdout);
    MPI_Finalize();
    free(mpid.mq);
    free(mpid.reported);
    free(mpid.last);
    free(mpid.hosts);
    mpic_free();
    pthread_mutex_destroy(&mpid.mlock);
    pthread_cond_destroy(&mpid.mcond);
    return status;
}

/* mpi_queue.c - the copy phase's work queue (engine/workq.h) over MPI ranks.
 *
 * Every rank runs its own workers as threads (an inner workq_threads queue:
 * hybrid MPI + threads); this file moves batches between ranks.
 *  - Rank 0 (the producer): push() puts each batch in a queue: dynamic, one
 *    shared queue served to whichever rank asks first (a chunk queue served
 *    by rank 0; faster ranks ask more often); uniformsize, the queue of the
 *    active rank with the fewest bytes assigned so far (static, byte
 *    balanced, as Hadoop's uniformsize). Rank 0's own workers take from
 *    queue 0 while fewer than 2 batches per worker are in hand; other ranks
 *    get a batch per T_REQ. push() blocks (serving requests) while more than
 *    `max_queued` batches wait: memory stays bounded. After a fatal
 *    failure (j->cancel) waiting batches are dropped, as threaded workers
 *    drop them.
 *  - Other ranks: finish() is their whole copy phase: ask for batches while
 *    fewer than 2 per worker are in hand, run them, ship worker messages,
 *    and when rank 0 says T_DONE wait for the local workers and send the
 *    final counters (T_REPORT).
 * Help tasks (chunks of a big file) stay inside the rank that posts them;
 * chunks offered to other ranks go through mpi_chunk.c (served here ahead
 * of batches). A rank's copy phase ends only when it waits for no chunk
 * receipt (mpic_busy).
 * Threading: all MPI calls on the main thread (see mpi_int.h). */
#include "mpi/mpi_int.h"
#include "mpi/mpi_chunk.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/recorder.h"

struct bq {
    struct wbatch *head, *tail;
};

struct mpiq {
    struct workq base;
    struct job *j;
    int dynamic;
    size_t max_queued;
    struct workq *inner;        /* local workers, NULL when this rank has none */
    int n;
    size_t local_cap;
    atomic_size_t inflight;     /* batches given to local workers, not finished */
    workq_exec_fn exec;
    void *ctx;
    /* rank 0 */
    struct bq *q;               /* per rank (uniformsize); dynamic uses q[0] */
    uint64_t *assigned;         /* bytes given to each rank (uniformsize) */
    int *waiting;               /* T_REQs not yet answered, per rank */
    bool *active;               /* ranks with workers */
    size_t queued;
};

struct bhdr {                   /* T_BATCH header; entry records follow */
    uint64_t n, bytes;
};

static void bq_put(struct bq *q, struct wbatch *b)
{
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
}

static struct wbatch *bq_take(struct bq *q)
{
    struct wbatch *b = q->head;
    if (b && !(q->head = b->next))
        q->tail = NULL;
    if (b)
        b->next = NULL;
    return b;
}

static void local_exec(void *ctx, int worker, struct wbatch *b)
{
    struct mpiq *q = ctx;
    q->exec(q->ctx, worker, b);
    atomic_fetch_sub(&q->inflight, 1);
}

static int q_start(struct workq *base, int n, workq_exec_fn exec, void *ctx)
{
    struct mpiq *q = (struct mpiq *)base;
    q->exec = exec;
    q->ctx = ctx;
    q->n = n;
    mpic_start(q->j, NULL, NULL, 0);
    if (n <= 0)
        return 0;
    q->local_cap = (size_t)n * 2;
    q->inner = workq_threads_new(q->dynamic, q->local_cap + 1);
    if (!q->inner)
        return -1;
    mpic_start(q->j, q->inner, &q->inflight, q->local_cap);
    return q->inner->ops->start(q->inner, n, local_exec, q);
}

static void q_help(struct workq *base, struct whelp *h)
{
    struct mpiq *q = (struct mpiq *)base;
    q->inner->ops->help(q->inner, h);
}

static void give_local(struct mpiq *q, struct wbatch *b)
{
    atomic_fetch_add(&q->inflight, 1);
    q->inner->ops->push(q->inner, b);
}

/* ------------------------------------------------------------ rank 0 */

static void send_batch(int rank, struct wbatch *b)
{
    size_t len = sizeof(struct bhdr) + b->used;
    char *buf = malloc(len);
    if (!buf) {
        fprintf(stderr, "distcp: out of memory sending a batch to rank %d\n", rank);
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    struct bhdr h = {b->n, b->bytes};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, b->data, b->used);
    MPI_Send(buf, (int)len, MPI_BYTE, rank, T_BATCH, MPI_COMM_WORLD);
    free(buf);
    free(b);
}

void mpid_handle(struct job *j, const MPI_Status *st)
{
    int r = st->MPI_SOURCE, count = 0;
    if (mpic_tag(st->MPI_TAG)) {
        mpic_handle(j, st);
        return;
    }
    MPI_Get_count(st, MPI_BYTE, &count);
    char *buf = malloc(count > 0 ? (size_t)count + 1 : 1);
    if (!buf) {
        fprintf(stderr, "distcp: out of memory receiving from rank %d\n", r);
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    MPI_Recv(buf, count, MPI_BYTE, r, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    buf[count > 0 ? count : 0] = 0;
    if (st->MPI_TAG == T_ROWS) {
        mpid_rows_take(j, r, buf, count > 0 ? (size_t)count : 0);
        free(buf);
        return;
    }
    switch (st->MPI_TAG) {
    case T_REQ:
    case T_REPORT:
        if ((size_t)count == sizeof(uint64_t) * SNAP_N) {
            uint64_t snap[SNAP_N];
            memcpy(snap, buf, sizeof snap);
            mpid_apply_snapshot(j, r, snap);
        }
        if (st->MPI_TAG == T_REPORT) {
            mpid.reported[r] = true;
            rec_log(j, "rank %d on %s has finished its part of the copy phase", r, mpid.hosts[r]);
            if (mpid.copy_open && !atomic_load(&j->failed))
                job_fail(j, JOB_FAILED, "rank %d on %s stopped before the copy phase ended; "
                         "the batches it was given were not copied", r, mpid.hosts[r]);
        }
        break;
    case T_MSG:
        if ((size_t)count > sizeof(int32_t)) {
            int32_t status;
            memcpy(&status, buf, sizeof status);
            if (status)
                job_fail(j, status, "%s", buf + sizeof status);
            else
                job_error(j, "%s", buf + sizeof status);
        }
        break;
    default:
        break;
    }
    free(buf);
}

/* Drop every waiting batch (after a fatal failure nothing more runs). */
static void drop_all(struct mpiq *q)
{
    for (int r = 0; r < mpid.d.size; r++) {
        struct wbatch *b;
        while ((b = bq_take(&q->q[r])))
            free(b);
    }
    q->queued = 0;
}

/* One round of serving: local workers, incoming messages, waiting ranks.
 * Returns true when something happened. */
static bool pump(struct mpiq *q)
{
    struct job *j = q->j;
    bool progress = false;
    int flag = 0;
    MPI_Status st;
    if (atomic_load(&j->cancel) && q->queued)
        drop_all(q);
    mpic_serve(j);
    /* chunks of big files first (their owners wait for them): to the ranks
     * that asked for work, then to this rank's own workers */
    for (int r = 1; r < mpid.d.size; r++)
        while (q->waiting[r] > 0 && mpic_pending()) {
            mpic_send_task(r);
            q->waiting[r]--;
            progress = true;
        }
    while (q->inner && atomic_load(&q->inflight) + mpic_inflight() < q->local_cap &&
           mpic_pending()) {
        mpic_run_local();
        progress = true;
    }
    while (q->inner && atomic_load(&q->inflight) + mpic_inflight() < q->local_cap && q->q[0].head) {
        give_local(q, bq_take(&q->q[0]));
        q->queued--;
        progress = true;
    }
    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            break;
        if (st.MPI_TAG == T_REQ)
            q->waiting[st.MPI_SOURCE]++;
        mpid_handle(j, &st);
        progress = true;
    }
    for (int r = 1; r < mpid.d.size; r++) {
        struct bq *from = q->dynamic ? &q->q[0] : &q->q[r];
        while (q->waiting[r] > 0 && from->head) {
            send_batch(r, bq_take(from));
            q->waiting[r]--;
            q->queued--;
            progress = true;
        }
    }
    return progress;
}

static void q_push(struct workq *base, struct wbatch *b)
{
    struct mpiq *q = (struct mpiq *)base;
    if (atomic_load(&q->j->cancel)) {
        free(b);
        pump(q);
        return;
    }
    int to = 0;
    if (!q->dynamic) {
        to = -1;
        for (int r = 0; r < mpid.d.size; r++)
            if (q->active[r] && !mpid.reported[r] && (to < 0 || q->assigned[r] < q->assigned[to]))
                to = r;
        if (to < 0)
            to = 0;
        /* entries without bytes (dirs, empty files) count one byte each */
        q->assigned[to] += b->bytes + b->n;
    }
    bq_put(&q->q[to], b);
    q->queued++;
    while (q->queued > q->max_queued && !atomic_load(&q->j->cancel))
        if (!pump(q))
            mpid_nap();
    pump(q);
}

/* Run the inner queue's finish on a helper thread while the main thread
 * keeps MPI moving (workers may be waiting to hand over messages). */
struct finisher {
    struct workq *inner;
    atomic_int done;
};

static void *finish_main(void *arg)
{
    struct finisher *f = arg;
    f->inner->ops->finish(f->inner);
    atomic_store(&f->done, 1);
    return NULL;
}

static void finish_local(struct mpiq *q, void (*serve)(struct mpiq *))
{
    struct finisher f = {q->inner, 0};
    pthread_t th;
    if (!q->inner)
        return;
    while (mpid.d.rank != 0 && mpic_hold(q->j)) {  /* chunks run on these workers */
        serve(q);
        mpid_nap();
    }
    if (pthread_create(&th, NULL, finish_main, &f)) {
        q->inner->ops->finish(q->inner);
        return;
    }
    while (!atomic_load(&f.done)) {
        serve(q);
        mpid_nap();
    }
    pthread_join(th, NULL);
    serve(q);
    while (mpic_busy()) {       /* receipts of chunks other ranks copy */
        serve(q);
        mpid_nap();
    }
}

static void serve_rank0(struct mpiq *q)
{
    int flag = 0;
    MPI_Status st;
    mpic_serve(q->j);
    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            break;
        mpid_handle(q->j, &st);
    }
}

void mpid_close_copy(struct job *j)
{
    int32_t cancel = atomic_load(&j->cancel) ? 1 : 0;
    for (int r = 1; r < mpid.d.size; r++)
        MPI_Send(&cancel, 1, MPI_INT32_T, r, T_DONE, MPI_COMM_WORLD);
    mpid.copy_open = false;
    for (;;) {
        int left = 0;
        bool drained = mpic_drain(j);
        for (int r = 1; r < mpid.d.size; r++)
            left += !mpid.reported[r];
        if (!left && drained)
            break;
        MPI_Status st;
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag)
            mpid_handle(j, &st);
        else
            mpid_nap();
    }
}

/* ------------------------------------------------------------ other ranks */

static void serve_other(struct mpiq *q)
{
    mpid_flush_messages();
    mpid_rows_ship(q->j, false);
    mpic_serve(q->j);
}

static void send_report(struct job *j)
{
    uint64_t snap[SNAP_N];
    mpid_flush_messages();
    mpid_rows_ship(j, true);
    mpid_snapshot(j, snap);
    MPI_Send(snap, (int)sizeof snap, MPI_BYTE, 0, T_REPORT, MPI_COMM_WORLD);
    mpid.report_sent = true;
}

/* Receive one message from rank 0 (probed as st). */
static void take_from_0(struct mpiq *q, struct job *j, const MPI_Status *st, int *outstanding)
{
    int count = 0;
    if (mpic_tag(st->MPI_TAG)) {
        if (mpic_handle(j, st))
            (*outstanding)--;
        return;
    }
    MPI_Get_count(st, MPI_BYTE, &count);
    if (st->MPI_TAG == T_DONE) {
        int32_t cancel = 0;
        MPI_Recv(&cancel, 1, MPI_INT32_T, 0, T_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (cancel)
            atomic_store(&j->cancel, 1);
        mpid.done_rcvd = true;
        return;
    }
    char *buf = malloc(count > 0 ? (size_t)count : 1);
    if (!buf) {
        fprintf(stderr, "distcp: out of memory receiving a batch\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    MPI_Recv(buf, count, MPI_BYTE, 0, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (st->MPI_TAG == T_BATCH && (size_t)count >= sizeof(struct bhdr) && q && q->inner) {
        struct bhdr h;
        memcpy(&h, buf, sizeof h);
        size_t used = (size_t)count - sizeof h;
        struct wbatch *b = wbatch_new(used);
        if (!b) {
            fprintf(stderr, "distcp: out of memory receiving a batch\n");
            MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        }
        memcpy(b->data, buf + sizeof h, used);
        b->n = (size_t)h.n;
        b->bytes = h.bytes;
        b->used = used;
        (*outstanding)--;
        give_local(q, b);
    }
    free(buf);
}

static void run_other(struct mpiq *q)
{
    struct job *j = q->j;
    int outstanding = 0;
    while (!mpid.done_rcvd) {
        int flag = 0;
        MPI_Status st;
        mpid_flush_messages();
        mpid_rows_ship(j, false);
        mpic_serve(j);
        if (q->inner && !atomic_load(&j->cancel) && mpid.shipping &&
            atomic_load(&q->inflight) + mpic_inflight() + (size_t)outstanding < q->local_cap) {
            uint64_t snap[SNAP_N];
            mpid_snapshot(j, snap);
            MPI_Send(snap, (int)sizeof snap, MPI_BYTE, 0, T_REQ, MPI_COMM_WORLD);
            outstanding++;
        }
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag)
            take_from_0(q, j, &st, &outstanding);
        else
            mpid_nap();
    }
    finish_local(q, serve_other);
    send_report(j);
}

void mpid_leave_copy(struct job *j)
{
    if (!mpid.report_sent)
        send_report(j);
    while (!mpid.done_rcvd) {
        MPI_Status st;
        int outstanding = 0;
        MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        take_from_0(NULL, j, &st, &outstanding);
    }
    mpid.shipping = false;
}

/* ------------------------------------------------------------ both */

static void q_finish(struct workq *base)
{
    struct mpiq *q = (struct mpiq *)base;
    if (mpid.d.rank == 0) {
        while ((q->queued || mpic_pending()) && !atomic_load(&q->j->cancel))
            if (!pump(q))
                mpid_nap();
        if (q->queued)
            drop_all(q);
        if (mpid.copy_open)
            mpid_close_copy(q->j);
        finish_local(q, serve_rank0);
    } else if (!mpid.report_sent) {
        run_other(q);
    }
}

static void q_free(struct workq *base)
{
    struct mpiq *q = (struct mpiq *)base;
    if (!q)
        return;
    mpic_start(q->j, NULL, NULL, 0);  /* chunk tasks arriving from now on are declined */
    if (q->inner)
        q->inner->ops->free(q->inner);
    if (q->q)
        drop_all(q);
    free(q->q);
    free(q->assigned);
    free(q->waiting);
    free(q->active);
    free(q);
}

static const struct workq_ops mpiq_ops = {
    .start = q_start,
    .push = q_push,
    .help = q_help,
    .finish = q_finish,
    .free = q_free,
};

struct workq *mpiq_new(struct dist *d, struct job *j, int dynamic, size_t max_batches)
{
    struct mpiq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->base.ops = &mpiq_ops;
    q->j = j;
    q->dynamic = dynamic;
    q->q = calloc((size_t)d->size, sizeof *q->q);
    q->assigned = calloc((size_t)d->size, sizeof *q->assigned);
    q->waiting = calloc((size_t)d->size, sizeof *q->waiting);
    q->active = calloc((size_t)d->size, sizeof *q->active);
    if (!q->q || !q->assigned || !q->waiting || !q->active) {
        q_free(&q->base);
        return NULL;
    }
    int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
    size_t total = 0;
    for (int r = 0; r < d->size; r++) {
        int s = mpid_share(j, r, m);
        q->active[r] = s > 0;
        total += (size_t)s;
    }
    q->max_queued = total * 4 > max_batches ? total * 4 : max_batches;
    if (q->max_queued < 8)
        q->max_queued = 8;
    return &q->base;
}

/* mpi_chunk.c - chunks of big files copied by several ranks (protocol in
 * mpi_chunk.h; the engine side is chunks.c: copy_chunked, copy_chunk_exec,
 * copy_chunk_receipt).
 *
 * State of this process: `out`, messages queued by workers for the main
 * thread to send (or to handle here when they are for this rank); `owned`,
 * the files this rank offered and whose receipts it still waits for (the
 * offer's id names them on the wire); on rank 0, the queue of chunk tasks
 * not yet handed out. Offers and tasks carry the offer record as bytes;
 * a task's copy of it lives until its receipt is sent.
 *
 * Threading: `lock` guards out, owned and the answers workers wait for; the
 * task queue and everything MPI belong to the main thread. */
#include "mpi/mpi_chunk.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chunks.h"
#include "engine/recorder.h"

struct cmsg {                   /* a message queued by a worker */
    struct cmsg *next;
    int dest, tag;
    size_t len;
    _Alignas(8) char data[];
};

struct owned {                  /* a file this rank offered */
    struct owned *next;
    uint64_t id;
    void *file;                 /* the engine's handle */
    uint32_t left;              /* receipts still to come */
    int answer;                 /* -1: waiting for rank 0, 0: declined, 1: taken */
    bool seen;                  /* the offering worker has its answer */
    bool unlinked;              /* every receipt is in: the worker frees it */
};

struct blob {                   /* an offer shared by its tasks (rank 0) */
    uint32_t refs;
    size_t len;
    _Alignas(8) char data[];    /* struct dist_offer ... */
};

struct ctask {                  /* one chunk waiting at rank 0 */
    struct ctask *next;
    struct blob *b;
    uint32_t idx;
};

struct runtask {                /* one chunk given to this rank's workers */
    struct whelp h;
    uint32_t idx;
    size_t len;
    _Alignas(8) char data[];    /* struct dist_offer ... */
};

struct taskhdr {                /* T_CTASK header; the offer follows */
    uint32_t idx, pad;
};

struct answer {                 /* T_CANSWER */
    uint64_t id;
    int32_t yes, pad;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct cmsg *out, *out_tail;
    struct owned *owned;
    uint64_t next_id;
    struct job *j;
    struct workq *inner;
    atomic_size_t *batches;     /* batches the workers hold (mpi_queue.c) */
    size_t cap;
    atomic_size_t inflight;
    /* other ranks, after T_DONE */
    int creq_out;               /* T_CREQs not answered */
    bool idle_sent, cend;
    int64_t tasks_got, tasks_sent_to_me;   /* T_CTASKs received; T_CEND's count */
    /* rank 0 */
    struct ctask *tasks, *tasks_tail;
    bool closed, cend_sent;
    int *cwait;                 /* per rank: T_CREQs not answered */
    int64_t *sent;              /* per rank: T_CTASKs sent */
    bool *idle;                 /* per rank: T_CIDLE came */
} C = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void die(const char *what)
{
    fprintf(stderr, "distcp: out of memory %s\n", what);
    MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
}

/* ------------------------------------------------------------ worker side */

static void enqueue(int dest, int tag, const void *a, size_t alen, const void *b, size_t blen)
{
    struct cmsg *m = malloc(sizeof *m + alen + blen);
    if (!m) {
        /* a lost receipt would leave its owner waiting forever */
        fprintf(stderr, "distcp: out of memory queueing a chunk message\n");
        abort();
    }
    m->next = NULL;
    m->dest = dest;
    m->tag = tag;
    m->len = alen + blen;
    memcpy(m->data, a, alen);
    if (blen)
        memcpy(m->data + alen, b, blen);
    pthread_mutex_lock(&C.lock);
    if (C.out_tail)
        C.out_tail->next = m;
    else
        C.out = m;
    C.out_tail = m;
    pthread_mutex_unlock(&C.lock);
}

static bool c_offer(struct dist *d, struct job *j, void *file, const struct dist_offer *o,
                    size_t len)
{
    (void)j;
    struct owned *ow = calloc(1, sizeof *ow);
    struct dist_offer *copy = malloc(len);
    if (!ow || !copy || o->nchunks < 2) {
        free(ow);
        free(copy);
        return false;
    }
    memcpy(copy, o, len);
    ow->file = file;
    ow->left = o->nchunks - 1;
    ow->answer = -1;
    pthread_mutex_lock(&C.lock);
    ow->id = ++C.next_id;
    ow->next = C.owned;
    C.owned = ow;
    pthread_mutex_unlock(&C.lock);
    copy->file = ow->id;
    copy->owner = d->rank;
    enqueue(0, T_COFFER, copy, len, NULL, 0);
    free(copy);
    pthread_mutex_lock(&C.lock);
    while (ow->answer < 0)
        pthread_cond_wait(&C.cond, &C.lock);
    bool yes = ow->answer == 1;
    ow->seen = true;
    if (!yes) {
        for (struct owned **p = &C.owned; *p; p = &(*p)->next)
            if (*p == ow) {
                *p = ow->next;
                break;
            }
        free(ow);
    } else if (ow->unlinked) {
        free(ow);      /* every receipt came in before this worker woke */
    }
    pthread_mutex_unlock(&C.lock);
    return yes;
}

static void c_receipt(struct dist *d, struct job *j, int owner, const struct dist_rcpt *r,
                      size_t len)
{
    (void)d;
    (void)j;
    enqueue(owner, T_CRCPT, r, len, NULL, 0);
}

void mpic_install(struct dist *d)
{
    d->chunk_offer = c_offer;
    d->chunk_receipt = c_receipt;
}

static void run_task(void *arg, int worker)
{
    struct runtask *t = arg;
    copy_chunk_exec(C.j, worker, (const struct dist_offer *)t->data, t->len, t->idx);
    atomic_fetch_sub(&C.inflight, 1);
    free(t);
}

/* ------------------------------------------------------------ main thread */

void mpic_start(struct job *j, struct workq *inner, atomic_size_t *batches, size_t cap)
{
    C.j = j;
    C.inner = inner;
    C.batches = batches;
    C.cap = cap;
    if (mpid.d.rank == 0 && !C.cwait) {
        /* once per process: there is one copy phase */
        C.cwait = calloc((size_t)mpid.d.size, sizeof *C.cwait);
        C.idle = calloc((size_t)mpid.d.size, sizeof *C.idle);
        C.sent = calloc((size_t)mpid.d.size, sizeof *C.sent);
        if (!C.cwait || !C.idle || !C.sent)
            die("starting the copy phase");
    }
}

void mpic_free(void)
{
    free(C.cwait);
    free(C.idle);
    free(C.sent);
    C.cwait = NULL;
    C.idle = NULL;
    C.sent = NULL;
}

size_t mpic_inflight(void)
{
    return atomic_load(&C.inflight);
}

bool mpic_pending(void)
{
    return C.tasks != NULL;
}

bool mpic_busy(void)
{
    pthread_mutex_lock(&C.lock);
    bool busy = C.out || C.owned;
    pthread_mutex_unlock(&C.lock);
    return busy;
}

static void on_answer(uint64_t id, bool yes)
{
    pthread_mutex_lock(&C.lock);
    for (struct owned *ow = C.owned; ow; ow = ow->next)
        if (ow->id == id && ow->answer < 0)
            ow->answer = yes;
    pthread_cond_broadcast(&C.cond);
    pthread_mutex_unlock(&C.lock);
}

static void on_receipt(struct job *j, const void *data, size_t len, int from)
{
    struct dist_rcpt h;
    if (len < sizeof h) {
        job_fail(j, JOB_FAILED, "malformed chunk receipt from rank %d", from);
        return;
    }
    memcpy(&h, data, sizeof h);
    struct owned *ow = NULL;
    pthread_mutex_lock(&C.lock);
    for (ow = C.owned; ow && ow->id != h.file; ow = ow->next)
        ;
    if (ow && ow->answer < 0) {
        /* rank 0's answer is still on its way (MPI orders messages per
         * sender only); a receipt means the offer was taken */
        ow->answer = 1;
        pthread_cond_broadcast(&C.cond);
    }
    pthread_mutex_unlock(&C.lock);
    if (!ow || ow->answer != 1 || !ow->left) {
        job_fail(j, JOB_FAILED, "chunk receipt from rank %d for a file this rank does not wait for",
                 from);
        return;
    }
    /* aligned copy: the engine reads the header in place */
    void *al = malloc(len);
    if (!al)
        die("taking a chunk receipt");
    memcpy(al, data, len);
    bool last = --ow->left == 0;
    void *file = ow->file;
    if (last) {
        pthread_mutex_lock(&C.lock);
        for (struct owned **p = &C.owned; *p; p = &(*p)->next)
            if (*p == ow) {
                *p = ow->next;
                break;
            }
        if (ow->seen)
            free(ow);
        else
            ow->unlinked = true;
        pthread_mutex_unlock(&C.lock);
    }
    copy_chunk_receipt(j, file, al, len);
    free(al);
}

/* A receipt for a chunk that will not run, from here. */
static void send_cancelled(const struct dist_offer *o, uint32_t idx)
{
    struct dist_rcpt h;
    memset(&h, 0, sizeof h);
    h.file = o->file;
    h.idx = idx;
    h.rc = ERR_CANCELLED;
    h.rank = mpid.d.rank;
    if (o->owner == mpid.d.rank)
        on_receipt(C.j, &h, sizeof h, mpid.d.rank);
    else
        MPI_Send(&h, (int)sizeof h, MPI_BYTE, o->owner, T_CRCPT, MPI_COMM_WORLD);
}

static void answer(int owner, uint64_t id, bool yes)
{
    if (owner == 0) {
        on_answer(id, yes);
        return;
    }
    struct answer a = {id, yes, 0};
    MPI_Send(&a, (int)sizeof a, MPI_BYTE, owner, T_CANSWER, MPI_COMM_WORLD);
}

/* Rank 0: an offer. */
static void on_offer(struct job *j, const void *data, size_t len, int from)
{
    struct dist_offer o;
    if (len < sizeof o) {
        job_fail(j, JOB_FAILED, "malformed chunk offer from rank %d", from);
        return;
    }
    memcpy(&o, data, sizeof o);
    if (C.closed || atomic_load(&j->cancel) || o.nchunks < 2) {
        answer(from, o.file, false);
        return;
    }
    struct blob *b = malloc(sizeof *b + len);
    if (!b)
        die("taking a chunk offer");
    b->refs = o.nchunks - 1;
    b->len = len;
    memcpy(b->data, data, len);
    for (uint32_t i = 1; i < o.nchunks; i++) {
        struct ctask *t = malloc(sizeof *t);
        if (!t)
            die("taking a chunk offer");
        t->next = NULL;
        t->b = b;
        t->idx = i;
        if (C.tasks_tail)
            C.tasks_tail->next = t;
        else
            C.tasks = t;
        C.tasks_tail = t;
    }
    answer(from, o.file, true);
}

static struct ctask *take_task(void)
{
    struct ctask *t = C.tasks;
    if (t && !(C.tasks = t->next))
        C.tasks_tail = NULL;
    return t;
}

static void task_done(struct ctask *t)
{
    if (--t->b->refs == 0)
        free(t->b);
    free(t);
}

/* Give a task (offer bytes + idx) to this rank's workers; without workers
 * (or after the phase) it is answered as cancelled. */
static void give_local(const void *offer, size_t len, uint32_t idx)
{
    if (!C.inner || !C.j) {
        struct dist_offer o;
        memcpy(&o, offer, sizeof o);
        send_cancelled(&o, idx);
        return;
    }
    struct runtask *t = malloc(sizeof *t + len);
    if (!t)
        die("taking a chunk task");
    memset(&t->h, 0, sizeof t->h);
    t->h.fn = run_task;
    t->h.arg = t;
    t->idx = idx;
    t->len = len;
    memcpy(t->data, offer, len);
    atomic_fetch_add(&C.inflight, 1);
    C.inner->ops->help(C.inner, &t->h);
}

void mpic_run_local(void)
{
    struct ctask *t = take_task();
    if (!t)
        return;
    give_local(t->b->data, t->b->len, t->idx);
    task_done(t);
}

void mpic_send_task(int r)
{
    struct ctask *t = take_task();
    if (!t)
        return;
    size_t len = sizeof(struct taskhdr) + t->b->len;
    char *buf = malloc(len);
    if (!buf)
        die("sending a chunk task");
    struct taskhdr h = {t->idx, 0};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, t->b->data, t->b->len);
    MPI_Send(buf, (int)len, MPI_BYTE, r, T_CTASK, MPI_COMM_WORLD);
    if (C.sent)
        C.sent[r]++;
    free(buf);
    task_done(t);
}

static size_t held_batches(void)
{
    return C.batches ? atomic_load(C.batches) : 0;
}

bool mpic_drain(struct job *j)
{
    struct ctask *t;
    if (!C.cwait)                /* no copy queue on rank 0 (it failed to start) */
        mpic_start(j, NULL, NULL, 0);
    mpic_serve(j);
    if (C.cend_sent)
        return true;
    if (atomic_load(&j->cancel)) {
        C.closed = true;
        while ((t = take_task())) {
            struct dist_offer o;
            memcpy(&o, t->b->data, sizeof o);
            send_cancelled(&o, t->idx);
            task_done(t);
        }
    }
    /* the ranks that asked first, then this rank's own workers */
    for (int r = 1; C.cwait && r < mpid.d.size; r++)
        while (C.cwait[r] > 0 && mpic_pending()) {
            mpic_send_task(r);
            C.cwait[r]--;
        }
    while (C.inner && held_batches() + mpic_inflight() < C.cap && mpic_pending())
        mpic_run_local();
    if (mpic_pending() || (!C.closed && held_batches() > 0))
        return false;
    for (int r = 1; r < mpid.d.size; r++)
        if (!C.closed && !mpid.reported[r] && !(C.idle && C.idle[r]))
            return false;
    /* nothing waits and nobody can offer: the chunk phase is over */
    C.closed = true;
    C.cend_sent = true;
    for (int r = 1; r < mpid.d.size; r++)
        if (!mpid.reported[r]) {
            /* with the count of tasks sent: r waits for every one */
            int64_t n = C.sent ? C.sent[r] : 0;
            MPI_Send(&n, (int)sizeof n, MPI_BYTE, r, T_CEND, MPI_COMM_WORLD);
        }
    return true;
}

bool mpic_hold(struct job *j)
{
    mpic_serve(j);
    if (C.cend && C.tasks_got >= C.tasks_sent_to_me)
        return false;
    if (C.cend) {
        /* tasks sent before T_CEND still on their way */
    } else if (!C.inner) {
        if (!C.idle_sent) {
            MPI_Send(NULL, 0, MPI_BYTE, 0, T_CIDLE, MPI_COMM_WORLD);
            C.idle_sent = true;
        }
    } else {
        while (!atomic_load(&j->cancel) && mpic_inflight() + (size_t)C.creq_out < C.cap) {
            MPI_Send(NULL, 0, MPI_BYTE, 0, T_CREQ, MPI_COMM_WORLD);
            C.creq_out++;
        }
        if (!C.idle_sent && held_batches() == 0) {
            /* sent after every offer of this rank: rank 0 sees them first */
            MPI_Send(NULL, 0, MPI_BYTE, 0, T_CIDLE, MPI_COMM_WORLD);
            C.idle_sent = true;
        }
    }
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(0, T_CTASK, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            MPI_Iprobe(0, T_CEND, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            break;
        if (mpic_handle(j, &st))
            C.creq_out--;
    }
    return !C.cend || C.tasks_got < C.tasks_sent_to_me;
}

static void dispatch(struct job *j, int tag, const char *data, size_t len, int from)
{
    switch (tag) {
    case T_COFFER:
        if (mpid.d.rank == 0)
            on_offer(j, data, len, from);
        break;
    case T_CANSWER:
        if (len == sizeof(struct answer)) {
            struct answer a;
            memcpy(&a, data, sizeof a);
            on_answer(a.id, a.yes != 0);
        }
        break;
    case T_CTASK:
        if (len < sizeof(struct taskhdr) + sizeof(struct dist_offer)) {
            job_fail(j, JOB_FAILED, "malformed chunk task from rank %d", from);
        } else {
            struct taskhdr h;
            memcpy(&h, data, sizeof h);
            C.tasks_got++;
            give_local(data + sizeof h, len - sizeof h, h.idx);
        }
        break;
    case T_CRCPT:
        on_receipt(j, data, len, from);
        break;
    case T_CREQ:
        if (C.cwait && from > 0 && from < mpid.d.size)
            C.cwait[from]++;
        break;
    case T_CIDLE:
        if (C.idle && from > 0 && from < mpid.d.size && !C.idle[from]) {
            C.idle[from] = true;
            /* its batches are done (and their rows shipped at the journal
             * interval); it stays for chunk tasks until the chunk phase ends */
            rec_log(j, "rank %d on %s has run all its batches", from, mpid.hosts[from]);
        }
        break;
    case T_CEND:
        if (len == sizeof C.tasks_sent_to_me)
            memcpy(&C.tasks_sent_to_me, data, len);
        C.cend = true;
        break;
    default:
        break;
    }
}

bool mpic_handle(struct job *j, const MPI_Status *st)
{
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    char *buf = malloc(count > 0 ? (size_t)count : 1);
    if (!buf)
        die("receiving a chunk message");
    MPI_Recv(buf, count, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    dispatch(j, st->MPI_TAG, buf, count > 0 ? (size_t)count : 0, st->MPI_SOURCE);
    free(buf);
    return st->MPI_TAG == T_CTASK;
}

void mpic_serve(struct job *j)
{
    for (;;) {
        pthread_mutex_lock(&C.lock);
        struct cmsg *m = C.out;
        if (m && !(C.out = m->next))
            C.out_tail = NULL;
        pthread_mutex_unlock(&C.lock);
        if (!m)
            break;
        if (m->dest == mpid.d.rank)
            dispatch(j, m->tag, m->data, m->len, mpid.d.rank);
        else
            MPI_Send(m->data, (int)m->len, MPI_BYTE, m->dest, m->tag, MPI_COMM_WORLD);
        free(m);
    }
    /* receipts come from any rank, answers from rank 0; rank 0's own probe
     * (mpid_handle) sees them too, this keeps them moving everywhere else */
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, T_CRCPT, MPI_COMM_WORLD, &flag, &st);
        if (!flag && mpid.d.rank != 0)
            MPI_Iprobe(0, T_CANSWER, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            break;
        mpic_handle(j, &st);
    }
}

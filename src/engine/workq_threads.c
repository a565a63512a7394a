/* workq_threads.c - the work queue served by POSIX threads in this process.
 * One mutex guards the queues; contention is low because items are batches
 * of many entries. Help tasks (chunks of big files) run before batches.
 * See workq.h for the contract. */
#include "engine/workq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wq_worker {
    struct wbatch *head, *tail;   /* uniformsize: this worker's queue */
    uint64_t bytes;               /* assigned so far */
};

struct wq {
    struct workq base;
    pthread_mutex_t lock;
    pthread_cond_t cond_work;     /* workers wait for work */
    pthread_cond_t cond_space;    /* producer waits for space */
    int dynamic;
    size_t max_batches, queued;
    struct wbatch *head, *tail;   /* dynamic: shared queue */
    struct whelp *help_head, *help_tail;
    struct wq_worker *w;
    int n;
    pthread_t *threads;
    int started;
    int closed;
    int busy;                     /* workers running a batch or help task: they may post help */
    workq_exec_fn exec;
    void *ctx;
};

struct wbatch *wbatch_new(size_t cap)
{
    struct wbatch *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->n = 0;
    b->bytes = 0;
    b->used = 0;
    b->cap = cap;
    b->next = NULL;
    return b;
}

bool wbatch_add_t(struct wbatch *b, const struct entry *e, const struct tstat *t, bool absent)
{
    size_t sz = entry_size(e);
    size_t need = sz + (t ? sizeof *t : 0);
    if (b->used + need > b->cap)
        return false;
    struct entry *c = (struct entry *)(b->data + b->used);
    memcpy(c, e, sz);
    c->flags &= (uint8_t)~(ENTRY_F_TSTAT | ENTRY_F_TABSENT);
    if (t) {
        c->flags |= ENTRY_F_TSTAT;
        memcpy(b->data + b->used + sz, t, sizeof *t);
    } else if (absent) {
        c->flags |= ENTRY_F_TABSENT;
    }
    b->used += need;
    b->n++;
    if (e->type == BE_FILE)
        b->bytes += e->size;
    return true;
}

bool wbatch_add(struct wbatch *b, const struct entry *e)
{
    return wbatch_add_t(b, e, NULL, false);
}

const struct entry *wbatch_next(const struct wbatch *b, size_t *pos)
{
    if (*pos >= b->used)
        return NULL;
    const struct entry *e = (const struct entry *)(b->data + *pos);
    *pos += entry_size(e) + ((e->flags & ENTRY_F_TSTAT) ? sizeof(struct tstat) : 0);
    return e;
}

struct targ {
    struct wq *q;
    int id;
};

static struct wbatch *take(struct wq *q, int id)
{
    struct wbatch *b;
    if (q->dynamic) {
        b = q->head;
        if (b && !(q->head = b->next))
            q->tail = NULL;
    } else {
        struct wq_worker *w = &q->w[id];
        b = w->head;
        if (b && !(w->head = b->next))
            w->tail = NULL;
    }
    return b;
}

static void *worker_main(void *arg)
{
    struct targ *t = arg;
    struct wq *q = t->q;
    int id = t->id;
    free(t);
    pthread_mutex_lock(&q->lock);
    for (;;) {
        struct whelp *h = q->help_head;
        if (h) {
            if (!(q->help_head = h->next))
                q->help_tail = NULL;
            q->busy++;
            pthread_mutex_unlock(&q->lock);
            h->fn(h->arg, id);
            pthread_mutex_lock(&q->lock);
            if (--q->busy == 0)
                pthread_cond_broadcast(&q->cond_work);
            continue;
        }
        struct wbatch *b = take(q, id);
        if (b) {
            q->queued--;
            q->busy++;
            pthread_cond_signal(&q->cond_space);
            pthread_mutex_unlock(&q->lock);
            b->next = NULL;
            q->exec(q->ctx, id, b);
            pthread_mutex_lock(&q->lock);
            if (--q->busy == 0)
                pthread_cond_broadcast(&q->cond_work);
            continue;
        }
        /* leave only when nothing can come any more: closed, no worker
         * busy (a busy one may still post help tasks) and no batch queued
         * for another worker (that one will be busy and may post help) */
        if (q->closed && q->busy == 0 && q->queued == 0)
            break;
        pthread_cond_wait(&q->cond_work, &q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static int wq_start(struct workq *base, int n, workq_exec_fn exec, void *ctx)
{
    struct wq *q = (struct wq *)base;
    q->n = n < 1 ? 1 : n;
    q->exec = exec;
    q->ctx = ctx;
    q->w = calloc((size_t)q->n, sizeof *q->w);
    q->threads = calloc((size_t)q->n, sizeof *q->threads);
    if (!q->w || !q->threads)
        return -1;
    for (int i = 0; i < q->n; i++) {
        struct targ *t = malloc(sizeof *t);
        if (!t)
            return -1;
        t->q = q;
        t->id = i;
        if (pthread_create(&q->threads[i], NULL, worker_main, t)) {
            free(t);
            return -1;
        }
        q->started++;
    }
    return 0;
}

static void wq_push(struct workq *base, struct wbatch *b)
{
    struct wq *q = (struct wq *)base;
    pthread_mutex_lock(&q->lock);
    while (q->queued >= q->max_batches)
        pthread_cond_wait(&q->cond_space, &q->lock);
    b->next = NULL;
    if (q->dynamic) {
        if (q->tail)
            q->tail->next = b;
        else
            q->head = b;
        q->tail = b;
        pthread_cond_signal(&q->cond_work);
    } else {
        /* byte-balanced: the worker with the fewest bytes so far; entries
         * without bytes (dirs, empty files) count as one byte each so they
         * spread too. */
        int best = 0;
        for (int i = 1; i < q->n; i++)
            if (q->w[i].bytes < q->w[best].bytes)
                best = i;
        struct wq_worker *w = &q->w[best];
        w->bytes += b->bytes + b->n;
        if (w->tail)
            w->tail->next = b;
        else
            w->head = b;
        w->tail = b;
        pthread_cond_broadcast(&q->cond_work);
    }
    q->queued++;
    pthread_mutex_unlock(&q->lock);
}

static void wq_help(struct workq *base, struct whelp *h)
{
    struct wq *q = (struct wq *)base;
    pthread_mutex_lock(&q->lock);
    h->next = NULL;
    if (q->help_tail)
        q->help_tail->next = h;
    else
        q->help_head = h;
    q->help_tail = h;
    pthread_cond_broadcast(&q->cond_work);
    pthread_mutex_unlock(&q->lock);
}

static void wq_finish(struct workq *base)
{
    struct wq *q = (struct wq *)base;
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->cond_work);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->started; i++)
        pthread_join(q->threads[i], NULL);
    q->started = 0;
}

static void wq_free(struct workq *base)
{
    struct wq *q = (struct wq *)base;
    if (!q)
        return;
    if (q->started)
        wq_finish(base);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond_work);
    pthread_cond_destroy(&q->cond_space);
    free(q->w);
    free(q->threads);
    free(q);
}

static const struct workq_ops wq_ops = {
    .start = wq_start,
    .push = wq_push,
    .help = wq_help,
    .finish = wq_finish,
    .free = wq_free,
};

struct workq *workq_threads_new(int dynamic, size_t max_batches)
{
    struct wq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->base.ops = &wq_ops;
    q->dynamic = dynamic;
    q->max_batches = max_batches ? max_batches : 64;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond_work, NULL);
    pthread_cond_init(&q->cond_space, NULL);
    return &q->base;
}

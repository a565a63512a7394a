/* workq.h - how the copy phase hands work to workers.
 *
 * The producer (the job's main thread) reads the sorted plan and pushes
 * batches of entries; workers pop batches and execute them. A batch is one
 * flat buffer of entry records (no pointers), so a distributed implementation
 * (MPI ranks, mpi/) can ship it as bytes. Two distributions (spec B §10):
 *  - uniformsize: each batch is assigned to the worker with the fewest bytes
 *    so far (static, byte-balanced);
 *  - dynamic: one shared queue; faster workers take more.
 * Besides batches, a worker may post "help" tasks (chunks of a big file it is
 * copying) that any idle worker runs before taking a new batch.
 *
 * Threading: push/close from one producer thread; everything else from
 * workers. Memory is bounded: push blocks while `max_batches` are queued. */
#ifndef DISTCP_WORKQ_H
#define DISTCP_WORKQ_H
#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"

struct wbatch {
    size_t n;            /* entries */
    uint64_t bytes;      /* sum of file sizes */
    size_t used, cap;    /* bytes used in data[] */
    struct wbatch *next; /* queue link (owned by the queue) */
    char data[];         /* entry records back to back */
};

struct wbatch *wbatch_new(size_t cap);
/* Append a copy of e; returns false when it does not fit. */
bool wbatch_add(struct wbatch *b, const struct entry *e);
/* Append a copy of e with what is known of its target: `t` (the target's
 * status) or, when t is NULL and `absent`, that the target has no such key. */
bool wbatch_add_t(struct wbatch *b, const struct entry *e, const struct tstat *t, bool absent);
/* Iterate: *pos starts at 0. */
const struct entry *wbatch_next(const struct wbatch *b, size_t *pos);

struct whelp {            /* a help task: fn(arg, worker) */
    void (*fn)(void *arg, int worker);
    void *arg;
    struct whelp *next;
};

typedef void (*workq_exec_fn)(void *ctx, int worker, struct wbatch *b);

struct workq;
struct workq_ops {
    /* Start n workers that call exec(ctx, worker, batch) for every batch
     * (exec takes ownership of the batch and frees it). */
    int (*start)(struct workq *q, int n, workq_exec_fn exec, void *ctx);
    /* Queue a batch (takes ownership); blocks while the queue is full. */
    void (*push)(struct workq *q, struct wbatch *b);
    /* Post a help task that any worker runs before its next batch. */
    void (*help)(struct workq *q, struct whelp *h);
    /* No more batches: wait until every batch and help task has run and the
     * workers have exited. */
    void (*finish)(struct workq *q);
    void (*free)(struct workq *q);
};
struct workq {
    const struct workq_ops *ops;
};

/* Thread implementation; dynamic = shared queue, else per-worker queues. */
struct workq *workq_threads_new(int dynamic, size_t max_batches);

#endif

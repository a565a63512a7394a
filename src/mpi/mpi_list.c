/* mpi_list.c - the distributed listing: rank 0 lends directories to list.
 *
 * Rank 0's walk (engine/listing.c) keeps its stack of directories to list;
 * its threads pop from it as in a threaded run, and its main thread, here,
 * lends directories to the other ranks: a rank offers itself (T_LREQ) and
 * is kept supplied with eight directories per listing thread it runs (at
 * most LIST_AHEAD, each in a slot of its own: T_LDIR); its threads list
 * them through the rank's own backend client and send back every child's
 * name and status (T_LRES, in pieces for big directories; the last piece
 * carries the listing's result and frees the slot, which rank 0 fills
 * again while directories wait). Rank 0 feeds each child to the walk's own
 * callback (listing_lent_child: unsafe names, filters, sorter,
 * subdirectories back on the stack), so the plan is byte for byte the
 * threaded one; faster ranks come back sooner and take more (dynamic
 * balancing). When the walk is over (or failed) and no directory is out,
 * rank 0 ends the listing for every rank (T_LEND).
 *
 *   rank r -> 0  T_LREQ  roots, threads r serves the listing (once)
 *   0 -> rank r  T_LDIR  slot, root, path  list this directory
 *   rank r -> 0  T_LRES  hdr, children  part of a slot's result; last: rc + msg
 *   0 -> rank r  T_LEND  -              the listing is over (once per rank)
 *   rank r -> 0  T_LACK  sent T_LREQ?   at share(): r is past the listing
 * A rank whose sources resolved differently (digest) is never lent
 * anything; share() then fails the job, naming it. A rank that never
 * serves (it failed earlier, or rank 0 did not list: S3 sources, a resumed
 * plan) gets its T_LEND in share(): mpid_list_close() pairs every message.
 * Threading: the MPI calls are on each rank's main thread. */
#include "mpi/mpi_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/listing.h"
#include "engine/recorder.h"

#define LRES_PIECE (1u << 20)    /* bytes of children per T_LRES */
#define LIST_AHEAD DIST_LIST_AHEAD  /* directories lent to a rank at once */

struct lreq {
    uint32_t roots, nroots, threads;
};

struct lres_hdr {
    int32_t last, rc, code, sys_errno, http_status;
    uint32_t msglen, nrec, slot;
};

struct ldir_hdr {
    uint32_t slot, root;
};

struct lrec {
    uint32_t namelen;
    uint32_t pad;
    struct be_stat st;
};

static struct {
    /* rank 0 */
    bool lend_sent;
    bool *got_req;
    /* other ranks */
    bool sent_req, ended;
} lst;

/* ------------------------------------------------------------ other ranks */

/* A rank lists with threads of its own (as many as rank 0's walk has:
 * -numListstatusThreads, default 8): the main thread receives directories
 * into `todo`, the threads list them into pieces (T_LRES messages) queued
 * on `out`, and the main thread sends those (FUNNELED: only it calls MPI).
 * Pieces of one directory come from one thread in order, its last one
 * last. `out` holds at most OUT_MAX bytes; a thread with a full piece waits. */
#define OUT_MAX (64u << 20)

struct ljob {
    struct ljob *next;
    uint32_t slot, root;
    char path[];
};

struct lmsg {
    struct lmsg *next;
    size_t len;
    char data[];
};

static struct {
    pthread_mutex_t m;
    pthread_cond_t c;            /* todo or stop (threads), out room (threads) */
    struct ljob *jh, *jt;
    struct lmsg *oh, *ot;
    size_t obytes;
    bool stop;
    struct job *j;
} srv = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};

struct piece {
    uint32_t slot;
    char *buf;
    size_t len, cap;
    uint32_t nrec;
};

static void emit_piece(struct piece *p, bool last, int rc, const struct errinfo *ei)
{
    struct lres_hdr h;
    memset(&h, 0, sizeof h);
    h.last = last;
    h.nrec = p->nrec;
    h.slot = p->slot;
    const char *msg = "";
    if (last && rc) {
        h.rc = rc;
        h.code = ei->code;
        h.sys_errno = ei->sys_errno;
        h.http_status = ei->http_status;
        msg = ei->msg;
        h.msglen = (uint32_t)strlen(msg);
    }
    size_t len = sizeof h + h.msglen + p->len;
    struct lmsg *m = malloc(sizeof *m + len);
    if (!m) {
        fprintf(stderr, "distcp: out of memory sending a listing to rank 0\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));   /* ends every rank */
        return;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->data, &h, sizeof h);
    memcpy(m->data + sizeof h, msg, h.msglen);
    if (p->len)
        memcpy(m->data + sizeof h + h.msglen, p->buf, p->len);
    p->len = 0;
    p->nrec = 0;
    pthread_mutex_lock(&srv.m);
    while (srv.obytes > OUT_MAX && !srv.stop)
        pthread_cond_wait(&srv.c, &srv.m);
    if (srv.ot)
        srv.ot->next = m;
    else
        srv.oh = m;
    srv.ot = m;
    srv.obytes += len;
    pthread_mutex_unlock(&srv.m);
}

static int child_cb(void *arg, const char *name, size_t namelen, const struct be_stat *st)
{
    struct piece *p = arg;
    struct lrec r;
    memset(&r, 0, sizeof r);
    r.namelen = (uint32_t)namelen;
    r.st = *st;
    size_t need = sizeof r + namelen;
    if (p->len + need > p->cap) {
        size_t nc = p->cap ? p->cap : 64 * 1024;
        while (nc < p->len + need)
            nc *= 2;
        char *g = realloc(p->buf, nc);
        if (!g)
            return ERR_NOMEM;
        p->buf = g;
        p->cap = nc;
    }
    memcpy(p->buf + p->len, &r, sizeof r);
    memcpy(p->buf + p->len + sizeof r, name, namelen);
    p->len += need;
    p->nrec++;
    if (p->len >= LRES_PIECE)
        emit_piece(p, false, 0, NULL);
    return ERR_OK;
}

static void *lister_main(void *arg)
{
    (void)arg;
    struct piece p = {0};
    for (;;) {
        pthread_mutex_lock(&srv.m);
        while (!srv.jh && !srv.stop)
            pthread_cond_wait(&srv.c, &srv.m);
        struct ljob *jb = srv.jh;
        if (!jb) {
            pthread_mutex_unlock(&srv.m);
            break;
        }
        if (!(srv.jh = jb->next))
            srv.jt = NULL;
        pthread_mutex_unlock(&srv.m);
        struct errinfo ei = {0};
        p.slot = jb->slot;
        p.len = 0;
        p.nrec = 0;
        int rc = listing_list_dir(srv.j, jb->root, jb->path, child_cb, &p, &ei);
        if (rc == ERR_NOMEM && !ei.msg[0])
            err_setx(&ei, ERR_NOMEM, "out of memory");
        emit_piece(&p, true, rc, &ei);
        free(jb);
    }
    free(p.buf);
    return NULL;
}

static void add_job(const char *buf, size_t len)
{
    struct ldir_hdr h;
    if (len < sizeof h + 1 || buf[len - 1]) {
        fprintf(stderr, "distcp: a malformed directory request from rank 0\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    memcpy(&h, buf, sizeof h);
    size_t pl = len - sizeof h;
    struct ljob *jb = malloc(sizeof *jb + pl);
    if (!jb) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    jb->next = NULL;
    jb->slot = h.slot;
    jb->root = h.root;
    memcpy(jb->path, buf + sizeof h, pl);
    pthread_mutex_lock(&srv.m);
    if (srv.jt)
        srv.jt->next = jb;
    else
        srv.jh = jb;
    srv.jt = jb;
    pthread_cond_broadcast(&srv.c);
    pthread_mutex_unlock(&srv.m);
}

/* Send what the threads finished; true when something was sent. */
static bool send_out(void)
{
    bool any = false;
    for (;;) {
        pthread_mutex_lock(&srv.m);
        struct lmsg *m = srv.oh;
        if (m && !(srv.oh = m->next))
            srv.ot = NULL;
        if (m) {
            srv.obytes -= m->len;
            pthread_cond_broadcast(&srv.c);
        }
        pthread_mutex_unlock(&srv.m);
        if (!m)
            return any;
        MPI_Send(m->data, (int)m->len, MPI_BYTE, 0, T_LRES, MPI_COMM_WORLD);
        free(m);
        any = true;
    }
}

static void d_list_serve(struct dist *d, struct job *j)
{
    (void)d;
    size_t nth = listing_threads(j);
    pthread_t *th = calloc(nth, sizeof *th);
    size_t started = 0;
    srv.j = j;
    srv.stop = false;
    for (; th && started < nth; started++)
        if (pthread_create(&th[started], NULL, lister_main, NULL))
            break;
    if (!started) {
        free(th);
        return;                 /* lists nothing; share() ends the listing for it */
    }
    struct lreq q = {mpid_roots_digest(j), (uint32_t)j->nroots, (uint32_t)started};
    MPI_Send(&q, (int)sizeof q, MPI_BYTE, 0, T_LREQ, MPI_COMM_WORLD);
    lst.sent_req = true;
    while (!lst.ended) {
        int flag = 0;
        MPI_Status st;
        bool progress = send_out();
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            if (!progress)
                mpid_nap();
            continue;
        }
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        char *buf = malloc(count > 0 ? (size_t)count : 1);
        if (!buf) {
            fprintf(stderr, "distcp: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
            return;
        }
        MPI_Recv(buf, count, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == T_LEND)
            lst.ended = true;   /* rank 0 had every lent directory back: all idle */
        else if (st.MPI_TAG == T_LDIR)
            add_job(buf, (size_t)count);
        free(buf);
    }
    pthread_mutex_lock(&srv.m);
    srv.stop = true;
    pthread_cond_broadcast(&srv.c);
    pthread_mutex_unlock(&srv.m);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    send_out();                 /* nothing is left by the protocol; keep it tidy */
}

/* ------------------------------------------------------------ rank 0 */

static void send_lend_all(void)
{
    int32_t z = 0;
    for (int r = 1; r < mpid.d.size; r++)
        MPI_Send(&z, 1, MPI_INT32_T, r, T_LEND, MPI_COMM_WORLD);
    lst.lend_sent = true;
}

/* One piece of a slot's result (the slot checked to be rank r's and lent):
 * feed its children to the walk. bad[slot] keeps the first failure of a
 * child (the rest of that directory is skipped). Returns the slot when
 * this was its last piece, else -1. */
static long take_piece(struct walk *w, int r, const char *buf, size_t len, const bool *lent, int *bad)
{
    struct lres_hdr h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, buf, sizeof h);
    size_t slot = h.slot;
    if (slot / LIST_AHEAD != (size_t)r || !lent[slot])
        return -1;              /* not a directory lent to r: ignored */
    size_t off = sizeof h + h.msglen;
    for (uint32_t i = 0; i < h.nrec && off + sizeof(struct lrec) <= len; i++) {
        struct lrec rec;
        memcpy(&rec, buf + off, sizeof rec);
        off += sizeof rec;
        if (off + rec.namelen > len)
            break;
        if (!bad[slot])
            bad[slot] = listing_lent_child(w, slot, buf + off, rec.namelen, &rec.st);
        off += rec.namelen;
    }
    if (!h.last)
        return -1;
    if (bad[slot]) {
        listing_lent_done(w, slot, bad[slot], NULL);
    } else if (h.rc) {
        struct errinfo ei = {0};
        ei.code = h.code;
        ei.sys_errno = h.sys_errno;
        ei.http_status = h.http_status;
        size_t ml = h.msglen < sizeof ei.msg - 1 ? h.msglen : sizeof ei.msg - 1;
        if (sizeof h + ml <= len)
            memcpy(ei.msg, buf + sizeof h, ml);
        listing_lent_done(w, slot, h.rc, &ei);
    } else {
        listing_lent_done(w, slot, 0, NULL);
    }
    bad[slot] = 0;
    return (long)slot;
}

static void lend(int r, size_t slot, uint32_t root, const char *path)
{
    size_t pl = strlen(path) + 1;
    struct ldir_hdr h = {(uint32_t)slot, root};
    char *m = malloc(sizeof h + pl);
    if (!m) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    memcpy(m, &h, sizeof h);
    memcpy(m + sizeof h, path, pl);
    MPI_Send(m, (int)(sizeof h + pl), MPI_BYTE, r, T_LDIR, MPI_COMM_WORLD);
    free(m);
}

static void d_list_walk(struct dist *d, struct job *j, struct walk *w)
{
    int n = d->size;
    size_t nslots = (size_t)n * LIST_AHEAD;
    bool *eligible = calloc((size_t)n, sizeof *eligible);
    size_t *ahead = calloc((size_t)n, sizeof *ahead);
    bool *lent = calloc(nslots, sizeof *lent);
    int *bad = calloc(nslots, sizeof *bad);
    uint64_t *ndirs = calloc((size_t)n, sizeof *ndirs);
    if (!lst.got_req)
        lst.got_req = calloc((size_t)n, sizeof *lst.got_req);
    if (!eligible || !ahead || !lent || !bad || !ndirs || !lst.got_req) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
        return;
    }
    uint32_t mine = mpid_roots_digest(j);
    size_t nlent = 0;
    for (;;) {
        bool progress = false;
        int flag = 0;
        MPI_Status st;
        for (;;) {
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
            if (!flag)
                break;
            int r = st.MPI_SOURCE, count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            char *buf = malloc(count > 0 ? (size_t)count : 1);
            if (!buf) {
                fprintf(stderr, "distcp: out of memory\n");
                MPI_Abort(MPI_COMM_WORLD, job_exit_code(JOB_FAILED));
                return;
            }
            MPI_Recv(buf, count, MPI_BYTE, r, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (st.MPI_TAG == T_LREQ && (size_t)count == sizeof(struct lreq)) {
                struct lreq q;
                memcpy(&q, buf, sizeof q);
                lst.got_req[r] = true;
                /* a rank that resolved other sources lists nothing (share() fails the job) */
                eligible[r] = q.roots == mine && q.nroots == (uint32_t)j->nroots;
                /* several directories per listing thread: a round trip to rank 0
                 * costs more than listing a small directory */
                ahead[r] = q.threads * 8 < LIST_AHEAD ? q.threads * 8 : LIST_AHEAD;
            } else if (st.MPI_TAG == T_LRES) {
                long slot = take_piece(w, r, buf, (size_t)count, lent, bad);
                if (slot >= 0) {
                    lent[slot] = false;
                    nlent--;
                    ndirs[r]++;
                }
            }
            free(buf);
            progress = true;
        }
        bool over = listing_walk_over(w);
        /* keep every rank supplied: fill its free slots while directories wait */
        for (int r = 1; r < n && !over; r++) {
            for (size_t k = 0; eligible[r] && k < ahead[r]; k++) {
                size_t slot = (size_t)r * LIST_AHEAD + k;
                uint32_t root;
                const char *path;
                if (lent[slot])
                    continue;
                if (!listing_lend(w, slot, &root, &path))
                    break;
                lend(r, slot, root, path);
                lent[slot] = true;
                nlent++;
                progress = true;
            }
        }
        if (over && !nlent)
            break;
        if (!progress)
            mpid_nap();
    }
    send_lend_all();
    /* who listed what: in the job log, and on stderr with -v */
    for (int r = 1; r < n; r++) {
        rec_log(j, "listing: rank %d listed %" PRIu64 " directories", r, ndirs[r]);
        if (j->o->verbose)
            fprintf(stderr, "distcp: listing: rank %d listed %" PRIu64 " directories\n", r, ndirs[r]);
    }
    free(eligible);
    free(ahead);
    free(lent);
    free(bad);
    free(ndirs);
}

/* ------------------------------------------------------------ both */

void mpid_list_close(struct job *j)
{
    (void)j;
    if (mpid.d.rank == 0) {
        if (!lst.lend_sent)
            send_lend_all();
        for (int r = 1; r < mpid.d.size; r++) {
            int32_t sent = 0;
            MPI_Recv(&sent, 1, MPI_INT32_T, r, T_LACK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (sent && !(lst.got_req && lst.got_req[r])) {
                struct lreq q;
                MPI_Recv(&q, (int)sizeof q, MPI_BYTE, r, T_LREQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
        }
        free(lst.got_req);
        lst.got_req = NULL;
    } else {
        if (!lst.ended) {
            int32_t z;
            MPI_Recv(&z, 1, MPI_INT32_T, 0, T_LEND, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            lst.ended = true;
        }
        int32_t sent = lst.sent_req;
        MPI_Send(&sent, 1, MPI_INT32_T, 0, T_LACK, MPI_COMM_WORLD);
    }
}

void mpid_list_install(struct dist *d)
{
    d->list_walk = d_list_walk;
    d->list_serve = d_list_serve;
}

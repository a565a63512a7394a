/* mpi_list.c - the distributed listing: rank 0 lends directories to list.
 *
 * Rank 0's walk (engine/listing.c) keeps its stack of directories to list;
 * its threads pop from it as in a threaded run, and its main thread, here,
 * lends directories to the other ranks: a rank asks (T_LREQ), gets one
 * directory (T_LDIR), lists it through its own backend client and sends
 * back every child's name and status (T_LRES, in pieces for big
 * directories; the last piece carries the listing's result and asks for
 * the next one). Rank 0 feeds each child to the walk's own callback
 * (listing_lent_child: unsafe names, filters, sorter, subdirectories back
 * on the stack), so the plan is byte for byte the threaded one; faster
 * ranks come back sooner and take more (dynamic balancing). When the walk
 * is over (or failed) and no directory is out, rank 0 ends the listing for
 * every rank (T_LEND).
 *
 *   rank r -> 0  T_LREQ  roots digest   r serves the listing (once)
 *   0 -> rank r  T_LDIR  root, path     list this directory
 *   rank r -> 0  T_LRES  hdr, children  part of its result; last: rc + msg
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
#include "jobs/jobrec.h"

#define LRES_PIECE (1u << 20)    /* bytes of children per T_LRES */

struct lreq {
    uint32_t roots, nroots;
};

struct lres_hdr {
    int32_t last, rc, code, sys_errno, http_status;
    uint32_t msglen, nrec;
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

struct piece {
    char *buf;
    size_t len, cap;
    uint32_t nrec;
    bool oom;
};

static void send_piece(struct piece *p, bool last, int rc, const struct errinfo *ei)
{
    struct lres_hdr h;
    memset(&h, 0, sizeof h);
    h.last = last;
    h.nrec = p->nrec;
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
    char *out = malloc(len);
    if (!out) {
        fprintf(stderr, "distcp: out of memory sending a listing to rank 0\n");
        MPI_Abort(MPI_COMM_WORLD, EXIT_FAIL);
        return;
    }
    memcpy(out, &h, sizeof h);
    memcpy(out + sizeof h, msg, h.msglen);
    if (p->len)
        memcpy(out + sizeof h + h.msglen, p->buf, p->len);
    MPI_Send(out, (int)len, MPI_BYTE, 0, T_LRES, MPI_COMM_WORLD);
    free(out);
    p->len = 0;
    p->nrec = 0;
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
        send_piece(p, false, 0, NULL);
    return ERR_OK;
}

static void list_one(struct job *j, const char *buf, size_t len)
{
    uint32_t root;
    struct errinfo ei = {0};
    struct piece p = {0};
    if (len < sizeof root + 1 || buf[len - 1]) {
        err_setx(&ei, ERR_INVAL, "a malformed directory request from rank 0");
        send_piece(&p, true, ERR_INVAL, &ei);
        return;
    }
    memcpy(&root, buf, sizeof root);
    int rc = listing_list_dir(j, root, buf + sizeof root, child_cb, &p, &ei);
    if (rc == ERR_NOMEM && !ei.msg[0])
        err_setx(&ei, ERR_NOMEM, "out of memory");
    send_piece(&p, true, rc, &ei);
    free(p.buf);
}

static void d_list_serve(struct dist *d, struct job *j)
{
    struct lreq q = {mpid_roots_digest(j), (uint32_t)j->nroots};
    MPI_Send(&q, (int)sizeof q, MPI_BYTE, 0, T_LREQ, MPI_COMM_WORLD);
    lst.sent_req = true;
    while (!lst.ended) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            mpid_nap();
            continue;
        }
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        char *buf = malloc(count > 0 ? (size_t)count : 1);
        if (!buf) {
            fprintf(stderr, "distcp: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, EXIT_FAIL);
            return;
        }
        MPI_Recv(buf, count, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == T_LEND)
            lst.ended = true;
        else if (st.MPI_TAG == T_LDIR)
            list_one(j, buf, (size_t)count);
        free(buf);
    }
    (void)d;
}

/* ------------------------------------------------------------ rank 0 */

static void send_lend_all(void)
{
    int32_t z = 0;
    for (int r = 1; r < mpid.d.size; r++)
        MPI_Send(&z, 1, MPI_INT32_T, r, T_LEND, MPI_COMM_WORLD);
    lst.lend_sent = true;
}

/* One piece of rank r's result: feed its children to the walk. *bad keeps
 * the first failure of a child (the rest of that directory is skipped). */
static bool take_piece(struct walk *w, int r, const char *buf, size_t len, int *bad)
{
    struct lres_hdr h;
    if (len < sizeof h)
        return false;
    memcpy(&h, buf, sizeof h);
    size_t off = sizeof h + h.msglen;
    for (uint32_t i = 0; i < h.nrec && off + sizeof(struct lrec) <= len; i++) {
        struct lrec rec;
        memcpy(&rec, buf + off, sizeof rec);
        off += sizeof rec;
        if (off + rec.namelen > len)
            break;
        if (!*bad)
            *bad = listing_lent_child(w, (size_t)r, buf + off, rec.namelen, &rec.st);
        off += rec.namelen;
    }
    if (!h.last)
        return false;
    if (*bad) {
        listing_lent_done(w, (size_t)r, *bad, NULL);
    } else if (h.rc) {
        struct errinfo ei = {0};
        ei.code = h.code;
        ei.sys_errno = h.sys_errno;
        ei.http_status = h.http_status;
        size_t ml = h.msglen < sizeof ei.msg - 1 ? h.msglen : sizeof ei.msg - 1;
        if (sizeof h + ml <= len)
            memcpy(ei.msg, buf + sizeof h, ml);
        listing_lent_done(w, (size_t)r, h.rc, &ei);
    } else {
        listing_lent_done(w, (size_t)r, 0, NULL);
    }
    *bad = 0;
    return true;
}

static void d_list_walk(struct dist *d, struct job *j, struct walk *w)
{
    int n = d->size;
    bool *waiting = calloc((size_t)n, sizeof *waiting);
    bool *lent = calloc((size_t)n, sizeof *lent);
    int *bad = calloc((size_t)n, sizeof *bad);
    uint64_t *ndirs = calloc((size_t)n, sizeof *ndirs);
    if (!lst.got_req)
        lst.got_req = calloc((size_t)n, sizeof *lst.got_req);
    if (!waiting || !lent || !bad || !ndirs || !lst.got_req) {
        fprintf(stderr, "distcp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, EXIT_FAIL);
        return;
    }
    uint32_t mine = mpid_roots_digest(j);
    for (;;) {
        bool progress = false;
        int flag = 0, nlent = 0;
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
                MPI_Abort(MPI_COMM_WORLD, EXIT_FAIL);
                return;
            }
            MPI_Recv(buf, count, MPI_BYTE, r, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (st.MPI_TAG == T_LREQ && (size_t)count == sizeof(struct lreq)) {
                struct lreq q;
                memcpy(&q, buf, sizeof q);
                lst.got_req[r] = true;
                /* a rank that resolved other sources lists nothing (share() fails the job) */
                waiting[r] = q.roots == mine && q.nroots == (uint32_t)j->nroots;
            } else if (st.MPI_TAG == T_LRES && lent[r]) {
                if (take_piece(w, r, buf, (size_t)count, &bad[r])) {
                    lent[r] = false;
                    waiting[r] = true;      /* the last piece asks for more */
                    ndirs[r]++;
                }
            }
            free(buf);
            progress = true;
        }
        bool over = listing_walk_over(w);
        for (int r = 1; r < n; r++) {
            uint32_t root;
            const char *path;
            if (!over && waiting[r] && listing_lend(w, (size_t)r, &root, &path)) {
                size_t pl = strlen(path) + 1;
                char *m = malloc(sizeof root + pl);
                if (!m) {
                    fprintf(stderr, "distcp: out of memory\n");
                    MPI_Abort(MPI_COMM_WORLD, EXIT_FAIL);
                    return;
                }
                memcpy(m, &root, sizeof root);
                memcpy(m + sizeof root, path, pl);
                MPI_Send(m, (int)(sizeof root + pl), MPI_BYTE, r, T_LDIR, MPI_COMM_WORLD);
                free(m);
                waiting[r] = false;
                lent[r] = true;
                progress = true;
            }
            nlent += lent[r];
        }
        if (over && !nlent)
            break;
        if (!progress)
            mpid_nap();
    }
    send_lend_all();
    /* who listed what: in the job log, and on stderr with -v */
    for (int r = 1; r < n; r++) {
        jobrec_log(j, "listing: rank %d listed %" PRIu64 " directories", r, ndirs[r]);
        if (j->o->verbose)
            fprintf(stderr, "distcp: listing: rank %d listed %" PRIu64 " directories\n", r, ndirs[r]);
    }
    free(waiting);
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

/* mpi_rows.c - every rank's results reach the job record on rank 0.
 *
 * Only rank 0 holds the job record (jobs/jobrec.c: report rows, journal of
 * finished plan ordinals). On the other ranks rec_row() hands each row
 * to mpid_row() (the dist.h `row` hook), which appends it to a buffer; the
 * rank's main thread ships the buffer to rank 0 as one T_ROWS message every
 * journal interval (DISTCP_JOURNAL_INTERVAL_MS, as rank 0's own journal)
 * and in full before its final T_REPORT. Rank 0 writes each row through
 * rec_row() exactly as a local one: the same TSV, the same journal, so
 * `job report` and `job resume` see every rank's files.
 *
 * Durability (the journal's rule: a record only after the target bytes are
 * durable): a row enters the buffer after its file is complete under its
 * final name; before a buffer is shipped the shipping rank syncs the target
 * (job_sync_target: the store's sync slot, syncfs of a local or shared-FS target, which on a
 * network file system pushes this host's dirty pages to the server; S3 and
 * WebHDFS writes are durable when they complete). Rank 0's syncfs would not
 * do: it cannot flush another host's page cache. A rank killed before it
 * ships loses only unrecorded rows; resume re-decides those files.
 *
 * Wire format of T_ROWS: records back to back, each a struct wrow followed
 * by src, dst and detail bytes (no NULs). Worker ids are job-wide (this
 * rank's first worker + local id), so rows go to rows.<id>.tsv files of
 * their own, numbered as the -log part files. */
#include "mpi/mpi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/entry.h"
#include "engine/recorder.h"

#define ROWS_SHIP_BYTES (1u << 20)   /* ship early when this much waits */

struct wrow {
    uint64_t size;
    int64_t mtime_ns;
    uint32_t seq;
    int32_t worker;
    uint32_t srclen, dstlen, detlen;
    uint8_t type, action, has_entry, pad;
};

static struct {
    bool on;                    /* the job is recorded (rank 0 said so) */
    int base;                   /* job-wide index of this rank's first worker */
    unsigned interval_ms;
    pthread_mutex_t lock;
    char *buf;
    size_t len, cap;
    bool oom;                   /* a row was dropped: resume re-decides it */
    struct timespec last;
} rows = {.lock = PTHREAD_MUTEX_INITIALIZER};

void mpid_rows_share(struct job *j)
{
    uint8_t on = mpid.d.rank == 0 && j->rec != NULL;
    MPI_Bcast(&on, 1, MPI_UINT8_T, 0, MPI_COMM_WORLD);
    rows.on = on && mpid.d.rank != 0 && !j->o->dry_run;
    int m = j->o->max_maps < 1 ? 1 : j->o->max_maps;
    rows.base = 0;
    for (int r = 0; r < mpid.d.rank; r++)
        rows.base += mpid_share(j, r, m);
    rows.interval_ms = j->o->settings.journal_ms ? j->o->settings.journal_ms : 5000;
    clock_gettime(CLOCK_MONOTONIC, &rows.last);
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

void mpid_row(struct dist *d, struct job *j, int worker, const struct entry *e, const char *src,
              const char *dst, int action, const char *detail)
{
    (void)d;
    (void)j;
    if (!rows.on)
        return;
    struct wrow w;
    memset(&w, 0, sizeof w);
    if (e) {
        w.size = e->size;
        w.mtime_ns = e->mtime_ns;
        w.seq = e->seq;
        w.type = e->type;
        w.has_entry = 1;
    }
    w.worker = worker < 0 ? -1 : rows.base + worker;
    w.action = (uint8_t)action;
    w.srclen = (uint32_t)slen(src);
    w.dstlen = (uint32_t)slen(dst);
    w.detlen = (uint32_t)slen(detail);
    size_t need = sizeof w + w.srclen + w.dstlen + w.detlen;
    pthread_mutex_lock(&rows.lock);
    if (rows.len + need > rows.cap) {
        size_t nc = rows.cap ? rows.cap : 64 * 1024;
        while (nc < rows.len + need)
            nc *= 2;
        char *g = realloc(rows.buf, nc);
        if (!g) {
            rows.oom = true;
            pthread_mutex_unlock(&rows.lock);
            return;
        }
        rows.buf = g;
        rows.cap = nc;
    }
    char *p = rows.buf + rows.len;
    memcpy(p, &w, sizeof w);
    p += sizeof w;
    if (w.srclen)
        memcpy(p, src, w.srclen);
    p += w.srclen;
    if (w.dstlen)
        memcpy(p, dst, w.dstlen);
    p += w.dstlen;
    if (w.detlen)
        memcpy(p, detail, w.detlen);
    rows.len += need;
    pthread_mutex_unlock(&rows.lock);
}

void mpid_rows_ship(struct job *j, bool force)
{
    if (!rows.on)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - rows.last.tv_sec) * 1000L + (now.tv_nsec - rows.last.tv_nsec) / 1000000L;
    pthread_mutex_lock(&rows.lock);
    bool due = rows.len && (force || ms >= (long)rows.interval_ms || rows.len >= ROWS_SHIP_BYTES);
    char *buf = due ? rows.buf : NULL;
    size_t len = due ? rows.len : 0;
    if (due) {
        rows.buf = NULL;
        rows.len = rows.cap = 0;
    }
    pthread_mutex_unlock(&rows.lock);
    if (!due)
        return;
    rows.last = now;
    if (rows.oom) {
        rows.oom = false;
        fprintf(stderr, "distcp: rank %d: out of memory: some report rows were dropped "
                "(their files are not journaled; a resume checks them again)\n", mpid.d.rank);
    }
    /* the rows taken are of files complete under their final names: make
     * their bytes durable here, on the host that wrote them, first */
    job_sync_target(j);
    for (size_t off = 0; off < len;) {
        /* whole records, at most 64 MiB per message */
        size_t n = 0;
        while (off + n < len) {
            struct wrow w;
            memcpy(&w, buf + off + n, sizeof w);
            size_t rl = sizeof w + w.srclen + w.dstlen + w.detlen;
            if (n && n + rl > (64u << 20))
                break;
            n += rl;
        }
        MPI_Send(buf + off, (int)n, MPI_BYTE, 0, T_ROWS, MPI_COMM_WORLD);
        off += n;
    }
    free(buf);
}

static char *dup_n(const char *p, uint32_t n)
{
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

void mpid_rows_take(struct job *j, int rank, const char *buf, size_t len)
{
    size_t off = 0;
    while (off + sizeof(struct wrow) <= len) {
        struct wrow w;
        memcpy(&w, buf + off, sizeof w);
        size_t rl = sizeof w + (size_t)w.srclen + w.dstlen + w.detlen;
        if (off + rl > len)
            break;
        const char *p = buf + off + sizeof w;
        char *src = w.srclen ? dup_n(p, w.srclen) : NULL;
        char *dst = w.dstlen ? dup_n(p + w.srclen, w.dstlen) : NULL;
        char *det = w.detlen ? dup_n(p + w.srclen + w.dstlen, w.detlen) : NULL;
        struct entry e;
        memset(&e, 0, sizeof e);
        e.size = w.size;
        e.mtime_ns = w.mtime_ns;
        e.seq = w.seq;
        e.type = w.type;
        rec_row(j, w.worker, w.has_entry ? &e : NULL, src, dst, (enum jr_action)w.action, det);
        free(src);
        free(dst);
        free(det);
        off += rl;
    }
    if (off != len)
        fprintf(stderr, "distcp: warning: a malformed batch of report rows from rank %d was dropped\n", rank);
}

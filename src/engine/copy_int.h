/* copy_int.h - what the copy phase's files share (private to src/engine/):
 * copy.c (transfer, finalize, results), chunks.c (big files in chunks),
 * attrs.c (-p attributes, digests), compare.c (the per-file decision),
 * copyrun.c (the producer, entries, workers).
 *
 * Invariants: one struct copyrun per copy phase, owned by copy_run() on the
 * job's main thread and reachable from the job as j->workq_ctx while the
 * phase runs; one struct wctx per worker (w[n] is the main thread's, used
 * for files finished by receipts under MPI); a struct xfer lives on the
 * stack of the worker copying one file or chunk.
 *
 * Threading: a wctx is touched only by its worker; copyrun is read-only
 * once workers start (throttles lock themselves). */
#ifndef DISTCP_COPY_INT_H
#define DISTCP_COPY_INT_H
#include <stdio.h>

#include "engine/attrs.h"
#include "engine/decide.h"
#include "engine/job.h"
#include "engine/throttle.h"
#include "engine/workq.h"

#define PATHMAX 8192

struct wctx {
    struct job *j;
    int id;
    char *buf;
    size_t bufsize;
    FILE *log;
    struct throttle thr;
    uint64_t seq;
    const char *why;     /* reason of the last SKIP decision (reports) */
    char src[PATHMAX], dst[PATHMAX];
};

struct copyrun {
    struct job *j;
    struct workq *q;
    struct wctx *w;
    int n;
    struct throttle global;
    size_t bufsize;
    uint64_t chunk_min, chunk_size;
    int n_job;                            /* workers of the whole job (MPI: every rank) */
    bool share_chunks;                    /* MPI: big files' chunks go to other ranks */
    bool test_chunks;                     /* MPI chunks: testpoint.h fail_chunk applies */
    unsigned retry_delay_ms;
};

struct xfer {              /* one file (or one chunk of it) being written */
    struct copyrun *r;
    struct be_fs *sfs, *tfs;
    const char *src, *dst;
    uint64_t size;         /* listed source length */
    struct verify *v;      /* HDFS checksum computed while streaming, or NULL (verify.h) */
    uint64_t blocksize;    /* create with this block size (-pb/-pc), 0 = store default */
    uint16_t replication;  /* create with this replication (-pr), 0 = store default */
};

/* copy.c ------------------------------------------------------------- */
/* A line in the worker's -log file (no-op without -log). */
void copy_wlog(struct wctx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An action line of --dry-run on stdout (no-op otherwise). */
void copy_dry(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A unique temp-name tag for the worker's next file. */
void copy_tmp_tag(struct wctx *w, char *buf, size_t n);
/* Copy [off, off+len) of x's source into wr (see copy.c). */
int copy_range_data(struct wctx *w, struct xfer *x, struct be_file *wr,
                    uint64_t off, uint64_t len, bool check_eof,
                    uint32_t *crc, bool *crc_ok, bool *readside,
                    struct errinfo *ei);
/* Start x's target file (temp or direct); shared: a writer other ranks join. */
int copy_open_writer(struct wctx *w, struct xfer *x, bool shared, struct be_file **wr,
                     struct errinfo *ei);
/* After the data: attributes, length check, digest; the caller commits. */
int copy_finalize(struct wctx *w, struct xfer *x, const struct entry *e,
                  struct be_file *wr, bool crc_ok, uint32_t crc, struct errinfo *ei);
/* Commit wr (consumed) and, for stores without wsetattr, apply -p through setattr. */
int copy_commit(struct wctx *w, struct xfer *x, const struct entry *e, struct be_file *wr,
                struct errinfo *ei);
int copy_whole(struct wctx *w, struct xfer *x, const struct entry *e,
               bool *readside, struct errinfo *ei);
int copy_append_tail(struct wctx *w, struct xfer *x, const struct entry *e,
                     uint64_t tlen, bool *readside, struct errinfo *ei);
/* Count, log and record one file's outcome; a failure fails the job unless
 * -i lets it go. */
void copy_record_result(struct wctx *w, const struct entry *e, const char *src,
                        const char *dst, int rc, bool readside, const struct errinfo *ei,
                        uint64_t old_tlen, bool appended, uint64_t tail);

/* chunks.c ----------------------------------------------------------- */
/* The chunk size to split e into, 0 to copy it whole. */
uint64_t copy_chunk_for(struct copyrun *r, const struct entry *e);
/* Start a chunked copy; ERR_OK when the chunks own the file. */
int copy_chunked(struct wctx *w, struct xfer *x, const struct entry *e,
                 uint64_t chunk, struct errinfo *ei);

/* attrs.c ------------------------------------------------------------ */
/* CRC32C of a file's first `limit` bytes, read through w's buffer. */
int copy_crc_of(struct wctx *w, struct be_fs *fs, const char *path, uint64_t limit,
                uint32_t *crc, uint64_t *len, struct errinfo *ei);
/* One side's content digest: listed, else asked of the store. */
bool copy_side_digest(unsigned flags, uint32_t listed, struct be_fs *fs, const char *path,
                      uint64_t size, int64_t mtime, uint32_t *crc);
/* Apply -p attributes to an existing target (skipped files, B §7). */
int copy_apply_attrs(struct wctx *w, const struct entry *e, const char *src,
                     const char *dst, bool dir, const struct be_stat *ts, struct errinfo *ei);

/* compare.c ---------------------------------------------------------- */
/* The coarser mtime precision of e's source store and the target (ns). */
int64_t compare_mtime_gran(const struct job *j, const struct entry *e);
/* t rounded down to a multiple of g. */
int64_t compare_mtime_at(int64_t t, int64_t g);
/* The action for e whose target exists with status ts (and listed tt). */
int compare_decide(struct wctx *w, const struct entry *e, const char *src, const char *dst,
                   const struct be_stat *ts, const struct tstat *tt, enum action *act,
                   struct errinfo *ei);

#endif

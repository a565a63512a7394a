/* jobrec.c - the running job's record: store row, plan, journal, report rows,
 * heartbeat, cancel. See jobrec.h for the files and the threading.
 *
 * Journal format: a sequence of batches, each a 16-byte header
 *   u32 magic "DCJB" | u32 count | u32 crc32c of the records | u32 run
 * followed by count 8-byte records { u32 seq; u8 action; u8 pad[3] }.
 * A batch whose header or CRC does not check (a torn write at a crash) ends
 * the journal: what follows is ignored, so nothing not durably recorded is
 * ever trusted. Before a batch is written the target's file system is
 * synced (syncfs) for local targets, so a recorded file's bytes are on disk
 * before its record is. */
#include "jobs/jobrec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/dist.h"
#include "engine/entry.h"
#include "engine/job.h"
#include "jobs/store.h"
#include "util/checksum.h"
#include "util/path.h"

#define JMAGIC 0x424a4344u      /* "DCJB" little-endian */
#define MAX_RUN_ERRORS 100

struct jrec_rec {
    uint32_t seq;
    uint8_t action;
    uint8_t pad[3];
};

struct jobrec {
    struct jstore *store;
    int64_t id;
    int run;
    bool detached;
    char dir[4096];
    char rundir[4200];
    json_t *setup;              /* saved setup when resuming with a plan */
    bool have_plan;

    /* journal */
    int jfd;
    uint8_t *done;              /* bitmap of plan ordinals finished earlier */
    uint64_t done_bits;
    uint64_t earlier;           /* how many */
    _Atomic uint64_t earlier_bytes; /* their bytes, as the producer passes them */
    pthread_mutex_t jlock;
    struct jrec_rec *jbuf;
    size_t jn, jcap;

    /* rows */
    pthread_mutex_t rlock;
    FILE **rows;                /* [0] main, [1 + w] worker w */
    size_t nrows;

    /* log */
    FILE *log;
    pthread_mutex_t loglock;

    /* heartbeat */
    pthread_t th;
    bool th_started;
    pthread_mutex_t tlock;
    pthread_cond_t tcond;
    bool stop;
    unsigned interval_ms;

    int nerrors;
    /* test pause */
    char pause_phase[32];
    uint64_t pause_at;
    _Atomic uint64_t pause_count;
    atomic_int paused;
    bool cancel_logged;
};

static const char *const action_names[JR__COUNT] = {
    [JR_COPIED] = "COPIED", [JR_APPENDED] = "APPENDED", [JR_SKIPPED] = "SKIPPED",
    [JR_FAILED] = "FAILED", [JR_MKDIR] = "MKDIR", [JR_DIR_EXISTS] = "DIR_EXISTS",
    [JR_DELETED] = "DELETED", [JR_DONE_EARLIER] = "DONE_EARLIER",
};

const char *jr_action_name(enum jr_action a, bool dry_run)
{
    if (dry_run) {
        if (a == JR_COPIED)
            return "WOULD_COPY";
        if (a == JR_APPENDED)
            return "WOULD_APPEND";
        if (a == JR_MKDIR)
            return "WOULD_MKDIR";
        if (a == JR_DELETED)
            return "WOULD_DELETE";
    }
    return (unsigned)a < JR__COUNT ? action_names[a] : "UNKNOWN";
}

bool jobrec_cancelled(const struct job *j)
{
    return atomic_load(&j->user_cancel) != 0;
}

void jobrec_log(struct job *j, const char *fmt, ...)
{
    struct jobrec *r = j->rec;
    if (!r || !r->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->loglock);
    time_t t = time(NULL);
    struct tm tm;
    char ts[32];
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(r->log, "%s ", ts);
    vfprintf(r->log, fmt, ap);
    fputc('\n', r->log);
    fflush(r->log);
    pthread_mutex_unlock(&r->loglock);
    va_end(ap);
}

/* ------------------------------------------------------------ journal */

static int sync_target(struct job *j)
{
    if (strcmp(j->tfs->ops->name, "local"))
        return 0;               /* remote stores: a completed write is durable */
    char *p = strdup(j->work ? j->work : j->target);
    int fd = -1;
    while (p && fd < 0) {
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || !strcmp(p, "/") || !*p)
            break;
        char *q = path_parent(p);
        free(p);
        p = q;
    }
    free(p);
    if (fd < 0)
        return -1;
    int rc = syncfs(fd);
    close(fd);
    return rc;
}

int jobrec_sync_target(struct job *j)
{
    return sync_target(j);
}

static void journal_flush(struct job *j, bool sync)
{
    struct jobrec *r = j->rec;
    pthread_mutex_lock(&r->jlock);
    struct jrec_rec *b = r->jbuf;
    size_t n = r->jn;
    r->jbuf = NULL;
    r->jn = r->jcap = 0;
    pthread_mutex_unlock(&r->jlock);
    if (!n || r->jfd < 0) {
        free(b);
        return;
    }
    if (sync)
        sync_target(j);
    uint32_t hdr[4] = {JMAGIC, (uint32_t)n, crc32c_update(0, b, n * sizeof *b), (uint32_t)r->run};
    size_t len = sizeof hdr + n * sizeof *b;
    char *out = malloc(len);
    if (out) {
        memcpy(out, hdr, sizeof hdr);
        memcpy(out + sizeof hdr, b, n * sizeof *b);
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(r->jfd, out + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (off < len || fdatasync(r->jfd)) {
            /* not recorded: a resume re-checks these files by the normal rules */
            jobrec_log(j, "cannot write the journal of job %lld: %s; %zu finished entries are not recorded",
                       (long long)r->id, strerror(errno ? errno : EIO), n);
        }
        free(out);
    }
    free(b);
}

static void journal_add(struct jobrec *r, uint32_t seq, enum jr_action a)
{
    pthread_mutex_lock(&r->jlock);
    if (r->jn == r->jcap) {
        size_t nc = r->jcap ? r->jcap * 2 : 1024;
        struct jrec_rec *g = realloc(r->jbuf, nc * sizeof *g);
        if (!g) {
            pthread_mutex_unlock(&r->jlock);
            return;             /* not journaled: resume redoes it */
        }
        r->jbuf = g;
        r->jcap = nc;
    }
    r->jbuf[r->jn].seq = seq;
    r->jbuf[r->jn].action = (uint8_t)a;
    memset(r->jbuf[r->jn].pad, 0, 3);
    r->jn++;
    pthread_mutex_unlock(&r->jlock);
}

/* Read the journal into the bitmap; stops at the first batch that does not check. */
static int journal_load(struct jobrec *r, uint64_t count, struct errinfo *ei)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/journal", r->dir);
    r->done_bits = count;
    r->done = calloc(count / 8 + 1, 1);
    if (!r->done)
        return err_setx(ei, ERR_NOMEM, "out of memory");
    FILE *f = fopen(p, "rb");
    if (!f)
        return errno == ENOENT ? ERR_OK : err_sys(ei, errno, "cannot read the journal '%s'", p);
    uint32_t hdr[4];
    struct jrec_rec *b = NULL;
    size_t cap = 0;
    long good = 0;
    while (fread(hdr, sizeof hdr, 1, f) == 1) {
        if (hdr[0] != JMAGIC || hdr[1] == 0 || hdr[1] > (1u << 26))
            break;
        if (hdr[1] > cap) {
            struct jrec_rec *g = realloc(b, hdr[1] * sizeof *g);
            if (!g)
                break;
            b = g;
            cap = hdr[1];
        }
        if (fread(b, sizeof *b, hdr[1], f) != hdr[1] ||
            crc32c_update(0, b, hdr[1] * sizeof *b) != hdr[2])
            break;
        for (uint32_t i = 0; i < hdr[1]; i++)
            if (b[i].seq < count && !(r->done[b[i].seq / 8] & (1u << (b[i].seq % 8)))) {
                r->done[b[i].seq / 8] |= (uint8_t)(1u << (b[i].seq % 8));
                r->earlier++;
            }
        good = ftell(f);
    }
    free(b);
    fclose(f);
    /* cut a torn tail so that new batches follow a valid one */
    if (truncate(p, good) != 0)
        return err_sys(ei, errno, "cannot repair the journal '%s'", p);
    return ERR_OK;
}

bool jobrec_done_earlier(struct job *j, uint32_t seq)
{
    struct jobrec *r = j->rec;
    return r && r->done && seq < r->done_bits && (r->done[seq / 8] & (1u << (seq % 8)));
}

/* ------------------------------------------------------------ rows */

static void tsv_field(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}

static FILE *rows_for(struct jobrec *r, int worker)
{
    size_t k = worker < 0 ? 0 : (size_t)worker + 1;
    pthread_mutex_lock(&r->rlock);
    if (k >= r->nrows) {
        size_t nn = k + 16;
        FILE **g = realloc(r->rows, nn * sizeof *g);
        if (!g) {
            pthread_mutex_unlock(&r->rlock);
            return NULL;
        }
        memset(g + r->nrows, 0, (nn - r->nrows) * sizeof *g);
        r->rows = g;
        r->nrows = nn;
    }
    if (!r->rows[k]) {
        char p[4400];
        snprintf(p, sizeof p, "%s/rows.%zu.tsv", r->rundir, k);
        r->rows[k] = fopen(p, "a");
    }
    FILE *f = r->rows[k];
    pthread_mutex_unlock(&r->rlock);
    return f;
}

void jobrec_row(struct job *j, int worker, const struct entry *e, const char *src,
                const char *dst, enum jr_action a, const char *detail)
{
    struct jobrec *r = j->rec;
    if (!r) {
        /* MPI: the record is on rank 0; the other ranks ship their rows */
        if (job_dist && job_dist->rank != 0 && job_dist->row)
            job_dist->row(job_dist, j, worker, e, src, dst, (int)a, detail);
        return;
    }
    if (a == JR_DONE_EARLIER && e)
        atomic_fetch_add(&r->earlier_bytes, e->size);
    bool finished = a == JR_COPIED || a == JR_APPENDED || a == JR_SKIPPED || a == JR_MKDIR ||
                    a == JR_DIR_EXISTS;
    if (e && finished && !j->o->dry_run)
        journal_add(r, e->seq, a);
    FILE *f = rows_for(r, worker);
    if (!f)
        return;
    char t = !e ? '-' : e->type == BE_DIR ? 'd' : e->type == BE_SYMLINK ? 'l' : 'f';
    fprintf(f, "%" PRId64 "\t%c\t%" PRIu64 "\t%" PRId64 "\t%s\t", e ? (int64_t)e->seq : -1, t,
            e ? e->size : 0, e ? e->mtime_ns : 0, jr_action_name(a, j->o->dry_run));
    tsv_field(f, src);
    fputc('\t', f);
    tsv_field(f, dst);
    fputc('\t', f);
    tsv_field(f, detail);
    fputc('\n', f);
}

/* ------------------------------------------------------------ heartbeat */

static void counters_json(struct job *j, char *buf, size_t n)
{
    struct jobrec *r = j->rec;
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "{");
    for (int i = 0; i < C__COUNT && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "\"%s\": %" PRIu64 ", ", job_counter_key(i),
                              atomic_load(&j->counters[i]));
    double el = now_seconds() - j->t_start;
    uint64_t bytes = atomic_load(&j->progress_bytes);
    if (o < n)
        snprintf(buf + o, n - o,
                 "\"FILES_EXPECTED\": %" PRIu64 ", \"DIRS_EXPECTED\": %" PRIu64 ", \"BYTES_PLANNED\": %" PRIu64
                 ", \"PROGRESS_BYTES\": %" PRIu64 ", \"DONE_EARLIER\": %" PRIu64 ", \"DONE_EARLIER_BYTES\": %" PRIu64
                 ", \"DURATION_SECONDS\": %.3f, \"THROUGHPUT_BYTES_PER_SECOND\": %.0f, \"PHASE\": %d}",
                 j->plan_files, j->plan_dirs, j->plan_bytes, bytes, r ? r->earlier : 0,
                 r ? (uint64_t)atomic_load(&r->earlier_bytes) : 0, el,
                 el > 0 ? (double)atomic_load(&j->counters[C_BYTESCOPIED]) / el : 0.0,
                 atomic_load(&j->phase));
}

static void set_cancel(struct job *j)
{
    if (!atomic_exchange(&j->user_cancel, 1)) {
        atomic_store(&j->cancel, 1);
        j->rec->cancel_logged = true;
        jobrec_log(j, "cancel requested (distcp job cancel): stopping");
    }
}

static void *heartbeat_main(void *arg)
{
    struct job *j = arg;
    struct jobrec *r = j->rec;
    unsigned since_flush = 0, since_beat = 0;
    pthread_mutex_lock(&r->tlock);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->tcond, &r->tlock, &ts);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->tlock);
        if (atomic_load(&j->user_cancel) && !r->cancel_logged) {
            r->cancel_logged = true;       /* set by a signal (job.c) */
            jobrec_log(j, "cancel requested: stopping");
        }
        since_flush += 100;
        since_beat += 100;
        if (since_flush >= r->interval_ms) {
            since_flush = 0;
            journal_flush(j, true);
            pthread_mutex_lock(&r->rlock);
            for (size_t i = 0; i < r->nrows; i++)
                if (r->rows[i])
                    fflush(r->rows[i]);
            pthread_mutex_unlock(&r->rlock);
        }
        if (since_beat >= 1000) {
            since_beat = 0;
            char cj[2048];
            struct errinfo ei = {0};
            struct jrow row;
            counters_json(j, cj, sizeof cj);
            jstore_heartbeat(r->store, r->id, cj, &ei);
            if (jstore_get(r->store, r->id, &row, &ei) == ERR_OK) {
                if (row.cancel_requested)
                    set_cancel(j);
                jrow_release(&row);
            }
        }
        pthread_mutex_lock(&r->tlock);
    }
    pthread_mutex_unlock(&r->tlock);
    return NULL;
}

/* ------------------------------------------------------------ start */

static int mkdir_p(const char *dir)
{
    char p[4400];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Free a record whose heartbeat thread is not running (never started, or joined). */
static void rec_free(struct jobrec *r)
{
    if (r->log)
        fclose(r->log);
    if (r->jfd >= 0)
        close(r->jfd);
    jstore_close(r->store);
    pthread_mutex_destroy(&r->jlock);
    pthread_mutex_destroy(&r->rlock);
    pthread_mutex_destroy(&r->loglock);
    pthread_mutex_destroy(&r->tlock);
    pthread_cond_destroy(&r->tcond);
    free(r->done);
    free(r->jbuf);
    json_decref(r->setup);
    free(r);
}

static enum job_status start_fail(struct job *j, bool soft, const char *msg)
{
    if (j->rec) {
        rec_free(j->rec);
        j->rec = NULL;
    }
    if (soft) {
        fprintf(stderr, "distcp: warning: %s; this run is not recorded as a job and cannot be resumed\n", msg);
        return JOB_OK;
    }
    job_fail(j, JOB_FAILED, "%s", msg);
    return JOB_FAILED;
}

enum job_status jobrec_start(struct job *j)
{
    struct options *o = j->o;
    struct errinfo ei = {0};
    char path[4096], msg[4600];
    bool soft = o->job_id == 0;     /* a new blocking run goes on without a record */
    int rc;
    if (o->job_store && !strcmp(o->job_store, "none"))
        return JOB_OK;
    if (jstore_path(o->job_store, path, sizeof path, &ei))
        return start_fail(j, soft, ei.msg);
    struct jobrec *r = calloc(1, sizeof *r);
    if (!r)
        return start_fail(j, soft, "out of memory");
    j->rec = r;
    r->jfd = -1;
    pthread_mutex_init(&r->jlock, NULL);
    pthread_mutex_init(&r->rlock, NULL);
    pthread_mutex_init(&r->loglock, NULL);
    pthread_mutex_init(&r->tlock, NULL);
    pthread_cond_init(&r->tcond, NULL);
    r->detached = o->job_detached;
    const char *iv = getenv("DISTCP_JOURNAL_INTERVAL_MS");
    r->interval_ms = iv && atoi(iv) >= 100 ? (unsigned)atoi(iv) : 5000;
    if ((rc = jstore_open(path, &r->store, &ei)))
        return start_fail(j, soft, ei.msg);
    if (o->job_id == 0) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            strcpy(cwd, "/");
        if ((rc = jstore_create(r->store, o->job_argv ? o->job_argv : "[]", cwd, false, o->dry_run,
                                &o->job_id, &ei)))
            return start_fail(j, soft, ei.msg);
    }
    r->id = o->job_id;
    if ((rc = jstore_claim(r->store, r->id, JS_LISTING, o->dry_run, &r->run, &ei)))
        return start_fail(j, false, ei.msg);
    jstore_job_dir(r->store, r->id, r->dir, sizeof r->dir);
    snprintf(r->rundir, sizeof r->rundir, "%s/runs/%d", r->dir, r->run);
    if (mkdir_p(r->rundir)) {
        snprintf(msg, sizeof msg, "cannot create the job directory '%s': %s", r->rundir, strerror(errno));
        jstore_finish(r->store, r->id, r->run, JS_FAILED, job_exit_code(JOB_FAILED), msg, NULL, &ei);
        return start_fail(j, false, msg);
    }
    if (!r->detached) {
        char lp[4300];
        snprintf(lp, sizeof lp, "%s/log", r->dir);
        r->log = fopen(lp, "a");
    }
    /* resume: a saved setup means the listing finished; the plan is reused */
    {
        struct jrow row;
        if (jstore_get(r->store, r->id, &row, &ei) == ERR_OK) {
            if (row.setup_json && o->job_resume) {
                r->setup = json_loads(row.setup_json, 0, NULL);
                r->have_plan = r->setup != NULL;
            }
            jrow_release(&row);
        }
    }
    char jp[4300];
    snprintf(jp, sizeof jp, "%s/journal", r->dir);
    if (!r->have_plan)
        unlink(jp);            /* a new listing: the old ordinals mean nothing */
    r->jfd = open(jp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (r->jfd < 0) {
        snprintf(msg, sizeof msg, "cannot open the journal '%s': %s", jp, strerror(errno));
        jstore_finish(r->store, r->id, r->run, JS_FAILED, job_exit_code(JOB_FAILED), msg, NULL, &ei);
        return start_fail(j, false, msg);
    }
    const char *pz = getenv("DISTCP_TEST_PAUSE");
    if (pz && strchr(pz, ':')) {
        snprintf(r->pause_phase, sizeof r->pause_phase, "%.*s", (int)(strchr(pz, ':') - pz), pz);
        r->pause_at = strtoull(strchr(pz, ':') + 1, NULL, 10);
    }
    r->th_started = pthread_create(&r->th, NULL, heartbeat_main, j) == 0;
    jobrec_log(j, "run %d of job %lld started (pid %d)%s", r->run, (long long)r->id, (int)getpid(),
               r->have_plan ? ", resuming from the saved plan" : "");
    if (!o->json)
        fprintf(stderr, "distcp: job %lld, run %d%s\n", (long long)r->id, r->run,
                r->have_plan ? " (resuming)"
                : o->job_resume ? " (resuming: its listing had not finished, listing again)" : "");
    return JOB_OK;
}

const char *jobrec_dir(const struct job *j)
{
    return j->rec ? j->rec->dir : NULL;
}

bool jobrec_resuming(const struct job *j)
{
    return j->rec && j->rec->have_plan;
}

static bool jbool(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

void jobrec_saved_target(struct job *j)
{
    if (!jobrec_resuming(j))
        return;
    json_t *s = j->rec->setup;
    j->target_exists = jbool(s, "target_exists");
    j->target_is_dir = jbool(s, "target_is_dir");
    j->target_is_file = jbool(s, "target_is_file");
}

enum job_status jobrec_saved_work(struct job *j)
{
    if (!jobrec_resuming(j))
        return JOB_OK;
    json_t *s = j->rec->setup;
    const char *w = json_string_value(json_object_get(s, "work"));
    const char *t = json_string_value(json_object_get(s, "tmp_dir"));
    json_t *roots = json_object_get(s, "roots");
    if (!w || !t || !json_is_array(roots)) {
        job_fail(j, JOB_FAILED, "job %lld: the saved setup is incomplete; cannot resume", (long long)j->rec->id);
        return JOB_FAILED;
    }
    /* the sources must expand as they did: the plan refers to them by index */
    if (json_array_size(roots) != j->nroots) {
        job_fail(j, JOB_FAILED, "job %lld: the sources now expand to %zu paths, not the %zu the job listed; "
                 "cannot resume (run the copy again instead)", (long long)j->rec->id, j->nroots,
                 json_array_size(roots));
        return JOB_FAILED;
    }
    for (size_t i = 0; i < j->nroots; i++) {
        const char *p = json_string_value(json_array_get(roots, i));
        if (!p || strcmp(p, j->roots[i].path)) {
            job_fail(j, JOB_FAILED, "job %lld: source %zu is now '%s', was '%s'; cannot resume",
                     (long long)j->rec->id, i, j->roots[i].path, p ? p : "?");
            return JOB_FAILED;
        }
    }
    if (j->o->atomic) {
        /* killed between the atomic rename and recording success? then the
         * work dir is gone and the target is there: say so, touch nothing */
        struct be_stat st;
        if (j->tfs->ops->stat(j->tfs, w, &st, NULL) == ERR_NOT_FOUND &&
            j->tfs->ops->stat(j->tfs, j->target, &st, NULL) == ERR_OK) {
            job_fail(j, JOB_FAILED, "job %lld: its -atomic work dir '%s' is gone and the target '%s' exists: "
                     "the atomic commit had already happened; nothing was changed",
                     (long long)j->rec->id, w, j->target);
            return JOB_FAILED;
        }
    }
    char *nw = strdup(w), *nt = strdup(t);
    if (!nw || !nt) {
        free(nw);
        free(nt);
        return JOB_FAILED;
    }
    free(j->work);
    free(j->tmp_dir);
    j->work = nw;
    j->tmp_dir = nt;
    return JOB_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

enum job_status jobrec_save_plan(struct job *j)
{
    struct jobrec *r = j->rec;
    struct errinfo ei = {0};
    if (!r || j->o->dry_run)
        return JOB_OK;
    char p[4300], tmp[4400];
    snprintf(p, sizeof p, "%s/plan", r->dir);
    snprintf(tmp, sizeof tmp, "%s/plan.tmp", r->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct plan_iter *it = fd >= 0 ? plan_iter_new(j->plan, &ei) : NULL;
    const struct entry *e;
    int err = 0, bad = fd < 0 || !it;
    uint64_t count = 0;
    char *buf = malloc(1 << 20);
    size_t used = 0;
    bad |= !buf;
    while (!bad && (e = plan_iter_next(it, &err))) {
        size_t sz = entry_size(e);
        if (used + sz > (1u << 20)) {
            bad |= write_all(fd, buf, used);
            used = 0;
        }
        memcpy(buf + used, e, sz);
        used += sz;
        count++;
    }
    bad |= err != 0;
    if (!bad && used)
        bad |= write_all(fd, buf, used);
    free(buf);
    plan_iter_free(it);
    if (fd >= 0) {
        bad |= fsync(fd) != 0;
        close(fd);
    }
    if (bad || rename(tmp, p)) {
        unlink(tmp);
        job_fail(j, JOB_FAILED, "cannot save the job's plan '%s': %s", p, err ? err_str(err) : strerror(errno));
        return JOB_FAILED;
    }
    json_t *s = json_object();
    json_t *roots = json_array();
    for (size_t i = 0; i < j->nroots; i++)
        json_array_append_new(roots, json_string(j->roots[i].path));
    json_object_set_new(s, "roots", roots);
    json_object_set_new(s, "target_exists", json_boolean(j->target_exists));
    json_object_set_new(s, "target_is_dir", json_boolean(j->target_is_dir));
    json_object_set_new(s, "target_is_file", json_boolean(j->target_is_file));
    json_object_set_new(s, "work", json_string(j->work));
    json_object_set_new(s, "tmp_dir", json_string(j->tmp_dir));
    json_object_set_new(s, "plan_count", json_integer((json_int_t)count));
    json_object_set_new(s, "plan_files", json_integer((json_int_t)j->plan_files));
    json_object_set_new(s, "plan_dirs", json_integer((json_int_t)j->plan_dirs));
    json_object_set_new(s, "plan_bytes", json_integer((json_int_t)j->plan_bytes));
    char *txt = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    int rc = txt ? jstore_set_setup(r->store, r->id, txt, &ei) : ERR_NOMEM;
    free(txt);
    if (rc) {
        job_fail(j, JOB_FAILED, "cannot record the job's plan: %s", ei.msg[0] ? ei.msg : err_str(rc));
        return JOB_FAILED;
    }
    r->done = calloc(count / 8 + 1, 1);
    r->done_bits = r->done ? count : 0;
    return JOB_OK;
}

enum job_status jobrec_load_plan(struct job *j)
{
    struct jobrec *r = j->rec;
    struct errinfo ei = {0};
    char p[4300];
    json_t *s = r->setup;
    uint64_t count = (uint64_t)json_integer_value(json_object_get(s, "plan_count"));
    j->plan_files = (uint64_t)json_integer_value(json_object_get(s, "plan_files"));
    j->plan_dirs = (uint64_t)json_integer_value(json_object_get(s, "plan_dirs"));
    j->plan_bytes = (uint64_t)json_integer_value(json_object_get(s, "plan_bytes"));
    snprintf(p, sizeof p, "%s/plan", r->dir);
    j->plan = sorter_open_plan(p, &ei);
    if (!j->plan) {
        job_fail(j, JOB_FAILED, "job %lld: cannot read its saved plan: %s", (long long)r->id, ei.msg);
        return JOB_FAILED;
    }
    if (journal_load(r, count, &ei)) {
        job_fail(j, JOB_FAILED, "job %lld: %s", (long long)r->id, ei.msg);
        return JOB_FAILED;
    }
    jobrec_log(j, "resuming: %" PRIu64 " of %" PRIu64 " entries were finished by earlier runs", r->earlier, count);
    if (!j->o->json)
        fprintf(stderr, "distcp: resuming: %" PRIu64 " of %" PRIu64 " entries were finished by earlier runs\n",
                r->earlier, count);
    return JOB_OK;
}

void jobrec_phase(struct job *j, int phase)
{
    struct jobrec *r = j->rec;
    if (!r)
        return;
    struct errinfo ei = {0};
    enum jstate s = phase == PHASE_LISTING ? JS_LISTING : phase == PHASE_COPYING ? JS_COPYING : JS_COMMITTING;
    jstore_set_state(r->store, r->id, s, &ei);
}

void jobrec_error(struct job *j, const char *msg)
{
    struct jobrec *r = j->rec;
    if (!r)
        return;
    jobrec_log(j, "%s", msg);
    if (r->nerrors++ >= MAX_RUN_ERRORS)
        return;
    struct errinfo ei = {0};
    jstore_add_error(r->store, r->id, r->run, msg, &ei);
}

void jobrec_pause_point(struct job *j, const char *phase)
{
    struct jobrec *r = j->rec;
    if (!r || !r->pause_at)
        return;
    if (!atomic_load(&r->paused)) {
        if (strcmp(phase, r->pause_phase))
            return;
        if (atomic_fetch_add(&r->pause_count, 1) + 1 < r->pause_at)
            return;
        if (!atomic_exchange(&r->paused, 1)) {
            const char *f = getenv("DISTCP_TEST_PAUSE_FILE");
            FILE *pf = f ? fopen(f, "w") : NULL;
            if (pf) {
                fprintf(pf, "paused %s %d\n", phase, (int)getpid());
                fclose(pf);
            }
        }
    }
    for (;;)
        sleep(1);             /* until the test kills us */
}

void jobrec_end(struct job *j, enum job_status status)
{
    struct jobrec *r = j->rec;
    if (!r)
        return;
    struct errinfo ei = {0};
    if (r->th_started) {
        pthread_mutex_lock(&r->tlock);
        r->stop = true;
        pthread_cond_signal(&r->tcond);
        pthread_mutex_unlock(&r->tlock);
        pthread_join(r->th, NULL);
    }
    enum jstate st = jobrec_cancelled(j) ? JS_CANCELLED : status ? JS_FAILED : JS_SUCCEEDED;
    if (st != JS_SUCCEEDED)
        journal_flush(j, true);    /* what resume will trust */
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i])
            fclose(r->rows[i]);
    free(r->rows);
    char cj[2048];
    counters_json(j, cj, sizeof cj);
    int rc = jstore_finish(r->store, r->id, r->run, st, job_exit_code(status), j->first_error[0] ? j->first_error : NULL,
                           cj, &ei);
    if (rc)
        fprintf(stderr, "distcp: warning: could not record the end of job %lld: %s\n", (long long)r->id, ei.msg);
    jobrec_log(j, "run %d of job %lld ended: %s (exit %d)", r->run, (long long)r->id, jstate_name(st), job_exit_code(status));
    if (r->jfd >= 0)
        close(r->jfd);
    r->jfd = -1;
    if (st == JS_SUCCEEDED) {
        /* done: the plan and journal are only for resume */
        char p[4300];
        snprintf(p, sizeof p, "%s/plan", r->dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/journal", r->dir);
        unlink(p);
    }
    rec_free(r);
    j->rec = NULL;
}

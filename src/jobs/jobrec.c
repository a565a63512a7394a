/* jobrec.c - the running job's record: store row, plan, journal, report rows,
 * heartbeat, cancel. See jobrec.h for the files and the threading.
 *
 * Journal format: a sequence of batches, each a 16-byte header
 *   u32 magic "DCJB" | u32 count | u32 crc32c of the records | u32 run
 * followed by count 8-byte records { u32 seq; u8 action; u8 pad[3] }.
 * A batch whose header or CRC does not check (a torn write at a crash) ends
 * the journal: what follows is ignored, so nothing not durably recorded is
 * ever trusted. Before a batch is written the target is made durable
 * (job_sync_target: the store's sync slot, syncfs for local targets), so a
 * recorded file's bytes are on disk before its record is.
 *
 * This is the job store's recorder (engine/recorder.h, docs/jobs-recorder.md):
 * the engine calls it through jobrec_recorder; it reads the job (options,
 * counters) and never writes it - resume state goes back as a struct
 * job_resume, a cancel request through job_request_cancel(). */
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

#include "engine/entry.h"
#include "engine/job.h"
#include "jobs/jobpend.h"
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
    struct job *j;              /* borrowed: read only (options, counters, target store) */
    struct jstore *store;
    int64_t id;
    int run;
    bool detached;
    char dir[4096];
    char rundir[4200];
    struct job_resume resume;   /* saved setup when resuming with a plan (have_plan) */
    bool have_plan;
    struct jobpend *pend;       /* open server-side uploads, NULL when out of memory */

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

static void rlog(struct jobrec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rlog(struct jobrec *r, const char *fmt, ...)
{
    if (!r->log)
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

static void journal_flush(struct jobrec *r, bool sync)
{
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
    if (sync && job_sync_target(r->j) != ERR_OK) {
        /* the target's data may not be on disk: record nothing that claims it
         * is; a resume looks at these entries again (they are not lost) */
        rlog(r, "cannot make the target of job %lld durable (sync failed): %zu finished "
             "entries are not journaled; a resume checks them again", (long long)r->id, n);
        free(b);
        return;
    }
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
            rlog(r, "cannot write the journal of job %lld: %s; %zu finished entries are not recorded",
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

static bool rec_done_earlier_(void *ctx, uint32_t seq)
{
    struct jobrec *r = ctx;
    return r->done && seq < r->done_bits && (r->done[seq / 8] & (1u << (seq % 8)));
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

static void rec_row_(void *ctx, int worker, const struct entry *e, const char *src,
                     const char *dst, enum jr_action a, const char *detail)
{
    struct jobrec *r = ctx;
    bool dry = job_opts(r->j)->dry_run;
    if (a == JR_DONE_EARLIER && e)
        atomic_fetch_add(&r->earlier_bytes, e->size);
    bool finished = a == JR_COPIED || a == JR_APPENDED || a == JR_SKIPPED || a == JR_MKDIR ||
                    a == JR_DIR_EXISTS;
    if (e && finished && !dry)
        journal_add(r, e->seq, a);
    FILE *f = rows_for(r, worker);
    if (!f)
        return;
    char t = !e ? '-' : e->type == BE_DIR ? 'd' : e->type == BE_SYMLINK ? 'l' : 'f';
    fprintf(f, "%" PRId64 "\t%c\t%" PRIu64 "\t%" PRId64 "\t%s\t", e ? (int64_t)e->seq : -1, t,
            e ? e->size : 0, e ? e->mtime_ns : 0, jr_action_name(a, dry));
    tsv_field(f, src);
    fputc('\t', f);
    tsv_field(f, dst);
    fputc('\t', f);
    tsv_field(f, detail);
    fputc('\n', f);
}

/* ------------------------------------------------------------ heartbeat */

static void counters_json(struct jobrec *r, char *buf, size_t n)
{
    struct job_stats js;
    size_t o = 0;
    job_stats(r->j, &js);
    o += (size_t)snprintf(buf + o, n - o, "{");
    for (int i = 0; i < C__COUNT && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "\"%s\": %" PRIu64 ", ", job_counter_key(i),
                              js.counters[i]);
    double el = js.elapsed;
    uint64_t bytes = js.progress_bytes;
    if (o < n)
        snprintf(buf + o, n - o,
                 "\"FILES_EXPECTED\": %" PRIu64 ", \"DIRS_EXPECTED\": %" PRIu64 ", \"BYTES_PLANNED\": %" PRIu64
                 ", \"PROGRESS_BYTES\": %" PRIu64 ", \"DONE_EARLIER\": %" PRIu64 ", \"DONE_EARLIER_BYTES\": %" PRIu64
                 ", \"DURATION_SECONDS\": %.3f, \"THROUGHPUT_BYTES_PER_SECOND\": %.0f, \"PHASE\": %d}",
                 js.plan_files, js.plan_dirs, js.plan_bytes, bytes, r->earlier,
                 (uint64_t)atomic_load(&r->earlier_bytes), el,
                 el > 0 ? (double)js.counters[C_BYTESCOPIED] / el : 0.0, js.phase);
}

static void set_cancel(struct jobrec *r)
{
    if (job_request_cancel(r->j)) {
        r->cancel_logged = true;
        rlog(r, "cancel requested (distcp job cancel): stopping");
    }
}

static void *heartbeat_main(void *arg)
{
    struct jobrec *r = arg;
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
        if (job_cancelled(r->j) && !r->cancel_logged) {
            r->cancel_logged = true;       /* set by a signal (job.c) */
            rlog(r, "cancel requested: stopping");
        }
        since_flush += 100;
        since_beat += 100;
        if (since_flush >= r->interval_ms) {
            since_flush = 0;
            journal_flush(r, true);
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
            counters_json(r, cj, sizeof cj);
            jstore_heartbeat(r->store, r->id, cj, &ei);
            if (jstore_get(r->store, r->id, &row, &ei) == ERR_OK) {
                if (row.cancel_requested)
                    set_cancel(r);
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

static void resume_release(struct job_resume *s)
{
    free(s->work);
    free(s->tmp_dir);
    for (size_t i = 0; s->roots && i < s->nroots; i++)
        free(s->roots[i]);
    free(s->roots);
    memset(s, 0, sizeof *s);
}

/* Free a record whose heartbeat thread is not running (never started, or joined). */
static void rec_free(struct jobrec *r)
{
    if (r->log)
        fclose(r->log);
    if (r->jfd >= 0)
        close(r->jfd);
    jobpend_free(r->pend);
    jstore_close(r->store);
    pthread_mutex_destroy(&r->jlock);
    pthread_mutex_destroy(&r->rlock);
    pthread_mutex_destroy(&r->loglock);
    pthread_mutex_destroy(&r->tlock);
    pthread_cond_destroy(&r->tcond);
    free(r->done);
    free(r->jbuf);
    resume_release(&r->resume);
    free(r);
}

static enum job_status start_fail(struct job *j, struct jobrec *r, bool soft, const char *msg)
{
    if (r)
        rec_free(r);
    if (soft) {
        fprintf(stderr, "distcp: warning: %s; this run is not recorded as a job and cannot be resumed\n", msg);
        return JOB_OK;
    }
    job_fail(j, JOB_FAILED, "%s", msg);
    return JOB_FAILED;
}

static char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? strdup(v) : NULL;
}

/* The saved setup (setup_json of the job row) as a value for the engine.
 * Missing fields stay NULL: the engine refuses to resume then. */
static bool resume_parse(struct job_resume *s, const char *txt)
{
    json_t *o = json_loads(txt, 0, NULL);
    if (!o)
        return false;
    s->target_exists = json_is_true(json_object_get(o, "target_exists"));
    s->target_is_dir = json_is_true(json_object_get(o, "target_is_dir"));
    s->target_is_file = json_is_true(json_object_get(o, "target_is_file"));
    s->work = jstr(o, "work");
    s->tmp_dir = jstr(o, "tmp_dir");
    json_t *roots = json_object_get(o, "roots");
    if (json_is_array(roots) && (s->roots = calloc(json_array_size(roots) + 1, sizeof *s->roots))) {
        s->nroots = json_array_size(roots);
        for (size_t i = 0; i < s->nroots; i++) {
            const char *v = json_string_value(json_array_get(roots, i));
            s->roots[i] = v ? strdup(v) : NULL;
        }
    }
    s->plan_count = (uint64_t)json_integer_value(json_object_get(o, "plan_count"));
    s->plan_files = (uint64_t)json_integer_value(json_object_get(o, "plan_files"));
    s->plan_dirs = (uint64_t)json_integer_value(json_object_get(o, "plan_dirs"));
    s->plan_bytes = (uint64_t)json_integer_value(json_object_get(o, "plan_bytes"));
    json_decref(o);
    return true;
}

/* The resume's voice for the sweep of open uploads: the job log and stderr. */
static void say_rec(void *arg, const char *line)
{
    struct jobrec *r = arg;
    rlog(r, "%s", line);
    if (!job_opts(r->j)->json)
        fprintf(stderr, "distcp: %s\n", line);
}

/* Open uploads (jobpend.c): record them for this run; a resumed job first
 * aborts what earlier runs left open. */
static void pend_start(struct jobrec *r)
{
    if (!(r->pend = jobpend_new(r->dir)))
        return;                 /* then writers are told (rec_pending) */
    if (!job_opts(r->j)->job_resume || !jobpend_exists(r->pend))
        return;
    unsigned aborted = 0, left = 0;
    struct errinfo ei = {0};
    if (jobpend_sweep(r->dir, job_store_config(r->j), say_rec, r, &aborted, &left, &ei))
        say_rec(r, ei.msg);
    else if (aborted || left)
        rlog(r, "uploads left open by earlier runs: %u dealt with, %u still open "
             "(tried again by the next resume or job clean)", aborted, left);
}

static enum job_status rec_start_(struct job *j, void **ctx, const struct job_resume **resume)
{
    const struct options *o = job_opts(j);
    struct errinfo ei = {0};
    char path[4096], msg[4600];
    bool soft = o->job_id == 0;     /* a new blocking run goes on without a record */
    int rc;
    *ctx = NULL;
    *resume = NULL;
    if (o->job_store && !strcmp(o->job_store, "none"))
        return JOB_OK;
    if (jstore_path(o->job_store, path, sizeof path, &ei))
        return start_fail(j, NULL, soft, ei.msg);
    struct jobrec *r = calloc(1, sizeof *r);
    if (!r)
        return start_fail(j, NULL, soft, "out of memory");
    r->j = j;
    r->jfd = -1;
    pthread_mutex_init(&r->jlock, NULL);
    pthread_mutex_init(&r->rlock, NULL);
    pthread_mutex_init(&r->loglock, NULL);
    pthread_mutex_init(&r->tlock, NULL);
    pthread_cond_init(&r->tcond, NULL);
    r->detached = o->job_detached;
    unsigned iv = o->settings.journal_ms;   /* resolved once (docs/settings.md) */
    r->interval_ms = iv >= 100 ? iv : 5000;
    if ((rc = jstore_open(path, &r->store, &ei)))
        return start_fail(j, r, soft, ei.msg);
    int64_t id = o->job_id;
    if (id == 0) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            strcpy(cwd, "/");
        if ((rc = jstore_create(r->store, o->job_argv ? o->job_argv : "[]", cwd, false, o->dry_run,
                                &id, &ei)))
            return start_fail(j, r, soft, ei.msg);
    }
    r->id = id;
    if ((rc = jstore_claim(r->store, r->id, JS_LISTING, o->dry_run, &r->run, &ei)))
        return start_fail(j, r, false, ei.msg);
    jstore_job_dir(r->store, r->id, r->dir, sizeof r->dir);
    snprintf(r->rundir, sizeof r->rundir, "%s/runs/%d", r->dir, r->run);
    if (mkdir_p(r->rundir)) {
        snprintf(msg, sizeof msg, "cannot create the job directory '%s': %s", r->rundir, strerror(errno));
        jstore_finish(r->store, r->id, r->run, JS_FAILED, job_exit_code(JOB_FAILED), msg, NULL, &ei);
        return start_fail(j, r, false, msg);
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
            if (row.setup_json && o->job_resume)
                r->have_plan = resume_parse(&r->resume, row.setup_json);
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
        return start_fail(j, r, false, msg);
    }
    r->th_started = pthread_create(&r->th, NULL, heartbeat_main, r) == 0;
    rlog(r, "run %d of job %lld started (pid %d)%s", r->run, (long long)r->id, (int)getpid(),
         r->have_plan ? ", resuming from the saved plan" : "");
    if (!o->json)
        fprintf(stderr, "distcp: job %lld, run %d%s\n", (long long)r->id, r->run,
                r->have_plan ? " (resuming)"
                : o->job_resume ? " (resuming: its listing had not finished, listing again)" : "");
    pend_start(r);
    *ctx = r;
    *resume = r->have_plan ? &r->resume : NULL;
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

static enum job_status rec_save_plan_(void *ctx, struct job *j, struct sorter *plan,
                                      const struct job_resume *st)
{
    struct jobrec *r = ctx;
    struct errinfo ei = {0};
    char p[4300], tmp[4400];
    snprintf(p, sizeof p, "%s/plan", r->dir);
    snprintf(tmp, sizeof tmp, "%s/plan.tmp", r->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct plan_iter *it = fd >= 0 ? plan_iter_new(plan, &ei) : NULL;
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
    for (size_t i = 0; i < st->nroots; i++)
        json_array_append_new(roots, json_string(st->roots[i]));
    json_object_set_new(s, "roots", roots);
    json_object_set_new(s, "target_exists", json_boolean(st->target_exists));
    json_object_set_new(s, "target_is_dir", json_boolean(st->target_is_dir));
    json_object_set_new(s, "target_is_file", json_boolean(st->target_is_file));
    json_object_set_new(s, "work", json_string(st->work));
    json_object_set_new(s, "tmp_dir", json_string(st->tmp_dir));
    json_object_set_new(s, "plan_count", json_integer((json_int_t)count));
    json_object_set_new(s, "plan_files", json_integer((json_int_t)st->plan_files));
    json_object_set_new(s, "plan_dirs", json_integer((json_int_t)st->plan_dirs));
    json_object_set_new(s, "plan_bytes", json_integer((json_int_t)st->plan_bytes));
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

static enum job_status rec_load_plan_(void *ctx, struct job *j, struct sorter **plan)
{
    struct jobrec *r = ctx;
    struct errinfo ei = {0};
    char p[4300];
    uint64_t count = r->resume.plan_count;
    snprintf(p, sizeof p, "%s/plan", r->dir);
    *plan = sorter_open_plan(p, &ei);
    if (!*plan) {
        job_fail(j, JOB_FAILED, "job %lld: cannot read its saved plan: %s", (long long)r->id, ei.msg);
        return JOB_FAILED;
    }
    if (journal_load(r, count, &ei)) {
        job_fail(j, JOB_FAILED, "job %lld: %s", (long long)r->id, ei.msg);
        return JOB_FAILED;
    }
    rlog(r, "resuming: %" PRIu64 " of %" PRIu64 " entries were finished by earlier runs", r->earlier, count);
    if (!job_opts(j)->json)
        fprintf(stderr, "distcp: resuming: %" PRIu64 " of %" PRIu64 " entries were finished by earlier runs\n",
                r->earlier, count);
    return JOB_OK;
}

static void rec_phase_(void *ctx, int phase)
{
    struct jobrec *r = ctx;
    struct errinfo ei = {0};
    enum jstate s = phase == PHASE_LISTING ? JS_LISTING : phase == PHASE_COPYING ? JS_COPYING : JS_COMMITTING;
    jstore_set_state(r->store, r->id, s, &ei);
}

static void rec_error_(void *ctx, const char *msg)
{
    struct jobrec *r = ctx;
    rlog(r, "%s", msg);
    if (r->nerrors++ >= MAX_RUN_ERRORS)
        return;
    struct errinfo ei = {0};
    jstore_add_error(r->store, r->id, r->run, msg, &ei);
}

static void rec_log_(void *ctx, const char *msg)
{
    rlog(ctx, "%s", msg);
}

static int rec_pending_(void *ctx, const char *token, bool open, struct errinfo *ei)
{
    struct jobrec *r = ctx;
    /* a recorded job without its record (out of memory at start) must not
     * open what nobody could clean up */
    if (!r->pend)
        return err_setx(ei, ERR_NOMEM, "cannot record an open upload: out of memory");
    return jobpend_note(r->pend, job_target_fs(r->j), token, open, ei);
}

static void rec_end_(void *ctx, struct job *j, enum job_status status)
{
    struct jobrec *r = ctx;
    struct errinfo ei = {0};
    jobpend_free(r->pend);
    r->pend = NULL;
    if (r->th_started) {
        pthread_mutex_lock(&r->tlock);
        r->stop = true;
        pthread_cond_signal(&r->tcond);
        pthread_mutex_unlock(&r->tlock);
        pthread_join(r->th, NULL);
    }
    enum jstate st = job_cancelled(j) ? JS_CANCELLED : status ? JS_FAILED : JS_SUCCEEDED;
    if (st != JS_SUCCEEDED)
        journal_flush(r, true);    /* what resume will trust */
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i])
            fclose(r->rows[i]);
    free(r->rows);
    char cj[2048];
    counters_json(r, cj, sizeof cj);
    int rc = jstore_finish(r->store, r->id, r->run, st, job_exit_code(status), job_first_error(j),
                           cj, &ei);
    if (rc)
        fprintf(stderr, "distcp: warning: could not record the end of job %lld: %s\n", (long long)r->id, ei.msg);
    rlog(r, "run %d of job %lld ended: %s (exit %d)", r->run, (long long)r->id, jstate_name(st), job_exit_code(status));
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
}

const struct recorder_ops jobrec_recorder = {
    .start = rec_start_,
    .save_plan = rec_save_plan_,
    .load_plan = rec_load_plan_,
    .done_earlier = rec_done_earlier_,
    .row = rec_row_,
    .phase = rec_phase_,
    .error = rec_error_,
    .log = rec_log_,
    .pending = rec_pending_,
    .end = rec_end_,
};

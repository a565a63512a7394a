/* report.c - what a job tells its user (spec B §5.2, §12): the live
 * progress line on a terminal, the end-of-job summary with Hadoop's counter
 * names on stderr, the --json document on stdout, counter keys and human
 * sizes for the job commands.
 *
 * Invariants: counter names and keys are Hadoop's, typo included ("Btyes"),
 * so log scrapers keep working; --json is one line.
 *
 * Threading: the progress thread only reads atomics and prints under
 * err_lock; the summary runs on the main thread after the workers ended. */
#include "engine/report.h"
#include "engine/recorder.h"
#include "engine/testpoint.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/dist.h"

/* ------------------------------------------------------------ progress */

bool report_progress_on(const struct job *j)
{
    if (dist_rank() != 0)
        return false;
    if (j->o->progress == 1)
        return true;
    if (j->o->progress == 0)
        return false;
    return isatty(2);
}

void job_human_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

void report_progress_print(struct job *j, bool final)
{
    static const char *names[] = {"listing", "copying", "committing", "done"};
    double el = now_seconds() - j->t_start;
    uint64_t files = atomic_load(&j->counters[C_COPY]) + atomic_load(&j->counters[C_SKIP]) +
                     atomic_load(&j->counters[C_FAIL]);
    uint64_t bytes = atomic_load(&j->progress_bytes);
    double rate = el > 0 ? (double)bytes / el : 0;
    char b1[32], b2[32], r[32], eta[32] = "-";
    job_human_bytes((double)bytes, b1, sizeof b1);
    job_human_bytes((double)j->plan_bytes, b2, sizeof b2);
    job_human_bytes(rate, r, sizeof r);
    if (rate > 0 && j->plan_bytes > bytes)
        snprintf(eta, sizeof eta, "%.0fs", (double)(j->plan_bytes - bytes) / rate);
    int ph = atomic_load(&j->phase);
    pthread_mutex_lock(&j->err_lock);
    fprintf(stderr, "\r\033[K[%s] files %" PRIu64 "/%" PRIu64 "  %s/%s  %s/s  ETA %s%s",
            names[ph], files, j->plan_files, b1, b2, r, eta, final ? "\n" : "");
    fflush(stderr);
    pthread_mutex_unlock(&j->err_lock);
}

void *report_progress_main(void *arg)
{
    struct progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        if (!p->stop)
            report_progress_print(p->j, false);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ------------------------------------------------------------- summary */

static const char *const counter_display[C__COUNT] = {
    [C_COPY] = "Files Copied",
    [C_SKIP] = "Files Skipped",
    [C_FAIL] = "Files Failed",
    [C_DIR_COPY] = "Directories Copied",
    [C_BYTESCOPIED] = "Bytes Copied",
    [C_BYTESEXPECTED] = "Bytes Expected",
    [C_BYTESSKIPPED] = "Bytes Skipped",
    [C_BYTESFAILED] = "Bytes Failed",
    [C_DELETED] = "Files Deleted",
    [C_SLEEP_MS] = NULL,
};
static const char *const counter_key[C__COUNT] = {
    [C_COPY] = "COPY", [C_SKIP] = "SKIP", [C_FAIL] = "FAIL", [C_DIR_COPY] = "DIR_COPY",
    [C_BYTESCOPIED] = "BYTESCOPIED", [C_BYTESEXPECTED] = "BYTESEXPECTED",
    [C_BYTESSKIPPED] = "BYTESSKIPPED", [C_BYTESFAILED] = "BYTESFAILED",
    [C_DELETED] = "DELETED", [C_SLEEP_MS] = "SLEEP_TIME_MS",
};

const char *job_counter_key(int i)
{
    return i >= 0 && i < C__COUNT ? counter_key[i] : "?";
}

static int cmp_display(const void *a, const void *b)
{
    return strcmp(counter_display[*(const int *)a], counter_display[*(const int *)b]);
}

/* A JSON string of s; bytes that are not UTF-8 (a hostile file name in a
 * message) become '?' rather than dropping the message. NULL: no memory. */
static json_t *json_text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v || !s)
        return v;
    char *c = strdup(s);
    if (!c)
        return NULL;
    for (unsigned char *p = (unsigned char *)c; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    v = json_string(c);
    free(c);
    return v;
}

void report_summary(struct job *j, enum job_status status, double dur)
{
    uint64_t c[C__COUNT];
    for (int i = 0; i < C__COUNT; i++)
        c[i] = atomic_load(&j->counters[i]);
    double secs = dur < 1 ? 1 : dur;
    uint64_t bw = (uint64_t)((double)c[C_BYTESCOPIED] / secs);
    const char *word = status == JOB_CANCELLED ? "CANCELLED" : status ? "FAILED" : "SUCCEEDED";
    fprintf(stderr, "distcp: job %s%s in %.2f s\n", word,
            j->o->dry_run ? " (dry run: nothing was written)" : "", dur);
    fprintf(stderr, "\tDistCp Counters\n");
    int order[C__COUNT], n = 0;
    for (int i = 0; i < C__COUNT; i++)
        if (counter_display[i])
            order[n++] = i;
    qsort(order, (size_t)n, sizeof *order, cmp_display);
    /* Hadoop's counter display name, typo included, so log scrapers keep working */
    fprintf(stderr, "\t\tBandwidth in Btyes=%" PRIu64 "\n", bw);
    for (int k = 0; k < n; k++)
        fprintf(stderr, "\t\t%s=%" PRIu64 "\n", counter_display[order[k]], c[order[k]]);
    if (j->rec) {
        char line[1024];
        size_t o = 0;
        for (int k = 0; k < n && o < sizeof line; k++)
            o += (size_t)snprintf(line + o, sizeof line - o, "%s%s=%" PRIu64, k ? ", " : "",
                                  counter_display[order[k]], c[order[k]]);
        rec_log(j, "job %s in %.2f s: %s", word, dur, line);
    }
    if (j->o->json) {
        /* one line on stdout, through jansson; keys in this order */
        json_t *doc = json_object(), *cs = json_object(), *errs = json_array();
        for (int i = 0; cs && i < C__COUNT; i++)
            json_object_set_new(cs, counter_key[i], json_integer((json_int_t)c[i]));
        if (cs)
            json_object_set_new(cs, "BANDWIDTH_IN_BYTES", json_integer((json_int_t)bw));
        for (size_t i = 0; errs && i < j->nerrors; i++)
            json_array_append_new(errs, json_text(j->errors[i]));
        if (doc && cs && errs) {
            json_object_set_new(doc, "status", json_string(word));
            json_object_set_new(doc, "exit_code", json_integer(job_exit_code(status)));
            json_object_set_new(doc, "dry_run", json_boolean(j->o->dry_run));
            json_object_set_new(doc, "duration_seconds", json_real(round(dur * 1000.0) / 1000.0));
            json_object_set_new(doc, "counters", cs);
            json_object_set_new(doc, "errors", errs);
            json_object_set_new(doc, "errors_total", json_integer((json_int_t)j->nerrors_total));
            cs = errs = NULL;
            json_dumpf(doc, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else {
            fprintf(stderr, "distcp: --json: out of memory\n");
        }
        json_decref(cs);
        json_decref(errs);
        json_decref(doc);
        fflush(stdout);
    }
}

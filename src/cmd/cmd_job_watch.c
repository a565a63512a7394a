/* cmd_job_watch.c - `distcp job status | log | cancel`: watch a recorded job
 * and stop it (state and list are in cmd_job.c). status --json goes through
 * jansson. Exit statuses: cmd_job.h. Single-threaded; log --follow and
 * cancel poll the store. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd_job.h"
#include "engine/job.h"

static const char *const counter_order[][2] = {
    {"FILES_EXPECTED", "Files Expected"}, {"COPY", "Files Copied"}, {"SKIP", "Files Skipped"},
    {"FAIL", "Files Failed"}, {"DELETED", "Files Deleted"}, {"DONE_EARLIER", "Done By Earlier Runs"},
    {"DIR_COPY", "Directories Copied"}, {"BYTESEXPECTED", "Bytes Expected"}, {"BYTESCOPIED", "Bytes Copied"},
    {"BYTESSKIPPED", "Bytes Skipped"}, {"BYTESFAILED", "Bytes Failed"},
};

int job_status(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    struct jrun *runs = NULL;
    size_t nruns = 0;
    char **errs = NULL;
    size_t nerrs = 0;
    struct errinfo ei = {0};
    int status;
    if ((status = jcmd_open_job("status", a, &s, &r)))
        return status;
    jstore_runs(s, r.id, &runs, &nruns, &ei);
    if (r.runs > 0)
        jstore_errors(s, r.id, r.runs, &errs, &nerrs, &ei);
    json_t *c = jcmd_json_or(r.counters_json, false);
    char cmd[8192], dir[4096];
    jcmd_argv_display(r.argv_json, cmd, sizeof cmd);
    jstore_job_dir(s, r.id, dir, sizeof dir);
    double now = jstore_now();
    bool active = jstate_active(r.state);
    double el = active ? now - r.started : (r.ended > r.started ? r.ended - r.started : 0);
    uint64_t planned = jcmd_counter(c, "BYTES_PLANNED"), moved = jcmd_counter(c, "PROGRESS_BYTES");
    uint64_t earlier_b = jcmd_counter(c, "DONE_EARLIER_BYTES");
    double rate = el > 0 ? (double)moved / el : 0;
    uint64_t have = moved + earlier_b;
    double pct = planned ? 100.0 * (double)(have > planned ? planned : have) / (double)planned
                         : (r.state == JS_SUCCEEDED ? 100 : 0);
    double eta = active && rate > 0 && planned > have ? (double)(planned - have) / rate : -1;
    if (a->json) {
        char lp[4200];
        json_t *ej = json_array(), *hist = json_array();
        for (size_t i = 0; i < nerrs; i++)
            json_array_append_new(ej, json_string(errs[i]));
        for (size_t i = 0; i < nruns; i++)
            json_array_append_new(hist, json_pack("{s:i, s:s, s:i, s:o, s:o, s:b, s:o}", "run", runs[i].run,
                "state", jstate_name(runs[i].state), "exit_code", runs[i].exit_code,
                "started", jcmd_time(runs[i].started), "ended", jcmd_time(runs[i].ended), "dry_run", runs[i].dry_run,
                "counters", jcmd_json_or(runs[i].counters_json, false)));
        snprintf(lp, sizeof lp, "%s/log", dir);
        json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:s?, s:s?, s:i, s:o, s:o, s:o, s:o, s:i, s:i, s:b, s:b}",
            "id", (json_int_t)r.id, "state", jstate_name(r.state), "command", cmd,
            "argv", jcmd_json_or(r.argv_json, true), "cwd", r.cwd, "host", r.host, "pid", r.pid,
            "created", jcmd_time(r.created), "started", jcmd_time(r.started), "ended", jcmd_time(r.ended),
            "heartbeat", jcmd_time(r.heartbeat), "runs", r.runs, "exit_code", r.exit_code, "async", r.async,
            "dry_run", r.dry_run);
        json_object_set_new(o, "progress_percent", json_real(round(pct * 10.0) / 10.0));
        json_object_set_new(o, "rate_bytes_per_second", json_integer((json_int_t)llround(rate)));
        json_object_set_new(o, "eta_seconds", json_integer((json_int_t)llround(eta)));
        json_object_set_new(o, "error", r.error ? json_string(r.error) : json_null());
        json_object_set_new(o, "counters", json_incref(c));
        json_object_set_new(o, "errors", ej);
        json_object_set_new(o, "run_history", hist);
        json_object_set_new(o, "log", json_string(lp));
        jcmd_print_json(stdout, o);
    } else {
        char t1[32], t2[32], t3[32], b1[32], b2[32], rt[32];
        jcmd_fmt_time(r.created, t1, sizeof t1);
        jcmd_fmt_time(r.started, t2, sizeof t2);
        jcmd_fmt_time(r.ended, t3, sizeof t3);
        printf("Job %lld: %s%s\n", (long long)r.id, jstate_name(r.state), r.dry_run ? " (dry run)" : "");
        printf("  command:   %s\n", cmd);
        printf("  directory: %s\n", r.cwd ? r.cwd : "-");
        printf("  created:   %s   started: %s   ended: %s\n", t1, t2, t3);
        if (active && r.pid)
            printf("  process:   pid %d on %s, last heartbeat %.0f s ago\n", r.pid, r.host ? r.host : "?",
                   now - r.heartbeat);
        printf("  runs:      %d%s\n", r.runs, r.exit_code >= 0 && !active ? "" : "");
        if (!active && r.runs > 0)
            printf("  exit code: %d\n", r.exit_code);
        job_human_bytes((double)have, b1, sizeof b1);
        job_human_bytes((double)planned, b2, sizeof b2);
        job_human_bytes(rate, rt, sizeof rt);
        printf("  progress:  %" PRIu64 "/%" PRIu64 " entries, %s/%s (%.0f%%), %s/s",
               jcmd_counter(c, "COPY") + jcmd_counter(c, "SKIP") + jcmd_counter(c, "FAIL") + jcmd_counter(c, "DIR_COPY") + jcmd_counter(c, "DONE_EARLIER"),
               jcmd_counter(c, "FILES_EXPECTED") + jcmd_counter(c, "DIRS_EXPECTED"), b1, b2, pct, rt);
        if (eta >= 0)
            printf(", ETA %.0f s", eta);
        printf("\n  counters (this run):\n");
        for (size_t i = 0; i < sizeof counter_order / sizeof *counter_order; i++)
            printf("    %-22s %" PRIu64 "\n", counter_order[i][1], jcmd_counter(c, counter_order[i][0]));
        if (nruns > 1) {
            printf("  history:\n");
            for (size_t i = 0; i < nruns; i++) {
                json_t *rc = jcmd_json_or(runs[i].counters_json, false);
                jcmd_fmt_time(runs[i].started, t1, sizeof t1);
                printf("    run %d  %-10s %s  copied %" PRIu64 ", skipped %" PRIu64 ", failed %" PRIu64
                       ", deleted %" PRIu64 "\n", runs[i].run, jstate_name(runs[i].state), t1, jcmd_counter(rc, "COPY"),
                       jcmd_counter(rc, "SKIP"), jcmd_counter(rc, "FAIL"), jcmd_counter(rc, "DELETED"));
                json_decref(rc);
            }
        }
        if (r.error)
            printf("  error:     %s\n", r.error);
        if (nerrs) {
            printf("  errors (run %d, first %zu):\n", r.runs, nerrs);
            for (size_t i = 0; i < nerrs; i++)
                printf("    %s\n", errs[i]);
        }
        printf("  log:       %s/log\n", dir);
        if (r.state == JS_KILLED || r.state == JS_FAILED || r.state == JS_CANCELLED)
            printf("  resume:    distcp job resume %lld\n", (long long)r.id);
    }
    json_decref(c);
    for (size_t i = 0; i < nruns; i++)
        jrun_release(&runs[i]);
    free(runs);
    for (size_t i = 0; i < nerrs; i++)
        free(errs[i]);
    free(errs);
    jrow_release(&r);
    jstore_close(s);
    return EXIT_OK;
}


/* ------------------------------------------------------------ log */

int job_log(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    char dir[4096], lp[4200];
    int status;
    if ((status = jcmd_open_job("log", a, &s, &r)))
        return status;
    jrow_release(&r);
    jstore_job_dir(s, a->id, dir, sizeof dir);
    snprintf(lp, sizeof lp, "%s/log", dir);
    FILE *f = fopen(lp, "r");
    if (!f && !a->follow) {
        fprintf(stderr, "distcp: job %lld has no log yet ('%s': %s)\n", (long long)a->id, lp, strerror(errno));
        jstore_close(s);
        return errno == ENOENT ? EXIT_OK : EXIT_FAIL;
    }
    char buf[65536];
    for (;;) {
        size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, stdout);
        fflush(stdout);
        if (!a->follow)
            break;
        if (f)
            clearerr(f);
        else
            f = fopen(lp, "r");
        struct errinfo ei = {0};
        if (jstore_get(s, a->id, &r, &ei))
            break;
        jstore_check_alive(s, &r, 60);
        bool active = jstate_active(r.state);
        jrow_release(&r);
        if (!active) {
            while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
                fwrite(buf, 1, n, stdout);
            break;
        }
        usleep(300 * 1000);
    }
    if (f)
        fclose(f);
    jstore_close(s);
    return EXIT_OK;
}


/* ------------------------------------------------------------ cancel */

int job_cancel(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    struct errinfo ei = {0};
    int status;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if ((status = jcmd_open_job("cancel", a, &s, &r)))
        return status;
    if (!jstate_active(r.state)) {
        printf("job %lld is not running (%s); nothing to cancel\n", (long long)r.id, jstate_name(r.state));
        jrow_release(&r);
        jstore_close(s);
        return EXIT_OK;
    }
    if (jstore_request_cancel(s, r.id, &ei)) {
        fprintf(stderr, "distcp: %s\n", ei.msg);
        jrow_release(&r);
        jstore_close(s);
        return EXIT_FAIL;
    }
    if (r.pid == 0) {
        /* submitted, its process not started yet */
        jstore_finish(s, r.id, r.runs, JS_CANCELLED, EXIT_CANCELLED, "cancelled before it started", NULL, &ei);
        printf("job %lld cancelled before it started\n", (long long)r.id);
        jrow_release(&r);
        jstore_close(s);
        return EXIT_OK;
    }
    if (r.host && !strcmp(r.host, host))
        kill(r.pid, SIGTERM);       /* else the job sees the request at its next heartbeat */
    jrow_release(&r);
    if (a->no_wait) {
        printf("cancel requested for job %lld\n", (long long)a->id);
        jstore_close(s);
        return EXIT_OK;
    }
    for (int i = 0; i < 600; i++) {
        usleep(100 * 1000);
        if (jstore_get(s, a->id, &r, &ei))
            break;
        jstore_check_alive(s, &r, 60);
        bool active = jstate_active(r.state);
        enum jstate st = r.state;
        jrow_release(&r);
        if (!active) {
            printf("job %lld %s\n", (long long)a->id, st == JS_CANCELLED ? "cancelled" : jstate_name(st));
            jstore_close(s);
            return EXIT_OK;
        }
    }
    printf("cancel requested for job %lld; it is still stopping (see distcp job state %lld)\n",
           (long long)a->id, (long long)a->id);
    jstore_close(s);
    return EXIT_OK;
}


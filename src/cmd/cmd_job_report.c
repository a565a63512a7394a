/* cmd_job_report.c - `distcp job report ID`: per entry, what a run did with
 * it (--type status: COPIED, SKIPPED + reason, FAILED + error, DELETED ...)
 * or the listing it worked from (--type listing), as CSV or JSON (jansson,
 * streamed row by row: a report may hold millions of rows). The rows come
 * from the run's rows.* files (TSV, written by the recorder).
 * Exit statuses: cmd_job.h. Single-threaded. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd_job.h"
#include "engine/job.h"

/* Split one TSV row in place, unescaping; returns the field count. */
static int tsv_split(char *line, char **f, int max)
{
    int n = 0;
    char *w = line;
    f[n++] = w;
    for (char *p = line; *p && *p != '\n'; p++) {
        if (*p == '\t') {
            *w++ = 0;
            if (n < max)
                f[n++] = w;
            continue;
        }
        if (*p == '\\' && p[1]) {
            p++;
            *w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
            continue;
        }
        *w++ = *p;
    }
    *w = 0;
    return n;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void iso_time(int64_t ns, char *buf, size_t n)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int job_report(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    int status;
    char dir[4096], rundir[4300];
    const char *fmt = a->format ? a->format : "csv";
    const char *type = a->type ? a->type : "status";
    bool json = !strcmp(fmt, "json");
    if (strcmp(fmt, "csv") && strcmp(fmt, "json")) {
        fprintf(stderr, "distcp job report: --format must be csv or json, not '%s'\n", fmt);
        return EXIT_INVALID;
    }
    if (strcmp(type, "status") && strcmp(type, "listing")) {
        fprintf(stderr, "distcp job report: --type must be status or listing, not '%s'\n", type);
        return EXIT_INVALID;
    }
    bool listing = !strcmp(type, "listing");
    if ((status = jcmd_open_job("report", a, &s, &r)))
        return status;
    int run = a->run ? a->run : r.runs;
    if (run <= 0 || run > r.runs) {
        fprintf(stderr, "distcp: job %lld has %d run(s); there is no run %d\n", (long long)r.id, r.runs, run);
        jrow_release(&r);
        jstore_close(s);
        return EXIT_INVALID;
    }
    struct jrun *runs = NULL;
    size_t nruns = 0;
    struct errinfo ei = {0};
    jstore_runs(s, r.id, &runs, &nruns, &ei);
    const struct jrun *thisrun = NULL;
    for (size_t i = 0; i < nruns; i++)
        if (runs[i].run == run)
            thisrun = &runs[i];
    jstore_job_dir(s, r.id, dir, sizeof dir);
    snprintf(rundir, sizeof rundir, "%s/runs/%d", dir, run);
    FILE *out = stdout;
    if (a->out && !(out = fopen(a->out, "w"))) {
        fprintf(stderr, "distcp: cannot write the report '%s': %s\n", a->out, strerror(errno));
        status = EXIT_FAIL;
        goto done;
    }
    if (json) {
        /* streamed: the head object without its closing brace, then the rows */
        json_t *h = json_pack("{s:I, s:i, s:s, s:s, s:b, s:o}", "job_id", (json_int_t)r.id, "run", run,
                              "type", type, "state", thisrun ? jstate_name(thisrun->state) : "UNKNOWN",
                              "dry_run", thisrun && thisrun->dry_run,
                              "counters", jcmd_json_or(thisrun ? thisrun->counters_json : NULL, false));
        char *ht = h ? json_dumps(h, JCMD_JSON_FLAGS) : NULL;
        json_decref(h);
        if (!ht) {
            fprintf(stderr, "distcp: out of memory\n");
            status = EXIT_FAIL;
            goto done;
        }
        ht[strlen(ht) - 1] = 0;
        fprintf(out, "%s, \"rows\": [", ht);
        free(ht);
    } else if (listing) {
        fprintf(out, "path,type,size,mtime,action,target\n");
    } else {
        fprintf(out, "path,target,size,status,detail\n");
    }
    bool first = true;
    DIR *dd = opendir(rundir);
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        char p[4600];
        if (strncmp(de->d_name, "rows.", 5))
            continue;
        snprintf(p, sizeof p, "%s/%s", rundir, de->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            char *fl[8];
            if (tsv_split(line, fl, 8) < 8)
                continue;
            /* seq, type, size, mtime_ns, action, src, dst, detail */
            bool dir_row = fl[1][0] == 'd';
            if (!listing && dir_row)
                continue;
            if (listing && fl[1][0] == '-')
                continue;     /* deletions are not in the listing */
            const char *path = *fl[5] ? fl[5] : fl[6];
            char mt[40] = "";
            if (fl[1][0] != '-')
                iso_time(strtoll(fl[3], NULL, 10), mt, sizeof mt);
            const char *tw = fl[1][0] == 'd' ? "directory" : fl[1][0] == 'l' ? "symlink" : fl[1][0] == 'f' ? "file" : "";
            if (json) {
                json_t *row = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "path", path, "target", fl[6],
                                        "type", tw, "size", (json_int_t)strtoll(fl[2], NULL, 10), "mtime", mt,
                                        listing ? "action" : "status", fl[4], "detail", fl[7]);
                if (!first)
                    fputs(", ", out);
                if (row)
                    json_dumpf(row, out, JCMD_JSON_FLAGS);
                json_decref(row);
            } else if (listing) {
                csv_field(out, path);
                fprintf(out, ",%s,%s,%s,%s,", tw, fl[2], mt, fl[4]);
                csv_field(out, fl[6]);
                fputc('\n', out);
            } else {
                csv_field(out, path);
                fputc(',', out);
                csv_field(out, fl[6]);
                fprintf(out, ",%s,%s,", fl[2], fl[4]);
                csv_field(out, fl[7]);
                fputc('\n', out);
            }
            first = false;
        }
        free(line);
        fclose(f);
    }
    if (dd)
        closedir(dd);
    if (json)
        fprintf(out, "]}\n");
    if (out != stdout && fclose(out)) {
        fprintf(stderr, "distcp: cannot write the report '%s': %s\n", a->out, strerror(errno));
        status = EXIT_FAIL;
    }
done:
    for (size_t i = 0; i < nruns; i++)
        jrun_release(&runs[i]);
    free(runs);
    jrow_release(&r);
    jstore_close(s);
    return status;
}


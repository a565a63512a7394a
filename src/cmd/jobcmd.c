/* jobcmd.c - `distcp submit ...`, `distcp -async ...` and `distcp job ...`:
 * submit a copy as a detached job, and list / state / status / log /
 * cancel / resume / report / clean recorded jobs (the store: jobs/store.h).
 *
 * azdata's spellings are accepted: the job id may be given as `-i ID` or
 * `--job-id ID` as well as positionally.
 *
 * Exit statuses: 0 done; 255 bad usage or unknown job; 25 the store cannot
 * be used; a resumed job exits as the job does.
 *
 * Threading: single-threaded; submit forks (twice) before any thread or
 * store connection exists in the child. */
#include "cmd/cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "engine/dist.h"
#include "cmd/exit.h"
#include "engine/job.h"
#include "jobs/jobrec.h"
#include "jobs/jobpend.h"
#include "jobs/store.h"

#define REDACTED "<redacted>"

/* ------------------------------------------------------------ argv */

static bool secret_key(const char *k, size_t n)
{
    static const char *const words[] = {"secret", "password", "passwd", "token", "access.key",
                                        "credential", "sas", "account.key"};
    char low[256];
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

/* "-D k=v" / "-Dk=v" values of secret keys and URI passwords are replaced. */
static json_t *argv_redacted(int argc, char **argv)
{
    json_t *a = json_array();
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *kv = NULL;
        if (!strcmp(s, "-D") && i + 1 < argc) {
            json_array_append_new(a, json_string(s));
            s = argv[++i];
            kv = s;
        } else if (!strncmp(s, "-D", 2) && s[2]) {
            kv = s + 2;
        }
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (eq && secret_key(kv, (size_t)(eq - kv))) {
            char buf[512];
            snprintf(buf, sizeof buf, "%.*s%.*s=" REDACTED, kv == s ? 0 : 2, s, (int)(eq - kv), kv);
            json_array_append_new(a, json_string(buf));
            continue;
        }
        /* scheme://user:password@host/... */
        const char *sch = strstr(s, "://");
        const char *at = sch ? strchr(sch + 3, '@') : NULL;
        const char *slash = sch ? strchr(sch + 3, '/') : NULL;
        const char *colon = sch ? strchr(sch + 3, ':') : NULL;
        if (at && (!slash || at < slash) && colon && colon < at) {
            char buf[8192];
            snprintf(buf, sizeof buf, "%.*s:" REDACTED "%s", (int)(colon - s), s, at);
            json_array_append_new(a, json_string(buf));
            continue;
        }
        json_array_append_new(a, json_string(s));
    }
    return a;
}

char *cmd_argv_json(int argc, char **argv)
{
    json_t *a = argv_redacted(argc, argv);
    char *t = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return t;
}

static void argv_display(const char *argv_json, char *buf, size_t n)
{
    json_t *a = json_loads(argv_json ? argv_json : "[]", 0, NULL);
    size_t o = (size_t)snprintf(buf, n, "distcp");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!s || o >= n)
            continue;
        bool q = !*s || strpbrk(s, " \t'\"$\\");
        o += (size_t)snprintf(buf + o, n - o, q ? " '%s'" : " %s", s);
    }
    json_decref(a);
}

/* ------------------------------------------------------------ helpers */

static int open_store(const char *explicit_path, struct jstore **s)
{
    struct errinfo ei = {0};
    char path[4096];
    if (explicit_path && !strcmp(explicit_path, "none")) {
        fprintf(stderr, "distcp: jobs need a job store; --job-store none turns it off\n");
        return EXIT_INVALID;
    }
    if (jstore_path(explicit_path, path, sizeof path, &ei) || jstore_open(path, s, &ei)) {
        fprintf(stderr, "distcp: %s\n", ei.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static void fmt_time(double t, char *buf, size_t n)
{
    if (t <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    localtime_r(&s, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static uint64_t cj_get(json_t *c, const char *k)
{
    json_t *v = json_object_get(c, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : json_is_real(v) ? (uint64_t)json_real_value(v) : 0;
}

/* The job's id from "ID", "-i ID" or "--job-id ID" among args; NULL-safe. */
struct jargs {
    const char *store;
    int64_t id;
    bool have_id;
    bool json;
    bool follow;
    bool no_wait;
    bool async;
    bool all;
    bool dry_run;
    const char *format;
    const char *type;
    const char *out;
    int run;
    double older_than;
    int states[JS__COUNT];
    int nstates;
    char **defs;           /* resume, clean: extra -D k=v */
    int ndefs;
};

static int parse_duration(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double m = 86400;      /* days by default */
    if (*end == 's') m = 1;
    else if (*end == 'm') m = 60;
    else if (*end == 'h') m = 3600;
    else if (*end == 'd' || !*end) m = 86400;
    else if (*end == 'w') m = 7 * 86400;
    else return -1;
    if (*end && end[1])
        return -1;
    *out = v * m;
    return 0;
}

static int parse_jargs(const char *sub, int argc, char **argv, struct jargs *a)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED() do { if (!v) { fprintf(stderr, "distcp job %s: %s needs a value\n", sub, s); return EXIT_INVALID; } i++; } while (0)
        if (!strcmp(s, "--job-store")) {
            NEED();
            a->store = v;
        } else if (!strcmp(s, "-i") || !strcmp(s, "--job-id") || !strcmp(s, "--id")) {
            NEED();
            char *end = NULL;
            a->id = strtoll(v, &end, 10);
            if (!*v || *end || a->id <= 0) {
                fprintf(stderr, "distcp job %s: '%s' is not a job id\n", sub, v);
                return EXIT_INVALID;
            }
            a->have_id = true;
        } else if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--follow") || !strcmp(s, "-f")) {
            a->follow = true;
        } else if (!strcmp(s, "--no-wait")) {
            a->no_wait = true;
        } else if (!strcmp(s, "--async") || !strcmp(s, "-async")) {
            a->async = true;
        } else if (!strcmp(s, "--all")) {
            a->all = true;
        } else if (!strcmp(s, "--dry-run")) {
            a->dry_run = true;
        } else if (!strcmp(s, "--format")) {
            NEED();
            a->format = v;
        } else if (!strcmp(s, "--type")) {
            NEED();
            a->type = v;
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
            NEED();
            a->out = v;
        } else if (!strcmp(s, "--run")) {
            NEED();
            a->run = atoi(v);
            if (a->run <= 0) {
                fprintf(stderr, "distcp job %s: --run needs a run number (1, 2, ...), not '%s'\n", sub, v);
                return EXIT_INVALID;
            }
        } else if (!strcmp(s, "--older-than")) {
            NEED();
            if (parse_duration(v, &a->older_than)) {
                fprintf(stderr, "distcp job %s: --older-than '%s': expected a duration such as 30s, 15m, 12h, 7d\n", sub, v);
                return EXIT_INVALID;
            }
        } else if (!strcmp(s, "--state")) {
            NEED();
            int st = jstate_parse(v);
            if (st < 0 || a->nstates >= JS__COUNT) {
                fprintf(stderr, "distcp job %s: unknown state '%s' (PENDING, LISTING, COPYING, COMMITTING, "
                                "SUCCEEDED, FAILED, CANCELLED, KILLED)\n", sub, v);
                return EXIT_INVALID;
            }
            a->states[a->nstates++] = st;
        } else if (!strcmp(s, "-D") && (!strcmp(sub, "resume") || !strcmp(sub, "clean"))) {
            NEED();
            char **g = realloc(a->defs, (size_t)(a->ndefs + 1) * sizeof *g);
            if (!g)
                return EXIT_FAIL;
            a->defs = g;
            a->defs[a->ndefs++] = (char *)v;
        } else if (s[0] != '-' && !a->have_id) {
            char *end = NULL;
            a->id = strtoll(s, &end, 10);
            if (*end || a->id <= 0) {
                fprintf(stderr, "distcp job %s: '%s' is not a job id\n", sub, s);
                return EXIT_INVALID;
            }
            a->have_id = true;
        } else {
            fprintf(stderr, "distcp job %s: unknown argument '%s' (see distcp job --help)\n", sub, s);
            return EXIT_INVALID;
        }
#undef NEED
    }
    return EXIT_OK;
}

static int need_id(const char *sub, const struct jargs *a)
{
    if (a->have_id)
        return EXIT_OK;
    fprintf(stderr, "distcp job %s: which job? give its id (distcp job %s ID, or -i ID); "
                    "distcp job list shows them\n", sub, sub);
    return EXIT_INVALID;
}

static int get_job(struct jstore *s, int64_t id, struct jrow *r)
{
    struct errinfo ei = {0};
    int rc = jstore_get(s, id, r, &ei);
    if (rc) {
        fprintf(stderr, "distcp: %s\n", ei.msg);
        return rc == ERR_NOT_FOUND ? EXIT_INVALID : EXIT_FAIL;
    }
    jstore_check_alive(s, r, 60);
    return EXIT_OK;
}

/* The job the command names, with its store open (closed again on failure). */
static int open_job(const char *sub, const struct jargs *a, struct jstore **s, struct jrow *r)
{
    int status;
    if ((status = need_id(sub, a)) || (status = open_store(a->store, s)))
        return status;
    if ((status = get_job(*s, a->id, r))) {
        jstore_close(*s);
        *s = NULL;
    }
    return status;
}

/* ------------------------------------------------------------ submit */

/* Detach: the grandchild runs the job with its output in the job's log. */
static int detach_and_run(struct options *o, const char *store_path, int64_t id, const char *logp,
                          bool print_json)
{
    int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        fprintf(stderr, "distcp: cannot open the job log '%s': %s\n", logp, strerror(errno));
        return EXIT_FAIL;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "distcp: cannot start the job process: %s\n", strerror(errno));
        close(logfd);
        return EXIT_FAIL;
    }
    if (pid == 0) {
        setsid();
        pid_t p2 = fork();
        if (p2 != 0)
            _exit(p2 < 0 ? 1 : 0);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        close(logfd);
        signal(SIGHUP, SIG_IGN);
        o->job_id = id;
        o->job_detached = true;
        o->progress = 0;
        int status = cmd_exit_status(job_run(o, &jobrec_recorder));
        /* a job that died before it could claim its row is failed, not pending */
        struct jstore *s = NULL;
        struct errinfo ei = {0};
        struct jrow r;
        if (jstore_open(store_path, &s, &ei) == ERR_OK) {
            if (jstore_get(s, id, &r, &ei) == ERR_OK) {
                if (r.state == JS_PENDING)
                    jstore_finish(s, id, r.runs, JS_FAILED, status ? status : EXIT_FAIL,
                                  "the job process could not start the job (see its log)", NULL, &ei);
                jrow_release(&r);
            }
            jstore_close(s);
        }
        fflush(NULL);
        _exit(status);
    }
    close(logfd);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (print_json)
        printf("{\"job_id\": %lld, \"state\": \"PENDING\", \"log\": ", (long long)id);
    if (print_json) {
        job_json_str(stdout, logp);
        printf("}\n");
    } else {
        printf("%lld\n", (long long)id);
    }
    fflush(stdout);
    return EXIT_OK;
}

int cmd_submit(struct options *o, int argc, char **argv)
{
    struct jstore *s = NULL;
    struct errinfo ei = {0};
    char path[4096], dir[4096], logp[4200], cwd[4096];
    int status;
    int64_t id = 0;
    if ((status = open_store(o->job_store, &s)))
        return status;
    snprintf(path, sizeof path, "%s", jstore_file(s));
    if (!getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "distcp: cannot read the current directory: %s\n", strerror(errno));
        jstore_close(s);
        return EXIT_FAIL;
    }
    char *aj = cmd_argv_json(argc, argv);
    int rc = jstore_create(s, aj ? aj : "[]", cwd, true, o->dry_run, &id, &ei);
    free(aj);
    if (rc) {
        fprintf(stderr, "distcp: cannot record the job: %s\n", ei.msg);
        jstore_close(s);
        return EXIT_FAIL;
    }
    jstore_job_dir(s, id, dir, sizeof dir);
    jstore_close(s);            /* never carried across fork */
    char jobs[4200];
    snprintf(jobs, sizeof jobs, "%s", dir);
    *strrchr(jobs, '/') = 0;
    mkdir(jobs, 0700);
    if (mkdir(dir, 0700) && errno != EEXIST) {
        fprintf(stderr, "distcp: cannot create the job directory '%s': %s\n", dir, strerror(errno));
        return EXIT_FAIL;
    }
    snprintf(logp, sizeof logp, "%s/log", dir);
    if (!o->job_store) {
        o->job_store = strdup(path);   /* the job process uses the same store */
        if (!o->job_store)
            return EXIT_FAIL;
    }
    status = detach_and_run(o, path, id, logp, o->json);
    if (!status && !o->json)
        fprintf(stderr, "distcp: job %lld submitted; watch it with: distcp job status %lld\n",
                (long long)id, (long long)id);
    return status;
}

/* ------------------------------------------------------------ list/state */

/* Open the store and fetch every job (job list, job clean). */
static int open_list(const struct jargs *a, struct jstore **s, struct jrow **rows, size_t *n)
{
    struct errinfo ei = {0};
    int status;
    if ((status = open_store(a->store, s)))
        return status;
    if (jstore_list(*s, rows, n, &ei)) {
        fprintf(stderr, "distcp: %s\n", ei.msg);
        jstore_close(*s);
        *s = NULL;
        return EXIT_FAIL;
    }
    return 0;
}

static int job_list(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow *rows = NULL;
    size_t n = 0;
    int status;
    if ((status = open_list(a, &s, &rows, &n)))
        return status;
    if (a->json)
        printf("[");
    else
        printf("%-6s %-10s %-19s %-12s %-10s %s\n", "ID", "STATE", "CREATED", "FILES", "BYTES", "COMMAND");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        struct jrow *r = &rows[i];
        jstore_check_alive(s, r, 60);
        bool want = a->nstates == 0;
        for (int k = 0; k < a->nstates; k++)
            want |= (int)r->state == a->states[k];
        if (!want)
            continue;
        json_t *c = json_loads(r->counters_json ? r->counters_json : "{}", 0, NULL);
        char t[32], cmd[600], b[32], files[40];
        fmt_time(r->created, t, sizeof t);
        argv_display(r->argv_json, cmd, sizeof cmd);
        job_human_bytes((double)cj_get(c, "BYTESCOPIED"), b, sizeof b);
        snprintf(files, sizeof files, "%" PRIu64 "/%" PRIu64, cj_get(c, "COPY") + cj_get(c, "DONE_EARLIER"),
                 cj_get(c, "FILES_EXPECTED"));
        if (a->json) {
            printf("%s{\"id\": %lld, \"state\": \"%s\", \"created\": %.3f, \"started\": %.3f, \"ended\": %.3f, "
                   "\"runs\": %d, \"exit_code\": %d, \"async\": %s, \"dry_run\": %s, \"pid\": %d, \"command\": ",
                   first ? "" : ", ", (long long)r->id, jstate_name(r->state), r->created, r->started, r->ended,
                   r->runs, r->exit_code, r->async ? "true" : "false", r->dry_run ? "true" : "false", r->pid);
            job_json_str(stdout, cmd);
            printf(", \"counters\": %s}", r->counters_json ? r->counters_json : "{}");
        } else {
            printf("%-6lld %-10s %-19s %-12s %-10s %.120s\n", (long long)r->id, jstate_name(r->state), t,
                   files, b, cmd);
        }
        first = false;
        json_decref(c);
    }
    if (a->json)
        printf("]\n");
    for (size_t i = 0; i < n; i++)
        jrow_release(&rows[i]);
    free(rows);
    jstore_close(s);
    return EXIT_OK;
}

static int job_state(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    int status;
    if ((status = open_job("state", a, &s, &r)))
        return status;
    if (a->json)
        printf("{\"id\": %lld, \"state\": \"%s\"}\n", (long long)r.id, jstate_name(r.state));
    else
        printf("%s\n", jstate_name(r.state));
    jrow_release(&r);
    jstore_close(s);
    return EXIT_OK;
}

/* ------------------------------------------------------------ status */

static const char *const counter_order[][2] = {
    {"FILES_EXPECTED", "Files Expected"}, {"COPY", "Files Copied"}, {"SKIP", "Files Skipped"},
    {"FAIL", "Files Failed"}, {"DELETED", "Files Deleted"}, {"DONE_EARLIER", "Done By Earlier Runs"},
    {"DIR_COPY", "Directories Copied"}, {"BYTESEXPECTED", "Bytes Expected"}, {"BYTESCOPIED", "Bytes Copied"},
    {"BYTESSKIPPED", "Bytes Skipped"}, {"BYTESFAILED", "Bytes Failed"},
};

static int job_status(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    struct jrun *runs = NULL;
    size_t nruns = 0;
    char **errs = NULL;
    size_t nerrs = 0;
    struct errinfo ei = {0};
    int status;
    if ((status = open_job("status", a, &s, &r)))
        return status;
    jstore_runs(s, r.id, &runs, &nruns, &ei);
    if (r.runs > 0)
        jstore_errors(s, r.id, r.runs, &errs, &nerrs, &ei);
    json_t *c = json_loads(r.counters_json ? r.counters_json : "{}", 0, NULL);
    char cmd[8192], dir[4096];
    argv_display(r.argv_json, cmd, sizeof cmd);
    jstore_job_dir(s, r.id, dir, sizeof dir);
    double now = jstore_now();
    bool active = jstate_active(r.state);
    double el = active ? now - r.started : (r.ended > r.started ? r.ended - r.started : 0);
    uint64_t planned = cj_get(c, "BYTES_PLANNED"), moved = cj_get(c, "PROGRESS_BYTES");
    uint64_t earlier_b = cj_get(c, "DONE_EARLIER_BYTES");
    double rate = el > 0 ? (double)moved / el : 0;
    uint64_t have = moved + earlier_b;
    double pct = planned ? 100.0 * (double)(have > planned ? planned : have) / (double)planned
                         : (r.state == JS_SUCCEEDED ? 100 : 0);
    double eta = active && rate > 0 && planned > have ? (double)(planned - have) / rate : -1;
    if (a->json) {
        printf("{\"id\": %lld, \"state\": \"%s\", \"command\": ", (long long)r.id, jstate_name(r.state));
        job_json_str(stdout, cmd);
        printf(", \"argv\": %s, \"cwd\": ", r.argv_json ? r.argv_json : "[]");
        job_json_str(stdout, r.cwd);
        printf(", \"host\": ");
        job_json_str(stdout, r.host);
        printf(", \"pid\": %d, \"created\": %.3f, \"started\": %.3f, \"ended\": %.3f, \"heartbeat\": %.3f, "
               "\"runs\": %d, \"exit_code\": %d, \"async\": %s, \"dry_run\": %s, \"progress_percent\": %.1f, "
               "\"rate_bytes_per_second\": %.0f, \"eta_seconds\": %.0f, \"error\": ",
               r.pid, r.created, r.started, r.ended, r.heartbeat, r.runs, r.exit_code, r.async ? "true" : "false",
               r.dry_run ? "true" : "false", pct, rate, eta);
        if (r.error)
            job_json_str(stdout, r.error);
        else
            printf("null");
        printf(", \"counters\": %s, \"errors\": [", r.counters_json ? r.counters_json : "{}");
        for (size_t i = 0; i < nerrs; i++) {
            if (i)
                printf(", ");
            job_json_str(stdout, errs[i]);
        }
        printf("], \"run_history\": [");
        for (size_t i = 0; i < nruns; i++)
            printf("%s{\"run\": %d, \"state\": \"%s\", \"exit_code\": %d, \"started\": %.3f, \"ended\": %.3f, "
                   "\"dry_run\": %s, \"counters\": %s}", i ? ", " : "", runs[i].run, jstate_name(runs[i].state),
                   runs[i].exit_code, runs[i].started, runs[i].ended, runs[i].dry_run ? "true" : "false",
                   runs[i].counters_json ? runs[i].counters_json : "{}");
        printf("], \"log\": ");
        char lp[4200];
        snprintf(lp, sizeof lp, "%s/log", dir);
        job_json_str(stdout, lp);
        printf("}\n");
    } else {
        char t1[32], t2[32], t3[32], b1[32], b2[32], rt[32];
        fmt_time(r.created, t1, sizeof t1);
        fmt_time(r.started, t2, sizeof t2);
        fmt_time(r.ended, t3, sizeof t3);
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
               cj_get(c, "COPY") + cj_get(c, "SKIP") + cj_get(c, "FAIL") + cj_get(c, "DIR_COPY") + cj_get(c, "DONE_EARLIER"),
               cj_get(c, "FILES_EXPECTED") + cj_get(c, "DIRS_EXPECTED"), b1, b2, pct, rt);
        if (eta >= 0)
            printf(", ETA %.0f s", eta);
        printf("\n  counters (this run):\n");
        for (size_t i = 0; i < sizeof counter_order / sizeof *counter_order; i++)
            printf("    %-22s %" PRIu64 "\n", counter_order[i][1], cj_get(c, counter_order[i][0]));
        if (nruns > 1) {
            printf("  history:\n");
            for (size_t i = 0; i < nruns; i++) {
                json_t *rc = json_loads(runs[i].counters_json ? runs[i].counters_json : "{}", 0, NULL);
                fmt_time(runs[i].started, t1, sizeof t1);
                printf("    run %d  %-10s %s  copied %" PRIu64 ", skipped %" PRIu64 ", failed %" PRIu64
                       ", deleted %" PRIu64 "\n", runs[i].run, jstate_name(runs[i].state), t1, cj_get(rc, "COPY"),
                       cj_get(rc, "SKIP"), cj_get(rc, "FAIL"), cj_get(rc, "DELETED"));
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

static int job_log(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    char dir[4096], lp[4200];
    int status;
    if ((status = open_job("log", a, &s, &r)))
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

static int job_cancel(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    struct errinfo ei = {0};
    int status;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if ((status = open_job("cancel", a, &s, &r)))
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

/* ------------------------------------------------------------ resume */

/* The job's options, rebuilt from its saved command line; secrets that were
 * redacted come from the -D given now (a->defs), or else from the
 * environment and profiles. *argv and *av back the strings of *o; the
 * caller frees them (and releases *o) whatever the result. */
static int saved_options(const struct jrow *r, const struct jargs *a, struct options *o,
                         char ***argvp, json_t **avp)
{
    json_t *av = json_loads(r->argv_json ? r->argv_json : "[]", 0, NULL);
    size_t n = json_array_size(av);
    char **argv = calloc(n + (size_t)a->ndefs * 2 + 2, sizeof *argv);
    int argc = 0;
    *argvp = argv;
    *avp = av;
    options_init(o);
    if (!argv) {
        fprintf(stderr, "distcp: job %lld: out of memory\n", (long long)r->id);
        return EXIT_FAIL;
    }
    argv[argc++] = "distcp";
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(av, i));
        if (!v)
            continue;
        const char *red = strstr(v, "=" REDACTED);
        if (red && red[sizeof(REDACTED)] == 0) {
            if (argc > 1 && !strcmp(argv[argc - 1], "-D"))
                argc--;            /* drop "-D" "key=<redacted>" */
            continue;
        }
        argv[argc++] = (char *)v;
    }
    for (int i = 0; i < a->ndefs; i++) {
        argv[argc++] = "-D";
        argv[argc++] = a->defs[i];
    }
    char err[2048] = "";
    int rc = cli_parse(argc - 1, argv + 1, o, err, sizeof err, stderr);
    if (rc != CLI_OK) {
        fprintf(stderr, "distcp: job %lld: its command line no longer parses: %s\n",
                (long long)r->id, err);
        return EXIT_INVALID;
    }
    return EXIT_OK;
}

static int job_resume(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    int status;
    char path[4096], dir[4096], logp[4200];
    if (job_dist && job_dist->size > 1) {
        /* every rank would check and claim the job on its own: not done */
        fprintf(stderr, "distcp job resume: not supported under mpirun (%d ranks): run 'distcp job resume %lld' "
                "without mpirun; it finishes the job in one process, skipping what every rank recorded\n",
                job_dist->size, (long long)a->id);
        return EXIT_INVALID;
    }
    if ((status = open_job("resume", a, &s, &r)))
        return status;
    snprintf(path, sizeof path, "%s", jstore_file(s));
    jstore_job_dir(s, r.id, dir, sizeof dir);
    jstore_close(s);
    if (jstate_active(r.state)) {
        fprintf(stderr, "distcp: job %lld is %s (pid %d on %s); cancel it first or wait for it\n",
                (long long)r.id, jstate_name(r.state), r.pid, r.host ? r.host : "?");
        jrow_release(&r);
        return EXIT_INVALID;
    }
    if (r.state == JS_SUCCEEDED) {
        printf("job %lld already succeeded; nothing to resume\n", (long long)r.id);
        jrow_release(&r);
        return EXIT_OK;
    }
    json_t *av = NULL;
    char **argv = NULL;
    struct options o;
    if ((status = saved_options(&r, a, &o, &argv, &av)))
        goto out;
    if (r.cwd && chdir(r.cwd)) {
        fprintf(stderr, "distcp: job %lld: cannot enter its directory '%s': %s\n", (long long)r.id, r.cwd,
                strerror(errno));
        status = EXIT_FAIL;
        goto out;
    }
    free(o.job_store);
    o.job_store = strdup(path);
    o.job_id = r.id;
    o.job_resume = true;
    if (a->async) {
        snprintf(logp, sizeof logp, "%s/log", dir);
        status = detach_and_run(&o, path, r.id, logp, false);
        if (!status)
            fprintf(stderr, "distcp: job %lld resumed in the background; watch it with: distcp job status %lld\n",
                    (long long)r.id, (long long)r.id);
    } else {
        status = job_run(&o, &jobrec_recorder);
    }
out:
    options_release(&o);
    free(argv);
    json_decref(av);
    jrow_release(&r);
    return status;
}

/* ------------------------------------------------------------ report */

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

static int job_report(const struct jargs *a)
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
    if ((status = open_job("report", a, &s, &r)))
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
        fprintf(out, "{\"job_id\": %lld, \"run\": %d, \"type\": \"%s\", \"state\": \"%s\", \"dry_run\": %s, "
                     "\"counters\": %s, \"rows\": [", (long long)r.id, run, type,
                thisrun ? jstate_name(thisrun->state) : "UNKNOWN", thisrun && thisrun->dry_run ? "true" : "false",
                thisrun && thisrun->counters_json ? thisrun->counters_json : "{}");
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
                fprintf(out, "%s{\"path\": ", first ? "" : ", ");
                job_json_str(out, path);
                fprintf(out, ", \"target\": ");
                job_json_str(out, fl[6]);
                fprintf(out, ", \"type\": \"%s\", \"size\": %s, \"mtime\": \"%s\", \"%s\": \"%s\", \"detail\": ",
                        tw, fl[2], mt, listing ? "action" : "status", fl[4]);
                job_json_str(out, fl[7]);
                fputc('}', out);
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

/* ------------------------------------------------------------ clean */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) ? -1 : 0;
}

static const char *clean_cfg_get(void *ctx, const char *key)
{
    return options_def(ctx, key);
}

static void clean_say(void *arg, const char *line)
{
    printf("job %lld: %s\n", *(long long *)arg, line);
}

/* Abort the uploads a killed run of job r left open (jobs/jobpend.c), with
 * the stores and credentials its command line names. EXIT_OK when none
 * stays open. */
static int clean_pending(const struct jargs *a, const struct jrow *r, const char *dir)
{
    char pp[4200];
    snprintf(pp, sizeof pp, "%s/pending", dir);
    if (access(pp, F_OK))
        return EXIT_OK;
    json_t *av = NULL;
    char **argv = NULL;
    struct options o;
    int status = saved_options(r, a, &o, &argv, &av);
    if (!status) {
        struct be_config cfg = { .get = clean_cfg_get, .ctx = &o };
        struct errinfo ei = {0};
        unsigned done = 0, left = 0;
        long long id = r->id;
        if (jobpend_sweep(dir, &cfg, clean_say, &id, &done, &left, &ei)) {
            fprintf(stderr, "distcp: job %lld: %s\n", id, ei.msg);
            status = EXIT_FAIL;
        } else if (left) {
            fprintf(stderr, "distcp: job %lld: %u upload(s) could not be aborted; the job is "
                    "kept (run job clean again)\n", id, left);
            status = EXIT_FAIL;
        }
    }
    options_release(&o);
    free(argv);
    json_decref(av);
    return status;
}

static int job_clean(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow *rows = NULL;
    size_t n = 0;
    int status;
    if ((status = open_list(a, &s, &rows, &n)))
        return status;
    double limit = a->all ? 0 : a->older_than > 0 ? a->older_than : (a->nstates ? 0 : 7 * 86400.0);
    double now = jstore_now();
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        struct jrow *r = &rows[i];
        jstore_check_alive(s, r, 60);
        if (jstate_active(r->state))
            continue;           /* never a job that may be running */
        bool want = a->nstates == 0;
        for (int k = 0; k < a->nstates; k++)
            want |= (int)r->state == a->states[k];
        double when = r->ended > 0 ? r->ended : r->updated > 0 ? r->updated : r->created;
        if (!want || now - when < limit)
            continue;
        char dir[4096];
        jstore_job_dir(s, r->id, dir, sizeof dir);
        if (a->dry_run) {
            printf("would remove job %lld (%s)\n", (long long)r->id, jstate_name(r->state));
            removed++;
            continue;
        }
        if (clean_pending(a, r, dir)) {
            status = EXIT_FAIL;
            continue;
        }
        struct errinfo ei = {0};
        if (jstore_delete(s, r->id, &ei)) {
            fprintf(stderr, "distcp: cannot remove job %lld: %s\n", (long long)r->id, ei.msg);
            status = EXIT_FAIL;
            continue;
        }
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        printf("removed job %lld (%s)\n", (long long)r->id, jstate_name(r->state));
        removed++;
    }
    printf("%zu job(s) %s\n", removed, a->dry_run ? "would be removed" : "removed");
    for (size_t i = 0; i < n; i++)
        jrow_release(&rows[i]);
    free(rows);
    jstore_close(s);
    return status;
}

/* ------------------------------------------------------------ dispatch */

static void job_usage(FILE *f)
{
    fprintf(f,
            "usage: distcp job <command> [ID] [options]\n"
            "  list    [--json] [--state S]       every recorded job, newest first\n"
            "  state   ID                         one word: PENDING LISTING COPYING COMMITTING\n"
            "                                     SUCCEEDED FAILED CANCELLED KILLED\n"
            "  status  ID [--json]                options, counters, progress, rate, ETA, errors, runs\n"
            "  log     ID [--follow]              the job's log (--follow: until it ends)\n"
            "  cancel  ID [--no-wait]             stop it cleanly (state CANCELLED; resumable)\n"
            "  resume  ID [--async] [-D k=v]...   finish a KILLED/FAILED/CANCELLED job without\n"
            "                                     copying again what it finished\n"
            "  report  ID [--type status|listing] [--format csv|json] [--run N] [-o FILE]\n"
            "  clean   [--older-than 7d] [--state S]... [--all] [--dry-run] [-D k=v]...\n"
            "                                     forget jobs; first abort the uploads a killed\n"
            "                                     run left open on an object store\n"
            "The id may also be given as -i ID or --job-id ID. Every command takes\n"
            "--job-store PATH (default: $DISTCP_JOB_STORE, else $XDG_STATE_HOME/distcp/jobs.db,\n"
            "else ~/.local/state/distcp/jobs.db).\n"
            "Submit a job: distcp submit [copy options] SOURCE... TARGET  (or distcp -async ...)\n");
}

int cmd_job(int argc, char **argv)
{
    struct jargs a;
    memset(&a, 0, sizeof a);
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        job_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_INVALID : EXIT_OK;
    }
    const char *sub = argv[0];
    static const char *const subs[] = {"list", "state", "status", "log", "cancel", "resume", "report", "clean"};
    bool known = false;
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        known |= !strcmp(sub, subs[i]);
    if (!known) {
        fprintf(stderr, "distcp job: unknown command '%s'\n", sub);
        job_usage(stderr);
        return EXIT_INVALID;
    }
    int status = parse_jargs(sub, argc - 1, argv + 1, &a);
    if (status) {
        free(a.defs);
        return status;
    }
    if (!strcmp(sub, "list"))
        status = job_list(&a);
    else if (!strcmp(sub, "state"))
        status = job_state(&a);
    else if (!strcmp(sub, "status"))
        status = job_status(&a);
    else if (!strcmp(sub, "log"))
        status = job_log(&a);
    else if (!strcmp(sub, "cancel"))
        status = job_cancel(&a);
    else if (!strcmp(sub, "resume"))
        status = job_resume(&a);
    else if (!strcmp(sub, "report"))
        status = job_report(&a);
    else
        status = job_clean(&a);
    free(a.defs);
    return status;
}

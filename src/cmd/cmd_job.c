/* cmd_job.c - `distcp job <command> ...`: the subcommand table (dispatch
 * and `distcp job --help` are generated from it), the argument parser shared
 * by every subcommand, the store helpers (cmd_job.h), and the two listing
 * commands, list and state. Other groups: cmd_job_watch.c, cmd_job_run.c,
 * cmd_job_report.c, cmd_job_clean.c.
 *
 * azdata's spellings are accepted: the job id may be given as `-i ID` or
 * `--job-id ID` as well as positionally. JSON output goes through jansson.
 * Exit statuses: cmd_job.h. Single-threaded. */
#include "cmd/cmd_job.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "engine/job.h"

/* One subcommand: its handler, its arguments as usage shows them, what it does. */
struct job_cmd {
    const char *name;
    int (*run)(const struct jargs *a);
    const char *usage;
    const char *help;
    bool takes_defs;       /* accepts -D key=value (the job's stores' settings) */
};

static const struct job_cmd job_cmds[] = {
    {.name = "list", .run = job_list, .usage = "[--json] [--state S]...",
     .help = "every recorded job, newest first"},
    {.name = "state", .run = job_state, .usage = "ID [--json]",
     .help = "its state in one word (PENDING ... SUCCEEDED, FAILED, CANCELLED, KILLED)"},
    {.name = "status", .run = job_status, .usage = "ID [--json]",
     .help = "options, counters, progress, rate, ETA, errors, runs"},
    {.name = "log", .run = job_log, .usage = "ID [--follow]", .help = "the job's log (--follow: until it ends)"},
    {.name = "cancel", .run = job_cancel, .usage = "ID [--no-wait]",
     .help = "stop it cleanly (state CANCELLED; resumable)"},
    {.name = "resume", .run = job_resume, .usage = "ID [--async] [-D k=v]...", .takes_defs = true,
     .help = "finish a KILLED/FAILED/CANCELLED job, skipping what it finished"},
    {.name = "report", .run = job_report,
     .usage = "ID [--type status|listing] [--format csv|json] [--run N] [-o FILE]",
     .help = "per entry: what the run did with it (or the listing)"},
    {.name = "clean", .run = job_clean, .usage = "[--older-than 7d] [--state S]... [--all] [--dry-run] [-D k=v]...",
     .takes_defs = true,
     .help = "forget ended jobs, first aborting uploads a killed run left open"},
};
#define NJOB_CMDS (sizeof job_cmds / sizeof job_cmds[0])

int jcmd_open_store(const char *explicit_path, struct jstore **s)
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

void jcmd_fmt_time(double t, char *buf, size_t n)
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

uint64_t jcmd_counter(json_t *c, const char *k)
{
    json_t *v = json_object_get(c, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : json_is_real(v) ? (uint64_t)json_real_value(v) : 0;
}

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

static int parse_jargs(const char *sub, bool takes_defs, int argc, char **argv, struct jargs *a)
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
        } else if (!strcmp(s, "-D") && takes_defs) {
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
int jcmd_open_job(const char *sub, const struct jargs *a, struct jstore **s, struct jrow *r)
{
    int status;
    if ((status = need_id(sub, a)) || (status = jcmd_open_store(a->store, s)))
        return status;
    if ((status = get_job(*s, a->id, r))) {
        jstore_close(*s);
        *s = NULL;
    }
    return status;
}

bool jcmd_state_wanted(const struct jargs *a, const struct jrow *r)
{
    bool want = a->nstates == 0;
    for (int k = 0; k < a->nstates; k++)
        want |= (int)r->state == a->states[k];
    return want;
}

json_t *jcmd_json_or(const char *text, bool array)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (!v || (array ? !json_is_array(v) : !json_is_object(v))) {
        json_decref(v);
        v = array ? json_array() : json_object();
    }
    return v;
}

json_t *jcmd_time(double t)
{
    return json_real(round(t * 1000.0) / 1000.0);
}

void jcmd_print_json(FILE *out, json_t *v)
{
    json_dumpf(v, out, JCMD_JSON_FLAGS | JSON_ENCODE_ANY);
    fputc('\n', out);
    json_decref(v);
}

/* Open the store and fetch every job (job list, job clean). */
int jcmd_open_list(const struct jargs *a, struct jstore **s, struct jrow **rows, size_t *n)
{
    struct errinfo ei = {0};
    int status;
    if ((status = jcmd_open_store(a->store, s)))
        return status;
    if (jstore_list(*s, rows, n, &ei)) {
        fprintf(stderr, "distcp: %s\n", ei.msg);
        jstore_close(*s);
        *s = NULL;
        return EXIT_FAIL;
    }
    return 0;
}

int job_list(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow *rows = NULL;
    size_t n = 0;
    int status;
    json_t *out = NULL;
    if ((status = jcmd_open_list(a, &s, &rows, &n)))
        return status;
    if (a->json)
        out = json_array();
    else
        printf("%-6s %-10s %-19s %-12s %-10s %s\n", "ID", "STATE", "CREATED", "FILES", "BYTES", "COMMAND");
    for (size_t i = 0; i < n; i++) {
        struct jrow *r = &rows[i];
        jstore_check_alive(s, r, 60);
        if (!jcmd_state_wanted(a, r))
            continue;
        json_t *c = jcmd_json_or(r->counters_json, false);
        char t[32], cmd[600], b[32], files[40];
        jcmd_fmt_time(r->created, t, sizeof t);
        jcmd_argv_display(r->argv_json, cmd, sizeof cmd);
        job_human_bytes((double)jcmd_counter(c, "BYTESCOPIED"), b, sizeof b);
        snprintf(files, sizeof files, "%" PRIu64 "/%" PRIu64,
                 jcmd_counter(c, "COPY") + jcmd_counter(c, "DONE_EARLIER"), jcmd_counter(c, "FILES_EXPECTED"));
        if (out) {
            json_array_append_new(out, json_pack("{s:I, s:s, s:o, s:o, s:o, s:i, s:i, s:b, s:b, s:i, s:s, s:O}",
                "id", (json_int_t)r->id, "state", jstate_name(r->state), "created", jcmd_time(r->created),
                "started", jcmd_time(r->started), "ended", jcmd_time(r->ended), "runs", r->runs,
                "exit_code", r->exit_code, "async", r->async, "dry_run", r->dry_run, "pid", r->pid,
                "command", cmd, "counters", c));
        } else {
            printf("%-6lld %-10s %-19s %-12s %-10s %.120s\n", (long long)r->id, jstate_name(r->state), t,
                   files, b, cmd);
        }
        json_decref(c);
    }
    if (out)
        jcmd_print_json(stdout, out);
    for (size_t i = 0; i < n; i++)
        jrow_release(&rows[i]);
    free(rows);
    jstore_close(s);
    return EXIT_OK;
}

int job_state(const struct jargs *a)
{
    struct jstore *s = NULL;
    struct jrow r;
    int status;
    if ((status = jcmd_open_job("state", a, &s, &r)))
        return status;
    if (a->json)
        jcmd_print_json(stdout, json_pack("{s:I, s:s}", "id", (json_int_t)r.id, "state", jstate_name(r.state)));
    else
        printf("%s\n", jstate_name(r.state));
    jrow_release(&r);
    jstore_close(s);
    return EXIT_OK;
}

/* ------------------------------------------------------------ dispatch */

static void job_usage(FILE *f)
{
    fprintf(f, "usage: distcp job <command> [ID] [options]\n");
    for (size_t i = 0; i < NJOB_CMDS; i++) {
        const struct job_cmd *c = &job_cmds[i];
        if (strlen(c->usage) > 34)
            fprintf(f, "  %-7s %s\n  %-7s %-34s %s\n", c->name, c->usage, "", "", c->help);
        else
            fprintf(f, "  %-7s %-34s %s\n", c->name, c->usage, c->help);
    }
    fprintf(f, "The id may also be given as -i ID or --job-id ID. Every command takes\n"
               "--job-store PATH (default: $DISTCP_JOB_STORE, else $XDG_STATE_HOME/distcp/jobs.db,\n"
               "else ~/.local/state/distcp/jobs.db).\n"
               "Submit a job: distcp submit [copy options] SOURCE... TARGET  (or distcp -async ...)\n");
}

void cmd_job_names(FILE *f)
{
    for (size_t i = 0; i < NJOB_CMDS; i++)
        fprintf(f, "%s%s", i ? "|" : "", job_cmds[i].name);
}

int cmd_job(int argc, char **argv)
{
    struct jargs a;
    const struct job_cmd *c = NULL;
    int status;
    memset(&a, 0, sizeof a);
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        job_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? EXIT_INVALID : EXIT_OK;
    }
    for (size_t i = 0; i < NJOB_CMDS && !c; i++)
        if (!strcmp(argv[0], job_cmds[i].name))
            c = &job_cmds[i];
    if (!c) {
        fprintf(stderr, "distcp job: unknown command '%s'\n", argv[0]);
        job_usage(stderr);
        return EXIT_INVALID;
    }
    if (!(status = parse_jargs(c->name, c->takes_defs, argc - 1, argv + 1, &a)))
        status = c->run(&a);
    free(a.defs);
    return status;
}

/* cmd_job_run.c - running a recorded job: `distcp submit ...` / `-async`
 * (record the job, then run it detached) and `distcp job resume ID` (rebuild
 * its options from the saved command line and run it again, in this process
 * or detached). Exit statuses: cmd_job.h; a job run here exits as it does.
 *
 * Threading: single-threaded; submit forks (twice) before any thread or
 * store connection exists in the child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/cmd.h"
#include "cmd/cmd_job.h"
#include "engine/dist.h"
#include "engine/job.h"
#include "jobs/jobrec.h"

/* Detach: the grandchild runs the job with its output in the job's log. */
int jcmd_detach_and_run(struct options *o, const char *store_path, int64_t id, const char *logp,
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
    if (print_json) {
        jcmd_print_json(stdout, json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)id, "state", "PENDING",
                                          "log", logp));
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
    if ((status = jcmd_open_store(o->job_store, &s)))
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
    status = jcmd_detach_and_run(o, path, id, logp, o->json);
    if (!status && !o->json)
        fprintf(stderr, "distcp: job %lld submitted; watch it with: distcp job status %lld\n",
                (long long)id, (long long)id);
    return status;
}


/* ------------------------------------------------------------ resume */

/* The job's options, rebuilt from its saved command line; secrets that were
 * redacted come from the -D given now (a->defs), or else from the
 * environment and profiles. *argv and *av back the strings of *o; the
 * caller frees them (and releases *o) whatever the result. */
int jcmd_saved_options(const struct jrow *r, const struct jargs *a, struct options *o, char ***argvp,
                       json_t **avp)
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

int job_resume(const struct jargs *a)
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
    if ((status = jcmd_open_job("resume", a, &s, &r)))
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
    if ((status = jcmd_saved_options(&r, a, &o, &argv, &av)))
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
        status = jcmd_detach_and_run(&o, path, r.id, logp, false);
        if (!status)
            fprintf(stderr, "distcp: job %lld resumed in the background; watch it with: distcp job status %lld\n",
                    (long long)r.id, (long long)r.id);
    } else {
        status = cmd_exit_status(job_run(&o, &jobrec_recorder));
    }
out:
    options_release(&o);
    free(argv);
    json_decref(av);
    jrow_release(&r);
    return status;
}


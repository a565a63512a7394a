/* cmd_copy.c - the copy itself: `distcp [OPTIONS] <source>... <target>`
 * (the default command: blocking, recorded as a job), `distcp submit ...`
 * (the same copy detached; azdata's --from-path/--to-path accepted), and
 * `distcp --help-config [OPTIONS]` (the settings table, util/settings.h).
 * Usage, version and argument errors the way Hadoop DistCp prints them
 * (docs/cli.md §2: "Invalid arguments: <msg>", the usage text, exit 255).
 * Single-threaded up to job_run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/cmd.h"
#include "engine/job.h"
#include "jobs/jobrec.h"
#include "util/settings.h"

/* azdata's `submit --from-path SRC --to-path DST`: rewritten to the
 * positional form (sources, then the target last). argv[0] is kept. */
static int azdata_paths(int *argc, char ***argv)
{
    static char *out[4096];
    char *from[1024], *to = NULL;
    int n = 0, nf = 0;
    bool any = false;
    if (*argc > 4000)
        return 0;
    for (int i = 0; i < *argc; i++) {
        char *s = (*argv)[i];
        if (i > 0 && (!strcmp(s, "--from-path") || !strcmp(s, "--to-path"))) {
            if (i + 1 >= *argc || nf >= 1024)
                return -1;
            any = true;
            if (s[2] == 'f')
                from[nf++] = (*argv)[++i];
            else
                to = (*argv)[++i];
            continue;
        }
        out[n++] = s;
    }
    if (!any)
        return 0;
    for (int i = 0; i < nf; i++)
        out[n++] = from[i];
    if (to)
        out[n++] = to;
    *argc = n;
    *argv = out;
    return 0;
}

static const char *setting_value(void *ctx, enum setting_id id, char *buf, size_t len)
{
    return options_setting_text(ctx, id, buf, len);
}

/* `distcp --help-config [copy options]`: the settings table (util/settings.h);
 * when the other arguments make a valid copy command line, each engine row
 * also shows the value that command would run with. */
static int help_config(int argc, char **argv)
{
    struct options o;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n = 0;
    bool values = false, markdown = false;
    options_init(&o);
    if (!rest) {
        fprintf(stderr, "distcp: out of memory\n");
        return EXIT_FAIL;
    }
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help-config=markdown"))
            markdown = true;   /* docs/settings.md's table */
        else if (strcmp(argv[i], "--help-config") && strcmp(argv[i], "-help-config"))
            rest[n++] = argv[i];
    }
    if (n > 0 && cli_parse(n, rest, &o, NULL, 0, NULL) == CLI_OK && options_resolve(&o) == 0)
        values = true;
    settings_print(stdout, markdown, values ? setting_value : NULL, &o);
    options_release(&o);
    free(rest);
    return EXIT_OK;
}

static bool wants_help_config(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help-config") || !strcmp(argv[i], "-help-config") ||
            !strcmp(argv[i], "--help-config=markdown"))
            return true;
    return false;
}

/* Parse and run a copy; submit: detached, as a recorded job. argv[0] is
 * the program (or the command word), argv[1..] the copy arguments. */
static int run_copy(int argc, char **argv, bool submit)
{
    struct options o;
    char err[2048] = "";
    int status;
    if (wants_help_config(argc, argv))
        return help_config(argc - 1, argv + 1);
    options_init(&o);
    int rc = cli_parse(argc - 1, argv + 1, &o, err, sizeof err, stderr);
    switch (rc) {
    case CLI_HELP:
        cli_usage(stdout);
        status = 0;
        goto out;
    case CLI_VERSION:
        printf("distcp %s\n", DISTCP_VERSION);
        status = 0;
        goto out;
    case CLI_OK:
        break;
    default:
        if (err[0])
            fprintf(stderr, "Invalid arguments: %s\n", err);
        cli_usage(stderr);
        status = EXIT_INVALID;
        goto out;
    }
    if (o.diff_from || o.rdiff_new) {
        fprintf(stderr, "distcp: snapshot-diff sync (%s) is not available in this build yet; "
                        "nothing was copied. Use -update (optionally with -delete) for a full sync.\n",
                o.diff_from ? "-diff" : "-rdiff");
        status = EXIT_INVALID;
        goto out;
    }
    if (o.async || submit) {
        status = cmd_submit(&o, argc - 1, argv + 1);
        goto out;
    }
    o.job_argv = cmd_argv_json(argc - 1, argv + 1);
    status = cmd_exit_status(job_run(&o, &jobrec_recorder));
out:
    options_release(&o);
    return status;
}

int cmd_copy(int argc, char **argv)
{
    return run_copy(argc, argv, false);
}

int cmd_submit_main(int argc, char **argv)
{
    /* argv[0] is "submit": it stands where the program name stood */
    if (azdata_paths(&argc, &argv) < 0) {
        fprintf(stderr, "Invalid arguments: --from-path and --to-path each need a path\n");
        return EXIT_INVALID;
    }
    return run_copy(argc, argv, true);
}

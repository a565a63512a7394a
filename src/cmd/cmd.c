/* cmd.c - dispatch argv to the copy command (the default) and print usage,
 * version and argument errors the way Hadoop DistCp does (spec B §1.3:
 * "Invalid arguments: <msg>", the usage text, exit 255). */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/exit.h"
#include "engine/job.h"
#include "jobs/jobrec.h"

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

int cmd_main(int argc, char **argv)
{
    struct options o;
    char err[2048] = "";
    int status;
    bool submit = false;
    if (argc > 1 && !strcmp(argv[1], "job"))
        return cmd_job(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "submit")) {
        /* azdata's `distcp submit [options] --from-path X --to-path Y` too */
        submit = true;
        argc--;
        argv++;
        if (azdata_paths(&argc, &argv) < 0) {
            fprintf(stderr, "Invalid arguments: --from-path and --to-path each need a path\n");
            return EXIT_INVALID;
        }
    }
    /* subcommands: the first argument names one (a source path called
     * "checksum" is written ./checksum) */
    if (argc > 1 && !strcmp(argv[1], "checksum"))
        return cmd_checksum(argc - 2, argv + 2);
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

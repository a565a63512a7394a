/* cmd.c - dispatch argv to the copy command (the default) and print usage,
 * version and argument errors the way Hadoop DistCp does (spec B §1.3:
 * "Invalid arguments: <msg>", the usage text, exit 255). */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "engine/job.h"

int cmd_main(int argc, char **argv)
{
    struct options o;
    char err[2048] = "";
    int status;
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
    if (o.async) {
        fprintf(stderr, "distcp: -async: asynchronous jobs are not available in this build yet; "
                        "nothing was copied. Run without -async to copy now.\n");
        status = EXIT_INVALID;
        goto out;
    }
    status = job_run(&o);
out:
    options_release(&o);
    return status;
}

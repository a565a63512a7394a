/* cmd.c - the command table, in git's style: the first argument names a
 * command (submit, job, checksum); anything else is the copy (cmd_copy.c),
 * Hadoop DistCp's command line. Dispatch and the "Commands" part of
 * `distcp --help` are generated from the table; each command group has its
 * file (cmd_copy.c, cmd_job*.c, cmd_checksum.c). docs/cli.md describes it.
 *
 * A source path spelt like a command is written ./name. Only cmd/ and
 * main.c exit; every handler returns the process exit status. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the command word */
    const char *usage;                   /* after "distcp <name> " */
    const char *help;                    /* one line */
    void (*subcommands)(FILE *f);        /* prints "a|b|c", or NULL */
};

static int run_job(int argc, char **argv)
{
    return cmd_job(argc - 1, argv + 1);
}

static int run_checksum(int argc, char **argv)
{
    return cmd_checksum(argc - 1, argv + 1);
}

static const struct cmd cmds[] = {
    {.name = "submit", .run = cmd_submit_main, .usage = "[OPTIONS] <source>... <target>",
     .help = "the same copy as a detached job: prints its id (= -async)"},
    {.name = "job", .run = run_job, .usage = "[ID] [options]", .subcommands = cmd_job_names,
     .help = "recorded jobs (distcp job --help)"},
    {.name = "checksum", .run = run_checksum, .usage = "[OPTIONS] <path>...",
     .help = "HDFS-style file checksums as `hadoop fs -checksum` prints them (distcp checksum --help)"},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

void cmd_commands_usage(FILE *f)
{
    fprintf(f, "Commands (the first argument; a source path of that name is written ./name):\n");
    for (size_t i = 0; i < NCMDS; i++) {
        fprintf(f, "  distcp %s ", cmds[i].name);
        if (cmds[i].subcommands) {
            fputc('<', f);
            cmds[i].subcommands(f);
            fputs("> ", f);
        }
        fprintf(f, "%s\n      %s\n", cmds[i].usage, cmds[i].help);
    }
}

int cmd_main(int argc, char **argv)
{
    for (size_t i = 0; argc > 1 && i < NCMDS; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    return cmd_copy(argc, argv);
}

/* cmd.h - the command line: `distcp [OPTIONS] <source>... <target>` (the
 * copy) and the commands of the table in cmd.c (submit, job, checksum).
 * Only cmd/ and main.c exit: every function here returns the exit status
 * (docs/cli.md §3). */
#ifndef DISTCP_CMD_H
#define DISTCP_CMD_H
#include <stdio.h>

#include "cmd/exit.h"   /* exit statuses live in cmd/ only */

/* Run the command line; returns the process exit status. */
int cmd_main(int argc, char **argv);
/* The "Commands" part of `distcp --help`, generated from the table. */
void cmd_commands_usage(FILE *f);

struct options;
/* cmd_copy.c: the copy (argv[0] the program) and `distcp submit ...`
 * (argv[0] "submit"). */
int cmd_copy(int argc, char **argv);
int cmd_submit_main(int argc, char **argv);
/* cmd_job_run.c: run the parsed copy o as a detached job (submit, -async);
 * argv = the copy arguments as given (recorded, secrets redacted). */
int cmd_submit(struct options *o, int argc, char **argv);
/* cmd_job.c: `distcp job <command> ...` (argv after "job"), and the
 * subcommand names for the usage ("list|state|..."). */
int cmd_job(int argc, char **argv);
void cmd_job_names(FILE *f);
/* cmd_argv.c: the copy arguments as a JSON array, secrets redacted (malloc'ed). */
char *cmd_argv_json(int argc, char **argv);
/* `distcp checksum [OPTIONS] <path>...` (cmd_checksum.c): argv/argc after
 * the word "checksum". Returns the exit status. */
int cmd_checksum(int argc, char **argv);

#endif
